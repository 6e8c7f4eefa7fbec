#!/usr/bin/env bash
# Run a throwaway Redis Cluster on 127.0.0.1 for the tests: three masters and
# one replica each (so that a test can fail a master over), six redis-server
# processes on consecutive ports.
#
#   scripts/redis-cluster.sh start    install redis-server if missing (Debian apt), start six
#                                     fresh, empty nodes, create the cluster and wait until
#                                     every node says cluster_state:ok
#                                     and every replica is in sync
#   scripts/redis-cluster.sh stop     shut every node down (data is discarded)
#   scripts/redis-cluster.sh status   exit 0 when every node runs and the cluster is ok
#   scripts/redis-cluster.sh env      print `export SS_REDIS_CLUSTER_URL=...` (stdout only)
#
# Environment: SS_REDIS_CLUSTER_PORT (first port, default 7001; the nodes take
# it and the next five), SS_REDIS_WAIT seconds to wait for each step (default
# 30), SS_SERVERS_DIR (work dirs, default $TMPDIR/ss-servers).
set -euo pipefail

SS_SCRIPT_NAME=redis-cluster.sh
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BASE=${SS_REDIS_CLUSTER_PORT:-7001}
WAIT=${SS_REDIS_WAIT:-30}
check_port SS_REDIS_CLUSTER_PORT "$BASE"
check_port SS_REDIS_CLUSTER_PORT "$((BASE + 5))"
[[ $WAIT =~ ^[0-9]+$ ]] || die "SS_REDIS_WAIT must be a number of seconds, got '$WAIT'"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done
DIR=$SS_SERVERS_DIR/redis-cluster-$BASE

# The URL names the three nodes created as masters (the cluster client
# discovers the others from any of them). It has no path or query, like
# SS_REDIS_URL: the tests add "/?cluster=true".
print_env() {
	echo "export SS_REDIS_CLUSTER_URL=redis://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"
}

cli() {
	local port=$1
	shift
	redis-cli -h 127.0.0.1 -p "$port" "$@"
}

pidfile() { echo "$DIR/$1/redis.pid"; }

ping_ok() { [[ $(cli "$1" ping 2>/dev/null) == PONG ]]; }

cluster_ok() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }

# synced PORT: the node sees three replicas, and is a master or a replica
# whose link to its master is up (a failover test needs a replica in sync).
synced() {
	local n
	n=$(cli "$1" cluster nodes 2>/dev/null | grep -cE '[ ,]slave ') || true
	[[ $n == 3 ]] || return 1
	cli "$1" info replication 2>/dev/null | tr -d '\r' | grep -qx -e 'role:master' -e 'master_link_status:up'
}

all_ok() {
	local port
	for port in "${PORTS[@]}"; do
		pid_alive "$(pidfile "$port")" redis-server && cluster_ok "$port" && synced "$port" || return 1
	done
}

ensure_installed() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		apt_install redis-server
	fi
	command -v redis-server >/dev/null || die "redis-server still not on PATH after install"
}

# wait_for WHAT CMD...: poll CMD until it succeeds, for at most WAIT seconds.
wait_for() {
	local what=$1 deadline=$((SECONDS + WAIT))
	shift
	until "$@"; do
		if ((SECONDS >= deadline)); then
			die "$what within ${WAIT}s; see the logs under $DIR"
		fi
		sleep 0.1
	done
}

start_cluster() {
	local port addrs=()
	ensure_installed
	if all_ok; then
		log "already running on 127.0.0.1:${PORTS[0]}-${PORTS[5]}"
		print_env
		return 0
	fi
	stop_cluster # whatever is left of an earlier, broken start
	for port in "${PORTS[@]}"; do
		if port_open "$port"; then
			die "127.0.0.1:$port is already in use by another process; stop it or set SS_REDIS_CLUSTER_PORT"
		fi
	done
	rm -rf "$DIR"
	for port in "${PORTS[@]}"; do
		mkdir -p "$DIR/$port"
		# No persistence: a cluster lives for one CI run. A node timeout of
		# 2s makes a killed master's replica take over within seconds, and
		# replicas sync at once (no diskless-sync delay of 5s).
		redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
			--daemonize yes --pidfile "$(pidfile "$port")" --logfile "$DIR/$port/redis.log" \
			--dir "$DIR/$port" --save '' --appendonly no \
			--cluster-enabled yes --cluster-config-file "$DIR/$port/nodes.conf" \
			--cluster-node-timeout 2000 --repl-diskless-sync-delay 0 \
			</dev/null >>"$DIR/$port/redis.out" 2>&1 || {
			tail -n 20 "$DIR/$port/redis.out" >&2 || true
			die "redis-server on port $port failed to start; see $DIR/$port"
		}
		addrs+=("127.0.0.1:$port")
	done
	for port in "${PORTS[@]}"; do
		wait_for "redis-server did not answer PING on 127.0.0.1:$port" ping_ok "$port"
	done
	log "creating the cluster: ${addrs[*]} (the first three masters, one replica each)"
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 || {
		tail -n 20 "$DIR/create.log" >&2 || true
		die "redis-cli --cluster create failed; see $DIR/create.log"
	}
	wait_for "the cluster did not reach cluster_state:ok with every replica in sync" all_ok
	log "ready: $(cli "${PORTS[0]}" info server | tr -d '\r' | grep -m1 '^redis_version:'), $(cli "${PORTS[0]}" cluster info | tr -d '\r' | grep -m1 '^cluster_known_nodes:')"
	print_env
}

stop_cluster() {
	local port pid pf
	for port in "${PORTS[@]}"; do
		pf=$(pidfile "$port")
		if ! pid_alive "$pf" redis-server; then
			rm -f "$pf"
			continue
		fi
		pid=$(<"$pf")
		log "stopping node $port (pid $pid)"
		cli "$port" shutdown nosave >/dev/null 2>&1 || true
		if ! wait_gone "$pid" 20; then
			log "node $port did not shut down in 20s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			wait_gone "$pid" 10 || die "could not stop redis-server pid $pid"
		fi
		rm -f "$pf"
	done
}

case ${1:-} in
start) start_cluster ;;
stop) stop_cluster ;;
status)
	if all_ok; then
		log "running on 127.0.0.1:${PORTS[0]}-${PORTS[5]}, cluster_state:ok"
	else
		log "not running (or not ok)"
		exit 1
	fi
	;;
env) print_env ;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
