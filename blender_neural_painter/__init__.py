"""Neural Painter for Blender: a reference image becomes an animated Grease Pencil painting.

The add-on never imports ``core`` or torch into Blender's process: the engine runs in a
worker process (see ``bridge.py``), and this package only draws what it sends.
"""

from __future__ import annotations

import atexit

from . import camera, operators, prefs, props, ui

_MODULES = (props, prefs, operators, ui)
_STATE = {"registered": False}


def register() -> None:
    """Register everything (a second call does nothing), and make sure it is unregistered
    before the interpreter exits: the ``bpy`` module of Blender 4.3 segfaults and that of
    4.5 deadlocks at exit while add-on classes are still registered (``compat.py``)."""
    if _STATE["registered"]:
        return
    for m in _MODULES:
        m.register()
    _STATE["registered"] = True
    atexit.register(_unregister_at_exit)


def unregister() -> None:
    if not _STATE["registered"]:
        return
    _STATE["registered"] = False
    atexit.unregister(_unregister_at_exit)
    camera.unregister()
    for m in reversed(_MODULES):
        m.unregister()


def _unregister_at_exit() -> None:
    try:
        unregister()
    except Exception:  # exiting anyway; never turn a clean exit into a traceback
        pass
