# Sourced by the other scripts: creates (once) and activates the pinned Python 3.11
# environment. It lives in a cache keyed by the requirements file, so a fresh clone
# reuses it and a change of pins builds a new one.
set -euo pipefail

np_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

np_python() {
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 is needed (Blender's bpy 5.0 module is built for it); install it or set PYTHON=/path/to/python3.11" >&2
    return 1
}

# np_venv REQUIREMENTS NAME: make sure a venv with exactly these pins exists; print its path.
np_venv() {
    local req="$np_root/$1" name="$2" key dir py
    key="$(sha256sum "$req" | cut -c1-12)"
    dir="${NP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neural-painter}/$name-$key"
    if [ ! -f "$dir/.complete" ]; then
        py="$(np_python)"
        echo "setting up $name environment in $dir (once) ..." >&2
        rm -rf "$dir"
        "$py" -m venv "$dir" >&2
        "$dir/bin/python" -m pip install --quiet --upgrade pip >&2
        "$dir/bin/python" -m pip install --quiet -r "$req" >&2
        touch "$dir/.complete"
    fi
    echo "$dir"
}
