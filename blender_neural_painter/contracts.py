"""The engine's contracts, read in Blender's own Python: the stroke styles, the painting
options with their limits and defaults, and the worker protocol (``core.contracts``).

They are torch-free, so the add-on imports them directly instead of keeping copies:
the style menu, the properties' limits and every message to and from the worker come
from the engine. Where ``core`` lies: inside the installed extension (the build script
copies it there), or beside the add-on in a checkout.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

ADDON_DIR = Path(__file__).resolve().parent

if TYPE_CHECKING:
    from core import errors
    from core.contracts import brushes, options, protocol, strokes_format, styles
else:
    def _load(name: str) -> Any:
        if (ADDON_DIR / "core" / "contracts").is_dir():  # the installed extension
            return importlib.import_module(f"{__package__}.core.{name}")
        root = str(ADDON_DIR.parent)  # a checkout: the engine beside the add-on
        if root not in sys.path:
            sys.path.append(root)
        return importlib.import_module(f"core.{name}")

    errors = _load("errors")
    brushes, options, protocol, strokes_format, styles = (
        _load(f"contracts.{n}") for n in ("brushes", "options", "protocol", "strokes_format", "styles"))

__all__ = ["brushes", "errors", "options", "protocol", "strokes_format", "styles"]
