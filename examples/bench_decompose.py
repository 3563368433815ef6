"""Decomposition against whole-problem solves, side by side: ``vrpkit solve --decompose`` and the solvers on
the whole problem at the same budget, each run in its own process (``python -m vrpkit solve``, as a user
runs it), with its cost, feasibility, wall time (process start, imports and reading the file included) and
peak memory (the resident memory of the whole process tree, sampled with psutil every 0.1 s).

Generated problems (``--sizes``, ``--variants`` cvrp/vrptw, ``--distributions`` uniform/clustered; written
once to ``--cache`` as JSON) and CVRPLIB X instances (``--x X-n1001-k43,...``, gap to the best known from
the set's ``bks.csv`` through :mod:`vrpkit.bench`). ``--runs`` lists what runs on each problem:
``decompose:SOLVER`` or a plain solver spec. The gap column is the cost's gap to the ``--reference`` run on
the same problem (default ``pyvrp``), and for X instances ``bks%`` the gap to the best known.

Examples (on a quiet core: ``flock /tmp/core0.lock taskset -c 0 python ...``; ``--workers`` processes)::

    python examples/bench_decompose.py --sizes 5000 --variants cvrp --distributions clustered --budget 240
    python examples/bench_decompose.py --sizes 0 --x X-n502-k39,X-n801-k40,X-n1001-k43 --budget 60 \\
        --runs decompose:aco,decompose:pyvrp,pyvrp
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def problem_files(args: argparse.Namespace) -> list[tuple[str, Path, float | None]]:
    """(label, file, best known or None) for every problem asked for."""
    from vrpkit.generate import generate

    out: list[tuple[str, Path, float | None]] = []
    args.cache.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        if n <= 0:
            continue
        for variant in args.variants:
            for dist in args.distributions:
                path = args.cache / f"{dist}-{variant}-n{n}-s{args.seed}.json"
                if not path.exists():
                    problem = generate(variant, n, seed=args.seed, distribution=dist)
                    path.write_text(json.dumps(problem.to_dict()))
                out.append((path.stem, path, None))
    if args.x:
        from vrpkit.bench import find_instances

        known = {i.name: i for i in find_instances("cvrplib-x", args.data)}
        for name in args.x:
            if name not in known:
                sys.exit(f"error: --x: unknown instance {name!r} (or it has no best known cost)")
            out.append((name, known[name].path, known[name].bks))
    return out


def run_one(path: Path, run: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ``vrpkit solve`` in its own process: status, cost, wall time, peak tree RSS, decompose stats."""
    decompose = run.startswith("decompose:")
    solver = run.split(":", 1)[1] if decompose else run
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sol.json"
        cmd = [sys.executable, "-m", "vrpkit", "solve", str(path), "--solver", solver, "--time-limit",
               str(args.budget), "--seed", str(args.seed), "-o", str(out)]
        if decompose:
            cmd += ["--decompose"]
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            if args.part_size:
                cmd += ["--part-size", str(args.part_size)]
        t0 = time.perf_counter()
        log = Path(tmp) / "stderr.txt"
        with log.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            root = psutil.Process(proc.pid)
            peak = 0
            while proc.poll() is None:
                try:
                    tree = [root, *root.children(recursive=True)]
                    rss = 0
                    for p in tree:
                        with contextlib.suppress(psutil.NoSuchProcess):
                            rss += p.memory_info().rss
                    peak = max(peak, rss)
                except psutil.NoSuchProcess:
                    pass
                time.sleep(0.1)
        wall = time.perf_counter() - t0
        row: dict[str, Any] = {"run": run, "rc": proc.returncode, "wall_s": round(wall, 1),
                               "peak_gb": round(peak / 1024**3, 2), "status": "error", "cost": None}
        if out.exists():
            sol = json.loads(out.read_text())
            row.update(status=sol["status"], cost=sol["cost"], routes=len(sol["routes"]))
            d = sol.get("stats", {}).get("decompose")
            if d:
                row.update(parts=d.get("parts"), rounds=d.get("rounds"), workers=d.get("workers"),
                           startup_s=d.get("startup"), round_costs=d.get("round_costs"),
                           local_search=d.get("local_search"))
        else:
            row["error"] = log.read_text().strip().splitlines()[-1:] or ["no output"]
        return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5000,10000", help="client counts (0: none)")
    ap.add_argument("--variants", default="cvrp,vrptw")
    ap.add_argument("--distributions", default="uniform,clustered")
    ap.add_argument("--x", default="", help="CVRPLIB X instances, e.g. X-n1001-k43")
    ap.add_argument("--runs", default="decompose:pyvrp,decompose:aco,pyvrp,aco")
    ap.add_argument("--reference", default="pyvrp")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds per run")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--part-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vrpkit-bench-decompose")
    ap.add_argument("--data", type=Path, default=DATA / "cvrplib" / "X")
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.variants = [s for s in args.variants.split(",") if s]
    args.distributions = [s for s in args.distributions.split(",") if s]
    args.x = [s for s in args.x.split(",") if s]
    runs = [s for s in args.runs.split(",") if s]
    rows = []
    for label, path, bks in problem_files(args):
        here = []
        for run in runs:
            row = {"problem": label, **run_one(path, run, args)}
            if bks is not None and row["cost"] is not None and row["status"] == "feasible":
                row["bks_gap"] = round((row["cost"] - bks) / bks * 100, 2)
            here.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        ref = next((r for r in here if r["run"] == args.reference and r["status"] == "feasible"), None)
        for r in here:
            if ref is not None and r["status"] == "feasible":
                r["vs_ref"] = round((r["cost"] - ref["cost"]) / ref["cost"] * 100, 2)
        rows.extend(here)
    print(f"{'problem':34} {'run':22} {'status':10} {'cost':>12} {'vs ref%':>8} {'bks%':>6} {'wall s':>7} "
          f"{'peak GB':>7}  parts/rounds")
    for r in rows:
        cost = "-" if r["cost"] is None else f"{r['cost']:,.1f}"
        extra = f"{r['parts']}/{r['rounds']}" if "parts" in r else ""
        print(f"{r['problem']:34} {r['run']:22} {r['status']:10} {cost:>12} {r.get('vs_ref', ''):>8} "
              f"{r.get('bks_gap', ''):>6} {r['wall_s']:>7} {r['peak_gb']:>7}  {extra}")
    if args.csv:
        keys = sorted({k for r in rows for k in r})
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
