"""Neural Painter engine: image -> brush strokes (Zou et al., "Stylized Neural Painting").

Pure torch/numpy/pillow; never imports Blender. Names are imported lazily (PEP 562)
so that ``import core`` is cheap and works without torch: the Blender add-on imports
it to check what is installed before it decides how to run the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "PainterError": ".errors",
    "StrokeSet": ".model.strokes",
    "STYLES": ".contracts.styles",
    "StyleSpec": ".contracts.styles",
    "get_style": ".contracts.styles",
    "Geometry": ".model.geometry",
    "to_geometry": ".model.geometry",
    "PaintOptions": ".painters.painter",
    "paint": ".painters.painter",
    "load_image": ".io.image_io",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
