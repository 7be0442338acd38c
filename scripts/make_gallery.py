"""Regenerate the README gallery: the sample in every style at three stroke counts, the
engine's render beside Blender's, and one photo beside a greedy shape fitter.

    python scripts/make_gallery.py [--size 384] [--counts 200,500,1000] [--primitive PATH]

0. ``docs/images/strokes.png``: single oil strokes and watercolour washes of flat
   colours, large.
1. ``docs/images/gallery.jpg``: ``samples/astronaut.png`` painted by ``core`` in each
   style with each stroke count (default options, ``--size`` px canvas); for each, the
   engine's reference render and a Workbench render of the same strokes written into
   Grease Pencil by the add-on's own writer (``blender_neural_painter.gpencil``), side by
   side, each labelled with its PSNR against the photo.
2. ``docs/images/vs_primitive.png`` (with ``--primitive``, a binary built from
   fogleman/primitive's public source; none ships here): the quality benchmark's
   ``astronaut`` input (256 px square), primitive's 500 rotated rectangles, and this
   painter's 500 ``tape`` and ``oil`` strokes, at the same size, with PSNR.

Needs the project's environment (torch, ``bpy``, Pillow); the second picture also needs
scikit-image, as ``benchmarks/bench_quality.py`` does. The Blender renders run in a
child process (``--blender-render DIR``), since ``bpy`` resets its state per file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
STYLES = ("oil", "tape", "marker", "watercolor")


def paint_all(work: Path, args: argparse.Namespace) -> list[dict]:
    """Paint the sample in every style and count; save strokes JSON and the engine's render."""
    import numpy as np

    from _metrics import psnr
    from core.io.image_io import load_image, resize_long_side, save_png
    from core.painters.painter import PaintOptions, run
    from core.render.reference import render_strokes

    image = load_image(ROOT / "samples" / "astronaut.png")
    runs = []
    for style in args.styles:
        for count in args.counts:
            strokes = run(image, PaintOptions(style=style, strokes=count, size=args.size, seed=args.seed))
            name = f"{style}_{count}"
            strokes.save_json(work / f"{name}.json")
            render = render_strokes(strokes, args.size)
            save_png(render, work / f"{name}_engine.png")
            target = resize_long_side(image, args.size)
            runs.append({"name": name, "style": style, "count": count,
                         "psnr": float(psnr(render, target)), "target_shape": list(target.shape)})
            print(f"{name}: {runs[-1]['psnr']:.2f} dB", flush=True)
    np.save(work / "target.npy", resize_long_side(image, args.size))
    return runs


def blender_render(work: Path, size: int) -> None:
    """(Child process) every strokes JSON in ``work`` into Grease Pencil, rendered."""
    import bpy
    import numpy as np

    from blender_neural_painter import gpencil, preview
    from blender_neural_painter.runner import decode_batch
    from core.app.worker import strokes_payload
    from core.model.strokes import StrokeSet
    from core.model.texture import oil_images, wash_profile

    textures = gpencil.Textures(oil=oil_images() / 255.0, wash=wash_profile(np.arange(201) * 0.01))

    for path in sorted(p for p in work.glob("*.json") if p.name != "runs.json"):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        strokes = StrokeSet.load_json(path)
        canvas = gpencil.Canvas(strokes.style, strokes.width, strokes.height, strokes.background)
        created = gpencil.Created()
        obj = gpencil.new_painting(bpy.context, path.stem, canvas, created, 1)
        for level in sorted(set(strokes.level.tolist())):
            # Each level as the worker sends it and the add-on decodes it (a brush too).
            idx = np.nonzero(strokes.level == level)[0]
            batch = decode_batch(strokes_payload(strokes.take(idx)), level, int(idx[0]))
            gpencil.add_level(obj, batch, canvas, created, 1, textures)
        scene = bpy.context.scene
        preview.frame_painting(bpy.context, obj, size)
        preview.workbench_settings(scene)
        preview.render_to(scene, str(work / f"{path.stem}_blender.png"), frame=1)


def _label(img, text: str):
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    w = int(draw.textlength(text)) + 8
    draw.rectangle([0, 0, w, 14], fill=(255, 255, 255))
    draw.text((4, 1), text, fill=(0, 0, 0))
    return img


def compose_gallery(work: Path, runs: list[dict], args: argparse.Namespace) -> Path:
    import numpy as np
    from PIL import Image

    from _metrics import psnr

    target = np.load(work / "target.npy")
    tile = args.tile
    gap = 6
    cols = len(args.counts) * 2
    rows = len(args.styles)
    sheet = Image.new("RGB", (cols * tile + (cols - 1) * gap, rows * tile + (rows - 1) * gap), (255, 255, 255))
    for r, style in enumerate(args.styles):
        for c, count in enumerate(args.counts):
            run = next(x for x in runs if x["style"] == style and x["count"] == count)
            for k, kind in enumerate(("engine", "blender")):
                path = work / f"{style}_{count}_{kind}.png"
                img = Image.open(path).convert("RGB")
                score = psnr(np.asarray(img, np.float32) / 255, target) if img.size[::-1] == target.shape[:2] \
                    else run["psnr"]
                img = img.resize((tile, round(tile * img.height / img.width)), Image.LANCZOS)
                _label(img, f"{style} {count} {'engine' if kind == 'engine' else 'Blender'} {score:.1f} dB")
                x = (2 * c + k) * (tile + gap)
                sheet.paste(img, (x, r * (tile + gap)))
    out = IMAGES / "gallery.jpg"  # 24 paintings: a PNG would be 2 MB
    sheet.save(out, quality=90, optimize=True)
    return out


def compare_primitive(work: Path, args: argparse.Namespace) -> Path:
    import numpy as np
    from PIL import Image

    from _metrics import psnr
    from bench_quality import prepare_photos, run_primitive
    from core.io.image_io import load_image
    from core.painters.painter import PaintOptions, run
    from core.render.reference import render_strokes

    photo = prepare_photos(["astronaut"])["astronaut"]
    target = np.asarray(Image.open(photo).convert("RGB"), np.float32) / 255
    prim = run_primitive(args.primitive, photo, 5, 500, work)
    panels = [(Image.open(photo).convert("RGB"), "photo (256 px)"),
              (Image.open(prim["render"]).convert("RGB"), f"primitive, 500 rectangles {prim['psnr']:.1f} dB")]
    for style in ("tape", "oil"):
        strokes = run(load_image(photo), PaintOptions(style=style, strokes=500, size=256, seed=args.seed))
        render = render_strokes(strokes, 256)
        panels.append((Image.fromarray((np.clip(render, 0, 1) * 255 + 0.5).astype(np.uint8)),
                       f"{style}, 500 strokes {psnr(render, target):.1f} dB"))
    scale = 2
    sheet = Image.new("RGB", (len(panels) * (256 * scale + 6) - 6, 256 * scale), (255, 255, 255))
    for i, (img, text) in enumerate(panels):
        big = img.resize((256 * scale, 256 * scale), Image.NEAREST)
        sheet.paste(_label(big, text), (i * (256 * scale + 6), 0))
    out = IMAGES / "vs_primitive.png"
    sheet.save(out, optimize=True)
    return out


def stroke_sheet() -> Path:
    """docs/images/strokes.png: single strokes of flat colours, large, as the engine
    draws them (Workbench draws the same; tests/blender/test_fidelity.py compares)."""
    import numpy as np

    from core.io.image_io import save_png
    from core.render.reference import render_strokes
    from core.model.strokes import StrokeSet

    ground = (0.95, 0.93, 0.88)
    oil = [[0.5, 0.5, 0.5], [0.8, 0.35, 0.2], [0.15, 0.2, 0.35], [0.9, 0.85, 0.7]]
    rows = [render_strokes(StrokeSet("oil", 256, 80, np.array([[0.5, 0.5, 0.9, 0.22, 0.0] + c + c + [1.0]],
                                                                np.float32), [1], ground), 512) for c in oil]
    for c0, c2 in (([0.2, 0.3, 0.7], [0.2, 0.3, 0.7]), ([0.8, 0.2, 0.3], [0.9, 0.7, 0.2])):
        p = np.array([[0.08, 0.7, 0.5, 0.1, 0.92, 0.6, 0.07, 0.06] + c0 + c2 + [0.85]], np.float32)
        rows.append(render_strokes(StrokeSet("watercolor", 256, 80, p, [1], ground), 512))
    out = IMAGES / "strokes.png"
    save_png(np.concatenate(rows, 0), out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=384, help="canvas long side the sample is painted at, px")
    ap.add_argument("--counts", default="200,500,1000")
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument("--tile", type=int, default=256, help="width of each picture in the sheet, px")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--primitive", default=None, help="primitive binary for docs/images/vs_primitive.png")
    ap.add_argument("--work", default=None, help="keep the paintings and renders here")
    ap.add_argument("--blender-render", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--strokes-only", action="store_true", help="only docs/images/strokes.png")
    args = ap.parse_args(argv)
    if args.strokes_only:
        print("wrote", stroke_sheet())
        return 0
    if args.blender_render:
        blender_render(Path(args.blender_render), args.size)
        return 0
    args.counts = [int(c) for c in args.counts.split(",")]
    args.styles = [s for s in args.styles.split(",") if s]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="np-gallery-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = paint_all(work, args)
    (work / "runs.json").write_text(json.dumps(runs, indent=1))
    subprocess.run([sys.executable, __file__, "--blender-render", str(work), "--size", str(args.size)],
                   check=True, cwd=ROOT)
    print("wrote", stroke_sheet())
    print("wrote", compose_gallery(work, runs, args))
    if args.primitive:
        print("wrote", compare_primitive(work, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
