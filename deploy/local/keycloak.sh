#!/usr/bin/env bash
# Keycloak, a real OpenID Connect provider, without Docker: for the gateway's OIDC tests
# (tests/integration/test_oidc.py) and for trying PULSE_OIDC_ISSUER by hand. Not part of `make up`.
#
#   deploy/local/keycloak.sh fetch    # keycloak-quarkus-dist from Maven Central into .local/keycloak (once)
#   deploy/local/keycloak.sh start    # `kc.sh start-dev` on 127.0.0.1:8180, admin/admin, wait until ready
#   deploy/local/keycloak.sh stop
#   deploy/local/keycloak.sh status
#
# - Keycloak 26 needs Java 21+: the newest /usr/lib/jvm/*/bin/java of version >= 21 (Temurin 25 on this
#   machine kind), else `apt-get install openjdk-21-jre-headless`.
# - start-dev: HTTP, an embedded H2 database under .local/keycloak, themes uncached. Development only.
# - Measured here (2 cores, 2026-12-06): fetch ~30 s (164 MB), first start ~25 s, later starts ~15 s.
set -euo pipefail
LOG_TAG=keycloak
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KC_VERSION=26.5.6
KC_DIR="$LOCAL/keycloak"
KC_HOME="$KC_DIR/keycloak-$KC_VERSION"
PIDFILE="$KC_DIR/keycloak.pid"
KCLOG="$KC_DIR/keycloak.log"
HOST=127.0.0.1
PORT=${PULSE_LOCAL_KEYCLOAK_PORT:-8180}
READY_TIMEOUT=${KEYCLOAK_READY_TIMEOUT:-180}

java_home() {
    local java version best=""
    for java in /usr/lib/jvm/*/bin/java; do
        [[ -x $java ]] || continue
        version=$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
        if [[ ${version%%.*} -ge 21 ]]; then
            best=$(dirname "$(dirname "$java")")
        fi
    done
    if [[ -z $best ]]; then
        apt_install openjdk-21-jre-headless
        best=$(dirname "$(dirname "$(compgen -G '/usr/lib/jvm/java-21-*/bin/java' | head -n 1)")")
    fi
    echo "$best"
}

cmd_fetch() {
    if [[ -x "$KC_HOME/bin/kc.sh" ]]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    mkdir -p "$KC_DIR"
    log "fetching Keycloak $KC_VERSION from Maven Central (mvn) ..."
    local t0=$SECONDS
    if ! mvn -B -q dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:tar.gz" \
        -DoutputDirectory="$KC_DIR" </dev/null >"$KC_DIR/fetch.log" 2>&1; then
        tail_log "$KC_DIR/fetch.log" 40
        die "mvn dependency:copy of keycloak-quarkus-dist failed"
    fi
    tar -xzf "$KC_DIR/keycloak-quarkus-dist-$KC_VERSION.tar.gz" -C "$KC_DIR"
    rm -f "$KC_DIR/keycloak-quarkus-dist-$KC_VERSION.tar.gz"
    log "fetched in $((SECONDS - t0)) s"
}

running_pid() {
    local pid
    pid=$(read_pid "$PIDFILE")
    # kc.sh runs the JVM as its child, or has become it.
    if pid_matches "$pid" "kc.sh" || pid_matches "$pid" "keycloak"; then
        echo "$pid"
    fi
}

ready() {
    [[ $(http_status "$HOST" "$PORT" /realms/master/.well-known/openid-configuration) == 200 ]]
}

cmd_start() {
    local pid
    pid=$(running_pid)
    if [[ -n $pid ]] && ready; then
        log "already running (pid $pid) on $HOST:$PORT"
        return 0
    fi
    if [[ -z $pid ]] && port_open "$HOST" "$PORT"; then
        die "$HOST:$PORT is taken by a process that is not ours"
    fi
    cmd_fetch
    if [[ -z $pid ]]; then
        local jhome t0=$SECONDS
        jhome=$(java_home)
        log "starting (java $jhome, log $KCLOG)"
        echo "===== $(date -Is) starting Keycloak $KC_VERSION =====" >>"$KCLOG"
        # exec: the background subshell becomes Keycloak itself (its own session, so `stop` reaches the JVM
        # through the process group), holding neither our output nor the lock.
        (
            cd "$KC_HOME" || exit 1
            JAVA_HOME=$jhome KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin \
                exec setsid nohup bin/kc.sh start-dev --http-host="$HOST" --http-port="$PORT" \
                >>"$KCLOG" 2>&1 </dev/null 9>&-
        ) &
        pid=$!
        echo "$pid" >"$PIDFILE"
    fi
    local deadline=$((SECONDS + READY_TIMEOUT))
    until ready; do
        if ! pgid_alive "$pid"; then
            tail_log "$KCLOG" 60
            die "Keycloak exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$KCLOG" 60
            die "Keycloak not ready on $HOST:$PORT within ${READY_TIMEOUT}s"
        fi
        sleep 1
    done
    log "ready on http://$HOST:$PORT (pid $pid)"
}

cmd_stop() {
    local pid
    pid=$(read_pid "$PIDFILE")
    if [[ -z $pid ]] || ! pgid_alive "$pid"; then
        log "not running"
        rm -f "$PIDFILE"
        return 0
    fi
    terminate "$pid" 30 1
    rm -f "$PIDFILE"
    log "stopped"
}

cmd_status() {
    if ready; then
        echo "keycloak: running on http://$HOST:$PORT"
    else
        echo "keycloak: stopped"
        return 3
    fi
}

case "${1:-}" in
fetch | start | stop) lock keycloak ;;
esac
case "${1:-}" in
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 {fetch|start|stop|status}" >&2
    exit 2
    ;;
esac
