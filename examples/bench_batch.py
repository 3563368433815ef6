"""Acceptance benchmark of ``vrpkit batch``: throughput with N dask workers against one after another.

``--count`` generated CVRP100 instances (``vrpkit.generate.generate_many("cvrp", 100, count, seed)``, the
RouteFinder distribution) are written as JSON files and solved at ``--time-limit`` seconds each twice through
:func:`vrpkit.batch.run_batch`: with ``--workers`` workers, and one after another. "One after another" is the
same engine with one worker by default (``--baseline engine``): both runs then pay the same per-problem costs
(the worker reads the file, the driver writes the plan) and the same cluster start, so the ratio is the engine's
parallel speed-up. ``--baseline loop`` instead solves them in a plain loop in this process (``vrpkit.solve``
and a JSON file per plan), what a user would do without ``vrpkit batch``. Prints per run: wall time (cluster
start included), throughput in problems per minute, feasible count and mean cost; then the throughput ratio and
the mean of the paired relative cost differences (the costs should be close: the same solver, seed and limit).

    python examples/bench_batch.py                                  # the acceptance run: 200 x 2 s, 2 workers
    python examples/bench_batch.py --count 10 --time-limit 0.5      # a quick check

The N-worker run needs N free cores: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vrpkit.batch import BatchReport, run_batch
from vrpkit.generate import generate_many
from vrpkit.io.json import problem_to_dict, write_json


def write_problems(folder: Path, count: int, seed: int) -> list[Path]:
    paths = []
    for problem in generate_many("cvrp", 100, count, seed):
        path = folder / f"{problem.name}.json"
        write_json(problem_to_dict(problem), path)
        paths.append(path)
    return paths


def plain_loop(files: list[Path], solver: str, time_limit: float, seed: int, outdir: Path) -> dict[str, float]:
    """Solve one after another in this process; the cost of each plan (inf: none feasible)."""
    import vrpkit
    from vrpkit.io import read_problem

    outdir.mkdir(parents=True, exist_ok=True)
    costs = {}
    for k, path in enumerate(files, 1):
        result = vrpkit.solve(read_problem(path), solver, time_limit=time_limit, seed=seed)
        (outdir / f"{path.stem}.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        costs[path.stem] = result.cost
        print(f"\rloop {k}/{len(files)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return costs


def engine_costs(report: BatchReport) -> dict[str, float]:
    return {r.name: r.cost if r.status == "feasible" and r.cost is not None else float("inf") for r in report.rows}


def line(label: str, wall: float, costs: dict[str, float]) -> str:
    feasible = [c for c in costs.values() if c < float("inf")]
    mean = f"{statistics.fmean(feasible):,.2f}" if feasible else "-"
    return (f"{label:<28} {wall:8.1f} s  {len(costs) / wall * 60:8.2f} problems/min  "
            f"{len(feasible)}/{len(costs)} feasible  mean cost {mean}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="instances (CVRP100)")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per instance")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel run")
    parser.add_argument("--solver", default="ortools", help='solver spec, e.g. "pyvrp" or "aco:ants=10"')
    parser.add_argument("--seed", type=int, default=0, help="seed of the instances and of the solver")
    parser.add_argument("--baseline", choices=("engine", "loop"), default="engine",
                        help="one after another: the engine with one worker, or a plain loop in this process")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the problems and plans here")
    args = parser.parse_args()
    if args.count < 1 or args.workers < 1 or not args.time_limit > 0:
        parser.error("--count and --workers must be positive, --time-limit > 0")

    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = args.workdir or Path(tmp)
        (root / "problems").mkdir(parents=True, exist_ok=True)
        files = write_problems(root / "problems", args.count, args.seed)
        print(f"{args.count} CVRP100 (generate_many seed {args.seed}), {args.solver} {args.time_limit:g} s each, "
              f"solver seed {args.seed}", flush=True)

        started = time.perf_counter()
        parallel = run_batch(files, args.solver, time_limit=args.time_limit, outdir=root / f"w{args.workers}",
                             workers=args.workers, seed=args.seed, progress=True)
        wall_parallel = time.perf_counter() - started
        costs_parallel = engine_costs(parallel)

        started = time.perf_counter()
        if args.baseline == "engine":
            serial = run_batch(files, args.solver, time_limit=args.time_limit, outdir=root / "w1", workers=1,
                               seed=args.seed, progress=True)
            costs_serial = engine_costs(serial)
            label = "1 worker (one after another)"
        else:
            costs_serial = plain_loop(files, args.solver, args.time_limit, args.seed, root / "loop")
            label = "plain loop (one after another)"
        wall_serial = time.perf_counter() - started

    print(line(f"{args.workers} workers", wall_parallel, costs_parallel))
    print(line(label, wall_serial, costs_serial))
    both = [(costs_parallel[k], costs_serial[k]) for k in costs_parallel
            if costs_parallel[k] < float("inf") and costs_serial.get(k, float("inf")) < float("inf")]
    diff = statistics.fmean((a - b) / b * 100 for a, b in both) if both else float("nan")
    print(f"throughput ratio {wall_serial / wall_parallel:.2f} ({args.workers} workers / one after another); "
          f"mean paired cost difference {diff:+.3f}% over {len(both)} instances")


if __name__ == "__main__":
    main()
