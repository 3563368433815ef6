"""Break placement for any solver's plan: each route's breaks moved to where they cost least.

The evaluator's short form takes each break at the earliest point its windows allow (see
:mod:`vrpkit.evaluate`, "Breaks"); that is not always the cheapest: a break taken later may fill a wait for a
client's window, one taken after the first client instead of at the depot may let the vehicle leave later.
:func:`place_breaks` re-places the breaks of every route of a plan with
:func:`vrpkit._evaluate_kernel.best_breaks` (compiled: from the route's own placement, each break moved to
every position until no move gains, by the evaluator's ``(violation, cost)`` of the route). A route whose
placement improves comes back with its breaks listed; the others come back as they were. The plan is returned
unchanged when the evaluator would rank the new one worse (more violations, or a higher cost), so the pass
never makes a plan worse. :func:`vrpkit.solvers.base.solve` runs it on every solver's plan
of a problem with breaks (not time-dependent: the compiled rules have no travel-time profile);
``stats["breaks_placed"]`` is the number of routes whose placement changed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from vrpkit.solvers.build import compiled_or_interpreted, interpreted

from vrpkit._evaluate_kernel import best_breaks, fleet_arrays, fleet_route, fleet_work
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

_EPS = 1e-6


def applies(problem: Problem) -> bool:
    """Whether :func:`place_breaks` has anything to do: the problem has breaks and no travel-time profile."""
    return "breaks" in problem.attributes and not problem.time_dependent


def route_events(problem: Problem, route: Route) -> np.ndarray | None:
    """The events of ``route`` as :func:`~vrpkit._evaluate_kernel.fleet_route` takes them (int64): at each
    position the listed breaks (``-(n_depots + 1 + b)``), then the reload (``-(d + 1)``), then the client;
    None when the route names a client, depot or break that does not exist (left to the evaluator)."""
    nd, nc = problem.n_depots, problem.n_clients
    if not 0 <= route.vehicle_type < len(problem.vehicle_types):
        return None
    n_b = len(problem.vehicle_types[route.vehicle_type].breaks)
    if any(not 0 <= c < nc for c in route.clients) or any(not 0 <= d < nd for _, d in route.reloads):
        return None
    breaks = route.breaks or ()
    if any(not 0 <= b < n_b or not 0 <= p <= len(route.clients) for p, b in breaks):
        return None
    out: list[int] = []
    for p in range(len(route.clients) + 1):
        out.extend(-(nd + 1 + b) for q, b in breaks if q == p)
        out.extend(-(d + 1) for q, d in route.reloads if q == p)
        if p < len(route.clients):
            out.append(route.clients[p])
    return np.array(out, dtype=np.int64)


def route_of(problem: Problem, v: int, stops: Sequence[int]) -> Route:
    """The :class:`Route` of type ``v`` with the events ``stops`` (breaks listed)."""
    nd = problem.n_depots
    clients: list[int] = []
    reloads: list[tuple[int, int]] = []
    breaks: list[tuple[int, int]] = []
    for s in stops:
        s = int(s)
        if s >= 0:
            clients.append(s)
        elif -s - 1 < nd:
            reloads.append((len(clients), -s - 1))
        else:
            breaks.append((len(clients), -s - 1 - nd))
    return Route(v, tuple(clients), tuple(reloads), tuple(breaks))


def route_rank(problem: Problem, route: Route) -> tuple[int, float]:
    """The evaluator's rank of ``route`` alone: how many violations it has, then its cost."""
    ev = evaluate(problem, [route])
    return sum(1 for x in ev.violations if x.route == 0), ev.routes[0].cost


def _worse(new: Evaluation, old: Evaluation) -> bool:
    """Whether the evaluator ranks ``new`` below ``old`` (more violations, then a higher cost)."""
    if len(new.violations) != len(old.violations):
        return len(new.violations) > len(old.violations)
    return new.cost > old.cost + _EPS * max(1.0, abs(old.cost))


def place_breaks(problem: Problem, solution: Solution, *, deadline: float | None = None,
                 compiled: bool | None = None) -> Solution:
    """``solution`` with the breaks of every route re-placed: each route keeps its own placement (as it was)
    unless :func:`~vrpkit._evaluate_kernel.best_breaks` finds a better one (then listed); ``solution``'s routes
    when the problem has no breaks or a travel-time profile, or when the evaluator would rank the result worse.
    Routes are re-placed until ``deadline`` (:func:`time.perf_counter` seconds; None: all). ``compiled`` None
    uses the compiled kernel when it is built (else runs it interpreted and starts the build). The stats gain
    ``breaks_placed``: the number of routes whose placement changed."""
    if not applies(problem) or not solution.routes:
        return solution
    if compiled is None:
        compiled = compiled_or_interpreted()
    search = best_breaks if compiled else interpreted(best_breaks)
    score = fleet_route if compiled else interpreted(fleet_route)
    F = fleet_arrays(problem)
    work = fleet_work(F)
    most = max(len(vt.breaks) for vt in problem.vehicle_types)
    own_routes: list[Route] = []
    found: dict[int, Route] = {}  # route index -> a better placement by the kernel's (violation, cost)
    for i, route in enumerate(solution.routes):
        v = route.vehicle_type
        stops = None if deadline is not None and time.perf_counter() >= deadline else route_events(problem, route)
        if stops is None or not problem.vehicle_types[v].breaks:
            own_routes.append(route)
            continue
        n = len(stops)
        _, _, cost, viol = score(F, v, stops, n, work)
        own_routes.append(route)
        out = np.zeros(n + most + 1, dtype=np.int64)
        length = search(F, v, stops, n, work, out)
        _, _, new_cost, new_viol = score(F, v, out, length, work)
        if new_viol < viol - _EPS or (new_viol <= viol + _EPS and new_cost < cost - _EPS):
            found[i] = route_of(problem, v, out[:length])
    if not found:
        return Solution(solution.routes, {**solution.stats, "breaks_placed": 0})
    before = evaluate(problem, solution)
    placed = _with(own_routes, found, solution)
    if _worse(evaluate(problem, placed), before):
        # Less violation in all, but more violations: keep only the routes the evaluator ranks no worse alone.
        found = {i: r for i, r in found.items() if route_rank(problem, r) <= route_rank(problem, own_routes[i])}
        placed = _with(own_routes, found, solution)
        if _worse(evaluate(problem, placed), before):
            return Solution(solution.routes, {**solution.stats, "breaks_placed": 0})
    return placed


def _with(routes: list[Route], found: dict[int, Route], solution: Solution) -> Solution:
    """``routes`` with those of ``found`` replaced, and the stats of ``solution`` with ``breaks_placed``."""
    out = tuple(found.get(i, r) for i, r in enumerate(routes))
    return Solution(out, {**solution.stats, "breaks_placed": len(found)})
