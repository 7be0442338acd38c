"""The Flamenco job type in a real Flamenco 3.7 Manager and Worker, on 127.0.0.1.

The stand-ins (farm/flamenco/test/) check what the job type builds; only a Manager shows
what it does with it, and they once differed on every point that mattered (chunk strings,
settings without defaults, the copy job.addTask keeps, which worker takes which task).
So the same jobs are compiled both ways and compared, and three shots are painted by a
real Worker: frames 1-8 in chunks of 3, frames 1-10 in chunks of 4 with only the settings
a script needs, and a shot whose worker is killed mid-chunk and restarted. A fourth job
fails on the farm's only worker and is finished by requeueing it, as the farm README says.

The binaries are Flamenco's own, built from its public source: CI keeps them xz-compressed
in ../shared/flamenco/ beside the checkout; FLAMENCO_BIN=DIR points at another build
(flamenco-manager and flamenco-worker, plain or .xz). Where they are absent (a user's
clone) every test here is skipped, saying so. FLAMENCO_RESULTS=FILE writes each job's
figures (tasks, wall time) to FILE as markdown, for benchmarks/RESULTS.md.
"""

import importlib.util
import json
import lzma
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_shot import make_clip

ROOT = Path(__file__).resolve().parents[2]
JOB_TYPE = ROOT / "farm" / "flamenco" / "neural_painter_shot.js"
COMPILE = ROOT / "farm" / "flamenco" / "test" / "compile_job.js"
# A few strokes on a small canvas: the farm's behaviour, not the painting, is under test.
TINY = {"strokes": 12, "size": 32, "extra_args": "--levels 2 --iterations 2 --reopt-iterations 2"}
WORKER_NAME = "neural-painter-test-worker"
JOB_TIMEOUT = 900  # seconds; a tiny job takes about a minute on a 2-core CI machine
RUNS = []  # figures of each job painted here, for FLAMENCO_RESULTS
# A job type that records what the job-compiler API gives it; compiled by the Manager and
# by the stand-ins, the two must agree. Each line is a point where they once differed.
PROBE = r"""
const JOB_TYPE = { label: "stand-in probe", settings: [
    { key: "n", type: "int32", default: 7, required: true, choices: [7] } ] };
function compileJob(job) {
    const seen = { settings: Object.keys(job.settings), n: typeof job.settings.n };
    seen.chunks = [["1-10", 4], ["1-8", 3], ["3-4", 12], ["1..3,7,8", 2], ["5", 3], ["1-3", 1], [" 2 - 6 ", 2],
                   ["4-9", 100]].map(function (a) { return Array.from(frameChunker(a[0], a[1])); });
    seen.split = ["--a 'b c' \"d \\\"e\" f\\ g #h i", "a#b '' c", "x\n# note\ny", "  ", "--a 'b", "a\\",
                  "\"a\\b\""].map(function (s) {
        try { return Array.from(shellSplit(s)); } catch (e) { return "error: " + e; }
    });
    seen.paths = [path.join("C:\\a\\b", "c.json"), path.join("/x/", "../y", "z"), path.join("a", ""),
                  path.dirname("C:\\a\\b.txt"), path.basename("/a/b.txt/"), path.stem("/a/b.tar.gz")];
    seen.created = typeof job.created;
    seen.frameCount = typeof frameCount;
    try { author.Task("t", " "); seen.emptyType = "accepted"; } catch (e) { seen.emptyType = "refused"; }
    try { author.Task("", "misc"); seen.emptyName = "accepted"; } catch (e) { seen.emptyName = "refused"; }
    try { undeclaredVariable = 1; seen.strict = false; } catch (e) { seen.strict = true; }
    const early = author.Task("early", "misc");
    job.addTask(early);
    early.addCommand(author.Command("echo", { message: "added after addTask" }));
    const report = author.Task("report", "misc");
    report.addCommand(author.Command("echo", { message: JSON.stringify(seen) }));
    job.addTask(report);
    report.addDependency(early);
}
"""


def binaries_dir() -> Path:
    """Where the Flamenco binaries are; skips (or fails, for an explicit FLAMENCO_BIN) without them."""
    chosen = os.environ.get("FLAMENCO_BIN")
    folder = Path(chosen) if chosen else ROOT.parent / "shared" / "flamenco"
    missing = [name for name in ("flamenco-manager", "flamenco-worker")
               if not (folder / name).exists() and not (folder / f"{name}.xz").exists()]
    if missing and chosen:
        pytest.fail(f"FLAMENCO_BIN={chosen} holds no {' and no '.join(missing)} (plain or .xz)")
    if missing:
        pytest.skip(f"no Flamenco 3.7 binaries in {folder} (CI keeps them in ../shared/flamenco/ beside the "
                    "checkout); set FLAMENCO_BIN=DIR to use another build")
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"the Flamenco binaries in {folder} are for Linux x86-64, not {sys.platform} {platform.machine()}")
    return folder


def install(folder: Path, name: str, dest: Path) -> Path:
    """Copy (or unpack) one executable into dest: the Manager reads job types from scripts/ beside itself."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / name
    if (folder / name).exists():
        shutil.copyfile(folder / name, target)
    else:
        with lzma.open(folder / f"{name}.xz") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    target.chmod(0o755)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Farm:
    """One Manager and one Worker in a temporary folder, driven through the Manager's API."""

    def __init__(self, base: Path, binaries: Path):
        self.base = base
        self.manager_dir = base / "manager"
        self.worker_dir = base / "worker"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        install(binaries, "flamenco-manager", self.manager_dir)
        install(binaries, "flamenco-worker", self.worker_dir)
        (self.manager_dir / "scripts").mkdir()
        shutil.copyfile(JOB_TYPE, self.manager_dir / "scripts" / JOB_TYPE.name)
        self.probe = self.manager_dir / "scripts" / "np_stand_in_probe.js"
        self.probe.write_text(PROBE)
        (self.manager_dir / "flamenco-manager.yaml").write_text(f"""\
_meta:
  version: 3
manager_name: neural-painter-test
database: flamenco-manager.sqlite
listen: 127.0.0.1:{self.port}
autodiscoverable: false
local_manager_storage_path: ./flamenco-manager-storage
shared_storage_path: {base / "shared"}
shaman:
  enabled: false
variables:
  neural_painter_python:
    values:
      - platform: all
        value: {json.dumps(sys.executable)}
  neural_painter_dir:
    values:
      - platform: all
        value: {json.dumps(str(ROOT))}
""")
        (self.worker_dir / "flamenco-worker.yaml").write_text(f"""\
manager_url: {self.url}/
worker_name: {WORKER_NAME}
task_types: [neural-painter, neural-painter-import]
""")
        (base / "shared").mkdir()
        # Loopback only, whatever proxy this machine is told to use.
        self.env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.manager = self.worker = None

    def _start(self, folder: Path, exe: str, log: str) -> subprocess.Popen:
        # Its own session, so that killing it takes the processes of its task along, as a
        # machine that dies (or systemd stopping the service) does.
        with open(folder / log, "ab") as out:
            return subprocess.Popen([str(folder / exe)], cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                    env=dict(self.env, FLAMENCO_HOME=str(folder / "home")), start_new_session=True)

    def start_manager(self):
        self.manager = self._start(self.manager_dir, "flamenco-manager", "manager.log")
        self._until(lambda: self.api("GET", "/api/v3/version")[0] == 200, 60, "the Manager to answer")

    def start_worker(self):
        self.worker = self._start(self.worker_dir, "flamenco-worker", "worker.log")

        def awake():
            workers = self.api("GET", "/api/v3/worker-mgt/workers")[1]["workers"]
            return any(w["name"] == WORKER_NAME and w["status"] == "awake" for w in workers)
        self._until(awake, 60, "the Worker to be awake")

    def kill_worker(self):
        """SIGKILL the worker and the process of its task, as a machine that loses power."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=30)

    def stop(self):
        for proc in (self.worker, self.manager):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # a worker signs off and stops its task
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
            except ProcessLookupError:
                pass

    def logs(self) -> str:
        return (f"--- manager.log ---\n{tail(self.manager_dir / 'manager.log')}\n"
                f"--- worker.log ---\n{tail(self.worker_dir / 'worker.log')}")

    def _until(self, check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in (self.manager, self.worker):
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"a Flamenco process exited ({proc.returncode}) while waiting for "
                                         f"{what}\n{self.logs()}")
            try:
                if check():
                    return
            except (OSError, KeyError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.logs()}")

    def api(self, method: str, path: str, body=None):
        """(HTTP status, decoded JSON or text) of one API call."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=30) as response:
                status, raw, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as e:
            status, raw, kind = e.code, e.read(), e.headers.get_content_type()
        text = raw.decode(errors="replace")
        return status, (json.loads(text) if kind == "application/json" and text else text)

    def submit(self, name: str, settings: dict, initial_status: str | None = None, job_type="neural-painter-shot"):
        body = {"name": name, "type": job_type, "priority": 50, "submitter_platform": "linux",
                "settings": settings, "metadata": {}}
        if initial_status:
            body["initial_status"] = initial_status
        status, job = self.api("POST", "/api/v3/jobs", body)
        assert status == 200, f"{name}: {status} {job}"
        return job

    def tasks(self, job_id: str) -> list[dict]:
        summaries = self.api("GET", f"/api/v3/jobs/{job_id}/tasks")[1]["tasks"]
        summaries.sort(key=lambda t: t["index_in_job"])
        return [self.api("GET", f"/api/v3/tasks/{t['id']}")[1] for t in summaries]

    def dependencies(self, job_id: str) -> dict[str, list[str]]:
        """Each task's dependencies as the Manager stored them (its API does not list them)."""
        db = sqlite3.connect(f"file:{self.manager_dir / 'flamenco-manager.sqlite'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT t.name, d.name FROM task_dependencies td JOIN tasks t ON t.id = td.task_id "
                              "JOIN tasks d ON d.id = td.dependency_id JOIN jobs j ON j.id = t.job_id "
                              "WHERE j.uuid = ? ORDER BY d.index_in_job", (job_id,)).fetchall()
        finally:
            db.close()
        deps = {}
        for task, dep in rows:
            deps.setdefault(task, []).append(dep)
        return deps

    def wait(self, job_id: str, statuses=("completed", "failed")) -> dict:
        job = {}

        def done():
            job.update(self.api("GET", f"/api/v3/jobs/{job_id}")[1])
            return job["status"] in statuses
        try:
            self._until(done, JOB_TIMEOUT, f"job {job_id} to be {' or '.join(statuses)}")
        except AssertionError as e:
            states = [(t["name"], t["status"]) for t in self.tasks(job_id)]
            raise AssertionError(f"{e}\njob: {job.get('status')} {job.get('activity')}; tasks: {states}") from None
        return job

    def task_log(self, task_id: str) -> str:
        status, info = self.api("GET", f"/api/v3/tasks/{task_id}/log")
        assert status == 200, (status, info)
        return self.api("GET", info["url"])[1]

    def paint(self, label: str, settings: dict) -> tuple[dict, list[dict]]:
        """Submit a job, wait for it to end; returns the job and its tasks, and notes its figures."""
        start = time.monotonic()
        job = self.wait(self.submit(label, settings)["id"])
        tasks = self.tasks(job["id"])
        RUNS.append({"job": label, "frames": settings["frames"], "chunk": settings.get("chunk_size", "12 (default)"),
                     "tasks": len(tasks), "status": job["status"], "wall": time.monotonic() - start})
        return job, tasks


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    binaries = binaries_dir()
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the job type's own tests and the stand-ins need it")
    if importlib.util.find_spec("bpy") is None:  # the import task runs `python -m blender_neural_painter import`
        pytest.skip("bpy is not installed in this Python: the job's import task needs it")
    f = Farm(tmp_path_factory.mktemp("flamenco"), binaries)
    try:
        f.start_manager()
        f.start_worker()
        yield f
    finally:
        f.stop()
        if os.environ.get("FLAMENCO_RESULTS") and RUNS:
            write_results(Path(os.environ["FLAMENCO_RESULTS"]))


def write_results(path: Path):
    version = subprocess.run([sys.executable, "-c", "import bpy; print(bpy.app.version_string)"],
                             capture_output=True, text=True).stdout.strip()
    lines = ["| job | frames | chunk size | tasks | result | wall time, submit to end |", "|---|---|--:|--:|---|--:|"]
    lines += [f"| {r['job']} | {r['frames']} | {r['chunk']} | {r['tasks']} | {r['status']} | {r['wall']:.1f} s |"
              for r in RUNS]
    path.write_text("\n".join(lines) + f"\n\nPython {platform.python_version()}, bpy {version}, "
                    f"{os.cpu_count()} CPUs; settings: {json.dumps(TINY)}.\n")


def stand_in_tasks(settings: dict, script: Path = JOB_TYPE):
    proc = subprocess.run(["node", str(COMPILE), json.dumps(settings), str(script)], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        return proc.stderr.strip().removeprefix("error: ")
    return [{"name": t["name"], "type": t["type"], "commands": t["commands"], "dependencies": t["dependencies"]}
            for t in json.loads(proc.stdout)]


def real_tasks(farm: Farm, job_id: str):
    deps = farm.dependencies(job_id)
    return [{"name": t["name"], "type": t["task_type"],
             "commands": [{"name": c["name"], "parameters": c["parameters"]} for c in t["commands"] or []],
             "dependencies": deps.get(t["name"], [])} for t in farm.tasks(job_id)]


def assert_painted(out: Path, frames: range, blend: Path):
    """Every frame's strokes and render, the videos and the .blend are there."""
    for n in frames:
        data = json.loads((out / f"frame_{n:04d}.json").read_text())
        assert data["meta"]["frame"] == n and data["strokes"], n
        assert (out / f"frame_{n:04d}.png").stat().st_size > 0, n
    assert sorted(p.name for p in out.glob("frame_*.json")) == [f"frame_{n:04d}.json" for n in frames]
    assert (out / "painted.mp4").stat().st_size > 0 and (out / "compare.mp4").stat().st_size > 0
    assert blend.stat().st_size > 0
    assert not list(out.glob(".frame_*")), "a temporary frame file was left behind"


def test_the_stand_ins_give_a_job_compiler_what_the_manager_gives(farm):
    job = farm.submit("probe", {}, initial_status="paused", job_type="np-stand-in-probe")
    real = real_tasks(farm, job["id"])
    assert real == stand_in_tasks({}, farm.probe)
    seen = json.loads(real[1]["commands"][0]["parameters"]["message"])
    # What the stand-ins must model, as this Manager has it:
    assert seen["settings"] == [] and seen["n"] == "undefined", "no JOB_TYPE default applied"
    assert seen["chunks"][0] == ["1-4", "5-8", "9,10"]
    assert seen["split"][0] == ["--a", "b c", 'd "e', "f g"]
    assert (seen["emptyType"], seen["emptyName"], seen["strict"]) == ("refused", "refused", True)
    assert seen["paths"][0] == "C:/a/b/c.json" and seen["frameCount"] == "undefined" and seen["created"] == "object"
    assert real[0]["commands"] == [] and real[1]["dependencies"] == [], "addTask stored a copy"


def test_the_manager_compiles_the_job_type_as_the_stand_ins_do(farm):
    shot = {"input": "/shared/shot/frame_%04d.png", "output_dir": "/shared/out", "blend_file": "/shared/shot.blend"}
    good = {
        "the README's example": dict(shot, frames="1-10", chunk_size=4, warmup=2),
        "1-8 in chunks of 3": dict(shot, frames="1-8", chunk_size=3),
        "3-4 in chunks of 12": dict(shot, frames="3-4"),
        "only the needed settings": dict(shot, frames="1-10", chunk_size="4"),
        "quoted extra_args, a Windows path": dict(shot, frames="5-9", chunk_size=2, output_dir="C:\\shots\\out",
                                                  extra_args='--levels 2 --style-image "/shared/my refs/a b.png" # x'),
    }
    for label, settings in good.items():
        job = farm.submit(label, settings, initial_status="paused")  # compiled and stored, never run
        expected = stand_in_tasks(settings)
        assert isinstance(expected, list), expected
        assert real_tasks(farm, job["id"]) == expected, label
    chunks = [t["name"] for t in stand_in_tasks(good["the README's example"])]
    assert chunks == ["key", "paint-1-4", "paint-5-8", "paint-9-10", "video", "import"]

    bad = [dict(shot, frames="9-3"), dict(shot, frames="1-4", style="crayon"), {"frames": "1-4"},
           dict(shot, frames="1-4", chunksize=4), dict(shot, frames="1-4", extra_args="--style-image '/my refs"),
           dict(shot, frames="1-4", chunk_size=0), dict(shot, frames="1-5,8-10")]
    for settings in bad:
        expected = stand_in_tasks(settings)
        assert isinstance(expected, str), settings
        status, answer = farm.api("POST", "/api/v3/jobs/check", {
            "name": "bad", "type": "neural-painter-shot", "priority": 50, "submitter_platform": "linux",
            "settings": settings})
        assert status == 400, (settings, status, answer)
        # The Manager adds where it was thrown: "MESSAGE at function (file:line:column)".
        assert answer["message"].startswith(expected + " at "), (answer["message"], expected)
        assert "\n" not in answer["message"]


def test_frames_1_to_8_in_chunks_of_3(farm, tmp_path):
    clip = make_clip(tmp_path / "clip", frames=8)
    out, blend = tmp_path / "out", tmp_path / "shot.blend"
    job, tasks = farm.paint("frames 1-8 in chunks of 3, every setting given", dict(
        TINY, input=str(clip), output_dir=str(out), frames="1-8", chunk_size=3, warmup=1, style="oil", seed=0,
        python=sys.executable, engine_dir=str(ROOT), blend_file=str(blend)))
    assert job["status"] == "completed", job
    assert [(t["name"], t["task_type"], t["status"]) for t in tasks] == [
        ("key", "neural-painter", "completed"), ("paint-1-3", "neural-painter", "completed"),
        ("paint-4-6", "neural-painter", "completed"), ("paint-7-8", "neural-painter", "completed"),
        ("video", "neural-painter", "completed"), ("import", "neural-painter-import", "completed")]
    assert_painted(out, range(1, 9), blend)


def test_frames_1_to_10_in_chunks_of_4_with_only_the_needed_settings(farm, tmp_path):
    clip = make_clip(tmp_path / "clip", frames=10)
    out, blend = tmp_path / "out", tmp_path / "shot.blend"
    # What a submission script sends: no python, engine_dir, seed, warm-up or style. The
    # job type fills them in; python and engine_dir then come from the Manager's variables.
    job, tasks = farm.paint("frames 1-10 in chunks of 4, only the needed settings", dict(
        TINY, input=str(clip), output_dir=str(out), frames="1-10", chunk_size=4, blend_file=str(blend)))
    assert job["status"] == "completed", job
    assert [t["name"] for t in tasks] == ["key", "paint-1-4", "paint-5-8", "paint-9-10", "video", "import"]
    (command,) = tasks[2]["commands"]
    args = command["parameters"]["args"]
    assert command["parameters"]["exe"] == "{neural_painter_python}" and args[2] == "{neural_painter_dir}"
    for flag, value in (("--seed", "0"), ("--warmup", "3"), ("--style", "oil")):
        assert args[args.index(flag) + 1] == value
    assert_painted(out, range(1, 11), blend)


def test_a_worker_killed_mid_chunk_resumes_where_it_stopped(farm, tmp_path):
    clip = make_clip(tmp_path / "clip", frames=6)
    out, blend = tmp_path / "out", tmp_path / "shot.blend"
    settings = dict(TINY, input=str(clip), output_dir=str(out), frames="1-6", chunk_size=3, blend_file=str(blend))
    start = time.monotonic()
    job_id = farm.submit("frames 1-6 in chunks of 3, worker killed in paint-4-6", settings)["id"]
    fourth = out / "frame_0004.json"  # only paint-4-6 writes it
    farm._until(fourth.exists, JOB_TIMEOUT, "frame 4 of paint-4-6")
    farm.kill_worker()
    assert not (out / "frame_0006.json").exists(), "the chunk ended before its worker was killed"
    written = fourth.read_bytes(), fourth.stat().st_mtime_ns
    by_name = {t["name"]: t for t in farm.tasks(job_id)}
    assert by_name["paint-4-6"]["status"] == "active"  # the Manager does not know yet

    farm.start_worker()  # the same worker (same credentials) comes back
    job = farm.wait(job_id)
    tasks = farm.tasks(job_id)
    RUNS.append({"job": "frames 1-6 in chunks of 3, worker killed in paint-4-6 and restarted", "frames": "1-6",
                 "chunk": 3, "tasks": len(tasks), "status": job["status"], "wall": time.monotonic() - start})
    assert job["status"] == "completed", job
    assert [t["status"] for t in tasks] == ["completed"] * 5
    chunk = next(t for t in tasks if t["name"] == "paint-4-6")
    assert chunk["failed_by_workers"] == [], "a killed worker is not a failed task"
    assert (fourth.read_bytes(), fourth.stat().st_mtime_ns) == written, "frame 4 was painted again"
    log = farm.task_log(chunk["id"])
    assert "2 frames painted, frames 4-6 finished" in log, log[-3000:]
    assert_painted(out, range(1, 7), blend)


def test_a_failure_on_the_only_worker_fails_the_job_and_a_requeue_finishes_it(farm, tmp_path):
    clip = tmp_path / "clip"  # not there yet: every paint task fails
    out, blend = tmp_path / "out", tmp_path / "shot.blend"
    settings = dict(TINY, input=str(clip), output_dir=str(out), frames="1-2", chunk_size=2, blend_file=str(blend))
    start = time.monotonic()
    job_id = farm.submit("frames 1-2, input missing, then requeued", settings)["id"]
    job = farm.wait(job_id)
    tasks = {t["name"]: t for t in farm.tasks(job_id)}
    # One worker: the Manager never gives a task back to the worker that failed it, so
    # the first failure fails the job (farm/flamenco/README.md, "When a worker dies, and when a
    # task fails").
    assert job["status"] == "failed", job
    assert tasks["key"]["status"] == "failed"
    assert [w["name"] for w in tasks["key"]["failed_by_workers"]] == [WORKER_NAME]
    assert {tasks[n]["status"] for n in ("paint-1-2", "video", "import")} == {"canceled"}

    make_clip(clip, frames=2)  # the fix
    status, answer = farm.api("POST", f"/api/v3/jobs/{job_id}/setstatus",
                              {"status": "requeueing", "reason": "input fixed"})
    assert status == 204, answer
    job = farm.wait(job_id)
    tasks = farm.tasks(job_id)
    RUNS.append({"job": "frames 1-2, key failed (input missing), job requeued", "frames": "1-2", "chunk": 2,
                 "tasks": len(tasks), "status": job["status"], "wall": time.monotonic() - start})
    assert job["status"] == "completed", job
    assert [t["status"] for t in tasks] == ["completed"] * 4
    assert tasks[0]["failed_by_workers"] == [], "requeueing the job clears its failure lists"
    assert_painted(out, range(1, 3), blend)
