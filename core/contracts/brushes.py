"""The artist's brush as part of a stroke's look: what crosses every boundary of it.

A brush is a *stencil*: where along and across a stroke the brush leaves paint (1) and
where it leaves the canvas bare (0). It is stretched over each stroke from the tip of
its start to the tip of its end, as oil's bristle texture is, so one small image serves
strokes of every size. The optimiser paints through it, the PNG and SVG exports draw it
and Grease Pencil draws it with a texture material whose image is the stencil.

The stencil is held as 8-bit values, the form a PNG and a Blender image hold it in, so
the engine samples exactly what Blender's material carries. Layout: rows run across the
stroke (v from -1 at row 0 to +1 at the last, row 0 on the stroke's left when it runs
left to right on the page, i.e. the image's top), columns along it (u from 0 at the
start to 1 at the end): a brush image's x axis runs along the stroke.

Torch-free and numpy-free on purpose: the Blender add-on reads this module (the panel
lists the presets that ship, with their pictures) in Blender's own Python. Making and
loading stencils lives in ``core.model.brushes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PainterError

#: Stencil size: the oil texture's (``core.model.texture``), so both are sampled with the
#: same mip levels; rows across the stroke, columns along it.
STENCIL_ROWS = 32
STENCIL_COLS = 128

#: The brushes that ship, made procedurally by ``core.model.brushes`` (no third-party art);
#: ``brushes/NAME.png`` at the repository root (and in the extension) is each one's picture.
PRESETS = ("flat", "filbert", "fan", "dry", "round")

#: Where the presets' pictures lie: beside ``core`` in a checkout and in the extension.
BRUSHES_DIR = Path(__file__).resolve().parents[2] / "brushes"


@dataclass(frozen=True)
class Brush:
    """A brush by value: hashable and comparable by its stencil, so a painting's look
    (a :class:`~core.contracts.styles.StyleSpec` holding it) can key caches and two
    loads of the same picture are the same brush."""

    name: str  # a preset's name, or the file's stem
    stencil: bytes  # rows x cols 8-bit values, row-major (see the module notes)
    rows: int = STENCIL_ROWS
    cols: int = STENCIL_COLS
    source: str = field(default="", compare=False)  # "preset", or the file it was loaded from

    def __post_init__(self) -> None:
        if len(self.stencil) != self.rows * self.cols:
            raise PainterError(f"brush {self.name!r}: its stencil holds {len(self.stencil)} values, "
                               f"{self.rows} x {self.cols} needs {self.rows * self.cols}")

    @property
    def digest(self) -> str:
        """A short fingerprint of the stencil: tells two brushes of one name apart (a
        file edited between paintings) wherever data is named after the brush."""
        return hashlib.sha1(self.stencil).hexdigest()[:8]

    @property
    def is_preset(self) -> bool:
        return self.source == "preset"


def preset_files() -> dict[str, Path]:
    """Each preset's picture (``brushes/NAME.png``: white, its alpha the stencil, so it
    shows on a dark theme and loads back with ``--brush FILE`` as the same brush): the
    panel's thumbnails, for the presets whose picture is present."""
    return {name: BRUSHES_DIR / f"{name}.png" for name in PRESETS if (BRUSHES_DIR / f"{name}.png").is_file()}
