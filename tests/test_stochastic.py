"""vrpkit.stochastic: the simulation equals the evaluator without noise, and its noisy rules by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import corner
from vrpkit.solvers.localsearch import improve

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, evaluate
from vrpkit.errors import ValidationError
from vrpkit.generate import generate
from vrpkit.io import read_problem
from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
from vrpkit.stochastic import BLOCK, Scenarios, sample, simulate

INSTANCES = sorted((Path(__file__).resolve().parents[1] / "instances").glob("*.json"))
VARIANTS = ("cvrp", "vrptw", "ovrptw", "vrpbtw", "mdhfvrptw", "vrpmtw", "ovrpmbltw", "mdpcvrpltw", "hfvrpmtw")


def random_plan(problem: Problem, seed: int) -> list[Route]:
    """Every client (optional ones with probability 0.8) in random order, cut into routes of random lengths
    over random vehicle types: mostly infeasible, so that every violation shows."""
    rng = np.random.default_rng(seed)
    clients = [c for c in rng.permutation(problem.n_clients)
               if problem.clients[c].required or rng.random() < 0.8]
    routes, i = [], 0
    while i < len(clients):
        k = int(rng.integers(1, 8))
        routes.append(Route(int(rng.integers(len(problem.vehicle_types))), tuple(clients[i:i + k])))
        i += k
    return routes


def assert_parity(problem: Problem, plan, scenarios: int = 3) -> None:
    ev = evaluate(problem, plan)
    sim = simulate(problem, plan, scenarios=scenarios, seed=1, uncertainty=Uncertainty(), keep=True)
    for s in range(scenarios):
        assert sim.scenario(s) == ev
    assert np.all(sim.costs == ev.cost)
    assert sim.feasible_rate == float(ev.feasible)
    assert sim.expected_cost == pytest.approx(ev.cost, rel=1e-14)  # a mean: rounding in the sum
    assert sim.cost_std == pytest.approx(0.0, abs=1e-9 * max(1.0, ev.cost))


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_zero_noise_equals_the_evaluator_on_the_bundled_examples(path: Path) -> None:
    problem = read_problem(path)
    if problem.attributes & {"breaks", "multi_trip", "shipments"}:  # refused, naming them
        with pytest.raises(ValidationError, match="simulation does not handle"):
            simulate(problem, random_plan(problem, 0), scenarios=2)
        return
    for seed in range(3):
        assert_parity(problem, random_plan(problem, seed))
    assert_parity(problem, improve(problem, random_plan(problem, 9), time_limit=1.0))


@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_noise_equals_the_evaluator_on_generated_variants(variant: str) -> None:
    for seed in range(3):
        problem = generate(variant, 30, seed=seed)
        assert_parity(problem, random_plan(problem, seed))
        assert_parity(problem, improve(problem, random_plan(problem, seed), time_limit=0.5))


def test_zero_noise_equals_the_time_dependent_evaluator() -> None:
    lyon = read_problem(next(p for p in INSTANCES if "lyon" in p.stem))
    problem = lyon.replace(uncertainty=Uncertainty(travel_time=TravelTimeNoise(profile="rush_hour")))
    assert problem.time_dependent
    plan = improve(problem, random_plan(problem, 3), time_limit=1.0)
    ev = evaluate(problem, plan)
    assert ev.duration != evaluate(lyon, plan).duration  # the profile matters here
    sim = simulate(problem, plan, scenarios=2, keep=True)
    assert sim.scenario(1) == ev


def test_zero_noise_equals_the_evaluator_with_shifts_depot_hours_limits_and_two_dimensions() -> None:
    base = generate("mdvrpbltw", 25, seed=7)
    rng = np.random.default_rng(0)
    def two(c: Client) -> Client:
        d, p = (c.delivery or (0,))[0], (c.pickup or (0,))[0]
        return replace(c, delivery=(d, 0 if p else int(rng.integers(0, 3))), pickup=(p, 0))

    clients = tuple(two(c) for c in base.clients)
    depots = tuple(replace(d, time_window=(0.3 * k, 3.0 + 0.5 * k)) for k, d in enumerate(base.depots))
    types = tuple(VehicleType(f"t{k}", count=2, capacity=(30, 4), start_depot=d.id,
                              end_depot=None if k == 1 else d.id, shift=(0.2 * k, 2.5 + k), max_duration=2.0,
                              max_distance=2.2, fixed_cost=1.0 + k, cost_per_duration=0.5)
                  for k, d in enumerate(base.depots))
    problem = Problem("all", depots, clients, types, backhaul="strict", distance=base.distance,
                      duration=base.duration * 1.3)
    kinds = set()
    for seed in range(6):
        plan = random_plan(problem, seed)
        kinds |= {v.constraint for v in evaluate(problem, plan).violations}
        assert_parity(problem, plan)
        assert_parity(problem, improve(problem, plan, time_limit=0.3))
    assert {"shift", "depot_time_window", "max_duration", "max_distance", "capacity", "backhaul_order",
            "fleet_size", "time_window"} <= kinds  # the plans break every rule that the schedule checks


def test_zero_noise_equals_the_time_dependent_evaluator_with_several_windows() -> None:
    profile = Uncertainty(travel_time=TravelTimeNoise(profile=((0.0, 1.0), (1.0, 2.5), (2.0, 0.8), (3.5, 1.2))))
    for variant in ("vrpmtw", "ovrptw", "mdvrpltw"):
        problem = generate(variant, 25, seed=2).replace(uncertainty=profile)
        for seed in range(3):
            assert_parity_td(problem, random_plan(problem, seed))
            assert_parity_td(problem, improve(problem, random_plan(problem, seed), time_limit=0.3))


def assert_parity_td(problem: Problem, plan) -> None:
    ev = evaluate(problem, plan)
    sim = simulate(problem, plan, scenarios=2, keep=True)
    assert sim.scenario(0) == ev and sim.scenario(1) == ev


def test_an_uncertainty_given_times_the_plan_with_its_profile() -> None:
    lyon = read_problem(next(p for p in INSTANCES if "lyon" in p.stem))
    plan = random_plan(lyon, 0)
    noise = Uncertainty(travel_time=TravelTimeNoise(profile="rush_hour"))
    sim = simulate(lyon, plan, scenarios=2, uncertainty=noise, keep=True)
    assert sim.scenario(0) == evaluate(lyon.replace(uncertainty=noise), plan) != evaluate(lyon, plan)
    assert sim.deterministic == sim.scenario(0)


def test_a_plan_as_json_and_unknown_ids() -> None:
    problem = corner(capacity=1)
    plan = {"routes": [{"vehicle_type": "v", "stops": ["a", "zz", "b"]}, {"vehicle_type": "w", "stops": ["a"]}]}
    ev = evaluate(problem, plan)
    assert {v.constraint for v in ev.violations} == {"unknown_id", "unknown_vehicle_type", "capacity"}
    sim = simulate(problem, plan, scenarios=2, keep=True)
    assert sim.scenario(0) == ev
    assert sim.feasible_rate == 0.0


# -- the noisy rules by hand (scenarios with chosen draws) ---------------------------------------------------


def triangle(**vehicle) -> Problem:
    """D (0, 0); a (3, 4) window [10, 20], service 1, delivery 2; b (3, 0), delivery 3: Da 5, ab 4, bD 3.
    D-a-b-D: leave at 5 (the evaluator's delayed start), a at 10, leave 11, b at 15, back at 18."""
    clients = (Client("a", (3, 4), delivery=2, time_windows=((10, 20),), service_time=1),
               Client("b", (3, 0), delivery=3))
    return Problem("triangle", (Depot("D", (0, 0)),), clients, (VehicleType("v", **vehicle),))


def test_travel_and_service_factors_shift_the_rest_of_the_route() -> None:
    problem = triangle(capacity=5, cost_per_duration=1)
    plan = [Route(0, (0, 1))]
    assert evaluate(problem, plan).routes[0].start_time == 5
    draws = Scenarios(2, travel=np.array([[2.0, 1.0], [4.0, 1.0]]), travel_home=np.array([[1.0, 3.0], [1.0, 1.0]]),
                      service=np.array([[3.0, 1.0], [1.0, 1.0]]))
    sim = simulate(problem, plan, draws, keep=True)
    one = sim.scenario(0).routes[0]  # D-a 10: a at 15, service 3 till 18, b at 22, home 3 x 3 = 9: 31
    assert (one.arrival, one.start, one.departure, one.end_time, one.duration) == ((15, 22), (15, 22), (18, 22),
                                                                                   31, 26)
    assert sim.scenario(0).feasible and sim.scenario(0).cost == 12 + 26
    two = sim.scenario(1)  # D-a 20: a at 25, 5 late; b at 30, home at 33
    assert two.routes[0].arrival == (25, 30) and two.routes[0].end_time == 33
    assert [(v.constraint, v.amount, v.client) for v in two.violations] == [("time_window", 5, "a")]
    assert two.cost == 12 + 28
    assert list(sim.costs) == [38, 40]
    assert sim.on_time_rate == 0.75 and sim.violation_rate == 0.25 and sim.feasible_rate == 0.5
    stops = sim.routes[0].stops
    assert [s.late_probability for s in stops] == [0.5, 0.0] and stops[0].expected_lateness == 2.5
    assert sim.routes[0].on_time_rate == 0.75 and sim.routes[0].expected_cost == 39
    report = sim.to_dict()
    assert report["expected_cost"] == 39 and report["cost_quantiles"]["p50"] == 39
    assert report["cost_std"] == 1 and report["feasible_rate"] == 0.5
    assert report["routes"][0]["stops"][0] == {"id": "a", "late_probability": 0.5, "failure_probability": 0.0,
                                               "return_probability": 0.0, "expected_lateness": 2.5}
    json.dumps(report)


def test_accidents_poisson_by_inversion_with_uniform_delays() -> None:
    """rate 60 per hour of 60 units: a leg of tau units meets Poisson(tau) accidents. D-a (3): P(0) = e^-3 =
    0.0498, P(<= 1) = 4 e^-3 = 0.199, P(<= 2) = 8.5 e^-3 = 0.423: u = 0.3 gives 2 accidents, delays 5 + 4 v."""
    noise = Uncertainty(travel_time=TravelTimeNoise(accident_rate_per_hour=60, accident_delay=(5, 9)))
    problem = corner().replace(uncertainty=noise)
    delay = np.array([[[0.5, 0.0]], [[0.25, 0.0]], [[1.0, 1.0]]])  # (layers, scenarios, clients)
    draws = Scenarios(1, accident=np.array([[0.3, 0.001]]), accident_home=np.array([[0.0, 0.999]]),
                      accident_delay=delay, accident_delay_home=delay)
    route = simulate(problem, [Route(0, (0, 1))], draws, keep=True).scenario(0).routes[0]
    # D-a: 3 + 7 + 6 = 16; a-b (5): u 0.001 < e^-5 = 0.0067, none: 21; b-D (4): u 0.999, capped at 3 layers:
    # 3 * 5 + 4 * (0 + 0 + 1) = 19 more.
    assert route.arrival == (16, 21) and route.end_time == 21 + 4 + 19
    assert math.exp(-3) < 0.3 < 8.5 * math.exp(-3)


def test_time_dependent_legs_take_the_noise_on_top() -> None:
    """A constant factor 2: D-a takes 6; a log-normal factor 1.5 on it: 9."""
    noise = Uncertainty(travel_time=TravelTimeNoise(profile=((0.0, 2.0),), lognormal_sigma=0.1))
    problem = corner().replace(uncertainty=noise)
    draws = Scenarios(1, travel=np.array([[1.5, 1.0]]), travel_home=np.array([[1.0, 0.5]]))
    route = simulate(problem, [Route(0, (0, 1))], draws, keep=True).scenario(0).routes[0]
    assert route.arrival == (9, 19) and route.end_time == 19 + 4
    assert evaluate(problem, [Route(0, (0, 1))]).routes[0].end_time == 24


def test_several_windows_with_noise() -> None:
    """a has windows [0, 2] and [10, 15]; the evaluator leaves at 7 to reach a at 10 without waiting."""
    clients = (Client("a", (3, 0), time_windows=((0, 2), (10, 15))), Client("b", (0, 4)))
    problem = corner(clients=clients)
    plan = [Route(0, (0, 1))]
    assert evaluate(problem, plan).routes[0].start_time == 7
    draws = Scenarios(3, travel=np.array([[0.5, 1.0], [3.0, 1.0], [1.0 / 3.0, 1.0]]))
    sim = simulate(problem, plan, draws, keep=True)
    assert sim.scenario(0).routes[0].start[0] == 10  # at 8.5: waits for the second window
    assert sim.scenario(1).routes[0].start[0] == 16  # at 16: 1 late for the second window
    assert [v.amount for v in sim.scenario(1).violations] == [1]
    assert sim.scenario(2).routes[0].start[0] == 10  # at 8, the first window closed at 2


def line(recourse: str = "return", capacity: int = 3) -> Problem:
    """D at 0, c1, c2, c3 at 1, 2, 3, deliveries 1, capacity 3: D-c1-c2-c3-D is 6 long."""
    noise = Uncertainty(demand=DemandNoise(distribution="poisson", recourse=recourse))
    clients = tuple(Client(f"c{i}", (i, 0), delivery=1) for i in (1, 2, 3))
    return Problem("line", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=capacity),),
                   uncertainty=noise)


def demand_draws(*deliveries: tuple[int, ...]) -> Scenarios:
    d = np.array(deliveries, dtype=float)[:, :, None]
    return Scenarios(len(d), delivery=d, pickup=np.zeros_like(d))


def test_return_recourse_drives_back_to_the_depot_and_on() -> None:
    problem, plan = line(), [Route(0, (0, 1, 2))]
    sim = simulate(problem, plan, demand_draws((1, 2, 1), (1, 1, 1), (1, 5, 1)), keep=True)
    one = sim.scenario(0)  # c3 does not fit (4 > 3): at 3 back to D and to c3 again (6 more), home at 12
    assert one.feasible and one.distance == 12 and one.routes[0].arrival == (1, 2, 9)
    assert one.routes[0].end_time == 12 and one.routes[0].start_load == (3,)
    assert one.routes[0].load == ((2,), (0,), (0,))  # the second trip leaves with c3's 1
    assert sim.scenario(1).distance == 6 and sim.scenario(1).feasible
    three = sim.scenario(2)  # c2's 5 cannot fit any trip: it fails, the trip goes on with c3
    assert [(v.constraint, v.amount, v.client) for v in three.violations] == [("capacity", 2, "c2")]
    assert three.distance == 6
    assert list(sim.costs) == [12, 6, 6] and sim.violation_rate == pytest.approx(1 / 9)
    stops = sim.routes[0].stops
    assert [s.return_probability for s in stops] == [0, 0, pytest.approx(1 / 3)]
    assert [s.failure_probability for s in stops] == [0, pytest.approx(1 / 3), 0]
    assert sim.feasible_rate == pytest.approx(2 / 3)


def test_fail_recourse_fails_the_stop_and_the_rest() -> None:
    problem, plan = line("fail"), [Route(0, (0, 1, 2))]
    sim = simulate(problem, plan, demand_draws((2, 2, 1), (1, 1, 1)), keep=True)
    bad = sim.scenario(0)  # 2 + 2 > 3 at c2: c2 and c3 fail, by 1 and 2; the route is driven as planned
    assert [(v.amount, v.client) for v in bad.violations] == [(1, "c2"), (2, "c3")]
    assert bad.distance == 6 and bad.routes[0].end_time == 6
    assert sim.violation_rate == pytest.approx(2 / 6) and sim.feasible_rate == 0.5
    assert list(sim.costs) == [6, 6]


def test_a_route_over_capacity_as_planned_keeps_the_evaluators_violation() -> None:
    problem, plan = line(capacity=2), [Route(0, (0, 1, 2))]
    assert [v.amount for v in evaluate(problem, plan).violations] == [1]
    sim = simulate(problem, plan, demand_draws((2, 1, 1)), keep=True)
    assert [(v.constraint, v.amount, v.route) for v in sim.scenario(0).violations] == [("capacity", 2, 0)]
    assert sim.scenario(0).distance == 6  # no recourse


def test_open_routes_end_at_the_last_service_whatever_the_home_draw() -> None:
    problem = corner(end_depot=None)
    draws = Scenarios(1, travel=np.array([[2.0, 1.0]]), travel_home=np.array([[9.0, 9.0]]))
    route = simulate(problem, [Route(0, (0, 1))], draws, keep=True).scenario(0).routes[0]
    assert route.end_time == 6 + 5 and route.duration == 11


def test_shift_duration_and_distance_limits_on_the_realised_route() -> None:
    problem = line(capacity=3).replace(vehicle_types=(VehicleType("v", capacity=3, shift=(0, 10), max_duration=9,
                                                                  max_distance=8),))
    sim = simulate(problem, [Route(0, (0, 1, 2))], demand_draws((1, 2, 1)), keep=True)
    found = [(v.constraint, v.amount) for v in sim.scenario(0).violations]
    assert found == [("shift", 2), ("max_duration", 3), ("max_distance", 4)]
    assert sim.feasible_rate == 0 and sim.violation_rate == 0  # route limits are no stop's


# -- the sampler -------------------------------------------------------------------------------------------


NOISY = Uncertainty(
    travel_time=TravelTimeNoise(profile="rush_hour", lognormal_sigma=0.3, accident_rate_per_hour=2,
                                accident_delay=(10, 20)),
    demand=DemandNoise(distribution="poisson"), service_time=ServiceTimeNoise(lognormal_sigma=0.2))


def test_common_random_numbers_and_scenario_prefixes() -> None:
    problem = generate("vrptw", 20, seed=4, distribution="uniform").replace(uncertainty=NOISY)
    a = improve(problem, random_plan(problem, 1), time_limit=0.3)
    b = random_plan(problem, 2)
    drawn = sample(problem, 300, seed=5)
    for plan in (a, b):
        direct = simulate(problem, plan, scenarios=300, seed=5)
        assert np.array_equal(direct.costs, simulate(problem, plan, drawn).costs)
    big = simulate(problem, a, scenarios=BLOCK + 50, seed=5)
    assert np.array_equal(big.costs[:300], simulate(problem, a, scenarios=300, seed=5).costs)
    assert np.array_equal(big.costs[BLOCK:BLOCK + 50], simulate(problem, a, drawn := sample(
        problem, BLOCK + 50, seed=5)).costs[BLOCK:])
    assert drawn.count == BLOCK + 50
    assert not np.array_equal(simulate(problem, a, scenarios=300, seed=6).costs, direct.costs)


def test_the_draws_follow_their_distributions() -> None:
    problem = generate("cvrp", 10, seed=1, distribution="uniform")
    noise = Uncertainty(travel_time=TravelTimeNoise(lognormal_sigma=0.5, accident_rate_per_hour=1,
                                                    accident_delay=(1, 2)),
                        demand=DemandNoise(distribution="normal", cv=0.5), service_time=ServiceTimeNoise(0.2))
    d = sample(problem, 20_000, seed=0, uncertainty=noise)
    assert np.median(d.travel) == pytest.approx(1.0, abs=0.02)
    assert np.log(d.travel).std() == pytest.approx(0.5, abs=0.01)
    assert np.log(d.service).std() == pytest.approx(0.2, abs=0.005)
    assert d.delivery.min() >= 0 and np.array_equal(d.delivery, np.round(d.delivery))
    mean = problem.delivery[:, 0]
    assert d.delivery[:, :, 0].mean(axis=0) == pytest.approx(mean, rel=0.03)  # few cut at 0 with cv 0.5
    assert d.accident.min() > 0.0 and d.accident.max() < 1.0 and d.accident_delay.shape[1:] == (20_000, 10)
    poisson = sample(problem, 20_000, seed=0, uncertainty=Uncertainty(demand=DemandNoise("poisson")))
    assert poisson.delivery[:, :, 0].mean(axis=0) == pytest.approx(mean, rel=0.05)
    assert poisson.travel is None and poisson.accident is None and poisson.service is None


def test_accident_counts_are_poisson() -> None:
    """Legs D-a of 3 units at 20 per hour of 60: mean 1 accident of 4 units."""
    noise = Uncertainty(travel_time=TravelTimeNoise(accident_rate_per_hour=20, accident_delay=(4, 4)))
    problem = corner().replace(uncertainty=noise)
    sim = simulate(problem, [Route(0, (0,)), Route(0, (1,))], scenarios=20_000, seed=3, keep=True)
    delays = np.array([sim.scenario(s).routes[0].arrival[0] - 3 for s in range(2000)]) / 4
    counts = np.bincount(delays.astype(int), minlength=4)[:4] / 2000
    assert counts == pytest.approx([math.exp(-1), math.exp(-1), math.exp(-1) / 2, math.exp(-1) / 6], abs=0.03)
    assert sim.expected_cost == 14  # accidents cost time, not distance


def test_bad_arguments_are_named() -> None:
    problem = corner()
    for kwargs, field in (({"scenarios": 0}, "scenarios"), ({"scenarios": 2.5}, "scenarios"),
                          ({"seed": -1}, "seed")):
        with pytest.raises(ValidationError) as err:
            simulate(problem, [Route(0, (0, 1))], **kwargs)
        assert err.value.field == field
    with pytest.raises(ValidationError, match=r"scenarios\.travel"):
        simulate(problem, [Route(0, (0, 1))], Scenarios(2, travel=np.ones((2, 5))))
    with pytest.raises(ValidationError, match="keep=True"):
        simulate(problem, [Route(0, (0, 1))], scenarios=2).scenario(0)
    with pytest.raises(ValidationError, match=r"uncertainty\.travel_time\.lognormal_sigma"):
        simulate(problem, [Route(0, (0, 1))], uncertainty=Uncertainty(TravelTimeNoise(lognormal_sigma=-1)))


def test_a_solution_object_and_an_empty_plan() -> None:
    problem = corner()
    sim = simulate(problem, Solution.from_lists([[0, 1]]), scenarios=5)
    assert sim.expected_cost == 12 and sim.on_time_rate == 1.0
    empty = simulate(problem, [], scenarios=5, uncertainty=NOISY)
    assert empty.feasible_rate == 0.0 and empty.violation_rate == 1.0 and empty.routes == ()


# -- the command and the plot ------------------------------------------------------------------------------


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_simulate_command_report_plot_and_errors(tmp_path: Path) -> None:
    problem = triangle(capacity=5, cost_per_duration=1)
    data = problem.to_dict()
    data["uncertainty"] = {"travel_time": {"lognormal_sigma": 0.6}, "service_time": {"lognormal_sigma": 0.5}}
    (tmp_path / "p.json").write_text(json.dumps(data))
    (tmp_path / "s.json").write_text(json.dumps({"routes": [{"vehicle_type": "v", "stops": ["a", "b"]}]}))
    out, fig = tmp_path / "r.json", tmp_path / "risk.png"
    done = cli("simulate", tmp_path / "p.json", tmp_path / "s.json", "-n", "3000", "--seed", "4", "-o", out,
               "--plot", fig)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    loaded = Problem.from_dict(data)
    sim = simulate(loaded, [Route(0, (0, 1))], scenarios=3000, seed=4)
    assert report["expected_cost"] == round(sim.expected_cost, 6) and report["scenarios"] == 3000
    assert set(report) >= {"scenarios", "expected_cost", "cost_quantiles", "cost_std", "on_time_rate",
                           "violation_rate", "feasible_rate", "routes"}
    assert set(report["cost_quantiles"]) == {"p50", "p90", "p99"}
    assert report["routes"][0]["stops"][0]["late_probability"] > 0
    assert "expected cost" in done.stdout and "riskiest stops" in done.stdout and fig.stat().st_size > 0
    bad_args = ((("-n", "0"), "--scenarios"), (("--seed", "-1"), "--seed"), (("--plot", "x.txt"), "x.txt"))
    for args, field in bad_args:
        bad = cli("simulate", tmp_path / "p.json", tmp_path / "s.json", *args)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and field in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    data["uncertainty"] = {"travel_time": {"lognormal_sigma": -1}}
    (tmp_path / "bad.json").write_text(json.dumps(data))
    bad = cli("simulate", tmp_path / "bad.json", tmp_path / "s.json")
    assert bad.returncode == 2 and "uncertainty.travel_time.lognormal_sigma" in bad.stderr


def test_plot_risk_draws_the_costs_and_the_riskiest_stops() -> None:
    pytest.importorskip("matplotlib")
    from vrpkit.plot import plot_risk

    problem = triangle(capacity=5, cost_per_duration=1)
    draws = Scenarios(2, travel=np.array([[2.0, 1.0], [4.0, 1.0]]), travel_home=np.ones((2, 2)))
    fig = plot_risk(simulate(problem, [Route(0, (0, 1))], draws))
    gids = {a.get_gid() for a in fig.findobj(lambda a: a.get_gid() is not None)}
    assert {"cost-hist", "cost-mean", "cost-p90", "cost-p99", "cost-deterministic", "late-0-a"} <= gids
    assert "late-0-b" not in gids  # b is never late
    bar = next(a for a in fig.findobj(lambda a: a.get_gid() == "late-0-a"))
    assert bar.get_width() == 0.5
