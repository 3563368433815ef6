"""Figures: one line per route through the stops, schedule bars at the evaluator's times, convergence points.

Needs matplotlib (the ``maps`` extra); the street-graph test also needs osmnx and osmium.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import vrpkit
from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, VrpkitError, evaluate
from vrpkit.errors import ValidationError

pytest.importorskip("matplotlib")

from vrpkit.maps import PALETTE, route_paths
from vrpkit.plot import plot_convergence, plot_routes, plot_schedule, progress_of, save_figure


@pytest.fixture
def wait() -> Problem:
    """Depot D at (0, 0); a at (3, 4) (window [10, 20], service 1), b at (3, 0) (window [0, 3]), c at (0, 6)
    (optional, prize 5). Durations are distances: Da = 5, Db = 3, ab = 4.

    Route D-b-a-D leaves at 0 (b's window allows no later start), reaches b at 3, leaves at 3, reaches a at 7,
    waits until 10, leaves at 11 and is back at 16: distance 12, duration 16.
    """
    return Problem(
        name="wait",
        depots=(Depot("D", (0, 0)),),
        clients=(
            Client("a", (3, 4), delivery=2, time_windows=((10, 20),), service_time=1),
            Client("b", (3, 0), delivery=3, time_windows=((0, 3),)),
            Client("c", (0, 6), delivery=1, required=False, prize=5),
        ),
        vehicle_types=(VehicleType("v", capacity=6),),
    )


def by_gid(fig, prefix: str) -> dict[str, object]:
    """Artists of ``fig`` whose gid starts with ``prefix``, by gid."""
    return {a.get_gid(): a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))}


def test_routes_one_line_per_route_through_the_stops(line: Problem) -> None:
    plan = Solution.from_lists([[0], [2, 1]])
    fig = plot_routes(line, plan)
    lines = by_gid(fig, "route-")
    assert sorted(lines) == ["route-0", "route-1"]
    np.testing.assert_array_equal(lines["route-0"].get_xydata(), [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(lines["route-1"].get_xydata(), [[0, 0], [3, 0], [2, 0], [0, 0]])
    assert lines["route-0"].get_color() == PALETTE[0] and lines["route-1"].get_color() == PALETTE[1]
    assert lines["route-1"].get_label() == "1 v: 2 stops, 6 · 6 · load 2 / 3"  # distance = duration = 3 + 1 + 2
    depots = by_gid(fig, "depots")["depots"]
    np.testing.assert_array_equal(depots.get_offsets(), [[0, 0]])
    assert not by_gid(fig, "unvisited")
    assert not by_gid(fig, "streets")


def test_routes_open_route_ends_at_its_last_client_and_unvisited_apart(wait: Problem) -> None:
    problem = wait.replace(vehicle_types=(VehicleType("v", capacity=6, end_depot=None),))
    fig = plot_routes(problem, [Route(0, (1, 0))])
    lines = by_gid(fig, "route-")
    np.testing.assert_array_equal(lines["route-0"].get_xydata(), [[0, 0], [3, 0], [3, 4]])
    np.testing.assert_array_equal(by_gid(fig, "unvisited")["unvisited"].get_offsets(), [[0, 6]])
    np.testing.assert_array_equal(by_gid(fig, "stops-0")["stops-0"].get_offsets(), [[3, 0], [3, 4]])


def test_routes_of_a_result_and_of_a_solution_json(line: Problem) -> None:
    result = vrpkit.solve(line, time_limit=0.5, seed=0)
    from_result = by_gid(plot_routes(line, result), "route-")
    from_json = by_gid(plot_routes(line, result.to_dict()), "route-")
    assert len(from_result) == len(result.evaluation.routes) == len(from_json) == 1
    np.testing.assert_array_equal(from_result["route-0"].get_xydata(), [[0, 0], [1, 0], [2, 0], [3, 0], [0, 0]])


def test_schedule_bars_are_the_evaluators_times(wait: Problem) -> None:
    evaluation = evaluate(wait, [Route(0, (1, 0))])
    r = evaluation.routes[0]
    assert (r.start_time, r.arrival, r.start, r.departure, r.end_time) == (0, (3, 7), (3, 10), (3, 11), 16)
    fig = plot_schedule(wait, evaluation)

    def span(gid: str) -> tuple[float, float]:
        (patch,) = [p for p in fig.findobj(lambda a: a.get_gid() == gid)]
        return patch.get_x(), patch.get_x() + patch.get_width()

    assert span("travel-0-0") == (0, 3)  # depot to b
    assert span("service-0-0") == (3, 3)  # b: no service time
    assert span("travel-0-1") == (3, 7)
    assert span("wait-0-1") == (7, 10)
    assert span("service-0-1") == (10, 11)
    assert span("travel-0-2") == (11, 16)  # back to the depot
    assert span("window-0-0-0") == (0, 3)
    assert span("window-0-1-0") == (10, 20)
    assert not by_gid(fig, "wait-0-0")
    assert len(by_gid(fig, "travel-")) == 3 and len(by_gid(fig, "service-")) == 2


def test_schedule_of_every_route_matches_the_evaluation() -> None:
    from vrpkit.generate import uniform_instance

    problem = uniform_instance(12, seed=4, variant="vrptw")
    result = vrpkit.solve(problem, time_limit=0.5, seed=0)
    fig = plot_schedule(problem, result)
    service = by_gid(fig, "service-")
    assert len(service) == problem.n_clients
    for k, r in enumerate(result.evaluation.routes):
        for i in range(len(r.clients)):
            patch = service[f"service-{k}-{i}"]
            assert patch.get_x() == pytest.approx(r.start[i])
            assert patch.get_x() + patch.get_width() == pytest.approx(r.departure[i])
        last = by_gid(fig, f"travel-{k}-{len(r.clients)}")[f"travel-{k}-{len(r.clients)}"]
        assert last.get_x() + last.get_width() == pytest.approx(r.end_time)


def test_convergence_points_are_the_progress() -> None:
    stats = {"solver": "x", "runtime": 2.0, "progress": [[0.1, 50.0], [0.5, 40.0], [1.25, 38.5]]}
    fig = plot_convergence({"stats": stats, "routes": []})
    (line,) = by_gid(fig, "progress-").values()
    np.testing.assert_array_equal(line.get_xydata(), stats["progress"])
    assert line.get_drawstyle() == "steps-post"
    (tail,) = by_gid(fig, "tail-").values()
    np.testing.assert_array_equal(tail.get_xydata(), [[1.25, 38.5], [2.0, 38.5]])


def test_convergence_of_a_solver_run_and_of_several(line: Problem) -> None:
    result = vrpkit.solve(line, time_limit=0.3, seed=0)
    fig = plot_convergence(result)
    (curve,) = by_gid(fig, "progress-").values()
    np.testing.assert_array_equal(curve.get_xydata(), result.stats["progress"])
    both = plot_convergence({"first": [[0, 3], [1, 2]], "second": result.stats})
    assert sorted(by_gid(both, "progress-")) == ["progress-first", "progress-second"]


def test_convergence_errors() -> None:
    with pytest.raises(ValidationError, match=r"stats\.progress: missing"):
        plot_convergence({"stats": {"solver": "x"}, "routes": []})
    with pytest.raises(ValidationError, match=r"stats\.progress: empty"):
        plot_convergence({"progress": []})
    with pytest.raises(ValidationError, match=r"list of \[seconds, objective\]"):
        progress_of({"progress": [1, 2]})


def test_no_plan_to_draw(line: Problem) -> None:
    result = vrpkit.solvers.Result(line, None, None, {"reasons": ["capacity too small"]})
    with pytest.raises(VrpkitError, match="no plan to draw: capacity too small"):
        plot_routes(line, result)


def test_save_figure_png_and_svg(tmp_path, line: Problem) -> None:
    fig = plot_routes(line, Solution.from_lists([[0, 1, 2]]))
    png = save_figure(fig, tmp_path / "plan.png", dpi=50)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in save_figure(fig, tmp_path / "plan.svg").read_text()
    with pytest.raises(VrpkitError, match=r"plan\.bmpx"):
        save_figure(fig, tmp_path / "plan.bmpx")


def test_missing_matplotlib_names_the_extra(monkeypatch, line: Problem) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(VrpkitError, match=r'pip install "vrpkit\[maps\]"'):
        plot_routes(line, Solution.from_lists([[0, 1, 2]]))


def test_draws_into_given_axes(line: Problem) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_routes(line, Solution.from_lists([[0, 1, 2]]), ax=left) is fig
    assert plot_schedule(line, Solution.from_lists([[0, 1, 2]]), ax=right) is fig
    assert len(by_gid(fig, "route-")) == 1


STREETS = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="vrpkit tests">
  <node id="1" version="1" lat="45.0" lon="7.0"/>
  <node id="2" version="1" lat="45.0" lon="7.005"/>
  <node id="3" version="1" lat="45.005" lon="7.005"/>
  <node id="4" version="1" lat="45.005" lon="7.0"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
</osm>
"""
"""An L of streets 1-2-3 and a street 3-4: from 1 to 3 the streets go by 2, from 1 to 4 by 2 and 3."""


def test_routes_follow_the_street_graph(tmp_path) -> None:
    pytest.importorskip("osmnx")
    pytest.importorskip("osmium")
    (tmp_path / "streets.osm").write_text(STREETS)
    problem = Problem(
        "streets", (Depot("D", (7.0, 45.0)),), (Client("a", (7.005, 45.005)), Client("b", (7.0, 45.005))),
        (VehicleType("v"),), coordinates="lonlat",
        matrix={"provider": "osm", "file": "streets.osm", "cache_dir": str(tmp_path / "cache")},
        base_dir=tmp_path,
    )
    (path,) = route_paths(problem, [Route(0, (0, 1))])
    np.testing.assert_allclose(path, [[7.0, 45.0], [7.005, 45.0], [7.005, 45.005], [7.0, 45.005], [7.005, 45.005],
                                      [7.005, 45.0], [7.0, 45.0]])
    fig = plot_routes(problem, [Route(0, (0, 1))])
    np.testing.assert_allclose(by_gid(fig, "route-")["route-0"].get_xydata(), path)
    streets = by_gid(fig, "streets")["streets"]
    assert len(streets.get_segments()) == 3
    (straight,) = route_paths(problem, [Route(0, (0, 1))], roads=False)
    np.testing.assert_array_equal(straight, [[7.0, 45.0], [7.005, 45.005], [7.0, 45.005], [7.0, 45.0]])
