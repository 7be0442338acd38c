"""The Flamenco job type's commands, run for real on a short clip.

The job is compiled under Node with stand-ins for Flamenco's job-compiler API
(farm/flamenco/test/): this is not a running Flamenco (test_flamenco_real.py runs the job
type in one, where its binaries are at hand). Each task's ``exec`` command is
started as a worker starts it (executable plus arguments, nothing else), one chunk's
worker is killed (SIGKILL) after its first frame and the task is run again, as the
Manager requeues a task of a lost worker.
"""

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_shot import make_clip

ROOT = Path(__file__).resolve().parents[2]
COMPILE = ROOT / "farm" / "flamenco" / "test" / "compile_job.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def compile_job(settings):
    proc = subprocess.run(["node", str(COMPILE), json.dumps(settings)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {t["name"]: t for t in json.loads(proc.stdout)}


def argv(task):
    (command,) = task["commands"]
    assert command["name"] == "exec"
    return [command["parameters"]["exe"], *command["parameters"]["args"]]


def run(task, timeout=600):
    proc = subprocess.run(argv(task), capture_output=True, text=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, f"{task['name']}: {proc.stderr}"
    return proc


def test_job_commands_paint_a_shot_with_a_killed_worker(tmp_path):
    clip = make_clip(tmp_path / "clip", frames=6)
    out = tmp_path / "out"
    tasks = compile_job({
        "input": str(clip), "output_dir": str(out), "frames": "1-6", "chunk_size": 2, "warmup": 1,
        "strokes": 12, "size": 32, "extra_args": "--levels 2 --iterations 2 --reopt-iterations 2",
        "python": sys.executable, "engine_dir": str(ROOT), "blend_file": str(tmp_path / "shot.blend"),
    })
    assert list(tasks) == ["key", "paint-1-2", "paint-3-4", "paint-5-6", "video", "import"]
    run(tasks["key"])
    assert (out / "frame_0001.json").exists() and not (out / "frame_0002.json").exists()

    # paint-3-4: the worker dies once frame 3 is written; the task then runs again.
    victim = subprocess.Popen(argv(tasks["paint-3-4"]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
    deadline = time.time() + 300
    while not (out / "frame_0003.json").exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert (out / "frame_0003.json").exists()
    third = (out / "frame_0003.json").read_bytes()
    # The other chunks, and the requeued one, two at a time as two workers would run them.
    procs = [subprocess.Popen(argv(tasks[n]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
             for n in ("paint-1-2", "paint-3-4")]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()
    run(tasks["paint-5-6"])
    assert (out / "frame_0003.json").read_bytes() == third  # the restarted chunk did not repaint it
    assert not list(out.glob(".frame_*"))
    # The restarted worker painted frame 4 exactly as a worker that was never killed does.
    clean = tmp_path / "clean"
    cmd = argv(tasks["paint-3-4"])
    cmd[cmd.index("--out") + 1] = str(clean)
    assert subprocess.run(cmd, capture_output=True, timeout=600, cwd="/").returncode == 0
    assert (clean / "frame_0004.json").read_bytes() == (out / "frame_0004.json").read_bytes()

    video = run(tasks["video"])
    assert "0 frames painted" in video.stderr
    assert (out / "painted.mp4").stat().st_size > 0 and (out / "compare.mp4").stat().st_size > 0

    frames = [json.loads((out / f"frame_{n:04d}.json").read_text()) for n in range(1, 7)]
    assert [f["meta"]["frame"] for f in frames] == list(range(1, 7))
    key_ids = {s["id"] for s in frames[0]["strokes"]}
    for f in frames:
        ids = [s["id"] for s in f["strokes"]]
        assert len(ids) == len(set(ids))
        # Every chunk descends from the same key (a chunk painted from scratch shares no id with it);
        # strokes on the moving square are repainted frame by frame, the rest are carried.
        assert key_ids & set(ids)
    # Strokes born in a warm-up frame carry the warm-up half of that frame's ids.
    seam = {s["id"] for s in frames[2]["strokes"]} - {s["id"] for s in frames[1]["strokes"]}
    assert all(i in key_ids or i // 100_000 == 3 or i % 100_000 >= 50_000 for i in seam)

    # The import task: the Blender add-on's command, run for real where bpy is installed.
    assert argv(tasks["import"])[4:] == ["blender_neural_painter", "import", str(out), "--out",
                                         str(tmp_path / "shot.blend")]
    assert tasks["import"]["dependencies"] == ["video"]
    assert np.isfinite([s["params"] for s in frames[5]["strokes"]]).all()
    if importlib.util.find_spec("bpy") is None:
        return
    run(tasks["import"])
    read = ("import bpy, json, sys; sys.path.insert(0, sys.argv[1]); bpy.ops.wm.open_mainfile(filepath=sys.argv[2]); "
            "from blender_neural_painter import gpencil; "
            "o = next(o for o in bpy.data.objects if gpencil.shot_info(o)); "
            "print(json.dumps({f: sum(len(d.strokes) for d in ds.values()) for f, ds in gpencil.shot_frames(o).items()}))")
    got = subprocess.run([sys.executable, "-c", read, str(ROOT), str(tmp_path / "shot.blend")],
                         capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr[-2000:]
    drawn = json.loads(got.stdout.strip().splitlines()[-1])
    assert drawn == {str(n): len(frames[n - 1]["strokes"]) for n in range(1, 7)}  # one drawing per frame


def test_a_worker_without_the_engine_says_which_setting_to_fix(tmp_path):
    # An undefined Manager variable reaches the worker as the literal "{neural_painter_dir}".
    for engine in (str(tmp_path / "no-checkout"), "{neural_painter_dir}"):
        tasks = compile_job({"input": "/shared/shot.mp4", "output_dir": str(tmp_path / "out"), "frames": "1-2",
                             "blend_file": str(tmp_path / "shot.blend"), "python": sys.executable,
                             "engine_dir": engine})
        proc = subprocess.run(argv(tasks["key"]), capture_output=True, text=True, timeout=60, cwd="/")
        assert proc.returncode == 1
        assert proc.stderr.splitlines() == [
            f"neural-painter: engine_dir {engine!r} is not a folder on this worker: define the Manager variable "
            "neural_painter_dir or set the job setting engine_dir"]
        assert not (tmp_path / "out").exists()


def test_the_job_types_painting_settings_are_the_engines():
    """The job type is JavaScript the Manager runs, so it cannot ask the engine: its style
    choices, defaults and limits are written out there and must equal the engine's
    options contract (core.contracts.options)."""
    import re

    from core.contracts.options import PaintOptions
    from core.contracts.styles import STYLES

    text = (ROOT / "farm" / "flamenco" / "neural_painter_shot.js").read_text()
    specs = {m.group(1): m.group(0) for m in re.finditer(r'\{ key: "(\w+)"[^}]*(?:\{[^}]*\}[^}]*)?\}', text)}
    style = specs["style"]
    assert re.search(r'default: "(\w+)"', style).group(1) == PaintOptions.default_of("style")
    assert set(re.findall(r'"(\w+)"', re.search(r"choices: \[([^\]]*)\]", style).group(1))) == set(STYLES)
    for key in ("strokes", "size", "seed"):
        setting = PaintOptions.settings()[key]
        assert int(re.search(r"default: (\d+)", specs[key]).group(1)) == PaintOptions.default_of(key), key
        assert int(re.search(r"min: (\d+)", specs[key]).group(1)) == setting.lo, key
        top = re.search(r"max: (\d+)", specs[key])
        assert (int(top.group(1)) if top else None) == (setting.hi if key != "seed" else None), key
