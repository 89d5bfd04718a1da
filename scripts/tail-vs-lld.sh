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
#
# For another edit or project: TAIL_SWAP_FROM and TAIL_SWAP_TO (a line of TAIL_FILE, default
# crates/core/main.rs, and its edited version: odd rounds make the edit, even rounds undo it,
# and the medians are given for each), TAIL_BIN (default rg), TAIL_RSP (the response file in
# REPLAY_DIR, default rsp); RIVET_ENGINE=cranelift reaches the backend as it is.
set -euo pipefail
rounds=$1 source=$2 target=$3 replay=$4
cd "$(dirname "$0")/.."
RUSTUP_TOOLCHAIN="$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)"
export RUSTUP_TOOLCHAIN
rust_lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
out=$(mktemp)
file="$source/${TAIL_FILE:-crates/core/main.rs}" bin=${TAIL_BIN:-rg} rsp=${TAIL_RSP:-rsp}
# swap FROM TO: the one line FROM of $file becomes TO.
swap() {
    FROM=$1 TO=$2 python3 -c 'import os, sys; p = sys.argv[1]; s = open(p).read(); f = os.environ["FROM"]; assert s.count(f) == 1, "the line to swap, once"; open(p, "w").write(s.replace(f, os.environ["TO"]))' "$file"
}
for i in $(seq 1 "$rounds"); do
    if [ -z "${TAIL_SWAP_FROM:-}" ]; then
        sed -i "s/No files were searched[^,]*, which/No files were searched $i-$$, which/" "$file"
    elif [ $((i % 2)) = 1 ]; then
        swap "$TAIL_SWAP_FROM" "$TAIL_SWAP_TO"
    else
        swap "$TAIL_SWAP_TO" "$TAIL_SWAP_FROM"
    fi
    tail=$(cd "$source" && RIVET_VERBOSE=1 RUSTFLAGS="-Zcodegen-backend=rivet" CARGO_TARGET_DIR="$target" \
        cargo build --locked --bin "$bin" 2>&1 | sed -n "s/^rivet: linked \`$bin\` .*), \([0-9.]*\) ms after.*/\1/p")
    start=$(date +%s%N)
    (cd "$replay" && "$rust_lld" -flavor gnu --threads=2 "@$rsp" -o "$out")
    end=$(date +%s%N)
    echo "$tail $(((end - start) / 1000000))"
done | tee /dev/stderr | SWAP=${TAIL_SWAP_FROM:+1} python3 -c '
import os, statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
groups = [("edited", rows[0::2]), ("undone", rows[1::2])] if os.environ.get("SWAP") else [("", rows)]
for name, group in groups:
    tail, lld = statistics.median(r[0] for r in group), statistics.median(r[1] for r in group)
    print(f"{name} median tail {tail:.1f} ms, rust-lld {lld:.1f} ms, ratio {tail / lld:.3f}".strip())'
rm -f "$out"
