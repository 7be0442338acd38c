"""The painting engine as a separate process, for the Blender add-on.

Blender must never freeze or crash because of the engine, and its own Python usually has
no torch. So the add-on launches ``python -m core.app.worker`` (Blender's Python with
torch installed next to the extension, or any interpreter the user points at), writes
one request line on stdin and reads event lines from stdout as the painting grows. The
messages are defined in :mod:`core.contracts.protocol`; this module only serves them.

Engines: "painter" (a still, or with ``frames`` a shot, as ``paint-frames``), "stylize"
and "import". ``NEURAL_PAINTER_EXTRA_ENGINES`` may name a Python file whose ``ENGINES``
dict adds more (the tests' stand-ins, which do not ship with the add-on); an extra
engine is called as ``engine(request, image)`` and yields the same events as a real one.

Exit codes: 0 done or cancelled, 2 the user's input (or a request this engine cannot
read), 3 a crash or a bug.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..contracts import protocol as wire
from ..contracts.protocol import Request

#: A Python file whose ``ENGINES`` adds engines (test stand-ins); unset in production.
EXTRA_ENGINES_ENV = "NEURAL_PAINTER_EXTRA_ENGINES"


class Channel:
    """Writes events to the real stdout; anything else printed goes to stderr, so a stray
    print in the engine can never corrupt the protocol."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, event: wire.Event) -> None:
        line = event.to_json()
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass  # the add-on went away; nothing left to tell


def strokes_payload(strokes: Any) -> wire.Strokes:
    """A StrokeSet and its geometry: the add-on draws geometry without importing the
    engine (Blender's Python has no torch); the parameters ride along for Refine, and a
    brush's stencil for its material."""
    from ..model.brushes import stencil
    from ..model.texture import stroke_levels

    g = strokes.geometry()
    levels = stroke_levels(g.rgba[..., :3]) if g.textured else np.zeros(len(g), np.int64)
    brush = None if g.brush is None else stencil(g.brush)
    return wire.Strokes(strokes.to_json_dict(), wire.Geometry(g.points, g.radius, g.rgba, g.cap, float(g.softness),
                                                             bool(g.textured), np.asarray(levels, np.float32), brush,
                                                             None if g.brush is None else g.brush.name))


# --- engines ---------------------------------------------------------------------------------

def _painter_engine(request: Request, image: np.ndarray | None, init: Any) -> Iterator[Any]:
    if request.frames is not None:
        return _shot_engine(request)
    from ..painters.painter import paint

    assert image is not None
    if request.region is not None:
        return _region_engine(request, image, init)
    return paint(image, request.options, init=init, add_levels=request.add_levels)


def _region_engine(request: Request, image: np.ndarray, init: Any) -> Iterator[Any]:
    """Refine by region (``core.painters.region``): the painting read back is repainted
    only inside the mask or around the selected strokes."""
    from ..errors import PainterError
    from ..painters.region import load_mask, refine_region

    region = request.region
    assert region is not None
    if init is None:
        raise PainterError("refining a region needs the painting's strokes: select a painting made by "
                           "Neural Painter and try again")
    mask = load_mask(region.mask, init.width, init.height) if region.mask else None
    return refine_region(image, request.options, init, max(1, request.add_levels), mask, region.selected)


def _stylize_engine(request: Request, image: np.ndarray | None, init: Any) -> Iterator[Any]:
    """Restyle a finished painting (Blender's Restyle): the painting as read back is both
    the strokes to move and, rendered, the content to keep."""
    from ..errors import PainterError
    from ..painters.painter import stylize

    if init is None:
        raise PainterError("restyling needs the painting's strokes: select a painting made by "
                           "Neural Painter and try again")
    return stylize(init, request.options, content=None)


def _shot_engine(request: Request) -> Iterator[Any]:
    """Paint frames of a video, image folder or pattern with the temporal painter, as
    ``python -m core paint-frames`` does (``core.painters.shot.paint_shot``: the same
    resumable folder of per-frame JSONs, here the add-on's temporary folder)."""
    from ..errors import PainterError
    from ..io.video_io import open_source, parse_frames, require_cv2, retime
    from ..painters.shot import ShotStarted, paint_shot

    spec = request.frames
    assert spec is not None
    options = request.options.validate()
    topts = spec.temporal.validate()
    try:
        require_cv2()
    except PainterError:
        raise PainterError(f"painting a shot needs OpenCV (for the optical flow) in the engine's Python "
                           f"{sys.executable}: press Install Torch in the add-on's preferences (it brings OpenCV and "
                           "PyAV too), or install opencv-python-headless into the Python chosen there") from None
    source = open_source(spec.input, fps=spec.fps)
    first, last = parse_frames(spec.range, source.count)
    os.makedirs(spec.out, exist_ok=True)
    total = len(retime(first, last, source.fps, spec.to_fps)) if spec.to_fps else last - first + 1
    yield ShotStarted(first, last, total, float(spec.to_fps or source.fps), source.describe())
    yield from paint_shot(source, Path(spec.out), first, last, options, topts, to_fps=spec.to_fps)


def _import_engine(request: Request, image: np.ndarray | None, init: Any) -> Iterator[Any]:
    """Strokes JSON written elsewhere (``paint``, ``paint-frames``, a farm) as events.

    One file (frame number None) arrives as a painting does, one level event per level;
    frames of a shot as frame events. Every file is read and checked before the first
    event, so a broken or foreign file anywhere is reported (naming it) before Blender
    writes anything."""
    from ..errors import PainterError
    from ..model.strokes import StrokeSet
    from ..painters.events import Done, LevelDone
    from ..painters.shot import FrameDone, FrameStarted, ShotStarted

    if request.import_ is None:
        raise PainterError("the import request names no files; choose a strokes .json or a folder of frames")
    loaded = []
    for number, path in request.import_.files:
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
            part = strokes.take(np.flatnonzero(strokes.level == level))
            done.append(part)
            yield LevelDone(level=int(level), strokes=part, painted=StrokeSet.concat(done))
        yield Done(strokes=strokes, seconds=0.0)
        return
    numbers = [n for n, _, _ in loaded]
    if any(n is None for n in numbers):
        raise PainterError("a shot's files each need a frame number; import a still on its own")
    yield ShotStarted(min(numbers), max(numbers), len(loaded), 0.0, request.import_.name)
    for index, (number, _, strokes) in enumerate(loaded, 1):
        yield FrameStarted(int(number), index, len(loaded), "import")
        yield FrameDone(int(number), strokes, None, 0.0, True)


Engine = Callable[[Request, Any, Any], Iterator[Any]]
ENGINES: dict[str, Engine] = {"painter": _painter_engine, "stylize": _stylize_engine, "import": _import_engine}


def engines() -> dict[str, Any]:
    """The real engines, plus those of ``NEURAL_PAINTER_EXTRA_ENGINES`` when it is set."""
    extra = os.environ.get(EXTRA_ENGINES_ENV)
    if not extra:
        return dict(ENGINES)
    spec = importlib.util.spec_from_file_location("neural_painter_extra_engines", extra)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{EXTRA_ENGINES_ENV}={extra} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {**ENGINES, **module.ENGINES}


def _load(request: Request) -> np.ndarray:
    from ..errors import PainterError
    from ..io.image_io import load_reference

    if request.pixels:
        try:
            array = np.load(request.pixels, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PainterError(f"cannot read the pixels Blender handed over ({exc}); "
                               "try saving the image to a file and painting from that") from None
        return load_reference(array, request.options)
    if request.image:
        return load_reference(request.image, request.options)
    raise PainterError("no image given: choose an image file, an image in the blend file "
                       "or the camera as the source")


# --- engine events -> protocol events -------------------------------------------------------

class _Translator:
    """Turns what the painters yield into protocol events; one method per engine event."""

    def __init__(self) -> None:
        from ..painters import events as ev
        from ..painters import shot

        self.frame_at = (0, 1)  # (index, total) of the frame being painted
        self.frames_sent = 0
        self.ended = False
        self.table: dict[type, Callable[[Any], wire.Event | None]] = {
            shot.ShotStarted: lambda e: wire.ShotStarted(e.first, e.last, e.total, float(e.fps), e.source),
            shot.FrameStarted: self._frame_started,
            shot.FrameProgress: lambda e: wire.Progress(
                (self.frame_at[0] - 1 + float(e.fraction)) / max(1, self.frame_at[1]), frame=e.number),
            shot.FrameDone: self._frame_done,
            shot.Notice: lambda e: wire.Note(e.text),
            ev.LevelStarted: lambda e: wire.LevelStarted(e.level, e.levels, e.strokes),
            ev.Progress: lambda e: wire.Progress(float(e.fraction), e.level, float(e.loss)),
            ev.LevelDone: lambda e: wire.Level(e.level, strokes_payload(e.strokes)),
            ev.RefineStarted: lambda e: wire.RefineStarted(e.strokes, e.steps),
            ev.Refined: lambda e: wire.Refined(strokes_payload(e.strokes)),
            ev.Done: self._done,
        }

    def _frame_started(self, e: Any) -> wire.Event:
        if e.how in ("scratch", "continue", "import"):
            self.frame_at = (e.index, e.total)
        return wire.FrameStarted(e.number, e.index, e.total, e.how)

    def _frame_done(self, e: Any) -> wire.Event | None:
        if not e.kept:  # warm-up frames of a farm chunk are not part of the shot
            return None
        self.frames_sent += 1
        return wire.Frame(e.number, self.frame_at[0], self.frame_at[1], int(e.strokes.meta.get("at", e.number)),
                          strokes_payload(e.strokes))

    def _done(self, e: Any) -> wire.Event:
        self.ended = True
        return wire.Done(float(e.seconds), strokes=len(e.strokes))

    def __call__(self, event: Any) -> wire.Event | None:
        return self.table[type(event)](event)


# --- serving one request ---------------------------------------------------------------------

def _hello() -> wire.Hello:
    info: dict[str, Any] = {"protocol": wire.PROTOCOL, "python": sys.version.split()[0], "numpy": np.__version__}
    try:
        import torch

        from ..model.texture import oil_images, wash_profile

        cuda = torch.cuda.is_available()
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        info.update(torch=torch.__version__, device="cuda" if cuda else "mps" if mps else "cpu",
                    texture=oil_images() / 255.0, wash=wash_profile(np.arange(201) * 0.01))
    except ImportError:
        pass
    return wire.Hello(**info)


def run(request: Request, channel: Channel, cancelled: Callable[[], bool]) -> int:
    """Serve one request; returns the exit code (0 done or cancelled, 2 user error, 3 bug)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        channel.send(wire.Error(f"torch is not installed for {sys.executable}: install it from the add-on "
                                "preferences, or choose a Python that has torch", "input"))
        return 2
    from ..errors import PainterError
    from ..model.brushes import brush_meta, load_brush
    from ..model.fit import reconcile
    from ..model.strokes import StrokeSet

    channel.send(_hello())
    gen = None
    try:
        table = engines()
        engine = table.get(request.engine)
        if engine is None:
            raise PainterError(f"unknown engine {request.engine!r}: this engine serves {', '.join(table)}")
        if request.engine in ENGINES and request.engine_args:
            raise PainterError(f"engine {request.engine!r} takes no engine_args; update the add-on and the engine "
                               "together")
        needs_image = request.engine not in ("stylize", "import") and request.frames is None
        image = _load(request) if needs_image else None
        init = None
        if request.init is not None:
            init = reconcile(StrokeSet.from_json_dict(request.init, source="the painting"), request.drawn)
            if request.engine == "painter" and request.options.brush:
                # Refine with a brush chosen: the whole painting is drawn with it, its
                # strokes so far too (without one, it keeps its own: the painter's rule).
                init.meta["brush"] = brush_meta(load_brush(request.options.brush))
            channel.send(wire.Init(strokes_payload(init)))
        start = time.perf_counter()
        gen = engine(request, image, init)
        translate = _Translator()
        for event in gen:
            if cancelled():
                gen.close()
                channel.send(wire.Cancelled())
                return 0
            out = translate(event)
            if out is not None:
                channel.send(out)
        if not translate.ended:  # a shot's generators end without a Done: every frame is in
            channel.send(wire.Done(time.perf_counter() - start, frames=translate.frames_sent))
        return 0
    except PainterError as exc:
        channel.send(wire.Error(str(exc), "input"))
        return 2
    except KeyboardInterrupt:
        channel.send(wire.Cancelled())
        return 0
    except MemoryError:
        channel.send(wire.Error("the painting engine ran out of memory; use fewer strokes or a smaller working size",
                                "engine"))
        return 3
    except Exception as exc:  # a bug: say so in one line, details to stderr
        traceback.print_exc(file=sys.stderr)
        detail = str(exc).splitlines()[0] if str(exc) else "no details"
        channel.send(wire.Error(f"the painting engine failed ({type(exc).__name__}: {detail}); please report it "
                                "with the system console output", "engine"))
        return 3
    finally:
        if gen is not None:
            gen.close()


def main() -> int:
    channel = Channel()
    try:
        request = Request.from_json(sys.stdin.readline())
    except wire.ProtocolError as exc:
        channel.send(wire.Error(str(exc), "input"))
        return 2
    stop = threading.Event()

    def watch_stdin() -> None:
        # "cancel" or end of input (the add-on closed the pipe or died) stops the run.
        for cmd in sys.stdin:
            if cmd.strip() == wire.CANCEL:
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
