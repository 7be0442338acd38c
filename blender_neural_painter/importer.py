"""Import Painting: strokes JSON written elsewhere (the engine's CLI, a GPU machine, a
render farm) becomes the same Grease Pencil object that painting in Blender makes.

The files are read by the worker (``core.app.worker``'s "import" engine), which sends them
as the painter's own events, so the object is written by the same job and writer code
as a Paint run: one file arrives level by level (layers, materials, Build or Keyframes
animation as the panel says), a folder of ``frame_NNNN.json`` frame by frame (one
drawing per frame, as a painted shot). Here, without reading any file, only what the
file system tells: the path exists, which frame files a folder holds, which are missing.

A frame missing in the middle of a folder (a farm chunk that failed, a file deleted) is
not an error: Grease Pencil shows a layer's last drawing until its next one, so the
frame before the gap holds through it, and the run's report lists the missing frames.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from . import prefs
from .errors import UserError
from .contracts import options, protocol
from .placement import Placement
from .request import Overrides, make_request, replay_mask_of, replay_of
from .runner import PaintJob, ShotJob

FRAME_FILE = re.compile(r"frame_(\d+)\.json")


@dataclass
class ImportPlan:
    """The files to import: (frame number, path) in frame order; the number is None for
    a single strokes file (a still painting)."""

    files: list[tuple[int | None, str]]
    name: str
    missing: list[int] = field(default_factory=list)

    @property
    def is_shot(self) -> bool:
        return self.files[0][0] is not None


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 7 -> "1-3, 7"."""
    out: list[str] = []
    for n in numbers:
        if out and n == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def plan(path_text: str) -> ImportPlan:
    """What ``path_text`` (a strokes .json, or a folder of frame JSONs) imports, or
    UserError naming the problem: a missing path, a file that is not .json, a folder
    without frame files."""
    raw = path_text.strip()
    if not raw:
        raise UserError("no strokes file chosen: pick a strokes .json or a folder of frame_0001.json ... files")
    path = Path(bpy.path.abspath(raw))
    if path.is_dir():
        found = sorted((int(m.group(1)), str(p)) for p in path.iterdir()
                       if p.is_file() and (m := FRAME_FILE.fullmatch(p.name)))
        if not found:
            raise UserError(f"folder {path} holds no frame JSONs (frame_0001.json, ...); give the folder that "
                            "`python -m core paint-frames --out` wrote, or one strokes .json file")
        numbers = [n for n, _ in found]
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing and _retimed(found[0][1]):
            missing = []  # painted for another frame rate (paint-frames --to-fps): skipped on purpose
        return ImportPlan([(n, p) for n, p in found], path.name or str(path), missing)
    if not path.exists():
        raise UserError(f"{path} does not exist; give a strokes .json file or a folder of frame JSONs")
    if path.suffix.lower() != ".json":
        raise UserError(f"{path.name} is not a strokes file (.json); give a strokes .json written by "
                        "`python -m core paint` or a folder of frame JSONs")
    return ImportPlan([(None, str(path))], path.stem)


def _retimed(path: str) -> bool:
    """Whether a frame JSON was painted for playback at another rate (``meta.rate``); the
    worker checks the file properly, so one that cannot be read here counts as not."""
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("meta") or {}
        return isinstance(meta, dict) and "rate" in meta
    except (OSError, ValueError, AttributeError):
        return False


def make_job(context: Any, path_text: str, start: int, overrides: Overrides) -> PaintJob:
    """The job that imports ``path_text``: a shot's frames from scene frame ``start`` on,
    or a still with the panel's width and animation, as a Paint run makes it."""
    settings = context.scene.neural_painter
    p = plan(path_text)
    request = make_request(overrides, options.PaintOptions(),  # an import paints nothing
                           import_=protocol.ImportSpec(tuple((n, f) for n, f in p.files), p.name))
    common: dict[str, Any] = {
        "placement": Placement(width_m=settings.width_m, location=tuple(context.scene.cursor.location),
                               collection=settings.collection),
        "python": prefs.python_for_worker(), "site_dir": prefs.site_dir(),
        "reference": {"kind": "IMPORT", "path": str(path_text)}, "own_materials": settings.own_materials}
    if not p.is_shot:
        return PaintJob(context, request, name=f"Painting {p.name}", replay=replay_of(settings),
                        replay_mask=replay_mask_of(settings), **common)
    job = ShotJob(context, request, start=start, name=f"Shot {p.name}", **common)
    if p.missing:
        job.notes.append(f"frame{'s' if len(p.missing) > 1 else ''} {_ranges(p.missing)} missing in "
                         f"{os.path.basename(p.name)}: the frame before each gap holds through it")
    return job
