"""Break placement (:func:`vrpkit._evaluate_kernel.best_breaks`, :func:`vrpkit.solvers.breaks.place_breaks` and its
call in :func:`vrpkit.solvers.base.solve`): hand-worked routes whose earliest (short-form) placement is worse,
the exhaustive optimum for one break, and the never-worse property on generated fleet instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vrpkit.solvers.breaks import place_breaks, route_events, route_of

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate, solve
from vrpkit._evaluate_kernel import best_breaks, fleet_arrays, fleet_route, fleet_work
from vrpkit.generate import generate
from vrpkit.model import Break
from vrpkit.solution import Solution


def at(x: float) -> tuple[float, float]:
    return (float(x), 0.0)


def line(clients, *breaks: Break, cost_per_duration: float = 1.0) -> Problem:
    vt = VehicleType("v", cost_per_duration=cost_per_duration, breaks=breaks)
    return Problem("line", (Depot("D", at(0)),), tuple(clients), (vt,))


def depot_lunch_is_late() -> Problem:
    # Lunch [0, 100] for 30; a at 10 (window [0, 20]), b at 20 (window [100, 110]). Short form: lunch at the
    # depot 0-30, a at 40, 20 late. After a: leave at 10 (a's slack), a at 20, lunch 20-50, b at 60, waits
    # to 100, back at 120: distance 40, duration 110, cost 150, feasible.
    clients = [Client("a", at(10), time_windows=((0.0, 20.0),)),
               Client("b", at(20), time_windows=((100.0, 110.0),))]
    return line(clients, Break("lunch", ((0.0, 100.0),), 30.0))


def lunch_fills_the_wait() -> Problem:
    # Lunch [0, 100] for 20; a at 10 (window [30, 35]), b at 20 (window [60, 70]). Short form: lunch at the
    # depot; the departure can be delayed by a's slack 5 only: lunch 5-25, a at 35, b at 45, waits to 60, back
    # at 80: duration 75, cost 115. After a: leave at 20, a at 30, lunch 30-50, b at 60, back at 80: duration
    # 60, cost 100 (distance 40).
    clients = [Client("a", at(10), time_windows=((30.0, 35.0),)),
               Client("b", at(20), time_windows=((60.0, 70.0),))]
    return line(clients, Break("lunch", ((0.0, 100.0),), 20.0))


def test_hand_worked_short_forms_and_their_best_placement():
    p = depot_lunch_is_late()
    short = evaluate(p, [Route(0, (0, 1))])
    assert short.cost == 160.0 and [(v.constraint, v.amount) for v in short.violations] == [("time_window", 20.0)]
    plan = place_breaks(p, Solution((Route(0, (0, 1)),)))
    assert plan.routes == (Route(0, (0, 1), breaks=((1, 0),)),)
    assert plan.stats["breaks_placed"] == 1
    ev = evaluate(p, plan)
    assert ev.feasible and (ev.distance, ev.duration, ev.cost) == (40.0, 110.0, 150.0)

    q = lunch_fills_the_wait()
    short = evaluate(q, [Route(0, (0, 1))])
    assert short.feasible and (short.duration, short.cost) == (75.0, 115.0)
    assert [(b.position, b.start, b.end) for b in short.routes[0].breaks] == [(0, 5.0, 25.0)]
    plan = place_breaks(q, Solution((Route(0, (0, 1)),)))
    assert plan.routes == (Route(0, (0, 1), breaks=((1, 0),)),)
    ev = evaluate(q, plan)
    assert ev.feasible and (ev.duration, ev.cost) == (60.0, 100.0)


def test_best_breaks_writes_the_listed_stops():
    p = lunch_fills_the_wait()
    F = fleet_arrays(p)
    work = fleet_work(F)
    out = np.full(8, 99, dtype=np.int64)
    n = best_breaks(F, 0, np.array([0, 1], dtype=np.int64), 2, work, out)
    assert out[:n].tolist() == [0, -2, 1]  # the lunch (-(n_depots + 1 + 0)) after a
    assert fleet_route(F, 0, out, n, work)[2:] == (100.0, 0.0)
    # From a listed start: the lunch after b (leaving at 25, a's slack: a at 35, b at 45, waits to 60, lunch
    # 60-80, back at 100: duration 75, cost 115).
    assert fleet_route(F, 0, np.array([0, 1, -2], dtype=np.int64), 3, work)[2:] == (115.0, 0.0)
    n = best_breaks(F, 0, np.array([0, 1, -2], dtype=np.int64), 3, work, out)
    assert out[:n].tolist() == [0, -2, 1]


def test_a_plan_already_best_is_kept_and_one_without_breaks_untouched():
    p = lunch_fills_the_wait()
    best = Solution((Route(0, (0, 1), breaks=((1, 0),)),))
    plan = place_breaks(p, best)
    assert plan.routes == best.routes and plan.stats["breaks_placed"] == 0
    plain = Problem("plain", (Depot("D", at(0)),), (Client("a", at(3)),), (VehicleType("v"),))
    sol = Solution((Route(0, (0,)),), {"x": 1})
    assert place_breaks(plain, sol) is sol


def test_two_breaks_both_move():
    # Coffee [0, 200] for 5 and lunch [0, 200] for 30; a at 10 (window [0, 15]), b at 20 (window [80, 90]).
    # Short form: both at the depot (0-5, 5-35), a at 45, 30 late. Best: both after a, leaving at 5 (a's
    # slack): a at 15, coffee 15-20, lunch 20-50, b at 60, waits to 80, back at 100: duration 95, cost 135.
    # (Coffee at the depot, lunch after a: duration 100; lunch after b: back at 130.)
    clients = [Client("a", at(10), time_windows=((0.0, 15.0),)),
               Client("b", at(20), time_windows=((80.0, 90.0),))]
    p = line(clients, Break("coffee", ((0.0, 200.0),), 5.0), Break("lunch", ((0.0, 200.0),), 30.0))
    short = evaluate(p, [Route(0, (0, 1))])
    assert [(v.constraint, v.amount) for v in short.violations] == [("time_window", 30.0)]
    plan = place_breaks(p, Solution((Route(0, (0, 1)),)))
    ev = evaluate(p, plan)
    assert ev.feasible and (ev.duration, ev.cost) == (95.0, 135.0)
    assert [pos for pos, _ in plan.routes[0].breaks] == [1, 1]
    every = [evaluate(p, [Route(0, (0, 1), breaks=tuple(zip(pos, order, strict=True)))])
             for pos in itertools.product(range(3), repeat=2) for order in ((0, 1), (1, 0))]
    assert min(e.cost for e in every if e.feasible) == 135.0


def random_plan(problem: Problem, rng: np.random.Generator) -> Solution:
    """The clients cut at random into routes of random types, in random order."""
    order = [int(c) for c in rng.permutation(problem.n_clients)]
    routes, i = [], 0
    while i < len(order):
        k = int(rng.integers(1, 5))
        routes.append(Route(int(rng.integers(len(problem.vehicle_types))), tuple(order[i:i + k])))
        i += k
    return Solution(tuple(routes))


def alone(problem: Problem, route: Route) -> tuple[float, float]:
    """The evaluator's summed violation amounts of ``route`` alone and its cost (shipments split: 1 each)."""
    ev = evaluate(problem, [route])
    viol = sum(v.amount for v in ev.violations if v.route == 0 or v.constraint == "shipment_split")
    return viol, ev.routes[0].cost


def rank(ev) -> tuple[int, float]:
    return (len(ev.violations), ev.cost)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["vrptwbr", "mtvrptwbr", "pdptwbr", "vrptwbrsk"]), st.integers(3, 9),
       st.integers(0, 10_000), st.integers(0, 2**32 - 1))
def test_never_worse_on_generated_fleet_instances(variant, n, seed, plan_seed):
    p = generate(variant, n, seed=seed, distribution="fleet")
    rng = np.random.default_rng(plan_seed)
    F = fleet_arrays(p)
    work = fleet_work(F)
    for _ in range(3):
        plan = random_plan(p, rng)
        before = evaluate(p, plan)
        placed = place_breaks(p, plan)
        after = evaluate(p, placed)
        assert rank(after) <= (rank(before)[0], rank(before)[1] + 1e-6)
        moved = sum(a != b for a, b in zip(plan.routes, placed.routes, strict=True))
        assert moved == placed.stats["breaks_placed"]
        # Per route: the evaluator's (summed violation, cost) is never worse; so is best_breaks's against the
        # route's own placement, and with one break it is the best of every position.
        out = np.zeros(4 * n + 8, dtype=np.int64)
        for old, new in zip(plan.routes, placed.routes, strict=True):
            (x0, c0), (x1, c1) = alone(p, old), alone(p, new)
            assert x1 < x0 - 1e-6 or (x1 <= x0 + 1e-6 and c1 <= c0 + 1e-6)
            v = old.vehicle_type
            s_old = route_events(p, old)
            _, _, c_old, x_old = fleet_route(F, v, s_old, len(s_old), work)
            length = best_breaks(F, v, s_old, len(s_old), work, out)
            _, _, c_new, x_new = fleet_route(F, v, out, length, work)
            assert (x_new < x_old - 1e-6) or (x_new <= x_old + 1e-6 and c_new <= c_old + 1e-6)
            assert (x_new, c_new) == pytest.approx(alone(p, route_of(p, v, out[:length])), rel=1e-9, abs=1e-6)
            if len(p.vehicle_types[v].breaks) == 1:
                every = [alone(p, Route(v, old.clients, breaks=((k, 0),))) for k in range(len(old.clients) + 1)]
                x_best = min(x for x, _ in every)
                c_best = min(c for x, c in every if x <= x_best + 1e-6)
                assert x_new == pytest.approx(x_best, abs=1e-6)
                assert c_new == pytest.approx(c_best, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("solver", ["aco", "ortools"])
def test_solve_places_the_breaks_of_every_backend(solver, monkeypatch):
    p = lunch_fills_the_wait()
    result = solve(p, solver, time_limit=1.0, seed=0)
    assert result.feasible and result.cost == pytest.approx(100.0)
    assert "breaks_placed" in result.stats
    monkeypatch.setenv("VRPKIT_NO_BREAK_PLACEMENT", "1")
    result = solve(p, solver, time_limit=1.0, seed=0)
    assert "breaks_placed" not in result.stats
