#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of ./fuzz one at a time with one worker, then
# keeps the smallest inputs Go found interesting as the checked-in corpus in
# fuzz/testdata/fuzz/<Target>/ (replayed by a plain `go test ./fuzz`), and
# writes the measured durations and exec counts to reliability/results/fuzz.md.
#
# Usage (from the module root):  reliability/fuzz.sh [seconds per target]
# Default 150 s per target: 5 targets, 12.5 minutes in all.
set -euo pipefail

secs=${1:-150}
keep=${SS_FUZZ_KEEP:-200}
targets=(FuzzHeader FuzzMessage FuzzBeacon FuzzReader FuzzRoundTrip)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache="$(go env GOCACHE)/fuzz/github.com/seastream/ss/fuzz"
out=reliability/results/fuzz.md
logdir=$(mktemp -d)
mkdir -p reliability/results

rows=()
for t in "${targets[@]}"; do
	before=$(find "$cache/$t" -type f 2>/dev/null | wc -l)
	start=$(date +%s)
	status=ok
	if ! go test ./fuzz -run='^$' -fuzz="^$t\$" -fuzztime="${secs}s" -parallel=1 >"$logdir/$t.log" 2>&1; then
		status=failed
	fi
	took=$(($(date +%s) - start))
	# The last progress line: "fuzz: elapsed: 150s, execs: 123456 (823/sec), new interesting: 3 (total: 40)"
	last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$logdir/$t.log" | tail -n 1 || true)
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
	rate=$((${execs:-0} / (took > 0 ? took : 1)))
	total=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
	after=$(find "$cache/$t" -type f 2>/dev/null | wc -l)
	echo "$t: ${took}s, execs ${execs:-?}, ${status}" >&2
	if [ "$status" != ok ]; then
		cat "$logdir/$t.log" >&2
		failed="$t"
		# What Go said about the failure, and the input it saved in fuzz/testdata.
		why=$(grep -E -m1 'hung|panic:|_test.go:[0-9]+:' "$logdir/$t.log" | sed 's/^[[:space:]]*//' | tr '|' '/' || true)
		input=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$logdir/$t.log" | head -n 1)
		status="FAILED: ${why}; input fuzz/${input}"
	fi
	# Keep the smallest interesting inputs.
	dst=fuzz/testdata/fuzz/$t
	mkdir -p "$dst"
	find "$cache/$t" -type f -printf '%s %p\n' 2>/dev/null | sort -n | head -n "$keep" |
		while read -r _ f; do cp "$f" "$dst/"; done
	kept=$(find "$dst" -type f | wc -l)
	rows+=("| $t | ${took} s | ${execs:-?} | ${rate:-?}/s | ${total:-$after} (cache: $before → $after) | $kept | $status |")
done

{
	echo "### Fuzzing"
	echo
	echo "Each target of \`./fuzz\` ran alone with one worker (\`go test ./fuzz -run='^\$' -fuzz=^Target\$ -fuzztime=${secs}s -parallel=1\`,"
	echo "$(nproc) cores shared with other work), on $(date -u +%Y-%m-%d), $(go version | cut -d' ' -f3)."
	echo "The smallest interesting inputs (at most $keep per target) are kept in \`fuzz/testdata/fuzz/<Target>/\` and"
	echo "replayed by every \`go test ./fuzz\`. Produced by \`reliability/fuzz.sh $secs\`."
	echo
	echo "| target | ran for | execs | rate | interesting inputs | kept in repo | result |"
	echo "|---|---|---|---|---|---|---|"
	for r in "${rows[@]}"; do echo "$r"; done
} >"$out"
rm -rf "$logdir"
cat "$out"
if [ -n "${failed:-}" ]; then
	exit 1
fi
