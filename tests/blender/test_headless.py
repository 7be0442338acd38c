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
