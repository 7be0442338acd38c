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
last), columns along it (u from 0 at the start to 1 at the end).
"""

from __future__ import annotations

import functools

import numpy as np

TEXTURE_ROWS = 32
TEXTURE_COLS = 128

#: Share of the texture in an oil stroke's colour (Grease Pencil's "mix" of a textured
#: stroke is 1 - m). Large enough for visible bristle shading, small enough that the
#: vertex colour can still reach saturated colours.
OIL_MIX = 0.35

#: Brightness levels (linear light) of the oil textures: sRGB 1/16, 3/16, ... 15/16.
OIL_LEVELS = 8


#: A watercolour wash's opacity in its middle, relative to its rim: pigment gathers
#: where the water's edge dries last.
WASH_MIDDLE = 0.55


def wash_profile(x):
    """Opacity across a wash at distance ``x`` from its centre line, in radii (numpy
    arrays or torch tensors): WASH_MIDDLE up to 0.35, rising smoothly to 1 at 0.85."""
    f = (x - 0.35) / 0.5
    f = f.clip(0.0, 1.0) if hasattr(f, "clip") else min(max(f, 0.0), 1.0)
    return WASH_MIDDLE + (1 - WASH_MIDDLE) * f * f * (3 - 2 * f)


def level_brightness() -> np.ndarray:
    """Linear-light brightness b_k of each oil texture level."""
    s = (np.arange(OIL_LEVELS) + 0.5) / OIL_LEVELS
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def oil_level(rgb_linear: np.ndarray) -> np.ndarray:
    """Texture level of strokes whose mean linear colour is ``rgb_linear`` [..., 3]: the
    brightest level no brighter than the stroke's luminance, nor than what its darkest
    channel can take without the grey washing the colour out ((1 - m) / m times it:
    the grey then adds at most as much as the channel itself). Greys get the full
    shading, saturated colours a fainter one."""
    c = np.asarray(rgb_linear, np.float64)
    limit = np.minimum(c @ np.array([0.2126, 0.7152, 0.0722]), c.min(axis=-1) * (1 - OIL_MIX) / OIL_MIX)
    return np.clip(np.searchsorted(level_brightness(), limit, side="right") - 1, 0, OIL_LEVELS - 1).astype(np.int64)


def stroke_levels(rgb_srgb: np.ndarray) -> np.ndarray:
    """Texture level of each stroke from its points' sRGB colours [N, K, 3]: the level of
    the mean of its points' colours in linear light (what the renderers use)."""
    c = np.clip(np.asarray(rgb_srgb, np.float64), 0.0, 1.0)
    return oil_level(_to_linear(c).mean(axis=1)) if c.size else np.zeros(c.shape[0], np.int64)


def smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """Noise along one axis, linear between ``knots`` random values (zero mean, unit std)."""
    k = rng.normal(0.0, 1.0, knots)
    xs = np.linspace(0, knots - 1.0001, n)
    i = xs.astype(int)
    f = xs - i
    return k[i] * (1 - f) + k[i + 1] * f


@functools.lru_cache(maxsize=8)
def oil_pattern(seed: int = 0, rows: int = TEXTURE_ROWS, cols: int = TEXTURE_COLS) -> tuple[np.ndarray, np.ndarray]:
    """(S, D): shading S (about 1) and dry-brush stencil D (1 where paint covers, falling
    to 0 where the bristles run dry), both float32 [rows, cols].

    S is the light on a relief of paint: each bristle drags a ridge along the stroke,
    lit from one side across it, so every ridge has a light and a dark flank (and the
    grooves between ridges hold less paint). The loaded start is smooth; towards the
    end the ridges stand out more, then the bristles run dry one by one, in broken
    streaks."""
    rng = np.random.default_rng(seed)
    u = (np.arange(cols) + 0.5) / cols
    v = (np.arange(rows) + 0.5) / rows * 2 - 1
    # Height of the paint across the stroke: ridges a few rows apart (two octaves).
    ridge = rng.normal(0.0, 1.0, rows) + 0.6 * np.repeat(rng.normal(0.0, 1.0, rows // 4 + 1), 4)[:rows]
    ridge = np.convolve(np.pad(ridge, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    ridge /= ridge.std() + 1e-9
    # How much paint each bristle carries varies slowly along the stroke.
    load = 1.0 + 0.35 * np.stack([smooth_noise(rng, cols, 7) for _ in range(rows)])
    height = ridge[:, None] * load
    # Lit across the stroke: the slope of the relief makes light and dark flanks.
    slope = np.gradient(height, axis=0)
    relief = np.clip((u - 0.03) / 0.15, 0.0, 1.0) * (0.75 + 0.5 * u)  # smooth where the brush is loaded
    s = 1.0 + relief[None, :] * (0.45 * slope + 0.15 * height)
    # Dry brush: each bristle runs out at its own place; the paint breaks up first.
    dry_at = rng.uniform(0.78, 0.97, rows)
    dry_at[rng.random(rows) < 0.15] -= 0.1  # a few give out early
    grain = np.stack([smooth_noise(rng, cols, 40) for _ in range(rows)])
    d = np.clip((dry_at[:, None] - u[None, :]) / 0.12 + 0.5 + 0.35 * grain, 0.0, 1.0)
    # Ragged sides: the outermost bristles touch the canvas only here and there.
    side = np.clip((np.abs(v) - 0.8) / 0.2, 0.0, 1.0)[:, None]
    d *= 1.0 - side * np.clip(0.6 - 0.5 * grain, 0.0, 1.0)
    s = np.clip(s / s[:, cols // 5:].mean(), 0.0, None)
    return s.astype(np.float32), d.astype(np.float32)


def _to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def _to_linear(s: np.ndarray) -> np.ndarray:
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


@functools.lru_cache(maxsize=4)
def oil_images(seed: int = 0) -> np.ndarray:
    """The oil textures as 8-bit images [OIL_LEVELS, rows, cols + 2, 4]: sRGB grey
    b_k S in RGB, the dry stencil D in alpha, the first and last columns repeated once.
    This is what Blender's materials carry; the engine samples exactly these values
    (:func:`oil_textures`). Along the stroke a Grease Pencil stroke's own u mapping
    (u_scale, u_translation) can skip the repeated columns, so a sampler that wraps
    still reads clamped values; across it v always spans the whole image, so the rows
    are not padded (which would squeeze the streaks)."""
    s, d = oil_pattern(seed)
    b = level_brightness()
    grey = _to_srgb(b[:, None, None] * s[None])
    out = np.empty((OIL_LEVELS,) + s.shape + (4,), np.float64)
    out[..., :3] = grey[..., None]
    out[..., 3] = d[None]
    out = np.pad(out, ((0, 0), (0, 0), (1, 1), (0, 0)), mode="edge")
    img = np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=4)
def oil_textures(seed: int = 0) -> np.ndarray:
    """What a stroke samples: [OIL_LEVELS, 2, rows, cols] float32 with the linear grey
    T_k and the stencil D, decoded from :func:`oil_images` (edge padding dropped)."""
    img = oil_images(seed)[:, :, 1:-1].astype(np.float64) / 255.0
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


def mips_of(tex: np.ndarray) -> list[np.ndarray]:
    """The mip levels of ``tex`` (its last two axes, a power of two each) at their own
    sizes, full size first, in float64: box averages, as a GPU builds them. Any texture
    a stroke carries (oil's, an artist's brush) is filtered this one way."""
    chain = [np.asarray(tex, np.float64)]
    while chain[-1].shape[-2] > 1:
        chain.append(_downsample(chain[-1]))
    return chain


def stack_mips(chain: list[np.ndarray], axis: int) -> np.ndarray:
    """Mip levels (:func:`mips_of`) resampled back to full size and stacked on ``axis``,
    float32, read-only: what the renderers sample trilinearly."""
    rows, cols = chain[0].shape[-2:]
    out = np.stack([_upsample(m, rows, cols) for m in chain], axis=axis).astype(np.float32)
    out.setflags(write=False)
    return out


def mip_chain(seed: int = 0) -> list[np.ndarray]:
    """The mip levels of :func:`oil_textures` at their own sizes: [OIL_LEVELS, 2, r, c]
    with r x c = 32 x 128, 16 x 64, ..., 1 x 4 (box averages, as a GPU builds them)."""
    return mips_of(oil_textures(seed))


@functools.lru_cache(maxsize=4)
def oil_mipmaps(seed: int = 0) -> np.ndarray:
    """Box-filtered mip levels of :func:`oil_textures`, each resampled back to full size
    so they stack: [OIL_LEVELS, MIPS, 2, rows, cols]. Level l averages 2^l texels each
    way, as a GPU's mipmap does, so a stroke a few pixels wide shows its texture's mean
    rather than aliased streaks."""
    return stack_mips(mip_chain(seed), axis=1)


def mip_level(across_px: np.ndarray, along_px: np.ndarray) -> np.ndarray:
    """Fractional mip level for a stroke ``across_px`` wide and ``along_px`` long on
    screen: texels per pixel on the more minified axis (a GPU's isotropic choice)."""
    ratio = np.maximum(TEXTURE_ROWS / np.maximum(across_px, 1e-6), TEXTURE_COLS / np.maximum(along_px, 1e-6))
    mips = int(np.log2(TEXTURE_ROWS)) + 1
    return np.clip(np.log2(np.maximum(ratio, 1.0)), 0.0, mips - 1.0)
