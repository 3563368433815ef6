"""vrpkit against VROOM (pyvroom) on generated VROOM inputs, both plans costed by vrpkit's evaluator.

Each instance (seeded: instance ``k`` uses seed ``--seed + k``) is a VROOM input with an explicit matrix
(metres; seconds at 10 m/s, both rounded to integers): one depot, 30 to 60 jobs (a delivery or, one in five, a
pickup; service 5 to 10 minutes; half with a 2-hour window), 10 to 20 shipments (amount 1 to 3, a window on
half of the deliveries), so 50 to 100 tasks; skill 1 (a fridge) on one job in five and one shipment in five,
skill 2 (a tail lift) on one job in ten; vehicles of capacity 15 in every shift of 10 hours with a 30-minute
break in [3 h, 5 h], about one in three with skill 1 and one in four with skill 2 (at least two of each), costs
``fixed 1000, per_hour 3600, per_km 100``; enough vehicles for 1.3 times the load.

vrpkit reads the input (:mod:`vrpkit.io.vroom`) and solves it for ``--time-limit`` seconds with ``--solver``
(default ortools, which handles jobs, shipments, skills and breaks together); VROOM solves the same file
(exploration level ``--exploration``, default 5, one thread). VROOM's plan is read back
(:func:`vrpkit.io.vroom.plan_from_vroom`) and both are costed by :func:`vrpkit.evaluate`. Columns: tasks,
each side's feasibility (``ok`` or the number of violations; for vrpkit's plan also VROOM's own check of it
in plan mode, ``Input.check``: ``ok`` or VROOM's violation causes), unassigned tasks, evaluator cost (whole route
durations; unassigned tasks' prizes included) and ``ratio`` (vrpkit / VROOM), then VROOM's own cost of each plan
(:func:`vrpkit.io.vroom.vroom_cost`: travel time only) and its ratio, and VROOM's run time. The last row has
the counts and the mean evaluator-cost ratio over all instances, the next the means over the instances where
both sides serve every task (where the ratio compares routing alone, not prizes).

Usage::

    python examples/bench_vroom.py                                 # 20 instances, ortools 10 s
    python examples/bench_vroom.py --count 10 --offset 10 --rows rows.jsonl   # the second half, rows kept
    python examples/bench_vroom.py --count 3 --time-limit 2 --write-dir /tmp/vroom   # inputs and outputs kept
    python examples/bench_vroom.py --no-breaks                     # the same instances without breaks

VROOM may start a break during a leg (when its window opens on the way); vrpkit's evaluator takes breaks at a
stop, so some of VROOM's plans (and OR-Tools', whose break intervals may also fall on a leg) are late by the
evaluator while VROOM's check finds them feasible.

Needs pyvroom (``pip install vrpkit[vroom]``). ``--rows FILE`` appends each instance's row as a JSON line and
prints the table of every row in the file (so that halves run apart make one table).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

import vrpkit
from vrpkit.io.vroom import VroomWarning, plan_from_vroom, plan_to_vroom, problem_from_vroom, vroom_cost


def generate(seed: int, *, breaks: bool = True) -> dict[str, Any]:
    """One VROOM input (see the module docstring); ``breaks`` False leaves the breaks out."""
    rng = np.random.default_rng(seed)
    n_jobs = int(rng.integers(30, 61))
    n_ships = int(rng.integers(10, 21))
    n_places = 1 + n_jobs + 2 * n_ships
    xy = rng.uniform(0, 20_000, size=(n_places, 2))
    xy[0] = (10_000, 10_000)
    dist = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    dur = np.rint(dist / 10.0)
    day = 36_000

    def window() -> list[list[int]] | None:
        if rng.random() < 0.5:
            return None
        start = int(rng.integers(0, day - 3 * 3600))
        return [[start, start + 7200]]

    jobs, load = [], 0
    for k in range(n_jobs):
        q = int(rng.integers(1, 4))
        load += q
        job: dict[str, Any] = {"id": k + 1, "location_index": 1 + k, "service": int(rng.integers(300, 601))}
        job["pickup" if rng.random() < 0.2 else "delivery"] = [q]
        skills = [s for s, p in ((1, 0.2), (2, 0.1)) if rng.random() < p]
        if skills:
            job["skills"] = skills
        if (w := window()) is not None:
            job["time_windows"] = w
        jobs.append(job)
    shipments = []
    for k in range(n_ships):
        q = int(rng.integers(1, 4))
        load += q
        pick = {"id": k + 1, "location_index": 1 + n_jobs + 2 * k, "service": int(rng.integers(120, 301))}
        drop = {"id": k + 1, "location_index": 2 + n_jobs + 2 * k, "service": int(rng.integers(120, 301))}
        if (w := window()) is not None:
            drop["time_windows"] = w
        ship: dict[str, Any] = {"amount": [q], "pickup": pick, "delivery": drop}
        if rng.random() < 0.2:
            ship["skills"] = [1]
        shipments.append(ship)
    n_vehicles = max(4, math.ceil(1.3 * load / 15))
    fridge = set(rng.choice(n_vehicles, size=max(2, n_vehicles // 3), replace=False).tolist())
    lift = set(rng.choice(n_vehicles, size=max(2, n_vehicles // 4), replace=False).tolist())
    vehicles = []
    for v in range(n_vehicles):
        vehicle: dict[str, Any] = {
            "id": v + 1, "start_index": 0, "end_index": 0, "capacity": [15], "time_window": [0, day],
            "breaks": [{"id": 1, "time_windows": [[3 * 3600, 5 * 3600]], "service": 1800}],
            "costs": {"fixed": 1000, "per_hour": 3600, "per_km": 100}}
        if not breaks:
            del vehicle["breaks"]
        skills = [s for s, group in ((1, fridge), (2, lift)) if v in group]
        if skills:
            vehicle["skills"] = skills
        vehicles.append(vehicle)
    return {"vehicles": vehicles, "jobs": jobs, "shipments": shipments,
            "matrices": {"car": {"durations": dur.astype(int).tolist(), "distances": dist.astype(int).tolist()}}}


def run_one(k: int, args: argparse.Namespace) -> dict[str, Any]:
    """Solve instance ``k`` both ways; the row of the table."""
    import vroom

    data = generate(args.seed + k, breaks=not args.no_breaks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VroomWarning)  # the mapping's notes (costs, setup) are the same for all
        problem = problem_from_vroom(data, name=f"vroom-{args.seed + k}")
    folder = args.write_dir
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="bench_vroom_"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"vroom-{args.seed + k}.json"
    path.write_text(json.dumps(data))
    started = time.perf_counter()
    out = vroom.Input.from_json(path).solve(exploration_level=args.exploration, nb_threads=1).to_dict()
    vroom_s = time.perf_counter() - started
    (folder / f"vroom-{args.seed + k}.out.json").write_text(json.dumps(out))
    theirs = vrpkit.evaluate(problem, plan_from_vroom(problem, out))
    result = vrpkit.solve(problem, args.solver, time_limit=args.time_limit, seed=args.seed + k)
    ours = result.evaluation
    # VROOM's own check of vrpkit's plan (plan mode: the plan as the vehicles' steps)
    steps = {r["vehicle"]: [{"type": s["type"], **({"id": s["id"]} if "id" in s else {})} for s in r["steps"]]
             for r in plan_to_vroom(problem, ours)["routes"]}
    checked = json.loads(json.dumps(data))
    for vehicle in checked["vehicles"]:
        vehicle["steps"] = steps.get(vehicle["id"], [])
    check_path = folder / f"vroom-{args.seed + k}.check.json"
    check_path.write_text(json.dumps(checked))
    check = vroom.Input.from_json(check_path).check(nb_threads=1).to_dict()
    row = {"instance": problem.name, "tasks": problem.n_clients, "vehicles": len(problem.vehicle_types)}
    for side, ev in (("vrpkit", ours), ("vroom", theirs)):
        row[f"{side}_violations"] = len(ev.violations)
        row[f"{side}_unassigned"] = len(ev.unassigned) + sum(v.constraint == "missing_client"
                                                             for v in ev.violations)
        row[f"{side}_cost"] = ev.cost
        row[f"{side}_vroom_cost"] = vroom_cost(problem, ev)
        row[f"{side}_routes"] = len(ev.routes)
    row["vroom_check_violations"] = sorted({v["cause"] for v in check["summary"]["violations"]})
    row["vroom_check_cost"] = check["summary"]["cost"]
    row["vroom_reported_cost"] = out["summary"]["cost"]
    row["vroom_seconds"] = vroom_s
    row["solver"] = args.solver
    row["time_limit"] = args.time_limit
    return row


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="vrpkit vs VROOM, both costed by vrpkit's evaluator")
    for name in ("instance", "tasks", "vrpkit", "checked by VROOM", "VROOM", "unassigned", "cost vrpkit",
                 "cost VROOM", "ratio", "VROOM cost: vrpkit", "VROOM", "ratio", "routes", "VROOM s"):
        t.add_column(name, justify="left" if name == "instance" else "right")

    def ok(n: int) -> str:
        return "ok" if n == 0 else f"{n} viol."

    ratios, vratios, all_ratios = [], [], []
    for r in rows:
        ratio = r["vrpkit_cost"] / r["vroom_cost"]
        vratio = r["vrpkit_vroom_cost"] / r["vroom_vroom_cost"]
        all_ratios.append(ratio)
        if r["vrpkit_unassigned"] == r["vroom_unassigned"] == 0:
            ratios.append(ratio)
            vratios.append(vratio)
        t.add_row(r["instance"], str(r["tasks"]), ok(r["vrpkit_violations"]),
                  ", ".join(r["vroom_check_violations"]) or "ok", ok(r["vroom_violations"]),
                  f"{r['vrpkit_unassigned']} / {r['vroom_unassigned']}", f"{r['vrpkit_cost']:,.0f}",
                  f"{r['vroom_cost']:,.0f}", f"{ratio:.4f}", f"{r['vrpkit_vroom_cost']:,.0f}",
                  f"{r['vroom_vroom_cost']:,.0f}", f"{vratio:.4f}", f"{r['vrpkit_routes']} / {r['vroom_routes']}",
                  f"{r['vroom_seconds']:.1f}")
    if rows:
        feasible = [sum(r[f"{s}_violations"] == 0 for r in rows) for s in ("vrpkit", "vroom")]
        below = sum(r["vrpkit_cost"] <= r["vroom_cost"] for r in rows)
        checked = sum(not r["vroom_check_violations"] for r in rows)
        t.add_row(f"mean of {len(rows)}", "", f"{feasible[0]}/{len(rows)}", f"{checked}/{len(rows)}",
                  f"{feasible[1]}/{len(rows)}", "", "", f"<= VROOM: {below}",
                  f"{statistics.fmean(all_ratios):.4f}", "", "", "", "", "")
        t.add_row(f"mean of {len(ratios)} fully served", "", "", "", "", "", "", "",
                  f"{statistics.fmean(ratios):.4f}" if ratios else "-", "", "",
                  f"{statistics.fmean(vratios):.4f}" if vratios else "-", "", "")
    return t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="instances (default: 20)")
    parser.add_argument("--offset", type=int, default=0, help="first instance number (default: 0)")
    parser.add_argument("--seed", type=int, default=0, help="instance k has seed SEED + k (default: 0)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="vrpkit's seconds (default: 10)")
    parser.add_argument("--solver", default="ortools", help="vrpkit's solver (default: ortools)")
    parser.add_argument("--exploration", type=int, default=5, help="VROOM's exploration level (default: 5)")
    parser.add_argument("--rows", type=Path, help="append rows to this JSON-lines file; print all of its rows")
    parser.add_argument("--write-dir", type=Path, help="keep the VROOM inputs and outputs here")
    parser.add_argument("--no-breaks", action="store_true", help="instances without breaks")
    args = parser.parse_args(argv)
    try:
        import vroom  # noqa: F401
    except ImportError:
        sys.exit("error: pyvroom is not installed (pip install vrpkit[vroom])")
    rows = []
    started = time.perf_counter()
    for k in range(args.offset, args.offset + args.count):
        row = run_one(k, args)
        rows.append(row)
        print(f"[{time.perf_counter() - started:6.1f} s] {row['instance']}: {row['tasks']} tasks, vrpkit "
              f"{row['vrpkit_cost']:,.0f} ({row['vrpkit_violations']} violations), VROOM {row['vroom_cost']:,.0f} "
              f"({row['vroom_violations']} violations)", file=sys.stderr, flush=True)
        if args.rows is not None:
            with args.rows.open("a") as f:
                f.write(json.dumps(row) + "\n")
    if args.rows is not None:
        rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    Console(width=160).print(table(rows))
    if rows:
        gap = max(abs(r["vroom_reported_cost"] - r["vroom_vroom_cost"]) for r in rows)
        check = max(abs(r["vroom_check_cost"] - r["vrpkit_vroom_cost"]) for r in rows)
        print(f"VROOM's cost function through vrpkit (vroom_cost) against VROOM's own figures: its plans "
              f"{gap:.1f} apart at most, vrpkit's plans (VROOM's check) {check:.1f} (VROOM rounds per route)")


if __name__ == "__main__":
    main()
