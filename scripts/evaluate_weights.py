"""Measure the shipped neural-renderer weights for the model card (``weights/README.md``).

    python scripts/evaluate_weights.py                 # print the table
    python scripts/evaluate_weights.py --write         # replace the table in weights/README.md
    python scripts/evaluate_weights.py --ablation /tmp/abl_*.pt   # also rows for other files

Per style: PSNR of foreground (sRGB colour x mask) and alpha against the reference
renderer on 2,000 held-out strokes in their frames (the same held-out stream the
training validated on), PSNR of whole 128 px canvases of 20 random strokes drawn
through the network (resampled onto patches, as the painter uses it) against the
reference renderer, parameter count, forward time per stroke on this CPU, file size
and what the file says about its training.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.render import neural, raster  # noqa: E402
from core.render.reference import render  # noqa: E402
from core.contracts.styles import STYLES, get_style
from core.model.geometry import random_params, to_geometry  # noqa: E402

BEGIN, END = "<!-- evaluate_weights:begin -->", "<!-- evaluate_weights:end -->"


def canvas_psnr(model: neural.StrokeRenderer, style: str, canvases: int = 10, size: int = 128) -> float:
    gen = torch.Generator().manual_seed(99)
    se, count = 0.0, 0
    through = neural.PatchRenderer(model)
    for _ in range(canvases):
        params = random_params(get_style(style), 20, gen, max_size=0.5)
        with torch.no_grad():
            net = raster.render(style, params, size, size, patch_renderer=through).numpy()
        ref = render(to_geometry(style, params, size, size), size, size)
        se += float(((net - ref) ** 2).sum())
        count += net.size
    return 10 * torch.log10(torch.tensor(count / se)).item()


def forward_ms(model: neural.StrokeRenderer, style: str, batch: int) -> float:
    local = neural.sample_local(style, batch, torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(local)
        t = time.perf_counter()
        for _ in range(3):
            model(local)
    return (time.perf_counter() - t) / 3 / batch * 1000


def evaluate_file(path: Path, style: str, strokes: int) -> dict:
    model = neural.load_renderer(style, path)
    local, fg, alpha = neural.held_out(style, strokes, seed=0)
    acc = neural.evaluate(model, local, fg, alpha)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    meta = blob.get("meta", {})
    return {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name, "style": style,
            "arch": model.arch, "fg": acc.foreground_db, "alpha": acc.alpha_db,
            "canvas": canvas_psnr(model, style), "params": neural.parameter_count(model),
            "ms48": forward_ms(model, style, 48), "ms1": forward_ms(model, style, 1),
            "mb": path.stat().st_size / 1e6, "steps": meta.get("steps"), "minutes": (meta.get("train_seconds") or 0) / 60,
            "batch": meta.get("batch")}


def table(rows: list[dict]) -> str:
    out = ["| file | style | pathways | foreground PSNR dB | alpha PSNR dB | 128 px canvas PSNR dB | parameters "
           "| ms/stroke (batch 48 / 1) | MB | steps x batch | train min |",
           "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        out.append(f"| `{r['file']}` | {r['style']} | {r['arch']} | {r['fg']:.2f} | {r['alpha']:.2f} | "
                   f"{r['canvas']:.2f} | {r['params']:,} | {r['ms48']:.2f} / {r['ms1']:.1f} | {r['mb']:.1f} | "
                   f"{r['steps']} x {r['batch']} | {r['minutes']:.0f} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strokes", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="replace the table in weights/README.md")
    ap.add_argument("--ablation", nargs="*", default=[], help="more weights files (style read from the file)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = [evaluate_file(neural.default_weights_path(s), s, args.strokes) for s in STYLES]
    for extra in args.ablation:
        style = torch.load(extra, map_location="cpu", weights_only=True)["style"]
        rows.append(evaluate_file(Path(extra), style, args.strokes))
    text = table(rows)
    print(text)
    if args.write:
        card = ROOT / "weights" / "README.md"
        doc = card.read_text()
        b, e = doc.index(BEGIN), doc.index(END)
        card.write_text(doc[:b] + BEGIN + "\n" + text + "\n" + doc[e:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
