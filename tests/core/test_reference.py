"""The reference renderer: it implements the appearance model of core/render/reference.py."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from core.errors import PainterError
from core.render.reference import output_size, render, render_strokes, stroke_layers
from core.model.strokes import StrokeSet
from core.model.geometry import Geometry, random_params, to_geometry
from core.contracts.styles import get_style
from core.model.texture import OIL_MIX, WASH_MIDDLE, mip_level, oil_level, oil_mipmaps, wash_profile

STYLES = ["marker", "watercolor", "oil", "tape"]
WHITE = (1.0, 1.0, 1.0)


def to_linear(c) -> np.ndarray:
    """sRGB -> linear light (IEC 61966-2-1), float64, written out independently of core.model.colour."""
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(c) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def coverage_of(channel: np.ndarray) -> np.ndarray:
    """Coverage of a stroke of colour 0 over a background of 1 from that channel: the
    blend is linear in linear light, so that is where the coverage can be read off."""
    return 1.0 - to_linear(channel)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def random_geometry(style: str, n: int, width: int, height: int, seed: int = 0, **kw) -> Geometry:
    p = random_params(get_style(style), n, torch.Generator().manual_seed(seed), **kw)
    return to_geometry(style, p.numpy(), width, height)


def geometry(points, radius, rgb, alpha, cap="round", softness=0.0, textured=False) -> Geometry:
    """One stroke per row of ``points`` [N, K, 2] (long-side units)."""
    points = np.asarray(points, np.float32)
    n, k = points.shape[:2]
    radius = np.broadcast_to(np.asarray(radius, np.float32), (n, k)).copy()
    rgb = np.broadcast_to(np.asarray(rgb, np.float32).reshape(n, -1, 3), (n, k, 3))
    alpha = np.broadcast_to(np.asarray(alpha, np.float32).reshape(n, 1, 1), (n, k, 1))
    return Geometry(points, radius, np.concatenate([rgb, alpha], -1).astype(np.float32),
                    cap, softness, textured)


def brute_force(geo: Geometry, width: int, height: int, background=WHITE) -> np.ndarray:
    """The appearance model, written out directly: every stroke, segment and pixel, float64,
    composited in linear light."""
    long_px = max(width, height)
    pix = 1.0 / long_px
    xs, ys = np.meshgrid((np.arange(width) + 0.5) / long_px, (np.arange(height) + 0.5) / long_px)
    x = np.stack([xs, ys], -1)
    out = np.empty((height, width, 3))
    out[:] = to_linear(background)
    def unit(v):
        n = np.linalg.norm(v)
        return v / n if n > 0 else v * 0

    for s in range(len(geo)):
        p = geo.points[s].astype(np.float64)
        r = geo.radius[s].astype(np.float64)
        col = to_linear(geo.rgba[s, :, :3])  # the colour is interpolated in linear light
        sds, ts = [], []
        for k in range(len(p) - 1):
            dv = p[k + 1] - p[k]
            l2 = dv @ dv
            t = np.clip(((x - p[k]) @ dv) / l2, 0, 1) if l2 > 1e-12 * pix * pix else np.zeros(x.shape[:2])
            d = np.linalg.norm(x - (p[k] + t[..., None] * dv), axis=-1)
            sds.append(d - (r[k] + t * (r[k + 1] - r[k])))
            ts.append(t)
        sds, ts = np.stack(sds), np.stack(ts)
        k = sds.argmin(0)
        sd = np.take_along_axis(sds, k[None], 0)[0]
        t = np.take_along_axis(ts, k[None], 0)[0]
        if geo.cap == "flat":
            n0, ne = unit(p[1] - p[0]), unit(p[-1] - p[-2])
            sd = np.maximum(sd, np.maximum((p[0] - x) @ n0, (x - p[-1]) @ ne))
        rad = r[k] + t * (r[k + 1] - r[k])
        e = np.maximum(pix, geo.softness * rad)
        m = np.clip(0.5 - sd / e, 0, 1)
        if geo.softness > 0:  # a wash: pigment gathers at the rim
            m = m * wash_profile((sd + rad) / rad)
        c = col[k] + t[..., None] * (col[k + 1] - col[k])
        if geo.textured:
            n = unit(p[1] - p[0])
            length = np.linalg.norm(p[1] - p[0]) + 2 * r[0]
            u = ((x - p[0]) @ n + r[0]) / length
            v = (n[0] * (x[..., 1] - p[0, 1]) - n[1] * (x[..., 0] - p[0, 0])) / r[0]
            # The texture level that matches the stroke's brightness, the mip level that
            # matches its size in pixels, trilinear between mips, clamped at the edges.
            mips = oil_mipmaps()[int(oil_level(col.mean(0)))].astype(np.float64)
            lod = float(mip_level(np.array([2 * r[0] * long_px]), np.array([length * long_px]))[0])
            lo = int(lod)
            hi = min(lo + 1, len(mips) - 1)

            def bilinear(tex):
                rows, cols = tex.shape
                rc = np.clip((v + 1) / 2 * rows - 0.5, 0, rows - 1)
                cc = np.clip(u * cols - 0.5, 0, cols - 1)
                i0 = np.minimum(rc.astype(int), rows - 2)
                j0 = np.minimum(cc.astype(int), cols - 2)
                fr, fc = rc - i0, cc - j0
                return ((tex[i0, j0] * (1 - fc) + tex[i0, j0 + 1] * fc) * (1 - fr)
                        + (tex[i0 + 1, j0] * (1 - fc) + tex[i0 + 1, j0 + 1] * fc) * fr)

            shade, dry = [bilinear(mips[lo, ch]) * (1 - (lod - lo)) + bilinear(mips[hi, ch]) * (lod - lo)
                          for ch in (0, 1)]
            m = m * dry
            c = (1 - OIL_MIX) * c + OIL_MIX * shade[..., None]
        a = (geo.rgba[s, 0, 3] * m)[..., None]
        out = out * (1 - a) + a * c
    return to_srgb(out)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [(72, 72), (80, 50), (40, 70)])
def test_matches_the_model_written_out(style, size):
    width, height = size
    geo = random_geometry(style, 25, width, height, seed=1)
    bg = (0.2, 0.5, 0.9)
    fast = render(geo, width, height, bg)
    slow = brute_force(geo, width, height, bg)
    assert fast.dtype == np.float32 and fast.shape == (height, width, 3)
    # Equal up to float32 rounding; a pixel may differ where two segments tie exactly.
    assert psnr(fast, slow) > 60
    assert np.mean(np.abs(fast - slow).max(-1) > 1e-4) < 0.002


def test_tape_is_its_rectangle():
    # cx, cy, w, h, theta, r, g, b, a: a 0.5 x 0.2 box in the middle, axis-aligned.
    params = np.array([[0.5, 0.5, 0.5, 0.2, 0.0, 1.0, 0.0, 0.0, 1.0]], np.float32)
    strokes = StrokeSet("tape", 512, 512, params, [1])
    img = render_strokes(strokes)
    assert img.shape == (512, 512, 3)
    # Exactly red inside, exactly white outside (one-pixel anti-aliased edge between).
    assert np.all(img[205:307, 129:383] == np.array([1, 0, 0], np.float32))
    outside = np.ones((512, 512), bool)
    outside[203:310, 127:386] = False
    assert np.all(img[outside] == 1.0)
    coverage = coverage_of(img[..., 1])
    assert coverage.sum() == pytest.approx(0.5 * 0.2 * 512 * 512, rel=0.01)


def test_rotated_tape_keeps_its_area_and_axis():
    params = np.array([[0.5, 0.5, 0.6, 0.1, 0.25, 0.0, 0.0, 0.0, 1.0]], np.float32)  # 45 degrees
    img = render_strokes(StrokeSet("tape", 512, 512, params, [1]))
    coverage = coverage_of(img[..., 0])
    assert coverage.sum() == pytest.approx(0.6 * 0.1 * 512 * 512, rel=0.02)
    # Along the diagonal (y down, so +45 degrees runs to the lower right) it is painted ...
    for f in (-0.25, 0.0, 0.25):
        i = j = int(256 + f * 512 / np.sqrt(2))
        assert coverage[i, j] == 1.0
    # ... across it, and beyond its ends, it is not.
    assert coverage[256 - 60, 256 + 60] == 0.0
    end = int(256 + 0.33 * 512 / np.sqrt(2))
    assert coverage[end, end] == 0.0


def test_round_caps_reach_one_radius_past_the_end():
    r = 0.05
    geo = geometry([[[0.3, 0.5], [0.5, 0.5], [0.7, 0.5]]], r, [0, 0, 0], 1.0)
    img = render(geo, 400, 400)
    coverage = coverage_of(img[..., 0])
    row = 199  # pixel centre y = 199.5 / 400, half a pixel off the axis
    end_px = 0.7 * 400  # x of the end point in pixels
    # The edge is where the signed distance is zero: coverage 1/2 exactly r past the end.
    d = lambda j: np.hypot(j + 0.5 - end_px, 0.5) - r * 400  # noqa: E731
    for j in range(int(end_px), int(end_px + r * 400) + 3):
        assert coverage[row, j] == pytest.approx(np.clip(0.5 - d(j), 0, 1), abs=1e-4)
    assert coverage[row, int(end_px + r * 400) - 2] == 1.0
    assert coverage[row, int(end_px + r * 400) + 2] == 0.0
    # And the cap is a half disc: beyond the end every pixel's coverage is set by its
    # distance to the end point.
    ii, jj = np.mgrid[170:230, 280:310]
    dist = np.hypot(jj + 0.5 - end_px, ii + 0.5 - 200) - r * 400
    np.testing.assert_allclose(coverage[170:230, 280:310], np.clip(0.5 - dist, 0, 1), atol=1e-4)


def test_flat_caps_stop_at_the_end_points():
    pts = [[[0.3, 0.5], [0.7, 0.5]]]
    round_ = render(geometry(pts, 0.05, [0, 0, 0], 1.0, cap="round"), 400, 400)
    flat = render(geometry(pts, 0.05, [0, 0, 0], 1.0, cap="flat"), 400, 400)
    area = lambda img: float(coverage_of(img[..., 0]).sum())  # noqa: E731
    assert area(flat) == pytest.approx(0.4 * 0.1 * 400 * 400, rel=0.01)
    assert area(round_) == pytest.approx((0.4 * 0.1 + np.pi * 0.05 ** 2) * 400 * 400, rel=0.01)
    # The end point is at x = 280 px: flat stops there, round goes on for 20 px.
    assert flat[200, 285, 0] == 1.0
    assert round_[200, 285, 0] == 0.0
    assert flat[200, 275, 0] == 0.0


@pytest.mark.parametrize("style", ["watercolor", "oil"])
def test_colour_runs_from_the_first_to_the_last_point(style):
    spec = get_style(style)
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    p = np.zeros(spec.dim, np.float32)
    if style == "watercolor":  # straight Bezier from (0.2, 0.5) to (0.8, 0.5)
        p[:8] = [0.2, 0.5, 0.5, 0.5, 0.8, 0.5, 0.06, 0.06]
    else:  # box 0.6 x 0.12 in the middle
        p[:5] = [0.5, 0.5, 0.6, 0.12, 0.0]
    p[spec.index("r_0", "g_0", "b_0")] = red
    p[spec.index("r_2", "g_2", "b_2")] = blue
    p[spec.index("a")] = 1.0
    img = render_strokes(StrokeSet(style, 400, 400, p[None], [1]))
    start, end, mid = img[200, 90], img[200, 310], img[200, 200]
    if style == "watercolor":  # a wash over white: on its centre line the pigment is
        # WASH_MIDDLE of the rim's, and the colour is exactly the interpolation.
        # The geometry grades the points' colours from red to blue (in sRGB); between two
        # points the model interpolates in linear light.
        geo = StrokeSet(style, 400, 400, p[None], [1]).geometry()
        xs = geo.points[0, :, 0].astype(np.float64) * 400  # a straight, evenly sampled line
        np.testing.assert_allclose(geo.rgba[0, :, 0], 1 - np.linspace(0, 1, len(xs)), atol=1e-6)
        x0, x1 = xs[0], xs[-1]
        cols = to_linear(geo.rgba[0, :, :3])
        for j in (90, 150, 200, 310):
            k = int(np.clip(np.searchsorted(xs, j + 0.5) - 1, 0, len(xs) - 2))
            t = np.clip((j + 0.5 - xs[k]) / (xs[k + 1] - xs[k]), 0, 1)
            expected = to_srgb(1 - WASH_MIDDLE + WASH_MIDDLE * ((1 - t) * cols[k] + t * cols[k + 1]))
            np.testing.assert_allclose(img[200, j], expected, atol=1e-4)
        # Beyond the ends, the end colours, as much pigment as the distance from the end
        # point gives (the cap is round), and more at the rim than in the middle.
        r = 0.06 * 400
        for x, colour, sign in ((x0, red, -1), (x1, blue, 1)):
            j = int(x + sign * 10)  # about 10 px beyond the end point
            d = abs(j + 0.5 - x) / r
            expected = to_srgb(1 - wash_profile(d) + wash_profile(d) * np.array(colour))
            np.testing.assert_allclose(img[200, j], expected, atol=2e-3)
        across = to_linear(img[200 - 28:200 + 1, 200, 1])  # green: 1 where no pigment is
        assert across[-1] == pytest.approx(1 - WASH_MIDDLE, abs=0.02)  # the middle
        assert across.min() < across[-1] - 0.2  # the rim holds more pigment
    else:  # oil: 1 - OIL_MIX of the colour, the rest the grey bristle shading, opaque
        # where the brush is loaded (the start); the dry tail lets the white ground
        # through, which adds the same to every channel. So in linear light G = B at the
        # start, R - G is all of 1 - OIL_MIX there, and everywhere the share of blue in
        # the colour, (B - G) / (R + B - 2 G), is how far along the core segment we are.
        lin = to_linear(img[200].astype(np.float64))
        assert lin[90, 0] - lin[90, 1] == pytest.approx(1 - OIL_MIX, abs=1e-3)
        assert lin[90, 1] == pytest.approx(lin[90, 2], abs=1e-4) and 0 < lin[90, 1] < OIL_MIX * 0.5
        seg0, seg1 = 80 + 24, 320 - 24  # the core segment: the ends inset by the radius
        for x in (120, 200, 250, 280):
            t = (x + 0.5 - seg0) / (seg1 - seg0)
            share = (lin[x, 2] - lin[x, 1]) / (lin[x, 0] + lin[x, 2] - 2 * lin[x, 1])
            assert share == pytest.approx(t, abs=0.01)
        assert mid[1] > 0 and abs(mid[0] - mid[2]) < 0.2


def test_colour_is_interpolated_in_linear_light():
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    geo = geometry([[[0.2, 0.5], [0.8, 0.5]]], 0.1, np.array([[red, blue]]), 1.0, cap="flat")
    img = render(geo, 400, 400, (0.0, 1.0, 0.0))
    for j in (80, 130, 199, 200, 260, 319):  # the flat ends are at x = 80 and 320 px
        t = (j + 0.5 - 80) / 240
        expected = to_srgb((1 - t) * to_linear(red) + t * to_linear(blue))
        np.testing.assert_allclose(img[200, j], expected, atol=1e-5)
    # Half way it is sRGB 0.735 of each, not the 0.5 an sRGB interpolation would give.
    np.testing.assert_allclose(img[200, 199:201, [0, 2]], to_srgb(0.5), atol=0.005)


def test_srgb_linear_conversions():
    from core.model.colour import linear_to_srgb, srgb_to_linear
    c = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(srgb_to_linear(c), to_linear(c), atol=1e-12)
    np.testing.assert_allclose(linear_to_srgb(c), to_srgb(c), atol=1e-12)
    assert srgb_to_linear(np.array([0.5]))[0] == pytest.approx(0.21404, abs=1e-5)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(c)), c, atol=1e-12)
    tc = torch.linspace(0, 1, 101, dtype=torch.float64)
    np.testing.assert_allclose(srgb_to_linear(tc).numpy(), to_linear(tc.numpy()), atol=1e-12)
    np.testing.assert_allclose(linear_to_srgb(tc).numpy(), to_srgb(tc.numpy()), atol=1e-12)


def test_later_strokes_are_composited_on_top():
    pts = [[[0.2, 0.5], [0.6, 0.5]], [[0.4, 0.5], [0.8, 0.5]]]
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    geo = geometry(pts, 0.05, np.array([[red], [blue]]), [0.5, 0.75], cap="flat")
    bg = np.array([0.2, 0.4, 0.6])
    img = render(geo, 400, 400, bg)
    # Blended in linear light: C_lin <- C_lin (1 - a) + a c_lin.
    under = to_linear(bg) * 0.5 + 0.5 * to_linear(red)
    np.testing.assert_allclose(img[200, 100], to_srgb(under), atol=1e-6)
    np.testing.assert_allclose(img[200, 200], to_srgb(under * 0.25 + 0.75 * to_linear(blue)), atol=1e-6)
    np.testing.assert_allclose(img[200, 300], to_srgb(to_linear(bg) * 0.25 + 0.75 * to_linear(blue)),
                               atol=1e-6)
    # ... which is not the sRGB blend: half-transparent red over the background is lighter.
    assert np.all(img[200, 100] - (bg * 0.5 + 0.5 * np.array(red)) > 0.05)
    # Painting order matters: swapped, red ends on top.
    swapped = Geometry(geo.points[::-1].copy(), geo.radius[::-1].copy(), geo.rgba[::-1].copy(),
                       "flat", 0.0, False)
    img2 = render(swapped, 400, 400, bg)
    assert not np.allclose(img2[200, 200], img[200, 200])
    assert img2[200, 200, 0] > img2[200, 200, 2]


def test_oil_is_textured_and_tape_is_not():
    box = [0.5, 0.5, 0.6, 0.2, 0.1]
    oil = np.array([box + [0.1, 0.2, 0.6, 0.1, 0.2, 0.6, 1.0]], np.float32)
    tape = np.array([box + [0.1, 0.2, 0.6, 1.0]], np.float32)
    img_oil = render_strokes(StrokeSet("oil", 256, 256, oil, [1]))
    img_tape = render_strokes(StrokeSet("tape", 256, 256, tape, [1]))
    geo = StrokeSet("oil", 256, 256, oil, [1]).geometry()
    p0, p1 = geo.points[0] * 256
    n = (p1 - p0) / np.linalg.norm(p1 - p0)
    perp = np.array([-n[1], n[0]])
    centre = (p0 + p1) / 2
    # Pixels well inside both strokes: within 0.6 of the half width of the axis, and
    # within the middle 80% of the oil stroke's length.
    ii, jj = np.mgrid[:256, :256] + 0.5
    rel = np.stack([jj - centre[0], ii - centre[1]], -1)
    inner = (np.abs(rel @ perp) < 0.6 * 0.1 * 256) & (np.abs(rel @ n) < 0.4 * np.linalg.norm(p1 - p0))
    assert inner.sum() > 1000
    assert np.ptp(img_tape[inner], axis=0).max() < 1e-6
    assert img_oil[inner][..., 0].std() > 0.01
    # ... and the texture follows the stroke: streaks run along it, so the variation
    # along the stroke's axis is smaller than across it.
    along = [img_oil[int(c[1]), int(c[0]), 0] for c in (centre + s * n for s in np.linspace(-30, 30, 40))]
    across = [img_oil[int(c[1]), int(c[0]), 0] for c in (centre + s * perp for s in np.linspace(-12, 12, 40))]
    assert np.std(across) > np.std(along)


@pytest.mark.parametrize("style", STYLES)
def test_resolution_independent(style):
    """Rendering 4x larger and box-downsampling matches rendering at 1x."""
    for width, height in [(128, 96), (96, 128)]:
        geo = random_geometry(style, 100, width, height, seed=3)
        low = render(geo, width, height)
        high = render(geo, 4 * width, 4 * height).reshape(height, 4, width, 4, 3).mean((1, 3))
        # Oil's bristle shading is mip-filtered, as a GPU samples a texture, which is
        # close to supersampling but not equal to it (34.9 and 35.3 dB when written).
        assert psnr(low, high) > (34 if style == "oil" else 38)


def test_non_square_canvas_positions():
    # A small square of tape at (x, y) = (0.75 W, 0.25 H) on a 300 x 150 canvas.
    params = np.array([[0.75, 0.25, 0.05, 0.05, 0.0, 0.0, 0.0, 0.0, 1.0]], np.float32)
    strokes = StrokeSet("tape", 300, 150, params, [1], background=(1, 1, 0))
    img = render_strokes(strokes)
    assert img.shape == (150, 300, 3)
    coverage = coverage_of(img[..., 0])
    assert coverage.sum() == pytest.approx(15 * 15, abs=0.5)  # 0.05 of the long side squared
    ii, jj = np.mgrid[:150, :300] + 0.5
    centre = [(coverage * ii).sum() / coverage.sum(), (coverage * jj).sum() / coverage.sum()]
    assert centre == pytest.approx([0.25 * 150, 0.75 * 300], abs=0.01)
    np.testing.assert_array_equal(img[0, 0], [1, 1, 0])
    tall = render_strokes(StrokeSet("tape", 150, 300, params, [1]), long_side=600)
    assert tall.shape == (600, 300, 3)


def test_output_size():
    assert output_size(300, 200) == (300, 200)
    assert output_size(300, 200, 150) == (150, 100)
    assert output_size(200, 300, 150) == (100, 150)
    assert output_size(1000, 1, 100) == (100, 1)
    with pytest.raises(PainterError):
        output_size(10, 10, 0)


def test_empty_stroke_set_is_the_background():
    strokes = StrokeSet("marker", 64, 32, np.zeros((0, 13), np.float32), [], background=(0.1, 0.2, 0.3))
    img = render_strokes(strokes)
    assert img.shape == (32, 64, 3)
    assert np.all(img == np.array([0.1, 0.2, 0.3], np.float32))
    np.testing.assert_array_equal(render_strokes(strokes, background=(0, 0, 0)), 0)


@pytest.mark.parametrize("cap,softness,textured", [("round", 0.0, False), ("round", 0.5, False),
                                                   ("round", 0.0, True), ("flat", 0.0, False)])
def test_degenerate_strokes_are_finite(cap, softness, textured):
    pts = np.array([
        [[0.5, 0.5], [0.5, 0.5]],  # zero length
        [[0.2, 0.2], [0.2, 0.2 + 1e-9]],  # almost zero length
        [[0.1, 0.9], [0.9, 0.1]],  # tiny radius (below)
        [[0.3, 0.3], [0.6, 0.3]],  # zero radius (below)
        [[-0.5, -0.5], [-0.4, -0.4]],  # off the canvas
        [[0.4, 0.6], [0.9, 0.6]],  # fully transparent (below)
    ], np.float32)
    radius = np.array([[0.05], [0.03], [1e-7], [0.0], [0.05], [0.1]], np.float32)
    alpha = np.array([1, 1, 1, 1, 1, 0], np.float32)
    geo = geometry(pts, radius, np.full((6, 1, 3), 0.3), alpha, cap, softness, textured)
    img = render(geo, 64, 64)
    assert np.all(np.isfinite(img)) and img.min() >= 0 and img.max() <= 1
    if cap == "round":
        assert img[32, 32, 0] < 1.0  # the zero-length stroke is a dot


def test_incremental_rendering_equals_one_pass():
    geo = random_geometry("watercolor", 40, 96, 64, seed=5)
    full = render(geo, 96, 64, WHITE)
    canvas = render(geo, 96, 64, WHITE, start=0, stop=0)
    np.testing.assert_array_equal(canvas, 1.0)
    for a, b in [(0, 7), (7, 7), (7, 30), (30, 100)]:
        out = render(geo, 96, 64, WHITE, canvas=canvas, start=a, stop=b)
        assert out is canvas  # drawn in place
    np.testing.assert_allclose(canvas, full, atol=1e-6)
    with pytest.raises(PainterError):
        render(geo, 96, 64, canvas=np.zeros((64, 95, 3), np.float32))


def test_pixels_no_stroke_covers_keep_their_value_exactly():
    """Only covered pixels go to linear light and back (so e.g. an animation's unchanged
    pixels stay identical between frames)."""
    canvas = np.random.default_rng(0).random((64, 96, 3)).astype(np.float32)
    before = canvas.copy()
    geo = geometry([[[0.2, 0.2], [0.5, 0.4]], [[0.7, 0.1], [0.9, 0.5]]], 0.05,
                   np.array([[[0.1, 0.5, 0.9]], [[1.0, 0.2, 0.0]]]), [0.7, 1.0])
    covered = np.zeros((64, 96), bool)
    for _, (y0, y1, x0, x1, a, _c) in stroke_layers(geo, 96, 64):
        covered[y0:y1, x0:x1] |= a > 0
    assert 0.05 < covered.mean() < 0.5
    render(geo, 96, 64, canvas=canvas)
    np.testing.assert_array_equal(canvas[~covered], before[~covered])
    assert np.all((canvas != before).any(-1)[covered])


def test_cost_follows_the_painted_area():
    """Many tiny strokes on a big canvas cost about as little as on a small one."""
    geo = random_geometry("marker", 300, 2048, 2048, seed=2, max_size=0.01)
    t = time.perf_counter()
    img = render(geo, 2048, 2048)
    elapsed = time.perf_counter() - t
    assert (img < 1).any()
    assert elapsed < 10.0  # per-stroke full-canvas work would take far longer
