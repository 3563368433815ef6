"""Compiled local search for the problems vrpkit models (:func:`unsupported` names what it lacks), usable by
any solver.

:func:`improve` takes a plan and returns a plan that is at least as good under the shared evaluator's rules
(:mod:`vrpkit.evaluate`): fewer violations first, then a lower cost. :class:`LocalSearch` keeps the compiled
problem and the search state between calls, for solvers that polish many plans of one problem.

Routes are scored by concatenating *segments* (Vidal et al., 2013): a segment summarises a sequence of stops
by its distance, its minimal duration, its time warp (lateness) and the earliest and latest start that reach
that duration, its load profile per capacity dimension (deliveries, pickups, peak on board) and, with strict
backhaul, whether a delivery follows a pickup. Every route keeps the segments of its prefixes and suffixes,
so that a move between two routes is scored in O(1) and a move inside a route in O(1) on problems without
time or pickups (O(length of the changed part) otherwise). The schedule semantics are the evaluator's: wait
for a window to open, depart as late as useful, open routes end after the last service.

Moves, tried between each client ``u`` and its ``granularity`` nearest clients ``v`` (granular
neighbourhoods, Toth and Vigo 2003), first improvement:

- between routes: relocation of up to ``max_segment`` consecutive clients (or-opt, both orientations) next
  to ``v``; exchange of segments of up to ``max_exchange`` clients (swap, cross-exchange, both orientations);
  exchange of route tails (2-opt*); relocation into an unused vehicle;
- inside a route: relocation (or-opt), swap and 2-opt (reversal);
- removal and insertion of optional clients (prizes), an optional client left out served in the place of
  a routed optional one near it (when the routes are full), insertion of clients a plan left out, and moving
  a whole route to another vehicle type;
- at a local optimum, route elimination: each client of a route goes to its best feasible place in the other
  routes, kept only when the plan gets better (this is what saves vehicles when they have a fixed cost).

A move is applied when it lowers the total violation of the plan (load, time warp, duration, distance,
backhaul order, fleet size, missing clients), or keeps it and lowers the cost. A feasible plan thus stays
feasible and never gets more expensive; an infeasible one is repaired where the moves allow it.

Clients with several time windows: each client of a route is served in one of its windows, chosen when a
plan is loaded (in route order, the earliest window it reaches without lateness) and changed by a window move
where that makes the plan better; the other moves keep the windows of the clients they move, and a client left
out is inserted with the first of its windows that lets it in. The evaluator schedules the returned plan
itself, choosing among all windows.

A real fleet's day, each exact with respect to the evaluator's rules:

- skills: the segments count, per skill class of the vehicle types, the skills their clients lack; a client on
  a route whose type lacks a skill is a violation (one per skill missing), in every move and insertion;
- release times: the segments carry their clients' largest release time; a route departing after its latest
  start that keeps it on time (the departure waits for the goods) is lateness (single trips; with reloads,
  release times are per trip and only the exact check below has them);
- shipments: the plan always holds each shipment on one route, pickup first (a loaded plan that splits one or
  serves its delivery first has both stops taken out, then inserted again); the amount is on board in
  between (a pickup at the pickup stop, a negative one at the delivery stop). Moves between routes carry
  only runs that hold whole shipments (checked in O(1) for route heads and tails by the balance of pickup
  and delivery stops), moves inside a route check the order of the runs they move; the pair moves insert a
  shipment at its best pair of positions, relocate it to another route, exchange two shipments' positions,
  or leave an optional one out;
- reloads (multi-trip, :func:`expand_trips`): each reload depot's reload stops are optional clients of the
  search (the depot's service time and opening hours; only the types that may reload there may visit them);
  the segments keep the load of their first trip, their last one and the largest of the trips between, and
  their number of reloads (``max_reloads``); a reload first, last or twice in a row is a violation (a plan
  cannot say it). Reloads are inserted and removed as optional clients; plans come and go with
  ``Route.reloads``;
- breaks, ride times (shipments with a finite ``max_ride_time``), and multi-trip with shipments (on board
  across reloads) or release times (per trip) do not compose in O(1) segments: on such problems
  (:func:`needs_exact`, ``cfg[C_EXACT]``) the segments, which ignore them (the segments' load drops a trip's
  pickups at a reload, shipments included, so they are never stricter than the evaluator), are a filter,
  and every move they find improving, every insertion that could beat the best one found so far, and every
  move of a route whose evaluator violation exceeds its segment violation (so that a late break or a long
  ride is repaired) is scored exactly: its new routes, as events (a reload stop is a reload at its depot),
  go through :func:`vrpkit._evaluate_kernel.fleet_route`, the evaluator's rules for one route compiled, in
  O(route length); the move is applied when the evaluator's (violation, cost) improves. Each route keeps both
  values (``rval``), and the plan's totals (:attr:`LocalSearch.cost`, ``violation``, the iterated search's
  best) are the evaluator's. Breaks need no stops in the search: with breaks (``cfg[C_EXACT]`` 2) each
  route scored is first given its best break placement
  (:func:`vrpkit._evaluate_kernel.best_breaks`, from the short form's earliest places, each break moved to
  every position until no move gains), and plans leave with their breaks listed where that placement beats
  the short form (:func:`vrpkit.solvers.breaks.place_breaks`); plans with listed breaks are loaded in the
  short form. The ruin and recreate of :meth:`LocalSearch.iterate`
  goes through the same insertions and moves, so through the exact check too.

Not handled (refused by :func:`unsupported`, naming it): shipments with strict backhaul, multi-trip with
strict backhaul or uncertainty, and what needs the exact check on a time-dependent problem (a travel-time
profile). The segment fields of each attribute exist only on problems that have it.

Cost of a pass: O(n * granularity) move evaluations of O(1) each between routes; an applied move rebuilds
the segments of the routes it changes (O(their length)). On CVRPLIB X, descending from an ant's plan to a
local optimum takes about 15 ms at n = 100 and under 1 s at n = 1000 (one core; ``examples/bench_aco.py``).
With ``C_EXACT`` each exact check costs O(route length): on the ``vrptwbrsk`` set (100 clients, lunch
breaks), ``aco`` does 117 colony iterations in 10 s against 144 with the breaks left out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import numba as nb
import numpy as np
from vrpkit.solvers.build import compiled_or_interpreted, interpreted

from vrpkit._evaluate_kernel import best_breaks, fleet_arrays, fleet_route, fleet_work
from vrpkit.errors import SolverError, ValidationError
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

# Segment rows: float64 vectors with these fields, then deliveries (K), pickups (K) and peak load (K), then
# only where the problem needs them (columns in cfg, 0: absent): the largest release time of the clients
# (C_REL), the skills each skill class of vehicle types lacks (C_NSK columns from C_SK), and the number of
# shipment stops and the balance of pickup stops minus delivery stops (C_NS, C_NS + 1); with reloads (from
# C_MT): whether the segment holds a reload, its number of reloads, then deliveries, pickups and peak of the
# part after its last reload (K each) and the largest peak of the trips it holds whole (K), whether it starts
# and whether it ends with a reload, and how many reloads it has next to a depot or to another reload (a
# plan does not say those: a violation); the part before its first reload is the usual load fields. Column
# C_VMR of ``vt``: the type's max reloads (-1: unlimited).
FIRST, LAST, DIST, DUR, TWARP, EARLY, LATE, LINE, BACK, BAD, RCUM = range(11)
LOAD = 11
TOL = 1e-7
"""Excess below this is not a violation (the evaluator allows 1e-6)."""

# Entries of the ``cfg`` tuple of integers that every compiled function gets.
(C_N, C_V, C_R, C_K, C_ND, C_TIME, C_SIMPLE, C_STRICT, C_OPTIONAL, C_MAXSEG, C_MAXEX, C_FWD, C_BWD, C_START,
 C_END, C_ROUTE, C_BUF, C_ALT, C_NWIN, C_REL, C_SK, C_NSK, C_NS, C_MT, C_VMR, C_EXACT) = range(26)
N_BUF = 14
# Columns of ``link`` (per client), ``route`` (per slot), ``rval`` (per slot) and ``vt`` (per vehicle type).
NXT, PRV, RTE, POS, PART, ISP, MARK = range(7)  # PART: partner stop (-1), ISP: 1 at a pickup stop, MARK: scratch
FST, LST, SIZE, TYPE, EXC, CHG = range(6)  # CHG: rebuilt since the iterated search last kept or undid the plan
COST, VIOL, XCOST, XVIOL = range(4)  # the segments' cost and violation, then the evaluator's (see C_EXACT)
FIXED, CPD, CPT, MAXDUR, MAXDIST, CAP = range(6)
MAX_PIECES = 6

# The compiled functions never allocate: without reference counting (``_nrt=False``) passing arrays costs
# nothing, which makes the search several times faster. Compiled code is cached on disk.
_jit = nb.njit(cache=True, _nrt=False)
_jit_inline = nb.njit(cache=True, inline="always", _nrt=False)


def needs_exact(problem: Problem) -> bool:
    """Whether the search checks its moves with the evaluator's rules (``C_EXACT``): breaks, shipments with a
    finite ``max_ride_time``, multi-trip with shipments or release times (what segments cannot compose)."""
    attrs = problem.attributes
    if "breaks" in attrs:
        return True
    if "shipments" in attrs and bool(np.isfinite(problem.max_ride_time).any()):
        return True
    return "multi_trip" in attrs and bool({"shipments", "release_times"} & attrs)


def unsupported(problem: Problem) -> str | None:
    """Why the local search cannot handle ``problem`` (the attribute named), or None."""
    if "shipments" in problem.attributes and problem.backhaul == "strict" and problem.pickup.any():
        return "shipments with strict backhaul not supported by the compiled local search"
    if "multi_trip" in problem.attributes:
        if problem.uncertainty is not None:
            return "multi_trip with uncertainty not supported by the compiled local search"
        if problem.backhaul == "strict" and problem.pickup.any():
            return "multi_trip with strict backhaul not supported by the compiled local search"
    if needs_exact(problem) and problem.time_dependent:
        what = "breaks" if "breaks" in problem.attributes else "ride times, trips with shipments or release times"
        return f"{what} with a travel-time profile not supported by the compiled local search"
    return None


class Data(NamedTuple):
    """A problem as flat arrays for the compiled code. Node ``n_nodes`` is a virtual end of open routes."""

    dist: np.ndarray  # (M, M)
    dur: np.ndarray  # (M, M)
    node: np.ndarray  # (N, F) segment of each client alone, with its first time window
    alt: np.ndarray  # (W * N, F) row w * N + c: client c alone with its window w (the last one repeated)
    start: np.ndarray  # (V, F) start depot segment per vehicle type
    end: np.ndarray  # (V, F) end depot (or virtual end) segment per vehicle type
    vt: np.ndarray  # (V, 5 + K) fixed cost, cost per distance, per duration, max duration, max distance, capacity
    cl: np.ndarray  # (N, 2) prize, violation when left out (0 for optional clients)
    neigh: np.ndarray  # (N, k) related clients, nearest first
    flags: tuple[int, ...]  # cfg entries C_K .. C_MAXEX
    extra: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0)  # cfg entries C_REL .. C_EXACT (fleet columns, 0: none)
    partner: np.ndarray | None = None  # (N,) the other stop of a shipment stop, -1 for other clients
    pickup_stop: np.ndarray | None = None  # (N,) 1 for a shipment's pickup stop
    fleet: tuple | None = None  # the original problem's fleet_arrays (a tiny problem's unless C_EXACT)
    events: np.ndarray | None = None  # (N,) each client's event for fleet_route: c, or -(depot + 1) to reload


class Arrays(NamedTuple):
    """A plan in the search: clients linked in routes held by vehicle slots, and all segments in one array.

    ``seg`` rows: client segments (N), prefix segments from the route's first client to each client (N),
    suffix segments from each client to its route's last client (N), start and end depots per type (2V),
    whole routes with depots per slot (R), scratch rows (N_BUF), then each client alone with each of its time
    windows (W * N, row ``C_ALT + w * N + c``; W = 1 unless clients have several windows).
    """

    dist: np.ndarray
    dur: np.ndarray
    seg: np.ndarray
    link: np.ndarray  # (N, 7) next, previous, slot (-1: unassigned), position, partner, pickup stop, scratch
    route: np.ndarray  # (R, 6) first client, last client, size, vehicle type, excess slot (beyond the fleet),
    #                   changed (see :func:`ruin_recreate`)
    rval: np.ndarray  # (R, 4) cost, violation by the segments, then by the evaluator's rules (C_EXACT)
    vt: np.ndarray
    cl: np.ndarray
    slots: np.ndarray  # (2, V + 1): first slot of each type (and the end), a free slot per type (-1: none)
    pieces: np.ndarray  # (2, 1 + 3 * MAX_PIECES) the new routes of a move: count, then (start, end, reversed)
    nodes: np.ndarray  # (2, N) the new routes' clients when a move is applied
    counters: np.ndarray  # (2,) moves applied, moves evaluated
    sums: np.ndarray  # (2,) plan cost (with prizes lost), plan violation (with missing clients)
    neigh: np.ndarray
    exact: tuple  # (fleet_arrays, work buffer, events buffer (N + 1,), events of the clients) for fleet_route


# -- problem compilation ---------------------------------------------------------------------------------


class Trips(NamedTuple):
    """A multi-trip problem as the search sees it: ``problem`` is ``original`` with reload stops appended to
    its clients (client ``n + i`` reloads at depot ``depot[i]``; the types that may reload there have a
    skill that only these stops need) and without reload depots of its own."""

    problem: Problem
    original: Problem
    n: int
    depot: np.ndarray
    max_reloads: np.ndarray


RELOAD_STOPS = 200
"""Reload stops per reload depot at most (the plan's reloads at one depot; one per client below that)."""


def expand_trips(problem: Problem) -> Trips:
    """The :class:`Trips` of a multi-trip ``problem``: each reload depot's stops at its location (its service
    time, its opening hours), the matrices extended with copies of the depots' rows and columns."""
    from vrpkit.model import Client

    n, nd = problem.n_clients, problem.n_depots
    allowed = problem.reload_allowed
    depots = np.flatnonzero(allowed.any(axis=0))
    per = max(1, min(n, RELOAD_STOPS))
    depot_of = np.repeat(depots, per).astype(np.int64)
    skill = [f"\x00reload@{d.id}" for d in problem.depots]
    stops = tuple(Client(f"\x00reload:{problem.depots[d].id}:{i}", problem.depots[d].location,
                         service_time=problem.depots[d].service_time,
                         time_windows=(problem.depots[d].time_window,), required=False, skills=(skill[d],))
                  for i, d in enumerate(depot_of))
    vts = tuple(replace(vt, skills=vt.skills + tuple(skill[d] for d in depots if allowed[v, d]),
                        reload_depots=(), max_reloads=None) for v, vt in enumerate(problem.vehicle_types))
    idx = np.concatenate((np.arange(nd + n), depot_of))
    dist = problem.distance[np.ix_(idx, idx)]
    dur = dist if problem.duration is problem.distance else problem.duration[np.ix_(idx, idx)]
    inner = replace(problem, clients=problem.clients + stops, vehicle_types=vts, distance=dist, duration=dur,
                    matrix=None)
    return Trips(inner, problem, n, depot_of, problem.max_reloads.astype(np.int64))


def trip_neighbours(trips: Trips, k: int) -> np.ndarray:
    """:func:`neighbours` of a multi-trip problem: each client's among the original clients, each reload
    stop's the clients nearest its depot (reload stops would crowd the lists of clients near a depot)."""
    p = trips.original
    near = neighbours(p, k)
    k = near.shape[1]
    if k == 0:
        return np.zeros((trips.problem.n_clients, 0), np.int64)
    d = np.asarray(p.distance[:p.n_depots, p.n_depots:], dtype=float)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.vstack((near, order[trips.depot])).astype(np.int64)


def compile_problem(problem: Problem, *, granularity: int = 20, max_segment: int = 3,
                    max_exchange: int = 2, pad: bool = True, trips: Trips | None = None) -> Data:
    """Flatten ``problem`` for the compiled search (raises :class:`SolverError` when unsupported). The
    matrices are :func:`search_matrices`'s: with ``pad`` False (what :class:`LocalSearch` asks for) the
    problem's own arrays when no route is open. A multi-trip problem comes as its ``trips``
    (:func:`expand_trips`; ``problem`` is then ``trips.problem``)."""
    reason = unsupported(problem if trips is None else trips.original)
    if reason:
        raise SolverError(f"local search: {reason}")
    if granularity < 1:
        raise ValidationError("granularity", f"{granularity} < 1")
    if not 1 <= max_segment <= MAX_PIECES or not 0 <= max_exchange <= max_segment:
        raise ValidationError("max_segment", f"expected 0 <= max_exchange <= max_segment <= {MAX_PIECES}")
    nd, n, k_dims = problem.n_depots, problem.n_clients, problem.n_dims
    m = problem.n_nodes + 1
    dist, dur = search_matrices(problem, pad=pad)
    vts = problem.vehicle_types
    n_types = len(vts)
    fields = LOAD + 3 * k_dims
    attrs = problem.attributes
    col_rel = col_sk = col_ns = 0
    classes, class_of = skill_classes(problem)
    original = problem if trips is None else trips.original
    exact = needs_exact(original)
    if "release_times" in attrs and trips is None:  # per trip with reloads: only the exact check has them
        col_rel, fields = fields, fields + 1
    if "skills" in attrs:
        col_sk, fields = fields, fields + len(classes)
    if "shipments" in attrs:
        col_ns, fields = fields, fields + 2
    col_mt = 0
    if trips is not None:
        col_mt, fields = fields, fields + 5 + 4 * k_dims
    delivery = problem.delivery.astype(float)
    pickup = problem.pickup.astype(float)
    ship = problem.shipment_load.astype(float) if "shipments" in attrs else np.zeros_like(pickup)
    windows = problem.time_windows[:, 0, :]

    node = np.zeros((n, fields))
    node[:, FIRST] = node[:, LAST] = nd + np.arange(n)
    node[:, DUR] = problem.service_time
    node[:, EARLY] = windows[:, 0]
    node[:, LATE] = windows[:, 1]
    node[:, LINE] = delivery.any(axis=1)
    node[:, BACK] = pickup.any(axis=1) & ~delivery.any(axis=1)
    node[:, LOAD:LOAD + k_dims] = delivery
    node[:, LOAD + k_dims:LOAD + 2 * k_dims] = pickup + ship  # a delivery stop: a negative pickup
    node[:, LOAD + 2 * k_dims:LOAD + 3 * k_dims] = np.maximum(delivery, pickup + ship)
    if col_rel:
        node[:, col_rel] = problem.release_time
    if col_sk:
        for j, have in enumerate(classes):
            node[:, col_sk + j] = [len(set(c.skills) - have) for c in problem.clients]
    if col_mt:
        node[trips.n:, col_mt] = node[trips.n:, col_mt + 1] = 1.0  # reload stops
        node[trips.n:, col_mt + 2 + 4 * k_dims] = node[trips.n:, col_mt + 3 + 4 * k_dims] = 1.0
    if col_ns:
        node[:, col_ns] = problem.shipment_of >= 0
        node[:, col_ns + 1] = problem.is_pickup_stop.astype(float) - ((problem.shipment_of >= 0)
                                                                       & ~problem.is_pickup_stop)
    n_windows = problem.time_windows.shape[1]
    alt = np.tile(node, (n_windows, 1))
    alt[:, EARLY] = problem.time_windows[:, :, 0].T.reshape(-1)
    alt[:, LATE] = problem.time_windows[:, :, 1].T.reshape(-1)

    start = np.zeros((n_types, fields))
    end = np.zeros((n_types, fields))
    depot_tw = problem.depot_windows
    for v, vt in enumerate(vts):
        s = int(problem.vehicle_start[v])
        e = int(problem.vehicle_end[v])
        early = max(vt.shift[0], depot_tw[s, 0])
        late = min(vt.shift[1], depot_tw[s, 1])
        start[v, FIRST] = start[v, LAST] = s
        start[v, EARLY] = early
        start[v, LATE] = max(early, late)
        start[v, TWARP] = max(0.0, early - late)
        end[v, FIRST] = end[v, LAST] = m - 1 if e < 0 else e
        end[v, LATE] = vt.shift[1] if e < 0 else min(vt.shift[1], depot_tw[e, 1])

    col_vmr = CAP + k_dims + (1 if col_sk else 0) if col_mt else 0
    vtab = np.zeros((n_types, CAP + k_dims + (1 if col_sk else 0) + (1 if col_mt else 0)))
    if col_mt:
        vtab[:, col_vmr] = trips.max_reloads
    for v, vt in enumerate(vts):
        vtab[v, :CAP] = (vt.fixed_cost, vt.cost_per_distance, vt.cost_per_duration, vt.max_duration,
                         vt.max_distance)
    vtab[:, CAP:CAP + k_dims] = problem.capacity
    if col_sk:
        vtab[:, CAP + k_dims] = class_of  # the type's skill class
    cl = np.zeros((n, 2))
    cl[:, 0] = problem.prize
    # A required client left out counts as a violation of 1 plus its load, so that inserting it where it
    # overloads a route (which other moves can then relieve) is a step towards feasibility.
    cl[:, 1] = problem.required * (1.0 + np.maximum(delivery, pickup).sum(axis=1))
    use_time = bool({"time_windows", "duration_limit", "release_times"} & problem.attributes) or any(
        vt.cost_per_duration > 0 for vt in vts)
    has_pickup = bool(problem.pickup.any()) or bool(col_ns)
    strict = problem.backhaul == "strict" and has_pickup
    flags = (k_dims, nd, int(use_time), int(not use_time and not has_pickup and not col_mt), int(strict),
             int(not problem.required.all()), int(max_segment), int(max_exchange))
    return Data(dist=dist, dur=dur, node=node, alt=alt, start=start, end=end, vt=vtab, cl=cl,
                neigh=neighbours(problem, granularity) if trips is None else trip_neighbours(trips, granularity),
                flags=flags, extra=(col_rel, col_sk, len(classes) if col_sk else 0, col_ns, col_mt, col_vmr,
                                    2 if exact and "breaks" in original.attributes else int(exact)),
                partner=problem.partner.astype(np.int64) if col_ns else np.full(n, -1, np.int64),
                pickup_stop=problem.is_pickup_stop.astype(np.int64) if col_ns else np.zeros(n, np.int64),
                fleet=exact_arrays(original) if exact else _tiny_fleet(),
                events=np.concatenate((np.arange(n if trips is None else trips.n),
                                       -(trips.depot + 1) if trips is not None else [])).astype(np.int64))


def exact_arrays(problem: Problem) -> tuple:
    """:func:`vrpkit._evaluate_kernel.fleet_arrays` of ``problem`` (without its uncertainty, which the
    evaluator's plan-level rules do not use when no travel-time profile is set), each array C-contiguous
    and read-only: one argument type for the compiled code, whatever the problem."""
    if problem.uncertainty is not None and not problem.time_dependent:
        problem = replace(problem, uncertainty=None)
    out = []
    for x in fleet_arrays(problem):
        if isinstance(x, np.ndarray):
            x = np.ascontiguousarray(x).view()
            x.setflags(write=False)
        out.append(x)
    return tuple(out)


_TINY: list[tuple] = []


def _tiny_fleet() -> tuple:
    """The :func:`exact_arrays` of a one-client problem: what the compiled code gets (and never reads) on
    problems without ``C_EXACT``, so that it is compiled for one argument type only."""
    if not _TINY:
        from vrpkit.model import Client, Depot, VehicleType

        _TINY.append(exact_arrays(Problem("tiny", (Depot("d", (0.0, 0.0)),), (Client("c", (1.0, 0.0)),),
                                          (VehicleType("v"),))))
    return _TINY[0]


def skill_classes(problem: Problem) -> tuple[list[frozenset[str]], np.ndarray]:
    """The distinct skill sets of the vehicle types, and each type's index among them."""
    classes: list[frozenset[str]] = []
    class_of = np.zeros(len(problem.vehicle_types), np.int64)
    for v, vt in enumerate(problem.vehicle_types):
        have = frozenset(vt.skills)
        if have not in classes:
            classes.append(have)
        class_of[v] = classes.index(have)
    return classes, class_of


def search_matrices(problem: Problem, *, pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read-only distance and duration matrices for the compiled code, with the virtual end node of open
    routes as the last row and column (all zero). Without ``pad`` and with no open route, they are the
    problem's own arrays (no copy, the end node is never reached); padded, the duration matrix is the
    distance matrix when the problem's are one array. Memory: nothing, or one or two ``(M + 1) ** 2``
    copies."""
    open_routes = bool((problem.vehicle_end < 0).any())
    if not pad and not open_routes:
        dist = np.ascontiguousarray(problem.distance, dtype=float)
        dur = dist if problem.duration is problem.distance else np.ascontiguousarray(problem.duration,
                                                                                      dtype=float)
    else:
        m = problem.n_nodes + 1
        dist = np.zeros((m, m))
        dist[:-1, :-1] = problem.distance
        if problem.duration is problem.distance:
            dur = dist
        else:
            dur = np.zeros((m, m))
            dur[:-1, :-1] = problem.duration
    for x in (dist, dur):
        if x.flags.writeable:  # one array type (read-only) for the compiled code, whichever way it came
            x.setflags(write=False)
    return dist, dur


BLOCK = 1 << 21
"""Matrix entries per row block in :func:`neighbours` and the colony's lists (16 MiB of float64)."""


def row_blocks(rows: int, width: int) -> range:
    """Starts of blocks of rows holding about :data:`BLOCK` entries of ``width`` each."""
    return range(0, rows, max(1, BLOCK // max(1, width)))


def neighbours(problem: Problem, k: int) -> np.ndarray:
    """The ``k`` clients most related to each client ``(N, k)``, nearest first.

    Relatedness is the distance, plus (with time windows) the waiting and lateness that going from one to
    the other implies (Vidal et al., 2013), taken in the better direction.
    """
    n, nd = problem.n_clients, problem.n_depots
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64)
    out = np.empty((n, k), np.int64)
    timed = "time_windows" in problem.attributes
    if timed:
        tw = problem.time_windows
        a, b = tw[:, 0, 0], tw[:, -1, 1]
        s = problem.service_time
        finite_b = np.where(np.isfinite(b), b, 1e18)
    for r0 in row_blocks(n, n):  # rows i of r0:r1 against all clients j; O(block * n) memory
        r1 = min(n, r0 + max(1, BLOCK // n))
        d = problem.distance[nd + r0:nd + r1, nd:]
        if timed:
            rows, every = slice(r0, r1), slice(None)
            there = _related(d, problem.duration[nd + r0:nd + r1, nd:], a, s, finite_b, rows, every)
            back = _related(problem.distance[nd:, nd + r0:nd + r1], problem.duration[nd:, nd + r0:nd + r1],
                            a, s, finite_b, every, rows)
            score = np.minimum(there, back.T)
        else:
            score = d.astype(float, copy=True)
        score[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf
        part = np.argpartition(score, k - 1, axis=1)[:, :k]
        idx = np.arange(r1 - r0)[:, None]
        order = np.argsort(score[idx, part], axis=1, kind="stable")
        out[r0:r1] = part[idx, order]
    return out


def _related(d: np.ndarray, t: np.ndarray, a: np.ndarray, s: np.ndarray, b: np.ndarray, i: slice, j: slice
             ) -> np.ndarray:
    """Relatedness of going from clients ``i`` to clients ``j`` (distance ``d`` and duration ``t`` between
    them; window starts ``a``, service ``s``, finite window ends ``b``): distance, waiting, lateness."""
    wait = np.maximum(a[j][None, :] - s[i][:, None] - t - b[i][:, None], 0.0)
    late = np.maximum(a[i][:, None] + s[i][:, None] + t - b[j][None, :], 0.0)
    return d + 0.2 * wait + 1.0 * late


def slot_sizes(problem: Problem, used: Sequence[int] = ()) -> tuple[list[int], list[bool]]:
    """Vehicle slots per type (``count``, or one per client when unlimited) plus excess slots where ``used``
    routes exceed the count; and which slots are excess."""
    n = problem.n_clients
    sizes, excess = [], []
    for t, vt in enumerate(problem.vehicle_types):
        base = max(n, 1) if vt.count is None else vt.count
        extra = max(0, (used[t] if t < len(used) else 0) - base)
        sizes.append(base + extra)
        excess.extend([False] * base + [True] * extra)
    return sizes, excess


def new_arrays(data: Data, sizes: Sequence[int], excess: Sequence[bool]) -> tuple[Arrays, tuple[int, ...]]:
    """An empty plan over the given slots, and its ``cfg``."""
    n, fields = data.node.shape
    n_types = len(sizes)
    r = int(sum(sizes))
    buf = 3 * n + 2 * n_types + r
    cfg = (n, n_types, r, *data.flags, n, 2 * n, 3 * n, 3 * n + n_types, 3 * n + 2 * n_types, buf,
           buf + N_BUF, data.alt.shape[0] // n if n else 1, *data.extra)
    seg = np.zeros((cfg[C_ALT] + data.alt.shape[0], fields))
    seg[:n] = data.node
    seg[cfg[C_ALT]:] = data.alt
    seg[cfg[C_START]:cfg[C_START] + n_types] = data.start
    seg[cfg[C_END]:cfg[C_END] + n_types] = data.end
    route = np.zeros((r, 6), np.int64)
    route[:, FST] = route[:, LST] = -1
    route[:, TYPE] = np.repeat(np.arange(n_types), sizes)
    route[:, EXC] = excess
    slots = np.zeros((2, n_types + 1), np.int64)
    slots[0, 1:] = np.cumsum(sizes)
    slots[1, :n_types] = slots[0, :n_types]
    link = np.full((n, 7), -1, np.int64)
    link[:, PART] = data.partner if data.partner is not None else -1
    link[:, ISP] = data.pickup_stop if data.pickup_stop is not None else 0
    link[:, MARK] = 0
    fleet = data.fleet if data.fleet is not None else _tiny_fleet()
    events = data.events if data.events is not None else np.arange(n, dtype=np.int64)
    work = fleet_work(fleet)
    exact = (fleet, work, np.zeros(n + 1 + work.shape[1], np.int64), events)  # room for the breaks' stops
    arrays = Arrays(dist=data.dist, dur=data.dur, seg=seg, link=link, route=route, rval=np.zeros((r, 4)),
                    vt=data.vt, cl=data.cl, slots=slots, pieces=np.zeros((2, 1 + 3 * MAX_PIECES), np.int64),
                    nodes=np.zeros((2, max(n, 1)), np.int64), counters=np.zeros(2, np.int64),
                    sums=np.zeros(2), neigh=data.neigh, exact=exact)
    return arrays, tuple(int(x) for x in cfg)


# -- segments (hot: explicit arguments only) --------------------------------------------------------------


@_jit_inline
def cat(dist, dur, cfg, A, ia, B, ib, O, io):  # noqa: E741
    """Row io of O = row ia of A followed by row ib of B (io must be neither)."""
    i = int(A[ia, LAST])
    j = int(B[ib, FIRST])
    O[io, FIRST] = A[ia, FIRST]
    O[io, LAST] = B[ib, LAST]
    O[io, DIST] = A[ia, DIST] + B[ib, DIST] + dist[i, j]
    if cfg[C_TIME]:
        t = dur[i, j]
        delta = A[ia, DUR] - A[ia, TWARP] + t
        wait = max(B[ib, EARLY] - delta - A[ia, LATE], 0.0)
        warp = max(A[ia, EARLY] + delta - B[ib, LATE], 0.0)
        O[io, DUR] = A[ia, DUR] + B[ib, DUR] + t + wait
        O[io, TWARP] = A[ia, TWARP] + B[ib, TWARP] + warp
        O[io, EARLY] = max(B[ib, EARLY] - delta, A[ia, EARLY]) - wait
        O[io, LATE] = min(B[ib, LATE] - delta, A[ia, LATE]) + warp
    if cfg[C_STRICT]:
        O[io, LINE] = max(A[ia, LINE], B[ib, LINE])
        O[io, BACK] = max(A[ia, BACK], B[ib, BACK])
        O[io, BAD] = A[ia, BAD] + B[ib, BAD] + (1.0 if A[ia, BACK] > 0.0 and B[ib, LINE] > 0.0 else 0.0)
    k_dims = cfg[C_K]
    d0 = LOAD
    p0 = LOAD + k_dims
    m0 = LOAD + 2 * k_dims
    if cfg[C_MT]:
        _cat_trips(cfg, A, ia, B, ib, O, io)
    else:
        for k in range(k_dims):
            db = B[ib, d0 + k]
            pa = A[ia, p0 + k]
            O[io, d0 + k] = A[ia, d0 + k] + db
            O[io, p0 + k] = pa + B[ib, p0 + k]
            O[io, m0 + k] = max(A[ia, m0 + k] + db, B[ib, m0 + k] + pa)
    if cfg[C_REL]:
        c = cfg[C_REL]
        O[io, c] = max(A[ia, c], B[ib, c])
    for s in range(cfg[C_NSK]):
        c = cfg[C_SK] + s
        O[io, c] = A[ia, c] + B[ib, c]
    if cfg[C_NS]:
        c = cfg[C_NS]
        O[io, c] = A[ia, c] + B[ib, c]
        O[io, c + 1] = A[ia, c + 1] + B[ib, c + 1]


@_jit_inline
def _cat_trips(cfg, A, ia, B, ib, O, io):  # noqa: E741
    """The load fields of row io of O = row ia of A followed by row ib of B, with reloads: a reload ends the
    trip before it (its pickups leave, the next trip's deliveries come on board)."""
    k_dims = cfg[C_K]
    h = cfg[C_MT]
    ha = A[ia, h] > 0.0
    hb = B[ib, h] > 0.0
    O[io, h] = 1.0 if ha or hb else 0.0
    O[io, h + 1] = A[ia, h + 1] + B[ib, h + 1]
    fr = h + 2 + 4 * k_dims
    lr = fr + 1
    bad = fr + 2
    nd = cfg[C_ND]
    a_depot = A[ia, LAST] < nd  # the start depot
    b_depot = B[ib, FIRST] < nd or B[ib, FIRST] >= nd + cfg[C_N]  # an end depot or the virtual end
    O[io, fr] = A[ia, fr]
    O[io, lr] = B[ib, lr]
    O[io, bad] = A[ia, bad] + B[ib, bad]
    if A[ia, lr] > 0.0 and (B[ib, fr] > 0.0 or b_depot):
        O[io, bad] += 1.0
    if a_depot and B[ib, fr] > 0.0:
        O[io, bad] += 1.0
    for k in range(k_dims):
        d = LOAD + k
        p = LOAD + k_dims + k
        m = LOAD + 2 * k_dims + k
        d2 = h + 2 + k
        p2 = d2 + k_dims
        m2 = p2 + k_dims
        mi = m2 + k_dims
        if not ha:  # A joins B's first trip
            db = B[ib, d]
            pa = A[ia, p]
            O[io, d] = A[ia, d] + db
            O[io, p] = pa + B[ib, p]
            O[io, m] = max(A[ia, m] + db, B[ib, m] + pa)
            O[io, d2] = B[ib, d2]
            O[io, p2] = B[ib, p2]
            O[io, m2] = B[ib, m2]
            O[io, mi] = B[ib, mi]
        else:
            O[io, d] = A[ia, d]
            O[io, p] = A[ia, p]
            O[io, m] = A[ia, m]
            db = B[ib, d]
            pa = A[ia, p2]
            joined = max(A[ia, m2] + db, B[ib, m] + pa)  # A's last trip and B's first
            if hb:
                O[io, d2] = B[ib, d2]
                O[io, p2] = B[ib, p2]
                O[io, m2] = B[ib, m2]
                O[io, mi] = max(A[ia, mi], B[ib, mi], joined)
            else:
                O[io, d2] = A[ia, d2] + db
                O[io, p2] = pa + B[ib, p]
                O[io, m2] = joined
                O[io, mi] = A[ia, mi]


@_jit_inline
def score(seg, row, vt, cfg, v, excess):
    """Cost and violation of a whole route (with depots) in row ``row`` driven by vehicle type ``v``."""
    cost = vt[v, FIXED] + vt[v, CPD] * seg[row, DIST]
    viol = 0.0
    k_dims = cfg[C_K]
    for k in range(k_dims):
        peak = seg[row, LOAD + 2 * k_dims + k]
        if cfg[C_MT]:  # the first trip, the last one, those between
            peak = max(peak, seg[row, cfg[C_MT] + 2 + 2 * k_dims + k], seg[row, cfg[C_MT] + 2 + 3 * k_dims + k])
        over = peak - vt[v, CAP + k]
        if over > TOL:
            viol += over
    if cfg[C_MT]:
        viol += seg[row, cfg[C_MT] + 4 + 4 * k_dims]  # reloads first, last or twice in a row
        if vt[v, cfg[C_VMR]] >= 0.0:
            over = seg[row, cfg[C_MT] + 1] - vt[v, cfg[C_VMR]]
            if over > TOL:
                viol += over
    if cfg[C_TIME]:
        cost += vt[v, CPT] * seg[row, DUR]
        if seg[row, TWARP] > TOL:
            viol += seg[row, TWARP]
        over = seg[row, DUR] - vt[v, MAXDUR]
        if over > TOL:
            viol += over
        if cfg[C_REL]:  # the departure waits for the goods: later than the latest start is lateness
            over = seg[row, cfg[C_REL]] - seg[row, LATE]
            if over > TOL:
                viol += over
    if cfg[C_NSK]:
        viol += seg[row, cfg[C_SK] + int(vt[v, CAP + k_dims])]
    over = seg[row, DIST] - vt[v, MAXDIST]
    if over > TOL:
        viol += over
    if cfg[C_STRICT]:
        viol += seg[row, BAD]
    if excess:
        viol += 1.0
    return cost, viol


@_jit_inline
def _piece(dist, dur, seg, link, cfg, a, b, rev, io, t1, t2):
    """The row holding the segment of clients a..b of one route (b..a when ``rev``): a stored row when it
    is a client, a prefix or a suffix, else computed into io (O(1) without time or pickups) or t1/t2."""
    if a == b:
        return a
    if not rev:
        if link[a, PRV] < 0:
            return cfg[C_FWD] + b
        if link[b, NXT] < 0:
            return cfg[C_BWD] + a
    fwd = cfg[C_FWD]
    if cfg[C_SIMPLE]:
        k_dims = cfg[C_K]
        nd = cfg[C_ND]
        if rev:
            seg[io, FIRST] = nd + b
            seg[io, LAST] = nd + a
            seg[io, DIST] = seg[fwd + b, RCUM] - seg[fwd + a, RCUM]
        else:
            seg[io, FIRST] = nd + a
            seg[io, LAST] = nd + b
            seg[io, DIST] = seg[fwd + b, DIST] - seg[fwd + a, DIST]
        for k in range(k_dims):
            q = seg[fwd + b, LOAD + k] - seg[fwd + a, LOAD + k] + seg[a, LOAD + k]
            seg[io, LOAD + k] = q
            seg[io, LOAD + k_dims + k] = 0.0
            seg[io, LOAD + 2 * k_dims + k] = q
        for s in range(cfg[C_NSK]):
            c = cfg[C_SK] + s
            seg[io, c] = seg[fwd + b, c] - seg[fwd + a, c] + seg[a, c]
        return io
    cur = b if rev else a
    out = t1
    x = cur
    while x != (a if rev else b):
        x = link[x, PRV] if rev else link[x, NXT]
        cat(dist, dur, cfg, seg, cur, seg, x, seg, out)
        cur = out
        out = t2 if out == t1 else t1
    return cur


@_jit_inline
def _eval(dist, dur, seg, link, route, vt, pieces, cfg, k, slot):
    """Cost and violation of the new route k of a move, driven in ``slot``."""
    n_pieces = pieces[k, 0]
    if n_pieces == 0:
        return 0.0, 0.0
    v = route[slot, TYPE]
    buf = cfg[C_BUF]
    acc = cfg[C_START] + v
    out = buf
    for i in range(n_pieces):
        row = _piece(dist, dur, seg, link, cfg, pieces[k, 1 + 3 * i], pieces[k, 2 + 3 * i],
                     pieces[k, 3 + 3 * i] != 0, buf + 2, buf + 3, buf + 4)
        cat(dist, dur, cfg, seg, acc, seg, row, seg, out)
        acc = out
        out = buf + 1 if out == buf else buf
    cat(dist, dur, cfg, seg, acc, seg, cfg[C_END] + v, seg, out)
    return score(seg, out, vt, cfg, v, route[slot, EXC] != 0)


@_jit_inline
def _better(dviol, dcost):
    if dviol < -1e-9:
        return True
    return dviol <= 1e-9 and dcost < -1e-7


@_jit
def _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2, extra_cost, extra_viol):
    """Whether the move set in ``pieces`` (new routes for slots r1 and r2 >= 0) improves the plan, and the
    changes of cost and violation. With shipments, a move that would split a shipment or put its delivery
    before its pickup is no improvement (:func:`_ship_ok`)."""
    if cfg[C_NS] and not _ship_ok(seg, link, route, pieces, cfg, r1, r2):
        counters[1] += 1
        return False, 0.0, 0.0
    return _gain_any(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2, extra_cost,
                     extra_viol)


@_jit_inline
def _movable(seg, link, cfg, a, b, rev):
    """Whether clients a..b of one route (b..a when ``rev``) may go to another route without splitting a
    shipment or reversing one: no shipment stop among them, or (in their order) every stop's partner among
    them (checked in O(1) for a head or a tail of the route by the balance of pickup and delivery stops
    before and after them, stop by stop for a short run inside it)."""
    fwd = cfg[C_FWD]
    ns = cfg[C_NS]
    if seg[fwd + b, ns] - seg[fwd + a, ns] + seg[a, ns] == 0.0:
        return True
    if rev:
        return False
    if link[a, PRV] < 0:
        return seg[fwd + b, ns + 1] == 0.0
    if link[b, NXT] < 0:
        return seg[fwd + a, ns + 1] - seg[a, ns + 1] == 0.0
    r = link[a, RTE]
    pa = link[a, POS]
    pb = link[b, POS]
    if pb - pa >= MAX_PIECES:
        return False
    x = a
    while True:
        q = link[x, PART]
        if q >= 0 and (link[q, RTE] != r or link[q, POS] < pa or link[q, POS] > pb):
            return False
        if x == b:
            return True
        x = link[x, NXT]


@_jit_inline
def _walk(link, pieces, k, i, out_mark, value, check):
    """Visit the clients of piece i of new route k in their new order: number them from ``value`` + 1 in
    MARK (``out_mark`` 1), check that each delivery stop whose pickup is numbered comes after it (``check``),
    or clear MARK (``out_mark`` 0). Returns the last number and whether the check held."""
    a = pieces[k, 1 + 3 * i]
    b = pieces[k, 2 + 3 * i]
    rev = pieces[k, 3 + 3 * i] != 0
    x = b if rev else a
    ok = True
    while True:
        value += 1
        if out_mark == 1:
            link[x, MARK] = value
        elif check:
            q = link[x, PART]
            if q >= 0 and link[x, ISP] == 0 and link[q, MARK] > link[x, MARK]:
                ok = False
        else:
            link[x, MARK] = 0
        if x == (a if rev else b):
            return value, ok
        x = link[x, PRV] if rev else link[x, NXT]


@_jit
def _ship_ok(seg, link, route, pieces, cfg, r1, r2):
    """Whether the move in ``pieces`` keeps every shipment of the plan on one route, pickup first (the plan
    always does, see :meth:`LocalSearch.load_flat`). Between two routes: every run of clients that changes
    route is :func:`_movable`. Inside route r1: the runs between its unchanged head and tail keep each
    shipment they hold both stops of in order (O(their length))."""
    if r2 >= 0:
        for k in range(2):
            target = r1 if k == 0 else r2
            for i in range(pieces[k, 0]):
                a = pieces[k, 1 + 3 * i]
                if link[a, RTE] != target and not _movable(seg, link, cfg, a, pieces[k, 2 + 3 * i],
                                                           pieces[k, 3 + 3 * i] != 0):
                    return False
        return True
    lo = 0
    hi = pieces[0, 0]
    if hi > 0 and pieces[0, 1] == route[r1, FST] and pieces[0, 3] == 0:
        lo = 1
    if hi > lo and pieces[0, 2 + 3 * (hi - 1)] == route[r1, LST] and pieces[0, 3 * hi] == 0:
        hi -= 1
    value = 0
    for i in range(lo, hi):
        value, _ok = _walk(link, pieces, 0, i, 1, value, False)
    ok = True
    value = 0
    for i in range(lo, hi):
        value, good = _walk(link, pieces, 0, i, 2, value, True)
        ok = ok and good
    for i in range(lo, hi):
        _walk(link, pieces, 0, i, 0, 0, False)
    return ok


@_jit
def _gain_any(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2, extra_cost, extra_viol):
    """:func:`_gain` without the shipment check (for the moves of shipments, which keep them whole).

    With ``C_EXACT`` the segments are a filter: a move they find improving, and any move of a route whose
    evaluator violation exceeds its segment violation (what the segments do not see, e.g. a late break), is
    scored by the evaluator's rules (:func:`_exact`); the changes returned are then the evaluator's. A move
    the filter stops returns an infinite violation change."""
    counters[1] += 1
    c1, q1 = _eval(dist, dur, seg, link, route, vt, pieces, cfg, 0, r1)
    dcost = c1 - rval[r1, COST] + extra_cost
    dviol = q1 - rval[r1, VIOL] + extra_viol
    if r2 >= 0:
        c2, q2 = _eval(dist, dur, seg, link, route, vt, pieces, cfg, 1, r2)
        dcost += c2 - rval[r2, COST]
        dviol += q2 - rval[r2, VIOL]
    ok = _better(dviol, dcost)
    if not cfg[C_EXACT]:
        return ok, dcost, dviol
    if not (ok or _hidden(rval, r1) or (r2 >= 0 and _hidden(rval, r2))):
        return False, 0.0, math.inf
    c1, q1 = _exact(X, link, route, pieces, cfg, 0, r1)
    dcost = c1 - rval[r1, XCOST] + extra_cost
    dviol = q1 - rval[r1, XVIOL] + extra_viol
    if r2 >= 0:
        c2, q2 = _exact(X, link, route, pieces, cfg, 1, r2)
        dcost += c2 - rval[r2, XCOST]
        dviol += q2 - rval[r2, XVIOL]
    return _better(dviol, dcost), dcost, dviol


@_jit_inline
def _hidden(rval, r):
    """Whether route r has violation that only the evaluator's rules see (``C_EXACT``)."""
    return rval[r, XVIOL] > rval[r, VIOL] + 1e-9


@_jit
def _score_events(X, cfg, n, v, excess):
    """The evaluator's cost and violation of a route of vehicle type v serving the clients ``X[2][:n]``
    (:func:`vrpkit._evaluate_kernel.fleet_route`). Reload stops become reloads at their depot; one first,
    last or after another reload (the later one kept) is left out, as :meth:`LocalSearch.public` does, and
    counts 1 (a plan cannot say it). ``excess``: the slot is beyond the fleet (1 more)."""
    fleet, work, stops, events = X
    j = 0
    bad = 0.0
    pending = 0
    for i in range(n):
        e = events[stops[i]]
        if e < 0:
            if j == 0 or pending < 0:
                bad += 1.0
            if j > 0:
                pending = e
        else:
            if pending < 0:
                stops[j] = pending
                j += 1
                pending = 0
            stops[j] = e
            j += 1
    if pending < 0:
        bad += 1.0
    cost = 0.0
    viol = 0.0
    if j > 0:
        if cfg[C_EXACT] == 2:  # breaks: where they are best (the short form's earliest place is not always)
            j = best_breaks(fleet, v, stops, j, work, stops)
        _d, _t, cost, viol = fleet_route(fleet, v, stops, j, work)
    viol += bad
    if excess:
        viol += 1.0
    return cost, viol


@_jit
def _exact(X, link, route, pieces, cfg, k, slot):
    """The evaluator's cost and violation of the new route k of a move, driven in ``slot``."""
    if pieces[k, 0] == 0:
        return 0.0, 0.0
    n = _collect_into(link, pieces, k, X[2])
    return _score_events(X, cfg, n, route[slot, TYPE], route[slot, EXC] != 0)


@_jit_inline
def _reset(pieces):
    pieces[0, 0] = 0
    pieces[1, 0] = 0


@_jit_inline
def _add(link, pieces, k, a, b, rev):
    """Append clients a..b (one route, a not after b) to new route k; nothing when the range is empty."""
    if a < 0 or b < 0 or link[a, POS] > link[b, POS]:
        return
    i = pieces[k, 0]
    pieces[k, 1 + 3 * i] = a
    pieces[k, 2 + 3 * i] = b
    pieces[k, 3 + 3 * i] = 1 if rev else 0
    pieces[k, 0] = i + 1


@_jit_inline
def _add_node(pieces, k, c):
    i = pieces[k, 0]
    pieces[k, 1 + 3 * i] = c
    pieces[k, 2 + 3 * i] = c
    pieces[k, 3 + 3 * i] = 0
    pieces[k, 0] = i + 1


# -- applying moves ---------------------------------------------------------------------------------------


@_jit
def _commit(A, cfg, r1, r2, dcost, dviol):
    """Apply the move set in ``pieces`` to slots r1 and r2 (>= 0)."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    n1 = _collect(link, pieces, nodes, 0)
    n2 = _collect(link, pieces, nodes, 1) if r2 >= 0 else 0
    _clear(link, route, r1)
    if r2 >= 0:
        _clear(link, route, r2)
    _rebuild(A, cfg, r1, nodes[0], n1)
    if r2 >= 0:
        _rebuild(A, cfg, r2, nodes[1], n2)
    _update_free(route, slots, route[r1, TYPE])
    if r2 >= 0:
        _update_free(route, slots, route[r2, TYPE])
    sums[0] += dcost
    sums[1] += dviol
    counters[0] += 1


@_jit
def _collect(link, pieces, nodes, k):
    return _collect_into(link, pieces, k, nodes[k])


@_jit_inline
def _collect_into(link, pieces, k, out):
    """Write the clients of new route k, in order, to ``out``; returns how many."""
    n = 0
    for i in range(pieces[k, 0]):
        a = pieces[k, 1 + 3 * i]
        b = pieces[k, 2 + 3 * i]
        if pieces[k, 3 + 3 * i]:
            x = b
            while True:
                out[n] = x
                n += 1
                if x == a:
                    break
                x = link[x, PRV]
        else:
            x = a
            while True:
                out[n] = x
                n += 1
                if x == b:
                    break
                x = link[x, NXT]
    return n


@_jit_inline
def _members(link, route, r, out, skip):
    """Write the clients of slot r, in order, to ``out`` (all but ``skip``); returns how many."""
    size = 0
    x = route[r, FST]
    while x >= 0:
        if x != skip:
            out[size] = x
            size += 1
        x = link[x, NXT]
    return size


@_jit
def _clear(link, route, r):
    x = route[r, FST]
    while x >= 0:
        link[x, RTE] = -1
        x = link[x, NXT]


@_jit
def _rebuild(A, cfg, r, members, n):
    """Make slot r drive ``members[:n]`` and recompute its segments, cost and violation (and mark it changed).

    The prefix rows of the clients that the route keeps at its head, and the suffix rows of those it keeps at
    its tail, in the same order, are still right and kept (with one window per client: else the window of a
    client kept may have changed): an insertion or removal recomputes one side of it only."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    head = 0  # members[:head] are the route's first clients as they were (its links are not yet rewritten)
    tail = 0  # and members[n - tail:] its last ones
    if cfg[C_NWIN] == 1:
        x = route[r, FST]
        while head < n and x >= 0 and x == members[head]:
            head += 1
            x = link[x, NXT]
        x = route[r, LST]
        while tail < n and x >= 0 and x == members[n - 1 - tail]:
            tail += 1
            x = link[x, PRV]
    route[r, SIZE] = n
    route[r, CHG] = 1
    if n == 0:
        route[r, FST] = -1
        route[r, LST] = -1
        for f in range(4):
            rval[r, f] = 0.0
        return
    for i in range(n):
        c = members[i]
        link[c, RTE] = r
        link[c, POS] = i
        link[c, PRV] = members[i - 1] if i > 0 else -1
        link[c, NXT] = members[i + 1] if i + 1 < n else -1
    route[r, FST] = members[0]
    route[r, LST] = members[n - 1]
    nd = cfg[C_ND]
    fwd = cfg[C_FWD]
    bwd = cfg[C_BWD]
    width = seg.shape[1]
    if head == 0:
        c = members[0]
        for f in range(width):
            seg[fwd + c, f] = seg[c, f]
        seg[fwd + c, RCUM] = 0.0
    for i in range(max(1, head), n):
        p = members[i - 1]
        c = members[i]
        cat(dist, dur, cfg, seg, fwd + p, seg, c, seg, fwd + c)
        seg[fwd + c, RCUM] = seg[fwd + p, RCUM] + dist[nd + c, nd + p]
    if tail == 0:
        c = members[n - 1]
        for f in range(width):
            seg[bwd + c, f] = seg[c, f]
    for i in range(n - 1 - max(1, tail), -1, -1):
        c = members[i]
        cat(dist, dur, cfg, seg, c, seg, bwd + members[i + 1], seg, bwd + c)
    v = route[r, TYPE]
    tmp = cfg[C_BUF] + 5
    row = cfg[C_ROUTE] + r
    cat(dist, dur, cfg, seg, cfg[C_START] + v, seg, fwd + members[n - 1], seg, tmp)
    cat(dist, dur, cfg, seg, tmp, seg, cfg[C_END] + v, seg, row)
    cost, viol = score(seg, row, vt, cfg, v, route[r, EXC] != 0)
    rval[r, COST] = cost
    rval[r, VIOL] = viol
    if cfg[C_EXACT]:
        stops = X[2]
        for i in range(n):
            stops[i] = members[i]
        cost, viol = _score_events(X, cfg, n, v, route[r, EXC] != 0)
    rval[r, XCOST] = cost
    rval[r, XVIOL] = viol


@_jit
def _update_free(route, slots, t):
    slots[1, t] = -1
    for r in range(slots[0, t], slots[0, t + 1]):
        if route[r, SIZE] == 0:
            slots[1, t] = r
            return


@_jit
def load_routes(A, cfg, seq, offsets, types):
    """Fill an empty plan with routes ``seq[offsets[i]:offsets[i+1]]`` of vehicle types ``types[i]``."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    if cfg[C_NWIN] > 1:
        for c in range(cfg[C_N]):
            _set_window(seg, cfg, c, 0)
    for i in range(len(types)):
        t = types[i]
        slot = -1
        for r in range(slots[0, t], slots[0, t + 1]):
            if route[r, SIZE] == 0:
                slot = r
                break
        lo = offsets[i]
        hi = offsets[i + 1]
        for j in range(lo, hi):
            nodes[0, j - lo] = seq[j]
        _drive(A, cfg, slot, nodes[0], hi - lo)
    _refresh(A, cfg)


@_jit
def _drive(A, cfg, r, members, n):
    """Slot r drives ``members[:n]``, each client in the window :func:`_pick_windows` chooses when it has
    several (:func:`_rebuild`)."""
    if cfg[C_NWIN] > 1:
        _pick_windows(A[0], A[1], A[2], cfg, A[4][r, TYPE], members, n)
    _rebuild(A, cfg, r, members, n)


@_jit
def _refresh(A, cfg):
    """After routes were rebuilt: each type's free slot, and the plan's totals recounted."""
    for t in range(cfg[C_V]):
        _update_free(A[4], A[8], t)
    totals(A, cfg)


@_jit_inline
def same_window(seg, a, b):
    return seg[a, EARLY] == seg[b, EARLY] and seg[a, LATE] == seg[b, LATE]


@_jit_inline
def _set_window(seg, cfg, c, w):
    """Serve client c in its time window w."""
    row = cfg[C_ALT] + w * cfg[C_N] + c
    seg[c, EARLY] = seg[row, EARLY]
    seg[c, LATE] = seg[row, LATE]


@_jit
def _pick_windows(dist, dur, seg, cfg, v, members, n):
    """Give each client of a route (vehicle type v) the earliest of its windows that it reaches without
    lateness when the clients before it keep theirs (the latest when it is late for all)."""
    buf = cfg[C_BUF]
    acc = buf + 6
    nxt = buf + 7
    width = seg.shape[1]
    for f in range(width):
        seg[acc, f] = seg[cfg[C_START] + v, f]
    if cfg[C_REL]:  # the route leaves once its clients' goods are there (see score)
        rel = 0.0
        for i in range(n):
            rel = max(rel, seg[members[i], cfg[C_REL]])
        warp = max(rel - seg[acc, LATE], 0.0)
        seg[acc, TWARP] += warp
        seg[acc, EARLY] = max(seg[acc, EARLY], rel)
        seg[acc, LATE] += warp
    for i in range(n):
        c = members[i]
        chosen = cfg[C_NWIN] - 1
        for w in range(cfg[C_NWIN]):
            row = cfg[C_ALT] + w * cfg[C_N] + c
            if w > 0 and same_window(seg, row, row - cfg[C_N]):
                break
            cat(dist, dur, cfg, seg, acc, seg, row, seg, nxt)
            if seg[nxt, TWARP] <= seg[acc, TWARP] + TOL:
                chosen = w
                break
        _set_window(seg, cfg, c, chosen)
        cat(dist, dur, cfg, seg, acc, seg, c, seg, nxt)
        for f in range(width):
            seg[acc, f] = seg[nxt, f]


@_jit
def _windows(A, cfg):
    """Serve each client of several windows in another of its windows where the plan gets better."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    n = cfg[C_N]
    improved = False
    for c in range(n):
        r = link[c, RTE]
        if r < 0:
            continue
        current = 0
        while not same_window(seg, cfg[C_ALT] + current * n + c, c):
            current += 1
        best_w = -1
        best_q = 0.0
        best_c = 0.0
        for w in range(cfg[C_NWIN]):
            row = cfg[C_ALT] + w * n + c
            if w > 0 and same_window(seg, row, row - n):
                break
            if w == current:
                continue
            _set_window(seg, cfg, c, w)  # the route with c in window w, scored as any move
            _reset(pieces)
            _add(link, pieces, 0, route[r, FST], link[c, PRV], False)
            _add_node(pieces, 0, c)
            _add(link, pieces, 0, link[c, NXT], route[r, LST], False)
            _ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1, 0.0, 0.0)
            if _better(dq - best_q, dc - best_c):
                best_w, best_q, best_c = w, dq, dc
        _set_window(seg, cfg, c, best_w if best_w >= 0 else current)
        if best_w >= 0:
            _commit(A, cfg, r, -1, best_c, best_q)  # pieces still hold the route in its order
            improved = True
    return improved


@_jit
def totals(A, cfg):
    """Recount the plan's cost and violation."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    cost = 0.0
    viol = 0.0
    for r in range(cfg[C_R]):
        if route[r, SIZE] > 0:
            cost += rval[r, XCOST]
            viol += rval[r, XVIOL]
    for c in range(cfg[C_N]):
        if link[c, RTE] < 0:
            if cl[c, 1] > 0.0:
                viol += cl[c, 1]
            else:
                cost += cl[c, 0]
    sums[0] = cost
    sums[1] = viol


@_jit
def export_routes(A, cfg, seq, offsets, types):
    """Write the non-empty routes as :func:`load_routes` reads them; returns the number of routes."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    n_routes = 0
    j = 0
    offsets[0] = 0
    for r in range(cfg[C_R]):
        if route[r, SIZE] == 0:
            continue
        x = route[r, FST]
        while x >= 0:
            seq[j] = x
            j += 1
            x = link[x, NXT]
        types[n_routes] = route[r, TYPE]
        n_routes += 1
        offsets[n_routes] = j
    return n_routes


# -- moves ------------------------------------------------------------------------------------------------


@_jit
def _inter(A, cfg, u, v):
    """Moves between the routes of u and v that put u next to v."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    r1 = link[u, RTE]
    r2 = link[v, RTE]
    f1, l1, f2, l2 = route[r1, FST], route[r1, LST], route[r2, FST], route[r2, LST]
    max_a = cfg[C_MAXSEG]
    max_b = cfg[C_MAXEX]
    # A = u..e goes after v; B = the lb clients after v go where A was.
    e = u
    for la in range(1, max_a + 1):
        if la > 1:
            e = link[e, NXT]
            if e < 0:
                break
        g = v
        for lb in range(0, max_b + 1):
            if lb > 0:
                if la > max_b:
                    break
                g = link[g, NXT]
                if g < 0:
                    break
            for rev_a in range(2 if la > 1 else 1):
                for rev_b in range(2 if lb > 1 else 1):
                    _reset(pieces)
                    _add(link, pieces, 0, f1, link[u, PRV], False)
                    if lb > 0:
                        _add(link, pieces, 0, link[v, NXT], g, rev_b == 1)
                    _add(link, pieces, 0, link[e, NXT], l1, False)
                    _add(link, pieces, 1, f2, v, False)
                    _add(link, pieces, 1, u, e, rev_a == 1)
                    _add(link, pieces, 1, link[g, NXT], l2, False)
                    ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2,
                                       0.0, 0.0)
                    if ok:
                        _commit(A, cfg, r1, r2, dc, dq)
                        return True
    # A = s..u goes before v; B = the lb clients before v go where A was.
    s = u
    for la in range(1, max_a + 1):
        if la > 1:
            s = link[s, PRV]
            if s < 0:
                break
        h = v
        for lb in range(0, max_b + 1):
            if lb > 0:
                if la > max_b:
                    break
                h = link[h, PRV]
                if h < 0:
                    break
            for rev_a in range(2 if la > 1 else 1):
                for rev_b in range(2 if lb > 1 else 1):
                    _reset(pieces)
                    _add(link, pieces, 0, f1, link[s, PRV], False)
                    if lb > 0:
                        _add(link, pieces, 0, h, link[v, PRV], rev_b == 1)
                    _add(link, pieces, 0, link[u, NXT], l1, False)
                    _add(link, pieces, 1, f2, link[h, PRV], False)
                    _add(link, pieces, 1, s, u, rev_a == 1)
                    _add(link, pieces, 1, v, l2, False)
                    ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2,
                                       0.0, 0.0)
                    if ok:
                        _commit(A, cfg, r1, r2, dc, dq)
                        return True
    # 2-opt*: u -> v joins the head of u's route to the tail of v's, and the other way round; then v -> u.
    for side in range(2):
        _reset(pieces)
        if side == 0:
            _add(link, pieces, 0, f1, u, False)
            _add(link, pieces, 0, v, l2, False)
            _add(link, pieces, 1, f2, link[v, PRV], False)
            _add(link, pieces, 1, link[u, NXT], l1, False)
        else:
            _add(link, pieces, 0, f1, link[u, PRV], False)
            _add(link, pieces, 0, link[v, NXT], l2, False)
            _add(link, pieces, 1, f2, v, False)
            _add(link, pieces, 1, u, l1, False)
        ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2, 0.0, 0.0)
        if ok:
            _commit(A, cfg, r1, r2, dc, dq)
            return True
    return False


@_jit
def _intra(A, cfg, u, v):
    """Moves inside the route of u and v that put u next to v: or-opt, swap, 2-opt."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    r = link[u, RTE]
    f = route[r, FST]
    z = route[r, LST]
    pu = link[u, POS]
    pv = link[v, POS]
    max_a = cfg[C_MAXSEG]
    # Or-opt: A = u..e after v.
    e = u
    for la in range(1, max_a + 1):
        if la > 1:
            e = link[e, NXT]
            if e < 0:
                break
        if pu <= pv <= link[e, POS]:
            break
        for rev_a in range(2 if la > 1 else 1):
            _reset(pieces)
            if pv > pu:
                _add(link, pieces, 0, f, link[u, PRV], False)
                _add(link, pieces, 0, link[e, NXT], v, False)
                _add(link, pieces, 0, u, e, rev_a == 1)
                _add(link, pieces, 0, link[v, NXT], z, False)
            else:
                if v == link[u, PRV] and rev_a == 0:
                    continue
                _add(link, pieces, 0, f, v, False)
                _add(link, pieces, 0, u, e, rev_a == 1)
                _add(link, pieces, 0, link[v, NXT], link[u, PRV], False)
                _add(link, pieces, 0, link[e, NXT], z, False)
            ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1, 0.0, 0.0)
            if ok:
                _commit(A, cfg, r, -1, dc, dq)
                return True
    # Or-opt: A = s..u before v.
    s = u
    for la in range(1, max_a + 1):
        if la > 1:
            s = link[s, PRV]
            if s < 0:
                break
        if link[s, POS] <= pv <= pu:
            break
        for rev_a in range(2 if la > 1 else 1):
            _reset(pieces)
            if pv > pu:
                if v == link[u, NXT] and rev_a == 0:
                    continue
                _add(link, pieces, 0, f, link[s, PRV], False)
                _add(link, pieces, 0, link[u, NXT], link[v, PRV], False)
                _add(link, pieces, 0, s, u, rev_a == 1)
                _add(link, pieces, 0, v, z, False)
            else:
                _add(link, pieces, 0, f, link[v, PRV], False)
                _add(link, pieces, 0, s, u, rev_a == 1)
                _add(link, pieces, 0, v, link[s, PRV], False)
                _add(link, pieces, 0, link[u, NXT], z, False)
            ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1, 0.0, 0.0)
            if ok:
                _commit(A, cfg, r, -1, dc, dq)
                return True
    # Swap u with the client after v (v -> u), then with the one before v (u -> v).
    for side in range(2):
        x = link[v, NXT] if side == 0 else link[v, PRV]
        if x < 0 or x == u:
            continue
        a, b = (u, x) if pu < link[x, POS] else (x, u)
        _reset(pieces)
        _add(link, pieces, 0, f, link[a, PRV], False)
        _add_node(pieces, 0, b)
        _add(link, pieces, 0, link[a, NXT], link[b, PRV], False)
        _add_node(pieces, 0, a)
        _add(link, pieces, 0, link[b, NXT], z, False)
        ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1, 0.0, 0.0)
        if ok:
            _commit(A, cfg, r, -1, dc, dq)
            return True
    # 2-opt: reverse what lies between so that u -> v.
    _reset(pieces)
    if pu < pv:
        if link[u, NXT] == v:
            return False
        _add(link, pieces, 0, f, u, False)
        _add(link, pieces, 0, link[u, NXT], v, True)
        _add(link, pieces, 0, link[v, NXT], z, False)
    else:
        if link[u, PRV] == v:
            return False
        _add(link, pieces, 0, f, link[v, PRV], False)
        _add(link, pieces, 0, v, link[u, PRV], True)
        _add(link, pieces, 0, u, z, False)
    ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1, 0.0, 0.0)
    if ok:
        _commit(A, cfg, r, -1, dc, dq)
        return True
    return False


@_jit
def _to_empty(A, cfg, u):
    """Move u (and up to max_segment - 1 clients after it) to an unused vehicle of any type."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    r1 = link[u, RTE]
    f1 = route[r1, FST]
    l1 = route[r1, LST]
    for t in range(cfg[C_V]):
        slot = slots[1, t]
        if slot < 0:
            continue
        e = u
        for la in range(1, cfg[C_MAXSEG] + 1):
            if la > 1:
                e = link[e, NXT]
                if e < 0:
                    break
            _reset(pieces)
            _add(link, pieces, 0, f1, link[u, PRV], False)
            _add(link, pieces, 0, link[e, NXT], l1, False)
            _add(link, pieces, 1, u, e, False)
            ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, slot, 0.0, 0.0)
            if ok:
                _commit(A, cfg, r1, slot, dc, dq)
                return True
    return False


@_jit
def _remove(A, cfg, u):
    """Leave optional client u out."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    r1 = link[u, RTE]
    _reset(pieces)
    d = link[u, PART]
    if d >= 0:  # a shipment: both stops out (from its pickup)
        if link[u, ISP] == 0:
            return False
        _add(link, pieces, 0, route[r1, FST], link[u, PRV], False)
        _add(link, pieces, 0, link[u, NXT], link[d, PRV], False)
        _add(link, pieces, 0, link[d, NXT], route[r1, LST], False)
        ok, dc, dq = _gain_any(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, -1,
                               cl[u, 0] + cl[d, 0], 0.0)
        if ok:
            _commit(A, cfg, r1, -1, dc, dq)
        return ok
    _add(link, pieces, 0, route[r1, FST], link[u, PRV], False)
    _add(link, pieces, 0, link[u, NXT], route[r1, LST], False)
    ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, -1,
                       cl[u, 0], 0.0)
    if ok:
        _commit(A, cfg, r1, -1, dc, dq)
    return ok


@_jit
def _replace(A, cfg, u):
    """Serve unassigned optional client u in place of a routed optional client x, where x is one of u's
    related clients or the client before or after one (u takes x's position), at the best such exchange when
    the plan gets better (cost: the distance change plus x's prize minus u's). The exchange that insertion
    and removal one at a time cannot make when the routes are full (prize-collecting problems bound by
    capacity or time). Not for shipments or reload stops."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    if link[u, PART] >= 0 or cl[u, 1] > 0.0:
        return False
    best_q = 0.0
    best_c = 0.0
    best_x = -1
    for i in range(neigh.shape[1]):
        v = neigh[u, i]
        r = link[v, RTE]
        if r < 0:
            continue
        for j in range(3):
            x = v if j == 0 else link[v, PRV] if j == 1 else link[v, NXT]
            if x < 0 or cl[x, 1] > 0.0 or link[x, PART] >= 0:
                continue
            _set_replace(link, route, pieces, u, x)
            ok, dc, dq = _gain_any(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r, -1,
                                   cl[x, 0] - cl[u, 0], 0.0)
            if ok and _better(dq - best_q, dc - best_c):
                best_q, best_c, best_x = dq, dc, x
    if best_x < 0:
        return False
    r = link[best_x, RTE]
    _set_replace(link, route, pieces, u, best_x)
    _commit(A, cfg, r, -1, best_c, best_q)
    return True


@_jit_inline
def _set_replace(link, route, pieces, u, x):
    """New route: x's route with u in x's place."""
    r = link[x, RTE]
    _reset(pieces)
    _add(link, pieces, 0, route[r, FST], link[x, PRV], False)
    _add_node(pieces, 0, u)
    _add(link, pieces, 0, link[x, NXT], route[r, LST], False)


@_jit
def _set_insert(link, route, pieces, w, v, mode):
    """New route: w inserted after v (mode 0) or before v (mode 1), or alone (mode 2)."""
    _reset(pieces)
    if mode == 2:
        _add_node(pieces, 0, w)
        return
    r2 = link[v, RTE]
    if mode == 0:
        _add(link, pieces, 0, route[r2, FST], v, False)
        _add_node(pieces, 0, w)
        _add(link, pieces, 0, link[v, NXT], route[r2, LST], False)
    else:
        _add(link, pieces, 0, route[r2, FST], link[v, PRV], False)
        _add_node(pieces, 0, w)
        _add(link, pieces, 0, v, route[r2, LST], False)


@_jit
def _insert(A, cfg, w, allow_empty, strict):
    """Insert unassigned client w at its best place next to a related client, or in an unused vehicle when
    ``allow_empty``; when ``strict``, only where the route's violation does not grow."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    if link[w, RTE] >= 0:
        return True  # inserted meanwhile (a shipment's stop, with its partner)
    if link[w, PART] >= 0:
        p = w if link[w, ISP] else link[w, PART]
        return _insert_pair(A, cfg, p, allow_empty, strict)
    required = cl[w, 1] > 0.0
    gain_cost = 0.0 if required else -cl[w, 0]
    gain_viol = -cl[w, 1]
    best_q = 0.0
    best_c = 0.0
    best_v = -1
    best_mode = -1
    best_win = 0
    n = cfg[C_N]
    for win in range(cfg[C_NWIN]):  # each of w's windows (one pass without several)
        if win > 0:
            row = cfg[C_ALT] + win * n + w
            if same_window(seg, row, row - n):
                break
        if cfg[C_NWIN] > 1:
            _set_window(seg, cfg, w, win)
        for i in range(neigh.shape[1] + (cfg[C_V] if allow_empty else 0)):
            if i < neigh.shape[1]:
                v = neigh[w, i]
                slot = link[v, RTE]
                modes = 2
            else:
                v = slots[1, i - neigh.shape[1]]
                slot = v
                modes = 1
            if slot < 0:
                continue
            for mode in range(modes):
                _set_insert(link, route, pieces, w, v, mode if modes == 2 else 2)
                counters[1] += 1
                c, q = _eval(dist, dur, seg, link, route, vt, pieces, cfg, 0, slot)
                dq = q - rval[slot, VIOL] + gain_viol
                dc = c - rval[slot, COST] + gain_cost
                if cfg[C_EXACT]:  # the segments as a filter (see _gain_any), then the evaluator's rules
                    if not (_hidden(rval, slot) or _better(dq - best_q, dc - best_c)):
                        continue
                    c, q = _exact(X, link, route, pieces, cfg, 0, slot)
                    dq = q - rval[slot, XVIOL] + gain_viol
                    dc = c - rval[slot, XCOST] + gain_cost
                    if strict and q - rval[slot, XVIOL] > 1e-9:
                        continue
                elif strict and q - rval[slot, VIOL] > 1e-9:
                    continue
                if _better(dq - best_q, dc - best_c):
                    best_q, best_c, best_v, best_mode, best_win = dq, dc, v, (mode if modes == 2 else 2), win
    if best_mode < 0:
        return False
    if cfg[C_NWIN] > 1:
        _set_window(seg, cfg, w, best_win)
    _set_insert(link, route, pieces, w, best_v, best_mode)
    _commit(A, cfg, best_v if best_mode == 2 else link[best_v, RTE], -1, best_c, best_q)
    return True


@_jit_inline
def _after(link, route, slot, x):
    """The client after x in slot's route, its first client when x is -1 (the start), -1 at the end."""
    return route[slot, FST] if x < 0 else link[x, NXT]


@_jit
def _scan_pair(A, cfg, p, d, slot, x, best_q, best_c, gain_cost, gain_viol, strict):
    """Shipment p (pickup) -> d inserted in slot's route with p after client x (-1: first), d after each
    client y from x on (y = x: right after p): the best y whose move (costs relative to slot's route plus
    ``gain_cost``, ``gain_viol``) beats (``best_q``, ``best_c``), or -2; and its changes. O(route length)."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    v = route[slot, TYPE]
    buf = cfg[C_BUF]
    head = buf + 8
    m0 = buf + 9
    m1 = buf + 13
    t1 = buf + 10
    t2 = buf + 11
    full = buf + 12
    if x >= 0:
        cat(dist, dur, cfg, seg, cfg[C_START] + v, seg, cfg[C_FWD] + x, seg, head)
    else:
        for f in range(seg.shape[1]):
            seg[head, f] = seg[cfg[C_START] + v, f]
    cat(dist, dur, cfg, seg, head, seg, p, seg, m0)
    m = m0
    y = x
    best_y = -2
    exc = route[slot, EXC] != 0
    while True:
        counters[1] += 1
        cat(dist, dur, cfg, seg, m, seg, d, seg, t1)
        nxt = _after(link, route, slot, y) if route[slot, SIZE] > 0 else -1
        if nxt >= 0:
            cat(dist, dur, cfg, seg, t1, seg, cfg[C_BWD] + nxt, seg, t2)
            cat(dist, dur, cfg, seg, t2, seg, cfg[C_END] + v, seg, full)
        else:
            cat(dist, dur, cfg, seg, t1, seg, cfg[C_END] + v, seg, full)
        c, q = score(seg, full, vt, cfg, v, exc)
        dq = q - rval[slot, VIOL] + gain_viol
        dc = c - rval[slot, COST] + gain_cost
        if cfg[C_EXACT]:  # the segments as a filter (see _gain_any), then the evaluator's rules
            if _hidden(rval, slot) or _better(dq - best_q, dc - best_c):
                pieces[1, 0] = 0
                _set_pair(link, route, pieces, 1, slot, p, d, x, y)
                c, q = _exact(X, link, route, pieces, cfg, 1, slot)
                dq = q - rval[slot, XVIOL] + gain_viol
                dc = c - rval[slot, XCOST] + gain_cost
                if not (strict and q - rval[slot, XVIOL] > 1e-9) and _better(dq - best_q, dc - best_c):
                    best_q, best_c, best_y = dq, dc, y
        elif not (strict and q - rval[slot, VIOL] > 1e-9) and _better(dq - best_q, dc - best_c):
            best_q, best_c, best_y = dq, dc, y
        if nxt < 0:
            break
        other = m1 if m == m0 else m0
        cat(dist, dur, cfg, seg, m, seg, nxt, seg, other)
        m = other
        y = nxt
    return best_y, best_q, best_c


@_jit_inline
def _set_pair(link, route, pieces, k, slot, p, d, x, y):
    """New route k: slot's route with p after x and d after y (-1: at the start)."""
    if route[slot, SIZE] > 0:
        if x >= 0:
            _add(link, pieces, k, route[slot, FST], x, False)
        _add_node(pieces, k, p)
        if y != x:
            _add(link, pieces, k, _after(link, route, slot, x), y, False)
        _add_node(pieces, k, d)
        nxt = _after(link, route, slot, y)
        if nxt >= 0:
            _add(link, pieces, k, nxt, route[slot, LST], False)
    else:
        _add_node(pieces, k, p)
        _add_node(pieces, k, d)


@_jit
def _best_pair_place(A, cfg, p, d, skip, gain_cost, gain_viol, strict, allow_empty):
    """The best place of shipment p -> d (both out of the plan) in the routes of p's related clients (p
    before or after one of them) other than slot ``skip``, and in unused vehicles when ``allow_empty``:
    (slot, x, y, changes of violation and cost) of the best improving one, slot -1 when none improves."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    best_q = 0.0
    best_c = 0.0
    best_s = -1
    best_x = -1
    best_y = -1
    for i in range(neigh.shape[1] + (cfg[C_V] if allow_empty else 0)):
        if i < neigh.shape[1]:
            v = neigh[p, i]
            slot = link[v, RTE]
            sides = 2
        else:
            v = -1
            slot = slots[1, i - neigh.shape[1]]
            sides = 1
        if slot < 0 or slot == skip:
            continue
        for side in range(sides):
            x = -1 if v < 0 else (v if side == 0 else link[v, PRV])
            y, q, c = _scan_pair(A, cfg, p, d, slot, x, best_q, best_c, gain_cost, gain_viol, strict)
            if y > -2:
                best_q, best_c, best_s, best_x, best_y = q, c, slot, x, y
    return best_s, best_x, best_y, best_q, best_c


@_jit
def _insert_pair(A, cfg, p, allow_empty, strict):
    """Insert the shipment of pickup stop p (both stops out of the plan) at its best place (see
    :func:`_insert`)."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    d = link[p, PART]
    if link[d, RTE] >= 0:
        return False
    required = cl[p, 1] > 0.0
    gain_cost = 0.0 if required else -(cl[p, 0] + cl[d, 0])
    gain_viol = -(cl[p, 1] + cl[d, 1])
    slot, x, y, dq, dc = _best_pair_place(A, cfg, p, d, -1, gain_cost, gain_viol, strict, allow_empty)
    if slot < 0:
        return False
    _reset(pieces)
    _set_pair(link, route, pieces, 0, slot, p, d, x, y)
    _commit(A, cfg, slot, -1, dc, dq)
    return True


@_jit
def _pair_moves(A, cfg, p):
    """Moves of the shipment of pickup stop p (routed): relocation of the pair to its best place in another
    route (or an unused vehicle), and exchange with the shipment of a related pickup stop in another route
    (each pair takes the other's positions)."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    d = link[p, PART]
    r1 = link[p, RTE]
    f1 = route[r1, FST]
    l1 = route[r1, LST]
    _reset(pieces)
    _add(link, pieces, 0, f1, link[p, PRV], False)
    _add(link, pieces, 0, link[p, NXT], link[d, PRV], False)
    _add(link, pieces, 0, link[d, NXT], l1, False)
    counters[1] += 1
    if cfg[C_EXACT]:
        c1, q1 = _exact(X, link, route, pieces, cfg, 0, r1)
        gain_cost, gain_viol = c1 - rval[r1, XCOST], q1 - rval[r1, XVIOL]
    else:
        c1, q1 = _eval(dist, dur, seg, link, route, vt, pieces, cfg, 0, r1)
        gain_cost, gain_viol = c1 - rval[r1, COST], q1 - rval[r1, VIOL]
    slot, x, y, dq, dc = _best_pair_place(A, cfg, p, d, r1, gain_cost, gain_viol, False, True)
    if slot >= 0:
        _reset(pieces)
        _add(link, pieces, 0, f1, link[p, PRV], False)
        _add(link, pieces, 0, link[p, NXT], link[d, PRV], False)
        _add(link, pieces, 0, link[d, NXT], l1, False)
        _set_pair(link, route, pieces, 1, slot, p, d, x, y)
        _commit(A, cfg, r1, slot, dc, dq)
        return True
    for i in range(neigh.shape[1]):
        p2 = neigh[p, i]
        r2 = link[p2, RTE]
        if r2 < 0 or r2 == r1 or link[p2, PART] < 0 or link[p2, ISP] == 0:
            continue
        d2 = link[p2, PART]
        _reset(pieces)
        for k in range(2):
            a, b, a2, b2, r = (p, d, p2, d2, r1) if k == 0 else (p2, d2, p, d, r2)
            _add(link, pieces, k, route[r, FST], link[a, PRV], False)
            _add_node(pieces, k, a2)
            _add(link, pieces, k, link[a, NXT], link[b, PRV], False)
            _add_node(pieces, k, b2)
            _add(link, pieces, k, link[b, NXT], route[r, LST], False)
        ok, dc, dq = _gain_any(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r1, r2, 0.0, 0.0)
        if ok:
            _commit(A, cfg, r1, r2, dc, dq)
            return True
    return False


@_jit
def _change_types(A, cfg):
    """Move whole routes to unused vehicles of other types where that is better."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    improved = False
    if cfg[C_V] < 2:
        return False
    for r in range(cfg[C_R]):
        for t in range(cfg[C_V]):
            slot = slots[1, t]
            if slot < 0 or t == route[r, TYPE] or route[r, SIZE] == 0:
                continue
            _reset(pieces)
            _add(link, pieces, 1, route[r, FST], route[r, LST], False)
            ok, dc, dq = _gain(dist, dur, seg, link, route, rval, vt, pieces, counters, cfg, X, r,
                               slot, 0.0, 0.0)
            if ok:
                _commit(A, cfg, r, slot, dc, dq)
                improved = True
    return improved


@_jit
def _save(A, B):
    """Copy the plan of A into the backup B (or back, with the arguments swapped)."""
    for x, y in ((A[2], B[0]), (A[5], B[3])):  # segments (not the constant window rows), route values
        for i in range(y.shape[0]):
            for f in range(x.shape[1]):
                y[i, f] = x[i, f]
    for x, y in ((A[3], B[1]), (A[4], B[2]), (A[8], B[4])):  # links, routes, slots
        for i in range(x.shape[0]):
            for f in range(x.shape[1]):
                y[i, f] = x[i, f]
    B[5][0] = A[12][0]
    B[5][1] = A[12][1]


@_jit
def _restore(A, B):
    for x, y in ((B[0], A[2]), (B[3], A[5])):
        for i in range(x.shape[0]):
            for f in range(x.shape[1]):
                y[i, f] = x[i, f]
    for x, y in ((B[1], A[3]), (B[2], A[4]), (B[4], A[8])):
        for i in range(x.shape[0]):
            for f in range(x.shape[1]):
                y[i, f] = x[i, f]
    A[12][0] = B[5][0]
    A[12][1] = B[5][1]


@_jit
def _eliminate(A, B, cfg, r):
    """Empty route r by inserting each of its clients at its best feasible place in the other routes; kept
    when the plan gets better (e.g. a vehicle's fixed cost saved), undone otherwise."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    members = B[6]
    size = route[r, SIZE]
    if size == 0:
        return False
    _save(A, B)
    moves = counters[0]
    before_cost = sums[0]
    before_viol = sums[1]
    _members(link, route, r, members, -1)
    _clear(link, route, r)
    _rebuild(A, cfg, r, members, 0)
    _update_free(route, slots, route[r, TYPE])
    totals(A, cfg)
    for i in range(size):
        w = members[i]
        if not _insert(A, cfg, w, False, True) and cl[w, 1] > 0.0:
            _restore(A, B)
            counters[0] = moves
            return False
    return _keep_if_better(A, B, cfg, moves, before_cost, before_viol)


@_jit
def _keep_if_better(A, B, cfg, moves, before_cost, before_viol):
    """After a compound move: keep it (one move more than ``moves``) when the plan is better than before,
    else restore the plan saved in B."""
    counters = A[11]
    sums = A[12]
    totals(A, cfg)
    if _better(sums[1] - before_viol, sums[0] - before_cost):
        counters[0] = moves + 1
        return True
    _restore(A, B)
    counters[0] = moves
    return False


@_jit
def search(A, B, cfg, order, max_moves):
    """One pass: :func:`sweep` over the clients in ``order``, then :func:`polish`; stops after ``max_moves``
    applied moves (< 0: no limit). Returns True when some move was applied. B is the backup space of the
    compound moves."""
    start = A[11][0]
    improved = sweep(A, B, cfg, order, max_moves, start)
    return polish(A, B, cfg, improved, max_moves, start)


@_jit
def sweep(A, B, cfg, order, max_moves, start):
    """The moves of each client in ``order`` with its neighbours; stops once ``max_moves`` moves were
    applied since the counter stood at ``start``. Returns True when some move was applied."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    improved = False
    for idx in range(len(order)):
        if max_moves >= 0 and counters[0] - start >= max_moves:
            return improved
        u = order[idx]
        if link[u, RTE] < 0:
            if _insert(A, cfg, u, True, False) or (cfg[C_OPTIONAL] and not cfg[C_MT] and _replace(A, cfg, u)):
                improved = True
            continue
        if cfg[C_OPTIONAL] and cl[u, 1] == 0.0 and _remove(A, cfg, u):
            improved = True
            continue
        for i in range(neigh.shape[1]):
            if max_moves >= 0 and counters[0] - start >= max_moves:
                return improved
            v = neigh[u, i]
            if link[v, RTE] < 0 or link[u, RTE] < 0:
                continue
            moved = _intra(A, cfg, u, v) if link[u, RTE] == link[v, RTE] else _inter(A, cfg, u, v)
            if moved:
                improved = True
        if link[u, RTE] >= 0 and (max_moves < 0 or counters[0] - start < max_moves) and _to_empty(A, cfg, u):
            improved = True
        if (cfg[C_NS] and link[u, ISP] == 1 and link[u, RTE] >= 0
                and (max_moves < 0 or counters[0] - start < max_moves) and _pair_moves(A, cfg, u)):
            improved = True
        if (cfg[C_NWIN] > 1 and link[u, RTE] >= 0 and link[u, PART] < 0
                and (max_moves < 0 or counters[0] - start < max_moves)
                and not same_window(seg, cfg[C_ALT] + u, cfg[C_ALT] + cfg[C_N] + u) and _reinsert(A, B, cfg, u)):
            improved = True
    return improved


@_jit
def polish(A, B, cfg, improved, max_moves, start):
    """After a sweep (``improved``: whether it applied a move): vehicle type changes and window choices,
    then, at a local optimum, route elimination and a fresh choice of windows. Returns True when the sweep
    or these applied a move."""
    counters = A[11]
    if (max_moves < 0 or counters[0] - start < max_moves) and _change_types(A, cfg):
        improved = True
    if cfg[C_NWIN] > 1 and (max_moves < 0 or counters[0] - start < max_moves) and _windows(A, cfg):
        improved = True
    if not improved:
        for r in range(cfg[C_R]):
            if (max_moves < 0 or counters[0] - start < max_moves) and _eliminate(A, B, cfg, r):
                improved = True
    if not improved and cfg[C_NWIN] > 1 and (max_moves < 0 or counters[0] - start < max_moves):
        improved = _repick(A, B, cfg)
    return improved


@_jit
def _reinsert(A, B, cfg, u):
    """Take client u (of several windows) out of its route and insert it at its best place in any of its
    windows; kept when the plan gets better, undone otherwise."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    _save(A, B)
    moves = counters[0]
    before_cost = sums[0]
    before_viol = sums[1]
    r = link[u, RTE]
    members = B[6]
    size = _members(link, route, r, members, u)
    _clear(link, route, r)
    _rebuild(A, cfg, r, members, size)
    _update_free(route, slots, route[r, TYPE])
    totals(A, cfg)
    if _insert(A, cfg, u, True, False):
        return _keep_if_better(A, B, cfg, moves, before_cost, before_viol)
    _restore(A, B)
    counters[0] = moves
    return False


@_jit
def _repick(A, B, cfg):
    """Choose every routed client's window afresh as :func:`load_routes` does; kept when the plan gets
    better, undone otherwise."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    _save(A, B)
    before_cost = sums[0]
    before_viol = sums[1]
    for r in range(cfg[C_R]):
        size = _members(link, route, r, nodes[0], -1)
        if size > 0:
            _pick_windows(dist, dur, seg, cfg, route[r, TYPE], nodes[0], size)
            _rebuild(A, cfg, r, nodes[0], size)
    return _keep_if_better(A, B, cfg, counters[0], before_cost, before_viol)


# -- iterated local search: ruin and recreate --------------------------------------------------------------
# The plan the search goes on from (the current one) is kept as the first client of each slot and the next
# client of each client (W[0], W[1]): an iteration rebuilds only the routes it changes (route[:, CHG]), and
# undoing it rebuilds those from the kept links. W: next client (N), first client per slot (R), the clients
# of the recreate (2N), scratch clients (N), marks (N), cut slots (R), the generator's state (2), and
# (current violation, best violation, best cost, threshold, new best found).

_M1, _M2 = 2147483563, 2147483399
ILS_BATCH_SECONDS = 0.01
"""About how long one batch of iterations of :meth:`LocalSearch.iterate` runs between checks of the time."""


@_jit_inline
def _draw(rs):
    """A float in [0, 1): L'Ecuyer's combined generator (1988), whose state ``rs[:2]`` never overflows."""
    rs[0] = (40014 * rs[0]) % _M1
    rs[1] = (40692 * rs[1]) % _M2
    z = (rs[0] - rs[1]) % (_M1 - 1)
    return z / _M1


@_jit_inline
def _below(rs, k):
    """An integer in [0, k) (k >= 1)."""
    return min(int(_draw(rs) * k), k - 1)


@_jit_inline
def _shuffle(rs, x, k):
    """Shuffle ``x[:k]`` in place (Fisher-Yates)."""
    for i in range(k - 1, 0, -1):
        j = _below(rs, i + 1)
        x[i], x[j] = x[j], x[i]


@_jit
def _ruin(A, cfg, W, near, u, size, longest, strings):
    """Leave out ``size`` clients around u: u and its ``near`` clients (``strings`` False), or for u and then
    its near clients in order a string of at most ``longest`` consecutive clients containing it from each
    route not cut yet (``strings``); with shipments each stop's partner too. Writes the clients to reinsert to
    ``W[2]`` (with ``strings``, every client left out as well) and returns their number."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    out, members, mark, cut = W[2], W[3], W[4], W[5]
    rs = W[6]
    n = cfg[C_N]
    count = 0
    if strings:
        taken = 0
        for i in range(-1, near.shape[1]):
            if taken >= size:
                break
            c = u if i < 0 else near[u, i]
            r = link[c, RTE]
            if r < 0 or cut[r]:
                continue
            m = route[r, SIZE]
            length = 1 + _below(rs, min(longest, m, size - taken))
            pos = link[c, POS]
            lo = max(0, pos - length + 1)
            first = lo + _below(rs, min(pos, m - length) - lo + 1)
            x = c
            for _ in range(pos - first):
                x = link[x, PRV]
            for _ in range(length):
                mark[x] = 1
                out[count] = x
                count += 1
                x = link[x, NXT]
            cut[r] = 1
            taken += length
    else:
        for i in range(-1, min(size - 1, near.shape[1])):
            c = u if i < 0 else near[u, i]
            mark[c] = 1
            out[count] = c
            count += 1
    if cfg[C_NS]:  # a shipment goes out whole
        for i in range(count):
            p = link[out[i], PART]
            if p >= 0 and link[p, RTE] >= 0 and mark[p] == 0:
                mark[p] = 1
                out[count] = p
                count += 1
    for i in range(count):  # the routes that lose clients, rebuilt without them
        r = link[out[i], RTE]
        if r < 0:
            continue
        cut[r] = 0
        k = 0
        x = route[r, FST]
        while x >= 0:
            if mark[x] == 0:
                members[k] = x
                k += 1
            x = link[x, NXT]
        _clear(link, route, r)
        _drive(A, cfg, r, members, k)
    if strings:  # clients left out before are reconsidered too
        for c in range(n):
            if link[c, RTE] < 0 and mark[c] == 0:
                out[count] = c
                count += 1
    for i in range(count):
        mark[out[i]] = 0
    _refresh(A, cfg)
    return count


@_jit
def _settle(A, cfg, W, keep):
    """End an iteration: keep the plan as the current one (``keep``), or rebuild the routes it changed as the
    current plan has them."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    nxt, fst, members = W[0], W[1], W[3]
    if keep:
        for r in range(cfg[C_R]):
            if route[r, CHG]:
                route[r, CHG] = 0
                fst[r] = route[r, FST]
                x = route[r, FST]
                while x >= 0:
                    nxt[x] = link[x, NXT]
                    x = link[x, NXT]
        return
    for r in range(cfg[C_R]):  # every changed route emptied first: a client may have moved between them
        if route[r, CHG]:
            _clear(link, route, r)
    for r in range(cfg[C_R]):
        if route[r, CHG]:
            k = 0
            x = fst[r]
            while x >= 0:
                members[k] = x
                k += 1
                x = nxt[x]
            _drive(A, cfg, r, members, k)
            route[r, CHG] = 0
    _refresh(A, cfg)


@_jit
def ruin_recreate(A, B, cfg, W, near, iterations, lo, hi, longest, strings, max_passes):
    """Up to ``iterations`` iterations of the iterated local search (see :meth:`LocalSearch.iterate`) from
    the current plan; stops after one that finds a new best plan (``W[7][4]`` 1). Returns the iterations
    done."""
    link, sums = A[3], A[12]
    out, members, rs, st = W[2], W[3], W[6], W[7]
    n = cfg[C_N]
    st[4] = 0.0
    for it in range(iterations):
        k = 0
        for c in range(n):
            if link[c, RTE] >= 0:
                members[k] = c
                k += 1
        u = members[_below(rs, k)] if k > 0 else _below(rs, n)
        count = _ruin(A, cfg, W, near, u, lo + _below(rs, hi - lo + 1), longest, strings)
        _shuffle(rs, out, count)
        sweep(A, B, cfg, out[:count], -1, 0)  # recreate
        for _ in range(max_passes):
            _shuffle(rs, out, count)
            if not sweep(A, B, cfg, out[:count], -1, 0):
                break
        totals(A, cfg)
        viol = sums[1]
        cost = sums[0]
        best = viol < st[1] - 1e-9 or (viol <= st[1] + 1e-9 and cost < st[2] - 1e-7)
        if best:
            st[1] = viol
            st[2] = cost
        bar = st[2] + st[3] * abs(st[2])
        keep = viol < st[0] - 1e-9 or (viol <= st[0] + 1e-9 and cost < bar + 1e-7)
        if keep:
            st[0] = viol
        _settle(A, cfg, W, keep)
        if best:
            st[4] = 1.0
            return it + 1
    return iterations


# -- Python API -------------------------------------------------------------------------------------------


class LocalSearch:
    """The compiled local search on one problem; :meth:`load` a plan, :meth:`run`, read :meth:`routes`.

    ``granularity`` is the number of related clients each client is tried next to; ``max_segment`` the
    longest run of clients relocated at once; ``max_exchange`` the longest run swapped between routes.
    ``compiled`` False runs the same functions interpreted (:func:`vrpkit.solvers.build.interpreted`, for
    runs with a time limit before the code is built): much slower, and :meth:`run` then checks the time
    after each client and leaves out :func:`polish`. With True (the default) the first call compiles the
    code unless it is built (``python -m vrpkit.solvers.build``).
    """

    def __init__(self, problem: Problem, *, granularity: int = 20, max_segment: int = 3,
                 max_exchange: int = 2, compiled: bool = True) -> None:
        self.original = problem
        self.trips = expand_trips(problem) if "multi_trip" in problem.attributes and unsupported(problem) is None \
            else None
        problem = problem if self.trips is None else self.trips.problem
        self.problem = problem  # with reload stops among the clients, for a multi-trip problem
        self.compiled = compiled
        self.data = compile_problem(problem, granularity=granularity, max_segment=max_segment,
                                    max_exchange=max_exchange, pad=False, trips=self.trips)
        self._default_slots = slot_sizes(problem)
        self._near: np.ndarray | None = None  # the clients nearest each, for iterate's ruin
        self._set_arrays(*new_arrays(self.data, *self._default_slots))

    def _set_arrays(self, arrays: Arrays, cfg: tuple[int, ...]) -> None:
        self.arrays = arrays
        self.cfg = cfg
        self._packed = tuple(arrays)  # compiled code takes a plain tuple (no class in its cache index)
        self._backup = (arrays.seg[:cfg[C_ALT]].copy(), arrays.link.copy(), arrays.route.copy(),
                        arrays.rval.copy(), arrays.slots.copy(), arrays.sums.copy(),
                        np.zeros(max(1, cfg[C_N]), np.int64))

    def internal(self, routes: Sequence[Route]) -> list[Route]:
        """``routes`` of the original problem as the search holds them: each reload (``Route.reloads``) a reload
        stop of its depot among the clients (one not in use); a reload at a depot without stops is left out.
        Routes already in that form pass unchanged."""
        if self.trips is None or not any(r.reloads for r in routes):
            return list(routes)
        t = self.trips
        used = {c for r in routes for c in r.clients if c >= t.n}
        free: dict[int, list[int]] = {}
        for i, d in enumerate(t.depot.tolist()):
            if t.n + i not in used:
                free.setdefault(d, []).append(t.n + i)
        out = []
        for r in routes:
            at = {}
            for pos, d in r.reloads:
                if free.get(d):
                    at[pos] = free[d].pop(0)
            clients: list[int] = []
            for i, c in enumerate(r.clients):
                if i in at:
                    clients.append(at[i])
                clients.append(c)
            out.append(Route(r.vehicle_type, tuple(clients)))
        return out

    def public(self, routes: Sequence[Route]) -> list[Route]:
        """Routes as the search holds them, as routes of the original problem: reload stops become
        ``Route.reloads`` (none before the first client or after the last, one per position)."""
        if self.trips is None:
            return list(routes)
        t = self.trips
        out = []
        for r in routes:
            clients: list[int] = []
            reloads: dict[int, int] = {}
            for c in r.clients:
                if c >= t.n:
                    if clients:
                        reloads[len(clients)] = int(t.depot[c - t.n])
                else:
                    clients.append(c)
            if clients:
                out.append(Route(r.vehicle_type, tuple(clients),
                                 tuple((pos, d) for pos, d in reloads.items() if pos < len(clients))))
        return out

    def load(self, routes: Sequence[Route]) -> None:
        """Make ``routes`` the current plan (clients may be missing; none may appear twice)."""
        routes = self.internal(routes)
        p = self.problem
        n_types = len(p.vehicle_types)
        seen = np.zeros(p.n_clients, dtype=bool)
        used = [0] * n_types
        kept = []
        for i, route in enumerate(routes):
            if not 0 <= route.vehicle_type < n_types:
                raise ValidationError(f"routes[{i}].vehicle_type", f"no vehicle type {route.vehicle_type}")
            clients = np.asarray(route.clients, dtype=np.int64)
            if not len(clients):
                continue
            if clients.min() < 0 or clients.max() >= p.n_clients:
                raise ValidationError(f"routes[{i}].clients", "client index out of range")
            if seen[clients].any() or len(np.unique(clients)) != len(clients):
                raise ValidationError(f"routes[{i}].clients", "a client is visited twice")
            seen[clients] = True
            used[route.vehicle_type] += 1
            kept.append((route.vehicle_type, clients))
        seq = np.concatenate([c for _, c in kept]) if kept else np.zeros(0, np.int64)
        offsets = np.zeros(len(kept) + 1, np.int64)
        offsets[1:] = np.cumsum([len(c) for _, c in kept])
        types = np.array([t for t, _ in kept], dtype=np.int64)
        self.load_flat(seq, offsets, types, used)

    def load_flat(self, seq: np.ndarray, offsets: np.ndarray, types: np.ndarray,
                  used: Sequence[int] | None = None) -> None:
        """Load routes given as flat arrays (``seq[offsets[i]:offsets[i+1]]`` driven by type ``types[i]``),
        trusted to be valid. With shipments, a shipment whose stops are not both on one route, pickup first,
        is left out (both stops): the search keeps every shipment whole and inserts it again."""
        if self.cfg[C_NS] and len(seq):
            seq, offsets, types = self._whole_shipments(seq, offsets, types)
        if used is None:
            used = np.bincount(types, minlength=len(self.problem.vehicle_types)).tolist()
        sizes = slot_sizes(self.problem, used)
        if sizes == self._default_slots:
            self._kernel(reset)(self._packed, self.cfg)
        else:
            self._set_arrays(*new_arrays(self.data, *sizes))
        self._kernel(load_routes)(self._packed, self.cfg, seq.astype(np.int64), offsets.astype(np.int64),
                                  types.astype(np.int64))

    def _whole_shipments(self, seq: np.ndarray, offsets: np.ndarray, types: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The flat plan without the stops of shipments it splits or serves delivery first."""
        partner = self.data.partner
        n = self.problem.n_clients
        where = np.full(n, -1, np.int64)
        where[seq] = np.arange(len(seq))
        route_of = np.repeat(np.arange(len(types)), np.diff(offsets))
        q = partner[seq]
        stop = q >= 0
        qpos = np.where(stop, where[np.maximum(q, 0)], -1)
        pickup = self.data.pickup_stop[seq] == 1
        good = ~stop | ((qpos >= 0) & (route_of[np.maximum(qpos, 0)] == route_of)
                        & np.where(pickup, qpos > np.arange(len(seq)), qpos < np.arange(len(seq))))
        if good.all():
            return seq, offsets, types
        counts = np.add.reduceat(good.astype(np.int64), offsets[:-1]) if len(types) else np.zeros(0, np.int64)
        held = counts > 0
        return seq[good], np.concatenate(([0], np.cumsum(counts[held]))), types[held]

    def _kernel(self, fn: Any) -> Any:
        return fn if self.compiled else interpreted(fn)

    def export_flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current plan as ``(seq, offsets, types)``."""
        n = self.problem.n_clients
        seq = np.zeros(max(n, 1), np.int64)
        offsets = np.zeros(self.cfg[C_R] + 1, np.int64)
        types = np.zeros(self.cfg[C_R], np.int64)
        count = self._kernel(export_routes)(self._packed, self.cfg, seq, offsets, types)
        return seq[:offsets[count]], offsets[:count + 1], types[:count]

    def routes(self) -> list[Route]:
        """The current plan (with reloads as ``Route.reloads``; with breaks, a route whose breaks the search
        placed better than the short form lists them, as the exact check scored it)."""
        seq, offsets, types = self.export_flat()
        routes = self.public([Route(int(types[i]), tuple(seq[offsets[i]:offsets[i + 1]].tolist()))
                              for i in range(len(types))])
        if self.cfg[C_EXACT] == 2:
            from vrpkit.solvers.breaks import place_breaks

            routes = list(place_breaks(self.original, Solution(tuple(routes)), compiled=self.compiled).routes)
        return routes

    @property
    def cost(self) -> float:
        """Cost of the current plan as the search counts it (the evaluator's, up to rounding)."""
        return float(self.arrays.sums[0])

    @property
    def violation(self) -> float:
        """Total violation of the current plan; 0 when feasible."""
        return float(self.arrays.sums[1])

    @property
    def moves(self) -> int:
        """Moves applied so far."""
        return int(self.arrays.counters[0])

    @property
    def evaluations(self) -> int:
        """Moves evaluated so far."""
        return int(self.arrays.counters[1])

    def _sweep_interpreted(self, order: np.ndarray, max_moves: int, deadline: float) -> bool | None:
        """:func:`sweep` interpreted, one client at a time; None when the deadline came first."""
        fn, recount = interpreted(sweep), interpreted(totals)
        start = self.moves
        improved = False
        for i in range(len(order)):
            if time.perf_counter() >= deadline:
                recount(self._packed, self.cfg)
                return None
            improved |= fn(self._packed, self._backup, self.cfg, order[i:i + 1], max_moves, start)
        recount(self._packed, self.cfg)
        return improved

    def run(self, *, time_limit: float = math.inf, max_passes: int | None = None, max_moves: int = -1,
            seed: int | np.random.Generator = 0) -> bool:
        """Search until no move improves the current plan, ``time_limit`` seconds pass, ``max_passes``
        passes or ``max_moves`` moves are done. Returns True when the plan is a local optimum (of the sweep's
        moves only, when interpreted).

        Compiled, the time is checked after each pass; interpreted, after each client."""
        deadline = time.perf_counter() + time_limit
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        n = self.problem.n_clients
        passes = 0
        start_moves = self.moves
        while True:
            if max_passes is not None and passes >= max_passes:
                return False
            left = -1 if max_moves < 0 else max_moves - (self.moves - start_moves)
            if left == 0:
                return False
            order = rng.permutation(n).astype(np.int64)
            if self.compiled:
                improved = search(self._packed, self._backup, self.cfg, order, left)
                totals(self._packed, self.cfg)  # recount, so that rounding does not build up
            else:
                improved = self._sweep_interpreted(order, left, deadline)
                if improved is None:
                    return False
            passes += 1
            if not improved:
                return True
            if time.perf_counter() >= deadline:
                return False

    def iterate(self, *, time_limit: float = math.inf, iterations: int | None = None,
                seed: int | np.random.Generator = 0, ruin_size: tuple[int, int] = (10, 40),
                threshold: float = 0.005, max_passes: int = 1, ruin: str = "radial",
                on_best: Callable[[float], None] | None = None) -> int:
        """Iterated local search from the current plan (best from a local optimum, see :meth:`run`): ruin and
        recreate, then the local search, until ``time_limit`` seconds pass or ``iterations`` are done; leaves
        the best plan found loaded (never worse than the current one) and returns the number of iterations.

        Each iteration leaves out a client drawn at random among the routed ones and its nearest clients
        (:func:`neighbours`), ``ruin_size`` clients in all (clients left out before count too, so that they are
        reconsidered); with ``ruin="strings"`` (after SISR, Christiaens and Vanden Berghe 2020), a string of
        consecutive clients of each route met among those nearest clients instead, of random length (at
        most ``ruin_size[1] // 4``, at most the route), ``ruin_size`` clients in all. Then it inserts them again
        one by one in random order at their best place (the local search's
        insertion: a required client wherever it fits best, an optional one where its prize exceeds the cost
        of inserting it); then runs the moves of :func:`sweep` of those clients with their related ones, in
        random order, until none improves or ``max_passes`` passes are done (the clients not touched are at a
        local optimum already: a pass over them all costs 10-40 times as much on 1000 clients, and on
        PCVRPTW R2_10_4 the search then ends higher within the same time). The plan is accepted as the next
        current one when it has no more violation than the current one and costs less than the best plan plus
        a threshold that falls linearly from ``threshold`` times the best cost to 0 as the time (or the
        iterations) runs out (record-to-record travel, Dueck 1993); otherwise its changed routes are rebuilt
        as the current plan has them. ``on_best`` is called with the cost of each new best plan without
        violation.

        The iterations run compiled (:func:`ruin_recreate`, interpreted when the search is) in batches sized
        to take about :data:`ILS_BATCH_SECONDS` each; the time and the threshold are checked between batches.
        Random draws come from a generator inside the compiled code, seeded from ``seed``; without a time
        limit the batches are of one iteration, so that the plans depend on the seed alone."""
        start = time.perf_counter()
        deadline = start + time_limit
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        n = self.problem.n_clients
        lo, hi = max(1, ruin_size[0]), max(1, ruin_size[0], ruin_size[1])
        if ruin not in ("radial", "strings"):
            raise ValidationError("ruin", f'expected "radial" or "strings", got {ruin!r}')
        if n < 2 or time_limit <= 0 or iterations == 0:
            return 0
        if self._near is None or self._near.shape[1] < min(hi - 1, n - 1):
            self._near = neighbours(self.problem, hi - 1) if self.trips is None else trip_neighbours(self.trips,
                                                                                                   hi - 1)
        work = self._work(rng)
        state = work[7]
        kernel = self._kernel(ruin_recreate)
        best = self._snapshot()
        done, batch = 0, 1
        while (iterations is None or done < iterations) and time.perf_counter() < deadline:
            left = min(1.0 if iterations is None else 1.0 - done / iterations,
                       1.0 if math.isinf(time_limit) else max(0.0, deadline - time.perf_counter()) / time_limit)
            state[3] = threshold * left
            k = batch if iterations is None else min(batch, iterations - done)
            t0 = time.perf_counter()
            m = kernel(self._packed, self._backup, self.cfg, work, self._near, k, lo, hi, max(1, hi // 4),
                       ruin == "strings", max_passes)
            done += m
            if state[4]:  # a new best plan
                best = self._snapshot()
                if on_best is not None and state[1] <= 0.0:
                    on_best(float(state[2]))
            spent = time.perf_counter() - t0
            if m == k and math.isfinite(time_limit):  # a whole batch: size the next one to its time (one at a
                # time without a limit, so that the threshold and the plans do not depend on the timing)
                batch = max(1, min(4 * batch, int(batch * ILS_BATCH_SECONDS / max(spent, 1e-6))))
        self._restore(best)
        return done

    def _work(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The working arrays ``W`` of :func:`ruin_recreate` for the current plan (its generator seeded from
        ``rng``), with no route marked changed."""
        a, n = self.arrays, max(1, self.cfg[C_N])
        a.route[:, CHG] = 0
        state = np.array([self.violation, self.violation, self.cost, 0.0, 0.0])
        seeds = np.array([rng.integers(1, _M1), rng.integers(1, _M2)], np.int64)
        return (a.link[:, NXT].copy(), a.route[:, FST].copy(), np.zeros(2 * n, np.int64), np.zeros(n, np.int64),
                np.zeros(n, np.int64), np.zeros(self.cfg[C_R], np.int64), seeds, state)

    def _snapshot(self) -> tuple[Any, ...]:
        """The current plan's state, window choices included (:meth:`load_flat` would choose them afresh)."""
        a = self.arrays
        return (a, self.cfg, a.seg[:self.cfg[C_ALT]].copy(), a.link.copy(), a.route.copy(), a.rval.copy(),
                a.slots.copy(), a.sums.copy())

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        """Make the plan of a :meth:`_snapshot` current again."""
        arrays, cfg, seg, link, route, rval, slots, sums = snapshot
        if arrays is not self.arrays:
            self._set_arrays(arrays, cfg)
        arrays.seg[:cfg[C_ALT]] = seg
        for target, saved in ((arrays.link, link), (arrays.route, route), (arrays.rval, rval),
                              (arrays.slots, slots), (arrays.sums, sums)):
            target[...] = saved


@_jit
def reset(A, cfg):
    """Empty every slot."""
    dist, dur, seg, link, route, rval, vt, cl, slots, pieces, nodes, counters, sums, neigh, X = A  # noqa: RUF059
    for c in range(cfg[C_N]):
        link[c, RTE] = -1
    for r in range(cfg[C_R]):
        route[r, FST] = -1
        route[r, LST] = -1
        route[r, SIZE] = 0
        for f in range(4):
            rval[r, f] = 0.0
    for t in range(cfg[C_V]):
        slots[1, t] = slots[0, t]


def improve(problem: Problem, solution: Solution | Sequence[Route], *, time_limit: float = math.inf,
            seed: int = 0, granularity: int = 20, max_passes: int | None = None, perturb: bool = False,
            ils: dict[str, Any] | None = None) -> Solution:
    """A plan at least as good as ``solution`` (fewer violations, or as many and a lower cost), found by the
    local search within ``time_limit`` seconds. Clients the plan leaves out are inserted where feasible. With
    ``perturb`` (and a finite limit), the time left once the local search stops goes to the iterated local
    search (:meth:`LocalSearch.iterate`, with the keywords ``ils``; ``stats["perturbations"]``: its iterations).

    The time limit counts everything from the call. With a finite limit and the compiled code not built, the
    search runs interpreted (``stats["compiled"]`` False) while the code builds in the background (see
    :mod:`vrpkit.solvers.build`); with no limit it is compiled first."""
    start = time.perf_counter()
    routes = list(solution.routes) if isinstance(solution, Solution) else list(solution)
    compiled = math.isinf(time_limit) or compiled_or_interpreted()
    ls = LocalSearch(problem, granularity=granularity, compiled=compiled)
    ls.load(routes)
    rng = np.random.default_rng(seed)
    ls.run(time_limit=time_limit - (time.perf_counter() - start), max_passes=max_passes, seed=rng)
    stats: dict[str, Any] = {}
    if perturb and compiled and math.isfinite(time_limit):
        stats["perturbations"] = ls.iterate(time_limit=time_limit - (time.perf_counter() - start), seed=rng,
                                            **(ils or {}))
    stats.update({"local_search_moves": ls.moves, "local_search_time": round(time.perf_counter() - start, 4),
                  "compiled": compiled})
    return Solution(tuple(ls.routes()), stats)
