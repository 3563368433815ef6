"""Service territories: compact groups of clients that one vehicle can serve.

:func:`cluster` is the balanced, capacity-constrained clustering underneath (also used by the decomposition):
Lloyd-style iterations whose assignment step bounds every group's weight.

Distances (``metric``):

- ``"coordinates"``: squared straight-line distance between client locations and group centroids (the mean
  of the members' locations); lon/lat locations are first projected onto a local plane (equirectangular around
  the mean latitude). Used by ``"auto"`` when every node has a location and the problem's matrix is
  ``euclidean`` or ``haversine`` (then the locations *are* the metric, and centroids are cheaper than medoids).
- ``"matrix"``: the problem's distance matrix, from a group's medoid (the member with the least total
  distance to the other members) to each client (``distance[medoid, client]``). Works on road and explicit
  matrices without coordinates. Used by ``"auto"`` otherwise.

Memory: the assignment step holds a ``(clients, k)`` cost array; medoids are computed in row blocks of the
matrix, never an ``n x n`` copy.

The assignment is a deferred acceptance (Gale-Shapley with groups as the proposed-to side): every client
proposes to its nearest group that has not yet refused it; each group takes its proposers nearest first,
skipping any that does not fit what is left of ``limit`` (every dimension), and refuses those; refused
clients propose to their next nearest group, until no group refuses anyone. A client that every group refuses
(the limit cannot hold, or the greedy packing fails) goes to the group where it overflows the least (largest
``(load + weight) / limit``, smallest first); then members of overflowing groups move, cheapest move first,
to groups where they fit while that helps. So the limit holds *where possible*. Groups are seeded by
k-means++; the best assignment over the iterations (least overflow, then least total distance to the
centres) is returned. Costs are squared distances in the plane, plain matrix distances otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vrpkit.errors import NoSolutionError, ValidationError
from vrpkit.model import fleet_refusal

if TYPE_CHECKING:
    from vrpkit.model import Problem

Metric = Literal["auto", "coordinates", "matrix"]
METRICS = ("auto", "coordinates", "matrix")
_BLOCK = 1024
"""Rows of the distance matrix read at a time when computing medoids."""


# -- clustering ---------------------------------------------------------------------------------------------


def cluster(
    problem: Problem,
    k: int,
    *,
    clients: Any = None,
    weights: Any = None,
    limit: Any = None,
    seed: int = 0,
    metric: Metric = "auto",
    max_iter: int = 30,
) -> np.ndarray:
    """Balanced, capacity-constrained clustering of ``clients`` into ``k`` compact groups.

    ``clients``: indices into ``problem.clients`` (default all). ``weights`` ``(len(clients), d)`` (or
    ``(len(clients),)``) and ``limit`` ``(d,)`` bound each group's weight sum in every dimension where
    possible (``limit`` ``(k, d)``: one limit per group); by default every client weighs 1 and the limit is
    ``ceil(len(clients) / k)``. Returns a label
    ``0..k-1`` per client (int64, in the order of ``clients``); no group is empty. Seeded, deterministic.
    See the module docstring for the metric and the algorithm. Bad arguments raise :class:`ValidationError`
    naming the argument.
    """
    idx = _check_clients(problem, clients)
    m = len(idx)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= max(m, 1):
        raise ValidationError("k", f"expected an integer from 1 to {m} (the number of clients), got {k!r}")
    k = int(k)
    if metric not in METRICS:
        raise ValidationError("metric", f"{metric!r} is not one of {', '.join(METRICS)}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValidationError("max_iter", f"expected a positive integer, got {max_iter!r}")
    w, cap = _check_weights(weights, limit, m, k)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if k == 1:
        return np.zeros(m, dtype=np.int64)
    rng = np.random.default_rng(seed)
    space = _Space(problem, idx, metric)
    centres = space.seed(k, rng)
    best_labels, best_far, best_score, labels = None, None, (math.inf, math.inf), None
    for _ in range(max_iter):
        new = _assign(space.cost(centres), w, cap)
        far = space.to_centres(centres, new)
        score = (_overflow(new, w, cap, k), float(far.sum()))
        if best_labels is None or score < best_score:
            best_labels, best_far, best_score = new, far, score
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        centres = space.update(labels, k, far)
    assert best_labels is not None and best_far is not None
    return _fill_empty(best_labels, k, best_far)


def _fill_empty(labels: np.ndarray, k: int, far: np.ndarray) -> np.ndarray:
    """``labels`` with each empty group given the member farthest from its centre (of a group of two or
    more)."""
    counts = np.bincount(labels, minlength=k)
    empty = np.flatnonzero(counts == 0)
    if not empty.size:
        return labels
    labels, far = labels.copy(), far.copy()
    for j in empty:
        movable = np.flatnonzero(counts[labels] > 1)
        i = movable[int(far[movable].argmax())]
        counts[labels[i]] -= 1
        labels[i], counts[j], far[i] = j, 1, 0.0
    return labels


def _check_clients(problem: Problem, clients: Any) -> np.ndarray:
    if clients is None:
        return np.arange(problem.n_clients, dtype=np.int64)
    idx = np.asarray(clients)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValidationError("clients", "expected a list of client indices")
    if idx.min() < 0 or idx.max() >= problem.n_clients:
        bad = idx[(idx < 0) | (idx >= problem.n_clients)][0]
        raise ValidationError("clients", f"index {bad} out of range 0..{problem.n_clients - 1}")
    if len(np.unique(idx)) != len(idx):
        raise ValidationError("clients", "an index appears twice")
    return idx.astype(np.int64)


def _check_weights(weights: Any, limit: Any, m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    if weights is None:
        w = np.ones((m, 1))
    else:
        w = np.asarray(weights, dtype=float)
        if w.ndim == 1:
            w = w[:, None]
        if w.ndim != 2 or w.shape[0] != m:
            raise ValidationError("weights", f"expected shape ({m}, d), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValidationError("weights", "expected finite non-negative numbers")
    if limit is None:
        if weights is not None:
            raise ValidationError("limit", "weights need a limit")
        cap = np.array([float(math.ceil(m / k))])
    else:
        cap = np.atleast_1d(np.asarray(limit, dtype=float))
        if cap.shape not in ((w.shape[1],), (k, w.shape[1])):
            raise ValidationError("limit", f"expected shape ({w.shape[1]},) or ({k}, {w.shape[1]}) (one value per "
                                           f"weight dimension, for all groups or each), got {cap.shape}")
        if np.isnan(cap).any() or (cap <= 0).any():
            raise ValidationError("limit", "expected positive numbers")
    return w, np.broadcast_to(cap, (k, w.shape[1]))


def _refusals(w: np.ndarray, lab: np.ndarray, cap: np.ndarray, k: int) -> np.ndarray:
    """Which proposers the groups refuse: ``w`` and ``lab`` sorted by group, then by preference. Each group
    takes its proposers in order while they fit: passes of (refuse those that alone exceed what is left,
    accept the prefix whose running sum fits), each accepting at least one per group, until none is left."""
    load = np.zeros((k, w.shape[1]))
    refused = np.zeros(len(lab), dtype=bool)
    pending = np.arange(len(lab))
    while pending.size:
        left = cap[lab[pending]] - load[lab[pending]] + 1e-9
        alone = (w[pending] <= left).all(1)
        refused[pending[~alone]] = True
        pending, left = pending[alone], left[alone]
        if not pending.size:
            break
        g = lab[pending]
        total = np.cumsum(w[pending], axis=0)
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        before = np.vstack([np.zeros((1, w.shape[1])), total[starts[1:] - 1]])
        run = total - np.repeat(before, np.diff(np.r_[starts, len(g)]), axis=0)
        fits = (run <= left).all(1)
        np.add.at(load, g[fits], w[pending[fits]])
        pending = pending[~fits]
    return refused


def _assign(cost: np.ndarray, w: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Labels from the deferred acceptance described in the module docstring; ``cost`` ``(m, k)`` is
    overwritten (refusals are marked inf)."""
    m, k = cost.shape
    held = cost.argmin(1)
    touched = np.ones(k, dtype=bool)
    stuck: list[np.ndarray] = []
    free = np.zeros(0, dtype=np.int64)
    marks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(m * k):
        cand = np.flatnonzero((held >= 0) & touched[np.maximum(held, 0)])
        lab = held[cand]
        order = np.lexsort((cost[cand, lab], lab))
        refused = _refusals(w[cand[order]], lab[order], cap, k)
        free = cand[order][refused]
        lab = lab[order]
        if free.size == 0:
            break
        marks.append((free, lab[refused], cost[free, lab[refused]]))
        cost[free, lab[refused]] = np.inf
        held[free] = -1
        choice = cost[free].argmin(1)
        ok = np.isfinite(cost[free, choice])
        stuck.append(free[~ok])
        free, choice = free[ok], choice[ok]
        held[free] = choice
        touched[:] = False
        touched[choice] = True
        if free.size == 0:
            break
    for rows, cols, values in marks:  # the costs again, for the repair
        cost[rows, cols] = values
    left = np.concatenate(stuck) if stuck else np.zeros(0, dtype=np.int64)
    if left.size:  # every group refused them: least overflow, heaviest first, then repair
        load = np.zeros((k, w.shape[1]))
        np.add.at(load, held[held >= 0], w[held >= 0])
        for i in left[np.argsort(-(w[left] / cap.min(0)).max(1), kind="stable")]:
            j = int(((load + w[i]) / cap).max(1).argmin())
            held[i] = j
            load[j] += w[i]
        _repair(held, load, cost, w, cap)
    return held


def _repair(held: np.ndarray, load: np.ndarray, cost: np.ndarray, w: np.ndarray, cap: np.ndarray) -> None:
    """Move members out of overflowing groups into groups where they fit, the cheapest move (cost increase)
    first, while a move lowers the overflow; ``held`` and ``load`` are updated in place."""
    for j in np.flatnonzero((load > cap + 1e-9).any(1)):
        while (load[j] > cap[j] + 1e-9).any():
            members = np.flatnonzero(held == j)
            over = load[j] > cap[j] + 1e-9
            helps = (w[members][:, over] > 0).any(1)
            members = members[helps]
            if not members.size:
                break
            fits = ((load[None, :, :] + w[members][:, None, :]) <= cap[None] + 1e-9).all(2)
            fits[:, j] = False
            delta = np.where(fits, cost[members] - cost[members, j][:, None], np.inf)
            flat = int(delta.argmin())
            if not np.isfinite(delta.flat[flat]):
                break
            i, g = members[flat // delta.shape[1]], flat % delta.shape[1]
            held[i] = g
            load[j] -= w[i]
            load[g] += w[i]


def _overflow(labels: np.ndarray, w: np.ndarray, cap: np.ndarray, k: int) -> float:
    """The groups' total weight beyond the limit, relative to the limit."""
    load = np.zeros((k, w.shape[1]))
    np.add.at(load, labels, w)
    return float((np.maximum(load - cap, 0.0) / cap).sum())


class _Space:
    """Where the groups' centres live: centroids in the plane or medoids in the matrix."""

    def __init__(self, problem: Problem, idx: np.ndarray, metric: Metric) -> None:
        self.problem, self.idx = problem, idx
        self.nodes = problem.n_depots + idx
        spec = dict(problem.matrix or {})
        straight = spec.get("provider") in ("euclidean", "haversine")
        if metric == "auto":
            metric = "coordinates" if problem.locations is not None and straight else "matrix"
        if metric == "coordinates" and problem.locations is None:
            raise ValidationError("metric", '"coordinates" needs a location for every node')
        self.metric = metric
        if metric == "coordinates":
            xy = np.asarray(problem.locations, dtype=float)[self.nodes]
            if problem.coordinates == "lonlat":
                lat0 = np.radians(xy[:, 1].mean())
                xy = np.column_stack([np.radians(xy[:, 0]) * math.cos(lat0), np.radians(xy[:, 1])])
            self.xy = xy

    def seed(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """k-means++: centres (points ``(k, 2)`` or medoid positions ``(k,)`` into ``idx``)."""
        m = len(self.idx)
        first = int(rng.integers(m))
        chosen = [first]
        near = self._to(first)
        for _ in range(1, k):
            p = near / near.sum() if near.sum() > 0 else None
            nxt = int(rng.choice(m, p=p))
            chosen.append(nxt)
            np.minimum(near, self._to(nxt), out=near)
        pos = np.array(chosen, dtype=np.int64)
        return self.xy[pos].copy() if self.metric == "coordinates" else pos

    def _to(self, i: int) -> np.ndarray:
        """Squared distances from member ``i`` to every member."""
        if self.metric == "coordinates":
            return ((self.xy - self.xy[i]) ** 2).sum(1)
        d = np.asarray(self.problem.distance[self.nodes[i], self.nodes], dtype=float)
        return d * d

    def cost(self, centres: np.ndarray) -> np.ndarray:
        """``(m, k)`` cost (float32) of each member for each centre."""
        if self.metric == "coordinates":
            xy = self.xy.astype(np.float32)
            c = centres.astype(np.float32)
            dx = xy[:, 0:1] - c[None, :, 0]
            dy = xy[:, 1:2] - c[None, :, 1]
            dx *= dx
            dy *= dy
            dx += dy
            return dx
        return self._rows(centres).T.astype(np.float32, order="C")

    def _rows(self, centres: np.ndarray) -> np.ndarray:
        """``distance[medoid, member]`` ``(k, m)``: a row gather, then a column slice when the members are
        consecutive nodes."""
        dist, nodes = self.problem.distance, self.nodes
        if len(nodes) and nodes[-1] - nodes[0] == len(nodes) - 1:
            return dist[nodes[centres], nodes[0]:nodes[-1] + 1]
        return dist[np.ix_(nodes[centres], nodes)]

    def to_centres(self, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each member's cost (float64) for the centre of its group."""
        if self.metric == "coordinates":
            return ((self.xy - centres[labels]) ** 2).sum(1)
        return np.asarray(self.problem.distance[self.nodes[centres[labels]], self.nodes], dtype=float)

    def update(self, labels: np.ndarray, k: int, far: np.ndarray) -> np.ndarray:
        """New centres of the groups ``labels``; an empty group restarts at the member farthest from its
        centre (``far``: each member's cost for its centre)."""
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        reseed = np.argsort(-far, kind="stable")[: len(empty)]
        if self.metric == "coordinates":
            sums = np.zeros((k, 2))
            np.add.at(sums, labels, self.xy)
            centres = sums / np.maximum(counts, 1)[:, None]
            centres[empty] = self.xy[reseed]
            return centres
        order = np.argsort(labels, kind="stable")
        bounds = np.r_[0, np.cumsum(counts)]
        centres = np.zeros(k, dtype=np.int64)
        dist = self.problem.distance
        for j in np.flatnonzero(counts):
            members = order[bounds[j]:bounds[j + 1]]
            nodes = self.nodes[members]
            sums = np.concatenate([dist[np.ix_(nodes[b:b + _BLOCK], nodes)].sum(1)
                                   for b in range(0, len(nodes), _BLOCK)])
            centres[j] = members[int(sums.argmin())]
        centres[empty] = reseed
        return centres


# -- territories --------------------------------------------------------------------------------------------

METHODS = ("balanced", "binary")
Method = Literal["balanced", "binary"]
_WINDOW = 60
"""How far along the tour (positions) the 2-opt of the duration estimate looks for a second edge."""


@dataclass(frozen=True)
class Territory:
    """One territory: the clients one vehicle of ``vehicle_type`` serves from ``depot``.

    ``delivery`` and ``pickup`` are the load per capacity dimension and ``load_share`` the largest of their
    shares of the vehicle's capacity (0 when unlimited). ``distance`` and ``duration`` are the estimate (see
    :func:`build_territories`) and ``duration_limit`` / ``distance_limit`` the vehicle's (``inf``: none).
    ``spread`` is the mean distance from the territory's medoid to its clients; ``tour_ratio`` the estimated
    tour's distance over the sum of the clients' round trips from the depot (lower is more compact).
    """

    id: int
    depot: str
    vehicle_type: str
    clients: tuple[int, ...]
    delivery: tuple[float, ...]
    pickup: tuple[float, ...]
    capacity: tuple[float, ...]
    load_share: float
    distance: float
    duration: float
    distance_limit: float
    duration_limit: float
    spread: float
    tour_ratio: float
    tour: tuple[int, ...] = field(repr=False)
    """The clients in the order of the estimated tour."""

    @property
    def fits(self) -> bool:
        """True when the load, the estimated duration and the estimated distance are within the vehicle's
        limits."""
        return (self.load_share <= 1 + 1e-9 and self.duration <= self.duration_limit + 1e-9
                and self.distance <= self.distance_limit + 1e-9)


@dataclass(frozen=True)
class Territories:
    """Territories of a problem: ``lower_bound`` is the fewest territories the capacity and duration bounds
    allow (see :func:`lower_bound`)."""

    problem: Problem = field(repr=False)
    method: str
    seed: int
    lower_bound: int
    territories: tuple[Territory, ...]

    @property
    def k(self) -> int:
        return len(self.territories)

    @property
    def labels(self) -> np.ndarray:
        """The territory of each client (-1 for none)."""
        out = np.full(self.problem.n_clients, -1, dtype=np.int64)
        for t in self.territories:
            out[list(t.clients)] = t.id
        return out

    def totals(self) -> dict[str, Any]:
        """Totals over the territories: count, how many fit, mean load share, distance, duration, mean
        spread and tour ratio."""
        ts = self.territories
        return {"territories": len(ts), "lower_bound": self.lower_bound, "fit": sum(t.fits for t in ts),
                "clients": sum(len(t.clients) for t in ts),
                "mean_load_share": _mean([t.load_share for t in ts]),
                "distance": float(sum(t.distance for t in ts)), "duration": float(sum(t.duration for t in ts)),
                "mean_spread": _mean([t.spread for t in ts]), "mean_tour_ratio": _mean([t.tour_ratio for t in ts])}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: method, seed, totals and each territory with its clients' ids."""
        ids = [c.id for c in self.problem.clients]
        num = _number
        return {
            "problem": self.problem.name, "method": self.method, "seed": self.seed, "totals": self.totals(),
            "territories": [{
                "id": t.id, "depot": t.depot, "vehicle_type": t.vehicle_type,
                "clients": [ids[c] for c in t.clients], "tour": [ids[c] for c in t.tour],
                "delivery": list(t.delivery), "pickup": list(t.pickup),
                "capacity": [num(c) for c in t.capacity], "load_share": num(t.load_share),
                "distance": num(t.distance), "duration": num(t.duration), "distance_limit": num(t.distance_limit),
                "duration_limit": num(t.duration_limit), "spread": num(t.spread), "tour_ratio": num(t.tour_ratio),
                "fits": t.fits,
            } for t in self.territories],
        }


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _number(x: float) -> float | None:
    """A number for JSON: None for infinite."""
    return round(float(x), 6) if math.isfinite(x) else None


def build_territories(problem: Problem, k: int | None = None, *, method: Method = "balanced",
                      seed: int = 0) -> Territories:
    """Compact territories whose load fits a vehicle's capacity (every dimension, delivery and pickup) and
    whose estimated route fits its duration and distance limits.

    Each client belongs to the depot it is nearest to (``distance[depot, client]``, among the depots vehicles
    start from); a depot's territories get its vehicles, largest capacity first, count limits respected.
    ``method``: ``"balanced"`` clusters each depot's clients with :func:`cluster` (one weight limit per
    territory: its vehicle's capacity; plus a time weight, service time plus the client's shortest outgoing
    duration, against the vehicle's duration limit); ``"binary"`` (the binary k-means baseline) splits each
    depot's clients by plain 2-means, recursively, until every part fits one vehicle.

    Estimate: a nearest-neighbour tour from the vehicle's start depot through the territory's clients,
    improved by 2-opt (looking up to 60 positions ahead, symmetric distances assumed), timed by the evaluator
    (service times, and waiting where there are windows; the tour order ignores time windows).

    ``k`` None: the fewest territories that fit: from the lower bound, one more territory at a depot per
    territory whose estimate overruns, until none does (``binary``: as many as the splitting makes). ``k``
    given: shared among the depots (each its bound, the rest by their number of clients); ``balanced`` makes
    exactly that many, ``binary`` splits its largest parts until there are at least that many. Below the
    lower bound it is refused. Raises :class:`ValidationError` naming ``k`` or ``method``, and
    :class:`NoSolutionError` when a depot's fleet has too few vehicles. Breaks and release times count in the
    estimate (the evaluator times it); skills, reloads and shipments are refused (one vehicle load per territory,
    any vehicle, every client on its own).
    """
    if (reason := fleet_refusal(problem, "territories", {"breaks", "release_times"})) is not None:
        raise ValidationError("problem", reason)
    if method not in METHODS:
        raise ValidationError("method", f"{method!r} is not one of {', '.join(METHODS)}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        raise ValidationError("k", f"expected a positive integer, got {k!r}")
    if problem.n_clients == 0:
        return Territories(problem, method, seed, 0, ())
    groups = _depot_groups(problem)
    bounds = {d: _bound(problem, members, _fleet(problem, d)) for d, members in groups.items()}
    low = sum(bounds.values())
    if k is not None and k < low:
        raise ValidationError("k", f"{k} < {low}, the fewest territories that fit the capacity and duration "
                                   "bounds")
    if k is not None and k > problem.n_clients:
        raise ValidationError("k", f"{k} > {problem.n_clients}, the number of clients")
    share = _split(k, bounds, {d: len(m) for d, m in groups.items()}) if k is not None else bounds
    out: list[Territory] = []
    for d, members in groups.items():
        fleet = _fleet(problem, d)
        if method == "binary":
            parts = _binary(problem, members, fleet, share[d] if k is not None else 0, seed)
        else:
            parts = _balanced(problem, members, fleet, share[d], seed, grow=k is None)
        for part, v in parts:
            out.append(_territory(problem, len(out), d, v, part))
    return Territories(problem, method, seed, low, _timed(problem, out))


def lower_bound(problem: Problem) -> int:
    """The fewest territories that can fit, summed over depots (each client at its nearest depot): per
    capacity dimension (delivery and pickup), the fewest of the depot's largest vehicles whose capacities add
    up to the load; per time, the service times plus each client's shortest outgoing duration over the
    longest duration limit."""
    return sum(_bound(problem, m, _fleet(problem, d)) for d, m in _depot_groups(problem).items())


def _depot_groups(problem: Problem) -> dict[int, np.ndarray]:
    """Depot -> its clients (indices): the nearest depot that some vehicle type starts from."""
    starts = np.unique(problem.vehicle_start)
    nd = problem.n_depots
    near = starts[np.asarray(problem.distance[starts, nd:]).argmin(0)]
    return {int(d): np.flatnonzero(near == d) for d in starts if (near == d).any()}


def _fleet(problem: Problem, depot: int) -> np.ndarray:
    """The vehicles (type indices, one per vehicle, at most one per client) starting at ``depot``, the
    largest capacity first (sum of the shares of the problem's total load; then the longest duration)."""
    types = np.flatnonzero(problem.vehicle_start == depot)
    total = np.maximum(np.maximum(problem.delivery.sum(0), problem.pickup.sum(0)), 1)
    cap = np.minimum(problem.capacity[types], total)  # unlimited: as if the whole load
    size = (cap / total).sum(1)
    limit = np.array([_limits(problem, v)[0] for v in types])
    order = np.lexsort((-limit, -size))
    counts = [problem.vehicle_types[v].count or problem.n_clients for v in types[order]]
    return np.repeat(types[order], np.minimum(counts, problem.n_clients))


def _limits(problem: Problem, v: int) -> tuple[float, float]:
    """Vehicle type ``v``'s duration limit (max_duration, or the time between the latest of its shift's start
    and its depot's opening and the earliest of its shift's end and its depots' closing) and distance
    limit."""
    vt = problem.vehicle_types[v]
    windows = problem.depot_windows[[d for d in (problem.vehicle_start[v], problem.vehicle_end[v]) if d >= 0]]
    span = min(vt.shift[1], windows[:, 1].min()) - max(vt.shift[0], windows[0, 0])
    return min(vt.max_duration, span), vt.max_distance


def _time_weight(problem: Problem, members: np.ndarray) -> np.ndarray:
    """Service time plus the shortest duration out of each client (to another node), by row blocks."""
    nodes = problem.n_depots + members
    out = np.empty(len(members))
    for b in range(0, len(nodes), 256):
        rows = np.array(problem.duration[nodes[b:b + 256]], dtype=float)
        rows[np.arange(len(rows)), nodes[b:b + 256]] = np.inf
        out[b:b + 256] = rows.min(1)
    out[~np.isfinite(out)] = 0.0
    return problem.service_time[members] + out


def _bound(problem: Problem, members: np.ndarray, fleet: np.ndarray) -> int:
    if not len(fleet):
        return 0
    need = 1
    cap = problem.capacity[fleet]
    for load in (problem.delivery[members].sum(0), problem.pickup[members].sum(0)):
        for dim, amount in enumerate(load):
            if amount > 0:
                reach = np.cumsum(np.sort(cap[:, dim])[::-1])
                need = max(need, int(np.searchsorted(reach, amount - 1e-9)) + 1)
    longest = max(_limits(problem, v)[0] for v in set(fleet.tolist()))
    if math.isfinite(longest) and longest > 0:
        need = max(need, math.ceil(_time_weight(problem, members).sum() / longest - 1e-9))
    return min(need, len(members))


def _split(k: int, bounds: dict[int, int], sizes: dict[int, int]) -> dict[int, int]:
    """``k`` territories over the depots: each its bound, the rest in proportion to its clients (largest
    remainders), never more than its clients."""
    share = dict(bounds)
    extra = k - sum(bounds.values())
    total = sum(sizes.values())
    want = {d: extra * sizes[d] / total for d in sizes}
    for d in sizes:
        share[d] += int(want[d])
    for d in sorted(sizes, key=lambda d: -(want[d] - int(want[d])))[: k - sum(share.values())]:
        share[d] += 1
    over = sum(max(0, share[d] - sizes[d]) for d in sizes)
    for d in sizes:
        share[d] = min(share[d], sizes[d])
    for d in sorted(sizes, key=lambda d: sizes[d] - share[d], reverse=True):
        add = min(over, sizes[d] - share[d])
        share[d] += add
        over -= add
    return share


def _weights(problem: Problem, members: np.ndarray, vehicles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clustering weights (delivery, pickup, time) of ``members`` and the limits of ``vehicles``."""
    w = [problem.delivery[members], problem.pickup[members]]
    cap = [problem.capacity[vehicles], problem.capacity[vehicles]]
    limit = np.array([_limits(problem, v)[0] for v in vehicles])
    if np.isfinite(limit).any():
        w.append(_time_weight(problem, members)[:, None])
        cap.append(limit[:, None])
    weights, caps = np.hstack(w).astype(float), np.hstack(cap)
    keep = np.isfinite(caps).any(0) & (weights > 0).any(0)
    if not keep.any():  # nothing bounds a territory: balance the counts
        even = float(math.ceil(len(members) / len(vehicles)))
        return np.ones((len(members), 1)), np.full((len(vehicles), 1), even)
    return weights[:, keep], caps[:, keep]


def _balanced(problem: Problem, members: np.ndarray, fleet: np.ndarray, k: int, seed: int,
              grow: bool) -> list[tuple[np.ndarray, int]]:
    if k > len(fleet):
        depot = problem.depots[problem.vehicle_start[fleet[0]] if len(fleet) else 0].id
        raise NoSolutionError(f"depot {depot}: its clients need at least {k} territories, its fleet has "
                              f"{len(fleet)} vehicles")
    while True:
        vehicles = fleet[:k]
        w, caps = _weights(problem, members, vehicles)
        labels = cluster(problem, k, clients=members, weights=w, limit=caps, seed=seed)
        parts = [(members[labels == j], int(vehicles[j])) for j in range(k)]
        if not grow or k >= min(len(fleet), len(members)):
            return parts
        over = sum(not t.fits for t in _estimates(problem, parts))
        if not over:
            return parts
        k = min(k + over, len(fleet), len(members))


def _estimates(problem: Problem, parts: list[tuple[np.ndarray, int]]) -> tuple[Territory, ...]:
    """The parts (clients, vehicle type) as territories with their estimates: one evaluation for all."""
    return _timed(problem, [_territory(problem, j, int(problem.vehicle_start[v]), v, part)
                            for j, (part, v) in enumerate(parts)])


def _binary(problem: Problem, members: np.ndarray, fleet: np.ndarray, k: int,
            seed: int) -> list[tuple[np.ndarray, int]]:
    """Recursive 2-means: a part that the largest vehicle cannot take (capacity, estimated duration and
    distance) splits in two by plain 2-means; parts of one client stop. Then, while there are fewer than
    ``k`` parts, the part of the most clients splits."""
    big = int(fleet[0])
    todo, done = [members], []

    def halves(part: np.ndarray) -> list[np.ndarray]:
        labels = cluster(problem, 2, clients=part, weights=np.ones(len(part)), limit=[math.inf], seed=seed)
        return [part[labels == 1], part[labels == 0]]

    while todo:  # a level of the splitting at a time: one evaluation per level
        cap = problem.capacity[big] + 1e-9
        loaded = [bool((np.maximum(problem.delivery[part].sum(0), problem.pickup[part].sum(0)) <= cap).all())
                  for part in todo]  # only parts within capacity need a tour to tell
        estimates = iter(_estimates(problem, [(part, big) for part, ok in zip(todo, loaded, strict=True) if ok]))
        split = []
        for part, ok in zip(todo, loaded, strict=True):
            fits = ok and next(estimates).fits  # in step with the parts estimated
            if len(part) == 1 or fits:
                done.append(part)
            else:
                split += halves(part)
        todo = split
    while len(done) < k:
        done += halves(done.pop(int(np.argmax([len(p) for p in done]))))
    if len(done) > len(fleet):
        raise NoSolutionError(f"depot {problem.depots[problem.vehicle_start[big]].id}: binary splitting gives "
                              f"{len(done)} territories, its fleet has {len(fleet)} vehicles")
    return _give_vehicles(problem, done, fleet)


def _give_vehicles(problem: Problem, parts: list[np.ndarray], fleet: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Each part gets the smallest vehicle left that it fits (by load), the heaviest part first; else the
    largest left."""
    share = [float(np.max(np.maximum(problem.delivery[p].sum(0), problem.pickup[p].sum(0))
                          / np.maximum(problem.capacity[fleet[0]], 1e-300))) for p in parts]
    left = list(fleet)
    out = []
    for i in np.argsort(share)[::-1]:
        part = parts[i]
        load = np.maximum(problem.delivery[part].sum(0), problem.pickup[part].sum(0))
        fit = [n for n, v in enumerate(left) if (load <= problem.capacity[v] + 1e-9).all()]
        n = fit[-1] if fit else 0
        out.append((part, int(left.pop(n))))
    return out


def _territory(problem: Problem, tid: int, depot: int, v: int, part: np.ndarray) -> Territory:
    """A territory with its tour, load, limits and spread; distance and duration are set by :func:`_timed`."""
    nodes = problem.n_depots + part
    cap = problem.capacity[v]
    delivery, pickup = problem.delivery[part].sum(0), problem.pickup[part].sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = float(np.nan_to_num(np.maximum(delivery, pickup) / cap, nan=0.0, posinf=math.inf).max())
    sums = np.concatenate([np.asarray(problem.distance[np.ix_(nodes[b:b + _BLOCK], nodes)]).sum(1)
                           for b in range(0, len(nodes), _BLOCK)])
    spread = float(sums.min() / max(len(part) - 1, 1))
    duration_limit, distance_limit = _limits(problem, v)
    vt = problem.vehicle_types[v]
    return Territory(id=tid, depot=problem.depots[depot].id, vehicle_type=vt.id,
                     clients=tuple(int(c) for c in part), delivery=tuple(float(x) for x in delivery),
                     pickup=tuple(float(x) for x in pickup), capacity=tuple(float(c) for c in cap),
                     load_share=share, distance=0.0, duration=0.0, distance_limit=distance_limit,
                     duration_limit=duration_limit, spread=spread, tour_ratio=0.0,
                     tour=_tour(problem, v, part))


def _tour(problem: Problem, v: int, part: np.ndarray) -> tuple[int, ...]:
    """Nearest neighbour from the vehicle's start depot through ``part``, then 2-opt (best move first, the
    second edge at most ``_WINDOW`` positions ahead, every move vectorised)."""
    dist = problem.distance
    nodes = problem.n_depots + part
    start, end = int(problem.vehicle_start[v]), int(problem.vehicle_end[v])
    order = np.empty(len(part), dtype=np.int64)
    free = np.ones(len(part), dtype=bool)
    here = start
    for step in range(len(part)):  # one row of the matrix per step: the tour is O(len(part)) memory
        row = np.where(free, dist[here, nodes], np.inf)
        nxt = int(row.argmin())
        order[step], free[nxt] = nxt, False
        here = nodes[nxt]
    seq = np.concatenate([[start], nodes[order], [end if end >= 0 else -1]])
    closed = end >= 0
    for _ in range(10 * len(part)):
        n = len(seq) - (1 if closed else 2)  # edges (i, i+1) for i < n; an open tour's last edge is none
        if n < 3:
            break
        i = np.arange(n)[:, None]
        j = i + np.arange(2, min(_WINDOW, n) + 1)[None, :]
        ok = j < n
        j = np.where(ok, j, i)
        a, b, c, dd = seq[i], seq[i + 1], seq[j], seq[np.minimum(j + 1, len(seq) - 1)]
        delta = dist[a, c] + dist[b, dd] - dist[a, b] - dist[c, dd]
        if not closed:  # the last edge of an open tour is (last client, nothing)
            last = j == n
            delta = np.where(last, dist[a, c] - dist[a, b], delta)
        delta = np.where(ok, delta, np.inf)
        best = int(delta.argmin())
        if not delta.flat[best] < -1e-9:
            break
        bi, bj = best // delta.shape[1], int(j.flat[best])
        seq[bi + 1:bj + 1] = seq[bi + 1:bj + 1][::-1].copy()
    clients = seq[1:-1] - problem.n_depots
    return tuple(int(c) for c in clients)


def _timed(problem: Problem, territories: list[Territory]) -> tuple[Territory, ...]:
    """The territories with the evaluator's distance and duration of their tours, and the tour ratio."""
    from vrpkit.evaluate import evaluate
    from vrpkit.solution import Route

    index = problem.vehicle_type_index
    tours = [t.tour for t in territories]
    types = [index[t.vehicle_type] for t in territories]
    ev = evaluate(problem, [Route(v, tour) for v, tour in zip(types, tours, strict=True)])
    schedules = list(ev.routes)
    if "time_windows" in problem.attributes and territories:
        # The tour in window order too (by the middle of the client's windows, or their start when open-ended);
        # each territory keeps the order whose duration plus lateness is smaller.
        tw = problem.time_windows
        a, b = tw[:, 0, 0], tw[:, -1, 1]
        key = np.where(np.isfinite(b), (a + np.where(np.isfinite(b), b, 0.0)) / 2, a)
        timed = [tuple(sorted(tour, key=lambda c: (key[c], c))) for tour in tours]
        ev2 = evaluate(problem, [Route(v, tour) for v, tour in zip(types, timed, strict=True)])
        late, late2 = _late(ev, len(tours)), _late(ev2, len(tours))
        territories = list(territories)
        for r in range(len(tours)):
            score, score2 = late[r] + ev.routes[r].duration, late2[r] + ev2.routes[r].duration
            if score2 < score - 1e-9:
                territories[r] = replace(territories[r], tour=timed[r])
                schedules[r] = ev2.routes[r]
    out = []
    for t, s in zip(territories, schedules, strict=True):
        nodes = problem.n_depots + np.array(t.tour, dtype=np.int64)
        v = index[t.vehicle_type]
        start, end = int(problem.vehicle_start[v]), int(problem.vehicle_end[v])
        trips = float(np.asarray(problem.distance[start, nodes]).sum()
                      + (np.asarray(problem.distance[nodes, end]).sum() if end >= 0 else 0.0))
        ratio = s.distance / trips if trips > 0 else 1.0
        out.append(replace(t, distance=float(s.distance), duration=float(s.duration), tour_ratio=float(ratio)))
    return tuple(out)


def _late(evaluation: Any, n_routes: int) -> list[float]:
    """The lateness (time-window violations) of each route of ``evaluation``."""
    late = [0.0] * n_routes
    for v in evaluation.violations:
        if v.constraint == "time_window" and v.route is not None:
            late[v.route] += v.amount
    return late
