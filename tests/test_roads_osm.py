"""The osm provider: street graph from OSM data, speeds, one-way streets, exact fastest-route matrices, errors."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from vrpkit import Client, Depot, Problem, ValidationError, VehicleType
from vrpkit.roads.osm import is_drivable, parse_maxspeed

nx = pytest.importorskip("networkx")
pytest.importorskip("osmnx")
pytest.importorskip("osmium")
pytest.importorskip("scipy")

from vrpkit.roads import compute_and_save, road_matrices  # noqa: E402
from vrpkit.roads.osm import SPEEDS, osm_matrices, street_graph, street_network  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MONACO = DATA / "osm" / "monaco.osm.pbf"
R = 6_371_009.0  # osmnx's earth radius

NODES = {
    1: (7.000, 45.000), 2: (7.001, 45.000), 3: (7.002, 45.000),
    4: (7.000, 45.001), 5: (7.001, 45.001), 6: (7.002, 45.001),
    7: (7.010, 45.010), 8: (7.011, 45.010), 9: (7.0015, 45.0005),
}
WAYS = [  # (id, nodes, tags)
    (11, [1, 2, 3], {"highway": "residential"}),
    (12, [4, 5, 6], {"highway": "residential", "oneway": "yes"}),
    (13, [3, 6], {"highway": "tertiary", "maxspeed": "50"}),
    (14, [1, 4], {"highway": "residential", "maxspeed": "30 mph"}),
    (15, [2, 9], {"highway": "footway"}),
    (16, [2, 5], {"highway": "service", "access": "private"}),
    (17, [7, 8], {"highway": "residential"}),
]
"""Two-way 1-2-3, one-way 4->5->6, 3-6 at 50 km/h, 1-4 at 30 mph; a footway, a private road and a street cut off
from the rest are left out."""


def write_osm(path: Path) -> Path:
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="vrpkit tests">']
    for node, (lon, lat) in NODES.items():
        lines.append(f'  <node id="{node}" version="1" lat="{lat}" lon="{lon}"/>')
    for way, nodes, tags in WAYS:
        lines.append(f'  <way id="{way}" version="1">')
        lines += [f'    <nd ref="{n}"/>' for n in nodes]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n")
    return path


def great_circle(a: int, b: int) -> float:
    (lon1, lat1), (lon2, lat2) = (np.radians(NODES[a]), np.radians(NODES[b]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vrpkit-cache")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_osm(tmp_path_factory.mktemp("osm") / "tiny.osm")


def test_tags() -> None:
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("30 mph") == pytest.approx(48.28032)
    assert parse_maxspeed("FR:urban") == 50
    assert parse_maxspeed(["30", "50"]) == 40
    assert parse_maxspeed("none") is None
    assert is_drivable({"highway": "residential"})
    assert not is_drivable({"highway": "footway"})
    assert not is_drivable({"highway": "service", "access": "private"})
    assert is_drivable({"highway": "service", "access": "no", "motor_vehicle": "yes"})
    assert not is_drivable({"highway": "residential", "motorcar": "destination"})
    assert not is_drivable({"highway": "pedestrian", "area": "yes"})


def test_street_graph_keeps_drivable_strongly_connected_streets(tiny: Path) -> None:
    graph = street_graph(tiny)
    assert set(graph.nodes) == {1, 2, 3, 4, 5, 6}
    assert set(graph.edges()) == {(1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 6), (3, 6), (6, 3), (1, 4), (4, 1)}
    speeds = {(u, v): d["speed_kph"] for u, v, d in graph.edges(data=True)}
    assert speeds[1, 2] == SPEEDS["residential"] == 25
    assert speeds[3, 6] == 50 * 0.8
    assert speeds[1, 4] == pytest.approx(30 * 1.609344 * 0.8)
    for u, v, d in graph.edges(data=True):
        assert d["length"] == pytest.approx(great_circle(u, v), abs=1 / 1024)
        assert d["length"] * 1024 == int(d["length"] * 1024)  # stored to 1/1024 m
        assert d["travel_time"] == d["length"] / (d["speed_kph"] / 3.6)


def test_matrix_by_hand_one_way_streets(tiny: Path, cache: Path) -> None:
    # points 5.6 m south of node 1, on node 5, on node 3
    points = np.array([[7.000, 44.99995], NODES[5], NODES[3]])
    result = osm_matrices(points, file=tiny, cache_dir=cache)
    length = {(a, b): math.floor(great_circle(a, b) * 1024 + 0.5) / 1024 for a in NODES for b in NODES}
    kph = {"res": 25.0, "mph": 30 * 1.609344 * 0.8, "ter": 40.0}

    def time(*legs: tuple[int, int, str]) -> float:
        return sum(length[a, b] / (kph[s] / 3.6) for a, b, s in legs)

    # 1 -> 5 only through 4 (4->5->6 is one-way); 5 -> 1 the long way round: 5-6-3-2-1; 3 -> 5: 3-2-1-4-5
    assert result.distance[0, 1] == length[1, 4] + length[4, 5]
    assert result.duration[0, 1] == pytest.approx(time((1, 4, "mph"), (4, 5, "res")), rel=1e-12)
    assert result.distance[1, 0] == length[5, 6] + length[6, 3] + length[3, 2] + length[2, 1]
    assert result.duration[1, 0] == pytest.approx(
        time((5, 6, "res"), (6, 3, "ter"), (3, 2, "res"), (2, 1, "res")), rel=1e-12)
    assert result.distance[2, 1] == length[3, 2] + length[2, 1] + length[1, 4] + length[4, 5]
    assert result.distance[0, 2] == length[1, 2] + length[2, 3]
    assert np.all(np.diag(result.distance) == 0)
    assert result.snap_distance[0] == pytest.approx(5.56, abs=0.01)
    assert result.snap_distance[1:].max() < 1e-6
    assert result.snapped[0] == pytest.approx(NODES[1])


def test_speed_overrides(tiny: Path, cache: Path) -> None:
    points = np.array([NODES[1], NODES[3]])  # 1-2-3: residential
    default = osm_matrices(points, file=tiny, cache_dir=cache)
    slow = osm_matrices(points, file=tiny, cache_dir=cache, speeds={"residential": 12.5})
    assert slow.distance[0, 1] == default.distance[0, 1]
    assert slow.duration[0, 1] == pytest.approx(2 * default.duration[0, 1], rel=1e-12)
    with pytest.raises(ValidationError, match=r"^matrix\.speeds: expected an object of highway class"):
        osm_matrices(points, file=tiny, cache_dir=cache, speeds={"residential": 0})


def test_pbf_xml_and_graphml_give_the_same_network(tiny: Path, cache: Path, tmp_path: Path) -> None:
    import osmium
    import osmnx as ox

    pbf = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(tiny)):
            writer.add(obj)
    graphml = tmp_path / "tiny.graphml"
    ox.save_graphml(street_graph(tiny), graphml)
    networks = [street_network(f, cache_dir=cache)[0] for f in (tiny, pbf, graphml)]
    for other in networks[1:]:
        for name, array in networks[0].arrays().items():
            assert np.array_equal(array, getattr(other, name)), name


def _problem(points: np.ndarray, spec: dict, base_dir: Path | None = None) -> Problem:
    return Problem("p", (Depot("d", tuple(points[0])),),
                   tuple(Client(f"c{i}", tuple(p), delivery=1) for i, p in enumerate(points[1:])),
                   (VehicleType("v", capacity=10),), coordinates="lonlat", matrix=spec, base_dir=base_dir)


def test_provider_in_a_problem_cache_and_saved_matrices(tiny: Path, cache: Path, tmp_path: Path) -> None:
    points = np.array([NODES[1], NODES[5], NODES[3], NODES[6]])
    spec = {"provider": "osm", "file": tiny.name, "cache_dir": str(cache)}
    problem = _problem(points, spec, base_dir=tiny.parent)  # the file is found beside the problem
    direct = osm_matrices(points, file=tiny, cache_dir=cache, cache=False)
    assert np.array_equal(problem.distance, direct.distance)
    assert np.array_equal(problem.duration, direct.duration)
    again = road_matrices(problem)
    assert again.cached and np.array_equal(again.distance, direct.distance)
    saved = compute_and_save(problem, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        assert set(npz.files) == {"distance", "duration", "snap_distance", "snapped", "node_id"}
        assert list(npz["node_id"]) == ["d", "c0", "c1", "c2"]
    explicit = _problem(points, {"provider": "explicit", "file": "m.npz"}, base_dir=tmp_path)
    assert np.array_equal(explicit.duration, saved.duration)
    assert "osm matrices 4x4" in saved.summary()


def test_cache_folder_from_the_environment(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRPKIT_CACHE_DIR", str(tmp_path / "env-cache"))
    first = osm_matrices(np.array([NODES[1], NODES[5]]), file=tiny)
    assert not first.cached and len(list((tmp_path / "env-cache" / "matrices").glob("osm-*.npz"))) == 1
    assert len(list((tmp_path / "env-cache" / "osm").glob("graph-*.npz"))) == 1
    assert osm_matrices(np.array([NODES[1], NODES[5]]), file=tiny).cached


def test_location_off_the_map(tiny: Path, cache: Path) -> None:
    points = np.array([NODES[1], NODES[5], (7.03, 45.0)])  # the last one is 2.2 km east of node 3
    with pytest.raises(ValidationError, match=r"^clients\[1\]\.location: 2\d{3} m from the nearest street"):
        _problem(points, {"provider": "osm", "file": str(tiny), "cache_dir": str(cache)})
    far = _problem(points, {"provider": "osm", "file": str(tiny), "cache_dir": str(cache), "max_snap": 5000})
    at_node_3 = osm_matrices(np.array([NODES[1], NODES[3]]), file=tiny, cache_dir=cache)
    assert far.distance[0, 2] == at_node_3.distance[0, 1] > 0  # snapped to node 3, the nearest


def test_bad_options(tiny: Path, cache: Path) -> None:
    points = np.array([NODES[1], NODES[5]])
    with pytest.raises(ValidationError, match=r"^matrix\.file: nowhere\.osm: no such file"):
        _problem(points, {"provider": "osm", "file": "nowhere.osm", "cache_dir": str(cache)})
    with pytest.raises(ValidationError, match=r"^matrix\.speed: unknown option"):
        _problem(points, {"provider": "osm", "file": str(tiny), "speed": 3})
    with pytest.raises(ValidationError, match=r"^matrix\.max_snap: expected a positive number"):
        _problem(points, {"provider": "osm", "file": str(tiny), "max_snap": -1})
    with pytest.raises(ValidationError, match=r'^coordinates: the osm provider needs "coordinates": "lonlat"'):
        Problem("p", (Depot("d", (0, 0)),), (Client("c", (1, 1)),), (VehicleType("v"),),
                matrix={"provider": "osm", "file": str(tiny)})


def test_missing_maps_extra_is_named(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    import vrpkit.matrix

    monkeypatch.delitem(vrpkit.matrix._PROVIDERS, "osm", raising=False)
    monkeypatch.setitem(sys.modules, "vrpkit.roads.osm", None)  # as if its dependencies were not installed
    with pytest.raises(ValidationError, match=r'^matrix\.provider: the "osm" provider needs the maps extra: '
                                              r'pip install "vrpkit\[maps\]"'):
        _problem(np.array([NODES[1], NODES[5]]), {"provider": "osm", "file": str(tiny)})
    assert "osm" in vrpkit.matrix.providers() and "osrm" in vrpkit.matrix.providers()


@pytest.fixture(scope="module")
def monaco(cache: Path):
    if not MONACO.is_file():
        pytest.skip(f"shared data not found: {MONACO}")
    return street_network(MONACO, cache_dir=cache)[0]


def test_monaco_matrix_equals_networkx_shortest_paths(monaco, cache: Path) -> None:
    rng = np.random.default_rng(7)
    from vrpkit.roads.generate import sample_street_points

    points = sample_street_points(monaco, 12, rng)
    result = osm_matrices(points, file=MONACO, cache_dir=cache)
    assert result.snap_distance.max() < 100  # points on the streets: at most half a segment from a node
    graph = monaco.to_networkx()
    nodes, _ = monaco.snap(points)
    for i, j in [(0, 1), (1, 0), (2, 7), (7, 2), (3, 11), (11, 5), (4, 9), (10, 6)]:
        path = nx.shortest_path(graph, int(nodes[i]), int(nodes[j]), weight="travel_time")
        seconds = nx.shortest_path_length(graph, int(nodes[i]), int(nodes[j]), weight="travel_time")
        metres = sum(graph[a][b]["length"] for a, b in itertools.pairwise(path))
        assert result.duration[i, j] == seconds
        assert result.distance[i, j] == metres
    off = ~np.eye(12, dtype=bool)
    assert np.mean(result.duration[off] != result.duration.T[off]) > 0.5  # one-way streets: asymmetric
    assert np.all(result.distance[off] > 0)
