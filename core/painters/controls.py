"""What the artist asks of a painting, resolved for its canvas: stroke size limits, where
the detail goes, the colours allowed and the brush.

``PaintOptions`` says it in the artist's terms (pixels, an image file, hex codes, a brush
name); :func:`resolve` turns that into what the painters use (long-side units, a detail
map at the canvas size, palette colours, a brush stencil), once per painting, and
refuses bad input in one line before a stroke is painted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..contracts.options import PaintOptions
from ..errors import PainterError
from .imaging import resize

#: Where the detail map is black, pixels still weigh this much in the loss (the least
#: detail is some detail: the canvas there is painted, only with fewer, larger strokes).
#: 0.5 with the settings below gave the portrait's face +6.0 dB for -1.1 dB over the
#: whole picture (500 strokes at 256 px; 0.2, power 2 and share 4 gave +7.3 and -3.0).
DETAIL_FLOOR = 0.5
#: The finest level places strokes with probability proportional to the error times the
#: detail map to this power; coarser levels less so, the first not at all.
DETAIL_PLACEMENT_POWER = 1.5
#: The detail level (see :meth:`Controls.detail_level`) places its strokes with the
#: detail map to this power: almost only where it is bright.
DETAIL_LEVEL_POWER = 4.0
#: The detail level's share of the budget is k a / (1 + k a) for a bright area a (the
#: map's mean), at most half: 8% of the strokes for a portrait's face (a = 0.055).
DETAIL_SHARE = 1.5
#: Strokes per grid block a level aims at (as ``painter.default_levels``).
STROKES_PER_BLOCK = 14


@dataclass
class Controls:
    """A painting's controls for its canvas (``width`` x ``height`` px)."""

    width: int
    height: int
    #: (thinnest, longest) a stroke may be, long-side units; None: no limit.
    sizes: tuple[float | None, float | None] = (None, None)
    #: [H, W] in 0..1 at the canvas size: 1 asks for the most detail; None: even detail.
    detail: torch.Tensor | None = None
    #: [K, 3] sRGB: the only colours a stroke may take; None: any colour.
    palette: torch.Tensor | None = None
    #: The grid of the level added for detail (:meth:`detail_level`); None: none added.
    detail_grid: int | None = None
    meta: dict = field(default_factory=dict)  # what the painting's meta records of them

    @property
    def long_px(self) -> int:
        return max(self.width, self.height)

    def detail_at(self, height: int, width: int) -> torch.Tensor | None:
        """The detail map at another resolution (a level's)."""
        if self.detail is None:
            return None
        return resize(self.detail[..., None], height, width)[..., 0]

    def loss_weight(self, height: int, width: int) -> torch.Tensor | None:
        """[H, W] per-pixel weight of the content loss: bright detail counts most."""
        d = self.detail_at(height, width)
        return None if d is None else DETAIL_FLOOR + (1 - DETAIL_FLOOR) * d

    def placement_weight(self, height: int, width: int, level: int, levels: tuple[int, int]
                         ) -> torch.Tensor | None:
        """[H, W] factor on where a level places its strokes: from none at the coarsest
        level to the detail map to the power 1.5 at the finest, so the fine strokes (more and
        smaller) gather where detail is asked for; the detail level's strokes go almost
        only there."""
        d = self.detail_at(height, width)
        if d is None:
            return None
        if level == self.detail_grid:
            return d.clamp_min(0.02) ** DETAIL_LEVEL_POWER
        first, last = levels
        share = (level - first) / max(1, last - first)
        return (d.clamp_min(0.02) ** (DETAIL_PLACEMENT_POWER * share))

    def detail_level(self, strokes: int, grids: list[int]) -> tuple[int, int] | None:
        """(grid, strokes) of the level added for a detail map, or None.

        The coarse-to-fine levels size strokes for the whole picture: with 500 strokes
        the finest are a sixth of it long, as big as a portrait's face. So a share of the
        budget goes to one finer level painted where the map is bright: the share grows
        with the bright area (``DETAIL_SHARE``), and its
        grid makes about ``STROKES_PER_BLOCK`` strokes per block of that area, finer
        than the finest level (within the stroke size limits)."""
        if self.detail is None or strokes < 8:
            return None
        area = float(self.detail.mean())
        count = int(round(strokes * min(0.5, DETAIL_SHARE * area / (1 + DETAIL_SHARE * area))))
        if count < 1 or area <= 0:
            return None
        grid = max(grids[-1] + 1, int(round(math.sqrt(count / (STROKES_PER_BLOCK * area)))))
        if self.sizes[0] is not None:  # no finer than the thinnest stroke allows
            grid = min(grid, max(grids[-1], math.floor(1.0 / (1.5 * self.sizes[0]))))
        if grid <= grids[-1]:
            return None
        self.detail_grid = grid
        return grid, count

    def grids(self, levels: int, start: int = 1) -> list[int]:
        """The grid of each coarse-to-fine level (level g paints strokes about 1/g of the
        long side): ``start``, ``start`` + 1, ... without size limits; with them, only
        grids whose strokes can keep within the limits, so the painter does not place
        blocks' worth of strokes only to clamp them."""
        low, high = self.sizes
        first = start if high is None else max(start, math.ceil(1.0 / high))
        last = 10 ** 6 if low is None else max(first, math.floor(1.0 / (1.5 * low)))
        return [g for g in range(first, first + levels) if g <= last] or [first]


def resolve(options: PaintOptions, image: np.ndarray, width: int, height: int, device: torch.device) -> Controls:
    """The options' controls for a canvas of ``width`` x ``height`` px painted from
    ``image`` (H x W x 3 sRGB, the picture as loaded). PainterError for bad input."""
    controls = Controls(width, height)
    long_px = max(width, height)
    low, high = options.min_stroke, options.max_stroke
    for flag, value in (("--min-stroke", low), ("--max-stroke", high)):
        if value is not None and value > long_px:
            raise PainterError(f"{flag} {value:g} px is larger than the canvas ({width}x{height} px at --size "
                               f"{options.size}); give at most {long_px} px, or paint at a larger --size")
    controls.sizes = (None if low is None else low / long_px, None if high is None else high / long_px)
    if low is not None or high is not None:
        controls.meta.update(min_stroke=low, max_stroke=high)
    detail = None
    if options.detail_mask:
        detail = load_detail_mask(options.detail_mask, image)
        controls.meta["detail_mask"] = str(options.detail_mask)
    if options.auto_detail:
        from .detail import auto_detail

        found = auto_detail(image)
        detail = found if detail is None else np.maximum(detail, found)
        controls.meta["auto_detail"] = True
    if detail is not None:
        t = torch.from_numpy(np.ascontiguousarray(detail, np.float32)).to(device)
        controls.detail = resize(t[..., None], height, width)[..., 0].clamp(0, 1)
    if options.palette:
        from ..io.palettes import parse_palette, to_hex

        colours = parse_palette(options.palette, image)
        controls.palette = torch.from_numpy(colours).to(device)
        controls.meta["palette"] = to_hex(colours)
    return controls


def load_detail_mask(source: object, image: np.ndarray) -> np.ndarray:
    """A detail mask as [H, W] in 0..1 (its brightness), checked against the picture:
    the same shape, and some detail asked for somewhere."""
    from ..io.image_io import load_image

    try:
        rgb = load_image(source, max_side=1024, background=(0.0, 0.0, 0.0))  # type: ignore[arg-type]
    except PainterError as exc:
        raise PainterError(f"detail mask: {exc}") from None
    mask = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    ih, iw = image.shape[:2]
    mh, mw = mask.shape
    if abs(math.log((mw / mh) / (iw / ih))) > 0.02:
        raise PainterError(f"the detail mask is {mw}x{mh} px but the picture is {iw}x{ih} px: the mask must have "
                           "the picture's shape; paint it over the picture, or scale it to the same aspect ratio")
    if float(mask.max()) < 1.0 / 255:
        raise PainterError("the detail mask is all black, so it asks for no detail anywhere; paint white where the "
                           "detail matters (black asks for the least)")
    return mask
