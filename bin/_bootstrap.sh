# Sourced by bin/demo and bin/test: find Python 3.12+, create .venv, install when needed.
# Idempotent: a second run only compares a hash and returns.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
STAMP="$VENV/.pyproject.sha256"

_is_312_or_newer() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

_find_python() {
    local candidate
    # pyenv honours .python-version; a version it names but lacks falls through.
    if command -v pyenv >/dev/null 2>&1 && candidate="$(pyenv which python 2>/dev/null)" \
        && _is_312_or_newer "$candidate"; then
        echo "$candidate"
        return 0
    fi
    for candidate in python3.12 python3.13 python3.14 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && _is_312_or_newer "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

_hash_pyproject() {
    "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
        "$ROOT/pyproject.toml"
}

bootstrap() {
    if [[ -x "$VENV/bin/python" ]] && ! _is_312_or_newer "$VENV/bin/python"; then
        echo "Replacing .venv: it was made with a Python older than 3.12." >&2
        rm -rf "$VENV"
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        local python
        if ! python="$(_find_python)"; then
            echo "Cloud Portal needs Python 3.12 or newer; none found (tried pyenv, python3.12," \
                 "python3.13, python3.14, python3). Install one and run this again." >&2
            exit 1
        fi
        echo "Creating .venv with $("$python" --version)…" >&2
        "$python" -m venv "$VENV"
    fi
    local wanted
    wanted="$(_hash_pyproject)"
    if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
        echo "Installing dependencies (pyproject.toml changed)…" >&2
        # pip's output only when it fails: a clean run is one line.
        if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' \
            >"$VENV/pip-install.log" 2>&1; then
            cat "$VENV/pip-install.log" >&2
            echo "Installing dependencies failed (log above, also in .venv/pip-install.log)." >&2
            exit 1
        fi
        echo "$wanted" >"$STAMP"
    fi
}
