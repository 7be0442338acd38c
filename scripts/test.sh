#!/usr/bin/env bash
# Runs every test: the engine (tests/core), the add-on inside real headless Blender
# (tests/blender, bpy from PyPI), the add-on's type check against fake-bpy-module, and
# the render-farm job type under Node (farm/flamenco).
# Installs what it needs on first use. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$np_root"

venv="$(np_venv requirements-dev.txt dev)"
types="$(np_venv requirements-types.txt types)"

echo "== type check: mypy blender_neural_painter (fake-bpy-module) =="
"$types/bin/mypy" --ignore-missing-imports --python-version 3.11 blender_neural_painter

echo "== Flamenco job type: compiled under node against stand-ins for its job-compiler API =="
if command -v node >/dev/null 2>&1; then
    node --test farm/flamenco/test/job_type.test.js
else
    echo "node not found: the Flamenco job type's tests did not run (install Node.js 18 or newer)"
fi

echo "== tests =="
"$venv/bin/python" -m pytest tests -q -p no:cacheprovider "$@"
