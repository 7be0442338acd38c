"""Reading the user's picture into the one array format the painter works on, and writing PNGs.

Everything downstream (loss, renderer, stroke initialisation) assumes a float32 HxWx3 sRGB
array in [0, 1] with no NaN, so every quirk of real-world files is settled here, once:
palette and grey-scale modes, 16-bit PNGs, CMYK JPEGs, transparency (composited over a
chosen background colour), EXIF rotation from phones and very large scans. Anything that
cannot be settled raises :class:`~core.errors.PainterError` with a one-line message that
says what is wrong and what to do about it, because the CLI and the Blender add-on show that
line to the user as it is.

Memory is the main hazard: the painter never needs more than a few thousand pixels per side,
but users drop 20000 px scans on it. Large images are therefore shrunk while they are still
8-bit (JPEGs already inside the decoder, via ``draft``), in horizontal bands, and only the
small result is turned into floats.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
from typing import Any, Iterator, NamedTuple, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import PainterError

__all__ = ["MAX_PIXELS", "load_image", "resize_long_side", "save_png"]

ImageSource = Union[str, bytes, "os.PathLike[str]", Image.Image, np.ndarray]

#: Hard limit on the pixels that have to be decoded at full size. Pillow keeps even RGB as
#: 4 bytes a pixel, so a gigapixel image needs 4 GB before any shrinking can happen; beyond
#: that an ordinary machine running Blender as well runs out of memory, and the painter
#: gains nothing from the extra detail. JPEGs count after ``draft`` shrinking, so a larger
#: JPEG can still be loaded when a ``max_side`` lets the decoder skip most of it.
MAX_PIXELS = 1_000_000_000

# Pixels converted and reduced at a time: keeps the temporary copies (mode conversion,
# premultiplied alpha) small next to the decoded image itself.
_BAND_PIXELS = 4_000_000

# Floats per temporary block in the resize: small enough to stay in cache.
_BLOCK_ELEMENTS = 1 << 20

# EXIF orientation -> how to turn the stored pixels into the displayed picture.
_ORIENTATION_TAG = 0x0112

# File signatures of formats Pillow reads: a file that starts like an image but cannot be
# identified is damaged, not "not an image", and deserves the other message.
_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)

_READABLE_FORMATS = "use a PNG, JPEG, TIFF, WebP or BMP file"

# Pillow's decompression-bomb limit is a process-wide global; serialise our brief change of it.
_PILLOW_LIMIT_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def load_image(
    source: ImageSource,
    max_side: int | None = 4096,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """Turn whatever the user or Blender hands us into the painter's canonical image.

    ``source`` may be a file path, a PIL image, or a numpy array (HxW, HxWx1, HxWx2, HxWx3 or
    HxWx4; uint8, uint16, bool, or float holding sRGB-encoded values in [0, 1], rows top to
    bottom, so Blender's bottom-up ``pixels`` must be flipped by the caller first).

    EXIF orientation is applied (for PIL images too), so phone photos come out the way every
    viewer shows them rather than lying on their side.
    Transparency is composited over ``background`` because strokes are painted on an opaque
    canvas: what the user sees behind a transparent logo should be what the painter copies.
    ``max_side`` bounds the long side (area-averaged, aspect kept) since optimisation cost
    grows with pixel count; ``None`` keeps the full resolution (12 bytes a pixel as float32).
    Float arrays are sanitised rather than rejected: Blender float images (renders, EXR)
    legitimately hold values above 1 and the odd NaN/inf, which the user cannot easily fix,
    so NaN becomes 0, +inf 1, -inf 0 and everything is clipped to [0, 1].

    Returns a C-contiguous float32 HxWx3 array in [0, 1] with H, W >= 1.
    Raises PainterError with a one-line explanation for every bad input.
    """
    if max_side is not None:
        if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) or max_side < 1:
            raise PainterError(
                f"max_side must be a positive whole number of pixels or None, got {max_side!r}; "
                "pass e.g. 4096, or None to keep the full size"
            )
        max_side = int(max_side)
    bg = _check_background(background)

    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source, bg)
        if max_side is not None and max(rgb.shape[:2]) > max_side:
            rgb = resize_long_side(rgb, max_side)
        return _finish(rgb)
    if isinstance(source, Image.Image):
        name = os.path.basename(str(getattr(source, "filename", "") or "")) or "the image"
        return _finish(_decoded_to_rgb(_decode_pil(source, name, max_side, may_draft=False), bg))
    if isinstance(source, (str, bytes, os.PathLike)):
        return _finish(_load_path(source, max_side, bg))
    raise PainterError(
        f"cannot load an image from a {type(source).__name__}; "
        "pass a file path, a PIL image or a numpy array"
    )


def load_reference(source: ImageSource, options: Any) -> np.ndarray:
    """The picture a painting is painted from, loaded the same way on every path (the
    command line, the worker Blender starts, the headless command), so the same request
    gives the same painting: at most 1024 px (or the working size, if larger) on its long
    side, and a transparent picture flattened onto the painting's background colour
    (black on ``black``, white for ``white`` and ``mean``)."""
    from ..contracts.options import composite_colour

    return load_image(source, max_side=max(int(options.size), 1024), background=composite_colour(options.background))


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Scale so the long side is exactly ``long_side``, keeping the aspect ratio.

    Shrinking uses exact area averaging (each output pixel is the mean of the input area it
    covers, partial pixels weighted by overlap) so fine detail turns into the right average
    colour instead of aliasing, which the painter's colour loss would otherwise chase.
    Enlarging uses linear interpolation, which stays within the input range (no ringing).
    Each side stays at least 1 px, so a 1x10000 strip does not collapse to nothing.

    Accepts HxW or HxWxC arrays; returns C-contiguous float32 of the same layout.
    """
    arr = _check_float_image(image, "resize_long_side")
    if isinstance(long_side, bool) or not isinstance(long_side, (int, np.integer)) or long_side < 1:
        raise PainterError(
            f"long_side must be a positive whole number of pixels, got {long_side!r}; pass e.g. 1024"
        )
    h, w = arr.shape[:2]
    th, tw = _target_size(h, w, int(long_side))
    return np.ascontiguousarray(_resize_to(arr, th, tw), dtype=np.float32)


def save_png(image: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a float [0, 1] image as an 8-bit PNG (lossless, readable everywhere, Blender included).

    Accepts HxW, HxWx3 or HxWx4 arrays; NaN is written as 0 and values are clipped, so a
    stray bad pixel from an optimiser run never costs the user the whole result.
    """
    arr = _check_float_image(image, "save_png")
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise PainterError(
            f"save_png got an image with {arr.shape[2]} channels (shape {arr.shape}); "
            "pass an HxW, HxWx3 or HxWx4 array"
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
    # Round half up: floor(x * 255 + 0.5) maps 0.5 to 128 as every image tool does.
    pixels = np.floor(np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    picture = Image.fromarray(np.ascontiguousarray(pixels))

    target = os.fspath(path)
    if isinstance(target, bytes):
        target = os.fsdecode(target)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        problem = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise PainterError(f"cannot write {target}: {folder} {problem}; choose a writable location")
    if os.path.isdir(target):
        raise PainterError(f"cannot write {target}: it is a folder; choose a writable location and a file name")
    try:
        # If encoding or writing fails, Pillow deletes the partial file it created.
        picture.save(target, format="PNG")
    except OSError as exc:
        raise PainterError(
            f"cannot write {target} ({_detail(exc)}); choose a writable location"
        ) from exc


# --------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------


def _load_path(source: str | bytes | os.PathLike[str], max_side: int | None, bg: np.ndarray) -> np.ndarray:
    path = os.fspath(source)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not os.path.exists(path):
        raise PainterError(f"{path} does not exist; check the path")
    if os.path.isdir(path):
        raise PainterError(f"{path} is a folder, not an image file; choose an image file inside it")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise PainterError(f"{path} cannot be read ({_detail(exc)}); check the file's permissions") from exc
    if size == 0:
        raise PainterError(f"{path} is empty (0 bytes); re-export or re-download it")

    try:
        with _pillow_bomb_check_off():
            picture = Image.open(path)
    except UnidentifiedImageError as exc:
        if head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
            raise PainterError(
                f"{path} is truncated or corrupt (its header cannot be parsed); re-export or re-download it"
            ) from exc
        raise PainterError(f"{path} is not an image Pillow can read (unrecognised format); {_READABLE_FORMATS}") from exc
    except PermissionError as exc:
        raise PainterError(f"{path} cannot be read ({_detail(exc)}); check the file's permissions") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error) as exc:
        # The file was readable a moment ago, so this is the content: a plugin gave up on it.
        raise PainterError(f"{path} is truncated or corrupt ({_detail(exc)}); re-export or re-download it") from exc

    try:
        # We own this image, so it may be decoded at reduced scale.
        decoded = _decode_pil(picture, path, max_side, may_draft=True)
    finally:
        # close() (unlike leaving a `with` block) also frees the full-size decoded pixels,
        # before the float work below needs memory of its own.
        picture.close()
    return _decoded_to_rgb(decoded, bg)


class _Decoded(NamedTuple):
    values: np.ndarray  # HxWxC, uint8 (8-bit modes) or float32 (16-bit and float modes), C in 1..4
    scale: float  # maps ``values`` to [0, 1]
    target: tuple[int, int] | None  # final (H, W) before EXIF rotation, None for "as decoded"
    orientation: int  # EXIF orientation 1..8


def _decode_pil(picture: Image.Image, name: str, max_side: int | None, *, may_draft: bool) -> _Decoded:
    """Decode and shrink while still 8-bit: only a small array survives, never a full-size float one."""
    width, height = picture.size
    if width < 1 or height < 1:
        raise PainterError(f"{name} has no pixels ({width}x{height}); re-export it")
    target = None if max_side is None or max(width, height) <= max_side else _target_size(height, width, max_side)

    if target is not None and may_draft and picture.format in ("JPEG", "MPO"):
        # libjpeg can decode straight to 1/2, 1/4 or 1/8 scale, never at less than the target
        # size: a 20000 px JPEG then costs a few hundred MB instead of gigabytes.
        try:
            picture.draft(None, (target[1], target[0]))
        except (OSError, ValueError):
            pass  # Not worth failing over: the full-size decode below still works.

    dec_w, dec_h = picture.size
    if dec_w * dec_h > MAX_PIXELS:
        raise PainterError(
            f"{name} is too large ({width}x{height} pixels; at most {MAX_PIXELS:,} can be decoded); "
            "downscale it first"
        )

    try:
        picture.load()
    except Image.DecompressionBombError as exc:
        raise PainterError(f"{name} is too large for Pillow to decode safely; downscale it first") from exc
    except MemoryError as exc:
        raise PainterError(
            f"not enough memory to decode {name} ({width}x{height}); downscale it first or close other programs"
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, ZeroDivisionError) as exc:
        raise PainterError(f"{name} is truncated or corrupt ({_detail(exc)}); re-export or re-download it") from exc

    orientation = _exif_orientation(picture)

    factor = 1
    if target is not None:
        # Integer box reduction in 8-bit keeps the intermediate between 1x and 2x the target,
        # so the float array that follows stays small; the exact area resize does the rest.
        factor = max(1, min(dec_w // target[1], dec_h // target[0]))
    mode, scale = _working_mode(picture)
    return _Decoded(_decode_bands(picture, name, mode, factor), scale, target, orientation)


def _decoded_to_rgb(decoded: _Decoded, bg: np.ndarray) -> np.ndarray:
    """Floats, background, exact area resize to the target, then EXIF rotation."""
    values = decoded.values.astype(np.float32)
    values *= np.float32(decoded.scale)
    rgb = _composite(values, bg)
    if decoded.target is not None and rgb.shape[:2] != decoded.target:
        rgb = _resize_to(rgb, *decoded.target)
    return _apply_orientation(rgb, decoded.orientation)


def _decode_bands(picture: Image.Image, name: str, mode: str, factor: int) -> np.ndarray:
    """Convert to a working mode and box-reduce by ``factor``, a band of rows at a time.

    Converting a whole decoded 20000 px image (palette to RGBA, RGBA to premultiplied for
    reduce) would double its memory; a band at a time keeps those copies to a few MB. Band
    heights are multiples of ``factor``, so the result equals a whole-image ``reduce``.
    """
    width, height = picture.size
    out_h, out_w = -(-height // factor), -(-width // factor)
    n_channels = {"L": 1, "F": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    out = np.empty((out_h, out_w, n_channels), dtype=np.float32 if mode == "F" else np.uint8)
    rows = max(factor, _BAND_PIXELS // max(width, 1) // factor * factor)
    for top in range(0, height, rows):
        box = (0, top, width, min(height, top + rows))
        if factor > 1 and picture.mode == mode and mode not in ("LA", "RGBA"):
            # Reduce straight from the decoded image, no band copy. (Pillow premultiplies
            # LA/RGBA by converting the *whole* image first, so those take the crop route.)
            band = picture.reduce(factor, box)
        else:
            band = picture.crop(box)
            if band.mode != mode:
                try:
                    band = band.convert(mode)
                except (ValueError, OSError) as exc:
                    raise PainterError(
                        f"{name} uses the colour mode {picture.mode}, which cannot be converted to RGB "
                        f"({_detail(exc)}); re-export it as an RGB PNG or JPEG"
                    ) from exc
            if factor > 1:
                band = band.reduce(factor)
        values = np.asarray(band)
        start = top // factor
        out[start : start + values.shape[0]] = values.reshape(values.shape[0], values.shape[1], n_channels)
    return out


def _working_mode(picture: Image.Image) -> tuple[str, float]:
    """Pick the Pillow mode the bands are converted to, and the factor that maps it to [0, 1]."""
    mode = picture.mode
    if mode == "F":
        return "F", 1.0
    if mode == "I" or mode.startswith("I;16"):
        # 16-bit PNGs/TIFFs (Pillow reads them as I;16 or I) hold 0..65535.
        return "F", 1.0 / 65535.0
    if mode in ("LA", "La"):
        return "LA", 1.0 / 255.0
    if picture.has_transparency_data:
        # RGBA, PA, palettes with transparent entries, L/RGB with a tRNS colour.
        return "RGBA", 1.0 / 255.0
    if mode in ("1", "L"):
        return "L", 1.0 / 255.0
    return "RGB", 1.0 / 255.0  # RGB, CMYK, YCbCr, LAB, HSV, RGBX, P...


def _array_to_rgb(array: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Validate and normalise a caller's array (most likely Blender pixels) to [0, 1] floats."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise PainterError(
            f"image array has shape {array.shape}; pass an HxW, HxWx3 or HxWx4 array (rows top to bottom)"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise PainterError(f"image array is empty (shape {array.shape}); pass an image of at least 1x1 pixels")
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / np.float32(255.0)
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / np.float32(65535.0)
    elif array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)  # Always a copy: the caller's array is never modified.
        np.nan_to_num(values, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(values, 0.0, 1.0, out=values)
    else:
        raise PainterError(
            f"image array has dtype {array.dtype}; pass uint8, uint16 or float values in [0, 1]"
        )
    if values.ndim == 2:
        values = values[:, :, None]
    return _composite(values, bg)


# --------------------------------------------------------------------------------------
# Pixel helpers
# --------------------------------------------------------------------------------------


def _composite(values: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """HxWx{1,2,3,4} floats -> HxWx3, alpha composited over the background.

    Compositing is linear, so doing it after area-averaging the (premultiplied) pixels gives
    the same colours as doing it first, at a fraction of the memory.
    """
    n = values.shape[2]
    if n in (2, 4):
        alpha = values[:, :, -1:]
        colour = values[:, :, :-1]
        return colour * alpha + bg * (np.float32(1.0) - alpha)
    if n == 1:
        return np.repeat(values, 3, axis=2)
    return values


def _target_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(H, W) with the long side exactly ``long_side``, the other rounded, never below 1."""
    if height >= width:
        return long_side, max(1, int(width * long_side / height + 0.5))
    return max(1, int(height * long_side / width + 0.5)), long_side


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices and weights (n_out x taps) for one axis: area when shrinking, linear when enlarging."""
    if n_out < n_in:
        step = n_in / n_out
        edges = np.arange(n_out + 1, dtype=np.float64) * step
        lo, hi = edges[:-1, None], edges[1:, None]
        taps = int(math.ceil(step)) + 1
        idx = np.floor(lo).astype(np.int64) + np.arange(taps)[None, :]
        overlap = np.minimum(idx + 1, hi) - np.maximum(idx, lo)
        weights = np.clip(overlap, 0.0, None)
    else:
        centre = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        centre = np.clip(centre, 0.0, n_in - 1)
        first = np.floor(centre).astype(np.int64)
        frac = centre - first
        idx = np.stack([first, first + 1], axis=1)
        weights = np.stack([1.0 - frac, frac], axis=1)
    idx = np.clip(idx, 0, n_in - 1)
    weights /= weights.sum(axis=1, keepdims=True)
    return idx, weights.astype(np.float32)


def _weighted_take(values: np.ndarray, idx: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """sum_k weights[:, k] * values.take(idx[:, k], axis) for a 2-D array: one pass of a separable resize."""
    shape = (-1, 1) if axis == 0 else (1, -1)
    # mode="clip" because the indices are valid already and the default "raise" buffers `out`.
    out = np.take(values, idx[:, 0], axis=axis, mode="clip")
    out *= weights[:, 0].reshape(shape)
    if idx.shape[1] > 1:
        term = np.empty_like(out)
        for k in range(1, idx.shape[1]):
            np.take(values, idx[:, k], axis=axis, out=term, mode="clip")
            term *= weights[:, k].reshape(shape)
            out += term
    return out


def _resize_to(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Separable resize of HxW or HxWxC floats to exactly (height, width).

    Channels are folded into the columns (H x W*C) so every multiply broadcasts along a
    contiguous axis, and the work goes through blocks of output rows so temporaries stay a
    few MB and in cache; both matter several-fold on machines with slow memory.
    """
    h, w = values.shape[:2]
    if (h, w) == (height, width):
        return values.copy()
    channels = values.shape[2] if values.ndim == 3 else 1
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(h, w * channels)
    rows_idx = rows_w = cols_idx = cols_w = None
    if h != height:
        rows_idx, rows_w = _axis_weights(h, height)
    if w != width:
        idx, wts = _axis_weights(w, width)
        # Column j of a pixel becomes columns j*C .. j*C+C-1 of the flattened rows.
        cols_idx = (idx[:, None, :] * channels + np.arange(channels)[None, :, None]).reshape(width * channels, -1)
        cols_w = np.repeat(wts, channels, axis=0)
    out = np.empty((height, width * channels), dtype=np.float32)
    block = max(1, _BLOCK_ELEMENTS // (max(w, width) * channels))
    for top in range(0, height, block):
        bottom = min(height, top + block)
        if rows_idx is None:
            rows = flat[top:bottom]
        else:
            rows = _weighted_take(flat, rows_idx[top:bottom], rows_w[top:bottom], axis=0)
        out[top:bottom] = rows if cols_idx is None else _weighted_take(rows, cols_idx, cols_w, axis=1)
    return out.reshape((height, width) + values.shape[2:])


def _exif_orientation(picture: Image.Image) -> int:
    """Orientation 1..8 from EXIF; 1 when absent or unreadable (a broken tag is no reason to fail)."""
    try:
        value = picture.getexif().get(_ORIENTATION_TAG, 1)
        value = int(value)
    except Exception:  # noqa: BLE001 - any EXIF parsing problem just means "no rotation".
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Phones store the sensor's pixels and a tag; users expect the picture as their viewer shows it."""
    if orientation == 2:
        return rgb[:, ::-1]
    if orientation == 3:
        return rgb[::-1, ::-1]
    if orientation == 4:
        return rgb[::-1]
    if orientation == 5:
        return rgb.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(rgb, -1)
    if orientation == 7:
        return rgb[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(rgb, 1)
    return rgb


def _finish(rgb: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(rgb, dtype=np.float32)
    np.clip(out, 0.0, 1.0, out=out)  # Rounding in the weighted sums can step 1e-7 outside.
    return out


def _check_background(background: tuple[float, float, float]) -> np.ndarray:
    try:
        bg = np.asarray(background, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        bg = np.zeros(0, dtype=np.float32)
    if bg.shape != (3,) or not np.all(np.isfinite(bg)) or bg.min() < 0.0 or bg.max() > 1.0:
        raise PainterError(
            f"background must be three numbers in [0, 1], got {background!r}; pass e.g. (1.0, 1.0, 1.0) for white"
        )
    return bg


def _check_float_image(image: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise PainterError(f"{what} needs a numpy array, got a {type(image).__name__}; pass the image as an array")
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1 or (image.ndim == 3 and image.shape[2] < 1):
        raise PainterError(f"{what} got an array of shape {image.shape}; pass a non-empty HxW or HxWxC image")
    if not np.issubdtype(image.dtype, np.floating):
        # A uint8 image here is almost always a mistake that would silently saturate to white.
        raise PainterError(
            f"{what} got an array of dtype {image.dtype}; pass float values in [0, 1] (divide 8-bit pixels by 255)"
        )
    return image.astype(np.float32, copy=False)


def _detail(exc: BaseException) -> str:
    """A short, single-line reason taken from an exception, for the parenthesis in our messages."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


@contextlib.contextmanager
def _pillow_bomb_check_off() -> Iterator[None]:
    """Let ``Image.open`` read headers of legitimately huge scans; MAX_PIXELS is enforced instead.

    Pillow's own limit (~179 Mpx, a process-wide global) would refuse a 20000x20000 scan
    before we can shrink it. Only header parsing happens inside, so the global is changed
    for milliseconds, under a lock, and always restored.
    """
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved
