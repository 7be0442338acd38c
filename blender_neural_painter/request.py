"""The panel's settings as the engine's request options and the painting's animation."""

from __future__ import annotations

from typing import Any

from . import prefs
from .runner import Animation
from .sources import style_image_file


def style_options(settings: Any, folder: str | None) -> dict[str, Any]:
    """The engine's style fields (none when no style image is set)."""
    path = style_image_file(settings, folder)
    if path is None:
        return {}
    return {"style_image": path, "style_mode": settings.style_mode, "style_weight": float(settings.style_weight),
            "style_features": settings.style_features, "vgg_weights": prefs.vgg_weights_path(),
            "allow_download": False}


def paint_options(settings: Any, folder: str | None, strokes: int | None = None) -> dict[str, Any]:
    bg: Any = settings.background
    if bg == "CUSTOM":
        bg = [float(c) for c in settings.background_color]
    return {"style": settings.style, "strokes": int(strokes or settings.strokes),
            "levels": int(settings.levels) or None, "size": int(settings.size), "seed": int(settings.seed),
            "device": settings.device, "background": bg, "renderer": settings.renderer,
            **style_options(settings, folder)}


def animation_of(settings: Any) -> Animation:
    return Animation(settings.animation, int(settings.anim_start), int(settings.anim_duration),
                     int(settings.keyframe_every))
