"""What a painting remembers of how it was painted: its reference and its options.

Refine must paint towards the picture the painting was painted from, whatever the panel
says now (another image chosen, a shot source, a camera moved to another frame). So
every painting keeps, in custom properties of its object:

* ``neural_painter_reference``: the reference as JSON: ``{"kind": "FILE", "path"}``,
  ``{"kind": "IMAGE", "image"}`` (an image of the blend file), ``{"kind": "CAMERA",
  "camera", "frame"}``, a shot's ``{"kind": "SHOT", "input", "frames", "start"}`` or
  ``{"kind": "CAMERA_RANGE", "camera", "frames"}``, or ``{"kind": "IMPORT", "path"}``;
* ``neural_painter_reference_id``: the image or camera itself (a data-block pointer:
  it follows renames and keeps the image in the file);
* ``neural_painter_options``: the engine's options it was painted with (JSON).
"""

from __future__ import annotations

import json
from typing import Any

REFERENCE = "neural_painter_reference"
REFERENCE_ID = "neural_painter_reference_id"
OPTIONS = "neural_painter_options"


def store(obj: Any, reference: dict[str, Any] | None, options: dict[str, Any] | None, block: Any = None) -> None:
    if reference is not None:
        obj[REFERENCE] = json.dumps(reference)
    if block is not None:
        obj[REFERENCE_ID] = block
    if options is not None:
        obj[OPTIONS] = json.dumps(options)


def _json(obj: Any, key: str) -> dict[str, Any] | None:
    raw = obj.get(key) if obj is not None else None
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def reference(obj: Any) -> dict[str, Any] | None:
    """The painting's reference (None: painted before paintings kept one)."""
    return _json(obj, REFERENCE)


def reference_block(obj: Any) -> Any:
    """The image or camera the reference names, or None when it is gone."""
    try:
        return obj.get(REFERENCE_ID)
    except ReferenceError:
        return None


def options(obj: Any) -> dict[str, Any] | None:
    """The engine options the painting was painted with (None: not kept)."""
    return _json(obj, OPTIONS)


def describe(ref: dict[str, Any] | None) -> str:
    """The reference in a few words, for the panel."""
    if ref is None:
        return "no reference kept"
    kind = ref.get("kind")
    if kind == "FILE":
        return f"file {str(ref.get('path', '')).replace(chr(92), '/').rsplit('/', 1)[-1]}"
    if kind == "IMAGE":
        return f"image {ref.get('image')}"
    if kind == "CAMERA":
        return f"camera {ref.get('camera')} at frame {ref.get('frame')}"
    if kind == "IMPORT":
        return "imported strokes (no reference)"
    return "a shot"
