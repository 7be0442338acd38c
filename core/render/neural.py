"""Dual-pathway neural stroke renderer (Zou et al. 2021, Sec. 3.2), sized for a CPU.

A *rasterization* network maps a stroke's shape parameters to its coverage mask, and a
*shading* network maps all its parameters to its colour field; the stroke's foreground
is colour x mask and its alpha is the stroke's alpha x mask. Both are trained to
imitate the reference renderer (:mod:`core.reference`).

Unlike the paper, which renders every stroke over a whole 128 px block, each stroke is
rendered in its own *frame*: the square around its bounding box, with the stroke
re-expressed in the frame's coordinates ("local" parameters). Position and scale drop
out, so the network only has to learn a stroke's form (a box's aspect and angle, a
curve's bend and taper), every stroke gets all of the network's pixels whatever its
size, and the output is resampled onto the canvas patch the analytic renderer would
use. That is what makes 64 px outputs enough, and 4x cheaper than 128 px on a CPU.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model.colour import linear_to_srgb, srgb_to_linear
from ..errors import PainterError
from .raster import Patches, render_patches, stroke_bounds
from .reference import stroke_layers
from ..contracts.styles import MIN_RADIUS, StyleSpec, get_style
from ..model.geometry import taper, to_geometry

FORMAT = "neural-painter/renderer"
FORMAT_VERSION = 1
OUTPUT_PX = 64
#: Frame side = stroke span x FRAME_GROW + FRAME_PAD_PX canvas pixels, so edge ramps fit.
FRAME_GROW = 1.1
FRAME_PAD_PX = 3.0
ARCHES = ("dual", "raster", "shading")
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"


# -- frames and local parameters ------------------------------------------------------

def frames(style: str, params: torch.Tensor, extent: tuple[float, float],
           pad: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre [N, 2] and side [N] (long-side units) of each stroke's square frame.

    Not differentiable: a frame is only where the network is asked to look; the
    gradient reaches the stroke through its local parameters.
    """
    with torch.no_grad():
        b = stroke_bounds(style, params, extent)
        centre = (b[:, :2] + b[:, 2:]) / 2
        span = (b[:, 2:] - b[:, :2]).amax(dim=1)
        return centre, span * FRAME_GROW + pad


def to_local(style: str, params: torch.Tensor, extent: tuple[float, float],
             centre: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
    """The same strokes as parameters on a unit canvas covering exactly their frames."""
    spec = get_style(style)
    ex, ey = extent
    local = params.clone()
    for columns, scale, axis in ((spec.x_columns, ex, 0), (spec.y_columns, ey, 1)):
        for i in columns:
            local[:, i] = (params[:, i] * scale - centre[:, axis]) / side + 0.5
    a, b = spec.cols.size.start, spec.cols.size.start + 1
    if spec.is_curve:
        r0, r2 = taper(params[:, a], params[:, b])
        local[:, a] = r0 / side
        local[:, b] = r2 / side
    else:
        local[:, a] = params[:, a].clamp_min(2 * MIN_RADIUS) / side
        local[:, b] = params[:, b].clamp_min(2 * MIN_RADIUS) / side
    return local


def sample_local(style: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """Random strokes in local parameters: the training distribution.

    Forms cover what the painter makes (it places strokes a block long, 0.15 to 0.75
    as thick as long, straight or bent, then lets gradient descent reshape them) and
    more; colours and alpha are uniform.
    """
    spec = get_style(style)
    u = torch.rand(n, 12, generator=generator)
    p = torch.rand(n, spec.dim, generator=generator)
    length = 0.05 + 0.45 * u[:, 0]
    angle = u[:, 1] * 2 * math.pi
    cols = spec.cols
    if spec.is_curve:
        c = torch.full((n, 2), 0.5)
        d = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * length[:, None] / 2
        bend = (u[:, 2] - 0.5) * 1.2 * length
        normal = torch.stack([-torch.sin(angle), torch.cos(angle)], 1)
        # One stroke in five: ends asymmetric about the middle control point.
        skew = torch.where(u[:, 3:4] < 0.2, (u[:, 4:6] - 0.5) * length[:, None], torch.zeros(n, 2))
        p[:, cols.point(0)] = c - d + skew
        p[:, cols.point(1)] = c + normal * bend[:, None]
        p[:, cols.point(2)] = c + d
        thick = length * (0.03 + 0.5 * u[:, 6])
        p[:, cols.size.start] = thick * (0.5 + 0.5 * u[:, 7])
        p[:, cols.size.start + 1] = thick * (0.5 + 0.5 * u[:, 8])
    else:
        p[:, cols.position] = 0.5
        thick = length * (0.05 + 0.95 * u[:, 6] ** 1.5)
        swap = u[:, 7] < 0.5
        p[:, cols.size.start] = torch.where(swap, thick, length)
        p[:, cols.size.start + 1] = torch.where(swap, length, thick)
        p[:, cols.angle] = u[:, 1]
    p[:, cols.alpha] = 0.3 + 0.7 * u[:, 9]
    # Small strokes get a relatively wider pixel margin in their frame.
    span_px = torch.exp(math.log(6.0) + u[:, 10] * math.log(256 / 6.0))
    centre, side = frames(style, p, (1.0, 1.0), 0.0)
    side = side + side / FRAME_GROW * FRAME_PAD_PX / span_px
    return to_local(style, p, (1.0, 1.0), centre, side)


# -- network inputs -------------------------------------------------------------------

def shape_inputs(spec: StyleSpec, local: torch.Tensor) -> torch.Tensor:
    """What the rasterization pathway sees: shape only, centred on 0."""
    cols = spec.cols
    if spec.is_curve:
        shape = torch.cat([local[:, cols.position], local[:, cols.size]], 1)
        return (shape - local.new_tensor([0.5] * 6 + [0.1, 0.1])) * local.new_tensor([2.0] * 6 + [5.0, 5.0])
    angle = local[:, cols.angle] * math.pi  # angle, not 2 x angle: oil texture runs from start to end
    size = local[:, cols.size]
    return torch.stack([size[:, 0] * 2 - 0.5, size[:, 1] * 2 - 0.5, torch.cos(angle), torch.sin(angle)], 1)


def colour_inputs(spec: StyleSpec, local: torch.Tensor) -> torch.Tensor:
    return (torch.cat([local[:, spec.cols.colour_start], local[:, spec.cols.colour_end]], 1) - 0.5) * 2


# -- networks -------------------------------------------------------------------------

class _Upsample(nn.Sequential):
    """x2 by pixel shuffle (sharp edges from a learned sub-pixel layout), then a 3x3 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class RasterNet(nn.Module):
    """Parameters -> sharp maps at OUTPUT_PX: fully connected to 8x8, then pixel shuffles."""

    def __init__(self, d_in: int, out_ch: int, width: int = 256, base: int = 64, out_px: int = OUTPUT_PX) -> None:
        super().__init__()
        self.base = base
        self.fc = nn.Sequential(nn.Linear(d_in, width), nn.ReLU(inplace=True),
                                nn.Linear(width, width), nn.ReLU(inplace=True),
                                nn.Linear(width, base * 64), nn.ReLU(inplace=True))
        ups, ch, px = [], base, 8
        while px < out_px:
            ups.append(_Upsample(ch, max(8, ch // 2)))
            ch, px = max(8, ch // 2), px * 2
        self.up = nn.Sequential(*ups)
        self.head = nn.Conv2d(ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.fc(x).view(-1, self.base, 8, 8)))


class ShadingNet(nn.Module):
    """Parameters -> smooth maps: a small decoder to 16x16, bilinear up to OUTPUT_PX.

    Colour varies slowly along a stroke, so the shading pathway spends its pixels
    coarsely; the detail of where the stroke ends is the mask's job.
    """

    def __init__(self, d_in: int, out_ch: int, width: int = 128, base: int = 32, out_px: int = OUTPUT_PX) -> None:
        super().__init__()
        self.base, self.out_px = base, out_px
        self.fc = nn.Sequential(nn.Linear(d_in, width), nn.ReLU(inplace=True),
                                nn.Linear(width, width), nn.ReLU(inplace=True),
                                nn.Linear(width, base * 16), nn.ReLU(inplace=True))
        self.conv = nn.Sequential(nn.Conv2d(base, base, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                  nn.Conv2d(base, base, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                  nn.Conv2d(base, out_ch, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.fc(x).view(-1, self.base, 4, 4))
        return F.interpolate(y, size=(self.out_px, self.out_px), mode="bilinear", align_corners=False)


class StrokeRenderer(nn.Module):
    """One style's renderer: local parameters -> (mask [N, S, S], sRGB colour [N, 3, S, S]).

    ``arch`` "dual" is the paper's design; "raster" and "shading" are the single-pathway
    ablations, one network of that kind predicting mask and colour from all parameters.
    """

    def __init__(self, style: str, arch: str = "dual", out_px: int = OUTPUT_PX) -> None:
        super().__init__()
        if arch not in ARCHES:
            raise PainterError(f"unknown renderer architecture {arch!r}: use one of {', '.join(ARCHES)}")
        self.spec = get_style(style)
        self.style, self.arch, self.out_px = style, arch, out_px
        d_shape = shape_inputs(self.spec, torch.zeros(1, self.spec.dim)).shape[1]
        d_all = d_shape + 6
        if arch == "dual":
            self.raster = RasterNet(d_shape, 1, out_px=out_px)
            self.shading = ShadingNet(d_all, 3, out_px=out_px)
        elif arch == "raster":
            self.single = RasterNet(d_all, 4, out_px=out_px)
        else:
            self.single = ShadingNet(d_all, 4, width=256, base=64, out_px=out_px)
        # Most of a frame is background, so a mask that starts at 0.5 everywhere is first
        # pushed hard towards 0, which can kill every ReLU of a single-pathway network
        # (its ablation runs collapsed to an empty output). Starting near 0 avoids that.
        with torch.no_grad():
            head = self.raster.head if arch == "dual" else \
                self.single.head if arch == "raster" else self.single.conv[-1]
            head.bias[0] = -3.0

    def forward(self, local: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = shape_inputs(self.spec, local)
        every = torch.cat([shape, colour_inputs(self.spec, local)], 1)
        if self.arch == "dual":
            mask_logit = self.raster(shape)[:, 0]
            colour = self.shading(every)
        else:
            out = self.single(every)
            mask_logit, colour = out[:, 0], out[:, 1:]
        return torch.sigmoid(mask_logit), torch.sigmoid(colour)

    def foreground(self, local: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Foreground sRGB [N, 3, S, S] = colour x mask, and alpha [N, S, S] = stroke alpha x mask."""
        mask, colour = self(local)
        a = local[:, self.spec.params.index("a")]
        return colour * mask[:, None], a[:, None, None] * mask


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- training targets -----------------------------------------------------------------

def reference_targets(style: str, local: torch.Tensor, out_px: int = OUTPUT_PX) -> tuple[torch.Tensor, torch.Tensor]:
    """Foreground sRGB [N, 3, S, S] and alpha [N, S, S] from the reference renderer."""
    n = local.shape[0]
    fg = np.zeros((n, 3, out_px, out_px), np.float32)
    alpha = np.zeros((n, out_px, out_px), np.float32)
    a_col = get_style(style).params.index("a")
    a_param = local[:, a_col].detach().cpu().numpy()
    geometry = to_geometry(style, local.detach().cpu(), out_px, out_px)
    for i, (y0, y1, x0, x1, a, c) in stroke_layers(geometry, out_px, out_px):
        alpha[i, y0:y1, x0:x1] = a
        mask = a / max(float(a_param[i]), 1e-6)
        srgb = linear_to_srgb(np.stack([np.broadcast_to(np.asarray(ch, np.float64), a.shape) for ch in c]))
        fg[i, :, y0:y1, x0:x1] = srgb * mask[None]
    return torch.from_numpy(fg), torch.from_numpy(alpha)


def analytic_targets(style: str, local: torch.Tensor, out_px: int = OUTPUT_PX) -> tuple[torch.Tensor, torch.Tensor]:
    """The same targets from the batched analytic renderer: what training runs on.

    It draws the reference renderer's appearance model (44 to 113 dB apart, see
    tests/core/test_raster.py) at a fraction of the cost, batched in torch.
    """
    n = local.shape[0]
    with torch.no_grad():
        bounds = local.new_tensor([[0.0, 0.0, 1.0, 1.0]]).expand(n, 4)
        patches = Patches(bounds, out_px, out_px, out_px, max_patch=out_px)
        patches.size = out_px
        patches.x0 = np.zeros(n, np.int64)
        patches.y0 = np.zeros(n, np.int64)
        alpha, colour = render_patches(style, local, patches, (1.0, 1.0))
        a = local[:, get_style(style).params.index("a")].clamp_min(1e-6)
        mask = alpha / a[:, None, None]
        fg = linear_to_srgb(colour).permute(0, 3, 1, 2) * mask[:, None]
    return fg.contiguous(), alpha.contiguous()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


@dataclass
class Accuracy:
    foreground_db: float
    alpha_db: float
    strokes: int


def evaluate(model: StrokeRenderer, local: torch.Tensor, fg: torch.Tensor, alpha: torch.Tensor,
             batch: int = 250) -> Accuracy:
    """PSNR of foreground and alpha over held-out strokes (all pixels of all frames)."""
    model.eval()
    fg_se = al_se = 0.0
    with torch.no_grad():
        for s in range(0, local.shape[0], batch):
            f, a = model.foreground(local[s:s + batch])
            fg_se += float(((f - fg[s:s + batch]) ** 2).sum())
            al_se += float(((a - alpha[s:s + batch]) ** 2).sum())
    model.train()

    def db(se: float, count: int) -> float:
        return float("inf") if se == 0 else 10 * math.log10(count / se)
    return Accuracy(db(fg_se, fg.numel()), db(al_se, alpha.numel()), local.shape[0])


# -- weights files --------------------------------------------------------------------

def default_weights_path(style: str) -> Path:
    return Path(os.environ.get("NEURAL_PAINTER_WEIGHTS", str(WEIGHTS_DIR))) / f"{style}.pt"


def save_weights(model: StrokeRenderer, path: str | os.PathLike, meta: dict,
                 extra: dict | None = None) -> None:
    """Weights in half precision (the shipped files stay small) plus what made them.

    Written to a temporary file and renamed, so an interrupted save never leaves a
    truncated file where a good one was.
    """
    path = Path(path)
    state = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    blob = {"format": FORMAT, "version": FORMAT_VERSION, "style": model.style, "arch": model.arch,
            "out_px": model.out_px, "state": state, "meta": meta}
    if extra:
        blob.update(extra)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def _fix(path: Path, style: str) -> str:
    return f"run `python -m core train --style {style} --out {path}` or restore it from the repository"


def load_renderer(style: str | StyleSpec, path: str | os.PathLike | None = None, device: str | torch.device = "cpu"
                  ) -> StrokeRenderer:
    """The trained renderer for ``style``; every way a file can be wrong is one clear line."""
    spec = get_style(style)
    if spec.brush is not None:
        raise PainterError(f"the neural renderer has no weights for a brush (this painting's is {spec.brush.name}): "
                           "it learnt each style's own look; use --renderer analytic")
    p = Path(path) if path is not None else default_weights_path(spec.name)
    if not p.is_file():
        raise PainterError(f"neural renderer weights {p} are missing: {_fix(p, spec.name)}, "
                           "or use --renderer analytic")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and EOF errors all mean the same to a user
        raise PainterError(f"neural renderer weights {p} are corrupt ({type(exc).__name__}): "
                           f"{_fix(p, spec.name)}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise PainterError(f"{p} is not a Neural Painter renderer weights file: {_fix(p, spec.name)}")
    if blob.get("version") != FORMAT_VERSION:
        raise PainterError(f"{p} has weights format version {blob.get('version')}, this version reads "
                           f"{FORMAT_VERSION}: {_fix(p, spec.name)}")
    if blob.get("style") != spec.name:
        raise PainterError(f"{p} holds weights for style {blob.get('style')!r}, not {spec.name!r}: "
                           f"pass the {spec.name} file or {_fix(p, spec.name)}")
    try:
        model = StrokeRenderer(spec.name, str(blob.get("arch", "dual")), int(blob.get("out_px", OUTPUT_PX)))
        model.load_state_dict({k: v.float() for k, v in blob["state"].items()})
    except (RuntimeError, KeyError, TypeError, ValueError, PainterError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PainterError(f"{p} does not match this version's {spec.name} network ({first[:120]}): "
                           f"{_fix(p, spec.name)}") from None
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    return model.to(device)


# -- rendering strokes on canvas patches ----------------------------------------------

class PatchRenderer:
    """Drop-in for :func:`core.raster.render_patches` that draws through a network.

    Each stroke's frame is rendered at the network's size and resampled onto its canvas
    patch; a frame much larger than the patch is first box-filtered down (a mip level)
    so small strokes are averaged, not point-sampled.
    """

    def __init__(self, model: StrokeRenderer) -> None:
        self.model = model

    def __call__(self, style: str, params: torch.Tensor, patches, extent: tuple[float, float]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        spec = model.spec
        n = params.shape[0]
        pix = 1.0 / patches.long_px
        centre, side = frames(style, params, extent, FRAME_PAD_PX * pix)
        if not spec.is_curve:
            # A box's frame is centred on the box, and its network never sees the centre
            # (always the frame's middle), so the box moves by moving its frame: the
            # centre must carry the position's gradient, through the resampling grid.
            ex, ey = extent
            at = params[:, spec.cols.position] * params.new_tensor([ex, ey])
            centre = centre + (at - at.detach())
        local = to_local(style, params, extent, centre, side)
        mask, colour = model(local)
        maps = torch.cat([mask[:, None], srgb_to_linear(colour)], 1)  # [N, 4, S, S]
        px, py = patches.pixel_centres(params.device)  # [N, 1, P], [N, P, 1]
        gx = ((px - centre[:, 0, None, None]) / side[:, None, None] * 2).expand(-1, patches.size, -1)
        gy = ((py - centre[:, 1, None, None]) / side[:, None, None] * 2).expand(-1, -1, patches.size)
        grid = torch.stack([gx, gy], -1)
        frame_px_per_pixel = (model.out_px * pix / side).detach().cpu().numpy()
        mip = np.clip(np.floor(np.log2(np.maximum(frame_px_per_pixel, 1.0))), 0, 4).astype(int)
        out = maps.new_zeros(n, 4, patches.size, patches.size)
        for k in np.unique(mip).tolist():
            sel = torch.as_tensor(np.nonzero(mip == k)[0], device=params.device)
            level = maps[sel] if k == 0 else F.avg_pool2d(maps[sel], 2 ** k)
            out = out.index_copy(0, sel, F.grid_sample(level, grid[sel], mode="bilinear",
                                                       padding_mode="zeros", align_corners=False))
        a = params[:, spec.params.index("a")]
        alpha = a[:, None, None] * out[:, 0]
        # Outside the frame the colour is unknown but irrelevant (zero alpha there).
        return alpha, out[:, 1:].permute(0, 2, 3, 1)


# -- training -------------------------------------------------------------------------

@dataclass
class TrainOptions:
    style: str
    out: Path
    steps: int = 12000
    batch: int = 48
    lr: float = 1e-3
    seed: int = 0
    arch: str = "dual"
    val_strokes: int = 2000
    val_every: int = 500
    resume: bool = False
    quick: bool = False
    threads: int | None = None
    minutes: float | None = None  # stop early (and save) after this long

    def validate(self) -> None:
        get_style(self.style)
        if self.arch not in ARCHES:
            raise PainterError(f"--arch {self.arch!r} is unknown: use one of {', '.join(ARCHES)}")
        if not 1 <= self.steps <= 10_000_000:
            raise PainterError(f"--steps {self.steps} is out of range: use 1 to 10000000")
        if not 1 <= self.batch <= 4096:
            raise PainterError(f"--batch {self.batch} is out of range: use 1 to 4096")
        if not (0 < self.lr < 1):
            raise PainterError(f"--lr {self.lr} is out of range: use a value between 0 and 1")
        if self.val_strokes < 1 or self.val_every < 1:
            raise PainterError("--val-strokes and --val-every must be at least 1")
        parent = Path(self.out).resolve().parent
        if not parent.is_dir():
            raise PainterError(f"output directory {parent} does not exist; create it or choose another --out")


def checkpoint_path(out: Path) -> Path:
    return Path(str(out) + ".ckpt")


def _lr_at(step: int, total: int, peak: float) -> float:
    """Short warm-up, then cosine decay to 2% of the peak."""
    warm = max(1, min(200, total // 20))
    if step < warm:
        return peak * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def held_out(style: str, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validation strokes (a seed stream training never draws from) and reference targets."""
    gen = torch.Generator().manual_seed(1_000_003 + seed)
    local = sample_local(style, count, gen)
    fg, alpha = reference_targets(style, local)
    return local, fg, alpha


def train(options: TrainOptions, log: Callable[[str], None] = print) -> dict:
    """Train one style's renderer; returns the final accuracy and timings.

    The weights file (``out``) is rewritten at every validation, so an interrupted run
    keeps its best-so-far; ``out.ckpt`` adds the optimiser state for ``--resume``.
    """
    options.validate()
    if options.quick:
        options.steps = min(options.steps, 60)
        options.batch = min(options.batch, 16)
        options.val_strokes = min(options.val_strokes, 64)
        options.val_every = min(options.val_every, 30)
    if options.threads:
        torch.set_num_threads(options.threads)
    out = Path(options.out)
    torch.manual_seed(options.seed)
    model = StrokeRenderer(options.style, options.arch)
    opt = torch.optim.Adam(model.parameters(), lr=options.lr)
    step, elapsed, history = 0, 0.0, []
    ckpt = checkpoint_path(out)
    if options.resume:
        if not ckpt.is_file():
            raise PainterError(f"cannot resume: {ckpt} does not exist; train without --resume first")
        try:
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step, elapsed, history = int(state["step"]), float(state["elapsed"]), list(state["history"])
        except Exception as exc:
            raise PainterError(f"cannot resume from {ckpt} ({type(exc).__name__}): delete it and train "
                               "without --resume") from None
        if state.get("style") != options.style or state.get("arch") != options.arch:
            raise PainterError(f"{ckpt} is a {state.get('style')}/{state.get('arch')} checkpoint, not "
                               f"{options.style}/{options.arch}: use matching --style/--arch or delete it")
        log(f"resumed at step {step} ({elapsed / 60:.1f} min trained)")
    val = held_out(options.style, options.val_strokes, options.seed)
    # The training stream depends on the step, so a resumed run continues the same data.
    log(f"{options.style} {options.arch}: {parameter_count(model):,} parameters, "
        f"{options.steps} steps of {options.batch} strokes, {OUTPUT_PX} px")

    def record() -> Accuracy:
        acc = evaluate(model, *val)
        history.append({"step": step, "seconds": round(elapsed, 1), "foreground_db": round(acc.foreground_db, 2),
                        "alpha_db": round(acc.alpha_db, 2)})
        return acc

    def save(final: bool = False) -> Accuracy:
        acc = record()
        meta = {"style": options.style, "arch": options.arch, "steps": step, "batch": options.batch,
                "lr": options.lr, "seed": options.seed, "train_seconds": round(elapsed, 1),
                "threads": torch.get_num_threads(), "val_strokes": acc.strokes,
                "foreground_db": round(acc.foreground_db, 2), "alpha_db": round(acc.alpha_db, 2),
                "parameters": parameter_count(model), "torch": str(torch.__version__),
                "data": "sample_local strokes drawn by core.raster (reference appearance model)",
                "date": time.strftime("%Y-%m-%d")}
        save_weights(model, out, meta)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "elapsed": elapsed, "history": history, "style": options.style, "arch": options.arch},
                   ckpt)
        log(f"step {step}/{options.steps} {elapsed / 60:.1f} min: validation foreground "
            f"{acc.foreground_db:.2f} dB, alpha {acc.alpha_db:.2f} dB" + (" (final)" if final else ""))
        return acc

    acc = None
    if step == 0:
        # The untrained baseline, so the history shows what training bought. Not saved:
        # an interrupted run must never replace a good weights file with a worse one.
        base = record()
        log(f"step 0: validation foreground {base.foreground_db:.2f} dB, alpha {base.alpha_db:.2f} dB")
    model.train()
    while step < options.steps:
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(options.seed * 1_000_000_007 + step)
        local = sample_local(options.style, options.batch, gen)
        fg_t, al_t = analytic_targets(options.style, local)
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, options.steps, options.lr)
        fg, al = model.foreground(local)
        loss = F.mse_loss(fg, fg_t) + F.mse_loss(al, al_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        elapsed += time.perf_counter() - t0
        if step % 100 == 0 and step % options.val_every:
            log(f"step {step}/{options.steps} loss {loss.item():.5f} ({elapsed / step * 1000:.0f} ms/step)")
        out_of_time = options.minutes is not None and elapsed >= options.minutes * 60
        if step % options.val_every == 0 or step == options.steps or out_of_time:
            acc = save(final=step == options.steps or out_of_time)
        if out_of_time:
            break
    if acc is None or history[-1]["step"] != step:
        acc = save(final=True)
    return {"style": options.style, "arch": options.arch, "steps": step, "seconds": elapsed,
            "foreground_db": acc.foreground_db, "alpha_db": acc.alpha_db, "history": history}
