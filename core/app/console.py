"""What the engine's command lines share: argparse with one-line errors, number
flags, the progress bar, the check that ``--out`` can be written, and the painting
options read from the flags."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TextIO

from ..contracts.options import PaintOptions, from_arguments
from ..errors import PainterError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like any bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `python -m core {self.prog.split()[-1]} --help`)\n")


def whole_number(text: str) -> int:
    """A flag's whole number; its range is checked by the options it goes to."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


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


def check_writable_dir(path: Path) -> None:
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


def paint_options(args: argparse.Namespace) -> PaintOptions:
    """PaintOptions from the `paint` flags (`paint-frames` takes the same ones)."""
    return from_arguments(PaintOptions, args, allow_download=not args.offline).validate()
