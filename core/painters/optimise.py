"""The optimiser's parts, shared by the still painter and the temporal painter.

A :class:`Level` holds one coarse-to-fine level's target and frozen canvas and places
new strokes where the painting is most wrong; :func:`greedy_rounds` paints a level's
strokes a few at a time over it; :func:`refine_steps` optimises many strokes together
in painting order (the final pass, and a shot's joint pass); :class:`Objective` is the
content loss plus the optional style loss; :func:`project` keeps parameters valid.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
import torch

from ..contracts.options import PaintOptions, Tuning
from ..contracts.styles import MIN_RADIUS, StyleSpec
from ..errors import PainterError
from ..model.colour import linear_to_srgb, srgb_to_linear
from ..model.texture import OIL_MIX, level_brightness, oil_level
from ..render import raster
from .controls import Controls
from .imaging import blur, resize
from .losses import pixel_l1, sinkhorn_loss


class Level:
    """Optimisation of one level's strokes over a frozen canvas."""

    def __init__(self, spec: StyleSpec, target: torch.Tensor, base: torch.Tensor, grid: int,
                 generator: torch.Generator,
                 patch_renderer: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None,
                 min_alpha: float = 0.3, controls: Controls | None = None,
                 grids: tuple[int, int] | None = None) -> None:
        self.spec = spec
        self.min_alpha = min_alpha
        self.sizes = controls.sizes if controls is not None else (None, None)
        #: [K, 3] the colours a stroke may take (sRGB), and how each looks painted in this
        #: style (oil's bristle relief shades it); None: any colour.
        self.palette = controls.palette if controls is not None else None
        self.palette_looks = None if self.palette is None else painted_look(spec, self.palette)
        self.target = target
        self.base = base
        self.height, self.width = target.shape[:2]
        self.long_px = max(self.width, self.height)
        self.extent = (self.width / self.long_px, self.height / self.long_px)
        self.block = 1.0 / grid  # long-side units
        self.gen = generator
        # Structure for stroke directions: image gradients of the blurred luminance.
        lum = blur(target.mean(-1), max(1, self.long_px // (grid * 8)))
        self.gy = torch.zeros_like(lum)
        self.gx = torch.zeros_like(lum)
        self.gy[1:-1] = (lum[2:] - lum[:-2]) / 2
        self.gx[:, 1:-1] = (lum[:, 2:] - lum[:, :-2]) / 2
        self.max_len = min(1.0, 1.5 * self.block)
        self._small: torch.Tensor | None = None
        self.patch_renderer = patch_renderer
        # The canvas also lives as padded linear planes, the layout strokes are
        # composited in, so a round's loss can be taken over just the pixels it touches.
        self.max_patch = int(math.ceil(self.max_len * 1.5 * self.long_px)) + 8
        self.pad = raster.canvas_pad(self.width, self.height)
        self.target_planes = raster.padded_planes(target, self.pad)
        # Where the artist asked for detail, pixels weigh more (controls.loss_weight), and
        # the finer levels place their strokes there (controls.placement_weight).
        h, w = self.height, self.width
        weight = controls.loss_weight(h, w) if controls is not None else None
        self.placement = controls.placement_weight(h, w, grid, grids or (grid, grid)) if controls is not None else None
        self.inside = raster.padded_planes(torch.ones_like(target[..., :1]) if weight is None else weight[..., None],
                                           self.pad)[0]
        self.base_planes = raster.padded_planes(srgb_to_linear(base), self.pad)

    def commit(self, params: torch.Tensor) -> None:
        """Paint finished strokes into the frozen canvas (analytic, exact)."""
        with torch.no_grad():
            pixels = raster.stroke_pixels(self.spec, params, self.width, self.height, self.max_patch,
                                          pad=self.pad)
            self.base_planes = pixels.paint(self.base_planes)
            p = self.pad
            planes = self.base_planes.reshape(3, self.height + 2 * p, self.width + 2 * p)
            self.base = linear_to_srgb(planes[:, p:p + self.height, p:p + self.width].permute(1, 2, 0)).contiguous()

    def local_error(self, params: torch.Tensor, l2: bool = True) -> torch.Tensor:
        """The content loss's change from painting ``params`` over the frozen canvas,
        taken only over the pixels their patches touch (the rest of the canvas does not
        change), on the same scale as the whole-canvas loss."""
        pixels = raster.stroke_pixels(self.spec, params, self.width, self.height, self.max_patch,
                                      pad=self.pad, patch_renderer=self.patch_renderer)
        m = self.base_planes.shape[1]
        mark = torch.zeros(m, dtype=torch.bool, device=params.device)
        mark[pixels.index] = True
        touched = mark.nonzero()[:, 0]
        lookup = torch.empty(m, dtype=torch.int64, device=params.device)
        lookup[touched] = torch.arange(len(touched), device=params.device)
        local = pixels.paint(self.base_planes.index_select(1, touched), lookup[pixels.index])
        tgt = self.target_planes.index_select(1, touched)
        inside = self.inside.index_select(0, touched)
        before = linear_to_srgb(self.base_planes.index_select(1, touched)) - tgt
        after = linear_to_srgb(local) - tgt
        scale = 1.0 / (3 * self.width * self.height)
        if l2:
            return ((after * after - before * before) * inside).sum() * (4 * scale)
        return ((after.abs() - before.abs()) * inside).sum() * scale

    # -- placement -------------------------------------------------------------------

    def place(self, count: int, canvas: torch.Tensor, candidates: int = 24) -> torch.Tensor:
        """New strokes where the painting is most wrong, each the best of several candidates.

        Slots are drawn from the blurred error map raised to the 4th power (Zou et al.);
        around each slot ``candidates`` random strokes (size, direction, bend) are
        scored at once by how much they would lower the squared error with their best
        flat colour (closed form, as a greedy shape fitter would), and the winner of
        each slot goes on to be optimised by gradient descent.
        """
        dev = self.target.device
        err = (canvas - self.target).abs().mean(-1)
        err = blur(err, max(1, int(self.long_px * self.block / 8))) ** 4
        if self.placement is not None:
            err = err * self.placement
        flat = err.reshape(-1) + 1e-12
        idx = torch.multinomial(flat.cpu(), count, replacement=count > flat.numel(), generator=self.gen)
        n = count * candidates
        iy = (idx // self.width).repeat_interleave(candidates).to(dev)
        ix = (idx % self.width).repeat_interleave(candidates).to(dev)
        u = torch.rand(n, 6, generator=self.gen).to(dev)
        spread = self.block * 0.25 * self.long_px
        cx = ((ix.float() + 0.5 + (u[:, 0] - 0.5) * spread) / self.width).clamp(0, 1)
        cy = ((iy.float() + 0.5 + (u[:, 1] - 0.5) * spread) / self.height).clamp(0, 1)
        # Half the candidates follow the image's edges, half point anywhere.
        gx, gy = self.gx[iy, ix], self.gy[iy, ix]
        edge_angle = torch.atan2(gy, gx) + math.pi / 2
        rand_angle = u[:, 2] * math.pi
        use_edge = (torch.arange(n, device=dev) % 2 == 0) & ((gx * gx + gy * gy) > 1e-6)
        angle = torch.where(use_edge, edge_angle, rand_angle) % math.pi
        length = self.block * (0.25 + 1.0 * u[:, 3])
        thick = length * (0.15 + 0.6 * u[:, 4])
        p = torch.zeros(n, self.spec.dim, device=dev)
        cols = self.spec.cols
        if self.spec.is_curve:
            ex, ey = self.extent
            dx, dy = torch.cos(angle) * length / 2, torch.sin(angle) * length / 2
            bend = (u[:, 5] - 0.5) * 0.6 * length
            p0, p1, p2 = cols.point(0), cols.point(1), cols.point(2)
            p[:, p0.start], p[:, p0.start + 1] = cx - dx / ex, cy - dy / ey
            p[:, p1.start], p[:, p1.start + 1] = cx - torch.sin(angle) * bend / ex, cy + torch.cos(angle) * bend / ey
            p[:, p2.start], p[:, p2.start + 1] = cx + dx / ex, cy + dy / ey
            p[:, cols.size.start] = thick / 2
            p[:, cols.size.start + 1] = thick / 2
        else:
            p[:, cols.position.start], p[:, cols.position.start + 1] = cx, cy
            p[:, cols.size.start], p[:, cols.size.start + 1] = length, thick
            p[:, cols.angle] = angle / math.pi
        p[:, cols.alpha] = 1.0
        p = self.project(p)
        if self.palette is not None:
            colour, gain, p[:, cols.alpha] = self._best_colours(p, canvas)
        else:
            colour, gain = self._best_colours(p, canvas)
            if self.spec.textured:
                colour = unshade(colour)
        p[:, cols.colour_start] = colour
        p[:, cols.colour_end] = colour
        best = gain.view(count, candidates).argmax(dim=1) + torch.arange(count, device=dev) * candidates
        return p[best]

    def _best_colours(self, p: torch.Tensor, canvas: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Least-squares flat colour of each stroke alone over ``canvas``, and its error
        gain; with a palette, the paint, its gain and its opacity (:meth:`_best_paints`).

        Scored on a copy of the level where a grid block spans ~24 px: ranking
        candidates needs far fewer pixels than optimising them.
        """
        scale = min(1.0, 24.0 / (self.block * self.long_px))
        h = max(1, round(self.height * scale))
        w = max(1, round(self.width * scale))
        cur_img, tgt_img = resize(canvas, h, w), self.target_small(h, w)
        long_px = max(w, h)
        n = len(p)
        pixels = raster.stroke_pixels(self.spec, p, w, h)
        pad = pixels.layout.pad
        # Only the pixels near a candidate can change, so sums over them are the whole story.
        sid = pixels.sid
        cur = raster.padded_planes(cur_img, pad).index_select(1, pixels.index)  # [3, T]
        tgt = raster.padded_planes(tgt_img, pad).index_select(1, pixels.index)
        m = pixels.alpha[None]
        rest = cur * (1 - m)

        def per_stroke(values: torch.Tensor) -> torch.Tensor:  # [C, T] -> [C, N]
            return torch.zeros(values.shape[0], n, device=p.device).index_add_(1, sid, values)

        before = per_stroke((cur - tgt) ** 2).sum(0)
        if self.palette is not None:
            return self._best_paints(m, cur, tgt, per_stroke, before)
        colour = (per_stroke(m * (tgt - rest)) / per_stroke(m * m).clamp_min(1e-6)).clamp(0, 1)  # [3, N]
        after = per_stroke((rest + m * colour[:, sid] - tgt) ** 2).sum(0)
        return colour.T, before - after

    def _best_paints(self, m: torch.Tensor, cur: torch.Tensor, tgt: torch.Tensor, per_stroke: Callable,
                     before: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For each candidate, the palette paint and opacity that lower the error most.

        A paint c at opacity a over the canvas leaves cur + a m (c - cur) where the
        stroke covers m, so with d = cur - tgt the error is D + 2 a b(c) + a^2 q(c), a
        quadratic in a whose best a (within the style's opacity range) is exact, and
        b(c), q(c) follow for every palette paint from six sums over the stroke's pixels.
        Translucent paints mix with what lies beneath: a palette of a few paints still
        gives the colours between them."""
        d = cur - tgt
        s1, s2 = per_stroke(m * d), per_stroke(m * (d * cur).sum(0, keepdim=True))[0]  # [3, N], [N]
        mm = m * m
        s3, s4 = per_stroke(mm)[0], per_stroke(mm * cur)  # [N], [3, N]
        s5 = per_stroke(mm * (cur * cur).sum(0, keepdim=True))[0]  # [N]
        looks = self.palette_looks.to(m.device)  # type: ignore[union-attr]
        b = looks @ s1 - s2[None]  # [K, N]
        q = (looks * looks).sum(1)[:, None] * s3[None] - 2 * looks @ s4 + s5[None]
        top = self.spec.defaults.max_alpha
        alpha = (-b / q.clamp_min(1e-12)).clamp(min(self.min_alpha, top), top)
        error = before[None] + 2 * alpha * b + alpha * alpha * q
        choice = error.argmin(0)
        pick = choice[None]
        return (self.palette.to(m.device)[choice], before - error.gather(0, pick)[0],  # type: ignore[union-attr]
                alpha.gather(0, pick)[0])

    def target_small(self, h: int, w: int) -> torch.Tensor:
        if self._small is None or self._small.shape[:2] != (h, w):
            self._small = resize(self.target, h, w)
        return self._small

    # -- constraints -----------------------------------------------------------------

    def project(self, p: torch.Tensor) -> torch.Tensor:
        """Keep parameters valid and strokes about a block in size (bounded patches)."""
        return project(self.spec, p, self.extent, self.max_len, self.min_alpha, self.sizes)

    def render(self, params: torch.Tensor, exact: bool = False) -> torch.Tensor:
        """The canvas with ``params`` painted over the frozen base.

        Optimisation draws through ``patch_renderer`` (the neural renderer when chosen);
        ``exact`` draws with the analytic renderer, which is what the frozen canvas is
        made of, so a network's small errors never pile up from round to round.
        """
        return raster.render(self.spec, params, self.width, self.height, base=self.base,
                             max_patch=self.max_patch, patch_renderer=None if exact else self.patch_renderer)


def toward_palette(spec: StyleSpec, p: torch.Tensor, palette: torch.Tensor, fraction: float) -> torch.Tensor:
    """Each stroke's colour moved ``fraction`` of the way to its nearest palette colour
    (1: onto it, exactly), in place. The optimiser moves colours freely between these
    pulls, so a stroke drifts towards the paint that serves it best while its shape
    adapts, and the pulls grow until every stroke holds a paint of the palette: the
    optimiser chooses, rather than a snap after painting. Both ends of a two-colour
    stroke take one paint."""
    cols = spec.cols
    palette = palette.to(device=p.device, dtype=p.dtype)
    mean = (p[:, cols.colour_start] + p[:, cols.colour_end]) / 2
    nearest = palette[torch.cdist(mean, palette).argmin(1)]
    parts = (cols.colour_start,) if spec.colours == 1 else (cols.colour_start, cols.colour_end)
    for part in parts:
        p[:, part] = nearest if fraction >= 1 else p[:, part] + fraction * (nearest - p[:, part])
    return p


def painted_look(spec: StyleSpec, colours: torch.Tensor) -> torch.Tensor:
    """How stroke colours (sRGB, [K, 3]) look painted in ``spec``'s style: oil's relief
    mixes each with the grey of its texture level (the inverse of :func:`unshade`)."""
    if not spec.textured:
        return colours
    lin = srgb_to_linear(colours)
    level = torch.as_tensor(oil_level(lin.detach().cpu().numpy()), device=colours.device)
    shade = torch.as_tensor(level_brightness(), device=colours.device, dtype=colours.dtype)[level]
    return linear_to_srgb((1 - OIL_MIX) * lin + OIL_MIX * shade[:, None])


def unshade(colour: torch.Tensor) -> torch.Tensor:
    """The oil colour that, mixed with its bristle shading, looks like ``colour`` (sRGB)."""
    lin = srgb_to_linear(colour)
    level = torch.as_tensor(oil_level(lin.detach().cpu().numpy()), device=colour.device)
    shade = torch.as_tensor(level_brightness(), device=colour.device)[level]
    return linear_to_srgb(((lin - OIL_MIX * shade[:, None]) / (1 - OIL_MIX)).clamp(0, 1))


#: Samples of a curve's centre line when its length is measured (a polyline slightly
#: shorter than the curve: the margin below keeps the true length under a limit).
CURVE_LENGTH_SAMPLES = 64
LENGTH_MARGIN = 0.995


def curve_lengths(spec: StyleSpec, p: torch.Tensor, extent: tuple[float, float],
                  samples: int = CURVE_LENGTH_SAMPLES) -> torch.Tensor:
    """[N] length of each curve stroke's centre line, long-side units."""
    scale = p.new_tensor(extent)
    p0, p1, p2 = (p[:, spec.cols.point(k)] * scale for k in range(3))
    t = torch.linspace(0, 1, samples + 1, dtype=p.dtype, device=p.device)[None, :, None]
    pts = (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * p1[:, None] + t ** 2 * p2[:, None]
    return (pts[:, 1:] - pts[:, :-1]).norm(dim=-1).sum(1)


def limit_sizes(spec: StyleSpec, p: torch.Tensor, extent: tuple[float, float],
                sizes: tuple[float | None, float | None]) -> torch.Tensor:
    """Strokes no thinner than ``sizes[0]`` and no longer than ``sizes[1]`` (long-side
    units; None: no limit), in place: a box's short side and long side; a curve's
    thickness (twice its smaller radius) and the length of its centre line, shortened
    about its middle so it stays where it is."""
    low, high = sizes
    cols = spec.cols
    if spec.is_curve:
        if low is not None:
            p[:, cols.size] = p[:, cols.size].clamp_min(low / 2)
        if high is not None:
            length = curve_lengths(spec, p, extent)
            shrink = (high * LENGTH_MARGIN / length.clamp_min(1e-12)).clamp(max=1.0)[:, None]
            scale = p.new_tensor(extent)
            p0, p1, p2 = (p[:, cols.point(k)] * scale for k in range(3))
            middle = 0.25 * p0 + 0.5 * p1 + 0.25 * p2
            for k, point in enumerate((p0, p1, p2)):
                p[:, cols.point(k)] = (middle + (point - middle) * shrink) / scale
    else:
        size = p[:, cols.size]
        if low is not None:
            size = size.clamp_min(low)
        if high is not None:
            size = size.clamp_max(max(high, low or 0.0))
        p[:, cols.size] = size
    return p


def project(spec: StyleSpec, p: torch.Tensor, extent: tuple[float, float],
            max_len: float | torch.Tensor, min_alpha: float = 0.3,
            sizes: tuple[float | None, float | None] = (None, None)) -> torch.Tensor:
    """Keep parameters valid and strokes at most ``max_len`` long (a float, or one per
    stroke), within the artist's stroke ``sizes`` (:func:`limit_sizes`) when given."""
    with torch.no_grad():
        p = p.clamp(0.0, 1.0)
        ml = torch.as_tensor(max_len, dtype=p.dtype, device=p.device)
        ml = ml.expand(p.shape[0]) if ml.dim() == 0 else ml
        cols = spec.cols
        if spec.is_curve:
            ex, ey = extent
            scale = p.new_tensor([ex, ey])
            mid = p[:, cols.point(1)] * scale
            for k in (0, 2):
                end = p[:, cols.point(k)] * scale
                off = end - mid
                n = off.norm(dim=1, keepdim=True).clamp_min(1e-9)
                off = off * (torch.minimum(n, ml[:, None] / 2) / n)
                p[:, cols.point(k)] = ((mid + off) / scale).clamp(0, 1)
            p[:, cols.size] = torch.minimum(p[:, cols.size].clamp_min(MIN_RADIUS), ml[:, None] / 3)
        else:
            w, h = cols.size.start, cols.size.start + 1
            p[:, w] = torch.minimum(p[:, w].clamp_min(2 * MIN_RADIUS), ml)
            p[:, h] = torch.minimum(p[:, h].clamp_min(2 * MIN_RADIUS), ml)
        if sizes != (None, None):
            p = limit_sizes(spec, p, extent, sizes)
        top = spec.defaults.max_alpha
        p[:, cols.alpha] = p[:, cols.alpha].clamp(min(min_alpha, top), top)
    return p


def patch_renderer(options: PaintOptions, style: str | StyleSpec, device: torch.device):
    """The neural renderer's patch function when the options ask for it; None: analytic."""
    if options.renderer != "neural":
        return None
    from ..render.neural import PatchRenderer, load_renderer
    return PatchRenderer(load_renderer(style, options.weights, device))


def load_style_loss(options: PaintOptions):
    """The style loss the options ask for, or None; a bad style image names itself."""
    if not options.style_image or options.style_weight == 0:
        return None
    from ..io.image_io import load_image
    from .style_transfer import make_style_loss
    try:
        style_image = load_image(options.style_image, max_side=1024)
    except PainterError as exc:
        raise PainterError(f"style image: {exc}") from None
    return make_style_loss(style_image, options.style_features, options.vgg_weights, options.allow_download,
                           size=options.tuning.style_size)


class Objective:
    """Content loss (pixel L1 or L2, plus OT) and the optional style loss, as gradients.

    In "color" style mode the style's gradient is kept only for colour and alpha
    columns: shapes answer to the photo alone, colours to the photo and the style.
    """

    def __init__(self, spec: StyleSpec, target: torch.Tensor, ot_weight: float, options: PaintOptions,
                 style_loss=None, weight: torch.Tensor | None = None) -> None:
        self.target, self.ot_weight = target, ot_weight
        #: [H, W, 1] per-pixel weight of the content loss (the detail asked for), or None.
        self.weight = None if weight is None else weight[..., None]
        self.l2 = options.tuning.loss != "l1"
        self.style_loss = style_loss
        # Without OT or style every term is per pixel, so a round's loss can be local.
        self.local = ot_weight == 0 and style_loss is None
        self.style_weight = float(options.style_weight)
        self.shape_cols = spec.shape_columns if options.style_mode == "color" else []

    def content(self, canvas: torch.Tensor) -> torch.Tensor:
        if self.weight is not None:
            diff = canvas - self.target
            loss = (diff * diff * self.weight).mean() * 4 if self.l2 else (diff.abs() * self.weight).mean()
        else:
            loss = ((canvas - self.target) ** 2).mean() * 4 if self.l2 else pixel_l1(canvas, self.target)
        if self.ot_weight > 0:
            loss = loss + self.ot_weight * sinkhorn_loss(canvas, self.target)
        return loss

    def backward(self, canvas: torch.Tensor, params: torch.Tensor) -> float:
        """Set ``params.grad``; returns the total loss."""
        content = self.content(canvas)
        if self.style_loss is None:
            content.backward()
            return float(content.detach())
        style = self.style_weight * self.style_loss(canvas)
        if not self.shape_cols:
            (content + style).backward()
        else:
            g_content, = torch.autograd.grad(content, params, retain_graph=True)
            g_style, = torch.autograd.grad(style, params)
            g_style[:, self.shape_cols] = 0
            params.grad = g_content + g_style
        return float((content + style).detach())


def render_frozen(style: str | StyleSpec, params: torch.Tensor, width: int, height: int,
                  base: torch.Tensor) -> torch.Tensor:
    """Render fixed strokes without gradients."""
    with torch.no_grad():
        return raster.render(style, params, width, height, base=base)


def greedy_rounds(lvl: Level, objective: Objective, count: int, iterations: int, candidates: int,
                  tuning: Tuning, placed: list[torch.Tensor]) -> Iterator[tuple[int, float]]:
    """Paint ``count`` strokes onto ``lvl`` in greedy rounds of about ``tuning.round_size``: each
    round places strokes where the painting is most wrong, optimises them alone over
    everything painted before (``iterations`` steps) and commits them to the frozen
    canvas. Each round's strokes are appended to ``placed``; yields (step of the round,
    loss) after every step."""
    for r_count in rounds(count, tuning.round_size):
        with torch.no_grad():
            new = lvl.place(r_count, lvl.base, candidates)
        params = new.clone().requires_grad_(True)
        opt = optimizer(lvl.spec, params, lvl.block, tuning)
        for it in range(iterations):
            opt.zero_grad(set_to_none=True)
            if objective.local:
                change = lvl.local_error(params, objective.l2)
                change.backward()
                loss = float(change.detach())
            else:
                loss = objective.backward(lvl.render(params), params)
            opt.step()
            with torch.no_grad():
                params.data = lvl.project(torch.nan_to_num(params.data, nan=0.5))
                if lvl.palette is not None:
                    params.data = toward_palette(lvl.spec, params.data, lvl.palette, ((it + 1) / iterations) ** 2)
            yield it, loss
        lvl.commit(params.detach())
        placed.append(params.detach())


def refine_steps(spec: StyleSpec, params: torch.Tensor, blocks: torch.Tensor, render_fn, objective: Objective,
                 iterations: int, lr_shape: float, lr_colour: float,
                 project_fn, palette: torch.Tensor | None = None) -> Iterator[tuple[torch.Tensor, float]]:
    """Optimise many strokes together in painting order (every stroke also sees the ones
    painted after it), each shape moving in steps of a fraction of its own level's
    block (``lr_shape`` of it per step; colours and alpha ``lr_colour``); with a
    ``palette``, colours are drawn onto its colours as the pass goes
    (:func:`toward_palette`), exactly onto them at its end. Yields (parameters, loss)
    after every step."""
    params = params.detach().clone().requires_grad_(True)
    lr = torch.full((len(params), spec.dim), float(lr_colour), device=params.device)
    lr[:, spec.shape_columns] = float(lr_shape) * blocks[:, None]
    opt = ScaledAdam([params], lr)
    for step in range(iterations):
        opt.zero_grad(set_to_none=True)
        loss = objective.backward(render_fn(params), params)
        opt.step()
        with torch.no_grad():
            params.data = project_fn(torch.nan_to_num(params.data, nan=0.5))
            if palette is not None:
                params.data = toward_palette(spec, params.data, palette, ((step + 1) / iterations) ** 2)
        yield params.detach(), loss


def rounds(count: int, round_size: int) -> list[int]:
    """Split a level's strokes into greedy rounds of about ``round_size``."""
    return _split(count, max(1, math.ceil(count / max(1, round_size)))) if count else []


def _split(total: int, parts: int) -> list[int]:
    base = [total // parts] * parts
    for i in range(total - sum(base)):
        base[i] += 1
    return base


def optimizer(spec: StyleSpec, params: torch.Tensor, block: float, tuning: Tuning) -> "ScaledAdam":
    """Adam with per-parameter step sizes: shapes move a fraction of their level's block
    per step, colours a fixed amount, so coarse levels converge as fast as fine ones."""
    lr = torch.full((spec.dim,), float(tuning.lr_shape) * block)
    lr[spec.cols.colour] = float(tuning.lr_colour)
    lr[spec.cols.alpha] = float(tuning.lr_colour)
    return ScaledAdam([params], lr.to(params.device))


class ScaledAdam:
    """Adam (betas 0.9 and 0.99, eps 1e-8) whose step is scaled per parameter column: one
    rate per stroke parameter.

    Written out instead of subclassing ``torch.optim.Adam``: the first Adam of a process
    imports torch's compiler (``torch._dynamo``, and SymPy with it), 1.5-4.5 s of every
    painting (more on a machine whose torch keeps no bytecode cache) before a stroke is
    placed. The arithmetic is torch's own single-tensor Adam, operation for operation
    (then the column scaling as before), so a painting is the same to the bit.
    """

    BETA1, BETA2, EPS = 0.9, 0.99, 1e-8

    def __init__(self, params, column_lr: torch.Tensor) -> None:
        self.params = list(params)
        self.column_lr = column_lr
        self.moments = [(torch.zeros_like(p, memory_format=torch.preserve_format),
                         torch.zeros_like(p, memory_format=torch.preserve_format)) for p in self.params]
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        b1, b2 = self.BETA1, self.BETA2
        step_size = 1.0 / (1 - b1 ** self.steps)
        bias_correction2_sqrt = (1 - b2 ** self.steps) ** 0.5
        for p, (exp_avg, exp_avg_sq) in zip(self.params, self.moments):
            if p.grad is None:
                continue
            grad = p.grad
            exp_avg.lerp_(grad, 1 - b1)
            exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.EPS)
            moved = p.addcdiv(exp_avg, denom, value=-step_size)
            p.copy_(p + (moved - p) * self.column_lr)
