"""A camera and Workbench settings that show a painting exactly as core's reference
renderer draws it (used by the headless command and the fidelity tests)."""

from __future__ import annotations

import math
from typing import Any

import bpy

from . import compat, gpencil


def frame_painting(context: Any, obj: Any, long_side: int = 1024, name: str = "Painting Camera") -> Any:
    """An orthographic camera looking at the painting square on from its front, framing
    exactly its canvas, with the render size at the canvas's aspect ratio (wherever the
    painting stands: at the cursor, or turned to face another camera)."""
    from mathutils import Matrix

    canvas = gpencil.painting_canvas(obj)
    if canvas is None:
        raise ValueError(f"{obj.name} is not a painting")
    scene = context.scene
    w_m, h_m = canvas.size_m
    cam_data = bpy.data.cameras.new(name)
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = max(w_m, h_m)
    cam = bpy.data.objects.new(name, cam_data)
    context.collection.objects.link(cam)
    # In the painting's space the camera stands on its front (-Y) looking along +Y, z up.
    front = Matrix.Translation((0.0, -max(w_m, h_m) * 2.0, 0.0)) @ Matrix.Rotation(math.pi / 2, 4, "X")
    context.view_layer.update()
    cam.matrix_world = obj.matrix_world.normalized() @ front
    cam_data.clip_end = max(w_m, h_m) * 10
    scene.camera = cam
    r = scene.render
    if canvas.width >= canvas.height:
        r.resolution_x, r.resolution_y = long_side, max(1, round(long_side * canvas.height / canvas.width))
    else:
        r.resolution_x, r.resolution_y = max(1, round(long_side * canvas.width / canvas.height)), long_side
    r.resolution_percentage = 100
    return cam


def workbench_settings(scene: Any) -> None:
    """Render settings under which Grease Pencil matches the reference renderer: plain
    sRGB display, textures shown, true supersampling instead of the post-process edge blur."""
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.color_type = "TEXTURE"
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.render.film_transparent = False
    scene.render.filter_size = 1.0
    compat.set_gp_render_antialiasing(scene, 32)


def render_to(scene: Any, path: str, frame: int | None = None) -> None:
    if frame is not None:
        scene.frame_set(frame)
    scene.render.filepath = path
    compat.set_png_output(scene.render.image_settings, "RGB")
    bpy.ops.render.render(write_still=True)
