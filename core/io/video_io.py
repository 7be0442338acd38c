"""Frames of a shot in, videos out.

A shot comes from a video file (decoded with PyAV, which carries its own FFmpeg), a
folder of images, or a file pattern: printf style (``render_%04d.png``) or a glob
(``render_*.png``). Frames are numbered 1..N in playback order (for images: file
names in natural order, so ``f2`` comes before ``f10``); ``--frames A-B`` picks by
those numbers. Every frame comes out as float32 H x W x 3 sRGB in [0, 1], and every
frame of a shot must have one size: a shot is painted on one canvas.

PyAV and OpenCV are optional: ``core`` imports without them, and a command that needs
one says in one line which ``pip install`` brings it.
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import PainterError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".exr", ".tga")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".gif", ".ogv", ".wmv")
_PRINTF = re.compile(r"%0?(\d*)d")


def require_av() -> Any:
    """PyAV, or a one-line error that says how to install it."""
    try:
        import av
    except ImportError:
        raise PainterError("reading and writing video files needs PyAV: run `pip install av` "
                           "(or give a folder of images instead)") from None
    return av


def require_cv2() -> Any:
    """OpenCV, or a one-line error that says how to install it."""
    try:
        import cv2
    except ImportError:
        raise PainterError("optical flow between frames needs OpenCV: run "
                           "`pip install opencv-python-headless`") from None
    return cv2


def _natural_key(path: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", os.path.basename(path))]


@dataclass
class FrameSource:
    """Where a shot's frames come from. ``count`` frames, numbered 1..count."""

    spec: str  # what the user gave
    kind: str  # "video" or "images"
    count: int
    width: int
    height: int
    fps: float
    paths: list[str] = field(default_factory=list)  # images only, in frame order

    def describe(self) -> str:
        what = "video" if self.kind == "video" else "image sequence"
        return f"{what} {self.spec} ({self.count} frames, {self.width}x{self.height}, {self.fps:g} fps)"

    def frame_name(self, number: int) -> str:
        """What frame ``number`` is called in the source (a file name, or its number)."""
        return os.path.basename(self.paths[number - 1]) if self.kind == "images" else str(number)

    def frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        """(number, image) for frames first..last (1-based, inclusive), in order."""
        if not 1 <= first <= last <= self.count:
            raise PainterError(f"frames {first}-{last} are outside {self.describe()}; "
                               f"use --frames within 1-{self.count}")
        if self.kind == "images":
            yield from self._image_frames(first, last)
        else:
            yield from self._video_frames(first, last)

    # -- images ----------------------------------------------------------------------

    def _image_frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        from .image_io import load_image
        for number in range(first, last + 1):
            path = self.paths[number - 1]
            try:
                image = load_image(path)
            except PainterError as exc:
                raise PainterError(f"frame {number}: {exc}") from None
            self._check_size(number, image, path)
            yield number, image

    def _check_size(self, number: int, image: np.ndarray, name: str) -> None:
        h, w = image.shape[:2]
        if (w, h) != (self.width, self.height):
            raise PainterError(f"frame {number} ({name}) is {w}x{h} but frame 1 is {self.width}x{self.height}: "
                               "every frame of a shot must have one size; resize the frames to match")

    # -- video -----------------------------------------------------------------------

    def _video_frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        # Decoding runs from the start: a seek lands on a keyframe whose number a
        # variable-rate stream does not tell, and decoding is cheap next to painting.
        for number, frame in _decode(self.spec, last):
            if number >= first:
                image = frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
                self._check_size(number, image, f"of {self.spec}")
                yield number, image


def _decode(path: str, last: int | None = None) -> Iterator[tuple[int, Any]]:
    """(number, av.VideoFrame) from the first video stream, numbers from 1; clear errors."""
    av = require_av()
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise PainterError(f"cannot read video {path} ({_av_detail(exc)}); check that it is a video file "
                           "FFmpeg can play, or give a folder of images") from None
    try:
        if not container.streams.video:
            raise PainterError(f"video {path} has no frames (no video stream in it); give a video with at least "
                               "one frame, or a folder of images")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        number = 0
        try:
            for frame in container.decode(stream):
                number += 1
                yield number, frame
                if last is not None and number >= last:
                    return
        except (av.error.FFmpegError, ValueError) as exc:
            raise PainterError(f"video {path} is damaged after frame {number} ({_av_detail(exc)}); "
                               f"paint frames 1-{number} with --frames, or re-encode the video") from None
    finally:
        container.close()


def _av_detail(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text.replace(": '", " '")


def _probe_video(path: str) -> FrameSource:
    """Size, frame rate and frame count. The count is the container's when it states one
    and otherwise found by decoding, so a chunk's --frames can be checked before work starts."""
    av = require_av()
    width = height = 0
    fps = 24.0
    count = 0
    for number, frame in _decode(path, last=1):
        width, height = frame.width, frame.height
        count = number
    if count == 0:
        raise PainterError(f"video {path} has no frames; give a video with at least one frame")
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                fps = float(rate)
            stated = int(stream.frames or 0)
    except (av.error.FFmpegError, OSError, ValueError):
        stated = 0
    count = stated if stated > 0 else sum(1 for _ in _decode(path))
    return FrameSource(path, "video", count, width, height, fps)


def _image_paths(spec: str) -> list[str] | None:
    """The image files ``spec`` names (a folder, a printf or glob pattern), or None if it
    names no image set (then it may be a video file)."""
    p = Path(spec)
    if p.is_dir():
        files = [str(f) for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise PainterError(f"folder {spec} holds no images ({', '.join(IMAGE_SUFFIXES[:5])}, ...); "
                               "give the folder of the frames, a video file or a pattern like frames/%04d.png")
        return sorted(files, key=_natural_key)
    if _PRINTF.search(spec):
        head, tail = spec[:_PRINTF.search(spec).start()], spec[_PRINTF.search(spec).end():]  # type: ignore[union-attr]
        width = _PRINTF.search(spec).group(1)  # type: ignore[union-attr]
        digits = rf"\d{{{int(width)},}}" if width else r"\d+"
        rx = re.compile(re.escape(os.path.basename(head)) + f"({digits})" + re.escape(tail))
        folder = os.path.dirname(head) or "."
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        found = sorted(((int(m.group(1)), os.path.join(os.path.dirname(head), n))
                        for n in names if (m := rx.fullmatch(n))), key=lambda t: t[0])
        if not found:
            raise PainterError(f"pattern {spec} matches no files; check the folder and the number of digits")
        return [f for _, f in found]
    if glob.has_magic(spec):
        files = [f for f in glob.glob(spec) if os.path.isfile(f)]
        if not files:
            raise PainterError(f"pattern {spec} matches no files; check the folder and the pattern")
        return sorted(files, key=_natural_key)
    return None


def open_source(spec: str | os.PathLike, fps: float | None = None) -> FrameSource:
    """Open a video file, image folder or pattern; check it has frames of one size."""
    spec = str(spec)
    paths = _image_paths(spec)
    if paths is None:
        if not os.path.exists(spec):
            raise PainterError(f"{spec} does not exist; give a video file, a folder of images "
                               "or a pattern like frames/%04d.png")
        if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
            paths = [spec]
        else:
            source = _probe_video(spec)
            if fps:
                source.fps = fps
            return source
    from PIL import Image, UnidentifiedImageError

    sizes = []
    for number, path in enumerate(paths, 1):
        try:
            with Image.open(path) as im:
                size = im.size
                if _exif_turns(im):
                    size = size[::-1]
        except (UnidentifiedImageError, OSError) as exc:
            raise PainterError(f"frame {number} ({path}) is not a readable image "
                               f"({exc.__class__.__name__}); remove it or replace it") from None
        sizes.append(size)
        if size != sizes[0]:
            raise PainterError(f"frame {number} ({os.path.basename(path)}) is {size[0]}x{size[1]} but frame 1 "
                               f"is {sizes[0][0]}x{sizes[0][1]}: every frame of a shot must have one size; "
                               "resize the frames to match")
    return FrameSource(spec, "images", len(paths), sizes[0][0], sizes[0][1], float(fps or 24.0), paths)


def _exif_turns(im: Any) -> bool:
    """Whether EXIF orientation swaps width and height (load_image applies it)."""
    try:
        return int(im.getexif().get(0x0112, 1)) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - a broken EXIF block is the image loader's to report
        return False


def parse_frames(text: str | None, count: int) -> tuple[int, int]:
    """``A-B``, ``A`` or ``A-`` (to the end) within 1..count; None means all frames."""
    if text is None:
        return 1, count
    m = re.fullmatch(r"\s*(\d+)\s*(?:(-|\.\.)\s*(\d*)\s*)?", text)
    if not m:
        raise PainterError(f"--frames {text!r} is not a range: write A-B (e.g. 1-48), A- (to the end) or A")
    first = int(m.group(1))
    last = first if m.group(2) is None else (int(m.group(3)) if m.group(3) else count)
    if first < 1 or last < first:
        raise PainterError(f"--frames {text} is empty or starts before frame 1: write A-B with 1 <= A <= B")
    if last > count:
        raise PainterError(f"--frames {text} goes past the end of the shot, which has {count} frames; "
                           f"use --frames {first}-{count} or less")
    return first, last


def retime(first: int, last: int, fps: float, to_fps: float) -> dict[int, int]:
    """The source frames of first..last to paint for playback at ``to_fps``, each with the
    frame (1-based at that rate; source frame 1 is frame 1) where its drawing starts.

    Output frame k shows the source frame nearest its time, so a source faster than
    ``to_fps`` skips frames (60 fps at 30 paints every other one, 30 at 24 four in five)
    and is never painted for nothing, while a slower one paints every frame and some
    drawings hold for two frames (24 fps at 30: four drawings over five frames), which
    a Grease Pencil drawing does by itself until its next keyframe.
    """
    if not (0 < to_fps <= 1000 and 0 < fps <= 1000):
        raise PainterError(f"cannot retime {fps:g} fps to {to_fps:g} fps: both rates must be above 0 and at most 1000")
    ratio = float(fps) / float(to_fps)
    starts: dict[int, int] = {}
    k = 1
    while True:
        number = 1 + math.floor((k - 1) * ratio + 0.5 + 1e-9)
        if number > last:
            return starts
        if number >= first and number not in starts:
            starts[number] = k
        k += 1


# -- writing ---------------------------------------------------------------------------

def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float) -> Path:
    """Write frames (H x W x 3 float in [0, 1] or uint8) as MP4 (H.264), GIF or WebP by the suffix.

    An MP4 needs PyAV; without it the caller is told to ask for ``--video gif``. GIF and
    WebP go through Pillow. The file appears only once it is complete.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        if suffix == ".mp4":
            _write_mp4(frames, tmp, fps)
        elif suffix in (".gif", ".webp"):
            _write_pillow(frames, tmp, fps, suffix)
        else:
            raise PainterError(f"cannot write a video named {path}: use .mp4, .gif or .webp")
        os.replace(tmp, path)
    except OSError as exc:
        raise PainterError(f"cannot write {path}: {exc.strerror or exc}; choose a writable output location") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _uint8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a[..., :3])


def _write_mp4(frames: Iterable[np.ndarray], path: Path, fps: float) -> None:
    av = require_av()
    from fractions import Fraction

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = None
        for image in frames:
            a = _uint8(image)
            # yuv420p needs even sizes: pad by repeating the last row/column.
            h, w = a.shape[:2]
            a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            if stream is None:
                stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=rate)
                stream.width, stream.height = a.shape[1], a.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "18"} if stream.codec_context.name == "libx264" else {}
            for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)


def _write_pillow(frames: Iterable[np.ndarray], path: Path, fps: float, suffix: str) -> None:
    from PIL import Image

    images = [Image.fromarray(_uint8(f)) for f in frames]
    if not images:
        raise PainterError(f"no frames to write into {path}")
    duration = max(10, int(round(1000 / max(fps, 1e-3))))
    kwargs = {"lossless": True} if suffix == ".webp" else {"optimize": False}
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0, **kwargs)
