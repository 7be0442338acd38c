#!/usr/bin/env bash
# Paints the bundled sample image end to end: a .blend with the Grease Pencil painting
# (animated stroke by stroke) and a Workbench render of it as a PNG preview.
# Installs what it needs on first use.
# Usage: scripts/paint_sample.sh [IMAGE] [extra options for `python -m blender_neural_painter paint`]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$np_root"

venv="$(np_venv requirements-dev.txt dev)"
image="${1:-samples/astronaut.png}"
shift || true
out="${NP_OUT:-out}"
mkdir -p "$out"

"$venv/bin/python" -m blender_neural_painter paint "$image" --out "$out/painting.blend" \
    --preview "$out/preview.png" --style oil --strokes 1000 --size 512 "$@"
echo "wrote $out/painting.blend and $out/preview.png"
