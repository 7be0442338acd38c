"""Where the pictures the engine needs come from: an image file, an image in the blend
file, or (``camera.py``) a render of the active camera; the same for the style image.
A shot's frames come from a video file, a folder or pattern of images, a movie clip or an
image sequence of the blend file, or (``camera.py``) the camera over the frame range; the
engine reads them by path (``core.io.video_io``), so a Blender clip or sequence is named by
its file.

Blender images are handed to the worker as files, since it runs in another process:
reference pixels as a ``.npy`` array, a style image as a PNG written here (Blender's
Python has no imaging library).
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import gp_data
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
            rgb = gp_data.linear_to_srgb(rgb)
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


@dataclass
class Source:
    """A reference for the engine: the request's fields (``image`` or ``pixels``), a name
    for the painting, and what the painting keeps of it (``record``) so Refine can paint
    towards the same picture later."""

    fields: dict[str, Any]
    name: str
    record: dict[str, Any]
    block: Any = None  # the image or camera it came from


def camera_spec(context: Any, settings: Any, frames: list[int] | None = None) -> "Any":
    """The panel's camera render settings (Workbench or the scene's engine, resolution
    percentage) for the scene's camera at its current frame, or over ``frames``."""
    from .camera import CameraSpec

    return CameraSpec(camera=context.scene.camera, frames=frames, engine=settings.camera_engine,
                      percent=int(settings.camera_percent))


def reference(context: Any, settings: Any, folder: str, camera_image: str | None = None) -> Source:
    """The panel's still reference (an image file, an image of the blend file, the
    camera). A camera source uses ``camera_image`` when the caller rendered it already
    (the modal run renders without blocking), else renders now."""
    if settings.source == "FILE":
        if not settings.image_path:
            raise UserError("no image file chosen: set Image File in the Neural Painter panel")
        path = check_image_file(settings.image_path)
        return Source({"image": path}, f"Painting {Path(path).stem}", {"kind": "FILE", "path": path})
    if settings.source == "IMAGE":
        return _blend_image(settings.image, folder)
    if settings.source != "CAMERA":
        raise UserError("a shot is painted frame by frame, not refined: choose an image or the camera as the Source")
    scene = context.scene
    cam = scene.camera
    if camera_image is None:
        from . import camera

        camera_image = camera.render_blocking(context, folder, camera_spec(context, settings))
    return Source({"image": camera_image}, "Painting Camera",
                  {"kind": "CAMERA", "camera": cam.name if cam else "", "frame": int(scene.frame_current)}, cam)


def _blend_image(img: Any, folder: str) -> Source:
    path = os.path.join(folder, "source.npy")
    np.save(path, image_pixels(img))
    return Source({"pixels": path}, f"Painting {img.name}", {"kind": "IMAGE", "image": img.name}, img)


def stored_reference(context: Any, obj: Any, settings: Any, folder: str, camera_image: str | None = None) -> Source:
    """The picture ``obj`` was painted from, whatever the panel says now; UserError in one
    line when it is gone. A painting that keeps none (imported from a strokes file, or
    painted by an earlier version) is refined towards the panel's still source."""
    from . import record

    ref = record.reference(obj)
    kind = ref.get("kind") if ref is not None else None
    if kind == "FILE":
        path = str(ref.get("path", "")) if ref else ""
        if not os.path.isfile(path):
            raise UserError(f"'{obj.name}' was painted from {path}, which is gone; put the file back to refine it")
        return Source({"image": path}, obj.name, dict(ref or {}))
    if kind == "IMAGE":
        img = record.reference_block(obj)
        if img is None or not isinstance(img, bpy.types.Image):
            raise UserError(f"'{obj.name}' was painted from image '{ref.get('image') if ref else ''}', which is no "
                            "longer in this file; bring it back to refine the painting")
        return _blend_image(img, folder)
    if kind == "CAMERA":
        cam = _stored_camera_object(obj)
        if camera_image is None:
            from . import camera

            camera_image = camera.render_blocking(context, folder, stored_camera(context, obj, settings))
        return Source({"image": camera_image}, obj.name, dict(ref or {}), cam)
    if settings.source in {"FILE", "IMAGE", "CAMERA"}:
        return reference(context, settings, folder, camera_image)
    raise UserError(f"'{obj.name}' keeps no reference picture (imported, or painted by an earlier version) and the "
                    "panel's Source is a shot: choose an image or the camera as Source to refine it")


def stored_camera(context: Any, obj: Any, settings: Any) -> Any:
    """The camera render that gives back ``obj``'s reference (its camera at its frame),
    or None when the painting was not painted from a camera."""
    from . import record
    from .camera import CameraSpec

    ref = record.reference(obj)
    if ref is None or ref.get("kind") != "CAMERA":
        if ref is None and settings.source == "CAMERA":
            return camera_spec(context, settings)
        return None
    return CameraSpec(camera=_stored_camera_object(obj), frame=int(ref.get("frame", context.scene.frame_current)),
                      engine=settings.camera_engine, percent=int(settings.camera_percent))


def _stored_camera_object(obj: Any) -> Any:
    from . import record

    cam = record.reference_block(obj)
    if cam is None or not isinstance(cam, bpy.types.Object) or cam.type != "CAMERA":
        ref = record.reference(obj) or {}
        raise UserError(f"'{obj.name}' was painted from camera '{ref.get('camera', '')}', which is gone; bring it "
                        "back to refine the painting")
    return cam


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


def sequence_pattern(path: str) -> str:
    """One file of an image sequence (``render_0001.png``) as the pattern of all of them
    (``render_%04d.png``): the last run of digits in the name is the frame number."""
    folder, name = os.path.split(path)
    digits = list(re.finditer(r"\d+", name))
    if not digits:
        raise UserError(f"{name} has no frame number in its name, so its sequence cannot be found; "
                        "choose the folder of the frames as a File or Folder source")
    m = digits[-1]
    return os.path.join(folder, f"{name[:m.start()]}%0{len(m.group())}d{name[m.end():]}")


def is_video(spec: str) -> bool:
    """Whether a shot's frames come from one video file (which has a frame rate of its
    own), not a folder, pattern or sequence of images (which play one per scene frame)."""
    return os.path.isfile(spec) and Path(spec).suffix.lower() not in SUPPORTED_EXT


def shot_input(settings: Any) -> tuple[str, str]:
    """The frames of a Movie / Sequence source as a path ``core.io.video_io`` opens (a video,
    a folder or a pattern), and a name for the painting. Only the path is checked here;
    the engine finds an unreadable video, a pattern matching nothing or frames of
    different sizes before it paints, and says so in one line."""
    kind = settings.shot_source
    if kind == "CLIP":
        clip = settings.movie_clip
        if clip is None:
            raise UserError("no movie clip chosen: pick one in the Neural Painter panel")
        path, name = bpy.path.abspath(clip.filepath), clip.name
        spec = path if clip.source == "MOVIE" else sequence_pattern(path)
    elif kind == "IMAGE":
        img = settings.image
        if img is None:
            raise UserError("no image sequence chosen: pick an image whose source is a sequence or a movie")
        if img.source not in {"SEQUENCE", "MOVIE"}:
            raise UserError(f"image '{img.name}' is a single picture, not a sequence or movie: use the Image "
                            "source for it, or set its source to Image Sequence")
        path, name = bpy.path.abspath(img.filepath), img.name
        spec = path if img.source == "MOVIE" else sequence_pattern(path)
    else:
        if not settings.movie_path.strip():
            raise UserError("no video or folder chosen: set Video or Folder in the Neural Painter panel")
        spec = bpy.path.abspath(settings.movie_path.strip())
        path, name = spec, Path(spec.rstrip("/\\")).stem
    where = os.path.dirname(spec) if "%" in os.path.basename(spec) or "*" in os.path.basename(spec) else spec
    if not os.path.exists(where or "."):
        raise UserError(f"{where} does not exist; choose an existing video, folder or image sequence")
    return spec, name
