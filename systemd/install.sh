#!/bin/sh
# Install posd on a till from a source checkout, as root:   sudo sh systemd/install.sh
# Remove it (keeps /etc/posd and /var/lib/posd; --purge removes them too):   sudo sh systemd/install.sh uninstall
#
# posd goes into its own virtual environment ($PREFIX/.venv, default /opt/posd); `posd install` then puts the
# systemd unit, udev rules, sysusers and modules-load files and a default /etc/posd/posd.toml in place, reloads
# systemd and udev and starts the service. DESTDIR=/some/dir installs into a staging root instead (no systemctl).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/opt/posd}
DESTDIR=${DESTDIR:-}
PYTHON=${PYTHON:-python3}
action=${1:-install}
[ $# -gt 0 ] && shift

as_root_tools() {
    # A till with a minimal Debian: python3-venv (venv is split out of python3) and libudev1 (pyudev).
    [ -n "$DESTDIR" ] && return 0
    missing=""
    for package in python3-venv libudev1; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
    done
    if [ -n "$missing" ]; then
        apt-get update -qq
        # shellcheck disable=SC2086 # one word per package
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
}

case "$action" in
install)
    as_root_tools
    venv="$DESTDIR$PREFIX/.venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$SRC"
    "$venv/bin/posd" install --source "$SRC" --prefix "$PREFIX" ${DESTDIR:+--root "$DESTDIR"} "$@"
    ;;
uninstall)
    venv="$DESTDIR$PREFIX/.venv"
    if [ -x "$venv/bin/posd" ]; then
        "$venv/bin/posd" uninstall --prefix "$PREFIX" ${DESTDIR:+--root "$DESTDIR"} "$@"
    fi
    rm -rf "$DESTDIR$PREFIX"
    ;;
*)
    echo "usage: sh systemd/install.sh [install|uninstall] [options of posd install/uninstall]" >&2
    exit 2
    ;;
esac
