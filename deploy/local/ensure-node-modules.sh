#!/usr/bin/env bash
# `make install`: the dashboard's browser libraries from npm (package.json, package-lock.json), installed
# into node_modules/ with `npm ci` when the lock file changed since the last install; the gateway serves them
# itself (services/gateway/pages/assets.py). Node.js and npm come from the machine, else from Debian.
set -euo pipefail
LOG_TAG=npm
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: installing Debian's nodejs and npm packages"
    apt_install nodejs npm
fi
stamp="$ROOT/node_modules/.package-lock.json"
# npm writes node_modules/.package-lock.json on every install: newer than the lock file means up to date.
if [[ -f $stamp && $stamp -nt "$ROOT/package-lock.json" ]]; then
    exit 0
fi
log "npm ci"
(cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
