"""Figures of a fleet's day: route lines through reload depots, reloads and breaks in the schedule."""

from __future__ import annotations

import numpy as np
import pytest

from vrpkit import Client, Depot, Problem, Route, evaluate
from vrpkit.model import Break, VehicleType

pytest.importorskip("matplotlib")

from vrpkit.maps import route_nodes, route_paths
from vrpkit.plot import plot_routes, plot_schedule


@pytest.fixture
def day() -> Problem:
    """Depot D at (0, 0), reload time 2; a at (3, 0), b at (0, 4), delivery 1 each, capacity 1 (two trips).
    Lunch: 1 time unit in [0, 100].

    Route D-a-D-b-D with the break after a: leaves at 0, a at 3, break 3-4, D at 7, reload 7-9, b at 13, back
    at 17."""
    return Problem("day", (Depot("D", (0, 0), service_time=2),),
                   (Client("a", (3, 0), delivery=1), Client("b", (0, 4), delivery=1)),
                   (VehicleType("v", capacity=1, reload_depots=("D",), breaks=(Break("lunch", ((0, 100),), 1),)),))


def by_gid(fig, prefix: str) -> dict[str, object]:
    return {a.get_gid(): a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))}


def test_route_nodes_visit_the_reload_depot(day: Problem) -> None:
    ev = evaluate(day, [Route(0, (0, 1), reloads=((1, 0),), breaks=((1, 0),))])
    assert ev.feasible, ev.violations
    assert route_nodes(day, ev.routes[0]) == [0, 1, 0, 2, 0]
    (path,) = route_paths(day, ev)
    np.testing.assert_array_equal(np.asarray(path), [[0, 0], [3, 0], [0, 0], [0, 4], [0, 0]])
    line = by_gid(plot_routes(day, ev), "route-0")["route-0"]
    np.testing.assert_array_equal(np.column_stack(line.get_data()), [[0, 0], [3, 0], [0, 0], [0, 4], [0, 0]])


def test_schedule_shows_reloads_and_breaks_at_the_evaluators_times(day: Problem) -> None:
    ev = evaluate(day, [Route(0, (0, 1), reloads=((1, 0),), breaks=((1, 0),))])
    r = ev.routes[0]
    assert (r.breaks[0].start, r.breaks[0].end) == (3, 4)
    assert (r.reloads[0].arrival, r.reloads[0].start, r.reloads[0].departure) == (7, 7, 9)
    assert r.end_time == 17
    fig = plot_schedule(day, ev)

    def span(gid: str) -> tuple[float, float]:
        (patch,) = [p for p in fig.findobj(lambda a: a.get_gid() == gid)]
        return patch.get_x(), patch.get_x() + patch.get_width()

    assert span("break-0-0") == (3, 4)
    assert span("reload-0-0") == (7, 9)
