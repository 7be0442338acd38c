"""Neural Painter for Blender: a reference image becomes an animated Grease Pencil painting.

The add-on never imports ``core`` or torch into Blender's process: the engine runs in a
worker process (see ``bridge.py``), and this package only draws what it sends.
"""

from __future__ import annotations

from . import operators, prefs, props, ui

_MODULES = (props, prefs, operators, ui)


def register() -> None:
    for m in _MODULES:
        m.register()


def unregister() -> None:
    for m in reversed(_MODULES):
        m.unregister()
