"""Fixtures for tests that run the add-on in real Blender (the ``bpy`` module, headless).

Paint runs are kept tiny (tens of strokes at 64-128 px) so the whole suite fits CI's
budget on two CPU cores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
#: The stand-in engines ("random") the worker processes of these tests may run; they do
#: not ship with the add-on (core.app.worker reads this variable).
os.environ["NEURAL_PAINTER_EXTRA_ENGINES"] = str(Path(__file__).resolve().parent / "standin_engines.py")

bpy = pytest.importorskip("bpy")


@pytest.fixture(scope="session")
def addon() -> Any:
    import blender_neural_painter as addon

    addon.register()
    yield addon
    addon.unregister()  # before exit: bpy 4.3 segfaults, 4.5 deadlocks with classes registered


@pytest.fixture
def scene(addon: Any) -> Any:
    """A fresh empty scene with the add-on registered."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    return bpy.context.scene


def make_image(path: Path, width: int = 96, height: int = 64) -> Path:
    """A small image with shapes and gradients (enough structure for a few strokes)."""
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    img = np.stack([x * 1.5, 1.0 - y * 1.5, 0.3 + 0.4 * np.sin(x * 9)], -1)
    disc = (x - 0.35) ** 2 + (y - 0.3) ** 2 < 0.03
    img[disc] = (0.9, 0.2, 0.1)
    img[(y > 0.5) & (x > 0.6)] = (0.1, 0.2, 0.7)
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("img") / "small.png")


def paint(scene: Any, image: Path, engine: str = "painter", test_options: str = "", **settings: Any) -> Any:
    """Run the Paint operator synchronously; returns (result, job)."""
    from blender_neural_painter import jobs

    s = scene.neural_painter
    s.source = "FILE"
    s.image_path = str(image)
    defaults = {"style": "marker", "strokes": 30, "levels": 2, "size": 64, "animation": "BUILD",
                "anim_start": 1, "anim_duration": 100}
    for k, v in {**defaults, **settings}.items():
        setattr(s, k, v)
    s.levels_auto = False  # the tests say how many levels
    try:
        result = bpy.ops.neural_painter.paint(engine=engine, test_options=test_options)
    except RuntimeError:  # the operator reported an error (the job holds the message)
        result = {"CANCELLED"}
    return result, jobs.last_job()


def counts() -> dict[str, int]:
    from blender_neural_painter import gpencil

    return gpencil.datablock_counts()


def orphans() -> list[str]:
    """Data blocks of the kinds a run creates that nothing uses."""
    from blender_neural_painter import gpencil

    out = []
    for coll in (bpy.data.materials, bpy.data.images, gpencil.gp_datablocks(), bpy.data.actions):
        out += [d.name for d in coll if d.users == 0 and not d.use_fake_user]
    return out
