"""Bring a new painting into view: a painting made where no 3D viewport looks (at the
3D cursor off screen, in front of a camera the artist is not looking through) is framed
in each viewport that cannot see any of it, as View Selected would frame it."""

from __future__ import annotations

from typing import Any, Callable

import bpy
from bpy_extras.view3d_utils import location_3d_to_region_2d
from mathutils import Vector


def visible_in(region: Any, rv3d: Any, obj: Any) -> bool:
    """Whether any corner or the centre of the object's bounding box projects inside
    the region (in front of the view)."""
    world = obj.matrix_world
    corners = [world @ Vector(c) for c in obj.bound_box]
    points = corners + [sum(corners, Vector()) / len(corners)] if corners else [world.translation]
    for co in points:
        xy = location_3d_to_region_2d(region, rv3d, co)
        if xy is not None and 0 <= xy.x <= region.width and 0 <= xy.y <= region.height:
            return True
    return False


def _view_selected(window: Any, area: Any, region: Any) -> None:
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_selected()


def frame_if_hidden(context: Any, obj: Any, frame: Callable[[Any, Any, Any], None] = _view_selected) -> list[Any]:
    """Frame the (selected) ``obj`` in every 3D viewport of the screen that shows none of
    it; the areas framed. Without a window (scripts, headless) there is nothing to do."""
    window, screen = getattr(context, "window", None), getattr(context, "screen", None)
    if window is None or screen is None:
        return []
    framed = []
    for area in screen.areas:
        if area.type != "VIEW_3D":
            continue
        region = next((r for r in area.regions if r.type == "WINDOW"), None)
        rv3d = getattr(area.spaces.active, "region_3d", None)
        if region is None or rv3d is None or visible_in(region, rv3d, obj):
            continue
        frame(window, area, region)
        framed.append(area)
    return framed
