"""Benchmark harness behind ``vrpkit bench``: solvers side by side on a benchmark set, gap to the BKS.

Sets:

- ``cvrplib-x``: the X instances of Uchoa et al. (``X-n*.vrp`` and ``bks.csv``; edges rounded to the
  nearest integer). The cost compared with the BKS is the evaluator's cost.
- ``solomon``: Solomon's VRPTW instances (``*.txt`` and ``bks.csv``). The objective is hierarchical,
  vehicles first, then distance (unrounded): every vehicle gets a fixed cost larger than the distance of any
  plan, so that solvers minimise the number of vehicles first. The cost shown and compared with the BKS
  distance is the plan's distance; the vehicles are shown next to the BKS vehicles (a distance gap is only
  comparable when they are equal).

Every plan is checked and costed by :func:`vrpkit.evaluate` (through :func:`vrpkit.solve`); the gap is
``(cost - bks) / bks * 100`` for feasible plans and empty otherwise. ``n`` is the number of clients
(``X-n101-k25`` has 100).

A *reference* solver (``vrpkit bench --reference pyvrp``; PyVRP is the reference for the classic variants)
adds each solver's gap to the reference's cost on the same instance, ``(cost - ref) / ref * 100``, when both
plans are feasible (for Solomon, on distance: compare it where the vehicles are equal).
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vrpkit.errors import InputError, SolverError, VrpkitError
from vrpkit.model import Problem

SETS = ("cvrplib-x", "solomon")


@dataclass(frozen=True)
class BenchRow:
    """One solver on one instance.

    ``cost`` is the value compared with ``bks``: the evaluator's cost (``cvrplib-x``) or the distance
    (``solomon``); it is None when no plan was found. ``gap`` (%) is None unless the plan is feasible.
    ``status`` is ``feasible``, ``infeasible``, ``no_solution`` or ``error`` (then ``error`` says why).
    """

    set: str
    instance: str
    n: int
    solver: str
    seed: int
    time_limit: float
    status: str
    feasible: bool
    cost: float | None
    distance: float | None
    vehicles: int | None
    bks: float
    bks_vehicles: int | None
    gap: float | None
    runtime: float
    error: str = ""


CSV_COLUMNS = tuple(f.name for f in fields(BenchRow))
"""The columns of the CSV file written by :func:`run_bench`, in order."""


@dataclass(frozen=True)
class BenchSummary:
    """The mean row of one solver: mean gap over feasible plans, mean runtime over all runs."""

    solver: str
    instances: int
    feasible: int
    mean_gap: float | None
    mean_runtime: float
    bks_vehicles_matched: int | None
    """Solomon: how many plans use no more vehicles than the BKS (None for other sets)."""
    mean_gap_to_reference: float | None = None
    """Mean gap to the reference solver over the instances where both plans are feasible (see
    :func:`reference_gaps`); None without a reference, for the reference itself, or when there is none."""


@dataclass(frozen=True)
class _Instance:
    name: str
    n: int
    path: Path
    bks: float
    bks_vehicles: int | None


# -- instances -------------------------------------------------------------------------------------------------


def _find_folder(data_dir: Path, candidates: Sequence[str], pattern: str) -> Path:
    for sub in candidates:
        folder = data_dir / sub if sub else data_dir
        if (folder / "bks.csv").is_file() and any(folder.glob(pattern)):
            return folder
    tried = ", ".join(str(data_dir / s) if s else str(data_dir) for s in candidates)
    raise InputError(f"{data_dir}: no {pattern} files with a bks.csv found (looked in {tried})")


def _read_bks(path: Path, columns: Sequence[str]) -> dict[str, dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("instance", *columns) if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: no column {missing[0]!r}")
            return {row["instance"]: row for row in reader}
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None


def _number(path: Path, name: str, column: str, value: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {name}: {column} {value!r} is not a number") from None


def find_instances(set_name: str, data_dir: str | Path) -> list[_Instance]:
    """The instances of a set found under ``data_dir`` that have a BKS, sorted by size then name."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a folder")
    out = []
    if set_name == "cvrplib-x":
        folder = _find_folder(data_dir, ("", "cvrplib/X", "X"), "X-n*.vrp")
        bks_path = folder / "bks.csv"
        table = _read_bks(bks_path, ("bks",))
        for path in folder.glob("X-n*.vrp"):
            row = table.get(path.stem)
            if row is None:
                continue
            match = re.match(r"X-n(\d+)-", path.stem)
            dimension = int(row["n"]) if row.get("n") else int(match[1]) if match else 0
            bks = _number(bks_path, path.stem, "bks", row["bks"], float)
            out.append(_Instance(path.stem, dimension - 1, path, bks, None))
    elif set_name == "solomon":
        folder = _find_folder(data_dir, ("", "solomon"), "*.txt")
        bks_path = folder / "bks.csv"
        table = _read_bks(bks_path, ("vehicles", "distance"))
        for path in folder.glob("*.txt"):
            row = table.get(path.stem)
            if row is None:
                continue
            n = _solomon_size(path)
            bks = _number(bks_path, path.stem, "distance", row["distance"], float)
            vehicles = _number(bks_path, path.stem, "vehicles", row["vehicles"], int)
            out.append(_Instance(path.stem, n, path, bks, vehicles))
    else:
        raise InputError(f'unknown benchmark set "{set_name}" (known: {", ".join(SETS)})')
    return sorted(out, key=lambda i: (i.n, i.name))


def _solomon_size(path: Path) -> int:
    """Customers of a Solomon file: rows of the CUSTOMER table, less the depot."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: cannot read") from None
    return max(0, len(lines) - 6 - 1)


def select_instances(
    found: Sequence[_Instance],
    *,
    max_n: int | None = None,
    smallest: int | None = None,
    instances: Sequence[str] | None = None,
) -> list[_Instance]:
    """Apply the filters in order: names, ``max_n`` (clients), then the ``smallest`` K (ties by name)."""
    chosen = sorted(found, key=lambda i: (i.n, i.name))
    if instances:
        names = {i.name for i in chosen}
        unknown = [name for name in instances if name not in names]
        if unknown:
            raise InputError(f'unknown instance "{unknown[0]}" (or it has no BKS)')
        wanted = set(instances)
        chosen = [i for i in chosen if i.name in wanted]
    if max_n is not None:
        chosen = [i for i in chosen if i.n <= max_n]
    if smallest is not None:
        chosen = chosen[:smallest]
    return chosen


# -- problems ------------------------------------------------------------------------------------------------


def vehicle_bound_cost(problem: Problem) -> float:
    """A fixed cost per vehicle larger than the distance of any plan.

    A plan leaves each client once and the depots once per route: its distance is at most the sum over
    clients of their longest outgoing arc plus, per route, the longest arc out of a depot. Routes are at
    most the fleet size (or the number of clients when unlimited).
    """
    dist = problem.distance
    nd = problem.n_depots
    counts = [vt.count for vt in problem.vehicle_types]
    routes = problem.n_clients if any(c is None for c in counts) else min(sum(counts), problem.n_clients)
    bound = float(dist[nd:].max(axis=1).sum()) + routes * float(dist[:nd].max(initial=0.0))
    return float(math.floor(bound) + 1)


def bench_problem(set_name: str, path: Path, *, round: str | None = None) -> Problem:
    """The problem a set's benchmark solves (for Solomon with the vehicle-first fixed cost).

    ``round`` overrides the set's distance convention (see :mod:`vrpkit.io.vrplib`).
    """
    from vrpkit.io.vrplib import read_solomon, read_vrplib

    if set_name == "solomon":
        problem = read_solomon(path, round=round)
        fixed = vehicle_bound_cost(problem)
        return problem.replace(vehicle_types=tuple(replace(vt, fixed_cost=fixed) for vt in problem.vehicle_types))
    return read_vrplib(path, round=round)


def gap_percent(cost: float, bks: float) -> float:
    """``(cost - bks) / bks * 100``."""
    return (cost - bks) / bks * 100.0


# -- running -------------------------------------------------------------------------------------------------


def run_bench(
    set_name: str,
    data_dir: Path,
    solvers: list[str],
    *,
    time_limit: float,
    seed: int = 0,
    max_n: int | None = None,
    smallest: int | None = None,
    instances: list[str] | None = None,
    csv_path: Path | None = None,
    progress: bool = False,
    console: Console | None = None,
    round: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> list[BenchRow]:
    """Run every solver (a spec such as ``ortools:metaheuristic=tabu_search``) on every chosen instance.

    ``data_dir`` is the folder of the set or a parent of it (``.../data`` works for both sets). Each run gets
    ``time_limit`` seconds and ``seed``. One line per finished run goes to ``console`` (when given, or to
    stderr when ``progress``); ``csv_path`` receives every row as it is made (:data:`CSV_COLUMNS`). A run
    that fails is recorded with status ``error``; unknown solvers fail before any run. ``round`` overrides
    the set's distance convention (the BKS are costed under the set's own: nearest integer for X, unrounded
    for Solomon, so another rule makes the gap approximate).

    With ``workers`` (a local cluster of that many processes) or ``scheduler`` (``tcp://HOST:PORT``), the runs
    go to a dask cluster through :mod:`vrpkit.batch` (one task per instance and solver, each worker solving one
    at a time with one thread): the same rows in the same order, with the lines and the CSV rows written as the
    runs finish (in finish order).
    """
    from vrpkit.io.vrplib import check_round
    from vrpkit.solvers import get_solver, solve

    check_round(round)
    if not solvers:
        raise SolverError("no solver given")
    if not time_limit > 0:
        raise InputError(f"time limit {time_limit} is not a positive number of seconds")
    for spec in solvers:
        get_solver(spec)  # unknown names, missing extras and bad options fail here, before any run
    parallel = workers is not None or scheduler is not None
    if parallel:
        from vrpkit.batch import check_cluster, require_dist

        check_cluster(scheduler, workers)
        require_dist()
    chosen = select_instances(find_instances(set_name, data_dir), max_n=max_n, smallest=smallest,
                              instances=instances)
    if not chosen:
        raise InputError(f"{data_dir}: no {set_name} instance left after the filters")
    out = console if console is not None else Console(stderr=True) if progress else None
    if out is not None:
        rule = "" if round is None else f", distances round {round}"
        out.print(f"[bold]{set_name}[/]: {len(chosen)} instances x {len(solvers)} solvers, "
                  f"{time_limit:g} s each, seed {seed}{rule}")

    rows: list[BenchRow] = []
    with ExitStack() as stack:
        writer = None
        if csv_path is not None:
            try:
                handle = stack.enter_context(Path(csv_path).open("w", newline="", encoding="utf-8"))
            except OSError as err:
                raise InputError(f"{csv_path}: cannot write ({err.strerror})") from None
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()

        def record(row: BenchRow) -> None:
            if writer is not None:
                writer.writerow(_csv_row(row))
                handle.flush()
            if out is not None:
                out.print(_line(row), highlight=False, soft_wrap=True)

        if parallel:
            return _run_on_cluster(set_name, chosen, solvers, time_limit=time_limit, seed=seed, round=round,
                                   workers=workers, scheduler=scheduler, record=record)
        for inst in chosen:
            problem = bench_problem(set_name, inst.path, round=round)
            for spec in solvers:
                row = _run_one(set_name, inst, problem, spec, time_limit, seed, solve)
                rows.append(row)
                record(row)
    return rows


def _run_on_cluster(set_name: str, chosen: Sequence[_Instance], solvers: Sequence[str], *, time_limit: float,
                    seed: int, round: str | None, workers: int | None, scheduler: str | None,
                    record: Callable[[BenchRow], None]) -> list[BenchRow]:
    """The runs of :func:`run_bench` as tasks of :func:`vrpkit.batch.run_jobs`; rows in the serial order."""
    from vrpkit.batch import Job, connect, run_jobs

    runs = {f"{inst.name}-{k}": (inst, spec) for inst in chosen for k, spec in enumerate(solvers)}
    jobs = [Job(name, str(Path(inst.path).resolve()), spec, ("bench", set_name, round))
            for name, (inst, spec) in runs.items()]
    made: dict[str, BenchRow] = {}

    def done(job: Job, data: dict[str, Any]) -> None:
        inst, spec = runs[job.name]
        made[job.name] = row = _row_from_data(set_name, inst, spec, time_limit, seed, data)
        record(row)

    with connect(scheduler, workers) as client:
        run_jobs(client, jobs, time_limit=time_limit, seed=seed, on_done=done)
    return [made[name] for name in runs]


def _row_from_data(set_name: str, inst: _Instance, spec: str, time_limit: float, seed: int,
                   data: dict[str, Any]) -> BenchRow:
    """The row of :func:`_run_one` from a run's solution JSON (or a failed task's ``{"status": "error"}``)."""
    from vrpkit.evaluate import Violation

    base = dict(set=set_name, instance=inst.name, n=inst.n, solver=spec, seed=seed, time_limit=time_limit,
                bks=inst.bks, bks_vehicles=inst.bks_vehicles)
    status = data.get("status")
    stats = data.get("stats") or {}
    if status == "error":
        return BenchRow(**base, status="error", feasible=False, cost=None, distance=None, vehicles=None,
                        gap=None, runtime=0.0, error=str(data.get("error", "")))
    runtime = float(stats.get("runtime", 0.0))
    if status == "no_solution":
        return BenchRow(**base, status="no_solution", feasible=False, cost=None, distance=None, vehicles=None,
                        gap=None, runtime=runtime, error="; ".join(stats.get("reasons", [])))
    feasible = status == "feasible"
    value = data["distance"] if set_name == "solomon" else data["cost"]
    cost = math.inf if value is None else float(value)  # as Evaluation.cost of an infeasible plan
    violations = [Violation(v["constraint"], math.inf if v["amount"] is None else v["amount"], v.get("route"),
                            v.get("client"), v.get("vehicle_type")) for v in data.get("violations", [])[:3]]
    return BenchRow(
        **base, status=str(status), feasible=feasible, cost=cost, distance=data["distance"],
        vehicles=int(data["vehicles"]), gap=gap_percent(cost, inst.bks) if feasible and cost is not None else None,
        runtime=runtime, error="" if feasible else "; ".join(str(v) for v in violations),
    )


def _run_one(set_name: str, inst: _Instance, problem: Problem, spec: str, time_limit: float, seed: int,
             solve: Callable[..., Any]) -> BenchRow:
    base = dict(set=set_name, instance=inst.name, n=inst.n, solver=spec, seed=seed, time_limit=time_limit,
                bks=inst.bks, bks_vehicles=inst.bks_vehicles)
    try:
        result = solve(problem, spec, time_limit=time_limit, seed=seed)
    except VrpkitError as err:
        return BenchRow(**base, status="error", feasible=False, cost=None, distance=None, vehicles=None,
                        gap=None, runtime=0.0, error=str(err))
    runtime = float(result.stats.get("runtime", 0.0))
    evaluation = result.evaluation
    if evaluation is None:
        reasons = "; ".join(result.stats.get("reasons", []))
        return BenchRow(**base, status="no_solution", feasible=False, cost=None, distance=None, vehicles=None,
                        gap=None, runtime=runtime, error=reasons)
    cost = evaluation.distance if set_name == "solomon" else evaluation.cost
    feasible = evaluation.feasible
    return BenchRow(
        **base, status=evaluation.status, feasible=feasible, cost=cost, distance=evaluation.distance,
        vehicles=evaluation.n_vehicles, gap=gap_percent(cost, inst.bks) if feasible else None, runtime=runtime,
        error="" if feasible else "; ".join(str(v) for v in evaluation.violations[:3]),
    )


def _csv_row(row: BenchRow) -> dict[str, Any]:
    out = asdict(row)
    for key, value in out.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, float) and key in ("cost", "distance", "bks", "gap", "runtime"):
            out[key] = f"{value:.6f}".rstrip("0").rstrip(".")
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2) + 0.0:.2f}"


def _line(row: BenchRow) -> str:
    colour = {"feasible": "green", "infeasible": "red"}.get(row.status, "yellow")
    what = "distance" if row.set == "solomon" else "cost"
    parts = [f"{row.instance} {row.solver}", f"[{colour}]{row.status}[/]", f"{what} {_fmt(row.cost)}",
             f"bks {_fmt(row.bks)}"]
    if row.gap is not None:
        parts.append(f"gap {_gap(row.gap)}%")
    if row.vehicles is not None:
        bks_vehicles = "" if row.bks_vehicles is None else f" (bks {row.bks_vehicles})"
        parts.append(f"{row.vehicles} vehicles{bks_vehicles}")
    parts.append(f"{row.runtime:.2f}s")
    if row.error:
        parts.append(row.error)
    return "  ".join(parts)


# -- summary and table ---------------------------------------------------------------------------------------


def reference_gaps(rows: Sequence[BenchRow], reference: str) -> list[float | None]:
    """Each row's gap (%) to the ``reference`` solver's cost on the same instance: None for the reference's own
    rows, and where either plan is not feasible."""
    ref = {r.instance: r.cost for r in rows if r.solver == reference and r.feasible and r.cost}
    return [gap_percent(r.cost, ref[r.instance])
            if r.solver != reference and r.feasible and r.cost is not None and r.instance in ref else None
            for r in rows]


def summarize(rows: Sequence[BenchRow], reference: str | None = None) -> list[BenchSummary]:
    """One mean row per solver, in the order the solvers first appear (with the mean gap to ``reference``
    when given)."""
    out = []
    to_ref = reference_gaps(rows, reference) if reference else [None] * len(rows)
    for solver in dict.fromkeys(r.solver for r in rows):
        mine = [r for r in rows if r.solver == solver]
        gaps = [r.gap for r in mine if r.gap is not None]
        ref_gaps = [g for r, g in zip(rows, to_ref, strict=True) if r.solver == solver and g is not None]
        with_bks_vehicles = [r for r in mine if r.bks_vehicles is not None]
        matched = (sum(1 for r in with_bks_vehicles if r.feasible and r.vehicles is not None
                       and r.vehicles <= r.bks_vehicles)  # type: ignore[operator]
                   if with_bks_vehicles else None)
        out.append(BenchSummary(
            solver=solver,
            instances=len(mine),
            feasible=sum(r.feasible for r in mine),
            mean_gap=statistics.fmean(gaps) if gaps else None,
            mean_runtime=statistics.fmean(r.runtime for r in mine),
            bks_vehicles_matched=matched,
            mean_gap_to_reference=statistics.fmean(ref_gaps) if ref_gaps else None,
        ))
    return out


class BenchTable(Table):
    """A rich table that also prints as plain text with the built-in ``print``."""

    def __str__(self) -> str:
        buffer = io.StringIO()
        Console(file=buffer, width=160, color_system=None, legacy_windows=False).print(self)
        return buffer.getvalue().rstrip("\n")


def format_bench_table(rows: Sequence[BenchRow], reference: str | None = None) -> BenchTable:
    """The rows as a table, then one mean row per solver (mean gap, mean runtime, feasible count); with a
    ``reference`` solver, a column of gaps to its cost (:func:`reference_gaps`)."""
    solomon = any(r.bks_vehicles is not None for r in rows)
    title = "benchmark" if not rows else f"benchmark {rows[0].set}"
    table = BenchTable(title=f"{title} (reference: {reference})" if reference else title)
    columns = [("instance", "left"), ("n", "right"), ("solver", "left"), ("status", "left"),
               ("distance" if solomon else "cost", "right"), ("bks", "right"), ("gap %", "right")]
    if reference:
        columns.append(("gap ref %", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    if solomon:
        table.add_column("vehicles", justify="right")
        table.add_column("bks veh.", justify="right")
    else:
        table.add_column("vehicles", justify="right")
    table.add_column("time s", justify="right")
    to_ref = reference_gaps(rows, reference) if reference else None
    for k, r in enumerate(rows):
        cells = [r.instance, str(r.n), r.solver, r.status, _fmt(r.cost), _fmt(r.bks), _gap(r.gap)]
        if to_ref is not None:
            cells.append("ref" if r.solver == reference else _gap(to_ref[k]))
        cells.append("-" if r.vehicles is None else str(r.vehicles))
        if solomon:
            cells.append("-" if r.bks_vehicles is None else str(r.bks_vehicles))
        cells.append(f"{r.runtime:.2f}")
        table.add_row(*cells, end_section=k == len(rows) - 1)
    for s in summarize(rows, reference):
        cells = [f"mean ({s.feasible}/{s.instances} feasible)", "", s.solver, "", "", "", _gap(s.mean_gap)]
        if reference:
            cells.append("ref" if s.solver == reference else _gap(s.mean_gap_to_reference))
        cells.append("")
        if solomon:
            cells.append("" if s.bks_vehicles_matched is None else f"{s.bks_vehicles_matched} at bks")
        cells.append(f"{s.mean_runtime:.2f}")
        table.add_row(*cells, style="bold")
    return table


__all__ = [
    "CSV_COLUMNS",
    "SETS",
    "BenchRow",
    "BenchSummary",
    "BenchTable",
    "bench_problem",
    "find_instances",
    "format_bench_table",
    "gap_percent",
    "reference_gaps",
    "run_bench",
    "select_instances",
    "summarize",
    "vehicle_bound_cost",
]

