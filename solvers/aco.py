"""vrpkit's ant colony solver (``solver="aco"``): a Max-Min Ant System with the compiled local search.

Each iteration, every ant builds a complete plan (all ants at once, in compiled code): from the depot of a
vehicle it chooses the next client among the ``candidates`` nearest clients of where it stands, with
probability proportional to ``pheromone ** alpha * visibility`` (visibility: ``distance ** -beta``, times
``savings ** gamma``), keeping only clients that leave the route feasible for every attribute of the model
(the same segment arithmetic as :mod:`vrpkit.solvers.localsearch`: capacities, time windows, service times,
shifts, duration and distance limits, open routes, strict and mixed backhaul, skills, release times; a client
with several time windows is served in the earliest that fits; a shipment's pickup stop comes with its
delivery stop right after it, which the local search then moves apart). With reloads, when no client fits
the route reloads at the nearest depot its type may reload at and goes on (taken back when no client fits
after it). The ants ignore what the segments do not hold: breaks, ride times (``max_ride_time``), release
times per trip and shipments on board across reloads; their plans are always loadable, and the local search
(its exact check, see :mod:`vrpkit.solvers.localsearch`) repairs them and costs them by the evaluator's rules;
plans come out with breaks in the short form (placed by the evaluator). When no candidate fits, the
route is closed (or, for half the ants by default, the most attractive client that fits is taken from all
the others, see ``fill``) and a vehicle opened: vehicle type and first client are drawn together among the
vehicles left, from all clients when no candidate of their depots fits. Optional clients are taken only
while their prize exceeds the detour. The best ants are then improved by the local search.

Pheromone (Stützle and Hoos, 2000): evaporation by ``rho``, deposit ``1 / cost`` on the arcs of the
iteration's best plan, or of the best plan so far every ``best_every`` iterations; trails stay within
``[tau_min, tau_max]`` with ``tau_max = 1 / (rho * best cost)``; all trails are reset to ``tau_max`` when
the best plan has not improved for ``restart`` iterations. Trails (and visibility) are kept only on the arcs
an ant draws from: from each depot to every client and from each client to its ``candidates``, ``O(n * k)``
memory; the other arcs stay at ``tau_min``, so that when no candidate fits and ``fill`` takes a client from
all the others, the most visible one that fits is taken (the nearest with ``gamma`` 0). Nothing per
iteration costs ``O(n ** 2)``: the weights are computed on those arcs, and the lists and the neighbours of
the local search are built in row blocks (the compiled code reads the problem's own matrices, see
:func:`vrpkit.solvers.localsearch.search_matrices`).

Then (``ils``: by default ``ILS_SHARE``, 95 % of the time, from ``FILL_BOTH_BELOW`` clients or with a warm
start) the iterated local search of the best plan (ruin and recreate with record-to-record acceptance,
:meth:`vrpkit.solvers.localsearch.LocalSearch.iterate`) takes the rest of the time; it is where most of the
gain on 500-1000 clients comes from (see ``examples/bench_aco.py``).

Warm start (``initial``): the plan given is the colony's best plan from the start and the trails start on its
arcs (:meth:`Colony.start_from`; the torch backend likewise); the iterated local search then starts from the
best plan: the plan returned is never worse than the one given.

Reproducibility: the same seed and ``iterations`` (with a time limit that is not reached; the colony alone)
give the same plan on the same machine. The time limit counts everything from the call: an iteration starts
only when the ants are expected to be built before it is reached, and the local search stops at it (after its
current pass).

Compiled code: built once with ``python -m vrpkit.solvers.build`` (see :mod:`vrpkit.solvers.build`). A run
that finds it not built never compiles in the foreground: it starts the build in the background and runs
the same colony interpreted (``stats["compiled"]`` False, ``stats["interpreted_iterations"]``), checking the
time after each ant and each client of the local search (which then leaves out route elimination and the
vehicle type and window moves), and goes on compiled as soon as the build is done.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numba as nb
import numpy as np
from vrpkit.solvers.build import COMMAND, Watch, build, compiled_or_interpreted, interpreted
from vrpkit.solvers.localsearch import (
    C_ND,
    CPD,
    FIRST,
    LocalSearch,
    cat,
    row_blocks,
    same_window,
    score,
    unsupported,
)

from vrpkit.diagnose import diagnose
from vrpkit.errors import NoSolutionError, SolverError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

if TYPE_CHECKING:
    from vrpkit.solvers.base import Progress

_jit = nb.njit(cache=True, _nrt=False)


class ACOSolver:
    """Max-Min Ant System with local search (see the module docstring).

    Options (keyword arguments, or ``"aco:ants=20,beta=3"``):

    - ``ants``: ants per iteration (default 20);
    - ``alpha``, ``beta``: weights of pheromone and visibility (1 and 2);
    - ``gamma``: weight of the savings of joining two clients (Clarke and Wright) in the visibility (0);
    - ``rho``: evaporation rate (0.3: trails converge within the few hundred iterations of a short run);
    - ``candidates``: nearest clients an ant considers (20);
    - ``fill``: when no candidate fits, 0: close the route (compact routes), 1: take the most attractive
      client that fits among all the others (full routes), 2: half the ants each way. Default: 2 below
      ``FILL_BOTH_BELOW`` clients, else 0 (see :func:`fill_mode`). Always 1 when every vehicle type has a
      limited count, where routes must be full;
    - ``ls_ants``: how many of the iteration's best ants the local search improves (1);
    - ``granularity``: related clients per client in the local search (20);
    - ``best_every``: deposit on the best plan so far every this many iterations (3);
    - ``restart``: iterations without improvement before the trails are reset (100);
    - ``iterations``: stop after this many iterations (default: only the time limit); the colony alone then
      (no ``ils`` phase), reproducible;
    - ``ils``: share of the time limit given at the end to the iterated local search of the best plan
      (:meth:`vrpkit.solvers.localsearch.LocalSearch.iterate`, record-to-record threshold
      ``ILS_THRESHOLD``); default ``ILS_SHARE`` from ``FILL_BOTH_BELOW`` clients or with a warm start, else 0;
    - ``ruin``: the ruin of that search, ``"radial"`` (a client and its nearest) or ``"strings"`` (strings
      of the routes around a client; default; X-n1001 at 60 s: 3.09 % against 3.20 % with ``ils`` 2/3).
      ``ils`` and ``ruin`` are the CPU colony's: the torch backend runs the colony alone;
    - ``device``: ``"cpu"`` (default: compiled with numba), ``"torch"`` (the torch backend on the CPU) or a
      CUDA device, ``"cuda"``, ``"cuda:1"`` (the torch backend on that GPU; :mod:`vrpkit.solvers.aco_torch`,
      extra ``gpu``). The torch backend builds the ants of many instances at once: use :meth:`solve_many`.
    """

    name = "aco"

    def __init__(self, *, ants: int = 20, alpha: float = 1.0, beta: float = 2.0, gamma: float = 0.0,
                 rho: float = 0.3,
                 candidates: int = 20, ls_ants: int = 1, granularity: int = 20, best_every: int = 3,
                 restart: int = 100, iterations: int | None = None, fill: int | None = None,
                 device: str = "cpu", ils: float | None = None, ruin: str = "strings",
                 **unknown: Any) -> None:
        if unknown:
            names = ", ".join(f'"{k}"' for k in unknown)
            raise SolverError(f'solver "aco": unknown option {names} (known: ants, alpha, beta, gamma, rho, '
                              "candidates, "
                              "ls_ants, granularity, best_every, restart, iterations, fill, device, ils, "
                              "ruin)")
        if fill not in (None, 0, 1, 2):
            raise SolverError(f'solver "aco": fill must be 0, 1 or 2, got {fill!r}')
        for key, value, low in (("ants", ants, 1), ("candidates", candidates, 1), ("ls_ants", ls_ants, 0),
                                ("granularity", granularity, 1), ("best_every", best_every, 1),
                                ("restart", restart, 1), ("iterations", iterations, 1)):
            if value is None and key == "iterations":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SolverError(f'solver "aco": {key} must be an integer >= {low}, got {value!r}')
        for key, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise SolverError(f'solver "aco": {key} must be a number >= 0, got {value!r}')
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0 < rho < 1:
            raise SolverError(f'solver "aco": rho must be in (0, 1), got {rho!r}')
        if ils is not None and (isinstance(ils, bool) or not isinstance(ils, int | float) or not 0 <= ils < 1):
            raise SolverError(f'solver "aco": ils must be in [0, 1), got {ils!r}')
        if ruin not in ("radial", "strings"):
            raise SolverError(f'solver "aco": ruin must be "radial" or "strings", got {ruin!r}')
        if not isinstance(device, str) or not (device in ("cpu", "torch") or device.split(":")[0] == "cuda"):
            raise SolverError(f'solver "aco": device must be "cpu", "torch" or "cuda[:N]", got {device!r}')
        self.ants = ants
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.rho = float(rho)
        self.candidates = candidates
        self.ls_ants = min(ls_ants, ants)
        self.granularity = granularity
        self.best_every = best_every
        self.restart = restart
        self.iterations = iterations
        self.device = device
        self.fill = fill
        self.ils = None if ils is None else float(ils)
        self.ruin = ruin

    def supports(self, problem: Problem) -> str | None:
        """None, or why not: what the compiled local search refuses (:func:`unsupported`: shipments or
        multi-trip with strict backhaul, ...); on the torch backend also skills, release times, shipments,
        reloads and breaks (not in its tensor rules)."""
        if self.device != "cpu":
            try:
                from vrpkit.solvers.tensors import unsupported_fleet
            except ImportError:  # no torch: solve says so
                return unsupported(problem)
            return unsupported_fleet(problem, f'the torch backend of "aco" (device {self.device})')
        return unsupported(problem)

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress | None = None,
              initial: Solution | None = None) -> Solution | None:
        """The best plan found in ``time_limit``. With ``initial``, the colony starts from that plan: it is the
        best plan so far and the trails start on its arcs (:meth:`Colony.start_from`), so the plan returned
        is never worse by the colony's measure."""
        started = time.perf_counter()
        deadline = started + time_limit
        if self.device != "cpu":
            backend = _torch_backend()  # importing torch counts
            return backend.solve_torch(problem, self, device=self.device, seed=seed, progress=progress,
                                       time_limit=deadline - time.perf_counter(), initial=initial)
        reasons = diagnose(problem)
        if reasons:
            raise NoSolutionError("no feasible plan exists", reasons)
        if problem.n_clients == 0:
            return Solution((), {"iterations": 0})
        compiled = compiled_or_interpreted()
        colony = Colony(problem, self, seed, compiled=compiled)
        warm = initial is not None and bool(initial.routes)
        share = 0.0 if self.iterations is not None or not compiled else ils_share(problem, self.ils, warm)
        ils_deadline, deadline = deadline, deadline - share * max(0.0, deadline - time.perf_counter())
        if initial is not None and initial.routes:
            colony.start_from(initial.routes)
            if progress is not None and colony.best_violation == 0:
                progress.update(colony.best_cost)
        watch = None if compiled else Watch()
        interpreted_iterations = 0
        while True:
            improved = colony.iterate(deadline)
            if watch is not None:
                interpreted_iterations = colony.iteration
            if improved and progress is not None and colony.best_violation == 0:
                progress.update(colony.best_cost)
            if self.iterations is not None and colony.iteration >= self.iterations:
                break
            if watch is not None and watch.ready():
                colony.use_compiled()
                watch = None
            if time.perf_counter() + colony.construct_seconds >= deadline:
                break
        perturbations = 0
        if share > 0 and colony.best is not None:
            perturbations = colony.perturb(ils_deadline, None if progress is None else progress.update)
        if colony.best is None or colony.best_violation > 0:
            reason = colony.failure_reason()
            if watch is not None:
                reason += f" (the compiled code is not built: run {COMMAND})"
            raise NoSolutionError("no feasible plan found", [reason])
        stats = {"iterations": colony.iteration, "restarts": colony.restarts, "aco_cost": colony.best_cost,
                 "local_search_moves": colony.ls.moves, "compiled": compiled, "perturbations": perturbations}
        if not compiled:
            stats["interpreted_iterations"] = interpreted_iterations
        return Solution(tuple(colony.ls.public(colony.best)), stats)

    def solve_many(self, problems: Sequence[Problem], *, time_limit: float, seed: int = 0
                   ) -> list[tuple[Solution | None, Evaluation | None]]:
        """Solve several problems, ``time_limit`` seconds each; each plan comes with the evaluator's verdict
        (None, None when no plan was found). The torch backend solves problems of the same size as one batch."""
        for problem in problems:
            reason = self.supports(problem)
            if reason:
                raise SolverError(f'solver "aco" does not support {problem.name}: {reason}')
        if self.device != "cpu":
            return _torch_backend().solve_many_torch(problems, self, device=self.device, time_limit=time_limit,
                                                     seed=seed)
        out: list[tuple[Solution | None, Evaluation | None]] = []
        for problem in problems:
            try:
                plan = self.solve(problem, time_limit=time_limit, seed=seed)
            except NoSolutionError:
                out.append((None, None))
                continue
            out.append((plan, evaluate(problem, plan)))
        return out


FILL_BOTH_BELOW = 200
"""Below this many clients half the ants fill their routes by default (best on the 10 smallest X instances at
10 s); from it they close them (better on X-n204 to X-n256, X-n502 and X-n1001: 4.8 % against 7.8 % at 60 s,
measured with the colony alone, before the ``ils`` phase)."""


ILS_SHARE = 0.95
"""Share of the time limit the iterated local search of the best plan gets by default (from
``FILL_BOTH_BELOW`` clients or with a warm start). X-n1001-k43 at 60 s (seed 0): 3.09 % above the BKS with
2/3, 2.92 % with 0.85, 2.70 % with 0.95 (the colony alone: 4.8-5.0 %); see ``examples/bench_large.py``."""

ILS_THRESHOLD = 0.002
"""Record-to-record threshold of that search (times the best cost, falling to 0): on X-n1001-k43 (20 s of
colony, 40 s of radial ruins) 2.83 % above the BKS against 3.43 % with 0.005 and 3.72 % with 0.001."""


def ils_share(problem: Problem, ils: float | None, warm: bool) -> float:
    """The share of the time limit that goes to the iterated local search (see :class:`ACOSolver`)."""
    if ils is not None:
        return ils
    return ILS_SHARE if warm or problem.n_clients >= FILL_BOTH_BELOW else 0.0


def fill_mode(problem: Problem, fill: int | None) -> int:
    """The ``fill`` rule an ant colony uses on ``problem`` (see :class:`ACOSolver`): the one asked for, or the
    default by size; 1 whenever every vehicle type has a limited count, where every route must be filled."""
    if all(vt.count is not None for vt in problem.vehicle_types):
        return 1
    if fill is None:
        return 2 if problem.n_clients < FILL_BOTH_BELOW else 0
    return fill


def candidate_lists(problem: Problem, k: int) -> np.ndarray:
    """The ``k`` clients nearest each node ``(M, k)``, nearest first (ties by index), a client never its own
    candidate; -1 pads the lists of clients when there are only ``k`` clients. Computed in row blocks:
    ``O(k * M)`` memory besides a block."""
    nd, m, n = problem.n_depots, problem.n_nodes, problem.n_clients
    cand = np.full((m, k), -1, np.int64)
    take = min(k, n)
    if take == 0:
        return cand
    blocks = row_blocks(m, n)
    for r0 in blocks:
        r1 = min(m, r0 + blocks.step)
        d = problem.distance[r0:r1, nd:].astype(float, copy=True)
        rows = np.arange(r0, r1)
        own = rows >= nd
        d[own.nonzero()[0], rows[own] - nd] = np.inf  # a client's own entry, last (and dropped below)
        if take < n:  # the take nearest and every tie of the last of them, then sorted by distance and index
            kth = np.partition(d, take - 1, axis=1)[:, take - 1]
            ri, ci = np.nonzero(d <= kth[:, None])
        else:
            ri, ci = np.divmod(np.arange(d.size), n)
        order = np.lexsort((ci, d[ri, ci], ri))
        ri, ci = ri[order], ci[order]
        pos = np.arange(len(ri)) - np.searchsorted(ri, ri)
        keep = pos < take
        block = cand[r0:r1]
        block[ri[keep], pos[keep]] = ci[keep]
        block[(block == (rows - nd)[:, None]) & own[:, None]] = -1
    return cand


def fleet_counts(problem: Problem) -> np.ndarray:
    """Vehicles per type, -1 where unlimited."""
    return np.array([-1 if vt.count is None else vt.count for vt in problem.vehicle_types], np.int64)


def end_nodes(problem: Problem) -> np.ndarray:
    """Each vehicle type's end node; open routes end at the virtual node ``n_nodes``."""
    return np.where(problem.vehicle_end < 0, problem.n_nodes, problem.vehicle_end).astype(np.int64)


def _torch_backend() -> Any:
    try:
        from vrpkit.solvers import aco_torch
    except ImportError as err:
        raise SolverError(f'solver "aco": the torch backend needs torch: pip install \'vrpkit[gpu]\' ({err})'
                          ) from err
    return aco_torch


class Colony:
    """The state of one run: pheromone, the best plan, the local search; compiled, or interpreted until
    :meth:`use_compiled` (see the module docstring)."""

    def __init__(self, problem: Problem, params: ACOSolver, seed: int, *, compiled: bool = True) -> None:
        self.params = params
        self.compiled = compiled
        self.rng = np.random.default_rng(seed)
        self.ls = LocalSearch(problem, granularity=params.granularity, compiled=compiled)
        trips = self.ls.trips
        problem = self.problem = self.ls.problem  # a multi-trip problem's with its reload stops (see trips)
        data = self.ls.data
        self.cfg = self.ls.cfg
        n, nd = problem.n_clients, problem.n_depots
        self.symmetric = symmetric(problem.distance)
        k = max(1, min(params.candidates, n if trips is None else trips.n))
        if trips is None:
            self.cand = candidate_lists(problem, k)
        else:  # the original clients only; a reload stop's are its depot's
            cand = candidate_lists(trips.original, k)
            self.cand = np.vstack((cand, cand[trips.depot]))
        # Reloads (see construct): each client's reload depot (-1: a client), which types may reload where,
        # how often.
        self.reload_depot = np.full(n, -1, np.int64)
        self.allowed = np.zeros((len(problem.vehicle_types), nd), np.int64)
        self.max_reloads = np.zeros(len(problem.vehicle_types), np.int64)
        self.n_real = n
        if trips is not None:
            self.reload_depot[trips.n:] = trips.depot
            self.allowed[:] = trips.original.reload_allowed
            self.max_reloads[:] = trips.max_reloads
            self.n_real = trips.n
        # Trails and visibility on the arcs an ant can draw: from each depot to every client (nd, n), from
        # each client to its candidates (n, k); every other arc is at tau_min (see the module docstring).
        self.terms = visibility_terms(problem, params.beta, params.gamma)
        self.eta_dep = arc_visibility(problem, self.terms, np.arange(nd)[:, None], np.arange(n)[None, :])
        client_cand = self.cand[nd:]
        eta = arc_visibility(problem, self.terms, np.arange(nd, nd + n)[:, None], np.maximum(client_cand, 0))
        self.eta_cl = np.where(client_cand >= 0, eta, 0.0)
        self.vis = np.array([params.beta, params.gamma, self.terms.tiny, self.terms.mean])
        self.counts = fleet_counts(problem)
        self.fill = fill_mode(problem, params.fill)
        self.start_nodes = problem.vehicle_start.astype(np.int64)
        self.end_nodes = end_nodes(problem)
        self.data = data
        # Shipments: a pickup stop's delivery stop, -2 at a delivery stop, -1 elsewhere (see _fits).
        partner = data.partner if data.partner is not None else np.full(n, -1, np.int64)
        pickup = data.pickup_stop if data.pickup_stop is not None else np.zeros(n, np.int64)
        self.mate = np.where(partner < 0, -1, np.where(pickup == 1, partner, -2)).astype(np.int64)
        self.mate[self.reload_depot >= 0] = -2  # reload stops come only as reloads
        self.tau_dep = np.ones((nd, n))
        self.tau_cl = np.ones((n, k))
        self.tau_max = 1.0
        self.tau_min = 0.0
        self.iteration = 0
        self.construct_seconds = 0.0
        self.restarts = 0
        self.stale = 0
        self.best: list[Route] | None = None
        self.best_arcs: np.ndarray | None = None
        self.best_cost = math.inf
        self.best_violation = math.inf
        ants = params.ants
        self.out_seq = np.zeros((ants, max(n, 1)), np.int64)
        self.out_offsets = np.zeros((ants, n + 2), np.int64)
        self.out_types = np.zeros((ants, n + 1), np.int64)
        self.out_routes = np.zeros(ants, np.int64)
        self.out_cost = np.zeros(ants)
        self.out_missing = np.zeros(ants, np.int64)
        self.visited = np.zeros((ants, max(n, 1)), np.bool_)
        self.used = np.zeros((ants, len(problem.vehicle_types)), np.int64)
        self.scratch = np.zeros((ants, 8, data.node.shape[1]))
        self.pick_w = np.zeros((ants, max(k, len(problem.vehicle_types) * k)))
        self.pick_c = np.zeros((ants, self.pick_w.shape[1]), np.int64)
        self.pick_v = np.zeros((ants, self.pick_w.shape[1]), np.int64)

    def start_from(self, routes: Sequence[Route]) -> None:
        """Warm start: ``routes`` (scored by the local search, as the ants' plans are) become the best plan so
        far, the trail bounds are set from its cost and one deposit is made on its arcs (the other trails
        evaporate once), so that the first ants follow it."""
        self.ls.load(routes)
        seq, offsets, types = (x.copy() for x in self.ls.export_flat())
        self._set_best(self.ls.violation, self.ls.cost, seq, offsets, types, self._arcs(seq, offsets, types))
        self._update(self.best_arcs, self.best_cost)

    def _set_best(self, viol: float, cost: float, seq: np.ndarray, offsets: np.ndarray, types: np.ndarray,
                  arcs: np.ndarray) -> None:
        """Make the flat plan ``seq, offsets, types`` (with its ``arcs``) the best so far, and set the trail
        bounds from its cost."""
        self.best_violation, self.best_cost = viol, cost
        self.best = [Route(int(types[i]), tuple(seq[offsets[i]:offsets[i + 1]].tolist()))
                     for i in range(len(types))]
        self.best_arcs = arcs
        self._set_bounds()

    def perturb(self, deadline: float, on_best: Callable[[float], None] | None = None) -> int:
        """Iterated local search of the best plan until ``deadline`` (:meth:`LocalSearch.iterate`, the
        ``ruin`` asked for); the plan it leaves is the best plan (never worse). Returns its iterations."""
        assert self.best is not None
        self.ls.load(self.best)
        self.ls.run(time_limit=max(0.0, deadline - time.perf_counter()), seed=self.rng)  # a local optimum first
        done = self.ls.iterate(time_limit=max(0.0, deadline - time.perf_counter()), seed=self.rng,
                               threshold=ILS_THRESHOLD, ruin=self.params.ruin, on_best=on_best)
        if (self.ls.violation, self.ls.cost) < (self.best_violation, self.best_cost - 1e-9):
            seq, offsets, types = (x.copy() for x in self.ls.export_flat())
            self._set_best(self.ls.violation, self.ls.cost, seq, offsets, types, self._arcs(seq, offsets, types))
        return done

    def use_compiled(self) -> None:
        """Go on with the compiled code (built meanwhile)."""
        self.compiled = self.ls.compiled = True

    def failure_reason(self) -> str:
        if self.best is None:
            return "no ant built a plan"
        return f"the best plan found still breaks constraints (total violation {self.best_violation:g})"

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``pheromone ** alpha * visibility`` from each depot to every client ``(nd, n)`` and from each
        client to its candidates ``(n, k)``."""
        a = self.params.alpha
        return tuple((tau if a == 1.0 else tau ** a) * eta  # type: ignore[return-value]
                     for tau, eta in ((self.tau_dep, self.eta_dep), (self.tau_cl, self.eta_cl)))

    def fill_trails(self, value: float) -> None:
        """Set every trail to ``value``."""
        self.tau_dep.fill(value)
        self.tau_cl.fill(value)

    def iterate(self, deadline: float) -> bool:
        """One iteration: construct, improve, update the trails. Returns True when the best plan improved."""
        p = self.params
        n = self.problem.n_clients
        rand = self.rng.random((p.ants, 2 * n + 2))
        weights = self.weights()
        built = time.perf_counter()
        ants = self._construct(weights, rand, deadline)
        if ants == 0:
            return False
        self.construct_seconds = time.perf_counter() - built
        self.iteration += 1
        order = np.lexsort((self.out_cost[:ants], self.out_missing[:ants]))
        iter_best: tuple[float, float, np.ndarray, np.ndarray, np.ndarray] | None = None
        for a in order[:max(1, p.ls_ants)]:
            r = int(self.out_routes[a])
            offsets = self.out_offsets[a, :r + 1]
            seq = self.out_seq[a, :offsets[-1]]
            types = self.out_types[a, :r]
            self.ls.load_flat(seq, offsets, types)
            if p.ls_ants > 0:
                self.ls.run(time_limit=max(0.0, deadline - time.perf_counter()), seed=self.rng)
            key = (self.ls.violation, self.ls.cost)
            if iter_best is None or key < (iter_best[0], iter_best[1]):
                s, o, t = self.ls.export_flat()
                iter_best = (key[0], key[1], s.copy(), o.copy(), t.copy())
        assert iter_best is not None
        viol, cost, seq, offsets, types = iter_best
        arcs = self._arcs(seq, offsets, types)
        improved = (viol, cost) < (self.best_violation, self.best_cost - 1e-9)
        if improved:
            self._set_best(viol, cost, seq, offsets, types, arcs)
            self.stale = 0
        else:
            self.stale += 1
        self._update(arcs, cost)
        if self.stale >= p.restart:
            self.fill_trails(self.tau_max)
            self.stale = 0
            self.restarts += 1
        return improved

    def _construct(self, weights: tuple[np.ndarray, np.ndarray], rand: np.ndarray, deadline: float) -> int:
        """Build the ants' plans; returns how many were built: all of them compiled, interpreted those built
        before the deadline (one ant at a time)."""
        d = self.data
        fixed = (d.dist, d.dur, self.cfg, d.alt, d.start, d.end, d.vt, d.cl, self.mate, self.reload_depot,
                 self.allowed, self.max_reloads, self.n_real, *weights, self.vis,
                 self.terms.to_depot, self.terms.from_depot, self.cand, self.counts, self.start_nodes,
                 self.end_nodes)
        per_ant = (rand, self.out_seq, self.out_offsets, self.out_types, self.out_routes, self.out_cost,
                   self.out_missing, self.visited, self.used, self.scratch, self.pick_w, self.pick_c, self.pick_v)
        if self.compiled:
            construct(*fixed, *per_ant, self.fill)
            return len(rand)
        fn = interpreted(construct)
        for a in range(len(rand)):
            if time.perf_counter() >= deadline:
                return a
            fn(*fixed, *(x[a:a + 1] for x in per_ant), self.fill)
        return len(rand)

    def _set_bounds(self) -> None:
        p = self.params
        n = max(2, self.problem.n_clients)
        cost = max(self.best_cost, 1e-9)
        first = self.tau_min == 0.0
        self.tau_max = 1.0 / (p.rho * cost)
        root = 0.05 ** (1.0 / n)
        avg = max(2.0, self.cand.shape[1] / 2.0)
        self.tau_min = self.tau_max * (1.0 - root) / ((avg - 1.0) * root)
        if first:
            self.fill_trails(self.tau_max)

    def _arcs(self, seq: np.ndarray, offsets: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Arcs (from, to) of a plan in matrix nodes, with the virtual end of open routes."""
        nd = self.problem.n_depots
        froms, tos = [], []
        for i in range(len(types)):
            nodes = nd + seq[offsets[i]:offsets[i + 1]]
            path = np.concatenate(([self.start_nodes[types[i]]], nodes, [self.end_nodes[types[i]]]))
            froms.append(path[:-1])
            tos.append(path[1:])
        if not froms:
            return np.zeros((2, 0), np.int64)
        return np.vstack((np.concatenate(froms), np.concatenate(tos)))

    def _update(self, arcs: np.ndarray, cost: float) -> None:
        p = self.params
        for tau in (self.tau_dep, self.tau_cl):
            tau *= 1.0 - p.rho
        use_best = self.best_arcs is not None and self.iteration % p.best_every == 0
        deposit_arcs = self.best_arcs if use_best else arcs
        amount = 1.0 / max(self.best_cost if use_best else cost, 1e-9)
        if deposit_arcs is not None and deposit_arcs.shape[1]:
            self._deposit(deposit_arcs[0], deposit_arcs[1], amount)
            if self.symmetric:
                self._deposit(deposit_arcs[1], deposit_arcs[0], amount)
        if self.tau_min > 0:
            for tau in (self.tau_dep, self.tau_cl):
                np.clip(tau, self.tau_min, self.tau_max, out=tau)

    def _deposit(self, frm: np.ndarray, to: np.ndarray, amount: float) -> None:
        """Add ``amount`` to the trails of arcs ``frm -> to`` (matrix nodes) that the colony keeps: depot to
        client, client to one of its candidates (arcs to depots, to the virtual end or outside the lists have
        no trail)."""
        nd, n = self.problem.n_depots, self.problem.n_clients
        to_client = (to >= nd) & (to < nd + n)
        sel = (frm < nd) & to_client
        np.add.at(self.tau_dep, (frm[sel], to[sel] - nd), amount)
        sel = (frm >= nd) & (frm < nd + n) & to_client
        i, j = frm[sel] - nd, to[sel] - nd
        arc, pos = np.nonzero(self.cand[nd + i] == j[:, None])
        np.add.at(self.tau_cl, (i[arc], pos), amount)


def warm_up() -> bool:
    """Load the compiled colony and local search in this process, compiling them when they are not built
    (:func:`vrpkit.solvers.build.build`); returns True when it compiled."""
    return build() > 0


class Terms(NamedTuple):
    """What the visibility of an arc needs besides its distance (see :func:`arc_visibility`)."""

    beta: float
    gamma: float
    tiny: float  # distances below count as this
    to_depot: np.ndarray  # (n,) each client's distance to its nearest depot
    from_depot: np.ndarray  # (n,) from its nearest depot
    mean: float  # mean savings over all pairs of clients


def visibility_terms(problem: Problem, beta: float, gamma: float) -> Terms:
    """The :class:`Terms` of ``problem`` (in row blocks: no ``n ** 2`` temporary)."""
    dist = problem.distance
    nd, n = problem.n_depots, problem.n_clients
    tiny = 1e-9 * max(1.0, float(dist.max()))
    to_depot = dist[nd:, :nd].min(axis=1) if n else np.zeros(0)
    from_depot = dist[:nd, nd:].min(axis=0) if n else np.zeros(0)
    mean = 0.0
    if gamma > 0 and n > 1:
        blocks = row_blocks(n, n)
        within = sum(float(dist[nd + r0:nd + min(n, r0 + blocks.step), nd:].sum()) for r0 in blocks)
        mean = (n * float(to_depot.sum()) + n * float(from_depot.sum()) - within) / (n * n)
    return Terms(float(beta), float(gamma), tiny, to_depot, from_depot, mean)


def arc_visibility(problem: Problem, terms: Terms, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Visibility of the arcs from matrix nodes ``frm`` to clients ``to`` (index arrays, broadcast):
    ``(1 / distance) ** beta * savings ** gamma``; savings (Clarke and Wright) of joining two clients,
    relative to their nearest depots, normalised by the mean over all pairs and kept positive (1 from a
    depot)."""
    nd = problem.n_depots
    d = problem.distance[frm, nd + to]
    out = (1.0 / np.maximum(d, terms.tiny)) ** terms.beta
    if terms.gamma > 0 and problem.n_clients > 1:
        clients = np.broadcast_to(frm >= nd, out.shape)
        savings = terms.to_depot[np.maximum(frm - nd, 0)] + terms.from_depot[to] - d
        savings = np.maximum(savings / max(terms.mean, terms.tiny), 1e-3)
        out = np.where(clients, out * savings ** terms.gamma, out)
    return out


def visibility(problem: Problem, beta: float, gamma: float) -> np.ndarray:
    """The dense ``(M, M)`` matrix of :func:`arc_visibility` between all nodes (``distance ** -beta`` towards
    depots), for the torch backend."""
    dist = problem.distance
    nd, m = problem.n_depots, problem.n_nodes
    terms = visibility_terms(problem, beta, gamma)
    out = (1.0 / np.maximum(dist, terms.tiny)) ** beta
    out[:, nd:] = arc_visibility(problem, terms, np.arange(m)[:, None], np.arange(m - nd)[None, :])
    return out


def symmetric(matrix: np.ndarray) -> bool:
    """Whether ``matrix`` equals its transpose up to ``np.allclose``'s tolerance (in row blocks)."""
    m = matrix.shape[0]
    blocks = row_blocks(m, m)
    for r0 in blocks:
        r1 = min(m, r0 + blocks.step)
        if not np.allclose(matrix[r0:r1], matrix[:, r0:r1].T):
            return False
    return True


@_jit
def _attraction(dist, nd, cur, c, vis, to_depot, from_depot):
    """How attractive client c is from client node ``cur`` when it is not one of its candidates (its trail
    at tau_min): a key that orders such clients as their visibility (``vis``: beta, gamma, tiny, mean)."""
    d = dist[cur, nd + c]
    if vis[1] == 0.0:
        return -d if vis[0] > 0.0 else 0.0
    savings = max((to_depot[cur - nd] + from_depot[c] - d) / max(vis[3], vis[2]), 1e-3)
    return max(d, vis[2]) ** -vis[0] * savings ** vis[1]


@_jit
def _fits(dist, dur, cfg, alt, end, vt, cl, mate, scratch, a, prefix, v, c, cur, end_node, tmp, full):
    """The row of ``alt`` (client c in its earliest window that fits) with which c can follow the route in
    scratch[a, prefix] (vehicle type v, last node cur), or -1: the route closed after c must be feasible, and
    an optional client must be worth its detour. A shipment's pickup stop (``mate[c]``: its delivery stop)
    comes with its delivery stop right after it (in its first window); a delivery stop (``mate`` -2) never
    comes alone."""
    n = cl.shape[0]
    d = mate[c]
    if d == -2:
        return -1
    if cl[c, 1] == 0.0:
        nd_c = int(alt[c, FIRST])
        if d >= 0:
            nd_d = int(alt[d, FIRST])
            detour = dist[cur, nd_c] + dist[nd_c, nd_d] + dist[nd_d, end_node] - dist[cur, end_node]
            prize = cl[c, 0] + cl[d, 0]
        else:
            detour = dist[cur, nd_c] + dist[nd_c, end_node] - dist[cur, end_node]
            prize = cl[c, 0]
        if prize <= vt[v, CPD] * detour:
            return -1
    for w in range(alt.shape[0] // n):
        row = w * n + c
        if w > 0 and same_window(alt, row, row - n):
            break  # the last window, repeated
        cat(dist, dur, cfg, scratch[a], prefix, alt, row, scratch[a], tmp)
        if d >= 0:
            cat(dist, dur, cfg, scratch[a], tmp, alt, d, scratch[a], 5)
            cat(dist, dur, cfg, scratch[a], 5, end, v, scratch[a], full)
        else:
            cat(dist, dur, cfg, scratch[a], tmp, end, v, scratch[a], full)
        _cost, viol = score(scratch[a], full, vt, cfg, v, False)
        if viol <= 0.0:
            return row
    return -1


@_jit
def construct(dist, dur, cfg, alt, start, end, vt, cl, mate, reload_depot, allowed, max_reloads, n_real, wdep, wcl,
              vis, to_depot, from_depot, cand, counts, start_nodes, end_nodes, rand, seq, offsets, types, n_routes,
              costs, missing, visited, used, scratch, pick_w, pick_c, pick_v, fill):
    """Build one plan per ant (row of ``rand``); see the module docstring. ``wdep`` (nd, n): weights from
    the depots to every client, ``wcl`` (n, k): from each client to its candidates (``cand`` rows nd..);
    other clients are ranked by :func:`_attraction`. Rows of ``scratch[a]``: 0 and 1 the route so far
    (alternating), 2 and 3 trials, 6 the route before its last reload.

    Multi-trip (clients from ``n_real`` on are reload stops, at depot ``reload_depot``): when no client
    fits, the route reloads at the nearest depot where its type may (``allowed``, at most ``max_reloads``
    times, -1: unlimited) and goes on (each client after it fits the whole route); a reload after which no
    client fits is taken back."""
    n_ants = rand.shape[0]
    n = cl.shape[0]
    n_types = start.shape[0]
    k = cand.shape[1]
    width = alt.shape[1]
    nd = cfg[C_ND]  # depots come first
    for a in range(n_ants):
        for c in range(n):
            visited[a, c] = False
        for t in range(n_types):
            used[a, t] = 0
        left = 0
        for c in range(n):
            if cl[c, 1] > 0.0:
                left += 1
        step = 0
        j = 0
        r = 0
        total = 0.0
        offsets[a, 0] = 0
        while left > 0:
            # Open a vehicle: draw (type, first client) among the candidates of each usable type's depot.
            count = 0
            wsum = 0.0
            for t in range(n_types):
                if counts[t] >= 0 and used[a, t] >= counts[t]:
                    continue
                s = start_nodes[t]
                for f in range(width):
                    scratch[a, 0, f] = start[t, f]
                for i in range(k):
                    c = cand[s, i]
                    if c < 0 or visited[a, c] or cl[c, 1] == 0.0:
                        continue
                    row = _fits(dist, dur, cfg, alt, end, vt, cl, mate, scratch, a, 0, t, c, s, end_nodes[t], 2, 3)
                    if row >= 0:
                        w = wdep[s, c]
                        pick_w[a, count] = w
                        pick_c[a, count] = row
                        pick_v[a, count] = t
                        count += 1
                        wsum += w
            chosen = -1
            v = -1
            if count > 0:
                x = rand[a, step] * wsum
                step += 1
                acc = 0.0
                chosen = pick_c[a, count - 1]
                v = pick_v[a, count - 1]
                for i in range(count):
                    acc += pick_w[a, i]
                    if acc >= x:
                        chosen = pick_c[a, i]
                        v = pick_v[a, i]
                        break
            else:
                best = -1.0
                for t in range(n_types):
                    if counts[t] >= 0 and used[a, t] >= counts[t]:
                        continue
                    s = start_nodes[t]
                    for f in range(width):
                        scratch[a, 0, f] = start[t, f]
                    for c in range(n):
                        if visited[a, c] or cl[c, 1] == 0.0:
                            continue
                        w = wdep[s, c]
                        if w > best:
                            row = _fits(dist, dur, cfg, alt, end, vt, cl, mate, scratch, a, 0, t, c, s,
                                        end_nodes[t], 2, 3)
                            if row >= 0:
                                best = w
                                chosen = row
                                v = t
            if chosen < 0:
                break  # no vehicle left can serve any client left
            used[a, v] += 1
            for f in range(width):
                scratch[a, 0, f] = start[v, f]
            cat(dist, dur, cfg, scratch[a], 0, alt, chosen, scratch[a], 1)
            chosen = chosen % n
            row = 1
            cur = nd + chosen
            visited[a, chosen] = True
            left -= 1
            seq[a, j] = chosen
            j += 1
            d = mate[chosen]
            if d >= 0:  # a shipment: its delivery stop next
                cat(dist, dur, cfg, scratch[a], 1, alt, d, scratch[a], 0)
                row = 0
                cur = nd + d
                visited[a, d] = True
                left -= 1
                seq[a, j] = d
                j += 1
            e = end_nodes[v]
            n_reloads = 0
            reloaded = False
            # Extend the route while some client fits.
            while True:
                count = 0
                wsum = 0.0
                for i in range(k):
                    c = cand[cur, i]
                    if c < 0 or visited[a, c]:
                        continue
                    fit = _fits(dist, dur, cfg, alt, end, vt, cl, mate, scratch, a, row, v, c, cur, e, 2, 3)
                    if fit >= 0:
                        w = wcl[cur - nd, i]
                        pick_w[a, count] = w
                        pick_c[a, count] = fit
                        count += 1
                        wsum += w
                nxt = -1
                if count > 0:
                    x = rand[a, step] * wsum
                    step += 1
                    acc = 0.0
                    nxt = pick_c[a, count - 1]
                    for i in range(count):
                        acc += pick_w[a, i]
                        if acc >= x:
                            nxt = pick_c[a, i]
                            break
                elif fill == 1 or (fill == 2 and a % 2 == 1):
                    best = -math.inf
                    for c in range(n):
                        if visited[a, c]:
                            continue
                        w = _attraction(dist, nd, cur, c, vis, to_depot, from_depot)
                        if w > best:
                            fit = _fits(dist, dur, cfg, alt, end, vt, cl, mate, scratch, a, row, v, c, cur, e,
                                        2, 3)
                            if fit >= 0:
                                best = w
                                nxt = fit
                if nxt < 0 and reloaded:  # nothing fits after the reload: take it back, close the route
                    for f in range(width):
                        scratch[a, 0, f] = scratch[a, 6, f]
                    row = 0
                    j -= 1
                    visited[a, seq[a, j]] = False
                    break
                if nxt < 0:
                    stop = -1
                    if left > 0 and n_real < n and (max_reloads[v] < 0 or n_reloads < max_reloads[v]):
                        near = math.inf
                        for c in range(n_real, n):
                            if not visited[a, c] and allowed[v, reload_depot[c]] == 1 and dist[cur, nd + c] < near:
                                near = dist[cur, nd + c]
                                stop = c
                    if stop < 0:
                        break
                    for f in range(width):
                        scratch[a, 6, f] = scratch[a, row, f]
                    cat(dist, dur, cfg, scratch[a], row, alt, stop, scratch[a], 1 - row)
                    row = 1 - row
                    cur = nd + stop
                    visited[a, stop] = True
                    seq[a, j] = stop
                    j += 1
                    n_reloads += 1
                    reloaded = True
                    continue
                reloaded = False
                other = 1 - row
                cat(dist, dur, cfg, scratch[a], row, alt, nxt, scratch[a], other)
                nxt = nxt % n
                row = other
                cur = nd + nxt
                visited[a, nxt] = True
                if cl[nxt, 1] > 0.0:
                    left -= 1
                seq[a, j] = nxt
                j += 1
                d = mate[nxt]
                if d >= 0:
                    cat(dist, dur, cfg, scratch[a], row, alt, d, scratch[a], 1 - row)
                    row = 1 - row
                    cur = nd + d
                    visited[a, d] = True
                    if cl[d, 1] > 0.0:
                        left -= 1
                    seq[a, j] = d
                    j += 1
            cat(dist, dur, cfg, scratch[a], row, end, v, scratch[a], 4)
            cost, _viol = score(scratch[a], 4, vt, cfg, v, False)
            total += cost
            types[a, r] = v
            r += 1
            offsets[a, r] = j
        lost = 0
        for c in range(n):
            if not visited[a, c]:
                if cl[c, 1] > 0.0:
                    lost += 1
                else:
                    total += cl[c, 0]
        n_routes[a] = r
        costs[a] = total
        missing[a] = lost
    return 0


__all__ = ["ACOSolver", "Colony", "construct"]
