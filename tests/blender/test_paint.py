"""Paint through the operator, then check the Grease Pencil object against the strokes
core produced: layers, counts, positions, radii, linear colours, opacity, order, the
Build animation; then save, reopen and check again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import bpy, counts, orphans, paint

#: The material each untextured style's strokes use (oil: "NP Oil 1" ... "NP Oil 8", one per texture level).
MATERIALS = {"marker": "NP Marker", "watercolor": "NP Watercolor", "tape": "NP Tape"}


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def attr(drawing: Any, name: str, key: str, width: int) -> np.ndarray:
    a = drawing.attributes[name]
    buf = np.zeros(len(a.data) * width, np.float32)
    a.data.foreach_get(key, buf)
    return buf.reshape(len(a.data), width) if width > 1 else buf


def check_painting(obj: Any, levels: list[dict[str, Any]], budget: int, start: int, duration: int) -> None:
    from blender_neural_painter import gpencil
    from core.model.strokes import StrokeSet

    canvas = gpencil.painting_canvas(obj)
    assert canvas is not None
    names = [l.name for l in obj.data.layers]
    assert names == ["Canvas"] + [f"Level {d['strokes'][0]['level']}" for d in levels]
    assert gpencil.stroke_count(obj) == budget
    for layer in obj.data.layers:
        assert layer.use_lights is False
    # A watercolour stroke is drawn 15% wider (its soft edge, fitted to Grease Pencil's:
    # 0.3 x its softness 0.5), every other style at its own radius.
    grow = 1.15 if canvas.style == "watercolor" else 1.0
    order_seen: list[int] = []
    for layer, data in zip(list(obj.data.layers)[1:], levels):
        ss = StrokeSet.from_json_dict(data)
        geo = ss.geometry()
        n, k = geo.radius.shape
        drawing = layer.frames[0].drawing
        assert len(drawing.strokes) == n
        pos = attr(drawing, "position", "vector", 3).reshape(n, k, 3)
        # XZ plane facing the front view: x right, z up (image y down), y = 0.
        np.testing.assert_allclose(pos, canvas.to_world(geo.points), atol=1e-4)  # JSON keeps 6 decimals
        assert np.all(pos[..., 1] == 0)
        rad = attr(drawing, "radius", "value", 1).reshape(n, k)
        np.testing.assert_allclose(rad, geo.radius * canvas.scale * grow, rtol=1e-3, atol=1e-5)
        col = attr(drawing, "vertex_color", "color", 4).reshape(n, k, 4)
        np.testing.assert_allclose(col[..., :3], srgb_to_linear(geo.rgba[..., :3]), atol=1e-4)
        np.testing.assert_allclose(col[..., 3], 1.0)
        opa = attr(drawing, "opacity", "value", 1).reshape(n, k)
        np.testing.assert_allclose(opa, geo.rgba[..., 3], atol=1e-5)
        caps = drawing.attributes.get("start_cap")
        if canvas.style == "tape":
            assert caps is not None and all(v.value == 1 for v in caps.data)
        else:
            assert caps is None or all(v.value == 0 for v in caps.data)
        params = np.stack([attr(drawing, f"np_param_{j:02d}", "value", 1) for j in range(ss.params.shape[1])], 1)
        np.testing.assert_allclose(params, ss.params, atol=1e-6)
        order_seen += [int(v.value) for v in drawing.attributes["np_order"].data]
        mats = [obj.data.materials[int(v.value)].name for v in drawing.attributes["material_index"].data]
        if canvas.style == "oil":  # one material per texture level, the stroke's own
            from core.model.texture import stroke_levels
            assert mats == [f"NP Oil {k + 1}" for k in stroke_levels(geo.rgba[..., :3])]
            # The texture runs from cap tip to cap tip, as core maps it.
            scale, shift = gpencil.oil_uv(canvas.to_world(geo.points), 130)
            np.testing.assert_allclose(attr(drawing, "u_scale", "value", 1), scale, rtol=2e-3)  # JSON: 6 decimals
            np.testing.assert_allclose(attr(drawing, "u_translation", "value", 1), shift, rtol=1e-6)
        else:
            assert set(mats) == {MATERIALS[canvas.style]}
    # Layer order then stroke order is painting order.
    assert order_seen == list(range(1, budget + 1))
    # The replay: one Geometry Nodes modifier; each stroke's beat is its painting order
    # (As Painted), and Step is keyed from 0 at the start to every stroke grown at the end.
    mod = obj.modifiers["NP Replay"]
    assert mod.type == "NODES" and mod.node_group.name.startswith("NP Replay")
    beats = []
    for layer in list(obj.data.layers)[1:]:
        drawing = layer.frames[0].drawing
        beats += list(attr(drawing, "np_reveal", "value", 1))
    assert beats == [float(i) for i in range(1, budget + 1)]
    grow = 0.0 if canvas.style in ("oil", "tape") else 1.0  # curves grow along their length, boxes pop in
    assert gpencil.replay_keyframes(obj) == [(float(start), 0.0), (float(start + duration), budget + grow)]


def test_paint_writes_core_strokes_and_survives_save(scene: Any, image_path: Path, tmp_path: Path) -> None:
    before = counts()
    result, job = paint(scene, image_path, style="marker", strokes=30, levels=2, anim_start=5, anim_duration=60)
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    assert obj.type == "GREASEPENCIL" and obj.name.startswith("Painting")
    assert len(job.received) == 2
    check_painting(obj, job.received, 30, 5, 60)
    after = counts()
    assert after["objects"] == before["objects"] + 1
    assert after["grease_pencils"] == before["grease_pencils"] + 1
    # Canvas: a rectangle the size of the painting, in the background colour.
    from blender_neural_painter import gpencil

    canvas = gpencil.painting_canvas(obj)
    assert canvas.size_m[0] == pytest.approx(2.0)
    assert canvas.size_m[1] == pytest.approx(2.0 * 64 / 96, rel=0.02)
    path = tmp_path / "painting.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    name, received = obj.name, job.received
    bpy.ops.wm.open_mainfile(filepath=str(path))
    check_painting(bpy.data.objects[name], received, 30, 5, 60)


@pytest.mark.parametrize("style", ["oil", "watercolor", "tape"])
def test_styles_attributes_and_shared_materials(scene: Any, image_path: Path, style: str) -> None:
    """Every style's attributes; a second run reuses the style's material."""
    result, job = paint(scene, image_path, engine="random", style=style, strokes=24, levels=2)
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    check_painting(obj, job.received, 24, 1, 100)
    from blender_neural_painter import gpencil

    if style == "oil":
        from core.model.texture import OIL_MIX, oil_images
        used = {m.name for m in obj.data.materials if m.name.startswith("NP Oil ")}
        assert used
        for name in used:
            g = bpy.data.materials[name].grease_pencil
            assert g.stroke_style == "TEXTURE" and g.pixel_size == pytest.approx(500)
            assert 1 - g.mix_stroke_factor == pytest.approx(OIL_MIX) == gpencil.OIL_TEXTURE_MIX
            img = g.stroke_image
            assert img is not None and img.packed_file is not None
            # The image is core's texture of that level, rows flipped (Blender's are bottom up).
            k = int(name.split()[-1]) - 1
            want = oil_images()[k][::-1].astype(np.float32) / 255
            got = np.empty(want.size, np.float32)
            img.pixels.foreach_get(got)
            np.testing.assert_allclose(got.reshape(want.shape), want, atol=1 / 255)
    else:
        bpy.data.materials[MATERIALS[style]]
    n_mats, n_imgs = len(bpy.data.materials), len(bpy.data.images)
    result, _ = paint(scene, image_path, engine="random", style=style, strokes=10, levels=1)
    assert result == {"FINISHED"}
    assert len(bpy.data.materials) == n_mats and len(bpy.data.images) == n_imgs
    assert not orphans()


def test_keyframes_replay_steps_strokes_without_copying_them(scene: Any, image_path: Path) -> None:
    """Keyframes: 4 strokes more on each keyframe (Step constant between keys), and
    every stroke is written once: the drawings hold the painting, no more."""
    from blender_neural_painter import gpencil

    result, job = paint(scene, image_path, engine="random", style="marker", strokes=20, levels=2,
                        animation="KEYFRAMES", keyframe_every=4, anim_start=1, anim_duration=50)
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    assert not any(m.type == "GREASE_PENCIL_BUILD" for m in obj.modifiers)
    assert [len(layer.frames) for layer in obj.data.layers] == [1, 1, 1]  # no copies per step
    assert sum(len(layer.frames[0].drawing.strokes) for layer in obj.data.layers) == 1 + 20
    # 5 steps of 4 strokes over 50 frames: keys at 11, 21, 31, 41, 51.
    assert gpencil.replay_keyframes(obj) == [(1.0, 0.0), (11.0, 4.0), (21.0, 8.0), (31.0, 12.0), (41.0, 16.0),
                                             (51.0, 20.0)]
    shown = {f: gpencil.shown_strokes(obj, f) for f in (1, 10, 11, 30, 31, 50, 51, 60)}
    assert shown == {1: 0, 10: 0, 11: 4, 30: 8, 31: 12, 50: 16, 51: 20, 60: 20}
