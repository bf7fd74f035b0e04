#!/usr/bin/env bash
# `make test`: the browser of the dashboard's tests (tests/e2e/test_dashboard.py). Playwright's own browser
# download cannot reach its servers from these machines, so the tests drive Debian's Chromium, installed with
# apt-get only when there is none (../shared/notes/browser-tests.md). PULSE_CHROMIUM names another one.
set -euo pipefail
LOG_TAG=chromium
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n ${PULSE_CHROMIUM:-} ]]; then
    [[ -x $PULSE_CHROMIUM ]] || die "PULSE_CHROMIUM=$PULSE_CHROMIUM is not an executable"
    exit 0
fi
if ! command -v chromium >/dev/null 2>&1; then
    log "chromium not found: installing Debian's chromium package for the browser tests"
    apt_install chromium
fi
log "$(chromium --version 2>/dev/null | head -n 1)"
