"""Command line: ``python -m core paint IMAGE ...`` and ``python -m core render STROKES.json ...``.

Exit codes: 0 success, 2 bad input (one line on stderr saying what and how to fix),
130 interrupted (whatever was painted so far is still written).
"""

from __future__ import annotations

import argparse
import os
import sys
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
    paint.add_argument("--iterations", type=_positive_int, default=None, help="optimisation steps per round of strokes (default 20)")
    paint.add_argument("--out", required=True, help="output directory (created if missing)")
    paint.add_argument("--render-size", type=_positive_int, default=None, help="long side of painting.png/.svg, px (default --size)")
    paint.add_argument("--animation", default="gif", choices=("gif", "webp", "none"), help="format of the stroke-by-stroke animation")
    paint.add_argument("--quiet", action="store_true", help="no progress bar")

    render = sub.add_parser("render", help="re-render a strokes JSON at any size as PNG, SVG, GIF or WebP")
    render.add_argument("strokes", help="strokes.json written by `paint`")
    render.add_argument("--size", type=_positive_int, default=None, help="long side in px (default: the canvas the strokes were painted on)")
    render.add_argument("--out", required=True, help="X.png, X.svg, X.gif or X.webp")
    return parser


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
        probe = path / ".neural-painter-write-test"
        probe.write_text("")
        probe.unlink()
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


def cmd_paint(args: argparse.Namespace) -> int:
    from .events import Done, LevelDone, LevelStarted, Progress
    from .image_io import load_image
    from .painter import PaintOptions, paint

    out = Path(args.out)
    options = PaintOptions(style=args.style, strokes=args.strokes, levels=args.levels, size=args.size,
                           seed=args.seed, device=args.device, background=args.background,
                           ot_weight=args.ot_weight, renderer=args.renderer, iterations=args.iterations)
    options.validate()
    image = load_image(args.image, max_side=max(args.size, 1024))
    _check_writable_dir(out)
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    painted = None
    level_text = ""
    try:
        for event in paint(image, options):
            if isinstance(event, LevelStarted):
                level_text = f"level {event.level}/{event.levels} ({event.strokes} strokes)"
            elif isinstance(event, Progress):
                bar.update(event.fraction, level_text)
            elif isinstance(event, LevelDone):
                painted = event.painted
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "paint":
            return cmd_paint(args)
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
