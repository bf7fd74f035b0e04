# shellcheck shell=bash
# Helpers shared by the deploy/local/*.sh scripts. Source it; do not run it.
#
# Everything the local stack keeps lives under $ROOT/.local (git-ignored). Processes are only ever
# addressed by the PID recorded when we started them (checked against /proc/PID/cmdline so that a
# recycled PID is never signalled); nothing is killed by name.

set -euo pipefail
set +m # no job control: a background child stays out of its own group until setsid makes one

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
LOCAL="$ROOT/.local"
export ROOT LOCAL

log() { printf '[%s] %s\n' "${LOG_TAG:-local}" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Run as root directly, otherwise through sudo (if there is one).
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

# apt-get install, non-interactive, after an `apt-get update` (unless the lists are fresh).
_APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
    export DEBIAN_FRONTEND=noninteractive
    # Skip the update when another step refreshed the package lists in the last hour.
    if [[ $_APT_UPDATED -eq 0 ]] &&
        [[ -n $(find /var/lib/apt/lists -maxdepth 0 -mmin -60 2>/dev/null) ]] &&
        compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        _APT_UPDATED=1
    fi
    if [[ $_APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        _APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" </dev/null
}

# The uv binary: on PATH, or where `pip install --user uv` puts it.
uv_bin() {
    if command -v uv >/dev/null 2>&1; then
        command -v uv
    elif [[ -x "${HOME:-/root}/.local/bin/uv" ]]; then
        echo "${HOME:-/root}/.local/bin/uv"
    else
        die "uv not found (run: make install)"
    fi
}

# Run the project's Python (never touches uv.lock).
pyrun() {
    local uv
    uv="$(uv_bin)"
    (cd "$ROOT" && "$uv" run --frozen --quiet python "$@")
}

# Is PID alive (and not a zombie)?
pid_alive() {
    local pid=$1 state
    [[ -n $pid && $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ $state != Z ]]
}

# Is PID alive and does its command line contain NEEDLE? (guards against a recycled PID)
pid_matches() {
    local pid=$1 needle=$2
    pid_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

# Is any process of process group PGID alive?
pgid_alive() {
    local pgid=$1
    [[ -n $pgid && $pgid =~ ^[0-9]+$ ]] || return 1
    kill -0 -- "-$pgid" 2>/dev/null
}

read_pid() {
    if [[ -f $1 ]]; then tr -dc '0-9' <"$1"; fi
}

# Does something accept TCP connections on HOST PORT?
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# HTTP status code of GET http://HOST:PORT/PATH (000 when nothing answers); no curl needed.
http_status() {
    local host=$1 port=$2 path=$3 line
    line=$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/$host/$port" || exit 0
        printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$path" "$host" "$port" >&3
        IFS= read -r -t 3 l <&3 && printf '%s' "$l"
    ) || true
    if [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 000
    fi
}

# SIGTERM PID, wait up to TIMEOUT seconds, then SIGKILL. With GROUP=1, signal the process group PID.
terminate() {
    local pid=$1 timeout=$2 group=${3:-0} target i
    target=$pid
    [[ $group -eq 1 ]] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    for ((i = 0; i < timeout * 5; i++)); do
        if [[ $group -eq 1 ]]; then pgid_alive "$pid" || return 0; else pid_alive "$pid" || return 0; fi
        sleep 0.2
    done
    log "pid $pid still alive after ${timeout}s: SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
    sleep 0.5
}

tail_log() {
    local file=$1 n=${2:-40}
    if [[ -f $file ]]; then
        echo "----- last $n lines of $file -----" >&2
        tail -n "$n" "$file" >&2
        echo "-----" >&2
    else
        echo "(no log file $file)" >&2
    fi
}

# Serialize start/stop of one component across concurrent callers (e.g. two `make test` at once).
lock() {
    local name=$1 timeout=${2:-300}
    mkdir -p "$LOCAL"
    exec 9>"$LOCAL/.$name.lock"
    if ! flock -w "$timeout" 9; then
        die "another deploy/local script holds $LOCAL/.$name.lock for more than ${timeout}s"
    fi
}

# The local PostgreSQL (deploy/local/postgres.sh) and Pulse's logins on it (shared.db_roles), all with the
# development password `pulse`: a local try-out needs no configuration. Never used when DATABASE_URL is set.
LOCAL_PG_ADDRESS="127.0.0.1:${PULSE_PG_PORT:-5433}"
LOCAL_DB_PASSWORD=pulse

# Run a command with every Pulse login's password (PULSE_DB_PASSWORD_<LOGIN>) set for `pulse db roles`.
local_db_passwords() {
    local login
    for login in OWNER SNAPSHOTTER RETURNS AGGREGATOR ALERTER GATEWAY; do
        export "PULSE_DB_PASSWORD_$login=$LOCAL_DB_PASSWORD"
    done
    "$@"
}

# The URL of login `pulse_<name>` on the local database.
local_db_url() { echo "postgresql://pulse_$1:$LOCAL_DB_PASSWORD@$LOCAL_PG_ADDRESS/pulse"; }
