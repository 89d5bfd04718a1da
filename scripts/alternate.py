#!/usr/bin/env python3
"""Times whole linker runs alternately, round by round, and prints medians and ratios.

    scripts/alternate.py [--phases REGEX] [--gap SECONDS] RUNS DIR 'command 1' 'command 2' ...

Each round runs every command once from DIR (two warm-up rounds are not counted), so that a
busy or throttled host slows all of them alike: on shared machines this gives steadier ratios
than timing one command's runs after another's. The order turns by one each round (round r
starts with command r mod n), so every command runs in every position equally often over n
rounds: on the VMs rivet is measured on, a link right after another pays for the memory that
one has just freed: alternating two rivet-ld builds on a debug typst-cli link in a fixed order,
then in the other, whichever ran first was 35 to 90 ms slower. Pass a multiple of the
command count as RUNS. Commands are started with posix_spawn (about a millisecond of
overhead) and their standard output is discarded. Ratios are to the first command. Beside
wall time it prints each command's median user + system CPU time (of the process waited for:
a linker that forks its work off shows only the parent's); on a VM whose host steals time in
bursts, CPU time is the steadier measure of the work done. For example, from a replay
directory the bench harness left behind:

    scripts/alternate.py 16 /dev/shm/rivet-bench/replay/rg-debug \\
        "$RUST_LLD -flavor gnu --threads=2 @rsp -o /dev/shm/a1" \\
        "target/release/rivet-ld --threads=2 @rsp -o /dev/shm/a2"

where rsp is the replay's response.txt without its --chroot, -plugin and -o lines.

With --phases, every command is a rivet-ld link given `--time`: its standard error is read
and the median wall and CPU time of each phase whose name matches REGEX is printed per
command (two builds of rivet-ld compared pass by pass: a pass's gain shows there when the
link's total is lost in the host's noise).

With --gap, every command starts after that many seconds of sleep, as a link starts after a
compiler has run a while rather than right after another link: on a VM whose kernel hands
free memory back to the host, memory freed more than about two seconds earlier is faulted in
again by the host, and only a gap shows what that costs a linker (`linker-core/src/huge_pages.rs`).
Commands that need an environment variable run under `env`, e.g. `env VAR=value rivet-ld ...`.
"""
import os
import re
import shlex
import statistics
import sys
import tempfile
import time

args = sys.argv[1:]
phases, gap = None, 0.0
while args[:1] in (["--phases"], ["--gap"]):
    if args[0] == "--phases":
        phases = re.compile(args[1])
    else:
        gap = float(args[1])
    args = args[2:]
runs, directory, commands = int(args[0]), args[1], args[2:]
argvs = [shlex.split(c) for c in commands]
os.chdir(directory)
devnull = os.open(os.devnull, os.O_WRONLY)
times = [[] for _ in argvs]
cpus = [[] for _ in argvs]
phase_times = [{} for _ in argvs]
for round_ in range(runs + 2):
    for turn in range(len(argvs)):
        k = (round_ + turn) % len(argvs)
        argv = argvs[k]
        stderr = tempfile.TemporaryFile() if phases else None
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 1)]
        if stderr:
            actions.append((os.POSIX_SPAWN_DUP2, stderr.fileno(), 2))
        time.sleep(gap)
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        elapsed = (time.perf_counter() - start) * 1e3
        if status != 0:
            sys.exit(f"failed (status {status}): {commands[k]}")
        if round_ < 2:
            continue
        times[k].append(elapsed)
        cpus[k].append((usage.ru_utime + usage.ru_stime) * 1e3)
        if stderr:
            stderr.seek(0)
            for line in stderr.read().decode(errors="replace").splitlines():
                m = re.match(r"rivet-ld:\s+([\d.]+)\s+([\d.]+)\s+(.*)$", line)
                if m and phases.search(m.group(3)):
                    phase_times[k].setdefault(m.group(3), []).append((float(m.group(1)), float(m.group(2))))
base = statistics.median(times[0])
base_cpu = statistics.median(cpus[0])
for command, t, c in zip(commands, times, cpus):
    m, mc = statistics.median(t), statistics.median(c)
    print(f"{m:8.1f} ms  {m / base:5.2f}x  (min {min(t):.1f}, max {max(t):.1f})  cpu {mc:6.1f} ms {mc / base_cpu:5.2f}x  {command}")
for phase in sorted({p for per_command in phase_times for p in per_command}):
    print(f"{phase}:")
    for k, command in enumerate(commands):
        samples = phase_times[k].get(phase, [])
        if samples:
            wall = statistics.median(w for w, _ in samples)
            cpu = statistics.median(c for _, c in samples)
            print(f"  {wall:8.2f} ms  cpu {cpu:8.2f} ms  {command}")
