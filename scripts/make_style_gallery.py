"""Compose the README's style-transfer gallery from the style benchmark's renders.

    python benchmarks/bench_style.py --out benchmarks/RESULTS.md --renders /tmp/style_renders
    python scripts/make_style_gallery.py /tmp/style_renders

Writes ``docs/images/style_gallery.png``: the photo, its painting without style, and
the same painting in the style of each style image (color and full mode), each style
image shown beside its row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
TILE = 256


def _tile(path: Path) -> Image.Image:
    img = Image.open(path).convert("RGB")
    img.thumbnail((TILE, TILE), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (TILE, TILE), (255, 255, 255))
    canvas.paste(img, ((TILE - img.width) // 2, (TILE - img.height) // 2))
    return canvas


def _labelled(img: Image.Image, text: str) -> Image.Image:
    out = Image.new("RGB", (TILE, TILE + 22), (255, 255, 255))
    out.paste(img, (0, 22))
    ImageDraw.Draw(out).text((6, 5), text, fill=(0, 0, 0))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("renders", type=Path)
    ap.add_argument("--photo", default="chelsea")
    ap.add_argument("--stem", default="chelsea_oil_300_256_otdef_white")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "style_gallery.png")
    args = ap.parse_args()
    photo = next((ROOT / "samples").glob(f"{args.photo}.*"))
    rows = []
    for style in ("swirls", "mosaic"):
        cells = [_labelled(_tile(ROOT / "samples" / "styles" / f"{style}.png"), f"style image: {style}"),
                 _labelled(_tile(photo), "photo"),
                 _labelled(_tile(args.renders / f"{args.stem}_{style}_–_none.png"), "painted, no style")]
        for mode in ("color", "full"):
            cells.append(_labelled(_tile(args.renders / f"{args.stem}_{style}_offline_{mode}.png"),
                                   f"{mode} mode"))
        row = Image.new("RGB", (TILE * len(cells), TILE + 22), (255, 255, 255))
        for i, c in enumerate(cells):
            row.paste(c, (i * TILE, 0))
        rows.append(row)
    gallery = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), (255, 255, 255))
    y = 0
    for r in rows:
        gallery.paste(r, (0, y))
        y += r.height
    args.out.parent.mkdir(parents=True, exist_ok=True)
    gallery.save(args.out, optimize=True)
    print(args.out, np.asarray(gallery).shape)
    return 0


if __name__ == "__main__":
    sys.exit(main())
