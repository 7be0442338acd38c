"""The GPU path measured: one prepared script for a machine with one CUDA GPU.

    python benchmarks/bench_gpu.py                          # on the GPU machine: < 8 min
    python benchmarks/bench_gpu.py --device cpu --quick     # the CI smoke test (small cases)
    python benchmarks/bench_gpu.py --out benchmarks/RESULTS.md --json results_gpu.json

It needs only PyTorch, NumPy, Pillow and OpenCV (the shot's optical flow) and the
repository's working tree: nothing is downloaded and Blender is not used, because that is
all the lent GPU machine has. Why a script of its own rather than ``bench_paint.py``:
GPU time is lent by the quarter hour, so this one must finish inside a fixed budget
whatever the engine does on a device it was never tuned for, and say how far each case
got when it had to be stopped.

Cases (``--quick`` shrinks every one of them):

* stills of the bundled portrait, 500 strokes at 256 px, 1000 at 512, 5000 at 2048 and
  20000 at 4096, in all four styles;
* a 24-frame shot at 512 px (the portrait through a camera panning 1.5 px a frame),
  painted as ``paint-frames`` paints it.

Each case runs in a fresh child process (this script with ``--single JSON``), so its wall
time and peak memory are its own and a crash or out-of-memory error ends one row, not the
table. Two lanes run side by side: the chosen device (``--device``, default ``auto``) and,
beside it, the CPU with two threads on two cores (``--cpu-lane``, default on when the
device is not the CPU) for the cases that fit its time, so the table answers "how much
faster than the 2-core machine the figures in RESULTS.md come from". A case that runs
past its share of the budget is stopped and its row says how far it got and what the
whole would take at that pace.

Per case: wall s from the loaded image to the final strokes (``Done``; for the shot, the
first frame's start to the last frame's end); peak GPU memory (``torch.cuda.
max_memory_allocated``) or, on the CPU, the child's peak resident set; PSNR of the
reference render of the final strokes against the image, both at ``min(size, 1024)`` px
on the long side (at 4096 px the comparison is of the same painting, made cheaper).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import io
import json
import math
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _metrics import psnr  # noqa: E402

RESULT = "BENCH_GPU_RESULT "
PROGRESS = "BENCH_GPU_PROGRESS "
BEGIN = "<!-- bench_gpu:begin -->"
END = "<!-- bench_gpu:end -->"
STYLES = ("marker", "watercolor", "oil", "tape")
STILLS = ((500, 256), (1000, 512), (5000, 2048), (20000, 4096))
QUICK_STILLS = ((24, 48),)
SHOT = dict(frames=24, strokes=500, size=512, style="oil")
QUICK_SHOT = dict(frames=2, strokes=16, size=48, style="oil")
PSNR_SIDE = 1024
CPU_THREADS = 2
# The CPU lane runs the cases these 2 cores finish in about a minute (RESULTS.md: 500/256
# in 10-15 s, 1000 oil strokes at 512 px in 38 s).
CPU_CASES = ((500, 256), (1000, 512))


# ------------------------------------------------------------------------------------------
# Child: one case
# ------------------------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


class _Reporter:
    """Prints how far the case got, at most twice a second, so that a stopped case still
    says its fraction and pace."""

    def __init__(self, device) -> None:
        self.device, self.start, self.last = device, time.perf_counter(), 0.0

    def __call__(self, fraction: float, force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self.last > 0.5:
            self.last = now
            print(PROGRESS + json.dumps({"fraction": round(float(fraction), 4),
                                         "seconds": round(now - self.start, 2),
                                         "peak_mb": _peak_device_mb(self.device)}), flush=True)


def _peak_device_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2 ** 20, 1)
    return round(_peak_rss_mb(), 1)


def _quality(strokes, image) -> float:
    from core.io.image_io import resize_long_side
    from core.render.reference import render_strokes

    side = min(PSNR_SIDE, max(strokes.width, strokes.height))
    rendered = render_strokes(strokes, long_side=side)
    target = resize_long_side(image, max(rendered.shape[:2]))
    if target.shape != rendered.shape:
        return float("nan")
    return psnr(rendered, target)


def _still(case: dict, device, report: _Reporter) -> dict:
    from core.io.image_io import load_image
    from core.painters.events import Done, Progress
    from core.painters.painter import PaintOptions, paint

    image = load_image(ROOT / "samples" / "astronaut.png")
    options = PaintOptions(style=case["style"], strokes=case["strokes"], size=case["size"], seed=0,
                           device=device.type)
    report.start = time.perf_counter()
    done = None
    for event in paint(image, options):
        if isinstance(event, Progress):
            report(event.fraction)
        elif isinstance(event, Done):
            done = event
    wall = time.perf_counter() - report.start
    report(1.0, force=True)
    return {"wall_s": wall, "strokes_out": len(done.strokes), "psnr": _quality(done.strokes, image)}


def make_clip(folder: Path, frames: int, size: int) -> None:
    """The portrait through a camera that pans 1.5 px a frame (made here, no footage)."""
    import cv2
    import numpy as np

    from core.io.image_io import load_image, save_png

    src = load_image(ROOT / "samples" / "astronaut.png")
    h, w = src.shape[:2]
    crop = int(w * 0.8)
    scale = size / crop
    for t in range(frames):
        x0 = 0.05 * w + 1.5 * t / scale
        m = np.array([[1 / scale, 0, x0], [0, 1 / scale, 0.1 * h]], np.float32)
        frame = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        save_png(frame, folder / f"clip_{t + 1:04d}.png")


def _shot(case: dict, device, report: _Reporter) -> dict:
    from core.contracts.options import TemporalOptions
    from core.io.image_io import load_image
    from core.io.video_io import open_source
    from core.painters.painter import PaintOptions
    from core.painters.shot import FrameDone, FrameProgress, paint_shot

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_clip(folder, case["frames"], case["size"])
        source = open_source(str(folder / "clip_%04d.png"))
        options = PaintOptions(style=case["style"], strokes=case["strokes"], size=case["size"], seed=0,
                               device=device.type)
        out = folder / "painted"
        out.mkdir()
        report.start = time.perf_counter()
        frames, scores = 0, []
        for event in paint_shot(source, out, 1, source.count, options, TemporalOptions()):
            if isinstance(event, FrameProgress):
                report((frames + getattr(event, "fraction", 0.0)) / case["frames"])
            elif isinstance(event, FrameDone):
                frames += 1
                report(frames / case["frames"], force=True)
                if frames in (1, case["frames"]):  # the first and the last frame's fidelity
                    image = load_image(folder / f"clip_{event.number:04d}.png")
                    scores.append(_quality(event.strokes, image))
        wall = time.perf_counter() - report.start
    return {"wall_s": wall, "frames_out": frames, "psnr": sum(scores) / len(scores) if scores else float("nan"),
            "per_frame_s": wall / max(frames, 1)}


def single(case: dict) -> dict:
    import torch

    from core.painters.devices import pick_device

    if case.get("threads"):
        torch.set_num_threads(int(case["threads"]))
    device = pick_device(case["device"])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    report = _Reporter(device)
    profile = cProfile.Profile() if case.get("profile") else None
    if profile:
        profile.enable()
    row = _shot(case, device, report) if case["kind"] == "shot" else _still(case, device, report)
    if profile:
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(35)
        Path(case["profile"]).write_text(text.getvalue())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        row["gpu_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
        row["gpu_reserved_mb"] = torch.cuda.max_memory_reserved(device) / 2 ** 20
        row["gpu_name"] = torch.cuda.get_device_name(device)
    row["rss_peak_mb"] = _peak_rss_mb()
    row["device"] = device.type
    row["threads"] = torch.get_num_threads()
    return row


# ------------------------------------------------------------------------------------------
# Parent: the lanes and the table
# ------------------------------------------------------------------------------------------

def _run_child(case: dict, timeout: float) -> dict:
    """One case in a fresh process; stopped at ``timeout`` s with its last progress kept."""
    env = dict(os.environ)
    # Bytecode is cached for the children in a folder of the run's own: a read-only torch
    # environment (as on the lent machine) otherwise compiles every module it imports in
    # every child, seconds that an installed environment does not spend.
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "bench_gpu_pycache"))
    if case.get("threads"):
        env.update(OMP_NUM_THREADS=str(case["threads"]), MKL_NUM_THREADS=str(case["threads"]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", json.dumps(case)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(ROOT), preexec_fn=_pin(case))
    last: dict = {}
    result: dict | None = None
    err_lines: list[str] = []
    drain = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    drain.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            if line.startswith(PROGRESS):
                last = json.loads(line[len(PROGRESS):])
            elif line.startswith(RESULT):
                result = json.loads(line[len(RESULT):])
        proc.wait()
    finally:
        timer.cancel()
    drain.join(timeout=5)
    row = dict(case)
    if result is not None:
        row.update(result, status="ok")
    elif time.perf_counter() - start >= timeout - 0.5:
        frac = last.get("fraction", 0.0)
        row.update(status="stopped", stopped_after_s=round(time.perf_counter() - start, 1),
                   fraction=frac, peak_so_far_mb=last.get("peak_mb"),
                   estimate_s=(last["seconds"] / frac) if frac > 0.02 else None)
    else:
        tail = [line.rstrip() for line in err_lines if line.strip()][-1:] or [f"exit code {proc.returncode}"]
        row.update(status="failed", error=tail[0][-300:], fraction=last.get("fraction"))
    return row


def _pin(case: dict):
    """Holds the CPU lane to two cores, as the machine the other figures come from."""
    if not case.get("threads") or not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) <= case["threads"] + 1:
        return None
    chosen = set(cores[-case["threads"]:])  # the last cores: the device lane's driver thread keeps the first
    return lambda: os.sched_setaffinity(0, chosen)


def plan(args) -> tuple[list[dict], list[dict]]:
    stills = args.cases or (QUICK_STILLS if args.quick else STILLS)
    shot = QUICK_SHOT if args.quick else SHOT
    styles = args.styles.split(",")
    device_cases = [dict(kind="still", style=s, strokes=n, size=z, device=args.device)
                    for n, z in stills for s in styles] if args.shot != "only" else []
    # The shot after the two small sizes: it says more than the biggest stills, which may not finish.
    if args.shot != "none":
        device_cases.insert(2 * len(styles) if len(stills) > 2 else len(device_cases),
                            dict(kind="shot", device=args.device, **shot))
    if args.profile:
        for case in device_cases:
            if case["kind"] == "still" and case["style"] == "oil" and case["size"] == stills[min(1, len(stills) - 1)][1]:
                case["profile"] = str(Path(args.profile).resolve())
    cpu_cases = []
    if args.cpu_lane:
        cpu_stills = stills if args.quick else CPU_CASES
        cpu_cases = [dict(kind="still", style=s, strokes=n, size=z, device="cpu", threads=CPU_THREADS)
                     for n, z in cpu_stills for s in styles]
    return device_cases, cpu_cases


def run_lane(cases: list[dict], deadline: float, name: str, rows: list[dict]) -> None:
    """Runs the cases in order while time is left; a style that was stopped at one size is
    not tried at a bigger one (it would be stopped sooner)."""
    given_up: set[str] = set()
    for i, case in enumerate(cases):
        left = deadline - time.perf_counter()
        key = case.get("style", "") + case["kind"]
        if left < 5 or key in given_up:
            rows.append(dict(case, status="skipped", why="no time left" if left < 5 else "stopped at a smaller size"))
            continue
        # A case may use what is left, shared fairly with the cases after it that can still run.
        later = sum(1 for c in cases[i + 1:] if c.get("style", "") + c["kind"] not in given_up)
        share = max(left / (1 + 0.5 * later), min(left, 20.0))
        row = _run_child(case, share)
        if row["status"] == "stopped":
            given_up.add(key)
        rows.append(row)
        print(f"[{name}] {_describe(row)}: {_cell(row)}", file=sys.stderr, flush=True)


def _describe(row: dict) -> str:
    if row["kind"] == "shot":
        return f"shot {row['frames']} frames, {row['strokes']} {row['style']} strokes, {row['size']} px"
    return f"{row['strokes']} {row['style']} strokes at {row['size']} px"


def _mem(row: dict) -> str:
    mb = row.get("gpu_peak_mb") if row.get("device") == "cuda" else row.get("rss_peak_mb")
    if mb is None:
        mb = row.get("peak_so_far_mb")
    return "" if mb is None else (f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB")


def _cell(row: dict) -> str:
    if row["status"] == "ok":
        extra = f", {row['per_frame_s']:.1f} s/frame" if row["kind"] == "shot" else ""
        return f"{row['wall_s']:.1f} s{extra}, {_mem(row)}, {row['psnr']:.2f} dB"
    if row["status"] == "stopped":
        est = f", about {row['estimate_s']:.0f} s in all" if row.get("estimate_s") else ""
        return f"stopped at {row['stopped_after_s']:.0f} s ({100 * (row.get('fraction') or 0):.0f}% done{est}), {_mem(row)}"
    if row["status"] == "failed":
        return f"failed: {row['error']}"
    return f"not run ({row['why']})"


def table(device_rows: list[dict], cpu_rows: list[dict], device_name: str) -> str:
    cpu = {(r["kind"], r.get("style"), r.get("strokes"), r.get("size")): r for r in cpu_rows}
    lines = [f"| case | {device_name}: wall, peak memory, PSNR | CPU, {CPU_THREADS} threads: wall, peak memory, PSNR | speed-up |",
             "|---|---|---|--:|"]
    for r in device_rows:
        c = cpu.get((r["kind"], r.get("style"), r.get("strokes"), r.get("size")))
        speed = ""
        if c and c["status"] == "ok" and r["status"] == "ok":
            speed = f"{c['wall_s'] / r['wall_s']:.1f}x"
        lines.append(f"| {_describe(r)} | {_cell(r)} | {_cell(c) if c else '-'} | {speed} |")
    return "\n".join(lines)


def _machine(device: str) -> str:
    import torch

    bits = [platform.processor() or platform.machine(), f"{os.cpu_count()} CPUs",
            f"Python {platform.python_version()}", f"torch {torch.__version__}"]
    if torch.cuda.is_available():
        bits.append(f"{torch.cuda.get_device_name(0)} ({torch.cuda.get_device_properties(0).total_memory / 2 ** 30:.0f} GiB),"
                    f" CUDA {torch.version.cuda}")
    try:
        bits.append("load " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    except OSError:
        pass
    return "; ".join(bits)


def _replace_section(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


def _cases(text: str) -> tuple[tuple[int, int], ...]:
    try:
        cases = tuple((int(n), int(z)) for n, z in (part.split("/") for part in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of STROKES/SIZE, e.g. 5000/2048,20000/4096") from None
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto (CUDA when there is one), cuda, mps or cpu")
    ap.add_argument("--quick", action="store_true", help="small cases only: the CI smoke test")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for the whole run (default 420: under 8 minutes with start-up)")
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument("--cases", type=_cases, help="stills as STROKES/SIZE,... instead of the standard ones")
    ap.add_argument("--shot", choices=("with", "only", "none"), default="with", help="the 24-frame shot too, only, or not")
    ap.add_argument("--cpu-lane", choices=("auto", "on", "off"), default="auto",
                    help="the CPU at 2 threads beside the device (auto: when the device is not the CPU)")
    ap.add_argument("--profile", help="write a Python profile of the 1000-stroke oil still on the device here")
    ap.add_argument("--out", help="replace this markdown file's bench_gpu section with the table")
    ap.add_argument("--json", help="write every row here")
    ap.add_argument("--single", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.single:
        try:
            row = single(json.loads(args.single))
        except Exception as exc:  # one line for the parent's table
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return 1
        print(RESULT + json.dumps(row), flush=True)
        return 0

    try:
        import torch

        from core.painters.devices import pick_device
        device = pick_device(args.device)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = [s for s in args.styles.split(",") if s not in STYLES]
    if bad:
        print(f"error: unknown style {bad[0]!r}; use some of {', '.join(STYLES)}", file=sys.stderr)
        return 2
    args.device = device.type
    args.cpu_lane = args.cpu_lane == "on" or (args.cpu_lane == "auto" and device.type != "cpu")
    device_cases, cpu_cases = plan(args)
    started = _dt.datetime.now(_dt.timezone.utc)
    deadline = time.perf_counter() + args.budget
    device_rows: list[dict] = []
    cpu_rows: list[dict] = []
    lanes = [threading.Thread(target=run_lane, args=(device_cases, deadline, device.type, device_rows))]
    if cpu_cases:
        lanes.append(threading.Thread(target=run_lane, args=(cpu_cases, deadline, "cpu", cpu_rows)))
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else device.type.upper()
    body = table(device_rows, cpu_rows, name)
    command = "python benchmarks/bench_gpu.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    text = (f"## The GPU path (`benchmarks/bench_gpu.py`)\n\n"
            f"- Date: {started:%Y-%m-%d %H:%M} UTC\n- Command: `{command.strip()}`\n"
            f"- Machine: {_machine(device.type)}\n"
            f"- Wall: image loaded to final strokes (the shot: first frame to last); peak memory: "
            f"`torch.cuda.max_memory_allocated` on the GPU, the process's peak resident set on the CPU; "
            f"PSNR of the reference render against the image at min(size, {PSNR_SIDE}) px; "
            f"budget {args.budget:.0f} s, a case past its share is stopped and its pace extrapolated.\n\n"
            + body + "\n")
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"date": f"{started:%Y-%m-%d %H:%M}", "machine": _machine(device.type),
                                               "device": device_rows, "cpu": cpu_rows}, indent=1))
    if args.out:
        _replace_section(Path(args.out), text)
    failed = [r for r in device_rows + cpu_rows if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
