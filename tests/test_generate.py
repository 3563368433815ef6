"""The instance generators of :mod:`vrpkit.generate`: RouteFinder's multi-task distribution and our attributes
(formulas on hand-made draws, statistics on seeded sets, every variant valid and solvable by the evaluator),
the ``uniform`` and ``osm`` distributions through the same entry point, seeds, and ``vrpkit generate``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vrpkit import Problem, Route, ValidationError, evaluate, solve
from vrpkit.generate import (
    FLEET,
    ROUTEFINDER_VARIANTS,
    Variant,
    clustered_instance,
    generate,
    generate_many,
    instance_seed,
    parse_variant,
    routefinder_capacity,
    sample_routefinder,
    uniform_instance,
)
from vrpkit.io import read_problem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MONACO = DATA / "osm" / "monaco.osm.pbf"

OURS = ("mdvrp", "hfvrp", "pcvrp", "vrpmtw", "mdhfvrptw", "pcvrptw", "hfovrpmbl", "mdovrpbmtw",
        "mdhfpcovrpmbltw")
"""Our attributes alone and combined with RouteFinder's."""
ALL = ROUTEFINDER_VARIANTS + OURS


def expected_attributes(v: Variant) -> set[str]:
    """What :attr:`Problem.attributes` must say for a variant (with at least one backhaul client drawn)."""
    out = {"capacity"}
    for on, name in ((v.open, "open"), (v.limit, "distance_limit"), (v.windows > 0, "time_windows"),
                     (v.windows == 2, "multiple_time_windows"), (v.multi_depot, "multi_depot"),
                     (v.fleet, "heterogeneous_fleet"), (v.prizes, "prizes")):
        if on:
            out.add(name)
    if v.backhaul:
        out.add("backhaul" if v.backhaul == "strict" else "mixed_backhaul")
    return out


class Draws:
    """A stand-in for ``numpy.random.Generator`` that returns the given arrays, in the order asked."""

    def __init__(self, *values: Any) -> None:
        self.values = [np.asarray(v) for v in values]

    def _next(self, size: Any) -> np.ndarray:
        value = self.values.pop(0)
        assert value.shape == tuple(np.atleast_1d(size)), (value.shape, size)
        return value

    def random(self, size: Any) -> np.ndarray:
        return self._next(size)

    def integers(self, low: int, high: int, size: Any) -> np.ndarray:
        assert (low, high) == (1, 10)
        return self._next(size)

    def uniform(self, low: float, high: float, size: Any) -> np.ndarray:
        value = self._next(size)
        assert ((low <= value) & (value <= high)).all()
        return value


def hand_draws(extra_depot: bool = False) -> Draws:
    """Depot at (0, 0); client 1 at (0.3, 0.4) (d = 0.5), client 2 at (0.6, 0.8) (d = 1); demands 4 and 7;
    client 2 is a backhaul client; service 0.16 and 0.15, window lengths 0.19 and 0.2; window uniforms 0.5,
    limit uniform 0.25, prize uniforms 0.5 and 1.0; with ``extra_depot`` a second depot at (1, 1)."""
    draws = [
        [[[0.0, 0.0], [0.3, 0.4], [0.6, 0.8]]],
        [[4, 7]],
        [[0.5, 0.1]],  # < 0.2: a backhaul client
        [[0.16, 0.15]],
        [[0.19, 0.2]],
        [[[0.5, 0.5], [0.5, 0.5]]],
        [0.25],
        [[0.5, 1.0]],
    ]
    if extra_depot:
        draws.append([[[1.0, 1.0]]])
    return Draws(*draws)


# -- RouteFinder's formulas on hand-made draws -------------------------------------------------------------


def test_capacity_follows_routefinder() -> None:
    sizes = {10: 30, 20: 30, 21: 34, 50: 40, 100: 50, 1000: 230, 2000: 260, 5000: 350, 10000: 500}
    assert {n: routefinder_capacity(n) for n in sizes} == sizes


def test_cvrp_from_hand_draws() -> None:
    p = sample_routefinder("cvrp", 2, 1, rng=hand_draws()).problem(0)
    assert p.variant == "CVRP" and [c.location for c in p.clients] == [(0.3, 0.4), (0.6, 0.8)]
    assert p.depots[0].location == (0.0, 0.0) and p.depots[0].time_window == (0.0, math.inf)
    assert p.delivery[:, 0].tolist() == [4, 7] and p.pickup[:, 0].tolist() == [0, 0]  # the pickup folded in
    assert p.service_time.tolist() == [0.0, 0.0] and p.clients[0].time_windows == ((0.0, math.inf),)
    (vt,) = p.vehicle_types
    assert vt.capacity == (30,) and vt.max_distance == math.inf and vt.end_depot == "depot"
    assert p.distance[0, 2] == pytest.approx(1.0) and np.array_equal(p.duration, p.distance)


def test_backhaul_time_windows_and_limit_from_hand_draws() -> None:
    p = sample_routefinder("vrpbltw", 2, 1, rng=hand_draws()).problem(0)
    assert p.backhaul == "strict" and p.variant == "VRPBLTW"
    assert p.delivery[:, 0].tolist() == [4, 0] and p.pickup[:, 0].tolist() == [0, 7]
    assert p.service_time.tolist() == [0.16, 0.15]
    # start d + (4.6 - s - w - 2d) U: 0.5 + 3.25 / 2 and 1 + 2.25 / 2; end start + w
    (w1,), (w2,) = (c.time_windows for c in p.clients)
    assert w1 == pytest.approx((2.125, 2.315)) and w2 == pytest.approx((2.125, 2.325))
    assert p.depots[0].time_window == (0.0, 4.6)
    # limit U(2 max d + 1e-6, max(2.8, 2 max d + 2e-6)) at 0.25
    assert p.vehicle_types[0].max_distance == pytest.approx(2.000001 + 0.799999 * 0.25, abs=1e-12)
    assert sample_routefinder("vrpmb", 2, 1, rng=hand_draws()).problem(0).backhaul == "mixed"


def test_our_attributes_from_hand_draws() -> None:
    p = sample_routefinder("mdhfpcovrpmtw", 2, 1, rng=hand_draws(extra_depot=True), n_depots=2).problem(0)
    assert [d.location for d in p.depots] == [(0.0, 0.0), (1.0, 1.0)]
    assert [c.location for c in p.clients] == [(0.3, 0.4), (0.6, 0.8)]  # the clients as without md
    # windows from the farther depot: client 1 is 0.5 from (0, 0) and r = sqrt(0.85) from (1, 1), client 2 is
    # 1 and sqrt(0.2): d = r and 1. a = d, z = 4.6 - s - w - d, m = (a + z) / 2 = (4.6 - s - w) / 2 = 2.125
    # for both; first window from a + (m - w - a) / 2, second from m + (z - m) / 2, each w long
    r = math.sqrt(0.85)
    (a1, a2), (b1, b2) = (c.time_windows for c in p.clients)
    assert a1 == pytest.approx(((r + 1.935) / 2, (r + 1.935) / 2 + 0.19))
    assert a2 == pytest.approx(((6.375 - r) / 2, (6.375 - r) / 2 + 0.19))
    assert (b1, b2) == (pytest.approx((1.4625, 1.6625)), pytest.approx((2.6875, 2.8875)))
    # prizes 2 d U with d to the nearest depot: 2 * 0.5 * 0.5 and 2 * sqrt(0.16 + 0.04) * 1
    assert p.prize.tolist() == pytest.approx([0.5, 2 * math.sqrt(0.2)]) and not p.required.any()
    caps = [(vt.id, vt.capacity[0], vt.fixed_cost, vt.start_depot, vt.end_depot) for vt in p.vehicle_types]
    assert caps == [("small-depot1", 18, 0.5, "depot1", None), ("standard-depot1", 30, 0.75, "depot1", None),
                    ("large-depot1", 48, 1.0, "depot1", None), ("small-depot2", 18, 0.5, "depot2", None),
                    ("standard-depot2", 30, 0.75, "depot2", None), ("large-depot2", 48, 1.0, "depot2", None)]


def test_limit_of_several_depots_uses_the_depot_whose_farthest_client_is_nearest() -> None:
    p = sample_routefinder("mdvrpl", 2, 1, rng=hand_draws(extra_depot=True), n_depots=2).problem(0)
    # farthest client: 1 from (0, 0), sqrt(0.85) (client 1) from (1, 1): low 2 * 0.7616 + 1e-6, high 2.8
    low = 2 * math.hypot(0.7, 0.6) + 1e-6
    assert p.vehicle_types[0].max_distance == pytest.approx(low + (2.8 - low) * 0.25, abs=1e-12)


# -- names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_each_variant_is_valid_and_named_by_its_attributes(name: str) -> None:
    v = parse_variant(name)
    assert v.name == name and parse_variant(name.upper()) == v
    p = generate(name, 40, seed=3)
    assert p.name == f"{name}-n40-s3" and p.n_clients == 40
    assert set(p.attributes) == expected_attributes(v)
    assert p.variant.lower() == name.replace("mtw", "tw")  # Problem.variant has no tag for two windows
    assert p.n_depots == (3 if v.multi_depot else 1)
    assert len(p.vehicle_types) == p.n_depots * (len(FLEET) if v.fleet else 1)


def test_routefinder_names_and_ours() -> None:
    assert len(ROUTEFINDER_VARIANTS) == 24 == len(set(ROUTEFINDER_VARIANTS))
    assert sum("mb" in v for v in ROUTEFINDER_VARIANTS) == 8
    assert parse_variant("cvrptw") == parse_variant("vrptw") and parse_variant("mdcvrp").name == "mdvrp"
    assert parse_variant("ovrpmbltw") == Variant(open=True, backhaul="mixed", limit=True, windows=1)
    assert parse_variant("vrpmtw") == Variant(windows=2)
    with pytest.raises(ValidationError, match="windows: 3 is not 0, 1 or 2"):
        Variant(windows=3)
    with pytest.raises(ValidationError, match="backhaul: 'both' is not None"):
        Variant(backhaul="both")


@pytest.mark.parametrize("name", ["tsp", "vrpbmb", "ovrpo", "vrptwl", "mdmdvrp", "", 7])
def test_bad_variant_names(name: Any) -> None:
    with pytest.raises(ValidationError, match=r"^variant: .* is not \[md\]\[hf\]\[pc\]\[o\]vrp"):
        parse_variant(name)


# -- every variant solvable ----------------------------------------------------------------------------------


def lone_routes(p: Any) -> list[Route]:
    """Each client alone, on the standard vehicle of the depot whose farthest client is nearest."""
    far = p.distance[: p.n_depots, p.n_depots:].max(axis=1)
    depot = p.depots[int(far.argmin())].id
    v = next(k for k, vt in enumerate(p.vehicle_types) if vt.start_depot == depot and
             vt.id.startswith(("standard", "vehicle")))
    return [Route(v, (i,)) for i in range(p.n_clients)]


@pytest.mark.parametrize("name", ALL)
def test_each_client_alone_is_a_feasible_plan(name: str) -> None:
    for p in generate_many(name, 30, 3, seed=11):
        evaluation = evaluate(p, lone_routes(p))
        assert evaluation.feasible, (p.name, evaluation.violations[:3])


@pytest.mark.parametrize("name", ALL)
def test_a_solver_finds_a_feasible_plan(name: str) -> None:
    for seed in (0, 1):
        p = generate(name, 10, seed=seed)
        result = solve(p, "ortools", time_limit=0.3, seed=0)
        assert result.solution is not None, p.name
        evaluation = evaluate(p, result.solution)
        assert evaluation.feasible and evaluation.cost == pytest.approx(result.evaluation.cost)
        served = sorted(c for r in result.solution.routes for c in r.clients)
        assert served == list(range(10)) or p.attributes >= {"prizes"}


# -- seeds -------------------------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    return (np.array_equal(a.distance, b.distance) and a.clients == b.clients and a.depots == b.depots
            and a.vehicle_types == b.vehicle_types and a.backhaul == b.backhaul)


def test_seeds_reproduce_exactly() -> None:
    p = generate("mdhfpcovrpmbltw", 30, seed=5)
    assert same(p, generate("mdhfpcovrpmbltw", 30, seed=5))
    q = generate("mdhfpcovrpmbltw", 30, seed=6)
    assert not np.array_equal(p.locations, q.locations) and p.prize.tolist() != q.prize.tolist()


def test_one_seed_gives_the_same_clients_to_every_variant() -> None:
    base = generate("cvrp", 30, seed=2)
    for name in ("vrptw", "ovrpl", "mdvrp", "hfvrp", "pcvrpmtw"):
        other = generate(name, 30, seed=2)
        assert [c.location for c in other.clients] == [c.location for c in base.clients], name
        assert other.depots[0].location == base.depots[0].location
        assert np.array_equal(other.delivery, base.delivery)
    vrpb = generate("vrpb", 30, seed=2)  # backhaul clients take their demand as a pickup
    assert np.array_equal(vrpb.delivery + vrpb.pickup, base.delivery)
    assert vrpb.pickup.any() and not (vrpb.delivery * vrpb.pickup).any()


def test_generate_many_draws_instance_i_from_child_i_of_the_seed() -> None:
    many = generate_many("vrptw", 20, 3, seed=7)
    assert [p.name for p in many] == ["vrptw-n20-s7-0", "vrptw-n20-s7-1", "vrptw-n20-s7-2"]
    child = np.random.SeedSequence(7).spawn(3)[2]
    assert instance_seed(7, 2) == int(child.generate_state(1, np.uint64)[0])
    assert same(many[2], generate("vrptw", 20, seed=instance_seed(7, 2)))
    assert all(same(a, b) for a, b in zip(generate_many("vrptw", 20, 2, seed=7), many, strict=False))
    others = generate_many("vrptw", 20, 3, seed=8)
    assert not any(np.array_equal(a.locations, b.locations) for a in many for b in others)
    assert len({p.locations.tobytes() for p in many}) == 3


# -- statistics of the distribution ----------------------------------------------------------------------------


def test_cvrp100_statistics() -> None:
    problems = generate_many("cvrp", 100, 40, seed=0)
    demand = np.concatenate([p.delivery[:, 0] for p in problems])  # 4,000 clients
    assert demand.min() == 1 and demand.max() == 9
    assert abs(demand.mean() - 5) < 0.15  # 1..9 uniform: mean 5, standard error 0.04
    assert all(p.vehicle_types[0].capacity == (50,) for p in problems)
    xy = np.concatenate([p.locations for p in problems])
    assert xy.min() >= 0 and xy.max() < 1 and abs(xy.mean() - 0.5) < 0.02


def test_backhaul_share() -> None:
    problems = generate_many("vrpb", 100, 40, seed=1)
    pickup = np.concatenate([p.pickup[:, 0] for p in problems])
    delivery = np.concatenate([p.delivery[:, 0] for p in problems])
    assert abs((pickup > 0).mean() - 0.2) < 0.025  # standard error 0.0063
    assert ((pickup > 0) != (delivery > 0)).all()  # each client one or the other
    assert pickup[pickup > 0].min() == 1 and pickup.max() == 9 and abs(pickup[pickup > 0].mean() - 5) < 0.3


def test_time_windows_inside_the_horizon_and_reachable() -> None:
    positions = []
    for p in generate_many("vrptw", 100, 20, seed=2):
        d = p.distance[0, 1:]
        (start, end), s = p.time_windows[:, 0].T, p.service_time
        assert (start >= d).all() and (end + s + p.distance[1:, 0] <= 4.6 + 1e-12).all()
        assert (end - start >= 0.18).all() and (end - start <= 0.2 + 1e-12).all()
        assert (s >= 0.15).all() and (s <= 0.18).all() and p.depots[0].time_window == (0.0, 4.6)
        positions.append((start - d) / (4.6 - s - (end - start) - 2 * d))
    assert abs(np.concatenate(positions).mean() - 0.5) < 0.02  # the start uniform in its range


def test_two_windows_are_disjoint_inside_the_horizon() -> None:
    for p in generate_many("mdvrpmtw", 50, 10, seed=3):
        reach = p.distance[: p.n_depots, p.n_depots:].max(axis=0)  # from every depot
        w = p.time_windows  # (N, 2, 2)
        assert (w[:, 0, 0] >= reach).all() and (w[:, 0, 1] < w[:, 1, 0]).all()
        assert (w[:, 1, 1] + p.service_time + reach <= 4.6 + 1e-12).all()
        assert np.allclose(w[:, 0, 1] - w[:, 0, 0], w[:, 1, 1] - w[:, 1, 0])


def test_distance_limit_range() -> None:
    limits, lows = [], []
    for p in generate_many("vrpl", 50, 200, seed=4):
        low = 2 * p.distance[0, 1:].max() + 1e-6
        (vt,) = p.vehicle_types
        assert low <= vt.max_distance <= max(2.8, low + 1e-6)
        limits.append(vt.max_distance)
        lows.append(low)
    assert abs(np.mean((np.array(limits) - lows) / (2.8 - np.array(lows))) - 0.5) < 0.05


def test_prizes_and_fleet() -> None:
    p = generate("mdhfpcvrp", 50, seed=9)
    near = p.distance[:3, 3:].min(axis=0)
    assert not p.required.any() and (p.prize <= 2 * near).all() and p.prize.max() > near.max() / 2
    assert sorted({(vt.capacity[0], vt.fixed_cost) for vt in p.vehicle_types}) == [(24, 0.5), (40, 0.75),
                                                                                  (64, 1.0)]


# -- options and the other distributions -------------------------------------------------------------------------


def test_uniform_distribution_is_uniform_instance() -> None:
    p = generate("vrptw", 25, seed=3, distribution="uniform", horizon=2000)
    q = uniform_instance(25, seed=3, variant="vrptw", horizon=2000)
    assert same(p, q) and p.name == q.name
    assert generate_many("ovrp", 5, 2, seed=1, distribution="uniform")[1].name == "ovrp-n5-s1-1"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: generate("cvrp", 5, seed=0, distribution="grid"), 'distribution: "grid" is not one of'),
    (lambda: generate("cvrp", 5, seed=-1), "seed: expected a non-negative integer, got -1"),
    (lambda: generate("cvrp", 0, seed=0), "n_clients: expected a positive integer, got 0"),
    (lambda: generate("cvrp", 5, seed=0, grid=10), "grid: not an option of distribution routefinder"),
    (lambda: generate("cvrp", 5, seed=0, distribution="uniform", n_depots=2),
     "n_depots: not an option of distribution uniform"),
    (lambda: generate("cvrp", 5, seed=0, capacity=8), "capacity: 8 < the largest demand 9"),
    (lambda: generate("hfvrp", 5, seed=0, capacity=14), "capacity: 14 gives the small vehicle 8 < the largest"),
    (lambda: generate("vrptw", 5, seed=0, n_depots=2), "n_depots: only for a multi-depot variant"),
    (lambda: generate("mdvrp", 5, seed=0, n_depots=1), "n_depots: expected an integer >= 2, got 1"),
    (lambda: generate("cvrp", 5, seed=0, distribution="osm"), "pbf: distribution osm needs"),
    (lambda: generate_many("cvrp", 5, 0, seed=0), "count: expected a positive integer, got 0"),
])
def test_bad_options(call: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert message in str(info.value)


def test_osm_distribution_on_monaco(tmp_path: Path) -> None:
    from vrpkit.roads.common import RoadError
    from vrpkit.roads.osrm import MissingExecutableError, find_executable

    if not MONACO.is_file():
        pytest.skip(f"shared data not found: {MONACO}")
    pytest.importorskip("osmnx")
    try:
        find_executable("osrm-routed")
    except (MissingExecutableError, RoadError) as err:
        pytest.skip(str(err))
    from vrpkit.roads.generate import generate_osm_instance

    p = generate("vrptw", 6, seed=5, distribution="osm", pbf=MONACO, cache_dir=tmp_path)
    q = generate_osm_instance(MONACO, 6, seed=5, variant="vrptw", cache_dir=tmp_path)
    assert same(p, q) and p.coordinates == "lonlat" and p.variant == "VRPTW"


# -- the command ------------------------------------------------------------------------------------------------


def vrpkit_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrpkit", "generate", *map(str, args)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_cli_routefinder_one_and_many(tmp_path: Path) -> None:
    done = vrpkit_cli("-o", tmp_path / "a.json", "--distribution", "routefinder", "--variant", "mdhfvrptw",
                      "--n", "20", "--seed", "4", "--depots", "2")
    assert done.returncode == 0, done.stderr
    assert "(MDHFVRPTW, 20 clients, capacity 18/30/48)" in done.stderr
    assert same(read_problem(tmp_path / "a.json"), generate("mdhfvrptw", 20, seed=4, n_depots=2))
    (tmp_path / "set").mkdir()
    done = vrpkit_cli("-o", tmp_path / "set" / "b.json", "--distribution", "routefinder", "--variant", "vrpb",
                      "--n", "10", "--count", "12")
    assert done.returncode == 0, done.stderr
    files = sorted((tmp_path / "set").iterdir())
    assert [f.name for f in files] == [f"b-{i:02d}.json" for i in range(12)]
    expected = generate_many("vrpb", 10, 12, seed=0)
    assert all(same(read_problem(f), p) for f, p in zip(files, expected, strict=True))
    assert json.loads(files[3].read_text())["name"] == "vrpb-n10-s0-3"


@pytest.mark.parametrize(("args", "message"), [
    (["--distribution", "grid"], '--distribution: "grid" is not one of routefinder, uniform, osm'),
    (["--distribution", "osm"], "--osm: needed with --distribution osm"),
    (["--distribution", "routefinder", "--osm", "x.osm.pbf"], "--osm: draws on roads: not with --distribution"),
    (["--depots", "2"], "--depots: only with --distribution routefinder"),
    (["--distribution", "routefinder", "--variant", "vrptw", "--depots", "2"], "--depots: only for a multi-depot"),
    (["--distribution", "routefinder", "--variant", "vrpxb"], 'variant: "vrpxb" is not [md][hf][pc][o]vrp'),
    (["--count", "0"], "--count: 0 < 1"),
])
def test_cli_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = vrpkit_cli("-o", tmp_path / "p.json", *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert not list(tmp_path.iterdir())


# -- clustered (Uchoa et al.'s X positioning) and large instances ------------------------------------------


def test_clustered_clients_follow_the_attraction() -> None:
    """One seed on a wide grid (no client falls off): distances to the seed are Gamma(2, 40), mean 80 (sd 57,
    so the mean of 5,000 is 80 within 2.5 with certainty here); demands 1-100, capacity 10-20 mean demands."""
    p = clustered_instance(5000, seed=2, n_seeds=1, grid=100_000)
    xy = np.array([c.location for c in p.clients], dtype=float)
    assert (xy == np.round(xy)).all() and (xy >= 0).all() and (xy <= 100_000).all()
    centre = np.median(xy, axis=0)
    r = np.hypot(*(xy - centre).T)
    assert 77.5 < r.mean() < 82.5 and np.median(r) < 75  # Gamma(2, 40): median 67
    q = p.delivery[:, 0]
    assert q.min() >= 1 and q.max() <= 100
    assert 10 <= p.vehicle_types[0].capacity[0] / q.mean() <= 20.01
    assert p.variant == "CVRP" and p.depots[0].location == (50_000.0, 50_000.0)


def test_clustered_default_is_few_clusters_on_the_x_grid() -> None:
    """X's grid [0, 1000]² with 3-8 seeds: the clients are far more crowded than uniform ones (mean distance
    to the nearest other client)."""
    def crowding(p: Problem) -> float:
        d = np.array(p.distance[1:, 1:])
        np.fill_diagonal(d, np.inf)
        return float(d.min(axis=1).mean())

    p = generate("cvrp", 1000, seed=5, distribution="clustered")
    xy = np.array([c.location for c in p.clients])
    assert (xy >= 0).all() and (xy <= 1000).all() and p.name == "clustered-cvrp-n1000-s5"
    u = uniform_instance(1000, seed=5, grid=1000)
    assert crowding(p) < 0.75 * crowding(u)


def test_clustered_vrptw_every_client_alone_fits() -> None:
    p = generate("vrptw", 300, seed=1, distribution="clustered")
    assert p.variant == "VRPTW" and p.depots[0].time_window == (0.0, 10000.0)
    d0 = np.asarray(p.distance[0, 1:])
    tw = p.time_windows[:, 0]
    assert (tw[:, 0] >= np.ceil(d0)).all() and (tw[:, 1] <= 10000 - 100 - d0).all()
    assert ((tw[:, 1] - tw[:, 0]) <= 2000).all() and (p.service_time == 100).all()
    alone = [evaluate(p, [Route(0, (i,))]) for i in range(0, 300, 7)]
    assert all(not [v for v in e.violations if v.constraint != "missing_client"] for e in alone)


def test_clustered_is_seeded_and_many_differ() -> None:
    a, b = (generate("ovrp", 50, seed=9, distribution="clustered") for _ in range(2))
    assert a.to_dict() == b.to_dict() and a.variant == "OVRP"
    many = generate_many("cvrp", 50, 3, seed=9, distribution="clustered")
    assert len({tuple(c.location for c in p.clients) for p in many}) == 3
    with pytest.raises(ValidationError, match="n_seeds"):
        generate("cvrp", 50, seed=0, distribution="clustered", n_seeds=0)
    with pytest.raises(ValidationError, match="capacity: 50 < the largest demand 100"):
        generate("cvrp", 50, seed=0, distribution="clustered", capacity=50)


def test_cli_clustered(tmp_path: Path) -> None:
    done = vrpkit_cli("-o", tmp_path / "c.json", "--distribution", "clustered", "--variant", "vrptw", "-n", "40")
    assert done.returncode == 0, done.stderr
    assert same(read_problem(tmp_path / "c.json"), generate("vrptw", 40, seed=0, distribution="clustered"))


def test_large_uniform_and_clustered_are_valid() -> None:
    """2,000 clients of each: one duration array that is the distance array, every client alone feasible
    with windows."""
    for distribution in ("uniform", "clustered"):
        for variant in ("cvrp", "vrptw"):
            p = generate(variant, 2000, seed=3, distribution=distribution)
            assert p.n_clients == 2000 and p.duration is p.distance
            assert not p.distance.flags.writeable
            e = evaluate(p, [Route(0, (i,)) for i in range(0, 2000, 50)])
            assert all(v.constraint == "missing_client" for v in e.violations)


@pytest.mark.parametrize("rounding", ["none", "nearest", "dimacs", "exact"])
def test_euclidean_matrix_in_row_blocks_is_the_plain_formula(monkeypatch, rounding: str) -> None:
    from vrpkit import matrix

    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (37, 2))
    diff = pts[:, None, :] - pts[None, :, :]
    plain = np.sqrt((diff ** 2).sum(-1))
    plain = {"none": plain, "nearest": np.floor(plain + 0.5), "dimacs": np.floor(plain * 10) / 10,
             "exact": np.floor(plain * 1000 + 0.5) / 1000}[rounding]
    for entries in (37 * 5, 1, 10 ** 6):  # blocks of 5 rows, of one row, one block
        monkeypatch.setattr(matrix, "BLOCK_ENTRIES", entries)
        assert np.array_equal(matrix.euclidean_matrix(pts, rounding), plain)
    lonlat = rng.uniform([7.40, 43.72], [7.44, 43.75], (23, 2))
    monkeypatch.setattr(matrix, "BLOCK_ENTRIES", 23 * 4)
    blocks = matrix.haversine_matrix(lonlat)
    monkeypatch.setattr(matrix, "BLOCK_ENTRIES", 10 ** 6)
    assert np.array_equal(blocks, matrix.haversine_matrix(lonlat))


def test_matrices_are_not_copied_but_cannot_be_changed_from_outside() -> None:
    p = uniform_instance(30, seed=1)
    q = p.replace(name="other")
    assert q.distance is p.distance and q.duration is q.distance  # read-only: shared, not copied
    mine = np.array(p.distance)
    e = Problem("explicit", p.depots, p.clients, p.vehicle_types, distance=mine, duration=mine)
    assert e.distance is not mine and e.duration is e.distance and mine.flags.writeable
    mine[0, 1] = 99.0
    assert e.distance[0, 1] == p.distance[0, 1]
    with pytest.raises(ValidationError, match=r"matrix.distance\[0\]\[1\]: -1.0 is not a finite non-negative"):
        bad = mine.copy()
        bad[0, 1] = -1
        Problem("bad", p.depots, p.clients, p.vehicle_types, distance=bad)
