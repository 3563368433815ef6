"""Real roads end to end: a random delivery day in Monaco, solved on OSRM matrices, drawn on a map and in figures.

    python examples/monaco_demo.py [--pbf ../shared/data/osm/monaco.osm.pbf] [--n 100] [--variant vrptw]
                                   [--time-limit 20] [--out monaco-demo]

Needs the OSRM executables (``python -m vrpkit.roads.install``) and the ``maps`` extra. Writes into ``--out``:
``problem.json`` (+ ``problem.npz``, the OSRM matrices), ``solution.json``, ``plan.html`` (the interactive map,
routes along the streets), ``routes.png``, ``schedule.png`` and ``convergence.png``, and prints the plan.
The same from the command line::

    vrpkit generate --osm monaco.osm.pbf --n 100 --seed 0 --variant vrptw -o problem.json
    vrpkit solve problem.json -t 20 -o solution.json
    vrpkit map problem.json solution.json -o plan.html --roads osrm:pbf=monaco.osm.pbf
    vrpkit plot problem.json solution.json -o routes.png --roads osrm:pbf=monaco.osm.pbf
    vrpkit plot problem.json solution.json -o schedule.png --kind schedule
    vrpkit plot problem.json solution.json -o convergence.png --kind convergence
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import vrpkit
from vrpkit.maps import route_map, route_paths, save_map
from vrpkit.plot import plot_convergence, plot_routes, plot_schedule, save_figure
from vrpkit.roads.generate import generate_osm_instance, save_instance

DEFAULT_PBF = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "monaco.osm.pbf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF, help="OpenStreetMap extract (.osm.pbf)")
    parser.add_argument("--n", type=int, default=100, help="number of clients")
    parser.add_argument("--variant", choices=("cvrp", "vrptw"), default="vrptw")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds for OR-Tools")
    parser.add_argument("--out", type=Path, default=Path("monaco-demo"), help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    problem = generate_osm_instance(args.pbf, args.n, seed=args.seed, variant=args.variant)
    save_instance(problem, args.out / "problem.json")
    print(f"generated {problem.name} ({problem.variant}) in {time.perf_counter() - start:.1f} s")

    result = vrpkit.solve(problem, "ortools", time_limit=args.time_limit, seed=args.seed, progress=True)
    (args.out / "solution.json").write_text(json.dumps(result.to_dict(), indent=2))
    print(result.summary())

    start = time.perf_counter()
    roads = {"provider": "osrm", "pbf": str(args.pbf)}
    paths = route_paths(problem, result, roads=roads)  # one OSRM server for the map and the figure
    save_map(route_map(problem, result, paths=paths), args.out / "plan.html")
    save_figure(plot_routes(problem, result, paths=paths, roads=roads), args.out / "routes.png")
    save_figure(plot_schedule(problem, result), args.out / "schedule.png")
    save_figure(plot_convergence(result), args.out / "convergence.png")
    print(f"map and figures in {args.out}/ ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
