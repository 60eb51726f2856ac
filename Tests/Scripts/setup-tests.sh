#!/usr/bin/env bash
# Installs what the test command (Tests/Scripts/test-all.sh) needs beyond the build
# (Tests/Scripts/setup-build.sh, run first): the peers of the tests. Idempotent: it only
# installs what is missing. Add a new test peer here, never to setup-build.sh.
#
#   Debian (apt-get, as root or through sudo): curl (HTTP/1.1 and HTTP/2 peer), chromium (a real browser),
#   tinyproxy (the HTTP proxy the clients tunnel through), openssl (makes the wss:// tests' CA),
#   postgresql (the shared feed of several instances; the tests run their own server on
#   loopback, Tests/Scripts/postgres.sh), nginx (the reverse proxy in front of them),
#   python3-venv when the venv below cannot be made without it.
#   PyPI (pip, pinned): the Python peers (websockets, h11, wsproto, h2), ALWAYS into the venv .build/wirecodec-python inside
#   the checkout, never into the system or the user's Python. test-all.sh puts it first on PATH.
#   Autobahn|Testsuite installs itself later (Tests/Conformance/autobahn/install-autobahn.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash Tests/Scripts/setup-build.sh

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
    echo "setup-tests: apt-get install $*" >&2
    if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

need_apt=()
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || [ -x /usr/sbin/tinyproxy ] || need_apt+=(tinyproxy)
# openssl makes the test CA and certificates of the TLS tests (Tests/Scripts/make-test-cert.sh).
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# PostgreSQL's server binaries (initdb, pg_ctl, postgres, pgbench) live outside PATH.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
if [ "${#need_apt[@]}" -gt 0 ]; then apt_install "${need_apt[@]}"; fi
# Debian's tinyproxy package starts a system daemon on port 8888 when installed; the tests run
# their own instances on free ports, so the one we just installed is stopped and disabled.
# The same for PostgreSQL's and nginx's system services (the tests start their own).
for service in tinyproxy postgresql nginx; do
    if [[ " ${need_apt[*]} " == *" $service "* ]]; then
        { $SUDO systemctl disable --now "$service" || $SUDO service "$service" stop; } >/dev/null 2>&1 || true
    fi
done

# Python peers used by the interop, fixture and feed tests (pinned), in the project's venv.
VENV=.build/wirecodec-python
peers=('websockets==17.4' 'h11==0.16.0' 'wsproto==1.3.2' 'h2==4.4.1')
if [ ! -x "$VENV/bin/python3" ] || ! "$VENV/bin/python3" -m pip --version >/dev/null 2>&1; then
    echo "setup-tests: making the venv $VENV" >&2
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        apt_install python3-venv
        python3 -m venv "$VENV"
    fi
fi
if ! "$VENV/bin/python3" -c 'import websockets, h11, wsproto, h2' >/dev/null 2>&1; then
    echo "setup-tests: pip install ${peers[*]} into $VENV" >&2
    "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${peers[@]}"
fi
