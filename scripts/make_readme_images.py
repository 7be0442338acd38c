"""Regenerate the README pictures of the Blender side.

    python scripts/make_readme_images.py [--strokes 800] [--size 384] [--frames 16]

1. ``docs/images/blender_oil.png``: the add-on's headless path
   (``python -m blender_neural_painter paint``, the same code as the Paint button)
   paints ``samples/astronaut.png`` with oil strokes into a .blend and renders the
   finished Grease Pencil painting with Workbench.
2. ``docs/images/blender_build.gif``: that .blend reopened with ``bpy``, its Build
   animation rendered with Workbench at evenly spaced frames from the first keyframe
   to the last, assembled with Pillow into a looping GIF that holds the last frame.

Needs the project's environment (torch for the engine, ``bpy``, Pillow).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


def paint(blend: Path, png: Path, args: argparse.Namespace) -> None:
    """Run the add-on's headless paint command in its own process (it resets Blender)."""
    cmd = [sys.executable, "-m", "blender_neural_painter", "paint", str(args.image),
           "--out", str(blend), "--preview", str(png), "--style", args.style,
           "--strokes", str(args.strokes), "--size", str(args.size),
           "--preview-size", str(args.preview_size), "--seed", str(args.seed),
           "--device", args.device, "--animation", "build"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def render_build_frames(blend: Path, frame_dir: Path, long_side: int, count: int) -> list[Path]:
    """Open the .blend, frame the painting at ``long_side`` px and render ``count`` frames
    spread over its Build animation (first keyframe to last)."""
    sys.path.insert(0, str(ROOT))
    import bpy

    from blender_neural_painter import gpencil, preview

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    context = bpy.context
    scene = context.scene
    obj = next(o for o in scene.objects if gpencil.painting_canvas(o) is not None)
    keys = [f for points in gpencil.build_keyframes(obj).values() for f, _ in points]
    if keys:
        first, last = min(keys), max(keys)
    else:  # no Build keyframes: fall back on the scene's range
        first, last = float(scene.frame_start), float(scene.frame_end)
    print(f"painting '{obj.name}': Build animation frames {first:g}..{last:g}", flush=True)
    preview.frame_painting(context, obj, long_side, name="README GIF Camera")
    preview.workbench_settings(scene)
    frames = sorted({round(first + (last - first) * i / (count - 1)) for i in range(count)})
    paths = []
    for i, frame in enumerate(frames):
        path = frame_dir / f"frame_{i:03d}.png"
        preview.render_to(scene, str(path), frame=frame)
        paths.append(path)
        print(f"  frame {frame} -> {path.name}", flush=True)
    return paths


def write_gif(frames: list[Path], out: Path, frame_ms: int, hold_ms: int) -> None:
    from PIL import Image

    images = []
    for p in frames:
        with Image.open(p) as im:
            # one adaptive palette per frame, no dithering: smaller and cleaner than dithered
            images.append(im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE))
    durations = [frame_ms] * (len(images) - 1) + [hold_ms]
    images[0].save(out, save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=True, disposal=1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", default=str(ROOT / "samples" / "astronaut.png"))
    p.add_argument("--style", default="oil")
    p.add_argument("--strokes", type=int, default=800)
    p.add_argument("--size", type=int, default=384, help="engine working size (long side, px)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--preview-size", type=int, default=512, help="long side of blender_oil.png, px")
    p.add_argument("--gif-size", type=int, default=320, help="long side of blender_build.gif, px")
    p.add_argument("--frames", type=int, default=16, help="GIF frames over the Build animation")
    p.add_argument("--frame-ms", type=int, default=150)
    p.add_argument("--hold-ms", type=int, default=1500, help="how long the GIF holds the finished painting")
    p.add_argument("--out-dir", default=str(IMAGES))
    args = p.parse_args()

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"blender_{args.style}.png"
    gif = out_dir / "blender_build.gif"
    with tempfile.TemporaryDirectory(prefix="np_readme_") as tmp:
        blend = Path(tmp) / "painting.blend"
        paint(blend, png, args)
        frames = render_build_frames(blend, Path(tmp), args.gif_size, max(2, args.frames))
        write_gif(frames, gif, args.frame_ms, args.hold_ms)
    for path in (png, gif):
        print(f"wrote {os.path.relpath(path, ROOT)} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
