"""The temporal painter's pieces in-process: the joint pass with its change penalty,
strokes added in a frame, stroke visibility, and the stroke-id ranges."""

import numpy as np
import pytest
import torch

from core.render import raster
from core.errors import PainterError
from core.painters.painter import PaintOptions
from core.painters.temporal import (ID_STRIDE, WARMUP_ID_OFFSET, TemporalOptions, _add_strokes, _live_strokes, born_ids,
                        joint_pass, stroke_visibility)
from core.contracts.styles import get_style

W = H = 40
BG = (1.0, 1.0, 1.0)
OPTIONS = PaintOptions(style="tape", strokes=4, size=40, min_alpha=0.3)


def tape(cx, cy, w=0.3, h=0.15, rgb=(0.9, 0.1, 0.1), a=1.0):
    return [cx, cy, w, h, 0.0, *rgb, a]


def target_of(params):
    with torch.no_grad():
        return raster.render("tape", torch.tensor(params, dtype=torch.float32), W, H, background=BG)


def moved_x(before, after):
    return (after[:, 0] - before[:, 0]) * W


def run_pass(p0, target, topts, movable=None, anchored=None, options=OPTIONS):
    n = len(p0)
    movable = torch.ones(n, dtype=torch.bool) if movable is None else torch.tensor(movable)
    anchored = torch.ones(n, dtype=torch.bool) if anchored is None else torch.tensor(anchored)
    return joint_pass("tape", p0, np.full(n, 3), target, BG, options, topts, movable, anchored)


def test_joint_pass_pulls_strokes_onto_the_picture(one_thread):
    truth = [tape(0.3, 0.3), tape(0.7, 0.7, rgb=(0.1, 0.2, 0.9))]
    p0 = torch.tensor([tape(0.3 + 2 / W, 0.3), tape(0.7 - 2 / W, 0.7, rgb=(0.1, 0.2, 0.9))])  # each 2 px off
    p = run_pass(p0, target_of(truth), TemporalOptions(iterations=30, change_weight=0.0))
    dx = moved_x(p0.numpy(), p.numpy())
    assert dx[0] < -1.0 and dx[1] > 1.0  # both moved back towards where the picture has them
    err_before = (raster.render("tape", p0, W, H, background=BG) - target_of(truth)).abs().mean()
    err_after = (raster.render("tape", p, W, H, background=BG) - target_of(truth)).abs().mean()
    assert err_after < 0.5 * err_before


def test_change_penalty_holds_anchored_strokes_back(one_thread):
    truth = [tape(0.5, 0.5)]
    p0 = torch.tensor([tape(0.5 + 3 / W, 0.5)])
    free = run_pass(p0, target_of(truth), TemporalOptions(iterations=25, change_weight=0.0))
    held = run_pass(p0, target_of(truth), TemporalOptions(iterations=25, change_weight=1e4))
    unanchored = run_pass(p0, target_of(truth), TemporalOptions(iterations=25, change_weight=1e4), anchored=[False])
    assert abs(moved_x(p0.numpy(), held.numpy())[0]) < 0.5 * abs(moved_x(p0.numpy(), free.numpy())[0])
    torch.testing.assert_close(unanchored, free)  # the penalty applies to anchored strokes only


def test_held_strokes_do_not_change_and_order_is_kept(one_thread):
    truth = [tape(0.3, 0.3), tape(0.5, 0.5), tape(0.7, 0.7)]
    p0 = torch.tensor([tape(0.32, 0.3), tape(0.53, 0.5), tape(0.67, 0.7)])
    p = run_pass(p0, target_of(truth), TemporalOptions(iterations=10), movable=[False, False, True])
    assert p.shape == p0.shape
    torch.testing.assert_close(p[:2], p0[:2])  # before the first movable stroke: painted once, untouched
    assert not torch.equal(p[2], p0[2])
    p = run_pass(p0, target_of(truth), TemporalOptions(iterations=10), movable=[True, False, True])
    torch.testing.assert_close(p[1], p0[1])  # held in the middle of the movable ones
    assert not torch.equal(p[0], p0[0]) and not torch.equal(p[2], p0[2])
    assert torch.equal(run_pass(p0, target_of(truth), TemporalOptions(iterations=10), movable=[False] * 3), p0)


def test_joint_pass_keeps_the_opacity_floor(one_thread):
    # A half-tone of the stroke's colour is best matched by a translucent stroke: the
    # pass lowers alpha when the floor allows it and never below the floor.
    truth = [tape(0.5, 0.5, a=0.5)]
    p0 = torch.tensor([tape(0.5, 0.5)])
    topts = TemporalOptions(iterations=30, change_weight=0.0)
    a = get_style("tape").params.index("a")
    low = run_pass(p0, target_of(truth), topts)
    opaque = run_pass(p0, target_of(truth), topts, options=PaintOptions(style="tape", strokes=4, size=40, min_alpha=1.0))
    assert float(low[0, a]) < 0.9
    assert float(opaque[0, a]) == 1.0


def _scattered_oil(n=80, seed=3):
    gen = torch.Generator().manual_seed(seed)
    p = torch.rand(n, get_style("oil").dim, generator=gen)
    p[:, 2:4] = 0.04 + 0.12 * p[:, 2:4]  # small strokes, so many meet no other
    return p


def test_strokes_baked_under_the_joint_pass_paint_the_same_canvas():
    """The strokes the joint pass paints once, under the ones it renders at each step,
    give exactly the painting of all strokes in their order."""
    p = _scattered_oil()
    movable = torch.zeros(len(p), dtype=torch.bool)
    movable[[5, 30, 55]] = True
    live = _live_strokes("oil", p, movable, 64, 48)
    assert live[[5, 30, 55]].all()
    assert 10 < (~live).sum() < len(p) - 3  # some baked, some live beyond the movable ones
    with torch.no_grad():
        whole = raster.render("oil", p, 64, 48, background=BG)
        under = raster.render("oil", p[torch.from_numpy(~live)], 64, 48, background=BG)
        split = raster.render("oil", p[torch.from_numpy(live)], 64, 48, base=under)
    assert (whole - split).abs().max() < 1e-5
    # Baking in order matters: painted in another order, the split would differ.
    with torch.no_grad():
        wrong = raster.render("oil", p[torch.from_numpy(live)], 64, 48,
                              base=raster.render("oil", p[torch.from_numpy(~live)].flip(0), 64, 48, background=BG))
    assert (whole - wrong).abs().max() > 1e-3
    # A stroke above a movable one that it meets is live; one that meets nothing live is not.
    b = raster.stroke_bounds("oil", p, (1.0, 0.75)).numpy()
    meets_5 = (b[:, 0] <= b[5, 2]) & (b[5, 0] <= b[:, 2]) & (b[:, 1] <= b[5, 3]) & (b[5, 1] <= b[:, 3])
    assert live[6:][meets_5[6:]].all()


def test_joint_pass_with_baked_strokes_moves_strokes_as_rendering_all_of_them(one_thread, monkeypatch):
    import core.painters.temporal as video

    truth = [tape(0.25, 0.3), tape(0.75, 0.7, rgb=(0.1, 0.2, 0.9)), tape(0.2, 0.8, rgb=(0.1, 0.8, 0.2)),
             tape(0.8, 0.2, rgb=(0.9, 0.8, 0.1))]
    start = torch.tensor(truth, dtype=torch.float32)
    start[0, 0] += 0.06  # the first stroke is off; the others sit where they belong
    target = target_of(truth)
    topts = TemporalOptions(iterations=15)
    movable = [True, False, False, False]
    fast = run_pass(start, target, topts, movable)
    monkeypatch.setattr(video, "_live_strokes", lambda style, params, movable, w, h: np.ones(len(params), bool))
    slow = run_pass(start, target, topts, movable)
    assert (fast - slow).abs().max() < 1e-5
    assert abs(moved_x(start[:1], fast[:1])[0]) > 0.3  # it did move back towards its place


def test_strokes_added_in_a_frame_paint_the_picture_and_are_oil_opaque(one_thread):
    truth = [tape(0.3, 0.4, w=0.4, h=0.3, rgb=(0.8, 0.2, 0.1)), tape(0.7, 0.6, w=0.3, h=0.3, rgb=(0.1, 0.3, 0.8))]
    target = target_of(truth)
    base = torch.ones(H, W, 3)
    options = PaintOptions(style="oil", strokes=8, size=40)  # oil: opaque paint by default
    new = _add_strokes(get_style("oil"), target, base, 8, 3, torch.Generator().manual_seed(0), options,
                       TemporalOptions(add_iterations=10), None, None)
    assert new.shape == (8, get_style("oil").dim)
    assert torch.all(new[:, get_style("oil").params.index("a")] == 1.0)
    with torch.no_grad():
        painted = raster.render("oil", new, W, H, base=base)
    assert (painted - target).abs().mean() < 0.6 * (base - target).abs().mean()


def test_visibility_is_zero_for_a_covered_stroke(one_thread):
    p = torch.tensor([tape(0.5, 0.5, w=0.2, h=0.1), tape(0.5, 0.5, w=0.6, h=0.4, rgb=(0.2, 0.8, 0.2)),
                      tape(0.2, 0.8, w=0.2, h=0.1, rgb=(0.1, 0.1, 0.9))])
    vis = stroke_visibility("tape", p, W, H, BG, scale=1.0).numpy()
    assert vis[0] < 1e-3  # entirely under the second stroke
    assert vis[1] > 100 and vis[2] > 10


def test_born_ids():
    assert born_ids(3, 2).tolist() == [3 * ID_STRIDE, 3 * ID_STRIDE + 1]
    assert born_ids(3, 1, warmup=True).tolist() == [3 * ID_STRIDE + WARMUP_ID_OFFSET]


def _square_over_ground(checker, top, steps):
    """Frames of a checkered square (``checker``, [side, side, 3]) over one still,
    textured 72 x 96 ground: one frame per (left x, brightness added) in ``steps``."""
    import cv2

    rng = np.random.default_rng(3)
    ground = cv2.GaussianBlur(rng.random((72, 96, 3)).astype(np.float32), (0, 0), 2.0) * 0.6 + 0.2
    side = checker.shape[0]
    frames = []
    for x, lift in steps:
        img = ground.copy()
        img[top:top + side, x:x + side] = checker + lift
        frames.append(np.clip(img, 0, 1).astype(np.float32))
    return frames


def test_what_moves_on_its_own_stops_at_its_outline():
    """A checkered square crossing a still, textured ground: the flow's motion spreads past
    the square onto the ground beside it, and own_motion takes that halo back to the
    square and the ground it covers or uncovers."""
    pytest.importorskip("cv2")
    import cv2

    from core.painters.flow import optical_flow, reliable_flow
    from core.painters.temporal import own_motion

    h, w, side = 72, 96, 16
    checker = np.kron((np.indices((4, 4)).sum(0) % 2), np.ones((4, 4)))[..., None] * np.array([0.9, 0.8, 0.1])
    frames = _square_over_ground(checker, 28, [(30, 0.05), (34, 0.05)])
    boxes = []
    for x in (30, 34):
        box = np.zeros((h, w), bool)
        box[28:28 + side, x:x + side] = True
        boxes.append(box)
    flow, back = optical_flow(frames[0], frames[1]), optical_flow(frames[1], frames[0])
    trust = reliable_flow(flow, back)
    gated = own_motion(frames[0], frames[1], flow, trust, TemporalOptions())
    ungated = own_motion(frames[0], frames[1], flow, trust, TemporalOptions(moving_colour_change=-1.0))
    near = cv2.dilate((boxes[0] | boxes[1]).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert (gated & boxes[0]).sum() >= 0.8 * boxes[0].sum()  # the square is found
    assert (ungated & ~near).sum() > 40  # the flow alone spreads onto the ground
    assert (gated & ~near).sum() <= 0.1 * gated.sum()  # the gate keeps it on the square


def test_ground_beside_a_moving_object_stays_put_and_the_object_carries_its_strokes():
    """Strokes of the ground right beside a square that moves 4 px, where the flow's
    motion spills over the square's outline, stay where they are; a stroke on the square
    travels with it. (Carried along the flow alone, the ground stroke drifts with the
    square.)"""
    pytest.importorskip("cv2")
    from core.model.strokes import StrokeSet
    from core.painters.temporal import paint_next

    h, w = 72, 96
    checker = np.kron((np.indices((4, 4)).sum(0) % 2), np.ones((4, 4)))[..., None] * np.array([0.9, 0.8, 0.1])
    frames = _square_over_ground(checker, 28, [(30, 0.05), (34, 0.05)])
    long_px = float(max(w, h))
    # 12 x 4 px strokes, (cx, cy) in px: on the square (x 30-46, y 28-44), and on the
    # ground just past its leading, trailing and lower edges, inside the flow's spill.
    # A fifth, fine stroke far away makes the others coarse, so none is repainted.
    centres = [(38.0, 36.0), (51.0, 36.0), (25.0, 36.0), (38.0, 49.0), (10.0, 10.0)]
    params = np.array([[cx / w, cy / h, 12 / long_px, 4 / long_px, 0.0, 0.5, 0.5, 0.5, 1.0]
                       for cx, cy in centres], np.float32)
    prev = StrokeSet("tape", w, h, params, np.array([1, 1, 1, 1, 3]), (1.0, 1.0, 1.0), {"frame": 1},
                     np.arange(5, dtype=np.int64))
    options = PaintOptions(style="tape", strokes=4, size=96)

    def moved(topts):
        out = [e for e in paint_next(prev, frames[0], frames[1], options, topts, 2, flow_only=True)
               if isinstance(e, StrokeSet)][0]
        assert out.ids.tolist() == [0, 1, 2, 3, 4]  # carried, none dropped
        return (out.params[:, 0] - params[:, 0]) * w

    dx = moved(TemporalOptions())
    assert 3.0 <= dx[0] <= 5.0  # on the square: with it
    assert np.abs(dx[1:]).max() < 0.25, dx  # the ground, however near: still
    spilled = moved(TemporalOptions(moving_px=0.0))  # every stroke along the flow
    # What the ground strokes at the leading and trailing edges would have done (the flow
    # spills along the motion; below the square, across it, it hardly does).
    assert np.abs(spilled[1:3]).min() > 1.0, spilled


def test_fine_strokes_on_what_moves_on_its_own_are_refitted_from_where_the_flow_put_them(one_thread):
    """A checkered square moves 4 px over a still ground and brightens by 0.1. The fine
    stroke on it keeps its id, travels with it, and is then re-fitted free of the penalty
    on change: it takes the brighter colour (held near the flow's guess, it would
    hardly change colour; repainted, it would be a new stroke with a new id)."""
    pytest.importorskip("cv2")
    from core.model.strokes import StrokeSet
    from core.painters.temporal import paint_next

    h, w = 72, 96
    checker = np.kron((np.indices((4, 4)).sum(0) % 2), np.ones((4, 4)))[..., None] * 0.3 + np.array([0.3, 0.2, 0.5])
    frames = _square_over_ground(checker, 28, [(30, 0.0), (34, 0.1)])
    long_px = float(max(w, h))
    square_mean = [float(c) for c in checker.reshape(-1, 3).mean(0)]
    ground = [float(c) for c in frames[0][:, :20].reshape(-1, 3).mean(0)]
    params = np.array([
        [0.5, 0.5, 1.0, 1.0, 0.0, *ground, 1.0],  # coarse: the ground
        [38 / w, 36 / h, 14 / long_px, 14 / long_px, 0.0, *square_mean, 1.0],  # fine, on the square
        [10 / w, 10 / h, 8 / long_px, 8 / long_px, 0.0, *ground, 1.0],  # fine, on the ground
    ], np.float32)
    prev = StrokeSet("tape", w, h, params, np.array([1, 3, 3]), (1.0, 1.0, 1.0), {"frame": 1},
                     np.arange(3, dtype=np.int64))
    options = PaintOptions(style="tape", strokes=3, size=96, min_alpha=0.3)
    # Nothing dropped, added or refreshed: only the carry and the joint pass act.
    topts = TemporalOptions(max_new_fraction=0.0, min_fraction=0.0, refresh_margin=10.0, torn_threshold=10.0,
                            keep_look=0.0, keep_look_moving=0.0, gap_threshold=0.0)
    out = [e for e in paint_next(prev, frames[0], frames[1], options, topts, 2) if isinstance(e, StrokeSet)][0]
    assert out.ids.tolist() == [0, 1, 2]
    dx = (out.params[1, 0] - params[1, 0]) * w
    assert 2.5 <= dx <= 5.5, dx  # with the square
    rise = float((out.params[1, 5:8] - params[1, 5:8]).mean())
    assert rise > 0.06, rise  # free: most of the 0.1 the square brightened by
    assert np.abs(out.params[2] - params[2]).max() < 1e-3  # the still ground's stroke: left alone
    with pytest.raises(PainterError, match="refit_fraction"):
        TemporalOptions(refit_fraction=1.5).validate()


def _brightening(keep_look: float):
    """A coarse stroke and a fine one on top of it, and a far one; in the second frame the
    light brightens over the first two. Returns (strokes before, strokes after)."""
    from core.model.strokes import StrokeSet
    from core.painters.temporal import paint_next

    size = 48
    coarse = tape(0.5, 0.5, w=0.6, h=0.6, rgb=(0.2, 0.4, 0.8))
    fine = tape(0.5, 0.5, w=0.2, h=0.2, rgb=(0.8, 0.3, 0.2))
    far = tape(0.12, 0.12, w=0.15, h=0.15, rgb=(0.1, 0.7, 0.2))
    params = np.array([coarse, fine, far], np.float32)
    with torch.no_grad():
        first = raster.render("tape", torch.from_numpy(params), size, size, background=BG).numpy()
    second = first.copy()
    second[10:38, 10:38] = np.clip(second[10:38, 10:38] + 0.1, 0, 1)  # the light brightens there
    prev = StrokeSet("tape", size, size, params, np.array([1, 3, 3]), BG, {"frame": 1},
                     np.arange(3, dtype=np.int64))
    options = PaintOptions(style="tape", strokes=3, size=size, min_alpha=0.3)
    # Nothing dropped, added or refreshed: only the joint pass acts.
    topts = TemporalOptions(max_new_fraction=0.0, min_fraction=0.0, refresh_margin=10.0, moving_px=0.0,
                            torn_threshold=10.0, covered_fraction=10.0, keep_look=keep_look)
    return params, [e for e in paint_next(prev, first, second, options, topts, 2) if isinstance(e, StrokeSet)][0]


def test_only_fine_strokes_are_reoptimised_where_the_picture_changed(one_thread):
    """The picture under a coarse stroke and a fine one on top of it brightens: the fine
    stroke is re-optimised towards it, the coarse one stays where the flow put it
    (nothing moves here, so where it was) with its colour, and a stroke where nothing
    changed is left alone too."""
    pytest.importorskip("cv2")
    params, out = _brightening(keep_look=0.0)
    assert out.ids.tolist() == [0, 1, 2]
    # The coarse stroke keeps its colour (the flow moves no colour) and its place, up to
    # the flow's noise over the changed square (well under a pixel).
    assert np.abs(out.params[0, 5:9] - params[0, 5:9]).max() < 1e-5
    assert np.abs(out.params[0, :4] - params[0, :4]).max() < 0.01
    change = np.abs(out.params[2] - params[2])
    change[4] = min(change[4], 1 - change[4])  # the same angle, wrapped
    assert change.max() < 1e-3  # where nothing changed: left alone
    # The fine one took the steps, towards the brighter picture (held back by the penalty
    # on change, which weighs a colour step of 0.02 as a pixel's move).
    assert (out.params[1, 5:8] - params[1, 5:8]).min() > 0.002


def test_keep_look_holds_the_previous_painting_where_the_flow_holds(one_thread):
    """With keep_look the strokes fit the previous painting carried along the flow as much
    as the frame: fully (1.0), the fine stroke keeps its colour though the light
    changed; halfway, it brightens by less than without it."""
    pytest.importorskip("cv2")
    params, free = _brightening(keep_look=0.0)
    _, half = _brightening(keep_look=0.5)
    _, held = _brightening(keep_look=1.0)
    rise = lambda out: float((out.params[1, 5:8] - params[1, 5:8]).mean())
    assert abs(rise(held)) < 5e-4
    assert 0.2 * rise(free) < rise(half) < 0.8 * rise(free)
    with pytest.raises(PainterError, match="keep-look"):
        TemporalOptions(keep_look=1.5).validate()


def test_keep_look_moving_holds_the_look_of_what_moves_on_its_own(one_thread):
    """A checkered square moves 4 px over a still, textured ground and brightens by 0.15.
    Its fine strokes are repainted (it moves on its own): with keep_look_moving 0 they
    follow the frame, with 1 they fit the previous painting carried along the flow and
    stay darker; the still ground is painted the same either way."""
    pytest.importorskip("cv2")
    from core.painters.events import Done
    from core.model.strokes import StrokeSet
    from core.painters.temporal import paint_first, paint_next

    h, w = 72, 96
    checker = (np.kron((np.indices((6, 6)).sum(0) % 2), np.ones((4, 4)))[..., None] * np.array([0.5, 0.4, 0.1])
               + np.array([0.2, 0.3, 0.5]))
    frames = _square_over_ground(checker, 24, [(30, 0.0), (34, 0.15)])
    options = PaintOptions(style="tape", strokes=40, size=96, seed=0)
    first = [e for e in paint_first(frames[0], options, 1) if isinstance(e, Done)][-1].strokes

    def painted(keep_moving):
        topts = TemporalOptions(keep_look=0.0, keep_look_moving=keep_moving)
        out = [e for e in paint_next(first, frames[0], frames[1], options, topts, 2) if isinstance(e, StrokeSet)][0]
        with torch.no_grad():
            return raster.render("tape", torch.from_numpy(out.params), w, h, background=out.background).numpy()

    follow, hold = painted(0.0), painted(1.0)
    square = (slice(27, 45), slice(37, 55))  # inside the square in the second frame
    assert abs(follow[square].mean() - frames[1][square].mean()) < 0.02  # the brighter square
    assert hold[square].mean() < follow[square].mean() - 0.04  # held towards the last painting (0.50)
    assert np.abs(hold[:, 70:] - follow[:, 70:]).mean() < 0.005  # the still ground beside it: about the same
    with pytest.raises(PainterError, match="keep-look-moving"):
        TemporalOptions(keep_look_moving=-0.1).validate()


def _gap_frame(gap_threshold: float):
    """An orange picture painted with a dark stroke (left by something that moved away)
    under two orange fine strokes with a 3 px gap between them; the next frame is the
    same picture. Returns (frame, painting of the next frame)."""
    from core.model.strokes import StrokeSet
    from core.painters.temporal import paint_next

    size, orange = 48, (0.85, 0.5, 0.15)
    params = np.array([tape(0.5, 0.5, w=1.0, h=1.0, rgb=orange),
                       tape(0.5, 0.5, w=0.5, h=0.2, rgb=(0.1, 0.1, 0.1)),
                       tape(0.345, 0.5, w=0.25, h=0.25, rgb=orange),
                       tape(0.655, 0.5, w=0.25, h=0.25, rgb=orange)], np.float32)
    frame = np.ones((size, size, 3), np.float32) * np.array(orange, np.float32)
    prev = StrokeSet("tape", size, size, params, np.array([1, 2, 3, 3]), BG, {"frame": 1},
                     np.arange(4, dtype=np.int64))
    options = PaintOptions(style="tape", strokes=4, size=size, min_alpha=0.3)
    # Nothing added or refreshed, and the error rose nowhere (the same frame again).
    topts = TemporalOptions(max_new_fraction=0.0, min_fraction=0.0, refresh_margin=10.0, keep_look=0.0,
                            gap_threshold=gap_threshold)
    out = [e for e in paint_next(prev, frame, frame, options, topts, 2) if isinstance(e, StrokeSet)][0]
    with torch.no_grad():
        return frame, raster.render("tape", torch.from_numpy(out.params), size, size, background=BG).numpy()


def test_fine_strokes_beside_a_gap_close_it(one_thread):
    """A dark stroke shows through a gap between fine strokes on a smooth picture: the
    error there did not rise, but the strokes beside the gap take steps and close it;
    with gap_threshold 0 the gap stays."""
    pytest.importorskip("cv2")
    frame, closed = _gap_frame(0.3)
    _, kept = _gap_frame(0.0)
    gap = (slice(21, 27), slice(23, 25))  # the middle of the gap
    assert np.abs(kept[gap] - frame[gap]).max(-1).mean() > 0.5  # the dark stroke shows
    assert np.abs(closed[gap] - frame[gap]).max(-1).mean() < 0.15
    assert np.abs(closed[:, :8] - frame[:, :8]).max() < 0.02  # away from it, still the picture
    with pytest.raises(PainterError, match="gap_threshold"):
        TemporalOptions(gap_threshold=1.5).validate()


def test_gaps_are_looked_for_only_where_the_picture_is_smooth():
    """A painting far off a detailed part of the picture (a checker of 1 px cells, which
    strokes cannot paint) is no gap; the same error on a smooth part is."""
    from core.painters.temporal import gaps_between_strokes

    frame = torch.full((20, 40, 3), 0.5)
    frame[:, 20:] = torch.from_numpy(np.indices((20, 20)).sum(0) % 2 * 0.8 + 0.1).float()[..., None]
    canvas = frame.clone()
    canvas[8:12, 8:12] = 0.0  # on the smooth half
    canvas[:, 20:] = 0.5  # the detailed half painted flat: off by 0.4 everywhere
    gaps = gaps_between_strokes(canvas, frame, frame, 0.3).numpy()
    assert gaps[8:12, 8:12].all()
    assert gaps.sum() == 16
