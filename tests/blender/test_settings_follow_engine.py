"""The panel offers exactly what the engine accepts: every painting setting's limits,
default and choices in Blender's properties equal the engine's options contract
(``core.contracts.options``), and the style menu is the engine's list of styles."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import bpy  # noqa: F401  (skips without bpy)

#: Blender property -> the engine setting it feeds.
SAME = {"strokes": "strokes", "size": "size", "seed": "seed", "style_weight": "style_weight", "style": "style",
        "device": "device", "renderer": "renderer", "style_mode": "style_mode",
        "style_features": "style_features"}


def _prop(name: str) -> Any:
    from blender_neural_painter.props import NeuralPainterSettings

    return NeuralPainterSettings.bl_rna.properties[name]


@pytest.mark.parametrize("prop,setting", sorted(SAME.items()))
def test_a_property_has_the_engines_default_and_limits(addon: Any, prop: str, setting: str) -> None:
    from core.contracts.options import PaintOptions

    p, s = _prop(prop), PaintOptions.settings()[setting]
    default = PaintOptions.default_of(setting)
    assert p.default == (pytest.approx(default) if p.type == "FLOAT" else default)  # Blender holds float32
    if s.lo is not None:
        assert p.hard_min == s.lo
    if s.hi is not None:
        assert p.hard_max == s.hi
    if s.soft_hi is not None:
        assert p.soft_max == s.soft_hi
    choices = s.choice_list()
    if choices:
        assert {item.identifier for item in p.enum_items} == set(choices)


def test_the_style_menu_is_every_style_the_engine_knows(addon: Any) -> None:
    from core.contracts.styles import STYLES

    items = {item.identifier: item for item in _prop("style").enum_items}
    assert set(items) == set(STYLES) == {"marker", "watercolor", "oil", "tape"}
    assert items["oil"].name == "Oil" and [i.identifier for i in _prop("style").enum_items][0] == "oil"


def test_auto_levels_is_the_engines_none_and_levels_its_range(scene: Any) -> None:
    from blender_neural_painter.request import paint_options
    from core.contracts.options import PaintOptions

    p, s = _prop("levels"), PaintOptions.settings()["levels"]
    assert (p.hard_min, p.hard_max) == (s.lo, s.hi) and PaintOptions.default_of("levels") is None
    assert _prop("levels_auto").default is True
    settings = scene.neural_painter
    assert paint_options(settings, None).levels is None  # Auto: the engine chooses
    settings.levels_auto, settings.levels = False, 5
    assert paint_options(settings, None).levels == 5


def test_background_choices_and_shot_settings_follow_the_engine(addon: Any) -> None:
    from core.contracts.options import BACKGROUNDS, TemporalOptions

    assert {i.identifier for i in _prop("background").enum_items} == set(BACKGROUNDS) | {"CUSTOM", "TRANSPARENT"}
    for prop, name in (("shot_keep_look", "keep_look"), ("shot_keep_look_moving", "keep_look_moving")):
        p, s = _prop(prop), TemporalOptions.settings()[name]
        assert (p.default, p.hard_min, p.hard_max) == pytest.approx((TemporalOptions.default_of(name), s.lo, s.hi))
    assert _prop("refine_strokes").hard_max == _prop("strokes").hard_max


def test_the_panels_settings_make_options_the_engine_accepts(scene: Any) -> None:
    """Every value the panel can hold paints: the extremes of each range validate."""
    from blender_neural_painter.request import paint_options

    s = scene.neural_painter
    s.levels_auto = False
    for name in ("strokes", "size", "seed", "levels"):
        for end in ("hard_min", "hard_max"):
            setattr(s, name, getattr(_prop(name), end))
            paint_options(s, None).validate()
        setattr(s, name, _prop(name).default)
    s.background, s.background_color = "CUSTOM", (0.2, 0.4, 0.6)
    assert paint_options(s, None).validate().background == pytest.approx((0.2, 0.4, 0.6))
    s.background = "TRANSPARENT"  # painted over the image's mean, the canvas layer hidden
    assert paint_options(s, None).validate().background == "mean"
