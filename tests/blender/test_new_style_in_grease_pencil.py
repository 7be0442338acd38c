"""A sixth style, defined in the tests (``tests/sixth_style.py``), goes into Grease Pencil
through the protocol and the add-on's writer, which know nothing of it but its spec:
its own material, soft edges, strokes read back as written, and Blender's render of it
close to the engine's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from conftest import bpy, orphans
from sixth_style import pastel_registered
from test_fidelity import render_painting_at


def test_a_new_style_is_written_into_grease_pencil_from_its_spec(scene: Any, tmp_path: Path) -> None:
    from core.app.worker import strokes_payload
    from core.contracts import protocol as wire
    from core.model.strokes import StrokeSet
    from core.model.texture import wash_profile
    from core.render.reference import render_strokes

    from blender_neural_painter import gpencil
    from blender_neural_painter.runner import decode_batch

    rng = np.random.default_rng(4)
    n = 12
    params = np.column_stack([rng.uniform(0.2, 0.8, (n, 2)), rng.uniform(0.1, 0.3, n), rng.uniform(0.04, 0.1, n),
                              rng.uniform(0, 1, n), rng.uniform(0, 1, (n, 3)), np.full(n, 0.85)]).astype(np.float32)
    with pastel_registered():
        strokes = StrokeSet("pastel", 128, 96, params, [1] * 6 + [2] * 6)
        # As a worker sends it and the add-on reads it: a level event's JSON line.
        line = wire.Level(1, strokes_payload(strokes)).to_json()
        event = wire.decode_event(line)
        canvas = gpencil.Canvas("pastel", 128, 96, (1.0, 1.0, 1.0))
        created = gpencil.Created()
        obj = gpencil.new_painting(bpy.context, "Pastel", canvas, created, 1)
        textures = gpencil.Textures(wash=wash_profile(np.arange(201) * 0.01))
        gpencil.add_level(obj, decode_batch(event.payload, 1), canvas, created, 1, textures)
        (level, _, frame), = gpencil.level_layers(obj)
        d = gpencil.read_drawing(frame.drawing, canvas)
        assert len(d["order"]) == n and list(d["order"]) == list(range(1, n + 1))
        np.testing.assert_allclose(d["params"], params, atol=1e-6)  # the parameters ride along for Refine
        names = {obj.data.materials[int(i)].name for i in d["material_index"]}
        assert names == {"NP Pastel"}  # its own material, named after its label
        mat = bpy.data.materials["NP Pastel"]
        assert mat.grease_pencil.stroke_style == "TEXTURE"  # a soft look: the wash texture, as watercolour's
        assert mat.grease_pencil.stroke_image.name == "NP Wash 0.4"
        assert d["softness"] > 0 and not d["flat_caps"]
        got = render_painting_at(obj, tmp_path / "pastel.png", 512)
        want = render_strokes(strokes, 512)
    assert got.shape == want.shape
    psnr = 10 * np.log10(1 / np.mean((got - want) ** 2))
    assert psnr > 30.5, psnr  # measured 31.4 dB (bpy 5.0.1); Grease Pencil's wash rim is a little softer
    gpencil.remove_created(created)
    assert orphans() == []
