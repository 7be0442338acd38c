"""Progressive (coarse-to-fine) stroke painter.

Level g of L paints on a g x g grid: its strokes are about one grid block long. New
strokes go where the current painting is most wrong (a blurred error map raised to the
4th power, as in Zou et al.), take their colour from the image there and their
direction from the image's edges, and are then optimised through the differentiable
renderer with pixel L1 plus a Sinkhorn OT loss. Unlike the paper's fixed blocks,
strokes live in canvas coordinates and may cross block borders, so there are no seams.

Earlier levels are frozen into a cached canvas, and each level is optimised at a
resolution that gives its strokes enough pixels (never more than the output size):
the output is vectors and is re-rendered at any size afterwards.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from . import raster
from .devices import pick_device
from .errors import PainterError
from .events import Done, Event, LevelDone, LevelStarted, Progress, RefineStarted, Refined
from .losses import pixel_l1, sinkhorn_loss
from .strokes import StrokeSet
from .texture import OIL_MIX, level_brightness, oil_level
from .colour import linear_to_srgb, srgb_to_linear
from .styles import MIN_RADIUS, StyleSpec, colour_slices, get_style, shape_indices

MAX_STROKES = 20000
MAX_SIZE = 4096
RENDERERS = ("analytic", "neural")
STYLE_MODES = ("color", "full")


@dataclass
class PaintOptions:
    style: str = "oil"
    strokes: int = 500
    levels: int | None = None  # None: chosen from the stroke count
    size: int = 512  # long side of the canvas, px
    seed: int = 0
    device: str = "auto"
    background: str | tuple[float, float, float] = "white"
    ot_weight: float | None = None  # None: the style's default
    renderer: str = "analytic"
    weights: str | None = None  # neural renderer weights file; None: weights/<style>.pt
    iterations: int | None = None  # per round of new strokes; None: DEFAULT_ITERATIONS
    refine: int | None = None  # steps of the final pass over all strokes; None: the style's
    min_alpha: float | None = None  # lowest stroke opacity; None: the style's (oil 1: opaque paint)
    block_px: int = 64  # optimise each level so that a grid block spans this many px
    # Style transfer: paint in the style of another image (see core.style_transfer).
    style_image: str | None = None  # path; None: no style loss
    style_mode: str = "full"  # "color": the style moves only colours; "full": everything
    style_weight: float = 0.4  # 0.15 barely shows, 0.7 loses the photo (RESULTS.md)
    style_features: str = "offline"  # "offline" (no download) or "vgg16"
    vgg_weights: str | None = None  # VGG-16 file; None: the torch cache
    allow_download: bool = False  # may fetch VGG-16 weights into the torch cache
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        get_style(self.style)
        if not isinstance(self.strokes, int) or isinstance(self.strokes, bool):
            raise PainterError(f"--strokes must be a whole number, got {self.strokes!r}")
        if not 1 <= self.strokes <= MAX_STROKES:
            raise PainterError(f"--strokes {self.strokes} is out of range: use 1 to {MAX_STROKES}")
        if self.levels is not None and not 1 <= self.levels <= 12:
            raise PainterError(f"--levels {self.levels} is out of range: use 1 to 12")
        if not 16 <= self.size <= MAX_SIZE:
            raise PainterError(f"--size {self.size} is out of range: use 16 to {MAX_SIZE} px")
        if self.ot_weight is not None and not (self.ot_weight >= 0 and math.isfinite(self.ot_weight)):
            raise PainterError(f"--ot-weight must be a number >= 0, got {self.ot_weight}")
        if self.renderer not in RENDERERS:
            raise PainterError(f"unknown renderer {self.renderer!r}: use one of {', '.join(RENDERERS)}")
        if self.min_alpha is not None and not (isinstance(self.min_alpha, (int, float))
                                               and 0.05 <= self.min_alpha <= 1):
            raise PainterError(f"--min-alpha must be a number from 0.05 to 1, got {self.min_alpha!r}")
        if self.iterations is not None and not 1 <= self.iterations <= 10000:
            raise PainterError(f"--iterations {self.iterations} is out of range: use 1 to 10000")
        if self.refine is not None and not 0 <= self.refine <= 10000:
            raise PainterError(f"--refine {self.refine} is out of range: use 0 (off) to 10000")
        if self.style_mode not in STYLE_MODES:
            raise PainterError(f"--style-mode {self.style_mode!r} is unknown: use color or full")
        if not (isinstance(self.style_weight, (int, float)) and math.isfinite(self.style_weight)
                and self.style_weight >= 0):
            raise PainterError(f"--style-weight must be a number >= 0, got {self.style_weight!r}")
        if self.style_features not in ("offline", "vgg16"):
            raise PainterError(f"--style-features {self.style_features!r} is unknown: use offline or vgg16")


# Default OT weight per style. The first benchmark (L1 loss, no final pass) found the
# Sinkhorn term worth +0.4 dB for tape only; with the L2 loss and the final pass over
# all strokes it bought nothing and cost time (benchmarks/RESULTS.md), so it is off for
# every style. --ot-weight turns it on.
DEFAULT_OT_WEIGHT = {"marker": 0.0, "watercolor": 0.0, "oil": 0.0, "tape": 0.0}

# Optimisation steps per greedy round of new strokes, and of the final pass over all
# strokes (benchmarks/RESULTS.md, "Where the dBs came from").
DEFAULT_ITERATIONS = 10
DEFAULT_REFINE = {"marker": 30, "watercolor": 35, "oil": 45, "tape": 60}
# Size of the final pass relative to the painting: watercolour's soft washes have no
# sharp detail to lose at 5/8 of the size, and cost 2.5x less there.
REFINE_SCALE = {"marker": 1.0, "watercolor": 0.625, "oil": 1.0, "tape": 1.0}
# Random candidates scored for each new stroke: a soft wash is forgiving of where it
# starts (12 scored as well as 24 on the benchmark photos, in less time).
DEFAULT_CANDIDATES = {"marker": 24, "watercolor": 12, "oil": 24, "tape": 24}

# Lowest stroke opacity per style: oil paint covers what is under it; the others may be
# translucent (a marker or a wash lets the paint beneath show through).
DEFAULT_MIN_ALPHA = {"marker": 0.3, "watercolor": 0.3, "oil": 1.0, "tape": 0.3}
# Highest stroke opacity per style: a watercolour wash never covers fully.
MAX_ALPHA = {"marker": 1.0, "watercolor": 0.85, "oil": 1.0, "tape": 1.0}


def parse_background(value: str | tuple[float, float, float] | list[float], image: np.ndarray | None = None
                     ) -> tuple[float, float, float]:
    """'white', 'black', 'mean' (the image's mean colour), '#rrggbb' or 'r,g,b' in 0..1."""
    if isinstance(value, (tuple, list)):
        rgb = tuple(float(v) for v in value)
    else:
        v = str(value).strip().lower()
        if v == "white":
            rgb = (1.0, 1.0, 1.0)
        elif v == "black":
            rgb = (0.0, 0.0, 0.0)
        elif v == "mean":
            if image is None:
                raise PainterError("--background mean needs an image")
            rgb = tuple(float(c) for c in image.reshape(-1, 3).mean(0))
        elif v.startswith("#") and len(v) == 7:
            try:
                rgb = tuple(int(v[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
            except ValueError:
                raise PainterError(f"--background {value!r} is not a colour: use white, black, "
                                   "mean, #rrggbb or r,g,b") from None
        else:
            try:
                rgb = tuple(float(x) for x in v.split(","))
            except ValueError:
                rgb = ()
    if len(rgb) != 3 or not all(math.isfinite(c) and 0 <= c <= 1 for c in rgb):
        raise PainterError(f"--background {value!r} is not a colour: use white, black, mean, "
                           "#rrggbb or r,g,b with values in 0..1")
    return rgb  # type: ignore[return-value]


def default_levels(strokes: int) -> int:
    """About 14 strokes per grid block at the finest level (6 levels for 500 strokes;
    more, finer levels measured better than the paper's 5 in benchmarks/RESULTS.md)."""
    return int(min(8, max(1, round(math.sqrt(strokes / 14.0)))))


def strokes_per_level(strokes: int, levels: int) -> list[int]:
    """Split the budget over levels in proportion to their block counts; sums exactly."""
    weights = np.array([g * g for g in range(1, levels + 1)], dtype=np.float64)
    raw = strokes * weights / weights.sum()
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: strokes - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def _resize(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Area-average resize of [H, W, 3]."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    x = image.permute(2, 0, 1)[None]
    if height <= image.shape[0] and width <= image.shape[1]:
        y = F.interpolate(x, size=(height, width), mode="area")
    else:
        y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return y[0].permute(1, 2, 0).contiguous()


def _blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Box blur of [H, W] twice (close to Gaussian), edge-padded; running sums, so the
    cost does not grow with the radius."""
    if radius < 1:
        return x
    y = x
    for _ in range(2):
        for dim in (0, 1):
            n = y.shape[dim]
            idx = torch.arange(n, device=y.device)
            padded = torch.cat([y.narrow(dim, 0, 1).expand(*[radius if d == dim else -1 for d in range(2)]), y,
                                y.narrow(dim, n - 1, 1).expand(*[radius if d == dim else -1 for d in range(2)])], dim)
            c = torch.cumsum(padded.double(), dim)
            c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim)
            y = ((c.index_select(dim, idx + 2 * radius + 1) - c.index_select(dim, idx)) / (2 * radius + 1)).float()
    return y


class _Level:
    """Optimisation of one level's strokes over a frozen canvas."""

    def __init__(self, spec: StyleSpec, target: torch.Tensor, base: torch.Tensor, grid: int,
                 generator: torch.Generator,
                 patch_renderer: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None,
                 min_alpha: float = 0.3) -> None:
        self.spec = spec
        self.min_alpha = min_alpha
        self.target = target
        self.base = base
        self.height, self.width = target.shape[:2]
        self.long_px = max(self.width, self.height)
        self.extent = (self.width / self.long_px, self.height / self.long_px)
        self.block = 1.0 / grid  # long-side units
        self.gen = generator
        # Structure for stroke directions: image gradients of the blurred luminance.
        lum = _blur(target.mean(-1), max(1, self.long_px // (grid * 8)))
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
        self.inside = raster.padded_planes(torch.ones_like(target[..., :1]), self.pad)[0]
        self.base_planes = raster.padded_planes(srgb_to_linear(base), self.pad)

    def commit(self, params: torch.Tensor) -> None:
        """Paint finished strokes into the frozen canvas (analytic, exact)."""
        with torch.no_grad():
            pixels = raster.stroke_pixels(self.spec.name, params, self.width, self.height, self.max_patch,
                                          pad=self.pad)
            self.base_planes = pixels.paint(self.base_planes)
            p = self.pad
            planes = self.base_planes.reshape(3, self.height + 2 * p, self.width + 2 * p)
            self.base = linear_to_srgb(planes[:, p:p + self.height, p:p + self.width].permute(1, 2, 0)).contiguous()

    def local_error(self, params: torch.Tensor, l2: bool = True) -> torch.Tensor:
        """The content loss's change from painting ``params`` over the frozen canvas,
        taken only over the pixels their patches touch (the rest of the canvas does not
        change), on the same scale as the whole-canvas loss."""
        pixels = raster.stroke_pixels(self.spec.name, params, self.width, self.height, self.max_patch,
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
        err = _blur(err, max(1, int(self.long_px * self.block / 8))) ** 4
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
        names = self.spec.params
        if names[0] == "x0":
            ex, ey = self.extent
            dx, dy = torch.cos(angle) * length / 2, torch.sin(angle) * length / 2
            bend = (u[:, 5] - 0.5) * 0.6 * length
            p[:, 0], p[:, 1] = cx - dx / ex, cy - dy / ey
            p[:, 2], p[:, 3] = cx - torch.sin(angle) * bend / ex, cy + torch.cos(angle) * bend / ey
            p[:, 4], p[:, 5] = cx + dx / ex, cy + dy / ey
            p[:, 6] = thick / 2
            p[:, 7] = thick / 2
        else:
            p[:, 0], p[:, 1] = cx, cy
            p[:, 2], p[:, 3] = length, thick
            p[:, 4] = angle / math.pi
        a_idx = names.index("a")
        p[:, a_idx] = 1.0
        p = self.project(p)
        colour, gain = self._best_colours(p, canvas)
        if self.spec.textured:
            colour = _unshade(colour)
        c0, c2 = colour_slices(self.spec)
        p[:, c0] = colour
        p[:, c2] = colour
        best = gain.view(count, candidates).argmax(dim=1) + torch.arange(count, device=dev) * candidates
        return p[best]

    def _best_colours(self, p: torch.Tensor, canvas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Least-squares flat colour of each stroke alone over ``canvas``, and its error gain.

        Scored on a copy of the level where a grid block spans ~24 px: ranking
        candidates needs far fewer pixels than optimising them.
        """
        scale = min(1.0, 24.0 / (self.block * self.long_px))
        h = max(1, round(self.height * scale))
        w = max(1, round(self.width * scale))
        cur_img, tgt_img = _resize(canvas, h, w), self.target_small(h, w)
        long_px = max(w, h)
        n = len(p)
        pixels = raster.stroke_pixels(self.spec.name, p, w, h)
        pad = pixels.layout.pad
        # Only the pixels near a candidate can change, so sums over them are the whole story.
        sid = pixels.sid
        cur = raster.padded_planes(cur_img, pad).index_select(1, pixels.index)  # [3, T]
        tgt = raster.padded_planes(tgt_img, pad).index_select(1, pixels.index)
        m = pixels.alpha[None]
        rest = cur * (1 - m)

        def per_stroke(values: torch.Tensor) -> torch.Tensor:  # [C, T] -> [C, N]
            return torch.zeros(values.shape[0], n, device=p.device).index_add_(1, sid, values)

        colour = (per_stroke(m * (tgt - rest)) / per_stroke(m * m).clamp_min(1e-6)).clamp(0, 1)  # [3, N]
        before = per_stroke((cur - tgt) ** 2).sum(0)
        after = per_stroke((rest + m * colour[:, sid] - tgt) ** 2).sum(0)
        return colour.T, before - after

    def target_small(self, h: int, w: int) -> torch.Tensor:
        if self._small is None or self._small.shape[:2] != (h, w):
            self._small = _resize(self.target, h, w)
        return self._small

    # -- constraints -----------------------------------------------------------------

    def project(self, p: torch.Tensor) -> torch.Tensor:
        """Keep parameters valid and strokes about a block in size (bounded patches)."""
        return project(self.spec, p, self.extent, self.max_len, self.min_alpha)

    def render(self, params: torch.Tensor, exact: bool = False) -> torch.Tensor:
        """The canvas with ``params`` painted over the frozen base.

        Optimisation draws through ``patch_renderer`` (the neural renderer when chosen);
        ``exact`` draws with the analytic renderer, which is what the frozen canvas is
        made of, so a network's small errors never pile up from round to round.
        """
        return raster.render(self.spec.name, params, self.width, self.height, base=self.base,
                             max_patch=self.max_patch, patch_renderer=None if exact else self.patch_renderer)


def _unshade(colour: torch.Tensor) -> torch.Tensor:
    """The oil colour that, mixed with its bristle shading, looks like ``colour`` (sRGB)."""
    lin = srgb_to_linear(colour)
    level = torch.as_tensor(oil_level(lin.detach().cpu().numpy()), device=colour.device)
    shade = torch.as_tensor(level_brightness(), device=colour.device)[level]
    return linear_to_srgb(((lin - OIL_MIX * shade[:, None]) / (1 - OIL_MIX)).clamp(0, 1))


def project(spec: StyleSpec, p: torch.Tensor, extent: tuple[float, float],
            max_len: float | torch.Tensor, min_alpha: float = 0.3) -> torch.Tensor:
    """Keep parameters valid and strokes at most ``max_len`` long (a float, or one per stroke)."""
    with torch.no_grad():
        p = p.clamp(0.0, 1.0)
        ml = torch.as_tensor(max_len, dtype=p.dtype, device=p.device)
        ml = ml.expand(p.shape[0]) if ml.dim() == 0 else ml
        names = spec.params
        if names[0] == "x0":
            ex, ey = extent
            scale = p.new_tensor([ex, ey])
            mid = p[:, 2:4] * scale
            for k in (0, 4):
                end = p[:, k:k + 2] * scale
                off = end - mid
                n = off.norm(dim=1, keepdim=True).clamp_min(1e-9)
                off = off * (torch.minimum(n, ml[:, None] / 2) / n)
                p[:, k:k + 2] = ((mid + off) / scale).clamp(0, 1)
            p[:, 6:8] = torch.minimum(p[:, 6:8].clamp_min(MIN_RADIUS), ml[:, None] / 3)
        else:
            p[:, 2] = torch.minimum(p[:, 2].clamp_min(2 * MIN_RADIUS), ml)
            p[:, 3] = torch.minimum(p[:, 3].clamp_min(2 * MIN_RADIUS), ml)
        p[:, names.index("a")] = p[:, names.index("a")].clamp(min(min_alpha, MAX_ALPHA[spec.name]),
                                                              MAX_ALPHA[spec.name])
    return p


def _patch_renderer(options: PaintOptions, style: str, device: torch.device):
    """The neural renderer's patch function when the options ask for it; None: analytic."""
    if options.renderer != "neural":
        return None
    from .neural import PatchRenderer, load_renderer
    return PatchRenderer(load_renderer(style, options.weights, device))


def load_style_loss(options: PaintOptions):
    """The style loss the options ask for, or None; a bad style image names itself."""
    if not options.style_image or options.style_weight == 0:
        return None
    from .image_io import load_image
    from .style_transfer import make_style_loss
    try:
        style_image = load_image(options.style_image, max_side=1024)
    except PainterError as exc:
        raise PainterError(f"style image: {exc}") from None
    return make_style_loss(style_image, options.style_features, options.vgg_weights, options.allow_download,
                           size=int(options.extra.get("style_size", 128)))


class _Objective:
    """Content loss (pixel L1 or L2, plus OT) and the optional style loss, as gradients.

    In "color" style mode the style's gradient is kept only for colour and alpha
    columns: shapes answer to the photo alone, colours to the photo and the style.
    """

    def __init__(self, spec: StyleSpec, target: torch.Tensor, ot_weight: float, options: PaintOptions,
                 style_loss=None) -> None:
        self.target, self.ot_weight = target, ot_weight
        self.l2 = options.extra.get("loss", "l2") != "l1"
        self.style_loss = style_loss
        # Without OT or style every term is per pixel, so a round's loss can be local.
        self.local = ot_weight == 0 and style_loss is None
        self.style_weight = float(options.style_weight)
        self.shape_cols = shape_indices(spec) if options.style_mode == "color" else []

    def content(self, canvas: torch.Tensor) -> torch.Tensor:
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


def render_frozen(style: str, params: torch.Tensor, width: int, height: int,
                  base: torch.Tensor) -> torch.Tensor:
    """Render fixed strokes without gradients."""
    with torch.no_grad():
        return raster.render(style, params, width, height, base=base)


def paint(image: np.ndarray, options: PaintOptions, init: StrokeSet | None = None,
          add_levels: int = 0) -> Iterator[Event]:
    """Paint ``image`` (float HxWx3 sRGB in [0, 1]) with strokes; yields events.

    With ``init``, those strokes are kept (frozen) as the first levels and painting
    continues: ``add_levels`` finer levels are added with ``options.strokes`` strokes.
    Closing the generator cancels; every LevelDone already received stays valid.
    """
    options.validate()
    spec = get_style(options.style)
    device = pick_device(options.device)
    patch_renderer = _patch_renderer(options, spec.name, device)
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise PainterError(f"image must be an H x W x 3 array, got shape {img.shape}; load it with core.image_io")
    img = np.nan_to_num(img, nan=0.0, posinf=1.0, neginf=0.0).clip(0, 1)
    background = parse_background(options.background, img)
    start = time.perf_counter()
    torch.manual_seed(options.seed)
    gen = torch.Generator().manual_seed(options.seed)

    h0, w0 = img.shape[:2]
    scale = options.size / max(h0, w0)
    width, height = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    target_full = _resize(torch.from_numpy(np.ascontiguousarray(img)).to(device), height, width)
    ot_weight = DEFAULT_OT_WEIGHT[spec.name] if options.ot_weight is None else options.ot_weight
    min_alpha = DEFAULT_MIN_ALPHA[spec.name] if options.min_alpha is None else float(options.min_alpha)
    style_loss = load_style_loss(options)

    if init is not None:
        if init.style != spec.name:
            raise PainterError(f"cannot continue a {init.style} painting in style {spec.name}; "
                               f"use --style {init.style}")
        frozen = torch.from_numpy(init.params.copy()).to(device)
        frozen_level = [int(v) for v in init.level]
        first_level = (max(frozen_level) if frozen_level else 0) + 1
        levels = max(1, add_levels)
        background = init.background
    else:
        frozen = torch.zeros(0, spec.dim, device=device)
        frozen_level = []
        first_level = 1
        levels = options.levels or default_levels(options.strokes)
    levels = min(levels, options.strokes)
    counts = strokes_per_level(options.strokes, levels)
    round_size = int(options.extra.get("round", 16))
    iters_per_round = options.iterations or DEFAULT_ITERATIONS
    refine_iters = DEFAULT_REFINE[spec.name] if options.refine is None else options.refine
    # Progress counts work: a refinement step draws every stroke, a round step a few.
    refine_weight = max(1.0, options.strokes / (2 * round_size))
    total_work = (sum(len(_rounds(c, round_size)) * iters_per_round for c in counts)
                  + refine_iters * refine_weight)
    done_work = 0.0
    meta = {"engine": "neural-painter", "seed": options.seed, "size": options.size,
            "ot_weight": ot_weight, "renderer": options.renderer, "refine": refine_iters}
    if style_loss is not None:
        meta.update(_style_meta(options))
    bg = torch.tensor(background, dtype=torch.float32, device=device)
    n_init = len(frozen)

    def make_set(params: torch.Tensor, lv: list[int]) -> StrokeSet:
        clean = torch.nan_to_num(params.detach(), nan=0.5).clamp(0, 1).cpu().numpy()
        return StrokeSet(spec.name, width, height, clean, np.asarray(lv, dtype=np.int32), background, dict(meta))

    for li, count in enumerate(counts):
        if count == 0:
            continue
        level = first_level + li
        grid = level
        yield LevelStarted(level=level, levels=first_level + levels - 1, strokes=count)
        # Resolution: a grid block spans about block_px pixels, capped at the output size.
        res = min(options.size, max(32, options.block_px * grid))
        lh, lw = max(1, round(height * res / max(width, height))), max(1, round(width * res / max(width, height)))
        target = _resize(target_full, lh, lw)
        base = render_frozen(spec.name, frozen, lw, lh, bg.expand(lh, lw, 3))
        lvl = _Level(spec, target, base, grid, gen, patch_renderer, min_alpha)
        objective = _Objective(spec, target, ot_weight, options, style_loss)
        # Greedy rounds: each places a few strokes where the painting is most wrong and
        # optimises only those over everything painted before them (frozen in the base
        # canvas), so an iteration costs the pixels of a few strokes, not of the level.
        placed: list[torch.Tensor] = []
        candidates = int(options.extra.get("candidates", DEFAULT_CANDIDATES[spec.name]))
        for it, loss in greedy_rounds(lvl, objective, count, round_size, iters_per_round, candidates,
                                      options.extra, placed):
            done_work += 1
            if it % 5 == 0 or it == iters_per_round - 1:
                yield Progress(fraction=min(1.0, done_work / max(1.0, total_work)), level=level, loss=loss)
        level_params = torch.cat(placed)
        frozen = torch.cat([frozen, level_params])
        frozen_level += [level] * count
        yield LevelDone(level=level, strokes=make_set(level_params, [level] * count),
                        painted=make_set(frozen, frozen_level))

    if refine_iters and len(frozen) > n_init:
        # Revisit every stroke of this run together, in painting order, at full size:
        # each was optimised only against the strokes before it; now every stroke also
        # answers to those painted over it (strokes given as ``init`` stay as they are).
        last = first_level + levels - 1
        yield RefineStarted(strokes=len(frozen) - n_init, steps=refine_iters)
        blocks = 1.0 / torch.tensor(frozen_level[n_init:], dtype=torch.float32, device=device)
        extent = (width / max(width, height), height / max(width, height))
        # The pass runs at the painting's size, or smaller for styles whose strokes have
        # no sharp detail to lose (REFINE_SCALE): its cost grows with the pixels.
        rs = float(options.extra.get("refine_scale", REFINE_SCALE[spec.name]))
        rw, rh = max(1, round(width * rs)), max(1, round(height * rs))
        under = render_frozen(spec.name, frozen[:n_init], rw, rh, bg.expand(rh, rw, 3))
        full = _Objective(spec, _resize(target_full, rh, rw), 0.0, options, style_loss)
        steps = refine_steps(spec, frozen[n_init:], blocks,
                             lambda q: raster.render(spec.name, q, rw, rh, base=under),
                             full, refine_iters, options.extra,
                             lambda q: project(spec, q, extent, torch.clamp(1.5 * blocks, max=1.0), min_alpha))
        for it, (moved, loss) in enumerate(steps):
            done_work += refine_weight
            if it % 5 == 0 or it == refine_iters - 1:
                yield Progress(fraction=min(1.0, done_work / max(1.0, total_work)), level=last, loss=loss)
        frozen = torch.cat([frozen[:n_init], moved])
        yield Refined(strokes=make_set(frozen, frozen_level))
    yield Done(strokes=make_set(frozen, frozen_level), seconds=time.perf_counter() - start)


def greedy_rounds(lvl: _Level, objective: _Objective, count: int, round_size: int, iterations: int,
                  candidates: int, extra: dict, placed: list[torch.Tensor]) -> Iterator[tuple[int, float]]:
    """Paint ``count`` strokes onto ``lvl`` in greedy rounds of about ``round_size``: each
    round places strokes where the painting is most wrong, optimises them alone over
    everything painted before (``iterations`` steps) and commits them to the frozen
    canvas. Each round's strokes are appended to ``placed``; yields (step of the round,
    loss) after every step."""
    for r_count in _rounds(count, round_size):
        with torch.no_grad():
            new = lvl.place(r_count, lvl.base, candidates)
        params = new.clone().requires_grad_(True)
        opt = _optimizer(lvl.spec, params, lvl.block, extra)
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
            yield it, loss
        lvl.commit(params.detach())
        placed.append(params.detach())


def refine_steps(spec: StyleSpec, params: torch.Tensor, blocks: torch.Tensor, render_fn, objective: "_Objective",
                 iterations: int, extra: dict, project_fn) -> Iterator[tuple[torch.Tensor, float]]:
    """Optimise many strokes together in painting order (every stroke also sees the ones
    painted after it), each shape moving in steps of a fraction of its own level's
    block; yields (parameters, loss) after every step."""
    params = params.detach().clone().requires_grad_(True)
    lr = torch.full((len(params), spec.dim), float(extra.get("refine_lr_colour", 0.03)), device=params.device)
    lr[:, shape_indices(spec)] = float(extra.get("refine_lr_shape", 0.02)) * blocks[:, None]
    opt = _ScaledAdam([params], lr)
    for _ in range(iterations):
        opt.zero_grad(set_to_none=True)
        loss = objective.backward(render_fn(params), params)
        opt.step()
        with torch.no_grad():
            params.data = project_fn(torch.nan_to_num(params.data, nan=0.5))
        yield params.detach(), loss


def _rounds(count: int, round_size: int) -> list[int]:
    """Split a level's strokes into greedy rounds of about ``round_size``."""
    return _split(count, max(1, math.ceil(count / max(1, round_size)))) if count else []


def _split(total: int, parts: int) -> list[int]:
    base = [total // parts] * parts
    for i in range(total - sum(base)):
        base[i] += 1
    return base


def _optimizer(spec: StyleSpec, params: torch.Tensor, block: float, extra: dict) -> torch.optim.Optimizer:
    """Adam with per-parameter step sizes: shapes move a fraction of their level's block
    per step, colours a fixed amount, so coarse levels converge as fast as fine ones."""
    lr = torch.full((spec.dim,), float(extra.get("lr_shape", 0.05)) * block)
    c0, c2 = colour_slices(spec)
    lr[c0 + c2] = float(extra.get("lr_colour", 0.02))
    lr[spec.params.index("a")] = float(extra.get("lr_colour", 0.02))
    return _ScaledAdam([params], lr.to(params.device))


class _ScaledAdam(torch.optim.Adam):
    """Adam whose step is scaled per parameter column (one rate per stroke parameter)."""

    def __init__(self, params, column_lr: torch.Tensor) -> None:
        super().__init__(params, lr=1.0, betas=(0.9, 0.99))
        self.column_lr = column_lr

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        before = [p.detach().clone() for g in self.param_groups for p in g["params"]]
        super().step(closure)
        for p, b in zip((p for g in self.param_groups for p in g["params"]), before):
            p.copy_(b + (p - b) * self.column_lr)
        return None


def _style_meta(options: PaintOptions) -> dict:
    return {"style_image": str(options.style_image), "style_mode": options.style_mode,
            "style_weight": options.style_weight, "style_features": options.style_features}


def stylize(strokes: StrokeSet, options: PaintOptions, content: np.ndarray | None = None) -> Iterator[Event]:
    """A second pass over a finished painting: move its strokes towards the style image.

    All strokes are optimised together, in their painting order, against the content
    (``content``, or by default the painting as it is, so no photo is needed) plus the
    style loss. In "color" mode only colours and alpha move: every stroke keeps its
    exact shape, so hand edits made in Blender survive. Yields the same events as
    :func:`paint`, with the whole restyled painting as one level.
    """
    options.validate()
    if not options.style_image:
        raise PainterError("a style pass needs a style image: pass --style-image FILE")
    if len(strokes) == 0:
        raise PainterError("the painting has no strokes to restyle: paint it first")
    spec = get_style(strokes.style)
    device = pick_device(options.device)
    start = time.perf_counter()
    torch.manual_seed(options.seed)
    style_loss = load_style_loss(options)
    from .reference import output_size, render_strokes
    width, height = output_size(strokes.width, strokes.height, min(options.size, max(strokes.width, strokes.height)))
    if content is None:
        content_img = render_strokes(strokes, max(width, height))
    else:
        content_img = np.asarray(content, np.float32)
    target = _resize(torch.from_numpy(np.ascontiguousarray(content_img)).to(device), height, width)
    original = torch.from_numpy(strokes.params.copy()).to(device)
    params = original.clone().requires_grad_(True)
    patch_renderer = _patch_renderer(options, spec.name, device)
    levels = max(1, int(strokes.level.max())) if len(strokes.level) else 1
    # Shapes move in steps of a fraction of the finest level's block, as when painting.
    opt = _optimizer(spec, params, 1.0 / levels, options.extra)
    shape_cols = shape_indices(spec)
    if options.style_mode == "color":
        opt.column_lr[shape_cols] = 0.0
    objective = _Objective(spec, target, 0.0, options, style_loss)
    bg = tuple(float(c) for c in strokes.background)
    iterations = options.iterations or 100
    last = levels
    yield LevelStarted(level=last, levels=last, strokes=len(strokes))
    for it in range(iterations):
        opt.zero_grad(set_to_none=True)
        canvas = raster.render(spec.name, params, width, height, background=bg, patch_renderer=patch_renderer)
        loss = objective.backward(canvas, params)
        opt.step()
        with torch.no_grad():
            params.data = torch.nan_to_num(params.data, nan=0.5).clamp(0, 1)
            if options.style_mode == "color":
                params.data[:, shape_cols] = original[:, shape_cols]
        if it % 5 == 0 or it == iterations - 1:
            yield Progress(fraction=(it + 1) / iterations, level=last, loss=loss)
    meta = dict(strokes.meta)
    meta.update(_style_meta(options))
    result = StrokeSet(spec.name, strokes.width, strokes.height, params.detach().cpu().numpy().astype(np.float32),
                       strokes.level.copy(), strokes.background, meta)
    yield LevelDone(level=last, strokes=result, painted=result)
    yield Done(strokes=result, seconds=time.perf_counter() - start)


def run(image: np.ndarray, options: PaintOptions, **kwargs) -> StrokeSet:
    """Paint to completion and return the strokes (for scripts and tests)."""
    result = None
    for event in paint(image, options, **kwargs):
        if isinstance(event, Done):
            result = event.strokes
    assert result is not None
    return result
