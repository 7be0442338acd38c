"""Exporters: SVG and an animated GIF/WebP of the painting appearing stroke by stroke.

Both draw from :func:`core.styles.to_geometry` and follow the appearance model of
:mod:`core.reference` (the PNG export is that renderer's output).

SVG
---
Coordinates are pixels at ``long_side`` (pixel (i, j) covers [j, j+1] x [i, i+1], the
same convention as the reference renderer), rounded to 2 decimals. The file holds a
background rect, then one ``<g opacity="A'">`` per stroke in painting order. Inside a
group every shape is opaque, so a stroke that overlaps itself does not double its
alpha (the group's opacity is applied once to the flattened group). A' is the stroke's
alpha A, or for translucent and textured strokes the opacity fitted for sRGB
compositing (see "Linear light" below).

* Round strokes (marker, watercolour, oil): each segment is drawn as the model's exact
  tapered capsule - the trapezoid with ends perpendicular to the segment and
  half-widths r_k, r_{k+1}, closed by a semicircle behind p_k and one beyond p_{k+1}.
  A single-colour stroke is one ``<path>`` whose sub-paths all wind the same way, so
  the non-zero fill rule gives their union.
* Per-point colour: the stroke is cut into the pieces where the model's colour comes
  from one place: the half discs of the two caps (colours c_0 and c_{K-1}), the wedge
  on the outer side of every join (a pie slice of the disc (p_k, r_k), colour c_k:
  there t clamps to p_k), and every segment's trapezoid filled with its own
  ``linearGradient`` from c_k at p_k to c_{k+1} at p_{k+1} - the model's
  c_k + t (c_{k+1} - c_k), in linear light (see below) - cut at the bisectors of the
  joins, which is where the model hands over from one segment to the next (exactly so
  for equal radii). Pieces overlap their neighbours by half a pixel so anti-aliased
  seams stay opaque. Where a stroke overlaps itself otherwise (it folds back, or bends
  more tightly than its radius) the model takes the colour of the segment with the
  smallest signed distance while SVG paints the later segment on top.
* Flat caps (tape): the 2-point stroke is the polygon of the rotated rectangle (exact).
  Longer flat strokes are the round shape clipped by the two end half-planes.
* Oil texture: each texture level in use is embedded once as a base64 PNG (the grey
  shading T in RGB, the dry stencil D in alpha, padded by repeating its edge texels so
  clamp-to-edge holds at the anti-aliased border). Every oil stroke gets a ``mask``
  that places its level's image in the stroke's frame (u along, v across) with one
  affine matrix - the same mapping as the reference renderer - and the same image,
  clipped to the stroke and at opacity ``OIL_MIX``, laid over its colour: exactly the
  model's (1 - m) V + m T where the brush is loaded (D = 1); in the dry tail the
  viewer mixes by m D instead. A viewer samples images bilinearly without mipmaps, so
  each stroke places the mip level a GPU would pick for its size, and it mixes in
  sRGB, so the overlay's opacity is fitted to the model's linear-light mix.
* The artist's brush: the same, with the brush's stencil (white, the stencil in alpha,
  each mip level in use embedded once) as the mask and no overlay; a flat-capped
  stroke's image spans its points rather than its caps, as in the model.
* Soft edges (watercolour, softness 0.5): the model fades coverage linearly from 1 to 0
  over e = softness * radius, centred on the outline. The SVG blurs the stroke's group
  with ``feGaussianBlur``; sigma = sqrt(max(0, (0.31 e)^2 - 1/12)) px, where 0.31 e is
  the Gaussian that best fits (least squares) a linear ramp of width e, less what the
  viewer's one-pixel anti-aliasing already contributes. The fit itself is within 0.06
  coverage of the ramp (rms 0.014); because one sigma (from the stroke's mean radius)
  serves the whole stroke, strongly tapered strokes are too soft at the thin end and
  too hard at the thick end. Filters are shared between strokes with equal sigma
  (rounded to 0.1 px).
* Linear light: the model blends strokes, and interpolates colour between points, in
  linear light; SVG viewers composite in sRGB (``color-interpolation="linearRGB"``,
  which would do it, is ignored by browsers and resvg). Two things bring the SVG closer:

  - gradients get extra stops: the model's colour is sampled in linear light at offsets
    on a 0.01 grid, each stop as far along as keeps the viewer's sRGB interpolation
    between stops within 1/255 of it (two stops for close colours, typically 4-10 from
    one random colour to another). A ``<style>`` asks viewers that support it to
    interpolate in linearRGB, which is then exact.
  - translucent (A < 1) and textured strokes get the opacity A' with which the sRGB
    blend b + A' m (c - b) best matches (least squares over the stroke's pixels) the
    model's linear-light blend over what the reference render has beneath the stroke
    (see :func:`srgb_opacities`). Opaque untextured strokes keep A' = 1, so their
    insides are exact.

  What remains is in :func:`write_svg`. See tests/core/test_export.py for measured
  PSNR vs the PNG.

Animation
---------
``write_animation`` renders incrementally with :func:`core.reference.render` (each
frame adds the next batch of strokes onto the previous frame's canvas) and writes a
looping GIF or WebP. The GIF uses one palette for every frame (fitted to the final
painting, plus the exact background colour; no dithering), so unchanged pixels stay
identical between frames and Pillow stores them as transparent. The WebP is lossless
(libwebp stores each frame's changed rectangle), so its last frame is the final render
exactly, quantised to 8 bits.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ..model.colour import linear_to_srgb, srgb_to_linear
from ..errors import PainterError
from .reference import output_size, render, stroke_layers
from ..contracts.brushes import Brush
from ..model.brushes import stencil
from ..model.geometry import Geometry
from ..model.texture import OIL_MIX, TEXTURE_COLS, TEXTURE_ROWS, mip_chain, mip_level, mips_of, stroke_levels

#: Texels of padding (edge repeated) around the embedded oil textures: a stroke's mip
#: level has texels of at least a pixel, so this covers its anti-aliased edge.
_PAD_TEXELS = 4
#: sigma of the Gaussian that best fits a linear ramp of width e, as a fraction of e.
_RAMP_SIGMA = 0.31
#: Long side (px) at most of the render that stroke opacities are fitted on.
_FIT_LONG_SIDE = 1024
#: Gradients: most sRGB error of the stops' interpolation vs linear light, and the
#: grid of offsets (1 / _STOP_GRID) the stops sit on and the error is checked at.
_STOP_TOLERANCE = 1.0 / 255
#: A wash's rim in SVG: the inner part of the stroke (this fraction of the radius) at
#: this mask luminance, the rest at 1 (see svg_text); the best of a grid against the
#: PNG (grey 0.45-0.7 x radius 0.5-0.75) for random strokes.
_WASH_INNER = 0.6
_WASH_MASK = 0.45
_STOP_GRID = 1000


def _write_error(path, exc: OSError) -> PainterError:
    return PainterError(f"cannot write {path}: {exc.strerror or exc}; "
                        "choose a writable output location")


def _num(v: float) -> str:
    s = f"{v:.2f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _hex(rgb) -> str:
    r, g, b = (int(round(min(max(float(c), 0.0), 1.0) * 255)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


def _capsule(p: np.ndarray, q: np.ndarray, ra: float, rb: float) -> str:
    """Path of one tapered-capsule segment: trapezoid + two semicircular caps."""
    u = _unit(q - p)
    nrm = np.array([-u[1], u[0]])
    a, b = p + ra * nrm, q + rb * nrm
    c, d = q - rb * nrm, p - ra * nrm
    f = _num
    return (f"M{f(a[0])} {f(a[1])}L{f(b[0])} {f(b[1])}"
            f"A{f(rb)} {f(rb)} 0 0 0 {f(c[0])} {f(c[1])}"
            f"L{f(d[0])} {f(d[1])}"
            f"A{f(ra)} {f(ra)} 0 0 0 {f(a[0])} {f(a[1])}Z")


def _trapezoid(p: np.ndarray, q: np.ndarray, ra: float, rb: float,
               before: np.ndarray | None = None, after: np.ndarray | None = None,
               overlap: float = 0.0) -> str:
    """Path of a segment's trapezoid (ends perpendicular to it, half-widths ra, rb),
    cut at the bisectors of the joins with the neighbouring segments' directions
    ``before`` and ``after`` (where the model hands over to the neighbour); ends and
    cuts are moved ``overlap`` px outwards, into the neighbouring pieces."""
    u = _unit(q - p)
    nrm = np.array([-u[1], u[0]])
    ps, qs = p - overlap * u, q + overlap * u
    poly = [ps + ra * nrm, qs + rb * nrm, qs - rb * nrm, ps - ra * nrm]
    if before is not None:
        b = _unit(before + u)
        if float(np.hypot(*(before + u))) > 1e-6:
            poly = _half_plane_clip(p - overlap * b, b, poly)
    if after is not None:
        b = _unit(after + u)
        if float(np.hypot(*(after + u))) > 1e-6 and len(poly) >= 3:
            poly = _half_plane_clip(q + overlap * b, -b, poly)
    if len(poly) < 3:
        return ""
    return "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in poly) + "Z"


def _half_plane_clip(p: np.ndarray, n: np.ndarray, poly: list[np.ndarray]) -> list[np.ndarray]:
    """Part of ``poly`` where dot(x - p, n) >= 0 (Sutherland-Hodgman)."""
    out: list[np.ndarray] = []
    for i in range(len(poly)):
        a, b = poly[i], poly[(i + 1) % len(poly)]
        da, db = float((a - p) @ n), float((b - p) @ n)
        if da >= 0:
            out.append(a)
        if (da >= 0) != (db >= 0):
            out.append(a + (b - a) * (da / (da - db)))
    return out


def _sector(c: np.ndarray, r: float, ang0: float, delta: float) -> str:
    """Pie slice of the disc (c, r) from angle ``ang0`` turning by ``delta`` (radians,
    positive = towards +y)."""
    a = c + r * np.array([math.cos(ang0), math.sin(ang0)])
    b = c + r * np.array([math.cos(ang0 + delta), math.sin(ang0 + delta)])
    f = _num
    return (f"M{f(c[0])} {f(c[1])}L{f(a[0])} {f(a[1])}A{f(r)} {f(r)} 0 "
            f"{int(abs(delta) > math.pi)} {int(delta > 0)} {f(b[0])} {f(b[1])}Z")


def _gradient_stroke(s: int, pts: np.ndarray, rad: np.ndarray, rgb: np.ndarray,
                     colours: list[str], defs: list[str]) -> list[str]:
    """Shapes of a round stroke whose colour changes along it (see the module notes).

    Every part is slightly enlarged where it meets its neighbour (half a pixel) so the
    anti-aliased seams inside the stroke do not let the background through."""
    K = len(pts)
    tangents = [_unit(pts[k + 1] - pts[k]) for k in range(K - 1)]
    normals = [np.array([-u[1], u[0]]) for u in tangents]
    out: list[str] = []
    # Caps: the half disc behind p_0 and the one beyond p_{K-1}.
    for k, n in ((0, normals[0]), (K - 1, -normals[-1])):
        r = float(rad[k])
        if r > 0:
            ext = min(0.5 / r, 0.3)
            out.append(f'<path fill="{colours[k]}" d="'
                       + _sector(pts[k], r, math.atan2(n[1], n[0]) - ext, math.pi + 2 * ext) + '"/>')
    # Joins: the wedge on the outer side of each bend, where t clamps to p_k.
    for k in range(1, K - 1):
        r = float(rad[k])
        u0, u1 = tangents[k - 1], tangents[k]
        turn = math.atan2(u0[0] * u1[1] - u0[1] * u1[0], float(u0 @ u1))
        if r <= 0 or abs(turn) * r < 0.05:
            continue
        sign = 1.0 if turn > 0 else -1.0
        a = -sign * normals[k - 1]
        ext = min(0.5 / r, 0.3)
        out.append(f'<path fill="{colours[k]}" d="'
                   + _sector(pts[k], r, math.atan2(a[1], a[0]) - sign * ext, turn + sign * 2 * ext) + '"/>')
    # Segments: trapezoids with their gradients, cut at the bisectors of the joins.
    for k in range(K - 1):
        p, q = pts[k], pts[k + 1]
        shape = _trapezoid(p, q, rad[k], rad[k + 1], tangents[k - 1] if k else None,
                           tangents[k + 1] if k + 2 < K else None, overlap=0.5)
        if not shape:
            continue
        if colours[k] == colours[k + 1]:
            out.append(f'<path fill="{colours[k]}" d="{shape}"/>')
        else:
            defs.append(_gradient(f"g{s}_{k}", p, q, rgb[k], rgb[k + 1]))
            out.append(f'<path fill="url(#g{s}_{k})" d="{shape}"/>')
    return out


def _gradient(gid: str, p: np.ndarray, q: np.ndarray, c0, c1) -> str:
    """The model's colour along one segment, c0 (sRGB) at p to c1 at q, padded beyond
    (t clamps): interpolated in linear light, as stops spaced so that the viewer's sRGB
    interpolation between them is within ``_STOP_TOLERANCE`` of it."""
    f = _num
    stops = "".join(f'<stop offset="{t:g}" stop-color="{_hex(c)}"/>' for t, c in _linear_stops(c0, c1))
    return (f'<linearGradient id="{gid}" gradientUnits="userSpaceOnUse" x1="{f(p[0])}" '
            f'y1="{f(p[1])}" x2="{f(q[0])}" y2="{f(q[1])}">'
            f'{stops}</linearGradient>')


def _linear_stops(c0, c1) -> list[tuple[float, np.ndarray]]:
    """Offsets and sRGB colours of gradient stops whose piecewise-linear sRGB
    interpolation follows the linear-light one from c0 to c1 within ``_STOP_TOLERANCE``
    (checked at every 1 / ``_STOP_GRID``, the grid the offsets sit on): each stop as far
    from the previous one as the tolerance allows, so two for close colours and more,
    closer together towards a dark end, for distant ones."""
    t = np.linspace(0.0, 1.0, _STOP_GRID + 1)
    lin0 = srgb_to_linear(np.asarray(c0, np.float64))
    lin1 = srgb_to_linear(np.asarray(c1, np.float64))
    exact = linear_to_srgb(lin0 + t[:, None] * (lin1 - lin0))

    def fits(i: int, j: int) -> bool:  # the chord from grid point i to j
        w = (t[i:j + 1, None] - t[i]) / (t[j] - t[i])
        chord = exact[i] + w * (exact[j] - exact[i])
        return float(np.abs(chord - exact[i:j + 1]).max()) <= _STOP_TOLERANCE

    chosen = [0]
    while chosen[-1] < _STOP_GRID:
        i = chosen[-1]
        if fits(i, _STOP_GRID):
            chosen.append(_STOP_GRID)
            break
        lo, hi = i + 1, _STOP_GRID  # the farthest point that fits, by bisection
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(i, mid) else (lo, mid)
        chosen.append(lo)
    return [(i / _STOP_GRID, exact[i]) for i in chosen]


def _texture_png(level: int, lod: int) -> tuple[str, int, int]:
    """Mip ``lod`` of oil texture ``level`` as a base64 PNG: the grey shading in RGB (sRGB),
    the dry stencil in alpha, padded by repeating its edge texels so clamp-to-edge holds
    at the anti-aliased border. A viewer samples it bilinearly without mipmaps, so each
    stroke gets the mip level a GPU would pick for its size."""
    tex = mip_chain()[lod][level]  # [2, r, c]: linear grey, stencil
    return _padded_png(linear_to_srgb(tex[0]), tex[1])


def _brush_png(brush: Brush, lod: int) -> tuple[str, int, int]:
    """Mip ``lod`` of the brush's stencil as a base64 PNG (white, the stencil in alpha),
    padded as :func:`_texture_png` pads oil's."""
    tex = mips_of(stencil(brush))[lod]
    return _padded_png(np.ones_like(tex), tex)


def _padded_png(grey: np.ndarray, alpha: np.ndarray) -> tuple[str, int, int]:
    """An RGBA PNG of ``grey`` (sRGB) and ``alpha``, both [r, c] in 0..1, its edge texels
    repeated ``_PAD_TEXELS`` times: base64 text, width, height."""
    rgba = np.empty(grey.shape + (4,), np.float64)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = alpha
    padded = np.pad(np.clip(np.round(rgba * 255), 0, 255).astype(np.uint8),
                    ((_PAD_TEXELS, _PAD_TEXELS), (_PAD_TEXELS, _PAD_TEXELS), (0, 0)), mode="edge")
    buf = io.BytesIO()
    Image.fromarray(padded, "RGBA").save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii"), padded.shape[1], padded.shape[0]


def _shade_opacity(rgb: np.ndarray, level: int, lod: int) -> float:
    """Opacity of the grey shading laid over an oil stroke's colour (sRGB ``rgb`` at its
    two ends) for a viewer that mixes in sRGB: the m' for which (1 - m') V + m' T in
    sRGB comes closest (least squares over the texels, weighted by the stencil) to
    the model's (1 - m) V + m T in linear light."""
    tex = mip_chain()[lod][level]
    t_lin, dry = tex[0], tex[1]
    u = (np.arange(t_lin.shape[1]) + 0.5) / t_lin.shape[1]
    v_lin = srgb_to_linear(rgb[0])[:, None] * (1 - u) + srgb_to_linear(rgb[-1])[:, None] * u  # [3, c]
    target = linear_to_srgb((1 - OIL_MIX) * v_lin[:, None, :] + OIL_MIX * t_lin[None])
    v_s = linear_to_srgb(v_lin)[:, None, :]
    d = np.round(linear_to_srgb(t_lin) * 255)[None] / 255 - v_s
    w = dry[None]
    den = float((w * d * d).sum())
    return OIL_MIX if den < 1e-12 else float(np.clip((w * d * (target - v_s)).sum() / den, 0.0, 1.0))


def _soft_sigma(radius_px: float, softness: float) -> float:
    e = max(1.0, softness * radius_px)
    return math.sqrt(max(0.0, (_RAMP_SIGMA * e) ** 2 - 1.0 / 12.0))


def srgb_opacities(geometry: Geometry, width: int, height: int, background=(1, 1, 1)) -> np.ndarray:
    """Per stroke, the opacity for an sRGB-compositing viewer (see the module notes).

    A stroke's own alpha where it is 1 and the stroke is not textured (its inside is then
    exact either way). Otherwise the opacity A' whose sRGB blend b + A' m (c - b), with m
    the stroke's coverage (times texture), comes closest (least squares over the
    stroke's pixels and channels) to the model's linear-light blend over what the
    reference renderer has beneath the stroke at ``width`` x ``height`` px (at most
    ``_FIT_LONG_SIDE`` px on the long side: it is an average over the stroke)."""
    alpha = geometry.rgba[:, 0, 3].astype(np.float64) if len(geometry) else np.zeros(0)
    fitted = alpha.copy()
    fit = (alpha > 0) & ((alpha < 1) | bool(geometry.textured) | (geometry.brush is not None))
    if not fit.any():
        return fitted
    scale = min(1.0, _FIT_LONG_SIDE / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    planes = np.empty((3, h, w), np.float32)  # the reference canvas, in linear light
    planes[:] = srgb_to_linear(np.asarray(background, np.float64)).reshape(3, 1, 1)
    for s, (y0, y1, x0, x1, a, c) in stroke_layers(geometry, w, h):
        under = planes[:, y0:y1, x0:x1]
        if fit[s]:
            sel = a > 0
            x = a[sel]
            b_lin = under[:, sel]
            c_lin = np.stack([np.broadcast_to(ci, a.shape)[sel] for ci in c])
            b = linear_to_srgb(b_lin)
            target = linear_to_srgb(b_lin + x * (c_lin - b_lin)) - b
            d = (x / np.float32(alpha[s])) * (linear_to_srgb(c_lin) - b)
            den = float(np.vdot(d, d))
            if den > 1e-12:
                fitted[s] = min(max(float(np.vdot(d, target)) / den, 0.0), 1.0)
        for i in range(3):
            under[i] += a * (c[i] - under[i])
    return fitted


def svg_text(geometry: Geometry, width: int, height: int, background=(1, 1, 1)) -> str:
    """The SVG document for ``geometry`` rendered at ``width`` x ``height`` pixels."""
    long_px = float(max(width, height))
    defs: list[str] = []
    body: list[str] = []
    filters: dict[str, str] = {}
    tex_rows, tex_cols = TEXTURE_ROWS, TEXTURE_COLS
    opacity = srgb_opacities(geometry, width, height, background)
    levels = stroke_levels(geometry.rgba[..., :3]) if geometry.textured else np.zeros(0, np.int64)
    images: set[tuple[int, int]] = set()
    f = _num
    for s in range(len(geometry)):
        pts = geometry.points[s].astype(np.float64) * long_px
        rad = np.maximum(geometry.radius[s].astype(np.float64) * long_px, 0.0)
        rgb = geometry.rgba[s, :, :3].astype(np.float64)
        alpha = float(geometry.rgba[s, 0, 3])
        if not (alpha > 0) or not np.all(np.isfinite(pts)) or not np.all(np.isfinite(rad)):
            continue
        if len(pts) == 1:
            pts, rad, rgb = np.repeat(pts, 2, 0), np.repeat(rad, 2), np.repeat(rgb, 2, 0)
        K = len(pts)
        colours = [_hex(c) for c in rgb]
        one_colour = len(set(colours)) == 1
        attrs = [f'opacity="{f"{opacity[s]:.3f}".rstrip("0").rstrip(".")}"']
        # --- shapes
        if geometry.cap == "flat" and K == 2:
            shapes = [_trapezoid(pts[0], pts[1], rad[0], rad[1])]
        else:
            shapes = [_capsule(pts[k], pts[k + 1], rad[k], rad[k + 1]) for k in range(K - 1)]
            if geometry.cap == "flat":
                lo = pts.min(0) - rad.max() - 2
                hi = pts.max(0) + rad.max() + 2
                poly = [np.array([lo[0], lo[1]]), np.array([hi[0], lo[1]]),
                        np.array([hi[0], hi[1]]), np.array([lo[0], hi[1]])]
                poly = _half_plane_clip(pts[0], _unit(pts[1] - pts[0]), poly)
                poly = _half_plane_clip(pts[-1], -_unit(pts[-1] - pts[-2]), poly)
                if len(poly) < 3:
                    continue
                defs.append(f'<clipPath id="c{s}"><path d="M'
                            + "L".join(f"{f(x)} {f(y)}" for x, y in poly) + 'Z"/></clipPath>')
                attrs.append(f'clip-path="url(#c{s})"')
        # --- fills
        if one_colour:
            attrs.append(f'fill="{colours[0]}"')
            inner = [f'<path d="{"".join(shapes)}"/>']
        elif len(shapes) == 1:
            ends = (pts[0], pts[-1])
            if geometry.brush is not None and geometry.cap != "flat":  # a brush's colour runs tip to tip
                tip = _unit(pts[-1] - pts[0]) * rad[0]
                ends = (pts[0] - tip, pts[-1] + tip)
            defs.append(_gradient(f"g{s}", *ends, rgb[0], rgb[-1]))
            inner = [f'<path fill="url(#g{s})" d="{shapes[0]}"/>']
        elif geometry.cap == "flat":
            # Rare (no style has multi-point flat strokes): one gradient along the chord.
            defs.append(_gradient(f"g{s}", pts[0], pts[-1], rgb[0], rgb[-1]))
            inner = [f'<path fill="url(#g{s})" d="{"".join(shapes)}"/>']
        else:
            inner = _gradient_stroke(s, pts, rad, rgb, colours, defs)
        # --- soft edge, and a wash's pigment gathered at the rim
        if geometry.softness > 0:
            sigma = round(_soft_sigma(float(rad.mean()), float(geometry.softness)), 1)
            blur = ""
            if sigma > 0:
                key = f"{sigma:g}".replace(".", "_")
                if key not in filters:
                    filters[key] = (f'<filter id="b{key}" x="-50%" y="-50%" width="200%" height="200%">'
                                    f'<feGaussianBlur stdDeviation="{sigma:g}"/></filter>')
                blur = f' filter="url(#b{key})"'
                attrs.append(f'filter="url(#b{key})"')
            # The model's rim profile rises from WASH_MIDDLE (inside 0.35 radii) to 1 (from
            # 0.85): a mask that is the stroke, with its inner part lower, blurred like the
            # stroke so the step becomes a ramp.
            # (The mask is blurred, so every other point of the stroke draws it closely enough.)
            keep = sorted(set(range(0, K, 2)) | {K - 1})
            mp, mr = pts[keep], rad[keep]
            rim = "".join(_capsule(mp[k], mp[k + 1], mr[k], mr[k + 1]) for k in range(len(keep) - 1))
            middle = "".join(_capsule(mp[k], mp[k + 1], _WASH_INNER * mr[k], _WASH_INNER * mr[k + 1])
                             for k in range(len(keep) - 1))
            defs.append(f'<mask id="w{s}" mask-type="luminance"><g{blur}><path fill="#fff" d="{rim}"/>'
                        f'<path fill="{_hex([_WASH_MASK] * 3)}" d="{middle}"/></g></mask>')
            attrs.append(f'mask="url(#w{s})"')
        # --- texture, or the artist's brush
        if geometry.textured or geometry.brush is not None:
            p0, p1 = pts[0], pts[-1]
            n = _unit(p1 - p0)
            perp = np.array([-n[1], n[0]])
            r0 = max(float(rad[0]), 1e-6)
            ext = 0.0 if geometry.cap == "flat" else r0  # u spans tip to tip (see core.render.reference)
            length = float(np.hypot(*(p1 - p0)))
            lod = int(round(float(mip_level(np.array([2 * r0]), np.array([length + 2 * ext]))[0])))
            k = int(levels[s]) if geometry.textured else -1
            key = f"{k}_{lod}" if geometry.textured else f"b{lod}"
            if (k, lod) not in images:
                images.add((k, lod))
                data, pw, ph = _texture_png(k, lod) if geometry.brush is None else _brush_png(geometry.brush, lod)
                defs.append(f'<image id="tex{key}" width="{pw}" height="{ph}" preserveAspectRatio="none" '
                            f'xlink:href="data:image/png;base64,{data}"/>')
            sx = (length + 2 * ext) / (tex_cols >> lod)  # px per texel along
            sy = 2 * r0 / (tex_rows >> lod)  # px per texel across
            origin = p0 - n * (ext + _PAD_TEXELS * sx) - perp * (r0 + _PAD_TEXELS * sy)
            mat = (n[0] * sx, n[1] * sx, perp[0] * sy, perp[1] * sy, origin[0], origin[1])
            place = (f'xlink:href="#tex{key}" transform="matrix('
                     + " ".join(f"{v:.5g}" if i < 4 else f(v) for i, v in enumerate(mat)) + ')"')
            # The stencil (oil's dry brush, or the artist's brush) masks the whole stroke.
            defs.append(f'<mask id="m{s}" mask-type="alpha"><use {place}/></mask>')
            attrs.append(f'mask="url(#m{s})"')
            if geometry.textured:
                # Oil's grey shading is laid over the colour, inside the stroke's outline,
                # at the share that looks like the model's linear-light mix in a viewer
                # that mixes in sRGB. (The clip goes on a group: on the <use> it would be
                # read in texel units.)
                defs.append(f'<clipPath id="k{s}"><path d="{"".join(shapes)}"/></clipPath>')
                inner.append(f'<g clip-path="url(#k{s})" opacity="{_shade_opacity(rgb, k, lod):.3f}">'
                             f'<use {place}/></g>')
        body.append(f'<g {" ".join(attrs)}>' + "".join(inner) + "</g>")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}">')
    all_defs = list(filters.values()) + defs
    parts = [head]
    if any(d.startswith("<linearGradient") for d in defs):
        # Exact in a viewer that supports it (few do); the stops serve the others.
        parts.append("<style>linearGradient{color-interpolation:linearRGB}</style>")
    if all_defs:
        parts.append("<defs>\n" + "\n".join(all_defs) + "\n</defs>")
    parts.append(f'<rect width="{width}" height="{height}" fill="{_hex(background)}"/>')
    parts.extend(body)
    parts.append("</svg>\n")
    return "\n".join(parts)


def write_svg(strokes, path, long_side: int | None = None) -> None:
    """Write ``strokes`` (a :class:`~core.strokes.StrokeSet`) as an SVG whose long side is
    ``long_side`` px (default: the size it was painted at).

    The SVG follows the model's geometry and colours, but a viewer composites it in
    sRGB where the model (the PNG, Grease Pencil) blends in linear light, so it differs
    wherever a stroke is partly transparent over what is beneath it:

    * anti-aliased edges of every stroke: a dark stroke's one-pixel edge on a light
      ground looks lighter in the PNG (half coverage of black on white is sRGB 0.74,
      not 0.5), a light stroke's darker; insides of opaque strokes match (to 8 bits);
    * watercolour's soft edges (ramps of 1/4 of the radius each side of the outline)
      and oil's bristle texture, where the coverage is partial over large areas, and
      translucent strokes (A < 1): the fitted opacity A' is right on average over a
      stroke, not per pixel and channel (it cannot be: the right sRGB opacity depends
      on the colour beneath, which varies, and differs between channels);
    * the SVG's backdrop is itself the sRGB composite, so the differences accumulate
      where translucent strokes pile up.

    Rasterised by resvg at the painted size, 100 random strokes score about 28-30 dB
    PSNR against the PNG with alpha 0.6-1 (watercolour 27.6), and with opaque strokes
    marker and tape 33 dB (edges only: 58 dB away from them), oil 29 dB, watercolour
    26 dB (tests/core/test_export.py).
    """
    width, height = output_size(strokes.width, strokes.height, long_side)
    text = svg_text(strokes.geometry(), width, height, strokes.background)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _write_error(path, exc) from None


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def write_animation(strokes, path, long_side: int = 384, max_frames: int = 60, fps: int = 12,
                    hold_seconds: float = 2.0) -> None:
    """Write a looping GIF or WebP (chosen by ``path``'s suffix) of the painting appearing.

    Frame 0 is the empty canvas; frames 1..F-1 add the strokes in painting order, spread
    evenly (F = min(max_frames, number of strokes)); a final frame with every stroke is
    held for ``hold_seconds``. So there are at most ``max_frames + 1`` frames.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".webp"):
        raise PainterError(f"cannot write animation {path}: unknown format {suffix or '(none)'!r}; "
                           "use a .gif or .webp file name")
    if max_frames < 1 or fps < 1:
        raise PainterError(f"animation needs max_frames >= 1 and fps >= 1 (got {max_frames}, {fps})")
    width, height = output_size(strokes.width, strokes.height, long_side)
    geometry = strokes.geometry()
    n = len(geometry)
    frames_n = min(max_frames, n)
    stops = [round(n * f / frames_n) for f in range(frames_n)] + [n] if frames_n else [n]
    canvas = None
    frames: list[np.ndarray] = []
    done = 0
    for stop in stops:
        canvas = render(geometry, width, height, strokes.background, canvas=canvas,
                        start=done, stop=stop)
        done = stop
        frames.append(_to_uint8(canvas))
    durations = [int(round(1000 / fps))] * (len(frames) - 1) + [int(round(1000 * hold_seconds))]
    try:
        if suffix == ".gif":
            _save_gif(frames, path, durations, strokes.background)
        else:
            images = [Image.fromarray(f, "RGB") for f in frames]
            images[0].save(path, format="WEBP", save_all=True, append_images=images[1:],
                           duration=durations, loop=0, lossless=True, quality=10, method=1)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _nearest(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest ``palette`` entry (Euclidean RGB) for every colour [N, 3]."""
    pal = palette.astype(np.float32)
    pal_sq = (pal * pal).sum(1)
    out = np.empty(len(colours), np.uint8)
    for i in range(0, len(colours), 65536):
        c = colours[i:i + 65536].astype(np.float32)
        out[i:i + 65536] = np.argmin(pal_sq[None, :] - 2.0 * (c @ pal.T), axis=1)
    return out


def _save_gif(frames: list[np.ndarray], path, durations: list[int], background) -> None:
    # One palette for every frame: 254 colours fitted to the final painting plus the exact
    # background colour, leaving one index free for Pillow to mark unchanged pixels as
    # transparent, so each frame stores little more than its new strokes. Pixels are
    # mapped to their exact nearest palette colour (Pillow's own mapping is approximate).
    final = frames[-1]
    step = max(1, math.ceil(math.sqrt(final.shape[0] * final.shape[1] / 32768)))  # fit on <= 32k px
    fitted = Image.fromarray(np.ascontiguousarray(final[::step, ::step]), "RGB").quantize(
        colors=254, method=Image.Quantize.MEDIANCUT, kmeans=2)
    fitted_colours = np.asarray(fitted.getpalette()[:3 * 254], np.uint8).reshape(-1, 3)
    bg = _to_uint8(np.asarray(background, np.float32)).reshape(1, 3)
    palette = np.concatenate([bg, fitted_colours])
    indices = []
    previous = None
    for frame in frames:
        if previous is None:
            idx, changed = np.zeros(frame.shape[:2], np.uint8), np.ones(frame.shape[:2], bool)
        else:
            idx = indices[-1].copy()
            changed = (frame != previous).any(-1)
        if changed.any():
            # Map each distinct new colour once: 24-bit codes -> nearest palette entry.
            new = frame[changed].astype(np.int32)
            codes = (new[:, 0] << 16) | (new[:, 1] << 8) | new[:, 2]
            unique, inverse = np.unique(codes, return_inverse=True)
            rgb = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], 1)
            idx[changed] = _nearest(rgb, palette)[inverse]
        indices.append(idx)
        previous = frame
    flat_palette = palette.reshape(-1).tolist()
    images = []
    for idx in indices:
        im = Image.fromarray(idx, "P")
        im.putpalette(flat_palette)
        images.append(im)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0, optimize=True)
