"""The README's brush picture: ``python scripts/make_brush_images.py [--strokes 300 --size 256]``.

The bundled sample painted in oil with four of the brushes that ship, one column each:
the brush (dark where it leaves paint, its start on the left), the engine's render and
Blender's below it (the strokes through the worker's payload and the add-on's writer
into Grease Pencil, rendered by Workbench in a child process, as ``make_gallery.py``
renders its gallery). Writes ``docs/images/brushes.jpg``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from PIL import Image

    import make_gallery
    from _metrics import psnr
    from core.contracts.options import PaintOptions
    from core.io.image_io import load_image, save_png
    from core.model.brushes import preset, stencil
    from core.painters.painter import run
    from core.render.reference import render_strokes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brushes", default="flat,filbert,fan,dry",
                    help="the brushes, comma-separated (default flat,filbert,fan,dry)")
    ap.add_argument("--style", default="oil")
    ap.add_argument("--strokes", type=int, default=300)
    ap.add_argument("--size", type=int, default=256, help="working size of the paintings, px")
    ap.add_argument("--render-size", type=int, default=320, help="long side of each render in the picture, px")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images" / "brushes.jpg"))
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="np-brush-images-"))
    image = load_image(ROOT / "samples" / "astronaut.png")
    names = [b.strip() for b in args.brushes.split(",") if b.strip()]
    for name in names:
        strokes = run(image, PaintOptions(style=args.style, strokes=args.strokes, size=args.size, seed=0, brush=name))
        strokes.save_json(work / f"{name}.json")
        save_png(render_strokes(strokes, args.render_size), work / f"{name}_engine.png")
        print(f"{name}: painted", flush=True)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_gallery.py"), "--blender-render", str(work),
                    "--size", str(args.render_size)], check=True, cwd=ROOT)
    gap = 8
    columns = []
    for name in names:
        engine = Image.open(work / f"{name}_engine.png").convert("RGB")
        blender = Image.open(work / f"{name}_blender.png").convert("RGB")
        score = psnr(np.asarray(engine, np.float32) / 255, np.asarray(blender, np.float32) / 255)
        w, h = engine.size
        # The brush as it is stretched over a stroke: dark where it paints, start on the left.
        mark = (255 - stencil(preset(name)) * 255).astype(np.uint8)
        strip = Image.fromarray(mark, "L").resize((w, w // 4), Image.Resampling.BILINEAR).convert("RGB")
        column = Image.new("RGB", (w, strip.height + 2 * h + 2 * gap), (255, 255, 255))
        column.paste(make_gallery._label(strip, f"--brush {name}"), (0, 0))
        column.paste(make_gallery._label(engine, "engine"), (0, strip.height + gap))
        column.paste(make_gallery._label(blender, f"Blender Workbench ({score:.1f} dB)"),
                     (0, strip.height + h + 2 * gap))
        columns.append(column)
        print(f"{name}: Workbench vs engine {score:.2f} dB", flush=True)
    sheet = Image.new("RGB", (sum(c.width for c in columns) + gap * (len(columns) - 1),
                              max(c.height for c in columns)), (255, 255, 255))
    x = 0
    for column in columns:
        sheet.paste(column, (x, 0))
        x += column.width + gap
    sheet.save(args.out, quality=88)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
