"""Scenarios per second of :func:`vrpkit.stochastic.simulate`: a 100-client plan with time windows (Solomon
R101 and its best-known routes from ../shared/data, else a generated VRPTW plan polished by the local search)
with every noise source on: the rush_hour profile, a log-normal travel factor, accidents, Poisson demands with
the return recourse, log-normal service times.

    taskset -c 0 python examples/bench_simulate.py [--scenarios 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from vrpkit import Problem, evaluate
from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
from vrpkit.stochastic import simulate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "solomon"
NOISE = Uncertainty(
    travel_time=TravelTimeNoise(profile="rush_hour", lognormal_sigma=0.25, accident_rate_per_hour=0.05,
                                accident_delay=(10.0, 30.0)),
    demand=DemandNoise(distribution="poisson", recourse="return"),
    service_time=ServiceTimeNoise(lognormal_sigma=0.2),
)


def instance() -> tuple[Problem, object, str]:
    """The problem with NOISE, its plan, and where both come from. The capacity is cut to the plan's fullest
    route, so that random demands exceed it now and then (the return recourse is exercised)."""
    if (DATA / "R101.txt").exists():
        from vrpkit.io.vrplib import read_sol, read_solomon

        problem = read_solomon(DATA / "R101.txt")
        plan, source = read_sol(DATA / "solutions" / "R101.sol", problem), "R101 BKS"
    else:
        from vrpkit.solvers.localsearch import improve

        from vrpkit.generate import generate

        problem = generate("vrptw", 100, seed=0, distribution="uniform")
        plan, source = improve(problem, [], time_limit=2.0), "uniform vrptw n100 seed 0, local search"
    fullest = max(int(r.start_load[0]) for r in evaluate(problem, plan).routes)
    types = tuple(replace(vt, capacity=fullest) for vt in problem.vehicle_types)
    return problem.replace(vehicle_types=types, uncertainty=NOISE), plan, f"{source}, capacity {fullest}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problem, plan, source = instance()
    ev = evaluate(problem, plan)
    stops = sum(len(r.clients) for r in ev.routes)
    print(f"{source}: {problem.n_clients} clients, {len(ev.routes)} routes, {stops} stops, "
          f"deterministic cost {ev.cost:.1f} ({ev.status})")
    simulate(problem, plan, scenarios=min(args.scenarios, 1000), seed=args.seed)  # warm-up
    best = float("inf")
    for _ in range(args.repeat):
        began = time.perf_counter()
        sim = simulate(problem, plan, scenarios=args.scenarios, seed=args.seed)
        best = min(best, time.perf_counter() - began)
    q = sim.cost_quantiles
    print(f"{args.scenarios} scenarios in {best:.3f} s (best of {args.repeat}): "
          f"{args.scenarios / best:,.0f} scenarios per second")
    print(f"expected cost {sim.expected_cost:.1f}, p50 {q['p50']:.1f}, p90 {q['p90']:.1f}, p99 {q['p99']:.1f}, "
          f"std {sim.cost_std:.1f}; on time {sim.on_time_rate:.3f}, violation rate {sim.violation_rate:.3f}, "
          f"feasible {sim.feasible_rate:.3f}")


if __name__ == "__main__":
    main()
