"""Refine reads a painting back, with the artist's edits, and paints on from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

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


def test_refine_paints_towards_the_paintings_own_reference(scene: Any, image_path: Path, tmp_path: Path) -> None:
    """The panel now says Movie / Sequence (and another image): Refine still paints
    towards the file the painting was painted from, and leaves the panel as it was."""
    from blender_neural_painter import jobs

    result, _ = paint(scene, image_path, engine="random", style="tape", strokes=6, levels=1, size=32)
    assert result == {"FINISHED"}
    s = scene.neural_painter
    s.source, s.image_path, s.refine_strokes = "MOVIE", str(tmp_path / "elsewhere.png"), 4
    assert bpy.ops.neural_painter.refine(engine="random") == {"FINISHED"}
    job = jobs.last_job()
    assert job.worker.request.image == str(image_path)
    assert s.source == "MOVIE"


def test_refine_says_in_one_line_when_the_reference_is_gone(scene: Any, tmp_path: Path) -> None:
    from blender_neural_painter import jobs

    from conftest import counts, make_image

    gone = make_image(tmp_path / "gone.png")
    result, _ = paint(scene, gone, engine="random", style="tape", strokes=6, levels=1, size=32)
    assert result == {"FINISHED"}
    gone.unlink()
    before, last = counts(), jobs.last_job()
    with pytest.raises(RuntimeError, match=r"was painted from .*gone\.png, which is gone; put the file back"):
        bpy.ops.neural_painter.refine(engine="random")
    assert counts() == before


def drawn_params(obj: Any) -> np.ndarray:
    from blender_neural_painter import readback

    return np.array([d["params"] for d in readback.drawn_strokes(obj)[1]], np.float32)


def test_refine_selected_strokes_holds_every_other_stroke(scene: Any, image_path: Path) -> None:
    """Edit Mode's selection: those strokes are painted again (moved), two new strokes go
    around them, and every other stroke of the new painting is the old one to the bit."""
    from blender_neural_painter import gpencil

    result, job = paint(scene, image_path, style="tape", strokes=8, levels=1, size=32,
                        test_options='{"options": {"iterations": 3, "refine": 0}}')
    assert result == {"FINISHED"}, job.status
    src = bpy.context.view_layer.objects.active
    drawing = src.data.layers["Level 1"].frames[0].drawing
    for i in range(len(drawing.strokes)):
        drawing.strokes[i].select = i in (2, 5)
    assert gpencil.selected_strokes(src) == [2, 5]
    before = drawn_params(src)
    s = scene.neural_painter
    s.refine_region, s.refine_strokes, s.refine_levels = "SELECTED", 2, 1
    assert bpy.ops.neural_painter.refine(test_options='{"options": {"iterations": 3, "refine": 6}}') == {"FINISHED"}
    out = bpy.context.view_layer.objects.active
    after = drawn_params(out)
    assert len(after) == 8 + 2
    held = [i for i in range(8) if i not in (2, 5)]
    np.testing.assert_allclose(after[held], before[held], atol=1e-6)  # as stored: six decimals
    assert np.abs(after[[2, 5]] - before[[2, 5]]).max() > 1e-3


def test_refine_with_a_mask_paints_only_where_it_is_bright(scene: Any, image_path: Path) -> None:
    result, job = paint(scene, image_path, style="tape", strokes=8, levels=1, size=32,
                        test_options='{"options": {"iterations": 3, "refine": 0}}')
    assert result == {"FINISHED"}
    src = bpy.context.view_layer.objects.active
    before = drawn_params(src)
    mask = bpy.data.images.new("Right Half", 16, 16)
    pixels = np.zeros((16, 16, 4), np.float32)
    pixels[:, 8:, :] = 1.0  # white on the right half (Blender's rows run bottom up; columns do not)
    pixels[..., 3] = 1.0
    mask.pixels.foreach_set(pixels.ravel())
    s = scene.neural_painter
    s.refine_region, s.refine_mask, s.refine_strokes = "MASK", mask, 4
    assert bpy.ops.neural_painter.refine(test_options='{"options": {"iterations": 3, "refine": 4}}') == {"FINISHED"}
    after = drawn_params(bpy.context.view_layer.objects.active)
    np.testing.assert_allclose(after[:8], before, atol=1e-6)  # every old stroke held
    assert len(after) == 12 and (after[8:, 0] > 0.4).all()  # the new ones on the right half (centre x)


@pytest.mark.parametrize("region,message", [
    ("MASK", "Region Mask needs a mask image"),
    ("SELECTED", "no strokes of 'Painting small' are selected: select strokes in Edit Mode"),
])
def test_a_region_without_a_mask_or_selection_is_one_line(scene: Any, image_path: Path, region: str,
                                                          message: str) -> None:
    from conftest import counts

    result, _ = paint(scene, image_path, engine="random", style="tape", strokes=4, levels=1, size=32)
    src = bpy.context.view_layer.objects.active
    drawing = src.data.layers["Level 1"].frames[0].drawing
    for i in range(len(drawing.strokes)):
        drawing.strokes[i].select = False
    scene.neural_painter.refine_region = region
    before = counts()
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.neural_painter.refine(engine="random")
    assert counts() == before


def test_refine_renders_the_camera_at_the_paintings_frame(scene: Any) -> None:
    """Painted from camera A at frame 5; the scene now looks through camera B at frame 9.
    A modal Refine renders camera A at frame 5 (with the painting hidden) and puts the
    scene back: camera B, frame 9, the painting shown."""
    import standins
    from blender_neural_painter import jobs, operators
    from test_interactive import camera_scene, tick_until

    camera_scene(scene)
    first = scene.camera
    scene.frame_set(5)
    s = scene.neural_painter
    s.source, s.placement = "CAMERA", "CURSOR"
    result, job = paint(scene, Path("unused.png"), engine="random", style="tape", strokes=4, levels=1, size=32,
                        source="CAMERA")
    assert result == {"FINISHED"}
    src = job.obj
    other = bpy.data.objects.new("Other", bpy.data.cameras.new("Other"))
    scene.collection.objects.link(other)
    scene.camera = other
    scene.frame_set(9)
    seen: list[tuple[str, int, bool]] = []

    def rendering(scn: Any, *_: Any) -> None:  # Blender calls it as each render starts
        seen.append((scn.camera.name, scn.frame_current, src.hide_render))

    bpy.app.handlers.render_pre.append(rendering)
    s.source, s.refine_strokes = "FILE", 3  # the panel says something else now
    op = standins.operator(operators.NEURAL_PAINTER_OT_refine)
    ctx = standins.ui_context(active_object=src)
    try:
        assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
        assert tick_until(op, ctx, lambda: False) == {"FINISHED"}, op.reports
    finally:
        bpy.app.handlers.render_pre.remove(rendering)  # (left behind, 4.3 and 4.5 fail at exit)
    assert seen == [(first.name, 5, True)]
    assert (scene.camera, scene.frame_current, src.hide_render) == (other, 9, False)
    assert jobs.last_job().worker.request.image.endswith("camera.png")
