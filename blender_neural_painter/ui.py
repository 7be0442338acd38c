"""The "Neural Painter" tab in the 3D viewport sidebar, and the menu entries.

The main panel holds what every painting needs (where the picture comes from, the
style, how many strokes, the canvas) and the Paint button; the rest is in sub-panels,
closed until opened: Shot, Placement, Detail, Paint, Style, Replay, Refine, Engine.
Every panel lays out as Blender's own do (labels left, fields right), and ``draw``
only draws: nothing is started from it.

The Detail and Paint sub-panels are where the artist's controls of the painting's
detail and paint go; a setting added there is one ``col.prop`` in their ``draw``.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import consent, gpencil, jobs, prefs, record
from .presets import NEURAL_PAINTER_PT_presets
from .sources import style_chosen


def _column(panel: Any, context: Any, enabled: bool = True) -> Any:
    """A column laid out as Blender's panels are: labels left, values right."""
    layout: Any = panel.layout
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.enabled = enabled
    return col


def _idle() -> bool:
    return jobs.active() is None


class NEURAL_PAINTER_PT_main(bpy.types.Panel):
    bl_label = "Neural Painter"
    bl_idname = "NEURAL_PAINTER_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Neural Painter"

    def draw_header_preset(self, context: Any) -> None:
        NEURAL_PAINTER_PT_presets.draw_panel_header(self.layout)

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        run = jobs.active()
        col = _column(self, context, run is None)
        col.prop(s, "source")
        if s.source == "FILE":
            col.prop(s, "image_path")
        elif s.source == "IMAGE":
            _image_field(col, s, "image")
        elif s.source == "MOVIE":
            col.prop(s, "shot_source")
            if s.shot_source == "FILE":
                col.prop(s, "movie_path")
            elif s.shot_source == "CLIP":
                row = col.row(align=True)
                row.prop(s, "movie_clip")
                row.operator("clip.open", text="", icon="FILE_FOLDER")
            else:
                _image_field(col, s, "image")
        else:
            scene = context.scene
            what = f"Camera: {scene.camera.name if scene.camera else 'none'}"
            if s.source == "CAMERA_RANGE":
                what += f", frames {scene.frame_start}-{scene.frame_end}"
            col.label(text=what, icon="CAMERA_DATA")
            col.prop(s, "camera_engine")
            col.prop(s, "camera_percent")
        col.separator()
        col.prop(s, "style")
        col.prop(s, "strokes")
        col.prop(s, "levels_auto")
        sub = col.column()
        sub.active = not s.levels_auto
        sub.prop(s, "levels")
        col.prop(s, "background")
        if s.background == "CUSTOM":
            col.prop(s, "background_color")

        layout: Any = self.layout
        if prefs.STATE["torch"] == "missing":
            box = layout.box()
            box.label(text="Torch is not available to the painting engine", icon="ERROR")
            box.label(text="Install it, or choose a Python that has it, in the preferences")
            op = box.operator("preferences.addon_show", text="Open Preferences", icon="PREFERENCES")
            op.module = prefs.PACKAGE
        elif prefs.STATE["torch"] == "unknown":
            layout.operator("neural_painter.check_torch", icon="FILE_REFRESH")

        if run is None:
            row = layout.row()
            row.scale_y = 1.5
            row.operator("neural_painter.paint", icon="BRUSH_DATA")
            last = context.window_manager.neural_painter_run.status
            if last:
                layout.label(text=last)
        else:
            layout.progress(factor=run.fraction, type="BAR", text=run.status)
            layout.operator("neural_painter.cancel", icon="CANCEL")


def _image_field(col: Any, data: Any, name: str) -> None:
    """An image of the blend file, with a button to open one from disk."""
    row = col.row(align=True)
    row.prop(data, name)
    row.operator("image.open", text="", icon="FILE_FOLDER")


class _SubPanel:
    """Where the collapsed sub-panels of the main panel live (Blender's mixin idiom)."""

    bl_parent_id: Any = "NEURAL_PAINTER_PT_main"
    bl_space_type: Any = "VIEW_3D"
    bl_region_type: Any = "UI"
    bl_category: Any = "Neural Painter"
    bl_options: Any = {"DEFAULT_CLOSED"}


class NEURAL_PAINTER_PT_shot(_SubPanel, bpy.types.Panel):
    """Which frames of a shot, where they land, how each follows the last."""

    bl_label = "Shot"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return context.scene.neural_painter.source in {"MOVIE", "CAMERA_RANGE"}

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        if s.source == "MOVIE":
            col.prop(s, "shot_frames")
            col.prop(s, "shot_start")
            col.prop(s, "shot_match_rate")
        col.prop(s, "shot_keep_look")
        col.prop(s, "shot_keep_look_moving")


class NEURAL_PAINTER_PT_placement(_SubPanel, bpy.types.Panel):
    bl_label = "Placement"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        col.prop(s, "placement")
        fits = s.placement == "CAMERA" or (s.placement == "AUTO" and s.source in {"CAMERA", "CAMERA_RANGE"})
        if fits:
            col.prop(s, "camera_distance")
            col.prop(s, "camera_parent")
        else:
            col.prop(s, "width_m")
        col.prop(s, "collection")
        col.prop(s, "object_name")
        col.prop(s, "own_materials")


class NEURAL_PAINTER_PT_detail(_SubPanel, bpy.types.Panel):
    """How much detail the painting gets, and where."""

    bl_label = "Detail"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        col.prop(s, "size")


class NEURAL_PAINTER_PT_paint(_SubPanel, bpy.types.Panel):
    """The paint the strokes are made of (palette, brush). Hidden while it holds nothing:
    list a setting in :attr:`FIELDS` (or draw it below) and it shows."""

    bl_label = "Paint"
    FIELDS: tuple[str, ...] = ("brush",)

    @classmethod
    def poll(cls, context: Any) -> bool:
        return bool(cls.FIELDS)

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        for name in self.FIELDS:
            col.prop(s, name)


class NEURAL_PAINTER_PT_style(_SubPanel, bpy.types.Panel):
    bl_label = "Style"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        col.prop(s, "style_source")
        if s.style_source == "FILE":
            col.prop(s, "style_image_path")
        else:
            _image_field(col, s, "style_image")
        sub = col.column()
        sub.active = style_chosen(s)
        sub.prop(s, "style_mode", expand=True)
        sub.prop(s, "style_weight")
        sub.prop(s, "style_features")
        if s.style_features == "vgg16" and consent.download_needed(s):
            if consent.online_access():
                sub.label(text=f"Downloads VGG-16 (~{consent.VGG16_DOWNLOAD_MB} MB) to "
                               f"{consent.vgg16_cache_path().parent}", icon="URL")
            else:
                sub.label(text="VGG-16 needs Allow Online Access (Preferences > System)", icon="ERROR")
        if not style_chosen(s):
            col.label(text="No style image: painting without style", icon="INFO")
        elif gpencil.painting_canvas(context.active_object) is None:
            col.label(text="Select a painting to restyle it", icon="INFO")
        col.operator("neural_painter.restyle", icon="BRUSHES_ALL")


class NEURAL_PAINTER_PT_replay(_SubPanel, bpy.types.Panel):
    """How the painting appears on the timeline: the order of its strokes and the pace."""

    bl_label = "Replay"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        col.prop(s, "animation")
        sub = col.column()
        sub.active = s.animation != "NONE"
        sub.prop(s, "replay_order")
        if s.replay_order == "REGION":
            _image_field(sub, s, "replay_mask")
        elif s.replay_order == "OUTWARD":
            sub.prop(s, "replay_origin")
        elif s.replay_order == "DIRECTION":
            sub.prop(s, "replay_angle")
        sub.prop(s, "anim_start")
        sub.prop(s, "anim_duration")
        sub.prop(s, "replay_ease")
        sub.prop(s, "replay_hold")
        if s.animation == "KEYFRAMES":
            sub.prop(s, "keyframe_every")
        obj = context.active_object
        if gpencil.painting_canvas(obj) is None:
            col.label(text="Applies to the next painting, or select one to retime it", icon="INFO")
        col.operator("neural_painter.apply_replay", icon="PLAY")


class NEURAL_PAINTER_PT_refine(_SubPanel, bpy.types.Panel):
    bl_label = "Refine"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        obj = context.active_object
        if gpencil.painting_canvas(obj) is None:
            col.label(text="Select a painting made by Neural Painter", icon="INFO")
        else:
            col.label(text=f"Painted from {record.describe(record.reference(obj))}", icon="IMAGE_DATA")
        col.prop(s, "refine_region")
        if s.refine_region == "MASK":
            _image_field(col, s, "refine_mask")
        elif s.refine_region == "SELECTED" and gpencil.painting_canvas(obj) is not None:
            col.label(text=f"{len(gpencil.selected_strokes(obj))} strokes selected", icon="RESTRICT_SELECT_OFF")
        col.prop(s, "refine_strokes")
        col.prop(s, "refine_levels")
        col.operator("neural_painter.refine", icon="MOD_SUBSURF")


class NEURAL_PAINTER_PT_engine(_SubPanel, bpy.types.Panel):
    bl_label = "Engine"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        col = _column(self, context, _idle())
        col.prop(s, "renderer")
        col.prop(s, "device")
        for text, icon in prefs.device_notes(s.device):
            col.label(text=text, icon=icon)
        row = col.row(align=True)
        row.prop(s, "seed")
        row.operator("neural_painter.randomize_seed", text="", icon="FILE_REFRESH")
        col.label(text=prefs.torch_summary(), icon="INFO")


# --- menus: F3 finds an operator through the menus that list it ----------------------------

class NEURAL_PAINTER_MT_object(bpy.types.Menu):
    bl_idname = "NEURAL_PAINTER_MT_object"
    bl_label = "Neural Painter"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        layout.operator("neural_painter.paint", text="Paint from Image", icon="BRUSH_DATA")
        layout.operator("neural_painter.refine", icon="MOD_SUBSURF")
        layout.operator("neural_painter.restyle", icon="BRUSHES_ALL")
        layout.operator("neural_painter.apply_replay", icon="PLAY")
        layout.separator()
        layout.operator("neural_painter.import_strokes", text="Import Strokes...", icon="IMPORT")


def menu_object(self: Any, context: Any) -> None:
    self.layout.menu(NEURAL_PAINTER_MT_object.bl_idname, icon="BRUSH_DATA")


def menu_add(self: Any, context: Any) -> None:
    self.layout.operator("neural_painter.paint", text="Neural Painting", icon="BRUSH_DATA")


def _menus() -> tuple[tuple[Any, Any], ...]:
    """(menu, function) pairs appended when registering: Object > Neural Painter, and
    Add > Grease Pencil > Neural Painting."""
    return ((bpy.types.VIEW3D_MT_object, menu_object), (bpy.types.VIEW3D_MT_grease_pencil_add, menu_add))

CLASSES = (NEURAL_PAINTER_PT_main, NEURAL_PAINTER_PT_shot, NEURAL_PAINTER_PT_placement, NEURAL_PAINTER_PT_detail,
           NEURAL_PAINTER_PT_paint, NEURAL_PAINTER_PT_style, NEURAL_PAINTER_PT_replay, NEURAL_PAINTER_PT_refine,
           NEURAL_PAINTER_PT_engine, NEURAL_PAINTER_MT_object)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    for menu, fn in _menus():
        menu.append(fn)


def unregister() -> None:
    for menu, fn in _menus():
        menu.remove(fn)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
