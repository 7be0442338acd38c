"""The README's first command: paint an image headless into a .blend plus a preview."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, bpy, make_image


def test_headless_paint_command(tmp_path: Path) -> None:
    img = make_image(tmp_path / "in.png")
    out, prev = tmp_path / "painting.blend", tmp_path / "preview.png"
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(img), "--out", str(out),
                          "--preview", str(prev), "--style", "tape", "--strokes", "20", "--size", "48",
                          "--preview-size", "96", "--duration", "40"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert out.is_file() and prev.is_file()
    bpy.ops.wm.open_mainfile(filepath=str(out))
    from blender_neural_painter import gpencil

    paintings = [o for o in bpy.data.objects if gpencil.painting_canvas(o) is not None]
    assert len(paintings) == 1 and gpencil.stroke_count(paintings[0]) == 20
    assert bpy.context.scene.camera is not None


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Bad input -> the text the one error line must hold."""
    img = make_image(tmp_path / "in.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a PNG signature, then garbage
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 16), 255).save(blank)  # white all over: a brush that leaves no paint
    return {
        "unreadable image": ([str(broken)], "broken.png"),
        "missing file": ([str(tmp_path / "nope.png")], "does not exist"),
        "unsupported file": ([str(notes)], "notes.txt is not a supported image"),
        "no strokes": ([str(img), "--strokes", "0"], "--strokes 0 is out of range: use 1 to 20000"),
        "too many strokes": ([str(img), "--strokes", "20001"], "--strokes 20001 is out of range"),
        "colour out of range": ([str(img), "--background", "2,2,2"],
                                "--background '2,2,2' is not a colour (each of r, g, b must be within 0..1)"),
        "colour not a colour": ([str(img), "--background", "red"], "--background 'red' is not a colour"),
        "levels 0": ([str(img), "--levels", "0"], "--levels 0 is out of range: use 1 to 12"),
        "misspelled style": ([str(img), "--style", "oli"], "unknown style 'oli'"),
        "size too small": ([str(img), "--size", "8"], "--size 8 is out of range: use 16 to 4096"),
        "negative style weight": ([str(img), "--style-weight", "-1"], "--style-weight -1 is out of range"),
        "missing out folder": ([str(img), "--out", str(tmp_path / "no" / "such" / "x.blend")],
                               f"the folder {tmp_path / 'no' / 'such'} does not exist"),
        "out not a blend": ([str(img), "--out", str(tmp_path / "x.png")], "must name a .blend file"),
        "missing preview folder": ([str(img), "--preview", str(tmp_path / "nope" / "p.png")], "does not exist"),
        "not a number": ([str(img), "--strokes", "many"], "'many' is not a whole number"),
        "missing python": ([str(img), "--python", str(tmp_path / "python9")], "is not an executable file"),
        "missing style image": ([str(img), "--style-image", str(tmp_path / "art.png")],
                                "style image " + str(tmp_path / "art.png") + " does not exist"),
        "region without a mask": ([str(img), "--replay", "region"], "--replay region needs --replay-mask IMAGE"),
        "unknown replay order": ([str(img), "--replay", "random"], "invalid choice: 'random'"),
        "origin off the canvas": ([str(img), "--replay", "outward", "--replay-origin", "2,0.5"],
                                  "--replay-origin 2,0.5 is out of range: use X,Y with values in 0..1"),
        "origin not a point": ([str(img), "--replay-origin", "middle"], "--replay-origin 'middle' is not a point"),
        "negative hold": ([str(img), "--hold", "-1"], "--hold -1 is out of range: use at least 0"),
        "unknown brush": ([str(img), "--brush", "flatt"], "is neither a brush that ships (did you mean flat?)"),
        "brush on curves": ([str(img), "--style", "marker", "--brush", "flat"], "style marker cannot paint with a brush"),
        "empty brush": ([str(img), "--style", "tape", "--brush", str(blank)], "white all over"),
    }


def _with_defaults(args: list[str], out: Path) -> list[str]:
    defaults = {"--out": str(out), "--strokes": "5", "--size": "32"}
    return ["paint", *args, *[x for k, v in defaults.items() if k not in args for x in (k, v)]]


def test_headless_bad_input_is_exit_2_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As the engine CLI: exit code 2, one line naming the problem, nothing written,
    found before painting starts (an unreadable image by the engine, before it paints a
    stroke). Run in this process (the command's main()), one case after another."""
    import blender_neural_painter as addon
    from blender_neural_painter import headless

    out = tmp_path / "out.blend"
    try:
        for name, (args, text) in _bad_inputs(tmp_path).items():
            try:
                code = headless.main(_with_defaults(args, out))
            except SystemExit as exc:  # argparse's own usage errors
                code = exc.code
            captured = capsys.readouterr()
            lines = [l for l in captured.err.splitlines() if l.strip()]
            assert code == 2, (name, captured.out[-1000:], captured.err[-1000:])
            assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], (name, lines)
            assert "painted" not in captured.out, name
    finally:
        addon.register()  # main() unregisters the add-on on its way out
    assert not list(tmp_path.glob("**/*.blend"))


def test_headless_bad_input_in_a_real_process(tmp_path: Path) -> None:
    """The same through ``python -m``: the process's own exit code and stderr."""
    cases = _bad_inputs(tmp_path)
    out = tmp_path / "out.blend"
    procs = {name: subprocess.Popen([sys.executable, "-m", "blender_neural_painter",
                                     *_with_defaults(cases[name][0], out)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
             for name in ("unreadable image", "no strokes")}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        lines = [l for l in stderr.splitlines() if l.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and cases[name][1] in lines[0], (name, stdout, stderr)
    assert not out.exists()
