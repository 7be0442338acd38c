"""The one running job, and the one way every run ends.

Paint, Refine and Restyle share a single slot: the panel shows its progress and the
Cancel button finds it here. However a run ends (finished, cancelled, an engine error,
an exception anywhere in the modal loop, Blender closing the operator on quit or file
load) it goes through :func:`end`, which stops the worker without waiting for it,
removes the timer, clears the status text and the panel's progress and this slot and
deletes the temporary folder, each step on its own so one failing cannot skip the
others. A failure can therefore never leave a progress bar and a dead Cancel button
behind.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import UserError
from .runner import PaintJob

#: The reason given when Blender itself ends a run (quit, file load, window closed).
CLOSED_BY_BLENDER = ("Blender stopped the painting run (a file was loaded or Blender is closing); "
                     "nothing was added")


@dataclass
class Run:
    """A run from the moment it is accepted: its job (None while the camera source is
    still rendering), the camera render, its temporary folder and the UI it set up."""

    job: PaintJob | None = None
    render: Any = None  # camera.CameraRender while the camera source renders
    tmp: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="neural_painter_"))
    cancel_requested: bool = False
    ended: bool = False
    # What show() set up, for end() to take down.
    window_manager: Any = None
    timer: Any = None
    workspace: Any = None

    @property
    def status(self) -> str:
        if self.job is not None:
            return self.job.status
        if self.render is None:
            return "Starting the painting engine..."
        if self.cancel_requested:
            return "Cancelling the camera render..."
        return str(self.render.text)

    @property
    def fraction(self) -> float:
        """How far the run is: the painting's progress, or while a camera range renders,
        how many of its frames are rendered."""
        if self.job is not None:
            return self.job.fraction
        return float(getattr(self.render, "fraction", 0.0))

    def cancel(self) -> None:
        """Esc or the Cancel button: the job stops (escalating if it has to) and keeps the
        strokes painted so far; a camera render is cancelled by Blender's own Esc."""
        self.cancel_requested = True
        if self.job is None and self.render is not None:
            self.render.stop()
        if self.job is not None and not self.job.cancel_requested:
            self.job.cancel()


_SLOT: dict[str, Any] = {"run": None, "last": None}


def active() -> Run | None:
    return _SLOT["run"]


def active_job() -> PaintJob | None:
    run = _SLOT["run"]
    return run.job if run is not None else None


def last_job() -> PaintJob | None:
    """The most recent job that ended (its status, error and the strokes it received)."""
    return _SLOT["last"]


def begin() -> Run:
    """A new run in the one slot, or UserError while another is going."""
    if _SLOT["run"] is not None:
        raise UserError("A painting is already running: wait for it or press Cancel")
    run = Run()
    _SLOT["run"] = run
    return run


def show(run: Run, context: Any, interval: float = 0.1) -> None:
    """The UI of a modal run: a timer to poll from, the panel's progress bar and the
    status bar's text. The mouse cursor is left alone (Blender's progress counter
    replaces it with numbers for the whole run)."""
    wm = context.window_manager
    run.window_manager = wm
    run.timer = wm.event_timer_add(interval, window=context.window)
    run.workspace = context.workspace
    update(run, context)


def status_line(run: Run) -> str:
    """The status bar's text while a run goes on."""
    return f"Neural Painter: {run.status} ({round(100 * run.fraction)}%)  Esc or Cancel in the panel stops it"


def update(run: Run, context: Any) -> None:
    """Progress (the panel's bar, the status bar) and redraws for a tick of a modal run."""
    wm = context.window_manager
    state = getattr(wm, "neural_painter_run", None)
    if state is not None:
        state.running, state.progress, state.status = True, run.fraction, run.status
    if run.workspace is not None:
        run.workspace.status_text_set(status_line(run))
    screen = context.screen
    for area in screen.areas if screen is not None else []:
        if area.type == "VIEW_3D":
            area.tag_redraw()


def _step(what: Callable[[], Any]) -> None:
    try:
        what()
    except Exception:  # keep tearing down; the console gets the details
        traceback.print_exc(file=sys.stderr)


def end(run: Run, error: str | None = None) -> None:
    """The one teardown: everything :func:`show` and the run set up goes, whatever state
    the run is in. An unfinished job is aborted with ``error`` (the scene is left as it
    was before the run); a finished one keeps what it painted. Safe to call twice."""
    if run.ended:
        return
    run.ended = True
    job = run.job
    if job is not None and not job.closed:
        _step(lambda: job.abort(error or CLOSED_BY_BLENDER))
    if run.render is not None:
        _step(run.render.close)
    wm = run.window_manager
    if wm is not None and run.timer is not None:
        _step(lambda: wm.event_timer_remove(run.timer))
    if run.workspace is not None:
        _step(lambda: run.workspace.status_text_set(None))
    state = getattr(wm, "neural_painter_run", None) if wm is not None else None
    if state is not None:
        def clear() -> None:
            state.running = False
            state.status = job.status if job is not None else (error or "")
            state.progress = job.fraction if job is not None else 0.0
        _step(clear)
    _step(lambda: shutil.rmtree(run.tmp, ignore_errors=True))
    if _SLOT["run"] is run:
        _SLOT["run"] = None
    if job is not None:
        _SLOT["last"] = job


def end_active(error: str = CLOSED_BY_BLENDER) -> None:
    """Unregistering the add-on (or Blender exiting) ends whatever is running."""
    run = _SLOT["run"]
    if run is not None:
        end(run, error)
