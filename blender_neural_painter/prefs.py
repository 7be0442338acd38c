"""Add-on preferences: where torch comes from.

Torch is too large to ship inside an extension, so the add-on finds it at run time:
already importable by Blender's Python, installed on request into the extension's own
user directory, or in an external interpreter the user points at (an existing CUDA
environment). Checks and installs run in subprocesses and threads that never touch bpy;
a timer on the main thread picks up their results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import bridge

PACKAGE = __package__ or "blender_neural_painter"

#: Shared between the checking/installing threads and the UI (plain values only).
STATE: dict[str, Any] = {"torch": "unknown", "info": {}, "install": "", "installing": False}


def preferences() -> Any | None:
    """This add-on's preferences, or None when it was registered without the add-on
    system (headless command, tests): callers then use the defaults."""
    context: Any = bpy.context
    addon = context.preferences.addons.get(PACKAGE)
    return addon.preferences if addon is not None else None


def site_dir(create: bool = False) -> str | None:
    """The extension's private directory for torch, if Blender gives it one."""
    if not PACKAGE.startswith("bl_ext."):
        return None
    try:
        return str(bpy.utils.extension_path_user(PACKAGE, path="site", create=create))
    except (ValueError, AttributeError, OSError):
        return None


def python_for_worker() -> str | None:
    """The interpreter chosen in the preferences (or by ``NEURAL_PAINTER_PYTHON`` for the
    headless command); None means Blender's own."""
    env = os.environ.get("NEURAL_PAINTER_PYTHON")
    if env:
        return env
    prefs = preferences()
    if prefs is not None and prefs.torch_source == "EXTERNAL" and prefs.python_path:
        return bpy.path.abspath(prefs.python_path)
    return None


def vgg_weights_path() -> str | None:
    """The VGG-16 weights file chosen in the preferences; None: the engine's torch cache."""
    prefs = preferences()
    raw = str(getattr(prefs, "vgg_weights", "") or "").strip() if prefs is not None else ""
    return bpy.path.abspath(raw) if raw else None


def check_torch_async() -> None:
    """Probe the chosen interpreter in the background (importing torch takes seconds)."""
    if STATE["torch"] == "checking":
        return
    STATE["torch"] = "checking"
    python, site = python_for_worker(), site_dir()

    def work() -> None:
        info = bridge.probe_torch(python, site)
        STATE["info"] = info
        STATE["torch"] = "ok" if info.get("torch") else "missing"

    threading.Thread(target=work, daemon=True).start()
    _watch()


def _watch() -> None:
    def tick() -> float | None:
        for window in getattr(bpy.context.window_manager, "windows", []):
            for area in window.screen.areas:
                if area.type in {"VIEW_3D", "PREFERENCES"}:
                    area.tag_redraw()
        busy = STATE["torch"] == "checking" or STATE["installing"]
        return 0.5 if busy else None

    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=0.5)


def torch_summary() -> str:
    info = STATE["info"]
    if STATE["torch"] == "ok":
        return f"torch {info.get('torch')} on {str(info.get('device', 'cpu')).upper()}"
    if STATE["torch"] == "checking":
        return "Checking for torch..."
    if STATE["torch"] == "missing":
        return "torch not found"
    return "torch not checked yet"


class NEURAL_PAINTER_OT_check_torch(bpy.types.Operator):
    bl_idname = "neural_painter.check_torch"
    bl_label = "Check Torch"
    bl_description = "Look for torch in the interpreter the painting engine will use"

    def execute(self, context: Any) -> set[Any]:
        check_torch_async()
        return {"FINISHED"}


class NEURAL_PAINTER_OT_install_torch(bpy.types.Operator):
    bl_idname = "neural_painter.install_torch"
    bl_label = "Install Torch"
    bl_description = ("Download torch and Pillow with pip into this extension's own directory "
                      "(about 200 MB for the CPU build; needs online access)")

    cpu_only: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="CPU Build", description="Install the smaller CPU-only build of torch", default=True)

    def execute(self, context: Any) -> set[Any]:
        if not getattr(bpy.app, "online_access", True):
            self.report({"ERROR"}, "Online access is off: allow it in Preferences > System > Network, "
                                   "or choose an external Python with torch")
            return {"CANCELLED"}
        target = site_dir(create=True)
        if target is None:
            self.report({"ERROR"}, "Installing needs the add-on installed as an extension; "
                                   "choose an external Python with torch instead")
            return {"CANCELLED"}
        if STATE["installing"]:
            return {"CANCELLED"}
        cmd = [sys.executable, "-m", "pip", "install", "--upgrade", "--target", target, "torch", "pillow"]
        if self.cpu_only:
            cmd += ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
        STATE["installing"] = True
        STATE["install"] = "Installing torch (this takes a few minutes)..."

        def work() -> None:
            try:
                subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], capture_output=True, timeout=300)
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
                STATE["install"] = ("Torch installed" if out.returncode == 0 else
                                    "Install failed: " + ((out.stderr or out.stdout).strip().splitlines() or ["?"])[-1][:200])
            except (OSError, subprocess.TimeoutExpired) as exc:
                STATE["install"] = f"Install failed: {exc}"
            finally:
                STATE["installing"] = False
                STATE["torch"] = "unknown"

        threading.Thread(target=work, daemon=True).start()
        _watch()
        return {"FINISHED"}


class NeuralPainterPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    torch_source: EnumProperty(  # type: ignore[valid-type]
        name="Torch",
        description="Which Python runs the painting engine",
        items=[("BLENDER", "Blender's Python", "Blender's own Python, with torch installed into this "
                                               "extension's directory if needed"),
               ("EXTERNAL", "External Python", "Another Python interpreter that already has torch "
                                               "(for example a CUDA environment)")],
        default="BLENDER")
    python_path: StringProperty(  # type: ignore[valid-type]
        name="Python Interpreter", subtype="FILE_PATH",
        description="Path to a python executable with torch, numpy and Pillow installed")
    vgg_weights: StringProperty(  # type: ignore[valid-type]
        name="VGG-16 Weights", subtype="FILE_PATH",
        description="torchvision's vgg16-397923af.pth for VGG-16 style features; empty: the torch cache, "
                    "downloaded once (about 528 MB) if Allow Online Access is on")

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        layout.prop(self, "torch_source", expand=True)
        if self.torch_source == "EXTERNAL":
            layout.prop(self, "python_path")
        box = layout.box()
        if STATE["torch"] == "unknown":
            check_torch_async()
        row = box.row()
        row.label(text=torch_summary(), icon="CHECKMARK" if STATE["torch"] == "ok" else "INFO")
        row.operator(NEURAL_PAINTER_OT_check_torch.bl_idname, text="", icon="FILE_REFRESH")
        if STATE["torch"] == "missing":
            err = STATE["info"].get("error")
            if err:
                box.label(text=str(err)[:120])
        if self.torch_source == "BLENDER":
            box.operator(NEURAL_PAINTER_OT_install_torch.bl_idname, icon="IMPORT")
        if STATE["install"]:
            box.label(text=STATE["install"])
        layout.prop(self, "vgg_weights")


CLASSES = (NEURAL_PAINTER_OT_check_torch, NEURAL_PAINTER_OT_install_torch, NeuralPainterPreferences)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
