#!/usr/bin/env bash
# The five Pulse services as background processes.
#
#   deploy/local/services.sh start [name...]   # start (skip the ones alive), wait until /healthz is 200
#   deploy/local/services.sh stop [name...]    # SIGTERM each process group, SIGKILL after 15 s
#   deploy/local/services.sh status [name...]
#
# Each runs as `uv run --frozen python -m services.<name>` in its own session (setsid), so its PID is also
# its process-group id and `kill -- -PID` reaches uv and the Python child. stdout+stderr go to
# .local/logs/<name>.log, the PID to .local/run/<name>.pid. Health ports follow shared.settings and may be
# overridden the same way (PULSE_SNAPSHOTTER_PORT, ..., PULSE_GATEWAY_PORT).
# PULSE_SERVICES_PACKAGE (default `services`) exists only to exercise this script with stand-ins.
set -euo pipefail
LOG_TAG=services
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(snapshotter returns aggregator alerter gateway)
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"
PACKAGE=${PULSE_SERVICES_PACKAGE:-services}
HEALTH_TIMEOUT=${SERVICES_HEALTH_TIMEOUT:-120}
STOP_TIMEOUT=15

port_of() {
    case $1 in
    snapshotter) echo "${PULSE_SNAPSHOTTER_PORT:-9101}" ;;
    returns) echo "${PULSE_RETURNS_PORT:-9102}" ;;
    aggregator) echo "${PULSE_AGGREGATOR_PORT:-9103}" ;;
    alerter) echo "${PULSE_ALERTER_PORT:-9104}" ;;
    gateway) echo "${PULSE_GATEWAY_PORT:-8000}" ;;
    *) die "unknown service: $1" ;;
    esac
}

host_of() {
    if [[ $1 == gateway ]]; then echo "${PULSE_GATEWAY_HOST:-127.0.0.1}"; else echo "${PULSE_HTTP_HOST:-127.0.0.1}"; fi
}

pidfile_of() { echo "$RUN_DIR/$1.pid"; }
logfile_of() { echo "$LOG_DIR/$1.log"; }

# The recorded process group of a service if any of its processes is alive and it is really ours.
running_pgid() {
    local name=$1 pid
    pid=$(read_pid "$(pidfile_of "$name")")
    [[ -n $pid ]] || return 0
    if pid_alive "$pid"; then
        pid_matches "$pid" "$PACKAGE.$name" && echo "$pid"
    elif pgid_alive "$pid"; then
        echo "$pid" # the leader (uv) is gone but its Python child is still in the group
    fi
    return 0
}

healthy() {
    local name=$1
    [[ $(http_status "$(host_of "$name")" "$(port_of "$name")" /healthz) == 200 ]]
}

start_one() {
    local name=$1 pgid uv
    pgid=$(running_pgid "$name")
    if [[ -n $pgid ]]; then
        log "$name already running (pgid $pgid)"
        return 0
    fi
    if [[ $(http_status "$(host_of "$name")" "$(port_of "$name")" /healthz) != 000 ]]; then
        die "$name: port $(port_of "$name") is already answering, but not from a process we started"
    fi
    uv=$(uv_bin)
    echo "===== $(date -Is) starting $PACKAGE.$name =====" >>"$(logfile_of "$name")"
    (cd "$ROOT" && exec setsid "$uv" run --frozen python -m "$PACKAGE.$name" \
        >>"$(logfile_of "$name")" 2>&1 </dev/null 9>&-) &
    local pid=$!
    echo "$pid" >"$(pidfile_of "$name")"
    log "started $name (pid $pid, log $(logfile_of "$name"))"
}

cmd_start() {
    local names=("$@") name failed=()
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    # One sync up front, so the services do not race each other to install the project.
    (cd "$ROOT" && "$(uv_bin)" sync --frozen --quiet)
    for name in "${names[@]}"; do
        start_one "$name"
    done
    local deadline=$((SECONDS + HEALTH_TIMEOUT)) pending=("${names[@]}") still
    while ((${#pending[@]})); do
        still=()
        for name in "${pending[@]}"; do
            if healthy "$name"; then
                log "$name healthy on :$(port_of "$name")"
            elif [[ -z $(running_pgid "$name") ]]; then
                log "$name exited before becoming healthy"
                failed+=("$name")
            else
                still+=("$name")
            fi
        done
        pending=("${still[@]+"${still[@]}"}")
        ((${#pending[@]})) || break
        if ((SECONDS >= deadline)); then
            for name in "${pending[@]}"; do
                log "$name: no 200 from http://$(host_of "$name"):$(port_of "$name")/healthz within ${HEALTH_TIMEOUT}s"
            done
            failed+=("${pending[@]}")
            break
        fi
        sleep 1
    done
    if ((${#failed[@]})); then
        for name in "${failed[@]}"; do
            tail_log "$(logfile_of "$name")" 40
        done
        die "not healthy: ${failed[*]} (they are left as they are; see .local/logs, stop with: $0 stop)"
    fi
    log "all healthy: ${names[*]}"
}

cmd_stop() {
    local name pgid
    for name in "$@"; do
        pgid=$(running_pgid "$name")
        if [[ -z $pgid ]]; then
            log "$name not running"
        else
            log "stopping $name (process group $pgid)"
            terminate "$pgid" "$STOP_TIMEOUT" 1 &
        fi
    done
    wait # the groups are stopped in parallel
    for name in "$@"; do
        rm -f "$(pidfile_of "$name")"
    done
}

cmd_status() {
    local name pgid rc=0
    for name in "$@"; do
        pgid=$(running_pgid "$name")
        if [[ -z $pgid ]]; then
            echo "$name: stopped"
            rc=3
        elif healthy "$name"; then
            echo "$name: running (pgid $pgid), healthy on :$(port_of "$name")"
        else
            echo "$name: running (pgid $pgid), NOT healthy on :$(port_of "$name")"
            rc=1
        fi
    done
    return $rc
}

action=${1:-}
shift || true
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for n in "${names[@]}"; do port_of "$n" >/dev/null; done
[[ $action == status ]] || lock services
case $action in
start) cmd_start "${names[@]}" ;;
stop) cmd_stop "${names[@]}" ;;
status) cmd_status "${names[@]}" ;;
*)
    echo "usage: $0 {start|stop|status} [${ALL[*]}]" >&2
    exit 2
    ;;
esac
