"""Benchmarks of the shipped neural model: test sets, generalisation to CVRPLIB X, throughput.

Sub-commands (run each on one core: ``taskset -c 1 python examples/bench_neural.py ...``; torch on one
thread)::

    python examples/bench_neural.py refs                 # PyVRP 1 s references of the test sets (resumable)
    python examples/bench_neural.py test [--count 200] [--samples 128] [--sample-count 50]
    python examples/bench_neural.py x [--per-bucket K] [--time-limit 10]
    python examples/bench_neural.py throughput [--count 128] [--batch 32]

- ``refs``: the test sets are ``generate_many(v, n, count, 777)`` (RouteFinder's distribution) for CVRP50,
  CVRP100, VRPTW50, OVRP50, VRPB50, VRPL50 and MDHFVRP50; their reference costs are PyVRP's at 1 s, seed 0
  (the ant colony where PyVRP lacks an attribute), costed by the evaluator, computed by
  :func:`vrpkit.neural.train.reference_costs` one instance at a time (instance ``i`` of every variant before
  instance ``i + 1``, so an interrupted run leaves balanced sets) and stored in
  ``neural/weights/test_references.json``; instances already stored there or in ``references.json`` (the first
  20 of each set, made by the training's record) are skipped.
- ``test``: per variant, the raw neural plan (``polish=0``, greedy multi-start x8) and, on the first
  ``sample-count`` instances, x8 plus ``samples`` sampled plans: mean gap to the references (instances with a
  reference only), infeasible plans, and the inference time per instance (wall and process CPU time; the CPU
  time is the figure to quote on a shared core).
- ``x``: the X instances with at most 400 clients in ``../shared/data`` (edges rounded to the nearest integer,
  the BKS's convention), raw (``polish=0``) and ``--solver neural`` at ``time-limit`` seconds: mean gap to the
  BKS per bucket of clients (100-200, 200-300, 300-400; ``per-bucket`` K takes K instances spread evenly
  through each bucket, by size).
- ``throughput``: ``count`` CVRP100 instances (seed 4243) built by ``NeuralSolver(augment=8, polish=0)
  .construct`` in batches of ``batch``: instances per second (wall and CPU).

``--json FILE`` (every sub-command) writes the figures.

Measured 2026-12-01 with the shipped weights (``neural/weights/cvrp.pt``), one core (``taskset -c 1``, one torch
thread; the references and the test run shared that core, so wall times were about twice the CPU times quoted):

- test sets (200 each; greedy x8 gap to PyVRP 1 s; x8 + 128 samples on the first 50, with greedy x8 on the same
  50 in brackets; CPU s per instance greedy / sampling, batches of 32): CVRP50 5.05 % / 5.11 % (5.11), 0.18 /
  0.31; CVRP100 8.46 % / 8.61 % (8.61), 0.80 / 1.06; VRPTW50 12.10 % / 11.96 % (12.37), 0.24 / 0.36; OVRP50
  17.66 % / 18.21 % (18.25), 0.18 / 0.27; VRPB50 12.32 % / 11.71 % (11.74), 0.15 / 0.27; VRPL50 5.48 % /
  5.42 % (5.47), 0.17 / 0.29; MDHFVRP50 14.59 % / 15.72 % (16.30), 0.28 / 0.43; no plan infeasible.
- X (``--per-bucket 5``), mean gap to the BKS raw / at 10 s: 100-200 10.66 % / 1.98 %, 200-300 16.06 % /
  2.29 %, 300-400 18.77 % / 4.53 % (raw x8 takes 1.5 s CPU at 100 clients, 30 s at 392; at 10 s only the
  identity copy is decoded from 147 clients on).
- throughput: 128 CVRP100, x8, 100 starts, batches of 32: 102.4 s, 1.25 instances/s.

Measured 2026-12-02, same weights, core 0 (``taskset -c 0``) while training ran on the other core:

- X, all 58 instances (``x``), raw / at 10 s: 100-200 (22 instances) 13.75 % / 1.57 %, 200-300 (21) 18.12 % /
  2.57 %, 300-400 (15) 20.73 % / 3.52 %.
- ``throughput --count 1000``: 742.2 s wall, 739.7 s CPU, 1.35 instances/s, no plan infeasible.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from vrpkit.bench import bench_problem, find_instances, gap_percent
from vrpkit.evaluate import evaluate
from vrpkit.generate import generate_many
from vrpkit.model import Problem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEST_SEED = 777
"""Seed of the test sets (their first 20 instances are the model card's test sets)."""
TEST_SETS = (("cvrp", 50), ("cvrp", 100), ("vrptw", 50), ("ovrp", 50), ("vrpb", 50), ("vrpl", 50),
             ("mdhfvrp", 50))
REF_TIME = 1.0
BUCKETS = ((100, 200), (200, 300), (300, 400))


def test_references_path() -> Path:
    import vrpkit.neural

    return Path(vrpkit.neural.__file__).resolve().parent / "weights" / "test_references.json"


def test_sets(count: int) -> dict[str, list[Problem]]:
    return {f"{v}{n}": generate_many(v, n, count, TEST_SEED) for v, n in TEST_SETS}


def stored_references() -> dict[str, float]:
    """Reference cost by problem name: ``references.json`` then ``test_references.json``."""
    from vrpkit.neural.train import REFERENCES

    out: dict[str, float] = {}
    for path in (REFERENCES, test_references_path()):
        if path.exists():
            out.update({k: float(v["cost"]) for k, v in json.loads(path.read_text()).items()
                        if isinstance(v, dict) and math.isfinite(float(v.get("cost", math.inf)))})
    return out


def mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else math.nan


# -- refs -------------------------------------------------------------------------------------------------


def cmd_refs(args: argparse.Namespace) -> dict[str, Any]:
    from vrpkit.neural.train import reference_costs

    sets = test_sets(args.count)
    path = test_references_path()
    have = stored_references()
    if not path.exists():
        made_by = (f"taskset -c 1 python examples/bench_neural.py refs --count {args.count} (PyVRP {REF_TIME:g} "
                   "s, seed 0, else aco; one core of the 2-core dev machine, shared with the neural benchmarks)")
        path.write_text(json.dumps({"_made_by": made_by}, indent=1))
    todo = [sets[k][i] for i in range(args.count) for k in sets if sets[k][i].name not in have]
    print(f"{len(todo)} references to compute ({REF_TIME:g} s each) into {path}", flush=True)
    t0 = time.perf_counter()
    for j, p in enumerate(todo, 1):
        reference_costs([p], time_limit=REF_TIME, cache=path)
        if j % 10 == 0 or j == len(todo):
            el = time.perf_counter() - t0
            print(f"{j}/{len(todo)} {el:.0f} s, about {el / j * (len(todo) - j):.0f} s left", flush=True)
    have = stored_references()
    return {k: sum(p.name in have for p in ps) for k, ps in sets.items()}


# -- test -------------------------------------------------------------------------------------------------


def run_neural(problems: list[Problem], *, samples: int, batch: int) -> dict[str, Any]:
    """The raw plans (``polish=0``, x8, ``samples`` sampled plans) of ``problems``: their costs by the
    evaluator (inf when infeasible), infeasible plans and the time per instance (wall and CPU)."""
    from vrpkit.neural.solver import NeuralSolver

    solver = NeuralSolver(augment=8, samples=samples, polish=0, batch=batch)
    w0, c0 = time.perf_counter(), time.process_time()
    built = solver.construct(problems, seed=0)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    costs = {p.name: evaluate(p, plan).cost for p, (plan, _) in zip(problems, built, strict=True)}
    n = len(problems)
    return {"instances": n, "infeasible": sum(not math.isfinite(c) for c in costs.values()),
            "wall_s_per_instance": round(wall / n, 4), "cpu_s_per_instance": round(cpu / n, 4),
            "per_s_cpu": round(n / cpu, 3), "plans_per_instance": built[0][1]["neural_plans"], "costs": costs}


def mean_gap(costs: dict[str, float], refs: dict[str, float], names: Any = None) -> tuple[float, int]:
    """Mean gap (%) of the feasible ``costs`` (of ``names``, default all) to ``refs``, and how many had one."""
    gaps = [gap_percent(c, refs[k]) for k, c in costs.items()
            if k in refs and math.isfinite(c) and (names is None or k in names)]
    return round(mean(gaps), 3), len(gaps)


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    """The gaps of a ``test`` result (its stored costs) to the references stored now, per set and mode."""
    refs = stored_references()
    table: dict[str, Any] = {}
    for key, row in out.items():
        if not isinstance(row, dict):
            continue
        table[key] = {}
        for mode, r in row.items():
            gap, n = mean_gap(r["costs"], refs)
            table[key][mode] = {"gap": gap, "with_reference": n,
                                **{k: v for k, v in r.items() if k != "costs"}}
        sampled = [m for m in row if m != "greedy_x8"]
        if sampled:
            table[key]["greedy_x8"]["gap_on_sampled_instances"] = mean_gap(row["greedy_x8"]["costs"], refs,
                                                                           set(row[sampled[0]]["costs"]))[0]
    return table


def cmd_test(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"seed": TEST_SEED, "reference": f"pyvrp {REF_TIME:g} s (else aco), seed 0"}
    for key, problems in test_sets(args.count).items():
        if args.only and key not in args.only:
            continue
        row = {"greedy_x8": run_neural(problems, samples=0, batch=args.batch)}
        if args.samples and args.sample_count:
            row[f"x8+sampling{args.samples}"] = run_neural(problems[:args.sample_count], samples=args.samples,
                                                            batch=args.batch)
        out[key] = row
        print(key, json.dumps(summarise({key: row})[key]), flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(out, indent=1))
    return out


def cmd_report(args: argparse.Namespace) -> dict[str, Any]:
    """The gaps of a ``test --json`` file to the references stored now (after ``refs`` has finished)."""
    table = summarise(json.loads(args.file.read_text()))
    for key, row in table.items():
        for mode, r in row.items():
            print(f"{key:10} {mode:18} gap {r['gap']:7.3f} % over {r['with_reference']:3d} of {r['instances']:3d}"
                  f", infeasible {r['infeasible']}, {r['cpu_s_per_instance']:.3f} s CPU per instance")
    return table


# -- x ------------------------------------------------------------------------------------------------------


def spread(items: list[Any], k: int | None) -> list[Any]:
    """``k`` items spread evenly through ``items`` (first and last included; all when ``k`` is None)."""
    if k is None or k >= len(items):
        return items
    if k == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def cmd_x(args: argparse.Namespace) -> dict[str, Any]:
    from vrpkit.neural.solver import NeuralSolver

    import vrpkit

    found = find_instances("cvrplib-x", args.data)
    raw_solver = NeuralSolver(augment=8, polish=0, batch=1)
    out: dict[str, Any] = {"time_limit": args.time_limit, "per_bucket": args.per_bucket}
    for lo, hi in BUCKETS:
        chosen = spread([i for i in found if lo <= i.n < hi or i.n == hi == 400], args.per_bucket)
        rows = []
        for inst in chosen:
            problem = bench_problem("cvrplib-x", inst.path)
            c0 = time.process_time()
            plan, _ = raw_solver.construct([problem], seed=0)[0]
            raw_cpu = time.process_time() - c0
            raw = evaluate(problem, plan)
            res = vrpkit.solve(problem, solver="neural", time_limit=args.time_limit, seed=0)
            row = {"instance": inst.name, "clients": inst.n, "bks": inst.bks, "raw": raw.cost,
                   "raw_gap": round(gap_percent(raw.cost, inst.bks), 3), "raw_cpu_s": round(raw_cpu, 2),
                   "neural": res.cost, "neural_gap": round(gap_percent(res.cost, inst.bks), 3),
                   "augment_at_limit": res.stats.get("augment")}
            print(row, flush=True)
            rows.append(row)
        out[f"{lo}-{hi}"] = {"instances": len(rows), "raw_gap": round(mean([r["raw_gap"] for r in rows]), 3),
                             "neural_gap": round(mean([r["neural_gap"] for r in rows]), 3), "rows": rows}
        if args.json is not None:
            args.json.write_text(json.dumps(out, indent=1))
    return out


# -- throughput ---------------------------------------------------------------------------------------------


def cmd_throughput(args: argparse.Namespace) -> dict[str, Any]:
    from vrpkit.neural.solver import NeuralSolver

    problems = generate_many("cvrp", 100, args.count, 4243)
    solver = NeuralSolver(augment=8, polish=0, batch=args.batch)
    w0, c0 = time.perf_counter(), time.process_time()
    built = solver.construct(problems, seed=0)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    infeasible = sum(not evaluate(p, plan).feasible for p, (plan, _) in zip(problems, built, strict=True))
    return {"instances": args.count, "batch": args.batch, "augment": 8, "starts": 100, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "per_s_wall": round(args.count / wall, 3),
            "per_s_cpu": round(args.count / cpu, 3), "infeasible": infeasible}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("refs", help="PyVRP references of the test sets")
    p.add_argument("--count", type=int, default=200)
    p = sub.add_parser("test", help="raw neural gaps on the test sets")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--samples", type=int, default=128, help="sampled plans on top of greedy x8 (0: none)")
    p.add_argument("--sample-count", type=int, default=50, help="instances per set decoded with sampling")
    p.add_argument("--batch", type=int, default=32, help="problems per forward pass")
    p.add_argument("--only", nargs="*", help="sets to run (e.g. cvrp50 vrptw50)")
    p = sub.add_parser("report", help="gaps of a test --json file to the stored references")
    p.add_argument("file", type=Path)
    p = sub.add_parser("x", help="CVRPLIB X (n <= 400) raw and at --time-limit")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--per-bucket", type=int, help="instances per bucket, spread by size (default: all)")
    p.add_argument("--time-limit", type=float, default=10.0)
    p = sub.add_parser("throughput", help="CVRP100 x8 construction, instances per second")
    p.add_argument("--count", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    commands = {"refs": cmd_refs, "test": cmd_test, "report": cmd_report, "x": cmd_x, "throughput": cmd_throughput}
    out = commands[args.cmd](args)
    if args.cmd not in ("test", "report"):
        print(json.dumps(out, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
