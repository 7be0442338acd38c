"""The folder a painted shot is kept in: one strokes file and one picture per frame.

Layout of the output folder ``DIR``:

* ``frame_0001.json`` (strokes, with stroke ids and ``meta.frame``) and ``frame_0001.png``
  (its render) for every finished frame, numbered as the source's frames are (1..N);
* ``painted.mp4`` (or ``.gif`` / ``.webp``): every finished frame in DIR, in order;
  ``compare.mp4``: the source beside the painting, for the frames of this run.

A frame is finished when its JSON is complete: the PNG is written first and the JSON
last, each to a temporary name and then renamed, so a killed run leaves either a whole
frame or none. A JSON that is nonetheless broken (a copy cut short, a disk that
filled up) is moved aside to ``frame_NNNN.json.damaged`` and the frame is painted again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import PainterError
from ..model.strokes import StrokeSet
from .image_io import save_png


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

    def load(self, number: int) -> StrokeSet:
        return StrokeSet.load_json(self.json_path(number))

    def write(self, number: int, strokes: StrokeSet, picture: np.ndarray) -> None:
        """Frame ``number``: its render ``picture`` (H x W x 3 in 0..1), then its strokes."""
        png, js = self.png_path(number), self.json_path(number)
        tmp_png = self.out / f".frame_{number:04d}.tmp{os.getpid()}.png"
        tmp_js = self.out / f".frame_{number:04d}.tmp{os.getpid()}.json"
        try:
            save_png(picture, tmp_png)
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
