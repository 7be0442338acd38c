"""Refine by region: repaint a painting only where a mask is bright, or only its
selected strokes, every other stroke held exactly where it is.

The still painter already continues a painting (``paint(..., init=...)``): the strokes
given as ``init`` stay frozen and new, finer levels go on top. What it cannot do is
keep those new strokes inside a region. Rather than thread a region through the
optimiser, this module changes what it paints *towards*: outside the region the target
is the painting itself, so there is nothing to gain there. New strokes are placed where
the error is high (none outside, where it is zero up to the renderers' rounding), and
one that spills over the region's edge is pulled back by the loss for changing the
painting there. The region's weight is soft, so its edge blends.

Selected strokes (Blender's Edit Mode selection) are then optimised once more with the
new strokes, in painting order, by the shot painter's joint pass
(:func:`core.painters.temporal.joint_pass`), which holds every other stroke exactly:
held strokes are painted in place, never moved.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..contracts.options import PaintOptions, TemporalOptions
from ..contracts.styles import get_style
from ..errors import PainterError
from ..model.strokes import StrokeSet
from .controls import resolve as resolve_controls
from .events import Done, Event, Progress, RefineStarted, Refined
from .imaging import blur, resize
from .optimise import load_style_loss, render_frozen

#: How far (in pixels of the painting's canvas) the region around selected strokes
#: reaches past their outlines: the new strokes there may cover the seams.
SELECTION_MARGIN_PX = 3


def load_mask(source: str | np.ndarray, width: int, height: int) -> np.ndarray:
    """A mask over the painting's canvas, [H, W] in 0..1: the brightness of an image file
    (any picture ``core.io.image_io`` reads) or of a ``.npy`` array (H x W, or H x W x C
    whose colour channels are averaged), stretched to the canvas."""
    from ..io.image_io import load_image

    if isinstance(source, str) and source.lower().endswith(".npy"):
        try:
            source = np.load(source, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PainterError(f"cannot read the region mask Blender handed over ({exc}); "
                               "save the mask to an image file and choose that") from None
    if isinstance(source, np.ndarray) and source.ndim == 3 and source.shape[2] in (2, 4):
        source = source[..., :-1]  # the mask is its brightness: alpha plays no part
    rgb = load_image(source, max_side=None, background=(0.0, 0.0, 0.0))
    grey = torch.from_numpy(np.ascontiguousarray(rgb.mean(-1, keepdims=True)))
    return resize(grey, height, width)[..., 0].clamp(0, 1).numpy()


def selection_footprint(strokes: StrokeSet, selected: Sequence[int]) -> np.ndarray:
    """[H, W] in 0..1: where the selected strokes paint (their coverage, as opaque
    strokes), grown by :data:`SELECTION_MARGIN_PX` and softened at its edge."""
    h, w = strokes.height, strokes.width
    if not len(selected):
        return np.zeros((h, w), np.float32)
    spec = get_style(strokes.style)
    params = torch.from_numpy(strokes.params[np.asarray(selected, np.int64)].copy())
    params[:, spec.cols.colour] = 1.0
    params[:, spec.cols.alpha] = 1.0
    cover = render_frozen(spec.name, params, w, h, torch.zeros(h, w, 3))[..., 0]
    grown = F.max_pool2d(cover[None, None], 2 * SELECTION_MARGIN_PX + 1, stride=1, padding=SELECTION_MARGIN_PX)[0, 0]
    return blur(grown, 1).clamp(0, 1).numpy()


def region_target(image: torch.Tensor, painting: torch.Tensor, weight: np.ndarray) -> torch.Tensor:
    """What to paint towards: the reference where the region's weight is 1, the painting
    as it is where it is 0, blended between."""
    w = torch.as_tensor(weight, dtype=image.dtype, device=image.device)[..., None]
    return w * image + (1 - w) * painting


def refine_region(image: np.ndarray, options: PaintOptions, init: StrokeSet, add_levels: int = 1,
                  mask: np.ndarray | None = None, selected: Sequence[int] = ()) -> Iterator[Event]:
    """Paint ``options.strokes`` new strokes (``add_levels`` finer levels) onto ``init``
    only inside the region: where ``mask`` ([H, W] in 0..1 over the painting's canvas) is
    bright, and around the ``selected`` strokes (indices into ``init``); then, with
    strokes selected, optimise them and the new ones together while every other stroke
    is held. Yields the still painter's events (``Refined`` holds the whole painting)."""
    from .painter import paint
    from .temporal import joint_pass

    options.validate()
    if len(init) == 0:
        raise PainterError("the painting has no strokes to refine by region: paint it first")
    picked = sorted({int(i) for i in selected})
    if picked and not 0 <= picked[0] <= picked[-1] < len(init):
        raise PainterError(f"the selected strokes ({picked[0]}..{picked[-1]}) are not all in the painting's "
                           f"{len(init)} strokes; select strokes again and retry")
    if mask is None and not picked:
        raise PainterError("a region needs a mask or selected strokes: choose a mask image, or select "
                           "strokes in Edit Mode")
    h, w = init.height, init.width
    weight = np.zeros((h, w), np.float32) if mask is None else np.asarray(mask, np.float32)
    if weight.shape != (h, w):
        raise PainterError(f"the region mask is {weight.shape[1]}x{weight.shape[0]} px, the painting "
                           f"{w}x{h}: stretch it to the painting (load_mask does)")
    if picked:
        weight = np.maximum(weight, selection_footprint(init, picked))
    if float(weight.max()) <= 0.0:
        raise PainterError("the region mask is black everywhere: paint white where the painting should change")
    img = np.nan_to_num(np.asarray(image, np.float32), nan=0.0).clip(0, 1)
    if img.ndim != 3 or img.shape[2] != 3:
        raise PainterError(f"image must be an H x W x 3 array, got shape {img.shape}; load it with core.io.image_io")
    reference = resize(torch.from_numpy(np.ascontiguousarray(img)), h, w)
    background = torch.tensor(init.background, dtype=torch.float32).expand(h, w, 3)
    now = render_frozen(init.style, torch.from_numpy(init.params.copy()), w, h, background)
    target = region_target(reference, now, weight)
    # The painter paints on the canvas of the painting: its working size is the canvas's.
    options = options.replace(size=max(w, h))
    painted: StrokeSet | None = None
    last_fraction = 0.0
    for event in paint(target.numpy(), options, init=init, add_levels=add_levels):
        if isinstance(event, Done):
            painted = event.strokes
            break
        if isinstance(event, Progress):
            last_fraction = event.fraction
        yield event
    assert painted is not None
    if not picked or options.refine_steps == 0:
        yield Done(strokes=painted, seconds=0.0)
        return
    movable = torch.zeros(len(painted), dtype=torch.bool)
    movable[picked] = True
    movable[len(init):] = True
    yield RefineStarted(strokes=int(movable.sum()), steps=options.refine_steps)
    topts = TemporalOptions(iterations=options.refine_steps, change_weight=0.0)
    # The artist's controls (palette, stroke sizes, detail) as the painter resolved them.
    controls = resolve_controls(options, target.numpy(), w, h, torch.device("cpu"))
    moved = joint_pass(painted.style, torch.from_numpy(painted.params.copy()), np.asarray(painted.level), target,
                       painted.background, options, topts, movable, torch.zeros_like(movable),
                       load_style_loss(options), controls)
    out = StrokeSet(painted.style, w, h, moved.clamp(0, 1).numpy().astype(np.float32), painted.level.copy(),
                    painted.background, dict(painted.meta), painted.ids)
    yield Progress(fraction=max(last_fraction, 1.0), level=int(out.level.max()), loss=0.0)
    yield Refined(strokes=out)
    yield Done(strokes=out, seconds=0.0)
