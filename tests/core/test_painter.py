"""The progressive painter: budget, events, determinism, options, cancel, refine."""

import numpy as np
import pytest
import torch

from core.render import raster
from core.errors import PainterError
from core.painters.events import Done, LevelDone, LevelStarted, Progress, RefineStarted, Refined
from core.contracts.options import background_colour
from core.painters.painter import PaintOptions, default_levels, paint, run, strokes_per_level
from core.model.strokes import StrokeSet


def make_image(h: int = 48, w: int = 64) -> np.ndarray:
    """Two flat regions and a disc: simple enough to paint well with a few strokes."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (0.9, 0.8, 0.2)
    img[:, w // 2:] = (0.1, 0.3, 0.8)
    img[(yy - h / 2) ** 2 + (xx - w / 4) ** 2 < (h / 5) ** 2] = (0.8, 0.1, 0.1)
    return img


def quick(style="tape", strokes=20, **kw):
    kw.setdefault("refine", 4)
    return PaintOptions(style=style, strokes=strokes, size=48, iterations=4, **kw)


def psnr(a, b):
    return 10 * np.log10(1 / float(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


@pytest.mark.parametrize("strokes,levels", [(1, None), (7, 3), (20, None), (33, 2), (5, 8)])
def test_stroke_budget_is_honoured_exactly(strokes, levels):
    result = run(make_image(), quick(strokes=strokes, levels=levels))
    assert len(result) == strokes
    assert result.params.shape == (strokes, 9)
    assert np.isfinite(result.params).all()
    assert result.params.min() >= 0 and result.params.max() <= 1


def test_strokes_per_level_sums_and_grows():
    for n in (1, 9, 55, 500, 1001):
        for L in (1, 3, 6):
            counts = strokes_per_level(n, L)
            assert sum(counts) == n and len(counts) == L
            assert counts == sorted(counts)
    assert default_levels(500) == 6 and default_levels(10) == 1


@pytest.mark.parametrize("style", ["marker", "watercolor", "oil", "tape"])
def test_painting_resembles_the_image(style):
    img = make_image()
    opts = PaintOptions(style=style, strokes=24, size=64, iterations=8, levels=2)
    result = run(img, opts)
    with torch.no_grad():
        out = raster.render(style, torch.from_numpy(result.params), result.width, result.height,
                            background=result.background).numpy()
    target = torch.nn.functional.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None],
                                             size=(result.height, result.width), mode="area")[0].permute(1, 2, 0)
    blank = np.ones_like(out)
    assert psnr(out, target) > psnr(blank, target) + 5  # far better than an empty canvas


def test_events_arrive_in_order_and_levels_add_up():
    events = list(paint(make_image(), quick(strokes=30, levels=3)))
    kinds = [type(e) for e in events]
    assert kinds[0] is LevelStarted and kinds[-1] is Done
    started = [e for e in events if isinstance(e, LevelStarted)]
    done = [e for e in events if isinstance(e, LevelDone)]
    assert [e.level for e in started] == [1, 2, 3] == [e.level for e in done]
    assert sum(len(e.strokes) for e in done) == 30
    assert [len(e.painted) for e in done] == np.cumsum([len(e.strokes) for e in done]).tolist()
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] == pytest.approx(1.0)
    # After the levels, the final pass moves every stroke and says so once.
    assert kinds.index(RefineStarted) > kinds.index(LevelDone) + 2 and kinds.count(Refined) == 1
    assert kinds.index(Refined) == len(kinds) - 2
    final = events[-1].strokes
    refined = events[-2].strokes
    assert np.array_equal(final.params, refined.params)
    assert final.level.tolist() == sorted(final.level.tolist()) == done[-1].painted.level.tolist()
    assert not np.array_equal(final.params, done[-1].painted.params)


def test_the_final_pass_lowers_the_error_and_can_be_turned_off():
    img = make_image()
    greedy = run(img, quick(strokes=30, levels=3, refine=0))
    refined = run(img, quick(strokes=30, levels=3, refine=30))
    assert greedy.meta["refine"] == 0 and refined.meta["refine"] == 30
    def error(s):
        with torch.no_grad():
            out = raster.render("tape", torch.from_numpy(s.params), s.width, s.height, background=s.background)
        target = torch.nn.functional.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None],
                                                 size=(s.height, s.width), mode="area")[0].permute(1, 2, 0)
        return float(((out - target) ** 2).mean())
    assert error(refined) < 0.8 * error(greedy)


def test_same_seed_same_painting_other_seed_differs():
    a = run(make_image(), quick(seed=3))
    b = run(make_image(), quick(seed=3))
    c = run(make_image(), quick(seed=4))
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_cancel_keeps_finished_levels():
    gen = paint(make_image(), quick(strokes=30, levels=3))
    kept = None
    for event in gen:
        if isinstance(event, LevelDone):
            kept = event.painted
            if event.level == 2:
                gen.close()  # the user pressed Esc
                break
    assert kept is not None and len(kept) == sum(strokes_per_level(30, 3)[:2])
    assert np.isfinite(kept.params).all()


@pytest.mark.parametrize("value,expected", [
    ("white", (1, 1, 1)), ("black", (0, 0, 0)), ("#ff8000", (1, 128 / 255, 0)),
    ("0.1,0.2,0.3", (0.1, 0.2, 0.3)), ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
])
def test_background_values(value, expected):
    assert background_colour(value) == pytest.approx(expected)


def test_background_mean_is_the_image_mean_and_is_recorded():
    img = make_image()
    mean = tuple(float(c) for c in img.reshape(-1, 3).mean(0))
    assert background_colour("mean", lambda: mean) == pytest.approx(mean)
    result = run(img, quick(background="black", strokes=3))
    assert result.background == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", ["purple", "#12", "1,2,3", "0.1,0.2", "nan,0,0"])
def test_bad_background_is_a_clear_error(bad):
    with pytest.raises(PainterError, match="not a colour"):
        background_colour(bad)


@pytest.mark.parametrize("kw,match", [
    (dict(strokes=0), "out of range"), (dict(strokes=-5), "out of range"),
    (dict(strokes=10 ** 9), "out of range"), (dict(style="crayon"), "unknown style"),
    (dict(size=3), "out of range"), (dict(ot_weight=-1.0), "ot-weight"),
    (dict(device="tpu"), "unknown device"), (dict(renderer="magic"), "unknown renderer"),
])
def test_bad_options_are_clear_errors(kw, match):
    with pytest.raises(PainterError, match=match):
        run(make_image(), PaintOptions(**{"size": 48, **kw}))


def test_nan_in_the_image_never_reaches_the_strokes():
    img = make_image()
    img[5:20, 5:20] = np.nan
    result = run(img, quick(strokes=10))
    assert np.isfinite(result.params).all()


def test_tiny_image_paints():
    result = run(np.full((1, 1, 3), 0.3, np.float32), quick(strokes=4))
    assert len(result) == 4 and result.width == result.height == 48


def test_continue_from_strokes_adds_a_finer_level():
    first = run(make_image(), quick(strokes=12, levels=2))
    events = list(paint(make_image(), quick(strokes=10), init=first, add_levels=1))
    final = events[-1].strokes
    assert len(final) == 22
    assert np.array_equal(final.params[:12], first.params)  # kept as they were
    assert set(final.level[12:].tolist()) == {3}


def test_continue_needs_the_same_style():
    first = run(make_image(), quick(strokes=4))
    with pytest.raises(PainterError, match="style"):
        run(make_image(), quick(style="oil", strokes=4), init=first, add_levels=1)


def test_result_round_trips_through_json(tmp_path):
    result = run(make_image(), quick(strokes=6, style="watercolor"))
    result.save_json(tmp_path / "s.json")
    back = StrokeSet.load_json(tmp_path / "s.json")
    assert back.style == "watercolor" and len(back) == 6
    np.testing.assert_allclose(back.params, result.params, atol=1e-6)
    assert back.level.tolist() == result.level.tolist()
    assert (back.width, back.height, back.background) == (result.width, result.height, result.background)


def test_strokes_cross_block_borders_so_there_are_no_seams():
    """Unlike the paper's fixed blocks, a level's strokes live on the whole canvas."""
    from core.render.raster import stroke_bounds

    result = run(make_image(64, 64), PaintOptions(style="tape", strokes=40, size=64, levels=2, iterations=4))
    fine = torch.from_numpy(result.params[result.level == 2])
    b = stroke_bounds("tape", fine, (1.0, 1.0))
    crosses = ((b[:, 0] < 0.5) & (b[:, 2] > 0.5)) | ((b[:, 1] < 0.5) & (b[:, 3] > 0.5))
    assert int(crosses.sum()) >= 1
