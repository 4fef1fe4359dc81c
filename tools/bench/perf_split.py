#!/usr/bin/env python3
"""Splits `perf script -F pid,tid,ip,sym` output (demangled) by process and prints, for each
process, its threads, the top functions by self time and by inclusive time (percent of that
process's samples). Used by profile.sh.

    perf script -i perf.data -F pid,tid,ip,sym | swift demangle --simplified | perf_split.py [--top N]
"""
import collections
import re
import sys

top = 40
if "--top" in sys.argv:
    top = int(sys.argv[sys.argv.index("--top") + 1])

samples = []
current = None
for line in sys.stdin:
    if line.startswith("\t"):
        if current is not None:
            parts = line.strip().split(" ", 1)
            symbol = parts[1] if len(parts) > 1 else "?"
            current[2].append(re.sub(r"\+0x[0-9a-f]+$", "", symbol))
    elif line.strip():
        if current is not None:
            samples.append(current)
        pid, _, tid = line.split()[0].partition("/")
        current = (pid, tid, [])
if current is not None:
    samples.append(current)

by_pid = collections.defaultdict(list)
for sample in samples:
    by_pid[sample[0]].append(sample)

for pid, group in sorted(by_pid.items(), key=lambda item: -len(item[1])):
    total = len(group)
    if total < 50:
        continue
    symbols = {symbol for sample in group for symbol in sample[2]}
    role = "?"
    if any("BenchChorusService" in symbol or "TickerService" in symbol for symbol in symbols):
        role = "server"
    elif any("StreamClient" in symbol for symbol in symbols):
        role = "client"
    print(f"=== process {pid} ({role}): {total} samples ({100 * total / len(samples):.1f}% of all)")
    threads = collections.Counter(sample[1] for sample in group)
    print("threads (samples):", ", ".join(f"{tid}: {count}" for tid, count in threads.most_common(8)))
    self_time = collections.Counter(sample[2][0] if sample[2] else "?" for sample in group)
    inclusive = collections.Counter()
    for sample in group:
        for symbol in set(sample[2]):
            inclusive[symbol] += 1
    print(f"--- self (top {top})")
    for symbol, count in self_time.most_common(top):
        print(f"{100 * count / total:6.2f}%  {symbol[:170]}")
    print(f"--- inclusive (top {top * 2})")
    for symbol, count in inclusive.most_common(top * 2):
        print(f"{100 * count / total:6.2f}%  {symbol[:170]}")
    print()
