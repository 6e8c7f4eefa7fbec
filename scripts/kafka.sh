#!/usr/bin/env bash
# Run a throwaway single-node Apache Kafka (KRaft, broker+controller) on
# 127.0.0.1 for the tests. Needs Java 17+ and Maven; Kafka's jars come from
# Maven Central through `mvn` and are cached under $SS_CACHE_DIR.
#
#   scripts/kafka.sh start     fetch Kafka if missing, format fresh storage, start the
#                              broker and wait until it serves metadata
#   scripts/kafka.sh stop      stop the broker (files stay until the next start)
#   scripts/kafka.sh restart   stop and start again keeping topics and data
#   scripts/kafka.sh status    exit 0 when our broker is running and accepts connections
#   scripts/kafka.sh env       print `export SS_KAFKA_BROKERS=...` (stdout only)
#   scripts/kafka.sh fetch     only download the jars into the cache
#   scripts/kafka.sh tool CLASS ARGS...
#                              run a Kafka tool's main class with the cached jars, e.g.
#                              tool org.apache.kafka.tools.TopicCommand --bootstrap-server
#                              127.0.0.1:9092 --list
#
# Environment: SS_KAFKA_PORT (default 9092), SS_KAFKA_CONTROLLER_PORT (9093),
# SS_KAFKA_VERSION (4.1.1), SS_KAFKA_HEAP (1g), SS_KAFKA_WAIT seconds to wait
# for readiness (120), SS_SERVERS_DIR, SS_CACHE_DIR.
set -euo pipefail

SS_SCRIPT_NAME=kafka.sh
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=${SS_KAFKA_VERSION:-4.1.1}
PORT=${SS_KAFKA_PORT:-9092}
CPORT=${SS_KAFKA_CONTROLLER_PORT:-9093}
HEAP=${SS_KAFKA_HEAP:-1g}
WAIT=${SS_KAFKA_WAIT:-120}
check_port SS_KAFKA_PORT "$PORT"
check_port SS_KAFKA_CONTROLLER_PORT "$CPORT"
[[ $PORT != "$CPORT" ]] || die "SS_KAFKA_PORT and SS_KAFKA_CONTROLLER_PORT must differ"
[[ $WAIT =~ ^[0-9]+$ ]] || die "SS_KAFKA_WAIT must be a number of seconds, got '$WAIT'"
[[ $VERSION =~ ^[0-9A-Za-z.-]+$ ]] || die "SS_KAFKA_VERSION looks wrong: '$VERSION'"

BROKERS=127.0.0.1:$PORT
LIB=$SS_CACHE_DIR/kafka-$VERSION/lib
DIR=$SS_SERVERS_DIR/kafka-$PORT
PIDFILE=$DIR/kafka.pid
PROPS=$DIR/server.properties
LOGDIR=$DIR/logs
MAIN=kafka.Kafka

print_env() { echo "export SS_KAFKA_BROKERS=$BROKERS"; }

need() { command -v "$1" >/dev/null || die "$1 not found on PATH ($2)"; }

# fetch_jars: resolve Kafka and its runtime dependencies from Maven Central
# into $LIB once. A marker file makes a half-finished copy count as missing.
fetch_jars() {
	if [[ -f $LIB/.complete ]]; then
		return 0
	fi
	need java "Kafka $VERSION needs Java 17+"
	need mvn "used to fetch Kafka from Maven Central"
	local top=$SS_CACHE_DIR/kafka-$VERSION
	mkdir -p "$top"
	log "fetching Apache Kafka $VERSION jars with mvn into $LIB"
	# kafka_2.13: the broker (kafka.Kafka) and kafka.tools.StorageTool.
	# kafka-tools: TopicCommand, console producer/consumer and other tools.
	# log4j-slf4j-impl: routes Kafka's slf4j 1.x logging to log4j2 (core/api come along).
	cat >"$top/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.seastream</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
	# A registry that drops a connection fails one attempt, not the run:
	# three tries, a pause between them.
	local try
	for try in 1 2 3; do
		rm -rf "$LIB" "$LIB.tmp"
		if (cd "$top" && mvn -B -q -ntp -Dstyle.color=never dependency:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$LIB.tmp") 2>&1 |
			sed 's/\x1b\[[0-9;]*m//g' >&2; then
			break
		fi
		((try < 3)) || die "mvn could not fetch Kafka $VERSION after $try tries (see the output above)"
		log "mvn failed (try $try of 3); trying again in $((try * 10))s"
		sleep $((try * 10))
	done
	[[ -f $LIB.tmp/kafka_2.13-$VERSION.jar ]] || die "kafka_2.13-$VERSION.jar missing after mvn"
	touch "$LIB.tmp/.complete"
	mv "$LIB.tmp" "$LIB"
	log "fetched $(find "$LIB" -name '*.jar' | wc -l) jars"
}

# java_run CONFIG CLASS ARGS...: run a main class with the cached jars.
java_run() {
	local cfg=$1
	shift
	java -Xmx512m -Djava.awt.headless=true -Dlog4j2.configurationFile="$cfg" \
		-cp "$LIB/*" "$@"
}

tools_log_config() {
	local f=$SS_CACHE_DIR/kafka-$VERSION/tools-log4j2.properties
	if [[ ! -f $f ]]; then
		cat >"$f" <<'CFG'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
CFG
	fi
	echo "$f"
}

write_config() {
	mkdir -p "$DIR" "$LOGDIR"
	cat >"$PROPS" <<PROPS
# Generated by scripts/kafka.sh: single node, broker and controller in one process.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
	cat >"$DIR/log4j2.properties" <<CFG
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOGDIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
CFG
}

format_storage() {
	local id
	# A cluster id is 16 random bytes, base64url without padding (22 chars).
	# One starting with '-' would be read as an option by kafka-storage.
	id=-
	while [[ $id == -* ]]; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
	done
	log "formatting KRaft storage in $DIR/data (cluster id $id)"
	java_run "$(tools_log_config)" kafka.tools.StorageTool format \
		-t "$id" -c "$PROPS" >>"$LOGDIR/format.log" 2>&1 || {
		cat "$LOGDIR/format.log" >&2
		die "formatting Kafka storage failed"
	}
}

fail_start() {
	log "last lines of $LOGDIR/server.log:"
	tail -n 40 "$LOGDIR/server.log" >&2 2>/dev/null || true
	tail -n 20 "$LOGDIR/kafka.out" >&2 2>/dev/null || true
	# Leave nothing half-started behind. The pid is the one start_broker just
	# launched: kill it even if it has not yet exec'd java.
	if [[ -s $PIDFILE ]]; then
		kill -KILL "$(<"$PIDFILE")" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	die "$*"
}

# started_since LINE: server.log says 'Kafka Server started' at LINE or after.
# (awk reads the file itself: a tail | grep -q pipe fails under pipefail
# when grep exits first.)
started_since() {
	awk -v from="$1" 'NR >= from && /Kafka Server started/ { found = 1; exit }
		END { exit !found }' "$LOGDIR/server.log" 2>/dev/null
}

# start_broker keep: keep=1 keeps the formatted storage (restart), 0 starts fresh.
start_broker() {
	local keep=$1
	need java "Kafka $VERSION needs Java 17+"
	fetch_jars
	if pid_alive "$PIDFILE" "$MAIN"; then
		if port_open "$PORT"; then
			log "already running (pid $(<"$PIDFILE")) on $BROKERS"
			print_env
			return 0
		fi
		die "our broker (pid $(<"$PIDFILE")) is running but $BROKERS does not accept connections; see $LOGDIR/server.log"
	fi
	local p
	for p in "$PORT" "$CPORT"; do
		port_open "$p" && die "127.0.0.1:$p is already in use by another process; stop it or set SS_KAFKA_PORT / SS_KAFKA_CONTROLLER_PORT"
	done
	if [[ $keep == 0 || ! -f $DIR/data/meta.properties ]]; then
		rm -rf "$DIR"
		write_config
		format_storage
	fi
	rm -f "$PIDFILE"
	# server.log is appended to: on a restart it already says the last
	# broker started, so readiness reads only the lines written from here.
	local logfrom=1
	[[ -f $LOGDIR/server.log ]] && logfrom=$(($(wc -l <"$LOGDIR/server.log") + 1))
	log "starting Kafka $VERSION on $BROKERS (controller 127.0.0.1:$CPORT, dir $DIR)"
	# setsid: own session, so a Ctrl-C or a test's process group signal does
	# not reach it; plain redirections: it holds none of our pipes open.
	setsid java -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$DIR/log4j2.properties" \
		-Dkafka.logs.dir="$LOGDIR" \
		-cp "$LIB/*" "$MAIN" "$PROPS" \
		</dev/null >>"$LOGDIR/kafka.out" 2>&1 &
	local pid=$!
	echo "$pid" >"$PIDFILE"
	# Below, kill -0 on that pid rather than pid_alive: until the forked
	# shell has exec'd setsid and java, its command line is this script's,
	# and on a loaded machine the first check can see it (CI did: "the
	# broker exited during startup" while the broker came up, orphaned).

	# Ready = the process is up, the listener accepts connections, the server
	# logged that it started, and an admin client can list topics.
	local deadline=$((SECONDS + WAIT))
	until port_open "$PORT" && started_since "$logfrom"; do
		kill -0 "$pid" 2>/dev/null || fail_start "the broker exited during startup"
		((SECONDS < deadline)) || fail_start "the broker did not start within ${WAIT}s"
		sleep 0.5
	done
	local out
	until out=$(timeout 60 java -Xmx256m -Dlog4j2.configurationFile="$(tools_log_config)" \
		-cp "$LIB/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" --list 2>&1); do
		kill -0 "$pid" 2>/dev/null || fail_start "the broker exited during startup"
		((SECONDS < deadline)) || fail_start "the broker did not serve metadata within ${WAIT}s: $out"
		sleep 1
	done
	log "ready after ${SECONDS}s: pid $(<"$PIDFILE"), logs in $LOGDIR"
	print_env
}

stop_broker() {
	local pid
	if ! pid_alive "$PIDFILE" "$MAIN"; then
		rm -f "$PIDFILE"
		log "not running"
		return 0
	fi
	pid=$(<"$PIDFILE")
	log "stopping Kafka (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 60; then
		log "Kafka did not stop within 60s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || die "could not stop Kafka pid $pid"
	fi
	rm -f "$PIDFILE"
}

case ${1:-} in
start) start_broker 0 ;;
stop) stop_broker ;;
restart)
	stop_broker
	start_broker 1
	;;
status)
	if pid_alive "$PIDFILE" "$MAIN" && port_open "$PORT"; then
		log "running (pid $(<"$PIDFILE")) on $BROKERS"
	else
		log "not running"
		exit 1
	fi
	;;
env) print_env ;;
fetch) fetch_jars ;;
tool)
	shift
	[[ $# -ge 1 ]] || die "usage: $0 tool MAIN-CLASS [ARGS...]"
	fetch_jars
	java_run "$(tools_log_config)" "$@"
	;;
*)
	echo "usage: $0 start|stop|restart|status|env|fetch|tool CLASS ARGS..." >&2
	exit 2
	;;
esac
