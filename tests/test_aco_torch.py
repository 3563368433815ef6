"""The torch colony (``device="torch"``, on the CPU): feasibility rules equal to the evaluator's, feasible plans
for every attribute, exact optima on tiny problems, reproducibility, batches, and device errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import nearest_neighbour, tight_fleet  # noqa: E402
from test_localsearch import VARIANTS, random_problem, square, two_window_line  # noqa: E402
from vrpkit.solvers.aco import ACOSolver  # noqa: E402
from vrpkit.solvers.aco_torch import (  # noqa: E402
    TorchColony,
    _pair,
    _rows,
    batches,
    cat,
    resolve_device,
    solve_many_torch,
    solve_torch,
)
from vrpkit.solvers.base import Progress  # noqa: E402

import vrpkit  # noqa: E402
from vrpkit import Client, Depot, NoSolutionError, Problem, Route, SolverError, VehicleType, evaluate  # noqa: E402
from vrpkit.generate import uniform_instance  # noqa: E402


def run(problem: Problem, seed: int = 0, **options) -> tuple:
    """The plan of a short run on the CPU and its evaluation."""
    plan = solve_torch(problem, ACOSolver(**options), device="torch", time_limit=60, seed=seed)
    return plan, evaluate(problem, plan)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def route_feasible(p: Problem, route: Route) -> bool:
    """The evaluator finds no violation on ``route`` (the plan's other clients are left out)."""
    return all(v.constraint == "missing_client" for v in evaluate(p, [route]).violations)


@pytest.mark.parametrize("variant", ["cvrp", "vector capacity", "time windows + duration cost", "strict backhaul",
                                     "mixed backhaul", "open", "multi depot, heterogeneous", "prizes",
                                     "distance and duration limits", "depot hours and shifts",
                                     "several time windows"])
def test_the_feasibility_mask_is_the_evaluators(variant):
    # Grow random routes client by client: at every step, the clients the mask lets in are exactly those
    # with which the evaluator finds the closed route feasible (and, optional ones, worth their detour).
    p = random_problem(3, n=16, **VARIANTS[variant])
    colony = TorchColony([p], ACOSolver(ants=1, ls_ants=0), torch.device("cpu"), 0)
    rng = np.random.default_rng(1)
    n_types, width = len(p.vehicle_types), colony.node.shape[-1]
    nd = p.n_depots
    checked = 0
    for _trial in range(3):
        t = int(rng.integers(n_types))
        prefix = colony.start[0, t]
        last = int(p.vehicle_start[t])
        end = int(colony.end_nodes[0, t])
        route: list[int] = []
        while True:
            frm = torch.full((1, 1, n_types), last)
            ok, win = colony.fits(prefix.expand(1, 1, n_types, width), frm, _rows(colony.dist, frm))
            free = [c for c in range(p.n_clients) if c not in route]
            if not free:
                break
            dist = colony.dist[0].numpy()
            expected = [route_feasible(p, Route(t, (*route, c))) and (
                p.required[c] or p.prize[c] > p.vehicle_types[t].cost_per_distance * (
                    dist[last, nd + c] + dist[nd + c, end] - dist[last, end])) for c in free]
            assert ok[0, 0, t, free].tolist() == expected
            checked += len(free)
            fitting = [c for c, e in zip(free, expected, strict=True) if e]
            if not fitting:
                break
            c = int(rng.choice(fitting))
            i, j = torch.tensor(last), torch.tensor(nd + c)
            w = 0 if win is None else win[0, 0, t, c]
            prefix = cat(prefix, colony.node[0, c, w], colony.dist[0, i, j], colony.dur[0, i, j], p.n_dims)
            route.append(c)
            last = nd + c
    assert checked > 40


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("ls_ants", [0, 1])
def test_every_attribute_gives_feasible_plans(variant, ls_ants):
    p = random_problem(5, n=20, **VARIANTS[variant])
    singles = evaluate(p, [Route(i % len(p.vehicle_types), (i,)) for i in range(p.n_clients)])
    plan, ev = run(p, iterations=2, ants=6, ls_ants=ls_ants)
    assert ev.feasible, ev.violations
    assert ev.cost < singles.cost
    # The colony's own cost of its best plan is the evaluator's.
    assert plan.stats["aco_cost"] == pytest.approx(ev.cost, abs=1e-6)
    assert (plan.stats["local_search_moves"] > 0) == (ls_ants > 0)


@pytest.mark.parametrize("ls_ants", [0, 1])
def test_exact_optima_of_tiny_problems(ls_ants):
    # Capacity 2 for three unit deliveries at the corners of a square: a-b and c alone, 40 + 10 sqrt 2.
    _, ev = run(square(capacity=2), iterations=5, ls_ants=ls_ants)
    assert ev.cost == pytest.approx(40 + 10 * math.sqrt(2))
    assert sorted(len(r.clients) for r in ev.routes) == [1, 2]
    _, ev = run(square(end_depot=None), iterations=5, ls_ants=ls_ants)
    assert ev.cost == pytest.approx(30.0)
    clients = (Client("near", (1, 0), prize=5, required=False), Client("far", (50, 0), prize=5, required=False),
               Client("must", (0, 2)))
    p = Problem("prizes", (Depot("o", (0, 0)),), clients, (VehicleType("v"),))
    _, ev = run(p, iterations=5, ls_ants=ls_ants)
    # o -> must -> near -> o (2 + sqrt 5 + 1) and far's prize lost.
    assert ev.cost == pytest.approx(3 + math.sqrt(5) + 5)
    assert ev.unassigned == (1,)
    # b is served in its second window: 40 of distance and 40 of duration.
    plan, ev = run(two_window_line(), iterations=3, ls_ants=ls_ants)
    assert ev.cost == pytest.approx(80.0) == plan.stats["aco_cost"]


def test_fleet_limits_are_kept():
    p = tight_fleet()  # loads 4, 4 and 10 fill it exactly
    for seed in range(2):
        _, ev = run(p, seed=seed, iterations=3, ants=4, ls_ants=0)
        assert ev.feasible, ev.violations
        assert sorted(r.start_load[0] for r in ev.routes) == [4, 4, 10]


def test_same_seed_same_plan_and_progress():
    p = random_problem(2, n=30)
    for ls_ants in (0, 1):
        a, _ = run(p, seed=3, iterations=4, ls_ants=ls_ants)
        b, _ = run(p, seed=3, iterations=4, ls_ants=ls_ants)
        assert a.routes == b.routes
    # A batch of one is the same run.
    (many, _), = solve_many_torch([p], ACOSolver(iterations=4, ls_ants=1), device="torch", time_limit=60, seed=3)
    assert many.routes == a.routes
    progress = Progress()
    plan = solve_torch(p, ACOSolver(iterations=6, ls_ants=0), device="torch", time_limit=60, seed=0,
                       progress=progress)
    objectives = [obj for _, obj in progress.history]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == pytest.approx(evaluate(p, plan).cost)


def test_beats_nearest_neighbour_on_generated_instances():
    problems = [uniform_instance(40, seed=s) for s in range(3)]
    out = solve_many_torch(problems, ACOSolver(iterations=10, ls_ants=0), device="torch", time_limit=60, seed=0)
    for p, (plan, ev) in zip(problems, out, strict=True):
        assert plan is not None and ev.feasible
        nn = evaluate(p, nearest_neighbour(p))
        assert nn.feasible
        assert ev.cost < 0.95 * nn.cost


def test_a_batch_of_mixed_shapes():
    problems = [random_problem(s, n=12) for s in range(3)] + [random_problem(9, n=14, tw=True)]
    heavy = Problem("heavy", (Depot("o", (0, 0)),), (Client("a", (1, 0), delivery=5),),
                    (VehicleType("v", capacity=3),))
    empty = Problem("empty", (Depot("o", (0, 0)),), (), (VehicleType("v"),))
    problems += [heavy, empty, random_problem(4, n=12)]
    assert batches(problems, 20) == [[0, 1, 2, 6], [3], [4], [5]]
    out = solve_many_torch(problems, ACOSolver(iterations=3, ants=8), device="torch", time_limit=60, seed=0)
    assert out[4] == (None, None)
    for i, (p, (plan, ev)) in enumerate(zip(problems, out, strict=True)):
        if i == 4:
            continue
        assert plan is not None and ev.feasible, ev.violations
        assert ev.cost == evaluate(p, plan).cost
    assert out[0][0].stats["batch"] == 4
    with pytest.raises(NoSolutionError, match="no feasible plan exists"):
        solve_torch(heavy, ACOSolver(), device="torch", time_limit=1, seed=0)


def test_pheromone_bounds_deposit_and_restart():
    # After the first iteration: trails set to tau_max = 1 / (rho cost) when the first plan is found, evaporated
    # by rho, and the plan's arcs (both ways: distances are symmetric) get 1 / cost, which brings them back to
    # tau_max; every other trail is (1 - rho) tau_max, above tau_min.
    clients = tuple(Client(f"c{i}", (10 * math.cos(i * math.pi / 4), 10 * math.sin(i * math.pi / 4)))
                    for i in range(8))
    p = Problem("circle", (Depot("o", (0, 0)),), clients, (VehicleType("v"),))
    colony = TorchColony([p], ACOSolver(ants=4, rho=0.3, ls_ants=0), torch.device("cpu"), 0)
    colony.iterate(math.inf)
    routes, viol, stats = colony.results()[0]
    cost = stats["aco_cost"]
    assert viol == 0 and cost == pytest.approx(evaluate(p, routes).cost)
    tau_max = 1 / (0.3 * cost)
    root = 0.05 ** (1 / 8)
    assert float(colony.tau_max[0]) == pytest.approx(tau_max)
    assert float(colony.tau_min[0]) == pytest.approx(tau_max * (1 - root) / ((4 - 1) * root))  # 8 candidates
    arcs = set()
    for route in routes:
        path = [0, *(1 + c for c in route.clients), 0]
        arcs |= {(i, j) for a, b in itertools.pairwise(path) for i, j in ((a, b), (b, a))}
    tau = colony.tau[0].numpy()
    assert tau.shape == (10, 10)  # the depot, 8 clients and the virtual end of open routes
    for i in range(10):
        for j in range(10):
            assert tau[i, j] == pytest.approx(tau_max if (i, j) in arcs else 0.7 * tau_max)
    # One client: the first plan is the best; two iterations without improvement reset every trail.
    single = Problem("one", (Depot("o", (0, 0)),), (Client("a", (3, 4)),), (VehicleType("v"),))
    colony = TorchColony([single], ACOSolver(ants=2, restart=2, ls_ants=0), torch.device("cpu"), 0)
    for _ in range(3):
        colony.iterate(math.inf)
    assert int(colony.restarts[0]) == 1
    assert float(colony.best.cost[0]) == pytest.approx(10.0)
    assert bool((colony.tau == colony.tau_max[0]).all())


def test_row_and_pair_gathers():
    mat = torch.arange(2 * 3 * 4).view(2, 3, 4)
    idx = torch.tensor([[2, 0], [1, 1]])
    assert _rows(mat, idx).tolist() == [[mat[0, 2].tolist(), mat[0, 0].tolist()],
                                        [mat[1, 1].tolist(), mat[1, 1].tolist()]]
    assert _pair(mat, idx, torch.tensor([[3, 1], [0, 2]])).tolist() == [[11, 1], [16, 18]]


def test_devices():
    assert resolve_device("torch") == torch.device("cpu")
    with pytest.raises(SolverError, match='unknown device "gpu"'):
        resolve_device("gpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
        return
    for name in ("cuda", "cuda:1"):
        with pytest.raises(SolverError, match=f'device "{name}" is not available'):
            solve_torch(square(), ACOSolver(), device=name, time_limit=1, seed=0)
    with pytest.raises(SolverError, match="not available"):
        solve_many_torch([square()], ACOSolver(), device="cuda", time_limit=1, seed=0)


def test_the_device_option_selects_the_torch_backend():
    p = square(capacity=2)
    result = vrpkit.solve(p, "aco:device=torch", time_limit=60, iterations=3, ants=4)
    assert result.feasible and result.stats["device"] == "cpu"
    assert result.cost == pytest.approx(40 + 10 * math.sqrt(2))
    out = ACOSolver(device="torch", iterations=2, ants=4).solve_many([p, square()], time_limit=60)
    assert [o[0].stats["batch"] for o in out] == [2, 2]  # one shape (capacities may differ): one batch
    assert out[1][1].cost == pytest.approx(40.0)
    with pytest.raises(SolverError, match="not available"):
        vrpkit.solve(p, "aco:device=cuda:3", time_limit=1)
