"""Where the dBs came from: the quality benchmark's paintings with the painter's changes
added one at a time, so each row's gain over the one above is what that change bought.

    python benchmarks/bench_ablation.py --out benchmarks/RESULTS.md
    python benchmarks/bench_ablation.py --styles tape --photos astronaut   # a subset

The recipes run from the painter before the fidelity work (L1 loss, 20 optimisation
steps per round of 16 new strokes, strokes never revisited) to today's defaults; a last
row takes today's defaults and scores one random candidate per new stroke instead of
the best of several, to price the search for new strokes. Same inputs, metrics and
child runner as ``bench_quality.py`` (500 strokes, 256 px, one fresh process each).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_paint  # noqa: E402
import bench_quality  # noqa: E402

BEGIN = "<!-- bench_ablation:begin -->"
END = "<!-- bench_ablation:end -->"

#: (label, PaintOptions fields, PaintOptions.tuning fields), cumulative from the old recipe.
RECIPES = (
    ("before: L1 loss, 20 steps per round, no final pass", {"iterations": 20, "refine": 0}, {"loss": "l1"}),
    ("+ L2 loss", {"iterations": 20, "refine": 0}, {}),
    ("+ 10 steps per round (half the greedy time)", {"iterations": 10, "refine": 0}, {}),
    ("+ final pass over all strokes (today's default)", {}, {}),
    ("today's default, 1 candidate per new stroke", {}, {"candidates": 1}),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=bench_paint._csv(str), default=("astronaut", "coffee"))
    ap.add_argument("--styles", type=bench_paint._csv(str), default=bench_quality.STYLES)
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None, help="replace the bench_ablation section of this markdown file")
    args = ap.parse_args(argv)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    paths = bench_quality.prepare_photos(list(args.photos))
    rows = []
    for style in args.styles:
        for i, (label, fields, extra) in enumerate(RECIPES):
            for photo in args.photos:
                cfg = dict(kind="ablation", image=photo, path=str(paths[photo]), style=style, strokes=args.strokes,
                           size=256, background="white", extra=extra, paint_options=fields, threads=args.threads,
                           seed=0, device="cpu")
                row = bench_paint.run_child(cfg, timeout=1800)
                row.update(photo=photo, recipe=i)
                rows.append(row)
                print(f"{style:10s} {i} {photo:10s} " + (f"{row['psnr']:.2f} dB  {row['wall_s']:.1f} s"
                                                        if not row.get("error") else f"error: {row['error']}"),
                      flush=True)
    command = "python benchmarks/bench_ablation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(rows, args, command.strip(), load)
    bench_paint.publish(text, args.out, BEGIN, END, rows, "results_ablation.json")
    return 0


def markdown(rows: list[dict], args, command: str, load: str) -> str:
    info = bench_paint.machine_info(rows)
    lines = [BEGIN, "## Where the dBs came from (`benchmarks/bench_ablation.py`)", "",
             f"- Date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Command: `{command}`",
             f"- Machine: {info['cpu']}; {info['usable_cpus']} usable CPUs; Python {info['python']}, "
             f"torch {info['torch']} (threads {info['torch_threads']}); load average at the start: {load}",
             f"- {args.strokes} strokes at 256 px of {', '.join(args.photos)} (the quality benchmark's inputs); "
             "each cell: mean PSNR over the photos, mean wall time; Δ = gain over the row above.", ""]
    styles = list(args.styles)
    lines.append("| recipe | " + " | ".join(styles) + " |")
    lines.append("|---|" + "--:|" * len(styles))
    means: dict[tuple[str, int], float] = {}
    for i, (label, _, _) in enumerate(RECIPES):
        cells = []
        for style in styles:
            ok = [r for r in rows if r["style"] == style and r["recipe"] == i and not r.get("error")]
            if len(ok) != len(args.photos):
                cells.append("error")
                continue
            p = bench_quality._mean([r["psnr"] for r in ok])
            w = bench_quality._mean([r["wall_s"] for r in ok])
            means[style, i] = p
            ref = 3 if i == 4 else i - 1  # the candidates row compares with today's default
            delta = f" (Δ {p - means[style, ref]:+.2f})" if i > 0 and (style, ref) in means else ""
            cells.append(f"{p:.2f} dB{delta}, {w:.1f} s")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "The last row's Δ is against today's default (the row above it): what the search among "
              "candidates for each new stroke buys.", "", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
