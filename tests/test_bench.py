"""The benchmark harness: instance selection, rows costed by the evaluator, gaps, CSV and the mean rows."""

from __future__ import annotations

import csv
import io
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import vrpkit.solvers as solvers_module
import vrplib
from rich.console import Console
from vrpkit.solvers.base import _REGISTRY, Progress, register_solver

from vrpkit import Client, Depot, InputError, NoSolutionError, Problem, SolverError, VehicleType, evaluate
from vrpkit.bench import (
    CSV_COLUMNS,
    BenchRow,
    find_instances,
    format_bench_table,
    gap_percent,
    reference_gaps,
    run_bench,
    select_instances,
    summarize,
    vehicle_bound_cost,
)
from vrpkit.solution import Solution

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
X_DIR = DATA / "cvrplib" / "X"
SOLOMON_DIR = DATA / "solomon"

SEEN: list[Problem] = []
"""Problems the test solvers were given (to check what the harness passes on)."""


class OnePerClient:
    """A test solver: one route per client, the smallest vehicle type that fits."""

    name = "one-per-client"

    def supports(self, problem: Problem) -> str | None:
        return None

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress) -> Solution:
        SEEN.append(problem)
        return Solution.from_lists([[i] for i in range(problem.n_clients)], seed=seed)


class NeverFinds:
    """A test solver that finds nothing."""

    name = "never"

    def supports(self, problem: Problem) -> str | None:
        return None

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress) -> Solution:
        raise NoSolutionError("nothing found", ["the test solver never finds a plan"])


class Refuses:
    """A test solver that supports nothing."""

    name = "refuses"

    def supports(self, problem: Problem) -> str | None:
        return "supports nothing"

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress) -> Solution:
        raise AssertionError("never called")


@pytest.fixture(autouse=True)
def test_solvers() -> Iterator[None]:
    names = {"one-per-client": "OnePerClient", "never": "NeverFinds", "refuses": "Refuses"}
    for name, cls in names.items():
        register_solver(name, __name__, cls)
    SEEN.clear()
    yield
    for name in names:
        _REGISTRY.pop(name, None)


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def _bks_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {row["instance"]: row for row in csv.DictReader(f)}


def _out_and_back_cost(path: Path) -> int:
    """One route per client, costed independently of vrpkit: 2 x nint(depot-client distance)."""
    data = vrplib.read_instance(path)
    coords = data["node_coord"].astype(float)
    depot = coords[data["depot"][0]]
    d = np.sqrt(((coords - depot) ** 2).sum(axis=1))
    return int(2 * np.floor(d + 0.5).sum())


# -- selection ---------------------------------------------------------------------------------------------


def test_select_smallest_and_filters() -> None:
    needs(X_DIR)
    found = find_instances("cvrplib-x", DATA)
    assert len(found) == 61
    assert [(i.name, i.n) for i in select_instances(found, smallest=3)] == [
        ("X-n101-k25", 100), ("X-n106-k14", 105), ("X-n110-k13", 109)
    ]
    assert all(i.n <= 150 for i in select_instances(found, max_n=150))
    assert len(select_instances(found, max_n=150)) == sum(1 for i in found if i.n <= 150)
    assert [i.name for i in select_instances(found, instances=["X-n110-k13", "X-n101-k25"])] == [
        "X-n101-k25", "X-n110-k13"
    ]
    # The folder of the set itself works as well as the data folder.
    assert [i.name for i in find_instances("cvrplib-x", X_DIR)] == [i.name for i in found]
    with pytest.raises(InputError, match='unknown instance "X-n9-k1"'):
        select_instances(found, instances=["X-n9-k1"])
    with pytest.raises(InputError, match='unknown benchmark set "cvrplib-y"'):
        find_instances("cvrplib-y", DATA)


def test_solomon_sizes_ties_by_name() -> None:
    needs(SOLOMON_DIR)
    found = find_instances("solomon", DATA)
    assert len(found) == 56 and {i.n for i in found} == {100}
    assert [i.name for i in select_instances(found, smallest=2)] == ["C101", "C102"]
    assert (found[0].bks, found[0].bks_vehicles) == (828.9369, 10)


def test_missing_data_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no X-n\*\.vrp files with a bks\.csv"):
        find_instances("cvrplib-x", tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        find_instances("solomon", tmp_path / "nothing")


# -- runs ------------------------------------------------------------------------------------------------


def test_x_rows_csv_and_mean(tmp_path: Path) -> None:
    needs(X_DIR)
    out = tmp_path / "rows.csv"
    buffer = io.StringIO()
    rows = run_bench("cvrplib-x", DATA, ["one-per-client"], time_limit=1.0, seed=3, smallest=2, csv_path=out,
                     console=Console(file=buffer, width=200))
    bks = _bks_csv(X_DIR / "bks.csv")
    assert [r.instance for r in rows] == ["X-n101-k25", "X-n106-k14"]
    for row in rows:
        assert row.cost == _out_and_back_cost(X_DIR / f"{row.instance}.vrp")
        assert row.bks == float(bks[row.instance]["bks"])
        assert row.gap == (row.cost - int(bks[row.instance]["bks"])) / int(bks[row.instance]["bks"]) * 100
        assert (row.status, row.feasible, row.vehicles, row.seed) == ("feasible", True, row.n, 3)
        assert row.solver == "one-per-client" and row.error == ""
    assert rows[0].cost == 90_008  # X-n101-k25: 100 routes out and back

    with out.open() as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS == (
            "set", "instance", "n", "solver", "seed", "time_limit", "status", "feasible", "cost", "distance",
            "vehicles", "bks", "bks_vehicles", "gap", "runtime", "error",
        )
        written = list(reader)
    assert [w["instance"] for w in written] == ["X-n101-k25", "X-n106-k14"]
    for w, row in zip(written, rows, strict=True):
        assert float(w["cost"]) == row.cost and float(w["gap"]) == pytest.approx(row.gap, abs=1e-6)
        assert w["bks_vehicles"] == "" and w["feasible"] == "True" and w["set"] == "cvrplib-x"

    (summary,) = summarize(rows)
    assert summary.mean_gap == pytest.approx((rows[0].gap + rows[1].gap) / 2)
    assert summary.mean_runtime == pytest.approx(statistics.fmean(r.runtime for r in rows))
    assert (summary.instances, summary.feasible, summary.bks_vehicles_matched) == (2, 2, None)
    text = str(format_bench_table(rows))
    assert "mean (2/2 feasible)" in text and f"{summary.mean_gap:.2f}" in text
    assert "X-n101-k25" in buffer.getvalue() and "cost 90008" in buffer.getvalue()


def test_several_solvers_side_by_side_and_failures() -> None:
    needs(X_DIR)
    rows = run_bench("cvrplib-x", X_DIR, ["one-per-client", "never", "refuses"], time_limit=0.5,
                     instances=["X-n101-k25"])
    assert [(r.solver, r.status) for r in rows] == [
        ("one-per-client", "feasible"), ("never", "no_solution"), ("refuses", "error")
    ]
    assert rows[1].gap is None and rows[1].cost is None and "never finds" in rows[1].error
    assert "supports nothing" in rows[2].error
    summaries = summarize(rows)
    assert [(s.solver, s.feasible, s.mean_gap is None) for s in summaries] == [
        ("one-per-client", 1, False), ("never", 0, True), ("refuses", 0, True)
    ]
    with pytest.raises(SolverError, match='unknown solver "nope"'):
        run_bench("cvrplib-x", X_DIR, ["one-per-client", "nope"], time_limit=1.0, smallest=1)


def test_solomon_vehicles_first() -> None:
    needs(SOLOMON_DIR)
    rows = run_bench("solomon", DATA, ["one-per-client"], time_limit=1.0, instances=["C101"])
    (row,) = rows
    # 100 routes for 25 vehicles: infeasible, so no gap; the cost shown is the distance.
    assert (row.status, row.feasible, row.vehicles, row.bks_vehicles, row.gap) == ("infeasible", False, 100, 10,
                                                                                    None)
    assert "fleet_size" in row.error
    problem = SEEN[0]
    depot = np.asarray(problem.locations[0])
    expected = 2 * np.sqrt(((np.asarray(problem.locations[1:]) - depot) ** 2).sum(axis=1)).sum()
    assert row.cost == row.distance == pytest.approx(expected, abs=1e-9)
    # The solver saw a fixed cost per vehicle larger than the distance of any plan.
    (vt,) = problem.vehicle_types
    assert vt.fixed_cost == vehicle_bound_cost(problem) > row.distance
    assert evaluate(problem, Solution.from_lists([[i] for i in range(100)])).cost == pytest.approx(
        100 * vt.fixed_cost + expected
    )


def test_vehicle_bound_cost_by_hand() -> None:
    # Depot at 0, clients at 3 and 10 on a line; longest arcs out: depot 10, client 3 -> 7, client 10 -> 10.
    problem = Problem(
        name="line",
        depots=(Depot("d", (0, 0)),),
        clients=(Client("a", (3, 0)), Client("b", (10, 0))),
        vehicle_types=(VehicleType("v", count=2),),
    )
    # 7 + 10 (clients) + 2 routes x 10 (depot) = 37, plus 1.
    assert vehicle_bound_cost(problem) == 38.0
    assert vehicle_bound_cost(problem.replace(vehicle_types=(VehicleType("v"),))) == 38.0


def test_gap_formula() -> None:
    assert gap_percent(110.0, 100.0) == pytest.approx(10.0)
    assert gap_percent(27591.0, 27591.0) == 0.0
    row = BenchRow("cvrplib-x", "X", 1, "s", 0, 1.0, "feasible", True, 105.0, 105.0, 2, 100.0, None,
                   gap_percent(105.0, 100.0), 0.5)
    assert "5.00" in str(format_bench_table([row]))


def test_reference_gaps_by_hand() -> None:
    def row(instance: str, solver: str, cost: float, feasible: bool = True) -> BenchRow:
        return BenchRow("cvrplib-x", instance, 1, solver, 0, 1.0, "feasible" if feasible else "infeasible",
                        feasible, cost, cost, 2, 100.0, None, gap_percent(cost, 100.0) if feasible else None, 0.5)

    rows = [row("X1", "s", 110.0), row("X1", "ref", 100.0), row("X2", "s", 90.0), row("X2", "ref", 80.0),
            row("X3", "s", 120.0), row("X3", "ref", 100.0, feasible=False),
            row("X4", "s", 130.0, feasible=False), row("X4", "ref", 100.0)]
    # Gaps only where both plans are feasible; none for the reference's own rows.
    assert reference_gaps(rows, "ref") == [10.0, None, 12.5, None, None, None, None, None]
    by_solver = {s.solver: s for s in summarize(rows, "ref")}
    assert by_solver["s"].mean_gap_to_reference == pytest.approx(11.25)
    assert by_solver["ref"].mean_gap_to_reference is None
    assert all(s.mean_gap_to_reference is None for s in summarize(rows))
    text = str(format_bench_table(rows, "ref"))
    assert "(reference: ref)" in text and "gap ref %" in text and "12.50" in text and "11.25" in text
    assert "gap ref %" not in str(format_bench_table(rows))


def test_pyvrp_as_the_reference_from_the_command_line(tmp_path: Path) -> None:
    needs(X_DIR)
    pytest.importorskip("pyvrp")
    table = tmp_path / "bench.csv"
    done = subprocess.run(
        [sys.executable, "-m", "vrpkit", "bench", "--set", "cvrplib-x", "--data", str(DATA), "--smallest", "1",
         "--time-limit", "1", "--solver", "ortools", "--reference", "pyvrp", "--csv", str(table)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(table.open()))
    assert [(r["solver"], r["status"]) for r in rows] == [("ortools", "feasible"), ("pyvrp", "feasible")]
    ortools, pyvrp = (float(r["cost"]) for r in rows)
    assert 27591 <= pyvrp < 27591 * 1.03  # X-n101-k25 within 3 % of its BKS in one second
    assert "(reference: pyvrp)" in done.stdout and "gap ref %" in done.stdout
    (line,) = [x for x in done.stdout.splitlines() if "X-n101-k25" in x and "ortools" in x]
    assert f"{gap_percent(ortools, pyvrp):.2f}" in line


# -- with OR-Tools -----------------------------------------------------------------------------------------


def test_ortools_on_smallest_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    needs(X_DIR)
    needs(SOLOMON_DIR)
    pytest.importorskip("ortools")
    results = []
    real_solve = solvers_module.solve

    def recording_solve(*args: object, **kwargs: object) -> object:
        result = real_solve(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(solvers_module, "solve", recording_solve)
    rows = run_bench("cvrplib-x", DATA, ["ortools"], time_limit=1.0, smallest=2)
    rows += run_bench("solomon", DATA, ["ortools"], time_limit=1.0, instances=["C101"])
    bks_x = _bks_csv(X_DIR / "bks.csv")
    bks_s = _bks_csv(SOLOMON_DIR / "bks.csv")
    assert [r.instance for r in rows] == ["X-n101-k25", "X-n106-k14", "C101"]
    for row, result in zip(rows, results, strict=True):
        assert row.feasible, row.error
        evaluation = evaluate(result.problem, result.solution)  # the evaluator's word, again
        if row.set == "cvrplib-x":
            bks = int(bks_x[row.instance]["bks"])
            assert row.cost == evaluation.cost == result.evaluation.cost
            assert row.cost == int(row.cost) and row.cost >= bks
        else:
            bks = float(bks_s[row.instance]["distance"])
            assert row.cost == evaluation.distance
            assert row.vehicles == evaluation.n_vehicles >= int(bks_s[row.instance]["vehicles"])
            assert row.cost >= bks - 1e-3
        assert row.gap == (row.cost - bks) / bks * 100
        assert math.isfinite(row.runtime) and row.runtime > 0
