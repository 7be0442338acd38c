"""Stroke styles: everything the engine and the add-on know about a style, in one place.

A style is a :class:`StyleSpec`: the kind of shape its strokes have (a curve or a box),
how many colours a stroke carries, how it looks (caps, soft edge, texture) and the
defaults the painter measured best for it. Its parameter columns follow from the shape
and the colours, and code asks the spec for them by group (``spec.cols.size``), never
by a column number or a name prefix, so a new style is one new spec.

Parameters live in [0, 1]. Positions are fractions of the canvas width (x) and height
(y, downwards); lengths (radii, widths, heights) are fractions of the canvas's *long*
side, so a stroke keeps its shape on a non-square canvas. Angles are fractions of pi.

This module imports neither torch nor bpy: the Blender add-on builds its style menu
from it, and the geometry (``core.model.geometry``) reads the spec, not the name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from ..errors import PainterError
from .brushes import Brush

#: Smallest stroke half-thickness, as a fraction of the long side; keeps strokes visible.
MIN_RADIUS = 0.002


class Shape(str, enum.Enum):
    #: A quadratic Bezier (three control points) with a radius at each end.
    CURVE = "curve"
    #: A rotated rectangle: centre, width, height and angle.
    BOX = "box"


@dataclass(frozen=True)
class Look:
    """How a stroke of the style is drawn, wherever it is drawn (the optimiser's renderer,
    the reference renderer, SVG, Grease Pencil)."""

    cap: str = "round"  # "round" or "flat": how the stroke's ends are drawn
    softness: float = 0.0  # 0: a hard edge; > 0: a wash whose edge fades over this share of the radius
    texture: str | None = None  # "bristle": oil's relief and dry brush; None: flat colour
    brush: Brush | None = None  # the artist's brush: its stencil stretched over the stroke (replaces texture)

    @property
    def textured(self) -> bool:
        return self.texture is not None


@dataclass(frozen=True)
class Defaults:
    """What the painter does for this style unless told otherwise (measured in
    benchmarks/RESULTS.md, "Where the dBs came from")."""

    refine: int  # steps of the final pass over every stroke
    refine_scale: float = 1.0  # size of that pass relative to the painting (a soft wash loses nothing at 5/8)
    candidates: int = 24  # random strokes scored for each new one
    min_alpha: float = 0.3  # lowest opacity (oil paint covers: 1)
    max_alpha: float = 1.0  # highest opacity (a watercolour wash never covers fully)
    ot_weight: float = 0.0  # weight of the Sinkhorn loss (bought nothing once the final pass existed)


@dataclass(frozen=True)
class Columns:
    """Where each group of parameters sits in a stroke's row. Contiguous groups are
    slices, so ``params[:, cols.size]`` is a view."""

    position: slice  # curve: x0 y0 x1 y1 x2 y2 (three control points); box: cx cy (centre)
    size: slice  # curve: r0 r2 (end radii); box: w h
    angle: int | None  # box: theta (a fraction of pi); curve: None (a curve's direction is its points)
    colour_start: slice  # r g b at the start of the stroke
    colour_end: slice  # at its end; the same columns for a one-colour style
    alpha: int

    @property
    def colour(self) -> slice:
        """Every colour column (both ends)."""
        return slice(self.colour_start.start, max(self.colour_start.stop, self.colour_end.stop))

    def point(self, k: int) -> slice:
        """Curve control point ``k`` (0, 1, 2) as an (x, y) slice."""
        start = self.position.start + 2 * k
        return slice(start, start + 2)


@dataclass(frozen=True)
class StyleSpec:
    name: str
    paper_name: str  # the name in Zou et al.'s code, for reference
    label: str  # as menus show it
    description: str
    shape: Shape
    colours: int  # 1: one colour; 2: a colour at each end, graded along the stroke
    look: Look
    defaults: Defaults
    params: tuple[str, ...] = field(init=False)
    cols: Columns = field(init=False)

    def __post_init__(self) -> None:
        if self.colours not in (1, 2):
            raise PainterError(f"style {self.name!r}: a stroke carries 1 or 2 colours, not {self.colours}")
        if self.shape is Shape.CURVE:
            names = ["x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2"]
            position, size, angle = slice(0, 6), slice(6, 8), None
        else:
            names = ["cx", "cy", "w", "h", "theta"]
            position, size, angle = slice(0, 2), slice(2, 4), 4
        first = len(names)
        if self.colours == 1:
            names += ["r", "g", "b"]
            start = end = slice(first, first + 3)
        else:
            names += ["r_0", "g_0", "b_0", "r_2", "g_2", "b_2"]
            start, end = slice(first, first + 3), slice(first + 3, first + 6)
        names.append("a")
        object.__setattr__(self, "params", tuple(names))
        object.__setattr__(self, "cols", Columns(position, size, angle, start, end, len(names) - 1))

    @property
    def dim(self) -> int:
        return len(self.params)

    @property
    def is_curve(self) -> bool:
        return self.shape is Shape.CURVE

    @property
    def cap(self) -> str:
        return self.look.cap

    @property
    def softness(self) -> float:
        return self.look.softness

    @property
    def textured(self) -> bool:
        return self.look.textured

    @property
    def brush(self) -> Brush | None:
        return self.look.brush

    @property
    def takes_brush(self) -> bool:
        """Box strokes with hard edges: a box is drawn as one straight two-point stroke,
        whose texture Grease Pencil maps tip to tip exactly as the engine does. Along a
        curve it maps a texture per segment of the polyline, and a wash already carries
        its rim as its texture; the engine models neither with a brush yet."""
        return not self.is_curve and self.softness == 0

    def brush_refusal(self, brush_name: str) -> str:
        """The one line that says this style cannot paint with a brush, and what can."""
        able = ", ".join(s.name for s in STYLES.values() if s.takes_brush)
        return (f"style {self.name} cannot paint with a brush (--brush {brush_name}): its strokes are "
                f"{'curves' if self.is_curve else 'soft washes'}; use the brush with {able}, or paint without one")

    def with_brush(self, brush: Brush | None) -> "StyleSpec":
        """This style painted with ``brush``: the same strokes and parameters, the brush's
        stencil as their look (for oil, in place of its bristle relief). Not registered:
        a painting's style stays its name, its ``meta`` says the brush, and every
        renderer takes the derived spec wherever it takes a style's name."""
        if brush is None:  # the style as registered (oil gets its bristles back)
            return STYLES.get(self.name, self) if self.look.brush is not None else self
        if not self.takes_brush:
            raise PainterError(self.brush_refusal(brush.name))
        return replace(self, look=replace(self.look, texture=None, brush=brush))

    @property
    def shape_columns(self) -> list[int]:
        """The columns that say where the stroke is (everything but colour and alpha)."""
        colour = set(range(self.dim)[self.cols.colour]) | {self.cols.alpha}
        return [i for i in range(self.dim) if i not in colour]

    @property
    def x_columns(self) -> list[int]:
        """Columns that are x positions (fractions of the canvas width)."""
        return list(range(self.dim)[self.cols.position][0::2])

    @property
    def y_columns(self) -> list[int]:
        return list(range(self.dim)[self.cols.position][1::2])

    def index(self, *names: str) -> list[int]:
        return [self.params.index(n) for n in names]


STYLES: dict[str, StyleSpec] = {}


def register_style(spec: StyleSpec) -> StyleSpec:
    """Make a style known to every part of the engine (a test's sixth style, a plug-in)."""
    if not spec.name or not spec.name.isidentifier():
        raise PainterError(f"style name {spec.name!r} must be a plain word (letters, digits, _)")
    STYLES[spec.name] = spec
    return spec


def unregister_style(name: str) -> None:
    STYLES.pop(name, None)


def style_names() -> tuple[str, ...]:
    return tuple(STYLES)


def get_style(name: "str | StyleSpec") -> StyleSpec:
    """The registered style of that name; a spec is itself (a style painted with a
    brush is a derived spec that renderers take wherever they take a name)."""
    if isinstance(name, StyleSpec):
        return name
    try:
        return STYLES[name]
    except (KeyError, TypeError):
        raise PainterError(f"unknown style {name!r}: choose one of {', '.join(STYLES)}") from None


for _spec in (
    StyleSpec("marker", "markerpen", "Marker", "Marker pen: curved strokes of solid colour with round ends",
              Shape.CURVE, 1, Look(cap="round"), Defaults(refine=30)),
    StyleSpec("watercolor", "watercolor", "Watercolor",
              "Watercolor: curved translucent washes with soft edges and a colour gradient",
              Shape.CURVE, 2, Look(cap="round", softness=0.5),
              Defaults(refine=35, refine_scale=0.625, candidates=12, max_alpha=0.85)),
    StyleSpec("oil", "oilpaintbrush", "Oil",
              "Oil paint brush: textured strokes with round ends, colour varying along the stroke",
              Shape.BOX, 2, Look(cap="round", texture="bristle"), Defaults(refine=45, min_alpha=1.0)),
    StyleSpec("tape", "rectangle", "Tape", "Tape: flat rectangles of solid colour",
              Shape.BOX, 1, Look(cap="flat"), Defaults(refine=60)),
):
    register_style(_spec)
