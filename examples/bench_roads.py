"""Benchmark of the road-network matrix providers on an OpenStreetMap extract (default: Monaco).

    python examples/bench_roads.py                       # ../shared/data/osm/monaco.osm.pbf, fresh cache
    python examples/bench_roads.py --sizes 100 500 --repeat 5 --json bench.json

Measures, side by side in one run (timings on a shared machine are noisy: compare the ratios):

- osrm: preparation (extract + contract or partition + customize), server start, and for each size the
  raw ``/table`` time (one HTTP GET of OSRM's JSON, read but not parsed, and the same in flatbuffers) next to
  vrpkit's provider on the same server (request, decoding, checks), taking turns; vrpkit's overhead is its time
  over the raw time.
  Then the share of asymmetric pairs, and the provider with a local extract (own server) first and when cached.
- osm: street-graph build time, then a 200x200 matrix, and how its distances and durations compare with OSRM's
  on the same points (relative differences, median and 90th percentile).
- errors: a server that cannot start, a wrong URL, a missing executable, a point off the map: the message,
  the CLI exit code it maps to (2 for every :class:`vrpkit.VrpkitError`) and whether an osrm-routed is left.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from vrpkit.errors import VrpkitError
from vrpkit.roads.generate import sample_street_points
from vrpkit.roads.osm import osm_matrices, street_network
from vrpkit.roads.osrm import OsrmServer, free_port, osrm_children, osrm_matrices, prepare

QUERY = "?annotations=duration,distance&generate_hints=false"
DEFAULT_PBF = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "monaco.osm.pbf"


def timed(fns: list[Any], repeat: int) -> tuple[list[float], list[Any]]:
    """Median wall time of each function over ``repeat`` rounds, the functions taking turns within a round (so
    that a change of load on a shared machine hits all of them alike) after a short pause (so that none pays
    for the server still cleaning up after the previous request), and their last results."""
    times: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            time.sleep(0.1)
            start = time.perf_counter()
            results[k] = fn()
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], results


def raw_get(url: str) -> bytes:
    with urllib.request.urlopen(url) as answer:
        return answer.read()


def relative_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    off = ~np.eye(len(a), dtype=bool)
    rel = np.abs(a[off] - b[off]) / b[off]
    ratio = a[off] / b[off]
    return {"median": float(np.median(rel)), "p90": float(np.percentile(rel, 90)),
            "median_ratio": float(np.median(ratio))}


def bench_osrm(pbf: Path, points: np.ndarray, sizes: list[int], repeat: int, cache: Path, algorithm: str,
               report: dict[str, Any]) -> None:
    start = time.perf_counter()
    data = prepare(pbf, algorithm=algorithm, cache_dir=cache)
    report["osrm_prepare_s"] = time.perf_counter() - start
    print(f"osrm {data.version}: {algorithm} preparation {report['osrm_prepare_s']:.2f} s")
    start = time.perf_counter()
    with OsrmServer(data, max_table_size=max(sizes)) as server:
        report["osrm_server_start_s"] = time.perf_counter() - start
        print(f"osrm-routed started in {report['osrm_server_start_s']:.2f} s (pid {server.pid}, {server.url})")
        print(f"{'points':>7} {'raw JSON s':>11} {'raw flatbuf s':>14} {'vrpkit s':>9} {'/raw JSON':>10} "
              f"{'/raw flatbuf':>13}")
        rows = []
        for n in sizes:
            chosen = points[:n]
            coords = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in chosen)
            url = f"{server.url}/table/v1/car/{coords}"
            (raw_json, raw_fb, ours), (_, _, result) = timed(
                [lambda u=url: raw_get(u + QUERY), lambda u=url: raw_get(u + ".flatbuffers" + QUERY),
                 lambda c=chosen: osrm_matrices(c, url=server.url, cache=False)], repeat)
            rows.append({"points": n, "raw_json_s": raw_json, "raw_flatbuffers_s": raw_fb, "vrpkit_s": ours,
                         "vrpkit_over_raw_json": ours / raw_json, "vrpkit_over_raw_flatbuffers": ours / raw_fb})
            print(f"{n:>7} {raw_json:>11.3f} {raw_fb:>14.3f} {ours:>9.3f} {ours / raw_json:>9.2f}x "
                  f"{ours / raw_fb:>12.2f}x")
        report["osrm_tables"] = rows
        off = ~np.eye(len(result.duration), dtype=bool)
        report["asymmetric_duration_share"] = float(np.mean(result.duration[off] != result.duration.T[off]))
        report["asymmetric_distance_share"] = float(np.mean(result.distance[off] != result.distance.T[off]))
        print(f"asymmetric pairs ({len(result.duration)} points): durations "
              f"{report['asymmetric_duration_share']:.1%}, distances {report['asymmetric_distance_share']:.1%}")
    n = sizes[-1]
    first = osrm_matrices(points[:n], pbf=pbf, algorithm=algorithm, cache_dir=cache)
    second = osrm_matrices(points[:n], pbf=pbf, algorithm=algorithm, cache_dir=cache)
    assert second.cached and np.array_equal(first.duration, second.duration)
    report["osrm_pbf_first_s"], report["osrm_pbf_cached_s"] = first.seconds, second.seconds
    print(f"provider with the extract, {n} points: {first.seconds:.2f} s (prepared data cached, own server), "
          f"second call {second.seconds * 1000:.1f} ms (matrix cache)")


def bench_osm(pbf: Path, points: np.ndarray, cache: Path, osrm_cache: Path, n: int,
              report: dict[str, Any]) -> None:
    start = time.perf_counter()
    _, cached = street_network(pbf, cache_dir=cache)
    report["osm_graph_build_s"] = time.perf_counter() - start
    how = "read from the cache" if cached else "built"
    print(f"osm: street graph {how} in {report['osm_graph_build_s']:.2f} s")
    chosen = points[:n]
    osm_times = []
    for _ in range(3):
        start = time.perf_counter()
        result = osm_matrices(chosen, file=pbf, cache_dir=cache, cache=False)
        osm_times.append(time.perf_counter() - start)
    report["osm_matrix_s"] = statistics.median(osm_times)
    print(f"osm: {n}x{n} matrix in {report['osm_matrix_s']:.2f} s (graph from the cache, median of 3; "
          f"snapped median {np.median(result.snap_distance):.1f} m)")
    osrm = osrm_matrices(chosen, pbf=pbf, cache_dir=osrm_cache)
    report["osm_vs_osrm_distance"] = relative_difference(result.distance, osrm.distance)
    report["osm_vs_osrm_duration"] = relative_difference(result.duration, osrm.duration)
    d, t = report["osm_vs_osrm_distance"], report["osm_vs_osrm_duration"]
    print(f"osm vs osrm on the same {n} points: distance |diff|/osrm median {d['median']:.1%}, "
          f"p90 {d['p90']:.1%}; duration median {t['median']:.1%}, p90 {t['p90']:.1%} "
          f"(osm/osrm duration ratio median {t['median_ratio']:.2f})")


def bench_errors(pbf: Path, points: np.ndarray, cache: Path, report: dict[str, Any]) -> None:
    def attempt(name: str, fn: Any) -> None:
        try:
            fn()
            outcome = {"error": None, "exit_code": 0}
        except VrpkitError as err:
            outcome = {"error": f"{type(err).__name__}: {err}", "exit_code": 2}
        outcome["osrm_routed_left"] = len(osrm_children())
        report.setdefault("errors", {})[name] = outcome
        print(f"  {name}: {outcome['error']} -> exit {outcome['exit_code']}, "
              f"osrm-routed left: {outcome['osrm_routed_left']}")

    with tempfile.TemporaryDirectory() as tmp:
        fake = Path(tmp) / "map.osrm"
        Path(f"{fake}.properties").write_text("not OSRM data")
        print("errors:")
        attempt("server cannot start", lambda: OsrmServer(fake).start())
        attempt("wrong URL", lambda: osrm_matrices(points[:3], url=f"http://127.0.0.1:{free_port()}", cache=False))
        attempt("missing executable", lambda: osrm_matrices(points[:3], pbf=pbf, osrm_bin=tmp, cache_dir=cache))
        attempt("point off the map", lambda: osrm_matrices(np.vstack([points[:3], [[7.6, 43.6]]]), pbf=pbf,
                                                           cache_dir=cache, labels=["depots[0]", "clients[0]",
                                                                                    "clients[1]", "clients[2]"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="timings are medians of this many runs")
    parser.add_argument("--algorithm", default="ch", choices=["ch", "mld"])
    parser.add_argument("--osm-points", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, help="default: a fresh temporary folder (cold preparation)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    if not args.pbf.is_file():
        raise SystemExit(f"{args.pbf}: no such file")
    report: dict[str, Any] = {"pbf": str(args.pbf), "algorithm": args.algorithm}
    with tempfile.TemporaryDirectory(prefix="vrpkit-bench-") as tmp:
        cache = args.cache_dir or Path(tmp)
        network, _ = street_network(args.pbf, cache_dir=tmp)  # only to draw street locations
        points = sample_street_points(network, max(*args.sizes, args.osm_points), np.random.default_rng(args.seed))
        bench_osrm(args.pbf, points, sorted(args.sizes), args.repeat, cache, args.algorithm, report)
        bench_osm(args.pbf, points, Path(tmp) / "osm", cache, args.osm_points, report)
        bench_errors(args.pbf, points, cache, report)
    report["osrm_routed_left_at_end"] = len(osrm_children())
    print(f"osrm-routed processes left: {report['osrm_routed_left_at_end']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
