"""The one evaluator: schedule, cost and every violation of a plan.

Every solver's plan goes through :func:`evaluate`; the cost users see is computed here.

Schedule rules. A vehicle leaves its start depot at the earliest time its shift and the depot allow; service
at a client starts on arrival, or at the start of the first of its time windows that has not yet closed (the
vehicle waits). Arriving after the last window closes is lateness (a ``time_window`` violation of that many
time units; service starts on arrival). Once the route is scheduled, departure from the depot is delayed as
much as possible without making any stop late or the route end later, so that a route's duration leaves out
avoidable waiting; with several windows at a stop, departures that reach it at the start of a later window
are tried too, and the shortest lateness-free schedule is kept. Open routes (``end_depot`` None) end
when service at their last client ends.

Time-dependent problems (:attr:`~vrpkit.model.Problem.time_dependent`: a travel-time profile is set): each leg
arrives at :func:`vrpkit.traffic.arrival` of its departure time and static duration (the factor at departure,
first-in-first-out), the return to the depot too. The delayed departure follows the same rule (the latest one
that makes no stop late and the route end no later), found exactly by a backward pass: from the route's end,
each stop's latest service start is the end of the window it is served in or the latest departure
(:func:`vrpkit.traffic.latest_departure`) that meets the next bound, less its service time; a later window at a
stop is tried from the latest departure that reaches it by the window's start without waiting. Every leg being
first-in-first-out, leaving later never ends a route sooner. Durations, shifts, limits and costs per duration
follow from that schedule. Without a profile nothing changes.

Load: a vehicle leaves with every delivery of its route on board; at each client it drops the delivery and
takes the pickup. Capacity must hold in every dimension all along the route. With strict backhaul, no client
with a delivery may follow a client with a pickup on the same trip.

Cost: per used vehicle ``fixed_cost + cost_per_distance * distance + cost_per_duration * duration``, plus the
prize of every optional client left out.

A real fleet's day (:attr:`~vrpkit.model.Problem.fleet`: skills, breaks, reloads, release times, shipments).
A route (:class:`~vrpkit.solution.Route`) is then a sequence of events: client stops, reloads (a depot visited
before ``clients[position]``) and breaks (taken after the service of ``clients[position - 1]``, where the
vehicle is; position 0 at the start depot before leaving). At one position the breaks come first (in the
order listed), then the drive to the reload depot, then the next client. The schedule above runs over all
events in one forward pass: each event starts on arrival or when its window opens, and the delayed departure
keeps every event on time (client windows, break windows, reload depots' closing times).

- **Skills**: a client on a route whose type lacks some of its skills: ``skills`` (amount: how many skills are
  missing; client: its id).
- **Trips and reloads**: reloads cut a route into trips. At a reload the vehicle drives to the depot, waits for
  it to open, stays the depot's ``service_time`` and leaves for its next trip; arriving after the depot closes
  is ``depot_time_window`` (by how much; client: the depot id). A reload at a depot that is not one of the
  type's ``reload_depots``: ``reload`` (amount 1, client: the depot id; the vehicle still drives there). A
  reload at a position that is not ``0 < position < len(clients)``, or a second reload at one position:
  ``reload`` (amount 1, client: the depot id), and the reload is left out. A type with ``reload_depots`` that
  makes more reloads than its ``max_reloads``: ``reload`` (amount: the excess). A depot index out of range:
  ``unknown_id``.
- **Release times**: a trip leaves its depot (the start depot, after the breaks taken there, or its reload
  depot, after the reload) no earlier than the largest ``release_time`` of the clients it serves; the vehicle
  waits there (a wait that the delayed departure absorbs as any other). When that wait makes it leave after
  the depot closes or the shift ends: ``release_time``
  (amount: the departure less the later of that limit and the time it could have left without the wait;
  client: the depot id); a route whose release time makes it leave after the shift end (the end depot's
  closing time) has no ``shift`` (end ``depot_time_window``) violation: the release time is the cause.
- **Load with trips and shipments**: a trip leaves with every delivery of its own clients plus the shipments
  on board; at each client it drops the delivery and takes the pickup; at a shipment's pickup stop the
  amount comes on board and at its delivery stop it leaves. At a reload the pickups are dropped and the next
  trip's deliveries loaded (shipments stay on board). Capacity holds in every dimension all along every trip
  (``capacity``, amount: the largest excess on the route). Strict backhaul holds per trip.
- **Shipments**: both stops on one route, pickup first. ``shipment_split``: the stops on different routes, or
  only one of them visited (amount 1, client: the pickup stop's id; no route). ``shipment_order``: the
  delivery stop before the pickup stop (amount 1, client: the delivery stop's id). ``ride_time``: the start of
  the delivery's service less the end of the pickup's service exceeds ``max_ride_time`` (amount: the excess,
  client: the delivery stop's id). A shipment left out entirely costs both stops' prizes (optional) or is two
  ``missing_client`` (required): each stop is a client.
- **Breaks**: every used vehicle takes each break of its type once, starting inside one of its windows (it
  waits for the window to open), for its ``duration``, where it is. Listed form (``Route.breaks`` given): a
  break not listed, or listed more than once, is ``break`` (amount 1 for a missing one, the number of extra
  listings for a repeated one; vehicle_type: the type's id); a listed break at a position beyond
  ``0..len(clients)`` is left out (and so missing); a break index out of range is ``unknown_id``; a break that
  starts after its last window closed is ``break`` (amount: the lateness). Short form (``Route.breaks`` None):
  the evaluator places the breaks one after another, in the order of their first window's start, on the
  schedule from the earliest departure with the breaks placed so far, at the first position ``p`` where
  either the vehicle is free (its service there, and the breaks placed there, done) inside one of the
  break's windows, or a whole window of the break would pass before it is free at ``p + 1`` (it waits at
  ``p`` for that window to open); if there is none, after the last service (late if its windows have all
  closed). The placement is reported in :attr:`RouteSchedule.breaks` and in the solution JSON, so that the
  output reads back as a listed plan with the same schedule.
- Reloads and breaks in the solution JSON: a reload is the stop ``{"type": "reload", "id": depot_id}`` (a depot
  id between clients is one too), a break ``{"type": "break", "id": break_id}`` (an id that is none of the
  type's breaks is ``unknown_id``); a route with no break stop is in the short form.

Implementation. These rules run in one compiled kernel (:mod:`vrpkit._evaluate_kernel`, numba, built by
``python -m vrpkit.solvers.build``; until it is built the same kernel runs interpreted) over the problem's
arrays as they are, so evaluating a plan of a 10,000-client problem copies no matrix.
:func:`evaluate_many` evaluates many plans of one problem in one call. Time-dependent problems, fleet problems
(:attr:`~vrpkit.model.Problem.fleet`) and plans with reloads or listed breaks are evaluated by the Python
schedule below (:func:`_route_py`), the same rules event by event (leg by leg through :mod:`vrpkit.traffic`
with a profile). The results are those of the pure-Python evaluator of commit 813d688 to the bit
(``tests/test_evaluate_parity.py``).
"""

from __future__ import annotations

import gc
import itertools
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

import numpy as np

from vrpkit import traffic
from vrpkit.model import INF, Problem
from vrpkit.solution import Route, Solution

FLEET_CONSTRAINTS = (
    "skills",
    "break",
    "reload",
    "shipment_order",
    "shipment_split",
    "ride_time",
    "release_time",
)
"""The names of the violations of a real fleet's day (skills, breaks, reloads, shipments, release times)."""

CONSTRAINTS = (
    "capacity",
    "time_window",
    "depot_time_window",
    "shift",
    "max_duration",
    "max_distance",
    "backhaul_order",
    "missing_client",
    "duplicate_client",
    "unknown_id",
    "unknown_vehicle_type",
    "fleet_size",
    *FLEET_CONSTRAINTS,
)
"""Every name a :class:`Violation` may carry."""

_EPS = 1e-6
@dataclass(frozen=True)
class Violation:
    """One broken constraint: its name, by how much, and where (route index and/or client id)."""

    constraint: str
    amount: float
    route: int | None = None
    client: str | None = None
    vehicle_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"constraint": self.constraint, "route": self.route, "client": self.client,
               "amount": _round(self.amount)}
        if self.vehicle_type is not None:
            out["vehicle_type"] = self.vehicle_type
        return out

    def __str__(self) -> str:
        where = " ".join(x for x in (
            f"route {self.route}" if self.route is not None else "",
            f"client {self.client}" if self.client is not None else "",
            f"vehicle type {self.vehicle_type}" if self.vehicle_type is not None else "") if x)
        return f"{self.constraint} ({where}): {_round(self.amount)}" if where else \
            f"{self.constraint}: {_round(self.amount)}"



class Reload(NamedTuple):
    """A reload as driven: before ``clients[position]`` at depot index ``depot``: arrival, start of the reload,
    departure (after the reload, and no earlier than the next trip's release time); ``load`` is the load on
    board when the vehicle leaves for its next trip."""

    position: int
    depot: int
    arrival: float
    start: float
    departure: float
    load: tuple[float, ...]


class BreakTaken(NamedTuple):
    """A break as taken: after the service of ``clients[position - 1]`` (0: at the start depot), index
    ``break_index`` into the vehicle type's breaks, from ``start`` to ``end``."""

    position: int
    break_index: int
    start: float
    end: float


@dataclass(frozen=True, repr=False)
class RouteSchedule:
    """One route as driven: per-stop times and loads, totals and cost; with reloads and breaks, those too."""

    vehicle_type: int
    clients: tuple[int, ...]
    start_depot: int
    end_depot: int | None
    start_time: float
    end_time: float
    distance: float
    duration: float
    cost: float
    arrival: tuple[float, ...]
    start: tuple[float, ...]
    departure: tuple[float, ...]
    load: tuple[tuple[float, ...], ...]
    """Load on board after each stop; ``start_load`` is the load leaving the depot."""
    start_load: tuple[float, ...]
    reloads: tuple[Reload, ...] = ()
    """``(position, depot, arrival, start, departure, load)`` of each reload, in route order."""
    breaks: tuple[BreakTaken, ...] = ()
    """``(position, break_index, start, end)`` of each break taken, in route order (also when the evaluator
    placed them)."""

    @property
    def wait(self) -> tuple[float, ...]:
        return tuple(s - a if s > a else 0.0 for a, s in zip(self.arrival, self.start, strict=True))

    def __repr__(self) -> str:
        # The fields in order, reloads and breaks only when there are some (so that the repr of a route without
        # them is the one it always was).
        shown = (f for f in fields(self) if f.name not in ("reloads", "breaks") or getattr(self, f.name))
        return f"RouteSchedule({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` finds: the schedule of each route, totals, cost and violations."""

    routes: tuple[RouteSchedule, ...]
    unassigned: tuple[int, ...]
    violations: tuple[Violation, ...]
    distance: float
    duration: float
    fixed_cost: float
    variable_cost: float
    prize_lost: float
    cost: float
    """Total cost of the plan as given (also when infeasible: check :attr:`feasible`)."""

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def status(self) -> str:
        return "feasible" if self.feasible else "infeasible"

    @property
    def n_vehicles(self) -> int:
        return len(self.routes)

    def to_dict(self, problem: Problem) -> dict[str, Any]:
        """The solution JSON (without ``stats``): reloads and breaks are stops among the clients, so that it
        reads back as a plan with the same schedule."""
        ids = problem.node_ids
        nd = problem.n_depots
        routes = []
        for r in self.routes:
            stops = [
                {"id": ids[nd + c], "arrival": _round(a), "start": _round(s), "departure": _round(d),
                 "load": _load(q)}
                for c, a, s, d, q in zip(r.clients, r.arrival, r.start, r.departure, r.load, strict=True)
            ]
            if r.reloads or r.breaks:
                stops = _with_events(problem, r, stops)
            routes.append({
                "vehicle_type": problem.vehicle_types[r.vehicle_type].id,
                "start_depot": ids[r.start_depot],
                "end_depot": None if r.end_depot is None else ids[r.end_depot],
                "start_time": _round(r.start_time),
                "end_time": _round(r.end_time),
                "distance": _round(r.distance),
                "duration": _round(r.duration),
                "start_load": _load(r.start_load),
                "cost": _round(r.cost),
                "stops": stops,
            })
        return {
            "status": self.status,
            "cost": _round(self.cost),
            "distance": _round(self.distance),
            "duration": _round(self.duration),
            "vehicles": self.n_vehicles,
            "fixed_cost": _round(self.fixed_cost),
            "prize_lost": _round(self.prize_lost),
            "routes": routes,
            "unassigned": [ids[nd + c] for c in self.unassigned],
            "violations": [v.to_dict() for v in self.violations],
        }


def _with_events(problem: Problem, r: RouteSchedule, stops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The client ``stops`` of ``r`` with its breaks and reloads among them (breaks at a position first, then
    the reload, then the client)."""
    breaks = problem.vehicle_types[r.vehicle_type].breaks
    by_position: dict[int, list[dict[str, Any]]] = {}
    for b in r.breaks:
        by_position.setdefault(b.position, []).append(
            {"type": "break", "id": breaks[b.break_index].id, "start": _round(b.start), "end": _round(b.end)})
    for x in r.reloads:
        by_position.setdefault(x.position, []).append(
            {"type": "reload", "id": problem.depots[x.depot].id, "arrival": _round(x.arrival),
             "start": _round(x.start), "departure": _round(x.departure), "load": _load(x.load)})
    out = []
    for p in range(len(stops) + 1):
        out.extend(by_position.get(p, ()))
        if p < len(stops):
            out.append(stops[p])
    return out


def _round(x: float) -> float | int | None:
    if not math.isfinite(x):
        return None
    y = round(float(x), 6)  # float first: int.is_integer exists only from Python 3.12
    return int(y) if y.is_integer() and abs(y) < 2**53 else y


def _load(values: tuple[float, ...]) -> float | int | list[float | int | None] | None:
    return _round(values[0]) if len(values) == 1 else [_round(v) for v in values]


class _Data:
    """Plain-Python copies of a problem's arrays, made once per problem, for a fast per-stop loop."""

    def __init__(self, p: Problem) -> None:
        self.nd = p.n_depots
        self.dist = p.distance.tolist()
        self.dur = p.duration.tolist()
        self.service = p.service_time.tolist()
        self.windows = [list(c.time_windows) for c in p.clients]
        self.single_window = [len(w) == 1 for w in self.windows]
        self.n_dims = p.n_dims
        self.delivery = [tuple(float(x) for x in row) for row in p.delivery.tolist()]
        self.pickup = [tuple(float(x) for x in row) for row in p.pickup.tolist()]
        self.delivery1 = [row[0] for row in self.delivery]
        self.pickup1 = [row[0] for row in self.pickup]
        self.capacity = [tuple(row) for row in p.capacity.tolist()]
        self.depot_tw = [tuple(w) for w in p.depot_windows.tolist()]
        self.start = p.vehicle_start.tolist()
        self.end = [None if e < 0 else e for e in p.vehicle_end.tolist()]
        vts = p.vehicle_types
        self.shift = [vt.shift for vt in vts]
        self.max_duration = [vt.max_duration for vt in vts]
        self.max_distance = [vt.max_distance for vt in vts]
        self.fixed = [vt.fixed_cost for vt in vts]
        self.cpd = [vt.cost_per_distance for vt in vts]
        self.cpt = [vt.cost_per_duration for vt in vts]
        self.count = [vt.count for vt in vts]
        self.prize = p.prize.tolist()
        self.required = p.required.tolist()
        self.strict = p.backhaul == "strict" and bool(p.pickup.any())
        self.ids = p.node_ids
        self.profile = p.uncertainty.travel_time.profile if p.time_dependent else None
        self.hour = p.hour
        # A real fleet's day (neutral for other problems).
        self.type_ids = [vt.id for vt in vts]
        self.skills_ok = p.skills_ok.tolist()
        self.client_skills = [frozenset(c.skills) for c in p.clients]
        self.type_skills = [frozenset(vt.skills) for vt in vts]
        self.release = p.release_time.tolist()
        self.has_release = bool(p.release_time.any())
        self.depot_service = p.depot_service_time.tolist()
        depot_index = p.depot_index
        self.reload_at = [[False] * self.nd for _ in vts]
        for v, vt in enumerate(vts):
            for dep in vt.reload_depots:
                self.reload_at[v][depot_index[dep]] = True
        self.has_reload_depots = [bool(vt.reload_depots) for vt in vts]
        self.max_reloads = p.max_reloads.tolist()
        self.breaks = [[(list(b.time_windows), float(b.duration)) for b in vt.breaks] for vt in vts]
        self.break_order = [sorted(range(len(vt.breaks)), key=lambda b, vt=vt: vt.breaks[b].time_windows[0][0])
                            for vt in vts]
        self.shipments = [(p.client_index[s.pickup], p.client_index[s.delivery]) for s in p.shipments]
        self.partner = p.partner.tolist()
        self.is_pickup = p.is_pickup_stop.tolist()
        self.shipment_of = p.shipment_of.tolist()
        self.max_ride = p.max_ride_time.tolist()
        self.shipment_load = [tuple(float(x) for x in row) for row in p.shipment_load.tolist()]
        self.has_shipments = bool(p.shipments)

    def leg(self, t: float, i: int, j: int) -> float:
        """Arrival at node ``j`` leaving node ``i`` at ``t`` (:func:`vrpkit.traffic.arrival` with a profile)."""
        if self.profile is None:
            return t + self.dur[i][j]
        return float(traffic.arrival(self.profile, t, self.dur[i][j], self.hour))

    def latest(self, arrive: float, i: int, j: int) -> float:
        """The latest departure from ``i`` that reaches ``j`` by ``arrive`` (with a profile)."""
        return float(traffic.latest_departure(self.profile, arrive, self.dur[i][j], self.hour))
class _Arrays:
    """A problem's arrays as the kernel takes them (:func:`kernel_arrays`), made once per problem; the
    matrices are the problem's own (read-only views, never copies)."""

    def __init__(self, p: Problem) -> None:
        def frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
            a = np.ascontiguousarray(a, dtype=dtype).view()  # a view: the kernel's types are read-only arrays
            a.setflags(write=False)
            return a

        vts = p.vehicle_types
        nc = p.n_clients
        n_tw = np.array([len(c.time_windows) for c in p.clients], dtype=np.int64)
        tw = p.time_windows if nc else np.zeros((0, 1, 2))
        self.args = (
            p.n_depots, frozen(p.distance, np.float64), frozen(p.duration, np.float64),
            frozen(p.service_time.reshape(nc), np.float64), frozen(tw, np.float64), frozen(n_tw, np.int64),
            frozen(p.delivery, np.float64), frozen(p.pickup, np.float64),
            frozen((p.delivery != 0).any(axis=1), np.bool_), frozen((p.pickup != 0).any(axis=1), np.bool_),
            frozen(p.capacity, np.float64), frozen(p.depot_windows, np.float64),
            frozen(p.vehicle_start, np.int64), frozen(p.vehicle_end, np.int64),
            frozen(np.array([vt.shift for vt in vts], dtype=float).reshape(-1, 2), np.float64),
            frozen(np.array([vt.max_duration for vt in vts], dtype=float), np.float64),
            frozen(np.array([vt.max_distance for vt in vts], dtype=float), np.float64),
            frozen(np.array([vt.fixed_cost for vt in vts], dtype=float), np.float64),
            frozen(np.array([vt.cost_per_distance for vt in vts], dtype=float), np.float64),
            frozen(np.array([vt.cost_per_duration for vt in vts], dtype=float), np.float64),
            frozen(np.array([-1 if vt.count is None else vt.count for vt in vts], dtype=np.int64), np.int64),
            frozen(p.prize.reshape(nc), np.float64), frozen(p.required.reshape(nc), np.bool_),
            bool(p.backhaul == "strict" and p.pickup.any()),
        )
        self.n_clients = nc
        self.n_types = len(vts)
        self.n_dims = p.n_dims
        self.n_optional = int((~p.required).sum())
        self.start = p.vehicle_start.tolist()
        self.end = [None if e < 0 else e for e in p.vehicle_end.tolist()]
        self.depot_tw = [tuple(w) for w in p.depot_windows.tolist()]
        self.windows = [list(c.time_windows) for c in p.clients]
        self.ids = p.node_ids
        self.type_ids = [vt.id for vt in vts]
        self.problem = weakref.ref(p)



_CACHE: weakref.WeakKeyDictionary[Problem, _Data | _Arrays] = weakref.WeakKeyDictionary()
_PY_CACHE: weakref.WeakKeyDictionary[Problem, _Data] = weakref.WeakKeyDictionary()


def _python_schedule(problem: Problem) -> bool:
    """Whether ``problem``'s plans go through the Python schedule (time-dependent and fleet problems)."""
    return problem.time_dependent or problem.fleet


def _py_data(problem: Problem) -> _Data:
    """The :class:`_Data` of ``problem`` (made once per problem)."""
    data = _PY_CACHE.get(problem)
    if data is None:
        data = _PY_CACHE[problem] = _Data(problem)
    return data


def _data(problem: Problem) -> _Data | _Arrays:
    """The per-problem data of the evaluator: :class:`_Arrays` for the kernel, :class:`_Data` for a
    time-dependent or fleet problem."""
    if _python_schedule(problem):
        return _py_data(problem)
    data = _CACHE.get(problem)
    if data is None:
        data = _CACHE[problem] = _Arrays(problem)
    return data


def _route(d: _Data | _Arrays, v: int, clients: tuple[int, ...], r: int, out: list[Violation],
           reloads: tuple[tuple[int, int], ...] = (), breaks: tuple[tuple[int, int], ...] | None = None
           ) -> RouteSchedule:
    """One route of vehicle type ``v`` (valid client indices; ``reloads`` and ``breaks`` as in :class:`Route`)
    evaluated alone: its schedule; its violations are appended to ``out`` as those of route ``r``."""
    if isinstance(d, _Data):
        return _route_py(d, v, clients, r, out, reloads, breaks)
    problem = d.problem()
    assert problem is not None  # the cache holds the data of live problems only
    ev = _evaluate(problem, [Route(v, clients, reloads, breaks)], [])
    out.extend(replace(x, route=r) for x in ev.violations if x.route is not None)
    return ev.routes[0]


Plan = Solution | Sequence[Route] | Mapping[str, Any]


def _routes_of(problem: Problem, plan: Plan, violations: list[Violation]) -> list[Route]:
    if isinstance(plan, Mapping):
        return _routes_from_dict(problem, plan, violations)
    if isinstance(plan, Solution):
        return list(plan.routes)
    return list(plan)


def evaluate(problem: Problem, plan: Plan) -> Evaluation:
    """Evaluate ``plan`` on ``problem``.

    ``plan`` is a :class:`Solution`, a list of :class:`Route`, or the solution JSON as a dict (full form with
    stop objects, or the short form whose stops are client ids); ids that are not in the problem are
    reported as ``unknown_id`` / ``unknown_vehicle_type`` violations.
    """
    violations: list[Violation] = []
    routes = _routes_of(problem, plan, violations)
    return _evaluate(problem, routes, violations)


class Totals(NamedTuple):
    """What ``evaluate_many(..., full=False)`` finds: one entry per plan, as :class:`Evaluation` has them."""

    cost: np.ndarray
    distance: np.ndarray
    duration: np.ndarray
    violations: np.ndarray
    """How many violations each plan has (``len(Evaluation.violations)``)."""

    @property
    def feasible(self) -> np.ndarray:
        return self.violations == 0


def _has_events(routes: list[Route]) -> bool:
    """Whether some route lists reloads or breaks (the Python schedule evaluates those)."""
    return any(r.reloads or r.breaks for r in routes)


def evaluate_many(problem: Problem, plans: Iterable[Plan], *, full: bool = True) -> list[Evaluation] | Totals:
    """Evaluate many plans of one problem in one compiled call: ``[evaluate(problem, p) for p in plans]``,
    the same results, without the per-call overhead. ``plans`` is any iterable of what :func:`evaluate`
    takes.

    With ``full=False`` no :class:`Evaluation` objects are built: the result is a :class:`Totals` of arrays
    (cost, distance, duration and the number of violations of each plan; ``Totals.feasible``), the fastest
    way to score many candidate plans.
    """
    items = []
    for plan in plans:
        violations: list[Violation] = []
        items.append((_routes_of(problem, plan, violations), violations))
    python = _python_schedule(problem)
    by_python = [k for k, (routes, _) in enumerate(items) if python or _has_events(routes)]
    if not by_python:
        from vrpkit._evaluate_kernel import kernel

        return _evaluate_kernel(problem, items, kernel(), full=full)
    evaluations: list[Evaluation | None] = [None] * len(items)
    for k in by_python:
        evaluations[k] = _evaluate_py(problem, *items[k])
    rest = [k for k in range(len(items)) if evaluations[k] is None]
    if rest:
        from vrpkit._evaluate_kernel import kernel

        by_kernel = _evaluate_kernel(problem, [items[k] for k in rest], kernel())
        for k, e in zip(rest, by_kernel, strict=True):
            evaluations[k] = e
    done = [e for e in evaluations if e is not None]
    if full:
        return done
    return Totals(np.array([e.cost for e in done], dtype=float).reshape(len(done)),
                  np.array([e.distance for e in done], dtype=float).reshape(len(done)),
                  np.array([e.duration for e in done], dtype=float).reshape(len(done)),
                  np.array([len(e.violations) for e in done], dtype=np.int64).reshape(len(done)))


def _evaluate(problem: Problem, routes: list[Route], violations: list[Violation]) -> Evaluation:
    if _python_schedule(problem) or _has_events(routes):
        return _evaluate_py(problem, routes, violations)
    from vrpkit._evaluate_kernel import kernel

    return _evaluate_kernel(problem, [(routes, violations)], kernel())[0]


_CHUNK = 1 << 21
"""Violation slots per kernel call at most: plans are evaluated in chunks that fit (one plan at least), so
the outputs of many plans of a large problem stay small."""


def _evaluate_kernel(problem: Problem, items: list[tuple[list[Route], list[Violation]]], fn: Any, *,
                     full: bool = True) -> list[Evaluation] | Totals:
    """Run the kernel ``fn`` on ``items`` (the routes of each plan and the violations found reading it)."""
    d = _data(problem)
    assert isinstance(d, _Arrays)
    per_plan = d.n_types + d.n_clients
    evaluations: list[Evaluation] = []
    plan_floats, counts = [np.zeros((0, 6))], [np.zeros(0, dtype=np.int64)]
    lo = 0
    while lo < len(items):
        hi, slots = lo, 0
        while hi < len(items) and (hi == lo or slots + per_plan < _CHUNK):
            routes = items[hi][0]
            slots += per_plan + 7 * len(routes) + 2 * sum(len(r.clients) for r in routes)
            hi += 1
        part = items[lo:hi]
        out = _Out(d, part, fn)
        if full:
            enabled = gc.isenabled()
            gc.disable()  # many small objects, no cycles: the collector's passes would cost more than the build
            try:
                evaluations.extend(out.evaluations(d, part))
            finally:
                if enabled:
                    gc.enable()
        else:
            plan_floats.append(out.p_float)
            counts.append(np.diff(out.v_ptr) + np.array([len(v) for _, v in part], dtype=np.int64))
        lo = hi
    if full:
        return evaluations
    p_float = np.concatenate(plan_floats)
    return Totals(p_float[:, 5].copy(), p_float[:, 0].copy(), p_float[:, 1].copy(), np.concatenate(counts))


def _ints(values: list[Any]) -> np.ndarray:
    """Integers as int64; one beyond int64 becomes -1 (an unknown id or vehicle type all the same)."""
    try:
        return np.array(values, dtype=np.int64).reshape(len(values))
    except OverflowError:
        return np.array([v if -(2**63) <= v < 2**63 else -1 for v in values], dtype=np.int64)


def _carve(dtype: Any, *shapes: int | tuple[int, int]) -> list[np.ndarray]:
    """Zeroed arrays of these shapes, views of one allocation."""
    sizes = [s if isinstance(s, int) else s[0] * s[1] for s in shapes]
    buf = np.zeros(sum(sizes), dtype=dtype)
    out, at = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(buf[at:at + size].reshape(shape))
        at += size
    return out


class _Out:
    """One kernel call: the plans flattened, the outputs (see :func:`vrpkit._evaluate_kernel.evaluate_plans`)."""

    def __init__(self, d: _Arrays, part: list[tuple[list[Route], list[Violation]]], fn: Any) -> None:
        n_plans = len(part)
        self.routes = routes = list(itertools.chain.from_iterable(r for r, _ in part))
        n_routes = len(routes)
        plan_ptr = np.zeros(n_plans + 1, dtype=np.int64)
        np.cumsum([len(r) for r, _ in part], out=plan_ptr[1:])
        lengths = np.array([len(r.clients) for r in routes], dtype=np.int64).reshape(n_routes)
        route_ptr = np.zeros(n_routes + 1, dtype=np.int64)
        np.cumsum(lengths, out=route_ptr[1:])
        n_stops = int(route_ptr[-1])
        route_type = _ints([r.vehicle_type for r in routes])
        self.raw_stops = list(itertools.chain.from_iterable(r.clients for r in routes))
        stops = _ints(self.raw_stops)
        k = d.n_dims
        n_viol = 7 * n_routes + 2 * n_stops + n_plans * (d.n_types + d.n_clients)
        (self.r_plan_ptr, self.r_type, self.r_ptr, self.s_client, self.u_ptr, self.u_client, self.v_ptr,
         self.v_code, self.v_route, self.v_ref) = _carve(
            np.int64, n_plans + 1, n_routes, n_routes + 1, n_stops, n_plans + 1, n_plans * d.n_optional,
            n_plans + 1, n_viol, n_viol, n_viol)
        self.r_float, self.r_load, self.s_float, self.s_load, self.p_float, self.v_amount, scratch = _carve(
            np.float64, (n_routes, 5), (n_routes, k), (n_stops, 3), (n_stops, k), (n_plans, 6), n_viol,
            (8, max(int(lengths.max(initial=0)), 1)))
        fn(*d.args, plan_ptr, route_type, route_ptr, stops, self.r_plan_ptr, self.r_type, self.r_ptr,
           self.r_float, self.r_load, self.s_client, self.s_float, self.s_load, self.p_float, self.u_ptr,
           self.u_client, self.v_ptr, self.v_code, self.v_amount, self.v_route, self.v_ref, scratch)

    def evaluations(self, d: _Arrays, part: list[tuple[list[Route], list[Violation]]]) -> list[Evaluation]:
        """The :class:`Evaluation` of each plan (plain Python numbers, as :func:`evaluate` has them)."""
        from vrpkit._evaluate_kernel import CODES, FLEET_SIZE, UNKNOWN_ID, UNKNOWN_VEHICLE_TYPE

        ids, type_ids, start, end = d.ids, d.type_ids, d.start, d.end
        r_plan_ptr, r_ptr, u_ptr, v_ptr = (x.tolist() for x in (self.r_plan_ptr, self.r_ptr, self.u_ptr,
                                                                self.v_ptr))
        r_type, r_float, r_load = self.r_type.tolist(), self.r_float.tolist(), self.r_load.tolist()
        n_stops = int(r_ptr[r_plan_ptr[-1]]) if r_plan_ptr[-1] else 0
        s_client = self.s_client[:n_stops].tolist()
        arrival, start_at, departure = (self.s_float[:n_stops, i].tolist() for i in range(3))
        s_load = [self.s_load[:n_stops, i].tolist() for i in range(self.s_load.shape[1])]
        u_client, p_float = self.u_client.tolist(), self.p_float.tolist()
        n_viol = v_ptr[-1]
        v_code, v_amount, v_route, v_ref = (x[:n_viol].tolist() for x in (self.v_code, self.v_amount, self.v_route,
                                                                           self.v_ref))
        routes, raw_stops = self.routes, self.raw_stops
        out = []
        for p, (_, found) in enumerate(part):
            schedules = []
            for kr in range(r_plan_ptr[p], r_plan_ptr[p + 1]):
                lo, hi = r_ptr[kr], r_ptr[kr + 1]
                v = r_type[kr]
                t_start, t_end, distance, duration, cost = r_float[kr]
                schedules.append(RouteSchedule(
                    vehicle_type=v, clients=tuple(s_client[lo:hi]), start_depot=start[v], end_depot=end[v],
                    start_time=t_start, end_time=t_end, distance=distance, duration=duration, cost=cost,
                    arrival=tuple(arrival[lo:hi]), start=tuple(start_at[lo:hi]), departure=tuple(departure[lo:hi]),
                    load=tuple(zip(*(q[lo:hi] for q in s_load), strict=True)), start_load=tuple(r_load[kr])))
            violations = list(found)
            for i in range(v_ptr[p], v_ptr[p + 1]):
                code, ref, route = v_code[i], v_ref[i], v_route[i]
                where = None if route < 0 else route
                if code == UNKNOWN_ID:
                    violations.append(Violation("unknown_id", v_amount[i], where, str(raw_stops[ref])))
                elif code == UNKNOWN_VEHICLE_TYPE:
                    violations.append(Violation("unknown_vehicle_type", v_amount[i], where,
                                                str(routes[ref].vehicle_type)))
                elif code == FLEET_SIZE:
                    violations.append(Violation("fleet_size", v_amount[i], vehicle_type=type_ids[ref]))
                else:
                    client = ids[ref] if ref >= 0 else None
                    violations.append(Violation(CODES[code], v_amount[i], where, client))
            distance, duration, fixed, variable, prize_lost, cost = p_float[p]
            out.append(Evaluation(
                routes=tuple(schedules), unassigned=tuple(u_client[u_ptr[p]:u_ptr[p + 1]]),
                violations=tuple(violations), distance=distance, duration=duration, fixed_cost=fixed,
                variable_cost=variable, prize_lost=prize_lost, cost=cost))
        return out




def _evaluate_py(problem: Problem, routes: list[Route], violations: list[Violation]) -> Evaluation:
    """A plan evaluated by the Python schedule (time-dependent or fleet problems, plans with reloads or
    breaks): the rules of the module docstring, event by event."""
    d = _py_data(problem)
    n_clients = problem.n_clients
    n_types = len(d.start)
    visits = [0] * n_clients
    route_of = [-1] * n_clients  # the first route that serves each client (shipments)
    used = [0] * n_types
    schedules = []
    total_dist = total_dur = total_fixed = total_var = 0.0
    kept = 0
    for route in routes:
        v = route.vehicle_type
        if not 0 <= v < n_types:
            violations.append(Violation("unknown_vehicle_type", 1.0, kept, str(v)))
            continue
        clients = []
        kept_before = []  # how many valid clients come before each position of the route as given
        for c in route.clients:
            kept_before.append(len(clients))
            if 0 <= c < n_clients:
                clients.append(c)
                visits[c] += 1
                if route_of[c] < 0:
                    route_of[c] = kept
            else:
                violations.append(Violation("unknown_id", 1.0, kept, str(c)))
        if not clients:
            continue
        kept_before.append(len(clients))
        reloads, breaks = route.reloads, route.breaks
        if len(clients) < len(route.clients):  # positions count the valid clients only
            n_given = len(route.clients)
            reloads = tuple((kept_before[p] if 0 <= p <= n_given else p, x) for p, x in reloads)
            if breaks is not None:
                breaks = tuple((kept_before[p] if 0 <= p <= n_given else p, x) for p, x in breaks)
        used[v] += 1
        sched = _route_py(d, v, tuple(clients), kept, violations, reloads, breaks)
        schedules.append(sched)
        total_dist += sched.distance
        total_dur += sched.duration
        total_fixed += d.fixed[v]
        total_var += sched.cost - d.fixed[v]
        kept += 1
    for v in range(n_types):
        if d.count[v] is not None and used[v] > d.count[v]:
            violations.append(Violation("fleet_size", float(used[v] - d.count[v]),
                                        vehicle_type=problem.vehicle_types[v].id))
    for pickup, delivery in d.shipments:
        a, b = route_of[pickup], route_of[delivery]
        if a != b:  # on two routes, or only one stop visited
            violations.append(Violation("shipment_split", 1.0, None, d.ids[d.nd + pickup]))
    unassigned = []
    prize_lost = 0.0
    for c in range(n_clients):
        k = visits[c]
        if k == 0:
            if d.required[c]:
                violations.append(Violation("missing_client", 1.0, None, d.ids[d.nd + c]))
            else:
                unassigned.append(c)
                prize_lost += d.prize[c]
        elif k > 1:
            violations.append(Violation("duplicate_client", float(k - 1), None, d.ids[d.nd + c]))
    return Evaluation(
        routes=tuple(schedules),
        unassigned=tuple(unassigned),
        violations=tuple(violations),
        distance=total_dist,
        duration=total_dur,
        fixed_cost=total_fixed,
        variable_cost=total_var,
        prize_lost=prize_lost,
        cost=total_fixed + total_var + prize_lost,
    )


_CLIENT, _RELOAD, _BREAK = range(3)


class _Events:
    """A route as the schedule runs it: client stops, reloads and breaks in order (parallel lists).

    ``kind`` and ``ref`` (client, depot or break index); ``pos``: the client position (a client: its own; a
    reload: the client it comes before; a break: the ``Route.breaks`` position); ``node`` where the event takes
    place and ``prev`` the node before it; ``travel``: whether a leg ``prev -> node`` leads to it (not for a
    break); ``windows`` in which it starts (``single``: just one); ``service``: how long it lasts;
    ``release``: the earliest departure for the leg to it (a trip's release time, on its first client)."""

    __slots__ = ("kind", "node", "pos", "prev", "ref", "release", "service", "single", "travel", "windows")

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.ref: list[int] = []
        self.pos: list[int] = []
        self.node: list[int] = []
        self.prev: list[int] = []
        self.travel: list[bool] = []
        self.windows: list[Sequence[tuple[float, float]]] = []
        self.single: list[bool] = []
        self.service: list[float] = []
        self.release: list[float] = []

    def add(self, kind: int, ref: int, pos: int, node: int, prev: int, travel: bool,
            windows: Sequence[tuple[float, float]], single: bool, service: float, release: float) -> None:
        self.kind.append(kind)
        self.ref.append(ref)
        self.pos.append(pos)
        self.node.append(node)
        self.prev.append(prev)
        self.travel.append(travel)
        self.windows.append(windows)
        self.single.append(single)
        self.service.append(service)
        self.release.append(release)


def _client_events(d: _Data, clients: Sequence[int], start_node: int) -> _Events:
    """The events of a route of clients only, from ``start_node``."""
    ev = _Events()
    nd = d.nd
    prev = start_node
    for k, c in enumerate(clients):
        ev.add(_CLIENT, c, k, nd + c, prev, True, d.windows[c], d.single_window[c], d.service[c], 0.0)
        prev = nd + c
    return ev


def _events(d: _Data, v: int, clients: tuple[int, ...], reloads: Mapping[int, int], release: Mapping[int, float],
            breaks: Sequence[tuple[int, int]]) -> _Events:
    """The events of a route of type ``v``: ``reloads`` (position -> depot), ``release`` (the first position
    of a trip -> its release time), ``breaks`` ``(position, break index)`` in the order taken."""
    if not reloads and not release and not breaks:
        return _client_events(d, clients, d.start[v])
    by_position: dict[int, list[int]] = {}
    for p, b in breaks:
        by_position.setdefault(p, []).append(b)
    ev = _Events()
    nd = d.nd
    type_breaks = d.breaks[v]
    here = d.start[v]
    n = len(clients)
    for p in range(n + 1):
        for b in by_position.get(p, ()):
            windows, duration = type_breaks[b]
            ev.add(_BREAK, b, p, here, here, False, windows, len(windows) == 1, duration, 0.0)
        if p == n:
            break
        depot = reloads.get(p)
        if depot is not None:
            ev.add(_RELOAD, depot, p, depot, here, True, (d.depot_tw[depot],), True, d.depot_service[depot], 0.0)
            here = depot
        c = clients[p]
        ev.add(_CLIENT, c, p, nd + c, here, True, d.windows[c], d.single_window[c], d.service[c],
               release.get(p, 0.0))
        here = nd + c
    return ev


def _place_break(ev: _Events, departure: list[float], t0: float, n: int,
                 windows: Sequence[tuple[float, float]]) -> int:
    """Where the short form takes a break with these ``windows`` on the schedule ``departure`` of ``ev`` (from
    ``t0``): the first position at which the vehicle is free inside a window, or before that the last
    position after which a whole window would pass before the vehicle is free again; else after the last
    service (see the module docstring)."""
    free = [t0] * (n + 1)  # when the vehicle is free at each position: its service there (and breaks) done
    for k, kind in enumerate(ev.kind):
        if kind == _CLIENT:
            free[ev.pos[k] + 1] = departure[k]
        elif kind == _BREAK:
            free[ev.pos[k]] = departure[k]
    for p in range(n + 1):
        f = free[p]
        if any(a - _EPS <= f <= e + _EPS for a, e in windows):
            return p
        if p < n and any(a > f + _EPS and e + _EPS < free[p + 1] for a, e in windows):
            return p
    return n


def _route_py(d: _Data, v: int, clients: tuple[int, ...], r: int, out: list[Violation],
              reloads: Sequence[tuple[int, int]] = (), breaks: Sequence[tuple[int, int]] | None = None
              ) -> RouteSchedule:
    """One route (the rules of the module docstring, in Python): its schedule; its violations are appended
    to ``out`` as those of route ``r``. ``reloads`` and ``breaks`` are those of :class:`Route` (``breaks``
    None: the short form, placed here)."""
    nd = d.nd
    dist = d.dist
    n = len(clients)
    start_node = d.start[v]
    end_node = d.end[v]
    shift_start, shift_end = d.shift[v]
    open_at, close_at = d.depot_tw[start_node]
    t0 = max(shift_start, open_at)
    type_id = d.type_ids[v]

    skills_ok = d.skills_ok[v]
    for c in clients:
        if not skills_ok[c]:
            out.append(Violation("skills", float(len(d.client_skills[c] - d.type_skills[v])), r, d.ids[nd + c]))

    # Reloads and listed breaks that fit the route.
    at: dict[int, int] = {}  # position -> depot of each reload made
    for p, depot in reloads:
        if not 0 <= depot < nd:
            out.append(Violation("unknown_id", 1.0, r, str(depot)))
        elif not 0 < p < n or p in at:
            out.append(Violation("reload", 1.0, r, d.ids[depot]))
        else:
            if not d.reload_at[v][depot]:
                out.append(Violation("reload", 1.0, r, d.ids[depot]))
            at[p] = depot
    most = d.max_reloads[v]
    if d.has_reload_depots[v] and 0 <= most < len(at):
        out.append(Violation("reload", float(len(at) - most), r))
    type_breaks = d.breaks[v]
    placed: list[tuple[int, int]] | None = None
    if breaks is not None:
        placed = []
        listed = [0] * len(type_breaks)
        for p, b in breaks:
            if not 0 <= b < len(type_breaks):
                out.append(Violation("unknown_id", 1.0, r, str(b)))
            elif 0 <= p <= n:
                placed.append((p, b))
                listed[b] += 1
        for k in listed:
            if k != 1:
                out.append(Violation("break", 1.0 if k == 0 else float(k - 1), r, vehicle_type=type_id))
    release: dict[int, float] = {}
    cuts = sorted(at)
    bounds = [0, *cuts, n]
    if d.has_release:
        for lo, hi in itertools.pairwise(bounds):
            latest_release = max(d.release[c] for c in clients[lo:hi])
            if latest_release > 0:
                release[lo] = latest_release

    # Distance.
    prev = start_node
    distance = 0.0
    for k, c in enumerate(clients):
        if at:
            depot = at.get(k)
            if depot is not None:
                distance += dist[prev][depot]
                prev = depot
        node = nd + c
        distance += dist[prev][node]
        prev = node
    if end_node is not None:
        distance += dist[prev][end_node]

    # Breaks of the short form, placed one by one on the schedule from the earliest departure.
    if placed is None:
        placed = []
        for b in d.break_order[v]:
            ev = _events(d, v, clients, at, release, placed)
            departure = _times_ev(d, ev, t0)[2]
            placed.append((_place_break(ev, departure, t0, n, type_breaks[b][0]), b))
        placed.sort(key=lambda x: x[0])
    ev = _events(d, v, clients, at, release, placed)

    # Times: first pass from the earliest departure, then delay the departure by the slack found.
    t_start = t0
    arrival, start, departure, late, delay = _times_ev(d, ev, t0)
    latest = min(shift_end, close_at) - t0
    if d.profile is not None:  # time-dependent: the same rule, by a backward pass (see _latest_start)
        if latest > _EPS and not any(late):
            t_end = _end(d, ev, departure, end_node)
            delay = _latest_start(d, ev, end_node, start, t_end) - t0
        else:
            delay = 0.0
    if delay > _EPS and latest > _EPS and not any(late):
        t_start = t0 + min(delay, latest)
        arrival, start, departure, late, _ = _times_ev(d, ev, t_start)
    t_end = _end(d, ev, departure, end_node)
    if not any(late) and not all(ev.single):
        end_close = d.depot_tw[end_node][1] if end_node is not None else INF
        later = _later_window_start(d, ev, end_node, t_start, t_end, t0 + max(latest, 0.0),
                                    min(shift_end, end_close))
        if later is not None:
            t_start, t_end, (arrival, start, departure, late, _) = later
    duration = t_end - t_start

    # Loads.
    reload_load: dict[int, tuple[float, ...]] = {}
    if not at and not d.has_shipments and d.n_dims == 1:
        q = 0.0
        for c in clients:
            q += d.delivery1[c]
        start_load = (q,)
        peak = q
        loads = []
        for c in clients:
            q += d.pickup1[c] - d.delivery1[c]
            loads.append((q,))
            if q > peak:
                peak = q
        excess = peak - d.capacity[v][0]
    elif not at and not d.has_shipments:
        k = d.n_dims
        q_list = [sum(d.delivery[c][j] for c in clients) for j in range(k)]
        start_load = tuple(q_list)
        peaks = list(q_list)
        loads = []
        for c in clients:
            q_list = [q_list[j] - d.delivery[c][j] + d.pickup[c][j] for j in range(k)]
            loads.append(tuple(q_list))
            peaks = [max(a, b) for a, b in zip(peaks, q_list, strict=True)]
        excess = max(p - cap for p, cap in zip(peaks, d.capacity[v], strict=True))
    else:  # trip by trip, with the shipments on board
        k = d.n_dims
        on_board = [0.0] * k
        loads = []
        start_load = ()
        peaks = [-INF] * k
        for lo, hi in itertools.pairwise(bounds):
            trip = clients[lo:hi]
            q_list = [sum(d.delivery[c][j] for c in trip) + on_board[j] for j in range(k)]
            if lo == 0:
                start_load = tuple(q_list)
            else:
                reload_load[lo] = tuple(q_list)
            peaks = [max(a, b) for a, b in zip(peaks, q_list, strict=True)]
            for c in trip:
                moved = d.shipment_load[c]
                q_list = [q_list[j] - d.delivery[c][j] + d.pickup[c][j] + moved[j] for j in range(k)]
                on_board = [on_board[j] + moved[j] for j in range(k)]
                loads.append(tuple(q_list))
                peaks = [max(a, b) for a, b in zip(peaks, q_list, strict=True)]
        excess = max(p - cap for p, cap in zip(peaks, d.capacity[v], strict=True))
    if excess > _EPS:
        out.append(Violation("capacity", excess, r))

    # The events' times and lateness.
    c_arrival, c_start, c_departure = [], [], []
    reloads_done: list[Reload] = []
    breaks_taken: list[BreakTaken] = []
    late_clients, late_breaks, late_depots = [], [], []
    for k, kind in enumerate(ev.kind):
        if kind == _CLIENT:
            c_arrival.append(arrival[k])
            c_start.append(start[k])
            c_departure.append(departure[k])
            if late[k] > _EPS:
                late_clients.append(Violation("time_window", late[k], r, d.ids[ev.node[k]]))
        elif kind == _RELOAD:
            leave = max(departure[k], ev.release[k + 1])  # after the reload, and the next trip's release time
            reloads_done.append(Reload(ev.pos[k], ev.ref[k], arrival[k], start[k], leave, reload_load[ev.pos[k]]))
            if late[k] > _EPS:
                late_depots.append(Violation("depot_time_window", late[k], r, d.ids[ev.node[k]]))
        else:
            breaks_taken.append(BreakTaken(ev.pos[k], ev.ref[k], start[k], departure[k]))
            if late[k] > _EPS:
                late_breaks.append(Violation("break", late[k], r, vehicle_type=type_id))
    out.extend(late_clients)
    out.extend(late_breaks)
    if t_start > close_at + _EPS:
        out.append(Violation("depot_time_window", t_start - close_at, r, d.ids[start_node]))
    out.extend(late_depots)
    end_close = INF if end_node is None else d.depot_tw[end_node][1]
    late_release = []
    past_shift = past_close = False  # a release time made the vehicle leave a depot after these limits
    if release:
        for k, rel in enumerate(ev.release):
            ready = departure[k - 1] if k else t_start
            if rel > ready + _EPS:
                depot = ev.prev[k]
                limit = min(d.depot_tw[depot][1], shift_end)
                if rel > limit + _EPS:
                    late_release.append(Violation("release_time", rel - max(limit, ready), r, d.ids[depot]))
                    past_shift = past_shift or rel > shift_end + _EPS
                    past_close = past_close or rel > end_close + _EPS
    if t_end > end_close + _EPS and not past_close:
        out.append(Violation("depot_time_window", t_end - end_close, r, d.ids[end_node]))
    out.extend(late_release)
    if past_shift:
        pass
    elif t_end > shift_end + _EPS:
        out.append(Violation("shift", t_end - shift_end, r))
    elif t_start > shift_end + _EPS:
        out.append(Violation("shift", t_start - shift_end, r))
    if duration > d.max_duration[v] + _EPS:
        out.append(Violation("max_duration", duration - d.max_duration[v], r))
    if distance > d.max_distance[v] + _EPS:
        out.append(Violation("max_distance", distance - d.max_distance[v], r))
    if d.strict:
        seen_pickup = False
        for k, c in enumerate(clients):
            if k in at:  # a new trip
                seen_pickup = False
            if d.delivery1[c] > 0 or any(d.delivery[c]):
                if seen_pickup:
                    out.append(Violation("backhaul_order", 1.0, r, d.ids[nd + c]))
            elif any(d.pickup[c]):
                seen_pickup = True
    if d.has_shipments:
        where: dict[int, int] = {}
        for k, c in enumerate(clients):
            if d.partner[c] >= 0:
                where.setdefault(c, k)
        for k, c in enumerate(clients):
            if d.partner[c] < 0 or d.is_pickup[c] or where[c] != k:
                continue
            kp = where.get(d.partner[c])
            if kp is None:
                continue  # the pickup is on no route or another one: shipment_split (of the plan)
            if kp > k:
                out.append(Violation("shipment_order", 1.0, r, d.ids[nd + c]))
            else:
                ride = c_start[k] - c_departure[kp]
                most_ride = d.max_ride[d.shipment_of[c]]
                if ride > most_ride + _EPS:
                    out.append(Violation("ride_time", ride - most_ride, r, d.ids[nd + c]))

    cost = d.fixed[v] + d.cpd[v] * distance + d.cpt[v] * duration
    return RouteSchedule(
        vehicle_type=v, clients=clients, start_depot=start_node, end_depot=end_node,
        start_time=t_start, end_time=t_end, distance=distance, duration=duration, cost=cost,
        arrival=tuple(c_arrival), start=tuple(c_start), departure=tuple(c_departure), load=tuple(loads),
        start_load=start_load, reloads=tuple(reloads_done), breaks=tuple(breaks_taken),
    )


def _later_window_start(
    d: _Data, ev: _Events, end_node: int | None, t_start: float, t_end: float, latest_start: float,
    latest_end: float,
) -> tuple[float, float, tuple[list[float], list[float], list[float], list[float], float]] | None:
    """With several windows at some event, a later departure that reaches that event in one of its later
    windows may avoid more waiting than the first-window schedule: the shortest such schedule without lateness
    (or None when none is shorter than ``t_end - t_start``)."""
    best = None
    best_duration = t_end - t_start
    prefix = 0.0  # travel and service from the depot to each event, without waiting
    for i in range(len(ev.node)):
        if ev.travel[i]:
            prefix += d.dur[ev.prev[i]][ev.node[i]]
        if not ev.single[i]:
            for a, _ in ev.windows[i]:
                s = a - prefix if d.profile is None else _reach_by(d, ev, i, a)
                if not t_start + _EPS < s <= latest_start + _EPS:
                    continue
                times = _times_ev(d, ev, s)
                if any(times[3]):
                    continue
                if d.profile is None:
                    s = s + min(times[4], max(latest_start - s, 0.0))
                else:
                    s = max(s, min(_latest_start(d, ev, end_node, times[1], _end(d, ev, times[2], end_node)),
                                   latest_start))
                times = _times_ev(d, ev, s)
                end = _end(d, ev, times[2], end_node)
                if not any(times[3]) and end <= latest_end + _EPS and end - s < best_duration - _EPS:
                    best, best_duration = (s, end, times), end - s
        prefix += ev.service[i]
    return best


def _end(d: _Data, ev: _Events, departure: list[float], end_node: int | None) -> float:
    """When the route ends: back at ``end_node`` after its last departure (open routes: that departure)."""
    if end_node is None:
        return departure[-1]
    return d.leg(departure[-1], ev.node[-1], end_node)


def _latest_start(d: _Data, ev: _Events, end_node: int | None, start: list[float], t_end: float) -> float:
    """Time-dependent: the latest departure from the depot at which no event is late and the route ends no
    later than ``t_end``, given the ``start`` times of a schedule without lateness. Backward from the end, each
    event's latest start is the end of the window it starts in, or the latest departure that still makes the
    next bound, less its duration (:func:`vrpkit.traffic.latest_departure`, exact: every leg is
    first-in-first-out, so a later departure never gets anywhere sooner)."""
    bound = t_end if end_node is None else d.latest(t_end, ev.node[-1], end_node)
    for k in range(len(ev.node) - 1, -1, -1):
        windows = ev.windows[k]
        close = next((b for a, b in windows if b >= start[k] - _EPS), windows[-1][1])
        bound = min(close, bound - ev.service[k])
        if ev.travel[k]:
            bound = d.latest(bound, ev.prev[k], ev.node[k])
    return bound


def _reach_by(d: _Data, ev: _Events, i: int, arrive: float) -> float:
    """Time-dependent: the latest departure from the depot that reaches event ``i`` by ``arrive`` without
    waiting on the way (travel and service only)."""
    bound = arrive
    for k in range(i, -1, -1):
        if k < i:
            bound -= ev.service[k]
        if ev.travel[k]:
            bound = d.latest(bound, ev.prev[k], ev.node[k])
    return bound


def _times(
    d: _Data | _Arrays, clients: Sequence[int], start_node: int, t0: float
) -> tuple[list[float], list[float], list[float], list[float], float]:
    """Arrival, start and departure at each client from departure time ``t0``; lateness per client; and how
    far the departure can be delayed without lateness or a later end (the kernel's rule; Python numbers)."""
    if isinstance(d, _Data):
        return _times_py(d, tuple(clients), start_node, t0)
    from vrpkit._evaluate_kernel import _times as times
    from vrpkit.solvers.build import interpreted

    nd, _, dur, service, tw, n_tw = d.args[:6]
    out = np.zeros((4, len(clients)))
    slack, _ = interpreted(times)(nd, dur, tw, n_tw, service, np.array(clients, dtype=np.int64), start_node,
                                  float(t0), out[0], out[1], out[2], out[3])
    arrival, start, departure, late = out.tolist()
    return arrival, start, departure, late, float(slack)


def _times_py(
    d: _Data, clients: tuple[int, ...], start_node: int, t0: float
) -> tuple[list[float], list[float], list[float], list[float], float]:
    """Arrival, start and departure at each client from departure time ``t0``; lateness per client; and how
    far the departure can be delayed without lateness or a later end."""
    return _times_ev(d, _client_events(d, clients, start_node), t0)


def _times_ev(d: _Data, ev: _Events, t0: float
              ) -> tuple[list[float], list[float], list[float], list[float], float]:
    """Arrival, start and departure of each event from the start time ``t0`` (a break's arrival: when the
    vehicle is free for it); lateness per event; and how far the start can be delayed without lateness or a
    later end (waiting for windows and release times absorbs a delay)."""
    dur = d.dur
    arrival, start, departure, late = [], [], [], []
    t = t0
    cum_wait = 0.0
    slack = INF
    td = d.profile is not None
    ev_release, ev_prev, ev_node, ev_windows, ev_single, ev_service = (ev.release, ev.prev, ev.node, ev.windows,
                                                                      ev.single, ev.service)
    for k, travel in enumerate(ev.travel):
        if travel:
            rel = ev_release[k]
            if t < rel:
                cum_wait += rel - t
                t = rel
            prev, node = ev_prev[k], ev_node[k]
            t = d.leg(t, prev, node) if td else t + dur[prev][node]
        arrival.append(t)
        windows = ev_windows[k]
        if ev_single[k]:
            a, b = windows[0]
        else:
            a, b = windows[-1]
            for w in windows:
                if w[1] >= t - _EPS:  # as for lateness: a window that closed within the tolerance still serves
                    a, b = w
                    break
        if t < a:
            cum_wait += a - t
            t = a
        if t > b:
            late.append(t - b)
        else:
            late.append(0.0)
            if cum_wait + b - t < slack:
                slack = cum_wait + b - t
        start.append(t)
        t += ev_service[k]
        departure.append(t)
    return arrival, start, departure, late, min(cum_wait, slack)


def _routes_from_dict(problem: Problem, plan: Mapping[str, Any], out: list[Violation]) -> list[Route]:
    """Routes of a solution JSON (full or short form, reloads and breaks among the stops); unknown ids become
    violations."""
    from vrpkit.errors import ValidationError

    routes_in = plan.get("routes")
    if not isinstance(routes_in, list):
        raise ValidationError("routes", f"expected a list of routes, got {type(routes_in).__name__}")
    types = problem.vehicle_type_index
    clients = problem.client_index
    depots = problem.depot_index
    routes = []
    default_type = problem.vehicle_types[0].id if len(problem.vehicle_types) == 1 else None
    for r, item in enumerate(routes_in):
        if not isinstance(item, Mapping):
            raise ValidationError(f"routes[{r}]", f"expected an object, got {type(item).__name__}")
        vt_id = item.get("vehicle_type", default_type)
        if isinstance(vt_id, list | dict):
            raise ValidationError(f"routes[{r}].vehicle_type", f"expected a vehicle type id, got {vt_id!r}")
        stops = item.get("stops")
        if not isinstance(stops, list):
            raise ValidationError(f"routes[{r}].stops", f"expected a list, got {type(stops).__name__}")
        if vt_id not in types:
            out.append(Violation("unknown_vehicle_type", 1.0, r, str(vt_id)))
            continue
        v = types[vt_id]
        vt = problem.vehicle_types[v]
        entries = []
        for s, stop in enumerate(stops):
            kind = None
            if isinstance(stop, Mapping):
                sid = stop.get("id")
                kind = stop.get("type")
                if kind is not None and kind not in _STOP_TYPES:
                    known = ", ".join(f'"{t}"' for t in _STOP_TYPES)
                    raise ValidationError(f"routes[{r}].stops[{s}].type", f"{kind!r} is not one of {known}")
            else:
                sid = stop
            if not isinstance(sid, str):
                raise ValidationError(f"routes[{r}].stops[{s}]", f"expected a client id, got {sid!r}")
            entries.append((kind, sid))
        if entries and entries[0] == (None, vt.start_depot):
            entries = entries[1:]
        if entries and vt.end_depot is not None and entries[-1] == (None, vt.end_depot):
            entries = entries[:-1]
        idx: list[int] = []
        reloads: list[tuple[int, int]] = []
        breaks: list[tuple[int, int]] | None = None
        break_ids = {b.id: k for k, b in enumerate(vt.breaks)}
        for kind, sid in entries:
            if kind == "break":
                breaks = [] if breaks is None else breaks
                if sid in break_ids:
                    breaks.append((len(idx), break_ids[sid]))
                else:
                    out.append(Violation("unknown_id", 1.0, r, sid))
            elif kind == "reload" or (kind is None and sid in depots and sid not in clients):
                if sid in depots:
                    reloads.append((len(idx), depots[sid]))
                else:
                    out.append(Violation("unknown_id", 1.0, r, sid))
            elif sid in clients:
                idx.append(clients[sid])
            else:
                out.append(Violation("unknown_id", 1.0, r, sid))
        routes.append(Route(v, tuple(idx), tuple(reloads), None if breaks is None else tuple(breaks)))
    return routes


_STOP_TYPES = ("client", "reload", "break")
"""The ``type`` of a stop in a solution JSON (none: a client, or a reload when its id is a depot's)."""
