"""Peak memory and time of large generated problems: ``vrpkit generate -n N``, then reading the problem and
computing its Euclidean matrix, then (``--territories``) ``vrpkit territories``; each step in a fresh process,
its peak resident memory from ``getrusage(RUSAGE_SELF).ru_maxrss`` at its exit.

    flock /tmp/core0.lock taskset -c 0 python examples/bench_memory.py -n 10000 --distribution clustered \\
        --variant cvrp [--territories] [--method binary]

The Euclidean matrix of 10,001 nodes is 10,001² float64 = 800 MB: the ``read`` step's peak should stay near
one matrix plus the interpreter and the problem's objects.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READ = """
import sys, time
t = time.perf_counter()
import vrpkit.io
p = vrpkit.io.read_problem(sys.argv[1])
d = p.distance
print(f"{time.perf_counter() - t:.2f} {d.shape[0]} {d.nbytes / 1e6:.0f} {p.duration is p.distance}")
"""


WRAP = """
import atexit, resource, sys
atexit.register(lambda: print("MAXRSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))
args = sys.argv[1:]
if args[0] == "-c":
    sys.argv = ["-c", *args[2:]]
    exec(args[1])
else:
    import runpy
    sys.argv = args
    runpy.run_module("vrpkit", run_name="__main__")
"""
"""Runs ``vrpkit ARGS`` (or ``-c CODE ARGS``) and prints its own peak RSS (kB) on stderr at exit."""


def run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the process and its stdout."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAP, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)[:200]} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    peak = int(done.stderr.rsplit("MAXRSS", 1)[1].split()[0])
    return wall, peak / 1024, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--distribution", default="clustered")
    ap.add_argument("--variant", default="cvrp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--territories", action="store_true")
    ap.add_argument("--method", default="balanced")
    args = ap.parse_args()
    vrpkit = ["vrpkit"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        rows = []
        wall, peak, _ = run([*vrpkit, "generate", "-n", str(args.n), "--distribution", args.distribution,
                             "--variant", args.variant, "--seed", str(args.seed), "-o", str(path)])
        rows.append(("generate", wall, peak, ""))
        wall, peak, out = run(["-c", READ, str(path)])
        secs, n, mb, same = out.split()
        rows.append(("read + matrix", wall, peak, f"{n}x{n} matrix {mb} MB, built in {secs} s, "
                                                  f"duration is distance: {same}"))
        if args.territories:
            out_json = Path(tmp) / "t.json"
            wall, peak, _ = run([*vrpkit, "territories", str(path), "-o", str(out_json), "--method", args.method,
                                 "--seed", str(args.seed)])
            totals = json.loads(out_json.read_text())["totals"]
            rows.append((f"territories {args.method}", wall, peak, json.dumps(totals)))
    print(f"n={args.n} {args.distribution} {args.variant} seed {args.seed}")
    for name, wall, peak, note in rows:
        print(f"  {name:24s} {wall:7.2f} s  peak {peak:7.0f} MB  {note}")


if __name__ == "__main__":
    main()
