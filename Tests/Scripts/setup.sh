#!/usr/bin/env bash
# Installs what WireCodec's build and tests need on a fresh Debian machine that has the
# Swift toolchain. Idempotent: it only installs what is missing.
set -euo pipefail

need_apt=()
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# Peers of the echo-server tests: curl (HTTP/1.1) and headless Chromium (a real browser).
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python peers used by the interop and fixture tests (pinned). Into the Python on PATH when it
# takes packages; where it does not (Debian's own python3 is "externally managed", PEP 668, and
# may lack pip), into a venv in .build/wirecodec-python, which test-all.sh puts first on PATH.
PY="${WIRECODEC_PYTHON:-python3}"
VENV=.build/wirecodec-python
peers=('websockets==17.4' 'h11==0.16.0' 'wsproto==1.3.2')
if [ -x "$VENV/bin/python3" ]; then PY="$VENV/bin/python3"; fi
if ! "$PY" -c 'import websockets, h11, wsproto' >/dev/null 2>&1; then
    echo "setup: pip install ${peers[*]}" >&2
    if ! "$PY" -m pip install --quiet --disable-pip-version-check "${peers[@]}" 2>/dev/null; then
        echo "setup: $PY does not take packages; making the venv $VENV" >&2
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"
            python3 -m venv "$VENV"
        fi
        "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${peers[@]}"
    fi
fi
