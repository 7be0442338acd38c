"""The artist directs the painting (issue 22): stroke size limits, where the detail goes,
and the bad input each control can get. Palette and brush: test_palette.py, test_brush.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import PaintOptions, load_image
from core.contracts.styles import get_style
from core.errors import PainterError
from core.model.geometry import box_axis, taper
from core.painters.optimise import curve_lengths
from core.painters.painter import run

ROOT = Path(__file__).resolve().parents[2]


def photo(size: int = 128) -> np.ndarray:
    return load_image(ROOT / "samples" / "astronaut.png", max_side=size)


def thickness_and_length(strokes) -> tuple[np.ndarray, np.ndarray]:
    """Each stroke's thickness and length in px of its canvas, as the issue defines them:
    a box's short and long side; a curve's twice smaller radius and centre-line length
    (measured here on 2000 samples, finer than the painter's own measure)."""
    spec = get_style(strokes.style)
    p = torch.from_numpy(strokes.params).double()
    long_px = max(strokes.width, strokes.height)
    extent = (strokes.width / long_px, strokes.height / long_px)
    if spec.is_curve:
        radii = p[:, spec.cols.size]
        r0, r2 = taper(radii[:, 0], radii[:, 1])
        return (2 * torch.minimum(r0, r2) * long_px).numpy(), (curve_lengths(spec, p, extent, 2000) * long_px).numpy()
    _, _, half_long, half_short = box_axis(spec, p, extent)
    return (2 * half_short * long_px).numpy(), (2 * half_long * long_px).numpy()


@pytest.mark.parametrize("style", ["marker", "watercolor", "oil", "tape"])
def test_no_stroke_is_thinner_than_the_minimum_nor_longer_than_the_maximum(style):
    strokes = run(photo(), PaintOptions(style=style, strokes=60, size=96, min_stroke=3, max_stroke=20, seed=2))
    thin, long = thickness_and_length(strokes)
    assert len(strokes) == 60
    assert thin.min() >= 3 - 1e-4 and long.max() <= 20 + 1e-4, (thin.min(), long.max())
    # The painter chose levels whose strokes fit: grids of strokes at most 20 px of 96.
    assert strokes.level.min() >= 5
    assert strokes.meta["min_stroke"] == 3 and strokes.meta["max_stroke"] == 20
    # Without the limits the same painting has strokes far outside them.
    free_thin, free_long = thickness_and_length(run(photo(), PaintOptions(style=style, strokes=60, size=96, seed=2)))
    assert free_long.max() > 30


def test_a_minimum_alone_keeps_the_finest_levels_coarse_enough():
    strokes = run(photo(), PaintOptions(style="tape", strokes=80, size=96, min_stroke=12, seed=0))
    thin, _ = thickness_and_length(strokes)
    assert thin.min() >= 12 - 1e-4 and strokes.level.max() <= 96 // 18


def test_a_painted_shot_keeps_every_frame_within_the_limits():
    from core.contracts.options import TemporalOptions
    from core.painters.temporal import paint_first, paint_next

    frames = [np.roll(photo(64), 3 * i, axis=1) for i in range(3)]  # a pan: strokes move with it
    options = PaintOptions(style="oil", strokes=24, size=48, levels=2, min_stroke=2.5, max_stroke=12)
    first = [e for e in paint_first(frames[0], options, 1)][-1].strokes
    prev = first
    for n in (1, 2):
        *_, strokes = paint_next(prev, frames[n - 1], frames[n], options, TemporalOptions(iterations=3), n + 1)
        thin, long = thickness_and_length(strokes)
        assert thin.min() >= 2.5 - 1e-4 and long.max() <= 12 + 1e-4
        prev = strokes


@pytest.mark.parametrize("changes,message", [
    (dict(min_stroke=30, max_stroke=10), "--min-stroke 30 is above --max-stroke 10"),
    (dict(max_stroke=500), "--max-stroke 500 px is larger than the canvas (64x42 px at --size 64)"),
    (dict(min_stroke=0.1), "--min-stroke 0.1 is out of range: use at least 0.5"),
])
def test_stroke_sizes_the_painter_cannot_meet_are_one_line_errors(changes, message):
    with pytest.raises(PainterError) as err:
        run(load_image(ROOT / "samples" / "coffee.jpg", max_side=128), PaintOptions(size=64, strokes=5, **changes))
    assert message in str(err.value) and "\n" not in str(err.value)


def _mask(path: Path, size: tuple[int, int], left: float, right: float) -> Path:
    """A mask asking for ``left`` detail on the left half of the picture, ``right`` on the right."""
    w, h = size
    m = np.full((h, w), right, np.float32)
    m[:, : w // 2] = left
    Image.fromarray((m * 255).astype(np.uint8)).save(path)
    return path


def test_more_and_smaller_strokes_go_where_the_mask_is_bright(tmp_path):
    image = photo(128)
    mask = _mask(tmp_path / "left.png", (128, 128), 1.0, 0.0)
    options = dict(style="tape", strokes=150, size=96, seed=1)
    plain = run(image, PaintOptions(**options))
    masked = run(image, PaintOptions(**options, detail_mask=str(mask)))
    assert len(masked) == len(plain) == 150  # the budget, exactly
    assert masked.meta["detail_mask"] == str(mask)

    def left_share(s):
        cx = s.params[:, get_style("tape").cols.position.start]
        return float((cx < 0.5).mean())

    fine = masked.level == masked.level.max()
    fine_left = masked.params[fine, 0] < 0.5
    assert fine_left.mean() > 0.8  # the finest strokes gather where detail is asked for
    assert left_share(masked) > left_share(plain) + 0.15
    thin, long = thickness_and_length(masked)
    cx = masked.params[:, 0]
    assert np.median(long[cx < 0.5]) < np.median(long[cx >= 0.5])  # and they are smaller there


def test_the_detail_mask_raises_fidelity_where_it_is_bright(tmp_path):
    from core.render.reference import render_strokes

    image = photo(128)
    mask = _mask(tmp_path / "left.png", (128, 128), 1.0, 0.0)
    options = dict(style="marker", strokes=120, size=64, seed=4)

    def halves(s):
        picture = render_strokes(s, 64)
        target = np.asarray(Image.fromarray((image * 255).astype(np.uint8)).resize((64, 64), Image.BOX)) / 255.0
        err = (picture - target) ** 2
        return float(err[:, :32].mean()), float(err[:, 32:].mean())

    plain_left, plain_right = halves(run(image, PaintOptions(**options)))
    masked_left, masked_right = halves(run(image, PaintOptions(**options, detail_mask=str(mask))))
    assert masked_left < 0.8 * plain_left  # better where asked
    assert masked_right > plain_left * 0.5  # and the rest still painted (not left blank)


def test_bad_detail_masks_are_one_line_errors(tmp_path):
    image = photo(128)
    wide = _mask(tmp_path / "wide.png", (200, 100), 1.0, 0.0)
    black = _mask(tmp_path / "black.png", (128, 128), 0.0, 0.0)
    for path, message in ((wide, "the detail mask is 200x100 px but the picture is 128x128 px"),
                          (black, "the detail mask is all black"),
                          (tmp_path / "none.png", "detail mask: ")):
        with pytest.raises(PainterError) as err:
            run(image, PaintOptions(strokes=5, size=32, detail_mask=str(path)))
        assert message in str(err.value) and "\n" not in str(err.value)


def test_auto_detail_finds_the_face_with_the_detector_opencv_ships():
    pytest.importorskip("cv2")
    from core.painters.detail import auto_detail, find_faces

    image = photo(512)
    (x, y, w, h), = find_faces(image)  # the astronaut's face, nothing else
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 180
    mask = auto_detail(image)
    assert mask.shape == (512, 512) and mask.max() == pytest.approx(1.0)
    assert mask[int(y + h / 2), int(x + w / 2)] == pytest.approx(1.0)  # the face asks for the most
    assert mask[500, 10] < 0.5  # a plain corner for little
    strokes = run(photo(128), PaintOptions(style="tape", strokes=40, size=64, auto_detail=True))
    assert strokes.meta["auto_detail"] is True and len(strokes) == 40
