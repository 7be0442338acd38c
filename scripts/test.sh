#!/usr/bin/env bash
# Runs every test: the engine (tests/core), the add-on inside real headless Blender
# (tests/blender, bpy from PyPI), and the add-on's type check against fake-bpy-module.
# Installs what it needs on first use. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$np_root"

venv="$(np_venv requirements-dev.txt dev)"
types="$(np_venv requirements-types.txt types)"

echo "== type check: mypy blender_neural_painter (fake-bpy-module) =="
"$types/bin/mypy" --ignore-missing-imports --python-version 3.11 blender_neural_painter

echo "== tests =="
"$venv/bin/python" -m pytest tests -q -p no:cacheprovider "$@"
