"""Compiled local search for every problem vrpkit models, usable by any solver.

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
- removal and insertion of optional clients (prizes), insertion of clients a plan left out, and moving a
  whole route to another vehicle type.

A move is applied when it lowers the total violation of the plan (load, time warp, duration, distance,
backhaul order, fleet size, missing clients), or keeps it and lowers the cost. A feasible plan thus stays
feasible and never gets more expensive; an infeasible one is repaired where the moves allow it.

Not supported: clients with several time windows (:func:`unsupported` says so).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import NamedTuple

import numba as nb
import numpy as np

from vrpkit.errors import SolverError, ValidationError
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

# Fields of a segment row (a float64 vector). Loads follow: deliveries (K), pickups (K), peak load (K).
FIRST, LAST, DIST, DUR, TWARP, EARLY, LATE, LINE, BACK, BAD = range(10)
LOAD = 10
TOL = 1e-7
"""Excess below this is not a violation (the evaluator allows 1e-6)."""


def unsupported(problem: Problem) -> str | None:
    """Why the local search cannot handle ``problem``, or None."""
    if "multiple_time_windows" in problem.attributes:
        return "clients with several time windows are not supported"
    return None


class Data(NamedTuple):
    """A problem as flat arrays for the compiled code. Node ``n_nodes`` is a virtual end of open routes."""

    dist: np.ndarray  # (M, M)
    dur: np.ndarray  # (M, M)
    node: np.ndarray  # (N, F) segment of each client alone
    start: np.ndarray  # (V, F) start depot segment per vehicle type
    end: np.ndarray  # (V, F) end depot (or virtual end) segment per vehicle type
    cap: np.ndarray  # (V, K)
    fixed: np.ndarray  # (V,)
    cpd: np.ndarray
    cpt: np.ndarray
    max_dur: np.ndarray
    max_dist: np.ndarray
    prize: np.ndarray  # (N,)
    required: np.ndarray  # (N,) bool
    neigh: np.ndarray  # (N, k) nearest clients
    nd: int
    K: int
    use_time: bool
    simple: bool  # no time, no pickups: a route's distance and load are prefix differences
    strict: bool
    optional: bool
    max_segment: int
    max_exchange: int


class State(NamedTuple):
    """A plan as linked routes in vehicle slots, with prefix and suffix segments of every client."""

    nxt: np.ndarray  # (N,) next client on the route, -1 at the end
    prv: np.ndarray  # (N,) previous client, -1 at the start
    rte: np.ndarray  # (N,) slot of the client, -1 when unassigned
    pos: np.ndarray  # (N,) position in the route
    first: np.ndarray  # (R,) first client, -1 when empty
    last: np.ndarray  # (R,)
    size: np.ndarray  # (R,)
    rtype: np.ndarray  # (R,) vehicle type of the slot
    excess: np.ndarray  # (R,) bool: a slot beyond the fleet size (a violation when used)
    tstart: np.ndarray  # (V + 1,) slots of type t are tstart[t]..tstart[t+1]-1
    free: np.ndarray  # (V,) an empty slot of each type, -1 if none
    fwd: np.ndarray  # (N, F) segment from the route's first client to this one
    bwd: np.ndarray  # (N, F) segment from this client to the route's last client
    rcum: np.ndarray  # (N,) distance of the prefix driven backwards (for reversals)
    rseg: np.ndarray  # (R, F) whole route with its depots
    rcost: np.ndarray  # (R,)
    rviol: np.ndarray  # (R,)
    totals: np.ndarray  # (2,) plan cost (with prizes lost), plan violation (with missing clients)


class Work(NamedTuple):
    """Scratch space for one search."""

    buf: np.ndarray  # (6, F)
    pa: np.ndarray  # (2, 6) piece starts per changed route
    pb: np.ndarray  # (2, 6) piece ends
    pr: np.ndarray  # (2, 6) piece reversed
    npc: np.ndarray  # (2,) pieces per changed route
    nodes: np.ndarray  # (2, N) the changed routes' new client lists
    counters: np.ndarray  # (2,) moves applied, moves evaluated


# -- problem compilation ---------------------------------------------------------------------------------


def compile_problem(problem: Problem, *, granularity: int = 20, max_segment: int = 3,
                    max_exchange: int = 2) -> Data:
    """Flatten ``problem`` for the compiled search (raises :class:`SolverError` when unsupported)."""
    reason = unsupported(problem)
    if reason:
        raise SolverError(f"local search: {reason}")
    if granularity < 1:
        raise ValidationError("granularity", f"{granularity} < 1")
    if not 1 <= max_segment <= 6 or not 0 <= max_exchange <= max_segment:
        raise ValidationError("max_segment", "expected 1 <= max_exchange <= max_segment <= 6")
    nd, n, k_dims = problem.n_depots, problem.n_clients, problem.n_dims
    m = problem.n_nodes + 1
    dist = np.zeros((m, m))
    dist[:-1, :-1] = problem.distance
    dur = np.zeros((m, m))
    dur[:-1, :-1] = problem.duration
    vts = problem.vehicle_types
    n_types = len(vts)
    fields = LOAD + 3 * k_dims
    delivery = problem.delivery.astype(float)
    pickup = problem.pickup.astype(float)
    windows = problem.time_windows[:, 0, :] if n else np.zeros((0, 2))

    node = np.zeros((n, fields))
    node[:, FIRST] = node[:, LAST] = nd + np.arange(n)
    node[:, DUR] = problem.service_time
    node[:, EARLY] = windows[:, 0]
    node[:, LATE] = windows[:, 1]
    node[:, LINE] = delivery.any(axis=1)
    node[:, BACK] = pickup.any(axis=1) & ~delivery.any(axis=1)
    node[:, LOAD:LOAD + k_dims] = delivery
    node[:, LOAD + k_dims:LOAD + 2 * k_dims] = pickup
    node[:, LOAD + 2 * k_dims:] = np.maximum(delivery, pickup)

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

    time_attrs = {"time_windows", "duration_limit"}
    use_time = bool(time_attrs & problem.attributes) or any(vt.cost_per_duration > 0 for vt in vts)
    has_pickup = bool(problem.pickup.any())
    data = Data(
        dist=dist, dur=dur, node=node, start=start, end=end,
        cap=np.ascontiguousarray(problem.capacity, dtype=float),
        fixed=np.array([vt.fixed_cost for vt in vts], dtype=float),
        cpd=np.array([vt.cost_per_distance for vt in vts], dtype=float),
        cpt=np.array([vt.cost_per_duration for vt in vts], dtype=float),
        max_dur=np.array([vt.max_duration for vt in vts], dtype=float),
        max_dist=np.array([vt.max_distance for vt in vts], dtype=float),
        prize=np.ascontiguousarray(problem.prize, dtype=float),
        required=np.ascontiguousarray(problem.required, dtype=np.bool_),
        neigh=neighbours(problem, granularity),
        nd=nd, K=k_dims, use_time=use_time, simple=not use_time and not has_pickup,
        strict=problem.backhaul == "strict" and has_pickup,
        optional=not bool(problem.required.all()),
        max_segment=int(max_segment), max_exchange=int(max_exchange),
    )
    return data


def neighbours(problem: Problem, k: int) -> np.ndarray:
    """The ``k`` clients most related to each client ``(N, k)``, nearest first.

    Relatedness is the distance, plus (with time windows) the waiting and lateness that going from one to
    the other implies (Vidal et al., 2013), taken in the better direction.
    """
    n, nd = problem.n_clients, problem.n_depots
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64)
    d = problem.distance[nd:, nd:]
    score = d.astype(float, copy=True)
    if "time_windows" in problem.attributes:
        t = problem.duration[nd:, nd:]
        tw = problem.time_windows
        a, b = tw[:, 0, 0], tw[:, -1, 1]
        s = problem.service_time
        finite_b = np.where(np.isfinite(b), b, 1e18)
        wait = np.maximum(a[None, :] - s[:, None] - t - finite_b[:, None], 0.0)
        late = np.maximum(a[:, None] + s[:, None] + t - finite_b[None, :], 0.0)
        forward = d + 0.2 * wait + 1.0 * late
        score = np.minimum(forward, forward.T)
    np.fill_diagonal(score, np.inf)
    part = np.argpartition(score, k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    order = np.argsort(score[rows, part], axis=1, kind="stable")
    return np.ascontiguousarray(part[rows, order], dtype=np.int64)


def new_state(data: Data, problem: Problem, used: Sequence[int] = ()) -> State:
    """An empty plan with a slot per vehicle (``count`` or one per client when unlimited), plus excess slots
    when ``used[t]`` routes of type ``t`` exceed its count."""
    n = problem.n_clients
    fields = data.node.shape[1]
    sizes, excess = [], []
    for t, vt in enumerate(problem.vehicle_types):
        base = max(n, 1) if vt.count is None else vt.count
        extra = max(0, (used[t] if t < len(used) else 0) - base)
        sizes.append(base + extra)
        excess.extend([False] * base + [True] * extra)
    r = sum(sizes)
    tstart = np.zeros(len(sizes) + 1, dtype=np.int64)
    tstart[1:] = np.cumsum(sizes)
    rtype = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    state = State(
        nxt=np.full(n, -1, np.int64), prv=np.full(n, -1, np.int64), rte=np.full(n, -1, np.int64),
        pos=np.zeros(n, np.int64), first=np.full(r, -1, np.int64), last=np.full(r, -1, np.int64),
        size=np.zeros(r, np.int64), rtype=rtype, excess=np.array(excess, dtype=np.bool_), tstart=tstart,
        free=tstart[:-1].copy(), fwd=np.zeros((n, fields)), bwd=np.zeros((n, fields)), rcum=np.zeros(n),
        rseg=np.zeros((r, fields)), rcost=np.zeros(r), rviol=np.zeros(r), totals=np.zeros(2),
    )
    state.rseg[:, FIRST] = -1
    return state


def new_work(data: Data, n: int) -> Work:
    fields = data.node.shape[1]
    return Work(buf=np.zeros((6, fields)), pa=np.zeros((2, 6), np.int64), pb=np.zeros((2, 6), np.int64),
                pr=np.zeros((2, 6), np.bool_), npc=np.zeros(2, np.int64), nodes=np.zeros((2, max(n, 1)), np.int64),
                counters=np.zeros(2, np.int64))


# -- segments ---------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _concat(D, a, b, out):
    """out = a followed by b (out must alias neither)."""
    if a[FIRST] < 0:
        out[:] = b
        return
    if b[FIRST] < 0:
        out[:] = a
        return
    i = int(a[LAST])
    j = int(b[FIRST])
    out[FIRST] = a[FIRST]
    out[LAST] = b[LAST]
    out[DIST] = a[DIST] + b[DIST] + D.dist[i, j]
    if D.use_time:
        t = D.dur[i, j]
        delta = a[DUR] - a[TWARP] + t
        wait = max(b[EARLY] - delta - a[LATE], 0.0)
        warp = max(a[EARLY] + delta - b[LATE], 0.0)
        out[DUR] = a[DUR] + b[DUR] + t + wait
        out[TWARP] = a[TWARP] + b[TWARP] + warp
        out[EARLY] = max(b[EARLY] - delta, a[EARLY]) - wait
        out[LATE] = min(b[LATE] - delta, a[LATE]) + warp
    if D.strict:
        out[LINE] = max(a[LINE], b[LINE])
        out[BACK] = max(a[BACK], b[BACK])
        out[BAD] = a[BAD] + b[BAD] + (1.0 if a[BACK] > 0.0 and b[LINE] > 0.0 else 0.0)
    k_dims = D.K
    for k in range(k_dims):
        da = a[LOAD + k]
        db = b[LOAD + k]
        pa = a[LOAD + k_dims + k]
        pb = b[LOAD + k_dims + k]
        out[LOAD + k] = da + db
        out[LOAD + k_dims + k] = pa + pb
        out[LOAD + 2 * k_dims + k] = max(a[LOAD + 2 * k_dims + k] + db, b[LOAD + 2 * k_dims + k] + pa)


@nb.njit(cache=True)
def _score(D, seg, v, excess):
    """Cost and violation of a whole route (with depots) driven by vehicle type ``v``."""
    cost = D.fixed[v] + D.cpd[v] * seg[DIST] + D.cpt[v] * seg[DUR]
    viol = 0.0
    k_dims = D.K
    for k in range(k_dims):
        over = seg[LOAD + 2 * k_dims + k] - D.cap[v, k]
        if over > TOL:
            viol += over
    if D.use_time:
        if seg[TWARP] > TOL:
            viol += seg[TWARP]
        over = seg[DUR] - D.max_dur[v]
        if over > TOL:
            viol += over
    over = seg[DIST] - D.max_dist[v]
    if over > TOL:
        viol += over
    if D.strict:
        viol += seg[BAD]
    if excess:
        viol += 1.0
    return cost, viol


@nb.njit(cache=True)
def _piece(D, S, a, b, rev, out, t1, t2):
    """Segment of clients a..b of one route (b..a when ``rev``); a == b may be an unassigned client."""
    if a == b:
        out[:] = D.node[a]
        return
    if not rev:
        if S.prv[a] < 0:
            out[:] = S.fwd[b]
            return
        if S.nxt[b] < 0:
            out[:] = S.bwd[a]
            return
    if D.simple:
        k_dims = D.K
        out[:] = 0.0
        if rev:
            out[FIRST] = D.nd + b
            out[LAST] = D.nd + a
            out[DIST] = S.rcum[b] - S.rcum[a]
        else:
            out[FIRST] = D.nd + a
            out[LAST] = D.nd + b
            out[DIST] = S.fwd[b, DIST] - S.fwd[a, DIST]
        for k in range(k_dims):
            q = S.fwd[b, LOAD + k] - S.fwd[a, LOAD + k] + D.node[a, LOAD + k]
            out[LOAD + k] = q
            out[LOAD + 2 * k_dims + k] = q
        return
    if rev:
        x = b
        t1[:] = D.node[b]
        while x != a:
            x = S.prv[x]
            _concat(D, t1, D.node[x], t2)
            t1[:] = t2
    else:
        x = a
        t1[:] = D.node[a]
        while x != b:
            x = S.nxt[x]
            _concat(D, t1, D.node[x], t2)
            t1[:] = t2
    out[:] = t1


# -- pieces of changed routes -----------------------------------------------------------------------------


@nb.njit(cache=True)
def _reset(W):
    W.npc[0] = 0
    W.npc[1] = 0


@nb.njit(cache=True)
def _add(S, W, k, a, b, rev):
    """Append clients a..b (same route, a not after b) to changed route k; nothing when the range is empty."""
    if a < 0 or b < 0 or S.pos[a] > S.pos[b]:
        return
    i = W.npc[k]
    W.pa[k, i] = a
    W.pb[k, i] = b
    W.pr[k, i] = rev
    W.npc[k] = i + 1


@nb.njit(cache=True)
def _add_node(W, k, c):
    i = W.npc[k]
    W.pa[k, i] = c
    W.pb[k, i] = c
    W.pr[k, i] = False
    W.npc[k] = i + 1


@nb.njit(cache=True)
def _eval(D, S, W, k, slot):
    """Cost and violation of changed route k driven in ``slot``."""
    if W.npc[k] == 0:
        return 0.0, 0.0
    v = S.rtype[slot]
    acc = W.buf[0]
    nxt = W.buf[1]
    piece = W.buf[2]
    acc[:] = D.start[v]
    for i in range(W.npc[k]):
        _piece(D, S, W.pa[k, i], W.pb[k, i], W.pr[k, i], piece, W.buf[3], W.buf[4])
        _concat(D, acc, piece, nxt)
        acc[:] = nxt
    _concat(D, acc, D.end[v], nxt)
    return _score(D, nxt, v, S.excess[slot])


@nb.njit(cache=True)
def _better(dviol, dcost):
    if dviol < -1e-9:
        return True
    return dviol <= 1e-9 and dcost < -1e-7


@nb.njit(cache=True)
def _try(D, S, W, r1, r2, extra_cost, extra_viol):
    """Score the pieces set for slots r1 (and r2 >= 0); apply them when the plan gets better."""
    W.counters[1] += 1
    c1, q1 = _eval(D, S, W, 0, r1)
    dcost = c1 - S.rcost[r1] + extra_cost
    dviol = q1 - S.rviol[r1] + extra_viol
    if r2 >= 0:
        c2, q2 = _eval(D, S, W, 1, r2)
        dcost += c2 - S.rcost[r2]
        dviol += q2 - S.rviol[r2]
    if not _better(dviol, dcost):
        return False
    _apply(D, S, W, r1, r2)
    S.totals[0] += dcost
    S.totals[1] += dviol
    W.counters[0] += 1
    return True


@nb.njit(cache=True)
def _collect(S, W, k):
    n = 0
    for i in range(W.npc[k]):
        a = W.pa[k, i]
        b = W.pb[k, i]
        if W.pr[k, i]:
            x = b
            while True:
                W.nodes[k, n] = x
                n += 1
                if x == a:
                    break
                x = S.prv[x]
        else:
            x = a
            while True:
                W.nodes[k, n] = x
                n += 1
                if x == b:
                    break
                x = S.nxt[x]
    return n


@nb.njit(cache=True)
def _apply(D, S, W, r1, r2):
    n1 = _collect(S, W, 0)
    n2 = _collect(S, W, 1) if r2 >= 0 else 0
    _clear(S, r1)
    if r2 >= 0:
        _clear(S, r2)
    _rebuild(D, S, W, r1, W.nodes[0], n1)
    if r2 >= 0:
        _rebuild(D, S, W, r2, W.nodes[1], n2)
    _update_free(S, S.rtype[r1])
    if r2 >= 0:
        _update_free(S, S.rtype[r2])


@nb.njit(cache=True)
def _clear(S, r):
    x = S.first[r]
    while x >= 0:
        S.rte[x] = -1
        x = S.nxt[x]


@nb.njit(cache=True)
def _rebuild(D, S, W, r, nodes, n):
    """Make slot r drive ``nodes[:n]`` and recompute its segments, cost and violation."""
    S.size[r] = n
    if n == 0:
        S.first[r] = -1
        S.last[r] = -1
        S.rseg[r, FIRST] = -1.0
        S.rcost[r] = 0.0
        S.rviol[r] = 0.0
        return
    for i in range(n):
        c = nodes[i]
        S.rte[c] = r
        S.pos[c] = i
        S.prv[c] = nodes[i - 1] if i > 0 else -1
        S.nxt[c] = nodes[i + 1] if i + 1 < n else -1
    S.first[r] = nodes[0]
    S.last[r] = nodes[n - 1]
    nd = D.nd
    c = nodes[0]
    S.fwd[c] = D.node[c]
    S.rcum[c] = 0.0
    for i in range(1, n):
        p = nodes[i - 1]
        c = nodes[i]
        _concat(D, S.fwd[p], D.node[c], S.fwd[c])
        S.rcum[c] = S.rcum[p] + D.dist[nd + c, nd + p]
    c = nodes[n - 1]
    S.bwd[c] = D.node[c]
    for i in range(n - 2, -1, -1):
        c = nodes[i]
        _concat(D, D.node[c], S.bwd[nodes[i + 1]], S.bwd[c])
    v = S.rtype[r]
    _concat(D, D.start[v], S.fwd[nodes[n - 1]], W.buf[5])
    _concat(D, W.buf[5], D.end[v], S.rseg[r])
    cost, viol = _score(D, S.rseg[r], v, S.excess[r])
    S.rcost[r] = cost
    S.rviol[r] = viol


@nb.njit(cache=True)
def _update_free(S, t):
    S.free[t] = -1
    for r in range(S.tstart[t], S.tstart[t + 1]):
        if S.size[r] == 0:
            S.free[t] = r
            return


@nb.njit(cache=True)
def load_routes(D, S, W, seq, offsets, types):
    """Fill an empty state with routes ``seq[offsets[i]:offsets[i+1]]`` of vehicle types ``types[i]``."""
    n_routes = len(types)
    for i in range(n_routes):
        t = types[i]
        slot = -1
        for r in range(S.tstart[t], S.tstart[t + 1]):
            if S.size[r] == 0:
                slot = r
                break
        lo = offsets[i]
        hi = offsets[i + 1]
        for j in range(lo, hi):
            W.nodes[0, j - lo] = seq[j]
        _rebuild(D, S, W, slot, W.nodes[0], hi - lo)
    for t in range(len(S.tstart) - 1):
        _update_free(S, t)
    totals(D, S)


@nb.njit(cache=True)
def totals(D, S):
    cost = 0.0
    viol = 0.0
    for r in range(len(S.size)):
        if S.size[r] > 0:
            cost += S.rcost[r]
            viol += S.rviol[r]
    for c in range(len(S.rte)):
        if S.rte[c] < 0:
            if D.required[c]:
                viol += 1.0
            else:
                cost += D.prize[c]
    S.totals[0] = cost
    S.totals[1] = viol


@nb.njit(cache=True)
def export_routes(S, seq, offsets, types):
    """Write the non-empty routes as in :func:`load_routes`; returns the number of routes."""
    n_routes = 0
    j = 0
    offsets[0] = 0
    for r in range(len(S.size)):
        if S.size[r] == 0:
            continue
        x = S.first[r]
        while x >= 0:
            seq[j] = x
            j += 1
            x = S.nxt[x]
        types[n_routes] = S.rtype[r]
        n_routes += 1
        offsets[n_routes] = j
    return n_routes


# -- moves ------------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _inter(D, S, W, u, v):
    """Moves between the routes of u and v that put u next to v."""
    r1 = S.rte[u]
    r2 = S.rte[v]
    f1, l1, f2, l2 = S.first[r1], S.last[r1], S.first[r2], S.last[r2]
    max_a = D.max_segment
    max_b = D.max_exchange
    # A = u..e after v, B = the lb clients after v go where A was.
    e = u
    for la in range(1, max_a + 1):
        if la > 1:
            e = S.nxt[e]
            if e < 0:
                break
        g = v
        for lb in range(0, max_b + 1):
            if lb > 0:
                if la > max_b:
                    break
                g = S.nxt[g]
                if g < 0:
                    break
            b0 = S.nxt[v]
            for rev_a in range(2 if la > 1 else 1):
                for rev_b in range(2 if lb > 1 else 1):
                    _reset(W)
                    _add(S, W, 0, f1, S.prv[u], False)
                    if lb > 0:
                        _add(S, W, 0, b0, g, rev_b == 1)
                    _add(S, W, 0, S.nxt[e], l1, False)
                    _add(S, W, 1, f2, v, False)
                    _add(S, W, 1, u, e, rev_a == 1)
                    _add(S, W, 1, S.nxt[g], l2, False)
                    if _try(D, S, W, r1, r2, 0.0, 0.0):
                        return True
    # A = s..u before v, B = the lb clients before v go where A was.
    s = u
    for la in range(1, max_a + 1):
        if la > 1:
            s = S.prv[s]
            if s < 0:
                break
        h = v
        for lb in range(0, max_b + 1):
            if lb > 0:
                if la > max_b:
                    break
                h = S.prv[h]
                if h < 0:
                    break
            for rev_a in range(2 if la > 1 else 1):
                for rev_b in range(2 if lb > 1 else 1):
                    _reset(W)
                    _add(S, W, 0, f1, S.prv[s], False)
                    if lb > 0:
                        _add(S, W, 0, h, S.prv[v], rev_b == 1)
                    _add(S, W, 0, S.nxt[u], l1, False)
                    _add(S, W, 1, f2, S.prv[h], False)
                    _add(S, W, 1, s, u, rev_a == 1)
                    _add(S, W, 1, v, l2, False)
                    if _try(D, S, W, r1, r2, 0.0, 0.0):
                        return True
    # 2-opt*: u -> v joins the head of u's route to the tail of v's, and the other way round.
    _reset(W)
    _add(S, W, 0, f1, u, False)
    _add(S, W, 0, v, l2, False)
    _add(S, W, 1, f2, S.prv[v], False)
    _add(S, W, 1, S.nxt[u], l1, False)
    if _try(D, S, W, r1, r2, 0.0, 0.0):
        return True
    _reset(W)
    _add(S, W, 0, f1, S.prv[u], False)
    _add(S, W, 0, S.nxt[v], l2, False)
    _add(S, W, 1, f2, v, False)
    _add(S, W, 1, u, l1, False)
    return _try(D, S, W, r1, r2, 0.0, 0.0)


@nb.njit(cache=True)
def _swap_in_route(D, S, W, r, a, b):
    """Swap clients a and b of route r."""
    if S.pos[a] > S.pos[b]:
        a, b = b, a
    _reset(W)
    _add(S, W, 0, S.first[r], S.prv[a], False)
    _add_node(W, 0, b)
    _add(S, W, 0, S.nxt[a], S.prv[b], False)
    _add_node(W, 0, a)
    _add(S, W, 0, S.nxt[b], S.last[r], False)
    return _try(D, S, W, r, -1, 0.0, 0.0)


@nb.njit(cache=True)
def _intra(D, S, W, u, v):
    """Moves inside the route of u and v that put u next to v."""
    r = S.rte[u]
    f = S.first[r]
    z = S.last[r]
    pu = S.pos[u]
    pv = S.pos[v]
    max_a = D.max_segment
    # Or-opt: A = u..e after v.
    e = u
    for la in range(1, max_a + 1):
        if la > 1:
            e = S.nxt[e]
            if e < 0:
                break
        if pu <= pv <= S.pos[e]:
            break
        for rev_a in range(2 if la > 1 else 1):
            _reset(W)
            if pv > pu:
                _add(S, W, 0, f, S.prv[u], False)
                _add(S, W, 0, S.nxt[e], v, False)
                _add(S, W, 0, u, e, rev_a == 1)
                _add(S, W, 0, S.nxt[v], z, False)
            else:
                if v == S.prv[u] and rev_a == 0:
                    continue
                _add(S, W, 0, f, v, False)
                _add(S, W, 0, u, e, rev_a == 1)
                _add(S, W, 0, S.nxt[v], S.prv[u], False)
                _add(S, W, 0, S.nxt[e], z, False)
            if _try(D, S, W, r, -1, 0.0, 0.0):
                return True
    # Or-opt: A = s..u before v.
    s = u
    for la in range(1, max_a + 1):
        if la > 1:
            s = S.prv[s]
            if s < 0:
                break
        if S.pos[s] <= pv <= pu:
            break
        for rev_a in range(2 if la > 1 else 1):
            _reset(W)
            if pv > pu:
                if v == S.nxt[u] and rev_a == 0:
                    continue
                _add(S, W, 0, f, S.prv[s], False)
                _add(S, W, 0, S.nxt[u], S.prv[v], False)
                _add(S, W, 0, s, u, rev_a == 1)
                _add(S, W, 0, v, z, False)
            else:
                _add(S, W, 0, f, S.prv[v], False)
                _add(S, W, 0, s, u, rev_a == 1)
                _add(S, W, 0, v, S.prv[s], False)
                _add(S, W, 0, S.nxt[u], z, False)
            if _try(D, S, W, r, -1, 0.0, 0.0):
                return True
    # Swap u with the client after v (v -> u) or before v (u -> v).
    x = S.nxt[v]
    if x >= 0 and x != u and _swap_in_route(D, S, W, r, u, x):
        return True
    x = S.prv[v]
    if x >= 0 and x != u and _swap_in_route(D, S, W, r, u, x):
        return True
    # 2-opt: reverse what lies between so that u -> v.
    _reset(W)
    if pu < pv:
        if S.nxt[u] == v:
            return False
        _add(S, W, 0, f, u, False)
        _add(S, W, 0, S.nxt[u], v, True)
        _add(S, W, 0, S.nxt[v], z, False)
    else:
        if S.prv[u] == v:
            return False
        _add(S, W, 0, f, S.prv[v], False)
        _add(S, W, 0, v, S.prv[u], True)
        _add(S, W, 0, u, z, False)
    return _try(D, S, W, r, -1, 0.0, 0.0)


@nb.njit(cache=True)
def _to_empty(D, S, W, u):
    """Move u (and up to max_segment - 1 clients after it) to an unused vehicle of any type."""
    r1 = S.rte[u]
    f1 = S.first[r1]
    l1 = S.last[r1]
    for t in range(len(S.free)):
        slot = S.free[t]
        if slot < 0:
            continue
        e = u
        for la in range(1, D.max_segment + 1):
            if la > 1:
                e = S.nxt[e]
                if e < 0:
                    break
            _reset(W)
            _add(S, W, 0, f1, S.prv[u], False)
            _add(S, W, 0, S.nxt[e], l1, False)
            _add(S, W, 1, u, e, False)
            if _try(D, S, W, r1, slot, 0.0, 0.0):
                return True
    return False


@nb.njit(cache=True)
def _remove(D, S, W, u):
    """Leave optional client u out."""
    r1 = S.rte[u]
    _reset(W)
    _add(S, W, 0, S.first[r1], S.prv[u], False)
    _add(S, W, 0, S.nxt[u], S.last[r1], False)
    return _try(D, S, W, r1, -1, D.prize[u], 0.0)


@nb.njit(cache=True)
def _set_insert(S, W, w, v, after):
    r2 = S.rte[v]
    _reset(W)
    if after:
        _add(S, W, 0, S.first[r2], v, False)
        _add_node(W, 0, w)
        _add(S, W, 0, S.nxt[v], S.last[r2], False)
    else:
        _add(S, W, 0, S.first[r2], S.prv[v], False)
        _add_node(W, 0, w)
        _add(S, W, 0, v, S.last[r2], False)


@nb.njit(cache=True)
def _insert(D, S, W, w):
    """Insert unassigned client w at its best place next to a related client or in an unused vehicle."""
    gain_cost = 0.0 if D.required[w] else -D.prize[w]
    gain_viol = -1.0 if D.required[w] else 0.0
    best_q = 0.0
    best_c = 0.0
    best_v = -1
    best_mode = -1
    for i in range(D.neigh.shape[1]):
        v = D.neigh[w, i]
        r2 = S.rte[v]
        if r2 < 0:
            continue
        for mode in range(2):
            _set_insert(S, W, w, v, mode == 0)
            W.counters[1] += 1
            c, q = _eval(D, S, W, 0, r2)
            dq = q - S.rviol[r2] + gain_viol
            dc = c - S.rcost[r2] + gain_cost
            if _better(dq - best_q, dc - best_c):
                best_q, best_c, best_v, best_mode = dq, dc, v, mode
    for t in range(len(S.free)):
        slot = S.free[t]
        if slot < 0:
            continue
        _reset(W)
        _add_node(W, 0, w)
        W.counters[1] += 1
        c, q = _eval(D, S, W, 0, slot)
        dq = q + gain_viol
        dc = c + gain_cost
        if _better(dq - best_q, dc - best_c):
            best_q, best_c, best_v, best_mode = dq, dc, slot, 2
    if best_mode < 0:
        return False
    if best_mode == 2:
        _reset(W)
        _add_node(W, 0, w)
        r = best_v
    else:
        _set_insert(S, W, w, best_v, best_mode == 0)
        r = S.rte[best_v]
    _apply(D, S, W, r, -1)
    S.totals[0] += best_c
    S.totals[1] += best_q
    W.counters[0] += 1
    return True


@nb.njit(cache=True)
def _change_types(D, S, W):
    """Move whole routes to unused vehicles of other types where that is better."""
    improved = False
    n_types = len(S.free)
    if n_types < 2:
        return False
    for r in range(len(S.size)):
        if S.size[r] == 0:
            continue
        for t in range(n_types):
            slot = S.free[t]
            if slot < 0 or t == S.rtype[r] or S.size[r] == 0:
                continue
            _reset(W)
            _add(S, W, 1, S.first[r], S.last[r], False)
            if _try(D, S, W, r, slot, 0.0, 0.0):
                improved = True
    return improved


@nb.njit(cache=True)
def search(D, S, W, order, max_moves):
    """One pass of the search over the clients in ``order``; stops early after ``max_moves`` applied moves
    (< 0: no limit). Returns True when some move was applied."""
    improved = False
    start = W.counters[0]
    for idx in range(len(order)):
        if max_moves >= 0 and W.counters[0] - start >= max_moves:
            return improved
        u = order[idx]
        if S.rte[u] < 0:
            if _insert(D, S, W, u):
                improved = True
            continue
        if D.optional and not D.required[u] and _remove(D, S, W, u):
            improved = True
            continue
        for i in range(D.neigh.shape[1]):
            if max_moves >= 0 and W.counters[0] - start >= max_moves:
                return improved
            v = D.neigh[u, i]
            if S.rte[v] < 0 or S.rte[u] < 0:
                continue
            moved = _intra(D, S, W, u, v) if S.rte[u] == S.rte[v] else _inter(D, S, W, u, v)
            if moved:
                improved = True
        if S.rte[u] >= 0 and _to_empty(D, S, W, u):
            improved = True
    if (max_moves < 0 or W.counters[0] - start < max_moves) and _change_types(D, S, W):
        improved = True
    return improved


# -- Python API -------------------------------------------------------------------------------------------


class LocalSearch:
    """The compiled local search on one problem; :meth:`run` improves plans given as routes.

    ``granularity`` is the number of related clients each client is tried next to; ``max_segment`` the
    longest run of clients relocated at once; ``max_exchange`` the longest run swapped between routes.
    """

    def __init__(self, problem: Problem, *, granularity: int = 20, max_segment: int = 3,
                 max_exchange: int = 2) -> None:
        self.problem = problem
        self.data = compile_problem(problem, granularity=granularity, max_segment=max_segment,
                                    max_exchange=max_exchange)
        self.work = new_work(self.data, problem.n_clients)
        self.state = new_state(self.data, problem)

    def load(self, routes: Sequence[Route]) -> None:
        """Make ``routes`` the current plan (clients may be missing; none may appear twice)."""
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
        self.state = new_state(self.data, p, used)
        seq = np.concatenate([c for _, c in kept]) if kept else np.zeros(0, np.int64)
        offsets = np.zeros(len(kept) + 1, np.int64)
        offsets[1:] = np.cumsum([len(c) for _, c in kept])
        types = np.array([t for t, _ in kept], dtype=np.int64)
        load_routes(self.data, self.state, self.work, seq, offsets, types)

    def routes(self) -> list[Route]:
        """The current plan."""
        n = self.problem.n_clients
        seq = np.zeros(max(n, 1), np.int64)
        offsets = np.zeros(len(self.state.size) + 1, np.int64)
        types = np.zeros(len(self.state.size), np.int64)
        count = export_routes(self.state, seq, offsets, types)
        return [Route(int(types[i]), tuple(seq[offsets[i]:offsets[i + 1]].tolist())) for i in range(count)]

    @property
    def cost(self) -> float:
        """Cost of the current plan as the search counts it (the evaluator's, up to rounding)."""
        return float(self.state.totals[0])

    @property
    def violation(self) -> float:
        """Total violation of the current plan; 0 when feasible."""
        return float(self.state.totals[1])

    @property
    def moves(self) -> int:
        """Moves applied so far."""
        return int(self.work.counters[0])

    def run(self, *, time_limit: float = math.inf, max_passes: int | None = None, max_moves: int = -1,
            seed: int = 0) -> bool:
        """Search until no move improves the current plan, ``time_limit`` seconds pass, ``max_passes``
        passes or ``max_moves`` moves are done. Returns True when the plan is a local optimum."""
        rng = np.random.default_rng(seed)
        deadline = time.perf_counter() + time_limit
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
            improved = search(self.data, self.state, self.work, order, left)
            totals(self.data, self.state)  # recount, so that rounding does not build up
            passes += 1
            if not improved:
                return True
            if time.perf_counter() >= deadline:
                return False


def improve(problem: Problem, solution: Solution | Sequence[Route], *, time_limit: float = math.inf,
            seed: int = 0, granularity: int = 20, max_passes: int | None = None) -> Solution:
    """A plan at least as good as ``solution`` (fewer violations, or as many and a lower cost), found by the
    local search within ``time_limit`` seconds. Clients the plan leaves out are inserted where feasible."""
    routes = list(solution.routes) if isinstance(solution, Solution) else list(solution)
    ls = LocalSearch(problem, granularity=granularity)
    ls.load(routes)
    start = time.perf_counter()
    ls.run(time_limit=time_limit, max_passes=max_passes, seed=seed)
    stats = {"local_search_moves": ls.moves, "local_search_time": round(time.perf_counter() - start, 4)}
    return Solution(tuple(ls.routes()), stats)
