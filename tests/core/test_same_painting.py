"""The same request gives the same painting on every path on one machine: the Python
API, ``python -m core paint``, and the worker process as Blender starts it (Blender's
headless command: ``tests/blender/test_same_painting.py``). Every path writes the
strokes JSON's six decimals, so they are compared there, to the bit.

The worker runs on fewer threads than the CLI (it leaves a core to Blender's UI): the
engine must not depend on the thread count (``core.model.colour``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from same_request import OPTIONS, reference_png, rounded

ROOT = Path(__file__).resolve().parents[2]
@pytest.fixture(scope="module")
def api_painting(tmp_path_factory):
    from same_request import api_painting

    image = reference_png(tmp_path_factory.mktemp("same"))
    return image, api_painting(image)


def test_the_command_line_paints_the_api_painting(api_painting, tmp_path):
    image, strokes = api_painting
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in OPTIONS.items()]
    out = subprocess.run([sys.executable, "-m", "core", "paint", str(image), *flags, "--out", str(tmp_path),
                          "--quiet", "--animation", "none"], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    cli = json.loads((tmp_path / "strokes.json").read_text())
    api = strokes.to_json_dict()
    assert cli["strokes"] == api["strokes"] and cli["canvas"] == api["canvas"]


def test_the_worker_as_blender_starts_it_paints_the_api_painting(api_painting):
    from blender_neural_painter.bridge import Worker
    from core.contracts import protocol as wire
    from core.contracts.options import PaintOptions

    image, strokes = api_painting
    worker = Worker(wire.Request(image=str(image), options=PaintOptions(**OPTIONS)))
    assert worker.env["OMP_NUM_THREADS"] == str(max(1, (os.cpu_count() or 2) - 1))  # as in Blender
    worker.start()
    final = None
    try:
        while not worker.finished:
            for event in worker.poll(timeout=1.0):
                assert not isinstance(event, wire.Error), event.message
                if isinstance(event, (wire.Level, wire.Refined)):
                    final = event.payload.strokes  # the refined strokes replace the levels'
    finally:
        worker.stop()
    assert final is not None
    api = strokes.to_json_dict()
    assert final["strokes"] == api["strokes"] and final["canvas"] == api["canvas"]
    got = np.asarray([s["params"] for s in final["strokes"]], np.float32)
    np.testing.assert_array_equal(got, rounded(strokes.params))
