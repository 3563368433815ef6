"""Tools that do not (yet) handle a fleet attribute refuse it in one line naming it, never a wrong answer."""

from __future__ import annotations

import pytest

from vrpkit import Problem
from vrpkit.errors import VrpkitError
from vrpkit.model import Break, Client, Depot, Shipment, VehicleType, fleet_refusal
from vrpkit.solution import Route


def problem(**fleet) -> Problem:
    clients = [Client("a", (1, 0), skills=("x",) if fleet.get("skills") else (),
                      release_time=5 if fleet.get("release") else 0), Client("p", (2, 0)), Client("q", (3, 0))]
    vt = VehicleType("v", skills=("x",), breaks=(Break("b", ((0, 100),), 1),) if fleet.get("breaks") else (),
                     reload_depots=("d",) if fleet.get("reloads") else ())
    ships = (Shipment("s", "p", "q"),) if fleet.get("shipments") else ()
    return Problem("f", (Depot("d", (0, 0)),), tuple(clients), (vt,), shipments=ships)


def test_fleet_refusal_names_what_is_not_handled():
    p = problem(skills=True, breaks=True, reloads=True, shipments=True, release=True)
    assert fleet_refusal(p, "x") == (
        "x does not handle breaks (vehicle_types[].breaks), reloads (vehicle_types[].reload_depots), release "
        "times (clients[].release_time), shipments (shipments[]), skills (clients[].skills)")
    assert fleet_refusal(p, "x", {"breaks", "multi_trip", "release_times", "shipments", "skills"}) is None
    assert fleet_refusal(problem(), "x") is None


@pytest.mark.parametrize("kind", ["skills", "breaks", "reloads", "shipments", "release"])
def test_explanations_refuse_fleet_problems(kind):
    from vrpkit.explain import explain

    with pytest.raises(VrpkitError, match="explanations does not handle"):
        explain(problem(**{kind: True}), [Route(0, (0, 1, 2))])


@pytest.mark.parametrize(("kind", "refused"), [("skills", False), ("release", False), ("breaks", True),
                                               ("reloads", True), ("shipments", True)])
def test_simulation_refuses_what_it_cannot_drive(kind, refused):
    from vrpkit.stochastic import simulate

    p = problem(**{kind: True})
    if refused:
        with pytest.raises(VrpkitError, match="simulation does not handle"):
            simulate(p, [Route(0, (0, 1, 2))], scenarios=4)
    else:
        sim = simulate(p, [Route(0, (0, 1, 2))], scenarios=4)
        assert sim.scenarios == 4


@pytest.mark.parametrize("kind", ["breaks", "reloads", "shipments"])
def test_decompose_refuses_what_parts_would_break(kind):
    from vrpkit.solvers.decompose import DecomposedSolver

    reason = DecomposedSolver("ortools").supports(problem(**{kind: True}))
    assert reason is not None and reason.startswith("--decompose does not handle")


def test_locked_routes_refuse_fleet_problems():
    from vrpkit.solvers.locks import reduce

    with pytest.raises(VrpkitError, match="locked routes does not handle"):
        reduce(problem(skills=True), [Route(0, (0,))])


@pytest.mark.parametrize(("kind", "refused"), [("skills", True), ("reloads", True), ("shipments", True),
                                               ("breaks", False), ("release", False)])
def test_territories_refuse_what_one_vehicle_per_territory_cannot_hold(kind, refused):
    from vrpkit.territories import build_territories

    p = problem(**{kind: True})
    if refused:
        with pytest.raises(VrpkitError, match="territories does not handle"):
            build_territories(p, 1)
    else:
        assert len(build_territories(p, 1).territories) == 1


def test_local_search_and_aco_refuse_only_strict_backhaul_with_shipments_or_reloads():
    from dataclasses import replace

    from vrpkit.solvers.aco import ACOSolver
    from vrpkit.solvers.localsearch import unsupported

    from vrpkit.generate import fleet_instance

    for variant, options in (("vrptwbr", {}), ("pdptw", {"ride_factor": 1.5}), ("mtpdp", {}), ("mtvrprt", {}),
                             ("mtpdptwrtbrsk", {})):
        p = fleet_instance(4, seed=1, variant=variant, **options)
        assert unsupported(p) is None and ACOSolver().supports(p) is None, variant
    ships = problem(shipments=True)
    strict = replace(ships, clients=(replace(ships.clients[0], pickup=(1,)), *ships.clients[1:]),
                     backhaul="strict")
    assert unsupported(strict) == "shipments with strict backhaul not supported by the compiled local search"
    trips = problem(reloads=True)
    strict = replace(trips, clients=(replace(trips.clients[0], pickup=(1,)), *trips.clients[1:]),
                     backhaul="strict")
    assert unsupported(strict) == "multi_trip with strict backhaul not supported by the compiled local search"
