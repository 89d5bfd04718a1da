#!/usr/bin/env python3
"""The edit-rebuild loop, round-robin: one edit per round, every configuration rebuilt.

    scripts/edit-loop.py ROUNDS SOURCE FILE MARKER CONFIG...

SOURCE is a cargo project (ripgrep 14.1.1's unpacked source, for example), FILE a source file
in it holding the string literal MARKER (ripgrep: crates/core/main.rs and
"No files were searched"). A CONFIG is `name=RUSTFLAGS`, for example
`llvm-rust-lld=` or `rivet=-Zcodegen-backend=rivet`; `name@VAR:value=RUSTFLAGS` also sets an
environment variable (`rivet-cranelift@RIVET_ENGINE:cranelift=-Zcodegen-backend=rivet`).
Each configuration builds in its own target directory, `<SOURCE>/../edit-loop-target-<name>`.

Each round changes the text right after MARKER to a new twelve-digit number (with
EDIT_LOOP_ONE_CHARACTER=1, only the character right after MARKER, to the round's last digit:
for a literal that goes on after the marker, or holds format arguments; with
EDIT_LOOP_GROW=1, a number of 12 to 15 digits, so that the literal's length changes every
round; with EDIT_LOOP_LINE=1, the twelve-digit number and a comment line inserted at the top
of FILE, which moves every line below it; with EDIT_LOOP_SWAP=<line>, MARKER is a line of
code swapped with that one every round, a code edit: the binary must then differ from the
last round's), then runs
`cargo build --bin BIN` (BIN: the env var EDIT_LOOP_BIN, default `rg`) for every
configuration in turn, and checks that its binary holds the new string (a stale object would
not); then, in the same round, it rebuilds every configuration with no change ("no edit":
cargo finds nothing to do), and once more after touching FILE ("touch": rustc compiles the
crate again, reuses every codegen unit and links).
A first untimed round builds everything. Machines here drift by 20% within an hour: taking
the configurations in turn, round by round, makes the drift fall on all of them alike.
Prints per configuration the median over rounds and the ratio to the first configuration.
"""
import os
import re
import statistics
import subprocess
import sys
import time

rounds, source, file, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
configs = []
extra_env = {}
for config in sys.argv[5:]:
    name, flags = config.split("=", 1)
    name, _, setting = name.partition("@")
    extra_env[name] = dict([setting.split(":", 1)]) if setting else {}
    configs.append((name, flags))
binary = os.environ.get("EDIT_LOOP_BIN", "rg")
path = os.path.join(source, file)
pattern = re.compile(re.escape(marker) + r"[^,\"]*")


one_character = os.environ.get("EDIT_LOOP_ONE_CHARACTER") == "1"
swap_to = os.environ.get("EDIT_LOOP_SWAP")
grow = os.environ.get("EDIT_LOOP_GROW") == "1"
insert_line = os.environ.get("EDIT_LOOP_LINE") == "1"


def edit(n):
    if swap_to is not None:
        # MARKER and EDIT_LOOP_SWAP are two versions of a line of code: swapped every round.
        # Exactly one of them, once, and neither inside the other: else a round could edit
        # another line, or the same one again, and still change the binary.
        text = open(path).read()
        if marker in swap_to or swap_to in marker or text.count(marker) + text.count(swap_to) != 1:
            sys.exit(f"{path} must hold {marker!r} or {swap_to!r} exactly once, neither within the other")
        old, new = (marker, swap_to) if marker in text else (swap_to, marker)
        open(path, "w").write(text.replace(old, new))
        return None
    if one_character:
        text = open(path).read()
        at = text.find(marker)
        if at < 0 or at + len(marker) >= len(text):
            sys.exit(f"{marker!r} not found in {path}")
        at += len(marker)
        new = f"{marker}{n % 10}"
        open(path, "w").write(text[:at] + str(n % 10) + text[at + 1:])
        return new.encode()
    # Twelve digits: every timed edit leaves the literal the same length (whatever the pid),
    # as a one-line edit of a message does, and keeps it off 16 bytes (LLVM would put a
    # 16-byte literal in a merged constant section, which a relink patches too, but where a
    # full link would not put it).
    text = open(path).read()
    number = f"{n:0{12 + n % 4}d}" if grow else f"{n:012d}"
    new, count = pattern.subn(f"{marker} {number}", text, count=1)
    if count != 1:
        sys.exit(f"{marker!r} not found in {path}")
    if insert_line:
        new = f"// edit-loop line {n}\n" + new
    open(path, "w").write(new)
    return f"{marker} {number}".encode()


def build(name, flags):
    target = os.path.abspath(os.path.join(source, "..", f"edit-loop-target-{name}"))
    env = dict(os.environ, RUSTFLAGS=flags, CARGO_TARGET_DIR=target, **extra_env[name])
    start = time.perf_counter()
    done = subprocess.run(["cargo", "build", "--locked", "--bin", binary], cwd=source, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{name}: cargo build failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    return elapsed, os.path.join(target, "debug", binary)


last_binary = {}
edited = {name: [] for name, _ in configs}
unchanged = {name: [] for name, _ in configs}
touched = {name: [] for name, _ in configs}
for round_ in range(rounds + 1):
    expected = edit(round_ + 1000 * os.getpid())
    for name, flags in configs:
        elapsed, output = build(name, flags)
        if expected is None:
            # A code edit leaves no text to look for: the binary must differ from the last one.
            now = open(output, "rb").read()
            if now == last_binary.get(name):
                sys.exit(f"{name}: {output} did not change after the rebuild (stale object)")
            last_binary[name] = now
        elif expected not in open(output, "rb").read():
            sys.exit(f"{name}: {output} does not hold {expected!r} after the rebuild (stale object)")
        if round_ > 0:
            edited[name].append(elapsed)
    for name, flags in configs:
        elapsed, _ = build(name, flags)
        if round_ > 0:
            unchanged[name].append(elapsed)
    for name, flags in configs:
        os.utime(path)
        elapsed, output = build(name, flags)
        if expected is not None and expected not in open(output, "rb").read():
            sys.exit(f"{name}: {output} does not hold {expected!r} after the touched rebuild")
        if round_ > 0:
            touched[name].append(elapsed)
    if round_ > 0:
        print(f"round {round_}: " + "  ".join(
            f"{n} {edited[n][-1]:.3f}/{unchanged[n][-1]:.3f}/{touched[n][-1]:.3f}" for n, _ in configs), flush=True)

columns = [("one-line edit", edited), ("no edit", unchanged), ("touch", touched)]
print(f"\nmedians of {rounds} rounds (s), ratio to {configs[0][0]}:")
print(f"{'configuration':24}" + "".join(f" {title:>22}" for title, _ in columns))
for name, _ in configs:
    cells = []
    for _, times in columns:
        median, base = statistics.median(times[name]), statistics.median(times[configs[0][0]])
        cells.append(f"{median:8.3f} {median / base:5.2f}x (min {min(times[name]):.3f})")
    print(f"{name:24} " + " ".join(cells))
