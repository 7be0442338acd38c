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
    """Data blocks a run created, so a failed run can remove exactly those. ``own``: the
    painting's own materials by their shared name (None: it shares the style's materials
    with every other painting)."""

    objects: list[Any] = field(default_factory=list)
    grease_pencils: list[Any] = field(default_factory=list)
    materials: list[Any] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    node_groups: list[Any] = field(default_factory=list)
    own: dict[str, Any] | None = None


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


# --- placement --------------------------------------------------------------------------

def fit_frame(corners: Any, ortho: bool, distance: float, aspect: float) -> tuple[float, np.ndarray]:
    """(width in metres, centre in the camera's space) of a canvas of ``aspect`` (width /
    height) that stands ``distance`` in front of a camera and fills its frame: exactly
    when the aspects agree (a camera source), else as large as fits, centred.

    ``corners`` are the camera's ``view_frame`` (its local space, looking down -Z): for a
    perspective camera they lie on one plane in front of it and scale with the
    distance; an orthographic frame is the same size at any distance. The frame's
    shift (lens shift) moves the centre off the axis, as the camera moves the picture."""
    c = np.asarray(corners, np.float64).reshape(-1, 3)
    depth = -float(c[:, 2].mean())
    k = 1.0 if ortho else distance / depth
    lo, hi = c[:, :2].min(0) * k, c[:, :2].max(0) * k
    fw, fh = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    width = fw if aspect >= fw / fh else fh * aspect
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, -distance])
    return width, centre


# --- replay: the order and pace in which strokes appear ------------------------------------

#: Per-stroke (CURVE) attribute: the beat at which a stroke starts to appear (from 1). The
#: replay modifier hides a point while its stroke's beat, plus how far along the stroke
#: it lies times the modifier's Grow, is above the modifier's Step, which the timeline
#: animates from 0 up. Strokes drawn by hand later have none (0): they always show.
REVEAL_ATTR = "np_reveal"
#: The canvas stroke's beat: below any Step, so the canvas shows throughout.
ALWAYS = -1.0e6
REPLAY_MODIFIER = "NP Replay"
REPLAY_NODES = "NP Replay"
#: On a painting: how its replay was last set (JSON), for Restyle, Refine and the panel.
REPLAY_TAG = "neural_painter_replay"

#: Orders: identifier -> (the headless command's name, label, description).
ORDERS = {
    "PAINTED": ("painted", "As Painted", "Coarse to fine, stroke by stroke, as the engine painted them"),
    "LEVEL": ("level", "By Level", "Each level appears as one beat, all its strokes at once"),
    "REGION": ("region", "Region First", "Strokes where the replay mask is bright first, then the rest"),
    "DARK_TO_LIGHT": ("dark-to-light", "Dark to Light", "Darkest strokes first"),
    "LIGHT_TO_DARK": ("light-to-dark", "Light to Dark", "Lightest strokes first"),
    "COLOR": ("colour", "By Color", "Around the color wheel (by hue), grays last"),
    "OUTWARD": ("outward", "Outward", "From the origin point outwards"),
    "DIRECTION": ("direction", "Along a Direction", "Sweeping across the canvas in one direction"),
}
EASES = {
    "LINEAR": ("Linear", "An even pace"),
    "EASE_IN": ("Ease In", "Slow at first, then faster"),
    "EASE_OUT": ("Ease Out", "Fast at first, slowing to the end"),
    "EASE_IN_OUT": ("Ease In and Out", "Slow at both ends"),
}


@dataclass
class Replay:
    """How a still painting replays on the timeline. ``mode``: "BUILD" (strokes appear
    continuously, growing along their length where they are curves), "KEYFRAMES" (``every``
    strokes at a time, on keyframes you can move in the Dope Sheet) or "NONE"."""

    mode: str = "BUILD"
    order: str = "PAINTED"
    start: int = 1
    duration: int = 250
    ease: str = "LINEAR"
    hold: int = 0  # frames at the end of ``duration`` on which the finished painting holds
    every: int = 10
    origin: tuple[float, float] = (0.5, 0.5)  # OUTWARD: fractions of the canvas, y down
    angle: float = 0.0  # DIRECTION: radians; 0 sweeps left to right, pi/2 top to bottom

    def to_meta(self) -> dict[str, Any]:
        return {"mode": self.mode, "order": self.order, "start": self.start, "duration": self.duration,
                "ease": self.ease, "hold": self.hold, "every": self.every, "origin": list(self.origin),
                "angle": self.angle}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "Replay":
        return cls(str(meta["mode"]), str(meta["order"]), int(meta["start"]), int(meta["duration"]),
                   str(meta["ease"]), int(meta["hold"]), int(meta["every"]),
                   tuple(float(v) for v in meta["origin"]), float(meta["angle"]))  # type: ignore[arg-type]


def ease(name: str, t: np.ndarray | float) -> np.ndarray:
    """Progress (0..1) at time ``t`` (0..1) under an ease: Blender's sine easings, the
    curves its keyframes draw with interpolation Sine, so a stepped replay keeps the
    pace of a continuous one."""
    t = np.clip(np.asarray(t, np.float64), 0.0, 1.0)
    if name == "EASE_IN":
        return 1.0 - np.cos(t * np.pi / 2)
    if name == "EASE_OUT":
        return np.sin(t * np.pi / 2)
    if name == "EASE_IN_OUT":
        return (1.0 - np.cos(np.pi * t)) / 2
    return t


def luminance(rgb_linear: np.ndarray) -> np.ndarray:
    """Relative luminance (Rec. 709) of linear colours [..., 3]: how light a stroke looks."""
    return np.asarray(rgb_linear, np.float64)[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def hue(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hue in 0..1, chroma) of colours [..., 3] (any encoding: only the order matters)."""
    c = np.asarray(rgb, np.float64)[..., :3]
    hi, lo = c.max(-1), c.min(-1)
    chroma = hi - lo
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    h = np.where(hi == r, ((g - b) / safe) % 6, np.where(hi == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return np.where(chroma > 0, h / 6.0, 0.0), chroma


def replay_beats(order: str, painted: np.ndarray, level: np.ndarray, centre: np.ndarray, rgb_linear: np.ndarray,
                 replay: Replay, mask_at: np.ndarray | None = None) -> np.ndarray:
    """Each stroke's beat (1, 2, ...): the moment it starts to appear, in ``order``.

    ``painted``: painting order (1-based; 0 for a stroke drawn by hand, which comes after
    the painted ones); ``level``; ``centre`` [N, 2] in canvas fractions (y down); linear
    colours [N, 3]; ``mask_at`` the replay mask's brightness at each centre (REGION).
    Every order but LEVEL gives each stroke a beat of its own (ties keep painting order);
    LEVEL gives all the strokes of a level one beat."""
    n = len(painted)
    if n == 0:
        return np.zeros(0, np.float32)
    hand = painted <= 0
    base = np.where(hand, np.iinfo(np.int32).max, painted).astype(np.int64)
    sequence = np.lexsort((np.arange(n), base))  # painting order, hand-drawn strokes last
    rank_painted = np.empty(n, np.int64)
    rank_painted[sequence] = np.arange(n)
    if order == "LEVEL":
        levels = np.unique(level)
        return (np.searchsorted(levels, level) + 1).astype(np.float32)
    if order == "PAINTED":
        key: np.ndarray = np.zeros(n)
    elif order == "REGION":
        if mask_at is None:
            raise ValueError("Region First needs a replay mask")
        key = -(np.asarray(mask_at) >= 0.5).astype(np.float64)
    elif order in ("DARK_TO_LIGHT", "LIGHT_TO_DARK"):
        lum = luminance(rgb_linear)
        key = lum if order == "DARK_TO_LIGHT" else -lum
    elif order == "COLOR":
        h, chroma = hue(rgb_linear)
        key = np.where(chroma > 0.02, h, 2.0)  # grays after every hue
    elif order == "OUTWARD":
        key = np.hypot(centre[:, 0] - replay.origin[0], centre[:, 1] - replay.origin[1])
    elif order == "DIRECTION":
        key = centre[:, 0] * np.cos(replay.angle) + centre[:, 1] * np.sin(replay.angle)
    else:
        raise ValueError(f"unknown replay order {order!r}")
    ranked = np.lexsort((rank_painted, np.round(key, 9)))
    beat = np.empty(n, np.float32)
    beat[ranked] = np.arange(1, n + 1)
    return beat


def replay_keys(replay: Replay, beats: int, grow: float) -> list[tuple[float, float]]:
    """(frame, Step) keyframes of the replay modifier for ``beats`` beats. Build: from 0
    at the start to every stroke grown at ``start + duration - hold`` (the ease is the
    keyframes' interpolation). Keyframes: one key per step of ``every`` beats (a level
    per step in By Level), spaced by the ease, each showing its strokes whole."""
    end = replay.start + max(1, replay.duration - replay.hold)
    if replay.mode == "BUILD":
        return [(float(replay.start), 0.0), (float(end), float(beats) + grow)]
    per = 1 if replay.order == "LEVEL" else max(1, int(replay.every))
    steps = max(1, -(-beats // per))
    frames = replay.start + (end - replay.start) * ease(replay.ease, np.arange(1, steps + 1) / steps)
    keys = {float(replay.start): 0.0}
    for k, f in enumerate(frames, 1):  # on whole frames: steps that share one show together
        keys[float(max(replay.start + 1, np.floor(float(f) + 0.5)))] = float(min(beats, k * per))
    return sorted(keys.items())
