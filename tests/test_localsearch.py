"""The compiled local search: exact results on tiny plans, and agreement with the evaluator move by move on
random plans of every supported variant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vrpkit.solvers.localsearch import LocalSearch, improve

from vrpkit import Client, Depot, Problem, Route, Solution, ValidationError, VehicleType, evaluate


def square(**vehicle) -> Problem:
    """Depot at the origin, clients at the other corners of a 10 x 10 square (a tour costs 40)."""
    clients = (Client("a", (10, 0), delivery=1), Client("b", (10, 10), delivery=1),
               Client("c", (0, 10), delivery=1))
    return Problem("square", (Depot("o", (0, 0)),), clients, (VehicleType("v", **vehicle),))


def test_two_opt_uncrosses_a_tour():
    p = square()
    crossed = [Route(0, (0, 2, 1))]
    assert evaluate(p, crossed).cost == pytest.approx(20 + 20 * math.sqrt(2))
    out = improve(p, crossed)
    assert evaluate(p, out).cost == pytest.approx(40.0)
    assert [r.clients for r in out.routes] in ([(0, 1, 2)], [(2, 1, 0)])


def test_capacity_splits_and_merges_as_allowed():
    # Capacity 2: the best plan is a - b on one route (30 + sqrt 200 ... ) and c alone, or a alone and b - c.
    p = square(capacity=2)
    one_each = [Route(0, (0,)), Route(0, (1,)), Route(0, (2,))]
    assert evaluate(p, one_each).cost == pytest.approx(40 + 20 * math.sqrt(2))
    out = improve(p, one_each)
    ev = evaluate(p, out)
    assert ev.feasible
    assert ev.cost == pytest.approx(40 + 10 * math.sqrt(2))
    assert sorted(len(r.clients) for r in out.routes) == [1, 2]


def test_missing_clients_are_inserted_and_overloads_repaired():
    p = square(capacity=2)
    out = improve(p, [])
    assert evaluate(p, out).feasible
    assert evaluate(p, out).cost == pytest.approx(40 + 10 * math.sqrt(2))
    overloaded = [Route(0, (0, 1, 2))]
    assert not evaluate(p, overloaded).feasible
    assert evaluate(p, improve(p, overloaded)).feasible


def test_fixed_cost_merges_routes():
    p = square(fixed_cost=100)
    out = improve(p, [Route(0, (0,)), Route(0, (1,)), Route(0, (2,))])
    assert evaluate(p, out).cost == pytest.approx(140.0)


def test_open_route_drops_the_return_leg():
    p = square(end_depot=None)
    out = improve(p, [Route(0, (1, 0, 2))])
    # o -> a -> b -> c (30) or o -> c -> b -> a (30).
    assert evaluate(p, out).cost == pytest.approx(30.0)


def test_optional_clients_are_taken_only_when_their_prize_pays():
    clients = (Client("near", (1, 0), prize=5, required=False), Client("far", (50, 0), prize=5, required=False))
    p = Problem("prizes", (Depot("o", (0, 0)),), clients, (VehicleType("v"),))
    out = improve(p, [Route(0, (1,))])
    ev = evaluate(p, out)
    assert [r.clients for r in out.routes] == [(0,)]
    assert ev.cost == pytest.approx(2 + 5)


def test_a_left_out_client_replaces_a_cheaper_one_on_a_full_route():
    # One vehicle of capacity 2 serving a (10, 0) and b (20, 0): 40 driven, c's prize lost. c stands where b
    # does with a larger prize; inserting it overloads, leaving b out alone costs more (20 + 80). Serving c
    # in b's place: 40 + 30.
    def problem(c_demand: int) -> Problem:
        clients = (Client("a", (10, 0), delivery=1, prize=100, required=False),
                   Client("b", (20, 0), delivery=1, prize=30, required=False),
                   Client("c", (20, 0), delivery=c_demand, prize=50, required=False))
        return Problem("swap", (Depot("o", (0, 0)),), clients, (VehicleType("v", count=1, capacity=2),))

    p = problem(1)
    assert evaluate(p, [Route(0, (0, 1))]).cost == pytest.approx(90.0)
    out = improve(p, [Route(0, (0, 1))])
    assert [r.clients for r in out.routes] == [(0, 2)]
    assert evaluate(p, out).cost == pytest.approx(70.0)
    heavy = problem(2)  # c in b's place would overload: the plan stays
    out = improve(heavy, [Route(0, (0, 1))])
    assert [r.clients for r in out.routes] == [(0, 1)]
    assert evaluate(heavy, out).cost == pytest.approx(90.0)


def test_rejects_duplicates():
    p = square()
    with pytest.raises(ValidationError, match="twice"):
        improve(p, [Route(0, (0, 1)), Route(0, (1,))])
    with pytest.raises(ValidationError, match="vehicle_type"):
        improve(p, [Route(3, (0,))])


def two_window_line() -> Problem:
    """Clients on a line at 10 and 20 (speed 1, no service time, cost per duration 1); b opens at 0-15 or
    40-50, a at 0-100. Either order drives 40 and reaches b at 20 at the earliest: too late for 0-15, so b is
    served at 40 in its second window, leaving the depot at 20 (o -> a -> b) and back at 60: cost 40 + 40."""
    clients = (Client("a", (10, 0), time_windows=((0, 100),)),
               Client("b", (20, 0), time_windows=((0, 15), (40, 50))))
    return Problem("tw2", (Depot("o", (0, 0)),), clients, (VehicleType("v", cost_per_duration=1.0),))


def test_several_windows_per_client():
    p = two_window_line()
    a_b = [Route(0, (0, 1))]
    assert evaluate(p, a_b).cost == pytest.approx(80.0)
    ls = LocalSearch(p)
    ls.load(a_b)  # b gets its second window: the first one cannot be met
    assert ls.violation == 0
    assert ls.cost == pytest.approx(80.0)
    ls.load([Route(0, (0,))])  # b left out: inserted with the first window that lets it in
    ls.run()
    ev = evaluate(p, ls.routes())
    assert ev.feasible
    assert ls.violation == 0
    assert ev.cost == pytest.approx(80.0) == ls.cost


def random_problem(seed: int, n: int = 24, *, tw: bool = False, backhaul: str | None = None, open_: bool = False,
                   depots: int = 1, types: int = 1, prizes: bool = False, dims: int = 1,
                   max_distance: float = math.inf, max_duration: float = math.inf,
                   duration_cost: float = 0.0, hours: bool = False, two_windows: bool = False) -> Problem:
    """A random instance in which a route to each single client is feasible. ``hours``: the depots open
    from 0 to 300 and vehicle shifts run from 20 to 350 (with ``tw``). ``two_windows``: every other client
    has an earlier, narrow window before the one it can always be served in (with ``tw``)."""
    rng = np.random.default_rng(seed)
    depot_window = (0.0, 300.0) if hours else (0.0, math.inf)
    depot_list = tuple(Depot(f"d{i}", tuple(rng.uniform(30, 70, 2)), time_window=depot_window)
                       for i in range(depots))
    centre = np.array(depot_list[0].location)
    clients = []
    for i in range(n):
        loc = rng.uniform(0, 100, 2)
        far = float(np.linalg.norm(loc - centre)) + 40
        delivery = tuple(int(x) for x in rng.integers(0, 8, dims)) if dims > 1 else int(rng.integers(1, 8))
        pickup: tuple[int, ...] | int = ()
        if backhaul and i % 3 == 0:
            pickup = tuple(int(x) for x in rng.integers(1, 8, dims)) if dims > 1 else int(rng.integers(1, 8))
            if backhaul == "strict":
                delivery = ()
        windows = ((0.0, math.inf),)
        if tw:
            a = float(rng.uniform(0, 150))
            windows = ((a, max(a + float(rng.uniform(10, 60)), far)),)
            if two_windows and i % 2 == 0:
                early = float(rng.uniform(0, 60))
                windows = ((early, early + float(rng.uniform(5, 20))), (max(a, early + 40), windows[0][1] + 40))
        clients.append(Client(f"c{i}", tuple(loc), delivery=delivery, pickup=pickup,
                              service_time=5.0 if tw else 0.0, time_windows=windows,
                              prize=float(rng.uniform(0, 60)) if prizes else 0.0,
                              required=not (prizes and i % 2 == 0)))
    vts = []
    for t in range(types):
        cap = tuple([20 + 10 * t] * dims) if dims > 1 else 20 + 10 * t
        vts.append(VehicleType(f"v{t}", capacity=cap, start_depot=f"d{t % depots}",
                               end_depot=None if open_ else f"d{t % depots}", fixed_cost=10.0 * t,
                               cost_per_distance=1.0 + 0.25 * t, cost_per_duration=duration_cost,
                               shift=((20.0, 350.0) if hours else (0.0, 400.0)) if tw else (0.0, math.inf),
                               max_distance=max_distance,
                               max_duration=max_duration))
    return Problem(f"random{seed}", depot_list, tuple(clients), tuple(vts),
                   backhaul="strict" if backhaul == "strict" else "mixed")


VARIANTS = {
    "cvrp": {},
    "vector capacity": {"dims": 2},
    "time windows + duration cost": {"tw": True, "duration_cost": 0.5},
    "mixed backhaul": {"backhaul": "mixed"},
    "strict backhaul": {"backhaul": "strict"},
    "open": {"open_": True},
    "multi depot, heterogeneous": {"depots": 2, "types": 3},
    "prizes": {"prizes": True},
    "distance and duration limits": {"tw": True, "max_distance": 180.0, "max_duration": 200.0},
    "depot hours and shifts": {"tw": True, "hours": True, "duration_cost": 0.2},
    "several time windows": {"tw": True, "two_windows": True},
    "all at once, mixed backhaul": {"tw": True, "two_windows": True, "backhaul": "mixed", "open_": True,
                                    "depots": 2, "types": 3, "prizes": True, "dims": 2, "max_distance": 250.0,
                                    "max_duration": 300.0, "hours": True, "duration_cost": 0.2},
    "all at once, strict backhaul": {"tw": True, "backhaul": "strict", "depots": 2, "types": 2, "prizes": True,
                                     "dims": 2, "max_distance": 250.0, "hours": True},
}


def descend(p: Problem, routes: list[Route], start_cost: float) -> list[float]:
    """The local search from the feasible ``routes``, one move at a time: after each move the plan is feasible,
    costs what the search says and no more than before. The evaluator's cost after each move."""
    ls = LocalSearch(p, granularity=8)
    ls.load(routes)
    assert ls.cost == pytest.approx(start_cost, abs=1e-6)
    assert ls.violation == 0
    costs = [start_cost]
    done = False
    while not done:
        done = ls.run(max_moves=1, seed=len(costs))
        ev = evaluate(p, ls.routes())
        assert ev.feasible, ev.violations
        assert ev.cost == pytest.approx(ls.cost, abs=1e-6)
        assert ev.cost <= costs[-1] + 1e-9
        costs.append(ev.cost)
    return costs


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_move_keeps_the_plan_feasible_and_never_worse(variant):
    p = random_problem(7, **VARIANTS[variant])
    routes = [Route(i % len(p.vehicle_types), (i,)) for i in range(p.n_clients)]
    start = evaluate(p, routes)
    assert start.feasible
    costs = descend(p, routes, start.cost)
    assert len(costs) > 5
    assert costs[-1] < 0.8 * costs[0]


@pytest.mark.parametrize("variant", ["cvrp", "time windows + duration cost", "strict backhaul"])
def test_repairs_a_random_plan(variant):
    p = random_problem(3, **VARIANTS[variant])
    rng = np.random.default_rng(0)
    perm = rng.permutation(p.n_clients)
    routes = [Route(0, tuple(int(c) for c in chunk)) for chunk in np.array_split(perm, 3)]
    ls = LocalSearch(p, granularity=8)
    ls.load(routes)
    ev = evaluate(p, routes)
    assert not ev.feasible
    assert ls.violation > 0
    ls.run()
    ev = evaluate(p, ls.routes())
    assert ev.feasible, ev.violations
    assert ls.violation == 0
    assert ev.cost == pytest.approx(ls.cost, abs=1e-6)


def test_same_seed_same_plan():
    p = random_problem(11, n=40)
    start = Solution.from_lists([[i] for i in range(p.n_clients)])
    a = improve(p, start, seed=5)
    b = improve(p, start, seed=5)
    assert a.routes == b.routes


def stuck_on_the_cheap_client() -> Problem:
    """One vehicle of capacity 2; x and x2 at (5, 0) are worth 6 each (together a round trip of 10), y at
    (0, 6) needs the whole vehicle and is worth 30 (a round trip of 12). Serving x and x2 costs 10 + 30 lost =
    40 and no move improves it (y does not fit beside them, nor in the place of one, there is no other
    vehicle, leaving one out costs 6 more); serving y costs 12 + 12 = 24, the optimum."""
    clients = (Client("x", (5, 0), delivery=1, prize=6, required=False),
               Client("y", (0, 6), delivery=2, prize=30, required=False),
               Client("x2", (5, 0), delivery=1, prize=6, required=False))
    return Problem("stuck", (Depot("o", (0, 0)),), clients, (VehicleType("v", capacity=2, count=1),))


def test_ruin_and_recreate_leaves_a_local_optimum():
    p = stuck_on_the_cheap_client()
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 2))])
    assert ls.run(seed=0)  # a local optimum
    assert ls.cost == pytest.approx(40.0) and [r.clients for r in ls.routes()] == [(0, 2)]
    # Each iteration leaves every client out and inserts them again: x or x2 alone does not pay, y does.
    done = ls.iterate(iterations=10, seed=0)
    assert done == 10
    assert [r.clients for r in ls.routes()] == [(1,)]
    assert ls.cost == pytest.approx(24.0) == evaluate(p, ls.routes()).cost
    out = improve(p, [Route(0, (0, 2))], time_limit=0.5, perturb=True)
    assert evaluate(p, out).cost == pytest.approx(24.0)
    assert out.stats["perturbations"] >= 1
    assert evaluate(p, improve(p, [Route(0, (0, 2))], time_limit=0.5)).cost == pytest.approx(40.0)
    # Options of the iterated search reach it: three iterations, ruin and recreate only, still the optimum.
    out = improve(p, [Route(0, (0, 2))], time_limit=5, perturb=True, ils={"iterations": 3, "max_passes": 0})
    assert out.stats["perturbations"] == 3
    assert evaluate(p, out).cost == pytest.approx(24.0)


@pytest.mark.parametrize("variant", ["prizes", "time windows + duration cost", "all at once, mixed backhaul"])
def test_iterated_search_is_seeded_and_never_worse(variant):
    p = random_problem(7, n=40, **VARIANTS[variant])
    runs = []
    for _ in range(2):
        ls = LocalSearch(p)
        ls.load([])
        ls.run(seed=1)
        before = (ls.violation, ls.cost)
        ls.iterate(iterations=30, seed=3, ruin_size=(3, 8))
        after = (ls.violation, ls.cost)
        ev = evaluate(p, ls.routes())
        assert after[0] <= before[0] + 1e-9 and (after[0] < before[0] - 1e-9 or after[1] <= before[1] + 1e-7)
        assert ev.cost == pytest.approx(ls.cost) and ev.feasible == (ls.violation == 0)
        runs.append(ls.routes())
    assert runs[0] == runs[1]


@pytest.mark.parametrize("ruin", ["radial", "strings"])
def test_string_ruin_is_seeded_and_never_worse(ruin):
    p = random_problem(7, n=40, **VARIANTS["all at once, mixed backhaul"])
    runs = []
    for _ in range(2):
        ls = LocalSearch(p)
        ls.load([])
        ls.run(seed=1)
        before = (ls.violation, ls.cost)
        seen = []
        ls.iterate(iterations=30, seed=3, ruin_size=(3, 8), ruin=ruin, on_best=seen.append)
        assert (ls.violation, ls.cost) <= (before[0], before[1] + 1e-7)
        assert seen == sorted(seen, reverse=True)  # each call a new best plan without violation
        if seen:
            assert seen[-1] == pytest.approx(ls.cost) and ls.violation == 0
        runs.append(ls.routes())
    assert runs[0] == runs[1]
    with pytest.raises(ValidationError, match="ruin"):
        LocalSearch(p).iterate(iterations=1, ruin="everything")


def line(n: int) -> Problem:
    """Clients 0..n-1 at x = 1..n on a line from the depot at 0, unit demands, unlimited fleet."""
    clients = tuple(Client(f"c{i}", (float(i + 1), 0.0), delivery=1) for i in range(n))
    return Problem("line", (Depot("o", (0.0, 0.0)),), clients, (VehicleType("v", capacity=5),))


def ruined(ls: LocalSearch, near: np.ndarray, u: int, size: int, longest: int, strings: bool, seed: int
           ) -> tuple[list[int], list[tuple[int, ...]]]:
    """The clients :func:`_ruin` hands to the recreate, and the routes it leaves."""
    from vrpkit.solvers.localsearch import _ruin

    work = ls._work(np.random.default_rng(seed))
    count = _ruin(ls._packed, ls.cfg, work, near, u, size, longest, strings)
    return work[2][:count].tolist(), [r.clients for r in ls.routes()]


def test_string_ruin_cuts_each_route_once():
    # Routes (0 1 2 3 4) and (5 6 7); u = 2, then 3 (same route, skipped), 6, 0 (same route again).
    p = line(8)
    near = np.zeros((8, 3), np.int64)
    near[2] = [3, 6, 0]
    for seed in range(20):
        ls = LocalSearch(p)
        ls.load([Route(0, (0, 1, 2, 3, 4)), Route(0, (5, 6, 7))])
        out, routes = ruined(ls, near, 2, 5, 3, True, seed)
        first, second = sorted(c for c in out if c < 5), sorted(c for c in out if c >= 5)
        assert 2 in first and 1 <= len(first) <= 3 and np.all(np.diff(first) == 1)
        assert len(out) <= 5 and len(set(out)) == len(out)
        if len(first) < 5:  # room left: the second route loses a string around 6
            assert 6 in second and np.all(np.diff(second) == 1)
        # the routes keep their other clients in order, and the search's cost is the evaluator's
        kept = [tuple(c for c in r if c not in out) for r in ((0, 1, 2, 3, 4), (5, 6, 7))]
        assert sorted(routes) == sorted(r for r in kept if r)
        assert ls.cost == pytest.approx(evaluate(p, ls.routes()).cost)


def test_radial_ruin_takes_the_nearest_and_the_clients_left_out():
    p = line(8)
    near = np.zeros((8, 3), np.int64)
    near[2] = [3, 7, 1]
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1, 2, 3, 4)), Route(0, (5, 6))])  # 7 left out
    out, routes = ruined(ls, near, 2, 3, 3, False, 0)
    assert out == [2, 3, 7]  # u and its size - 1 nearest, the left-out 7 among them
    assert routes == [(0, 1, 4), (5, 6)]
    # routes at x = 1, 2, 5 (cost 10) and x = 6, 7 (14); clients 2, 3 and 7 missing (1 + demand each)
    assert ls.cost == pytest.approx(24.0) == pytest.approx(evaluate(p, ls.routes()).cost)
    assert ls.violation == pytest.approx(6.0)


def test_a_rejected_iteration_restores_the_current_plan():
    # Threshold 0 from an optimum (one route 0..4 on the line, cost 10): no iteration is kept, and every
    # undo must bring back exactly that plan.
    p = line(5)
    ls = LocalSearch(p)
    ls.load([Route(0, (0, 1, 2, 3, 4))])
    for seed in range(5):
        assert ls.iterate(iterations=20, seed=seed, ruin_size=(1, 4), threshold=0.0) == 20
        assert [r.clients for r in ls.routes()] in ([(0, 1, 2, 3, 4)], [(4, 3, 2, 1, 0)])
        assert ls.cost == pytest.approx(10.0) and ls.violation == 0.0


def test_neighbours_in_row_blocks(monkeypatch):
    import vrpkit.solvers.localsearch as ls_module

    for variant in ("cvrp", "time windows + duration cost"):
        p = random_problem(5, n=30, **VARIANTS[variant])
        whole = ls_module.neighbours(p, 6)
        monkeypatch.setattr(ls_module, "BLOCK", 31)  # one row per block
        assert np.array_equal(ls_module.neighbours(p, 6), whole)
        monkeypatch.undo()
        assert not (whole == np.arange(30)[:, None]).any()
        d = p.distance[1:, 1:] if variant == "cvrp" else None
        if d is not None:  # without time windows: the 6 nearest, nearest first
            assert np.all(np.diff(d[np.arange(30)[:, None], whole], axis=1) >= 0)


def test_search_reads_the_problems_matrix():
    from vrpkit.solvers.localsearch import search_matrices

    p = square()
    dist, dur = search_matrices(p, pad=False)
    assert dist is dur and np.shares_memory(dist, p.distance) and not dist.flags.writeable
    padded, padded_dur = search_matrices(p)
    assert padded.shape == (5, 5) and padded_dur is padded and not padded[-1].any() and not padded[:, -1].any()
    opened = square(end_depot=None)
    dist, _ = search_matrices(opened, pad=False)  # the virtual end node of open routes needs the padding
    assert dist.shape == (5, 5) and np.array_equal(dist[:4, :4], opened.distance)
    assert LocalSearch(p).data.dist.shape == (4, 4)
