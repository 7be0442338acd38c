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

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .colour import linear_to_srgb, srgb_to_linear
from .styles import MIN_RADIUS, box_axis, colour_slices, get_style, taper
from .texture import bristle_texture


def _edge(sd: torch.Tensor, e: torch.Tensor | float) -> torch.Tensor:
    """Coverage from signed distance: linear ramp forward, sigmoid gradient backward."""
    ramp = (0.5 - sd / e).clamp(0.0, 1.0)
    if not sd.requires_grad:
        return ramp
    smooth = torch.sigmoid(-4.0 * sd / e)
    return ramp + (smooth - smooth.detach())


def stroke_bounds(style: str, params: torch.Tensor, extent: tuple[float, float]) -> torch.Tensor:
    """Axis-aligned bounds [N, 4] (x0, y0, x1, y1) in long-side units, not differentiable."""
    spec = get_style(style)
    ex, ey = extent
    with torch.no_grad():
        if spec.params[:6] == ("x0", "y0", "x1", "y1", "x2", "y2"):
            xs = params[:, 0:6:2] * ex
            ys = params[:, 1:6:2] * ey
            # A soft edge fades out half its ramp (softness * radius) beyond the radius.
            r = params[:, 6:8].amax(dim=1).clamp_min(MIN_RADIUS) * (1 + 0.5 * spec.softness)
            # A quadratic Bezier stays inside the hull of its control points.
            return torch.stack([xs.amin(1) - r, ys.amin(1) - r, xs.amax(1) + r, ys.amax(1) + r], 1)
        centre, axis, half_long, half_short = box_axis(params, extent)
        hl, hs = half_long, half_short.clamp_min(MIN_RADIUS)
        dx = (axis[:, 0].abs() * hl + axis[:, 1].abs() * hs)
        dy = (axis[:, 1].abs() * hl + axis[:, 0].abs() * hs)
        return torch.stack([centre[:, 0] - dx, centre[:, 1] - dy, centre[:, 0] + dx, centre[:, 1] + dy], 1)


class Patches:
    """Where each stroke's square patch lies on the (padded) canvas."""

    def __init__(self, bounds: torch.Tensor, long_px: int, width: int, height: int,
                 max_patch: int | None = None) -> None:
        b = (bounds * long_px).detach().cpu().numpy()
        x0 = np.floor(b[:, 0]).astype(np.int64) - 1
        y0 = np.floor(b[:, 1]).astype(np.int64) - 1
        span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) + 3
        size = int(math.ceil(span.max() / 4.0) * 4) if len(span) else 4
        size = max(4, min(size, max_patch or size, max(width, height) + 4))
        # Clamp patches to the canvas plus a margin of one patch, so indices stay valid.
        self.size = size
        self.pad = size
        self.x0 = np.clip(x0, -size, width)
        self.y0 = np.clip(y0, -size, height)
        self.long_px = long_px
        self.width, self.height = width, height
        self.padded_width = width + 2 * size
        self.padded_height = height + 2 * size

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
        n = len(self.x0)
        if n == 0:
            return []
        p = self.size
        overlap = (np.abs(self.x0[:, None] - self.x0[None, :]) < p) & \
                  (np.abs(self.y0[:, None] - self.y0[None, :]) < p)
        wave = np.zeros(n, dtype=np.int64)
        for j in range(1, n):
            earlier = overlap[j, :j]
            if earlier.any():
                wave[j] = wave[:j][earlier].max() + 1
        order = np.argsort(wave, kind="stable")
        bounds = np.searchsorted(wave[order], np.arange(wave.max() + 2))
        return [order[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1) if bounds[k + 1] > bounds[k]]


def _closest_t_bezier(p0, a, b, px, py, r0, r2) -> torch.Tensor:
    """Parameter of the nearest point on B(t) = p0 + 2 t a + t^2 b (no gradient needed:
    at the minimum the distance's derivative in t is zero, so detaching t is exact).

    Candidates are ranked by signed distance to the tapered outline (distance minus
    radius), not plain distance, so where a stroke doubles back over itself the pixel
    belongs to the thicker branch, as in the union-of-capsules model; Newton then
    refines t on that branch."""
    with torch.no_grad():
        qx, qy = px - p0[:, 0, None, None], py - p0[:, 1, None, None]
        ax, ay = a[:, 0, None, None], a[:, 1, None, None]
        bx, by = b[:, 0, None, None], b[:, 1, None, None]
        dr = r2 - r0
        # Coarse search on 9 samples of t. Squared distance splits into an x part that
        # depends only on the column and a y part only on the row, so the [N, K, P, P]
        # tensor is built by one broadcast add.
        ts = torch.linspace(0.0, 1.0, 9, device=px.device)
        sx = (2 * ts * a[:, 0, None] + ts * ts * b[:, 0, None])[:, :, None]  # [N, K, 1]
        sy = (2 * ts * a[:, 1, None] + ts * ts * b[:, 1, None])[:, :, None]
        ddx = ((sx - qx[:, 0][:, None, :]) ** 2).permute(1, 0, 2)[:, :, None, :]  # [K, N, 1, cols]
        ddy = ((sy - qy[:, :, 0][:, None, :]) ** 2).permute(1, 0, 2)[:, :, :, None]  # [K, N, rows, 1]
        sd = torch.sqrt(ddy + ddx)  # [K, N, rows, cols]
        sd -= (r0[:, 0] + ts * dr[:, 0]).T[:, :, None, None]
        # A running minimum over contiguous slices beats argmin over a tensor axis here.
        best_d, best_t = sd[0], torch.zeros_like(sd[0])
        for k in range(1, len(ts)):
            better = sd[k] < best_d
            best_d = torch.minimum(best_d, sd[k])
            best_t = torch.where(better, ts[k], best_t)
        t = best_t
        for _ in range(2):
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


def render_patches(style: str, params: torch.Tensor, patches: Patches,
                   extent: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha [N, P, P] and *linear* colour [N, P, P, 3] of every stroke on its patch."""
    spec = get_style(style)
    device = params.device
    px, py = patches.pixel_centres(device)
    pix = 1.0 / patches.long_px
    c0_idx, c2_idx = colour_slices(spec)
    c0, c2 = params[:, c0_idx], params[:, c2_idx]
    alpha = params[:, spec.params.index("a")]
    ex, ey = extent
    is_bezier = spec.params[:6] == ("x0", "y0", "x1", "y1", "x2", "y2")
    if is_bezier:
        p0 = torch.stack([params[:, 0] * ex, params[:, 1] * ey], 1)
        p1 = torch.stack([params[:, 2] * ex, params[:, 3] * ey], 1)
        p2 = torch.stack([params[:, 4] * ex, params[:, 5] * ey], 1)
        a, b = p1 - p0, p2 - 2 * p1 + p0
        r0, r2 = taper(params[:, 6, None, None], params[:, 7, None, None])
        t = _closest_t_bezier(p0, a, b, px, py, r0.detach(), r2.detach())
        bx = p0[:, 0, None, None] + t * (2 * a[:, 0, None, None] + t * b[:, 0, None, None])
        by = p0[:, 1, None, None] + t * (2 * a[:, 1, None, None] + t * b[:, 1, None, None])
        dist = torch.sqrt((px - bx) ** 2 + (py - by) ** 2 + 1e-12)
        rad = r0 + t * (r2 - r0)
        sd = dist - rad
        e = (spec.softness * rad).clamp_min(pix) if spec.softness > 0 else pix
        cover = _edge(sd, e)
        tcol = t
    else:
        centre, axis, half_long, half_short = box_axis(params, extent)
        hs = half_short.clamp_min(MIN_RADIUS)[:, None, None]
        hl = half_long[:, None, None]
        dx = px - centre[:, 0, None, None]
        dy = py - centre[:, 1, None, None]
        nx, ny = axis[:, 0, None, None], axis[:, 1, None, None]
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
        cover = _edge(sd, pix)
        if spec.textured:
            tex = torch.from_numpy(bristle_texture().copy()).to(device)
            length = 2 * hl
            tu = (u + hl) / length.clamp_min(1e-9)  # 0 at the start cap, 1 at the end
            tv = v / hs
            # grid_sample's align_corners=False maps -1..1 onto the texture's outer edges,
            # which is the same pixel-centre convention as the reference renderer.
            grid = torch.stack([(tu * 2 - 1).expand_as(cover), tv.expand_as(cover)], dim=-1)
            texture = F.grid_sample(tex[None, None].expand(len(params), 1, -1, -1), grid,
                                    mode="bilinear", padding_mode="border", align_corners=False)[:, 0]
            cover = cover * texture
    a_map = alpha[:, None, None] * cover
    # Grease Pencil holds each point's colour in linear light and grades linearly
    # between points. Box strokes have two points: grade in linear light. Bezier
    # strokes have many points graded in sRGB by the geometry: grade in sRGB, then
    # convert (exact at the points, within rounding between them).
    if c0_idx == c2_idx:
        colour = srgb_to_linear(c0)[:, None, None, :]
    elif is_bezier:
        colour = srgb_to_linear(c0[:, None, None, :] + tcol[..., None] * (c2 - c0)[:, None, None, :])
    else:
        c0, c2 = srgb_to_linear(c0), srgb_to_linear(c2)
        colour = c0[:, None, None, :] + tcol[..., None] * (c2 - c0)[:, None, None, :]
    return a_map, colour.expand(-1, patches.size, patches.size, 3)


class _WaveComposite(torch.autograd.Function):
    """Sequential "over" compositing, in place, with a hand-written backward.

    Autograd's out-of-place ``index_put`` would copy the whole canvas once per wave;
    this keeps one canvas and saves only the pixels under each patch, so memory and
    time scale with the pixels strokes cover. Strokes arrive sorted by wave, so each
    wave is a contiguous slice and only the canvas itself is gathered and scattered.
    """

    @staticmethod
    def forward(ctx, canvas, alpha, colour, idx, bounds):  # type: ignore[override]
        # canvas [3, M] planes (a gather of one float per plane is far cheaper than of
        # 3-float rows), alpha [N, PP], colour [3, N, PP], idx [N, PP].
        canvas = canvas.clone()
        before = torch.empty_like(colour)
        for s, e in bounds:
            flat = idx[s:e].reshape(-1)
            cur = canvas.index_select(1, flat)
            before[:, s:e] = cur.view(3, e - s, -1)
            a = alpha[s:e].reshape(1, -1)
            canvas.index_copy_(1, flat, torch.addcmul(cur, a, colour[:, s:e].reshape(3, -1) - cur))
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
            flat = idx[s:e].reshape(-1)
            gw = g.index_select(1, flat).view(3, e - s, -1)
            a = alpha[None, s:e]
            torch.mul(gw, a, out=grad_colour[:, s:e])
            grad_alpha[s:e] = ((colour[:, s:e] - before[:, s:e]) * gw).sum(0)
            g.index_copy_(1, flat, (gw - gw * a).view(3, -1))
        return g, grad_alpha, grad_colour, None, None


def padded_planes(image: torch.Tensor, pad: int) -> torch.Tensor:
    """[H, W, C] -> [C, (H + 2 pad) * (W + 2 pad)]: the flat layout patch indices address."""
    return F.pad(image.permute(2, 0, 1), (pad, pad, pad, pad)).reshape(image.shape[-1], -1)


def composite(base: torch.Tensor, alpha: torch.Tensor, colour: torch.Tensor,
              patches: Patches) -> torch.Tensor:
    """Paint strokes over ``base`` [H, W, 3] in order; returns the new [H, W, 3] canvas.

    ``base`` and the result are sRGB; strokes are blended in linear light, as Grease
    Pencil (and any physically based renderer) blends them.
    """
    p = patches.pad
    canvas = padded_planes(srgb_to_linear(base), p)
    if len(patches.x0):
        waves = patches.waves()
        order = torch.as_tensor(np.concatenate(waves), device=base.device)
        ends = np.cumsum([len(w) for w in waves])
        bounds = list(zip([0, *ends[:-1].tolist()], ends.tolist()))
        n = alpha.shape[0]
        idx = patches.flat_indices(base.device)[order]
        colour_planes = colour.reshape(n, -1, 3)[order].permute(2, 0, 1).contiguous()
        canvas = _WaveComposite.apply(canvas, alpha.reshape(n, -1)[order], colour_planes, idx, bounds)
    canvas = canvas.reshape(3, patches.padded_height, patches.padded_width)
    return linear_to_srgb(canvas[:, p:p + patches.height, p:p + patches.width].permute(1, 2, 0))


def _runs(spans: np.ndarray, budget: float) -> list[tuple[int, int]]:
    """Split strokes, in order, into runs whose square patches fit a pixel budget.

    All patches in a run share the run's largest size, so a run also ends where a
    much bigger stroke follows many small ones (a coarse stroke would otherwise
    inflate every patch of the run).
    """
    runs = []
    start, biggest = 0, 0.0
    for i, s in enumerate(spans.tolist()):
        grown = max(biggest, s)
        count = i - start
        if count and ((count + 1) * grown * grown > budget or (s > 2 * biggest and count >= 8)):
            runs.append((start, i))
            start, grown = i, s
        biggest = grown
    if start < len(spans):
        runs.append((start, len(spans)))
    return runs


def render(style: str, params: torch.Tensor, width: int, height: int,
           base: torch.Tensor | None = None, background=(1.0, 1.0, 1.0),
           max_patch: int | None = None, pixel_budget: float = 4e6,
           patch_renderer: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
    """Render strokes (differentiably) at width x height px over ``base`` or a plain background.

    Strokes are drawn in runs of at most ``pixel_budget`` patch pixels, so memory stays
    bounded however many strokes there are and however their sizes vary.
    ``patch_renderer`` replaces :func:`render_patches` (the neural renderer plugs in here).
    """
    long_px = max(width, height)
    extent = (width / long_px, height / long_px)
    if base is None:
        base = torch.tensor(background, dtype=torch.float32, device=params.device).expand(height, width, 3)
    bounds = stroke_bounds(style, params, extent)
    spans = ((bounds[:, 2:] - bounds[:, :2]).amax(dim=1) * long_px + 3).cpu().numpy()
    if max_patch:
        spans = np.minimum(spans, max_patch)
    canvas = base
    for s, e in _runs(spans, pixel_budget):
        patches = Patches(bounds[s:e], long_px, width, height, max_patch)
        alpha, colour = (patch_renderer or render_patches)(style, params[s:e], patches, extent)
        canvas = composite(canvas, alpha, colour, patches)
    return canvas
