"""The extension zip: built by one command, valid for Blender, installs and paints."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, make_image

INSTALL_SCRIPT = r'''
import importlib, sys, bpy
zip_path, img = sys.argv[1], sys.argv[2]
assert bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                enable_on_install=True) == {"FINISHED"}
mod = "bl_ext.user_default.neural_painter"
assert mod in bpy.context.preferences.addons, "not enabled"
bridge = importlib.import_module(mod + ".bridge")
assert str(bridge.core_root()).endswith("neural_painter"), bridge.core_root()
s = bpy.context.scene.neural_painter
s.image_path, s.strokes, s.levels, s.levels_auto, s.size = img, 12, 1, False, 32
assert bpy.ops.neural_painter.paint(engine="random") == {"FINISHED"}
brushes = importlib.import_module(mod + ".contracts").brushes
assert set(brushes.preset_files()) == set(brushes.PRESETS), brushes.preset_files()  # the panel's thumbnails
gp = importlib.import_module(mod + ".gpencil")
assert gp.stroke_count(bpy.context.view_layer.objects.active) == 12
print("INSTALLED-AND-PAINTED")
'''


def test_build_validate_install_enable(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_extension.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    zip_path = Path(out.stdout.strip().splitlines()[-1])
    names = zipfile.ZipFile(zip_path).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "gpencil.py" in names
    assert "core/app/worker.py" in names and "core/painters/painter.py" in names and "core/contracts/protocol.py" in names
    assert "standin_engines.py" not in " ".join(names)  # the tests' stand-in engines do not ship
    assert any(n.startswith("weights/") for n in names)
    assert all(f"brushes/{name}.png" in names for name in ("flat", "filbert", "fan", "dry", "round"))
    assert not any(n.startswith("tests/") or "__pycache__" in n for n in names)
    # Install from disk into a throw-away user directory, enable, paint.
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    img = make_image(tmp_path / "img.png")
    script = tmp_path / "install.py"
    script.write_text(INSTALL_SCRIPT)
    run = subprocess.run([sys.executable, str(script), str(zip_path), str(img)],
                         capture_output=True, text=True, timeout=300, env=env, cwd=str(tmp_path))
    assert "INSTALLED-AND-PAINTED" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
