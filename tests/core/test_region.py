"""Refine by region (``core.painters.region``): new strokes only where the mask is bright
or around the selected strokes, the selected strokes optimised again, every other
stroke held to the bit; bad regions are one-line errors; the worker serves it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.contracts import protocol as wire
from core.contracts.options import PaintOptions
from core.errors import PainterError
from core.model.strokes import StrokeSet
from core.painters.events import Done
from core.painters.painter import run
from core.painters.region import load_mask, refine_region, selection_footprint
from core.render import raster

H, W = 48, 64


def image(right: tuple[float, float, float] = (0.1, 0.3, 0.8)) -> np.ndarray:
    img = np.zeros((H, W, 3), np.float32)
    img[:] = (0.9, 0.8, 0.2)
    img[:, W // 2:] = right
    return img


def options(strokes: int = 12, **kw: object) -> PaintOptions:
    return PaintOptions(style="tape", strokes=strokes, size=W, iterations=4, refine=6, levels=1, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def painting() -> StrokeSet:
    return run(image(), options(16))


def finish(events) -> StrokeSet:
    out = None
    for event in events:
        if isinstance(event, Done):
            out = event.strokes
    assert out is not None
    return out


def render(s: StrokeSet) -> np.ndarray:
    with torch.no_grad():
        return raster.render(s.style, torch.from_numpy(s.params), s.width, s.height, background=s.background).numpy()


def test_a_mask_repaints_only_where_it_is_bright(painting: StrokeSet) -> None:
    """The right half changes colour in the new reference; the mask covers it. The old
    strokes stay to the bit, the new ones land on the right half and make it right,
    and the left half, far from the mask's edge, keeps its pixels."""
    new_ref = image(right=(0.85, 0.1, 0.1))
    mask = np.zeros((H, W), np.float32)
    mask[:, W // 2:] = 1.0
    out = finish(refine_region(new_ref, options(10), painting, 1, mask=mask))
    n = len(painting)
    assert len(out) == n + 10
    np.testing.assert_array_equal(out.params[:n], painting.params)  # held exactly
    assert (out.params[n:, 0] > 0.4).all(), out.params[n:, 0]  # tape's centre x: on the right half
    before, after = render(painting), render(out)
    err = lambda img: float(np.abs(img - new_ref)[:, W // 2 + 4:].mean())  # noqa: E731
    assert err(after) < 0.5 * err(before)
    left = slice(0, W // 2 - 8)
    assert np.abs(after[:, left] - before[:, left]).max() < 0.02


def test_selected_strokes_move_and_every_other_stroke_is_held(painting: StrokeSet) -> None:
    picked = [2, 9]
    out = finish(refine_region(image(right=(0.85, 0.1, 0.1)), options(6), painting, 1, selected=picked))
    n = len(painting)
    assert len(out) == n + 6
    others = [i for i in range(n) if i not in picked]
    np.testing.assert_array_equal(out.params[others], painting.params[others])
    assert np.abs(out.params[picked] - painting.params[picked]).max() > 1e-3
    # The new strokes go where the selected strokes paint.
    region = selection_footprint(painting, picked)
    xs = np.clip((out.params[n:, 0] * W).astype(int), 0, W - 1)
    ys = np.clip((out.params[n:, 1] * H).astype(int), 0, H - 1)
    assert (region[ys, xs] > 0).mean() >= 0.8


def test_the_selection_footprint_is_where_the_strokes_paint() -> None:
    params = np.array([[0.25, 0.5, 0.2, 0.2, 0.0, 0.5, 0.5, 0.5, 1.0]], np.float32)  # a square in the left half
    s = StrokeSet("tape", W, H, params, [1])
    foot = selection_footprint(s, [0])
    assert foot.shape == (H, W)
    assert foot[H // 2, W // 4] == pytest.approx(1.0) and foot[H // 2, 3 * W // 4] == 0.0
    side = 0.2 * W / 2  # half the square, in pixels
    inside = int(W / 4 + side + 1)  # within the 3 px margin
    assert foot[H // 2, inside] > 0.5 and foot[H // 2, int(W / 4 + side + 6)] == 0.0


def test_a_mask_file_is_its_brightness_stretched_over_the_canvas(tmp_path) -> None:
    from PIL import Image

    m = np.zeros((12, 16), np.uint8)
    m[:, 8:] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    got = load_mask(str(tmp_path / "mask.png"), W, H)
    assert got.shape == (H, W) and got[:, :W // 2 - 2].max() == 0.0 and got[:, W // 2 + 2:].min() == 1.0
    np.save(tmp_path / "mask.npy", np.dstack([m / 255.0, m / 255.0, m / 255.0, np.zeros_like(m, float)]))
    np.testing.assert_allclose(load_mask(str(tmp_path / "mask.npy"), W, H), got, atol=1e-6)


@pytest.mark.parametrize("mask,selected,message", [
    (None, (), "needs a mask or selected strokes"),
    (np.zeros((H, W), np.float32), (), "black everywhere"),
    (None, (99,), "not all in the painting"),
    (np.ones((10, 10), np.float32), (), "stretch it to the painting"),
])
def test_a_bad_region_is_one_line(painting: StrokeSet, mask, selected, message) -> None:
    with pytest.raises(PainterError, match=message):
        finish(refine_region(image(), options(4), painting, 1, mask=mask, selected=selected))


def test_the_worker_serves_a_region_refine(painting: StrokeSet, tmp_path) -> None:
    """A Refine request with a region, as Blender sends it: the painting comes as init,
    the mask as a .npy; the worker's events end with the whole painting."""
    from core.app.worker import run as serve

    ref = tmp_path / "ref.png"
    from PIL import Image

    Image.fromarray((image(right=(0.85, 0.1, 0.1)) * 255).astype(np.uint8)).save(ref)
    mask = np.zeros((H, W), np.float32)
    mask[:, W // 2:] = 1
    np.save(tmp_path / "mask.npy", mask)
    request = wire.Request(image=str(ref), options=options(5), init=painting.to_json_dict(), add_levels=1,
                           region=wire.RegionSpec(mask=str(tmp_path / "mask.npy")))
    request = wire.Request.from_json(request.to_json())  # as it crosses the pipe
    sent: list = []
    assert serve(request, type("Channel", (), {"send": lambda self, e: sent.append(e)})(), lambda: False) == 0
    kinds = [type(e).__name__ for e in sent]
    assert kinds[0] == "Hello" and kinds[1] == "Init" and kinds[-1] == "Done", kinds
    final = [e for e in sent if isinstance(e, (wire.Level, wire.Refined))][-1].payload.strokes
    assert len(final["strokes"]) == len(painting) + 5


def test_a_region_reads_strictly() -> None:
    r = wire.RegionSpec(mask="m.png", selected=(1, 4))
    assert wire.RegionSpec.from_dict(r.to_dict()) == r
    with pytest.raises(wire.ProtocolError, match="mask or selected"):
        wire.RegionSpec.from_dict({"mask": None, "selected": []})
    with pytest.raises(wire.ProtocolError, match="stroke indices"):
        wire.RegionSpec.from_dict({"selected": [-1]})
    with pytest.raises(wire.ProtocolError, match="unknown field 'selection'"):
        wire.RegionSpec.from_dict({"selection": [1]})


def test_a_region_keeps_the_artists_palette_and_stroke_sizes(painting: StrokeSet) -> None:
    """The artist's controls (issue 22) hold in a region refine too: the selected strokes
    and the new ones end on the palette's paints and within the stroke size limits, in
    the joint pass as in the painting of the new strokes, while every other stroke, painted
    without a palette, stays to the bit."""
    paints = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    picked = [2, 9]
    opts = options(6, palette="#ff0000,#0000ff", max_stroke=20.0)
    out = finish(refine_region(image(right=(0.85, 0.1, 0.1)), opts, painting, 1, selected=picked))
    n = len(painting)
    others = [i for i in range(n) if i not in picked]
    np.testing.assert_array_equal(out.params[others], painting.params[others])
    from core.contracts.styles import get_style

    cols = get_style("tape").cols
    moved = out.params[picked + list(range(n, len(out)))]
    colours = moved[:, cols.colour_start]
    assert np.abs(colours[:, None, :] - paints[None]).max(-1).min(-1).max() < 1e-6, colours
    longest = 20.0 / W  # long-side units: the canvas's long side is W
    w, h = cols.size.start, cols.size.start + 1
    assert moved[:, [w, h]].max() <= longest + 1e-6, moved[:, [w, h]]
