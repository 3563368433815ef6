"""The ``vrpkit`` command end to end, in a subprocess as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY

import vrpkit
from vrpkit.io import read_problem
from vrpkit.report import summary

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

"""D-a = 5, a-b = 5, b-D = 6, D-c = 5: route D-a-b-D has distance 16, route D-c-D 10."""


def vrpkit_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``vrpkit ARGS``; reports are laid out for 200 columns (pytest itself sets COLUMNS=80)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def cost_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("cost: ")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_solve_writes_plan_and_evaluate_agrees(tmp_path):
    plan = tmp_path / "plan.json"
    solved = vrpkit_cli("solve", INSTANCES / "cvrp_wholesaler.json", "--time-limit", "1", "--seed", "3",
                        "-o", plan)
    assert solved.returncode == 0, solved.stderr
    assert "best objective" in solved.stderr and "status: feasible" in solved.stdout
    assert "Traceback" not in solved.stderr
    data = json.loads(plan.read_text())
    assert data["status"] == "feasible" and data["stats"]["seed"] == 3 and data["stats"]["solver"] == "ortools"
    visited = sorted(s["id"] for r in data["routes"] for s in r["stops"])
    assert visited == sorted(f"shop{i:02d}" for i in range(1, 19))
    for r in data["routes"]:  # the table lists every route with its distance
        assert " ".join(["warehouse", *(s["id"] for s in r["stops"]), "warehouse"]) in \
            " ".join(solved.stdout.split())

    checked = tmp_path / "checked.json"
    evaluated = vrpkit_cli("evaluate", INSTANCES / "cvrp_wholesaler.json", plan, "-o", checked)
    assert evaluated.returncode == 0, evaluated.stderr
    assert cost_line(evaluated.stdout) == cost_line(solved.stdout)
    again = json.loads(checked.read_text())
    assert again["cost"] == data["cost"] and again["routes"] == data["routes"]


def test_solve_quiet_prints_nothing_on_stderr(tmp_path):
    problem = write(tmp_path / "tiny.json", TINY)
    solved = vrpkit_cli("solve", problem, "-t", "1", "--quiet")
    assert solved.returncode == 0 and solved.stderr == ""
    # Two vans of 6 for 9 units: the optimum is D-a-b-D + D-c-D = 26 km, 2 * 26 + 2 * 7 = 66.
    assert cost_line(solved.stdout) == "cost: 66 = fixed 14 + routes 52"


def test_evaluate_short_form_with_exact_cost(tmp_path):
    problem = write(tmp_path / "tiny.json", TINY)
    plan = write(tmp_path / "plan.json", {"routes": [{"vehicle_type": "van", "stops": ["a", "b"]},
                                                      {"stops": ["c"]}]})
    out = tmp_path / "out.json"
    result = vrpkit_cli("evaluate", problem, plan, "-o", out)
    assert result.returncode == 0, result.stderr
    assert cost_line(result.stdout) == "cost: 66 = fixed 14 + routes 52"
    assert "status: feasible" in result.stdout
    data = json.loads(out.read_text())
    assert (data["status"], data["cost"], data["distance"], data["vehicles"]) == ("feasible", 66, 26, 2)
    first = data["routes"][0]
    assert (first["distance"], first["cost"], first["start_load"]) == (16, 2 * 16 + 7, 5)
    assert [(s["id"], s["arrival"], s["load"]) for s in first["stops"]] == [("a", 5, 3), ("b", 10, 0)]
    assert data["violations"] == [] and data["unassigned"] == []


def test_evaluate_infeasible_plan_exits_3(tmp_path):
    problem = write(tmp_path / "tiny.json", TINY)
    plan = write(tmp_path / "plan.json", {"routes": [{"stops": ["a", "b", "c"]}]})
    result = vrpkit_cli("evaluate", problem, plan)
    assert result.returncode == 3
    assert "infeasible (1 violation)" in result.stdout
    assert re.search(r"capacity\s+0\s+-\s+3", result.stdout), result.stdout  # 9 on board, capacity 6


def test_solve_infeasible_problem_exits_3(tmp_path):
    data = json.loads(json.dumps(TINY))
    data["clients"][2]["delivery"] = 20  # more than any vehicle carries
    problem = write(tmp_path / "tiny.json", data)
    out = tmp_path / "plan.json"
    result = vrpkit_cli("solve", problem, "-t", "1", "-o", out)
    assert result.returncode == 3, result.stderr
    assert "no feasible plan found" in result.stderr and "Traceback" not in result.stderr
    assert json.loads(out.read_text())["status"] in ("no_solution", "infeasible")


def test_info_describes_the_problem():
    result = vrpkit_cli("info", INSTANCES / "vrptw_lyon.json")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for expected in ("variant      VRPTW", "capacity, time_windows", "1 depot, 16 clients, 1 vehicle type (3",
                     "lonlat", "haversine (speed=25)", "distance     symmetric", "6:00–20:00"):
        assert expected in text, text
    assert re.search(r"van\s+3\s+60\s+hub\s+hub\s+7:00–19:00", text), text


def test_convert_json_normalises(tmp_path):
    verbose = json.loads(json.dumps(TINY))
    verbose["clients"][0].update(pickup=0, service_time=0, prize=0, required=True, time_window=[0, None])
    verbose["vehicle_types"][0].update(cost_per_duration=0, shift=[0, None], start_depot="D")
    verbose["matrix"] = {"provider": "euclidean"}
    source = write(tmp_path / "verbose.json", verbose)
    target = tmp_path / "normal.json"
    result = vrpkit_cli("convert", source, target)
    assert result.returncode == 0, result.stderr
    normal = json.loads(target.read_text())
    assert normal["clients"][0] == {"id": "a", "location": [3, 4], "delivery": 2}
    assert "shift" not in normal["vehicle_types"][0] and "cost_per_duration" not in normal["vehicle_types"][0]
    assert (read_problem(target).distance == read_problem(source).distance).all()


def test_convert_solution_to_sol_and_back(tmp_path):
    numbered = json.loads(json.dumps(TINY))
    for k, c in enumerate(numbered["clients"], 1):
        c["id"] = str(k)
    problem = write(tmp_path / "p.json", numbered)
    plan = write(tmp_path / "plan.json", {"routes": [{"stops": ["1", "2"]}, {"stops": ["3"]}]})
    sol = tmp_path / "plan.sol"
    assert vrpkit_cli("convert", plan, sol, "--problem", problem).returncode == 0
    assert sol.read_text().splitlines() == ["Route #1: 1 2", "Route #2: 3", "Cost 66"]
    back = tmp_path / "back.json"
    assert vrpkit_cli("convert", sol, back, "--problem", problem).returncode == 0
    assert json.loads(back.read_text())["cost"] == 66


def test_convert_vrp_to_json_keeps_the_bks_cost(tmp_path):
    folder = DATA / "cvrplib" / "X"
    if not folder.is_dir():
        pytest.skip(f"shared data not found: {folder}")
    target = tmp_path / "X-n101-k25.json"
    result = vrpkit_cli("convert", folder / "X-n101-k25.vrp", target)
    assert result.returncode == 0, result.stderr
    data = json.loads(target.read_text())
    assert data["matrix"] == {"provider": "euclidean", "round": "nearest"} and len(data["clients"]) == 100
    evaluated = vrpkit_cli("evaluate", target, folder / "X-n101-k25.sol")
    assert evaluated.returncode == 0 and cost_line(evaluated.stdout) == "cost: 27,591"


def test_schema_is_the_json_schema_of_problems():
    result = vrpkit_cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"depots", "clients", "vehicle_types", "matrix", "backhaul"} <= set(schema["properties"])
    assert set(schema["required"]) == {"depots", "clients", "vehicle_types"}


def test_version_and_help():
    version = vrpkit_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"vrpkit {vrpkit.__version__}"
    helped = vrpkit_cli("--help")
    assert helped.returncode == 0
    for command in ("solve", "evaluate", "info", "convert", "schema", "bench"):
        assert command in helped.stdout


def test_bench_side_by_side(tmp_path):
    if not (DATA / "cvrplib" / "X").is_dir():
        pytest.skip(f"shared data not found: {DATA}")
    table = tmp_path / "bench.csv"
    result = vrpkit_cli("bench", "--set", "cvrplib-x", "--smallest", "1", "--solver", "ortools", "--solver",
                        "ortools:metaheuristic=tabu_search", "--time-limit", "1", "--data", DATA, "--csv", table)
    assert result.returncode == 0, result.stderr
    assert "X-n101-k25" in result.stdout and "tabu_search" in result.stdout
    rows = list(csv.DictReader(table.open()))
    assert [r["solver"] for r in rows] == ["ortools", "ortools:metaheuristic=tabu_search"]
    assert all(r["status"] == "feasible" and int(r["cost"]) >= 27591 for r in rows)


def test_summary_from_python(tmp_path):
    problem = vrpkit.Problem.from_dict(TINY)
    evaluation = vrpkit.evaluate(problem, {"routes": [{"stops": ["a", "b"]}, {"stops": ["c"]}]})
    text = summary(evaluation, problem)
    assert "cost: 66 = fixed 14 + routes 52" in text and "D a b D" in text and "D c D" in text
    assert all(line == line.rstrip() for line in text.splitlines())


# -- VRPLIB files of PyVRP's dialect, --round, .sol costs ------------------------------------------------------

OWN = Path(__file__).resolve().parent / "data"


def one_error_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_info_reads_vrplib_by_content_whatever_the_suffix(tmp_path):
    for name, variant in (("small_vrplib.txt", "VRPTW"), ("no_depot.tsp", "VRP"), ("small_vrpspd.vrp", "VRPMB")):
        result = vrpkit_cli("info", OWN / name)
        assert result.returncode == 0, result.stderr
        assert f"variant      {variant}\n" in result.stdout
    line = one_error_line(vrpkit_cli("info", OWN / "vrplib_fleet" / "exclusive_groups.txt"))
    assert line.endswith("exclusive_groups.txt: section MUTUALLY_EXCLUSIVE_GROUP_SECTION is not supported")
    odd = tmp_path / "p.dat"
    odd.write_text("hello\n")
    assert "p.dat: unknown format '.dat': neither VRPLIB" in one_error_line(vrpkit_cli("info", odd))


def test_round_option(tmp_path):
    problem = OWN / "small_cvrptw.vrp"
    assert "euclidean (round=dimacs)" in vrpkit_cli("info", problem).stdout
    assert "euclidean (round=nearest)" in vrpkit_cli("info", problem, "--round", "nearest").stdout
    assert one_error_line(vrpkit_cli("info", problem, "--round", "up")) == \
        'error: --round: "up" is not one of none, nearest, dimacs, exact'
    assert one_error_line(vrpkit_cli("info", INSTANCES / "cvrp_wholesaler.json", "--round", "dimacs")) == \
        "error: --round: applies to VRPLIB and Solomon files; a JSON problem states its matrix"
    assert "round \"nearest\" applies to EUC_2D edges" in one_error_line(
        vrpkit_cli("info", OWN / "small_vrplib.txt", "--round", "nearest"))
    # 0-1-2-0 is 1.4 + 2 + 3.1 = 6.5 under DIMACS (the .sol's cost), 1 + 2 + 3 = 6 to the nearest integer.
    evaluated = vrpkit_cli("evaluate", problem, OWN / "small_cvrptw.sol")
    assert evaluated.returncode == 0 and cost_line(evaluated.stdout) == "cost: 6.50"
    assert "small_cvrptw.sol states cost 6.5; the evaluator's cost is 6.5: matches" in evaluated.stderr
    nearest = vrpkit_cli("evaluate", problem, OWN / "small_cvrptw.sol", "--round", "nearest")
    assert nearest.returncode == 0 and cost_line(nearest.stdout) == "cost: 6"
    assert "states cost 6.5; the evaluator's cost is 6: does not match" in nearest.stderr
    solved = vrpkit_cli("solve", problem, "--round", "nearest", "-t", "1", "-q")
    assert solved.returncode == 0 and cost_line(solved.stdout) == "cost: 6"


def test_convert_sol_keeps_the_units_of_the_set(tmp_path):
    """PCVRPTW .sol costs are in units of 0.1: converting a .sol to .sol and back keeps its cost line."""
    text = (OWN / "small_cvrptw.vrp").read_text().replace("TYPE : CVRPTW", "TYPE : PCVRPTW")
    problem = tmp_path / "p.vrp"
    problem.write_text(text.replace("DEPOT_SECTION", "PRIZE_SECTION\n1 0\n2 0\n3 0\nDEPOT_SECTION"))
    given = tmp_path / "given.sol"
    given.write_text("Route #1: 1 2\nCost 65\n")
    evaluated = vrpkit_cli("evaluate", problem, given)
    assert "given.sol states cost 65; the evaluator's cost x 10 is 65: matches" in evaluated.stderr
    written = tmp_path / "written.sol"
    assert vrpkit_cli("convert", given, written, "--problem", problem).returncode == 0
    assert written.read_text() == "Route #1: 1 2\nCost 65\n"
    as_json = tmp_path / "plan.json"
    assert vrpkit_cli("convert", written, as_json, "--problem", problem).returncode == 0
    assert json.loads(as_json.read_text())["cost"] == pytest.approx(6.5, abs=1e-12)


def test_bench_round_option(tmp_path):
    if not (DATA / "solomon").is_dir():
        pytest.skip(f"shared data not found: {DATA}")
    table = tmp_path / "bench.csv"
    result = vrpkit_cli("bench", "--set", "solomon", "--instance", "C101", "--time-limit", "1", "--data", DATA,
                        "--round", "dimacs", "--csv", table)
    assert result.returncode == 0, result.stderr
    assert "distances round dimacs" in result.stderr
    (row,) = csv.DictReader(table.open())
    # Every edge is truncated to a multiple of 0.1, so the plan's distance is too.
    tenths = float(row["distance"]) * 10
    assert row["status"] == "feasible" and abs(tenths - round(tenths)) < 1e-6
    assert one_error_line(vrpkit_cli("bench", "--set", "solomon", "--round", "x", "--data", DATA)) == \
        'error: --round: "x" is not one of none, nearest, dimacs, exact'


def test_hfvrp_sol_in_pyvrp_objective_units(tmp_path):
    """HFVRP .sol files state either the cost to 2 decimals or PyVRP's integer objective under exact rounding
    (x100000). 0-1-2-0: sqrt 2 + 2 + sqrt 10 = 6.5765 unrounded; 1.414 + 2 + 3.162 = 6.576 exact."""
    text = (OWN / "small_cvrptw.vrp").read_text().replace("TYPE : CVRPTW", "TYPE : HFVRP")
    problem = tmp_path / "h.vrp"
    problem.write_text(text.replace("CAPACITY : 10", "CAPACITY : 10\nVEHICLES_UNIT_DISTANCE_COST : 100"))
    decimal, integer = tmp_path / "decimal.sol", tmp_path / "integer.sol"
    decimal.write_text("Route #1: 1 2\nCost: 6.58\n")
    integer.write_text("Route #1: 1 2\nCost: 657600\n")
    assert "decimal.sol states cost 6.58; the evaluator's cost is 6.576491: matches" in \
        vrpkit_cli("evaluate", problem, decimal).stderr
    assert "does not match (this file's cost is under --round exact)" in \
        vrpkit_cli("evaluate", problem, integer).stderr
    assert "integer.sol states cost 657600; the evaluator's cost x 100000 is 657600: matches" in \
        vrpkit_cli("evaluate", problem, integer, "--round", "exact").stderr
    # convert keeps each file's units (the decimal form at full precision).
    for given, cost in ((decimal, "6.576491"), (integer, "657600")):
        written = tmp_path / "written.sol"
        assert vrpkit_cli("convert", given, written, "--problem", problem).returncode == 0
        assert written.read_text() == f"Route #1: 1 2\nCost {cost}\n"
