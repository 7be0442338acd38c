"""The active camera as the reference image.

From the panel the render runs as Blender's own render job: the Paint run waits for it
in its timer, the status bar shows the render's progress, Esc cancels it, and the rest
of Blender stays usable. Scripts and the headless command render in the foreground.

Blender keeps a render result's pixels out of Python's reach, so the result is saved
to a PNG through the scene's output settings: they are switched to 8-bit PNG for that
one call only, and every image-format setting is put back afterwards, in an order that
keeps dependent settings intact (a 32-bit EXR set back from PNG comes back 16-bit if
the depth is restored before the format). Nothing else of the scene is touched; the
render handlers this module adds are removed whatever happens (left behind, they
crash or hang Blender 4.3 and 4.5 at exit).

"Camera Animation" renders the scene frame range this way, one frame after another, into
``frame_0001.png`` ... of a folder (the shot the engine then paints): the same render job
per frame, the same output-settings dance per save, and the scene's current frame put
back at the end, whether the range finished, was cancelled or failed.

While a reference renders, earlier paintings are hidden from the render, and the camera,
frame, engine (Workbench, if asked: the viewport's engine) and resolution percentage
asked for are set; everything is put back after (:class:`Staged`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import bpy

from . import compat
from .errors import UserError

RESULT_FILE = "camera.png"


def _check(scene: Any, spec: "CameraSpec | None" = None) -> None:
    if (spec.camera if spec is not None and spec.camera is not None else scene.camera) is None:
        raise UserError("the scene has no active camera: add one or choose another source")


@dataclass
class CameraSpec:
    """What to render: ``camera`` (None: the scene's), at ``frame`` (None: the current
    one) or over ``frames`` (Camera Animation), with the scene's render engine or
    Workbench (``engine="WORKBENCH"``: the viewport's engine, seconds a frame where
    Cycles takes minutes), at ``percent`` of the render resolution."""

    camera: Any = None
    frame: int | None = None
    frames: list[int] | None = None
    engine: str = "SCENE"
    percent: int = 100


class Staged:
    """The scene set up for rendering a reference, and put back exactly afterwards: the
    camera, the frame, the render engine and resolution percentage, and every earlier
    painting hidden from the render (a painting in front of the camera would otherwise
    be painted again into the new one)."""

    def __init__(self, scene: Any, spec: CameraSpec) -> None:
        from . import gpencil

        self.scene, self.spec = scene, spec
        r = scene.render
        self.saved = (scene.camera, scene.frame_current, r.engine, r.resolution_percentage)
        self.hidden = [o for o in scene.objects if not o.hide_render
                       and (gpencil.painting_canvas(o) is not None or gpencil.shot_info(o) is not None)]
        if spec.camera is not None:
            scene.camera = spec.camera
        if spec.engine == "WORKBENCH":
            r.engine = "BLENDER_WORKBENCH"
        r.resolution_percentage = int(spec.percent)
        for o in self.hidden:
            o.hide_render = True
        if spec.frame is not None and spec.frame != scene.frame_current:
            scene.frame_set(spec.frame)
        self.done = False

    def restore(self) -> None:
        if self.done:
            return
        self.done = True
        camera_obj, frame, engine, percent = self.saved
        scene, r = self.scene, self.scene.render
        for o in self.hidden:
            try:
                o.hide_render = False
            except ReferenceError:
                pass
        if r.engine != engine:
            r.engine = engine
        if r.resolution_percentage != percent:
            r.resolution_percentage = percent
        if scene.camera != camera_obj:
            scene.camera = camera_obj
        if scene.frame_current != frame:
            scene.frame_set(frame)


# --- settings snapshot -------------------------------------------------------------------

def snapshot(struct: Any, depth: int = 2) -> dict[str, Any]:
    """Every writable setting of an RNA struct (and of the structs it holds, ``depth``
    levels down), for :func:`restore` and for tests to compare."""
    out: dict[str, Any] = {}
    for prop in struct.bl_rna.properties:
        key = prop.identifier
        if key == "rna_type":
            continue
        if prop.type == "POINTER":
            sub = getattr(struct, key)
            if depth > 0 and sub is not None and not isinstance(sub, bpy.types.ID):
                out[key] = snapshot(sub, depth - 1)
        elif prop.type != "COLLECTION" and not prop.is_readonly:
            value = getattr(struct, key)
            out[key] = tuple(value) if hasattr(value, "__len__") and not isinstance(value, str) else value
    return out


def restore(struct: Any, saved: dict[str, Any], first: tuple[str, ...] = ()) -> None:
    """Put back what :func:`snapshot` saw: ``first`` in that order, then the rest."""
    keys = list(first) + [k for k in saved if k not in first]
    for key in keys:
        if key not in saved:
            continue
        value = saved[key]
        if isinstance(value, dict):
            restore(getattr(struct, key), value)
            continue
        now = getattr(struct, key)
        if (tuple(now) if hasattr(now, "__len__") and not isinstance(now, str) else now) != value:
            try:
                setattr(struct, key, value)
            except (AttributeError, TypeError, ValueError):
                pass  # not settable in this state (Blender derives it); the test compares all


def save_result(scene: Any, folder: str, name: str = RESULT_FILE) -> str:
    """The last render as an 8-bit PNG ``name`` in ``folder``, the scene's output settings
    as before."""
    result = next((img for img in bpy.data.images if img.type == "RENDER_RESULT"), None)
    if result is None:
        raise UserError("the camera render produced no image; check the render settings and try again")
    path = os.path.join(folder, name)
    settings = scene.render.image_settings
    saved = snapshot(settings)
    try:
        compat.set_png_output(settings, "RGBA")
        result.save_render(path, scene=scene)
    except RuntimeError as exc:
        raise UserError(f"the camera render could not be saved ({exc}); check the render settings") from None
    finally:
        restore(settings, saved, compat.IMAGE_FORMAT_FIRST)
    if not os.path.isfile(path):
        raise UserError("the camera render produced no image; check the render settings and try again")
    return path


def render_blocking(context: Any, folder: str, spec: CameraSpec | None = None) -> str:
    """Render the camera in the foreground (scripts, headless) and save it."""
    scene = context.scene
    spec = spec or CameraSpec()
    _check(scene, spec)
    staged = Staged(scene, spec)
    try:
        bpy.ops.render.render(write_still=False)
        return save_result(scene, folder)
    finally:
        staged.restore()


FRAMES_FOLDER = "camera_frames"


def frame_file(index: int) -> str:
    """The file of the range's ``index``-th frame (1-based), as the engine numbers a folder."""
    return f"frame_{index:04d}.png"


def scene_range(scene: Any) -> list[int]:
    """The scene frames "Camera Animation" renders: the frame range, every frame."""
    if scene.frame_end < scene.frame_start:
        raise UserError("the scene's frame range is empty; set End at or after Start")
    return list(range(scene.frame_start, scene.frame_end + 1))


def render_range_blocking(context: Any, folder: str, spec: CameraSpec | None = None) -> str:
    """Render every frame of the scene's range in the foreground (scripts, headless) into
    a folder of frames; the current frame is put back whatever happens."""
    scene = context.scene
    spec = spec or CameraSpec(frames=scene_range(scene))
    _check(scene, spec)
    out = os.path.join(folder, FRAMES_FOLDER)
    os.makedirs(out, exist_ok=True)
    staged = Staged(scene, spec)
    try:
        for index, frame in enumerate(spec.frames or scene_range(scene), 1):
            scene.frame_set(frame)
            bpy.ops.render.render(write_still=False)
            save_result(scene, out, frame_file(index))
    finally:
        staged.restore()
    return out


# --- the render job ------------------------------------------------------------------------

_WAITING: list["CameraRender"] = []


def _on_complete(*_args: Any) -> None:
    for r in _WAITING:
        r.outcome = r.outcome or "done"


def _on_cancel(*_args: Any) -> None:
    for r in _WAITING:
        r.outcome = r.outcome or "cancelled"


def _listen(on: bool) -> None:
    pairs = ((bpy.app.handlers.render_complete, _on_complete), (bpy.app.handlers.render_cancel, _on_cancel))
    for handlers, fn in pairs:
        if on and fn not in handlers:
            handlers.append(fn)
        elif not on and fn in handlers:
            handlers.remove(fn)


class CameraRender:
    """One camera render for a Paint run: :meth:`start` launches Blender's render job,
    :meth:`poll` says "rendering", "done" or "cancelled", :meth:`save` writes the PNG.
    Whatever happens, :meth:`close` (called by the run's teardown) removes the handlers.

    With ``frames`` (scene frame numbers) it renders each in turn: :meth:`poll` saves a
    finished frame and starts the next, and :meth:`save` gives the folder of frames."""

    def __init__(self, context: Any, folder: str, spec: CameraSpec | None = None) -> None:
        self.scene = context.scene
        spec = spec or CameraSpec()
        _check(self.scene, spec)
        self.folder = folder
        self.outcome: str | None = None
        self.frames = list(spec.frames or [])
        self.index = 0  # frames of the range saved so far
        self.stopping = False  # the run was cancelled: render no further frame
        if self.frames:
            self.folder = os.path.join(folder, FRAMES_FOLDER)
            os.makedirs(self.folder, exist_ok=True)
        self.staged = Staged(self.scene, spec)

    @property
    def fraction(self) -> float:
        """How far the renders are (the frames of a range saved so far)."""
        return self.index / len(self.frames) if self.frames else 0.0

    @property
    def text(self) -> str:
        """What the panel shows while it renders."""
        if not self.frames:
            return "Rendering the camera..."
        return f"Rendering the camera: frame {min(self.index + 1, len(self.frames))} of {len(self.frames)}"

    def start(self) -> None:
        if self.frames:
            self.scene.frame_set(self.frames[self.index])
        if self not in _WAITING:
            _WAITING.append(self)
        _listen(True)
        try:
            result = bpy.ops.render.render("INVOKE_DEFAULT", write_still=False)
        except RuntimeError as exc:
            self.close()
            raise UserError(f"the camera render could not start ({exc}); check the render settings") from None
        if "CANCELLED" in result:
            self.close()
            raise UserError("the camera render could not start (is another render running?); "
                            "wait for it and try again")
        if "FINISHED" in result:  # rendered within the call (no UI to run a job in)
            self.outcome = self.outcome or "done"

    def poll(self) -> str:
        if self.outcome is None and not bpy.app.is_job_running("RENDER"):
            self.outcome = "done"  # ended without telling us how; the result says
        if self.frames and self.outcome == "done" and not self.stopping and self.index < len(self.frames) - 1:
            # A frame of the range is rendered: keep it, start the next, and let the UI
            # show the progress before it is polled again (one frame per tick).
            save_result(self.scene, self.folder, frame_file(self.index + 1))
            self.index += 1
            self.outcome = None
            self.start()
            return "rendering"
        return self.outcome or "rendering"

    def stop(self) -> None:
        """The run's Cancel: the frame being rendered finishes (Esc in the render job
        cancels it at once), no further frame starts."""
        self.stopping = True

    def save(self) -> str:
        if self.frames:
            try:
                save_result(self.scene, self.folder, frame_file(self.index + 1))
            finally:
                self.close()
            return self.folder
        self.close()
        return save_result(self.scene, self.folder)

    def close(self) -> None:
        if self in _WAITING:
            _WAITING.remove(self)
        if not _WAITING:
            _listen(False)
        self.staged.restore()


def unregister() -> None:
    _WAITING.clear()
    _listen(False)
