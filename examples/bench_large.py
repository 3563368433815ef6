"""Large instances for ``aco``: the CVRPLIB X table (aco against pyvrp, gap to the BKS) and the memory table.

``--x`` (default): X-n502-k39, X-n801-k40 and X-n1001-k43 (or ``--instances``), each solver at ``--time-limit``
seconds (60), one run after the other, costed by vrpkit's evaluator (edges rounded to the nearest integer, as
for the BKS); one row per instance and solver, then the mean gap per solver (``vrpkit.bench.run_bench``).

``--memory``: for each ``--n`` (1000, 5000, 10000) a generated CVRP (``vrpkit.generate.generate("cvrp", n,
seed=0, distribution="uniform")``) is solved by ``aco`` for ``--time-limit`` seconds in a fresh process; the
table has the size of the problem's matrices, the resident memory once the problem is built and the peak
during the solve (``VmHWM``, reset after the problem is built), their difference (what the solver added),
the colony's iterations and perturbations, the cost and whether the evaluator finds the plan feasible
(evaluated after the peak is read: the evaluator's own memory is not counted).

Usage::

    python examples/bench_large.py --x --time-limit 60 --solver aco --solver pyvrp
    python examples/bench_large.py --memory --n 1000 5000 10000 --time-limit 240

Run it on a quiet core (``taskset -c 0``). Measured 2026-12-02, seed 0, one core (``taskset -c 0``, through the
benchmark lock; other work on the other core):

============  =========================  =========================
instance      aco 60 s (gap to BKS)       pyvrp 60 s (same run)
============  =========================  =========================
X-n502-k39    69473 (0.36 %)             69362 (0.20 %)
X-n801-k40    74349 (1.42 %)             74131 (1.12 %)
X-n1001-k43   74403 (2.83 %)             73462 (1.53 %)
============  =========================  =========================

(earlier code: aco 4.8-5.0 % on X-n1001-k43 at 60 s). Memory (uniform CVRP, peak during the solve; the
problem's matrix is one array, distance = duration): n = 1000, 120 s: matrix 8 MiB, built 47, peak 212 MiB;
n = 5000, 120 s: 191, 232, 520 MiB; n = 10000, 240 s: 763, 807, 1666 MiB, a feasible plan (cost 84055, 55213
perturbations). Of what the solve adds at n = 10000, ``vrpkit.diagnose`` takes about 795 MiB (its own ``n ** 2``
temporaries, before the colony starts); the colony and its local search about 64 MiB to set up and 114 MiB
in their first iteration (about 60 MiB of that is loading the compiled code), against 3162 MiB to set up and
670 MiB more per iteration (``weights()``, 8.4 s each) before.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
X_INSTANCES = ["X-n502-k39", "X-n801-k40", "X-n1001-k43"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x", action="store_true", help="the X table (default)")
    parser.add_argument("--memory", action="store_true", help="the memory table")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default: 60)")
    parser.add_argument("--instances", nargs="*", default=X_INSTANCES, help="X instances (default: %(default)s)")
    parser.add_argument("--solver", action="append", help="solver specs (default: aco and pyvrp)")
    parser.add_argument("--n", type=int, nargs="*", default=[1000, 5000, 10000], help="clients (memory table)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="write the X rows to this CSV file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one memory run, in its own process
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(memory_run(args.child, args.time_limit, args.seed, (args.solver or ["aco"])[0])))
        return
    console = Console(width=120)
    if args.memory:
        memory_table(args, console)
    if args.x or not args.memory:
        x_table(args, console)


def x_table(args: argparse.Namespace, console: Console) -> None:
    from vrpkit.bench import format_bench_table, run_bench, summarize

    rows = run_bench("cvrplib-x", args.data, args.solver or ["aco", "pyvrp"], time_limit=args.time_limit,
                     seed=args.seed, instances=args.instances, csv_path=args.csv, console=console)
    console.print(format_bench_table(rows))
    for s in summarize(rows):
        gap = "-" if s.mean_gap is None else f"{s.mean_gap:.2f} %"
        console.print(f"{s.solver}: mean gap {gap} over {s.feasible}/{s.instances} feasible, "
                      f"mean runtime {s.mean_runtime:.1f} s")


def _peak_mib() -> float:
    """The process's peak resident memory since the last :func:`_reset_peak` (``VmHWM``; else getrusage's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak() -> None:
    """Start the peak afresh (Linux: ``clear_refs`` 5), so that the solve's peak is not hidden under the
    generator's."""
    gc.collect()
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def memory_run(n: int, time_limit: float, seed: int, spec: str) -> dict[str, object]:
    """One generated CVRP of ``n`` clients solved by ``spec``: peak memory before and after, and the plan."""
    from vrpkit.solvers import get_solver

    import vrpkit
    from vrpkit.generate import generate

    started = time.perf_counter()
    problem = generate("cvrp", n, seed=0, distribution="uniform")
    matrices = problem.distance.nbytes + (0 if problem.duration is problem.distance else problem.duration.nbytes)
    _reset_peak()
    built = _peak_mib()
    solver = get_solver(spec)
    solve_started = time.perf_counter()
    plan = solver.solve(problem, time_limit=time_limit, seed=seed)
    solve_seconds = time.perf_counter() - solve_started
    peak = _peak_mib()
    row: dict[str, object] = {"n": n, "solver": spec, "matrices_mib": matrices / 2 ** 20, "built_mib": built,
                              "peak_mib": peak, "solve_s": solve_seconds, "setup_s": solve_started - started,
                              "iterations": plan.stats.get("iterations"),
                              "perturbations": plan.stats.get("perturbations"), "routes": len(plan.routes)}
    print(json.dumps(row), flush=True)  # before the evaluator, in case it fails
    evaluation = vrpkit.evaluate(problem, plan)
    return {**row, "cost": evaluation.cost, "feasible": evaluation.feasible}


def memory_table(args: argparse.Namespace, console: Console) -> None:
    table = Table("n", "solver", "matrices MiB", "built MiB", "peak MiB", "solver added MiB", "solve s",
                  "iterations", "perturbations", "cost", "feasible",
                  title=f"generated uniform CVRP, {args.time_limit:g} s, peak resident memory (VmHWM)")
    for n in args.n:
        for spec in args.solver or ["aco"]:
            cmd = [sys.executable, __file__, "--child", str(n), "--time-limit", str(args.time_limit),
                   "--seed", str(args.seed), "--solver", spec]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode != 0:
                console.print(f"n={n} {spec}: exit {out.returncode}: {out.stderr.strip().splitlines()[-1:]}",
                              highlight=False)
            if not lines:
                continue
            r = json.loads(lines[-1])
            console.print(json.dumps(r), highlight=False)
            table.add_row(str(n), spec, f"{r['matrices_mib']:.0f}", f"{r['built_mib']:.0f}",
                          f"{r['peak_mib']:.0f}",
                          f"{r['peak_mib'] - r['built_mib']:.0f}", f"{r['solve_s']:.1f}", str(r["iterations"]),
                          str(r["perturbations"]), f"{r.get('cost', math.nan):.0f}", str(r.get("feasible", "-")))
    console.print(table)


if __name__ == "__main__":
    main()
