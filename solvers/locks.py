"""Warm starts and locked prefixes, for every solver: the plans a user gives, checked, and the problem that
remains once locked prefixes are driven.

A *locked route* is a :class:`~vrpkit.solution.Route` whose clients are the fixed first stops of one route of
that vehicle type (:func:`lock_prefix`, :func:`lock_until`). :func:`reduce` turns a problem and its locked
routes into a :class:`Reduction`: the *remaining problem*, which any solver solves as it is, and the way back
(:meth:`Reduction.expand`), so that locks need nothing from the solvers.

The remaining problem. Each locked route ``k`` (vehicle type ``v``, prefix ``c1 .. cm``) becomes a vehicle
type of count 1 whose start is a new depot at ``cm`` (its distance and duration rows and columns are those of
``cm``); the locked clients are removed; the other vehicle types keep their place, their counts lowered by
the routes locked on them (a type left with none is dropped). The new type keeps ``v``'s end depot (or open
end) and costs per distance and duration, without the fixed cost (the locked route is used anyway). The rest
is computed from the evaluator's schedule of the prefix (:mod:`vrpkit.evaluate`), started at ``t0``, the
earliest departure of ``v``:

- the new depot opens at ``T_lo``, the prefix's departure from ``cm``, and closes at ``T_hi``: the latest
  departure from ``cm`` that the evaluator's delayed start can reach (the prefix's stops stay within their
  windows, its depot start within the shift and the depot's hours, its waits all absorbed; ``T_lo`` when
  they cannot all be absorbed, or when the prefix is late). The shift is ``(T_lo, shift end)``.
- distance left: ``max_distance`` minus the prefix's distance; duration left: ``max_duration - C``, where
  ``C = T_hi - s_hi`` (``s_hi`` the depot start that reaches ``T_hi``): the evaluator's duration of the whole
  route is the reduced route's duration plus ``C``.
- capacity left, per dimension: ``Q - P`` (``P`` the prefix's pickups: on board after it). A vehicle leaves
  with every delivery of its route, so the remaining deliveries must also fit ``Q - M``, where ``M`` is the
  prefix's largest load without them (its deliveries still on board plus its pickups so far). When some
  prefix has ``M > P`` and clients both deliver and pick up, the remaining problem gets one more dimension per
  dimension, the deliveries alone (no pickups: its peak is the start load), with capacity ``Q - M`` on the
  locked types and ``Q`` on the others. With strict backhaul, a locked route whose prefix made a pickup gets
  capacity 0 in those dimensions: no client with a delivery may follow.

Start markers. An unused locked route still drives back from ``cm`` to its end depot, which a remaining
problem without it would not see (using the locked vehicle would cost the whole detour from ``cm``, leaving it
unused nothing: its remaining clients would go to other vehicles too eagerly). So each locked route that
returns gets a *start marker*: a required client at ``cm`` (no load, no service) with window
``[T_lo, T_hi]`` (its end at most ``T_lo`` plus the problem's horizon, so that it is finite; the remaining
problem thus has time windows even when the problem has none), reached from its new depot in no time and
from every other node only after the window has closed (its duration column is the window's end plus one).
Only that vehicle can serve it, and only first: every locked route is used, and a route that serves only its
marker is the prefix driving back. A backend that refuses the markers (PyVRP with strict backhaul: a client
with neither delivery nor pickup) gets the remaining problem without them, and that bias
(``stats["lock_markers"]`` False).

Exactness. For every plan of the remaining problem that serves each marker first on its own route, the
expanded plan (:meth:`Reduction.expand`, markers left out) has the same violations per route (lateness,
capacity, shift, limits, fleet size, missing clients; with strict backhaul a delivery after a locked pickup
shows as ``capacity`` in the remaining problem), and its evaluator's cost is :meth:`Reduction.full_cost` of
the remaining plan's evaluation: the remaining cost, plus for each locked route its fixed cost,
``cost_per_distance`` times the prefix's distance and ``cost_per_duration`` times ``C``; and, for a locked
route the remaining plan leaves unused (without markers), what the prefix alone costs beyond that. Exact when
no stop is late, and when no client of the route has several windows (then the evaluator may find a later
start that reaches a later window and the expanded duration can be shorter; never longer). Capacity
violations keep their constraint but not always their amount. The expanded plan is always scored by the
evaluator on the whole problem, and with a warm start :func:`vrpkit.solvers.solve` never returns a plan
worse than it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.evaluate import _EPS, Evaluation, _data, _routes_from_dict, _times, evaluate
from vrpkit.model import INF, MAX_VALUE, Client, Depot, Problem, VehicleType, fleet_refusal
from vrpkit.solution import Route, Solution

PlanLike = Solution | Sequence[Route] | Mapping[str, Any]


# -- checking what users give ------------------------------------------------------------------------------


def check_plan(problem: Problem, plan: PlanLike, field: str = "initial") -> tuple[Route, ...]:
    """The routes of ``plan`` (a :class:`Solution`, routes, or a solution JSON dict), every vehicle type and
    client checked against ``problem``; raises :class:`ValidationError` naming ``field``."""
    if isinstance(plan, Mapping):
        found: list[Any] = []
        routes = _routes_from_dict(problem, plan, found)
        for v in found:
            where = f"{field}.routes[{v.route}]" if v.route is not None else field
            kind = "vehicle type" if v.constraint == "unknown_vehicle_type" else "client"
            raise ValidationError(where, f'unknown {kind} "{v.client}"')
        return check_plan(problem, [r for r in routes if r.clients], field)
    if isinstance(plan, Solution):
        items: Sequence[Any] = plan.routes
    elif isinstance(plan, Sequence) and not isinstance(plan, str):
        items = plan
    else:
        raise ValidationError(field, f"expected a Solution or a list of Route, got {type(plan).__name__}")
    n_types, n = len(problem.vehicle_types), problem.n_clients
    out = []
    for r, route in enumerate(items):
        if not isinstance(route, Route):
            raise ValidationError(f"{field}[{r}]", f"expected a Route, got {type(route).__name__}")
        if not 0 <= route.vehicle_type < n_types:
            raise ValidationError(f"{field}[{r}].vehicle_type",
                                  f"{route.vehicle_type} is not a vehicle type index (0..{n_types - 1})")
        for s, c in enumerate(route.clients):
            if not 0 <= c < n:
                raise ValidationError(f"{field}[{r}].clients[{s}]", f"{c} is not a client index (0..{n - 1})")
        if route.clients:
            out.append(route)
    seen: set[int] = set()
    for r, route in enumerate(out):
        for s, c in enumerate(route.clients):
            if c in seen:
                raise ValidationError(f"{field}[{r}].clients[{s}]",
                                      f'client "{problem.clients[c].id}" is visited twice')
            seen.add(c)
    return tuple(out)


def check_locked(problem: Problem, locked: Sequence[Route]) -> tuple[Route, ...]:
    """``locked`` checked: known vehicle types and clients, each client locked once, no more locked routes of
    a type than its count. Routes without clients lock nothing and are left out."""
    routes = check_plan(problem, locked, "locked")
    for v, vt in enumerate(problem.vehicle_types):
        n = sum(r.vehicle_type == v for r in routes)
        if vt.count is not None and n > vt.count:
            raise ValidationError("locked", f'{n} routes of vehicle type "{vt.id}" are locked, it has {vt.count}')
    return routes


def lock_prefix(plan: Solution | Sequence[Route], n: int) -> tuple[Route, ...]:
    """The first ``n`` stops of every route of ``plan`` (all of a shorter route), as locked routes."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValidationError("lock_prefix", f"expected a non-negative integer, got {n!r}")
    routes = plan.routes if isinstance(plan, Solution) else plan
    return tuple(Route(r.vehicle_type, r.clients[:n]) for r in routes if r.clients and n > 0)


def lock_until(problem: Problem, plan: PlanLike, time: float) -> tuple[Route, ...]:
    """Every stop of ``plan`` whose service starts before ``time`` by the evaluator's schedule, as locked
    routes (re-planning during the day); routes not started by then lock nothing."""
    if isinstance(time, bool) or not isinstance(time, int | float | np.integer | np.floating) or math.isnan(time):
        raise ValidationError("lock_until", f"expected a time, got {time!r}")
    ev = evaluate(problem, check_plan(problem, plan))
    out = []
    for r in ev.routes:
        k = sum(s < time for s in r.start)  # service starts increase along a route
        if k:
            out.append(Route(r.vehicle_type, r.clients[:k]))
    return tuple(out)


# -- the remaining problem ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedRoute:
    """What the remaining problem keeps of one locked route (see the module docstring for each figure)."""

    vehicle_type: int
    clients: tuple[int, ...]
    depart: float
    """``T_lo``: the prefix's departure from its last stop."""
    latest: float
    """``T_hi``: the latest departure from its last stop."""
    duration: float
    """``C``: the whole route's duration minus the remaining route's."""
    distance: float
    """Distance from the start depot to the last stop."""
    base_cost: float
    """Fixed cost + ``cost_per_distance * distance + cost_per_duration * duration``."""
    alone_cost: float
    """The evaluator's cost of the prefix as a route on its own."""


@dataclass(frozen=True, eq=False)
class Reduction:
    """A problem with locked routes and the problem that remains (see the module docstring)."""

    problem: Problem
    reduced: Problem
    locked: tuple[LockedRoute, ...]
    clients: np.ndarray
    """Client of the remaining problem -> client of the problem."""
    types: tuple[int, ...]
    """Vehicle type of the remaining problem -> vehicle type of the problem, for the types kept (the first
    ``len(types)``); the locked route ``k`` is type ``len(types) + k``."""
    starts: tuple[int, ...]
    """The start marker of each locked route (a client of the remaining problem), -1 for none."""

    def reduce_plan(self, plan: Sequence[Route]) -> Solution:
        """``plan`` in the remaining problem: the route of each locked route (the first of its vehicle type
        that starts with its prefix) continues on that locked route's type; locked clients elsewhere are
        removed; routes of a type the locks used up are dropped."""
        new_index = np.full(self.problem.n_clients, -1, np.int64)
        new_index[self.clients] = np.arange(len(self.clients))
        type_index = {t: i for i, t in enumerate(self.types)}
        base = len(self.types)
        free = list(range(len(self.locked)))
        out = [Route(base + k, (m,)) for k, m in enumerate(self.starts) if m >= 0]  # extended below
        for route in plan:
            target = None
            for k in free:
                lock = self.locked[k]
                if route.vehicle_type == lock.vehicle_type and route.clients[:len(lock.clients)] == lock.clients:
                    target = k
                    break
            if target is not None:
                free.remove(target)
                rest = route.clients[len(self.locked[target].clients):]
                vt = base + target
            else:
                rest, vt = route.clients, type_index.get(route.vehicle_type, -1)
            clients = tuple(int(new_index[c]) for c in rest if new_index[c] >= 0)
            if target is not None and self.starts[target] >= 0:
                i = next(i for i, r in enumerate(out) if r.vehicle_type == vt)
                out[i] = Route(vt, out[i].clients + clients)
            elif vt >= 0 and clients:
                out.append(Route(vt, clients))
        return Solution(tuple(out))

    def expand(self, plan: Solution | Sequence[Route]) -> Solution:
        """A plan of the remaining problem as a plan of the problem: each locked route's prefix, then what the
        remaining plan gives its type (several routes of it are joined in order); ``stats`` are kept."""
        routes = plan.routes if isinstance(plan, Solution) else tuple(plan)
        base = len(self.types)
        tails: list[list[int]] = [[] for _ in self.locked]
        out: list[Route] = []
        n = len(self.clients)
        for route in routes:
            clients = [int(self.clients[c]) for c in route.clients if c < n]  # without the start markers
            if route.vehicle_type >= base:
                tails[route.vehicle_type - base].extend(clients)
            else:
                out.append(Route(self.types[route.vehicle_type], tuple(clients)))
        locked = [Route(lock.vehicle_type, lock.clients + tuple(tail))
                  for lock, tail in zip(self.locked, tails, strict=True)]
        stats = plan.stats if isinstance(plan, Solution) else {}
        return Solution(tuple(locked + out), stats)

    def offset(self) -> float:
        """The cost the locked prefixes add to every remaining plan that uses each locked route."""
        return sum(lock.base_cost for lock in self.locked)

    def full_cost(self, evaluation: Evaluation) -> float:
        """The evaluator's cost of the expanded plan, from the evaluation of the remaining plan (see the module
        docstring for when it is exact)."""
        base = len(self.types)
        used = {r.vehicle_type - base for r in evaluation.routes if r.vehicle_type >= base}
        unused = sum(lock.alone_cost - lock.base_cost for k, lock in enumerate(self.locked) if k not in used)
        return evaluation.cost + self.offset() + unused


def _prefix(problem: Problem, v: int, clients: tuple[int, ...]) -> tuple[float, float, float, float]:
    """``T_lo``, ``T_hi``, ``C`` and the distance of a prefix, from the evaluator's schedule (module
    docstring)."""
    d = _data(problem)
    vt = problem.vehicle_types[v]
    start = d.start[v]
    open_at, close_at = d.depot_tw[start]
    t0 = max(vt.shift[0], open_at)
    arrival, begin, departure, late, _ = _times(d, clients, start, t0)
    t_lo = departure[-1]
    latest = min(vt.shift[1], close_at) - t0
    if any(x > _EPS for x in late) or not latest > _EPS:
        return t_lo, t_lo, t_lo - t0, _distance(problem, v, clients)
    wait = 0.0
    slack = INF  # how far the depot start may move without lateness: min of (window end - start + waits)
    for c, a, s in zip(clients, arrival, begin, strict=True):
        wait += max(0.0, s - a)
        end = next((b for lo, b in d.windows[c] if lo - _EPS <= s <= b + _EPS), d.windows[c][-1][1])
        slack = min(slack, wait + end - s)
    delay = min(slack, latest)
    if delay >= wait - _EPS:  # every wait absorbed: the departure from the last stop can move
        t_hi = t_lo + max(0.0, delay - wait)
        return t_lo, t_hi, t_lo - t0 - wait, _distance(problem, v, clients)
    return t_lo, t_lo, t_lo - (t0 + delay), _distance(problem, v, clients)


def _distance(problem: Problem, v: int, clients: tuple[int, ...]) -> float:
    nodes = [int(problem.vehicle_start[v]), *(problem.n_depots + c for c in clients)]
    return float(sum(problem.distance[a, b] for a, b in itertools.pairwise(nodes)))


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def reduce(problem: Problem, locked: Sequence[Route], *, markers: bool = True) -> Reduction:
    """The problem that remains once ``locked`` (checked with :func:`check_locked`) are driven; ``markers``
    False leaves out the start markers (then the remaining problem has the bias of the module docstring)."""
    p = problem
    if (reason := fleet_refusal(p, "locked routes")) is not None:
        raise ValidationError("lock", reason)
    locked = check_locked(p, locked)
    nd, K = p.n_depots, p.n_dims
    vts = p.vehicle_types
    is_locked = np.zeros(p.n_clients, bool)
    for r in locked:
        is_locked[list(r.clients)] = True
    remaining = np.flatnonzero(~is_locked)
    has_delivery = p.delivery.any(axis=1)
    has_pickup = p.pickup.any(axis=1)
    strict = p.backhaul == "strict" and bool(p.pickup.any())

    # Each prefix's schedule, loads and costs.
    locks, loads = [], []
    for r in locked:
        v, cl = r.vehicle_type, r.clients
        t_lo, t_hi, c_dur, dist = _prefix(p, v, cl)
        vt = vts[v]
        base = vt.fixed_cost + vt.cost_per_distance * dist + vt.cost_per_duration * c_dur
        alone = evaluate(p, [Route(v, cl)]).routes[0].cost
        locks.append(LockedRoute(v, cl, t_lo, t_hi, c_dur, dist, base, alone))
        deliv, pick = p.delivery[list(cl)], p.pickup[list(cl)]
        on_board = deliv.sum(axis=0) - np.cumsum(deliv, axis=0) + np.cumsum(pick, axis=0)
        peak = np.maximum(deliv.sum(axis=0), on_board.max(axis=0))  # M: before the first stop and after each
        after_pickup = strict and bool(has_pickup[list(cl)].any())
        loads.append((pick.sum(axis=0), peak, after_pickup))
    both = p.delivery[remaining].any(axis=0) & p.pickup[remaining].any(axis=0)
    extra = any(
        (np.isfinite(p.capacity[lock.vehicle_type]) & both & (peak > picked)).any()
        or (after and bool(has_delivery[remaining].any()))
        for lock, (picked, peak, after) in zip(locks, loads, strict=True))
    bound = p.delivery[remaining].sum(axis=0) + p.pickup[remaining].sum(axis=0)  # no load goes beyond
    bound = np.minimum(np.maximum(bound, 1), MAX_VALUE).astype(np.int64)

    def capacity(q: np.ndarray, start: np.ndarray | None = None) -> tuple[int, ...]:
        main = np.where(np.isfinite(q), q, bound)
        if not extra:
            return tuple(int(x) for x in main)
        return tuple(int(x) for x in np.concatenate([main, main if start is None else start]))

    # Vehicle types: the original ones with the locked routes taken off their counts, then one per lock.
    taken: set[str] = set()
    types_out, kept = [], []
    for v, vt in enumerate(vts):
        n_locked = sum(lock.vehicle_type == v for lock in locks)
        count = None if vt.count is None else vt.count - n_locked
        if count == 0:
            continue
        cap = vt.capacity if not (extra and vt.capacity) else capacity(p.capacity[v])
        types_out.append(VehicleType(**{**_fields(vt), "count": count, "capacity": cap}))
        taken.add(vt.id)
        kept.append(v)
    depots = list(p.depots)
    ids = {x.id for x in p.depots} | {c.id for c in p.clients}
    for k, (lock, (picked, peak, after)) in enumerate(zip(locks, loads, strict=True)):
        vt = vts[lock.vehicle_type]
        last = p.clients[lock.clients[-1]]
        depot = _unique(f"{last.id} (locked {k})", ids)
        depots.append(Depot(depot, last.location, (lock.depart, lock.latest)))
        q = p.capacity[lock.vehicle_type]
        limited = np.isfinite(q).any() or after
        cap: tuple[int, ...] = ()
        if limited or (extra and vt.capacity):
            main = np.maximum(np.where(np.isfinite(q), q - picked, bound), 0)
            start = np.zeros(K) if after else np.maximum(np.where(np.isfinite(q), q - peak, bound), 0)
            # Without pickups to come, the remaining deliveries (the start load) are the peak: Q - M binds.
            main = np.where(p.pickup[remaining].any(axis=0), main, np.minimum(main, start))
            cap = capacity(main, start if extra else None)
        types_out.append(VehicleType(
            _unique(f"{vt.id} (locked {k})", taken), count=1, capacity=cap, start_depot=depot,
            end_depot=vt.end_depot, shift=(lock.depart, max(lock.depart, vt.shift[1])),
            max_duration=max(0.0, vt.max_duration - lock.duration),
            max_distance=max(0.0, vt.max_distance - lock.distance), fixed_cost=0.0,
            cost_per_distance=vt.cost_per_distance, cost_per_duration=vt.cost_per_duration))

    clients = []
    for c in remaining:
        client = p.clients[int(c)]
        if extra:
            d = tuple(int(x) for x in p.delivery[c])
            client = _replace(client, delivery=d + d, pickup=tuple(int(x) for x in p.pickup[c]) + (0,) * K)
        clients.append(client)
    # Start markers: a required client at the last locked stop that only its locked route reaches in time.
    marked = [k for k, lock in enumerate(locks) if markers and vts[lock.vehicle_type].end_depot is not None]
    starts = [-1] * len(locks)
    for k in marked:
        lock = locks[k]
        last = p.clients[lock.clients[-1]]
        starts[k] = len(clients)
        # A later start than T_lo + horizon never shortens the remaining route: the window's end stays finite.
        clients.append(Client(_unique(f"{last.id} (locked {k} start)", ids), last.location,
                              time_windows=((lock.depart, min(lock.latest, lock.depart + p.horizon)),)))
    new_depots = nd + np.arange(len(locks))
    nodes = np.concatenate([np.arange(nd), nd + np.array([lock.clients[-1] for lock in locks], np.int64),
                            nd + remaining, nd + np.array([locks[k].clients[-1] for k in marked], np.int64)])
    nodes = nodes.astype(np.int64)
    distance = p.distance[np.ix_(nodes, nodes)]
    duration = p.duration[np.ix_(nodes, nodes)].copy()
    for k in marked:
        col = nd + len(locks) + starts[k]
        duration[:, col] = min(clients[starts[k]].time_windows[0][1] + 1.0, MAX_VALUE)  # late but from its start
        duration[new_depots[k], col] = distance[new_depots[k], col] = 0.0
    reduced = Problem(
        name=f"{p.name} (locked)", depots=tuple(depots), clients=tuple(clients), vehicle_types=tuple(types_out),
        coordinates=p.coordinates, backhaul=p.backhaul, distance=distance, duration=duration,
        base_dir=p.base_dir)
    return Reduction(p, reduced, tuple(locks), remaining, tuple(kept), tuple(starts))


def _fields(vt: VehicleType) -> dict[str, Any]:
    return {name: getattr(vt, name) for name in ("id", "count", "capacity", "start_depot", "end_depot", "shift",
                                                  "max_duration", "max_distance", "fixed_cost",
                                                  "cost_per_distance", "cost_per_duration")}


def _replace(client: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(client, **changes)
