"""Runs a Paint, Refine or Restyle job: modally from the panel, blocking from scripts.

From the panel (``invoke``) the run is modal: a timer polls the worker and writes each
level as it arrives, so Blender stays responsive and the painting grows in the
viewport; Esc cancels (the worker is asked, then terminated, then killed, never waited
for), unless the timeline is playing, when Esc is Blender's, to stop the playback; the
panel's Cancel always cancels. Progress shows in the panel and the status bar. A camera source first renders as Blender's render job, which the same timer waits
for. Called from a script, or headless where timers never fire, ``execute`` runs the
same job in a blocking loop. Any exception ends the run through ``jobs.end``.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import camera, consent, jobs, view
from .errors import UserError
from .request import Overrides
from .runner import PaintJob, failure_message

CAMERA_CANCELLED = "Camera render cancelled; nothing was painted"


class JobOperator:
    """The driver shared by the operators that run a job (a mixin for bpy.types.Operator).

    Subclasses make the job (``make_job``); everything about running it lives here.
    """

    _run: jobs.Run | None = None

    engine: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Engine", description="The worker's engine (painter; tests name their stand-ins)",
        default="painter", options={"HIDDEN", "SKIP_SAVE"})
    test_options: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Test Options", description="JSON: \"options\" overrides the painting's settings, \"engine_args\" "
                                         "goes to a stand-in engine (testing only)",
        default="", options={"HIDDEN", "SKIP_SAVE"})
    allow_download: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow Download", description="The user agreed to download VGG-16 (set by the confirmation)",
        default=False, options={"HIDDEN", "SKIP_SAVE"})
    run_modal: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Run Modal", description="Run in the background of the UI after a confirmation",
        default=False, options={"HIDDEN", "SKIP_SAVE"})

    # --- what subclasses provide ---------------------------------------------------------

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        """The job, its request built once from the panel and ``overrides`` (``request.make_request``)."""
        raise NotImplementedError

    def camera_spec(self, context: Any) -> camera.CameraSpec | None:
        """The camera render the job's reference (or shot) comes from; None: no render."""
        return None

    def precheck(self, context: Any) -> None:
        """Checks of the panel's settings that need no worker and no render, so a
        mistake is one line before anything starts (UserError)."""

    def worker_engine(self) -> str:
        return str(self.engine)

    def download_check(self, context: Any) -> bool:
        """Whether the run needs the VGG-16 download (UserError when it cannot have it)."""
        return consent.check(context.scene.neural_painter)

    def on_success(self, context: Any, job: PaintJob) -> None:
        """After a run that painted something (Refine hides its source)."""

    # --- starting ------------------------------------------------------------------------

    def _report(self, kind: str, message: str) -> None:
        self.report({kind}, message)  # type: ignore[attr-defined]

    def _begin(self, context: Any) -> jobs.Run | None:
        """Checks that need no worker, then a run in the one slot (None: refused)."""
        try:
            self.precheck(context)
            self._download = self.download_check(context)
            run = jobs.begin()
        except UserError as exc:
            self._report("ERROR", str(exc))
            return None
        run.window_manager = context.window_manager
        return run

    def _start_job(self, context: Any, run: jobs.Run, camera_image: str | None = None) -> None:
        # Only a needed download that the user agreed to (the confirmation when invoked
        # from the UI; Allow Online Access itself for scripts).
        overrides = Overrides.from_test_options(self.test_options, engine=self.worker_engine(),
                                                allow_download=bool(self._download and self.allow_download))
        job = self.make_job(context, run.tmp, overrides, camera_image)
        job.wait_for_worker = run.timer is None  # a modal run never waits on the worker
        job.start()
        run.job = job

    def _refused(self, run: jobs.Run, exc: BaseException) -> set[Any]:
        message = " ".join(str(exc).split()) if isinstance(exc, (UserError, RuntimeError)) \
            else failure_message(exc)
        jobs.end(run, message)
        job = run.job
        self._report("ERROR", job.error if job is not None and job.error else message)
        return {"CANCELLED"}

    # --- blocking: scripts, headless -----------------------------------------------------

    def execute(self, context: Any) -> set[Any]:
        if self.run_modal:  # confirmed in invoke: go on as invoke would have
            return self._start_modal(context)
        # Scripts and background runs cannot be asked: Allow Online Access is the consent.
        self.allow_download = consent.online_access()
        run = self._begin(context)
        if run is None:
            return {"CANCELLED"}
        return self._run_blocking(context, run)

    def _run_blocking(self, context: Any, run: jobs.Run) -> set[Any]:
        try:
            self._start_job(context, run)  # a camera source renders here, in the foreground
            job = run.job
            assert job is not None
            try:
                while not job.pump(timeout=0.25):
                    pass
            except KeyboardInterrupt:  # Ctrl+C: stop, keep what is painted
                job.cancel()
                while not job.pump(timeout=0.25):
                    pass
        except Exception as exc:
            return self._refused(run, exc)
        except BaseException:
            jobs.end(run, "interrupted")
            raise
        return self._finish(context, run)

    def _finish(self, context: Any, run: jobs.Run) -> set[Any]:
        job = run.job
        assert job is not None
        jobs.end(run)
        if job.error is not None:
            self._report("ERROR", job.error)
            return {"CANCELLED"}
        if job.obj is None:
            self._report("WARNING", job.NOTHING_DONE)
            return {"CANCELLED"}
        try:
            for o in context.view_layer.objects:
                if o.select_get():
                    o.select_set(False)
            job.obj.select_set(True)
            context.view_layer.objects.active = job.obj
            self.on_success(context, job)
            view.frame_if_hidden(context, job.obj)
        except (ReferenceError, RuntimeError):
            pass  # the painting is there; only selecting or framing it failed
        self._report("WARNING" if job.cancelled else "INFO", job.status)
        return {"FINISHED"}

    # --- modal: the panel ----------------------------------------------------------------

    def invoke(self, context: Any, event: Any) -> set[Any]:
        try:
            download = self.download_check(context)
        except UserError as exc:
            self._report("ERROR", str(exc))
            return {"CANCELLED"}
        if download:
            # Ask before fetching anything; Blender calls execute() only on "Download".
            self.allow_download = True
            self.run_modal = True
            title, message = consent.question()
            return set(context.window_manager.invoke_confirm(
                self, event, title=title, message=message, confirm_text="Download", icon="URL"))
        return self._start_modal(context)

    def _start_modal(self, context: Any) -> set[Any]:
        run = self._begin(context)
        if run is None:
            return {"CANCELLED"}
        if context.window is None:  # no UI to poll from: block
            return self._run_blocking(context, run)
        self._run = run
        try:
            jobs.show(run, context)
            spec = self.camera_spec(context)
            if spec is not None:
                run.render = camera.CameraRender(context, run.tmp, spec)
                run.render.start()
            else:
                self._start_job(context, run)
            context.window_manager.modal_handler_add(self)
        except Exception as exc:
            return self._refused(run, exc)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[Any]:
        run = self._run
        if run is None or run.ended:  # ended elsewhere (unregister): nothing left to do
            return {"CANCELLED"}
        try:
            if event.type == "ESC" and event.value == "PRESS":
                screen = getattr(context, "screen", None)
                if screen is not None and screen.is_animation_playing:
                    return {"PASS_THROUGH"}  # Esc stops the playback, not the painting
                run.cancel()
                jobs.update(run, context)
                # While rendering, Blender's render job must see Esc too: it cancels the render.
                return {"PASS_THROUGH"} if run.job is None else {"RUNNING_MODAL"}
            if event.type != "TIMER":
                return {"PASS_THROUGH"}
            if run.job is None:
                state = run.render.poll()
                if state == "rendering":
                    jobs.update(run, context)
                    return {"RUNNING_MODAL"}
                if state == "cancelled" or run.cancel_requested:
                    jobs.end(run)
                    self._report("WARNING", CAMERA_CANCELLED)
                    return {"CANCELLED"}
                self._start_job(context, run, run.render.save())
            assert run.job is not None
            finished = run.job.pump(timeout=0.0)
            jobs.update(run, context)
            if not finished:
                return {"RUNNING_MODAL"}
            return self._finish(context, run)
        except Exception as exc:
            return self._refused(run, exc)

    def cancel(self, context: Any) -> None:
        """Blender is closing the operator (quit, file load): end the run, keep nothing."""
        if self._run is not None:
            jobs.end(self._run, jobs.CLOSED_BY_BLENDER)
