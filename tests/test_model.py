"""The problem model: validation (one test per check), derived data, variants, matrices, JSON round trips."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from vrpkit import Client, Depot, Problem, ValidationError, VehicleType
from vrpkit.io.json import problem_from_dict, problem_schema, read_problem_json

BASE = {
    "name": "base",
    "depots": [{"id": "D", "location": [0, 0]}],
    "clients": [{"id": "a", "location": [3, 4], "delivery": 2}, {"id": "b", "location": [6, 8], "delivery": 1}],
    "vehicle_types": [{"id": "v", "capacity": 5}],
}


def with_(path: str, value) -> dict:
    """BASE with the field at ``path`` (dots and [i]) set to ``value``."""
    data = json.loads(json.dumps(BASE))
    parts = path.replace("[", ".").replace("]", "").split(".")
    target = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("clients[1].time_window", [900, 600], "clients[1].time_window: start 900 > end 600"),
        ("clients[1].delivery", -3, "clients[1].delivery: -3 < 0"),
        ("clients[0].pickup", [1, 2], "clients[0].pickup: 2 values, expected 1 (capacity dimensions)"),
        ("clients[0].service_time", -1, "clients[0].service_time: -1 < 0"),
        ("clients[0].prize", -5, "clients[0].prize: -5 < 0"),
        ("clients[1].id", "a", 'clients[1].id: duplicate id "a" (also clients[0].id)'),
        ("clients[1].id", "D", 'clients[1].id: duplicate id "D" (also depots[0].id)'),
        ("clients[0].time_windows", [[0, 10], [5, 20]],
         "clients[0].time_windows[1]: start 5 <= end of the previous window"),
        ("vehicle_types[0].start_depot", "D9", 'vehicle_types[0].start_depot: unknown depot "D9"'),
        ("vehicle_types[0].end_depot", "X", 'vehicle_types[0].end_depot: unknown depot "X"'),
        ("vehicle_types[0].count", 0, "vehicle_types[0].count: expected a positive integer, got 0"),
        ("vehicle_types[0].capacity", -1, "vehicle_types[0].capacity: -1 < 0"),
        ("vehicle_types[0].shift", [10, 5], "vehicle_types[0].shift: start 10 > end 5"),
        ("vehicle_types[0].max_duration", -1, "vehicle_types[0].max_duration: -1 < 0"),
        ("vehicle_types[0].fixed_cost", -2, "vehicle_types[0].fixed_cost: -2 < 0"),
        ("depots[0].time_window", [5, 1], "depots[0].time_window: start 5 > end 1"),
        ("depots[0].location", [1, 2, 3], "depots[0].location: list should have at most 2 items"),
        ("clients[0].colour", "red", "clients[0].colour: unknown field"),
        ("clients[0].delivery", "2", 'clients[0].delivery: input should be a valid integer, got "2"'),
        ("backhaul", "sometimes", "backhaul: input should be 'strict' or 'mixed'"),
        ("coordinates", "lonlat", "depots[0].location: [0, 0] is not a [lon, lat] position"[:0]),
        ("matrix", {"provider": "teleport"}, "matrix.provider: unknown provider 'teleport'"),
        ("matrix", {"provider": "euclidean", "rounding": "up"}, 'matrix.rounding: unknown option'),
        ("matrix", {"provider": "euclidean", "round": "up"}, 'matrix.round: "up" is not one of'),
        ("matrix", {"provider": "explicit", "distance": [[0, 1], [1, 0]]},
         "matrix.distance: 2x2, expected 3x3"),
        ("matrix", {"provider": "explicit", "distance": [[0, 1, 2], [1, 0, -1], [2, 1, 0]]},
         "matrix.distance[1][2]: -1.0 is not a finite non-negative number"),
        ("vehicle_types", [], "vehicle_types: list should have at least 1 item"),
        ("depots", [], "depots: list should have at least 1 item"),
    ],
)
def test_validation_names_the_field(path, value, message):
    data = with_(path, value)
    if path == "coordinates":  # planar points (3, 4), (6, 8) are valid lon/lat; put one off the globe
        data["clients"][0]["location"] = [200, 10]
        message = "clients[0].location: [200, 10] is not a [lon, lat] position"
    with pytest.raises(ValidationError) as err:
        problem_from_dict(data)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_missing_fields_and_wrong_top_level():
    data = json.loads(json.dumps(BASE))
    del data["clients"][0]["id"]
    with pytest.raises(ValidationError, match=r"^clients\[0\]\.id: required field is missing$"):
        problem_from_dict(data)
    with pytest.raises(ValidationError, match="a problem is a JSON object, got list"):
        problem_from_dict([1, 2])


def test_python_api_validates_like_json():
    with pytest.raises(ValidationError, match=r"^clients\[0\]\.time_window: start 9 > end 1$"):
        Problem("p", (Depot("D", (0, 0)),), (Client("a", (1, 1), time_windows=((9, 1),)),), (VehicleType("v"),))
    with pytest.raises(ValidationError, match=r"^clients\[0\]\.location: missing; the euclidean provider"):
        Problem("p", (Depot("D", (0, 0)),), (Client("a"),), (VehicleType("v"),))
    with pytest.raises(ValidationError, match="with strict backhaul a client has a delivery or a pickup"):
        Problem("p", (Depot("D", (0, 0)),), (Client("a", (1, 1), delivery=1, pickup=1),), (VehicleType("v"),),
                backhaul="strict")


def test_problem_is_immutable(triangle):
    with pytest.raises(dataclasses.FrozenInstanceError):
        triangle.name = "x"
    with pytest.raises(ValueError, match="read-only"):
        triangle.distance[0, 1] = 7
    with pytest.raises(ValueError, match="read-only"):
        triangle.delivery[0, 0] = 7


def test_derived_arrays_and_defaults(triangle):
    assert triangle.distance.tolist() == [[0, 5, 3], [5, 0, 4], [3, 4, 0]]
    assert triangle.duration is triangle.distance
    assert triangle.delivery.tolist() == [[2], [3]] and triangle.pickup.tolist() == [[0], [0]]
    assert triangle.capacity.tolist() == [[4]]
    vt = triangle.vehicle_types[0]
    assert (vt.start_depot, vt.end_depot, vt.count, vt.cost_per_distance) == ("D", "D", None, 1.0)
    assert triangle.vehicle_end.tolist() == [0]
    assert triangle.matrix["provider"] == "euclidean"


def test_variants():
    data = json.loads(json.dumps(BASE))
    assert problem_from_dict(data).variant == "CVRP"
    data["clients"][0]["time_window"] = [0, 100]
    data["vehicle_types"][0]["end_depot"] = None
    assert problem_from_dict(data).variant == "OVRPTW"
    data["depots"].append({"id": "E", "location": [1, 1]})
    data["clients"][1] = {"id": "b", "location": [6, 8], "pickup": 1}
    data["backhaul"] = "strict"
    assert problem_from_dict(data).variant == "MDOVRPBTW"
    data["vehicle_types"][0]["max_duration"] = 50
    data["vehicle_types"].append({"id": "w", "capacity": 9, "fixed_cost": 10})
    data["clients"][0]["required"] = False
    assert problem_from_dict(data).variant == "MDHFPCOVRPBLTW"


@pytest.mark.parametrize(("mode", "expected"), [("none", 2.5), ("nearest", 3.0), ("dimacs", 2.5), ("exact", 2.5)])
def test_euclidean_rounding(mode, expected):
    p = Problem("r", (Depot("D", (0, 0)),), (Client("a", (1.5, 2)),), (VehicleType("v"),),
                matrix={"provider": "euclidean", "round": mode})
    assert p.distance[0, 1] == expected  # 2.5 rounds half up (CVRPLIB nint), not to even


def test_euclidean_truncations():
    p = Problem("r", (Depot("D", (0, 0)),), (Client("a", (1, 1)),), (VehicleType("v"),),
                matrix={"provider": "euclidean", "round": "dimacs", "speed": 2})
    assert p.distance[0, 1] == 1.4 and p.duration[0, 1] == 0.7
    p = p.replace(matrix={"provider": "euclidean", "round": "exact"})
    assert p.distance[0, 1] == 1.414


def test_haversine_metres_and_seconds():
    p = Problem("h", (Depot("D", (0, 0)),), (Client("a", (1, 0)),), (VehicleType("v"),), coordinates="lonlat")
    metres = 2 * math.pi * 6_371_000 / 360
    assert p.distance[0, 1] == pytest.approx(metres)
    assert p.duration[0, 1] == pytest.approx(metres / (30 / 3.6))
    fast = p.replace(matrix={"provider": "haversine", "speed": 60})
    assert fast.duration[0, 1] == pytest.approx(metres / 60 * 3.6)


def test_explicit_npz_relative_to_problem_file(tmp_path):
    dist = np.array([[0, 7, 9], [8, 0, 2], [9, 3, 0]], dtype=float)
    np.savez(tmp_path / "m.npz", distance=dist, duration=dist * 2)
    data = json.loads(json.dumps(BASE))
    data["matrix"] = {"provider": "explicit", "file": "m.npz"}
    (tmp_path / "p.json").write_text(json.dumps(data))
    p = read_problem_json(tmp_path / "p.json")
    assert p.distance.tolist() == dist.tolist() and p.duration[1, 0] == 16
    data["matrix"]["file"] = "missing.npz"
    (tmp_path / "q.json").write_text(json.dumps(data))
    with pytest.raises(ValidationError, match=r"^matrix\.file: cannot read missing\.npz"):
        read_problem_json(tmp_path / "q.json")


def test_json_round_trip_keeps_everything():
    data = json.loads(json.dumps(BASE))
    data["clients"][0].update(time_windows=[[0, 10], [20, None]], service_time=3, prize=4, required=False)
    data["clients"][1].update(pickup=1)
    data["vehicle_types"][0].update(count=2, end_depot=None, shift=[5, 500], max_distance=99,
                                    cost_per_duration=0.5)
    data["matrix"] = {"provider": "euclidean", "round": "nearest"}
    p = problem_from_dict(data)
    q = problem_from_dict(json.loads(json.dumps(p.to_dict())))
    assert q.to_dict() == p.to_dict()
    assert (q.clients, q.vehicle_types, q.depots) == (p.clients, p.vehicle_types, p.depots)
    assert np.array_equal(q.distance, p.distance)
    inline = problem_from_dict(json.loads(json.dumps(p.to_dict(inline_matrices=True))))
    assert np.array_equal(inline.distance, p.distance) and inline.matrix["provider"] == "explicit"


def test_builder_and_json_agree(triangle):
    data = {
        "name": "triangle",
        "depots": [{"id": "D", "location": [0, 0]}],
        "clients": [
            {"id": "a", "location": [3, 4], "delivery": 2, "time_window": [10, 20], "service_time": 1},
            {"id": "b", "location": [3, 0], "delivery": 3},
        ],
        "vehicle_types": [{"id": "v", "capacity": 4}],
    }
    p = problem_from_dict(data)
    assert p.to_dict() == triangle.to_dict()
    assert (p.clients, p.vehicle_types) == (triangle.clients, triangle.vehicle_types)


def test_schema_lists_the_fields():
    schema = problem_schema()
    client = schema["$defs"]["ClientIn"]["properties"]
    assert {"id", "location", "delivery", "pickup", "service_time", "time_window", "time_windows", "prize",
            "required", "skills", "release_time"} == set(client)
    vt = schema["$defs"]["VehicleTypeIn"]["properties"]
    assert {"count", "capacity", "start_depot", "end_depot", "shift", "max_duration", "max_distance",
            "fixed_cost", "cost_per_distance", "cost_per_duration", "skills", "breaks", "reload_depots",
            "max_reloads"} < set(vt)
    assert {"id", "time_window", "time_windows", "duration"} == set(schema["$defs"]["BreakIn"]["properties"])
    assert {"id", "amount", "pickup", "delivery", "max_ride_time", "required", "prize"} == set(
        schema["$defs"]["ShipmentIn"]["properties"])
    assert "service_time" in schema["$defs"]["DepotIn"]["properties"]
    assert "shipments" in schema["properties"]
    assert schema["additionalProperties"] is False
