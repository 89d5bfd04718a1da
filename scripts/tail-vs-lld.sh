#!/usr/bin/env bash
# The backend's tail against rust-lld's full link, round by round:
#
#   scripts/tail-vs-lld.sh ROUNDS RIPGREP_SOURCE TARGET_DIR REPLAY_DIR
#
# Each round edits the string after "No files were searched" in ripgrep's
# crates/core/main.rs, rebuilds rg with `-Zcodegen-backend=rivet` in TARGET_DIR and takes the
# tail RIVET_VERBOSE reports (from rustc's link call to the output in place), then times
# rust-lld's full link of rg's debug replay in REPLAY_DIR (an unpacked `--reproduce` archive
# with its response file adapted as `rsp`, see the README) with --threads=2. Prints
# "tail_ms rust_lld_ms" per round, then the medians and their ratio.
# Paths must be absolute. The pinned toolchain builds ripgrep (where the backend is installed).
set -euo pipefail
rounds=$1 source=$2 target=$3 replay=$4
cd "$(dirname "$0")/.."
RUSTUP_TOOLCHAIN="$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)"
export RUSTUP_TOOLCHAIN
rust_lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
out=$(mktemp)
for i in $(seq 1 "$rounds"); do
    sed -i "s/No files were searched[^,]*, which/No files were searched $i-$$, which/" "$source/crates/core/main.rs"
    tail=$(cd "$source" && RIVET_VERBOSE=1 RUSTFLAGS="-Zcodegen-backend=rivet" CARGO_TARGET_DIR="$target" \
        cargo build --locked --bin rg 2>&1 | sed -n 's/^rivet: linked `rg` .*), \([0-9.]*\) ms after.*/\1/p')
    start=$(date +%s%N)
    (cd "$replay" && "$rust_lld" -flavor gnu --threads=2 @rsp -o "$out")
    end=$(date +%s%N)
    echo "$tail $(((end - start) / 1000000))"
done | tee /dev/stderr | python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
tail, lld = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
print(f"median tail {tail:.1f} ms, rust-lld {lld:.1f} ms, ratio {tail / lld:.2f}")'
rm -f "$out"
