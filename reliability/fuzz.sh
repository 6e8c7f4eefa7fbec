#!/usr/bin/env bash
# fuzz.sh runs the fuzz targets of the .ss decoders (./format) and reader
# (./ssfile) one at a time with one worker, then keeps the smallest inputs Go
# found interesting as the checked-in corpus in <pkg>/testdata/fuzz/<Target>/
# (replayed by a plain `go test ./<pkg>`), and
# records each run's duration and exec count in reliability/results/fuzz/,
# from which it writes reliability/results/fuzz.md (a section of RESULTS.md).
#
# Usage (from anywhere in the module):
#
#	reliability/fuzz.sh [seconds per target] [Target...]
#
# Default: 150 s for each of the five targets, 12.5 minutes in all. Naming
# targets reruns only those; the others keep their last recorded row.
# reliability/fuzz.sh --table only rewrites fuzz.md from the recorded rows and
# the notes in reliability/results/fuzz/<Target>.note.
set -euo pipefail

table_only=false
if [ "${1:-}" = "--table" ]; then
	table_only=true
	set --
fi
secs=${1:-150}
shift || true
keep=${SS_FUZZ_KEEP:-200}
all=(FuzzHeader FuzzMessage FuzzBeacon FuzzCRC16 FuzzReader FuzzRoundTrip)
# pkg_of TARGET prints the directory of the package that holds TARGET.
pkg_of() {
	case $1 in
	FuzzHeader | FuzzMessage | FuzzBeacon | FuzzCRC16) echo format ;;
	FuzzReader | FuzzRoundTrip) echo ssfile ;;
	*)
		echo "fuzz.sh: unknown target $1" >&2
		exit 2
		;;
	esac
}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=("${all[@]}")
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
gocache=$(go env GOCACHE)
rowdir=reliability/results/fuzz
out=reliability/results/fuzz.md
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
mkdir -p "$rowdir"

failed=""
if $table_only; then
	targets=()
fi
for t in "${targets[@]}"; do
	pkg=$(pkg_of "$t")
	cache="$gocache/fuzz/github.com/seastream/ss/$pkg"
	before=$( (find "$cache/$t" -type f 2>/dev/null || true) | wc -l)
	start=$(date +%s)
	status=ok
	if ! go test "./$pkg" -run='^$' -fuzz="^$t\$" -fuzztime="${secs}s" -parallel=1 >"$logdir/$t.log" 2>&1; then
		status=failed
	fi
	took=$(($(date +%s) - start))
	# The last progress line: "fuzz: elapsed: 150s, execs: 123456 (823/sec), new interesting: 3 (total: 40)"
	last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$logdir/$t.log" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	execs=${execs:-0}
	rate=$((execs / (took > 0 ? took : 1)))
	after=$( (find "$cache/$t" -type f 2>/dev/null || true) | wc -l)
	if [ "$status" != ok ]; then
		cat "$logdir/$t.log" >&2
		failed="$failed $t"
		# What Go said about the failure, and the input it names.
		why=$(grep -E -m1 'hung|panic:|_test.go:[0-9]+:' "$logdir/$t.log" | sed 's/^[[:space:]]*//' | tr '|' '/' || true)
		input=$(sed -nE 's/.*(Failing input written to|failure while testing seed corpus entry:) (testdata\/fuzz\/)?(.*)$/\3/p' "$logdir/$t.log" | head -n 1)
		# Go keeps the failing input in <pkg>/testdata/fuzz/<Target>/, where
		# every go test ./<pkg> replays it.
		status="FAILED: ${why} (input: $pkg/testdata/fuzz/${input})"
	fi
	echo "$t: ${took}s, ${execs} execs, ${status}" >&2
	# Keep the smallest interesting inputs (and any failing input Go wrote).
	dst=$pkg/testdata/fuzz/$t
	mkdir -p "$dst"
	# A target that found nothing new has no cache directory yet: that is
	# not a failure (set -o pipefail would make it one).
	{ find "$cache/$t" -type f -printf '%s %p\n' 2>/dev/null || true; } | sort -n | head -n "$keep" |
		while read -r _ f; do cp "$f" "$dst/"; done
	kept=$(find "$dst" -type f | wc -l)
	echo "| $t | ${took} s | ${execs} | ${rate}/s | ${before} → ${after} | ${kept} | $(date -u +%Y-%m-%d) | ${status} |" >"$rowdir/$t.row"
done

{
	echo "### Fuzzing"
	echo
	echo "Each target of \`./format\` (FuzzHeader, FuzzMessage, FuzzBeacon, FuzzCRC16) and \`./ssfile\` (FuzzReader, FuzzRoundTrip) ran alone with one worker (\`go test ./<pkg> -run='^\$' -fuzz=^Target\$ -fuzztime=…s -parallel=1\`, for the time in the table,"
	echo "$(nproc) cores shared with other work, $(go version | cut -d' ' -f3)), by \`reliability/fuzz.sh\`. The smallest inputs"
	echo "Go found interesting (at most $keep per target) are kept in \`<pkg>/testdata/fuzz/<Target>/\` and replayed by every"
	echo "\`go test ./<pkg>\`."
	echo
	echo "| target | ran for | execs | rate | interesting inputs in the cache (before → after) | kept in the repo | date | result |"
	echo "|---|---|---|---|---|---|---|---|"
	for t in "${all[@]}"; do
		if [ -f "$rowdir/$t.row" ]; then cat "$rowdir/$t.row"; fi
	done
	for t in "${all[@]}"; do
		if [ -f "$rowdir/$t.note" ]; then
			echo
			cat "$rowdir/$t.note"
		fi
	done
} >"$out"
cat "$out"
if [ -n "$failed" ]; then
	echo "failed:$failed" >&2
	exit 1
fi
