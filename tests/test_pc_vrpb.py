"""Prize-collecting and strict-backhaul (VRPB) problems in the OR-Tools backend: the solver's objective equal to
the evaluator's cost with fractional distances, the prize-aware starts of OR-Tools' search and its first plan
with strict backhaul (PyVRP's strict backhaul is tested against brute force in tests/test_pyvrp.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import undirected
from vrpkit.solvers.ortools import ORToolsSolver, drop_unprofitable

import vrpkit
from vrpkit import Client, Depot, Problem, VehicleType, evaluate
from vrpkit.io import read_problem
from vrpkit.io.vrplib import sol_cost_scale
from vrpkit.solution import Route

TINY_PC = """\
NAME : tiny-pc
TYPE : PCVRPTW
DIMENSION : 5
VEHICLES : 2
CAPACITY : 10
SERVICE_TIME : 2
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 5 1
3 5 2
4 6 2
5 40 30
DEMAND_SECTION
1 0
2 3
3 3
4 3
5 1
TIME_WINDOW_SECTION
1 0 1000
2 10 100
3 0 100
4 0 100
5 0 1000
PRIZE_SECTION
1 0
2 5
3 5
4 5
5 1
DEPOT_SECTION
1
-1
EOF
"""
"""A PCVRPTW file in PyVRP's dialect (DIMACS distances, truncated to one decimal). Clients "1", "2", "3" at
5.0, 5.3 and 6.3 from the depot, 1.0 ("1"-"2", "2"-"3") and 1.4 ("1"-"3") apart, prize 5 each; "4" at 50.0,
prize 1. Each alone costs more than its prize (a round trip of 10 or more), together they pay:
D-"2"-"3"-"1"-D = 5.3 + 1 + 1.4 + 5 = 12.7 < 15, and leaving "4" out costs 1: the optimum is 13.7. Leaving
every client out costs 16; the orders D-"1"-"2"-"3"-D (13.3) or any other are longer."""


@pytest.fixture
def tiny_pc(tmp_path: Path) -> Problem:
    path = tmp_path / "tiny-pc.vrp"
    path.write_text(TINY_PC, encoding="utf-8")
    return read_problem(path)


def test_pcvrptw_file_optimum_objective_equals_cost(tiny_pc):
    assert tiny_pc.distance[1, 3] == 1.4 and tiny_pc.attributes >= {"prizes", "time_windows"}
    r = vrpkit.solve(tiny_pc, "ortools", time_limit=1)
    assert r.status == "feasible" and r.cost == pytest.approx(13.7, abs=1e-9)
    assert undirected(r) == {("1", "3", "2")} and r.evaluation.unassigned == (3,)
    # The solver's objective is the evaluator's cost (arcs and prizes in the same unit, exact in tenths), and
    # the last progress entry is the objective of the plan returned.
    assert r.stats["cost_scale"] == 10 and r.stats["ortools_objective"] == pytest.approx(r.cost, abs=1e-9)
    assert r.stats["progress"][-1][1] == r.stats["ortools_objective"]
    assert round(r.cost * sol_cost_scale("PCVRPTW")) == 137


def test_search_starts_from_the_first_plan_without_unprofitable_clients(tiny_pc):
    # With one solution allowed, the plan is the start of the search: OR-Tools' first plan serves every
    # client (103.1 with the far "4"); without "4" and every client worth its prize it beats leaving all out.
    r = vrpkit.solve(tiny_pc, "ortools:solution_limit=1", time_limit=1)
    assert r.status == "feasible" and r.evaluation.unassigned == (3,) and r.cost < 16


def optional_clients(name: str, clients: tuple[tuple[str, tuple[int, int], int], ...], count: int) -> Problem:
    """Optional clients ``(id, location, prize)`` of delivery 1 around a depot at (5, 5), ``count`` vehicles of
    capacity 2, distances rounded to the nearest integer."""
    return Problem(name, depots=(Depot("D", (5, 5)),),
                   clients=tuple(Client(k, xy, delivery=1, prize=q, required=False) for k, xy, q in clients),
                   vehicle_types=(VehicleType("v", capacity=2, count=count),),
                   matrix={"provider": "euclidean", "round": "nearest"})


def test_search_starts_from_the_cheapest_start_plan():
    # Depot (5, 5), distances rounded: a (7, 2) prize 7, b (5, 3) prize 8, c (8, 0) prize 9, d (1, 6) prize 9;
    # D-a 4, D-b 2, D-c 6, D-d 4, a-b 2, a-c 2, a-d 7, b-c 4, b-d 5, c-d 9; three vehicles of capacity 2.
    # Parallel cheapest insertion builds D-a-b-D (8) and D-d-c-D (19); c's detour saves 9 + 6 - 4 = 11 > 9:
    # 8 + 8 + 9 lost = 25, where the local search stays (c fits nowhere for less than 9). Sequential cheapest
    # insertion builds D-b-d-D (11) and D-c-a-D (12): 23, the optimum. One solution allowed: the plan is the
    # start of the search.
    p = optional_clients("starts", (("a", (7, 2), 7), ("b", (5, 3), 8), ("c", (8, 0), 9), ("d", (1, 6), 9)), 3)
    r = vrpkit.solve(p, "ortools:solution_limit=1", time_limit=1)
    assert r.stats["starts"] == {"parallel_cheapest_insertion": 25, "sequential_cheapest_insertion": 23}
    assert r.stats["first_solution"] == "sequential_cheapest_insertion"
    assert r.cost == 23 and undirected(r) == {("b", "d"), ("a", "c")}
    # A strategy given as an option is the only start.
    r = vrpkit.solve(p, "ortools:solution_limit=1,first_solution=parallel_cheapest_insertion", time_limit=1)
    assert r.stats["starts"] == {"parallel_cheapest_insertion": 25} and r.cost == 25
    assert undirected(r) == {("a", "b"), ("d",)}


def test_start_plan_is_polished_by_the_local_search():
    # Depot (5, 5), distances rounded: a (1, 0) prize 7, b (5, 3) prize 5, c (9, 2) prize 10, d (9, 4) prize 7;
    # D-a 6, D-b 2, D-c 5, D-d 4, a-b 5, b-c 4, b-d 4, c-d 2, a-d 9; two vehicles of capacity 2. Parallel cheapest
    # insertion builds D-c-b-D (11) and D-d-a-D (19): a's detour saves 9 + 6 - 4 = 11 > 7, then D-d-D costs
    # 8 > 7, so both go: 11 + 14 lost = 25. The local search turns it into D-c-d-D (11) + D-b-D (4) + 7 lost (a)
    # = 22, the optimum (a costs more than its prize on every route, and {c, d} + {a, b} costs 24).
    p = optional_clients("polish", (("a", (1, 0), 7), ("b", (5, 3), 5), ("c", (9, 2), 10), ("d", (9, 4), 7)), 2)
    r = vrpkit.solve(p, "ortools:solution_limit=1,first_solution=parallel_cheapest_insertion", time_limit=1)
    assert r.stats["starts"] == {"parallel_cheapest_insertion": 22}
    assert r.cost == 22 and undirected(r) == {("b",), ("c", "d")}


def test_objective_equals_cost_with_irrational_distances():
    # D-a = sqrt 2, a-b = 1, D-b = sqrt 5: serving a only (2 sqrt 2, b's prize 0.5 lost) beats all, none (3.5)
    # and b only. Arc costs are rounded to the cost unit: at most half a unit per arc apart.
    p = Problem("irrational", depots=(Depot("D", (0, 0)),),
                clients=(Client("a", (1, 1), prize=3, required=False),
                         Client("b", (1, 2), prize=0.5, required=False)),
                vehicle_types=(VehicleType("v"),))
    r = vrpkit.solve(p, "ortools", time_limit=0.5)
    assert r.cost == pytest.approx(2 * math.sqrt(2) + 0.5, abs=1e-12) and r.evaluation.unassigned == (1,)
    assert r.stats["cost_scale"] == 10**6
    assert abs(r.stats["ortools_objective"] - r.cost) <= 2 * 0.5 / r.stats["cost_scale"]


def test_drop_unprofitable_clients_and_routes():
    # a (2, 0) is required; s (2, 3) is a detour of 3 + sqrt 13 - 2 = 4.6 for a prize of 1: removed. The far
    # pair f1 (10, 0), f2 (11, 0) costs 22 for prizes 3 + 3, though removing either alone saves less than 3:
    # the route goes. g1 (0, 5), g2 (0, 6) cost 12 for prizes 7 + 7: kept.
    clients = (Client("a", (2, 0)), Client("s", (2, 3), prize=1, required=False),
               Client("f1", (10, 0), prize=3, required=False), Client("f2", (11, 0), prize=3, required=False),
               Client("g1", (0, 5), prize=7, required=False), Client("g2", (0, 6), prize=7, required=False))
    p = Problem("drop", depots=(Depot("D", (0, 0)),), clients=clients, vehicle_types=(VehicleType("v"),))
    plan = [Route(0, (0, 1)), Route(0, (2, 3)), Route(0, (4, 5))]
    kept = drop_unprofitable(p, plan)
    assert kept == (Route(0, (0,)), Route(0, (4, 5)))
    before, after = evaluate(p, plan), evaluate(p, kept)
    assert after.feasible and after.cost == pytest.approx(4 + 12 + 1 + 6) and after.cost < before.cost


def test_drop_unprofitable_never_makes_a_later_stop_later():
    # D-x-y-D with x optional: removing x saves distance 1 + 1 - 1 = 1 > its prize 0.5, but the direct trip
    # D-y takes 10 against 1 + 1 through x (service 0): y would be reached later, so x stays.
    dist = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    dur = np.array([[0, 1, 10], [1, 0, 1], [10, 1, 0]], dtype=float)
    p = Problem("slow", depots=(Depot("D"),),
                clients=(Client("x", prize=0.5, required=False), Client("y", time_windows=((0, 2),))),
                vehicle_types=(VehicleType("v"),), distance=dist, duration=dur)
    assert drop_unprofitable(p, [Route(0, (0, 1))]) == (Route(0, (0, 1)),)
    fast = p.replace(duration=dist)
    assert drop_unprofitable(fast, [Route(0, (0, 1))]) == (Route(0, (1,)),)


# -- strict backhaul -------------------------------------------------------------------------------------


def strict_instance(n: int, seed: int, capacity: int) -> Problem:
    """``n`` clients on a 100 x 100 grid around the depot, alternately a delivery and a pickup of 1-9 (strict
    backhaul), distances rounded to integers, one unlimited vehicle type."""
    rng = np.random.default_rng(seed)
    clients = []
    for i in range(n):
        xy = tuple(int(v) for v in rng.integers(0, 100, 2))
        q = int(rng.integers(1, 10))
        clients.append(Client(f"c{i}", xy, delivery=q if i % 2 == 0 else 0, pickup=0 if i % 2 == 0 else q))
    return Problem("vrpb", backhaul="strict", depots=(Depot("D", (50, 50)),), clients=tuple(clients),
                   vehicle_types=(VehicleType("v", capacity=capacity),),
                   matrix={"provider": "euclidean", "round": "nearest"})


def test_ortools_strict_backhaul_first_plan():
    # path_cheapest_arc finds no plan for this one in 2 s (nor for X-n101-50-k13 in 30 s); parallel cheapest
    # insertion finds one at once.
    p = strict_instance(30, 1, 20)
    assert ORToolsSolver().default_first_solution(p) == "parallel_cheapest_insertion"
    r = vrpkit.solve(p, "ortools", time_limit=1)
    assert r.status == "feasible" and r.stats["first_solution"] == "parallel_cheapest_insertion"
    assert r.stats["progress"][0][0] < 0.5
