"""Style transfer: what it costs and what it changes.

    python benchmarks/bench_style.py --out benchmarks/RESULTS.md --renders docs/images/style

For one photo and each style image it paints the same strokes without style, with the
style in ``color`` mode and in ``full`` mode (fresh child processes of
``bench_paint.py``), and reports per run: content PSNR (reference render against the
photo), the style loss of the final render against the style image (the offline loss
the painter minimises, lower = closer in style), wall time and the time per level.
VGG-16 rows run only when its weights are in the torch cache (``--features vgg16``).
With ``--out`` the table replaces the section between ``<!-- bench_style:begin -->``
and ``<!-- bench_style:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_paint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench_style:begin -->"
END = "<!-- bench_style:end -->"


def plan(args) -> list[dict]:
    rows = []
    base = dict(kind="style", image=args.image, path=str(bench_paint._image_path(args.image)), style=args.style,
                strokes=args.strokes, size=args.size, background="white", threads=args.threads, seed=0,
                device="auto", extra={}, renders=str(args.renders) if args.renders else None)
    for style_image in args.style_images:
        path = ROOT / "samples" / "styles" / f"{style_image}.png"
        probe = {"image": str(path), "features": "offline"}
        rows.append(dict(base, mode="none", style_image=style_image, features="–", style_probe=probe))
        for features in args.features:
            for mode in ("color", "full"):
                rows.append(dict(base, mode=mode, style_image=style_image, features=features, style_probe=probe,
                                 paint_options={"style_image": str(path), "style_mode": mode,
                                                "style_weight": args.weight, "style_features": features}))
    return rows


def markdown(rows: list[dict], command: str) -> str:
    info = bench_paint.machine_info(rows)
    out = [BEGIN, "## Style transfer (`benchmarks/bench_style.py`)", "",
           f"- Date: {_dt.date.today().isoformat()}",
           f"- Command: `{command}`",
           f"- Machine: {info['cpu']}; {info['usable_cpus']} usable CPUs; torch {info['torch']}",
           "- Content PSNR: reference render of the final strokes against the photo. Style loss: the offline "
           "style loss (features + colour) of that render against the style image; `none` rows are the "
           "\"before\". s/level: mean wall time per level.",
           "",
           "| photo | style image | features | mode | strokes | wall s | s/level | content PSNR dB | style loss |",
           "|---|---|---|---|--:|--:|--:|--:|--:|"]
    out += bench_paint.table_lines(
        rows, lambda r: [r["image"], r["style_image"], r["features"], r["mode"], str(r["strokes"])],
        lambda r: [f"{r['wall_s']:.1f}", f"{sum(r['level_s']) / max(1, len(r['level_s'])):.1f}",
                   f"{r['psnr']:.2f}", f"{r['style_loss']:.4f}"], 4,
        lambda r: f"{r['style_image']}/{r['features']}/{r['mode']}")
    out.append(END)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default="chelsea")
    ap.add_argument("--style-images", type=bench_paint._csv(str), default=["swirls", "mosaic"])
    ap.add_argument("--features", type=bench_paint._csv(str), default=["offline"])
    ap.add_argument("--style", default="oil")
    ap.add_argument("--strokes", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--weight", type=float, default=0.4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--renders", type=Path, default=None, help="save each final render as a PNG here")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out
    bench_paint.run_section(
        plan(args), lambda c: f"{c['style_image']} {c['features']} {c['mode']}",
        lambda r: f"{r['wall_s']:.1f} s, {r['psnr']:.2f} dB, style {r['style_loss']:.4f}", markdown,
        "bench_style.py", argv, out, out.with_name("results_style.json") if out else None, BEGIN, END)
    return 0

if __name__ == "__main__":
    sys.exit(main())
