"""Robust plans: solve against a quantile of the problem's uncertainty (``solve(problem, solver, robust=Q)``).

Choice: the *quantile problem* (:func:`quantile_problem`), not slack chosen from simulated scenarios. It is one
deterministic problem that every solver plans on unchanged (no solver needs to know about noise), it costs no
simulation inside the search, and its parameters are read off the ``uncertainty`` block in closed form:

- Travel: each leg's time is ``tau`` (static duration, times the profile's factor at departure when there is a
  profile) times a log-normal factor of median 1, plus accident delays (:mod:`vrpkit.stochastic`). The quantile
  problem multiplies the duration matrix by ``k = exp(sigma z_Q) (1 + rate * mean_delay / hour)``: the log-normal
  factor at its ``Q``-quantile and accidents at their *expected* delay per unit of driving (their count on a
  leg is Poisson with mean ``rate * tau / hour``, well below 1 on urban legs, so its ``Q``-quantile is 0 and
  would ignore them). Both parts scale with ``tau``, so one factor serves every leg; a profile is kept, so a
  time-dependent problem stays time-dependent and each leg is ``k`` times its profile time (up to the
  first-in-first-out rule, :func:`vrpkit.traffic.arrival`). Distances are unchanged.
- Service: every service time times ``exp(sigma_s z_Q)``.
- Demand: every delivery and pickup at its ``Q``-quantile (Poisson: the smallest ``k`` whose distribution
  function reaches ``Q``; normal: ``round(mean + z_Q cv mean)``, cut at 0, as the simulation rounds), never
  below the mean and, where the mean fits, never above the largest capacity of that dimension (so every client
  stays servable). Capacities are kept.

``z_Q`` is the standard normal quantile. The plan found on the quantile problem is evaluated on the real
problem (:func:`vrpkit.evaluate`: the cost users see), and both it and the deterministic plan (solved on the
real problem, each with half the time limit) are simulated with the same scenarios (common random numbers:
:func:`vrpkit.stochastic.sample` once, one seed); ``stats["robust"]`` holds both sets of figures. The robust
plan is returned unless the quantile problem has no plan (then the deterministic one, ``returned``
``"deterministic"``).

Departures: the evaluator delays each route's departure as long as no stop becomes late (shortest duration);
on the real problem that would spend the robust plan's slack before the day starts. So the robust plan's
routes leave when the quantile problem schedules them (``stats["robust"]["robust"]["starts"]``, the times to
dispatch at) and it is simulated with those departures (``simulate(..., starts=)``); the deterministic plan
leaves at the evaluator's times. The evaluation returned (cost, printed times) is the evaluator's on the real
problem.
"""

from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.model import Problem, Uncertainty

DEFAULT_QUANTILE = 0.9
"""The quantile of ``vrpkit solve --robust`` without ``--robust-quantile``."""
SCENARIOS = 1000
"""Scenarios simulated for each plan's figures in ``stats["robust"]`` (``robust_scenarios=`` changes it)."""
SHARE = 0.5
"""The share of the time limit that the robust plan gets; the deterministic plan gets the rest."""
FIGURES = ("expected_cost", "cost_quantiles", "cost_std", "on_time_rate", "violation_rate", "feasible_rate")
"""The simulated figures reported per plan (as :meth:`vrpkit.stochastic.Simulation.to_dict` names them)."""


def check_quantile(q: Any, path: str = "robust") -> float:
    """``q`` as a float strictly between 0 and 1, else a :class:`ValidationError` naming ``path``."""
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
        raise ValidationError(path, f"{q!r} is not a quantile strictly between 0 and 1")
    return float(q)


def is_random(u: Uncertainty | None) -> bool:
    """True when ``u`` has noise (a profile alone is time-dependent, not random)."""
    if u is None:
        return False
    t, d, s = u.travel_time, u.demand, u.service_time
    accidents = t is not None and t.accident_rate_per_hour > 0 and t.accident_delay[1] > 0
    return bool((t is not None and t.lognormal_sigma > 0) or accidents
                or (d is not None and d.distribution != "none")
                or (s is not None and s.lognormal_sigma > 0))


def check_random(problem: Problem, path: str = "robust") -> None:
    """Refuse (:class:`ValidationError` naming ``path``) a problem without noise to be robust against."""
    if not is_random(problem.uncertainty):
        raise ValidationError(path, "needs an uncertainty block with random travel times, demands or service "
                                    "times (the problem has none)")


def travel_factor(problem: Problem, q: float) -> float:
    """The factor ``k`` of the quantile problem's durations (see the module)."""
    u = problem.uncertainty
    t = None if u is None else u.travel_time
    if t is None:
        return 1.0
    z = NormalDist().inv_cdf(q)
    mean_delay = (t.accident_delay[0] + t.accident_delay[1]) / 2
    return math.exp(t.lognormal_sigma * z) * (1.0 + t.accident_rate_per_hour * mean_delay / problem.hour)


def service_factor(problem: Problem, q: float) -> float:
    """The factor of the quantile problem's service times."""
    u = problem.uncertainty
    s = None if u is None else u.service_time
    return 1.0 if s is None else math.exp(s.lognormal_sigma * NormalDist().inv_cdf(q))


def demand_quantile(mean: np.ndarray, distribution: str, cv: float, q: float) -> np.ndarray:
    """The ``q``-quantile of integer demands of mean ``mean`` (any shape; see the module), never below it."""
    mean = np.asarray(mean, dtype=float)
    if distribution == "normal":
        out = np.floor(mean + NormalDist().inv_cdf(q) * cv * mean + 0.5)
    elif distribution == "poisson":
        out = np.zeros_like(mean)
        top = int(mean.max(initial=0.0) + 10 * math.sqrt(mean.max(initial=0.0)) + 10)
        k = np.arange(top + 1, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logpmf = k * np.log(mean.reshape(-1, 1)) - mean.reshape(-1, 1) - np.array(
                [math.lgamma(x + 1) for x in k])
        pmf = np.where(mean.reshape(-1, 1) > 0, np.exp(logpmf), k == 0)
        cdf = np.cumsum(pmf, axis=1)
        out = (cdf < q - 1e-12).sum(axis=1).reshape(mean.shape).astype(float)
    else:
        out = mean.copy()
    return np.maximum(out, mean)


def quantile_problem(problem: Problem, q: float = DEFAULT_QUANTILE) -> Problem:
    """The deterministic problem a robust plan is planned on: durations, service times and demands at their
    ``q``-quantiles (see the module); capacities, distances, windows and the profile kept."""
    q = check_quantile(q)
    u = problem.uncertainty
    k = travel_factor(problem, q)
    ks = service_factor(problem, q)
    demand = None if u is None else u.demand
    caps = np.array([vt.capacity for vt in problem.vehicle_types], dtype=float).max(axis=0)
    clients = []
    for c in problem.clients:
        changes: dict[str, Any] = {"service_time": c.service_time * ks}
        if demand is not None and demand.distribution != "none":
            for name in ("delivery", "pickup"):
                mean = np.array(getattr(c, name), dtype=float)
                if mean.size:
                    high = demand_quantile(mean, demand.distribution, demand.cv, q)
                    fits = mean <= caps[:mean.size]
                    high = np.where(fits, np.minimum(high, caps[:mean.size]), mean)
                    changes[name] = tuple(int(x) for x in high)
        clients.append(replace(c, **changes))
    return problem.replace(clients=tuple(clients), duration=problem.duration * k)


def figures(sim: Any) -> dict[str, Any]:
    """The simulated figures of one plan (:data:`FIGURES`)."""
    d = sim.to_dict()
    return {key: d[key] for key in FIGURES}


def solve_robust(problem: Problem, solver: str, quantile: float, *, time_limit: float, seed: int = 0,
                 robust_scenarios: int = SCENARIOS, **kwargs: Any) -> Any:
    """A robust plan of ``problem`` (see the module): ``solve`` on :func:`quantile_problem` with
    :data:`SHARE` of ``time_limit``, the deterministic plan with the rest, both simulated with
    ``robust_scenarios`` scenarios drawn from ``seed``. Returns a :class:`vrpkit.solvers.base.Result` on the
    real problem whose ``stats["robust"]`` has the quantile, the factors and each plan's evaluator cost,
    simulated figures and routes (``[vehicle type, [client indices]]``)."""
    from vrpkit import stochastic
    from vrpkit.evaluate import evaluate
    from vrpkit.solvers.base import Result, solve

    q = check_quantile(quantile)
    check_random(problem)
    scenarios = stochastic._check_count(robust_scenarios)
    hedged = quantile_problem(problem, q)
    robust = solve(hedged, solver, time_limit=time_limit * SHARE, seed=seed, **kwargs)
    plain = solve(problem, solver, time_limit=time_limit * (1 - SHARE), seed=seed, **kwargs)
    draws = stochastic.sample(problem, scenarios, seed) if robust.solution or plain.solution else None
    report: dict[str, Any] = {
        "quantile": q, "travel_factor": round(travel_factor(problem, q), 6),
        "service_factor": round(service_factor(problem, q), 6), "time_limit_share": SHARE,
        "scenarios": scenarios, "seed": int(seed),
    }
    evaluations = {}
    for label, res in (("robust", robust), ("deterministic", plain)):
        if res.solution is None:
            report[label] = None
            continue
        ev = evaluate(problem, res.solution)
        evaluations[label] = ev
        starts = [r.start_time for r in (res.evaluation if label == "robust" else ev).routes]
        sim = stochastic.simulate(problem, ev, draws, starts=starts)
        report[label] = {"cost": ev.cost if math.isfinite(ev.cost) else None, "feasible": ev.feasible,
                         "planned_cost": res.cost if math.isfinite(res.cost) else None,
                         "simulated": figures(sim),
                         "routes": [[r.vehicle_type, list(r.clients)] for r in res.solution.routes],
                         "starts": [round(t, 6) for t in starts], "runtime": res.stats.get("runtime")}
    chosen, label = (robust, "robust") if robust.solution is not None else (plain, "deterministic")
    report["returned"] = label
    stats = dict(chosen.stats)
    stats.update(runtime=round(robust.stats.get("runtime", 0.0) + plain.stats.get("runtime", 0.0), 4),
                 time_limit=float(time_limit), robust=report)
    if chosen.solution is None:
        stats["reasons"] = list(robust.stats.get("reasons") or []) + list(plain.stats.get("reasons") or [])
        return Result(problem, None, None, stats)
    return Result(problem, chosen.solution, evaluations[label], stats)


__all__ = ["DEFAULT_QUANTILE", "check_quantile", "check_random", "demand_quantile", "is_random",
           "quantile_problem", "service_factor", "solve_robust", "travel_factor"]
