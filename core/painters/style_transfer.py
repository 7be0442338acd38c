"""Style loss: how far a canvas is from the *style* of another image, whatever its content.

Zou et al. (2021, Sec. 4.4) paint a photo "in the style of" an artwork by adding a
VGG-16 Gram-matrix loss to the pixel loss. Gram matrices and the sliced-Wasserstein
distance used for the offline features both compare feature *distributions* over the
whole image, never positions, so the content still comes from the photo. A colour term
(sliced Wasserstein on RGB values) pulls the palette towards the style image's, which
feature statistics alone do weakly; the paper's results carry the artwork's palette too.

Scaling: each term is made relative to the style image's own statistics and multiplied
by a fixed constant, so that with ``style_weight`` about 1 the loss between unrelated
images starts near 0.1-0.3, the same order as the painter's pixel L1 loss, and the
two can be weighed against each other without knowing the feature set.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import PainterError
from .features import get_features
from ..io.image_io import resize_long_side

# The normalised Gram distance lies in [0, 1]; unrelated images are ~0.2-0.8 per layer.
GRAM_SCALE = 0.3
# Sliced-Wasserstein feature error relative to the style's spread: ~0.5-2 for unrelated textures.
SLICED_SCALE = 0.15
# Offline features of a flat image are exactly 0; this floor on the style's feature spread
# keeps a plain-colour style image from turning any texture into a huge loss.
SPREAD_FLOOR = 0.02
FEATURE_PROJECTIONS = 32
COLOUR_PROJECTIONS = 16


def _nchw(images: torch.Tensor) -> torch.Tensor:
    if images.dim() == 3:
        images = images[None]
    if images.dim() != 4 or images.shape[-1] != 3:
        raise PainterError(f"the style loss takes [H, W, 3] or [B, H, W, 3] images, got shape "
                           f"{tuple(images.shape)}")
    return images.permute(0, 3, 1, 2)


def _to_working_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bring the long side to ``size`` so canvas and style texture are compared at one
    scale, and so the loss costs the same on a 4000 px canvas as on a 256 px one."""
    h, w = x.shape[-2:]
    scale = size / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    if (th, tw) == (h, w):
        return x
    if scale < 1:
        return F.interpolate(x, size=(th, tw), mode="area")
    return F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False)


def _unit_directions(dim: int, count: int, generator: torch.Generator) -> torch.Tensor:
    d = torch.randn(dim, count, generator=generator)
    return d / d.norm(dim=0, keepdim=True)


def _sorted_projections(x: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, P, H*W]: each pixel's feature vector on P lines, sorted."""
    return torch.einsum("bcn,cp->bpn", x.flatten(2), directions).sort(dim=-1).values


def _quantiles(sorted_values: torch.Tensor, n: int) -> torch.Tensor:
    """Resample [P, M] sorted values to n quantiles, so images of any pixel count compare."""
    m = sorted_values.shape[-1]
    if m == n:
        return sorted_values
    pos = ((torch.arange(n, dtype=sorted_values.dtype, device=sorted_values.device) + 0.5) * m / n
           - 0.5).clamp(0, m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    frac = pos - lo
    return sorted_values[..., lo] * (1 - frac) + sorted_values[..., hi] * frac


def _gram(x: torch.Tensor) -> torch.Tensor:
    """Channel correlations normalised by C*H*W, so they do not grow with image size."""
    b, c, h, w = x.shape
    f = x.flatten(2)
    return f @ f.transpose(1, 2) / (c * h * w)


def _gram_distance(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """|G - A|^2 / (|G|^2 + |A|^2), in [0, 1] as Gram matrices of ReLU maps are non-negative.

    Dividing by the style's |A|^2 alone lets a canvas with stronger texture than a quiet
    style image reach hundreds and swamp the pixel loss; the symmetric form is bounded,
    still 0 only at G = A, and independent of each layer's activation scale.
    """
    num = (g - a).square().sum(dim=(-2, -1))
    return num / (g.square().sum(dim=(-2, -1)) + a.square().sum() + 1e-12)


class StyleLoss(nn.Module):
    """A style image's statistics, computed once, and the distance of a canvas to them.

    ``loss(canvas)`` takes [H, W, 3] or [B, H, W, 3] sRGB in [0, 1] (batches are averaged)
    and is differentiable; :meth:`components` gives the feature and colour terms apart.
    """

    def __init__(self, style: torch.Tensor, extractor: nn.Module, method: str, size: int,
                 seed: int = 0) -> None:
        super().__init__()
        if method not in ("gram", "sliced"):
            raise PainterError(f"unknown style loss method {method!r}: use gram or sliced")
        self.extractor = extractor
        self.method = method
        self.size = size
        g = torch.Generator().manual_seed(seed)
        x = _nchw(style)
        self.register_buffer("colour_dirs", _unit_directions(3, COLOUR_PROJECTIONS, g))
        with torch.no_grad():
            self.register_buffer("colour_target", _sorted_projections(x, self.colour_dirs)[0])
            feats = extractor(x)
        for i, f in enumerate(feats):
            if method == "gram":
                a = _gram(f)[0]
                self.register_buffer(f"target{i}", a)
            else:
                dirs = _unit_directions(f.shape[1], FEATURE_PROJECTIONS, g)
                t = _sorted_projections(f, dirs)[0]
                self.register_buffer(f"dirs{i}", dirs)
                self.register_buffer(f"target{i}", t)
                self.register_buffer(f"norm{i}", t.std(dim=-1).mean().clamp_min(SPREAD_FLOOR))

    def _sliced(self, x: torch.Tensor, dirs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        s = _sorted_projections(x, dirs)
        return (s - _quantiles(target, s.shape[-1])).abs().mean()

    def components(self, canvas: torch.Tensor) -> dict[str, torch.Tensor]:
        """The feature (texture) and colour (palette) terms, for logging and tests."""
        x = _to_working_size(_nchw(canvas), self.size)
        feats = self.extractor(x)
        terms = []
        for i, f in enumerate(feats):
            target = getattr(self, f"target{i}")
            if self.method == "gram":
                terms.append(_gram_distance(_gram(f), target).mean())
            else:
                terms.append(self._sliced(f, getattr(self, f"dirs{i}"), target) / getattr(self, f"norm{i}"))
        scale = GRAM_SCALE if self.method == "gram" else SLICED_SCALE
        return {"features": scale * torch.stack(terms).mean(),
                "colour": self._sliced(x, self.colour_dirs, self.colour_target)}

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        c = self.components(canvas)
        return c["features"] + c["colour"]


def make_style_loss(style_image: np.ndarray, features: str = "offline",
                    weights_path: str | os.PathLike | None = None, allow_download: bool = False,
                    size: int = 256) -> StyleLoss:
    """Build the loss once per style image; the canvas is compared at the same ``size``."""
    arr = np.asarray(style_image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise PainterError(f"the style image must be an HxWx3 RGB array, got shape {arr.shape}; "
                           "load it with core.image_io.load_image")
    if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all():
        raise PainterError(f"the style image must be float sRGB in [0, 1] without NaN (got {arr.dtype}); "
                           "load it with core.image_io.load_image")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise PainterError(f"the style size must be a whole number of pixels >= 8, got {size!r}")
    extractor = get_features(features, weights_path, allow_download)
    arr = np.clip(resize_long_side(arr.astype(np.float32), int(size)), 0.0, 1.0)
    method = "gram" if features == "vgg16" else "sliced"
    return StyleLoss(torch.from_numpy(arr), extractor, method, int(size))
