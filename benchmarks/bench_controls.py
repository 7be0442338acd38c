"""What the artist's controls buy, and what they cost (issue 22).

``python benchmarks/bench_controls.py --out benchmarks/RESULTS.md`` measures:

* **Detail mask**: the sample portrait and two photos with a clear subject (a cup, a
  cat's face), each with its mask from ``samples/masks/`` (drawn by
  ``scripts/make_detail_masks.py``), painted with and without the mask at 500 and 1000
  strokes (default style and size: oil, 512 px, seed 0): PSNR inside the mask (where it
  is above 0.5) and over the whole picture, against the photo at the working size.
  Target: at least +3 dB inside, at most -1.5 dB over the whole.
* **Palette**: four photos (bench_quality's 256 px crops), 8 and 16 colours, the
  optimiser's choice (``--palette``) against the same painting made freely and then
  snapped (each stroke's colours set to the nearest palette colour), 300 strokes at
  256 px. Target: at least 1.5 dB better than the snap. Two kinds of palette: N
  colours taken from the photo, and a fixed painter's palette (the first 8 or 16 of
  ``FIXED``).
* **Cost**: each control's painting time against the plain painting's, on the same
  rows (target: at most 20% more).

Every painting runs in this process, one after another; the section it writes says the
machine, its load and the command.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _metrics  # noqa: E402
import bench_paint  # noqa: E402
import bench_quality  # noqa: E402

BEGIN = "<!-- bench_controls:begin -->"
END = "<!-- bench_controls:end -->"
DETAIL_PHOTOS = ("astronaut.png", "coffee.jpg", "chelsea.jpg")
#: A painter's palette (16 paints; the first 8 are the 8-colour one): blacks and whites,
#: earths, and a warm and a cool of each primary.
FIXED = ("#151515,#f4f1ea,#7a4a2a,#c98b55,#b32428,#e8c547,#2c4f8c,#6a9a4b,"
         "#e07b5f,#4a2f5e,#8fb8d8,#9c9c94,#d9b8a0,#3b5e3b,#f0a030,#5b3a29")


def _target(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import torch

    from core.painters.imaging import resize

    return resize(torch.from_numpy(np.ascontiguousarray(image)), height, width).numpy()


def _paint(image: np.ndarray, **options) -> tuple[object, float]:
    from core import PaintOptions
    from core.painters.painter import run

    t0 = time.perf_counter()
    strokes = run(image, PaintOptions(**options))
    return strokes, time.perf_counter() - t0


def detail_rows(strokes_list: list[int], size: int, style: str) -> list[dict]:
    from core import load_image
    from core.painters.controls import load_detail_mask
    from core.render.reference import render_strokes

    rows = []
    for name in DETAIL_PHOTOS:
        path = ROOT / "samples" / name
        mask_path = ROOT / "samples" / "masks" / f"{Path(name).stem}.png"
        image = load_image(path, max_side=max(size, 1024))
        for count in strokes_list:
            plain, t_plain = _paint(image, style=style, strokes=count, size=size)
            masked, t_masked = _paint(image, style=style, strokes=count, size=size, detail_mask=str(mask_path))
            target = _target(image, plain.width, plain.height)
            inside = _target(load_detail_mask(str(mask_path), image)[..., None].repeat(3, -1),
                             plain.width, plain.height)[..., 0] > 0.5
            row = {"photo": name, "strokes": count, "size": size, "style": style, "plain_s": t_plain,
                   "masked_s": t_masked, "inside_share": float(inside.mean())}
            for label, painting in (("plain", plain), ("masked", masked)):
                picture = render_strokes(painting, max(painting.width, painting.height))
                row[f"{label}_whole"] = _metrics.psnr(picture, target)
                row[f"{label}_inside"] = _metrics.psnr(picture[inside], target[inside])
            rows.append(row)
            print(f"detail {name} {count}: inside {row['plain_inside']:.2f} -> {row['masked_inside']:.2f}, whole "
                  f"{row['plain_whole']:.2f} -> {row['masked_whole']:.2f} dB; {t_plain:.1f} s -> {t_masked:.1f} s",
                  flush=True)
    return rows


def snap(strokes, colours: np.ndarray):
    """The baseline: each stroke's colours set to the nearest palette colour, after painting."""
    from core.contracts.styles import get_style

    out = strokes.take(np.arange(len(strokes)))
    spec = get_style(out.style)
    for part in (spec.cols.colour_start, spec.cols.colour_end):
        c = out.params[:, part]
        out.params[:, part] = colours[np.argmin(((c[:, None] - colours[None]) ** 2).sum(-1), 1)]
    return out


def palette_rows(photos: list[str], counts: list[int], kinds: list[str], strokes: int, size: int,
                 style: str) -> list[dict]:
    from core import load_image
    from core.io.palettes import parse_palette
    from core.render.reference import render_strokes

    rows = []
    paths = bench_quality.prepare_photos(photos)
    for name in photos:
        image = load_image(paths[name])
        free, t_free = _paint(image, style=style, strokes=strokes, size=size)
        target = _target(image, free.width, free.height)

        def psnr(painting) -> float:
            return _metrics.psnr(render_strokes(painting, max(painting.width, painting.height)), target)

        for kind in kinds:
            for k in counts:
                spec = str(k) if kind == "photo" else ",".join(FIXED.split(",")[:k])
                colours = parse_palette(spec, image)
                ours, t_ours = _paint(image, style=style, strokes=strokes, size=size, palette=spec)
                row = {"photo": name, "kind": kind, "colours": k, "style": style, "free": psnr(free),
                       "snap": psnr(snap(free, colours)), "ours": psnr(ours), "free_s": t_free, "ours_s": t_ours}
                rows.append(row)
                print(f"palette {name} {kind} {k}: free {row['free']:.2f} snap {row['snap']:.2f} ours "
                      f"{row['ours']:.2f} dB; {t_free:.1f} s -> {t_ours:.1f} s", flush=True)
    return rows


def markdown(detail: list[dict], palette: list[dict], command: str, load: str) -> str:
    import platform

    import torch

    lines = [BEGIN, "## The artist's controls (`benchmarks/bench_controls.py`)", "",
             f"- Date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Command: `{command}`",
             f"- Machine: {bench_paint.machine_info([]).get('cpu', platform.machine())}; {os.cpu_count()} CPUs; "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads); load average at the start: {load}", ""]
    if detail:
        lines += ["### Detail mask", "",
                  "PSNR (dB) inside the mask (where it is above 0.5) and over the whole picture, without and with "
                  "the mask; times of the two paintings.", "",
                  "| photo | strokes | mask covers | inside: plain -> masked | whole: plain -> masked | time |",
                  "|---|--:|--:|---|---|---|"]
        for r in detail:
            lines.append(f"| {r['photo']} | {r['strokes']} | {r['inside_share'] * 100:.0f}% | "
                         f"{r['plain_inside']:.2f} -> {r['masked_inside']:.2f} "
                         f"(**{r['masked_inside'] - r['plain_inside']:+.2f}**) | "
                         f"{r['plain_whole']:.2f} -> {r['masked_whole']:.2f} "
                         f"(**{r['masked_whole'] - r['plain_whole']:+.2f}**) | "
                         f"{r['plain_s']:.0f} s -> {r['masked_s']:.0f} s ({(r['masked_s'] / r['plain_s'] - 1) * 100:+.0f}%) |")
        ok_in = all(r["masked_inside"] - r["plain_inside"] >= 3 for r in detail)
        ok_whole = all(r["masked_whole"] - r["plain_whole"] >= -1.5 for r in detail)
        lines += ["", f"Targets (at least +3 dB inside, at most -1.5 dB whole): inside {'met' if ok_in else 'MISSED'} "
                  f"on every row: {ok_in}; whole {'met' if ok_whole else 'MISSED'} on every row: {ok_whole}.", ""]
    if palette:
        lines += ["### Palette", "",
                  "PSNR (dB) of a painting made freely, the same painting snapped to the palette after painting, "
                  "and the optimiser choosing among the palette's paints (`--palette`).", "",
                  "| photo | palette | free | snapped | optimiser's choice | vs snap | time (free -> palette) |",
                  "|---|---|--:|--:|--:|--:|---|"]
        for r in palette:
            lines.append(f"| {r['photo']} | {r['colours']} {'from the photo' if r['kind'] == 'photo' else 'fixed'} | "
                         f"{r['free']:.2f} | {r['snap']:.2f} | {r['ours']:.2f} | **{r['ours'] - r['snap']:+.2f}** | "
                         f"{r['free_s']:.0f} s -> {r['ours_s']:.0f} s ({(r['ours_s'] / r['free_s'] - 1) * 100:+.0f}%) |")
        for kind in sorted({r["kind"] for r in palette}):
            gains = [r["ours"] - r["snap"] for r in palette if r["kind"] == kind]
            lines.append(f"\n{kind} palettes: gain over the snap {min(gains):+.2f} to {max(gains):+.2f} dB "
                         f"(mean {np.mean(gains):+.2f}); target +1.5 dB {'met' if min(gains) >= 1.5 else 'MISSED'}.")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=bench_paint._csv(str), default=("detail", "palette"))
    ap.add_argument("--detail-strokes", type=bench_paint._csv(int), default=(500, 1000))
    ap.add_argument("--size", type=int, default=512, help="working size of the detail paintings")
    ap.add_argument("--style", default="oil")
    ap.add_argument("--photos", type=bench_paint._csv(str), default=bench_quality.PHOTOS)
    ap.add_argument("--colours", type=bench_paint._csv(int), default=(8, 16))
    ap.add_argument("--kinds", type=bench_paint._csv(str), default=("photo", "fixed"))
    ap.add_argument("--palette-strokes", type=int, default=300)
    ap.add_argument("--palette-size", type=int, default=256)
    ap.add_argument("--palette-style", default="oil")
    ap.add_argument("--out", default=None, help="write the section into this markdown file")
    args = ap.parse_args(argv)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    detail = detail_rows(list(args.detail_strokes), args.size, args.style) if "detail" in args.parts else []
    palette = (palette_rows(list(args.photos), list(args.colours), list(args.kinds), args.palette_strokes,
                            args.palette_size, args.palette_style) if "palette" in args.parts else [])
    command = "python benchmarks/bench_controls.py " + " ".join(argv if argv is not None else sys.argv[1:])
    bench_paint.publish(markdown(detail, palette, command.strip(), load), args.out, BEGIN, END,
                        detail + palette, "results_controls.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
