"""Paint, Cancel and Refine.

Invoked from the panel, Paint runs modally: a timer polls the worker and writes each
level as it arrives, so Blender stays responsive and the painting grows in the viewport.
Called from a script (or headless, where timers never fire) it runs the same job in a
blocking loop. Either way the run is one undo step, and a failure removes everything
it created.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import gpencil, prefs
from .runner import Animation, PaintJob

#: The one job allowed to run at a time (the Cancel button finds it here).
_ACTIVE: dict[str, Any] = {"job": None, "last": None}

SUPPORTED_EXT = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".tga", ".ppm", ".pgm"}


class UserError(Exception):
    """A problem the user can fix; the message is one line naming it and the fix."""


def active_job() -> PaintJob | None:
    return _ACTIVE["job"]


def last_job() -> PaintJob | None:
    """The most recent finished run (its status, error and the strokes it received)."""
    return _ACTIVE["last"]


# --- source images ---------------------------------------------------------------------

def _image_pixels_to_npy(img: Any, folder: str) -> str:
    """A Blender image as top-down sRGB floats on disk for the worker."""
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
    path = os.path.join(folder, "source.npy")
    np.save(path, np.ascontiguousarray(arr, np.float32))
    return path


def _render_camera(context: Any, folder: str) -> str:
    """Render the active camera to a PNG for the worker, restoring the output settings."""
    scene = context.scene
    if scene.camera is None:
        raise UserError("the scene has no active camera: add one or choose another source")
    r = scene.render
    saved = (r.filepath, r.image_settings.file_format, r.image_settings.color_mode)
    path = os.path.join(folder, "camera.png")
    try:
        r.filepath = path
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGBA"
        bpy.ops.render.render(write_still=True)
    finally:
        r.filepath, r.image_settings.file_format, r.image_settings.color_mode = saved
    if not os.path.isfile(path):
        raise UserError("the camera render produced no image; check the render settings and try again")
    return path


def source_request(context: Any, settings: Any, folder: str) -> tuple[dict[str, Any], str]:
    """Request fields for the reference image, and a name for the painting."""
    if settings.source == "FILE":
        raw = settings.image_path
        if not raw:
            raise UserError("no image file chosen: set Image File in the Neural Painter panel")
        path = bpy.path.abspath(raw)
        if not os.path.isfile(path):
            raise UserError(f"image file {path} does not exist; choose an existing file")
        if Path(path).suffix.lower() not in SUPPORTED_EXT:
            raise UserError(f"{Path(path).name} is not a supported image (use PNG, JPEG, TIFF, BMP, WebP, "
                            "GIF or TGA); convert it first")
        return {"image": path}, f"Painting {Path(path).stem}"
    if settings.source == "IMAGE":
        return {"pixels": _image_pixels_to_npy(settings.image, folder)}, \
            f"Painting {settings.image.name if settings.image else ''}".strip()
    return {"image": _render_camera(context, folder)}, "Painting Camera"


def paint_options(settings: Any, strokes: int | None = None) -> dict[str, Any]:
    bg: Any = settings.background
    if bg == "CUSTOM":
        bg = [float(c) for c in settings.background_color]
    return {"style": settings.style, "strokes": int(strokes or settings.strokes),
            "levels": int(settings.levels) or None, "size": int(settings.size), "seed": int(settings.seed),
            "device": settings.device, "background": bg, "renderer": settings.renderer}


def animation_of(settings: Any) -> Animation:
    return Animation(settings.animation, int(settings.anim_start), int(settings.anim_duration),
                     int(settings.keyframe_every))


# --- the modal/blocking driver shared by Paint and Refine -----------------------------

class _JobOperator:
    """Runs a PaintJob modally (invoke) or blocking (execute)."""

    _timer: Any = None
    _job: PaintJob | None = None
    _tmp: str | None = None

    engine: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Engine", items=[("painter", "Painter", "The real optimiser"),
                              ("random", "Random (testing)", "Random strokes, for testing the add-on")],
        default="painter", options={"HIDDEN", "SKIP_SAVE"})
    test_options: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Test Options", description="JSON merged into the worker request (testing only)",
        default="", options={"HIDDEN", "SKIP_SAVE"})

    def make_job(self, context: Any, folder: str) -> PaintJob:
        raise NotImplementedError

    def _prepare(self, context: Any) -> PaintJob | None:
        if _ACTIVE["job"] is not None:
            self.report({"ERROR"}, "A painting is already running: wait for it or press Cancel")  # type: ignore[attr-defined]
            return None
        self._tmp = tempfile.mkdtemp(prefix="neural_painter_")
        try:
            job = self.make_job(context, self._tmp)
            if self.test_options:
                import json
                job.worker.request.update(json.loads(self.test_options))
            job.worker.request["engine"] = self.engine
            job.start()
        except (UserError, RuntimeError) as exc:
            self._cleanup_tmp()
            self.report({"ERROR"}, str(exc))  # type: ignore[attr-defined]
            return None
        _ACTIVE["job"] = job
        self._job = job
        return job

    def _cleanup_tmp(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _finish(self, context: Any) -> set[Any]:
        job = self._job
        assert job is not None
        _ACTIVE["job"] = None
        _ACTIVE["last"] = job
        self._cleanup_tmp()
        run = getattr(context.window_manager, "neural_painter_run", None)
        if run is not None:
            run.running = False
            run.status = job.status
            run.progress = job.fraction
        if job.error is not None:
            self.report({"ERROR"}, job.error)  # type: ignore[attr-defined]
            return {"CANCELLED"}
        if job.obj is None:
            self.report({"WARNING"}, "Cancelled before any stroke was painted; nothing was added")  # type: ignore[attr-defined]
            return {"CANCELLED"}
        for o in context.view_layer.objects:
            if o.select_get():
                o.select_set(False)
        job.obj.select_set(True)
        context.view_layer.objects.active = job.obj
        self.report({"WARNING" if job.cancelled else "INFO"}, job.status)  # type: ignore[attr-defined]
        return {"FINISHED"}

    def execute(self, context: Any) -> set[Any]:
        job = self._prepare(context)
        if job is None:
            return {"CANCELLED"}
        try:
            while not job.pump(timeout=0.25):
                pass
        except KeyboardInterrupt:
            job.cancel()
            while not job.pump(timeout=0.25):
                pass
        return self._finish(context)

    def invoke(self, context: Any, event: Any) -> set[Any]:
        job = self._prepare(context)
        if job is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0.0, 1.0)
        run = wm.neural_painter_run
        run.running, run.progress, run.status = True, 0.0, job.status
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[Any]:
        job = self._job
        assert job is not None
        if event.type == "ESC" and event.value == "PRESS":
            if not job.cancel_requested:
                job.cancel()  # the engine stops after its current step; strokes so far stay
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        finished = job.pump(timeout=0.0)
        wm = context.window_manager
        wm.progress_update(job.fraction)
        run = wm.neural_painter_run
        run.progress, run.status = job.fraction, job.status
        if context.workspace is not None:
            context.workspace.status_text_set(f"Neural Painter: {job.status}  (Esc to cancel)")
        for area in context.screen.areas if context.screen else []:
            if area.type == "VIEW_3D":
                area.tag_redraw()
        if not finished:
            return {"RUNNING_MODAL"}
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        return self._finish(context)

    def cancel(self, context: Any) -> None:
        """Blender is closing the operator (file load, quit): stop the engine."""
        job = self._job
        if job is not None and not job.finished:
            job.cancel()
            job.worker.stop(grace=1.0)
            job.cancelled = True
            job.pump(timeout=0.0)
        _ACTIVE["job"] = None
        self._cleanup_tmp()


class NEURAL_PAINTER_OT_paint(_JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.paint"
    bl_label = "Paint"
    bl_description = "Paint the reference image as a new Grease Pencil object (Esc cancels and keeps the strokes so far)"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context: Any, folder: str) -> PaintJob:
        settings = context.scene.neural_painter
        src, name = source_request(context, settings, folder)
        request = {**src, "options": paint_options(settings)}
        return PaintJob(context, request, name=name, width_m=settings.width_m,
                        location=tuple(context.scene.cursor.location), animation=animation_of(settings),
                        python=prefs.python_for_worker(), site_dir=prefs.site_dir())


def drawn_strokes(obj: Any) -> tuple[gpencil.Canvas, list[dict[str, Any]]]:
    """A painting's strokes as they are now, in core's units, for the worker to reconcile."""
    canvas = gpencil.painting_canvas(obj)
    if canvas is None:
        raise UserError(f"'{obj.name}' was not made by Neural Painter: select a painting to refine")
    grow, _ = gpencil.gp_softness(0.5 if canvas.style == "watercolor" else 0.0)
    out: list[dict[str, Any]] = []
    for d in gpencil.read_painting(obj):
        pos2 = canvas.from_world(d["positions"])
        rad = d["radius"] / (canvas.scale * grow)
        colors = d["colors"]
        # Vertex colour mixes over the (white) material colour by its alpha.
        rgb_lin = colors[..., :3] * colors[..., 3:4] + (1.0 - colors[..., 3:4])
        rgb = gpencil.linear_to_srgb(rgb_lin)
        for i in range(len(d["order"])):
            k = int(d["sizes"][i])
            params = d["params"][i].tolist() if d["order"][i] > 0 and d["params"].shape[1] else None
            alpha = float(d["opacity"][i, :k].max()) if k else 1.0
            rgba = np.concatenate([rgb[i, :k], np.full((k, 1), alpha, np.float32)], -1)
            out.append({"params": params, "points": pos2[i, :k].tolist(), "radius": rad[i, :k].tolist(),
                        "rgba": rgba.tolist(), "level": int(d["level"])})
    return canvas, out


class NEURAL_PAINTER_OT_refine(_JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.refine"
    bl_label = "Refine"
    bl_description = ("Read the active painting back, with any strokes moved, recoloured or deleted by hand, "
                      "and paint finer levels on top into a new object")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return gpencil.painting_canvas(context.active_object) is not None

    def make_job(self, context: Any, folder: str) -> PaintJob:
        settings = context.scene.neural_painter
        src = context.active_object
        canvas, drawn = drawn_strokes(src)
        if settings.style != canvas.style:
            settings.style = canvas.style
        request_src, _ = source_request(context, settings, folder)
        init = {"schema": "neural-painter/strokes", "version": 1, "style": canvas.style,
                "canvas": {"width": canvas.width, "height": canvas.height, "background": list(canvas.background)},
                "meta": {}, "strokes": []}
        options = paint_options(settings, strokes=settings.refine_strokes)
        options["size"] = max(canvas.width, canvas.height)
        request = {**request_src, "options": options, "init": init, "drawn": drawn,
                   "add_levels": int(settings.refine_levels)}
        job = PaintJob(context, request, name=f"{src.name} Refined", width_m=canvas.width_m,
                       location=tuple(src.location), animation=animation_of(settings),
                       python=prefs.python_for_worker(), site_dir=prefs.site_dir())
        job.refine_source = src  # type: ignore[attr-defined]
        return job

    def _finish(self, context: Any) -> set[Any]:
        job = self._job
        result = super()._finish(context)
        src = getattr(job, "refine_source", None)
        if result == {"FINISHED"} and src is not None:
            try:
                src.hide_set(True)  # view-layer visibility only; the source data is untouched
            except (RuntimeError, ReferenceError):
                pass
        return result


class NEURAL_PAINTER_OT_cancel(bpy.types.Operator):
    bl_idname = "neural_painter.cancel"
    bl_label = "Cancel Painting"
    bl_description = "Stop the running painting and keep the strokes painted so far"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _ACTIVE["job"] is not None

    def execute(self, context: Any) -> set[Any]:
        job = _ACTIVE["job"]
        if job is not None:
            job.cancel()
        return {"FINISHED"}


CLASSES = (NEURAL_PAINTER_OT_paint, NEURAL_PAINTER_OT_refine, NEURAL_PAINTER_OT_cancel)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    job = _ACTIVE["job"]
    if job is not None:
        job.worker.stop(grace=1.0)
        _ACTIVE["job"] = None
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
