#!/usr/bin/env bash
# Runs every test: the add-on's type check (fake-bpy-module), the whole suite (engine and
# add-on) on the main Blender, and every add-on test (tests/blender) on the other Blender
# versions CI covers. Each version has its own pinned environment
# (requirements-dev.txt for the main one, requirements-blender-X.Y.txt for the others),
# installed on first use into ~/.cache/neural-painter. Extra arguments go to pytest.
#
#   scripts/test.sh                        everything, as CI runs it
#   scripts/test.sh --blender 4.5 -k paint one version only: main (5.0.1, the whole suite),
#                                          or 4.3, 4.4, 4.5, 5.1, 5.2, 5.3 (tests/blender)
#
# Two lanes run side by side (a pytest run spends much of its time waiting on worker
# processes, so two keep two cores busy): the main suite, and the other versions one
# after another, each installing its environment just before it runs.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$np_root"

MAIN=5.0.1
CI_MATRIX=(4.3 4.5 5.3)  # the oldest supported, the LTS, the newest (Python 3.13)

only=""
if [ "${1:-}" = "--blender" ]; then
    only="$2"
    shift 2
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# suite NAME VENV PATHS...: run pytest into $logs/NAME.log and a JUnit file; never fails
# (the results are read at the end).
suite() {
    local name="$1" venv="$2" start=$SECONDS
    shift 2
    "$venv/bin/python" -m pytest "$@" -q -p no:cacheprovider --junitxml "$logs/$name.xml" "${pytest_args[@]}" \
        >"$logs/$name.log" 2>&1 || true
    echo "($name took $((SECONDS - start)) s)" >>"$logs/$name.log"
    touch "$logs/$name.done"
}

# version_suite VERSION: the add-on's tests on that Blender, its environment first.
version_suite() {
    local venv
    if ! venv="$(np_venv "requirements-blender-$1.txt" "blender-$1" 2>"$logs/blender-$1.log")"; then
        echo "could not set up the Blender $1 environment" >>"$logs/blender-$1.log"
        touch "$logs/blender-$1.done"
        return
    fi
    suite "blender-$1" "$venv" tests/blender
}

pytest_args=("$@")
shown=()
show_finished() {
    local f name
    for f in "$logs"/*.done; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .done)"
        [[ " ${shown[*]} " == *" $name "* ]] && continue
        shown+=("$name")
        echo "== $name =="
        cat "$logs/$name.log"
    done
}

start=$SECONDS
if [ -z "$only" ] || [ "$only" = main ] || [ "$only" = "${MAIN%.*}" ]; then
    venv="$(np_venv requirements-dev.txt dev)"
fi
if [ -z "$only" ]; then
    types="$(np_venv requirements-types.txt types)"
    echo "== type check: mypy blender_neural_painter (fake-bpy-module) =="
    "$types/bin/mypy" --ignore-missing-imports --python-version 3.11 blender_neural_painter || {
        echo "type check failed"
        exit 1
    }
    echo "== tests: the whole suite on bpy $MAIN; tests/blender on ${CI_MATRIX[*]} =="
    suite "main-$MAIN" "$venv" tests &
    lane_a=$!
    (for v in "${CI_MATRIX[@]}"; do version_suite "$v"; done) &
    lane_b=$!
    while kill -0 "$lane_a" 2>/dev/null || kill -0 "$lane_b" 2>/dev/null; do
        show_finished
        sleep 5
    done
    wait
elif [ "$only" = main ] || [ "$only" = "${MAIN%.*}" ]; then
    suite "main-$MAIN" "$venv" tests
else
    version_suite "$only"
fi
show_finished

# One closing line for all suites, from their JUnit files; any failure, error, missing
# or empty suite fails the run.
"$(np_python 3.11)" - "$logs" "$((SECONDS - start))" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

logs, seconds = Path(sys.argv[1]), sys.argv[2]
totals = dict(tests=0, failures=0, errors=0, skipped=0)
bad = []
for done in sorted(logs.glob("*.done")):
    name = done.stem
    xml = logs / f"{name}.xml"
    if not xml.exists():
        bad.append(f"{name}: no results")
        continue
    root = ET.parse(xml).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in totals}
    for k in totals:
        totals[k] += counts[k]
    if counts["failures"] or counts["errors"] or counts["tests"] == 0:
        bad.append(f"{name}: {counts['failures']} failed, {counts['errors']} errors, {counts['tests']} tests")
passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
for line in bad:
    print(f"FAILED {line}")
print(f"(all suites: {seconds} s)")
print(f"total: {passed} passed, {totals['failures'] + totals['errors']} failed, {totals['skipped']} skipped")
sys.exit(1 if bad else 0)
EOF
