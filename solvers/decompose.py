"""Decomposition of large problems: ``solve(problem, solver, decompose=True)``.

A problem of more than ``part_size`` clients is solved in parts (a smaller one is solved whole, stats
``decompose.whole``):

1. **Split.** The clients are cut into ``ceil(n / part_size)`` balanced compact groups
   (:func:`vrpkit.territories.cluster`). Each group becomes a sub-problem (:func:`subproblem`): its clients
   with every attribute, all the depots, the sub-matrices of those nodes, and the vehicle types with their
   counts shared out (:func:`fleet_shares`).
2. **Solve** the parts at once with the chosen solver, on ``workers`` processes of this machine (default:
   the CPUs this process may use; 1: in this process) or on the Dask workers of ``scheduler``
   (``tcp://HOST:PORT``, extra ``dist``). Only the sub-problems travel. Each part gets the time of one wave
   of parts (``ceil(parts / workers)`` waves share the first phase's time).
3. **Join** the parts' routes (:meth:`Part.expand`) and improve across the borders, round after round while
   the time allows: the routes of the current plan are grouped into neighbourhoods of about ``part_size``
   clients (a seed route drawn at random and its nearest routes, by the distance between route medoids:
   the seeds change every round, so the borders move), each group is solved again as a sub-problem
   warm-started from its own routes, and its new routes replace the old ones only when the evaluator finds
   them no worse (:func:`vrpkit.solvers.solve` keeps the warm start otherwise). After the join and after every
   round the compiled local search runs on the whole plan (:class:`~vrpkit.solvers.localsearch.LocalSearch`)
   when its copy of the matrices fits ``ls_memory`` bytes (``stats["decompose"]["local_search"]`` says when it
   did not), and when no round fits in the time left (without ``rounds``), its iterated search
   (:meth:`~vrpkit.solvers.localsearch.LocalSearch.iterate`) takes the rest.

A group's routes cost the same in the sub-problem as in the whole problem (the same nodes, matrices and
vehicle types): so a round never makes the plan worse. The plan returned is evaluated on the whole problem
by :func:`vrpkit.solvers.solve`, like any other.

Time: the limit counts everything from the call, the start of the worker processes (and their imports)
included. Seeds: part ``i`` of round ``r`` is solved with a seed drawn from ``(seed, r, i)``, and the results
are joined in part order, whatever the order they finish in: with the same seed, a solver that stops on
iterations (e.g. ``aco:iterations=50``, ``pyvrp:max_iterations=500``) and ``rounds`` set, the plan is the same
for any number of workers. With time limits only, each part's search depends on the machine's speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vrpkit.batch import default_workers
from vrpkit.errors import SolverError, ValidationError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.model import Problem, fleet_refusal
from vrpkit.solution import Route, Solution

DEFAULT_PART_SIZE = {"pyvrp": 400, "aco": 300, "localsearch": 400, "ortools": 100}
"""Clients per part by solver (others: :data:`FALLBACK_PART_SIZE`); see ``examples/bench_decompose.py``."""
FALLBACK_PART_SIZE = 200
FIRST_SHARE = 0.5
"""Share of the time (after the split) that the first solve of the parts gets; the rounds get the rest."""
ROUNDS_AHEAD = 3
"""Each round gets the time left divided by this (so that the borders move at least that often)."""
MIN_GROUP_TIME = 1.0
"""No round starts when a group would get less than this many seconds."""
LS_KEY = 2**20
"""Seeds of the whole-plan local search: drawn from ``(seed, LS_KEY, round)``."""
LS_MEMORY = 2 * 1024**3
"""Default ``ls_memory``: the bytes the whole-plan local search may take for its copy of the matrices."""


# -- sub-problems ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Part:
    """A sub-problem of a problem and the way back."""

    problem: Problem
    clients: np.ndarray
    """Client of the sub-problem -> client of the problem."""
    types: tuple[int, ...]
    """Vehicle type of the sub-problem -> vehicle type of the problem."""

    def expand(self, routes: Sequence[Route]) -> tuple[Route, ...]:
        """Routes of the sub-problem as routes of the problem (empty routes left out)."""
        return tuple(Route(self.types[r.vehicle_type], tuple(int(self.clients[c]) for c in r.clients))
                     for r in routes if r.clients)

    def restrict(self, routes: Sequence[Route]) -> tuple[Route, ...]:
        """Routes of the problem over this part's clients (and types) as routes of the sub-problem."""
        index = {int(c): i for i, c in enumerate(self.clients)}
        type_index = {t: i for i, t in enumerate(self.types)}
        return tuple(Route(type_index[r.vehicle_type], tuple(index[c] for c in r.clients))
                     for r in routes if r.clients)


def subproblem(problem: Problem, clients: Sequence[int] | np.ndarray,
               counts: Sequence[int | None] | None = None) -> Part:
    """The problem restricted to ``clients`` (indices, in the order given): every depot, those clients with all
    their attributes, the distance and duration sub-matrices of those nodes, the uncertainty block, and the
    vehicle types with ``counts`` (one per vehicle type of ``problem``: a count, None for unlimited, 0 to leave
    the type out; default: the problem's own counts)."""
    p = problem
    idx = np.asarray(clients, dtype=np.int64).reshape(-1)
    if len(np.unique(idx)) != len(idx) or (len(idx) and (idx.min() < 0 or idx.max() >= p.n_clients)):
        raise ValidationError("clients", "expected distinct client indices of the problem")
    vts = p.vehicle_types
    counts = [vt.count for vt in vts] if counts is None else list(counts)
    if len(counts) != len(vts):
        raise ValidationError("counts", f"{len(counts)} counts for {len(vts)} vehicle types")
    types = tuple(v for v, c in enumerate(counts) if c is None or c > 0)
    if not types:
        raise ValidationError("counts", "every vehicle type has count 0")
    nodes = np.concatenate([np.arange(p.n_depots), p.n_depots + idx])
    mesh = np.ix_(nodes, nodes)
    distance = p.distance[mesh]
    duration = distance if p.duration is p.distance else p.duration[mesh]
    sub = Problem(name=f"{p.name} [{len(idx)} clients]", depots=p.depots,
                  clients=tuple(p.clients[int(c)] for c in idx),
                  vehicle_types=tuple(replace(vts[v], count=counts[v]) for v in types),
                  coordinates=p.coordinates, backhaul=p.backhaul, distance=distance, duration=duration,
                  base_dir=p.base_dir, uncertainty=p.uncertainty)
    return Part(sub, idx, types)


def _loads(problem: Problem) -> np.ndarray:
    """Per client and dimension the load it puts on a vehicle at most: the larger of delivery and pickup."""
    return np.maximum(problem.delivery, problem.pickup).astype(float)


def fleet_shares(problem: Problem, groups: Sequence[np.ndarray]) -> list[list[int | None]]:
    """The vehicles of each type that each group of clients gets (None: unlimited).

    A type with a count is shared in proportion to the groups' loads (each client's load, the larger of
    delivery and pickup, as a share of the total in each dimension, summed over the dimensions; by the number
    of clients when nothing is loaded), rounded by largest remainders so that the shares add up to the count.
    Then each group whose vehicles cannot hold its load in some dimension (and that has no unlimited type)
    takes vehicles, the largest first, from the group that keeps the most room once it has given one, as long
    as one can give without falling short itself: a lower bound on what each group needs, not a packing."""
    vts = problem.vehicle_types
    n_groups = len(groups)
    if all(vt.count is None for vt in vts):
        return [[None] * len(vts) for _ in range(n_groups)]
    load = _loads(problem)
    total = load.sum(axis=0)
    used = total > 0
    per_client = (load[:, used] / total[used]).sum(axis=1) if used.any() else np.ones(problem.n_clients)
    weight = np.array([per_client[g].sum() for g in groups])
    if weight.sum() <= 0:
        weight = np.array([len(g) for g in groups], dtype=float)
    weight = weight / weight.sum()
    shares = np.zeros((n_groups, len(vts)), dtype=np.int64)
    for v, vt in enumerate(vts):
        if vt.count is None:
            continue
        exact = vt.count * weight
        shares[:, v] = np.floor(exact)
        rest = vt.count - int(shares[:, v].sum())
        order = np.lexsort((np.arange(n_groups), -(exact - shares[:, v])))
        shares[order[:rest], v] += 1
    limited = np.array([vt.count is not None for vt in vts])
    demand = np.array([load[g].sum(axis=0) for g in groups]).reshape(n_groups, -1)
    cap = problem.capacity  # (V, K), inf where unlimited

    def room(g: int, s: np.ndarray) -> np.ndarray:
        held = np.where(s[:, None] > 0, s[:, None] * cap, 0.0).sum(axis=0)
        return held - demand[g]

    def short(g: int) -> bool:
        if not limited.all():
            return False  # an unlimited type covers any load
        return bool((room(g, shares[g]) < 0).any() or (shares[g].sum() == 0 and len(groups[g])))

    by_size = sorted(np.flatnonzero(limited), key=lambda v: -float(np.where(np.isfinite(cap[v]), cap[v],
                                                                              1e300).sum()))
    for g in range(n_groups):
        while short(g):
            best: tuple[float, int, int] | None = None
            for v in by_size:
                for h in range(n_groups):
                    if h == g or shares[h, v] == 0:
                        continue
                    left = shares[h].copy()
                    left[v] -= 1
                    spare = room(h, left)
                    if (spare < 0).any() or (left.sum() == 0 and len(groups[h])):
                        continue
                    score = float(np.where(np.isfinite(spare), spare, 1e300).min())
                    if best is None or score > best[0]:
                        best = (score, h, int(v))
                if best is not None:
                    break
            if best is None:
                break  # no group can spare a vehicle: the solver and the evaluator report what is short
            _, h, v = best
            shares[h, v] -= 1
            shares[g, v] += 1
    return [[None if vt.count is None else int(shares[g, v]) for v, vt in enumerate(vts)]
            for g in range(n_groups)]


# -- splitting and grouping ------------------------------------------------------------------------------


def split(problem: Problem, part_size: int, seed: int) -> list[np.ndarray]:
    """The clients cut into ``ceil(n / part_size)`` balanced compact groups (fewer when the vehicles of a
    limited fleet are fewer than that), by :func:`vrpkit.territories.cluster`."""
    n = problem.n_clients
    k = max(1, math.ceil(n / part_size))
    if all(vt.count is not None for vt in problem.vehicle_types):
        k = min(k, sum(vt.count for vt in problem.vehicle_types))
    from vrpkit.territories import cluster

    labels = cluster(problem, k, seed=seed)  # every client weighs 1: at most ceil(n / k) clients a group
    return [g for g in (np.flatnonzero(labels == j) for j in range(int(labels.max()) + 1)) if len(g)]


def medoids(problem: Problem, routes: Sequence[Route]) -> np.ndarray:
    """The node of each route's clients with the smallest total distance to the route's other clients."""
    nd = problem.n_depots
    out = np.empty(len(routes), np.int64)
    for r, route in enumerate(routes):
        nodes = nd + np.asarray(route.clients, np.int64)
        sub = problem.distance[np.ix_(nodes, nodes)]
        out[r] = nodes[int(np.argmin(sub.sum(axis=1) + sub.sum(axis=0)))]
    return out


def group_routes(problem: Problem, routes: Sequence[Route], part_size: int,
                 rng: np.random.Generator) -> list[list[int]]:
    """Routes (indices) grouped into neighbourhoods of about ``part_size`` clients: a seed route drawn at
    random among those left, then its nearest routes left (medoid to medoid, the shorter way) until the group
    holds ``part_size`` clients; every route is in one group."""
    if not routes:
        return []
    m = medoids(problem, routes)
    between = problem.distance[np.ix_(m, m)]
    between = np.minimum(between, between.T)
    sizes = np.array([len(r.clients) for r in routes])
    left = np.ones(len(routes), bool)
    groups = []
    for s in rng.permutation(len(routes)):
        if not left[s]:
            continue
        order = np.argsort(np.where(left, between[s], np.inf), kind="stable")
        order = order[left[order]]
        take = np.searchsorted(np.cumsum(sizes[order]), part_size) + 1
        members = order[:max(1, take)]
        left[members] = False
        groups.append(sorted(int(r) for r in members))
    return groups


# -- parallel solving ------------------------------------------------------------------------------------


def _warm(solver: str) -> float:
    """Import a worker's modules before its first part (the pool's start-up); returns the seconds it took."""
    t0 = time.perf_counter()
    from vrpkit.solvers.base import get_solver

    get_solver(solver)
    return time.perf_counter() - t0


_FIELDS = ("name", "depots", "clients", "vehicle_types", "coordinates", "backhaul", "distance", "duration",
           "base_dir", "uncertainty")


def pack(problem: Problem) -> dict[str, Any]:
    """What a worker needs to build ``problem`` again (a Problem holds mapping proxies, which do not pickle)."""
    return {name: getattr(problem, name) for name in _FIELDS}


def solve_part(packed: dict[str, Any], solver: str, options: dict[str, Any], time_limit: float, seed: int,
               initial: tuple[Route, ...] | None) -> tuple[tuple[Route, ...] | None, int, float, float]:
    """One part (:func:`pack`) solved by :func:`vrpkit.solvers.solve` (in a worker): its routes (None: no
    plan), the number of constraints they break, their cost and the seconds it took (its building included)."""
    from vrpkit.solvers.base import solve

    t0 = time.perf_counter()
    problem = Problem(**packed)
    result = solve(problem, solver, time_limit=max(time_limit, 1e-3), seed=seed, initial=initial or None,
                   **options)
    if result.solution is None or result.evaluation is None:
        return None, 0, math.inf, time.perf_counter() - t0
    return (tuple(result.solution.routes), len(result.evaluation.violations), result.evaluation.cost,
            time.perf_counter() - t0)


class _Pool:
    """Processes of this machine, Dask workers, or this process (``workers`` 1): ``run(jobs)`` solves the
    parts and returns their results in the jobs' order."""

    def __init__(self, solver: str, workers: int, scheduler: str | None) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self._created = time.perf_counter()
        self._executor: Any = None
        self._client: Any = None
        self._warming: list[Any] = []
        if scheduler is not None:
            from vrpkit.batch import scheduler_client

            self._client = scheduler_client(scheduler)
            self.workers = max(1, sum(self._client.nthreads().values()))
            self._warming = [self._client.submit(_warm, solver, pure=False) for _ in range(self.workers)]
        elif workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            self._warming = [self._executor.submit(_warm, solver) for _ in range(workers)]

    def startup(self) -> float:
        """Wait for the workers to be ready; the seconds from the pool's creation until they were (0 for
        this process)."""
        from concurrent.futures.process import BrokenProcessPool

        if not self._warming:
            return 0.0
        try:
            for f in self._warming:
                f.result()
        except BrokenProcessPool:
            raise SolverError("the worker processes died while starting (a script that solves with "
                              "decompose=True and several workers must call it under "
                              "if __name__ == \"__main__\":, as multiprocessing requires)") from None
        self._warming = []
        return time.perf_counter() - self._created

    def run(self, jobs: Sequence[tuple[Any, ...]]) -> list[Any]:
        if self._client is not None:
            futures = [self._client.submit(solve_part, *job, pure=False) for job in jobs]
            return self._client.gather(futures)
        if self._executor is not None:
            futures = [self._executor.submit(solve_part, *job) for job in jobs]
            return [f.result() for f in futures]
        return [solve_part(*job) for job in jobs]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()


def check_options(workers: Any, scheduler: Any, part_size: Any, rounds: Any = None) -> None:
    """:class:`ValidationError` naming the option for a bad ``workers``, ``scheduler``, ``part_size`` or
    ``rounds``."""
    for name, value, low in (("workers", workers, 1), ("part_size", part_size, 2), ("rounds", rounds, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                  or value < low):
            raise ValidationError(name, f"expected an integer >= {low}, got {value!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValidationError("scheduler", f"expected an address like tcp://HOST:PORT, got {scheduler!r}")
    if workers is not None and scheduler is not None:
        raise ValidationError("workers", "give workers or scheduler, not both (the scheduler's workers are used)")


# -- the solver ------------------------------------------------------------------------------------------


class DecomposedSolver:
    """``solver`` run on the parts of a problem (see the module docstring); built by
    :func:`vrpkit.solvers.solve` for ``decompose=True``. ``options`` go to ``solver``."""

    def __init__(self, solver: str, *, workers: int | None = None, scheduler: str | None = None,
                 part_size: int | None = None, rounds: int | None = None, ls_memory: float = LS_MEMORY,
                 **options: Any) -> None:
        from vrpkit.solvers.base import get_solver

        check_options(workers, scheduler, part_size, rounds)
        self.inner = get_solver(solver, **options)  # unknown solvers and options fail here
        self.spec = solver
        self.options = options
        self.name = self.inner.name
        self.workers = workers
        self.scheduler = scheduler
        self.part_size = int(part_size or DEFAULT_PART_SIZE.get(self.inner.name, FALLBACK_PART_SIZE))
        self.rounds = rounds
        self.ls_memory = float(ls_memory)

    def supports(self, problem: Problem) -> str | None:
        # parts keep skills and release times; they would split shipments, and routes move between parts as
        # client sequences, without reloads or placed breaks
        return fleet_refusal(problem, "--decompose", {"skills", "release_times"}) or self.inner.supports(problem)

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Any,
              initial: Solution | None = None) -> Solution | None:
        started = time.perf_counter()
        deadline = started + time_limit
        stats: dict[str, Any] = {"part_size": self.part_size}
        if problem.n_clients <= self.part_size and initial is None:
            stats.update(whole=True, parts=1)
            plan = self.inner.solve(problem, time_limit=time_limit, seed=seed, progress=progress)
            return None if plan is None else Solution(plan.routes, {**plan.stats, "decompose": stats})
        stream = progress.stream if progress is not None else None

        def log(text: str) -> None:
            if stream is not None:
                print(f"decompose [{progress.elapsed():7.2f}s] {text}", file=stream, flush=True)

        seeds = np.random.SeedSequence(seed)
        rng = np.random.default_rng(seeds.spawn(1)[0])
        pool = _Pool(self.spec, self.workers or default_workers(), self.scheduler)
        stats.update(whole=False, workers=pool.workers, scheduler=self.scheduler)
        try:
            if initial is None:
                t0 = time.perf_counter()
                groups = split(problem, self.part_size, seed)
                shares = fleet_shares(problem, groups)
                # A group left without vehicles (a fleet too small to share) is not solved: the whole-plan
                # search inserts its clients where they fit, and the evaluator reports the others.
                held = [i for i, c in enumerate(shares) if any(x is None or x > 0 for x in c)]
                stats["parts_without_vehicles"] = len(groups) - len(held)
                groups = [groups[i] for i in held]
                parts = [subproblem(problem, groups[j], shares[i]) for j, i in enumerate(held)]
                stats["split_time"] = round(time.perf_counter() - t0, 3)
                stats["startup"] = round(pool.startup(), 3)
                stats["parts"] = len(parts)
                sizes = [len(g) for g in groups] or [0]
                log(f"{len(parts)} parts of {min(sizes)}-{max(sizes)} clients on {pool.workers} workers "
                    f"(start-up {stats['startup']:.2f}s)")
                waves = max(1, math.ceil(len(parts) / pool.workers))
                rounds_follow = self.rounds is None or self.rounds > 0
                share = FIRST_SHARE if rounds_follow else 1.0
                each = max((deadline - time.perf_counter()) * share / waves, 1e-3)
                t0 = time.perf_counter()
                results = pool.run([(pack(part.problem), self.spec, self.options, each,
                                     _seed(seeds, 0, i), None) for i, part in enumerate(parts)])
                stats["first_time"] = round(time.perf_counter() - t0, 3)
                routes = [r for part, res in zip(parts, results, strict=True) if res[0] is not None
                          for r in part.expand(res[0])]
                stats["parts_without_plan"] = sum(res[0] is None for res in results)
            else:
                stats["startup"] = round(pool.startup(), 3)
                stats["parts"] = 0
                routes = list(initial.routes)
            ev = evaluate(problem, routes)
            costs = [ev.cost if ev.feasible else None]
            log(f"joined: cost {ev.cost:,.2f}, {len(ev.violations)} violations")
            if ev.feasible:
                progress.update(ev.cost)
            searcher = _WholeSearch(problem, self.ls_memory)
            routes, ev = searcher.improve(routes, ev, deadline, _seed(seeds, LS_KEY, 0))
            self._report(ev, progress, log, "local search")
            times = []
            k = 0
            while self.rounds is None or k < self.rounds:
                groups_r = group_routes(problem, routes, self.part_size, rng)
                if not groups_r:
                    break
                waves = math.ceil(len(groups_r) / pool.workers)
                left = deadline - time.perf_counter() - searcher.reserve
                each = left / (ROUNDS_AHEAD if self.rounds is None else max(1, self.rounds - k)) / waves
                if self.rounds is None and each < min(MIN_GROUP_TIME, 0.05 * time_limit):
                    break
                if left <= 0:
                    break
                k += 1
                t0 = time.perf_counter()
                routes, ev = self._round(problem, pool, routes, ev, groups_r, max(each, 1e-3),
                                         [_seed(seeds, k, i) for i in range(len(groups_r))])
                routes, ev = searcher.improve(routes, ev, deadline, _seed(seeds, LS_KEY, k))
                times.append(round(time.perf_counter() - t0, 3))
                costs.append(ev.cost if ev.feasible else None)
                self._report(ev, progress, log, f"round {k} ({len(groups_r)} groups)")
            if self.rounds is None and searcher.enabled and deadline - time.perf_counter() > 0.5:
                routes, ev = searcher.improve(routes, ev, deadline, _seed(seeds, LS_KEY, k + 1), perturb=True)
                self._report(ev, progress, log, f"iterated local search ({searcher.iterations} iterations)")
            stats.update(rounds=k, round_costs=costs, round_times=times, local_search=searcher.note,
                         local_search_time=round(searcher.seconds, 3), perturbations=searcher.iterations)
        finally:
            pool.close()
        stats["wall_time"] = round(time.perf_counter() - started, 3)
        return Solution(tuple(routes), {"decompose": stats})

    @staticmethod
    def _report(ev: Evaluation, progress: Any, log: Callable[[str], None], what: str) -> None:
        if ev.feasible:
            progress.update(ev.cost)
        log(f"{what}: cost {ev.cost:,.2f}" + ("" if ev.feasible else f", {len(ev.violations)} violations"))

    def _round(self, problem: Problem, pool: _Pool, routes: list[Route], ev: Evaluation,
               groups: list[list[int]], each: float, seeds: list[int]) -> tuple[list[Route], Evaluation]:
        """One round: every group of routes solved again from its routes; a group's new routes kept when they
        are no worse (fewer violations, or as many and a cost not higher) in its sub-problem."""
        vts = problem.vehicle_types
        used = np.zeros(len(vts), np.int64)
        for r in routes:
            used[r.vehicle_type] += 1
        spare = [0 if vt.count is None else max(0, vt.count - int(used[v])) for v, vt in enumerate(vts)]
        served = np.zeros(problem.n_clients, bool)
        for r in routes:
            served[list(r.clients)] = True
        out_clients = np.flatnonzero(~served)  # left out: each goes with the group of its nearest medoid
        home = np.zeros(len(out_clients), np.int64)
        if len(out_clients):
            m = medoids(problem, routes) if routes else np.zeros(1, np.int64)
            owner = np.zeros(len(m), np.int64)
            for g, members in enumerate(groups):
                owner[members] = g
            near = np.argmin(problem.distance[np.ix_(problem.n_depots + out_clients, m)], axis=1)
            home = owner[near]
        jobs, parts, olds = [], [], []
        for g, members in enumerate(groups):
            group = [routes[r] for r in members]
            clients = np.array([c for r in group for c in r.clients] + list(out_clients[home == g]), np.int64)
            counts: list[int | None] = []
            for v, vt in enumerate(vts):
                if vt.count is None:
                    counts.append(None)
                    continue
                mine = sum(r.vehicle_type == v for r in group)
                extra = spare[v] // len(groups) + (g < spare[v] % len(groups))
                counts.append(mine + extra)
            part = subproblem(problem, clients, counts)
            start = part.restrict(group)
            parts.append(part)
            olds.append(group)
            jobs.append((pack(part.problem), self.spec, self.options, each, seeds[g], start))
        results = pool.run(jobs)
        new: list[Route] = []
        for part, old, (found, _, _, _) in zip(parts, olds, results, strict=True):
            new.extend(old if found is None else part.expand(found))
        ev_new = evaluate(problem, new)
        if (len(ev_new.violations), ev_new.cost) <= (len(ev.violations), ev.cost):
            return new, ev_new
        return routes, ev


def _seed(seeds: np.random.SeedSequence, round_: int, part: int) -> int:
    return int(np.random.SeedSequence(seeds.entropy, spawn_key=(round_, part)).generate_state(1)[0] % 2**31)


class _WholeSearch:
    """The compiled local search on the whole plan, when its copy of the matrices fits ``memory`` bytes."""

    def __init__(self, problem: Problem, memory: float) -> None:
        self.problem = problem
        need = 2 * 8 * (problem.n_nodes + 1) ** 2
        self.enabled = need <= memory
        self.note = ("whole plan" if self.enabled else
                     f"skipped: its copy of the matrices needs {need / 1024**3:.1f} GiB > ls_memory "
                     f"{memory / 1024**3:.1f} GiB")
        self.reserve = 0.0
        """Seconds to keep for the last search (the longest run so far)."""
        self.iterations = 0
        """Iterations of the iterated local search."""
        self.seconds = 0.0
        """Seconds spent in the search, building it included."""
        self._ls: Any = None

    def improve(self, routes: list[Route], ev: Evaluation, deadline: float, seed: int, *,
                perturb: bool = False) -> tuple[list[Route], Evaluation]:
        """``routes`` improved by the local search until its local optimum (or the deadline); with
        ``perturb``, by its iterated search (:meth:`LocalSearch.iterate`) until the deadline."""
        left = deadline - time.perf_counter()
        if not self.enabled or left <= 0:
            return routes, ev
        t0 = time.perf_counter()
        from vrpkit.solvers.build import compiled_or_interpreted
        from vrpkit.solvers.localsearch import LocalSearch

        if self._ls is None:
            if not compiled_or_interpreted():  # interpreted, it would take all the time left
                self.enabled, self.note = False, "skipped: the compiled code is not built"
                return routes, ev
            self._ls = LocalSearch(self.problem)
        t1 = time.perf_counter()
        self._ls.load(routes)
        self._ls.run(time_limit=deadline - time.perf_counter(), seed=seed)
        if perturb:
            self.iterations += self._ls.iterate(time_limit=deadline - time.perf_counter(), seed=seed)
        new = self._ls.routes()
        self.reserve = max(self.reserve, time.perf_counter() - t1)  # without building the search
        self.seconds += time.perf_counter() - t0
        ev_new = evaluate(self.problem, new)
        if (len(ev_new.violations), ev_new.cost) <= (len(ev.violations), ev.cost):
            return new, ev_new
        return routes, ev

