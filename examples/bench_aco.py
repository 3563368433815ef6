"""The ant colony solver side by side with OR-Tools on CVRPLIB X (or Solomon), gap to the BKS.

Every plan is costed by vrpkit's evaluator (X: edges rounded to the nearest integer, as for the BKS). The
table has one row per instance and solver, then the mean gap per solver; ``--csv`` keeps every row.

Usage::

    python examples/bench_aco.py                      # the 10 smallest X instances, 10 s per run
    python examples/bench_aco.py --time-limit 5 --smallest 3
    python examples/bench_aco.py --instances X-n101-k25 X-n106-k14 --solver aco:beta=2 --solver ortools
    python examples/bench_aco.py --set solomon --smallest 5
    python examples/bench_aco.py --open --smallest 3     # open-route versions of the X instances (no BKS)
    python examples/bench_aco.py --generated ovrp --count 20 --n 100 --solver aco --solver ortools --solver pyvrp
    python examples/bench_aco.py --variants --time-limit 5  # VRPB, HFVRP, MDVRPTW, PCVRPTW with their BKS

Needs the shared data next to the repository (``../shared/data``) or ``--data``. With ``--open`` every
vehicle of an X instance ends its route at its last client (OVRP); there is no BKS, so the table compares
the solvers' costs with each other: ``ratio`` is a solver's cost over the first solver's; so does
``--generated`` (instances of :func:`vrpkit.generate.uniform_instance`, seeds 0 to ``count - 1``). With
``--variants`` the instances of ``variants/`` are solved and their cost, in the units of their ``.sol``
files (see :func:`vrpkit.io.vrplib.sol_cost_scale`), compared with the BKS.
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

import vrpkit
from vrpkit.bench import find_instances, format_bench_table, run_bench, select_instances, summarize
from vrpkit.errors import SolverError
from vrpkit.generate import VARIANTS, uniform_instance
from vrpkit.io import read_problem
from vrpkit.model import Problem

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
    parser.add_argument("--open", action="store_true", help="open routes (X instances only; no BKS)")
    parser.add_argument("--variants", action="store_true", help="the instances of the variants folder")
    parser.add_argument("--generated", choices=VARIANTS, help="generated instances of this variant instead")
    parser.add_argument("--count", type=int, default=20, help="how many generated instances (default: 20)")
    parser.add_argument("--n", type=int, default=100, help="clients per generated instance (default: 100)")
    args = parser.parse_args(argv)

    console = Console(width=120)
    solvers = args.solver or ["aco", "ortools"]
    if args.open:
        bench_open(args, solvers, console)
        return
    if args.generated:
        bench_generated(args, solvers, console)
        return
    if args.variants:
        bench_variants(args, solvers, console)
        return
    rows = run_bench(args.set, args.data, solvers, time_limit=args.time_limit, seed=args.seed,
                     smallest=None if args.instances else args.smallest, instances=args.instances,
                     csv_path=args.csv, console=console)
    console.print(format_bench_table(rows))
    for s in summarize(rows):
        gap = "-" if s.mean_gap is None else f"{s.mean_gap:.2f} %"
        console.print(f"{s.solver}: mean gap {gap} over {s.feasible}/{s.instances} feasible, "
                      f"mean runtime {s.mean_runtime:.1f} s")


def bench_open(args: argparse.Namespace, solvers: list[str], console: Console) -> None:
    """Open-route versions of the chosen X instances."""
    chosen = select_instances(find_instances("cvrplib-x", args.data),
                              smallest=None if args.instances else args.smallest, instances=args.instances)
    problems = []
    for inst in chosen:
        closed = read_problem(inst.path)
        problems.append(closed.replace(
            vehicle_types=tuple(replace(vt, end_depot=None) for vt in closed.vehicle_types)))
    compare(problems, solvers, args, console, "open routes (OVRP), cost by the evaluator")


def bench_generated(args: argparse.Namespace, solvers: list[str], console: Console) -> None:
    """``--count`` instances drawn by :func:`vrpkit.generate.uniform_instance` (seeds 0, 1, ...)."""
    problems = [uniform_instance(args.n, seed=s, variant=args.generated) for s in range(args.count)]
    compare(problems, solvers, args, console,
            f"{args.count} generated {args.generated} instances, {args.n} clients, cost by the evaluator")


def compare(problems: list[Problem], solvers: list[str], args: argparse.Namespace, console: Console,
            title: str) -> None:
    """Each solver's cost per problem, its ratio to the first solver's, the mean cost per solver and on how
    many problems the first solver is better than each other."""
    table = Table("instance", "n", *(f"{s} cost" for s in solvers), *(f"{s} / {solvers[0]}" for s in solvers[1:]),
                  title=title)
    costs: dict[str, list[float]] = {s: [] for s in solvers}
    for problem in problems:
        row = []
        for spec in solvers:
            result = vrpkit.solve(problem, spec, time_limit=args.time_limit, seed=args.seed)
            row.append(result.cost if result.feasible else math.inf)
            costs[spec].append(row[-1])
            console.print(f"{problem.name} {spec} {result.status} cost {result.cost:.2f} "
                          f"({result.stats.get('runtime', 0):.1f} s)", highlight=False)
        table.add_row(problem.name, str(problem.n_clients), *(f"{c:.2f}" for c in row),
                      *(f"{c / row[0]:.4f}" for c in row[1:]))
    console.print(table)
    first = costs[solvers[0]]
    for spec, values in costs.items():
        line = f"{spec}: mean cost {statistics.fmean(values):.2f}"
        if spec != solvers[0]:
            wins = sum(a < b - 1e-6 for a, b in zip(first, values, strict=True))
            ties = sum(abs(a - b) <= 1e-6 for a, b in zip(first, values, strict=True))
            ratio = statistics.fmean(b / a for a, b in zip(first, values, strict=True))
            line += (f", mean ratio to {solvers[0]} {ratio:.4f}; {solvers[0]} better on {wins} of {len(first)}"
                     f" ({ties} ties)")
        console.print(line)


def bench_variants(args: argparse.Namespace, solvers: list[str], console: Console) -> None:
    """Every instance of ``variants/*/`` (or ``--instances``), gap of each solver to the ``.sol`` BKS."""
    from vrpkit.io.vrplib import read_sol, sol_cost_scale

    paths = sorted((args.data / "variants").glob("*/*.vrp"))
    if args.instances:
        paths = [p for p in paths if p.stem in args.instances]
    table = Table("variant", "instance", "n", "bks", *(f"{s} gap %" for s in solvers), title="variants")
    gaps: dict[str, list[float]] = {s: [] for s in solvers}
    for path in paths:
        problem = read_problem(path)
        kind = _spec(path, "TYPE")
        scale = sol_cost_scale(kind)
        bks = float(read_sol(path.with_suffix(".sol"), problem).stats["cost"])
        cells = []
        for spec in solvers:
            try:
                result = vrpkit.solve(problem, spec, time_limit=args.time_limit, seed=args.seed)
            except SolverError as err:  # a solver that does not support this variant
                cells.append("unsupported")
                console.print(f"{path.stem} {spec}: {err}", highlight=False)
                continue
            if result.feasible:
                gap = (result.cost * scale - bks) / bks * 100
                gaps[spec].append(gap)
                cells.append(f"{gap:.2f}")
            else:
                cells.append(result.status)
            console.print(f"{path.stem} {spec} {result.status} cost {result.cost * scale:.0f} bks {bks:.0f}",
                          highlight=False)
        table.add_row(path.parent.name, path.stem, str(problem.n_clients), f"{bks:.0f}", *cells)
    console.print(table)
    for spec, values in gaps.items():
        mean = f"{statistics.fmean(values):.2f} %" if values else "-"
        console.print(f"{spec}: mean gap {mean} over {len(values)}/{len(paths)} feasible")


def _spec(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().upper() == key:
            return value.strip()
    return None


if __name__ == "__main__":
    main()
