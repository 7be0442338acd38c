"""Painting options: every setting, its default, limits and help, defined once.

The command line (``python -m core paint``, ``paint-frames``), the worker the Blender add-on
starts, the add-on's headless command and its panel all offer the same settings. Each
is declared here once, as a dataclass field with a :class:`Setting`; the command lines
build their flags from it, the worker reads requests with :meth:`PaintOptions.from_dict`
(an unknown key is an error, never a silent default), and the add-on's properties take
their limits and defaults from it (a test ties them). :meth:`PaintOptions.validate` is
the one check every path runs.

Torch-free on purpose: the add-on imports this module in Blender's own Python.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from typing import Any, Callable, ClassVar, Iterable, TypeVar

from ..errors import PainterError
from .brushes import PRESETS as BRUSH_PRESETS
from .styles import get_style

DEVICES = ("auto", "cpu", "cuda", "mps")
RENDERERS = ("analytic", "neural")
STYLE_MODES = ("color", "full")
STYLE_FEATURES = ("offline", "vgg16")
#: Named backgrounds; any colour may also be given as ``#rrggbb`` or ``r,g,b`` in 0..1.
BACKGROUNDS = ("white", "black", "mean")
#: Greatest seed: Blender's integer properties hold 32-bit signed numbers.
MAX_SEED = 2 ** 31 - 1


@dataclass(frozen=True)
class Setting:
    """What one option is, for every place that offers it."""

    help: str
    label: str = ""  # the add-on's name for it (Title Case); empty: not in the panel
    lo: float | None = None
    hi: float | None = None
    soft_hi: float | None = None  # a slider's usual top (the panel's soft maximum)
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    kind: type | None = None  # int, float or str; None: the default's type
    flag: str = ""  # the command-line flag; empty: --name-with-dashes
    none: str = ""  # what None means, for the help text ("from --strokes", "the style's")
    cli: bool = True  # offered on the command lines
    metavar: str = ""  # the flag's value in the help (IMAGE, PX, ...)

    def choice_list(self) -> tuple[str, ...]:
        c = self.choices() if callable(self.choices) else self.choices
        return tuple(c or ())


def setting(default: Any, **kw: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(**kw)})


def _style_names() -> tuple[str, ...]:
    from .styles import style_names

    return style_names()


T = TypeVar("T", bound="_Record")


class _Record:
    """Strict dict round trips and generic checks for the option records below."""

    _what: ClassVar[str] = "option"

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        return {f.name: f.metadata["setting"] for f in fields(cls) if "setting" in f.metadata}  # type: ignore[arg-type]

    @classmethod
    def default_of(cls, name: str) -> Any:
        f = {f.name: f for f in fields(cls)}[name]  # type: ignore[arg-type]
        if f.default is not MISSING:
            return f.default
        return f.default_factory()  # type: ignore[misc,operator]

    @classmethod
    def flag_of(cls, name: str) -> str:
        s = cls.settings().get(name)
        return (s.flag if s and s.flag else "--" + name.replace("_", "-"))

    @classmethod
    def from_dict(cls: type[T], data: Any, where: str = "") -> T:
        """The record a dict describes; an unknown key (a misspelling, a setting of a
        newer add-on) is a one-line error, never a silently ignored default."""
        if not isinstance(data, dict):
            raise PainterError(f"{where or cls._what + 's'} must be an object of settings, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        for key in data:
            if key not in known:
                near = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise PainterError(f"unknown {cls._what} {key!r}{hint}: the engine knows {', '.join(known)}; "
                                   "update the add-on and the engine together")
        return cls(**{k: cls._decode(k, v) for k, v in data.items()})

    @classmethod
    def _decode(cls, name: str, value: Any) -> Any:
        return value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def check_settings(self) -> None:
        """Type, choices and limits of every declared setting, one line each."""
        for f in fields(self):  # type: ignore[arg-type]
            s: Setting | None = f.metadata.get("setting")
            value = getattr(self, f.name)
            if s is None or (value is None and f.default is None):
                continue
            flag = self.flag_of(f.name)
            kind = s.kind or type(f.default)
            if kind is bool:
                if not isinstance(value, bool):
                    raise PainterError(f"{flag} must be true or false, got {value!r}")
                continue
            if kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise PainterError(f"{flag} must be a whole number, got {value!r}")
            elif kind is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise PainterError(f"{flag} must be a number, got {value!r}")
            choices = s.choice_list()
            if choices and value not in choices:
                raise PainterError(f"unknown {f.name.replace('_', ' ')} {value!r} ({flag}): use one of "
                                   f"{', '.join(choices)}")
            if (s.lo is not None and value < s.lo) or (s.hi is not None and value > s.hi):
                if s.hi is None:
                    span = f"at least {_num(s.lo)}"
                elif s.lo is None:
                    span = f"at most {_num(s.hi)}"
                else:
                    span = f"{_num(s.lo)} to {_num(s.hi)}"
                raise PainterError(f"{flag} {_num(value)} is out of range: use {span}")


def _num(x: Any) -> str:
    """A limit or value as a person writes it: 20000, 0.05, 2147483647 (not 2.14748e+09)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


# --- background -------------------------------------------------------------------------

def parse_background(value: Any) -> str | tuple[float, float, float]:
    """A background as the user may write it: ``white``, ``black``, ``mean`` (the image's
    mean colour), ``#rrggbb`` or ``r,g,b`` in 0..1, or an RGB triple. Returns the name
    or the colour; every path (CLI, worker, headless command, panel) reads it here.

    Colours are rounded to float32, the precision Blender stores a colour property in,
    so a colour typed on the command line and the same colour set in the panel paint
    the same painting."""
    def fail(why: str = "") -> PainterError:
        return PainterError(f"--background {value!r} is not a colour{why}: use white, black, mean, "
                            "#rrggbb or r,g,b with values in 0..1")

    if isinstance(value, (tuple, list)):
        try:
            rgb = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise fail() from None
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in BACKGROUNDS:
            return text
        if text.startswith("#"):
            if len(text) != 7:
                raise fail()
            try:
                rgb = tuple(int(text[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
            except ValueError:
                raise fail() from None
        else:
            try:
                rgb = tuple(float(x) for x in text.split(","))
            except ValueError:
                raise fail() from None
    else:
        raise fail()
    if len(rgb) != 3 or not all(math.isfinite(c) for c in rgb):
        raise fail()
    if not all(0.0 <= c <= 1.0 for c in rgb):
        raise fail(" (each of r, g, b must be within 0..1)")
    return tuple(_float32(c) for c in rgb)  # type: ignore[return-value]


def _float32(x: float) -> float:
    """``x`` rounded to the nearest float32 (without numpy, which Blender's Python has
    but a bare interpreter may not)."""
    import struct

    return struct.unpack("<f", struct.pack("<f", x))[0]


def background_colour(value: Any, mean: Callable[[], tuple[float, float, float]] | None = None
                      ) -> tuple[float, float, float]:
    """The background's sRGB colour; ``mean`` gives the image's mean colour for ``mean``."""
    bg = parse_background(value)
    if bg == "white":
        return (1.0, 1.0, 1.0)
    if bg == "black":
        return (0.0, 0.0, 0.0)
    if bg == "mean":
        if mean is None:
            raise PainterError("--background mean needs an image")
        return mean()
    return bg  # type: ignore[return-value]


def composite_colour(value: Any) -> tuple[float, float, float]:
    """What a transparent reference image is flattened onto before painting: the
    background's colour, black on black, and white for ``mean`` (the mean is taken of the
    flattened image)."""
    bg = parse_background(value)
    if bg == "black":
        return (0.0, 0.0, 0.0)
    if isinstance(bg, tuple):
        return bg
    return (1.0, 1.0, 1.0)


# --- the options ------------------------------------------------------------------------

@dataclass(frozen=True)
class Tuning(_Record):
    """Knobs of the optimiser that benchmarks and tests turn, not users (measured in
    benchmarks/RESULTS.md; the painter's defaults are what measured best)."""

    _what: ClassVar[str] = "tuning setting"

    round_size: int = 16  # strokes placed and optimised together in one greedy round
    candidates: int | None = None  # random strokes scored per new stroke; None: the style's
    refine_scale: float | None = None  # size of the final pass relative to the painting; None: the style's
    block_px: int = 64  # each level is optimised where a grid block spans about this many px
    lr_shape: float = 0.05  # a new stroke's shape step, in blocks of its level
    lr_colour: float = 0.02  # its colour and alpha step
    refine_lr_shape: float = 0.02  # the final pass's shape step, in blocks of the stroke's level
    refine_lr_colour: float = 0.03  # its colour step
    loss: str = "l2"  # "l2" (squared error, what PSNR measures) or "l1"
    style_size: int = 128  # the canvas is seen at this size by the style loss

    def validate(self) -> None:
        for name in ("round_size", "block_px", "style_size"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise PainterError(f"tuning {name} must be a whole number >= 1, got {getattr(self, name)!r}")
        if self.candidates is not None and not (isinstance(self.candidates, int) and self.candidates >= 1):
            raise PainterError(f"tuning candidates must be a whole number >= 1, got {self.candidates!r}")
        for name in ("lr_shape", "lr_colour", "refine_lr_shape", "refine_lr_colour"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise PainterError(f"tuning {name} must be a number >= 0, got {v!r}")
        if self.refine_scale is not None and not 0.05 <= self.refine_scale <= 1:
            raise PainterError(f"tuning refine_scale must be from 0.05 to 1, got {self.refine_scale!r}")
        if self.loss not in ("l1", "l2"):
            raise PainterError(f"tuning loss {self.loss!r} is unknown: use l1 or l2")


#: Steps of gradient descent per greedy round of new strokes, unless --iterations says.
DEFAULT_ITERATIONS = 10


@dataclass(frozen=True)
class PaintOptions(_Record):
    """A painting's settings. Frozen: a run is described once and never edited after;
    make a changed copy with :meth:`replace`."""

    style: str = setting("oil", label="Style", choices=_style_names,
                         help="kind of brush stroke (marker, watercolor, oil or tape)")
    strokes: int = setting(500, label="Strokes", lo=1, hi=20000, soft_hi=5000,
                           help="stroke budget, honoured exactly")
    levels: int | None = setting(None, label="Levels", lo=1, hi=12, kind=int, none="from --strokes",
                                 help="coarse-to-fine levels")
    size: int = setting(512, label="Working Size", lo=16, hi=4096, soft_hi=1024,
                        help="long side of the canvas the strokes are optimised on, px")
    seed: int = setting(0, label="Seed", lo=0, hi=MAX_SEED,
                        help="random seed; the same seed and settings on the same machine give the same painting")
    device: str = setting("auto", label="Device", choices=DEVICES, help="where the optimiser runs")
    background: Any = setting("white", metavar="COLOUR", label="Background", kind=str,
                              help="white, black, mean (the image's mean colour), #rrggbb or r,g,b in 0..1")
    ot_weight: float | None = setting(None, lo=0, kind=float, none="the style's",
                                      help="weight of the optimal-transport loss")
    renderer: str = setting("analytic", label="Renderer", choices=RENDERERS,
                            help="renderer the optimiser draws through (neural: weights/STYLE.pt)")
    weights: str | None = setting(None, metavar="FILE", kind=str, none="weights/STYLE.pt", help="neural renderer weights file")
    iterations: int | None = setting(None, lo=1, hi=10000, kind=int, none=str(DEFAULT_ITERATIONS),
                                     help="optimisation steps per round of new strokes")
    refine: int | None = setting(None, lo=0, hi=10000, kind=int, none="the style's: marker 30, watercolor 35, "
                                 "oil 45, tape 60", help="steps of the final pass over all strokes together (0: off)")
    min_alpha: float | None = setting(None, lo=0.05, hi=1, kind=float,
                                      none="1 for oil, opaque paint; 0.3 otherwise", help="lowest stroke opacity")
    detail_mask: str | None = setting(None, metavar="IMAGE", label="Detail Mask", kind=str,
                                      help="a greyscale image of the picture's shape: white asks for the most detail "
                                           "(more, smaller strokes), black the least")
    auto_detail: bool = setting(False, label="Auto Detail",
                                help="faces (found by OpenCV's own detectors) and edges ask for more detail")
    min_stroke: float | None = setting(None, metavar="PX", label="Min Stroke", lo=0.5, kind=float, none="no limit",
                                       help="no stroke thinner than this, px of the working canvas")
    max_stroke: float | None = setting(None, metavar="PX", label="Max Stroke", lo=1, kind=float, none="no limit",
                                       help="no stroke longer than this, px of the working canvas")
    palette: str | None = setting(None, metavar="SPEC", label="Palette", kind=str, none="any colour",
                                  help="paint with these colours only: #rrggbb codes separated by commas, a GIMP .gpl "
                                       "file, or a number N for N colours taken from the picture")
    brush: str | None = setting(None, metavar="IMAGE", label="Brush", kind=str, none="the style's own look",
                                help="the brush's look: a PNG (its alpha, or its darkness, is where it leaves paint) "
                                     "or one of the brushes that ship: " + ", ".join(BRUSH_PRESETS))
    style_image: str | None = setting(None, metavar="IMAGE", label="Style Image", kind=str,
                                      help="paint in the style of this image (colours and texture)")
    style_mode: str = setting("full", label="Style Mode", choices=STYLE_MODES,
                              help="color: the style changes only colours; full: shapes too")
    style_weight: float = setting(0.4, label="Style Weight", lo=0, soft_hi=2.0, help="style loss weight")
    style_features: str = setting("offline", label="Style Features", choices=STYLE_FEATURES,
                                  help="offline: built-in random filter bank, no download; vgg16: ImageNet VGG-16")
    vgg_weights: str | None = setting(None, metavar="FILE", kind=str, none="the torch cache",
                                      help="VGG-16 weights file (torchvision's vgg16-397923af.pth)")
    allow_download: bool = setting(False, cli=False, help="may fetch the VGG-16 weights into the torch cache")
    tuning: Tuning = field(default_factory=Tuning)

    def replace(self, **changes: Any) -> "PaintOptions":
        return replace(self, **changes)

    @classmethod
    def _decode(cls, name: str, value: Any) -> Any:
        if name == "tuning":
            return value if isinstance(value, Tuning) else Tuning.from_dict(value, "tuning")
        if name == "background" and isinstance(value, list):
            return tuple(value)
        return value

    def validate(self) -> "PaintOptions":
        """Every check of a painting's settings, in one place: one line naming the
        setting and the fix. Returns the options, so a call can be chained."""
        get_style(self.style)
        self.check_settings()
        parse_background(self.background)
        if self.min_stroke is not None and self.max_stroke is not None and self.min_stroke > self.max_stroke:
            raise PainterError(f"--min-stroke {_num(self.min_stroke)} is above --max-stroke {_num(self.max_stroke)}: "
                               "no stroke could be both; lower the minimum or raise the maximum")
        for name, what in (("detail_mask", "an image file"), ("palette", "#rrggbb codes, a .gpl file or a number"),
                           ("brush", "a PNG or a brush that ships")):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise PainterError(f"{self.flag_of(name)} is empty: give {what}")
        if self.brush is not None:
            if not self.spec.takes_brush:
                raise PainterError(self.spec.brush_refusal(self.brush))
            if self.renderer == "neural":
                raise PainterError(f"--brush {self.brush} needs --renderer analytic: the neural renderer learnt each "
                                   "style's own look and has no weights for a brush")
        if not isinstance(self.tuning, Tuning):
            raise PainterError("tuning must be a Tuning record")
        self.tuning.validate()
        return self

    # What the painter does for this style, unless told otherwise.
    @property
    def spec(self):  # -> StyleSpec
        return get_style(self.style)

    @property
    def refine_steps(self) -> int:
        return self.spec.defaults.refine if self.refine is None else int(self.refine)

    @property
    def round_iterations(self) -> int:
        return self.iterations or DEFAULT_ITERATIONS

    @property
    def opacity_floor(self) -> float:
        return self.spec.defaults.min_alpha if self.min_alpha is None else float(self.min_alpha)

    @property
    def ot(self) -> float:
        return self.spec.defaults.ot_weight if self.ot_weight is None else float(self.ot_weight)

    @property
    def candidates(self) -> int:
        return self.spec.defaults.candidates if self.tuning.candidates is None else self.tuning.candidates

    @property
    def refine_scale(self) -> float:
        return self.spec.defaults.refine_scale if self.tuning.refine_scale is None else self.tuning.refine_scale

    def style_meta(self) -> dict[str, Any]:
        """How the style loss was set, for a painting's ``meta``."""
        return {"style_image": str(self.style_image), "style_mode": self.style_mode,
                "style_weight": self.style_weight, "style_features": self.style_features}


@dataclass(frozen=True)
class TemporalOptions(_Record):
    """How a frame of a shot follows the previous one. Defaults measured in
    benchmarks/RESULTS.md ("Painted animation")."""

    _what: ClassVar[str] = "shot setting"

    iterations: int = setting(55, lo=0, hi=1000, flag="--reopt-iterations",
                              help="steps of the joint pass per frame after the first")
    joint_lr_shape: float = 0.02  # its shape step, in blocks of the stroke's level (as the painter's refine)
    joint_lr_colour: float = 0.03  # its colour step (as the painter's refine)
    reopt_levels: int = 2  # covered and torn strokes are dropped from the finest levels only
    change_weight: float = setting(1.0, lo=0, help="penalty on strokes changing between frames; higher is steadier")
    colour_unit: float = 0.02  # a colour change this big costs as much as a 1 px move
    grow_threshold: float = 0.06  # blurred error rise (0..1) that marks newly visible content
    covered_fraction: float = 0.5  # drop a stroke when this much of it is covered in the new frame
    refit_fraction: float = 0.25  # re-fit a fine stroke freely when this much of it lies on what moves on its own
    moving_px: float = 1.0  # what moves on its own by more than this (px) carries its strokes, and its fine
    # ones are re-fitted freely; the rest follow the camera. 0: every stroke follows the flow, held by the
    # penalty on change
    moving_colour_change: float = 0.02  # ... and where the colour changed by more than this (0..1)
    active_threshold: float = 0.01  # re-optimise strokes where the blurred error rose by more than this
    active_levels: int = 1  # ... of the finest this many levels only (coarser ones keep where the flow put them)
    torn_threshold: float = 0.08  # drop (and repaint) fine strokes where it rose by more than this
    gap_threshold: float = 0.3  # also re-optimise fine strokes beside a gap: a pixel this far (0..1, in
    # any channel) from what the frame should look like where the frame is smooth (see gaps_between_strokes);
    # 0: never
    gap_levels: int = 2  # ... of the finest this many levels
    add_iterations: int = 8  # optimisation steps per greedy round of strokes added in a frame
    max_new_fraction: float = 0.1  # at most this share of the budget is added per frame
    min_fraction: float = 0.92  # top the count up to this share of the budget
    refresh_margin: float = 0.02  # refresh when the error is this much above the first frame's
    refresh_fraction: float = 0.09  # share of the budget recycled per frame by a refresh
    refresh_min_flow_px: float = 0.25  # no refresh when the picture moves less than this on average (px)
    keep_look: float = setting(0.25, label="Keep Look", lo=0, hi=1,
                               help="0..1: how far new and re-fitted strokes keep the look of the previous "
                                    "painting moved along the flow rather than follow the frame (higher is "
                                    "steadier and less faithful)")
    keep_look_moving: float = setting(0.55, label="Keep Look, Moving", lo=0, hi=1,
                                      help="0..1: the same on what moves on its own, whose fine strokes are "
                                           "re-fitted every frame")

    def replace(self, **changes: Any) -> "TemporalOptions":
        return replace(self, **changes)

    def validate(self) -> "TemporalOptions":
        self.check_settings()
        if self.active_levels < 1 or self.gap_levels < 1:
            raise PainterError(f"active_levels and gap_levels must be at least 1, got {self.active_levels} "
                               f"and {self.gap_levels}")
        if not 0 <= self.refit_fraction <= 1:
            raise PainterError(f"refit_fraction must be between 0 and 1, got {self.refit_fraction}")
        if not 0 <= self.gap_threshold <= 1:
            raise PainterError(f"gap_threshold must be between 0 and 1, got {self.gap_threshold}")
        return self


# --- command lines ------------------------------------------------------------------------

def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_arguments(parser: Any, record: type[_Record], names: Iterable[str] | None = None,
                  exclude: Iterable[str] = ()) -> None:
    """Add a flag for each of ``record``'s settings (all that are offered on the command
    line, or ``names``) to an argparse parser. Every flag defaults to None, meaning
    "the record's default", which the help states; ranges are checked by the record's
    ``validate``, so a command line and a request from Blender fail alike."""
    settings = record.settings()
    skip = set(exclude)
    for name in (list(names) if names is not None else list(settings)):
        s = settings[name]
        if (names is None and not s.cli) or name in skip:
            continue
        f_default = record.default_of(name)
        kind = s.kind or type(f_default)
        shown = s.none if f_default is None else f_default
        text = f"{s.help} (default {shown})" if shown not in ("", None) else s.help
        if kind is bool:  # a switch: given means on
            parser.add_argument(record.flag_of(name), dest=name, action="store_const", const=True, default=None,
                                help=s.help)
            continue
        parse: Callable[[str], Any] = _whole if kind is int else _number if kind is float else str
        choices = s.choice_list()
        metavar = s.metavar or ("{" + ",".join(choices) + "}" if choices else "N" if kind is int
                                else "X" if kind is float else None)
        parser.add_argument(record.flag_of(name), dest=name, type=parse, default=None, help=text, metavar=metavar)


def from_arguments(record: type[T], args: Any, names: Iterable[str] | None = None, **fixed: Any) -> T:
    """The record from parsed flags (only those given; the rest keep their defaults).
    ``names``: the settings the command offers, where its own arguments share a name
    with another setting (``stylize STROKES.json`` is not ``--strokes``)."""
    given = {name: getattr(args, name) for name in (names if names is not None else record.settings())
             if getattr(args, name, None) is not None}
    return record(**{**given, **fixed})
