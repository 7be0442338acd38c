"""The painting engine as a separate process, for the Blender add-on.

Blender must never freeze or crash because of the engine, and its own Python usually has
no torch. So the add-on launches ``python -m core.worker`` (Blender's Python with torch
installed next to the extension, or any interpreter the user points at), sends one JSON
request line on stdin and reads JSON-lines events from stdout as the painting grows.

Protocol (one JSON object per line, version 1):

request (stdin, first line)::

    {"protocol": 1,
     "image": "/path/to/file.png"  |  "pixels": "/path/to/array.npy"   (HxWx3/4 sRGB floats;
                                               not needed by "stylize"),
     "options": {PaintOptions fields},        (style_image, style_mode, style_weight,
                                               style_features, vgg_weights and allow_download
                                               turn on the style loss; allow_download is
                                               true only after the user agreed to fetch
                                               VGG-16, see the add-on's operators.py)
     "init": {StrokeSet JSON} | null,        (Refine, Restyle: the painting read back from Blender)
     "drawn": [stroke, ...] | null,           (Refine, Restyle: strokes as they are drawn now,
                                               see reconcile())
     "add_levels": 0,
     "frames": {"input": video | folder | pattern, "range": "A-B" | null, "out": folder,
                "fps": source rate | null, "to_fps": playback rate | null (retime, see
                core.video_io.retime), "temporal": {TemporalOptions fields}} | null,
                                              (a shot: no image; see "frame" below)
     "import": {"files": [[frame number | null, path], ...], "name": str},
                                              (engine "import" only)
     "engine": "painter" | "stylize" | "import" | "random"}
        "painter": paint the image (on top of init if given), or with "frames" paint
                   the shot with core.shot.paint_shot (as `paint-frames`, into "out");
        "import": read strokes JSON files, all checked before the first event: one
                  file with frame number null arrives as a painting ("level" events,
                  "done"), frames of a shot as "frame" events;
        "stylize": restyle init (needs init and options.style_image) with
                   core.painter.stylize, keeping the painting's own look as content:
                   one "level" event holding every stroke, same count and order;
        "random": a test stand-in, see _random_engine (with "frames": _random_shot).

after the request, a line "cancel" (or closing stdin, or SIGTERM) stops the run; every
level already sent stays valid.

events (stdout)::

    {"event": "hello", "protocol": 1, "torch": "2.x", "device": "cpu", "texture": array, "wash": array,
     "python": "3.13.0", "numpy": "2.2.6"}
    {"event": "init", "strokes": {StrokeSet JSON}, "geometry": {...}}   (Refine only)
    {"event": "level_started", "level": 1, "levels": 3, "strokes": 40}
    {"event": "progress", "fraction": 0.4, "level": 1, "loss": 0.12}
    {"event": "level", "level": 1, "strokes": {StrokeSet JSON}, "geometry": {...}}
        ("stylize": one such event, level = the highest level, with all strokes, each
         keeping its own level; geometry["levels"]: each oil stroke's texture level)
    {"event": "refine_started", "strokes": 120, "steps": 60}
    {"event": "refined", "strokes": {StrokeSet JSON}, "geometry": {...}}
        (the final pass moved every stroke of the run: replaces what the "level" events
         gave, same strokes in the same order)
    {"event": "shot", "first": 1, "last": 48, "frames": 48, "fps": 24.0, "source": "..."}
    {"event": "frame_started", "number": 5, "index": 5, "total": 48, "how": "continue"}
    {"event": "progress", "fraction": 0.1, "frame": 5, "level": 0, "loss": 0.0}   (of the whole shot)
    {"event": "frame", "number": 5, "index": 5, "total": 48, "at": 5, "strokes": {StrokeSet JSON with ids},
     "geometry": {...}}                        (a finished frame; source frame numbers; "at":
                                               where its drawing starts at the playback rate,
                                               the number itself unless retimed)
    {"event": "note", "text": "..."}          (a damaged frame file moved aside, ...)
    {"event": "done", "seconds": 12.3, "strokes": 120}   (a shot: "frames": n instead)
    {"event": "cancelled"}
    {"event": "error", "message": "one line naming the problem and the fix",
     "kind": "input" | "engine"}   ("input": the user's input or set-up is wrong, as the
                                    engine CLI's exit code 2; "engine": a crash or a bug)

Arrays travel as {"shape": [...], "data": base64 of little-endian float32}: a 10,000-stroke
level is a few megabytes, which JSON number lists would make several times larger and
slower to parse.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

PROTOCOL = 1


def encode_array(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a, dtype="<f4")
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(d["data"]), dtype="<f4").reshape(d["shape"]).copy()


class Channel:
    """Writes events to the real stdout; anything else printed goes to stderr, so a stray
    print in the engine can never corrupt the protocol."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, separators=(",", ":"))
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass  # the add-on went away; nothing left to tell


def geometry_fields(strokes: Any) -> dict[str, Any]:
    """A StrokeSet plus its geometry: the add-on draws geometry without importing core
    (Blender's Python has no torch); the parameters ride along for Refine."""
    from .texture import stroke_levels

    g = strokes.geometry()
    return {"strokes": strokes.to_json_dict(),
            "geometry": {"points": encode_array(g.points), "radius": encode_array(g.radius),
                         "rgba": encode_array(g.rgba), "cap": g.cap, "softness": float(g.softness),
                         "textured": bool(g.textured),
                         # Oil: the texture level (material) of each stroke.
                         "levels": encode_array(stroke_levels(g.rgba[..., :3]) if g.textured
                                                else np.zeros(len(g), np.int64))}}


# --- Refine: strokes as drawn -> parameters -------------------------------------------

def _fit_params(style: str, pts: np.ndarray, rad: np.ndarray, rgba: np.ndarray,
                width: int, height: int) -> np.ndarray:
    """Parameters whose geometry best matches a stroke as it is drawn now (moved, recoloured,
    reshaped or hand-drawn), the inverse of core.styles.to_geometry."""
    from .styles import CURVE_POINTS, MIN_RADIUS, canvas_extent, colour_slices, get_style

    spec = get_style(style)
    ex, ey = canvas_extent(width, height)
    p = np.zeros(spec.dim, np.float32)
    k = len(pts)
    c0_idx, c2_idx = colour_slices(spec)
    p[c0_idx] = rgba[0, :3]
    p[c2_idx] = rgba[-1, :3] if c0_idx != c2_idx else rgba[:, :3].mean(0)
    p[spec.params.index("a")] = float(np.clip(rgba[:, 3].max(), 0, 1))
    if spec.params[:6] == ("x0", "y0", "x1", "y1", "x2", "y2"):
        # Least-squares quadratic Bezier through the points: at core's own sampling (even t)
        # when the point count is unchanged, else t by arc length (a hand-drawn stroke).
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1) if k > 1 else np.zeros(0)
        if k == CURVE_POINTS:
            t = np.linspace(0.0, 1.0, k)
        else:
            t = np.concatenate([[0.0], np.cumsum(seg)]) / max(float(seg.sum()), 1e-9) if k > 1 else np.zeros(1)
        p0, p2 = pts[0], pts[-1]
        w = 2 * (1 - t) * t
        rest = pts - ((1 - t) ** 2)[:, None] * p0 - (t ** 2)[:, None] * p2
        p1 = (w[:, None] * rest).sum(0) / max(float((w * w).sum()), 1e-9) if k > 2 else (p0 + p2) / 2
        scale = np.array([ex, ey], np.float32)
        p[0:6] = np.concatenate([p0 / scale, p1 / scale, p2 / scale])
        p[6], p[7] = max(float(rad[0]), MIN_RADIUS), max(float(rad[-1]), MIN_RADIUS)
    else:
        a, b = pts[0], pts[-1]
        d = b - a
        length = float(np.hypot(*d))
        half_short = float(np.mean(rad))
        # Tape points sit on the box ends; oil points are pulled in by the radius.
        long_side = length if spec.cap == "flat" else length + 2 * half_short
        theta = (np.arctan2(d[1], d[0]) / np.pi) % 1.0 if length > 0 else 0.0
        p[0], p[1] = (a[0] + b[0]) / 2 / ex, (a[1] + b[1]) / 2 / ey
        p[2], p[3] = max(long_side, 2 * half_short), 2 * half_short
        p[4] = theta
    return np.clip(p, 0.0, 1.0)


def reconcile(init: Any, drawn: list[dict[str, Any]] | None) -> Any:
    """The painting as the artist left it. ``drawn`` lists the strokes in the Blender
    object (painting order), each with its stored ``params`` (null if drawn by hand) and
    its current ``points``/``radius``/``rgba`` in core's long-side units. Strokes whose
    geometry still matches their parameters keep them exactly; edited or new strokes are
    re-fitted; deleted strokes are simply absent."""
    from .strokes import StrokeSet
    from .styles import to_geometry

    if drawn is None:
        return init
    rows, levels = [], []
    for s in drawn:
        pts = np.asarray(s["points"], np.float32).reshape(-1, 2)
        rad = np.asarray(s["radius"], np.float32).reshape(-1)
        rgba = np.asarray(s["rgba"], np.float32).reshape(-1, 4)
        params = s.get("params")
        if params is not None:
            params = np.asarray(params, np.float32)
            g = to_geometry(init.style, params[None], init.width, init.height)
            same = (g.points.shape[1] == len(pts)
                    and np.allclose(g.points[0], pts, atol=2e-4)
                    and np.allclose(g.radius[0], rad, atol=2e-4, rtol=1e-3)
                    and np.allclose(g.rgba[0], rgba, atol=3e-3))
            if same:
                rows.append(params)
                levels.append(int(s.get("level", 1)))
                continue
        rows.append(_fit_params(init.style, pts, rad, rgba, init.width, init.height))
        levels.append(int(s.get("level", 1)))
    dim = init.params.shape[1]
    return StrokeSet(init.style, init.width, init.height,
                     np.asarray(rows, np.float32).reshape(-1, dim), np.asarray(levels, np.int32),
                     init.background, dict(init.meta))


# --- engines ---------------------------------------------------------------------------

def _random_engine(request: dict[str, Any], image: np.ndarray) -> Iterator[Any]:
    """A stand-in engine for tests of the Blender side: random strokes, level by level,
    with the painter's event sequence. ``fail_after_level`` kills the process abruptly
    (a crashed worker); ``delay`` slows it down (so a test can cancel mid-run);
    ``hang_after_level`` starts a step that never ends (a long download or level), which
    only SIGTERM stops, or with ``ignore_sigterm`` only SIGKILL."""
    import torch

    from .events import Done, LevelDone, LevelStarted, Progress
    from .strokes import StrokeSet
    from .styles import get_style, random_params

    opts = request.get("options", {})
    style = opts.get("style", "oil")
    total = int(opts.get("strokes", 60))
    levels = int(opts.get("levels") or 2)
    size = int(opts.get("size", 128))
    h, w = image.shape[:2]
    s = size / max(h, w)
    width, height = max(1, round(w * s)), max(1, round(h * s))
    gen = torch.Generator().manual_seed(int(opts.get("seed", 0)))
    spec = get_style(style)
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
    choice = opts.get("background", "white")
    bg = (tuple(float(c) for c in choice) if isinstance(choice, (list, tuple)) else named.get(choice)) \
        or tuple(float(c) for c in image.reshape(-1, 3).mean(0))
    done: list[Any] = []
    delay = float(request.get("delay", 0.0))
    start = time.perf_counter()
    counts = [total // levels + (1 if i < total % levels else 0) for i in range(levels)]
    for i, n in enumerate(counts):
        level = i + 1
        yield LevelStarted(level=level, levels=levels, strokes=n)
        for step in range(3):
            time.sleep(delay)
            yield Progress(fraction=(i + (step + 1) / 3) / levels, level=level, loss=1.0 / (level + step))
        params = random_params(spec, n, gen, max_size=0.6 / level).numpy()
        part = StrokeSet(style, width, height, params, np.full(n, level), bg, {"engine": "random"})
        done.append(part)
        yield LevelDone(level=level, strokes=part, painted=StrokeSet.concat(done))
        if request.get("fail_after_level") == level:
            os._exit(9)
        if request.get("hang_after_level") == level:
            if request.get("ignore_sigterm"):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
    yield Done(strokes=StrokeSet.concat(done), seconds=time.perf_counter() - start)


def _options(request: dict[str, Any]) -> Any:
    """PaintOptions from the request (fields this core does not know are ignored)."""
    from .painter import PaintOptions

    opts = dict(request.get("options", {}))
    known = set(PaintOptions.__dataclass_fields__)
    options = PaintOptions(**{k: v for k, v in opts.items() if k in known})
    if isinstance(options.background, list):
        options.background = tuple(options.background)  # type: ignore[assignment]
    return options


def _painter_engine(request: dict[str, Any], image: np.ndarray, init: Any) -> Iterator[Any]:
    from .painter import paint

    return paint(image, _options(request), init=init, add_levels=int(request.get("add_levels", 0)))


def _stylize_engine(request: dict[str, Any], init: Any) -> Iterator[Any]:
    """Restyle a finished painting (Blender's Restyle): the painting as read back is both
    the strokes to move and, rendered, the content to keep."""
    from .errors import PainterError
    from .painter import stylize

    if init is None:
        raise PainterError("restyling needs the painting's strokes: select a painting made by "
                           "Neural Painter and try again")
    return stylize(init, _options(request), content=None)


# --- shots: one painting per frame --------------------------------------------------------

@dataclass
class ShotStarted:
    """What a shot run will send: frames first..last (``total`` of them) of ``source``."""

    first: int
    last: int
    total: int
    fps: float
    source: str


def _shot_engine(request: dict[str, Any]) -> Iterator[Any]:
    """Paint frames of a video, image folder or pattern with the temporal painter, as
    ``python -m core paint-frames`` does (``core.shot.paint_shot``: the same resumable
    folder of per-frame JSONs, here the add-on's temporary folder)."""
    from .errors import PainterError
    from .shot import paint_shot
    from .video import TemporalOptions
    from .video_io import open_source, parse_frames, require_cv2, retime

    spec = request["frames"]
    options = _options(request)
    options.validate()
    known = set(TemporalOptions.__dataclass_fields__)
    topts = TemporalOptions(**{k: v for k, v in dict(spec.get("temporal") or {}).items() if k in known})
    topts.validate()
    try:
        require_cv2()
    except PainterError:
        raise PainterError(f"painting a shot needs OpenCV (for the optical flow) in the engine's Python "
                           f"{sys.executable}: press Install Torch in the add-on's preferences (it brings OpenCV and "
                           "PyAV too), or install opencv-python-headless into the Python chosen there") from None
    source = open_source(spec["input"], fps=spec.get("fps"))
    first, last = parse_frames(spec.get("range") or None, source.count)
    out = spec["out"]
    os.makedirs(out, exist_ok=True)
    to_fps = spec.get("to_fps")
    total = len(retime(first, last, source.fps, float(to_fps))) if to_fps else last - first + 1
    yield ShotStarted(first, last, total, float(to_fps or source.fps), source.describe())
    yield from paint_shot(source, Path(out), first, last, options, topts, to_fps=spec.get("to_fps"))


def _random_shot(request: dict[str, Any]) -> Iterator[Any]:
    """A stand-in for :func:`_shot_engine` in tests of the Blender side (no OpenCV, no
    optimiser): ``frames.count`` frames of random strokes that keep their ids from frame
    to frame, drift a little, and lose one stroke and gain one per frame; ``delay``
    seconds per frame, ``fail_after_frame`` kills the process."""
    import torch

    from .shot import FrameDone, FrameProgress, FrameStarted
    from .strokes import StrokeSet
    from .styles import get_style, random_params

    spec = request["frames"]
    opts = request.get("options", {})
    spec_style = get_style(opts.get("style", "marker"))
    count = int(spec.get("count", 4))
    total = int(opts.get("strokes", 20))
    gen = torch.Generator().manual_seed(int(opts.get("seed", 0)))
    delay = float(request.get("delay", 0.0))
    size = int(opts.get("size", 64))
    width, height = size, max(1, size * 2 // 3)
    yield ShotStarted(1, count, count, 24.0, f"random shot ({count} frames)")
    params = random_params(spec_style, total, gen, max_size=0.4).numpy()
    levels = np.repeat([1, 2], [total // 2, total - total // 2]).astype(np.int32)
    ids = 100_000 + np.arange(total, dtype=np.int64)
    for number in range(1, count + 1):
        yield FrameStarted(number, number, count, "scratch" if number == 1 else "continue")
        time.sleep(delay)
        yield FrameProgress(number, 0.5)
        if number > 1:
            params = np.clip(params + 0.003, 0, 1)
            born = random_params(spec_style, 1, gen, max_size=0.3).numpy()
            params = np.concatenate([params[1:], born])
            levels = np.concatenate([levels[1:], [2]]).astype(np.int32)
            ids = np.concatenate([ids[1:], [number * 100_000]])
        strokes = StrokeSet(spec_style.name, width, height, params, levels, (1.0, 1.0, 1.0),
                            {"engine": "random", "frame": number}, ids)
        yield FrameDone(number, strokes, None, delay, True)
        if request.get("fail_after_frame") == number:
            os._exit(9)


def _import_engine(request: dict[str, Any]) -> Iterator[Any]:
    """Strokes JSON written elsewhere (``paint``, ``paint-frames``, a farm) as events.

    One file (frame number None) arrives as a painting does, one "level" event per level;
    frames of a shot as "frame" events. Every file is read and checked before the first
    event, so a broken or foreign file anywhere is reported (naming it) before Blender
    writes anything."""
    from .errors import PainterError
    from .events import Done, LevelDone
    from .shot import FrameDone, FrameStarted
    from .strokes import StrokeSet

    files = [(None if n is None else int(n), str(p)) for n, p in request["import"]["files"]]
    loaded = []
    for number, path in files:
        strokes = StrokeSet.load_json(path)
        if loaded:
            _, first_path, first = loaded[0]
            if (strokes.style, strokes.width, strokes.height) != (first.style, first.width, first.height):
                raise PainterError(f"{path} is a {strokes.style} painting of {strokes.width}x{strokes.height} px but "
                                   f"{first_path} is a {first.style} painting of {first.width}x{first.height} px: "
                                   "a shot is one painting per frame on one canvas; import them separately")
        loaded.append((number, path, strokes))
    if len(loaded) == 1 and loaded[0][0] is None:
        strokes = loaded[0][2]
        done = []
        for level in sorted(set(strokes.level.tolist())):
            idx = np.flatnonzero(strokes.level == level)
            part = StrokeSet(strokes.style, strokes.width, strokes.height, strokes.params[idx], strokes.level[idx],
                             strokes.background, dict(strokes.meta), None if strokes.ids is None else strokes.ids[idx])
            done.append(part)
            yield LevelDone(level=int(level), strokes=part, painted=StrokeSet.concat(done))
        yield Done(strokes=strokes, seconds=0.0)
        return
    numbers = [n for n, _, _ in loaded]
    yield ShotStarted(min(numbers), max(numbers), len(loaded), 0.0, request["import"].get("name", "strokes files"))
    for index, (number, _, strokes) in enumerate(loaded, 1):
        yield FrameStarted(int(number), index, len(loaded), "import")
        yield FrameDone(int(number), strokes, None, 0.0, True)


def _load(request: dict[str, Any]) -> np.ndarray:
    from .errors import PainterError
    from .image_io import load_image

    opts = request.get("options", {})
    bg = opts.get("background", "white")
    composite = tuple(bg) if isinstance(bg, (list, tuple)) else (0.0, 0.0, 0.0) if bg == "black" else (1.0, 1.0, 1.0)
    max_side = max(16, int(opts.get("size", 512)))
    if request.get("pixels"):
        path = request["pixels"]
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PainterError(f"cannot read the pixels Blender handed over ({exc}); "
                               "try saving the image to a file and painting from that") from None
        return load_image(array, max_side=max_side, background=composite)
    if request.get("image"):
        return load_image(request["image"], max_side=max_side, background=composite)
    raise PainterError("no image given: choose an image file, an image in the blend file "
                       "or the camera as the source")


def _hello(channel: Channel, request: dict[str, Any]) -> None:
    info: dict[str, Any] = {"protocol": PROTOCOL, "python": sys.version.split()[0], "numpy": np.__version__}
    try:
        import torch

        from .texture import oil_images, wash_profile

        info["torch"] = torch.__version__
        cuda = torch.cuda.is_available()
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        info["device"] = "cuda" if cuda else "mps" if mps else "cpu"
        # Oil's texture levels as 8-bit images [levels, rows, cols, RGBA] (0..1 here):
        # Blender's oil materials carry exactly these.
        info["texture"] = encode_array(oil_images() / 255.0)
        # A watercolour's opacity across it at 0, 0.01, ... 2 radii (Blender's wash image).
        info["wash"] = encode_array(wash_profile(np.arange(201) * 0.01))
    except ImportError:
        info["torch"] = None
    channel.send("hello", **info)


def run(request: dict[str, Any], channel: Channel, cancelled: Callable[[], bool]) -> int:
    """Serve one request; returns the exit code (0 done or cancelled, 2 user error, 3 bug)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        channel.send("error", message=f"torch is not installed for {sys.executable}: install it from "
                                      "the add-on preferences, or choose a Python that has torch", kind="input")
        return 2
    from .errors import PainterError
    from .strokes import StrokeSet

    _hello(channel, request)
    gen = None
    try:
        engine = request.get("engine", "painter")
        shot = engine == "import" or bool(request.get("frames"))
        image = None if engine == "stylize" or shot else _load(request)
        init = None
        if request.get("init") is not None:
            init = reconcile(StrokeSet.from_json_dict(request["init"], source="the painting"),
                             request.get("drawn"))
            channel.send("init", **geometry_fields(init))
        if engine == "import":
            gen = _import_engine(request)
        elif shot:
            gen = _random_shot(request) if engine == "random" else _shot_engine(request)
        elif engine == "stylize":
            gen = _stylize_engine(request, init)
        elif engine == "random":
            assert image is not None
            gen = _random_engine(request, image)
        else:
            assert image is not None
            gen = _painter_engine(request, image, init)
        from .events import Done, LevelDone, LevelStarted, Progress, Refined, RefineStarted
        from .shot import FrameDone, FrameProgress, FrameStarted, Notice

        start = time.perf_counter()
        frames_sent = 0
        ended = False
        at = (0, 1)  # (index, total) of the frame being painted
        for ev in gen:
            if cancelled():
                gen.close()
                channel.send("cancelled")
                return 0
            if isinstance(ev, ShotStarted):
                channel.send("shot", first=ev.first, last=ev.last, frames=ev.total, fps=ev.fps, source=ev.source)
            elif isinstance(ev, FrameStarted):
                if ev.how in ("scratch", "continue", "import"):
                    at = (ev.index, ev.total)
                channel.send("frame_started", number=ev.number, index=ev.index, total=ev.total, how=ev.how)
            elif isinstance(ev, FrameProgress):
                channel.send("progress", fraction=(at[0] - 1 + float(ev.fraction)) / max(1, at[1]),
                             frame=ev.number, level=0, loss=0.0)
            elif isinstance(ev, FrameDone):
                if ev.kept:  # warm-up frames of a farm chunk are not part of the shot
                    frames_sent += 1
                    channel.send("frame", number=ev.number, index=at[0], total=at[1],
                                 at=int(ev.strokes.meta.get("at", ev.number)),
                                 **geometry_fields(ev.strokes))
            elif isinstance(ev, Notice):
                channel.send("note", text=ev.text)
            elif isinstance(ev, LevelStarted):
                channel.send("level_started", level=ev.level, levels=ev.levels, strokes=ev.strokes)
            elif isinstance(ev, Progress):
                channel.send("progress", fraction=float(ev.fraction), level=ev.level, loss=float(ev.loss))
            elif isinstance(ev, LevelDone):
                channel.send("level", level=ev.level, **geometry_fields(ev.strokes))
            elif isinstance(ev, RefineStarted):
                channel.send("refine_started", strokes=ev.strokes, steps=ev.steps)
            elif isinstance(ev, Refined):
                # Every stroke of the run moved: same strokes, same order, new geometry.
                channel.send("refined", **geometry_fields(ev.strokes))
            elif isinstance(ev, Done):
                channel.send("done", seconds=float(ev.seconds), strokes=len(ev.strokes))
                ended = True
        if shot and not ended:  # a shot's generators end without a Done: every frame is in
            channel.send("done", seconds=time.perf_counter() - start, frames=frames_sent)
        return 0
    except PainterError as exc:
        channel.send("error", message=str(exc), kind="input")
        return 2
    except KeyboardInterrupt:
        channel.send("cancelled")
        return 0
    except MemoryError:
        channel.send("error", message="the painting engine ran out of memory; use fewer strokes or a "
                                      "smaller working size", kind="engine")
        return 3
    except Exception as exc:  # a bug: say so in one line, details to stderr
        traceback.print_exc(file=sys.stderr)
        channel.send("error", message=f"the painting engine failed ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else 'no details'}); "
                                      "please report it with the system console output", kind="engine")
        return 3
    finally:
        if gen is not None:
            gen.close()


def main() -> int:
    channel = Channel()
    line = sys.stdin.readline()
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except ValueError:
        channel.send("error", message="the worker got no valid request; update the add-on and core together")
        return 2
    if request.get("protocol", PROTOCOL) != PROTOCOL:
        channel.send("error", message=f"protocol {request.get('protocol')} is not supported by this "
                                      f"worker (speaks {PROTOCOL}); update the add-on and core together")
        return 2
    stop = threading.Event()

    def watch_stdin() -> None:
        # "cancel" or end of input (the add-on closed the pipe or died) stops the run.
        for cmd in sys.stdin:
            if cmd.strip() == "cancel":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    def on_term(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # asked twice: stop even inside a long step
        stop.set()

    try:
        signal.signal(signal.SIGTERM, on_term)
    except (ValueError, OSError):
        pass
    return run(request, channel, stop.is_set)


if __name__ == "__main__":
    sys.exit(main())
