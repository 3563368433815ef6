"""Every bundled example problem has the variant its name promises, solves feasibly in a second, and the
evaluator agrees with the cost of the written plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vrpkit
from vrpkit.io import read_problem
from vrpkit.io.json import load_json

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
VARIANTS = {
    "cvrp_wholesaler": "CVRP",
    "vrptw_lyon": "VRPTW",
    "ovrp_newspapers": "OVRP",
    "mdvrptw_bakeries": "MDVRPTW",
    "vrpb_distribution": "VRPB",
    "hfpcvrp_catering": "HFPCVRP",
    "vrpmbtw_linen": "VRPMBTW",
    "pdptw_couriers": "PDPTW",
    "multitrip_bakery": "MDMTVRPRT",
    "vrptw_breaks_skills": "VRPTWBRSK",
}


def test_every_instance_is_listed():
    assert sorted(p.stem for p in INSTANCES.glob("*.json")) == sorted(VARIANTS)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_and_round_trip(name):
    problem = read_problem(INSTANCES / f"{name}.json")
    assert problem.variant == VARIANTS[name]
    assert len(problem.name) > 40  # the name says what the example is
    again = vrpkit.Problem.from_dict(problem.to_dict())
    assert (again.distance == problem.distance).all() and (again.duration == problem.duration).all()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_solves_feasibly_and_evaluate_agrees(name, tmp_path):
    problem = read_problem(INSTANCES / f"{name}.json")
    result = vrpkit.solve(problem, "ortools", time_limit=1, seed=0)
    assert result.feasible, result.to_dict()["violations"] or result.stats.get("reasons")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(result.to_dict()))
    evaluation = vrpkit.evaluate(problem, load_json(path))
    assert evaluation.feasible
    assert evaluation.cost == pytest.approx(result.cost, rel=1e-9, abs=1e-5)
    served = {problem.clients[c].id for r in evaluation.routes for c in r.clients}
    assert {c.id for c in problem.clients if c.required} <= served
