"""PyVRP's own VRPLIB files through vrpkit: read or refused, and every ``.sol`` costed by the evaluator.

    python examples/pyvrp_files.py --tests PYVRP/tests/data --instances INSTANCES [--per-folder 3] [--solve 2]
        [--folders MTVRPTWR,SDVRPTW] [--solvers ortools,aco,pyvrp]

``--tests`` is PyVRP's ``tests/data`` folder (every file is tried but ``.sol`` and ``.toml``; ``--only`` names
some); ``--instances`` a checkout of PyVRP/Instances (the ``--per-folder`` smallest ``.vrp`` files of each
folder, or of the ``--folders`` named, by ``DIMENSION``, up to ``--max-dimension`` nodes; ``--per-folder 0``:
all of them).
Neither is bundled with vrpkit. One row per file: ``read`` with the variant, or ``refused`` with vrpkit's
one-line message (it names the section or field). When a ``.sol`` with a ``Cost`` line sits beside the file:
the stated cost, the evaluator's cost times the ``.sol`` scale under the file's convention
(:func:`vrpkit.io.vrplib.sol_convention`) and whether they match at the file's precision; a mismatch is
investigated by trying every ``round`` and scale. ``--solve S`` also runs each of ``--solvers`` (default
``ortools``) for S seconds on every file read and shows the status and the evaluator's cost (in the ``.sol``
units), or the solver's refusal; the summary counts the feasible plans per solver.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import vrpkit
from vrpkit.errors import VrpkitError
from vrpkit.io import read_problem
from vrpkit.io.vrplib import format_sol_cost, read_sol, sol_convention, sol_cost_matches
from vrpkit.matrix import ROUNDINGS

SKIP = {".sol", ".toml"}
SCALES = (1.0, 10.0, 100.0, 1000.0, 1e4, 1e5)
"""Scales tried when a ``.sol`` does not match under the documented convention."""


def _dimension(path: Path) -> int:
    match = re.search(r"^\s*DIMENSION\s*:\s*(\d+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
    return int(match[1]) if match else 0


def files(tests: Path | None, instances: Path | None, per_folder: int, max_dimension: int,
          folders: set[str] | None = None, only: set[str] | None = None) -> Iterator[tuple[str, Path]]:
    """``(label, path)``: every file of ``tests`` (or those named in ``only``), then the smallest
    ``per_folder`` files (0: all) of each ``instances`` folder (or of those in ``folders``) of at most
    ``max_dimension`` nodes."""
    if tests is not None:
        for path in sorted(tests.iterdir()):
            if path.is_file() and path.suffix.lower() not in SKIP and (not only or path.name in only):
                yield f"tests/{path.name}", path
    if instances is not None:
        for folder in sorted(p for p in instances.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if folders and folder.name not in folders:
                continue
            sized = sorted((_dimension(p), p.name, p) for p in folder.glob("*.vrp"))
            chosen = [p for dimension, _, p in sized if dimension <= max_dimension]
            chosen = chosen[:per_folder] if per_folder > 0 else chosen
            for path in chosen:
                yield f"{folder.name}/{path.name}", path


def _short(message: str, path: Path) -> str:
    return message.replace(f"{path}: ", "").replace(str(path), path.name)


def other_convention(path: Path, sol: Path, stated: float) -> str:
    """The first ``round`` and scale under which ``stated`` is the evaluator's cost, or ``""``."""
    for rule in ROUNDINGS:
        try:
            problem = read_problem(path, round=rule)
        except VrpkitError:  # rules that do not apply to this file's edges
            continue
        cost = vrpkit.evaluate(problem, read_sol(sol, problem)).cost
        for scale in SCALES:
            if sol_cost_matches(stated, cost, scale):
                return f"round {rule}, x{scale:g}"
    return ""


def row(label: str, path: Path, solve_seconds: float | None, solvers: list[str]) -> list[str]:
    """``file, result, variant or message, n, sol cost, evaluated x scale, match``, then one cell per solver."""
    try:
        problem = read_problem(path)
    except VrpkitError as err:
        return [label, "refused", _short(str(err), path), "", "", "", "", *[""] * len(solvers)]
    cells = [label, "read", problem.variant, str(problem.n_clients)]
    sol = path.with_suffix(".sol")
    scale = sol_convention(path)[1]
    if sol.exists():
        try:
            solution = read_sol(sol, problem)
        except VrpkitError as err:
            cells += [f".sol refused: {_short(str(err), sol)}", "", ""]
        else:
            stated = solution.stats.get("cost")
            rule, sol_scale = sol_convention(path, stated)
            judged = problem if rule is None else read_problem(path, round=rule)
            evaluation = vrpkit.evaluate(judged, solution)
            ours = format_sol_cost(evaluation.cost * sol_scale) + ("" if sol_scale == 1 else f" (x{sol_scale:g})")
            if rule is not None:
                ours += f" (round {rule})"
            if not evaluation.feasible:
                ours += f" infeasible: {evaluation.violations[0]}"
            if isinstance(stated, int | float):
                match = "yes"
                if not sol_cost_matches(stated, evaluation.cost, sol_scale):
                    other = other_convention(path, sol, stated)
                    match = f"NO (matches {other})" if other else "NO (under no convention)"
                cells += [str(stated), ours, match]
            else:
                cells += ["(no Cost line)", ours, ""]
    else:
        cells += ["", "", ""]
    for solver in solvers:
        if solve_seconds is None:
            cells.append("")
            continue
        start = time.perf_counter()
        try:
            result = vrpkit.solve(problem, solver, time_limit=solve_seconds, seed=0)
        except VrpkitError as err:
            cells.append(f"not solved: {_short(str(err), path)}")
        else:
            took = time.perf_counter() - start
            ev = result.evaluation
            cost = "" if ev is None else f" {format_sol_cost(round(ev.cost * scale, 6))}"
            cells.append(f"{result.status}{cost} ({took:.1f} s)")
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=Path, help="PyVRP's tests/data folder")
    parser.add_argument("--instances", type=Path, help="a checkout of PyVRP/Instances")
    parser.add_argument("--per-folder", type=int, default=3, help="smallest files per Instances folder")
    parser.add_argument("--max-dimension", type=int, default=5000,
                        help="skip Instances files with more nodes (a matrix of n x n doubles)")
    parser.add_argument("--solve", type=float, default=None, metavar="S", help="also solve, S s per solver")
    parser.add_argument("--solvers", default="ortools", help="comma-separated solvers for --solve")
    parser.add_argument("--folders", default=None, help="comma-separated Instances folders (default: all)")
    parser.add_argument("--only", default=None, help="comma-separated file names of --tests (default: all)")
    args = parser.parse_args(argv)
    solvers = [x for x in args.solvers.split(",") if x]
    folders = set(args.folders.split(",")) if args.folders else None
    only = set(args.only.split(",")) if args.only else None
    if args.tests is None and args.instances is None:
        parser.error("give --tests and/or --instances")
    for folder in (args.tests, args.instances):
        if folder is not None and not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    header = ["file", "result", "variant / message", "n", "sol cost", "evaluated x scale", "match", *solvers]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    counts = {"read": 0, "refused": 0, "sol_match": 0, "sol_mismatch": 0}
    feasible = dict.fromkeys(solvers, 0)
    started = time.perf_counter()
    for label, path in files(args.tests, args.instances, args.per_folder, args.max_dimension, folders, only):
        cells = row(label, path, args.solve, solvers)
        counts[cells[1]] += 1
        if cells[6] == "yes":
            counts["sol_match"] += 1
        elif cells[6].startswith("NO"):
            counts["sol_mismatch"] += 1
        for solver, cell in zip(solvers, cells[7:], strict=True):
            feasible[solver] += cell.startswith("feasible")
        print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |", flush=True)
    print(f"\n{counts['read']} read, {counts['refused']} refused; .sol costs: {counts['sol_match']} match, "
          f"{counts['sol_mismatch']} do not" + "".join(f"; {s}: {k} feasible" for s, k in feasible.items()
                                                       if args.solve is not None)
          + f" ({time.perf_counter() - started:.0f} s)")
    return 1 if counts["sol_mismatch"] else 0


if __name__ == "__main__":
    sys.exit(main())
