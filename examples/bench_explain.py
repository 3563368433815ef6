"""Time the edge labelling of vrpkit.explain and check that it labels every edge.

    taskset -c 1 python examples/bench_explain.py [--data ../shared/data] [--why-not-budget 0.3]

1. The bundled examples (instances/*.json), each with a plan from OR-Tools (1 s).
2. The 56 Solomon instances (100 clients) with their best-known plans: every edge gets an intention and a
   slack; labelling time per instance.
3. Scale: CVRPLIB X-n502-k39 and X-n1001-k43 with their best-known plans, and a generated 1,000-client VRPTW
   with a plan from the local search.
4. The PCVRPTW best-known plans: the reason of every client they leave out, and its time.
5. A counterfactual (``why_not``) on Solomon R101's best-known plan: its time, its plan through the evaluator,
   and ``cost_delta`` against the evaluator's difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

import vrpkit
from vrpkit.explain import INTENTIONS, explain, explain_edges, why_not
from vrpkit.io import read_problem
from vrpkit.io.vrplib import read_sol

ROOT = Path(__file__).resolve().parents[1]


def check(problem: vrpkit.Problem, plan: object) -> tuple[float, int, Counter]:
    """Label ``plan`` (best of 3 runs' time); assert that every edge has an intention and a slack."""
    evaluation = vrpkit.evaluate(problem, plan)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        routes = explain_edges(problem, evaluation)
        times.append(time.perf_counter() - t)
    edges = [e for r in routes for e in r.edges]
    expected = sum(len(r.clients) + (r.end_depot is not None) for r in evaluation.routes)
    assert len(edges) == expected, (len(edges), expected)
    assert all(e.intention in INTENTIONS and set(e.slack) >= {"time_window", "capacity", "duration", "distance"}
               for e in edges)
    return min(times), len(edges), Counter(e.intention for e in edges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--why-not-budget", type=float, default=0.3, help="seconds for the solver")
    args = parser.parse_args()

    print("== bundled examples (OR-Tools 1 s plans)")
    t = time.perf_counter()
    for path in sorted((ROOT / "instances").glob("*.json")):
        problem = read_problem(path)
        result = vrpkit.solve(problem, "ortools", time_limit=1.0, seed=0)
        seconds, n_edges, counts = check(problem, result.solution)
        print(f"{path.stem:24s} {problem.variant:10s} {problem.n_clients:5d} clients {n_edges:5d} edges "
              f"{seconds * 1000:7.1f} ms  {dict(counts)}")

    solomon = args.data / "solomon"
    print("== Solomon, best-known plans")
    total = Counter()
    times = []
    n_all = 0
    for path in sorted(solomon.glob("*.txt")):
        problem = read_problem(path)
        plan = read_sol(solomon / "solutions" / f"{path.stem}.sol", problem)
        seconds, n_edges, counts = check(problem, plan)
        times.append(seconds)
        total.update(counts)
        n_all += n_edges
        print(f"{path.stem:6s} {n_edges:4d} edges {seconds * 1000:6.1f} ms  {dict(counts)}")
    print(f"{len(times)} instances, {n_all} edges, all labelled; labelling time median "
          f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; intentions {dict(total)}")

    print("== scale")
    for name in ("X-n502-k39", "X-n1001-k43"):
        folder = args.data / "cvrplib" / "X"
        problem = read_problem(folder / f"{name}.vrp")
        plan = read_sol(folder / f"{name}.sol", problem)
        seconds, n_edges, counts = check(problem, plan)
        print(f"{name:12s} {problem.n_clients:5d} clients {n_edges:5d} edges {seconds * 1000:7.1f} ms  "
              f"{dict(counts)}")
    from vrpkit.solvers.localsearch import improve

    from vrpkit.generate import uniform_instance

    problem = uniform_instance(1000, seed=0, variant="vrptw")
    plan = improve(problem, (), time_limit=10.0, seed=0)
    seconds, n_edges, counts = check(problem, plan)
    print(f"{'vrptw-1000':12s} {problem.n_clients:5d} clients {n_edges:5d} edges {seconds * 1000:7.1f} ms  "
          f"{dict(counts)}")
    t = time.perf_counter()
    report = explain(problem, plan)
    print(f"  full report (edges and {len(report.unassigned)} unassigned) {time.perf_counter() - t:.3f} s")

    print("== unassigned clients: PCVRPTW best-known plans (1,000 clients, most optional ones left out)")
    for path in sorted((args.data / "variants" / "PCVRPTW").glob("*.vrp")):
        problem = read_problem(path)
        plan = read_sol(path.with_suffix(".sol"), problem)
        t = time.perf_counter()
        report = explain(problem, plan)
        seconds = time.perf_counter() - t
        reasons = Counter(u.reason for u in report.unassigned)
        print(f"{path.stem:9s} {len(report.unassigned):4d} left out, explained in {seconds:.2f} s "
              f"(labelling {report.stats['label_time']:.3f} s): {dict(reasons)}")

    print("== why_not on R101 (best-known plan)")
    problem = read_problem(solomon / "R101.txt")
    plan = read_sol(solomon / "solutions" / "R101.sol", problem)
    routes = explain_edges(problem, plan)
    k, edge = next((r.route, e) for r in routes for e in r.edges[1:] if e.intention not in ("nearest", "return"))
    t = time.perf_counter()
    answer = why_not(problem, plan, after=edge.from_, alternative=edge.nearest, route=k,
                     time_limit=args.why_not_budget)
    seconds = time.perf_counter() - t
    cf = vrpkit.evaluate(problem, answer.plan)
    difference = cf.cost - vrpkit.evaluate(problem, plan).cost
    assert answer.cost_delta == difference
    print(f"why not {edge.from_} -> {edge.nearest} (instead of {edge.to}, {edge.intention}): {seconds:.2f} s, "
          f"counterfactual {cf.status}, cost_delta {answer.cost_delta:.4f} = evaluator's difference "
          f"{difference:.4f}; {answer.summary}")

    # The same question from the command line, end to end (interpreter start included), and its plan checked.
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plan_file, report_file, cf_file = (Path(tmp) / name for name in ("plan.json", "report.json", "cf.json"))
        plan_file.write_text(json.dumps(vrpkit.evaluate(problem, plan).to_dict(problem)))
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "vrpkit", "explain", str(solomon / "R101.txt"),
                               str(plan_file), "--why-not", edge.nearest, "--after", edge.from_, "--route", str(k),
                               "-t", str(args.why_not_budget), "-o", str(report_file)],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t
        assert done.returncode == 0, done.stderr
        cf_file.write_text(json.dumps(json.loads(report_file.read_text())["why_not"]["plan"]))
        checked = subprocess.run([sys.executable, "-m", "vrpkit", "evaluate", str(solomon / "R101.txt"),
                                  str(cf_file)], capture_output=True, text=True)
        status = next(line for line in checked.stdout.splitlines() if line.startswith("status:"))
        print(f"vrpkit explain --why-not {edge.nearest} --after {edge.from_}: {wall:.2f} s wall; "
              f"vrpkit evaluate of its plan: exit {checked.returncode}, {status}")


if __name__ == "__main__":
    main()
