"""``python -m core paint-frames``: a shot (a video, a folder of images or a pattern)
painted frame by frame into a folder, resumable (see ``core.painters.shot`` for where
each frame starts from and ``core.io.frames`` for the folder's layout)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..contracts.options import TemporalOptions, add_arguments, from_arguments
from ..errors import PainterError
from ..io.frames import FrameStore
from .console import ProgressBar, check_writable_dir, number, paint_options, whole_number

VIDEO_FORMATS = ("mp4", "gif", "webp", "none")


def add_paint_frames_parser(sub, paint: argparse.ArgumentParser) -> None:
    """``paint-frames``: the `paint` flags (shared, so both stay in step) plus the shot's,
    whose help, defaults and limits come from ``TemporalOptions``."""
    frames = sub.add_parser("paint-frames", help="paint a shot (video, image folder or pattern) frame by frame")
    frames.add_argument("input", help="a video file, a folder of images, or a pattern (frames/%%04d.png, frames/*.png)")
    for action in paint._actions:
        if action.dest not in ("help", "image", "animation"):
            frames._add_action(action)
    frames.add_argument("--frames", default=None, help="which frames, A-B (1-based, inclusive; default all)")
    frames.add_argument("--key", default=None, help="start from this finished frame's strokes (a render-farm chunk)")
    frames.add_argument("--warmup", type=whole_number, default=0,
                        help="with --key: frames painted before A and thrown away, so chunks meet smoothly")
    add_arguments(frames, TemporalOptions)
    frames.add_argument("--video", default="mp4", choices=VIDEO_FORMATS,
                        help="painted.* and compare.* of the shot: mp4 (needs PyAV), gif, webp or none")
    frames.add_argument("--fps", type=number, default=None,
                        help="frame rate of the source (default: the video's own, or 24 for images)")
    frames.add_argument("--to-fps", type=number, default=None,
                        help="paint for playback at this rate: a faster source skips the frames it would not show, "
                             "a slower one holds drawings; each JSON says where its drawing starts (meta.at)")


def cmd_paint_frames(args: argparse.Namespace) -> int:
    from ..io.video_io import open_source, parse_frames, require_av, require_cv2
    from ..painters.shot import FrameDone, FrameProgress, FrameStarted, Notice, paint_shot

    options = paint_options(args)
    topts = from_arguments(TemporalOptions, args).validate()
    if args.warmup < 0:
        raise PainterError(f"--warmup {args.warmup} is out of range: use 0 or more frames")
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
    check_writable_dir(out)
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

    from ..io.image_io import load_image
    from ..io.video_io import retime, write_video

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
