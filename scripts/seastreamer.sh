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

# install_gen builds the generator against the same crates (their sources
# are in cargo's registry cache by now), rebuilding when its source is newer.
install_gen() {
	if [[ -x $GEN && $GEN -nt $GEN_SRC/src/main.rs && $GEN -nt $GEN_SRC/Cargo.toml ]]; then
		log "the SeaStreamer file generator is already built: $GEN"
		return 0
	fi
	need_cargo
	log "building the SeaStreamer file generator ($GEN_SRC) into $GEN"
	# Cargo.lock pins what the generator was last built with.
	CARGO_TARGET_DIR=$ROOT/gen-target cargo build --release --quiet --locked --manifest-path "$GEN_SRC/Cargo.toml" ||
		die "building the generator failed"
	mkdir -p "$ROOT/bin"
	cp "$ROOT/gen-target/release/ssgen" "$GEN"
}

# install_kafka builds SeaStreamer's Kafka client program, rebuilding when
# its source is newer. rdkafka-sys compiles librdkafka from source with the
# C compiler and make: about 3 minutes cold on 2 cores.
install_kafka() {
	if [[ -x $KAFKA && $KAFKA -nt $KAFKA_SRC/src/main.rs && $KAFKA -nt $KAFKA_SRC/Cargo.toml ]]; then
		log "SeaStreamer's Kafka program is already built: $KAFKA"
		return 0
	fi
	need_cargo
	log "building SeaStreamer's Kafka program ($KAFKA_SRC) into $KAFKA"
	CARGO_TARGET_DIR=$ROOT/kafka-target cargo build --release --quiet --locked --manifest-path "$KAFKA_SRC/Cargo.toml" ||
		die "building SeaStreamer's Kafka program failed"
	mkdir -p "$ROOT/bin"
	cp "$ROOT/kafka-target/release/sskafka" "$KAFKA"
}

case ${1:-} in
install) install && install_gen && install_kafka ;;
env) echo "export SS_REFERENCE_DECODE=$DECODE SS_SEASTREAMER_GEN=$GEN SS_SEASTREAMER_KAFKA=$KAFKA" ;;
*) die "usage: $0 install|env" ;;
esac
