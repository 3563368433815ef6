"""Reasons why a problem has no feasible plan, whatever the solver.

:func:`diagnose` lists only certain causes: each reason it gives makes every plan infeasible. It looks at
each required client alone (can some vehicle type serve it on a trip of its own?) and at the fleet as a whole
(is there enough capacity in total?). An empty list does not prove that a feasible plan exists.

Travel times and distances used here are shortest paths over the matrices (service times included at
intermediate stops), so the bounds stay valid when a matrix breaks the triangle inequality (rounded
distances, road networks). :func:`client_vehicle_feasibility` gives the same per-client, per-vehicle-type
test as an array, for solvers that want to restrict which vehicles may visit a client.

A real fleet's day: a type that lacks one of a client's skills cannot serve it; a client's trip leaves no
earlier than its release time, from the start depot or from one of the type's reload depots (reached from the
start), and not after the shift ends or every such depot closes; a shipment's amount must fit the capacity;
a type that may reload has no total-capacity bound (its capacity holds per trip); and a trip lasts at least
its travel and services plus the durations of its type's breaks (their windows are not counted).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from vrpkit.model import Problem

_EPS = 1e-6

# Why vehicle type t cannot serve client i on a trip of its own; OK when it can.
OK, DEPART, CAPACITY, WINDOW, RETURN, DURATION, DISTANCE, SKILLS, RELEASE = range(9)


@dataclass(frozen=True)
class _Trips:
    """Per vehicle type (rows) and client (columns): the first failed check and the numbers behind it."""

    code: np.ndarray  # (T, N) int
    arrival: np.ndarray  # earliest arrival at the client (T, N)
    window_end: np.ndarray  # (N,) end of the client's last window
    end: np.ndarray  # earliest end of the trip (T, N)
    end_limit: np.ndarray  # (T,) latest allowed end: shift end, end depot close
    duration: np.ndarray  # shortest possible trip duration (T, N)
    distance: np.ndarray  # shortest possible trip distance (T, N)
    release_limit: np.ndarray  # (T,) the latest a trip may leave its depot: shift end, the latest depot close


def _shortest_from(weights: np.ndarray, source: int, row_add: np.ndarray | None = None,
                   col_add: np.ndarray | None = None) -> np.ndarray:
    """Shortest path lengths from ``source`` to every node (non-negative weights).

    The arc ``k -> j`` weighs ``weights[k, j] + row_add[k] + col_add[j]`` (the adds default to 0), so that a
    matrix plus service times needs no second matrix in memory. Starts from the direct arcs and relaxes all arcs
    at once until nothing improves: one pass when the matrix satisfies the triangle inequality, a few for rounded
    or road matrices; dense Dijkstra beyond that. Memory: O(n) beyond ``weights`` (row blocks).
    """
    n = len(weights)
    r = np.zeros(n) if row_add is None else np.asarray(row_add, dtype=float)
    c = np.zeros(n) if col_add is None else np.asarray(col_add, dtype=float)
    dist = weights[source] + (r[source] + c)
    dist[source] = 0.0
    chunk = max(1, 2**22 // max(n, 1))
    for _ in range(8):
        best = dist.copy()
        start = dist + r
        for k in range(0, n, chunk):
            np.minimum(best, (start[k:k + chunk, None] + weights[k:k + chunk]).min(axis=0) + c, out=best)
        if not (best < dist).any():
            return dist
        dist = best
    done = np.zeros(n, dtype=bool)
    dist[source] = 0.0
    for _ in range(n):
        masked = np.where(done, np.inf, dist)
        k = int(np.argmin(masked))
        if not math.isfinite(masked[k]):
            break
        done[k] = True
        np.minimum(dist, dist[k] + r[k] + weights[k] + c, out=dist)
    return dist


_CACHE: weakref.WeakKeyDictionary[Problem, _Trips] = weakref.WeakKeyDictionary()


def _trips(problem: Problem) -> _Trips:
    """The single-client trips of ``problem``, computed once per problem (problems are immutable)."""
    trips = _CACHE.get(problem)
    if trips is None:
        trips = _CACHE[problem] = _compute_trips(problem)
    return trips


def _compute_trips(problem: Problem) -> _Trips:
    nd, n = problem.n_depots, problem.n_clients
    service = np.concatenate([np.zeros(nd), problem.service_time])
    duration = np.asarray(problem.duration, dtype=float)  # leaving i for j: service at i, then travel
    dist_w = np.asarray(problem.distance, dtype=float)
    starts, ends = problem.vehicle_start, problem.vehicle_end
    reload_at = problem.reload_allowed
    depots = sorted({int(d) for d in starts} | {int(d) for d in ends if d >= 0}
                    | {int(d) for d in np.flatnonzero(reload_at.any(axis=0))})
    t_out = {d: _shortest_from(duration, d, row_add=service) for d in depots}
    t_back = {d: _shortest_from(duration.T, d, col_add=service) for d in depots}  # node -> d, service included
    d_out = {d: _shortest_from(dist_w, d) for d in depots}
    d_back = {d: _shortest_from(dist_w.T, d) for d in depots}

    n_types = len(problem.vehicle_types)
    code = np.zeros((n_types, n), dtype=np.int64)
    arrival = np.zeros((n_types, n))
    end = np.zeros((n_types, n))
    duration = np.zeros((n_types, n))
    distance = np.zeros((n_types, n))
    end_limit = np.zeros(n_types)
    release_limit = np.zeros(n_types)
    windows = problem.time_windows  # (N, W, 2), padded with the last window
    window_end = windows[:, -1, 1]
    moved = np.abs(problem.shipment_load)  # a shipment's amount is on board between its stops
    cap = problem.capacity[:, None, :]
    fits = (problem.delivery[None, :, :] <= cap) & (problem.pickup[None, :, :] <= cap) & (moved[None, :, :] <= cap)
    release = problem.release_time
    dwin = problem.depot_windows
    for t, vt in enumerate(problem.vehicle_types):
        s, e = int(starts[t]), int(ends[t])
        t0 = max(vt.shift[0], dwin[s, 0])
        latest_start = min(vt.shift[1], dwin[s, 1])
        leave = np.maximum(t0, release)  # the trip leaves no earlier than the client's release time
        arr = leave + t_out[s][nd:]
        closes = dwin[s, 1]
        for r in np.flatnonzero(reload_at[t]):  # or a trip that leaves a reload depot, reached from the start
            arr = np.minimum(arr, np.maximum(t0 + t_out[s][r], release) + t_out[r][nd:])
            closes = max(closes, dwin[r, 1])
        last_leave = min(vt.shift[1], closes)  # the latest a trip may leave its depot
        # Service starts at the first window that has not closed on arrival.
        open_ = windows[:, :, 1] >= arr[:, None] - _EPS
        first = np.argmax(open_, axis=1)
        begin = np.maximum(arr, windows[np.arange(n), first, 0])
        if e >= 0:
            back_t, back_d = t_back[e][nd:], d_back[e][nd:]
            limit = min(vt.shift[1], dwin[e, 1])
        else:
            back_t, back_d = problem.service_time, np.zeros(n)
            limit = vt.shift[1]
        taken = float(sum(b.duration for b in vt.breaks))  # every used vehicle takes each of its breaks
        dur = t_out[s][nd:] + back_t + taken
        finish = np.maximum(begin + back_t, t0 + dur)
        dis = d_out[s][nd:] + back_d
        c = np.full(n, OK)
        c = np.where(dis > vt.max_distance + _EPS, DISTANCE, c)
        c = np.where(dur > vt.max_duration + _EPS, DURATION, c)
        c = np.where(finish > limit + _EPS, RETURN, c)
        c = np.where(arr > window_end + _EPS, WINDOW, c)
        c = np.where(release > last_leave + _EPS, RELEASE, c)
        c = np.where(~fits[t].all(axis=1), CAPACITY, c)
        c = np.where(~problem.skills_ok[t], SKILLS, c)
        if t0 > latest_start + _EPS:
            c[:] = DEPART
        code[t], arrival[t], end[t], duration[t], distance[t] = c, arr, finish, dur, dis
        end_limit[t], release_limit[t] = limit, last_leave
    return _Trips(code, arrival, window_end, end, end_limit, duration, distance, release_limit)


def client_vehicle_feasibility(problem: Problem) -> np.ndarray:
    """``(n_vehicle_types, n_clients)`` bool: whether a vehicle of type t can serve client i on a trip of its
    own without breaking any constraint (a necessary condition for serving i at all)."""
    return _trips(problem).code == OK


def _num(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return str(round(x)) if abs(x - round(x)) < 1e-9 else f"{x:.6g}"


def _amounts(values: np.ndarray) -> str:
    return _num(float(values[0])) if len(values) == 1 else "[" + ", ".join(_num(float(v)) for v in values) + "]"


def _capacity_detail(problem: Problem, i: int, types: list[int], *, one_type: bool = False) -> str:
    """What does not fit: the client's delivery, pickup or shipment amount against the capacities of ``types``."""
    caps = problem.capacity[types]  # (len(types), K)
    dims = problem.n_dims
    kinds = [("delivery", problem.delivery[i]), ("pickup", problem.pickup[i])]
    if problem.shipments:
        kinds.append((f"shipment {problem.shipments[int(problem.shipment_of[i])].id}'s amount"
                      if problem.shipment_of[i] >= 0 else "shipment", np.abs(problem.shipment_load[i])))
    for kind, amounts in kinds:
        if not (amounts[None, :] > caps).any(axis=1).all():
            continue  # some type takes this amount
        over_all = np.flatnonzero(amounts > caps.max(axis=0))
        if len(over_all):
            k = int(over_all[0])
            dim = f" in dimension {k}" if dims > 1 else ""
            largest = _num(float(caps[:, k].max()))
            if one_type:
                whose = f"its capacity {largest}"
            elif len(set(caps[:, k].tolist())) == 1:
                whose = f"every vehicle's capacity {largest}"
            else:
                whose = f"every vehicle's capacity (largest {largest})"
            return f"{kind} {_num(float(amounts[k]))}{dim} exceeds {whose}"
        listed = ", ".join(f"{problem.vehicle_types[t].id} {_amounts(problem.capacity[t])}" for t in types)
        return f"{kind} {_amounts(amounts)} does not fit any vehicle's capacity ({listed})"
    return (f"delivery {_amounts(problem.delivery[i])} and pickup {_amounts(problem.pickup[i])} do not both fit "
            "any vehicle's capacity")


def _reason(problem: Problem, trips: _Trips, i: int, t: int, code: int) -> str:
    """One vehicle type's reason, for the per-type list."""
    vt = problem.vehicle_types[t]
    if code == CAPACITY:
        return _capacity_detail(problem, i, [t], one_type=True)
    if code == WINDOW:
        return f"arrives at {_num(trips.arrival[t, i])} after the window closes at {_num(trips.window_end[i])}"
    if code == RETURN:
        where = "its shift ends" if vt.end_depot is None else "its shift ends or the end depot closes"
        return f"back at {_num(trips.end[t, i])} at the earliest, after {where} at {_num(trips.end_limit[t])}"
    if code == DURATION:
        return f"the trip takes at least {_num(trips.duration[t, i])} > max_duration {_num(vt.max_duration)}"
    if code == DISTANCE:
        return f"the trip is at least {_num(trips.distance[t, i])} long > max_distance {_num(vt.max_distance)}"
    if code == SKILLS:
        missing = sorted(set(problem.clients[i].skills) - set(vt.skills))
        return f"lacks skill{'s' * (len(missing) != 1)} {', '.join(missing)}"
    if code == RELEASE:
        return (f"released at {_num(problem.clients[i].release_time)}, after the latest time a trip may leave "
                f"its depot ({_num(trips.release_limit[t])})")
    return "cannot leave its depot"


def _client_reason(problem: Problem, trips: _Trips, i: int, types: list[int]) -> str:
    cid = problem.clients[i].id
    codes = {int(trips.code[t, i]) for t in types}
    if len(codes) > 1:
        parts = [f"{problem.vehicle_types[t].id}: {_reason(problem, trips, i, t, int(trips.code[t, i]))}"
                 for t in types]
        return f"client {cid}: no vehicle can serve it ({'; '.join(parts)})"
    code = codes.pop()
    if code == CAPACITY:
        return f"client {cid}: {_capacity_detail(problem, i, types)}"
    if code == SKILLS:
        need = ", ".join(sorted(set(problem.clients[i].skills)))
        return f"client {cid}: no vehicle type has all of its skills ({need})"
    if code == RELEASE:
        limit = max(trips.release_limit[t] for t in types)
        return (f"client {cid}: released at {_num(problem.clients[i].release_time)}, after every vehicle must "
                f"have left its depot (latest {_num(limit)})")
    if code == WINDOW:
        earliest = min(trips.arrival[t, i] for t in types)
        return (f"client {cid}: time window closes at {_num(trips.window_end[i])} before any vehicle can arrive "
                f"(earliest arrival {_num(earliest)})")
    if code == RETURN:
        earliest = min(trips.end[t, i] for t in types)
        limit = max(trips.end_limit[t] for t in types)
        open_routes = all(problem.vehicle_types[t].end_depot is None for t in types)
        what = ("finish within its shift" if open_routes
                else "get back to the end depot within its shift and opening hours")
        return (f"client {cid}: no vehicle can serve it and {what} (earliest end {_num(earliest)}, latest "
                f"allowed {_num(limit)})")
    if code == DURATION:
        shortest = min(trips.duration[t, i] for t in types)
        limit = max(problem.vehicle_types[t].max_duration for t in types)
        return (f"client {cid}: a direct trip to it takes at least {_num(shortest)}, more than every vehicle's "
                f"max_duration (largest {_num(limit)})")
    shortest = min(trips.distance[t, i] for t in types)
    limit = max(problem.vehicle_types[t].max_distance for t in types)
    return (f"client {cid}: a direct trip to it is at least {_num(shortest)} long, more than every vehicle's "
            f"max_distance (largest {_num(limit)})")


def _fleet_reasons(problem: Problem, usable: list[int]) -> list[str]:
    """Total demand of the required clients against the total capacity of a finite fleet (none when a usable
    type may reload: its capacity holds per trip)."""
    vts = problem.vehicle_types
    if not usable or any(vts[t].count is None for t in usable) or problem.reload_allowed[usable].any():
        return []
    counts = np.array([vts[t].count for t in usable], dtype=float)
    total_cap = (problem.capacity[usable] * counts[:, None]).sum(axis=0)
    n_vehicles = int(counts.sum())
    out = []
    req = problem.required
    for kind, amounts in (("delivery", problem.delivery), ("pickup", problem.pickup)):
        need = amounts[req].sum(axis=0)
        for k in range(problem.n_dims):
            if math.isfinite(total_cap[k]) and need[k] > total_cap[k] + _EPS:
                dim = f" in dimension {k}" if problem.n_dims > 1 else ""
                plural = "s" if n_vehicles != 1 else ""
                out.append(f"total {kind} {_num(float(need[k]))}{dim} of the required clients exceeds the fleet's "
                           f"total capacity {_num(float(total_cap[k]))} ({n_vehicles} vehicle{plural})")
    return out


def diagnose(problem: Problem) -> list[str]:
    """Clear reasons why ``problem`` has no feasible plan (empty when none is found; see the module doc).

    Reasons name the client or the fleet, e.g. ``client c3: delivery 30 exceeds every vehicle's capacity
    20`` or ``client c17: time window closes at 50 before any vehicle can arrive (earliest arrival 62)``.
    """
    if not problem.required.any():
        return []
    trips = _trips(problem)
    n_types = len(problem.vehicle_types)
    usable = [t for t in range(n_types) if (trips.code[t] != DEPART).any()]
    if not usable:
        parts = []
        for vt in problem.vehicle_types:
            d = problem.depots[problem.depot_index[vt.start_depot]]
            parts.append(f"{vt.id} (shift {_num(vt.shift[0])}-{_num(vt.shift[1])}, depot {d.id} open "
                         f"{_num(d.time_window[0])}-{_num(d.time_window[1])})")
        return ["no vehicle can leave its depot within its shift and the depot's opening hours: "
                + "; ".join(parts)]
    reasons = []
    served = (trips.code[usable] == OK).any(axis=0)
    for i in np.flatnonzero(problem.required & ~served):
        reasons.append(_client_reason(problem, trips, int(i), usable))
    reasons.extend(_fleet_reasons(problem, usable))
    return reasons


__all__ = ["client_vehicle_feasibility", "diagnose"]
