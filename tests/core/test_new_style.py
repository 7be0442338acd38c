"""A sixth style, defined in the tests (``tests/sixth_style.py``) and registered like a
plug-in: it paints, renders to PNG and SVG and round-trips through JSON with no other
module changed. Grease Pencil: ``tests/blender/test_new_style_in_grease_pencil.py``."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.contracts.options import PaintOptions
from core.errors import PainterError
from core.model.strokes import StrokeSet
from sixth_style import PASTEL, pastel_registered


def _photo() -> np.ndarray:
    yy, xx = np.mgrid[0:40, 0:56] / 56.0
    img = np.stack([0.3 + 0.6 * xx, 0.7 - 0.4 * yy, 0.5 + 0.3 * np.sin(6 * xx)], -1)
    img[10:26, 12:30] = (0.85, 0.3, 0.2)
    return img.astype(np.float32)


@pytest.fixture(scope="module")
def painted():
    from core.painters.painter import run

    with pastel_registered():
        yield run(_photo(), PaintOptions(style="pastel", strokes=24, size=48, levels=2, seed=1))


def test_a_style_unknown_to_the_engine_until_registered():
    with pytest.raises(PainterError, match="unknown style 'pastel'"):
        PaintOptions(style="pastel").validate()
    assert PASTEL.params == ("cx", "cy", "w", "h", "theta", "r", "g", "b", "a")


def test_the_new_style_paints_within_its_own_limits(painted):
    from core.render.reference import render_strokes

    assert painted.style == "pastel" and len(painted) == 24 and painted.meta["refine"] == 12
    alpha = painted.params[:, PASTEL.cols.alpha]
    assert alpha.max() <= 0.9 + 1e-6 and alpha.min() >= 0.3 - 1e-6  # its own opacity limits
    with pastel_registered():
        picture = render_strokes(painted, 48)
        target = _photo()[::1, ::1]
    # A painting of the photo, not of the blank canvas: the red box is red.
    assert picture.shape == (34, 48, 3)
    red = picture[9:21, 11:24].mean((0, 1))
    assert red[0] > 0.6 and red[1] < 0.5, red
    assert np.abs(picture - np.asarray(_resize(target, 34, 48))).mean() < 0.12


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize((w, h), Image.BOX)) / 255.0


def test_the_new_style_has_soft_edges_in_the_optimiser_and_the_reference_renderer():
    """The look comes from the spec: a soft box fades over its edge in both renderers."""
    import torch

    from core.render import raster
    from core.render.reference import render_strokes

    params = np.array([[0.5, 0.5, 0.7, 0.3, 0.0, 0.1, 0.2, 0.8, 0.9]], np.float32)
    with pastel_registered():
        strokes = StrokeSet("pastel", 64, 64, params, [1])
        ref = render_strokes(strokes, 64)
        fast = raster.render("pastel", torch.from_numpy(params), 64, 64).numpy()
    row = ref[32, :, 0]  # red, across the stroke's long axis: white, a soft rim, a paler middle
    assert row[0] == pytest.approx(1.0) and row[32] < 0.8  # painted inside, white outside
    assert row.min() < row[32] - 0.2  # more pigment at the rim, as a watercolour wash
    assert int(((row[:20] > row.min() + 0.05) & (row[:20] < 0.99)).sum()) >= 3  # the edge fades over pixels
    assert 10 * np.log10(1 / np.mean((ref - fast) ** 2)) > 35


def test_the_new_style_round_trips_through_json_and_exports_svg(painted, tmp_path):
    from core.render.export import write_svg

    with pastel_registered():
        painted.save_json(tmp_path / "p.json")
        back = StrokeSet.load_json(tmp_path / "p.json")
        write_svg(painted, tmp_path / "p.svg")
    assert back.style == "pastel" and np.allclose(back.params, painted.params, atol=1e-6)
    assert np.array_equal(back.level, painted.level)
    svg = (tmp_path / "p.svg").read_text()
    assert len(re.findall(r"<(?:path|line|polyline|rect|circle|ellipse|polygon)\b", svg)) >= 24
    assert "blur" in svg.lower()  # the soft edge, as watercolour's
    with pytest.raises(PainterError, match="unknown style 'pastel'"):
        StrokeSet.load_json(tmp_path / "p.json")  # once unregistered, it is unknown again
