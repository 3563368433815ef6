"""``vrpkit generate | matrix | map | plot`` end to end, and the road providers' errors as one line, exit code 2
and no ``osrm-routed`` left behind.

The pictures need the ``maps`` extra; the road tests need the OSRM executables (``python -m
vrpkit.roads.install``) and the Monaco extract in ../shared/data, and skip without them.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vrpkit.generate import uniform_instance
from vrpkit.io import read_problem
from vrpkit.matrix import haversine_matrix

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MONACO = DATA / "osm" / "monaco.osm.pbf"

TINY: dict[str, Any] = {
    "name": "tiny",
    "depots": [{"id": "D", "location": [0, 0]}],
    "clients": [
        {"id": "a", "location": [3, 4], "delivery": 2},
        {"id": "b", "location": [6, 0], "delivery": 3},
        {"id": "c", "location": [0, -5], "delivery": 4},
    ],
    "vehicle_types": [{"id": "van", "capacity": 6}],
}
"""D-a = 5, a-b = 5, b-D = 6, D-c = 5: the optimum is D-a-b-D and D-c-D, distance 26."""

LONLAT: dict[str, Any] = {
    "name": "monaco-small",
    "coordinates": "lonlat",
    "depots": [{"id": "D", "location": [7.394884, 43.725328]}],
    "clients": [
        {"id": "a", "location": [7.421974, 43.739931], "delivery": 1},
        {"id": "b", "location": [7.427731, 43.732968], "delivery": 1},
        {"id": "c", "location": [7.412441, 43.730689], "delivery": 1},
    ],
    "vehicle_types": [{"id": "van", "capacity": 2}],
}
"""Four locations on the streets of the Monaco extract."""


def vrpkit_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrpkit", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})})


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def needs_map() -> None:
    """Skip unless folium and the embedded Leaflet (the maps extra) are installed."""
    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


# -- generate ----------------------------------------------------------------------------------------------


def test_uniform_instance_follows_its_recipe() -> None:
    problem = uniform_instance(200, seed=7)
    xy = np.asarray(problem.locations)
    assert problem.variant == "CVRP" and problem.n_clients == 200
    assert tuple(xy[0]) == (50, 50)
    assert np.array_equal(xy[1:], np.round(xy[1:])) and xy[1:].min() >= 0 and xy[1:].max() <= 100
    assert xy[1:].min() <= 2 and xy[1:].max() >= 98  # spread over the square
    demand = problem.delivery[:, 0]
    assert demand.min() == 1 and demand.max() == 9
    assert problem.vehicle_types[0].capacity == (50,) and problem.vehicle_types[0].count is None
    assert problem.distance[0, 1] == pytest.approx(math.dist(xy[0], xy[1]))
    again = uniform_instance(200, seed=7)
    assert np.array_equal(again.locations, problem.locations) and np.array_equal(again.delivery, problem.delivery)
    assert not np.array_equal(uniform_instance(200, seed=8).locations, problem.locations)


def test_uniform_ovrp_is_the_cvrp_with_open_routes() -> None:
    closed = uniform_instance(30, seed=4)
    problem = uniform_instance(30, seed=4, variant="ovrp")
    assert problem.variant == "OVRP" and problem.vehicle_types[0].end_depot is None
    assert np.array_equal(problem.distance, closed.distance)
    assert np.array_equal(problem.delivery, closed.delivery)


def test_uniform_vrptw_windows_can_each_be_met_alone() -> None:
    problem = uniform_instance(50, seed=1, variant="vrptw", horizon=400, service_time=10)
    assert problem.variant == "VRPTW"
    windows = problem.time_windows[:, 0]
    there, back = problem.duration[0, 1:], problem.duration[1:, 0]
    assert (windows[:, 0] >= there - 1e-9).all()
    assert (windows[:, 1] + 10 + back <= 400 + 1e-9).all()
    assert (windows[:, 0] <= windows[:, 1]).all()


def test_cli_generate_uniform(tmp_path: Path) -> None:
    done = vrpkit_cli("generate", "-o", tmp_path / "u.json", "--n", "25", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "CVRP, 25 clients, capacity 50" in done.stderr
    problem = read_problem(tmp_path / "u.json")
    expected = uniform_instance(25, seed=3)
    assert np.array_equal(problem.distance, expected.distance)
    assert np.array_equal(problem.delivery, expected.delivery)
    done = vrpkit_cli("generate", "-o", tmp_path / "t.json", "--n", "5", "--variant", "vrptw", "--capacity", "12")
    assert done.returncode == 0, done.stderr
    assert read_problem(tmp_path / "t.json").variant == "VRPTW"


@pytest.mark.parametrize(("args", "message"), [
    (["--variant", "tsp"], 'variant: "tsp" is not one of cvrp, ovrp, vrptw'),
    (["--n", "0"], "--n: 0 < 1"),
    (["--capacity", "5"], "capacity: 5 < the largest demand 9"),
    (["--osm", "nowhere.osm.pbf"], "nowhere.osm.pbf: no such file"),
])
def test_cli_generate_errors(tmp_path: Path, args: list[str], message: str) -> None:
    line = one_line_error(vrpkit_cli("generate", "-o", tmp_path / "p.json", *args))
    assert message in line
    assert not (tmp_path / "p.json").exists()


def test_cli_generate_needs_a_json_file(tmp_path: Path) -> None:
    assert "problems are written as .json" in one_line_error(vrpkit_cli("generate", "-o", tmp_path / "p.txt"))
    assert "is a directory" in one_line_error(vrpkit_cli("generate", "-o", tmp_path))


# -- matrix --------------------------------------------------------------------------------------------------


def test_cli_matrix_of_the_problems_provider_and_of_another(tmp_path: Path) -> None:
    problem_file = write(tmp_path / "tiny.json", TINY)
    done = vrpkit_cli("matrix", problem_file, "-o", tmp_path / "m.npz")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "m.npz") as npz:
        assert npz["distance"][0].tolist() == [0, 5, 6, 5]
        assert np.array_equal(npz["duration"], npz["distance"])
        assert npz["node_id"].tolist() == ["D", "a", "b", "c"]
    lonlat = write(tmp_path / "lonlat.json", LONLAT)
    done = vrpkit_cli("matrix", lonlat, "-o", tmp_path / "h.npz", "--provider", "haversine:speed=36")
    assert done.returncode == 0, done.stderr
    points = np.array([d["location"] for d in LONLAT["depots"] + LONLAT["clients"]])
    with np.load(tmp_path / "h.npz") as npz:
        np.testing.assert_allclose(npz["distance"], haversine_matrix(points))
        np.testing.assert_allclose(npz["duration"], haversine_matrix(points) / 10)  # 36 km/h = 10 m/s


@pytest.mark.parametrize(("args", "message"), [
    (["--provider", "nowhere"], "matrix.provider: unknown provider 'nowhere'"),
    (["--provider", "euclidean:round"], '--provider: "round" is not key=value'),
    (["--provider", "euclidean:speed=fast"], "speed"),
    (["--provider", "{broken"], "--provider: not a JSON object"),
])
def test_cli_matrix_errors(tmp_path: Path, args: list[str], message: str) -> None:
    problem_file = write(tmp_path / "tiny.json", TINY)
    line = one_line_error(vrpkit_cli("matrix", problem_file, "-o", tmp_path / "m.npz", *args))
    assert message in line


# -- map and plot ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """TINY and its solution as ``solve -o`` writes it (with ``stats.progress``)."""
    folder = tmp_path_factory.mktemp("solved")
    problem_file = write(folder / "tiny.json", TINY)
    done = vrpkit_cli("solve", problem_file, "-t", "0.5", "-o", folder / "sol.json", "-q")
    assert done.returncode == 0, done.stderr
    return problem_file, folder / "sol.json"


def test_cli_map_and_plots(tmp_path: Path, solved: tuple[Path, Path]) -> None:
    needs_map()
    pytest.importorskip("matplotlib")
    problem_file, solution = solved
    done = vrpkit_cli("map", problem_file, solution, "-o", tmp_path / "plan.html")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "(2 routes, straight lines)" in done.stderr
    text = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert len(re.findall(r'"className": "vrpkit-route vrpkit-route-\d"', text)) == 2
    assert "L.CRS.Simple" in text
    for kind in ("routes", "schedule", "convergence"):
        out = tmp_path / f"{kind}.png"
        done = vrpkit_cli("plot", problem_file, solution, "-o", out, "--kind", kind, "--dpi", "40")
        assert done.returncode == 0, done.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    short = write(tmp_path / "short.json", {"routes": [{"stops": ["a", "b"]}, {"stops": ["c"]}]})
    done = vrpkit_cli("plot", problem_file, short, "-o", tmp_path / "short.svg")
    assert done.returncode == 0, done.stderr
    assert "<svg" in (tmp_path / "short.svg").read_text()


@pytest.mark.parametrize(("command", "args", "message"), [
    ("plot", ["--kind", "pie"], '--kind: "pie" is not one of routes, schedule, convergence'),
    ("plot", ["--kind", "convergence", "--short"], "stats.progress: missing"),
    ("plot", ["--dpi", "0"], "--dpi: 0 < 1"),
    ("plot", ["-o", "plan.gif"], "figures are written as .png or .svg or .pdf"),
    ("map", ["-o", "plan.png"], "maps are written as .html or .htm"),
    ("map", ["-o", "missing-folder/plan.html"], "missing-folder: no such folder"),
    ("map", ["--roads", "google"], "roads.provider: 'google' is not one of osrm, osm"),
    ("map", ["--roads", "osm:file=city.osm"], 'coordinates: street geometry needs "coordinates": "lonlat"'),
])
def test_cli_picture_errors(tmp_path: Path, solved: tuple[Path, Path], command: str, args: list[str],
                            message: str) -> None:
    problem_file, solution = solved
    if "--short" in args:
        args = [a for a in args if a != "--short"]
        solution = write(tmp_path / "short.json", {"routes": [{"stops": ["a", "b", "c"]}]})
    output = ["-o", tmp_path / ("plan.png" if command == "plot" else "plan.html")]
    if "-o" in args:
        index = args.index("-o")
        output, args = ["-o", tmp_path / args[index + 1]], args[:index] + args[index + 2:]
    line = one_line_error(vrpkit_cli(command, problem_file, solution, *output, *args))
    assert message in line


# -- roads ---------------------------------------------------------------------------------------------------


@pytest.fixture
def lonlat_solved(tmp_path: Path) -> tuple[Path, Path]:
    problem_file = write(tmp_path / "lonlat.json", LONLAT)
    solution = write(tmp_path / "sol.json", {"routes": [{"stops": ["a", "b"]}, {"stops": ["c"]}]})
    return problem_file, solution


def test_unreachable_osrm_server_is_one_line(lonlat_solved: tuple[Path, Path], tmp_path: Path) -> None:
    needs_map()
    from vrpkit.roads.osrm import free_port

    problem_file, solution = lonlat_solved
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(vrpkit_cli("map", problem_file, solution, "-o", tmp_path / "m.html",
                                     "--roads", f"osrm:url={url}"))
    assert f"cannot reach OSRM at {url}" in line
    line = one_line_error(vrpkit_cli("matrix", problem_file, "-o", tmp_path / "m.npz", "--provider",
                                     f"osrm:url={url},cache=false"))
    assert f"cannot reach OSRM at {url}" in line
    assert not (tmp_path / "m.html").exists() and not (tmp_path / "m.npz").exists()


def test_missing_extract_and_missing_executables_are_one_line(lonlat_solved: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    problem_file, solution = lonlat_solved
    line = one_line_error(vrpkit_cli("plot", problem_file, solution, "-o", tmp_path / "p.png",
                                     "--roads", "osrm:pbf=nowhere.osm.pbf"))
    assert re.search(r"matrix\.pbf: \S*nowhere\.osm\.pbf: no such file", line), line
    if not MONACO.is_file():
        pytest.skip(f"shared data not found: {MONACO}")
    (tmp_path / "empty").mkdir()
    line = one_line_error(vrpkit_cli("plot", problem_file, solution, "-o", tmp_path / "p.png",
                                     "--roads", f"osrm:pbf={MONACO},osrm_bin={tmp_path / 'empty'}"))
    assert "OSRM executable" in line and "not found in" in line and "vrpkit.roads.install" in line


def osrm_routed_using(folder: Path) -> list[int]:
    """PIDs of running osrm-routed processes whose data lie under ``folder``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"osrm-routed") and any(str(folder).encode() in a for a in args):
            found.append(int(cmdline.parent.name))
    return found


@pytest.fixture(scope="module")
def osrm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh cache folder for this module and the folder of the OSRM executables."""
    if not MONACO.is_file():
        pytest.skip(f"shared data not found: {MONACO}")
    from vrpkit.roads.osrm import MissingExecutableError, find_executable

    try:
        exe = find_executable("osrm-routed")
    except MissingExecutableError:
        pytest.skip("the OSRM executables are not installed (python -m vrpkit.roads.install)")
    cache = tmp_path_factory.mktemp("osrm-cache")
    return {"VRPKIT_CACHE_DIR": str(cache), "VRPKIT_OSRM_BIN": str(exe.parent)}


def test_point_off_the_map_is_one_line_and_leaves_no_server(osrm_env: dict[str, str], tmp_path: Path) -> None:
    data = json.loads(json.dumps(LONLAT))
    data["clients"][1]["location"] = [7.5, 43.70]  # at sea, kilometres from any street
    problem_file = write(tmp_path / "sea.json", data)
    line = one_line_error(vrpkit_cli("matrix", problem_file, "-o", tmp_path / "m.npz", "--provider",
                                     f"osrm:pbf={MONACO}", env=osrm_env))
    assert re.search(r"clients\[1\]\.location: \d+ m from the nearest street .*is it off the map\?", line), line
    assert not osrm_routed_using(Path(osrm_env["VRPKIT_CACHE_DIR"]))


def test_problem_with_the_osrm_provider_is_drawn_on_its_streets(osrm_env: dict[str, str], tmp_path: Path) -> None:
    needs_map()
    (tmp_path / "monaco.osm.pbf").symlink_to(MONACO)  # read relative to the problem's folder
    problem_file = write(tmp_path / "p.json", {**LONLAT, "matrix": {"provider": "osrm", "pbf": "monaco.osm.pbf"}})
    solution = write(tmp_path / "sol.json", {"routes": [{"stops": ["a", "b"]}, {"stops": ["c"]}]})
    done = vrpkit_cli("map", problem_file, solution, "-o", tmp_path / "plan.html", env=osrm_env)
    assert done.returncode == 0, done.stderr
    assert "(2 routes, streets from osrm (monaco.osm.pbf))" in done.stderr
    done = vrpkit_cli("map", problem_file, solution, "-o", tmp_path / "straight.html", "--roads", "straight",
                      env=osrm_env)
    assert done.returncode == 0, done.stderr
    assert "(2 routes, straight lines)" in done.stderr
    streets, straight = ((tmp_path / name).stat().st_size for name in ("plan.html", "straight.html"))
    assert streets > straight + 1000  # the street geometry
    assert not osrm_routed_using(Path(osrm_env["VRPKIT_CACHE_DIR"]))


def test_matrix_reports_how_far_each_location_was_snapped(osrm_env: dict[str, str], tmp_path: Path) -> None:
    problem_file = write(tmp_path / "lonlat.json", LONLAT)
    done = vrpkit_cli("matrix", problem_file, "-o", tmp_path / "m.npz", "--provider", f"osrm:pbf={MONACO}",
                      env=osrm_env)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "m.npz") as npz:
        snap = npz["snap_distance"]
        assert npz["distance"].shape == npz["duration"].shape == (4, 4) and snap.shape == (4,)
        assert (npz["distance"][~np.eye(4, dtype=bool)] > 0).all()
    rows = re.findall(r"^(depots\[0\]|clients\[\d\])\s+(\w)\s+([\d.]+)\s", done.stdout, re.M)
    assert sorted(r[1] for r in rows) == ["D", "a", "b", "c"]
    by_id = {r[1]: float(r[2]) for r in rows}
    for k, node in enumerate(["D", "a", "b", "c"]):
        assert by_id[node] == pytest.approx(snap[k], abs=0.05)
    assert [float(r[2]) for r in rows] == sorted((float(r[2]) for r in rows), reverse=True)
    assert "snapped to the streets: median" in done.stdout
    assert not osrm_routed_using(Path(osrm_env["VRPKIT_CACHE_DIR"]))


def test_generated_monaco_instance_solves_and_is_drawn_on_the_streets(osrm_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    needs_map()
    pytest.importorskip("matplotlib")
    pytest.importorskip("osmnx")
    problem_file = tmp_path / "monaco.json"
    done = vrpkit_cli("generate", "--osm", MONACO, "--n", "12", "--seed", "0", "--variant", "vrptw", "-o",
                      problem_file, env=osrm_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "monaco.npz").is_file()
    problem = read_problem(problem_file)
    assert problem.variant == "VRPTW" and problem.n_clients == 12 and problem.matrix["provider"] == "explicit"
    solution = tmp_path / "sol.json"
    done = vrpkit_cli("solve", problem_file, "-t", "1", "-o", solution, "-q", env=osrm_env)
    assert done.returncode == 0, done.stdout + done.stderr
    routes = json.loads(solution.read_text())["routes"]
    start = time.perf_counter()
    done = vrpkit_cli("map", problem_file, solution, "-o", tmp_path / "plan.html", "--roads", f"osrm:pbf={MONACO}",
                      env=osrm_env)
    assert done.returncode == 0, done.stderr
    assert f"({len(routes)} routes, streets from osrm (monaco.osm.pbf))" in done.stderr
    assert time.perf_counter() - start < 120
    text = (tmp_path / "plan.html").read_text(encoding="utf-8")
    lines = re.findall(r'L\.polyline\(\s*(\[\[.*?\]\]),\s*\{[^}]*"className": "vrpkit-route vrpkit-route-(\d+)"',
                       text, re.S)
    assert len(lines) == len(routes)
    for points, k in lines:  # along the streets: many more points than the stops
        assert len(json.loads(points)) > len(routes[int(k)]["stops"]) + 2 + 10
    done = vrpkit_cli("plot", problem_file, solution, "-o", tmp_path / "plan.png", "--roads", f"osrm:pbf={MONACO}",
                      "--dpi", "40", env=osrm_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plan.png").read_bytes()[:4] == b"\x89PNG"
    assert not osrm_routed_using(Path(osrm_env["VRPKIT_CACHE_DIR"]))
