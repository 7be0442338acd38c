"""What a painting is in Grease Pencil's terms, as numbers, without bpy.

Where the canvas sits in the object's space, what the writer writes for a batch of
strokes (positions, radii, linear colours, soft-edge and texture mappings), the names
of layers, materials and images, the pixels of the textures, the Build replay's timing.
``gpencil`` writes these into Blender; keeping them here lets the maths be tested
without Blender, and keeps the Grease Pencil module about the Grease Pencil API.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .contracts import styles

#: Custom property on every object, material and image the add-on creates, so a run
#: can recognise (and reuse or clean up) its own data.
TAG = "neural_painter"
CANVAS_LAYER = "Canvas"
PARAM_ATTR = "np_param_{:02d}"
ORDER_ATTR = "np_order"  # 1-based painting order; 0 marks a stroke drawn by hand
#: A stroke's id in a painted shot (the same stroke keeps it from frame to frame). Grease
#: Pencil attributes hold 32-bit integers: ids past 2**31 - 1 (a shot's frame 21,475 on,
#: see ``core.painters.temporal.ID_STRIDE``) are not stored.
ID_ATTR = "np_id"
ID_MAX = 2 ** 31 - 1
#: On the object of a painted shot: {"start": scene frame of source frame 1, "frames":
#: the source frame numbers it holds}. Refine and Restyle work on stills only.
SHOT_TAG = "neural_painter_shot"
CANVAS_MATERIAL = "NP Canvas"

#: Grease Pencil's soft edge (smoothstep((1 - d/R) ** (10 softness))) has a different
#: profile from the reference model's linear ramp of width ``softness * r`` centred on
#: the outline. A least-squares fit of the two profiles gives, per unit of core
#: softness, a radius grown by 30 % of it and a GP softness of 0.056 x it.
GP_SOFT_RADIUS = 0.3
GP_SOFT_SOFTNESS = 0.056


def level_layer_name(level: int) -> str:
    return f"Level {int(level)}"


def layer_level(name: str) -> int | None:
    """The level a layer holds, from its name; None for the canvas or foreign layers."""
    if name.startswith("Level "):
        try:
            return int(name.split()[1])
        except (IndexError, ValueError):
            return None
    return None


# --- colour ----------------------------------------------------------------------------

def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float32), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055).astype(np.float32)


# --- data shapes -----------------------------------------------------------------------

@dataclass
class Canvas:
    """Where a painting sits in the object's space: the XZ plane, facing the front view,
    centred on the origin, ``width_m`` wide, with the image's aspect ratio."""

    style: str
    width: int  # pixels the strokes were optimised at
    height: int
    background: tuple[float, float, float]  # sRGB
    width_m: float = 2.0
    #: The painting's brush as its strokes JSON keeps it (``meta["brush"]``: name, file and
    #: stencil), so Refine and Restyle hand it back to the engine; None: the style's look.
    brush: dict[str, Any] | None = None

    @property
    def extent(self) -> tuple[float, float]:
        long_side = float(max(self.width, self.height))
        return self.width / long_side, self.height / long_side

    @property
    def scale(self) -> float:
        """Metres per long-side unit."""
        return self.width_m / self.extent[0]

    @property
    def size_m(self) -> tuple[float, float]:
        ex, ey = self.extent
        return ex * self.scale, ey * self.scale

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """[..., 2] long-side units (y down) -> [..., 3] object space (x right, z up)."""
        ex, ey = self.extent
        s = self.scale
        out = np.zeros(points.shape[:-1] + (3,), np.float32)
        out[..., 0] = (points[..., 0] - ex / 2) * s
        out[..., 2] = (ey / 2 - points[..., 1]) * s
        return out

    def from_world(self, xyz: np.ndarray) -> np.ndarray:
        ex, ey = self.extent
        s = self.scale
        out = np.empty(xyz.shape[:-1] + (2,), np.float32)
        out[..., 0] = xyz[..., 0] / s + ex / 2
        out[..., 1] = ey / 2 - xyz[..., 2] / s
        return out

    def to_meta(self) -> dict[str, Any]:
        meta = {"style": self.style, "width": self.width, "height": self.height,
                "background": list(self.background), "width_m": self.width_m}
        return meta if self.brush is None else {**meta, "brush": dict(self.brush)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "Canvas":
        brush = meta.get("brush")
        return cls(str(meta["style"]), int(meta["width"]), int(meta["height"]),
                   tuple(float(c) for c in meta["background"]),  # type: ignore[arg-type]
                   float(meta.get("width_m", 2.0)), dict(brush) if isinstance(brush, dict) else None)


@dataclass
class StrokeBatch:
    """One level's strokes as the worker sends them (geometry from ``core``)."""

    level: int
    points: np.ndarray  # [N, K, 2] long-side units, y down
    radius: np.ndarray  # [N, K] long-side units
    rgba: np.ndarray  # [N, K, 4] sRGB colour + stroke alpha
    params: np.ndarray  # [N, D] core parameters, kept on the strokes for Refine
    order: np.ndarray  # [N] 0-based painting order over the whole run
    cap: str = "round"
    softness: float = 0.0
    textured: bool = False
    levels: np.ndarray | None = None  # [N] oil texture level of each stroke (its material)
    ids: np.ndarray | None = None  # [N] stroke ids of a painted shot's frame
    brush: np.ndarray | None = None  # [rows, cols] the artist's brush's stencil, 0..1 (its material); None: the style's
    brush_name: str | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def subset(self, rows: slice | np.ndarray, order: np.ndarray) -> "StrokeBatch":
        """These strokes with these painting-order numbers (0-based)."""
        return replace(self, points=self.points[rows], radius=self.radius[rows], rgba=self.rgba[rows],
                       params=self.params[rows], order=np.asarray(order),
                       levels=None if self.levels is None else np.asarray(self.levels)[rows],
                       ids=None if self.ids is None else np.asarray(self.ids)[rows])


@dataclass
class Created:
    """Data blocks a run created, so a failed run can remove exactly those."""

    objects: list[Any] = field(default_factory=list)
    grease_pencils: list[Any] = field(default_factory=list)
    materials: list[Any] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)


def gp_softness(softness: float) -> tuple[float, float]:
    """(radius factor, GP softness) that best imitate core's ``softness`` edge ramp."""
    if softness <= 0:
        return 1.0, 0.0
    return 1.0 + GP_SOFT_RADIUS * softness, GP_SOFT_SOFTNESS * softness


@dataclass
class Textures:
    """What the worker sends for the textured styles (the numbers come from
    ``core.model.texture``; no image file ships with the add-on): the oil textures
    [levels, rows, cols, RGBA] and the wash profile, a watercolour's opacity across it at
    0, 0.01, ... radii from its centre line."""

    oil: np.ndarray | None = None
    wash: np.ndarray | None = None


#: Share of the texture's colour in an oil stroke (Grease Pencil's stroke mix factor is
#: 1 minus it). Must equal ``core.model.texture.OIL_MIX``; the add-on's tests check it.
OIL_TEXTURE_MIX = 0.35
OIL_IMAGE = "NP Oil Texture {}"


WASH_IMAGE = "NP Wash"
BRUSH_IMAGE = "NP Brush {}"
#: On a brush's material and image: its stencil's digest, so a painting with another
#: picture of the same name gets its own material rather than another brush's look.
BRUSH_TAG = "neural_painter_brush"


def wash_image_name(softness: float) -> str:
    """One wash image per softness (watercolour's 0.5 keeps the plain name)."""
    return WASH_IMAGE if softness == 0.5 else f"{WASH_IMAGE} {softness:g}"


def material_name(style: str, level: int = 0) -> str:
    """``NP <Style>``, and for a textured style one per texture level (``NP Oil 3``)."""
    if style == "canvas":
        return CANVAS_MATERIAL
    spec = styles.get_style(style)
    return f"NP {spec.label} {level + 1}" if spec.textured else f"NP {spec.label}"


def brush_material_name(style: str, brush_name: str) -> str:
    """``NP <Style> <Brush>``: every painting of a style with one brush shares it."""
    return f"NP {styles.get_style(style).label} {brush_name}"


def brush_digest(stencil: np.ndarray) -> str:
    """The stencil's fingerprint, the same as the engine's ``Brush.digest`` (both hash
    its 8-bit values)."""
    values = np.round(np.clip(np.asarray(stencil, np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    return hashlib.sha1(values.tobytes()).hexdigest()[:8]


def brush_image_pixels(stencil: np.ndarray) -> np.ndarray:
    """A brush's stencil [rows, cols] as Blender's image pixels [rows, cols + 2, RGBA]:
    white (the vertex colour alone colours the stroke: mix factor 1), the stencil in
    alpha. Like oil's images, the first and last columns are repeated once, which the
    strokes' u mapping (:func:`oil_uv`) skips, and the rows are flipped: Grease Pencil
    puts an image's bottom row on the stroke's right-hand side, core's row 0 is its left."""
    st = np.clip(np.asarray(stencil, np.float32), 0.0, 1.0)
    rgba = np.ones(st.shape + (4,), np.float32)
    rgba[..., 3] = st
    return np.ascontiguousarray(np.pad(rgba, ((0, 0), (1, 1), (0, 0)), mode="edge")[::-1])


def oil_uv(positions: np.ndarray, image_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-stroke (u_scale, u_translation) that map a 2-point stroke's texture from the
    tip of its start cap (the image's first content column) to the tip of its end cap
    (the last), as core's renderers map it: Grease Pencil's u runs linearly over the
    drawn quad, caps included, from u at the first point to u at the second, and
    u = u_scale * (length so far) + u_translation. The image repeats its first and last
    columns once, so the content spans columns 1 .. cols - 2. A flat-capped stroke's
    quad ends at its points, which a box style puts at the box's ends: tip to tip too."""
    length = np.linalg.norm(positions[:, -1] - positions[:, 0], axis=-1)
    scale = (image_cols - 2) / image_cols / np.maximum(length, 1e-9)
    return scale.astype(np.float32), np.full(len(positions), 1.0 / image_cols, np.float32)


def build_modifier_name(level: int) -> str:
    return f"NP Build {level_layer_name(level)}"


def stroke_arrays(batch: StrokeBatch, canvas: Canvas, oil_cols: int = 130) -> dict[str, Any]:
    """What the writer writes for ``batch``, in object space: positions [N, K, 3], radii
    (grown for soft edges), linear vertex colours [N, K, 4] (alpha 1: the colour replaces
    the white material's), opacity, caps, Grease Pencil softness, and for a textured
    style the texture's u mapping (``oil_cols``: columns of its texture image)."""
    grow, soft = gp_softness(batch.softness)
    positions = canvas.to_world(batch.points)
    colors = np.empty(batch.rgba.shape, np.float32)
    colors[..., :3] = srgb_to_linear(batch.rgba[..., :3])
    colors[..., 3] = 1.0
    u_scale = u_translation = None
    if batch.brush is not None and len(batch):
        u_scale, u_translation = oil_uv(positions, np.shape(batch.brush)[1] + 2)
    elif batch.textured and len(batch):
        u_scale, u_translation = oil_uv(positions, oil_cols)
    return {"positions": positions, "radius": batch.radius * (canvas.scale * grow), "colors": colors,
            "opacity": batch.rgba[..., 3], "flat_caps": batch.cap == "flat", "softness": soft,
            "u_scale": u_scale, "u_translation": u_translation}


def oil_image_pixels(textures: np.ndarray, level: int) -> np.ndarray:
    """Oil texture ``level`` [rows, cols, RGBA] as Blender's image pixels. Grease Pencil
    maps a stroke texture's v = 0 (the bottom image row) to the stroke's right-hand side,
    which with Blender's z up is core's v = +1: the rows are flipped. Along the stroke,
    the strokes' own u_scale and u_translation map the image tip to tip."""
    return np.ascontiguousarray(np.asarray(textures, np.float32)[level][::-1])


def wash_image_pixels(profile: np.ndarray, softness: float, rows: int = 32, cols: int = 4) -> np.ndarray:
    """A soft style's rim [rows, cols, RGBA]: white, its alpha the wash profile across the
    stroke (constant along it). Grease Pencil spans v over the stroke's drawn radius,
    which soft strokes grow (``gp_softness``), so row v holds the profile at |v| * grow
    radii."""
    grow = gp_softness(softness)[0]
    v = (np.arange(rows) + 0.5) / rows * 2 - 1
    prof = np.asarray(profile, np.float32)
    rgba = np.ones((rows, cols, 4), np.float32)
    rgba[..., 3] = np.interp(np.abs(v) * grow, np.arange(len(prof)) * 0.01, prof)[:, None]
    return rgba


def build_schedule(counts: list[int], start: int, duration: int) -> list[tuple[float, float]]:
    """The Build replay's (first, last) frame for each level layer, back to back over
    ``duration``, each level's share in proportion to its strokes: strokes appear at an
    even rate throughout."""
    total = float(sum(counts)) or 1.0
    out, done = [], 0
    for count in counts:
        f0 = start + duration * done / total
        done += count
        out.append((f0, start + duration * done / total))
    return out
