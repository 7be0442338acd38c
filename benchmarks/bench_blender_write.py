"""How long the Grease Pencil writer takes for a big painting (target: 10,000 strokes < 1 s),
and a painting with its replay (target: 5,000 strokes in Keyframes mode <= 2 s).

    python benchmarks/bench_blender_write.py [--strokes 10000] [--style oil]
    python benchmarks/bench_blender_write.py --strokes 5000 --replay keyframes --every 10

Times ``gpencil.add_level`` alone (geometry already computed by core, as the worker sends
it): whole-array ``foreach_set`` of positions, radii, colours, opacity, caps, materials and
the stored parameters. With ``--replay``, also ``gpencil.apply_replay`` (each stroke's beat,
the replay modifier and its keys), as a Paint run writes it at its end, and counts the
strokes the file holds (no copies: the painting's own). Prints the best of --repeat runs.
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
    ap.add_argument("--replay", default="none", choices=["none", "build", "keyframes"])
    ap.add_argument("--every", type=int, default=10, help="strokes per keyframe with --replay keyframes")
    ap.add_argument("--order", default="PAINTED", help="the replay's order (gp_data.ORDERS)")
    args = ap.parse_args()

    import bpy
    import torch

    from blender_neural_painter import gpencil
    from core.model.strokes import StrokeSet
    from core.contracts.styles import get_style
    from core.model.geometry import random_params
    from core.model.texture import oil_images, wash_profile

    spec = get_style(args.style)
    params = random_params(spec, args.strokes, torch.Generator().manual_seed(0)).numpy()
    ss = StrokeSet(args.style, 512, 384, params, np.ones(args.strokes), (1, 1, 1))
    geo = ss.geometry()
    batch = gpencil.StrokeBatch(1, geo.points, geo.radius, geo.rgba, ss.params, np.arange(args.strokes),
                                geo.cap, geo.softness, geo.textured)
    # The textures the worker sends with its first event (the writer makes materials of them).
    textures = gpencil.Textures(oil=oil_images() / 255.0, wash=wash_profile(np.arange(201) * 0.01))
    times, written, keys = [], 0, 0
    for _ in range(args.repeat):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        canvas = gpencil.Canvas(args.style, 512, 384, (1.0, 1.0, 1.0), 2.0)
        created = gpencil.Created()
        obj = gpencil.new_painting(bpy.context, "Bench", canvas, created, 1)
        t0 = time.perf_counter()
        gpencil.add_level(obj, batch, canvas, created, 1, textures)
        if args.replay != "none":
            replay = gpencil.Replay(args.replay.upper(), args.order, 1, 250, every=args.every)
            keys = len(gpencil.apply_replay(obj, canvas, replay, created))
        times.append(time.perf_counter() - t0)
        assert gpencil.stroke_count(obj) == args.strokes
        written = sum(len(fr.drawing.strokes) for layer in obj.data.layers for fr in layer.frames) - 1
    k = geo.points.shape[1]
    replay_text = f", {args.replay} replay ({keys} keys, {written} strokes written)" if args.replay != "none" else ""
    print(f"{args.strokes} {args.style} strokes ({args.strokes * k} points){replay_text}: "
          f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"(bpy {bpy.app.version_string})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
