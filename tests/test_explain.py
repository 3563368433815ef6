"""vrpkit.explain: edge intentions on hand-built routes whose label is known, slack, unassigned reasons on
constructed cases, the counterfactual's cost difference, and the ``vrpkit explain`` command."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_data

import vrpkit
from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType
from vrpkit.explain import INTENTIONS, explain, explain_edges, explain_unassigned, why_not


def problem(*clients: Client, types: tuple[VehicleType, ...] = (VehicleType("v"),), **kw) -> Problem:
    """Depot D at (0, 0); Euclidean distances, durations equal to distances."""
    return Problem("p", depots=(Depot("D", (0, 0)),), clients=clients, vehicle_types=types, **kw)


def plan(p: Problem, *routes: tuple[str, ...], vehicle_type: int = 0) -> Solution:
    return Solution(tuple(Route(vehicle_type, tuple(p.client_index[c] for c in r)) for r in routes))


def labels(p: Problem, sol: Solution) -> list[list[tuple[str, str, str]]]:
    return [[(e.from_, e.to, e.intention) for e in r.edges] for r in explain_edges(p, sol)]


# -- edge intentions ------------------------------------------------------------------------------------------


def test_nearest_and_return_on_a_line_with_slack(line):
    sol = plan(line, ("c1", "c2", "c3"))
    (route,) = explain_edges(line, sol)
    assert [(e.from_, e.to, e.intention) for e in route.edges] == [
        ("D", "c1", "nearest"), ("c1", "c2", "nearest"), ("c2", "c3", "nearest"), ("c3", "D", "return")]
    assert [e.influence for e in route.edges] == [0, 0, 0, 0]
    # Capacity 3, all three deliveries on board from the depot: 1, 2, 3 left after each stop and at the end.
    assert [e.slack["capacity"] for e in route.edges] == [1, 2, 3, 3]
    assert [e.slack["time_window"] for e in route.edges] == [None] * 4
    assert route.edges[0].slack["duration"] is None and route.edges[0].nearest == "c1"
    assert route.summary.startswith("Route 0 (v) serves 3 clients over distance 6 in 6. 3 of 3 legs go to the "
                                    "nearest stop.")


def test_time_window_makes_the_route_skip_the_nearest_stop():
    # a at 1 opens at 10; b at 3 closes at 4. Going to a first waits until 10 and reaches b at 12 > 4.
    p = problem(Client("a", (1, 0), time_windows=((10, 20),)), Client("b", (3, 0), time_windows=((0, 4),)))
    (route,) = explain_edges(p, plan(p, ("b", "a")))
    assert [(e.to, e.intention) for e in route.edges] == [("b", "time_window"), ("a", "nearest"), ("D", "return")]
    first = route.edges[0]
    assert first.nearest == "a" and first.influence == 2 and first.constraints == ("time_window",)
    # The evaluator leaves at 1 (the slack of b's window), reaches b at 4 and a at 6, waits until 10, back at 11.
    assert first.slack["time_window"] == 0
    assert route.edges[1].slack["time_window"] == 10 and route.edges[1].slack["wait"] == 4
    assert route.edges[2].slack["time_window"] is None


def test_capacity_keeps_a_nearer_client_on_another_route():
    # Capacity 4: a (delivery 3) at 1 cannot join the route of b (3) and c (1).
    p = problem(Client("a", (1, 0), delivery=3), Client("b", (2, 0), delivery=3), Client("c", (-3, 0), delivery=1),
                types=(VehicleType("v", capacity=4),))
    sol = plan(p, ("a",), ("b", "c"))
    assert labels(p, sol) == [[("D", "a", "nearest"), ("a", "D", "return")],
                              [("D", "b", "capacity"), ("b", "c", "capacity"), ("c", "D", "return")]]
    # With room for everything the nearer client fits: no constraint explains the edge.
    roomy = p.replace(vehicle_types=(VehicleType("v", capacity=10),))
    assert labels(roomy, sol)[1][:2] == [("D", "b", "lookahead"), ("b", "c", "lookahead")]


def test_capacity_blocks_a_pickup_moved_forward():
    # Mixed backhaul, capacity 4: d delivers 3 at 2; p picks up 3 at 1. Picking up first carries 6.
    p = problem(Client("p", (1, 0), pickup=3), Client("d", (2, 0), delivery=3),
                types=(VehicleType("v", capacity=4),))
    (route,) = explain_edges(p, plan(p, ("d", "p")))
    assert [e.intention for e in route.edges] == ["capacity", "nearest", "return"]


def test_distance_limit_blocks_the_detour():
    # Route D-b-D is 4 long; through a: 1 + sqrt(5) + 2 = 5.24 > max_distance 4.5.
    p = problem(Client("a", (1, 0)), Client("b", (0, 2)), types=(VehicleType("v", max_distance=4.5),))
    sol = plan(p, ("a",), ("b",))
    assert labels(p, sol)[1][0] == ("D", "b", "limit")
    (route,) = explain_edges(p, sol, routes=[1])
    assert route.edges[0].slack["distance"] == 2.5 and route.edges[1].slack["distance"] == 0.5


def test_shift_end_is_a_limit():
    # Shift ends at 4.5: the route D-b-D ends at 4; the detour by a adds 1.24.
    p = problem(Client("a", (1, 0)), Client("b", (0, 2)), types=(VehicleType("v", shift=(0, 4.5)),))
    assert labels(p, plan(p, ("a",), ("b",)))[1][0] == ("D", "b", "limit")


def test_prize_too_small_for_the_detour():
    # Optional o at 1 (prize 1) left out; the detour D-o-b-D costs sqrt(5) - 1 = 1.24 > 1.
    def make(prize: float) -> Problem:
        return problem(Client("o", (1, 0), prize=prize, required=False), Client("b", (0, 2)))

    small = make(1.0)
    assert labels(small, plan(small, ("b",)))[0][0] == ("D", "b", "prize")
    big = make(5.0)
    assert labels(big, plan(big, ("b",)))[0][0] == ("D", "b", "lookahead")


def test_strict_backhaul_order():
    # A pickup (B at 1) before a delivery (L at 2) is not allowed with strict backhaul.
    clients = (Client("B", (1, 0), pickup=1), Client("L", (2, 0), delivery=1))
    strict = problem(*clients, types=(VehicleType("v", capacity=5),), backhaul="strict")
    assert labels(strict, plan(strict, ("L", "B"))) == [[("D", "L", "backhaul"), ("L", "B", "nearest"),
                                                          ("B", "D", "return")]]
    mixed = problem(*clients, types=(VehicleType("v", capacity=5),))
    assert labels(mixed, plan(mixed, ("L", "B")))[0][0] == ("D", "L", "lookahead")


def test_several_families_block_different_closer_stops():
    # From D to c at 3: a at 1 is too late (window ends at 0.5), b at 2 does not fit (delivery 5 > 4 left).
    p = problem(Client("a", (1, 0), time_windows=((0, 0.5),)), Client("b", (0, 2), delivery=5),
                Client("c", (3, 0)), Client("x", (-9, 0), time_windows=((0, 9),), delivery=1),
                types=(VehicleType("v", capacity=5),))
    (_, _, route) = explain_edges(p, plan(p, ("a",), ("b",), ("c", "x")))
    first = route.edges[0]
    # Capacity blocks b only and time windows block a only: the tie goes to the first family in the order.
    assert first.constraints == ("time_window", "capacity") and first.intention == "time_window"


def test_open_route_has_no_return_edge():
    p = problem(Client("a", (1, 0)), Client("b", (2, 0)), types=(VehicleType("v", end_depot=None),))
    assert labels(p, plan(p, ("a", "b"))) == [[("D", "a", "nearest"), ("a", "b", "nearest")]]


def test_every_edge_of_a_solomon_plan_is_labelled():
    from vrpkit.io import read_problem
    from vrpkit.io.vrplib import read_sol

    folder = needs_data("solomon")
    p = read_problem(folder / "RC101.txt")
    report = explain(p, read_sol(folder / "solutions" / "RC101.sol", p)).to_dict()
    edges = [e for r in report["routes"] for e in r["edges"]]
    assert len(edges) == p.n_clients + len(report["routes"])
    assert {e["intention"] for e in edges} <= set(INTENTIONS)
    assert all(e["slack"]["time_window"] is not None and e["slack"]["time_window"] >= -1e-6 for e in edges)
    assert report["unassigned"] == []


# -- unassigned clients ---------------------------------------------------------------------------------------


def reason(p: Problem, sol: Solution, client: str):
    (entry,) = [u for u in explain_unassigned(p, sol) if u.client == client]
    return entry


def test_unassigned_prize_too_small():
    p = problem(Client("o", (1, 0), prize=1.0, required=False), Client("b", (0, 2)))
    entry = reason(p, plan(p, ("b",)), "o")
    assert (entry.reason, entry.constraint) == ("prize", "prize")
    assert entry.amount == pytest.approx(math.sqrt(5) - 2)
    assert entry.insertion["route"] == 0 and entry.insertion["position"] == 0 and entry.insertion["after"] == "D"
    assert entry.insertion["cost_delta"] == pytest.approx(math.sqrt(5) - 1, abs=1e-6)
    assert entry.insertion["feasible"] is True
    # A prize of 3 pays for it: the plan could do better.
    rich = problem(Client("o", (1, 0), prize=3.0, required=False), Client("b", (0, 2)))
    better = reason(rich, plan(rich, ("b",)), "o")
    assert better.reason == "improvable" and better.amount == pytest.approx(4 - math.sqrt(5))


def test_unassigned_window_unreachable_from_every_depot():
    p = problem(Client("w", (10, 0), time_windows=((0, 5),)), Client("b", (1, 0)))
    entry = reason(p, plan(p, ("b",)), "w")
    assert (entry.reason, entry.constraint, entry.amount) == ("no_vehicle", "time_window", 5)
    assert entry.message == "client w: time window closes at 5 before any vehicle can arrive (earliest arrival 10)"


def test_unassigned_delivery_larger_than_every_vehicle():
    p = problem(Client("big", (1, 0), delivery=30), types=(VehicleType("s", capacity=10),
                                                           VehicleType("l", capacity=20)))
    entry = reason(p, Solution(()), "big")
    assert (entry.reason, entry.constraint, entry.amount) == ("no_vehicle", "capacity", 10)
    assert entry.message == "client big: delivery 30 exceeds every vehicle's capacity (largest 20)"


def test_unassigned_fleet_too_small():
    # One vehicle of capacity 10 carries a (6); b (6) would fit a vehicle of its own, but there is none.
    p = problem(Client("a", (1, 0), delivery=6), Client("b", (2, 0), delivery=6),
                types=(VehicleType("v", count=1, capacity=10),))
    entry = reason(p, plan(p, ("a",)), "b")
    assert (entry.reason, entry.constraint, entry.amount) == ("fleet_size", "capacity", 2)
    assert entry.insertion["feasible"] is False and entry.insertion["cost_delta"] == 2
    assert entry.insertion["violations"] == [{"constraint": "capacity", "route": 0, "client": None, "amount": 2}]


def test_unassigned_shift_too_short():
    # Out to 6 and back is 12 > the shift's end at 10.
    p = problem(Client("s", (6, 0)), types=(VehicleType("v", shift=(0, 10)),))
    entry = reason(p, Solution(()), "s")
    assert (entry.reason, entry.constraint, entry.amount) == ("no_vehicle", "shift", 2)


def test_required_client_left_out_with_a_feasible_insertion(line):
    # D-c2-c3-D is 6 long, and so is D-c1-c2-c3-D: c1 comes for free at the front.
    entry = reason(line, plan(line, ("c2", "c3")), "c1")
    assert (entry.reason, entry.constraint, entry.amount) == ("left_out", "missing_client", 0)
    assert entry.insertion["route"] == 0 and entry.insertion["position"] == 0


def test_every_client_of_an_empty_plan_is_explained(line):
    assert [u.client for u in explain_unassigned(line, Solution(()))] == ["c1", "c2", "c3"]


# -- counterfactuals ------------------------------------------------------------------------------------------


def windowed_line(count: int | None = None) -> Problem:
    """Depot at 0, c1, c2, c3 at 1, 2, 3; c2 must be served by 2.5; capacity 3."""
    clients = tuple(Client(f"c{i}", (i, 0), delivery=1, time_windows=((0, 2.5),) if i == 2 else ((0, math.inf),))
                    for i in (1, 2, 3))
    return problem(*clients, types=(VehicleType("v", capacity=3, count=count),))


def test_why_not_takes_a_second_vehicle_to_keep_c2_on_time():
    p = windowed_line()
    base = plan(p, ("c1", "c2", "c3"))
    answer = why_not(p, base, after="c1", alternative="c3", time_limit=1)
    cf = vrpkit.evaluate(p, answer.plan)
    assert cf.feasible
    # D-c1-c3-D (6) and D-c2-D (4) against D-c1-c2-c3-D (6).
    routes = {tuple(s["id"] for s in r["stops"]) for r in answer.plan["routes"]}
    assert routes == {("c1", "c3"), ("c2",)}
    assert answer.cost_delta == cf.cost - vrpkit.evaluate(p, base).cost == 4
    total = answer.terms["total"]
    assert total["distance"] == 4 and total["vehicles"] == 1 and total["cost"] == 4
    assert answer.terms["next_leg"] == {"from": "c1", "to": "c3", "instead_of": "c2", "distance": 1,
                                        "duration": 1, "cost": 1}
    assert answer.violations == ()


def test_why_not_reports_the_stop_that_becomes_late():
    p = windowed_line(count=1)
    base = plan(p, ("c1", "c2", "c3"))
    answer = why_not(p, base, after="c1", alternative="c3", time_limit=1)
    # One vehicle: c2 comes after c3, at 4 instead of by 2.5.
    assert [tuple(s["id"] for s in r["stops"]) for r in answer.plan["routes"]] == [("c1", "c3", "c2")]
    assert answer.violations == ({"constraint": "time_window", "route": 0, "client": "c2", "amount": 1.5},)
    assert answer.cost_delta == vrpkit.evaluate(p, answer.plan).cost - vrpkit.evaluate(p, base).cost == 0


def test_why_not_checks_its_arguments(line):
    base = plan(line, ("c1", "c2", "c3"))
    with pytest.raises(vrpkit.ValidationError, match="already goes c1 -> c2"):
        why_not(line, base, after="c1", alternative="c2")
    with pytest.raises(vrpkit.ValidationError, match="served before c2"):
        why_not(line, base, after="c2", alternative="c1")
    with pytest.raises(vrpkit.ValidationError, match="not a client id"):
        why_not(line, base, after="c1", alternative="zz")


# -- the command ----------------------------------------------------------------------------------------------


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_explain_command_writes_the_report(tmp_path: Path):
    p = problem(Client("a", (1, 0), delivery=3), Client("b", (2, 0), delivery=3), Client("c", (-3, 0), delivery=1),
                Client("o", (0, 5), prize=1, required=False), types=(VehicleType("v", capacity=4),))
    problem_file = tmp_path / "p.json"
    problem_file.write_text(json.dumps(p.to_dict()))
    solution_file = tmp_path / "s.json"
    solution_file.write_text(json.dumps({"routes": [{"stops": ["a"]}, {"stops": ["b", "c"]}]}))
    out = tmp_path / "report.json"
    done = run_cli("explain", problem_file, solution_file, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "D -> b" in done.stdout and "capacity" in done.stdout and "prize" in done.stdout
    report = json.loads(out.read_text())
    assert [e["intention"] for e in report["routes"][1]["edges"]] == ["capacity", "capacity", "return"]
    assert report["unassigned"][0]["client"] == "o" and report["unassigned"][0]["reason"] == "prize"
    one = run_cli("explain", problem_file, solution_file, "--route", "1", "-o", out)
    assert one.returncode == 0 and [r["route"] for r in json.loads(out.read_text())["routes"]] == [1]

    bad = run_cli("explain", problem_file, solution_file, "--why-not", "c")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --after") and "Traceback" not in bad.stderr
    bad = run_cli("explain", problem_file, solution_file, "--route", "7")
    assert bad.returncode == 2 and bad.stderr == "error: --route: 7 is not a route of the plan (0 to 1)\n"
    bad = run_cli("explain", problem_file, solution_file, "--why-not", "zz", "--after", "a")
    assert bad.returncode == 2 and bad.stderr == 'error: --why-not: "zz" is not a client id\n'


def test_explain_command_why_not_and_map(tmp_path: Path):
    p = windowed_line()
    problem_file = tmp_path / "p.json"
    problem_file.write_text(json.dumps(p.to_dict()))
    solution_file = tmp_path / "s.json"
    solution_file.write_text(json.dumps({"routes": [{"stops": ["c1", "c2", "c3"]}]}))
    out, page = tmp_path / "report.json", tmp_path / "explain.html"
    done = run_cli("explain", problem_file, solution_file, "--why-not", "c3", "--after", "c1", "-o", out,
                   "--map", page)
    assert done.returncode == 0, done.stderr
    assert "why not c1 -> c3?" in done.stdout
    assert "Going c1 -> c3 changes the cost by 4 (10 instead of 6); uses +1 vehicle." in done.stdout
    counter = json.loads(out.read_text())["why_not"]
    assert (counter["after"], counter["alternative"], counter["cost_delta"]) == ("c1", "c3", 4)
    assert set(counter) >= {"after", "alternative", "plan", "cost_delta", "terms", "violations"}
    assert counter["terms"]["total"]["vehicles"] == 1 and counter["violations"] == []
    cf_file = tmp_path / "cf.json"
    cf_file.write_text(json.dumps(counter["plan"]))
    checked = run_cli("evaluate", problem_file, cf_file)
    assert checked.returncode == 0 and "status: feasible" in checked.stdout
    assert page.read_text().count("vrpkit-intention-") >= 1


def test_unassigned_when_no_vehicle_can_leave_its_depot():
    # The shift starts at 10; the depot closes at 5.
    p = Problem("p", depots=(Depot("D", (0, 0), (0, 5)),), clients=(Client("a", (1, 0)),),
                vehicle_types=(VehicleType("v", shift=(10, 20)),))
    entry = reason(p, Solution(()), "a")
    assert (entry.reason, entry.constraint, entry.amount) == ("no_vehicle", "shift", 5)
    assert entry.message == ("client a: no vehicle can leave its depot within its shift and the depot's opening "
                             "hours (short by 5 at least)")


def test_time_window_with_several_windows_waits_for_the_next_open_one():
    # a's first window closes at 0.5, before anyone arrives (at 1): it waits for the second, at 10, and b at 3
    # (closing at 4) would be late. With a first window still open on arrival, going to a first is on time.
    b = Client("b", (3, 0), time_windows=((0, 4),))
    late = problem(Client("a", (1, 0), time_windows=((0, 0.5), (10, 20))), b)
    assert labels(late, plan(late, ("b", "a")))[0][0] == ("D", "b", "time_window")
    fine = problem(Client("a", (1, 0), time_windows=((0, 1.5), (10, 20))), b)
    assert labels(fine, plan(fine, ("b", "a")))[0][0] == ("D", "b", "lookahead")
