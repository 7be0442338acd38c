"""A palette (issue 22): every stroke's colour is exactly one of its paints, chosen by the
optimiser; palettes from hex codes, GIMP .gpl files or the picture; bad palettes are
one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import PaintOptions, load_image
from core.contracts.styles import get_style
from core.errors import PainterError
from core.io.palettes import colours_from_image, parse_palette, read_gpl, to_hex
from core.painters.painter import run

ROOT = Path(__file__).resolve().parents[2]
PAINTS = "#1d3557,#e63946,#f1faee,#a8dadc,#457b9d,#ffb703"


def test_hex_codes_gpl_files_and_pictures_give_palettes(tmp_path):
    colours = parse_palette(PAINTS)
    assert colours.shape == (6, 3) and to_hex(colours) == PAINTS.split(",")
    assert colours[1] == pytest.approx([0xe6 / 255, 0x39 / 255, 0x46 / 255])
    gpl = tmp_path / "p.gpl"
    gpl.write_text("GIMP Palette\nName: Test\nColumns: 2\n# a comment\n230  57  70\tRed\n 29 53 87 Navy\n\n")
    assert to_hex(read_gpl(str(gpl))) == ["#e63946", "#1d3557"] and to_hex(parse_palette(str(gpl))) == to_hex(
        read_gpl(str(gpl)))
    image = load_image(ROOT / "samples" / "coffee.jpg", max_side=64)
    eight = parse_palette("8", image)
    assert eight.shape == (8, 3) and np.array_equal(eight, colours_from_image(image, 8))  # the same every time
    # Each paint is the mean of a cluster of the picture's own colours: every pixel is near one.
    distance = np.min(np.linalg.norm(image.reshape(-1, 1, 3) - eight[None], axis=2), axis=1)
    assert np.median(distance) < 0.12


@pytest.mark.parametrize("spec,message", [
    ("", "--palette is empty: give #rrggbb codes, a .gpl file or a number"),
    ("#12345", "'#12345' is not a colour code"),
    ("#e63946,blue", "'blue' is not a colour code"),
    ("1", "take from 2 to 64 colours from the picture"),
    ("{gpl_bad_header}", "is not a GIMP palette"),
    ("{gpl_bad_line}", "line 3: '300 0 0 Too red' is not \"R G B name\""),
    ("{gpl_empty}", "holds no colours"),
])
def test_bad_palettes_are_one_line_errors(tmp_path, spec, message):
    files = {"gpl_bad_header": "JASC-PAL\n0100\n", "gpl_bad_line": "GIMP Palette\n10 20 30 ok\n300 0 0 Too red\n",
             "gpl_empty": "GIMP Palette\nName: nothing\n"}
    for name, text in files.items():
        (tmp_path / f"{name}.gpl").write_text(text)
    image = load_image(ROOT / "samples" / "coffee.jpg", max_side=64)
    with pytest.raises(PainterError) as err:
        run(image, PaintOptions(strokes=5, size=32, palette=spec.format(**{k: str(tmp_path / f"{k}.gpl")
                                                                           for k in files})))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("style", ["marker", "watercolor", "oil", "tape"])
def test_every_stroke_holds_exactly_one_paint_of_the_palette(style):
    image = load_image(ROOT / "samples" / "astronaut.png", max_side=128)
    strokes = run(image, PaintOptions(style=style, strokes=40, size=48, levels=2, palette=PAINTS, refine=6))
    spec, paints = get_style(style), parse_palette(PAINTS)
    for part in (spec.cols.colour_start, spec.cols.colour_end):
        colours = strokes.params[:, part]
        assert (np.abs(colours[:, None] - paints[None]).max(-1) < 1e-6).any(1).all()
    # One paint per stroke: a two-colour style's ends hold the same one.
    assert np.array_equal(strokes.params[:, spec.cols.colour_start], strokes.params[:, spec.cols.colour_end])
    assert strokes.meta["palette"] == PAINTS.split(",")
    used = {tuple(c) for c in strokes.params[:, spec.cols.colour_start].round(4)}
    assert len(used) >= 3  # the optimiser chose among the paints, not one for all
