"""PyVRP backend (``solver="pyvrp"``, extra ``hgs``): the reference for the classic variants.

PyVRP 0.14 runs an iterated local search (late-acceptance hill climbing over a penalised local search, with
restarts). How vrpkit's model maps onto PyVRP's:

- Locations: the problem's nodes (depots, then clients), plus one *sink* location when some routes are open.
  The sink is reached from every location at zero distance and duration; open vehicle types end there, so an
  open route ends when service at its last client ends, as the evaluator has it.
- Depots: one PyVRP depot per vrpkit depot with its opening hours (vehicles start inside them and end before
  they close). PyVRP makes a vehicle that reaches its end depot before it opens wait; the evaluator does not,
  so a depot that opens after 0 and ends routes gets a second PyVRP depot at the same place that opens at 0.
- Vehicle types: ``count`` (unlimited: one per client), capacity vector, start and end depot, ``shift`` as
  the vehicle's time window, ``max_duration`` as PyVRP's shift duration, ``max_distance``, fixed cost, cost
  per distance and per duration. A type that cannot leave its depot within its shift serves nobody and is
  left out.
- Clients: delivery and pickup vectors (PyVRP loads every delivery at the depot and collects pickups on the
  way, with the capacity checked all along the route: the evaluator's mixed backhaul), one time window,
  service time, ``required`` and ``prize``.
- Strict backhaul: PyVRP has no order constraint. Its own reader (``pyvrp/read.py``, VRPB files) sets the
  distance of every arc from the depot to a backhaul client and from a backhaul client to a linehaul client
  to ``MAX_VALUE``, so that plans using them are merely very expensive (and routes of backhauls only are
  forbidden, as in the VRPB literature). vrpkit allows routes of pickups only, so only the arcs from a
  client with a pickup to a client with a delivery change: their distance is one more than the sum of the
  longest arc out of every location, and every vehicle type gets that sum as ``max_distance`` (or its own
  limit when smaller), so that a plan using one is infeasible for PyVRP, not only expensive, while every
  other route stays within the limit. A feasible PyVRP plan thus keeps pickups after deliveries and costs the
  same for PyVRP and the evaluator.

A real fleet (PyVRP 0.14 models all of it but breaks and ride times):

- Multi-trip: a type's allowed reload depots (:attr:`~vrpkit.model.Problem.reload_allowed`) become PyVRP's
  ``reload_depots`` and its ``max_reloads`` PyVRP's (unlimited: PyVRP's default); a depot's reload time is its
  ``service_duration``. PyVRP spends a depot's service duration at the start of every trip, the first one
  too, where vrpkit reloads only between trips; so a start depot with a reload time gets a copy without it,
  which the types starting there start from. A trip of PyVRP's solution ends at a depot activity: it maps back
  to a reload before the next client (:attr:`vrpkit.solution.Route.reloads`; an empty trip, which serves
  nobody, is dropped). PyVRP keeps a shipment within one trip, which the evaluator allows.
- Release times: PyVRP's client ``release_time`` (a trip leaves its depot no earlier than the latest release
  time of its clients, as in the evaluator).
- Shipments: the two stops of a :class:`~vrpkit.model.Shipment` are one ``pyvrp.Shipment`` (their locations,
  windows and service times, the amount, the stops' prizes added up, ``required``); the other clients are
  PyVRP clients. Pickup and delivery activities map back to the stops.
- Skills: one routing profile per distinct row of :attr:`~vrpkit.model.Problem.skills_ok`, in which the arcs
  to and from the clients the type may not serve are forbidden as strict backhaul's are (above): longer than
  any route may be, with every type's ``max_distance`` at most that bound, so that a plan using one is
  infeasible. (PyVRP's reader sets such arcs to ``MAX_VALUE``, which makes them only expensive.) With reloads
  the bound adds the longest arc out of a depot for each reload a route may make.

Not supported (:meth:`PyVRPSolver.supports` says so, naming the attribute): breaks, a shipment's
``max_ride_time``, a release time on a shipment stop (PyVRP releases clients only), several time windows per
client, and strict backhaul with a client that has neither a delivery nor a pickup (forbidden arcs cannot keep
it from coming between a pickup and a delivery).

Warm starts and locks: ``initial`` becomes PyVRP's ``initial_solution``. Locked prefixes work as for every
solver, through the problem that remains (:mod:`vrpkit.solvers.locks`); with strict backhaul PyVRP refuses
that problem's start markers (clients with neither a delivery nor a pickup), so it gets the problem without
them (``stats["lock_markers"]`` False), where a locked route left with nothing more to serve looks free.

Integers: PyVRP works on integers. Distances, durations, times and loads are multiplied by ``scale`` and the
cost coefficients by ``cost_multiplier`` (:func:`scales`, the one place where scaling happens), so the
objective counts in units of ``1 / (scale * cost_multiplier)``. Both are 1 when the data are integers, and
then PyVRP's objective equals the evaluator's cost. Otherwise ``scale`` is the smallest power of ten that
makes the values integral, at most the one that brings the largest arc to at least 10^5 units (5 to 6
significant digits per arc), and ``cost_multiplier`` the smallest power of ten that makes the cost
coefficients integral, at most the one that gives the smallest coefficient 4 significant digits. Times,
service times and distances are rounded up and limits (window ends, shift end, duration and distance limits)
down, so a plan that PyVRP finds feasible is feasible for the evaluator too; the objective then differs from
the evaluator's cost by a fraction of a unit of ``1 / scale`` per arc. Loads are scaled like times, and
PyVRP's penalty bounds by ``cost_multiplier``, so that penalties weigh against costs as in unscaled PyVRP.
The cost users see is always the evaluator's. Limits no plan can reach (times at or beyond
:attr:`~vrpkit.model.Problem.horizon`, a ``max_distance`` at or beyond
:attr:`~vrpkit.model.Problem.longest_route`) are left unbounded, a capacity above the clients' total load
is clamped to it, and both factors shrink until every scaled total (times, distances, loads, the cost
bound) is at most 1e15; a problem whose totals exceed that even unscaled is refused with a
:class:`SolverError` before the model is built.

Determinism: for one seed, PyVRP's search is deterministic; stopped by ``max_iterations`` or
``no_improvement`` before the time limit, runs are reproducible.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvrp
from pyvrp.constants import MAX_VALUE

from vrpkit.diagnose import diagnose
from vrpkit.errors import NoSolutionError, SolverError
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

if TYPE_CHECKING:
    from vrpkit.solvers.base import Progress

_INT_MAX = int(np.iinfo(np.int64).max)
_MAX_TOTAL = 10**15
"""Largest scaled total (cost bound, times, distances, loads): int64 is 9.2e18, leaving room for PyVRP's
penalties."""
_TARGET_ARC = 10**5
"""With non-integral data, the largest arc is scaled to at least this many units (see :func:`scales`)."""
_COEF_DIGITS = 10**4
"""With non-integral cost coefficients, the smallest one is scaled to at least this many units."""


@dataclass(frozen=True)
class Scales:
    """Integer factors: PyVRP distance, time and load unit = ``1 / unit``; objective unit =
    ``1 / (unit * cost)``."""

    unit: int
    cost: int

    @property
    def objective(self) -> int:
        """PyVRP objective units per cost unit."""
        return self.unit * self.cost


def _integral(values: np.ndarray, scale: int = 1) -> bool:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)] * scale
    return bool(np.all(np.abs(values - np.rint(values)) < 1e-9 * np.maximum(1.0, np.abs(values))))


def _time_values(problem: Problem) -> np.ndarray:
    """Every value scaled by ``unit``; limits that bind nothing (:func:`_limit`) are inf."""
    vts = problem.vehicle_types
    windows = problem.time_windows
    horizon, longest = problem.horizon, problem.longest_route
    return np.concatenate([
        problem.distance.ravel(), problem.duration.ravel(), problem.service_time, windows[:, :, 0].ravel(),
        problem.depot_service_time, problem.release_time,
        [_limit(x, horizon) for x in windows[:, :, 1].ravel()], problem.depot_windows[:, 0],
        [_limit(x, horizon) for x in problem.depot_windows[:, 1]],
        np.array([x for vt in vts for x in (vt.shift[0], _limit(vt.shift[1], horizon),
                                            _limit(vt.max_duration, horizon), _limit(vt.max_distance, longest))],
                 dtype=float),
    ])


def _limit(x: float, reach: float) -> float:
    """A limit at or beyond ``reach`` (:attr:`Problem.horizon` for times, :attr:`Problem.longest_route` for
    distances) binds no plan: inf, which PyVRP gets as its unbounded default."""
    return x if x < reach else math.inf


def _cost_bound(problem: Problem) -> float:
    """An upper bound on the cost of any sensible plan, in problem units (one route per client at most)."""
    horizon, longest = problem.horizon, problem.longest_route
    n = max(problem.n_clients, 1)
    per_plan = max(n * vt.fixed_cost + vt.cost_per_distance * longest + n * vt.cost_per_duration * horizon
                   for vt in problem.vehicle_types)
    return per_plan + float(problem.prize.sum()) + 1.0


def scales(problem: Problem, unit: int | None = None) -> Scales:
    """The scaling factors (see the module docstring); ``unit`` overrides the automatic ``unit``."""
    values = _time_values(problem)
    if unit is None:
        unit = 1
        if not _integral(values):
            steps = np.concatenate([problem.distance.ravel(), problem.duration.ravel(), problem.service_time])
            top = float(steps.max(initial=0.0)) or float(np.abs(values[np.isfinite(values)]).max(initial=1.0))
            k = max(0, math.ceil(math.log10(_TARGET_ARC / top))) if top > 0 else 0
            unit = next((10**j for j in range(k + 1) if _integral(values, 10**j)), 10**k)
            top_matrix = float(max(problem.distance.max(initial=0.0), problem.duration.max(initial=0.0)))
            while unit > 1 and top_matrix * unit > MAX_VALUE:
                unit //= 10
    vts = problem.vehicle_types
    coefs = np.array([x for vt in vts for x in (vt.cost_per_distance, vt.cost_per_duration)], dtype=float)
    lump = np.concatenate([np.array([vt.fixed_cost for vt in vts], dtype=float), problem.prize]) * unit
    positive = coefs[coefs > 0]
    smallest = float(positive.min()) if len(positive) else 1.0
    cap = 10 ** max(0, math.ceil(math.log10(_COEF_DIGITS / smallest)))
    cost = next((10**j for j in range(round(math.log10(cap)) + 1)
                 if _integral(coefs, 10**j) and _integral(lump, 10**j)), cap)
    bound = _cost_bound(problem)
    # Times, distances and loads are scaled by unit, costs by unit * cost; every scaled total stays <= 1e15.
    reach = max(problem.horizon, problem.longest_route, float(_load_totals(problem).max(initial=0.0)))
    if _forbidden_arcs(problem):
        # Forbidden arcs are longer than any route (see the module docstring), and a plan in PyVRP's search may
        # hold one after every client and reload.
        reach = max(reach, (problem.n_clients + 1) * 2 * problem.longest_route)
    while cost > 1 and bound * unit * cost > _MAX_TOTAL:
        cost //= 10
    while unit > 1 and max(bound * cost, reach) * unit > _MAX_TOTAL:
        unit //= 10
    for what, total in (("times, distances and loads", reach), ("costs", bound)):
        if total > _MAX_TOTAL:
            raise SolverError(f'solver "pyvrp" does not support this problem: its {what} can reach {total:.6g}, '
                              f"beyond the {_MAX_TOTAL:.0e} that PyVRP's integers hold; try the aco solver")
    return Scales(int(unit), int(cost))


def _load_totals(problem: Problem) -> np.ndarray:
    """Per dimension, the clients' deliveries plus pickups plus the shipments' amounts."""
    return (problem.delivery.sum(axis=0, dtype=float) + problem.pickup.sum(axis=0, dtype=float)
            + np.clip(problem.shipment_load, 0, None).sum(axis=0, dtype=float))


def _forbidden_arcs(problem: Problem) -> bool:
    """Whether some arcs are forbidden (strict backhaul's pickup-to-delivery arcs, the arcs to and from a client
    that a vehicle type lacks the skills for; see the module docstring)."""
    return bool((problem.backhaul == "strict" and problem.pickup.any()) or not problem.skills_ok.all())


def _up(x: Any, scale: int) -> np.ndarray:
    """Round ``x * scale`` up (times, distances, loads: conservative), tolerating float noise."""
    return np.ceil(np.asarray(x, dtype=float) * scale - 1e-6).astype(np.int64)


def _down(x: float, scale: int, reach: float) -> int | None:
    """Round a limit ``x * scale`` down; None for a limit that binds nothing (:func:`_limit`: PyVRP's default,
    unbounded)."""
    x = _limit(x, reach)
    if not math.isfinite(x):
        return None
    return math.floor(x * scale + 1e-6)


class _Model:
    """PyVRP's ``ProblemData`` for one problem (see the module docstring), and the way back."""

    def __init__(self, problem: Problem, sc: Scales) -> None:
        p = problem
        self.scales = sc
        nd, n = p.n_depots, p.n_clients
        s, m = sc.unit, sc.cost
        vts = p.vehicle_types
        ends = p.vehicle_end
        has_sink = bool((ends < 0).any())
        n_loc = p.n_nodes + has_sink

        points = p.locations
        xy = points.tolist() if points is not None else [[0.0, 0.0]] * p.n_nodes
        if has_sink:
            xy.append(xy[int(p.vehicle_start[int(np.flatnonzero(ends < 0)[0])])])
        locations = [pyvrp.Location(float(x), float(y), name=name)
                     for (x, y), name in zip(xy, [*p.node_ids, "open-route end"][:n_loc], strict=True)]

        dist = np.zeros((n_loc, n_loc), dtype=np.int64)
        dur = np.zeros((n_loc, n_loc), dtype=np.int64)
        dist[:p.n_nodes, :p.n_nodes] = _up(p.distance, s)
        dur[:p.n_nodes, :p.n_nodes] = _up(p.duration, s)
        np.fill_diagonal(dist, 0)  # only ever used by empty routes
        np.fill_diagonal(dur, 0)
        # Forbidden arcs (strict backhaul: from a pickup client to a delivery client; skills: to and from a client
        # the type may not serve, in the type's profile) are longer than any route may be.
        bound = None
        forbidden = np.zeros((n_loc, n_loc), dtype=bool)
        if p.backhaul == "strict" and p.pickup.any():
            forbidden[np.ix_(nd + np.flatnonzero(p.pickup.any(axis=1)),
                             nd + np.flatnonzero(p.delivery.any(axis=1)))] = True
        profiles: dict[bytes, int] = {}
        profile_of = [profiles.setdefault(p.skills_ok[t].tobytes(), len(profiles)) for t in range(len(vts))]
        if forbidden.any() or len(profiles) > 1 or not p.skills_ok.all():
            # no route without such an arc is longer: every location left once, depots once more per reload
            most = max((n - 1 if r < 0 else int(r)) for r in p.max_reloads) if len(vts) else 0
            bound = int(dist.max(axis=1).sum() + max(most, 0) * dist[:nd].max(initial=0))
        dists = []
        for key in profiles:
            ok = np.frombuffer(key, dtype=bool)
            mask = forbidden.copy()
            banned = nd + np.flatnonzero(~ok)
            mask[banned, :] = mask[:, banned] = True
            np.fill_diagonal(mask, False)
            dists.append(np.where(mask, bound + 1, dist) if mask.any() else dist)

        # Depots: vrpkit depots (with their reload time), then copies: end depots that open at 0, start depots
        # without the reload time (PyVRP's depot service starts every trip, the first one too), and the sink.
        opens = [int(_up(d.time_window[0], s)) for d in p.depots]
        horizon = p.horizon
        closes = [None if c is None else max(c, o)  # a window narrower than one unit keeps its start
                  for c, o in zip((_down(d.time_window[1], s, horizon) for d in p.depots), opens, strict=True)]
        reload_time = _up(p.depot_service_time, s)
        depots = [pyvrp.Depot(d, tw_early=opens[d], **_late(closes[d]), service_duration=int(reload_time[d]),
                              name=p.depots[d].id) for d in range(nd)]
        end_copy: dict[int, int] = {}
        for e in sorted({int(e) for e in ends if e >= 0}):
            if opens[e] > 0 or reload_time[e] > 0:
                end_copy[e] = len(depots)
                depots.append(pyvrp.Depot(e, **_late(closes[e]), name=f"{p.depots[e].id} (end)"))
        start_copy: dict[int, int] = {}
        for d in sorted({int(d) for d in p.vehicle_start}):
            if reload_time[d] > 0:
                start_copy[d] = len(depots)
                depots.append(pyvrp.Depot(d, tw_early=opens[d], **_late(closes[d]),
                                          name=f"{p.depots[d].id} (start)"))
        sink = len(depots)
        if has_sink:
            depots.append(pyvrp.Depot(n_loc - 1, name="open-route end"))

        # Loads: the capacity dimensions some vehicle type limits (none when no type has a capacity).
        cap = p.capacity
        limited = bool(np.isfinite(cap).any())
        delivery = p.delivery * s if limited else np.zeros((n, 0), dtype=np.int64)
        pickup = p.pickup * s if limited else np.zeros((n, 0), dtype=np.int64)
        big = _load_totals(p) * s + 1

        # Clients: every vrpkit client but the shipment stops, which make PyVRP shipments.
        clients, self.client_of = [], []
        service = _up(p.service_time, s)
        release = _up(p.release_time, s)
        windows = []
        for c in p.clients:
            (a, b), = c.time_windows
            early = int(_up(a, s))
            late = _down(b, s, horizon)
            windows.append((early, None if late is None else max(late, early)))
        prizes = [0 if c.required else round(c.prize * s * m) for c in p.clients]
        for i, c in enumerate(p.clients):
            if p.shipment_of[i] >= 0:
                continue
            self.client_of.append(i)
            clients.append(pyvrp.Client(
                nd + i, delivery=delivery[i].tolist(), pickup=pickup[i].tolist(), service_duration=int(service[i]),
                tw_early=windows[i][0], **_late(windows[i][1]), release_time=int(release[i]), prize=prizes[i],
                required=bool(c.required), name=c.id,
            ))
        shipments, self.stops = [], []
        index = p.client_index
        amounts = p.shipment_load * s if limited else np.zeros((n, 0), dtype=np.int64)
        for sh in p.shipments:
            i, j = index[sh.pickup], index[sh.delivery]
            self.stops.append((i, j))
            shipments.append(pyvrp.Shipment(
                nd + i, nd + j, pickup_tw_early=windows[i][0], **_late(windows[i][1], "pickup_tw_late"),
                pickup_service_duration=int(service[i]), delivery_tw_early=windows[j][0],
                **_late(windows[j][1], "delivery_tw_late"), delivery_service_duration=int(service[j]),
                amount=amounts[i].tolist(), prize=prizes[i] + prizes[j], required=bool(p.clients[i].required),
                name=sh.id,
            ))

        types, self.vtype = [], []
        for t, vt in enumerate(vts):
            start, end = int(p.vehicle_start[t]), int(ends[t])
            early = max(int(_up(vt.shift[0], s)), opens[start])
            shift_end = _down(vt.shift[1], s, horizon)
            start_late = min(x for x in (shift_end, closes[start], _INT_MAX) if x is not None)
            end_close = closes[end] if end >= 0 else None
            if early > start_late or (end_close is not None and end_close < early):
                continue  # cannot leave (or get back) within its shift and the depots' hours: serves nobody
            kwargs: dict[str, Any] = {}
            if shift_end is not None:
                kwargs["tw_late"] = shift_end
            for key, value in (("shift_duration", _down(vt.max_duration, s, horizon)),
                               ("max_distance", _down(vt.max_distance, s, p.longest_route))):
                if value is not None:
                    kwargs[key] = value
            if bound is not None:
                kwargs["max_distance"] = min(kwargs.get("max_distance", bound), bound)
            reloads = np.flatnonzero(p.reload_allowed[t]).tolist()
            if reloads:
                kwargs["reload_depots"] = reloads
                if p.max_reloads[t] >= 0:
                    kwargs["max_reloads"] = int(p.max_reloads[t])
            # A capacity above everything the clients load binds nothing: clamped to that total.
            capacity = [int(min(c * s, b)) for c, b in zip(cap[t], big, strict=True)]
            types.append(pyvrp.VehicleType(
                num_available=vt.count if vt.count is not None else max(n, 1),
                capacity=capacity if limited else [],
                start_depot=start_copy.get(start, start), end_depot=sink if end < 0 else end_copy.get(end, end),
                fixed_cost=round(vt.fixed_cost * s * m), tw_early=early,
                unit_distance_cost=_coef(vt.cost_per_distance, m),
                unit_duration_cost=_coef(vt.cost_per_duration, m), profile=profile_of[t],
                start_late=start_late if start_late < _INT_MAX else None, name=vt.id, **kwargs,
            ))
            self.vtype.append(t)
        self.data = (pyvrp.ProblemData(locations, clients, depots, types, dists, [dur] * len(dists),
                                       shipments=shipments) if types else None)

    def solution(self, routes: tuple[Route, ...]) -> Any | None:
        """``routes`` as a PyVRP solution, or None when PyVRP's data cannot hold them (a vehicle type left
        out, more routes of a type than it has vehicles, a shipment split over routes or trips)."""
        index = {t: i for i, t in enumerate(self.vtype)}
        if any(r.vehicle_type not in index for r in routes):
            return None
        counts = Counter(index[r.vehicle_type] for r in routes)
        if any(n > self.data.vehicle_type(t).num_available for t, n in counts.items()):
            return None
        activity: dict[int, Any] = {i: pyvrp.Activity(pyvrp.ActivityType.CLIENT, k)
                                    for k, i in enumerate(self.client_of)}
        for k, (i, j) in enumerate(self.stops):
            activity[i] = pyvrp.Activity(pyvrp.ActivityType.PICKUP, k)
            activity[j] = pyvrp.Activity(pyvrp.ActivityType.DELIVERY, k)
        out = []
        for r in routes:
            at = dict(r.reloads)
            acts = []
            for pos, c in enumerate(r.clients):
                if pos in at:
                    acts.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, at[pos]))
                acts.append(activity[c])
            try:
                out.append(pyvrp.Route(self.data, acts, index[r.vehicle_type]))
            except (ValueError, IndexError, RuntimeError):
                return None
        try:
            return pyvrp.Solution(self.data, out)
        except (ValueError, RuntimeError):
            return None

    def routes(self, solution: Any) -> tuple[Route, ...]:
        """The routes of a PyVRP solution, as vrpkit routes (client indices; a depot between two clients is a
        reload, one that starts or ends a route or follows another is dropped: an empty trip serves nobody)."""
        out = []
        for r in solution.routes():
            clients: list[int] = []
            reloads: dict[int, int] = {}
            for a in list(r)[1:-1]:  # without the start and end depots
                if a.is_depot():
                    if clients:
                        reloads[len(clients)] = a.idx
                elif a.is_client():
                    clients.append(self.client_of[a.idx])
                else:
                    clients.append(self.stops[a.idx][0 if a.is_pickup() else 1])
            kept = tuple((pos, d) for pos, d in reloads.items() if pos < len(clients))
            out.append(Route(self.vtype[r.vehicle_type()], tuple(clients), reloads=kept))
        return tuple(out)


def _late(value: int | None, key: str = "tw_late") -> dict[str, int]:
    """The ``tw_late`` (or ``key``) keyword for a finite limit; none (PyVRP's unbounded default) otherwise."""
    return {} if value is None else {key: value}


def _coef(value: float, multiplier: int) -> int:
    """A cost coefficient in PyVRP's integers; a positive one never rounds to zero."""
    out = round(value * multiplier)
    return max(out, 1) if value > 0 else 0


class _Stop:
    """PyVRP's stopping criterion: the deadline, optional iteration limits, and progress on each new best."""

    def __init__(self, deadline: float, progress: Progress, per_cost: int, *, max_iterations: int | None,
                 no_improvement: int | None) -> None:
        self.deadline = deadline
        self.progress = progress
        self.per_cost = per_cost
        self.max_iterations = max_iterations
        self.no_improvement = no_improvement
        self.iterations = 0
        self.since_best = 0
        self.best = _INT_MAX
        self.improvements = 0

    def __call__(self, best_cost: int) -> bool:
        if best_cost < self.best:  # the cost of an infeasible best is INT_MAX
            self.best = best_cost
            self.since_best = 0
            self.improvements += 1
            self.progress.update(best_cost / self.per_cost)
        else:
            self.since_best += 1
        self.iterations += 1
        if self.max_iterations is not None and self.iterations > self.max_iterations:
            return True
        if self.no_improvement is not None and self.best < _INT_MAX and self.since_best >= self.no_improvement:
            return True
        return time.perf_counter() >= self.deadline


@contextlib.contextmanager
def _log_to_stderr(enabled: bool) -> Iterator[None]:
    """While solving with ``log``: PyVRP's progress display (its ``pyvrp`` logger, which PyVRP sends to stdout)
    goes to stderr, so that stdout keeps only the plan."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("pyvrp")
    to_stdout = [h for h in logger.handlers  # PyVRP's own: a plain stream handler on stdout
                 if type(h) is logging.StreamHandler and h.stream not in (sys.stderr, sys.__stderr__)]
    handler = logging.StreamHandler(sys.stderr)
    for h in to_stdout:
        logger.removeHandler(h)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        for h in to_stdout:
            logger.addHandler(h)


def _positive_int(key: str, value: Any) -> int | None:
    if value is None:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and value > 0 and float(value).is_integer()):
        raise SolverError(f'solver "pyvrp": {key} must be a positive integer, got {value!r}')
    return int(value)


class PyVRPSolver:
    """PyVRP's iterated local search.

    Options (keyword arguments, or in a spec string ``"pyvrp:max_iterations=2000"``):

    - ``max_iterations``: stop after this many iterations (reproducible runs; the time limit still holds).
    - ``no_improvement``: stop after this many iterations without a better feasible plan.
    - ``scale``: the integer factor for distances, times and loads (default: see :func:`scales`).
    - ``params``: a PyVRP ``SolveParams`` TOML file (``pyvrp.SolveParams.from_file``) for its search knobs.
    - ``log``: PyVRP's own progress display, on stderr.
    """

    name = "pyvrp"

    def __init__(
        self,
        *,
        max_iterations: int | None = None,
        no_improvement: int | None = None,
        scale: int | None = None,
        params: str | None = None,
        log: bool = False,
        **unknown: Any,
    ) -> None:
        if unknown:
            names = ", ".join(f'"{k}"' for k in unknown)
            raise SolverError(f'solver "pyvrp": unknown option {names} '
                              "(known: max_iterations, no_improvement, scale, params, log)")
        self.max_iterations = _positive_int("max_iterations", max_iterations)
        self.no_improvement = _positive_int("no_improvement", no_improvement)
        self.scale = _positive_int("scale", scale)
        self.log = bool(log)
        self.params = params
        self.solve_params = pyvrp.SolveParams()
        if params is not None:
            try:
                self.solve_params = pyvrp.SolveParams.from_file(str(params))
            except OSError as err:
                raise SolverError(f'solver "pyvrp": params: {params}: {err.strerror or err}') from None
            except (ValueError, TypeError, AttributeError) as err:
                raise SolverError(f'solver "pyvrp": params: {params}: {err}') from None

    def supports(self, problem: Problem) -> str | None:
        """None, or why PyVRP cannot model ``problem`` exactly."""
        with_breaks = [vt.id for vt in problem.vehicle_types if vt.breaks]
        if with_breaks:
            return (f'vehicle type "{with_breaks[0]}" has breaks (attribute breaks: PyVRP 0.14 models no driver '
                    "breaks); try the ortools solver")
        ride = [sh.id for sh in problem.shipments if math.isfinite(sh.max_ride_time)]
        if ride:
            return (f'shipment "{ride[0]}" has a max_ride_time (attribute shipments: PyVRP 0.14 bounds no ride '
                    "time); try the ortools solver")
        released = [problem.clients[i].id for i in np.flatnonzero((problem.shipment_of >= 0)
                                                                   & (problem.release_time > 0))]
        if released:
            return (f'shipment stop "{released[0]}" has a release_time (attribute release_times: PyVRP 0.14 '
                    "releases clients only, not shipments); try the ortools solver")
        many = [c.id for c in problem.clients if len(c.time_windows) > 1]
        if many:
            more = f" and {len(many) - 1} more" if len(many) > 1 else ""
            return (f"client {many[0]}{more} has several time windows (PyVRP has one per client); "
                    "try the ortools solver")
        if "backhaul" in problem.attributes:
            neither = [c.id for c, d, q in zip(problem.clients, problem.delivery, problem.pickup, strict=True)
                       if not d.any() and not q.any()]
            if neither:
                more = f" and {len(neither) - 1} more" if len(neither) > 1 else ""
                return (f"strict backhaul with client {neither[0]}{more} that has neither a delivery nor a "
                        "pickup: PyVRP keeps pickups after deliveries only by forbidding the arcs from a pickup "
                        "client to a delivery client, which cannot keep such a client from coming between them; "
                        "try the ortools solver")
        return None

    def _solve_params(self, sc: Scales) -> Any:
        """The search parameters, with the penalty bounds in the scaled cost unit."""
        sp = self.solve_params
        if sc.cost == 1:
            return sp
        penalty = replace(sp.penalty, min_penalty=sp.penalty.min_penalty * sc.cost,
                          max_penalty=sp.penalty.max_penalty * sc.cost)
        return pyvrp.SolveParams(ils=sp.ils, penalty=penalty, neighbourhood=sp.neighbourhood,
                                 operators=sp.operators, display_interval=sp.display_interval,
                                 perturbation=sp.perturbation)

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress,
              initial: Solution | None = None) -> Solution | None:
        """The best plan found in ``time_limit``; with ``initial``, PyVRP's search starts from that plan
        (``initial_solution``; stats ``warm_start`` False when PyVRP cannot hold it: a vehicle type it left
        out, or more routes of a type than it has vehicles)."""
        started = time.perf_counter()
        reason = self.supports(problem)
        if reason:
            raise SolverError(f'solver "pyvrp" does not support this problem: {reason}')
        reasons = diagnose(problem)
        if reasons:
            raise NoSolutionError("no feasible plan exists", reasons)
        sc = scales(problem, self.scale)
        model = _Model(problem, sc)
        if problem.n_clients == 0 or model.data is None:
            return Solution((), {"vehicles": 0})  # nothing to serve, or only optional clients no one can serve
        start = None if initial is None else model.solution(initial.routes)
        build_time = time.perf_counter() - started
        stop = _Stop(started + time_limit, progress, sc.objective, max_iterations=self.max_iterations,
                     no_improvement=self.no_improvement)
        with _log_to_stderr(self.log), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = pyvrp.solve(model.data, stop, seed=seed % 2**32, collect_stats=self.log, display=self.log,
                              params=self._solve_params(sc), initial_solution=start)
        notes = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
        best = res.best
        if not best.is_feasible():
            what = [f"{k} {v}" for k, v in (("missing clients", best.num_missing_clients()),
                                            ("excess load", sum(best.excess_load())),
                                            ("time warp", best.time_warp()),
                                            ("excess distance", best.excess_distance())) if v]
            detail = f" (PyVRP's best plan has {', '.join(what)}, in scaled units)" if what else ""
            raise NoSolutionError("no feasible plan found",
                                  [f"no feasible plan found within {time_limit:g} s{detail}", *notes])
        raw = int(pyvrp.CostEvaluator([0] * model.data.num_load_dimensions, 0, 0).cost(best))
        stats = {
            "pyvrp_objective": raw / sc.objective,
            "pyvrp_objective_raw": raw,
            "iterations": res.num_iterations,
            "improvements": stop.improvements,
            "vehicles": int(model.data.num_vehicles),
            "scale": sc.unit,
            "cost_scale": sc.objective,
            "build_time": round(build_time, 4),
        }
        if notes:
            stats["warnings"] = notes
        if initial is not None:
            stats["warm_start"] = start is not None
        return Solution(model.routes(best), stats)
