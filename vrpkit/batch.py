"""Many problems on a ``dask.distributed`` cluster: ``vrpkit batch`` (and ``vrpkit bench --workers``).

One dask task per problem. By default the cluster is a :class:`distributed.LocalCluster` of ``workers``
single-threaded process workers bound to 127.0.0.1 without a dashboard; with ``scheduler`` (``tcp://HOST:PORT``)
the batch runs on an existing cluster, whose workers need vrpkit installed and must see the problem files at the
same (absolute) paths: a task carries the file's path, never the problem itself; start them with one thread
each (``dask worker tcp://HOST:PORT --nthreads 1 --nworkers N``), since a worker runs as many solves at once as
it has threads. A worker reads the problem, runs :func:`vrpkit.solve` (the shared evaluator gives the cost)
with OR-Tools, torch and numba held to one thread, and returns the solution JSON
(:meth:`vrpkit.Result.to_dict`, with ``stats["batch"]`` naming the worker).

The driver (the process that calls :func:`run_batch`) reads every problem first, so a bad file or a problem the
solver does not support stops the batch before any work starts (the error names the file and the field): a
planner launching 1,000 files for the night learns it at once instead of in the morning. Failures during the
run do not stop it: a task that raises, or whose worker dies more often than the scheduler allows
(``distributed.scheduler.allowed-failures``, 3 by default: a lost worker's tasks are rerun elsewhere until
then), becomes a row with status ``error`` and no plan, and a rerun tries it again.

The driver writes each plan to ``OUTDIR/NAME.json`` (NAME: the file's stem) as soon as its task is done
(``as_completed``), atomically (a temporary file in OUTDIR, then :func:`os.replace`), and exactly once: a task
rerun after a worker died still completes once. A problem whose ``OUTDIR/NAME.json`` exists and reads as a
solution JSON is skipped, so a rerun resumes where the last one stopped. At the end ``OUTDIR/batch.csv`` lists
every problem (skipped ones included, read back from their JSON; :data:`CSV_COLUMNS`).

Seeds: every problem is solved with the same ``seed``, so ``vrpkit solve FILE --seed N`` with the same solver
and time limit solves it as the batch did, whatever else the batch holds. The time limit is per problem; the
batch has no overall limit.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

from vrpkit.errors import InputError, SolverError, ValidationError, VrpkitError

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
"""Set in every local worker process before it imports anything: one solve, one thread."""

DIST_HINT = "pip install 'vrpkit[dist]'"

_SCHEDULER = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d+)$|^(tcp|tls)://\[[0-9a-fA-F:]+\]:\d+$")

_UMASK = os.umask(0o022)
os.umask(_UMASK)

SOLUTION_STATUSES = ("feasible", "infeasible", "no_solution")
"""The statuses a solution JSON states (a file with another one is not a plan and is solved again)."""


# -- the engine ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One solve on the cluster: the problem file ``path`` (absolute), the solver spec, and how to read the file
    (``loader``: ``("read", round)`` is :func:`vrpkit.io.read_problem`, ``("bench", set, round)``
    :func:`vrpkit.bench.bench_problem`). ``name`` is unique within a run."""

    name: str
    path: str
    solver: str
    loader: tuple[str | None, ...] = ("read", None)


def require_dist() -> None:
    """Raise :class:`SolverError` naming the extra when dask.distributed is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SolverError(f"this needs dask.distributed: {DIST_HINT}") from None


def check_cluster(scheduler: str | None, workers: int | None) -> None:
    """Errors name ``scheduler`` or ``workers``: both given, a bad address, or not a positive worker count."""
    if scheduler is not None and workers is not None:
        raise ValidationError("scheduler", "give a scheduler or a number of workers, not both")
    if scheduler is not None and not _SCHEDULER.match(scheduler):
        raise ValidationError("scheduler", f'"{scheduler}" is not an address tcp://HOST:PORT')
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValidationError("workers", f"{workers!r} is not a positive number of workers")


def default_workers() -> int:
    """The CPUs this process may run on (its affinity), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def scheduler_client(scheduler: str) -> Any:
    """A :class:`distributed.Client` of the running scheduler at ``scheduler`` (``tcp://HOST:PORT``; 10 s to
    connect, else :class:`ValidationError` naming ``scheduler``); :class:`SolverError` naming the extra
    without dask.distributed."""
    require_dist()
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as err:
        raise ValidationError("scheduler", f"cannot connect to {scheduler} ({err})") from None


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A :class:`distributed.Client`: on the scheduler given, else on a new local cluster of ``workers``
    single-threaded process workers (default :func:`default_workers`) on 127.0.0.1 without a dashboard, closed
    on exit."""
    check_cluster(scheduler, workers)
    require_dist()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with scheduler_client(scheduler) as client:
            yield client
        return
    n = workers or default_workers()
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.CRITICAL, env=THREAD_ENV,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})  # its HTTP routes
    except RuntimeError as err:  # the nanny could not start a worker process
        raise SolverError(f"cannot start a local cluster of {n} workers ({err})") from None
    with cluster, Client(cluster) as client:
        yield client


def run_jobs(client: Any, jobs: Sequence[Job], *, time_limit: float, seed: int,
             on_done: Callable[[Job, dict[str, Any]], None]) -> None:
    """Submit one task per job and call ``on_done(job, data)`` in this process as each one finishes (in finish
    order, once per job): ``data`` is the solution JSON, or ``{"status": "error", "error": ...}`` when the task
    failed (a :class:`~vrpkit.VrpkitError` in the worker, another exception, or workers lost too often)."""
    from dask.base import tokenize
    from distributed import as_completed

    futures = {}
    for job in jobs:
        key = f"vrpkit-solve-{job.name}-{tokenize(job, float(time_limit), int(seed))}"
        futures[client.submit(solve_job, job, float(time_limit), int(seed), key=key, pure=False)] = job
    for future in as_completed(list(futures)):
        job = futures.pop(future)
        if future.status == "finished":
            data = future.result()
        else:
            data = _error_data(job, future.exception() if future.status == "error" else None)
        future.release()
        on_done(job, data)


def _error_data(job: Job, exc: BaseException | None) -> dict[str, Any]:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        message = "its worker died too often while solving it (KilledWorker)"
    elif exc is None:
        message = "cancelled"
    else:
        message = f"{type(exc).__name__}: {exc}"
    return {"status": "error", "error": " ".join(message.split()), "stats": {"batch": {"problem": job.path}}}


def solve_job(job: Job, time_limit: float, seed: int) -> dict[str, Any]:
    """The task (runs on a worker): read ``job.path``, solve, return the solution JSON (a
    :class:`~vrpkit.VrpkitError` becomes ``{"status": "error", "error": message}``)."""
    _limit_threads()
    import vrpkit

    started = time.perf_counter()
    try:
        problem = _load(job)
        data = vrpkit.solve(problem, job.solver, time_limit=time_limit, seed=seed).to_dict()
    except VrpkitError as err:
        data = {"status": "error", "error": " ".join(str(err).split()),
                "stats": {"runtime": round(time.perf_counter() - started, 4)}}
    data.setdefault("stats", {})["batch"] = {"worker": _worker_address(), "problem": job.path}
    return data


def _load(job: Job) -> Any:
    kind, *rest = job.loader
    if kind == "bench":
        from vrpkit.bench import bench_problem

        set_name, round = rest
        return bench_problem(str(set_name), Path(job.path), round=round)
    from vrpkit.io import read_problem

    return read_problem(job.path, round=rest[0] if rest else None)


def _limit_threads() -> None:
    """One thread for the libraries a solve may use (also on workers that were started elsewhere)."""
    for key, value in THREAD_ENV.items():
        os.environ.setdefault(key, value)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    if "numba" in sys.modules:
        with contextlib.suppress(ValueError):
            sys.modules["numba"].set_num_threads(1)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


# -- vrpkit batch --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """One problem of a batch. ``status``: ``feasible``, ``infeasible``, ``no_solution`` (as in its plan),
    ``error`` (no plan: ``error`` says why) or ``cancelled`` (the batch stopped first). ``skipped``: its plan was
    already in OUTDIR. ``runtime``: the solve's seconds; ``worker``: the address of the worker that solved it."""

    name: str
    problem: str
    status: str
    cost: float | None
    vehicles: int | None
    runtime: float | None
    worker: str
    skipped: bool
    error: str = ""


CSV_COLUMNS = tuple(f.name for f in fields(BatchRow))
"""The columns of ``OUTDIR/batch.csv``, in order."""


@dataclass(frozen=True)
class BatchReport:
    """What :func:`run_batch` did: ``rows`` in the order the problems were given."""

    rows: list[BatchRow]
    outdir: Path
    elapsed: float
    workers: int
    """Workers of the cluster when the batch started (0 when nothing was left to solve)."""

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.rows)

    @property
    def solved(self) -> int:
        return sum(not r.skipped and r.status in SOLUTION_STATUSES for r in self.rows)

    @property
    def failed(self) -> int:
        return sum(r.status in ("error", "cancelled") for r in self.rows)

    @property
    def feasible(self) -> int:
        return sum(r.status == "feasible" for r in self.rows)


def read_plan(path: Path) -> dict[str, Any] | None:
    """The solution JSON in ``path``, or None when there is none (missing, unreadable, or not a plan)."""
    from vrpkit.io.json import load_json

    if not path.is_file():
        return None
    try:
        data = load_json(path)
    except InputError:
        return None
    if not isinstance(data, dict) or data.get("status") not in SOLUTION_STATUSES \
            or not isinstance(data.get("routes"), list):
        return None
    return data


def _row(name: str, problem: str, data: dict[str, Any], *, skipped: bool) -> BatchRow:
    stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
    where = stats.get("batch") if isinstance(stats.get("batch"), dict) else {}
    cost = data.get("cost")
    runtime = stats.get("runtime")
    routes = data.get("routes")
    error = data.get("error", "")
    if data.get("status") == "no_solution":
        error = "; ".join(stats.get("reasons") or [])
    return BatchRow(
        name=name, problem=problem, status=str(data.get("status")),
        cost=float(cost) if isinstance(cost, int | float) else None,
        vehicles=len(routes) if isinstance(routes, list) and data.get("status") in ("feasible", "infeasible")
        else None,
        runtime=float(runtime) if isinstance(runtime, int | float) else None,
        worker=str(where.get("worker", "")), skipped=skipped, error=str(error),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and :func:`os.replace`, so that
    ``path`` is either absent or complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary file (mkstemp makes it private)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _names(problems: Sequence[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in problems:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a problem file")
        name = path.stem
        if name in out:
            raise ValidationError("problems", f'{out[name]} and {path} have the same name "{name}" (plans are '
                                              "written to OUTDIR/NAME.json)")
        out[name] = path
    return out


def _check_problem(path: Path, backend: Any, round: str | None) -> None:
    """Read ``path`` (then forget it: the worker reads it again) and check that the solver supports it."""
    from vrpkit.io import read_problem

    try:
        problem = read_problem(path, round=round)
    except InputError:
        raise
    except VrpkitError as err:
        raise VrpkitError(f"{path}: {err}") from None
    reason = backend.supports(problem)
    if reason:
        raise SolverError(f'{path}: solver "{backend.name}" does not support this problem: {reason}')


class _Bar:
    """The progress bar on stderr (tqdm): done/total, elapsed, feasible count and mean cost."""

    def __init__(self, total: int, stream: IO[str] | None) -> None:
        self.bar = None
        self.costs: list[float] = []
        self.feasible = 0
        if stream is not None and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=stream, unit="problem", desc="batch", dynamic_ncols=True)

    def update(self, row: BatchRow) -> None:
        if row.status == "feasible":
            self.feasible += 1
            if row.cost is not None:
                self.costs.append(row.cost)
        if self.bar is not None:
            mean = f"{statistics.fmean(self.costs):,.2f}" if self.costs else "-"
            self.bar.set_postfix_str(f"feasible {self.feasible}, mean cost {mean}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_batch(
    problems: Sequence[str | Path],
    solver: str,
    *,
    time_limit: float,
    outdir: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    seed: int = 0,
    round: str | None = None,
    progress: bool | IO[str] = False,
    on_write: Callable[[str, Path], None] | None = None,
) -> BatchReport:
    """Solve every problem file with ``solver`` (a spec such as ``"aco:ants=10"``), ``time_limit`` seconds and
    ``seed`` each, on a dask cluster (see the module), writing ``outdir/NAME.json`` per problem and
    ``outdir/batch.csv``.

    Checks everything before any work starts: the solver and its options, ``time_limit``, ``scheduler`` /
    ``workers`` (not both), the files (readable, supported by the solver, no two with the same stem). Problems
    whose plan is already in ``outdir`` are skipped. ``progress`` True shows a bar on stderr (or on the stream
    given) and a start line. ``on_write(name, path)`` is called in this process after each plan is written.
    """
    from vrpkit.io.vrplib import check_round
    from vrpkit.solvers import get_solver

    started = time.perf_counter()
    if not (isinstance(time_limit, int | float) and math.isfinite(time_limit) and time_limit > 0):
        raise ValidationError("time_limit", f"{time_limit} is not a positive number of seconds")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", f"expected a non-negative integer, got {seed!r}")
    check_round(round)
    check_cluster(scheduler, workers)
    require_dist()
    if not problems:
        raise InputError("no problem file given")
    backend = get_solver(solver)  # unknown solvers and bad options fail here
    names = _names([Path(p) for p in problems])
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a folder")
    done: dict[str, BatchRow] = {}
    for name, path in names.items():
        plan = read_plan(out / f"{name}.json")
        if plan is not None:
            done[name] = _row(name, str(path), plan, skipped=True)
    todo = [name for name in names if name not in done]
    for name in todo:
        _check_problem(names[name], backend, round)
    out.mkdir(parents=True, exist_ok=True)
    stream = (sys.stderr if progress is True else progress) or None
    jobs = [Job(name, str(names[name].resolve()), solver, ("read", round)) for name in todo]
    rows: dict[str, BatchRow] = dict(done)
    n_workers = 0
    bar = None
    try:
        if jobs:
            with connect(scheduler, workers) as client:
                n_workers = len(client.scheduler_info().get("workers", {}))
                if stream is not None:
                    where = f"a local cluster of {n_workers} workers" if scheduler is None else \
                        f"{scheduler} ({n_workers} workers{'; tasks wait for them' if not n_workers else ''})"
                    print(f"batch: {len(names)} problems, {len(done)} skipped (plans in {out}), {len(jobs)} to "
                          f"solve with {solver} on {where}, {time_limit:g} s each, seed {seed}",
                          file=stream, flush=True)
                bar = _Bar(len(jobs), stream)

                def finished(job: Job, data: dict[str, Any]) -> None:
                    if job.name in rows:  # never twice (as_completed yields each future once)
                        return
                    if data.get("status") in SOLUTION_STATUSES:
                        import json

                        target = out / f"{job.name}.json"
                        write_atomic(target, json.dumps(data, indent=2) + "\n")
                        if on_write is not None:
                            on_write(job.name, target)
                    row = _row(job.name, str(names[job.name]), data, skipped=False)
                    rows[job.name] = row
                    bar.update(row)  # type: ignore[union-attr]

                run_jobs(client, jobs, time_limit=time_limit, seed=seed, on_done=finished)
        elif stream is not None:
            print(f"batch: {len(names)} problems, all {len(done)} skipped (plans in {out})", file=stream,
                  flush=True)
    finally:
        if bar is not None:
            bar.close()
        ordered = [rows.get(name) or BatchRow(name, str(path), "cancelled", None, None, None, "", False)
                   for name, path in names.items()]
        _write_csv(out / "batch.csv", ordered)
    return BatchReport(ordered, out, time.perf_counter() - started, n_workers)


def _write_csv(path: Path, rows: Sequence[BatchRow]) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = asdict(row)
        writer.writerow({k: "" if v is None else f"{v:.6f}".rstrip("0").rstrip(".") if isinstance(v, float)
                         else v for k, v in values.items()})
    write_atomic(path, buffer.getvalue())


def format_batch_table(report: BatchReport) -> Any:
    """The rows as a table (name, status, cost, vehicles, runtime, worker), then a totals line."""
    from rich.table import Table

    from vrpkit.report import fmt

    table = Table(title=f"batch {report.outdir}")
    for name, justify in (("name", "left"), ("status", "left"), ("cost", "right"), ("vehicles", "right"),
                          ("time s", "right"), ("worker", "left"), ("note", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for k, r in enumerate(report.rows):
        note = "skipped (plan in OUTDIR)" if r.skipped else r.error
        table.add_row(r.name, r.status, fmt(r.cost), "-" if r.vehicles is None else str(r.vehicles),
                      "-" if r.runtime is None else f"{r.runtime:.2f}", r.worker or "-", note,
                      end_section=k == len(report.rows) - 1)
    costs = [r.cost for r in report.rows if r.status == "feasible" and r.cost is not None]
    mean = fmt(statistics.fmean(costs)) if costs else "-"
    table.add_row(f"{report.feasible}/{len(report.rows)} feasible", f"{report.failed} failed", mean, "", "",
                  f"{report.skipped} skipped", f"{report.elapsed:.1f} s", style="bold")
    return table


__all__ = [
    "CSV_COLUMNS",
    "BatchReport",
    "BatchRow",
    "Job",
    "check_cluster",
    "connect",
    "format_batch_table",
    "read_plan",
    "run_batch",
    "run_jobs",
    "solve_job",
    "write_atomic",
]
