"""Where the pictures the engine needs come from: an image file, an image in the blend
file, or (``camera.py``) a render of the active camera; the same for the style image.

Blender images are handed to the worker as files, since it runs in another process:
reference pixels as a ``.npy`` array, a style image as a PNG written here (Blender's
Python has no imaging library).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import gpencil
from .errors import UserError

SUPPORTED_EXT = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".tga", ".ppm", ".pgm"}
SUPPORTED_NAMES = "PNG, JPEG, TIFF, BMP, WebP, GIF or TGA"


def check_image_file(raw: str, what: str = "image file", fix: str = "choose an existing file") -> str:
    """The absolute path of an image file the engine can read by its name, or UserError."""
    path = bpy.path.abspath(raw)
    if not os.path.isfile(path):
        raise UserError(f"{what} {path} does not exist; {fix}")
    if Path(path).suffix.lower() not in SUPPORTED_EXT:
        raise UserError(f"{what} {Path(path).name} is not a supported image (use {SUPPORTED_NAMES}); convert it first")
    return path


def image_pixels(img: Any) -> np.ndarray:
    """A Blender image as top-down sRGB floats (HxWx3 or HxWx4)."""
    if img is None:
        raise UserError("no image chosen: pick an image in the Neural Painter panel")
    w, h = int(img.size[0]), int(img.size[1])
    if w == 0 or h == 0 or not img.has_data and img.source not in {"GENERATED"}:
        try:
            img.reload()
        except RuntimeError:
            pass
        w, h = int(img.size[0]), int(img.size[1])
    if w == 0 or h == 0:
        raise UserError(f"image '{img.name}' has no pixels (missing file?); reload it or choose another")
    channels = int(img.channels)
    buf = np.empty(w * h * channels, np.float32)
    img.pixels.foreach_get(buf)
    arr = buf.reshape(h, w, channels)[::-1]
    if channels >= 3:
        rgb = arr[..., :3]
        # Float buffers hold scene-linear values; byte images are already display-encoded.
        if img.is_float and img.colorspace_settings.name not in {"sRGB", "Non-Color"}:
            rgb = gpencil.linear_to_srgb(rgb)
        arr = np.concatenate([rgb, arr[..., 3:4]], -1) if channels == 4 else rgb
    return np.ascontiguousarray(arr, np.float32)


def write_png(path: str, pixels: np.ndarray) -> str:
    """Top-down sRGB floats (HxWx1..4) as an 8-bit PNG, with no imaging library (Blender's
    Python has none), for engine options that take an image file."""
    arr = np.asarray(pixels, np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 2:  # grey + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, -1), arr[..., 1:]], -1)
    elif arr.shape[2] == 1:
        arr = np.repeat(arr, 3, -1)
    arr = arr[..., :4]
    h, w, c = arr.shape
    data = (np.clip(np.nan_to_num(arr), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raw = b"".join(b"\x00" + data[y].tobytes() for y in range(h))

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + tag + payload
                + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
                + chunk(b"IEND", b""))
    return path


def reference(context: Any, settings: Any, folder: str, camera_image: str | None = None) -> tuple[dict[str, Any], str]:
    """Request fields for the reference image, and a name for the painting. A camera
    source uses ``camera_image`` when the caller rendered it already (the modal run
    renders without blocking), else renders now."""
    if settings.source == "FILE":
        if not settings.image_path:
            raise UserError("no image file chosen: set Image File in the Neural Painter panel")
        path = check_image_file(settings.image_path)
        return {"image": path}, f"Painting {Path(path).stem}"
    if settings.source == "IMAGE":
        path = os.path.join(folder, "source.npy")
        np.save(path, image_pixels(settings.image))
        return {"pixels": path}, f"Painting {settings.image.name}"
    if camera_image is None:
        from . import camera

        camera_image = camera.render_blocking(context, folder)
    return {"image": camera_image}, "Painting Camera"


def style_chosen(settings: Any) -> bool:
    """A style image is set (an empty one means: no style)."""
    if settings.style_source == "IMAGE":
        return settings.style_image is not None
    return bool(settings.style_image_path.strip())


def style_image_file(settings: Any, folder: str | None) -> str | None:
    """The style image as a file for the engine, or None for no style. A Blender image is
    saved to a PNG in ``folder``; with no folder (checks before a run) nothing is written
    and "" stands for it."""
    if not style_chosen(settings):
        return None
    if settings.style_source == "IMAGE":
        if folder is None:
            return ""
        return write_png(os.path.join(folder, "style.png"), image_pixels(settings.style_image))
    return check_image_file(settings.style_image_path.strip(), "style image",
                            "choose an existing file or clear Style Image")
