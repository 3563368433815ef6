"""Real-road instances: clients sampled on the streets of an OpenStreetMap extract, OSRM matrices.

In the spirit of RRNCO (real-routing neural combinatorial optimisation): locations are drawn uniformly along
the drivable streets of the extract (each street segment with probability proportional to its length, then a
uniform point on it; only the largest strongly connected part of the network is used), the asymmetric
distance and duration matrices come from OSRM on the same extract, and demands follow the rl4co/RRNCO
convention (integers 1-9, capacity by size from :data:`CAPACITIES`). ``variant="vrptw"`` adds time windows
that a vehicle serving only that client can meet: service ``service_time`` s, windows of a width drawn from
``window`` s, inside the depot's opening ``[0, horizon]``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.model import Client, Depot, Problem, VehicleType
from vrpkit.roads.common import RoadError
from vrpkit.roads.osm import street_network
from vrpkit.roads.osrm import LOCAL_TABLE_SIZE, OsrmClient, OsrmServer, prepare

CAPACITIES = {10: 20, 15: 25, 20: 30, 30: 33, 40: 37, 50: 40, 60: 43, 75: 45, 100: 50, 125: 55, 150: 60,
              200: 70, 500: 100, 1000: 150}
"""Vehicle capacity by number of clients (rl4co's CVRP generator, used by RRNCO); linear in between."""
VARIANTS = ("cvrp", "vrptw")


def default_capacity(n_clients: int) -> int:
    """The capacity for ``n_clients`` clients: :data:`CAPACITIES`, interpolated, extrapolated at the ends."""
    sizes = sorted(CAPACITIES)
    values = [CAPACITIES[s] for s in sizes]
    if n_clients >= sizes[-1]:
        slope = (values[-1] - values[-2]) / (sizes[-1] - sizes[-2])
        return math.ceil(values[-1] + slope * (n_clients - sizes[-1]))
    return math.ceil(float(np.interp(n_clients, sizes, values)))


def sample_street_points(network: Any, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` lon/lat points uniform along the streets of a :class:`~vrpkit.roads.osm.StreetNetwork`
    (a two-way street counts once)."""
    n = network.n_nodes
    low, high = np.minimum(network.tail, network.head), np.maximum(network.tail, network.head)
    _, first = np.unique(low.astype(np.int64) * n + high, return_index=True)
    tail, head, length = network.tail[first], network.head[first], network.length[first]
    edges = rng.choice(len(length), size=count, p=length / length.sum())
    t = rng.random(count)[:, None]
    points = network.lonlat[tail[edges]] * (1 - t) + network.lonlat[head[edges]] * t
    return np.round(points, 6)


def reachable_table(pbf: Path, count: int, rng: np.random.Generator, *, profile: str, algorithm: str,
                    max_snap: float, cache_dir: str | Path | None, osrm_bin: str | Path | None, threads: int
                    ) -> tuple[np.ndarray, Any]:
    """``count`` street locations of ``pbf`` drawn with ``rng`` (:func:`sample_street_points`) and their OSRM
    table, from a server of its own: locations snapped more than ``max_snap`` m away, and those in the most
    pairs without a route (the cut-off ones), are drawn again, up to 20 times."""
    network, _ = street_network(pbf, cache_dir=cache_dir)
    points = sample_street_points(network, count, rng)
    data = prepare(pbf, profile=profile, algorithm=algorithm, cache_dir=cache_dir, osrm_bin=osrm_bin,
                   threads=threads)
    limit = max(LOCAL_TABLE_SIZE, count)
    with OsrmServer(data, max_table_size=limit, threads=threads, osrm_bin=osrm_bin) as server, \
            OsrmClient(server.url, profile=profile) as client:
        for _attempt in range(20):
            table = client.table(points)
            bad = ~(table.snap_distance <= max_snap)
            missing = ~np.isfinite(table.duration) | ~np.isfinite(table.distance)
            np.fill_diagonal(missing, False)
            if missing.any():
                counts = missing.sum(0) + missing.sum(1)
                bad |= counts == counts.max()
            if not bad.any():
                return points, table
            points[bad] = sample_street_points(network, int(bad.sum()), rng)
    raise RoadError(f"{pbf.name}: could not draw {count} mutually reachable street locations")


def generate_osm_instance(
    pbf: str | Path,
    n_clients: int,
    *,
    seed: int,
    variant: str = "cvrp",
    profile: str = "car",
    algorithm: str = "ch",
    capacity: int | None = None,
    demand: tuple[int, int] = (1, 9),
    service_time: float = 300.0,
    horizon: float = 8 * 3600.0,
    window: tuple[float, float] = (1800.0, 7200.0),
    max_snap: float = 50.0,
    name: str | None = None,
    cache_dir: str | Path | None = None,
    osrm_bin: str | Path | None = None,
    threads: int = 2,
) -> Problem:
    """A CVRP or VRPTW with one depot and ``n_clients`` clients on the streets of ``pbf`` (seeded), with
    explicit OSRM matrices (metres, seconds). Locations that OSRM snaps more than ``max_snap`` m away or that
    cannot reach every other are drawn again. Save it with :func:`save_instance`."""
    if variant not in VARIANTS:
        raise ValidationError("variant", f'"{variant}" is not one of {", ".join(VARIANTS)}')
    if isinstance(n_clients, bool) or not isinstance(n_clients, int) or n_clients < 1:
        raise ValidationError("n_clients", f"expected a positive integer, got {n_clients!r}")
    if not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise ValidationError("seed", f"expected an integer, got {seed!r}")
    pbf = Path(pbf)
    if not pbf.is_file():
        raise ValidationError("pbf", f"{pbf}: no such file")
    rng = np.random.default_rng(seed)
    points, table = reachable_table(pbf, n_clients + 1, rng, profile=profile, algorithm=algorithm,
                                    max_snap=max_snap, cache_dir=cache_dir, osrm_bin=osrm_bin, threads=threads)
    distance, duration = table.distance, table.duration
    low, high = demand
    demands = rng.integers(low, high + 1, size=n_clients)
    windows = [((0.0, math.inf),)] * n_clients
    depot_window = (0.0, math.inf)
    services = np.zeros(n_clients)
    if variant == "vrptw":
        depot_window = (0.0, float(horizon))
        services[:] = service_time
        windows = []
        for i in range(n_clients):
            earliest = math.ceil(duration[0, i + 1])
            latest = math.floor(horizon - service_time - duration[i + 1, 0])
            if latest < earliest:
                raise ValidationError("horizon", f"{horizon:g} s is too short to serve client {i} alone")
            width = rng.uniform(*window)
            start = rng.uniform(earliest, max(earliest, latest - width))
            windows.append(((float(round(start)), float(min(latest, round(start + width)))),))
    label = name or f"{pbf.name.split('.')[0]}-{variant}-n{n_clients}-s{seed}"
    return road_problem(label, points, demands, distance, duration, capacity=capacity, services=services,
                        windows=windows, depot_window=depot_window)


def road_problem(name: str, points: np.ndarray, demands: np.ndarray, distance: np.ndarray, duration: np.ndarray,
                 *, capacity: int | None = None, services: np.ndarray | None = None,
                 windows: list[tuple[tuple[float, float], ...]] | None = None,
                 depot_window: tuple[float, float] = (0.0, math.inf)) -> Problem:
    """The problem with one depot at ``points[0]`` and a client at each other point (``demands``, ``services``
    and ``windows`` per client: none and always open by default) on the explicit matrices ``distance`` and
    ``duration``, one vehicle type of ``capacity`` (:func:`default_capacity` by default, at least the largest
    demand)."""
    n = len(points) - 1
    cap = default_capacity(n) if capacity is None else capacity
    cap = max(cap, int(np.max(demands)))
    services = np.zeros(n) if services is None else services
    windows = [((0.0, math.inf),)] * n if windows is None else windows
    depots = (Depot("depot", tuple(points[0]), depot_window),)
    clients = tuple(Client(f"c{i + 1}", tuple(points[i + 1]), delivery=int(demands[i]),
                           service_time=float(services[i]), time_windows=windows[i]) for i in range(n))
    vehicles = (VehicleType("vehicle", capacity=int(cap)),)
    return Problem(name, depots, clients, vehicles, coordinates="lonlat", matrix={"provider": "explicit"},
                   distance=distance, duration=duration)


def street_pool(
    pbf: str | Path,
    size: int,
    *,
    seed: int,
    profile: str = "car",
    algorithm: str = "ch",
    max_snap: float = 50.0,
    cache_dir: str | Path | None = None,
    osrm_bin: str | Path | None = None,
    threads: int = 2,
) -> dict[str, np.ndarray]:
    """``size`` seeded street locations of ``pbf`` that OSRM snaps within ``max_snap`` m and that all reach
    each other, with one OSRM table of them: ``points`` (size, 2) lon/lat, ``distance`` and ``duration``
    (size, size; metres, seconds; OSRM's rounding artefacts below zero, such as -0.1 m, clipped to 0). Computed
    once, then read from the cache (keyed by the extract's content and the arguments). Sub-sample it with
    :func:`pool_instance`."""
    from vrpkit.roads.cache import cache_root, file_sha256, key_of, load_arrays, save_arrays

    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValidationError("size", f"expected an integer >= 2, got {size!r}")
    if not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise ValidationError("seed", f"expected an integer, got {seed!r}")
    pbf = Path(pbf)
    if not pbf.is_file():
        raise ValidationError("pbf", f"{pbf}: no such file")
    key = key_of("street_pool", file_sha256(pbf, cache_dir), size, seed, profile, algorithm, max_snap)
    path = cache_root(cache_dir) / "pools" / f"{key}.npz"
    pool = load_arrays(path)
    if pool is None:
        rng = np.random.default_rng([seed, 0x9001])  # a stream of its own: not generate_osm_instance's seeds
        points, table = reachable_table(pbf, size, rng, profile=profile, algorithm=algorithm, max_snap=max_snap,
                                        cache_dir=cache_dir, osrm_bin=osrm_bin, threads=threads)
        pool = {"points": points, "distance": table.distance, "duration": table.duration}
        save_arrays(path, **pool)
    return {"points": pool["points"], "distance": np.maximum(pool["distance"], 0.0),
            "duration": np.maximum(pool["duration"], 0.0)}


def pool_instance(pool: dict[str, np.ndarray], nodes: np.ndarray, demands: np.ndarray, *,
                  capacity: int | None = None, name: str = "pool") -> Problem:
    """The CVRP on ``pool``'s locations ``nodes`` (depot first, then the clients; indices into the pool) with
    ``demands`` per client, the pool's submatrices as explicit matrices and capacity :func:`default_capacity`
    (as :func:`generate_osm_instance` makes them)."""
    nodes = np.asarray(nodes, dtype=np.int64)
    n = len(nodes) - 1
    if n < 1 or len(np.unique(nodes)) != len(nodes):
        raise ValidationError("nodes", f"expected distinct pool indices, depot first, got {len(nodes)} entries")
    if len(demands) != n:
        raise ValidationError("demands", f"expected {n} demands, got {len(demands)}")
    sub = np.ix_(nodes, nodes)
    return road_problem(name, pool["points"][nodes], demands, pool["distance"][sub], pool["duration"][sub],
                        capacity=capacity)


def save_instance(problem: Problem, path: str | Path, *, inline: bool = False) -> Path:
    """Write ``problem`` as JSON to ``path``; its matrices go to an ``.npz`` beside it (``<stem>.npz``, read by
    ``{"provider": "explicit", "file": ...}``) unless ``inline``. Returns the JSON path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = problem.to_dict(inline_matrices=inline)
    if not inline:
        npz = path.with_suffix(".npz")
        with open(npz, "wb") as f:
            np.savez(f, distance=problem.distance, duration=problem.duration,
                     node_id=np.array(problem.node_ids, dtype=str))
        data["matrix"] = {"provider": "explicit", "file": npz.name}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = ["CAPACITIES", "default_capacity", "generate_osm_instance", "pool_instance", "reachable_table",
           "road_problem", "sample_street_points", "save_instance", "street_pool"]
