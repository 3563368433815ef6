"""Bad input never reaches a traceback: exit code 2 and one line ``error: <message>`` naming the field.

Every case runs through the CLI in-process (typer's CliRunner, fast); a selection also runs in a subprocess,
exactly as a user would run it.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vrpkit.cli import app

BASE: dict[str, Any] = {
    "name": "base",
    "depots": [{"id": "D", "location": [0, 0], "time_window": [0, 1000]}],
    "clients": [
        {"id": "a", "location": [3, 4], "delivery": 2, "time_window": [0, 100]},
        {"id": "b", "location": [6, 0], "delivery": 3},
        {"id": "c", "location": [0, -5], "delivery": 4},
    ],
    "vehicle_types": [{"id": "van", "count": 2, "capacity": 6}],
}
GOOD_PLAN = {"routes": [{"vehicle_type": "van", "stops": ["a", "b"]}, {"stops": ["c"]}]}


def changed(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A copy of BASE with ``edit`` applied."""
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def client(i: int, **fields: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda d: d["clients"][i].update(fields)


def vehicle(**fields: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda d: d["vehicle_types"][0].update(fields)


def top(**fields: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda d: d.update(fields)


@dataclass
class Case:
    """Files to write (name -> dict, str or bytes; a dict is written as JSON), the CLI arguments (``{tmp}``
    stands for the folder of the files) and a text the error line must contain."""

    id: str
    args: list[str]
    expect: str
    files: dict[str, Any] = field(default_factory=dict)


def problem_case(id: str, problem: Any, expect: str, command: str = "info") -> Case:
    return Case(id, [command, "{tmp}/p.json"], expect, {"p.json": problem})


def plan_case(id: str, plan: Any, expect: str) -> Case:
    return Case(id, ["evaluate", "{tmp}/p.json", "{tmp}/s.json"], expect, {"p.json": BASE, "s.json": plan})


GOOD_TEXT = json.dumps(BASE)
VRP_OK = ("NAME : x\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n"
          "1 0 0\n2 3 4\n3 3 0\nDEMAND_SECTION\n1 0\n2 5\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n")

CASES = [
    # values the model rejects
    problem_case("window-start-after-end", changed(client(0, time_window=[900, 600])),
                 "clients[0].time_window: start 900 > end 600"),
    problem_case("unknown-start-depot", changed(vehicle(start_depot="D9")),
                 'vehicle_types[0].start_depot: unknown depot "D9"'),
    problem_case("unknown-end-depot", changed(vehicle(end_depot="X")),
                 'vehicle_types[0].end_depot: unknown depot "X"'),
    problem_case("negative-delivery", changed(client(2, delivery=-3)), "clients[2].delivery: -3 < 0"),
    problem_case("negative-service-time", changed(client(0, service_time=-1)), "clients[0].service_time: -1 < 0"),
    problem_case("negative-prize", changed(client(1, prize=-5)), "clients[1].prize: -5 < 0"),
    problem_case("negative-fixed-cost", changed(vehicle(fixed_cost=-1)), "vehicle_types[0].fixed_cost: -1 < 0"),
    problem_case("negative-max-duration", changed(vehicle(max_duration=-1)),
                 "vehicle_types[0].max_duration: -1 < 0"),
    problem_case("zero-vehicles", changed(vehicle(count=0)), "vehicle_types[0].count"),
    problem_case("shift-start-after-end", changed(vehicle(shift=[10, 5])),
                 "vehicle_types[0].shift: start 10 > end 5"),
    problem_case("overlapping-windows", changed(client(0, time_window=None, time_windows=[[0, 100], [50, 200]])),
                 "clients[0].time_windows[1]: start 50"),
    problem_case("window-and-windows", changed(client(0, time_windows=[[0, 100]])),
                 "clients[0].time_windows: give time_window or time_windows, not both"),
    problem_case("duplicate-client-id", changed(client(1, id="a")), 'clients[1].id: duplicate id "a"'),
    problem_case("client-id-of-depot", changed(client(1, id="D")), 'clients[1].id: duplicate id "D"'),
    problem_case("delivery-dimensions", changed(client(0, delivery=[1, 2])),
                 "clients[0].delivery: 2 values, expected 1"),
    problem_case("strict-backhaul-both", changed(lambda d: (d.update(backhaul="strict"),
                                                            d["clients"][0].update(pickup=1))),
                 "clients[0].pickup: with strict backhaul"),
    problem_case("lonlat-out-of-range", changed(lambda d: (d.update(coordinates="lonlat"),
                                                           d["clients"][0].update(location=[200, 4]))),
                 "clients[0].location: [200, 4] is not a [lon, lat] position"),
    problem_case("missing-location", changed(lambda d: d["clients"][0].pop("location")),
                 "clients[0].location: missing"),
    # types, unknown fields, missing fields, enums (pydantic)
    problem_case("unknown-client-field", changed(client(1, colour="red")), "clients[1].colour: unknown field"),
    problem_case("unknown-top-field", changed(top(vehicles=[])), "vehicles: unknown field"),
    problem_case("capacity-string", changed(vehicle(capacity="six")), "vehicle_types[0].capacity"),
    problem_case("fractional-delivery", changed(client(0, delivery=2.5)), "clients[0].delivery"),
    problem_case("id-not-string", changed(client(0, id=7)), "clients[0].id"),
    problem_case("required-not-boolean", changed(client(0, required="yes")), "clients[0].required"),
    problem_case("location-three-values", changed(client(1, location=[1, 2, 3])), "clients[1].location"),
    problem_case("window-one-value", changed(client(0, time_window=[1])), "clients[0].time_window"),
    problem_case("missing-clients", changed(lambda d: d.pop("clients")), "clients: required field is missing"),
    problem_case("missing-client-id", changed(lambda d: d["clients"][1].pop("id")),
                 "clients[1].id: required field is missing"),
    problem_case("no-depots", changed(top(depots=[])), "depots"),
    problem_case("bad-coordinates", changed(top(coordinates="polar")), "coordinates"),
    problem_case("bad-backhaul", changed(top(backhaul="sometimes")), "backhaul"),
    problem_case("name-not-string", changed(top(name=5)), "name"),
    # NaN-ish values (Python's JSON reader accepts NaN and Infinity)
    problem_case("nan-location", GOOD_TEXT.replace("[3, 4]", "[NaN, 4]"), "clients[0].location: NaN"),
    problem_case("infinite-service-time", GOOD_TEXT.replace('"delivery": 2,', '"delivery": 2, "service_time": '
                                                            "Infinity,"), "clients[0].service_time: inf"),
    # matrices
    problem_case("matrix-shape", changed(top(matrix={"provider": "explicit", "distance": [[0, 1, 1]] * 4})),
                 "matrix.distance: 4x3, expected 4x4"),
    problem_case("matrix-negative", changed(top(matrix={"provider": "explicit", "distance": [
        [0, 1, 1, 1], [1, 0, -1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]})), "matrix.distance[1][2]"),
    problem_case("matrix-nan", changed(top(matrix={"provider": "explicit", "distance": [
        [0, float("nan"), 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]})), "matrix.distance[0][1]"),
    problem_case("matrix-ragged", changed(top(matrix={"provider": "explicit", "distance": [[0, 1], [1]]})),
                 "matrix.distance"),
    problem_case("matrix-unknown-provider", changed(top(matrix={"provider": "osrm2"})),
                 "matrix.provider: unknown provider"),
    problem_case("matrix-unknown-option", changed(top(matrix={"provider": "euclidean", "rounding": "up"})),
                 "matrix.rounding: unknown option"),
    problem_case("matrix-bad-round", changed(top(matrix={"provider": "euclidean", "round": "up"})),
                 "matrix.round"),
    problem_case("matrix-zero-speed", changed(top(matrix={"provider": "euclidean", "speed": 0})),
                 "matrix.speed"),
    problem_case("matrix-missing-file", changed(top(matrix={"provider": "explicit", "file": "nope.npz"})),
                 "matrix.file: cannot read nope.npz"),
    problem_case("haversine-on-planar", changed(top(matrix={"provider": "haversine"})),
                 'matrix.provider: haversine needs "coordinates": "lonlat"'),
    # files
    problem_case("broken-json", '{"name": "x",, }', "not valid JSON (line 1"),
    problem_case("truncated-json", GOOD_TEXT[:80], "truncated JSON"),
    problem_case("empty-file", "", "the file is empty"),
    problem_case("blank-file", "  \n", "the file is empty"),
    problem_case("top-level-array", "[1, 2]", "a problem is a JSON object"),
    problem_case("not-utf8", b"\xff\xfe\x00\x01", "not UTF-8"),
    Case("missing-file", ["info", "{tmp}/nothing.json"], "nothing.json: no such file"),
    Case("directory", ["info", "{tmp}/folder.json"], "folder.json: is a directory", {"folder.json/x": "{}"}),
    Case("unknown-extension", ["info", "{tmp}/p.yaml"], "unknown format '.yaml'", {"p.yaml": BASE}),
    Case("no-extension", ["solve", "{tmp}/p"], "unknown format '(no extension)'", {"p": BASE}),
    Case("vrp-bad-dimension", ["info", "{tmp}/x.vrp"], "DIMENSION 'abc'",
         {"x.vrp": VRP_OK.replace("DIMENSION : 3", "DIMENSION : abc")}),
    Case("vrp-truncated", ["solve", "{tmp}/x.vrp"], "NODE_COORD_SECTION has 2 rows",
         {"x.vrp": VRP_OK.replace("3 3 0\n", "")}),
    Case("solomon-truncated", ["info", "{tmp}/x.txt"], "x.txt: not a valid Solomon instance",
         {"x.txt": "C101\n\nVEHICLE\nNUMBER CAPACITY\n 25 200\n\nCUSTOMER\nCUST NO. XCOORD.\n0 1 2\n"}),
    # solutions given to evaluate
    plan_case("plan-top-level-array", [1], "s.json: a solution is a JSON object"),
    plan_case("plan-without-routes", {"x": 1}, "s.json: routes: required field is missing"),
    plan_case("plan-routes-not-list", {"routes": 5}, "routes: expected a list of routes"),
    plan_case("plan-route-not-object", {"routes": [7]}, "routes[0]: expected an object"),
    plan_case("plan-stops-not-list", {"routes": [{"stops": "abc"}]}, "routes[0].stops: expected a list"),
    plan_case("plan-stop-not-id", {"routes": [{"stops": ["a", 3]}]}, "routes[0].stops[1]: expected a client id"),
    plan_case("plan-stop-object-without-id", {"routes": [{"stops": [{"at": "a"}]}]},
              "routes[0].stops[0]: expected a client id"),
    plan_case("plan-vehicle-type-list", {"routes": [{"vehicle_type": ["van"], "stops": ["a"]}]},
              "routes[0].vehicle_type: expected a vehicle type id"),
    plan_case("plan-broken-json", '{"routes": [', "s.json: truncated JSON"),
    Case("plan-missing-file", ["evaluate", "{tmp}/p.json", "{tmp}/none.json"], "none.json: no such file",
         {"p.json": BASE}),
    Case("sol-bad-line", ["evaluate", "{tmp}/x.vrp", "{tmp}/x.sol"], "x.sol:2: expected 'Route #k",
         {"x.vrp": VRP_OK, "x.sol": "Route #1: 1 2\nblah\n"}),
    Case("sol-unknown-client", ["evaluate", "{tmp}/x.vrp", "{tmp}/x.sol"], "99 is not a client",
         {"x.vrp": VRP_OK, "x.sol": "Route #1: 1 99\nCost 5\n"}),
    # options and commands
    Case("time-limit-negative", ["solve", "{tmp}/p.json", "--time-limit", "-1"], "--time-limit: -1",
         {"p.json": BASE}),
    Case("time-limit-infinite", ["solve", "{tmp}/p.json", "--time-limit", "inf"], "--time-limit: inf",
         {"p.json": BASE}),
    Case("unknown-solver", ["solve", "{tmp}/p.json", "--solver", "nosuch"], 'unknown solver "nosuch"',
         {"p.json": BASE}),
    Case("solver-option-not-key-value", ["solve", "{tmp}/p.json", "--solver", "ortools:fast"],
         'solver: option "fast" is not key=value', {"p.json": BASE}),
    Case("output-is-directory", ["solve", "{tmp}/p.json", "-o", "{tmp}/out"], "out: is a directory",
         {"p.json": BASE, "out/keep": ""}),
    Case("output-folder-missing", ["evaluate", "{tmp}/p.json", "{tmp}/s.json", "-o", "{tmp}/no/e.json"],
         "No such file or directory", {"p.json": BASE, "s.json": GOOD_PLAN}),
    Case("convert-problem-to-sol", ["convert", "{tmp}/p.json", "{tmp}/p.sol"], "a .sol file holds a solution",
         {"p.json": BASE}),
    Case("convert-to-csv", ["convert", "{tmp}/p.json", "{tmp}/p.csv"], "cannot write '.csv'", {"p.json": BASE}),
    Case("convert-solution-without-problem", ["convert", "{tmp}/s.json", "{tmp}/s.sol"],
         "give its problem with --problem", {"s.json": GOOD_PLAN}),
    Case("convert-bad-problem", ["convert", "{tmp}/p.json", "{tmp}/q.json"], "clients[2].delivery: -3 < 0",
         {"p.json": changed(client(2, delivery=-3))}),
]
SUBPROCESS = {"window-start-after-end", "unknown-client-field", "matrix-shape", "truncated-json", "empty-file",
              "directory", "unknown-extension", "plan-vehicle-type-list", "time-limit-negative"}


def materialise(case: Case, tmp: Path) -> list[str]:
    """Write the case's files under ``tmp``; its arguments with ``{tmp}`` filled in."""
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content), encoding="utf-8")
    return [a.replace("{tmp}", str(tmp)) for a in case.args]


def check(code: int, stderr: str, expect: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert expect in lines[0], stderr
    assert code == 2, stderr


def test_battery_is_large_and_ids_are_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.id for c in CASES} >= SUBPROCESS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_in_process(case: Case, tmp_path: Path) -> None:
    args = materialise(case, tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    check(result.exit_code, result.stderr, case.expect)
    assert result.stdout == ""


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS], ids=lambda c: c.id)
def test_bad_input_in_subprocess(case: Case, tmp_path: Path) -> None:
    args = materialise(case, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "vrpkit", *args], capture_output=True, text=True, timeout=60)
    check(proc.returncode, proc.stderr, case.expect)
    assert proc.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["solve"])
    assert missing.exit_code == 2 and "Missing argument" in missing.stderr
    unknown = runner.invoke(app, ["frobnicate"])
    assert unknown.exit_code == 2
    bad_number = runner.invoke(app, ["solve", "x.json", "--seed", "abc"])
    assert bad_number.exit_code == 2 and "Traceback" not in bad_number.stderr
