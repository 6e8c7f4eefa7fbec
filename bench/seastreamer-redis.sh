#!/usr/bin/env bash
# seastreamer-redis.sh: SeaStreamer's own Redis producer (the Rust crate
# sea-streamer-redis, built from the crate registry: bench/seastreamer-redis/)
# beside the Go adapter's BenchmarkProduce/adapter, the same COUNT messages of
# SIZE bytes to one stream, alternating which runs first, ROUNDS rounds. The
# result lines go to OUT in Go's benchmark format, for bench/ratio:
#
#   bash scripts/redis.sh start
#   SS_REDIS_URL=redis://127.0.0.1:6379 bash bench/seastreamer-redis.sh /tmp/r.txt 5 1000000 256
#   go run ./bench/ratio -rounds-of 2 -base seastreamer:RedisProduce /tmp/r.txt redisbench:Produce/adapter
#
# The Rust program is built once into $SS_SEASTREAMER_ROOT (default
# ~/.cache/ss-redisbench-target); nothing built is committed.
set -euo pipefail
out=$1 rounds=$2 count=$3 size=${4:-256}
: "${SS_REDIS_URL:?set SS_REDIS_URL, e.g. redis://127.0.0.1:6379 (bash scripts/redis.sh start)}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${SS_SEASTREAMER_ROOT:-${HOME:-/root}/.cache/ss-redisbench-target}
if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
	PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
CARGO_TARGET_DIR=$target cargo build --release --quiet --locked --manifest-path "$here/seastreamer-redis/Cargo.toml"
rust=$target/release/ssredisbench
gobin=$(mktemp -d)/redisbench
(cd "$here/.." && go test -c -o "$gobin" ./adapters/redis/)

runRust() {
	local key
	key=ss-bench-rust-$RANDOM$RANDOM
	# SeaStreamer's producer writes the key as given (unsharded).
	"$rust" "${SS_REDIS_URL%/}/$key" "$count" "$size" | sed 's/^BenchmarkSeaStreamerRedisProduce/Benchmarkseastreamer:RedisProduce/' >>"$out"
	local n
	n=$(redis-cli -u "$SS_REDIS_URL" xlen "$key")
	redis-cli -u "$SS_REDIS_URL" del "$key" >/dev/null
	[[ $n == "$count" ]] || { echo "seastreamer-redis.sh: SeaStreamer's producer stored $n of $count entries" >&2; exit 1; }
}
runGo() {
	SS_BENCH_PAYLOAD=$size "$gobin" -test.run '^$' -test.bench 'Produce/adapter$' -test.benchtime="${count}x" -test.count=1 |
		grep '^Benchmark' | sed 's/^Benchmark/Benchmarkredisbench:/' >>"$out"
}
for ((i = 0; i < rounds; i++)); do
	if ((i % 2 == 0)); then runRust; runGo; else runGo; runRust; fi
done
