"""The worker protocol: how the Blender add-on and the engine's worker process talk.

The add-on starts ``python -m core.app.worker`` (Blender's Python with torch installed
beside the extension, or any interpreter the user chose), writes one :class:`Request` as
a JSON line on its stdin and reads JSON-lines events from its stdout as the painting
grows. Later lines on stdin are commands: ``cancel`` (or closing stdin, or SIGTERM)
stops the run; every level already sent stays valid.

Every message is a frozen dataclass here, with ``to_dict`` / ``from_dict``; both sides
build and read messages only through these, so a field is named in one place. Reading
is strict: an unknown event, a missing or misspelled field, a value of the wrong kind
is a :class:`ProtocolError` with one line, never a silent default. A request is built
once and never edited: the add-on's operators assemble its fields, the driver adds
what it alone knows (the engine, a download the user agreed to) before building it.

Arrays travel as ``{"shape": [...], "data": base64 of little-endian float32}``: a
10,000-stroke level is a few megabytes, which JSON number lists would make several
times larger and slower to parse.

This module imports neither torch nor bpy, so the add-on reads it in Blender's Python.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, cast

import numpy as np

from ..errors import PainterError
from .options import PaintOptions, TemporalOptions

#: Version 2: typed messages, strict keys (version 1 ignored keys it did not know).
PROTOCOL = 2
#: The engines every worker has; a test may add stand-ins (``NEURAL_PAINTER_EXTRA_ENGINES``).
ENGINES = ("painter", "stylize", "import")
#: Commands on stdin after the request.
CANCEL = "cancel"


class ProtocolError(PainterError):
    """A message that does not follow the protocol: the add-on and the engine are out of
    step (update both together) or a message was damaged."""


# --- arrays -------------------------------------------------------------------------------

def encode_array(a: Any) -> dict[str, Any]:
    a = np.ascontiguousarray(a, dtype="<f4")
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(d: Any, what: str = "array") -> np.ndarray:
    if not isinstance(d, dict) or set(d) != {"shape", "data"}:
        raise ProtocolError(f"{what} must be an object with shape and data")
    shape, data = d["shape"], d["data"]
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 31
                                             for n in shape) and len(shape) <= 8):
        raise ProtocolError(f"{what} has a bad shape {str(shape)[:60]}")
    if not isinstance(data, str):
        raise ProtocolError(f"{what} data must be base64 text")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what} data is not valid base64") from None
    count = math.prod(shape)
    if len(raw) != 4 * count:
        raise ProtocolError(f"{what} holds {len(raw)} bytes, its shape {shape} needs {4 * count}")
    return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()


# --- reading fields -------------------------------------------------------------------------

_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
                                       "dict": (dict,), "list": (list,)}


def _check(value: Any, kind: str, optional: bool, where: str) -> Any:
    if value is None and optional:
        return None
    types = _KINDS[kind]
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, types):
        raise ProtocolError(f"{where} must be {'a ' + kind if kind != 'int' else 'a whole number'}"
                            f"{' or null' if optional else ''}, got {type(value).__name__}")
    if kind == "float" and not math.isfinite(cast(float, value)):
        raise ProtocolError(f"{where} must be a finite number")
    return value


def _strict(cls: type, data: Any, what: str) -> dict[str, Any]:
    """``data``'s fields for ``cls``: every key known, every required one present."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} must be a JSON object, got {type(data).__name__}")
    names = {f.metadata.get("wire", f.name): f for f in fields(cls) if f.init}
    for key in data:
        if key not in names:
            near = difflib.get_close_matches(str(key), list(names), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ProtocolError(f"{what} has an unknown field {str(key)[:40]!r}{hint}; "
                                "update the add-on and the engine together")
    out = {}
    for wire, f in names.items():
        if wire in data:
            out[f.name] = data[wire]
        elif f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
            raise ProtocolError(f"{what} has no {wire!r}")
    return out


# --- the request ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ShotSpec:
    """A shot to paint with the temporal painter, as ``paint-frames`` paints it."""

    input: str  # a video, a folder of images or a pattern
    out: str  # the folder of frame JSONs (resumable)
    range: str | None = None  # "A-B" of the source; None: all
    fps: float | None = None  # the source's rate where it has none of its own
    to_fps: float | None = None  # paint for playback at this rate (core.io.video_io.retime)
    temporal: TemporalOptions = field(default_factory=TemporalOptions)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "out": self.out, "range": self.range, "fps": self.fps, "to_fps": self.to_fps,
                "temporal": self.temporal.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> "ShotSpec":
        d = _strict(cls, data, "the request's frames")
        for name, kind, optional in (("input", "str", False), ("out", "str", False), ("range", "str", True),
                                     ("fps", "float", True), ("to_fps", "float", True)):
            if name in d:
                _check(d[name], kind, optional, f"frames.{name}")
        if "temporal" in d:
            d["temporal"] = TemporalOptions.from_dict(d["temporal"], "frames.temporal")
        return cls(**d)


@dataclass(frozen=True)
class ImportSpec:
    """Strokes JSON files to read (``import``): one still (frame number None) or the
    frames of a shot."""

    files: tuple[tuple[int | None, str], ...]
    name: str = "strokes files"

    def to_dict(self) -> dict[str, Any]:
        return {"files": [[n, p] for n, p in self.files], "name": self.name}

    @classmethod
    def from_dict(cls, data: Any) -> "ImportSpec":
        d = _strict(cls, data, "the request's import")
        files = _check(d["files"], "list", False, "import.files")
        out = []
        for item in files:
            if not (isinstance(item, list) and len(item) == 2):
                raise ProtocolError("import.files must list [frame number or null, path] pairs")
            out.append((_check(item[0], "int", True, "a frame number"), _check(item[1], "str", False, "a path")))
        return cls(tuple(out), _check(d.get("name", "strokes files"), "str", False, "import.name"))


@dataclass(frozen=True)
class RegionSpec:
    """Refine by region (with ``init``): paint only where ``mask`` is bright (an image
    file or a ``.npy`` of H x W floats, stretched over the painting's canvas) and/or
    around the ``selected`` strokes (indices into the painting as reconciled from
    ``drawn``), which are optimised again; every other stroke is held exactly."""

    mask: str | None = None
    selected: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"mask": self.mask, "selected": list(self.selected)}

    @classmethod
    def from_dict(cls, data: Any) -> "RegionSpec":
        d = _strict(cls, data, "the request's region")
        mask = _check(d.get("mask"), "str", True, "region.mask")
        picked = _check(d.get("selected", []), "list", False, "region.selected")
        for i in picked:
            if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                raise ProtocolError("region.selected must list stroke indices (whole numbers >= 0)")
        if mask is None and not picked:
            raise ProtocolError("region needs a mask or selected strokes")
        return cls(mask, tuple(picked))


@dataclass(frozen=True)
class Request:
    """One run of the engine, written by the add-on as the first line of the worker's stdin.

    ``engine``: "painter" paints ``image`` / ``pixels`` (on top of ``init`` if given), or
    with ``frames`` a shot; "stylize" restyles ``init`` (needs ``options.style_image``);
    "import" reads strokes files (``import_``). ``init`` and ``drawn`` are a painting read
    back from Blender (Refine, Restyle): its canvas, and its strokes as drawn now, which
    the engine reconciles with their stored parameters (``core.model.fit``); with
    ``region`` Refine repaints only part of it (``core.painters.region``).
    """

    engine: str = "painter"
    options: PaintOptions = field(default_factory=PaintOptions)
    image: str | None = None  # a picture file
    pixels: str | None = None  # a .npy of H x W x 3/4 sRGB floats (a Blender image)
    init: dict[str, Any] | None = None  # a StrokeSet JSON
    drawn: list[dict[str, Any]] | None = None
    add_levels: int = 0
    frames: ShotSpec | None = None
    import_: ImportSpec | None = field(default=None, metadata={"wire": "import"})
    region: RegionSpec | None = None  # Refine by region (needs init)
    engine_args: dict[str, Any] = field(default_factory=dict)  # a stand-in engine's own settings (tests)
    protocol: int = PROTOCOL

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "engine": self.engine, "options": self.options.to_dict(),
                "image": self.image, "pixels": self.pixels, "init": self.init, "drawn": self.drawn,
                "add_levels": self.add_levels, "frames": None if self.frames is None else self.frames.to_dict(),
                "import": None if self.import_ is None else self.import_.to_dict(),
                "region": None if self.region is None else self.region.to_dict(), "engine_args": self.engine_args}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> "Request":
        if isinstance(data, dict) and data.get("protocol", PROTOCOL) != PROTOCOL:
            raise ProtocolError(f"protocol {str(data.get('protocol'))[:20]} is not spoken by this engine (it speaks "
                                f"{PROTOCOL}); update the add-on and the engine together")
        d = _strict(cls, data, "the request")
        for name, kind, optional in (("engine", "str", False), ("image", "str", True), ("pixels", "str", True),
                                     ("init", "dict", True), ("drawn", "list", True), ("add_levels", "int", False),
                                     ("engine_args", "dict", False), ("protocol", "int", False)):
            if name in d:
                _check(d[name], kind, optional, f"request.{name}")
        if "options" in d:
            try:
                d["options"] = PaintOptions.from_dict(d["options"], "request.options")
            except TypeError as exc:
                raise ProtocolError(f"request.options: {exc}") from None
        if d.get("frames") is not None:
            d["frames"] = ShotSpec.from_dict(d["frames"])
        if d.get("import_") is not None:
            d["import_"] = ImportSpec.from_dict(d["import_"])
        if d.get("region") is not None:
            d["region"] = RegionSpec.from_dict(d["region"])
        if d.get("add_levels", 0) < 0:
            raise ProtocolError("request.add_levels must be 0 or more")
        return cls(**d)

    @classmethod
    def from_json(cls, line: str) -> "Request":
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            raise ProtocolError("the worker got no valid request (not JSON); update the add-on and the engine "
                                "together") from None
        return cls.from_dict(data)


# --- events ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Geometry:
    """Strokes as the add-on draws them (it never imports the engine's torch code): the
    polylines of ``core.model.geometry``, each oil stroke's texture level, and for a
    painting made with the artist's brush its stencil (``core.contracts.brushes``: rows
    across the stroke, columns along it, 0..1 where it leaves paint) and name, which
    the brush's texture material is made from and named after."""

    points: np.ndarray  # [N, K, 2] long-side units, y down
    radius: np.ndarray  # [N, K]
    rgba: np.ndarray  # [N, K, 4] sRGB colour and stroke alpha
    cap: str
    softness: float
    textured: bool
    levels: np.ndarray  # [N] oil texture level (material) of each stroke; zeros when untextured
    brush: np.ndarray | None = None  # [rows, cols] the brush's stencil in 0..1; None: the style's own look
    brush_name: str | None = None  # with a brush: its name (a preset's, or its picture's file name)

    def to_dict(self) -> dict[str, Any]:
        out = {"points": encode_array(self.points), "radius": encode_array(self.radius),
               "rgba": encode_array(self.rgba), "cap": self.cap, "softness": float(self.softness),
               "textured": bool(self.textured), "levels": encode_array(self.levels)}
        if self.brush is not None:  # (only then: a painting without one reads as it always has)
            out.update(brush=encode_array(self.brush), brush_name=self.brush_name)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "Geometry":
        d = _strict(cls, data, "geometry")
        arrays = {k: decode_array(d[k], f"geometry.{k}") for k in ("points", "radius", "rgba", "levels")}
        n = arrays["points"].shape[0] if arrays["points"].ndim else -1
        if (arrays["points"].ndim != 3 or arrays["points"].shape[2] != 2 or arrays["radius"].shape != arrays["points"].shape[:2]
                or arrays["rgba"].shape != arrays["points"].shape[:2] + (4,) or arrays["levels"].shape != (n,)):
            raise ProtocolError("geometry arrays do not agree in shape (points [N,K,2], radius [N,K], rgba [N,K,4], "
                                "levels [N])")
        cap = _check(d["cap"], "str", False, "geometry.cap")
        if cap not in ("round", "flat"):
            raise ProtocolError(f"geometry.cap must be round or flat, got {cap[:20]!r}")
        brush = None if d.get("brush") is None else decode_array(d["brush"], "geometry.brush")
        name = _check(d.get("brush_name"), "str", True, "geometry.brush_name")
        if brush is not None:
            if brush.ndim != 2 or min(brush.shape) < 1 or not (np.isfinite(brush).all() and 0 <= brush.min()
                                                                and brush.max() <= 1):
                raise ProtocolError("geometry.brush must be a [rows, cols] stencil of values from 0 to 1")
            if not name:
                raise ProtocolError("geometry.brush comes without its brush_name")
        elif name is not None:
            raise ProtocolError("geometry.brush_name comes without its brush")
        return cls(cap=cap, softness=float(_check(d["softness"], "float", False, "geometry.softness")),
                   textured=_check(d["textured"], "bool", False, "geometry.textured"), brush=brush,
                   brush_name=name, **arrays)


@dataclass(frozen=True)
class Strokes:
    """A set of strokes in an event: the StrokeSet JSON (parameters, levels, ids, canvas)
    and the geometry to draw. ``strokes["strokes"]`` lists them in painting order."""

    strokes: dict[str, Any]
    geometry: Geometry

    @classmethod
    def read(cls, d: dict[str, Any], what: str) -> "Strokes":
        s = _check(d["strokes"], "dict", False, f"{what}.strokes")
        if not isinstance(s.get("strokes"), list) or not isinstance(s.get("canvas"), dict):
            raise ProtocolError(f"{what}.strokes is not a strokes JSON (no strokes list or canvas)")
        geometry = Geometry.from_dict(d["geometry"])
        if len(s["strokes"]) != len(geometry.points):
            raise ProtocolError(f"{what} holds {len(s['strokes'])} strokes but geometry for {len(geometry.points)}")
        for i, stroke in enumerate(s["strokes"]):
            if not isinstance(stroke, dict) or not isinstance(stroke.get("params"), list):
                raise ProtocolError(f"{what}.strokes: stroke {i} has no params list")
        return cls(s, geometry)

    def fields(self) -> dict[str, Any]:
        return {"strokes": self.strokes, "geometry": self.geometry.to_dict()}


class Event:
    """A message from the worker. ``name`` is its ``"event"`` on the wire."""

    name: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Strokes):
                out.update(value.fields())
            elif isinstance(value, np.ndarray):
                out[f.name] = encode_array(value)
            else:
                out[f.name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


#: Per field of each event: its kind ("strokes" = a Strokes payload, "array" = a numpy
#: array) and whether it may be null.
_EVENT_KINDS: dict[str, tuple[str, bool]] = {}
EVENTS: dict[str, type[Event]] = {}


def _event(name: str, **kinds: tuple[str, bool]):
    def register(cls):
        cls.name = name
        EVENTS[name] = cls
        cls._kinds = kinds
        return cls
    return register


@_event("hello", protocol=("int", False), python=("str", False), numpy=("str", False), torch=("str", True),
        device=("str", True), texture=("array", True), wash=("array", True))
@dataclass(frozen=True)
class Hello(Event):
    """The worker is up: what it runs on, and the textures Blender's materials carry
    (oil's levels as [levels, rows, cols, RGBA] in 0..1; the wash profile, a
    watercolour's opacity at 0, 0.01, ... 2 radii from its centre line)."""

    protocol: int
    python: str
    numpy: str
    torch: str | None = None  # None: torch is missing
    device: str | None = None
    texture: np.ndarray | None = None
    wash: np.ndarray | None = None


@_event("init", payload=("strokes", False))
@dataclass(frozen=True)
class Init(Event):
    """Refine and Restyle: the painting as the engine reconciled it (what it starts from)."""

    payload: Strokes


@_event("level_started", level=("int", False), levels=("int", False), strokes=("int", False))
@dataclass(frozen=True)
class LevelStarted(Event):
    level: int
    levels: int
    strokes: int


@_event("progress", fraction=("float", False), level=("int", False), loss=("float", False), frame=("int", True))
@dataclass(frozen=True)
class Progress(Event):
    fraction: float  # of the whole run (of the whole shot for a shot), 0..1
    level: int = 0
    loss: float = 0.0
    frame: int | None = None  # a shot's frame being painted


@_event("level", level=("int", False), payload=("strokes", False))
@dataclass(frozen=True)
class Level(Event):
    """A finished level's strokes. Restyle sends one, holding every stroke (each keeps its level)."""

    level: int
    payload: Strokes


@_event("refine_started", strokes=("int", False), steps=("int", False))
@dataclass(frozen=True)
class RefineStarted(Event):
    strokes: int
    steps: int


@_event("refined", payload=("strokes", False))
@dataclass(frozen=True)
class Refined(Event):
    """The final pass moved every stroke of the run: replaces what the levels gave, same
    strokes in the same order."""

    payload: Strokes


@_event("shot", first=("int", False), last=("int", False), frames=("int", False), fps=("float", False),
        source=("str", False))
@dataclass(frozen=True)
class ShotStarted(Event):
    first: int
    last: int
    frames: int  # how many frames the run will send
    fps: float
    source: str


@_event("frame_started", number=("int", False), index=("int", False), total=("int", False), how=("str", False))
@dataclass(frozen=True)
class FrameStarted(Event):
    number: int  # the source's frame number
    index: int  # 1-based among the frames this run paints
    total: int
    how: str  # "scratch", "continue", "import", "warm-up" or "carry"


@_event("frame", number=("int", False), index=("int", False), total=("int", False), at=("int", False),
        payload=("strokes", False))
@dataclass(frozen=True)
class Frame(Event):
    """A finished frame (strokes with ids). ``at``: where its drawing starts at the
    playback rate (the number itself unless retimed)."""

    number: int
    index: int
    total: int
    at: int
    payload: Strokes


@_event("note", text=("str", False))
@dataclass(frozen=True)
class Note(Event):
    text: str  # e.g. a damaged frame file moved aside


@_event("done", seconds=("float", False), strokes=("int", True), frames=("int", True))
@dataclass(frozen=True)
class Done(Event):
    seconds: float
    strokes: int | None = None  # a still: its stroke count
    frames: int | None = None  # a shot: the frames sent


@_event("cancelled")
@dataclass(frozen=True)
class Cancelled(Event):
    pass


@_event("error", message=("str", False), kind=("str", False))
@dataclass(frozen=True)
class Error(Event):
    """One line naming the problem and the fix. ``kind`` "input": the user's input or
    set-up is wrong (the engine CLI's exit code 2); "engine": a crash or a bug."""

    message: str
    kind: str = "engine"


def decode_event(data: Any) -> Event:
    """An event from its JSON line (or dict); ProtocolError for anything else."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise ProtocolError("the engine sent a line that is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"an event must be a JSON object, got {type(data).__name__}")
    name = data.get("event")
    cls = EVENTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ProtocolError(f"unknown event {str(name)[:40]!r}; update the add-on and the engine together")
    kinds: dict[str, tuple[str, bool]] = cls._kinds  # type: ignore[attr-defined]
    wire = {k: v for k, v in data.items() if k != "event"}
    payload = "payload" in kinds
    allowed = set(kinds) - {"payload"} | ({"strokes", "geometry"} if payload else set())
    for key in wire:
        if key not in allowed:
            raise ProtocolError(f"event {name!r} has an unknown field {str(key)[:40]!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        kind, optional = kinds[f.name]
        if kind == "strokes":
            if "strokes" not in wire or "geometry" not in wire:
                raise ProtocolError(f"event {name!r} carries no strokes and geometry")
            values[f.name] = Strokes.read(wire, f"event {name!r}")
            continue
        if f.name not in wire:
            if f.default is MISSING:
                raise ProtocolError(f"event {name!r} has no {f.name!r}")
            continue
        value = wire[f.name]
        if kind == "array":
            values[f.name] = None if value is None and optional else decode_array(value, f"{name}.{f.name}")
        else:
            values[f.name] = _check(value, kind, optional, f"{name}.{f.name}")
            if kind == "float" and value is not None:
                values[f.name] = float(value)
    if cls is Error and values.get("kind", "engine") not in ("input", "engine"):
        raise ProtocolError("error.kind must be input or engine")
    return cls(**values)
