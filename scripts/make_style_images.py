"""Generate the bundled style images (``samples/styles/*.png``) from code.

They are made here, from a seed, so their licence is ours (public domain, like the
rest of ``samples/`` that is not a photo): no third-party artwork in the repository.

    python scripts/make_style_images.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "samples" / "styles"


def swirls(size: int = 384, seed: int = 1) -> np.ndarray:
    """Bands of warm and cool colour wound around a few vortices, like a night-sky study."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    phase = np.zeros_like(x)
    for _ in range(5):
        cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
        winding = int(rng.choice([-2, -1, 1, 2]))  # whole turns: no seam where the angle wraps
        r = np.hypot(x - cx, y - cy) + 0.05
        phase += winding * np.arctan2(y - cy, x - cx) + 0.2 * winding / r
    bands = np.sin(phase + y * 18)
    palette = np.array([[0.06, 0.12, 0.35], [0.15, 0.35, 0.7], [0.95, 0.8, 0.25], [0.9, 0.45, 0.1]])
    t = (bands + 1) / 2 * (len(palette) - 1)
    i = np.clip(t.astype(int), 0, len(palette) - 2)
    f = (t - i)[..., None]
    img = palette[i] * (1 - f) + palette[i + 1] * f
    img += rng.normal(0, 0.03, img.shape)
    return img.clip(0, 1)


def mosaic(size: int = 384, seed: int = 2, cells: int = 90) -> np.ndarray:
    """Voronoi tiles in an earthy palette with dark grout: flat colour, hard edges."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, size, (cells, 2))
    palette = np.array([[0.75, 0.3, 0.15], [0.85, 0.65, 0.3], [0.35, 0.45, 0.25],
                        [0.2, 0.3, 0.4], [0.9, 0.85, 0.7]])
    colours = palette[rng.integers(0, len(palette), cells)] + rng.normal(0, 0.04, (cells, 3))
    y, x = np.mgrid[0:size, 0:size]
    d = (x[..., None] - pts[:, 0]) ** 2 + (y[..., None] - pts[:, 1]) ** 2
    order = np.sort(d, axis=-1)
    nearest = np.argmin(d, axis=-1)
    img = colours[nearest]
    grout = (np.sqrt(order[..., 1]) - np.sqrt(order[..., 0])) < 2.5
    img[grout] = (0.12, 0.1, 0.08)
    return img.clip(0, 1)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fn in (("swirls", swirls), ("mosaic", mosaic)):
        Image.fromarray((fn() * 255).round().astype(np.uint8)).save(OUT / f"{name}.png", optimize=True)
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
