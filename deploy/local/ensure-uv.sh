#!/usr/bin/env bash
# Make sure `uv` exists; print the path of the binary on stdout.
#
# Order: uv on PATH; ~/.local/bin/uv; `python3 -m pip install --user uv` (with PIP_BREAK_SYSTEM_PACKAGES=1,
# since Debian 12's python3 is "externally managed"); if python3 has no pip, `apt-get install python3-pip`
# first. Only PyPI and Debian apt are reachable on CI machines, so astral's install script is not used.
set -euo pipefail
LOG_TAG=uv
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USER_BIN="${HOME:-/root}/.local/bin"

found() {
    if command -v uv >/dev/null 2>&1; then
        command -v uv
    elif [[ -x "$USER_BIN/uv" ]]; then
        echo "$USER_BIN/uv"
    else
        return 1
    fi
}

if found; then
    exit 0
fi
command -v python3 >/dev/null 2>&1 || apt_install python3
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3-pip
fi
log "installing uv with pip (--user)"
PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore python3 -m pip install --user --quiet --disable-pip-version-check uv >&2
found || die "uv was installed but is neither on PATH nor in $USER_BIN"
