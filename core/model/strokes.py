"""StrokeSet: the painting as data, and its versioned JSON form.

The JSON schema (version 1) is documented in docs/ENGINE.md. Order in the file is painting
order; ``level`` says which coarse-to-fine level placed each stroke. A painted shot
(one file per frame) also gives every stroke an ``id`` that stays the same from frame
to frame; it is an optional field of version 1, so older readers, which ignore unknown
keys, still read those files, and files without ids still load here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..contracts.brushes import Brush
from ..contracts.strokes_format import SCHEMA, SCHEMA_VERSION
from ..contracts.styles import StyleSpec, get_style
from ..errors import PainterError
from .brushes import brush_from_meta

if TYPE_CHECKING:
    from .geometry import Geometry


#: Largest canvas side a strokes file may name (the engine paints at most 4096 px; a
#: file is re-rendered at any size, so this only keeps absurd numbers out).
MAX_CANVAS = 1 << 20


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: object, finite: bool = True) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, int):
        return abs(v) < 10 ** 300  # a float can hold it
    return not finite or math.isfinite(v)


@dataclass
class StrokeSet:
    style: str
    width: int  # canvas size in pixels at which the strokes were optimised
    height: int
    params: np.ndarray  # [N, D] float32 in [0, 1], painting order
    level: np.ndarray  # [N] int, 1-based level that placed each stroke
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # sRGB in [0, 1]
    meta: dict = field(default_factory=dict)
    ids: np.ndarray | None = None  # [N] int64 stroke identity across the frames of a shot

    def __post_init__(self) -> None:
        spec = get_style(self.style)
        self.params = np.asarray(self.params, dtype=np.float32).reshape(-1, spec.dim)
        self.level = np.asarray(self.level, dtype=np.int32).reshape(-1)
        if self.level.shape[0] != self.params.shape[0]:
            raise PainterError(f"stroke set has {self.params.shape[0]} strokes but "
                               f"{self.level.shape[0]} levels: give one level per stroke")
        self.background = tuple(float(c) for c in self.background)  # type: ignore[assignment]
        if self.ids is not None:
            self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
            if self.ids.shape[0] != self.params.shape[0]:
                raise PainterError(f"stroke set has {self.params.shape[0]} strokes but {self.ids.shape[0]} ids: "
                                   "give one id per stroke")

    def __len__(self) -> int:
        return int(self.params.shape[0])

    @property
    def order(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int32)

    @property
    def brush(self) -> Brush | None:
        """The brush the painting was made with (its ``meta["brush"]``), or None."""
        return brush_from_meta(self.meta.get("brush"))

    @property
    def spec(self) -> StyleSpec:
        """The look the strokes are drawn with: the style, painted with the brush if any.
        Everything that draws a painting asks this, so a brush shows wherever it goes."""
        return get_style(self.style).with_brush(self.brush)

    def geometry(self) -> "Geometry":
        """The strokes as polylines (``core.model.geometry``, imported here: it needs
        torch, reading and writing the file does not)."""
        from .geometry import to_geometry

        return to_geometry(self.spec, self.params, self.width, self.height)

    def take(self, rows: np.ndarray) -> "StrokeSet":
        """The strokes at ``rows`` (indices or a mask), in that order, with their levels and ids."""
        return StrokeSet(self.style, self.width, self.height, self.params[rows], self.level[rows], self.background,
                         dict(self.meta), None if self.ids is None else self.ids[rows])

    def subset(self, count: int) -> "StrokeSet":
        """The first ``count`` strokes: the painting as it was part-way through."""
        return StrokeSet(self.style, self.width, self.height, self.params[:count],
                         self.level[:count], self.background, dict(self.meta),
                         None if self.ids is None else self.ids[:count])

    @staticmethod
    def concat(parts: list["StrokeSet"]) -> "StrokeSet":
        first = parts[0]
        ids = None if any(p.ids is None for p in parts) else np.concatenate([p.ids for p in parts])  # type: ignore[misc]
        return StrokeSet(first.style, first.width, first.height,
                         np.concatenate([p.params for p in parts]),
                         np.concatenate([p.level for p in parts]), first.background,
                         dict(first.meta), ids)

    # --- JSON -------------------------------------------------------------------------

    def to_json_dict(self) -> dict:
        spec = get_style(self.style)
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "style": self.style,
            "params": list(spec.params),
            "canvas": {"width": self.width, "height": self.height,
                       "background": [round(c, 6) for c in self.background]},
            "meta": self.meta,
            "strokes": [
                {"order": i, "level": int(lv), "params": [round(float(v), 6) for v in row]}
                | ({} if self.ids is None else {"id": int(self.ids[i])})
                for i, (row, lv) in enumerate(zip(self.params, self.level))
            ],
        }

    def save_json(self, path: str | os.PathLike) -> None:
        text = json.dumps(self.to_json_dict(), indent=1)
        try:
            Path(path).write_text(text)
        except OSError as exc:
            raise PainterError(f"cannot write {path}: {exc.strerror or exc}; "
                               "choose a writable output location") from None

    @classmethod
    def from_json_dict(cls, data: object, source: str = "strokes JSON") -> "StrokeSet":
        def bad(why: str) -> PainterError:
            return PainterError(f"{source} is not a valid strokes file ({why}); "
                                "re-export it with `python -m core paint`")

        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise bad(f"missing \"schema\": \"{SCHEMA}\"")
        if data.get("version") != SCHEMA_VERSION:
            raise bad(f"version {data.get('version')!r} is not supported, expected {SCHEMA_VERSION}")
        style = data.get("style")
        if not isinstance(style, str):
            raise bad("no style")
        spec = get_style(style)
        canvas = data.get("canvas")
        if not isinstance(canvas, dict):
            raise bad("no canvas")
        width, height = canvas.get("width"), canvas.get("height")
        if not (_whole(width) and _whole(height) and 1 <= width <= MAX_CANVAS and 1 <= height <= MAX_CANVAS):
            raise bad(f"canvas width and height must be positive whole numbers, at most {MAX_CANVAS}")
        background = canvas.get("background", [1, 1, 1])
        if not (isinstance(background, list) and len(background) == 3 and all(_number(c) for c in background)):
            raise bad("canvas background must be an RGB triple of numbers")
        strokes = data.get("strokes")
        if not isinstance(strokes, list):
            raise bad("\"strokes\" must be a list")
        rows, levels, ids, order = [], [], [], []
        for i, s in enumerate(strokes):
            if not isinstance(s, dict):
                raise bad(f"stroke {i} is not an object")
            row = s.get("params")
            if not (isinstance(row, list) and all(_number(v, finite=False) for v in row)):
                raise bad(f"stroke {i} has no numeric params")
            if len(row) != spec.dim:
                raise bad(f"stroke {i} has {len(row)} params, style {style} needs {spec.dim}")
            if not all(math.isfinite(v) for v in row):
                raise bad(f"stroke {i} has a non-finite parameter")
            lv = s.get("level", 1)
            if not (_whole(lv) and 0 <= lv < 2 ** 31):
                raise bad(f"stroke {i} has level {str(lv)[:20]}; levels are whole numbers >= 0")
            if "id" in s:
                if not (_whole(s["id"]) and 0 <= s["id"] < 2 ** 62):
                    raise bad(f"stroke {i} has id {str(s['id'])[:24]}; ids are whole numbers >= 0")
                ids.append(s["id"])
            if "order" in s and not (_whole(s["order"]) and abs(s["order"]) < 2 ** 62):
                raise bad(f"stroke {i} has order {str(s['order'])[:24]}; the painting order is a whole number")
            rows.append([float(v) for v in row])
            levels.append(lv)
            order.append(s.get("order", i))
        if ids and len(ids) != len(strokes):
            raise bad(f"only {len(ids)} of {len(strokes)} strokes have an id; give every stroke one or none")
        if len(set(ids)) != len(ids):
            raise bad("two strokes share an id; ids must be unique within a frame")
        if "order" in (strokes[0] if strokes else {}):
            idx = np.argsort(np.asarray(order, dtype=np.int64), kind="stable")
            rows = [rows[i] for i in idx]
            levels = [levels[i] for i in idx]
            ids = [ids[i] for i in idx] if ids else ids
        params = np.clip(np.asarray(rows, dtype=np.float32).reshape(-1, spec.dim), 0.0, 1.0)
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        try:
            spec.with_brush(brush_from_meta(meta.get("brush")))
        except PainterError as exc:
            raise bad(str(exc)) from None
        return cls(style, width, height, params, np.asarray(levels, dtype=np.int32),
                   tuple(min(max(float(c), 0.0), 1.0) for c in background), meta,  # type: ignore[arg-type]
                   np.asarray(ids, dtype=np.int64) if ids else None)

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> "StrokeSet":
        p = Path(path)
        if not p.is_file():
            raise PainterError(f"strokes file {path} does not exist; check the path")
        try:
            data = json.loads(p.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PainterError(f"{path} is not valid JSON ({exc.__class__.__name__}: "
                               f"{str(exc).splitlines()[0]}); re-export it with `python -m core paint`") from None
        return cls.from_json_dict(data, source=str(path))
