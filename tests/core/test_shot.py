"""`python -m core paint-frames`: a shot painted frame by frame, resumable, in a subprocess as a
user runs it; and the temporal painter's steps in-process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "32", "--strokes", "12", "--levels", "2", "--iterations", "2", "--reopt-iterations", "2"]


def cli(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def clip_frame(i, w=40, h=30):
    """A red square moving 2 px a frame over a soft gradient."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w, 0.3 + 0.4 * yy / h, 0.6 - 0.3 * xx / w], -1)
    x0 = 6 + 2 * i
    img[10:20, x0:x0 + 10] = (0.9, 0.1, 0.1)
    return (img * 255).astype(np.uint8)


def make_clip(folder: Path, frames=4, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        Image.fromarray(clip_frame(i, **kw)).save(folder / f"shot_{i + 1:04d}.png")
    return folder


def frame_json(out, n):
    return json.loads((out / f"frame_{n:04d}.json").read_text())


@pytest.fixture(scope="module")
def painted(tmp_path_factory):
    base = tmp_path_factory.mktemp("shot")
    clip = make_clip(base / "clip")
    out = base / "out"
    proc = cli("paint-frames", clip, "--out", out, "--style", "oil", *TINY, "--video", "mp4")
    return proc, clip, out


def test_paints_every_frame_with_ids_and_videos(painted):
    proc, clip, out = painted
    assert proc.returncode == 0, proc.stderr
    for n in range(1, 5):
        data = frame_json(out, n)
        assert data["schema"] == "neural-painter/strokes" and data["version"] == 1
        assert data["meta"]["frame"] == n
        assert abs(len(data["strokes"]) - 12) <= 1  # within 10% of the budget
        assert all(isinstance(s["id"], int) for s in data["strokes"])
        assert Image.open(out / f"frame_{n:04d}.png").size == (32, 24)
    ids = [{s["id"] for s in frame_json(out, n)["strokes"]} for n in range(1, 5)]
    assert ids[0] == set(range(100_000, 100_012))  # born in frame 1
    for a, b in zip(ids, ids[1:]):
        # Strokes keep their identity from frame to frame; those on the moving square are
        # repainted (about half of this tiny painting), the others carried.
        assert len(a & b) >= 4
    for n in range(2, 5):
        born_here = {i for i in ids[n - 1] if i // 100_000 == n}
        assert born_here == ids[n - 1] - ids[n - 2]  # new ids only for new strokes
    from core.io.video_io import open_source
    painted_video = open_source(out / "painted.mp4")
    assert painted_video.count == 4 and (painted_video.width, painted_video.height) == (32, 24)
    compare = open_source(out / "compare.mp4")
    assert (compare.width, compare.height) == (64, 24)  # source beside painting
    assert "frame 4 finished" in proc.stderr and "100.0%" in proc.stderr


def test_rerun_resumes_and_never_repaints(painted, tmp_path):
    proc, clip, out = painted
    before = {n: (out / f"frame_{n:04d}.json").read_bytes() for n in range(1, 5)}
    mtimes = {n: (out / f"frame_{n:04d}.json").stat().st_mtime_ns for n in range(1, 5)}
    again = cli("paint-frames", clip, "--out", out, "--style", "oil", *TINY, "--video", "none")
    assert again.returncode == 0, again.stderr
    assert "0 frames painted" in again.stderr
    for n in range(1, 5):
        assert (out / f"frame_{n:04d}.json").read_bytes() == before[n]
        assert (out / f"frame_{n:04d}.json").stat().st_mtime_ns == mtimes[n]


def test_half_written_frame_is_detected_and_repainted(tmp_path):
    clip = make_clip(tmp_path / "clip", frames=3)
    out = tmp_path / "out"
    assert cli("paint-frames", clip, "--out", out, *TINY, "--video", "none").returncode == 0
    whole = (out / "frame_0002.json").read_text()
    (out / "frame_0002.json").write_text(whole[: len(whole) // 2])  # as a killed writer would leave it
    third = (out / "frame_0003.json").read_bytes()
    proc = cli("paint-frames", clip, "--out", out, *TINY, "--video", "none")
    assert proc.returncode == 0, proc.stderr
    assert "frame_0002.json is damaged" in proc.stderr and "1 frames painted" in proc.stderr
    assert (out / "frame_0002.json.damaged").read_text() == whole[: len(whole) // 2]  # kept, not lost
    assert frame_json(out, 2)["meta"]["frame"] == 2
    assert (out / "frame_0003.json").read_bytes() == third  # finished frames are never repainted


def test_ctrl_c_keeps_finished_frames_and_rerun_finishes(tmp_path):
    clip = make_clip(tmp_path / "clip", frames=8)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "core", "paint-frames", str(clip), "--out", str(out), *TINY,
                             "--video", "none"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 300
    while not (out / "frame_0002.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    done = sorted(int(p.stem[6:]) for p in out.glob("frame_*.json"))
    assert done and done == list(range(1, len(done) + 1))  # whole frames only, no gaps
    assert not list(out.glob(".frame_*"))  # no temporary leftovers
    kept = {n: (out / f"frame_{n:04d}.json").read_bytes() for n in done}
    rest = cli("paint-frames", clip, "--out", out, *TINY, "--video", "none")
    assert rest.returncode == 0, rest.stderr
    assert f"{8 - len(done)} frames painted" in rest.stderr
    assert all((out / f"frame_{n:04d}.json").read_bytes() == kept[n] for n in done)
    assert len(list(out.glob("frame_*.json"))) == 8


def test_chunk_from_a_key_with_warmup(painted, tmp_path):
    _, clip, out = painted
    chunk = tmp_path / "chunk"
    proc = cli("paint-frames", clip, "--out", chunk, *TINY, "--frames", "3-4", "--key", out / "frame_0001.json",
               "--warmup", "1", "--video", "none")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in chunk.glob("frame_*.json")) == ["frame_0003.json", "frame_0004.json"]
    key_ids = {s["id"] for s in frame_json(out, 1)["strokes"]}
    ids3 = {s["id"] for s in frame_json(chunk, 3)["strokes"]}
    # The chunk's strokes descend from the key: at least half of them (a refresh recycles 2
    # of the 12 a frame here; a chunk painted afresh would keep none).
    assert len(key_ids & ids3) >= 6
    warm_born = {i for i in ids3 if i // 100_000 == 2}
    assert all(i % 100_000 >= 50_000 for i in warm_born)  # warm-up ids never clash with frame 2's own


@pytest.mark.parametrize("fps,to_fps,first,last,starts", [
    (60, 30, 1, 7, {1: 1, 3: 2, 5: 3, 7: 4}),  # twice as fast: every other frame
    (30, 24, 1, 10, {1: 1, 2: 2, 4: 3, 5: 4, 6: 5, 7: 6, 9: 7, 10: 8}),  # four in five
    (24, 30, 1, 5, {1: 1, 2: 2, 3: 3, 4: 5, 5: 6}),  # slower: frame 3 holds two frames
    (24, 24, 3, 5, {3: 3, 4: 4, 5: 5}),  # same rate: unchanged
    (60, 30, 2, 6, {3: 2, 5: 3}),  # a range starting on a skipped frame
    (30000 / 1001, 30, 1, 4, {1: 1, 2: 2, 3: 3, 4: 4}),  # NTSC's 29.97 at 30 drops nothing this short
])
def test_retime_paints_the_frames_playback_shows(fps, to_fps, first, last, starts):
    from core.io.video_io import retime
    assert retime(first, last, fps, to_fps) == starts


def test_retimed_shot_paints_every_other_frame_and_resumes(tmp_path):
    """A 24 fps clip for a 12 fps scene: frames 1, 3, 5 are painted, each from the last one
    painted, their JSONs say where each drawing starts at 12 fps, the video plays at 12, and a
    rerun after a lost frame paints only that one."""
    clip = make_clip(tmp_path / "clip", frames=6)
    out = tmp_path / "out"
    proc = cli("paint-frames", clip, "--out", out, *TINY, "--fps", "24", "--to-fps", "12", "--video", "gif")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.glob("frame_*.json")) == [f"frame_{n:04d}.json" for n in (1, 3, 5)]
    metas = [frame_json(out, n)["meta"] for n in (1, 3, 5)]
    assert [(m["frame"], m["at"], m["rate"]) for m in metas] == [(1, 1, 12.0), (3, 2, 12.0), (5, 3, 12.0)]
    ids = [{s["id"] for s in frame_json(out, n)["strokes"]} for n in (1, 3, 5)]
    assert len(ids[0] & ids[1]) >= 4 and len(ids[1] & ids[2]) >= 4  # carried from the last painted frame
    assert not {i for i in ids[1] | ids[2] if i // 100_000 in (2, 4)}  # nothing born in a skipped frame
    with Image.open(out / "painted.gif") as gif:
        assert gif.n_frames == 3 and abs(gif.info["duration"] - 1000 / 12) <= 5  # GIF counts in 10 ms
    third = (out / "frame_0003.json").read_bytes()
    (out / "frame_0005.json").unlink()
    again = cli("paint-frames", clip, "--out", out, *TINY, "--fps", "24", "--to-fps", "12", "--video", "none")
    assert again.returncode == 0, again.stderr
    assert "1 frames painted" in again.stderr and (out / "frame_0003.json").read_bytes() == third
    assert frame_json(out, 5)["meta"]["at"] == 3 and not (out / "frame_0004.json").exists()


@pytest.mark.parametrize("args,match", [
    (["{dir}/nothing_%04d.png"], "matches no files"),
    (["{clip}", "--to-fps", "0"], "--to-fps 0 is out of range"),
    (["{clip}", "--to-fps", "12", "--key", "{key}"], "cannot be combined with --key"),
    (["{clip}", "--frames", "3-9"], "past the end of the shot, which has 4 frames"),
    (["{clip}", "--frames", "x"], "not a range"),
    (["{dir}/broken.mp4"], "cannot read video"),
    (["{sizes}"], "every frame of a shot must have one size"),
    (["{clip}", "--warmup", "2"], "only applies with --key"),
    (["{clip}", "--key", "{dir}/nokey.json"], "does not exist"),
    (["{clip}", "--style", "crayon"], "unknown style"),
    (["{clip}", "--keep-look", "1.5"], "--keep-look 1.5 is out of range: use 0 to 1"),
    (["{clip}", "--keep-look-moving", "2"], "--keep-look-moving 2 is out of range: use 0 to 1"),
    (["{clip}", "--change-weight", "-1"], "--change-weight -1 is out of range: use at least 0"),
    (["{clip}", "--seed", "-3"], "--seed -3 is out of range"),
])
def test_bad_input_is_one_line_and_exit_2(painted, tmp_path, capsys, args, match):
    _, clip, out = painted
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x01 not a movie" * 20)
    sizes = make_clip(tmp_path / "sizes", frames=1)
    Image.fromarray(clip_frame(1, w=44)).save(sizes / "shot_0002.png")
    fmt = {"dir": tmp_path, "clip": clip, "sizes": sizes, "key": out / "frame_0001.json"}
    code, err = main_in_process(capsys, "paint-frames", *[a.format(**fmt) for a in args], "--out", tmp_path / "out",
                                *TINY)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], lines
    assert not list((tmp_path / "out").glob("frame_*")) if (tmp_path / "out").exists() else True


def test_other_settings_are_refused_rather_than_mixed(painted, capsys):
    _, clip, out = painted
    code, err = main_in_process(capsys, "paint-frames", clip, "--out", out, *TINY[:2], "--strokes", "20", *TINY[4:])
    assert code == 2
    assert "painted with --strokes 12, not 20" in err


def main_in_process(capsys, *args):
    """The CLI's main() here, without a new interpreter (bad input fails before any painting)."""
    from core.app.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


# -- the temporal painter in-process -----------------------------------------------------------

def _paint_pair(first, second, one_thread):
    from core.painters.painter import PaintOptions, run
    from core.painters.temporal import TemporalOptions, born_ids, paint_next

    options = PaintOptions(style="oil", strokes=30, size=48, levels=2, iterations=4, seed=3)
    s1 = run(first, options)
    s1.ids = born_ids(1, len(s1))
    s1.meta["frame"] = 1
    out = None
    for event in paint_next(s1, first, second, options, TemporalOptions(iterations=3), 2):
        out = event
    return s1, out


def test_still_frames_keep_strokes_still(one_thread):
    from core.painters.temporal import stroke_motion

    img = np.asarray(Image.fromarray(clip_frame(0)).resize((48, 36)), np.float32) / 255
    s1, s2 = _paint_pair(img, img.copy(), one_thread)
    motion, shared = stroke_motion(s1, s2)
    assert shared == len(s1) == len(s2)
    assert motion < 0.05
    np.testing.assert_array_equal(s1.ids, s2.ids)


def test_translated_frame_moves_strokes_with_it(one_thread):
    import cv2

    from core.painters.temporal import stroke_motion

    rng = np.random.default_rng(0)
    tex = cv2.resize(rng.random((8, 10, 3)).astype(np.float32), (60, 48), interpolation=cv2.INTER_CUBIC)
    a = np.clip(tex[4:40, 4:52], 0, 1)
    b = np.clip(tex[4:40, 1:49], 0, 1)  # the picture moves 3 px right (at 48 px wide)
    s1, s2 = _paint_pair(a, b, one_thread)
    common, ia, ib = np.intersect1d(s1.ids, s2.ids, return_indices=True)
    assert len(common) >= 0.8 * len(s1)
    # Strokes that were not re-optimised moved exactly with the picture; all moved about 3 px right.
    dx = (s2.params[ib, 0] - s1.params[ia, 0]) * s1.width
    dy = (s2.params[ib, 1] - s1.params[ia, 1]) * s1.height
    inner = (s1.params[ia, 0] > 0.15) & (s1.params[ia, 0] < 0.85)
    assert np.median(dx[inner]) == pytest.approx(3.0, abs=0.4)
    assert np.abs(np.median(dy[inner])) < 0.4
    assert stroke_motion(s1, s2)[0] > 2.0


def test_paint_frames_help_states_the_engines_defaults():
    """The help texts state the temporal painter's defaults, taken from the options
    contract (the parser is built without importing torch)."""
    import re

    from core.app.cli import build_parser
    from core.painters.temporal import TemporalOptions

    sub = next(a for a in build_parser()._actions if a.choices and "paint-frames" in a.choices)
    helps = {a.dest: a.help for a in sub.choices["paint-frames"]._actions}
    defaults = TemporalOptions()
    for dest, field in [("iterations", "iterations"), ("change_weight", "change_weight"),
                        ("keep_look", "keep_look"), ("keep_look_moving", "keep_look_moving")]:
        stated = re.search(r"\(default ([0-9.]+)", helps[dest])
        assert stated, helps[dest]
        assert float(stated.group(1)) == getattr(defaults, field), (dest, helps[dest])
