"""Image operations on [H, W, C] tensors that the painters share."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Area-average resize of [H, W, 3]."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    x = image.permute(2, 0, 1)[None]
    if height <= image.shape[0] and width <= image.shape[1]:
        y = F.interpolate(x, size=(height, width), mode="area")
    else:
        y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return y[0].permute(1, 2, 0).contiguous()


def blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Box blur of [H, W] twice (close to Gaussian), edge-padded; running sums, so the
    cost does not grow with the radius."""
    if radius < 1:
        return x
    y = x
    for _ in range(2):
        for dim in (0, 1):
            n = y.shape[dim]
            idx = torch.arange(n, device=y.device)
            padded = torch.cat([y.narrow(dim, 0, 1).expand(*[radius if d == dim else -1 for d in range(2)]), y,
                                y.narrow(dim, n - 1, 1).expand(*[radius if d == dim else -1 for d in range(2)])], dim)
            c = torch.cumsum(padded.double(), dim)
            c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim)
            y = ((c.index_select(dim, idx + 2 * radius + 1) - c.index_select(dim, idx)) / (2 * radius + 1)).float()
    return y
