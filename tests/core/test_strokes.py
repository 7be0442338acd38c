import json

import numpy as np
import pytest
import torch

from core.errors import PainterError
from core.model.strokes import StrokeSet
from core.model.geometry import CURVE_POINTS, random_params, to_geometry
from core.contracts.styles import STYLES, get_style


def make(style="oil", n=5):
    spec = get_style(style)
    p = random_params(spec, n, torch.Generator().manual_seed(0)).numpy()
    return StrokeSet(style, 120, 80, p, np.arange(n) % 3 + 1, (0.2, 0.4, 0.6), {"seed": 1})


@pytest.mark.parametrize("style", list(STYLES))
def test_json_round_trip(tmp_path, style):
    s = make(style)
    s.save_json(tmp_path / "s.json")
    back = StrokeSet.load_json(tmp_path / "s.json")
    np.testing.assert_allclose(back.params, s.params, atol=1e-6)
    assert back.level.tolist() == s.level.tolist()
    assert (back.style, back.width, back.height) == (style, 120, 80)
    assert back.background == pytest.approx(s.background)
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["params"] == list(get_style(style).params)
    assert [st["order"] for st in data["strokes"]] == list(range(5))


def test_order_field_decides_painting_order():
    d = make("tape", 3).to_json_dict()
    d["strokes"] = list(reversed(d["strokes"]))
    back = StrokeSet.from_json_dict(d)
    np.testing.assert_allclose(back.params, make("tape", 3).params, atol=1e-6)


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.pop("schema"), "schema"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(style="crayon"), "unknown style"),
    (lambda d: d["strokes"][0].update(params=[0.1, 0.2]), "needs 12"),
    (lambda d: d["strokes"][1].update(params=["x"] * 12), "numeric"),
    (lambda d: d["strokes"][0]["params"].__setitem__(0, float("nan")), "non-finite"),
    (lambda d: d.update(canvas={"width": 0, "height": 5}), "positive"),
    (lambda d: d.update(strokes={}), "list"),
])
def test_malformed_json_is_a_clear_error(mutate, match):
    d = make("oil").to_json_dict()
    mutate(d)
    with pytest.raises(PainterError, match=match):
        StrokeSet.from_json_dict(d)


def test_invalid_json_text(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(PainterError, match="not valid JSON"):
        StrokeSet.load_json(p)
    with pytest.raises(PainterError, match="does not exist"):
        StrokeSet.load_json(tmp_path / "missing.json")


def test_geometry_shapes_and_units():
    s = make("marker", 4)
    g = s.geometry()
    assert g.points.shape == (4, CURVE_POINTS, 2) and g.radius.shape == (4, CURVE_POINTS)
    assert g.rgba.shape == (4, CURVE_POINTS, 4) and g.cap == "round"
    # x spans the long side (1.0), y the short side (80/120).
    assert g.points[..., 0].max() <= 1.0 + 1e-6 and g.points[..., 1].max() <= 80 / 120 + 1e-6
    tape = to_geometry("tape", np.array([[0.5, 0.5, 0.4, 0.1, 0.0, 1, 0, 0, 1]]), 100, 100)
    np.testing.assert_allclose(tape.points[0], [[0.3, 0.5], [0.7, 0.5]], atol=1e-6)
    np.testing.assert_allclose(tape.radius[0], [0.05, 0.05], atol=1e-6)
    assert tape.cap == "flat"
    oil = to_geometry("oil", np.array([[0.5, 0.5, 0.4, 0.1, 0.5, 1, 0, 0, 0, 0, 1, 1]]), 100, 100)
    # Vertical (theta = pi/2), round caps: points pulled in by the radius.
    np.testing.assert_allclose(oil.points[0], [[0.5, 0.35], [0.5, 0.65]], atol=1e-6)
    np.testing.assert_allclose(oil.rgba[0, :, :3], [[1, 0, 0], [0, 0, 1]], atol=1e-6)


def test_marker_taper_is_limited():
    g = to_geometry("marker", np.array([[0.1, 0.5, 0.5, 0.5, 0.9, 0.5, 0.2, 0.01, 0, 0, 0, 1]]), 100, 100)
    assert g.radius[0, -1] == pytest.approx(0.1, abs=1e-6)  # half the thick end, not 0.01


def test_stroke_ids_round_trip_and_stay_version_1(tmp_path):
    s = make("marker", 4)
    s.ids = np.array([100_000, 100_001, 250_007, 7], dtype=np.int64)
    s.save_json(tmp_path / "f.json")
    data = json.loads((tmp_path / "f.json").read_text())
    assert data["version"] == 1
    assert [st["id"] for st in data["strokes"]] == [100_000, 100_001, 250_007, 7]
    back = StrokeSet.load_json(tmp_path / "f.json")
    assert back.ids.tolist() == [100_000, 100_001, 250_007, 7]
    assert back.subset(2).ids.tolist() == [100_000, 100_001]
    assert StrokeSet.concat([back.subset(1), back]).ids.tolist()[:2] == [100_000, 100_000]
    # Ids follow the strokes when the file lists them out of painting order.
    data["strokes"] = list(reversed(data["strokes"]))
    assert StrokeSet.from_json_dict(data).ids.tolist() == [100_000, 100_001, 250_007, 7]
    # A file without ids (every file before painted shots) still loads, without ids.
    assert StrokeSet.from_json_dict(make("marker", 4).to_json_dict()).ids is None
    assert "id" not in make("marker", 1).to_json_dict()["strokes"][0]


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d["strokes"][1].pop("id"), "only 2 of 3 strokes have an id"),
    (lambda d: d["strokes"][1].update(id=d["strokes"][0]["id"]), "share an id"),
    (lambda d: d["strokes"][2].update(id=-4), "whole numbers >= 0"),
    (lambda d: d["strokes"][2].update(id=1.5), "whole numbers >= 0"),
])
def test_bad_stroke_ids_are_clear_errors(mutate, match):
    s = make("tape", 3)
    s.ids = np.array([1, 2, 3])
    d = s.to_json_dict()
    mutate(d)
    with pytest.raises(PainterError, match=match):
        StrokeSet.from_json_dict(d)
    with pytest.raises(PainterError, match="one id per stroke"):
        StrokeSet("tape", 10, 10, s.params, s.level, ids=[1, 2])
