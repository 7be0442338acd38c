"""The differentiable renderer: agreement with the reference, exact compositing, gradients."""

import numpy as np
import pytest
import torch

from core.render import raster, reference
from core.contracts.styles import STYLES, get_style
from core.model.geometry import random_params, to_geometry

FLOOR_DB = {"marker": 30.0, "watercolor": 30.0, "oil": 25.0, "tape": 30.0}


def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


@pytest.mark.parametrize("style", list(STYLES))
def test_agrees_with_reference_renderer(style):
    """200 random strokes at 256 px: what the optimiser sees is what every exporter draws."""
    params = random_params(get_style(style), 200, torch.Generator().manual_seed(7))
    with torch.no_grad():
        ours = raster.render(style, params, 256, 256).numpy()
    ref = reference.render(to_geometry(style, params, 256, 256), 256, 256)
    assert ours.shape == ref.shape == (256, 256, 3)
    assert psnr(ours, ref) >= FLOOR_DB[style]
    # It is a real painting, not an empty canvas that trivially agrees.
    assert (ref < 0.95).any(axis=-1).mean() > 0.3


@pytest.mark.parametrize("style", list(STYLES))
def test_agrees_on_a_non_square_canvas(style):
    params = random_params(get_style(style), 60, torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = raster.render(style, params, 200, 120, background=(0.1, 0.2, 0.3)).numpy()
    ref = reference.render(to_geometry(style, params, 200, 120), 200, 120, background=(0.1, 0.2, 0.3))
    assert psnr(ours, ref) >= FLOOR_DB[style]


def naive_over(style, params, width, height, background):
    """Stroke-by-stroke compositing over the whole canvas: slow, obviously right."""
    canvas = torch.tensor(background, dtype=torch.float32).expand(height, width, 3)
    for i in range(params.shape[0]):
        canvas = raster.render(style, params[i:i + 1], width, height, base=canvas)
    return canvas


def test_wave_compositing_equals_sequential_over():
    params = random_params(get_style("tape"), 80, torch.Generator().manual_seed(1))
    with torch.no_grad():
        fast = raster.render("tape", params, 96, 96)
        slow = naive_over("tape", params, 96, 96, (1.0, 1.0, 1.0))
    assert torch.allclose(fast, slow, atol=1e-5)


def test_order_matters_later_stroke_on_top():
    red = [0.5, 0.5, 0.6, 0.3, 0.0, 1.0, 0.0, 0.0, 1.0]
    blue = [0.5, 0.5, 0.6, 0.3, 0.0, 0.0, 0.0, 1.0, 1.0]
    with torch.no_grad():
        rb = raster.render("tape", torch.tensor([red, blue]), 64, 64)
        br = raster.render("tape", torch.tensor([blue, red]), 64, 64)
    assert rb[32, 32].tolist() == pytest.approx([0, 0, 1], abs=1e-5)
    assert br[32, 32].tolist() == pytest.approx([1, 0, 0], abs=1e-5)


def test_half_transparent_stroke_blends_in_linear_light():
    """50% black over white is sRGB 0.735 in linear light (0.5 if blended in sRGB)."""
    black = torch.tensor([[0.5, 0.5, 0.8, 0.8, 0.0, 0.0, 0.0, 0.0, 0.5]])
    with torch.no_grad():
        out = raster.render("tape", black, 32, 32)
    assert out[16, 16].tolist() == pytest.approx([0.7354] * 3, abs=2e-3)


@pytest.mark.parametrize("style", list(STYLES))
def test_gradients_are_finite_and_reach_every_parameter(style):
    spec = get_style(style)
    params = random_params(spec, 6, torch.Generator().manual_seed(4))
    params[:, -1] = 0.8  # partly transparent, so alpha and the colour below both matter
    params.requires_grad_(True)
    target = torch.rand(64, 64, 3, generator=torch.Generator().manual_seed(5))
    loss = (raster.render(style, params, 64, 64) - target).abs().mean()
    loss.backward()
    grad = params.grad
    assert torch.isfinite(grad).all()
    # Every parameter of every visible stroke moves the loss.
    per_param = grad.abs().sum(dim=0)
    assert (per_param > 0).all(), dict(zip(spec.params, per_param.tolist()))


def test_degenerate_strokes_give_no_nan():
    spec = get_style("marker")
    p = torch.zeros(4, spec.dim)
    p[:, -1] = 1.0  # zero length, zero radius, at the corner
    p[1, :6] = 0.5
    p[2, :6] = torch.tensor([0.2, 0.2, 0.2, 0.2, 0.9, 0.9])
    p.requires_grad_(True)
    out = raster.render("marker", p, 48, 48)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(p.grad).all()


def test_a_huge_stroke_does_not_give_small_strokes_huge_patches():
    """Each stroke gets a patch of its own size, so one big stroke among many tiny ones
    costs only its own pixels; runs split the strokes by a pixel budget."""
    n = 101
    bounds = torch.zeros(n, 4)
    bounds[:, 0] = torch.linspace(0.05, 0.9, n)
    bounds[:, 1] = 0.5
    bounds[:, 2] = bounds[:, 0] + 0.01
    bounds[:, 3] = 0.51
    bounds[50] = torch.tensor([0.0, 0.0, 1.0, 1.0])
    layout = raster.Layout(bounds, 256, 256, 256)
    assert layout.sizes[50] >= 256
    assert (np.delete(layout.sizes, 50) <= 8).all()
    assert {size for size, _ in layout.buckets} == {8, int(layout.sizes[50])}
    areas = np.array([16.0] * 50 + [250000.0] + [16.0] * 50)
    runs = raster._runs(areas, budget=1e5)
    assert runs[0] == (0, 50) and runs[1] == (50, 51)
    assert sum(e - s for s, e in runs) == n
    for s, e in runs:
        assert areas[s:e].sum() <= 1e5 or e - s == 1


def test_mixed_sizes_render_like_one_at_a_time():
    """Ragged patches composite exactly as painting the strokes one by one."""
    spec = get_style("tape")
    p = random_params(spec, 40, torch.Generator().manual_seed(3), max_size=0.6)
    p[::7, 2] = 0.9  # a few big strokes among small ones
    together = raster.render("tape", p, 64, 48)
    one_by_one = torch.ones(48, 64, 3)
    for i in range(len(p)):
        one_by_one = raster.render("tape", p[i:i + 1], 64, 48, base=one_by_one)
    assert torch.allclose(together, one_by_one, atol=1e-5)


@pytest.mark.parametrize("style", ["oil", "marker", "watercolor"])
def test_held_render_paints_and_differentiates_as_render_does(style):
    """Strokes held in place are evaluated once: after the free ones move, the canvas
    and the free strokes' gradients are still render's, and held rows get none."""
    gen = torch.Generator().manual_seed(5)
    params = random_params(get_style(style), 120, gen)
    held = torch.rand(len(params), generator=gen) < 0.5
    base = torch.rand(72, 96, 3, generator=gen)
    weight = torch.rand(72, 96, 3, generator=gen)
    moved = params.clone()
    moved[~held, :2] = (moved[~held, :2] + 0.05).clamp(0, 1)  # the free strokes move
    for budget in (4e6, 3e3):  # one run, and many
        render = raster.HeldRender(style, params, held, 96, 72, pixel_budget=budget)
        assert len(render.runs) == 1 if budget == 4e6 else len(render.runs) > 5
        q_ref = moved.clone().requires_grad_(True)
        q = moved.clone().requires_grad_(True)
        ref = raster.render(style, q_ref, 96, 72, base=base, pixel_budget=budget)
        ours = render(q, base)
        assert torch.allclose(ours, ref, atol=1e-5)
        assert psnr(ref.detach(), base) < 20  # the strokes did paint
        (ref * weight).sum().backward()
        (ours * weight).sum().backward()
        scale = float(q_ref.grad.abs().max())
        assert float((q.grad[~held] - q_ref.grad[~held]).abs().max()) < 1e-3 * scale
        assert float(q_ref.grad[~held].abs().sum()) > 0
        assert float(q.grad[held].abs().max()) == 0.0
