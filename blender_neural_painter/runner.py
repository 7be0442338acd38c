"""One painting run: worker events in, Grease Pencil out, on Blender's main thread.

The same class serves the modal operator (polled from a timer, so Blender stays
responsive), the synchronous operator call and the headless command (a blocking loop:
timers never fire in ``--background``), so all three paint through one code path.

However a run ends, it ends through :meth:`PaintJob._close` (a normal end or a cancel)
or :meth:`PaintJob.abort` (anything unexpected): a failure never leaves half a painting,
a running worker or an exception escaping into Blender's event loop.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable

import numpy as np

from . import gp_data, gpencil, record
from .bridge import Worker
from .contracts import protocol as wire
from .placement import Placement


def decode_batch(payload: Any, level: int | None = None, first_order: int = 0) -> gp_data.StrokeBatch:
    """Strokes of an event (``protocol.Strokes``) as one batch: geometry to draw,
    parameters for Refine, painting order from ``first_order`` on."""
    strokes, geo = payload.strokes["strokes"], payload.geometry
    n = geo.points.shape[0]
    params = np.asarray([s["params"] for s in strokes], np.float32).reshape(n, -1)
    level = int(level if level is not None else strokes[0].get("level", 1) if n else 1)
    ids = np.asarray([s["id"] for s in strokes], np.int64) if n and all("id" in s for s in strokes) else None
    return gp_data.StrokeBatch(level, geo.points, geo.radius, geo.rgba, params,
                               np.arange(first_order, first_order + n), geo.cap, geo.softness, geo.textured,
                               np.rint(geo.levels).astype(np.int64).reshape(n), ids, geo.brush, geo.brush_name)


def stroke_levels(payload: Any) -> np.ndarray:
    """The level of each stroke of an event (Refine's "init" spans several)."""
    return np.asarray([s.get("level", 1) for s in payload.strokes["strokes"]], np.int32)


class PaintJob:
    """Drives a worker and writes what it sends into a new painting object."""

    #: What the operator reports when a run ends with nothing to show.
    NOTHING_DONE = "Cancelled before any stroke was painted; nothing was added"

    def __init__(self, context: Any, request: Any, *, name: str = "Painting", placement: Placement | None = None,
                 replay: gp_data.Replay | None = None, python: str | None = None, site_dir: str | None = None,
                 frame: int | None = None, reference: dict[str, Any] | None = None, reference_block: Any = None,
                 own_materials: bool = False, replay_mask: np.ndarray | None = None) -> None:
        self.context = context
        self.scene = context.scene
        self.request = request
        self.name = name
        self.placement = placement or Placement()
        self.replay = replay
        self.replay_mask = replay_mask
        start = replay.start if replay is not None else self.scene.frame_start
        self.frame = int(frame if frame is not None else min(self.scene.frame_start, start))
        #: What the painting keeps of how it was painted (``record``): Refine uses it.
        self.reference, self.reference_block = reference, reference_block
        self.worker = Worker(request, python=python, site_dir=site_dir)
        self.created = gp_data.Created(own={} if own_materials else None)
        self.obj: Any = None
        self.canvas: gp_data.Canvas | None = None
        self.texture = gp_data.Textures()
        self.fraction = 0.0
        self.status = "Starting the painting engine..."
        self.levels_total = 0
        self.strokes_written = 0
        self.next_order = 0
        self.error: str | None = None
        #: "input" when the user's input or set-up is at fault (the headless command's
        #: exit code 2, as the engine CLI's), "engine" for crashes and bugs.
        self.error_kind: str | None = None
        #: Stop the worker without waiting (Blender's UI); scripts and the headless
        #: command wait, so no process outlives the call.
        self.wait_for_worker = True
        self.closed = False
        self.cancelled = False
        self.cancel_requested = False
        self.done = False
        self.engine_info: dict[str, Any] = {}
        #: StrokeSet JSON of every level received (and of Refine's reconciled start), so
        #: callers and tests can compare the object with what the engine produced.
        self.received: list[dict[str, Any]] = []
        self.init_strokes: dict[str, Any] | None = None
        #: What to do with each kind of event (subclasses add and replace handlers).
        self.handlers: dict[type, Callable[[Any], None]] = {
            wire.Hello: self._on_hello, wire.Init: self._on_init, wire.LevelStarted: self._on_level_started,
            wire.Progress: self._on_progress, wire.Level: self._on_level, wire.RefineStarted: self._on_refine_started,
            wire.Refined: self._refine_written, wire.Done: self._on_done, wire.Cancelled: self._on_cancelled,
            wire.Error: self._on_error}

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        self.worker.start()

    def cancel(self) -> None:
        """Stop the engine; strokes already painted stay (as a normal, undoable result)."""
        self.cancel_requested = True
        self.status = "Cancelling..."
        self.worker.cancel()

    @property
    def finished(self) -> bool:
        return self.done or self.error is not None or self.cancelled

    def pump(self, timeout: float | None = 0.0) -> bool:
        """Handle the events that have arrived; True once the run is over. Never raises:
        anything going wrong while writing ends the run through :meth:`abort`."""
        if self.closed:
            return True
        try:
            if not self.finished:
                for ev in self.worker.poll(timeout):
                    self._handle(ev)
                    if self.finished:
                        break
            if not self.finished and self.worker.finished:
                # Output closed without "done": the process died (or was cancelled hard).
                if self.cancel_requested:
                    self.cancelled = True
                else:
                    self._fail(self.worker.crash_message(), "engine")
            if self.finished:
                self.closed = True
                self._close()
        except Exception as exc:
            self.abort(failure_message(exc))
        return self.finished

    def run_blocking(self, poll_seconds: float = 0.25) -> None:
        """The synchronous path (scripts, tests, headless): same events, foreground loop."""
        self.start()
        while not self.pump(timeout=poll_seconds):
            pass

    def abort(self, message: str) -> None:
        """End the run because something unexpected happened (a writer bug, the painting
        deleted or undone mid-run, Blender closing the operator): stop the engine, remove
        everything the run created so the scene is as before, and keep ``message`` (one
        line) as the error. Safe to call at any point, more than once."""
        if self.error is None:
            self._fail(message, "engine")
        self.closed = True
        self.obj = None
        try:
            self.worker.stop(wait=self.wait_for_worker)
        except Exception:  # the process may be gone already; nothing else to do
            traceback.print_exc(file=sys.stderr)
        try:
            gpencil.remove_created(self.created)
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def _close(self) -> None:
        self.worker.stop(wait=self.wait_for_worker)
        if self.error is not None:
            gpencil.remove_created(self.created)
            self.obj = None
            return
        if self.obj is not None and self.strokes_written == 0:
            gpencil.remove_created(self.created)  # cancelled before any stroke: leave nothing
            self.obj = None
            return
        if self.obj is not None:
            self._animate()
            self.status = (f"Cancelled: kept {self.strokes_written} strokes" if self.cancelled
                           else f"Done: {self.strokes_written} strokes")
            self.fraction = 1.0 if self.done else self.fraction

    def _fail(self, message: str, kind: str = "engine") -> None:
        self.error = " ".join(str(message).split())  # one line, whatever it came from
        self.error_kind = kind
        self.status = self.error

    # --- events ------------------------------------------------------------------------

    def _handle(self, ev: Any) -> None:
        handler = self.handlers.get(type(ev))
        if handler is not None:  # an event this kind of run has no use for is passed over
            handler(ev)

    def _on_hello(self, ev: Any) -> None:
        self.engine_info = {"torch": ev.torch, "device": ev.device, "protocol": ev.protocol, "python": ev.python,
                            "numpy": ev.numpy}
        if ev.texture is not None:
            self.texture.oil = ev.texture
        if ev.wash is not None:
            self.texture.wash = ev.wash
        self.status = f"Painting on {ev.device or 'cpu'}..."

    def _on_init(self, ev: Any) -> None:
        self.init_strokes = ev.payload.strokes
        self._write_strokes(ev.payload, by_level=True)

    def _on_level_started(self, ev: Any) -> None:
        self.levels_total = ev.levels
        self.status = f"Level {ev.level}/{ev.levels}: placing {ev.strokes} strokes"

    def _on_progress(self, ev: Any) -> None:
        self.fraction = ev.fraction
        self.status = f"Level {ev.level}/{self.levels_total or '?'}: loss {ev.loss:.4f}"

    def _on_level(self, ev: Any) -> None:
        self.received.append(ev.payload.strokes)
        self._write_strokes(ev.payload, by_level=False, level=ev.level)
        self.status = f"Level {ev.level} painted ({self.strokes_written} strokes)"

    def _on_refine_started(self, ev: Any) -> None:
        self.status = f"Refining all {ev.strokes} strokes together"

    def _on_done(self, ev: Any) -> None:
        self.done = True

    def _on_cancelled(self, ev: Any) -> None:
        self.cancelled = True

    def _on_error(self, ev: Any) -> None:
        self._fail(ev.message, ev.kind)

    def _ensure_object(self, strokes: dict[str, Any]) -> None:
        if self.obj is not None:
            return
        canvas = strokes["canvas"]
        brush = (strokes.get("meta") or {}).get("brush")  # kept on the painting for Refine and Restyle
        self.canvas = gp_data.Canvas(str(strokes["style"]), int(canvas["width"]), int(canvas["height"]),
                                     tuple(float(c) for c in canvas["background"]),  # type: ignore[arg-type]
                                     brush=brush if isinstance(brush, dict) else None)
        self.canvas.width_m, where = self.placement.resolve(self.scene, self.canvas)
        self.obj = gpencil.new_painting(self.context, self.placement.name or self.name, self.canvas, self.created,
                                        self.frame, **where)
        record.store(self.obj, self.reference, self.request.options.to_dict(), self.reference_block)

    def _write_strokes(self, payload: Any, by_level: bool, frame: int | None = None,
                       level: int | None = None) -> None:
        """Write an event's strokes: one level ("level"), or Refine's start ("init") and
        a shot's frame ("frame"), split by the level each stroke belongs to; on the
        drawings at ``frame`` (default: the run's)."""
        self._ensure_object(payload.strokes)
        assert self.canvas is not None
        batch = decode_batch(payload, level)
        if by_level:
            levels = stroke_levels(payload)
            parts = [(int(level), np.nonzero(levels == level)[0]) for level in sorted(set(levels.tolist()))]
        else:
            parts = [(batch.level, np.arange(len(batch)))]
        for level, idx in parts:
            part = batch.subset(idx, np.arange(self.next_order, self.next_order + idx.size))
            part.level = level
            gpencil.add_level(self.obj, part, self.canvas, self.created,
                              self.frame if frame is None else frame, self.texture)
            self.next_order += idx.size
            self.strokes_written += idx.size
        self.obj.data.update_tag()

    def _refine_written(self, ev: Any) -> None:
        """The engine's final pass moved every stroke: rewrite them in place (same
        strokes, order and layers). Were the run stopped before this, the strokes
        written level by level stand as they are."""
        if self.obj is None or self.canvas is None:
            return
        gpencil.replace_strokes(self.obj, self.canvas, decode_batch(ev.payload), self.created, self.texture)
        # What the painting holds now, level by level, as the level events gave it.
        by_level: dict[int, list[Any]] = {}
        for stroke in ev.payload.strokes["strokes"]:
            by_level.setdefault(int(stroke.get("level", 1)), []).append(stroke)
        self.received = [dict(ev.payload.strokes, strokes=by_level.get(int(d["strokes"][0]["level"]), []))
                         for d in self.received if d["strokes"]]

    def _animate(self) -> None:
        if self.replay is not None and self.canvas is not None:
            gpencil.apply_replay(self.obj, self.canvas, self.replay, self.created, self.replay_mask)


class ShotJob(PaintJob):
    """A painted shot: the worker sends one "frame" event per finished frame (painted by
    the temporal painter, or read from a folder of frame JSONs), and each becomes the
    drawings of one scene frame in a single Grease Pencil object, written by the same
    code as a still painting's levels. Source frame n lands on scene frame
    ``start + n - 1``, so the shot plays back one drawing per frame at the scene's rate;
    a shot painted for another rate (``--to-fps``, Match Scene Frame Rate) lands each
    drawing where the worker's "at" says it starts, and holds it until the next.
    Cancelled or stopped part-way, the finished frames stay."""

    NOTHING_DONE = "Cancelled before the first frame was finished; nothing was added"

    def __init__(self, context: Any, request: Any, *, start: int, **kwargs: Any) -> None:
        super().__init__(context, request, frame=start, **kwargs)
        self.handlers.update({wire.ShotStarted: self._on_shot, wire.FrameStarted: self._on_frame_started,
                              wire.Progress: self._on_frame_progress, wire.Frame: self._on_frame,
                              wire.Note: lambda ev: self.notes.append(ev.text)})
        self.start_frame = int(start)
        self.frames_total = 0
        #: Source frame numbers written, in order, the scene frames they landed on, and
        #: the notes to report at the end.
        self.numbers: list[int] = []
        self.placed: list[int] = []
        self.rate: float | None = None
        self.notes: list[str] = []

    def scene_frame(self, number: int, at: int | None = None) -> int:
        return self.start_frame + int(number if at is None else at) - 1

    def _on_shot(self, ev: Any) -> None:
        self.frames_total = ev.frames
        self.frame = self.scene_frame(ev.first)
        self.status = f"Frame 1 of {self.frames_total}: starting"

    def _on_frame_started(self, ev: Any) -> None:
        if ev.how in ("scratch", "continue"):
            self.status = (f"Frame {ev.index} of {ev.total}: painting source frame {ev.number}"
                           + (" from scratch" if ev.how == "scratch" else ""))

    def _on_frame_progress(self, ev: Any) -> None:
        self.fraction = ev.fraction

    def _on_frame(self, ev: Any) -> None:
        strokes = ev.payload.strokes
        self.received.append(strokes)
        frame = self.scene_frame(ev.number, ev.at)
        rate = (strokes.get("meta") or {}).get("rate")
        self.rate = float(rate) if isinstance(rate, (int, float)) else self.rate
        self.next_order = 0  # painting order is per frame
        self._write_strokes(ev.payload, by_level=True, frame=frame)
        gpencil.close_frame(self.obj, frame)
        self.numbers.append(ev.number)
        self.placed.append(frame)
        gpencil.mark_shot(self.obj, self.start_frame, self.numbers, self.rate)  # a shot from its first frame on
        total = ev.total or 1
        self.fraction = max(self.fraction, ev.index / total)
        self.status = f"Frame {ev.index} of {total} finished"

    def _close(self) -> None:
        super()._close()
        if self.obj is None or self.error is not None:
            return
        n = len(self.numbers)
        frames = f"{n} frame{'s' if n != 1 else ''}"
        span = f" on frames {self.placed[0]}-{self.placed[-1]}" if self.placed else ""
        self.status = (f"Cancelled: kept {frames} of {self.frames_total}{span}" if self.cancelled
                       else f"Done: {frames}{span}")
        if self.notes:
            self.status += "; " + "; ".join(self.notes)


class RestyleJob(PaintJob):
    """Restyle: the worker moves a finished painting's strokes towards a style image, and
    the result replaces the strokes of that same painting.

    Nothing is written until the engine says "done": a failed or cancelled restyle leaves
    the painting exactly as it was. ``unchanged`` is asked before writing, so edits made
    while a modal run was going on are never overwritten; a write that fails half way
    puts back a copy of the painting's data taken just before.
    """

    NOTHING_DONE = "Restyle cancelled; the painting is unchanged"

    def __init__(self, context: Any, request: Any, source: Any,
                 unchanged: Callable[[], bool], *, python: str | None = None,
                 site_dir: str | None = None) -> None:
        canvas = gpencil.painting_canvas(source)
        assert canvas is not None
        super().__init__(context, request, name=source.name, placement=Placement(width_m=canvas.width_m),
                         python=python, site_dir=site_dir, own_materials=gpencil.has_own_materials(source))
        if self.created.own is not None:  # the painting's own materials are rewritten, not new ones made
            self.created.own.update(gpencil.own_materials(source))
        self.source = source
        self.canvas = canvas
        self.unchanged = unchanged
        self.result: Any = None  # the restyled strokes (protocol.Strokes), written on Done only
        self.handlers.update({wire.Init: self._on_restyle_init, wire.LevelStarted: self._on_restyle_started,
                              wire.Progress: self._on_restyle_progress, wire.Level: self._on_restyled,
                              wire.Done: lambda ev: self._replace()})

    def _on_restyle_init(self, ev: Any) -> None:
        self.init_strokes = ev.payload.strokes
        self.status = "Restyling..."

    def _on_restyle_started(self, ev: Any) -> None:
        self.status = f"Restyling {ev.strokes} strokes"

    def _on_restyle_progress(self, ev: Any) -> None:
        self.fraction = ev.fraction
        self.status = f"Restyling: loss {ev.loss:.4f}"

    def _on_restyled(self, ev: Any) -> None:
        self.received.append(ev.payload.strokes)
        self.result = ev.payload

    def _replace(self) -> None:
        ev = self.result
        if ev is None:
            self._fail("the painting engine sent no restyled strokes; nothing was changed, please report it")
            return
        try:
            obj = self.source
            obj.name  # noqa: B018 - raises ReferenceError once the object is deleted
        except ReferenceError:
            self._fail("the painting was deleted while restyling; nothing was changed")
            return
        if not self.unchanged():
            self._fail("the painting was edited while restyling, so nothing was changed; run Restyle again",
                       "input")
            return
        assert self.canvas is not None
        batch = decode_batch(ev)
        n = len(batch)
        backup = obj.data.copy()
        try:
            gpencil.replace_strokes(obj, self.canvas, batch, self.created, self.texture)
        except ValueError as exc:
            gpencil.gp_datablocks().remove(backup)
            self._fail(f"the painting engine returned the wrong strokes ({exc}); nothing was changed, "
                       "please report it")
            return
        except Exception:
            broken, name = obj.data, obj.data.name
            obj.data = backup
            gpencil.gp_datablocks().remove(broken)
            backup.name = name
            raise
        gpencil.gp_datablocks().remove(backup)
        self.obj = obj
        self.strokes_written = n
        self.done = True

    def _close(self) -> None:
        self.worker.stop(wait=self.wait_for_worker)
        if self.error is not None or not self.done:
            gpencil.remove_created(self.created)  # only what a failed write may have added
            self.obj = None
            if self.error is None:
                self.status = self.NOTHING_DONE
            return
        self.status = f"Restyled {self.strokes_written} strokes"
        self.fraction = 1.0


def failure_message(exc: BaseException) -> str:
    """One line for an unexpected exception during a run (the traceback goes to the
    console for a bug report)."""
    if isinstance(exc, ReferenceError):
        return ("the painting was removed while it was being painted (deleted, or undone); "
                "the run was stopped and nothing was added")
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
    return f"writing the painting failed ({type(exc).__name__}: {text}); please report it with the system console"
