"""The command line, end to end, in a subprocess as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "photo.png"
    yy, xx = np.mgrid[0:60, 0:80]
    img = np.stack([xx / 80, yy / 60, 0.5 + 0 * xx], -1)
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def painted(photo, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    proc = cli("paint", photo, "--style", "marker", "--strokes", "12", "--size", "64", "--levels", "2",
               "--iterations", "3", "--out", out, "--seed", "1")
    return proc, out


def test_paint_writes_every_output(painted):
    proc, out = painted
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "strokes.json").read_text())
    assert data["schema"] == "neural-painter/strokes" and data["version"] == 1
    assert data["style"] == "marker" and len(data["strokes"]) == 12
    assert data["canvas"]["width"] == 64 and data["canvas"]["height"] == 48
    png = Image.open(out / "painting.png")
    assert png.size == (64, 48)
    assert np.asarray(png).std() > 5  # painted, not blank
    svg = (out / "painting.svg").read_text()
    assert svg.lstrip().startswith("<") and "<svg" in svg
    gif = Image.open(out / "painting.gif")
    assert gif.n_frames >= 2
    assert "100.0%" in proc.stderr  # the progress bar reached the end


def test_render_reproduces_and_scales(painted, tmp_path):
    _, out = painted
    proc = cli("render", out / "strokes.json", "--out", tmp_path / "same.png")
    assert proc.returncode == 0, proc.stderr
    same = np.asarray(Image.open(tmp_path / "same.png"), np.float32)
    orig = np.asarray(Image.open(out / "painting.png"), np.float32)
    assert np.abs(same - orig).max() <= 1
    proc = cli("render", out / "strokes.json", "--size", "256", "--out", tmp_path / "big.png")
    assert proc.returncode == 0, proc.stderr
    big = Image.open(tmp_path / "big.png")
    assert big.size == (256, 192)
    small = np.asarray(big.resize((64, 48), Image.BOX), np.float32)
    assert np.abs(small - orig).mean() < 6  # the same painting, only sharper
    assert cli("render", out / "strokes.json", "--size", "128", "--out", tmp_path / "x.svg").returncode == 0
    assert 'width="128"' in (tmp_path / "x.svg").read_text()


class InProcess:
    """Bad-input checks run main() in this process: the same code path, without paying
    a torch import per case."""

    def __init__(self, code, stderr):
        self.returncode, self.stderr = code, stderr


@pytest.fixture
def run_main(capsys):
    from core.app.cli import main

    def call(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        return InProcess(code, capsys.readouterr().err)
    return call


def one_line_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_input_in_a_real_process_is_one_line(tmp_path):
    one_line_error(cli("paint", tmp_path / "nope.jpg", "--out", tmp_path / "o"), "does not exist")


def test_missing_image(tmp_path, run_main):
    one_line_error(run_main("paint", tmp_path / "nope.jpg", "--out", tmp_path / "o"), "does not exist")


def test_not_an_image(tmp_path, run_main):
    p = tmp_path / "notes.png"
    p.write_text("hello")
    one_line_error(run_main("paint", p, "--out", tmp_path / "o"), "notes.png")


@pytest.mark.parametrize("strokes", ["0", "-3", "100000000", "many"])
def test_bad_stroke_counts(photo, tmp_path, strokes, run_main):
    one_line_error(run_main("paint", photo, "--strokes", strokes, "--out", tmp_path / "o"), "strokes")


def test_unknown_style(photo, tmp_path, run_main):
    one_line_error(run_main("paint", photo, "--style", "crayon", "--out", tmp_path / "o"), "crayon", "oil")


def test_unwritable_output_directory(photo, tmp_path, run_main):
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line_error(run_main("paint", photo, "--out", blocker / "sub", "--strokes", "2", "--size", "32"),
                   "output directory")


def test_malformed_strokes_json(tmp_path, run_main):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "neural-painter/strokes", "version": 1, "style": "oil", "strokes": [')
    one_line_error(run_main("render", bad, "--out", tmp_path / "x.png"), "bad.json", "JSON")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": "neural-painter/strokes", "version": 1, "style": "oil",
                                 "canvas": {"width": 10, "height": 10}, "strokes": [{"params": [0.5]}]}))
    one_line_error(run_main("render", wrong, "--out", tmp_path / "x.png"), "params")


def test_unknown_output_format(painted, tmp_path, run_main):
    _, out = painted
    one_line_error(run_main("render", out / "strokes.json", "--out", tmp_path / "x.bmp"), ".png")


def test_no_command_prints_help():
    proc = cli()
    assert proc.returncode == 2 and "paint" in proc.stderr
