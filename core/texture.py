"""Procedural bristle texture for oil strokes.

Generated from a seed rather than shipped as an image, so there is no third-party
brush art in the repository and every renderer (optimiser, reference, SVG, Blender)
can rebuild exactly the same texture.

Layout: rows run across the stroke (v from -1 at row 0 to +1 at the last row), columns
run along it (u from 0 at the start to 1 at the end). Values are opacity in [0, 1].
"""

from __future__ import annotations

import functools

import numpy as np

TEXTURE_ROWS = 32
TEXTURE_COLS = 128


@functools.lru_cache(maxsize=8)
def bristle_texture(seed: int = 0, rows: int = TEXTURE_ROWS, cols: int = TEXTURE_COLS) -> np.ndarray:
    """Opacity of a loaded brush dragged along the stroke: streaks across, a dry tail."""
    rng = np.random.default_rng(seed)
    # Each bristle row carries its own amount of paint, smoothed so neighbours are alike.
    rows_paint = rng.uniform(0.55, 1.0, rows)
    kernel = np.array([0.25, 0.5, 0.25])
    rows_paint = np.convolve(np.pad(rows_paint, 1, mode="edge"), kernel, mode="valid")
    # Paint runs out along the stroke at a slightly different place for every bristle.
    u = (np.arange(cols) + 0.5) / cols
    dry_at = rng.uniform(0.8, 1.0, rows)
    tail = np.clip((dry_at[:, None] - u[None, :]) / 0.2 + 0.5, 0.0, 1.0)
    # Low-frequency streak noise along each bristle.
    noise = rng.normal(0.0, 1.0, (rows, cols // 8 + 2))
    xs = np.linspace(0, noise.shape[1] - 1.001, cols)
    i0 = xs.astype(int)
    f = xs - i0
    streak = noise[:, i0] * (1 - f) + noise[:, i0 + 1] * f
    tex = rows_paint[:, None] * (1.0 + 0.08 * streak) * (0.55 + 0.45 * tail)
    # The brush's loaded start is solid: the first few percent are fully opaque.
    tex = np.maximum(tex, np.clip(1.0 - u / 0.06, 0.0, 1.0)[None, :])
    tex = tex.clip(0.0, 1.0).astype(np.float32)
    tex.setflags(write=False)
    return tex
