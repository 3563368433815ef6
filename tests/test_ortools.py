"""The OR-Tools backend: every attribute (feasibility checked by the evaluator), optimal costs on tiny
instances worked out by hand, options, errors and the integer scaling."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import corner, needs_data, routes, two_depot_line, undirected
from vrpkit.solvers import Progress, get_solver
from vrpkit.solvers.ortools import ORToolsSolver, _Model, default_vehicle_bound, scales

import vrpkit
from vrpkit import Client, Depot, NoSolutionError, Problem, SolverError, VehicleType, evaluate
from vrpkit.diagnose import client_vehicle_feasibility
from vrpkit.io import read_problem

T = 0.5  # seconds: every instance here is tiny


def run(problem: Problem, spec: str = "ortools", **kw) -> vrpkit.Result:
    result = vrpkit.solve(problem, spec, time_limit=kw.pop("time_limit", T), seed=kw.pop("seed", 0), **kw)
    assert result.status == "feasible", (result.status, result.stats.get("reasons"),
                                         result.evaluation and result.evaluation.violations)
    return result


def square(capacity: int, backhaul: str) -> Problem:
    """Depot (0,0); deliveries d1 (4,0) and d2 (0,3) of 1 each, a pickup p (4,3) of 2.

    The loop D-d1-p-d2-D (14) visits the pickup between the deliveries. Deliveries first: D-d2-d1-p-D costs
    3 + 5 + 3 + 5 = 16 (D-d1-d2-p-D 18); two routes cost at least 18 (D-d1-p-D + D-d2-D).
    """
    return Problem(
        "square", backhaul=backhaul,
        depots=(Depot("D", (0, 0)),),
        clients=(Client("d1", (4, 0), delivery=1), Client("p", (4, 3), pickup=2),
                 Client("d2", (0, 3), delivery=1)),
        vehicle_types=(VehicleType("v", capacity=capacity),),
    )


# -- optimal costs on tiny instances ---------------------------------------------------------------------


def test_line_single_route(line):
    r = run(line)
    assert r.cost == 6 and undirected(r) == {("c1", "c2", "c3")}
    assert r.stats["time_scale"] == 1 and r.stats["cost_scale"] == 1  # integral data: no scaling


def test_capacity_vectors_second_dimension_binds():
    # On a line at 1, 2, 3: dimension 0 alone allows one route (6); dimension 1 (a: 2, b: 1, c: 1, capacity 2)
    # forbids a with anyone: routes D-b-c-D (6) and D-a-D (2).
    p = Problem(
        "dims", depots=(Depot("D", (0, 0)),),
        clients=(Client("a", (1, 0), delivery=(0, 2)), Client("b", (2, 0), delivery=(1, 1)),
                 Client("c", (3, 0), delivery=(1, 1))),
        vehicle_types=(VehicleType("v", capacity=(2, 2)),),
    )
    r = run(p)
    assert r.cost == 8 and undirected(r) == {("a",), ("b", "c")}


def test_time_windows_split_the_route():
    # a by 3 and b by 4: D-a-b reaches b at 8, D-b-a reaches a at 9, so two routes (14 instead of 12).
    p = corner(clients=(Client("a", (3, 0), time_windows=((0, 3),)), Client("b", (0, 4), time_windows=((0, 4),))))
    r = run(p)
    assert r.cost == 14 and routes(r) == {("a",), ("b",)}


def test_multiple_windows_gap_is_respected():
    # a is open [0, 8] and [20, 22]; b by 4; shift ends at 21. D-b-a reaches a at 9, in the gap: waiting to 20
    # brings the vehicle back at 23 > 21. So two routes (14); with a single window [0, 22] one route (12).
    a2 = Client("a", (3, 0), time_windows=((0, 8), (20, 22)))
    b = Client("b", (0, 4), time_windows=((0, 4),))
    r = run(corner(clients=(a2, b), shift=(0, 21)))
    assert r.cost == 14 and routes(r) == {("a",), ("b",)}
    one = run(corner(clients=(Client("a", (3, 0), time_windows=((0, 22),)), b), shift=(0, 21)))
    assert one.cost == 12 and routes(one) == {("b", "a")}
    # Without the shift end, waiting for the second window is fine: one route, a served at 20.
    wait = run(corner(clients=(a2, b)))
    assert wait.cost == 12 and wait.evaluation.routes[0].start == (4, 20)


def test_shift_start_and_depot_opening_hours():
    # The depot opens at 10; a closes at 12 (arrival 13 from the depot: impossible) -> diagnose says so.
    p = corner(clients=(Client("a", (3, 0), time_windows=((0, 12),)), Client("b", (0, 4))))
    late = p.replace(depots=(Depot("D", (0, 0), time_window=(10, 100)),))
    result = vrpkit.solve(late, time_limit=T)
    assert result.status == "no_solution"
    assert result.stats["reasons"] == [
        "client a: time window closes at 12 before any vehicle can arrive (earliest arrival 13)"]
    # Opening at 9 works; the shift (0, 21) then forces two routes: one route ends at 9 + 12 = 21 > 20.
    ok = run(p.replace(depots=(Depot("D", (0, 0), time_window=(9, 100)),),
                       vehicle_types=(VehicleType("v", shift=(0, 20)),)))
    assert ok.cost == 14
    assert all(s.start_time >= 9 and s.end_time <= 20 for s in ok.evaluation.routes)


def test_max_duration_and_service_time():
    # Service 1 at each client: one route lasts 14, two routes 7 and 9.
    clients = (Client("a", (3, 0), service_time=1), Client("b", (0, 4), service_time=1))
    assert run(corner(clients=clients, max_duration=14)).cost == 12
    r = run(corner(clients=clients, max_duration=13))
    assert r.cost == 14 and max(s.duration for s in r.evaluation.routes) == 9


def test_max_distance():
    assert run(corner(max_distance=12)).cost == 12
    assert run(corner(max_distance=11.5)).cost == 14


def test_open_routes():
    assert run(corner(end_depot=None)).cost == 7  # D-a and D-b
    r = run(corner(end_depot=None, count=1))
    assert r.cost == 8 and routes(r) == {("a", "b")}
    assert r.evaluation.routes[0].end_depot is None


def test_multi_depot_and_start_end_depots():
    two = two_depot_line(VehicleType("v1", count=1, capacity=1, start_depot="D1"),
                         VehicleType("v2", count=1, capacity=1, start_depot="D2"))
    r = run(two)
    assert r.cost == 4 and {(s.vehicle_type, s.clients) for s in r.evaluation.routes} == {(0, (0,)), (1, (1,))}
    across = two_depot_line(VehicleType("v", count=1, start_depot="D1", end_depot="D2"))
    r = run(across)
    assert r.cost == 10 and routes(r) == {("a", "b")}


@pytest.mark.parametrize(("small_fixed", "small_per_distance", "expected", "used"), [
    (1, 1, 16, {"small"}),  # two small: 6 + 8 + 2 against big: 12 + 10
    (5, 1, 22, {"big"}),  # two small: 24
    (1, 2, 22, {"big"}),  # two small: 28 + 2
])
def test_heterogeneous_fleet_fixed_and_distance_costs(small_fixed, small_per_distance, expected, used):
    types = (VehicleType("big", count=1, capacity=2, fixed_cost=10),
             VehicleType("small", count=2, capacity=1, fixed_cost=small_fixed,
                         cost_per_distance=small_per_distance))
    r = run(corner(vehicle_types=types))
    assert r.cost == expected
    assert {r.problem.vehicle_types[s.vehicle_type].id for s in r.evaluation.routes} == used


def test_duration_cost_excludes_avoidable_waiting():
    # cost = duration only. a opens at 10: leaving late avoids waiting. D-a-D lasts 6 and D-b-D 8; one route
    # lasts 12 either way (D-a-b-D leaves at 7, D-b-a-D at 1), with no waiting.
    p = corner(clients=(Client("a", (3, 0), time_windows=((10, 50),)), Client("b", (0, 4))),
               cost_per_distance=0, cost_per_duration=1)
    r = run(p)
    assert r.cost == 12 and len(r.evaluation.routes) == 1 and r.evaluation.routes[0].wait == (0, 0)


@pytest.mark.parametrize(("prize", "served", "cost"), [(3, {("a",)}, 9), (10, {("a", "b")}, 12)])
def test_prizes(prize, served, cost):
    # Serving the optional b costs 12 - 6 = 6 more: skipped when its prize is 3, served when it is 10.
    p = corner(clients=(Client("a", (3, 0)), Client("b", (0, 4), prize=prize, required=False)))
    r = run(p)
    assert r.cost == cost and undirected(r) == served


def test_optional_client_nobody_can_serve_is_left_out():
    p = corner(clients=(Client("a", (3, 0)), Client("b", (0, 4), time_windows=((0, 1),), prize=5, required=False)))
    r = run(p)
    assert r.cost == 11 and r.evaluation.unassigned == (1,)


def test_strict_backhaul_order():
    r = run(square(capacity=2, backhaul="strict"))
    assert r.cost == 16 and routes(r) == {("d2", "d1", "p")}


def test_mixed_backhaul_load_along_the_route():
    # Capacity 2: total deliveries 2 and pickups 2 both fit, but after d1 the pickup would bring the load to 3
    # on the loop: the pickup must come after both deliveries (16). Capacity 3 allows the loop (14).
    r = run(square(capacity=2, backhaul="mixed"))
    assert r.cost == 16 and routes(r) == {("d2", "d1", "p")}
    loop = run(square(capacity=3, backhaul="mixed"))
    assert loop.cost == 14 and undirected(loop) == {("d1", "p", "d2")}
    assert max(max(q) for s in loop.evaluation.routes for q in (s.start_load, *s.load)) == 3


def test_mixed_backhaul_client_with_delivery_and_pickup():
    # Each client drops 2 and picks up 2: the load is 4 on leaving and stays 4 for one route of both.
    p = Problem("dp", depots=(Depot("D", (0, 0)),),
                clients=(Client("a", (3, 0), delivery=2, pickup=2), Client("b", (0, 4), delivery=2, pickup=2)),
                vehicle_types=(VehicleType("v", capacity=4),))
    assert run(p).cost == 12
    assert run(p.replace(vehicle_types=(VehicleType("v", capacity=3),))).cost == 14


# -- everything at once ----------------------------------------------------------------------------------


def random_problem(rng: np.random.Generator, n: int, backhaul: str) -> Problem:
    """Two depots, three vehicle types (one open), windows (some double), services, prizes, pickups."""
    depots = (Depot("D0", (50, 50), (0, 1000)), Depot("D1", (20, 80), (0, 900)))
    clients = []
    for i in range(n):
        xy = tuple(float(v) for v in rng.uniform(0, 100, 2))
        start = float(rng.uniform(0, 300))
        windows = ((start, start + 200),) if i % 3 else ((start, start + 100), (start + 250, start + 400))
        amount = int(rng.integers(1, 6))
        if backhaul == "strict":
            delivery, pickup = ((amount, 1), (0, 0)) if i % 2 else ((0, 0), (amount, 1))
        else:
            delivery, pickup = (amount, 1), (int(rng.integers(0, 6)), 0)
        clients.append(Client(f"c{i}", xy, delivery=delivery, pickup=pickup, service_time=5,
                              time_windows=windows, prize=float(rng.uniform(0, 60)), required=i % 4 != 0))
    types = (
        VehicleType("van", count=3, capacity=(12, 4), start_depot="D0", max_duration=500, fixed_cost=20),
        VehicleType("truck", capacity=(20, 6), start_depot="D1", end_depot="D0", shift=(50, 900),
                    max_distance=400, fixed_cost=50, cost_per_duration=0.1),
        VehicleType("courier", count=2, capacity=(6, 3), start_depot="D1", end_depot=None, cost_per_distance=1.5),
    )
    return Problem("all", depots=depots, clients=tuple(clients), vehicle_types=types, backhaul=backhaul)


@pytest.mark.parametrize("backhaul", ["strict", "mixed"])
def test_every_attribute_at_once(backhaul):
    p = random_problem(np.random.default_rng(7), 14, backhaul)
    expected = {"capacity", "open", "duration_limit", "distance_limit", "time_windows", "multiple_time_windows",
                "multi_depot", "heterogeneous_fleet", "prizes",
                "backhaul" if backhaul == "strict" else "mixed_backhaul"}
    assert p.attributes == expected
    assert get_solver("ortools").supports(p) is None
    r = run(p, time_limit=1.0)
    assert r.evaluation.feasible
    assert abs(r.cost - r.stats["ortools_objective"]) <= scaling_error(r)


# -- scaling ---------------------------------------------------------------------------------------------


def scaling_error(result: vrpkit.Result) -> float:
    """How far the evaluator's cost may be from OR-Tools' objective: half a cost unit per arc (rounded arc
    costs), plus, with duration costs, one time unit per stop (times rounded up)."""
    ev, stats = result.evaluation, result.stats
    arcs = sum(len(s.clients) + 1 for s in ev.routes)
    per_duration = max(vt.cost_per_duration for vt in result.problem.vehicle_types)
    return arcs * 0.5 / stats["cost_scale"] + per_duration * arcs / stats["time_scale"] + 1e-9


def test_cost_matches_ortools_objective_within_scaling_error():
    rng = np.random.default_rng(3)
    clients = tuple(Client(f"c{i}", tuple(float(v) for v in rng.uniform(0, 10, 2)), delivery=1,
                           service_time=0.25, time_windows=((0, 40),)) for i in range(12))
    p = Problem("float", depots=(Depot("D", (5.0, 5.0)),), clients=clients,
                vehicle_types=(VehicleType("v", capacity=4, fixed_cost=2.5, cost_per_duration=0.3),))
    r = run(p)
    assert r.stats["time_scale"] == 1000 and r.stats["cost_scale"] > 1
    gap = abs(r.cost - r.stats["ortools_objective"])
    assert gap <= scaling_error(r)
    assert r.stats["ortools_objective_raw"] == round(r.stats["ortools_objective"] * r.stats["cost_scale"])


def test_scales():
    line = Problem("l", depots=(Depot("D", (0, 0)),), clients=(Client("a", (1, 0)),),
                   vehicle_types=(VehicleType("v", cost_per_duration=0.5),))
    assert scales(line, 1).time == 1 and scales(line, 1).cost == 10  # 0.5 per time unit -> 10 cost units
    skew = line.replace(clients=(Client("a", (1, 1)),))  # sqrt(2)
    assert scales(skew, 1).time == 1000 and scales(skew, 1).cost == 10**6
    huge = line.replace(clients=(Client("a", (1e10, 0.5)),))
    s = scales(huge, 1)
    assert s.time < 1000 and 2 * 1e10 * s.time < 10**15


# -- fleet bound -----------------------------------------------------------------------------------------


def test_vehicle_bound_for_unlimited_fleets(line):
    many = Problem("ten", depots=(Depot("D", (0, 0)),),
                   clients=tuple(Client(f"c{i}", (i + 1, 0), delivery=1) for i in range(10)),
                   vehicle_types=(VehicleType("v", capacity=5),))
    assert default_vehicle_bound(many, 0) == 2 + 2  # two full bins and a margin of 2
    assert default_vehicle_bound(line, 0) == 3  # never more than the clients
    # Times: a nearest-neighbour plan that checks every constraint. With a shift (0, 20) it has 2 routes
    # (c0..c4 back at 10, c5..c9 back at 20); when every client must be served at exactly 10, one route each.
    timed = many.replace(vehicle_types=(VehicleType("v", capacity=5, shift=(0, 20)),))
    assert default_vehicle_bound(timed, 0) == 4
    exact = many.replace(clients=tuple(replace(c, time_windows=((10, 10),)) for c in many.clients))
    assert default_vehicle_bound(exact, 0) == 10
    r = run(many)
    assert r.stats["vehicles"] == 4 and r.stats["vehicle_bound"] == {"v": 4}
    assert run(many, "ortools:vehicle_bound=2").stats["vehicles"] == 2


# -- options, progress, seeds ----------------------------------------------------------------------------


def test_options_from_spec_string(line):
    r = run(line, "ortools:first_solution=SAVINGS,metaheuristic=tabu_search,gls_lambda=0.2,operators=all")
    assert (r.stats["first_solution"], r.stats["metaheuristic"]) == ("savings", "tabu_search")
    assert r.cost == 6


def test_default_strategies(line):
    s = ORToolsSolver()
    mixed = line.replace(vehicle_types=(VehicleType("a", count=1, capacity=2),
                                        VehicleType("b", count=1, capacity=1)))
    assert s.default_first_solution(mixed) == "savings"
    assert run(mixed).cost == 6 + 2  # D-c1-D with b, D-c2-c3-D with a
    assert s.default_first_solution(corner()) == "path_cheapest_arc"
    assert s.default_first_solution(corner(shift=(0, 100))) == "parallel_cheapest_insertion"


@pytest.mark.parametrize(("spec", "message"), [
    ("ortools:speed=3", 'unknown option "speed"'),
    ("ortools:first_solution=fastest", 'unknown first_solution "fastest"'),
    ("ortools:metaheuristic=ants", 'unknown metaheuristic "ants"'),
    ("ortools:gls_lambda=-1", "gls_lambda must be a positive number"),
    ("ortools:vehicle_bound=2.5", "vehicle_bound must be an integer"),
    ("ortools:operators=some", 'unknown operators "some"'),
    ("ortools:restarts=-1", "restarts must be a non-negative integer"),
    ("ortools:params=time_limit_in_years: 3", "params: "),
])
def test_bad_options(spec, message):
    with pytest.raises(SolverError, match=message):
        get_solver(spec)


def test_progress_and_stats(line):
    r = run(line)
    assert r.stats["progress"] and r.stats["progress"][-1][1] == r.stats["ortools_objective"] == 6
    assert r.stats["solutions"] >= 1 and r.stats["ortools_status"] in ("success", "optimal")


def test_same_seed_same_plan():
    p = random_problem(np.random.default_rng(11), 12, "mixed")
    plans = [run(p, "ortools:solution_limit=30", time_limit=30, seed=seed).solution.routes for seed in (5, 5)]
    assert plans[0] == plans[1]
    # The seed orders the clients in OR-Tools' model: 0 keeps the problem's order, others permute it.
    feasible = client_vehicle_feasibility(p)
    order = {seed: _Model(p, feasible, seed=seed, vehicle_bound=None).node.tolist() for seed in (0, 5)}
    assert order[0] == [0, 1, *range(2, 14), -1] and sorted(order[5]) == sorted(order[0]) and order[5] != order[0]


# -- no plan ---------------------------------------------------------------------------------------------


def test_no_solution_reasons_from_diagnose():
    p = corner(clients=(Client("a", (3, 0), delivery=30), Client("b", (0, 4), time_windows=((0, 2),))),
               capacity=20)
    with pytest.raises(NoSolutionError) as err:
        ORToolsSolver().solve(p, time_limit=T, seed=0, progress=Progress())
    assert err.value.reasons == [
        "client a: delivery 30 exceeds every vehicle's capacity 20",
        "client b: time window closes at 2 before any vehicle can arrive (earliest arrival 4)",
    ]


def test_no_solution_found_within_the_time_limit():
    # Each client alone is fine, but one vehicle cannot be at a at time 3 and at b at time 4.
    p = corner(clients=(Client("a", (3, 0), time_windows=((3, 3),)), Client("b", (0, 4), time_windows=((4, 4),))),
               count=1)
    result = vrpkit.solve(p, time_limit=T)
    assert result.status == "no_solution"
    assert result.stats["reasons"] == ["no feasible plan found within 0.5 s (OR-Tools status: fail)"] or \
        result.stats["reasons"][0].startswith("no feasible plan found within 0.5 s")
    assert math.isinf(result.cost)


def test_evaluator_agrees_on_a_float_instance_with_windows():
    # Windows and travel times that are not integers: rounding must never make OR-Tools' plan late.
    rng = np.random.default_rng(5)
    clients = []
    for i in range(15):
        xy = tuple(float(v) for v in rng.uniform(0, 10, 2))
        start = float(rng.uniform(8, 25))
        clients.append(Client(f"c{i}", xy, delivery=1, service_time=0.37, time_windows=((start, start + 3.3),)))
    p = Problem("tw", depots=(Depot("D", (5.0, 5.0), (0, 60)),), clients=tuple(clients),
                vehicle_types=(VehicleType("v", capacity=5, max_duration=25.5),))
    r = run(p)
    assert evaluate(p, r.solution).feasible


def test_search_parameters_operators_and_params(line):
    from ortools.constraint_solver import pywrapcp

    def ops(problem, **options):
        return ORToolsSolver(**options).search_parameters(problem, 1.0)[0].local_search_operators

    assert ops(line).use_global_cheapest_insertion_path_lns == pywrapcp.BOOL_FALSE
    assert ops(line).use_make_chain_inactive == pywrapcp.BOOL_FALSE
    timed = line.replace(vehicle_types=(VehicleType("v", capacity=3, shift=(0, 100)),))
    assert ops(timed).use_global_cheapest_insertion_path_lns == pywrapcp.BOOL_TRUE
    assert ops(line, operators="ortools").use_global_cheapest_insertion_path_lns == pywrapcp.BOOL_TRUE
    assert ops(line, operators="all").use_path_lns == pywrapcp.BOOL_TRUE
    prizes = line.replace(clients=(*line.clients[:2], Client("c3", (3, 0), delivery=1, required=False, prize=1)))
    assert ops(prizes).use_make_chain_inactive == pywrapcp.BOOL_TRUE
    solver = ORToolsSolver(params="guided_local_search_lambda_coefficient: 0.25 solution_limit: 7")
    params = solver.search_parameters(line, 2.0)[0]
    assert params.guided_local_search_lambda_coefficient == 0.25 and params.solution_limit == 7
    assert params.time_limit.seconds == 2


def test_later_window_avoids_waiting_within_max_duration():
    # A (at 1) is open [0, 2] and [20, 21]; B (at 2) opens at 22; max_duration 10. Serving A in its first
    # window means waiting ~20 before B; leaving at 20 serves A at 21 and B at 22: back at 24, duration 4.
    p = Problem("later", depots=(Depot("D", (0, 0)),),
                clients=(Client("A", (1, 0), time_windows=((0, 2), (20, 21))),
                         Client("B", (2, 0), time_windows=((22, 30),))),
                vehicle_types=(VehicleType("v", count=1, max_duration=10),))
    r = run(p)
    s = r.evaluation.routes[0]
    assert r.cost == 4 and (s.start_time, s.start, s.duration) == (20, (21, 22), 4)


def test_restarts_continue_from_the_best_plan():
    # Heterogeneous fleet: the best plan's routes are put back on vehicles of their own types each round.
    types = (VehicleType("big", count=1, capacity=2, fixed_cost=10),
             VehicleType("small", count=2, capacity=1, fixed_cost=1))
    r = run(corner(vehicle_types=types), "ortools:restarts=2", time_limit=0.9)
    assert r.stats["restarts"] == 2 and r.cost == 16
    values = [v for _, v in r.stats["progress"]]
    assert values == sorted(values, reverse=True) and values[-1] == 16


def test_fallback_when_the_default_first_solution_fails(monkeypatch):
    # A small mixed fleet (capacity 84% used): local cheapest insertion fails outright on it.
    p = read_problem(needs_data("variants", "HFVRP", "X115-HVRP.vrp"))
    assert ORToolsSolver().default_first_solution(p) == "savings"
    chosen = vrpkit.solve(p, "ortools:first_solution=local_cheapest_insertion", time_limit=1)
    assert chosen.status == "no_solution"  # a strategy given as an option is used alone
    monkeypatch.setattr(ORToolsSolver, "default_first_solution", lambda self, problem: "local_cheapest_insertion")
    r = run(p, time_limit=1.5)
    assert r.stats["first_solution_failed"] == ["local_cheapest_insertion"]
    assert r.stats["first_solution"] == "parallel_cheapest_insertion"


def test_windows_far_apart_are_kept_by_a_constraint():
    # OR-Tools aborts the process on a domain with a hole wider than 2**32 units; b's second window starts at
    # 1e13. One vehicle: D -> a (5, served in its second window) -> b (5, waits until 1e13) -> D (6): 16.
    p = Problem("far", depots=(Depot("D", (0, 0)),),
                clients=(Client("a", (3, 4), time_windows=((0, 2), (20, 30))),
                         Client("b", (6, 0), time_windows=((0, 1), (1e13, 1e14)))),
                vehicle_types=(VehicleType("v", count=1),))
    r = run(p)
    assert r.feasible and r.cost == 16
    a_start, b_start = r.evaluation.routes[0].start
    assert 20 <= a_start <= 30 and b_start == 1e13


def test_prize_search_option_is_checked():
    assert ORToolsSolver().prize_search == "ils"
    assert ORToolsSolver(prize_search="classic").prize_search == "classic"
    with pytest.raises(vrpkit.SolverError, match="prize_search must be one of ils, classic, got 'x'"):
        ORToolsSolver(prize_search="x")
