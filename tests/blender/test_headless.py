"""The README's first command: paint an image headless into a .blend plus a preview."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_headless_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(tmp_path / "nope.png"),
                          "--out", str(tmp_path / "x.blend")], capture_output=True, text=True, timeout=120,
                         cwd=str(ROOT))
    assert run.returncode == 2
    assert "error: image file" in run.stderr and "does not exist" in run.stderr
    assert not (tmp_path / "x.blend").exists()


def _bad_runs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Bad input -> the one line that must name it (each run is a separate process)."""
    img = make_image(tmp_path / "in.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a PNG signature, then garbage
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    return {
        "unreadable image": ([str(broken)], "broken.png"),
        "missing file": ([str(tmp_path / "nope.png")], "does not exist"),
        "unsupported file": ([str(notes)], "notes.txt is not a supported image"),
        "no strokes": ([str(img), "--strokes", "0"], "--strokes 0 is out of range: use 1 to 20000"),
        "too many strokes": ([str(img), "--strokes", "20001"], "--strokes 20001 is out of range"),
        "colour out of range": ([str(img), "--background", "2,2,2"],
                                "--background 2,2,2 is out of range: each of r,g,b must be within 0..1"),
        "colour not a colour": ([str(img), "--background", "red"], "is not white, black, mean or r,g,b"),
        "size too small": ([str(img), "--size", "8"], "--size 8 is out of range: use 16 to 4096"),
        "negative style weight": ([str(img), "--style-weight", "-1"], "--style-weight -1 is out of range"),
        "missing out folder": ([str(img), "--out", str(tmp_path / "no" / "such" / "x.blend")],
                               f"the folder {tmp_path / 'no' / 'such'} does not exist"),
        "out not a blend": ([str(img), "--out", str(tmp_path / "x.png")], "must name a .blend file"),
        "missing preview folder": ([str(img), "--preview", str(tmp_path / "nope" / "p.png")], "does not exist"),
        "not a number": ([str(img), "--strokes", "many"], "invalid int value: 'many'"),
        "missing python": ([str(img), "--python", str(tmp_path / "python9")], "is not an executable file"),
    }


def test_headless_bad_input_is_exit_2_and_one_line_before_painting(tmp_path: Path) -> None:
    """As the engine CLI: exit code 2, one line naming the problem, nothing written; the
    checks come before the engine starts, except an unreadable image, which the engine
    reports before it paints anything."""
    runs = _bad_runs(tmp_path)
    out = tmp_path / "out.blend"
    defaults = {"--out": str(out), "--strokes": "5", "--size": "32"}

    def command(args: list[str]) -> list[str]:
        extra = [x for k, v in defaults.items() if k not in args for x in (k, v)]
        return [sys.executable, "-m", "blender_neural_painter", "paint", *args, *extra]

    procs = {name: subprocess.Popen(command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=str(ROOT))
             for name, (args, _) in runs.items()}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        lines = [l for l in stderr.splitlines() if l.strip()]
        assert proc.returncode == 2, (name, stdout[-1000:], stderr[-1000:])
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, lines)
        assert runs[name][1] in lines[0], (name, lines[0])
        assert "painted" not in stdout, name
    assert not out.exists() and not list(tmp_path.glob("**/*.blend"))
