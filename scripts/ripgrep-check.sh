#!/usr/bin/env bash
# The long check behind an explicit command (minutes, not part of scripts/test.sh):
# ripgrep 14.1.1 from crates.io built with rivet-ld and with rust-lld (rustc's default), debug
# and release; the two `rg` binaries must search a tree identically, answer gdb the same way,
# and `cargo test` must pass and fail exactly the same tests with either linker.
#
#   scripts/ripgrep-check.sh            # work dir: $RIVET_RG_DIR or /tmp/rivet-ripgrep
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${RIVET_RG_DIR:-/tmp/rivet-ripgrep}
mkdir -p "$work"
cd "$repo"
rustup toolchain install
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
cargo build --release -p linker-core --bin rivet-ld
mkdir -p "$work/bin" && ln -sf "$repo/target/release/rivet-ld" "$work/bin/ld"

# Source from crates.io, through cargo's own registry cache.
if [ ! -d "$work/src" ]; then
    mkdir -p "$work/fetch/src" && cd "$work/fetch"
    printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nripgrep = "=14.1.1"\n' > Cargo.toml
    echo 'fn main() {}' > src/main.rs
    cargo +"$toolchain" fetch -q
    cp -r "$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ripgrep-14.1.1 | head -n 1)" "$work/src"
fi

build() { # $1 = rivet|lld
    local dir="$work/$1"
    [ -d "$dir" ] || cp -r "$work/src" "$dir"
    mkdir -p "$dir/.cargo"
    if [ "$1" = rivet ]; then
        # Cargo does not notice a new linker binary: start clean so that every link (build
        # scripts, proc-macros, rg, test harnesses, doctests) is by this rivet-ld.
        rm -rf "$dir/target"
        printf '[target.x86_64-unknown-linux-gnu]\nlinker = "gcc"\nrustflags = ["-C", "link-arg=-B%s", "-C", "linker-features=-lld"]\n[build]\nrustdocflags = ["-C", "link-arg=-B%s", "-C", "linker-features=-lld"]\n' "$work/bin" "$work/bin" > "$dir/.cargo/config.toml"
    else
        rm -f "$dir/.cargo/config.toml"
    fi
    (cd "$dir" && cargo +"$toolchain" build -q && cargo +"$toolchain" build -q --release)
    # ripgrep's integration tests run `<test exe dir>/../rg`; this nightly puts test
    # executables under target/debug/build/<pkg>/<hash>/out, so point that path at the binary.
    local exe
    exe=$(cd "$dir" && cargo +"$toolchain" test --no-run --test integration 2>&1 | sed -n 's/.*Executable [^ ]* (\(.*integration-[^)]*\))/\1/p')
    ln -sf "$dir/target/debug/rg" "$dir/$(dirname "$(dirname "$exe")")/rg"
    (cd "$dir" && cargo +"$toolchain" test --no-fail-fast 2>&1 || true) | grep -E '^test .* (ok|FAILED|ignored)$' | sort > "$work/$1.tests"
}
build rivet
build lld

status=0
for profile in debug release; do
    r="$work/rivet/target/$profile/rg"; l="$work/lld/target/$profile/rg"
    readelf -p .comment "$r" | grep -q rivet || { echo "FAIL: $profile rg was not linked by rivet-ld"; status=1; }
    same=1
    for args in "-n --sort path fn $work/src/crates" "-c --sort path unsafe $work/src" "--files --sort path $work/src"; do
        if ! diff <($r $args) <($l $args) >/dev/null; then echo "FAIL: $profile rg $args differs"; same=0; status=1; fi
    done
    [ $same = 1 ] && echo "ok: $profile rg searches like the rust-lld build"
done

gdb_session() {
    gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'break rg::main' -ex 'run --version' \
        -ex 'bt' -ex 'info locals' -ex 'list' "$1" 2>&1 |
        grep -v -E '^\[|^Using host|process [0-9]+|Thread 0x|^Downloading' | sed -E "s/0x[0-9a-f]+/ADDR/g; s|$1|PROGRAM|g"
}
if diff <(gdb_session "$work/rivet/target/debug/rg") <(gdb_session "$work/lld/target/debug/rg") > "$work/gdb.diff"; then
    echo "ok: gdb (break rg::main, bt, info locals, list) answers the same"
else
    echo "FAIL: gdb answers differ:"; cat "$work/gdb.diff"; status=1
fi

if diff "$work/rivet.tests" "$work/lld.tests" > "$work/tests.diff"; then
    echo "ok: cargo test: same $(grep -c ' ok$' "$work/rivet.tests") passing and $(grep -c FAILED "$work/rivet.tests") failing tests with either linker"
else
    echo "FAIL: cargo test results differ:"; cat "$work/tests.diff"; status=1
fi
exit $status
