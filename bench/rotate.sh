#!/usr/bin/env bash
# rotate.sh: run benchmarks one process per run, in rotating order, so that
# the cases being compared see the same machine load (these machines are
# shared and noisy). Output lines go to OUT, round after round, each round
# holding one line per spec, for benchstat and for bench/ratio.
#
#   bash bench/rotate.sh OUT ROUNDS N SPEC...
#
# SPEC is BINARY:REGEX, BINARY a test binary built with
# `go test -c -o BINARY ./bench/` (or the package that holds the benchmark,
# such as ./ssfile/; for before/after comparisons, one per commit) and REGEX
# a -test.bench pattern matching exactly one benchmark.
# N is the -test.benchtime count (messages per run). Extra environment (e.g.
# SS_KAFKA_BROKERS) is passed through. Each output line is prefixed with the
# binary's base name: BenchmarkNAME:Case.
set -euo pipefail
out=$1 rounds=$2 n=$3
shift 3
specs=("$@")
k=${#specs[@]}
for ((i = 0; i < rounds; i++)); do
	for ((j = 0; j < k; j++)); do
		spec=${specs[$(((i + j) % k))]}
		bin=${spec%%:*} re=${spec#*:}
		all=$("$bin" -test.run '^$' -test.bench "$re" -test.benchtime="${n}x" -test.count=1 -test.benchmem 2>&1) || true
		lines=$(grep '^Benchmark' <<<"$all" || true)
		if [[ -z $lines || $(wc -l <<<"$lines") != 1 ]]; then
			echo "rotate.sh: $spec gave no single result line; its output:" >&2
			echo "$all" >&2
			exit 1
		fi
		echo "${lines/#Benchmark/Benchmark$(basename "$bin"):}" >>"$out"
	done
done
