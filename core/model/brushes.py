"""Brushes: the presets that ship, an artist's brush picture as a stencil, and the
stencil as a painting stores it.

A brush (:class:`core.contracts.brushes.Brush`) is a stencil of where it leaves paint,
rows across the stroke and columns along it, stretched over every stroke from tip to
tip. The presets are drawn here from a seed, so the repository holds no third-party
brush art and every renderer (optimiser, reference, SVG, Blender) draws the same one;
``brushes/NAME.png`` are their pictures (``scripts/make_brushes.py``), which load back
as the same brushes. A picture of the artist's own becomes a stencil of the same size:
its alpha where the alpha varies, else its darkness, so a black mark on white and a
mark on a transparent ground both work. A painting keeps its brush's stencil in its
``meta`` (:func:`brush_meta`), so re-rendering the strokes file shows the brush without
the picture it came from.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import io
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..contracts.brushes import PRESETS, STENCIL_COLS, STENCIL_ROWS, Brush
from ..contracts.styles import StyleSpec, get_style
from ..errors import PainterError
from .texture import mips_of, smooth_noise, stack_mips

# --- the presets ---------------------------------------------------------------------------


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """u along the stroke (0..1, [1, cols]) and v across it (-1..1, [rows, 1]) at texel centres."""
    u = ((np.arange(cols) + 0.5) / cols)[None, :]
    v = ((np.arange(rows) + 0.5) / rows * 2 - 1)[:, None]
    return u, v


def _ramp(x: np.ndarray, width: float) -> np.ndarray:
    """0 below -width/2, 1 above +width/2, linear between: an edge ``width`` wide."""
    return np.clip(x / width + 0.5, 0.0, 1.0)


def _bristles(rng: np.random.Generator, rows: int, cols: int, gaps: float) -> np.ndarray:
    """How much paint each bristle lays, [rows, cols]: near 1, with grooves between
    some bristles (about ``gaps`` of the rows) and a slow flicker along each."""
    load = 1.0 - gaps * (rng.random(rows) < 0.3) * rng.uniform(0.3, 0.8, rows)
    flicker = np.stack([smooth_noise(rng, cols, 9) for _ in range(rows)])
    return np.clip(load[:, None] + 0.08 * flicker, 0.0, 1.0)


def _dry_tail(rng: np.random.Generator, rows: int, cols: int, start: float, spread: float) -> np.ndarray:
    """1 where the bristles still hold paint: each runs dry at its own place after
    ``start`` (within ``spread``), breaking up in streaks first."""
    u, _ = _grid(rows, cols)
    dry_at = rng.uniform(start, start + spread, rows)[:, None]
    grain = np.stack([smooth_noise(rng, cols, 40) for _ in range(rows)])
    return np.clip((dry_at - u) / 0.1 + 0.5 + 0.4 * grain, 0.0, 1.0)


def _flat(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A flat brush: square ends, full width from the first touch, parallel bristle
    streaks, running dry at the end."""
    u, v = _grid(rows, cols)
    onset = rng.uniform(0.01, 0.04, rows)[:, None]  # each bristle touches down at its own place
    start = _ramp(u - onset, 0.02)
    sides = _ramp(0.97 - np.abs(v), 0.04)
    return start * sides * _bristles(rng, rows, cols, 0.5) * _dry_tail(rng, rows, cols, 0.82, 0.14)


def _filbert(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A filbert: an oval tip that presses to full width, soft streaks, lifting off in
    a rounded taper."""
    u, v = _grid(rows, cols)
    tip = 0.22
    reach = np.sqrt(np.clip(1 - ((tip - np.minimum(u, tip)) / tip) ** 2, 0.0, 1.0))  # the oval's half width
    lift = np.sqrt(np.clip((1.0 - u) / 0.12, 0.0, 1.0))
    half = np.minimum(reach, lift) * 0.96
    return _ramp(half - np.abs(v), 0.08) * _bristles(rng, rows, cols, 0.25) * _dry_tail(rng, rows, cols, 0.9, 0.08)


def _fan(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A fan brush: separate thin lines of paint with bare canvas between them, each
    bristle touching down and lifting off at its own place."""
    u, v = _grid(rows, cols)
    lines = 7
    centres = np.linspace(-1, 1, lines + 2)[1:-1] + rng.normal(0.0, 0.03, lines)
    width = rng.uniform(0.04, 0.07, lines)
    across = np.max(_ramp(width[:, None] - np.abs(v[:, 0][None, :] - centres[:, None]), 0.05), axis=0)[:, None]
    begin = rng.uniform(0.0, 0.08, rows)[:, None]
    end = rng.uniform(0.85, 0.99, rows)[:, None]
    along = _ramp(u - begin, 0.04) * _ramp(end - u, 0.06)
    return across * along * _bristles(rng, rows, cols, 0.2)


def _dry(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Dry brush: little paint on the bristles, so it catches the canvas's grain in
    broken streaks all along the stroke, more towards the end."""
    u, v = _grid(rows, cols)
    streak = np.stack([smooth_noise(rng, cols, 24) for _ in range(rows)]) + rng.normal(0.0, 0.6, rows)[:, None]
    threshold = -0.4 + 1.1 * u  # more bare canvas as the paint runs out
    paint = _ramp(streak - threshold, 0.5)
    sides = _ramp(0.95 - np.abs(v), 0.1)
    start = _ramp(u - 0.02, 0.03)
    return paint * sides * start


def _round(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A round brush: a pointed touch-down that swells under pressure and tapers to a
    point as it lifts, with fine streaks."""
    u, v = _grid(rows, cols)
    press = np.clip(u / 0.3, 0.0, 1.0) ** 0.6
    lift = np.clip((1.0 - u) / 0.35, 0.0, 1.0) ** 0.8
    half = 0.95 * np.minimum(press, lift)
    return _ramp(half - np.abs(v), 0.06) * _bristles(rng, rows, cols, 0.2)


_MAKERS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "flat": _flat, "filbert": _filbert, "fan": _fan, "dry": _dry, "round": _round}
assert tuple(_MAKERS) == PRESETS


def _quantise(stencil: np.ndarray) -> bytes:
    return np.round(np.clip(stencil, 0.0, 1.0) * 255).astype(np.uint8).tobytes()


@functools.lru_cache(maxsize=None)
def preset(name: str) -> Brush:
    """A brush that ships, drawn from its own seed (the same on every machine)."""
    seed = PRESETS.index(name) + 1
    stencil = _MAKERS[name](np.random.default_rng(seed), STENCIL_ROWS, STENCIL_COLS)
    return Brush(name, _quantise(stencil), source="preset")


# --- stencils as arrays ----------------------------------------------------------------------


def stencil(brush: Brush) -> np.ndarray:
    """The brush's stencil, float32 [rows, cols] in 0..1 (exactly its 8-bit values / 255)."""
    return np.frombuffer(brush.stencil, np.uint8).reshape(brush.rows, brush.cols).astype(np.float32) / 255.0


@functools.lru_cache(maxsize=16)
def brush_mipmaps(brush: Brush) -> np.ndarray:
    """The stencil's mip levels resampled to full size, [MIPS, rows, cols] float32: a
    stroke a few pixels wide samples the level a GPU would (``texture.mip_level``)."""
    if (brush.rows, brush.cols) != (STENCIL_ROWS, STENCIL_COLS):
        raise PainterError(f"brush {brush.name!r} is {brush.rows} x {brush.cols}, not {STENCIL_ROWS} x "
                           f"{STENCIL_COLS}; load it with core.model.brushes.load_brush")
    return stack_mips(mips_of(stencil(brush)), axis=0)


# --- an artist's picture ---------------------------------------------------------------------


def _planes(picture: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(grey, alpha or None) of a Pillow image, float64 in 0..1, whatever its mode."""
    if picture.mode in ("P", "PA"):
        picture = picture.convert("RGBA")
    elif picture.mode in ("1", "La"):
        picture = picture.convert("LA" if picture.mode == "La" else "L")
    elif picture.mode == "RGBa":
        picture = picture.convert("RGBA")
    elif picture.mode.startswith("I") or picture.mode == "F":
        values = np.asarray(picture, np.float64)
        # 16-bit greyscale ("I;16", or "I" in older Pillows, then told apart by its values);
        # a float picture is in 0..1 already.
        top = 65535.0 if picture.mode.startswith("I;16") or (picture.mode == "I" and values.max() > 255) else \
            255.0 if picture.mode == "I" else 1.0
        return np.clip(values / top, 0.0, 1.0), None
    elif picture.mode not in ("L", "LA", "RGB", "RGBA"):
        picture = picture.convert("RGB")
    values = np.asarray(picture, np.float64) / 255.0
    if picture.mode == "L":
        return values, None
    if picture.mode == "LA":
        return values[..., 0], values[..., 1]
    grey = values[..., :3] @ np.array([0.2126, 0.7152, 0.0722])
    return grey, (values[..., 3] if picture.mode == "RGBA" else None)


def _resize(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``values`` [H, W] at rows x cols: box averages along an axis that shrinks (every
    source pixel counts, as in a mip level), bilinear along one that grows."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(values, np.float32), "F")
    h, w = values.shape
    img = img.resize((cols, h), Image.Resampling.BOX if cols <= w else Image.Resampling.BILINEAR)
    img = img.resize((cols, rows), Image.Resampling.BOX if rows <= h else Image.Resampling.BILINEAR)
    return np.clip(np.asarray(img, np.float64), 0.0, 1.0)


def stencil_of_picture(picture: Any, what: str = "the brush") -> np.ndarray:
    """Where a brush picture (a Pillow image) leaves paint, [rows, cols] in 0..1 at the
    stencil's size: its alpha where the alpha varies (a mark on a transparent ground),
    else its darkness (a dark mark on white), times a constant alpha. PainterError, in
    one line, for a picture that leaves no paint anywhere."""
    from PIL import ImageOps

    picture = ImageOps.exif_transpose(picture)
    grey, alpha = _planes(picture)
    if alpha is not None and float(alpha.max()) < 0.5 / 255:
        raise PainterError(f"{what} is fully transparent, so it leaves no paint: a brush paints where its picture "
                           "is opaque (or, without transparency, where it is dark); draw the brush's mark in it")
    if alpha is not None and float(np.ptp(alpha)) >= 0.5 / 255:
        paint = alpha
    else:
        paint = (1.0 - grey) * (1.0 if alpha is None else float(alpha.mean()))
    out = _resize(paint, STENCIL_ROWS, STENCIL_COLS)
    if float(out.max()) < 0.5 / 255:
        raise PainterError(f"{what} is {'white' if float(paint.max()) < 0.5 / 255 else 'too faint'} all over, so it "
                           "leaves no paint: a brush paints where its picture is dark (or opaque, where it has "
                           "transparency); draw the brush's mark in it")
    return out


def load_brush(text: str | Brush) -> Brush:
    """``--brush``: a preset's name or a picture file, as a brush. Every way it can be
    wrong is one line naming the fix (an unknown name, a file that is not a picture, a
    picture that leaves no paint)."""
    if isinstance(text, Brush):
        return text
    name = str(text).strip()
    if name in PRESETS:
        return preset(name)
    path = Path(name).expanduser()
    if not path.is_file():
        near = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        if path.exists():
            raise PainterError(f"--brush {name} is a folder, not a picture: give a PNG of the brush's mark, or one "
                               f"of the brushes that ship: {', '.join(PRESETS)}")
        raise PainterError(f"--brush {name!r} is neither a brush that ships{hint} nor a picture file: use "
                           f"{', '.join(PRESETS)}, or the path of a PNG of the brush's mark")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            picture.load()
            values = stencil_of_picture(picture, f"the brush {path}")
    except PainterError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PainterError(f"--brush {path} is not a picture Pillow can read ({type(exc).__name__}); give a "
                           "greyscale or RGBA PNG of the brush's mark") from None
    return Brush(path.stem or "brush", _quantise(values), source=str(path))


def painting_spec(style: str | StyleSpec, brush: str | Brush | None) -> StyleSpec:
    """The look a painting is made and drawn with: its style, and with a brush the style
    derived from it (:meth:`StyleSpec.with_brush`). Whether the style takes a brush is
    asked before the picture is read, so that mistake is named first."""
    spec = get_style(style)
    if brush is None:
        return spec.with_brush(None)
    if not spec.takes_brush:
        raise PainterError(spec.brush_refusal(brush.name if isinstance(brush, Brush) else str(brush)))
    return spec.with_brush(load_brush(brush))


# --- in a painting's meta --------------------------------------------------------------------


def brush_meta(brush: Brush) -> dict[str, Any]:
    """What a strokes file's ``meta["brush"]`` holds: the preset's name, or for a picture
    its name and the file it came from, and in both cases the stencil itself (an 8-bit
    greyscale PNG, white where the brush leaves paint, base64), so the painting redraws
    as it was painted wherever the file goes and whatever becomes of the picture."""
    buf = io.BytesIO()
    from PIL import Image

    Image.frombytes("L", (brush.cols, brush.rows), brush.stencil).save(buf, format="PNG", optimize=True)
    return {"name": brush.name, "file": None if brush.is_preset else brush.source,
            "stencil": base64.b64encode(buf.getvalue()).decode("ascii")}


@functools.lru_cache(maxsize=32)
def _decode(name: str, file: str | None, data: str) -> Brush:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as picture:
            picture.load()
            if picture.mode != "L" or picture.size != (STENCIL_COLS, STENCIL_ROWS):
                raise ValueError(f"a {picture.mode} picture of {picture.size[0]}x{picture.size[1]} px")
            raw = picture.tobytes()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PainterError(f"its meta.brush.stencil is not the brush's {STENCIL_COLS}x{STENCIL_ROWS} greyscale PNG "
                           f"({str(exc) or type(exc).__name__})") from None
    return Brush(name, raw, source="preset" if file is None else file)


def brush_from_meta(value: Any) -> Brush | None:
    """The brush a painting's ``meta["brush"]`` describes (:func:`brush_meta`), or None
    for a painting without one. PainterError for a damaged entry."""
    if value is None:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("name"), str) and isinstance(value.get("stencil"), str)
            and isinstance(value.get("file"), (str, type(None)))):
        raise PainterError("its meta.brush must hold the brush's name, file and stencil")
    return _decode(value["name"], value["file"], value["stencil"])
