"""The neural renderer: training, weights files, rendering through it, painting with it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.render import neural, raster
from core.app.cli import main
from core.errors import PainterError
from core.render.neural import (PatchRenderer, StrokeRenderer, TrainOptions, frames, held_out, load_renderer,
                         sample_local, save_weights, to_local, train)
from core.painters.painter import PaintOptions, run
from core.contracts.styles import STYLES, get_style
from core.model.geometry import random_params

STYLE_NAMES = list(STYLES)


pytestmark = pytest.mark.usefixtures("one_thread")


# -- frames and local parameters ---------------------------------------------------------

@pytest.mark.parametrize("style", STYLE_NAMES)
def test_local_parameters_draw_the_stroke_inside_its_frame(style):
    """A stroke's local parameters drawn on a unit canvas are its frame cut from the canvas."""
    import torch.nn.functional as F
    from core.render.reference import render
    from core.model.geometry import to_geometry
    spec = get_style(style)
    params = random_params(spec, 1, torch.Generator().manual_seed(3), max_size=0.4)
    params[:, -1] = 1.0
    positions = 6 if spec.params[0] == "x0" else 2
    params[:, :positions] = 0.35 + 0.3 * params[:, :positions]  # well inside the canvas
    size = 512
    centre, side = frames(style, params, (1.0, 1.0), 3.0 / size)
    local = to_local(style, params, (1.0, 1.0), centre, side)
    big = render(to_geometry(style, params, size, size), size, size, background=(0, 0, 0))
    small = render(to_geometry(style, local, 64, 64), 64, 64, background=(0, 0, 0))
    # Sample the big canvas at the frame's 64 x 64 pixel centres.
    ar = (torch.arange(64) + 0.5) / 64 - 0.5
    xs = (centre[0, 0] + ar * side[0]) * 2 - 1
    ys = (centre[0, 1] + ar * side[0]) * 2 - 1
    grid = torch.stack([xs[None, :].expand(64, 64), ys[:, None].expand(64, 64)], -1)[None]
    cut = F.grid_sample(torch.from_numpy(big).permute(2, 0, 1)[None], grid, align_corners=False)[0]
    cut = cut.permute(1, 2, 0).numpy()
    assert small.max() > 0.2  # the stroke is there
    assert neural.psnr(torch.from_numpy(cut), torch.from_numpy(small)) > 22


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_training_strokes_fill_their_frames(style):
    local = sample_local(style, 200, torch.Generator().manual_seed(0))
    fg, alpha = neural.analytic_targets(style, local)
    assert local.shape == (200, get_style(style).dim)
    assert torch.isfinite(local).all()
    covered = (alpha > 0.01).float().mean((1, 2))
    assert (covered > 0).all()  # no empty frames
    assert 0.05 < float(covered.mean()) < 0.7
    # Every stroke reaches within a few pixels of two opposite frame edges (fills its long side).
    rows, cols = (alpha > 0.01).any(2), (alpha > 0.01).any(1)
    span = torch.maximum(rows.sum(1), cols.sum(1)).float()
    assert float(span.median()) > 40


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_analytic_targets_match_the_reference_renderer(style):
    local = sample_local(style, 24, torch.Generator().manual_seed(1))
    fa, aa = neural.analytic_targets(style, local)
    fr, ar = neural.reference_targets(style, local)
    assert neural.psnr(fa, fr) > 40
    assert neural.psnr(aa, ar) > 40


# -- networks and training ---------------------------------------------------------------

@pytest.mark.parametrize("arch", neural.ARCHES)
def test_network_outputs_have_the_frame_shape_and_range(arch):
    model = StrokeRenderer("oil", arch)
    local = sample_local("oil", 5, torch.Generator().manual_seed(0))
    with torch.no_grad():
        mask, colour = model(local)
    assert mask.shape == (5, neural.OUTPUT_PX, neural.OUTPUT_PX)
    assert colour.shape == (5, 3, neural.OUTPUT_PX, neural.OUTPUT_PX)
    assert 0 <= float(mask.min()) and float(mask.max()) <= 1
    assert 0 <= float(colour.min()) and float(colour.max()) <= 1


def test_dual_rasterization_pathway_sees_only_shape():
    """Changing a stroke's colour must not move its mask: that is the point of two pathways."""
    model = StrokeRenderer("watercolor", "dual")
    local = sample_local("watercolor", 4, torch.Generator().manual_seed(0))
    recoloured = local.clone()
    colour = model.spec.cols.colour
    recoloured[:, colour] = 1 - recoloured[:, colour]
    m1, col1 = model(local)
    m2, col2 = model(recoloured)
    assert torch.equal(m1, m2)
    assert (col1 - col2).abs().max() > 1e-4


def test_quick_training_lowers_the_validation_loss(tmp_path):
    out = tmp_path / "tape.pt"
    result = train(TrainOptions(style="tape", out=out, quick=True, val_strokes=32), log=lambda _: None)
    history = result["history"]
    assert history[0]["step"] == 0 and history[-1]["step"] == 60
    assert history[-1]["alpha_db"] > history[0]["alpha_db"] + 2
    assert history[-1]["foreground_db"] > history[0]["foreground_db"] + 2
    model = load_renderer("tape", out)
    assert model.arch == "dual"
    # Resume continues from the checkpoint, not from scratch.
    lines: list[str] = []
    again = train(TrainOptions(style="tape", out=out, quick=True, val_strokes=32, steps=90, resume=True),
                  log=lines.append)
    assert any("resumed at step 60" in line for line in lines)
    assert again["steps"] == 60  # quick caps the total at 60: nothing left to do


def test_saved_weights_reload_to_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = StrokeRenderer("marker")
    path = tmp_path / "marker.pt"
    save_weights(model, path, {"note": "test"})
    loaded = load_renderer("marker", path)
    # The file stores half precision: the reloaded network is exactly the rounded original.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    local = sample_local("marker", 6, torch.Generator().manual_seed(2))
    with torch.no_grad():
        m1, c1 = model(local)
        m2, c2 = loaded(local)
        m3, c3 = load_renderer("marker", path)(local)
    assert torch.equal(m1, m2) and torch.equal(c1, c2)
    assert torch.equal(m2, m3) and torch.equal(c2, c3)
    blob = torch.load(path, weights_only=True)
    assert blob["meta"] == {"note": "test"}
    assert all(v.dtype == torch.float16 for v in blob["state"].values() if v.is_floating_point())


# -- weights files: every way they can be wrong --------------------------------------------

def test_missing_weights_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(PainterError, match=r"missing.*python -m core train --style oil.*--renderer analytic"):
        load_renderer("oil", tmp_path / "nope.pt")


def test_corrupt_weights_are_reported(tmp_path):
    bad = tmp_path / "oil.pt"
    bad.write_bytes(b"\x00not a torch file" * 50)
    with pytest.raises(PainterError, match=r"oil\.pt are corrupt"):
        load_renderer("oil", bad)
    truncated = tmp_path / "cut.pt"
    save_weights(StrokeRenderer("oil"), truncated, {})
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(PainterError, match="corrupt"):
        load_renderer("oil", truncated)


def test_weights_for_another_style_or_network_are_refused(tmp_path):
    path = tmp_path / "tape.pt"
    save_weights(StrokeRenderer("tape"), path, {})
    with pytest.raises(PainterError, match=r"style 'tape', not 'oil'"):
        load_renderer("oil", path)
    # Same style, different network shape (e.g. from another version).
    blob = torch.load(path, weights_only=True)
    key = next(k for k in blob["state"] if k.endswith("weight"))
    blob["state"][key] = torch.zeros(3, 3, dtype=torch.float16)
    torch.save(blob, path)
    with pytest.raises(PainterError, match="does not match this version's tape network"):
        load_renderer("tape", path)
    blob["version"] = 99
    torch.save(blob, path)
    with pytest.raises(PainterError, match="format version 99"):
        load_renderer("tape", path)
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(PainterError, match="not a Neural Painter renderer weights file"):
        load_renderer("tape", path)


def test_cli_reports_bad_weights_in_one_line(tmp_path, capsys):
    from PIL import Image
    img = tmp_path / "in.png"
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(img)
    code = main(["paint", str(img), "--renderer", "neural", "--weights", str(tmp_path / "none.pt"),
                 "--out", str(tmp_path / "out"), "--quiet", "--strokes", "4", "--size", "32"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "none.pt are missing" in err


def test_cli_quick_training_writes_loadable_weights(tmp_path, capsys):
    out = tmp_path / "w.pt"
    assert main(["train", "--style", "marker", "--out", str(out), "--quick", "--val-strokes", "16"]) == 0
    assert "wrote" in capsys.readouterr().err
    assert load_renderer("marker", out).style == "marker"
    assert main(["train", "--style", "marker", "--out", str(tmp_path / "x" / "w.pt"), "--quick"]) == 2
    assert main(["train", "--style", "marker", "--arch", "triple", "--out", str(out)]) == 2


# -- the shipped weights ---------------------------------------------------------------------

@pytest.mark.parametrize("style", STYLE_NAMES)
def test_shipped_weights_meet_a_floor_on_held_out_strokes(style):
    """A floor far below the model card's figures: it catches a broken or swapped file."""
    model = load_renderer(style)
    local, fg, alpha = held_out(style, 100, seed=11)
    acc = neural.evaluate(model, local, fg, alpha)
    assert acc.foreground_db > 22, acc
    assert acc.alpha_db > 22, acc


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_neural_patches_render_like_the_analytic_renderer_with_gradients(style):
    """Through the shipped network: right shapes and range, close to the analytic
    canvas, and a finite gradient for every parameter of every visible stroke."""
    spec = get_style(style)
    gen = torch.Generator().manual_seed(5)
    params = random_params(spec, 12, gen, max_size=0.35)
    size = 96
    exact = raster.render(style, params, size, size)
    through = PatchRenderer(load_renderer(style))
    p = params.clone().requires_grad_(True)
    canvas = raster.render(style, p, size, size, patch_renderer=through)
    assert canvas.shape == (size, size, 3)
    assert 0 <= float(canvas.detach().min()) and float(canvas.detach().max()) <= 1
    assert neural.psnr(canvas.detach(), exact) > 20
    weights = torch.rand(size, size, 3, generator=gen)
    (canvas * weights).sum().backward()
    grad = p.grad
    q = params.clone().requires_grad_(True)
    (raster.render(style, q, size, size) * weights).sum().backward()
    exact_grad = q.grad
    assert grad is not None and exact_grad is not None and torch.isfinite(grad).all()
    # Wherever a parameter moves the analytic rendering (all but e.g. a radius the
    # taper clamps), it must move the neural one too: position, size, angle, colour, alpha.
    moves = exact_grad.abs() > 1e-6
    assert moves.float().mean() > 0.8
    assert ((grad.abs() > 0) | ~moves).all(), (grad, exact_grad)
    # And mostly in the same direction.
    agree = (torch.sign(grad) == torch.sign(exact_grad))[moves].float().mean()
    assert agree > 0.75, agree


def test_frames_downsample_small_strokes_instead_of_point_sampling():
    """A stroke a few pixels wide is area-averaged from the 64 px frame (a mip level)."""
    spec = get_style("tape")
    p = torch.tensor([[0.5, 0.5, 0.05, 0.02, 0.3, 0.2, 0.4, 0.6, 1.0]])
    size = 64  # the stroke spans ~3 px
    exact = raster.render("tape", p, size, size)
    canvas = raster.render("tape", p, size, size, patch_renderer=PatchRenderer(load_renderer("tape")))
    ink_exact = float((1 - exact).sum())
    ink = float((1 - canvas).sum())
    assert spec.dim == p.shape[1]
    assert math.isclose(ink, ink_exact, rel_tol=0.25), (ink, ink_exact)


def test_painting_through_the_neural_renderer():
    from core.render.reference import render_strokes
    rng = np.random.default_rng(0)
    image = np.zeros((48, 48, 3), np.float32)
    image[:, :24] = (0.9, 0.2, 0.1)
    image[:, 24:] = (0.1, 0.3, 0.8)
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    options = PaintOptions(style="marker", strokes=30, size=48, renderer="neural", levels=2, iterations=8)
    strokes = run(image.clip(0, 1), options)
    assert len(strokes) == 30 and strokes.meta["renderer"] == "neural"
    painted = render_strokes(strokes)
    err = np.abs(painted - image.clip(0, 1)).mean()
    blank = np.abs(1 - image.clip(0, 1)).mean()
    assert err < 0.5 * blank
