"""Painting a shot in Blender and importing paintings made elsewhere.

What Blender builds is read back and compared with the strokes JSON it came from: one
drawing per frame on the frames the source frames map to, the JSON's stroke count per
drawing, colours, stroke ids; the headless ``import`` command's .blend reopened; bad
input refused with one line and exit code 2 before anything is written; the modal run
from a shot source cancelled after its first frame keeping the finished frames.

Undo is not tested: ``bpy.ops.ed.undo`` needs a window, which the ``bpy`` module has
not. The run is one operator call with ``UNDO`` in its options (as Paint), which is
what makes it one undo step in Blender.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import standins
from conftest import ROOT, bpy, counts, orphans
from standins import ESC, TIMER
from test_interactive import assert_torn_down, paint_op, tick_until

FRAMES = (1, 2, 3, 5)  # frame 4 missing: frame 3's drawing holds through it


def write_frames(folder: Path, style: str = "oil", numbers: tuple[int, ...] = FRAMES, strokes: int = 14,
                 starts: dict[int, int] | None = None, rate: float | None = None) -> list[Any]:
    """Frame JSONs as ``paint-frames`` writes them (ids kept across frames, a stroke
    dropped and one born per frame, levels 1-2, ``meta.frame``), from random strokes;
    with ``starts`` and ``rate`` as ``--to-fps`` writes them (``meta.at``, ``meta.rate``)."""
    import torch

    from core.model.strokes import StrokeSet
    from core.contracts.styles import get_style
    from core.model.geometry import random_params

    folder.mkdir(parents=True, exist_ok=True)
    spec = get_style(style)
    gen = torch.Generator().manual_seed(3)
    params = random_params(spec, strokes, gen, max_size=0.5).numpy()
    levels = np.repeat([1, 2], [strokes // 2, strokes - strokes // 2])
    ids = 100_000 + np.arange(strokes)
    out = []
    for n in numbers:
        if n > 1:
            params = np.concatenate([np.clip(params[1:] + 0.01, 0, 1), random_params(spec, 1, gen).numpy()])
            levels = np.concatenate([levels[1:], [2]])
            ids = np.concatenate([ids[1:], [n * 100_000]])
        meta: dict[str, Any] = {"frame": n, "shot": {"style": style}}
        if starts is not None:
            meta.update(at=starts[n], rate=rate)
        s = StrokeSet(style, 96, 64, params, levels, (0.9, 0.85, 0.8), meta, ids)
        s.params = np.round(s.params.astype(np.float64), 6).astype(np.float32)
        s.save_json(folder / f"frame_{n:04d}.json")
        out.append(s)
    return out


def layer_frames(obj: Any) -> dict[str, list[tuple[int, int]]]:
    return {layer.name: [(int(f.frame_number), len(f.drawing.strokes)) for f in layer.frames]
            for layer in obj.data.layers}


def curve_ints(drawing: Any, name: str) -> np.ndarray:
    buf = np.zeros(len(drawing.strokes), np.int32)
    drawing.attributes[name].data.foreach_get("value", buf)
    return buf


def assert_shot_matches(obj: Any, frames: list[Any], numbers: tuple[int, ...], start: int) -> None:
    """Each frame's JSON is the drawings on scene frame start + n - 1 (start + at - 1 for a
    retimed shot): strokes per level, ids and (linear) colours as the geometry of the JSON
    says."""
    from blender_neural_painter import gpencil

    drawings = gpencil.shot_frames(obj)
    scene_frames = [start + f.meta.get("at", n) - 1 for n, f in zip(numbers, frames)]
    assert list(drawings) == scene_frames  # no drawing on a missing frame: the one before holds
    canvas = gpencil.painting_canvas(obj)
    for f, strokes in zip(scene_frames, frames):
        geo = strokes.geometry()
        for level in (1, 2):
            rows = np.flatnonzero(strokes.level == level)
            d = gpencil.read_drawing(drawings[f][level], canvas)
            assert len(d["order"]) == rows.size
            assert np.array_equal(d["ids"], strokes.ids[rows])
            assert np.array_equal(d["order"], rows + 1)  # painting order within the frame
            assert np.allclose(d["colors"][..., :3], gpencil.srgb_to_linear(geo.rgba[rows][..., :3]), atol=1e-5)
            assert np.allclose(d["params"], strokes.params[rows], atol=1e-6)


# --- Import Painting --------------------------------------------------------------------------

def test_import_folder_of_frames_makes_one_drawing_per_frame(scene: Any, tmp_path: Path) -> None:
    from blender_neural_painter import gpencil, jobs

    frames = write_frames(tmp_path / "shot")
    assert bpy.ops.neural_painter.import_strokes(filepath=str(tmp_path / "shot"), start_frame=11) == {"FINISHED"}
    job = jobs.last_job()
    obj = job.obj
    assert gpencil.shot_info(obj) == {"start": 11, "frames": list(FRAMES)}
    assert_shot_matches(obj, frames, FRAMES, 11)
    layers = obj.data.layers
    assert layers["Canvas"].frames[0].frame_number == 11 and len(layers["Canvas"].frames) == 1
    assert layers["Level 2"].get_frame_at(14).frame_number == 13  # frame 4 (scene 14) holds frame 3's drawing
    assert job.status == ("Done: 4 frames on frames 11-15; frame 4 missing in shot: "
                          "the frame before each gap holds through it")
    # Oil: each stroke's material is its texture level's, as a painted oil stroke's.
    from core.model.texture import stroke_levels

    d = gpencil.read_drawing(gpencil.shot_frames(obj)[11][1], gpencil.painting_canvas(obj))
    want = stroke_levels(frames[0].geometry().rgba[frames[0].level == 1][..., :3])
    names = [obj.data.materials[i].name for i in d["material_index"]]
    assert names == [f"NP Oil {k + 1}" for k in want]
    assert not obj.modifiers  # the frames are the animation: no Build replay on a shot
    assert orphans() == []


def test_import_retimed_frames_lands_each_drawing_where_it_starts(scene: Any, tmp_path: Path) -> None:
    """Frames painted with ``--to-fps`` (a 24 fps video for a 30 fps scene: 5 source frames
    over 6 scene frames) land where each drawing starts; the skipped scene frame holds
    the drawing before it, and the gap is not reported as missing frames."""
    from blender_neural_painter import gpencil, jobs

    starts = {1: 1, 2: 2, 3: 3, 4: 5, 5: 6}
    frames = write_frames(tmp_path / "shot", numbers=tuple(starts), starts=starts, rate=30.0)
    assert bpy.ops.neural_painter.import_strokes(filepath=str(tmp_path / "shot"), start_frame=11) == {"FINISHED"}
    job = jobs.last_job()
    assert list(gpencil.shot_frames(job.obj)) == [11, 12, 13, 15, 16]
    assert_shot_matches(job.obj, frames, tuple(starts), 11)
    assert job.obj.data.layers["Level 2"].get_frame_at(14).frame_number == 13  # frame 3 holds two scene frames
    assert gpencil.shot_info(job.obj) == {"start": 11, "frames": [1, 2, 3, 4, 5], "rate": 30.0}
    assert job.status == "Done: 5 frames on frames 11-16"


def test_headless_import_of_a_retimed_shot_plays_at_its_rate(tmp_path: Path) -> None:
    """Frames 1, 3, 5 of a 24 fps video painted for 12 fps become a .blend at 12 fps with
    drawings on frames 1-3, and no note about frames 2 and 4."""
    starts = {1: 1, 3: 2, 5: 3}
    frames = write_frames(tmp_path / "shot", style="marker", numbers=tuple(starts), starts=starts, rate=12.0)
    out = tmp_path / "shot.blend"
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "import", str(tmp_path / "shot"),
                          "--out", str(out), "--start", "1"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "missing" not in run.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out))
    from blender_neural_painter import gpencil

    shot = next(o for o in bpy.data.objects if gpencil.shot_info(o) is not None)
    assert_shot_matches(shot, frames, tuple(starts), 1)
    render = bpy.context.scene.render
    assert (render.fps, render.fps_base) == (12, 1.0)
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (1, 3)


def test_import_single_json_is_the_painting_paint_makes(scene: Any, tmp_path: Path, image_path: Path) -> None:
    """A Paint run's strokes saved as one JSON and imported give the same object: layers,
    strokes, positions, radii, colours, materials, parameters and the Build replay."""
    from conftest import paint

    from blender_neural_painter import gpencil
    from core.model.strokes import StrokeSet

    _, painted = paint(scene, image_path, engine="random", style="watercolor", strokes=16)
    strokes = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in painted.received])
    strokes.save_json(tmp_path / "painting.json")
    assert bpy.ops.neural_painter.import_strokes(filepath=str(tmp_path / "painting.json")) == {"FINISHED"}
    from blender_neural_painter import jobs

    imported = jobs.last_job().obj
    assert imported is not painted.obj and gpencil.shot_info(imported) is None
    a, b = gpencil.read_painting(painted.obj), gpencil.read_painting(imported)
    assert [d["level"] for d in a] == [d["level"] for d in b] == [1, 2]
    for x, y in zip(a, b):
        for key in ("positions", "radius", "colors", "opacity", "params"):
            assert np.allclose(x[key], y[key], atol=2e-5), key
        assert np.array_equal(x["order"], y["order"]) and x["softness"] == y["softness"]
        assert ([painted.obj.data.materials[i].name for i in x["material_index"]]
                == [imported.data.materials[i].name for i in y["material_index"]] == ["NP Watercolor"] * len(x["order"]))
    assert gpencil.replay_keyframes(imported) == gpencil.replay_keyframes(painted.obj)
    assert [layer.name for layer in imported.data.layers] == ["Canvas", "Level 1", "Level 2"]


def test_a_level_that_empties_shows_nothing_on_that_frame(scene: Any, tmp_path: Path) -> None:
    """Frame 2 has no level-2 strokes (all dropped): its level-2 drawing is empty rather
    than frame 1's held over, and frame 3's strokes come back on their own drawing."""
    from blender_neural_painter import gpencil

    frames = write_frames(tmp_path / "shot", numbers=(1, 2, 3))
    middle = frames[1]
    keep = middle.level == 1
    middle.params, middle.level, middle.ids = middle.params[keep], middle.level[keep], middle.ids[keep]
    middle.save_json(tmp_path / "shot" / "frame_0002.json")
    assert bpy.ops.neural_painter.import_strokes(filepath=str(tmp_path / "shot")) == {"FINISHED"}
    from blender_neural_painter import jobs

    obj = jobs.last_job().obj
    level2 = [(n, c) for n, c in layer_frames(obj)["Level 2"]]
    assert level2 == [(1, int((frames[0].level == 2).sum())), (2, 0), (3, int((frames[2].level == 2).sum()))]
    assert len(gpencil.shot_frames(obj)[2][1].strokes) == int(keep.sum())


def test_headless_import_writes_the_shot(tmp_path: Path) -> None:
    frames = write_frames(tmp_path / "shot", style="marker")
    out = tmp_path / "shot.blend"
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "import", str(tmp_path / "shot"),
                          "--out", str(out), "--start", "1"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "frame 4 missing" in run.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out))
    from blender_neural_painter import gpencil

    shots = [o for o in bpy.data.objects if gpencil.shot_info(o) is not None]
    assert len(shots) == 1
    assert_shot_matches(shots[0], frames, FRAMES, 1)
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (1, 5)


def _bad_imports(tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    """Bad input -> (PATH, --out, what the one error line must hold)."""
    good = tmp_path / "good"
    write_frames(good, numbers=(1, 2))
    out = str(tmp_path / "x.blend")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.json").write_text("{}")
    cut = tmp_path / "cut"
    write_frames(cut, numbers=(1, 2, 3))
    text = (cut / "frame_0002.json").read_text()
    (cut / "frame_0002.json").write_text(text[: len(text) // 2])  # a half-written frame
    foreign = tmp_path / "foreign"
    write_frames(foreign, numbers=(1, 2))
    (foreign / "frame_0002.json").write_text(json.dumps({"schema": "someone-else/strokes", "version": 1}))
    mixed = tmp_path / "mixed"
    write_frames(mixed, numbers=(1,))
    write_frames(tmp_path / "other", style="tape", numbers=(2,))
    (tmp_path / "other" / "frame_0002.json").rename(mixed / "frame_0002.json")
    return {
        "mixed shot": (str(mixed), out, f"{mixed / 'frame_0002.json'} is a tape painting of 96x64 px but"),
        "missing path": (str(tmp_path / "nope"), out, "does not exist"),
        "no frame JSONs": (str(tmp_path / "empty"), out, "holds no frame JSONs"),
        "half-written frame": (str(cut), out, f"{cut / 'frame_0002.json'} is not valid JSON"),
        "wrong schema": (str(foreign), out, f"{foreign / 'frame_0002.json'} is not a valid strokes file"),
        "unwritable out": (str(good), str(tmp_path / "no" / "x.blend"), f"the folder {tmp_path / 'no'} does not exist"),
        "out not a blend": (str(good), str(tmp_path / "x.json"), "must name a .blend file"),
    }


@pytest.mark.parametrize("case", ["mixed shot", "missing path", "no frame JSONs", "half-written frame", "wrong schema",
                                  "unwritable out", "out not a blend"])
def test_headless_import_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    path, out, expected = _bad_imports(tmp_path)[case]
    run = subprocess.run([sys.executable, "-m", "blender_neural_painter", "import", path, "--out", out],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT))
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not Path(out).exists() and not list(tmp_path.glob("*.blend"))


def test_import_bad_frame_leaves_the_scene(scene: Any, tmp_path: Path) -> None:
    """A broken frame anywhere is found before Blender writes a thing."""
    from blender_neural_painter import jobs

    write_frames(tmp_path / "shot", numbers=(1, 2, 3))
    (tmp_path / "shot" / "frame_0003.json").write_text('{"schema": "neural-painter/strokes", "vers')
    before = counts()
    with pytest.raises(RuntimeError, match="frame_0003.json is not valid JSON"):
        bpy.ops.neural_painter.import_strokes(filepath=str(tmp_path / "shot"))
    assert counts() == before and jobs.last_job().obj is None


def test_import_from_the_file_browser_runs_modal(scene: Any, tmp_path: Path) -> None:
    """What the file browser's Import does: the run goes modal, frames arrive on timer
    ticks, and it ends torn down like a Paint run."""
    from blender_neural_painter import gpencil, jobs, operators

    frames = write_frames(tmp_path / "shot", style="tape", numbers=(1, 2))
    op = standins.operator(operators.NEURAL_PAINTER_OT_import)
    op.filepath, op.start_frame, op.run_modal = str(tmp_path / "shot") + "/", 1, True
    ctx = standins.ui_context()
    assert op.execute(ctx) == {"RUNNING_MODAL"}
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}, op.reports
    job = jobs.last_job()
    assert_torn_down(ctx, job)
    assert_shot_matches(job.obj, frames, (1, 2), 1)
    assert op.reports == [({"INFO"}, "Done: 2 frames on frames 1-2")]
    assert "UNDO" in operators.NEURAL_PAINTER_OT_import.bl_options  # one undo step, as Paint


# --- Painting a shot from the panel ---------------------------------------------------------------

def test_modal_shot_esc_after_the_first_frame_keeps_the_finished_frames(scene: Any) -> None:
    from blender_neural_painter import gpencil, jobs, operators

    s = scene.neural_painter
    s.source, s.shot_source, s.movie_path, s.shot_start = "MOVIE", "FILE", str(ROOT / "samples"), 20
    s.style, s.strokes, s.size = "marker", 10, 48
    op = paint_op(json.dumps({"engine_args": {"count": 6, "delay": 0.5}}))
    ctx = standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    job = jobs.active_job()
    seen: list[str] = []
    tick_until(op, ctx, lambda: seen.append(job.status) or len(job.numbers) >= 1)
    assert any(text.startswith("Frame 1 of 6") for text in seen), seen
    assert any("Frame 1 of 6" in (text or "") for text in ctx.workspace.status)  # the status bar says it too
    assert op.modal(ctx, ESC) == {"RUNNING_MODAL"} and job.cancel_requested
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}, op.reports
    assert_torn_down(ctx, job)
    kept = job.numbers
    assert job.cancelled and job.error is None and 1 <= len(kept) < 6
    assert job.status == f"Cancelled: kept {len(kept)} frame{'s' if len(kept) > 1 else ''} of 6 on frames 20-{19 + len(kept)}"
    obj = job.obj
    assert gpencil.shot_info(obj) == {"start": 20, "frames": kept}
    assert list(gpencil.shot_frames(obj)) == [19 + n for n in kept]
    for f, received in zip(gpencil.shot_frames(obj).values(), job.received):
        assert sum(len(d.strokes) for d in f.values()) == len(received["strokes"]) == 10
    assert op.reports[-1][0] == {"WARNING"}
    # One Ctrl+Z removes the run: Blender pushes one undo step for an operator with UNDO
    # in its options when it ends FINISHED, as the cancelled run did above.
    assert "UNDO" in operators.NEURAL_PAINTER_OT_paint.bl_options


def test_shot_engine_crash_leaves_the_scene_as_before(scene: Any) -> None:
    """The engine dying after frame 2: the run ends with its error in one line; the scene
    is as before (a failed run adds nothing, as a failed Paint)."""
    from blender_neural_painter import jobs

    s = scene.neural_painter
    s.source, s.shot_source, s.movie_path = "MOVIE", "FILE", str(ROOT / "samples")
    before = counts()
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        bpy.ops.neural_painter.paint(engine="random", test_options=json.dumps({"engine_args": {"count": 4,
                                                                                              "fail_after_frame": 2}}))
    job = jobs.last_job()
    assert "\n" not in job.error and job.obj is None and counts() == before


def test_movie_source_paths(scene: Any, tmp_path: Path) -> None:
    """A clip or image sequence of the blend file is painted from its files."""
    from blender_neural_painter import sources
    from blender_neural_painter.errors import UserError

    s = scene.neural_painter
    s.source, s.shot_source = "MOVIE", "IMAGE"
    folder = tmp_path / "seq"
    folder.mkdir()
    from conftest import make_image

    for i in (1, 2):
        make_image(folder / f"render_{i:04d}.png", 32, 24)
    img = bpy.data.images.load(str(folder / "render_0001.png"))
    s.image = img
    with pytest.raises(UserError, match="is a single picture"):
        sources.shot_input(s)
    img.source = "SEQUENCE"
    assert sources.shot_input(s) == (str(folder / "render_%04d.png"), img.name)
    s.shot_source = "FILE"
    s.movie_path = str(tmp_path / "missing.mp4")
    with pytest.raises(UserError, match="does not exist"):
        sources.shot_input(s)


def make_clip(folder: Path, count: int = 3) -> Path:
    """A tiny clip from the bundled sample: a window panning 2 px a frame."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    src = np.asarray(Image.open(ROOT / "samples" / "astronaut.png").convert("RGB").resize((72, 72)))
    for i in range(count):
        Image.fromarray(src[8:56, 2 * i: 64 + 2 * i]).save(folder / f"f_{i + 1:02d}.png")
    return folder


def test_paint_a_clip_with_the_temporal_painter(scene: Any, tmp_path: Path) -> None:
    """The real engine (``core.painters.shot``, as ``paint-frames``) on a 3-frame clip: one drawing
    per frame holding exactly the frame's strokes, ids carried from frame to frame."""
    pytest.importorskip("cv2", reason="the temporal painter's optical flow needs OpenCV (main environment)")
    from blender_neural_painter import gpencil, jobs
    from core.model.strokes import StrokeSet
    from core.painters.temporal import TemporalOptions

    s = scene.neural_painter
    s.source, s.shot_source, s.movie_path, s.shot_start = "MOVIE", "FILE", str(make_clip(tmp_path / "clip")), 7
    s.style, s.strokes, s.levels, s.levels_auto, s.size = "marker", 12, 2, False, 48
    assert s.shot_keep_look == pytest.approx(TemporalOptions().keep_look)  # the engine's default
    assert s.shot_keep_look_moving == pytest.approx(TemporalOptions().keep_look_moving)
    s.shot_keep_look, s.shot_keep_look_moving = 0.4, 0.7
    assert bpy.ops.neural_painter.paint() == {"FINISHED"}
    job = jobs.last_job()
    assert job.request.frames.temporal.keep_look == pytest.approx(0.4)
    assert job.request.frames.temporal.keep_look_moving == pytest.approx(0.7)
    assert job.status == "Done: 3 frames on frames 7-9"
    frames = [StrokeSet.from_json_dict(d) for d in job.received]
    assert [f.meta["frame"] for f in frames] == [1, 2, 3]
    assert_shot_matches(job.obj, frames, (1, 2, 3), 7)
    shared = np.intersect1d(frames[0].ids, frames[2].ids)
    assert shared.size >= 6  # strokes live on from frame to frame


def test_a_faster_video_is_painted_at_the_scenes_frame_rate(scene: Any, tmp_path: Path) -> None:
    """A 48 fps MP4 in a 24 fps scene: with Match Scene Frame Rate only source frames 1, 3
    and 5 are painted (the scene shows no other), on consecutive scene frames, so the shot
    lasts as long as the video; off, every frame gets a drawing. A folder of images is
    never retimed (it has no rate of its own)."""
    pytest.importorskip("cv2", reason="the temporal painter's optical flow needs OpenCV (main environment)")
    pytest.importorskip("av", reason="reading an MP4 needs PyAV (main environment)")
    from PIL import Image

    from blender_neural_painter import gpencil, jobs, sources
    from core.io.video_io import write_video

    clip = make_clip(tmp_path / "clip", 6)
    movie = write_video([np.asarray(Image.open(p)) for p in sorted(clip.glob("f_*.png"))], tmp_path / "shot.mp4", 48)
    assert sources.is_video(str(movie)) and not sources.is_video(str(clip))
    scene.render.fps, scene.render.fps_base = 24, 1.0
    s = scene.neural_painter
    s.source, s.shot_source, s.movie_path, s.shot_start = "MOVIE", "FILE", str(movie), 1
    s.style, s.strokes, s.levels, s.levels_auto, s.size = "marker", 10, 1, False, 32
    assert s.shot_match_rate  # on by default
    assert bpy.ops.neural_painter.paint() == {"FINISHED"}
    job = jobs.last_job()
    assert job.status == "Done: 3 frames on frames 1-3"
    assert [d["meta"]["frame"] for d in job.received] == [1, 3, 5]
    assert [d["meta"]["at"] for d in job.received] == [1, 2, 3]
    assert gpencil.shot_info(job.obj)["rate"] == 24.0
    s.shot_match_rate, s.shot_start = False, 11
    assert bpy.ops.neural_painter.paint() == {"FINISHED"}
    assert jobs.last_job().status == "Done: 6 frames on frames 11-16"
    assert "rate" not in gpencil.shot_info(jobs.last_job().obj)


def test_a_shot_without_opencv_says_so_in_one_line(scene: Any, tmp_path: Path) -> None:
    """Where the engine's Python has no OpenCV (the 4.3 and 5.3 test environments), a
    shot is refused in one line naming what to install, and nothing is added."""
    import importlib.util

    if importlib.util.find_spec("cv2") is not None:
        pytest.skip("OpenCV is installed here; the temporal painter test covers this environment")
    from blender_neural_painter import jobs

    s = scene.neural_painter
    s.source, s.shot_source, s.movie_path = "MOVIE", "FILE", str(make_clip(tmp_path / "clip", 2))
    before = counts()
    with pytest.raises(RuntimeError, match="painting a shot needs OpenCV"):
        bpy.ops.neural_painter.paint()
    job = jobs.last_job()
    assert job.error_kind == "input" and "\n" not in job.error and counts() == before


def test_camera_animation_renders_each_frame_then_paints(scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Camera Animation: each frame of the range is rendered at that frame into the
    folder the engine paints, here with Workbench (the scene renders with Cycles) at 50%;
    progress counts the frames; the current frame and the render settings come back."""
    from PIL import Image

    from blender_neural_painter import camera, gpencil, jobs
    from test_interactive import camera_scene

    camera_scene(scene)
    scene.render.engine = "CYCLES"
    scene.frame_start, scene.frame_end, scene.frame_current = 3, 5, 9
    scene.render.image_settings.file_format = "OPEN_EXR"  # saved as PNG per frame, then put back
    scene.render.image_settings.color_depth = "32"
    before = camera.snapshot(scene.render)
    saved: list[tuple[str, int, str, int]] = []
    real = camera.save_result

    def recording(scn: Any, folder: str, name: str = camera.RESULT_FILE) -> str:
        path = real(scn, folder, name)
        saved.append((name, scn.frame_current, scn.render.engine, Image.open(path).size[0]))
        return path

    monkeypatch.setattr(camera, "save_result", recording)
    s = scene.neural_painter
    s.source, s.style, s.strokes, s.size = "CAMERA_RANGE", "tape", 6, 32
    s.camera_engine, s.camera_percent = "WORKBENCH", 50
    op, ctx = paint_op(json.dumps({"engine_args": {"count": 3}})), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    fractions = []

    def rendered() -> bool:  # the panel's bar while the frames render
        run = jobs.active()
        if run.job is None:
            fractions.append(run.fraction)
        return run.job is not None

    assert tick_until(op, ctx, rendered) == {"RUNNING_MODAL"}
    assert tick_until(op, ctx, lambda: False) == {"FINISHED"}, op.reports
    job = jobs.last_job()
    assert_torn_down(ctx, job)
    # 64 x 48 at 50%: 32 px wide; Workbench, not the scene's Cycles.
    assert saved == [("frame_0001.png", 3, "BLENDER_WORKBENCH", 32), ("frame_0002.png", 4, "BLENDER_WORKBENCH", 32),
                     ("frame_0003.png", 5, "BLENDER_WORKBENCH", 32)]
    assert scene.render.engine == "CYCLES" and scene.render.resolution_percentage == 100
    assert fractions == [0.0, 1 / 3, 2 / 3]  # the panel's bar moves frame by frame
    assert job.worker.request.frames.input.endswith(camera.FRAMES_FOLDER)
    assert list(gpencil.shot_frames(job.obj)) == [3, 4, 5]
    assert scene.frame_current == 9 and camera.snapshot(scene.render) == before
    assert camera._on_complete not in bpy.app.handlers.render_complete


def test_cancel_during_the_camera_range_renders_no_further_frame(scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Cancel button while frame 1 of 3 renders: that render ends, no other starts,
    nothing is painted and the current frame comes back."""
    from blender_neural_painter import camera, driver, jobs, operators
    from test_interactive import camera_scene

    camera_scene(scene)
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 3, 2
    started: list[int] = []

    def start_without_rendering(self: Any) -> None:  # Blender's render job, only started
        started.append(self.frames[self.index])
        self.scene.frame_set(self.frames[self.index])
        if self not in camera._WAITING:
            camera._WAITING.append(self)
        camera._listen(True)

    monkeypatch.setattr(camera.CameraRender, "start", start_without_rendering)
    monkeypatch.setattr(camera, "save_result", lambda *a, **k: "")
    scene.neural_painter.source = "CAMERA_RANGE"
    before = counts()
    op, ctx = paint_op(), standins.ui_context()
    assert op.invoke(ctx, None) == {"RUNNING_MODAL"}
    assert jobs.active().status == "Rendering the camera: frame 1 of 3"
    operators.NEURAL_PAINTER_OT_cancel.execute(None, bpy.context)  # the panel's Cancel button
    camera._on_complete(scene, None)  # frame 1's render ends
    assert op.modal(ctx, TIMER) == {"CANCELLED"}
    assert started == [1] and op.reports == [({"WARNING"}, driver.CAMERA_CANCELLED)]
    assert scene.frame_current == 2 and counts() == before and jobs.active() is None
    assert camera._on_complete not in bpy.app.handlers.render_complete

