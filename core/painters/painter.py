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
from typing import Iterator

import numpy as np
import torch

from ..contracts.options import PaintOptions, background_colour
from ..errors import PainterError
from ..model.brushes import brush_meta, painting_spec
from ..model.strokes import StrokeSet
from ..render import raster
from .devices import pick_device
from .events import Done, Event, LevelDone, LevelStarted, Progress, RefineStarted, Refined
from .controls import resolve as resolve_controls
from .imaging import resize
from .optimise import (Level, Objective, greedy_rounds, load_style_loss, optimizer, patch_renderer, project,
                       refine_steps, render_frozen, rounds)

__all__ = ["PaintOptions", "paint", "stylize", "run", "default_levels", "strokes_per_level"]


def default_levels(strokes: int) -> int:
    """About 14 strokes per grid block at the finest level (6 levels for 500 strokes;
    more, finer levels measured better than the paper's 5 in benchmarks/RESULTS.md)."""
    return int(min(8, max(1, round(math.sqrt(strokes / 14.0)))))


def strokes_per_level(strokes: int, levels: int, grids: list[int] | None = None) -> list[int]:
    """Split the budget over levels (grids 1..levels, or ``grids``) in proportion to their
    block counts; sums exactly."""
    weights = np.array([g * g for g in (grids or range(1, levels + 1))], dtype=np.float64)
    raw = strokes * weights / weights.sum()
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: strokes - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def paint(image: np.ndarray, options: PaintOptions, init: StrokeSet | None = None,
          add_levels: int = 0) -> Iterator[Event]:
    """Paint ``image`` (float HxWx3 sRGB in [0, 1]) with strokes; yields events.

    With ``init``, those strokes are kept (frozen) as the first levels and painting
    continues: ``add_levels`` finer levels are added with ``options.strokes`` strokes.
    Closing the generator cancels; every LevelDone already received stays valid.
    """
    options.validate()
    # The look it paints with: the style, through the artist's brush (given, or the one
    # the painting it continues was made with). Bad input stops here, before a stroke.
    spec = painting_spec(options.style, options.brush or (init.brush if init is not None else None))
    device = pick_device(options.device)
    renderer = patch_renderer(options, spec, device)
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise PainterError(f"image must be an H x W x 3 array, got shape {img.shape}; load it with core.io.image_io")
    img = np.nan_to_num(img, nan=0.0, posinf=1.0, neginf=0.0).clip(0, 1)
    background = background_colour(options.background, lambda: tuple(float(c) for c in img.reshape(-1, 3).mean(0)))
    start = time.perf_counter()
    torch.manual_seed(options.seed)
    gen = torch.Generator().manual_seed(options.seed)

    h0, w0 = img.shape[:2]
    scale = options.size / max(h0, w0)
    width, height = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    target_full = resize(torch.from_numpy(np.ascontiguousarray(img)).to(device), height, width)
    ot_weight, min_alpha, tuning = options.ot, options.opacity_floor, options.tuning
    controls = resolve_controls(options, img, width, height, device)
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
    # Level g paints on a g x g grid (strokes about 1/g of the long side); stroke size
    # limits leave out the grids whose strokes cannot keep within them.
    grids = controls.grids(levels, first_level)
    detail = controls.detail_level(options.strokes, grids)
    counts = strokes_per_level(options.strokes - (detail[1] if detail else 0), len(grids), grids)
    spread = (grids[0], grids[-1])  # the levels over which fine strokes gather where detail is asked
    if detail:  # a finer level where the artist asked for detail (controls.detail_level)
        grids, counts = grids + [detail[0]], counts + [detail[1]]
    levels = len(grids)
    round_size = tuning.round_size
    iters_per_round = options.round_iterations
    refine_iters = options.refine_steps
    # Progress counts work: a refinement step draws every stroke, a round step a few.
    refine_weight = max(1.0, options.strokes / (2 * round_size))
    total_work = (sum(len(rounds(c, round_size)) * iters_per_round for c in counts)
                  + refine_iters * refine_weight)
    done_work = 0.0
    meta = {"engine": "neural-painter", "seed": options.seed, "size": options.size,
            "ot_weight": ot_weight, "renderer": options.renderer, "refine": refine_iters}
    if style_loss is not None:
        meta.update(options.style_meta())
    meta.update(controls.meta)
    if spec.brush is not None:
        meta["brush"] = brush_meta(spec.brush)
    bg = torch.tensor(background, dtype=torch.float32, device=device)
    n_init = len(frozen)

    def make_set(params: torch.Tensor, lv: list[int]) -> StrokeSet:
        clean = torch.nan_to_num(params.detach(), nan=0.5).clamp(0, 1).cpu().numpy()
        return StrokeSet(spec.name, width, height, clean, np.asarray(lv, dtype=np.int32), background, dict(meta))

    for grid, count in zip(grids, counts):
        if count == 0:
            continue
        level = grid
        yield LevelStarted(level=level, levels=grids[-1], strokes=count)
        # Resolution: a grid block spans about block_px pixels, capped at the output size.
        res = min(options.size, max(32, tuning.block_px * grid))
        lh, lw = max(1, round(height * res / max(width, height))), max(1, round(width * res / max(width, height)))
        target = resize(target_full, lh, lw)
        base = render_frozen(spec, frozen, lw, lh, bg.expand(lh, lw, 3))
        lvl = Level(spec, target, base, grid, gen, renderer, min_alpha, controls, spread)
        objective = Objective(spec, target, ot_weight, options, style_loss, controls.loss_weight(lh, lw))
        # Greedy rounds: each places a few strokes where the painting is most wrong and
        # optimises only those over everything painted before them (frozen in the base
        # canvas), so an iteration costs the pixels of a few strokes, not of the level.
        placed: list[torch.Tensor] = []
        for it, loss in greedy_rounds(lvl, objective, count, iters_per_round, options.candidates, tuning, placed):
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
        last = grids[-1]
        yield RefineStarted(strokes=len(frozen) - n_init, steps=refine_iters)
        blocks = 1.0 / torch.tensor(frozen_level[n_init:], dtype=torch.float32, device=device)
        extent = (width / max(width, height), height / max(width, height))
        # The pass runs at the painting's size, or smaller for styles whose strokes have
        # no sharp detail to lose (the style's refine_scale): its cost grows with the pixels.
        rs = options.refine_scale
        rw, rh = max(1, round(width * rs)), max(1, round(height * rs))
        under = render_frozen(spec, frozen[:n_init], rw, rh, bg.expand(rh, rw, 3))
        full = Objective(spec, resize(target_full, rh, rw), 0.0, options, style_loss, controls.loss_weight(rh, rw))
        steps = refine_steps(spec, frozen[n_init:], blocks,
                             lambda q: raster.render(spec, q, rw, rh, base=under),
                             full, refine_iters, tuning.refine_lr_shape, tuning.refine_lr_colour,
                             lambda q: project(spec, q, extent, torch.clamp(1.5 * blocks, max=1.0), min_alpha,
                                               controls.sizes), palette=controls.palette)
        for it, (moved, loss) in enumerate(steps):
            done_work += refine_weight
            if it % 5 == 0 or it == refine_iters - 1:
                yield Progress(fraction=min(1.0, done_work / max(1.0, total_work)), level=last, loss=loss)
        frozen = torch.cat([frozen[:n_init], moved])
        yield Refined(strokes=make_set(frozen, frozen_level))
    yield Done(strokes=make_set(frozen, frozen_level), seconds=time.perf_counter() - start)


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
    spec = strokes.spec  # its brush too
    device = pick_device(options.device)
    start = time.perf_counter()
    torch.manual_seed(options.seed)
    style_loss = load_style_loss(options)
    from ..render.reference import output_size, render_strokes
    width, height = output_size(strokes.width, strokes.height, min(options.size, max(strokes.width, strokes.height)))
    if content is None:
        content_img = render_strokes(strokes, max(width, height))
    else:
        content_img = np.asarray(content, np.float32)
    target = resize(torch.from_numpy(np.ascontiguousarray(content_img)).to(device), height, width)
    original = torch.from_numpy(strokes.params.copy()).to(device)
    params = original.clone().requires_grad_(True)
    renderer = patch_renderer(options, spec, device)
    levels = max(1, int(strokes.level.max())) if len(strokes.level) else 1
    # Shapes move in steps of a fraction of the finest level's block, as when painting.
    opt = optimizer(spec, params, 1.0 / levels, options.tuning)
    shape_cols = spec.shape_columns
    if options.style_mode == "color":
        opt.column_lr[shape_cols] = 0.0
    objective = Objective(spec, target, 0.0, options, style_loss)
    bg = tuple(float(c) for c in strokes.background)
    iterations = options.iterations or 100
    last = levels
    yield LevelStarted(level=last, levels=last, strokes=len(strokes))
    for it in range(iterations):
        opt.zero_grad(set_to_none=True)
        canvas = raster.render(spec, params, width, height, background=bg, patch_renderer=renderer)
        loss = objective.backward(canvas, params)
        opt.step()
        with torch.no_grad():
            params.data = torch.nan_to_num(params.data, nan=0.5).clamp(0, 1)
            if options.style_mode == "color":
                params.data[:, shape_cols] = original[:, shape_cols]
        if it % 5 == 0 or it == iterations - 1:
            yield Progress(fraction=(it + 1) / iterations, level=last, loss=loss)
    meta = dict(strokes.meta)
    meta.update(options.style_meta())
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
