"""PyVRP's VRPLIB sections for a real fleet: allowed clients (as skills), reload depots and max reloads, release
times, pickup-and-delivery shipments; ``.sol`` reloads; the VRPLIB writer. Our own tiny files in
``tests/data/vrplib_fleet`` (PyVRP's dialect), worked by hand; PyVRP's own files when its repositories are
mirrored here (the tests that read them skip otherwise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vrpkit import Client, Depot, InputError, Problem, Route, Solution, ValidationError, VehicleType, evaluate
from vrpkit.io import read_problem
from vrpkit.io.vrplib import read_sol, sol_convention, sol_cost_matches, write_sol, write_vrplib
from vrpkit.model import Break, Shipment

FLEET = Path(__file__).resolve().parent / "data" / "vrplib_fleet"
MIRRORS = Path(os.environ.get("VRPKIT_MIRRORS", "/work/.mirror"))
"""Bare git mirrors of PyVRP/PyVRP and PyVRP/Instances (``owner+name/repo``); not bundled."""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _text(name: str) -> str:
    return (FLEET / name).read_text()


def _constraints(evaluation) -> set[str]:
    return {v.constraint for v in evaluation.violations}


# -- reloads, max reloads, release times, depot reload time ---------------------------------------------------


def test_reloads_file() -> None:
    """One vehicle of capacity 5 for deliveries 2, 3, 4: trip 0-1-2-0 (10 + 15 + 20), reload 7, trip 0-3-0
    (30 + 30): distance 105. Client 3 is released at 60: the trip that carries it leaves the depot no earlier, so
    the vehicle starts at 60 - 45 - 7 = 8 (the latest start that ends no later), reaches 1 at 18, 2 at 33, the
    depot at 53, leaves it at 60, reaches 3 at 90 and is back at 120."""
    problem = read_problem(FLEET / "reloads.txt")
    vt, = problem.vehicle_types
    assert (vt.count, vt.capacity, vt.reload_depots, vt.max_reloads) == (1, (5,), ("0",), 1)
    assert problem.depots[0].service_time == 7.0
    assert [c.release_time for c in problem.clients] == [0.0, 0.0, 60.0]
    assert problem.variant == "MTVRPRT"
    plan = read_sol(FLEET / "reloads.sol", problem)
    assert plan.routes == (Route(0, (0, 1, 2), reloads=((2, 0),)),)
    evaluation = evaluate(problem, plan)
    assert evaluation.feasible and evaluation.cost == 105.0 == plan.stats["cost"]
    route = evaluation.to_dict(problem)["routes"][0]
    assert (route["start_time"], route["end_time"]) == (8, 120)
    reload = {"type": "reload", "id": "0", "arrival": 53, "start": 53, "departure": 60, "load": 4}
    assert route["stops"][2] == reload
    # Without the reload the route carries 9 > 5.
    no_reload = evaluate(problem, Solution((Route(0, (0, 1, 2)),)))
    assert [(v.constraint, v.amount) for v in no_reload.violations] == [("capacity", 4.0)]


def test_max_reloads_zero_and_reload_depot_rows(tmp_path: Path) -> None:
    text = _text("reloads.txt").replace("VEHICLES_MAX_RELOADS : 1", "VEHICLES_MAX_RELOADS : 0")
    problem = read_problem(_write(tmp_path, "zero.txt", text))
    assert problem.vehicle_types[0].max_reloads == 0 and "multi_trip" not in problem.attributes
    assert "reload" in _constraints(evaluate(problem, read_sol(FLEET / "reloads.sol", problem)))
    # A per-vehicle section; a vehicle without reload depots has an empty row and no limit.
    text = _text("reloads.txt").replace("VEHICLES : 1", "VEHICLES : 2").replace(
        "VEHICLES_MAX_RELOADS : 1\n", "").replace("VEHICLES_RELOAD_DEPOT_SECTION\n1 1\n",
                                                  "VEHICLES_RELOAD_DEPOT_SECTION\n1 1\n2\n"
                                                  "VEHICLES_MAX_RELOADS_SECTION\n1 3\n2 1\n")
    types = read_problem(_write(tmp_path, "two.txt", text)).vehicle_types
    assert [(t.id, t.reload_depots, t.max_reloads) for t in types] == [("1", ("0",), None), ("2", (), None)]


def test_sol_reload_tokens(tmp_path: Path) -> None:
    problem = read_problem(FLEET / "reloads.txt")
    # An empty trip that costs something (the depot's reload time, 7) cannot be written as a reload.
    with pytest.raises(InputError, match=r"b\.sol:1: route #1 starts with depot 0; a depot in a route is a"):
        read_sol(_write(tmp_path, "b.sol", "Route #1: 0 1 2 0 3\n"), problem)
    # Without a reload time, empty trips at the depot the vehicle is at change nothing: left out.
    quick = read_problem(_write(tmp_path, "q.txt", _text("reloads.txt").replace("SECTION\n1 7", "SECTION\n1 0")))
    plan = read_sol(_write(tmp_path, "a.sol", "Route #1: 0 1 2 0 0 3 0\n"), quick)
    assert plan.routes == (Route(0, (0, 1, 2), reloads=((2, 0),)),)
    written = tmp_path / "w.sol"
    write_sol(written, problem, read_sol(FLEET / "reloads.sol", problem))
    assert written.read_text() == "Route #1: 1 2 0 3\nCost 105\n"


def test_two_depots_empty_trip_refused(tmp_path: Path) -> None:
    """Depots 0 and 1 (no reload time): a route of the vehicle from depot 0 that starts with depot 1 would
    drive 0-1 empty, which a reload (between two clients) cannot say."""
    text = """NAME : two
DIMENSION : 4
EDGE_WEIGHT_TYPE : EXPLICIT
EDGE_WEIGHT_FORMAT : FULL_MATRIX
CAPACITY : 2
VEHICLES : 1
EDGE_WEIGHT_SECTION
0 4 1 2
4 0 3 3
1 3 0 2
2 3 2 0
DEMAND_SECTION
1 0
2 0
3 2
4 2
VEHICLES_RELOAD_DEPOT_SECTION
1 1 2
DEPOT_SECTION
1
2
-1
EOF
"""
    problem = read_problem(_write(tmp_path, "two.txt", text))
    assert problem.vehicle_types[0].reload_depots == ("0", "1")
    with pytest.raises(InputError, match="route #1 starts with depot 1"):
        read_sol(_write(tmp_path, "a.sol", "Route #1: 1 2 3\n"), problem)
    with pytest.raises(InputError, match="route #1 ends with depot 1"):
        read_sol(_write(tmp_path, "b.sol", "Route #1: 2 1 3 1\n"), problem)
    plan = read_sol(_write(tmp_path, "c.sol", "Route #1: 2 1 3\n"), problem)
    assert plan.routes == (Route(0, (0, 1), reloads=((1, 1),)),)
    assert evaluate(problem, plan).cost == 1 + 3 + 3 + 2  # 0-2, 2-1 (reload), 1-3, 3-0


# -- allowed clients as skills ---------------------------------------------------------------------------------


def test_allowed_clients_become_skills() -> None:
    """Vehicle 1 may serve every client, vehicle 2 clients 1 and 2, vehicle 3 client 4: each client that some
    vehicle may not serve gets the skill naming the vehicles that may."""
    problem = read_problem(FLEET / "allowed.txt")
    assert [c.skills for c in problem.clients] == [("vehicles 1-2",), ("vehicles 1-2",), ("vehicles 1",),
                                                  ("vehicles 1,3",)]
    assert [(t.id, t.count, t.skills) for t in problem.vehicle_types] == [
        ("1", 1, ("vehicles 1", "vehicles 1,3", "vehicles 1-2")), ("2", 1, ("vehicles 1-2",)),
        ("3", 1, ("vehicles 1,3",))]
    assert problem.skills_ok.tolist() == [[True, True, True, True], [True, True, False, False],
                                          [False, False, False, True]]
    assert problem.variant == "VRPSK"
    plan = read_sol(FLEET / "allowed.sol", problem)
    evaluation = evaluate(problem, plan)
    assert evaluation.feasible and evaluation.cost == 18.0 == plan.stats["cost"]  # 3+3, 1+1+2, 4+4
    wrong = evaluate(problem, Solution((Route(1, (0, 1, 2)), Route(2, (3,)))))
    assert [(v.constraint, v.client) for v in wrong.violations] == [("skills", "3")]


@pytest.mark.parametrize(("rows", "types", "allowed"), [
    ("1 2 3 4 5\n2 2 3 4 5\n3 2 3 4 5", ["1-3"], [[True] * 4]),  # every row the same length: a 2-D array
    ("1 2\n2 2\n3 3", ["1-2", "3"], [[True, False, False, False], [False, True, False, False]]),  # one: 1-D
])
def test_allowed_clients_rows_of_one_length(tmp_path: Path, rows: str, types: list, allowed: list) -> None:
    text = _text("allowed.txt").replace("1 2 3 4 5\n2 2 3\n3 5", rows)
    problem = read_problem(_write(tmp_path, "a.txt", text))
    assert [t.id for t in problem.vehicle_types] == types and problem.skills_ok.tolist() == allowed


# -- shipments -------------------------------------------------------------------------------------------------


def test_shipments_file() -> None:
    """Shipments 1 -> 2 (4) and 4 -> 3 (2) and client 5 (delivery 1), capacity 5. Route 1 2 4 3 5: distance
    1 + 1 + 2 + 1 + 2 + 5 = 12; on board 1, 5, 1, 3, 1, 0."""
    problem = read_problem(FLEET / "shipments.txt")
    assert problem.shipments == (Shipment("1-2", "1", "2", (4,)), Shipment("4-3", "4", "3", (2,)))
    assert [c.delivery for c in problem.clients] == [(), (), (), (), (1,)]
    assert [c.service_time for c in problem.clients] == [5.0] * 4 + [0.0]
    assert problem.depots[0].time_window == (0.0, 1000.0) and problem.variant == "PDPTW"
    plan = read_sol(FLEET / "shipments.sol", problem)
    evaluation = evaluate(problem, plan)
    assert evaluation.feasible and evaluation.cost == 12.0 == plan.stats["cost"]
    assert [s["load"] for s in evaluation.to_dict(problem)["routes"][0]["stops"]] == [5, 1, 3, 1, 0]
    over = evaluate(problem, Solution((Route(0, (0, 3, 1, 2, 4)),)))  # 1 + 4 + 2 = 7 on board at 4
    assert [(v.constraint, v.amount) for v in over.violations] == [("capacity", 2.0)]
    backwards = evaluate(problem, Solution((Route(0, (1, 0, 3, 2, 4)),)))
    assert ("shipment_order", "2") in {(v.constraint, v.client) for v in backwards.violations}


def test_shipment_prizes_sit_on_the_pickup(tmp_path: Path) -> None:
    text = _text("shipments.txt").replace("DEPOT_SECTION", "PRIZE_SECTION\n1 0\n2 3\n3 4\n4 0\n5 0\n6 0\n"
                                                           "DEPOT_SECTION")
    problem = read_problem(_write(tmp_path, "p.txt", text))
    assert [(c.prize, c.required) for c in problem.clients] == [(7.0, False), (0.0, False), (0.0, True),
                                                                (0.0, True), (0.0, True)]


# -- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("allowed.txt", "3 5\n", "3 1\n", "VEHICLES_ALLOWED_CLIENTS_SECTION: vehicle 3: 1 is not a client node"),
    ("allowed.txt", "3 5\n", "3 9\n", "VEHICLES_ALLOWED_CLIENTS_SECTION: vehicle 3: 9 is not a client node"),
    ("reloads.txt", "SECTION\n1 1\n", "SECTION\n1 2\n",
     "VEHICLES_RELOAD_DEPOT_SECTION: vehicle 1: 2 is not a depot in DEPOT_SECTION"),
    ("reloads.txt", "SECTION\n1 1\n", "SECTION\n1 1\n2 1\n",
     "VEHICLES_RELOAD_DEPOT_SECTION has 2 rows, VEHICLES is 1"),
    ("reloads.txt", "RELEASE_TIME_SECTION\n1 0", "RELEASE_TIME_SECTION\n1 5",
     "RELEASE_TIME_SECTION: depot 1 has a non-zero value"),
    ("reloads.txt", "MAX_RELOADS : 1", "MAX_RELOADS : -1", "VEHICLES_MAX_RELOADS: -1 is not an integer >= 0"),
    ("shipments.txt", "3 -4 0 1000 5 2 0", "3 -4 0 1000 5 4 0",
     "pickup node 2 names delivery node 3, which does not name it back as its pickup"),
    ("shipments.txt", "3 -4 0 1000 5 2 0", "3 -3 0 1000 5 2 0",
     "pickup node 2 has demand 4, its delivery node 3 -3"),
    ("shipments.txt", "6 1 0 1000 0 0 0", "6 1 0 1000 0 2 3", "node 6 names both a pickup and a delivery"),
    ("shipments.txt", "6 1 0 1000 0 0 0", "6 -1 0 1000 0 0 0", "node 6 has demand -1 but is no delivery stop"),
    ("shipments.txt", "6 1 0 1000 0 0 0", "6 1 0 1000 0 0 9", "must be node numbers 1 ... 6 or 0"),
    ("shipments.txt", "1 0 0 1000 0 0 0", "1 0 0 1000 0 0 0 0", "PICKUP_AND_DELIVERY_SECTION"),
    ("shipments.txt", "DEPOT_SECTION", "TIME_WINDOW_SECTION\n1 0 1000\n2 0 1000\n3 0 1000\n4 0 1000\n5 0 1000\n"
                                       "6 0 999\nDEPOT_SECTION",
     "TIME_WINDOW_SECTION differs from PICKUP_AND_DELIVERY_SECTION, which gives these values too"),
])
def test_bad_sections(tmp_path: Path, file: str, old: str, new: str, message: str) -> None:
    text = _text(file)
    assert old in text
    with pytest.raises(InputError, match=message):
        read_problem(_write(tmp_path, file, text.replace(old, new, 1)))


def test_matching_sections_beside_pickup_and_delivery(tmp_path: Path) -> None:
    text = _text("shipments.txt").replace("DEPOT_SECTION", "SERVICE_TIME_SECTION\n1 0\n2 5\n3 5\n4 5\n5 5\n6 0\n"
                                                           "DEPOT_SECTION")
    again = read_problem(_write(tmp_path, "s.txt", text))
    assert again.shipments == read_problem(FLEET / "shipments.txt").shipments


# -- writing problems ------------------------------------------------------------------------------------------


def _same(a: Problem, b: Problem) -> None:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        for key in ("name", "matrix", "distance", "duration"):
            d.pop(key, None)
    assert da == db
    assert np.array_equal(a.distance, b.distance) and np.array_equal(a.duration, b.duration)


@pytest.mark.parametrize("name", ["reloads", "allowed", "shipments"])
def test_write_vrplib_round_trip(tmp_path: Path, name: str) -> None:
    problem = read_problem(FLEET / f"{name}.txt")
    out = tmp_path / f"{name}.vrp"
    write_vrplib(out, problem)
    again = read_problem(out)
    _same(problem, again)
    plan = read_sol(FLEET / f"{name}.sol", again)
    assert evaluate(again, plan).cost == plan.stats["cost"]


def test_write_vrplib_named_skills_and_fleet(tmp_path: Path) -> None:
    """Named skills become allowed clients, read back as one skill per client signature: the same
    ``skills_ok``. Two types of 2 and 1 vehicles give three rows per section."""
    problem = Problem(
        "named", depots=(Depot("d", (0, 0), service_time=2.0),),
        clients=(Client("a", (3, 0), delivery=1, skills=("fridge",), release_time=4.0),
                 Client("b", (0, 4), delivery=1, skills=("fridge", "lift")), Client("c", (3, 4), delivery=2)),
        vehicle_types=(VehicleType("cold", count=2, capacity=2, skills=("fridge",), reload_depots=("d",),
                                   max_reloads=1, fixed_cost=10.0),
                       VehicleType("big", count=1, capacity=5, skills=("fridge", "lift"), max_duration=50.0)),
    )
    out = tmp_path / "named.vrp"
    write_vrplib(out, problem)
    text = out.read_text()
    assert "VEHICLES : 3\n" in text
    assert "VEHICLES_ALLOWED_CLIENTS_SECTION\n1 2 4\n2 2 4\n3 2 3 4\n" in text
    assert "VEHICLES_RELOAD_DEPOT_SECTION\n1 1\n2 1\n3\n" in text
    again = read_problem(out)
    assert again.skills_ok.tolist() == problem.skills_ok.tolist()
    assert [c.skills for c in again.clients] == [(), ("vehicles 3",), ()]  # a: every vehicle may
    # An unbounded max_duration beside a bounded one is written as 1e15, beyond the horizon: no bound either.
    assert [(t.id, t.count, t.capacity, t.reload_depots, t.max_reloads, t.fixed_cost, t.max_duration)
            for t in again.vehicle_types] == [("1-2", 2, (2,), ("0",), 1, 10.0, 1e15),
                                              ("3", 1, (5,), (), None, 0.0, 50.0)]
    assert again.depots[0].service_time == 2.0 and again.clients[0].release_time == 4.0
    plan = Solution((Route(0, (0, 2), reloads=((1, 0),)), Route(1, (1,))))
    assert evaluate(again, plan).cost == evaluate(problem, plan).cost


@pytest.mark.parametrize(("change", "field"), [
    ({"vehicle_types": (VehicleType("v", breaks=(Break("lunch", ((1.0, 2.0),), 1.0),)),)},
     "vehicle_types[0].breaks"),
    ({"vehicle_types": (VehicleType("v", shift=(0.0, 100.0)),)}, "vehicle_types[0].shift"),
    ({"vehicle_types": (VehicleType("v", end_depot=None),)}, "vehicle_types[0].end_depot"),
    ({"clients": (Client("a", (3, 0), time_windows=((0, 1), (2, 3))),)}, "clients[0].time_windows"),
    ({"clients": (Client("a", (3, 0), required=False),)}, "clients[0].prize"),
    ({"clients": (Client("a", (3, 0)), Client("b", (0, 4))),
      "shipments": (Shipment("s", "a", "b", max_ride_time=3.0),)}, "shipments[0].max_ride_time"),
    ({"matrix": {"provider": "euclidean", "speed": 2.0}}, "matrix"),
])
def test_write_vrplib_refuses_what_vrplib_cannot_hold(tmp_path: Path, change: dict, field: str) -> None:
    base = {"name": "p", "depots": (Depot("d", (0, 0)),), "clients": (Client("a", (3, 0)),),
            "vehicle_types": (VehicleType("v"),)}
    problem = Problem(**{**base, **change})
    with pytest.raises(ValidationError) as err:
        write_vrplib(tmp_path / "p.vrp", problem)
    assert err.value.field == field


def test_cli_convert_to_vrp(tmp_path: Path) -> None:
    problem = read_problem(FLEET / "reloads.txt")
    source = _write(tmp_path, "p.json", json.dumps(problem.to_dict()))
    run = [sys.executable, "-m", "vrpkit", "convert"]
    done = subprocess.run([*run, source, tmp_path / "p.vrp"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"wrote {tmp_path / 'p.vrp'} (VRPLIB, MTVRPRT, 3 clients)"
    _same(problem, read_problem(tmp_path / "p.vrp"))
    plan = _write(tmp_path, "s.json", json.dumps({"routes": [{"vehicle_type": "1", "stops": ["1", "2"]}]}))
    done = subprocess.run([*run, plan, tmp_path / "s.vrp", "--problem", source], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: {plan} is a solution, and a .vrp file holds a problem; write a solution as .json or .sol"]


# -- PyVRP's own files -----------------------------------------------------------------------------------------


def _mirrored(repo: str, path: str, tmp_path: Path) -> Path:
    """``path`` of a mirrored PyVRP repository, written under ``tmp_path`` (skips when there is no mirror)."""
    git = MIRRORS / repo / "repo"
    if not git.is_dir():
        pytest.skip(f"no mirror of {repo} at {git}")
    out = tmp_path / Path(path).name
    done = subprocess.run(["git", "-C", str(git), "show", f"HEAD:{path}"], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"{path} not in the mirror of {repo}")
    out.write_bytes(done.stdout)
    return out


@pytest.mark.parametrize(("repo", "path", "variant", "cost"), [
    ("PyVRP+PyVRP", "tests/data/SmallShipments", "PDPTW", 65128),
    ("PyVRP+PyVRP", "tests/data/C201R0.25", "MTVRPTWRT", 1068.7),
    ("PyVRP+PyVRP", "tests/data/OkSmallMultipleReloadDepots", "MDMTVRPTW", None),
    ("PyVRP+PyVRP", "tests/data/OkSmallAllowedClients", "VRPTWSK", None),
    ("PyVRP+PyVRP", "tests/data/OkSmallReleaseTimes", "VRPTWRT", None),
    ("PyVRP+PyVRP", "tests/data/lrc206", "PDPTW", None),
    ("PyVRP+Instances", "MTVRPTWR/C201R0.25", "MTVRPTWRT", 15006),
    ("PyVRP+Instances", "SDVRPTW/PR01", "HFVRPLTWSK", 1655420),
])
def test_pyvrp_files(tmp_path: Path, repo: str, path: str, variant: str, cost: float | None) -> None:
    suffix = ".txt" if "OkSmall" in path or "Shipments" in path else ".vrp"
    problem_file = _mirrored(repo, path + suffix, tmp_path)
    problem = read_problem(problem_file)
    assert problem.variant == variant
    if cost is None:
        return
    plan = read_sol(_mirrored(repo, path + ".sol", tmp_path), problem)
    rule, scale = sol_convention(problem_file, plan.stats["cost"])
    evaluation = evaluate(problem, plan)
    assert rule is None and evaluation.feasible and plan.stats["cost"] == cost
    assert sol_cost_matches(cost, evaluation.cost, scale)


def test_write_vrplib_and_sol_with_reloads_by_node_index(tmp_path: Path) -> None:
    """Ids that are not numbers: the ``.vrp`` names nodes by position and the ``.sol`` writes node indices
    (the depot 0 between two clients is the reload), so the two files read back to the same plan and cost:
    D-a 3, a-D 3 (reload), D-b 4, b-D 4 = 14."""
    problem = Problem("ids", depots=(Depot("D", (0, 0)),),
                      clients=(Client("a", (3, 0), delivery=2), Client("b", (0, 4), delivery=2)),
                      vehicle_types=(VehicleType("v", count=1, capacity=2, reload_depots=("D",)),))
    plan = Solution((Route(0, (0, 1), reloads=((1, 0),)),))
    write_vrplib(tmp_path / "ids.vrp", problem)
    write_sol(tmp_path / "ids.sol", problem, plan)
    assert (tmp_path / "ids.sol").read_text() == "Route #1: 1 0 2\nCost 14\n"
    again = read_problem(tmp_path / "ids.vrp")
    back = read_sol(tmp_path / "ids.sol", again)
    assert back.routes == plan.routes and evaluate(again, back).cost == 14.0 == back.stats["cost"]
