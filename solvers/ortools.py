"""Google OR-Tools routing backend: every attribute of the vrpkit model at once (strict backhaul not with
shipments or reloads).

How the model maps onto OR-Tools' routing library:

- Nodes: the depots that some vehicle starts or ends at, the clients, and one *sink* node when some routes
  are open; an open route ends at the sink, reached from any client at zero cost, distance and travel time
  (the service time at the last client still counts), so the route ends at its last client.
- Vehicles: every vehicle type gives ``count`` vehicles with their own start and end nodes (multi-depot),
  fixed cost, and arc cost ``cost_per_distance * distance``. Types with unlimited count get a bound, see
  :func:`default_vehicle_bound`.
- Capacity: one dimension per capacity dimension. With deliveries only (or pickups only) the load counts
  up from zero. With strict backhaul, deliveries and pickups are two dimensions (deliveries come first, so the
  peak load is the larger total) and a count of the pickups made so far must be zero at every delivery
  client; arcs from a pickup client to a delivery client are removed as well. With mixed backhaul the load
  dimension has transit ``pickup - delivery`` with a free start in ``[0, capacity]``, its cumul stays within
  ``[0, capacity]`` everywhere, and a deliveries-so-far dimension with ``load(start) == deliveries(end)``
  makes the vehicle leave with all of the route's deliveries on board.
- Time: a dimension whose transit is service time plus travel time, waiting as slack; client windows
  bound the cumul (the gaps between several windows are removed from its domain); shifts and depot opening
  hours bound the start and end cumuls; ``max_duration`` bounds the span and ``cost_per_duration`` is a
  span cost.
- ``max_distance``: a distance dimension bounded per vehicle.
- Optional clients: a disjunction with penalty equal to the prize, in the cost unit of the arcs. OR-Tools'
  first-solution strategies insert every client they can, whatever its prize, and OR-Tools keeps the plan that
  leaves every optional client out when that is cheaper (PCVRPTW C1_10_4: 44,854 against 26,304, and the
  search did not get below 26,304 in 10 or 30 s); so the search starts from the first plan without the
  clients that cost more than their prize (:func:`drop_unprofitable`: 24,947.5, then 24,792.2 at 10 s). With
  long routes that plan keeps few clients and OR-Tools' search, which adds them one move at a time and is slow
  to evaluate moves on routes of 50 clients, does not get them back (R2_10_4: 21,512.9, then 19,663.6 at 10 s,
  26 % above the best known). So the first plans of parallel and of sequential cheapest insertion, each as
  built and without its unprofitable clients, are polished by the compiled local search
  (:mod:`vrpkit.solvers.localsearch`: granular neighbourhoods, optional clients in and out) and the search
  starts from the cheapest (:meth:`ORToolsSolver._prize_start`; R2_10_4: 17,467.4 after 2.5 s, then 17,384.3
  at 10 s; C1_10_4: 24,763.0, then 24,702.8). That start is a local optimum of both searches on R2_10_4 (17
  routes, 752 clients served; the best known has 16 and 822), so the compiled iterated local search (ruin and
  recreate, :meth:`vrpkit.solvers.localsearch.LocalSearch.iterate`) goes on from it until
  :data:`_PERTURB_SHARE` of the time limit (0.95 by default, after only the best-ranked strategy's plans were
  polished, ruin and recreate only: :data:`_PRIZE_ILS`; ``examples/bench_prize.py`` at 10 s, one core, seeds
  0-7: R2_10_4 3.0-5.2 % above the best known, mean 4.3 %, against 11.4 % without it; C1_10_4, R1_10_4,
  RC1_10_4 1.2-1.7 %, means 1.3, 1.5, 1.3 %; on the tight-window instances it finds little and the result is
  OR-Tools' search's, within 0.1 %).
- Clients no vehicle type could serve on a trip of its own (:func:`vrpkit.diagnose.client_vehicle_feasibility`)
  are forbidden to those types (a type that lacks one of a client's skills among them), which prunes the search
  for heterogeneous fleets.

A real fleet's day:

- Shipments: each request is a pickup-and-delivery pair (``AddPickupAndDelivery``) on one vehicle
  (``VehicleVar`` equality), pickup first (a dimension ``stops`` counts the stops), its ``max_ride_time`` a
  constraint on the time cumuls (delivery start minus pickup start at most the ride plus the pickup's service;
  on OR-Tools' schedule, which may wait before a pickup where the evaluator, which starts every service as
  early as it can, waits after it: the evaluator's check is the one that counts). An optional request is one
  disjunction over both stops, the prizes of both paid once, with both stops active or neither. With shipments
  the vehicle bound is one route per request or plain client (:func:`default_vehicle_bound`).
- Reloads: :func:`reload_copies` optional copies of each reload depot per vehicle type (OR-Tools' reload
  sample): no penalty, only that type's vehicles, never first, last or next to another copy, its time window
  the depot's, its service time the depot's ``service_time``; ``max_reloads`` bounds the copies a route visits
  (a dimension). A copy in a route is a ``Route.reloads`` entry. OR-Tools' first-solution strategies never
  insert a copy (leaving one out costs nothing), so when the clients do not fit one trip per vehicle every
  first plan breaks the capacity (PyVRP/Instances MTVRPTWR C201R0.25, 100 clients, 8 vehicles for 19 loads:
  no plan in 10 s). Without shipments the search starts instead from :func:`trip_plan` (the vehicles
  dispatched in time order, each serving trip after trip the client with the lowest service start plus a
  weighted distance, reloading when none fits; the cheapest feasible of :data:`_TRIP_STARTS`; stats
  ``first_solution``: ``trip_plan``), polished by the compiled iterated local search for
  :data:`_TRIP_ILS_SHARE` of the time where it handles the problem, read into a model with as many copies as
  it needs; guided local search's lambda is :data:`_MULTI_TRIP_LAMBDA`. MTVRPTWR at 10 s
  (``examples/pyvrp_files.py``, 8 files of 100 and 200 clients): a plan on each, 3.8-11.8 % above the best
  known (mean 5.8 %; 8.3 % without the local search; PyVRP 0.2-8.8 %, mean 3.1 %).
- Loads with shipments or reloads: per capacity dimension the load on board (transit ``pickup - delivery +
  shipment load``, free at the start of each trip: at a copy its slack resets it), the pickups of the trip so
  far (reset at copies) and the shipments on board; at each trip's end (a copy, the route's end) the load is at
  least the pickups plus the shipments, so it is at least the load really on board all along the trip. Exact
  (a plan's loads can always be matched), shipments staying on board over a reload included.
- Release times: a dimension ``release`` that never grows along a trip, at least each client's release time,
  free again after a copy; each client's service starts no earlier than it plus the drive from the farthest
  depot a trip may start from. Exact with one such depot and durations that keep the triangle inequality;
  sound otherwise.
- Breaks: break intervals on the time dimension (``SetBreakIntervalsOfVehicle``, the service of each node as
  its visit, a break of a used vehicle only, inside its route, pairwise disjoint). OR-Tools may place a break
  during a drive or while the vehicle waits at the next stop, where a plan cannot put it (a plan takes a break
  after a service, before driving on): :meth:`_Model._place_breaks` maps each break to the stop whose service
  it follows, and :func:`place_breaks` gives each route the evaluator finds infeasible the feasible cheapest
  placement among the short form and every combination of positions (stats ``breaks_moved``). A constraint
  that forbade those placements in the model (an element of the break starts per node) left OR-Tools without
  a first plan on 100 clients in 10 s. Placements that no position repairs: a break on the drive after a
  reload (or while waiting for the next client after it), since a plan takes its breaks before the drive to
  the reload depot; and a break in a wait at the next client whose window opens after the break's, taken
  there by OR-Tools, where a plan takes it before the drive (the drive then comes after the break, later:
  VROOM-style instance ``bench_vroom.py`` 0 at 5 s, 199 s late). So the solution callback keeps the plans of
  the search (breaks as OR-Tools placed them), and when the final plan stays infeasible the backend returns
  the cheapest of the last :data:`_BREAK_FALLBACKS` that :func:`place_breaks` makes feasible (stats
  ``breaks_fallback``: its objective). ``examples/bench_ortools_breaks.py`` (192 runs of 5-10 clients at 1 s):
  3 plans came back late before, 2 with the fallback (one instance at two break windows: no plan of the search
  was feasible; feasible at 3 s). Forbidding the first case in the model (the copies' slack below the
  shortest break) brought none late but left 16 runs without a plan.
- Strict backhaul together with shipments or reloads is refused (:meth:`ORToolsSolver.supports`).

Integers: OR-Tools works on integers, so times and distances are multiplied by ``time_scale`` and costs by
``cost_scale`` (:func:`scales`, the one place where scaling happens). Both are 1 when the data are integers.
Times and constraint distances are rounded up and limits down, so a plan OR-Tools finds feasible is
feasible for the evaluator too; arc costs are rounded to nearest, so the evaluator's cost differs from
OR-Tools' objective by at most half a cost unit per arc (plus, with duration costs, the rounding of times).
Limits no plan can reach (a window end, shift end, depot closing time or ``max_duration`` at or beyond
:attr:`~vrpkit.model.Problem.horizon`, a ``max_distance`` beyond the longest possible route) are clamped, so
they are no bound; a problem whose modelled totals (times, distances, loads, the cost bound) exceed 1e15
even unscaled is refused with a :class:`SolverError` before the model is built.

Determinism: OR-Tools' search is deterministic, but it stops at a wall-clock limit, so with a time limit two
runs agree only as far as timing allows; with ``solution_limit`` (and a time limit that is not reached) runs
are reproducible. ``seed`` permutes the order in which clients are given to OR-Tools (seed 0 keeps the
problem's order), which changes tie-breaking in the first solution and the local search: different seeds
explore differently, the same seed gives the same model.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from vrpkit.diagnose import client_vehicle_feasibility, diagnose
from vrpkit.errors import NoSolutionError, SolverError
from vrpkit.evaluate import evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

if TYPE_CHECKING:
    from vrpkit.solvers.base import Progress

_FIRST = {k.lower(): v for k, v in routing_enums_pb2.FirstSolutionStrategy.Value.items()
          if k not in ("UNSET", "EVALUATOR_STRATEGY")}
_META = {k.lower(): v for k, v in routing_enums_pb2.LocalSearchMetaheuristic.Value.items() if k != "UNSET"}
_INSERTION_LNS = (
    "use_global_cheapest_insertion_path_lns", "use_local_cheapest_insertion_path_lns",
    "use_global_cheapest_insertion_visit_types_lns", "use_local_cheapest_insertion_visit_types_lns",
    "use_relocate_expensive_chain", "use_shortest_path_two_opt",
)
"""Operators that ``operators="tuned"`` turns off when only capacities constrain the routes: on CVRPLIB X they
cost more search time than they give."""
_OPTIONAL_OPS = (
    "use_relocate_path_global_cheapest_insertion_insert_unperformed", "use_make_chain_inactive",
    "use_swap_active_chain", "use_shortest_path_swap_active",
)
"""Operators that only move optional clients in or out: turned off when every client is required."""
_PATH_LNS = ("use_global_cheapest_insertion_path_lns", "use_local_cheapest_insertion_path_lns")
"""Operators that ``operators="tuned"`` turns off with optional clients: each move re-inserts every client left
out, which runs past the time limit (PCVRPTW C1_10_4, 1000 clients, 850 left out: 4.1 s for a 3 s limit with
either of them, 2.8 s without both, the same plan)."""
_FALLBACKS = ("parallel_cheapest_insertion", "savings", "local_cheapest_insertion", "path_cheapest_arc")
"""First-solution strategies tried in turn when the default one fails outright."""
_PRIZE_STARTS = ("sequential_cheapest_insertion",)
"""First-solution strategies that build a start plan with optional clients after the default one (see
:meth:`ORToolsSolver._prize_start`). Sequential cheapest insertion leaves clients out as it builds (PCVRPTW
R2_10_1: 323 of 1000 served), parallel cheapest insertion serves every client it can; either gives the cheaper
start on some instances (R2: sequential, C1, RC1: parallel)."""
_START_SHARE = 0.5
"""The share of the time limit that the start plans may take (building and polishing): another strategy is
tried only while they have taken less. At 10 s the starts of the PCVRPTW instances (1000 clients) take 2-4 s."""
_PERTURB_SHARE = {"ils": 0.95, "classic": 0.8}
"""The share of the time limit by which the iterated local search from the best start plan ends, per
``prize_search`` (see :meth:`ORToolsSolver._prize_start`; from about 3.5 s at 10 s on 1000 clients); OR-Tools'
search has the rest (on PCVRPTW R2_10_4 at 10 s it gains 0.2 % in its 2 s, the iterated local search more).
``examples/bench_prize.py`` at 10 s, seeds 0-2, % above the best known, before :data:`_PRIZE_ILS`: R2_10_4
``ils`` 4.3-7.3, ``classic`` 6.9-8.9 (mean 7.7); C1, R1, RC1 ``ils`` 1.3-1.8."""
_PRIZE_ILS: dict[str, dict[str, int]] = {"ils": {"max_passes": 0}, "classic": {}}
"""Options of the iterated local search from the best prize start, per ``prize_search``
(:meth:`vrpkit.solvers.localsearch.LocalSearch.iterate`): with ``ils`` each iteration only ruins and recreates
(no local search pass over the clients it moved), about eighteen times as many iterations in the same time
(R2_10_4, 3 s from the polished start: about 29,000 against 1,600; about 48,000 in the 5.3 s the search gets at
10 s). When this was chosen, with the iterations still reloading the plan in Python, ``examples/bench_prize.py``
at 10 s, % above the best known: R2_10_4 seeds 0-5 4.5-6.9 (mean 5.2), against 6.8-7.3 (mean 7.1) with one
pass in the same session; C1_10_4 1.4, R1_10_4 1.7, RC1_10_4 1.4 (seeds 0-2), as with one pass."""
_MULTI_TRIP_LAMBDA = 0.5
"""Guided local search's lambda with reloads. MTVRPTWR at 10 s from the :func:`trip_plan` start, gap to the best
known (``examples/tune_ortools.py files``, seed 0): C201R0.75, R201R0.5, RC205R0.75, C2_2_05R0.5, R2_2_01R0.25,
C201R0.25 mean 10.5 % at 0.1, 7.7 % at 0.5; on the first three 10.9 % at 0.1, 7.7 % at 0.3, 5.3 % at 0.5 and
5.6 % at 1.0 (the 200-client files alike at 0.1 and 0.5)."""
_MAX_INT = 10**15
"""Largest magnitude a scaled total may reach: int64 is 9.2e18, leaving room for OR-Tools' own sums."""
_STATUS = {v: k.removeprefix("ROUTING_").lower() for k, v in routing_enums_pb2.RoutingSearchStatus.Value.items()}


@dataclass(frozen=True)
class Scales:
    """Integer factors: OR-Tools time (and constraint distance) unit = ``1 / time``, cost unit = ``1 / cost``."""

    time: int
    cost: int


_HOLES_SPAN = 2**32 - 2
"""Widest span (scaled time units) of a client's windows that OR-Tools can hold as a domain with holes."""


def _integral(values: np.ndarray) -> bool:
    values = values[np.isfinite(values)]
    return bool(np.all(np.abs(values - np.rint(values)) < 1e-9))


def _time_values(problem: Problem) -> np.ndarray:
    """Every time value that is scaled; bounds beyond :func:`_horizon` are clamped to it, so count as inf."""
    vts = problem.vehicle_types
    breaks = [x for vt in vts for b in vt.breaks for w in b.time_windows for x in (*w, b.duration)]
    values = np.concatenate([
        problem.duration.ravel(), problem.service_time, problem.time_windows.ravel(),
        problem.depot_windows.ravel(), np.array([x for vt in vts for x in (*vt.shift, vt.max_duration)]),
        problem.release_time, problem.depot_service_time, problem.max_ride_time, np.array(breaks, dtype=float),
    ])
    return np.where(values < _horizon(problem), values, np.inf)


def _needs_time(problem: Problem) -> bool:
    """Whether the model has a time dimension: windows, shifts, depot hours, duration limits or costs, breaks,
    release times, ride times."""
    return bool(problem.attributes & {"time_windows", "duration_limit", "breaks", "release_times"}) or any(
        vt.cost_per_duration > 0 for vt in problem.vehicle_types) or bool(np.isfinite(problem.max_ride_time).any())


def _horizon(problem: Problem) -> float:
    """The time dimension's capacity, in problem units: :attr:`Problem.horizon` (no sensible schedule goes
    beyond it; later window ends and shift ends are clamped to it) plus one."""
    return problem.horizon + 1.0


def _cost_bound(problem: Problem, n_vehicles: int) -> float:
    """An upper bound on the cost of any plan, in problem units."""
    vts = problem.vehicle_types
    longest = problem.longest_route
    per_vehicle = max(vt.fixed_cost + vt.cost_per_distance * longest + vt.cost_per_duration * _horizon(problem)
                      for vt in vts)
    return n_vehicles * per_vehicle + float(problem.prize.sum()) + 1.0


def scales(problem: Problem, n_vehicles: int) -> Scales:
    """The scaling factors: 1 when the values are integers, else the largest power of ten up to 1000 (time)
    or 10**6 (cost) that keeps every scaled total below 1e15; for costs, the smallest power of ten that makes
    every cost integral is used when there is one. Raises :class:`SolverError` when the totals (times,
    distances, loads, costs) exceed 1e15 even unscaled: OR-Tools' 64-bit integers would overflow."""
    horizon = _horizon(problem) + problem.longest_route
    loads = float(problem.delivery.sum(dtype=float) + problem.pickup.sum(dtype=float)
                  + np.abs(problem.shipment_load).sum(dtype=float))
    if "multi_trip" in problem.attributes:  # a reload's slack spans twice the largest finite capacity
        caps = problem.capacity[np.isfinite(problem.capacity)]
        loads += 4.0 * float(caps.max(initial=0.0))
    bound = _cost_bound(problem, n_vehicles)
    modelled = (("times", _horizon(problem) if _needs_time(problem) else 0.0),
                ("distances", problem.longest_route if "distance_limit" in problem.attributes else 0.0),
                ("loads", loads), ("costs", bound))
    for what, total in modelled:
        if total > _MAX_INT:
            raise SolverError(f'solver "ortools" does not support this problem: its {what} can reach {total:.6g}, '
                              f"beyond the {_MAX_INT:.0e} that OR-Tools' integers hold; try the aco solver")
    time_scale = 1
    if not _integral(_time_values(problem)) or not _integral(problem.distance.ravel()):
        time_scale = 1000
        while time_scale > 1 and horizon * time_scale > _MAX_INT:
            time_scale //= 10
    vts = problem.vehicle_types
    limit = 10**6
    while limit > 1 and bound * limit > _MAX_INT:
        limit //= 10
    cost_scale = limit
    c = 1
    while c <= limit:
        exact = all(_integral(c * vt.cost_per_distance * problem.distance.ravel())
                    and _integral(np.array([c * vt.fixed_cost, c * vt.cost_per_duration / time_scale]))
                    for vt in vts) and _integral(c * problem.prize)
        if exact:
            cost_scale = c
            break
        c *= 10
    return Scales(time_scale, cost_scale)


def _first_fit_bins(items: np.ndarray, capacity: np.ndarray) -> int:
    """Vector first-fit decreasing: the number of bins of ``capacity`` that hold every row of ``items``."""
    order = np.argsort(-(items / np.where(np.isfinite(capacity), capacity, 1.0)).max(axis=1), kind="stable")
    loads = np.zeros((0, items.shape[1]))
    for i in order:
        fit = np.flatnonzero((loads + items[i] <= capacity).all(axis=1))
        if len(fit):
            loads[fit[0]] += items[i]
        else:
            loads = np.vstack([loads, items[i]])
    return len(loads)


def _greedy_routes(problem: Problem, vehicle_type: int, clients: np.ndarray) -> int:
    """Routes of a nearest-neighbour plan of ``clients`` with vehicles of one type (every constraint checked
    as the evaluator does; a client that cannot even start a route counts as a route of its own)."""
    nd = problem.n_depots
    vt = problem.vehicle_types[vehicle_type]
    s, e = int(problem.vehicle_start[vehicle_type]), int(problem.vehicle_end[vehicle_type])
    dwin = problem.depot_windows
    t0 = max(vt.shift[0], dwin[s, 0])
    end_limit = min(vt.shift[1], dwin[e, 1]) if e >= 0 else vt.shift[1]
    dist, dur = problem.distance, problem.duration
    back_t = dur[nd:, e] if e >= 0 else np.zeros(problem.n_clients)
    back_d = dist[nd:, e] if e >= 0 else np.zeros(problem.n_clients)
    windows, service = problem.time_windows, problem.service_time
    deliv, pick, cap = problem.delivery, problem.pickup, problem.capacity[vehicle_type]
    strict = problem.backhaul == "strict"
    has_delivery = deliv.any(axis=1)
    eps = 1e-6
    remaining = np.zeros(problem.n_clients, dtype=bool)
    remaining[clients] = True
    routes = 0
    while remaining.any():
        routes += 1
        node, time_, length = s, t0, 0.0
        delivered, picked, peak = np.zeros(problem.n_dims), np.zeros(problem.n_dims), np.zeros(problem.n_dims)
        after_pickup = False
        served = 0
        while True:
            cand = np.flatnonzero(remaining)
            if not len(cand):
                break
            arrival = time_ + dur[node, nd + cand]
            open_ = windows[cand, :, 1] >= arrival[:, None] - eps
            begin = np.maximum(arrival, windows[cand, open_.argmax(axis=1), 0])
            leave = begin + service[cand]
            new_length = length + dist[node, nd + cand]
            new_peak = np.maximum(peak + deliv[cand], picked + pick[cand])
            ok = (open_.any(axis=1) & (leave + back_t[cand] <= end_limit + eps)
                  & (leave + back_t[cand] - t0 <= vt.max_duration + eps)
                  & (new_length + back_d[cand] <= vt.max_distance + eps) & (new_peak <= cap + eps).all(axis=1))
            if strict and after_pickup:
                ok &= ~has_delivery[cand]
            if not ok.any():
                break
            k = int(np.flatnonzero(ok)[np.argmin(begin[ok])])
            c = int(cand[k])
            remaining[c] = False
            served += 1
            node, time_, length = nd + c, float(leave[k]), float(new_length[k])
            peak, delivered, picked = new_peak[k], delivered + deliv[c], picked + pick[c]
            after_pickup = after_pickup or bool(pick[c].any())
        if not served:  # cannot start a route on its own (a matrix that breaks the triangle inequality)
            remaining[np.flatnonzero(remaining)[0]] = False
    return routes


def default_vehicle_bound(problem: Problem, vehicle_type: int, feasible: np.ndarray | None = None) -> int:
    """How many vehicles of an unlimited type OR-Tools gets.

    Rule: take a plan that serves every client the type can serve with vehicles of this type only, and give
    OR-Tools its number of routes plus a margin of ``max(2, 10%)`` (room for the search to move clients
    between routes), never more than the number of those clients. When only capacity constrains the routes,
    the plan is a first-fit-decreasing packing of the clients into the capacity (each bin is a feasible
    route: deliveries first, so the peak load is the larger of its deliveries and pickups); without capacity
    either, one closed route serves everything, while open routes get one vehicle per client (several open
    routes can be cheaper than one). When times or lengths constrain the routes, the plan is a nearest-
    neighbour construction that checks every constraint. A feasible plan with that many routes exists, so the
    bound never makes a feasible problem infeasible. That construction knows no breaks or release times: with
    them the margin is ``max(2, 50%)``. With shipments the bound is the number of requests plus plain clients
    (the construction does not keep a shipment's stops together).
    """
    if feasible is None:
        feasible = client_vehicle_feasibility(problem)[vehicle_type]
    clients = np.flatnonzero(feasible)
    n = len(clients)
    if n == 0:
        return 0
    vt = problem.vehicle_types[vehicle_type]
    cap = problem.capacity[vehicle_type]
    if problem.shipments:
        # Neither the nearest-neighbour plan nor the packing knows that a shipment's stops ride together (the
        # nearest neighbour gave a bound of 11 on generated PDPTW 0 of 100 requests: OR-Tools found no plan in
        # 30 s; with one route per request, a plan of 12 routes at 10 s): one route per request (its pickup
        # stop) or plain client.
        return int(np.count_nonzero((problem.shipment_of[clients] < 0) | problem.is_pickup_stop[clients]))
    if "time_windows" in problem.attributes or math.isfinite(vt.max_duration) or math.isfinite(vt.max_distance):
        routes = _greedy_routes(problem, vehicle_type, clients)
        if problem.attributes & {"breaks", "release_times"}:  # the nearest neighbour ignores them: more margin
            return min(n, routes + max(2, math.ceil(0.5 * routes)))
    elif not np.isfinite(cap).any():
        return n if vt.end_depot is None else min(n, 2)
    else:
        items = np.hstack([problem.delivery[clients], problem.pickup[clients]]).astype(float)
        routes = _first_fit_bins(items, np.concatenate([cap, cap]))
    return min(n, routes + max(2, math.ceil(0.1 * routes)))


def fleet(problem: Problem, feasible: np.ndarray, bound: int | None = None) -> tuple[list[int], dict[str, int]]:
    """The vehicle type of each OR-Tools vehicle, and the bound used for each unlimited type."""
    bounds: dict[str, int] = {}
    vtype: list[int] = []
    for t, vt in enumerate(problem.vehicle_types):
        if vt.count is not None:
            k = vt.count  # at most the number of clients (the model makes a larger count unlimited)
        else:
            k = default_vehicle_bound(problem, t, feasible[t]) if bound is None else min(bound, problem.n_clients)
            bounds[vt.id] = k
        vtype += [t] * k
    return vtype, bounds


def reload_copies(problem: Problem, vehicle_type: int, feasible: np.ndarray, n_vehicles: int) -> int:
    """How many copies of each of its reload depots the ``n_vehicles`` vehicles of a type share in the model.

    Rule: the trips of a first-fit-decreasing packing of the clients the type can serve (deliveries, pickups and
    shipment amounts, each against the capacity) plus a margin of ``max(2, 20%)``; at most ``max_reloads`` per
    vehicle, and fewer than the clients (a reload sits between two of them). With unlimited capacity the
    packing is one trip: two copies still let routes reload (their depot hours or service times may matter).
    """
    if not n_vehicles or not problem.reload_allowed[vehicle_type].any():
        return 0
    clients = np.flatnonzero(feasible)
    if len(clients) < 2:
        return 0
    cap = problem.capacity[vehicle_type]
    items = np.hstack([problem.delivery[clients], problem.pickup[clients],
                       np.abs(problem.shipment_load[clients])]).astype(float)
    trips = _first_fit_bins(items, np.concatenate([cap, cap, cap]))
    k = trips + max(2, math.ceil(0.2 * trips))
    most = int(problem.max_reloads[vehicle_type])
    if most >= 0:
        k = min(k, most * n_vehicles)
    return max(0, min(k, len(clients) - 1))


def _lookup(kind: str, value: str | None, table: dict[str, int]) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower()
    if key not in table:
        raise SolverError(f'solver "ortools": unknown {kind} "{value}" (known: {", ".join(sorted(table))})')
    return key


class ORToolsSolver:
    """OR-Tools routing solver (constraint programming + local search with a metaheuristic).

    Options (keyword arguments, or in a spec string ``"ortools:first_solution=savings,gls_lambda=0.2"``):

    - ``first_solution``: an OR-Tools ``FirstSolutionStrategy`` name, any case (``savings``,
      ``path_cheapest_arc``, ``parallel_cheapest_insertion``, ...). Default: ``parallel_cheapest_insertion``
      when times or lengths constrain the routes, clients are optional, backhaul is strict, or the problem has
      shipments, reloads, breaks or release times (generated MTPDP, 5 requests: ``path_cheapest_arc`` finds no
      plan in 2 s, ``parallel_cheapest_insertion`` one at once); else ``savings`` for a limited
      heterogeneous fleet (fewer vehicles than clients), ``path_cheapest_arc`` otherwise. When the default
      fails outright (OR-Tools status ``fail``, time left), the next of ``parallel_cheapest_insertion``,
      ``savings``, ``local_cheapest_insertion``, ``path_cheapest_arc`` is tried; with optional clients the
      search starts from the cheapest polished first plan of the default and ``sequential_cheapest_insertion``
      (stats ``starts``: the objective of each, see :meth:`_prize_start`); a strategy given as an option is
      used alone.
    - ``metaheuristic``: ``guided_local_search`` (default), ``tabu_search``, ``simulated_annealing``,
      ``greedy_descent``, ``generic_tabu_search`` or ``automatic``.
    - ``gls_lambda``: guided local search's lambda coefficient (OR-Tools' default 0.1; with reloads
      :data:`_MULTI_TRIP_LAMBDA`).
    - ``operators``: the local search operators. ``tuned`` (default): OR-Tools' defaults, without the
      operators for optional clients when every client is required, without the cheapest-insertion path LNS
      when some are optional (it runs past the time limit), and, when only capacities constrain the
      routes, without the insertion-based LNS operators (cheapest-insertion path LNS, expensive-chain
      relocation), which cost more search time than they give on CVRPLIB X (with time windows they help
      empty routes: kept); ``ortools``: OR-Tools' defaults; ``all``: OR-Tools' defaults plus its path,
      full-path and inactive LNS.
    - ``full_propagation``: OR-Tools' ``use_full_propagation`` (default False: faster).
    - ``vehicle_bound``: number of vehicles for each type with unlimited count (default:
      :func:`default_vehicle_bound`).
    - ``restarts``: split the time into ``1 + restarts`` rounds; each later round searches from the best plan
      so far with another client order (default 0: on CVRPLIB X one continuous search did better).
    - ``solution_limit``: stop after this many solutions (for reproducible runs).
    - ``prize_search``: with optional clients, how the time goes to the start plans and the iterated local
      search from the best one (:meth:`_prize_start`): ``ils`` (default: only the best-ranked strategy's
      first plans polished, the search until 0.95 of the limit) or ``classic`` (every strategy's plans
      polished, the search until 0.8 of the limit).
    - ``log``: OR-Tools' search log on stderr.
    - ``params``: OR-Tools ``RoutingSearchParameters`` in protobuf text format, applied last (for anything
      else, e.g. ``"guided_local_search_reset_penalties_on_new_best_solution: true"``).

    The defaults were chosen with ``examples/tune_ortools.py`` (10 s per instance): on the 10 smallest CVRPLIB
    X instances ``path_cheapest_arc`` with the tuned operators beat OR-Tools' defaults, ``savings``,
    ``parallel_cheapest_insertion``, ``christofides``, tabu search, simulated annealing, ILS with SISR ruin,
    lambda 0.05-0.3, larger vehicle margins and restarts; on Solomon, ``path_cheapest_arc`` finds no plan
    for R101, R105, RC101 or RC105 in 10 s, ``parallel_cheapest_insertion`` does. With strict backhaul,
    ``path_cheapest_arc`` finds no plan for X-n101-50-k13 (VRPB) in 30 s, ``parallel_cheapest_insertion`` one
    in 0.1 s, and it ends 1.0-1.8 % above the best known on the VRPB X-n524 instances at 10 s (``savings``
    2.6-4.2 %, ``local_cheapest_insertion`` 2.2-2.6 %; ``path_cheapest_arc``, which finds a plan for those,
    1.0-1.5 %).
    """

    name = "ortools"

    def __init__(
        self,
        *,
        first_solution: str | None = None,
        metaheuristic: str | None = None,
        gls_lambda: float | None = None,
        operators: str = "tuned",
        full_propagation: bool = False,
        vehicle_bound: int | None = None,
        solution_limit: int | None = None,
        log: bool = False,
        params: str | None = None,
        restarts: int = 0,
        prize_search: str = "ils",
        **unknown: Any,
    ) -> None:
        if unknown:
            known = ("first_solution, metaheuristic, gls_lambda, operators, full_propagation, vehicle_bound, "
                     "solution_limit, log, params, restarts, prize_search")
            names = ", ".join(f'"{k}"' for k in unknown)
            raise SolverError(f'solver "ortools": unknown option {names} (known: {known})')
        self.first_solution = _lookup("first_solution", first_solution, _FIRST)
        self.metaheuristic = _lookup("metaheuristic", metaheuristic, _META)
        for key, value in (("gls_lambda", gls_lambda), ("vehicle_bound", vehicle_bound),
                           ("solution_limit", solution_limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise SolverError(f'solver "ortools": {key} must be a positive number, got {value!r}')
        for key, value in (("vehicle_bound", vehicle_bound), ("solution_limit", solution_limit)):
            if value is not None and not float(value).is_integer():
                raise SolverError(f'solver "ortools": {key} must be an integer, got {value!r}')
        self.gls_lambda = gls_lambda
        self.operators = _lookup("operators", operators, dict.fromkeys(("tuned", "ortools", "all"), 0))
        self.full_propagation = bool(full_propagation)
        self.vehicle_bound = None if vehicle_bound is None else int(vehicle_bound)
        self.solution_limit = None if solution_limit is None else int(solution_limit)
        self.log = bool(log)
        self.params = params
        if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 0:
            raise SolverError(f'solver "ortools": restarts must be a non-negative integer, got {restarts!r}')
        self.restarts = restarts
        if prize_search not in _PERTURB_SHARE:
            raise SolverError(f'solver "ortools": prize_search must be one of {", ".join(_PERTURB_SHARE)}, '
                              f'got {prize_search!r}')
        self.prize_search = prize_search
        if params is not None:
            try:
                text_format.Merge(params, pywrapcp.DefaultRoutingSearchParameters())
            except text_format.ParseError as err:
                raise SolverError(f'solver "ortools": params: {err}') from None

    def supports(self, problem: Problem) -> str | None:
        """Every problem the model can express is supported: all but strict backhaul together with shipments
        or reloads (the model's strict order of deliveries before pickups is per route)."""
        a = problem.attributes
        if "backhaul" in a and a & {"shipments", "multi_trip"}:
            both = " and ".join(sorted(a & {"shipments", "multi_trip"}))
            return f"backhaul (strict) together with {both}"
        return None

    def default_first_solution(self, problem: Problem) -> str:
        """The first-solution strategy used when none is given (see the class docstring)."""
        a = problem.attributes
        if a & {"time_windows", "duration_limit", "distance_limit", "prizes", "backhaul", "shipments",
                "multi_trip", "breaks", "release_times"}:
            return "parallel_cheapest_insertion"
        counts = [vt.count for vt in problem.vehicle_types]
        if "heterogeneous_fleet" in a and None not in counts and sum(counts) < problem.n_clients:
            return "savings"  # a small mixed fleet: path_cheapest_arc can run out of time placing every client
        return "path_cheapest_arc"

    def search_parameters(self, problem: Problem, time_limit: float, *, first: str | None = None
                          ) -> tuple[Any, str, str]:
        """OR-Tools' search parameters for ``problem``, and the first-solution strategy and metaheuristic."""
        first = first or self.first_solution or self.default_first_solution(problem)
        meta = self.metaheuristic or "guided_local_search"
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = _FIRST[first]
        params.local_search_metaheuristic = _META[meta]
        if self.gls_lambda is not None:
            params.guided_local_search_lambda_coefficient = float(self.gls_lambda)
        elif "multi_trip" in problem.attributes:
            params.guided_local_search_lambda_coefficient = _MULTI_TRIP_LAMBDA
        params.use_full_propagation = self.full_propagation
        ops = params.local_search_operators
        if self.operators == "all":
            ops.use_path_lns = ops.use_full_path_lns = ops.use_inactive_lns = pywrapcp.BOOL_TRUE
        elif self.operators == "tuned":
            timed = bool(problem.attributes & {"time_windows", "duration_limit", "distance_limit"})
            off = (() if timed else _INSERTION_LNS) + (_OPTIONAL_OPS if problem.required.all() else _PATH_LNS)
            for name in off:
                setattr(ops, name, pywrapcp.BOOL_FALSE)
        if self.solution_limit is not None:
            params.solution_limit = self.solution_limit
        params.log_search = self.log
        if self.params:
            try:
                text_format.Merge(self.params, params)
            except text_format.ParseError as err:
                raise SolverError(f'solver "ortools": params: {err}') from None
        params.time_limit.FromMilliseconds(max(10, int(time_limit * 1000)))
        return params, first, meta

    def _prize_start(self, problem: Problem, model: _Model, first: str, time_limit: float, seed: int
                     ) -> tuple[tuple[Route, ...] | None, str, dict[str, float]]:
        """The start of the search with optional clients: the plan, its first-solution strategy and the
        objective of each strategy's start (OR-Tools', in problem units).

        Each strategy (``first``, then those of :data:`_PRIZE_STARTS` unless a strategy was given as an option,
        while the starts have taken less than :data:`_START_SHARE` of ``time_limit``) builds its first plan; that
        plan and the plan without its unprofitable clients (:func:`drop_unprofitable`) (unless ``prize_search`` is
        classic: those of the strategy whose two plans rank best, the others' objective is as built) are polished
        by the compiled local search (:func:`vrpkit.solvers.localsearch.improve`) while the same share of the time
        lasts (a pass of the local search is not interrupted, so none starts once the share is spent: at a 1 s
        limit on 1000 clients the start is the dropped plan, as without polishing); the cheapest plan that the
        model can hold (:meth:`_Model.read`) is the best start. Until :data:`_PERTURB_SHARE` of ``time_limit``, the
        iterated local search goes on from it (``improve(..., perturb=True)``); its
        plan is the start when the model holds it and OR-Tools' objective is lower. None when no strategy builds a
        plan.
        """
        from vrpkit.solvers.localsearch import improve  # numba: imported only for prize problems

        t0 = time.perf_counter()
        budget = _START_SHARE * time_limit
        strategies = [first] + ([] if self.first_solution else [s for s in _PRIZE_STARTS if s != first])
        best: tuple[int, tuple[Route, ...], str] | None = None
        costs: dict[str, float] = {}
        built: list[tuple[int, str, list[tuple[Route, ...]]]] = []
        for strategy in strategies:
            spent = time.perf_counter() - t0
            if strategy != first and spent >= budget:
                break
            params, _, _ = self.search_parameters(problem, time_limit - spent, first=strategy)
            plan = model.first_plan(params)
            if plan is None:
                continue
            candidates = [drop_unprofitable(problem, plan), plan]
            # Ranked by OR-Tools' objective, which its search minimises (arc costs rounded to the cost unit).
            held = [a.ObjectiveValue() for c in candidates if (a := model.read(c)) is not None]
            if held:
                built.append((min(held), strategy, candidates))
                costs[strategy] = min(held) / model.scales.cost  # as built, unless polished below
        # Only the strategy whose first plans rank best is polished, but with ``prize_search`` classic (it
        # ranks first after polishing too on the PCVRPTW instances, and polishing the others took 1-2.5 s of
        # 10 on 1000 clients, which the iterated local search uses better).
        built.sort(key=lambda x: x[0])
        for _, strategy, candidates in built if self.prize_search == "classic" else built[:1]:
            for c in tuple(candidates):
                left = budget - (time.perf_counter() - t0)
                if left > 0:  # a pass is not interrupted: none once the share is spent
                    candidates.append(tuple(improve(problem, c, time_limit=left, seed=seed).routes))
            held = [(a.ObjectiveValue(), c) for c in candidates if (a := model.read(c)) is not None]
            cost, plan = min(held, key=lambda x: x[0])
            costs[strategy] = cost / model.scales.cost
            if best is None or cost < best[0]:
                best = (cost, plan, strategy)
        if best is None:
            return None, first, costs
        left = _PERTURB_SHARE[self.prize_search] * time_limit - (time.perf_counter() - t0)
        if left > 0:  # the iterated local search from the best start (ruin and recreate)
            plan = tuple(improve(problem, best[1], time_limit=left, seed=seed, perturb=True,
                                 ils=_PRIZE_ILS[self.prize_search]).routes)
            if (a := model.read(plan)) is not None and a.ObjectiveValue() < best[0]:
                best = (a.ObjectiveValue(), plan, best[2])
        return best[1], best[2], costs

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress,
              initial: Solution | None = None) -> Solution | None:
        """The best plan found in ``time_limit``; with ``initial``, OR-Tools' search starts from that plan
        (``SolveFromAssignmentWithParameters``, stats ``warm_start``) when it is feasible and its model holds
        it (see :meth:`_Model.read`), instead of a first-solution strategy and the prize starts."""
        started = time.perf_counter()
        # Only a feasible plan can be an OR-Tools assignment (reading another logs an error on stderr).
        warm = None if initial is None or not evaluate(problem, initial).feasible else tuple(initial.routes)
        warm_used = False
        reasons = diagnose(problem)
        if reasons:
            raise NoSolutionError("no feasible plan exists", reasons)
        feasible = client_vehicle_feasibility(problem)
        if problem.n_clients == 0 or not fleet(problem, feasible, self.vehicle_bound)[0]:
            return Solution((), {"vehicles": 0})  # nothing to serve, or only optional clients no one can serve
        first = self.first_solution or self.default_first_solution(problem)
        # When the default strategy fails outright (not for lack of time), the next one is tried.
        fallbacks = [] if self.first_solution else [f for f in _FALLBACKS if f != first]
        failed: list[str] = []
        rounds = 1 + self.restarts
        best: tuple[int, _Model, Any] | None = None
        found = [0]
        statuses: list[str] = []
        kept: list[tuple[int, tuple[Route, ...]]] = []  # breaks: the plans of the search
        starts: dict[str, float] = {}  # prizes: the objective of each strategy's start (see _prize_start)
        first_used = first
        trip_used = False
        trip_start = None  # multi-trip: the constructed start (see trip_plan)
        if warm is None and "multi_trip" in problem.attributes and self.first_solution is None:
            trip_start = _trip_start(problem, feasible, fleet(problem, feasible, self.vehicle_bound)[0],
                                     _TRIP_SHARE * time_limit, _TRIP_ILS_SHARE * time_limit, seed)
        k = 0
        while k < rounds:
            left = time_limit - (time.perf_counter() - started)
            if (k or failed) and left < 0.05:
                break
            # Round k > 0: another client order (a different search trajectory), started from the best plan.
            model = _Model(problem, feasible, seed=seed if k == 0 else _round_seed(seed, k),
                           vehicle_bound=self.vehicle_bound, copies=_copies_needed(trip_start))
            round_limit = max(0.01, left / (rounds - k))
            params, _, meta = self.search_parameters(problem, round_limit, first=first)
            routing, cost_scale = model.routing, model.scales.cost

            def on_solution(routing: Any = routing, cost_scale: int = cost_scale, model: _Model = model) -> None:
                found[0] += 1
                cost = routing.CostVar().Value()
                progress.update(cost / cost_scale)
                if model.breaks:
                    # Breaks: OR-Tools may put a break where no plan can (see place_breaks); the plans of the
                    # search are kept for that case.
                    kept.append((cost, model.routes(current=True)))

            routing.AddAtSolutionCallback(on_solution)
            start = None
            if best is not None:
                start = routing.ReadAssignmentFromRoutes(model.index_routes(best[1].routes(best[2])), True)
            elif warm is not None and (start := model.read(warm)) is not None:
                warm_used = True  # the user's plan: no first-solution strategy, no prize starts
            elif trip_start is not None and (start := model.read(trip_start)) is not None:
                trip_used = True
            elif not problem.required.all() and not problem.fleet:
                # Prizes: the search starts from the cheapest polished first plan (see _prize_start); the rest of
                # the round's time goes to the search.
                t_first = time.perf_counter()
                chosen, first_used, starts = self._prize_start(problem, model, first, round_limit, seed)
                if chosen is not None:
                    start = model.read(chosen)
                spent = time.perf_counter() - t_first
                params.time_limit.FromMilliseconds(max(10, int((round_limit - spent) * 1000)))
            if start is not None:
                assignment = routing.SolveFromAssignmentWithParameters(start, params)
                if assignment is None:  # out of time before the search's first plan: the start stands
                    assignment = start
            else:
                assignment = routing.SolveWithParameters(params)
            statuses.append(_STATUS.get(routing.status(), str(routing.status())))
            if assignment is not None and (best is None or assignment.ObjectiveValue() < best[0]):
                best = (int(assignment.ObjectiveValue()), model, assignment)
            if best is None:
                failed.append(first)
                if statuses[-1] != "fail" or not fallbacks:
                    break
                first = fallbacks.pop(0)
                continue
            k += 1
        if best is None:
            raise NoSolutionError("no feasible plan found",
                                  [f"no feasible plan found within {_seconds(time_limit)} s (OR-Tools status: "
                                   f"{statuses[-1]})"])
        raw, model, assignment = best
        cost_scale = model.scales.cost
        # OR-Tools may return a plan its solution callback never saw (with optional clients, the plan that
        # leaves all of them out): the last progress entry is the objective of the plan returned.
        progress.update(raw / cost_scale)
        stats = {
            "ortools_objective": raw / cost_scale,
            "ortools_objective_raw": raw,
            "ortools_status": statuses[-1],
            "first_solution": "trip_plan" if trip_used else first_used if starts else first,
            **({"starts": starts} if starts else {}),
            "first_solution_failed": failed,
            "metaheuristic": meta,
            "restarts": k - 1,
            "vehicles": model.n_vehicles,
            "vehicle_bound": model.bounds,
            "time_scale": model.scales.time,
            "cost_scale": cost_scale,
            "solutions": found[0],
            "build_time": round(model.build_time, 4),
        }
        if initial is not None:
            stats["warm_start"] = warm_used
        plan = model.routes(assignment)
        if model.breaks:
            plan, stats["breaks_moved"] = place_breaks(problem, plan)
            if not evaluate(problem, plan).feasible:
                # A break that no placement repairs: the cheapest earlier plan of the search that is feasible
                # (its breaks placed likewise), among the last _BREAK_FALLBACKS.
                for cost, earlier in sorted(kept[-_BREAK_FALLBACKS:], key=lambda x: x[0]):
                    placed, moved = place_breaks(problem, earlier)
                    if evaluate(problem, placed).feasible:
                        plan, stats["breaks_moved"], stats["breaks_fallback"] = placed, moved, cost / cost_scale
                        break
        return Solution(plan, stats)


_BREAK_FALLBACKS = 10
"""The most earlier plans of the search that are tried when the final plan's breaks cannot be placed."""
_BREAK_PLACEMENTS = 512
"""The most break placements :func:`place_breaks` evaluates for one route."""


def place_breaks(problem: Problem, routes: Sequence[Route]) -> tuple[tuple[Route, ...], int]:
    """``routes`` where each route whose breaks as listed break a constraint (evaluator) takes them where the
    evaluator finds the route feasible and cheapest instead: the short form (the evaluator's placement), then
    every combination of positions (up to :data:`_BREAK_PLACEMENTS`); and how many routes changed.

    OR-Tools lets a break fall anywhere between the end of a service and the next service, also during the
    drive or while the vehicle waits at the next stop; a plan takes a break where the vehicle is, after a
    service, before it drives on. Most of OR-Tools' placements map onto a plan as they are
    (:meth:`_Model._place_breaks`); for the others another position often fits (the vehicle waits for the
    break window before leaving, or takes the break after the next service). A route that no placement makes
    feasible is kept as it is (the evaluator reports it)."""
    evaluation = evaluate(problem, routes)
    bad = sorted({v.route for v in evaluation.violations if v.route is not None})
    out = list(routes)
    moved = 0
    for k in bad:
        route = routes[k]
        n_breaks = len(problem.vehicle_types[route.vehicle_type].breaks)
        if route.breaks is None or not n_breaks:
            continue
        combos = itertools.islice(itertools.product(range(len(route.clients) + 1), repeat=n_breaks),
                                  _BREAK_PLACEMENTS)
        candidates = [replace(route, breaks=None)] + [
            replace(route, breaks=tuple(zip(c, range(n_breaks), strict=True))) for c in combos]
        best: tuple[float, Route] | None = None
        for candidate in candidates:
            single = evaluate(problem, [candidate])
            if not any(v.route is not None for v in single.violations):
                cost = single.routes[0].cost
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, candidate)
        if best is not None:
            out[k] = best[1]
            moved += 1
    return tuple(out), moved


def trip_plan(problem: Problem, feasible: np.ndarray, vtype: Sequence[int], *, weight: float = 0.0,
              parallel: bool = True) -> tuple[Route, ...] | None:
    """A multi-trip plan built trip by trip: a start for OR-Tools' search when vehicles reload, or None when it
    leaves a required client unserved (or the problem has shipments, which it does not keep together).

    OR-Tools' first-solution strategies never insert a reload copy (leaving one out costs nothing, and a copy
    alone lowers no cost), so on multi-trip problems whose clients do not fit one trip per vehicle every first
    plan breaks the capacity and none is found (MTVRPTWR C201R0.25, 8 vehicles for 19 loads: none in 10 s).
    Here the vehicles of ``vtype`` serve, trip after trip, the client with the lowest score, its service start
    plus ``weight`` times the distance to it (every constraint checked as the evaluator does, for all the
    remaining clients at once); a vehicle for which no client fits its trip reloads at the nearest of its
    reload depots and starts the next trip, and is done when no client fits a new trip. ``parallel``: at each
    step the vehicle with the lowest score serves (a dispatch in time order); else each vehicle in turn until
    it is done. A trip leaves when its clients are released: a client released later than the trip's
    departure only starts a trip. Each service starts no earlier than the trip's departure plus the drive from
    the farthest depot a trip may start from, the model's release-time rule (:meth:`_Model._add_release_times`),
    so that the model holds the plan. Breaks are not known here: the evaluator places them (short form) and
    the caller checks."""
    p = problem
    if p.shipments or not len(vtype) or not p.reload_allowed[sorted(set(vtype))].any():
        return None
    nd = p.n_depots
    dist, dur = np.asarray(p.distance, dtype=float), np.asarray(p.duration, dtype=float)
    windows, service, release = p.time_windows, p.service_time, p.release_time
    deliv, pick = p.delivery.astype(float), p.pickup.astype(float)
    dwin, dserv = p.depot_windows, p.depot_service_time
    trip_depots = sorted({int(d) for d in p.vehicle_start[list(vtype)]}
                         | {int(d) for t in set(vtype) for d in np.flatnonzero(p.reload_allowed[t])})
    drive = dur[trip_depots][:, nd:].max(axis=0) if release.any() else np.zeros(p.n_clients)
    eps = 1e-6
    remaining = np.ones(p.n_clients, dtype=bool)
    zeros = np.zeros(p.n_clients)

    @dataclass
    class Vehicle:
        t: int
        t0: float
        node: int  # where it is: its trip's depot before the trip's first client
        time: float  # when it is free there
        dep: float  # its trip's departure (the trip's depot, the time it may leave it)
        length: float = 0.0
        clients: list[int] = field(default_factory=list)
        reloads: list[tuple[int, int]] = field(default_factory=list)
        trip: int = 0  # clients on the current trip
        peak: np.ndarray = field(default_factory=lambda: np.zeros(p.n_dims))
        picked: np.ndarray = field(default_factory=lambda: np.zeros(p.n_dims))

    vehicles = []
    for t in vtype:
        vt = p.vehicle_types[t]
        s = int(p.vehicle_start[t])
        t0 = max(vt.shift[0], dwin[s, 0])
        vehicles.append(Vehicle(int(t), t0, s, t0, t0))

    def best(x: Vehicle) -> tuple[float, int, float, float, float, np.ndarray] | None:
        """The client ``x`` serves next: score, client, departure, end of its service, length, peak."""
        vt = p.vehicle_types[x.t]
        e = int(p.vehicle_end[x.t])
        cand = np.flatnonzero(remaining & feasible[x.t])
        if not len(cand):
            return None
        end_limit = min(vt.shift[1], dwin[e, 1]) if e >= 0 else vt.shift[1]
        back_t = dur[nd + cand, e] if e >= 0 else zeros[cand]
        back_d = dist[nd + cand, e] if e >= 0 else zeros[cand]
        # A trip's first client sets its departure (its release time); later ones must be released by it.
        leave_at = np.maximum(x.dep, release[cand]) if not x.trip else np.full(len(cand), x.dep)
        arrival = np.maximum((leave_at if not x.trip else x.time) + dur[x.node, nd + cand], leave_at + drive[cand])
        open_ = windows[cand, :, 1] >= arrival[:, None] - eps
        begin = np.maximum(arrival, windows[cand, open_.argmax(axis=1), 0])
        done = begin + service[cand]
        new_length = x.length + dist[x.node, nd + cand]
        new_peak = np.maximum(x.peak + deliv[cand], x.picked + pick[cand])
        ok = (open_.any(axis=1) & (done + back_t <= end_limit + eps)
              & (done + back_t - x.t0 <= vt.max_duration + eps) & (new_length + back_d <= vt.max_distance + eps)
              & (new_peak <= p.capacity[x.t] + eps).all(axis=1))
        if x.trip:
            ok &= release[cand] <= x.dep + eps
        if not ok.any():
            return None
        score = begin + weight * dist[x.node, nd + cand]
        k = int(np.flatnonzero(ok)[np.argmin(score[ok])])
        return float(score[k]), int(cand[k]), float(leave_at[k]), float(done[k]), float(new_length[k]), new_peak[k]

    def reload(x: Vehicle) -> bool:
        """``x`` ends its trip at the nearest of its reload depots open on arrival; False when it cannot."""
        reload_at = np.flatnonzero(p.reload_allowed[x.t])
        most = int(p.max_reloads[x.t])
        if not x.trip or not len(reload_at) or (0 <= most <= len(x.reloads)):
            return False
        arrive = x.time + dur[x.node, reload_at]
        open_depot = arrive <= dwin[reload_at, 1] + eps
        if not open_depot.any():
            return False
        r = int(reload_at[open_depot][np.argmin(arrive[open_depot])])
        x.reloads.append((len(x.clients), r))
        x.length += dist[x.node, r]
        x.time = x.dep = max(float(arrive[reload_at == r][0]), dwin[r, 0]) + dserv[r]
        x.node, x.trip = r, 0
        x.peak, x.picked = np.zeros(p.n_dims), np.zeros(p.n_dims)
        return True

    active = list(range(len(vehicles)))
    choice: dict[int, tuple[float, int, float, float, float, np.ndarray] | None] = {}
    while active and remaining.any():
        for v in active if parallel else active[:1]:
            if v not in choice or (choice[v] is not None and not remaining[choice[v][1]]):
                choice[v] = best(vehicles[v])
        # Vehicles with nothing to serve on their trip reload (or are done).
        stuck = [v for v in (active if parallel else active[:1]) if choice[v] is None]
        if stuck:
            for v in stuck:
                del choice[v]
                if not reload(vehicles[v]):
                    active.remove(v)
            continue
        v = min(active, key=lambda u: choice[u][0]) if parallel else active[0]
        _, c, dep, done, length, peak = choice.pop(v)
        x = vehicles[v]
        remaining[c] = False
        if not x.trip:
            x.dep = dep
        x.clients.append(c)
        x.trip += 1
        x.node, x.time, x.length, x.peak = nd + c, done, length, peak
        x.picked = x.picked + pick[c]
        for u in list(choice):  # the others' choices of c are gone (recomputed when needed)
            if choice[u] is not None and choice[u][1] == c:
                del choice[u]
    if (remaining & p.required).any():
        return None
    return tuple(Route(x.t, tuple(x.clients), tuple(r for r in x.reloads if r[0] < len(x.clients)))
                 for x in vehicles if x.clients)


_TRIP_STARTS = ((True, 4.0), (True, 1.0), (False, 4.0), (False, 0.0))
"""The ``(parallel, weight)`` of the :func:`trip_plan` starts tried in turn (the cheapest feasible one is the
start). MTVRPTWR at 100-200 clients, cost of the start: the parallel dispatch with weight 4 is the cheapest
where it serves every client (C201R0.25: 1,629.2, best known 1,500.6; sequential, weight 0: 2,773.1), but it
leaves clients out on some files (RC205R0.75), where the sequential one serves them all."""
_TRIP_SHARE = 0.1
"""The share of the time limit after which no further :data:`_TRIP_STARTS` start is tried."""
_TRIP_ILS_SHARE = 0.2
"""The share of the time limit that the iterated local search spends on the :func:`trip_plan` start before
OR-Tools' search. MTVRPTWR at 10 s, 8 files of 100-200 clients: mean gap to the best known 5.8 % instead of
8.3 % (RC2_2_03R0.75 4.0 % instead of 14.4 %; it lost on two: C201R0.75 5.6 % instead of 3.4 %, RC205R0.75
5.5 % instead of 5.3 %; a descent only, without ruin and recreate, did less on the three files tried)."""


def _trip_start(problem: Problem, feasible: np.ndarray, vtype: Sequence[int], budget: float,
                ils: float = 0.0, seed: int = 0) -> tuple[Route, ...] | None:
    """The cheapest plan that the evaluator finds feasible among the :data:`_TRIP_STARTS` of
    :func:`trip_plan` tried within ``budget`` seconds (the first is always tried), or None; with ``ils``
    seconds, then improved by the compiled iterated local search where it handles the problem
    (:func:`vrpkit.solvers.localsearch.improve`, ``perturb=True``), kept when the evaluator finds it feasible
    and cheaper."""
    started = time.perf_counter()
    best: tuple[float, tuple[Route, ...]] | None = None
    for k, (parallel, weight) in enumerate(_TRIP_STARTS):
        if k and time.perf_counter() - started >= budget:
            break
        plan = trip_plan(problem, feasible, vtype, weight=weight, parallel=parallel)
        if plan is None:
            continue
        ev = evaluate(problem, plan)
        if ev.feasible and (best is None or ev.cost < best[0]):
            best = (ev.cost, plan)
    if best is None:
        return None
    if ils > 0:
        from vrpkit.solvers.localsearch import improve, unsupported  # numba: imported only here

        if unsupported(problem) is None:
            polished = tuple(improve(problem, best[1], time_limit=ils, seed=seed, perturb=True).routes)
            ev = evaluate(problem, polished)
            if ev.feasible and ev.cost < best[0]:
                best = (ev.cost, polished)
    return best[1]


def _copies_needed(routes: Sequence[Route] | None) -> dict[int, int]:
    """Per vehicle type, the most reloads that ``routes`` make at one depot (the copies a model needs)."""
    count: dict[tuple[int, int], int] = {}
    for r in routes or ():
        for _, d in r.reloads:
            count[r.vehicle_type, d] = count.get((r.vehicle_type, d), 0) + 1
    out: dict[int, int] = {}
    for (t, _), k in count.items():
        out[t] = max(out.get(t, 0), k)
    return out


def drop_unprofitable(problem: Problem, routes: Sequence[Route]) -> tuple[Route, ...]:
    """``routes`` without the optional clients that cost more to visit than their prize.

    On each route, the optional client whose removal saves the most distance cost beyond its prize is removed
    while one saves anything, provided the shortcut is no longer than the detour, in distance and in time
    (travel plus the client's service), so that every later time and the route's length only shrink and a
    feasible plan stays feasible. Then a route that serves only optional clients is dropped when it costs (the
    evaluator's cost) more than their prizes. Each step lowers the plan's cost. OR-Tools' first-solution
    strategies ignore prizes (they insert every client they can): its search on prize problems starts from
    their plan after this.
    """
    p = problem
    n_nodes = p.n_nodes
    sink = n_nodes  # the end of an open route: zero distance and time from everywhere
    dist = np.zeros((n_nodes + 1, n_nodes + 1))
    dur = np.zeros((n_nodes + 1, n_nodes + 1))
    dist[:n_nodes, :n_nodes] = p.distance
    dur[:n_nodes, :n_nodes] = p.duration
    service = np.concatenate([np.zeros(p.n_depots), p.service_time, [0.0]])
    gain_of = np.where(p.required, -math.inf, -p.prize)  # required clients are never removed
    kept = []
    for route in routes:
        t = route.vehicle_type
        end = int(p.vehicle_end[t])
        ends = (int(p.vehicle_start[t]), end if end >= 0 else sink)
        cpd = p.vehicle_types[t].cost_per_distance
        clients = list(route.clients)
        while clients:
            path = np.array([ends[0], *(p.n_depots + c for c in clients), ends[1]])
            a, c, b = path[:-2], path[1:-1], path[2:]
            detour = dist[a, c] + dist[c, b]
            safe = (dist[a, b] <= detour) & (dur[a, b] <= dur[a, c] + service[c] + dur[c, b])
            gain = np.where(safe, cpd * (detour - dist[a, b]) + gain_of[clients], -math.inf)
            k = int(np.argmax(gain))
            if not gain[k] > 1e-9:
                break
            del clients[k]
        if clients:
            kept.append(Route(t, tuple(clients)))
    schedules = evaluate(p, kept).routes
    return tuple(r for r, s in zip(kept, schedules, strict=True)
                 if p.required[list(r.clients)].any() or s.cost <= p.prize[list(r.clients)].sum() + 1e-9)


class _Current:
    """Reads variables as an assignment does, from the solution at hand (in a solution callback)."""

    @staticmethod
    def Min(var: Any) -> int:  # OR-Tools' names
        return var.Min()

    @staticmethod
    def StartMin(interval: Any) -> int:
        return interval.StartMin()


def _round_seed(seed: int, k: int) -> int:
    """The client-order seed of restart ``k`` (never 0, which keeps the problem's order)."""
    return int(np.random.default_rng([seed, k]).integers(1, 2**31))


def _seconds(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _ceil(x: np.ndarray, scale: int) -> np.ndarray:
    """Round ``x * scale`` up (times, constraint distances: conservative), tolerating float noise."""
    return np.ceil(np.asarray(x, dtype=float) * scale - 1e-6).astype(np.int64)


def _floor(x: float, scale: int, cap: int) -> int:
    """Round a limit ``x * scale`` down; limits at or beyond ``cap`` (infinite ones too) become ``cap``."""
    scaled = x * scale
    if not scaled < cap:
        return cap
    return min(cap, math.floor(scaled + 1e-6))


class _Model:
    """The OR-Tools model of one problem (see the module docstring)."""

    def __init__(self, problem: Problem, feasible: np.ndarray, *, seed: int, vehicle_bound: int | None,
                 copies: dict[int, int] | None = None) -> None:
        t_build = time.perf_counter()
        self.problem = p = problem
        nd, n = p.n_depots, p.n_clients
        vts = p.vehicle_types
        self.vtype, self.bounds = vtype, _ = fleet(p, feasible, vehicle_bound)
        self.n_vehicles = n_veh = len(vtype)
        self.scales = sc = scales(p, n_veh)

        # Nodes: used depots, clients (in seed order), reload copies, sink.
        starts, ends = p.vehicle_start[vtype], p.vehicle_end[vtype]
        depots = sorted({int(d) for d in starts} | {int(d) for d in ends if d >= 0})
        order = np.arange(n) if seed == 0 else np.random.default_rng(seed).permutation(n)
        has_sink = bool((ends < 0).any())
        copy_depot: list[int] = []  # the depot of each reload copy
        copy_type: list[int] = []  # the vehicle type whose vehicles may visit it
        for t in sorted(set(vtype)):
            # At least as many as a start plan needs (``copies``: per type, the most reloads at one depot).
            k = max(reload_copies(p, t, feasible[t], vtype.count(t)), (copies or {}).get(t, 0))
            for d in np.flatnonzero(p.reload_allowed[t]):
                copy_depot += [int(d)] * k
                copy_type += [t] * k
        node = np.array(depots + [nd + int(i) for i in order] + copy_depot + ([-1] if has_sink else []),
                        dtype=np.int64)
        self.node = node  # OR-Tools node -> problem node (-1: sink; a reload copy: its depot)
        n_or = len(node)
        depot_pos = {d: k for k, d in enumerate(depots)}
        sink = n_or - 1
        self.client_pos = len(depots) + np.argsort(order)  # client i -> OR-Tools node
        self.copy_pos = len(depots) + n + np.arange(len(copy_depot), dtype=np.int64)
        self.copy_depot = np.full(n_or, -1, dtype=np.int64)  # OR-Tools node -> depot of a reload copy, or -1
        self.copy_depot[self.copy_pos] = copy_depot
        or_starts = [depot_pos[int(d)] for d in starts]
        or_ends = [depot_pos[int(d)] if d >= 0 else sink for d in ends]
        self.manager = mgr = pywrapcp.RoutingIndexManager(n_or, n_veh, or_starts, or_ends)
        self.routing = routing = pywrapcp.RoutingModel(mgr)
        self.copy_idx = [mgr.NodeToIndex(int(k)) for k in self.copy_pos]
        self.copy_type = copy_type
        self.breaks: dict[int, list[Any]] = {}  # vehicle -> its break intervals, in the type's order

        real = np.where(node >= 0, node, 0)
        is_sink = node < 0
        dist = np.asarray(p.distance, dtype=float)[np.ix_(real, real)]
        dur = np.asarray(p.duration, dtype=float)[np.ix_(real, real)]
        dist[:, is_sink] = dist[is_sink, :] = 0.0
        dur[:, is_sink] = dur[is_sink, :] = 0.0
        service = np.zeros(n_or)
        service[self.client_pos] = p.service_time
        service[self.copy_pos] = p.depot_service_time[copy_depot]
        self.service = service
        client_idx = [mgr.NodeToIndex(int(k)) for k in self.client_pos]

        # Costs.
        arc_cb: dict[float, int] = {}
        for v, t in enumerate(vtype):
            cpd = vts[t].cost_per_distance
            if cpd not in arc_cb:
                arcs = np.rint(dist * (cpd * sc.cost)).astype(np.int64)
                arc_cb[cpd] = routing.RegisterTransitMatrix(arcs.tolist())
            routing.SetArcCostEvaluatorOfVehicle(arc_cb[cpd], v)
            routing.SetFixedCostOfVehicle(round(vts[t].fixed_cost * sc.cost), v)

        # Time.
        attrs = p.attributes
        self.time = None
        if _needs_time(p):
            self._add_time(dur, service, client_idx, starts, ends)

        # Distance limit.
        if "distance_limit" in attrs:
            transit = _ceil(dist, sc.time)
            cap = int(transit.max(axis=1).sum()) + 1
            limits = [_floor(vts[t].max_distance, sc.time, cap) for t in vtype]
            cb = routing.RegisterTransitMatrix(transit.tolist())
            routing.AddDimensionWithVehicleCapacity(cb, 0, limits, True, "distance")

        if attrs & {"shipments", "multi_trip"}:
            self._add_trip_loads()
        else:
            self._add_loads(client_idx)
        if self.copy_idx:
            self._add_reloads()

        # Optional clients and who may serve whom (both stops of a shipment: the types that may serve both).
        penalties = np.rint(p.prize * sc.cost).astype(np.int64)
        vehicles_of = [[v for v, t in enumerate(vtype) if t == tt] for tt in range(len(vts))]
        partner = p.partner
        for i, idx in enumerate(client_idx):
            if not p.required[i] and partner[i] < 0:
                routing.AddDisjunction([idx], int(penalties[i]))
            ok = feasible[:, i] if partner[i] < 0 else feasible[:, i] & feasible[:, partner[i]]
            if not ok.all():
                banned = [v for tt in np.flatnonzero(~ok) for v in vehicles_of[tt]]
                if len(banned) < n_veh:
                    # VehicleVar: OR-Tools 9.15's SetAllowedVehiclesForIndex rejects Python lists.
                    routing.VehicleVar(idx).RemoveValues(banned)
                else:
                    routing.ActiveVar(idx).SetValue(0)
        if p.shipments:
            self._add_shipments(client_idx, penalties)
        self.build_time = time.perf_counter() - t_build

    def _add_time(self, dur: np.ndarray, service: np.ndarray, client_idx: list[int], starts: np.ndarray,
                  ends: np.ndarray) -> None:
        p, sc, routing = self.problem, self.scales, self.routing
        vts = p.vehicle_types
        horizon = math.ceil(_horizon(p) * sc.time)
        transit = _ceil(service[:, None] + dur, sc.time)
        is_sink = self.node < 0
        transit[is_sink, :] = 0
        cb = routing.RegisterTransitMatrix(transit.tolist())
        waits = bool((p.time_windows[:, :, 0] > 0).any()) or bool(p.attributes & {"breaks", "release_times"}) or (
            bool(self.copy_idx) and bool((p.depot_windows[:, 0] > 0).any()))
        routing.AddDimension(cb, horizon if waits else 0, horizon, False, "time")
        self.time = dim = routing.GetDimensionOrDie("time")
        for i, idx in enumerate(client_idx):
            windows = p.clients[i].time_windows
            lo = int(_ceil(windows[0][0], sc.time))
            hi = _floor(windows[-1][1], sc.time, horizon)
            cumul = dim.CumulVar(idx)
            cumul.SetRange(lo, max(lo, hi))  # lo > hi only for a window narrower than one time unit
            if len(windows) > 1 and max(lo, hi) - lo > _HOLES_SPAN:
                # OR-Tools keeps a domain with holes as a bitset over its span and aborts the process beyond
                # 2**32 values: then service starts in one of the windows by a constraint instead.
                solver = routing.solver()
                inside = [solver.IsBetweenVar(cumul, int(_ceil(a, sc.time)), _floor(b, sc.time, horizon))
                          for a, b in windows]
                solver.Add(solver.Sum(inside) >= 1)
                continue
            for (_, b), (a, _) in itertools.pairwise(windows):
                gap_lo, gap_hi = _floor(b, sc.time, horizon) + 1, int(_ceil(a, sc.time)) - 1
                if gap_lo <= gap_hi:
                    cumul.RemoveInterval(gap_lo, gap_hi)
        dwin = p.depot_windows
        for k, idx in zip(self.copy_pos, self.copy_idx, strict=True):  # a reload starts while its depot is open
            d = int(self.copy_depot[k])
            lo = int(_ceil(dwin[d, 0], sc.time))
            dim.CumulVar(idx).SetRange(lo, max(lo, _floor(dwin[d, 1], sc.time, horizon)))
        for v, t in enumerate(self.vtype):
            vt = vts[t]
            s, e = int(starts[v]), int(ends[v])
            lo = int(_ceil(max(vt.shift[0], dwin[s, 0]), sc.time))
            hi = _floor(min(vt.shift[1], dwin[s, 1]), sc.time, horizon)
            # A type that cannot leave in time serves no client (client_vehicle_feasibility): keep its empty
            # route consistent.
            lo = min(lo, hi)
            dim.CumulVar(routing.Start(v)).SetRange(lo, hi)
            end_hi = _floor(min(vt.shift[1], dwin[e, 1]) if e >= 0 else vt.shift[1], sc.time, horizon)
            dim.CumulVar(routing.End(v)).SetMax(max(lo, end_hi))
            if math.isfinite(vt.max_duration):
                dim.SetSpanUpperBoundForVehicle(_floor(vt.max_duration, sc.time, horizon), v)
            if vt.cost_per_duration > 0:
                dim.SetSpanCostCoefficientForVehicle(round(vt.cost_per_duration * sc.cost / sc.time), v)
        if "breaks" in p.attributes:
            self._add_breaks(service, horizon)
        if "release_times" in p.attributes:
            self._add_release_times(client_idx, horizon)

    def _add_breaks(self, service: np.ndarray, horizon: int) -> None:
        """Each used vehicle's breaks: OR-Tools break intervals on the time dimension that may not overlap a
        service (a reload's stay included), inside the route, pairwise disjoint. OR-Tools may place one after a
        reload, or during a drive: see :func:`place_breaks`. (Forbidding breaks after reloads, by a slack of 0
        there, made the first plan of generated MTVRPRTBR with 5 clients take 1.2 s instead of 0.01 s.)"""
        p, sc, routing, mgr, dim = self.problem, self.scales, self.routing, self.manager, self.time
        solver = routing.solver()
        visit = [int(_ceil(service[mgr.IndexToNode(i)], sc.time)) for i in range(routing.Size())]
        for v, t in enumerate(self.vtype):
            vt = p.vehicle_types[t]
            if not vt.breaks:
                continue
            used = routing.ActiveVehicleVar(v)
            start_cumul, end_cumul = dim.CumulVar(routing.Start(v)), dim.CumulVar(routing.End(v))
            intervals = []
            for b, brk in enumerate(vt.breaks):
                windows = brk.time_windows
                lo = int(_ceil(windows[0][0], sc.time))
                hi = max(lo, _floor(windows[-1][1], sc.time, horizon))
                begin = solver.IntVar(lo, hi, f"break{v}_{b}")
                for (_, e), (s, _) in itertools.pairwise(windows):
                    gap_lo, gap_hi = _floor(e, sc.time, horizon) + 1, int(_ceil(s, sc.time)) - 1
                    if gap_lo <= gap_hi:
                        begin.RemoveInterval(gap_lo, gap_hi)
                length = int(_ceil(brk.duration, sc.time))
                interval = solver.FixedDurationIntervalVar(begin, length, used, f"break{v}_{b}")
                # Inside the route when the vehicle is used (OR-Tools allows breaks before or after it).
                solver.Add(begin + horizon * (1 - used) >= start_cumul)
                solver.Add(begin + length <= end_cumul + horizon * (1 - used))
                routing.AddIntervalToAssignment(interval)
                routing.AddToAssignment(begin)
                intervals.append(interval)
            if len(intervals) > 1:
                solver.Add(solver.DisjunctiveConstraint(intervals, f"breaks{v}"))
            dim.SetBreakIntervalsOfVehicle(intervals, v, visit)
            self.breaks[v] = intervals

    def _add_release_times(self, client_idx: list[int], horizon: int) -> None:
        """A dimension ``release`` whose cumul never grows along a trip (its slack at a client is at most the
        drop of ``horizon`` it takes there) and is at least each client's release time; at a trip's start (start
        depot, reload copy) its slack lets it take any value. Each client's service starts no earlier than that
        value plus the drive from the farthest depot a trip may start from (``time >= release + drive``): at the
        first client of a trip, the trip left no earlier than the largest release time of its clients. That is
        exact with one such depot when durations keep the triangle inequality (then it holds at the later
        clients of the trip anyway), and sound otherwise."""
        p, sc, routing, dim = self.problem, self.scales, self.routing, self.time
        solver = routing.solver()
        big = horizon
        transit = [-big] * len(self.node)
        cb = routing.RegisterUnaryTransitVector(transit)
        routing.AddDimension(cb, 2 * big, big, False, "release")
        release = routing.GetDimensionOrDie("release")
        rel = _ceil(p.release_time, sc.time)
        trip_depots = sorted({int(d) for d in p.vehicle_start[self.vtype]}
                             | {int(d) for d in self.copy_depot[self.copy_pos]})
        drive = _ceil(np.asarray(p.duration)[trip_depots][:, p.n_depots:].max(axis=0), sc.time)
        for i, idx in enumerate(client_idx):
            release.CumulVar(idx).SetMin(min(int(rel[i]), big))
            release.SlackVar(idx).SetMax(big)
            solver.Add(dim.CumulVar(idx) >= release.CumulVar(idx) + int(drive[i]))

    def _add_trip_loads(self) -> None:
        """Loads with shipments or reloads, per capacity dimension: ``load{k}``, the load on board (free at the
        start of each trip: a reload's slack resets it), with transit ``pickup - delivery + shipment load``;
        ``picked{k}``, the pickups of the trip so far (reset at reloads); ``shipped{k}``, the shipments on board.
        At the end of each trip (a reload copy, the route's end) ``load >= picked + shipped``: then the load
        counted is at least the load on board all along the trip, which the capacity bounds."""
        p, routing, mgr = self.problem, self.routing, self.manager
        solver = routing.solver()
        n_or = len(self.node)
        cap = p.capacity[self.vtype] if self.n_vehicles else np.zeros((0, p.n_dims))
        pos, copies = self.client_pos, self.copy_pos
        trip_ends = [routing.End(v) for v in range(self.n_vehicles)] + self.copy_idx
        fixed = [i for i in range(routing.Size()) if self.copy_depot[mgr.IndexToNode(i)] < 0]

        def add(name: str, values: np.ndarray, reset: int, limits: list[int], *, fix_start: bool) -> Any:
            vector = np.zeros(n_or, dtype=np.int64)
            vector[pos] = values
            vector[copies] = -reset
            cb = routing.RegisterUnaryTransitVector(vector.tolist())
            slack = 2 * reset
            routing.AddDimensionWithVehicleCapacity(cb, slack, limits, fix_start, name)
            dim = routing.GetDimensionOrDie(name)
            if slack:
                for i in fixed:
                    dim.SlackVar(i).SetValue(0)
            return dim

        for k in range(p.n_dims):
            d, q, s = p.delivery[:, k], p.pickup[:, k], p.shipment_load[:, k]
            if not np.isfinite(cap[:, k]).any() or not (d.any() or q.any() or s.any()):
                continue
            total = int(d.sum() + q.sum() + np.abs(s).sum())
            limits = [int(c) if math.isfinite(c) else total for c in cap[:, k]]
            reset = max(limits) if len(copies) else 0
            load = add(f"load{k}", q - d + s, reset, limits, fix_start=False)
            below = []
            if q.any():
                below.append(add(f"picked{k}", q, reset, limits, fix_start=True))
            if s.any() and len(copies):  # without reloads no shipment is on board at the end
                below.append(add(f"shipped{k}", s, 0, limits, fix_start=True))
            if below:
                for idx in trip_ends:
                    solver.Add(load.CumulVar(idx) >= solver.Sum([x.CumulVar(idx) for x in below]))

    def _add_reloads(self) -> None:
        """Reload copies: optional (no penalty), visited only by vehicles of their type, never first, last or
        next to another copy; ``max_reloads`` bounds the copies a route visits (dimension ``reloads``)."""
        p, routing = self.problem, self.routing
        copies = self.copy_idx
        ends = [routing.End(v) for v in range(self.n_vehicles)]
        of_type: dict[int, list[int]] = {}
        for v, t in enumerate(self.vtype):
            of_type.setdefault(t, []).append(v)
        for v in range(self.n_vehicles):
            routing.NextVar(routing.Start(v)).RemoveValues(copies)
        for idx, t in zip(copies, self.copy_type, strict=True):
            routing.AddDisjunction([idx], 0)
            others = [v for v in range(self.n_vehicles) if self.vtype[v] != t]
            if others:
                routing.VehicleVar(idx).RemoveValues(others)
            routing.NextVar(idx).RemoveValues([c for c in copies if c != idx] + ends)
        limits = [int(p.max_reloads[t]) if p.max_reloads[t] >= 0 else len(copies) for t in self.vtype]
        if min(limits) < len(copies):
            vector = np.zeros(len(self.node), dtype=np.int64)
            vector[self.copy_pos] = 1
            cb = routing.RegisterUnaryTransitVector(vector.tolist())
            routing.AddDimensionWithVehicleCapacity(cb, 0, limits, True, "reloads")

    def _add_shipments(self, client_idx: list[int], penalties: np.ndarray) -> None:
        """Pickup-and-delivery pairs: same vehicle, the pickup first (dimension ``stops`` counts the stops),
        the ride time bounded on the time dimension, an optional shipment served whole or left out whole."""
        p, sc, routing = self.problem, self.scales, self.routing
        solver = routing.solver()
        cb = routing.RegisterUnaryTransitVector([1] * len(self.node))
        routing.AddDimension(cb, 0, len(self.node) + 1, True, "stops")
        stops = routing.GetDimensionOrDie("stops")
        index = p.client_index
        for s, ship in enumerate(p.shipments):
            i, j = index[ship.pickup], index[ship.delivery]
            a, b = client_idx[i], client_idx[j]
            routing.AddPickupAndDelivery(a, b)
            solver.Add(routing.VehicleVar(a) == routing.VehicleVar(b))
            solver.Add(stops.CumulVar(a) < stops.CumulVar(b))
            if not p.required[i]:
                routing.AddDisjunction([a, b], int(penalties[i] + penalties[j]), 2, routing.PENALIZE_ONCE)
                solver.Add(routing.ActiveVar(a) == routing.ActiveVar(b))
            ride = p.max_ride_time[s]
            if self.time is not None and math.isfinite(ride):
                limit = _floor(ride + p.service_time[i], sc.time, math.ceil(_horizon(p) * sc.time))
                solver.Add(self.time.CumulVar(b) - self.time.CumulVar(a) <= limit)

    def _add_loads(self, client_idx: list[int]) -> None:
        p, routing = self.problem, self.routing
        n_or = len(self.node)
        cap = p.capacity[self.vtype] if self.n_vehicles else np.zeros((0, p.n_dims))
        pos = self.client_pos

        def vector(values: np.ndarray) -> list[int]:
            out = np.zeros(n_or, dtype=np.int64)
            out[pos] = values
            return out.tolist()

        def add(name: str, values: np.ndarray, limits: list[int], *, fix_start: bool = True) -> Any:
            cb = routing.RegisterUnaryTransitVector(vector(values))
            routing.AddDimensionWithVehicleCapacity(cb, 0, limits, fix_start, name)
            return routing.GetDimensionOrDie(name)

        strict = p.backhaul == "strict" and bool(p.pickup.any())
        for k in range(p.n_dims):
            d, q = p.delivery[:, k], p.pickup[:, k]
            if not np.isfinite(cap[:, k]).any() or not (d.any() or q.any()):
                continue
            big = int(d.sum() + q.sum())
            limits = [int(c) if math.isfinite(c) else big for c in cap[:, k]]
            if not q.any() or not d.any() or strict:
                if d.any():
                    add(f"delivery{k}", d, limits)
                if q.any():
                    add(f"pickup{k}", q, limits)
                continue
            # Mixed backhaul: load = start load - deliveries so far + pickups so far, start load = deliveries.
            load = add(f"load{k}", q - d, limits, fix_start=False)
            delivered = add(f"delivery{k}", d, limits)
            solver = routing.solver()
            for v in range(self.n_vehicles):
                solver.Add(load.CumulVar(routing.Start(v)) == delivered.CumulVar(routing.End(v)))
        if strict:
            has_pickup = p.pickup.any(axis=1)
            has_delivery = p.delivery.any(axis=1)
            backhaul = add("backhaul", has_pickup.astype(np.int64), [p.n_clients] * self.n_vehicles)
            delivery_idx = [client_idx[i] for i in np.flatnonzero(has_delivery)]
            for i in np.flatnonzero(has_delivery):
                backhaul.CumulVar(client_idx[i]).SetMax(0)
            for i in np.flatnonzero(has_pickup):
                routing.NextVar(client_idx[i]).RemoveValues(delivery_idx)

    def index_routes(self, routes: tuple[Route, ...]) -> list[list[int]]:
        """``routes`` as OR-Tools indices per vehicle (each route on a free vehicle of its type, each reload on a
        free copy of its depot; breaks are left to the search). Raises KeyError when the model lacks a vehicle
        or a copy for them."""
        free: dict[int, list[int]] = {}
        for v, t in enumerate(self.vtype):
            free.setdefault(t, []).append(v)
        copies: dict[tuple[int, int], list[int]] = {}
        for k, idx, t in zip(self.copy_pos, self.copy_idx, self.copy_type, strict=True):
            copies.setdefault((t, int(self.copy_depot[k])), []).append(idx)
        out: list[list[int]] = [[] for _ in self.vtype]
        for route in routes:
            if not free.get(route.vehicle_type):
                raise KeyError(route.vehicle_type)
            v = free[route.vehicle_type].pop(0)
            before = dict(route.reloads)
            indices = []
            for k, c in enumerate(route.clients):
                if k in before:
                    pool = copies.get((route.vehicle_type, before[k]))
                    if not pool:
                        raise KeyError(before[k])
                    indices.append(pool.pop(0))
                indices.append(self.manager.NodeToIndex(int(self.client_pos[c])))
            out[v] = indices
        return out

    def read(self, routes: Sequence[Route]) -> Any | None:
        """The OR-Tools assignment of ``routes``, or None when the model cannot hold the plan: more routes of a
        type than its vehicles, or a plan that the rounded times and limits make infeasible."""
        try:
            indices = self.index_routes(tuple(routes))
        except KeyError:
            return None
        return self.routing.ReadAssignmentFromRoutes(indices, True)

    def first_plan(self, params: Any) -> tuple[Route, ...] | None:
        """The plan of the first solution that OR-Tools builds with ``params`` (its first-solution strategy,
        no local search), or None when it builds none. Read in the solution callback: with optional clients
        OR-Tools itself returns the plan that leaves all of them out when that one is cheaper."""
        plans: list[tuple[Route, ...]] = []
        self.routing.AddAtSolutionCallback(lambda: None if plans else plans.append(self.routes()))
        limited = pywrapcp.DefaultRoutingSearchParameters()
        limited.CopyFrom(params)
        limited.solution_limit = 1
        self.routing.SolveWithParameters(limited)
        return plans[0] if plans else None

    def routes(self, assignment: Any = None, *, current: bool = False) -> tuple[Route, ...]:
        """The plan of an OR-Tools assignment, as vrpkit routes (client indices, reloads, and breaks when the
        type has some: see :meth:`_place_breaks`); without one, the solution at hand in a solution callback
        (breaks then in the short form, or, with ``current``, as OR-Tools placed them)."""
        routing, mgr = self.routing, self.manager
        value = assignment.Value if assignment is not None else (lambda var: var.Value())
        nd = self.problem.n_depots
        out = []
        for v, t in enumerate(self.vtype):
            index = value(routing.NextVar(routing.Start(v)))
            path = [routing.Start(v)]
            clients: list[int] = []
            reloads: list[tuple[int, int]] = []
            while not routing.IsEnd(index):
                path.append(index)
                node = mgr.IndexToNode(index)
                depot = int(self.copy_depot[node])
                if depot >= 0:
                    reloads.append((len(clients), depot))
                else:
                    clients.append(int(self.node[node]) - nd)
                index = value(routing.NextVar(index))
            if not clients:
                continue
            # Copies are never first, last or consecutive in the model; kept only where a plan may reload.
            kept = tuple(r for r in reloads if 0 < r[0] < len(clients))
            breaks = None
            if v in self.breaks and (assignment is not None or current):
                breaks = self._place_breaks(v, path, assignment)
            out.append(Route(t, tuple(clients), kept, breaks))
        return tuple(out)

    def _place_breaks(self, v: int, path: list[int], assignment: Any) -> tuple[tuple[int, int], ...]:
        """Vehicle ``v``'s breaks in ``assignment`` (None: the solution at hand in a solution callback) as
        ``(position, break_index)``: a break that starts after the service of the k-th stop of ``path``
        (OR-Tools indices from the start) ends follows that stop, so its position is the number of clients up
        to it."""
        dim, mgr = self.time, self.manager
        if assignment is None:
            assignment = _Current()
        ends, clients_upto, n_clients = [], [], 0
        for idx in path:
            node = mgr.IndexToNode(idx)
            if self.copy_depot[node] < 0 and self.node[node] >= self.problem.n_depots:
                n_clients += 1
            visit = math.ceil(self.service[node] * self.scales.time - 1e-6)
            ends.append(assignment.Min(dim.CumulVar(idx)) + visit)
            clients_upto.append(n_clients)
        placed = []
        for b, interval in enumerate(self.breaks[v]):
            begin = assignment.StartMin(interval)
            k = max(0, int(np.searchsorted(np.array(ends), begin, side="right")) - 1)
            placed.append((clients_upto[k] if ends[k] <= begin else 0, begin, b))
        return tuple((position, b) for position, _, b in sorted(placed))
