"""The interactive path, driven as the panel drives it: ``invoke``, then ``modal`` with
timer events, Esc and other events, Blender's ``cancel``, and the Cancel operator, with
stand-in window manager, status bar and events (``standins.py``) around the real scene.

However a run ends it must end cleanly: the timer removed, the status text cleared, the one-job slot free, the worker gone, and either the strokes so
far kept (a cancel) or the scene exactly as before (any failure), with a one-line error.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import standins
from conftest import bpy, counts, orphans
from standins import ESC, MOUSEMOVE, TIMER


def settings(scene: Any, image: Path, **values: Any) -> None:
    s = scene.neural_painter
    s.source, s.image_path = "FILE", str(image)
    for k, v in {"style": "tape", "strokes": 30, "levels": 3, "size": 48, "animation": "BUILD",
                 "anim_start": 1, "anim_duration": 30, **values}.items():
        setattr(s, k, v)
    s.levels_auto = False


def paint_op(test_options: str = "", engine: str = "random") -> Any:
    from blender_neural_painter import operators

    return standins.operator(operators.NEURAL_PAINTER_OT_paint, engine=engine, test_options=test_options)


def tick_until(op: Any, ctx: Any, done: Any, limit: float = 120.0) -> set[str]:
    """Timer events until ``done()`` or the operator stops running; each tick must return
    at once (the UI never waits on the worker)."""
    deadline = time.monotonic() + limit
    result = {"RUNNING_MODAL"}
    while result == {"RUNNING_MODAL"} and not done():
        assert time.monotonic() < deadline, "the run never got there"
        result = op.modal(ctx, TIMER)
        time.sleep(0.02)
    return result


def running(scene: Any, image: Path, test_options: str = '{"engine_args": {"delay": 0.3}}') -> tuple[Any, Any, Any, dict[str, int]]:
    """A modal Paint run that has written its first level: operator, context, job and
    the data-block counts from before it started."""
    from blender_neural_painter import jobs

    settings(scene, image)
    before = counts()
    op, ctx = paint_op(test_options), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    job = jobs.active_job()
    assert tick_until(op, ctx, lambda: job.strokes_written > 0) == {"RUNNING_MODAL"}
    return op, ctx, job, before


def assert_torn_down(ctx: Any, job: Any) -> None:
    from blender_neural_painter import jobs

    wm = ctx.window_manager
    assert wm.timers == [] and len(wm.removed) == 1  # the one timer, removed once
    assert wm.progress == []  # the mouse cursor was never turned into a progress counter
    assert ctx.workspace.status[-1] is None  # status bar text cleared
    assert jobs.active() is None and jobs.last_job() is job
    assert wm.neural_painter_run.running is False
    assert job.worker.returncode(wait=10) is not None  # no worker left behind


def test_modal_paint_runs_to_the_end(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import gpencil, jobs

    settings(scene, image_path)
    op, ctx = paint_op(), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    wm = ctx.window_manager
    assert wm.handlers == [op] and len(wm.timers) == 1
    assert jobs.active() is not None and wm.neural_painter_run.running
    assert op.modal(ctx, MOUSEMOVE) == {"PASS_THROUGH"}  # the rest of Blender keeps working
    result = tick_until(op, ctx, lambda: False)
    assert result == {"FINISHED"}, op.reports
    job = jobs.last_job()
    assert_torn_down(ctx, job)
    assert gpencil.stroke_count(job.obj) == 30 and bpy.context.view_layer.objects.active == job.obj
    assert op.reports == [({"INFO"}, "Done: 30 strokes")]
    assert wm.neural_painter_run.status == "Done: 30 strokes"
    assert ctx.screen.areas[0].redraws > 0
    # Progress in the status bar: what runs, how far, and how to stop it.
    shown = [t for t in ctx.workspace.status if t]
    assert shown[0] == "Neural Painter: Starting the painting engine... (0%)  Esc or Cancel in the panel stops it"
    assert shown[-1] == "Neural Painter: Done: 30 strokes (100%)  Esc or Cancel in the panel stops it"
    percents = [int(t.split("(")[-1].split("%")[0]) for t in shown]
    assert percents == sorted(percents)


def test_esc_keeps_the_strokes_painted_so_far(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import gpencil

    op, ctx, job, _ = running(scene, image_path, '{"engine_args": {"delay": 0.4}}')
    assert op.modal(ctx, ESC) == {"RUNNING_MODAL"} and job.cancel_requested
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}
    assert_torn_down(ctx, job)
    assert job.cancelled and job.error is None
    assert 0 < gpencil.stroke_count(job.obj) < 30 and job.status.startswith("Cancelled: kept")
    assert op.reports[-1][0] == {"WARNING"}


def test_esc_that_stops_playback_does_not_cancel(scene: Any, image_path: Path) -> None:
    """While the timeline plays, Esc is Blender's (it stops the playback): the painting
    goes on. Once the playback has stopped, Esc cancels; the panel's Cancel always does."""
    op, ctx, job, _ = running(scene, image_path, '{"engine_args": {"delay": 0.4}}')
    ctx.screen.is_animation_playing = True
    assert op.modal(ctx, ESC) == {"PASS_THROUGH"} and not job.cancel_requested
    ctx.screen.is_animation_playing = False
    assert op.modal(ctx, ESC) == {"RUNNING_MODAL"} and job.cancel_requested
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}
    assert_torn_down(ctx, job)
    assert job.cancelled


def test_a_painting_out_of_view_is_framed(scene: Any, image_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A viewport that sees none of the new painting frames it (View Selected); one
    that sees it is left alone. The views are stand-ins: a region and a view matrix."""
    from mathutils import Matrix

    from blender_neural_painter import view

    def viewport(eye_x: float) -> Any:
        """A 200 x 100 px view from (eye_x, -10, 0) looking along +Y (at the front of a
        painting at the origin), 60 degrees wide, near 0.1, far 100."""
        region = SimpleNamespace(type="WINDOW", width=200, height=100)
        eye = Matrix.Translation((eye_x, -10.0, 0.0)) @ Matrix.Rotation(1.5708, 4, "X")
        projection = Matrix(((0.866, 0, 0, 0), (0, 1.732, 0, 0), (0, 0, -1.002, -0.2), (0, 0, -1, 0)))
        return standins.Area("VIEW_3D", region, SimpleNamespace(perspective_matrix=projection @ eye.inverted()))

    framed: list[Any] = []
    sees, misses = viewport(0.0), viewport(500.0)
    settings(scene, image_path, placement="CURSOR")
    scene.cursor.location = (0.0, 0.0, 0.0)
    op = paint_op()
    ctx = standins.ui_context(screen=SimpleNamespace(areas=[sees, misses], is_animation_playing=False))
    monkeypatch.setattr(view.frame_if_hidden, "__defaults__", (lambda w, a, r: framed.append(a),))
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}
    assert framed == [misses]


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_cancel_escalates_to_terminate_then_kill(scene: Any, image_path: Path, ignore_sigterm: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker stuck in a long step ignores the polite cancel: SIGTERM stops it, and one
    that ignores SIGTERM too is killed; the ticks never wait for it."""
    from blender_neural_painter import gpencil
    from blender_neural_painter.bridge import Worker

    monkeypatch.setattr(Worker, "terminate_after", 0.3)
    monkeypatch.setattr(Worker, "kill_after", 1.0)
    options = '{"engine_args": {"hang_after_level": 1, "ignore_sigterm": %s}}' % ("true" if ignore_sigterm else "false")
    op, ctx, job, _ = running(scene, image_path, options)
    assert bpy.ops.neural_painter.cancel.poll()
    assert bpy.ops.neural_painter.cancel() == {"FINISHED"}  # the panel's Cancel button
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}
    assert_torn_down(ctx, job)
    assert job.worker.escalated == (["terminate", "kill"] if ignore_sigterm else ["terminate"])
    assert job.cancelled and job.error is None and gpencil.stroke_count(job.obj) == 10  # level 1 kept
    assert not bpy.ops.neural_painter.cancel.poll()  # nothing left to cancel


def test_an_exception_while_writing_ends_the_run_and_leaves_the_scene(scene: Any, image_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import gpencil, jobs

    real, calls = gpencil.add_level, []

    def second_level_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated writer bug\nwith a second line")
        return real(*args, **kwargs)

    monkeypatch.setattr(gpencil, "add_level", second_level_fails)
    settings(scene, image_path)
    before = counts()
    op, ctx = paint_op(), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    job = jobs.active_job()
    assert tick_until(op, ctx, lambda: False) == {"CANCELLED"}
    assert_torn_down(ctx, job)
    (kind, message), = op.reports
    assert kind == {"ERROR"} and "simulated writer bug" in message and "\n" not in message
    assert job.error == message and job.obj is None
    assert counts() == before and not orphans()  # level 1 was written, then taken away again


def test_painting_deleted_mid_run(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import gpencil

    op, ctx, job, before = running(scene, image_path)
    data = job.obj.data
    bpy.data.objects.remove(job.obj)  # the artist deletes it (or undoes) while it paints
    gpencil.gp_datablocks().remove(data)
    assert tick_until(op, ctx, lambda: False) == {"CANCELLED"}
    assert_torn_down(ctx, job)
    assert "removed while it was being painted" in job.error and "\n" not in job.error
    assert counts() == before and not orphans()


def test_blender_closing_the_operator_ends_the_run(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import jobs

    op, ctx, job, before = running(scene, image_path)
    op.cancel(ctx)  # a file is loaded, or Blender quits
    assert_torn_down(ctx, job)
    assert job.error == jobs.CLOSED_BY_BLENDER and counts() == before and not orphans()
    assert op.modal(ctx, TIMER) == {"CANCELLED"}  # a late event finds nothing to do


def test_one_run_at_a_time(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import jobs

    settings(scene, image_path)
    first, ctx = paint_op('{"engine_args": {"delay": 0.3}}'), standins.ui_context()
    assert first.invoke(ctx, None) == {"RUNNING_MODAL"}
    second, ctx2 = paint_op(), standins.ui_context()
    assert second.invoke(ctx2, None) == {"CANCELLED"}
    assert second.reports == [({"ERROR"}, "A painting is already running: wait for it or press Cancel")]
    assert ctx2.window_manager.timers == [] and ctx2.window_manager.progress == []
    assert jobs.active().job is jobs.active_job()
    first.modal(ctx, ESC)
    assert tick_until(first, ctx, lambda: False) in ({"FINISHED"}, {"CANCELLED"})
    assert jobs.active() is None


# --- the camera as source ------------------------------------------------------------------

def camera_scene(scene: Any) -> None:
    bpy.ops.mesh.primitive_cube_add(size=1.0)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -5.0, 0.0), (1.5708, 0.0, 0.0)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100


def output_cases() -> list[str]:
    from blender_neural_painter import compat

    return ["exr32", "video"] if compat.at_least(5, 0) else ["exr32"]


@pytest.mark.parametrize("output", ["exr32", "video"])
def test_camera_source_paints_and_restores_every_render_setting(scene: Any, output: str) -> None:
    """A 32-bit EXR output comes back 32-bit (restored in dependency order); on 5.0+ a
    video output, whose file formats offer no PNG, comes back too."""
    from blender_neural_painter import camera, compat, gpencil, jobs

    if output not in output_cases():
        pytest.skip("video output has its own media type only from Blender 5.0")
    camera_scene(scene)
    r = scene.render
    if output == "video":
        r.image_settings.media_type = "VIDEO"
        r.image_settings.file_format = "FFMPEG"
    else:
        r.image_settings.file_format = "OPEN_EXR"
        r.image_settings.color_depth = "32"
        r.image_settings.exr_codec = "ZIP"
    r.filepath = "//renders/shot_"
    before = camera.snapshot(r)
    s = scene.neural_painter
    s.source, s.style, s.strokes, s.levels, s.levels_auto, s.size = "CAMERA", "tape", 8, 1, False, 32
    op, ctx = paint_op(), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}, op.reports
    job = jobs.last_job()
    assert_torn_down(ctx, job)
    assert gpencil.stroke_count(job.obj) == 8 and job.obj.name.startswith("Painting Camera")
    assert Path(job.worker.request.image).name == "camera.png"
    assert camera.snapshot(r) == before
    assert r.image_settings.file_format == ("FFMPEG" if output == "video" else "OPEN_EXR")
    assert output == "video" or r.image_settings.color_depth == "32"
    assert camera._on_complete not in bpy.app.handlers.render_complete  # nothing left behind
    assert camera._on_cancel not in bpy.app.handlers.render_cancel
    assert compat.VERSION >= compat.MIN_VERSION


def test_cancelled_camera_render_paints_nothing(scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Esc in Blender's render job cancels the render: its render_cancel handler fires,
    and the run ends with nothing painted (the render job itself is Blender's; in the
    bpy module it would finish within the call, so here it is only started)."""
    from blender_neural_painter import camera, driver, jobs

    camera_scene(scene)
    scene.neural_painter.source = "CAMERA"
    before, last = counts(), jobs.last_job()

    def start_without_rendering(self: Any) -> None:
        camera._WAITING.append(self)
        camera._listen(True)

    monkeypatch.setattr(camera.CameraRender, "start", start_without_rendering)
    op, ctx = paint_op(), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    assert camera._on_cancel in bpy.app.handlers.render_cancel
    assert op.modal(ctx, ESC) == {"PASS_THROUGH"}  # the render job must see Esc too
    camera._on_cancel(scene, None)  # what Blender calls when the render is cancelled
    assert op.modal(ctx, TIMER) == {"CANCELLED"}
    assert op.reports == [({"WARNING"}, driver.CAMERA_CANCELLED)]
    wm = ctx.window_manager
    assert wm.timers == [] and wm.progress == [] and jobs.active() is None and jobs.last_job() is last
    assert camera._on_cancel not in bpy.app.handlers.render_cancel
    assert counts() == before


# --- Refine keeps the scene's settings -------------------------------------------------------

def test_failed_refine_leaves_the_scene_settings(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import camera, jobs, operators

    from conftest import paint

    result, _ = paint(scene, image_path, engine="random", style="tape", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    src = bpy.context.view_layer.objects.active
    s = scene.neural_painter
    s.style, s.refine_strokes = "oil", 6  # the panel's style differs from the painting's
    before, n_before = camera.snapshot(s), counts()
    op, ctx = standins.operator(operators.NEURAL_PAINTER_OT_refine, test_options='{"engine_args": {"fail_after_level": 1}}'), \
        standins.ui_context(active_object=src)
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    assert jobs.active_job().worker.request.options.style == "tape"  # the painting's own style
    assert tick_until(op, ctx, lambda: False) == {"CANCELLED"}
    assert "stopped unexpectedly" in op.reports[-1][1]
    assert camera.snapshot(s) == before and counts() == n_before and not orphans()
    assert not src.hide_get()
