"""Robust against deterministic plans, and an SVRPBench-style table, on generated stochastic instances.

``python examples/bench_svrp.py [--count 20] [--n 100] [--time-limit 2] [--scenarios 10000] [--quantile 0.9]``

Instances: ``vrpkit.generate.generate_many("svrp", n, count, seed)`` (clustered cities, 3 depots, residential
and commercial windows, ``rush_hour`` profile, log-normal delays, accidents, normal demands with the return
recourse, log-normal service times). Every plan is simulated on the same scenarios of its instance
(``vrpkit.stochastic.sample`` once, ``--seed``).

1. For ``ortools`` and ``aco``: ``vrpkit.solve(problem, solver, time_limit=2 T, robust=Q)`` solves the
   deterministic plan and the robust plan with ``T`` each (:mod:`vrpkit.robust`); both are simulated (the robust
   one leaving at its planned departures). Means over the instances of: expected cost, p90 cost, on-time
   rate, violation rate, feasible rate.
2. SVRPBench's table (their metrics: total cost as the expected cost, constraint violation rate CVR,
   feasibility rate, robustness as the cost's standard deviation over scenarios, runtime): nearest neighbour +
   2-opt (:func:`nn_2opt`, below), and the deterministic plans of ``ortools``, ``aco``, ``pyvrp``, ``neural``
   (``T`` each; a solver whose extra is missing is left out).

Measured (``taskset -c 0 python examples/bench_svrp.py``: 20 x 100 clients, T 2 s, 10,000 scenarios, q 0.9,
5.5 minutes): the robust plans raise the on-time rate from 91.88 to 98.86 % (ortools, +6.98 points) and from
92.09 to 98.80 % (aco, +6.71) and the feasible rate from 0 to about 31 %, at +1.96 % and +3.61 % expected cost
(their evaluator cost is +10.9 % and +11.1 %, but the deterministic plans' return trips under random demands
cost 8.8 % and 7.2 % over their evaluator cost).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import vrpkit
from vrpkit import stochastic
from vrpkit.errors import SolverError
from vrpkit.generate import generate_many
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution


def _two_opt(tour: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """2-opt on a closed tour ``[depot, c1, ..., ck, depot]`` (node indices) by distance: the best reversal of
    every pass at once (all pairs vectorised), until none shortens the tour."""
    while len(tour) > 4:
        a, b = tour[:-1], tour[1:]
        # reversing tour[i+1 .. j] replaces (a_i, b_i) and (a_j, b_j) by (a_i, a_j) and (b_i, b_j)
        edge = dist[a, b]
        delta = dist[a[:, None], a[None, :]] + dist[b[:, None], b[None, :]] - edge[:, None] - edge[None, :]
        delta = np.triu(delta, 2)
        i, j = np.unravel_index(np.argmin(delta), delta.shape)
        if delta[i, j] >= -1e-9:
            break
        tour = np.concatenate([tour[:i + 1], tour[i + 1:j + 1][::-1], tour[j + 1:]])
    return tour


def nn_2opt(problem: Problem) -> Solution:
    """SVRPBench's baseline: each client goes to its nearest depot; per depot, routes are built by nearest
    neighbour from the depot while the vehicle's capacity holds (windows ignored, as SVRPBench's NN+2opt),
    then each route is improved by 2-opt on distance. The evaluator scores the plan."""
    nd, dist = problem.n_depots, problem.distance
    demand = np.array([c.delivery for c in problem.clients], dtype=float).reshape(problem.n_clients, -1)
    home = dist[:nd, nd:].argmin(axis=0)
    routes = []
    for d in range(nd):
        vt = next(k for k, v in enumerate(problem.vehicle_types)
                  if problem.depots.index(next(x for x in problem.depots if x.id == v.start_depot)) == d)
        cap = np.array(problem.vehicle_types[vt].capacity, dtype=float)
        left = set(np.flatnonzero(home == d).tolist())
        while left:
            at, load, route = d, np.zeros_like(cap), []
            while True:
                cand = [c for c in left if np.all(load + demand[c] <= cap)]
                if not cand:
                    break
                c = min(cand, key=lambda c: dist[at, nd + c])
                route.append(c)
                left.discard(c)
                load = load + demand[c]
                at = nd + c
            if not route:  # a client alone above capacity: its own route (the evaluator flags it)
                route = [left.pop()]
            tour = _two_opt(np.array([d, *[nd + c for c in route], d]), dist)
            routes.append(Route(vt, tuple(int(x) - nd for x in tour[1:-1])))
    return Solution(tuple(routes))


def _figures(sim: stochastic.Simulation) -> dict[str, float]:
    d = sim.to_dict()
    return {"expected_cost": d["expected_cost"], "p90_cost": d["cost_quantiles"]["p90"],
            "cost_std": d["cost_std"], "on_time_rate": d["on_time_rate"], "violation_rate": d["violation_rate"],
            "feasible_rate": d["feasible_rate"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--time-limit", type=float, default=2.0, help="seconds per plan")
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--quantile", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--solvers", default="ortools,aco", help="robust against deterministic")
    ap.add_argument("--table", default="nn2opt,ortools,aco,pyvrp,neural", help="the SVRPBench-style table")
    ap.add_argument("--out", help="write every figure per instance here (JSON)")
    args = ap.parse_args()
    problems = generate_many("svrp", args.n, args.count, args.seed)
    robust_solvers = [s for s in args.solvers.split(",") if s]
    table = [s for s in args.table.split(",") if s]
    rows: list[dict] = []
    for p in problems:
        draws = stochastic.sample(p, args.scenarios, args.seed)
        det_plans: dict[str, tuple[dict, float]] = {}
        for s in robust_solvers:
            r = vrpkit.solve(p, s, time_limit=2 * args.time_limit, seed=args.seed, robust=args.quantile,
                             robust_scenarios=args.scenarios)
            rb = r.stats["robust"]
            for kind in ("deterministic", "robust"):
                part = rb[kind]
                if part is None:
                    rows.append({"instance": p.name, "solver": s, "plan": kind, "status": "no_solution"})
                    continue
                sim = part["simulated"]
                row = {"instance": p.name, "solver": s, "plan": kind, "cost": part["cost"],
                       "feasible": part["feasible"], "runtime": part["runtime"],
                       "expected_cost": sim["expected_cost"], "p90_cost": sim["cost_quantiles"]["p90"],
                       "cost_std": sim["cost_std"], "on_time_rate": sim["on_time_rate"],
                       "violation_rate": sim["violation_rate"], "feasible_rate": sim["feasible_rate"]}
                rows.append(row)
                if kind == "deterministic":
                    det_plans[s] = (row, part["runtime"])
        for s in table:
            if s in det_plans:
                rows.append({**det_plans[s][0], "plan": "table"})
                continue
            t0 = time.perf_counter()
            if s == "nn2opt":
                plan, status = nn_2opt(p), None
            else:
                try:
                    res = vrpkit.solve(p, s, time_limit=args.time_limit, seed=args.seed)
                except SolverError as err:  # a missing extra, or a solver that does not take the problem
                    rows.append({"instance": p.name, "solver": s, "plan": "table", "status": str(err)})
                    continue
                plan, status = res.solution, res.status
            runtime = time.perf_counter() - t0
            if plan is None:
                rows.append({"instance": p.name, "solver": s, "plan": "table", "status": status})
                continue
            ev = vrpkit.evaluate(p, plan)
            rows.append({"instance": p.name, "solver": s, "plan": "table", "cost": ev.cost,
                         "feasible": ev.feasible, "runtime": runtime,
                         **_figures(stochastic.simulate(p, ev, draws))})
        print(f"{p.name} done", flush=True)
    keys = ("expected_cost", "p90_cost", "on_time_rate", "violation_rate", "feasible_rate")
    print(f"\n{args.count} instances x {args.n} clients, {args.scenarios} scenarios each, "
          f"T = {args.time_limit:g} s, quantile {args.quantile:g}")
    print(f"{'solver':8} {'plan':13} {'cost':>8} {'E[cost]':>8} {'p90':>8} {'on-time':>8} {'viol':>7} {'feas':>6}"
          f" {'n':>3}")
    for s in robust_solvers:
        for kind in ("deterministic", "robust"):
            sel = [r for r in rows if r["solver"] == s and r["plan"] == kind and "expected_cost" in r]
            m = {k: np.mean([r[k] for r in sel]) for k in ("cost", *keys)} if sel else {}
            if sel:
                print(f"{s:8} {kind:13} {m['cost']:8.1f} {m['expected_cost']:8.1f} {m['p90_cost']:8.1f} "
                      f"{100 * m['on_time_rate']:7.2f}% {100 * m['violation_rate']:6.2f}% "
                      f"{100 * m['feasible_rate']:5.1f}% {len(sel):3d}")
        d = [r for r in rows if r["solver"] == s and r["plan"] == "deterministic" and "expected_cost" in r]
        b = [r for r in rows if r["solver"] == s and r["plan"] == "robust" and "expected_cost" in r]
        if d and b and len(d) == len(b):
            on = 100 * (np.mean([r["on_time_rate"] for r in b]) - np.mean([r["on_time_rate"] for r in d]))
            ec = 100 * (np.mean([r["expected_cost"] for r in b]) / np.mean([r["expected_cost"] for r in d]) - 1)
            print(f"  {s}: robust on-time rate {on:+.2f} points, expected cost {ec:+.2f} %")
    print("\nSVRPBench-style table (deterministic plans; total cost = expected cost over the scenarios)")
    print(f"{'method':8} {'E[cost]':>8} {'std':>7} {'CVR':>7} {'feas':>6} {'on-time':>8} {'runtime':>8} {'n':>3}")
    for s in table:
        sel = [r for r in rows if r["solver"] == s and r["plan"] == "table" and "expected_cost" in r]
        if not sel:
            print(f"{s:8} no plans")
            continue
        m = {k: np.mean([r[k] for r in sel]) for k in (*keys, "cost_std", "runtime")}
        print(f"{s:8} {m['expected_cost']:8.1f} {m['cost_std']:7.1f} {100 * m['violation_rate']:6.2f}% "
              f"{100 * m['feasible_rate']:5.1f}% {100 * m['on_time_rate']:7.2f}% {m['runtime']:7.2f}s "
              f"{len(sel):3d}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
