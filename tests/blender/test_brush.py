"""The artist's brush in Blender: a texture material whose image is the brush's stencil,
stretched over every stroke as the engine stretches it, so Workbench draws what the
optimiser painted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import bpy, paint
from test_fidelity import psnr, render_painting_at


def asymmetric_brush(path: Path | None = None) -> Any:
    """A brush made here, unlike itself flipped either way: solid at the start, three
    streaks towards the end, and a notch on one side only. Written as a black mark on
    white (its darkness is the paint) when ``path`` is given."""
    from PIL import Image

    from core.model.brushes import load_brush

    h, w = 48, 160
    y, x = np.mgrid[0:h, 0:w]
    paint = np.ones((h, w), bool)
    paint &= ~((x > 0.55 * w) & (((y // 6) % 2) == 1))  # streaks along the end
    paint &= ~((y < 0.35 * h) & (x > 0.2 * w) & (x < 0.4 * w))  # a notch on the first rows' side
    paint &= ~(x > 0.92 * w) | (y > 0.5 * h)  # the end cut square on one side only
    grey = np.where(paint, 0, 255).astype(np.uint8)
    if path is None:
        path = Path("/tmp") / "np_test_brush.png"
    Image.fromarray(grey, "L").save(path)
    return load_brush(str(path))


def brush_painting(style: str, params: np.ndarray, brush: Any, name: str) -> tuple[Any, Any]:
    """Strokes painted with ``brush``, written into Grease Pencil as a run writes them
    (the worker's payload, decoded by the add-on, through its writer): the object and
    the engine's StrokeSet."""
    from core.app.worker import strokes_payload
    from core.model.brushes import brush_meta
    from core.model.strokes import StrokeSet

    from blender_neural_painter import gpencil
    from blender_neural_painter.runner import decode_batch

    strokes = StrokeSet(style, 256, 256, params, np.ones(len(params), np.int32), background=(1.0, 1.0, 1.0),
                        meta={"brush": brush_meta(brush)})
    assert strokes.geometry().brush == brush
    canvas = gpencil.Canvas(style, strokes.width, strokes.height, strokes.background)
    created = gpencil.Created()
    obj = gpencil.new_painting(bpy.context, name, canvas, created, 1)
    gpencil.add_level(obj, decode_batch(strokes_payload(strokes), 1), canvas, created, 1)
    return obj, strokes


#: One large stroke across the canvas, 512 px: Workbench against the engine's reference.
#: Measured: tape 37.2, oil 38.9 dB (bpy 5.0.1; 4.3.0: 35.9, 37.5); against the engine's
#: render with the stencil flipped along the stroke 13.1 / 14.5 dB, across 13.5 / 14.5 dB.
ONE_STROKE_FLOOR_DB = 35.0


@pytest.mark.parametrize("style", ["tape", "oil"])
def test_one_brush_stroke_in_blender_is_the_engines(scene: Any, tmp_path: Path, style: str) -> None:
    from dataclasses import replace

    from core.model.brushes import stencil
    from core.render.reference import render_strokes

    brush = asymmetric_brush(tmp_path / "brush.png")
    spec_dim = 12 if style == "oil" else 9
    colour = [0.2, 0.35, 0.6] + ([0.8, 0.3, 0.1] if style == "oil" else [])  # oil: graded along the stroke
    params = np.array([[0.5, 0.5, 0.8, 0.3, 0.08] + colour + [1.0]], np.float32)
    assert params.shape[1] == spec_dim
    obj, strokes = brush_painting(style, params, brush, "Brush stroke")
    size = 512
    got = render_painting_at(obj, tmp_path / f"{style}.png", size)
    ref = render_strokes(strokes, size)
    score = psnr(got, ref)

    def flipped(values: np.ndarray) -> Any:
        from core.model.brushes import brush_meta

        other = replace(brush, stencil=np.ascontiguousarray(values).tobytes())
        return render_strokes(replace(strokes, meta={"brush": brush_meta(other)}), size)

    raw = np.round(stencil(brush) * 255).astype(np.uint8)
    along, across = psnr(got, flipped(raw[:, ::-1])), psnr(got, flipped(raw[::-1]))
    print(f"{style} with a brush: Workbench vs engine {score:.1f} dB; stencil flipped along {along:.1f} dB, "
          f"across {across:.1f} dB")
    assert score >= ONE_STROKE_FLOOR_DB
    # A bug that mirrors the brush in Blender would score as low as these.
    assert along < score - 10 and across < score - 10
    mat = obj.data.materials[-1]
    assert mat.name == f"NP {strokes.spec.label} brush" and mat.grease_pencil.stroke_style == "TEXTURE"
    assert mat.grease_pencil.mix_stroke_factor == pytest.approx(1.0)


#: A painting made through the worker (40 strokes at 64 px, the brush a picture made
#: here), Workbench at 256 px against the engine's render of what it sent. Measured: oil
#: 39.5, tape 38.6 dB (bpy 5.0.1); 34.6 and 34.8 dB (4.3.0: no supersampling before 4.5,
#: compat.GP_RENDER_AA). Oil's own bristles score 29.7 dB at 128 px (test_fidelity.py);
#: the brush's colour is graded tip to tip as Grease Pencil grades it.
PAINTING_FLOOR_DB = {"oil": 38.0, "tape": 37.0}
PAINTING_FLOOR_DB_BEFORE_4_5 = {"oil": 33.0, "tape": 33.0}


@pytest.mark.parametrize("style", ["oil", "tape"])
def test_a_painting_with_a_brush_is_drawn_with_it(scene: Any, image_path: Path, tmp_path: Path, style: str) -> None:
    from core.model.strokes import StrokeSet
    from core.render.reference import render_strokes

    brush = asymmetric_brush(tmp_path / "my brush.png")
    scene.neural_painter.brush = str(tmp_path / "my brush.png")
    result, job = paint(scene, image_path, style=style, strokes=40, levels=2, size=64, animation="NONE")
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    strokes = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in job.received])
    assert strokes.brush == brush and strokes.meta["brush"]["file"] == str(tmp_path / "my brush.png")
    names = {m.name for m in obj.data.materials}
    assert names == {"NP Canvas", f"NP {strokes.spec.label} my brush"}, names
    image = obj.data.materials[f"NP {strokes.spec.label} my brush"].grease_pencil.stroke_image
    assert image.name == "NP Brush my brush" and tuple(image.size) == (130, 32)
    size = 256
    got = render_painting_at(obj, tmp_path / "painting.png", size)
    ref = render_strokes(strokes, size)
    score = psnr(got, ref)
    print(f"{style} painting with a brush: Workbench vs engine {score:.1f} dB")
    from blender_neural_painter import compat

    assert score >= (PAINTING_FLOOR_DB if compat.at_least(4, 5) else PAINTING_FLOOR_DB_BEFORE_4_5)[style]


#: The issue's figure (issue 22 point 4): a 300-stroke oil painting of the bundled sample,
#: made through the worker with a brush made here, Workbench at 1024 px against the
#: engine's reference render at 1024 px (painted at 128 px, 3 levels, to keep the test
#: short; benchmarks/bench_brush.py measures it painted at 256 px). Measured: 35.2 dB
#: (bpy 5.0.1).
FLOOR_1024_DB = 30.0


def test_a_300_stroke_painting_with_a_brush_at_1024_px_is_the_engines(scene: Any, tmp_path: Path) -> None:
    from conftest import ROOT

    from core.model.strokes import StrokeSet
    from core.render.reference import render_strokes

    from blender_neural_painter import gpencil

    brush = asymmetric_brush(tmp_path / "brush.png")
    scene.neural_painter.brush = str(tmp_path / "brush.png")
    result, job = paint(scene, ROOT / "samples" / "astronaut.png", style="oil", strokes=300, levels=3, size=128,
                        animation="NONE")
    assert result == {"FINISHED"}, job.status
    obj = bpy.context.view_layer.objects.active
    strokes = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in job.received])
    assert len(strokes) == 300 and gpencil.stroke_count(obj) == 300 and strokes.brush == brush
    size = 1024
    got = render_painting_at(obj, tmp_path / "painting.png", size)
    ref = render_strokes(strokes, size)
    assert got.shape == ref.shape == (size, size, 3)
    score = psnr(got, ref)
    print(f"300 oil strokes with a brush made here: Workbench vs engine at {size} px {score:.2f} dB")
    assert score >= FLOOR_1024_DB


def test_the_headless_command_paints_with_a_brush(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import ROOT, make_image

    img = make_image(tmp_path / "in.png")
    out = tmp_path / "painting.blend"
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "paint", str(img), "--out", str(out),
                          "--style", "tape", "--strokes", "12", "--size", "32", "--brush", "fan"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(out))
    mat = bpy.data.materials["NP Tape fan"]
    assert mat.users and mat.grease_pencil.stroke_image.name == "NP Brush fan"


def test_refine_and_restyle_keep_the_paintings_brush(scene: Any, image_path: Path) -> None:
    """The painting keeps its brush (its meta entry on the object), so Refine, with the
    panel's brush emptied, paints on with it, old strokes and new alike."""
    from core.model.brushes import preset
    from core.model.strokes import StrokeSet

    from blender_neural_painter import gpencil, jobs, readback

    scene.neural_painter.brush = "filbert"
    result, job = paint(scene, image_path, style="tape", strokes=10, levels=1, size=32)
    assert result == {"FINISHED"}, job.status
    src = bpy.context.view_layer.objects.active
    canvas = gpencil.painting_canvas(src)
    assert canvas is not None and canvas.brush is not None and canvas.brush["name"] == "filbert"
    assert StrokeSet.from_json_dict(readback.painting_init(canvas)).brush == preset("filbert")
    scene.neural_painter.brush = ""
    scene.neural_painter.refine_strokes = 4
    scene.neural_painter.refine_levels = 1
    try:
        assert bpy.ops.neural_painter.refine(engine="painter") == {"FINISHED"}
    except RuntimeError as exc:
        raise AssertionError(jobs.last_job().error) from exc
    out = bpy.context.view_layer.objects.active
    assert out != src and {m.name for m in out.data.materials} == {"NP Canvas", "NP Tape filbert"}
    assert StrokeSet.from_json_dict(jobs.last_job().init_strokes).brush == preset("filbert")
    assert gpencil.stroke_count(out) == 14
