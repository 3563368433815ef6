"""How many plans per second the evaluator checks: random 100- and 1000-client problems, random plans.

    python examples/bench_evaluator.py [--n 100] [--plans 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate


def random_problem(n: int, rng: np.random.Generator, *, time_windows: bool) -> Problem:
    xy = rng.integers(0, 1000, size=(n + 1, 2))
    clients = []
    for i in range(n):
        a = float(rng.integers(0, 5000))
        tw = ((a, a + float(rng.integers(200, 2000))),) if time_windows else ((0.0, float("inf")),)
        clients.append(Client(f"c{i}", tuple(xy[i + 1]), delivery=int(rng.integers(1, 10)), service_time=10,
                              time_windows=tw))
    return Problem(f"random{n}", (Depot("D", tuple(xy[0])),), tuple(clients), (VehicleType("v", capacity=50),),
                   matrix={"provider": "euclidean", "round": "nearest"})


def random_plans(problem: Problem, count: int, rng: np.random.Generator) -> list[list[Route]]:
    n = problem.n_clients
    plans = []
    for _ in range(count):
        perm = rng.permutation(n)
        cuts = np.sort(rng.choice(np.arange(1, n), size=max(1, n // 8), replace=False))
        plans.append([Route(0, tuple(part)) for part in np.split(perm, cuts)])
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--plans", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'clients':>8} {'time windows':>13} {'plans':>6} {'plans/s':>9} {'us/plan':>8}")
    for n in args.n:
        for tw in (False, True):
            problem = random_problem(n, rng, time_windows=tw)
            count = max(50, args.plans * 100 // n)
            plans = random_plans(problem, count, rng)
            evaluate(problem, plans[0])  # builds the per-problem cache once
            start = time.perf_counter()
            for plan in plans:
                evaluate(problem, plan)
            elapsed = time.perf_counter() - start
            print(f"{n:>8} {tw!s:>13} {count:>6} {count / elapsed:>9.0f} {elapsed / count * 1e6:>8.0f}")


if __name__ == "__main__":
    main()
