"""Temporal painter: each frame of a shot starts from the previous frame's strokes.

Painting every frame from scratch flickers: the optimiser finds a different, equally
good set of strokes each time. Here the first frame is painted as a still is, and each
later frame

1. moves the previous strokes along the optical flow between the two source frames
   (:func:`core.flow.warp_params`), so strokes travel with what moves and stay put
   where the picture is still: a stroke mostly on something that moves on its own
   follows the flow, every other one the camera's motion alone;
2. drops strokes that left the canvas, fine strokes whose footprint the
   forward-backward check finds covered in the new frame, and fine strokes the flow
   could not carry (the error under them rose a lot);
3. adds strokes where the error grew (newly visible parts of the picture) and where
   it is highest, in the painter's greedy rounds, on top of the painting, recycling
   the strokes that show least when the budget is full, so the stroke count stays
   within 10% of the budget;
4. runs the painter's final joint pass over the new strokes, the kept strokes where
   the error rose, the fine ones on something that moves on its own, and the fine ones
   beside a gap that shows a stroke left behind by something that moved away
   (:func:`gaps_between_strokes`), every other stroke in its place, with a penalty on
   change from where the flow put them (:func:`joint_pass`), except on the new ones and
   those on what moves on its own: re-fitted freely from the flow's carry, those keep
   their place on the object and their id instead of being painted afresh.

What the added strokes and the joint pass fit is the frame blended, by
``TemporalOptions.keep_look`` (``keep_look_moving`` on what moves on its own), with the
previous painting carried along the flow where the flow holds both ways: new and
re-fitted strokes keep the look the last frame had.

Every stroke carries an id (``StrokeSet.ids``): a stroke born in frame f has an id in
[f * ID_STRIDE, (f + 1) * ID_STRIDE), and it keeps it for as long as it lives.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from ..contracts.options import PaintOptions, TemporalOptions
from ..contracts.styles import MIN_RADIUS, StyleSpec, get_style
from ..errors import PainterError
from ..model.strokes import StrokeSet
from ..render import raster
from .devices import pick_device
from .events import Done, LevelDone, Progress
from .flow import camera_motion, occlusion, optical_flow, reliable_flow, sample_field, warp_image, warp_params
from .imaging import blur, resize
from .controls import Controls
from .controls import resolve as resolve_controls
from .optimise import (Level, Objective, greedy_rounds, limit_sizes, load_style_loss, patch_renderer, project,
                       refine_steps, toward_palette)
from .painter import default_levels, paint

__all__ = ["TemporalOptions", "FrameStats", "paint_first", "paint_next", "joint_pass", "rounded", "stroke_motion"]

#: Ids of strokes born in frame f lie in [f * ID_STRIDE, (f + 1) * ID_STRIDE).
ID_STRIDE = 100_000
#: Strokes born in a warm-up frame (painted to settle a farm chunk, then discarded)
#: take ids from the upper half of their frame's range, so they never collide with
#: strokes born in the same frame by the chunk that keeps it.
WARMUP_ID_OFFSET = ID_STRIDE // 2


@dataclass
class FrameStats:
    """What happened to the strokes between two frames."""

    kept: int = 0
    left: int = 0  # moved off the canvas
    covered: int = 0  # hidden in the new frame (forward-backward check), or torn (error rose a lot)
    recycled: int = 0  # invisible strokes dropped to make room for new ones
    reoptimised: int = 0  # kept strokes that took re-optimisation steps
    refitted: int = 0  # ... of which free of the penalty on change (on what moves on its own)
    refreshed: int = 0  # strokes recycled because the whole frame's error rose
    added: int = 0
    seconds: float = 0.0
    flow_seconds: float = 0.0
    mean_flow_px: float = 0.0

    def text(self) -> str:
        return (f"{self.kept} kept ({self.reoptimised} re-optimised, {self.refitted} of them freely), "
                f"{self.added} added ({self.refreshed} to refresh), {self.left} left, {self.covered} covered, "
                f"{self.recycled} recycled")


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
    return resize(torch.from_numpy(np.ascontiguousarray(img)).to(device), height, width)


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
                canvas = raster.render(s.spec, torch.from_numpy(s.params), s.width, s.height, background=s.background)
            s.meta["key_error"] = round(float((canvas - target).abs().mean()), 6)
        yield event


# ---------------------------------------------------------------------------------------
# The joint re-optimisation of a whole stroke set
# ---------------------------------------------------------------------------------------

def _pixel_units(style: str, start: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """[N, D]: how much of each parameter is one pixel of movement (or one ``colour_unit``
    of colour, filled in by the caller), so steps and penalties are in pixels."""
    spec = get_style(style)
    cols = spec.cols
    long_px = float(max(width, height))
    unit = torch.full_like(start, 1.0 / long_px)
    unit[:, spec.x_columns] = 1.0 / width
    unit[:, spec.y_columns] = 1.0 / height
    if cols.angle is not None:
        # An angle step that moves the stroke's ends by one pixel.
        size = start[:, cols.size]
        half_long = torch.maximum(size[:, 0], size[:, 1]).clamp_min(2 * MIN_RADIUS) / 2 * long_px
        unit[:, cols.angle] = 1.0 / (math.pi * half_long.clamp_min(1.0))
    return unit


def _angle_delta(spec: StyleSpec, delta: torch.Tensor) -> torch.Tensor:
    """Parameter differences with the angle taken the short way round (theta wraps at 1)."""
    i = spec.cols.angle
    if i is not None:
        delta = delta.clone()
        delta[:, i] = torch.remainder(delta[:, i] + 0.5, 1.0) - 0.5
    return delta


def _frozen_canvas(spec, params: torch.Tensor, target: torch.Tensor, background) -> torch.Tensor:
    """The background with ``params`` painted on it, without gradients."""
    height, width = target.shape[:2]
    bg = torch.tensor(background, dtype=torch.float32, device=target.device).expand(height, width, 3)
    if params.shape[0] == 0:
        return bg
    with torch.no_grad():
        return raster.render(spec, params.detach(), width, height, base=bg)


def _objective(spec: StyleSpec, target: torch.Tensor, options: PaintOptions, style_loss,
               controls: Controls | None = None) -> Objective:
    h, w = target.shape[:2]
    return Objective(spec, target, options.ot, options, style_loss,
                     None if controls is None else controls.loss_weight(h, w))


# ---------------------------------------------------------------------------------------
# Helpers of one frame step
# ---------------------------------------------------------------------------------------

def stroke_visibility(style: str | StyleSpec, params: torch.Tensor, width: int, height: int,
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
    canvas = raster.render(spec, p, w, h, background=background)
    canvas.sum().backward()
    grad = p.grad[:, spec.cols.colour].abs().sum(1)  # type: ignore[index]
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


def own_motion(prev: np.ndarray, image: np.ndarray, flow: np.ndarray, trust: np.ndarray,
               topts: TemporalOptions, camera: np.ndarray | None = None) -> np.ndarray:
    """Bool [H, W]: pixels of ``prev`` on something that moves on its own (not with the
    camera, whose flow is ``camera``, fitted here when None) by more than ``topts.moving_px``.

    The flow spreads an object's motion several pixels past its outline onto the still
    background beside it (DIS works on patches); a pixel whose colour did not change
    between the frames is not moving, which takes that halo back to the object and the
    ground it covers or uncovers."""
    camera = camera_motion(flow, trust) if camera is None else camera
    own = np.linalg.norm(flow - camera, axis=-1) > topts.moving_px
    return own & (np.abs(np.asarray(image) - np.asarray(prev)).mean(-1) > topts.moving_colour_change)


#: A frame pixel this close (0..1, in every channel) to the mean of its 3 x 3
#: neighbourhood lies on a smooth part of the picture, where a painting can be right.
SMOOTH_PIXEL = 0.05


def gaps_between_strokes(canvas: torch.Tensor, fit_target: torch.Tensor, frame: torch.Tensor,
                         threshold: float) -> torch.Tensor:
    """Bool [H, W]: pixels of ``canvas`` more than ``threshold`` off ``fit_target`` (in
    some channel) where ``frame`` is smooth.

    When something moves away, a stroke painted for it that the flow left in place (most
    of it lay on what stays) is covered by the fine strokes that repaint the ground,
    except in the gaps between them: dark specks in the trail. The error there did not
    rise from the last frame (the speck was there already), so nothing would look at it
    again. Where the frame itself is detailed (a highlight, a thin line), a painting of
    strokes is far off in places it cannot help, on a still picture too, and touching
    the strokes there every frame would make them flicker; where it is smooth, a pixel
    that far off is a gap."""
    off = (canvas - fit_target).abs().amax(-1) > threshold
    chw = frame.permute(2, 0, 1)[None]
    local = torch.nn.functional.avg_pool2d(chw, 3, 1, 1, count_include_pad=False)[0].permute(1, 2, 0)
    return off & ((frame - local).abs().amax(-1) < SMOOTH_PIXEL)


def _finest_levels(levels: np.ndarray, finest: int, count: int) -> np.ndarray:
    """Bool [N]: strokes of the finest ``count`` levels (at least one)."""
    return levels >= finest - max(1, count) + 1


def _error_map(canvas: torch.Tensor, target: torch.Tensor, radius: int) -> np.ndarray:
    err = (canvas - target).abs().mean(-1)
    return blur(err, radius).cpu().numpy()


def _add_strokes(spec: StyleSpec, target: torch.Tensor, base: torch.Tensor, count: int, grid: int,
                 gen: torch.Generator, options: PaintOptions, topts: TemporalOptions, style_loss,
                 renderer, controls: Controls | None = None) -> torch.Tensor:
    """``count`` new strokes where the painting is most wrong, painted over ``base`` in
    the painter's greedy rounds (:func:`core.painters.optimise.greedy_rounds`) at the finest level."""
    lvl = Level(spec, target, base, grid, gen, renderer, options.opacity_floor, controls, (1, grid))
    placed: list[torch.Tensor] = []
    for _ in greedy_rounds(lvl, _objective(spec, target, options, style_loss, controls), count, topts.add_iterations,
                           options.candidates, options.tuning, placed):
        pass
    return torch.cat(placed) if placed else target.new_zeros(0, spec.dim)


class _Anchored:
    """The painter's objective plus a penalty on change from where the flow put each
    stroke (see :func:`joint_pass`); rows with ``weight`` 0 are free."""

    def __init__(self, spec: StyleSpec, objective: Objective, start: torch.Tensor, unit: torch.Tensor,
                 weight: torch.Tensor) -> None:
        self.spec, self.objective, self.start = spec, objective, start
        self.scale = weight[:, None] / (unit * unit)

    def backward(self, canvas: torch.Tensor, params: torch.Tensor) -> float:
        loss = self.objective.backward(canvas, params)
        with torch.no_grad():
            delta = _angle_delta(self.spec, params - self.start)
            params.grad += 2.0 * self.scale * delta  # type: ignore[operator]
            loss += float((self.scale * delta * delta).sum())
        return loss


def joint_pass(style: str | StyleSpec, params: torch.Tensor, levels: np.ndarray, target: torch.Tensor,
               background: tuple[float, float, float], options: PaintOptions, topts: TemporalOptions,
               movable: torch.Tensor, anchored: torch.Tensor, style_loss=None,
               controls: Controls | None = None) -> torch.Tensor:
    """The painter's final pass (:func:`core.painters.optimise.refine_steps`) over a frame's strokes:
    every movable stroke is optimised together with the others, in painting order, so
    each also answers to the strokes painted over it; ``topts.iterations`` steps.

    Strokes where ``movable`` is False stay exactly where they are (painted in their
    place); strokes before the first movable one, and those that meet no stroke the
    pass renders (:func:`_live_strokes`), are painted once into the canvas the pass
    works over, and the held ones it does render are evaluated once
    (:class:`core.raster.HeldRender`). ``anchored`` strokes pay a penalty on change
    from where they start (the flow's guess):

        change = topts.change_weight / (H * W) * sum_c (delta_c / unit_c) ** 2

    with ``unit`` one pixel of movement for positions, sizes and angles (an angle unit
    moves the stroke's ends by a pixel) and ``topts.colour_unit`` for colours and alpha;
    per pixel of canvas, so its weight does not depend on the canvas size. Returns the
    new parameters (detached); painting order never changes.
    """
    spec = get_style(style)
    moving = np.flatnonzero(movable.cpu().numpy())
    if topts.iterations == 0 or len(moving) == 0:
        return params.detach().clone()
    first = int(moving[0])
    height, width = target.shape[:2]
    # Strokes that cannot touch a movable one are painted once into the canvas the pass
    # works over, so each step renders (and differentiates) only the strokes around
    # what moves: on a shot where little changes, most of the painting.
    live_mask = _live_strokes(spec.name, params[first:], movable[first:], width, height)
    live, baked = first + np.flatnonzero(live_mask), first + np.flatnonzero(~live_mask)
    under = _frozen_canvas(spec, torch.cat([params[:first], params[baked]]), target, background)
    live_t = torch.as_tensor(live, device=params.device)
    start = params[live_t].detach().clone()
    unit = _pixel_units(spec.name, start, width, height)
    unit[:, spec.cols.colour] = topts.colour_unit
    unit[:, spec.cols.alpha] = topts.colour_unit
    weight = topts.change_weight / float(height * width) * anchored[live_t].to(start.dtype)
    objective = _Anchored(spec, _objective(spec, target, options, style_loss, controls), start, unit, weight)
    blocks = 1.0 / torch.as_tensor(np.maximum(levels[live], 1), dtype=torch.float32, device=params.device)
    hold = ~movable[live_t].to(params.device)
    extent = (width / max(width, height), height / max(width, height))
    min_alpha = options.opacity_floor
    sizes = controls.sizes if controls is not None else (None, None)
    palette = None if controls is None else controls.palette
    steps_done = [0]

    def project_fn(q: torch.Tensor) -> torch.Tensor:
        # No size cap beyond the canvas: a stroke on a zooming surface grows past its block.
        q = project(spec, q, extent, 4.0, min_alpha, sizes)
        if palette is not None:  # refine_steps' pull, here so that held strokes are held after it
            steps_done[0] += 1
            q = toward_palette(spec, q, palette, (steps_done[0] / topts.iterations) ** 2)
        q[hold] = start[hold]
        return q

    # Held strokes among the live ones are evaluated once, not at every step.
    render = raster.HeldRender(spec, start, hold, width, height)
    moved = start
    for moved, _ in refine_steps(spec, start, blocks, lambda q: render(q, under),
                                 objective, topts.iterations, topts.joint_lr_shape, topts.joint_lr_colour,
                                 project_fn):
        pass
    out = params.detach().clone()
    out[live_t] = moved
    return out


def _live_strokes(style: str, params: torch.Tensor, movable: torch.Tensor, width: int, height: int,
                  margin_px: float = 4.0) -> np.ndarray:
    """Bool [N]: the strokes a joint pass must render at each step, in painting order: the
    movable ones and every stroke whose box meets the box of a live stroke before it
    (``margin_px`` wider, for the steps the movable ones take).

    Painting the others first, in order, changes no pixel: a stroke meets no live
    stroke below it, so nothing it covered is painted over it, and a live stroke it
    meets above it is painted above it still."""
    long_px = max(width, height)
    b = raster.stroke_bounds(style, params.detach(), (width / long_px, height / long_px)).cpu().numpy()
    pad = margin_px / long_px
    grown = b + np.array([-pad, -pad, pad, pad])
    live = movable.detach().cpu().numpy().astype(bool).copy()
    # One row at a time (no N x N table: a shot may have many thousand strokes).
    for i in range(len(live)):
        if live[i]:
            continue
        g = grown[:i][live[:i]]
        if ((b[i, 0] <= g[:, 2]) & (g[:, 0] <= b[i, 2]) & (b[i, 1] <= g[:, 3]) & (g[:, 1] <= b[i, 3])).any():
            live[i] = True
    return live


def rounded(strokes: StrokeSet) -> StrokeSet:
    """The strokes exactly as their JSON stores them (6 decimals), so a frame painted
    after a restart from the file matches one painted from memory."""
    strokes.params = np.round(strokes.params.astype(np.float64), 6).astype(np.float32)
    return strokes


# ---------------------------------------------------------------------------------------
# One frame after another
# ---------------------------------------------------------------------------------------

@dataclass
class _Strokes:
    """The strokes of the frame being painted, every per-stroke array kept in step:
    dropping or adding strokes goes through :meth:`keep` and :meth:`add`, never by hand."""

    params: torch.Tensor  # [N, D], painting order
    levels: np.ndarray  # [N]
    ids: np.ndarray  # [N]
    refit: np.ndarray  # [N] bool: re-fitted free of the penalty on change (fine, on what moves on its own)
    rise: np.ndarray | None = None  # [N] how much the error rose under each stroke (once measured)

    def keep(self, rows: np.ndarray) -> None:
        self.params = self.params[torch.from_numpy(rows).to(self.params.device)]
        self.levels, self.ids, self.refit = self.levels[rows], self.ids[rows], self.refit[rows]
        if self.rise is not None:
            self.rise = self.rise[rows]

    def add(self, params: torch.Tensor, level: int, ids: np.ndarray) -> None:
        self.params = torch.cat([self.params, params])
        self.levels = np.concatenate([self.levels, np.full(len(params), level, np.int32)])
        self.ids = np.concatenate([self.ids, ids])

    def __len__(self) -> int:
        return int(self.params.shape[0])


class _FrameStep:
    """One frame of a shot painted from the previous one, as named steps over one state
    (:class:`_Strokes`); :func:`paint_next` runs them in order. The module docstring
    says what each step is for."""

    def __init__(self, prev: StrokeSet, prev_image: np.ndarray, image: np.ndarray, options: PaintOptions,
                 topts: TemporalOptions, frame: int, budget: int | None, warmup: bool) -> None:
        if prev.ids is None:
            raise PainterError("the previous frame's strokes have no ids; paint the shot with `paint-frames`")
        self.prev, self.options, self.topts, self.frame, self.warmup = prev, options, topts, frame, warmup
        self.spec = prev.spec  # its brush too
        self.device = pick_device(options.device)
        self.budget = budget or options.strokes
        self.start_time = time.perf_counter()
        self.width, self.height = prev.width, prev.height
        self.stats = FrameStats()
        self.target = canvas_target(image, self.width, self.height, self.device)
        self.prev_target = canvas_target(prev_image, self.width, self.height, self.device)
        self.bg = tuple(float(c) for c in prev.background)
        # The artist's controls, for this frame (auto detail finds this frame's faces).
        self.controls = resolve_controls(options, np.asarray(image, np.float32), self.width, self.height, self.device)
        finest = int(prev.level.max()) if len(prev.level) else 1
        self.finest = finest

    # -- motion ----------------------------------------------------------------------------

    def measure_motion(self) -> None:
        """The optical flow both ways between the two source frames, where it can be
        trusted, and what it leaves covered."""
        tgt_np, prev_np = self.target.cpu().numpy(), self.prev_target.cpu().numpy()
        self.tgt_np, self.prev_np = tgt_np, prev_np
        t0 = time.perf_counter()
        self.flow = optical_flow(prev_np, tgt_np)
        self.flow_back = optical_flow(tgt_np, prev_np)
        self.covered_px = occlusion(prev_np, tgt_np, self.flow, self.flow_back)
        self.trust = reliable_flow(self.flow, self.flow_back)
        self.stats.flow_seconds = time.perf_counter() - t0
        self.stats.mean_flow_px = float(np.linalg.norm(self.flow, axis=-1).mean())

    def carry(self) -> _Strokes:
        """The previous strokes moved along the motion; those that left the canvas and the
        fine ones now covered are dropped."""
        prev, topts, spec = self.prev, self.topts, self.spec
        width, height = self.width, self.height
        # Covered strokes are dropped from the finest levels only: a covered stroke of a
        # coarse level lies under finer ones and hides nothing, and dropping it would
        # leave a hole where the flow is merely unsure.
        fine = _finest_levels(prev.level, self.finest, topts.reopt_levels)
        covered = _footprint_mean(spec.name, prev.params, self.covered_px, width, height) > topts.covered_fraction
        self.own = None
        refit = np.zeros(len(prev.params), bool)
        if topts.moving_px > 0:
            # A stroke belongs to what lies under most of it. Strokes on something that
            # moves on its own travel with its flow; every other stroke moves with the
            # camera alone, so the ground beside a moving object is not dragged along by
            # the flow's spill over the object's outline.
            camera = camera_motion(self.flow, self.trust)
            self.own = own_motion(self.prev_np, self.tgt_np, self.flow, self.trust, topts, camera)
            share = _footprint_mean(spec.name, prev.params, self.own, width, height)
            on_own = share > 0.5
            warped, left = np.empty_like(prev.params), np.zeros(len(prev.params), bool)
            for rows, field in ((on_own, self.flow), (~on_own, camera)):
                warped[rows], left[rows] = warp_params(spec.name, prev.params[rows], field, width, height,
                                                       self.trust)
            # Its fine strokes start where the flow put them and are then re-fitted freely
            # (no penalty on change) in the joint pass: an object that turns or deforms as
            # it goes wears out strokes the flow merely carries in a few frames, and
            # strokes painted afresh each frame land somewhere else each time and boil.
            # Re-fitted from the carry, they keep their place on the object, their id and
            # most of their look. So are the fine strokes of the ground that reach onto it
            # (``refit_fraction``): the object's outline passes under them and no carry
            # fits them (benchmarks/RESULTS.md).
            refit = (share > topts.refit_fraction) & fine
        else:
            warped, left = warp_params(spec.name, prev.params, self.flow, width, height, self.trust)
        covered &= fine & ~left
        keep = ~(left | covered)
        self.stats.left, self.stats.covered = int(left.sum()), int(covered.sum())
        params = torch.from_numpy(warped[keep]).to(self.device)
        if self.controls.sizes != (None, None):  # a zoom grows and shrinks strokes past the limits
            params = limit_sizes(spec, params, (width / max(width, height), height / max(width, height)),
                                 self.controls.sizes)
        return _Strokes(params, prev.level[keep], prev.ids[keep], refit[keep])

    # -- what to fit -----------------------------------------------------------------------

    def render(self, strokes: _Strokes) -> torch.Tensor:
        with torch.no_grad():
            return raster.render(self.spec, strokes.params, self.width, self.height, background=self.bg)

    def fit_target(self, strokes: _Strokes) -> None:
        """What the new strokes and the joint pass fit: the frame, or with ``keep_look`` a
        blend towards the previous painting carried along the flow where the flow holds
        both ways (a temporal loss in pixels, as video style transfer uses). The
        parameter penalty keeps a kept stroke near where the flow put it; this keeps the
        new and free ones looking as the painting looked, where strokes cannot simply be
        carried (a turning object). There, where the fine strokes are re-fitted every
        frame, it holds them by ``keep_look_moving`` (more: benchmarks/RESULTS.md).
        Also measures where the painting got worse than it was: the previous painting's
        error, moved along the flow, is what a perfect carry-over would keep."""
        topts, width, height = self.topts, self.width, self.height
        self.grid = max(self.finest, default_levels(self.budget))
        self.radius = max(1, int(max(width, height) / self.grid / 8))
        with torch.no_grad():
            prev_canvas = raster.render(self.spec, torch.from_numpy(self.prev.params).to(self.device), width,
                                        height, background=self.bg)
        self.canvas = self.render(strokes)
        look = np.full((height, width), topts.keep_look, np.float32)
        if self.own is not None:
            own_now = warp_image(self.own.astype(np.float32)[..., None], self.flow_back)[..., 0] > 0.5
            look[own_now] = topts.keep_look_moving
        self.fit = self.target
        if look.max() > 0:
            held = reliable_flow(self.flow_back, self.flow).astype(np.float32) * look
            carried = warp_image(prev_canvas.cpu().numpy(), self.flow_back)
            self.fit = self.target + torch.from_numpy(held[..., None] * (carried - self.tgt_np)).to(self.device)
        self.err_before = warp_image(_error_map(prev_canvas, self.prev_target, self.radius)[..., None],
                                     self.flow_back)[..., 0]
        rise = _error_map(self.canvas, self.target, self.radius) - self.err_before
        strokes.rise = _footprint_mean(self.spec.name, strokes.params.cpu().numpy(), np.maximum(rise, 0), width,
                                       height)

    # -- which strokes go, which come ------------------------------------------------------

    def drop_torn(self, strokes: _Strokes) -> None:
        """Only strokes where the error rose take part in the joint pass below: the rest
        already fit, and leaving them alone is what keeps a still picture still. Where it
        rose a lot on a fine stroke (left behind by an object that moved on, or torn
        across a motion boundary), small steps cannot mend it: it is dropped, and the
        strokes added below repaint the place."""
        assert strokes.rise is not None
        fine_now = _finest_levels(strokes.levels, self.finest, self.topts.reopt_levels)
        torn = fine_now & (strokes.rise > self.topts.torn_threshold)
        if torn.any():
            strokes.keep(~torn)
            self.stats.covered += int(torn.sum())
            self.canvas = self.render(strokes)

    def count_new(self, strokes: _Strokes) -> int:
        """How many strokes to add: where the error grew by more than noise (newly visible
        content), to make up for those dropped, and a refresh."""
        topts, budget, stats = self.topts, self.budget, self.stats
        err_now = _error_map(self.canvas, self.target, self.radius)
        grown = float((err_now > self.err_before + topts.grow_threshold).mean())
        # (Rounded, not ceiled: a few pixels of noise on a still picture are not a stroke's worth.)
        want = min(round(grown * budget), math.ceil(topts.max_new_fraction * budget))
        want = max(want, math.ceil(topts.min_fraction * budget) - len(strokes), stats.covered)
        # A painting that follows the picture slowly loses fidelity where the change in one
        # frame is too small to notice (a zoom reveals detail bit by bit): when the whole
        # frame's error is above the first painting's, recycle a few strokes into the
        # places where the error is highest.
        error = float((self.canvas - self.target).abs().mean())
        key_error = self.prev.meta.get("key_error")
        # (Only when the picture moves: on a still one, the error swings with the noise alone.)
        if (isinstance(key_error, (int, float)) and error > key_error * (1 + topts.refresh_margin)
                and stats.mean_flow_px > topts.refresh_min_flow_px):
            stats.refreshed = math.ceil(topts.refresh_fraction * budget)
            want += stats.refreshed
        return want

    def make_room(self, strokes: _Strokes, want: int) -> None:
        """When the budget is full, drop the strokes that show least (covered ones show nothing)."""
        recycle = max(0, len(strokes) + want - self.budget)
        if recycle:
            vis = stroke_visibility(self.spec, strokes.params, self.width, self.height, self.bg)
            drop = torch.argsort(vis, stable=True)[:recycle].cpu().numpy()
            mask = np.ones(len(strokes), bool)
            mask[drop] = False
            strokes.keep(mask)
            self.stats.recycled = recycle
            self.canvas = self.render(strokes)
        self.stats.kept = len(strokes)

    def active(self, strokes: _Strokes) -> np.ndarray:
        """Bool [N]: the kept strokes that take steps in the joint pass. Coarse strokes
        are left where the flow put them: under the fine ones, moving them shifts colour
        over a wide area (a halo around what moves) and costs a render of every stroke
        above them at each step; the steps go to the fine ones."""
        topts = self.topts
        assert strokes.rise is not None
        active = strokes.refit | ((strokes.rise > topts.active_threshold)
                                  & _finest_levels(strokes.levels, self.finest, topts.active_levels))
        if topts.gap_threshold > 0:
            # The fine strokes beside a gap take part too: a few steps close it.
            gaps = gaps_between_strokes(self.canvas, self.fit, self.target, topts.gap_threshold)
            if bool(gaps.any()):
                reach = max(1, round(max(self.width, self.height) / self.grid / 14))  # a few px: the finest strokes
                near = torch.nn.functional.max_pool2d(gaps.float()[None, None], 2 * reach + 1, 1, reach)[0, 0]
                beside = _footprint_mean(self.spec.name, strokes.params.cpu().numpy(), near.cpu().numpy(),
                                         self.width, self.height) > 0.05
                active |= beside & _finest_levels(strokes.levels, self.finest, topts.gap_levels)
        return active

    def add_new(self, strokes: _Strokes, want: int) -> None:
        """New strokes where the painting is most wrong, in the painter's greedy rounds."""
        if want <= 0:
            return
        gen = _frame_generator(self.options.seed, self.frame)
        new = _add_strokes(self.spec, self.fit, self.canvas, want, self.grid, gen, self.options, self.topts,
                           self.style_loss, self.renderer, self.controls)
        strokes.add(new, self.grid, born_ids(self.frame, len(new), self.warmup))
        self.stats.added = int(len(new))

    def joint(self, strokes: _Strokes, active: np.ndarray) -> None:
        """The painter's final pass over the strokes that moved wrong, those on what moves
        on its own and the new ones, with every stroke painted over them in view; kept
        strokes are held near where the flow put them, the re-fitted and new ones are free."""
        added = self.stats.added
        movable = np.concatenate([active, np.ones(added, bool)])
        self.stats.reoptimised, self.stats.refitted = int(movable.sum()) - added, int(strokes.refit.sum())
        anchored = torch.from_numpy(np.concatenate([~strokes.refit, np.zeros(added, bool)]))
        strokes.params = joint_pass(self.spec, strokes.params, strokes.levels, self.fit, self.bg, self.options,
                                    self.topts, torch.from_numpy(movable).to(self.device), anchored.to(self.device),
                                    self.style_loss, self.controls)

    def result(self, strokes: _Strokes) -> StrokeSet:
        meta = dict(self.prev.meta)
        meta["frame"] = self.frame
        clean = torch.nan_to_num(strokes.params, nan=0.5).clamp(0, 1).cpu().numpy()
        return StrokeSet(self.spec.name, self.width, self.height, clean, strokes.levels, self.prev.background, meta,
                         strokes.ids)


def paint_next(prev: StrokeSet, prev_image: np.ndarray, image: np.ndarray, options: PaintOptions,
               topts: TemporalOptions, frame: int, budget: int | None = None, warmup: bool = False,
               flow_only: bool = False) -> Iterator[Progress | FrameStats | StrokeSet]:
    """Paint ``image`` (frame number ``frame``) starting from ``prev``, the painting of
    ``prev_image``. Yields Progress events, then the FrameStats, then the new StrokeSet.

    ``flow_only`` moves and drops strokes without re-optimising or adding any (a cheap
    way to carry a keyframe's strokes over many frames).
    """
    step = _FrameStep(prev, prev_image, image, options, topts, frame, budget, warmup)
    step.measure_motion()
    yield Progress(fraction=0.1, level=0, loss=0.0)
    strokes = step.carry()
    if flow_only:
        step.stats.kept = len(strokes)
        step.stats.seconds = time.perf_counter() - step.start_time
        yield step.stats
        yield StrokeSet(step.spec.name, step.width, step.height, strokes.params.cpu().numpy(), strokes.levels,
                        prev.background, {**prev.meta, "frame": frame}, strokes.ids)
        return
    step.style_loss = load_style_loss(options)
    step.renderer = patch_renderer(options, step.spec, step.device)
    step.fit_target(strokes)
    step.drop_torn(strokes)
    yield Progress(fraction=0.3, level=0, loss=0.0)
    want = step.count_new(strokes)
    step.make_room(strokes, want)
    active = step.active(strokes)
    step.add_new(strokes, want)
    yield Progress(fraction=0.5, level=0, loss=0.0)
    step.joint(strokes, active)
    yield Progress(fraction=1.0, level=0, loss=0.0)
    step.stats.seconds = time.perf_counter() - step.start_time
    yield step.stats
    yield step.result(strokes)


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
