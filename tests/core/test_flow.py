"""Optical flow and moving strokes along it (core.painters.flow)."""

import numpy as np
import pytest
import torch

from core.painters.flow import local_motion, occlusion, optical_flow, reliable_flow, sample_field, warp_image, warp_params
from core.contracts.styles import STYLES, get_style
from core.model.geometry import random_params, to_geometry

W, H = 96, 64


def textured(w=W, h=H, seed=0, cell=8):
    """A smooth random texture, one random colour per ``cell`` px: DIS needs something to
    hold on to."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // cell + 2, w // cell + 2, 3)).astype(np.float32)
    import cv2
    big = cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[cell:cell + h, cell:cell + w], 0, 1)


def shifted(img, dx, dy):
    import cv2
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def strokes(style, n=20, seed=0):
    p = random_params(get_style(style), n, torch.Generator().manual_seed(seed), max_size=0.3).numpy()
    if get_style(style).params[0] == "x0":
        p[:, 0:6] = 0.3 + 0.4 * p[:, 0:6]  # keep them well inside, so none leaves
    else:
        p[:, 0:2] = 0.3 + 0.4 * p[:, 0:2]
    return p


def centres_px(style, params, w=W, h=H):
    g = to_geometry(style, params, w, h)
    return g.points.mean(1) * max(w, h)


@pytest.mark.parametrize("style", list(STYLES))
def test_constant_flow_translates_strokes_exactly(style):
    p = strokes(style)
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0
    moved, left = warp_params(style, p, flow, W, H)
    assert not left.any()
    np.testing.assert_allclose(centres_px(style, moved) - centres_px(style, p), [[3.0, -2.0]] * len(p), atol=1e-3)
    spec = get_style(style)
    colour = [i for i, n in enumerate(spec.params) if n[0] in "rgba" and n not in ("r0", "r2")]
    np.testing.assert_allclose(moved[:, colour], p[:, colour], atol=1e-6)  # colours and alpha untouched
    g0, g1 = to_geometry(style, p, W, H), to_geometry(style, moved, W, H)
    np.testing.assert_allclose(g1.radius, g0.radius, atol=1e-5)  # no change of size


@pytest.mark.parametrize("style", ["oil", "marker"])
def test_zoom_flow_scales_strokes(style):
    p = strokes(style, seed=1)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    c = np.array([W / 2, H / 2], np.float32)
    s = 1.1
    pos = np.stack([xx + 0.5, yy + 0.5], -1)
    flow = (s - 1) * (pos - c)
    moved, _ = warp_params(style, p, flow, W, H)
    g0, g1 = to_geometry(style, p, W, H), to_geometry(style, moved, W, H)
    # Points move away from the centre by 10%, and strokes get 10% thicker.
    np.testing.assert_allclose((g1.points * W - c), (g0.points * W - c) * s, atol=0.05)
    np.testing.assert_allclose(g1.radius, g0.radius * s, rtol=0.02)


def test_measured_flow_of_a_known_translation_moves_strokes_with_it():
    a = textured()
    b = shifted(a, 3.0, 2.0)
    flow = optical_flow(a, b)
    inner = flow[12:-12, 12:-12].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, 0), [3.0, 2.0], atol=0.15)
    p = strokes("oil", seed=2)
    moved, left = warp_params("oil", p, flow, W, H, reliable_flow(flow, optical_flow(b, a)))
    assert not left.any()
    shift = centres_px("oil", moved) - centres_px("oil", p)
    np.testing.assert_allclose(np.median(shift, 0), [3.0, 2.0], atol=0.25)
    assert np.abs(shift - [3.0, 2.0]).max() < 1.0


def test_strokes_that_leave_the_canvas_are_flagged():
    p = np.array([[0.02, 0.5, 0.1, 0.02, 0.0, 1, 0, 0, 1, 0, 0, 1],
                  [0.5, 0.5, 0.1, 0.02, 0.0, 0, 1, 0, 0, 1, 0, 1],
                  [0.0, 0.3, 0.1, 0.02, 0.0, 0, 0, 1, 0, 0, 1, 1]], np.float32)
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0] = -4.0
    _, left = warp_params("oil", p, flow, W, H)
    assert left.tolist() == [True, False, True]
    flow[..., 0] = -0.3  # a border stroke jittering by noise stays
    _, left = warp_params("oil", p, flow, W, H)
    assert left.tolist() == [False, False, False]


def test_occlusion_finds_what_a_moving_square_covers_and_not_flat_areas():
    bg = textured(seed=3)
    bg[:, :20] = 0.5  # a flat band: flow there is ambiguous, but nothing is hidden
    a, b = bg.copy(), bg.copy()
    a[20:40, 40:60] = (1.0, 0.1, 0.1)
    b[20:40, 48:68] = (1.0, 0.1, 0.1)  # the square moves 8 px right
    f, fb = optical_flow(a, b), optical_flow(b, a)
    occ = occlusion(a, b, f, fb)
    assert occ[22:38, 62:66].mean() > 0.5  # background just right of the square: covered in b
    assert occ[:, :16].mean() < 0.02
    assert occ[45:, 30:].mean() < 0.05  # static textured background


def test_warp_image_and_sampling_conventions():
    img = textured(seed=4)
    back = np.zeros((H, W, 2), np.float32)
    back[..., 0] = -2.0  # frame 2's pixel x came from x - 2 in frame 1: content moved right by 2
    moved = warp_image(img, back)
    np.testing.assert_allclose(moved[:, 10:], img[:, 8:-2], atol=1e-5)
    # Pixel (i, j) is centred at (j + 0.5, i + 0.5).
    field = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    assert sample_field(field, np.array([[2.5, 1.5]]))[0, 0] == pytest.approx(6.0)
    assert sample_field(field, np.array([[3.0, 1.5]]))[0, 0] == pytest.approx(6.5)


def test_local_motion_ignores_samples_off_the_canvas():
    flow = np.zeros((H, W, 2), np.float32)
    flow[:, -4:] = (30.0, 30.0)  # garbage at the right edge, as DIS gives for new content
    trust = np.ones((H, W), bool)
    trust[:, -4:] = False
    trans, jac = local_motion(flow, trust, np.array([[W - 10.0, H / 2]]), np.array([[[20.0, 0], [0, 5.0]]]))
    np.testing.assert_allclose(trans, [[0.0, 0.0]], atol=0.5)
    np.testing.assert_allclose(jac[0], np.eye(2), atol=0.05)


def _turn(a, size=64):
    """The flow of a picture turned by ``a`` radians about its centre."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dx, dy = xx - size / 2, yy - size / 2
    return np.stack([np.cos(a) * dx - np.sin(a) * dy - dx, np.sin(a) * dx + np.cos(a) * dy - dy], -1).astype(np.float32)


def test_strokes_keep_their_direction_and_colours_when_turned_past_theta_zero():
    """theta and theta + 1 are the same axis the other way round: a stroke at theta 0 or 1
    stays as it is under no motion, and one turned past 0 keeps its colours in place."""
    spec = get_style("oil")
    p = np.array([[0.5, 0.5, 0.5, 0.1, 0.0, 1, 0, 0, 0, 0, 1, 1],
                  [0.5, 0.5, 0.5, 0.1, 1.0, 1, 0, 0, 0, 0, 1, 1]], np.float32)
    still, _ = warp_params("oil", p, np.zeros((64, 64, 2), np.float32), 64, 64, np.ones((64, 64), bool))
    np.testing.assert_array_equal(still, p)
    # Turn the picture by -0.2 rad about the centre: the first stroke's angle goes below 0.
    a = -0.2
    turned, _ = warp_params("oil", p[:1], _turn(a), 64, 64, np.ones((64, 64), bool))
    geo_before, geo_after = to_geometry("oil", p[:1], 64, 64), to_geometry("oil", turned, 64, 64)
    # The red end (start) is still where the red end went: near the left, turned.
    start_before, start_after = geo_before.points[0, 0] * 64, geo_after.points[0, 0] * 64
    red_before, red_after = geo_before.rgba[0, 0, :3], geo_after.rgba[0, 0, :3]
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    expect = rot @ (start_before - 32) + 32
    if np.allclose(red_after, red_before):
        np.testing.assert_allclose(start_after, expect, atol=1.0)
    else:  # written the other way round: the red end is now the last point
        np.testing.assert_allclose(geo_after.rgba[0, -1, :3], red_before)
        np.testing.assert_allclose(geo_after.points[0, -1] * 64, expect, atol=1.0)
    assert 0 <= turned[0, spec.params.index("theta")] <= 1


@pytest.mark.parametrize("a", [-1e-4, 1e-4])
def test_strokes_at_an_end_of_theta_do_not_flip_with_a_tiny_turn(a):
    """A camera's jitter (a hundredth of a degree) holds strokes at theta 0 and 1 where
    they are: written the other way round, oil's dry end would change sides, and a still
    shot would flicker. A real turn past the end still flips them, colours swapped."""
    from core.painters.flow import FLIP_MIN_TURN

    p = np.array([[0.5, 0.5, 0.5, 0.1, 0.0, 1, 0, 0, 0, 0, 1, 1],
                  [0.5, 0.5, 0.5, 0.1, 1.0, 1, 0, 0, 0, 0, 1, 1]], np.float32)
    trust = np.ones((64, 64), bool)
    jittered, _ = warp_params("oil", p, _turn(a), 64, 64, trust)
    np.testing.assert_allclose(jittered[:, 4:], p[:, 4:], atol=1e-4)  # same angle, same colours
    # Ten times the smallest turn that flips, outwards for one of the two strokes.
    turned, _ = warp_params("oil", p, _turn(np.sign(a) * 10 * FLIP_MIN_TURN * np.pi), 64, 64, trust)
    out = 0 if a < 0 else 1  # the stroke this turn pushes past its end
    np.testing.assert_allclose(turned[out, 5:8], p[out, 8:11], atol=1e-6)  # written the other way round
    assert abs(turned[out, 4] - (1 - p[out, 4])) == pytest.approx(10 * FLIP_MIN_TURN, abs=1e-3)
    np.testing.assert_allclose(turned[1 - out, 5:11], p[1 - out, 5:11])  # the other turns inwards: no flip


def test_camera_motion_is_the_pan_and_zoom_and_not_the_object_moving_on_its_own():
    from core.painters.flow import camera_motion

    h, w = 40, 60
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    camera = np.stack([0.02 * xx + 1.5, 0.02 * yy - 0.5], -1).astype(np.float32)  # a pan and a 2% zoom
    flow = camera.copy()
    flow[10:20, 10:25] += (4.0, 0.0)  # an object moving 4 px right on top of it
    fitted = camera_motion(flow)
    own = np.linalg.norm(flow - fitted, axis=-1)
    np.testing.assert_allclose(fitted, camera, atol=0.1)
    assert own[10:20, 10:25].min() > 3.5
    assert np.delete(own, np.s_[8:22], axis=0).max() < 0.1
    np.testing.assert_allclose(camera_motion(np.zeros((h, w, 2), np.float32)), 0.0, atol=1e-6)


@pytest.mark.parametrize("camera_px", [(0.0, 0.0), (0.7, -0.3)])
def test_a_big_fast_object_does_not_drag_the_camera(camera_px):
    """A locked-off (or slowly panning) camera and an object covering an eighth of the
    frame moving 12 px, with the flow's sub-pixel noise on the ground: the fitted
    camera stays within 0.05 px of the truth, so still strokes stay still."""
    cv2 = pytest.importorskip("cv2")
    from core.painters.flow import camera_motion

    h, w = 96, 128
    rng = np.random.default_rng(0)
    flow = np.zeros((h, w, 2), np.float32) + np.array(camera_px, np.float32)
    flow += rng.normal(0, 0.05, flow.shape).astype(np.float32)
    moving = np.zeros((h, w), np.float32)
    moving[30:70, 40:80] = 1.0
    # DIS works on patches: the object's motion spills a few pixels past its outline.
    spill = cv2.GaussianBlur(moving, (0, 0), 4.0)
    flow += np.maximum(moving, spill)[..., None] * np.array([12.0, 3.0], np.float32)
    fitted = camera_motion(flow)
    assert np.abs(fitted - np.array(camera_px, np.float32)).max() < 0.05


def test_flow_follows_fine_texture_on_a_turning_object():
    """A finely textured disc turns 5 degrees and moves 2 px over a still ground: the flow
    inside it must match the true motion to a tenth of a pixel. DIS's preset alone,
    which stops at half resolution, is off by 0.16-0.19 px here."""
    import cv2

    w, h = 128, 96
    ground, disc = textured(w, h, seed=10, cell=3), textured(w, h, seed=20, cell=3)
    centre, radius, shift = np.array([64.0, 48.0]), 30.0, np.array([2.0, 0.5])
    ang = np.radians(5.0)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    pos = np.stack([xx + 0.5, yy + 0.5], -1)
    src = (pos - centre - shift) @ rot + centre  # where each pixel of frame b was in frame a
    turned = cv2.remap(disc, (src[..., 0] - 0.5).astype(np.float32), (src[..., 1] - 0.5).astype(np.float32),
                       cv2.INTER_LINEAR)
    in_a = np.linalg.norm(pos - centre, axis=-1) < radius
    in_b = np.linalg.norm(src - centre, axis=-1) < radius
    a = np.where(in_a[..., None], disc, ground)
    b = np.where(in_b[..., None], turned, ground)
    true = (pos - centre) @ rot.T + centre + shift - pos
    flow = optical_flow(a, b)
    inside = np.linalg.norm(pos - centre, axis=-1) < radius - 6
    error = np.linalg.norm(flow - true, axis=-1)[inside].mean()
    assert error < 0.1, error
    still = np.linalg.norm(pos - centre, axis=-1) > radius + 8
    assert np.linalg.norm(flow, axis=-1)[still].mean() < 0.05
