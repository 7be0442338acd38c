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


def test_the_build_replay_gives_each_level_its_share_of_the_time():
    assert gp_data.build_schedule([10, 30, 60], 1, 100) == [(1.0, 11.0), (11.0, 41.0), (41.0, 101.0)]
    assert gp_data.build_schedule([], 5, 10) == []
