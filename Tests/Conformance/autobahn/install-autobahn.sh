#!/usr/bin/env bash
# Installs Autobahn|Testsuite (`wstest`, PyPI autobahntestsuite 25.10.1) when it is missing,
# and prints the path of `wstest`.
#
#   Tests/Conformance/autobahn/install-autobahn.sh          # install if needed, print wstest path
#
# autobahntestsuite is Python 2 code (print statements, `except X, e`), pinned to Twisted 19.10
# and autobahn 0.10.9: it needs a CPython 2.7 (pyenv's 2.7.18 on our machines; Debian 12 has
# no python2). Python 3's venv cannot make a 2.7 environment, virtualenv up to 20.21.1 can, so
# a throwaway Python 3 venv holds that virtualenv just long enough to create ours. Every
# package comes from PyPI with the pins in constraints-py27.txt (wsaccel is compiled from
# source: gcc and the 2.7 headers, which pyenv ships).
#
# Environment:
#   AUTOBAHN_VENV    where the 2.7 environment lives (default .build/autobahn-py27 in the
#                    checkout: never the system's or the user's Python)
#   AUTOBAHN_PYTHON  a CPython 2.7 interpreter (default: the newest pyenv 2.7.x, then python2.7)
#   PYTHON3          the Python 3 used to bootstrap virtualenv (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${AUTOBAHN_VENV:-$(cd "$here/../../.." && pwd)/.build/autobahn-py27}"
python3="${PYTHON3:-python3}"
version="25.10.1"
marker="$venv/.wirecodec-autobahn-$version"

log() { echo "install-autobahn: $*" >&2; }

installed() {
    [[ -f "$marker" && -x "$venv/bin/wstest" ]] && "$venv/bin/wstest" -a 2>/dev/null | grep -q "AutobahnTestSuite $version"
}

find_python27() {
    if [[ -n "${AUTOBAHN_PYTHON:-}" ]]; then
        echo "$AUTOBAHN_PYTHON"
        return 0
    fi
    local candidate
    for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python2.7 2>/dev/null | sort -V -r); do
        [[ -x "$candidate" ]] && { echo "$candidate"; return 0; }
    done
    for candidate in python2.7 python2; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if ! installed; then
    mkdir -p "$(dirname "$venv")"
    # Two runs at once (CI and a developer, say) must not build the same venv together.
    exec 9>"$venv.lock"
    flock -w 900 9 || { log "could not lock $venv.lock"; exit 1; }
    if ! installed; then
        if ! py27="$(find_python27)"; then
            log "no CPython 2.7 found: autobahntestsuite runs only on Python 2.7."
            log "set AUTOBAHN_PYTHON=/path/to/python2.7 (with pyenv: 'pyenv install 2.7.18')."
            exit 1
        fi
        log "installing autobahntestsuite $version with $py27 ($("$py27" -V 2>&1)) into $venv"
        rm -rf -- "$venv" "$venv.bootstrap"
        "$python3" -m venv "$venv.bootstrap"
        "$venv.bootstrap/bin/python" -m pip install --quiet --disable-pip-version-check 'virtualenv==20.21.1'
        "$venv.bootstrap/bin/python" -m virtualenv --quiet -p "$py27" "$venv"
        rm -rf -- "$venv.bootstrap"
        "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check \
            -c "$here/constraints-py27.txt" "autobahntestsuite==$version"
        "$venv/bin/wstest" -a | grep -q "AutobahnTestSuite $version" || { log "wstest does not start after the install"; exit 1; }
        touch "$marker"
        log "installed: $("$venv/bin/wstest" -a | tr '\n' ' ')"
    fi
fi
echo "$venv/bin/wstest"
