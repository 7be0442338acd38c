"""The replay: strokes appear in the chosen order and pace, always covering each other as
in the finished painting; Apply Replay retimes a painting (hand edits included, earlier
versions' Build modifiers and keyframe drawings replaced); the headless command takes
the same orders. Expected frames and values are written out, not asked of the add-on."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ROOT, bpy, make_image, paint


def shown(obj: Any, frame: int) -> list[int]:
    """Painting order (np_order) of the strokes the evaluated painting shows at ``frame``."""
    bpy.context.scene.frame_set(frame)
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    out: list[int] = []
    for layer in evaluated.data.layers:
        fr = layer.current_frame()
        if layer.name == "Canvas" or fr is None or not len(fr.drawing.strokes):
            continue
        order = np.zeros(len(fr.drawing.strokes), np.int32)
        fr.drawing.attributes["np_order"].data.foreach_get("value", order)
        out += order.tolist()
    return out


def stroke_lightness(obj: Any) -> dict[int, float]:
    """Painting order -> the stroke's mean linear luminance (Rec. 709 weights)."""
    out = {}
    for layer in list(obj.data.layers)[1:]:
        d = layer.frames[0].drawing
        n = len(d.strokes)
        order = np.zeros(n, np.int32)
        d.attributes["np_order"].data.foreach_get("value", order)
        colour = np.zeros(len(d.attributes["vertex_color"].data) * 4, np.float32)
        d.attributes["vertex_color"].data.foreach_get("color", colour)
        per = colour.reshape(n, -1, 4)[..., :3].mean(1) @ np.array([0.2126, 0.7152, 0.0722])
        out.update(zip(order.tolist(), per.tolist()))
    return out


def render(obj: Any, path: Path, frame: int) -> np.ndarray:
    from PIL import Image

    from blender_neural_painter import preview

    preview.frame_painting(bpy.context, obj, 64)
    preview.workbench_settings(bpy.context.scene)
    preview.render_to(bpy.context.scene, str(path), frame=frame)
    return np.asarray(Image.open(path).convert("RGB"), np.int32)


def test_dark_to_light_shows_the_darkest_first_and_ends_as_painted(scene: Any, image_path: Path,
                                                                  tmp_path: Path) -> None:
    result, job = paint(scene, image_path, engine="random", style="tape", strokes=12, levels=2, size=32,
                        replay_order="DARK_TO_LIGHT", anim_start=1, anim_duration=24)
    assert result == {"FINISHED"}
    obj = job.obj
    light = stroke_lightness(obj)
    assert shown(obj, 1) == []
    half = shown(obj, 13)  # 12 beats over 24 frames: six strokes at frame 13
    assert len(half) == 6
    assert max(light[o] for o in half) <= min(light[o] for o in set(light) - set(half))
    assert sorted(shown(obj, 25)) == list(range(1, 13))
    # The finished replay is the painting: strokes cover each other as painted, whatever
    # order they appeared in.
    end = render(obj, tmp_path / "end.png", 25)
    obj.modifiers["NP Replay"].show_render = False
    still = render(obj, tmp_path / "still.png", 25)
    assert np.array_equal(end, still)


def test_apply_replay_retimes_after_hand_edits(scene: Any, image_path: Path) -> None:
    """A stroke deleted and one drawn by hand: Apply Replay orders what is there now (the
    hand-drawn stroke, with no painting order, comes last in As Painted), keyed with the
    panel's start, duration, hold and ease."""
    from blender_neural_painter import compat, gpencil

    result, job = paint(scene, image_path, engine="random", style="marker", strokes=10, levels=1, size=32)
    obj = job.obj
    drawing = obj.data.layers["Level 1"].frames[0].drawing
    drawing.remove_strokes(indices=[0])
    drawing.add_strokes([3])  # drawn by hand: no painting order (0)
    s = scene.neural_painter
    s.anim_start, s.anim_duration, s.replay_hold, s.replay_ease = 11, 60, 10, "EASE_OUT"
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.neural_painter.apply_replay() == {"FINISHED"}
    beats = np.zeros(10, np.float32)
    drawing.attributes["np_reveal"].data.foreach_get("value", beats)
    assert beats.tolist() == [float(b) for b in range(1, 11)]  # the hand-drawn stroke last
    keys = gpencil.replay_keyframes(obj)
    assert keys == [(11.0, 0.0), (61.0, 11.0)]  # 10 beats and the last stroke's growth, done at 71 - 10
    fc = next(f for f in compat.object_fcurves(obj) if "NP Replay" in f.data_path)
    assert [(k.interpolation, k.easing) for k in fc.keyframe_points][0] == ("SINE", "EASE_OUT")
    assert fc.evaluate(36) == pytest.approx(11 * math.sin(math.pi / 4), abs=1e-3)  # half way in time
    s.animation = "NONE"
    assert bpy.ops.neural_painter.apply_replay() == {"FINISHED"}
    assert "NP Replay" not in obj.modifiers and len(shown(obj, 1)) == 10  # a still: everything shows


def test_apply_replay_replaces_the_build_modifiers_and_keyframe_drawings_of_earlier_versions(
        scene: Any, image_path: Path) -> None:
    from blender_neural_painter import compat, gpencil

    result, job = paint(scene, image_path, engine="random", style="tape", strokes=8, levels=1, size=32,
                        animation="NONE")
    obj = job.obj
    layer = obj.data.layers["Level 1"]
    layer.frames.new(50)  # an earlier version's keyframe drawing (the whole level is the latest)
    layer.frames.copy(1, 60)
    layer.frames.remove(1)
    old = obj.modifiers.new("NP Build Level 1", "GREASE_PENCIL_BUILD")
    old.percentage_factor = 0.0
    old.keyframe_insert("percentage_factor", frame=1)
    bpy.context.view_layer.objects.active = obj
    scene.neural_painter.animation = "BUILD"
    assert bpy.ops.neural_painter.apply_replay() == {"FINISHED"}
    assert [m.name for m in obj.modifiers] == ["NP Replay"]
    assert [f.frame_number for f in layer.frames] == [60] and len(layer.frames[0].drawing.strokes) == 8
    assert not [f for f in compat.object_fcurves(obj) if "NP Build" in f.data_path]
    assert gpencil.replay_keyframes(obj)[-1] == (101.0, 8.0)


def test_the_headless_command_takes_the_replay_orders(tmp_path: Path) -> None:
    img = make_image(tmp_path / "in.png")
    out = tmp_path / "replay.blend"
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(img), "--out", str(out),
                          "--style", "tape", "--strokes", "12", "--size", "32", "--levels", "2",
                          "--animation", "keyframes", "--every", "4", "--replay", "dark-to-light",
                          "--start", "5", "--duration", "30", "--hold", "6"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(out))
    from blender_neural_painter import gpencil

    obj = next(o for o in bpy.data.objects if gpencil.painting_canvas(o) is not None)
    # 3 steps of 4 strokes over 30 - 6 frames from frame 5.
    assert gpencil.replay_keyframes(obj) == [(5.0, 0.0), (13.0, 4.0), (21.0, 8.0), (29.0, 12.0)]
    replay = gpencil.replay_of(obj)
    assert replay is not None and (replay.order, replay.mode, replay.every, replay.hold) == \
        ("DARK_TO_LIGHT", "KEYFRAMES", 4, 6)
