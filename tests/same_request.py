"""One request painted on every path (``tests/core/test_same_painting.py`` and
``tests/blender/test_same_painting_headless.py``): the same painting must come out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

#: A translucent watercolour on a custom canvas colour, on a canvas big enough that torch
#: splits the work between threads: the paths must agree on how the picture is loaded
#: and flattened, on the colour, and on every float along the way.
OPTIONS = dict(style="watercolor", strokes=30, size=160, seed=11, background="#336699")


def reference_png(folder: Path) -> Path:
    """A 150 x 100 picture with a transparent corner (flattened onto the background)."""
    yy, xx = np.mgrid[0:100, 0:150] / 150.0
    rgba = np.zeros((100, 150, 4), np.uint8)
    rgba[..., 0] = (255 * xx).astype(np.uint8)
    rgba[..., 1] = (255 * (1 - yy)).astype(np.uint8)
    rgba[..., 2] = 120
    rgba[..., 3] = 255
    rgba[:40, :50, 3] = 0
    rgba[60:90, 80:130, :3] = (230, 40, 30)
    path = folder / "ref.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def rounded(params: np.ndarray) -> np.ndarray:
    """Parameters as the strokes JSON holds them (six decimals, read back as float32)."""
    return np.asarray(json.loads(json.dumps([[round(float(v), 6) for v in row] for row in params])), np.float32)


def api_painting(image: Path):
    """The painting the Python API makes of ``image``."""
    from core import PaintOptions, paint
    from core.io.image_io import load_reference
    from core.painters.events import Done

    options = PaintOptions(**OPTIONS)
    return [e for e in paint(load_reference(str(image), options), options) if isinstance(e, Done)][0].strokes
