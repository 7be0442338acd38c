"""Regenerate the README pictures of the Blender side.

    python scripts/make_readme_images.py [--strokes 800] [--size 384] [--frames 16]
    python scripts/make_readme_images.py --camera-fit [--fit-strokes 400]

1. ``docs/images/blender_oil.png``: the add-on's headless path
   (``python -m blender_neural_painter paint``, the same code as the Paint button)
   paints ``samples/astronaut.png`` with oil strokes into a .blend and renders the
   finished Grease Pencil painting with Workbench.
2. ``docs/images/blender_build.gif``: that .blend reopened with ``bpy``, its replay
   rendered with Workbench at evenly spaced frames from its first key to its last,
   assembled with Pillow into a looping GIF that holds the last frame.
3. With ``--replay-orders`` instead, ``docs/images/replay_orders.png``: the sample
   painted by the headless command (300 oil strokes), then the same painting half way
   through its replay in four orders (As Painted, Dark to Light, Outward from the
   middle, Along a Direction top to bottom), each retimed by ``gpencil.apply_replay``
   as Apply Replay does and rendered with Workbench.
4. With ``--camera-fit`` instead, ``docs/images/camera_fit.png``: a small scene built
   here (shapes, a light, a turned camera) rendered by its camera with Workbench, painted
   from that camera by the Paint operator (Auto placement: fitted to the camera), the
   camera's Workbench render of the painting, and the engine's reference render of the
   same strokes, side by side.

Needs the project's environment (torch for the engine, ``bpy``, Pillow).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


def paint(blend: Path, png: Path, args: argparse.Namespace) -> None:
    """Run the add-on's headless paint command in its own process (it resets Blender)."""
    cmd = [sys.executable, "-m", "blender_neural_painter", "paint", str(args.image),
           "--out", str(blend), "--preview", str(png), "--style", args.style,
           "--strokes", str(args.strokes), "--size", str(args.size),
           "--preview-size", str(args.preview_size), "--seed", str(args.seed),
           "--device", args.device, "--animation", "build"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def render_build_frames(blend: Path, frame_dir: Path, long_side: int, count: int) -> list[Path]:
    """Open the .blend, frame the painting at ``long_side`` px and render ``count`` frames
    spread over its Build animation (first keyframe to last)."""
    sys.path.insert(0, str(ROOT))
    import bpy

    from blender_neural_painter import gpencil, preview

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    context = bpy.context
    scene = context.scene
    obj = next(o for o in scene.objects if gpencil.painting_canvas(o) is not None)
    keys = [f for f, _ in gpencil.replay_keyframes(obj)]
    if keys:
        first, last = min(keys), max(keys)
    else:  # no replay: fall back on the scene's range
        first, last = float(scene.frame_start), float(scene.frame_end)
    print(f"painting '{obj.name}': replay frames {first:g}..{last:g}", flush=True)
    preview.frame_painting(context, obj, long_side, name="README GIF Camera")
    preview.workbench_settings(scene)
    frames = sorted({round(first + (last - first) * i / (count - 1)) for i in range(count)})
    paths = []
    for i, frame in enumerate(frames):
        path = frame_dir / f"frame_{i:03d}.png"
        preview.render_to(scene, str(path), frame=frame)
        paths.append(path)
        print(f"  frame {frame} -> {path.name}", flush=True)
    return paths


def write_gif(frames: list[Path], out: Path, frame_ms: int, hold_ms: int) -> None:
    from PIL import Image

    images = []
    for p in frames:
        with Image.open(p) as im:
            # one adaptive palette per frame, no dithering: smaller and cleaner than dithered
            images.append(im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE))
    durations = [frame_ms] * (len(images) - 1) + [hold_ms]
    images[0].save(out, save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=True, disposal=1)


def camera_fit_picture(out: Path, strokes: int, size: int, seed: int) -> None:
    """The camera's view of a scene, the camera's render of the painting made from it,
    and the engine's render of the same strokes (see the module's docstring)."""
    import math

    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    import bpy

    import blender_neural_painter as addon
    from blender_neural_painter import jobs, preview
    from core.model.strokes import StrokeSet
    from core.render.reference import render_strokes

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    scene = bpy.context.scene
    world = bpy.data.worlds.new("Sky")
    world.color = (0.45, 0.6, 0.8)
    scene.world = world
    colours = [(0.8, 0.25, 0.1, 1), (0.15, 0.5, 0.25, 1), (0.9, 0.75, 0.2, 1), (0.3, 0.3, 0.7, 1)]
    shapes = [("primitive_uv_sphere_add", (0.0, 0.0, 0.7)), ("primitive_cube_add", (-1.4, 0.6, 0.5)),
              ("primitive_cone_add", (1.3, 0.4, 0.6)), ("primitive_plane_add", (0.0, 0.0, 0.0))]
    for (op, where), colour in zip(shapes, colours):
        getattr(bpy.ops.mesh, op)(location=where)
        obj = bpy.context.active_object
        if op == "primitive_plane_add":
            obj.scale = (6, 6, 1)
        obj.color = colour
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (4.4, -6.6, 3.4), (math.radians(68), 0.0, math.radians(34))
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = size, round(size * 2 / 3)
    scene.render.resolution_percentage = 100
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "OBJECT"
    scene.display.shading.show_shadows = True
    s = scene.neural_painter
    s.source, s.placement, s.camera_distance, s.style, s.strokes = "CAMERA", "AUTO", 1.5, "oil", strokes
    s.size, s.seed, s.animation = size, seed, "NONE"
    with tempfile.TemporaryDirectory(prefix="np_fit_") as tmp:
        view = Path(tmp) / "view.png"
        scene.render.filepath = str(view)
        bpy.ops.render.render(write_still=True)
        print(f"painting {strokes} oil strokes from the camera ...", flush=True)
        assert bpy.ops.neural_painter.paint() == {"FINISHED"}
        job = jobs.last_job()
        painted = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in job.received])
        shading = scene.display.shading.color_type
        preview.workbench_settings(scene)  # textures shown, plain sRGB: the painting as the engine drew it
        fit = Path(tmp) / "fit.png"
        preview.render_to(scene, str(fit))
        scene.display.shading.color_type = shading
        engine = (render_strokes(painted, size) * 255).round().astype(np.uint8)
        pictures = [np.asarray(Image.open(p).convert("RGB")) for p in (view, fit)] + [engine]
    addon.unregister()
    gap = np.full((pictures[0].shape[0], 8, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([pictures[0], gap, pictures[1], gap, pictures[2]], 1)).save(out, optimize=True)
    a, b = pictures[1].astype(np.float64) / 255, pictures[2].astype(np.float64) / 255
    print(f"camera's render vs the engine's: {10 * np.log10(1 / np.mean((a - b) ** 2)):.1f} dB PSNR")


def replay_orders_picture(out: Path, args: argparse.Namespace, long_side: int = 256) -> None:
    """Half way through the replay, in four orders (see the module's docstring)."""
    import math

    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="np_orders_") as tmp:
        blend = Path(tmp) / "painting.blend"
        paint(blend, Path(tmp) / "preview.png", argparse.Namespace(**{**vars(args), "strokes": 300, "size": 256,
                                                                        "preview_size": 64}))
        import bpy

        from blender_neural_painter import gpencil, preview

        bpy.ops.wm.open_mainfile(filepath=str(blend))
        scene = bpy.context.scene
        obj = next(o for o in scene.objects if gpencil.painting_canvas(o) is not None)
        canvas = gpencil.painting_canvas(obj)
        preview.frame_painting(bpy.context, obj, long_side, name="Orders Camera")
        preview.workbench_settings(scene)
        pictures = []
        for order, extra in (("PAINTED", {}), ("DARK_TO_LIGHT", {}), ("OUTWARD", {"origin": (0.5, 0.5)}),
                             ("DIRECTION", {"angle": math.pi / 2})):
            replay = gpencil.Replay("BUILD", order, 1, 100, **extra)
            gpencil.apply_replay(obj, canvas, replay, gpencil.Created())
            path = Path(tmp) / f"{order}.png"
            preview.render_to(scene, str(path), frame=51)
            pictures.append(np.asarray(Image.open(path).convert("RGB")))
            print(f"  {order}: half way, {gpencil.shown_strokes(obj, 51)} of 300 strokes shown", flush=True)
    gap = np.full((pictures[0].shape[0], 8, 3), 255, np.uint8)
    row = [p for pic in pictures for p in (pic, gap)][:-1]
    Image.fromarray(np.concatenate(row, 1)).save(out, optimize=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", default=str(ROOT / "samples" / "astronaut.png"))
    p.add_argument("--style", default="oil")
    p.add_argument("--strokes", type=int, default=800)
    p.add_argument("--size", type=int, default=384, help="engine working size (long side, px)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--preview-size", type=int, default=512, help="long side of blender_oil.png, px")
    p.add_argument("--gif-size", type=int, default=320, help="long side of blender_build.gif, px")
    p.add_argument("--frames", type=int, default=16, help="GIF frames over the Build animation")
    p.add_argument("--frame-ms", type=int, default=150)
    p.add_argument("--hold-ms", type=int, default=1500, help="how long the GIF holds the finished painting")
    p.add_argument("--out-dir", default=str(IMAGES))
    p.add_argument("--camera-fit", action="store_true", help="make camera_fit.png instead (see above)")
    p.add_argument("--replay-orders", action="store_true", help="make replay_orders.png instead (see above)")
    p.add_argument("--fit-strokes", type=int, default=400)
    p.add_argument("--fit-size", type=int, default=288, help="the camera's render width, px")
    args = p.parse_args()

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replay_orders:
        out = out_dir / "replay_orders.png"
        replay_orders_picture(out, args)
        print(f"wrote {os.path.relpath(out, ROOT)} ({out.stat().st_size / 1024:.0f} KiB)")
        return 0
    if args.camera_fit:
        out = out_dir / "camera_fit.png"
        camera_fit_picture(out, args.fit_strokes, args.fit_size, args.seed)
        print(f"wrote {os.path.relpath(out, ROOT)} ({out.stat().st_size / 1024:.0f} KiB)")
        return 0
    png = out_dir / f"blender_{args.style}.png"
    gif = out_dir / "blender_build.gif"
    with tempfile.TemporaryDirectory(prefix="np_readme_") as tmp:
        blend = Path(tmp) / "painting.blend"
        paint(blend, png, args)
        frames = render_build_frames(blend, Path(tmp), args.gif_size, max(2, args.frames))
        write_gif(frames, gif, args.frame_ms, args.hold_ms)
    for path in (png, gif):
        print(f"wrote {os.path.relpath(path, ROOT)} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
