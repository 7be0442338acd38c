"""Bad input, cancel, missing torch, a dying worker: one clear line, and the scene is left
exactly as it was (or, for cancel, holds the strokes painted so far)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import bpy, counts, orphans, paint


def assert_unchanged(before: dict[str, int]) -> None:
    assert counts() == before
    assert not orphans()


def test_unreadable_image_is_a_clear_error(scene: Any, tmp_path: Path) -> None:
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    before = counts()
    result, job = paint(scene, bad)
    assert result == {"CANCELLED"}
    assert job.error and "\n" not in job.error and "not_an_image.png" in job.error
    assert_unchanged(before)


def test_unsupported_extension_and_missing_file(scene: Any, tmp_path: Path) -> None:
    from blender_neural_painter import jobs

    before = counts()
    odd = tmp_path / "painting.xyz"
    odd.write_bytes(b"\0" * 10)
    for path in (odd, tmp_path / "missing.png"):
        scene.neural_painter.source = "FILE"
        scene.neural_painter.image_path = str(path)
        with pytest.raises(RuntimeError, match="not a supported image|does not exist"):
            bpy.ops.neural_painter.paint()
        assert jobs.active() is None
    assert_unchanged(before)


def test_worker_that_dies_leaves_nothing(scene: Any, image_path: Path) -> None:
    before = counts()
    result, job = paint(scene, image_path, engine="random", test_options='{"engine_args": {"fail_after_level": 1}}')
    assert result == {"CANCELLED"}
    assert "stopped unexpectedly" in job.error and "\n" not in job.error
    assert job.worker.returncode() is not None  # no process left behind
    assert_unchanged(before)


def test_missing_torch_says_what_to_do(scene: Any, image_path: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated with an interpreter in which ``import torch`` fails."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nclass _NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('No module named torch (simulated)')\n"
        "sys.meta_path.insert(0, _NoTorch())\n")
    wrapper = tmp_path / "python-without-torch"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={block}:$PYTHONPATH exec {sys.executable} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("NEURAL_PAINTER_PYTHON", str(wrapper))
    from blender_neural_painter import bridge

    assert bridge.probe_torch(str(wrapper))["torch"] is None
    before = counts()
    result, job = paint(scene, image_path)
    assert result == {"CANCELLED"}
    assert "torch is not installed" in job.error and "preferences" in job.error and "\n" not in job.error
    assert_unchanged(before)


def _job(scene: Any, image: Path, **engine_args: Any) -> Any:
    from blender_neural_painter import prefs
    from blender_neural_painter.contracts import options, protocol
    from blender_neural_painter.gp_data import Replay
    from blender_neural_painter.runner import PaintJob

    req = protocol.Request(engine="random", image=str(image), engine_args=engine_args,
                           options=options.PaintOptions(style="tape", strokes=30, levels=3, size=48))
    return PaintJob(bpy.context, req, replay=Replay("BUILD", "PAINTED", 1, 30), python=prefs.python_for_worker())


def test_cancel_mid_run_keeps_finished_levels(scene: Any, image_path: Path) -> None:
    before = counts()
    job = _job(scene, image_path, delay=0.3)
    job.start()
    while job.strokes_written == 0:
        assert not job.pump(timeout=0.5)
    job.cancel()
    while not job.pump(timeout=0.5):
        pass
    assert job.cancelled and job.error is None
    assert job.strokes_written == 10  # level 1 of 3 (30 strokes), nothing half-written
    from blender_neural_painter import gpencil

    assert gpencil.stroke_count(job.obj) == 10
    assert [l.name for l in job.obj.data.layers] == ["Canvas", "Level 1"]
    assert gpencil.replay_keyframes(job.obj) == [(1.0, 0.0), (31.0, 10.0)]  # the kept strokes replay
    assert job.worker.returncode(wait=5) is not None
    assert counts()["objects"] == before["objects"] + 1


def test_cancel_before_any_stroke_leaves_nothing(scene: Any, image_path: Path) -> None:
    before = counts()
    job = _job(scene, image_path, delay=1.0)
    job.start()
    job.cancel()
    while not job.pump(timeout=0.5):
        pass
    assert job.obj is None and job.strokes_written == 0
    assert_unchanged(before)
