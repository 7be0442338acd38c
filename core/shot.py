"""Painting a shot into a folder, one strokes file per frame: ``python -m core paint-frames``.

Layout of the output folder ``DIR``:

* ``frame_0001.json`` (strokes, with stroke ids and ``meta.frame``) and ``frame_0001.png``
  (its render) for every finished frame, numbered as the source's frames are (1..N);
* ``painted.mp4`` (or ``.gif`` / ``.webp``): every finished frame in DIR, in order;
  ``compare.mp4``: the source beside the painting, for the frames of this run.

A frame is finished when its JSON is complete: the PNG is written first and the JSON
last, each to a temporary name and then renamed, so a killed run leaves either a whole
frame or none. Running the same command again skips every finished frame and goes on
from the last one; a JSON that is nonetheless broken (a copy cut short, a disk that
filled up) is moved aside to ``frame_NNNN.json.damaged`` and the frame is painted again.

Where a range's first frame starts from:

* frame A-1 of DIR when it is finished (so ``--frames 1-10`` then ``--frames 11-20``
  make one continuous shot), otherwise a painting from scratch;
* with ``--key FILE`` (a finished frame K <= A of the same shot) the key's strokes are
  carried along the flow from K to A - W without painting, then ``--warmup W`` frames
  are painted and thrown away, so the chunk arrives at A with settled strokes that
  descend from the same key as its neighbours'. This is how render-farm chunks that
  run in parallel meet without a pop (farm/flamenco/README.md); a chunk never starts
  from a neighbour's frame, so its result does not depend on which chunk ran first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import PainterError

VIDEO_FORMATS = ("mp4", "gif", "webp", "none")


# ---------------------------------------------------------------------------------------
# The folder of frames
# ---------------------------------------------------------------------------------------

class FrameStore:
    """Finished frames in an output folder, written atomically."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)

    def json_path(self, number: int) -> Path:
        return self.out / f"frame_{number:04d}.json"

    def png_path(self, number: int) -> Path:
        return self.out / f"frame_{number:04d}.png"

    def clean_temporary(self) -> None:
        """Remove what a killed run was in the middle of writing."""
        for tmp in self.out.glob(".frame_*.tmp*"):
            tmp.unlink(missing_ok=True)

    def numbers(self) -> list[int]:
        """Frame numbers that have a JSON file (finished or not), sorted."""
        found = []
        for p in self.out.glob("frame_*.json"):
            stem = p.stem[len("frame_"):]
            if stem.isdigit():
                found.append(int(stem))
        return sorted(found)

    def check(self, number: int) -> str | None:
        """None when frame ``number`` is finished; else why not ("missing" or a damage note).
        A damaged file is moved aside so the frame can be painted again."""
        from .strokes import StrokeSet

        path = self.json_path(number)
        if not path.exists():
            return "missing"
        try:
            strokes = StrokeSet.load_json(path)
            if strokes.meta.get("frame") != number or strokes.ids is None:
                raise PainterError("not a frame of a painted shot")
        except PainterError as exc:
            aside = path.with_name(path.name + ".damaged")
            os.replace(path, aside)
            return (f"{path.name} is damaged ({str(exc)[:120]}); moved it to {aside.name} "
                    "and painting the frame again")
        return None

    def load(self, number: int):
        from .strokes import StrokeSet
        return StrokeSet.load_json(self.json_path(number))

    def write(self, number: int, strokes, render_size: int | None) -> None:
        from .image_io import save_png
        from .reference import render_strokes

        png, js = self.png_path(number), self.json_path(number)
        tmp_png = self.out / f".frame_{number:04d}.tmp{os.getpid()}.png"
        tmp_js = self.out / f".frame_{number:04d}.tmp{os.getpid()}.json"
        try:
            save_png(render_strokes(strokes, render_size), tmp_png)
            os.replace(tmp_png, png)
            text = json.dumps(strokes.to_json_dict(), indent=1)
            with open(tmp_js, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_js, js)
        except OSError as exc:
            raise PainterError(f"cannot write frame {number} into {self.out}: {exc.strerror or exc}; "
                               "free some space or choose another --out") from None
        finally:
            tmp_png.unlink(missing_ok=True)
            tmp_js.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------
# The shot
# ---------------------------------------------------------------------------------------

def _shot_meta(options) -> dict:
    return {"style": options.style, "strokes": options.strokes, "size": options.size}


def _check_same_shot(strokes, options, what: str) -> None:
    """Refuse to continue a painting made with other settings (it would not match)."""
    shot = strokes.meta.get("shot") or {}
    mine = _shot_meta(options)
    for key in ("style", "strokes", "size"):
        if key in shot and shot[key] != mine[key]:
            raise PainterError(f"{what} was painted with --{key} {shot[key]}, not {mine[key]}; "
                               f"use --{key} {shot[key]} to continue it, or choose another --out")
    if strokes.style != options.style:
        raise PainterError(f"{what} is a {strokes.style} painting; use --style {strokes.style}")


def paint_shot(source, out: Path, first: int, last: int, options, topts, key: Path | None = None,
               warmup: int = 0, render_size: int | None = None, to_fps: float | None = None) -> Iterator:
    """Paint frames first..last of ``source`` into ``out``, resuming; yields events.

    Finished frames are on disk as soon as their FrameDone is yielded, so closing the
    generator (Ctrl-C) loses only the frame in progress. With ``to_fps`` only the frames
    that playback at that rate shows are painted (``video_io.retime``), each from the
    last one painted, and each frame's JSON says where its drawing starts at that rate
    (``meta["at"]``, ``meta["rate"]``).
    """
    from .events import LevelDone, Progress
    from .events import Done as PaintDone
    from .strokes import StrokeSet
    from .video import FrameStats, paint_first, paint_next, rounded
    from .video_io import retime

    if to_fps is not None and key is not None:
        raise PainterError("--to-fps cannot be combined with --key: paint a render-farm chunk at the source's rate")
    starts = retime(first, last, source.fps, to_fps) if to_fps is not None else None
    wanted = sorted(starts) if starts is not None else list(range(first, last + 1))
    if not wanted:
        raise PainterError(f"frames {first}-{last} hold no frame of the shot at {to_fps:g} fps; "
                           "give a longer --frames range")
    first = wanted[0]
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
            store.write(first, rounded(state), render_size)
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
            store.write(number, state, render_size)
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
                store.write(number, state, render_size)
            yield FrameDone(number, state, stats, time.perf_counter() - t0, keep)
        prev_image = image


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def add_paint_frames_parser(sub, paint: argparse.ArgumentParser) -> None:
    """``paint-frames``: the `paint` flags (shared, so both stay in step) plus the shot's."""
    from .cli import _positive_int, _float

    frames = sub.add_parser("paint-frames", help="paint a shot (video, image folder or pattern) frame by frame")
    frames.add_argument("input", help="a video file, a folder of images, or a pattern (frames/%%04d.png, frames/*.png)")
    for action in paint._actions:
        if action.dest not in ("help", "image", "animation"):
            frames._add_action(action)
    frames.add_argument("--frames", default=None, help="which frames, A-B (1-based, inclusive; default all)")
    frames.add_argument("--key", default=None, help="start from this finished frame's strokes (a render-farm chunk)")
    frames.add_argument("--warmup", type=_positive_int, default=0,
                        help="with --key: frames painted before A and thrown away, so chunks meet smoothly")
    frames.add_argument("--reopt-iterations", type=_positive_int, default=None,
                        help="steps of the joint pass per frame after the first (default 55)")
    frames.add_argument("--change-weight", type=_float, default=None,
                        help="penalty on strokes changing between frames (default 1.0; higher is steadier)")
    frames.add_argument("--keep-look", type=_float, default=None,
                        help="0..1: how far new and re-fitted strokes keep the look of the previous painting moved "
                             "along the flow rather than follow the frame (default 0.25; higher is steadier "
                             "and less faithful)")
    frames.add_argument("--keep-look-moving", type=_float, default=None,
                        help="0..1: the same on what moves on its own, whose fine strokes are re-fitted every "
                             "frame (default 0.55)")
    frames.add_argument("--video", default="mp4", choices=VIDEO_FORMATS,
                        help="painted.* and compare.* of the shot: mp4 (needs PyAV), gif, webp or none")
    frames.add_argument("--fps", type=_float, default=None,
                        help="frame rate of the source (default: the video's own, or 24 for images)")
    frames.add_argument("--to-fps", type=_float, default=None,
                        help="paint for playback at this rate: a faster source skips the frames it would not show, "
                             "a slower one holds drawings; each JSON says where its drawing starts (meta.at)")


def _topts(args: argparse.Namespace):
    from .video import TemporalOptions

    topts = TemporalOptions()
    if args.reopt_iterations is not None:
        topts.iterations = args.reopt_iterations
    if args.change_weight is not None:
        topts.change_weight = args.change_weight
    if args.keep_look is not None:
        topts.keep_look = args.keep_look
    if args.keep_look_moving is not None:
        topts.keep_look_moving = args.keep_look_moving
    topts.validate()
    return topts


def cmd_paint_frames(args: argparse.Namespace) -> int:
    from .cli import ProgressBar, _check_writable_dir, paint_options
    from .video_io import open_source, parse_frames, require_av, require_cv2

    options = paint_options(args)
    topts = _topts(args)
    if args.warmup and not args.key:
        raise PainterError("--warmup only applies with --key (a chunk starting from a keyframe); drop it or add --key")
    if args.key and not Path(args.key).is_file():
        raise PainterError(f"--key {args.key} does not exist; give a finished frame_NNNN.json of this shot")
    for flag, value in (("--fps", args.fps), ("--to-fps", args.to_fps)):
        if value is not None and not 0 < value <= 1000:
            raise PainterError(f"{flag} {value:g} is out of range: use a number above 0 and at most 1000")
    require_cv2()
    if args.video == "mp4":
        require_av()
    source = open_source(args.input, fps=args.fps)
    first, last = parse_frames(args.frames, source.count)
    out = Path(args.out)
    _check_writable_dir(out)
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    quiet = args.quiet
    painted = done = 0
    total = 1
    text = ""
    events = paint_shot(source, out, first, last, options, topts, Path(args.key) if args.key else None,
                        args.warmup, args.render_size, args.to_fps)
    try:
        for event in events:
            if isinstance(event, Notice):
                bar.close()
                print(f"note: {event.text}", file=sys.stderr)
            elif isinstance(event, FrameStarted):
                total = event.total
                done = event.index - 1
                text = (f"frame {event.number} ({event.index}/{event.total})" if event.how in ("scratch", "continue")
                        else f"frame {event.number} ({event.how})")
                bar.update(done / max(1, total), text)
            elif isinstance(event, FrameProgress):
                bar.update((done + event.fraction) / max(1, total), text)
            elif isinstance(event, FrameDone) and event.kept:
                painted += 1
                bar.update((done + 1) / max(1, total), text)
                if not quiet:
                    bar.close()
                    detail = f" ({event.stats.text()})" if event.stats is not None else " (from scratch)"
                    print(f"frame {event.number} finished in {event.seconds:.1f}s{detail}", file=sys.stderr)
    except KeyboardInterrupt:
        events.close()
        bar.close()
        finished = FrameStore(out).numbers()
        print(f"interrupted: {painted} frames painted in this run; {len(finished)} finished frames are in {out}; "
              "run the same command again to continue", file=sys.stderr)
        return 130
    bar.close()
    files = write_shot_videos(source, out, first, last, args.video, args.render_size, args.to_fps)
    if not quiet:
        print(f"{painted} frames painted, frames {first}-{last} finished in {out}"
              + (f"; wrote {', '.join(str(f) for f in files)}" if files else ""), file=sys.stderr)
    return 0


def write_shot_videos(source, out: Path, first: int, last: int, fmt: str, render_size: int | None,
                      to_fps: float | None = None) -> list[Path]:
    """painted.FMT (every finished frame in ``out``) and compare.FMT (source | painting, frames
    first..last); nothing for ``none``. Retimed (``to_fps``), both play at that rate, each
    drawing held for as many frames as it lasts there."""
    if fmt == "none":
        return []
    import numpy as np

    from .image_io import load_image
    from .video_io import retime, write_video

    store = FrameStore(out)
    numbers = [n for n in store.numbers() if store.png_path(n).exists()]
    fps, holds = source.fps, {n: 1 for n in numbers}
    if to_fps is not None:
        starts = retime(1, source.count, source.fps, to_fps)
        numbers = [n for n in numbers if n in starts]
        fps = to_fps
        holds = {n: (starts[b] - starts[n] if b is not None else 1)
                 for n, b in zip(numbers, numbers[1:] + [None])}
    if not numbers:
        return []

    def held(pictures):
        for number, picture in pictures:
            for _ in range(holds[number]):
                yield picture

    painted = write_video(held((n, load_image(store.png_path(n))) for n in numbers), out / f"painted.{fmt}", fps)

    def side_by_side():
        from PIL import Image
        for number, image in source.frames(first, last):
            if number not in holds or not store.png_path(number).exists():
                continue
            art = np.asarray(Image.open(store.png_path(number)).convert("RGB"))
            src = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
            src = np.asarray(src.resize((art.shape[1], art.shape[0]), Image.LANCZOS))
            yield number, np.concatenate([src, art], axis=1)

    compare = write_video(held(side_by_side()), out / f"compare.{fmt}", fps)
    return [painted, compare]
