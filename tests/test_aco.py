"""The ant colony solver: exact optima on tiny problems, feasible plans for every attribute, reproducibility,
options and errors, and a CVRPLIB X instance."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from conftest import nearest_neighbour, needs_data, tight_fleet
from test_localsearch import VARIANTS, random_problem, square, two_window_line
from vrpkit.solvers import get_solver
from vrpkit.solvers.aco import ACOSolver, fill_mode

import vrpkit
from vrpkit import Client, Depot, Problem, Route, SolverError, VehicleType, evaluate
from vrpkit.generate import uniform_instance


def test_finds_the_optimum_of_a_tiny_problem():
    result = vrpkit.solve(square(capacity=2), "aco", time_limit=60, seed=1, iterations=5)
    assert result.feasible
    assert result.cost == pytest.approx(40 + 10 * math.sqrt(2))
    assert result.stats["iterations"] == 5


def test_several_windows_per_client():
    # See test_localsearch.two_window_line: b then a, b served at 40 in its second window (cost 40 + 40).
    p = two_window_line()
    result = vrpkit.solve(p, "aco", iterations=3, ants=4)
    assert result.feasible
    assert result.cost == pytest.approx(80.0)
    plain = vrpkit.solve(p, "aco", iterations=2, ants=4, ls_ants=0)
    assert plain.feasible


def test_open_routes_and_prizes():
    assert vrpkit.solve(square(end_depot=None), "aco", iterations=3).cost == pytest.approx(30.0)
    clients = (Client("near", (1, 0), prize=5, required=False), Client("far", (50, 0), prize=5, required=False),
               Client("must", (0, 2)))
    p = Problem("prizes", (Depot("o", (0, 0)),), clients, (VehicleType("v"),))
    result = vrpkit.solve(p, "aco", iterations=3)
    # o -> must -> near -> o (2 + sqrt 5 + 1) and far's prize lost.
    assert result.cost == pytest.approx(3 + math.sqrt(5) + 5)
    assert result.evaluation.unassigned == (1,)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_attribute_gives_feasible_plans(variant):
    p = random_problem(5, n=30, **VARIANTS[variant])
    singles = evaluate(p, [Route(i % len(p.vehicle_types), (i,)) for i in range(p.n_clients)])
    result = vrpkit.solve(p, "aco", time_limit=10, seed=0, iterations=3, ants=8)
    assert result.feasible, result.evaluation.violations
    assert result.cost < singles.cost


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_ants_alone_build_feasible_plans(variant):
    # Without local search the plan is an ant's own: its feasibility rules must match the evaluator's.
    p = random_problem(6, n=30, **VARIANTS[variant])
    result = vrpkit.solve(p, "aco", seed=2, iterations=2, ants=6, ls_ants=0)
    assert result.feasible, result.evaluation.violations
    assert result.stats["local_search_moves"] == 0


def test_beats_nearest_neighbour_on_generated_instances():
    for seed in range(3):
        p = uniform_instance(60, seed=seed)
        nn = evaluate(p, nearest_neighbour(p))
        assert nn.feasible
        with_ls = vrpkit.solve(p, "aco", seed=seed, iterations=5)
        assert with_ls.feasible and with_ls.cost < 0.9 * nn.cost
        ants_alone = vrpkit.solve(p, "aco", seed=seed, iterations=20, ls_ants=0)
        assert ants_alone.feasible and ants_alone.cost < nn.cost


def test_fill_rule_by_size_and_fleet():
    small, large = uniform_instance(199, seed=0), uniform_instance(200, seed=0)
    assert (fill_mode(small, None), fill_mode(large, None)) == (2, 0)
    assert (fill_mode(small, 0), fill_mode(large, 2)) == (0, 2)
    limited = small.replace(vehicle_types=(VehicleType("v", capacity=50, count=30),))
    assert fill_mode(limited, None) == fill_mode(limited, 0) == 1


def test_fleet_limits_are_kept():
    # Three vehicles of capacity 10 for deliveries of 9 + 9 + 9 + 1 + 1 + 1: each route takes one 9.
    clients = tuple(Client(f"c{i}", (10 * (i % 3) + 1, 5 * (i // 3)), delivery=9 if i < 3 else 1)
                    for i in range(6))
    p = Problem("fleet", (Depot("o", (0, 0)),), clients, (VehicleType("v", count=3, capacity=10),))
    result = vrpkit.solve(p, "aco", iterations=5)
    assert result.feasible
    assert len(result.evaluation.routes) == 3


def test_tight_heterogeneous_fleet():
    p = tight_fleet()  # loads 4, 4 and 10 fill it exactly
    for seed in range(3):
        result = vrpkit.solve(p, "aco", seed=seed, iterations=3, ants=4)
        assert result.feasible, result.evaluation.violations
        loads = sorted(r.start_load[0] for r in result.evaluation.routes)
        assert loads == [4, 4, 10]


def test_same_seed_and_iterations_give_the_same_plan():
    p = random_problem(2, n=40)
    a = vrpkit.solve(p, "aco", time_limit=30, seed=3, iterations=4)
    b = vrpkit.solve(p, "aco", time_limit=30, seed=3, iterations=4)
    assert a.solution.routes == b.solution.routes
    assert a.stats["progress"][-1][1] == pytest.approx(a.cost)


def test_progress_and_batch():
    stream = io.StringIO()
    result = vrpkit.solve(random_problem(4, n=30), "aco", iterations=6, progress=stream)
    objectives = [obj for _, obj in result.stats["progress"]]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == pytest.approx(result.cost)
    assert "best objective" in stream.getvalue()
    problems = [random_problem(s, n=20) for s in range(3)]
    out = ACOSolver(iterations=2, ants=5).solve_many(problems, time_limit=10)
    assert len(out) == 3
    for (plan, ev), p in zip(out, problems, strict=True):
        assert plan is not None and ev.feasible and ev.cost == evaluate(p, plan).cost


def test_options_and_errors():
    assert get_solver("aco:ants=7,beta=2.5").ants == 7
    with pytest.raises(SolverError, match="unknown option"):
        get_solver("aco:colour=red")
    with pytest.raises(SolverError, match="rho"):
        ACOSolver(rho=1.5)
    with pytest.raises(SolverError, match="fill"):
        ACOSolver(fill=3)
    with pytest.raises(SolverError, match="device must be"):
        ACOSolver(device="tpu")
    assert ACOSolver(device="cuda:1").device == "cuda:1"


def test_no_plan_exists():
    p = Problem("heavy", (Depot("o", (0, 0)),), (Client("a", (1, 0), delivery=5),),
                (VehicleType("v", capacity=3),))
    result = vrpkit.solve(p, "aco", iterations=1)
    assert result.status == "no_solution"
    assert any("capacity" in reason for reason in result.stats["reasons"])


def test_cvrplib_x_instance():
    from vrpkit.io import read_problem

    folder = needs_data("cvrplib", "X")
    p = read_problem(folder / "X-n101-k25.vrp")
    with open(folder / "bks.csv") as f:
        bks = {row["instance"]: float(row["bks"]) for row in csv.DictReader(f)}
    result = vrpkit.solve(p, "aco", time_limit=30, seed=0, iterations=15)
    assert result.feasible
    assert result.cost <= 1.06 * bks["X-n101-k25"]


def test_candidate_lists_nearest_first_ties_by_index(monkeypatch):
    import vrpkit.solvers.aco as aco
    import vrpkit.solvers.localsearch as ls_module
    from test_localsearch import square

    p = square(capacity=2)  # o (0, 0); a (10, 0), b (10, 10), c (0, 10)
    lists = aco.candidate_lists(p, 3)
    # o: a and c at 10 (a first), b at 14.1; a: b, c; b: a and c at 10; c: b, a; -1 where no client is left.
    assert lists.tolist() == [[0, 2, 1], [1, 2, -1], [0, 2, -1], [1, 0, -1]]
    assert aco.candidate_lists(p, 1).tolist() == [[0], [1], [0], [1]]
    big = uniform_instance(50, seed=3)
    whole = aco.candidate_lists(big, 7)
    monkeypatch.setattr(ls_module, "BLOCK", 50)  # one row per block
    assert np.array_equal(aco.candidate_lists(big, 7), whole)


def test_trails_live_on_the_depot_rows_and_the_candidate_lists():
    from vrpkit.solvers.aco import Colony

    # Ten clients on a line at x = 1 .. 10 from the depot at 0, one vehicle for all: o 0 1 ... 9 o costs 20.
    clients = tuple(Client(f"c{i}", (i + 1, 0), delivery=1) for i in range(10))
    p = Problem("line10", (Depot("o", (0, 0)),), clients, (VehicleType("v", capacity=10),))
    colony = Colony(p, ACOSolver(), 0)
    assert colony.tau_dep.shape == (1, 10) and colony.tau_cl.shape == (10, 10)
    assert colony.cand[1 + 3].tolist() == [2, 4, 1, 5, 0, 6, 7, 8, 9, -1]  # client 3 (x = 4)
    colony.start_from([Route(0, tuple(range(10)))])
    assert colony.best_cost == pytest.approx(20.0)
    top = colony.tau_max
    assert top == pytest.approx(1 / (0.3 * 20.0)) and colony.tau_min < 0.7 * top
    # Evaporated to 0.7 top, then 1 / cost = 0.3 top on the plan's arcs both ways (symmetric): o-0 and o-9 on
    # the depot row, 3 -> 4 and 3 -> 2 (the first two of client 3's list); the rest stays at 0.7 top.
    expected = np.full(10, 0.7)
    expected[[0, 9]] = 1.0
    assert colony.tau_dep[0] / top == pytest.approx(expected)
    assert colony.tau_cl[3] / top == pytest.approx([1.0, 1.0] + [0.7] * 8)
    assert colony.tau_cl[0, :2] / top == pytest.approx([1.0, 0.7])  # 0 -> 1; 0 -> o has no trail
    wdep, wcl = colony.weights()  # alpha 1, beta 2: trail / distance ** 2
    assert wdep[0, 9] == pytest.approx(top / 100) and wcl[3, 2] == pytest.approx(0.7 * top / 4)


def test_iterated_local_search_phase_and_warm_start():
    p = random_problem(2, n=40)
    start = nearest_neighbour(p)
    before = evaluate(p, start).cost
    result = vrpkit.solve(p, "aco:ils=0.8", time_limit=1.0, seed=0, initial=start)
    assert result.feasible and result.cost <= before + 1e-9
    assert result.stats["perturbations"] > 0
    # With iterations the run is the colony alone (reproducible), warm start or not.
    assert vrpkit.solve(p, "aco", iterations=2, initial=start).stats["perturbations"] == 0
    assert vrpkit.solve(p, "aco:ils=0", time_limit=0.5, seed=0).stats["perturbations"] == 0
    with pytest.raises(SolverError, match="ils must be"):
        ACOSolver(ils=1.0)
    with pytest.raises(SolverError, match="ruin must be"):
        ACOSolver(ruin="all")


def test_ils_share_by_size_and_warm_start():
    from vrpkit.solvers.aco import ILS_SHARE, ils_share

    small, large = uniform_instance(199, seed=0), uniform_instance(200, seed=0)
    assert (ils_share(small, None, False), ils_share(large, None, False)) == (0.0, ILS_SHARE)
    assert ils_share(small, None, True) == ILS_SHARE and ils_share(large, 0.25, True) == 0.25
