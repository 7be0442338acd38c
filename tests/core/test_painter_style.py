"""Style transfer in the painter: while painting, and as a second pass over a painting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.app.cli import main
from core.errors import PainterError
from core.painters.events import Done, LevelDone, Progress
from core.painters.painter import PaintOptions, run, stylize
from core.model.strokes import StrokeSet
from core.contracts.options import Tuning
from core.contracts.styles import get_style

PALETTE = np.array([[0.85, 0.1, 0.1], [0.1, 0.1, 0.75]], np.float32)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def style_png(tmp_path):
    """Red and blue stripes: a palette and a texture no grey photo has."""
    img = np.zeros((64, 64, 3), np.uint8)
    for y in range(64):
        img[y] = (PALETTE[(y // 4) % 2] * 255).astype(np.uint8)
    path = tmp_path / "stripes.png"
    Image.fromarray(img).save(path)
    return str(path)


def _photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((40, 40, 3), 0.55, np.float32)
    img[8:30, 10:28] = (0.75, 0.7, 0.3)
    return (img + rng.normal(0, 0.02, img.shape)).clip(0, 1).astype(np.float32)


def _palette_distance(strokes: StrokeSet) -> float:
    """Mean distance of the strokes' colours to the nearest palette colour."""
    rgb = strokes.params[:, get_style(strokes.style).cols.colour_start]
    return float(np.min(np.linalg.norm(rgb[:, None] - PALETTE[None], axis=2), axis=1).mean())


def _small(**kw) -> PaintOptions:
    base = dict(style="marker", strokes=16, size=40, levels=2, iterations=6, tuning=Tuning(style_size=48))
    base.update(kw)
    return PaintOptions(**base)


def test_painting_with_a_style_image_takes_its_palette(style_png):
    plain = run(_photo(), _small())
    styled = run(_photo(), _small(style_image=style_png, style_weight=4.0))
    assert len(styled) == len(plain) == 16
    assert styled.meta["style_mode"] == "full" and styled.meta["style_features"] == "offline"
    assert _palette_distance(styled) < 0.85 * _palette_distance(plain)


def test_color_mode_moves_only_colours_in_a_second_pass(style_png):
    painting = run(_photo(), _small())
    events = list(stylize(painting, _small(style_image=style_png, style_mode="color", iterations=25)))
    restyled = events[-1].strokes
    assert isinstance(events[-1], Done) and isinstance(events[-2], LevelDone)
    shape = get_style("marker").shape_columns
    assert np.array_equal(restyled.params[:, shape], painting.params[:, shape])
    assert np.abs(restyled.params - painting.params).max() > 0.05
    assert np.array_equal(restyled.level, painting.level)
    assert _palette_distance(restyled) < _palette_distance(painting)
    losses = [e.loss for e in events if isinstance(e, Progress)]
    assert losses[-1] < losses[0]


def test_full_mode_second_pass_moves_shapes_too(style_png):
    painting = run(_photo(), _small())
    restyled = list(stylize(painting, _small(style_image=style_png, style_mode="full", iterations=15)))[-1].strokes
    shape = get_style("marker").shape_columns
    assert np.abs(restyled.params[:, shape] - painting.params[:, shape]).max() > 1e-3


def test_bad_style_options_are_one_line_errors(style_png, tmp_path):
    with pytest.raises(PainterError, match=r"style image: .*nope\.png does not exist"):
        run(_photo(), _small(style_image=str(tmp_path / "nope.png")))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(PainterError, match="style image"):
        run(_photo(), _small(style_image=str(broken)))
    with pytest.raises(PainterError, match="--style-mode"):
        _small(style_image=style_png, style_mode="texture").validate()
    with pytest.raises(PainterError, match="--style-weight"):
        _small(style_image=style_png, style_weight=-1.0).validate()
    with pytest.raises(PainterError, match="--style-features"):
        _small(style_image=style_png, style_features="resnet").validate()
    painting = run(_photo(), _small(strokes=4, levels=1, iterations=2))
    with pytest.raises(PainterError, match="needs a style image"):
        list(stylize(painting, _small()))
    # VGG-16 with nothing cached and no download allowed: the message offers the way out.
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        with pytest.raises(PainterError, match="offline"):
            run(_photo(), _small(style_image=style_png, style_features="vgg16", allow_download=False))
    finally:
        torch.hub.set_dir(hub)


def test_cli_stylize_writes_a_restyled_painting(style_png, tmp_path, capsys):
    painting = run(_photo(), _small())
    src = tmp_path / "strokes.json"
    painting.save_json(src)
    out = tmp_path / "out"
    code = main(["stylize", str(src), "--style-image", style_png, "--style-mode", "color", "--iterations", "10",
                 "--size", "40", "--out", str(out), "--quiet", "--animation", "none"])
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "strokes.json").read_text())
    restyled = StrokeSet.from_json_dict(data)
    assert len(restyled) == len(painting)
    assert restyled.meta["style_mode"] == "color"
    assert (out / "painting.png").is_file()
    # Missing style image: exit 2, one line, nothing written.
    code = main(["stylize", str(src), "--style-image", str(tmp_path / "none.png"), "--out", str(tmp_path / "o2"),
                 "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "none.png" in err
    assert not (tmp_path / "o2" / "strokes.json").exists()
