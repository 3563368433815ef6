"""Tiny named problems whose costs can be worked out by hand, and the path of the shared benchmark data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from vrpkit import Client, Depot, Problem, Route, VehicleType

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def needs_data(*parts: str) -> Path:
    """The path of shared data under ``DATA``; skips the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def routes(result) -> set[tuple[str, ...]]:
    """The routes of a result as tuples of client ids."""
    ids = [c.id for c in result.problem.clients]
    return {tuple(ids[c] for c in r.clients) for r in result.solution.routes}


def undirected(result) -> set[tuple[str, ...]]:
    """The routes of a result, each in the orientation that sorts first."""
    return {min(r, r[::-1]) for r in routes(result)}


def nearest_neighbour(p: Problem) -> list[Route]:
    """A CVRP plan in which each route goes to the nearest client that fits the capacity, until none does."""
    dist, nd, cap = p.distance, p.n_depots, p.capacity[0, 0]
    demand = p.delivery[:, 0]
    left, routes = set(range(p.n_clients)), []
    while left:
        here, load, route = 0, 0, []
        while True:
            fits = [c for c in left if load + demand[c] <= cap]
            if not fits:
                break
            c = min(fits, key=lambda c: dist[here, nd + c])
            route.append(c)
            left.remove(c)
            load += demand[c]
            here = nd + c
        routes.append(Route(0, tuple(route)))
    return routes


def two_depot_line(*vehicle_types: VehicleType) -> Problem:
    """Depots D1 at 0 and D2 at 10 on a line, clients a at 1 and b at 9 (delivery 1 each): one vehicle from
    each depot costs 1 + 1 + 1 + 1 = 4; one from D1 to D2 through a and b costs 10."""
    depots = (Depot("D1", (0, 0)), Depot("D2", (10, 0)))
    clients = (Client("a", (1, 0), delivery=1), Client("b", (9, 0), delivery=1))
    return Problem("md", depots=depots, clients=clients, vehicle_types=vehicle_types)


def tight_fleet() -> Problem:
    """Deliveries 4 + 4 + 3 + 3 + 2 + 2 = 18 on a unit circle fill the fleet exactly: one vehicle of 10
    (fixed cost 5) and two of 4."""
    demands = (4, 3, 2, 4, 3, 2)
    clients = tuple(Client(f"c{i}", (math.cos(i), math.sin(i)), delivery=q) for i, q in enumerate(demands))
    fleet = (VehicleType("big", count=1, capacity=10, fixed_cost=5), VehicleType("small", count=2, capacity=4))
    return Problem("tight", (Depot("o", (0, 0)),), clients, fleet)


def corner(**vehicle) -> Problem:
    """Depot D at (0, 0), a at (3, 0), b at (0, 4): Da = 3, Db = 4, ab = 5.

    One route D-a-b-D costs 12; two routes D-a-D + D-b-D cost 6 + 8 = 14. Open: D-a-b = 8, D-b-a = 9, two
    open routes D-a + D-b = 7. Keywords: ``clients``, ``depot``, ``vehicle_types``, else those of the one
    vehicle type.
    """
    clients = vehicle.pop("clients", (Client("a", (3, 0), delivery=1), Client("b", (0, 4), delivery=1)))
    depot = vehicle.pop("depot", Depot("D", (0, 0)))
    types = vehicle.pop("vehicle_types", None) or (VehicleType("v", **vehicle),)
    return Problem("corner", depots=(depot,), clients=clients, vehicle_types=types)


@pytest.fixture
def triangle() -> Problem:
    """Depot D at (0, 0); a at (3, 4), b at (3, 0): Da = 5, Db = 3, ab = 4.

    a: delivery 2, window [10, 20], service 1; b: delivery 3. One vehicle type, capacity 4.
    Route D-a-b-D: distance 12; leave at 5, reach a at 10, leave 11, b at 15, back at 18: duration 13.
    """
    return Problem(
        name="triangle",
        depots=(Depot("D", (0, 0)),),
        clients=(
            Client("a", (3, 4), delivery=2, time_windows=((10, 20),), service_time=1),
            Client("b", (3, 0), delivery=3),
        ),
        vehicle_types=(VehicleType("v", capacity=4),),
    )


@pytest.fixture
def line() -> Problem:
    """Depot at 0 on a line, clients at 1, 2, 3 (ids c1, c2, c3); unit demands; capacity 3; durations = distance.

    The optimum is one route D-c1-c2-c3-D of distance 6.
    """
    return Problem(
        name="line",
        depots=(Depot("D", (0, 0)),),
        clients=tuple(Client(f"c{i}", (i, 0), delivery=1) for i in (1, 2, 3)),
        vehicle_types=(VehicleType("v", capacity=3),),
    )


@pytest.fixture(scope="session", autouse=True)
def compiled_code() -> None:
    """The colony's and the local search's compiled code, built once (quick when it is already built: CI
    builds it in ``.ci/run``), so that tests of the solvers never run the interpreted fallback by surprise."""
    from vrpkit.solvers import build

    build.build()


@pytest.fixture
def torch_one_thread():
    """torch on one thread for a test: its multi-threaded operations crawl on a busy shared CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY: dict[str, Any] = {
    "name": "tiny",
    "depots": [{"id": "D", "location": [0, 0]}],
    "clients": [
        {"id": "a", "location": [3, 4], "delivery": 2},
        {"id": "b", "location": [6, 0], "delivery": 3},
        {"id": "c", "location": [0, -5], "delivery": 4},
    ],
    "vehicle_types": [{"id": "van", "count": 2, "capacity": 6, "fixed_cost": 7, "cost_per_distance": 2}],
}
"""Three clients as problem JSON (the CLI and batch tests write it to a file): two vans of capacity 6."""
