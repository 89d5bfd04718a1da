#!/usr/bin/env bash
# The full test suite on a fresh machine: the pinned toolchain, the linker, then every test
# (unit tests, C/C++ programs linked by rivet-ld and run, the synthetic differential workload).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup toolchain install
if ! command -v clang >/dev/null || ! command -v gdb >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq clang gdb binutils >/dev/null
    fi
fi
cargo build -p linker-core --bin rivet-ld
cargo test --workspace
