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
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vrpkit.errors import ValidationError

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
    possible; by default every client weighs 1 and the limit is ``ceil(len(clients) / k)``. Returns a label
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
        if cap.shape != (w.shape[1],):
            raise ValidationError("limit", f"expected {w.shape[1]} values (one per weight dimension), got "
                                           f"{cap.shape[0] if cap.ndim == 1 else cap.shape}")
        if np.isnan(cap).any() or (cap <= 0).any():
            raise ValidationError("limit", "expected positive numbers")
    return w, cap


def _refusals(w: np.ndarray, lab: np.ndarray, cap: np.ndarray, k: int) -> np.ndarray:
    """Which proposers the groups refuse: ``w`` and ``lab`` sorted by group, then by preference. Each group
    takes its proposers in order while they fit: passes of (refuse those that alone exceed what is left,
    accept the prefix whose running sum fits), each accepting at least one per group, until none is left."""
    load = np.zeros((k, w.shape[1]))
    refused = np.zeros(len(lab), dtype=bool)
    pending = np.arange(len(lab))
    while pending.size:
        left = cap - load[lab[pending]] + 1e-9
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
        for i in left[np.argsort(-(w[left] / cap).max(1), kind="stable")]:
            j = int(((load + w[i]) / cap).max(1).argmin())
            held[i] = j
            load[j] += w[i]
        _repair(held, load, cost, w, cap)
    return held


def _repair(held: np.ndarray, load: np.ndarray, cost: np.ndarray, w: np.ndarray, cap: np.ndarray) -> None:
    """Move members out of overflowing groups into groups where they fit, the cheapest move (cost increase)
    first, while a move lowers the overflow; ``held`` and ``load`` are updated in place."""
    for j in np.flatnonzero((load > cap + 1e-9).any(1)):
        while (load[j] > cap + 1e-9).any():
            members = np.flatnonzero(held == j)
            over = load[j] > cap + 1e-9
            helps = (w[members][:, over] > 0).any(1)
            members = members[helps]
            if not members.size:
                break
            fits = ((load[None, :, :] + w[members][:, None, :]) <= cap + 1e-9).all(2)
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
