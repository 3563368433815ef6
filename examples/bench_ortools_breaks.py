"""Breaks under tight windows: how often the ortools backend returns a plan the evaluator finds late.

Every generated fleet variant with time windows and lunch breaks (:func:`vrpkit.generate.fleet_instance`, 16
variants: with or without multi-trip, shipments, release times, skills) at each of ``--sizes`` clients (requests),
``--instances`` seeds each, and each ``--break-windows`` width (``default``: the generator's 200; a width the
generator refuses for an instance, one that cannot hold a break, a service and the farthest drive, is skipped).
Each run is ``ortools`` for ``--time-limit`` seconds (seed 0), costed by :func:`vrpkit.evaluate`.

The table: per variant, the runs, the feasible plans, the plans the evaluator finds infeasible (OR-Tools' own
plan is always feasible in its model: each such run is a plan whose breaks the backend could not place), the
runs without a plan (out of time), and the routes whose breaks :func:`vrpkit.solvers.ortools.place_breaks`
moved. The runs that came back infeasible are listed with their first violation.

Usage::

    python examples/bench_ortools_breaks.py                                    # 16 x 2 sizes x 5 seeds x 2
    python examples/bench_ortools_breaks.py --sizes 5 --instances 3 --time-limit 0.5
    python examples/bench_ortools_breaks.py --break-windows 130,default --variants mtpdptwrtbrsk

Short time limits on a busy core leave some runs without a plan; those are counted apart, not as failures.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import vrpkit
from vrpkit.errors import ValidationError
from vrpkit.generate import fleet_instance

VARIANTS = tuple("".join(p) for p in itertools.product(("", "mt"), ("pdp", "vrp"), ("tw",), ("", "rt"), ("br",),
                                                        ("", "sk")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated fleet variants")
    parser.add_argument("--sizes", default="5,10", help="comma-separated clients (requests) per instance")
    parser.add_argument("--instances", type=int, default=5, help="seeds per variant and size (0, 1, ...)")
    parser.add_argument("--break-windows", default="130,default",
                        help="comma-separated break window widths (default: the generator's)")
    parser.add_argument("--time-limit", type=float, default=1.0, help="seconds per run")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    sizes = [int(x) for x in args.sizes.split(",")]
    widths = [None if w.strip() == "default" else float(w) for w in args.break_windows.split(",")]
    totals = {"runs": 0, "feasible": 0, "infeasible": 0, "no plan": 0, "moved": 0, "skipped": 0}
    failures: list[str] = []
    started = time.perf_counter()
    print(f"{'variant':<16}{'runs':>6}{'feasible':>10}{'infeasible':>12}{'no plan':>9}{'moved':>7}")
    for variant in variants:
        row = dict.fromkeys(totals, 0)
        for n, seed, width in itertools.product(sizes, range(args.instances), widths):
            try:
                problem = fleet_instance(n, seed=seed, variant=variant, break_window=width)
            except ValidationError:
                row["skipped"] += 1
                continue
            result = vrpkit.solve(problem, "ortools", time_limit=args.time_limit, seed=0)
            row["runs"] += 1
            row["moved"] += int(result.stats.get("breaks_moved", 0))
            if result.status == "feasible":
                row["feasible"] += 1
            elif result.evaluation is None:
                row["no plan"] += 1
            else:
                row["infeasible"] += 1
                first = result.evaluation.violations[0]
                failures.append(f"{variant} n={n} seed={seed} break_window={width or 'default'}: {first}")
        for key in totals:
            totals[key] += row[key]
        print(f"{variant:<16}{row['runs']:>6}{row['feasible']:>10}{row['infeasible']:>12}{row['no plan']:>9}"
              f"{row['moved']:>7}", flush=True)
    print(f"{'all':<16}{totals['runs']:>6}{totals['feasible']:>10}{totals['infeasible']:>12}"
          f"{totals['no plan']:>9}{totals['moved']:>7}   ({totals['skipped']} refused by the generator, "
          f"{time.perf_counter() - started:.0f} s)")
    for line in failures:
        print("infeasible:", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
