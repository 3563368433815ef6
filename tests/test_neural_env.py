"""The neural environment (``vrpkit.neural.env``): random masked rollouts give plans the evaluator finds
feasible at the environment's cost, for every attribute combination; the mask is the evaluator's rule; exact
costs and features on hand-checked problems; refusals name what is missing."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import corner, tight_fleet, two_depot_line  # noqa: E402
from test_localsearch import VARIANTS, random_problem, two_window_line  # noqa: E402
from vrpkit.neural import env as env_module  # noqa: E402
from vrpkit.neural.env import RoutingEnv, to_batch  # noqa: E402
from vrpkit.solvers import aco_torch, tensors  # noqa: E402

from vrpkit import Client, Depot, Problem, Route, ValidationError, VehicleType, evaluate  # noqa: E402
from vrpkit.generate import ROUTEFINDER_VARIANTS, generate, uniform_instance  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def random_rollouts(problems: list[Problem], starts: int = 8, seed: int = 0) -> tuple[RoutingEnv, dict]:
    env = RoutingEnv(problems)
    state = env.rollout(env.reset(starts), env.random_policy(torch.Generator().manual_seed(seed)))
    return env, state


def check_against_evaluator(problems: list[Problem], starts: int = 8, seed: int = 0) -> int:
    """Every random rollout's plan is feasible for the evaluator (missing clients aside, which the state
    counts) at the environment's cost; returns how many plans were checked."""
    env, state = random_rollouts(problems, starts, seed)
    assert bool(state["done"].all())
    cost = env.cost(state)
    assert torch.equal(env.reward(state), -cost)
    assert float(state["violation"].abs().max()) == 0.0
    checked = 0
    for b, plans in enumerate(env.solutions(state)):
        p = problems[b]
        for s, plan in enumerate(plans):
            ev = evaluate(p, plan)
            missing = [v for v in ev.violations if v.constraint == "missing_client"]
            assert [v for v in ev.violations if v.constraint != "missing_client"] == [], (p.name, s)
            assert len(missing) == int(state["missing"][b, s])
            assert ev.cost == pytest.approx(float(cost[b, s]), abs=1e-6, rel=0)
            assert sorted(c for r in plan.routes for c in r.clients) == sorted(
                np.flatnonzero(state["visited"][b, s, :p.n_clients].numpy()).tolist())
            checked += 1
    return checked


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_random_rollouts_are_feasible_at_the_evaluators_cost(variant):
    problems = [random_problem(seed, n=12, **VARIANTS[variant]) for seed in range(3)]
    assert check_against_evaluator(problems) == 24


def test_a_binding_duration_limit():
    # Routes of at most 110 time units: some clients cannot be served at all (missing), and the limit cuts
    # routes short.
    problems = [random_problem(seed, n=12, tw=True, max_duration=110.0, duration_cost=0.1) for seed in range(3)]
    assert check_against_evaluator(problems) == 24


def test_several_windows_with_a_duration_cost_are_priced_by_the_evaluator():
    # The segments keep each client in the window it joined in; the evaluator may find a shorter schedule
    # through other windows, and its cost is the one the environment reports.
    problems = [random_problem(seed, n=12, tw=True, two_windows=True, duration_cost=1.0, hours=True)
                for seed in range(3)]
    env, state = random_rollouts(problems)
    assert not bool(env.batch.exact.any())
    segment_cost = state["cost"]  # no prizes here: the segments' total
    assert bool((segment_cost >= env.cost(state) - 1e-9).all())
    assert check_against_evaluator(problems) == 24


def test_routefinder_variants_and_ours_in_one_batch():
    # Every RouteFinder variant and ours (several depots, mixed fleet, prizes, two windows), of different
    # sizes, padded into one batch.
    names = [*ROUTEFINDER_VARIANTS, "mdvrp", "hfvrp", "pcvrp", "vrpmtw", "mdhfpcovrpmbltw", "mdhfvrpbtw"]
    problems = [generate(name, 6 + i % 7, seed=i) for i, name in enumerate(names)]
    assert check_against_evaluator(problems, starts=4) == 4 * len(names)


def test_all_optional_clients_are_served_or_left_out():
    # RouteFinder-style prizes: every client optional. Rollouts serve some and end when they choose.
    problems = [generate("pcvrp", 12, seed=s) for s in range(3)]
    _env, state = random_rollouts(problems, starts=8)
    served = state["visited"].sum(-1)
    assert int(served.min()) < int(served.max()) and int(served.max()) > 0
    assert check_against_evaluator(problems) == 24


def test_explicit_asymmetric_matrices_without_locations():
    rng = np.random.default_rng(4)
    n = 9
    dist = rng.uniform(1, 20, (n + 1, n + 1))
    np.fill_diagonal(dist, 0.0)
    clients = tuple(Client(f"c{i}", delivery=int(rng.integers(1, 5)), service_time=1.0,
                           time_windows=((0.0, float(rng.uniform(60, 200))),)) for i in range(n))
    p = Problem("roads", (Depot("D"),), clients, (VehicleType("v", capacity=10, cost_per_duration=0.1),),
                distance=dist, duration=dist * 1.5)
    batch = to_batch([p])
    assert not bool(batch.features["has_locs"][0]) and float(batch.features["locs"].abs().sum()) == 0.0
    assert float(batch.features["distance"].max()) == pytest.approx(1.0)  # by the longest distance
    assert check_against_evaluator([p], starts=16) == 16


def test_uniform_instances():
    problems = [uniform_instance(15, seed=s, variant=v) for s, v in enumerate(("cvrp", "ovrp", "vrptw"))]
    assert check_against_evaluator(problems) == 24


def test_a_tight_fleet_runs_out_and_the_state_says_so():
    # Deliveries fill the three vehicles exactly: random plans mostly leave clients out (never overload).
    _env, state = random_rollouts([tight_fleet()], starts=32)
    assert int(state["missing"].max()) > 0
    assert bool((state["used"][0] <= torch.tensor([1, 2])).all())
    check_against_evaluator([tight_fleet()], starts=32)


@pytest.mark.parametrize("variant", ["cvrp", "time windows + duration cost", "strict backhaul", "open",
                                     "multi depot, heterogeneous", "prizes", "distance and duration limits",
                                     "depot hours and shifts", "all at once, strict backhaul"])
def test_the_client_mask_is_the_evaluators_rule(variant):
    # Along random rollouts: a client is allowed exactly when the route closed after it is feasible for the
    # evaluator (an optional one also worth its detour), and the named booleans AND to the mask.
    p = random_problem(5, n=10, **VARIANTS[variant])
    env = RoutingEnv([p])
    state = env.reset(4)
    policy = env.random_policy(torch.Generator().manual_seed(3))
    routes: list[list[int]] = [[] for _ in range(4)]
    dist, nd = p.distance, p.n_depots
    checked = 0
    while not bool(state["done"].all()):
        for s in range(4):
            v = int(state["vehicle"][0, s])
            if v < 0:
                continue
            mask = state["action_mask"][0, s, env.V:].tolist()
            last = int(p.vehicle_start[v]) if not routes[s] else nd + routes[s][-1]
            end = int(p.vehicle_end[v])
            for c in range(p.n_clients):
                if bool(state["visited"][0, s, c]):
                    assert not mask[c]
                    continue
                ev = evaluate(p, [Route(v, (*routes[s], c))])
                feasible = all(x.constraint == "missing_client" for x in ev.violations)
                if not p.clients[c].required and routes[s]:  # waived for the first client
                    detour = dist[last, nd + c] + (dist[nd + c, end] - dist[last, end] if end >= 0 else 0.0)
                    feasible = feasible and p.prize[c] > p.vehicle_types[v].cost_per_distance * detour
                assert mask[c] == feasible, (s, routes[s], c)
                checked += 1
        ok, _ = tensors.combine(state["masks"])
        for s in range(4):
            v = int(state["vehicle"][0, s])
            if v >= 0:
                assert ok[0, s, v].tolist() == state["action_mask"][0, s, env.V:].tolist()
        action = policy(state)
        for s in range(4):
            a = int(action[0, s])
            if not bool(state["done"][0, s]) and a >= env.V:
                routes[s].append(a - env.V)
            elif a < env.V and int(state["vehicle"][0, s]) >= 0:
                routes[s] = []
        state = env.step(state, action)
    assert checked > 50


# -- exact values on hand-checked problems -------------------------------------------------------------------


def drive(problem: Problem, actions: list[int]) -> tuple[RoutingEnv, dict]:
    """One rollout of ``problem`` along ``actions`` (vehicle types first, then clients at V + c)."""
    env = RoutingEnv([problem])
    state = env.reset()
    for a in actions:
        state = env.step(state, torch.tensor([[a]]))
    return env, state


def test_corner_costs():
    # D (0, 0), a (3, 0), b (0, 4): D-a-b-D 12, D-a-D + D-b-D 14, open D-a-b 8; a fixed cost of 5 per route.
    env, state = drive(corner(), [0, 1, 2, 0])
    assert bool(state["done"].all()) and env.cost(state).item() == pytest.approx(12.0)
    assert env.solutions(state)[0][0].routes == (Route(0, (0, 1)),)
    env, state = drive(corner(fixed_cost=5), [0, 1, 0, 0, 2, 0])
    assert env.cost(state).item() == pytest.approx(14.0 + 10.0)
    assert state["used"].tolist() == [[[2]]]
    env, state = drive(corner(end_depot=None), [0, 1, 2, 0])
    assert env.reward(state).item() == pytest.approx(-8.0)
    env, state = drive(corner(end_depot=None, cost_per_duration=0.5), [0, 2, 1, 0])
    assert env.cost(state).item() == pytest.approx(9.0 + 0.5 * 9.0)


def test_capacity_and_the_action_layout():
    # Capacity 1: after a, b does not fit (capacity False), the route can only close; then a second vehicle.
    env, state = drive(corner(capacity=1), [0, 1])
    assert state["action_mask"][0, 0].tolist() == [True, False, False]
    assert state["masks"]["capacity"][0, 0, 0].tolist() == [False, False]
    assert state["masks"]["unvisited"][0, 0, 0].tolist() == [False, True]
    env, state = drive(corner(capacity=1), [0])  # an empty route cannot close
    assert state["action_mask"][0, 0].tolist() == [False, True, True]
    env, state = drive(corner(capacity=1), [0, 1, 0])  # closed: open the next vehicle, no client yet
    assert state["action_mask"][0, 0].tolist() == [True, False, False]
    env, state = drive(corner(capacity=1), [0, 1, 0, 0, 2, 0])
    assert bool(state["done"].all()) and state["action_mask"][0, 0].tolist() == [True, False, False]
    assert env.cost(state).item() == pytest.approx(14.0)
    with pytest.raises(ValidationError, match="action mask"):
        env.step(env.reset(), torch.tensor([[1]]))


def test_fleet_size_and_time_window():
    # One vehicle: after it is used nothing can be opened and b is missing. a's window [10, 20] with
    # service 1 (the triangle): D-a-b-D drives 12 in 13 time units.
    triangle = Problem("triangle", (Depot("D", (0, 0)),),
                       (Client("a", (3, 4), delivery=2, time_windows=((10, 20),), service_time=1),
                        Client("b", (3, 0), delivery=2)),
                       (VehicleType("v", capacity=4, count=1, cost_per_duration=1.0),))
    env, state = drive(triangle, [0, 1, 2, 0])
    assert env.cost(state).item() == pytest.approx(12.0 + 13.0)
    env, state = drive(triangle, [0, 2, 0])
    assert bool(state["done"].all()) and state["missing"].item() == 1
    assert env.cost(state).item() == pytest.approx(6.0 + 6.0)
    late = triangle.replace(clients=(Client("a", (3, 4), delivery=2, time_windows=((0, 4),)),
                                     triangle.clients[1]))
    env, state = drive(late, [0])  # a is 5 away, its window closes at 4
    assert state["masks"]["time_window"][0, 0, 0, :, 0].tolist() == [False, True]
    assert state["action_mask"][0, 0].tolist() == [False, False, True]


def test_duration_and_distance_limits():
    # D-a-b-D drives 12 in 12 time units: a limit of 10 on either keeps b off a's route.
    for limit in ({"max_duration": 10.0}, {"max_distance": 10.0}):
        env, state = drive(corner(**limit), [0, 1])
        name = "duration_limit" if "max_duration" in limit else "distance_limit"
        rule = state["masks"][name][0, 0, 0]
        assert (rule[1, 0] if rule.dim() == 2 else rule[1]).item() is False
        assert state["action_mask"][0, 0].tolist() == [True, False, False]
        env, state = drive(corner(**limit), [0, 1, 0, 0, 2, 0])
        assert env.cost(state).item() == pytest.approx(14.0)


def test_prize_worth_and_two_depots():
    # b optional with prize 3: after a its detour is 5 + 4 - 3 = 6 > 3, so it stays out (prize lost: 3); on
    # a vehicle of its own (the prize rule is waived for a first client), or not: closing empty ends it.
    clients = (Client("a", (3, 0), delivery=1), Client("b", (0, 4), delivery=1, prize=3.0, required=False))
    env, state = drive(corner(clients=clients), [0, 1])
    assert state["masks"]["prize"][0, 0, 0].tolist() == [True, False]
    env, state = drive(corner(clients=clients), [0, 1, 0, 0, 0])
    assert bool(state["done"].all()) and env.cost(state).item() == pytest.approx(6.0 + 3.0)
    env, state = drive(corner(clients=clients), [0, 1, 0, 0, 2, 0])
    assert bool(state["done"].all()) and env.cost(state).item() == pytest.approx(6.0 + 8.0)
    # Prize 10 pays a vehicle of its own (8).
    clients = (clients[0], Client("b", (0, 4), delivery=1, prize=10.0, required=False))
    env, state = drive(corner(clients=clients), [0])
    assert state["action_mask"][0, 0].tolist() == [False, True, True]  # a required client is left: no end
    env, state = drive(corner(clients=clients), [0, 1, 0, 0])
    assert state["action_mask"][0, 0].tolist() == [True, False, True]
    env, state = drive(corner(clients=clients), [0, 1, 0, 0, 2, 0])
    assert env.cost(state).item() == pytest.approx(6.0 + 8.0) and state["used"].tolist() == [[[2]]]
    env, state = drive(corner(clients=clients), [0, 1, 0, 0, 0])
    assert bool(state["done"].all()) and bool(state["finished"].all())
    assert env.cost(state).item() == pytest.approx(6.0 + 10.0) and state["used"].tolist() == [[[1]]]
    assert env.solutions(state)[0][0].routes == (Route(0, (0,)),)
    # Depots at 0 and 10, a at 1, b at 9: one vehicle from each depot costs 4 in all.
    p = two_depot_line(VehicleType("v1", start_depot="D1"), VehicleType("v2", start_depot="D2"))
    env, state = drive(p, [0, 2, 0, 1, 3, 1])
    assert env.cost(state).item() == pytest.approx(4.0)
    assert env.solutions(state)[0][0].routes == (Route(0, (0,)), Route(1, (1,)))


def test_several_windows_on_a_line():
    # b opens 0-15 or 40-50; a then b reaches b at 20 at the earliest: the second window, cost 40 + 40.
    env, state = drive(two_window_line(), [0, 1, 2, 0])
    assert state["window"][0, 0].tolist() == [0, 1]
    assert env.cost(state).item() == pytest.approx(80.0)


def test_features_are_scaled_and_the_problem_keeps_its_units():
    # corner with capacity 4: locations by the side 4, deliveries by 4; the triangle's window [10, 20] by the
    # latest time bound 20.
    p = corner(capacity=4)
    batch = to_batch([p])
    assert batch.features["locs"][0].tolist() == [[0.0, 0.0], [0.75, 0.0], [0.0, 1.0]]
    assert batch.features["distance"][0, 1, 2].item() == pytest.approx(5 / 4)
    assert batch.features["delivery"][0, :, 0].tolist() == [0.25, 0.25]
    assert batch.features["capacity"][0, 0].tolist() == [1.0]
    assert batch.dist[0, 1, 2].item() == 5.0 and p.distance[1, 2] == 5.0
    assert batch.features["max_distance"][0].tolist() == [env_module.UNBOUNDED]
    tri = Problem("t", (Depot("D", (0, 0)),), (Client("a", (3, 4), time_windows=((10, 20),), service_time=1),),
                  (VehicleType("v"),))
    f = to_batch([tri]).features
    assert f["windows"][0, 0, 0].tolist() == [0.5, 1.0]
    assert f["service"][0].tolist() == [pytest.approx(0.05)]
    assert f["depot_windows"][0, 0].tolist() == [0.0, env_module.UNBOUNDED]  # always open


def test_padding_in_a_mixed_batch():
    small, big = corner(), random_problem(1, n=6, depots=2, types=3, dims=2, tw=True, two_windows=True)
    env = RoutingEnv([small, big])
    assert env.batch.shape == (2, 2, 6, 3, 2, 2)
    state = env.reset(2)
    assert state["visited"][0].tolist() == [[False, False, True, True, True, True]] * 2
    assert state["action_mask"][0, :, 1:3].tolist() == [[False, False]] * 2  # only one vehicle type exists
    env, state = random_rollouts([small, big], starts=4)
    for plan in env.solutions(state)[0]:
        assert sorted(c for r in plan.routes for c in r.clients) == [0, 1]
        assert {r.vehicle_type for r in plan.routes} == {0}


def test_context_of_a_route():
    env, state = drive(corner(capacity=4, max_distance=20.0), [0, 1])
    ctx = env.context(state)
    assert ctx["vehicle"].tolist() == [[0]] and ctx["node"].tolist() == [[1]]  # a is node 1
    assert ctx["distance"].item() == pytest.approx(3 / 4)
    assert ctx["distance_left"].item() == pytest.approx(17 / 4)
    assert ctx["delivered"][0, 0].tolist() == [0.25] and ctx["room"][0, 0].tolist() == [0.75]
    assert ctx["time"].item() == pytest.approx(3 / env.batch.scales["time"].item())


def test_refusals_name_what_is_missing(monkeypatch):
    with pytest.raises(ValidationError, match=r"problems\[0\]\.clients"):
        to_batch([Problem("empty", (Depot("D", (0, 0)),), (), (VehicleType("v"),))])
    with pytest.raises(ValidationError, match="problems: the batch is empty"):
        to_batch([])
    clients = (Client("a", (3, 0), prize=1.0, required=False),)
    monkeypatch.setattr(env_module, "SUPPORTED", env_module.SUPPORTED - {"prizes"})
    with pytest.raises(ValidationError, match="does not support prizes"):
        to_batch([corner(clients=clients)])
    with pytest.raises(ValidationError, match="starts"):
        RoutingEnv([corner()]).reset(0)
    with pytest.raises(ValidationError, match="device: 'gpu0' is not a torch device"):
        to_batch([corner()], device="gpu0")
    with pytest.raises(ValidationError, match="action: expected shape"):
        env = RoutingEnv([corner()])
        env.step(env.reset(2), torch.tensor([[0]]))


def test_one_set_of_rules_for_the_colony_and_the_environment():
    assert aco_torch.cat is tensors.cat and aco_torch.score is tensors.score
    assert env_module.cat is tensors.cat and env_module.Rules is aco_torch.Rules
    used, counts = torch.tensor([0, 1, 2, 5]), torch.tensor([1, 1, 3, -1])
    assert tensors.available(used, counts).tolist() == [True, False, True, True]
