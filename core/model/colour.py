"""sRGB <-> linear light.

Grease Pencil stores vertex colours in linear light and blends strokes there, so the
engine does the same: colours are given and returned in sRGB, blended in linear.
Works on numpy arrays and torch tensors alike.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def _where(cond, a, b):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(cond, torch.Tensor):
        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def srgb_to_linear(c: T) -> T:
    c = c.clip(0.0, 1.0)  # type: ignore[attr-defined]
    return _where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055).clip(1e-8, None) ** 2.4)


def linear_to_srgb(c: T) -> T:
    c = c.clip(0.0, 1.0)  # type: ignore[attr-defined]
    return _where(c <= 0.0031308, c * 12.92, 1.055 * c.clip(1e-8, None) ** (1 / 2.4) - 0.055)
