"""Image quality metrics for the benchmarks, in plain numpy (no scikit-image dependency).

PSNR and SSIM of float images in [0, 1] (data range 1):

* ``psnr(a, b)`` = 10 log10(1 / MSE), MSE over every pixel and channel.
* ``ssim(a, b)`` is Wang et al. (2004): 11 x 11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, population (not sample) covariances. For H x W x C images it is
  computed per channel and averaged over the channels (for RGB: the mean over R, G, B,
  not luminance). The SSIM map is only evaluated where the whole window fits inside the
  image (a 5 px border is left out), which is what
  ``skimage.metrics.structural_similarity(a, b, data_range=1, channel_axis=-1,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` averages too, so
  the two agree to float rounding (checked by ``python benchmarks/_metrics.py``, which
  needs scikit-image; nothing else here does).
"""

from __future__ import annotations

import math

import numpy as np

SIGMA = 1.5
WIN = 11  # 2 * int(3.5 * SIGMA + 0.5) + 1: scipy's / skimage's truncation at 3.5 sigma
K1, K2 = 0.01, 0.03


def _as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"expected H x W or H x W x C images, got shape {a.shape}")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    a, b = _check_pair(a, b)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def gaussian_kernel(sigma: float = SIGMA, size: int = WIN) -> np.ndarray:
    r = (size - 1) // 2
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _filter_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation of [H, W, ...] with ``k`` (x) ``k``, 'valid' part only."""
    n = k.shape[0]
    h, w = x.shape[:2]
    rows = np.zeros((h - n + 1,) + x.shape[1:], np.float64)
    for i in range(n):
        rows += k[i] * x[i:i + h - n + 1]
    out = np.zeros((h - n + 1, w - n + 1) + x.shape[2:], np.float64)
    for j in range(n):
        out += k[j] * rows[:, j:j + w - n + 1]
    return out


def texture_level(img: np.ndarray) -> float:
    """Brush texture, roughly: the standard deviation of luminance minus its 2-pixel
    Gaussian blur (the issue's measure: 0.025 on the paper's 500-stroke oil painting of
    a photo at 768 px). Valid part only, so the image's border adds nothing."""
    lum = _as_float(img)[..., :3] @ np.array([0.2126, 0.7152, 0.0722])
    k = gaussian_kernel(2.0, 17)
    return float((lum[8:-8, 8:-8] - _filter_valid(lum, k)).std())


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, sigma: float = SIGMA,
             win: int = WIN) -> np.ndarray:
    """SSIM map over the window positions that fit inside the image: [H-10, W-10(, C)]."""
    a, b = _check_pair(a, b)
    if min(a.shape[:2]) < win:
        raise ValueError(f"images must be at least {win} x {win} px for SSIM, got {a.shape[:2]}")
    k = gaussian_kernel(sigma, win)
    mu_a, mu_b = _filter_valid(a, k), _filter_valid(b, k)
    var_a = _filter_valid(a * a, k) - mu_a * mu_a
    var_b = _filter_valid(b * b, k) - mu_b * mu_b
    cov = _filter_valid(a * b, k) - mu_a * mu_b
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return num / den


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM; for H x W x C images the mean of the per-channel SSIMs (= mean of the map)."""
    return float(ssim_map(a, b, data_range).mean())


def _box_blur(x: np.ndarray, r: int) -> np.ndarray:
    p = np.pad(_as_float(x), ((r, r), (r, r), (0, 0)), mode="edge")
    return _filter_valid(p, np.full(2 * r + 1, 1.0 / (2 * r + 1)))


def _compare_with_skimage() -> int:
    """Manual check against scikit-image (not a dependency of the project)."""
    import sys
    from pathlib import Path

    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from core.io.image_io import load_image, resize_long_side

    rng = np.random.default_rng(0)
    samples = Path(__file__).resolve().parents[1] / "samples"
    worst_ssim = worst_psnr = 0.0
    for name in ("astronaut.png", "coffee.jpg", "chelsea.jpg"):
        img = load_image(samples / name)
        for size in (128, 512):
            ref = resize_long_side(img, size) if size != max(img.shape[:2]) else img
            cases = {
                "noise": np.clip(ref + rng.normal(0, 0.08, ref.shape), 0, 1).astype(np.float32),
                "blur": _box_blur(ref, 2).astype(np.float32),
                "dark": np.clip(ref * 0.7 + 0.05, 0, 1).astype(np.float32),
                "shift": np.roll(ref, 3, axis=1),
            }
            for case, other in cases.items():
                ours = ssim(ref, other)
                theirs = structural_similarity(ref, other, data_range=1.0, channel_axis=-1,
                                               gaussian_weights=True, sigma=1.5,
                                               use_sample_covariance=False)
                ours_l = ssim(ref.mean(-1), other.mean(-1))
                theirs_l = structural_similarity(ref.mean(-1), other.mean(-1), data_range=1.0,
                                                 gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False)
                p_ours, p_theirs = psnr(ref, other), peak_signal_noise_ratio(ref, other, data_range=1.0)
                worst_ssim = max(worst_ssim, abs(ours - theirs), abs(ours_l - theirs_l))
                worst_psnr = max(worst_psnr, abs(p_ours - p_theirs))
                print(f"{name:14s} {size:4d} {case:6s} SSIM ours {ours:.6f} skimage {theirs:.6f} "
                      f"(grey {ours_l:.6f} / {theirs_l:.6f})  PSNR ours {p_ours:.4f} skimage {p_theirs:.4f}")
    print(f"largest |difference|: SSIM {worst_ssim:.2e}, PSNR {worst_psnr:.2e} dB")
    return 0 if worst_ssim < 1e-4 and worst_psnr < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(_compare_with_skimage())
