"""vrpkit.stochastic: the simulation equals the evaluator without noise, and its noisy rules by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import corner

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, evaluate
from vrpkit.errors import ValidationError
from vrpkit.generate import generate
from vrpkit.io import read_problem
from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
from vrpkit.solvers.localsearch import improve
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


def test_a_plan_as_json_and_unknown_ids() -> None:
    problem = corner(capacity=1)
    plan = {"routes": [{"vehicle_type": "v", "stops": ["a", "zz", "b"]}, {"vehicle_type": "w", "stops": ["a"]}]}
    ev = evaluate(problem, plan)
    assert {v.constraint for v in ev.violations} == {"unknown_id", "unknown_vehicle_type", "capacity"}
    sim = simulate(problem, plan, scenarios=2, keep=True)
    assert sim.scenario(0) == ev
    assert sim.feasible_rate == 0.0
