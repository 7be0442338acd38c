"""sRGB <-> linear light.

Grease Pencil stores vertex colours in linear light and blends strokes there, so the
engine does the same: colours are given and returned in sRGB, blended in linear.
Works on numpy arrays and torch tensors alike.

For tensors the power is taken with a tensor exponent: torch computes ``x ** 2.4`` with
a Python exponent in vector code over most of a tensor and in scalar code over the last
few elements of each thread's share, which round differently, so the same canvas came
out different in its last bit on 1 and 2 threads (and the same request painted two
paintings). With a tensor exponent every element takes the same path.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def _torch(x):
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else None


def _where(cond, a, b):
    torch = _torch(cond)
    return torch.where(cond, a, b) if torch is not None else np.where(cond, a, b)


def _pow(x, exponent: float):
    torch = _torch(x)
    if torch is not None:
        return torch.pow(x, torch.tensor(exponent, dtype=x.dtype, device=x.device))
    return x ** exponent


def srgb_to_linear(c: T) -> T:
    c = c.clip(0.0, 1.0)  # type: ignore[attr-defined]
    return _where(c <= 0.04045, c / 12.92, _pow(((c + 0.055) / 1.055).clip(1e-8, None), 2.4))


def linear_to_srgb(c: T) -> T:
    c = c.clip(0.0, 1.0)  # type: ignore[attr-defined]
    return _where(c <= 0.0031308, c * 12.92, 1.055 * _pow(c.clip(1e-8, None), 1 / 2.4) - 0.055)
