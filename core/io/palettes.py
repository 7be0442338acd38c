"""Palettes: the fixed set of colours a painting may use.

An artist names one as hex codes (``#1d3557,#e63946,#f1faee``), a GIMP ``.gpl`` file
(what Krita, Inkscape, GIMP and Aseprite export), a Blender Palette (the add-on sends
its colours as hex codes), or a number N: N colours taken from the picture itself.
Every form becomes the same thing, an [K, 3] array of sRGB colours in 0..1, or a
one-line error naming what is wrong with it.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import PainterError

#: The most colours a palette may hold (more is no longer a palette).
MAX_COLOURS = 256
#: Colours taken from a picture: at most this many.
MAX_FROM_IMAGE = 64
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_palette(spec: str, image: np.ndarray | None = None) -> np.ndarray:
    """The colours ``spec`` names, [K, 3] float32 sRGB (duplicates removed, order kept)."""
    text = str(spec).strip()
    if not text:
        raise PainterError("--palette is empty: give #rrggbb codes separated by commas, a .gpl file or a number")
    if text.isdigit():
        if image is None:
            raise PainterError(f"--palette {text} takes its colours from the picture; paint a picture with it")
        return colours_from_image(image, int(text))
    if text.lower().endswith(".gpl") or os.path.isfile(text):
        return _unique(read_gpl(text))
    colours = []
    for part in (p.strip() for p in text.split(",")):
        m = _HEX.match(part)
        if not m:
            raise PainterError(f"--palette: {part!r} is not a colour code; write #rrggbb (for example #e63946), "
                               "separated by commas")
        colours.append([int(m.group(1)[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])
    return _unique(np.asarray(colours, np.float32))


def read_gpl(path: str) -> np.ndarray:
    """The colours of a GIMP palette file: a ``GIMP Palette`` header, then ``R G B name``
    lines (0..255); ``Name:``/``Columns:`` lines and ``#`` comments are skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise PainterError(f"palette file {path} cannot be read ({exc.strerror or exc}); check the path") from None
    if not lines or lines[0].strip() != "GIMP Palette":
        raise PainterError(f"palette file {path} is not a GIMP palette (its first line must be \"GIMP Palette\"); "
                           "export it again as .gpl")
    colours = []
    for n, line in enumerate(lines[1:], 2):
        line = line.strip()
        if not line or line.startswith("#") or re.match(r"^(Name|Columns)\s*:", line):
            continue
        parts = line.split()
        try:
            rgb = [int(v) for v in parts[:3]]
        except ValueError:
            rgb = []
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise PainterError(f"palette file {path}, line {n}: {line[:40]!r} is not \"R G B name\" with R, G, B from "
                               "0 to 255; fix or remove the line")
        colours.append([v / 255.0 for v in rgb])
    if not colours:
        raise PainterError(f"palette file {path} holds no colours; add \"R G B name\" lines")
    if len(colours) > MAX_COLOURS:
        raise PainterError(f"palette file {path} holds {len(colours)} colours; a palette holds at most {MAX_COLOURS}")
    return np.asarray(colours, np.float32)


def colours_from_image(image: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``count`` colours that represent ``image`` (H x W x 3 sRGB): k-means in sRGB over a
    fixed sample of its pixels, seeded, so the same picture gives the same palette."""
    if not 2 <= count <= MAX_FROM_IMAGE:
        raise PainterError(f"--palette {count}: take from 2 to {MAX_FROM_IMAGE} colours from the picture")
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, np.float32).reshape(-1, 3)
    if len(pixels) > 20000:
        pixels = pixels[rng.choice(len(pixels), 20000, replace=False)]
    # k-means++ start: each next centre far from those chosen.
    centres = [pixels[rng.integers(len(pixels))]]
    for _ in range(count - 1):
        d = np.min(((pixels[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), 1)
        centres.append(pixels[rng.choice(len(pixels), p=d / d.sum())] if d.sum() > 0 else pixels[0])
    c = np.asarray(centres, np.float32)
    for _ in range(25):
        label = np.argmin(((pixels[:, None] - c[None]) ** 2).sum(-1), 1)
        for k in range(count):
            members = pixels[label == k]
            if len(members):
                c[k] = members.mean(0)
    return _unique(np.round(c * 255) / 255.0)


def _unique(colours: np.ndarray) -> np.ndarray:
    keep = []
    for c in np.asarray(colours, np.float32):
        if not any(np.array_equal(c, k) for k in keep):
            keep.append(c)
    return np.asarray(keep, np.float32).reshape(-1, 3)


def to_hex(colours: np.ndarray) -> list[str]:
    return ["#" + "".join(f"{int(round(float(v) * 255)):02x}" for v in c) for c in np.asarray(colours)]
