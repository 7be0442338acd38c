"""Paint, Refine, Restyle and Cancel.

Invoked from the panel, Paint runs modally: a timer polls the worker and writes each
level as it arrives, so Blender stays responsive and the painting grows in the viewport.
Called from a script (or headless, where timers never fire) it runs the same job in a
blocking loop. Either way the run is one undo step, and a failure removes everything
it created.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import gpencil, prefs
from .runner import Animation, PaintJob, RestyleJob

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

def _image_pixels(img: Any) -> np.ndarray:
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


def _image_pixels_to_npy(img: Any, folder: str) -> str:
    """A Blender image as top-down sRGB floats on disk for the worker."""
    path = os.path.join(folder, "source.npy")
    np.save(path, _image_pixels(img))
    return path


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


# --- style transfer --------------------------------------------------------------------

VGG16_FILE = "vgg16-397923af.pth"
VGG16_DOWNLOAD_MB = 528
OFFLINE_VGG16 = ("VGG-16 weights need a one-time download but Blender's Allow Online Access is off: "
                 "enable it in Preferences > System > Network, or choose Offline style features")


def online_access() -> bool:
    """Blender's "Allow Online Access" preference (read-only in Python, so this function is
    the one place the add-on asks, and what tests stand in for). Blender before 4.2 has no
    such setting: online access is then the user's own business."""
    return bool(getattr(bpy.app, "online_access", True))


def vgg16_cache_path() -> Path:
    """Where the engine keeps VGG-16 (``core.features.vgg16_cache_path()``, which is torch
    hub's directory), worked out the way torch does but without importing it: Blender's
    Python need not have torch, and the worker inherits this process's environment."""
    home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"),
                                                                   "torch")))
    return Path(home) / "hub" / "checkpoints" / VGG16_FILE


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
        return write_png(os.path.join(folder, "style.png"), _image_pixels(settings.style_image))
    path = bpy.path.abspath(settings.style_image_path.strip())
    if not os.path.isfile(path):
        raise UserError(f"style image {path} does not exist; choose an existing file or clear Style Image")
    if Path(path).suffix.lower() not in SUPPORTED_EXT:
        raise UserError(f"style image {Path(path).name} is not a supported image (use PNG, JPEG, TIFF, BMP, "
                        "WebP, GIF or TGA); convert it first")
    return path


def style_options(settings: Any, folder: str | None) -> dict[str, Any]:
    """The engine's style fields (none when no style image is set)."""
    path = style_image_file(settings, folder)
    if path is None:
        return {}
    return {"style_image": path, "style_mode": settings.style_mode, "style_weight": float(settings.style_weight),
            "style_features": settings.style_features, "vgg_weights": prefs.vgg_weights_path(),
            "allow_download": False}


def vgg16_download_needed(settings: Any) -> bool:
    """Whether a run with these settings would have to download VGG-16 first."""
    return (style_chosen(settings) and settings.style_features == "vgg16" and prefs.vgg_weights_path() is None
            and not vgg16_cache_path().is_file())


def paint_options(settings: Any, folder: str | None, strokes: int | None = None) -> dict[str, Any]:
    bg: Any = settings.background
    if bg == "CUSTOM":
        bg = [float(c) for c in settings.background_color]
    return {"style": settings.style, "strokes": int(strokes or settings.strokes),
            "levels": int(settings.levels) or None, "size": int(settings.size), "seed": int(settings.seed),
            "device": settings.device, "background": bg, "renderer": settings.renderer,
            **style_options(settings, folder)}


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
        name="Test Options", description="JSON merged into the worker request, \"options\" into its "
                                         "options (testing only)",
        default="", options={"HIDDEN", "SKIP_SAVE"})
    allow_download: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow Download", description="The user agreed to download VGG-16 (set by the confirmation)",
        default=False, options={"HIDDEN", "SKIP_SAVE"})
    run_modal: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Run Modal", description="Run in the background of the UI after a confirmation",
        default=False, options={"HIDDEN", "SKIP_SAVE"})

    def make_job(self, context: Any, folder: str) -> PaintJob:
        raise NotImplementedError

    def worker_engine(self) -> str:
        return str(self.engine)

    def _check_download(self, context: Any) -> bool:
        """Whether the run needs VGG-16 downloaded; refuses (UserError) when Blender may not
        go online. Checks the style image first, so a missing file is named before that."""
        settings = context.scene.neural_painter
        style_image_file(settings, None)
        needed = vgg16_download_needed(settings)
        if needed and not online_access():
            raise UserError(OFFLINE_VGG16)
        return needed

    def _prepare(self, context: Any) -> PaintJob | None:
        if _ACTIVE["job"] is not None:
            self.report({"ERROR"}, "A painting is already running: wait for it or press Cancel")  # type: ignore[attr-defined]
            return None
        try:
            download = self._check_download(context)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))  # type: ignore[attr-defined]
            return None
        self._tmp = tempfile.mkdtemp(prefix="neural_painter_")
        try:
            job = self.make_job(context, self._tmp)
            options = job.worker.request.setdefault("options", {})
            if "style_image" in options:
                # Only a needed download that the user agreed to (the confirmation when
                # invoked from the UI; Allow Online Access itself for scripts).
                options["allow_download"] = bool(download and self.allow_download)
            if self.test_options:
                import json
                extra = json.loads(self.test_options)
                options.update(extra.pop("options", {}))
                job.worker.request.update(extra)
            job.worker.request["engine"] = self.worker_engine()
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
            self.report({"WARNING"}, job.NOTHING_DONE)  # type: ignore[attr-defined]
            return {"CANCELLED"}
        for o in context.view_layer.objects:
            if o.select_get():
                o.select_set(False)
        job.obj.select_set(True)
        context.view_layer.objects.active = job.obj
        self.report({"WARNING" if job.cancelled else "INFO"}, job.status)  # type: ignore[attr-defined]
        return {"FINISHED"}

    def execute(self, context: Any) -> set[Any]:
        if self.run_modal:  # confirmed in invoke: go on as invoke would have
            return self._start_modal(context)
        # Scripts and background runs cannot be asked: Allow Online Access is the consent.
        self.allow_download = online_access()
        job = self._prepare(context)
        if job is None:
            return {"CANCELLED"}
        self._block(job)
        return self._finish(context)

    def _block(self, job: PaintJob) -> None:
        """Run the job to its end in the foreground (Ctrl+C cancels it)."""
        try:
            try:
                while not job.pump(timeout=0.25):
                    pass
            except KeyboardInterrupt:
                job.cancel()
                while not job.pump(timeout=0.25):
                    pass
        except BaseException:
            _ACTIVE["job"] = None  # a writer bug must not block every later run
            _ACTIVE["last"] = job
            self._cleanup_tmp()
            raise

    def invoke(self, context: Any, event: Any) -> set[Any]:
        try:
            download = self._check_download(context)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))  # type: ignore[attr-defined]
            return {"CANCELLED"}
        if download:
            # Ask before fetching anything; Blender calls execute() only on "Download".
            self.allow_download = True
            self.run_modal = True
            message = (f"The VGG-16 style features need a one-time download of about {VGG16_DOWNLOAD_MB} MB "
                       f"into the torch cache ({vgg16_cache_path().parent}).")
            try:
                return set(context.window_manager.invoke_confirm(
                    self, event, title="Download VGG-16 weights?", message=message, confirm_text="Download",
                    icon="URL"))
            except TypeError:  # Blender before 4.1: no title or message
                return set(context.window_manager.invoke_confirm(self, event))
        return self._start_modal(context)

    def _start_modal(self, context: Any) -> set[Any]:
        job = self._prepare(context)
        if job is None:
            return {"CANCELLED"}
        if context.window is None:  # no UI to poll from: block
            self._block(job)
            return self._finish(context)
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
        request = {**src, "options": paint_options(settings, folder)}
        return PaintJob(context, request, name=name, width_m=settings.width_m,
                        location=tuple(context.scene.cursor.location), animation=animation_of(settings),
                        python=prefs.python_for_worker(), site_dir=prefs.site_dir())


def drawn_strokes(obj: Any) -> tuple[gpencil.Canvas, list[dict[str, Any]]]:
    """A painting's strokes as they are now, in core's units, for the worker to reconcile."""
    canvas = gpencil.painting_canvas(obj)
    if canvas is None:
        raise UserError(f"'{obj.name}' was not made by Neural Painter: select a painting made by Neural Painter")
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
        init = painting_init(canvas)
        options = paint_options(settings, folder, strokes=settings.refine_strokes)
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


def painting_init(canvas: gpencil.Canvas) -> dict[str, Any]:
    """The request's ``init`` for a painting read back: its canvas, no strokes (they come
    as ``drawn``, which the worker reconciles)."""
    return {"schema": "neural-painter/strokes", "version": 1, "style": canvas.style,
            "canvas": {"width": canvas.width, "height": canvas.height, "background": list(canvas.background)},
            "meta": {}, "strokes": []}


class NEURAL_PAINTER_OT_restyle(_JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.restyle"
    bl_label = "Restyle Painting"
    bl_description = ("Move the active painting's strokes towards the style image, keeping its look as the "
                      "content (Color mode changes colours only); the strokes are replaced in place when it "
                      "finishes, and a cancelled or failed run changes nothing")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        settings = getattr(context.scene, "neural_painter", None)
        return (settings is not None and style_chosen(settings)
                and gpencil.painting_canvas(context.active_object) is not None)

    def worker_engine(self) -> str:
        return "stylize" if self.engine == "painter" else str(self.engine)

    def make_job(self, context: Any, folder: str) -> PaintJob:
        settings = context.scene.neural_painter
        src = context.active_object
        canvas, drawn = drawn_strokes(src)
        if not drawn:
            raise UserError(f"'{src.name}' has no strokes to restyle; paint it first")
        options = paint_options(settings, folder)
        options["style"] = canvas.style
        options["size"] = max(canvas.width, canvas.height)
        request = {"options": options, "init": painting_init(canvas), "drawn": drawn}

        def unchanged() -> bool:
            try:
                return drawn_strokes(src)[1] == drawn
            except (UserError, ReferenceError, ValueError):
                return False

        return RestyleJob(context, request, src, unchanged, python=prefs.python_for_worker(),
                          site_dir=prefs.site_dir())


class NEURAL_PAINTER_OT_cancel(bpy.types.Operator):
    bl_idname = "neural_painter.cancel"
    bl_label = "Cancel Painting"
    bl_description = "Stop the running painting and keep the strokes painted so far (a restyle changes nothing)"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return _ACTIVE["job"] is not None

    def execute(self, context: Any) -> set[Any]:
        job = _ACTIVE["job"]
        if job is not None:
            job.cancel()
        return {"FINISHED"}


CLASSES = (NEURAL_PAINTER_OT_paint, NEURAL_PAINTER_OT_refine, NEURAL_PAINTER_OT_restyle, NEURAL_PAINTER_OT_cancel)


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
