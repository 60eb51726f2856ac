#!/usr/bin/env bash
# Installs what building and running `wirecodec` (and the other executables) needs on a fresh
# Debian machine that has the Swift toolchain, and nothing else: the zlib headers and
# pkg-config, which find the system zlib for permessage-deflate. Idempotent: it only installs
# what is missing (apt-get, as root or through sudo). Test peers are Tests/Scripts/setup-tests.sh's.
set -euo pipefail

need_apt=()
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup-build: apt-get install ${need_apt[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
