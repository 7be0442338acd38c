"""How long the Grease Pencil writer takes for a big painting (target: 10,000 strokes < 1 s).

    python benchmarks/bench_blender_write.py [--strokes 10000] [--style oil]

Times ``gpencil.add_level`` alone (geometry already computed by core, as the worker sends
it): whole-array ``foreach_set`` of positions, radii, colours, opacity, caps, materials and
the stored parameters. Prints the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, default=10000)
    ap.add_argument("--style", default="marker", choices=["marker", "watercolor", "oil", "tape"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import bpy
    import torch

    from blender_neural_painter import gpencil
    from core.model.strokes import StrokeSet
    from core.contracts.styles import get_style
    from core.model.geometry import random_params
    from core.model.texture import bristle_texture

    spec = get_style(args.style)
    params = random_params(spec, args.strokes, torch.Generator().manual_seed(0)).numpy()
    ss = StrokeSet(args.style, 512, 384, params, np.ones(args.strokes), (1, 1, 1))
    geo = ss.geometry()
    batch = gpencil.StrokeBatch(1, geo.points, geo.radius, geo.rgba, ss.params, np.arange(args.strokes),
                                geo.cap, geo.softness, geo.textured)
    times = []
    for _ in range(args.repeat):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        canvas = gpencil.Canvas(args.style, 512, 384, (1.0, 1.0, 1.0), 2.0)
        created = gpencil.Created()
        obj = gpencil.new_painting(bpy.context, "Bench", canvas, created, 1)
        t0 = time.perf_counter()
        gpencil.add_level(obj, batch, canvas, created, 1, bristle_texture())
        times.append(time.perf_counter() - t0)
        assert gpencil.stroke_count(obj) == args.strokes
    k = geo.points.shape[1]
    print(f"{args.strokes} {args.style} strokes ({args.strokes * k} points): "
          f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"(bpy {bpy.app.version_string})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
