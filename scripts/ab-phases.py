#!/usr/bin/env python3
"""Compares rivet-ld builds phase by phase on a replayed link.

    scripts/ab-phases.py RUNS REPLAY_DIR 'binA --threads=2' 'binB --threads=2' ...

REPLAY_DIR is an unpacked --reproduce archive (the bench harness leaves them in
/dev/shm/rivet-bench/replay/rg-{debug,release}); its response.txt is used without the
--chroot, -plugin and -o lines. The binaries run alternately, RUNS times each, with
--no-fork --time, so that a busy host disturbs all of them alike; printed are the median
wall and CPU milliseconds of every phase.
"""
import collections, os, re, statistics, subprocess, sys

runs, replay, binaries = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
os.chdir(replay)
keep = [l for l in open("response.txt").read().splitlines() if not re.match(r"^(--chroot|-plugin|-o )", l)]
open("/tmp/ab-phases.rsp", "w").write("\n".join(keep) + "\n")
laps = {b: collections.defaultdict(list) for b in binaries}
for _ in range(runs):
    for b in binaries:
        cmd = b.split() + ["--no-fork", "--time", "@/tmp/ab-phases.rsp", "-o", "/dev/shm/ab-phases-out"]
        err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
        for m in re.finditer(r"rivet-ld:\s+([\d.]+)\s+([\d.]+)\s+(.*)", err):
            laps[b][m.group(3)].append((float(m.group(1)), float(m.group(2))))
print(f"{'phase':55}" + "".join(f"{os.path.basename(b.split()[0])[:20]:>22}" for b in binaries))
print(f"{'':55}" + "      wall ms    cpu ms" * len(binaries))
# Phases in the order the binaries report them; one only some binaries have goes after the
# phase it followed there.
phases = []
for b in binaries:
    for i, phase in enumerate(laps[b]):
        if phase not in phases:
            before = list(laps[b])[:i]
            at = max((phases.index(p) + 1 for p in before if p in phases), default=0)
            phases.insert(at, phase)
for phase in phases:
    row = f"{phase[:55]:55}"
    for b in binaries:
        v = laps[b].get(phase, [])
        row += f"{statistics.median(x[0] for x in v):11.1f}{statistics.median(x[1] for x in v):11.1f}" if v else " " * 22
    print(row)
