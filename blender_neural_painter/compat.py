"""Every ``bpy`` name that differs between the Blender versions the add-on supports.

Supported: Blender 4.3 (the first with Grease Pencil v3) to 5.3. Each difference below
is gated on ``bpy.app.version`` (never on ``hasattr``), so which name a version gets is
written down here and a test can check it against the running ``bpy``; nothing else in
the add-on branches on versions. Verified by introspecting the ``bpy`` module of 4.3.0,
4.4.0, 4.5.15, 5.0.1, 5.1.2, 5.2.3 and 5.3.0 (``tests/blender/test_versions.py`` checks
the running one):

==========================  ====================  =========  ==========================
difference                  4.3 / 4.4             4.5        5.0 / 5.1-5.3
==========================  ====================  =========  ==========================
GP v3 data collection       ``grease_pencils_v3`` same       ``grease_pencils``
Build modifier layer        ``layer_filter``      ``tree_node_filter`` from 4.5
GP render anti-aliasing     ``antialias_threshold``  ``antialias_threshold_render`` and
                            (one for viewport     ``aa_samples`` from 4.5
                            and render)
keyframes of an action      ``action.fcurves``    channel bag of the object's slot from
                            (4.3; 4.4 has slots)  4.4 (``action.fcurves`` gone in 5.0)
material show_stroke/fill   used                  used       unused from 5.1 (setting them
                                                             warns "removed in 6.0")
output format               ``file_format``       same       ``media_type`` first (5.0+:
                                                             a video scene offers no PNG)
Geometry Nodes modifier     ID properties         same       same in 5.0 and 5.1; from 5.2
inputs                      (``mod["Socket_1"]``)            ``mod.properties.inputs``
Python / NumPy              3.11 / 1.x            3.11 / 1.x 3.11 / 1.x (5.0);
                                                             3.13 / 2.x (5.1+)
==========================  ====================  =========  ==========================

Also version-specific, but handled the same way everywhere: with an Operator, Panel or
AddonPreferences class, a ``bpy.app.timers`` function or an ``app.handlers`` function
still registered when the interpreter exits, the ``bpy`` module of 4.3 segfaults and
that of 4.5 deadlocks. The add-on therefore unregisters everything at exit
(``__init__.py``) and never leaves a handler or timer behind.
"""

from __future__ import annotations

from typing import Any

import bpy

#: The oldest Blender the add-on supports (``blender_manifest.toml`` says the same).
MIN_VERSION = (4, 3, 0)
VERSION: tuple[int, int, int] = tuple(bpy.app.version[:3])  # type: ignore[assignment]


def at_least(major: int, minor: int, patch: int = 0) -> bool:
    return VERSION >= (major, minor, patch)


# --- Grease Pencil data ----------------------------------------------------------------

#: ``bpy.data`` collection of Grease Pencil v3 data (4.3-4.5 keep legacy v2 data in
#: ``grease_pencils``).
GP_DATABLOCKS = "grease_pencils" if at_least(5, 0) else "grease_pencils_v3"


def gp_datablocks() -> Any:
    return getattr(bpy.data, GP_DATABLOCKS)


#: The Build modifier's "only this layer" property.
BUILD_LAYER_FILTER = "tree_node_filter" if at_least(4, 5) else "layer_filter"


def set_build_layer(modifier: Any, layer_name: str) -> None:
    setattr(modifier, BUILD_LAYER_FILTER, layer_name)


def build_layer(modifier: Any) -> str:
    return str(getattr(modifier, BUILD_LAYER_FILTER))


def show_stroke_only(gp_style: Any) -> None:
    """A Grease Pencil material that draws strokes, not fills. From 5.1 on the two
    switches are unused (strokes draw, fills follow the curve) and setting them warns."""
    if not at_least(5, 1):
        gp_style.show_stroke = True
        gp_style.show_fill = False


# --- rendering -------------------------------------------------------------------------

#: Scene Grease Pencil settings that control how renders anti-alias strokes.
GP_RENDER_AA = ("antialias_threshold_render", "aa_samples") if at_least(4, 5) else ("antialias_threshold",)


def set_gp_render_antialiasing(scene: Any, samples: int) -> None:
    """True supersampling instead of the post-process edge blur where Blender has it
    (4.5+). Before 4.5 Grease Pencil renders take no samples (the Workbench's
    ``display.render_aa`` does not reach them): the edge blur is all there is, so it
    stays on at its default threshold (measured against core's anti-aliased edges on
    4.3: 0.5 to 2.6 dB closer than with it off, ``tests/blender/test_fidelity.py``)."""
    gp = scene.grease_pencil_settings
    if at_least(4, 5):
        gp.antialias_threshold_render = 0.0
        gp.aa_samples = samples
    else:
        gp.antialias_threshold = 1.0


#: Image-format settings that must be set before the others, in this order: from 5.0
#: the file formats on offer depend on ``media_type`` (a video scene has no PNG).
IMAGE_FORMAT_FIRST = ("media_type", "file_format") if at_least(5, 0) else ("file_format",)


def set_png_output(image_settings: Any, color_mode: str = "RGBA") -> None:
    if at_least(5, 0):
        image_settings.media_type = "IMAGE"
    image_settings.file_format = "PNG"
    image_settings.color_mode = color_mode
    image_settings.color_depth = "8"


# --- animation -------------------------------------------------------------------------

def _fcurve_collection(obj: Any) -> Any:
    """Where an object's F-curves are kept (see :func:`object_fcurves`), or None."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return None
    if not at_least(4, 4):
        return ad.action.fcurves
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    bag = action_get_channelbag_for_slot(ad.action, ad.action_slot)
    return bag.fcurves if bag is not None else None


def remove_fcurves(obj: Any, prefix: str) -> None:
    """Remove the object's F-curves whose data path starts with ``prefix``."""
    fcurves = _fcurve_collection(obj)
    for fc in [f for f in fcurves or () if f.data_path.startswith(prefix)]:
        fcurves.remove(fc)


# --- Geometry Nodes modifier inputs ------------------------------------------------------

#: From 5.2 a Geometry Nodes modifier's inputs are RNA properties
#: (``mod.properties.inputs.Socket_1.value``), no longer ID properties (``mod["Socket_1"]``).
MODIFIER_INPUTS_RNA = at_least(5, 2)


def set_modifier_input(modifier: Any, identifier: str, value: Any) -> None:
    if MODIFIER_INPUTS_RNA:
        getattr(modifier.properties.inputs, identifier).value = value
    else:
        modifier[identifier] = value


def modifier_input(modifier: Any, identifier: str) -> Any:
    if MODIFIER_INPUTS_RNA:
        return getattr(modifier.properties.inputs, identifier).value
    return modifier[identifier]


def modifier_input_path(modifier: Any, identifier: str) -> str:
    """The data path (from the object) of a Geometry Nodes modifier's input, to keyframe it."""
    if MODIFIER_INPUTS_RNA:
        return f'modifiers["{modifier.name}"].properties.inputs.{identifier}.value'
    return f'modifiers["{modifier.name}"]["{identifier}"]'


def object_fcurves(obj: Any) -> list[Any]:
    """F-curves of an object's action: the channel bag of its action slot from 4.4 on
    (``action.fcurves`` is gone in 5.0), the action's own list in 4.3."""
    return list(_fcurve_collection(obj) or ())
