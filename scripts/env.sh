# Sourced by the other scripts: creates (once) the pinned environments. Each lives in a
# cache keyed by its requirements file, so a fresh clone reuses it and a change of pins
# builds a new one. A requirements file may start with directives:
#   # python: 3.13        the interpreter version (default 3.11)
#   # pip: --no-deps      extra pip options (a fully pinned list needs no resolver)
set -euo pipefail

np_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
np_cache="${NP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neural-painter}"

# np_python VERSION: the path of a Python of that version (PYTHON or PYTHON3_13 override).
np_python() {
    local want="$1" override candidate
    case "$want" in
        3.11) override="${PYTHON:-}" ;;
        *) override="$(eval echo "\${PYTHON${want//./_}:-}")" ;;
    esac
    for candidate in "$override" "python$want" "$HOME"/.pyenv/versions/"$want"*/bin/python"$want" \
                     /usr/local/bin/python"$want" /usr/bin/python"$want"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" \
               2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: Python $want is needed (Blender's bpy module is built for it); install it or set" \
         "PYTHON${want//./_}=/path/to/python$want (PYTHON for 3.11)" >&2
    return 1
}

# np_directive FILE NAME: the value of a "# NAME: value" line at the top of FILE.
np_directive() {
    sed -n "s/^# $2: *//p" "$1" | head -n 1
}

# np_quiet CMD...: run CMD with its output on stderr, less pip's notes about this machine's
# local package folders; keeps CMD's exit status.
np_quiet() {
    "$@" 2>&1 | { grep -v '^WARNING: Location .* is ignored' || true; } >&2
    return "${PIPESTATUS[0]}"
}

# np_venv REQUIREMENTS NAME: make sure a venv with exactly these pins exists; print its path.
np_venv() {
    local req="$np_root/$1" name="$2" key dir py version options
    key="$(sha256sum "$req" | cut -c1-12)"
    dir="$np_cache/$name-$key"
    mkdir -p "$np_cache"
    (
        flock 9  # two runs building the same environment wait for each other
        if [ ! -f "$dir/.complete" ]; then
            version="$(np_directive "$req" python)"
            options="$(np_directive "$req" pip)"
            py="$(np_python "${version:-3.11}")"
            echo "setting up $name environment in $dir (once) ..." >&2
            start=$SECONDS
            rm -rf "$dir"
            "$py" -m venv "$dir" >&2
            np_quiet "$dir/bin/python" -m pip install --quiet --upgrade pip
            # shellcheck disable=SC2086
            np_quiet "$dir/bin/python" -m pip install --quiet $options -r "$req"
            touch "$dir/.complete"
            echo "$name environment ready in $((SECONDS - start)) s ($(du -sh "$dir" | cut -f1))" >&2
        fi
    ) 9>"$dir.lock"
    echo "$dir"
}
