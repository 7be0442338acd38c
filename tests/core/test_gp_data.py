"""The add-on's Grease Pencil numbers (``blender_neural_painter.gp_data``), tested without
Blender: where the canvas sits, what a batch of strokes becomes, textures, names and the
replay's timing. Expected values are written out, not asked of the code under test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_neural_painter import gp_data

ROOT = Path(__file__).resolve().parents[2]


def test_the_bpy_free_half_imports_without_blender():
    code = ("import sys; import blender_neural_painter.gp_data, blender_neural_painter.contracts; "
            "bad = [m for m in ('bpy', 'torch') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_canvas_stands_in_the_xz_plane_centred_and_width_m_wide():
    c = gp_data.Canvas("oil", 200, 100, (1.0, 1.0, 1.0), width_m=4.0)
    assert c.extent == (1.0, 0.5) and c.scale == 4.0 and c.size_m == (4.0, 2.0)
    corners = np.array([[0.0, 0.0], [1.0, 0.5], [0.5, 0.25]], np.float32)  # top left, bottom right, middle
    np.testing.assert_allclose(c.to_world(corners), [[-2, 0, 1], [2, 0, -1], [0, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(c.from_world(c.to_world(corners)), corners, atol=1e-6)
    assert gp_data.Canvas.from_meta(c.to_meta()) == c


def _batch(style: str, softness: float, rgba: float = 0.5) -> gp_data.StrokeBatch:
    points = np.array([[[0.25, 0.25], [0.75, 0.25]]], np.float32)
    return gp_data.StrokeBatch(1, points, np.full((1, 2), 0.05, np.float32), np.full((1, 2, 4), rgba, np.float32),
                               np.zeros((1, 9), np.float32), np.zeros(1), "round", softness, False)


def test_a_batch_becomes_object_space_points_linear_colours_and_grown_soft_radii():
    c = gp_data.Canvas("marker", 100, 100, (1.0, 1.0, 1.0), width_m=2.0)
    hard = gp_data.stroke_arrays(_batch("marker", 0.0), c)
    np.testing.assert_allclose(hard["positions"][0], [[-0.5, 0, 0.5], [0.5, 0, 0.5]], atol=1e-6)
    np.testing.assert_allclose(hard["radius"], 0.1, rtol=1e-6)  # 0.05 of the long side of a 2 m canvas
    # sRGB 0.5 is 0.21404 in linear light; alpha is the opacity, the vertex colour covers the material.
    np.testing.assert_allclose(hard["colors"][0, 0], [0.21404, 0.21404, 0.21404, 1.0], atol=1e-5)
    np.testing.assert_allclose(hard["opacity"], 0.5)
    assert hard["softness"] == 0.0 and hard["u_scale"] is None and not hard["flat_caps"]
    soft = gp_data.stroke_arrays(_batch("watercolor", 0.5), c)  # watercolour's softness
    np.testing.assert_allclose(soft["radius"], 0.115, rtol=1e-6)  # grown by 15%
    assert soft["softness"] == pytest.approx(0.028)


def test_oil_textures_map_tip_to_tip_and_wash_images_hold_the_rim():
    u_scale, u_shift = gp_data.oil_uv(np.array([[[0.0, 0, 0], [2.0, 0, 0]]], np.float32), 130)
    # 128 content columns of 130 over 2 m; the first column is a repeat of the second.
    assert u_scale[0] == pytest.approx(128 / 130 / 2) and u_shift[0] == pytest.approx(1 / 130)
    profile = np.linspace(0.0, 1.0, 201)  # opacity rises linearly to 1 at 2 radii
    rgba = gp_data.wash_image_pixels(profile, 0.5)
    assert rgba.shape == (32, 4, 4) and (rgba[..., :3] == 1).all()
    # Row 0's centre is at |v| = 31/32 of the drawn radius, 1.15 radii: opacity 0.575.
    assert rgba[0, 0, 3] == pytest.approx(31 / 32 * 1.15 / 2, abs=1e-4)
    assert rgba[16, 0, 3] == pytest.approx(1 / 32 * 1.15 / 2, abs=1e-4)
    tex = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    np.testing.assert_array_equal(gp_data.oil_image_pixels(tex, 1), tex[1][::-1])  # rows flipped for Blender


def test_names_of_layers_materials_and_images():
    assert gp_data.level_layer_name(3) == "Level 3" and gp_data.layer_level("Level 12") == 12
    assert gp_data.layer_level("Canvas") is None and gp_data.layer_level("Level x") is None
    assert [gp_data.material_name(s) for s in ("marker", "watercolor", "tape", "canvas")] == \
        ["NP Marker", "NP Watercolor", "NP Tape", "NP Canvas"]
    assert gp_data.material_name("oil", 2) == "NP Oil 3"
    assert gp_data.wash_image_name(0.5) == "NP Wash" and gp_data.wash_image_name(0.25) == "NP Wash 0.25"
    assert gp_data.build_modifier_name(2) == "NP Build Level 2"


# --- replay ---------------------------------------------------------------------------

#: Five strokes: painting order 1..5 (the fourth drawn by hand: 0), levels, centres (x, y
#: as canvas fractions, y down) and linear colours.
PAINTED = np.array([1, 2, 3, 0, 4])
LEVEL = np.array([1, 1, 2, 2, 3])
CENTRE = np.array([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.6, 0.5], [0.2, 0.2]])
COLOUR = np.array([[0.8, 0.8, 0.8],   # light grey
                   [0.02, 0.02, 0.02],  # near black
                   [0.9, 0.1, 0.1],    # red: hue 0
                   [0.1, 0.1, 0.9],    # blue: hue 2/3
                   [0.1, 0.9, 0.1]])   # green: hue 1/3


def beats(order: str, **replay: object) -> list[float]:
    return gp_data.replay_beats(order, PAINTED, LEVEL, CENTRE, COLOUR, gp_data.Replay(**replay),  # type: ignore[arg-type]
                                mask_at=np.array([0.0, 1.0, 0.0, 0.9, 0.2])).tolist()


def test_each_order_gives_each_stroke_its_beat():
    assert beats("PAINTED") == [1, 2, 3, 5, 4]  # the stroke drawn by hand comes last
    assert beats("LEVEL") == [1, 1, 2, 2, 3]  # a beat per level
    assert beats("REGION") == [3, 1, 4, 2, 5]  # bright mask first (in painting order), then the rest
    assert beats("DARK_TO_LIGHT") == [5, 1, 3, 2, 4]  # luminance 0.8, 0.02, 0.270, 0.158, 0.672
    assert beats("LIGHT_TO_DARK") == [1, 5, 3, 4, 2]
    assert beats("COLOR") == [4, 5, 1, 3, 2]  # red, green, blue around the wheel; the grays last, in painting order
    assert beats("OUTWARD", origin=(0.5, 0.5)) == [4, 1, 5, 2, 3]  # distances 0.57, 0, 0.57, 0.1, 0.42: ties in
    # painting order
    assert beats("DIRECTION", angle=0.0) == [5, 3, 1, 4, 2]  # left to right: x 0.9, 0.5, 0.1, 0.6, 0.2
    assert beats("DIRECTION", angle=np.pi / 2) == [1, 3, 5, 4, 2]  # top to bottom: y 0.1, 0.5, 0.9, 0.5, 0.2
    with pytest.raises(ValueError, match="Region First needs a replay mask"):
        gp_data.replay_beats("REGION", PAINTED, LEVEL, CENTRE, COLOUR, gp_data.Replay())


def test_build_keys_run_from_nothing_to_every_stroke_grown_before_the_hold():
    replay = gp_data.Replay("BUILD", start=10, duration=100, hold=20)
    assert gp_data.replay_keys(replay, 500, 1.0) == [(10.0, 0.0), (90.0, 501.0)]
    assert gp_data.replay_keys(gp_data.Replay("BUILD", start=1, duration=250), 40, 0.0) == [(1.0, 0.0),
                                                                                           (251.0, 40.0)]


def test_keyframe_steps_are_spaced_by_the_ease_and_share_frames_when_crowded():
    linear = gp_data.Replay("KEYFRAMES", start=1, duration=40, every=10)
    assert gp_data.replay_keys(linear, 35, 0.0) == [(1.0, 0.0), (11.0, 10.0), (21.0, 20.0), (31.0, 30.0),
                                                    (41.0, 35.0)]
    eased = gp_data.Replay("KEYFRAMES", start=1, duration=40, every=10, ease="EASE_IN")
    # 1 - cos(t pi/2) at t = 1/4, 1/2, 3/4, 1: 0.0761, 0.2929, 0.6173, 1 of 40 frames.
    assert gp_data.replay_keys(eased, 40, 0.0) == [(1.0, 0.0), (4.0, 10.0), (13.0, 20.0), (26.0, 30.0),
                                                   (41.0, 40.0)]
    crowded = gp_data.Replay("KEYFRAMES", start=1, duration=3, every=1)  # 6 steps on 3 frames
    assert gp_data.replay_keys(crowded, 6, 0.0) == [(1.0, 0.0), (2.0, 2.0), (3.0, 4.0), (4.0, 6.0)]
    by_level = gp_data.Replay("KEYFRAMES", order="LEVEL", start=1, duration=30, every=10)
    assert gp_data.replay_keys(by_level, 3, 0.0) == [(1.0, 0.0), (11.0, 1.0), (21.0, 2.0), (31.0, 3.0)]


def test_eases_are_blenders_sine_curves():
    t = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(gp_data.ease("LINEAR", t), [0, 0.25, 0.5, 1])
    np.testing.assert_allclose(gp_data.ease("EASE_IN", t), [0, 0.0761205, 0.2928932, 1], atol=1e-6)
    np.testing.assert_allclose(gp_data.ease("EASE_OUT", t), [0, 0.3826834, 0.7071068, 1], atol=1e-6)
    np.testing.assert_allclose(gp_data.ease("EASE_IN_OUT", t), [0, 0.1464466, 0.5, 1], atol=1e-6)


def test_a_replay_round_trips_through_its_meta():
    r = gp_data.Replay("KEYFRAMES", "OUTWARD", 5, 80, "EASE_OUT", 8, 3, (0.25, 0.75), 1.5)
    assert gp_data.Replay.from_meta(r.to_meta()) == r


# --- placement --------------------------------------------------------------------------

#: A camera's view_frame: 16:9, the frame 1 x 0.5625 at depth 1.3889 (lens 50 mm, sensor 36 mm).
FRAME = [(0.5, 0.28125, -1.3888889), (0.5, -0.28125, -1.3888889), (-0.5, -0.28125, -1.3888889),
         (-0.5, 0.28125, -1.3888889)]


def test_a_canvas_fits_the_camera_frame_at_its_distance():
    width, centre = gp_data.fit_frame(FRAME, False, 2.0, 16 / 9)
    assert width == pytest.approx(1.44)  # 1 m at 1.3889 m is 1.44 m at 2 m (36 / 50 x 2)
    np.testing.assert_allclose(centre, [0, 0, -2.0], atol=1e-9)
    width, _ = gp_data.fit_frame(FRAME, False, 2.0, 1.0)  # a square picture fits the frame's height
    assert width == pytest.approx(0.81)  # 0.5625 x 1.44
    width, centre = gp_data.fit_frame(FRAME, True, 5.0, 16 / 9)  # orthographic: the same size at any distance
    assert width == pytest.approx(1.0) and centre[2] == -5.0
    shifted = [(x + 0.1, y, z) for x, y, z in FRAME]  # a lens shift moves the frame, not its size
    width, centre = gp_data.fit_frame(shifted, False, 2.0, 16 / 9)
    assert width == pytest.approx(1.44) and centre[0] == pytest.approx(0.144)
