"""The artist's brush (issue 22, point 4): the presets that ship, a picture as a brush,
the brush as a stroke's look in every renderer, in the optimiser, in the strokes file,
on every path (API, CLI, paint-frames, the worker's payload), and bad input refused in
one line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.contracts.brushes import BRUSHES_DIR, PRESETS, STENCIL_COLS, STENCIL_ROWS, Brush, preset_files
from core.contracts.options import PaintOptions
from core.contracts.styles import STYLES, get_style
from core.errors import PainterError
from core.model.brushes import (brush_from_meta, brush_meta, load_brush, painting_spec, preset, stencil)
from core.model.geometry import random_params, to_geometry
from core.model.strokes import StrokeSet
from core.render import raster, reference
from test_cli import cli, one_line_error, run_main  # noqa: F401  (run_main is a fixture)
from test_new_style import _photo

ROOT = Path(__file__).resolve().parents[2]


def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def picture(path: Path, paint: np.ndarray, mode: str = "L") -> Path:
    """A brush picture of ``paint`` (bool [h, w], x along the stroke): a black mark on
    white ("L"), or a white mark whose alpha is the paint on a transparent ground ("RGBA")."""
    if mode == "L":
        Image.fromarray(np.where(paint, 0, 255).astype(np.uint8), "L").save(path)
    else:
        rgba = np.zeros(paint.shape + (4,), np.uint8)
        rgba[..., :3] = 255
        rgba[..., 3] = np.where(paint, 255, 0)
        Image.fromarray(rgba, "RGBA").save(path)
    return path


def half_brush(tmp_path: Path, mode: str = "L") -> Brush:
    """Paint on the first half along the stroke and on the first rows across it only."""
    y, x = np.mgrid[0:40, 0:100]
    return load_brush(str(picture(tmp_path / f"half_{mode}.png", (x < 50) | (y < 10), mode)))


# --- the presets ------------------------------------------------------------------------------


def test_five_presets_ship_each_a_different_mark():
    assert PRESETS == ("flat", "filbert", "fan", "dry", "round")
    stencils = {name: stencil(preset(name)) for name in PRESETS}
    for name, s in stencils.items():
        assert s.shape == (STENCIL_ROWS, STENCIL_COLS)
        assert 0.2 < s.mean() < 0.9, name  # paint, and bare canvas somewhere
        assert s.max() == 1.0 and s.min() == 0.0
    for a in PRESETS:
        for b in PRESETS:
            if a < b:
                assert np.abs(stencils[a] - stencils[b]).mean() > 0.1, (a, b)
    # The same on every call and machine: drawn from fixed seeds.
    assert preset("fan") == Brush("fan", preset("fan").stencil)


def test_the_committed_pictures_are_the_presets_and_load_back_as_them():
    """brushes/NAME.png come from scripts/make_brushes.py; re-run it if this fails."""
    files = preset_files()
    assert set(files) == set(PRESETS) and all(p.parent == BRUSHES_DIR for p in files.values())
    for name, path in files.items():
        loaded = load_brush(str(path))
        assert loaded.stencil == preset(name).stencil, name
        assert loaded.name == name and loaded.source == str(path) and not loaded.is_preset


# --- a picture as a brush ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_a_pictures_darkness_or_alpha_is_where_it_leaves_paint_x_along_y_across(tmp_path, mode):
    s = stencil(half_brush(tmp_path, mode))
    assert s.shape == (32, 128)
    assert s[16:, :60].min() == 1.0 and s[16:, 68:].max() == 0.0  # paint on the first half along
    assert s[:6, 68:].min() == 1.0  # and along the first rows across (the picture's top)


def test_any_size_and_depth_becomes_the_same_stencil(tmp_path):
    y, x = np.mgrid[0:320, 0:1000]
    mark = (x < 500) | (y < 80)
    big = load_brush(str(picture(tmp_path / "big.png", mark)))
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(np.where(mark, 0, 65535).astype(np.uint16)).save(sixteen)
    deep = load_brush(str(sixteen))
    small = half_brush(tmp_path)
    assert np.abs(stencil(big) - stencil(deep)).max() <= 1 / 255
    assert np.abs(stencil(big) - stencil(small)).mean() < 0.02


def test_a_dark_sixteen_bit_brush_is_read_on_the_sixteen_bit_scale(tmp_path):
    # Every value at most 255 of 65535: nearly black all over, so paint everywhere; read
    # as 8-bit it would become a half-white stencil.
    dark = np.zeros((32, 128), np.uint16)
    dark[:, 64:] = 255
    path = tmp_path / "dark16.png"
    Image.fromarray(dark).save(path)
    assert stencil(load_brush(str(path))).min() > 0.99


@pytest.mark.parametrize("case,words", [
    ("white", ["white all over", "leaves no paint"]),
    ("transparent", ["fully transparent"]),
    ("text", ["not a picture", "PNG"]),
    ("flatt", ["neither a brush that ships", "did you mean flat?"]),
    ("folder", ["is a folder"]),
])
def test_a_brush_that_cannot_paint_is_one_line(tmp_path, case, words):
    if case == "white":
        text = str(picture(tmp_path / "white.png", np.zeros((20, 60), bool)))
    elif case == "transparent":
        Image.new("RGBA", (60, 20), (0, 0, 0, 0)).save(tmp_path / "clear.png")  # black, but nowhere opaque
        text = str(tmp_path / "clear.png")
    elif case == "text":
        (tmp_path / "notes.png").write_text("not a picture")
        text = str(tmp_path / "notes.png")
    elif case == "folder":
        text = str(tmp_path)
    else:
        text = case
    with pytest.raises(PainterError) as err:
        load_brush(text)
    assert "\n" not in str(err.value)
    for w in words:
        assert w in str(err.value)


# --- the look ------------------------------------------------------------------------------------


def test_only_box_styles_take_a_brush_and_not_through_the_neural_renderer():
    able = [name for name, spec in STYLES.items() if spec.takes_brush]
    assert able == ["oil", "tape"]
    for style in ("marker", "watercolor"):
        with pytest.raises(PainterError, match=f"style {style} cannot paint with a brush .*oil, tape"):
            PaintOptions(style=style, brush="flat").validate()
    with pytest.raises(PainterError, match="--renderer analytic"):
        PaintOptions(style="oil", brush="flat", renderer="neural").validate()
    with pytest.raises(PainterError, match="soft washes"):
        from sixth_style import PASTEL

        PASTEL.with_brush(preset("flat"))


def test_a_brush_makes_a_derived_look_and_leaves_the_style_alone():
    oil = get_style("oil")
    spec = painting_spec("oil", "fan")
    assert spec.brush == preset("fan") and spec.name == "oil" and spec.params == oil.params
    assert not spec.textured  # the brush replaces the bristle relief
    assert get_style(spec) is spec and get_style("oil") is oil and oil.brush is None
    assert spec.with_brush(None) is oil
    assert spec == painting_spec("oil", "fan") and hash(spec.look) == hash(painting_spec("oil", "fan").look)


@pytest.mark.parametrize("style", ["oil", "tape"])
def test_the_optimisers_renderer_draws_the_brush_as_the_reference_does(style):
    """What the optimiser sees is what every export draws (measured 90-118 dB at 256 px:
    the same stencil, mip levels and mapping)."""
    spec = painting_spec(style, "dry")
    params = random_params(spec, 60, torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = raster.render(spec, params, 96, 72, background=(0.9, 0.85, 0.7)).numpy()
    ref = reference.render(to_geometry(spec, params, 96, 72), 96, 72, background=(0.9, 0.85, 0.7))
    plain = reference.render(to_geometry(style, params, 96, 72), 96, 72, background=(0.9, 0.85, 0.7))
    assert psnr(ours, ref) > 60
    assert psnr(plain, ref) < 25  # and the brush shows


@pytest.mark.parametrize("style,cap_px", [("tape", 0), ("oil", 8)])
def test_the_stencil_spans_the_stroke_tip_to_tip(tmp_path, style, cap_px):
    """A horizontal stroke with a brush that paints its first half (and its top rows):
    paint from the start tip to the middle, bare canvas after it except on top."""
    brush = half_brush(tmp_path)
    colour = [0.0, 0.0, 0.0] * (2 if style == "oil" else 1)
    params = np.array([[0.5, 0.5, 0.8, 0.125, 0.0] + colour + [1.0]], np.float32)
    strokes = StrokeSet(style, 128, 128, params, [1], meta={"brush": brush_meta(brush)})
    img = reference.render_strokes(strokes).mean(-1)  # the stroke spans x 12.8 .. 115.2, y 56 .. 72
    middle = img[66]  # below the top rows
    assert middle[16:60].max() < 0.05 and middle[68:112].min() > 0.95
    assert img[58, 16:112].max() < 0.05  # the top rows paint all along
    assert middle[8] > 0.95 and middle[120] > 0.95  # nothing beyond the tips


def test_a_thin_stroke_shows_its_brushs_average_not_aliased_streaks():
    """Mip levels: a stroke 2 px wide with the fan brush (streaks a px apart at full
    size) covers about the stencil's mean, evenly."""
    spec = painting_spec("tape", "fan")
    params = np.array([[0.5, 0.5, 0.8, 2 / 128, 0.0, 0.0, 0.0, 0.0, 1.0]], np.float32)
    img = reference.render(to_geometry(spec, params, 128, 128), 128, 128)
    from core.model.colour import srgb_to_linear

    cover = 1 - srgb_to_linear(img[63:65, 30:98, 0].astype(np.float64))
    mean = stencil(preset("fan"))[:, 30:98].mean()
    assert abs(cover.mean() - mean) < 0.1 and cover.std() < 0.15


def test_the_brush_gradient_reaches_position_and_size():
    spec = painting_spec("oil", "dry")
    params = random_params(spec, 12, torch.Generator().manual_seed(0)).requires_grad_(True)
    raster.render(spec, params, 64, 64).sum().backward()
    g = params.grad
    assert torch.isfinite(g).all()
    assert (g[:, spec.cols.position].abs().sum(1) > 0).all() and (g[:, spec.cols.size].abs().sum(1) > 0).all()


def test_the_svg_draws_the_brush(tmp_path):
    from test_export import rasterise

    from core.render.export import svg_text

    spec = painting_spec("oil", "fan")
    p = random_params(spec, 60, torch.Generator().manual_seed(1)).numpy()
    p[:, spec.cols.alpha] = 1
    strokes = StrokeSet("oil", 128, 96, p, np.ones(60, np.int32), (0.95, 0.9, 0.8), {"brush": brush_meta(preset("fan"))})
    text = svg_text(strokes.geometry(), 128, 96, strokes.background)
    assert text.count("<image ") >= 1 and text.count('mask="url(#m') == 60
    svg = rasterise(text)
    with_brush = reference.render_strokes(strokes)
    without = reference.render_strokes(replace(strokes, meta={}))
    # Measured 28.4 dB (a viewer composites the brush's partial coverage in sRGB, see
    # core/render/export.py); against the painting without its brush, 15.9 dB.
    assert psnr(svg, with_brush) > 27.0
    assert psnr(svg, without) < psnr(svg, with_brush) - 8


# --- in a painting ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    from core.painters.painter import run

    folder = tmp_path_factory.mktemp("brush")
    half_brush(folder)
    brush_file = str(folder / "half_L.png")
    options = PaintOptions(style="oil", strokes=40, size=48, levels=2, seed=2)
    return run(_photo(), options), run(_photo(), options.replace(brush=brush_file)), brush_file


def test_the_optimiser_paints_with_the_brush_and_the_painting_says_so(paintings):
    plain, brushed, brush_file = paintings
    assert len(brushed) == 40 and brushed.style == "oil"
    entry = brushed.meta["brush"]
    assert entry["name"] == "half_L" and entry["file"] == brush_file and "brush" not in plain.meta
    again = StrokeSet.from_json_dict(json.loads(json.dumps(brushed.to_json_dict())))
    assert again.brush == load_brush(brush_file) and again.spec == brushed.spec
    # It painted knowing its strokes leave half of themselves bare: drawn with that
    # brush, its strokes fit the picture better than the plain painting's do.
    from core.painters.imaging import resize

    tgt = resize(torch.from_numpy(_photo()), brushed.height, brushed.width).numpy()
    as_painted = reference.render_strokes(brushed)
    plain_with_brush = reference.render_strokes(replace(plain, meta={"brush": entry}))
    assert psnr(as_painted, tgt) > psnr(plain_with_brush, tgt) + 2


def test_a_damaged_brush_in_a_strokes_file_is_one_line(paintings):
    _, brushed, _ = paintings
    data = json.loads(json.dumps(brushed.to_json_dict()))
    data["meta"]["brush"]["stencil"] = "not base64!"
    with pytest.raises(PainterError, match="not a valid strokes file .*meta.brush.stencil") as err:
        StrokeSet.from_json_dict(data)
    assert "\n" not in str(err.value)
    assert brush_from_meta(None) is None
    with pytest.raises(PainterError, match="name, file and stencil"):
        brush_from_meta({"name": "x"})


def test_the_worker_sends_the_stencil_for_blenders_material(paintings):
    from core.app.worker import strokes_payload
    from core.contracts import protocol as wire

    plain, brushed, _ = paintings
    payload = strokes_payload(brushed)
    assert payload.geometry.brush_name == "half_L"
    assert np.array_equal(payload.geometry.brush, stencil(brushed.brush))
    event = wire.decode_event(wire.Level(1, payload).to_json())
    assert np.array_equal(event.payload.geometry.brush, payload.geometry.brush)
    assert "brush" not in wire.Level(1, strokes_payload(plain)).to_dict()  # no brush: as before


def test_paint_and_render_on_the_command_line_show_the_brush(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray((_photo() * 255).astype(np.uint8)).save(photo)
    out = tmp_path / "out"
    proc = cli("paint", photo, "--style", "tape", "--strokes", "16", "--size", "48", "--levels", "2",
               "--iterations", "3", "--refine", "3", "--brush", "filbert", "--animation", "none", "--out", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "strokes.json").read_text())
    assert data["meta"]["brush"]["name"] == "filbert" and data["meta"]["brush"]["file"] is None
    assert 'mask="url(#m' in (out / "painting.svg").read_text()
    proc = cli("render", out / "strokes.json", "--size", "96", "--out", tmp_path / "again.png")
    assert proc.returncode == 0, proc.stderr
    again = np.asarray(Image.open(tmp_path / "again.png"), np.float32) / 255
    expected = reference.render_strokes(StrokeSet.load_json(out / "strokes.json"), 96)
    assert psnr(again, expected) > 45  # (8-bit rounding)


@pytest.mark.parametrize("args,words", [
    (["--brush", "flatt"], ["did you mean flat?"]),
    (["--brush", "BLANK"], ["white all over"]),
    (["--brush", "TEXT"], ["not a picture"]),
    (["--brush", "EMPTY"], ["not a picture"]),  # a file of no bytes
    (["--brush", "CLEAR"], ["fully transparent", "leaves no paint"]),
    (["--brush", ""], ["--brush is empty"]),
    (["--brush", "MISSING"], ["neither a brush that ships nor a picture file"]),
    (["--brush", "flat", "--style", "marker"], ["style marker cannot paint with a brush"]),
    (["--brush", "flat", "--renderer", "neural"], ["--renderer analytic"]),
])
def test_bad_brushes_on_the_command_line_are_one_line_and_keep_what_was_painted(tmp_path, run_main, args, words):
    photo = tmp_path / "photo.png"
    Image.fromarray((_photo() * 255).astype(np.uint8)).save(photo)
    picture(tmp_path / "blank.png", np.zeros((8, 8), bool))
    (tmp_path / "notes.png").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("RGBA", (60, 20), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    files = {"BLANK": "blank.png", "TEXT": "notes.png", "EMPTY": "empty.png", "CLEAR": "clear.png",
             "MISSING": "not_there.png"}
    args = [str(tmp_path / files[a]) if a in files else a for a in args]
    out = tmp_path / "out"
    out.mkdir()
    (out / "strokes.json").write_text("an earlier painting")
    one_line_error(run_main("paint", photo, "--strokes", "4", "--size", "32", "--out", out, *args), *words)
    assert (out / "strokes.json").read_text() == "an earlier painting"


def test_a_bad_brush_for_a_shot_is_one_line_before_any_frame(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        Image.fromarray((_photo() * 255).astype(np.uint8)).save(frames / f"f_{i + 1:03d}.png")
    Image.new("RGBA", (60, 20), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    out = tmp_path / "shot"
    one_line_error(cli("paint-frames", frames, "--style", "tape", "--strokes", "4", "--size", "32", "--out", out,
                       "--brush", tmp_path / "clear.png"), "fully transparent")
    assert not out.exists() or not list(out.glob("*.json"))  # no frame written


def test_a_painted_shot_keeps_its_brush_and_will_not_continue_with_another(tmp_path):
    pytest.importorskip("cv2")
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        Image.fromarray((np.roll(_photo(), 2 * i, axis=1) * 255).astype(np.uint8)).save(frames / f"f_{i + 1:03d}.png")
    out = tmp_path / "shot"
    flags = ["--style", "tape", "--strokes", "12", "--size", "32", "--levels", "1", "--iterations", "2",
             "--refine", "2", "--reopt-iterations", "2", "--video", "none", "--quiet", "--out", out]
    proc = cli("paint-frames", frames, *flags, "--brush", "fan")
    assert proc.returncode == 0, proc.stderr
    for n in (1, 2):
        assert StrokeSet.load_json(out / f"frame_{n:04d}.json").brush == preset("fan")
    one_line_error(cli("paint-frames", frames, *flags, "--brush", "dry"), "painted with --brush fan, not --brush dry")


# --- what crosses to Blender -------------------------------------------------------------------


def test_the_protocol_carries_a_brush_strictly():
    from core.contracts import protocol as wire

    pts = np.zeros((1, 2, 2), np.float32)
    base = dict(points=pts, radius=np.ones((1, 2), np.float32), rgba=np.ones((1, 2, 4), np.float32), cap="flat",
                softness=0.0, textured=False, levels=np.zeros(1, np.float32))
    st = stencil(preset("dry"))
    geo = wire.Geometry(**base, brush=st, brush_name="dry")
    back = wire.Geometry.from_dict(json.loads(json.dumps(geo.to_dict())))
    assert back.brush_name == "dry" and np.array_equal(back.brush, st)
    assert wire.Geometry.from_dict(wire.Geometry(**base).to_dict()).brush is None
    for brush, name, words in ((st, None, "without its brush_name"), (None, "dry", "without its brush"),
                               (st * 2, "dry", "from 0 to 1"), (st[0], "dry", "[rows, cols]")):
        d = geo.to_dict()
        d["brush"] = None if brush is None else wire.encode_array(brush)
        d["brush_name"] = name
        with pytest.raises(wire.ProtocolError, match=words):
            wire.Geometry.from_dict(d)


def test_blenders_brush_image_and_mapping_without_blender():
    from blender_neural_painter import gp_data

    st = stencil(preset("filbert"))
    pixels = gp_data.brush_image_pixels(st)
    assert pixels.shape == (32, 130, 4) and (pixels[..., :3] == 1).all()
    # Rows flipped (Grease Pencil's v = 0 is the image's bottom row, on the stroke's right),
    # the first and last columns repeated once (the u mapping skips them).
    np.testing.assert_array_equal(pixels[::-1, 1:-1, 3], st)
    np.testing.assert_array_equal(pixels[:, 0, 3], pixels[:, 1, 3])
    np.testing.assert_array_equal(pixels[:, -1, 3], pixels[:, -2, 3])
    assert gp_data.brush_digest(st) == preset("filbert").digest
    assert gp_data.brush_material_name("tape", "filbert") == "NP Tape filbert"
    canvas = gp_data.Canvas("tape", 100, 100, (1.0, 1.0, 1.0), width_m=2.0)
    batch = gp_data.StrokeBatch(1, np.array([[[0.25, 0.5], [0.75, 0.5]]], np.float32), np.full((1, 2), 0.1, np.float32),
                                np.ones((1, 2, 4), np.float32), np.zeros((1, 9), np.float32), np.zeros(1), "flat",
                                0.0, False, brush=st, brush_name="filbert")
    arrays = gp_data.stroke_arrays(batch, canvas)
    # 128 content columns of 130 over the stroke's 1 m, from its first point to its last.
    assert arrays["u_scale"][0] == pytest.approx(128 / 130) and arrays["u_translation"][0] == pytest.approx(1 / 130)
    # The painting keeps its brush (its meta entry) on the object, for Refine and Restyle.
    kept = replace(canvas, brush=brush_meta(preset("filbert")))
    assert gp_data.Canvas.from_meta(json.loads(json.dumps(kept.to_meta()))) == kept
    assert "brush" not in canvas.to_meta()


@pytest.mark.parametrize("chosen,expected", [(None, "filbert"), ("dry", "dry")])
def test_refine_paints_on_with_the_paintings_brush_or_the_one_chosen(tmp_path, chosen, expected):
    """The worker serving Refine: the painting read back carries its brush (Blender keeps
    it on the painting); a brush chosen for the run replaces it for every stroke."""
    from core.app.worker import run
    from core.contracts import protocol as wire
    from core.contracts.strokes_format import empty_painting

    photo = tmp_path / "photo.png"
    Image.fromarray((_photo() * 255).astype(np.uint8)).save(photo)
    init = empty_painting("tape", 32, 23, (1.0, 1.0, 1.0))
    init["meta"]["brush"] = brush_meta(preset("filbert"))
    options = PaintOptions(style="tape", strokes=3, size=32, levels=1, iterations=2, refine=1, brush=chosen)
    sent: list = []

    class Channel:
        def send(self, event):
            sent.append(wire.decode_event(event.to_json()))

    assert run(wire.Request(options=options, image=str(photo), init=init, add_levels=1), Channel(), lambda: False) == 0
    payloads = [e.payload for e in sent if isinstance(e, (wire.Init, wire.Level))]
    assert [type(e).__name__ for e in sent if isinstance(e, (wire.Init, wire.Level))] == ["Init", "Level"]
    assert all(p.geometry.brush_name == expected for p in payloads)
    assert all(StrokeSet.from_json_dict(p.strokes).brush == preset(expected) for p in payloads)
