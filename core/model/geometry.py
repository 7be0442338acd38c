"""Stroke geometry: parameters -> polylines, the form every renderer and exporter draws from.

``to_geometry`` is the single source of truth for what a stroke looks like outside the
optimiser: exporters, the reference renderer and the Blender writer all draw from it.
It is written in torch so the same formulas can be reused differentiably. What a
style's parameters mean comes from its spec (:mod:`core.contracts.styles`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..contracts.brushes import Brush
from ..contracts.styles import MIN_RADIUS, StyleSpec, get_style

#: Points sampled along a Bezier stroke. Grease Pencil interpolates colour and radius
#: linearly between points, so this is also what Blender draws.
CURVE_POINTS = 20

def random_params(spec: StyleSpec, n: int, generator: torch.Generator | None = None,
                  max_size: float = 0.5) -> torch.Tensor:
    """Random strokes spread over the canvas (used by tests and training data)."""
    p = torch.rand(n, spec.dim, generator=generator)
    cols = spec.cols
    if spec.is_curve:
        centre = p[:, cols.point(1)].clone()
        for k in (0, 2):
            p[:, cols.point(k)] = (centre + (p[:, cols.point(k)] - 0.5) * max_size).clamp(0, 1)
        p[:, cols.size] = MIN_RADIUS + p[:, cols.size] * max_size * 0.15
    else:
        w, h = cols.size.start, cols.size.start + 1
        p[:, w] = 0.02 + p[:, w] * max_size
        p[:, h] = 0.01 + p[:, h] * max_size * 0.4
    p[:, cols.alpha] = 0.6 + 0.4 * p[:, cols.alpha]
    return p


@dataclass
class Geometry:
    """Strokes as polylines, the form every renderer and exporter draws from.

    Coordinates are in long-side units: x in [0, W/L], y in [0, H/L] (y down).
    """

    points: np.ndarray  # [N, K, 2]
    radius: np.ndarray  # [N, K]  half thickness, long-side units
    rgba: np.ndarray  # [N, K, 4] sRGB colour and alpha in [0, 1]
    cap: str
    softness: float
    textured: bool
    brush: Brush | None = None  # the artist's brush: its stencil stretched over each stroke, tip to tip

    def __len__(self) -> int:
        return int(self.points.shape[0])


def canvas_extent(width: int, height: int) -> tuple[float, float]:
    """Canvas size in long-side units: (W/L, H/L)."""
    long_side = float(max(width, height))
    return width / long_side, height / long_side


def bezier(p0: torch.Tensor, p1: torch.Tensor, p2: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Quadratic Bezier points; p* are [N, 2], t is [K]; returns [N, K, 2]."""
    t = t[None, :, None]
    return ((1 - t) ** 2) * p0[:, None] + 2 * (1 - t) * t * p1[:, None] + (t ** 2) * p2[:, None]


def box_axis(spec: StyleSpec, params: torch.Tensor, extent: tuple[float, float]):
    """Centre, unit long axis, half length of the long side and half short side of a box stroke.

    The stroke runs along whichever of w and h is longer, so that a tall thin box is a
    vertical stroke rather than a short fat one.
    """
    ex, ey = extent
    cols = spec.cols
    centre, size = params[:, cols.position], params[:, cols.size]
    cx, cy = centre[:, 0] * ex, centre[:, 1] * ey
    w, h, theta = size[:, 0], size[:, 1], params[:, cols.angle] * math.pi
    along_w = w >= h
    angle = torch.where(along_w, theta, theta + math.pi / 2)
    axis = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
    half_long = torch.maximum(w, h) / 2
    half_short = torch.minimum(w, h) / 2
    return torch.stack([cx, cy], -1), axis, half_long, half_short


def taper(r0: torch.Tensor, r2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """End radii of a Bezier stroke, the thinner end at least half the thicker.

    Grease Pencil draws a steep taper thinner than the union-of-capsules model, and a
    brush does not go from a hairline to a blob within one stroke anyway.
    """
    r0, r2 = r0.clamp_min(MIN_RADIUS), r2.clamp_min(MIN_RADIUS)
    half = torch.maximum(r0, r2) / 2
    return torch.maximum(r0, half), torch.maximum(r2, half)


def to_geometry_torch(style: str | StyleSpec, params: torch.Tensor, extent: tuple[float, float]):
    """Differentiable geometry: (points [N,K,2], radius [N,K], rgb [N,K,3], alpha [N])."""
    spec = get_style(style)
    cols = spec.cols
    ex, ey = extent
    scale = params.new_tensor([ex, ey])
    c0, c2 = params[:, cols.colour_start], params[:, cols.colour_end]
    alpha = params[:, cols.alpha]
    if spec.is_curve:
        t = torch.linspace(0, 1, CURVE_POINTS, dtype=params.dtype, device=params.device)
        pts = bezier(*(params[:, cols.point(k)] * scale for k in range(3)), t)
        radii = params[:, cols.size]
        r0, r2 = taper(radii[:, 0:1], radii[:, 1:2])
        radius = r0 * (1 - t) + r2 * t
    else:
        centre, axis, half_long, half_short = box_axis(spec, params, extent)
        # Flat ends (tape): the points sit on the box's ends. Round ends (oil): the points
        # are pulled in by the radius to keep the stroke's overall length.
        inset = half_long if spec.cap == "flat" else (half_long - half_short)
        start = centre - axis * inset[:, None]
        end = centre + axis * inset[:, None]
        pts = torch.stack([start, end], dim=1)
        t = torch.tensor([0.0, 1.0], dtype=params.dtype, device=params.device)
        radius = half_short[:, None].expand(-1, 2)
    rgb = c0[:, None, :] * (1 - t[None, :, None]) + c2[:, None, :] * t[None, :, None]
    return pts, radius.clamp_min(MIN_RADIUS), rgb, alpha


def to_geometry(style: str | StyleSpec, params: np.ndarray | torch.Tensor, width: int, height: int) -> Geometry:
    """Polylines for exporters and Blender (numpy, float32)."""
    spec = get_style(style)
    p = torch.as_tensor(np.asarray(params, dtype=np.float32)).reshape(-1, spec.dim)
    with torch.no_grad():
        pts, radius, rgb, alpha = to_geometry_torch(style, p, canvas_extent(width, height))
    rgba = torch.cat([rgb, alpha[:, None, None].expand(-1, rgb.shape[1], 1)], dim=-1)
    return Geometry(points=pts.numpy().astype(np.float32), radius=radius.numpy().astype(np.float32),
                    rgba=rgba.clamp(0, 1).numpy().astype(np.float32), cap=spec.cap,
                    softness=spec.softness, textured=spec.textured, brush=spec.brush)
