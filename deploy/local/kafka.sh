#!/usr/bin/env bash
# A single-node Apache Kafka 4.1.1 broker (KRaft, broker+controller in one JVM) without Docker.
#
#   deploy/local/kafka.sh fetch    # jars from Maven Central into .local/kafka/libs (once; cached)
#   deploy/local/kafka.sh start    # config, format storage (once), start, wait until really ready
#   deploy/local/kafka.sh stop     # SIGTERM the recorded PID, SIGKILL after 30 s
#   deploy/local/kafka.sh status
#   deploy/local/kafka.sh access   # users and ACLs from a spec on stdin (shared/kafka/access.py, KafkaAccess.java)
#   deploy/local/kafka.sh access --serve   # the same, one spec per "apply" line, one answer line each (tests)
#
# Listeners: PLAINTEXT 127.0.0.1:9092 (anonymous super users: the tests and the upstream stand-ins) and
# SASL_SSL 127.0.0.1:9094 (SCRAM-SHA-512 over TLS, certificate from .local/kafka/tls made by ensure_tls,
# StandardAuthorizer with the ACLs of shared/kafka/access.py). Measured here (2026-12-06): `access` takes
# ~3 s (one JVM compiling KafkaAccess.java in memory) and is skipped when the spec has not changed.
#
# Verified on this machine (Debian 12, 2 cores, OpenJDK 17.0.15, Maven 3.8.7, Kafka 4.1.1), Nov 2026:
# - deploy/local/kafka-pom.xml + `mvn -B -q dependency:copy-dependencies -DincludeScope=runtime` gives 46 jars
#   (43 MB) including log4j-api/core/slf4j-impl 2.24.3; ~5-15 s with a warm ~/.m2, ~11 s with an empty one.
# - `kafka.tools.StorageTool random-uuid` and `format --standalone -t ID -c server.properties` work as the
#   note says (with controller.quorum.bootstrap.servers and no controller.quorum.voters). A second format
#   fails (exit 1, "already formatted") unless -g is given; we skip it when data/meta.properties exists.
# - `java -cp "libs/*" kafka.Kafka server.properties` with the note's config starts in ~3 s (log line
#   "Kafka Server started"); a properties-format log4j2 config works with log4j-core 2.24.3. No "unknown
#   config" warnings for the share.coordinator.* keys. Advertising the CONTROLLER listener is accepted.
# - aiokafka 0.14: list_topics, create_topics (RF 1), idempotent producer with acks=all, a consumer group
#   (the __consumer_offsets topic with RF 1) and topic auto-creation on produce all work.
# - SIGTERM gives a clean controlled shutdown in ~1-2 s; after a SIGKILL the next start recovers (~13 s).
# - Timings (stack.sh up, 2 busy cores): cold with jars cached ~12 s, cold without jars ~23 s, warm no-op ~1 s.
# Differences from the note: none needed in the config or commands. We only add: a quieter log4j2 config
# (INFO but WARN for the per-partition log/storage chatter), readiness = port open AND an aiokafka admin
# list_topics() (the log line alone says nothing about clients), and a PID check against /proc/PID/cmdline.
set -euo pipefail
LOG_TAG=kafka
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The jars and the TLS files are the checkout's; PULSE_LOCAL_KAFKA_DIR puts a second broker's config, data, log
# and pid elsewhere (with its own PULSE_LOCAL_KAFKA_*PORT), as the OAUTHBEARER test does.
JARS_DIR="$LOCAL/kafka"
KAFKA_DIR=${PULSE_LOCAL_KAFKA_DIR:-$JARS_DIR}
LIBS="$JARS_DIR/libs"
DATA="$KAFKA_DIR/data"
PROPS="$KAFKA_DIR/server.properties"
LOG4J="$KAFKA_DIR/log4j2.properties"
PIDFILE="$KAFKA_DIR/kafka.pid"
KLOG="$KAFKA_DIR/kafka.log"
POM="$ROOT/deploy/local/kafka-pom.xml"
KAFKA_VERSION=4.1.1
HOST=127.0.0.1
PORT=${PULSE_LOCAL_KAFKA_PORT:-9092}
CONTROLLER_PORT=${PULSE_LOCAL_KAFKA_CONTROLLER_PORT:-9093}
SASL_PORT=${PULSE_LOCAL_KAFKA_SASL_PORT:-9094}
TLS="$JARS_DIR/tls"
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
# OAUTHBEARER on the SASL_SSL listener as well, when an OpenID Connect provider's JWKS URL is given: tokens
# from the provider's client credentials grant, checked against its keys, issuer and audience; the principal
# is the claim PULSE_LOCAL_KAFKA_OAUTH_PRINCIPAL_CLAIM names (the client id, `azp`, by default).
OAUTH_JWKS_URL=${PULSE_LOCAL_KAFKA_OAUTH_JWKS_URL:-}
OAUTH_ISSUER=${PULSE_LOCAL_KAFKA_OAUTH_ISSUER:-}
OAUTH_AUDIENCE=${PULSE_LOCAL_KAFKA_OAUTH_AUDIENCE:-}
OAUTH_PRINCIPAL_CLAIM=${PULSE_LOCAL_KAFKA_OAUTH_PRINCIPAL_CLAIM:-azp}

ensure_java() {
    if ! command -v java >/dev/null 2>&1; then
        apt_install default-jre-headless
    fi
    local major
    major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    [[ ${major%%.*} -ge 17 ]] || die "Kafka 4.x needs Java 17+, found java $major"
}

libs_complete() {
    [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" && -f "$LIBS/kafka-server-$KAFKA_VERSION.jar" ]] &&
        compgen -G "$LIBS/log4j-core-*.jar" >/dev/null &&
        compgen -G "$LIBS/log4j-slf4j-impl-*.jar" >/dev/null
}

cmd_fetch() {
    ensure_java
    if libs_complete; then
        log "jars already in $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars)"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    mkdir -p "$JARS_DIR"
    local tmp="$JARS_DIR/libs.tmp.$$"
    rm -rf "$tmp"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central (mvn) ..."
    local t0=$SECONDS
    if ! mvn -B -q -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime </dev/null >"$JARS_DIR/fetch.log" 2>&1; then
        tail_log "$JARS_DIR/fetch.log" 60
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed"
    fi
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    libs_complete || die "jars fetched but the broker jars are missing in $LIBS"
    log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
}

write_config() {
    mkdir -p "$DATA"
    cat >"$PROPS" <<EOF
# Written by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
# PLAINTEXT: the local try-out and the tests, whose clients are anonymous super users. SASL_SSL: what a
# deployment looks like, SCRAM-SHA-512 users over TLS (a CA of this checkout's own, $TLS/ca.pem), each
# allowed its own topics only (shared/kafka/access.py).
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_SSL://$HOST:$SASL_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_SSL://$HOST:$SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512${OAUTH_JWKS_URL:+,OAUTHBEARER}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/broker.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$DATA
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    if [[ -n $OAUTH_JWKS_URL ]]; then
        cat >>"$PROPS" <<EOF
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
# Named, not left to the default: Kafka 4.1.1's default (DefaultJwtValidator), as the validator callback
# handler builds it, checks neither the signature nor the audience (it falls back to ClientJwtValidator), so a
# token signed with any key was accepted here. BrokerJwtValidator checks both (tests/e2e/test_kafka_oauth.py).
sasl.oauthbearer.jwt.validator.class=org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator
sasl.oauthbearer.jwks.endpoint.url=$OAUTH_JWKS_URL
sasl.oauthbearer.expected.issuer=$OAUTH_ISSUER
sasl.oauthbearer.expected.audience=$OAUTH_AUDIENCE
sasl.oauthbearer.sub.claim.name=$OAUTH_PRINCIPAL_CLAIM
EOF
    fi
    cat >"$LOG4J" <<'EOF'
# Written by deploy/local/kafka.sh. Console only (kafka.sh redirects it to kafka.log).
status = warn
appender.console.type = Console
appender.console.name = STDOUT
# KafkaAccess answers on standard output, so it logs to SYSTEM_ERR (-Dpulse.log.target).
appender.console.target = ${sys:pulse.log.target:-SYSTEM_OUT}
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# One line per partition per topic otherwise: tests create many topics.
logger.kafkalog.name = kafka.log
logger.kafkalog.level = WARN
logger.storage.name = org.apache.kafka.storage
logger.storage.level = WARN
logger.cluster.name = kafka.cluster
logger.cluster.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
}

# A CA of this checkout's own and the broker's certificate for 127.0.0.1 and localhost (kept across starts).
ensure_tls() {
    [[ -f "$TLS/broker.pem" && -f "$TLS/ca.pem" ]] && return 0
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    mkdir -p "$TLS"
    log "making a local CA and the broker's certificate in $TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Pulse local CA" \
        -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/broker.key" -out "$TLS/broker.csr" \
        2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TLS/san.ext"
    openssl x509 -req -in "$TLS/broker.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial -days 3650 \
        -extfile "$TLS/san.ext" -out "$TLS/broker.crt" 2>/dev/null
    # Kafka's PEM key store: an unencrypted PKCS#8 key, then the certificate chain.
    openssl pkcs8 -topk8 -nocrypt -in "$TLS/broker.key" -out "$TLS/broker.pk8"
    cat "$TLS/broker.pk8" "$TLS/broker.crt" "$TLS/ca.pem" >"$TLS/broker.pem"
    chmod 600 "$TLS"/*.key "$TLS/broker.pk8" "$TLS/broker.pem"
}

format_storage() {
    if [[ -f "$DATA/meta.properties" ]]; then
        return 0
    fi
    local cid
    cid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    [[ -n $cid ]] || die "StorageTool random-uuid printed nothing"
    log "formatting $DATA (cluster id $cid)"
    if ! java -Dlog4j2.configurationFile="$LOG4J" -cp "$LIBS/*" kafka.tools.StorageTool format \
        --standalone -t "$cid" -c "$PROPS" >>"$KLOG" 2>&1; then
        tail_log "$KLOG" 30
        die "StorageTool format failed"
    fi
}

running_pid() {
    local pid
    pid=$(read_pid "$PIDFILE")
    if pid_matches "$pid" "kafka.Kafka"; then
        echo "$pid"
    fi
}

# Ready = the port accepts AND an admin client can list topics. Retries until the deadline.
wait_ready() {
    local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
    while ! port_open "$HOST" "$PORT"; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            tail_log "$KLOG" 60
            die "broker process $pid exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$KLOG" 60
            die "broker did not open $HOST:$PORT within ${READY_TIMEOUT}s"
        fi
        sleep 0.5
    done
    local left=$((deadline - SECONDS))
    ((left > 5)) || left=5
    if ! admin_probe "$left"; then
        tail_log "$KLOG" 60
        die "broker on $HOST:$PORT does not answer an admin list_topics() within ${READY_TIMEOUT}s"
    fi
}

# aiokafka admin list_topics() against the broker, retried for up to $1 seconds.
admin_probe() {
    pyrun - "$HOST:$PORT" "$1" <<'EOF'
import asyncio
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient


async def main(bootstrap: str, budget: float) -> int:
    deadline = time.monotonic() + budget
    last: BaseException | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await asyncio.wait_for(admin.start(), 10)
            await asyncio.wait_for(admin.list_topics(), 10)
            return 0
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        finally:
            try:
                await admin.close()
            except Exception:  # noqa: BLE001
                pass
        await asyncio.sleep(0.5)
    print(f"admin probe failed: {last!r}", file=sys.stderr)
    return 1


sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]))))
EOF
}

cmd_start() {
    local pid
    pid=$(running_pid)
    if [[ -n $pid ]]; then
        if admin_probe 15; then
            log "already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log "pid $pid is alive but does not answer yet; waiting"
        wait_ready "$pid"
        log "ready on $HOST:$PORT (pid $pid)"
        return 0
    fi
    rm -f "$PIDFILE"
    if port_open "$HOST" "$PORT" || port_open "$HOST" "$CONTROLLER_PORT"; then
        die "$HOST:$PORT or :$CONTROLLER_PORT is already taken by a process that is not ours ($PIDFILE); \
stop it, or set KAFKA_BOOTSTRAP_SERVERS to use it instead"
    fi
    libs_complete || cmd_fetch
    ensure_java
    ensure_tls
    write_config
    format_storage
    local t0=$SECONDS
    log "starting broker (log: $KLOG)"
    {
        echo "===== $(date -Is) starting Kafka $KAFKA_VERSION ====="
    } >>"$KLOG"
    # shellcheck disable=SC2086 # HEAP_OPTS is a list of JVM flags
    # Kafka 4 fetches no OAuth URL it is not told it may (an allow-list, empty by default).
    setsid nohup java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$OAUTH_JWKS_URL" \
        -Dlog4j2.configurationFile="$LOG4J" -cp "$LIBS/*" kafka.Kafka "$PROPS" \
        >>"$KLOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    wait_ready "$pid"
    log "ready on $HOST:$PORT (pid $pid) after $((SECONDS - t0)) s"
}

# Users and ACLs from a spec on stdin (shared/kafka/access.py), applied through the PLAINTEXT listener, whose
# anonymous clients are super users. Skipped when this data directory already has exactly this spec.
# KafkaAccess.java against this broker (its answers on standard output, its log on standard error).
access_program() {
    ensure_java
    java -Dlog4j2.configurationFile="$LOG4J" -Dpulse.log.target=SYSTEM_ERR -cp "$LIBS/*" \
        "$ROOT/deploy/local/KafkaAccess.java" "$HOST:$PORT" "$@"
}

cmd_access() {
    if [[ ${1:-} == --serve ]]; then
        access_program --serve 2>>"$KAFKA_DIR/access.log"
        return
    fi
    local spec marker="$DATA/.pulse-access.sha256" sum
    spec=$(cat)
    sum=$(printf '%s' "$spec" | sha256sum | cut -d' ' -f1)
    if [[ -f $marker && $(cat "$marker") == "$sum" ]]; then
        return 0
    fi
    local out="$KAFKA_DIR/access.log"
    if ! printf '%s\n' "$spec" | access_program >"$out" 2>&1; then
        tail_log "$out" 40
        die "KafkaAccess failed"
    fi
    log "$(grep -E "^[0-9]+ users" "$out" | tail -n 1)"
    echo "$sum" >"$marker"
}

cmd_stop() {
    local pid
    pid=$(running_pid)
    if [[ -z $pid ]]; then
        log "not running"
        rm -f "$PIDFILE"
        return 0
    fi
    log "stopping pid $pid"
    terminate "$pid" 30
    rm -f "$PIDFILE"
    log "stopped"
}

cmd_status() {
    local pid
    pid=$(running_pid)
    if [[ -z $pid ]]; then
        echo "kafka: stopped"
        return 3
    fi
    if port_open "$HOST" "$PORT"; then
        echo "kafka: running (pid $pid) on $HOST:$PORT"
    else
        echo "kafka: process $pid alive but $HOST:$PORT not open (starting?)"
        return 1
    fi
}

case "${1:-}" in
fetch | start | stop) lock kafka ;;
esac
case "${1:-}" in
access) cmd_access "${2:-}" ;;
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 {fetch|start|stop|status|access [--serve]}" >&2
    exit 2
    ;;
esac
