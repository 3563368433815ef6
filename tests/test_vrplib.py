"""VRPLIB, Solomon and .sol files: tiny hand-made files with exact numbers, error paths, and every BKS of the
shared benchmark data recomputed by the evaluator."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest

from vrpkit import InputError, Problem, Route, Solution, ValidationError, evaluate
from vrpkit.io import read_problem
from vrpkit.io.vrplib import (
    detect_format,
    read_sol,
    read_solomon,
    read_vrplib,
    sol_convention,
    sol_cost_matches,
    sol_cost_scale,
    write_sol,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
X_DIR = DATA / "cvrplib" / "X"
SOLOMON_DIR = DATA / "solomon"
VARIANTS_DIR = DATA / "variants"
OWN = Path(__file__).resolve().parent / "data"
"""Our own small files in PyVRP's VRPLIB dialect."""
PYVRP_DATA = Path(os.environ["VRPKIT_PYVRP_DATA"]) if "VRPKIT_PYVRP_DATA" in os.environ else None
"""PyVRP's ``tests/data`` folder when ``$VRPKIT_PYVRP_DATA`` names it (not bundled; the tests that read it skip
otherwise)."""


def _files(folder: Path, pattern: str) -> list:
    """Files for parametrisation; one skipped case when the shared data is absent."""
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared data not found: {folder}"))]
    return [pytest.param(f, id=f.stem) for f in files]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# A depot at (0, 0) and three clients: 1 at (3, 4), 2 at (6, 0), 3 at (1, 1).
# Edges: 0-1 = 5, 0-2 = 6, 0-3 = sqrt 2 = 1.414 (-> 1), 1-2 = 5, 1-3 = sqrt 13 = 3.606 (-> 4),
# 2-3 = sqrt 26 = 5.099 (-> 5).
TINY = """NAME : tiny
COMMENT : hand-made
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 0
4 1 1
DEMAND_SECTION
1 0
2 4
3 5
4 3
DEPOT_SECTION
1
-1
EOF
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return _write(tmp_path, "tiny.vrp", TINY)


def test_tiny_vrp(tiny: Path) -> None:
    problem = read_vrplib(tiny)
    assert problem.name == "tiny"
    assert [d.id for d in problem.depots] == ["0"]
    assert [c.id for c in problem.clients] == ["1", "2", "3"]
    assert [c.delivery for c in problem.clients] == [(4,), (5,), (3,)]
    assert problem.clients[0].location == (3.0, 4.0)
    assert dict(problem.matrix) == {"provider": "euclidean", "round": "nearest"}
    expected = [[0, 5, 6, 1], [5, 0, 5, 4], [6, 5, 0, 5], [1, 4, 5, 0]]
    assert problem.distance.tolist() == expected
    assert problem.duration.tolist() == expected
    (vt,) = problem.vehicle_types
    assert vt.count is None and vt.capacity == (10,) and vt.id == "vehicle"
    assert problem.variant == "CVRP"


def test_tiny_sol_and_cost(tiny: Path, tmp_path: Path) -> None:
    problem = read_vrplib(tiny)
    sol = _write(tmp_path, "tiny.sol", "Route #1: 1 3\nRoute #2: 2\nCost 22\n")
    solution = read_sol(sol, problem)
    assert solution.routes == (Route(0, (0, 2)), Route(0, (1,)))
    assert solution.stats["cost"] == 22
    evaluation = evaluate(problem, solution)
    # 0-1-3-0: 5 + 4 + 1 = 10, 0-2-0: 12; loads 7 and 5 fit capacity 10.
    assert evaluation.feasible and evaluation.cost == 22


def test_write_sol_round_trip(tiny: Path, tmp_path: Path) -> None:
    problem = read_vrplib(tiny)
    plan = Solution((Route(0, (2, 0)), Route(0, (1,))))
    out = tmp_path / "out.sol"
    write_sol(out, problem, plan)
    assert out.read_text() == "Route #1: 3 1\nRoute #2: 2\nCost 22\n"
    back = read_sol(out, problem)
    assert back.routes == plan.routes and back.stats["cost"] == 22
    write_sol(out, problem, evaluate(problem, plan), cost_scale=10)
    assert out.read_text().endswith("Cost 220\n")


def test_round_option_and_read_problem(tiny: Path) -> None:
    problem = read_vrplib(tiny, round="none")
    assert problem.distance[0, 3] == pytest.approx(math.sqrt(2))
    assert read_problem(tiny).distance.tolist() == read_vrplib(tiny).distance.tolist()
    with pytest.raises(ValidationError, match='round: "up" is not one of none, nearest, dimacs, exact'):
        read_vrplib(tiny, round="up")


def test_explicit_lower_row_depot_not_first(tmp_path: Path) -> None:
    # Nodes 1, 2, 3 with the depot at node 2: lower row d21 = 7, d31 = 3, d32 = 4.
    text = """NAME : explicit
TYPE : CVRP
DIMENSION : 3
EDGE_WEIGHT_TYPE : EXPLICIT
EDGE_WEIGHT_FORMAT : LOWER_ROW
CAPACITY : 5
VEHICLES : 2
EDGE_WEIGHT_SECTION
7
3 4
DEMAND_SECTION
1 2
2 0
3 1
DEPOT_SECTION
2
-1
EOF
"""
    problem = read_vrplib(_write(tmp_path, "e.vrp", text))
    assert [d.id for d in problem.depots] == ["1"]
    assert [c.id for c in problem.clients] == ["0", "2"]
    assert problem.locations is None
    # Our node order: depot (file node 2), then file nodes 1 and 3.
    assert problem.distance.tolist() == [[0, 7, 4], [7, 0, 3], [4, 3, 0]]
    assert problem.vehicle_types[0].count == 2
    assert dict(problem.matrix) == {"provider": "explicit"}
    evaluation = evaluate(problem, Solution.from_lists([[0, 1]]))
    assert evaluation.cost == 7 + 3 + 4


# A PyVRP-dialect file: 2 depots, 3 vehicles (two at depot 1, one at depot 2 with other costs), time
# windows, service times, prizes and a maximum duration.
DIALECT = """NAME : dialect
TYPE : MDVRPTW
DIMENSION : 5
VEHICLES : 3
EDGE_WEIGHT_TYPE : EUC_2D
VEHICLES_MAX_DURATION : 100
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 3
4 10 4
5 5 0
DEMAND_SECTION
1 0
2 0
3 2
4 3
5 1
CAPACITY_SECTION
1 5
2 5
3 8
VEHICLES_DEPOT_SECTION
1 1
2 1
3 2
VEHICLES_FIXED_COST_SECTION
1 100
2 100
3 300
TIME_WINDOW_SECTION
1 0 50
2 0 60
3 0 10
4 5 20
5 0 40
SERVICE_TIME_SECTION
1 0
2 0
3 1
4 2
5 0
PRIZE_SECTION
1 0
2 0
3 0
4 0
5 7
DEPOT_SECTION
1
2
-1
EOF
"""


def test_dialect_fleet_windows_prizes(tmp_path: Path) -> None:
    problem = read_vrplib(_write(tmp_path, "d.vrp", DIALECT))
    assert [d.id for d in problem.depots] == ["0", "1"]
    assert problem.depots[1].time_window == (0.0, 60.0)
    assert [c.id for c in problem.clients] == ["2", "3", "4"]
    assert [vt.id for vt in problem.vehicle_types] == ["1-2", "3"]
    first, second = problem.vehicle_types
    assert (first.count, first.capacity, first.start_depot, first.fixed_cost) == (2, (5,), "0", 100.0)
    assert (second.count, second.capacity, second.start_depot, second.fixed_cost) == (1, (8,), "1", 300.0)
    assert first.max_duration == second.max_duration == 100.0
    assert dict(problem.matrix) == {"provider": "euclidean", "round": "exact"}
    assert [c.time_windows for c in problem.clients] == [((0.0, 10.0),), ((5.0, 20.0),), ((0.0, 40.0),)]
    assert problem.service_time.tolist() == [1.0, 2.0, 0.0]
    assert problem.required.tolist() == [True, True, False]
    assert problem.prize.tolist() == [0.0, 0.0, 7.0]
    assert problem.attributes >= {"multi_depot", "time_windows", "prizes", "duration_limit"}

    # Route #1 (vehicle 1, depot 0): client 2 at (0, 3): 3 + 3 = 6; route #3 (vehicle 3, depot 1): client
    # 3 at (10, 4): 4 + 4 = 8. Client 4 is left out: prize 7. Cost 100 + 6 + 300 + 8 + 7 = 421.
    sol = _write(tmp_path, "d.sol", "Route #1: 2\nRoute #2:\nRoute #3: 3\nCost: 421000\n")
    solution = read_sol(sol, problem)
    assert solution.routes == (Route(0, (0,)), Route(1, (1,)))
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible
    assert evaluation.cost == 421.0
    assert evaluation.cost * sol_cost_scale("MDVRPTW") == solution.stats["cost"]

    out = tmp_path / "back.sol"
    write_sol(out, problem, evaluation)
    assert out.read_text() == "Route #1: 2\nRoute #3: 3\nCost 421\n"
    assert read_sol(out, problem).routes == solution.routes
    with pytest.raises(InputError, match="only 3 vehicles"):
        read_sol(_write(tmp_path, "bad.sol", "Route #4: 2\n"), problem)


def test_hfvrp_costs_divided_by_100(tmp_path: Path) -> None:
    text = DIALECT.replace("TYPE : MDVRPTW", "TYPE : HFVRP")
    problem = read_vrplib(_write(tmp_path, "h.vrp", text))
    assert [vt.fixed_cost for vt in problem.vehicle_types] == [1.0, 3.0]
    assert dict(problem.matrix) == {"provider": "euclidean", "round": "none"}
    assert read_vrplib(tmp_path / "h.vrp", cost_divisor=1).vehicle_types[1].fixed_cost == 300.0


def test_backhaul_is_strict(tmp_path: Path) -> None:
    text = TINY.replace("TYPE : CVRP", "TYPE : VRPB").replace(
        "DEPOT_SECTION", "BACKHAUL_SECTION\n1 0\n2 0\n3 0\n4 2\nDEPOT_SECTION"
    ).replace("4 3\nBACKHAUL", "4 0\nBACKHAUL")
    problem = read_vrplib(_write(tmp_path, "b.vrp", text))
    assert problem.backhaul == "strict"
    assert problem.pickup[:, 0].tolist() == [0, 0, 2]
    assert problem.variant == "VRPB"
    # Backhaul client 3 before linehaul client 1 breaks the order.
    evaluation = evaluate(problem, Solution.from_lists([[2, 0], [1]]))
    assert [v.constraint for v in evaluation.violations] == ["backhaul_order"]
    assert evaluate(problem, Solution.from_lists([[0, 2], [1]])).feasible


def test_cvrplib_distance_and_service_time(tmp_path: Path) -> None:
    """CVRPLIB's DISTANCE bounds a route's length with service times included: a maximum duration."""
    text = TINY.replace("CAPACITY : 10", "CAPACITY : 10\nDISTANCE : 12\nSERVICE_TIME : 1")
    problem = read_vrplib(_write(tmp_path, "d.vrp", text))
    assert problem.vehicle_types[0].max_duration == 12.0
    assert problem.service_time.tolist() == [1.0, 1.0, 1.0]
    # 0-2-0: 12 travel + 1 service = 13 > 12; 0-1-3-0: 10 + 2 = 12 fits.
    evaluation = evaluate(problem, Solution.from_lists([[0, 2], [1]]))
    assert [(v.constraint, v.amount, v.route) for v in evaluation.violations] == [("max_duration", 1.0, 1)]
    assert evaluation.distance == 22


# -- errors ------------------------------------------------------------------------------------------------


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.vrp: no such file"):
        read_vrplib(tmp_path / "nope.vrp")
    with pytest.raises(InputError, match=r"nope\.txt: no such file"):
        read_solomon(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="the file is empty"):
        read_vrplib(_write(tmp_path, "empty.vrp", "\n  \n"))
    with pytest.raises(InputError, match="the file is empty"):
        read_solomon(_write(tmp_path, "empty.txt", ""))
    with pytest.raises(InputError, match="is a directory"):
        read_vrplib(tmp_path)


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        ("DEMAND_SECTION", "DEMAND_SECTION has 0 rows, DIMENSION is 4"),
        ("3 6 0\n", "NODE_COORD_SECTION has 3 rows, DIMENSION is 4"),
        ("3 6", "NODE_COORD_SECTION: rows have different numbers of values"),
        ("DEPOT_SECTION\n", "DEPOT_SECTION lists no depot"),
        ("DIMENSION : 4\n", "no EDGE_WEIGHT_TYPE given"),
        ("NAME : tiny\nCOMMENT", "not a valid VRPLIB file"),
    ],
)
def test_truncated_vrp(tmp_path: Path, cut: str, message: str) -> None:
    text = TINY[: TINY.index(cut) + len(cut)]
    with pytest.raises(InputError, match=message):
        read_vrplib(_write(tmp_path, "cut.vrp", text))


def test_unknown_and_unsupported_features(tmp_path: Path) -> None:
    cases = {
        "section MUTUALLY_EXCLUSIVE_GROUP_SECTION is not supported": TINY.replace(
            "DEPOT_SECTION", "MUTUALLY_EXCLUSIVE_GROUP_SECTION\n1 2 3\nDEPOT_SECTION"),
        "section FOO_SECTION is not supported": TINY.replace("DEPOT_SECTION", "FOO_SECTION\n1 1\nDEPOT_SECTION"),
        "specification COLOUR is not supported": TINY.replace("CAPACITY : 10", "CAPACITY : 10\nCOLOUR : red"),
        "EDGE_WEIGHT_TYPE GEO is not supported": TINY.replace("EUC_2D", "GEO"),
        "EDGE_WEIGHT_TYPE EXPLICIT with EDGE_WEIGHT_FORMAT UPPER_ROW is not supported": TINY.replace(
            "EDGE_WEIGHT_TYPE : EUC_2D", "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : UPPER_ROW").replace(
            "NODE_COORD_SECTION", "EDGE_WEIGHT_SECTION\n5 6 1\n5 4\n5\nNODE_COORD_SECTION"),
        "DEMAND_SECTION: depot 1 has a non-zero value": TINY.replace("1 0\n2 4", "1 3\n2 4"),
        "VEHICLES 0 is not a positive integer": TINY.replace("CAPACITY : 10", "CAPACITY : 10\nVEHICLES : 0"),
    }
    for message, text in cases.items():
        with pytest.raises(InputError, match=message):
            read_vrplib(_write(tmp_path, "f.vrp", text))


def test_bad_values_are_input_errors(tmp_path: Path) -> None:
    # A time window that ends before it starts is named by the model's field path.
    text = TINY.replace("DEPOT_SECTION", "TIME_WINDOW_SECTION\n1 0 100\n2 9 3\n3 0 9\n4 0 9\nDEPOT_SECTION")
    with pytest.raises(InputError, match=r"clients\[0\]\.time_window: start 9 > end 3"):
        read_vrplib(_write(tmp_path, "tw.vrp", text))


SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       100          0
    1      3         4          4         10        20          2
    2      1         1          3          0        50          1
"""


def test_tiny_solomon(tmp_path: Path) -> None:
    problem = read_problem(_write(tmp_path, "tiny.txt", SOLOMON))
    assert problem.name == "TINY"
    assert problem.depots[0].id == "0" and problem.depots[0].time_window == (0.0, 100.0)
    assert [c.id for c in problem.clients] == ["1", "2"]
    assert problem.clients[0].time_windows == ((10.0, 20.0),)
    assert problem.service_time.tolist() == [2.0, 1.0]
    (vt,) = problem.vehicle_types
    assert (vt.count, vt.capacity) == (2, (10,))
    assert problem.distance[0, 2] == pytest.approx(math.sqrt(2))  # unrounded
    assert problem.duration is problem.distance or (problem.duration == problem.distance).all()
    sol = _write(tmp_path, "tiny.sol", "Route #1: 2 1\nCost 13.02\n")
    evaluation = evaluate(problem, read_sol(sol, problem))
    # 0-2-1-0: sqrt 2 + sqrt 13 + 5.
    assert evaluation.feasible
    assert evaluation.cost == pytest.approx(math.sqrt(2) + math.sqrt(13) + 5, abs=1e-12)


def test_bad_solomon(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a valid Solomon instance"):
        read_solomon(_write(tmp_path, "a.txt", "TINY\n\nnothing here\n"))
    with pytest.raises(InputError, match="CUSTOMER row 3 has 3 values instead of 7"):
        read_solomon(_write(tmp_path, "b.txt", SOLOMON[: SOLOMON.rindex("          3")]))


def test_bad_sol(tiny: Path, tmp_path: Path) -> None:
    problem = read_vrplib(tiny)
    with pytest.raises(InputError, match="9 is not a client"):
        read_sol(_write(tmp_path, "a.sol", "Route #1: 1 9\n"), problem)
    # A depot ending a route is an empty trip back to where the vehicle ends anyway: left out.
    assert read_sol(_write(tmp_path, "b.sol", "Route #1: 1 2 0\n"), problem).routes == (Route(0, (0, 1)),)
    with pytest.raises(InputError, match=r"b\.sol:2: expected 'Route #k"):
        read_sol(_write(tmp_path, "b.sol", "Route #1: 1\nnonsense\n"), problem)
    with pytest.raises(InputError, match="no such file"):
        read_sol(tmp_path / "none.sol", problem)


# -- the shared benchmark data -----------------------------------------------------------------------------


def _bks(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {row["instance"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("path", _files(X_DIR, "X-n*.vrp"))
def test_x_bks(path: Path) -> None:
    bks = int(_bks(X_DIR / "bks.csv")[path.stem]["bks"])
    problem = read_vrplib(path)
    solution = read_sol(path.with_suffix(".sol"), problem)
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible, evaluation.violations[:3]
    assert evaluation.cost == bks == solution.stats["cost"]


@pytest.mark.parametrize("path", _files(SOLOMON_DIR, "*.txt"))
def test_solomon_bks(path: Path) -> None:
    row = _bks(SOLOMON_DIR / "bks.csv")[path.stem]
    problem = read_solomon(path)
    solution = read_sol(SOLOMON_DIR / "solutions" / f"{path.stem}.sol", problem)
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible, evaluation.violations[:3]
    assert f"{evaluation.cost:.4f}" == row["distance"]
    assert evaluation.n_vehicles == int(row["vehicles"])
    assert sol_convention(path) == (None, 1.0) and sol_cost_matches(solution.stats["cost"], evaluation.cost)


@pytest.mark.parametrize("path", _files(VARIANTS_DIR, "*/*.vrp"))
def test_variant_bks(path: Path) -> None:
    kind = path.parent.name
    problem = read_vrplib(path)
    solution = read_sol(path.with_suffix(".sol"), problem)
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible, evaluation.violations[:3]
    cost = evaluation.cost * sol_cost_scale(kind)
    expected = solution.stats["cost"]
    assert sol_convention(path, expected) == (None, sol_cost_scale(kind))
    assert sol_cost_matches(expected, evaluation.cost, sol_cost_scale(kind))
    if kind == "HFVRP":  # original units, printed to 2 decimals
        assert round(cost, 2) == expected
    else:  # integers in the set's scaled units
        assert isinstance(expected, int)
        assert cost == pytest.approx(expected, abs=1e-6)
    expected_variant = {"VRPB": "VRPB", "HFVRP": "HFVRP", "MDVRPTW": "MDVRPLTW", "PCVRPTW": "PCVRPTW"}
    assert problem.variant == expected_variant[kind]


def test_variant_sol_vehicle_mapping() -> None:
    """Route #k is driven by vehicle k: X110-HD has 13 vehicles of 9 kinds; vehicle 5 is unused."""
    path = VARIANTS_DIR / "HFVRP" / "X110-HD.vrp"
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    problem = read_vrplib(path)
    assert [(vt.id, vt.count, vt.capacity[0], vt.cost_per_distance) for vt in problem.vehicle_types] == [
        ("1-2", 2, 30, 0.59), ("3", 1, 36, 0.67), ("4", 1, 42, 0.77), ("5", 1, 50, 0.88), ("6", 1, 60, 1.0),
        ("7-8", 2, 71, 1.13), ("9-10", 2, 85, 1.29), ("11-12", 2, 101, 1.46), ("13", 1, 120, 1.66),
    ]
    solution = read_sol(path.with_suffix(".sol"), problem)
    # Routes #1 ... #13 without #5 (empty) -> vehicles 1, 2, 3, 4, 6, 7, ..., 13.
    assert [r.vehicle_type for r in solution.routes] == [0, 0, 1, 2, 4, 5, 5, 6, 6, 7, 7, 8]
    assert solution.routes[0].clients[:2] == (problem.client_index["68"], problem.client_index["41"])


def _round_trip(problem: Problem) -> None:
    back = Problem.from_dict(problem.to_dict())
    assert np.array_equal(back.distance, problem.distance)
    assert np.array_equal(back.duration, problem.duration)
    assert back.depots == problem.depots
    assert back.clients == problem.clients
    assert back.vehicle_types == problem.vehicle_types
    assert (back.name, back.backhaul, dict(back.matrix)) == (problem.name, problem.backhaul, dict(problem.matrix))


def test_json_round_trip_x_and_solomon() -> None:
    x, solomon = X_DIR / "X-n101-k25.vrp", SOLOMON_DIR / "R101.txt"
    if not (x.exists() and solomon.exists()):
        pytest.skip("shared data not found")
    _round_trip(read_vrplib(x))
    _round_trip(read_solomon(solomon))


def test_write_sol_x_round_trip(tmp_path: Path) -> None:
    path = X_DIR / "X-n101-k25.vrp"
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    problem = read_vrplib(path)
    solution = read_sol(path.with_suffix(".sol"), problem)
    out = tmp_path / "x.sol"
    write_sol(out, problem, solution)
    assert out.read_text() == path.with_suffix(".sol").read_text().replace("\r\n", "\n")


# -- PyVRP's dialect: format by content, no depot section, pickup and delivery, rounding, .sol units ---------


def test_format_from_content_whatever_the_suffix(tmp_path: Path) -> None:
    """A VRPLIB file named .txt (as PyVRP names them) is VRPLIB; a Solomon file named .vrp is Solomon."""
    assert detect_format((OWN / "small_vrplib.txt").read_text()) == "vrplib"
    assert detect_format(SOLOMON) == "solomon"
    assert detect_format("hello\nworld\n") is None
    assert detect_format(SOLOMON.replace("TINY", "TINY: a name line with a colon")) == "solomon"
    assert detect_format("NAME : cut\nDIMENSION : 4\n") == "vrplib"  # cut before its first section
    problem = read_problem(OWN / "small_vrplib.txt")
    assert (problem.name, problem.variant) == ("small", "VRPTW")
    assert problem.distance.tolist() == [[0, 4, 6, 5], [3, 0, 2, 7], [6, 3, 0, 4], [5, 6, 2, 0]]
    assert problem.service_time.tolist() == [2.0, 2.0, 1.0]
    assert problem.vehicle_types[0].count == 2
    # 0-1-2-0: 4 + 2 + 6 = 12 (arrive 4 in [0, 10], leave 6, arrive 8 in [5, 20]); 0-3-0: 5 + 5 = 10.
    evaluation = evaluate(problem, read_sol(OWN / "small_vrplib.sol", problem))
    assert evaluation.feasible and evaluation.cost == 22
    solomon = read_problem(_write(tmp_path, "tiny.vrp", SOLOMON))
    assert solomon.name == "TINY" and solomon.n_clients == 2
    with pytest.raises(InputError, match=r"p\.dat: unknown format '\.dat': neither VRPLIB"):
        read_problem(_write(tmp_path, "p.dat", "hello\nworld\n"))


def test_no_depot_section_first_node_is_the_depot() -> None:
    problem = read_problem(OWN / "no_depot.tsp")
    assert [d.id for d in problem.depots] == ["0"] and problem.depots[0].location == (0.0, 0.0)
    assert [c.id for c in problem.clients] == ["1", "2", "3"]
    assert problem.vehicle_types[0].count == 1
    # Around the 3 x 4 rectangle: 3 + 4 + 3 + 4 = 14; across it: 5 + 4 + 5 + 4 = 18.
    solution = read_sol(OWN / "no_depot.sol", problem)
    assert evaluate(problem, solution).cost == 14 == solution.stats["cost"]
    assert evaluate(problem, Solution.from_lists([[1, 0, 2]])).cost == 18


def test_simultaneous_pickup_and_delivery_is_mixed_backhaul() -> None:
    """VRPSPD: LINEHAUL_SECTION deliveries, BACKHAUL_SECTION pickups, client 3 has both; any order."""
    problem = read_problem(OWN / "small_vrpspd.vrp")
    assert problem.backhaul == "mixed" and problem.variant == "VRPMB"
    assert [d.id for d in problem.depots] == ["0"]
    assert problem.delivery[:, 0].tolist() == [6, 0, 4]
    assert problem.pickup[:, 0].tolist() == [0, 5, 3]
    # 0-1-2-3-0: leaves with 10, then 4, 9, 8 on board; distance 2 + 1 + 2 + 4 = 9.
    good = evaluate(problem, Solution.from_lists([[0, 1, 2]]))
    assert good.feasible and good.cost == 9
    # 0-2-1-3-0: the pickup of 5 comes while all 10 deliveries are on board.
    bad = evaluate(problem, Solution.from_lists([[1, 0, 2]]))
    assert [(v.constraint, v.amount) for v in bad.violations] == [("capacity", 5)]
    assert not bad.feasible and bad.distance == 3 + 1 + 3 + 4


def test_backhaul_strict_only_for_type_vrpb(tmp_path: Path) -> None:
    text = TINY.replace("DEPOT_SECTION", "BACKHAUL_SECTION\n1 0\n2 0\n3 0\n4 2\nDEPOT_SECTION").replace(
        "4 3\nBACKHAUL", "4 0\nBACKHAUL")
    assert read_vrplib(_write(tmp_path, "cvrp.vrp", text)).backhaul == "mixed"
    assert read_vrplib(_write(tmp_path, "b.vrp", text.replace("TYPE : CVRP", "TYPE : VRPB"))).backhaul == "strict"
    both = text.replace("TYPE : CVRP", "TYPE : VRPB").replace("4 0\nBACKHAUL", "4 1\nBACKHAUL")
    with pytest.raises(InputError, match=r"clients\[2\]\.pickup: with strict backhaul a client has a delivery"):
        read_vrplib(_write(tmp_path, "both.vrp", both))


@pytest.mark.parametrize(
    ("section", "rows"),
    [
        ("MUTUALLY_EXCLUSIVE_GROUP", None),  # the file in tests/data: rows of different lengths
        ("MUTUALLY_EXCLUSIVE_GROUP", "1 2 3\n2 4"),
        ("VEHICLE_GROUP", "1 1\n2 1"),
    ],
)
def test_unmodelled_sections_are_named_not_truncated(tmp_path: Path, section: str, rows: str | None) -> None:
    if rows is None:
        path = OWN / "vrplib_fleet" / "exclusive_groups.txt"
    else:
        text = (OWN / "small_vrplib.txt").read_text()
        added = f"{section}_SECTION\n{rows}\nDEPOT_SECTION"
        path = _write(tmp_path, "f.txt", text.replace("DEPOT_SECTION", added))
    with pytest.raises(InputError) as err:
        read_problem(path)
    assert str(err.value) == f"{path}: section {section}_SECTION is not supported"


def test_cvrptw_defaults_to_dimacs_and_round_overrides() -> None:
    """Depot (0, 0), client 1 at (1, 1), 2 at (1, 3): 0-1-2-0 is sqrt 2 + 2 + sqrt 10 = 6.5765 unrounded,
    1.4 + 2 + 3.1 = 6.5 under DIMACS (the .sol's cost) and 1 + 2 + 3 = 6 to the nearest integer."""
    path = OWN / "small_cvrptw.vrp"
    solution_file = OWN / "small_cvrptw.sol"
    costs = {}
    for rule in (None, "dimacs", "nearest", "none", "exact"):
        problem = read_problem(path, round=rule)
        costs[rule] = evaluate(problem, read_sol(solution_file, problem)).cost
    assert costs[None] == costs["dimacs"] == pytest.approx(6.5, abs=1e-12)
    assert costs["nearest"] == 6
    assert costs["none"] == pytest.approx(math.sqrt(2) + 2 + math.sqrt(10), abs=1e-12)
    assert costs["exact"] == pytest.approx(1.414 + 2 + 3.162, abs=1e-12)
    assert sol_cost_scale("CVRPTW") == sol_cost_scale("VRPTW") == 1.0
    stated = read_sol(solution_file, read_problem(path)).stats["cost"]
    assert sol_cost_matches(stated, costs[None]) and not sol_cost_matches(stated, costs["none"])


def test_round_on_other_edge_types_and_formats(tmp_path: Path) -> None:
    with pytest.raises(InputError, match='round "nearest" applies to EUC_2D edges; EDGE_WEIGHT_TYPE EXPLICIT '
                                         'has its own rule \\(round "none"\\)'):
        read_problem(OWN / "small_vrplib.txt", round="nearest")
    assert read_problem(OWN / "small_vrplib.txt", round="none").distance[0, 1] == 4
    solomon = read_problem(_write(tmp_path, "tiny.txt", SOLOMON), round="dimacs")
    assert dict(solomon.matrix) == {"provider": "euclidean", "round": "dimacs"}
    assert solomon.distance[0, 2] == 1.4  # sqrt 2 truncated
    with pytest.raises(ValidationError, match="round: applies to VRPLIB and Solomon files"):
        read_problem(_write(tmp_path, "p.json", "{}"), round="dimacs")


def test_sol_cost_units(tmp_path: Path) -> None:
    """Scales by TYPE; a .sol written in a file's units reads back with the same cost."""
    assert [sol_cost_scale(t) for t in ("CVRP", "VRPTW", "CVRPTW", "PCVRPTW", "MDVRPTW", "TSP", None)] == [
        1, 1, 1, 10, 1000, 1, 1]
    assert sol_convention(OWN / "small_cvrptw.vrp") == (None, 1.0)
    assert sol_convention(_write(tmp_path, "d.txt", DIALECT)) == (None, 1000.0)
    assert sol_convention(_write(tmp_path, "s.vrp", SOLOMON)) == (None, 1.0)
    hfvrp = _write(tmp_path, "h.vrp", DIALECT.replace("TYPE : MDVRPTW", "TYPE : HFVRP"))
    assert sol_convention(hfvrp, 4.21) == (None, 1.0)
    assert sol_convention(hfvrp, 421000) == ("exact", 100_000.0)  # PyVRP's integer objective
    assert sol_cost_matches(6655548, 6655.5481, 1000) and not sol_cost_matches(6655548, 6655.549, 1000)
    assert sol_cost_matches(79035.62, 79035.6249) and not sol_cost_matches(79035.62, 79035.626)
    problem = read_vrplib(tmp_path / "d.txt")
    plan = Solution((Route(0, (0,)), Route(1, (1,))))
    out = tmp_path / "d.sol"
    write_sol(out, problem, plan, cost_scale=sol_convention(tmp_path / "d.txt")[1])
    assert out.read_text().endswith("Cost 421000\n")
    back = read_sol(out, problem)
    assert back.routes == plan.routes
    assert sol_cost_matches(back.stats["cost"], evaluate(problem, back).cost, 1000)


def _pyvrp_file(name: str) -> Path:
    if PYVRP_DATA is None or not (PYVRP_DATA / name).exists():
        pytest.skip(f"PyVRP's test data not found: set VRPKIT_PYVRP_DATA to its tests/data folder ({name})")
    return PYVRP_DATA / name


def test_pyvrp_rc208_sol_under_dimacs() -> None:
    path = _pyvrp_file("RC208.vrp")
    problem = read_problem(path)
    solution = read_sol(path.with_suffix(".sol"), problem)
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible and solution.stats["cost"] == 776.1
    assert sol_convention(path, 776.1) == (None, 1.0) and sol_cost_matches(776.1, evaluation.cost)
    assert not sol_cost_matches(776.1, evaluate(read_problem(path, round="none"), solution).cost)


@pytest.mark.parametrize(("name", "variant"), [("OkSmall.txt", "VRPTW"), ("E-n22-k4.txt", "CVRP"),
                                               ("SmallVRPSPD.vrp", "VRPMB"), ("pr107.tsp", "VRP")])
def test_pyvrp_files_read(name: str, variant: str) -> None:
    assert read_problem(_pyvrp_file(name)).variant == variant
