"""The operators: Paint, Refine, Restyle, Import Painting and Cancel.

Each makes its job from the panel's settings; ``driver.JobOperator`` runs it (modal
from the panel, blocking from scripts), ``jobs`` holds it while it runs.
"""

from __future__ import annotations

import os
from typing import Any

import bpy
from bpy_extras.io_utils import ImportHelper

from . import camera, gpencil, importer, jobs, prefs, readback, sources
from .contracts import protocol
from .driver import JobOperator
from .errors import UserError
from .request import Overrides, animation_of, make_request, paint_options, temporal_options
from .runner import PaintJob, RestyleJob, ShotJob


class NEURAL_PAINTER_OT_paint(JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.paint"
    bl_label = "Paint"
    bl_description = ("Paint the reference image (or every frame of a shot) as a new Grease Pencil object "
                      "(Esc cancels and keeps the strokes, or the frames, so far)")
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        settings = context.scene.neural_painter
        if settings.source in {"MOVIE", "CAMERA_RANGE"}:
            return self._shot_job(context, folder, overrides, camera_image)
        src, name = sources.reference(context, settings, folder, camera_image)
        request = make_request(overrides, paint_options(settings, folder), **src)
        return PaintJob(context, request, name=name, width_m=settings.width_m,
                        location=tuple(context.scene.cursor.location), animation=animation_of(settings),
                        python=prefs.python_for_worker(), site_dir=prefs.site_dir())


    def _shot_job(self, context: Any, folder: str, overrides: Overrides, camera_frames: str | None) -> PaintJob:
        """A shot: the temporal painter (``core.painters.shot``, as ``paint-frames``) over a movie or
        sequence, or over the camera's renders of the frame range (each painted frame
        lands on the frame it was rendered at)."""
        settings = context.scene.neural_painter
        if settings.source == "CAMERA_RANGE":
            spec = camera_frames or camera.render_range_blocking(context, folder)
            name, start, frames = "Camera", int(context.scene.frame_start), None
        else:
            spec, name = sources.shot_input(settings)
            start, frames = int(settings.shot_start), settings.shot_frames.strip() or None
        to_fps = None
        if settings.source == "MOVIE" and settings.shot_match_rate and sources.is_video(spec):
            render = context.scene.render
            to_fps = float(render.fps) / float(render.fps_base)
        shot = protocol.ShotSpec(input=spec, out=os.path.join(folder, "painted"), range=frames, to_fps=to_fps,
                                 temporal=temporal_options(settings))
        request = make_request(overrides, paint_options(settings, folder), frames=shot)
        return ShotJob(context, request, start=start, name=f"Shot {name}", width_m=settings.width_m,
                       location=tuple(context.scene.cursor.location), python=prefs.python_for_worker(),
                       site_dir=prefs.site_dir())


class NEURAL_PAINTER_OT_refine(JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.refine"
    bl_label = "Refine"
    bl_description = ("Read the active painting back, with any strokes moved, recoloured or deleted by hand, "
                      "and paint finer levels on top into a new object")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return gpencil.painting_canvas(context.active_object) is not None \
            and gpencil.shot_info(context.active_object) is None  # a still, not a painted shot

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        """The painting's own style and size, whatever the panel says; the scene's
        settings are never changed, so a failed Refine leaves them as they were."""
        settings = context.scene.neural_painter
        src = context.active_object
        canvas, drawn = readback.drawn_strokes(src)
        request_src, _ = sources.reference(context, settings, folder, camera_image)
        options = paint_options(settings, folder, strokes=int(settings.refine_strokes), style=canvas.style,
                                size=max(canvas.width, canvas.height))
        request = make_request(overrides, options, **request_src, init=readback.painting_init(canvas), drawn=drawn,
                               add_levels=int(settings.refine_levels))
        job = PaintJob(context, request, name=f"{src.name} Refined", width_m=canvas.width_m,
                       location=tuple(src.location), animation=animation_of(settings),
                       python=prefs.python_for_worker(), site_dir=prefs.site_dir())
        job.refine_source = src  # type: ignore[attr-defined]
        return job

    def on_success(self, context: Any, job: PaintJob) -> None:
        # View-layer visibility only; the source data is untouched.
        job.refine_source.hide_set(True)  # type: ignore[attr-defined]


class NEURAL_PAINTER_OT_restyle(JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.restyle"
    bl_label = "Restyle Painting"
    bl_description = ("Move the active painting's strokes towards the style image, keeping its look as the "
                      "content (Color mode changes colours only); the strokes are replaced in place when it "
                      "finishes, and a cancelled or failed run changes nothing")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        settings = getattr(context.scene, "neural_painter", None)
        return (settings is not None and sources.style_chosen(settings)
                and gpencil.painting_canvas(context.active_object) is not None
                and gpencil.shot_info(context.active_object) is None)

    def uses_camera(self, context: Any) -> bool:
        return False  # the painting itself is the content

    def worker_engine(self) -> str:
        return "stylize" if self.engine == "painter" else str(self.engine)

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        settings = context.scene.neural_painter
        src = context.active_object
        canvas, drawn = readback.drawn_strokes(src)
        if not drawn:
            raise UserError(f"'{src.name}' has no strokes to restyle; paint it first")
        options = paint_options(settings, folder, style=canvas.style, size=max(canvas.width, canvas.height))
        request = make_request(overrides, options, init=readback.painting_init(canvas), drawn=drawn)

        def unchanged() -> bool:
            try:
                return readback.drawn_strokes(src)[1] == drawn
            except (UserError, ReferenceError, ValueError):
                return False

        return RestyleJob(context, request, src, unchanged, python=prefs.python_for_worker(),
                          site_dir=prefs.site_dir())


class NEURAL_PAINTER_OT_import(JobOperator, ImportHelper, bpy.types.Operator):
    bl_idname = "neural_painter.import_strokes"
    bl_label = "Import Neural Painter Strokes"
    bl_description = ("Import a strokes .json (a still painting) or a folder of frame_0001.json ... files "
                      "(a painted shot, one drawing per frame) as a new Grease Pencil painting")
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})  # type: ignore[valid-type]
    start_frame: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="Scene frame on which a shot's frame 1 lands", default=1)

    def invoke(self, context: Any, event: Any) -> set[Any]:
        # Import from the file browser runs like Paint from the panel: modal, so Blender
        # stays responsive while the worker reads the files.
        self.run_modal = True
        return set(ImportHelper.invoke(self, context, event))

    def uses_camera(self, context: Any) -> bool:
        return False

    def worker_engine(self) -> str:
        return "import"

    def download_check(self, context: Any) -> bool:
        return False  # nothing to download: no style pass

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        return importer.make_job(context, str(self.filepath), int(self.start_frame),  # type: ignore[attr-defined]
                                 overrides)


def menu_import(self: Any, context: Any) -> None:
    self.layout.operator(NEURAL_PAINTER_OT_import.bl_idname, text="Neural Painter strokes (.json)")


class NEURAL_PAINTER_OT_cancel(bpy.types.Operator):
    bl_idname = "neural_painter.cancel"
    bl_label = "Cancel Painting"
    bl_description = "Stop the running painting and keep the strokes painted so far (a restyle changes nothing)"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return jobs.active() is not None

    def execute(self, context: Any) -> set[Any]:
        run = jobs.active()
        if run is not None:
            run.cancel()  # the modal run's timer escalates and ends it
        return {"FINISHED"}


CLASSES = (NEURAL_PAINTER_OT_paint, NEURAL_PAINTER_OT_refine, NEURAL_PAINTER_OT_restyle, NEURAL_PAINTER_OT_import,
           NEURAL_PAINTER_OT_cancel)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.TOPBAR_MT_file_import.append(menu_import)  # type: ignore[arg-type]


def unregister() -> None:
    jobs.end_active()
    bpy.types.TOPBAR_MT_file_import.remove(menu_import)  # type: ignore[arg-type]
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
