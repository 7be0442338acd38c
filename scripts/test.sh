#!/usr/bin/env bash
# Runs every test: the add-on's type check (fake-bpy-module), the render-farm job type
# under Node (farm/flamenco), the whole suite (engine and add-on) on the main Blender, and
# every add-on test (tests/blender) on the other Blender versions CI covers. Each version has its own pinned environment (requirements-dev.txt
# for the main one, requirements-blender-X.Y.txt for the others), installed on first use
# into ~/.cache/neural-painter. Extra arguments go to pytest.
#
#   scripts/test.sh                         everything, as CI runs it
#   scripts/test.sh --blender 4.5 -k paint  one version only: main (5.0.1, the whole suite)
#                                           or 4.3, 4.4, 4.5, 5.1, 5.2, 5.3 (tests/blender)
#
# CI runs two lanes side by side, each installing a version's environment just before
# its tests (a pytest run waits on worker processes much of the time, so two lanes keep
# two cores busy), and prints each suite's output when it is done.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$np_root"

MAIN=5.0.1
# The oldest supported version, the LTS and the newest (Python 3.13), beside the main
# version; split into two lanes of about equal length.
LANES=("main 4.5" "5.3 4.3")

only=""
if [ "${1:-}" = "--blender" ]; then
    only="$2"
    shift 2
    [ "$only" = "${MAIN%.*}" ] && only=main
    if [ "$only" != main ] && [ ! -f "requirements-blender-$only.txt" ]; then
        echo "error: no environment for Blender $only (requirements-blender-$only.txt); use main or one of:" \
             $(ls requirements-blender-*.txt | sed 's/requirements-blender-\(.*\)\.txt/\1/') >&2
        exit 2
    fi
fi
pytest_args=("$@")
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# run_suite NAME: set up its environment, then run its tests into $logs/NAME.log plus a
# JUnit file (read at the end); never fails itself.
run_suite() {
    local name="$1" venv paths start=$SECONDS
    if [ "$name" = main ]; then
        venv="$(np_venv requirements-dev.txt dev 2>>"$logs/$name.log")" || venv=""
        paths=(tests)
    else
        venv="$(np_venv "requirements-blender-$name.txt" "blender-$name" 2>>"$logs/$name.log")" || venv=""
        paths=(tests/blender)
    fi
    if [ -n "$venv" ]; then
        "$venv/bin/python" -m pytest "${paths[@]}" -q -p no:cacheprovider --junitxml "$logs/$name.xml" \
            "${pytest_args[@]}" >>"$logs/$name.log" 2>&1 || true
    else
        echo "could not set up the environment for $name" >>"$logs/$name.log"
    fi
    echo "($name: $((SECONDS - start)) s with its set-up)" >>"$logs/$name.log"
    touch "$logs/$name.done"
}

title() {
    if [ "$1" = main ]; then
        echo "bpy $MAIN (main): the whole suite"
    else
        echo "bpy $(sed -n 's/^bpy==//p' "requirements-blender-$1.txt"): tests/blender"
    fi
}

shown=" "
show_finished() {
    local f name
    for f in "$logs"/*.done; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .done)"
        [[ "$shown" == *" $name "* ]] && continue
        shown+="$name "
        echo "== $(title "$name") =="
        cat "$logs/$name.log"
    done
}

start=$SECONDS
if [ -z "$only" ]; then
    types="$(np_venv requirements-types.txt types)"
    echo "== type check: mypy blender_neural_painter (fake-bpy-module) =="
    "$types/bin/mypy" --ignore-missing-imports --python-version 3.11 blender_neural_painter || {
        echo "type check failed"
        exit 1
    }
    echo "== Flamenco job type: compiled under node against stand-ins for its job-compiler API =="
    if command -v node >/dev/null 2>&1; then
        node --test farm/flamenco/test/job_type.test.js || {
            echo "the Flamenco job type's tests failed"
            exit 1
        }
    else
        echo "node not found: the Flamenco job type's tests did not run (install Node.js 18 or newer)"
    fi
    echo "== tests, in lanes side by side: $(printf '[%s] ' "${LANES[@]}")=="
    pids=()
    for lane in "${LANES[@]}"; do
        (for name in $lane; do run_suite "$name"; done) &
        pids+=($!)
    done
    while kill -0 "${pids[@]}" 2>/dev/null; do
        show_finished
        sleep 5
    done
    wait
else
    run_suite "$only"
fi
show_finished

# One closing line for all suites, from their JUnit files; a failure, an error, a suite
# that could not run or ran no test fails the run.
"$(np_python 3.11)" - "$logs" "$((SECONDS - start))" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

logs, seconds = Path(sys.argv[1]), sys.argv[2]
totals = dict(tests=0, failures=0, errors=0, skipped=0)
bad = []
for done in sorted(logs.glob("*.done")):
    xml = logs / f"{done.stem}.xml"
    if not xml.exists():
        bad.append(f"{done.stem}: did not run")
        continue
    root = ET.parse(xml).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in totals}
    for k in totals:
        totals[k] += counts[k]
    if counts["failures"] or counts["errors"] or counts["tests"] == 0:
        bad.append(f"{done.stem}: {counts['failures']} failed, {counts['errors']} errors of {counts['tests']}")
for line in bad:
    print(f"FAILED suite {line}")
passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
print(f"(tests took {seconds} s in all)")
print(f"total: {passed} passed, {totals['failures'] + totals['errors']} failed, {totals['skipped']} skipped")
sys.exit(1 if bad else 0)
EOF
