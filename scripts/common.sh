# shellcheck shell=bash
# Helpers shared by scripts/redis.sh and scripts/kafka.sh. Sourced, not run.
#
# Conventions: progress and errors go to stderr; only `export NAME=value`
# lines go to stdout, so `eval "$(bash scripts/redis.sh env)"` is safe.

# SS_SERVERS_DIR holds each server's work dir (config, data, logs, pid file).
SS_SERVERS_DIR=${SS_SERVERS_DIR:-${TMPDIR:-/tmp}/ss-servers}
# SS_CACHE_DIR holds downloads that survive between runs (Kafka's jars).
SS_CACHE_DIR=${SS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/seastream}

log() { printf '%s: %s\n' "$SS_SCRIPT_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$SS_SCRIPT_NAME" "$*" >&2; exit 1; }

# check_port NAME VALUE: die unless VALUE is a TCP port number.
check_port() {
	if [[ ! $2 =~ ^[0-9]{1,5}$ ]] || (($2 < 1 || $2 > 65535)); then
		die "$1 must be a TCP port number (1-65535), got '$2'"
	fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN: true when PIDFILE names a live process whose
# command line contains PATTERN (guards against a recycled pid).
pid_alive() {
	local pidfile=$1 pattern=$2 pid
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# wait_gone PID SECONDS: wait until PID has exited; false on timeout.
wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# as_root CMD...: run CMD as root (directly, or through sudo).
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $* (install it by hand, or run as root)"
	fi
}

# apt_install PKG...: apt-get update once, then install PKG non-interactively.
apt_install() {
	command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
	log "installing $* with apt-get"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >&2 ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
		install --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}
