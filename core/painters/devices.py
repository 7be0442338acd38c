"""Device choice: CUDA, then Apple MPS, then CPU, unless the user names one."""

from __future__ import annotations

import torch

from ..errors import PainterError

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name not in DEVICES:
        raise PainterError(f"unknown device {name!r}: use one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise PainterError("--device cuda was asked for but this torch sees no CUDA GPU; "
                           "use --device auto or cpu, or install a CUDA build of torch")
    if name == "mps" and not mps:
        raise PainterError("--device mps was asked for but Apple MPS is not available; "
                           "use --device auto or cpu")
    return torch.device(name)
