"""Service territories (:mod:`vrpkit.territories`): the balanced clustering underneath, territories that fit
capacity and shift, several depots and a mixed fleet, the binary baseline, and ``vrpkit territories``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vrpkit import Client, Depot, NoSolutionError, Problem, ValidationError, VehicleType
from vrpkit.territories import METHODS, build_territories, cluster, lower_bound


def points(xy, *, depots=((0.0, 0.0),), delivery=1, vehicle_types=None, **client) -> Problem:
    """Clients ``c0, c1, ...`` at ``xy`` (delivery ``delivery`` each, or one per client), depots ``D0, ...``."""
    deliveries = delivery if isinstance(delivery, list) else [delivery] * len(xy)
    clients = tuple(Client(f"c{i}", tuple(map(float, p)), delivery=q, **client)
                    for i, (p, q) in enumerate(zip(xy, deliveries, strict=True)))
    deps = tuple(Depot(f"D{d}", tuple(map(float, p))) for d, p in enumerate(depots))
    return Problem("pts", deps, clients, vehicle_types or (VehicleType("v", capacity=10),))


def explicit(problem: Problem) -> Problem:
    """``problem`` without locations, its distance matrix given explicitly."""
    return Problem(problem.name, tuple(Depot(d.id) for d in problem.depots),
                   tuple(Client(c.id, delivery=c.delivery) for c in problem.clients), problem.vehicle_types,
                   distance=np.array(problem.distance))


TWO_GROUPS = [(0, 0), (1, 0), (0, 1), (100, 0), (101, 0), (100, 1)]
"""Three clients near (0, 0) and three near (100, 0)."""


def same_partition(labels, expected) -> bool:
    """True when ``labels`` group the clients as ``expected`` does (whatever the label numbers)."""
    pairs = {(int(a), int(b)) for a, b in zip(labels, expected, strict=True)}
    return len(pairs) == len(set(expected)) == len({a for a, _ in pairs})


@pytest.mark.parametrize("metric", ["coordinates", "matrix", "auto"])
def test_two_obvious_groups(metric) -> None:
    labels = cluster(points(TWO_GROUPS), 2, metric=metric)
    assert labels.dtype == np.int64
    assert same_partition(labels, [0, 0, 0, 1, 1, 1])


def test_matrix_without_coordinates() -> None:
    p = explicit(points(TWO_GROUPS))
    assert p.locations is None
    assert same_partition(cluster(p, 2), [0, 0, 0, 1, 1, 1])
    with pytest.raises(ValidationError, match="metric"):
        cluster(p, 2, metric="coordinates")


@pytest.mark.parametrize("metric", ["coordinates", "matrix"])
def test_the_default_limit_balances_the_groups(metric) -> None:
    """Clients at 0, 1, 2, 3 and 100 on a line, k = 2: the limit ceil(5 / 2) = 3 keeps the group on the left
    to three, so the client at 3 joins the one at 100: {0, 1, 2} and {3, 100}."""
    p = points([(0, 0), (1, 0), (2, 0), (3, 0), (100, 0)])
    labels = cluster(p, 2, metric=metric)
    assert np.bincount(labels).tolist() in ([3, 2], [2, 3])
    assert same_partition(labels, [0, 0, 0, 1, 1])


def test_weights_bound_every_dimension() -> None:
    """Two groups of three by place, but the second dimension (weights 5 at c0 and c1) allows only one of
    c0 / c1 per group of limit 6: the heavier is moved to the other group and the group it left takes a light
    one back."""
    p = points(TWO_GROUPS)
    weights = [[1, 5], [1, 5], [1, 0], [1, 0], [1, 0], [1, 0]]
    labels = cluster(p, 2, weights=weights, limit=[3, 6])
    load = np.zeros((2, 2))
    np.add.at(load, labels, np.array(weights, dtype=float))
    assert (load <= [3, 6]).all()
    assert labels[0] != labels[1]


def test_a_limit_that_cannot_hold_overflows_the_least() -> None:
    """Weights 4, 4, 4 in two groups of limit 5: one group must hold two (8); every client is labelled."""
    p = points([(0, 0), (1, 0), (10, 0)])
    labels = cluster(p, 2, weights=[4, 4, 4], limit=[5])
    assert sorted(np.bincount(labels, minlength=2).tolist()) == [1, 2]


def test_a_subset_of_clients_and_seeds() -> None:
    rng = np.random.default_rng(3)
    p = points(rng.uniform(0, 100, (200, 2)))
    subset = np.arange(0, 200, 2)
    a = cluster(p, 7, clients=subset, seed=5)
    assert len(a) == 100 and set(a.tolist()) == set(range(7))
    assert np.bincount(a).max() <= 15  # ceil(100 / 7)
    assert np.array_equal(a, cluster(p, 7, clients=subset, seed=5))
    assert np.array_equal(cluster(explicit(p), 7, clients=subset, seed=5),
                          cluster(explicit(p), 7, clients=subset, seed=5))


def test_groups_are_compact() -> None:
    """Four tight blobs of 25 clients far apart, k = 4: each blob is one group, whatever the seed."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [500, 0], [0, 500], [500, 500]])
    xy = np.repeat(centres, 25, axis=0) + rng.uniform(0, 10, (100, 2))
    truth = np.repeat(np.arange(4), 25)
    for seed in range(3):
        for p in (points(xy), explicit(points(xy))):
            assert same_partition(cluster(p, 4, seed=seed), truth)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"k": 0}, "k"), ({"k": 7}, "k"), ({"k": 2.0}, "k"), ({"k": 2, "clients": [0, 9]}, "clients"),
    ({"k": 2, "clients": [0, 0]}, "clients"), ({"k": 2, "weights": [1, 2]}, "weights"),
    ({"k": 2, "weights": [1] * 6}, "limit"), ({"k": 2, "weights": [1] * 6, "limit": [1, 1]}, "limit"),
    ({"k": 2, "weights": [1] * 6, "limit": [0]}, "limit"),
    ({"k": 2, "weights": [-1] * 6, "limit": [1]}, "weights"),
    ({"k": 2, "metric": "manhattan"}, "metric"),
])
def test_bad_arguments_name_the_argument(kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        cluster(points(TWO_GROUPS), **kwargs)
    assert err.value.field == field


# -- territories --------------------------------------------------------------------------------------------


def test_one_territory_with_exact_estimates(line) -> None:
    """Clients at 1, 2, 3 on a line, capacity 3: one territory, tour D-c1-c2-c3-D of 6; the round trips add
    up to 2 + 4 + 6 = 12 (ratio 0.5); the medoid c2 is 1 from the others (spread 1)."""
    t = build_territories(line)
    assert t.lower_bound == 1 and t.k == 1
    (only,) = t.territories
    assert only.clients == (0, 1, 2) and only.tour == (0, 1, 2)
    assert (only.depot, only.vehicle_type, only.delivery, only.load_share) == ("D", "v", (3.0,), 1.0)
    assert (only.distance, only.duration, only.tour_ratio, only.spread) == (6.0, 6.0, 0.5, 1.0)
    assert only.fits


def test_two_obvious_territories() -> None:
    p = points(TWO_GROUPS, vehicle_types=(VehicleType("v", capacity=3),))
    for method in METHODS:
        t = build_territories(p, method=method)
        assert t.k == 2 and t.lower_bound == 2
        assert same_partition(t.labels, [0, 0, 0, 1, 1, 1])
        assert all(x.fits and x.load_share == 1.0 for x in t.territories)


def test_capacity_forces_a_split() -> None:
    """Four clients together, deliveries 2, 1, 1, 2, capacity 3: two territories of 3 each."""
    p = points([(10, 0), (10, 1), (11, 0), (11, 1)], delivery=[2, 1, 1, 2],
               vehicle_types=(VehicleType("v", capacity=3),))
    t = build_territories(p)
    assert t.k == 2 and sorted(x.delivery for x in t.territories) == [(3.0,), (3.0,)]
    with pytest.raises(ValidationError, match=r"k: 1 < 2, the fewest") as err:
        build_territories(p, k=1)
    assert err.value.field == "k"
    assert build_territories(p, k=3).k == 3


def test_pickups_count_like_deliveries() -> None:
    """Deliveries 1 each but pickups 2 each, capacity 2: one client per territory."""
    clients = tuple(Client(f"c{i}", (i, 0), delivery=1, pickup=2) for i in range(1, 4))
    p = Problem("pd", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=2),))
    t = build_territories(p)
    assert t.k == 3 and all(x.pickup == (2.0,) and x.load_share == 1.0 for x in t.territories)


def test_the_shift_forces_a_split() -> None:
    """No capacity; clients at (10, 0), (10, 1), (-10, 0), (-10, 1), max_duration 25: all four take
    10 + 1 + 20 + 1 + 10 = 42, each side 10 + 1 + sqrt(101) = 21.05."""
    p = points([(10, 0), (10, 1), (-10, 0), (-10, 1)], vehicle_types=(VehicleType("v", max_duration=25),))
    assert lower_bound(p) == 1
    t = build_territories(p)
    assert t.k == 2 and same_partition(t.labels, [0, 0, 1, 1])
    assert [x.duration for x in t.territories] == pytest.approx([11 + 101 ** 0.5] * 2)
    assert all(x.duration_limit == 25 and x.fits for x in t.territories)
    one = build_territories(p, k=1).territories[0]
    assert one.duration == 42 and one.tour_ratio == pytest.approx(42 / (4 * 10 + 4 * 101 ** 0.5))
    assert not one.fits


def test_two_depots() -> None:
    """Depots at 0 and 100, a vehicle type at each: each client's territory is its nearest depot's."""
    p = points(TWO_GROUPS, depots=((0, 5), (100, 5)),
               vehicle_types=(VehicleType("west", capacity=2, start_depot="D0"),
                              VehicleType("east", capacity=2, start_depot="D1")))
    t = build_territories(p)
    assert t.lower_bound == 4 and t.k == 4
    for x in t.territories:
        assert (x.depot, x.vehicle_type) == (("D0", "west") if x.clients[0] < 3 else ("D1", "east"))
        assert set(x.clients) <= ({0, 1, 2} if x.depot == "D0" else {3, 4, 5})


def test_mixed_fleet_with_a_count_limit() -> None:
    """Six unit deliveries, one big vehicle (4) and small ones (2, count 2): 4 + 2 = 6, two territories, the
    big one with four clients."""
    fleet = (VehicleType("small", count=2, capacity=2), VehicleType("big", count=1, capacity=4))
    p = points([(0, 10), (1, 10), (0, 11), (1, 11), (50, 0), (51, 0)], vehicle_types=fleet)
    t = build_territories(p)
    assert t.k == 2
    assert sorted((x.vehicle_type, len(x.clients)) for x in t.territories) == [("big", 4), ("small", 2)]
    assert all(x.fits for x in t.territories)
    k3 = build_territories(p, k=3)
    assert sorted(x.vehicle_type for x in k3.territories) == ["big", "small", "small"]
    with pytest.raises(NoSolutionError, match="fleet has 3 vehicles"):
        build_territories(p, k=4)


def test_binary_splits_until_every_part_fits() -> None:
    """Eight clients in four pairs at the corners of a square, capacity 2: the binary baseline splits into
    the four pairs."""
    corners = [(0, 0), (100, 0), (0, 100), (100, 100)]
    xy = [(x + dx, y) for x, y in corners for dx in (0, 1)]
    p = points(xy, depots=((50, 50),), vehicle_types=(VehicleType("v", capacity=2),))
    t = build_territories(p, method="binary")
    assert t.k == 4 and same_partition(t.labels, [0, 0, 1, 1, 2, 2, 3, 3])


@pytest.mark.parametrize("method", METHODS)
def test_every_client_once_and_within_capacity(method) -> None:
    rng = np.random.default_rng(7)
    q = rng.integers(1, 10, 300).tolist()
    p = points(rng.uniform(0, 1000, (300, 2)), delivery=q, depots=((200, 200), (800, 800)),
               vehicle_types=(VehicleType("a", capacity=50, start_depot="D0"),
                              VehicleType("b", capacity=60, start_depot="D1")))
    t = build_territories(p, method=method, seed=3)
    clients = sorted(c for x in t.territories for c in x.clients)
    assert clients == list(range(300))
    assert all(sorted(x.tour) == sorted(x.clients) for x in t.territories)
    assert all(x.load_share <= 1 for x in t.territories)
    assert t.k >= t.lower_bound
    assert t.to_dict() == build_territories(p, method=method, seed=3).to_dict()


def test_to_dict() -> None:
    p = points(TWO_GROUPS, vehicle_types=(VehicleType("v", capacity=3),))
    d = build_territories(p).to_dict()
    assert (d["problem"], d["method"], d["seed"]) == ("pts", "balanced", 0)
    assert d["totals"]["territories"] == 2 and d["totals"]["fit"] == 2 and d["totals"]["clients"] == 6
    first = d["territories"][0]
    assert set(first) == {"id", "depot", "vehicle_type", "clients", "tour", "delivery", "pickup", "capacity",
                          "load_share", "distance", "duration", "distance_limit", "duration_limit", "spread",
                          "tour_ratio", "fits"}
    assert first["duration_limit"] is None and first["capacity"] == [3.0]
    assert sorted(c for t in d["territories"] for c in t["clients"]) == [f"c{i}" for i in range(6)]


def test_bad_method_and_k() -> None:
    p = points(TWO_GROUPS)
    with pytest.raises(ValidationError, match="method"):
        build_territories(p, method="ternary")
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValidationError) as err:
            build_territories(p, k=k)
        assert err.value.field == "k"
    with pytest.raises(ValidationError, match="k: 7 > 6"):
        build_territories(p, k=7)


# -- vrpkit territories -------------------------------------------------------------------------------------


def vrpkit_cli(*args) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def problem_file(tmp_path) -> Path:
    """TWO_GROUPS with capacity 3: two territories of three clients."""
    path = tmp_path / "two.json"
    path.write_text(json.dumps(points(TWO_GROUPS, vehicle_types=(VehicleType("v", capacity=3),)).to_dict()))
    return path


def test_cli_table_json_and_map(tmp_path, problem_file) -> None:
    pytest.importorskip("folium")
    out, page = tmp_path / "t.json", tmp_path / "t.html"
    run = vrpkit_cli("territories", problem_file, "-o", out, "--map", page, "--seed", "1")
    assert run.returncode == 0, run.stderr
    assert "2 territories (lower bound 2), 2 fit, 6 clients, mean load 100%" in run.stdout
    for head in ("territory", "depot", "vehicle type", "clients", "load %", "est. duration", "shift", "spread"):
        assert head in run.stdout
    data = json.loads(out.read_text())
    assert data["method"] == "balanced" and data["seed"] == 1 and len(data["territories"]) == 2
    assert sorted(sorted(t["clients"]) for t in data["territories"]) == [["c0", "c1", "c2"], ["c3", "c4", "c5"]]
    assert page.read_text().count("vrpkit-territory-client") >= 6
    binary = vrpkit_cli("territories", problem_file, "--method", "binary", "-k", "3")
    assert binary.returncode == 0 and "3 territories" in binary.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["-k", "1"], "error: -k: 1 < 2, the fewest territories"),
    (["-k", "0"], "error: -k: 0 is not a positive"),
    (["-k", "9"], "error: -k: 9 > 6"),
    (["--method", "ternary"], 'error: --method: "ternary" is not one of balanced, binary'),
    (["--map", "t.png"], "error: t.png: maps are written as .html"),
])
def test_cli_bad_options(problem_file, args, message) -> None:
    run = vrpkit_cli("territories", problem_file, *args)
    assert run.returncode == 2
    assert run.stderr.startswith(message) and len(run.stderr.strip().splitlines()) == 1


def test_cli_fleet_too_small_exits_3(tmp_path) -> None:
    path = tmp_path / "few.json"
    one = (VehicleType("v", count=1, capacity=3),)
    path.write_text(json.dumps(points(TWO_GROUPS, vehicle_types=one).to_dict()))
    run = vrpkit_cli("territories", path)
    assert run.returncode == 3 and "fleet has 1 vehicles" in run.stderr


def test_the_depots_opening_hours_bound_the_duration() -> None:
    """The shift test's clients with an unbounded shift but a depot open over [5, 30]: a limit of 25."""
    clients = points([(10, 0), (10, 1), (-10, 0), (-10, 1)]).clients
    p = Problem("open", (Depot("D", (0, 0), (5, 30)),), clients, (VehicleType("v"),))
    t = build_territories(p)
    assert t.k == 2 and all(x.duration_limit == 25 and x.fits for x in t.territories)
