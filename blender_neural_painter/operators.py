"""The operators: Paint, Refine, Restyle, Import Painting, Cancel, Apply Replay and
Randomize Seed.

Each job operator makes its job from the panel's settings; ``driver.JobOperator`` runs
it (modal from the panel, blocking from scripts), ``jobs`` holds it while it runs.
"""

from __future__ import annotations

import os
import random
from typing import Any

import bpy
import numpy as np
from bpy_extras.io_utils import ImportHelper

from . import gpencil, importer, jobs, placement, prefs, readback, record, sources
from .camera import CameraSpec, scene_range
from .contracts import errors as engine_errors
from .contracts import options as opts
from .contracts import protocol
from .driver import JobOperator
from .errors import UserError
from .placement import Placement
from .request import Overrides, make_request, paint_options, replay_mask_of, replay_of, temporal_options
from .runner import PaintJob, RestyleJob, ShotJob

#: Of the options a painting keeps, those Refine paints with whatever the panel says (the
#: painting's style, size and levels are its own; the device and a style image are the panel's).
KEPT_OPTIONS = ("seed", "renderer", "weights", "iterations", "refine", "min_alpha", "ot_weight", "tuning")


def still_painting(obj: Any) -> bool:
    """A painting made by this add-on that is a still (Refine, Restyle and Replay take
    stills; a painted shot's frames are its animation)."""
    return gpencil.painting_canvas(obj) is not None and gpencil.shot_info(obj) is None


class NEURAL_PAINTER_OT_paint(JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.paint"
    bl_label = "Paint"
    bl_description = ("Paint the reference image (or every frame of a shot) as a new Grease Pencil object "
                      "(Esc or Cancel stops and keeps the strokes, or the frames, so far)")
    bl_options = {"REGISTER", "UNDO"}

    def camera_spec(self, context: Any) -> CameraSpec | None:
        settings = context.scene.neural_painter
        if settings.source == "CAMERA":
            return sources.camera_spec(context, settings)
        if settings.source == "CAMERA_RANGE":
            return sources.camera_spec(context, settings, scene_range(context.scene))
        return None

    def precheck(self, context: Any) -> None:
        settings = context.scene.neural_painter
        placement.from_settings(context, settings, settings.source in {"CAMERA", "CAMERA_RANGE"})
        if settings.source not in {"MOVIE", "CAMERA_RANGE"}:
            replay_mask_of(settings)

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        settings = context.scene.neural_painter
        if settings.source in {"MOVIE", "CAMERA_RANGE"}:
            return self._shot_job(context, folder, overrides, camera_image)
        src = sources.reference(context, settings, folder, camera_image)
        request = make_request(overrides, paint_options(settings, folder), **src.fields)
        return PaintJob(context, request, name=src.name,
                        placement=placement.from_settings(context, settings, settings.source == "CAMERA"),
                        replay=replay_of(settings), replay_mask=replay_mask_of(settings), reference=src.record,
                        reference_block=src.block, own_materials=settings.own_materials,
                        python=prefs.python_for_worker(), site_dir=prefs.site_dir())

    def _shot_job(self, context: Any, folder: str, overrides: Overrides, camera_frames: str | None) -> PaintJob:
        """A shot: the temporal painter (``core.painters.shot``, as ``paint-frames``) over a movie or
        sequence, or over the camera's renders of the frame range (each painted frame
        lands on the frame it was rendered at)."""
        from . import camera

        settings = context.scene.neural_painter
        scene = context.scene
        if settings.source == "CAMERA_RANGE":
            frames_rendered = scene_range(scene)
            spec = camera_frames or camera.render_range_blocking(
                context, folder, sources.camera_spec(context, settings, frames_rendered))
            name, start, frames = "Camera", int(scene.frame_start), None
            reference: dict[str, Any] = {"kind": "CAMERA_RANGE", "camera": scene.camera.name if scene.camera else "",
                                         "frames": frames_rendered}
            block = scene.camera
        else:
            spec, name = sources.shot_input(settings)
            start, frames = int(settings.shot_start), settings.shot_frames.strip() or None
            reference, block = {"kind": "SHOT", "input": spec, "frames": frames, "start": start}, None
        to_fps = None
        if settings.source == "MOVIE" and settings.shot_match_rate and sources.is_video(spec):
            render = scene.render
            to_fps = float(render.fps) / float(render.fps_base)
        shot = protocol.ShotSpec(input=spec, out=os.path.join(folder, "painted"), range=frames, to_fps=to_fps,
                                 temporal=temporal_options(settings))
        request = make_request(overrides, paint_options(settings, folder), frames=shot)
        return ShotJob(context, request, start=start, name=f"Shot {name}",
                       placement=placement.from_settings(context, settings, settings.source == "CAMERA_RANGE"),
                       reference=reference, reference_block=block, own_materials=settings.own_materials,
                       python=prefs.python_for_worker(), site_dir=prefs.site_dir())


class NEURAL_PAINTER_OT_refine(JobOperator, bpy.types.Operator):
    bl_idname = "neural_painter.refine"
    bl_label = "Refine Painting"
    bl_description = ("Paint finer strokes onto the active painting, towards the picture it was painted from, "
                      "with any strokes moved, recolored or deleted by hand; the whole painting, only where a mask "
                      "is bright, or only its selected strokes (every other stroke stays). The result is a new "
                      "object; the painting is hidden, not changed")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return still_painting(context.active_object)

    def camera_spec(self, context: Any) -> CameraSpec | None:
        return sources.stored_camera(context, context.active_object, context.scene.neural_painter)

    def precheck(self, context: Any) -> None:
        src = context.active_object
        self._region(context, src, None)  # no mask or selection: refused before anything renders
        replay_mask_of(context.scene.neural_painter)
        if src.mode != "OBJECT" and context.window is not None and getattr(context, "area", None) is not None:
            bpy.ops.object.mode_set(mode="OBJECT")  # the result is a new object: leave Edit Mode first

    def _region(self, context: Any, src: Any, folder: str | None) -> protocol.RegionSpec | None:
        settings = context.scene.neural_painter
        if settings.refine_region == "MASK":
            if settings.refine_mask is None:
                raise UserError("Region Mask needs a mask image: choose one that is white where the painting "
                                "should change")
            if folder is None:
                return None
            pixels = sources.image_pixels(settings.refine_mask)
            path = os.path.join(folder, "region.npy")
            np.save(path, pixels[..., :3].mean(-1) if pixels.ndim == 3 else pixels)
            return protocol.RegionSpec(mask=path)
        if settings.refine_region == "SELECTED":
            picked = gpencil.selected_strokes(src)
            if not picked:
                raise UserError(f"no strokes of '{src.name}' are selected: select strokes in Edit Mode, or choose "
                                "another Region")
            return protocol.RegionSpec(selected=tuple(picked))
        return None

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        """The painting's own reference, style and size, whatever the panel says; the
        scene's settings are never changed, so a failed Refine leaves them as they were."""
        settings = context.scene.neural_painter
        src = context.active_object
        canvas, drawn = readback.drawn_strokes(src)
        reference = sources.stored_reference(context, src, settings, folder, camera_image)
        options = paint_options(settings, folder, strokes=int(settings.refine_strokes), style=canvas.style,
                                size=max(canvas.width, canvas.height), levels=None)
        kept = {k: v for k, v in (record.options(src) or {}).items() if k in KEPT_OPTIONS}
        if kept:
            try:
                options = opts.PaintOptions.from_dict({**options.to_dict(), **kept})
            except (engine_errors.PainterError, TypeError):
                pass  # kept by another version of the engine: paint with the panel's
        request = make_request(overrides, options, **reference.fields, init=readback.painting_init(canvas),
                               drawn=drawn, add_levels=int(settings.refine_levels),
                               region=self._region(context, src, folder))
        canvas_layer = src.data.layers.get(gpencil.CANVAS_LAYER)
        where = Placement(width_m=canvas.width_m, like=src, name=f"{src.name} Refined",
                          collection=src.users_collection[0] if src.users_collection else None,
                          show_canvas=canvas_layer is None or not canvas_layer.hide)
        job = PaintJob(context, request, name=f"{src.name} Refined", placement=where, replay=replay_of(settings),
                       replay_mask=replay_mask_of(settings), reference=record.reference(src) or reference.record,
                       reference_block=record.reference_block(src) or reference.block,
                       own_materials=settings.own_materials or gpencil.has_own_materials(src),
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
                      "content (Color mode changes colors only); the strokes are replaced in place when it "
                      "finishes, and a canceled or failed run changes nothing")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        settings = getattr(context.scene, "neural_painter", None)
        return settings is not None and sources.style_chosen(settings) and still_painting(context.active_object)

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

    def worker_engine(self) -> str:
        return "import"

    def download_check(self, context: Any) -> bool:
        return False  # nothing to download: no style pass

    def make_job(self, context: Any, folder: str, overrides: Overrides, camera_image: str | None = None) -> PaintJob:
        return importer.make_job(context, str(self.filepath), int(self.start_frame),  # type: ignore[attr-defined]
                                 overrides)


def menu_import(self: Any, context: Any) -> None:
    self.layout.operator(NEURAL_PAINTER_OT_import.bl_idname, text="Neural Painter Strokes (.json)")


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


class NEURAL_PAINTER_OT_apply_replay(bpy.types.Operator):
    bl_idname = "neural_painter.apply_replay"
    bl_label = "Apply Replay"
    bl_description = ("Retime the active painting's replay with the Replay settings: its order and pace, "
                      "hand edits included (strokes drawn by hand appear last)")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return still_painting(context.active_object) and jobs.active() is None

    def execute(self, context: Any) -> set[Any]:
        obj = context.active_object
        settings = context.scene.neural_painter
        canvas = gpencil.painting_canvas(obj)
        assert canvas is not None
        created = gpencil.Created()
        try:
            replay = replay_of(settings)
            keys = gpencil.apply_replay(obj, canvas, replay, created, replay_mask_of(settings))
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if not keys:
            self.report({"INFO"}, f"'{obj.name}' is a still: no replay")
        else:
            self.report({"INFO"}, f"'{obj.name}' replays over frames {keys[0][0]:g}-{keys[-1][0]:g}")
        return {"FINISHED"}


class NEURAL_PAINTER_OT_randomize_seed(bpy.types.Operator):
    bl_idname = "neural_painter.randomize_seed"
    bl_label = "Randomize Seed"
    bl_description = "Pick a new random seed: the next painting differs from the last"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> set[Any]:
        settings = context.scene.neural_painter
        settings.seed = random.randint(0, opts.MAX_SEED)
        return {"FINISHED"}


CLASSES = (NEURAL_PAINTER_OT_paint, NEURAL_PAINTER_OT_refine, NEURAL_PAINTER_OT_restyle, NEURAL_PAINTER_OT_import,
           NEURAL_PAINTER_OT_cancel, NEURAL_PAINTER_OT_apply_replay, NEURAL_PAINTER_OT_randomize_seed)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.TOPBAR_MT_file_import.append(menu_import)  # type: ignore[arg-type]


def unregister() -> None:
    jobs.end_active()
    bpy.types.TOPBAR_MT_file_import.remove(menu_import)  # type: ignore[arg-type]
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
