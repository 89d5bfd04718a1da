#!/usr/bin/env bash
# Links of a shape whose cost once grew faster than the inputs, timed side by side:
#
#   scripts/link-shapes.sh [DIR] [ROUNDS]
#
# 1. comdat: one g++ object with 20,000 COMDAT groups (a template function each), linked
#    with --gc-sections through g++. gc found a section's group by scanning all of the
#    object's groups: quadratic (rivet-ld 256 ms against rust-lld's 42 before 6e5a9aa).
# 2. exports: a shared library of 30,000 functions (the synthetic generator's, 60 objects)
#    whose version script names every one, as rustc's does for a dylib's exports. Every
#    global was matched against every pattern: quadratic (10.2 s before eb5022d).
# 3. exports-unversioned: the same library without its script (the dynamic tables alone).
#
# Each is timed with scripts/alternate.py (ROUNDS rounds, 9 by default, the order turning
# each round) for target/release/rivet-ld, rust-lld and wild, at 2 threads (rivet-ld and wild
# with --no-fork, so that all their work is inside the measured process), the outputs in
# DIR (/dev/shm/rivet-shapes by default); each link's output is checked to run or to export
# what rust-lld's does. Needs g++, python3, nm and wild on the PATH, and the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/dev/shm/rivet-shapes}
rounds=${2:-9}
rivet=$PWD/target/release/rivet-ld
lld=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
mkdir -p "$dir"/ld-rivet "$dir"/ld-lld "$dir"/ld-wild
ln -sf "$rivet" "$dir"/ld-rivet/ld
ln -sf "$lld" "$dir"/ld-lld/ld.lld
ln -sf "$(command -v wild)" "$dir"/ld-wild/ld

if [ ! -f "$dir"/comdat.o ]; then
    python3 - > "$dir"/comdat.cc <<'EOF'
n = 20000
print('#include <cstdio>')
for i in range(n):
    print(f'template<int N> __attribute__((noinline)) int f{i}(int x) {{ return x * N + {i}; }}')
print('int main(int argc, char**) { long s = 0;')
for i in range(n):
    print(f'  s += f{i}<{i % 7}>(argc);')
print('  printf("%ld\\n", s); return 0; }')
EOF
    g++ -O1 -ffunction-sections -c "$dir"/comdat.cc -o "$dir"/comdat.o
fi
if [ ! -d "$dir"/exports ]; then
    cargo run -q --release -p rivet-bench -- generate "$dir"/exports 60 500 > /dev/null
    rm -f "$dir"/exports/main.o
    {
        echo "V1 { global:"
        nm -g --defined-only "$dir"/exports/obj_*.o | awk '$2 == "T" { print "  " $3 ";" }'
        echo "  local: *;"
        echo "};"
    } > "$dir"/exports.map
fi
(cd "$dir"/exports && ls obj_*.o > objects.rsp)
objects=@objects.rsp

echo "== comdat: one g++ object, 20,000 COMDAT groups, --gc-sections"
g++ -B"$dir"/ld-rivet/ -Wl,--gc-sections "$dir"/comdat.o -o "$dir"/comdat-rivet
g++ -fuse-ld=lld -B"$dir"/ld-lld/ -Wl,--gc-sections "$dir"/comdat.o -o "$dir"/comdat-lld
[ "$("$dir"/comdat-rivet)" = "$("$dir"/comdat-lld)" ] || { echo "comdat: rivet-ld's program prints otherwise"; exit 1; }
RIVET_NO_FORK=1 scripts/alternate.py "$rounds" "$dir" \
    "g++ -B$dir/ld-rivet/ -Wl,--no-fork -Wl,--gc-sections comdat.o -o comdat-rivet" \
    "g++ -fuse-ld=lld -B$dir/ld-lld/ -Wl,--gc-sections comdat.o -o comdat-lld" \
    "g++ -B$dir/ld-wild/ -Wl,--no-fork -Wl,--gc-sections comdat.o -o comdat-wild"

exports_of() { nm -D --defined-only "$1" | awk '{ print $3 }' | sort; }
for shape in exports exports-unversioned; do
    script=()
    [ $shape = exports ] && script=(--version-script "$dir"/exports.map)
    echo "== $shape: a shared library of 30,000 functions${script:+, a version script naming each}"
    (cd "$dir"/exports && "$rivet" --no-fork --threads=2 -shared "${script[@]}" $objects -o ../$shape-rivet.so)
    (cd "$dir"/exports && "$lld" -flavor gnu --threads=2 -shared "${script[@]}" $objects -o ../$shape-lld.so)
    cmp <(exports_of "$dir"/$shape-rivet.so) <(exports_of "$dir"/$shape-lld.so) > /dev/null \
        || { echo "$shape: rivet-ld exports otherwise than rust-lld"; exit 1; }
    RIVET_NO_FORK=1 scripts/alternate.py "$rounds" "$dir"/exports \
        "$rivet --threads=2 -shared ${script[*]} $objects -o ../$shape-rivet.so" \
        "$lld -flavor gnu --threads=2 -shared ${script[*]} $objects -o ../$shape-lld.so" \
        "wild --no-fork --threads=2 -shared ${script[*]} $objects -o ../$shape-wild.so"
done
