"""Optical flow between two frames, and moving strokes and images along it.

Flow is OpenCV's DIS (dense inverse search, Kroeger et al. 2016) on the luminance of
the two frames at the canvas size the strokes were painted at, down to its finest
scale: a few tens of milliseconds at 256-512 px on a CPU, sub-pixel accurate on
translation and zoom, and on fine texture that turns.
``flow[y, x]`` is where the pixel centred at (x + 0.5, y + 0.5) of the first frame
moves to in the second, in pixels.

Occlusion comes from the forward-backward check (Sundaram et al. 2010): where
following the flow forward and then back does not come home, the pixel is covered in
the other frame (or has just appeared, seen from the other side).

A stroke moves as the picture under it moves: its anchor points follow the flow and
its size and direction follow the flow's local Jacobian, so a stroke on a zooming
surface grows and one on a turning surface turns.
"""

from __future__ import annotations

import math

import numpy as np

from ..contracts.styles import MIN_RADIUS, get_style
from ..io.video_io import require_cv2


#: The smallest turn (in theta's units, of pi radians: 0.36 degrees) that turns a
#: stroke past either end of theta's range, writing it the other way round; see
#: :func:`warp_params`.
FLIP_MIN_TURN = 0.002


def to_grey8(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an sRGB float image, as uint8 (what DIS works on)."""
    img = np.asarray(image, dtype=np.float32)
    luma = img[..., 0] * 0.2126 + img[..., 1] * 0.7152 + img[..., 2] * 0.0722
    return (np.clip(luma, 0, 1) * 255 + 0.5).astype(np.uint8)


def optical_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Dense flow [H, W, 2] (dx, dy in px) from ``first`` to ``second`` (H x W x 3 float)."""
    cv2 = require_cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    # The preset stops at half resolution, which smooths over fine texture on a turning
    # object: on the Blender clip of benchmarks/bench_video.py, the full-resolution level
    # halves the error against the true motion on the moving head (0.99 -> 0.57 px end
    # point) and on the ground (0.35 -> 0.17 px), for about 7 ms more per flow at 256 px.
    dis.setFinestScale(0)
    return dis.calc(to_grey8(first), to_grey8(second), None).astype(np.float32)


def sample_field(field: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of an [H, W, C] field at pixel positions xy [..., 2] (x right, y
    down, pixel (i, j) centred at (j + 0.5, i + 0.5)); positions outside clamp to the edge."""
    h, w = field.shape[:2]
    x = np.clip(np.asarray(xy[..., 0], np.float64) - 0.5, 0, w - 1)
    y = np.clip(np.asarray(xy[..., 1], np.float64) - 0.5, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.int64), max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def warp_image(image: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """``image`` (of the first frame) moved onto the second frame, given the flow from the
    second frame back to the first: out(x) = image(x + flow_back(x))."""
    h, w = flow_back.shape[:2]
    return sample_field(np.asarray(image, np.float32), _pixel_centres(h, w) + flow_back)


def occlusion(first: np.ndarray, second: np.ndarray, flow: np.ndarray, flow_back: np.ndarray,
              alpha: float = 0.01, beta: float = 0.5, colour_tolerance: float = 0.08) -> np.ndarray:
    """Bool [H, W]: pixels of ``first`` that are covered in ``second``.

    A pixel is covered when following the flow forward and back does not come home
    AND its colour is not found where the flow sends it: in flat, textureless areas the
    flow is ambiguous and the forward-backward check alone fails, though nothing there
    is hidden. Pixels that move off the canvas are out of view, not covered.
    """
    h, w = flow.shape[:2]
    pos = _pixel_centres(h, w) + flow
    outside = (pos[..., 0] < 0) | (pos[..., 0] > w) | (pos[..., 1] < 0) | (pos[..., 1] > h)
    seen = sample_field(np.asarray(second, np.float32), pos)
    colour_off = np.abs(seen - np.asarray(first, np.float32)).mean(-1) > colour_tolerance
    return ~reliable_flow(flow, flow_back, alpha, beta) & colour_off & ~outside


def reliable_flow(flow: np.ndarray, flow_back: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """Bool [H, W]: where following the flow forward and back comes home (Sundaram et
    al.'s bound: |f + b|^2 <= alpha (|f|^2 + |b|^2) + beta), i.e. the flow can be trusted."""
    h, w = flow.shape[:2]
    back = sample_field(flow_back, _pixel_centres(h, w) + flow)
    err = ((flow + back) ** 2).sum(-1)
    return err <= alpha * ((flow ** 2).sum(-1) + (back ** 2).sum(-1)) + beta


def camera_motion(flow: np.ndarray, weight: np.ndarray | None = None, step: int = 4) -> np.ndarray:
    """The flow [H, W, 2] of the one affine motion that explains most of ``flow``: the
    camera's pan, zoom and roll over a still scene (zero for a locked-off camera).

    A least-squares fit on every ``step``-th pixel, weighted by ``weight`` (trust in the
    flow; None: all alike) and re-weighted with a Cauchy weight on the residual, so
    objects that move on their own do not pull it along. The fit starts from the
    median flow (a plain least-squares start leans towards a big moving object, and
    re-weighting from there left a locked-off camera drifting 0.1-0.2 px a frame,
    which moved every still stroke a little each frame) and tightens the Cauchy scale
    from 1 px to 0.3 px once the object is out of it. Where ``flow`` departs from it,
    something moves in the scene.
    """
    h, w = flow.shape[:2]
    centres = _pixel_centres(h, w)
    pts = centres[::step, ::step].reshape(-1, 2).astype(np.float64)
    f = flow[::step, ::step].reshape(-1, 2).astype(np.float64)
    base = np.ones(len(pts)) if weight is None else weight[::step, ::step].reshape(-1).astype(np.float64) + 1e-3
    design = np.concatenate([pts, np.ones((len(pts), 1))], 1)  # [K, 3]
    coef = np.zeros((3, 2))
    coef[2] = np.median(f, axis=0)
    for i in range(8):
        residual = np.linalg.norm(f - design @ coef, axis=1)
        robust = base / (1.0 + (residual / (1.0 if i < 3 else 0.3)) ** 2)
        sw = np.sqrt(robust)[:, None]
        coef = np.linalg.lstsq(design * sw, f * sw, rcond=None)[0]  # [3, 2]
    full = np.concatenate([centres.reshape(-1, 2), np.ones((h * w, 1), np.float32)], 1)
    return (full @ coef.astype(np.float32)).reshape(h, w, 2)


def _pixel_centres(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx + 0.5, yy + 0.5], -1)


def local_motion(flow: np.ndarray, weight: np.ndarray | None, centre: np.ndarray, axes: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Affine motion of the picture under each stroke: (translation [N, 2], Jacobian [N, 2, 2]).

    The flow is sampled on a 5 x 3 grid spanning the stroke (``axes`` [N, 2, 2]: its
    half-length and half-width vectors, px) and fitted by weighted least squares,
    samples weighted by ``weight`` [H, W] (trust in the flow; None: all alike) and
    dropped outside the canvas, where the flow is the edge's and not the stroke's.
    Too few usable samples fall back to the flow at the centre and no deformation.
    """
    n = centre.shape[0]
    h, w = flow.shape[:2]
    u, v = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 3))
    grid = np.stack([u.ravel(), v.ravel()], -1)  # [K, 2]
    offs = grid[None, :, 0, None] * axes[:, None, 0] + grid[None, :, 1, None] * axes[:, None, 1]  # [N, K, 2]
    pts = (centre[:, None] + offs).reshape(-1, 2)
    inside = ((pts[:, 0] >= 0) & (pts[:, 0] <= w) & (pts[:, 1] >= 0) & (pts[:, 1] <= h)).reshape(n, -1)
    trust = np.ones((h, w, 1), np.float32) if weight is None else weight.astype(np.float32)[..., None]
    wk = (sample_field(trust, pts)[:, 0].reshape(n, -1) + 1e-3) * inside
    fk = sample_field(flow, pts).reshape(n, -1, 2).astype(np.float64)
    # Weighted least squares for f = t + G d (d: offset from the centre, G: the flow's
    # gradient); a small ridge keeps G at zero in directions the samples cannot tell.
    # Re-weighted twice with a Cauchy weight on the residual, so a stroke that lies
    # mostly on the still background follows the background and not the object that
    # passes over a corner of it (DIS flow also bleeds a little past moving edges).
    design = np.concatenate([np.ones(offs.shape[:2] + (1,)), offs], -1)  # [N, K, 3]
    robust = wk
    for _ in range(3):
        ata = np.einsum("nk,nki,nkj->nij", robust, design, design)
        spread = (robust[..., None] * offs ** 2).sum(1).max(-1)
        ata[:, 1:, 1:] += (1e-3 * spread + 1e-6)[:, None, None] * np.eye(2)
        ata[:, 0, 0] += 1e-9
        coef = np.linalg.solve(ata, np.einsum("nk,nki,nkj->nij", robust, design, fk))  # [N, 3, 2]
        residual = np.linalg.norm(fk - np.einsum("nki,nij->nkj", design, coef), axis=-1)
        robust = wk / (1.0 + (residual / 0.5) ** 2)
    trans = coef[:, 0]
    jac = np.eye(2)[None] + coef[:, 1:].transpose(0, 2, 1)
    # No stroke grows, shrinks or shears by more than a fifth in one frame: real motion
    # between two frames does not, and a wrong flow would tear strokes apart.
    u_, sv, vt = np.linalg.svd(jac)
    jac = np.einsum("nij,nj,njk->nik", u_, np.clip(sv, 1 / 1.2, 1.2), vt)
    few = (wk > 0.5).sum(1) < 4
    if few.any():
        trans[few] = sample_field(flow, centre[few])
        jac[few] = np.eye(2)
    return trans, jac


def warp_params(style: str, params: np.ndarray, flow: np.ndarray, width: int, height: int,
                trust: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Strokes of the first frame moved to the second along ``flow`` (at width x height px).

    Each stroke follows the affine motion of the picture under it (:func:`local_motion`,
    samples weighted by ``trust``): its anchor moves, and its length, width and angle
    follow the local Jacobian, so a stroke on a zooming surface grows with it. Returns
    the new parameters and a bool [N] of strokes whose centre left the canvas (half of
    them or more is out of view). Colours and alpha do not change.
    """
    spec = get_style(style)
    p = np.asarray(params, np.float64).reshape(-1, spec.dim).copy()
    n = p.shape[0]
    if n == 0:
        return p.astype(np.float32), np.zeros(0, bool)
    long_px = float(max(width, height))
    scale = np.array([width, height], np.float64)
    cols = spec.cols
    if spec.is_curve:
        pts = p[:, cols.position].reshape(n, 3, 2) * scale  # control points, px
        c = (pts[:, 0] + pts[:, 2]) / 2
        chord = (pts[:, 2] - pts[:, 0]) / 2
        radius = p[:, cols.size].max(1) * long_px
        length = np.linalg.norm(chord, axis=1)
        along = np.where(length[:, None] > 1e-6, chord / np.maximum(length, 1e-9)[:, None], [1.0, 0.0])
        across = np.stack([-along[:, 1], along[:, 0]], -1)
        bend = np.abs(((pts[:, 1] - c) * across).sum(1))
        axes = np.stack([along * np.maximum(length, radius)[:, None],
                         across * np.maximum(bend, radius)[:, None]], 1)
        trans, jac = local_motion(flow, trust, c, axes)
        moved = c[:, None] + trans[:, None] + np.einsum("nij,nkj->nki", jac, pts - c[:, None])
        centre = c + trans
        grow = np.sqrt(np.abs(np.linalg.det(jac)))
        p[:, cols.position] = (moved / scale).reshape(n, 6)
        p[:, cols.size] = np.maximum(p[:, cols.size] * grow[:, None], MIN_RADIUS)
    else:
        wi, hi, ti = cols.size.start, cols.size.start + 1, cols.angle
        c = p[:, cols.position] * scale
        w, h, theta = p[:, wi], p[:, hi], p[:, ti] * math.pi
        along_w = w >= h
        angle = np.where(along_w, theta, theta + math.pi / 2)
        axis = np.stack([np.cos(angle), np.sin(angle)], -1)
        perp = np.stack([-axis[:, 1], axis[:, 0]], -1)
        half_long = np.maximum(w, h) / 2 * long_px
        half_short = np.minimum(w, h) / 2 * long_px
        axes = np.stack([axis * half_long[:, None], perp * np.maximum(half_short, 1.0)[:, None]], 1)
        trans, jac = local_motion(flow, trust, c, axes)
        centre = c + trans
        long_vec = np.einsum("nij,nj->ni", jac, axis * half_long[:, None])
        short_vec = np.einsum("nij,nj->ni", jac, perp * half_short[:, None])
        new_long = np.linalg.norm(long_vec, axis=1)
        new_axis = long_vec / np.maximum(new_long, 1e-9)[:, None]
        new_short = np.abs(new_axis[:, 0] * short_vec[:, 1] - new_axis[:, 1] * short_vec[:, 0])
        new_angle = np.arctan2(new_axis[:, 1], new_axis[:, 0])
        long_n, short_n = 2 * new_long / long_px, 2 * new_short / long_px
        p[:, cols.position] = centre / scale
        p[:, wi] = np.where(along_w, long_n, short_n)
        p[:, hi] = np.where(along_w, short_n, long_n)
        theta_new = np.where(along_w, new_angle, new_angle - math.pi / 2) / math.pi
        # Turn the stroke by the smallest angle (the same axis is theta and theta + 1, but
        # the other way round: its colours and oil's dry end would swap sides).
        theta_new = p[:, ti] + (np.mod(theta_new - p[:, ti] + 0.5, 1.0) - 0.5)
        # Only theta in [0, 1] can be written: past either end the stroke is written the
        # other way round, its start and end colours swapped so they stay where they were
        # (but oil's dry end changes sides: a flip shows). A turn past an end smaller than
        # FLIP_MIN_TURN holds the stroke at the end instead: the optimiser leaves a few
        # strokes in twenty exactly there, and a camera's jitter on a still shot (a
        # hundredth of a degree) would flip them back and forth, a flicker.
        past = (theta_new < 0) | (theta_new > 1)
        hold = past & (np.abs(theta_new - p[:, ti]) < FLIP_MIN_TURN)
        flip = past & ~hold
        p[:, ti] = np.where(flip, np.mod(theta_new, 1.0), np.clip(theta_new, 0.0, 1.0))
        if spec.colours == 2 and flip.any():
            start, end = list(range(spec.dim)[cols.colour_start]), list(range(spec.dim)[cols.colour_end])
            p[np.ix_(flip, start + end)] = p[np.ix_(flip, end + start)]
    # A stroke whose centre sits on the border (the painter clamps centres there) is
    # half in view; it has left only once its centre is past the border by a pixel.
    left = (centre[:, 0] < -1) | (centre[:, 0] > width + 1) | (centre[:, 1] < -1) | (centre[:, 1] > height + 1)
    return np.clip(p, 0.0, 1.0).astype(np.float32), left
