"""Stroke styles: parameter layouts, bounds, and the conversion of parameters to geometry.

Parameters live in [0, 1]. Positions are fractions of the canvas width (x) and height
(y, downwards); lengths (radii, widths, heights) are fractions of the canvas's *long*
side, so a stroke keeps its shape on a non-square canvas. Angles are fractions of pi.

``to_geometry`` is the single source of truth for what a stroke looks like outside the
optimiser: exporters, the reference renderer and the Blender writer all draw from it.
It is written in torch so the same formulas can be reused differentiably.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import PainterError

#: Points sampled along a Bezier stroke. Grease Pencil interpolates colour and radius
#: linearly between points, so this is also what Blender draws.
CURVE_POINTS = 20


@dataclass(frozen=True)
class StyleSpec:
    name: str
    paper_name: str
    params: tuple[str, ...]
    cap: str  # "round" or "flat": how the stroke's ends are drawn
    softness: float  # 0 = hard edge; >0 = fraction of the radius that fades out
    textured: bool  # oil strokes carry the procedural bristle texture

    @property
    def dim(self) -> int:
        return len(self.params)

    def index(self, *names: str) -> list[int]:
        return [self.params.index(n) for n in names]


_BEZIER = ("x0", "y0", "x1", "y1", "x2", "y2")
_BOX = ("cx", "cy", "w", "h", "theta")

STYLES: dict[str, StyleSpec] = {
    "marker": StyleSpec("marker", "markerpen", _BEZIER + ("r0", "r2", "r", "g", "b", "a"),
                        cap="round", softness=0.0, textured=False),
    "watercolor": StyleSpec("watercolor", "watercolor",
                            _BEZIER + ("r0", "r2", "r_0", "g_0", "b_0", "r_2", "g_2", "b_2", "a"),
                            cap="round", softness=0.5, textured=False),
    "oil": StyleSpec("oil", "oilpaintbrush",
                     _BOX + ("r_0", "g_0", "b_0", "r_2", "g_2", "b_2", "a"),
                     cap="round", softness=0.0, textured=True),
    "tape": StyleSpec("tape", "rectangle", _BOX + ("r", "g", "b", "a"),
                      cap="flat", softness=0.0, textured=False),
}

#: Smallest stroke half-thickness, as a fraction of the long side; keeps strokes visible.
MIN_RADIUS = 0.002


def get_style(name: str) -> StyleSpec:
    try:
        return STYLES[name]
    except KeyError:
        raise PainterError(
            f"unknown style {name!r}: choose one of {', '.join(STYLES)}") from None


def colour_slices(spec: StyleSpec) -> tuple[list[int], list[int]]:
    """Indices of the start and end colour; equal for single-colour styles."""
    if "r_0" in spec.params:
        return spec.index("r_0", "g_0", "b_0"), spec.index("r_2", "g_2", "b_2")
    rgb = spec.index("r", "g", "b")
    return rgb, rgb


def shape_indices(spec: StyleSpec) -> list[int]:
    """Indices of the parameters that define where the stroke is (not its colour)."""
    colour = set(sum(colour_slices(spec), [])) | {spec.params.index("a")}
    return [i for i in range(spec.dim) if i not in colour]


def random_params(spec: StyleSpec, n: int, generator: torch.Generator | None = None,
                  max_size: float = 0.5) -> torch.Tensor:
    """Random strokes spread over the canvas (used by tests and training data)."""
    p = torch.rand(n, spec.dim, generator=generator)
    if spec.params[:6] == _BEZIER:
        centre = p[:, 2:4].clone()
        for k in (0, 4):
            p[:, k:k + 2] = (centre + (p[:, k:k + 2] - 0.5) * max_size).clamp(0, 1)
        p[:, 6:8] = MIN_RADIUS + p[:, 6:8] * max_size * 0.15
    else:
        p[:, 2] = 0.02 + p[:, 2] * max_size
        p[:, 3] = 0.01 + p[:, 3] * max_size * 0.4
    p[:, -1] = 0.6 + 0.4 * p[:, -1]
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


def box_axis(params: torch.Tensor, extent: tuple[float, float]):
    """Centre, unit long axis, half length of the long side and half short side of a box stroke.

    The stroke runs along whichever of w and h is longer, so that a tall thin box is a
    vertical stroke rather than a short fat one.
    """
    ex, ey = extent
    cx, cy = params[:, 0] * ex, params[:, 1] * ey
    w, h, theta = params[:, 2], params[:, 3], params[:, 4] * math.pi
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


def to_geometry_torch(style: str, params: torch.Tensor, extent: tuple[float, float]):
    """Differentiable geometry: (points [N,K,2], radius [N,K], rgb [N,K,3], alpha [N])."""
    spec = get_style(style)
    ex, ey = extent
    scale = params.new_tensor([ex, ey])
    c0_idx, c2_idx = colour_slices(spec)
    c0, c2 = params[:, c0_idx], params[:, c2_idx]
    alpha = params[:, spec.params.index("a")]
    if spec.params[:6] == _BEZIER:
        t = torch.linspace(0, 1, CURVE_POINTS, dtype=params.dtype, device=params.device)
        pts = bezier(params[:, 0:2] * scale, params[:, 2:4] * scale, params[:, 4:6] * scale, t)
        r0, r2 = taper(params[:, 6:7], params[:, 7:8])
        radius = r0 * (1 - t) + r2 * t
    else:
        centre, axis, half_long, half_short = box_axis(params, extent)
        # Tape ends are flat, so its points sit on the box's ends. Oil ends are round, so
        # the points are pulled in by the radius to keep the stroke's overall length.
        inset = half_long if spec.cap == "flat" else (half_long - half_short)
        start = centre - axis * inset[:, None]
        end = centre + axis * inset[:, None]
        pts = torch.stack([start, end], dim=1)
        t = torch.tensor([0.0, 1.0], dtype=params.dtype, device=params.device)
        radius = half_short[:, None].expand(-1, 2)
    rgb = c0[:, None, :] * (1 - t[None, :, None]) + c2[:, None, :] * t[None, :, None]
    return pts, radius.clamp_min(MIN_RADIUS), rgb, alpha


def to_geometry(style: str, params: np.ndarray | torch.Tensor, width: int, height: int) -> Geometry:
    """Polylines for exporters and Blender (numpy, float32)."""
    spec = get_style(style)
    p = torch.as_tensor(np.asarray(params, dtype=np.float32)).reshape(-1, spec.dim)
    with torch.no_grad():
        pts, radius, rgb, alpha = to_geometry_torch(style, p, canvas_extent(width, height))
    rgba = torch.cat([rgb, alpha[:, None, None].expand(-1, rgb.shape[1], 1)], dim=-1)
    return Geometry(points=pts.numpy().astype(np.float32), radius=radius.numpy().astype(np.float32),
                    rgba=rgba.clamp(0, 1).numpy().astype(np.float32), cap=spec.cap,
                    softness=spec.softness, textured=spec.textured)
