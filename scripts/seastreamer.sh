#!/usr/bin/env bash
# Build SeaStreamer's own tools (the Rust crate sea-streamer-file, from the
# Rust crate registry) for the tests that compare with them.
#
#   scripts/seastreamer.sh install   cargo install sea-streamer-file with its
#                                    executables (ss-decode), once per root
#   scripts/seastreamer.sh env       print `export SS_REFERENCE_DECODE=...`
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

install() {
	if [[ -x $DECODE ]]; then
		log "SeaStreamer $VERSION's ss-decode already built: $DECODE"
		return 0
	fi
	if ! command -v cargo >/dev/null && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
		PATH=${HOME:-/root}/.cargo/bin:$PATH # rustup's place, when the shell's profile did not add it
	fi
	command -v cargo >/dev/null || die "cargo is needed to build SeaStreamer's tools (install Rust)"
	log "building sea-streamer-file $VERSION with its executables into $ROOT (a few minutes)"
	cargo install --locked --quiet sea-streamer-file --version "$VERSION" --features executables --root "$ROOT" ||
		cargo install --quiet sea-streamer-file --version "$VERSION" --features executables --root "$ROOT" ||
		die "cargo install sea-streamer-file $VERSION failed"
	[[ -x $DECODE ]] || die "cargo install finished but $DECODE is missing"
}

case ${1:-} in
install) install ;;
env) echo "export SS_REFERENCE_DECODE=$DECODE" ;;
*) die "usage: $0 install|env" ;;
esac
