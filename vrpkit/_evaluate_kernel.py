"""The evaluator's compiled kernel: the schedule, loads, costs and violations of many plans of one problem.

:func:`evaluate_plans` is the rules of :mod:`vrpkit.evaluate` (its module docstring is the specification)
over flat arrays: the problem's arrays as they are (the matrices are read in place, never copied) and the
plans as flat arrays of routes and stops. It writes every number of every
:class:`~vrpkit.evaluate.Evaluation` into preallocated output arrays; :mod:`vrpkit.evaluate` builds the
objects. The arithmetic is the pure-Python evaluator's (commit 813d688), operation for operation, so the
results agree to the bit (``tests/test_evaluate_parity.py``). Problems with a travel-time profile are not
handled here (:mod:`vrpkit.evaluate` times them in Python).

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
        m = n_tw[c]
        a = tw[c, m - 1, 0]
        b = tw[c, m - 1, 1]
        if m > 1:
            for w in range(m):
                if tw[c, w, 1] >= t - EPS:  # a window that closed within the tolerance still serves
                    a = tw[c, w, 0]
                    b = tw[c, w, 1]
                    break
        if t < a:
            cum_wait += a - t
            t = a
        if t > b:
            late[k] = t - b
            any_late = True
        else:
            late[k] = 0.0
            if cum_wait + b - t < slack:
                slack = cum_wait + b - t
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
