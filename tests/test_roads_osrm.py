"""The osrm provider: local extracts and servers, blocks, cache, errors, and no osrm-routed left behind.

Needs the OSRM executables (``python -m vrpkit.roads.install``); the tests that need them skip otherwise.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vrpkit import Client, Depot, Problem, ValidationError, VehicleType, VrpkitError
from vrpkit.matrix import haversine_matrix
from vrpkit.roads import RoadError, compute_and_save, road_matrices
from vrpkit.roads.install import install_osrm
from vrpkit.roads.osrm import (
    MissingExecutableError,
    OsrmClient,
    OsrmServer,
    PreparedData,
    find_executable,
    free_port,
    osrm_children,
    osrm_matrices,
    osrm_version,
    prepare,
    route_geometries,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MONACO = DATA / "osm" / "monaco.osm.pbf"
POINTS = np.array([
    [7.394884, 43.725328], [7.421974, 43.739931], [7.427731, 43.732968], [7.440953, 43.751167],
    [7.404, 43.761232], [7.36994, 43.730162], [7.403861, 43.726511], [7.477849, 43.763336],
    [7.430486, 43.742728], [7.412441, 43.730689], [7.395269, 43.762929], [7.42802, 43.737773],
])
"""Twelve locations on the streets of the Monaco extract (the first is the depot in problems)."""

TWO_PARTS = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="vrpkit tests">
  <node id="1" version="1" lat="45.0" lon="7.0"/>
  <node id="2" version="1" lat="45.0" lon="7.005"/>
  <node id="3" version="1" lat="45.0" lon="7.01"/>
  <node id="4" version="1" lat="45.01" lon="7.0"/>
  <node id="5" version="1" lat="45.01" lon="7.005"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="5"/><tag k="highway" v="residential"/></way>
</osm>
"""
"""A straight residential street 1-2-3 (787 m) and, 1.1 km north of it, another one with no link to it."""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="session")
def osrm_available() -> None:
    try:
        for name in ("osrm-extract", "osrm-contract", "osrm-partition", "osrm-customize", "osrm-routed"):
            find_executable(name)
        osrm_version()
    except (MissingExecutableError, RoadError) as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vrpkit-cache")


@pytest.fixture(scope="module")
def monaco(osrm_available: None, cache: Path) -> PreparedData:
    if not MONACO.is_file():
        pytest.skip(f"shared data not found: {MONACO}")
    return prepare(MONACO, cache_dir=cache)


@pytest.fixture(scope="module")
def server(monaco: PreparedData) -> Iterator[OsrmServer]:
    with OsrmServer(monaco) as running_server:
        yield running_server
    assert not running(running_server.pid or 0)


@pytest.fixture(scope="module")
def two_parts(osrm_available: None, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("osm") / "two_parts.osm"
    path.write_text(TWO_PARTS)
    return path


def problem(points: np.ndarray, spec: dict, base_dir: Path | None = None) -> Problem:
    return Problem("p", (Depot("d", tuple(points[0])),),
                   tuple(Client(f"c{i}", tuple(p), delivery=1) for i, p in enumerate(points[1:])),
                   (VehicleType("v", capacity=10),), coordinates="lonlat", matrix=spec, base_dir=base_dir)


def raw_json_table(url: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coords = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in points)
    with urllib.request.urlopen(f"{url}/table/v1/car/{coords}?annotations=duration,distance") as answer:
        data = json.loads(answer.read())
    assert data["code"] == "Ok"
    return np.array(data["distances"], dtype=float), np.array(data["durations"], dtype=float)


# -- installing and finding the executables --------------------------------------------------------------


def test_install_from_a_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "osrm_bindings-9.9.9-cp312-abi3-manylinux_2_28_x86_64.whl"
    script = "#!/bin/sh\necho v9.9.9\n"
    with zipfile.ZipFile(wheel, "w") as archive:  # zip members carry no exec bits
        for name in ("osrm-extract", "osrm-partition", "osrm-customize", "osrm-contract", "osrm-routed"):
            archive.writestr(f"osrm/bin/{name}", script)
        archive.writestr("osrm/share/profiles/car.lua", "-- car\n")
        archive.writestr("osrm/share/profiles/lib/set.lua", "-- set\n")
        archive.writestr("osrm/__init__.py", "")
    target = install_osrm(tmp_path / "osrm", wheel=wheel, quiet=True)
    assert sorted(p.name for p in (target / "bin").iterdir())[0] == "osrm-contract"
    assert os.access(target / "bin" / "osrm-routed", os.X_OK)
    assert (target / "profiles" / "lib" / "set.lua").is_file()
    assert not (target / "__init__.py").exists()
    assert find_executable("osrm-routed", target / "bin") == target / "bin" / "osrm-routed"
    assert osrm_version(target / "bin") == "v9.9.9"


def test_missing_executable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    osm = tmp_path / "two_parts.osm"
    osm.write_text(TWO_PARTS)
    spec = {"provider": "osrm", "pbf": str(osm), "cache_dir": str(tmp_path / "cache"), "osrm_bin": str(tmp_path)}
    with pytest.raises(MissingExecutableError, match=r"OSRM executable osrm-\w+ not found in .*; install them "
                                                     r"with `python -m vrpkit.roads.install`"):
        problem(np.array([[7.0, 45.0], [7.01, 45.0]]), spec)
    monkeypatch.setenv("VRPKIT_OSRM_BIN", str(tmp_path / "nowhere"))
    del spec["osrm_bin"]
    with pytest.raises(VrpkitError, match=r"not found in .*nowhere.*VRPKIT_OSRM_BIN"):
        problem(np.array([[7.0, 45.0], [7.01, 45.0]]), spec)
    assert not osrm_children()


# -- a local extract -----------------------------------------------------------------------------------


def test_pbf_provider_prepares_starts_and_stops_its_server(monaco: PreparedData, server: OsrmServer,
                                                           cache: Path, tmp_path: Path) -> None:
    before = osrm_children()
    spec = {"provider": "osrm", "pbf": MONACO.name, "profile": "car", "cache_dir": str(cache)}
    p = problem(POINTS, spec, base_dir=MONACO.parent)  # a relative pbf is read beside the problem
    assert osrm_children() == before
    with OsrmClient(server.url) as client:  # the same data served by a server of our own
        table = client.table(POINTS)
    assert np.array_equal(p.distance, table.distance) and np.array_equal(p.duration, table.duration)
    off = ~np.eye(len(POINTS), dtype=bool)
    assert np.all(np.diag(p.distance) == 0) and np.all(p.distance[off] > 0)
    assert np.mean(p.duration[off] != p.duration.T[off]) > 0.5  # one-way streets: asymmetric
    assert np.all(p.distance >= haversine_matrix(POINTS) - 1.0)  # roads are no shorter than a straight line
    speed = p.distance[off] / p.duration[off] * 3.6
    assert speed.min() > 10 and speed.max() < 90  # km/h
    result = compute_and_save(p, tmp_path / "m.npz")
    assert result.cached and result.details["algorithm"] == "ch" and result.details["osrm"].startswith("v")
    assert np.all(result.snap_distance < 1.0)
    with np.load(tmp_path / "m.npz") as npz:
        assert np.array_equal(npz["distance"], p.distance) and np.array_equal(npz["snapped"], result.snapped)
    assert "snapped to the streets" in result.summary()


def test_mld_gives_the_same_matrices(monaco: PreparedData, cache: Path) -> None:
    ch = osrm_matrices(POINTS[:6], pbf=MONACO, cache_dir=cache)
    mld = osrm_matrices(POINTS[:6], pbf=MONACO, algorithm="mld", cache_dir=cache)
    assert mld.details["algorithm"] == "mld" and not mld.cached
    assert np.array_equal(ch.duration, mld.duration) and np.array_equal(ch.distance, mld.distance)


def test_cache_hits_start_no_server(monaco: PreparedData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = osrm_matrices(POINTS[:5], pbf=MONACO, cache_dir=tmp_path)
    assert not first.cached and first.details["prepared_s"] >= 0

    def refuse(self: OsrmServer) -> None:
        raise AssertionError("a cached matrix must not start a server")

    monkeypatch.setattr(OsrmServer, "start", refuse)
    again = osrm_matrices(POINTS[:5], pbf=MONACO, cache_dir=tmp_path)
    assert again.cached and again.details["computed_s"] == first.details["computed_s"]  # kept from the first
    assert np.array_equal(again.distance, first.distance) and np.array_equal(again.snapped, first.snapped)
    with pytest.raises(AssertionError, match="must not start"):
        osrm_matrices(POINTS[:4], pbf=MONACO, cache_dir=tmp_path)  # other points: computed
    with pytest.raises(AssertionError, match="must not start"):
        osrm_matrices(POINTS[:5], pbf=MONACO, cache_dir=tmp_path, cache=False)


def test_prepared_data_is_reused(monaco: PreparedData, cache: Path) -> None:
    again = prepare(MONACO, cache_dir=cache)
    assert again.cached and again.base == monaco.base and again.key == monaco.key
    assert len(monaco.key) == 32 and Path(f"{monaco.base}.hsgr").is_file()


# -- a server --------------------------------------------------------------------------------------------


def test_url_provider_equals_raw_osrm(server: OsrmServer, tmp_path: Path) -> None:
    spec = {"provider": "osrm", "url": server.url, "cache_dir": str(tmp_path)}
    p = problem(POINTS, spec)
    distance, duration = raw_json_table(server.url, POINTS)
    assert np.array_equal(p.distance, distance) and np.array_equal(p.duration, duration)
    with OsrmClient(server.url) as binary, OsrmClient(server.url) as text:
        text.binary = False
        a, b = binary.table(POINTS), text.table(POINTS)
    assert binary.binary  # the server speaks flatbuffers: the same numbers as its JSON
    assert np.array_equal(a.distance, b.distance) and np.array_equal(a.duration, b.duration)
    assert np.allclose(a.snapped, b.snapped, atol=1e-5)
    assert np.allclose(a.snap_distance, b.snap_distance, atol=1e-3)


def test_blocks_equal_the_one_shot_table(server: OsrmServer, tmp_path: Path) -> None:
    with OsrmClient(server.url) as client:
        whole = client.table(POINTS)
        blocks = client.table(POINTS, block=5)
        ones = client.table(POINTS[:3], block=1)  # OSRM wants two coordinates: a single one is sent twice
        single = client.table(POINTS[5:6])
    assert whole.requests == 1 and blocks.requests == 9 and ones.requests == 9
    assert np.array_equal(ones.duration, whole.duration[:3, :3])
    assert np.array_equal(ones.snapped, whole.snapped[:3])
    assert single.duration.tolist() == [[0.0]] and np.array_equal(single.snapped, whole.snapped[5:6])
    for name in ("distance", "duration", "snap_distance", "snapped"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name)), name
    result = osrm_matrices(POINTS, url=server.url, max_table_size=5, cache_dir=tmp_path)
    assert result.details["requests"] == 9 and np.array_equal(result.duration, whole.duration)


def test_a_server_limit_is_worked_around(monaco: PreparedData, server: OsrmServer) -> None:
    with OsrmClient(server.url) as client:
        whole = client.table(POINTS)
    with OsrmServer(monaco, max_table_size=4) as small, OsrmClient(small.url) as client:
        table = client.table(POINTS)  # refused at 12, then asked in blocks of 12 // 2 = 6, then 3
        assert table.requests == 16 and np.array_equal(table.duration, whole.duration)
        with pytest.raises(RoadError, match=r"refused a table of 6 locations .*set a smaller max_table_size"):
            client.table(POINTS, block=6)


def test_route_geometry(server: OsrmServer) -> None:
    with OsrmClient(server.url) as client:
        table = client.table(POINTS[:2])
        route = client.route(POINTS[:2])
    assert route["duration"] == pytest.approx(table.duration[0, 1], abs=0.2)
    assert route["distance"] == pytest.approx(table.distance[0, 1], abs=1.0)
    assert route["geometry"].shape[1] == 2 and len(route["geometry"]) > 10
    assert np.allclose(route["geometry"][[0, -1]], table.snapped[:2], atol=1e-5)


def test_route_geometries_with_an_own_server(monaco: PreparedData, cache: Path) -> None:
    before = osrm_children()
    table = osrm_matrices(POINTS[:3], pbf=MONACO, cache_dir=cache)
    routes = route_geometries([POINTS[:3], POINTS[3:4]], pbf=MONACO, cache_dir=cache)
    assert routes[0]["distance"] == pytest.approx(table.distance[0, 1] + table.distance[1, 2], abs=1.0)
    assert routes[0]["duration"] == pytest.approx(table.duration[0, 1] + table.duration[1, 2], abs=0.5)
    assert np.allclose(routes[0]["geometry"][[0, -1]], table.snapped[[0, 2]], atol=1e-5)
    assert routes[1]["distance"] == 0 and np.array_equal(routes[1]["geometry"], POINTS[3:4])
    assert osrm_children() == before


def test_profiles_by_name(two_parts: Path, cache: Path) -> None:
    near = np.array([[7.0, 45.0], [7.01, 45.0]])
    car = osrm_matrices(near, pbf=two_parts, cache_dir=cache)
    foot = osrm_matrices(near, pbf=two_parts, profile="foot", cache_dir=cache)
    assert foot.details["profile"] == "foot" and foot.distance[0, 1] == car.distance[0, 1]
    assert foot.duration[0, 1] == pytest.approx(foot.distance[0, 1] / (5 / 3.6), abs=0.1)  # walking, 5 km/h
    with pytest.raises(ValidationError, match=r'^matrix\.profile: unknown profile "boat" \(known: .*bicycle.*car'):
        osrm_matrices(near, pbf=two_parts, profile="boat", cache_dir=cache)


# -- errors and processes ---------------------------------------------------------------------------------


def test_location_off_the_map(monaco: PreparedData, cache: Path) -> None:
    before = osrm_children()
    points = np.vstack([POINTS[:4], [[7.60, 43.60]]])  # at sea, 17 km south-east
    with pytest.raises(ValidationError, match=r"^clients\[3\]\.location: \d+ m from the nearest street "
                                              r"\(max_snap is 1000 m\)"):
        problem(points, {"provider": "osrm", "pbf": str(MONACO), "cache_dir": str(cache)})
    assert osrm_children() == before


def test_unreachable_location_is_named(two_parts: Path, cache: Path) -> None:
    before = osrm_children()
    near = np.array([[7.0, 45.0], [7.01, 45.0]])
    result = osrm_matrices(near, pbf=two_parts, cache_dir=cache)
    straight = haversine_matrix(near)[0, 1]
    assert straight < result.distance[0, 1] < straight * 1.005  # along the straight street
    assert result.duration[0, 1] == pytest.approx(result.distance[0, 1] / (25 / 3.6), abs=0.1)  # 25 km/h
    cut_off = np.vstack([near, [[7.002, 45.0101]]])  # on the other street
    with pytest.raises(ValidationError, match=r"^clients\[1\]\.location: no route to depots\[0\] and 1 more"):
        problem(cut_off, {"provider": "osrm", "pbf": str(two_parts), "cache_dir": str(cache)})
    data = prepare(two_parts, cache_dir=cache)
    with OsrmServer(data) as srv, OsrmClient(srv.url) as binary, OsrmClient(srv.url) as text:
        text.binary = False
        a, b = binary.table(cut_off), text.table(cut_off)
    assert np.array_equal(np.isnan(a.duration), np.isnan(b.duration)) and np.isnan(a.duration).sum() == 4
    assert osrm_children() == before


def test_a_server_that_cannot_start(tmp_path: Path, monaco: PreparedData) -> None:
    before = osrm_children()
    fake = tmp_path / "map.osrm"
    Path(f"{fake}.properties").write_text("not OSRM data")
    server = OsrmServer(fake)
    with pytest.raises(RoadError, match=r"osrm-routed could not start on map\.osrm \(exit code \d+\)"):
        server.start()
    assert server.process is None and osrm_children() == before
    with pytest.raises(RoadError, match=r"did not answer within 0 s"):
        OsrmServer(monaco, startup_timeout=0).start()
    with pytest.raises(RoadError, match="no prepared OSRM data"):
        OsrmServer(tmp_path / "nothing.osrm").start()
    assert osrm_children() == before


def test_an_error_inside_the_context_stops_the_server(monaco: PreparedData) -> None:
    before = osrm_children()
    with pytest.raises(KeyError), OsrmServer(monaco) as srv:
        pid = srv.pid
        assert pid in osrm_children()
        raise KeyError("boom")
    assert not running(pid) and osrm_children() == before


def test_wrong_urls(tmp_path: Path) -> None:
    with pytest.raises(RoadError, match=r"^cannot reach OSRM at http://127\.0\.0\.1:\d+: "):
        osrm_matrices(POINTS[:3], url=f"http://127.0.0.1:{free_port()}", cache_dir=tmp_path)

    class NotOsrm(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>not found</html>")

        def log_message(self, *args: object) -> None:
            pass

    web = http.server.HTTPServer(("127.0.0.1", 0), NotOsrm)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(RoadError, match=r"is not an OSRM server \(HTTP 404: '<html>not found</html>'\)"):
            osrm_matrices(POINTS[:3], url=f"http://127.0.0.1:{web.server_port}", cache_dir=tmp_path)
    finally:
        web.shutdown()
        web.server_close()
    with pytest.raises(ValidationError, match=r"^matrix\.url: 'ftp://x' is not an http\(s\) URL"):
        osrm_matrices(POINTS[:3], url="ftp://x", cache_dir=tmp_path)
    with pytest.raises(ValidationError, match=r'^matrix: the osrm provider needs either "url" or "pbf"'):
        problem(POINTS[:3], {"provider": "osrm"})
    with pytest.raises(ValidationError, match=r"^matrix\.algorithm: 'bfs' is not one of ch, mld"):
        problem(POINTS[:3], {"provider": "osrm", "pbf": str(tmp_path / "x.osm"), "algorithm": "bfs"})


def test_server_stops_when_python_exits_or_dies(monaco: PreparedData) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from vrpkit.roads.osrm import OsrmServer, PreparedData
        from pathlib import Path
        server = OsrmServer(PreparedData(Path({str(monaco.base)!r}), "ch", "", "")).start()
        print(server.pid, flush=True)
        if sys.argv[1] == "hang":
            time.sleep(60)
    """)
    for how in ("exit", "hang"):  # exit: stopped at exit (atexit); hang: killed, the server gets SIGTERM
        child = subprocess.Popen([sys.executable, "-c", code, how], stdout=subprocess.PIPE, text=True)
        pid = int(child.stdout.readline())
        assert running(pid)
        if how == "hang":
            child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
        deadline = time.monotonic() + 10
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(pid), how


def test_no_osrm_routed_left_behind(server: OsrmServer) -> None:
    assert osrm_children() == {server.pid}


# -- generated instances ---------------------------------------------------------------------------------


def test_generated_instance_on_monaco(monaco: PreparedData, cache: Path, tmp_path: Path) -> None:
    pytest.importorskip("osmnx")
    from vrpkit.io import read_problem
    from vrpkit.roads.generate import generate_osm_instance, save_instance

    p = generate_osm_instance(MONACO, 8, seed=5, variant="vrptw", cache_dir=cache)
    assert p.name == "monaco-vrptw-n8-s5" and p.variant == "VRPTW" and p.coordinates == "lonlat"
    same = generate_osm_instance(MONACO, 8, seed=5, variant="vrptw", cache_dir=cache)
    assert np.array_equal(same.locations, p.locations) and np.array_equal(same.duration, p.duration)
    other = generate_osm_instance(MONACO, 8, seed=6, cache_dir=cache)
    assert not np.array_equal(other.locations, p.locations) and other.variant == "CVRP"
    provider = osrm_matrices(p.locations, pbf=MONACO, cache_dir=cache)  # the matrices are OSRM's
    assert np.array_equal(provider.duration, p.duration) and np.array_equal(provider.distance, p.distance)
    for i, client in enumerate(p.clients):  # each client can be served alone within the depot's hours
        start, end = client.time_window
        arrival = max(p.duration[0, i + 1], start)
        assert arrival <= end
        assert arrival + client.service_time + p.duration[i + 1, 0] <= p.depots[0].time_window[1]
        assert 1 <= client.delivery[0] <= 9
    path = save_instance(p, tmp_path / "inst.json")
    back = read_problem(path)
    assert json.loads(path.read_text())["matrix"] == {"provider": "explicit", "file": "inst.npz"}
    assert np.array_equal(back.distance, p.distance) and back.clients == p.clients
    assert road_matrices(back).provider == "explicit"
