"""A painting read back from Blender for Refine and Restyle: its strokes as they are
drawn now (moved, recoloured, deleted or added by hand), in the engine's units, for the
worker to reconcile with the parameters stored on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import gp_data, gpencil
from .contracts import strokes_format, styles
from .errors import UserError


def drawn_strokes(obj: Any) -> tuple[gp_data.Canvas, list[dict[str, Any]]]:
    """A painting's strokes as they are now, in core's units, for the worker to reconcile."""
    canvas = gpencil.painting_canvas(obj)
    if canvas is None:
        raise UserError(f"'{obj.name}' was not made by Neural Painter: select a painting made by Neural Painter")
    grow, _ = gp_data.gp_softness(styles.get_style(canvas.style).look.softness)
    out: list[dict[str, Any]] = []
    for d in gpencil.read_painting(obj):
        pos2 = canvas.from_world(d["positions"])
        rad = d["radius"] / (canvas.scale * grow)
        colors = d["colors"]
        # Vertex colour mixes over the (white) material colour by its alpha.
        rgb_lin = colors[..., :3] * colors[..., 3:4] + (1.0 - colors[..., 3:4])
        rgb = gp_data.linear_to_srgb(rgb_lin)
        for i in range(len(d["order"])):
            k = int(d["sizes"][i])
            params = d["params"][i].tolist() if d["order"][i] > 0 and d["params"].shape[1] else None
            alpha = float(d["opacity"][i, :k].max()) if k else 1.0
            rgba = np.concatenate([rgb[i, :k], np.full((k, 1), alpha, np.float32)], -1)
            out.append({"params": params, "points": pos2[i, :k].tolist(), "radius": rad[i, :k].tolist(),
                        "rgba": rgba.tolist(), "level": int(d["level"])})
    return canvas, out


def painting_init(canvas: gp_data.Canvas) -> dict[str, Any]:
    """The request's ``init`` for a painting read back: its canvas and brush, no strokes
    (they come as ``drawn``, which the worker reconciles)."""
    init = strokes_format.empty_painting(canvas.style, canvas.width, canvas.height, canvas.background)
    if canvas.brush is not None:
        init["meta"]["brush"] = canvas.brush
    return init
