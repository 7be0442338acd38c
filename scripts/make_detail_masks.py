"""Detail masks for the sample photos, drawn here from a few numbers (our own work,
public domain): white on the subject a viewer looks at first, black elsewhere, with a
soft edge. ``python scripts/make_detail_masks.py`` writes ``samples/masks/NAME.png``;
the README's detail example and ``benchmarks/bench_controls.py`` use them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
#: Photo -> ellipses (centre x, centre y, radius x, radius y) in the photo's pixels.
SUBJECTS = {
    "astronaut.png": [(224, 112, 60, 76)],  # her face (OpenCV's detector finds it at 177-272 x 66-161)
    "coffee.jpg": [(250, 140, 104, 126)],  # the cup
    "chelsea.jpg": [(282, 200, 165, 112)],  # the cat's eyes and nose
}
FEATHER = 0.12  # the edge fades over this share of the radius


def mask(size: tuple[int, int], ellipses: list[tuple[float, float, float, float]]) -> np.ndarray:
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    out = np.zeros((h, w), np.float32)
    for cx, cy, rx, ry in ellipses:
        r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
        out = np.maximum(out, np.clip((1 + FEATHER - r) / (2 * FEATHER), 0, 1))
    return out


def main() -> None:
    out = ROOT / "samples" / "masks"
    out.mkdir(parents=True, exist_ok=True)
    for name, ellipses in SUBJECTS.items():
        size = Image.open(ROOT / "samples" / name).size
        path = out / (Path(name).stem + ".png")
        Image.fromarray((mask(size, ellipses) * 255 + 0.5).astype(np.uint8)).save(path)
        print(path)


if __name__ == "__main__":
    main()
