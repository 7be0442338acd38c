"""Temporal painter: each frame of a shot starts from the previous frame's strokes.

Painting every frame from scratch flickers: the optimiser finds a different, equally
good set of strokes each time. Here the first frame is painted as a still is, and each
later frame

1. moves the previous strokes along the optical flow between the two source frames
   (:func:`core.flow.warp_params`), so strokes travel with what moves and stay put
   where the picture is still;
2. drops strokes that left the canvas and strokes whose footprint the forward-backward
   check finds covered in the new frame;
3. re-optimises all strokes together, briefly, in painting order, with a penalty on
   change from where the flow put them (:func:`reoptimise_strokes`);
4. adds strokes where the error grew (newly visible parts of the picture), on top of
   the painting, recycling strokes that nothing shows any more when the budget is
   full, so the stroke count stays within 10% of the budget.

Every stroke carries an id (``StrokeSet.ids``): a stroke born in frame f has an id in
[f * ID_STRIDE, (f + 1) * ID_STRIDE), and it keeps it for as long as it lives.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from . import raster
from .devices import pick_device
from .errors import PainterError
from .events import Done, LevelDone, Progress
from .flow import occlusion, optical_flow, reliable_flow, sample_field, warp_image, warp_params
from .painter import (PaintOptions, _blur, _Level, _Objective, _optimizer, _patch_renderer, _resize, _rounds,
                      _ScaledAdam, DEFAULT_CANDIDATES, DEFAULT_OT_WEIGHT, default_levels, load_style_loss, paint)
from .strokes import StrokeSet
from .styles import MIN_RADIUS, colour_slices, get_style

#: Ids of strokes born in frame f lie in [f * ID_STRIDE, (f + 1) * ID_STRIDE).
ID_STRIDE = 100_000
#: Strokes born in a warm-up frame (painted to settle a farm chunk, then discarded)
#: take ids from the upper half of their frame's range, so they never collide with
#: strokes born in the same frame by the chunk that keeps it.
WARMUP_ID_OFFSET = ID_STRIDE // 2


@dataclass
class TemporalOptions:
    """How a frame follows the previous one. Defaults measured in benchmarks/RESULTS.md."""

    iterations: int = 8  # joint re-optimisation steps per frame
    reopt_levels: int = 2  # re-optimise the strokes of the finest levels (and added ones); 0: all
    reopt: str = "rounds"  # "rounds" of 16 strokes or "joint" (see reoptimise_strokes)
    step_px: float = 0.3  # largest move of a position or size per step, px (cosine-decayed)
    colour_step: float = 0.01  # largest change of a colour or alpha per step
    change_weight: float = 1.0  # penalty on change from the warped start (see reoptimise_strokes)
    colour_unit: float = 0.02  # a colour change this big costs as much as a 1 px move
    grow_threshold: float = 0.06  # blurred error rise (0..1) that marks newly visible content
    covered_fraction: float = 0.5  # drop a stroke when this much of it is covered in the new frame
    active_threshold: float = 0.01  # re-optimise strokes where the blurred error rose by more than this
    torn_threshold: float = 0.08  # drop (and repaint) fine strokes where it rose by more than this
    add_iterations: int = 15  # optimisation steps for strokes added in a frame
    max_new_fraction: float = 0.1  # at most this share of the budget is added per frame
    min_fraction: float = 0.92  # top the count up to this share of the budget
    refresh_margin: float = 0.02  # refresh when the error is this much above the first frame's
    refresh_fraction: float = 0.02  # share of the budget recycled per frame by a refresh
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if not 0 <= self.iterations <= 1000:
            raise PainterError(f"--reopt-iterations {self.iterations} is out of range: use 0 to 1000")
        if self.reopt not in ("rounds", "joint"):
            raise PainterError(f"--reopt {self.reopt!r} is unknown: use rounds or joint")
        if not (self.change_weight >= 0 and math.isfinite(self.change_weight)):
            raise PainterError(f"--change-weight must be a number >= 0, got {self.change_weight}")


@dataclass
class FrameStats:
    """What happened to the strokes between two frames."""

    kept: int = 0
    left: int = 0  # moved off the canvas
    covered: int = 0  # hidden in the new frame (forward-backward check), or torn (error rose a lot)
    recycled: int = 0  # invisible strokes dropped to make room for new ones
    reoptimised: int = 0  # strokes that took re-optimisation steps
    refreshed: int = 0  # strokes recycled because the whole frame's error rose
    added: int = 0
    seconds: float = 0.0
    flow_seconds: float = 0.0
    mean_flow_px: float = 0.0

    def text(self) -> str:
        return (f"{self.kept} kept ({self.reoptimised} re-optimised), {self.added} added "
                f"({self.refreshed} to refresh), {self.left} left, {self.covered} covered, {self.recycled} recycled")


def born_ids(frame: int, count: int, warmup: bool = False) -> np.ndarray:
    """Ids for ``count`` strokes born in ``frame`` (see :data:`ID_STRIDE`)."""
    if count > WARMUP_ID_OFFSET:
        raise PainterError(f"cannot add {count} strokes in one frame: at most {WARMUP_ID_OFFSET}")
    base = frame * ID_STRIDE + (WARMUP_ID_OFFSET if warmup else 0)
    return base + np.arange(count, dtype=np.int64)


def _frame_generator(seed: int, frame: int) -> torch.Generator:
    """Randomness of one frame depends on the seed and the frame only, so a frame painted
    after a restart is the frame an uninterrupted run paints."""
    return torch.Generator().manual_seed((seed * 1_000_003 + frame * 7919) % (2 ** 63))


def canvas_target(image: np.ndarray, width: int, height: int, device: torch.device) -> torch.Tensor:
    """The source frame area-averaged to the canvas, [H, W, 3] on ``device``."""
    img = np.nan_to_num(np.asarray(image, np.float32), nan=0.0).clip(0, 1)
    return _resize(torch.from_numpy(np.ascontiguousarray(img)).to(device), height, width)


def paint_first(image: np.ndarray, options: PaintOptions, frame: int, warmup: bool = False) -> Iterator:
    """The first frame, painted as a still is; its strokes get ids. Yields the painter's events.

    The painting's mean error goes into ``meta["key_error"]``, which later frames carry
    along: it is the level of fidelity they keep the shot at (see ``refresh_margin``)."""
    for event in paint(image, options):
        if isinstance(event, (LevelDone, Done)):
            s = event.painted if isinstance(event, LevelDone) else event.strokes
            s.ids = born_ids(frame, len(s), warmup)
            s.meta["frame"] = frame
        if isinstance(event, Done):
            s = event.strokes
            target = canvas_target(image, s.width, s.height, torch.device("cpu"))
            with torch.no_grad():
                canvas = raster.render(s.style, torch.from_numpy(s.params), s.width, s.height, background=s.background)
            s.meta["key_error"] = round(float((canvas - target).abs().mean()), 6)
        yield event


# ---------------------------------------------------------------------------------------
# The joint re-optimisation of a whole stroke set
# ---------------------------------------------------------------------------------------

def _pixel_units(style: str, start: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """[N, D]: how much of each parameter is one pixel of movement (or one ``colour_unit``
    of colour, filled in by the caller), so steps and penalties are in pixels."""
    spec = get_style(style)
    long_px = float(max(width, height))
    unit = torch.full_like(start, 1.0 / long_px)
    names = spec.params
    for i, name in enumerate(names):
        if name.startswith("x") or name == "cx":
            unit[:, i] = 1.0 / width
        elif name.startswith("y") or name == "cy":
            unit[:, i] = 1.0 / height
    if "theta" in names:
        # An angle step that moves the stroke's ends by one pixel.
        half_long = torch.maximum(start[:, 2], start[:, 3]).clamp_min(2 * MIN_RADIUS) / 2 * long_px
        unit[:, names.index("theta")] = 1.0 / (math.pi * half_long.clamp_min(1.0))
    return unit


def _angle_delta(spec, delta: torch.Tensor) -> torch.Tensor:
    """Parameter differences with the angle taken the short way round (theta wraps at 1)."""
    if "theta" in spec.params:
        i = spec.params.index("theta")
        delta = delta.clone()
        delta[:, i] = torch.remainder(delta[:, i] + 0.5, 1.0) - 0.5
    return delta


def _project(spec, p: torch.Tensor) -> torch.Tensor:
    """Valid parameters; unlike the painter's projection no size cap, since a stroke on a
    zooming surface legitimately grows past its level's block."""
    with torch.no_grad():
        p = p.clamp(0.0, 1.0)
        names = spec.params
        if names[0] == "x0":
            p[:, 6:8] = p[:, 6:8].clamp_min(MIN_RADIUS)
        else:
            p[:, 2:4] = p[:, 2:4].clamp_min(2 * MIN_RADIUS)
        a = names.index("a")
        p[:, a] = p[:, a].clamp(0.3, 1.0)
    return p


def reoptimise_strokes(style: str, params: torch.Tensor, target: torch.Tensor,
                       background: tuple[float, float, float], options: PaintOptions,
                       topts: TemporalOptions, start: torch.Tensor | None = None, style_loss=None,
                       patch_renderer=None, frozen: int = 0, movable: torch.Tensor | None = None,
                       round_size: int | None = None) -> torch.Tensor:
    """Re-optimise a whole stroke set, in painting order, near where it started.

    With ``round_size`` None all strokes are optimised together (not level by level or
    round by round): the canvas is rendered from the background with every stroke in
    its painting order, and the loss is the painter's content loss (pixel L1, plus OT
    and style when the options ask for them) plus a penalty on change from ``start``
    (default: ``params`` as given, i.e. where the flow put them). ``frozen`` > 0 keeps
    the first ``frozen`` strokes (a prefix in painting order, so compositing stays
    exact) as they are: they are painted once into the canvas the others are optimised
    over (the temporal painter freezes the coarse levels this way; 0 optimises every
    stroke). ``movable`` (bool [N]) keeps the strokes marked False where they are while
    still painting them in their place.

    The penalty is

        change = topts.change_weight / (H * W) * sum_i sum_c (delta_ic / unit_ic) ** 2

    with ``unit`` one pixel of movement for positions, sizes and angles (an angle unit
    moves the stroke's ends by a pixel) and ``topts.colour_unit`` for colours and
    alpha; per pixel of canvas, so its weight does not depend on the canvas size.
    Steps are Adam's, scaled per parameter to at most ``topts.step_px`` px (colours
    ``topts.colour_step``) and decayed to zero by a half cosine over
    ``topts.iterations`` steps, so a frame with little to correct barely moves and one
    that needs it moves up to a few pixels. Returns the new parameters (detached, same
    device); painting order is never changed.

    ``round_size`` = k runs the same optimisation round by round, as the painter
    paints: consecutive groups of k strokes in painting order, each over the canvas of
    every stroke before it (re-optimised already), the strokes after it left out. A
    joint step over hundreds of overlapping strokes costs hundreds of sequential
    compositing waves in the current renderer, a round a handful, so rounds are
    several times cheaper per step (benchmarks/RESULTS.md has both); the price is that
    a stroke does not see the strokes that will cover it. A round without a movable
    stroke costs only its exact render into the canvas.

    This is the temporal counterpart of a still painting's joint refinement pass: the
    same function with ``change_weight`` 0 refines a painting in place.
    """
    spec = get_style(style)
    n = params.shape[0]
    frozen = min(max(0, frozen), n)
    if n == frozen or topts.iterations == 0:
        return params.detach().clone()
    start = params if start is None else start
    base = _frozen_canvas(spec, params[:frozen], target, background)
    objective = _objective(spec, target, options, style_loss)
    height, width = target.shape[:2]
    step = n - frozen if round_size is None else max(1, round_size)
    out = [params[:frozen].detach()]
    for lo in range(frozen, n, step):
        hi = min(n, lo + step)
        rows = None if movable is None else movable[lo:hi]
        if rows is not None and not bool(rows.any()):
            moved = params[lo:hi].detach()
        else:
            moved = _reopt_loop(spec, params[lo:hi], start[lo:hi], base, objective, topts, patch_renderer, rows)
        if hi < n:
            with torch.no_grad():
                base = raster.render(spec.name, moved, width, height, base=base)
        out.append(moved)
    return torch.cat(out)


def _frozen_canvas(spec, params: torch.Tensor, target: torch.Tensor, background) -> torch.Tensor:
    """The background with ``params`` painted on it, without gradients."""
    height, width = target.shape[:2]
    bg = torch.tensor(background, dtype=torch.float32, device=target.device).expand(height, width, 3)
    if params.shape[0] == 0:
        return bg
    with torch.no_grad():
        return raster.render(spec.name, params.detach(), width, height, base=bg)


def _objective(spec, target: torch.Tensor, options: PaintOptions, style_loss) -> _Objective:
    ot_weight = DEFAULT_OT_WEIGHT[spec.name] if options.ot_weight is None else options.ot_weight
    return _Objective(spec, target, ot_weight, options, style_loss)


def _reopt_loop(spec, params: torch.Tensor, start: torch.Tensor, base: torch.Tensor, objective: _Objective,
                topts: TemporalOptions, patch_renderer, movable: torch.Tensor | None = None) -> torch.Tensor:
    """Optimise ``params`` over ``base`` with the change penalty; returns detached params.
    Rows where ``movable`` is False take no steps."""
    height, width = base.shape[:2]
    start = start.detach().clone()
    unit = _pixel_units(spec.name, start, width, height)
    c0, c2 = colour_slices(spec)
    colour_cols = sorted(set(c0 + c2 + [spec.params.index("a")]))
    unit[:, colour_cols] = topts.colour_unit
    step = unit * topts.step_px
    step[:, colour_cols] = topts.colour_step
    if movable is not None:
        step[~movable.to(step.device)] = 0.0
    p = params.detach().clone().requires_grad_(True)
    opt = _ScaledAdam([p], step.clone())
    penalty_scale = 2.0 * topts.change_weight / float(height * width)
    for it in range(topts.iterations):
        opt.zero_grad(set_to_none=True)
        canvas = raster.render(spec.name, p, width, height, base=base, patch_renderer=patch_renderer)
        objective.backward(canvas, p)
        with torch.no_grad():
            delta = _angle_delta(spec, p - start)
            p.grad += penalty_scale * delta / (unit * unit)  # type: ignore[operator]
        opt.column_lr = step * (0.5 + 0.5 * math.cos(math.pi * it / topts.iterations))
        opt.step()
        with torch.no_grad():
            p.data = _project(spec, torch.nan_to_num(p.data, nan=0.5))
    return p.detach()


# ---------------------------------------------------------------------------------------
# Helpers of one frame step
# ---------------------------------------------------------------------------------------

def stroke_visibility(style: str, params: torch.Tensor, width: int, height: int,
                      background: tuple[float, float, float], scale: float = 0.5) -> torch.Tensor:
    """How much of each stroke shows in the finished canvas, [N] in about pixels of a
    canvas ``scale`` times the size (ranking strokes needs no more).

    The canvas's derivative with respect to a stroke's colour is its alpha times what
    the strokes above it let through, so one backward pass of the canvas's sum gives
    every stroke's visible coverage at once; a stroke that later strokes hide
    completely scores zero.
    """
    spec = get_style(style)
    if params.shape[0] == 0:
        return torch.zeros(0)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    p = params.detach().clone().requires_grad_(True)
    canvas = raster.render(spec.name, p, w, h, background=background)
    canvas.sum().backward()
    c0, c2 = colour_slices(spec)
    grad = p.grad[:, sorted(set(c0 + c2))].abs().sum(1)  # type: ignore[index]
    return grad.detach() / 3.0


def _footprint_mean(style: str, params: np.ndarray, field: np.ndarray, width: int, height: int) -> np.ndarray:
    """Mean [N] of ``field`` ([H, W], float or bool) along each stroke's centre line: for a
    mask, the share of the stroke that lies on it."""
    strokes = StrokeSet(style, width, height, params, np.ones(len(params)))
    pts = strokes.geometry().points  # [N, K, 2] long-side units
    if pts.shape[1] == 2:  # box strokes: sample along the axis, not only the ends
        t = np.linspace(0, 1, 5)[None, :, None]
        pts = pts[:, :1] * (1 - t) + pts[:, 1:2] * t
    xy = pts * max(width, height)
    return sample_field(field.astype(np.float32)[..., None], xy.reshape(-1, 2)).reshape(len(params), -1).mean(1)


def _error_map(canvas: torch.Tensor, target: torch.Tensor, radius: int) -> np.ndarray:
    err = (canvas - target).abs().mean(-1)
    return _blur(err, radius).cpu().numpy()


def _add_strokes(spec, kept: torch.Tensor, target: torch.Tensor, base: torch.Tensor, count: int, grid: int,
                 gen: torch.Generator, options: PaintOptions, topts: TemporalOptions, style_loss,
                 patch_renderer) -> torch.Tensor:
    """``count`` new strokes where the painting is most wrong, optimised over the rest
    (frozen in ``base``) as the painter places a level's strokes."""
    lvl = _Level(spec, target, base, grid, gen, patch_renderer)
    ot_weight = DEFAULT_OT_WEIGHT[spec.name] if options.ot_weight is None else options.ot_weight
    objective = _Objective(spec, target, ot_weight, options, style_loss)
    placed = []
    for r_count in _rounds(count, int(options.extra.get("round", 16))):
        with torch.no_grad():
            new = lvl.place(r_count, lvl.base, int(options.extra.get("candidates", DEFAULT_CANDIDATES[spec.name])))
        params = new.clone().requires_grad_(True)
        opt = _optimizer(spec, params, lvl.block, options.extra)
        for _ in range(topts.add_iterations):
            opt.zero_grad(set_to_none=True)
            objective.backward(lvl.render(params), params)
            opt.step()
            with torch.no_grad():
                params.data = lvl.project(torch.nan_to_num(params.data, nan=0.5))
        with torch.no_grad():
            lvl.base = lvl.render(params.detach(), exact=True)
        placed.append(params.detach())
    return torch.cat(placed) if placed else kept.new_zeros(0, spec.dim)


def rounded(strokes: StrokeSet) -> StrokeSet:
    """The strokes exactly as their JSON stores them (6 decimals), so a frame painted
    after a restart from the file matches one painted from memory."""
    strokes.params = np.round(strokes.params.astype(np.float64), 6).astype(np.float32)
    return strokes


# ---------------------------------------------------------------------------------------
# One frame after another
# ---------------------------------------------------------------------------------------

def paint_next(prev: StrokeSet, prev_image: np.ndarray, image: np.ndarray, options: PaintOptions,
               topts: TemporalOptions, frame: int, budget: int | None = None, warmup: bool = False,
               flow_only: bool = False) -> Iterator[Progress | FrameStats | StrokeSet]:
    """Paint ``image`` (frame number ``frame``) starting from ``prev``, the painting of
    ``prev_image``. Yields Progress events, then the FrameStats, then the new StrokeSet.

    ``flow_only`` moves and drops strokes without re-optimising or adding any (a cheap
    way to carry a keyframe's strokes over many frames).
    """
    if prev.ids is None:
        raise PainterError("the previous frame's strokes have no ids; paint the shot with `paint-frames`")
    spec = get_style(prev.style)
    device = pick_device(options.device)
    budget = budget or options.strokes
    start_time = time.perf_counter()
    width, height = prev.width, prev.height
    stats = FrameStats()
    target = canvas_target(image, width, height, device)
    prev_target = canvas_target(prev_image, width, height, device)
    tgt_np, prev_np = target.cpu().numpy(), prev_target.cpu().numpy()
    t0 = time.perf_counter()
    flow = optical_flow(prev_np, tgt_np)
    flow_back = optical_flow(tgt_np, prev_np)
    covered_px = occlusion(prev_np, tgt_np, flow, flow_back)
    trust = reliable_flow(flow, flow_back)
    stats.flow_seconds = time.perf_counter() - t0
    stats.mean_flow_px = float(np.linalg.norm(flow, axis=-1).mean())
    yield Progress(fraction=0.1, level=0, loss=0.0)

    warped, left = warp_params(spec.name, prev.params, flow, width, height, trust)
    # Covered strokes are dropped from the finest levels only: a covered stroke of a
    # coarse level lies under finer ones and hides nothing, and dropping it would
    # leave a hole where the flow is merely unsure.
    finest = int(prev.level.max()) if len(prev.level) else 1
    fine = prev.level >= finest - max(1, topts.reopt_levels) + 1
    covered = _footprint_mean(spec.name, prev.params, covered_px, width, height) > topts.covered_fraction
    covered &= fine & ~left
    keep = ~(left | covered)
    stats.left, stats.covered = int(left.sum()), int(covered.sum())
    params = torch.from_numpy(warped[keep]).to(device)
    levels, ids = prev.level[keep], prev.ids[keep]
    meta = dict(prev.meta)
    meta["frame"] = frame
    if flow_only:
        stats.kept = int(keep.sum())
        stats.seconds = time.perf_counter() - start_time
        yield stats
        yield StrokeSet(spec.name, width, height, params.cpu().numpy(), levels, prev.background, meta, ids)
        return

    bg = tuple(float(c) for c in prev.background)
    style_loss = load_style_loss(options)
    patch_renderer = _patch_renderer(options, spec.name, device)
    # Where did the painting get worse than it was? The previous painting's error,
    # moved along the flow, is what a perfect carry-over would keep.
    grid = max(finest, default_levels(budget))
    radius = max(1, int(max(width, height) / grid / 8))
    with torch.no_grad():
        prev_canvas = raster.render(spec.name, torch.from_numpy(prev.params).to(device), width, height,
                                    background=bg)
        canvas = raster.render(spec.name, params, width, height, background=bg)
    err_before = warp_image(_error_map(prev_canvas, prev_target, radius)[..., None], flow_back)[..., 0]
    rise = _error_map(canvas, target, radius) - err_before
    # Only strokes of the finest levels where the error rose are re-optimised: the rest
    # already fit, and leaving them alone is what keeps a still picture still. Where it
    # rose a lot (a stroke left behind by an object that moved on, or torn across a
    # motion boundary), brief small steps cannot mend the stroke: it is dropped, and
    # the strokes added below repaint the place.
    fine_now = levels >= finest - topts.reopt_levels + 1 if topts.reopt_levels else np.ones(len(levels), bool)
    rise_at = _footprint_mean(spec.name, params.cpu().numpy(), np.maximum(rise, 0), width, height)
    torn = fine_now & (rise_at > topts.torn_threshold)
    if torn.any():
        params, levels, ids, fine_now, rise_at = (params[torch.from_numpy(~torn).to(device)], levels[~torn],
                                                  ids[~torn], fine_now[~torn], rise_at[~torn])
        stats.covered += int(torn.sum())
        with torch.no_grad():
            canvas = raster.render(spec.name, params, width, height, background=bg)
    active = fine_now & (rise_at > topts.active_threshold)
    stats.reoptimised = int(active.sum())
    if active.any():
        frozen = int(np.flatnonzero(fine_now)[0])
        params = reoptimise_strokes(spec.name, params, target, bg, options, topts, style_loss=style_loss,
                                    patch_renderer=patch_renderer, frozen=frozen, movable=torch.from_numpy(active),
                                    round_size=None if topts.reopt == "joint" else 16)
        with torch.no_grad():
            canvas = raster.render(spec.name, params, width, height, background=bg)
    yield Progress(fraction=0.6, level=0, loss=0.0)

    # Newly visible content: where the error still rose after re-optimising.
    err_now = _error_map(canvas, target, radius)
    grown = float((err_now > err_before + topts.grow_threshold).mean())
    count = params.shape[0]
    # (Rounded, not ceiled: a few pixels of noise on a still picture are not a stroke's worth.)
    want = min(round(grown * budget), math.ceil(topts.max_new_fraction * budget))
    want = max(want, math.ceil(topts.min_fraction * budget) - count)
    # A painting that follows the picture slowly loses fidelity where the change in one
    # frame is too small to notice (a zoom reveals detail bit by bit): when the whole
    # frame's error is above the first painting's, recycle a few strokes into the
    # places where the error is highest.
    error = float((canvas - target).abs().mean())
    key_error = prev.meta.get("key_error")
    if isinstance(key_error, (int, float)) and error > key_error * (1 + topts.refresh_margin):
        stats.refreshed = math.ceil(topts.refresh_fraction * budget)
        want += stats.refreshed
    recycle = max(0, count + want - budget)
    if recycle:
        # Make room: drop the strokes that show least (covered ones show nothing).
        vis = stroke_visibility(spec.name, params, width, height, bg)
        drop = torch.argsort(vis, stable=True)[:recycle].cpu().numpy()
        mask = np.ones(count, bool)
        mask[drop] = False
        params, levels, ids = params[torch.from_numpy(mask).to(device)], levels[mask], ids[mask]
        stats.recycled = recycle
        with torch.no_grad():
            canvas = raster.render(spec.name, params, width, height, background=bg)
    stats.kept = int(params.shape[0])
    if want > 0:
        gen = _frame_generator(options.seed, frame)
        new = _add_strokes(spec, params, target, canvas, want, grid, gen, options, topts, style_loss, patch_renderer)
        params = torch.cat([params, new])
        levels = np.concatenate([levels, np.full(len(new), grid, np.int32)])
        ids = np.concatenate([ids, born_ids(frame, len(new), warmup)])
        stats.added = int(len(new))
    yield Progress(fraction=1.0, level=0, loss=0.0)
    stats.seconds = time.perf_counter() - start_time
    yield stats
    clean = torch.nan_to_num(params, nan=0.5).clamp(0, 1).cpu().numpy()
    yield StrokeSet(spec.name, width, height, clean, levels, prev.background, meta, ids)


def stroke_motion(before: StrokeSet, after: StrokeSet) -> tuple[float, int]:
    """Mean movement in px (at the canvas size) of the strokes the two frames share, by
    id, over their geometry points; and how many strokes they share."""
    if before.ids is None or after.ids is None:
        raise PainterError("stroke motion needs stroke ids in both frames")
    common, ia, ib = np.intersect1d(before.ids, after.ids, return_indices=True)
    if len(common) == 0:
        return 0.0, 0
    long_px = max(before.width, before.height)
    pa = before.geometry().points[ia]
    pb = after.geometry().points[ib]
    moved = np.linalg.norm(pa - pb, axis=-1).mean(1)
    if pa.shape[1] == 2:
        # A box stroke's two points swap when its angle wraps round (theta 0.99 vs 0.01):
        # the same stroke, so measure against the nearer order.
        moved = np.minimum(moved, np.linalg.norm(pa - pb[:, ::-1], axis=-1).mean(1))
    return float(moved.mean() * long_px), int(len(common))
