"""Command line: ``python -m core paint IMAGE ...``, ``python -m core paint-frames SHOT --out DIR ...``
(a shot, frame by frame: see core.app.shot_cli), ``python -m core render STROKES.json ...``
``python -m core stylize STROKES.json --style-image ART ...`` (a style pass over a painting)
and ``python -m core train --style STYLE --out weights/STYLE.pt`` (the neural renderer).

Exit codes: 0 success, 2 bad input (one line on stderr saying what and how to fix),
130 interrupted (whatever was painted so far is still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..contracts.options import PaintOptions, add_arguments, from_arguments
from ..errors import PainterError
from .console import Parser, ProgressBar, check_writable_dir, number, paint_options, whole_number
from .shot_cli import add_paint_frames_parser

#: The settings a style pass over a finished painting takes (its style is the painting's).
STYLIZE_OPTIONS = ("size", "renderer", "weights", "device", "seed", "style_image", "style_mode", "style_weight",
                   "style_features", "vgg_weights")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="Neural Painter: paint an image with brush strokes.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    paint = sub.add_parser("paint", help="paint an image; writes PNG, SVG, strokes JSON and an animation")
    paint.add_argument("image", help="the picture to paint (PNG, JPEG, TIFF, WebP, BMP, ...)")
    add_arguments(paint, PaintOptions)
    paint.add_argument("--offline", action="store_true", help="never download VGG-16 weights")
    paint.add_argument("--out", required=True, help="output directory (created if missing)")
    paint.add_argument("--render-size", type=whole_number, default=None,
                       help="long side of painting.png/.svg, px (default --size)")
    paint.add_argument("--animation", default="gif", choices=("gif", "webp", "none"),
                       help="format of the stroke-by-stroke animation")
    paint.add_argument("--quiet", action="store_true", help="no progress bar")

    add_paint_frames_parser(sub, paint)

    render = sub.add_parser("render", help="re-render a strokes JSON at any size as PNG, SVG, GIF or WebP")
    render.add_argument("strokes", help="strokes.json written by `paint`")
    render.add_argument("--size", type=whole_number, default=None,
                        help="long side in px (default: the canvas the strokes were painted on)")
    render.add_argument("--out", required=True, help="X.png, X.svg, X.gif or X.webp")

    stylize = sub.add_parser("stylize", help="restyle a finished painting (strokes JSON) after a style image")
    stylize.add_argument("strokes", help="strokes.json written by `paint`")
    stylize.add_argument("--content", default=None, help="photo to keep the content of (default: the painting itself)")
    add_arguments(stylize, PaintOptions, names=STYLIZE_OPTIONS)
    stylize.add_argument("--iterations", type=whole_number, default=None, help="optimisation steps (default 100)")
    stylize.add_argument("--offline", action="store_true", help="never download VGG-16 weights")
    stylize.add_argument("--out", required=True, help="output directory (created if missing)")
    stylize.add_argument("--render-size", type=whole_number, default=None, help="long side of painting.png/.svg, px")
    stylize.add_argument("--animation", default="gif", choices=("gif", "webp", "none"), help="format of the animation")
    stylize.add_argument("--quiet", action="store_true", help="no progress bar")

    train = sub.add_parser("train", help="train the neural renderer of one style from the reference renderer")
    train.add_argument("--style", required=True, help="the style whose renderer to train (marker, watercolor, oil, tape)")
    train.add_argument("--out", required=True, help="weights file to write, e.g. weights/oil.pt (+ .ckpt to resume)")
    train.add_argument("--steps", type=whole_number, default=8000,
                       help="training steps (default 8000: ~35 min on one CPU core)")
    train.add_argument("--batch", type=whole_number, default=48, help="strokes per step (default 48)")
    train.add_argument("--lr", type=number, default=1e-3, help="peak learning rate (default 1e-3)")
    train.add_argument("--seed", type=whole_number, default=0, help="seed of the network and of the stroke stream")
    train.add_argument("--arch", default="dual", help="dual (default), raster or shading (single-pathway ablations)")
    train.add_argument("--val-strokes", type=whole_number, default=2000,
                       help="held-out strokes for validation (default 2000)")
    train.add_argument("--val-every", type=whole_number, default=1000,
                       help="validate and save every N steps (default 1000)")
    train.add_argument("--minutes", type=number, default=None, help="stop (and save) after this many minutes of training")
    train.add_argument("--threads", type=whole_number, default=None, help="CPU threads for torch (default: torch's choice)")
    train.add_argument("--resume", action="store_true", help="continue from OUT.ckpt")
    train.add_argument("--quick", action="store_true", help="a tiny run (60 steps) to check the set-up; tests use it")
    return parser


def _write_outputs(strokes, out: Path, render_size: int | None, animation: str) -> list[Path]:
    from ..render.export import write_animation, write_svg
    from ..io.image_io import save_png
    from ..render.reference import render_strokes

    written = []
    strokes.save_json(out / "strokes.json")
    written.append(out / "strokes.json")
    save_png(render_strokes(strokes, render_size), out / "painting.png")
    written.append(out / "painting.png")
    write_svg(strokes, out / "painting.svg", render_size)
    written.append(out / "painting.svg")
    if animation != "none" and len(strokes):
        write_animation(strokes, out / f"painting.{animation}")
        written.append(out / f"painting.{animation}")
    return written


def cmd_paint(args: argparse.Namespace) -> int:
    from ..io.image_io import load_reference
    from ..painters.painter import paint

    out = Path(args.out)
    options = paint_options(args)
    image = load_reference(args.image, options)
    check_writable_dir(out)
    return _run_events(paint(image, options), args, out)


def cmd_stylize(args: argparse.Namespace) -> int:
    from ..io.image_io import load_image
    from ..model.strokes import StrokeSet
    from ..painters.painter import stylize

    out = Path(args.out)
    strokes = StrokeSet.load_json(args.strokes)
    options = from_arguments(PaintOptions, args, STYLIZE_OPTIONS, style=strokes.style, iterations=args.iterations,
                             allow_download=not args.offline).validate()
    content = load_image(args.content, max_side=max(options.size, 1024)) if args.content else None
    check_writable_dir(out)
    return _run_events(stylize(strokes, options, content), args, out)


def _run_events(events, args: argparse.Namespace, out: Path) -> int:
    """Drive a painting generator with a progress bar; write what there is, even on Ctrl-C."""
    from ..painters.events import Done, LevelDone, LevelStarted, Progress, Refined, RefineStarted

    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    painted = None
    level_text = ""
    try:
        for event in events:
            if isinstance(event, LevelStarted):
                level_text = f"level {event.level}/{event.levels} ({event.strokes} strokes)"
            elif isinstance(event, Progress):
                bar.update(event.fraction, level_text)
            elif isinstance(event, LevelDone):
                painted = event.painted
            elif isinstance(event, RefineStarted):
                level_text = f"refining all {event.strokes} strokes together"
            elif isinstance(event, Refined):
                painted = event.strokes
            elif isinstance(event, Done):
                painted = event.strokes
                bar.update(1.0, f"done: {len(painted)} strokes in {event.seconds:.1f}s")
    except KeyboardInterrupt:
        bar.close()
        if painted is not None and len(painted):
            files = _write_outputs(painted, out, args.render_size, args.animation)
            print(f"interrupted: kept {len(painted)} strokes in {', '.join(map(str, files))}", file=sys.stderr)
        else:
            print("interrupted before the first level finished; nothing written", file=sys.stderr)
        return 130
    bar.close()
    assert painted is not None
    files = _write_outputs(painted, out, args.render_size, args.animation)
    if not args.quiet:
        print("wrote " + ", ".join(str(f) for f in files), file=sys.stderr)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from ..render.export import write_animation, write_svg
    from ..io.image_io import save_png
    from ..render.reference import render_strokes
    from ..model.strokes import StrokeSet

    if args.size is not None and not 1 <= args.size <= 16384:
        raise PainterError(f"--size {args.size} is out of range: use 1 to 16384 px")
    strokes = StrokeSet.load_json(args.strokes)
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg", ".gif", ".webp"):
        raise PainterError(f"cannot tell the format of {out}: name it .png, .svg, .gif or .webp")
    if out.parent and not out.parent.exists():
        raise PainterError(f"output directory {out.parent} does not exist; create it or choose another --out")
    if suffix == ".png":
        save_png(render_strokes(strokes, args.size), out)
    elif suffix == ".svg":
        write_svg(strokes, out, args.size)
    else:
        write_animation(strokes, out, long_side=args.size or 384)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ..render.neural import TrainOptions, train

    options = TrainOptions(style=args.style, out=Path(args.out), steps=args.steps, batch=args.batch, lr=args.lr,
                           seed=args.seed, arch=args.arch, val_strokes=args.val_strokes, val_every=args.val_every,
                           resume=args.resume, quick=args.quick, threads=args.threads, minutes=args.minutes)
    try:
        result = train(options, log=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} holds the last validated weights; continue with --resume", file=sys.stderr)
        return 130
    print(f"wrote {args.out}: foreground {result['foreground_db']:.2f} dB, alpha {result['alpha_db']:.2f} dB "
          f"after {result['steps']} steps in {result['seconds'] / 60:.1f} min", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "paint":
            return cmd_paint(args)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "stylize":
            return cmd_stylize(args)
        if args.command == "paint-frames":
            from .shot_cli import cmd_paint_frames
            return cmd_paint_frames(args)
        return cmd_render(args)
    except PainterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "numpy", "PIL"):
            print(f"error: {exc.name} is not installed; run `pip install torch numpy pillow`", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
