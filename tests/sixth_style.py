"""A style the engine has never heard of, defined here and nowhere else: a soft-edged
pastel box of one colour. Issue 21's test that a new style is one new spec: it must
paint, render to PNG and SVG, round-trip through JSON and go into Grease Pencil
without a line of the engine or the add-on changing."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from core.contracts.styles import Defaults, Look, Shape, StyleSpec, register_style, unregister_style

PASTEL = StyleSpec("pastel", "-", "Pastel", "Pastel chalk: soft-edged rounded boxes of one colour", Shape.BOX, 1,
                   Look(cap="round", softness=0.4), Defaults(refine=12, candidates=8, max_alpha=0.9))


@contextmanager
def pastel_registered() -> Iterator[StyleSpec]:
    register_style(PASTEL)
    try:
        yield PASTEL
    finally:
        unregister_style(PASTEL.name)
