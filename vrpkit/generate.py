"""Synthetic instances: clients at uniform random points of a square (seeded).

:func:`uniform_instance` draws the classic random CVRP of the learning literature with integer data:
``n_clients`` clients at uniform integer coordinates in ``[0, grid]²``, the depot at the centre, integer
demands uniform in ``demand`` (1-9) and one vehicle type of ``capacity`` 50 without a count limit; distances
are Euclidean (unrounded unless ``round`` says otherwise, see :mod:`vrpkit.matrix`) and durations equal
distances. ``variant="vrptw"`` adds a service time and a time window per client that a vehicle serving only
that client can meet, inside the depot's opening ``[0, horizon]`` (as :mod:`vrpkit.roads.generate` does on
real roads). ``variant="ovrp"`` is the CVRP with open routes: vehicles end at their last client.
Real-road instances: :func:`vrpkit.roads.generate.generate_osm_instance`.
"""

from __future__ import annotations

import math

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.model import SAME_AS_START, Client, Depot, Problem, VehicleType

VARIANTS = ("cvrp", "ovrp", "vrptw")


def uniform_instance(
    n_clients: int,
    *,
    seed: int,
    variant: str = "cvrp",
    grid: int = 100,
    capacity: int = 50,
    demand: tuple[int, int] = (1, 9),
    service_time: float = 10.0,
    horizon: float = 1000.0,
    window: tuple[float, float] = (50.0, 200.0),
    round: str = "none",
    name: str | None = None,
) -> Problem:
    """A random CVRP (or VRPTW) with ``n_clients`` clients on the integer grid ``[0, grid]²`` (see the module)."""
    if variant not in VARIANTS:
        raise ValidationError("variant", f'"{variant}" is not one of {", ".join(VARIANTS)}')
    for field, value in (("n_clients", n_clients), ("grid", grid), ("capacity", capacity)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(field, f"expected a positive integer, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError("seed", f"expected an integer, got {seed!r}")
    low, high = demand
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        raise ValidationError("demand", f"expected integers 0 <= low <= high, got {demand!r}")
    if high > capacity:
        raise ValidationError("capacity", f"{capacity} < the largest demand {high}")
    rng = np.random.default_rng(seed)
    points = rng.integers(0, grid + 1, size=(n_clients, 2))
    demands = rng.integers(low, high + 1, size=n_clients)
    depot_xy = (grid / 2, grid / 2)
    depot_window = (0.0, math.inf)
    windows = [((0.0, math.inf),)] * n_clients
    service = 0.0
    if variant == "vrptw":
        depot_window = (0.0, float(horizon))
        service = float(service_time)
        far = np.hypot(points[:, 0] - depot_xy[0], points[:, 1] - depot_xy[1])
        windows = []
        for i in range(n_clients):
            earliest = math.ceil(far[i])
            latest = math.floor(horizon - service - far[i])
            if latest < earliest:
                raise ValidationError("horizon", f"{horizon:g} is too short to serve client {i} alone")
            width = rng.uniform(*window)
            start = rng.uniform(earliest, max(earliest, latest - width))
            windows.append(((float(round_(start)), float(min(latest, round_(start + width)))),))
    clients = tuple(Client(f"c{i + 1}", (int(x), int(y)), delivery=int(q), service_time=service,
                           time_windows=windows[i])
                    for i, ((x, y), q) in enumerate(zip(points.tolist(), demands.tolist(), strict=True)))
    label = name or f"uniform-{variant}-n{n_clients}-s{seed}"
    spec = {"provider": "euclidean"} if round == "none" else {"provider": "euclidean", "round": round}
    end = None if variant == "ovrp" else SAME_AS_START
    return Problem(label, (Depot("depot", depot_xy, depot_window),), clients,
                   (VehicleType("vehicle", capacity=capacity, end_depot=end),), matrix=spec)


def round_(x: float) -> int:
    """Round half up (the same on every platform and numpy version)."""
    return math.floor(x + 0.5)


__all__ = ["VARIANTS", "uniform_instance"]
