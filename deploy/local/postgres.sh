#!/usr/bin/env bash
# The project's own PostgreSQL cluster for development and tests, without Docker.
#
#   deploy/local/postgres.sh start    # install Debian's postgresql if needed, initdb once, start, wait
#   deploy/local/postgres.sh stop     # pg_ctl stop -m fast
#   deploy/local/postgres.sh status
#
# - Binaries: the newest /usr/lib/postgresql/<v>/bin (Debian's layout); `apt-get install postgresql` only
#   when no initdb is there. The Debian cluster(s) of the machine (e.g. 15/main on 5432) are never touched.
# - Data: .local/pg/data, log .local/pg/pg.log. Listens on 127.0.0.1:5433 only (TCP, no Unix socket: no
#   clash with the system's /var/run/postgresql and no 107-byte socket path limit for deep checkouts).
# - initdb refuses to run as root, so as root every pg command runs as the `postgres` OS user and
#   .local/pg is chowned to it. The server then has to traverse every parent directory of the checkout.
#   Choice: we keep the data inside the checkout (so `make reset` / `rm -rf .local` really wipes it) and,
#   when some parent lacks it (e.g. /root is 0700), add only the search bit for others (o+x, never o+r:
#   nothing becomes listable or readable) to exactly those parents, and say so. On this machine /work and
#   /work/main are 0755 already, so nothing is changed. Run as a normal user, the pg commands run as that
#   user and no chown/chmod happens.
# - Authentication: the bootstrap superuser is `pulse` (password `pulse`), so the role the services and
#   tests use is SUPERUSER (tests create databases); TCP uses scram-sha-256, i.e. the password is checked.
#   Database `pulse` is owned by it. PULSE_PG_PORT overrides the port.
# - Tuning for a 2-core dev box: max_connections=200, shared_buffers=256MB; fsync stays on.
set -euo pipefail
LOG_TAG=postgres
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_DIR="$LOCAL/pg"
PGDATA_DIR="$PG_DIR/data"
PGLOG="$PG_DIR/pg.log"
HOST=127.0.0.1
PORT=${PULSE_PG_PORT:-5433}
PG_USER=pulse
PG_PASSWORD=pulse
PG_DB=pulse
READY_TIMEOUT=${PG_READY_TIMEOUT:-60}
PG_OS_USER=postgres

pg_bindir() {
    local initdb
    initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
    [[ -n $initdb ]] && dirname "$initdb"
}

ensure_installed() {
    if [[ -z $(pg_bindir) ]]; then
        apt_install postgresql
    fi
    BIN=$(pg_bindir)
    [[ -n $BIN ]] || die "no /usr/lib/postgresql/*/bin/initdb even after installing postgresql"
}

# Run a command as the OS user that owns the cluster.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# As root: let the postgres user reach .local/pg by adding o+x to the parents that lack a search bit for it.
ensure_traversable() {
    [[ $EUID -eq 0 ]] || return 0
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "no '$PG_OS_USER' OS user (is postgresql installed?)"
    mkdir -p "$PG_DIR"
    local d="$LOCAL"
    local parents=()
    while [[ $d != / ]]; do
        parents=("$d" "${parents[@]}")
        d=$(dirname "$d")
    done
    for d in "${parents[@]}"; do
        if ! runuser -u "$PG_OS_USER" -- test -x "$d" 2>/dev/null; then
            log "making $d traversable (o+x) for the $PG_OS_USER user"
            chmod o+x "$d"
        fi
    done
    chown "$PG_OS_USER:" "$PG_DIR"
    [[ -d $PGDATA_DIR ]] && chown -R "$PG_OS_USER:" "$PGDATA_DIR"
    touch "$PGLOG" && chown "$PG_OS_USER:" "$PGLOG"
    runuser -u "$PG_OS_USER" -- test -w "$PG_DIR" || die "$PG_OS_USER cannot write $PG_DIR"
}

init_cluster() {
    [[ -f "$PGDATA_DIR/PG_VERSION" ]] && return 0
    log "initdb $PGDATA_DIR ($("$BIN/postgres" --version))"
    rm -rf "$PGDATA_DIR"
    local pwfile="$PG_DIR/.pwfile"
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$pwfile"
    chmod 600 "$pwfile"
    if ! as_pg "$BIN/initdb" -D "$PGDATA_DIR" -U "$PG_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        rm -f "$pwfile"
        tail_log "$PG_DIR/initdb.log" 40
        die "initdb failed"
    fi
    rm -f "$pwfile"
    echo "include_if_exists = 'pulse.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

write_conf() {
    # Rewritten on every start, so changes here apply to an existing cluster too.
    cat >"$PGDATA_DIR/pulse.conf" <<EOF
# Written by deploy/local/postgres.sh; edit the script, not this file.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = ''
max_connections = 200
# Consumers lock the keys (clients, dates) of each batch, up to PULSE_BATCH_MAX_RECORDS per transaction
# (shared.db.lock_keys): the shared lock table holds max_locks_per_transaction x max_connections.
max_locks_per_transaction = 512
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
max_wal_size = 1GB
wal_buffers = 16MB
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
timezone = 'UTC'
log_timezone = 'UTC'
log_min_duration_statement = 1000
# Where PostgreSQL's time goes, per statement (CREATE EXTENSION pg_stat_statements to read it).
shared_preload_libraries = 'pg_stat_statements'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    [[ $EUID -eq 0 ]] && chown "$PG_OS_USER:" "$PGDATA_DIR/pulse.conf"
    return 0
}

is_running() {
    [[ -f "$PGDATA_DIR/PG_VERSION" ]] && as_pg "$BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

psql_pulse() {
    PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 "$BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$HOST" -p "$PORT" -U "$PG_USER" "$@"
}

# pg_isready AND a real query as pulse (on the pulse database once it exists).
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    until "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -t 2 &&
        psql_pulse -d postgres -tAc 'select 1' >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            tail_log "$PGLOG" 40
            die "PostgreSQL on $HOST:$PORT not ready within ${READY_TIMEOUT}s"
        fi
        sleep 0.3
    done
}

ensure_database() {
    if [[ -z $(psql_pulse -d postgres -tAc "select 1 from pg_database where datname = '$PG_DB'") ]]; then
        log "creating database $PG_DB owned by $PG_USER"
        psql_pulse -d postgres -c "create database $PG_DB owner $PG_USER"
    fi
    # Idempotent: the bootstrap superuser is pulse, but keep the contract even for an older data dir.
    psql_pulse -d "$PG_DB" -c "alter role $PG_USER with superuser login password '$PG_PASSWORD'" >/dev/null
    psql_pulse -d "$PG_DB" -tAc 'select 1' >/dev/null || die "select 1 as $PG_USER on $PG_DB failed"
}

cmd_start() {
    ensure_installed
    if is_running; then
        wait_ready
        ensure_database
        log "already running on $HOST:$PORT ($PGDATA_DIR)"
        return 0
    fi
    if port_open "$HOST" "$PORT"; then
        die "$HOST:$PORT is taken by a server that is not ours ($PGDATA_DIR); stop it, or set DATABASE_URL \
to use it instead"
    fi
    local t0=$SECONDS
    ensure_traversable
    init_cluster
    write_conf
    log "starting ($BIN, log: $PGLOG)"
    local runas=()
    [[ $EUID -eq 0 ]] && runas=(runuser -u "$PG_OS_USER" --)
    # setsid: the postmaster must not share our process group (a Ctrl-C in the terminal would stop it).
    if ! (cd / && setsid "${runas[@]}" "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -w -t "$READY_TIMEOUT" start \
        >/dev/null </dev/null 9>&-); then
        tail_log "$PGLOG" 40
        die "pg_ctl start failed"
    fi
    wait_ready
    ensure_database
    log "ready: postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PORT/$PG_DB (after $((SECONDS - t0)) s)"
}

cmd_stop() {
    BIN=$(pg_bindir)
    if [[ -z $BIN ]] || ! is_running; then
        log "not running"
        return 0
    fi
    as_pg "$BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
    log "stopped"
}

cmd_status() {
    BIN=$(pg_bindir)
    if [[ -n $BIN ]] && is_running; then
        local pid
        pid=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
        echo "postgres: running (pid $pid) on $HOST:$PORT, data $PGDATA_DIR"
    else
        echo "postgres: stopped"
        return 3
    fi
}

case "${1:-}" in
fetch | start | stop) lock postgres ;;
esac
case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
    ;;
esac
