#!/usr/bin/env bash
# Benchmark vrpkit's OR-Tools configuration against plain OR-Tools (PATH_CHEAPEST_ARC + guided local search,
# OR-Tools' own operators) side by side on the CVRPLIB X instances, then OR-Tools on Solomon's VRPTW set.
#
# Every plan is costed by vrpkit's evaluator (X: edges rounded to the nearest integer, as for the BKS);
# the table shows cost, BKS, gap % = (cost - bks) / bks * 100, vehicles and runtime per instance and solver,
# then one mean row per solver. Needs the shared data next to the repository (../shared/data) or --data.
#
# Usage: examples/bench_cvrplib_x.sh [SECONDS] [K]   (defaults: 10 s per run, the 10 smallest instances)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-10}"
K="${2:-10}"
DATA="${VRPKIT_DATA:-../shared/data}"
mkdir -p bench-results

vrpkit bench --set cvrplib-x --data "$DATA" --smallest "$K" --time-limit "$SECONDS_PER_RUN" --seed 0 \
    --solver ortools \
    --solver ortools:first_solution=path_cheapest_arc,metaheuristic=guided_local_search,operators=ortools \
    --csv "bench-results/cvrplib-x-${SECONDS_PER_RUN}s.csv"

# Solomon: vehicles first, then distance (unrounded); vehicles are shown next to the BKS vehicles.
vrpkit bench --set solomon --data "$DATA" --smallest "$K" --time-limit "$SECONDS_PER_RUN" --seed 0 \
    --solver ortools \
    --csv "bench-results/solomon-${SECONDS_PER_RUN}s.csv"
