"""The GPU benchmark runs on the CPU in CI (``--device cpu --quick``): a script that is
only ever run on a lent GPU machine must not find its first bug there."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_gpu.py"


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_gpu
    finally:
        sys.path.pop(0)
    return bench_gpu


def test_quick_run_on_the_cpu_fills_the_table_and_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nkept before\n\n<!-- bench_gpu:begin -->\nold\n<!-- bench_gpu:end -->\n\nkept after\n")
    rows_file = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--styles", "tape,oil",
                           "--out", str(results), "--json", str(rows_file)],
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(rows_file.read_text())
    assert rows["cpu"] == []  # no second lane when the device is the CPU itself
    device = rows["device"]
    assert [(r["kind"], r.get("style")) for r in device] == [("still", "tape"), ("still", "oil"), ("shot", "oil")]
    for row in device:
        assert row["status"] == "ok", row
        assert row["device"] == "cpu"
        assert row["wall_s"] > 0 and row["rss_peak_mb"] > 50
        assert math.isfinite(row["psnr"]) and 10 < row["psnr"] < 60, row
    stills = [r for r in device if r["kind"] == "still"]
    assert [r["strokes_out"] for r in stills] == [24, 24]
    assert device[-1]["frames_out"] == 2
    text = results.read_text()
    assert text.startswith("# Results\n\nkept before\n") and text.rstrip().endswith("kept after")
    assert "old" not in text and text.count("<!-- bench_gpu:begin -->") == 1
    assert "| 24 tape strokes at 48 px | " in text and "| shot 2 frames, 16 oil strokes, 48 px | " in text


def test_a_case_past_its_time_is_stopped_and_says_how_far_it_got():
    bench = _bench()
    row = bench._run_child(dict(kind="still", style="oil", strokes=400, size=256, device="cpu"), timeout=6.0)
    assert row["status"] == "stopped", row
    assert 5.0 <= row["stopped_after_s"] < 30
    assert "stopped at" in bench._cell(row)


def test_a_stopped_style_is_not_tried_bigger_and_a_spent_budget_skips(monkeypatch):
    bench = _bench()
    calls = []

    def fake_child(case, timeout):
        calls.append((case["style"], case["size"], timeout))
        stopped = case["style"] == "oil"
        return dict(case, status="stopped" if stopped else "ok", stopped_after_s=timeout, fraction=0.5,
                    estimate_s=2 * timeout, wall_s=1.0, psnr=20.0, device="cpu", rss_peak_mb=100.0)

    monkeypatch.setattr(bench, "_run_child", fake_child)
    cases = [dict(kind="still", style=s, strokes=n, size=z, device="cpu") for n, z in ((10, 32), (20, 64)) for s in ("oil", "tape")]
    rows: list[dict] = []
    bench.run_lane(cases, bench.time.perf_counter() + 100, "cpu", rows)
    assert [c[:2] for c in calls] == [("oil", 32), ("tape", 32), ("tape", 64)]
    assert rows[2]["status"] == "skipped" and rows[2]["why"] == "stopped at a smaller size"
    assert all(0 < c[2] <= 100 for c in calls)
    rows = []
    bench.run_lane(cases[:1], bench.time.perf_counter() + 1, "cpu", rows)
    assert rows[0]["status"] == "skipped" and rows[0]["why"] == "no time left"


def test_an_unknown_style_or_device_is_bad_input():
    for extra in (["--styles", "crayon"], ["--device", "tpu"]):
        proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", *extra], capture_output=True, text=True,
                              timeout=120, cwd=str(ROOT))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("frames", [3])
def test_the_clip_pans_the_portrait(tmp_path, frames):
    bench = _bench()
    bench.make_clip(tmp_path, frames, 64)
    from core.io.image_io import load_image

    shots = [load_image(tmp_path / f"clip_{t:04d}.png") for t in range(1, frames + 1)]
    assert all(s.shape == (64, 64, 3) for s in shots)
    # Each frame is the one before moved 1.5 px to the left: shifting undoes most of the change.
    a, b = shots[0], shots[1]
    moved = abs(a[:, 2:-2] - b[:, 0:-4]).mean() * 0.5 + abs(a[:, 2:-2] - b[:, 1:-3]).mean() * 0.5
    assert moved < abs(a - b).mean()
