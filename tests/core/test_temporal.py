"""The temporal painter's pieces in-process: the joint re-optimisation with its change
penalty, stroke visibility, and the stroke-id ranges."""

import numpy as np
import pytest
import torch

from core import raster
from core.painter import PaintOptions
from core.video import ID_STRIDE, WARMUP_ID_OFFSET, TemporalOptions, born_ids, reoptimise_strokes, stroke_visibility

W = H = 40
BG = (1.0, 1.0, 1.0)
OPTIONS = PaintOptions(style="tape", strokes=4, size=40)


def tape(cx, cy, w=0.3, h=0.15, rgb=(0.9, 0.1, 0.1)):
    return [cx, cy, w, h, 0.0, *rgb, 1.0]


def target_of(params):
    with torch.no_grad():
        return raster.render("tape", torch.tensor(params, dtype=torch.float32), W, H, background=BG)


def moved_x(before, after):
    return (after[:, 0] - before[:, 0]) * W


@pytest.mark.parametrize("round_size", [None, 2])
def test_reoptimisation_pulls_strokes_onto_the_picture(one_thread, round_size):
    truth = [tape(0.3, 0.3), tape(0.7, 0.7, rgb=(0.1, 0.2, 0.9))]
    start = [tape(0.3 + 2 / W, 0.3), tape(0.7 - 2 / W, 0.7, rgb=(0.1, 0.2, 0.9))]  # each 2 px off
    p0 = torch.tensor(start)
    topts = TemporalOptions(iterations=30, step_px=0.3, change_weight=0.0)
    p = reoptimise_strokes("tape", p0, target_of(truth), BG, OPTIONS, topts, round_size=round_size)
    dx = moved_x(p0.numpy(), p.numpy())
    assert dx[0] < -1.0 and dx[1] > 1.0  # both moved back towards where the picture has them
    err_before = (raster.render("tape", p0, W, H, background=BG) - target_of(truth)).abs().mean()
    err_after = (raster.render("tape", p, W, H, background=BG) - target_of(truth)).abs().mean()
    assert err_after < 0.5 * err_before


def test_change_penalty_holds_strokes_back(one_thread):
    truth = [tape(0.5, 0.5)]
    p0 = torch.tensor([tape(0.5 + 3 / W, 0.5)])
    free = reoptimise_strokes("tape", p0, target_of(truth), BG, OPTIONS,
                              TemporalOptions(iterations=25, step_px=0.4, change_weight=0.0))
    held = reoptimise_strokes("tape", p0, target_of(truth), BG, OPTIONS,
                              TemporalOptions(iterations=25, step_px=0.4, change_weight=1e4))
    assert abs(moved_x(p0.numpy(), held.numpy())[0]) < 0.5 * abs(moved_x(p0.numpy(), free.numpy())[0])


def test_frozen_prefix_and_unmovable_strokes_do_not_change_and_order_is_kept(one_thread):
    truth = [tape(0.3, 0.3), tape(0.5, 0.5), tape(0.7, 0.7)]
    p0 = torch.tensor([tape(0.32, 0.3), tape(0.53, 0.5), tape(0.67, 0.7)])
    p = reoptimise_strokes("tape", p0, target_of(truth), BG, OPTIONS, TemporalOptions(iterations=10),
                           frozen=1, movable=torch.tensor([True, False, True]))
    assert p.shape == p0.shape
    torch.testing.assert_close(p[:2], p0[:2])  # frozen, and held by `movable`
    assert not torch.equal(p[2], p0[2])


def test_visibility_is_zero_for_a_covered_stroke(one_thread):
    p = torch.tensor([tape(0.5, 0.5, w=0.2, h=0.1), tape(0.5, 0.5, w=0.6, h=0.4, rgb=(0.2, 0.8, 0.2)),
                      tape(0.2, 0.8, w=0.2, h=0.1, rgb=(0.1, 0.1, 0.9))])
    vis = stroke_visibility("tape", p, W, H, BG, scale=1.0).numpy()
    assert vis[0] < 1e-3  # entirely under the second stroke
    assert vis[1] > 100 and vis[2] > 10


def test_born_ids():
    assert born_ids(3, 2).tolist() == [3 * ID_STRIDE, 3 * ID_STRIDE + 1]
    assert born_ids(3, 1, warmup=True).tolist() == [3 * ID_STRIDE + WARMUP_ID_OFFSET]
