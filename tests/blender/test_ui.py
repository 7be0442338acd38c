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

    return [cls for cls in ui.CLASSES if issubclass(cls, bpy.types.Panel)]


def draw_all(context: Any) -> dict[str, standins.Layout]:
    return {cls.__name__: standins.draw(cls, context) for cls in panels()
            if not hasattr(cls, "poll") or cls.poll(context)}


def context(obj: Any = None) -> SimpleNamespace:
    return SimpleNamespace(scene=bpy.context.scene, window_manager=bpy.context.window_manager, active_object=obj)


def test_panels_before_and_after_a_painting(scene: Any, image_path: Path, torch_state: dict[str, Any]) -> None:
    layouts = draw_all(context())
    main = layouts["NEURAL_PAINTER_PT_main"]
    assert "neural_painter.paint" in main.texts("operator") and "neural_painter.cancel" not in main.texts("operator")
    assert {"source", "image_path", "style", "strokes", "levels_auto", "levels", "background"} <= set(main.texts("prop"))
    assert {"placement", "width_m", "collection", "object_name", "own_materials"} <= \
        set(layouts["NEURAL_PAINTER_PT_placement"].texts("prop"))
    assert layouts["NEURAL_PAINTER_PT_detail"].texts("prop") == ["size"]
    assert "Select a painting made by Neural Painter" in layouts["NEURAL_PAINTER_PT_refine"].texts("label")
    assert "No style image: painting without style" in layouts["NEURAL_PAINTER_PT_style"].texts("label")
    assert "torch 2.13.0+cpu on CPU" in layouts["NEURAL_PAINTER_PT_engine"].texts("label")
    result, job = paint(scene, image_path, engine="random", strokes=6, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    layouts = draw_all(context(obj))
    refine = layouts["NEURAL_PAINTER_PT_refine"].texts("label")
    assert "Select a painting made by Neural Painter" not in refine
    assert "Painted from file small.png" in refine  # what the painting keeps of its reference
    assert "Done: 6 strokes" in layouts["NEURAL_PAINTER_PT_main"].texts("label")  # the last run's outcome


@pytest.mark.parametrize("source", ["FILE", "IMAGE", "CAMERA"])
@pytest.mark.parametrize("style_source", ["FILE", "IMAGE"])
def test_every_source_and_style_source(scene: Any, torch_state: dict[str, Any], source: str,
                                       style_source: str) -> None:
    s = scene.neural_painter
    s.source, s.style_source, s.background, s.animation = source, style_source, "CUSTOM", "KEYFRAMES"
    layouts = draw_all(context())
    props = set(layouts["NEURAL_PAINTER_PT_main"].texts("prop"))
    assert {"FILE": "image_path", "IMAGE": "image", "CAMERA": "camera_engine"}[source] in props
    assert "background_color" in props and "keyframe_every" in layouts["NEURAL_PAINTER_PT_replay"].texts("prop")
    if source == "CAMERA":
        assert "Camera: none" in layouts["NEURAL_PAINTER_PT_main"].texts("label")
        assert "camera_percent" in props
        assert {"camera_distance", "camera_parent"} <= set(layouts["NEURAL_PAINTER_PT_placement"].texts("prop"))
    else:
        assert "width_m" in layouts["NEURAL_PAINTER_PT_placement"].texts("prop")
    style_props = set(layouts["NEURAL_PAINTER_PT_style"].texts("prop"))
    assert ("style_image_path" if style_source == "FILE" else "style_image") in style_props


STATES = [("source", ["FILE", "IMAGE", "CAMERA", "CAMERA_RANGE", "MOVIE"]), ("shot_source", ["FILE", "CLIP", "IMAGE"]),
          ("placement", ["AUTO", "CURSOR", "CAMERA"]), ("background", ["white", "CUSTOM", "TRANSPARENT"]),
          ("animation", ["BUILD", "KEYFRAMES", "NONE"]),
          ("replay_order", ["PAINTED", "REGION", "OUTWARD", "DIRECTION", "COLOR"]),
          ("refine_region", ["ALL", "MASK", "SELECTED"]), ("style_source", ["FILE", "IMAGE"])]


def test_every_field_has_its_label_in_blenders_split_layout(scene: Any, image_path: Path,
                                                           torch_state: dict[str, Any]) -> None:
    """Each setting through all its values, with and without a painting selected: every
    field is drawn with its own label (never text=""), labels left and values right
    (use_property_split), and the same field never twice in a panel."""
    result, _ = paint(scene, image_path, engine="random", strokes=4, levels=1, size=32)
    assert result == {"FINISHED"}
    painting = bpy.context.view_layer.objects.active
    s = scene.neural_painter
    seen: set[str] = set()
    for name, values in STATES:
        for value in values:
            setattr(s, name, value)
            for obj in (None, painting):
                for cls in panels():
                    if hasattr(cls, "poll") and not cls.poll(context(obj)):
                        continue
                    layout = standins.draw(cls, context(obj))
                    unlabelled = [field for field, text in layout.fields if text is not None]
                    assert unlabelled == [], (cls.__name__, name, value, unlabelled)
                    props = layout.texts("prop")
                    assert len(props) == len(set(props)), (cls.__name__, props)
                    assert layout.texts("split") == props, cls.__name__  # all in the split layout
                    seen |= set(props)
    from blender_neural_painter.props import NeuralPainterSettings

    offered = set(NeuralPainterSettings.bl_rna.properties.keys()) - {"rna_type", "name"}
    assert offered - seen == set()  # every setting is somewhere in the panels


def test_drawing_starts_nothing(scene: Any, torch_state: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """With torch not looked for yet, the panels and the preferences only draw: no check
    starts (the panel offers a button for it; registering starts one on a timer)."""
    import threading

    from blender_neural_painter import prefs

    torch_state.update(torch="unknown", info={})
    started: list[Any] = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    main = draw_all(context())["NEURAL_PAINTER_PT_main"]
    prefs_draw()
    assert started == [] and prefs.STATE["torch"] == "unknown"
    assert "neural_painter.check_torch" in main.texts("operator")
    assert bpy.app.timers.is_registered(prefs._first_check) or prefs.STATE["torch"] != "unknown"


@pytest.mark.parametrize("device,best,lines", [
    ("cuda", "cpu", ["This torch runs on the CPU only", "CUDA is not available: choose an External Python with a "
                     "CUDA build of torch in the preferences"]),
    ("auto", "cpu", ["This torch runs on the CPU only"]),
    ("cuda", "cuda", ["This torch can use CUDA and the CPU"]),
    ("mps", "cuda", ["This torch can use CUDA and the CPU", "MPS is not available with this torch"]),
])
def test_the_device_menu_says_what_the_installed_torch_can_do(scene: Any, torch_state: dict[str, Any], device: str,
                                                              best: str, lines: list[str]) -> None:
    torch_state["info"] = {"torch": "2.13.0+cpu", "device": best, "cv2": "4.11.0"}
    scene.neural_painter.device = device
    from blender_neural_painter import ui

    labels = standins.draw(ui.NEURAL_PAINTER_PT_engine, context()).texts("label")
    assert [l for l in labels if "torch" in l or "available" in l][:len(lines)] == lines
    assert "neural_painter.randomize_seed" in standins.draw(ui.NEURAL_PAINTER_PT_engine, context()).texts("operator")


def test_the_menus_list_every_operator_for_f3(scene: Any) -> None:
    """F3 search finds operators through the menus: Object > Neural Painter lists every
    one, Add > Grease Pencil offers a new painting."""
    from blender_neural_painter import ui

    ops = standins.draw(ui.NEURAL_PAINTER_MT_object, context()).texts("operator")
    assert ops == ["neural_painter.paint", "neural_painter.refine", "neural_painter.restyle",
                   "neural_painter.apply_replay", "neural_painter.import_strokes"]
    assert ui.menu_object in bpy.types.VIEW3D_MT_object.draw._draw_funcs
    assert ui.menu_add in bpy.types.VIEW3D_MT_grease_pencil_add.draw._draw_funcs
    layout = standins.Layout()
    ui.menu_object(SimpleNamespace(layout=layout), None)
    ui.menu_add(SimpleNamespace(layout=layout), None)
    assert layout.texts("menu") == ["NEURAL_PAINTER_MT_object"] and layout.texts("operator") == ["neural_painter.paint"]


def test_presets_set_the_panel_and_the_artists_own_are_saved(scene: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import presets, ui

    header = standins.draw(ui.NEURAL_PAINTER_PT_main, context(), method="draw_header_preset")
    assert header.texts("popover") == ["NEURAL_PAINTER_PT_presets"]
    shipped = sorted(p.name for p in presets.SHIPPED.glob("*.py"))
    assert shipped == ["Detailed_Portrait.py", "Poster.py", "Quick_Sketch.py"]
    s = scene.neural_painter
    assert bpy.ops.script.execute_preset(filepath=str(presets.SHIPPED / "Poster.py"),
                                         menu_idname="NEURAL_PAINTER_PT_presets") == {"FINISHED"}
    assert (s.style, s.strokes, s.levels_auto, s.levels, s.animation, s.replay_order) == \
        ("tape", 300, False, 3, "KEYFRAMES", "LEVEL")
    # The artist's own preset goes to Blender's user presets folder (here a temporary one).
    monkeypatch.setattr(bpy.utils, "user_resource", lambda kind, path="", create=False: str(tmp_path / path))
    (tmp_path / "presets" / "neural_painter").mkdir(parents=True)
    s.style, s.strokes, s.replay_order = "watercolor", 777, "OUTWARD"
    assert bpy.ops.neural_painter.preset_add(name="My Wash") == {"FINISHED"}
    mine = tmp_path / "presets" / "neural_painter" / "My_Wash.py"
    assert mine.is_file()
    s.style, s.strokes, s.replay_order = "oil", 10, "PAINTED"
    bpy.ops.script.execute_preset(filepath=str(mine), menu_idname="NEURAL_PAINTER_PT_presets")
    assert (s.style, s.strokes, s.replay_order) == ("watercolor", 777, "OUTWARD")
    with pytest.raises(PermissionError, match="cannot be removed"):
        presets.NEURAL_PAINTER_OT_preset_add.remove(None, bpy.context, str(presets.SHIPPED / "Poster.py"))
    assert (presets.SHIPPED / "Poster.py").is_file()


@pytest.mark.parametrize("online", [True, False])
def test_style_panel_says_what_vgg16_needs(scene: Any, torch_state: dict[str, Any], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, online: bool) -> None:
    from blender_neural_painter import consent, ui

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(consent, "online_access", lambda: online)
    s = scene.neural_painter
    s.style_image_path, s.style_features = str(tmp_path / "art.png"), "vgg16"
    labels = standins.draw(ui.NEURAL_PAINTER_PT_style, context()).texts("label")
    if online:
        assert any(l.startswith("Downloads VGG-16 (~528 MB)") for l in labels)
    else:
        assert "VGG-16 needs Allow Online Access (Preferences > System)" in labels


def test_panels_while_running_and_torch_missing(scene: Any, torch_state: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import jobs, ui

    torch_state.update(torch="missing", info={"torch": None, "error": "No module named 'torch'"})
    run = jobs.Run(render=SimpleNamespace(text="Rendering the camera: frame 2 of 4", fraction=0.25))
    monkeypatch.setitem(jobs._SLOT, "run", run)  # a camera range renders
    layouts = draw_all(context())
    main = layouts["NEURAL_PAINTER_PT_main"]
    assert main.texts("progress") == ["Rendering the camera: frame 2 of 4"] and run.fraction == 0.25
    assert "neural_painter.cancel" in main.texts("operator") and "neural_painter.paint" not in main.texts("operator")
    assert "Torch is not available to the painting engine" in main.texts("label")
    assert "preferences.addon_show" in main.texts("operator")  # the Open Preferences button
    assert "torch not found" in layouts["NEURAL_PAINTER_PT_engine"].texts("label")
    run.render.stop = lambda: None
    run.cancel()
    assert standins.draw(ui.NEURAL_PAINTER_PT_main, context()).texts("progress") == ["Cancelling the camera render..."]
    run.render = None
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
    assert "Installs the CPU build of torch; for an NVIDIA GPU choose an External Python with a CUDA build" in \
        layout.texts("label")
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
    """Movie / Sequence shows where its frames come from, and the Shot panel which frames
    and where they land; Camera Animation names the camera and the frame range it renders."""
    s = scene.neural_painter
    s.source, s.shot_source = "MOVIE", shot_source
    layouts = draw_all(context())
    main = layouts["NEURAL_PAINTER_PT_main"]
    props = main.texts("prop")
    assert {"FILE": "movie_path", "CLIP": "movie_clip", "IMAGE": "image"}[shot_source] in props
    assert "shot_source" in props and {"shot_frames", "shot_start"} <= set(layouts["NEURAL_PAINTER_PT_shot"].texts("prop"))
    if shot_source == "CLIP":
        assert "clip.open" in main.texts("operator")
    s.source = "CAMERA_RANGE"
    scene.frame_start, scene.frame_end = 4, 9
    layouts = draw_all(context())
    assert "Camera: none, frames 4-9" in layouts["NEURAL_PAINTER_PT_main"].texts("label")
    assert "shot_frames" not in layouts["NEURAL_PAINTER_PT_shot"].texts("prop")
    s.source = "FILE"
    assert "NEURAL_PAINTER_PT_shot" not in draw_all(context())  # a still has no shot settings


def test_randomize_seed_picks_a_new_seed_in_the_engines_range(scene: Any) -> None:
    from core.contracts.options import MAX_SEED

    s = scene.neural_painter
    seeds = set()
    for _ in range(3):
        assert bpy.ops.neural_painter.randomize_seed() == {"FINISHED"}
        assert 0 <= s.seed <= MAX_SEED
        seeds.add(s.seed)
    assert len(seeds) > 1
