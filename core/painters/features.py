"""Image feature extractors for the style loss: VGG-16 (as in the paper) or an offline bank.

Zou et al. measure style with Gram matrices of VGG-16 activations. Those weights are a
528 MB download that a painter must not require, so :class:`OfflineFeatures` offers a
default that needs nothing: fixed random filters on an image pyramid. Random
convolutional features are known to carry much of a texture's statistics (Ustyuzhaninov
et al. 2017), which is what a style loss needs; VGG-16 remains the choice that matches
the paper.

VGG-16 is defined here in plain torch with torchvision's layer indices, so the standard
``vgg16-397923af.pth`` file loads without torchvision being installed.
"""

from __future__ import annotations

import os
import urllib.error
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import PainterError

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
VGG16_FILE = "vgg16-397923af.pth"
FEATURE_SETS = ("offline", "vgg16")

# torchvision's vgg16 "D" configuration up to conv4_3; "M" is a 2x2 max pool.
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
# Indices in ``features`` of relu1_2, relu2_2, relu3_3, relu4_3: the paper's style layers.
VGG16_TAPS = (3, 8, 15, 22)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """VGG-16's convolutional trunk up to relu4_3, returning the four style layers.

    Layers sit at torchvision's indices so its state-dict keys (``features.{i}.weight``)
    load as they are; later layers and the classifier are never needed for style.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in _VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Features of [B, 3, H, W] sRGB images in [0, 1]."""
        x = (images - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG16_TAPS:
                out.append(x)
        return out


def vgg16_cache_path() -> Path:
    """Where torchvision would keep the file, so an existing download is reused."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def _download(dest: Path, progress: bool) -> None:
    """Fetch the weights via a temporary name, so an interrupted download leaves no file."""
    tmp = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # The file name's hash prefix lets torch reject a truncated or altered download.
        torch.hub.download_url_to_file(VGG16_URL, str(tmp), hash_prefix=VGG16_FILE.split("-")[1][:8],
                                       progress=progress)
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, RuntimeError, ValueError) as exc:
        text = str(getattr(exc, "reason", None) or exc).strip()
        reason = text.splitlines()[0][:120] if text else type(exc).__name__
        raise PainterError(f"could not download VGG-16 weights from {VGG16_URL} ({reason}): connect to "
                           f"the internet, put the file at {dest}, or use the offline style features (--style-features offline)") from None
    finally:
        tmp.unlink(missing_ok=True)


def load_vgg16(path: str | os.PathLike | None = None, allow_download: bool = False,
               progress: bool = False) -> VGG16Features:
    """The ImageNet VGG-16 trunk; every way the weights can be unavailable is one clear line."""
    p = Path(path) if path is not None else vgg16_cache_path()
    if not p.is_file():
        if path is None and allow_download:
            _download(p, progress)
        else:
            raise PainterError(f"VGG-16 weights {p} are missing: download {VGG16_URL} to that path, "
                               "or use the offline style features (--style-features offline), which needs no download")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and EOF errors all mean the same to a user
        raise PainterError(f"VGG-16 weights {p} are corrupt or unreadable ({type(exc).__name__}): "
                           f"download {VGG16_URL} again, or use the offline style features (--style-features offline)") from None
    model = VGG16Features()
    expected = model.state_dict()
    problem = None
    if not isinstance(blob, Mapping):
        problem = f"it holds a {type(blob).__name__}, not a state dict"
    else:
        for key, ref in expected.items():
            got = blob.get(key)
            if not isinstance(got, torch.Tensor):
                problem = f"{key} is missing"
            elif tuple(got.shape) != tuple(ref.shape):
                problem = f"{key} has shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
            elif not torch.isfinite(got).all():
                problem = f"{key} holds NaN or infinite values"
            if problem:
                break
    if problem:
        raise PainterError(f"{p} is not VGG-16 ImageNet weights ({problem}): download {VGG16_URL} "
                           "again, or use the offline style features (--style-features offline)")
    # Only the trunk's keys: later features.* layers and classifier.* are not used.
    model.load_state_dict({k: blob[k].float() for k in expected})
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    return model


def _pad(x: torch.Tensor, p: int) -> torch.Tensor:
    # Replicated edges: zero padding would make a flat image's border look like an edge.
    return F.pad(x, (p, p, p, p), mode="replicate")


class OfflineFeatures(nn.Module):
    """Fixed random multi-scale filters: a style feature space that needs no download.

    Each pyramid level (full, 1/2, 1/4 size) goes through the same bank of zero-mean
    3/5/7 px filters and a second random layer, with ReLUs. Zero-mean filters ignore flat
    colour, so these maps describe texture (edges, stripes, grain at three scales) and
    leave colour to the loss's separate colour term. The filters come from ``seed`` alone,
    so a style loss is the same on every run and machine.
    """

    def __init__(self, seed: int = 0, channels: tuple[int, int, int] = (12, 12, 8),
                 levels: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        self.levels = levels
        self.kernels = (3, 5, 7)
        for k, n in zip(self.kernels, channels):
            w = torch.randn(n, 3, k, k, generator=g)
            w = w - w.mean(dim=(1, 2, 3), keepdim=True)
            w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            self.register_buffer(f"w{k}", w)
        width = sum(channels)
        w2 = torch.randn(width, width, 3, 3, generator=g) / (width * 9) ** 0.5
        self.register_buffer("w2", w2)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Features of [B, 3, H, W] sRGB images in [0, 1]: two maps per pyramid level."""
        out = []
        x = images
        for level in range(self.levels):
            if level:
                if min(x.shape[-2:]) < 2:
                    break
                x = F.avg_pool2d(x, 2)
            h1 = F.relu(torch.cat([F.conv2d(_pad(x, k // 2), getattr(self, f"w{k}")) for k in self.kernels], 1))
            h2 = F.relu(F.conv2d(_pad(h1, 1), self.w2))
            out += [h1, h2]
        return out


def get_features(name: str, path: str | os.PathLike | None = None,
                 allow_download: bool = False) -> nn.Module:
    """The feature extractor the user picked by name (the CLI's ``--style-features``)."""
    if name == "vgg16":
        return load_vgg16(path, allow_download=allow_download)
    if name == "offline":
        return OfflineFeatures().eval()
    raise PainterError(f"unknown style features {name!r}: use one of {', '.join(FEATURE_SETS)}")
