"""The version module against the running Blender: each name it picked exists here, the
name it did not pick does not (so the gate sits at the right version), nothing else in
the add-on branches on versions, and Python exits cleanly whatever the add-on left
registered (the bpy module of 4.3 segfaults and that of 4.5 hangs otherwise)."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from typing import Any

import numpy as np

from conftest import ROOT, bpy, paint


def props(type_name: str) -> set[str]:
    return set(getattr(bpy.types, type_name).bl_rna.properties.keys())


def test_each_name_exists_in_this_blender_and_the_other_does_not() -> None:
    from blender_neural_painter import compat

    v = compat.VERSION
    assert v == tuple(bpy.app.version[:3])
    other_data = {"grease_pencils", "grease_pencils_v3"} - {compat.GP_DATABLOCKS}
    assert hasattr(bpy.data, compat.GP_DATABLOCKS)
    # 4.3-4.5 keep legacy data in "grease_pencils" too; from 5.0 "grease_pencils_v3" is gone.
    assert hasattr(bpy.data, other_data.pop()) == (v < (5, 0, 0))
    build = props("GreasePencilBuildModifier")
    assert compat.BUILD_LAYER_FILTER in build
    assert ({"layer_filter", "tree_node_filter"} - {compat.BUILD_LAYER_FILTER}).isdisjoint(build)
    gp_scene = props("SceneGpencil")
    assert set(compat.GP_RENDER_AA) <= gp_scene
    assert ("antialias_threshold_render" in gp_scene) == (v >= (4, 5, 0))
    image_format = props("ImageFormatSettings")
    assert set(compat.IMAGE_FORMAT_FIRST) <= image_format
    assert ("media_type" in image_format) == (v >= (5, 0, 0))
    assert ("fcurves" in props("Action")) == (v < (5, 0, 0))
    assert ("action_slot" in props("AnimData")) == (v >= (4, 4, 0))
    style = bpy.types.MaterialGPencilStyle.bl_rna.properties
    deprecated = bool(getattr(style["show_stroke"], "is_deprecated", False))
    assert deprecated == compat.at_least(5, 1)  # unused from 5.1: the add-on leaves them alone


def test_show_stroke_only_sets_what_this_blender_uses() -> None:
    import warnings

    from blender_neural_painter import compat

    mat = bpy.data.materials.new("compat check")
    bpy.data.materials.create_gpencil_data(mat)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a deprecation warning fails the test
            compat.show_stroke_only(mat.grease_pencil)
        if not compat.at_least(5, 1):
            assert mat.grease_pencil.show_stroke and not mat.grease_pencil.show_fill
    finally:
        bpy.data.materials.remove(mat)


def test_manifest_minimum_is_the_oldest_supported_version() -> None:
    from blender_neural_painter import compat

    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert tuple(int(x) for x in manifest["blender_version_min"].split(".")) == compat.MIN_VERSION
    assert compat.VERSION >= compat.MIN_VERSION


def test_nothing_else_branches_on_versions() -> None:
    """Only compat.py may name a version-specific bpy name or ask which version runs."""
    pattern = re.compile(r"app\.version|hasattr\(bpy|getattr\(bpy|grease_pencils_v3|tree_node_filter|"
                         r"\blayer_filter\b|antialias_threshold|aa_samples|\.fcurves|show_stroke\b|show_fill\b|"
                         r"media_type|action_get_channelbag|except TypeError")
    offenders = []
    for path in sorted((ROOT / "blender_neural_painter").glob("*.py")):
        if path.name == "compat.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


EXIT_SCRIPT = r'''
import sys, tempfile
sys.path.insert(0, sys.argv[1])
import bpy
import blender_neural_painter as addon
from blender_neural_painter import camera, prefs, ui
from types import SimpleNamespace
bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
prefs._watch()                         # the preferences' redraw timer
render = camera.CameraRender.__new__(camera.CameraRender)
camera._WAITING.append(render)         # a camera render's handlers
camera._listen(True)
print("registered, timer and handlers on", flush=True)
'''


def test_python_exits_cleanly_with_the_add_on_registered(tmp_path: Path) -> None:
    """Classes, a timer and render handlers still registered when the script ends: the
    add-on's exit hook unregisters them, so the interpreter exits with code 0 (the bpy
    module of 4.3 segfaults there, that of 4.5 hangs forever)."""
    script = tmp_path / "exit.py"
    script.write_text(EXIT_SCRIPT)
    run = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "registered, timer and handlers on" in run.stdout


def test_the_engine_runs_on_the_python_blender_runs(scene: Any, image_path: Path) -> None:
    """The worker is Blender's own interpreter (3.11 up to 5.0; 3.13 with NumPy 2 from
    5.1), painting with the real optimiser there."""
    from blender_neural_painter import gpencil

    result, job = paint(scene, image_path, style="marker", strokes=6, levels=1, size=32)
    assert result == {"FINISHED"}, job.error
    assert job.engine_info["python"] == platform.python_version()
    assert job.engine_info["numpy"] == np.__version__ and job.engine_info["torch"]
    assert gpencil.stroke_count(job.obj) == 6
