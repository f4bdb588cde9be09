"""Prints the CPU each program used (cores, summed over its processes) during a window of a benchmark run.

Usage: python3 cpu.py DELAY SECONDS LABEL  (sleeps DELAY, then measures for SECONDS; utime + stime from /proc)
"""
import collections
import os
import sys
import time


def snapshot():
    used = collections.Counter()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')].split(':')[0]
        fields = stat[stat.rindex(')') + 2:].split()
        used[name] += int(fields[11]) + int(fields[12])
    return used


delay, seconds, label = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(delay)
before, start = snapshot(), time.time()
time.sleep(seconds)
after, elapsed = snapshot(), time.time() - start
ticks = os.sysconf('SC_CLK_TCK')
cores = {name: (after[name] - before.get(name, 0)) / ticks / elapsed for name in after}
shown = sorted(((c, n) for n, c in cores.items() if c >= 0.02), reverse=True)
print(f"  cpu during {label}: " + ", ".join(f"{n} {c:.2f}" for c, n in shown)
      + f" (cores; total {sum(cores.values()):.2f})", flush=True)
