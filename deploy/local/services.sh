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
# PULSE_REPLICAS=N (default 1) starts N instances of each consumer service (snapshotter, returns,
# aggregator, alerter), each in its service's consumer groups, so they share the partitions: instance k > 1
# is named <name>-k and serves /metrics and /healthz on the service's port + 100·(k−1) (9101, 9201, 9301,
# ...). The gateway runs once. `stop` and `status` reach every instance that is running, whatever N.
# PULSE_SERVICES_PACKAGE (default `services`) exists only to exercise this script with stand-ins.
set -euo pipefail
LOG_TAG=services
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL=(snapshotter returns aggregator alerter gateway)
CONSUMERS=(snapshotter returns aggregator alerter)
REPLICAS=${PULSE_REPLICAS:-1}
[[ $REPLICAS =~ ^[1-9][0-9]?$ ]] || die "PULSE_REPLICAS must be a number from 1 to 99, not '$REPLICAS'"
PORT_STEP=100
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"
PACKAGE=${PULSE_SERVICES_PACKAGE:-services}
HEALTH_TIMEOUT=${SERVICES_HEALTH_TIMEOUT:-120}
STOP_TIMEOUT=15

# An instance is <service> or <service>-<k>.
service_of() { echo "${1%-[0-9]*}"; }
ordinal_of() { if [[ $1 =~ -([0-9]+)$ ]]; then echo "${BASH_REMATCH[1]}"; else echo 1; fi; }

base_port_of() {
    case $1 in
    snapshotter) echo "${PULSE_SNAPSHOTTER_PORT:-9101}" ;;
    returns) echo "${PULSE_RETURNS_PORT:-9102}" ;;
    aggregator) echo "${PULSE_AGGREGATOR_PORT:-9103}" ;;
    alerter) echo "${PULSE_ALERTER_PORT:-9104}" ;;
    gateway) echo "${PULSE_GATEWAY_PORT:-8000}" ;;
    *) die "unknown service: $1" ;;
    esac
}

port_of() {
    local base
    base=$(base_port_of "$(service_of "$1")")
    echo $((base + PORT_STEP * ($(ordinal_of "$1") - 1)))
}

# The setting that moves a service's port (shared.settings), for an instance started on another one.
port_setting_of() {
    local service
    service=$(service_of "$1")
    echo "PULSE_${service^^}_PORT"
}

is_consumer() {
    local c
    for c in "${CONSUMERS[@]}"; do [[ $c == "$1" ]] && return 0; done
    return 1
}

# The instances to start for the services named: N of each consumer service, one gateway.
instances_of() {
    local name k
    for name in "$@"; do
        echo "$name"
        if is_consumer "$name"; then
            for ((k = 2; k <= REPLICAS; k++)); do echo "$name-$k"; done
        fi
    done
}

# Every instance of the services named that has a pid file (started with any PULSE_REPLICAS).
recorded_instances_of() {
    local name file
    for name in "$@"; do
        echo "$name"
        for file in "$RUN_DIR/$name"-*.pid; do
            [[ -e $file ]] || continue
            file=${file##*/}
            echo "${file%.pid}"
        done
    done
}

host_of() {
    if [[ $(service_of "$1") == gateway ]]; then
        echo "${PULSE_GATEWAY_HOST:-127.0.0.1}"
    else
        echo "${PULSE_HTTP_HOST:-127.0.0.1}"
    fi
}

pidfile_of() { echo "$RUN_DIR/$1.pid"; }
logfile_of() { echo "$LOG_DIR/$1.log"; }

# The recorded process group of a service if any of its processes is alive and it is really ours.
running_pgid() {
    local name=$1 pid
    pid=$(read_pid "$(pidfile_of "$name")")
    [[ -n $pid ]] || return 0
    if pid_alive "$pid"; then
        pid_matches "$pid" "$PACKAGE.$(service_of "$name")" && echo "$pid"
    elif pgid_alive "$pid"; then
        echo "$pid" # the leader (uv) is gone but its Python child is still in the group
    fi
    return 0
}

healthy() {
    local name=$1
    [[ $(http_status "$(host_of "$name")" "$(port_of "$name")" /healthz) == 200 ]]
}

# The local stack is a try-out: development mode (shared.settings.Settings.dev_mode) unless PULSE_DEV_MODE
# says otherwise, and no TLS to an SMTP server on this host (nothing listens on 1025 unless you run one).
export PULSE_DEV_MODE=${PULSE_DEV_MODE:-true}
export PULSE_SMTP_TLS=${PULSE_SMTP_TLS:-none}

# Unless DATABASE_URL names a database (then every service uses it as it is): the service's own login on the
# local PostgreSQL, and the schema owner's for its migrations (shared.db_roles, provisioned by stack.sh).
database_env() {
    [[ -z ${DATABASE_URL:-} ]] || return 0
    local service
    service=$(service_of "$1")
    export DATABASE_URL
    DATABASE_URL=$(local_db_url "$service")
    export PULSE_MIGRATION_DATABASE_URL
    PULSE_MIGRATION_DATABASE_URL=$(local_db_url owner)
}

# Unless KAFKA_BOOTSTRAP_SERVERS names a broker: the service's own SASL user on the local broker's SASL_SSL
# listener, over TLS checked against the checkout's CA, allowed its own topics only (shared/kafka/access.py,
# provisioned by stack.sh).
kafka_env() {
    [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]] || return 0
    export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:${PULSE_LOCAL_KAFKA_SASL_PORT:-9094}" \
        PULSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL PULSE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \
        PULSE_KAFKA_SASL_USERNAME="pulse-$(service_of "$1")" PULSE_KAFKA_SASL_PASSWORD=pulse \
        PULSE_KAFKA_SSL_CA_FILE="$LOCAL/kafka/tls/ca.pem"
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
    echo "===== $(date -Is) starting $PACKAGE.$(service_of "$name") as $name =====" >>"$(logfile_of "$name")"
    (cd "$ROOT" && export "$(port_setting_of "$name")=$(port_of "$name")" && database_env "$name" && kafka_env "$name" &&
        exec setsid "$uv" run --frozen python -m "$PACKAGE.$(service_of "$name")" \
            >>"$(logfile_of "$name")" 2>&1 </dev/null 9>&-) &
    local pid=$!
    echo "$pid" >"$(pidfile_of "$name")"
    log "started $name (pid $pid, log $(logfile_of "$name"))"
}

cmd_start() {
    local names=("$@") name failed=()
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    [[ $PULSE_DEV_MODE == true ]] &&
        log "development mode (PULSE_DEV_MODE=true): development secrets and plain-http webhooks are allowed"
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
for n in "${names[@]}"; do base_port_of "$n" >/dev/null; done
[[ $action == status ]] || lock services
case $action in
start) mapfile -t instances < <(instances_of "${names[@]}") && cmd_start "${instances[@]}" ;;
stop) mapfile -t instances < <(recorded_instances_of "${names[@]}") && cmd_stop "${instances[@]}" ;;
status) mapfile -t instances < <(recorded_instances_of "${names[@]}") && cmd_status "${instances[@]}" ;;
*)
    echo "usage: $0 {start|stop|status} [${ALL[*]}]" >&2
    exit 2
    ;;
esac
