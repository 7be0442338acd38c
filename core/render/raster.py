"""Differentiable analytic stroke renderer, fast on a CPU.

Each stroke is evaluated only on a square patch around its bounding box, all strokes of
a batch at once (one tensor op per formula, not one per stroke). The patches are then
composited in painting order in *waves*: a wave is a set of strokes whose patches do
not overlap each other, and every earlier stroke that overlaps a stroke sits in an
earlier wave, so compositing wave by wave is exactly sequential "over" compositing,
at a cost of a few ops per wave instead of per stroke.

The shapes follow the appearance model in :mod:`core.reference` (the reference
renderer draws the same strokes from their geometry). The forward pass uses the
model's linear 1-pixel edge ramp; the backward pass uses a sigmoid of the same slope
so strokes still feel the pull of pixels a few pixels outside their edge.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..contracts.brushes import Brush
from ..model.brushes import brush_mipmaps
from ..model.colour import linear_to_srgb, srgb_to_linear
from ..contracts.styles import MIN_RADIUS, StyleSpec, get_style
from ..model.geometry import box_axis, taper
from ..model.texture import OIL_MIX, mip_level, oil_level, oil_mipmaps, wash_profile


def _edge(sd: torch.Tensor, e: torch.Tensor | float) -> torch.Tensor:
    """Coverage from signed distance: linear ramp forward, sigmoid gradient backward."""
    ramp = (0.5 - sd / e).clamp(0.0, 1.0)
    if not sd.requires_grad:
        return ramp
    smooth = torch.sigmoid(-4.0 * sd / e)
    return ramp + (smooth - smooth.detach())


def stroke_bounds(style: str | StyleSpec, params: torch.Tensor, extent: tuple[float, float]) -> torch.Tensor:
    """Axis-aligned bounds [N, 4] (x0, y0, x1, y1) in long-side units, not differentiable."""
    spec = get_style(style)
    ex, ey = extent
    with torch.no_grad():
        if spec.is_curve:
            points = params[:, spec.cols.position]
            xs = points[:, 0::2] * ex
            ys = points[:, 1::2] * ey
            # A soft edge fades out half its ramp (softness * radius) beyond the radius.
            r = params[:, spec.cols.size].amax(dim=1).clamp_min(MIN_RADIUS) * (1 + 0.5 * spec.softness)
            # A quadratic Bezier stays inside the hull of its control points.
            return torch.stack([xs.amin(1) - r, ys.amin(1) - r, xs.amax(1) + r, ys.amax(1) + r], 1)
        centre, axis, half_long, half_short = box_axis(spec, params, extent)
        hl, hs = half_long, half_short.clamp_min(MIN_RADIUS)
        if spec.softness > 0:
            hl, hs = hl + 0.5 * spec.softness * hs, hs * (1 + 0.5 * spec.softness)
        dx = (axis[:, 0].abs() * hl + axis[:, 1].abs() * hs)
        dy = (axis[:, 1].abs() * hl + axis[:, 0].abs() * hs)
        return torch.stack([centre[:, 0] - dx, centre[:, 1] - dy, centre[:, 0] + dx, centre[:, 1] + dy], 1)


class Patches:
    """Where each stroke's square patch lies on the (padded) canvas; one size for all."""

    def __init__(self, bounds: torch.Tensor, long_px: int, width: int, height: int,
                 max_patch: int | None = None) -> None:
        b = (bounds * long_px).detach().cpu().numpy()
        x0 = np.floor(b[:, 0]).astype(np.int64) - 1
        y0 = np.floor(b[:, 1]).astype(np.int64) - 1
        span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) + 3
        size = int(math.ceil(span.max() / 4.0) * 4) if len(span) else 4
        size = max(4, min(size, max_patch or size, max(width, height) + 4))
        self._place(x0, y0, size, size, long_px, width, height)

    @classmethod
    def at(cls, x0: np.ndarray, y0: np.ndarray, size: int, pad: int, long_px: int, width: int,
           height: int) -> "Patches":
        """Patches of ``size`` px at given corners, indexing a canvas padded by ``pad``."""
        self = cls.__new__(cls)
        self._place(x0, y0, size, pad, long_px, width, height)
        return self

    def _place(self, x0: np.ndarray, y0: np.ndarray, size: int, pad: int, long_px: int,
               width: int, height: int) -> None:
        # Clamp patches to the canvas plus a margin of one patch, so indices stay valid.
        self.size = size
        self.pad = pad
        self.x0 = np.clip(x0, -size, width)
        self.y0 = np.clip(y0, -size, height)
        self.long_px = long_px
        self.width, self.height = width, height
        self.padded_width = width + 2 * pad
        self.padded_height = height + 2 * pad

    def pixel_centres(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixel-centre x [N, 1, P] and y [N, P, 1] in long-side units."""
        ar = torch.arange(self.size, dtype=torch.float32, device=device)
        x0 = torch.as_tensor(self.x0, dtype=torch.float32, device=device)
        y0 = torch.as_tensor(self.y0, dtype=torch.float32, device=device)
        px = (x0[:, None] + ar[None] + 0.5) / self.long_px
        py = (y0[:, None] + ar[None] + 0.5) / self.long_px
        return px[:, None, :], py[:, :, None]

    def flat_indices(self, device: torch.device) -> torch.Tensor:
        """Indices [N, P*P] of each patch's pixels in the flattened padded canvas."""
        ar = torch.arange(self.size, device=device)
        rows = torch.as_tensor(self.y0 + self.pad, device=device)[:, None] + ar[None]
        cols = torch.as_tensor(self.x0 + self.pad, device=device)[:, None] + ar[None]
        return (rows[:, :, None] * self.padded_width + cols[:, None, :]).reshape(len(self.x0), -1)

    def waves(self) -> list[np.ndarray]:
        """Groups of non-overlapping strokes, in an order that keeps painting order exact."""
        return _waves(self.x0, self.y0, np.full(len(self.x0), self.size))


def _waves(x0: np.ndarray, y0: np.ndarray, size: np.ndarray) -> list[np.ndarray]:
    """Strokes grouped so that no two squares (corner x0, y0, side size) of a group
    overlap, and every earlier stroke that overlaps a stroke sits in an earlier group."""
    n = len(x0)
    if n == 0:
        return []
    overlap = ((x0[:, None] < x0[None, :] + size[None, :]) & (x0[None, :] < x0[:, None] + size[:, None]) &
               (y0[:, None] < y0[None, :] + size[None, :]) & (y0[None, :] < y0[:, None] + size[:, None]))
    wave = np.zeros(n, dtype=np.int64)
    for j in range(1, n):
        earlier = overlap[j, :j]
        if earlier.any():
            wave[j] = wave[:j][earlier].max() + 1
    order = np.argsort(wave, kind="stable")
    bounds = np.searchsorted(wave[order], np.arange(wave.max() + 2))
    return [order[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1) if bounds[k + 1] > bounds[k]]


def canvas_pad(width: int, height: int, margin: int = 8) -> int:
    """Padding around a canvas that fits a square patch as wide as the canvas's long
    side plus ``margin`` on each side, wherever it is slid."""
    return (abs(width - height) + 1) // 2 + margin


class Layout:
    """Square patches of each stroke's own size (rounded up to ``step`` px), so a big
    stroke among small ones costs only its own pixels. Strokes of one size form a
    bucket that is evaluated as a batch of uniform :class:`Patches`."""

    def __init__(self, bounds: torch.Tensor, long_px: int, width: int, height: int,
                 max_patch: int | None = None, step: int = 8, pad: int | None = None) -> None:
        b = (bounds * long_px).detach().cpu().numpy()
        x0 = np.floor(b[:, 0]).astype(np.int64) - 1
        y0 = np.floor(b[:, 1]).astype(np.int64) - 1
        span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) + 3
        self.pad = max(canvas_pad(width, height, step), pad or 0)
        # Only pixels on the canvas matter: a patch never needs to be bigger than the
        # canvas plus its margin, and is slid back inside the padded canvas.
        cap = min(max_patch or 1 << 30, max(width, height) + 2 * step)
        self.sizes = np.clip(np.ceil(span / step).astype(np.int64) * step, step, max(step, cap))
        self._merge_buckets()
        self.x0 = np.clip(x0, -self.pad, width + self.pad - self.sizes)
        self.y0 = np.clip(y0, -self.pad, height + self.pad - self.sizes)
        # Capped, a patch can be shorter than its stroke. One as long as the canvas must
        # still reach past the stroke's end or to the canvas's far edge, whichever comes
        # first, as an uncapped patch does: on a non-square canvas the padding lets it
        # start far enough out to stop short of both.
        x_end = np.minimum(width, np.floor(b[:, 2]).astype(np.int64) + 2)
        y_end = np.minimum(height, np.floor(b[:, 3]).astype(np.int64) + 2)
        self.x0 = np.where(self.sizes >= width, np.maximum(self.x0, x_end - self.sizes), self.x0)
        self.y0 = np.where(self.sizes >= height, np.maximum(self.y0, y_end - self.sizes), self.y0)
        self.long_px, self.width, self.height = long_px, width, height
        self.padded_width = width + 2 * self.pad
        self.padded_height = height + 2 * self.pad

    #: A batch of patches costs a few dozen tensor operations whatever its size; a
    #: bucket is merged into the next bigger one when that adds fewer pixels than this.
    BUCKET_OVERHEAD_PX = 12000

    def _merge_buckets(self) -> None:
        """Group strokes into few patch sizes: each size class costs a fixed overhead,
        each pixel a little, so neighbouring classes merge while that is cheaper."""
        sizes, counts = np.unique(self.sizes, return_counts=True)
        keep = []
        carried = 0
        for i, (size, count) in enumerate(zip(sizes.tolist(), counts.tolist())):
            carried += count
            if i + 1 < len(sizes) and carried * (sizes[i + 1] ** 2 - size ** 2) < self.BUCKET_OVERHEAD_PX:
                continue
            keep.append(size)
            carried = 0
        classes = np.asarray(keep, np.int64)
        self.sizes = classes[np.searchsorted(classes, self.sizes)] if len(self.sizes) else self.sizes
        self.buckets = [(int(sz), np.flatnonzero(self.sizes == sz)) for sz in classes]

    def __len__(self) -> int:
        return len(self.x0)

    def subset(self, rows: np.ndarray) -> "Layout":
        """The patches of ``rows`` only, on the same padded canvas (no buckets: for
        :func:`_row_runs`, which reads only where each patch lies)."""
        sub = copy.copy(self)
        sub.x0, sub.y0, sub.sizes, sub.buckets = self.x0[rows], self.y0[rows], self.sizes[rows], []
        return sub

    def bucket(self, k: int) -> Patches:
        size, idx = self.buckets[k]
        return Patches.at(self.x0[idx], self.y0[idx], size, self.pad, self.long_px, self.width, self.height)

    def waves(self) -> list[np.ndarray]:
        return _waves(self.x0, self.y0, self.sizes)


def render_patches(style: str | StyleSpec, params: torch.Tensor, patches: Patches,
                   extent: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha [N, P, P] and *linear* colour [N, P, P, 3] of every stroke on its patch."""
    n, size = len(params), patches.size
    px, py = patches.pixel_centres(params.device)
    sid = torch.arange(n, device=params.device).repeat_interleave(size * size)
    alpha, colour = render_pixels(style, params, sid, px.expand(n, size, size).reshape(-1),
                                  py.expand(n, size, size).reshape(-1), patches.long_px, extent)
    return alpha.view(n, size, size), colour.view(n, size, size, 3)


NEWTON_STEPS = 3


def _closest_t_bezier(p0, a, b, qx, qy, r0, r2) -> torch.Tensor:
    """Parameter of the nearest point on B(t) = p0 + 2 t a + t^2 b to pixels (qx, qy)
    (per pixel, stroke quantities gathered per pixel; no gradient needed: at the minimum
    the distance's derivative in t is zero, so detaching t is exact).

    Candidates are ranked by signed distance to the tapered outline (distance minus
    radius), not plain distance, so where a stroke doubles back over itself the pixel
    belongs to the thicker branch, as in the union-of-capsules model; Newton then
    refines t on that branch."""
    with torch.no_grad():
        qx, qy = qx - p0[:, 0], qy - p0[:, 1]
        ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
        dr = r2 - r0
        ts = torch.linspace(0.0, 1.0, 7, device=qx.device)
        best_d = torch.full_like(qx, float("inf"))
        best_t = torch.zeros_like(qx)
        for t in ts.tolist():
            sd = torch.hypot(2 * t * ax + t * t * bx - qx, 2 * t * ay + t * t * by - qy) - (r0 + t * dr)
            better = sd < best_d
            best_d = torch.minimum(best_d, sd)
            best_t = best_t.masked_fill(better, t)
        t = best_t
        for _ in range(NEWTON_STEPS):
            # Newton on f(t) = d/dt (|B(t) - q| - r(t)) * |B(t) - q| / 2.
            dx = 2 * t * ax + t * t * bx - qx
            dy = 2 * t * ay + t * t * by - qy
            tx, ty = ax + t * bx, ay + t * by
            dist = torch.sqrt(dx * dx + dy * dy).clamp_min(1e-9)
            dot = dx * tx + dy * ty
            f = dot - 0.5 * dr * dist
            fp = 2 * (tx * tx + ty * ty) + dx * bx + dy * by - dr * dot / dist
            step = f / torch.where(fp.abs() < 1e-12, torch.full_like(fp, 1e-12), fp)
            t = (t - step.where(fp > 0, torch.zeros_like(step))).clamp(0.0, 1.0)
        return t


def _signed_distance(spec, params: torch.Tensor, sid: torch.Tensor, px: torch.Tensor, py: torch.Tensor,
                     extent: tuple[float, float]):
    """Signed distance to each pixel's stroke outline (long-side units) and what the
    colour and texture need: (sd, t along the stroke for colour, the radius at the
    pixel, and for a box its frame (u, v, half long, half short), else None)."""
    ex, ey = extent
    if spec.is_curve:
        # Per stroke first, then one gather: per-pixel work is what costs.
        scale = params.new_tensor([ex, ey])
        cols = spec.cols
        p0, p1, p2 = (params[:, cols.point(k)] * scale for k in range(3))
        radii = params[:, cols.size]
        r0, r2 = taper(radii[:, 0], radii[:, 1])
        g = torch.cat([p0, p1 - p0, p2 - 2 * p1 + p0, r0[:, None], (r2 - r0)[:, None]], 1).index_select(0, sid)
        p0, a, b, r0, dr = g[:, 0:2], g[:, 2:4], g[:, 4:6], g[:, 6], g[:, 7]
        t = _closest_t_bezier(p0, a, b, px, py, r0.detach(), (r0 + dr).detach())
        bx = p0[:, 0] + t * (2 * a[:, 0] + t * b[:, 0])
        by = p0[:, 1] + t * (2 * a[:, 1] + t * b[:, 1])
        rad = r0 + t * dr
        return torch.sqrt((px - bx) ** 2 + (py - by) ** 2 + 1e-12) - rad, t, rad, None
    centre, axis, half_long, half_short = box_axis(spec, params, extent)
    stroke = torch.stack([centre[:, 0], centre[:, 1], axis[:, 0], axis[:, 1], half_long,
                          half_short.clamp_min(MIN_RADIUS)], 1).index_select(0, sid)
    cx, cy, nx, ny, hl, hs = stroke.unbind(1)
    dx, dy = px - cx, py - cy
    u = dx * nx + dy * ny  # along the stroke, 0 at the centre
    v = nx * dy - ny * dx  # across it
    if spec.cap == "flat":
        sd = torch.maximum(u.abs() - hl, v.abs() - hs)
        tcol = (u / (2 * hl).clamp_min(1e-9) + 0.5).clamp(0, 1)
    else:
        seg = (hl - hs).clamp_min(0.0)  # half length of the capsule's core segment
        uc = u.clamp(-seg, seg)
        sd = torch.sqrt((u - uc) ** 2 + v ** 2 + 1e-12) - hs
        tcol = (uc / (2 * seg).clamp_min(1e-9) + 0.5).clamp(0, 1)
    return sd, tcol, hs, (u, v, hl, hs)


def render_pixels(style: str | StyleSpec, params: torch.Tensor, sid: torch.Tensor, px: torch.Tensor, py: torch.Tensor,
                  long_px: int, extent: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha [T] and *linear* colour [T, 3] of stroke ``sid[i]`` at pixel centre
    (``px[i]``, ``py[i]``) (long-side units), for any set of pixels: a whole patch, or
    only the pixels near a stroke's outline (:class:`PixelSelection`)."""
    spec = get_style(style)
    pix = 1.0 / long_px
    cols = spec.cols
    sd, tcol, rad, box = _signed_distance(spec, params, sid, px, py, extent)
    if spec.softness > 0:
        # A wash: soft edge, and pigment gathered at the rim.
        cover = _edge(sd, (spec.softness * rad).clamp_min(pix)) * wash_profile((sd / rad.clamp_min(1e-9)) + 1)
    else:
        cover = _edge(sd, pix)
    shade = None
    if spec.textured:
        u, v, hl, hs = box
        tu = (u + hl) / (2 * hl).clamp_min(1e-9)  # 0 at the start cap's tip, 1 at the end's
        shade, dry = _oil_texture(spec, params, sid, tu, v / hs, long_px, extent)
        cover = cover * dry
    elif spec.brush is not None:
        # The artist's brush: where its stencil leaves paint, stretched tip to tip (a box's
        # long side spans a round stroke's caps and a flat one's ends alike).
        u, v, hl, hs = box
        tu = (u + hl) / (2 * hl).clamp_min(1e-9)
        cover = cover * _brush_stencil(spec, params, sid, tu, v / hs, long_px, extent)
        # Grease Pencil grades a stroke's two colours over its whole quad, caps included:
        # a brush stroke's colour runs tip to tip, as its stencil does.
        tcol = tu.clamp(0, 1)
    alpha = params[:, cols.alpha].index_select(0, sid) * cover
    # Grease Pencil holds each point's colour in linear light and grades linearly
    # between points. Box strokes have two points: grade in linear light. Bezier
    # strokes have many points graded in sRGB by the geometry: grade in sRGB, then
    # convert (exact at the points, within rounding between them).
    if spec.colours == 1:
        colour = srgb_to_linear(params[:, cols.colour_start]).index_select(0, sid)
    elif spec.is_curve:
        c0 = params[:, cols.colour_start].index_select(0, sid)
        c2 = params[:, cols.colour_end].index_select(0, sid)
        colour = srgb_to_linear(c0 + tcol[:, None] * (c2 - c0))
    else:
        c0 = srgb_to_linear(params[:, cols.colour_start]).index_select(0, sid)
        c2 = srgb_to_linear(params[:, cols.colour_end]).index_select(0, sid)
        colour = c0 + tcol[:, None] * (c2 - c0)
    if shade is not None:
        colour = (1 - OIL_MIX) * colour + OIL_MIX * shade[:, None]
    return alpha, colour


def _oil_texture(spec: StyleSpec, params: torch.Tensor, sid: torch.Tensor, tu: torch.Tensor, tv: torch.Tensor,
                 long_px: int, extent: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Oil texture (linear grey T and dry stencil D per pixel) sampled as a GPU would:
    the level that matches each stroke's brightness, the mip level that matches its
    size on screen, trilinear between mips, clamped at the edges."""
    with torch.no_grad():
        cols = spec.cols
        mean = (srgb_to_linear(params[:, cols.colour_start]) + srgb_to_linear(params[:, cols.colour_end])) / 2
        level = oil_level(mean.cpu().numpy())
        _, _, half_long, half_short = box_axis(spec, params, extent)
        lod = mip_level((2 * half_short.clamp_min(MIN_RADIUS) * long_px).cpu().numpy(),
                        (2 * half_long * long_px).cpu().numpy())
    out = _sample_stack(_texture_stack(params.device), level * oil_mipmaps().shape[1] + lod, sid, tu, tv)
    return out[0], out[1]


def _brush_stencil(spec: StyleSpec, params: torch.Tensor, sid: torch.Tensor, tu: torch.Tensor, tv: torch.Tensor,
                   long_px: int, extent: tuple[float, float]) -> torch.Tensor:
    """The brush's stencil per pixel, sampled as oil's texture is: the mip level that
    matches each stroke's size on screen, trilinear between mips, clamped at the edges."""
    with torch.no_grad():
        _, _, half_long, half_short = box_axis(spec, params, extent)
        lod = mip_level((2 * half_short.clamp_min(MIN_RADIUS) * long_px).cpu().numpy(),
                        (2 * half_long * long_px).cpu().numpy())
    return _sample_stack(_brush_stack(spec.brush, params.device), lod, sid, tu, tv)[0]


def _sample_stack(stack: torch.Tensor, z: np.ndarray, sid: torch.Tensor, tu: torch.Tensor,
                  tv: torch.Tensor) -> torch.Tensor:
    """Channels [C, T] of a stack of textures [1, C, D, R, W] at slice ``z[sid]``
    (fractional: linear between slices), column ``tu`` (0..1) and row ``tv`` (-1..1)."""
    depth = stack.shape[2]
    # grid_sample's align_corners=False puts slice centres (and texel centres) at
    # (2 i + 1) / n - 1: the same pixel-centre convention as the reference renderer.
    z = torch.as_tensor(z * 2 + 1, dtype=tu.dtype, device=tu.device) / depth - 1
    grid = torch.stack([tu * 2 - 1, tv, z.index_select(0, sid)], dim=-1)
    return F.grid_sample(stack, grid[None, None, None], mode="bilinear", padding_mode="border",
                         align_corners=False)[0, :, 0, 0]


@functools.lru_cache(maxsize=4)
def _texture_stack(device: torch.device) -> torch.Tensor:
    mips = torch.from_numpy(oil_mipmaps().copy())  # [LEVELS, MIPS, 2, R, C]
    k, m, c, r, w = mips.shape
    return mips.permute(2, 0, 1, 3, 4).reshape(1, c, k * m, r, w).contiguous().to(device)


@functools.lru_cache(maxsize=8)
def _brush_stack(brush: Brush, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(brush_mipmaps(brush).copy())[None, None].contiguous().to(device)  # [1, 1, MIPS, R, C]


class _WaveComposite(torch.autograd.Function):
    """Sequential "over" compositing, in place, with a hand-written backward.

    Autograd's out-of-place ``index_put`` would copy the whole canvas once per wave;
    this keeps one canvas and saves only the pixels under each patch, so memory and
    time scale with the pixels strokes cover. Patch pixels arrive flattened and sorted
    by wave, so each wave is a contiguous slice and only the canvas itself is gathered
    and scattered.
    """

    @staticmethod
    def forward(ctx, canvas, alpha, colour, idx, bounds):  # type: ignore[override]
        # canvas [3, M] planes (a gather of one float per plane is far cheaper than of
        # 3-float rows), alpha [T], colour [3, T], idx [T]; bounds: wave pixel ranges.
        canvas = canvas.clone()
        before = torch.empty_like(colour)
        for s, e in bounds:
            flat = idx[s:e]
            cur = canvas.index_select(1, flat)
            before[:, s:e] = cur
            canvas.index_copy_(1, flat, torch.addcmul(cur, alpha[None, s:e], colour[:, s:e] - cur))
        ctx.save_for_backward(alpha, colour, idx, before)
        ctx.bounds = bounds
        return canvas

    @staticmethod
    def backward(ctx, grad_canvas):  # type: ignore[override]
        alpha, colour, idx, before = ctx.saved_tensors
        g = grad_canvas.clone()
        grad_alpha = torch.empty_like(alpha)
        grad_colour = torch.empty_like(colour)
        for s, e in reversed(ctx.bounds):
            flat = idx[s:e]
            gw = g.index_select(1, flat)
            a = alpha[None, s:e]
            torch.mul(gw, a, out=grad_colour[:, s:e])
            grad_alpha[s:e] = ((colour[:, s:e] - before[:, s:e]) * gw).sum(0)
            g.index_copy_(1, flat, gw - gw * a)
        return g, grad_alpha, grad_colour, None, None


def padded_planes(image: torch.Tensor, pad: int) -> torch.Tensor:
    """[H, W, C] -> [C, (H + 2 pad) * (W + 2 pad)]: the flat layout patch indices address."""
    return F.pad(image.permute(2, 0, 1), (pad, pad, pad, pad)).reshape(image.shape[-1], -1)


class StrokePixels:
    """Strokes' alpha and linear colour at the pixels they may touch, flattened in wave
    order (the form :class:`_WaveComposite` paints): ``alpha`` [T], ``colour`` [3, T],
    ``index`` [T] into the flattened canvas padded by ``layout.pad``, ``sid`` [T] the
    stroke each belongs to, and ``bounds``, the [start, end) pixel range of each wave."""

    def __init__(self, layout: Layout, alpha: torch.Tensor, colour: torch.Tensor, index: torch.Tensor,
                 sid: torch.Tensor, bounds: list[tuple[int, int]]) -> None:
        self.layout, self.alpha, self.colour, self.index, self.sid = layout, alpha, colour, index, sid
        self.bounds = bounds

    def paint(self, planes: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Composite over linear ``planes`` [3, M]; ``index`` replaces :attr:`index` when
        painting onto a gathered subset of the canvas."""
        if not len(self.layout):
            return planes
        return _WaveComposite.apply(planes, self.alpha, self.colour, self.index if index is None else index,
                                    self.bounds)


def _wave_order(layout: Layout, sid: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """The order that regroups pixels wave by wave, stroke by stroke (``x[order]`` for
    any per-pixel ``x``; ``sid`` lists every stroke's pixels contiguously, strokes in
    any order), and each wave's pixel range in that order."""
    n = len(layout)
    waves = layout.waves()
    order = torch.as_tensor(np.concatenate(waves), device=sid.device)
    counts = torch.bincount(sid, minlength=n)
    first = torch.zeros(len(sid), dtype=torch.bool, device=sid.device)
    first[0] = True
    first[1:] = sid[1:] != sid[:-1]
    run_start = torch.zeros(n, dtype=torch.int64, device=sid.device)
    run_start[sid[first]] = torch.nonzero(first)[:, 0]
    ordered_counts = counts[order]
    start = torch.zeros(n, dtype=torch.int64, device=sid.device)
    start[order] = torch.cumsum(ordered_counts, 0) - ordered_counts
    position = start[sid] + torch.arange(len(sid), device=sid.device) - run_start[sid]
    sizes = [len(w) for w in waves]
    wave_px = torch.cumsum(torch.stack([c.sum() for c in torch.split(ordered_counts, sizes)]), 0).tolist()
    gather = torch.empty_like(position)
    gather[position] = torch.arange(len(position), device=sid.device)
    return gather, list(zip([0, *wave_px[:-1]], wave_px))


def _from_patches(layout: Layout, alphas: list[torch.Tensor], colours: list[torch.Tensor]) -> StrokePixels:
    """Whole patches (from a patch renderer, e.g. the neural one) as StrokePixels."""
    device = alphas[0].device if alphas else torch.device("cpu")
    if not len(layout):
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return StrokePixels(layout, torch.zeros(0, device=device), torch.zeros(3, 0, device=device), empty, empty, [])
    sid = torch.cat([torch.as_tensor(idx, device=device).repeat_interleave(size * size)
                     for size, idx in layout.buckets])
    order, bounds = _wave_order(layout, sid)
    alpha = torch.cat([a.reshape(-1) for a in alphas])
    colour = torch.cat([c.reshape(-1, 3) for c in colours])
    index = torch.cat([layout.bucket(k).flat_indices(device).reshape(-1) for k in range(len(layout.buckets))])
    return StrokePixels(layout, alpha[order], colour[order].T.contiguous(), index[order], sid[order], bounds)


#: Pixels up to this far outside a stroke's outline still get its gradient (the
#: backward edge is a sigmoid, 1e-3 of its peak at 1.75 px), so they are evaluated.
GRADIENT_MARGIN_PX = 2.0


def _near_outline(style: str | StyleSpec, params: torch.Tensor, layout: Layout, extent: tuple[float, float]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The canvas pixels that may lie within :data:`GRADIENT_MARGIN_PX` of each stroke's
    outline: (stroke, x, y, canvas index), strokes contiguous. Everything else on a
    patch has zero alpha and zero gradient, so only these need evaluating; for thin or
    slanted strokes that is a small part of the square."""
    with torch.no_grad():
        grow = (0.5 + GRADIENT_MARGIN_PX) / layout.long_px
        return _row_runs(_covering_rects(get_style(style), params.detach(), extent, grow), layout)


def _row_runs(rects: torch.Tensor, layout: Layout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`_near_outline` from rectangles that contain each stroke grown by the
    margin: ``rects`` [N, S, 6] = centre x, y, unit axis x, y, half length, half width of
    S rectangles per stroke. On each pixel row a rectangle covers one run of pixels,
    found in closed form; a stroke's run is the span of its rectangles' runs. Only
    pixels on both the canvas and the stroke's patch are listed, so this costs the
    pixels listed, not the patch."""
    device = rects.device
    long_px, width, height = layout.long_px, layout.width, layout.height
    n = rects.shape[0]
    y0 = torch.as_tensor(np.clip(layout.y0, 0, height), device=device)
    y1 = torch.as_tensor(np.clip(layout.y0 + layout.sizes, 0, height), device=device)
    rows = (y1 - y0).clamp_min(0)
    sid = torch.arange(n, device=device).repeat_interleave(rows)
    first = torch.cumsum(rows, 0) - rows
    row = y0[sid] + torch.arange(len(sid), device=device) - first[sid]
    r = rects.index_select(0, sid)  # [R, S, 6]
    cx, cyc, nx, ny, hl, hs = r.unbind(-1)
    cy = (row.to(rects.dtype)[:, None] + 0.5) / long_px - cyc
    # Pixels x with |u| <= hl and |v| <= hs, where u = (x - cx) nx + cy ny and
    # v = cy nx - (x - cx) ny: two intervals in x - cx, intersected.
    lo = torch.full_like(cy, -1e9)
    hi = torch.full_like(cy, 1e9)
    for k, off, half in ((nx, cy * ny, hl), (-ny, cy * nx, hs)):
        flat = k.abs() < 1e-9
        safe = torch.where(flat, torch.full_like(k, 1e-9), k)
        a, b = (-half - off) / safe, (half - off) / safe
        lo = torch.where(flat, lo, torch.maximum(lo, torch.minimum(a, b)))
        hi = torch.where(flat, hi, torch.minimum(hi, torch.maximum(a, b)))
        hi = torch.where(flat & (off.abs() > half), lo - 1, hi)
    empty = hi < lo
    lo = torch.where(empty, torch.full_like(lo, 1e9), lo + cx).amin(1)
    hi = torch.where(empty, torch.full_like(hi, -1e9), hi + cx).amax(1)
    # Columns stay on the stroke's patch, as rows do: a wave holds strokes whose patches
    # do not overlap, so a pixel listed beyond the patch may be one another stroke of the
    # wave paints, and the wave would write it twice (one stroke's paint lost).
    left = torch.as_tensor(layout.x0, device=device)[sid]
    right = left + torch.as_tensor(layout.sizes, device=device)[sid] - 1
    x_lo = torch.maximum(torch.ceil(lo * long_px - 0.5).clamp(0, width).long(), left)
    x_hi = torch.minimum(torch.floor(hi * long_px - 0.5).clamp(-1, width - 1).long(), right)
    counts = (x_hi - x_lo + 1).clamp_min(0)
    pixel_row = torch.arange(len(counts), device=device).repeat_interleave(counts)
    start = torch.cumsum(counts, 0) - counts
    x = x_lo[pixel_row] + torch.arange(len(pixel_row), device=device) - start[pixel_row]
    y = row[pixel_row]
    pad = layout.pad
    index = (y + pad) * layout.padded_width + (x + pad)
    return (sid[pixel_row], (x.to(rects.dtype) + 0.5) / long_px, (y.to(rects.dtype) + 0.5) / long_px, index)


#: Rectangles a Bezier stroke is covered by: one per chord of this many samples.
_BEZIER_CHORDS = 8


def _covering_rects(spec, params: torch.Tensor, extent: tuple[float, float], grow: float) -> torch.Tensor:
    """[N, S, 6] rectangles (see :func:`_row_runs`) covering each stroke grown by ``grow``.

    A box stroke is its own rectangle (a capsule lies inside it). A Bezier stroke lies
    within the chords of samples of its curve, thickened by its larger radius plus the
    chords' largest distance from the curve (|B''| h^2 / 8 for spacing h)."""
    ex, ey = extent
    if not spec.is_curve:
        centre, axis, half_long, half_short = box_axis(spec, params, extent)
        hs = half_short.clamp_min(MIN_RADIUS)
        soft = 0.5 * spec.softness * hs if spec.softness > 0 else 0.0  # a soft edge's fade past the outline
        return torch.stack([centre[:, 0], centre[:, 1], axis[:, 0], axis[:, 1], half_long + soft + grow,
                            hs + soft + grow], 1)[:, None]
    scale = params.new_tensor([ex, ey])
    cols = spec.cols
    p0, p1, p2 = (params[:, cols.point(k)] * scale for k in range(3))
    t = torch.linspace(0, 1, _BEZIER_CHORDS + 1, dtype=params.dtype, device=params.device)[None, :, None]
    pts = (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * p1[:, None] + t ** 2 * p2[:, None]
    a, b = pts[:, :-1], pts[:, 1:]
    d = b - a
    length = d.norm(dim=-1)
    axis = torch.where(length[..., None] > 1e-12, d / length.clamp_min(1e-12)[..., None],
                       d.new_tensor([1.0, 0.0]))
    sag = (2 * (p2 - 2 * p1 + p0)).norm(dim=-1) / (8 * _BEZIER_CHORDS ** 2)
    radii = params[:, cols.size]
    r0, r2 = taper(radii[:, 0], radii[:, 1])
    half = (torch.maximum(r0, r2) * (1 + 0.5 * spec.softness) + sag + grow)[:, None].expand_as(length)
    mid = (a + b) / 2
    return torch.stack([mid[..., 0], mid[..., 1], axis[..., 0], axis[..., 1], length / 2 + half, half], -1)


def stroke_pixels(style: str | StyleSpec, params: torch.Tensor, width: int, height: int, max_patch: int | None = None,
                  pad: int | None = None,
                  patch_renderer: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None) -> StrokePixels:
    """Evaluate strokes at the pixels they may touch, ready to composite in order.

    The analytic renderer evaluates only pixels near each stroke's outline; a patch
    renderer (the neural one) fills whole patches of each stroke's own size."""
    long_px = max(width, height)
    extent = (width / long_px, height / long_px)
    layout = Layout(stroke_bounds(style, params, extent), long_px, width, height, max_patch, pad=pad)
    device = params.device
    if not len(layout):
        return _from_patches(layout, [], [])
    if patch_renderer is not None:
        alphas, colours = [], []
        for k, (_, idx) in enumerate(layout.buckets):
            alpha, colour = patch_renderer(style, params[torch.as_tensor(idx, device=device)], layout.bucket(k),
                                           extent)
            alphas.append(alpha)
            colours.append(colour)
        return _from_patches(layout, alphas, colours)
    sid, px, py, index = _near_outline(style, params, layout, extent)
    order, bounds = _wave_order(layout, sid)
    sid, px, py, index = sid[order], px[order], py[order], index[order]
    alpha, colour = render_pixels(style, params, sid, px, py, long_px, extent)
    return StrokePixels(layout, alpha, colour.T.contiguous(), index, sid, bounds)


def composite(base: torch.Tensor, pixels: StrokePixels) -> torch.Tensor:
    """Paint strokes over ``base`` [H, W, 3] in order; returns the new [H, W, 3] canvas.

    ``base`` and the result are sRGB; strokes are blended in linear light, as Grease
    Pencil (and any physically based renderer) blends them.
    """
    layout = pixels.layout
    p = layout.pad
    canvas = pixels.paint(padded_planes(srgb_to_linear(base), p))
    canvas = canvas.reshape(3, layout.padded_height, layout.padded_width)
    return linear_to_srgb(canvas[:, p:p + layout.height, p:p + layout.width].permute(1, 2, 0))


#: Most strokes drawn in one run: the wave grouping compares every pair of a run.
MAX_RUN = 2048


def _runs(areas: np.ndarray, budget: float) -> list[tuple[int, int]]:
    """Split strokes, in order, into runs whose patches fit a pixel budget."""
    runs = []
    start, total = 0, 0.0
    for i, a in enumerate(areas.tolist()):
        if i > start and (total + a > budget or i - start >= MAX_RUN):
            runs.append((start, i))
            start, total = i, 0.0
        total += a
    if start < len(areas):
        runs.append((start, len(areas)))
    return runs


def render(style: str | StyleSpec, params: torch.Tensor, width: int, height: int,
           base: torch.Tensor | None = None, background=(1.0, 1.0, 1.0),
           max_patch: int | None = None, pixel_budget: float = 4e6,
           patch_renderer: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
    """Render strokes (differentiably) at width x height px over ``base`` or a plain background.

    Strokes are drawn in runs of at most ``pixel_budget`` patch pixels, so memory stays
    bounded however many strokes there are.
    ``patch_renderer`` replaces :func:`render_patches` (the neural renderer plugs in here).
    """
    long_px = max(width, height)
    extent = (width / long_px, height / long_px)
    if base is None:
        base = torch.tensor(background, dtype=torch.float32, device=params.device).expand(height, width, 3)
    with torch.no_grad():
        bounds = stroke_bounds(style, params, extent)
        spans = ((bounds[:, 2:] - bounds[:, :2]).amax(dim=1) * long_px + 3).cpu().numpy()
    if max_patch:
        spans = np.minimum(spans, max_patch)
    canvas = base
    for s, e in _runs(spans * spans, pixel_budget):
        pixels = stroke_pixels(style, params[s:e], width, height, max_patch, patch_renderer=patch_renderer)
        canvas = composite(canvas, pixels)
    return canvas


class HeldRender:
    """:func:`render` for an optimiser that holds some strokes exactly where they are
    (the joint pass of a shot's later frames: held strokes lie among the moving ones).

    A held stroke's pixels never change, so they are evaluated once, here, and only
    the pixels it actually paints (alpha > 0: the forward edge is a ramp that ends half
    a pixel outside the outline) are kept; each call evaluates, and differentiates,
    only the free strokes, then composites everything in painting order as
    :func:`render` does, so the canvas is the same to rounding. Held rows get no
    gradient. Runs of strokes (the memory bound of :func:`render`) are fixed here,
    from the strokes as they start."""

    def __init__(self, style: str | StyleSpec, params: torch.Tensor, held: torch.Tensor, width: int, height: int,
                 pixel_budget: float = 4e6) -> None:
        self.style, self.width, self.height = style, width, height
        self.long_px = max(width, height)
        self.extent = (width / self.long_px, height / self.long_px)
        held = held.to(device=params.device, dtype=torch.bool)
        with torch.no_grad():
            bounds = stroke_bounds(style, params, self.extent)
            spans = ((bounds[:, 2:] - bounds[:, :2]).amax(dim=1) * self.long_px + 3).cpu().numpy()
        self.runs = []
        for s, e in _runs(spans * spans, pixel_budget):
            rows = torch.arange(s, e, device=params.device)
            free = rows[~held[s:e]] - s
            self.runs.append((s, e, free, free.cpu().numpy(), self._held_pixels(params[s:e], held[s:e])))
        self.start_bounds = bounds

    def _held_pixels(self, params: torch.Tensor, held: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rows = torch.nonzero(held)[:, 0]
        if not len(rows):
            empty = rows.new_zeros(0)
            return empty, empty, params.new_zeros(0), params.new_zeros(0, 3)
        with torch.no_grad():
            p = params[rows]
            layout = Layout(stroke_bounds(self.style, p, self.extent), self.long_px, self.width, self.height)
            sid, px, py, index = _near_outline(self.style, p, layout, self.extent)
            alpha, colour = render_pixels(self.style, p, sid, px, py, self.long_px, self.extent)
            paints = alpha > 0
            return rows[sid[paints]], index[paints], alpha[paints], colour[paints]

    def __call__(self, params: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The canvas of ``params`` (held rows as they were given to the constructor)
        painted over ``base`` [H, W, 3]."""
        canvas = base
        for s, e, free, free_rows, (held_sid, held_index, held_alpha, held_colour) in self.runs:
            free_p = params[s:e][free]
            bounds = self.start_bounds[s:e].clone()
            bounds[free] = stroke_bounds(self.style, free_p, self.extent)
            layout = Layout(bounds, self.long_px, self.width, self.height)
            if len(free):
                sid, px, py, index = _near_outline(self.style, free_p, layout.subset(free_rows), self.extent)
                alpha, colour = render_pixels(self.style, free_p, sid, px, py, self.long_px, self.extent)
                sid = free[sid]
            else:
                sid, index, alpha, colour = held_sid[:0], held_index[:0], held_alpha[:0], held_colour[:0]
            sid = torch.cat([sid, held_sid])
            order, wave_bounds = _wave_order(layout, sid)
            alpha = torch.cat([alpha, held_alpha])[order]
            colour = torch.cat([colour, held_colour])[order]
            index = torch.cat([index, held_index])[order]
            canvas = composite(canvas, StrokePixels(layout, alpha, colour.T.contiguous(), index, sid[order],
                                                    wave_bounds))
        return canvas
