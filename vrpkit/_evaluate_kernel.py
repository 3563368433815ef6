"""The evaluator's compiled kernel: the schedule, loads, costs and violations of many plans of one problem.

:func:`evaluate_plans` is the rules of :mod:`vrpkit.evaluate` (its module docstring is the specification)
over flat arrays: the problem's arrays as they are (the matrices are read in place, never copied) and the
plans as flat arrays of routes and stops. It writes every number of every
:class:`~vrpkit.evaluate.Evaluation` into preallocated output arrays; :mod:`vrpkit.evaluate` builds the
objects. The arithmetic is the pure-Python evaluator's (commit 813d688), operation for operation, so the
results agree to the bit (``tests/test_evaluate_parity.py``). Problems with a travel-time profile are not
handled here (:mod:`vrpkit.evaluate` times them in Python).

:func:`fleet_route` is the evaluator's rules for one route of a real fleet's day (skills, reloads, release
times, breaks in the short form or listed, shipments; :func:`vrpkit.evaluate._route_py` and its helpers,
operation for operation) over the arrays of :func:`fleet_arrays`, returning the route's distance, duration, cost
and the sum of its violation amounts. It allocates nothing (its scratch is :func:`fleet_work`), so that the
local search's compiled code checks candidate routes with it exactly. :func:`best_breaks` searches one route's
break placement (each break moved to each position until no move gains) with it.

The functions are numba functions cached on disk, built by ``python -m vrpkit.solvers.build`` with the
colony's and the local search's; until they are built they run interpreted (:func:`kernel`).

Violation codes (:data:`CODES`) index :data:`vrpkit.evaluate.CONSTRAINTS`; each violation has a ``route``
(kept-route index in its plan, -1 for none) and a ``ref`` whose meaning depends on the code: the node of
the client or depot it names (``time_window``, ``backhaul_order``, ``missing_client``, ``duplicate_client``,
``depot_time_window``), the position of the stop in the input stops (``unknown_id``), the input route
(``unknown_vehicle_type``), the vehicle type (``fleet_size``), -1 otherwise.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numba as nb
import numpy as np

EPS = 1e-6
"""The evaluator's tolerance (:data:`vrpkit.evaluate._EPS`)."""
INF = np.inf

CAPACITY, TIME_WINDOW, DEPOT_TIME_WINDOW, SHIFT, MAX_DURATION, MAX_DISTANCE, BACKHAUL_ORDER, MISSING_CLIENT, \
    DUPLICATE_CLIENT, UNKNOWN_ID, UNKNOWN_VEHICLE_TYPE, FLEET_SIZE = range(12)
CODES = ("capacity", "time_window", "depot_time_window", "shift", "max_duration", "max_distance",
         "backhaul_order", "missing_client", "duplicate_client", "unknown_id", "unknown_vehicle_type",
         "fleet_size")
"""Violation code -> constraint name (the order of :data:`vrpkit.evaluate.CONSTRAINTS`)."""

_jit = nb.njit(cache=True)


@nb.njit(cache=True, inline="always", _nrt=False)
def _window(wins: np.ndarray, m: int, t: float) -> tuple[float, float]:
    """The window of ``m`` (rows of ``wins``: start, end) that serves an arrival at ``t``: the first that has
    not yet closed (one that closed within the tolerance still serves), else the last one."""
    if m > 1:
        for w in range(m):
            if wins[w, 1] >= t - EPS:
                return wins[w, 0], wins[w, 1]
    return wins[m - 1, 0], wins[m - 1, 1]


@nb.njit(cache=True, inline="always", _nrt=False)
def _serve(t: float, a: float, b: float, cum_wait: float, slack: float) -> tuple[float, float, float, float]:
    """Service in window ``[a, b]`` on arrival at ``t``: the start (after waiting for ``a``), the lateness, and
    the waiting so far and the delay the departure allows, updated (see :func:`_times`)."""
    if t < a:
        cum_wait += a - t
        t = a
    if t > b:
        return t, t - b, cum_wait, slack
    if cum_wait + b - t < slack:
        slack = cum_wait + b - t
    return t, 0.0, cum_wait, slack


@_jit
def _times(nd: int, dur: np.ndarray, tw: np.ndarray, n_tw: np.ndarray, service: np.ndarray, clients: np.ndarray,
           start_node: int, t0: float, arrival: np.ndarray, start: np.ndarray, departure: np.ndarray,
           late: np.ndarray) -> tuple[float, bool]:
    """Arrival, start and departure at each client from departure time ``t0``, and lateness per client; returns
    how far the departure can be delayed without lateness or a later end, and whether some stop is late."""
    prev = start_node
    t = t0
    cum_wait = 0.0
    slack = INF
    any_late = False
    for k in range(len(clients)):
        c = clients[k]
        node = nd + c
        t = t + dur[prev, node]
        arrival[k] = t
        a, b = _window(tw[c], n_tw[c], t)
        t, late[k], cum_wait, slack = _serve(t, a, b, cum_wait, slack)
        any_late = any_late or late[k] > 0.0
        start[k] = t
        t += service[c]
        departure[k] = t
        prev = node
    return min(cum_wait, slack), any_late


@_jit
def _end(nd: int, dur: np.ndarray, clients: np.ndarray, departure: np.ndarray, end_node: int) -> float:
    """When the route ends: back at ``end_node`` after its last departure (open routes, -1: that departure)."""
    last = departure[len(clients) - 1]
    if end_node < 0:
        return last
    return last + dur[nd + clients[len(clients) - 1], end_node]


@_jit
def _schedule(nd: int, dur: np.ndarray, tw: np.ndarray, n_tw: np.ndarray, service: np.ndarray,
              clients: np.ndarray, start_node: int, end_node: int, shift_end: float, t0: float,
              close_at: float, end_close: float, arrival: np.ndarray, start: np.ndarray, departure: np.ndarray,
              late: np.ndarray, trial: np.ndarray, best: np.ndarray) -> tuple[float, float, bool]:
    """The route's times (written into ``arrival``, ``start``, ``departure``, ``late``): from the earliest
    departure ``t0``, then delayed by the slack found, then, with several windows at some stop, the shortest
    lateness-free schedule that reaches a stop in a later window. Returns the start and end time and whether
    some stop is late. ``trial`` and ``best`` are scratch rows (4 x route length)."""
    t_start = t0
    delay, any_late = _times(nd, dur, tw, n_tw, service, clients, start_node, t0, arrival, start, departure, late)
    latest = min(shift_end, close_at) - t0
    if delay > EPS and latest > EPS and not any_late:
        t_start = t0 + min(delay, latest)
        _, any_late = _times(nd, dur, tw, n_tw, service, clients, start_node, t_start, arrival, start, departure,
                             late)
    t_end = _end(nd, dur, clients, departure, end_node)
    multi = False
    for k in range(len(clients)):
        if n_tw[clients[k]] > 1:
            multi = True
            break
    if any_late or not multi:
        return t_start, t_end, any_late
    latest_start = t0 + max(latest, 0.0)
    latest_end = min(shift_end, end_close)
    m = len(clients)
    found = False
    best_s = best_end = 0.0
    best_duration = t_end - t_start
    prefix = 0.0  # travel and service from the depot to each stop, without waiting
    prev = start_node
    for i in range(m):
        c = clients[i]
        prefix += dur[prev, nd + c]
        prev = nd + c
        if n_tw[c] > 1:
            for w in range(n_tw[c]):
                s = tw[c, w, 0] - prefix
                if not (t_start + EPS < s and s <= latest_start + EPS):
                    continue
                slack, bad = _times(nd, dur, tw, n_tw, service, clients, start_node, s, trial[0, :m],
                                    trial[1, :m], trial[2, :m], trial[3, :m])
                if bad:
                    continue
                s = s + min(slack, max(latest_start - s, 0.0))
                _, bad = _times(nd, dur, tw, n_tw, service, clients, start_node, s, trial[0, :m], trial[1, :m],
                                trial[2, :m], trial[3, :m])
                end = _end(nd, dur, clients, trial[2, :m], end_node)
                if not bad and end <= latest_end + EPS and end - s < best_duration - EPS:
                    found = True
                    best_s = s
                    best_end = end
                    best_duration = end - s
                    best[:, :m] = trial[:, :m]
        prefix += service[c]
    if found:
        arrival[:] = best[0, :m]
        start[:] = best[1, :m]
        departure[:] = best[2, :m]
        late[:] = best[3, :m]
        return best_s, best_end, False
    return t_start, t_end, any_late


@_jit
def evaluate_plans(
    nd: int, dist: np.ndarray, dur: np.ndarray, service: np.ndarray, tw: np.ndarray, n_tw: np.ndarray,
    delivery: np.ndarray, pickup: np.ndarray, has_delivery: np.ndarray, has_pickup: np.ndarray,
    capacity: np.ndarray, depot_tw: np.ndarray, vstart: np.ndarray, vend: np.ndarray, shift: np.ndarray,
    max_duration: np.ndarray, max_distance: np.ndarray, fixed: np.ndarray, cpd: np.ndarray, cpt: np.ndarray,
    count: np.ndarray, prize: np.ndarray, required: np.ndarray, strict: bool,
    plan_ptr: np.ndarray, route_type: np.ndarray, route_ptr: np.ndarray, stops: np.ndarray,
    r_plan_ptr: np.ndarray, r_type: np.ndarray, r_ptr: np.ndarray, r_float: np.ndarray, r_load: np.ndarray,
    s_client: np.ndarray, s_float: np.ndarray, s_load: np.ndarray,
    p_float: np.ndarray, u_ptr: np.ndarray, u_client: np.ndarray,
    v_ptr: np.ndarray, v_code: np.ndarray, v_amount: np.ndarray, v_route: np.ndarray, v_ref: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Evaluate every plan: plan ``p`` is the input routes ``plan_ptr[p]:plan_ptr[p + 1]``, route ``r`` of
    vehicle type ``route_type[r]`` visits ``stops[route_ptr[r]:route_ptr[r + 1]]`` (client indices, any
    integers). Outputs, all preallocated to their bounds:

    - kept routes ``r_plan_ptr[p]:r_plan_ptr[p + 1]`` of plan ``p``: ``r_type``; their stops
      ``r_ptr[k]:r_ptr[k + 1]``; ``r_float[k]`` = start time, end time, distance, duration, cost;
      ``r_load[k]`` the start load;
    - stops: ``s_client``; ``s_float[j]`` = arrival, start, departure; ``s_load[j]`` the load after the stop;
    - plans: ``p_float[p]`` = distance, duration, fixed cost, variable cost, prize lost, cost; the unassigned
      clients ``u_client[u_ptr[p]:u_ptr[p + 1]]``;
    - violations ``v_ptr[p]:v_ptr[p + 1]`` in the evaluator's order: ``v_code``, ``v_amount``, ``v_route``,
      ``v_ref`` (see the module docstring).

    ``scratch`` is 8 rows at least as long as the longest route.
    """
    n_clients = len(service)
    n_types = len(vstart)
    k_dims = delivery.shape[1]
    visits = np.zeros(n_clients, dtype=np.int64)
    used = np.zeros(n_types, dtype=np.int64)
    q = np.zeros(k_dims)
    peaks = np.zeros(k_dims)
    trial = scratch[0:4]
    best = scratch[4:8]
    late = np.empty(scratch.shape[1])
    kr = 0  # kept routes so far (all plans)
    js = 0  # output stops so far
    nv = 0  # violations so far
    nu = 0  # unassigned clients so far
    for p in range(len(plan_ptr) - 1):
        visits[:] = 0
        used[:] = 0
        total_dist = 0.0
        total_dur = 0.0
        total_fixed = 0.0
        total_var = 0.0
        kept = 0
        r_plan_ptr[p] = kr
        v_ptr[p] = nv
        u_ptr[p] = nu
        for r in range(plan_ptr[p], plan_ptr[p + 1]):
            v = route_type[r]
            if not (0 <= v < n_types):
                v_code[nv] = UNKNOWN_VEHICLE_TYPE
                v_amount[nv] = 1.0
                v_route[nv] = kept
                v_ref[nv] = r
                nv += 1
                continue
            m = 0
            for j in range(route_ptr[r], route_ptr[r + 1]):
                c = stops[j]
                if 0 <= c < n_clients:
                    s_client[js + m] = c
                    m += 1
                    visits[c] += 1
                else:
                    v_code[nv] = UNKNOWN_ID
                    v_amount[nv] = 1.0
                    v_route[nv] = kept
                    v_ref[nv] = j
                    nv += 1
            if m == 0:
                continue
            used[v] += 1
            clients = s_client[js:js + m]
            start_node = vstart[v]
            end_node = vend[v]
            shift_start = shift[v, 0]
            shift_end = shift[v, 1]
            open_at = depot_tw[start_node, 0]
            close_at = depot_tw[start_node, 1]
            t0 = max(shift_start, open_at)

            prev = start_node
            distance = 0.0
            for i in range(m):
                node = nd + clients[i]
                distance += dist[prev, node]
                prev = node
            if end_node >= 0:
                distance += dist[prev, end_node]

            end_close = depot_tw[end_node, 1] if end_node >= 0 else INF
            arrival = s_float[js:js + m, 0]
            start = s_float[js:js + m, 1]
            departure = s_float[js:js + m, 2]
            lateness = late[:m]
            t_start, t_end, _ = _schedule(nd, dur, tw, n_tw, service, clients, start_node, end_node, shift_end, t0,
                                          close_at, end_close, arrival, start, departure, lateness, trial, best)
            duration = t_end - t_start

            # Loads.
            loads = s_load[js:js + m]
            if k_dims == 1:
                q1 = 0.0
                for i in range(m):
                    q1 += delivery[clients[i], 0]
                r_load[kr, 0] = q1
                peak = q1
                for i in range(m):
                    c = clients[i]
                    q1 += pickup[c, 0] - delivery[c, 0]
                    loads[i, 0] = q1
                    if q1 > peak:
                        peak = q1
                excess = peak - capacity[v, 0]
            else:
                for d in range(k_dims):
                    s = 0.0
                    for i in range(m):
                        s += delivery[clients[i], d]
                    q[d] = s
                    r_load[kr, d] = s
                    peaks[d] = s
                for i in range(m):
                    c = clients[i]
                    for d in range(k_dims):
                        q[d] = q[d] - delivery[c, d] + pickup[c, d]
                        loads[i, d] = q[d]
                        if q[d] > peaks[d]:
                            peaks[d] = q[d]
                excess = peaks[0] - capacity[v, 0]
                for d in range(1, k_dims):
                    e = peaks[d] - capacity[v, d]
                    if e > excess:
                        excess = e
            if excess > EPS:
                v_code[nv] = CAPACITY
                v_amount[nv] = excess
                v_route[nv] = kept
                v_ref[nv] = -1
                nv += 1
            for i in range(m):
                if lateness[i] > EPS:
                    v_code[nv] = TIME_WINDOW
                    v_amount[nv] = lateness[i]
                    v_route[nv] = kept
                    v_ref[nv] = nd + clients[i]
                    nv += 1
            if t_start > close_at + EPS:
                v_code[nv] = DEPOT_TIME_WINDOW
                v_amount[nv] = t_start - close_at
                v_route[nv] = kept
                v_ref[nv] = start_node
                nv += 1
            if end_node >= 0 and t_end > end_close + EPS:
                v_code[nv] = DEPOT_TIME_WINDOW
                v_amount[nv] = t_end - end_close
                v_route[nv] = kept
                v_ref[nv] = end_node
                nv += 1
            if t_end > shift_end + EPS:
                v_code[nv] = SHIFT
                v_amount[nv] = t_end - shift_end
                v_route[nv] = kept
                v_ref[nv] = -1
                nv += 1
            elif t_start > shift_end + EPS:
                v_code[nv] = SHIFT
                v_amount[nv] = t_start - shift_end
                v_route[nv] = kept
                v_ref[nv] = -1
                nv += 1
            if duration > max_duration[v] + EPS:
                v_code[nv] = MAX_DURATION
                v_amount[nv] = duration - max_duration[v]
                v_route[nv] = kept
                v_ref[nv] = -1
                nv += 1
            if distance > max_distance[v] + EPS:
                v_code[nv] = MAX_DISTANCE
                v_amount[nv] = distance - max_distance[v]
                v_route[nv] = kept
                v_ref[nv] = -1
                nv += 1
            if strict:
                seen_pickup = False
                for i in range(m):
                    c = clients[i]
                    if has_delivery[c]:
                        if seen_pickup:
                            v_code[nv] = BACKHAUL_ORDER
                            v_amount[nv] = 1.0
                            v_route[nv] = kept
                            v_ref[nv] = nd + c
                            nv += 1
                    elif has_pickup[c]:
                        seen_pickup = True

            cost = fixed[v] + cpd[v] * distance + cpt[v] * duration
            r_type[kr] = v
            r_ptr[kr] = js
            r_float[kr, 0] = t_start
            r_float[kr, 1] = t_end
            r_float[kr, 2] = distance
            r_float[kr, 3] = duration
            r_float[kr, 4] = cost
            total_dist += distance
            total_dur += duration
            total_fixed += fixed[v]
            total_var += cost - fixed[v]
            kept += 1
            kr += 1
            js += m
            r_ptr[kr] = js
        for v in range(n_types):
            if count[v] >= 0 and used[v] > count[v]:
                v_code[nv] = FLEET_SIZE
                v_amount[nv] = float(used[v] - count[v])
                v_route[nv] = -1
                v_ref[nv] = v
                nv += 1
        prize_lost = 0.0
        for c in range(n_clients):
            k = visits[c]
            if k == 0:
                if required[c]:
                    v_code[nv] = MISSING_CLIENT
                    v_amount[nv] = 1.0
                    v_route[nv] = -1
                    v_ref[nv] = nd + c
                    nv += 1
                else:
                    u_client[nu] = c
                    nu += 1
                    prize_lost += prize[c]
            elif k > 1:
                v_code[nv] = DUPLICATE_CLIENT
                v_amount[nv] = float(k - 1)
                v_route[nv] = -1
                v_ref[nv] = nd + c
                nv += 1
        p_float[p, 0] = total_dist
        p_float[p, 1] = total_dur
        p_float[p, 2] = total_fixed
        p_float[p, 3] = total_var
        p_float[p, 4] = prize_lost
        p_float[p, 5] = total_fixed + total_var + prize_lost
    n_plans = len(plan_ptr) - 1
    r_plan_ptr[n_plans] = kr
    v_ptr[n_plans] = nv
    u_ptr[n_plans] = nu


# -- compiled or interpreted ------------------------------------------------------------------------------------

_lock = threading.Lock()
_compiled: bool | None = None
_next_check = 0.0
RECHECK_SECONDS = 5.0
"""How often a process that runs the kernel interpreted looks again for the built code."""


def _exercise() -> None:
    """Call the kernel on a tiny problem with the argument types of every real call (the problem's arrays
    go through :func:`vrpkit.evaluate.kernel_arrays` as in a real call)."""
    from vrpkit.evaluate import _evaluate_kernel
    from vrpkit.model import Client, Depot, Problem, VehicleType
    from vrpkit.solution import Route

    clients = tuple(Client(f"c{i}", (float(i), 1.0), delivery=1) for i in range(2))
    tiny = Problem("kernel", (Depot("d", (0.0, 0.0)),), clients, (VehicleType("v", capacity=2),))
    _evaluate_kernel(tiny, [([Route(0, (0, 1))], [])], evaluate_plans)


def _exercise_fleet() -> None:
    """Call :func:`fleet_route` with the argument types of every real call (the arrays of
    :func:`fleet_arrays` have the same types for every problem) on a tiny problem with a reload and a break."""
    from vrpkit.model import Break, Client, Depot, Problem, VehicleType

    clients = tuple(Client(f"c{i}", (float(i), 1.0), delivery=1) for i in range(2))
    vt = VehicleType("v", capacity=1, reload_depots=("d",), breaks=(Break("b", ((0.0, 10.0),), 1.0),))
    tiny = Problem("fleet kernel", (Depot("d", (0.0, 0.0)),), clients, (vt,))
    F = fleet_arrays(tiny)
    work = fleet_work(F)
    fleet_route(F, 0, np.array([0, -1, 1], dtype=np.int64), 3, work)
    best_breaks(F, 0, np.array([0, -1, 1], dtype=np.int64), 3, work, np.zeros(4, dtype=np.int64))


def ready() -> bool:
    """True when the compiled kernel is loaded in this process (loading it from numba's disk cache when it is
    there); False, compiling nothing, when it is not built."""
    from numba.core import event

    from vrpkit.solvers.build import NotBuilt, _Refuse

    with event.install_listener("numba:compile", _Refuse(threading.get_ident())):
        try:
            _exercise()
        except NotBuilt:
            return False
    return True


def kernel() -> Any:
    """:func:`evaluate_plans`, compiled when it is built; else its interpreted twin (the same code, run by
    Python), after starting the background build (once per process, one line on stderr) and looking again
    for the built code at most every :data:`RECHECK_SECONDS`."""
    global _compiled, _next_check
    if _compiled:
        return evaluate_plans
    with _lock:
        now = time.perf_counter()
        if _compiled is None or now >= _next_check:
            _compiled = ready()
            _next_check = now + RECHECK_SECONDS
            if not _compiled:
                from vrpkit.solvers.build import start_background

                start_background("evaluating")
    if _compiled:
        return evaluate_plans
    from vrpkit.solvers.build import interpreted

    return interpreted(evaluate_plans)


# -- one route of a real fleet's day, compiled ----------------------------------------------------------------
#
# :func:`fleet_route` is :func:`vrpkit.evaluate._route_py` (and its helpers ``_events``, ``_times_ev``,
# ``_place_break``, ``_later_window_start``) for problems without a travel-time profile, over the flat arrays of
# :func:`fleet_arrays`, operation for operation. It allocates nothing (``_nrt=False``: the local search's
# compiled code calls it): every per-event number lives in the rows of the float buffer of :func:`fleet_work`.

_fjit = nb.njit(cache=True, _nrt=False)

_EV_CLIENT, _EV_RELOAD, _EV_BREAK = 0, 1, 2
"""Event kinds (those of :mod:`vrpkit.evaluate`)."""

# Rows of the work buffer. By client position k (0..m-1) or route position p (0..m): the client, the reload
# depot before it (-1: none), the trip's release time (on a trip's first position); the breaks placed so far
# (position, break index, in placement order); the events (kind, ref, pos, node, prev, travel, service,
# release); their times (arrival, start, departure, lateness), a trial and a best copy of those; when the
# vehicle is free at each position; load scratch per dimension; the first position of each client (indexed
# by client); start and departure per client position; the current stops of :func:`best_breaks`.
(_W_CLIENT, _W_AT, _W_REL, _W_BPOS, _W_BIDX, _W_KIND, _W_REF, _W_POS, _W_NODE, _W_PREV, _W_TRAVEL, _W_SERVICE,
 _W_RELEASE, _W_TIMES, _W_TRIAL, _W_BEST, _W_FREE, _W_Q, _W_PEAK, _W_ON_BOARD, _W_WHERE, _W_CSTART,
 _W_CDEP, _W_CUR) = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 21, 25, 26, 27, 28, 29, 30, 31, 32)
FLEET_WORK_ROWS = 33
"""Rows of :func:`fleet_work`'s buffer."""
FLEET_W_BPOS, FLEET_W_BIDX = _W_BPOS, _W_BIDX
"""Rows of the work buffer that hold, after :func:`fleet_route` of a route with clients, where its breaks were
taken: position (0..number of clients) and break index, in the order placed (short form: ``n_breaks`` of the
type, by their first window's start; listed form: the valid listed breaks, as listed)."""


def fleet_arrays(problem: Any) -> tuple:
    """The problem's arrays for :func:`fleet_route` (a tuple of read-only numpy arrays, ints and bools; the
    matrices are the problem's own, not copied). Raises ValueError for a time-dependent problem (a
    travel-time profile: the evaluator times those in Python); other uncertainty is ignored, as the evaluator
    ignores it."""
    if problem.time_dependent:
        raise ValueError("uncertainty.travel_time.profile: fleet_route has no time-dependent travel times")

    def frozen(a: Any, dtype: Any) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=dtype).view()
        a.setflags(write=False)
        return a

    p = problem
    vts = p.vehicle_types
    nc, nd, n_types, k_dims = p.n_clients, p.n_depots, len(vts), p.n_dims
    n_tw = np.array([len(c.time_windows) for c in p.clients], dtype=np.int64).reshape(nc)
    tw = p.time_windows if nc else np.zeros((0, 1, 2))
    missing = np.zeros((n_types, nc))
    for i, c in enumerate(p.clients):
        if c.skills:
            need = set(c.skills)
            missing[:, i] = [len(need - set(vt.skills)) for vt in vts]
    depot_index = p.depot_index
    reload_at = np.zeros((n_types, max(nd, 1)), dtype=np.bool_)
    for v, vt in enumerate(vts):
        for dep in vt.reload_depots:
            reload_at[v, depot_index[dep]] = True
    n_breaks = np.array([len(vt.breaks) for vt in vts], dtype=np.int64).reshape(n_types)
    most_breaks = max(int(n_breaks.max(initial=0)), 1)
    most_windows = max((len(b.time_windows) for vt in vts for b in vt.breaks), default=1)
    break_order = np.zeros((n_types, most_breaks), dtype=np.int64)
    break_duration = np.zeros((n_types, most_breaks))
    break_tw = np.zeros((n_types, most_breaks, most_windows, 2))
    break_ntw = np.ones((n_types, most_breaks), dtype=np.int64)
    for v, vt in enumerate(vts):
        order = sorted(range(len(vt.breaks)), key=lambda b, vt=vt: vt.breaks[b].time_windows[0][0])
        break_order[v, :len(order)] = order
        for b, brk in enumerate(vt.breaks):
            windows = list(brk.time_windows)
            break_duration[v, b] = brk.duration
            break_ntw[v, b] = len(windows)
            break_tw[v, b] = windows + [windows[-1]] * (most_windows - len(windows))
    max_ride = p.max_ride_time if len(p.shipments) else np.full(1, INF)
    return (
        nd, frozen(p.distance, np.float64), frozen(p.duration, np.float64),
        frozen(p.service_time.reshape(nc), np.float64), frozen(tw, np.float64), frozen(n_tw, np.int64),
        frozen(p.delivery, np.float64), frozen(p.pickup, np.float64),
        frozen((p.delivery != 0).any(axis=1).reshape(nc), np.bool_),
        frozen((p.pickup != 0).any(axis=1).reshape(nc), np.bool_),
        frozen(p.capacity.reshape(n_types, k_dims), np.float64), frozen(p.depot_windows, np.float64),
        frozen(p.vehicle_start, np.int64), frozen(p.vehicle_end, np.int64),
        frozen(np.array([vt.shift for vt in vts], dtype=float).reshape(n_types, 2), np.float64),
        frozen(np.array([vt.max_duration for vt in vts], dtype=float).reshape(n_types), np.float64),
        frozen(np.array([vt.max_distance for vt in vts], dtype=float).reshape(n_types), np.float64),
        frozen(np.array([vt.fixed_cost for vt in vts], dtype=float).reshape(n_types), np.float64),
        frozen(np.array([vt.cost_per_distance for vt in vts], dtype=float).reshape(n_types), np.float64),
        frozen(np.array([vt.cost_per_duration for vt in vts], dtype=float).reshape(n_types), np.float64),
        bool(p.backhaul == "strict" and p.pickup.any()),
        frozen(missing, np.float64),
        frozen(p.release_time.reshape(nc), np.float64), bool(p.release_time.any()),
        frozen(p.depot_service_time.reshape(nd), np.float64),
        frozen(reload_at, np.bool_),
        frozen(np.array([bool(vt.reload_depots) for vt in vts], dtype=np.bool_).reshape(n_types), np.bool_),
        frozen(p.max_reloads.reshape(n_types), np.int64),
        frozen(n_breaks, np.int64), frozen(break_order, np.int64), frozen(break_duration, np.float64),
        frozen(break_tw, np.float64), frozen(break_ntw, np.int64),
        frozen(p.partner.reshape(nc), np.int64), frozen(p.is_pickup_stop.reshape(nc), np.bool_),
        frozen(p.shipment_of.reshape(nc), np.int64), frozen(max_ride, np.float64),
        frozen(p.shipment_load.reshape(nc, k_dims), np.float64), bool(p.shipments),
    )


def fleet_work(F: tuple) -> np.ndarray:
    """A float64 work buffer for :func:`fleet_route` (:data:`FLEET_WORK_ROWS` rows), big enough for any
    route of the problem of ``F`` with up to ``3 * n_clients + 3`` stops (clients and reloads) and, listed,
    the breaks of its type."""
    n_clients = len(F[3])
    k_dims = F[6].shape[1]
    most_breaks = F[29].shape[1]
    return np.zeros((FLEET_WORK_ROWS, max(3 * n_clients + 4 + 2 * most_breaks, k_dims, 1)))


@_fjit
def _fleet_single(kind: int, ref: int, v: int, n_tw: np.ndarray, break_ntw: np.ndarray) -> bool:
    """Whether an event has just one window."""
    if kind == _EV_CLIENT:
        return n_tw[ref] == 1
    if kind == _EV_BREAK:
        return break_ntw[v, ref] == 1
    return True


@_fjit
def _fleet_times(dur: np.ndarray, tw: np.ndarray, n_tw: np.ndarray, depot_tw: np.ndarray, break_tw: np.ndarray,
                 break_ntw: np.ndarray, v: int, work: np.ndarray, ne: int, t0: float, row: int
                 ) -> tuple[float, bool]:
    """``_times_ev``: arrival, start, departure and lateness of each of the ``ne`` events from the start time
    ``t0``, into rows ``row..row + 3`` of ``work``; returns how far the start can be delayed without lateness
    or a later end, and whether some event is late."""
    kinds, refs, nodes, prevs = work[_W_KIND], work[_W_REF], work[_W_NODE], work[_W_PREV]
    travels, services, releases = work[_W_TRAVEL], work[_W_SERVICE], work[_W_RELEASE]
    arrival, start, departure, late = work[row], work[row + 1], work[row + 2], work[row + 3]
    t = t0
    cum_wait = 0.0
    slack = INF
    any_late = False
    for k in range(ne):
        if travels[k] != 0.0:
            rel = releases[k]
            if t < rel:
                cum_wait += rel - t
                t = rel
            t = t + dur[int(prevs[k]), int(nodes[k])]
        arrival[k] = t
        kind = int(kinds[k])
        ref = int(refs[k])
        if kind == _EV_RELOAD:
            a = depot_tw[ref, 0]
            b = depot_tw[ref, 1]
        elif kind == _EV_CLIENT:
            a, b = _window(tw[ref], n_tw[ref], t)
        else:
            a, b = _window(break_tw[v, ref], break_ntw[v, ref], t)
        t, late[k], cum_wait, slack = _serve(t, a, b, cum_wait, slack)
        any_late = any_late or late[k] > 0.0
        start[k] = t
        t += services[k]
        departure[k] = t
    return min(cum_wait, slack), any_late


@_fjit
def _fleet_end(dur: np.ndarray, work: np.ndarray, ne: int, row: int, end_node: int) -> float:
    """When the route ends: back at ``end_node`` after the last departure (in row ``row + 2``; open routes,
    -1: that departure)."""
    last = work[row + 2, ne - 1]
    if end_node < 0:
        return last
    return last + dur[int(work[_W_NODE, ne - 1]), end_node]


@_fjit
def _fleet_events(nd: int, service: np.ndarray, depot_service: np.ndarray, break_duration: np.ndarray,
                  v: int, start_node: int, m: int, n_placed: int, work: np.ndarray) -> int:
    """``_events``: the events of the route (clients, reloads and release times by position, the ``n_placed``
    breaks placed) into the event rows of ``work``; returns how many."""
    clients, at, rel = work[_W_CLIENT], work[_W_AT], work[_W_REL]
    bpos, bidx = work[_W_BPOS], work[_W_BIDX]
    kinds, refs, poss, nodes, prevs = work[_W_KIND], work[_W_REF], work[_W_POS], work[_W_NODE], work[_W_PREV]
    travels, services, releases = work[_W_TRAVEL], work[_W_SERVICE], work[_W_RELEASE]
    here = start_node
    ne = 0
    for p in range(m + 1):
        for i in range(n_placed):
            if bpos[i] == p:
                b = int(bidx[i])
                kinds[ne] = _EV_BREAK
                refs[ne] = b
                poss[ne] = p
                nodes[ne] = here
                prevs[ne] = here
                travels[ne] = 0.0
                services[ne] = break_duration[v, b]
                releases[ne] = 0.0
                ne += 1
        if p == m:
            break
        depot = int(at[p])
        if depot >= 0:
            kinds[ne] = _EV_RELOAD
            refs[ne] = depot
            poss[ne] = p
            nodes[ne] = depot
            prevs[ne] = here
            travels[ne] = 1.0
            services[ne] = depot_service[depot]
            releases[ne] = 0.0
            ne += 1
            here = depot
        c = int(clients[p])
        kinds[ne] = _EV_CLIENT
        refs[ne] = c
        poss[ne] = p
        nodes[ne] = nd + c
        prevs[ne] = here
        travels[ne] = 1.0
        services[ne] = service[c]
        releases[ne] = rel[p]
        ne += 1
        here = nd + c
    return ne


@_fjit
def _fleet_place_break(work: np.ndarray, ne: int, t0: float, m: int, v: int, b: int, break_tw: np.ndarray,
                       break_ntw: np.ndarray) -> int:
    """``_place_break``: where the short form takes break ``b`` on the schedule in the time rows of ``work``
    (from ``t0``)."""
    free = work[_W_FREE]
    kinds, poss, departure = work[_W_KIND], work[_W_POS], work[_W_TIMES + 2]
    for p in range(m + 1):
        free[p] = t0
    for k in range(ne):
        kind = int(kinds[k])
        if kind == _EV_CLIENT:
            free[int(poss[k]) + 1] = departure[k]
        elif kind == _EV_BREAK:
            free[int(poss[k])] = departure[k]
    n_w = break_ntw[v, b]
    for p in range(m + 1):
        f = free[p]
        for w in range(n_w):
            if break_tw[v, b, w, 0] - EPS <= f <= break_tw[v, b, w, 1] + EPS:
                return p
        if p < m:
            for w in range(n_w):
                if break_tw[v, b, w, 0] > f + EPS and break_tw[v, b, w, 1] + EPS < free[p + 1]:
                    return p
    return m


@_fjit
def fleet_route(F: tuple, v: int, stops: np.ndarray, n: int, work: np.ndarray
                ) -> tuple[float, float, float, float]:
    """One route of vehicle type ``v`` (index into ``problem.vehicle_types``) serving the events ``stops[:n]``
    (int64) in order: a value ``c >= 0`` is client index ``c``; a value ``-(d + 1)`` with ``d < n_depots`` a
    reload at depot index ``d`` before the next client; a value ``-(n_depots + 1 + b)`` break ``b`` of the
    type (an index into its breaks) taken there: after the previous client's service (position 0 before the
    first client, at the start depot). A route with any break event is in the listed form (the evaluator's
    ``Route.breaks``: a break of the type not listed counts 1, one listed k > 1 times k - 1, as ``break``; a
    break index out of range counts 1, as ``unknown_id``, and is skipped); without one, in the short form
    (placed by the evaluator's rule; ``Route.breaks == ()``, listed without a break, has no stops form). At
    one position the breaks are taken first, in the order listed, then the drive to the reload depot, then the
    client. Where the breaks were taken is left in the rows :data:`FLEET_W_BPOS` and :data:`FLEET_W_BIDX` of
    ``work``. ``F`` is :func:`fleet_arrays`, ``work`` :func:`fleet_work` (overwritten).

    Returns ``(distance, duration, cost, violation)``: the evaluator's distance and duration; ``cost`` =
    fixed cost + cost per distance * distance + cost per duration * duration of the type (no prizes);
    ``violation`` the sum of the amounts of every violation the evaluator reports for this route (a client
    index or break index out of range adds 1, as ``unknown_id``), plus 1 for each shipment stop (its first
    visit) whose partner is not among the stops. An empty route (no client) returns zeros; a route too long
    for ``work`` returns infinities.
    """
    (nd, dist, dur, service, tw, n_tw, delivery, pickup, has_delivery, has_pickup, capacity, depot_tw, vstart,
     vend, shift, max_duration, max_distance, fixed, cpd, cpt, strict, missing, release_time, has_release,
     depot_service, reload_at, has_reload_depots, max_reloads, n_breaks, break_order, break_duration,
     break_tw, break_ntw, partner, is_pickup, shipment_of, max_ride, shipment_load, has_shipments) = F
    n_clients = len(service)
    k_dims = delivery.shape[1]
    n_b = n_breaks[v]
    if n + n_b + 1 > work.shape[1] or k_dims > work.shape[1] or n_clients > work.shape[1]:
        return INF, INF, INF, INF
    clients, at, rel = work[_W_CLIENT], work[_W_AT], work[_W_REL]
    viol = 0.0

    # Clients, reloads and listed breaks: a reload at position p (before clients[p]) is made when 0 < p < m
    # and it is the first one there (else ``reload``, left out); a break index out of range: ``unknown_id``.
    m = 0
    for j in range(n):
        c = stops[j]
        if c >= 0:
            if c < n_clients:
                clients[m] = c
                m += 1
            else:
                viol += 1.0  # unknown_id
    if m == 0:
        return 0.0, 0.0, 0.0, 0.0
    for p in range(m + 1):
        at[p] = -1.0
    bpos, bidx = work[_W_BPOS], work[_W_BIDX]
    k = 0  # valid clients before the stop
    n_at = 0
    listed = False
    n_listed = 0
    for j in range(n):
        s = stops[j]
        if s >= 0:
            if s < n_clients:
                k += 1
            continue
        depot = -s - 1
        if depot >= nd:
            listed = True
            b = depot - nd
            if b >= n_b:
                viol += 1.0  # unknown_id
            else:
                bpos[n_listed] = k
                bidx[n_listed] = b
                n_listed += 1
        elif not (0 < k < m) or at[k] >= 0:
            viol += 1.0  # reload (left out)
        else:
            if not reload_at[v, depot]:
                viol += 1.0  # reload
            at[k] = depot
            n_at += 1
    most = max_reloads[v]
    if has_reload_depots[v] and 0 <= most < n_at:
        viol += float(n_at - most)

    start_node = vstart[v]
    end_node = vend[v]
    shift_end = shift[v, 1]
    close_at = depot_tw[start_node, 1]
    t0 = max(shift[v, 0], depot_tw[start_node, 0])

    # Skills; release times per trip.
    for i in range(m):
        viol += missing[v, int(clients[i])]
    any_release = False
    for p in range(m + 1):
        rel[p] = 0.0
    if has_release:
        lo = 0
        while lo < m:
            hi = lo + 1
            while hi < m and at[hi] < 0:
                hi += 1
            latest_release = release_time[int(clients[lo])]
            for i in range(lo + 1, hi):
                r = release_time[int(clients[i])]
                if r > latest_release:
                    latest_release = r
            if latest_release > 0:
                rel[lo] = latest_release
                any_release = True
            lo = hi

    # Distance.
    prev = start_node
    distance = 0.0
    for i in range(m):
        depot = int(at[i])
        if depot >= 0:
            distance += dist[prev, depot]
            prev = depot
        node = nd + int(clients[i])
        distance += dist[prev, node]
        prev = node
    if end_node >= 0:
        distance += dist[prev, end_node]

    # Breaks: listed (each break of the type once), or of the short form, placed one by one on the schedule
    # from the earliest departure.
    if listed:
        for b in range(n_b):
            times = 0
            for i in range(n_listed):
                if bidx[i] == b:
                    times += 1
            if times != 1:
                viol += 1.0 if times == 0 else float(times - 1)  # break
        n_placed = n_listed
    else:
        for i in range(n_b):
            b = break_order[v, i]
            ne = _fleet_events(nd, service, depot_service, break_duration, v, start_node, m, i, work)
            _fleet_times(dur, tw, n_tw, depot_tw, break_tw, break_ntw, v, work, ne, t0, _W_TIMES)
            bpos[i] = _fleet_place_break(work, ne, t0, m, v, b, break_tw, break_ntw)
            bidx[i] = b
        n_placed = n_b
    ne = _fleet_events(nd, service, depot_service, break_duration, v, start_node, m, n_placed, work)

    # Times: first pass from the earliest departure, then delay the departure by the slack found.
    t_start = t0
    delay, any_late = _fleet_times(dur, tw, n_tw, depot_tw, break_tw, break_ntw, v, work, ne, t0, _W_TIMES)
    latest = min(shift_end, close_at) - t0
    if delay > EPS and latest > EPS and not any_late:
        t_start = t0 + min(delay, latest)
        _, any_late = _fleet_times(dur, tw, n_tw, depot_tw, break_tw, break_ntw, v, work, ne, t_start, _W_TIMES)
    t_end = _fleet_end(dur, work, ne, _W_TIMES, end_node)
    end_close = depot_tw[end_node, 1] if end_node >= 0 else INF
    kinds, refs = work[_W_KIND], work[_W_REF]
    multi = False
    for i in range(ne):
        if not _fleet_single(int(kinds[i]), int(refs[i]), v, n_tw, break_ntw):
            multi = True
            break
    if not any_late and multi:
        # ``_later_window_start``: a later departure that reaches some event in a later window.
        latest_start = t0 + max(latest, 0.0)
        latest_end = min(shift_end, end_close)
        found = False
        best_s = best_end = 0.0
        best_duration = t_end - t_start
        prefix = 0.0  # travel and service from the depot to each event, without waiting
        travels, nodes, prevs, services = work[_W_TRAVEL], work[_W_NODE], work[_W_PREV], work[_W_SERVICE]
        for i in range(ne):
            if travels[i] != 0.0:
                prefix += dur[int(prevs[i]), int(nodes[i])]
            kind = int(kinds[i])
            ref = int(refs[i])
            if not _fleet_single(kind, ref, v, n_tw, break_ntw):
                n_w = n_tw[ref] if kind == _EV_CLIENT else break_ntw[v, ref]
                for w in range(n_w):
                    a = tw[ref, w, 0] if kind == _EV_CLIENT else break_tw[v, ref, w, 0]
                    s = a - prefix
                    if not (t_start + EPS < s <= latest_start + EPS):
                        continue
                    slack, bad = _fleet_times(dur, tw, n_tw, depot_tw, break_tw, break_ntw, v, work, ne, s,
                                              _W_TRIAL)
                    if bad:
                        continue
                    s = s + min(slack, max(latest_start - s, 0.0))
                    _, bad = _fleet_times(dur, tw, n_tw, depot_tw, break_tw, break_ntw, v, work, ne, s, _W_TRIAL)
                    end = _fleet_end(dur, work, ne, _W_TRIAL, end_node)
                    if not bad and end <= latest_end + EPS and end - s < best_duration - EPS:
                        found = True
                        best_s = s
                        best_end = end
                        best_duration = end - s
                        for r in range(4):
                            for j in range(ne):
                                work[_W_BEST + r, j] = work[_W_TRIAL + r, j]
            prefix += services[i]
        if found:
            t_start = best_s
            t_end = best_end
            for r in range(4):
                for j in range(ne):
                    work[_W_TIMES + r, j] = work[_W_BEST + r, j]
    duration = t_end - t_start

    # Loads, trip by trip, with the shipments on board.
    q, peaks, on_board = work[_W_Q], work[_W_PEAK], work[_W_ON_BOARD]
    simple = n_at == 0 and not has_shipments
    for d in range(k_dims):
        on_board[d] = 0.0
        peaks[d] = -INF
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and at[hi] < 0:
            hi += 1
        for d in range(k_dims):
            s = 0.0
            for i in range(lo, hi):
                s += delivery[int(clients[i]), d]
            q[d] = s + on_board[d]
            if q[d] > peaks[d]:
                peaks[d] = q[d]
        for i in range(lo, hi):
            c = int(clients[i])
            for d in range(k_dims):
                if simple:
                    q[d] += pickup[c, d] - delivery[c, d]
                else:
                    moved = shipment_load[c, d]
                    q[d] = q[d] - delivery[c, d] + pickup[c, d] + moved
                    on_board[d] += moved
                if q[d] > peaks[d]:
                    peaks[d] = q[d]
        lo = hi
    excess = peaks[0] - capacity[v, 0]
    for d in range(1, k_dims):
        e = peaks[d] - capacity[v, d]
        if e > excess:
            excess = e
    if excess > EPS:
        viol += excess

    # Lateness of the events (time_window, break, depot_time_window at reloads); client start and departure.
    late, start, departure = work[_W_TIMES + 3], work[_W_TIMES + 1], work[_W_TIMES + 2]
    cstart, cdep, poss = work[_W_CSTART], work[_W_CDEP], work[_W_POS]
    for i in range(ne):
        if late[i] > EPS:
            viol += late[i]
        if int(kinds[i]) == _EV_CLIENT:
            cstart[int(poss[i])] = start[i]
            cdep[int(poss[i])] = departure[i]
    if t_start > close_at + EPS:
        viol += t_start - close_at
    past_shift = past_close = False  # a release time made the vehicle leave a depot after these limits
    if any_release:
        releases, prevs = work[_W_RELEASE], work[_W_PREV]
        for i in range(ne):
            r = releases[i]
            ready = departure[i - 1] if i else t_start
            if r > ready + EPS:
                limit = min(depot_tw[int(prevs[i]), 1], shift_end)
                if r > limit + EPS:
                    viol += r - max(limit, ready)
                    past_shift = past_shift or r > shift_end + EPS
                    past_close = past_close or r > end_close + EPS
    if t_end > end_close + EPS and not past_close:
        viol += t_end - end_close
    if past_shift:
        pass
    elif t_end > shift_end + EPS:
        viol += t_end - shift_end
    elif t_start > shift_end + EPS:
        viol += t_start - shift_end
    if duration > max_duration[v] + EPS:
        viol += duration - max_duration[v]
    if distance > max_distance[v] + EPS:
        viol += distance - max_distance[v]
    if strict:
        seen_pickup = False
        for i in range(m):
            if at[i] >= 0:  # a new trip
                seen_pickup = False
            c = int(clients[i])
            if has_delivery[c]:
                if seen_pickup:
                    viol += 1.0
            elif has_pickup[c]:
                seen_pickup = True
    if has_shipments:
        where = work[_W_WHERE]
        for i in range(m):
            c = int(clients[i])
            if partner[c] >= 0:
                where[c] = -1.0
        for i in range(m):
            c = int(clients[i])
            if partner[c] >= 0 and where[c] < 0:
                where[c] = i
        for i in range(m):
            c = int(clients[i])
            o = partner[c]
            if o < 0 or where[c] != i:
                continue
            kp = int(where[o])
            if not (0 <= kp < m and int(clients[kp]) == o):  # a stale entry: the partner is not on the route
                viol += 1.0
                continue
            if is_pickup[c]:
                continue
            if kp > i:
                viol += 1.0  # shipment_order
            else:
                ride = cstart[i] - cdep[kp]
                most_ride = max_ride[shipment_of[c]]
                if ride > most_ride + EPS:
                    viol += ride - most_ride

    cost = fixed[v] + cpd[v] * distance + cpt[v] * duration
    return distance, duration, cost, viol


@_fjit
def _fleet_better(viol: float, cost: float, best_viol: float, best_cost: float) -> bool:
    """Whether ``(viol, cost)`` is lexicographically better than the best so far (beyond the tolerance)."""
    if viol < best_viol - EPS:
        return True
    return viol <= best_viol + EPS and cost < best_cost - EPS


@_fjit
def _fleet_trial(cur: np.ndarray, length: int, j: int, slot: int, out: np.ndarray) -> int:
    """The stops ``cur[:length]`` with the event at ``j`` moved before the event at ``slot`` of the others
    (``slot == length - 1``: to the end), into ``out``; returns the length."""
    moved = cur[j]
    w = 0
    r = 0
    for i in range(length):
        if i == j:
            continue
        if r == slot:
            out[w] = int(moved)
            w += 1
        out[w] = int(cur[i])
        w += 1
        r += 1
    if r == slot:
        out[w] = int(moved)
        w += 1
    return w


@_fjit
def best_breaks(F: tuple, v: int, stops: np.ndarray, n: int, work: np.ndarray, out: np.ndarray) -> int:
    """The best placement of the breaks of the route ``stops[:n]`` of type ``v`` (the events of
    :func:`fleet_route`): from the route's own placement (its listed breaks, or where the short form takes
    them), each break event is moved to every other place among the other events (every position, before or
    after the other breaks there) and kept at the place with the lexicographically smallest ``(violation,
    cost)`` of :func:`fleet_route`, break by break until no move gains. Writes the stops of the placement found
    (listed form) into ``out`` (int64, at least ``n + n_breaks`` long) and returns their number; a route
    without breaks or clients, or too long for ``work``, is copied as it is. Allocates nothing."""
    nd = F[0]
    n_clients = len(F[3])
    n_b = F[28][v]
    cur = work[_W_CUR]
    for j in range(n):
        out[j] = stops[j]
    if n_b == 0:
        return n
    listed = False
    m = 0
    for j in range(n):
        if stops[j] < -nd:
            listed = True
        elif 0 <= stops[j] < n_clients:
            m += 1
    if m == 0:
        return n
    length = n
    _, _, cost, viol = fleet_route(F, v, stops, n, work)
    if not np.isfinite(cost):
        return n
    if listed:
        for j in range(n):
            cur[j] = stops[j]
    else:
        # The short form's placement, as listed breaks: before the client at their position (or at the end).
        bpos, bidx = work[_W_BPOS], work[_W_BIDX]
        length = 0
        k = 0
        for j in range(n + 1):
            client = j < n and 0 <= stops[j] < n_clients
            if client or j == n:
                for i in range(n_b):
                    if int(bpos[i]) == k:
                        cur[length] = -(nd + 1 + int(bidx[i]))
                        length += 1
            if j == n:
                break
            cur[length] = stops[j]
            length += 1
            if client:
                k += 1
        for j in range(length):
            out[j] = int(cur[j])
        _, _, cost, viol = fleet_route(F, v, out, length, work)
    rounds = 0
    improved = True
    while improved and rounds < 4 * n_b + 4:
        improved = False
        rounds += 1
        j = 0
        while j < length:
            if cur[j] >= -nd:  # a client or a reload
                j += 1
                continue
            best_slot = -1
            best_viol, best_cost = viol, cost
            for slot in range(length):
                if slot == j:
                    continue  # where it is
                if slot > 0:
                    before = cur[slot - 1] if slot - 1 < j else cur[slot]
                    if -nd <= before < 0:
                        continue  # between a reload and its client: the same place as before the reload
                w = _fleet_trial(cur, length, j, slot, out)
                _, _, c, x = fleet_route(F, v, out, w, work)
                if _fleet_better(x, c, best_viol, best_cost):
                    best_slot, best_viol, best_cost = slot, x, c
            if best_slot >= 0:
                _fleet_trial(cur, length, j, best_slot, out)
                for i in range(length):
                    cur[i] = out[i]
                viol, cost = best_viol, best_cost
                improved = True
            j += 1
    for i in range(length):
        out[i] = int(cur[i])
    return length
