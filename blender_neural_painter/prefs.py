"""Add-on preferences: where torch comes from.

Torch is too large to ship inside an extension, so the add-on finds it at run time:
already importable by Blender's Python, installed on request into the extension's own
user directory (``torch_setup``), or in an external interpreter the user points at (an
existing CUDA environment). Checks and installs run in subprocesses and threads that
never touch bpy; a timer on the main thread redraws while they run, and unregistering
removes it (a timer left behind crashes Blender 4.3 and hangs 4.5 at exit).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import bridge, torch_setup

PACKAGE = __package__ or "blender_neural_painter"
#: How many lines of pip's output the preferences show while installing.
INSTALL_LINES = 6

#: Shared between the checking/installing threads and the UI (plain values only).
STATE: dict[str, Any] = {"torch": "unknown", "info": {}, "install": None}


def preferences() -> Any | None:
    """This add-on's preferences, or None when it was registered without the add-on
    system (headless command, tests): callers then use the defaults."""
    context: Any = bpy.context
    addon = context.preferences.addons.get(PACKAGE)
    return addon.preferences if addon is not None else None


def site_dir(create: bool = False) -> str | None:
    """The add-on's own folder for torch, in the user's Blender directory (writable by
    the user): the extension's user directory once installed as an extension, else a
    folder of Blender's user data. None when it does not exist (and ``create`` is off)."""
    try:
        if PACKAGE.startswith("bl_ext."):
            path = str(bpy.utils.extension_path_user(PACKAGE, path="site", create=create))
        else:
            path = bpy.utils.user_resource("DATAFILES", path=os.path.join("neural_painter", "site"), create=create)
    except (ValueError, OSError):
        return None
    return path if path and os.path.isdir(path) else None


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


def _busy() -> bool:
    install = STATE["install"]
    return STATE["torch"] == "checking" or (install is not None and install.running)


def _tick() -> float | None:
    """Redraw the panels while a check or an install runs; stops itself after."""
    wm: Any = bpy.context.window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "PREFERENCES"}:
                area.tag_redraw()
    return 0.5 if _busy() else None


def _watch() -> None:
    if not bpy.app.timers.is_registered(_tick):
        bpy.app.timers.register(_tick, first_interval=0.5)


def device_notes(device: str) -> list[tuple[str, str]]:
    """What the installed torch can run on, as (text, icon) lines for the Device field:
    Install Torch installs the CPU build, so CUDA needs an External Python with a CUDA
    build of torch, and MPS a Mac."""
    info = STATE["info"]
    if STATE["torch"] != "ok":
        return []
    best = str(info.get("device", "cpu"))
    can = {"cpu"} | {best}
    if best == "cpu":
        lines = [("This torch runs on the CPU only", "INFO")]
        if device in ("cuda", "mps"):
            fix = ("choose an External Python with a CUDA build of torch in the preferences" if device == "cuda"
                   else "MPS needs torch on an Apple silicon Mac")
            lines.append((f"{device.upper()} is not available: {fix}", "ERROR"))
        return lines
    lines = [(f"This torch can use {best.upper()} and the CPU", "INFO")]
    if device in ("cuda", "mps") and device not in can:
        lines.append((f"{device.upper()} is not available with this torch", "ERROR"))
    return lines


def torch_summary() -> str:
    info = STATE["info"]
    if STATE["torch"] == "ok":
        shots = "" if info.get("cv2") else " (no OpenCV: stills only)"
        return f"torch {info.get('torch')} on {str(info.get('device', 'cpu')).upper()}{shots}"
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
    bl_description = (f"Download torch {torch_setup.TORCH_VERSION} (CPU build, about 200 MB), Pillow, and OpenCV "
                      "and PyAV for shots, with pip into this add-on's own folder, for Blender's Python; "
                      "needs online access")

    def execute(self, context: Any) -> set[Any]:
        install = STATE["install"]
        if install is not None and install.running:
            self.report({"WARNING"}, "Torch is being installed already; see the add-on preferences")
            return {"CANCELLED"}
        if not bpy.app.online_access:
            self.report({"ERROR"}, "Online access is off: allow it in Preferences > System > Network, "
                                   "or choose an external Python with torch")
            return {"CANCELLED"}
        target = site_dir(create=True)
        if target is None:
            self.report({"ERROR"}, "Blender gives the add-on no folder to install into; "
                                   "choose an external Python with torch instead")
            return {"CANCELLED"}
        install = torch_setup.Install(target)
        install.summary = f"Installing torch {torch_setup.TORCH_VERSION} (CPU) into {target}..."
        install.running = True
        STATE["install"] = install

        def work() -> None:
            install.run()
            STATE["torch"] = "unknown"  # look again: the panels then show the new torch

        threading.Thread(target=work, daemon=True).start()
        _watch()
        return {"FINISHED"}


def _recheck(self: Any, context: Any) -> None:
    """Another Python was chosen: look for torch there (started by the change, not a draw)."""
    STATE["torch"] = "unknown"
    check_torch_async()


class NeuralPainterPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    torch_source: EnumProperty(  # type: ignore[valid-type]
        name="Torch",
        description="Which Python runs the painting engine",
        items=[("BLENDER", "Blender's Python", "Blender's own Python, with torch installed into this "
                                               "extension's directory if needed"),
               ("EXTERNAL", "External Python", "Another Python interpreter that already has torch "
                                               "(for example a CUDA environment)")],
        default="BLENDER", update=_recheck)
    python_path: StringProperty(  # type: ignore[valid-type]
        name="Python Interpreter", subtype="FILE_PATH",
        description="Path to a python executable with torch, numpy and Pillow installed", update=_recheck)
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
        row = box.row()
        row.label(text=torch_summary(), icon="CHECKMARK" if STATE["torch"] == "ok" else "INFO")
        row.operator(NEURAL_PAINTER_OT_check_torch.bl_idname, text="", icon="FILE_REFRESH")
        if STATE["torch"] == "missing":
            err = STATE["info"].get("error")
            if err:
                box.label(text=str(err)[:120])
        install = STATE["install"]
        if self.torch_source == "BLENDER":
            row = box.row()
            row.enabled = install is None or not install.running
            row.operator(NEURAL_PAINTER_OT_install_torch.bl_idname, icon="IMPORT")
            box.label(text="Installs the CPU build of torch; for an NVIDIA GPU choose an External Python "
                           "with a CUDA build", icon="INFO")
        if install is not None:
            box.label(text=install.summary, icon="ERROR" if install.ok is False else "INFO")
            if install.running or install.ok is False:
                out = box.column(align=True)
                for line in list(install.lines)[-INSTALL_LINES:]:
                    out.label(text=line[:160])
        layout.prop(self, "vgg_weights")


CLASSES = (NEURAL_PAINTER_OT_check_torch, NEURAL_PAINTER_OT_install_torch, NeuralPainterPreferences)


def _first_check() -> None:
    """Look for torch once Blender is up (a timer, so nothing starts from a panel's
    draw; timers never fire in the background, where Paint finds out for itself)."""
    if STATE["torch"] == "unknown":
        check_torch_async()


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.app.timers.register(_first_check, first_interval=1.0, persistent=True)


def unregister() -> None:
    for timer in (_tick, _first_check):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
