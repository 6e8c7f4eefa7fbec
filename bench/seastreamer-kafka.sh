#!/usr/bin/env bash
# seastreamer-kafka.sh: SeaStreamer's own Kafka producer (the crate
# sea-streamer-kafka on librdkafka, built from the crate registry: the
# `produce` mode of adapters/kafka/testdata/seastreamer) beside the Go
# adapter's BenchmarkKafkaProduce/none/adapter (bench/kafka_test.go), the same
# COUNT messages of 256 bytes, no compression, to a new one-partition topic
# each, in an order that rotates, ROUNDS rounds. Result lines go to OUT
# in Go's benchmark format, for bench/ratio:
#
#   SS_KAFKA_PORT=9192 SS_KAFKA_CONTROLLER_PORT=9193 bash scripts/kafka.sh start
#   SS_KAFKA_BROKERS=127.0.0.1:9192 bash bench/seastreamer-kafka.sh /tmp/k.txt 5 1000000
#   go run ./bench/ratio -rounds-of 3 -base seastreamer:KafkaProduce /tmp/k.txt \
#     kafka.test:KafkaProduce/none/adapter seastreamer:KafkaProduce/queue=count
#
# seastreamer:KafkaProduce is SeaStreamer's producer with its defaults
# (librdkafka's: linger 5 ms, batches of up to 1 MB, a queue of 100,000
# messages); a send refused with QueueFull waits 1 ms and is tried again (the
# program counts these on stderr). seastreamer:KafkaProduce/queue=count is
# the same with a queue of COUNT messages, which never refuses a send: no
# waits. Each run's topic is checked to hold COUNT records afterwards.
# The Rust program is $SS_SEASTREAMER_KAFKA if set (scripts/seastreamer.sh
# builds it), else built once into $SS_KAFKABENCH_TARGET (default
# ~/.cache/ss-kafkabench-target); nothing built is committed.
set -euo pipefail
out=$1 rounds=$2 count=$3
: "${SS_KAFKA_BROKERS:?set SS_KAFKA_BROKERS, e.g. 127.0.0.1:9092 (bash scripts/kafka.sh start)}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
rust=${SS_SEASTREAMER_KAFKA:-}
if [[ -z $rust ]]; then
	target=${SS_KAFKABENCH_TARGET:-${HOME:-/root}/.cache/ss-kafkabench-target}
	if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
		PATH=${HOME:-/root}/.cargo/bin:$PATH
	fi
	CARGO_TARGET_DIR=$target cargo build --release --quiet --locked --manifest-path "$repo/adapters/kafka/testdata/seastreamer/Cargo.toml"
	rust=$target/release/sskafka
fi
gobin=$(mktemp -d)/kafka.test
(cd "$repo" && go test -c -o "$gobin" ./bench/)
kafka_tool() { bash "$repo/scripts/kafka.sh" tool "$@" 2>/dev/null; }

# runRust [queue]: SeaStreamer's producer; with queue, a queue of COUNT.
runRust() {
	local topic n name=KafkaProduce queue=
	if [[ ${1:-} == queue ]]; then
		name=KafkaProduce/queue=count queue=$count
	fi
	topic=ss-bench-seastreamer-$RANDOM$RANDOM
	kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$SS_KAFKA_BROKERS" --create --topic "$topic" \
		--partitions 1 --replication-factor 1 >/dev/null
	SSKAFKA_QUEUE_MESSAGES=${queue:-100000} "$rust" produce "$SS_KAFKA_BROKERS" "$topic" "$count" 256 |
		sed "s|^BenchmarkSeaStreamerKafkaProduce|Benchmarkseastreamer:$name|" >>"$out"
	n=$(kafka_tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$SS_KAFKA_BROKERS" --topic "$topic" | awk -F: '{s += $3} END {print s}')
	kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$SS_KAFKA_BROKERS" --delete --topic "$topic" >/dev/null || true
	[[ $n == "$count" ]] || {
		echo "seastreamer-kafka.sh: SeaStreamer's producer stored $n of $count records" >&2
		exit 1
	}
}
runGo() {
	"$gobin" -test.run '^$' -test.bench 'KafkaProduce/none/adapter$' -test.benchtime="${count}x" -test.count=1 -test.benchmem |
		grep '^Benchmark' | sed 's/^Benchmark/Benchmarkkafka.test:/' >>"$out"
}
# Each round runs the three in an order that rotates.
runs=(runRust runGo "runRust queue")
for ((i = 0; i < rounds; i++)); do
	for ((j = 0; j < 3; j++)); do
		${runs[$(((i + j) % 3))]}
	done
done
