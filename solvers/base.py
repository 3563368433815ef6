"""The solver protocol, the registry of solvers by name, progress reporting and the :class:`Result`."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, runtime_checkable

from vrpkit.errors import SolverError, ValidationError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution


@runtime_checkable
class Solver(Protocol):
    """What every backend implements. Options are keyword arguments of the constructor.

    ``supports`` returns None when the backend handles every attribute of ``problem``, else the reason.
    ``solve`` returns the best plan found, or None when it found none (then ``reasons`` in the solution's
    absence are given by raising :class:`vrpkit.NoSolutionError`). It honours ``time_limit`` (seconds) and
    ``seed``, and reports the best objective over time to ``progress``. A backend whose ``solve`` takes
    ``initial`` (a checked :class:`Solution`, or None) starts its search from that plan (a warm start); the
    others are run without it. Locked prefixes need nothing from backends (see :func:`solve`).
    """

    name: str

    def supports(self, problem: Problem) -> str | None: ...

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress,
              initial: Solution | None = None) -> Solution | None: ...


class Progress:
    """Best objective over time: kept as ``history`` ``[(seconds, objective), ...]`` and, when ``stream`` is
    given, logged as one line per improvement (at most ``every`` seconds apart, the last one always)."""

    def __init__(self, stream: IO[str] | None = None, *, every: float = 0.5, label: str = "") -> None:
        self.stream = stream
        self.every = every
        self.label = label
        self.offset = 0.0
        """Added to every objective reported (the locked prefixes' cost when a backend solves the problem
        that remains, see :func:`solve`)."""
        self.history: list[tuple[float, float]] = []
        self._t0 = time.perf_counter()
        self._last_print = -1e9

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def update(self, objective: float) -> None:
        """Record an improved objective value."""
        objective = objective + self.offset
        now = self.elapsed()
        if self.history and objective >= self.history[-1][1]:
            return
        self.history.append((round(now, 4), float(objective)))
        if self.stream is not None and now - self._last_print >= self.every:
            self._print(now, objective)

    def close(self) -> None:
        if self.stream is not None and self.history and self._last_print < self.history[-1][0]:
            self._print(*self.history[-1])

    def _print(self, now: float, objective: float) -> None:
        self._last_print = now
        label = f"{self.label} " if self.label else ""
        print(f"{label}[{now:7.2f}s] best objective {objective:,.2f}", file=self.stream, flush=True)


_REGISTRY: dict[str, tuple[str, str]] = {
    "ortools": ("vrpkit.solvers.ortools", "ORToolsSolver"),
    "aco": ("vrpkit.solvers.aco", "ACOSolver"),
    "pyvrp": ("vrpkit.solvers.pyvrp", "PyVRPSolver"),
    "localsearch": ("vrpkit.solvers.base", "LocalSearchSolver"),
    "neural": ("vrpkit.neural.solver", "NeuralSolver"),
}
"""name -> (module, class); imported only when asked for, so that a missing extra names itself."""

_EXTRAS: dict[str, str] = {"pyvrp": "hgs", "neural": "neural"}
"""name -> the pip extra that installs the solver's dependencies."""


def register_solver(name: str, module: str, cls: str, *, extra: str | None = None) -> None:
    """Make ``module.cls`` available as ``solve(problem, solver=name)``."""
    _REGISTRY[name] = (module, cls)
    if extra:
        _EXTRAS[name] = extra


def available_solvers() -> list[str]:
    return sorted(_REGISTRY)


def parse_solver_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"ortools:metaheuristic=tabu_search,lns=false"`` -> ``("ortools", {...})`` (numbers and booleans
    are converted)."""
    name, _, rest = spec.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError("solver", f'option "{item}" is not key=value')
        options[key.strip()] = _convert(value.strip())
    return name.strip(), options


def _convert(value: str) -> Any:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def get_solver(spec: str, **options: Any) -> Solver:
    """Instantiate a solver by name (``spec`` may carry options, see :func:`parse_solver_spec`)."""
    name, spec_options = parse_solver_spec(spec)
    spec_options.update(options)
    if name not in _REGISTRY:
        raise SolverError(f'unknown solver "{name}" (available: {", ".join(available_solvers())})')
    module_name, cls_name = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        extra = _EXTRAS.get(name)
        hint = f": pip install 'vrpkit[{extra}]'" if extra else ""
        raise SolverError(f'solver "{name}" needs {err.name or "a missing package"}{hint}') from None
    cls = getattr(module, cls_name)
    try:
        return cls(**spec_options)
    except TypeError as err:
        raise SolverError(f'solver "{name}": {err}') from None


@dataclass(frozen=True, eq=False)
class Result:
    """A solver run: the plan, its evaluation (the cost users see) and the run's statistics."""

    problem: Problem
    solution: Solution | None
    evaluation: Evaluation | None
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``feasible``, ``infeasible`` or ``no_solution``."""
        return "no_solution" if self.evaluation is None else self.evaluation.status

    @property
    def feasible(self) -> bool:
        return self.status == "feasible"

    @property
    def cost(self) -> float:
        return float("inf") if self.evaluation is None else self.evaluation.cost

    def summary(self) -> str:
        """The plain-text report the CLI prints (routes, loads, times, cost, violations)."""
        from vrpkit.report import summary

        return summary(self)

    def to_dict(self) -> dict[str, Any]:
        """The solution JSON."""
        if self.evaluation is None:
            out: dict[str, Any] = {"status": "no_solution", "cost": None, "distance": None, "duration": None,
                                   "routes": [], "unassigned": [], "violations": []}
        else:
            out = self.evaluation.to_dict(self.problem)
        out["stats"] = dict(self.stats)
        return out


class LocalSearchSolver:
    """The compiled local search as a solver (``solver="localsearch"``): from ``initial`` (or from nothing:
    it inserts every client where it fits), :func:`vrpkit.solvers.localsearch.improve` with ``perturb`` (ruin
    and recreate once at a local optimum) until the time limit. No options."""

    name = "localsearch"

    def supports(self, problem: Problem) -> str | None:
        from vrpkit.solvers.localsearch import unsupported

        return unsupported(problem)

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Progress,
              initial: Solution | None = None) -> Solution | None:
        from vrpkit.solvers.localsearch import improve

        from vrpkit.diagnose import diagnose
        from vrpkit.errors import NoSolutionError

        started = time.perf_counter()
        reasons = diagnose(problem)
        if reasons:
            raise NoSolutionError("no feasible plan exists", reasons)
        left = max(time_limit - (time.perf_counter() - started), 1e-3)  # the time limit counts the diagnosis
        plan = improve(problem, initial.routes if initial is not None else (), time_limit=left, seed=seed,
                       perturb=True)
        ev = evaluate(problem, plan)
        if not ev.feasible:
            raise NoSolutionError("no feasible plan found",
                                  [f"the local search's plan still breaks {len(ev.violations)} constraints"])
        progress.update(ev.cost)
        return plan


def _rank(evaluation: Evaluation) -> tuple[int, float]:
    """Plans compare by the evaluator: fewer violations first, then a lower cost."""
    return (len(evaluation.violations), evaluation.cost)


def _break_pass(problem: Problem) -> bool:
    """Whether :func:`solve` re-places the breaks of the plan (:mod:`vrpkit.solvers.breaks`): the problem has
    breaks, no travel-time profile, and ``VRPKIT_NO_BREAK_PLACEMENT`` is not set (for comparisons)."""
    return ("breaks" in problem.attributes and not problem.time_dependent
            and not os.environ.get("VRPKIT_NO_BREAK_PLACEMENT"))


def _takes_initial(backend: Solver) -> bool:
    try:
        return "initial" in inspect.signature(backend.solve).parameters
    except (TypeError, ValueError):
        return False


def solve(
    problem: Problem,
    solver: str = "ortools",
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    progress: bool | IO[str] = False,
    initial: Solution | Sequence[Route] | Mapping[str, Any] | None = None,
    locked: Sequence[Route] | None = None,
    robust: float | None = None,
    decompose: bool = False,
    **options: Any,
) -> Result:
    """Solve ``problem`` with the named solver and evaluate the plan with the shared evaluator.

    ``progress`` True logs the best objective over time on stderr (or to the given stream). Raises
    :class:`SolverError` for an unknown solver or an unsupported problem; a run that finds no plan returns a
    result with status ``no_solution`` and the known reasons in ``stats["reasons"]``. With breaks (and no
    travel-time profile) every backend's plan has its breaks re-placed where they cost least
    (:func:`vrpkit.solvers.breaks.place_breaks`, never worse; ``stats["breaks_placed"]``: routes changed).

    ``initial`` (a :class:`Solution`, routes, or a solution JSON dict) is a plan to start from: backends that
    take it start their search there (ortools, aco, localsearch, pyvrp), and the plan returned is never worse
    than it by the evaluator (fewer violations, or as many and a cost not higher; else ``initial`` itself is
    returned, ``stats["initial_kept"]``). ``locked`` (routes, see :func:`vrpkit.solvers.locks.lock_prefix`
    and :func:`~vrpkit.solvers.locks.lock_until`) fixes the first stops of routes: for each, the plan has one
    route of that vehicle type that starts with exactly those clients. Every backend gets the problem that
    remains once they are driven (:func:`vrpkit.solvers.locks.reduce`), and its plan is expanded back; with
    both, ``initial`` is compared as the locks keep it (its routes that start with a locked prefix keep their
    rest, locked clients elsewhere move to their locked route). Both are checked first
    (:class:`ValidationError` naming ``initial`` or ``locked``).

    A time-dependent problem (a travel-time profile) is planned on static problems, see
    :func:`_solve_time_dependent`; the plan's evaluation, and so its cost and times, are time-dependent.

    ``robust=Q`` (0 < Q < 1; needs noise in the problem's ``uncertainty`` block, else :class:`ValidationError`
    naming ``robust``) plans against the Q-quantile of the travel times, service times and demands, and
    reports the simulated figures of that plan and of the deterministic one (each solved with half the time
    limit) in ``stats["robust"]``: see :mod:`vrpkit.robust` (``robust_scenarios=N`` sets the scenarios).

    ``decompose=True`` solves a large problem in parts with the solver, in parallel, then improves the joined
    plan across the parts' borders (:mod:`vrpkit.solvers.decompose`; its options ``workers``, ``scheduler``,
    ``part_size``, ``rounds``; ``stats["decompose"]``). Not with ``locked``.
    """
    from vrpkit.solvers import locks as lk

    from vrpkit.errors import NoSolutionError

    if not time_limit > 0:
        raise ValidationError("time_limit", f"{time_limit} is not a positive number of seconds")
    if robust is not None:
        from vrpkit.robust import solve_robust

        return solve_robust(problem, solver, robust, time_limit=time_limit, seed=seed, progress=progress,
                            initial=initial, locked=locked, decompose=decompose, **options)
    if problem.time_dependent:
        return _solve_time_dependent(problem, solver, time_limit=time_limit, seed=seed, progress=progress,
                                     initial=initial, locked=locked, decompose=decompose, **options)
    start_routes = None if initial is None else lk.check_plan(problem, initial, "initial")
    locked_routes = () if locked is None else lk.check_locked(problem, locked)
    if decompose:
        from vrpkit.solvers.decompose import DecomposedSolver

        if locked_routes:
            raise ValidationError("decompose", "does not take locked prefixes")
        backend: Solver = DecomposedSolver(solver, **options)
    else:
        backend = get_solver(solver, **options)
    reason = backend.supports(problem)
    if reason:
        raise SolverError(f'solver "{backend.name}" does not support this problem: {reason}')
    stream = (sys.stderr if progress is True else progress) or None
    tracker = Progress(stream, label=backend.name)
    start = time.perf_counter()
    reduction = lk.reduce(problem, locked_routes) if locked_routes else None
    target = problem if reduction is None else reduction.reduced
    warm = None
    if start_routes is not None:
        warm = Solution(start_routes) if reduction is None else reduction.reduce_plan(start_routes)
    if reduction is not None:
        reason = backend.supports(target)
        if reason:  # a backend may refuse the start markers (pyvrp with strict backhaul): without them
            fallback = lk.reduce(problem, locked_routes, markers=False)
            if not backend.supports(fallback.reduced):
                reduction, target, reason = fallback, fallback.reduced, None
                warm = None if start_routes is None else reduction.reduce_plan(start_routes)
        if reason:
            raise SolverError(f'solver "{backend.name}" cannot keep locked: in the problem the locks leave, '
                              f"{reason}")
        tracker.offset = reduction.offset()
    reasons: list[str] = []
    kwargs: dict[str, Any] = {"initial": warm} if warm is not None and _takes_initial(backend) else {}
    # The reduction's time (locks) counts against the limit.
    left = float(time_limit) if reduction is None else time_limit - (time.perf_counter() - start)
    try:
        if reduction is not None and target.n_clients == 0:
            plan: Solution | None = Solution(())  # every client is locked
        else:
            plan = backend.solve(target, time_limit=max(left, 1e-3), seed=int(seed), progress=tracker, **kwargs)
    except NoSolutionError as err:
        plan, reasons = None, err.reasons or [str(err)]
    tracker.offset = 0.0
    if plan is not None and _break_pass(target):
        from vrpkit.solvers.breaks import place_breaks

        # Fast (compiled): it may run past the limit by at most 5 % of it (1 s at most).
        now = time.perf_counter()
        plan = place_breaks(target, plan, deadline=max(start + time_limit, now + min(1.0, 0.05 * time_limit)))
    if plan is not None and reduction is not None:
        plan = reduction.expand(plan)
    extra: dict[str, Any] = {}
    if reduction is not None:
        extra["locked"] = len(locked_routes)
        extra["lock_markers"] = any(m >= 0 for m in reduction.starts)
    evaluation = None if plan is None else evaluate(problem, plan)
    if warm is not None:
        reference = Solution(start_routes) if reduction is None else reduction.expand(warm)
        ref_eval = evaluate(problem, reference)
        extra["initial_cost"] = ref_eval.cost
        if evaluation is None or _rank(ref_eval) < _rank(evaluation):
            plan, evaluation = Solution(reference.routes, plan.stats if plan is not None else {}), ref_eval
            extra["initial_kept"] = True
            reasons = []
            if ref_eval.feasible:
                tracker.update(ref_eval.cost)
    runtime = time.perf_counter() - start
    tracker.close()
    stats: dict[str, Any] = {"solver": backend.name, "runtime": round(runtime, 4), "seed": int(seed),
                             "time_limit": float(time_limit)}
    if plan is not None:
        stats.update(plan.stats)
    stats.update(extra)
    stats["progress"] = [list(x) for x in tracker.history]
    if plan is None:
        stats["reasons"] = reasons
        return Result(problem, None, None, stats)
    return Result(problem, plan, evaluation, stats)


TD_ROUNDS = 3
"""Planning rounds of a time-dependent problem (:func:`_solve_time_dependent`)."""


def _solve_time_dependent(problem: Problem, solver: str, *, time_limit: float, **kwargs: Any) -> Result:
    """Plan a time-dependent problem on static problems whose durations are each leg's time at an expected
    departure from its origin (:func:`vrpkit.traffic.leg_times`), in :data:`TD_ROUNDS` rounds that share the
    time limit. Round 0 expects each client to be left at the middle of its time window plus its service time
    (when the window has no end: at the first depot's departure) and each depot at its earliest departure
    (shift start or opening); every next round takes the departures of the best plan so far, as the evaluator
    schedules it on the time-dependent problem, and starts from that plan (a warm start, with ``initial`` in
    round 0). Every round's plan is evaluated on the time-dependent problem and the best (fewer violations,
    then lower cost) is returned; so is ``initial`` when it is better there (without locks;
    ``stats["initial_kept"]``). ``stats["time_dependent"]`` lists each round's time-dependent cost (None: no
    plan). On the Lyon example with ``rush_hour`` and windows cut to 25-45 minutes, round 0 from the window
    midpoints was never worse than round 0 from the static matrix or from the depot's departure, and later
    rounds did not improve on it; they do improve a poor round 0 (see ``examples/td_lyon.py``)."""
    from dataclasses import replace

    from vrpkit.solvers.locks import check_plan

    from vrpkit import traffic

    started = time.perf_counter()
    u = problem.uncertainty
    static_u = replace(u, travel_time=replace(u.travel_time, profile=None))
    profile, hour = u.travel_time.profile, problem.hour
    departures = _expected_departures(problem, None)
    initial = kwargs.pop("initial")
    first = None if initial is None else check_plan(problem, initial, "initial")
    best: tuple[Result, Evaluation] | None = None
    costs: list[float | None] = []
    last: Result | None = None
    for k in range(TD_ROUNDS):
        left = time_limit - (time.perf_counter() - started)
        if k > 0 and left <= 0.05 * time_limit:
            break
        durations = traffic.leg_times(profile, departures, problem.duration, hour)
        static = problem.replace(duration=durations, uncertainty=static_u)
        last = solve(static, solver, time_limit=max(left / (TD_ROUNDS - k), 1e-3), initial=initial, **kwargs)
        if last.solution is None:
            costs.append(None)
            continue
        ev = evaluate(problem, last.solution)
        costs.append(ev.cost)
        if best is None or _rank(ev) < _rank(best[1]):
            best = (last, ev)
        departures = _expected_departures(problem, best[1])
        initial = best[0].solution
    stats: dict[str, Any] = dict((best[0] if best is not None else last).stats)
    if first is not None and kwargs.get("locked") is None:
        reference = evaluate(problem, Solution(first))
        stats["initial_cost"] = reference.cost
        if best is None or _rank(reference) < _rank(best[1]):
            best = (Result(problem, Solution(first), reference, {}), reference)
            stats["initial_kept"] = True
    stats.update(runtime=round(time.perf_counter() - started, 4), time_limit=float(time_limit))
    stats["time_dependent"] = {"rounds": len(costs), "planned_on": "each leg's time at its expected departure",
                               "round_costs": costs}
    if best is None:
        return Result(problem, None, None, stats)
    return Result(problem, best[0].solution, best[1], stats)


def _expected_departures(problem: Problem, evaluation: Evaluation | None) -> Any:
    """When each node is expected to be left (see :func:`_solve_time_dependent`): from ``evaluation``'s
    schedule where it visits the node (a depot: the median start of its routes), else from the windows."""
    import numpy as np

    nd = problem.n_depots
    out = np.empty(problem.n_nodes)
    for d, depot in enumerate(problem.depots):
        shifts = [vt.shift[0] for vt in problem.vehicle_types if vt.start_depot == depot.id]
        out[d] = max(depot.time_window[0], min(shifts, default=0.0))
    for i, client in enumerate(problem.clients):
        a, b = client.time_window
        out[nd + i] = (a + b) / 2 + client.service_time if np.isfinite(b) else out[0]
    if evaluation is not None:
        starts: dict[int, list[float]] = {}
        for r in evaluation.routes:
            starts.setdefault(r.start_depot, []).append(r.start_time)
            out[[nd + c for c in r.clients]] = r.departure
        for d, times in starts.items():
            out[d] = float(np.median(times))
    return out
