#!/usr/bin/env bash
# `make check-prometheus` (and so `make test`): promtool checks of deploy/prometheus/ - the Prometheus
# configuration, the alert rules, the rules' unit tests (deploy/prometheus/tests/*.yml) - and the PromQL of
# the Grafana dashboards (deploy/prometheus/dashboard_rules.py).
#
# promtool comes from Debian's `prometheus` package, installed with apt-get only when promtool is missing.
# The package would start a Prometheus server: while it installs, a policy-rc.d forbids that (Debian's own
# mechanism, honoured by invoke-rc.d and deb-systemd-invoke; only put in place when the machine has none, and
# removed afterwards), and a server that started anyway is stopped by its pid file or `service prometheus
# stop` - never by name.
set -euo pipefail
LOG_TAG=prometheus
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=/usr/sbin/policy-rc.d
PIDFILE=/run/prometheus/prometheus.pid
OUR_POLICY=0

remove_policy() {
    if ((OUR_POLICY)); then
        as_root rm -f "$POLICY"
        OUR_POLICY=0
    fi
}

stop_daemon() {
    local pid
    pid=$(read_pid "$PIDFILE")
    if [[ -n $pid ]] && pid_matches "$pid" prometheus; then
        log "the package started a Prometheus server (pid $pid, $PIDFILE): stopping it"
        if command -v service >/dev/null 2>&1; then
            as_root service prometheus stop >/dev/null 2>&1 || true
        fi
        if pid_alive "$pid"; then
            as_root kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        if systemctl is-active --quiet prometheus.service; then
            log "the package started prometheus.service: stopping it"
            as_root service prometheus stop >/dev/null 2>&1 || as_root systemctl stop prometheus.service
        fi
        # Installed for promtool only: no server at the next boot either.
        as_root systemctl disable --quiet prometheus.service 2>/dev/null || true
    fi
}

install_promtool() {
    if [[ ! -e $POLICY ]]; then
        trap remove_policy EXIT
        printf '#!/bin/sh\n# deploy/local/check-prometheus.sh: start no daemon while promtool is installed\nexit 101\n' |
            as_root tee "$POLICY" >/dev/null
        as_root chmod 0755 "$POLICY"
        OUR_POLICY=1
    fi
    local rc=0
    apt_install prometheus || rc=$?
    remove_policy
    stop_daemon
    ((rc == 0)) || die "apt-get install prometheus failed (exit code $rc)"
    command -v promtool >/dev/null 2>&1 || die "the prometheus package is installed but promtool is not on PATH"
}

if ! command -v promtool >/dev/null 2>&1; then
    log "promtool not found: installing Debian's prometheus package (for promtool only)"
    install_promtool
fi

cd "$ROOT/deploy/prometheus"
start=$SECONDS
promtool --version 2>&1 | head -n 1
promtool check config prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/*.yml
# The Grafana dashboards' queries, parsed the same way (as recording rules of a scratch file).
dashboard_rules=$(mktemp --suffix=.yml)
trap 'rm -f "$dashboard_rules"' EXIT
python3 dashboard_rules.py "$ROOT"/deploy/grafana/dashboards/*.json >"$dashboard_rules"
promtool check rules "$dashboard_rules"
log "promtool checks passed in $((SECONDS - start)) s"
