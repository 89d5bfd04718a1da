#!/usr/bin/env python3
"""Links a replayed real link over and over with one of its objects corrupted.

    scripts/fuzz-replay.py REPLAY_DIR SECONDS [SEED] [RIVET_LD]

REPLAY_DIR is an unpacked --reproduce archive (the bench harness leaves them in
/dev/shm/rivet-bench/replay/rg-{debug,release}); its response.txt is used without the
--chroot, -plugin and -o lines. The victim is the largest object named in it that is not
in an archive. Each round flips 1-4 bytes of it, three times in four inside its ELF header,
section header table or the contents of a symbol table, string table, relocation section,
group or PROGBITS section (code, data, debug info), and links with
`rivet-ld --no-fork --threads=2`. Every outcome must follow rivet-ld's rules: exit 0, or exit
1 with no output file left behind; never a panic, a signal or a hang (20 s). Variants that
break a rule are kept as badN.o in the work directory (/dev/shm/rivet-fuzz) and printed;
the exit status is 1 if there were any. SEED fixes the sequence of variants (how far it
gets depends on the time given). Run it from the repository root: RIVET_LD defaults to
target/release/rivet-ld.
"""
import os, random, re, shutil, subprocess, sys, time

replay, seconds = sys.argv[1], float(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rivet = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else "target/release/rivet-ld")
work = "/dev/shm/rivet-fuzz"
os.makedirs(work, exist_ok=True)

lines = [l for l in open(os.path.join(replay, "response.txt")).read().splitlines()
         if not re.match(r"^(--chroot|-plugin|-o )", l)]
objects = [l for l in lines if l.endswith(".o") and os.path.isfile(os.path.join(replay, l))]
victim = max(objects, key=lambda l: os.path.getsize(os.path.join(replay, l)))
original = open(os.path.join(replay, victim), "rb").read()
corrupted = os.path.join(work, "victim.o")
response = os.path.join(work, "fuzz.rsp")
open(response, "w").write("\n".join(corrupted if l == victim else l for l in lines) + "\n")


def field(offset, size):
    return int.from_bytes(original[offset:offset + size], "little")


# Where corruption is worth aiming: headers and the sections every pass reads.
shoff, shnum = field(0x28, 8), field(0x3c, 2)
ranges = [(0, 64), (shoff, shoff + 64 * shnum)]
for i in range(shnum):
    header = shoff + 64 * i
    kind, offset, size = field(header + 4, 4), field(header + 0x18, 8), field(header + 0x20, 8)
    # PROGBITS, SYMTAB, STRTAB, RELA, GROUP
    if kind in (1, 2, 3, 4, 17) and size and offset + size <= len(original):
        ranges.append((offset, offset + size))

print(f"victim {victim} ({len(original)} bytes), {len(ranges)} ranges, seed {seed}, {seconds:.0f} s", flush=True)
rng = random.Random(seed)
output = os.path.join(work, "out")
runs = linked = bad = 0
start = time.time()
while time.time() - start < seconds:
    data = bytearray(original)
    flips = []
    for _ in range(1 + rng.randrange(4)):
        low, high = ranges[rng.randrange(len(ranges))] if rng.randrange(4) else (0, len(data))
        at = low + rng.randrange(high - low)
        old = data[at]
        data[at] = old ^ (1 << rng.randrange(8)) if rng.randrange(2) else old ^ rng.randrange(1, 256)
        flips.append(f"[{at:#x}] {old:#04x}->{data[at]:#04x}")
    open(corrupted, "wb").write(data)
    try:
        run = subprocess.run([rivet, "--no-fork", "--threads=2", "@" + response, "-o", output],
                             cwd=replay, capture_output=True, text=True, timeout=20)
        status, stderr = run.returncode, run.stderr
    except subprocess.TimeoutExpired:
        status, stderr = "timeout", ""
    runs += 1
    left_behind = status != 0 and os.path.exists(output)
    if status == 0:
        linked += 1
    if status not in (0, 1) or "panicked" in stderr or left_behind:
        bad += 1
        kept = os.path.join(work, f"bad{bad}.o")
        shutil.copy(corrupted, kept)
        detail = "\n  ".join(stderr.splitlines()[:4] + (["(output left behind)"] if left_behind else []))
        print(f"round {runs}: status {status}, {' '.join(flips)}: kept as {kept}\n  {detail}", flush=True)
    if os.path.exists(output):
        os.remove(output)
print(f"{runs} links, {linked} linked, {runs - linked - bad} refused cleanly, {bad} broke a rule")
sys.exit(1 if bad else 0)
