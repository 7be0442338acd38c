"""Procedural oil-paint texture: bristle streaks that shade the colour, and a dry tail.

Generated from a seed rather than shipped as an image, so there is no third-party
brush art in the repository and every renderer (optimiser, reference, SVG, Blender)
builds exactly the same texture.

The look is the one Grease Pencil can draw with one textured stroke, so the engine's
painting and Blender's agree: a textured Grease Pencil material mixes the texture's
colour T into the stroke's vertex colour V by a fixed factor m, and the texture's alpha
D is a stencil (see ``draw/engines/gpencil``: ``out = m T + (1 - m) V``, alpha ``D``).
Grease Pencil cannot *multiply* a texture into the vertex colour, which is how a loaded
brush darkens and lightens its own paint; so the shading pattern S (mean 1: grooves
below, ridges above) is baked into ``OIL_LEVELS`` textures of different brightness,
T_k = b_k S, and each stroke uses the brightest one no brighter than its darkest
channel. The mix then shades a grey V by about ``m (S - 1)`` of its own value, which is
what a multiplicative brush texture does, never lifts a dark stroke to grey, and shades
saturated colours more faintly rather than washing them out.

Layout of every array: rows run across the stroke (v from -1 at row 0 to +1 at the
last), columns along it (u from 0 at the start to 1 at the end). The images Blender
and the SVG use repeat their edge texels once on every side, so a sampler that wraps
still reads the edge values (clamp to edge), as the engine does.
"""

from __future__ import annotations

import functools

import numpy as np

TEXTURE_ROWS = 32
TEXTURE_COLS = 128

#: Share of the texture in an oil stroke's colour (Grease Pencil's "mix" of a textured
#: stroke is 1 - m). Large enough for visible bristle shading, small enough that the
#: vertex colour can still reach saturated colours.
OIL_MIX = 0.3

#: Brightness levels (linear light) of the oil textures: sRGB 1/16, 3/16, ... 15/16.
OIL_LEVELS = 8


def level_brightness() -> np.ndarray:
    """Linear-light brightness b_k of each oil texture level."""
    s = (np.arange(OIL_LEVELS) + 0.5) / OIL_LEVELS
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def oil_level(rgb_linear: np.ndarray) -> np.ndarray:
    """Texture level of strokes whose mean linear colour is ``rgb_linear`` [..., 3]: the
    brightest level no brighter than the stroke's darkest channel (nor its luminance).
    Mixing in a grey brighter than a channel would wash the colour out; so greys get
    the full shading, saturated colours a fainter one."""
    c = np.asarray(rgb_linear, np.float64)
    limit = np.minimum(c @ np.array([0.2126, 0.7152, 0.0722]), c.min(axis=-1))
    return np.clip(np.searchsorted(level_brightness(), limit, side="right") - 1, 0, OIL_LEVELS - 1).astype(np.int64)


def stroke_levels(rgb_srgb: np.ndarray) -> np.ndarray:
    """Texture level of each stroke from its points' sRGB colours [N, K, 3]: the level of
    the mean of its points' colours in linear light (what the renderers use)."""
    c = np.clip(np.asarray(rgb_srgb, np.float64), 0.0, 1.0)
    return oil_level(_to_linear(c).mean(axis=1)) if c.size else np.zeros(c.shape[0], np.int64)


def _smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """Noise along one axis, linear between ``knots`` random values (zero mean, unit std)."""
    k = rng.normal(0.0, 1.0, knots)
    xs = np.linspace(0, knots - 1.0001, n)
    i = xs.astype(int)
    f = xs - i
    return k[i] * (1 - f) + k[i + 1] * f


@functools.lru_cache(maxsize=8)
def oil_pattern(seed: int = 0, rows: int = TEXTURE_ROWS, cols: int = TEXTURE_COLS) -> tuple[np.ndarray, np.ndarray]:
    """(S, D): shading S (about 1; bristle grooves darker, ridges lighter) and dry-brush
    stencil D (1 where paint covers, falling to 0 where the bristles run dry), both
    float32 [rows, cols]."""
    rng = np.random.default_rng(seed)
    u = (np.arange(cols) + 0.5) / cols
    v = (np.arange(rows) + 0.5) / rows * 2 - 1
    # Each bristle leaves its own ridge or groove, neighbours alike: streaks along u.
    bristle = rng.normal(0.0, 1.0, rows)
    bristle = np.convolve(np.pad(bristle, 1, mode="wrap"), [0.3, 0.4, 0.3], mode="valid")
    bristle /= bristle.std() + 1e-9
    # The paint a bristle carries varies slowly along the stroke.
    along = np.stack([_smooth_noise(rng, cols, 9) for _ in range(rows)])
    # Loaded start (smooth), scratchier towards the tail.
    amount = np.clip((u - 0.04) / 0.12, 0.0, 1.0) * (0.8 + 0.5 * u)
    shade = 0.22 * bristle[:, None] + 0.08 * along
    # The paint piles up a little along both edges of the stroke.
    edge = 0.12 * np.clip((np.abs(v) - 0.7) / 0.3, 0.0, 1.0)[:, None]
    s = 1.0 + amount[None, :] * shade + edge
    # Dry tail: every bristle runs out of paint at its own place near the end.
    dry_at = rng.uniform(0.80, 0.98, rows)
    dry_at[rng.random(rows) < 0.2] -= 0.12  # a few bristles give out early
    d = np.clip((dry_at[:, None] - u[None, :]) / 0.07 + 0.5, 0.0, 1.0)
    d *= 1.0 - 0.35 * np.clip((u[None, :] - dry_at[:, None] + 0.15) / 0.15, 0.0, 1.0) * (along < -0.5)
    s = np.clip(s / s[:, cols // 5:].mean(), 0.0, None)
    return s.astype(np.float32), np.clip(d, 0.0, 1.0).astype(np.float32)


def _to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def _to_linear(s: np.ndarray) -> np.ndarray:
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


@functools.lru_cache(maxsize=4)
def oil_images(seed: int = 0) -> np.ndarray:
    """The oil textures as 8-bit images [OIL_LEVELS, rows + 2, cols + 2, 4]: sRGB grey
    b_k S in RGB, the dry stencil D in alpha, edge texels repeated once all round.
    This is what Blender's materials and the SVG carry; the engine samples exactly
    these values (:func:`oil_textures`)."""
    s, d = oil_pattern(seed)
    b = level_brightness()
    grey = _to_srgb(b[:, None, None] * s[None])
    out = np.empty((OIL_LEVELS,) + s.shape + (4,), np.float64)
    out[..., :3] = grey[..., None]
    out[..., 3] = d[None]
    out = np.pad(out, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    img = np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=4)
def oil_textures(seed: int = 0) -> np.ndarray:
    """What a stroke samples: [OIL_LEVELS, 2, rows, cols] float32 with the linear grey
    T_k and the stencil D, decoded from :func:`oil_images` (edge padding dropped)."""
    img = oil_images(seed)[:, 1:-1, 1:-1].astype(np.float64) / 255.0
    out = np.stack([_to_linear(img[..., 0]), img[..., 3]], axis=1).astype(np.float32)
    out.setflags(write=False)
    return out


def _downsample(tex: np.ndarray) -> np.ndarray:
    """Halve the last two axes by 2 x 2 averages (a mipmap level)."""
    h, w = tex.shape[-2:]
    return tex.reshape(tex.shape[:-2] + (h // 2, 2, w // 2, 2)).mean(axis=(-3, -1))


def _upsample(tex: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Bilinear, clamp-to-edge resample of the last two axes to rows x cols (texel
    centres on both grids): what bilinear sampling of the small level gives there."""
    for axis, n in ((-2, rows), (-1, cols)):
        m = tex.shape[axis]
        x = np.clip((np.arange(n) + 0.5) * m / n - 0.5, 0, m - 1)
        i0 = np.minimum(x.astype(int), max(m - 2, 0))
        f = (x - i0).reshape((-1, 1) if axis == -2 else (1, -1))
        a = np.take(tex, i0, axis=axis)
        b = np.take(tex, np.minimum(i0 + 1, m - 1), axis=axis)
        tex = a + f * (b - a)
    return tex


def mip_chain(seed: int = 0) -> list[np.ndarray]:
    """The mip levels of :func:`oil_textures` at their own sizes: [OIL_LEVELS, 2, r, c]
    with r x c = 32 x 128, 16 x 64, ..., 1 x 4 (box averages, as a GPU builds them)."""
    chain = [oil_textures(seed).astype(np.float64)]
    while chain[-1].shape[-2] > 1:
        chain.append(_downsample(chain[-1]))
    return chain


@functools.lru_cache(maxsize=4)
def oil_mipmaps(seed: int = 0) -> np.ndarray:
    """Box-filtered mip levels of :func:`oil_textures`, each resampled back to full size
    so they stack: [OIL_LEVELS, MIPS, 2, rows, cols]. Level l averages 2^l texels each
    way, as a GPU's mipmap does, so a stroke a few pixels wide shows its texture's mean
    rather than aliased streaks."""
    rows, cols = TEXTURE_ROWS, TEXTURE_COLS
    out = np.stack([_upsample(m, rows, cols) for m in mip_chain(seed)], axis=1).astype(np.float32)
    out.setflags(write=False)
    return out


def mip_level(across_px: np.ndarray, along_px: np.ndarray) -> np.ndarray:
    """Fractional mip level for a stroke ``across_px`` wide and ``along_px`` long on
    screen: texels per pixel on the more minified axis (a GPU's isotropic choice)."""
    ratio = np.maximum(TEXTURE_ROWS / np.maximum(across_px, 1e-6), TEXTURE_COLS / np.maximum(along_px, 1e-6))
    mips = int(np.log2(TEXTURE_ROWS)) + 1
    return np.clip(np.log2(np.maximum(ratio, 1.0)), 0.0, mips - 1.0)
