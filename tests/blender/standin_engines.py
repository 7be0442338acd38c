"""Stand-in engines for the tests of the Blender side: random strokes with the real
engines' event sequence, no optimiser, no OpenCV. Loaded by the worker process through
``NEURAL_PAINTER_EXTRA_ENGINES`` (``conftest.py`` sets it); nothing here ships with the
add-on.

``engine="random"``: a still, level by level, or with the request's ``frames`` a shot.
Its settings come in the request's ``engine_args``:

* ``delay``: seconds per step (a test can cancel mid-run);
* ``fail_after_level`` / ``fail_after_frame``: the process dies abruptly there (a crash);
* ``hang_after_level``: a step that never ends (a long download or level), which only
  SIGTERM stops, or with ``ignore_sigterm`` only SIGKILL;
* ``count``: a shot's frame count (default 4).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Iterator

import numpy as np
import torch

from core.contracts.options import background_colour
from core.contracts.styles import get_style
from core.model.geometry import random_params
from core.model.strokes import StrokeSet
from core.painters.events import Done, LevelDone, LevelStarted, Progress
from core.painters.shot import FrameDone, FrameProgress, FrameStarted, ShotStarted

KNOWN = {"delay", "fail_after_level", "hang_after_level", "ignore_sigterm", "count", "fail_after_frame"}


def random_engine(request: Any, image: np.ndarray | None, init: Any) -> Iterator[Any]:
    args = dict(request.engine_args)
    unknown = set(args) - KNOWN
    if unknown:
        raise ValueError(f"the random engine does not know {sorted(unknown)}")
    if request.frames is not None:
        return _random_shot(request, args)
    assert image is not None
    return _random_still(request, image, args)


def _random_still(request: Any, image: np.ndarray, args: dict[str, Any]) -> Iterator[Any]:
    opts = request.options
    spec = get_style(opts.style)
    levels = int(opts.levels or 2)
    h, w = image.shape[:2]
    s = opts.size / max(h, w)
    width, height = max(1, round(w * s)), max(1, round(h * s))
    gen = torch.Generator().manual_seed(int(opts.seed))
    bg = background_colour(opts.background, lambda: tuple(float(c) for c in image.reshape(-1, 3).mean(0)))
    done: list[Any] = []
    delay = float(args.get("delay", 0.0))
    start = time.perf_counter()
    total = opts.strokes
    counts = [total // levels + (1 if i < total % levels else 0) for i in range(levels)]
    for i, n in enumerate(counts):
        level = i + 1
        yield LevelStarted(level=level, levels=levels, strokes=n)
        for step in range(3):
            time.sleep(delay)
            yield Progress(fraction=(i + (step + 1) / 3) / levels, level=level, loss=1.0 / (level + step))
        params = random_params(spec, n, gen, max_size=0.6 / level).numpy()
        part = StrokeSet(spec.name, width, height, params, np.full(n, level), bg, {"engine": "random"})
        done.append(part)
        yield LevelDone(level=level, strokes=part, painted=StrokeSet.concat(done))
        if args.get("fail_after_level") == level:
            os._exit(9)
        if args.get("hang_after_level") == level:
            if args.get("ignore_sigterm"):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
    yield Done(strokes=StrokeSet.concat(done), seconds=time.perf_counter() - start)


def _random_shot(request: Any, args: dict[str, Any]) -> Iterator[Any]:
    """``count`` frames of random strokes that keep their ids from frame to frame, drift a
    little, and lose one stroke and gain one per frame."""
    opts = request.options
    spec = get_style(opts.style)
    count = int(args.get("count", 4))
    total = opts.strokes
    gen = torch.Generator().manual_seed(int(opts.seed))
    delay = float(args.get("delay", 0.0))
    width, height = opts.size, max(1, opts.size * 2 // 3)
    yield ShotStarted(1, count, count, 24.0, f"random shot ({count} frames)")
    params = random_params(spec, total, gen, max_size=0.4).numpy()
    levels = np.repeat([1, 2], [total // 2, total - total // 2]).astype(np.int32)
    ids = 100_000 + np.arange(total, dtype=np.int64)
    for number in range(1, count + 1):
        yield FrameStarted(number, number, count, "scratch" if number == 1 else "continue")
        time.sleep(delay)
        yield FrameProgress(number, 0.5)
        if number > 1:
            params = np.clip(params + 0.003, 0, 1)
            born = random_params(spec, 1, gen, max_size=0.3).numpy()
            params = np.concatenate([params[1:], born])
            levels = np.concatenate([levels[1:], [2]]).astype(np.int32)
            ids = np.concatenate([ids[1:], [number * 100_000]])
        strokes = StrokeSet(spec.name, width, height, params, levels, (1.0, 1.0, 1.0),
                            {"engine": "random", "frame": number}, ids)
        yield FrameDone(number, strokes, None, delay, True)
        if args.get("fail_after_frame") == number:
            os._exit(9)


ENGINES = {"random": random_engine}
