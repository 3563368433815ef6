"""Numeric limits: every numeric field at 0, 1e15, 1e308 and 10**30 is refused by validation naming the field,
or solved by every solver with a plan the evaluator accepts (see the table in :mod:`vrpkit.model`).

The problem is :func:`conftest.corner` with capacity 2: depot D at (0, 0), a at (3, 0), b at (0, 4), unit
deliveries; the optimum is one route D-a-b-D of cost 3 + 5 + 4 = 12.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import corner

import vrpkit
from vrpkit import Client, Depot, Problem, SolverError, ValidationError, VehicleType, VrpkitError, evaluate
from vrpkit.model import MAX_VALUE

ROOT = Path(__file__).resolve().parents[1]
VALUES = (0, 1e15, 1e308, 10**30)
INF = math.inf
SOLVERS = {  # short, reproducible runs: the tiny problem is solved at once
    "ortools": {"solution_limit": 20},
    "pyvrp": {"max_iterations": 50},
    "aco": {"iterations": 2, "ants": 4},
}
NONE = "no plan"
"""Expected outcome: no feasible plan exists (status no_solution or infeasible)."""


def _a(b: int = 1, **kw: Any) -> tuple[Client, ...]:
    """The corner's clients with client a changed, and b's delivery."""
    return (Client("a", (3, 0), **{"delivery": 1, **kw}), Client("b", (0, 4), delivery=b))


def _explicit(name: str, x: float) -> Problem:
    """The corner as explicit matrices, with entry D->a of the distance (durations equal distances) or the
    duration matrix set to ``x``."""
    distance = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], dtype=float)
    matrices = {"distance": distance, "duration": distance.copy()}
    matrices[name][0, 1] = x
    return Problem("explicit", (Depot("D"),), (Client("a", delivery=1), Client("b", delivery=1)),
                   (VehicleType("v", capacity=2),), **matrices)


def _big(x: float) -> bool:
    return x >= 1e15


# field -> (the field path named by validation, the problem with the field at x, the expected cost at x:
# a number, NONE, or None when not known by hand).
CASES: dict[str, tuple[str, Callable[[Any], Problem], Callable[[Any], Any]]] = {
    "count": ("vehicle_types[0].count", lambda x: corner(capacity=2, count=x), lambda x: 12.0),
    "client_window_end": ("clients[0].time_window",
                          lambda x: corner(capacity=2, clients=_a(time_windows=((0, x),))),
                          lambda x: 12.0 if x else NONE),  # [0, 0]: a is 3 away
    "client_window_start": ("clients[0].time_window",
                            lambda x: corner(capacity=2, clients=_a(time_windows=((x, INF),))), lambda x: 12.0),
    "depot_window_end": ("depots[0].time_window", lambda x: corner(capacity=2, depot=Depot("D", (0, 0), (0, x))),
                         lambda x: 12.0 if x else NONE),
    "depot_window_start": ("depots[0].time_window",
                           lambda x: corner(capacity=2, depot=Depot("D", (0, 0), (x, INF))), lambda x: 12.0),
    "shift_end": ("vehicle_types[0].shift", lambda x: corner(capacity=2, shift=(0, x)),
                  lambda x: 12.0 if x else NONE),
    "shift_start": ("vehicle_types[0].shift", lambda x: corner(capacity=2, shift=(x, INF)), lambda x: 12.0),
    "capacity": ("vehicle_types[0].capacity", lambda x: corner(capacity=x), lambda x: 12.0 if x else NONE),
    "delivery": ("clients[0].delivery", lambda x: corner(capacity=2, clients=_a(b=0, delivery=x)),
                 lambda x: NONE if _big(x) else 12.0),
    "pickup": ("clients[0].pickup", lambda x: corner(capacity=2, clients=_a(delivery=0, pickup=x)),
               lambda x: NONE if _big(x) else 12.0),  # mixed backhaul: a pickup of 0 or 1 fits
    "service_time": ("clients[0].service_time", lambda x: corner(capacity=2, clients=_a(service_time=x)),
                     lambda x: 12.0),
    "max_duration": ("vehicle_types[0].max_duration", lambda x: corner(capacity=2, max_duration=x),
                     lambda x: 12.0 if x else NONE),
    "max_distance": ("vehicle_types[0].max_distance", lambda x: corner(capacity=2, max_distance=x),
                     lambda x: 12.0 if x else NONE),
    "fixed_cost": ("vehicle_types[0].fixed_cost", lambda x: corner(capacity=2, fixed_cost=x),
                   lambda x: 12.0 + x),
    "cost_per_distance": ("vehicle_types[0].cost_per_distance", lambda x: corner(capacity=2, cost_per_distance=x),
                          lambda x: 12.0 * x),
    "cost_per_duration": ("vehicle_types[0].cost_per_duration", lambda x: corner(capacity=2, cost_per_duration=x),
                          lambda x: 12.0 + 12.0 * x),
    "prize": ("clients[0].prize", lambda x: corner(capacity=2, clients=_a(required=False, prize=x)),
              lambda x: 8.0 if x < 4 else 12.0),  # serving a costs 12 - 8 = 4 more than D-b-D
    "distance_entry": ("matrix.distance[0][1]", lambda x: _explicit("distance", x),
                       lambda x: 9.0 if x == 0 else 12.0),  # D->a free: D-a-b-D = 0 + 5 + 4; else D-b-a-D
    "duration_entry": ("matrix.duration[0][1]", lambda x: _explicit("duration", x), lambda x: 12.0),
}


def _build(field: str, x: Any) -> Problem | None:
    """The problem, or None when validation refuses it naming the field."""
    path, make, _ = CASES[field]
    try:
        return make(x)
    except ValidationError as err:
        assert err.field == path, f"{field}={x!r}: {err}"
        return None


@pytest.mark.parametrize("x", VALUES, ids=["0", "1e15", "1e308", "1e30int"])
@pytest.mark.parametrize("field", list(CASES))
def test_field_is_refused_or_solved(field: str, x: Any) -> None:
    problem = _build(field, x)
    if problem is None:
        return
    expected = CASES[field][2](x)
    for name, options in SOLVERS.items():
        try:
            result = vrpkit.solve(problem, name, time_limit=1.0, seed=0, **options)
        except SolverError as err:  # an integer backend whose totals do not fit: refused in one line
            assert name != "aco" and "\n" not in str(err), f"{field}={x!r} {name}: {err}"
            continue
        except VrpkitError as err:
            pytest.fail(f"{field}={x!r} {name}: {type(err).__name__}: {err}")
        assert result.status in ("feasible", "infeasible", "no_solution"), (field, x, name)
        if result.solution is not None:
            check = evaluate(problem, result.solution)
            assert math.isfinite(check.cost) or not check.feasible, (field, x, name)
        if expected == NONE:
            assert result.status in ("infeasible", "no_solution"), (field, x, name, result.status)
        elif expected is not None:
            assert result.status == "feasible", (field, x, name, result.status, result.stats.get("reasons"))
            assert result.cost == pytest.approx(expected, rel=1e-12), (field, x, name)


@pytest.mark.parametrize("field", list(CASES))
def test_refusals_and_acceptances(field: str) -> None:
    """Which values each field accepts: bounds take anything (huge means no bound), every other number
    at most MAX_VALUE; 1e308 is never taken where 10**30 is refused."""
    accepted = {x: _build(field, x) is not None for x in VALUES}
    bounds = {"client_window_end", "depot_window_end", "shift_end", "max_duration", "max_distance", "count"}
    if field in bounds:
        assert accepted == {0: field != "count", 1e15: field != "count", 1e308: field != "count", 10**30: True}
    else:
        assert accepted == {0: True, 1e15: True, 1e308: False, 10**30: False}
    assert _build(field, 1e15 * (1 + 1e-9)) is None or field in bounds


def test_huge_count_is_unlimited() -> None:
    """A count above the number of clients is stored as unlimited; the plan and its cost are those of
    count None, for each solver (capacity 1: two routes, 6 + 8 = 14)."""
    huge, unlimited, three = (corner(capacity=1, count=c) for c in (10**30, None, 3))
    assert huge.vehicle_types[0].count is None and three.vehicle_types[0].count is None
    assert corner(capacity=1, count=2).vehicle_types[0].count == 2
    for name, options in SOLVERS.items():
        costs = [vrpkit.solve(p, name, time_limit=1.0, **options).cost for p in (huge, unlimited)]
        assert costs == [14.0, 14.0], name
    one = vrpkit.solve(corner(capacity=1, count=1), "ortools", time_limit=1.0, solution_limit=20)
    assert one.status == "no_solution"  # one vehicle of capacity 1 for two clients


def test_totals_are_bounded() -> None:
    """Amounts are refused when their total over the clients passes MAX_VALUE, naming the client where it
    does; a huge int beyond the float range is refused, not an OverflowError."""
    half = int(MAX_VALUE // 2) + 1
    clients = (Client("a", (3, 0), delivery=half), Client("b", (0, 4), delivery=half))
    with pytest.raises(ValidationError) as err:
        corner(capacity=2, clients=clients)
    assert err.value.field == "clients[1].delivery"
    for value in (10**400, -(10**400)):
        with pytest.raises(ValidationError, match=r"clients\[0\]\.service_time"):
            corner(clients=_a(service_time=value))
        with pytest.raises(ValidationError, match=r"clients\[0\]\.delivery"):
            corner(clients=_a(delivery=value))
    assert corner(clients=_a(time_windows=((0, 10**400),))).clients[0].time_window == (0, INF)


def test_bounds_beyond_reach_are_clamped() -> None:
    """Windows, shifts and limits beyond the horizon (latest opening 0, services 0, longest trips 4 + 5 + 5
    = 14) are no bound to either integer backend: the scales and the models equal those without them."""
    from vrpkit.solvers import ortools, pyvrp

    plain = corner(capacity=2, shift=(0, 100), max_duration=100)
    huge = corner(capacity=2, shift=(0, 1e308), max_duration=1e308, max_distance=1e308,
                  clients=_a(time_windows=((0, 1e300),)), depot=Depot("D", (0, 0), (0, 1e308)))
    assert huge.horizon == plain.horizon == 14.0 and huge.longest_route == 14.0
    assert ortools.scales(huge, 2) == ortools.scales(plain, 2)
    assert pyvrp.scales(huge) == pyvrp.scales(plain)
    assert ortools._floor(1e308, 1000, 15_000) == 15_000 and ortools._floor(12.5, 1000, 15_000) == 12_500
    assert pyvrp._down(1e308, 10, huge.horizon) is None and pyvrp._down(13.0, 10, huge.horizon) == 130
    bare = corner(capacity=2)
    data, free = (pyvrp._Model(p, pyvrp.scales(p)).data for p in (huge, bare))
    assert data.vehicle_type(0).shift_duration == free.vehicle_type(0).shift_duration
    assert data.vehicle_type(0).tw_late == free.vehicle_type(0).tw_late
    for entity in ("clients", "depots"):
        assert getattr(data, entity)()[0].tw_late == getattr(free, entity)()[0].tw_late
    wide = corner(capacity=10**15)
    assert pyvrp._Model(wide, pyvrp.scales(wide)).data.vehicle_type(0).capacity == [3]  # the total load 2, + 1


def test_integer_backends_refuse_totals_beyond_their_range() -> None:
    """Each value is within MAX_VALUE, but the totals are not: OR-Tools and PyVRP refuse in one line, the
    colony solves."""
    problem = corner(capacity=2, fixed_cost=1e15)
    for name in ("ortools", "pyvrp"):
        with pytest.raises(SolverError, match=f'solver "{name}" does not support this problem: its costs can'):
            vrpkit.solve(problem, name, time_limit=0.5, **SOLVERS[name])
    assert vrpkit.solve(problem, "aco", time_limit=0.5, **SOLVERS["aco"]).cost == 1e15 + 12


def _edited(tmp_path: Path, instance: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = json.loads((ROOT / "instances" / instance).read_text())
    edit(data)
    path = tmp_path / instance
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("case", ["count", "window"])
def test_cli_known_crashes(tmp_path: Path, case: str) -> None:
    """The two crashes users reported: a vehicle count of 10**30 and a lon/lat window end of 1e308."""
    if case == "count":
        path = _edited(tmp_path, "cvrp_wholesaler.json",
                       lambda d: d["vehicle_types"][0].update(count=1000000000000000000000000000000))
    else:
        path = _edited(tmp_path, "vrptw_lyon.json", lambda d: d["clients"][0].update(time_window=[25200, 1e308]))
    run = subprocess.run([sys.executable, "-m", "vrpkit", "solve", str(path), "--time-limit", "0.5"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode in (0, 2, 3), run.stderr
    assert "Traceback" not in run.stderr
    progress = ("solving ", "ortools [")
    lines = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith(progress)]
    assert len(lines) <= 1, run.stderr
    assert run.returncode == 0 and "status: feasible" in run.stdout


def test_pyvrp_refuses_strict_backhaul_whose_forbidden_arcs_overflow():
    # Longest route 3 x sqrt(2)e14 = 4.2e14 fits in 1e15, but PyVRP's search may chain a pickup-to-delivery arc
    # (longer than any route) after every client: 3 x 4.2e14 does not fit. Its search then never ended.
    clients = (Client("a", (1e14, 0), delivery=1), Client("b", (0, 1e14), pickup=1))
    mixed = Problem("far", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=1),))
    assert vrpkit.solve(mixed, "pyvrp", time_limit=0.2, max_iterations=20).feasible
    strict = mixed.replace(backhaul="strict")
    with pytest.raises(SolverError, match=r"can reach .* beyond the 1e\+15"):
        vrpkit.solve(strict, "pyvrp", time_limit=0.2)
    assert vrpkit.solve(strict, "aco", time_limit=0.2).feasible
