"""Monte-Carlo simulation of a plan under the problem's uncertainty: :func:`simulate`.

A plan is driven in many random *scenarios* by the evaluator's schedule rules (:mod:`vrpkit.evaluate`): each
route leaves at the time the evaluator schedules for it (its planned start, delayed departure included: the
dispatcher decides it before the day's noise is known); service at a client starts on arrival or when the
first of its windows that has not closed opens; arriving after the last window closes is lateness, and every
delay shifts the rest of the route; open routes end after their last service. Shifts, depot hours, duration
and distance limits are checked on the realised route as the evaluator checks them. With no noise each
scenario is the evaluator's schedule, number for number (:meth:`Simulation.scenario` equals
:func:`vrpkit.evaluate`).

Noise (the ``uncertainty`` block, :class:`vrpkit.model.Uncertainty`), per scenario:

- Travel: a leg of static duration ``d`` leaving at ``t`` takes ``tau = arrival(profile, t, d) - t``
  (:func:`vrpkit.traffic.arrival`, first-in-first-out; ``tau = d`` without a profile), times a log-normal
  factor ``exp(sigma Z)`` (median 1), plus the delays of its accidents: their number is Poisson with mean
  ``rate_per_hour * tau / hour`` (``hour``: :attr:`~vrpkit.model.Problem.hour`), each delay uniform in
  ``accident_delay``. The count is capped where a higher one has a probability below 1e-12 on the
  longest leg of the problem (:data:`TAIL`).
- Service: the service time times a log-normal factor ``exp(sigma Z)``.
- Demand: each client's delivery and pickup (every capacity dimension) drawn as Poisson with that mean, or
  normal with standard deviation ``cv`` times it, rounded to the nearest integer and cut at 0 (``cv`` is not
  used by the Poisson distribution, whose standard deviation is the square root of its mean).
- Recourse, on a route whose planned load fits: the load on board is the evaluator's (a trip leaves the
  depot with the deliveries of its clients and takes their pickups on the way); a trip extended by the next
  stop that would exceed the capacity triggers the recourse at that stop. ``"return"``: on arrival the
  vehicle drives to its start depot and back (those legs at their profile times, without noise), unloads,
  reloads the deliveries of the next trip, which begins with that stop, and serves it when back; the detour's
  distance and time count in the route's cost and limits. A stop whose amounts alone exceed the capacity
  cannot be served (a ``capacity`` violation at that stop); the trip goes on without it. ``"fail"``: that
  stop and every later stop of the route fail (``capacity`` violations, each by how much the trip would exceed
  the capacity with that stop served too); the route is driven as planned. A
  route whose planned load already exceeds the capacity has the evaluator's ``capacity`` violation (with the
  realised excess) and no recourse.

Random numbers: one seed, numpy's :class:`~numpy.random.SeedSequence`. Scenarios come in blocks of
:data:`BLOCK`; block ``b`` draws noise source ``k`` from ``SeedSequence(seed, spawn_key=(b, k))`` (the delays of
accident ``i`` on a leg from ``(b, k, i)``, drawn when a plan first needs them), scenario-major, so scenario
``s`` is the same whatever the number of scenarios asked. Poisson demands are drawn by inverting their
distribution function (one uniform each). The draws are per client of the problem,
not per position in the plan: the leg *into* each client, the leg from each client *back* to its route's end
depot, each client's service and demand. So plans compared with one seed see the same scenarios (common random
numbers), and :func:`sample` draws a :class:`Scenarios` once for several plans.

Figures (:class:`Simulation`, :meth:`Simulation.to_dict`): the cost of each scenario as the evaluator counts
it (fixed costs, distance and duration costs, prizes lost; also for scenarios with violations); a stop is
*on time* when its service starts within a window, *violated* when it is late or fails (capacity);
``violation_rate`` is violated stops, plus required clients the plan leaves out, over the problem's clients
(SVRPBench's constraint violation rate), averaged over scenarios; ``feasible_rate`` is the share of scenarios
without any violation (route limits and the plan's own violations included).

Cost: the schedule is vectorised over scenarios and routes (numpy), with a Python loop over route positions
only: about 28,000 scenarios per second on one core for Solomon R101's 19 routes with every noise source on
and the return recourse triggered (``examples/bench_simulate.py``).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vrpkit import traffic
from vrpkit.errors import ValidationError
from vrpkit.evaluate import _EPS, Evaluation, Plan, RouteSchedule, Violation, evaluate
from vrpkit.model import INF, Problem, Uncertainty, fleet_refusal
from vrpkit.solution import Route

BLOCK = 4096
"""Scenarios per block of random draws (and of the vectorised schedule)."""
TAIL = 1e-12
"""Accident counts per leg stop where a higher count has a probability below this on the problem's longest leg."""
MAX_SCENARIOS = 10_000_000
_TRAVEL, _HOME, _ACCIDENT, _DELAY, _DEMAND, _SERVICE, _DELAY_HOME = range(7)
_PLAN_KINDS = ("unknown_id", "unknown_vehicle_type", "fleet_size", "missing_client", "duplicate_client", "skills")
"""Violations that depend on the plan only (the same in every scenario), besides ``backhaul_order``."""


# -- scenarios -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenarios:
    """The random draws of ``count`` scenarios of a problem, per client (row: scenario, column: client). None
    where that noise is off. ``accident*`` are uniforms: the first gives the number of accidents on the leg
    by inversion of the Poisson distribution, ``accident_delay[i]`` the delay of accident ``i``."""

    count: int
    travel: np.ndarray | None = None  # (S, n) log-normal factor of the leg into each client
    travel_home: np.ndarray | None = None  # (S, n) of the leg from each client to its route's end depot
    accident: np.ndarray | None = None  # (S, n) uniform
    accident_home: np.ndarray | None = None  # (S, n)
    accident_delay: np.ndarray | _Layers | None = None  # (L, S, n) uniforms
    accident_delay_home: np.ndarray | _Layers | None = None  # (L, S, n)
    delivery: np.ndarray | None = None  # (S, n, K) realised, integers as floats
    pickup: np.ndarray | None = None  # (S, n, K)
    service: np.ndarray | None = None  # (S, n) log-normal factor of each client's service time

    def rows(self, lo: int, hi: int) -> Scenarios:
        """Scenarios ``lo`` to ``hi - 1``."""
        def cut(a: np.ndarray | None, axis: int = 0) -> np.ndarray | None:
            if a is None:
                return None
            return a[lo:hi] if axis == 0 else a[:, lo:hi]
        return Scenarios(hi - lo, cut(self.travel), cut(self.travel_home), cut(self.accident),
                         cut(self.accident_home), cut(self.accident_delay, 1), cut(self.accident_delay_home, 1),
                         cut(self.delivery), cut(self.pickup), cut(self.service))


class _Layers:
    """Accident delay uniforms (L, S, n) drawn layer by layer when first needed: layer ``i`` of block ``b``
    from ``SeedSequence(seed, spawn_key=(b, source, i))``, so its numbers do not depend on which layers a plan
    needs."""

    def __init__(self, seed: int, block: int, source: int, layers: int, rows: int, n: int) -> None:
        self.key, self.layers, self.shape = (seed, block, source), layers, (rows, n)
        self._drawn: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.layers

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < self.layers:
            raise IndexError(i)
        if i not in self._drawn:
            seed, block, source = self.key
            g = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, source, i)))
            self._drawn[i] = g.random(self.shape)
        return self._drawn[i]

    def array(self) -> np.ndarray:
        return np.stack([self[i] for i in range(self.layers)]) if self.layers else np.zeros((0, *self.shape))


def _with(problem: Problem, uncertainty: Uncertainty | None) -> Problem:
    """``problem`` with ``uncertainty`` instead of its own (validated as its own block), when one is given."""
    return problem if uncertainty is None else problem.replace(uncertainty=uncertainty)


def _accident_layers(problem: Problem, u: Uncertainty | None) -> int:
    """How many accidents per leg are drawn (0 without accidents; see :data:`TAIL`)."""
    t = None if u is None else u.travel_time
    if t is None or t.accident_rate_per_hour <= 0:
        return 0
    longest = float(problem.duration.max(initial=0.0)) * traffic.max_factor(t.profile, problem.hour)
    lam = t.accident_rate_per_hour * longest / problem.hour
    k, term, cdf = 0, math.exp(-lam), math.exp(-lam)
    while 1.0 - cdf > TAIL and term > 0 and k < 10_000:
        k += 1
        term *= lam / k
        cdf += term
    return max(k, 1)


def sample(problem: Problem, scenarios: int, seed: int = 0, *, uncertainty: Uncertainty | None = None,
           ) -> Scenarios:
    """Draw ``scenarios`` scenarios of ``problem`` (its ``uncertainty``, or the one given) from ``seed``."""
    count = _check_count(scenarios)
    problem = _with(problem, uncertainty)
    u = problem.uncertainty
    _check_seed(seed)
    layers = _accident_layers(problem, u)
    blocks = [_sample_block(problem, u, seed, b, min(BLOCK, count - b * BLOCK), layers)
              for b in range(math.ceil(count / BLOCK))]
    if not blocks:
        return Scenarios(0)

    def join(name: str, axis: int = 0) -> np.ndarray | None:
        parts = [getattr(x, name) for x in blocks]
        parts = [x.array() if isinstance(x, _Layers) else x for x in parts]
        return None if parts[0] is None else np.concatenate(parts, axis=axis)

    return Scenarios(count, join("travel"), join("travel_home"), join("accident"), join("accident_home"),
                     join("accident_delay", 1), join("accident_delay_home", 1), join("delivery"),
                     join("pickup"), join("service"))


def _sample_block(problem: Problem, u: Uncertainty | None, seed: int, block: int, rows: int, layers: int
                  ) -> Scenarios:
    """Block ``block`` of the draws of ``seed``, its first ``rows`` scenarios (a prefix of the full block);
    ``layers`` accidents per leg (:func:`_accident_layers`, the same for every block)."""
    n = problem.n_clients

    def rng(source: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, source)))

    out: dict[str, Any] = {}
    t = None if u is None else u.travel_time
    if t is not None and t.lognormal_sigma > 0:
        out["travel"] = np.exp(t.lognormal_sigma * rng(_TRAVEL).standard_normal((rows, n)))
        out["travel_home"] = np.exp(t.lognormal_sigma * rng(_HOME).standard_normal((rows, n)))
    if layers:
        g = rng(_ACCIDENT)
        out["accident"] = g.random((rows, n))
        out["accident_home"] = g.random((rows, n))
        out["accident_delay"] = _Layers(seed, block, _DELAY, layers, rows, n)
        out["accident_delay_home"] = _Layers(seed, block, _DELAY_HOME, layers, rows, n)
    q = None if u is None else u.demand
    if q is not None and q.distribution != "none":
        g = rng(_DEMAND)
        for name, mean in (("delivery", problem.delivery), ("pickup", problem.pickup)):
            if not mean.any():
                drawn = np.zeros((rows, *mean.shape))
            elif q.distribution == "poisson":
                drawn = _poisson(g, mean.astype(float), rows)
            else:
                z = g.standard_normal((rows, *mean.shape))
                drawn = np.maximum(np.floor(mean * (1.0 + q.cv * z) + 0.5), 0.0)
            out[name] = drawn
    s = None if u is None else u.service_time
    if s is not None and s.lognormal_sigma > 0:
        out["service"] = np.exp(s.lognormal_sigma * rng(_SERVICE).standard_normal((rows, n)))
    return Scenarios(rows, **out)


POISSON_TABLE = 1000.0
"""Poisson demands of means up to this are drawn by inverting their distribution function (one uniform per
draw, tabulated per distinct mean); larger means by numpy's Poisson sampler."""


def _poisson(g: np.random.Generator, mean: np.ndarray, rows: int) -> np.ndarray:
    """``rows`` draws (rows, *mean.shape) of Poisson variables of the given means, as floats."""
    if mean.max() > POISSON_TABLE:
        return g.poisson(mean, size=(rows, *mean.shape)).astype(float)
    flat = mean.reshape(-1)
    u = g.random((rows, flat.size))
    out = np.zeros((rows, flat.size))
    for m in np.unique(flat[flat > 0]):
        cols = np.flatnonzero(flat == m)
        top = int(m + 12.0 * math.sqrt(m) + 30.0)  # the tail beyond has a probability far below 1e-16
        k = np.arange(top + 1, dtype=float)
        log_factorial = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
        cdf = np.cumsum(np.exp(k * math.log(m) - m - log_factorial))
        cdf[-1] = INF  # the count is at most top
        # The count is how many cdf values are <= u: from that of u's bin (of a fine grid), counted up.
        grid = max(1024, 8 * (top + 1))
        lower = np.searchsorted(cdf, np.arange(grid) / grid, side="right")
        x = u[:, cols].reshape(-1)
        n = lower[(x * grid).astype(np.int64)]
        up = np.flatnonzero(x >= cdf[n])
        while up.size:
            n[up] += 1
            up = up[x[up] >= cdf[n[up]]]
        out[:, cols] = n.reshape(rows, len(cols))
    return out.reshape(rows, *mean.shape)


def _check_count(scenarios: Any) -> int:
    if isinstance(scenarios, bool) or not isinstance(scenarios, int | np.integer) or not (
            1 <= scenarios <= MAX_SCENARIOS):
        raise ValidationError("scenarios", f"expected a whole number from 1 to {MAX_SCENARIOS:,}, got "
                                           f"{scenarios!r}")
    return int(scenarios)


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError("seed", f"expected a non-negative integer, got {seed!r}")


# -- the plan as arrays ----------------------------------------------------------------------------------------


class _Plan:
    """A plan's routes as arrays for the vectorised schedule, sorted by length (longest first) so that the
    routes still driving at position ``p`` are the first ``active[p]``."""

    def __init__(self, problem: Problem, ev: Evaluation, u: Uncertainty | None) -> None:
        self.problem, self.ev = problem, ev
        nd = problem.n_depots
        routes = ev.routes
        self.order = sorted(range(len(routes)), key=lambda r: -len(routes[r].clients))
        self.row = [0] * len(routes)  # route r of the plan is row self.row[r] of the arrays
        for i, r in enumerate(self.order):
            self.row[r] = i
        rs = [routes[r] for r in self.order]
        self.R = R = len(rs)
        self.L = L = max((len(r.clients) for r in rs), default=0)
        self.active = [sum(1 for r in rs if len(r.clients) > p) for p in range(L)]
        self.clients = np.full((R, L), -1, dtype=np.int64)
        for i, r in enumerate(rs):
            self.clients[i, :len(r.clients)] = r.clients
        self.length = np.array([len(r.clients) for r in rs], dtype=np.int64)
        self.last = np.array([r.clients[-1] for r in rs], dtype=np.int64)
        dur, dist = problem.duration, problem.distance
        self.start_node = np.array([r.start_depot for r in rs], dtype=np.int64)
        self.end_node = np.array([-1 if r.end_depot is None else r.end_depot for r in rs], dtype=np.int64)
        self.closed = self.end_node >= 0
        self.t_start = np.array([r.start_time for r in rs], dtype=float)
        self.distance = np.array([r.distance for r in rs], dtype=float)
        vts = [problem.vehicle_types[r.vehicle_type] for r in rs]
        self.fixed = np.array([vt.fixed_cost for vt in vts], dtype=float)
        self.cpd = np.array([vt.cost_per_distance for vt in vts], dtype=float)
        self.cpt = np.array([vt.cost_per_duration for vt in vts], dtype=float)
        self.max_duration = np.array([vt.max_duration for vt in vts], dtype=float)
        self.max_distance = np.array([vt.max_distance for vt in vts], dtype=float)
        self.shift_end = np.array([vt.shift[1] for vt in vts], dtype=float)
        dw = problem.depot_windows
        self.start_close = dw[self.start_node, 1] if R else np.zeros(0)
        self.end_close = np.where(self.closed, dw[np.maximum(self.end_node, 0), 1], INF) if R else np.zeros(0)
        self.capacity = problem.capacity[[r.vehicle_type for r in rs]] if R else np.zeros((0, problem.n_dims))
        # Legs into each position and home.
        self.leg = []  # per position: static duration (k, 1) of the leg into it
        for p in range(L):
            k = self.active[p]
            node = nd + self.clients[:k, p]
            prev = self.start_node[:k] if p == 0 else nd + self.clients[:k, p - 1]
            self.leg.append(dur[prev, node][:, None])
        self.home = np.where(self.closed, dur[nd + self.last, np.maximum(self.end_node, 0)], 0.0)[:, None] \
            if R else np.zeros((0, 1))
        tw = problem.time_windows
        self.single = tw.shape[1] == 1
        self.windows = [tw[self.clients[:self.active[p], p]] for p in range(L)]  # (k, W, 2)
        self.service = [problem.service_time[self.clients[:self.active[p], p]][:, None] for p in range(L)]
        # Detours to the start depot (recourse "return").
        self.detour_dist = [(dist[nd + self.clients[:k, p], self.start_node[:k]]
                             + dist[self.start_node[:k], nd + self.clients[:k, p]])[:, None]
                            for p, k in enumerate(self.active)]
        self.detour_out = [dur[nd + self.clients[:k, p], self.start_node[:k]][:, None]
                           for p, k in enumerate(self.active)]
        self.detour_back = [dur[self.start_node[:k], nd + self.clients[:k, p]][:, None]
                            for p, k in enumerate(self.active)]
        over = {v.route for v in ev.violations if v.constraint == "capacity"}
        self.planned_over = np.array([r in over for r in self.order], dtype=bool)
        t = None if u is None else u.travel_time
        self.profile = None if t is None else t.profile
        self.hour = problem.hour
        self.rate = 0.0 if t is None else t.accident_rate_per_hour
        self.delay = (0.0, 0.0) if t is None else t.accident_delay
        q = None if u is None else u.demand
        self.recourse = "return" if q is None else q.recourse
        self.plan_violations = [v for v in ev.violations if v.constraint in _PLAN_KINDS]
        self.missing = sum(1 for v in ev.violations if v.constraint == "missing_client")


@dataclass
class _Block:
    """What one block of scenarios gives (arrays over its ``S`` scenarios)."""

    cost: np.ndarray  # (S,)
    feasible: np.ndarray  # (S,) bool
    violated: np.ndarray  # (S,) violated stops
    late: np.ndarray  # (R, L, S) lateness (0 where on time or no stop)
    failed: np.ndarray  # (R, L, S) bool
    returns: np.ndarray  # (R, L, S) bool: a detour to the depot before serving that stop
    route_cost: np.ndarray  # (R, S)
    duration: np.ndarray  # (R, S)
    distance: np.ndarray  # (R, S)
    end: np.ndarray  # (R, S)
    arrival: np.ndarray | None = None  # (R, L, S) kept only when asked
    start: np.ndarray | None = None
    departure: np.ndarray | None = None
    cap_amount: np.ndarray | None = None  # (R, L, S) the excess of a failed stop
    route_excess: np.ndarray | None = None  # (R, S) realised excess of a route planned over capacity
    draws: Scenarios | None = None


def _accidents(plan: _Plan, tau: np.ndarray, u_count: np.ndarray, u_delay: np.ndarray | _Layers,
               clients: np.ndarray) -> np.ndarray:
    """The accident delay of legs into (or home from) ``clients`` of travel time ``tau`` (k, S or 1) given the
    count uniforms (k, S) and the delay uniforms (L, S, n): Poisson counts by inversion, capped at L."""
    lam = plan.rate * tau / plan.hour
    term = np.exp(-lam)
    cdf = term.copy()
    low, high = plan.delay
    total = np.zeros(u_count.shape)
    more = u_count > cdf
    for i in range(len(u_delay)):
        if not more.any():
            break
        total += np.where(more, low + (high - low) * u_delay[i].T[clients], 0.0)
        term = term * lam / (i + 1)
        cdf = cdf + term
        more &= u_count > cdf
    return total


def _run(plan: _Plan, draws: Scenarios, keep: bool) -> _Block:
    """The schedule of every route in every scenario of ``draws``."""
    S, R, L = draws.count, plan.R, plan.L
    profile, hour = plan.profile, plan.hour
    td = profile is not None
    t = np.repeat(plan.t_start[:, None], S, axis=1)
    extra = np.zeros((R, S))
    late = np.zeros((R, L, S))
    failed = np.zeros((R, L, S), dtype=bool)
    returns = np.zeros((R, L, S), dtype=bool)
    kept = {name: np.full((R, L, S), np.nan) for name in ("arrival", "start", "departure", "cap_amount")} \
        if keep else {}
    travel = None if draws.travel is None else draws.travel.T  # (n, S)
    acc = None if draws.accident is None else draws.accident.T
    acc_delay = draws.accident_delay
    service_f = None if draws.service is None else draws.service.T
    demand = draws.delivery is not None
    cap = plan.capacity[:, :, None]  # (R, K, 1)
    if demand:
        dl = np.moveaxis(draws.delivery, 0, -1)  # (n, K, S)
        pk = np.moveaxis(draws.pickup, 0, -1)
        K = dl.shape[1]
        trip_d = np.zeros((R, K, S))  # deliveries of the current trip
        trip_c = np.zeros((R, K, S))  # pickups minus deliveries so far in the trip
        trip_m = np.zeros((R, K, S))  # the largest of those (0 at the depot)
        broken = np.zeros((R, S), dtype=bool)  # recourse "fail": the route has failed
        fail_mode = plan.recourse == "fail"
    for p in range(L):
        k = plan.active[p]
        c = plan.clients[:k, p]
        tt = t[:k]
        d = plan.leg[p]
        if td:
            arrive = traffic.arrival(profile, tt, d, hour)
            tau = arrive - tt
        else:
            tau = d
        if travel is not None or acc is not None:
            x = tau * travel[c] if travel is not None else np.broadcast_to(tau, tt.shape)
            if acc is not None:
                x = x + _accidents(plan, tau, acc[c], acc_delay, c)
            arr = tt + x
        else:
            arr = arrive if td else tt + d
        if demand:
            dd, pp = dl[c], pk[c]  # (k, K, S)
            nd_, nc = trip_d[:k] + dd, trip_c[:k] + pp - dd
            nm = np.maximum(trip_m[:k], nc)
            over = (nd_ + nm > cap[:k]).any(axis=1)  # (k, S)
            over &= ~plan.planned_over[:k, None]
            if fail_mode:
                broken[:k] |= over
                if keep:
                    kept["cap_amount"][:k, p] = np.where(broken[:k], (nd_ + nm - cap[:k]).max(axis=1), np.nan)
                failed[:k, p] = broken[:k]
                trip_d[:k], trip_c[:k], trip_m[:k] = nd_, nc, nm
            else:
                alone_m = np.maximum(pp - dd, 0.0)
                alone_over = (dd + alone_m > cap[:k]).any(axis=1)
                back = over & ~alone_over
                lost = over & alone_over
                failed[:k, p] = lost
                if keep:
                    kept["cap_amount"][:k, p] = np.where(lost, (dd + alone_m - cap[:k]).max(axis=1), np.nan)
                b3 = back[:, None, :]
                keep_trip = ~lost[:, None, :]
                trip_d[:k] = np.where(b3, dd, np.where(keep_trip, nd_, trip_d[:k]))
                trip_c[:k] = np.where(b3, pp - dd, np.where(keep_trip, nc, trip_c[:k]))
                trip_m[:k] = np.where(b3, alone_m, np.where(keep_trip, nm, trip_m[:k]))
                if back.any():
                    returns[:k, p] = back
                    extra[:k] += np.where(back, plan.detour_dist[p], 0.0)
                    if td:
                        there = traffic.arrival(profile, arr, plan.detour_out[p], hour)
                        again = traffic.arrival(profile, there, plan.detour_back[p], hour)
                    else:
                        again = arr + plan.detour_out[p] + plan.detour_back[p]
                    arr = np.where(back, again, arr)
        w = plan.windows[p]
        if plan.single:
            a, b = w[:, 0, 0:1], w[:, 0, 1:2]
        else:
            a = np.broadcast_to(w[:, -1, 0:1], arr.shape)
            b = np.broadcast_to(w[:, -1, 1:2], arr.shape)
            for j in range(w.shape[1] - 2, -1, -1):
                ok = w[:, j, 1:2] >= arr - _EPS
                a = np.where(ok, w[:, j, 0:1], a)
                b = np.where(ok, w[:, j, 1:2], b)
        start = np.maximum(arr, a)
        late[:k, p] = np.where(start > b, start - b, 0.0)
        service = plan.service[p]
        dep = start + (service * service_f[c] if service_f is not None else service)
        if keep:
            kept["arrival"][:k, p], kept["start"][:k, p], kept["departure"][:k, p] = arr, start, dep
        t[:k] = dep
    # Home legs.
    closed = plan.closed
    if closed.any():
        idx = np.flatnonzero(closed)
        tt, d = t[idx], plan.home[idx]
        if td:
            arrive = traffic.arrival(profile, tt, d, hour)
            tau = arrive - tt
        else:
            tau = d
        if draws.travel_home is not None or draws.accident_home is not None:
            last = plan.last[idx]
            x = (tau * draws.travel_home.T[last] if draws.travel_home is not None
                 else np.broadcast_to(tau, tt.shape))
            if draws.accident_home is not None:
                x = x + _accidents(plan, tau, draws.accident_home.T[last], draws.accident_delay_home, last)
            end = t.copy()
            end[idx] = tt + x
        else:
            end = t.copy()
            end[idx] = arrive if td else tt + d
    else:
        end = t
    t_start = plan.t_start[:, None]
    duration = end - t_start
    distance = plan.distance[:, None] + extra
    route_cost = plan.fixed[:, None] + plan.cpd[:, None] * distance + plan.cpt[:, None] * duration
    variable = np.zeros(S)
    for r in range(R):  # in the plan's order, as the evaluator adds them
        i = plan.row[r]
        variable = variable + (route_cost[i] - plan.fixed[i])
    cost = plan.ev.fixed_cost + variable + plan.ev.prize_lost
    route_excess = None
    if demand and plan.planned_over.any():
        route_excess = np.where(plan.planned_over[:, None], (trip_d + trip_m - cap).max(axis=1), np.nan)
    elif plan.planned_over.any():
        route_excess = np.where(plan.planned_over, _planned_excess(plan), np.nan)[:, None].repeat(S, axis=1)
    bad = (late > _EPS) | failed
    violated = bad.sum(axis=(0, 1)) + plan.missing
    feasible = ~bad.any(axis=(0, 1))
    for amount in _route_violations(plan, end, duration, distance):
        feasible &= ~(amount > _EPS).any(axis=0)
    if plan.planned_over.any():
        feasible &= ~(np.nan_to_num(route_excess, nan=0.0) > _EPS).any(axis=0)
    if plan.plan_violations or any(v.constraint == "backhaul_order" for v in plan.ev.violations):
        feasible[:] = False
    return _Block(cost, feasible, violated, late, failed, returns, route_cost, duration, distance, end,
                  route_excess=route_excess, draws=draws if keep else None, **kept)


def _planned_excess(plan: _Plan) -> np.ndarray:
    """The evaluator's capacity excess of each route (sorted order; 0 where it fits)."""
    amounts = {v.route: v.amount for v in plan.ev.violations if v.constraint == "capacity"}
    return np.array([amounts.get(r, 0.0) for r in plan.order], dtype=float)


def _route_violations(plan: _Plan, end: np.ndarray, duration: np.ndarray, distance: np.ndarray,
                      ) -> tuple[np.ndarray, ...]:
    """Amounts (R, S) of the route-level violations in the evaluator's order: depot at the start, at the end,
    shift, max_duration, max_distance (0 where none)."""
    t_start = plan.t_start[:, None]
    depot_start = np.where(t_start > plan.start_close[:, None] + _EPS, t_start - plan.start_close[:, None], 0.0)
    depot_start = np.broadcast_to(depot_start, end.shape)
    close = plan.end_close[:, None]
    depot_end = np.where(plan.closed[:, None] & (end > close + _EPS), end - close, 0.0)
    shift_end = plan.shift_end[:, None]
    shift = np.where(end > shift_end + _EPS, end - shift_end,
                     np.where(t_start > shift_end + _EPS, t_start - shift_end, 0.0))
    max_dur = np.where(duration > plan.max_duration[:, None] + _EPS, duration - plan.max_duration[:, None], 0.0)
    max_dist = np.where(distance > plan.max_distance[:, None] + _EPS, distance - plan.max_distance[:, None], 0.0)
    return depot_start, depot_end, shift, max_dur, max_dist


# -- the result ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopRisk:
    """One stop of a route over all scenarios."""

    client: str
    late_probability: float
    failure_probability: float
    return_probability: float
    expected_lateness: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.client, "late_probability": _num(self.late_probability),
                "failure_probability": _num(self.failure_probability),
                "return_probability": _num(self.return_probability),
                "expected_lateness": _num(self.expected_lateness)}


@dataclass(frozen=True)
class RouteRisk:
    """One route of the plan over all scenarios."""

    vehicle_type: str
    on_time_rate: float
    expected_cost: float
    expected_duration: float
    expected_distance: float
    stops: tuple[StopRisk, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"vehicle_type": self.vehicle_type, "on_time_rate": _num(self.on_time_rate),
                "expected_cost": _num(self.expected_cost), "expected_duration": _num(self.expected_duration),
                "expected_distance": _num(self.expected_distance), "stops": [s.to_dict() for s in self.stops]}


@dataclass(frozen=True)
class Simulation:
    """What :func:`simulate` finds over its scenarios (see the module docstring for each figure)."""

    scenarios: int
    seed: int | None
    costs: np.ndarray = field(repr=False)
    """The cost of each scenario."""
    feasible: np.ndarray = field(repr=False)
    """Whether each scenario has no violation."""
    on_time_rate: float
    violation_rate: float
    routes: tuple[RouteRisk, ...]
    deterministic: Evaluation = field(repr=False)
    """The evaluator's result for the plan (no noise)."""
    seconds: float
    _kept: Any = field(default=None, repr=False, compare=False)

    @property
    def expected_cost(self) -> float:
        return float(self.costs.mean())

    @property
    def cost_std(self) -> float:
        return float(self.costs.std())

    @property
    def cost_quantiles(self) -> dict[str, float]:
        q = np.quantile(self.costs, [0.5, 0.9, 0.99])
        return {"p50": float(q[0]), "p90": float(q[1]), "p99": float(q[2])}

    @property
    def feasible_rate(self) -> float:
        return float(self.feasible.mean())

    @property
    def scenarios_per_second(self) -> float:
        return self.scenarios / self.seconds if self.seconds > 0 else INF

    def to_dict(self) -> dict[str, Any]:
        """The report (JSON-ready)."""
        det = self.deterministic
        return {
            "scenarios": self.scenarios,
            "seed": self.seed,
            "expected_cost": _num(self.expected_cost),
            "cost_quantiles": {k: _num(v) for k, v in self.cost_quantiles.items()},
            "cost_std": _num(self.cost_std),
            "on_time_rate": _num(self.on_time_rate),
            "violation_rate": _num(self.violation_rate),
            "feasible_rate": _num(self.feasible_rate),
            "deterministic": {"cost": _num(det.cost), "feasible": det.feasible},
            "seconds": round(self.seconds, 4),
            "routes": [r.to_dict() for r in self.routes],
        }

    def scenario(self, s: int) -> Evaluation:
        """Scenario ``s`` as the evaluator's :class:`~vrpkit.evaluate.Evaluation` (needs ``keep=True``)."""
        if self._kept is None:
            raise ValidationError("keep", "scenario() needs simulate(..., keep=True)")
        if not 0 <= s < self.scenarios:
            raise ValidationError("scenario", f"{s} is not a scenario (0 to {self.scenarios - 1})")
        return _scenario(self._kept, s)


def _num(x: float) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


# -- simulate --------------------------------------------------------------------------------------------------


def simulate(problem: Problem, plan: Plan | Evaluation, scenarios: int | Scenarios = 1000, seed: int = 0, *,
             uncertainty: Uncertainty | None = None, keep: bool = False, starts: Any = None) -> Simulation:
    """Drive ``plan`` on ``problem`` in ``scenarios`` random scenarios (a count, drawn from ``seed``, or
    :class:`Scenarios` from :func:`sample`) under the problem's ``uncertainty`` (or the one given).

    ``plan`` is anything :func:`vrpkit.evaluate` takes (or its result). ``uncertainty`` replaces the problem's
    block for the evaluation too (its profile times the planned schedule). ``keep`` keeps every scenario's
    schedule for :meth:`Simulation.scenario`. Without any noise every scenario is the evaluator's schedule.
    ``starts`` (one time per route of the evaluated plan, in its order) replaces the evaluator's departure times:
    the routes leave then, for example as planned on :func:`vrpkit.robust.quantile_problem`, whose earlier
    departures keep the slack that the evaluator's delayed departure would remove; a start before its depot
    opens or its shift starts raises :class:`ValidationError` naming ``starts``.
    """
    began = time.perf_counter()
    # skills are the plan's own (the same in every scenario); release times hold at the evaluator's start times
    if (reason := fleet_refusal(problem, "simulation", {"skills", "release_times"})) is not None:
        raise ValidationError("problem", reason)
    if uncertainty is not None:
        problem = _with(problem, uncertainty)
        if isinstance(plan, Evaluation):
            plan = [Route(r.vehicle_type, r.clients) for r in plan.routes]
    u = problem.uncertainty
    if isinstance(scenarios, Scenarios):
        count, given = scenarios.count, scenarios
        used_seed = None
        if count < 1:
            raise ValidationError("scenarios", "no scenarios")
    else:
        count, given = _check_count(scenarios), None
        _check_seed(seed)
        used_seed = int(seed)
    ev = plan if isinstance(plan, Evaluation) else evaluate(problem, plan)
    if starts is not None:
        ev = _with_starts(problem, ev, starts)
    arrays = _Plan(problem, ev, u)
    layers = _accident_layers(problem, u) if given is None else 0
    blocks: list[_Block] = []
    sums: list[dict[str, np.ndarray]] = []  # per block, so that only kept blocks hold their schedules
    for b in range(math.ceil(count / BLOCK)):
        lo, hi = b * BLOCK, min(count, (b + 1) * BLOCK)
        draws = (given.rows(lo, hi) if given is not None
                 else _sample_block(problem, u, int(seed), b, hi - lo, layers))
        _check_draws(problem, draws)
        block = _run(arrays, draws, keep)
        sums.append(_sums(block))
        if keep:
            blocks.append(block)
    return _summarise(arrays, sums, blocks, count, used_seed, time.perf_counter() - began)


def _with_starts(problem: Problem, ev: Evaluation, starts: Any) -> Evaluation:
    """``ev`` with its routes leaving at ``starts`` (see :func:`simulate`)."""
    from dataclasses import replace

    times = np.asarray(starts, dtype=float).reshape(-1)
    if len(times) != len(ev.routes) or not np.isfinite(times).all():
        raise ValidationError("starts", f"expected {len(ev.routes)} finite start times, one per route")
    for k, (r, t) in enumerate(zip(ev.routes, times, strict=True)):
        earliest = max(problem.depot_windows[r.start_depot, 0], problem.vehicle_types[r.vehicle_type].shift[0])
        if t < earliest - _EPS:
            raise ValidationError(f"starts[{k}]", f"{t:g} is before the route may leave ({earliest:g})")
    return replace(ev, routes=tuple(replace(r, start_time=float(t)) for r, t in zip(ev.routes, times,
                                                                                      strict=True)))


def _check_draws(problem: Problem, d: Scenarios) -> None:
    n = problem.n_clients
    for name in ("travel", "travel_home", "accident", "accident_home", "service"):
        a = getattr(d, name)
        if a is not None and a.shape != (d.count, n):
            raise ValidationError(f"scenarios.{name}", f"shape {a.shape}, expected {(d.count, n)}")
    for name in ("delivery", "pickup"):
        a = getattr(d, name)
        if a is not None and a.shape != (d.count, n, problem.n_dims):
            raise ValidationError(f"scenarios.{name}", f"shape {a.shape}, expected {(d.count, n, problem.n_dims)}")
    if (d.accident is None) != (d.accident_delay is None):
        raise ValidationError("scenarios.accident", "accident and accident_delay go together")


def _sums(b: _Block) -> dict[str, np.ndarray]:
    """What the report needs of a block: its costs and feasibility per scenario, the rest summed."""
    return {"cost": b.cost, "feasible": b.feasible, "late": (b.late > _EPS).sum(axis=2),
            "failed": b.failed.sum(axis=2), "returns": b.returns.sum(axis=2), "lateness": b.late.sum(axis=2),
            "route_cost": b.route_cost.sum(axis=1), "duration": b.duration.sum(axis=1),
            "distance": b.distance.sum(axis=1), "violated": np.array(float(b.violated.sum()))}


def _summarise(plan: _Plan, sums: list[dict[str, np.ndarray]], blocks: list[_Block], count: int,
               seed: int | None, seconds: float) -> Simulation:
    problem, ev = plan.problem, plan.ev
    cost = np.concatenate([b["cost"] for b in sums])
    feasible = np.concatenate([b["feasible"] for b in sums])
    total = {name: sum(b[name] for b in sums) for name in ("late", "failed", "returns", "lateness", "route_cost",
                                                         "duration", "distance", "violated")}
    late, failed, returns, lateness = total["late"], total["failed"], total["returns"], total["lateness"]
    route_cost, duration, distance = total["route_cost"], total["duration"], total["distance"]
    violated = float(total["violated"])
    ids = problem.node_ids
    nd = problem.n_depots
    routes = []
    n_stops = int(plan.length.sum())
    for r in range(plan.R):
        i = plan.row[r]
        n = int(plan.length[i])
        stops = tuple(StopRisk(ids[nd + int(plan.clients[i, p])], late[i, p] / count, failed[i, p] / count,
                               returns[i, p] / count, lateness[i, p] / count) for p in range(n))
        routes.append(RouteRisk(problem.vehicle_types[ev.routes[r].vehicle_type].id,
                                1.0 - float(late[i, :n].sum()) / (n * count), route_cost[i] / count,
                                duration[i] / count, distance[i] / count, stops))
    on_time = 1.0 - float(late.sum()) / (n_stops * count) if n_stops else 1.0
    violation_rate = violated / (problem.n_clients * count) if problem.n_clients else 0.0
    kept = (plan, blocks) if blocks else None
    return Simulation(count, seed, cost, feasible, on_time, violation_rate, tuple(routes), ev, seconds, kept)


def _scenario(kept: tuple[_Plan, list[_Block]], s: int) -> Evaluation:
    """Scenario ``s`` as an :class:`Evaluation`, with the evaluator's order of violations."""
    plan, blocks = kept
    b, j = divmod(s, BLOCK)
    blk = blocks[b]
    problem, ev = plan.problem, plan.ev
    ids, nd = problem.node_ids, problem.n_depots
    draws = blk.draws
    schedules: list[RouteSchedule] = []
    violations = [v for v in ev.violations if v.constraint in ("unknown_id", "unknown_vehicle_type")]
    route_amounts = _route_violations(plan, blk.end, blk.duration, blk.distance)
    names = ("depot_time_window", "depot_time_window", "shift", "max_duration", "max_distance")
    total_var = 0.0
    for r, planned in enumerate(ev.routes):
        i = plan.row[r]
        n = int(plan.length[i])
        clients = planned.clients
        arrival = tuple(float(x) for x in blk.arrival[i, :n, j])
        start = tuple(float(x) for x in blk.start[i, :n, j])
        departure = tuple(float(x) for x in blk.departure[i, :n, j])
        if draws is not None and draws.delivery is not None:
            dl, pk = draws.delivery[j], draws.pickup[j]  # (n, K)
        else:
            dl, pk = problem.delivery.astype(float), problem.pickup.astype(float)
        trips = [0] + [p for p in range(n) if blk.returns[i, p, j]] + [n]
        loads: list[tuple[float, ...]] = []
        start_load: tuple[float, ...] = ()
        for a, z in itertools.pairwise(trips):
            if a == z:
                continue
            members = [clients[p] for p in range(a, z) if not (plan.recourse == "return" and blk.failed[i, p, j])]
            q = [sum(float(dl[c][k]) for c in members) for k in range(problem.n_dims)]
            if a == 0:
                start_load = tuple(q)
            for p in range(a, z):
                c = clients[p]
                if not (plan.recourse == "return" and blk.failed[i, p, j]):
                    q = [q[k] - float(dl[c][k]) + float(pk[c][k]) for k in range(problem.n_dims)]
                loads.append(tuple(q))
        if not start_load:
            start_load = tuple(0.0 for _ in range(problem.n_dims))
        cost = float(blk.route_cost[i, j])
        fixed = float(plan.fixed[i])
        total_var += cost - fixed
        schedules.append(RouteSchedule(
            vehicle_type=planned.vehicle_type, clients=clients, start_depot=planned.start_depot,
            end_depot=planned.end_depot, start_time=planned.start_time, end_time=float(blk.end[i, j]),
            distance=float(blk.distance[i, j]), duration=float(blk.duration[i, j]), cost=cost,
            arrival=arrival, start=start, departure=departure, load=tuple(loads), start_load=start_load))
        if plan.planned_over[i]:
            amount = float(blk.route_excess[i, j])
            if amount > _EPS:
                violations.append(Violation("capacity", amount, r))
        for p in range(n):
            amount = blk.cap_amount[i, p, j]
            if blk.failed[i, p, j]:
                violations.append(Violation("capacity", float(amount), r, ids[nd + clients[p]]))
        for p in range(n):
            if blk.late[i, p, j] > _EPS:
                violations.append(Violation("time_window", float(blk.late[i, p, j]), r, ids[nd + clients[p]]))
        for k, (name, amounts) in enumerate(zip(names, route_amounts, strict=True)):
            amount = float(amounts[i, j])
            if amount > _EPS:
                where = planned.start_depot if k == 0 else planned.end_depot
                violations.append(Violation(name, amount, r, ids[where] if name == "depot_time_window" else None))
        violations.extend(v for v in ev.violations if v.constraint == "backhaul_order" and v.route == r)
    violations.extend(v for v in ev.violations if v.constraint in ("fleet_size", "missing_client",
                                                                   "duplicate_client"))
    return Evaluation(
        routes=tuple(schedules), unassigned=ev.unassigned, violations=tuple(violations),
        distance=float(sum_in_order(float(blk.distance[plan.row[r], j]) for r in range(plan.R))),
        duration=float(sum_in_order(float(blk.duration[plan.row[r], j]) for r in range(plan.R))),
        fixed_cost=ev.fixed_cost, variable_cost=total_var, prize_lost=ev.prize_lost,
        cost=float(blk.cost[j]))


def sum_in_order(values: Any) -> float:
    """A sum added left to right (as the evaluator adds its routes)."""
    total = 0.0
    for v in values:
        total += v
    return total


def stop_table(sim: Simulation, *, at_risk: bool = False) -> list[dict[str, Any]]:
    """Every stop of the plan with its route index, riskiest first (by late, then failure probability);
    ``at_risk``: only the stops with a positive late or failure probability."""
    rows = [{"route": r, **s.to_dict()} for r, route in enumerate(sim.routes) for s in route.stops]
    if at_risk:
        rows = [x for x in rows if (x["late_probability"] or 0) > 0 or (x["failure_probability"] or 0) > 0]
    rows.sort(key=lambda x: (-(x["late_probability"] or 0), -(x["failure_probability"] or 0)))
    return rows


def simulation_report(sim: Simulation, problem: Problem, *, top: int = 10) -> Any:
    """What ``vrpkit simulate`` prints (rich): the figures, then the ``top`` riskiest stops."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from vrpkit.report import fmt

    q = sim.cost_quantiles
    det = sim.deterministic
    title = Text(f"{problem.name}: {sim.scenarios:,} scenarios (seed {sim.seed})")
    head = Table(show_header=False)
    head.add_column("figure")
    head.add_column("value", justify="right")
    for name, value in (
            ("deterministic cost", f"{fmt(det.cost)} ({det.status})"),
            ("expected cost", fmt(sim.expected_cost)),
            ("cost p50 / p90 / p99", " / ".join(fmt(q[k]) for k in ("p50", "p90", "p99"))),
            ("cost std", fmt(sim.cost_std)),
            ("on-time rate", f"{sim.on_time_rate:.4f}"),
            ("violation rate", f"{sim.violation_rate:.4f}"),
            ("feasible rate", f"{sim.feasible_rate:.4f}"),
            ("time", f"{sim.seconds:.2f} s ({sim.scenarios_per_second:,.0f} scenarios/s)")):
        head.add_row(name, value)
    rows = stop_table(sim, at_risk=True)
    stops = Table(title=f"riskiest stops ({min(top, len(rows))} of {len(rows)} at risk)", title_justify="left")
    for name in ("route", "stop", "late prob.", "expected lateness", "failure prob.", "return prob."):
        stops.add_column(name, justify="left" if name == "stop" else "right")
    for r in rows[:top]:
        stops.add_row(str(r["route"]), r["id"], f"{r['late_probability']:.4f}", fmt(r["expected_lateness"]),
                      f"{r['failure_probability']:.4f}", f"{r['return_probability']:.4f}")
    return Group(title, head, stops) if rows else Group(title, head)


__all__ = ["BLOCK", "RouteRisk", "Scenarios", "Simulation", "StopRisk", "sample", "simulate", "simulation_report",
           "stop_table"]
