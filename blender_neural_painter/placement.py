"""Where a new painting stands: at the 3D cursor, in front of a camera filling its frame
(Fit to Camera), or exactly where the painting it refines stands; in which collection,
under which name.

Fit to Camera puts the canvas ``distance`` in front of the camera, square to its view,
as large as the camera's frame (``Camera.view_frame``, which knows the sensor fit,
the render's aspect and the lens shift), so the camera's own render shows the painting
edge to edge, as the engine painted it. The canvas's size is known only once the
engine says how large the canvas is, so a placement is resolved then
(:meth:`Placement.resolve`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mathutils

from . import gp_data
from .errors import UserError


@dataclass
class Placement:
    width_m: float = 2.0
    location: tuple[float, float, float] | None = None  # at the 3D cursor
    camera: Any = None  # Fit to Camera: this camera ...
    distance: float = 1.0  # ... this far in front of it
    parent_to_camera: bool = True
    like: Any = None  # stand exactly where this painting stands (Refine)
    collection: Any = None  # None: the active collection
    name: str = ""  # "" : the run's own name
    show_canvas: bool = True

    def resolve(self, scene: Any, canvas: gp_data.Canvas) -> tuple[float, dict[str, Any]]:
        """The painting's width in metres and ``gpencil.new_painting``'s placement
        arguments for a canvas of this size."""
        where: dict[str, Any] = {"collection": self.collection, "show_canvas": self.show_canvas}
        if self.like is not None:
            src = self.like
            where.update(matrix=src.matrix_basis.copy() if src.parent else src.matrix_world.copy(),
                         parent=src.parent, parent_inverse=src.matrix_parent_inverse.copy())
            return self.width_m, where
        if self.camera is None:
            return self.width_m, {**where, "location": self.location}
        cam = self.camera
        width, local = camera_fit(scene, cam, self.distance, canvas.width / canvas.height)
        if self.parent_to_camera:
            # The camera's scale must not scale the painting: its frame does not scale.
            scale = cam.matrix_world.to_scale()
            undo = mathutils.Matrix.Diagonal((1 / scale[0], 1 / scale[1], 1 / scale[2], 1.0))
            where.update(matrix=local, parent=cam, parent_inverse=undo)
        else:
            where.update(matrix=cam.matrix_world.normalized() @ local)
        return width, where


def check_distance(camera: Any, distance: float) -> None:
    """UserError when a painting ``distance`` in front of ``camera`` would be clipped away."""
    data = camera.data
    if distance <= data.clip_start or distance >= data.clip_end:
        raise UserError(f"Distance {distance:g} m is outside camera '{camera.name}''s clipping range "
                        f"({data.clip_start:g} to {data.clip_end:g} m): the camera would not see the painting; "
                        "set a Distance inside it")


def camera_fit(scene: Any, camera: Any, distance: float, aspect: float) -> tuple[float, Any]:
    """(width in metres, matrix in the camera's space) of a canvas of ``aspect`` that
    fills the camera's frame ``distance`` in front of it (``gp_data.fit_frame``): the
    canvas's XZ plane turned to face the camera (its x along the frame's, z up the frame)."""
    check_distance(camera, distance)
    data = camera.data
    corners = [tuple(v) for v in data.view_frame(scene=scene)]
    width, centre = gp_data.fit_frame(corners, data.type == "ORTHO", distance, aspect)
    turn = mathutils.Matrix.Rotation(-math.pi / 2, 4, "X")  # object -Y (the canvas's front) to camera +Z
    return width, mathutils.Matrix.Translation(tuple(centre)) @ turn


def from_settings(context: Any, settings: Any, camera_source: bool) -> Placement:
    """The panel's Placement for a new painting (``camera_source``: painted from the
    camera, where Auto fits it to the camera); UserError when it cannot be placed so."""
    common: dict[str, Any] = {"width_m": float(settings.width_m), "collection": settings.collection,
                              "name": settings.object_name.strip(), "show_canvas": settings.background != "TRANSPARENT"}
    if settings.placement == "CAMERA" or (settings.placement == "AUTO" and camera_source):
        camera = context.scene.camera
        if camera is None:
            raise UserError("Fit to Camera needs an active camera: add one or choose another Placement")
        check_distance(camera, float(settings.camera_distance))
        return Placement(camera=camera, distance=float(settings.camera_distance),
                         parent_to_camera=bool(settings.camera_parent), **common)
    return Placement(location=tuple(context.scene.cursor.location), **common)
