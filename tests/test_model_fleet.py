"""The model's fleet fields: skills, breaks, reloads, release times, shipments (JSON, validation, attributes)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from vrpkit import Problem
from vrpkit.errors import ValidationError
from vrpkit.model import Break, Client, Depot, Shipment, VehicleType


def fleet_dict() -> dict:
    return {
        "name": "day",
        "depots": [{"id": "D", "location": [0, 0], "service_time": 7}, {"id": "E", "location": [5, 5]}],
        "clients": [
            {"id": "a", "location": [1, 0], "delivery": [2, 0], "skills": ["fridge"], "release_time": 30},
            {"id": "b", "location": [2, 0], "pickup": [0, 1], "time_window": [0, 100]},
        ],
        "vehicle_types": [{
            "id": "van", "count": 2, "capacity": [4, 2], "skills": ["fridge", "lift"],
            "breaks": [{"id": "lunch", "time_windows": [[40, 50], [60, 70]], "duration": 15},
                       {"id": "tea", "time_window": [10, 20], "duration": 5}],
            "reload_depots": ["D", "E"], "max_reloads": 1,
        }],
        "shipments": [{
            "id": "s1", "amount": [1, 1],
            "pickup": {"id": "p1", "location": [3, 0], "service_time": 2, "time_window": [0, 50]},
            "delivery": {"id": "d1", "location": [4, 0], "time_windows": [[10, 20], [30, 40]], "skills": ["lift"]},
            "max_ride_time": 25, "required": False, "prize": 40,
        }],
    }


def test_json_reads_every_fleet_field():
    p = Problem.from_dict(fleet_dict())
    assert [c.id for c in p.clients] == ["a", "b", "p1", "d1"]  # the stops follow the clients
    assert p.depots[0].service_time == 7 and p.depot_service_time.tolist() == [7.0, 0.0]
    a, _, p1, d1 = p.clients
    assert a.skills == ("fridge",) and a.release_time == 30
    assert p1.prize == 40 and d1.prize == 0 and not p1.required and not d1.required
    assert d1.time_windows == ((10, 20), (30, 40)) and d1.skills == ("lift",)
    vt = p.vehicle_types[0]
    assert vt.breaks == (Break("lunch", ((40, 50), (60, 70)), 15), Break("tea", ((10, 20),), 5))
    assert vt.reload_depots == ("D", "E") and vt.max_reloads == 1
    assert p.shipments == (Shipment("s1", "p1", "d1", (1, 1), 25),)
    assert p.shipment_load.tolist() == [[0, 0], [0, 0], [1, 1], [-1, -1]]
    assert p.partner.tolist() == [-1, -1, 3, 2] and p.shipment_of.tolist() == [-1, -1, 0, 0]
    assert p.is_pickup_stop.tolist() == [False, False, True, False]
    assert p.reload_allowed.tolist() == [[True, True]] and p.max_reloads.tolist() == [1]
    assert p.release_time.tolist() == [30, 0, 0, 0] and p.max_ride_time.tolist() == [25]
    assert p.skills_ok.tolist() == [[True, True, True, True]]
    assert p.attributes >= {"skills", "breaks", "multi_trip", "shipments", "release_times", "prizes"}
    assert p.fleet


def test_json_round_trip_keeps_every_field():
    p = Problem.from_dict(fleet_dict())
    out = p.to_dict()
    assert [c["id"] for c in out["clients"]] == ["a", "b"]  # stops are written nested, in their shipment
    assert out["shipments"][0]["pickup"]["id"] == "p1" and out["shipments"][0]["prize"] == 40
    q = Problem.from_dict(json.loads(json.dumps(out)))
    assert q.to_dict() == out
    assert q.clients == p.clients and q.vehicle_types == p.vehicle_types and q.shipments == p.shipments
    assert q.depots == p.depots


def test_skills_decide_which_type_may_serve():
    p = Problem("s", (Depot("d", (0, 0)),),
                (Client("a", (1, 0), skills=("x", "y")), Client("b", (2, 0), skills=("x",)), Client("c", (3, 0))),
                (VehicleType("xy", skills=("x", "y")), VehicleType("x", skills=("x",)), VehicleType("none")))
    assert p.skills_ok.tolist() == [[True, True, True], [False, True, True], [False, False, True]]


@pytest.mark.parametrize(("attrs", "variant"), [
    ({"shipments"}, "PDP"),
    ({"shipments", "time_windows"}, "PDPTW"),
    ({"multi_trip"}, "MTVRP"),
    ({"multi_trip", "capacity"}, "MTCVRP"),
    ({"breaks", "skills", "time_windows"}, "VRPTWBRSK"),
    ({"release_times", "multi_trip", "capacity"}, "MTCVRPRT"),
])
def test_variant_names(attrs, variant):
    clients = [Client("a", (1, 0), delivery=1 if "capacity" in attrs else 0,
                      time_windows=((0, 50),) if "time_windows" in attrs else ((0, math.inf),),
                      skills=("x",) if "skills" in attrs else (),
                      release_time=5 if "release_times" in attrs else 0),
               Client("p", (2, 0)), Client("q", (3, 0))]
    vt = VehicleType("v", capacity=3 if "capacity" in attrs else (), skills=("x",),
                     breaks=(Break("b", ((0, 9),), 1),) if "breaks" in attrs else (),
                     reload_depots=("d",) if "multi_trip" in attrs else ())
    ships = (Shipment("s", "p", "q", 1 if "capacity" in attrs else ()),) if "shipments" in attrs else ()
    p = Problem("v", (Depot("d", (0, 0)),), tuple(clients), (vt,), shipments=ships)
    assert p.attributes & {"skills", "breaks", "multi_trip", "shipments", "release_times"} == attrs - {
        "capacity", "time_windows"}
    expected = variant.replace("CVRP", "VRP") if "capacity" in attrs and variant.startswith("MTC") else variant
    assert p.variant in (variant, expected)


def test_max_reloads_zero_is_no_multi_trip_and_large_is_unlimited():
    clients = (Client("a", (1, 0)), Client("b", (2, 0)))
    p = Problem("r", (Depot("d", (0, 0)),), clients, (VehicleType("v", reload_depots=("d",), max_reloads=0),))
    assert "multi_trip" not in p.attributes and p.max_reloads.tolist() == [0]
    p = Problem("r", (Depot("d", (0, 0)),), clients, (VehicleType("v", reload_depots=("d",), max_reloads=10**30),))
    assert p.vehicle_types[0].max_reloads is None and p.max_reloads.tolist() == [-1]


def test_horizon_counts_release_times_breaks_and_reloads():
    clients = (Client("a", (1, 0), release_time=1000),)
    base = Problem("h", (Depot("d", (0, 0), service_time=3),), clients, (VehicleType("v"),))
    # latest opening 1000 (the release), no service, longest legs 1 + 1
    assert base.horizon == 1002
    p = base.replace(vehicle_types=(VehicleType("v", breaks=(Break("b", ((0, 2000),), 50),)),))
    assert p.horizon == 1052
    # no reload can happen with one client: the bound is still 0 reloads
    p = base.replace(vehicle_types=(VehicleType("v", reload_depots=("d",)),))
    assert p.horizon == 1002


BAD = [
    (("clients", 0, "skills"), "x", "clients[0].skills"),
    (("clients", 0, "skills"), [""], "clients[0].skills"),
    (("clients", 0, "skills"), [3], "clients[0].skills"),
    (("clients", 0, "release_time"), -1, "clients[0].release_time"),
    (("clients", 0, "release_time"), 1e300, "clients[0].release_time"),
    (("clients", 0, "release_time"), 10**30, "clients[0].release_time"),
    (("depots", 0, "service_time"), -5, "depots[0].service_time"),
    (("depots", 0, "service_time"), 1e308, "depots[0].service_time"),
    (("vehicle_types", 0, "skills"), [None], "vehicle_types[0].skills"),
    (("vehicle_types", 0, "reload_depots"), ["nowhere"], "vehicle_types[0].reload_depots[0]"),
    (("vehicle_types", 0, "reload_depots"), ["D", "D"], "vehicle_types[0].reload_depots[1]"),
    (("vehicle_types", 0, "max_reloads"), -1, "vehicle_types[0].max_reloads"),
    (("vehicle_types", 0, "max_reloads"), 1.5, "vehicle_types[0].max_reloads"),
    (("vehicle_types", 0, "breaks", 0, "duration"), -1, "vehicle_types[0].breaks[0].duration"),
    (("vehicle_types", 0, "breaks", 0, "duration"), 1e16, "vehicle_types[0].breaks[0].duration"),
    (("vehicle_types", 0, "breaks", 0, "time_windows"), [[50, 40]], "vehicle_types[0].breaks[0].time_window"),
    (("vehicle_types", 0, "breaks", 0, "time_windows"), [[40, 50], [45, 70]],
     "vehicle_types[0].breaks[0].time_windows[1]"),
    (("vehicle_types", 0, "breaks", 1, "id"), "lunch", "vehicle_types[0].breaks[1].id"),
    (("vehicle_types", 0, "breaks", 0, "color"), "red", "vehicle_types[0].breaks[0].color"),
    (("shipments", 0, "amount"), [1], "shipments[0].amount"),
    (("shipments", 0, "amount"), [-1, 0], "shipments[0].amount"),
    (("shipments", 0, "amount"), [10**30, 0], "shipments[0].amount"),
    (("shipments", 0, "max_ride_time"), -3, "shipments[0].max_ride_time"),
    (("shipments", 0, "pickup", "id"), "a", "shipments[0].pickup.id"),
    (("shipments", 0, "delivery", "service_time"), math.nan, "shipments[0].delivery.service_time"),
    (("shipments", 0, "pickup", "weight"), 3, "shipments[0].pickup.weight"),
    (("shipments", 0, "id"), 7, "shipments[0].id"),
]


def _set(data: dict, path: tuple, value) -> dict:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "field"), BAD)
def test_bad_values_are_refused_naming_the_field(path, value, field):
    data = _set(fleet_dict(), path, value)
    with pytest.raises(ValidationError) as err:
        Problem.from_dict(data)
    assert field in str(err.value)


def test_max_reloads_without_reload_depots_is_refused():
    data = fleet_dict()
    data["vehicle_types"][0]["reload_depots"] = []
    with pytest.raises(ValidationError, match=r"vehicle_types\[0\]\.max_reloads"):
        Problem.from_dict(data)


def test_shipment_stop_with_an_amount_of_its_own_is_refused():
    clients = (Client("p", (1, 0), delivery=1), Client("q", (2, 0)))
    with pytest.raises(ValidationError, match=r"shipments\[0\]\.pickup"):
        Problem("s", (Depot("d", (0, 0)),), clients, (VehicleType("v"),), shipments=(Shipment("s", "p", "q"),))
    with pytest.raises(ValidationError, match=r"shipments\[1\]\.pickup.*shipments\[0\] too"):
        Problem("s", (Depot("d", (0, 0)),), (Client("p", (1, 0)), Client("q", (2, 0)), Client("r", (3, 0))),
                (VehicleType("v"),), shipments=(Shipment("s", "p", "q"), Shipment("t", "p", "r")))
    with pytest.raises(ValidationError, match=r"shipments\[0\]\.delivery.*unknown client"):
        Problem("s", (Depot("d", (0, 0)),), (Client("p", (1, 0)),), (VehicleType("v"),),
                shipments=(Shipment("s", "p", "zz"),))


def test_cli_info_refuses_bad_fleet_fields_in_one_line(tmp_path):
    data = _set(fleet_dict(), ("vehicle_types", 0, "reload_depots"), ["nowhere"])
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(data))
    run = subprocess.run([sys.executable, "-m", "vrpkit", "info", str(f)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "vehicle_types[0].reload_depots[0]" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_info_shows_the_fleet(tmp_path):
    f = tmp_path / "day.json"
    f.write_text(json.dumps(fleet_dict()))
    run = subprocess.run([sys.executable, "-m", "vrpkit", "info", str(f)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "MTPCPDP" in run.stdout or "PDP" in run.stdout
    for word in ("shipments", "breaks", "skills", "multi_trip", "release_times"):
        assert word in run.stdout
    out = " ".join(run.stdout.split())
    assert "1 (pickup and delivery stops among the clients), amount [1, 1] in all, 1 with a ride time limit" in out
    assert "fridge (1 client)" in out and "release times 1 clients, the latest 30" in out
    assert "a fleet's day" in out and "lunch 15 in 40–50, 60–70; tea" in out and "D, E 1" in out
    assert "reload time" in out


def test_arrays_are_read_only():
    p = Problem.from_dict(fleet_dict())
    for name in ("skills_ok", "release_time", "shipment_load", "partner", "reload_allowed", "max_reloads"):
        array = getattr(p, name)
        assert isinstance(array, np.ndarray) and not array.flags.writeable


def test_json_round_trip_keeps_the_matrix_when_stops_come_first():
    # the stops p, q are clients 0 and 1, the plain client c is 2: the JSON lists c first, then p, q
    dist = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    p = Problem("m", (Depot("d"),), (Client("p"), Client("q"), Client("c", delivery=1)),
                (VehicleType("v", capacity=1),), distance=dist, shipments=(Shipment("s", "p", "q", 1),))
    assert "capacity" in p.attributes
    out = p.to_dict()
    assert out["matrix"]["distance"] == [[0, 3, 1, 2], [3, 0, 5, 6], [1, 5, 0, 4], [2, 6, 4, 0]]
    q = Problem.from_dict(json.loads(json.dumps(out)))
    assert [c.id for c in q.clients] == ["c", "p", "q"]
    ids_p, ids_q = p.node_ids, q.node_ids
    for a in ids_p:
        for b in ids_p:
            assert p.distance[ids_p.index(a), ids_p.index(b)] == q.distance[ids_q.index(a), ids_q.index(b)]
    assert q.to_dict() == out
