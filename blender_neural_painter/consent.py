"""Whether a run may download VGG-16, and asking the user first.

VGG-16 style features need a one-time download of about 528 MB. Blender's "Allow
Online Access" decides whether the add-on may go online at all; within that, the panel
asks before the download, and scripts (which cannot be asked) take the preference
itself as consent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bpy

from . import prefs
from .errors import UserError
from .sources import style_chosen, style_image_file

VGG16_FILE = "vgg16-397923af.pth"
VGG16_DOWNLOAD_MB = 528
OFFLINE_VGG16 = ("VGG-16 weights need a one-time download but Blender's Allow Online Access is off: "
                 "enable it in Preferences > System > Network, or choose Offline style features")


def online_access() -> bool:
    """Blender's "Allow Online Access" preference (read-only in Python, so this function is
    the one place the add-on asks, and what tests stand in for)."""
    return bool(bpy.app.online_access)


def vgg16_cache_path() -> Path:
    """Where the engine keeps VGG-16 (``core.painters.features.vgg16_cache_path()``, which is torch
    hub's directory), worked out the way torch does but without importing it: Blender's
    Python need not have torch, and the worker inherits this process's environment."""
    home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"),
                                                                   "torch")))
    return Path(home) / "hub" / "checkpoints" / VGG16_FILE


def download_needed(settings: Any) -> bool:
    """Whether a run with these settings would have to download VGG-16 first."""
    return (style_chosen(settings) and settings.style_features == "vgg16" and prefs.vgg_weights_path() is None
            and not vgg16_cache_path().is_file())


def check(settings: Any) -> bool:
    """Whether the run needs VGG-16 downloaded; refuses (UserError) when Blender may not
    go online. Checks the style image first, so a missing file is named before that."""
    style_image_file(settings, None)
    needed = download_needed(settings)
    if needed and not online_access():
        raise UserError(OFFLINE_VGG16)
    return needed


def question() -> tuple[str, str]:
    """Title and message of the confirmation shown before the download."""
    return ("Download VGG-16 weights?",
            f"The VGG-16 style features need a one-time download of about {VGG16_DOWNLOAD_MB} MB "
            f"into the torch cache ({vgg16_cache_path().parent}).")
