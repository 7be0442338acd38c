"""``python -m blender_neural_painter paint IMAGE --out painting.blend --preview preview.png``
and ``python -m blender_neural_painter import PATH --out shot.blend`` (a strokes JSON or a
folder of frame JSONs; the render-farm job type's last task runs exactly this).

The add-on's own paint operator run through the ``bpy`` module, without a Blender window:
the quickest way to try the project and the path CI exercises end to end.

Fails like the engine's CLI (``python -m core``): bad input (a missing or unreadable
image, a value out of range, an output that cannot be written) is one line on stderr
and exit code 2, found before painting starts where it can be (an unreadable image is
found by the engine, before it paints a stroke); a crash of the engine is exit code 1;
Ctrl+C keeps and saves what was painted (exit code 130).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn, Sequence

from . import gp_data
from .contracts import errors, options

#: The engine's settings this command takes: flags, help, defaults and limits all come
#: from the engine's options contract (``core.contracts.options``), as the CLI's do.
PAINT_OPTIONS = ("style", "strokes", "levels", "size", "seed", "device", "background", "renderer", "brush",
                 "style_image", "style_mode", "style_weight", "style_features")
#: Blender-side options -> the Neural Painter setting whose range they must meet.
RANGED = {"width": "width_m", "duration": "anim_duration", "every": "keyframe_every", "hold": "replay_hold"}
#: ``--replay`` names -> the panel's Order (the names the issue and the README use).
REPLAY_ORDERS = {**{name: key for key, (name, _, _) in gp_data.ORDERS.items()}, "color": "COLOR"}
EASES = {"linear": "LINEAR", "ease-in": "EASE_IN", "ease-out": "EASE_OUT", "ease-in-out": "EASE_IN_OUT"}
PREVIEW_SIZE = (16, 16384)


class InputError(Exception):
    """Bad input to the command: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, as in the engine's CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `python -m blender_neural_painter paint --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m blender_neural_painter",
                description="Paint an image as a Grease Pencil painting in a .blend file.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    a = sub.add_parser("paint", help="paint IMAGE and save a .blend (and a preview render)")
    a.add_argument("image", help="reference image (PNG, JPEG, ...)")
    a.add_argument("--out", default="painting.blend", help="output .blend file")
    a.add_argument("--preview", default=None, help="also render the finished painting to this PNG (Workbench)")
    a.add_argument("--preview-size", type=int, default=1024, help="long side of the preview, px")
    options.add_arguments(a, options.PaintOptions, names=PAINT_OPTIONS)
    a.add_argument("--width", type=float, default=2.0, help="painting width in metres")
    a.add_argument("--animation", default="build", choices=["build", "keyframes", "none"],
                   help="the replay: strokes appear continuously (build), a few at a time on keyframes, or none")
    a.add_argument("--replay", default="painted", choices=REPLAY_ORDERS,
                   help="the order strokes appear in (default painted: coarse to fine)")
    a.add_argument("--replay-mask", default=None, help="with --replay region: strokes where this image is bright "
                                                        "appear first")
    a.add_argument("--replay-origin", default="0.5,0.5", help="with --replay outward: the point X,Y (fractions of "
                                                               "the width and height from the top left)")
    a.add_argument("--replay-angle", type=float, default=0.0, help="with --replay direction: degrees, 0 sweeps "
                                                                    "left to right, 90 top to bottom")
    a.add_argument("--ease", default="linear", choices=list(EASES), help="the replay's pace")
    a.add_argument("--start", type=int, default=1, help="first frame of the replay")
    a.add_argument("--duration", type=int, default=250, help="replay length in frames, the hold included")
    a.add_argument("--hold", type=int, default=0, help="frames at the end of the replay on which the finished "
                                                        "painting holds")
    a.add_argument("--every", type=int, default=10, help="strokes per keyframe with --animation keyframes")
    a.add_argument("--python", default=None, help="Python interpreter with torch for the engine")
    i = sub.add_parser("import", help="import a strokes .json or a folder of frame JSONs into a .blend")
    i.add_argument("path", help="a strokes .json (a still) or a folder of frame_0001.json ... (a painted shot)")
    i.add_argument("--out", default="painting.blend", help="output .blend file")
    i.add_argument("--start", type=int, default=1, help="scene frame of the shot's frame 1 (a still: of the replay)")
    i.add_argument("--width", type=float, default=2.0, help="painting width in metres")
    i.add_argument("--python", default=None, help="Python interpreter with torch for the engine")
    return p


# --- checks before anything runs ------------------------------------------------------------

def _paint_options(args: argparse.Namespace) -> Any:
    """The engine's settings from the flags, checked by the engine's own rules (the same
    one-line errors as ``python -m core paint``)."""
    try:
        return options.from_arguments(options.PaintOptions, args, PAINT_OPTIONS).validate()
    except errors.PainterError as exc:
        raise InputError(str(exc)) from None


def _check_ranges(args: argparse.Namespace, settings_type: Any) -> None:
    """Each Blender-side value within the range of the setting it goes to (Blender would
    clamp it silently: --every 0 would add one stroke a drawing)."""
    props = settings_type.bl_rna.properties
    for option, name in RANGED.items():
        value = getattr(args, option)
        lo, hi = props[name].hard_min, props[name].hard_max
        if not lo <= value <= hi:
            shown = f"{lo:g} to {hi:g}" if hi < 1e9 else f"at least {lo:g}"
            raise InputError(f"--{option.replace('_', '-')} {value:g} is out of range: use {shown}")
    if not PREVIEW_SIZE[0] <= args.preview_size <= PREVIEW_SIZE[1]:
        raise InputError(f"--preview-size {args.preview_size} is out of range: use {PREVIEW_SIZE[0]} to "
                         f"{PREVIEW_SIZE[1]} px")


def _check_replay(args: argparse.Namespace) -> None:
    """The replay's own flags: a mask for --replay region, a point for outward."""
    from . import sources
    from .errors import UserError

    if args.replay == "region":
        if not args.replay_mask:
            raise InputError("--replay region needs --replay-mask IMAGE (bright where strokes appear first)")
        try:
            args.replay_mask = sources.check_image_file(args.replay_mask, "replay mask", "choose an existing file")
        except UserError as exc:
            raise InputError(str(exc)) from None
    try:
        x, y = (float(v) for v in args.replay_origin.split(","))
    except ValueError:
        raise InputError(f"--replay-origin {args.replay_origin!r} is not a point: use X,Y with values in 0..1") from None
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise InputError(f"--replay-origin {args.replay_origin} is out of range: use X,Y with values in 0..1")
    args.replay_origin = (x, y)


def _check_output(path: str, option: str, suffix: str) -> str:
    """An output file that can be written, checked by writing beside it (so a missing or
    read-only folder fails now, not after the painting is done)."""
    out = Path(os.path.abspath(path))
    if out.suffix.lower() != suffix:
        raise InputError(f"{option} {path} must name a {suffix} file; fix the name")
    if out.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name ending in {suffix}")
    if not out.parent.is_dir():
        raise InputError(f"{option} {path}: the folder {out.parent} does not exist; create it or choose another")
    try:
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".neural-painter-write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write to {out.parent} ({exc.strerror or exc}); "
                         "choose a writable folder") from None
    return str(out)


def _check(args: argparse.Namespace, settings_type: Any) -> None:
    from . import sources
    from .errors import UserError

    try:
        args.image = sources.check_image_file(args.image)
        if args.style_image:
            args.style_image = sources.check_image_file(args.style_image, "style image", "choose an existing file")
    except UserError as exc:
        raise InputError(str(exc)) from None
    args.options = _paint_options(args)
    _check_ranges(args, settings_type)
    _check_replay(args)
    args.out = _check_output(args.out, "--out", ".blend")
    if args.preview:
        args.preview = _check_output(args.preview, "--preview", ".png")
    _check_python(args)


# --- the run ------------------------------------------------------------------------------

def _settings(context: Any, args: argparse.Namespace) -> None:
    s = context.scene.neural_painter
    o = args.options
    s.source = "FILE"
    s.image_path = args.image
    s.style, s.strokes, s.size, s.seed = o.style, o.strokes, o.size, o.seed
    s.levels_auto = o.levels is None
    if o.levels is not None:
        s.levels = o.levels
    s.device = o.device
    background = options.parse_background(o.background)
    if isinstance(background, tuple):
        s.background, s.background_color = "CUSTOM", background
    else:
        s.background = background
    s.width_m = args.width
    s.renderer = o.renderer
    # A picture file as the caller named it, from where the command runs (the engine
    # refuses what is neither a preset nor a file, in its own line).
    s.brush = os.path.abspath(o.brush) if o.brush and os.path.isfile(o.brush) else (o.brush or "")
    if args.style_image:
        s.style_source = "FILE"
        s.style_image_path = args.style_image
        s.style_mode, s.style_weight, s.style_features = o.style_mode, o.style_weight, o.style_features
    s.animation = args.animation.upper()
    s.anim_start, s.anim_duration, s.keyframe_every = args.start, args.duration, args.every
    s.replay_order, s.replay_ease, s.replay_hold = REPLAY_ORDERS[args.replay], EASES[args.ease], args.hold
    s.replay_origin, s.replay_angle = args.replay_origin, math.radians(args.replay_angle)
    if args.replay_mask:
        import bpy

        s.replay_mask = bpy.data.images.load(args.replay_mask, check_existing=True)


def _run_operator(call: Any) -> tuple[Any, Any, int | None]:
    """Run one of the add-on's job operators; (job, its painting, None) when it made one,
    else an exit code after printing the one-line error: 2 for input the operator or the
    engine refused, 1 for a failure, 130 for an interrupt before anything was made."""
    from . import gpencil, jobs

    before = jobs.last_job()
    try:
        call()
    except RuntimeError as exc:  # the operator reported an error: show its one line
        job = jobs.last_job()
        message = job.error if job is not before and job is not None and job.error else \
            str(exc).removeprefix("Error: ").strip()
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        # No job: the operator refused the input before starting one.
        return None, None, 2 if job is before or job is None or job.error_kind == "input" else 1
    job = jobs.last_job()
    obj = job.obj if job is not None else None
    if obj is None or gpencil.painting_canvas(obj) is None:
        print(f"error: {job.status if job is not None else 'nothing was painted'}", file=sys.stderr)
        return job, None, 130 if job is not None and job.cancelled else 1
    return job, obj, None


def _paint(args: argparse.Namespace) -> int:
    import bpy

    from . import gpencil, preview

    context: Any = bpy.context
    _settings(context, args)
    job, obj, failed = _run_operator(lambda: bpy.ops.neural_painter.paint())  # type: ignore[attr-defined]
    if failed is not None:
        return failed
    print(f"painted {gpencil.stroke_count(obj)} strokes into '{obj.name}'")
    scene = context.scene
    preview.frame_painting(context, obj, args.preview_size)
    preview.workbench_settings(scene)
    scene.frame_start = min(scene.frame_start, args.start)
    scene.frame_end = max(scene.frame_end, args.start + args.duration)
    if args.preview:
        preview.render_to(scene, args.preview, frame=args.start + args.duration)
        print(f"preview: {args.preview}")
    scene.frame_set(args.start + args.duration)
    bpy.ops.wm.save_as_mainfile(filepath=args.out, compress=True)
    print(f"saved: {args.out}")
    if job is not None and job.cancelled:
        print(f"interrupted: {job.status}", file=sys.stderr)
        return 130
    return 0


def _import(args: argparse.Namespace) -> int:
    """``import PATH --out FILE``: the Import Painting operator, then the .blend saved with
    the scene's frame range on the shot (or on the still's replay)."""
    import bpy

    from . import gpencil

    context: Any = bpy.context
    s = context.scene.neural_painter
    s.width_m = args.width
    s.anim_start = args.start
    job, obj, failed = _run_operator(lambda: bpy.ops.neural_painter.import_strokes(  # type: ignore[attr-defined]
        filepath=args.path, start_frame=args.start))
    if failed is not None:
        return failed
    scene = context.scene
    shot = gpencil.shot_info(obj)
    if shot is not None:
        frames = list(gpencil.shot_frames(obj))
        scene.frame_start, scene.frame_end = frames[0], frames[-1]
        if shot.get("rate"):  # painted for this playback rate (paint-frames --to-fps)
            fps = max(1, round(shot["rate"]))
            scene.render.fps, scene.render.fps_base = fps, fps / shot["rate"]
        print(f"imported {len(shot['frames'])} frames into '{obj.name}' (scene frames {frames[0]}-{frames[-1]})")
    else:
        scene.frame_start = min(scene.frame_start, s.anim_start)
        scene.frame_end = max(scene.frame_end, s.anim_start + s.anim_duration)
        print(f"imported {gpencil.stroke_count(obj)} strokes into '{obj.name}'")
    for note in getattr(job, "notes", []):
        print(f"note: {note}", file=sys.stderr)
    scene.frame_set(scene.frame_start)
    bpy.ops.wm.save_as_mainfile(filepath=args.out, compress=True)
    print(f"saved: {args.out}")
    return 0


def _check_import(args: argparse.Namespace) -> None:
    from . import importer
    from .errors import UserError

    try:
        importer.plan(args.path)
    except UserError as exc:
        raise InputError(str(exc)) from None
    if not 0.001 <= args.width:
        raise InputError(f"--width {args.width:g} is out of range: use at least 0.001")
    args.out = _check_output(args.out, "--out", ".blend")
    _check_python(args)


def _check_python(args: argparse.Namespace) -> None:
    if args.python and not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
        raise InputError(f"--python {args.python} is not an executable file; give the path of a Python with torch")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import bpy
    except ImportError:
        print("error: the bpy module is not installed; run `pip install bpy` (Python 3.11 for Blender 4.3-5.0, "
              "3.13 for 5.1+) or use Blender", file=sys.stderr)
        return 2
    import blender_neural_painter as addon

    from .props import NeuralPainterSettings

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    try:
        if args.command == "import":
            _check_import(args)
        else:
            _check(args, NeuralPainterSettings)
        if args.python:
            os.environ["NEURAL_PAINTER_PYTHON"] = args.python
        return _import(args) if args.command == "import" else _paint(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        addon.unregister()  # before the interpreter exits (4.3 segfaults, 4.5 hangs otherwise)
