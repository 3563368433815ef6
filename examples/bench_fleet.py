"""The fleet benchmark: ortools, aco and pyvrp side by side on three generated sets.

Sets (:func:`vrpkit.generate.fleet_instance`, :data:`vrpkit.generate.FLEET_VARIANTS`; instance ``i`` of a set
is :func:`vrpkit.generate.generate_many`'s, from child ``i`` of ``SeedSequence(--seed)``, 100 clients):

- ``pdptw``: Li & Lim-style pickup and delivery with time windows, 100 requests (200 stops), capacity 50.
- ``mtvrp``: multi-trip CVRP, 100 clients, capacity 20, ``ceil(total / 60)`` vehicles reloading at the depot.
- ``vrptwbrsk``: VRPTW with a 45-minute lunch break per vehicle and skills (fridge, tail lift; four vehicle
  types, equipped ones dearer per distance).

Each solver runs ``--time-limit`` seconds (seed 0) on each instance; a solver whose ``supports`` refuses a
set is reported (its reason) and not run. Every plan is costed by :func:`vrpkit.evaluate`. The table has, per
set and solver: runs, feasible plans, the mean cost over its feasible plans, the mean cost over the instances
where every solver that ran found a feasible plan (``common``, comparable across solvers), and the mean wall
time. ``--csv`` writes one row per run; ``--rows FILE`` appends each run as a JSON line and prints the table of
every row in the file, so that parts run apart (``--offset``, ``--instances``) make one table.

Usage::

    python examples/bench_fleet.py                                   # 3 sets x 20 instances x 3 solvers, 10 s
    python examples/bench_fleet.py --instances 2 --time-limit 2      # a quick look
    python examples/bench_fleet.py --sets mtvrp --offset 10 --instances 5 --rows rows.jsonl --csv fleet.csv
    python examples/bench_fleet.py --jobs 4                          # four runs at a time (four free cores)
    python examples/bench_fleet.py --combinations 6 --time-limit 1   # all 64 variants at 6 clients, a summary

Runs in parallel (``--jobs``) share the machine: time-limited solvers find less on busy cores, so measure with
one job per free core.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SETS = ("pdptw", "mtvrp", "vrptwbrsk")
SOLVERS = ("ortools", "aco", "pyvrp")
N_CLIENTS = 100
FIELDS = ("set", "instance", "name", "variant", "solver", "status", "feasible", "cost", "violations", "routes",
          "time", "reason")


def instance(set_name: str, index: int, seed: int, n: int = N_CLIENTS) -> Any:
    """Instance ``index`` of a set: what ``generate_many(set_name, n, index + 1, seed)[index]`` gives (with
    shipments and release times or multi-trip, ``n`` requests and ``n`` plain clients)."""
    from vrpkit.generate import generate, instance_seed, parse_fleet_variant

    v = parse_fleet_variant(set_name)
    options = {"jobs": n} if v.shipments and (v.multi_trip or v.release_times) else {}
    return generate(set_name, n, seed=instance_seed(seed, index), distribution="fleet",
                    name=f"{v.name}-n{n}-s{seed}-{index}", **options)


def run_one(set_name: str, index: int, seed: int, solver: str, time_limit: float, n: int = N_CLIENTS
            ) -> dict[str, Any]:
    """One solver on one instance: the row of the table (the evaluator's cost and feasibility)."""
    from vrpkit.solvers.base import get_solver

    import vrpkit

    problem = instance(set_name, index, seed, n)
    row: dict[str, Any] = {"set": set_name, "instance": index, "name": problem.name, "variant": problem.variant,
                           "solver": solver, "status": "", "feasible": False, "cost": math.nan, "violations": 0,
                           "routes": 0, "time": 0.0, "reason": ""}
    reason = get_solver(solver).supports(problem)
    if reason is not None:
        row.update(status="refused", reason=reason)
        return row
    start = time.perf_counter()
    try:
        result = vrpkit.solve(problem, solver, time_limit=time_limit, seed=0)
    except vrpkit.VrpkitError as err:  # a solver error is a row, not the end of the benchmark
        row.update(status="error", reason=str(err), time=round(time.perf_counter() - start, 2))
        return row
    ev = result.evaluation
    row.update(status=result.status, feasible=result.feasible, time=round(time.perf_counter() - start, 2),
               cost=round(ev.cost, 4) if ev is not None else math.nan,
               violations=len(ev.violations) if ev is not None else 0,
               routes=len(ev.routes) if ev is not None else 0)
    return row


def table(rows: list[dict[str, Any]], sets: list[str], solvers: list[str], title: str) -> Table:
    """Per set and solver: runs, feasible, mean cost (feasible plans), mean cost on the common instances, time."""
    out = Table("set", "solver", "runs", "feasible", "mean cost", "common", "mean cost (common)", "mean time",
                title=title, title_justify="left")
    for set_name in sets:
        mine = [r for r in rows if r["set"] == set_name]
        ran = [s for s in solvers if any(r["solver"] == s and r["status"] != "refused" for r in mine)]
        by = {(r["solver"], r["instance"]): r for r in mine}
        instances = sorted({r["instance"] for r in mine})
        common = [i for i in instances if ran and all(by.get((s, i), {}).get("feasible") for s in ran)]
        for s in solvers:
            runs = [r for r in mine if r["solver"] == s]
            if not runs:
                continue
            if all(r["status"] == "refused" for r in runs):
                out.add_row(set_name, s, "0", "-", "refused (below)", "", "", "")
                continue
            feasible = [r for r in runs if r["feasible"]]
            cost = f"{statistics.fmean(r['cost'] for r in feasible):,.2f}" if feasible else "-"
            shared = [by[(s, i)]["cost"] for i in common]
            out.add_row(set_name, s, str(len(runs)), str(len(feasible)), cost, str(len(common)),
                        f"{statistics.fmean(shared):,.2f}" if shared else "-",
                        f"{statistics.fmean(r['time'] for r in runs):.1f} s")
    return out


def summary(rows: list[dict[str, Any]], solvers: list[str], title: str) -> Table:
    """Per solver over many variants: variants accepted (instances run), feasible plans, refusals (by
    attribute), and the mean cost ratio to the best solver on the instances every accepting solver solved."""
    out = Table("solver", "variants accepted", "runs", "feasible", "refused", "refused for", title=title,
                title_justify="left")
    for s in solvers:
        mine = [r for r in rows if r["solver"] == s]
        ran = [r for r in mine if r["status"] != "refused"]
        refused = [r for r in mine if r["status"] == "refused"]
        variants = {r["set"] for r in ran}
        reasons = sorted({r["reason"].split(" not supported")[0].split(" (")[0][:40] for r in refused})
        out.add_row(s, str(len(variants)), str(len(ran)), str(sum(r["feasible"] for r in ran)), str(len(refused)),
                    "; ".join(reasons)[:60])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="Comma-separated sets (default all three).")
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="Comma-separated solvers.")
    parser.add_argument("--instances", type=int, help="Instances per set (default 20; 1 with --combinations).")
    parser.add_argument("--offset", type=int, default=0, help="First instance index (default 0).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the sets (default 0).")
    parser.add_argument("--time-limit", type=float, default=10.0, help="Seconds per run (default 10).")
    parser.add_argument("--jobs", type=int, default=1, help="Runs at a time, each in its own process (1).")
    parser.add_argument("--csv", type=Path, help="Write one row per run (all rows of --rows with it).")
    parser.add_argument("--rows", type=Path, help="Append each run as a JSON line; the table shows the file.")
    parser.add_argument("--combinations", type=int, metavar="N",
                        help="Instead of the sets: every combination of the fleet attributes (64 variants, "
                             "FleetVariant) at N clients (N requests), --instances each, and a summary.")
    args = parser.parse_args(argv)
    if args.instances is None:
        args.instances = 20 if args.combinations is None else 1
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    n_clients = N_CLIENTS
    if args.combinations is not None:
        import itertools

        from vrpkit.generate import FleetVariant

        if args.combinations < 1:
            parser.error("--combinations: out of range")
        flags = ("multi_trip", "shipments", "windows", "release_times", "breaks", "skills")
        sets = [FleetVariant(**dict(zip(flags, on, strict=True))).name
                for on in itertools.product((False, True), repeat=len(flags))]
        n_clients = args.combinations
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    for bad, what in ((args.instances < 1, "--instances"), (args.offset < 0, "--offset"),
                      (args.jobs < 1, "--jobs"), (not args.time_limit > 0, "--time-limit")):
        if bad:
            parser.error(f"{what}: out of range")
    from vrpkit.generate import is_fleet_variant

    for s in sets:
        if args.combinations is None and not is_fleet_variant(s):
            parser.error(f"--sets: {s!r} is not a fleet variant (e.g. {', '.join(SETS)})")
    tasks = [(s, i, args.seed, solver, args.time_limit, n_clients) for s in sets
             for i in range(args.offset, args.offset + args.instances) for solver in solvers]
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []

    def done(row: dict[str, Any]) -> None:
        rows.append(row)
        cost = f"{row['cost']:,.2f}" if row["feasible"] else row["status"]
        print(f"[{time.perf_counter() - t0:7.1f}s] {len(rows)}/{len(tasks)} {row['name']} {row['solver']}: {cost}"
              + (f" ({row['time']:.1f} s)" if row["status"] != "refused" else f" ({row['reason'][:80]})"),
              file=sys.stderr, flush=True)
        if args.rows is not None:
            with args.rows.open("a") as fh:
                fh.write(json.dumps(row) + "\n")

    if args.jobs == 1:
        for task in tasks:
            done(run_one(*task))
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for future in as_completed([pool.submit(run_one, *task) for task in tasks]):
                done(future.result())
    if args.rows is not None:
        rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
        latest = {(r["set"], r["instance"], r["solver"]): r for r in rows}  # a rerun replaces a row
        rows = list(latest.values())
    rows.sort(key=lambda r: (r["set"], r["instance"], r["solver"]))
    if args.csv is not None:
        with args.csv.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    shown_sets = [s for s in SETS if any(r["set"] == s for r in rows)] + \
        sorted({r["set"] for r in rows} - set(SETS))
    shown_solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)] + \
        sorted({r["solver"] for r in rows} - set(SOLVERS))
    n = len({(r["set"], r["instance"]) for r in rows})
    console = Console(width=max(Console().width, 120))
    if args.combinations is not None:
        console.print(summary(rows, shown_solvers, f"every combination at {n_clients} clients: {n} instances, "
                                                 f"{args.time_limit:g} s per run, seed {args.seed}"))
        for r in rows:
            if r["status"] not in ("refused", "feasible"):
                console.print(f"{r['solver']} on {r['name']} ({r['variant']}): {r['status']}"
                              + (f" ({r['violations']} violations)" if r["violations"] else ""), soft_wrap=True)
        return
    console.print(table(rows, shown_sets, shown_solvers,
                        f"fleet benchmark: {n} instances, {args.time_limit:g} s per run, seed {args.seed}"))
    refused = {(r["set"], r["solver"]): r["reason"] for r in rows if r["status"] == "refused"}
    for (set_name, solver), reason in sorted(refused.items()):
        console.print(f"{solver} refuses {set_name}: {reason}", soft_wrap=True)
    for r in rows:
        if r["status"] == "error":
            console.print(f"{r['solver']} on {r['name']}: error: {r['reason']}", soft_wrap=True)


if __name__ == "__main__":
    main()
