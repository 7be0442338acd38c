"""The neural renderer from Blender: painting through it, and a missing weights file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, bpy, make_image


def _headless(tmp_path: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    img = make_image(tmp_path / "in.png")
    return subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(img),
                           "--out", str(tmp_path / "painting.blend"), "--style", "tape", "--strokes", "12",
                           "--size", "48", "--renderer", "neural", *extra],
                          capture_output=True, text=True, timeout=300, cwd=str(ROOT),
                          env=dict(os.environ, **(env or {})))


def test_painting_through_the_neural_renderer(tmp_path: Path) -> None:
    run = _headless(tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "painting.blend"))
    from blender_neural_painter import gpencil

    paintings = [o for o in bpy.data.objects if gpencil.painting_canvas(o) is not None]
    assert len(paintings) == 1 and gpencil.stroke_count(paintings[0]) == 12


def test_missing_weights_stop_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "no-weights"
    empty.mkdir()
    run = _headless(tmp_path, env={"NEURAL_PAINTER_WEIGHTS": str(empty)})
    assert run.returncode == 2  # bad set-up, as the engine CLI says it
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "tape.pt are missing" in errors[0] and "--renderer analytic" in errors[0]
    assert not (tmp_path / "painting.blend").exists()
