"""The renderer's hand-written backward passes against the truth, in float64.

Colour and opacity enter the canvas smoothly, so central finite differences are their
truth. Shape parameters have none to compare with: the forward edge is a linear ramp but
the backward a sigmoid (``raster._edge``), so the whole backward pass is compared with
plain autograd through a slow composite built from the same per-pixel formulas, one
stroke at a time over the whole canvas. Both :func:`raster.render` and
:class:`raster.HeldRender` (the temporal painter's joint pass) are checked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import pytest
import torch

from core.contracts.styles import STYLES, get_style
from core.model.colour import linear_to_srgb, srgb_to_linear
from core.model.geometry import random_params
from core.render import raster

pytestmark = pytest.mark.usefixtures("one_thread")

F64 = torch.float64
STROKES = 6

#: Central-difference step. Truncation error (eps^2 times the loss's third derivative,
#: which the sRGB curve makes large on dark pixels) and rounding error (1e-16 / eps) leave
#: finite differences within 1e-9 of a column's largest gradient here (measured), so a
#: tolerance of 1e-6 keeps a wide margin and still sits far below any real slip (a
#: halved gradient is off by half, a colour gradient 10% low by 0.1).
FD_EPS = 1e-6
FD_RTOL = 1e-6

#: The fast path and the reference evaluate the same formulas on the same pixels and
#: differ only in the order of sums: measured 1e-15 of a column's largest gradient. Any
#: slip in the hand-written backward moves a column by percents.
AUTOGRAD_RTOL = 1e-9


_float32_texture_stack = raster._texture_stack


@functools.lru_cache(maxsize=4)
def _float64_texture_stack(device: torch.device) -> torch.Tensor:
    return _float32_texture_stack(device).double()


@pytest.fixture(autouse=True)
def float64_oil_texture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oil texture is a float32 tensor and grid_sample wants it in the grid's dtype,
    so oil strokes cannot be rendered in float64 as they are; the same texels in float64
    change nothing but that."""
    monkeypatch.setattr(raster, "_texture_stack", _float64_texture_stack)


def overlapping_strokes(style: str, n: int, seed: int) -> torch.Tensor:
    """``n`` translucent strokes crowded into the middle of the canvas, so that most of
    what they paint lies over or under another stroke. Colours stay clear of 0 and 1
    and of the sRGB curve's linear toe: the colour conversions have kinks there, and
    finite differences across a kink are no truth."""
    spec = get_style(style)
    gen = torch.Generator().manual_seed(seed)
    p = random_params(spec, n, gen, max_size=0.6).double()
    pos, colour = spec.cols.position, spec.cols.colour
    if spec.is_curve:
        p[:, pos] = 0.5 + (p[:, pos] - 0.5) * 0.4
        p[:, spec.cols.size] = 0.04 + 0.05 * torch.rand(n, 2, generator=gen, dtype=F64)
    else:
        p[:, pos] = 0.35 + 0.3 * p[:, pos]
    p[:, colour] = 0.15 + 0.7 * torch.rand(n, colour.stop - colour.start, generator=gen, dtype=F64)
    p[:, spec.cols.alpha] = 0.4 + 0.4 * torch.rand(n, generator=gen, dtype=F64)
    return p


@dataclass
class Scene:
    style: str
    params: torch.Tensor  # [N, D] float64
    base: torch.Tensor  # [H, W, 3] float64 sRGB
    weight: torch.Tensor  # [H, W, 3]: the loss is sum(canvas * weight)
    held: torch.Tensor  # [N] bool; all False on the render path
    paint: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (params, base) -> canvas

    def loss(self, canvas: torch.Tensor) -> torch.Tensor:
        return (canvas * self.weight).sum()


def scene(style: str, path: str, seed: int = 11) -> Scene:
    """Strokes over a non-uniform base, painted by ``render`` on a wide canvas or by
    ``HeldRender`` on a tall one, every other stroke held: held strokes lie both under
    and over free ones, and the free ones have moved since the held pixels were baked."""
    width, height = (36, 28) if path == "render" else (28, 36)
    gen = torch.Generator().manual_seed(seed)
    params = overlapping_strokes(style, STROKES, seed)
    base = 0.2 + 0.6 * torch.rand(height, width, 3, generator=gen, dtype=F64)
    weight = torch.randn(height, width, 3, generator=gen, dtype=F64)
    if path == "render":
        held = torch.zeros(STROKES, dtype=torch.bool)

        def paint(p: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return raster.render(style, p, width, height, base=b)
    else:
        held = torch.arange(STROKES) % 2 == 1
        start = params.clone()
        start[~held, get_style(style).cols.position] -= 0.02
        paint = raster.HeldRender(style, start, held, width, height)
    return Scene(style, params, base, weight, held, paint)


def fast_gradients(s: Scene) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Canvas, d loss / d params and d loss / d base through the renderer under test."""
    params = s.params.clone().requires_grad_(True)
    base = s.base.clone().requires_grad_(True)
    canvas = s.paint(params, base)
    s.loss(canvas).backward()
    return canvas.detach(), params.grad, base.grad


def evaluated_pixels(seen: list[raster.StrokePixels], n: int, width: int, height: int) -> torch.Tensor:
    """[N, H * W] bool: the canvas pixels at which each stroke was evaluated."""
    assert len(seen) == 1, "the scene is meant to be one run, so sid is the stroke's row"
    pixels = seen[0]
    layout = pixels.layout
    y = pixels.index // layout.padded_width - layout.pad
    x = pixels.index % layout.padded_width - layout.pad
    assert ((x >= 0) & (x < width) & (y >= 0) & (y < height)).all()
    mask = torch.zeros(n, height * width, dtype=torch.bool)
    mask[pixels.sid, y * width + x] = True
    return mask


def fast_gradients_and_pixels(s: Scene) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`fast_gradients`, and the pixels [N, H * W] each stroke was evaluated at,
    read from what the renderer composites."""
    seen: list[raster.StrokePixels] = []
    composite = raster.composite

    def record(base: torch.Tensor, pixels: raster.StrokePixels) -> torch.Tensor:
        seen.append(pixels)
        return composite(base, pixels)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(raster, "composite", record)
        canvas, grad, grad_base = fast_gradients(s)
    height, width = s.base.shape[:2]
    return canvas, grad, grad_base, evaluated_pixels(seen, len(s.params), width, height)


def sequential_composite(style: str, params: torch.Tensor, base: torch.Tensor,
                         differentiated: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The slow, obviously correct renderer: every stroke's alpha and linear colour at
    every pixel centre (the renderer's own per-pixel formulas, surrogate edge gradient
    included), painted one stroke after another with out-of-place "over" in linear
    light. Returns the sRGB canvas and the alphas [N, H * W].

    The fast path evaluates a stroke only near its outline (``GRADIENT_MARGIN_PX``) and
    on its patch; elsewhere a pixel has zero alpha but the sigmoid's tail would still
    give it a small shape gradient, which the fast path leaves out by design.
    ``differentiated`` [N, H * W] restricts the alphas' gradient to the pixels the fast
    path evaluated, so what is compared is the compositing and its backward, not that
    cut-off; that every painted pixel is among them, and how much the cut-off leaves
    out, are checked on their own."""
    n = len(params)
    height, width = base.shape[:2]
    long_px = max(width, height)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=F64), torch.arange(width, dtype=F64), indexing="ij")
    px = ((xs.reshape(-1) + 0.5) / long_px).repeat(n)
    py = ((ys.reshape(-1) + 0.5) / long_px).repeat(n)
    sid = torch.arange(n).repeat_interleave(height * width)
    alpha, colour = raster.render_pixels(style, params, sid, px, py, long_px, (width / long_px, height / long_px))
    alpha, colour = alpha.view(n, -1), colour.view(n, -1, 3)
    painted = alpha if differentiated is None else torch.where(differentiated, alpha, alpha.detach())
    canvas = srgb_to_linear(base).reshape(-1, 3)
    for i in range(n):
        canvas = canvas + painted[i, :, None] * (colour[i] - canvas)
    return linear_to_srgb(canvas.view(height, width, 3)), alpha.detach()


def reference_gradients(s: Scene, differentiated: torch.Tensor | None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Canvas, d loss / d params, d loss / d base and alphas of :func:`sequential_composite`."""
    params = s.params.clone().requires_grad_(True)
    base = s.base.clone().requires_grad_(True)
    canvas, alpha = sequential_composite(s.style, params, base, differentiated)
    s.loss(canvas).backward()
    return canvas.detach(), params.grad, base.grad, alpha


def column_errors(ours: torch.Tensor, truth: torch.Tensor, names: list[str]) -> dict[str, float]:
    """Largest error in each parameter column, relative to that column's largest
    gradient (columns differ in scale by orders of magnitude: positions move many edge
    pixels, colours few)."""
    scale = truth.abs().amax(0).clamp_min(1e-12)
    return dict(zip(names, ((ours - truth).abs().amax(0) / scale).tolist()))


@pytest.mark.parametrize("path", ["render", "held"])
@pytest.mark.parametrize("style", list(STYLES))
def test_colour_and_opacity_gradients_match_finite_differences(style, path):
    s = scene(style, path)
    spec = get_style(style)
    _, grad, _ = fast_gradients(s)
    free = torch.nonzero(~s.held)[:, 0].tolist()
    columns = list(range(spec.dim)[spec.cols.colour]) + [spec.cols.alpha]
    fd = torch.zeros(len(free), len(columns), dtype=F64)
    with torch.no_grad():
        for i, row in enumerate(free):
            for j, col in enumerate(columns):
                plus, minus = s.params.clone(), s.params.clone()
                plus[row, col] += FD_EPS
                minus[row, col] -= FD_EPS
                # The difference of canvases, not of losses: far less cancellation.
                fd[i, j] = s.loss(s.paint(plus, s.base) - s.paint(minus, s.base)) / (2 * FD_EPS)
    assert (fd[:, -1].abs() > 0).all(), "every free stroke shows on the canvas"
    errors = column_errors(grad[free][:, columns], fd, [spec.params[c] for c in columns])
    assert errors["a"] < FD_RTOL, f"opacity gradient off: {errors}"
    assert max(errors.values()) < FD_RTOL, f"colour gradient off: {errors}"
    if path == "held":
        assert (grad[s.held] == 0).all()


def assert_matches_reference(s: Scene) -> tuple[torch.Tensor, torch.Tensor]:
    """The fast path's canvas, free rows' gradients and base gradient are the sequential
    composite's, and held rows get no gradient. Returns the pixels each stroke was
    evaluated at and the reference's alphas, both [N, H * W]."""
    canvas, grad, grad_base, evaluated = fast_gradients_and_pixels(s)
    ref_canvas, ref_grad, ref_grad_base, alpha = reference_gradients(s, evaluated)
    # Pixels the fast path skips are unpainted: it paints what the reference paints.
    assert not (alpha[~evaluated] > 0).any(), "a painted pixel was skipped"
    assert float((canvas - ref_canvas).abs().max()) < 1e-12, "canvas differs"
    free = ~s.held
    errors = column_errors(grad[free], ref_grad[free], list(get_style(s.style).params))
    assert max(errors.values()) < AUTOGRAD_RTOL, f"parameter gradients off: {errors}"
    scale = float(ref_grad_base.abs().max())
    assert float((grad_base - ref_grad_base).abs().max()) < AUTOGRAD_RTOL * scale, "base gradient off"
    assert (grad[s.held] == 0).all(), "held strokes get no gradient"
    return evaluated, alpha


@pytest.mark.parametrize("path", ["render", "held"])
@pytest.mark.parametrize("style", list(STYLES))
def test_backward_matches_autograd_through_a_sequential_composite(style, path):
    s = scene(style, path)
    _, alpha = assert_matches_reference(s)
    # The scene is what the check needs: every stroke shares pixels with another, some
    # three deep, so upper strokes hide part of the gradient of the ones below.
    depth = (alpha > 0).sum(0)
    assert ((alpha > 0) & (depth >= 2)).any(1).all() and (depth >= 3).any()


#: What the fast path leaves out of the surrogate's gradient, as a share of a column's
#: largest gradient. It evaluates a stroke only on its patch, which ends 1 to 1.7 px
#: beyond the outline on some sides (the margin asks for 2.5 px), where a hard edge's
#: sigmoid still has up to 6% of its peak slope. Measured in these scenes: 3e-4 (oil) to
#: 5e-3 (tape); other scenes reach 5e-2 where the two ends' pulls on a length nearly
#: cancel. Without the margin (GRADIENT_MARGIN_PX = 0) it is 0.1 to 0.4.
LEFT_OUT_RTOL = 2e-2


@pytest.mark.parametrize("path", ["render", "held"])
@pytest.mark.parametrize("style", list(STYLES))
def test_pixels_left_unevaluated_carry_little_of_the_surrogate_gradient(style, path):
    s = scene(style, path)
    _, grad, _, _ = fast_gradients_and_pixels(s)
    _, whole_canvas_grad, _, _ = reference_gradients(s, None)
    free = ~s.held
    errors = column_errors(grad[free], whole_canvas_grad[free], list(get_style(style).params))
    assert max(errors.values()) < LEFT_OUT_RTOL, errors


def rendered_scene(style: str, rows: list[list[float]], width: int, height: int) -> Scene:
    """``rows`` of parameters painted by :func:`raster.render` over a random base."""
    gen = torch.Generator().manual_seed(2)
    return Scene(style, torch.tensor(rows, dtype=F64),
                 0.2 + 0.6 * torch.rand(height, width, 3, generator=gen, dtype=F64),
                 torch.randn(height, width, 3, generator=gen, dtype=F64), torch.zeros(len(rows), dtype=torch.bool),
                 lambda p, b: raster.render(style, p, width, height, base=b))


@pytest.mark.parametrize("width, height", [(40, 100), (100, 40)])
def test_a_stroke_longer_than_the_canvas_paints_to_its_far_edge(width, height):
    """A patch is capped at the canvas's long side plus a margin, so a thick stroke
    along that side, longer than it, is cut to its patch; the patch must still reach
    the canvas's far edge, however far out the padding lets it start."""
    along_x = width > height
    ends = [0.0, 0.5, 0.5, 0.5, 1.0, 0.5] if along_x else [0.5, 0.0, 0.5, 0.5, 0.5, 1.0]
    # marker: x0 y0 x1 y1 x2 y2 r0 r2 r g b a; a radius of 0.2 is 20 px.
    assert_matches_reference(rendered_scene("marker", [ends + [0.2, 0.2, 0.3, 0.5, 0.7, 0.8]], width, height))


def test_a_strokes_gradient_margin_never_overwrites_paint_of_its_wave():
    """Strokes whose patches do not overlap share a wave, which writes their pixels in
    one go. A stroke is also evaluated a little beyond its outline, for the sigmoid's
    tail; were those pixels not kept on its patch, one could be a pixel another stroke
    of the wave paints, written twice: that stroke's paint lost there, and this one's
    gradient taken as if it lay under it. Here a small slanted stroke's margin reaches
    two columns back into its left neighbour's patch, onto a column that one paints."""
    width = height = 32
    # tape: cx cy w h theta r g b a (lengths of the 32 px side, theta of pi): a level
    # stroke from x = 5.5 to 10.25 px, then a 5 x 2 px one turned 45 degrees at x = 15.75.
    rows = [[7.875 / width, 0.5, 4.75 / width, 4 / width, 0.0, 0.8, 0.2, 0.2, 0.7],
            [15.75 / width, 0.5, 5 / width, 2 / width, 0.25, 0.2, 0.2, 0.8, 0.6]]
    s = rendered_scene("tape", rows, width, height)
    assert len(raster.stroke_pixels("tape", s.params, width, height).layout.waves()) == 1, "one wave, as meant"
    assert_matches_reference(s)
