"""The ant colony solver side by side with OR-Tools on CVRPLIB X (or Solomon), gap to the BKS.

Every plan is costed by vrpkit's evaluator (X: edges rounded to the nearest integer, as for the BKS). The
table has one row per instance and solver, then the mean gap per solver; ``--csv`` keeps every row.

Usage::

    python examples/bench_aco.py                      # the 10 smallest X instances, 10 s per run
    python examples/bench_aco.py --time-limit 5 --smallest 3
    python examples/bench_aco.py --instances X-n101-k25 X-n106-k14 --solver aco:beta=2 --solver ortools
    python examples/bench_aco.py --set solomon --smallest 5

Needs the shared data next to the repository (``../shared/data``) or ``--data``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from vrpkit.bench import format_bench_table, run_bench, summarize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="cvrplib-x", choices=("cvrplib-x", "solomon"))
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per run (default: 10)")
    parser.add_argument("--smallest", type=int, default=10, help="the K smallest instances (default: 10)")
    parser.add_argument("--instances", nargs="*", help="instance names (instead of --smallest)")
    parser.add_argument("--solver", action="append", help="solver specs (default: aco and ortools)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="write every row to this CSV file")
    args = parser.parse_args(argv)

    console = Console(width=120)
    solvers = args.solver or ["aco", "ortools"]
    rows = run_bench(args.set, args.data, solvers, time_limit=args.time_limit, seed=args.seed,
                     smallest=None if args.instances else args.smallest, instances=args.instances,
                     csv_path=args.csv, console=console)
    console.print(format_bench_table(rows))
    for s in summarize(rows):
        gap = "-" if s.mean_gap is None else f"{s.mean_gap:.2f} %"
        console.print(f"{s.solver}: mean gap {gap} over {s.feasible}/{s.instances} feasible, "
                      f"mean runtime {s.mean_runtime:.1f} s")


if __name__ == "__main__":
    main()
