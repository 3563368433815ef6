"""The compiled evaluator against the oracle of the pure-Python evaluator (commit 813d688), against itself
interpreted, and ``evaluate_many`` against ``evaluate``.

The oracle, ``tests/data/evaluate_oracle.json.gz``, was made by ``tests/make_evaluate_oracle.py`` with the
evaluator of 813d688 loaded from git: never remake it with the code under test.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import math
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vrpkit.solvers.build import interpreted

import vrpkit
from vrpkit import Problem, Route, Solution, evaluate, evaluate_many
from vrpkit._evaluate_kernel import evaluate_plans
from vrpkit.evaluate import CONSTRAINTS, FLEET_CONSTRAINTS, Totals, _evaluate_kernel, _routes_of

HERE = Path(__file__).resolve().parent
ORACLE = HERE / "data" / "evaluate_oracle.json.gz"


def _load_maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_evaluate_oracle", HERE / "make_evaluate_oracle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


maker = _load_maker()


@cache
def oracle() -> list[tuple[Problem, list[dict[str, Any]]]]:
    data = json.loads(gzip.decompress(ORACLE.read_bytes()))
    assert data["reference"] == "813d688"
    return [(Problem.from_dict(case["problem"]), case["plans"]) for case in data["cases"]]


def _cases() -> list[tuple[Problem, dict[str, Any]]]:
    return [(p, e) for p, entries in oracle() for e in entries]


def _interpreted(problem: Problem, plans: list[Any]) -> list[vrpkit.Evaluation]:
    items = []
    for plan in plans:
        found: list[vrpkit.Violation] = []
        items.append((_routes_of(problem, plan, found), found))
    return _evaluate_kernel(problem, items, interpreted(evaluate_plans))


def test_oracle_covers_every_attribute() -> None:
    """The oracle has problems with every attribute, plans with every violation, and feasible plans."""
    attributes: set[str] = set()
    constraints: set[str] = set()
    feasible = 0
    for problem, entries in oracle():
        attributes |= problem.attributes
        for e in entries:
            constraints |= {v["constraint"] for v in e["result"]["violations"]}
            feasible += e["result"]["status"] == "feasible"
    assert set(CONSTRAINTS) - set(FLEET_CONSTRAINTS) == constraints  # the fleet's: tests/test_fleet_evaluate.py
    assert {"capacity", "open", "backhaul", "mixed_backhaul", "duration_limit", "distance_limit", "time_windows",
            "multiple_time_windows", "multi_depot", "heterogeneous_fleet", "prizes"} <= attributes
    assert feasible >= 30
    assert sum(p.time_dependent for p, _ in oracle()) >= 5
    assert sum(p.n_dims > 1 for p, _ in oracle()) >= 10
    assert sum(max(len(c.time_windows) for c in p.clients) > 1 for p, _ in oracle()) >= 20


@pytest.mark.parametrize("index", range(len(_cases())))
def test_evaluate_matches_oracle(index: int) -> None:
    """Every field of every evaluation, to the bit: the repr digest, the JSON form and the exact totals."""
    problem, entry = _cases()[index]
    ev = evaluate(problem, maker.plan_from_json(entry["plan"]))
    assert ev.to_dict(problem) == entry["result"]
    assert maker.totals(ev) == entry["totals"]
    assert maker.digest(ev) == entry["digest"]


def test_evaluate_many_matches_evaluate() -> None:
    for problem, entries in oracle():
        plans = [maker.plan_from_json(e["plan"]) for e in entries]
        many = evaluate_many(problem, plans)
        assert [maker.digest(e) for e in many] == [e["digest"] for e in entries]
        assert many == [evaluate(problem, p) for p in plans]
        totals = evaluate_many(problem, plans, full=False)
        assert isinstance(totals, Totals)
        assert totals.cost.tolist() == [e.cost for e in many]
        assert totals.distance.tolist() == [e.distance for e in many]
        assert totals.duration.tolist() == [e.duration for e in many]
        assert totals.violations.tolist() == [len(e.violations) for e in many]
        assert totals.feasible.tolist() == [e.feasible for e in many]


def test_evaluate_many_empty_and_generator() -> None:
    problem = oracle()[0][0]
    assert evaluate_many(problem, []) == []
    totals = evaluate_many(problem, iter([]), full=False)
    assert totals.cost.shape == (0,) and totals.violations.shape == (0,)
    plan = [Route(0, tuple(range(problem.n_clients)))]
    assert evaluate_many(problem, (plan for _ in range(3))) == [evaluate(problem, plan)] * 3


def test_interpreted_kernel_matches_oracle() -> None:
    """The kernel run by Python (as before it is built) gives the compiled kernel's numbers (a sample)."""
    for problem, entries in oracle()[::4]:
        if problem.time_dependent:
            continue
        ours = _interpreted(problem, [maker.plan_from_json(e["plan"]) for e in entries])
        assert [maker.digest(e) for e in ours] == [e["digest"] for e in entries]


def test_many_plans_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans split over several kernel calls give the same results as one call."""
    module = importlib.import_module("vrpkit.evaluate")  # the module (vrpkit.evaluate is also the function)
    problem, entries = next((p, e) for p, e in oracle() if not p.time_dependent)
    plans = [maker.plan_from_json(e["plan"]) for e in entries] * 3
    whole = evaluate_many(problem, plans)
    monkeypatch.setattr(module, "_CHUNK", 1)
    assert evaluate_many(problem, plans) == whole
    assert evaluate_many(problem, plans, full=False).cost.tolist() == [e.cost for e in whole]


def test_huge_ids_are_unknown() -> None:
    """A client index or vehicle type beyond 64 bits is an unknown id / vehicle type, as any other."""
    problem = next(p for p, _ in oracle() if not p.time_dependent)
    ev = evaluate(problem, [Route(0, (0, 2**70)), Route(2**66, (1,))])
    assert [(v.constraint, v.route, v.client) for v in ev.violations[:2]] == [
        ("unknown_id", 0, str(2**70)), ("unknown_vehicle_type", 1, str(2**66))]


def test_matrices_are_not_copied() -> None:
    """The kernel reads the problem's own matrices (views, no copies)."""
    from vrpkit.evaluate import _Arrays, _data

    problem = next(p for p, _ in oracle() if not p.time_dependent)
    evaluate(problem, [])
    d = _data(problem)
    assert isinstance(d, _Arrays)
    assert np.shares_memory(d.args[1], problem.distance) and np.shares_memory(d.args[2], problem.duration)


@st.composite
def problem_and_plans(draw: st.DrawFn) -> tuple[Problem, list[Any]]:
    seed = draw(st.integers(1000, 10**6))
    problem = maker.random_problem(seed)
    rng = np.random.default_rng(seed)
    kinds = draw(st.lists(st.sampled_from(["routes", "solution", "short", "full"]), min_size=1, max_size=4))
    return problem, [maker.random_plan(problem, rng, kind) for kind in kinds]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem_and_plans())
def test_property_compiled_equals_interpreted(case: tuple[Problem, list[Any]]) -> None:
    """Random problems of every attribute and random plans: ``evaluate`` (compiled), ``evaluate_many`` and the
    interpreted kernel agree on every field, bit for bit (time-dependent problems: ``evaluate_many`` against
    ``evaluate``)."""
    problem, plans = case
    ours = [evaluate(problem, p) for p in plans]
    assert evaluate_many(problem, plans) == ours
    assert [repr(e) for e in evaluate_many(problem, plans)] == [repr(e) for e in ours]
    if not problem.time_dependent:
        assert [repr(e) for e in _interpreted(problem, plans)] == [repr(e) for e in ours]
    for e in ours:
        assert math.isfinite(e.cost)
        assert e.feasible == (not e.violations)


def test_solution_and_route_list_agree() -> None:
    problem = next(p for p, _ in oracle() if not p.time_dependent)
    routes = [Route(0, (0, 1)), Route(0, ()), Route(0, (2,))]
    a, b = evaluate(problem, routes), evaluate(problem, Solution(tuple(routes)))
    assert a == b


def test_times_of_the_kernel_match_the_python_schedule() -> None:
    """``_times`` (used by the locks and the explanations) runs the kernel's rule; the Python schedule that
    times time-dependent problems gives the same numbers on a problem without a profile."""
    from vrpkit.evaluate import _Data, _data, _times, _times_py

    for problem, _ in oracle()[:20]:
        if problem.time_dependent:
            continue
        clients = tuple(range(min(6, problem.n_clients)))
        for t0 in (0.0, 17.5):
            assert _times(_data(problem), clients, 0, t0) == _times_py(_Data(problem), clients, 0, t0)


def test_not_built_runs_the_kernel_interpreted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the build, ``evaluate`` runs the same kernel interpreted (and starts the background build once),
    with the same results; it looks again for the built code after ``RECHECK_SECONDS``."""
    from vrpkit.solvers import build

    import vrpkit._evaluate_kernel as kernel_module

    started: list[str] = []
    monkeypatch.setattr(kernel_module, "ready", lambda: False)
    monkeypatch.setattr(kernel_module, "_compiled", None)
    monkeypatch.setattr(build, "start_background", lambda doing="solving": started.append(doing))
    assert kernel_module.kernel() is interpreted(evaluate_plans)
    assert started == ["evaluating"]
    problem, entries = next((p, e) for p, e in oracle() if not p.time_dependent)
    assert [maker.digest(evaluate(problem, maker.plan_from_json(e["plan"]))) for e in entries] == \
        [e["digest"] for e in entries]
    monkeypatch.setattr(kernel_module, "ready", lambda: True)
    monkeypatch.setattr(kernel_module, "_next_check", 0.0)
    assert kernel_module.kernel() is evaluate_plans
