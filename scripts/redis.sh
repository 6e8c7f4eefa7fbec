#!/usr/bin/env bash
# Run a throwaway Redis server on 127.0.0.1 for the tests.
#
#   scripts/redis.sh start     install redis-server if missing (Debian apt), start a
#                              fresh, empty server and wait until it answers PING
#   scripts/redis.sh stop      shut it down (data is discarded)
#   scripts/redis.sh restart   shut down saving the data set, start again with it
#   scripts/redis.sh status    exit 0 when our server is running and answers PING
#   scripts/redis.sh env       print `export SS_REDIS_URL=...` (stdout only)
#
# Environment: SS_REDIS_PORT (default 6379), SS_REDIS_WAIT seconds to wait for
# PONG (default 30), SS_SERVERS_DIR (work dirs, default $TMPDIR/ss-servers).
set -euo pipefail

SS_SCRIPT_NAME=redis.sh
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=${SS_REDIS_PORT:-6379}
WAIT=${SS_REDIS_WAIT:-30}
check_port SS_REDIS_PORT "$PORT"
[[ $WAIT =~ ^[0-9]+$ ]] || die "SS_REDIS_WAIT must be a number of seconds, got '$WAIT'"
DIR=$SS_SERVERS_DIR/redis-$PORT
PIDFILE=$DIR/redis.pid
URL=redis://127.0.0.1:$PORT

print_env() { echo "export SS_REDIS_URL=$URL"; }

cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

ping_ok() { [[ $(cli ping 2>/dev/null) == PONG ]]; }

ensure_installed() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		apt_install redis-server
	fi
	command -v redis-server >/dev/null || die "redis-server still not on PATH after install"
}

# start_server keep: keep=1 keeps the data dir (restart), 0 starts empty.
start_server() {
	local keep=$1
	ensure_installed
	if pid_alive "$PIDFILE" redis-server; then
		if ping_ok; then
			log "already running (pid $(<"$PIDFILE")) on 127.0.0.1:$PORT"
			print_env
			return 0
		fi
		die "our redis-server (pid $(<"$PIDFILE")) is running but does not answer PING; see $DIR/redis.log"
	fi
	if port_open "$PORT"; then
		die "127.0.0.1:$PORT is already in use by another process; stop it or set SS_REDIS_PORT"
	fi
	if [[ $keep == 0 ]]; then
		rm -rf "$DIR/data"
	fi
	mkdir -p "$DIR/data"
	rm -f "$PIDFILE"
	log "starting redis-server on 127.0.0.1:$PORT (dir $DIR)"
	# No save points and no AOF: nothing is persisted except by `restart`,
	# which asks for one explicit snapshot on shutdown.
	redis-server --bind 127.0.0.1 --port "$PORT" --protected-mode yes \
		--daemonize yes --pidfile "$PIDFILE" --logfile "$DIR/redis.log" \
		--dir "$DIR/data" --dbfilename dump.rdb --save '' --appendonly no \
		</dev/null >>"$DIR/redis.out" 2>&1 || {
		tail -n 20 "$DIR/redis.out" >&2 || true
		die "redis-server failed to start; see $DIR/redis.out and $DIR/redis.log"
	}
	local deadline=$((SECONDS + WAIT))
	until ping_ok; do
		if ((SECONDS >= deadline)); then
			tail -n 20 "$DIR/redis.log" >&2 || true
			die "redis-server did not answer PING on 127.0.0.1:$PORT within ${WAIT}s; see $DIR/redis.log"
		fi
		sleep 0.2
	done
	log "ready: $(cli info server | tr -d '\r' | grep -m1 '^redis_version:')"
	print_env
}

# stop_server save: save=1 snapshots the data set first (restart).
stop_server() {
	local save=$1 pid
	if ! pid_alive "$PIDFILE" redis-server; then
		rm -f "$PIDFILE"
		log "not running"
		return 0
	fi
	pid=$(<"$PIDFILE")
	log "stopping redis-server (pid $pid)"
	if [[ $save == 1 ]]; then
		cli shutdown save >/dev/null 2>&1 || true
	else
		cli shutdown nosave >/dev/null 2>&1 || true
	fi
	if ! wait_gone "$pid" 20; then
		log "redis-server did not shut down in 20s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || die "could not stop redis-server pid $pid"
	fi
	rm -f "$PIDFILE"
}

case ${1:-} in
start) start_server 0 ;;
stop) stop_server 0 ;;
restart)
	stop_server 1
	start_server 1
	;;
status)
	if pid_alive "$PIDFILE" redis-server && ping_ok; then
		log "running (pid $(<"$PIDFILE")) on 127.0.0.1:$PORT"
	else
		log "not running"
		exit 1
	fi
	;;
env) print_env ;;
*)
	echo "usage: $0 start|stop|restart|status|env" >&2
	exit 2
	;;
esac
