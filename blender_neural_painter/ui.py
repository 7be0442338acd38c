"""The "Neural Painter" tab in the 3D viewport sidebar."""

from __future__ import annotations

from typing import Any

import bpy

from . import consent, gpencil, jobs, prefs
from .sources import style_chosen


class NEURAL_PAINTER_PT_main(bpy.types.Panel):
    bl_label = "Neural Painter"
    bl_idname = "NEURAL_PAINTER_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Neural Painter"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        s = context.scene.neural_painter
        run = jobs.active()

        col = layout.column()
        col.enabled = run is None
        col.prop(s, "source")
        if s.source == "FILE":
            col.prop(s, "image_path", text="")
        elif s.source == "IMAGE":
            col.template_ID(s, "image", open="image.open")
        elif s.source == "MOVIE":
            col.prop(s, "shot_source", text="")
            if s.shot_source == "FILE":
                col.prop(s, "movie_path", text="")
            elif s.shot_source == "CLIP":
                col.template_ID(s, "movie_clip", open="clip.open")
            else:
                col.template_ID(s, "image", open="image.open")
            col.prop(s, "shot_frames")
            col.prop(s, "shot_start")
            col.prop(s, "shot_match_rate")
            col.prop(s, "shot_keep_look")
            col.prop(s, "shot_keep_look_moving")
        elif s.source == "CAMERA_RANGE":
            scene = context.scene
            col.label(text=f"Camera: {scene.camera.name if scene.camera else 'none'}, "
                           f"frames {scene.frame_start}-{scene.frame_end}", icon="CAMERA_DATA")
            col.prop(s, "shot_keep_look")
            col.prop(s, "shot_keep_look_moving")
        else:
            col.label(text=f"Camera: {context.scene.camera.name if context.scene.camera else 'none'}",
                      icon="CAMERA_DATA")
        col.separator()
        col.prop(s, "style")
        col.prop(s, "strokes")
        col.prop(s, "levels")
        col.prop(s, "width_m")
        row = col.row(align=True)
        row.prop(s, "background", text="Background")
        if s.background == "CUSTOM":
            row.prop(s, "background_color", text="")

        if prefs.STATE["torch"] == "unknown":
            prefs.check_torch_async()
        if prefs.STATE["torch"] == "missing":
            box = layout.box()
            box.label(text="Torch is not available to the painting engine.", icon="ERROR")
            box.label(text="Install it or choose a Python with torch in")
            box.label(text="Edit > Preferences > Add-ons > Neural Painter.")

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


class _SubPanel:
    """Where the collapsed sub-panels of the main panel live (Blender's mixin idiom)."""

    bl_parent_id: Any = "NEURAL_PAINTER_PT_main"
    bl_space_type: Any = "VIEW_3D"
    bl_region_type: Any = "UI"
    bl_category: Any = "Neural Painter"
    bl_options: Any = {"DEFAULT_CLOSED"}


class NEURAL_PAINTER_PT_engine(_SubPanel, bpy.types.Panel):
    bl_label = "Engine"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        layout: Any = self.layout
        col = layout.column()
        col.enabled = jobs.active() is None
        col.prop(s, "size")
        col.prop(s, "renderer")
        col.prop(s, "device")
        col.prop(s, "seed")
        col.label(text=prefs.torch_summary(), icon="INFO")


class NEURAL_PAINTER_PT_animation(_SubPanel, bpy.types.Panel):
    bl_label = "Animation"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        layout: Any = self.layout
        col = layout.column()
        col.prop(s, "animation", text="")
        sub = col.column()
        sub.enabled = s.animation != "NONE"
        sub.prop(s, "anim_start")
        sub.prop(s, "anim_duration")
        if s.animation == "KEYFRAMES":
            sub.prop(s, "keyframe_every")


class NEURAL_PAINTER_PT_refine(_SubPanel, bpy.types.Panel):
    bl_label = "Refine"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        layout: Any = self.layout
        col = layout.column()
        if gpencil.painting_canvas(context.active_object) is None:
            col.label(text="Select a painting made by Neural Painter", icon="INFO")
        col.prop(s, "refine_strokes")
        col.prop(s, "refine_levels")
        col.operator("neural_painter.refine", icon="MOD_SUBSURF")


class NEURAL_PAINTER_PT_style(_SubPanel, bpy.types.Panel):
    bl_label = "Style"

    def draw(self, context: Any) -> None:
        s = context.scene.neural_painter
        layout: Any = self.layout
        col = layout.column()
        col.enabled = jobs.active() is None
        col.prop(s, "style_source", text="")
        if s.style_source == "FILE":
            col.prop(s, "style_image_path", text="")
        else:
            col.template_ID(s, "style_image", open="image.open")
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


CLASSES = (NEURAL_PAINTER_PT_main, NEURAL_PAINTER_PT_engine, NEURAL_PAINTER_PT_style,
           NEURAL_PAINTER_PT_animation, NEURAL_PAINTER_PT_refine)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
