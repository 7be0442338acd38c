"""Every panel's and the preferences' ``draw``, in every state they show, on a recording
layout that rejects a property, operator, icon or enum value this Blender lacks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import standins
from conftest import bpy, paint


@pytest.fixture
def torch_state(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The preferences' torch state, set by each test (no probe runs meanwhile)."""
    from blender_neural_painter import prefs

    state = {"torch": "ok", "info": {"torch": "2.13.0+cpu", "device": "cpu", "cv2": "4.11.0", "av": "18.1.0"},
             "install": None}
    monkeypatch.setattr(prefs, "STATE", state)
    return state


def panels() -> list[type]:
    from blender_neural_painter import ui

    return list(ui.CLASSES)


def draw_all(context: Any) -> dict[str, standins.Layout]:
    return {cls.__name__: standins.draw(cls, context) for cls in panels()}


def context(obj: Any = None) -> SimpleNamespace:
    return SimpleNamespace(scene=bpy.context.scene, window_manager=bpy.context.window_manager, active_object=obj)


def test_panels_before_and_after_a_painting(scene: Any, image_path: Path, torch_state: dict[str, Any]) -> None:
    layouts = draw_all(context())
    main = layouts["NEURAL_PAINTER_PT_main"]
    assert "neural_painter.paint" in main.texts("operator") and "neural_painter.cancel" not in main.texts("operator")
    assert {"source", "image_path", "style", "strokes", "levels", "width_m", "background"} <= set(main.texts("prop"))
    assert "Select a painting made by Neural Painter" in layouts["NEURAL_PAINTER_PT_refine"].texts("label")
    assert "No style image: painting without style" in layouts["NEURAL_PAINTER_PT_style"].texts("label")
    assert "torch 2.13.0+cpu on CPU" in layouts["NEURAL_PAINTER_PT_engine"].texts("label")
    result, job = paint(scene, image_path, engine="random", strokes=6, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    layouts = draw_all(context(obj))
    assert "Select a painting made by Neural Painter" not in layouts["NEURAL_PAINTER_PT_refine"].texts("label")
    assert "Done: 6 strokes" in layouts["NEURAL_PAINTER_PT_main"].texts("label")  # the last run's outcome


@pytest.mark.parametrize("source", ["FILE", "IMAGE", "CAMERA"])
@pytest.mark.parametrize("style_source", ["FILE", "IMAGE"])
def test_every_source_and_style_source(scene: Any, torch_state: dict[str, Any], source: str,
                                       style_source: str) -> None:
    s = scene.neural_painter
    s.source, s.style_source, s.background, s.animation = source, style_source, "CUSTOM", "KEYFRAMES"
    layouts = draw_all(context())
    props = set(layouts["NEURAL_PAINTER_PT_main"].texts("prop"))
    assert {"FILE": "image_path", "IMAGE": "image", "CAMERA": "source"}[source] in props
    assert "background_color" in props and "keyframe_every" in layouts["NEURAL_PAINTER_PT_animation"].texts("prop")
    if source == "CAMERA":
        assert "Camera: none" in layouts["NEURAL_PAINTER_PT_main"].texts("label")
    style_props = set(layouts["NEURAL_PAINTER_PT_style"].texts("prop"))
    assert ("style_image_path" if style_source == "FILE" else "style_image") in style_props


@pytest.mark.parametrize("online", [True, False])
def test_style_panel_says_what_vgg16_needs(scene: Any, torch_state: dict[str, Any], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, online: bool) -> None:
    from blender_neural_painter import consent

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(consent, "online_access", lambda: online)
    s = scene.neural_painter
    s.style_image_path, s.style_features = str(tmp_path / "art.png"), "vgg16"
    labels = standins.draw(panels()[2], context()).texts("label")
    if online:
        assert any(l.startswith("Downloads VGG-16 (~528 MB)") for l in labels)
    else:
        assert "VGG-16 needs Allow Online Access (Preferences > System)" in labels


def test_panels_while_running_and_torch_missing(scene: Any, torch_state: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import jobs

    torch_state.update(torch="missing", info={"torch": None, "error": "No module named 'torch'"})
    run = jobs.Run()
    monkeypatch.setitem(jobs._SLOT, "run", run)  # a camera render in progress
    layouts = draw_all(context())
    main = layouts["NEURAL_PAINTER_PT_main"]
    assert main.texts("progress") == ["Rendering the camera..."]
    assert "neural_painter.cancel" in main.texts("operator") and "neural_painter.paint" not in main.texts("operator")
    assert "Torch is not available to the painting engine." in main.texts("label")
    assert "torch not found" in layouts["NEURAL_PAINTER_PT_engine"].texts("label")
    run.cancel()
    assert standins.draw(panels()[0], context()).texts("progress") == ["Cancelling the camera render..."]
    jobs.end(run)
    assert not Path(run.tmp).exists()


def prefs_draw(torch_source: str = "BLENDER") -> standins.Layout:
    from blender_neural_painter import prefs

    return standins.draw(prefs.NeuralPainterPreferences, context(), torch_source=torch_source,
                         python_path="", vgg_weights="")


def test_preferences_in_every_state(torch_state: dict[str, Any], tmp_path: Path) -> None:
    from blender_neural_painter import torch_setup

    layout = prefs_draw()
    assert layout.texts("prop") == ["torch_source", "vgg_weights"]
    assert "neural_painter.install_torch" in layout.texts("operator")
    assert "torch 2.13.0+cpu on CPU" in layout.texts("label")
    torch_state["info"] = {"torch": "2.13.0+cpu", "device": "cpu", "cv2": None, "av": None}
    assert "torch 2.13.0+cpu on CPU (no OpenCV: stills only)" in prefs_draw().texts("label")  # shots need it
    assert "python_path" in prefs_draw("EXTERNAL").texts("prop")
    assert "neural_painter.install_torch" not in prefs_draw("EXTERNAL").texts("operator")

    torch_state.update(torch="missing", info={"torch": None, "error": "No module named 'torch'"})
    install = torch_setup.Install(str(tmp_path / "site"))
    install.running, install.summary = True, "Installing torch 2.13.0 (CPU) into x..."
    install.lines.extend(f"pip line {i}" for i in range(20))
    torch_state["install"] = install
    labels = prefs_draw().texts("label")
    assert "No module named 'torch'" in labels and install.summary in labels
    assert labels[-6:] == [f"pip line {i}" for i in range(14, 20)]  # the tail of pip's output

    install.running, install.ok, install.summary = False, False, "Install failed: No matching distribution"
    labels = prefs_draw().texts("label")
    assert "Install failed: No matching distribution" in labels and "pip line 19" in labels
    install.ok, install.summary = True, "Installed torch 2.13.0+cpu (CPU) into x"
    labels = prefs_draw().texts("label")
    assert "Installed torch 2.13.0+cpu (CPU) into x" in labels and "pip line 19" not in labels


def test_the_recording_layout_rejects_unknown_names(scene: Any) -> None:
    """The checks the panel tests rely on do fail."""
    layout = standins.Layout()
    with pytest.raises(AssertionError):
        layout.prop(scene.neural_painter, "no_such_setting")
    with pytest.raises(KeyError):
        layout.operator("neural_painter.no_such_operator")
    with pytest.raises(AssertionError):
        layout.label(text="x", icon="NO_SUCH_ICON")
    with pytest.raises(AssertionError):
        layout.progress(factor=0.5, type="NO_SUCH_TYPE")


@pytest.mark.parametrize("shot_source", ["FILE", "CLIP", "IMAGE"])
def test_shot_sources_draw(scene: Any, torch_state: dict[str, Any], shot_source: str) -> None:
    """Movie / Sequence shows where its frames come from, which frames and where they
    land; Camera Animation names the camera and the frame range it renders."""
    s = scene.neural_painter
    s.source, s.shot_source = "MOVIE", shot_source
    main = draw_all(context())["NEURAL_PAINTER_PT_main"]
    props = main.texts("prop")
    assert {"FILE": "movie_path", "CLIP": "movie_clip", "IMAGE": "image"}[shot_source] in props
    assert {"shot_source", "shot_frames", "shot_start"} <= set(props)
    if shot_source == "CLIP":
        assert "clip.open" in main.texts("operator")
    s.source = "CAMERA_RANGE"
    scene.frame_start, scene.frame_end = 4, 9
    main = draw_all(context())["NEURAL_PAINTER_PT_main"]
    assert "Camera: none, frames 4-9" in main.texts("label")
