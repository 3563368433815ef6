"""OR-Tools on a real fleet's day: skills, breaks, reloads, shipments and release times, each alone and all
together, with optima worked out by hand (costs are the evaluator's), plus generated instances of every
combination (feasibility checked by the evaluator)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from vrpkit.solvers import Progress
from vrpkit.solvers.ortools import ORToolsSolver, place_breaks, reload_copies, trip_plan

import vrpkit
from vrpkit import Client, Depot, Problem, VehicleType, evaluate
from vrpkit.diagnose import client_vehicle_feasibility
from vrpkit.generate import fleet_instance
from vrpkit.model import Break, Shipment
from vrpkit.solution import Route

T = 1.0  # seconds: every instance here is tiny


def run(problem: Problem, **kw) -> vrpkit.Result:
    result = vrpkit.solve(problem, "ortools", time_limit=kw.pop("time_limit", T), seed=kw.pop("seed", 0), **kw)
    assert result.status == "feasible", (result.status, result.stats.get("reasons"),
                                         result.evaluation and result.evaluation.violations)
    return result


def ids(result: vrpkit.Result) -> list[tuple[str, ...]]:
    names = [c.id for c in result.problem.clients]
    return sorted(tuple(names[c] for c in r.clients) for r in result.solution.routes)


def test_client_only_the_big_type_can_carry():
    """c2's delivery 8 fits only the truck. Optimum: the van takes c1 (2 * 1), the truck c2 (2 * 2) plus its
    fixed cost 10: 16. The truck alone for both would cost 10 + 1 + 1 + 2 = 14 but carries 11 > 10."""
    p = Problem(
        "fleet",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("c1", (1, 0), delivery=3), Client("c2", (-2, 0), delivery=8)),
        vehicle_types=(VehicleType("van", count=1, capacity=5), VehicleType("truck", count=1, capacity=10,
                                                                            fixed_cost=10)),
    )
    result = vrpkit.solve(p, "ortools", time_limit=1)
    assert result.feasible and result.cost == 16
    by_type = {p.vehicle_types[r.vehicle_type].id: r.clients for r in result.solution.routes}
    assert by_type == {"van": (0,), "truck": (1,)}


# -- skills ----------------------------------------------------------------------------------------------


def skills_problem() -> Problem:
    """a at (1, 0) needs a fridge, b at (0, 2). The plain van costs nothing fixed, the cold van 3. Without
    skills the plain van serves both: 1 + sqrt(5) + 2. With them: the cold van both, 3 + 3 + sqrt(5) = 8.236,
    or the cold van a (3 + 2) and the plain van b (4): 9."""
    return Problem("skills", (Depot("D", (0, 0)),),
                   (Client("a", (1, 0), skills=("fridge",)), Client("b", (0, 2))),
                   (VehicleType("plain", count=1), VehicleType("cold", count=1, skills=("fridge",), fixed_cost=3)))


def test_skills_the_equipped_type_serves_the_client():
    r = run(skills_problem())
    assert r.cost == pytest.approx(6 + math.sqrt(5))
    types = r.problem.vehicle_types
    assert [(types[x.vehicle_type].id, len(x.clients)) for x in r.solution.routes] == [("cold", 2)]
    without = run(skills_problem().replace(clients=(Client("a", (1, 0)), Client("b", (0, 2)))))
    assert without.cost == pytest.approx(3 + math.sqrt(5))


def test_skills_nobody_can_serve_a_required_client():
    p = skills_problem().replace(clients=(Client("a", (1, 0), skills=("lift",)), Client("b", (0, 2))))
    with pytest.raises(vrpkit.NoSolutionError) as err:
        ORToolsSolver().solve(p, time_limit=T, seed=0, progress=Progress())
    assert "client a" in " ".join(err.value.reasons) and "lift" in " ".join(err.value.reasons)


# -- reloads ---------------------------------------------------------------------------------------------


def line_reload(**vehicle) -> Problem:
    """c1, c2, c3 at 1, 2, 3 on a line, delivery 2 each, capacity 2: each client is a trip of its own, D-c1-D-
    c2-D-c3-D = 2 + 4 + 6 = 12 with reloads at D (service time 1) before c2 and c3."""
    return Problem("line", (Depot("D", (0, 0), service_time=1),),
                   tuple(Client(f"c{i}", (i, 0), delivery=2) for i in (1, 2, 3)),
                   (VehicleType("v", capacity=2, reload_depots=("D",), **vehicle),))


def test_reloads_one_vehicle_three_trips():
    r = run(line_reload(count=1))
    assert r.cost == 12
    (route,) = r.solution.routes
    assert route.reloads == ((1, 0), (2, 0))
    assert [len(t) for t in route.trips] == [1, 1, 1]
    schedule = r.evaluation.routes[0]
    assert [x.departure - x.start for x in schedule.reloads] == [1, 1]  # the depot's service time


def test_reloads_warm_start():
    """A plan with reloads is read into the model (each reload on a copy of its depot) and searched from."""
    p = line_reload(count=1)
    plan = vrpkit.Solution((Route(0, (2, 1, 0), reloads=((1, 0), (2, 0))),))
    r = run(p, initial=plan)
    assert r.stats["warm_start"] is True and r.cost == 12


def test_reloads_bounded_by_max_reloads():
    """At most one reload a route, two vehicles: {c3} and {c1 | c2} (or {c1} and {c2 | c3}): 6 + 6 = 12."""
    r = run(line_reload(count=2, max_reloads=1))
    assert r.cost == 12 and len(r.solution.routes) == 2
    assert sorted(len(x.reloads) for x in r.solution.routes) == [0, 1]


def test_reloads_with_pickups_drop_them_at_the_depot():
    """p1 at 1 and p2 at 2 pick up 2 each, capacity 2: D-p1-D-p2-D = 2 + 4 = 6 with a reload between
    (without one the vehicle would carry 4)."""
    p = Problem("pick", (Depot("D", (0, 0)),), (Client("p1", (1, 0), pickup=2), Client("p2", (2, 0), pickup=2)),
                (VehicleType("v", count=1, capacity=2, reload_depots=("D",)),))
    r = run(p)
    assert r.cost == 6 and r.solution.routes[0].reloads == ((1, 0),)


def test_reload_copies_rule():
    """Six deliveries of 2 with capacity 2: six trips, plus the margin of 2; max_reloads 1 on 3 vehicles: 3."""
    p = Problem("six", (Depot("D", (0, 0)),), tuple(Client(f"c{i}", (i, 0), delivery=2) for i in range(1, 7)),
                (VehicleType("v", capacity=2, reload_depots=("D",)),))
    feasible = p.skills_ok[0]
    assert reload_copies(p, 0, feasible, 2) == 5  # min(6 + 2, clients - 1)
    limited = p.replace(vehicle_types=(VehicleType("v", capacity=2, reload_depots=("D",), max_reloads=1),))
    assert reload_copies(limited, 0, feasible, 3) == 3


# -- shipments -------------------------------------------------------------------------------------------


def shipments_problem(*extra: Shipment, clients: tuple[Client, ...] = ()) -> Problem:
    """s1 from p1 (1, 0) to d1 (2, 0), s2 from p2 (3, 0) to d2 (-1, 0), amount 1, capacity 1: one at a time,
    D-p1-d1-p2-d2-D = 1 + 1 + 1 + 4 + 1 = 8 (every route reaches 3 and -1: at least 8)."""
    stops = (Client("p1", (1, 0)), Client("d1", (2, 0)), Client("p2", (3, 0)), Client("d2", (-1, 0)))
    return Problem("pd", (Depot("D", (0, 0)),), stops + clients, (VehicleType("v", count=2, capacity=1),),
                   shipments=(Shipment("s1", "p1", "d1", 1), Shipment("s2", "p2", "d2", 1), *extra))


def test_shipments_pickup_first_and_capacity():
    r = run(shipments_problem())
    assert r.cost == 8 and ids(r) == [("p1", "d1", "p2", "d2")]


def test_optional_shipment_left_out_whole():
    """s3 from p3 (10, 0) to d3 (11, 0), prize 5: serving it costs at least 22 - 8 more; left out, both stops'
    prizes: 8 + 5."""
    extra = (Client("p3", (10, 0), required=False, prize=5), Client("d3", (11, 0), required=False))
    r = run(shipments_problem(Shipment("s3", "p3", "d3", 1), clients=extra))
    assert r.cost == 13 and ids(r) == [("p1", "d1", "p2", "d2")]


def test_ride_time():
    """s1 from p1 (1, 0) to d1 (-1, 0), ride at most 3; s2 from p2 (2, 0) to d2 (3, 0); capacity 2. Both
    D-p1-p2-d2-d1-D (ride 6) and D-p2-d2-p1-d1-D (ride 2) cost 8; only the second keeps the ride time."""
    stops = (Client("p1", (1, 0)), Client("d1", (-1, 0)), Client("p2", (2, 0)), Client("d2", (3, 0)))
    p = Problem("ride", (Depot("D", (0, 0)),), stops, (VehicleType("v", count=1, capacity=2),),
                shipments=(Shipment("s1", "p1", "d1", 1, max_ride_time=3), Shipment("s2", "p2", "d2", 1)))
    r = run(p)
    assert r.cost == 8 and ids(r) == [("p2", "d2", "p1", "d1")]


# -- breaks ----------------------------------------------------------------------------------------------


def test_break_after_the_service_it_must_follow():
    """a at (10, 0) starts at 10 exactly, service 5; the break starts at 15 exactly: only after a's service
    (position 1; at the depot before leaving it would delay a). Distance 20."""
    p = Problem("brk", (Depot("D", (0, 0)),), (Client("a", (10, 0), service_time=5, time_windows=((10, 10),)),),
                (VehicleType("v", count=1, breaks=(Break("lunch", ((15, 15),), 5),)),))
    r = run(p)
    assert r.cost == 20 and r.solution.routes[0].breaks == ((1, 0),)
    assert [(b.start, b.end) for b in r.evaluation.routes[0].breaks] == [(15, 20)]


def test_break_makes_a_second_vehicle_needed():
    """a at (10, 0) and b at (-10, 0), both due by 30, and a rest of 10 that starts at 0 (at the depot): one
    vehicle reaches a at 20 and b at 40; so two vehicles, each resting at the depot first: 20 + 20."""
    p = Problem("brk2", (Depot("D", (0, 0)),),
                (Client("a", (10, 0), time_windows=((10, 30),)), Client("b", (-10, 0), time_windows=((10, 30),))),
                (VehicleType("v", count=2, breaks=(Break("rest", ((0, 0),), 10),)),))
    r = run(p)
    assert r.cost == 40 and len(r.solution.routes) == 2
    assert all(x.breaks == ((0, 0),) for x in r.solution.routes)


def test_place_breaks_moves_a_break_that_does_not_fit():
    """A listed break at the depot that makes a late: moved after a's service."""
    p = Problem("brk", (Depot("D", (0, 0)),), (Client("a", (10, 0), service_time=5, time_windows=((10, 10),)),),
                (VehicleType("v", count=1, breaks=(Break("lunch", ((0, 15),), 5),)),))
    plan = (Route(0, (0,), breaks=((0, 0),)),)
    assert not evaluate(p, plan).feasible
    placed, moved = place_breaks(p, plan)
    assert moved == 1 and evaluate(p, placed).feasible


def test_no_break_between_a_reload_and_the_next_client():
    """One open route, capacity 1, a reload at D takes 15, a rest of 10 starting in [10, 20]; a at 1 (windows
    [1, 1] and [60, 100]), b at 2 (window [30, 31]). D-a-D-b costs 4: a at 1, the reload 2-17, b at 30 with the
    rest 17-27 on the way, but a plan takes a break after a service, before the drive to the reload depot
    (after a: 10-20, the reload 21-36, b at 38, late; elsewhere the rest misses its window or a its). D-b-D-a
    costs 5: the rest at D 10-20, b at 30, the reload 32-47, a at 60. OR-Tools' search ends at the first (it
    used to come back late); the backend returns the best plan of the search that the evaluator accepts."""
    p = Problem("brk-reload", (Depot("D", (0, 0), service_time=15),),
                (Client("a", (1, 0), delivery=1, time_windows=((1, 1), (60, 100))),
                 Client("b", (2, 0), delivery=1, time_windows=((30, 31),))),
                (VehicleType("v", count=1, capacity=1, end_depot=None, reload_depots=("D",),
                             breaks=(Break("rest", ((10, 20),), 10),)),))
    late = Route(0, (0, 1), reloads=((1, 0),), breaks=((1, 0),))
    assert not evaluate(p, [late]).feasible and place_breaks(p, [late])[1] == 0  # no placement repairs it
    r = run(p)
    assert r.cost == 5 and ids(r) == [("b", "a")]
    assert r.stats["ortools_objective"] == 4 and r.stats["breaks_fallback"] == 5
    (route,) = r.solution.routes
    assert route.reloads == ((1, 0),) and route.breaks == ((0, 0),)
    (rest,) = r.evaluation.routes[0].breaks  # at D: the evaluator leaves as late as keeps b on time
    assert 10 <= rest.start <= 20 and rest.end == rest.start + 10
    b, a = r.evaluation.routes[0].start
    assert 30 <= b <= 31 and a == 60


# -- release times ---------------------------------------------------------------------------------------


def release_problem(**vehicle) -> Problem:
    """a at 1 released at 5, b at 2 due by 4: one trip cannot serve both (leaving at 5, b is late; b first
    and back by 4, then a). Two vehicles: 2 + 4 = 6; one vehicle with a reload at D: D-b-D-a-D = 6 too."""
    return Problem("release", (Depot("D", (0, 0)),),
                   (Client("a", (1, 0), release_time=5), Client("b", (2, 0), time_windows=((0, 4),))),
                   (VehicleType("v", **vehicle),))


def test_release_time_two_trips():
    r = run(release_problem(count=2))
    assert r.cost == 6 and ids(r) == [("a",), ("b",)]
    assert [s.arrival for s in r.evaluation.routes if s.clients == (0,)] == [(6,)]  # leaves at 5, 1 away


def test_release_time_with_a_reload():
    r = run(release_problem(count=1, reload_depots=("D",)))
    assert r.cost == 6 and ids(r) == [("b", "a")]
    assert r.solution.routes[0].reloads == ((1, 0),)
    assert r.evaluation.routes[0].reloads[0].departure >= 5


def multi_trip_release() -> Problem:
    """Two vans of capacity 2 (reloads at D in 1), four clients of delivery 1 on a line, c3 and c4 (at 3 and 4)
    released at 10, every window [0, 40]. The start (trip_plan): van 1 takes c1 (begin 1) and c2 (2), drives
    back (4), reloads (5), waits for the release (10) and takes c3 and c4 (13, 14): D-c1-c2-D-c3-c4-D, 4 + 8 =
    12, the optimum (c3 and c4 cost 8 on any trip, c1 and c2 4). The evaluator leaves as late as keeps the
    second trip's departure: c1 and c2 at 6 and 7, back at 9, the reload 9-10."""
    return Problem("mtrt", (Depot("D", (0, 0), service_time=1),),
                   tuple(Client(f"c{i}", (i, 0), delivery=1, release_time=10 if i > 2 else 0,
                                time_windows=((0, 40),)) for i in range(1, 5)),
                   (VehicleType("v", count=2, capacity=2, reload_depots=("D",)),))


def test_trip_plan_multi_trip_with_release_times():
    p = multi_trip_release()
    plan = trip_plan(p, client_vehicle_feasibility(p), [0, 0])
    assert plan == (Route(0, (0, 1, 2, 3), reloads=((2, 0),)),)
    ev = evaluate(p, plan)
    assert ev.feasible and ev.cost == 12
    assert ev.routes[0].reloads[0].departure == 10 and ev.routes[0].start == (6, 7, 13, 14)


def test_trip_plan_is_the_start():
    r = run(multi_trip_release())
    assert r.cost == 12 and r.stats["first_solution"] == "trip_plan"
    assert [sorted(t) for t in r.solution.routes[0].trips] == [[0, 1], [2, 3]]


def test_trip_plan_none_when_a_client_is_left():
    """c5 at 30 released at 35 with window [0, 40]: no trip reaches it in time (35 + 30 > 40), the plan leaves
    it out, so there is no start (and no plan: the client cannot be served)."""
    p = multi_trip_release()
    p = p.replace(clients=(*p.clients, Client("c5", (30, 0), release_time=35, time_windows=((0, 40),))))
    assert trip_plan(p, client_vehicle_feasibility(p), [0, 0]) is None


MTVRPTWR = Path("/tmp/ext/inst/MTVRPTWR/C201R0.25.vrp")


@pytest.mark.skipif(not MTVRPTWR.exists(), reason=f"PyVRP/Instances file not found: {MTVRPTWR}")
def test_mtvrptwr_file_gets_a_plan():
    """PyVRP/Instances' MTVRPTWR C201R0.25 (100 clients, 8 vehicles for 19 loads, release times): OR-Tools'
    first-solution strategies found no plan in 10 s; from the trip_plan start there is one at once."""
    from vrpkit.io import read_problem

    r = run(read_problem(MTVRPTWR), time_limit=2)
    assert r.stats["first_solution"] == "trip_plan" and r.solution.routes
    assert any(route.reloads for route in r.solution.routes)


# -- all together ----------------------------------------------------------------------------------------


def test_all_together():
    """One cold van of capacity 2 (a fridge, reloads at D in 1, a lunch break of 5 anywhere in [0, 100]) and a
    van without fridge at fixed cost 100. c1 (1, 0) and c2 (2, 0) deliver 2 and need the fridge, c2 released
    at 3; shipment s from p (0, 1) to d (0, 2), amount 1. Trips (in either order): c1 alone (2), c2 and the
    shipment: D-c2-p-d-D = 2 + sqrt(5) + 1 + 2 (the deliveries of a trip leave with it, so c2 before p: 2 + 1 > 2):
    7 + sqrt(5). The other splits cost more: c1 with the shipment 4 + sqrt(2), then c2 4."""
    p = Problem(
        "all", (Depot("D", (0, 0), service_time=1),),
        (Client("c1", (1, 0), delivery=2, skills=("fridge",)),
         Client("c2", (2, 0), delivery=2, skills=("fridge",), release_time=3),
         Client("p", (0, 1)), Client("d", (0, 2))),
        (VehicleType("cold", count=1, capacity=2, skills=("fridge",), reload_depots=("D",),
                     breaks=(Break("lunch", ((0, 100),), 5),)),
         VehicleType("van", count=1, capacity=2, fixed_cost=100)),
        shipments=(Shipment("s", "p", "d", 1),),
    )
    assert {"skills", "breaks", "multi_trip", "shipments", "release_times"} <= p.attributes
    r = run(p, time_limit=2)
    assert r.cost == pytest.approx(7 + math.sqrt(5))
    (route,) = r.solution.routes
    assert sorted(tuple(p.clients[c].id for c in t) for t in route.trips) == [("c1",), ("c2", "p", "d")]
    assert len(r.evaluation.routes[0].breaks) == 1


def test_strict_backhaul_with_reloads_refused():
    p = line_reload(count=1).replace(backhaul="strict", clients=(Client("c1", (1, 0), delivery=2),
                                                                 Client("c2", (2, 0), pickup=2)))
    assert "multi_trip" in ORToolsSolver().supports(p)


# -- generated instances of every combination --------------------------------------------------------------

COMBINATIONS = ["".join(parts) for parts in itertools.product(("", "mt"), ("pdp", "vrp"), ("", "tw"), ("", "rt"),
                                                              ("", "br"), ("", "sk"))
                if "".join(parts) != "vrp"]


@pytest.mark.parametrize("variant", COMBINATIONS)
def test_generated_combination_feasible(variant):
    p = fleet_instance(5, seed=1, variant=variant)
    r = run(p, time_limit=0.5)
    served = sorted(c for route in r.solution.routes for c in route.clients)
    assert served == list(range(p.n_clients))
