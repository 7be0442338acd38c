"""Command line: ``python -m core paint IMAGE ...``, ``python -m core paint-frames SHOT --out DIR ...``
(a shot, frame by frame: see core.shot), ``python -m core render STROKES.json ...``
``python -m core stylize STROKES.json --style-image ART ...`` (a style pass over a painting)
and ``python -m core train --style STYLE --out weights/STYLE.pt`` (the neural renderer).

Exit codes: 0 success, 2 bad input (one line on stderr saying what and how to fix),
130 interrupted (whatever was painted so far is still written).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence, TextIO

from .errors import PainterError

STYLE_NAMES = ("marker", "watercolor", "oil", "tape")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like any bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `python -m core {self.prog.split()[-1]} --help`)\n")


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Neural Painter: paint an image with brush strokes.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    paint = sub.add_parser("paint", help="paint an image; writes PNG, SVG, strokes JSON and an animation")
    paint.add_argument("image", help="the picture to paint (PNG, JPEG, TIFF, WebP, BMP, ...)")
    paint.add_argument("--style", default="oil", help="marker, watercolor, oil or tape (default oil)")
    paint.add_argument("--strokes", type=_positive_int, default=500, help="stroke budget, honoured exactly (default 500)")
    paint.add_argument("--size", type=_positive_int, default=512, help="long side of the canvas the strokes are optimised on, px (default 512)")
    paint.add_argument("--levels", type=_positive_int, default=None, help="coarse-to-fine levels (default: from --strokes)")
    paint.add_argument("--seed", type=_positive_int, default=0, help="random seed; same seed, same machine, same painting")
    paint.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    paint.add_argument("--background", default="white", help="white, black, mean (the image's mean colour), #rrggbb or r,g,b")
    paint.add_argument("--ot-weight", type=_float, default=None, help="weight of the optimal-transport loss (default: per style)")
    paint.add_argument("--renderer", default="analytic", help="analytic (default) or neural")
    paint.add_argument("--weights", default=None, help="neural renderer weights file (default weights/STYLE.pt)")
    paint.add_argument("--iterations", type=_positive_int, default=None, help="optimisation steps per round of new strokes (default 10)")
    paint.add_argument("--refine", type=_positive_int, default=None, help="steps of the final pass over all strokes together (default per style: marker 30, watercolor 35, oil 45, tape 60; 0: off)")
    paint.add_argument("--min-alpha", type=_float, default=None, help="lowest stroke opacity, 0.05-1 (default: 1 for oil, opaque paint; 0.3 otherwise)")
    paint.add_argument("--out", required=True, help="output directory (created if missing)")
    paint.add_argument("--render-size", type=_positive_int, default=None, help="long side of painting.png/.svg, px (default --size)")
    paint.add_argument("--animation", default="gif", choices=("gif", "webp", "none"), help="format of the stroke-by-stroke animation")
    paint.add_argument("--quiet", action="store_true", help="no progress bar")
    _style_arguments(paint, required=False)

    from .shot import add_paint_frames_parser
    add_paint_frames_parser(sub, paint)

    render = sub.add_parser("render", help="re-render a strokes JSON at any size as PNG, SVG, GIF or WebP")
    render.add_argument("strokes", help="strokes.json written by `paint`")
    render.add_argument("--size", type=_positive_int, default=None, help="long side in px (default: the canvas the strokes were painted on)")
    render.add_argument("--out", required=True, help="X.png, X.svg, X.gif or X.webp")

    stylize = sub.add_parser("stylize", help="restyle a finished painting (strokes JSON) after a style image")
    stylize.add_argument("strokes", help="strokes.json written by `paint`")
    stylize.add_argument("--content", default=None, help="photo to keep the content of (default: the painting itself)")
    stylize.add_argument("--size", type=_positive_int, default=512, help="long side the pass runs at, px (default 512)")
    stylize.add_argument("--iterations", type=_positive_int, default=None, help="optimisation steps (default 100)")
    stylize.add_argument("--renderer", default="analytic", help="analytic (default) or neural")
    stylize.add_argument("--weights", default=None, help="neural renderer weights file (default weights/STYLE.pt)")
    stylize.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    stylize.add_argument("--seed", type=_positive_int, default=0, help="random seed")
    stylize.add_argument("--out", required=True, help="output directory (created if missing)")
    stylize.add_argument("--render-size", type=_positive_int, default=None, help="long side of painting.png/.svg, px")
    stylize.add_argument("--animation", default="gif", choices=("gif", "webp", "none"), help="format of the animation")
    stylize.add_argument("--quiet", action="store_true", help="no progress bar")
    _style_arguments(stylize, required=True)

    train = sub.add_parser("train", help="train the neural renderer of one style from the reference renderer")
    train.add_argument("--style", required=True, help="marker, watercolor, oil or tape")
    train.add_argument("--out", required=True, help="weights file to write, e.g. weights/oil.pt (+ .ckpt to resume)")
    train.add_argument("--steps", type=_positive_int, default=8000, help="training steps (default 8000: ~35 min on one CPU core)")
    train.add_argument("--batch", type=_positive_int, default=48, help="strokes per step (default 48)")
    train.add_argument("--lr", type=_float, default=1e-3, help="peak learning rate (default 1e-3)")
    train.add_argument("--seed", type=_positive_int, default=0, help="seed of the network and of the stroke stream")
    train.add_argument("--arch", default="dual", help="dual (default), raster or shading (single-pathway ablations)")
    train.add_argument("--val-strokes", type=_positive_int, default=2000, help="held-out strokes for validation (default 2000)")
    train.add_argument("--val-every", type=_positive_int, default=1000, help="validate and save every N steps (default 1000)")
    train.add_argument("--minutes", type=_float, default=None, help="stop (and save) after this many minutes of training")
    train.add_argument("--threads", type=_positive_int, default=None, help="CPU threads for torch (default: torch's choice)")
    train.add_argument("--resume", action="store_true", help="continue from OUT.ckpt")
    train.add_argument("--quick", action="store_true", help="a tiny run (60 steps) to check the set-up; tests use it")
    return parser


def _style_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--style-image", required=required, default=None,
                        help="paint in the style of this image (colours and texture)")
    parser.add_argument("--style-mode", default="full", choices=("color", "full"),
                        help="color: the style changes only colours; full: shapes too (default full)")
    parser.add_argument("--style-weight", type=_float, default=0.4, help="style loss weight (default 0.4)")
    parser.add_argument("--style-features", default="offline", choices=("offline", "vgg16"),
                        help="offline: built-in random filter bank, no download (default); vgg16: ImageNet VGG-16")
    parser.add_argument("--vgg-weights", default=None,
                        help="VGG-16 weights file (torchvision's vgg16-397923af.pth; default: the torch cache)")
    parser.add_argument("--offline", action="store_true", help="never download VGG-16 weights")


def _style_options(args: argparse.Namespace) -> dict:
    return {"style_image": args.style_image, "style_mode": args.style_mode, "style_weight": args.style_weight,
            "style_features": args.style_features, "vgg_weights": args.vgg_weights,
            "allow_download": not args.offline}


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines when not a terminal."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.start = time.perf_counter()
        self.last = -1.0

    def update(self, fraction: float, text: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not self.tty and now - self.last < 2.0 and fraction < 1.0:
            return
        self.last = now
        width = 30
        filled = int(round(width * max(0.0, min(1.0, fraction))))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {now - self.start:6.1f}s {text}"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _check_writable_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A probe of its own: farm chunks that run at once share one output folder, and a
        # shared probe name let one worker delete another's probe and fail its check.
        fd, probe = tempfile.mkstemp(prefix=".neural-painter-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PainterError(f"cannot write to output directory {path} ({exc.strerror or exc}); "
                           "choose a writable --out directory") from None


def _write_outputs(strokes, out: Path, render_size: int | None, animation: str) -> list[Path]:
    from .export import write_animation, write_svg
    from .image_io import save_png
    from .reference import render_strokes

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


def paint_options(args: argparse.Namespace):
    """PaintOptions from the `paint` flags (`paint-frames` takes the same ones)."""
    from .painter import PaintOptions

    options = PaintOptions(style=args.style, strokes=args.strokes, levels=args.levels, size=args.size,
                           seed=args.seed, device=args.device, background=args.background,
                           ot_weight=args.ot_weight, renderer=args.renderer, iterations=args.iterations,
                           refine=args.refine, min_alpha=args.min_alpha, weights=args.weights,
                           **_style_options(args))
    options.validate()
    return options


def cmd_paint(args: argparse.Namespace) -> int:
    from .image_io import load_image
    from .painter import paint

    out = Path(args.out)
    options = paint_options(args)
    image = load_image(args.image, max_side=max(args.size, 1024))
    _check_writable_dir(out)
    return _run_events(paint(image, options), args, out)


def cmd_stylize(args: argparse.Namespace) -> int:
    from .image_io import load_image
    from .painter import PaintOptions, stylize
    from .strokes import StrokeSet

    out = Path(args.out)
    strokes = StrokeSet.load_json(args.strokes)
    options = PaintOptions(style=strokes.style, size=args.size, seed=args.seed, device=args.device,
                           renderer=args.renderer, weights=args.weights, iterations=args.iterations,
                           **_style_options(args))
    options.validate()
    content = load_image(args.content, max_side=max(args.size, 1024)) if args.content else None
    _check_writable_dir(out)
    return _run_events(stylize(strokes, options, content), args, out)


def _run_events(events, args: argparse.Namespace, out: Path) -> int:
    """Drive a painting generator with a progress bar; write what there is, even on Ctrl-C."""
    from .events import Done, LevelDone, LevelStarted, Progress, Refined, RefineStarted

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
    from .export import write_animation, write_svg
    from .image_io import save_png
    from .reference import render_strokes
    from .strokes import StrokeSet

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
    from .neural import TrainOptions, train

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
            from .shot import cmd_paint_frames
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
