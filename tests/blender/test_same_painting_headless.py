"""Blender's headless command paints the same painting as the engine's Python API for the
same request: every stroke's parameters, as the .blend stores them, to the bit (the
engine's paths: ``tests/core/test_same_painting.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from conftest import ROOT, bpy
from same_request import OPTIONS, api_painting, reference_png, rounded


def test_the_headless_command_paints_the_api_painting(tmp_path: Path, addon: Any) -> None:
    from blender_neural_painter import gpencil

    image = reference_png(tmp_path)
    want = api_painting(image)
    out = tmp_path / "same.blend"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in OPTIONS.items()]
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(image), *flags, "--out",
                          str(out), "--animation", "none"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(out))
    addon.register()
    obj = next(o for o in bpy.data.objects if gpencil.painting_canvas(o) is not None)
    canvas = gpencil.painting_canvas(obj)
    assert (canvas.width, canvas.height) == (want.width, want.height)
    np.testing.assert_allclose(canvas.background, want.background)
    drawn = gpencil.read_painting(obj)
    order = np.concatenate([d["order"] for d in drawn])
    params = np.concatenate([d["params"] for d in drawn])[np.argsort(order)]
    np.testing.assert_array_equal(params, rounded(want.params))
    np.testing.assert_array_equal(np.concatenate([[d["level"]] * len(d["order"]) for d in drawn])[np.argsort(order)],
                                  want.level)
