"""Golden paintings: the reorganisation of the engine must not change a single stroke.

Committed before anything moved (issue 21): four stills, one per style, and a
three-frame shot, painted small with fixed seeds. Each must come out the same as the
file in ``tests/core/golden/`` to the bit: the strokes JSON as written (six decimals)
and a hash of the float32 parameters, so a change below the JSON's rounding shows too.

Bit-identical float results hold on one kind of machine only: another CPU's vector
unit or another torch sums in another order, and a greedy optimiser turns the last bit
into another painting. ``golden/machine.json`` records the torch version and CPU
capability the files were made on; elsewhere the test is skipped, saying why.

Regenerate (only for a change that is meant to alter paintings, and say so in its
commit): ``python tests/core/test_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: name -> options of each still (the sample portrait at 64 px).
STILLS = {
    "still_oil": dict(style="oil", strokes=40, size=64, seed=7),
    "still_marker": dict(style="marker", strokes=40, size=64, seed=7, background="#336699"),
    "still_watercolor": dict(style="watercolor", strokes=40, size=64, seed=7),
    "still_tape": dict(style="tape", strokes=40, size=64, seed=7, background="mean"),
}
SHOT_ARGS = ["--style", "oil", "--strokes", "30", "--size", "48", "--seed", "5", "--video", "none", "--quiet"]
SHOT_FRAMES = 3


def machine() -> dict:
    import torch

    return {"torch": torch.__version__.split("+")[0], "cpu": torch.backends.cpu.get_cpu_capability()}


def params_hash(params: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(params, dtype="<f4").tobytes()).hexdigest()


def sample_image() -> np.ndarray:
    from core.io.image_io import load_image

    return load_image(ROOT / "samples" / "astronaut.png", max_side=128)


def paint_still(options: dict):
    from core.painters.painter import PaintOptions, run

    return run(sample_image(), PaintOptions(**options))


def shot_frames(folder: Path) -> Path:
    """Three frames of the sample portrait, the view sliding 2 px right and 1 px down a
    frame (whole pixels, so the frames are exact on every machine)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    photo = np.asarray(Image.open(ROOT / "samples" / "astronaut.png").convert("RGB").resize((72, 72)))
    for i in range(SHOT_FRAMES):
        Image.fromarray(np.ascontiguousarray(photo[i:i + 64, 2 * i:2 * i + 64])).save(folder / f"f_{i + 1:04d}.png")
    return folder


def paint_shot(tmp: Path) -> list[Path]:
    out = tmp / "shot"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "core", "paint-frames", str(shot_frames(tmp / "frames")),
                           "--out", str(out), *SHOT_ARGS], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    return [out / f"frame_{n:04d}.json" for n in range(1, SHOT_FRAMES + 1)]


def _hashes() -> dict:
    return json.loads((GOLDEN / "hashes.json").read_text())


def _skip_unless_same_machine() -> None:
    recorded = json.loads((GOLDEN / "machine.json").read_text())
    here = machine()
    if recorded != here:
        pytest.skip(f"golden paintings were made with torch {recorded['torch']} on a {recorded['cpu']} CPU; "
                    f"this is torch {here['torch']} on {here['cpu']}, where float sums may round otherwise")


@pytest.mark.parametrize("name", sorted(STILLS))
def test_still_is_bit_identical_to_golden(name, tmp_path):
    _skip_unless_same_machine()
    strokes = paint_still(STILLS[name])
    path = tmp_path / f"{name}.json"
    strokes.save_json(path)
    assert json.loads(path.read_text()) == json.loads((GOLDEN / f"{name}.json").read_text())
    assert params_hash(strokes.params) == _hashes()[name]


def test_shot_is_bit_identical_to_golden(tmp_path):
    _skip_unless_same_machine()
    from core.model.strokes import StrokeSet

    for n, path in enumerate(paint_shot(tmp_path), 1):
        name = f"shot_frame_{n:04d}"
        assert json.loads(path.read_text()) == json.loads((GOLDEN / f"{name}.json").read_text()), name
        assert params_hash(StrokeSet.load_json(path).params) == _hashes()[name], name


def regenerate() -> None:
    import shutil
    import tempfile

    from core.model.strokes import StrokeSet

    GOLDEN.mkdir(exist_ok=True)
    hashes = {}
    for name, options in sorted(STILLS.items()):
        strokes = paint_still(options)
        strokes.save_json(GOLDEN / f"{name}.json")
        hashes[name] = params_hash(strokes.params)
    with tempfile.TemporaryDirectory() as tmp:
        for n, path in enumerate(paint_shot(Path(tmp)), 1):
            name = f"shot_frame_{n:04d}"
            shutil.copy(path, GOLDEN / f"{name}.json")
            hashes[name] = params_hash(StrokeSet.load_json(path).params)
    (GOLDEN / "hashes.json").write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    (GOLDEN / "machine.json").write_text(json.dumps(machine(), indent=1) + "\n")
    print(f"wrote {len(hashes)} golden paintings to {GOLDEN}")


if __name__ == "__main__":
    regenerate()
