"""The local search's exact check (``C_EXACT``): on breaks, ride times, and multi-trip with release times or
shipments the segments are a filter and each move is scored by the evaluator's rules
(:func:`vrpkit._evaluate_kernel.fleet_route`). Hand-worked tiny cases where the segments alone would keep
the wrong plan (each optimum confirmed by :func:`test_fleet_bruteforce.brute_force`), and random fleet
instances on which the search never makes a plan worse under the evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fleet_bruteforce import brute_force
from vrpkit.solvers.localsearch import C_EXACT, LocalSearch, improve, needs_exact, unsupported

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate
from vrpkit.generate import fleet_instance
from vrpkit.model import Break, Shipment


def break_order() -> Problem:
    """Open route (no return) from D at 0 on a line: a at -5, b at 10 (window [0, 22]); one vehicle whose 5-long
    lunch starts in [10, 15]. D-a-b drives 20 (the segments, which ignore breaks, prefer it), but reaches b at
    20, after the lunch window: the lunch is taken before, at a (waiting to 10, 10-15), and b is reached at
    30, 8 late (at the depot first it is later still). D-b-a drives 25: b at 10, lunch there (10-15), a at
    30. The optimum is D-b-a, cost 25."""
    lunch = Break("lunch", ((10, 15),), 5)
    return Problem("break-order", (Depot("D", (0, 0)),),
                   (Client("a", (-5, 0)), Client("b", (10, 0), time_windows=((0, 22),))),
                   (VehicleType("v", end_depot=None, count=1, breaks=(lunch,)),))


def ride_limit() -> Problem:
    """Open route from D at 0 on a line: a parcel from p at 10 to d at 20 that may ride 12, and c at 15 (service
    3). D-p-c-d drives 20 but the parcel rides 5 + 3 + 5 = 13 (1 too long); D-p-d-c drives 25 (ride 10),
    D-c-p-d 30. The optimum is D-p-d-c, cost 25: the limit forbids serving c between p and d."""
    clients = (Client("p", (10, 0)), Client("d", (20, 0)), Client("c", (15, 0), service_time=3))
    return Problem("ride-limit", (Depot("D", (0, 0)),), clients, (VehicleType("v", end_depot=None, count=1),),
                   shipments=(Shipment("s", "p", "d", max_ride_time=12),))


def late_trip() -> Problem:
    """One vehicle of capacity 2 reloading at D (0, 0), shift [0, 60]; deliveries of 1 to a (10, 0), c (12, 0)
    and b (-10, 0), c released at 30. Trips {a, c} (24) and {b} (20) drive 44, the least (every other split
    drives 64). With {a, c} first the trip leaves at 30 and b is back at 74, 14 after the shift; the segments
    (release times per trip are the evaluator's alone) see both orders alike. {b} first: back at 20, the
    second trip leaves at 30 and is back at 54. The optimum: b, reload, then a and c, cost 44."""
    clients = (Client("a", (10, 0), delivery=1), Client("c", (12, 0), delivery=1, release_time=30),
               Client("b", (-10, 0), delivery=1))
    vt = VehicleType("v", capacity=2, count=1, shift=(0, 60), reload_depots=("D",))
    return Problem("late-trip", (Depot("D", (0, 0)),), clients, (vt,))


def parcel_on_board() -> Problem:
    """One vehicle of capacity 2 reloading at D (0, 0); deliveries of 2 to a (10, 1) and b (10, -1), and a
    parcel of 1 from p (10, 0) to d (10, -2). D-a-p-(D)-b-d-D drives 2 sqrt(101) + sqrt(104) + 2 (about
    42.30), but the parcel stays on board across the reload: b's trip leaves with 3. The segments drop a
    trip's pickups at a reload and see it feasible. The optimum keeps the parcel on one trip, e.g.
    D-a-p-d-(D)-b-D: 3 sqrt(101) + sqrt(104) + 3 (about 43.35)."""
    clients = (Client("a", (10, 1), delivery=2), Client("b", (10, -1), delivery=2), Client("p", (10, 0)),
               Client("d", (10, -2)))
    vt = VehicleType("v", capacity=2, count=1, reload_depots=("D",))
    return Problem("parcel-on-board", (Depot("D", (0, 0)),), clients, (vt,),
                   shipments=(Shipment("s", "p", "d", amount=1),))


CASES = {
    # name: (problem, the plan the segments prefer, its evaluator violation, the optimum)
    "break": (break_order, [Route(0, (0, 1))], 8.0, 25.0),
    "ride time": (ride_limit, [Route(0, (0, 2, 1))], 1.0, 25.0),
    "release time, trips": (late_trip, [Route(0, (0, 1, 2), ((2, 0),))], 14.0, 44.0),
    "shipment, trips": (parcel_on_board, [Route(0, (0, 2, 1, 3), ((2, 0),))], 1.0,
                        3 * math.sqrt(101) + math.sqrt(104) + 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_worked_optimum_is_the_brute_force_one(case):
    make, trap, viol, optimum = CASES[case]
    p = make()
    assert needs_exact(p) and unsupported(p) is None
    assert brute_force(p)[0] == pytest.approx(optimum, abs=1e-9)
    ev = evaluate(p, trap)
    assert not ev.feasible
    assert sum(v.amount for v in ev.violations) == pytest.approx(viol)


@pytest.mark.parametrize("case", list(CASES))
def test_search_counts_the_evaluators_violation(case):
    make, trap, viol, _ = CASES[case]
    p = make()
    ls = LocalSearch(p)
    assert ls.cfg[C_EXACT] == (2 if "breaks" in p.attributes else 1)  # 2: each route's breaks placed best
    ls.load(trap)
    ev = evaluate(p, ls.routes())  # the trap, with its breaks where the search placed them
    assert [r.clients for r in ls.routes()] == [r.clients for r in trap]
    assert ls.violation == pytest.approx(sum(v.amount for v in ev.violations))
    assert ls.violation > 0
    assert ls.violation <= viol + 1e-9  # never worse than the short form's
    assert ls.cost == pytest.approx(ev.distance + ev.duration * p.vehicle_types[0].cost_per_duration
                                    + sum(vt.fixed_cost for vt in p.vehicle_types))
    assert ls.arrays.rval[:, 1].sum() < ls.violation  # the segments do not see it


@pytest.mark.parametrize("case", list(CASES))
def test_improve_reaches_the_optimum_from_the_trap(case):
    make, trap, _, optimum = CASES[case]
    p = make()
    plan = improve(p, trap, time_limit=math.inf)
    ev = evaluate(p, plan)
    assert ev.feasible, ev.violations
    assert ev.cost == pytest.approx(optimum, abs=1e-9)


def test_break_order_and_ride_limit_plans():
    assert [r.clients for r in improve(break_order(), [Route(0, (0, 1))]).routes] == [(1, 0)]
    assert [r.clients for r in improve(ride_limit(), [Route(0, (0, 2, 1))]).routes] == [(0, 1, 2)]
    (route,) = improve(late_trip(), [Route(0, (0, 1, 2), ((2, 0),))]).routes
    assert route.clients[0] == 2 and route.reloads == ((1, 0),)


def test_listed_breaks_are_loaded_in_the_short_form():
    p = break_order()
    plan = [Route(0, (1, 0), breaks=((0, 0),))]  # lunch at the depot: a wait to 5 (listed form)
    ls = LocalSearch(p)
    ls.load(plan)
    assert ls.cost == pytest.approx(evaluate(p, [Route(0, (1, 0))]).cost)
    assert ls.routes() == [Route(0, (1, 0))]


def test_no_exact_check_where_the_segments_are_exact():
    for p in (fleet_instance(4, seed=1, variant="vrptwrt"), fleet_instance(3, seed=1, variant="pdptw"),
              fleet_instance(4, seed=1, variant="mtvrp")):
        assert not needs_exact(p)
        assert LocalSearch(p).cfg[C_EXACT] == 0
    assert needs_exact(fleet_instance(2, seed=1, variant="pdptw", ride_factor=1.5))


VARIANTS = ("vrptwbr", "vrptwbrsk", "pdptwbr", "mtvrprt", "mtpdp", "mtpdptwrtbrsk", "mtvrptwrtbr")


def _random_plan(p: Problem, rng: np.random.Generator) -> list[Route]:
    """Clients dealt to up to three routes in random order (shipments split or reversed at times), with a
    random reload here and there on multi-trip problems."""
    perm = rng.permutation(p.n_clients)
    types = len(p.vehicle_types)
    out = []
    for chunk in np.array_split(perm, int(rng.integers(1, 4))):
        clients = tuple(int(c) for c in chunk)
        v = int(rng.integers(types))
        reloads: tuple[tuple[int, int], ...] = ()
        if "multi_trip" in p.attributes and len(clients) > 1:
            depots = np.flatnonzero(p.reload_allowed[v])
            if len(depots):
                at = sorted(set(rng.integers(1, len(clients), 2).tolist()))
                reloads = tuple((i, int(rng.choice(depots))) for i in at)
        if clients:
            out.append(Route(v, clients, reloads))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variant=st.sampled_from(VARIANTS), seed=st.integers(0, 10_000), n=st.integers(2, 5))
def test_the_search_never_makes_a_plan_worse(variant, seed, n):
    """From a random plan: the search's measure of the plan (the evaluator's violation and cost of its routes,
    plus its own penalty of the clients left out) never grows, and it is the evaluator's on the plan it
    returns; a feasible plan stays feasible and gets no dearer."""
    options = {"ride_factor": 1.5} if "pdp" in variant else {}
    p = fleet_instance(n, seed=seed, variant=variant, **options)
    assert needs_exact(p)
    plan = _random_plan(p, np.random.default_rng(seed))
    ls = LocalSearch(p)
    ls.load(plan)
    start = (ls.violation, ls.cost)
    before = evaluate(p, plan)
    if before.feasible:
        assert start == pytest.approx((0.0, before.cost))
    ls.run(max_passes=3)
    assert ls.violation <= start[0] + 1e-9
    if ls.violation >= start[0] - 1e-9:
        assert ls.cost <= start[1] + 1e-7
    out = ls.routes()
    after = evaluate(p, out)
    own = sum(v.amount for v in after.violations if v.constraint not in ("missing_client", "shipment_split"))
    assert own <= ls.violation + 1e-9
    if ls.violation == 0.0:
        assert after.feasible, after.violations
        assert after.cost == pytest.approx(ls.cost, rel=1e-9, abs=1e-9)
    if before.feasible:
        assert after.feasible and after.cost <= before.cost + 1e-6


@pytest.mark.parametrize("variant", ["vrptwbrsk", "mtpdptwrt"])
def test_ruin_and_recreate_keeps_the_evaluators_totals(variant):
    """The iterated search's insertions and moves go through the exact check: the best plan it keeps is
    feasible, no dearer than its start, and costed as the evaluator costs it."""
    p = fleet_instance(12, seed=4, variant=variant)
    ls = LocalSearch(p, granularity=8)
    ls.load([])
    ls.run()
    start = ls.cost
    assert ls.violation == 0.0
    ls.iterate(iterations=30, seed=1)
    ev = evaluate(p, ls.routes())
    assert ev.feasible, ev.violations
    assert ls.violation == 0.0
    assert ls.cost == pytest.approx(ev.cost, rel=1e-9)
    assert ls.cost <= start + 1e-7
