#!/usr/bin/env bash
# Build SeaStreamer's own tools (the Rust crate sea-streamer-file, from the
# Rust crate registry) for the tests that compare with them.
#
#   scripts/seastreamer.sh install   cargo install sea-streamer-file with its
#                                    executables (ss-decode), and build the
#                                    program that writes files with
#                                    SeaStreamer's own MessageSink and producer
#                                    (internal/sscheck/testdata/seastreamer/gen),
#                                    and SeaStreamer's Kafka client program
#                                    (adapters/kafka/testdata/seastreamer:
#                                    sea-streamer-kafka, librdkafka built from
#                                    source), once per root
#   scripts/seastreamer.sh env       print `export SS_REFERENCE_DECODE=...
#                                    SS_SEASTREAMER_GEN=... SS_SEASTREAMER_KAFKA=...`
#
# Environment: SS_SEASTREAMER_ROOT (install root, default
# $HOME/.cache/ss-seastreamer-<version>), SS_SEASTREAMER_VERSION (default
# 1.0.0-rc.2, the version the product is measured against).
set -euo pipefail

SS_SCRIPT_NAME=seastreamer.sh
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=${SS_SEASTREAMER_VERSION:-1.0.0-rc.2}
ROOT=${SS_SEASTREAMER_ROOT:-${HOME:-/root}/.cache/ss-seastreamer-$VERSION}
DECODE=$ROOT/bin/ss-decode
GEN=$ROOT/bin/ssgen
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN_SRC=$REPO/internal/sscheck/testdata/seastreamer/gen
KAFKA=$ROOT/bin/sskafka
KAFKA_SRC=$REPO/adapters/kafka/testdata/seastreamer

need_cargo() {
	if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
		PATH=${HOME:-/root}/.cargo/bin:$PATH # rustup's place, when the shell's profile did not add it
	fi
	command -v cargo >/dev/null || die "cargo is needed to build SeaStreamer's tools (install Rust)"
}

install() {
	if [[ -x $DECODE ]]; then
		log "SeaStreamer $VERSION's ss-decode already built: $DECODE"
		return 0
	fi
	need_cargo
	log "building sea-streamer-file $VERSION with its executables into $ROOT (a few minutes)"
	cargo install --locked --quiet sea-streamer-file --version "$VERSION" --features executables --root "$ROOT" ||
		cargo install --quiet sea-streamer-file --version "$VERSION" --features executables --root "$ROOT" ||
		die "cargo install sea-streamer-file $VERSION failed"
	[[ -x $DECODE ]] || die "cargo install finished but $DECODE is missing"
}

# build_program WHAT SRC BIN NAME TARGET: build the Cargo package in SRC in
# $ROOT/TARGET, against the crates installed above (their sources are in
# cargo's registry cache by now; its Cargo.lock pins them), and copy its
# executable NAME to BIN, unless BIN is newer than the package's source.
build_program() {
	local what=$1 src=$2 bin=$3 name=$4 target=$ROOT/$5
	if [[ -x $bin && $bin -nt $src/src/main.rs && $bin -nt $src/Cargo.toml ]]; then
		log "$what is already built: $bin"
		return 0
	fi
	need_cargo
	log "building $what ($src) into $bin"
	CARGO_TARGET_DIR=$target cargo build --release --quiet --locked --manifest-path "$src/Cargo.toml" ||
		die "building $what failed"
	mkdir -p "$ROOT/bin"
	cp "$target/release/$name" "$bin"
}

# install_gen: the file generator that writes the reference files.
install_gen() { build_program "the SeaStreamer file generator" "$GEN_SRC" "$GEN" ssgen gen-target; }

# install_kafka: SeaStreamer's Kafka client program. rdkafka-sys compiles
# librdkafka from source with the C compiler and make: about 3 minutes cold
# on 2 cores.
install_kafka() { build_program "SeaStreamer's Kafka program" "$KAFKA_SRC" "$KAFKA" sskafka kafka-target; }

case ${1:-} in
install) install && install_gen && install_kafka ;;
env) echo "export SS_REFERENCE_DECODE=$DECODE SS_SEASTREAMER_GEN=$GEN SS_SEASTREAMER_KAFKA=$KAFKA" ;;
*) die "usage: $0 install|env" ;;
esac
