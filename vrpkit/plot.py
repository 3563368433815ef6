"""Static figures of plans (matplotlib): routes, each vehicle's day, a solver run's convergence.

Each function returns a :class:`matplotlib.figure.Figure` (a notebook shows it inline) and draws into ``ax``
when one is given. Figures are made without pyplot (no global state, no window); :func:`save_figure` writes
them with the Agg backend. Route colours are those of :mod:`vrpkit.maps`.

- :func:`plot_routes`: one line per route, along the streets when a road source is known (OSRM's route
  geometry or the ``osm`` street graph; see :func:`vrpkit.maps.route_paths`), stops numbered in visiting
  order, depots as black squares, clients on no route as hollow circles, the streets of a local extract
  as a light background.
- :func:`plot_schedule`: a Gantt chart, one row per route: travel, waiting and service as bars at the
  evaluator's times, each stop's time windows as a thin band above the row, late stops in red.
- :func:`plot_convergence`: the best objective over time of solver runs (``stats["progress"]``).
- :func:`plot_risk`: a simulation (:mod:`vrpkit.stochastic`): the cost distribution and the riskiest stops.

Needs the ``maps`` extra (``pip install "vrpkit[maps]"``); matplotlib is imported on first use.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError, VrpkitError
from vrpkit.maps import (
    EXTRA_HINT,
    MISSING_COLOR,
    UNVISITED_COLOR,
    Units,
    as_evaluation,
    drawn_plan,
    route_color,
    route_summaries,
    street_segments,
    unvisited,
)
from vrpkit.report import clock, fmt

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vrpkit.model import Problem

logger = logging.getLogger(__name__)
MAX_NUMBERED = 400
"""Stops are numbered on the route figure when a plan has at most this many."""


def _verify_mpl() -> Any:
    """matplotlib, or a clear error naming the extra that installs it."""
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as err:
        raise VrpkitError(f"plots need matplotlib: {EXTRA_HINT} ({err})") from None
    return matplotlib


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    _verify_mpl()
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf ...) with the Agg backend."""
    _verify_mpl()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    if path.is_dir():
        raise VrpkitError(f"{path}: is a directory; give a file name")
    FigureCanvasAgg(fig)
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    except ValueError as err:  # an unknown format
        raise VrpkitError(f"{path}: {err}") from None
    return path


# -- routes -------------------------------------------------------------------------------------------------


def plot_routes(
    problem: Problem,
    plan: Any,
    *,
    roads: Mapping[str, Any] | bool | None = None,
    paths: Sequence[np.ndarray] | None = None,
    streets: bool | None = None,
    numbers: bool | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """The routes of ``plan`` (a solver result, an evaluation, a solution or its JSON) on ``problem``.

    One line per route (``gid`` ``route-<k>``, labelled with its distance, duration and load), along the
    streets when a road source is known (``roads``, see :func:`vrpkit.maps.route_paths`) or along the given
    ``paths``. ``streets`` draws the street network of a local OpenStreetMap file behind (default: when the
    road source has one). ``numbers`` numbers the stops (default: up to :data:`MAX_NUMBERED` stops).
    """
    evaluation, points, paths = drawn_plan(problem, plan, paths, roads)
    fig, ax = _axes(ax, _route_figsize(problem, points, paths, legend and bool(evaluation.routes)))
    from matplotlib.collections import LineCollection

    nd = problem.n_depots
    if streets is not False:
        try:
            segments = street_segments(problem, roads)
        except VrpkitError as err:
            if streets:
                raise
            logger.warning("no street background: %s", err)
            segments = None
        if segments is not None:
            ax.add_collection(LineCollection(segments, colors="#c8c8c8", linewidths=0.6, zorder=0, gid="streets"))
    n_stops = sum(len(r.clients) for r in evaluation.routes)
    numbered = n_stops <= MAX_NUMBERED if numbers is None else numbers
    summaries = route_summaries(problem, evaluation)
    for k, (r, path) in enumerate(zip(evaluation.routes, paths, strict=True)):
        color = route_color(k)
        path = np.asarray(path, dtype=float).reshape(-1, 2)
        s = summaries[k]
        ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1.8, alpha=0.9, zorder=2, gid=f"route-{k}",
                label=f"{k} {s['vehicle_type']}: {s['stops']} stops, {s['text']}")
        stops = points[[nd + c for c in r.clients]]
        ax.scatter(stops[:, 0], stops[:, 1], s=70 if numbered else 18, color=color, edgecolors="white",
                   linewidths=0.6, zorder=3, gid=f"stops-{k}")
        if numbered:
            for i, (x, y) in enumerate(stops):
                ax.annotate(str(i + 1), (x, y), ha="center", va="center", fontsize=6, color="white",
                            fontweight="bold", zorder=4)
    left = unvisited(problem, evaluation)
    if left:
        where = points[[nd + c for c in left]]
        colors = [MISSING_COLOR if problem.required[c] else UNVISITED_COLOR for c in left]
        ax.scatter(where[:, 0], where[:, 1], s=45, facecolors="white", edgecolors=colors, linewidths=1.4,
                   zorder=3, gid="unvisited", label=f"not visited ({len(left)})")
    ax.scatter(points[:nd, 0], points[:nd, 1], marker="s", s=110, color="black", edgecolors="white",
               linewidths=1.0, zorder=5, gid="depots", label="depot" + "s" * (nd > 1))
    if problem.coordinates == "lonlat":
        ax.set_aspect(1 / math.cos(math.radians(float(np.mean(points[:, 1])))))
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    else:
        ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(0.03)
    status = "feasible" if evaluation.feasible else f"infeasible ({len(evaluation.violations)} violations)"
    units = Units(problem)
    ax.set_title(f"{_short(problem.name)}\n{len(evaluation.routes)} routes, "
                 f"{units.distance(evaluation.distance)}, cost {fmt(evaluation.cost)}, {status}", fontsize=10)
    if legend and evaluation.routes:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
                  ncols=1 if len(evaluation.routes) <= 30 else 2)
    return fig


def _route_figsize(problem: Problem, points: np.ndarray, paths: Sequence[np.ndarray],
                   legend: bool) -> tuple[float, float]:
    """A figure size that fits the drawing's aspect: 8 inches of plot wide, 3 to 10 high, plus the legend."""
    xy = np.concatenate([points, *[np.asarray(p, dtype=float).reshape(-1, 2) for p in paths]])
    width, height = np.ptp(xy, axis=0)
    if problem.coordinates == "lonlat":
        width *= math.cos(math.radians(float(np.mean(xy[:, 1]))))
    ratio = height / width if width > 0 else 1.0
    return 8 + 4.5 * legend, float(np.clip(8 * ratio, 3, 10)) + 1


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# -- schedule -----------------------------------------------------------------------------------------------

SCHEDULE_COLORS = {"wait": "#bdbdbd", "late": MISSING_COLOR, "reload": "#4d4d4d", "break": "#fdd835"}
CLOCK_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
"""Tick spacings (seconds) of the time axis of lon/lat schedules: the first giving at most 10 ticks."""


def plot_schedule(problem: Problem, plan: Any, *, windows: bool = True, ax: Axes | None = None) -> Figure:
    """A Gantt chart of each vehicle's day: one row per route with bars at the evaluator's times.

    Bars carry a ``gid``: ``travel-<k>-<j>`` (leg ``j`` of route ``k``: to stop ``j``, the last one back to the
    depot), ``wait-<k>-<i>`` (arrival to start of service at stop ``i``), ``service-<k>-<i>`` (start to
    departure); ``window-<k>-<i>-<w>`` is window ``w`` of stop ``i`` (drawn when ``windows``: thin bands above
    the row). Late stops are outlined in red. Times of lon/lat problems are shown as h:mm.
    """
    evaluation = as_evaluation(problem, plan)
    n = len(evaluation.routes)
    fig, ax = _axes(ax, (11, 1.2 + 0.45 * max(n, 1)))
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    horizon_end = max([r.end_time for r in evaluation.routes] + [0.0])
    horizon_start = min([r.start_time for r in evaluation.routes] + [horizon_end])
    span = max(horizon_end - horizon_start, 1e-9)
    shown_end = horizon_end + 0.02 * span
    shown_start = horizon_start - 0.02 * span
    for k, r in enumerate(evaluation.routes):
        color = route_color(k)
        y = k
        prev = r.start_time
        legs = [(prev, r.arrival[0])]
        legs += [(r.departure[i - 1], r.arrival[i]) for i in range(1, len(r.clients))]
        if r.end_depot is not None:
            legs.append((r.departure[-1], r.end_time))
        for j, (a, b) in enumerate(legs):
            ax.barh(y, b - a, left=a, height=0.36, color=color, alpha=0.35, linewidth=0,
                    gid=f"travel-{k}-{j}")
        for i, c in enumerate(r.clients):
            client = problem.clients[c]
            late = r.start[i] > client.time_windows[-1][1] + 1e-6
            if r.start[i] > r.arrival[i]:
                ax.barh(y, r.start[i] - r.arrival[i], left=r.arrival[i], height=0.36,
                        color=SCHEDULE_COLORS["wait"], hatch="////", edgecolor="white", linewidth=0,
                        gid=f"wait-{k}-{i}")
            ax.barh(y, r.departure[i] - r.start[i], left=r.start[i], height=0.56, color=color,
                    edgecolor=SCHEDULE_COLORS["late"] if late else "white", linewidth=1.5 if late else 0.4,
                    gid=f"service-{k}-{i}")
            if windows:
                for w, (a, b) in enumerate(client.time_windows):
                    if a <= 0 and not math.isfinite(b):
                        continue
                    b_shown = b if math.isfinite(b) else shown_end
                    level = y - 0.36 - 0.07 * (i % 3)  # staggered, so that the windows of neighbours part
                    ax.barh(level, b_shown - a, left=a, height=0.05, color=color, alpha=0.55, linewidth=0,
                            gid=f"window-{k}-{i}-{w}")
        for j, reload in enumerate(r.reloads):
            ax.barh(y, reload.departure - reload.start, left=reload.start, height=0.56,
                    color=SCHEDULE_COLORS["reload"], linewidth=0, gid=f"reload-{k}-{j}")
        for j, taken in enumerate(r.breaks):
            ax.barh(y, taken.end - taken.start, left=taken.start, height=0.56, color=SCHEDULE_COLORS["break"],
                    edgecolor="black", linewidth=0.4, gid=f"break-{k}-{j}")
        ax.plot([r.start_time, r.end_time], [y, y], color=color, linewidth=0.6, zorder=0)
    ax.set_yticks(range(n), [f"{k} {problem.vehicle_types[r.vehicle_type].id}"
                             for k, r in enumerate(evaluation.routes)])
    ax.set_ylim(n - 0.4, -0.7)
    if evaluation.routes:
        ax.set_xlim(min([shown_start, *(a for r in evaluation.routes for a in _window_starts(problem, r))]),
                    shown_end)
    if problem.coordinates == "lonlat":
        low, high = ax.get_xlim()
        step = next((s for s in CLOCK_STEPS if (high - low) / s <= 10), CLOCK_STEPS[-1])
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(x)))
        ax.set_xlabel("time (h:mm)")
    else:
        ax.set_xlabel("time")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color="#777777", alpha=0.35, label="travel"),
               Patch(facecolor=SCHEDULE_COLORS["wait"], hatch="////", edgecolor="white", label="waiting"),
               Patch(color="#777777", label="service")]
    if any(r.reloads for r in evaluation.routes):
        handles.append(Patch(color=SCHEDULE_COLORS["reload"], label="reload at a depot"))
    if any(r.breaks for r in evaluation.routes):
        handles.append(Patch(facecolor=SCHEDULE_COLORS["break"], edgecolor="black", label="break"))
    if windows:
        handles.append(Patch(color="#777777", alpha=0.55, label="time windows (above each row)"))
    if any(v.constraint == "time_window" for v in evaluation.violations):
        handles.append(Patch(facecolor="white", edgecolor=SCHEDULE_COLORS["late"], label="late"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    units = Units(problem)
    ax.set_title(f"{_short(problem.name)}: schedule of {n} routes, total duration "
                 f"{units.time(evaluation.duration)}", fontsize=10)
    return fig


def _window_starts(problem: Problem, route: Any) -> list[float]:
    return [w[0] for c in route.clients for w in problem.clients[c].time_windows
            if w[0] > 0 or math.isfinite(w[1])]


# -- convergence --------------------------------------------------------------------------------------------


def progress_of(source: Any) -> tuple[list[tuple[float, float]], float | None]:
    """The ``(seconds, objective)`` points of a solver run and its runtime (None when unknown), from a solver
    :class:`~vrpkit.solvers.Result`, a solution JSON (``stats.progress``), a ``stats`` dict, or the points."""
    stats: Any = getattr(source, "stats", None)
    if stats is None and isinstance(source, Mapping):
        stats = source.get("stats", source)
    if stats is not None:
        if not isinstance(stats, Mapping) or "progress" not in stats:
            raise ValidationError("stats.progress", "missing; the solution holds no progress of a solver run "
                                                    "(write it with vrpkit solve -o)")
        points, runtime = stats["progress"], stats.get("runtime")
    else:
        points, runtime = source, None
    try:
        out = [(float(t), float(v)) for t, v in points]
    except (TypeError, ValueError):
        raise ValidationError("stats.progress", "expected a list of [seconds, objective]") from None
    return out, (float(runtime) if isinstance(runtime, int | float) else None)


def plot_convergence(
    runs: Any,
    *,
    label: str | None = None,
    log_time: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """The best objective over time of one solver run or of several (a dict ``label -> run``).

    A run is a solver :class:`~vrpkit.solvers.Result`, a solution JSON (``stats.progress``), a ``stats``
    dict or a list of ``[seconds, objective]``. Each run is a step line through its points (``gid``
    ``progress-<label>``), continued flat to the end of the run (``tail-<label>``) when its runtime is known.
    """
    if isinstance(runs, Mapping) and not ("progress" in runs or "stats" in runs or "routes" in runs):
        items = list(runs.items())
    else:
        stats = getattr(runs, "stats", None) or (runs.get("stats") if isinstance(runs, Mapping) else None) or {}
        items = [(label or str(stats.get("solver") or "run"), runs)]
    progress = [(name, *progress_of(run)) for name, run in items]
    if not any(points for _, points, _ in progress):
        raise ValidationError("stats.progress", "empty: the run recorded no solution")
    fig, ax = _axes(ax, (8, 4.5))
    for k, (name, points, runtime) in enumerate(progress):
        if not points:
            continue
        color = route_color(k)
        t = [p[0] for p in points]
        v = [p[1] for p in points]
        ax.plot(t, v, drawstyle="steps-post", marker="o", markersize=3, color=color, gid=f"progress-{name}",
                label=f"{name}: {fmt(v[-1])} at {t[-1]:.2f} s")
        if runtime is not None and runtime > t[-1]:
            ax.plot([t[-1], runtime], [v[-1], v[-1]], color=color, linestyle="--", linewidth=1,
                    gid=f"tail-{name}")
    if log_time:
        ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("seconds")
    ax.set_ylabel("best objective")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("best objective over time", fontsize=10)
    return fig


# -- risk (simulation) ----------------------------------------------------------------------------------------


def plot_risk(simulation: Any, *, top: int = 15, bins: int = 40) -> Figure:
    """A :class:`vrpkit.stochastic.Simulation` in two panels: the distribution of the scenarios' cost (a
    histogram, ``gid`` ``cost-hist``, with the deterministic cost and the mean, p90 and p99 as vertical
    lines ``cost-<name>``), and the ``top`` riskiest stops as horizontal bars of their late probability
    (``late-<route>-<id>``), their capacity failure probability stacked on it (``fail-<route>-<id>``)."""
    from vrpkit.stochastic import stop_table

    _verify_mpl()
    from matplotlib.figure import Figure

    rows = stop_table(simulation, at_risk=True)[:top]
    fig = Figure(figsize=(11, max(3.5, 1.0 + 0.3 * len(rows))), layout="constrained")
    ax_cost, ax_stops = fig.subplots(1, 2, width_ratios=(1.2, 1.0))
    costs = np.asarray(simulation.costs, dtype=float)
    finite = costs[np.isfinite(costs)]
    ax_cost.hist(finite, bins=bins if np.ptp(finite) > 0 else 1, color=route_color(0), alpha=0.7, gid="cost-hist")
    q = simulation.cost_quantiles
    marks = (("deterministic", simulation.deterministic.cost, "#555555", ":"),
             ("mean", simulation.expected_cost, "black", "-"), ("p90", q["p90"], route_color(2), "--"),
             ("p99", q["p99"], route_color(3), "--"))
    for name, value, color, style in marks:
        if math.isfinite(value):
            ax_cost.axvline(value, color=color, linestyle=style, linewidth=1.2, gid=f"cost-{name}",
                            label=f"{name} {fmt(value)}")
    ax_cost.set_xlabel("cost")
    ax_cost.set_ylabel("scenarios")
    ax_cost.legend(fontsize=8)
    ax_cost.set_title(f"cost over {simulation.scenarios:,} scenarios: on time {simulation.on_time_rate:.1%}, "
                      f"feasible {simulation.feasible_rate:.1%}", fontsize=10)
    if rows:
        y = np.arange(len(rows))
        late = [r["late_probability"] or 0.0 for r in rows]
        fail = [r["failure_probability"] or 0.0 for r in rows]
        for k, r in enumerate(rows):
            ax_stops.barh(k, late[k], color=SCHEDULE_COLORS["late"], gid=f"late-{r['route']}-{r['id']}")
            if fail[k] > 0:
                ax_stops.barh(k, fail[k], left=late[k], color="#7f7f7f", gid=f"fail-{r['route']}-{r['id']}")
        ax_stops.set_yticks(y, [f"{_short(r['id'], 24)} (route {r['route']})" for r in rows], fontsize=8)
        ax_stops.set_ylim(len(rows) - 0.5, -0.5)
        ax_stops.set_xlim(0, max(1e-9, max(a + b for a, b in zip(late, fail, strict=True))) * 1.05)
        ax_stops.set_xlabel("probability (late in red, capacity failure in grey)")
    else:
        ax_stops.text(0.5, 0.5, "no stop is late or fails", ha="center", va="center", transform=ax_stops.transAxes)
        ax_stops.set_axis_off()
    ax_stops.set_title(f"riskiest stops ({len(rows)})", fontsize=10)
    return fig


__all__ = ["plot_convergence", "plot_risk", "plot_routes", "plot_schedule", "progress_of", "save_figure"]
