"""Reference renderer: what a stroke looks like, at any resolution, in pure numpy.

This module *defines* the appearance of a stroke. The differentiable renderer used by
the optimiser follows the same model (and is tested against this one), the SVG and
animation exporters are checked against it, and PNG exports come from it.

Appearance model
----------------
Geometry coordinates are in long-side units (x in [0, W/L], y in [0, H/L], y down).
Rendering at a long side of ``L_px`` pixels, pixel (i, j) has its centre at
x = (j + 0.5) / L_px, y = (i + 0.5) / L_px, and the pixel size is pix = 1 / L_px.
(The code works in pixel units, i.e. everything below multiplied by ``L_px``; the
model is scale-invariant, so this is the same thing.)

For one stroke with points p_0..p_{K-1}, radii r_k, sRGB colours c_k and alpha A
(``rgba[..., 3]``, equal along the stroke; the first point's value is used):

* every segment k = 0..K-2::

      t_k   = clamp(dot(x - p_k, p_{k+1} - p_k) / |p_{k+1} - p_k|^2, 0, 1)
              (t_k = 0 for a zero-length segment, |p_{k+1} - p_k|^2 <= 1e-12 px^2)
      d_k   = |x - (p_k + t_k (p_{k+1} - p_k))|
      rad_k = r_k + t_k (r_{k+1} - r_k)
      sd_k  = d_k - rad_k

  k* = argmin_k sd_k (the first one on ties), sd = sd_{k*}. The stroke is a union of
  tapered capsules: each segment is the trapezoid whose ends are perpendicular to it
  with half-widths r_k and r_{k+1}, plus a half disc of radius r_k behind p_k and one
  of radius r_{k+1} beyond p_{k+1} (round caps and joins).
* flat caps (``geometry.cap == "flat"``)::

      sd = max(sd, dot(p_0 - x, n_0), dot(x - p_{K-1}, n_e))

  with n_0 = unit(p_1 - p_0), n_e = unit(p_{K-1} - p_{K-2}); unit(0) = 0. A 2-point
  flat stroke is exactly a rotated rectangle.
* edge: e = max(pix, softness * rad_{k*}); coverage m = clamp(0.5 - sd / e, 0, 1).
  A hard stroke (softness 0) gets a one-pixel anti-aliasing ramp centred on its
  outline; a soft one (watercolour) fades out over softness * radius, and is a wash
  whose pigment gathers at the rim: m = m * wash_profile((sd + rad_{k*}) / rad_{k*})
  (:func:`core.texture.wash_profile`: 0.55 in the middle, 1 from 0.85 radii out).
* colour: c = c_{k*} + t_{k*} (c_{k*+1} - c_{k*}), in linear light (see the last item).
* texture (``geometry.textured``, oil strokes, K = 2)::

      n = unit(p_1 - p_0)
      u = (dot(x - p_0, n) + r_0) / (|p_1 - p_0| + 2 r_0)         (0 .. 1 along)
      v = (n_x (y - p_0y) - n_y (x - p_0x)) / r_0                  (-1 .. +1 across)

  T = bilinear sample of :func:`core.texture.bristle_texture` (rows = v from -1 to +1,
  cols = u from 0 to 1) at row coordinate (v + 1) / 2 * rows - 0.5 and column
  coordinate u * cols - 0.5, both clamped to [0, size - 1] (clamp to edge); m = m * T.
  (For K > 2 the first and last points stand in for p_0 and p_1.)
* brush (``geometry.brush``, the artist's stencil, box strokes, K = 2): u and v as for
  the texture, except that flat caps map u over the points alone (Grease Pencil
  extends a stroke's quad a radius past its end points only for round caps)::

      e = 0 for flat caps, r_0 for round ones
      u = (dot(x - p_0, n) + e) / (|p_1 - p_0| + 2 e)

  D = the stencil (:func:`core.model.brushes.brush_mipmaps`) sampled like the texture,
  trilinear between the mip levels for a stroke 2 r_0 wide and |p_1 - p_0| + 2 e
  long; m = m * D. The brush says where paint goes, not what colour it is (for oil it
  replaces the bristle texture), but the colour runs tip to tip as the stencil does,
  c = c_0 + clamp(u, 0, 1) (c_1 - c_0) in linear light: Grease Pencil grades a
  stroke's vertex colours over its whole quad, caps included. (Without a brush the
  model keeps grading between the points, so paintings made before brushes redraw
  exactly as they were.)
* alpha a = A * m; strokes are composited in painting order over the background in
  *linear light*, as Grease Pencil blends: C_lin <- C_lin (1 - a) + a c_lin, where the
  colour is interpolated along the stroke in linear light too (Grease Pencil's vertex
  colours are linear); the result is converted back to sRGB.

Cost: every stroke is evaluated only inside its bounding box and every segment only
inside its own box (grown by the widest edge ramp of the stroke, so the argmin is
exact wherever the coverage is non-zero); the colour and texture only where the
coverage is non-zero; the canvas is converted to linear light box by box as strokes
reach it, and back only where they cover it (other pixels keep their exact values).
Work is proportional to the area the strokes cover.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..model.colour import linear_to_srgb, srgb_to_linear
from ..errors import PainterError
from ..model.brushes import brush_mipmaps
from ..model.geometry import Geometry
from ..model.texture import OIL_MIX, mip_level, oil_level, oil_mipmaps, wash_profile

_ZERO_LENGTH_PX2 = 1e-12


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 0 else np.zeros(2)


def _pixel_range(lo: float, hi: float, size: int) -> tuple[int, int]:
    """Pixels whose centres (index + 0.5) lie in [lo, hi], as a half-open range."""
    a = max(0, math.ceil(lo - 0.5))
    b = min(size, math.floor(hi - 0.5) + 1)
    return a, b


def _sample_oil(level: int, lod: float, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shade T and dry stencil D of oil texture ``level`` at mip ``lod`` (trilinear)."""
    mips = oil_mipmaps()[level]  # [MIPS, 2, R, C]
    return _trilinear(mips[:, 0], lod, u, v), _trilinear(mips[:, 1], lod, u, v)


def _trilinear(mips: np.ndarray, lod: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A texture's mip levels [MIPS, R, C] sampled at mip ``lod``: bilinear in each of
    the two nearest levels, linear between them."""
    lo = int(math.floor(lod))
    hi = min(lo + 1, mips.shape[0] - 1)
    f = np.float32(lod - lo)
    a = _sample_texture(mips[lo], u, v)
    return a if hi == lo or f == 0 else a + f * (_sample_texture(mips[hi], u, v) - a)


def _sample_texture(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear, clamp-to-edge sample of ``tex`` (rows = v in [-1, 1], cols = u in [0, 1])."""
    rows, cols = tex.shape
    rc = (v + np.float32(1.0)) * np.float32(0.5 * rows) - np.float32(0.5)
    np.clip(rc, 0.0, rows - 1.0, out=rc)
    cc = u * np.float32(cols) - np.float32(0.5)
    np.clip(cc, 0.0, cols - 1.0, out=cc)
    i0 = np.minimum(rc.astype(np.int32), max(rows - 2, 0))
    j0 = np.minimum(cc.astype(np.int32), max(cols - 2, 0))
    fr = rc - i0.astype(np.float32)
    fc = cc - j0.astype(np.float32)
    flat = np.ascontiguousarray(tex, dtype=np.float32).reshape(-1)
    idx = i0 * cols + j0
    dr = cols if rows > 1 else 0
    dc = 1 if cols > 1 else 0
    a = np.take(flat, idx)
    top = a + fc * (np.take(flat, idx + dc) - a)
    b = np.take(flat, idx + dr)
    bot = b + fc * (np.take(flat, idx + dr + dc) - b)
    return top + fr * (bot - top)


def _stroke_layer(pts: np.ndarray, rad: np.ndarray, rgb: np.ndarray, alpha: float, cap: str,
                  softness: float, textured: bool, cx: np.ndarray, cy: np.ndarray, brush: np.ndarray | None = None):
    """Alpha and colour of one stroke (pixel units) inside its box, or None if it
    covers no pixel: ``(y0, y1, x0, x1, a [h, w], c [3] or [h, w, 3])``. ``brush``: the
    mip levels of the brush's stencil [MIPS, R, C], or None."""
    width, height = cx.shape[0], cy.shape[0]
    if not (alpha > 0) or not np.all(np.isfinite(pts)) or not np.all(np.isfinite(rad)):
        return None
    if len(pts) == 1:
        pts, rad, rgb = np.repeat(pts, 2, 0), np.repeat(rad, 2), np.repeat(rgb, 2, 0)
    rad = np.maximum(rad, 0.0)
    n_seg = len(pts) - 1
    one_colour = float(np.ptp(rgb, axis=0).max()) <= 1e-5
    # Which segment wins only matters for the colour, the edge width and the texture.
    track = n_seg > 1 and (softness > 0 or not one_colour)
    e_max = max(1.0, softness * float(rad.max()))
    margin = 0.5 * e_max + 1.0  # beyond it the coverage is zero whichever segment wins
    lo = pts.min(0) - rad.max() - margin
    hi = pts.max(0) + rad.max() + margin
    x0, x1 = _pixel_range(lo[0], hi[0], width)
    y0, y1 = _pixel_range(lo[1], hi[1], height)
    if x0 >= x1 or y0 >= y1:
        return None
    bh, bw = y1 - y0, x1 - x0
    best_sd = best_t = best_k = None
    if n_seg > 1:
        best_sd = np.full((bh, bw), np.inf, np.float32)
        if track:
            best_t = np.zeros((bh, bw), np.float32)
            best_k = np.zeros((bh, bw), np.int16 if n_seg < 32000 else np.int32)

    for k in range(n_seg):
        p, q = pts[k], pts[k + 1]
        ra, rb = float(rad[k]), float(rad[k + 1])
        if n_seg > 1:
            grow = max(ra, rb) + margin
            slo, shi = np.minimum(p, q) - grow, np.maximum(p, q) + grow
            sx0, sx1 = _pixel_range(slo[0], shi[0], width)
            sy0, sy1 = _pixel_range(slo[1], shi[1], height)
            sx0, sx1, sy0, sy1 = max(sx0, x0), min(sx1, x1), max(sy0, y0), min(sy1, y1)
            if sx0 >= sx1 or sy0 >= sy1:
                continue
        else:
            sx0, sx1, sy0, sy1 = x0, x1, y0, y1
        xs = (cx[sx0:sx1] - np.float32(p[0]))[None, :]
        ys = (cy[sy0:sy1] - np.float32(p[1]))[:, None]
        dv = q - p
        len2 = float(dv @ dv)
        if len2 > _ZERO_LENGTH_PX2:
            dvx, dvy = np.float32(dv[0]), np.float32(dv[1])
            t = ys * (dvy / np.float32(len2)) + xs * (dvx / np.float32(len2))
            np.clip(t, 0.0, 1.0, out=t)
            dx = xs - t * dvx
            dy = ys - t * dvy
            np.multiply(dx, dx, out=dx)
            np.multiply(dy, dy, out=dy)
            dx += dy
            sd = np.sqrt(dx, out=dx)
            sd -= np.float32(ra)
            if rb != ra:
                sd -= np.multiply(t, np.float32(rb - ra), out=dy)
        else:
            t = np.zeros((sy1 - sy0, sx1 - sx0), np.float32)
            sd = np.sqrt(ys * ys + xs * xs) - np.float32(ra)
        if n_seg == 1:
            best_sd, best_t = sd, t
            break
        box = (slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0))
        sub_sd = best_sd[box]
        if track:
            upd = sd < sub_sd
            np.copyto(sub_sd, sd, where=upd)
            np.copyto(best_t[box], t, where=upd)
            if k:
                np.copyto(best_k[box], k, where=upd)
        else:
            np.minimum(sub_sd, sd, out=sub_sd)

    if cap == "flat":
        n0 = _unit(pts[1] - pts[0])
        ne = _unit(pts[-1] - pts[-2])
        xs, ys = cx[x0:x1][None, :], cy[y0:y1][:, None]
        c0 = (np.float32(pts[0][0]) - xs) * np.float32(n0[0]) + (np.float32(pts[0][1]) - ys) * np.float32(n0[1])
        ce = (xs - np.float32(pts[-1][0])) * np.float32(ne[0]) + (ys - np.float32(pts[-1][1])) * np.float32(ne[1])
        np.maximum(best_sd, c0, out=best_sd)
        np.maximum(best_sd, ce, out=best_sd)

    # Crop to the pixels that can have non-zero coverage.
    inside = best_sd < np.float32(0.5 * e_max)
    rows = np.flatnonzero(inside.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(inside.any(0))
    r0_, r1_, c0_, c1_ = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = (slice(r0_, r1_), slice(c0_, c1_))
    y0, y1, x0, x1 = y0 + r0_, y0 + r1_, x0 + c0_, x0 + c1_
    sd = best_sd[crop]
    t = None if best_t is None else best_t[crop]
    kk = None if best_k is None else best_k[crop].astype(np.intp)
    if softness > 0:
        r = rad.astype(np.float32)
        if kk is None:
            rad_star = r[0] + t * (r[1] - r[0])
        else:
            rad_star = np.take(r, kk) + t * np.take(np.diff(r), kk)
        e = np.maximum(np.float32(1.0), np.float32(softness) * rad_star)
        m = np.float32(0.5) - sd / e
        np.clip(m, 0.0, 1.0, out=m)
        m *= wash_profile(sd / np.maximum(rad_star, np.float32(1e-9)) + np.float32(1.0)).astype(np.float32)
    else:
        m = np.float32(0.5) - sd
    np.clip(m, 0.0, 1.0, out=m)

    shade = None
    if textured or brush is not None:
        p0, p1 = pts[0], pts[-1]
        n = _unit(p1 - p0)
        length = float(np.hypot(*(p1 - p0)))
        r0 = max(float(rad[0]), 1e-12)
        # u spans the stroke tip to tip: round caps reach a radius past the end points.
        ext = 0.0 if cap == "flat" else r0
        px = (cx[x0:x1] - np.float32(p0[0]))[None, :]
        py = (cy[y0:y1] - np.float32(p0[1]))[:, None]
        u = (px * np.float32(n[0] / (length + 2 * ext)) + py * np.float32(n[1] / (length + 2 * ext))
             + np.float32(ext / (length + 2 * ext)))
        v = py * np.float32(n[0] / r0) - px * np.float32(n[1] / r0)
        lod = float(mip_level(np.array([2 * r0]), np.array([length + 2 * ext]))[0])
        if brush is not None:
            m *= _trilinear(brush, lod, u, v)
            if t is not None and kk is None:  # the colour runs tip to tip too (see the model)
                t = np.clip(u, 0.0, 1.0)
        else:
            shade, dry = _sample_oil(int(oil_level(rgb.mean(0))), lod, u, v)
            m *= dry

    m *= np.float32(alpha)
    col = rgb.astype(np.float32)
    if one_colour and shade is None:
        c = [col[0, i] for i in range(3)]
    elif kk is None:
        c = [col[0, i] + t * (col[1, i] - col[0, i]) for i in range(3)]
    else:
        dcol = np.diff(col, axis=0)
        c = [np.take(col[:, i], kk) + t * np.take(dcol[:, i], kk) for i in range(3)]
    if shade is not None:
        c = [np.float32(1 - OIL_MIX) * ci + np.float32(OIL_MIX) * shade for ci in c]
    return y0, y1, x0, x1, m, c


def _composite(planes: np.ndarray, linear: np.ndarray, touched: np.ndarray, layer) -> None:
    """C_lin <- C_lin (1 - a) + a c_lin on a planar [3, H, W] canvas that holds sRGB
    values except where ``linear`` says they have been converted to linear light (done
    here, box by box, the first time a stroke reaches them); ``touched`` collects the
    pixels a stroke covers."""
    y0, y1, x0, x1, a, c = layer
    box = (slice(y0, y1), slice(x0, x1))
    fresh = ~linear[box]
    if fresh.any():
        for i in range(3):
            region = planes[i][box]
            region[fresh] = srgb_to_linear(region[fresh])
        linear[box] = True
    for i in range(3):
        region = planes[i][box]
        region += a * (c[i] - region)
    touched[box] |= a > 0


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def stroke_layers(geometry: Geometry, width: int, height: int, start: int = 0,
                  stop: int | None = None):
    """The strokes ``start:stop`` of ``geometry`` at ``width`` x ``height`` pixels, as
    ``(index, (y0, y1, x0, x1, a, c))`` in painting order: the box of pixels the stroke
    covers, its alpha ``a`` (float32 [y1 - y0, x1 - x0]: A * coverage * texture) and its
    colour ``c`` in *linear light* (three float32 scalars or [h, w] arrays). Strokes that
    cover no pixel are skipped. Computed on a few threads (numpy releases the GIL)."""
    width, height = int(width), int(height)
    long_px = float(max(width, height))
    n = len(geometry)
    stop = n if stop is None else min(int(stop), n)
    start = max(0, int(start))
    if start >= stop:
        return
    pts = geometry.points[start:stop].astype(np.float64) * long_px
    rad = geometry.radius[start:stop].astype(np.float64) * long_px
    rgba = np.asarray(geometry.rgba[start:stop], np.float64).copy()
    rgba[..., :3] = srgb_to_linear(rgba[..., :3])
    cx = np.arange(width, dtype=np.float32) + np.float32(0.5)
    cy = np.arange(height, dtype=np.float32) + np.float32(0.5)
    cap, softness, textured = geometry.cap, float(geometry.softness), bool(geometry.textured)
    brush = None if geometry.brush is None else brush_mipmaps(geometry.brush)

    def layer(s: int):
        return _stroke_layer(pts[s], rad[s], rgba[s, :, :3], float(rgba[s, 0, 3]),
                             cap, softness, textured, cx, cy, brush)

    count = stop - start
    workers = _workers()
    if workers == 1 or count < 4:
        for s in range(count):
            lay = layer(s)
            if lay is not None:
                yield start + s, lay
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        nxt = 0
        while nxt < count or pending:
            while nxt < count and len(pending) < 2 * workers:
                pending.append((nxt, pool.submit(layer, nxt)))
                nxt += 1
            s, fut = pending.popleft()
            lay = fut.result()
            if lay is not None:
                yield start + s, lay


def render(geometry: Geometry, width: int, height: int, background=(1, 1, 1),
           canvas: np.ndarray | None = None, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Render strokes ``start:stop`` of ``geometry`` at ``width`` x ``height`` pixels.

    Returns float32 H x W x 3 sRGB in [0, 1]. Without ``canvas`` the strokes are drawn
    over a fresh ``background``; with one (float32 H x W x 3) they are drawn onto it in
    place and it is returned, which lets callers add strokes incrementally.
    Strokes' coverage is computed on a few threads (numpy releases the GIL); they are
    composited strictly in painting order, in linear light. Only the pixels that the
    strokes reach are converted to linear light and back, so every other pixel keeps
    its value exactly (and the work stays proportional to the painted area).
    """
    width, height = int(width), int(height)
    if width < 1 or height < 1:
        raise PainterError(f"cannot render a {width}x{height} image: width and height must be at least 1")
    if canvas is None:
        canvas = np.empty((height, width, 3), np.float32)
        canvas[:] = np.asarray(background, np.float32).reshape(3)
    else:
        if canvas.shape != (height, width, 3):
            raise PainterError(f"canvas is {canvas.shape}, expected {(height, width, 3)}: "
                               "pass a canvas of the size being rendered")
        if canvas.dtype != np.float32:
            canvas = canvas.astype(np.float32)
    layers = stroke_layers(geometry, width, height, start, stop)
    first = next(layers, None)
    if first is None:
        return canvas
    planes = np.ascontiguousarray(canvas.transpose(2, 0, 1))  # planar: fast per-channel ops
    linear = np.zeros((height, width), bool)
    touched = np.zeros((height, width), bool)
    _composite(planes, linear, touched, first[1])
    for _, lay in layers:
        _composite(planes, linear, touched, lay)
    # Back to sRGB in float64, so that e.g. 1 maps to exactly 1.
    canvas[touched] = linear_to_srgb(planes[:, touched].astype(np.float64)).T
    return canvas


def output_size(width: int, height: int, long_side: int | None = None) -> tuple[int, int]:
    """Pixel size for a canvas of ``width`` x ``height`` rendered at ``long_side``."""
    longest = max(width, height)
    long_side = longest if long_side is None else int(long_side)
    if long_side < 1:
        raise PainterError(f"long side {long_side} px is too small: use at least 1")
    short = max(1, round(long_side * min(width, height) / longest))
    return (long_side, short) if width >= height else (short, long_side)


def render_strokes(strokes, long_side: int | None = None, background=None) -> np.ndarray:
    """Render a :class:`~core.strokes.StrokeSet` with its long side at ``long_side`` px
    (default: the size it was painted at) over ``background`` (default: its own)."""
    w, h = output_size(strokes.width, strokes.height, long_side)
    bg = strokes.background if background is None else background
    return render(strokes.geometry(), w, h, background=bg)
