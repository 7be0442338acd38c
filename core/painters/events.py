"""Events the painter yields, so callers can show progress, draw strokes as they
arrive, and cancel (by closing the generator) while keeping every finished level."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.strokes import StrokeSet


@dataclass
class LevelStarted:
    level: int  # 1-based
    levels: int
    strokes: int  # how many strokes this level will place


@dataclass
class Progress:
    fraction: float  # of the whole run, 0..1
    level: int
    loss: float


@dataclass
class LevelDone:
    level: int
    strokes: StrokeSet  # only this level's strokes, in painting order
    painted: StrokeSet  # everything painted so far


@dataclass
class RefineStarted:
    """The final pass over every stroke of the run begins (after the last LevelDone)."""

    strokes: int
    steps: int


@dataclass
class Refined:
    """The final pass moved every stroke of the run: ``strokes`` replaces what the
    LevelDone events gave (same strokes, same order, same levels)."""

    strokes: StrokeSet


@dataclass
class Done:
    strokes: StrokeSet  # the whole painting
    seconds: float


Event = LevelStarted | Progress | LevelDone | RefineStarted | Refined | Done
