#!/usr/bin/env bash
# Main job: install the pinned toolchain, build rivet-ld, link a C program with it through
# gcc (the way users switch linkers: -B<dir containing ld>) and run it; then install the rustc
# backend and build a Rust program through it (-Zcodegen-backend=rivet) and run that.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup toolchain install
cargo build --release -p linker-core --bin rivet-ld
bindir=target/rivet-bin
mkdir -p "$bindir"
ln -sf ../release/rivet-ld "$bindir/ld"
gcc -B"$bindir" -O2 examples/demo.c -o target/demo -Wl,--time
readelf -p .comment target/demo | grep -q rivet
./target/demo
# The rustc backend: install it in the toolchain, build a Rust program through it, run it.
scripts/install-backend.sh
rustc -Zcodegen-backend=rivet examples/hello.rs -o target/hello-rivet
readelf -p .comment target/hello-rivet | grep -q rivet
./target/hello-rivet
