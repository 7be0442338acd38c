"""Neural Painter for Blender: a reference image becomes an animated Grease Pencil painting.

The engine runs in a worker process (``bridge.py``); torch is never imported into
Blender's process. The add-on reads only the engine's torch-free contracts (styles,
options, the worker protocol: ``contracts.py``) and draws what the worker sends.

Importing the package imports no ``bpy``: its Blender modules load when it registers,
so the bpy-free ones (``gp_data``, ``contracts``) are tested without Blender.
"""

from __future__ import annotations

import atexit
import importlib
from typing import Any

_STATE = {"registered": False}


def _modules() -> tuple[Any, ...]:
    """The modules that register classes, in order (imported here: they need bpy)."""
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in ("props", "prefs", "operators", "presets", "ui"))


def register() -> None:
    """Register everything (a second call does nothing), and make sure it is unregistered
    before the interpreter exits: the ``bpy`` module of Blender 4.3 segfaults and that of
    4.5 deadlocks at exit while add-on classes are still registered (``compat.py``)."""
    if _STATE["registered"]:
        return
    for m in _modules():
        m.register()
    _STATE["registered"] = True
    atexit.register(_unregister_at_exit)


def unregister() -> None:
    if not _STATE["registered"]:
        return
    _STATE["registered"] = False
    atexit.unregister(_unregister_at_exit)
    importlib.import_module(f"{__name__}.camera").unregister()
    for m in reversed(_modules()):
        m.unregister()


def _unregister_at_exit() -> None:
    try:
        unregister()
    except Exception:  # exiting anyway; never turn a clean exit into a traceback
        pass
