"""Benchmark of the neural models on real roads: 50-client Monaco instances with OSRM matrices.

Sub-commands (one core: ``taskset -c 1 python examples/bench_neural_roads.py ...``; torch on one thread)::

    python examples/bench_neural_roads.py refs [--count 100]      # test set and PyVRP 1 s references
    python examples/bench_neural_roads.py test CKPT [CKPT ...]    # gaps of the raw plans of each checkpoint

- ``refs``: the test set is ``generate_osm_instance(monaco.osm.pbf, 50, seed=s)`` for ``s`` in ``0..count-1``
  (CVRP, capacity 40, demands 1-9; the training pool of :class:`vrpkit.neural.train.RoadPool` draws its points
  with other seeds), written as JSON + ``.npz`` under ``--data`` (default ``~/.cache/vrpkit/bench_roads``);
  references are PyVRP's at 1 s, seed 0, costed by the evaluator, stored in
  ``neural/weights/roads_test_references.json`` (resumable).
- ``test``: for each checkpoint the raw plan (``NeuralSolver(augment=8, polish=0)``: greedy multi-start on the
  8 dihedral copies of the coordinates) of every instance: mean gap to the references and its standard error,
  infeasible plans, inference time per instance (wall and process CPU time; batches of 20) and each cost.

``--json FILE`` writes the figures. The Monaco extract is ``../shared/data/osm/monaco.osm.pbf`` beside the
repository (``--pbf``); without it the script stops with a message.

Measured 2026-12-02 (one core, ``taskset -c 1``, one torch thread) with
``taskset -c 1 python examples/bench_neural_roads.py refs`` (101 s) and ``taskset -c 1 python
examples/bench_neural_roads.py --json bench.json test neural/weights/cvrp.pt run_a/checkpoint.pt
run_b/checkpoint.pt run_c/checkpoint.pt --names shipped,a,b,c``; the three runs (commands in
``neural/weights/roads.json``) each started from ``cvrp.pt`` and trained 570 s on one core on the Monaco
street pool. Mean gap of the raw plans to PyVRP 1 s (mean reference 154,267 m), standard error, CPU s per
instance; no plan infeasible:

- shipped ``cvrp.pt`` (coordinates only, as it is): 19.39 % (0.47), 0.18 s
- (a) ``cvrp.pt`` fine-tuned on roads (836 steps): 14.72 % (0.34), 0.16 s
- (b) matrix bias, ``matrix=True`` (792 steps; shipped as ``roads_matrix.pt``): 11.95 % (0.34), 0.15 s
- (c) graph layers, ``graph=16`` (719 steps; shipped as ``roads.pt``): 11.45 % (0.31), 0.21 s

Paired over the 100 instances: (c) - (b) -0.50 points (standard error 0.32; better on 58), (b) - (a) -2.77
(0.37; 75), (c) - (a) -3.27 (0.26; 89). Both matrix-aware models beat the coordinates-only one at the same
training time; between the attention bias and the graph layers the difference is within two standard errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vrpkit.model import Problem

ROOT = Path(__file__).resolve().parents[1]
PBF = ROOT.parent / "shared" / "data" / "osm" / "monaco.osm.pbf"
REFS = ROOT / "neural" / "weights" / "roads_test_references.json"


def test_set(pbf: Path, count: int, data: Path) -> list[Problem]:
    """The ``count`` test instances (generated once, then read from ``data``)."""
    from vrpkit.roads.generate import generate_osm_instance, save_instance

    problems = []
    for s in range(count):
        path = data / f"monaco-cvrp-n50-s{s}.json"
        if path.is_file():
            problems.append(Problem.from_dict(json.loads(path.read_text()), base_dir=data))
            continue
        p = generate_osm_instance(pbf, 50, seed=s, threads=1)
        save_instance(p, path)
        problems.append(p)
    return problems


def refs(args: argparse.Namespace) -> dict[str, Any]:
    from vrpkit.neural.train import reference_costs

    problems = test_set(args.pbf, args.count, args.data)
    t0 = time.perf_counter()
    costs = []
    for p in problems:  # one at a time: an interrupted run keeps what it solved
        costs += reference_costs([p], time_limit=1.0, cache=REFS, log=sys.stderr)
    return {"instances": len(problems), "mean_reference": float(np.mean(costs)),
            "seconds": round(time.perf_counter() - t0, 1)}


def brief(entry: dict[str, Any]) -> dict[str, Any]:
    """A result entry as printed: without its per-instance ``costs`` (kept in ``--json``)."""
    return {k: v for k, v in entry.items() if k != "costs"}


def test(args: argparse.Namespace) -> dict[str, Any]:
    from vrpkit.neural.solver import NeuralSolver
    from vrpkit.neural.train import reference_costs

    from vrpkit.evaluate import evaluate

    problems = test_set(args.pbf, args.count, args.data)
    ref = np.array(reference_costs(problems, time_limit=1.0, cache=REFS, log=sys.stderr))
    out: dict[str, Any] = {}
    for ckpt in args.checkpoints:
        solver = NeuralSolver(checkpoint=ckpt, augment=8, polish=0.0, batch=args.batch)
        w0, c0 = time.perf_counter(), time.process_time()
        results = solver.solve_many(problems)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        cost = np.array([evaluate(p, r.solution).cost for p, r in zip(problems, results, strict=True)])
        ok = np.isfinite(cost) & np.isfinite(ref)
        gaps = 100 * (cost[ok] / ref[ok] - 1)
        out[Path(ckpt).name if args.names is None else args.names[len(out)]] = {
            "checkpoint": str(ckpt), "gap": round(float(gaps.mean()), 2),
            "gap_se": round(float(gaps.std(ddof=1) / math.sqrt(max(len(gaps), 1))), 2),
            "costs": [round(float(c), 1) for c in cost],
            "infeasible": int((~np.isfinite(cost)).sum()), "mean_cost": float(np.mean(cost[ok])),
            "s_per_instance": round(wall / len(problems), 3), "cpu_s_per_instance": round(cpu / len(problems), 3)}
        name, last = list(out.items())[-1]
        print(json.dumps({name: brief(last)}), file=sys.stderr, flush=True)
    out["references"] = {"instances": len(problems), "mean_cost": float(np.mean(ref)), "solver": "pyvrp 1 s"}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pbf", type=Path, default=PBF)
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "vrpkit" / "bench_roads")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--json", type=Path)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("refs")
    t = sub.add_parser("test")
    t.add_argument("checkpoints", nargs="+", type=Path)
    t.add_argument("--names", type=lambda s: s.split(","), help="comma-separated labels of the checkpoints")
    t.add_argument("--batch", type=int, default=20)
    args = ap.parse_args()
    if not args.pbf.is_file():
        raise SystemExit(f"{args.pbf}: no such file (the Monaco extract); give --pbf")
    torch.set_num_threads(1)
    result = refs(args) if args.command == "refs" else test(args)
    print(json.dumps({k: brief(v) if isinstance(v, dict) else v for k, v in result.items()}, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if not all(math.isfinite(v["gap"]) for k, v in result.items() if isinstance(v, dict) and "gap" in v):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
