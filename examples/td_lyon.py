"""The bundled Lyon example at rush hour: the static plan's arrival times against the time-dependent plan's.

The static plan is solved on ``instances/vrptw_lyon.json`` as it is and then driven with the ``rush_hour``
profile (x1.8 at 8:00 and 17:00, see :mod:`vrpkit.traffic`); the time-dependent plan is solved on the problem
with that profile (planned on static legs at expected departures, see :func:`vrpkit.solve`). Every time is the
evaluator's. ``--window W`` cuts every client's window to its first ``W`` seconds (tighter windows, where the
static plan becomes late at rush hour).

    python examples/td_lyon.py [--solver ortools] [--time-limit 3] [--seed 0] [--window 1800]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import vrpkit
from vrpkit import Evaluation, Problem, evaluate
from vrpkit.io import read_problem
from vrpkit.model import TravelTimeNoise, Uncertainty

ROOT = Path(__file__).resolve().parents[1]


def clock(t: float | None) -> str:
    """Seconds from midnight as hh:mm:ss."""
    if t is None:
        return "-"
    t = round(t)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def stops(problem: Problem, ev: Evaluation) -> dict[str, tuple[int, float, float]]:
    """Client id -> (route, arrival, lateness) in ``ev``."""
    out = {}
    for r, route in enumerate(ev.routes):
        for c, a, s in zip(route.clients, route.arrival, route.start, strict=True):
            close = problem.clients[c].time_windows[-1][1]
            out[problem.clients[c].id] = (r, a, max(0.0, s - close))
    return out


def totals(ev: Evaluation) -> str:
    late = sum(v.amount for v in ev.violations if v.constraint == "time_window")
    return (f"cost {ev.cost:8.2f}  duration {ev.duration / 3600:6.2f} h  routes {ev.n_vehicles}  "
            f"violations {len(ev.violations)}  late {late / 60:6.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", default="ortools")
    parser.add_argument("--time-limit", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=float, default=None, help="cut each window to its first W seconds")
    args = parser.parse_args()

    static = read_problem(ROOT / "instances" / "vrptw_lyon.json")
    if args.window is not None:
        cut = [(c.time_window[0], min(c.time_window[1], c.time_window[0] + args.window)) for c in static.clients]
        clients = tuple(replace(c, time_windows=(w,)) for c, w in zip(static.clients, cut, strict=True))
        static = static.replace(clients=clients)
    td = static.replace(uncertainty=Uncertainty(TravelTimeNoise(profile="rush_hour")))

    plain = vrpkit.solve(static, args.solver, time_limit=args.time_limit, seed=args.seed)
    if plain.solution is None:
        raise SystemExit(f"no static plan: {plain.stats.get('reasons')}")
    planned = vrpkit.solve(td, args.solver, time_limit=args.time_limit, seed=args.seed)
    if planned.solution is None:
        raise SystemExit(f"no time-dependent plan: {planned.stats.get('reasons')}")
    at_rush = evaluate(td, plain.solution)
    a, b, c = stops(static, plain.evaluation), stops(static, at_rush), stops(static, planned.evaluation)

    print(f"{args.solver}, {args.time_limit:g} s, seed {args.seed}, windows "
          f"{'as given' if args.window is None else f'cut to {args.window:g} s'}, profile rush_hour")
    print(f"{'client':14} {'window':>17}  {'static plan':>20} {'at rush hour':>21}  {'rush-hour plan':>21}")
    print(f"{'':14} {'':>17}  {'route':>6} {'arrival':>9}     {'arrival':>9} {'late min':>9}   {'route':>5} "
          f"{'arrival':>9} {'late':>5}")
    for client in static.clients:
        w0, w1 = client.time_window
        ra, ta, _ = a[client.id]
        _, tb, lb = b[client.id]
        rc, tc, lc = c[client.id]
        print(f"{client.id:14} {clock(w0)}-{clock(w1)}  {ra:>6} {clock(ta):>9}     {clock(tb):>9} "
              f"{lb / 60:>9.1f}   {rc:>5} {clock(tc):>9} {lc / 60:>5.1f}")
    print(f"static plan, static times:    {totals(plain.evaluation)}")
    print(f"static plan at rush hour:     {totals(at_rush)}")
    print(f"rush-hour plan at rush hour:  {totals(planned.evaluation)}")
    rounds = planned.stats["time_dependent"]["round_costs"]
    print("rush-hour planning rounds' costs:", ", ".join("-" if x is None else f"{x:.2f}" for x in rounds))


if __name__ == "__main__":
    main()
