#!/usr/bin/env bash
# A vulnerability audit of the locked dependencies (`make audit`, part of `make lint`):
# - Python: every package of uv.lock (runtime and dev), pinned, through pip-audit, which asks PyPI's
#   vulnerability service (`https://pypi.org/pypi/<name>/<version>/json`) about each exact version;
# - browser libraries: package-lock.json through `npm audit` (the npm registry's advisories).
# A known vulnerability fails it. A service that cannot be reached is reported as NOT AUDITED, and fails it
# only with PULSE_AUDIT_REQUIRED=true (what a release pipeline with network access sets): on this machine
# kind the per-version PyPI JSON answers 404 and npm's advisories endpoint 405 (checked 2026-12-06), so
# nothing can be audited here.
set -euo pipefail
LOG_TAG=audit
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

uv=$(uv_bin)
required=${PULSE_AUDIT_REQUIRED:-false}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rc=0
unaudited=()

# What a failed run says when it could not ask at all (rather than found something).
unreachable() {
    grep -qiE "not found on PyPI|connection|timed out|ServiceError|status code|404|405|Max retries|resolve" "$1"
}

# Hashed pins (pip-audit then needs no pip to resolve them). --strict: a package it could not ask about fails
# the run instead of being skipped; without it, every package "not found on PyPI" here gave "No known
# vulnerabilities found" and exit 0.
"$uv" export --frozen --all-groups --no-emit-project --format requirements-txt >"$work/requirements.txt"
packages=$(grep -cE '^[A-Za-z0-9]' "$work/requirements.txt" || true)
if "$uv" run --frozen pip-audit --strict --requirement "$work/requirements.txt" --disable-pip \
    --progress-spinner off --timeout 20 >"$work/pip-audit.out" 2>"$work/pip-audit.err"; then
    log "python: $packages locked packages, no known vulnerability ($(tail -n 1 "$work/pip-audit.err"))"
elif unreachable "$work/pip-audit.err" && ! grep -q "Found [1-9]" "$work/pip-audit.out" "$work/pip-audit.err"; then
    unaudited+=("python ($packages packages): $(grep -m 1 -E 'ERROR' "$work/pip-audit.err" | cut -c1-200)")
else
    cat "$work/pip-audit.out" "$work/pip-audit.err" >&2
    log "python: known vulnerabilities in the locked packages (above)"
    rc=1
fi

if npm audit --package-lock-only --audit-level=low >"$work/npm.out" 2>"$work/npm.err"; then
    log "browser libraries: no known vulnerability"
elif unreachable "$work/npm.err"; then
    unaudited+=("browser libraries: $(grep -m 1 -iE 'error|405|404' "$work/npm.err" | cut -c1-200)")
else
    cat "$work/npm.out" "$work/npm.err" >&2
    log "browser libraries: known vulnerabilities (above)"
    rc=1
fi

for what in "${unaudited[@]}"; do
    log "NOT AUDITED: the vulnerability service cannot be reached from here: $what"
done
if ((${#unaudited[@]})) && [[ $required == true ]]; then
    log "PULSE_AUDIT_REQUIRED=true: an audit that could not run fails"
    rc=1
fi
exit $rc
