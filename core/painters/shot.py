"""Painting a shot frame after frame into a folder (``core.io.frames``), resumable.

Where a range's first frame starts from:

* frame A-1 of DIR when it is finished (so ``--frames 1-10`` then ``--frames 11-20``
  make one continuous shot), otherwise a painting from scratch;
* with ``--key FILE`` (a finished frame K <= A of the same shot) the key's strokes are
  carried along the flow from K to A - W without painting, then ``--warmup W`` frames
  are painted and thrown away, so the chunk arrives at A with settled strokes that
  descend from the same key as its neighbours'. This is how render-farm chunks that
  run in parallel meet without a pop (farm/flamenco/README.md); a chunk never starts
  from a neighbour's frame, so its result does not depend on which chunk ran first.

Running the same paint again skips every finished frame and goes on from the last one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..contracts.options import PaintOptions, TemporalOptions
from ..errors import PainterError
from ..io.frames import FrameStore
from ..io.video_io import retime
from ..model.brushes import load_brush
from ..model.strokes import StrokeSet
from ..render.reference import render_strokes
from .events import Done as PaintDone
from .events import LevelDone, Progress
from .temporal import FrameStats, paint_first, paint_next, rounded


@dataclass
class ShotStarted:
    """What a shot run will paint: frames first..last (``total`` of them) of ``source``."""

    first: int
    last: int
    total: int
    fps: float
    source: str


@dataclass
class FrameStarted:
    number: int
    index: int  # 1-based among the frames this run paints
    total: int
    how: str  # "scratch", "continue", "warm-up" or "carry"


@dataclass
class FrameProgress:
    number: int
    fraction: float  # of this frame


@dataclass
class FrameDone:
    number: int
    strokes: object  # StrokeSet
    stats: object  # FrameStats, or None for a frame painted from scratch
    seconds: float
    kept: bool  # False for warm-up and carried frames (not written)


@dataclass
class Notice:
    text: str


def _shot_meta(options: PaintOptions) -> dict:
    return {"style": options.style, "strokes": options.strokes, "size": options.size}


def _check_same_shot(strokes: StrokeSet, options: PaintOptions, what: str) -> None:
    """Refuse to continue a painting made with other settings (it would not match)."""
    shot = strokes.meta.get("shot") or {}
    mine = _shot_meta(options)
    for key in ("style", "strokes", "size"):
        if key in shot and shot[key] != mine[key]:
            raise PainterError(f"{what} was painted with --{key} {shot[key]}, not {mine[key]}; "
                               f"use --{key} {shot[key]} to continue it, or choose another --out")
    if strokes.style != options.style:
        raise PainterError(f"{what} is a {strokes.style} painting; use --style {strokes.style}")
    brush = load_brush(options.brush) if options.brush else None
    if strokes.brush != brush:
        was = f"--brush {strokes.brush.name}" if strokes.brush else "no brush"
        now = f"--brush {options.brush}" if brush else "no brush"
        raise PainterError(f"{what} was painted with {was}, not {now}; give the same brush to continue it, "
                           "or choose another --out")


def paint_shot(source, out: Path, first: int, last: int, options: PaintOptions, topts: TemporalOptions,
               key: Path | None = None,
               warmup: int = 0, render_size: int | None = None, to_fps: float | None = None) -> Iterator:
    """Paint frames first..last of ``source`` into ``out``, resuming; yields events.

    Finished frames are on disk as soon as their FrameDone is yielded, so closing the
    generator (Ctrl-C) loses only the frame in progress. With ``to_fps`` only the frames
    that playback at that rate shows are painted (``video_io.retime``), each from the
    last one painted, and each frame's JSON says where its drawing starts at that rate
    (``meta["at"]``, ``meta["rate"]``).
    """
    if to_fps is not None and key is not None:
        raise PainterError("--to-fps cannot be combined with --key: paint a render-farm chunk at the source's rate")
    starts = retime(first, last, source.fps, to_fps) if to_fps is not None else None
    wanted = sorted(starts) if starts is not None else list(range(first, last + 1))
    if not wanted:
        raise PainterError(f"frames {first}-{last} hold no frame of the shot at {to_fps:g} fps; "
                           "give a longer --frames range")
    first = wanted[0]
    if options.brush:  # a brush that cannot paint is refused before any frame starts
        load_brush(options.brush)
    store = FrameStore(out)
    store.clean_temporary()
    shot = _shot_meta(options)

    def stamped(strokes):
        if starts is not None:
            strokes.meta["at"], strokes.meta["rate"] = starts[strokes.meta.get("frame", first)], float(to_fps)
        return strokes

    finished = set()
    for n in wanted:
        why = store.check(n)
        if why is None:
            finished.add(n)
        elif why != "missing":
            yield Notice(why)
    todo = [n for n in wanted if n not in finished]
    if finished:
        _check_same_shot(store.load(min(finished)), options, f"{store.json_path(min(finished))}")
    if not todo:
        return

    # Where the first frame to paint starts from.
    u = todo[0]
    state = None  # StrokeSet of frame `begin`
    carry_from = None
    if u > first:
        begin = wanted[wanted.index(u) - 1]
        state = store.load(begin)
    elif key is not None:
        state = StrokeSet.load_json(key)
        k = state.meta.get("frame")
        if state.ids is None or not isinstance(k, int):
            raise PainterError(f"--key {key} is not a frame of a painted shot (no stroke ids or frame number); "
                               "give a frame_NNNN.json written by paint-frames")
        if k > first:
            raise PainterError(f"--key {key} is frame {k}, after the first frame {first} of --frames; "
                               f"give a key at or before frame {first}")
        _check_same_shot(state, options, f"--key {key}")
        begin, carry_from = k, k
        if k == first:
            # The key is this range's first frame: it is already painted.
            _write(store, first, rounded(state), render_size)
            yield Notice(f"frame {first} is the key itself: copied it from {key}")
            finished.add(first)
            todo = todo[1:]
            if not todo:
                return
    elif first > 1 and store.check(first - 1) is None:
        begin, state = first - 1, store.load(first - 1)
        _check_same_shot(state, options, str(store.json_path(first - 1)))
    else:
        begin = first
    warm_start = max(begin + 1, first - warmup) if carry_from is not None else first

    total = len(todo)
    index = 0
    prev_image = None
    for number, image in source.frames(begin, last):
        if starts is not None and number != begin and number not in starts:
            continue  # not shown at the playback rate (and the flow runs from the last painted one)
        if state is None:  # from scratch
            index += 1
            yield FrameStarted(number, index, total, "scratch")
            t0 = time.perf_counter()
            result = None
            for event in paint_first(image, options, number):
                if isinstance(event, Progress):
                    yield FrameProgress(number, event.fraction)
                elif isinstance(event, LevelDone):
                    result = event.painted
                elif isinstance(event, PaintDone):
                    result = event.strokes
            assert result is not None
            result.meta["shot"] = shot
            state = stamped(rounded(result))
            _write(store, number, state, render_size)
            yield FrameDone(number, state, None, time.perf_counter() - t0, True)
        elif number == begin:
            pass  # the starting state belongs to this frame
        elif number in finished:
            state = store.load(number)
        else:
            carry = carry_from is not None and number < warm_start
            warm = carry_from is not None and warm_start <= number < first
            how = "carry" if carry else "warm-up" if warm else "continue"
            if not (carry or warm):
                index += 1
            yield FrameStarted(number, index, total, how)
            t0 = time.perf_counter()
            stats = new = None
            for event in paint_next(state, prev_image, image, options, topts, number, warmup=warm, flow_only=carry):
                if isinstance(event, Progress):
                    yield FrameProgress(number, event.fraction)
                elif isinstance(event, FrameStats):
                    stats = event
                else:
                    new = event
            assert new is not None
            new.meta["shot"] = shot
            state = stamped(rounded(new))
            keep = not (carry or warm)
            if keep:
                _write(store, number, state, render_size)
            yield FrameDone(number, state, stats, time.perf_counter() - t0, keep)
        prev_image = image


def _write(store: FrameStore, number: int, strokes: StrokeSet, render_size: int | None) -> None:
    store.write(number, strokes, render_strokes(strokes, render_size))

