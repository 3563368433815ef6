"""VROOM's JSON: the input read field by field (tests/data/vroom/full.json has every field VROOM's API
documents), written back, VROOM's output written from the evaluator's schedule and read back, bad inputs, and
(when pyvroom is installed) VROOM's own plans read and costed by the evaluator."""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import one_error_line, vrpkit_cli

import vrpkit
from vrpkit import Client, Depot, Problem, VehicleType
from vrpkit.errors import ValidationError
from vrpkit.io import read_problem
from vrpkit.io.vroom import (
    ANYWHERE,
    VroomWarning,
    is_vroom_input,
    is_vroom_output,
    plan_from_vroom,
    plan_to_vroom,
    prize_unit,
    problem_from_vroom,
    problem_to_vroom,
    vroom_cost,
)
from vrpkit.matrix import haversine_matrix
from vrpkit.model import INF, Break

FULL = Path(__file__).parent / "data" / "vroom" / "full.json"


def full() -> dict[str, Any]:
    return json.loads(FULL.read_text())


def read(data: dict[str, Any]) -> tuple[Problem, list[str]]:
    """The problem of a VROOM input and its warning lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problem = problem_from_vroom(data)
    return problem, [str(w.message) for w in caught if issubclass(w.category, VroomWarning)]


def quiet(fn: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VroomWarning)
        return fn(*args)


# -- reading -------------------------------------------------------------------------------------------------


def test_every_field_of_the_input_maps_exactly():
    p, notes = read(full())
    assert [d.id for d in p.depots] == ["depot0", "depot1", ANYWHERE]
    assert all(d.time_window == (0.0, INF) and d.service_time == 0 for d in p.depots)
    j1, j2, p5, d6 = p.clients
    # setup 5 + service 10: exact, job 1 is the only task at its place and no vehicle starts there
    assert j1 == Client("j1", delivery=(1, 0), pickup=(0, 1), service_time=15.0,
                        time_windows=((0.0, 300.0), (500.0, 600.0)), prize=j1.prize, required=False, skills=("1",))
    assert j2 == Client("j2", delivery=(2, 0), pickup=(0, 0), service_time=20.0, time_windows=((50.0, 400.0),),
                        prize=j2.prize, required=False)
    assert p5 == Client("p5", service_time=4.0, time_windows=((0.0, 500.0),), prize=p5.prize, required=False,
                        skills=("2",))
    assert d6 == Client("d6", service_time=8.0, required=False, skills=("2",))
    assert [(s.id, s.pickup, s.delivery, s.amount, s.max_ride_time) for s in p.shipments] == \
        [("s5", "p5", "d6", (1, 1), INF)]
    # priorities: U x tasks x (1 + K x priority), K = 4 tasks + 1; U = 10^4 is the power of ten above the bound
    # on any plan's cost: v1 50 + 0.5 x longest_route + 2 x horizon, v2 and v3 1 x horizon each
    bound = 50 + 0.5 * p.longest_route + 2 * p.horizon + p.horizon + p.horizon
    assert bound < 10_000 <= 10 * bound
    assert prize_unit(p) == 10_000
    assert [c.prize for c in p.clients] == [10_000 * 51, 10_000, 2 * 10_000 * 16, 0]
    v1, v2, v3 = p.vehicle_types
    assert v1 == VehicleType("v1", count=1, capacity=(4, 2), start_depot="depot0", end_depot="depot0",
                             shift=(0.0, 1000.0), max_duration=900.0, max_distance=5000.0, fixed_cost=50.0,
                             cost_per_distance=0.5, cost_per_duration=2.0, skills=("1", "2"),
                             breaks=(Break("b1", ((100.0, 200.0), (300.0, 400.0)), 30.0),))
    assert v2 == VehicleType("v2", count=1, capacity=(3, 1), start_depot="depot1", end_depot=None,
                             cost_per_distance=0.0, cost_per_duration=1.0, skills=("2",))
    assert v3 == VehicleType("v3", count=1, capacity=(2, 2), start_depot=ANYWHERE, end_depot="depot0",
                             cost_per_distance=0.0, cost_per_duration=1.0)
    # nodes: depot0 = place 0, depot1 = place 4, anywhere, j1 = 1, j2 = 2, p5 = 3, d6 = 5
    places = [0, 4, None, 1, 2, 3, 5]
    data = full()["matrices"]["car"]
    for name, key in (("distance", "distances"), ("duration", "durations")):
        m = np.array(data[key], dtype=float)
        got = getattr(p, name)
        for a, pa in enumerate(places):
            for b, pb in enumerate(places):
                assert got[a, b] == (0 if pa is None or pb is None else m[pa, pb]), (name, a, b)
    assert p.variant == "MDHFPCOPDPMBLTWBRSK"
    assert notes == [
        "vehicles[].breaks[].max_load: not mapped (vrpkit's breaks have no load limit)",
        "vehicles[].steps: VROOM's initial routes are not read (give a plan to vrpkit solve --initial)",
        "vehicles[].breaks: VROOM may take a break during a leg (driving before and after it); vrpkit's breaks are"
        " taken at a stop, so a VROOM plan can run later by vrpkit's evaluator",
        "vehicles[].max_travel_time: mapped to max_duration, which also counts service and waiting (stricter "
        "than VROOM's travel time)",
        "vehicles[].costs.per_hour: VROOM charges it for travel time only; vrpkit's cost_per_duration "
        "(per_hour/3600) charges the route's whole duration, service and waiting included",
    ]


def test_detection():
    assert is_vroom_input(full())
    assert is_vroom_input({"vehicles": [], "shipments": []})
    assert not is_vroom_input({"depots": [], "clients": [], "vehicle_types": [], "vehicles": [], "jobs": []})
    assert is_vroom_output({"code": 0, "routes": []})
    assert is_vroom_output({"routes": [{"vehicle": 1, "steps": []}]})
    assert not is_vroom_output({"routes": [{"vehicle_type": "v", "stops": []}]})
    assert quiet(read_problem, FULL).clients[0].id == "j1"


def test_setup_shared_place_and_other_inexact_fields_warn():
    data = full()
    data["jobs"][1]["location_index"] = 1  # job 2 at job 1's place: job 1's setup is skipped after it in VROOM
    data["vehicles"][1]["profile"] = "bike"
    data["vehicles"][2]["speed_factor"] = 2.0
    data["matrices"]["car"]["costs"] = data["matrices"]["car"]["durations"]
    data["jobs"][0]["color"] = "red"
    p, notes = read(data)
    assert p.clients[0].service_time == 15.0
    assert ("setup: added to the service of 1 task(s) that share their place with another task or a vehicle "
            "start; VROOM skips a setup after a step at the same place, vrpkit always counts it") in notes
    assert "vehicles[].profile: vrpkit has one matrix; the vehicles of profiles bike use car's" in notes
    assert "vehicles[].speed_factor: vrpkit has one duration matrix; every vehicle uses 1 (vehicles[0]'s)" in notes
    assert "matrices.car.costs: not used; vrpkit costs per_hour/3600 x duration + per_km/1000 x distance" in notes
    assert "jobs[].color: not a VROOM field vrpkit reads, ignored" in notes


def test_common_speed_factor_divides_durations():
    data = full()
    for v in data["vehicles"]:
        v["speed_factor"] = 2.0
    p, notes = read(data)
    q, _ = read(full())
    assert np.array_equal(p.duration, q.duration / 2)
    assert np.array_equal(p.distance, q.distance)
    assert any(n.startswith("vehicles[].speed_factor 2: durations divided by it") for n in notes)


def test_no_distances_means_distances_are_durations():
    data = full()
    del data["matrices"]["car"]["distances"]
    p, notes = read(data)
    assert np.array_equal(p.distance, p.duration)
    assert ("matrices.car.distances: absent; vrpkit's distances are the durations (VROOM reports no "
            "distance)") in notes


def test_coordinates_without_matrices_use_great_circle_distances():
    data = {"vehicles": [{"id": 1, "start": [2.35, 48.85], "end": [2.35, 48.85]}],
            "jobs": [{"id": 1, "location": [2.30, 48.87]}, {"id": 2, "location": [2.40, 48.80]}]}
    p, notes = read(data)
    assert p.coordinates == "lonlat"
    assert p.clients[1].location == (2.40, 48.80)
    pts = np.array([[2.35, 48.85], [2.30, 48.87], [2.40, 48.80]])
    assert np.allclose(p.distance, haversine_matrix(pts))
    assert np.allclose(p.duration, haversine_matrix(pts) / (30 / 3.6))
    assert notes[0].startswith("no matrices: VROOM would ask a routing engine (OSRM); vrpkit uses great-circle")
    # a vehicle without a start: "anywhere" has no coordinates, so the matrices are computed here
    data["vehicles"][0].pop("start")
    p, _ = read(data)
    assert [d.id for d in p.depots] == [ANYWHERE, "depot0"]
    assert p.distance[0].sum() == 0 and p.distance[:, 0].sum() == 0
    assert np.allclose(p.distance[1:, 1:], haversine_matrix(pts))


def test_max_tasks_is_a_capacity_dimension():
    data = {"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "max_tasks": 1},
                         {"id": 2, "start_index": 0, "end_index": 0}],
            "jobs": [{"id": 1, "location_index": 1}, {"id": 2, "location_index": 2}],
            "matrices": {"car": {"durations": [[0, 1, 1], [1, 0, 1], [1, 1, 0]]}}}
    p, _ = read(data)
    assert [c.delivery for c in p.clients] == [(1,), (1,)]
    assert [vt.capacity for vt in p.vehicle_types] == [(1,), (2,)]
    both_on_1 = vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v1", "stops": ["j1", "j2"]}]})
    assert [(v.constraint, v.amount) for v in both_on_1.violations] == [("capacity", 1)]
    assert vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v2", "stops": ["j1", "j2"]}]}).feasible


def test_unassigned_tasks_follow_vroom_order():
    """Serving one more task beats any cost, one more priority point beats any number of tasks."""
    data = {"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [1]}],
            "jobs": [{"id": 1, "location_index": 1, "delivery": [1], "priority": 1},
                     {"id": 2, "location_index": 2, "delivery": [1]}],
            "matrices": {"car": {"durations": [[0, 900, 1], [900, 0, 1], [1, 1, 0]]}}}
    p, _ = read(data)
    far = vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v1", "stops": ["j1"]}]})
    near = vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v1", "stops": ["j2"]}]})
    none = vrpkit.evaluate(p, {"routes": []})
    assert far.feasible and near.feasible
    assert far.cost < near.cost < none.cost
    assert far.cost == 1800 + p.clients[1].prize


# -- bad inputs ----------------------------------------------------------------------------------------------


def _bad(change: Any) -> dict[str, Any]:
    data = full()
    change(data)
    return data


BAD = [
    (lambda d: d.update(vehicles=[]), "vehicles: an empty list"),
    (lambda d: d["jobs"][0].pop("id"), "jobs[0].id: required field is missing"),
    (lambda d: d["jobs"][1].update(id=1), "jobs[1].id: duplicate job id 1"),
    (lambda d: d["jobs"][0].update(time_windows=[[9, 5]]), "jobs[0].time_windows[0]: start 9 > end 5"),
    (lambda d: d["jobs"][0].update(time_windows=[[0, 10], [5, 20]]), "jobs[0].time_windows[1]: starts at 5"),
    (lambda d: d["jobs"][0].update(service=-1), "jobs[0].service: expected a non-negative integer, got -1"),
    (lambda d: d["jobs"][0].update(service=1.5), "jobs[0].service: expected a non-negative integer, got 1.5"),
    (lambda d: d["jobs"][0].update(priority=101), "jobs[0].priority: 101 > 100"),
    (lambda d: d["jobs"][0].update(skills=["fridge"]), "jobs[0].skills[0]: expected a non-negative integer"),
    (lambda d: d["jobs"][0].update(delivery=[1]), "jobs[0].pickup: 2 values, but jobs[0].delivery has 1"),
    (lambda d: d["jobs"][0].pop("location_index"), "jobs[0].location_index: required field is missing"),
    (lambda d: d["jobs"][0].update(location_index=9), "matrices.car.durations: 6x6, but location_index 9 is used"),
    (lambda d: d["shipments"][0].pop("delivery"), "shipments[0].delivery: required field is missing"),
    (lambda d: d["vehicles"][2].pop("end_index"), "vehicles[2]: no start and no end"),
    (lambda d: d["vehicles"][1].update(id=1), "vehicles[1].id: duplicate vehicle id 1"),
    (lambda d: d["vehicles"][1].pop("capacity"), "vehicles[1].capacity: required field is missing"),
    (lambda d: d["vehicles"][0].update(time_window=[10]), "vehicles[0].time_window: expected [start, end]"),
    (lambda d: d["vehicles"][0]["costs"].update(per_hour=-1), "vehicles[0].costs.per_hour: expected a "
                                                              "non-negative number, got -1"),
    (lambda d: d["vehicles"][0]["breaks"][0].pop("id"), "vehicles[0].breaks[0].id: required field is missing"),
    (lambda d: d["matrices"]["car"].pop("durations"), "matrices.car.durations: required field is missing"),
    (lambda d: d["matrices"]["car"]["durations"][1].__setitem__(2, -3),
     "matrices.car.durations[1][2]: -3 is not a non-negative number"),
    (lambda d: d["matrices"].update(bike=d["matrices"].pop("car")), "matrices.car: required field is missing"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_input_names_the_field(change, message):
    with pytest.raises(ValidationError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", VroomWarning)
        problem_from_vroom(_bad(change))
    assert str(err.value).startswith(message)


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_bad(lambda d: d["jobs"][0].update(time_windows=[[9, 5]]))))
    for command in ("convert", "solve"):
        args = (path, tmp_path / "out.json") if command == "convert" else (path,)
        line = one_error_line(vrpkit_cli(command, *args))
        assert line.endswith("jobs[0].time_windows[0]: start 9 > end 5")


def test_cli_bad_to_option(tmp_path):
    line = one_error_line(vrpkit_cli("convert", FULL, tmp_path / "p.json", "--to", "osrm"))
    assert line == "error: --to: 'osrm' is not vrpkit or vroom"
    line = one_error_line(vrpkit_cli("convert", FULL, tmp_path / "p.sol", "--to", "vroom"))
    assert line.startswith("error: --to: vroom writes JSON")


# -- writing the input ---------------------------------------------------------------------------------------


def test_round_trip_of_the_input():
    p = quiet(problem_from_vroom, full())
    data = quiet(problem_to_vroom, p)
    q = quiet(problem_from_vroom, data)
    assert q.to_dict(inline_matrices=True) == p.to_dict(inline_matrices=True)
    assert quiet(problem_to_vroom, q) == data
    v3 = data["vehicles"][2]
    assert "start_index" not in v3 and v3["end_index"] == 0  # "anywhere" is VROOM's vehicle without a start
    assert "end_index" not in data["vehicles"][1]
    assert data["vehicles"][0]["costs"] == {"fixed": 50, "per_hour": 7200, "per_km": 500}
    assert data["jobs"][0] == {"id": 1, "location_index": 3, "service": 15,
                               "time_windows": [[0, 300], [500, 600]], "delivery": [1, 0], "pickup": [0, 1],
                               "skills": [1], "priority": 10}
    assert data["shipments"][0]["priority"] == 3


def test_writing_a_vrpkit_problem_warns_what_vroom_lacks():
    p = Problem("x", (Depot("D", (0, 0), time_window=(0, 50)),),
                (Client("a", (3, 0), delivery=1, service_time=0.5, skills=("fridge",)),
                 Client("b", (0, 4), delivery=1, release_time=5)),
                (VehicleType("car", capacity=2, cost_per_distance=1.0),))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = problem_to_vroom(p)
    notes = [str(w.message) for w in caught]
    assert len(data["vehicles"]) == 2  # unlimited count: one per client
    assert data["jobs"][0] == {"id": 1, "location_index": 1, "service": 0, "delivery": [1], "skills": [0]}
    assert data["matrices"]["car"]["distances"] == [[0, 3, 4], [3, 0, 5], [4, 5, 0]]
    for start in ("skills: written as integers: fridge=0", "service times: rounded", "clients[].release_time",
                  "required clients", "vehicle_types[].count unlimited", "depots[].time_window"):
        assert any(n.startswith(start) for n in notes), start


# -- the output ----------------------------------------------------------------------------------------------


PLAN = {"routes": [{"vehicle_type": "v1", "stops": [{"id": "j1"}, {"type": "break", "id": "b1"}, {"id": "j2"}]},
                   {"vehicle_type": "v2", "stops": [{"id": "p5"}, {"id": "d6"}]}]}


def test_output_from_the_schedule_by_hand():
    """v1: leaves depot0 at 75 (as late as the break allows), j1 at 85-100, the break at 100-130 where j1 is,
    j2 at 142-162, back at 183: duration 108, travel 10 + 12 + 21 = 43, distance 430, cost 50 + 0.5 x 430 +
    2 x 108 = 481. v2 (open): p5 at 17-21, d6 at 47-55: cost 55."""
    p = quiet(problem_from_vroom, full())
    ev = vrpkit.evaluate(p, PLAN)
    assert ev.feasible, ev.violations
    assert ev.cost == 481 + 55
    out = plan_to_vroom(p, ev)
    r1, r2 = out["routes"]
    assert [(s["type"], s.get("id"), s.get("location_index"), s["arrival"], s["waiting_time"], s["service"],
             s["duration"], s["distance"], s["load"]) for s in r1["steps"]] == [
        ("start", None, 0, 75, 0, 0, 0, 0, [3, 0]),
        ("job", 1, 3, 85, 0, 15, 10, 100, [2, 1]),
        ("break", 1, None, 100, 0, 30, 10, 100, [2, 1]),
        ("job", 2, 4, 142, 0, 20, 22, 220, [0, 1]),
        ("end", None, 0, 183, 0, 0, 43, 430, [0, 1]),
    ]
    assert {k: r1[k] for k in ("vehicle", "cost", "delivery", "pickup", "service", "duration", "waiting_time",
                               "priority", "distance")} == {
        "vehicle": 1, "cost": 481, "delivery": [3, 0], "pickup": [0, 1], "service": 65, "duration": 43,
        "waiting_time": 0, "priority": 10, "distance": 430}
    assert [(s["type"], s.get("id"), s["location_index"], s["arrival"], s["duration"], s["load"])
            for s in r2["steps"]] == [
        ("start", None, 1, 0, 0, [0, 0]), ("pickup", 5, 5, 17, 17, [1, 1]), ("delivery", 6, 6, 47, 43, [0, 0]),
        ("end", None, 6, 55, 43, [0, 0])]
    assert r2["vehicle"] == 2 and r2["cost"] == 55 and r2["priority"] == 6
    s = out["summary"]
    assert (out["code"], s["cost"], s["routes"], s["unassigned"], s["duration"], s["distance"], s["service"],
            s["delivery"], s["pickup"], s["priority"]) == (0, 536, 2, 0, 86, 860, 77, [4, 1], [1, 2], 16)
    assert out["unassigned"] == []
    assert vroom_cost(p, ev) == 50 + 2 * 43 + 0.5 * 430 + 43


def test_output_reads_back_costing_the_same(tmp_path):
    p = quiet(problem_from_vroom, full())
    ev = vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v1", "stops": ["j1", "j2"]}]})  # short form
    out = plan_to_vroom(p, ev)
    assert [u["id"] for u in out["unassigned"]] == [5, 6] and out["summary"]["unassigned"] == 2
    back = plan_from_vroom(p, out)
    again = vrpkit.evaluate(p, back)
    assert again.to_dict(p) == ev.to_dict(p)
    assert again.cost == ev.cost and again.prize_lost == p.clients[2].prize
    # and through the CLI: convert --to vroom, then evaluate detects VROOM's output
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({**ev.to_dict(p), "stats": {"runtime": 1.5}}))
    vroom_out = tmp_path / "vroom_out.json"
    result = vrpkit_cli("convert", plan, vroom_out, "--to", "vroom", "--problem", FULL)
    assert result.returncode == 0, result.stderr
    out["summary"]["computing_times"]["solving"] = 1500  # the plan's runtime, in ms
    assert json.loads(vroom_out.read_text()) == out
    evaluated = tmp_path / "evaluated.json"
    result = vrpkit_cli("evaluate", FULL, vroom_out, "-o", evaluated)
    assert result.returncode == 0, result.stderr
    assert json.loads(evaluated.read_text())["cost"] == ev.to_dict(p)["cost"]


def test_output_errors():
    p = quiet(problem_from_vroom, full())
    with pytest.raises(ValidationError, match=r"routes\[0\].vehicle: no vehicle 9 in the problem"):
        plan_from_vroom(p, {"routes": [{"vehicle": 9, "steps": []}]})
    with pytest.raises(ValidationError, match=r"routes\[0\].steps\[0\].id: vehicle 2 has no break 1"):
        plan_from_vroom(p, {"routes": [{"vehicle": 2, "steps": [{"type": "break", "id": 1}]}]})
    with pytest.raises(ValidationError, match=r"routes\[0\].steps\[0\].type: 'reload' is not"):
        plan_from_vroom(p, {"routes": [{"vehicle": 2, "steps": [{"type": "reload", "id": 1}]}]})
    with pytest.raises(vrpkit.VrpkitError, match="VROOM output with error code 2: bad"):
        plan_from_vroom(p, {"code": 2, "error": "bad", "routes": []})
    unknown = vrpkit.evaluate(p, plan_from_vroom(p, {"routes": [{"vehicle": 2, "steps": [
        {"type": "job", "id": 77}]}]}))
    assert [(v.constraint, v.client) for v in unknown.violations if v.constraint == "unknown_id"] == \
        [("unknown_id", "job 77")]


def test_cli_convert_and_solve_a_vroom_input(tmp_path):
    target = tmp_path / "p.json"
    result = vrpkit_cli("convert", FULL, target)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [x for x in lines if x.startswith("warning: ")] == [f"warning: {n}" for n in read(full())[1]]
    assert Problem.from_dict(json.loads(target.read_text())).to_dict() == \
        quiet(problem_from_vroom, full()).to_dict() | {"name": "full"}
    vroom_in = tmp_path / "vroom_in.json"
    assert vrpkit_cli("convert", target, vroom_in, "--to", "vroom").returncode == 0
    assert json.loads(vroom_in.read_text()) == quiet(problem_to_vroom, quiet(problem_from_vroom, full()))


# -- pyvroom -------------------------------------------------------------------------------------------------


def _vroom_solve(data: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    vroom = pytest.importorskip("vroom")
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    return vroom.Input.from_json(path).solve(exploration_level=5, nb_threads=1).to_dict()


def test_pyvroom_plan_read_back_and_costed(tmp_path):
    data = full()
    for v in data["vehicles"]:
        v.pop("steps", None)
    out = _vroom_solve(data, tmp_path)
    p = quiet(problem_from_vroom, data)
    ev = vrpkit.evaluate(p, plan_from_vroom(p, out))
    assert out["summary"]["unassigned"] == 0 and not ev.unassigned
    assert ev.feasible, ev.violations
    mine = plan_to_vroom(p, ev)
    assert mine["summary"]["duration"] == out["summary"]["duration"]  # the same travel time: same matrices
    assert math.isclose(vroom_cost(p, ev), out["summary"]["cost"], abs_tol=len(ev.routes))  # VROOM rounds


def test_pyvroom_accepts_what_vrpkit_writes(tmp_path):
    p = quiet(problem_from_vroom, full())
    out = _vroom_solve(copy.deepcopy(quiet(problem_to_vroom, p)), tmp_path)
    ev = vrpkit.evaluate(p, plan_from_vroom(p, out))
    assert ev.feasible and not ev.unassigned


def test_cli_solve_a_vroom_input(tmp_path):
    data = {"vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [2]}],
            "jobs": [{"id": 1, "location_index": 1, "delivery": [1]},
                     {"id": 2, "location_index": 2, "delivery": [1]}],
            "matrices": {"car": {"durations": [[0, 3, 4], [3, 0, 5], [4, 5, 0]]}}}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "sol.json"
    result = vrpkit_cli("solve", path, "--time-limit", "1", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    sol = json.loads(out.read_text())
    assert sol["cost"] == 12 and sol["unassigned"] == []  # 3 + 5 + 4 seconds at per_hour 3600
    assert "warning: matrices.car.distances: absent" in result.stderr


def test_no_tasks():
    p, _ = read({"vehicles": [{"id": 1, "start_index": 0}], "jobs": [],
                 "matrices": {"car": {"durations": [[0]]}}})
    assert p.n_clients == 0 and vrpkit.evaluate(p, {"routes": []}).cost == 0


def test_pyvroom_break_during_a_leg_is_late_by_the_evaluator(tmp_path):
    """VROOM starts the break [50, 60] at 50 on the way to j1 (100 s away, window [0, 150]) and arrives at 130;
    vrpkit takes a break at a stop: at the depot 50-80, then j1 at 180, 30 late (the warning says so)."""
    data = {"vehicles": [{"id": 1, "start_index": 0, "end_index": 0,
                          "breaks": [{"id": 1, "time_windows": [[50, 60]], "service": 30}]}],
            "jobs": [{"id": 1, "location_index": 1, "time_windows": [[0, 150]]}],
            "matrices": {"car": {"durations": [[0, 100], [100, 0]]}}}
    out = _vroom_solve(data, tmp_path)
    assert [(s["type"], s["arrival"], s["duration"]) for s in out["routes"][0]["steps"]] == [
        ("start", 0, 0), ("break", 50, 50), ("job", 130, 100), ("end", 230, 200)]
    p, notes = read(data)
    assert any(n.startswith("vehicles[].breaks: VROOM may take a break during a leg") for n in notes)
    plan = plan_from_vroom(p, out)
    assert plan == {"routes": [{"vehicle_type": "v1", "stops": [{"type": "break", "id": "b1"}, {"id": "j1"}]}]}
    ev = vrpkit.evaluate(p, plan)
    assert [(v.constraint, v.client, v.amount) for v in ev.violations] == [("time_window", "j1", 30)]


def test_output_of_a_lonlat_problem_has_locations():
    data = {"vehicles": [{"id": 4, "start": [2.35, 48.85]}],
            "jobs": [{"id": 1, "location": [2.30, 48.87]}, {"id": 2, "location": [2.40, 48.80]}]}
    p, _ = read(data)
    ev = vrpkit.evaluate(p, {"routes": [{"vehicle_type": "v4", "stops": ["j1"]}]})
    out = plan_to_vroom(p, ev)
    assert [(s["type"], s.get("location")) for s in out["routes"][0]["steps"]] == [
        ("start", [2.35, 48.85]), ("job", [2.30, 48.87]), ("end", [2.30, 48.87])]  # open: ends at j1
    assert out["unassigned"] == [{"id": 2, "type": "job", "location_index": 2, "location": [2.40, 48.80]}]
    assert out["routes"][0]["vehicle"] == 4
    d = float(haversine_matrix(np.array([[2.35, 48.85], [2.30, 48.87]]))[0, 1])
    assert out["routes"][0]["distance"] == round(d) and out["routes"][0]["duration"] == round(d / (30 / 3.6))
