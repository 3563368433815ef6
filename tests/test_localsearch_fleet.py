"""The compiled local search on a real fleet's attributes: skills, release times, shipments.

Hand-worked tiny cases (costs and violations as the search counts them, which the evaluator must confirm), and
feasibility on small random instances: every plan the search returns is feasible for the evaluator and costs what
the evaluator says."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from test_localsearch import descend, random_problem
from vrpkit.solvers.localsearch import LocalSearch, improve, unsupported

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate
from vrpkit.model import Shipment


def corner(clients, *types: VehicleType, name: str = "corner") -> Problem:
    """Depot D at (0, 0), a at (3, 0), b at (0, 4) (as in conftest's corner): Da = 3, Db = 4, ab = 5;
    durations equal distances."""
    return Problem(name, (Depot("D", (0, 0)),), tuple(clients), types)


def fridge() -> Problem:
    """a needs a fridge; the plain vehicle (no fixed cost) has none, the cold one (fixed cost 10) has it.

    Without skills one plain route D-a-b-D costs 12. With them a rides the cold vehicle: both on it cost
    12 + 10 = 22, a on it and b on the plain one cost 6 + 10 + 8 = 24: the optimum is 22 on the cold one."""
    clients = (Client("a", (3, 0), delivery=1, skills=("fridge",)), Client("b", (0, 4), delivery=1))
    return corner(clients, VehicleType("plain", count=1, capacity=5),
                  VehicleType("cold", count=1, capacity=5, fixed_cost=10, skills=("fridge", "lift")))


def test_skills_keep_a_client_off_a_vehicle_without_them():
    p = fridge()
    assert "skills" in p.attributes and unsupported(p) is None
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1))])
    assert ls.violation == pytest.approx(1.0)  # one skill missing
    assert ls.cost == pytest.approx(12.0)
    ls.run()
    assert ls.violation == 0
    assert ls.cost == pytest.approx(22.0)
    assert ls.routes() in ([Route(1, (0, 1))], [Route(1, (1, 0))])


def test_every_missing_skill_counts():
    clients = (Client("a", (3, 0), skills=("fridge", "lift", "adr")), Client("b", (0, 4)))
    p = corner(clients, VehicleType("plain", count=2, skills=("lift",)))
    ls = LocalSearch(p)
    ls.load([Route(0, (0,)), Route(0, (1,))])
    assert ls.violation == pytest.approx(2.0)  # fridge and adr
    ls.run()  # nothing can serve a: the plan stays as good as it was
    assert ls.violation == pytest.approx(2.0)


def early_and_late() -> Problem:
    """a must be served by 4 (window [0, 4], Da = 3: leave by 1); b's goods arrive at 10 (release time).
    One trip D-a-b-D (12) leaves at 10 at the earliest and reaches a at 13: 9 late (the latest departure that
    is on time is 1). Two trips cost 6 + 8 = 14."""
    clients = (Client("a", (3, 0), delivery=1, time_windows=((0, 4),)),
               Client("b", (0, 4), delivery=1, release_time=10))
    return corner(clients, VehicleType("v", capacity=5))


def test_release_time_delays_the_departure():
    p = early_and_late()
    assert "release_times" in p.attributes and unsupported(p) is None
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1))])
    assert ls.violation == pytest.approx(9.0)
    ls.run()
    assert ls.violation == 0
    assert ls.cost == pytest.approx(14.0)
    assert sorted(r.clients for r in ls.routes()) == [(0,), (1,)]


def test_release_time_against_the_shift_end():
    """b released at 15 (Db = 4) with a shift ending at 20: back at 23 at the earliest, 3 too late; a trip
    that leaves at 15 is fine with a shift to 23, and the route's duration does not count the wait."""
    b = Client("b", (0, 4), delivery=1, release_time=15)
    ls = LocalSearch(corner([b], VehicleType("v", shift=(0, 20), cost_per_duration=1.0)))
    ls.load([Route(0, (0,))])
    assert ls.violation == pytest.approx(3.0)
    ls = LocalSearch(corner([b], VehicleType("v", shift=(0, 23), cost_per_duration=1.0)))
    ls.load([Route(0, (0,))])
    assert ls.violation == 0
    assert ls.cost == pytest.approx(8.0 + 8.0)  # distance 8, duration 8 (leaves at 15, back at 23)


def fleet_problem(seed: int, n: int = 20, *, skills: bool = False, release: bool = False, shipments: int = 0,
                  reloads: bool = False, **variant) -> Problem:
    """:func:`test_localsearch.random_problem` with, for ``skills``, three vehicle types of which the second
    has skill "x" and the third "x" and "y", every third client needing "x" and every fifth "y"; for
    ``release``, every other client released at up to 60 (shifts and windows leave room for it); and
    ``shipments`` shipments whose stops are the last ``2 * shipments`` clients (pickup, delivery, ...), of
    amount 1 to 7 per dimension, with windows wide enough for a route to one shipment alone; for
    ``reloads``, each type may reload at its depot (service time 5 there), at most 3 times for the first type,
    vehicles cost 50 each and at most 3 of each other type (without time windows; routes of several trips save
    vehicles)."""
    if skills:
        variant.setdefault("types", 3)
    p = random_problem(seed, n, **variant)
    if shipments:
        rng = np.random.default_rng(seed + 2000)
        stops = list(p.clients)
        ships = []
        for k in range(shipments):
            i, j = n - 2 * shipments + 2 * k, n - 2 * shipments + 2 * k + 1
            for x in (i, j):
                last = stops[x].time_windows[-1]
                stops[x] = replace(stops[x], delivery=(), pickup=(), required=stops[i].required,
                                   prize=stops[x].prize if x == i else 0.0,
                                   time_windows=(*stops[x].time_windows[:-1], (last[0], last[1] + 150.0)))
            amount = tuple(int(a) for a in rng.integers(1, 8, p.n_dims))
            ships.append(Shipment(f"s{k}", stops[i].id, stops[j].id, amount))
        vts = tuple(replace(vt, shift=(vt.shift[0], vt.shift[1] + 150.0)) for vt in p.vehicle_types)
        p = replace(p, clients=tuple(stops), vehicle_types=vts, shipments=tuple(ships))
    rng = np.random.default_rng(seed + 1000)
    clients = list(p.clients)
    for i, c in enumerate(clients):
        need = (("x",) if skills and i % 3 == 0 else ()) + (("y",) if skills and i % 5 == 0 else ())
        rel = float(rng.uniform(0, 60)) if release and i % 2 == 0 else 0.0
        if release:  # keep a route to the client alone feasible
            last = c.time_windows[-1]
            c = replace(c, time_windows=(*c.time_windows[:-1], (last[0], last[1] + 60.0)))
        clients[i] = replace(c, skills=need, release_time=rel)
    vts = list(p.vehicle_types)
    if reloads:
        vts = [replace(vt, reload_depots=(vt.start_depot,), max_reloads=3 if t == 0 else None,
                       count=None if t == 0 or variant.get("tw") else 3, fixed_cost=50.0,
                       shift=(vt.shift[0], vt.shift[1] * 3)) for t, vt in enumerate(vts)]
        p = replace(p, depots=tuple(replace(d, service_time=5.0) for d in p.depots))
    if skills:
        vts = [replace(vt, skills=(("x",), ("x", "y"))[t - 1] if t else ()) for t, vt in enumerate(vts)]
    if release:
        vts = [replace(vt, shift=(vt.shift[0], vt.shift[1] + 120.0)) for vt in vts]
    return replace(p, clients=tuple(clients), vehicle_types=tuple(vts), name=f"fleet{seed}")


FLEET = {
    "skills": {"skills": True},
    "skills, time windows": {"skills": True, "tw": True},
    "release times": {"release": True},
    "release times, time windows, duration cost": {"release": True, "tw": True, "duration_cost": 0.5},
    "skills and release times, all at once": {"skills": True, "release": True, "tw": True, "two_windows": True,
                                              "prizes": True, "dims": 2, "hours": True, "duration_cost": 0.2,
                                              "depots": 2},
    "shipments": {"shipments": 6},
    "shipments only": {"shipments": 10},
    "shipments, time windows": {"shipments": 6, "tw": True, "duration_cost": 0.5},
    "shipments, mixed backhaul, prizes, two dimensions": {"shipments": 5, "backhaul": "mixed", "prizes": True,
                                                          "dims": 2},
    "reloads": {"reloads": True},
    "reloads, time windows, two types, two depots": {"reloads": True, "tw": True, "types": 2, "depots": 2,
                                                    "duration_cost": 0.3},
    "reloads, skills, mixed backhaul, prizes": {"reloads": True, "skills": True, "backhaul": "mixed",
                                               "prizes": True, "dims": 2},
    "all four at once": {"skills": True, "release": True, "shipments": 5, "tw": True, "two_windows": True,
                         "prizes": True, "dims": 2, "hours": True, "duration_cost": 0.2, "depots": 2},
}


def single_routes(p: Problem) -> list[Route]:
    """Each client alone on the last vehicle type (it has every skill), each shipment alone; with reloads, each
    type's clients (by index modulo the number of types) in one route of one trip each."""
    t = len(p.vehicle_types) - 1
    if "multi_trip" in p.attributes:
        if "time_windows" in p.attributes:  # one trip a route
            return [Route(c % len(p.vehicle_types), (c,)) for c in range(p.n_clients)]
        out = []
        types = len(p.vehicle_types)
        for v in range(types):  # with skills, every client on the last type
            group = [c for c in range(p.n_clients)
                     if (v == types - 1 if "skills" in p.attributes else c % types == v)]
            size = max(1, len(group)) if p.max_reloads[v] < 0 else int(p.max_reloads[v]) + 1
            for i in range(0, len(group), size):
                g = group[i:i + size]
                out.append(Route(v, tuple(g), tuple((j, p.vehicle_start[v]) for j in range(1, len(g)))))
        return out
    partner = p.partner
    return [Route(t, (i,) if partner[i] < 0 else (i, int(partner[i]))) for i in range(p.n_clients)
            if partner[i] < 0 or p.is_pickup_stop[i]]


@pytest.mark.parametrize("variant", list(FLEET))
def test_moves_keep_fleet_plans_feasible_and_never_worse(variant):
    p = fleet_problem(5, **FLEET[variant])
    assert unsupported(p) is None
    routes = single_routes(p)
    start = evaluate(p, routes)
    assert start.feasible, start.violations
    costs = descend(p, routes, start.cost)
    assert costs[-1] < 0.9 * costs[0]


@pytest.mark.parametrize("variant", list(FLEET))
def test_repairs_a_random_fleet_plan(variant):
    p = fleet_problem(9, **FLEET[variant])
    rng = np.random.default_rng(0)
    perm = rng.permutation(p.n_clients)
    routes = [Route(0, tuple(int(c) for c in chunk)) for chunk in np.array_split(perm, 3)]
    ls = LocalSearch(p, granularity=8)
    ls.load(routes)
    assert not evaluate(p, routes).feasible
    assert ls.violation > 0 or "shipments" in FLEET[variant]  # split optional shipments are left out on load
    plan = improve(p, routes, time_limit=math.inf, perturb=False)
    ev = evaluate(p, plan)
    assert ev.feasible, ev.violations


def all_plans(n: int, n_types: int):
    """Every plan of clients 0..n-1 on vehicles of ``n_types`` types, one vehicle of each (brute force)."""
    for assign in itertools.product(range(n_types), repeat=n):
        groups = [[c for c in range(n) if assign[c] == t] for t in range(n_types)]
        for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
            yield [Route(t, o) for t, o in enumerate(orders) if o]


@pytest.mark.parametrize("seed", [0, 1])
def test_brute_force_optimum_with_skills_and_release_times(seed):
    """Five clients, two vehicles of different skills, release times and windows: the search (with ruin and
    recreate) reaches the best plan of a full enumeration, both costed by the evaluator."""
    rng = np.random.default_rng(seed)
    clients = tuple(Client(f"c{i}", tuple(rng.uniform(0, 20, 2)), delivery=1, service_time=1.0,
                           skills=("x",) if i in (0, 3) else (), release_time=float(rng.uniform(0, 15)),
                           time_windows=((0.0, float(rng.uniform(40, 80))),)) for i in range(5))
    types = (VehicleType("plain", count=1, capacity=3, cost_per_duration=0.5),
             VehicleType("x", count=1, capacity=4, fixed_cost=3.0, skills=("x",), cost_per_duration=0.5))
    p = Problem(f"brute{seed}", (Depot("D", (10, 10)),), clients, types)
    best = math.inf
    for plan in all_plans(5, 2):
        ev = evaluate(p, plan)
        if ev.feasible:
            best = min(best, ev.cost)
    assert math.isfinite(best)
    plan = improve(p, [Route(1, (0, 3))], time_limit=2.0, seed=seed, perturb=True)
    ev = evaluate(p, plan)
    assert ev.feasible, ev.violations
    assert ev.cost == pytest.approx(best, abs=1e-6)


def parcel(capacity: int) -> Problem:
    """A shipment of 2 from a (3, 0) to b (0, 4), and client c at (3, 4) with a delivery of 2: Da = 3,
    Db = 4, Dc = 5, ab = 5, ac = 4, bc = 3.

    Capacity 3: c's delivery must be off board before the parcel comes on, so the one route is D-c-a-b-D,
    5 + 4 + 5 + 4 = 18 (two routes: 12 + 10 = 22). Capacity 10: D-a-c-b-D, 3 + 4 + 3 + 4 = 14 (D-b-c-a-D
    costs as much but delivers before the pickup)."""
    clients = (Client("a", (3, 0)), Client("b", (0, 4)), Client("c", (3, 4), delivery=2))
    return Problem("parcel", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=capacity),),
                   shipments=(Shipment("s", "a", "b", 2),))


@pytest.mark.parametrize(("capacity", "cost", "order"), [(3, 18.0, (2, 0, 1)), (10, 14.0, (0, 2, 1))])
def test_shipment_optimum(capacity, cost, order):
    p = parcel(capacity)
    assert unsupported(p) is None
    for start in ([Route(0, (1, 2, 0))], [Route(0, (0,)), Route(0, (1, 2))], [Route(0, (2,))], []):
        plan = improve(p, start, time_limit=math.inf)
        ls = LocalSearch(p)
        ls.load(plan.routes)
        assert ls.violation == 0, start
        assert ls.cost == pytest.approx(cost), start
        assert [r.clients for r in plan.routes] == [order], start


def test_a_split_or_reversed_shipment_is_taken_out_on_load():
    p = parcel(10)
    ls = LocalSearch(p)
    ls.load([Route(0, (1, 2, 0))])  # delivery first: both stops out, c alone (10), a and b missing
    assert ls.routes() == [Route(0, (2,))]
    assert ls.cost == pytest.approx(10.0)
    assert ls.violation == pytest.approx(2.0)  # two required clients left out (1 each, no load of their own)
    ls.load([Route(0, (0, 2)), Route(0, (1,))])
    assert ls.routes() == [Route(0, (2,))]


def test_optional_shipment_taken_for_its_prize():
    """The parcel optional with prize 7 on its pickup: serving it in D-a-c-b-D (14) instead of D-c-D (10)
    costs 4 < 7; with prize 3 it is left out (10 + 3 = 13)."""
    for prize, cost in ((7.0, 14.0), (3.0, 13.0)):
        p = parcel(10)
        clients = (replace(p.clients[0], required=False, prize=prize), replace(p.clients[1], required=False),
                   p.clients[2])
        p = replace(p, clients=clients)
        ls = LocalSearch(p)
        ls.load([Route(0, (0, 2, 1))] if prize < 5 else [Route(0, (2,))])
        ls.run()
        assert ls.violation == 0
        assert ls.cost == pytest.approx(cost)


@pytest.mark.parametrize("variant", [v for v in FLEET if "shipments" in FLEET[v]])
def test_iterated_search_keeps_shipments_whole(variant):
    p = fleet_problem(4, n=24, **FLEET[variant])
    ls = LocalSearch(p, granularity=8)
    ls.load(single_routes(p))
    ls.run()
    before = ls.cost
    ls.iterate(iterations=60, seed=1)
    ev = evaluate(p, ls.routes())
    assert ev.feasible, ev.violations
    assert ev.cost == pytest.approx(ls.cost, abs=1e-6)
    assert ls.cost <= before + 1e-9


def two_loads() -> Problem:
    """a (3, 0) and b (0, 4) deliver 2 each, capacity 2, reloads at D (1 to reload), vehicles cost 10.
    One vehicle: D-a-D, reload, D-b-D: 3 + 3 + 4 + 4 = 14, plus 10; two vehicles 6 + 8 + 20 = 34."""
    clients = (Client("a", (3, 0), delivery=2), Client("b", (0, 4), delivery=2))
    return Problem("two loads", (Depot("D", (0, 0), service_time=1),), clients,
                   (VehicleType("v", capacity=2, fixed_cost=10, reload_depots=("D",)),))


def test_reload_inserted_where_capacity_needs_it():
    p = two_loads()
    assert "multi_trip" in p.attributes and unsupported(p) is None
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1))])
    assert ls.violation == pytest.approx(2.0)  # 4 on board, capacity 2
    ls.run()
    assert ls.violation == 0
    assert ls.cost == pytest.approx(24.0)
    (route,) = ls.routes()
    assert len(route.clients) == 2 and route.reloads == ((1, 0),)
    ev = evaluate(p, ls.routes())
    assert ev.feasible, ev.violations
    assert ev.cost == pytest.approx(24.0)


def test_reload_removed_when_useless_and_max_reloads():
    p = two_loads()
    p = replace(p, vehicle_types=(replace(p.vehicle_types[0], capacity=4),))
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1), ((1, 0),))])  # 14 + 10; without the reload D-a-b-D is 12 + 10
    assert ls.cost == pytest.approx(24.0)
    ls.run()
    assert ls.routes() == [Route(0, (0, 1))] or ls.routes() == [Route(0, (1, 0))]
    assert ls.cost == pytest.approx(22.0)
    base = two_loads()
    capped = Problem("three loads", base.depots, (*base.clients, Client("c", (0, -4), delivery=2)),
                     (replace(base.vehicle_types[0], max_reloads=1),))
    ls = LocalSearch(capped)
    ls.load([Route(0, (0, 1, 2), ((1, 0), (2, 0)))])
    assert ls.violation == pytest.approx(1.0)  # one reload too many
    plan = improve(capped, [], time_limit=math.inf)  # built from nothing: within one reload a route
    ev = evaluate(capped, plan)
    assert ev.feasible, ev.violations
    assert all(len(r.reloads) <= 1 for r in plan.routes)
