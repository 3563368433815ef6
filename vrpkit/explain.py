"""Explanations of a plan a dispatcher can act on: why each edge, why a client is left out, "why not k here?".

Every number comes from the evaluator's schedule of the plan (:func:`vrpkit.evaluate`); any solver's plan
can be explained.

Edge intentions
---------------
Each route is a sequence of edges ``u -> v`` from its start depot through its clients (and, unless the route
is open, to its end depot). An edge into the end depot has the intention ``return``. For an edge into a client
``v`` the route's prefix up to ``u`` is fixed, as the evaluator schedules it: the departure time from ``u``
(from the start depot: the earliest departure that its opening time and the shift allow), the load on board,
the distance and duration so far. The *candidates* are every client that this prefix has
not served (clients later in the same route, clients of other routes and clients left out), ``v`` included.
For a candidate ``k`` the step "go to ``k`` next" means the plan with ``k`` inserted between ``u`` and ``v``
(taken out of its own place: moved forward within the route, or taken from another route or from the
unassigned), and each constraint family *blocks* ``k`` when that step breaks it on this route:

- ``time_window``: the arrival at ``k`` (departure from ``u`` plus the duration ``u -> k``) is after the end
  of ``k``'s last window; or, having served ``k`` (waiting for the first window that has not closed, plus its
  service time), the arrival at ``v`` is after ``v``'s latest start, the latest time service at ``v`` may
  start so that ``v`` and every later stop of the route still start within the windows the plan serves them
  in (computed on the route as it is, with the durations between its stops);
- ``capacity``: the load on board exceeds the vehicle's capacity in some dimension at some stop (the route's
  loads with ``k``'s delivery carried from the depot up to ``k`` and its pickup from ``k`` on; for ``k`` moved
  forward within the route, its pickup and delivery shifted over the stops in between);
- ``limit``: the route's distance plus the detour exceeds ``max_distance``, or its duration plus the extra
  time exceeds ``max_duration``, or its end time plus the extra time passes the end of the shift or the end
  depot's closing time. The detour is ``d(u,k) + d(k,v) - d(u,v)`` (minus the distance saved where ``k`` is
  taken out of this route); the extra time is the same with durations plus ``k``'s service time, counted as
  if no waiting absorbed it;
- ``prize``: ``k`` is an optional client the plan leaves out and the detour's cost (``cost_per_distance``
  times the detour plus ``cost_per_duration`` times the extra time) is more than its prize;
- ``backhaul`` (strict backhaul only): ``k`` has a delivery and the prefix already picked up, or ``k`` has a
  pickup and a client with a delivery is still to come on the route.

The relaxed problems choose the next stop greedily, the nearest (by the distance matrix) candidate that their
constraints do not block: *distance only* blocks nothing and picks the nearest candidate; each family alone
blocks what that family blocks; the full problem blocks what any family blocks. The *closer* candidates are
those nearer to ``u`` than ``v`` (by more than 1e-6). The label of the edge:

1. ``nearest`` when no candidate is closer (distance only picks ``v``, up to ties);
2. ``lookahead`` when some closer candidate is blocked by no family: the full relaxation would have gone
   there, so no constraint explains the edge; the plan takes it for its total cost;
3. otherwise every closer candidate is blocked: the intention is the first family, in the order
   :data:`FAMILIES`, whose relaxation alone picks ``v`` (it blocks every closer candidate); when no single
   family does (the closer candidates are blocked by different families), the family that blocks the most
   of them (ties in that order). ``constraints`` lists every family that blocks some closer candidate.

``influence`` is what the edge's intention costs on this leg: ``d(u,v)`` minus the distance to the nearest
candidate (0 for ``nearest`` and ``return``); ``nearest`` names that candidate. The stop's ``slack``
(``to`` of the edge) gives, from the evaluator's schedule: ``time_window``, the time from the start of service
to the end of the window it is served in (at the end depot: to the end of the shift or the depot's closing,
the earlier); ``capacity``, the capacity left after the stop (a list per dimension when there are several);
``duration`` and ``distance``, what ``max_duration`` and ``max_distance`` leave after the stop (``None``:
unbounded); ``wait``, the waiting time before service.

The labelling is numpy over all candidates of all edges of a route at once (arrays edges x clients); see
``examples/bench_explain.py`` for its time (about 0.1 s for a 1,000-client plan).

Unassigned clients
------------------
For each client no route visits (also every client of an empty plan), :func:`explain_unassigned` gives a
reason code, the constraint and its amount, and the cheapest insertion as evidence. Insertions (each position
of each route, and a vehicle of its own where the fleet has one free) are scheduled by the evaluator, the
positions best first by a lower bound of their cost change (the exact distance change; the duration change at
least the added travel and service time minus the route's waiting), those certainly late (leaving ``u`` at
its earliest, the client or a later stop misses its last window) after all others, until the bound passes the
cheapest feasible insertion found; so the cheapest feasible insertion is exact and, when there is none, every
position was tried:

- ``no_vehicle``: no vehicle type can serve the client even on a trip of its own (the checks of
  :mod:`vrpkit.diagnose`): ``capacity`` (delivery or pickup above the largest capacity), ``time_window``
  (its window closes before any vehicle can arrive), ``shift`` or ``depot_time_window`` (no vehicle gets back
  in time; ``shift`` also when no vehicle can leave its depot within its shift and the depot's hours),
  ``max_duration`` or ``max_distance`` (the shortest trip is too long); the amount is by how much the best
  vehicle type misses;
- ``fleet_size``: a trip of its own would do, but every such vehicle is in use and no route can take it: the
  constraint is the one every insertion breaks (else the one most insertions break), the amount its smallest
  excess;
- ``prize``: an optional client whose cheapest feasible insertion costs more than its prize (amount: the
  cost minus the prize);
- ``improvable``: an optional client whose prize pays for its cheapest feasible insertion (amount: the gain);
- ``left_out``: a required client the plan misses although a feasible insertion exists (amount: its cost).

Counterfactuals
---------------
:func:`why_not` answers "why not ``k`` right after ``i``?": the route of ``i`` keeps its prefix up to ``i``,
then ``k``, locked (``vrpkit.solve(..., initial=..., locked=...)``), and a solver re-optimises the rest from
the plan with ``k`` moved there, within a small time budget. It reports the change of each cost term in the
next leg and in total, the vehicles used and every new or larger violation; ``cost_delta`` is exactly
``evaluate(counterfactual).cost - evaluate(plan).cost``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.evaluate import Evaluation, RouteSchedule, Violation, evaluate
from vrpkit.model import INF, Problem, fleet_refusal
from vrpkit.solution import Route, Solution

FAMILIES = ("time_window", "capacity", "limit", "prize", "backhaul")
"""The constraint families of the edge labelling, in the order that breaks ties."""
INTENTIONS = ("nearest", *FAMILIES, "lookahead", "return")
"""Every intention an edge may carry (see the module docstring for the rule)."""
REASONS = ("no_vehicle", "fleet_size", "prize", "improvable", "left_out")
"""Every reason code of an unassigned client."""

_EPS = 1e-6
_ROUTE_CONSTRAINTS = ("capacity", "time_window", "depot_time_window", "shift", "max_duration", "max_distance",
                      "backhaul_order")


def _num(x: float) -> float | int | None:
    """A number for JSON: None for infinities, integers without a fraction, else 6 decimals."""
    if x is None or not math.isfinite(x):
        return None
    y = round(float(x), 6)
    return int(y) if y.is_integer() and abs(y) < 2**53 else y


def _text(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return str(round(x)) if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def distance_text(problem: Problem, x: float) -> str:
    """A distance for people: km for lon/lat problems (metres inside), else the number."""
    return f"{x / 1000:,.1f} km" if problem.coordinates == "lonlat" and math.isfinite(x) else _text(x)


def time_text(problem: Problem, x: float) -> str:
    """A time span for people: h:mm for lon/lat problems (seconds inside), else the number."""
    if problem.coordinates != "lonlat" or not math.isfinite(x):
        return _text(x)
    minutes = round(x / 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d} h"


# -- data classes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeExplanation:
    """One edge of a route: its intention (see :data:`INTENTIONS`), the families that block a closer stop,
    the nearest candidate, the slack at its ``to`` stop and its influence (extra distance over the nearest)."""

    from_: str
    to: str
    intention: str
    constraints: tuple[str, ...]
    nearest: str | None
    slack: Mapping[str, Any]
    influence: float

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_, "to": self.to, "intention": self.intention,
                "constraints": list(self.constraints), "nearest": self.nearest, "slack": dict(self.slack),
                "influence": _num(self.influence)}


@dataclass(frozen=True)
class RouteExplanation:
    """A route's edges, explained, and a plain-text summary."""

    route: int
    vehicle_type: str
    summary: str
    edges: tuple[EdgeExplanation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "vehicle_type": self.vehicle_type, "summary": self.summary,
                "edges": [e.to_dict() for e in self.edges]}


@dataclass(frozen=True)
class UnassignedExplanation:
    """Why a client is left out: the reason code (:data:`REASONS`), the constraint and its amount, and the
    cheapest insertion found (``route`` None: a vehicle of its own)."""

    client: str
    reason: str
    constraint: str | None
    amount: float
    insertion: Mapping[str, Any] | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"client": self.client, "reason": self.reason, "constraint": self.constraint,
                "amount": _num(self.amount), "insertion": None if self.insertion is None else dict(self.insertion),
                "message": self.message}


@dataclass(frozen=True)
class WhyNot:
    """A counterfactual: the plan that goes ``after -> alternative``, and how it differs from the plan."""

    after: str
    alternative: str
    route: int
    plan: Mapping[str, Any]
    cost_delta: float
    terms: Mapping[str, Any]
    violations: tuple[Mapping[str, Any], ...]
    summary: str
    runtime: float

    def to_dict(self) -> dict[str, Any]:
        return {"after": self.after, "alternative": self.alternative, "route": self.route, "plan": dict(self.plan),
                "cost_delta": _num(self.cost_delta), "terms": dict(self.terms),
                "violations": [dict(v) for v in self.violations], "summary": self.summary,
                "runtime": round(self.runtime, 4)}


@dataclass(frozen=True)
class Explanation:
    """The explanation report of a plan (``vrpkit explain``)."""

    routes: tuple[RouteExplanation, ...]
    unassigned: tuple[UnassignedExplanation, ...]
    why_not: WhyNot | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"routes": [r.to_dict() for r in self.routes],
                               "unassigned": [u.to_dict() for u in self.unassigned]}
        if self.why_not is not None:
            out["why_not"] = self.why_not.to_dict()
        out["stats"] = dict(self.stats)
        return out


# -- plans ----------------------------------------------------------------------------------------------------


def _plan(problem: Problem, plan: Any) -> tuple[list[Route], Evaluation]:
    """The routes of ``plan`` (a Solution, routes, a solution dict or an Evaluation; None: no plan, every
    client left out) and their evaluation. A problem with fleet attributes is refused, naming them (the
    explanations read the schedule of single-trip routes without breaks or shipments)."""
    if (reason := fleet_refusal(problem, "explanations")) is not None:
        raise ValidationError("problem", reason)
    if plan is None:
        plan = ()
    if isinstance(plan, Evaluation):
        routes = [Route(r.vehicle_type, r.clients) for r in plan.routes]
        return routes, plan
    evaluation = evaluate(problem, plan)
    return [Route(r.vehicle_type, r.clients) for r in evaluation.routes], evaluation


class _Arrays:
    """The problem's arrays as the labelling uses them: matrices padded with an "open end" node (zero
    distance and duration to and from it), the last node, for open routes."""

    def __init__(self, problem: Problem) -> None:
        n = problem.n_nodes
        self.nd, self.n = problem.n_depots, problem.n_clients
        self.open_end = n
        self.dist = np.zeros((n + 1, n + 1))
        self.dist[:n, :n] = problem.distance
        self.dur = np.zeros((n + 1, n + 1))
        self.dur[:n, :n] = problem.duration
        self.service = problem.service_time
        self.windows = problem.time_windows  # (N, W, 2)
        self.last_end = self.windows[:, -1, 1]
        self.delivery = problem.delivery.astype(float)
        self.pickup = problem.pickup.astype(float)
        self.prize = problem.prize
        self.required = problem.required
        self.strict = problem.backhaul == "strict" and bool(problem.pickup.any())
        self.line = self.delivery.any(axis=1)
        self.back = self.pickup.any(axis=1)


def _served_window_end(a: _Arrays, clients: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The end of the window each stop is served in: the first that had not closed when service started."""
    windows = a.windows[clients]  # (L, W, 2)
    first = np.argmax(windows[:, :, 1] >= start[:, None] - _EPS, axis=1)
    return windows[np.arange(len(clients)), first, 1]


def _latest_starts(step: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The latest start at each of a sequence of stops so that it and every later one start by their
    ``ends``, with ``step`` the time from each start to the next (a backward pass)."""
    g = np.concatenate([[0.0], np.cumsum(step)])
    return g + np.minimum.accumulate((ends - g)[::-1])[::-1]


def _slack(problem: Problem, rs: RouteSchedule, a: _Arrays) -> list[dict[str, Any]]:
    """The slack after each stop of a route (and at its end depot, when it has one)."""
    vt = problem.vehicle_types[rs.vehicle_type]
    cap = problem.capacity[rs.vehicle_type]
    clients = np.array(rs.clients, dtype=np.int64)
    start = np.array(rs.start)
    arrival = np.array(rs.arrival)
    departure = np.array(rs.departure)
    tw_left = _served_window_end(a, clients, start) - start
    load = np.array(rs.load, dtype=float).reshape(len(clients), -1)
    cap_left = cap[None, :] - load
    nodes = [rs.start_depot, *(a.nd + clients)]
    legs = a.dist[nodes[:-1], nodes[1:]]
    dist_so_far = np.cumsum(legs)
    dur_left = vt.max_duration - (departure - rs.start_time)
    dist_left = vt.max_distance - dist_so_far
    wait = np.maximum(start - arrival, 0.0)
    out = []
    for k in range(len(clients)):
        out.append({"time_window": _num(tw_left[k]), "capacity": _capacity(cap_left[k]),
                    "duration": _num(dur_left[k]), "distance": _num(dist_left[k]), "wait": _num(wait[k])})
    if rs.end_depot is not None:
        close = min(vt.shift[1], problem.depots[rs.end_depot].time_window[1])
        final = np.array(rs.load[-1], dtype=float)
        out.append({"time_window": _num(close - rs.end_time), "capacity": _capacity(cap - final),
                    "duration": _num(vt.max_duration - rs.duration),
                    "distance": _num(vt.max_distance - rs.distance), "wait": 0})
    return out


def _capacity(left: np.ndarray) -> Any:
    return _num(float(left[0])) if len(left) == 1 else [_num(float(x)) for x in left]


# -- edge labelling -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Labels:
    """The labelling of one route's client edges (arrays over its edges)."""

    intention: list[str]
    constraints: list[tuple[str, ...]]
    nearest: np.ndarray  # client index of the nearest candidate per edge
    influence: np.ndarray


def _route_state(problem: Problem, plan_routes: Sequence[RouteSchedule], a: _Arrays
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per client: the route visiting it (-1: none), its position, the nodes before and after it, and the
    distance and duration saved by taking it out of its route (its service time included)."""
    n = a.n
    route_of = np.full(n, -1, dtype=np.int64)
    pos_of = np.full(n, -1, dtype=np.int64)
    pred = np.zeros(n, dtype=np.int64)
    succ = np.zeros(n, dtype=np.int64)
    for r, rs in enumerate(plan_routes):
        cl = np.array(rs.clients, dtype=np.int64)
        end = a.open_end if rs.end_depot is None else rs.end_depot
        nodes = np.concatenate([[rs.start_depot], a.nd + cl, [end]])
        route_of[cl], pos_of[cl] = r, np.arange(len(cl))
        pred[cl], succ[cl] = nodes[:-2], nodes[2:]
    node = a.nd + np.arange(n)
    rem_d = a.dist[pred, succ] - a.dist[pred, node] - a.dist[node, succ]
    rem_t = a.dur[pred, succ] - a.dur[pred, node] - a.service - a.dur[node, succ]
    return route_of, pos_of, pred, succ, rem_d, rem_t


def _label_route(problem: Problem, r: int, rs: RouteSchedule, a: _Arrays, state: tuple[np.ndarray, ...]
                 ) -> _Labels:
    """Label the client edges of route ``r`` (the rule of the module docstring), vectorised over its edges
    (rows) and every client as a candidate (columns)."""
    route_of, pos_of, _pred, _succ, rem_d, rem_t = state
    nd, n = a.nd, a.n
    v_type = rs.vehicle_type
    vt = problem.vehicle_types[v_type]
    cap = problem.capacity[v_type]
    cl = np.array(rs.clients, dtype=np.int64)
    L = len(cl)
    e_idx = np.arange(L)
    nodes = np.concatenate([[rs.start_depot], nd + cl])
    u, v = nodes[:-1], nodes[1:]
    earliest = max(vt.shift[0], problem.depots[rs.start_depot].time_window[0])
    t_dep = np.concatenate([[earliest], np.array(rs.departure[:-1])])
    ext = np.vstack([np.array(rs.start_load, dtype=float)[None, :],
                     np.array(rs.load, dtype=float).reshape(L, -1)])  # (L + 1, K): load after j stops
    p_pre = np.maximum.accumulate(ext, axis=0)[:L]  # max load from the depot to u
    p_suf = np.maximum.accumulate(ext[::-1], axis=0)[::-1][:L]  # max load from u to the end

    # Latest start at each stop keeping it and every later stop within its served window.
    start = np.array(rs.start)
    w_end = _served_window_end(a, cl, start)
    z = _latest_starts(a.service[cl][:-1] + a.dur[nd + cl[:-1], nd + cl[1:]], w_end)

    same = (route_of == r)[None, :]
    served = same & (pos_of[None, :] < e_idx[:, None])
    later = same & ~served
    d_u = a.dist[u][:, nd:nd + n]  # (L, N): u -> k
    d_kv = a.dist[nd:nd + n][:, v].T  # (L, N): k -> v
    d_uv = a.dist[u, v]
    t_u = a.dur[u][:, nd:nd + n]
    t_kv = a.dur[nd:nd + n][:, v].T
    t_uv = a.dur[u, v]
    detour = d_u + d_kv - d_uv[:, None] + np.where(later, rem_d[None, :], 0.0)
    extra = t_u + a.service[None, :] + t_kv - t_uv[:, None] + np.where(later, rem_t[None, :], 0.0)

    blocked = {}
    # Time windows: k reachable, and v still on time after serving k.
    arrive = t_dep[:, None] + t_u
    tw = arrive > a.last_end[None, :] + _EPS
    if a.windows.shape[1] == 1:
        opening = a.windows[None, :, 0, 0]
    else:
        open_ = a.windows[None, :, :, 1] >= arrive[:, :, None] - _EPS  # (L, N, W)
        first = np.argmax(open_, axis=2)
        opening = np.take_along_axis(np.broadcast_to(a.windows[None, :, :, 0], open_.shape), first[:, :, None],
                                     axis=2)[:, :, 0]
    at_v = np.maximum(arrive, opening) + a.service[None, :] + t_kv
    blocked["time_window"] = tw | (at_v > z[:, None] + _EPS)

    # Capacity: k from elsewhere adds its delivery before it and its pickup after; k moved forward shifts
    # its own pickup minus delivery over the stops it passes.
    cap_b = ((p_pre[:, None, :] + a.delivery[None, :, :] > cap[None, None, :] + _EPS)
             | (p_suf[:, None, :] + a.pickup[None, :, :] > cap[None, None, :] + _EPS)).any(axis=2)
    if L > 1:
        masked = np.where((np.arange(L + 1)[None, :] >= e_idx[:, None])[:, :, None], ext[None, :, :], -INF)
        region = np.maximum.accumulate(masked, axis=1)[:, :L, :]  # (L edges, L positions, K): max ext[e..p]
        shift = (a.pickup[cl] - a.delivery[cl])[None, :, :]
        moved = (region + shift > cap[None, None, :] + _EPS).any(axis=2)  # (L, L)
        cap_b[:, cl] = np.where(later[:, cl], moved, cap_b[:, cl])
    blocked["capacity"] = cap_b

    end_limit = min(vt.shift[1], INF if rs.end_depot is None else problem.depots[rs.end_depot].time_window[1])
    blocked["limit"] = ((rs.distance + detour > vt.max_distance + _EPS)
                        | (rs.duration + extra > vt.max_duration + _EPS)
                        | (rs.end_time + extra > end_limit + _EPS))
    cost = vt.cost_per_distance * detour + vt.cost_per_duration * extra
    optional_out = (route_of < 0) & ~a.required
    blocked["prize"] = optional_out[None, :] & (cost > a.prize[None, :] + _EPS)
    if a.strict:
        back_before = np.concatenate([[0], np.cumsum(a.back[cl])])[:L] > 0
        line_rest = np.cumsum(a.line[cl][::-1])[::-1]  # clients with a delivery from position e on
        rest = line_rest[:, None] - np.where(later, a.line[None, :], 0)
        blocked["backhaul"] = ((a.line[None, :] & back_before[:, None])
                               | (a.back[None, :] & (rest > 0)))
    else:
        blocked["backhaul"] = np.zeros((L, n), dtype=bool)

    candidate = ~served
    d_cand = np.where(candidate, d_u, INF)
    nearest = np.argmin(d_cand, axis=1)
    influence = np.maximum(d_uv - d_cand[e_idx, nearest], 0.0)
    closer = candidate & (d_u < d_uv[:, None] - _EPS)
    any_blocked = np.zeros((L, n), dtype=bool)
    counts = np.zeros((L, len(FAMILIES)), dtype=np.int64)
    for f, name in enumerate(FAMILIES):
        hit = closer & blocked[name]
        counts[:, f] = hit.sum(axis=1)
        any_blocked |= blocked[name]
    n_closer = closer.sum(axis=1)
    free = (closer & ~any_blocked).any(axis=1)
    alone = counts == n_closer[:, None]
    first_alone = np.argmax(alone, axis=1)
    most = np.argmax(counts, axis=1)
    intention, constraints = [], []
    for e in range(L):  # strings per edge; every number above is vectorised
        if n_closer[e] == 0:
            intention.append("nearest")
            constraints.append(())
            continue
        constraints.append(tuple(FAMILIES[f] for f in np.flatnonzero(counts[e])))
        if free[e]:
            intention.append("lookahead")
        elif alone[e].any():
            intention.append(FAMILIES[first_alone[e]])
        else:
            intention.append(FAMILIES[most[e]])
    return _Labels(intention, constraints, nearest, influence)


def explain_edges(problem: Problem, plan: Any, *,
                  routes: Sequence[int] | None = None) -> tuple[RouteExplanation, ...]:
    """Every edge of the plan's routes (or of ``routes``, indices), labelled by the rule of the module
    docstring, with the slack at each stop and a summary per route."""
    _, evaluation = _plan(problem, plan)
    a = _Arrays(problem)
    state = _route_state(problem, evaluation.routes, a)
    ids = problem.node_ids
    nd = problem.n_depots
    chosen = range(len(evaluation.routes)) if routes is None else routes
    out = []
    for r in chosen:
        if not 0 <= r < len(evaluation.routes):
            raise ValidationError("route", f"{r} is not a route of the plan (0 to {len(evaluation.routes) - 1})")
        rs = evaluation.routes[r]
        labels = _label_route(problem, r, rs, a, state)
        slack = _slack(problem, rs, a)
        nodes = [rs.start_depot, *(nd + c for c in rs.clients)]
        edges = []
        for e, c in enumerate(rs.clients):
            edges.append(EdgeExplanation(ids[nodes[e]], ids[nd + c], labels.intention[e], labels.constraints[e],
                                         ids[nd + int(labels.nearest[e])], slack[e], float(labels.influence[e])))
        if rs.end_depot is not None:
            edges.append(EdgeExplanation(ids[nd + rs.clients[-1]], ids[rs.end_depot], "return", (), None,
                                         slack[-1], 0.0))
        vt_id = problem.vehicle_types[rs.vehicle_type].id
        out.append(RouteExplanation(r, vt_id, _route_summary(problem, r, rs, edges), tuple(edges)))
    return tuple(out)


_WORDS = {"time_window": "time windows", "capacity": "the capacity", "limit": "a duration or distance limit or "
          "the shift", "prize": "prizes", "backhaul": "the backhaul order"}


def _route_summary(problem: Problem, r: int, rs: RouteSchedule, edges: Sequence[EdgeExplanation]) -> str:
    """A few sentences from templates: counts per intention, the tightest window, the capacity left."""
    vt = problem.vehicle_types[rs.vehicle_type]
    n = len(rs.clients)
    parts = [f"Route {r} ({vt.id}) serves {n} client{'s' * (n != 1)} over distance "
             f"{distance_text(problem, rs.distance)} in {time_text(problem, rs.duration)}."]
    counts: dict[str, int] = {}
    for e in edges:
        counts[e.intention] = counts.get(e.intention, 0) + 1
    legs = len(edges) - counts.get("return", 0)
    said = []
    if counts.get("nearest"):
        n = counts["nearest"]
        said.append(f"{n} of {legs} leg{'s' * (legs != 1)} {'go' if n != 1 else 'goes'} to the nearest stop")
    for name in FAMILIES:
        if counts.get(name):
            n = counts[name]
            said.append(f"{n} {'skip' if n != 1 else 'skips'} a nearer stop because of {_WORDS[name]}")
    if counts.get("lookahead"):
        n = counts["lookahead"]
        said.append(f"{n} {'pass' if n != 1 else 'passes'} a nearer stop that fits, for the cost of the whole "
                    "plan")
    if said:
        parts.append("; ".join(said) + ".")
    windows = [(e.slack.get("time_window"), e.to) for e in edges if e.slack.get("time_window") is not None]
    if windows and "time_windows" in problem.attributes:
        tight, where = min(windows, key=lambda x: x[0])
        parts.append(f"Tightest: {where}, {time_text(problem, tight)} before its window closes.")
    if edges and vt.capacity:
        left = min(_first(e.slack.get("capacity")) for e in edges)
        start_left = float(np.min(problem.capacity[rs.vehicle_type] - np.array(rs.start_load)))
        left = min(left, start_left)
        parts.append(f"Capacity left at the fullest point: {_text(left)}.")
    return " ".join(parts)


def _first(value: Any) -> float:
    if value is None:
        return INF
    if isinstance(value, list):
        return min((x for x in value if x is not None), default=INF)
    return float(value)


# -- unassigned clients ---------------------------------------------------------------------------------------


def _route_eval(problem: Problem, v: int, clients: tuple[int, ...]) -> tuple[float, list[Violation]]:
    """The evaluator's cost and violations of one route (the evaluator's own route schedule)."""
    from vrpkit.evaluate import _data, _route

    out: list[Violation] = []
    rs = _route(_data(problem), v, clients, 0, out)
    return rs.cost, out


def _new_violations(before: Sequence[Violation], after: Sequence[Violation]) -> list[Violation]:
    """Violations of ``after`` that ``before`` lacks or has smaller (matched by constraint and client)."""
    old: dict[tuple[str, str | None], float] = {}
    for x in before:
        old[(x.constraint, x.client)] = max(old.get((x.constraint, x.client), 0.0), x.amount)
    return [x for x in after if x.amount > old.get((x.constraint, x.client), 0.0) + _EPS]


_TRIP_CONSTRAINT = {1: "shift", 2: "capacity", 3: "time_window", 4: "shift", 5: "max_duration", 6: "max_distance"}


def explain_unassigned(problem: Problem, plan: Any) -> tuple[UnassignedExplanation, ...]:
    """A reason, with its evidence, for every client the plan leaves out (see the module docstring)."""
    from vrpkit.diagnose import CAPACITY, DEPART, DISTANCE, DURATION, OK, RETURN, WINDOW, _client_reason, _trips

    routes, evaluation = _plan(problem, plan)
    visited = np.zeros(problem.n_clients, dtype=bool)
    for rs in evaluation.routes:
        visited[list(rs.clients)] = True
    if visited.all():
        return ()
    trips = _trips(problem)
    used = np.zeros(len(problem.vehicle_types), dtype=np.int64)
    for rs in evaluation.routes:
        used[rs.vehicle_type] += 1
    free = np.array([vt.count is None or used[t] < vt.count for t, vt in enumerate(problem.vehicle_types)])
    base = [_route_eval(problem, r.vehicle_type, r.clients) for r in routes]
    places = _places(problem, evaluation)
    out = []
    for k in np.flatnonzero(~visited):
        k = int(k)
        cid = problem.clients[k].id
        prize = float(problem.prize[k])
        required = bool(problem.required[k])
        codes = trips.code[:, k]
        if not (codes == OK).any():
            usable = [t for t in range(len(codes)) if codes[t] != DEPART] or list(range(len(codes)))
            amounts = []
            for t in usable:
                c = int(codes[t])
                if c == CAPACITY:
                    over = np.maximum(problem.delivery[k], problem.pickup[k]) - problem.capacity[t]
                    amount = float(over.max())
                elif c == WINDOW:
                    amount = float(trips.arrival[t, k] - trips.window_end[k])
                elif c == RETURN:
                    amount = float(trips.end[t, k] - trips.end_limit[t])
                elif c == DURATION:
                    amount = float(trips.duration[t, k] - problem.vehicle_types[t].max_duration)
                elif c == DISTANCE:
                    amount = float(trips.distance[t, k] - problem.vehicle_types[t].max_distance)
                else:  # cannot leave its depot
                    vt = problem.vehicle_types[t]
                    s = int(problem.vehicle_start[t])
                    amount = float(max(vt.shift[0], problem.depot_windows[s, 0])
                                   - min(vt.shift[1], problem.depot_windows[s, 1]))
                amounts.append((amount, t, c))
            amount, t, c = min(amounts)
            constraint = _TRIP_CONSTRAINT[c]
            if c == RETURN:
                vt = problem.vehicle_types[t]
                end = vt.end_depot
                if end is not None and problem.depots[problem.depot_index[end]].time_window[1] < vt.shift[1]:
                    constraint = "depot_time_window"
            if c == DEPART:
                message = (f"client {cid}: no vehicle can leave its depot within its shift and the depot's "
                           f"opening hours (short by {_text(amount)} at least)")
            else:
                message = _client_reason(problem, trips, k, usable)
            out.append(UnassignedExplanation(cid, "no_vehicle", constraint, amount, None, message))
            continue
        options = _insertions(problem, routes, base, places, k, free & (codes == OK))
        feasible = [o for o in options if o[1]]
        if feasible:
            best = min(feasible, key=lambda o: o[0])
            delta = best[0]
            if required:
                reason, constraint, amount = "left_out", "missing_client", delta
                message = (f"client {cid}: required but left out; the cheapest feasible insertion costs "
                           f"{_text(delta)}")
            elif delta > prize + _EPS:
                reason, constraint, amount = "prize", "prize", delta - prize
                message = (f"client {cid}: prize {_text(prize)} is less than its cheapest feasible insertion "
                           f"{_text(delta)} (short by {_text(delta - prize)})")
            else:
                reason, constraint, amount = "improvable", None, prize - delta
                message = (f"client {cid}: prize {_text(prize)} pays for its cheapest feasible insertion "
                           f"{_text(delta)}; inserting it saves {_text(prize - delta)}")
            out.append(UnassignedExplanation(cid, reason, constraint, amount,
                                             _insertion(problem, routes, best, prize), message))
            continue
        # Every insertion breaks something, and every vehicle that could serve it alone is in use.
        tally: dict[str, list[float]] = {}
        for o in options:
            for name in {x.constraint for x in o[5]}:
                tally.setdefault(name, []).append(min(x.amount for x in o[5] if x.constraint == name))
        order = [c for c in _ROUTE_CONSTRAINTS if c in tally]
        every = [c for c in order if len(tally[c]) == len(options)]
        constraint = every[0] if every else max(order, key=lambda c: len(tally[c])) if order else None
        amount = min(tally[constraint]) if constraint else 0.0
        best = min(options, key=lambda o: o[0]) if options else None
        in_use = ", ".join(problem.vehicle_types[t].id for t in np.flatnonzero(codes == OK))
        message = (f"client {cid}: every vehicle that could serve it ({in_use}) is in use, and every insertion "
                   f"into a route breaks {constraint or 'a constraint'}"
                   + (f" (by {_text(amount)} at least)" if constraint else ""))
        out.append(UnassignedExplanation(cid, "fleet_size", constraint, amount,
                                         None if best is None else _insertion(problem, routes, best, prize),
                                         message))
    return tuple(out)


@dataclass(frozen=True)
class _Places:
    """Every place to insert a client into a plan: route, position, the nodes before and after, and per place
    what bounds the cost change from below (its route's cost rates and waiting time)."""

    route: np.ndarray
    position: np.ndarray
    u: np.ndarray
    v: np.ndarray
    cpd: np.ndarray
    cpt: np.ndarray
    wait: np.ndarray
    leave: np.ndarray  # the earliest departure from u (the evaluator's schedule from the earliest start)
    latest: np.ndarray  # the latest arrival at v that can keep v and every later stop on time
    arrays: _Arrays


def _places(problem: Problem, evaluation: Evaluation) -> _Places:
    a = _Arrays(problem)
    from vrpkit.evaluate import _data, _times

    data = _data(problem)
    parts: list[list[np.ndarray]] = [[], [], [], [], [], [], [], [], []]
    for r, rs in enumerate(evaluation.routes):
        vt = problem.vehicle_types[rs.vehicle_type]
        t0 = max(vt.shift[0], problem.depots[rs.start_depot].time_window[0])
        leave = np.concatenate([[t0], _times(data, rs.clients, rs.start_depot, t0)[2]])
        cl = np.array(rs.clients, dtype=np.int64)
        if rs.end_depot is None:  # the shift bounds the end of the last service
            end_limit, back = vt.shift[1], a.service[cl[-1]]
        else:
            end_limit = min(vt.shift[1], problem.depots[rs.end_depot].time_window[1])
            back = a.service[cl[-1]] + a.dur[a.nd + cl[-1], rs.end_depot]
        # Latest start at each client (last window ends) and latest arrival at the end, backwards.
        step = np.append(a.service[cl[:-1]] + a.dur[a.nd + cl[:-1], a.nd + cl[1:]], back)
        latest = _latest_starts(step, np.append(a.last_end[cl], end_limit))
        end = a.open_end if rs.end_depot is None else rs.end_depot
        nodes = np.concatenate([[rs.start_depot], a.nd + np.array(rs.clients, dtype=np.int64), [end]])
        m = len(nodes) - 1
        for part, values in zip(parts, (np.full(m, r), np.arange(m), nodes[:-1], nodes[1:],
                                        np.full(m, vt.cost_per_distance), np.full(m, vt.cost_per_duration),
                                        np.full(m, sum(rs.wait)), leave, latest), strict=True):
            part.append(values)
    if not parts[0]:
        empty = np.zeros(0, dtype=np.int64)
        none = np.zeros(0)
        return _Places(empty, empty, empty, empty, none, none, none, none, none, a)
    route, position, u, v, cpd, cpt, wait, leave, latest = (np.concatenate(p) for p in parts)
    return _Places(route, position, u, v, cpd, cpt, wait, leave, latest, a)


def _insertions(problem: Problem, routes: Sequence[Route], base: Sequence[tuple[float, list[Violation]]],
                places: _Places, k: int, own_vehicle: np.ndarray) -> list[tuple[Any, ...]]:
    """Insertions of client ``k`` scheduled by the evaluator, each ``(cost change, feasible, route or None,
    position, vehicle type, new violations)``: best first by a lower bound of the cost change (the exact
    distance change, and the duration change at least the added travel and service time minus the route's
    waiting), skipping those certainly late until none other is left, until the bound passes the cheapest
    feasible insertion found (a vehicle of its own of each type in ``own_vehicle`` counts, listed last); with
    none feasible, every place is in the list."""
    a = places.arrays
    node = a.nd + k
    dd = a.dist[places.u, node] + a.dist[node, places.v] - a.dist[places.u, places.v]
    dt = a.dur[places.u, node] + a.service[k] + a.dur[node, places.v] - a.dur[places.u, places.v] - places.wait
    bound = places.cpd * dd + places.cpt * dt
    # Certainly late at k or later: no schedule leaves u earlier than the forward schedule from the earliest
    # start, nor starts k before its first window opens.
    arrive = places.leave + a.dur[places.u, node]
    at_v = np.maximum(arrive, a.windows[k, 0, 0]) + a.service[k] + a.dur[node, places.v]
    late = (arrive > a.last_end[k] + _EPS) | (at_v > places.latest + _EPS)
    own = []
    for t in np.flatnonzero(own_vehicle):
        cost1, viol1 = _route_eval(problem, int(t), (k,))
        own.append((cost1, not viol1, None, 0, int(t), viol1))
    options: list[tuple[Any, ...]] = []
    best = min((o[0] for o in own if o[1]), default=INF)
    order = np.argsort(bound, kind="stable")
    for j in [*order[~late[order]], *order[late[order]]]:  # certainly late ones last: tried when none is feasible
        if bound[j] > best + _EPS or (late[j] and best < INF):
            break
        r, p = int(places.route[j]), int(places.position[j])
        route = routes[r]
        cost0, viol0 = base[r]
        cost1, viol1 = _route_eval(problem, route.vehicle_type, (*route.clients[:p], k, *route.clients[p:]))
        new = _new_violations(viol0, viol1)
        options.append((cost1 - cost0, not new, r, p, route.vehicle_type, new))
        if not new:
            best = min(best, cost1 - cost0)
    return options + own


def _insertion(problem: Problem, routes: Sequence[Route], option: tuple[Any, ...], prize: float) -> dict[str, Any]:
    delta, feasible, r, p, t, new = option
    ids = problem.node_ids
    nd = problem.n_depots
    if r is None:
        after = problem.vehicle_types[t].start_depot
    else:
        after = ids[nd + routes[r].clients[p - 1]] if p > 0 else problem.vehicle_types[t].start_depot
    return {"route": r, "vehicle_type": problem.vehicle_types[t].id, "position": p, "after": after,
            "cost_delta": _num(delta), "prize": _num(prize), "feasible": bool(feasible),
            "violations": [x.to_dict() for x in new]}


# -- counterfactuals ------------------------------------------------------------------------------------------


def _locate(problem: Problem, routes: Sequence[Route], after: str, route: int | None) -> tuple[int, int]:
    """The route and position (clients served up to ``after``, inclusive) of ``after`` (a client id, or the
    start depot of ``route``)."""
    if after in problem.client_index:
        c = problem.client_index[after]
        for r, rt in enumerate(routes):
            if c in rt.clients:
                if route is not None and route != r:
                    raise ValidationError("after", f'client {after} is on route {r}, not on route {route}')
                return r, rt.clients.index(c) + 1
        raise ValidationError("after", f"client {after} is not on any route of the plan")
    if after in problem.depot_index:
        if route is None:
            starts = [r for r, rt in enumerate(routes)
                      if problem.vehicle_types[rt.vehicle_type].start_depot == after]
            if len(starts) != 1:
                raise ValidationError("after", f'depot {after} starts {len(starts)} routes; name one with route')
            route = starts[0]
        if not 0 <= route < len(routes):
            raise ValidationError("route", f"{route} is not a route of the plan (0 to {len(routes) - 1})")
        if problem.vehicle_types[routes[route].vehicle_type].start_depot != after:
            raise ValidationError("after", f"route {route} does not start at depot {after}")
        return route, 0
    raise ValidationError("after", f'"{after}" is not a client or depot id')


def _terms(problem: Problem, ev: Evaluation) -> dict[str, float]:
    vts = problem.vehicle_types
    return {
        "distance": ev.distance,
        "duration": ev.duration,
        "distance_cost": sum(vts[r.vehicle_type].cost_per_distance * r.distance for r in ev.routes),
        "duration_cost": sum(vts[r.vehicle_type].cost_per_duration * r.duration for r in ev.routes),
        "fixed_cost": ev.fixed_cost,
        "prize_lost": ev.prize_lost,
        "vehicles": float(ev.n_vehicles),
        "cost": ev.cost,
    }


def why_not(problem: Problem, plan: Any, *, after: str, alternative: str, route: int | None = None,
            solver: str = "ortools", time_limit: float = 0.3, seed: int = 0) -> WhyNot:
    """The counterfactual plan that goes ``after -> alternative`` (ids; ``after`` may be the start depot of
    ``route``): that route's prefix up to ``after`` and then ``alternative`` are locked, and ``solver``
    re-optimises the rest within ``time_limit`` seconds from the plan with ``alternative`` moved there (see
    the module docstring). ``cost_delta`` is the evaluator's cost difference."""
    import vrpkit

    t0 = time.perf_counter()
    routes, evaluation = _plan(problem, plan)
    if alternative not in problem.client_index:
        raise ValidationError("alternative", f'"{alternative}" is not a client id')
    k = problem.client_index[alternative]
    r, p = _locate(problem, routes, after, route)
    prefix = routes[r].clients[:p]
    if k in prefix:
        raise ValidationError("alternative", f"client {alternative} is served before {after} on route {r}")
    if p < len(routes[r].clients) and routes[r].clients[p] == k:
        raise ValidationError("alternative", f"the plan already goes {after} -> {alternative}")
    moved = [Route(rt.vehicle_type, tuple(c for c in rt.clients if c != k)) for rt in routes]
    rest = moved[r].clients[p:]
    moved[r] = Route(routes[r].vehicle_type, (*prefix, k, *rest))
    locked = (Route(routes[r].vehicle_type, (*prefix, k)),)
    initial = Solution(tuple(moved))
    result = vrpkit.solve(problem, solver, time_limit=time_limit, seed=seed, initial=initial, locked=locked)
    counter = result.solution if result.solution is not None else initial
    cf = evaluate(problem, counter)
    before, after_t = _terms(problem, evaluation), _terms(problem, cf)
    total = {name: _num(after_t[name] - before[name]) for name in before}
    # The next leg: from `after` to its next stop in the plan, against `after` -> alternative.
    ids = problem.node_ids
    nd = problem.n_depots
    u = problem.vehicle_start[routes[r].vehicle_type] if p == 0 else nd + prefix[-1]
    old_next = (nd + routes[r].clients[p]) if p < len(routes[r].clients) else problem.vehicle_end[
        routes[r].vehicle_type]
    vt = problem.vehicle_types[routes[r].vehicle_type]
    if old_next < 0:  # open route: it ended at `after`
        d0 = t0_leg = 0.0
        old_id = None
    else:
        d0, t0_leg = float(problem.distance[u, old_next]), float(problem.duration[u, old_next])
        old_id = ids[old_next]
    d1, t1 = float(problem.distance[u, nd + k]), float(problem.duration[u, nd + k])
    leg = {"from": ids[u], "to": alternative, "instead_of": old_id, "distance": _num(d1 - d0),
           "duration": _num(t1 - t0_leg), "cost": _num(vt.cost_per_distance * (d1 - d0)
                                                      + vt.cost_per_duration * (t1 - t0_leg))}
    new = _new_violations(evaluation.violations, cf.violations)
    delta = cf.cost - evaluation.cost
    words = [f"Going {after} -> {alternative} changes the cost by {_text(delta)}"
             f" ({_text(cf.cost)} instead of {_text(evaluation.cost)})"]
    if total["vehicles"]:
        more = int(after_t["vehicles"] - before["vehicles"])
        words.append(f"uses {more:+d} vehicle{'s' * (abs(more) != 1)}")
    if new:
        late = [x for x in new if x.constraint == "time_window"]
        words.append(f"breaks {len(new)} constraint{'s' * (len(new) != 1)}"
                     + (f" ({len(late)} stop{'s' * (len(late) != 1)} late)" if late else ""))
    summary = "; ".join(words) + "."
    plan_json = cf.to_dict(problem)
    plan_json["stats"] = dict(result.stats) if result.solution is not None else {"solver": solver}
    return WhyNot(after, alternative, r, plan_json, delta,
                  {"next_leg": leg, "total": total}, tuple(x.to_dict() for x in new), summary,
                  time.perf_counter() - t0)


# -- the report -----------------------------------------------------------------------------------------------


def explain(problem: Problem, plan: Any, *, routes: Sequence[int] | None = None) -> Explanation:
    """The explanation report of ``plan``: every edge of its routes (or of ``routes``) and every client left
    out. Add a counterfactual with :func:`why_not`."""
    t0 = time.perf_counter()
    _, evaluation = _plan(problem, plan)  # evaluated once for both parts
    edges = explain_edges(problem, evaluation, routes=routes)
    t1 = time.perf_counter()
    unassigned = explain_unassigned(problem, evaluation)
    t2 = time.perf_counter()
    return Explanation(edges, unassigned, None, {"label_time": round(t1 - t0, 4),
                                                 "unassigned_time": round(t2 - t1, 4)})


__all__ = [
    "FAMILIES",
    "INTENTIONS",
    "REASONS",
    "EdgeExplanation",
    "Explanation",
    "RouteExplanation",
    "UnassignedExplanation",
    "WhyNot",
    "distance_text",
    "explain",
    "explain_edges",
    "explain_unassigned",
    "time_text",
    "why_not",
]
