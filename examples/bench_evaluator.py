"""How many plans per second the evaluator checks, today's (pure Python, commit 813d688) against the compiled one,
and how much memory evaluating one plan of a large problem takes.

    python examples/bench_evaluator.py [--n 100 1000] [--plans 2000] [--memory 1000 5000 10000] [--old-memory 5000]

Speed: random 100- and 1,000-client problems with and without time windows, random plans (about n/8 routes
each); per problem the same plans through the evaluator of 813d688 (loaded from git into a temporary module
by ``tests/make_evaluate_oracle.py``, so no copy of it lives in the project), the new :func:`vrpkit.evaluate`
one plan at a time, :func:`vrpkit.evaluate_many` (one call, full evaluations) and ``evaluate_many(...,
full=False)`` (totals only). Every result is checked equal to the old one. Needs the compiled code (``python -m
vrpkit.solvers.build``).

Memory: for each size, a child process generates ``generate("cvrp", n, seed=0, distribution="uniform")``,
evaluates one plan (its clients in index order, cut into routes of 20) and reports the growth of its peak
resident memory over the evaluation (``ru_maxrss``), for the new evaluator and for the old one (the old one
only up to ``--old-memory`` clients: it copies both matrices into Python lists, about 64 bytes per matrix entry,
6.4 GB at 10,000 clients).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate, evaluate_many

ROOT = Path(__file__).resolve().parents[1]


def reference_evaluator() -> Any:
    """The evaluator of 813d688 (see ``tests/make_evaluate_oracle.py``)."""
    path = ROOT / "tests" / "make_evaluate_oracle.py"
    spec = importlib.util.spec_from_file_location("make_evaluate_oracle", path)
    maker = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = maker
    spec.loader.exec_module(maker)
    return maker.reference_evaluator()


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


def _rate(fn: Any, count: int) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def speed(sizes: list[int], plans_per_100: int) -> None:
    old = reference_evaluator()
    rng = np.random.default_rng(0)
    print("plans per second (higher is better); x: against today's")
    print(f"{'clients':>7} {'windows':>7} {'plans':>6} {'today':>8} {'evaluate':>9} {'x':>5} {'many':>9} {'x':>5} "
          f"{'totals':>9} {'x':>5}")
    for n in sizes:
        for tw in (False, True):
            problem = random_problem(n, rng, time_windows=tw)
            count = max(50, plans_per_100 * 100 // n)
            plans = random_plans(problem, count, rng)
            old.evaluate(problem, plans[0])  # per-problem caches, both
            evaluate(problem, plans[0])
            reference = [old.evaluate(problem, p) for p in plans[:20]]
            assert [repr(e) for e in evaluate_many(problem, plans[:20])] == [repr(e) for e in reference]
            today = _rate(lambda: [old.evaluate(problem, p) for p in plans], count)  # noqa: B023
            new = _rate(lambda: [evaluate(problem, p) for p in plans], count)  # noqa: B023
            many = _rate(lambda: evaluate_many(problem, plans), count)  # noqa: B023
            totals = _rate(lambda: evaluate_many(problem, plans, full=False), count)  # noqa: B023
            print(f"{n:>7} {tw!s:>7} {count:>6} {today:>8.0f} {new:>9.0f} {new / today:>5.1f} {many:>9.0f} "
                  f"{many / today:>5.1f} {totals:>9.0f} {totals / today:>5.1f}", flush=True)


def _memory_child(n: int, which: str, out: Any) -> None:
    from vrpkit.generate import generate

    problem = generate("cvrp", n, seed=0, distribution="uniform")
    plan = [Route(0, tuple(range(i, min(i + 20, n)))) for i in range(0, n, 20)]
    fn = reference_evaluator().evaluate if which == "today" else evaluate
    if which == "new":
        evaluate(generate("cvrp", 5, seed=0), [])  # loads the compiled kernel (not the problem's memory)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    ev = fn(problem, plan)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((before / 1024, (after - before) / 1024, seconds, ev.cost))


def memory(sizes: list[int], old_up_to: int) -> None:
    print("memory of evaluating one plan: peak resident growth during the call (MB; the process holds the "
          "problem before it)")
    print(f"{'clients':>7} {'which':>6} {'before MB':>9} {'growth MB':>9} {'seconds':>8} {'cost':>12}")
    ctx = mp.get_context("spawn")
    for n in sizes:
        for which in ("today", "new"):
            if which == "today" and n > old_up_to:
                print(f"{n:>7} {which:>6} {'skipped (about 64 bytes per matrix entry, x2 matrices)':>40}")
                continue
            queue = ctx.Queue()
            child = ctx.Process(target=_memory_child, args=(n, which, queue))
            child.start()
            before, growth, seconds, cost = queue.get()
            child.join()
            print(f"{n:>7} {which:>6} {before:>9.0f} {growth:>9.0f} {seconds:>8.3f} {cost:>12.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[100, 1000], help="client counts of the speed test")
    parser.add_argument("--plans", type=int, default=2000, help="plans per problem at 100 clients (fewer above)")
    parser.add_argument("--memory", type=int, nargs="*", default=[1000, 5000, 10000],
                        help="client counts of the memory test")
    parser.add_argument("--old-memory", type=int, default=5000,
                        help="the largest problem today's evaluator is run on in the memory test")
    args = parser.parse_args()
    if args.n:
        speed(args.n, args.plans)
    if args.memory:
        memory(args.memory, args.old_memory)


if __name__ == "__main__":
    main()
