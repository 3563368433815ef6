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
with a delivery may follow a client with a pickup on the same route.

Cost: per used vehicle ``fixed_cost + cost_per_distance * distance + cost_per_duration * duration``, plus the
prize of every optional client left out.

Implementation. These rules run in one compiled kernel (:mod:`vrpkit._evaluate_kernel`, numba, built by
``python -m vrpkit.solvers.build``; until it is built the same kernel runs interpreted) over the problem's
arrays as they are, so evaluating a plan of a 10,000-client problem copies no matrix.
:func:`evaluate_many` evaluates many plans of one problem in one call. Time-dependent problems are timed by
the Python schedule below (:func:`_route_py`), the same rules leg by leg through :mod:`vrpkit.traffic`. The
results are those of the pure-Python evaluator of commit 813d688 to the bit (``tests/test_evaluate_parity.py``).
"""

from __future__ import annotations

import gc
import itertools
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from vrpkit import traffic
from vrpkit.model import INF, Problem
from vrpkit.solution import Route, Solution

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


@dataclass(frozen=True)
class RouteSchedule:
    """One route as driven: per-stop times and loads, totals and cost."""

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

    @property
    def wait(self) -> tuple[float, ...]:
        return tuple(s - a if s > a else 0.0 for a, s in zip(self.arrival, self.start, strict=True))


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
        """The solution JSON (without ``stats``)."""
        ids = problem.node_ids
        nd = problem.n_depots
        routes = []
        for r in self.routes:
            stops = [
                {"id": ids[nd + c], "arrival": _round(a), "start": _round(s), "departure": _round(d),
                 "load": _load(q)}
                for c, a, s, d, q in zip(r.clients, r.arrival, r.start, r.departure, r.load, strict=True)
            ]
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


def _data(problem: Problem) -> _Data | _Arrays:
    """The per-problem data of the evaluator: :class:`_Arrays` for the kernel, :class:`_Data` for a
    time-dependent problem."""
    data = _CACHE.get(problem)
    if data is None:
        data = _CACHE[problem] = _Data(problem) if problem.time_dependent else _Arrays(problem)
    return data


def _route(d: _Data | _Arrays, v: int, clients: tuple[int, ...], r: int, out: list[Violation]) -> RouteSchedule:
    """One route of vehicle type ``v`` (valid client indices) evaluated alone: its schedule; its violations
    are appended to ``out`` as those of route ``r``."""
    if isinstance(d, _Data):
        return _route_py(d, v, clients, r, out)
    problem = d.problem()
    assert problem is not None  # the cache holds the data of live problems only
    ev = _evaluate(problem, [Route(v, clients)], [])
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
    if problem.time_dependent:
        evaluations = [_evaluate_py(problem, routes, violations) for routes, violations in items]
        if full:
            return evaluations
        return Totals(np.array([e.cost for e in evaluations], dtype=float),
                      np.array([e.distance for e in evaluations], dtype=float),
                      np.array([e.duration for e in evaluations], dtype=float),
                      np.array([len(e.violations) for e in evaluations], dtype=np.int64))
    from vrpkit._evaluate_kernel import kernel

    return _evaluate_kernel(problem, items, kernel(), full=full)


def _evaluate(problem: Problem, routes: list[Route], violations: list[Violation]) -> Evaluation:
    if problem.time_dependent:
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
    """A time-dependent problem's evaluation (Python, leg by leg through :mod:`vrpkit.traffic`)."""
    d = _data(problem)
    assert isinstance(d, _Data)
    n_clients = problem.n_clients
    n_types = len(d.start)
    visits = [0] * n_clients
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
        for c in route.clients:
            if 0 <= c < n_clients:
                clients.append(c)
                visits[c] += 1
            else:
                violations.append(Violation("unknown_id", 1.0, kept, str(c)))
        if not clients:
            continue
        used[v] += 1
        sched = _route_py(d, v, tuple(clients), kept, violations)
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


def _route_py(d: _Data, v: int, clients: tuple[int, ...], r: int, out: list[Violation]) -> RouteSchedule:
    """One route of a time-dependent problem (the rules of the module docstring, in Python)."""
    nd = d.nd
    dist = d.dist
    start_node = d.start[v]
    end_node = d.end[v]
    shift_start, shift_end = d.shift[v]
    open_at, close_at = d.depot_tw[start_node]
    t0 = max(shift_start, open_at)

    # Distance.
    prev = start_node
    distance = 0.0
    for c in clients:
        node = nd + c
        distance += dist[prev][node]
        prev = node
    if end_node is not None:
        distance += dist[prev][end_node]

    # Times: first pass from the earliest departure, then delay the departure by the slack found.
    t_start = t0
    arrival, start, departure, late, delay = _times_py(d, clients, start_node, t0)
    latest = min(shift_end, close_at) - t0
    if d.profile is not None:  # time-dependent: the same rule, by a backward pass (see _latest_start)
        if latest > _EPS and not any(late):
            t_end = _end(d, clients, departure, end_node)
            delay = _latest_start(d, clients, start_node, end_node, start, t_end) - t0
        else:
            delay = 0.0
    if delay > _EPS and latest > _EPS and not any(late):
        t_start = t0 + min(delay, latest)
        arrival, start, departure, late, _ = _times_py(d, clients, start_node, t_start)
    t_end = _end(d, clients, departure, end_node)
    if not any(late) and not all(d.single_window[c] for c in clients):
        end_close = d.depot_tw[end_node][1] if end_node is not None else INF
        later = _later_window_start(d, clients, start_node, end_node, t_start, t_end, t0 + max(latest, 0.0),
                                    min(shift_end, end_close))
        if later is not None:
            t_start, t_end, (arrival, start, departure, late, _) = later
    duration = t_end - t_start

    # Loads.
    if d.n_dims == 1:
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
    else:
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
    if excess > _EPS:
        out.append(Violation("capacity", excess, r))

    for c, lateness in zip(clients, late, strict=True):
        if lateness > _EPS:
            out.append(Violation("time_window", lateness, r, d.ids[nd + c]))
    if t_start > close_at + _EPS:
        out.append(Violation("depot_time_window", t_start - close_at, r, d.ids[start_node]))
    if end_node is not None:
        end_close = d.depot_tw[end_node][1]
        if t_end > end_close + _EPS:
            out.append(Violation("depot_time_window", t_end - end_close, r, d.ids[end_node]))
    if t_end > shift_end + _EPS:
        out.append(Violation("shift", t_end - shift_end, r))
    elif t_start > shift_end + _EPS:
        out.append(Violation("shift", t_start - shift_end, r))
    if duration > d.max_duration[v] + _EPS:
        out.append(Violation("max_duration", duration - d.max_duration[v], r))
    if distance > d.max_distance[v] + _EPS:
        out.append(Violation("max_distance", distance - d.max_distance[v], r))
    if d.strict:
        seen_pickup = False
        for c in clients:
            if d.delivery1[c] > 0 or any(d.delivery[c]):
                if seen_pickup:
                    out.append(Violation("backhaul_order", 1.0, r, d.ids[nd + c]))
            elif any(d.pickup[c]):
                seen_pickup = True

    cost = d.fixed[v] + d.cpd[v] * distance + d.cpt[v] * duration
    return RouteSchedule(
        vehicle_type=v, clients=clients, start_depot=start_node, end_depot=end_node,
        start_time=t_start, end_time=t_end, distance=distance, duration=duration, cost=cost,
        arrival=tuple(arrival), start=tuple(start), departure=tuple(departure), load=tuple(loads),
        start_load=start_load,
    )


def _later_window_start(
    d: _Data, clients: tuple[int, ...], start_node: int, end_node: int | None, t_start: float, t_end: float,
    latest_start: float, latest_end: float,
) -> tuple[float, float, tuple[list[float], list[float], list[float], list[float], float]] | None:
    """With several windows at some stop, a later departure that reaches that stop in one of its later windows
    may avoid more waiting than the first-window schedule: the shortest such schedule without lateness (or
    None when none is shorter than ``t_end - t_start``)."""
    nd = d.nd
    best = None
    best_duration = t_end - t_start
    prefix = 0.0  # travel and service from the depot to each stop, without waiting
    prev = start_node
    for i, c in enumerate(clients):
        prefix += d.dur[prev][nd + c]
        prev = nd + c
        if not d.single_window[c]:
            for a, _ in d.windows[c]:
                s = a - prefix if d.profile is None else _reach_by(d, clients[:i + 1], start_node, a)
                if not t_start + _EPS < s <= latest_start + _EPS:
                    continue
                times = _times_py(d, clients, start_node, s)
                if any(times[3]):
                    continue
                if d.profile is None:
                    s = s + min(times[4], max(latest_start - s, 0.0))
                else:
                    s = max(s, min(_latest_start(d, clients, start_node, end_node, times[1],
                                                 _end(d, clients, times[2], end_node)), latest_start))
                times = _times_py(d, clients, start_node, s)
                end = _end(d, clients, times[2], end_node)
                if not any(times[3]) and end <= latest_end + _EPS and end - s < best_duration - _EPS:
                    best, best_duration = (s, end, times), end - s
        prefix += d.service[c]
    return best


def _end(d: _Data, clients: tuple[int, ...], departure: list[float], end_node: int | None) -> float:
    """When the route ends: back at ``end_node`` after its last departure (open routes: that departure)."""
    if end_node is None:
        return departure[-1]
    return d.leg(departure[-1], d.nd + clients[-1], end_node)


def _latest_start(d: _Data, clients: tuple[int, ...], start_node: int, end_node: int | None,
                  start: list[float], t_end: float) -> float:
    """Time-dependent: the latest departure from the depot at which no stop is late and the route ends no later
    than ``t_end``, given the service ``start`` times of a schedule without lateness. Backward from the end, each
    stop's latest service start is the end of the window it is served in, or the latest departure that still
    makes the next bound, less the service time (:func:`vrpkit.traffic.latest_departure`, exact: every leg is
    first-in-first-out, so a later departure never gets anywhere sooner)."""
    nd = d.nd
    bound = t_end if end_node is None else d.latest(t_end, nd + clients[-1], end_node)
    for k in range(len(clients) - 1, -1, -1):
        c = clients[k]
        close = next((b for a, b in d.windows[c] if b >= start[k] - _EPS), d.windows[c][-1][1])
        bound = min(close, bound - d.service[c])
        bound = d.latest(bound, start_node if k == 0 else nd + clients[k - 1], nd + c)
    return bound


def _reach_by(d: _Data, clients: tuple[int, ...], start_node: int, arrive: float) -> float:
    """Time-dependent: the latest departure from the depot that reaches the last of ``clients`` by ``arrive``
    without waiting on the way (travel and service only)."""
    nd = d.nd
    bound = arrive
    for k in range(len(clients) - 1, -1, -1):
        if k < len(clients) - 1:
            bound -= d.service[clients[k]]
        bound = d.latest(bound, start_node if k == 0 else nd + clients[k - 1], nd + clients[k])
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
    nd = d.nd
    dur = d.dur
    arrival, start, departure, late = [], [], [], []
    prev = start_node
    t = t0
    cum_wait = 0.0
    slack = INF
    td = d.profile is not None
    for c in clients:
        node = nd + c
        t = d.leg(t, prev, node) if td else t + dur[prev][node]
        arrival.append(t)
        if d.single_window[c]:
            a, b = d.windows[c][0]
        else:
            a, b = d.windows[c][-1]
            for w in d.windows[c]:
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
        t += d.service[c]
        departure.append(t)
        prev = node
    return arrival, start, departure, late, min(cum_wait, slack)


def _routes_from_dict(problem: Problem, plan: Mapping[str, Any], out: list[Violation]) -> list[Route]:
    """Routes of a solution JSON (full or short form); unknown ids become violations."""
    from vrpkit.errors import ValidationError

    routes_in = plan.get("routes")
    if not isinstance(routes_in, list):
        raise ValidationError("routes", f"expected a list of routes, got {type(routes_in).__name__}")
    types = problem.vehicle_type_index
    clients = problem.client_index
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
        ids = []
        for s, stop in enumerate(stops):
            sid = stop.get("id") if isinstance(stop, Mapping) else stop
            if not isinstance(sid, str):
                raise ValidationError(f"routes[{r}].stops[{s}]", f"expected a client id, got {sid!r}")
            ids.append(sid)
        if ids and ids[0] == vt.start_depot:
            ids = ids[1:]
        if ids and vt.end_depot is not None and ids[-1] == vt.end_depot:
            ids = ids[:-1]
        idx = []
        for sid in ids:
            if sid in clients:
                idx.append(clients[sid])
            else:
                out.append(Violation("unknown_id", 1.0, r, sid))
        routes.append(Route(v, tuple(idx)))
    return routes
