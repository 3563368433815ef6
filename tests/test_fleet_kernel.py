"""The compiled rules of one route of a real fleet's day (:func:`vrpkit._evaluate_kernel.fleet_route`) against
the evaluator: hand-worked routes on a line, then random routes (reloads anywhere, breaks in the short form or
listed anywhere, missing, repeated or out of range) on generated fleet instances and on random problems that
mix every attribute the kernel handles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate
from vrpkit._evaluate_kernel import fleet_arrays, fleet_route, fleet_work
from vrpkit.generate import generate
from vrpkit.model import SAME_AS_START, Break, Shipment, TravelTimeNoise, Uncertainty


def at(x: float) -> tuple[float, float]:
    return (float(x), 0.0)


def stops_of(route: Route, nd: int = 1) -> np.ndarray:
    """The events of ``route`` as :func:`fleet_route` takes them: clients, ``-(d + 1)`` for a reload at depot
    ``d`` before the client at its position (after the last client for a reload at the end), and
    ``-(nd + 1 + b)`` for a listed break ``b`` there (before the reload)."""
    out: list[int] = []
    for p in range(len(route.clients) + 1):
        out.extend(-(nd + 1 + b) for q, b in route.breaks or () if q == p)
        out.extend(-(d + 1) for q, d in route.reloads if q == p)
        if p < len(route.clients):
            out.append(route.clients[p])
    return np.array(out, dtype=np.int64)


def kernel(problem: Problem, route: Route, F: tuple | None = None) -> tuple[float, float, float, float]:
    F = fleet_arrays(problem) if F is None else F
    stops = stops_of(route, problem.n_depots)
    padded = np.concatenate([stops, np.full(3, 12345, dtype=np.int64)])  # only stops[:n] may be read
    return fleet_route(F, route.vehicle_type, padded, len(stops), fleet_work(F))


def expected(problem: Problem, route: Route) -> tuple[float, float, float, float]:
    """The evaluator's distance, duration, cost and summed violation amounts of ``route`` alone (a shipment
    split by the route, only one of its stops on it, counts 1)."""
    ev = evaluate(problem, [route])
    viol = sum(v.amount for v in ev.violations if v.route == 0)
    viol += sum(1.0 for v in ev.violations if v.constraint == "shipment_split")
    if not ev.routes:
        return 0.0, 0.0, 0.0, viol
    r = ev.routes[0]
    return r.distance, r.duration, r.cost, viol


def check(problem: Problem, route: Route, F: tuple) -> None:
    got = kernel(problem, route, F)
    want = expected(problem, route)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6), (route, evaluate(problem, [route]).violations)


# -- hand-worked ---------------------------------------------------------------------------------------------


def line(clients, *types: VehicleType, depots=None, shipments=()) -> Problem:
    return Problem("line", depots=tuple(depots or (Depot("D", at(0)),)), clients=tuple(clients),
                   vehicle_types=types, shipments=tuple(shipments))


def test_break_at_the_depot_makes_the_client_late():
    # The lunch window [0, 5] is open when the vehicle is free at the depot (t = 0): lunch 0-10, then D-a
    # (10) arrives at 20, 5 after a's window [0, 15] closed; back at 30. Distance 20, duration 30.
    p = line([Client("a", at(10), time_windows=((0.0, 15.0),))],
             VehicleType("v", cost_per_duration=1.0, breaks=(Break("lunch", ((0.0, 5.0),), 10.0),)))
    assert kernel(p, Route(0, (0,))) == (20.0, 30.0, 50.0, 5.0)
    assert expected(p, Route(0, (0,))) == (20.0, 30.0, 50.0, 5.0)


def test_reload_with_the_depot_service_time():
    # D-a (3), back to D (3) at 6, reload 6-11 (the depot's service time 5), D-b (4) at 15, back at 19.
    depot = Depot("D", at(0), service_time=5.0)
    clients = [Client("a", at(3), delivery=2), Client("b", at(4), delivery=2)]
    p = line(clients, VehicleType("v", capacity=2, cost_per_duration=1.0, reload_depots=("D",)), depots=[depot])
    assert kernel(p, Route(0, (0, 1), reloads=((1, 0),))) == (14.0, 19.0, 33.0, 0.0)
    assert kernel(p, Route(0, (0, 1))) == (8.0, 8.0, 16.0, 2.0)  # one trip carries 4 > 2
    # A reload before the first client is left out (reload, 1), the capacity excess stays (2).
    assert kernel(p, Route(0, (0, 1), reloads=((0, 0),))) == (8.0, 8.0, 16.0, 3.0)
    q = line(clients, VehicleType("v", capacity=2, reload_depots=("D",), max_reloads=0), depots=[depot])
    assert kernel(q, Route(0, (0, 1), reloads=((1, 0),)))[3] == 1.0  # one reload over max_reloads 0
    for problem, route in ((p, Route(0, (0, 1), reloads=((1, 0),))), (p, Route(0, (0, 1), reloads=((0, 0),))),
                           (q, Route(0, (0, 1), reloads=((1, 0),)))):
        assert kernel(problem, route) == expected(problem, route)


def test_ride_time_excess_order_and_split():
    # D-p (2), p-c (8) at 10, c-q (4) at 14, back (6) at 20: the ride from p's departure (2) to q's start (14)
    # is 12, 9 over max_ride_time 3.
    clients = [Client("p", at(2)), Client("c", at(10)), Client("q", at(6))]
    p = line(clients, VehicleType("v", capacity=5), shipments=[Shipment("s", "p", "q", amount=1, max_ride_time=3)])
    assert kernel(p, Route(0, (0, 1, 2))) == (20.0, 20.0, 20.0, 9.0)
    assert kernel(p, Route(0, (2, 1, 0))) == (20.0, 20.0, 20.0, 1.0)  # shipment_order; loads -1 then 0
    assert kernel(p, Route(0, (0, 1)))[3] == 1.0  # the delivery stop is not on the route
    for route in (Route(0, (0, 1, 2)), Route(0, (2, 1, 0)), Route(0, (0, 1)), Route(0, (1, 2))):
        assert kernel(p, route) == expected(p, route)


def test_listed_breaks():
    # Lunch [0, 100] for 30; a at 10 (window [0, 20]), b at 20 (window [100, 110]). Short form: lunch at the
    # depot 0-30, a at 40 (20 late), b at 50, waits to 100, back at 120. Listed after a: the departure delayed
    # by a's slack 10: a at 20, lunch 20-50, b at 60, waits to 100, back at 120 (duration 110). After b: from
    # 10, a at 20, b at 30, waits to 100, lunch 100-130, back at 150 (duration 140).
    clients = [Client("a", at(10), time_windows=((0.0, 20.0),)),
               Client("b", at(20), time_windows=((100.0, 110.0),))]
    p = line(clients, VehicleType("v", cost_per_duration=1.0, breaks=(Break("lunch", ((0.0, 100.0),), 30.0),)))
    F = fleet_arrays(p)
    work = fleet_work(F)
    lunch = -2  # -(n_depots + 1 + 0)
    assert fleet_route(F, 0, np.array([0, 1], dtype=np.int64), 2, work) == (40.0, 120.0, 160.0, 20.0)
    assert fleet_route(F, 0, np.array([lunch, 0, 1], dtype=np.int64), 3, work) == (40.0, 120.0, 160.0, 20.0)
    assert fleet_route(F, 0, np.array([0, lunch, 1], dtype=np.int64), 3, work) == (40.0, 110.0, 150.0, 0.0)
    assert fleet_route(F, 0, np.array([0, 1, lunch], dtype=np.int64), 3, work) == (40.0, 140.0, 180.0, 0.0)
    # Listed with an index out of range (-3: break 1): unknown_id 1, and the lunch missing: break 1. The lunch
    # listed twice: break 1 (one too many).
    assert fleet_route(F, 0, np.array([0, -3, 1], dtype=np.int64), 3, work) == (40.0, 110.0, 150.0, 2.0)
    assert fleet_route(F, 0, np.array([0, lunch, 1, lunch], dtype=np.int64), 4, work) == (40.0, 140.0, 180.0, 1.0)
    for breaks in (((1, 0),), ((2, 0),), ((1, 0), (2, 0)), ((1, 1),), ((0, 0),)):
        route = Route(0, (0, 1), breaks=breaks)
        check(p, route, F)


def test_empty_route_and_unknown_stops():
    p = line([Client("a", at(3))], VehicleType("v"))
    F = fleet_arrays(p)
    work = fleet_work(F)
    assert fleet_route(F, 0, np.zeros(0, dtype=np.int64), 0, work) == (0.0, 0.0, 0.0, 0.0)
    assert fleet_route(F, 0, np.array([-1, 5], dtype=np.int64), 2, work) == (0.0, 0.0, 0.0, 0.0)
    # An unknown client (1) and an unknown break (-3: break 1 of a type with none) count 1 each, as the
    # evaluator's unknown_id.
    assert fleet_route(F, 0, np.array([0, 7, -3], dtype=np.int64), 3, work) == (6.0, 6.0, 6.0, 2.0)
    # A route longer than the buffer holds: infinities, nothing written out of bounds.
    long = np.zeros(work.shape[1], dtype=np.int64)
    assert fleet_route(F, 0, long, len(long), work) == (math.inf,) * 4


def test_callable_from_compiled_code_without_reference_counting():
    import numba as nb

    @nb.njit(_nrt=False)
    def total(F, stops, work):
        s = 0.0
        for n in range(1, len(stops) + 1):
            s += fleet_route(F, 0, stops, n, work)[2]
        return s

    p = line([Client("a", at(3)), Client("b", at(5))], VehicleType("v"))
    F = fleet_arrays(p)
    assert total(F, np.array([0, 1], dtype=np.int64), fleet_work(F)) == 6.0 + 10.0


def test_time_dependent_problems_are_refused():
    p = Problem("td", (Depot("D", at(0)),), (Client("a", at(3)),), (VehicleType("v"),),
                uncertainty=Uncertainty(travel_time=TravelTimeNoise(profile="rush_hour")))
    with pytest.raises(ValueError, match="profile"):
        fleet_arrays(p)


# -- random routes -------------------------------------------------------------------------------------------


def random_route(problem: Problem, rng: np.random.Generator) -> Route:
    """A random route: a random type, distinct clients in random order, reloads at random positions (first,
    last and twice at one position included); half of the time with listed breaks at random positions (each
    break of the type once, or some missing, repeated or out of range)."""
    v = int(rng.integers(len(problem.vehicle_types)))
    m = int(rng.integers(1, problem.n_clients + 1))
    clients = tuple(int(c) for c in rng.permutation(problem.n_clients)[:m])
    reloads = []
    for _ in range(int(rng.integers(0, 4))):
        depot = int(rng.integers(problem.n_depots))
        reloads.append((int(rng.integers(0, m + 1)), depot))
    n_b = len(problem.vehicle_types[v].breaks)
    if rng.random() < 0.5:
        return Route(v, clients, reloads=tuple(reloads))
    if rng.random() < 0.6:
        indices = [int(b) for b in rng.permutation(n_b)]
    else:
        indices = [int(rng.integers(n_b + 1)) for _ in range(int(rng.integers(0, n_b + 2)))]
    breaks = tuple((int(rng.integers(0, m + 1)), b) for b in indices)
    return Route(v, clients, reloads=tuple(reloads), breaks=breaks or None)  # () has no stops form


FLEET = ("mtpdptwrtbrsk", "pdptw", "mtvrp", "vrptwbrsk", "mtvrptwrtbr", "pdptwbrsk", "mtvrprtsk", "mtpdp", "cvrp")


def fleet_problem(variant: str, n: int, seed: int) -> Problem:
    options = {"ride_factor": 1.3} if "pdp" in variant and seed % 2 else {}
    if "mt" in variant and seed % 3 == 0:
        options["max_reloads"] = 1
    if "mt" in variant and seed % 4 == 1:
        options["reload_depots"] = 2
    return generate(variant, n, seed=seed, distribution="fleet", **options)


@pytest.mark.parametrize("variant", FLEET)
def test_generated_fleet_instances_seeded(variant):
    rng = np.random.default_rng(14)
    for seed in range(4):
        p = fleet_problem(variant, 3 + seed, seed)
        F = fleet_arrays(p)
        for _ in range(40):
            check(p, random_route(p, rng), F)


def mixed_problem(rng: np.random.Generator) -> Problem:
    """A random problem that may have every attribute fleet_route handles: several depots with opening
    hours and reload times, several windows per client, pickups (strict or mixed backhaul), two capacity
    dimensions, skills, release times, shipments with ride times, types with shifts, limits, open or other
    end depots, several breaks with several windows, reload depots and max_reloads."""
    def windows(lo: float, hi: float) -> tuple[tuple[float, float], ...]:
        if rng.random() < 0.3:
            return ((0.0, math.inf),)
        out, t = [], lo + float(rng.integers(0, 30))
        for _ in range(int(rng.integers(1, 4))):
            end = t + float(rng.integers(0, 40))
            out.append((t, end))
            t = end + float(rng.integers(1, 40))
        return tuple(out)

    k = int(rng.integers(1, 3))
    amount = lambda hi: tuple(int(x) for x in rng.integers(0, hi, size=k))  # noqa: E731
    nd = int(rng.integers(1, 4))
    depots = [Depot(f"D{i}", (float(rng.integers(0, 30)), float(rng.integers(0, 30))),
                    (0.0, math.inf) if rng.random() < 0.5 else (float(rng.integers(0, 15)),
                                                                float(rng.integers(60, 300))),
                    service_time=float(rng.integers(0, 3) * rng.integers(0, 8))) for i in range(nd)]
    skills = ("x", "y", "z")
    nc = int(rng.integers(2, 9))
    strict = rng.random() < 0.5
    clients = []
    for i in range(nc):
        backhaul = rng.random() < 0.4
        clients.append(Client(
            f"c{i}", (float(rng.integers(0, 30)), float(rng.integers(0, 30))),
            delivery=(0,) * k if strict and backhaul else amount(6), pickup=amount(4) if backhaul else (0,) * k,
            service_time=float(rng.integers(0, 6)), time_windows=windows(0, 100),
            skills=tuple(s for s in skills if rng.random() < 0.2),
            release_time=float(rng.integers(0, 60)) if rng.random() < 0.3 else 0.0))
    shipments = []
    for j in range(int(rng.integers(0, 3))):
        sk = tuple(s for s in skills if rng.random() < 0.2)
        for role in "pq":
            clients.append(Client(f"{role}{j}", (float(rng.integers(0, 30)), float(rng.integers(0, 30))),
                                  service_time=float(rng.integers(0, 6)), time_windows=windows(0, 100),
                                  skills=sk))
        shipments.append(Shipment(f"s{j}", f"p{j}", f"q{j}", amount=amount(5),
                                  max_ride_time=math.inf if rng.random() < 0.4 else float(rng.integers(5, 60))))
    types = []
    for t in range(int(rng.integers(1, 4))):
        start = f"D{rng.integers(nd)}"
        end = (SAME_AS_START, None, f"D{rng.integers(nd)}")[int(rng.integers(3))]
        breaks = tuple(Break(f"b{b}", windows(0, 150), float(rng.integers(0, 20)))
                       for b in range(int(rng.integers(0, 3))))
        reload_depots = tuple(f"D{i}" for i in range(nd) if rng.random() < 0.6)
        types.append(VehicleType(
            f"v{t}", capacity=tuple(int(x) for x in rng.integers(3, 15, size=k)) if rng.random() < 0.8 else (),
            start_depot=start, end_depot=end,
            shift=(0.0, math.inf) if rng.random() < 0.5 else (float(rng.integers(0, 20)),
                                                              float(rng.integers(50, 300))),
            max_duration=math.inf if rng.random() < 0.6 else float(rng.integers(30, 200)),
            max_distance=math.inf if rng.random() < 0.6 else float(rng.integers(30, 200)),
            fixed_cost=float(rng.integers(0, 10)), cost_per_distance=float(rng.integers(1, 3)),
            cost_per_duration=float(rng.integers(0, 2)) / 2, skills=tuple(s for s in skills if rng.random() < 0.5),
            breaks=breaks, reload_depots=reload_depots,
            max_reloads=None if not reload_depots or rng.random() < 0.5 else int(rng.integers(0, 3))))
    return Problem("mixed", tuple(depots), tuple(clients), tuple(types), shipments=tuple(shipments),
                   backhaul="strict" if strict else "mixed")


def test_mixed_problems_seeded():
    rng = np.random.default_rng(2026)
    for _ in range(60):
        p = mixed_problem(rng)
        F = fleet_arrays(p)
        for _ in range(25):
            check(p, random_route(p, rng), F)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_mixed_problems_hypothesis(seed):
    rng = np.random.default_rng(seed)
    p = mixed_problem(rng)
    F = fleet_arrays(p)
    for _ in range(10):
        check(p, random_route(p, rng), F)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FLEET), st.integers(2, 7), st.integers(0, 10_000), st.integers(0, 2**32 - 1))
def test_generated_fleet_instances_hypothesis(variant, n, seed, route_seed):
    p = fleet_problem(variant, n, seed)
    F = fleet_arrays(p)
    rng = np.random.default_rng(route_seed)
    for _ in range(10):
        check(p, random_route(p, rng), F)


@pytest.mark.parametrize("variant", ["CVRP", "OVRPTW", "VRPBTW", "OVRPBLTW", "VRPMTW"])
def test_problems_without_fleet_attributes_agree_with_the_kernel(variant):
    rng = np.random.default_rng(5)
    try:
        p = generate(variant, 8, seed=3)
    except Exception:  # a variant the generator does not know
        pytest.skip(f"{variant} not generated")
    assert not p.fleet
    F = fleet_arrays(p)
    for _ in range(40):
        r = random_route(p, rng)
        check(p, Route(r.vehicle_type, r.clients), F)
