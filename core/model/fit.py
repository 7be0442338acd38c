"""Strokes as the artist left them in Blender -> parameters (what Refine starts from).

The add-on reads back every stroke of a painting: its stored parameters (when the
painter made it) and the geometry it is drawn with now. A stroke whose geometry still
matches its parameters keeps them exactly; a stroke moved, recoloured or reshaped by
hand, or drawn new, is fitted: the inverse of :func:`core.model.geometry.to_geometry`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..contracts.styles import MIN_RADIUS, get_style
from .geometry import CURVE_POINTS, canvas_extent, to_geometry
from .strokes import StrokeSet


def fit_params(style: str, pts: np.ndarray, rad: np.ndarray, rgba: np.ndarray,
               width: int, height: int) -> np.ndarray:
    """Parameters whose geometry best matches a stroke as it is drawn now (moved, recoloured,
    reshaped or hand-drawn), the inverse of core.model.geometry.to_geometry."""
    spec = get_style(style)
    cols = spec.cols
    ex, ey = canvas_extent(width, height)
    p = np.zeros(spec.dim, np.float32)
    k = len(pts)
    p[cols.colour_start] = rgba[0, :3]
    p[cols.colour_end] = rgba[-1, :3] if spec.colours == 2 else rgba[:, :3].mean(0)
    p[cols.alpha] = float(np.clip(rgba[:, 3].max(), 0, 1))
    if spec.is_curve:
        # Least-squares quadratic Bezier through the points: at core's own sampling (even t)
        # when the point count is unchanged, else t by arc length (a hand-drawn stroke).
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1) if k > 1 else np.zeros(0)
        if k == CURVE_POINTS:
            t = np.linspace(0.0, 1.0, k)
        else:
            t = np.concatenate([[0.0], np.cumsum(seg)]) / max(float(seg.sum()), 1e-9) if k > 1 else np.zeros(1)
        p0, p2 = pts[0], pts[-1]
        w = 2 * (1 - t) * t
        rest = pts - ((1 - t) ** 2)[:, None] * p0 - (t ** 2)[:, None] * p2
        p1 = (w[:, None] * rest).sum(0) / max(float((w * w).sum()), 1e-9) if k > 2 else (p0 + p2) / 2
        scale = np.array([ex, ey], np.float32)
        p[cols.position] = np.concatenate([p0 / scale, p1 / scale, p2 / scale])
        p[cols.size] = max(float(rad[0]), MIN_RADIUS), max(float(rad[-1]), MIN_RADIUS)
    else:
        a, b = pts[0], pts[-1]
        d = b - a
        length = float(np.hypot(*d))
        half_short = float(np.mean(rad))
        # Flat ends: the points sit on the box ends; round ends: they are pulled in by the radius.
        long_side = length if spec.cap == "flat" else length + 2 * half_short
        theta = (np.arctan2(d[1], d[0]) / np.pi) % 1.0 if length > 0 else 0.0
        p[cols.position] = (a[0] + b[0]) / 2 / ex, (a[1] + b[1]) / 2 / ey
        p[cols.size] = max(long_side, 2 * half_short), 2 * half_short
        p[cols.angle] = theta
    return np.clip(p, 0.0, 1.0)


def reconcile(init: StrokeSet, drawn: list[dict[str, Any]] | None) -> StrokeSet:
    """The painting as the artist left it. ``drawn`` lists the strokes in the Blender
    object (painting order), each with its stored ``params`` (null if drawn by hand) and
    its current ``points``/``radius``/``rgba`` in core's long-side units. Strokes whose
    geometry still matches their parameters keep them exactly; edited or new strokes are
    re-fitted; deleted strokes are simply absent."""
    if drawn is None:
        return init
    rows, levels = [], []
    for s in drawn:
        pts = np.asarray(s["points"], np.float32).reshape(-1, 2)
        rad = np.asarray(s["radius"], np.float32).reshape(-1)
        rgba = np.asarray(s["rgba"], np.float32).reshape(-1, 4)
        params = s.get("params")
        if params is not None:
            params = np.asarray(params, np.float32)
            g = to_geometry(init.style, params[None], init.width, init.height)
            same = (g.points.shape[1] == len(pts)
                    and np.allclose(g.points[0], pts, atol=2e-4)
                    and np.allclose(g.radius[0], rad, atol=2e-4, rtol=1e-3)
                    and np.allclose(g.rgba[0], rgba, atol=3e-3))
            if same:
                rows.append(params)
                levels.append(int(s.get("level", 1)))
                continue
        rows.append(fit_params(init.style, pts, rad, rgba, init.width, init.height))
        levels.append(int(s.get("level", 1)))
    dim = init.params.shape[1]
    return StrokeSet(init.style, init.width, init.height,
                     np.asarray(rows, np.float32).reshape(-1, dim), np.asarray(levels, np.int32),
                     init.background, dict(init.meta))
