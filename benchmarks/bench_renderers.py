"""Analytic vs neural renderer in the painter: same images, budgets and seeds.

    python benchmarks/bench_renderers.py --out benchmarks/RESULTS.md
    python benchmarks/bench_renderers.py --images astronaut --styles oil --strokes 100 --sizes 128

Each painting runs in a fresh child process of ``bench_paint.py`` (same measurements:
wall time, peak memory, PSNR of the reference render against the input), once per
renderer. With ``--out`` the table replaces the section between
``<!-- bench_renderers:begin -->`` and ``<!-- bench_renderers:end -->`` of FILE.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_paint  # noqa: E402

BEGIN = "<!-- bench_renderers:begin -->"
END = "<!-- bench_renderers:end -->"


def plan(args) -> list[dict]:
    rows = []
    for image in args.images:
        for style in args.styles:
            for size in args.sizes:
                for strokes in args.strokes:
                    for renderer in ("analytic", "neural"):
                        rows.append(dict(kind="renderers", image=image, path=str(bench_paint._image_path(image)),
                                         style=style, strokes=strokes, size=size, renderer=renderer,
                                         background="white", threads=args.threads, seed=0, device=args.device,
                                         extra={}))
    return rows


def markdown(rows: list[dict], command: str) -> str:
    info = bench_paint.machine_info(rows)
    out = [BEGIN, "## Analytic vs neural renderer (`benchmarks/bench_renderers.py`)", "",
           f"- Date: {_dt.date.today().isoformat()}",
           f"- Command: `{command}`",
           f"- Machine: {info['cpu']}; {info['usable_cpus']} usable CPUs; {info['ram_gb']} GB RAM; "
           f"torch {info['torch']} ({', '.join(map(str, info['torch_threads'])) or '?'} threads)",
           "- Same image, style, stroke budget, canvas and seed for both; wall = image load to final "
           "strokes, peak = the child's max RSS, PSNR = reference render of the final strokes against the input.",
           "",
           "| image | style | strokes | size | renderer | wall s | peak MB | PSNR dB | SSIM |",
           "|---|---|--:|--:|---|--:|--:|--:|--:|"]
    out += bench_paint.table_lines(
        rows, lambda r: [r["image"], r["style"], str(r["strokes"]), str(r["size"]), r["renderer"]],
        lambda r: [f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}", f"{r['psnr']:.2f}", f"{r['ssim']:.4f}"], 4,
        lambda r: f"{r['image']}/{r['style']}/{r['renderer']}")
    out.append(END)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=bench_paint._csv(str), default=["astronaut", "coffee"])
    ap.add_argument("--styles", type=bench_paint._csv(str), default=["oil", "marker", "watercolor", "tape"])
    ap.add_argument("--strokes", type=bench_paint._csv(int), default=[300])
    ap.add_argument("--sizes", type=bench_paint._csv(int), default=[256])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out
    bench_paint.run_section(
        plan(args), lambda c: f"{c['image']} {c['style']} {c['strokes']}@{c['size']} {c['renderer']}",
        lambda r: f"{r['wall_s']:.1f} s, {r['peak_mb']:.0f} MB, {r['psnr']:.2f} dB", markdown,
        "bench_renderers.py", argv, out, args.json or (out.with_name("results_renderers.json") if out else None),
        BEGIN, END)
    return 0

if __name__ == "__main__":
    sys.exit(main())
