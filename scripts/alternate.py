#!/usr/bin/env python3
"""Times whole linker runs alternately, round by round, and prints medians and ratios.

    scripts/alternate.py RUNS DIR 'command 1' 'command 2' ...

Each round runs every command once, in order, from DIR (two warm-up rounds are not
counted), so that a busy or throttled host slows all of them alike: on shared machines this
gives steadier ratios than timing one command's runs after another's. Commands are started
with posix_spawn (about a millisecond of overhead) and their standard output is discarded.
Ratios are to the first command. Beside wall time it prints each command's median user +
system CPU time (of the process waited for: a linker that forks its work off shows only
the parent's); on a VM whose host steals time in bursts, CPU time is the steadier measure
of the work done. For example, from a replay directory the bench harness
left behind:

    scripts/alternate.py 15 /dev/shm/rivet-bench/replay/rg-debug \\
        "$RUST_LLD -flavor gnu --threads=2 @rsp -o /dev/shm/a1" \\
        "target/release/rivet-ld --threads=2 @rsp -o /dev/shm/a2"

where rsp is the replay's response.txt without its --chroot, -plugin and -o lines.
"""
import os
import shlex
import statistics
import sys
import time

runs, directory, commands = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
argvs = [shlex.split(c) for c in commands]
os.chdir(directory)
devnull = os.open(os.devnull, os.O_WRONLY)
times = [[] for _ in argvs]
cpus = [[] for _ in argvs]
for round_ in range(runs + 2):
    for k, argv in enumerate(argvs):
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, usage = os.wait4(pid, 0)
        elapsed = (time.perf_counter() - start) * 1e3
        if status != 0:
            sys.exit(f"failed (status {status}): {commands[k]}")
        if round_ >= 2:
            times[k].append(elapsed)
            cpus[k].append((usage.ru_utime + usage.ru_stime) * 1e3)
base = statistics.median(times[0])
base_cpu = statistics.median(cpus[0])
for command, t, c in zip(commands, times, cpus):
    m, mc = statistics.median(t), statistics.median(c)
    print(f"{m:8.1f} ms  {m / base:5.2f}x  (min {min(t):.1f}, max {max(t):.1f})  cpu {mc:6.1f} ms {mc / base_cpu:5.2f}x  {command}")
