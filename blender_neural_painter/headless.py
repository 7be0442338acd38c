"""``python -m blender_neural_painter paint IMAGE --out painting.blend --preview preview.png``

The add-on's own paint operator run through the ``bpy`` module, without a Blender window:
the quickest way to try the project and the path CI exercises end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m blender_neural_painter",
                                description="Paint an image as a Grease Pencil painting in a .blend file.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("paint", help="paint IMAGE and save a .blend (and a preview render)")
    a.add_argument("image", help="reference image (PNG, JPEG, ...)")
    a.add_argument("--out", default="painting.blend", help="output .blend file")
    a.add_argument("--preview", default=None, help="also render the finished painting to this PNG (Workbench)")
    a.add_argument("--preview-size", type=int, default=1024, help="long side of the preview, px")
    a.add_argument("--style", default="oil", choices=["oil", "marker", "watercolor", "tape"])
    a.add_argument("--strokes", type=int, default=500)
    a.add_argument("--levels", type=int, default=0, help="0: chosen from the stroke count")
    a.add_argument("--size", type=int, default=512, help="working size (long side, px)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    a.add_argument("--background", default="white", help="white, black, mean or r,g,b in 0..1")
    a.add_argument("--width", type=float, default=2.0, help="painting width in metres")
    a.add_argument("--animation", default="build", choices=["build", "keyframes", "none"])
    a.add_argument("--start", type=int, default=1, help="first frame of the replay")
    a.add_argument("--duration", type=int, default=250, help="replay length in frames")
    a.add_argument("--every", type=int, default=10, help="strokes per drawing with --animation keyframes")
    a.add_argument("--python", default=None, help="Python interpreter with torch for the engine")
    a.add_argument("--renderer", default="analytic", choices=["analytic", "neural"],
                   help="renderer the optimiser draws through (neural: weights/STYLE.pt)")
    a.add_argument("--style-image", default=None, help="paint in the style of this image")
    a.add_argument("--style-mode", default="full", choices=["color", "full"])
    a.add_argument("--style-weight", type=float, default=0.4)
    a.add_argument("--style-features", default="offline", choices=["offline", "vgg16"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import bpy
    except ImportError:
        print("error: the bpy module is not installed; run `pip install bpy` (Python 3.11) or use Blender",
              file=sys.stderr)
        return 2
    import blender_neural_painter as addon

    from . import gpencil, preview

    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        addon.register()
    except ValueError:
        pass  # already registered in this process
    context: Any = bpy.context
    scene = context.scene
    s = scene.neural_painter
    s.source = "FILE"
    s.image_path = os.path.abspath(args.image)
    s.style, s.strokes, s.levels, s.size, s.seed = args.style, args.strokes, args.levels, args.size, args.seed
    s.device = args.device
    if args.background in {"white", "black", "mean"}:
        s.background = args.background
    else:
        try:
            rgb = [float(v) for v in args.background.split(",")]
            assert len(rgb) == 3
        except (ValueError, AssertionError):
            print(f"error: --background {args.background!r} is not white, black, mean or r,g,b; fix it",
                  file=sys.stderr)
            return 2
        s.background, s.background_color = "CUSTOM", rgb
    s.width_m = args.width
    s.renderer = args.renderer
    if args.style_image:
        s.style_source = "FILE"
        s.style_image_path = os.path.abspath(args.style_image)
        s.style_mode, s.style_weight, s.style_features = args.style_mode, args.style_weight, args.style_features
    s.animation = args.animation.upper()
    s.anim_start, s.anim_duration, s.keyframe_every = args.start, args.duration, args.every
    if args.python:
        os.environ["NEURAL_PAINTER_PYTHON"] = args.python
    try:
        result = getattr(bpy.ops, "neural_painter").paint()
    except RuntimeError as exc:  # the operator reported an error: show its one line
        print(f"error: {str(exc).removeprefix('Error: ').strip()}", file=sys.stderr)
        return 1
    run = context.window_manager.neural_painter_run
    obj = context.view_layer.objects.active
    if result != {"FINISHED"} or gpencil.painting_canvas(obj) is None:
        print(f"error: {run.status or 'painting failed'}", file=sys.stderr)
        return 1
    print(f"painted {gpencil.stroke_count(obj)} strokes into '{obj.name}'")
    preview.frame_painting(context, obj, args.preview_size)
    preview.workbench_settings(scene)
    scene.frame_start = min(scene.frame_start, args.start)
    scene.frame_end = max(scene.frame_end, args.start + args.duration)
    if args.preview:
        preview.render_to(scene, os.path.abspath(args.preview), frame=args.start + args.duration)
        print(f"preview: {args.preview}")
    scene.frame_set(args.start + args.duration)
    out = os.path.abspath(args.out)
    bpy.ops.wm.save_as_mainfile(filepath=out, compress=True)
    print(f"saved: {out}")
    return 0
