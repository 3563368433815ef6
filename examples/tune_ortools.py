"""Compare OR-Tools configurations side by side on CVRPLIB X or Solomon instances.

Each instance is solved by every configuration in turn (instance-major order), so that all configurations see
the same load on a shared machine. Gaps are to the best-known solutions shipped with the data.

    python examples/tune_ortools.py x --time-limit 10 \\
        plain="ortools:first_solution=path_cheapest_arc,metaheuristic=guided_local_search" default=ortools
    python examples/tune_ortools.py solomon --time-limit 10 default=ortools
    python examples/tune_ortools.py files --instances /tmp/ext/inst/MTVRPTWR/C201R0.75.vrp default=ortools

X instances (default: the 10 smallest) use ``{"provider": "euclidean", "round": "nearest"}`` and an unlimited
fleet. Solomon instances are those of ``vrpkit.bench``: the file's fleet, with a fixed cost per vehicle larger
than the distance of any plan, so that fewer vehicles always win (Solomon's objective is vehicles first, then
distance). ``files`` are VRPLIB files given by path in ``--instances`` (PyVRP/Instances, e.g. MTVRPTWR), each
with its ``.sol`` beside it: the gap is to that plan's cost as the evaluator costs it.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import vrpkit
from vrpkit.bench import bench_problem
from vrpkit.io import read_problem
from vrpkit.io.vrplib import read_sol
from vrpkit.model import Problem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
X_SMALL = ["X-n101-k25", "X-n106-k14", "X-n110-k13", "X-n115-k10", "X-n120-k6", "X-n125-k30", "X-n129-k18",
           "X-n134-k13", "X-n139-k10", "X-n143-k7"]


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load(kind: str, names: list[str]) -> list[tuple[str, Problem, dict[str, float]]]:
    out = []
    if kind == "x":
        folder = DATA / "cvrplib" / "X"
        bks = {r["instance"]: {"cost": float(r["bks"])} for r in _csv(folder / "bks.csv")}
        for name in names or X_SMALL:
            out.append((name, read_problem(folder / f"{name}.vrp"), bks[name]))
    elif kind == "files":
        for name in names:
            problem = read_problem(Path(name))
            best = vrpkit.evaluate(problem, read_sol(Path(name).with_suffix(".sol"), problem))
            out.append((Path(name).stem, problem, {"cost": best.cost}))
    else:
        folder = DATA / "solomon"
        bks = {r["instance"]: {"vehicles": int(r["vehicles"]), "distance": float(r["distance"])}
               for r in _csv(folder / "bks.csv")}
        for path in sorted(folder.glob("*.txt")):
            if names and path.stem not in names:
                continue
            out.append((path.stem, bench_problem("solomon", path), bks[path.stem]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", choices=["x", "solomon", "files"])
    parser.add_argument("configs", nargs="+", help="label=solver-spec, e.g. plain=ortools:first_solution=savings")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--instances", default="", help="comma-separated names (default: all of the set)")
    parser.add_argument("--out", type=Path, help="write every row as JSON lines here")
    args = parser.parse_args(argv)
    configs = [c.partition("=")[::2] for c in args.configs]
    rows: list[dict] = []
    out = args.out.open("w") if args.out else None
    for name, problem, bks in load(args.set, [x for x in args.instances.split(",") if x]):
        for label, spec in configs:
            result = vrpkit.solve(problem, spec, time_limit=args.time_limit, seed=args.seed)
            ev = result.evaluation
            row = {"instance": name, "config": label, "status": result.status,
                   "runtime": result.stats.get("runtime"), "vehicle_bound": result.stats.get("vehicles")}
            if ev is not None:
                row.update(cost=round(ev.cost, 4), distance=round(ev.distance, 4), vehicles=ev.n_vehicles,
                           objective=result.stats.get("ortools_objective"))
                if args.set == "x":
                    row["gap"] = round(100 * (ev.distance / bks["cost"] - 1), 3)
                elif args.set == "files":
                    row["gap"] = round(100 * (ev.cost / bks["cost"] - 1), 3)
                else:
                    row["bks_vehicles"] = bks["vehicles"]
                    row["gap"] = round(100 * (ev.distance / bks["distance"] - 1), 3)
            else:
                row["reasons"] = result.stats.get("reasons")
            rows.append(row)
            print(json.dumps(row), flush=True)
            if out:
                print(json.dumps(row), file=out, flush=True)
    if out:
        out.close()
    summarise(args.set, rows, [c[0] for c in configs])
    return 0


def summarise(kind: str, rows: list[dict], labels: list[str]) -> None:
    """A per-instance table (gap %, and vehicles for Solomon), then one summary line per configuration."""
    print()
    names = list(dict.fromkeys(r["instance"] for r in rows))
    cell = {(r["instance"], r["config"]): r for r in rows}
    print(f"{'instance':<16}" + "".join(f"{label:>16}" for label in labels))
    for name in names:
        line = f"{name:<16}"
        for label in labels:
            r = cell.get((name, label), {})
            if r.get("status") != "feasible":
                text = r.get("status", "")
            elif kind == "solomon":
                text = f"{r['vehicles']}/{r['bks_vehicles']} {r['gap']:+.2f}%"
            else:
                text = f"{r['gap']:.2f}%"
            line += f"{text:>16}"
        print(line)
    print()
    for label in labels:
        mine = [r for r in rows if r["config"] == label]
        ok = [r for r in mine if r["status"] == "feasible"]
        line = f"{label:>12}: feasible {len(ok)}/{len(mine)}"
        if ok:
            line += f", mean gap {sum(r['gap'] for r in ok) / len(ok):.2f}%"
            if kind == "solomon":
                veh = sum(r["vehicles"] for r in ok) / len(ok)
                bks_veh = sum(r["bks_vehicles"] for r in ok) / len(ok)
                same = [r for r in ok if r["vehicles"] == r["bks_vehicles"]]
                line += (f" (distance), mean vehicles {veh:.2f} vs BKS {bks_veh:.2f}, "
                         f"BKS vehicle count matched on {len(same)}")
                if same:
                    line += f" (mean distance gap there {sum(r['gap'] for r in same) / len(same):.2f}%)"
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
