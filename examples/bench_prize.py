"""Prize-collecting VRPTW (PyVRP/Instances ``PCVRPTW``): gap to the best known at a time limit, per file and seed.

    python examples/bench_prize.py --instances INSTANCES/PCVRPTW [--files C1_10_4,R1_10_4,RC1_10_4,R2_10_4]
        [--seeds 0,1,2] [--time-limit 10] [--solver ortools] [--solver "ortools:prize_search=classic"]

``--instances`` is the ``PCVRPTW`` folder of a checkout of PyVRP/Instances (not bundled with vrpkit); each file
needs its ``.sol`` beside it (the best known: its ``Cost`` line). The files are read with vrpkit's reader and the
rounding its ``TYPE`` implies, each solver spec (``--solver``, repeatable; ``name:key=value,...``) runs on each
file and seed, one run at a time, and the evaluator's cost times the ``.sol`` scale
(:func:`vrpkit.io.vrplib.sol_convention`) is compared with the stated cost: ``gap % = 100 (cost / best - 1)``.
One row per run, then the mean and the worst gap per file and solver. Run it on an otherwise idle core
(``taskset -c 0``): the figures depend on the time limit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vrpkit.solvers.base import parse_solver_spec

import vrpkit
from vrpkit.io import read_problem
from vrpkit.io.vrplib import read_sol, sol_convention

FILES = ("C1_10_4", "R1_10_4", "RC1_10_4", "R2_10_4")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=Path, required=True, help="the PCVRPTW folder of PyVRP/Instances")
    ap.add_argument("--files", default=",".join(FILES), help="file names without .vrp, comma-separated")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--solver", action="append", help="solver spec, repeatable (default: ortools)")
    args = ap.parse_args(argv)
    specs = args.solver or ["ortools"]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    gaps: dict[tuple[str, str], list[float]] = {}
    print(f"{'file':<10} {'solver':<32} {'seed':>4} {'cost':>10} {'best':>10} {'gap %':>7} {'served':>6} "
          f"{'routes':>6} {'wall s':>6}")
    for name in [f for f in args.files.split(",") if f]:
        path = args.instances / f"{name}.vrp"
        sol = path.with_suffix(".sol")
        if not path.exists() or not sol.exists():
            print(f"{name}: {path} or its .sol is missing", file=sys.stderr)
            return 2
        rounding, scale = sol_convention(path)
        problem = read_problem(path, round=rounding) if rounding else read_problem(path)
        best = float(read_sol(sol, problem).stats["cost"])
        for spec in specs:
            solver, options = parse_solver_spec(spec)
            for seed in seeds:
                t0 = time.perf_counter()
                result = vrpkit.solve(problem, solver, time_limit=args.time_limit, seed=seed, **options)
                wall = time.perf_counter() - t0
                cost = result.cost * scale
                gap = 100.0 * (cost / best - 1.0)
                gaps.setdefault((name, spec), []).append(gap)
                routes = result.solution.routes if result.solution is not None else ()
                served = sum(len(r.clients) for r in routes)
                print(f"{name:<10} {spec:<32} {seed:>4} {cost:>10.1f} {best:>10.1f} {gap:>7.2f} {served:>6} "
                      f"{len(routes):>6} {wall:>6.1f}", flush=True)
    print(f"\n{'file':<10} {'solver':<32} {'mean %':>7} {'worst %':>7}")
    for (name, spec), values in gaps.items():
        print(f"{name:<10} {spec:<32} {sum(values) / len(values):>7.2f} {max(values):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
