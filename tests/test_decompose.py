"""Decomposition (``solve(..., decompose=True)``, ``vrpkit solve --decompose``): sub-problems and their way
back, fleet shares, the decomposed solve, its options and the CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import tight_fleet
from vrpkit.solvers.decompose import check_options, fleet_shares, group_routes, subproblem

import vrpkit
from vrpkit import Client, Depot, Problem, Route, SolverError, ValidationError, VehicleType, evaluate
from vrpkit.generate import generate

SOLVER = "pyvrp:max_iterations=200"
"""Stops on iterations: the same seed gives the same plan."""


def line_problem() -> Problem:
    """Depots D1 at 0 and D2 at 10 on a line; a at 1 (window [0, 5]), b at 9 (2 units, service 1), c at 2
    (optional, prize 4), d at 8; a van from D1 (count 2, capacity 2) and a truck from D2 (count 1, capacity 5,
    fixed cost 3, open)."""
    depots = (Depot("D1", (0, 0)), Depot("D2", (10, 0), (0, 100)))
    clients = (Client("a", (1, 0), delivery=1, time_windows=((0, 5),)),
               Client("b", (9, 0), delivery=2, service_time=1),
               Client("c", (2, 0), delivery=1, prize=4, required=False),
               Client("d", (8, 0), delivery=1))
    fleet = (VehicleType("van", count=2, capacity=2, start_depot="D1"),
             VehicleType("truck", count=1, capacity=5, start_depot="D2", end_depot=None, fixed_cost=3))
    return Problem("line", depots, clients, fleet)


def test_subproblem_keeps_depots_attributes_and_sub_matrices():
    p = line_problem()
    part = subproblem(p, [3, 0, 2])
    sub = part.problem
    assert [c.id for c in sub.clients] == ["d", "a", "c"]
    assert [d.id for d in sub.depots] == ["D1", "D2"]
    assert sub.depots[1].time_window == (0, 100)
    assert sub.clients[1].time_windows == ((0, 5),)
    assert (sub.clients[2].required, sub.clients[2].prize) == (False, 4)
    assert [(vt.id, vt.count, vt.open) for vt in sub.vehicle_types] == [("van", 2, False), ("truck", 1, True)]
    assert part.types == (0, 1)
    # node order: D1, D2, d, a, c; d-a = 7, D2-c = 8
    assert sub.distance[2, 3] == 7 and sub.distance[1, 4] == 8
    assert np.array_equal(sub.distance, p.distance[np.ix_([0, 1, 5, 2, 4], [0, 1, 5, 2, 4])])


def test_subplan_expands_back_exactly_and_costs_the_same():
    p = line_problem()
    part = subproblem(p, [3, 0, 2], counts=[0, 1])  # only the truck
    assert part.types == (1,) and [vt.id for vt in part.problem.vehicle_types] == ["truck"]
    sub_plan = [Route(0, (0, 2, 1))]  # truck from D2: d, c, a
    full_plan = part.expand(sub_plan)
    assert full_plan == (Route(1, (3, 2, 0)),)
    assert part.restrict(full_plan) == tuple(sub_plan)
    sub_ev, full_ev = evaluate(part.problem, sub_plan), evaluate(p, [*full_plan, Route(0, (1,))])
    # D2-d 2, d-c 6, c-a 1 (open): 9 + fixed 3 = 12; a is reached at 9 > 5 in both
    assert sub_ev.routes[0].cost == full_ev.routes[0].cost == 12
    late = ["time_window"]
    assert [v.constraint for v in sub_ev.violations] == [v.constraint for v in full_ev.violations] == late


def test_subproblem_rejects_bad_indices():
    with pytest.raises(ValidationError, match="clients"):
        subproblem(line_problem(), [0, 0])
    with pytest.raises(ValidationError, match="counts"):
        subproblem(line_problem(), [0], counts=[0, 0])


def test_fleet_shares_follow_the_load_then_cover_it():
    p = tight_fleet()  # deliveries 4 3 2 4 3 2; one vehicle of 10, two of 4
    # loads 8 and 10: by proportion (4/9, 5/9) the big one goes to the second group and one small one to
    # each; the first (4 < 8) then takes the second's small one, which keeps the big one (10 >= 10).
    assert fleet_shares(p, [np.array([0, 3]), np.array([1, 2, 4, 5])]) == [[0, 2], [1, 0]]
    unlimited = p.replace(vehicle_types=(VehicleType("v", capacity=10),))
    assert fleet_shares(unlimited, [np.array([0]), np.array([1])]) == [[None], [None]]


def test_group_routes_covers_every_route_once():
    p = generate("cvrp", 60, seed=2, distribution="uniform")
    plan = [Route(0, tuple(range(i, i + 6))) for i in range(0, 60, 6)]
    groups = group_routes(p, plan, 20, np.random.default_rng(0))
    assert sorted(r for g in groups for r in g) == list(range(10))
    assert all(sum(len(plan[r].clients) for r in g) <= 24 for g in groups)


@pytest.fixture(scope="module")
def medium() -> Problem:
    return generate("cvrp", 240, seed=3, distribution="uniform")


def test_decomposed_solve_is_feasible_and_no_worse_than_the_joined_plan(medium):
    result = vrpkit.solve(medium, SOLVER, decompose=True, part_size=80, workers=1, rounds=2, time_limit=60)
    d = result.stats["decompose"]
    assert result.feasible and (d["parts"], d["rounds"], d["whole"]) == (3, 2, False)
    costs = d["round_costs"]
    assert len(costs) == 3 and all(b <= a + 1e-9 for a, b in itertools.pairwise(costs))
    assert result.cost <= costs[0] + 1e-9
    assert result.cost == evaluate(medium, result.solution).cost


def test_limited_fleet_is_shared_and_kept(medium):
    total = int(medium.delivery.sum())  # 1,178: at least 24 vehicles of 50
    fleet = medium.replace(vehicle_types=(VehicleType("v", count=27, capacity=50),))
    result = vrpkit.solve(fleet, SOLVER, decompose=True, part_size=80, workers=1, rounds=1, time_limit=60)
    assert total == 1178 and result.feasible and len(result.solution.routes) <= 27
    assert result.stats["decompose"]["parts_without_vehicles"] == 0


def test_same_seed_same_plan_for_any_number_of_workers(medium):
    kw = {"decompose": True, "part_size": 80, "rounds": 1, "ls_memory": 0, "time_limit": 60, "seed": 5}
    one = vrpkit.solve(medium, SOLVER, workers=1, **kw)
    two = vrpkit.solve(medium, SOLVER, workers=2, **kw)
    assert one.solution.routes == two.solution.routes
    assert two.stats["decompose"]["workers"] == 2 and two.stats["decompose"]["startup"] > 0
    assert one.stats["decompose"]["local_search"].startswith("skipped")


def test_small_problem_is_solved_whole(medium):
    result = vrpkit.solve(medium, SOLVER, decompose=True, part_size=300, time_limit=30)
    assert result.feasible and result.stats["decompose"]["whole"] is True


def test_initial_plan_goes_straight_to_the_rounds(medium):
    start = [Route(0, tuple(range(i, min(i + 5, 240)))) for i in range(0, 240, 5)]
    result = vrpkit.solve(medium, SOLVER, decompose=True, part_size=80, workers=1, rounds=1, time_limit=60,
                          initial=start)
    assert result.stats["decompose"]["parts"] == 0
    assert result.cost < evaluate(medium, start).cost


def test_dask_scheduler_solves_the_parts(medium):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = vrpkit.solve(medium, SOLVER, decompose=True, part_size=80, rounds=1, ls_memory=0, seed=5,
                              time_limit=60, scheduler=cluster.scheduler_address)
    one = vrpkit.solve(medium, SOLVER, decompose=True, part_size=80, rounds=1, ls_memory=0, seed=5,
                       time_limit=60, workers=1)
    assert result.stats["decompose"]["scheduler"] == cluster.scheduler_address
    assert result.solution.routes == one.solution.routes


def test_scheduler_without_dask_names_the_extra(medium, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SolverError, match=r"dask.distributed: pip install 'vrpkit\[dist\]'"):
        vrpkit.solve(medium, SOLVER, decompose=True, part_size=80, scheduler="tcp://127.0.0.1:1")


@pytest.mark.parametrize(("options", "field"), [
    ({"workers": 0}, "workers"), ({"part_size": 1}, "part_size"), ({"rounds": -1}, "rounds"),
    ({"scheduler": "localhost"}, "scheduler"), ({"workers": 2, "scheduler": "tcp://h:1"}, "workers"),
    ({"workers": True}, "workers"),
])
def test_bad_options_name_themselves(options, field):
    with pytest.raises(ValidationError) as err:
        check_options(options.get("workers"), options.get("scheduler"), options.get("part_size"),
                      options.get("rounds"))
    assert err.value.field == field


def test_decompose_refuses_locks(medium):
    with pytest.raises(ValidationError, match="decompose"):
        vrpkit.solve(medium, SOLVER, decompose=True, locked=[Route(0, (0,))])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vrpkit", *args], capture_output=True, text=True, env=env,
                          check=False, timeout=120)


def test_cli_decompose(tmp_path, medium):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(medium.to_dict()))
    out = tmp_path / "sol.json"
    run = _cli("solve", str(path), "--decompose", "--solver", SOLVER, "--part-size", "80", "--workers", "1",
               "-t", "8", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "in parts (--decompose)" in run.stderr and "decompose [" in run.stderr
    stats = json.loads(out.read_text())["stats"]["decompose"]
    assert stats["parts"] == 3 and stats["workers"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--decompose", "--workers", "0"], "error: --workers: expected an integer >= 1, got 0"),
    (["--decompose", "--part-size", "1"], "error: --part-size: expected an integer >= 2, got 1"),
    (["--decompose", "--scheduler", "nowhere"], "error: --scheduler: expected an address like tcp://HOST:PORT"),
    (["--workers", "2"], "error: --workers: needs --decompose"),
    (["--part-size", "50"], "error: --part-size: needs --decompose"),
])
def test_cli_bad_options_exit_2_with_one_line(tmp_path, args, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(line_problem().to_dict()))
    run = _cli("solve", str(path), *args)
    assert run.returncode == 2
    assert run.stderr.strip().startswith(message) and len(run.stderr.strip().splitlines()) == 1
