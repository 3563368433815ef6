"""The ant colony on a real fleet's attributes: hand-worked optima, feasible plans on small random
instances of each attribute (breaks, ride times and trips with release times or shipments through the local
search's exact check), and the refusals (the torch backend, shipments with strict backhaul)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_localsearch_exact import CASES
from test_localsearch_fleet import FLEET, early_and_late, fleet_problem, fridge, parcel, two_loads
from vrpkit.solvers.aco import ACOSolver

import vrpkit
from vrpkit import Client, Depot, Problem, Solution, VehicleType, evaluate
from vrpkit.generate import fleet_instance
from vrpkit.model import Break


def test_skills_optimum():
    result = vrpkit.solve(fridge(), "aco", iterations=5, ants=4, seed=0)
    assert result.feasible
    assert result.cost == pytest.approx(22.0)  # both on the cold vehicle (see test_localsearch_fleet.fridge)
    assert [r.vehicle_type for r in result.solution.routes] == [1]


def test_release_time_optimum():
    result = vrpkit.solve(early_and_late(), "aco", iterations=5, ants=4, seed=0)
    assert result.feasible
    assert result.cost == pytest.approx(14.0)  # two trips: a cannot wait for b's goods
    assert len(result.solution.routes) == 2


@pytest.mark.parametrize(("capacity", "cost", "order"), [(3, 18.0, (2, 0, 1)), (10, 14.0, (0, 2, 1))])
def test_shipment_optimum(capacity, cost, order):
    result = vrpkit.solve(parcel(capacity), "aco", iterations=5, ants=4, seed=0)
    assert result.feasible
    assert result.cost == pytest.approx(cost)  # see test_localsearch_fleet.parcel
    assert [r.clients for r in result.solution.routes] == [order]


def test_the_ants_alone_keep_shipments_whole():
    """Without the local search the ants put each delivery stop right after its pickup stop."""
    p = fleet_problem(3, n=20, shipments=8)
    result = vrpkit.solve(p, "aco", iterations=2, ants=6, ls_ants=0, seed=2)
    assert result.feasible, result.evaluation.violations
    for r in result.solution.routes:
        for i, c in enumerate(r.clients):
            if p.is_pickup_stop[c]:
                assert r.clients[i + 1] == p.partner[c]


def test_reload_optimum():
    result = vrpkit.solve(two_loads(), "aco", iterations=5, ants=4, seed=0)
    assert result.feasible
    assert result.cost == pytest.approx(24.0)  # one vehicle, two trips (see test_localsearch_fleet.two_loads)
    (route,) = result.solution.routes
    assert route.reloads == ((1, 0),)


def test_the_ants_alone_reload():
    """Three vehicles of capacity 20 for about 80 of deliveries: the ants reload (at most 3 times on type 0)."""
    p = fleet_problem(3, n=20, reloads=True, types=2)
    result = vrpkit.solve(p, "aco", iterations=2, ants=6, ls_ants=0, seed=2)
    assert result.feasible, result.evaluation.violations
    assert any(r.reloads for r in result.solution.routes)
    assert all(len(r.reloads) <= 3 for r in result.solution.routes if r.vehicle_type == 0)


def test_the_ants_alone_respect_skills():
    """Without the local search (ls_ants 0) the ants' plans are feasible already: construction checks skills."""
    p = fleet_problem(3, skills=True)
    result = vrpkit.solve(p, "aco", iterations=3, ants=6, ls_ants=0, seed=2)
    assert result.feasible, result.evaluation.violations
    ok = p.skills_ok
    assert all(ok[r.vehicle_type, c] for r in result.solution.routes for c in r.clients)


@pytest.mark.parametrize("variant", list(FLEET))
def test_feasible_plans_on_random_fleet_instances(variant):
    p = fleet_problem(11, n=30, **FLEET[variant])
    result = vrpkit.solve(p, "aco", iterations=4, ants=8, seed=1)
    ev = evaluate(p, result.solution)
    assert ev.feasible, ev.violations
    assert result.cost == pytest.approx(ev.cost)


def breaks_problem() -> Problem:
    lunch = Break("lunch", ((10, 20),), 5)
    return Problem("br", (Depot("D", (0, 0)),), (Client("a", (3, 0)),), (VehicleType("v", breaks=(lunch,)),))


def test_refusals_name_the_attribute():
    p = breaks_problem()
    assert ACOSolver().supports(p) is None
    result = vrpkit.solve(p, "aco", iterations=1, ants=2, seed=0)
    assert result.feasible and result.cost == pytest.approx(6.0)
    for device in ("torch", "cuda"):
        for q, attr in ((fridge(), "skills"), (early_and_late(), "release times"), (p, "breaks")):
            reason = ACOSolver(device=device).supports(q)
            assert reason is not None and attr in reason, (device, attr, reason)
    both = fleet_problem(1, shipments=3, reloads=True)
    assert ACOSolver().supports(both) is None
    strict = fleet_problem(1, shipments=3, backhaul="strict")
    assert "shipments with strict backhaul" in ACOSolver().supports(strict)
    with pytest.raises(vrpkit.SolverError, match="strict backhaul"):
        vrpkit.solve(strict, "aco", iterations=1)


@pytest.mark.parametrize("case", list(CASES))
def test_exact_check_optimum(case):
    """The hand-worked cases of test_localsearch_exact (breaks, ride time, trips with a release time or a
    shipment): the ants ignore breaks, ride times and the trips' release times; the search repairs."""
    make, _, _, optimum = CASES[case]
    result = vrpkit.solve(make(), "aco", iterations=5, ants=4, seed=0)
    assert result.feasible, result.evaluation.violations
    assert result.cost == pytest.approx(optimum, abs=1e-9)


@pytest.mark.parametrize("variant", ["vrptwbr", "mtpdptwrtbrsk", "mtvrprt", "pdptwbr"])
def test_feasible_plans_with_breaks_ride_times_and_trips(variant):
    p = fleet_instance(8, seed=3, variant=variant, **({"ride_factor": 1.5} if "pdp" in variant else {}))
    result = vrpkit.solve(p, "aco", iterations=4, ants=6, seed=1)
    ev = evaluate(p, result.solution)
    assert ev.feasible, ev.violations
    assert result.cost == pytest.approx(ev.cost)
    for r in result.solution.routes:  # breaks listed only where the search placed them better than the short form
        if r.breaks is not None:
            short = evaluate(p, Solution((replace(r, breaks=None),)))
            mine = evaluate(p, Solution((r,)))
            assert (sum(v.amount for v in mine.violations), mine.cost) < (sum(v.amount for v in short.violations),
                                                                          short.cost)
