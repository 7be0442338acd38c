"""Build the installable extension zip: ``python scripts/build_extension.py [--out dist]``.

The repository keeps the engine (``core/``) beside the add-on so both are developed and
tested on their own; the extension needs them in one package. This stages the manifest
and the add-on at the root, ``core/``, ``weights/`` and ``brushes/`` inside it, builds the zip with
Blender's own extension tool (from the ``bpy`` module, or a ``blender`` binary) and runs
Blender's validator on the result.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".*")


def blender_ext_command() -> list[str]:
    """Blender's extension CLI: the copy inside the bpy module, else ``blender --command extension``."""
    spec = importlib.util.find_spec("bpy")
    if spec and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            hits = glob.glob(os.path.join(base, "*", "scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py"))
            if hits:
                return [sys.executable, hits[0]]
    blender = shutil.which("blender")
    if blender:
        return [blender, "--factory-startup", "--command", "extension"]
    raise SystemExit("error: neither the bpy module nor a blender binary was found; "
                     "pip install bpy (Python 3.11) or put blender on PATH")


def stage(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT / "blender_neural_painter", dest, ignore=IGNORE)
    shutil.copy2(ROOT / "blender_manifest.toml", dest / "blender_manifest.toml")
    shutil.copytree(ROOT / "core", dest / "core", ignore=IGNORE)
    if (ROOT / "weights").is_dir():
        shutil.copytree(ROOT / "weights", dest / "weights", ignore=IGNORE)
    else:
        (dest / "weights").mkdir()
        (dest / "weights" / "README.md").write_text("Trained renderer weights go here.\n")
    # The preset brushes' pictures (the panel's thumbnails), beside core/ as in a checkout.
    shutil.copytree(ROOT / "brushes", dest / "brushes", ignore=IGNORE)
    # The headless command is for the bpy module in a checkout, not for the extension.
    (dest / "__main__.py").unlink(missing_ok=True)


def build(out_dir: Path) -> Path:
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = ROOT / "build" / "extension"
    stage(staging)
    zip_path = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    zip_path.unlink(missing_ok=True)
    cmd = blender_ext_command()
    subprocess.run(cmd + ["build", "--source-dir", str(staging), "--output-filepath", str(zip_path)], check=True)
    subprocess.run(cmd + ["validate", str(zip_path)], check=True)
    return zip_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = ap.parse_args()
    print(build(Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
