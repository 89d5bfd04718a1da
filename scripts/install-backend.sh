#!/usr/bin/env bash
# Builds rivet's rustc backend and installs it in the pinned toolchain, in the directory where
# rustc looks for backends by name, so that `-Zcodegen-backend=rivet` finds it (as the shipped
# Cranelift backend is found as `cranelift`). Run it again after each change to codegen-hook/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p rustc_codegen_rivet
host="$(rustc -vV | sed -n 's/^host: //p')"
dest="$(rustc --print sysroot)/lib/rustlib/$host/codegen-backends"
mkdir -p "$dest"
# A new file, renamed into place: a rustc that has the old one loaded keeps its mapping, and
# two installs at once each rename their own complete copy.
new="$dest/.librustc_codegen_rivet.so.$$"
cp "${CARGO_TARGET_DIR:-target}/release/librustc_codegen_rivet.so" "$new"
mv -f "$new" "$dest/librustc_codegen_rivet.so"
echo "installed $dest/librustc_codegen_rivet.so (use: -Zcodegen-backend=rivet)"
