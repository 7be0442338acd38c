"""What the artist sees is what was optimised: a Workbench render of the painting must
match core's reference render of the same strokes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import bpy, paint

FLOOR_DB = {"marker": 28.0, "tape": 28.0, "oil": 22.0, "watercolor": 22.0}
RENDER_PX = 128


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def render_painting(obj: Any, path: Path, frame: int) -> np.ndarray:
    from PIL import Image

    from blender_neural_painter import preview

    scene = bpy.context.scene
    preview.frame_painting(bpy.context, obj, RENDER_PX)
    preview.workbench_settings(scene)
    preview.render_to(scene, str(path), frame=frame)
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


@pytest.mark.parametrize("style", ["marker", "tape", "oil", "watercolor"])
def test_workbench_matches_reference(scene: Any, image_path: Path, tmp_path: Path, style: str) -> None:
    from core.reference import render_strokes
    from core.strokes import StrokeSet

    result, job = paint(scene, image_path, style=style, strokes=40, levels=2, size=64,
                        anim_start=1, anim_duration=20)
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    strokes = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in job.received])
    ref = render_strokes(strokes, RENDER_PX)
    got = render_painting(obj, tmp_path / f"{style}.png", frame=21)
    assert got.shape == ref.shape
    score = psnr(got, ref)
    print(f"{style}: Workbench vs core reference {score:.1f} dB")
    assert score >= FLOOR_DB[style], f"{style}: {score:.1f} dB < {FLOOR_DB[style]} dB"


def test_build_animation_replays(scene: Any, image_path: Path, tmp_path: Path) -> None:
    """Before the start frame only the canvas shows; at the end, the whole painting."""
    result, job = paint(scene, image_path, engine="random", style="tape", strokes=20, levels=2,
                        anim_start=10, anim_duration=20, background="black")
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    start = render_painting(obj, tmp_path / "start.png", frame=10)
    mid = render_painting(obj, tmp_path / "mid.png", frame=20)
    end = render_painting(obj, tmp_path / "end.png", frame=30)
    assert start.max() < 0.02  # the black canvas only
    painted = lambda im: float((im.max(-1) > 0.05).mean())  # noqa: E731
    assert 0 < painted(mid) < painted(end)
