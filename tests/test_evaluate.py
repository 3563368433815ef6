"""The evaluator on hand-computed cases, and against a brute-force reference on random small instances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, evaluate, evaluate_many
from vrpkit.errors import ValidationError


def names(ev) -> list[tuple[str, int | None, str | None, float]]:
    return [(v.constraint, v.route, v.client, v.amount) for v in ev.violations]


def test_triangle_schedule_and_delayed_departure(triangle):
    ev = evaluate(triangle, Solution.from_lists([[0, 1]]))
    r = ev.routes[0]
    assert ev.distance == 12 and ev.cost == 12
    # Departure delayed from 0 to 5 so that the vehicle does not wait at a.
    assert (r.start_time, r.end_time, r.duration) == (5, 18, 13)
    assert r.arrival == (10, 15) and r.start == (10, 15) and r.departure == (11, 15)
    assert r.start_load == (5,) and r.load == ((3,), (0,))
    assert names(ev) == [("capacity", 0, None, 1.0)]


def test_evaluate_many_triangle(triangle):
    """Several plans in one call: D-a-b-D (distance 12, capacity 1 over), D-b-a-D (12, the same), D-a-D + D-b-D
    (distance 10 + 6 = 16, duration 11 with a's service + 6, feasible), and D-a-D, which leaves b out."""
    plans = [Solution.from_lists([[0, 1]]), [Route(0, (1, 0))], Solution.from_lists([[0], [1]]), [Route(0, (0,))]]
    many = evaluate_many(triangle, plans)
    assert many == [evaluate(triangle, plan) for plan in plans]
    assert [e.cost for e in many] == [12, 12, 16, 10]
    totals = evaluate_many(triangle, plans, full=False)
    assert totals.cost.tolist() == [12, 12, 16, 10] and totals.distance.tolist() == [12, 12, 16, 10]
    assert totals.duration.tolist() == [13, 13, 17, 11]
    assert totals.violations.tolist() == [1, 1, 0, 1] and totals.feasible.tolist() == [False, False, True, False]


def test_reverse_route_and_lateness(triangle):
    # D-b-a-D: b at 3, a at 7, wait to 10; the delay of 3 makes a's start 10 without waiting.
    ev = evaluate(triangle, [Route(0, (1, 0))])
    r = ev.routes[0]
    assert (r.start_time, r.arrival, r.start, r.end_time) == (3, (6, 10), (6, 10), 16)
    late = triangle.replace(clients=(
        Client("a", (3, 4), delivery=2, time_windows=((0, 4),)),
        Client("b", (3, 0), delivery=1),
    ))
    ev = evaluate(late, [Route(0, (1, 0))])
    assert names(ev) == [("time_window", 0, "a", 3.0)]
    assert ev.routes[0].start_time == 0


def test_multiple_windows_wait_for_the_next_one():
    p = Problem(
        "mtw",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("a", (5, 0), time_windows=((0, 2), (8, 9), (20, 30))),),
        vehicle_types=(VehicleType("v"),),
    )
    ev = evaluate(p, [Route(0, (0,))])
    r = ev.routes[0]
    assert r.start == (8,) and r.start_time == 3 and r.end_time == 13 and ev.feasible
    assert "multiple_time_windows" in p.attributes and p.variant == "VRPTW"


def test_mixed_backhaul_load_along_the_route():
    p = Problem(
        "mixed",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("p", (1, 0), pickup=3), Client("d", (2, 0), delivery=3)),
        vehicle_types=(VehicleType("v", capacity=4),),
    )
    # Leaving with 3 for d, picking 3 at p first: 6 on board.
    assert names(evaluate(p, [Route(0, (0, 1))])) == [("capacity", 0, None, 2.0)]
    ev = evaluate(p, [Route(0, (1, 0))])
    assert ev.feasible and ev.routes[0].load == ((0,), (3,))
    assert p.variant == "VRPMB"


def test_strict_backhaul_order():
    p = Problem(
        "strict",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("p", (1, 0), pickup=1), Client("d", (2, 0), delivery=1)),
        vehicle_types=(VehicleType("v", capacity=4),),
        backhaul="strict",
    )
    assert names(evaluate(p, [Route(0, (0, 1))])) == [("backhaul_order", 0, "d", 1.0)]
    assert evaluate(p, [Route(0, (1, 0))]).feasible
    assert p.variant == "VRPB"


def test_open_route_multi_depot_and_costs():
    p = Problem(
        "md",
        depots=(Depot("A", (0, 0)), Depot("B", (10, 0))),
        clients=(Client("x", (4, 0)), Client("y", (6, 0))),
        vehicle_types=(
            VehicleType("ab", start_depot="A", end_depot="B", fixed_cost=100, cost_per_distance=2,
                        cost_per_duration=0.5),
            VehicleType("open", start_depot="B", end_depot=None, fixed_cost=7),
        ),
    )
    ev = evaluate(p, [Route(0, (0, 1))])
    assert ev.distance == 10 and ev.duration == 10 and ev.cost == 100 + 20 + 5
    ev = evaluate(p, [Route(1, (1, 0))])  # B-y-x, no return
    r = ev.routes[0]
    assert (r.distance, r.end_depot, r.end_time, ev.cost) == (6, None, 6, 13)
    assert p.attributes == {"open", "multi_depot", "heterogeneous_fleet"}
    assert p.variant == "MDHFOVRP"


def test_shift_depot_window_duration_distance_limits():
    p = Problem(
        "limits",
        depots=(Depot("D", (0, 0), time_window=(0, 100)),),
        clients=(Client("a", (30, 0), time_windows=((50, 60),)),),
        vehicle_types=(VehicleType("v", shift=(0, 55), max_duration=40, max_distance=50),),
    )
    ev = evaluate(p, [Route(0, (0,))])
    r = ev.routes[0]
    # Leaves at 20, serves a at 50, back at 80: shift ends at 55.
    assert (r.start_time, r.end_time, r.duration, r.distance) == (20, 80, 60, 60)
    assert names(ev) == [("shift", 0, None, 25.0), ("max_duration", 0, None, 20.0),
                         ("max_distance", 0, None, 10.0)]
    closed = p.replace(depots=(Depot("D", (0, 0), time_window=(0, 70)),),
                       vehicle_types=(VehicleType("v"),))
    assert names(evaluate(closed, [Route(0, (0,))])) == [("depot_time_window", 0, "D", 10.0)]


def test_coverage_fleet_prizes_and_unknowns(line):
    p = line.replace(
        clients=(*line.clients[:2], Client("c3", (3, 0), delivery=1, required=False, prize=10)),
        vehicle_types=(VehicleType("v", capacity=3, count=1),),
    )
    ev = evaluate(p, [Route(0, (0,)), Route(0, (0,))])
    assert names(ev) == [("fleet_size", None, None, 1.0), ("duplicate_client", None, "c1", 1.0),
                         ("missing_client", None, "c2", 1.0)]
    assert ev.violations[0].vehicle_type == "v"
    assert ev.unassigned == (2,) and ev.prize_lost == 10 and ev.cost == 2 + 2 + 10
    ev = evaluate(p, {"routes": [{"vehicle_type": "v", "stops": ["D", "c1", "c2", "zz", "D"]},
                                 {"vehicle_type": "w", "stops": ["c3"]}]})
    assert names(ev) == [("unknown_id", 0, "zz", 1.0), ("unknown_vehicle_type", 1, "w", 1.0)]
    assert ev.distance == 4 and ev.cost == 14
    assert p.variant == "PCVRP"


def test_full_form_dict_round_trip(triangle):
    ev = evaluate(triangle, [Route(0, (1, 0))])
    again = evaluate(triangle, ev.to_dict(triangle))
    assert again.to_dict(triangle) == ev.to_dict(triangle)


def test_bad_plan_shapes(triangle):
    with pytest.raises(ValidationError, match=r"^routes: expected a list"):
        evaluate(triangle, {"routes": 3})
    with pytest.raises(ValidationError, match=r"^routes\[0\]\.stops\[1\]: expected a client id"):
        evaluate(triangle, {"routes": [{"stops": ["a", 7]}]})


def test_vector_capacity():
    p = Problem(
        "2d",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("a", (1, 0), delivery=(2, 5)), Client("b", (2, 0), delivery=(2, 1))),
        vehicle_types=(VehicleType("v", capacity=(5, 5)),),
    )
    ev = evaluate(p, [Route(0, (0, 1))])
    assert names(ev) == [("capacity", 0, None, 1.0)]
    assert ev.routes[0].start_load == (4, 6) and ev.routes[0].load == ((2, 1), (0, 0))


# -- brute-force reference ---------------------------------------------------------------------------------


def reference_route(p: Problem, v: int, clients: list[int]) -> dict[str, float]:
    """Naive schedule: try every integer departure time and keep the lateness-free one with the shortest
    duration (or, when every departure is late somewhere, the earliest departure)."""
    nd = p.n_depots
    vt = p.vehicle_types[v]
    s = p.depot_index[vt.start_depot]
    e = None if vt.end_depot is None else p.depot_index[vt.end_depot]
    nodes = [s] + [nd + c for c in clients] + ([e] if e is not None else [])
    distance = sum(p.distance[a, b] for a, b in itertools.pairwise(nodes))
    t0 = max(vt.shift[0], p.depots[s].time_window[0])

    def simulate(dep: float) -> tuple[float, float]:
        t, late, prev = dep, 0.0, s
        for c in clients:
            t += p.duration[prev, nd + c]
            for a, b in p.clients[c].time_windows:
                if t <= b:
                    t = max(t, a)
                    break
            else:
                late += t - p.clients[c].time_windows[-1][1]
            t += p.clients[c].service_time
            prev = nd + c
        if e is not None:
            t += p.duration[prev, e]
        return t - dep, late

    latest = min(vt.shift[1], p.depots[s].time_window[1])
    best = None
    for dep in np.arange(t0, min(latest, t0 + 200) + 1):
        dur, late = simulate(float(dep))
        if late == 0 and (best is None or dur < best - 1e-9):
            best = dur
    duration, late = (best, 0.0) if best is not None else simulate(t0)
    load = [sum(p.delivery[c] for c in clients)]
    for c in clients:
        load.append(load[-1] - p.delivery[c] + p.pickup[c])
    excess = max(float(np.max(q - p.capacity[v])) for q in load)
    return {"distance": float(distance), "duration": float(duration), "late": late, "excess": excess}


@st.composite
def instances(draw):
    n = draw(st.integers(1, 6))
    coords = st.tuples(st.integers(0, 20), st.integers(0, 20))
    clients = []
    for i in range(n):
        a = draw(st.integers(0, 60))
        width = draw(st.integers(0, 40))
        windows = ((a, a + width),)
        if draw(st.booleans()):
            windows = ((0, math.inf),)
        clients.append(Client(f"c{i}", draw(coords), delivery=draw(st.integers(0, 4)),
                              pickup=draw(st.integers(0, 4)), service_time=draw(st.integers(0, 5)),
                              time_windows=windows))
    depots = (Depot("D", draw(coords)), Depot("E", draw(coords)))
    vts = (
        VehicleType("v", capacity=draw(st.integers(3, 12)), shift=(draw(st.integers(0, 10)), math.inf)),
        VehicleType("o", capacity=draw(st.integers(3, 12)), start_depot="E", end_depot=None),
    )
    p = Problem("random", depots=depots, clients=tuple(clients), vehicle_types=vts,
                matrix={"provider": "euclidean", "round": "nearest"})
    perm = draw(st.permutations(range(n)))
    cut = draw(st.integers(0, n))
    routes = [Route(0, tuple(perm[:cut])), Route(1, tuple(perm[cut:]))]
    return p, routes


@settings(max_examples=200, deadline=None)
@given(instances())
def test_matches_brute_force_reference(case):
    p, routes = case
    ev = evaluate(p, routes)
    scheds = iter(ev.routes)
    total = 0.0
    for r_i, route in enumerate(r for r in routes if r.clients):
        ref = reference_route(p, route.vehicle_type, list(route.clients))
        got = next(scheds)
        assert got.distance == pytest.approx(ref["distance"])
        assert got.duration == pytest.approx(ref["duration"])
        late = sum(v.amount for v in ev.violations if v.constraint == "time_window" and v.route == r_i)
        assert late == pytest.approx(ref["late"])
        cap = [v.amount for v in ev.violations if v.constraint == "capacity" and v.route == r_i]
        assert (cap[0] if cap else 0.0) == pytest.approx(max(ref["excess"], 0.0))
        total += ref["distance"]
    assert ev.cost == pytest.approx(total)
    assert ev.feasible == (not ev.violations)


def test_a_window_closed_within_the_tolerance_still_serves():
    # Arrival at 1 + 1e-9 (distance 1, durations scaled by a hair): late by less than the tolerance, so the client
    # is served in its first window [0, 1], not made to wait for the second one at 100.
    p = Problem("hair", depots=(Depot("D", (0, 0)),),
                clients=(Client("a", (1, 0), time_windows=((0, 1), (100, 200))),),
                vehicle_types=(VehicleType("v"),),
                matrix={"provider": "euclidean", "speed": 1 / (1 + 1e-9)})
    e = evaluate(p, [Route(0, (0,))])
    assert e.feasible and e.routes[0].start[0] == pytest.approx(1.0) and e.duration == pytest.approx(2.0)


def test_to_dict_with_integer_window_times():
    """A Problem built in Python keeps integer window bounds and service times; with a wait the schedule
    holds int times (Python 3.11 has no int.is_integer) and the JSON still writes them."""
    clients = (Client("a", (3, 4), time_windows=((10, 20),), service_time=1),
               Client("b", (3, 0), time_windows=((0, 3),)))
    problem = Problem("wait", (Depot("D", (0, 0)),), clients, (VehicleType("v", count=1),))
    out = evaluate(problem, Solution.from_lists([[1, 0]])).to_dict(problem)
    stop = out["routes"][0]["stops"][1]
    assert (stop["arrival"], stop["start"], stop["departure"]) == (7, 10, 11)
    assert out["routes"][0]["end_time"] == 16
