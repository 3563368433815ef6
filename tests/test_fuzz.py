"""Every input either solves or is refused: problem dicts of the JSON Schema's shape with extreme and wrong
values (hypothesis), and seeded mutations of ordinary files through the CLI (``examples/fuzz_inputs.py``)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vrpkit
from vrpkit import Problem, VrpkitError

ROOT = Path(__file__).resolve().parents[1]
SOLVERS = ["ortools", "pyvrp", "aco"]


def _fuzz_module() -> Any:
    spec = importlib.util.spec_from_file_location("fuzz_inputs", ROOT / "examples" / "fuzz_inputs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_inputs"] = module
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz_module()

# -- values: mostly sensible, often extreme, sometimes of the wrong type -----------------------------------------

EXTREME = st.sampled_from([0, 1e15, 1e308, 10**30, -1, -1e308, 2**63, float("nan"), float("inf"), 0.5, 1e-300])
WRONG = st.sampled_from(["x", None, True, [], {}, [1, 2, 3]])


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], odds: int) -> st.SearchStrategy[Any]:
    """``good``, except once in ``odds`` draws ``bad``."""
    return st.integers(1, odds).flatmap(lambda k: bad if k == odds else good)


def number(low: float, high: float, *, integer: bool = False, odds: int = 6) -> st.SearchStrategy[Any]:
    good = st.integers(int(low), int(high)) if integer else st.floats(low, high, allow_nan=False)
    return mostly(good, st.one_of(EXTREME, WRONG), odds)


def rare(low: float, high: float, *, integer: bool = False) -> st.SearchStrategy[Any]:
    """A number of a fleet field: wrong once in 25 draws (there are many of them: most problems stay valid)."""
    return number(low, high, integer=integer, odds=25)


def window(high: float) -> st.SearchStrategy[Any]:
    pair = st.tuples(number(0, high), st.one_of(number(0, high), st.just(None))).map(list)
    return mostly(pair, st.one_of(st.just([0, 1e308]), st.just([25200, 1e308]), WRONG), 6)


def amount(dims: int) -> st.SearchStrategy[Any]:
    one = number(0, 9, integer=True)
    return one if dims == 1 else st.one_of(st.lists(one, min_size=dims, max_size=dims), one)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object in which each field is present or not."""
    return st.fixed_dictionaries({}, optional=fields)


def uncertainty() -> st.SearchStrategy[dict[str, Any]]:
    """An ``uncertainty`` block: profiles named, sorted, unsorted or wrong; noise mostly sensible."""
    sorted_points = st.lists(st.tuples(st.floats(0, 1000), st.floats(0.1, 3)), min_size=1, max_size=4,
                             unique_by=lambda p: p[0]).map(lambda ps: [list(p) for p in sorted(ps)])
    points = st.lists(st.tuples(number(0, 1000), number(0.1, 3)).map(list), min_size=0, max_size=3)
    profile = st.one_of(st.sampled_from(["rush_hour", "svrpbench", "rush"]), sorted_points, points, WRONG)
    accidents = optional(rate_per_hour=number(0, 2), delay=st.tuples(number(0, 50), number(0, 50)).map(list))
    travel = optional(profile=profile, lognormal_sigma=number(0, 1), accidents=accidents)
    demand = optional(distribution=st.sampled_from(["poisson", "normal", "none", "gamma"]), cv=number(0, 1),
                      recourse=st.sampled_from(["return", "fail", "skip"]))
    return optional(travel_time=travel, demand=demand, service_time=optional(lognormal_sigma=number(0, 1)))


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    dims = draw(st.sampled_from([1, 1, 2]))
    n_depots = draw(st.integers(1, 2))
    plain = st.floats(0, 100, allow_nan=False)
    location = mostly(st.tuples(plain, plain).map(list), st.tuples(number(0, 100), number(0, 100)).map(list), 12)
    depots = [{"id": f"D{d}", "location": draw(location),
               **draw(optional(time_window=window(1000), service_time=rare(0, 20)))} for d in range(n_depots)]
    skills = mostly(st.lists(st.sampled_from(["fridge", "lift"]), max_size=2), st.one_of(WRONG, st.just([""])), 25)
    clients = []
    for i in range(draw(st.integers(0, 4))):
        client = {"id": f"c{i}", "location": draw(location)}
        client.update(draw(optional(
            delivery=amount(dims), pickup=amount(dims), service_time=number(0, 20), time_window=window(1000),
            time_windows=st.lists(window(1000), min_size=1, max_size=2), prize=number(0, 50),
            required=mostly(st.booleans(), WRONG, 6), skills=skills, release_time=rare(0, 500),
        )))
        clients.append(client)
    shipments = []
    for k in range(draw(st.sampled_from([0, 0, 1, 2]))):
        stops = {role: {"id": f"s{k}{role[0]}", "location": draw(location),
                        **draw(optional(service_time=rare(0, 20), time_window=window(1000), skills=skills))}
                 for role in ("pickup", "delivery")}
        shipments.append({"id": f"s{k}", **stops, **draw(optional(
            amount=amount(dims), max_ride_time=rare(0, 500), required=mostly(st.booleans(), WRONG, 25),
            prize=rare(0, 50)))})
    breaks = st.lists(st.fixed_dictionaries({"id": st.sampled_from(["lunch", "tea"])}, optional={
        "time_window": window(1000), "duration": rare(0, 60)}), max_size=2)
    vehicle_types = []
    for v in range(draw(st.integers(1, 2))):
        vehicle = {"id": f"v{v}"}
        vehicle.update(draw(optional(
            count=number(1, 3, integer=True), capacity=amount(dims), start_depot=st.sampled_from(["D0", "D1"]),
            end_depot=st.sampled_from(["D0", "D1", None]), shift=window(1000), max_duration=number(0, 1000),
            max_distance=number(0, 1000), fixed_cost=number(0, 100), cost_per_distance=number(0, 3),
            cost_per_duration=number(0, 3), skills=skills, breaks=mostly(breaks, WRONG, 25),
            reload_depots=st.lists(st.sampled_from(["D0", "D1"]), max_size=2),
            max_reloads=rare(0, 3, integer=True),
        )))
        vehicle_types.append(vehicle)
    data = {"depots": depots, "clients": clients, "vehicle_types": vehicle_types}
    if shipments:
        data["shipments"] = shipments
    if draw(st.integers(1, 20)) == 20:
        data[draw(st.sampled_from(["bogus", "fleet", "shipments"]))] = 1
    data.update(draw(optional(backhaul=st.sampled_from(["mixed", "strict", "x"]),
                              coordinates=st.sampled_from(["planar", "lonlat"]))))
    if draw(st.integers(1, 4)) == 4:
        data["uncertainty"] = draw(uncertainty())
    n = len(depots) + len(clients) + 2 * len(shipments)
    if draw(st.booleans()):
        data["matrix"] = {"provider": "explicit",
                          "distance": draw(st.lists(st.lists(number(0, 100), min_size=n, max_size=n),
                                                    min_size=n, max_size=n))}
    return data


def check_solves_or_refuses(data: dict[str, Any], solver: str) -> str:
    """Refused with a VrpkitError, or solved with a result the evaluator agrees with."""
    try:
        problem = Problem.from_dict(data)
    except VrpkitError:
        return "refused"
    try:
        result = vrpkit.solve(problem, solver, time_limit=0.1)
    except VrpkitError:
        return "refused by the solver"
    json.dumps(result.to_dict())
    if result.solution is None:
        assert result.status == "no_solution"
        return "no plan"
    again = vrpkit.evaluate(problem, result.solution)
    assert again.status == result.status
    assert again.cost == result.cost or math.isclose(again.cost, result.cost, rel_tol=1e-12)
    return result.status


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=problems())
def test_schema_shaped_problems_solve_or_are_refused(solver: str, data: dict[str, Any]) -> None:
    check_solves_or_refuses(data, solver)


_SPOTS = [(10, 0, 0), (0, 20, 30), (-15, 5, 60), (5, -5, 90)]
WINDOWS = {"depots": [{"id": "D", "location": [0, 0]}],
           "clients": [{"id": f"c{i}", "location": [x, y], "delivery": 1, "time_window": [w, w + 30],
                        "service_time": 2} for i, (x, y, w) in enumerate(_SPOTS)],
           "vehicle_types": [{"id": "v", "capacity": 2, "shift": [0, 200]}]}
"""Four clients with windows, two vehicles' worth of deliveries: what a drawn ``uncertainty`` block is added to."""


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(block=uncertainty())
def test_uncertainty_blocks_solve_or_are_refused(solver: str, block: dict[str, Any]) -> None:
    """Time-dependent problems too: refused in one named error, or solved with the evaluator's cost."""
    data = {**WINDOWS, "uncertainty": block}
    outcome = check_solves_or_refuses(data, solver)
    if outcome == "refused":
        with pytest.raises(VrpkitError, match=r"^uncertainty\."):
            Problem.from_dict(data)


# -- the CLI on mutated ordinary files ---------------------------------------------------------------------------


def test_mutations_are_reproducible_and_change_the_problem() -> None:
    base_list = fuzz.bases()
    first = fuzz.mutated(7, 3, base_list)
    assert fuzz.mutated(7, 3, base_list) == first
    name, data, edits = first
    assert data != dict(base_list)[name] and edits


@pytest.mark.parametrize("index", range(24))
def test_mutated_files_exit_0_2_or_3_in_process(index: int, tmp_path: Path) -> None:
    name, data, edits = fuzz.mutated(11, index, fuzz.bases())
    outcome = fuzz.run_case(data, SOLVERS[index % 3], 0.1, tmp_path)
    assert outcome.kind in ("refused", "solved"), (name, edits, outcome)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_mutated_files_exit_0_2_or_3_in_a_subprocess(index: int, tmp_path: Path) -> None:
    """As a user runs it: exit 0, 2 or 3, never a traceback, a refusal in one line."""
    _name, data, _edits = fuzz.mutated(5, index, fuzz.bases())
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "vrpkit", "solve", str(path), "--time-limit", "0.2", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 2, 3), proc.stderr
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")
