#!/usr/bin/env bash
# The infrastructure of the local stack: PostgreSQL (127.0.0.1:5433) and Kafka (127.0.0.1:9092).
#
#   deploy/local/stack.sh up       # postgres start + kafka fetch/start + create the topics
#   deploy/local/stack.sh down     # stop what we started (by PID / data dir)
#   deploy/local/stack.sh status
#
# The local PostgreSQL gets Pulse's logins (`pulse db roles`: a migration role that owns the schemas, one
# runtime role per service, the gateway read-only), all with the development password `pulse`.
# When the environment already names a database (DATABASE_URL) or a broker (KAFKA_BOOTSTRAP_SERVERS),
# that component is not started locally: the given one is used (topics are still created on the broker).
# Both `up` and `down` are safe to run again.
set -euo pipefail
LOG_TAG=stack
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$ROOT/deploy/local"

cmd_up() {
    local t0=$SECONDS
    if [[ -n ${DATABASE_URL:-} ]]; then
        log "DATABASE_URL is set: using it, not starting the local PostgreSQL"
    else
        "$HERE/postgres.sh" start
        # Each service signs in with its own login, rights on its own schema only (shared.db_roles).
        local_db_passwords pyrun -m cli.main db roles >/dev/null
        log "database roles provisioned (pulse db roles)"
    fi
    if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
        log "KAFKA_BOOTSTRAP_SERVERS is set ($KAFKA_BOOTSTRAP_SERVERS): using it, not starting the local broker"
    else
        "$HERE/kafka.sh" fetch
        "$HERE/kafka.sh" start
    fi
    KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${PULSE_LOCAL_KAFKA_PORT:-9092}} \
        pyrun "$HERE/create_topics.py"
    if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
        # Each service's SASL user on the SASL_SSL listener (127.0.0.1:9094), allowed its own topics only.
        pyrun -m shared.kafka.access --dev | "$HERE/kafka.sh" access
        log "kafka users and ACLs provisioned (shared/kafka/access.py)"
    fi
    log "up in $((SECONDS - t0)) s"
}

cmd_down() {
    local rc=0
    "$HERE/kafka.sh" stop || rc=1
    "$HERE/postgres.sh" stop || rc=1
    return $rc
}

cmd_status() {
    local rc=0
    if [[ -n ${DATABASE_URL:-} ]]; then
        echo "postgres: external (DATABASE_URL is set)"
    fi
    "$HERE/postgres.sh" status || rc=1
    if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
        echo "kafka: external ($KAFKA_BOOTSTRAP_SERVERS)"
    fi
    "$HERE/kafka.sh" status || rc=1
    return $rc
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 {up|down|status}" >&2
    exit 2
    ;;
esac
