"""Refine reads a painting back, with the artist's edits, and paints on from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from conftest import bpy, paint


def test_refine_reads_moved_recoloured_and_deleted_strokes(scene: Any, image_path: Path) -> None:
    from blender_neural_painter import gpencil, jobs
    from core.model.strokes import StrokeSet

    result, job = paint(scene, image_path, engine="random", style="marker", strokes=12, levels=1)
    assert result == {"FINISHED"}
    src = bpy.context.view_layer.objects.active
    canvas = gpencil.painting_canvas(src)
    original = StrokeSet.from_json_dict(job.received[0])
    drawing = src.data.layers["Level 1"].frames[0].drawing
    # Move stroke 0 right by 0.1 m, paint stroke 1 pure red, delete stroke 2.
    for p in drawing.strokes[0].points:
        p.position = (p.position[0] + 0.1, p.position[1], p.position[2])
    for p in drawing.strokes[1].points:
        p.vertex_color = (1.0, 0.0, 0.0, 1.0)
    drawing.remove_strokes(indices=[2])

    scene.neural_painter.refine_strokes = 6
    scene.neural_painter.refine_levels = 1
    try:
        res = bpy.ops.neural_painter.refine(engine="painter")
    except RuntimeError as exc:
        raise AssertionError(jobs.last_job().error) from exc
    assert res == {"FINISHED"}
    job2 = jobs.last_job()
    init = StrokeSet.from_json_dict(job2.init_strokes)
    assert len(init) == 11  # one deleted
    dx = 0.1 / canvas.scale / canvas.extent[0]  # as a fraction of the canvas width
    np.testing.assert_allclose(init.params[0, 0:6:2], original.params[0, 0:6:2] + dx, atol=2e-3)
    np.testing.assert_allclose(init.params[0, 1:6:2], original.params[0, 1:6:2], atol=2e-3)
    np.testing.assert_allclose(init.params[1, 8:11], (1.0, 0.0, 0.0), atol=1e-3)
    np.testing.assert_allclose(init.params[2:], original.params[3:], atol=1e-6)  # untouched, exact
    out = bpy.context.view_layer.objects.active
    assert out != src and out.name.endswith("Refined")
    assert [l.name for l in out.data.layers] == ["Canvas", "Level 1", "Level 2"]
    assert gpencil.stroke_count(out) == 11 + 6
    assert src.hide_get()  # the source is hidden, not changed
    assert len(src.data.layers["Level 1"].frames[0].drawing.strokes) == 11
