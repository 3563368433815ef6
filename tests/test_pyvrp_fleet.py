"""The PyVRP backend on a real fleet: reload depots, max reloads and reload times, release times, shipments,
skills (as per-type profiles with forbidden arcs), worked out by hand on tiny instances (our own VRPLIB files in
``tests/data/vrplib_fleet`` and problems built here); the refusals that name the attribute."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("pyvrp")

from vrpkit.solvers.pyvrp import PyVRPSolver, _Model, scales

import vrpkit
from vrpkit import Client, Depot, Problem, SolverError, VehicleType, evaluate
from vrpkit.io import read_problem
from vrpkit.io.vrplib import read_sol
from vrpkit.model import Break, Shipment
from vrpkit.solution import Route, Solution

FLEET = Path(__file__).resolve().parent / "data" / "vrplib_fleet"
SPEC = "pyvrp:max_iterations=2000"


def run(problem: Problem, spec: str = SPEC, **kw) -> vrpkit.Result:
    result = vrpkit.solve(problem, spec, time_limit=kw.pop("time_limit", 5.0), seed=kw.pop("seed", 0), **kw)
    assert result.status == "feasible", (result.status, result.stats.get("reasons"),
                                         result.evaluation and result.evaluation.violations)
    assert result.stats["pyvrp_objective"] == pytest.approx(result.cost, abs=1e-9)
    return result


def trips(route: Route) -> set[tuple[int, ...]]:
    return set(route.trips)


def test_reloads_and_release_times() -> None:
    """``reloads.txt``: one vehicle of capacity 5 for deliveries 2, 3, 4 must split them into the trips {1, 2}
    (45) and {3} (60): distance 105, one reload, in either order."""
    problem = read_problem(FLEET / "reloads.txt")
    result = run(problem)
    route, = result.solution.routes
    assert result.cost == 105.0 and len(route.reloads) == 1 and route.reloads[0][1] == 0
    assert trips(route) in ({(0, 1), (2,)}, {(1, 0), (2,)})


def test_depot_reload_time_only_at_reloads() -> None:
    """Costed by duration: either order takes 112 (trip {1, 2} 45, reload 7, wait for the release at 60 or
    start then, trip {3} 60). PyVRP's depot service starts every trip; the start depot's copy without it keeps
    the first trip from paying the reload time (119)."""
    problem = read_problem(FLEET / "reloads.txt")
    vt, = problem.vehicle_types
    by_time = problem.replace(vehicle_types=(dataclasses.replace(vt, cost_per_distance=0.0,
                                                                 cost_per_duration=1.0),))
    result = run(by_time)
    assert result.cost == 112.0
    route = result.evaluation.to_dict(by_time)["routes"][0]
    assert route["end_time"] - route["start_time"] == 112


def test_max_reloads_zero_leaves_no_plan(tmp_path: Path) -> None:
    text = (FLEET / "reloads.txt").read_text().replace("VEHICLES_MAX_RELOADS : 1", "VEHICLES_MAX_RELOADS : 0")
    (tmp_path / "zero.txt").write_text(text)
    result = vrpkit.solve(read_problem(tmp_path / "zero.txt"), SPEC, time_limit=2.0, seed=0)
    assert result.status == "no_solution" and result.solution is None


def test_two_reloads_allowed_two_needed() -> None:
    """Four clients of 3 on a line at 1, 2, 3, 4, capacity 3, two reloads allowed at the depot: the vehicle
    cannot do 4 trips, so the plan needs 2 vehicles: 4 trips 2 + 4 + 6 + 8 = 20 in all."""
    problem = Problem("line", depots=(Depot("D", (0, 0)),),
                      clients=tuple(Client(f"c{k}", (k, 0), delivery=3) for k in range(1, 5)),
                      vehicle_types=(VehicleType("v", count=2, capacity=3, reload_depots=("D",), max_reloads=2),))
    result = run(problem)
    assert result.cost == 20.0
    assert sorted(len(r.reloads) for r in result.solution.routes) in ([1, 1], [0, 2])


def test_shipments() -> None:
    """``shipments.txt`` (a line 0 ... 5, capacity 5): out 1, 2, 4, 5 and back by 3 carries 1, 5, 1, 3, 2, 0
    and is as short as reaching node 5: 10."""
    problem = read_problem(FLEET / "shipments.txt")
    result = run(problem)
    assert result.cost == 10.0
    assert [r.clients for r in result.solution.routes] == [(0, 1, 3, 4, 2)]
    model = _Model(problem, scales(problem))
    assert model.data.num_shipments == 2 and model.data.num_clients == 1


def test_shipments_capacity_binds(tmp_path: Path) -> None:
    """Capacity 4: shipment 1 -> 2 (4) cannot ride with the delivery of 5 on board, so it is not carried on
    the way out to 5; on the way back 2 would come before 1. A closed walk on a line has an even length, so the
    best is 12 (0-4-5-3-1-2-0: on board 3, 2, 0, 4, 0; or 0-5-4-3-1-2-0: 0, 2, 0, 4, 0)."""
    text = (FLEET / "shipments.txt").read_text().replace("CAPACITY : 5", "CAPACITY : 4")
    (tmp_path / "cap4.txt").write_text(text)
    problem = read_problem(tmp_path / "cap4.txt")
    result = run(problem)
    assert result.cost == 12.0
    assert [s["load"] for r in result.evaluation.to_dict(problem)["routes"] for s in r["stops"]] in (
        [3, 2, 0, 4, 0], [0, 2, 0, 4, 0])


def test_skills() -> None:
    """Clients a, b, c at 1, 2, 3; c needs a fridge. Type x (fridge, fixed cost 10), type y (no skills): x alone
    costs 6 + 10 = 16, x for c and y for a, b 6 + 10 + 4 = 20; y alone (6) is forbidden."""
    problem = Problem("skills", depots=(Depot("D", (0, 0)),),
                      clients=(Client("a", (1, 0)), Client("b", (2, 0)), Client("c", (3, 0), skills=("fridge",))),
                      vehicle_types=(VehicleType("x", count=1, skills=("fridge",), fixed_cost=10.0),
                                     VehicleType("y", count=1)))
    result = run(problem)
    assert result.cost == 16.0 and [r.vehicle_type for r in result.solution.routes] == [0]
    model = _Model(problem, scales(problem))
    assert model.data.num_profiles == 2
    assert model.data.vehicle_type(1).max_distance < model.data.distance_matrix(1)[0, 3]


def test_allowed_clients_file() -> None:
    """``allowed.txt`` (a line; vehicle 1 may serve all, 2 clients 1 and 2, 3 client 4): vehicle 1 alone,
    0-1-2-3-4-0, 8. With vehicle 1's capacity 2, client 3 is still its own: vehicle 1 on 3, 4 (8) and vehicle 2
    on 1, 2 (4) make 12 (vehicle 1 on 2, 3 (6), 3 on 4 (8), 2 on 1 (2): 16)."""
    problem = read_problem(FLEET / "allowed.txt")
    assert run(problem).cost == 8.0
    first = problem.vehicle_types[0]
    small = problem.replace(vehicle_types=(dataclasses.replace(first, capacity=(2,)), *problem.vehicle_types[1:]))
    result = run(small)
    assert result.cost == 12.0
    served = {problem.clients[c].id: result.problem.vehicle_types[r.vehicle_type].id
              for r in result.solution.routes for c in r.clients}
    assert served == {"1": "2", "2": "2", "3": "1", "4": "1"}


def test_warm_start_with_reloads_and_shipments() -> None:
    problem = read_problem(FLEET / "reloads.txt")
    plan = read_sol(FLEET / "reloads.sol", problem)
    result = run(problem, initial=plan)
    assert result.stats["warm_start"] is True and result.cost == 105.0
    shipments = read_problem(FLEET / "shipments.txt")
    split = Solution((Route(0, (0, 4)), Route(0, (1, 2, 3))))  # shipment 1 -> 2 on two routes
    assert evaluate(shipments, split).violations
    result = run(shipments, initial=split)
    assert result.stats["warm_start"] is False and result.cost == 10.0


@pytest.mark.parametrize(("change", "words"), [
    ({"vehicle_types": (VehicleType("v", breaks=(Break("lunch", ((1.0, 2.0),), 1.0),)),)},
     'vehicle type "v" has breaks (attribute breaks'),
    ({"clients": (Client("a", (3, 0)), Client("b", (0, 4))),
      "shipments": (Shipment("s", "a", "b", max_ride_time=3.0),)},
     'shipment "s" has a max_ride_time (attribute shipments'),
    ({"clients": (Client("a", (3, 0), release_time=2.0), Client("b", (0, 4))),
      "shipments": (Shipment("s", "a", "b"),)}, 'shipment stop "a" has a release_time (attribute release_times'),
])
def test_refusals_name_the_attribute(change: dict, words: str) -> None:
    base = {"name": "p", "depots": (Depot("d", (0, 0)),), "clients": (Client("a", (3, 0)),),
            "vehicle_types": (VehicleType("v"),)}
    problem = Problem(**{**base, **change})
    assert words in PyVRPSolver().supports(problem)
    with pytest.raises(SolverError, match="attribute"):
        vrpkit.solve(problem, "pyvrp", time_limit=1.0, seed=0)
