"""Readable reports of problems and plans, rendered with rich.

The CLI prints these; the Python API reuses them: :func:`summary` gives the plain-text report of a solver
:class:`~vrpkit.solvers.Result` or of an :class:`~vrpkit.Evaluation`, :func:`print_report` writes it (in
colour on a terminal) to a rich console, and :func:`problem_info` describes a problem (``vrpkit info``).
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from vrpkit.evaluate import Evaluation
from vrpkit.model import INF, Problem

if TYPE_CHECKING:
    from vrpkit.solvers.base import Result

MAX_VIOLATIONS = 20
"""How many violations a report lists before it only counts the rest."""


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for people: integers without decimals, others with ``digits``; ``inf`` and None as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def _amounts(values: Sequence[float]) -> str:
    return fmt(values[0]) if len(values) == 1 else "[" + ", ".join(fmt(v) for v in values) + "]"


def clock(seconds: float) -> str:
    """Seconds as ``h:mm`` (rounded to the minute); ``inf`` as ``-``."""
    if not math.isfinite(seconds):
        return "-"
    minutes = round(seconds / 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def km(metres: float) -> str:
    """Metres as kilometres with one decimal."""
    return fmt(metres / 1000, 1) if math.isfinite(metres) else "-"


class _Units:
    """How a problem's distances and times are shown: lon/lat problems are in metres and seconds, shown as
    km and h:mm; others are unit-free numbers."""

    def __init__(self, problem: Problem) -> None:
        self.real = problem.coordinates == "lonlat"
        self.distance_label = " (km)" if self.real else ""
        self.time_label = " (h:mm)" if self.real else ""

    def distance(self, value: float) -> str:
        return km(value) if self.real else fmt(value)

    def time(self, value: float) -> str:
        return clock(value) if self.real else fmt(value)

    def window(self, window: Sequence[float]) -> str:
        start, end = window
        if start == 0 and math.isinf(end):
            return "always"
        return f"{self.time(start)}–{self.time(end) if math.isfinite(end) else ''}"


def _has_times(problem: Problem) -> bool:
    return bool(problem.attributes & {"time_windows", "breaks", "release_times"})


def route_table(problem: Problem, evaluation: Evaluation) -> Table:
    """One row per route (vehicle type, stops, peak load / capacity, distance, duration, cost) and totals; the
    route lists its reload depots among the clients."""
    units = _Units(problem)
    times = _has_times(problem)
    ids = problem.node_ids
    nd = problem.n_depots
    table = Table(box=box.SIMPLE, show_footer=True, pad_edge=False, show_edge=False, expand=False)
    table.add_column("#", justify="right", footer="total")
    table.add_column("vehicle", footer=str(evaluation.n_vehicles))
    table.add_column("stops", justify="right", footer=str(sum(len(r.clients) for r in evaluation.routes)))
    table.add_column("route", ratio=1, overflow="fold")
    table.add_column("load", justify="right", footer="")
    table.add_column("distance" + units.distance_label, justify="right",
                     footer=units.distance(evaluation.distance))
    table.add_column("duration" + units.time_label, justify="right", footer=units.time(evaluation.duration))
    if times:
        table.add_column("start–end", justify="right", footer="")
    table.add_column("cost", justify="right", footer=fmt(evaluation.fixed_cost + evaluation.variable_cost))
    capacity = problem.capacity
    for k, r in enumerate(evaluation.routes):
        reload_at = {x.position: x.depot for x in r.reloads}
        path = [ids[r.start_depot]]
        for i, c in enumerate(r.clients):
            if i in reload_at:
                path.append(ids[reload_at[i]])
            path.append(ids[nd + c])
        if r.end_depot is not None:
            path.append(ids[r.end_depot])
        peak = np.max(np.array([r.start_load, *r.load], dtype=float), axis=0)
        cap = capacity[r.vehicle_type]
        load = _amounts(peak.tolist())
        if np.isfinite(cap).all():
            load += "/" + _amounts(cap.tolist())
        row = [str(k), problem.vehicle_types[r.vehicle_type].id, str(len(r.clients)), " ".join(path), load,
               units.distance(r.distance), units.time(r.duration)]
        if times:
            row.append(f"{units.time(r.start_time)}–{units.time(r.end_time)}")
        row.append(fmt(r.cost))
        table.add_row(*row)
    return table


def trip_table(problem: Problem, evaluation: Evaluation) -> Table | None:
    """One row per trip of the routes that reload (route, trip, depot it leaves, when, clients, peak load /
    capacity, arrival at the next depot), or None when no route reloads."""
    if not any(r.reloads for r in evaluation.routes):
        return None
    units = _Units(problem)
    ids = problem.node_ids
    nd = problem.n_depots
    table = Table("#", "trip", "from", "leaves", "clients", "load", "back", box=box.SIMPLE_HEAD, pad_edge=False,
                  show_edge=False, title="\ntrips", title_justify="left", title_style="bold")
    capacity = problem.capacity
    for k, r in enumerate(evaluation.routes):
        if not r.reloads:
            continue
        cuts = [x.position for x in r.reloads]
        bounds = [0, *cuts, len(r.clients)]
        for t, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if t == 0:  # after the breaks at the depot, and no earlier than the trip's release time
                depot, loaded = r.start_depot, r.start_load
                leaves = max([r.start_time, *(b.end for b in r.breaks if b.position == 0),
                              *(float(problem.release_time[c]) for c in r.clients[lo:hi])])
            else:
                x = r.reloads[t - 1]
                depot, loaded, leaves = x.depot, x.load, x.departure
            back = r.reloads[t].arrival if t < len(r.reloads) else r.end_time
            peak = np.max(np.array([loaded, *r.load[lo:hi]], dtype=float), axis=0)
            load = _amounts(peak.tolist())
            cap = capacity[r.vehicle_type]
            if np.isfinite(cap).all():
                load += "/" + _amounts(cap.tolist())
            table.add_row(str(k), str(t + 1), ids[depot], units.time(leaves),
                          " ".join(ids[nd + c] for c in r.clients[lo:hi]), load,
                          units.time(back) if r.end_depot is not None or t < len(r.reloads) else "-")
    return table


def break_table(problem: Problem, evaluation: Evaluation) -> Table | None:
    """One row per break taken (route, break, where, start–end), or None when no route takes one."""
    if not any(r.breaks for r in evaluation.routes):
        return None
    units = _Units(problem)
    ids = problem.node_ids
    nd = problem.n_depots
    table = Table("#", "break", "where", "start–end", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  title="\nbreaks", title_justify="left", title_style="bold")
    for k, r in enumerate(evaluation.routes):
        breaks = problem.vehicle_types[r.vehicle_type].breaks
        for b in r.breaks:
            where = (f"at {ids[r.start_depot]} before leaving" if b.position == 0
                     else f"after {ids[nd + r.clients[b.position - 1]]}")
            table.add_row(str(k), breaks[b.break_index].id, where, f"{units.time(b.start)}–{units.time(b.end)}")
    return table


def evaluation_report(
    problem: Problem,
    evaluation: Evaluation | None,
    *,
    stats: Mapping[str, Any] | None = None,
) -> RenderableType:
    """The whole report: header, route table, cost breakdown, unassigned clients, violations, run stats.

    ``evaluation`` None means that the run found no plan; ``stats["reasons"]`` then says what is known.
    """
    parts: list[RenderableType] = []
    parts.append(Text(problem.name, style="bold"))
    parts.append(Text(f"{problem.variant}, {problem.n_clients} clients, {problem.n_depots} "
                      f"depot{'s' if problem.n_depots > 1 else ''}"))
    stats = stats or {}
    if evaluation is None:
        parts.append(Text("status: no solution found", style="bold red"))
        for reason in stats.get("reasons") or ["the solver returned no plan"]:
            parts.append(Text(f"  - {reason}"))
        parts.append(_stats_line(stats))
        return Group(*[p for p in parts if p is not None])

    if evaluation.routes:
        parts.append(route_table(problem, evaluation))
        for extra in (trip_table(problem, evaluation), break_table(problem, evaluation)):
            if extra is not None:
                parts.append(extra)
    else:
        parts.append(Text("no routes"))
    status = Text("\nstatus: ")
    if evaluation.feasible:
        status.append("feasible", style="bold green")
    else:
        n = len(evaluation.violations)
        status.append(f"infeasible ({n} violation{'s' if n != 1 else ''})", style="bold red")
    parts.append(status)
    cost = Text(f"cost: {fmt(evaluation.cost)}")
    terms = []
    if evaluation.fixed_cost:
        terms.append(f"fixed {fmt(evaluation.fixed_cost)}")
    if evaluation.fixed_cost or evaluation.prize_lost:
        terms.append(f"routes {fmt(evaluation.variable_cost)}")
    if evaluation.prize_lost:
        terms.append(f"prizes lost {fmt(evaluation.prize_lost)}")
    if terms:
        cost.append(" = " + " + ".join(terms))
    parts.append(cost)
    if evaluation.unassigned:
        nd = problem.n_depots
        ids = problem.node_ids
        left = ", ".join(f"{ids[nd + c]} (prize {fmt(problem.prize[c])})" for c in evaluation.unassigned)
        parts.append(Text(f"unassigned: {left}"))
    if evaluation.violations:
        table = Table("constraint", "route", "client", "amount", box=box.SIMPLE_HEAD, pad_edge=False,
                      show_edge=False, title="\nviolations", title_justify="left", title_style="bold red")
        for v in evaluation.violations[:MAX_VIOLATIONS]:
            table.add_row(v.constraint, "-" if v.route is None else str(v.route), v.client or "-",
                          fmt(v.amount))
        parts.append(table)
        if len(evaluation.violations) > MAX_VIOLATIONS:
            parts.append(Text(f"... and {len(evaluation.violations) - MAX_VIOLATIONS} more violations"))
    parts.append(_stats_line(stats))
    return Group(*[p for p in parts if p is not None])


def _stats_line(stats: Mapping[str, Any]) -> Text | None:
    if not stats.get("solver"):
        return None
    line = f"solver {stats['solver']}"
    if "runtime" in stats:
        line += f", {stats['runtime']:.2f} s"
    if "time_limit" in stats:
        line += f" (limit {fmt(stats['time_limit'])} s)"
    if "seed" in stats:
        line += f", seed {stats['seed']}"
    return Text(line, style="dim")


def _parts(obj: Result | Evaluation, problem: Problem | None) -> tuple[Problem, Evaluation | None, dict]:
    if isinstance(obj, Evaluation):
        if problem is None:
            raise TypeError("summary of an Evaluation needs its problem")
        return problem, obj, {}
    return obj.problem, obj.evaluation, dict(obj.stats)


def print_report(obj: Result | Evaluation, problem: Problem | None = None, *,
                 console: Console | None = None) -> None:
    """Print the report of a solver result, or of an evaluation of ``problem``, to ``console``."""
    problem, evaluation, stats = _parts(obj, problem)
    show(evaluation_report(problem, evaluation, stats=stats), console or Console())


def show(renderable: RenderableType, console: Console) -> None:
    """Print ``renderable``: styled on a terminal, plain text without trailing blanks otherwise."""
    if console.is_terminal:
        console.print(renderable)
    else:
        console.file.write(render(renderable, width=console.width))
        console.file.flush()


def render(renderable: RenderableType, *, width: int = 120) -> str:
    """Plain text (no colour) of a rich renderable."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False, force_terminal=False,
            legacy_windows=False).print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def summary(obj: Result | Evaluation, problem: Problem | None = None, *, width: int = 120) -> str:
    """The report of a solver result (or of an evaluation of ``problem``) as plain text."""
    problem, evaluation, stats = _parts(obj, problem)
    return render(evaluation_report(problem, evaluation, stats=stats), width=width)


def problem_info(problem: Problem) -> RenderableType:
    """What ``vrpkit info`` shows: name, variant, attributes, sizes, fleet, matrices."""
    units = _Units(problem)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("name", problem.name)
    facts.add_row("variant", problem.variant)
    facts.add_row("attributes", ", ".join(sorted(problem.attributes)) or "none")
    n_types = len(problem.vehicle_types)
    counts = [vt.count for vt in problem.vehicle_types]
    vehicles = "unlimited" if any(c is None for c in counts) else str(sum(counts))
    facts.add_row("size", f"{problem.n_depots} depot{'s' * (problem.n_depots != 1)}, "
                          f"{problem.n_clients} client{'s' * (problem.n_clients != 1)}, "
                          f"{n_types} vehicle type{'s' * (n_types != 1)} ({vehicles} vehicles), "
                          f"{problem.n_dims} capacity dimension{'s' * (problem.n_dims != 1)}")
    facts.add_row("coordinates", problem.coordinates)
    if problem.pickup.any():
        facts.add_row("backhaul", problem.backhaul)
    if problem.n_clients:
        facts.add_row("demand", f"delivery {_amounts(problem.delivery.sum(axis=0).tolist())}, "
                                f"pickup {_amounts(problem.pickup.sum(axis=0).tolist())}")
        optional = int((~problem.required).sum())
        if optional:
            facts.add_row("optional", f"{optional} clients, prizes {fmt(float(problem.prize.sum()))} in all")
    for label, text in _fleet_facts(problem, units):
        facts.add_row(label, text)
    spec = dict(problem.matrix or {})
    provider = spec.pop("provider", "?")
    options = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("distance", "duration"))
    facts.add_row("matrix", provider + (f" ({options})" if options else "")
                  + (", metres and seconds (shown as km and h:mm)" if units.real else ""))
    facts.add_row("distance", _symmetry(problem.distance, units.distance))
    facts.add_row("duration", "same as distance" if problem.duration is problem.distance
                  or np.array_equal(problem.duration, problem.distance)
                  else _symmetry(problem.duration, units.time))

    fleet = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title="fleet", title_justify="left",
                  title_style="bold")
    for name in ("id", "count", "capacity", "start", "end", "shift", "max duration", "max distance", "fixed",
                 "per distance", "per duration"):
        fleet.add_column(name, justify="left" if name in ("id", "start", "end") else "right")
    for vt in problem.vehicle_types:
        fleet.add_row(
            vt.id, "unlimited" if vt.count is None else str(vt.count),
            _amounts(vt.capacity) if vt.capacity else "unlimited", vt.start_depot,
            "open" if vt.end_depot is None else vt.end_depot, units.window(vt.shift),
            units.time(vt.max_duration) if vt.max_duration < INF else "-",
            units.distance(vt.max_distance) if vt.max_distance < INF else "-",
            f"{vt.fixed_cost:g}", f"{vt.cost_per_distance:g}", f"{vt.cost_per_duration:g}",
        )
    reload_times = bool(problem.depot_service_time.any())
    depots = Table("id", "location", "time window", *(["reload time"] if reload_times else []),
                   box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title="depots", title_justify="left",
                   title_style="bold")
    for d in problem.depots:
        where = "-" if d.location is None else f"{d.location[0]:g}, {d.location[1]:g}"
        depots.add_row(d.id, where, units.window(d.time_window),
                       *([units.time(d.service_time)] if reload_times else []))
    parts = [facts, Text(""), depots, Text(""), fleet]
    if any(vt.skills or vt.breaks or vt.reload_depots for vt in problem.vehicle_types):
        day = Table("id", "skills", "breaks", "reload depots", "max reloads", box=box.SIMPLE_HEAD, pad_edge=False,
                    show_edge=False, title="a fleet's day", title_justify="left", title_style="bold")
        for vt in problem.vehicle_types:
            breaks = "; ".join(f"{b.id} {units.time(b.duration)} in "
                               + ", ".join(units.window(w) for w in b.time_windows) for b in vt.breaks)
            day.add_row(vt.id, ", ".join(vt.skills) or "-", breaks or "-", ", ".join(vt.reload_depots) or "-",
                        ("unlimited" if vt.max_reloads is None else str(vt.max_reloads)) if vt.reload_depots
                        else "-")
        parts += [Text(""), day]
    return Group(*parts)


def _fleet_facts(problem: Problem, units: _Units) -> list[tuple[str, str]]:
    """``vrpkit info``'s lines on shipments, skills and release times (none for a problem without them)."""
    out = []
    if problem.shipments:
        amount = np.abs(problem.shipment_load).sum(axis=0) // 2
        rides = sum(1 for s in problem.shipments if math.isfinite(s.max_ride_time))
        out.append(("shipments", f"{len(problem.shipments)} (pickup and delivery stops among the clients), amount "
                                 f"{_amounts(amount.tolist())} in all"
                                 + (f", {rides} with a ride time limit" if rides else "")))
    needs: dict[str, int] = {}
    for c in problem.clients:
        for skill in c.skills:
            needs[skill] = needs.get(skill, 0) + 1
    if needs:
        out.append(("skills", ", ".join(f"{k} ({n} client{'s' * (n != 1)})" for k, n in sorted(needs.items()))))
    released = problem.release_time[problem.release_time > 0]
    if released.size:
        out.append(("release times", f"{released.size} clients, the latest {units.time(float(released.max()))}"))
    return out


def _symmetry(matrix: np.ndarray, show: Callable[[float], str]) -> str:
    sym = np.allclose(matrix, matrix.T, rtol=1e-9, atol=1e-9)
    off = matrix[~np.eye(len(matrix), dtype=bool)]
    span = f", {show(float(off.min()))} to {show(float(off.max()))}" if off.size else ""
    return ("symmetric" if sym else "asymmetric") + span


__all__ = [
    "break_table", "evaluation_report", "fmt", "print_report", "problem_info", "render", "route_table", "show",
    "summary", "trip_table",
]
