"""Presets of the panel's settings, through Blender's own preset system: the preset
button in the panel's header lists the presets that ship with the add-on (Quick Sketch,
Detailed Portrait, Poster) and the artist's own, saved with + into Blender's user
presets folder (``scripts/presets/neural_painter``), as render or camera presets are.
A preset is a small Python file that sets the settings, run by Blender's
``script.execute_preset``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bpy
from bl_operators.presets import AddPresetBase
from bl_ui.utils import PresetPanel

SUBDIR = "neural_painter"
#: The presets that ship with the add-on (read-only: they cannot be removed from Blender).
SHIPPED = Path(__file__).resolve().parent / "preset_files"

#: The settings a preset holds: what the painting looks like and how it replays, not
#: where it comes from or lands (source, placement, refine).
VALUES = ("style", "strokes", "levels_auto", "levels", "size", "background", "background_color", "renderer",
          "animation", "replay_order", "anim_duration", "replay_ease", "replay_hold", "keyframe_every")


class NEURAL_PAINTER_PT_presets(PresetPanel, bpy.types.Panel):
    bl_label = "Neural Painter Presets"
    preset_subdir = SUBDIR
    preset_operator = "script.execute_preset"
    preset_add_operator = "neural_painter.preset_add"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        layout.emboss = "PULLDOWN_MENU"
        layout.operator_context = "EXEC_DEFAULT"
        # The shipped presets first, then the artist's (Menu.draw_preset reads only the latter).
        paths = [str(SHIPPED)] + bpy.utils.preset_paths(SUBDIR)
        self.path_menu(paths, self.preset_operator, filter_ext=lambda ext: ext.lower() == ".py",  # type: ignore[attr-defined]
                       add_operator=self.preset_add_operator,
                       display_name=lambda name: bpy.path.display_name(name, title_case=False))


class NEURAL_PAINTER_OT_preset_add(AddPresetBase, bpy.types.Operator):  # type: ignore[misc]
    bl_idname = "neural_painter.preset_add"
    bl_label = "Add Neural Painter Preset"
    bl_description = "Save the painting and replay settings as a preset, or remove the chosen one"
    preset_menu = "NEURAL_PAINTER_PT_presets"
    preset_subdir = SUBDIR
    preset_defines = ["settings = bpy.context.scene.neural_painter"]
    preset_values = [f"settings.{name}" for name in VALUES]

    def remove(self, context: Any, filepath: str) -> None:
        if Path(filepath).resolve().parent == SHIPPED:
            raise PermissionError("the presets that ship with Neural Painter cannot be removed")
        os.remove(filepath)


CLASSES = (NEURAL_PAINTER_PT_presets, NEURAL_PAINTER_OT_preset_add)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
