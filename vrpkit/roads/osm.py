"""The ``osm`` matrix provider: shortest travel times on an OpenStreetMap street graph, without any server.

``{"provider": "osm", "file": "city.osm.pbf"}`` (or an OSM XML ``.osm`` file, or a GraphML saved by osmnx). The
file is read locally, never downloaded:

1. OSM files are filtered with pyosmium (PyPI ``osmium``) to the ways a car may use, approximately as OSRM's car
   profile decides (``highway`` of a road class, no ``area``, no ``access``/``motor_vehicle``/``motorcar``
   denial such as ``no``, ``private`` or ``destination``, no ``service=emergency_access``) and written as OSM
   XML, which osmnx reads (it cannot read ``.pbf``).
2. osmnx builds the directed street graph (one-way streets and roundabouts in their direction only; motorways
   and ``junction=circular`` are one-way as in OSRM), unsimplified, so that every OSM node of a street is a
   graph node; only the largest strongly connected part is kept, so every pair of nodes has a route.
3. Each edge gets a speed: ``maxspeed`` (``"50"``, ``"30 mph"``, ``"FR:urban"``) times ``maxspeed_factor``
   (0.8, as OSRM), else the default of its highway class (OSRM's car speeds, :data:`SPEEDS`, which the
   ``speeds`` option overrides per class, e.g. ``{"residential": 20}``); its travel time
   is length / speed. Lengths are great-circle metres stored to 1/1024 m, so that path lengths are exact sums
   whatever the order of addition.
4. Locations are snapped to the nearest graph node; many-to-many travel times come from scipy's sparse-graph
   Dijkstra, and the distance of a pair is the length of its fastest route (as OSRM reports it).

The graph is cached per file content and speed settings, the matrices per points as well (``"cache": false``
turns the matrix cache off; the graph cache is keyed by content and never stale).

How durations differ from OSRM's: no turn penalties, no turn restrictions, no traffic-signal or crossing
delays, no surface or width corrections and no u-turn costs, and points snap to the nearest node rather than
onto the nearest edge. Durations are therefore shorter than OSRM's, mostly on short trips with many turns.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.matrix import EARTH_RADIUS_M, Matrices
from vrpkit.roads.cache import cache_root, file_sha256, key_of, load_arrays, load_result, save_arrays, save_result
from vrpkit.roads.common import (
    DEFAULT_MAX_SNAP,
    RoadError,
    RoadMatrices,
    check_reachable,
    check_snaps,
    positive,
    problem_points,
    resolve_file,
)

if TYPE_CHECKING:
    import networkx as nx

    from vrpkit.model import Problem

logger = logging.getLogger(__name__)
SPEEDS: dict[str, float] = {
    "motorway": 90, "motorway_link": 45, "trunk": 85, "trunk_link": 40, "primary": 65, "primary_link": 30,
    "secondary": 55, "secondary_link": 25, "tertiary": 40, "tertiary_link": 20, "unclassified": 25,
    "residential": 25, "living_street": 10, "service": 15,
}
"""Default speeds (km/h) per ``highway`` class: those of OSRM's car profile. Other classes are not drivable."""

MAXSPEED_ZONES = {"urban": 50.0, "rural": 90.0, "trunk": 110.0, "motorway": 130.0}
ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
ACCESS_DENIED = frozenset({
    "no", "agricultural", "forestry", "emergency", "psv", "taxi", "share_taxi", "minibus", "bus", "foot",
    "emergency_vehicle", "restricted", "military", "official", "customers", "private", "delivery", "destination",
    "permit", "residents",
})
"""Access values that close a way to cars (OSRM's car profile ``access_tag_blacklist``)."""
GRAPH_FORMAT = 1
LENGTH_QUANTUM = 1024.0


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise RoadError(f'the osm provider needs {module}: pip install "vrpkit[maps]" ({err})') from None


# -- building the street graph -----------------------------------------------------------------------------


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OSM tags is open to cars (see the module docstring)."""
    if tags.get("highway") not in SPEEDS or tags.get("area") == "yes":
        return False
    if tags.get("service") == "emergency_access" or tags.get("oneway") in ("reversible", "alternating"):
        return False
    for key in ACCESS_KEYS:
        if key in tags:
            return tags[key] not in ACCESS_DENIED
    return True


def filter_to_xml(source: str | Path, target: str | Path) -> int:
    """Write the drivable ways of an OSM file (``.pbf``, ``.osm``, ...) and their nodes as OSM XML to ``target``;
    returns the number of ways kept. Motorways and ``junction=circular`` get an implied ``oneway=yes``."""
    osmium = _require("osmium")
    kept = 0
    try:
        with osmium.BackReferenceWriter(str(target), ref_src=str(source), overwrite=True) as writer:
            ways = osmium.FileProcessor(str(source), osmium.osm.WAY)
            for way in ways.with_filter(osmium.filter.KeyFilter("highway")):
                tags = dict(way.tags)
                if not is_drivable(tags):
                    continue
                if "oneway" not in tags and (tags["highway"] == "motorway" or tags.get("junction") == "circular"):
                    tags["oneway"] = "yes"
                writer.add_way(way.replace(tags=tags))
                kept += 1
    except RuntimeError as err:
        raise RoadError(f"{Path(source).name}: cannot read it as OSM data ({err})") from None
    return kept


def parse_maxspeed(value: Any) -> float | None:
    """km/h of an OSM ``maxspeed`` value (``"50"``, ``"30 mph"``, ``"FR:urban"``, a list: their mean), or None."""
    if isinstance(value, list | tuple):
        parsed = [s for s in (parse_maxspeed(v) for v in value) if s is not None]
        return sum(parsed) / len(parsed) if parsed else None
    if value is None:
        return None
    text = str(value).strip().lower()
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", text):
        speed = float(match.group(1)) * (1.609344 if match.group(2) == "mph" else 1.0)
        return speed if speed > 0 else None
    if match := re.fullmatch(r"[a-z]{2}(?:-[a-z]+)?:([a-z]+)", text):
        return MAXSPEED_ZONES.get(match.group(1))
    return None


def _highway(value: Any) -> str:
    return str(value[0] if isinstance(value, list | tuple) and value else value)


def edge_speed(data: Mapping[str, Any], speeds: Mapping[str, float], maxspeed_factor: float) -> float:
    """Speed (km/h) of an edge from its ``maxspeed`` or, failing that, its ``highway`` class."""
    tagged = parse_maxspeed(data.get("maxspeed"))
    if tagged is not None:
        return tagged * maxspeed_factor
    return float(speeds.get(_highway(data.get("highway")), min(speeds.values())))


def street_graph(
    file: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    maxspeed_factor: float = 0.8,
) -> nx.MultiDiGraph:
    """The drivable street graph of an OSM file or a GraphML: its largest strongly connected part, with edge
    attributes ``length`` (m), ``speed_kph`` and ``travel_time`` (s). ``speeds`` (km/h per highway class)
    override :data:`SPEEDS`; ``maxspeed_factor`` scales tagged ``maxspeed`` values."""
    ox = _require("osmnx")
    path = Path(file)
    logger.info("%s: building the street graph ...", path.name)
    if path.suffix.lower() == ".graphml":
        try:
            graph = ox.load_graphml(path)
        except Exception as err:  # osmnx/networkx raise many kinds on a bad file
            raise RoadError(f"{path.name}: cannot read it as a GraphML street graph ({err})") from None
    else:
        with tempfile.TemporaryDirectory(prefix="vrpkit-osm-") as tmp:
            xml = Path(tmp) / "drivable.osm"
            if filter_to_xml(path, xml) == 0:
                raise RoadError(f"{path.name}: no drivable street in it")
            graph = ox.graph_from_xml(xml, simplify=False, retain_all=True)
    if graph.number_of_edges() == 0:
        raise RoadError(f"{path.name}: no drivable street in it")
    graph = ox.truncate.largest_component(graph, strongly=True)
    speeds = {**SPEEDS, **(speeds or {})}
    for _, _, data in graph.edges(data=True):
        length = math.floor(float(data["length"]) * LENGTH_QUANTUM + 0.5) / LENGTH_QUANTUM
        speed = edge_speed(data, speeds, maxspeed_factor)
        data["length"] = length
        data["speed_kph"] = speed
        data["travel_time"] = max(length, 1.0 / LENGTH_QUANTUM) / (speed / 3.6)
    return graph


# -- the routing arrays -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """A street graph as arrays: node positions and one edge per ordered node pair (the fastest), sorted."""

    node_id: np.ndarray  # (m,) OSM node ids
    lonlat: np.ndarray  # (m, 2)
    tail: np.ndarray  # (e,) node indices, sorted by (tail, head)
    head: np.ndarray
    length: np.ndarray  # metres
    travel_time: np.ndarray  # seconds

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph) -> StreetNetwork:
        """Arrays of ``graph`` (nodes with ``x``/``y``, edges with ``length`` and ``travel_time``)."""
        ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        order = np.argsort(ids)
        ids = ids[order]
        lonlat = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in ids.tolist()], dtype=float)
        edges = [(u, v, d["travel_time"], d["length"]) for u, v, d in graph.edges(data=True) if u != v]
        u, v, t, length = (np.array(col) for col in zip(*edges, strict=True))
        tail, head = np.searchsorted(ids, u.astype(np.int64)), np.searchsorted(ids, v.astype(np.int64))
        keep = np.lexsort((length, t.astype(float), head, tail))  # per pair: the fastest, then the shortest
        tail, head, t, length = tail[keep], head[keep], t[keep].astype(float), length[keep].astype(float)
        first = np.ones(len(tail), dtype=bool)
        first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
        return cls(ids, lonlat, tail[first], head[first], length[first], t[first])

    def to_networkx(self) -> nx.DiGraph:
        """The same network as a networkx ``DiGraph`` on node indices (for checks and plots)."""
        nx = _require("networkx")
        graph = nx.DiGraph()
        for k, (x, y) in enumerate(self.lonlat.tolist()):
            graph.add_node(k, x=x, y=y, osmid=int(self.node_id[k]))
        graph.add_edges_from((int(a), int(b), {"length": float(c), "travel_time": float(d)}) for a, b, c, d in
                             zip(self.tail, self.head, self.length, self.travel_time, strict=True))
        return graph

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ("node_id", "lonlat", "tail", "head", "length",
                                                       "travel_time")}

    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    def _csr(self, weights: np.ndarray) -> Any:
        sparse = _require("scipy.sparse")
        n = self.n_nodes
        indptr = np.searchsorted(self.tail, np.arange(n + 1))
        return sparse.csr_matrix((weights, self.head, indptr), shape=(n, n))

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each lon/lat point and the great-circle distance to it (m)."""
        spatial = _require("scipy.spatial")
        tree = spatial.cKDTree(_unit_vectors(self.lonlat))
        chord, nearest = tree.query(_unit_vectors(np.asarray(points, dtype=float).reshape(-1, 2)))
        return nearest.astype(np.int64), 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2, 0.0, 1.0))

    def matrices(self, sources: np.ndarray, targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Distance (m, of the fastest route) and duration (s) from each source node to each target node
        (``inf`` where there is no route). Sources are routed in chunks to bound memory."""
        csgraph = _require("scipy.sparse.csgraph")
        targets = sources if targets is None else targets
        unique, inverse = np.unique(sources, return_inverse=True)
        graph = self._csr(self.travel_time)
        distance = np.empty((len(unique), len(targets)))
        duration = np.empty((len(unique), len(targets)))
        chunk = max(1, (1 << 24) // max(self.n_nodes, 1))
        for a in range(0, len(unique), chunk):
            rows = slice(a, a + chunk)
            time_to, pred = csgraph.dijkstra(graph, directed=True, indices=unique[rows], return_predecessors=True)
            length_to = self._tree_lengths(pred)
            length_to[~np.isfinite(time_to)] = np.inf
            distance[rows], duration[rows] = length_to[:, targets], time_to[:, targets]
        return distance[inverse], duration[inverse]

    def _tree_lengths(self, pred: np.ndarray) -> np.ndarray:
        """Length from the root of each shortest-path tree (rows of ``pred``) to every node, by pointer jumping:
        each node adds the length accumulated at its current ancestor, then jumps to that ancestor's ancestor.
        Rows go in small groups so that the arrays stay in the processor's cache."""
        rows, n = pred.shape
        indptr = np.searchsorted(self.tail, np.arange(n + 1)).astype(np.int32)
        head = self.head.astype(np.int32)
        last = len(head) - 1
        out = np.empty((rows, n))
        group = max(1, (1 << 18) // max(n, 1))
        for first in range(0, rows, group):
            parent = pred[first:first + group].ravel().astype(np.int32)
            count = len(parent) // n
            has = parent >= 0
            node = np.tile(np.arange(n, dtype=np.int32), count)
            parent = np.where(has, parent, node)
            start = indptr[parent]
            degree = indptr[parent + 1] - start
            acc = np.zeros(count * n)  # the length of the tree edge into each node, among its parent's edges
            for j in range(int(degree.max(initial=0))):
                edge = np.minimum(start + j, last)
                hit = has & (j < degree) & (head[edge] == node)
                acc[hit] = self.length[edge[hit]]
            anc = parent + np.repeat(np.arange(count, dtype=np.int32) * n, n)
            while True:
                up = anc[anc]
                if np.array_equal(up, anc):
                    break
                acc += acc[anc]
                anc = up
            out[first:first + count] = acc.reshape(count, n)
        return out


def _unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def street_network(
    file: str | Path,
    *,
    speeds: Mapping[str, float] | None = None,
    maxspeed_factor: float = 0.8,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> tuple[StreetNetwork, bool]:
    """The routing arrays of ``file`` (built once by :func:`street_graph`, then read from the cache);
    also returns whether they came from the cache."""
    path = Path(file)
    settings = {"speeds": {**SPEEDS, **(speeds or {})}, "maxspeed_factor": maxspeed_factor,
                "format": GRAPH_FORMAT}
    entry = cache_root(cache_dir) / "osm" / f"graph-{key_of(file_sha256(path, cache_dir), settings)}.npz"
    saved = load_arrays(entry) if cache else None
    if saved is not None:
        return StreetNetwork(**saved), True
    network = StreetNetwork.from_graph(street_graph(path, speeds=speeds, maxspeed_factor=maxspeed_factor))
    if cache:
        save_arrays(entry, **network.arrays())
    return network, False


# -- the provider -------------------------------------------------------------------------------------------


def osm_matrices(
    points: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    file: str | Path,
    speeds: Mapping[str, float] | None = None,
    maxspeed_factor: float = 0.8,
    max_snap: float = DEFAULT_MAX_SNAP,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    base_dir: str | Path | None = None,
) -> RoadMatrices:
    """Street-graph matrices between ``points`` (``(n, 2)`` lon/lat); see the module docstring."""
    start = time.perf_counter()
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    labels = tuple(labels) if labels is not None else tuple(f"location[{k}]" for k in range(len(points)))
    max_snap = positive("max_snap", max_snap)
    positive("maxspeed_factor", maxspeed_factor)
    if speeds is not None and (not isinstance(speeds, Mapping) or not speeds
                               or not all(isinstance(v, int | float) and v > 0 for v in speeds.values())):
        raise ValidationError("matrix.speeds", "expected an object of highway class -> positive km/h")
    path = resolve_file(file, base_dir, "file")
    settings = {"speeds": speeds, "maxspeed_factor": maxspeed_factor}
    key = key_of(file_sha256(path, cache_dir), settings, points)
    entry = cache_root(cache_dir) / "matrices" / f"osm-{key}.npz"
    saved = load_result(entry) if cache else None
    details: dict[str, Any] = {"file": path.name}
    if saved is None:
        network, cached_graph = street_network(path, speeds=speeds, maxspeed_factor=maxspeed_factor,
                                               cache_dir=cache_dir)
        if not cached_graph:
            details["graph_built_s"] = round(time.perf_counter() - start, 2)
        details["nodes"] = network.n_nodes
        nodes, snap = network.snap(points)
        distance, duration = network.matrices(nodes)
        arrays = {"distance": distance, "duration": duration, "snap_distance": snap,
                  "snapped": network.lonlat[nodes]}
        details["computed_s"] = round(time.perf_counter() - start, 3)
        if cache:
            save_result(entry, arrays, {k: details[k] for k in ("graph_built_s", "nodes", "computed_s")
                                        if k in details})
        cached = False
    else:
        arrays, meta = saved
        details.update(meta)
        cached = True
    check_snaps(arrays["snap_distance"], labels, max_snap)
    check_reachable(np.isfinite(arrays["duration"]), labels)
    return RoadMatrices(arrays["distance"], arrays["duration"], arrays["snap_distance"], arrays["snapped"], labels,
                        "osm", cached=cached, seconds=time.perf_counter() - start, details=details)


def osm(
    problem: Problem,
    *,
    file: str,
    speeds: dict[str, float] | None = None,
    maxspeed_factor: float = 0.8,
    max_snap: float = DEFAULT_MAX_SNAP,
    cache: bool = True,
    cache_dir: str | None = None,
) -> Matrices:
    """Street-graph distances (m) and durations (s) from a local OSM file or GraphML (see the module)."""
    result = osm_provider_result(problem, file=file, speeds=speeds, maxspeed_factor=maxspeed_factor,
                                 max_snap=max_snap, cache=cache, cache_dir=cache_dir)
    return result.distance, result.duration


def osm_provider_result(problem: Problem, **options: Any) -> RoadMatrices:
    """:func:`osm_matrices` on ``problem``'s nodes (a relative ``file`` is read from ``problem.base_dir``)."""
    points, labels = problem_points(problem, "osm")
    return osm_matrices(points, labels, base_dir=problem.base_dir, **options)
