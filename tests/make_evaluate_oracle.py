"""Make the evaluator's parity oracle, ``tests/data/evaluate_oracle.json.gz``, with the evaluator of 813d688.

    python tests/make_evaluate_oracle.py            # writes tests/data/evaluate_oracle.json.gz

The oracle pins the results of the evaluator as it was before it was compiled (commit 813d688, the pure
Python evaluator): random problems of every attribute (5-30 clients; capacity vectors, pickups, strict and
mixed backhaul, one or several time windows with finite and infinite ends, service times, open routes,
several depots, a mixed fleet with counts, shifts, ``max_duration``, ``max_distance``, costs per duration,
prizes and optional clients, depot windows, travel-time profiles, explicit asymmetric matrices) and random
plans (feasible and not: duplicates, missing clients, unknown ids and vehicle types, empty routes, Route lists,
Solutions and solution dicts in short and full form). For each problem it stores the problem's JSON form,
and for each plan the plan, ``Evaluation.to_dict(problem)``, the exact totals and a SHA-1 of
``repr(evaluation)`` (every float of every schedule, bit for bit).

The evaluator is loaded from git (``git show 813d688:vrpkit/evaluate.py``), never from the working tree, so
the oracle is never remade by the code it checks. ``tests/test_evaluate_parity.py`` reads it (and uses
:func:`random_problem` and :func:`random_plan` for its property test).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType
from vrpkit.errors import ValidationError
from vrpkit.model import TravelTimeNoise, Uncertainty

REFERENCE = "813d688"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "evaluate_oracle.json.gz"
INF = math.inf


def reference_evaluator(commit: str = REFERENCE) -> ModuleType:
    """``vrpkit/evaluate.py`` as it was at ``commit``, loaded from git into a temporary module."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:vrpkit/evaluate.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / f"evaluate_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"vrpkit_evaluate_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _windows(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    k = int(rng.choice([1, 1, 2, 3]))
    t = float(rng.integers(0, 60))
    out = []
    for i in range(k):
        a = t
        b = a + float(rng.integers(5, 80)) + 0.5 * float(rng.integers(0, 2))
        if i == k - 1 and rng.random() < 0.25:
            b = INF
        out.append((a, b))
        t = b + float(rng.integers(5, 60))
    if k == 1 and rng.random() < 0.3:
        return ((0.0, INF),)
    return tuple(out)


def random_problem(seed: int) -> Problem:
    """A random problem of 5-30 clients drawn from ``seed``, with a random subset of every attribute;
    rebuilt through its JSON form (so that ``Problem.from_dict(p.to_dict())`` is the same problem)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        try:
            p = _draw(rng)
        except ValidationError:
            continue
        return Problem.from_dict(json.loads(json.dumps(p.to_dict())))
    raise RuntimeError(f"no valid problem from seed {seed}")


def _draw(rng: np.random.Generator) -> Problem:
    n = int(rng.integers(5, 31))
    nd = int(rng.choice([1, 1, 2, 3]))
    dims = int(rng.choice([1, 1, 2, 3]))
    pickups = rng.random() < 0.4
    tw = rng.random() < 0.6
    service = rng.random() < 0.6
    prizes = rng.random() < 0.3
    explicit = n <= 12 and rng.random() < 0.4
    strict = rng.random() < 0.5
    depots = []
    for d in range(nd):
        window = (0.0, INF)
        if rng.random() < 0.3:
            window = (float(rng.integers(0, 20)), float(rng.integers(150, 600)))
        depots.append(Depot(f"D{d}", (float(rng.integers(0, 100)), float(rng.integers(0, 100))), window))
    clients = []
    for i in range(n):
        delivery = tuple(int(x) for x in rng.integers(0, 10, size=dims)) if rng.random() < 0.9 else (0,) * dims
        pickup = tuple(int(x) for x in rng.integers(0, 8, size=dims)) if pickups and rng.random() < 0.5 \
            else (0,) * dims
        if strict and any(pickup):  # strict backhaul: a delivery or a pickup, not both
            delivery = (0,) * dims
        optional = prizes and rng.random() < 0.4
        clients.append(Client(
            f"c{i}", (float(rng.integers(0, 100)), float(rng.integers(0, 100))), delivery=delivery, pickup=pickup,
            service_time=float(rng.integers(0, 12)) + 0.25 * float(rng.integers(0, 4)) if service else 0.0,
            time_windows=_windows(rng) if tw else ((0.0, INF),),
            prize=float(rng.integers(1, 100)) if optional else 0.0, required=not optional))
    types = []
    for v in range(int(rng.choice([1, 1, 2, 3]))):
        start = f"D{int(rng.integers(0, nd))}"
        end: str | None = start
        if rng.random() < 0.25:
            end = None
        elif nd > 1 and rng.random() < 0.3:
            end = f"D{int(rng.integers(0, nd))}"
        shift = (0.0, INF)
        if rng.random() < 0.3:
            shift = (float(rng.integers(0, 30)), float(rng.integers(200, 800)))
        capacity: tuple[int, ...] = ()
        if rng.random() < 0.9:
            capacity = tuple(int(x) for x in rng.integers(10, 60, size=dims))
        types.append(VehicleType(
            f"v{v}", count=int(rng.integers(1, 6)) if rng.random() < 0.4 else None, capacity=capacity,
            start_depot=start, end_depot=end, shift=shift,
            max_duration=float(rng.integers(100, 500)) if rng.random() < 0.3 else INF,
            max_distance=float(rng.integers(100, 500)) if rng.random() < 0.3 else INF,
            fixed_cost=float(rng.integers(0, 50)) if rng.random() < 0.5 else 0.0,
            cost_per_distance=float(rng.choice([1.0, 0.5, 2.0, 1.25])),
            cost_per_duration=float(rng.choice([0.0, 0.0, 0.5, 1.0, 0.1]))))
    uncertainty = None
    if rng.random() < 0.2:
        kind = int(rng.integers(0, 3))
        profile: Any = ["rush_hour", "svrpbench"][kind] if kind < 2 else tuple(
            (float(t), float(rng.choice([0.5, 1.0, 1.5, 2.0]))) for t in sorted(rng.choice(300, 4, replace=False)))
        uncertainty = Uncertainty(TravelTimeNoise(profile=profile))
    kwargs: dict[str, Any] = {}
    if explicit:
        m = nd + n
        dist = rng.integers(1, 60, size=(m, m)).astype(float)
        np.fill_diagonal(dist, 0.0)
        dur = dist * rng.choice([0.5, 1.0, 1.5], size=(m, m))
        kwargs = {"distance": dist, "duration": dur}
    elif rng.random() < 0.5:
        kwargs = {"matrix": {"provider": "euclidean", "speed": float(rng.choice([0.8, 1.25, 2.0]))}}
    return Problem(f"oracle{n}", tuple(depots), tuple(clients), tuple(types),
                   backhaul="strict" if strict else "mixed", uncertainty=uncertainty, **kwargs)


def greedy_routes(problem: Problem, rng: np.random.Generator, evaluate: Any) -> tuple[list[list[int]], list[int]]:
    """Routes that are mostly feasible: clients by their first window's start (ties at random; optional ones
    skipped at random), each appended to the current route while ``evaluate`` finds that route without
    violations, else starting a new route of a random vehicle type."""
    n, nt = problem.n_clients, len(problem.vehicle_types)
    starts = np.array([c.time_windows[0][0] for c in problem.clients])
    order = np.lexsort((rng.random(n), starts))
    routes: list[list[int]] = []
    types: list[int] = []
    for c in order:
        c = int(c)
        if not problem.clients[c].required and rng.random() < 0.3:
            continue
        if routes and not _route_violations(evaluate(problem, [Route(types[-1], (*routes[-1], c))])):
            routes[-1].append(c)
        else:
            routes.append([c])
            types.append(int(rng.integers(0, nt)))
    return routes, types


def _route_violations(evaluation: Any) -> list[Any]:
    return [v for v in evaluation.violations if v.constraint not in ("missing_client", "fleet_size")]


def random_plan(problem: Problem, rng: np.random.Generator, kind: str, evaluate: Any = None) -> Any:
    """A random plan: routes of random vehicle types over a random subset of the clients (or, given an
    ``evaluate`` function, :func:`greedy_routes`), sometimes spoilt (a duplicate, an unknown id or vehicle
    type, an empty route). ``kind``: ``routes`` (a list of Route), ``solution``, ``short`` or ``full``
    (solution dicts)."""
    n, nt = problem.n_clients, len(problem.vehicle_types)
    if evaluate is not None:
        routes, types = greedy_routes(problem, rng, evaluate)
    else:
        keep = rng.random(n) < (1.0 if rng.random() < 0.5 else 0.85)
        order = rng.permutation(np.flatnonzero(keep))
        k = int(rng.integers(1, max(2, len(order) // 3) + 1))
        cuts = np.sort(rng.choice(np.arange(1, max(len(order), 2)), size=min(k - 1, max(len(order) - 1, 0)),
                                  replace=False)) if len(order) > 1 else []
        routes = [[int(c) for c in part] for part in np.split(order, cuts)]
        types = [int(rng.integers(0, nt)) for _ in routes]
    if evaluate is not None and rng.random() < 0.6:
        return _form(problem, rng, kind, routes, types, False, False)
    if rng.random() < 0.2 and routes and routes[0]:
        routes[-1].append(routes[0][0])  # a duplicate
    if rng.random() < 0.15:
        routes.insert(int(rng.integers(0, len(routes) + 1)), [])
        types.insert(0, 0)
    return _form(problem, rng, kind, routes, types, rng.random() < 0.15, rng.random() < 0.1)


def _form(problem: Problem, rng: np.random.Generator, kind: str, routes: list[list[int]], types: list[int],
          bad_id: bool, bad_type: bool) -> Any:
    n, nt = problem.n_clients, len(problem.vehicle_types)
    if kind in ("routes", "solution"):
        if bad_id and routes:
            routes[int(rng.integers(0, len(routes)))].insert(0, int(rng.choice([-1, n, n + 7])))
        if bad_type and types:
            types[int(rng.integers(0, len(types)))] = int(rng.choice([-1, nt]))
        out = [Route(v, tuple(r)) for v, r in zip(types, routes, strict=True)]
        return Solution(tuple(out)) if kind == "solution" else out
    ids = problem.node_ids
    nd = problem.n_depots
    out_routes = []
    for v, r in zip(types, routes, strict=True):
        vt = problem.vehicle_types[v]
        stops: list[Any] = [ids[nd + c] for c in r]
        if rng.random() < 0.3:
            stops = [vt.start_depot, *stops]
            if vt.end_depot is not None:
                stops.append(vt.end_depot)
        if bad_id and rng.random() < 0.5:
            stops.insert(len(stops) // 2, "nowhere")
        if kind == "full":
            stops = [{"id": s, "arrival": 0} for s in stops]
        item: dict[str, Any] = {"stops": stops}
        if nt > 1 or rng.random() < 0.5:
            item["vehicle_type"] = vt.id
        out_routes.append(item)
    if bad_type and out_routes:
        out_routes[0]["vehicle_type"] = "no-such-type"
    return {"routes": out_routes}


def plan_to_json(plan: Any) -> Any:
    """A plan as stored in the oracle: dicts as they are; Route lists and Solutions tagged."""
    if isinstance(plan, dict):
        return {"dict": plan}
    if isinstance(plan, Solution):
        return {"solution": [[r.vehicle_type, list(r.clients)] for r in plan.routes]}
    return {"routes": [[r.vehicle_type, list(r.clients)] for r in plan]}


def plan_from_json(item: Any) -> Any:
    """The inverse of :func:`plan_to_json`."""
    if "dict" in item:
        return item["dict"]
    routes = [Route(v, tuple(c)) for v, c in next(iter(item.values()))]
    return Solution(tuple(routes)) if "solution" in item else routes


def digest(evaluation: Any) -> str:
    """SHA-1 of ``repr(evaluation)``: every field, every float bit for bit (and their types)."""
    return hashlib.sha1(repr(evaluation).encode()).hexdigest()


def totals(evaluation: Any) -> list[float]:
    """The exact totals (floats round-trip through JSON)."""
    return [evaluation.cost, evaluation.distance, evaluation.duration, evaluation.fixed_cost,
            evaluation.variable_cost, evaluation.prize_lost]


KINDS = ("routes", "routes", "solution", "short", "full", "routes", "short")
"""The forms of each problem's plans; the last two are greedy (mostly feasible)."""


def make(problems: int = 80) -> dict[str, Any]:
    old = reference_evaluator()
    cases = []
    for seed in range(problems):
        problem = random_problem(seed)
        rng = np.random.default_rng(10_000 + seed)
        entries = []
        for k, kind in enumerate(KINDS):
            plan = random_plan(problem, rng, kind, old.evaluate if k >= 5 else None)
            ev = old.evaluate(problem, plan)
            entries.append({"plan": plan_to_json(plan), "result": ev.to_dict(problem), "totals": totals(ev),
                            "digest": digest(ev)})
        cases.append({"seed": seed, "problem": problem.to_dict(), "plans": entries})
    return {"reference": REFERENCE, "cases": cases}


def _json_default(x: Any) -> Any:
    raise TypeError(f"not JSON: {x!r}")


def main() -> None:
    data = make()
    text = json.dumps(data, separators=(",", ":"), default=_json_default)
    OUT.write_bytes(gzip.compress(text.encode(), mtime=0))
    n = sum(len(c["plans"]) for c in data["cases"])
    feasible = sum(e["result"]["status"] == "feasible" for c in data["cases"] for e in c["plans"])
    print(f"{OUT}: {len(data['cases'])} problems, {n} plans ({feasible} feasible), "
          f"{OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
