"""Warm starts (``initial``) and locked prefixes (``locked``) for every solver, the problem that remains once
the locks are driven (:mod:`vrpkit.solvers.locks`), and ``vrpkit solve --initial/--lock-prefix/--lock-until``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from vrpkit.solvers import lock_prefix, lock_until
from vrpkit.solvers.base import _REGISTRY, register_solver
from vrpkit.solvers.locks import reduce

import vrpkit
from vrpkit import Client, Depot, Problem, Route, Solution, ValidationError, VehicleType, evaluate

SOLVERS = ["ortools", "aco", "aco:device=torch", "localsearch", "pyvrp", "neural"]
"""Every backend: the numba and the torch colony, the compiled local search as a solver, the neural solver."""


def solver_param(name: str):
    marks = [pytest.mark.skipif(__import__("importlib").util.find_spec("torch") is None, reason="no torch")] \
        if "torch" in name or name == "neural" else []
    if name == "pyvrp":
        marks = [pytest.mark.skipif(__import__("importlib").util.find_spec("pyvrp") is None, reason="no pyvrp")]
    return pytest.param(name, marks=marks, id=name)


ALL = [solver_param(s) for s in SOLVERS]


def limit(solver: str) -> float:
    """Seconds per test run: the neural solver decodes before it polishes, so it gets more."""
    return 2.0 if solver == "neural" else 0.5


def line(n: int = 3, capacity: int = 3, **vehicle) -> Problem:
    """Depot D at 0 on a line, clients c1..cn at 1..n, delivery 1 each; durations = distances."""
    clients = tuple(Client(f"c{i}", (i, 0), delivery=1) for i in range(1, n + 1))
    return Problem("line", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=capacity, **vehicle),))


def windows() -> Problem:
    """D at 0; a at 2 (window [10, 12], service 1); b at 5; c at 6; cost 1 per distance and 1 per time unit.

    Route D-a-b-c-D: distance 2 + 3 + 1 + 6 = 12; leave 0, reach a at 2, wait to 10, leave 11, b at 14, c at
    15, back at 21; the evaluator delays the start by the wait (8): duration 13, cost 25.
    """
    clients = (Client("a", (2, 0), time_windows=((10, 12),), service_time=1), Client("b", (5, 0)),
               Client("c", (6, 0)))
    return Problem("windows", (Depot("D", (0, 0)),), clients, (VehicleType("v", cost_per_duration=1.0),))


# -- warm starts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ALL)
def test_warm_start_is_never_worse_than_initial(solver):
    """From the optimum (one route D-c1-c2-c3-D, 6) each backend returns a plan as good, by itself (the
    guard in solve() does not have to step in)."""
    p = line()
    best = Solution((Route(0, (0, 1, 2)),))
    result = vrpkit.solve(p, solver, time_limit=limit(solver), initial=best)
    assert result.feasible and result.cost == 6
    assert result.stats["initial_cost"] == 6
    assert "initial_kept" not in result.stats


@pytest.mark.parametrize("solver", ["ortools", solver_param("pyvrp")])
def test_native_warm_start_is_used(solver):
    p = line(4, capacity=2)
    plan = [Route(0, (0, 1)), Route(0, (2, 3))]
    result = vrpkit.solve(p, solver, time_limit=0.5, initial=plan)
    assert result.stats["warm_start"] is True
    assert result.cost <= evaluate(p, plan).cost == 2 * 2 + 2 * 4


class Worse:
    """A backend that returns a fixed plan: each client on a route of its own."""

    name = "worse"

    def supports(self, problem: Problem) -> str | None:
        return None

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress, initial=None) -> Solution:
        return Solution(tuple(Route(0, (c,)) for c in range(problem.n_clients)))


@pytest.fixture
def worse() -> Iterator[str]:
    register_solver("worse", __name__, "Worse")
    yield "worse"
    _REGISTRY.pop("worse", None)


def test_guard_keeps_initial_when_the_solver_returns_worse(worse):
    p = line()
    alone = vrpkit.solve(p, worse, time_limit=0.5)
    assert alone.cost == 2 + 4 + 6
    result = vrpkit.solve(p, worse, time_limit=0.5, initial=[Route(0, (0, 1, 2))])
    assert result.cost == 6 and result.stats["initial_kept"] is True
    assert result.solution.routes == (Route(0, (0, 1, 2)),)


def test_guard_prefers_fewer_violations():
    """An infeasible initial (capacity 3 exceeded by one) loses to the solver's feasible plan, whatever the
    cost."""
    p = line(4)
    bad = [Route(0, (0, 1, 2, 3))]
    assert [v.constraint for v in evaluate(p, bad).violations] == ["capacity"]
    result = vrpkit.solve(p, "ortools", time_limit=0.5, initial=bad)
    assert result.feasible and "initial_kept" not in result.stats
    assert result.cost == 10  # D-c1-D + D-c2-c3-c4-D = 2 + 8


# -- locked prefixes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ALL)
def test_locked_prefix_stays_in_place(solver):
    """Locking c3, c1 on a route: the best plan goes on to c2 on the same route, D-c3-c1-c2-D = 3 + 2 + 1 + 2
    = 8 (splitting off c2 costs 10)."""
    p = line()
    result = vrpkit.solve(p, solver, time_limit=limit(solver), locked=[Route(0, (2, 0))])
    assert result.feasible and result.cost == 8
    assert result.solution.routes == (Route(0, (2, 0, 1)),)
    assert result.stats["locked"] == 1


@pytest.mark.parametrize("solver", ALL)
def test_warm_start_with_locks(solver):
    """Two vehicles of capacity 2 on four clients; the initial plan's first stops are locked (c4 | c1): the
    rest may move, the prefixes stay, and the plan is not worse than the initial one."""
    p = line(4, capacity=2)
    initial = [Route(0, (3, 1)), Route(0, (0, 2))]
    locked = lock_prefix(initial, 1)
    assert locked == (Route(0, (3,)), Route(0, (0,)))
    result = vrpkit.solve(p, solver, time_limit=limit(solver), initial=initial, locked=locked)
    routes = result.solution.routes
    assert sorted(r.clients[:1] for r in routes) == [(0,), (3,)]
    assert result.feasible and result.cost == 4 + 8 == evaluate(p, [Route(0, (0, 1)), Route(0, (3, 2))]).cost
    assert result.cost <= evaluate(p, initial).cost


def test_initial_that_breaks_the_locks_is_compared_as_the_locks_keep_it():
    """The initial plan c3 c2 c1 does not start with the lock c1 c3: as the locks keep it, c1 c3 is a route
    of its own (1 + 2 + 3 = 6) and c2 another (4): 10 is the reference; the best plan under the lock goes on
    to c2: 1 + 2 + 1 + 2 = 6."""
    p = line()
    result = vrpkit.solve(p, "ortools", time_limit=0.5, initial=[Route(0, (2, 1, 0))], locked=[Route(0, (0, 2))])
    assert result.stats["initial_cost"] == 10 and "initial_kept" not in result.stats
    assert result.solution.routes == (Route(0, (0, 2, 1)),) and result.cost == 6


@pytest.mark.skipif(__import__("importlib").util.find_spec("pyvrp") is None, reason="no pyvrp")
def test_pyvrp_locks_strict_backhaul_without_markers():
    """PyVRP refuses strict backhaul with a client that has neither a delivery nor a pickup (the markers):
    it gets the remaining problem without them, and the locks still hold."""
    clients = (Client("d1", (1, 0), delivery=1), Client("d2", (2, 0), delivery=1), Client("p1", (3, 0), pickup=1))
    p = Problem("vrpb", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=2),), backhaul="strict")
    result = vrpkit.solve(p, "pyvrp", time_limit=0.5, locked=[Route(0, (1,))])
    assert result.stats["lock_markers"] is False
    assert any(r.clients[:1] == (1,) for r in result.solution.routes) and result.feasible
    marked = vrpkit.solve(p, "ortools", time_limit=0.5, locked=[Route(0, (1,))])
    assert marked.stats["lock_markers"] is True and marked.feasible
    assert marked.solution.routes[0].clients[:1] == (1,)
    assert marked.cost == result.cost == 8  # D-d2-d1-p1-D, or D-d2-p1-D + D-d1-D: 6 + 2


def test_every_client_locked():
    p = line()
    result = vrpkit.solve(p, "ortools", time_limit=0.5, locked=[Route(0, (1, 0, 2))])
    assert result.solution.routes == (Route(0, (1, 0, 2)),) and result.cost == 2 + 1 + 2 + 3


# -- lock_until and lock_prefix --------------------------------------------------------------------------------


def test_lock_until_follows_the_evaluators_schedule():
    """c2 opens at 5: reached at 2, the evaluator delays the start by the wait (3), so service starts at
    c1 4, c2 5, c3 6 (not 1, 5, 6)."""
    clients = (Client("c1", (1, 0)), Client("c2", (2, 0), time_windows=((5, 9),)), Client("c3", (3, 0)))
    p = Problem("tw", (Depot("D", (0, 0)),), clients, (VehicleType("v"),))
    plan = Solution((Route(0, (0, 1, 2)),))
    assert evaluate(p, plan).routes[0].start == (4, 5, 6)
    assert lock_until(p, plan, 3.5) == ()
    assert lock_until(p, plan, 4.5) == (Route(0, (0,)),)
    assert lock_until(p, plan, 5) == (Route(0, (0,)),)  # strictly before
    assert lock_until(p, plan, 100) == (Route(0, (0, 1, 2)),)


def test_lock_prefix_cuts_every_route():
    plan = [Route(0, (0, 1, 2)), Route(1, (3,))]
    assert lock_prefix(plan, 2) == (Route(0, (0, 1)), Route(1, (3,)))
    assert lock_prefix(plan, 0) == ()
    with pytest.raises(ValidationError, match="lock_prefix"):
        lock_prefix(plan, -1)


# -- the problem that remains --------------------------------------------------------------------------------


def test_reduction_on_a_line():
    """Lock c1: a new depot at c1 (distance 1 driven), the locked type has capacity 3 - 1 = 2 left and a start
    marker at c1 that only it reaches in time."""
    p = line()
    red = reduce(p, [Route(0, (0,))])
    q = red.reduced
    assert [c.id for c in q.clients] == ["c2", "c3", "c1 (locked 0 start)"] and red.starts == (2,)
    assert [vt.capacity for vt in q.vehicle_types] == [(3,), (2,)]
    assert q.vehicle_types[1].start_depot == "c1 (locked 0)" and q.vehicle_types[1].end_depot == "D"
    assert q.clients[2].time_windows == ((1, 1 + p.horizon),)
    assert q.duration[0, q.n_depots + 2] == 2 + p.horizon and q.duration[1, q.n_depots + 2] == 0
    assert red.offset() == 1
    on_lock = [Route(1, (2, 0, 1))]  # c1-c2-c3-D: 1 + 1 + 3
    assert evaluate(q, on_lock).cost == 5
    assert red.full_cost(evaluate(q, on_lock)) == 6 == evaluate(p, red.expand(on_lock)).cost
    elsewhere = [Route(1, (2,)), Route(0, (0, 1))]  # c1-D = 1 (the marker alone: driving back), D-c2-c3-D = 6
    assert evaluate(q, elsewhere).cost == 7
    assert red.full_cost(evaluate(q, elsewhere)) == 8 == evaluate(p, red.expand(elsewhere)).cost
    assert red.expand(elsewhere).routes == (Route(0, (0,)), Route(0, (1, 2)))
    late = evaluate(q, [Route(0, (2, 0, 1))])  # the marker on another vehicle: reached after its window
    assert [v.constraint for v in late.violations] == ["time_window"]


def test_reduction_without_markers_counts_the_way_back():
    p = line()
    red = reduce(p, [Route(0, (0,))], markers=False)
    assert red.starts == (-1,) and red.reduced.n_clients == 2
    elsewhere = [Route(0, (0, 1))]  # D-c2-c3-D = 6; the unused locked route still drives D-c1-D = 2
    assert evaluate(red.reduced, elsewhere).cost == 6
    assert red.full_cost(evaluate(red.reduced, elsewhere)) == 8 == evaluate(p, red.expand(elsewhere)).cost


def test_reduction_times_when_the_prefix_absorbs_its_wait():
    """Lock a (window [10, 12]): leaves a at 11 at the earliest and at 13 at the latest (start delayed by 10:
    the wait 8 plus the window's 2), so the new depot opens [11, 13]; the whole route lasts the remaining
    route plus 3 (travel 2 and service 1)."""
    p = windows()
    red = reduce(p, [Route(0, (0,))])
    lock = red.locked[0]
    assert (lock.depart, lock.latest, lock.duration, lock.distance) == (11, 13, 3, 2)
    q = red.reduced
    assert q.depots[1].time_window == (11, 13) and q.vehicle_types[1].shift == (11, float("inf"))
    rest = [Route(1, (red.starts[0], 0, 1))]  # from a: b (3), c (1), D (6): distance 10, duration 10
    assert evaluate(q, rest).cost == 20
    assert red.full_cost(evaluate(q, rest)) == 25 == evaluate(p, red.expand(rest)).cost


def test_reduction_times_when_the_prefix_cannot_absorb_its_wait():
    """x at 1 must be served by 2: the start moves by at most 1, a's wait (7) stays; the departure from a is
    11 whatever comes next, and the whole route lasts the remaining one plus 11 - 1 = 10."""
    clients = (Client("x", (1, 0), time_windows=((0, 2),)),
               Client("a", (2, 0), time_windows=((10, 12),), service_time=1), Client("b", (5, 0)),
               Client("c", (6, 0)))
    p = Problem("two", (Depot("D", (0, 0)),), clients, (VehicleType("v", cost_per_duration=1.0),))
    red = reduce(p, [Route(0, (0, 1))])
    lock = red.locked[0]
    assert (lock.depart, lock.latest, lock.duration) == (11, 11, 10)
    rest = [Route(1, (red.starts[0], 0, 1))]
    full = evaluate(p, red.expand(rest))
    assert full.routes[0].start_time == 1 and full.routes[0].duration == 20 and full.cost == 12 + 20
    assert red.full_cost(evaluate(red.reduced, rest)) == 32


def test_reduction_limits_left():
    """max_duration 16 and max_distance 11 on the windows problem: after a, 16 - 3 = 13 time and 11 - 2 = 9
    distance are left; D-a-b-c-D (distance 12) breaks the distance limit by 1 in both problems."""
    p = windows().replace(vehicle_types=(VehicleType("v", cost_per_duration=1.0, max_duration=16,
                                                     max_distance=11),))
    red = reduce(p, [Route(0, (0,))])
    vt = red.reduced.vehicle_types[1]
    assert (vt.max_duration, vt.max_distance) == (13, 9)
    rest = [Route(1, (red.starts[0], 0, 1))]
    reduced, full = evaluate(red.reduced, rest), evaluate(p, red.expand(rest))
    assert [(v.constraint, v.amount) for v in reduced.violations] == [("max_distance", 1)]
    assert [(v.constraint, v.amount) for v in full.violations] == [("max_distance", 1)]


def test_reduction_loads_with_pickups():
    """Capacity 10; the locked p1 delivers 6 (on board from the depot). q1 delivers 5: with p1 the vehicle
    would leave with 11. q2 picks up 3: fits after p1. The remaining problem has a deliveries-only dimension
    with 10 - 6 = 4 left on the locked type."""
    clients = (Client("p1", (1, 0), delivery=6), Client("q1", (2, 0), delivery=5),
               Client("q2", (3, 0), pickup=3))
    p = Problem("mixed", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=10),))
    red = reduce(p, [Route(0, (0,))])
    q, m = red.reduced, red.starts[0]
    assert q.vehicle_types[0].capacity == (10, 10) and q.vehicle_types[1].capacity == (10, 4)
    for rest, constraints in (([Route(1, (m, 0)), Route(0, (1,))], ["capacity"]),
                              ([Route(0, (0,)), Route(1, (m, 1))], [])):
        reduced, full = evaluate(q, rest), evaluate(p, red.expand(rest))
        assert [v.constraint for v in reduced.violations] == [v.constraint for v in full.violations] == constraints
        assert red.full_cost(reduced) == full.cost
    assert [v.amount for v in evaluate(p, red.expand([Route(1, (m, 0)), Route(0, (1,))])).violations] == [1]


def test_reduction_counts_and_fixed_costs():
    """Two vans (fixed cost 10): locking one leaves one van of the original type and the locked one
    (no fixed cost: it is paid in the offset)."""
    p = line(capacity=3, count=2, fixed_cost=10)
    red = reduce(p, [Route(0, (2,))])
    assert [(vt.count, vt.fixed_cost) for vt in red.reduced.vehicle_types] == [(1, 10), (1, 0)]
    assert red.offset() == 10 + 3
    plan = [Route(1, (red.starts[0], 0, 1))]  # c3-c1-c2-D: 2 + 1 + 2
    assert red.full_cost(evaluate(red.reduced, plan)) == 18 == evaluate(p, red.expand(plan)).cost
    red2 = reduce(p, [Route(0, (2,)), Route(0, (0,))])
    assert [vt.id for vt in red2.reduced.vehicle_types] == ["v (locked 0)", "v (locked 1)"]


def test_reduce_plan_keeps_the_rest_of_locked_routes():
    """Lock c4: the initial route c4 c3 goes on from the marker with c3 (reduced client 2)."""
    p = line(4, capacity=2)
    red = reduce(p, [Route(0, (3,))])
    warm = red.reduce_plan([Route(0, (0, 1)), Route(0, (3, 2))])
    assert warm.routes == (Route(1, (3, 2)), Route(0, (0, 1)))
    assert red.expand(warm).routes == (Route(0, (3, 2)), Route(0, (0, 1)))


def test_open_routes_need_no_marker():
    """An open route that stops after its prefix costs what the prefix costs: nothing to correct."""
    p = line(end_depot=None)
    red = reduce(p, [Route(0, (1,))])
    assert red.starts == (-1,)
    plan = [Route(0, (0, 1))]  # D-c1-c3 = 3 on another vehicle; the locked route D-c2 = 2 stops there
    assert red.full_cost(evaluate(red.reduced, plan)) == 5 == evaluate(p, red.expand(plan)).cost


# -- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"initial": [Route(0, (7,))]}, "initial[0].clients[0]"),
    ({"initial": [Route(3, (0,))]}, "initial[0].vehicle_type"),
    ({"initial": [Route(0, (0,)), Route(0, (0, 1))]}, "initial[1].clients[0]"),
    ({"initial": {"routes": [{"stops": ["c1", "zz"]}]}}, "initial.routes[0]"),
    ({"locked": [Route(0, (0,)), Route(0, (1, 0))]}, "locked[1].clients[1]"),
    ({"locked": [Route(0, (-1,))]}, "locked[0].clients[0]"),
])
def test_bad_initial_or_locked_names_the_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        vrpkit.solve(line(), "ortools", time_limit=0.5, **kwargs)
    assert err.value.field == field


def test_more_locked_routes_than_vehicles():
    p = line(count=1)
    with pytest.raises(ValidationError, match='2 routes of vehicle type "v" are locked, it has 1'):
        vrpkit.solve(p, "ortools", time_limit=0.5, locked=[Route(0, (0,)), Route(0, (1,))])


# -- command line ----------------------------------------------------------------------------------------------


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """The line problem as JSON (four clients, capacity 2) and a plan for it: c4 c3 | c1 c2."""
    d = tmp_path_factory.mktemp("warm")
    problem = d / "line.json"
    problem.write_text(json.dumps(line(4, capacity=2).to_dict()), encoding="utf-8")
    plan = d / "plan.json"
    plan.write_text(json.dumps({"routes": [{"stops": ["c4", "c3"]}, {"stops": ["c1", "c2"]}]}), encoding="utf-8")
    return problem, plan


def test_cli_initial_and_locks(files, tmp_path):
    problem, plan = files
    out = tmp_path / "out.json"
    done = cli("solve", problem, "-t", "0.5", "-q", "--initial", plan, "--lock-prefix", "1", "-o", out)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert sorted(r["stops"][0]["id"] for r in data["routes"]) == ["c1", "c4"]
    assert data["cost"] == 12 and data["stats"]["locked"] == 2 and data["stats"]["initial_cost"] == 12
    again = cli("solve", problem, "-t", "0.5", "-q", "--initial", out, "--lock-until", "3.5")
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--lock-prefix", "1"], "error: --lock-prefix: needs --initial"),
    (["--lock-until", "3"], "error: --lock-until: needs --initial"),
    (["--initial", "PLAN", "--lock-prefix", "1", "--lock-until", "3"], "not both"),
    (["--initial", "PLAN", "--lock-prefix", "-1"], "error: --lock-prefix: -1 is not a number of stops"),
    (["--initial", "BAD"], 'initial.routes[0]: unknown client "zz"'),
    (["--initial", "MISSING"], "no such file"),
])
def test_cli_misuse_exits_2_in_one_line(files, tmp_path, args, message):
    problem, plan = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"routes": [{"stops": ["zz"]}]}), encoding="utf-8")
    names = {"PLAN": plan, "BAD": bad, "MISSING": tmp_path / "none.json"}
    done = cli("solve", problem, "-t", "0.5", "-q", *[str(names.get(a, a)) for a in args])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error: ")
