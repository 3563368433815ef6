"""The ``vrpkit`` command: a thin layer over the Python API.

``vrpkit solve | evaluate | simulate | info | convert | schema | bench | batch | map | plot | explain | matrix |
generate | train``.
Exit codes: 0 success (a feasible plan; for map, plot, matrix and generate: the file was written), 2 bad input
(one line ``error: <message>`` on stderr, never a traceback; also road networks that cannot be prepared, started or
reached), 3 no feasible plan exists or none was found, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vrpkit.errors import InputError, NoSolutionError, SolverError, ValidationError, VrpkitError

EXIT_INPUT = 2
EXIT_INFEASIBLE = 3

PROBLEM_HELP = "Problem: our .json, or a VRPLIB or Solomon file (format read from the content, any suffix)."
ProblemArg = Annotated[Path, typer.Argument(metavar="PROBLEM", help=PROBLEM_HELP)]
SolutionArg = Annotated[
    Path, typer.Argument(metavar="SOLUTION", help="Solution JSON (full or short form) or .sol file.")
]
RoundOpt = Annotated[
    str | None,
    typer.Option("--round", metavar="RULE",
                 help="Distances of VRPLIB and Solomon files: none, nearest, dimacs (truncated to 0.1) or exact "
                      "(nearest 0.001); default by the file's TYPE (CVRP nearest, VRPTW dimacs, ...)."),
]

app = typer.Typer(
    name="vrpkit",
    help="Describe a vehicle routing problem once, solve it, check and explain the plan.",
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


# -- plumbing ------------------------------------------------------------------------------------------------


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    line = " ".join(str(message).split())
    print(f"error: {line}", file=sys.stderr, flush=True)
    raise typer.Exit(code)


def _os_message(err: OSError) -> str:
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


def _user_errors(fn: F) -> F:
    """Turn every error a user can cause into ``error: <message>`` and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VrpkitError as err:
            _fail(str(err))
        except OSError as err:
            _fail(_os_message(err))
        except KeyboardInterrupt:
            _fail("interrupted", code=130)

    return wrapper  # type: ignore[return-value]


def _console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr); 120 columns wide when the stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    width = None if tty or "COLUMNS" in os.environ else 120
    return Console(file=stream, width=width, highlight=tty)


def _in_file(path: Path, what: str) -> None:
    """Clean errors for paths that cannot be input files."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a {what}")


def _read_problem(path: Path, round: str | None = None) -> Any:
    """Read a problem file (``round``: the ``--round`` option); errors name the file."""
    from vrpkit.io import read_problem

    _check_round(round)
    _in_file(path, "problem file")
    try:
        with _vroom_warnings():
            return read_problem(path, round=round)
    except ValidationError as err:
        if err.field == "round":
            raise ValidationError("--round", err.reason) from None
        raise VrpkitError(f"{path}: {err}") from None


@contextlib.contextmanager
def _vroom_warnings() -> Any:
    """What a VROOM file maps inexactly (:class:`vrpkit.io.vroom.VroomWarning`): one ``warning:`` line each."""
    from vrpkit.io.vroom import VroomWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VroomWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, VroomWarning):
                    print(f"warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _write_json(data: Any, path: Path) -> None:
    from vrpkit.io.json import write_json

    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name")
    write_json(data, path)


def _check_round(round: str | None) -> None:
    from vrpkit.io.vrplib import check_round

    try:
        check_round(round)
    except ValidationError as err:
        raise ValidationError("--round", err.reason) from None


def _check_time_limit(time_limit: float) -> None:
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise ValidationError("--time-limit", f"{time_limit} is not a positive number of seconds")


def _version(value: bool) -> None:
    if value:
        from vrpkit import __version__

        print(f"vrpkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vrpkit: one model for the vehicle routing family, solvers behind one call, one evaluator.

    Exit codes: 0 success, 2 bad input, 3 no feasible plan.
    """


# -- solve -----------------------------------------------------------------------------------------------------


@app.command()
@_user_errors
def solve(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help=PROBLEM_HELP)
    ],
    solver: Annotated[
        str, typer.Option("--solver", "-s", metavar="SOLVER",
                          help='Solver name, with options: "ortools:metaheuristic=tabu_search".')
    ] = "ortools",
    time_limit: Annotated[float, typer.Option("--time-limit", "-t", metavar="SECONDS", help="Time limit.")] = 10.0,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the solution JSON here.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    round: RoundOpt = None,
    initial: Annotated[
        Path | None, typer.Option("--initial", metavar="PLAN",
                                  help="Start from this solution JSON (as solve -o writes it); the plan "
                                       "returned is never worse.")
    ] = None,
    lock_prefix: Annotated[
        int | None, typer.Option("--lock-prefix", metavar="N",
                                 help="Keep the first N stops of every route of --initial.")
    ] = None,
    lock_until: Annotated[
        float | None, typer.Option("--lock-until", metavar="TIME",
                                   help="Keep every stop of --initial whose service starts before TIME.")
    ] = None,
    robust: Annotated[
        bool, typer.Option("--robust", help="Plan against the --robust-quantile of the uncertainty block's travel "
                                            "times, service times and demands (vrpkit.robust); the stats and "
                                            "stderr show the simulated figures next to the deterministic plan's.")
    ] = False,
    robust_quantile: Annotated[
        float | None, typer.Option("--robust-quantile", metavar="Q",
                                   help="The quantile of --robust (default 0.9; implies --robust); "
                                        "--robust=Q says the same.")
    ] = None,
    decompose: Annotated[
        bool, typer.Option("--decompose", help="Solve in parts of about --part-size clients at once, then improve "
                                               "across their borders (vrpkit.solvers.decompose).")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", help="Processes for --decompose (default: the CPUs).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", metavar="tcp://HOST:PORT",
                                 help="Solve the parts of --decompose on this Dask scheduler's workers "
                                      "(extra dist).")
    ] = None,
    part_size: Annotated[
        int | None, typer.Option("--part-size", metavar="N",
                                 help="Clients per part of --decompose (default by solver: pyvrp 400, aco 300).")
    ] = None,
) -> None:
    """Solve a problem: progress on stderr, the plan as a table on stdout, the solution JSON with -o.

    Exit code 0 when the plan is feasible, 3 when no feasible plan exists or none was found.
    """
    import vrpkit
    from vrpkit.report import evaluation_report, show

    _check_time_limit(time_limit)
    for option, value in (("--lock-prefix", lock_prefix), ("--lock-until", lock_until)):
        if value is not None and initial is None:
            raise ValidationError(option, "needs --initial (the plan whose stops are locked)")
    if lock_prefix is not None and lock_until is not None:
        raise ValidationError("--lock-prefix", "give --lock-prefix or --lock-until, not both")
    if lock_prefix is not None and lock_prefix < 0:
        raise ValidationError("--lock-prefix", f"{lock_prefix} is not a number of stops (0 or more)")
    if lock_until is not None and not math.isfinite(lock_until):
        raise ValidationError("--lock-until", f"{lock_until} is not a time")
    parts: dict[str, Any] = {}
    if decompose:
        from vrpkit.solvers.decompose import check_options

        try:
            check_options(workers, scheduler, part_size)
        except ValidationError as err:
            raise ValidationError(f"--{err.field.replace('_', '-')}", err.reason) from None
        if lock_prefix is not None or lock_until is not None:
            raise ValidationError("--decompose", "does not take locked stops (--lock-prefix, --lock-until)")
        parts = {"decompose": True, "workers": workers, "scheduler": scheduler, "part_size": part_size}
    else:
        for option, value in (("--workers", workers), ("--scheduler", scheduler), ("--part-size", part_size)):
            if value is not None:
                raise ValidationError(option, "needs --decompose")
    quantile = None
    if robust or robust_quantile is not None:
        from vrpkit.robust import DEFAULT_QUANTILE, check_quantile

        quantile = check_quantile(DEFAULT_QUANTILE if robust_quantile is None else robust_quantile,
                                  "--robust-quantile")
    problem = _read_problem(file, round)
    if quantile is not None:
        from vrpkit.robust import check_random

        check_random(problem, "--robust")
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory; give a file name")
    start, locked = None, None
    if initial is not None:
        from vrpkit.solvers.locks import check_plan
        from vrpkit.solvers.locks import lock_prefix as prefix_of
        from vrpkit.solvers.locks import lock_until as until

        try:
            start = check_plan(problem, read_solution(initial), "initial")
        except ValidationError as err:
            raise VrpkitError(f"{initial}: {err}") from None
        if lock_prefix is not None:
            locked = prefix_of(start, lock_prefix)
        elif lock_until is not None:
            locked = until(problem, start, lock_until)
    backend = vrpkit.get_solver(solver)  # unknown solvers and bad options fail here, before any output
    reason = backend.supports(problem)
    if reason:
        raise SolverError(f'solver "{backend.name}" does not support this problem: {reason}')
    if not quiet:
        how = " in parts (--decompose)" if decompose else ""
        print(f"solving {problem.name} ({problem.variant}, {problem.n_clients} clients) with {solver}{how}, "
              f"time limit {time_limit:g} s, seed {seed}", file=sys.stderr, flush=True)
    result = vrpkit.solve(problem, solver, time_limit=time_limit, seed=seed, progress=not quiet, initial=start,
                          locked=locked, robust=quantile, **parts)
    if output is not None:
        _write_json(result.to_dict(), output)
    if quantile is not None:
        report = result.stats["robust"]
        for label in ("robust", "deterministic"):
            r = report[label]
            if r is None:
                print(f"{label}: no plan", file=sys.stderr)
                continue
            sim = r["simulated"]
            name = f"robust (q {quantile:g})" if label == "robust" else label
            print(f"{name}: cost {r['cost']}, simulated over {report['scenarios']} scenarios: "
                  f"expected {sim['expected_cost']}, p90 {sim['cost_quantiles']['p90']}, on time "
                  f"{sim['on_time_rate']}, violations {sim['violation_rate']}, feasible {sim['feasible_rate']}",
                  file=sys.stderr)
    show(evaluation_report(problem, result.evaluation, stats=result.stats), _console())
    if output is not None and not quiet:
        print(f"wrote {output}", file=sys.stderr)
    if not result.feasible:
        if result.evaluation is None:
            why = "; ".join(result.stats.get("reasons") or []) or "the solver returned no plan"
            print(f"no feasible plan found: {why}", file=sys.stderr)
        else:
            n = len(result.evaluation.violations)
            print(f"no feasible plan found: the best plan breaks {n} constraint{'s' * (n != 1)}",
                  file=sys.stderr)
        raise typer.Exit(EXIT_INFEASIBLE)


# -- evaluate --------------------------------------------------------------------------------------------------


def read_solution(path: Path) -> dict[str, Any]:
    """Read a solution JSON (full form as written by ``solve -o``, or the short form of route id lists)."""
    from vrpkit.io.json import load_json

    _in_file(path, "solution file")
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: a solution is a JSON object with \"routes\", got {_json_type(data)}")
    if "routes" not in data:
        raise InputError(f"{path}: routes: required field is missing")
    return data


def evaluate_file(problem: Any, path: Path) -> Any:
    """Evaluate the plan in ``path`` (solution JSON or ``.sol``) on ``problem``; errors name the file."""
    return _evaluate_plan(problem, path)[0]


def _evaluate_plan(problem: Any, path: Path) -> tuple[Any, Any]:
    """The evaluation of the plan in ``path`` and the cost the file states (a ``.sol`` ``Cost`` line, or None)."""
    import vrpkit

    stated = None
    if path.suffix.lower() == ".sol":
        from vrpkit.io.vrplib import read_sol

        _in_file(path, "solution file")
        plan: Any = read_sol(path, problem)
        stated = plan.stats.get("cost")
    else:
        from vrpkit.io.vroom import is_vroom_output, plan_from_vroom

        plan = read_solution(path)
        if is_vroom_output(plan):
            try:
                plan = plan_from_vroom(problem, plan)
            except ValidationError as err:
                raise VrpkitError(f"{path}: {err}") from None
    try:
        return vrpkit.evaluate(problem, plan), stated
    except ValidationError as err:
        raise VrpkitError(f"{path}: {err}") from None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
             type(None): "null", dict: "an object"}
    return names.get(type(value), type(value).__name__)


@app.command()
@_user_errors
def evaluate(
    problem_file: ProblemArg,
    solution_file: SolutionArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the evaluated plan here.")
    ] = None,
    round: RoundOpt = None,
) -> None:
    """Check and cost a plan: the same table as solve. Exit code 0 feasible, 3 infeasible.

    SOLUTION is the solution JSON (full form as written by solve -o, or the short form
    {"routes": [{"vehicle_type": "v1", "stops": ["c1", "c7"]}]}) or a CVRPLIB .sol file. The Cost line of a
    .sol is compared, on stderr, with the evaluator's cost in the units of the problem's .sol files.
    """
    from vrpkit.io.vrplib import format_sol_cost, sol_convention, sol_cost_matches
    from vrpkit.report import evaluation_report, show

    problem = _read_problem(problem_file, round)
    evaluation, stated = _evaluate_plan(problem, solution_file)
    if output is not None:
        _write_json(evaluation.to_dict(problem), output)
    show(evaluation_report(problem, evaluation), _console())
    if isinstance(stated, int | float) and not isinstance(stated, bool):
        rule, scale = sol_convention(problem_file, stated)
        match = "matches" if sol_cost_matches(stated, evaluation.cost, scale) else "does not match"
        if match != "matches" and rule is not None and rule != round:
            match += f" (this file's cost is under --round {rule})"
        units = "" if scale == 1 else f" x {scale:g}"
        print(f"{solution_file.name} states cost {stated}; the evaluator's cost{units} is "
              f"{format_sol_cost(evaluation.cost * scale)}: {match}", file=sys.stderr)
    if not evaluation.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


# -- simulate --------------------------------------------------------------------------------------------------


@app.command()
@_user_errors
def simulate(
    problem_file: ProblemArg,
    solution_file: SolutionArg,
    scenarios: Annotated[int, typer.Option("--scenarios", "-n", metavar="N", help="Scenarios to draw.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Random seed (plans compared with one seed "
                                                                  "see the same scenarios).")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the report JSON here.")
    ] = None,
    plot_file: Annotated[
        Path | None, typer.Option("--plot", metavar="FILE", help="Draw the cost distribution and the riskiest "
                                                                 "stops (.png, .svg or .pdf).")
    ] = None,
    round: RoundOpt = None,
) -> None:
    """Drive a plan through random scenarios of the problem's "uncertainty" block (travel-time profile and
    noise, accidents, demands with their recourse, service times) by the evaluator's rules, and report the
    expected cost, its quantiles and spread, the on-time, violation and feasible rates, and each stop's
    late probability (see vrpkit.stochastic). A plan of `vrpkit solve --robust` leaves at the departures it
    was planned with (its stats.robust.robust.starts), as in its stats. Exit code 0 when the report is made,
    whatever the plan's risk.
    """
    from vrpkit.report import show
    from vrpkit.stochastic import simulate as run
    from vrpkit.stochastic import simulation_report

    if plot_file is not None:
        _out_file(plot_file, (".png", ".svg", ".pdf"), "figures")
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory; give a file name")
    problem = _read_problem(problem_file, round)
    evaluation = evaluate_file(problem, solution_file)
    starts = _robust_starts(solution_file, len(evaluation.routes))
    if starts is not None:
        print("note: a robust plan: its routes leave at their planned departures (stats.robust.robust.starts)",
              file=sys.stderr)
    try:
        result = run(problem, evaluation, scenarios=scenarios, seed=seed, starts=starts)
    except ValidationError as err:
        name = {"scenarios": "--scenarios", "seed": "--seed"}.get(err.field, err.field)
        raise ValidationError(name, err.reason) from None
    if problem.uncertainty is None:
        print(f"note: {problem_file.name} has no uncertainty block: every scenario is the evaluator's schedule",
              file=sys.stderr)
    show(simulation_report(result, problem), _console())
    if output is not None:
        _write_json(result.to_dict(), output)
        print(f"wrote {output}", file=sys.stderr)
    if plot_file is not None:
        from vrpkit import plot as plots

        plots.save_figure(plots.plot_risk(result), plot_file)
        print(f"wrote {plot_file}", file=sys.stderr)


def _robust_starts(path: Path, n_routes: int) -> list[float] | None:
    """The planned departures of a solution JSON written by ``solve --robust`` (one per route), else None."""
    try:
        report = json.loads(path.read_text())["stats"]["robust"]
        starts = report["robust"]["starts"] if report["returned"] == "robust" else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(starts, list) or len(starts) != n_routes:
        return None
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in starts):
        return None
    return [float(t) for t in starts]


# -- info, schema, convert -------------------------------------------------------------------------------------


@app.command()
@_user_errors
def info(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=PROBLEM_HELP)],
    round: RoundOpt = None,
) -> None:
    """Describe a problem: name, variant, attributes, sizes, fleet, matrices."""
    from vrpkit.report import problem_info, show

    show(problem_info(_read_problem(file, round)), _console())


@app.command()
@_user_errors
def schema() -> None:
    """Print the JSON Schema of the problem format."""
    from vrpkit.io.json import problem_schema

    print(json.dumps(problem_schema(), indent=2))


@app.command()
@_user_errors
def convert(
    source: Annotated[
        Path, typer.Argument(metavar="IN", help="Problem (.json, VRPLIB, Solomon) or solution (.json, .sol).")
    ],
    target: Annotated[
        Path, typer.Argument(metavar="OUT", help="Problem .json or .vrp, or solution .json or .sol.")
    ],
    problem_file: Annotated[
        Path | None, typer.Option("--problem", "-p", metavar="FILE", help="The problem a solution belongs to.")
    ] = None,
    inline_matrices: Annotated[
        bool, typer.Option("--inline-matrices", help="Write the distance/duration matrices into the JSON.")
    ] = False,
    round: RoundOpt = None,
    to: Annotated[
        str, typer.Option("--to", metavar="FORMAT",
                          help="vrpkit (default) or vroom: VROOM's input JSON (from a problem) or output JSON "
                               "(from a solution, with --problem).")
    ] = "vrpkit",
) -> None:
    """Convert between formats.

    Problems: VRPLIB, Solomon, .json or VROOM's input .json -> .json (normalised: defaults left out), or with
    --to vroom VROOM's input, or .vrp (VRPLIB in PyVRP's dialect, explicit distances). Solutions (need
    --problem): solution .json, VROOM's output .json or .sol -> .json
    (evaluated, full form; with --to vroom VROOM's output) or .sol (cost in the units of the problem's .sol
    files: x1000 for MDVRPTW, x10 for PCVRPTW, else x1).
    """
    in_suffix = source.suffix.lower()
    out_suffix = target.suffix.lower()
    if to not in ("vrpkit", "vroom"):
        raise ValidationError("--to", f"{to!r} is not vrpkit or vroom")
    if to == "vroom" and out_suffix != ".json":
        raise ValidationError("--to", f"vroom writes JSON: name the output .json, not {target.name}")
    if out_suffix not in (".json", ".sol", ".vrp"):
        raise InputError(f"{target}: cannot write {out_suffix or '(no extension)'!r}; vrpkit writes problems "
                         "as .json or .vrp and solutions as .json or .sol")
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give a file name")
    _check_round(round)
    if in_suffix == ".sol" or (in_suffix == ".json" and _is_solution(source)):
        if out_suffix == ".vrp":
            raise InputError(f"{source} is a solution, and a .vrp file holds a problem; write a solution as .json "
                             "or .sol")
        _convert_solution(source, target, problem_file, round, to)
        return
    if out_suffix == ".sol":
        raise InputError(f"{source} is a problem, and a .sol file holds a solution; convert a solution with "
                         "--problem PROBLEM")
    problem = _read_problem(source, round)
    if out_suffix == ".vrp":
        from vrpkit.io.vrplib import write_vrplib

        write_vrplib(target, problem)
        print(f"wrote {target} (VRPLIB, {problem.variant}, {problem.n_clients} clients)", file=sys.stderr)
        return
    if to == "vroom":
        from vrpkit.io.vroom import problem_to_vroom

        with _vroom_warnings():
            _write_json(problem_to_vroom(problem), target)
        print(f"wrote {target} (VROOM input, {problem.n_clients} tasks)", file=sys.stderr)
        return
    data = problem.to_dict(inline_matrices=inline_matrices)
    _relocate_matrix_file(data, problem, target)
    _write_json(data, target)
    print(f"wrote {target} ({problem.variant}, {problem.n_clients} clients)", file=sys.stderr)


def _is_solution(path: Path) -> bool:
    from vrpkit.io.json import load_json

    _in_file(path, "file")
    data = load_json(path)
    return isinstance(data, dict) and "routes" in data and "clients" not in data


def _relocate_matrix_file(data: dict[str, Any], problem: Any, target: Path) -> None:
    """Keep a relative ``matrix.file`` pointing at the same file from the output's folder."""
    spec = data.get("matrix") or {}
    file = spec.get("file")
    if not file or Path(file).is_absolute() or problem.base_dir is None:
        return
    real = (Path(problem.base_dir) / file).resolve()
    spec["file"] = os.path.relpath(real, target.resolve().parent)


def _convert_solution(source: Path, target: Path, problem_file: Path | None, round: str | None,
                      to: str = "vrpkit") -> None:
    """A solution to .json (evaluated) or .sol, with the cost in the units of the source .sol (else of the
    problem file's .sol files; see :func:`vrpkit.io.vrplib.sol_convention`)."""
    if problem_file is None:
        raise InputError(f"{source} is a solution; give its problem with --problem PROBLEM")
    problem = _read_problem(problem_file, round)
    evaluation, stated = _evaluate_plan(problem, source)
    unknown = [v for v in evaluation.violations if v.constraint in ("unknown_id", "unknown_vehicle_type")]
    if unknown:
        raise InputError(f"{source}: {unknown[0]}; is {problem_file} its problem?")
    if to == "vroom":
        from vrpkit.io.vroom import plan_to_vroom

        stats = read_solution(source).get("stats") if source.suffix.lower() == ".json" else None
        runtime = stats.get("runtime") if isinstance(stats, dict) else None
        ms = int(runtime * 1000 + 0.5) if isinstance(runtime, int | float) and math.isfinite(runtime) else 0
        _write_json(plan_to_vroom(problem, evaluation, solving_ms=ms), target)
    elif target.suffix.lower() == ".json":
        _write_json(evaluation.to_dict(problem), target)
    else:
        from vrpkit.io.vrplib import sol_convention, write_sol

        rule, scale = sol_convention(problem_file, stated)
        if rule is not None and round is None:  # the source states its cost under another rounding
            problem = _read_problem(problem_file, rule)
            evaluation = evaluate_file(problem, source)
        write_sol(target, problem, evaluation, cost_scale=scale)
    print(f"wrote {target} ({len(evaluation.routes)} routes, cost {evaluation.cost:g})", file=sys.stderr)


# -- bench -----------------------------------------------------------------------------------------------------


@app.command()
@_user_errors
def bench(
    set_name: Annotated[str, typer.Option("--set", metavar="NAME", help="Benchmark set: cvrplib-x or solomon.")],
    solvers: Annotated[
        list[str] | None, typer.Option("--solver", "-s", metavar="SOLVER",
                                       help="Solver (repeat to compare side by side).")
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", "-t", metavar="SECONDS", help="Per instance and solver.")
    ] = 10.0,
    data: Annotated[
        Path | None, typer.Option("--data", metavar="DIR", help="Data folder (default ../shared/data).")
    ] = None,
    max_n: Annotated[
        int | None, typer.Option("--max-n", metavar="N", help="Only instances with at most N clients.")
    ] = None,
    smallest: Annotated[
        int | None, typer.Option("--smallest", metavar="K", help="Only the K smallest instances.")
    ] = None,
    instances: Annotated[
        list[str] | None, typer.Option("--instance", "-i", metavar="NAME",
                                       help="Only these instances (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")] = 0,
    csv: Annotated[Path | None, typer.Option("--csv", metavar="FILE", help="Also write the rows as CSV.")] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", metavar="SOLVER",
                     help="Also show each solver's gap to this solver (e.g. pyvrp; added if not a --solver)."),
    ] = None,
    round: RoundOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Run solvers on a benchmark set: cost, gap to the best known solution and time per instance.

    With --workers or --scheduler the runs are tasks on a dask cluster, as in vrpkit batch.
    """
    from vrpkit import bench as bench_module
    from vrpkit.report import show

    _check_time_limit(time_limit)
    _check_round(round)
    if data is None:
        data = Path("..") / "shared" / "data"
        if not data.is_dir():
            raise InputError(f"--data: no data folder given and {data} does not exist")
    elif not data.is_dir():
        raise InputError(f"--data: {data} is not a folder")
    for name, value in (("--max-n", max_n), ("--smallest", smallest)):
        if value is not None and value < 1:
            raise ValidationError(name, f"{value} < 1")
    specs = list(solvers or ["ortools"])
    if reference is not None and reference not in specs:
        specs.append(reference)
    _check_cluster_options(scheduler, workers)
    rows = bench_module.run_bench(
        set_name, data, specs, time_limit=time_limit, seed=seed, max_n=max_n,
        smallest=smallest, instances=instances or None, csv_path=csv, progress=True,
        console=_console(stderr=True), round=round, workers=workers, scheduler=scheduler,
    )
    show(bench_module.format_bench_table(rows, reference), _console())
    if csv is not None:
        print(f"wrote {csv}", file=sys.stderr)


# -- batch ---------------------------------------------------------------------------------------------------

WorkersOpt = Annotated[
    int | None, typer.Option("--workers", "-w", metavar="N",
                             help="Solve on a local dask cluster of N single-threaded worker processes "
                                  "(vrpkit batch's default: the CPUs).")
]
SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", metavar="tcp://HOST:PORT",
                             help="Solve on this dask scheduler's workers (they need vrpkit and the same "
                                  "file paths); not with --workers.")
]


def _check_cluster_options(scheduler: str | None, workers: int | None, *, needed: str = "") -> None:
    """--scheduler and --workers errors name the option; a missing dask names the extra."""
    from vrpkit.batch import DIST_HINT, check_cluster

    try:
        check_cluster(scheduler, workers)
    except ValidationError as err:
        option = "--scheduler" if err.field == "scheduler" else "--workers"
        reason = "give --scheduler or --workers, not both" if "not both" in err.reason else err.reason
        raise ValidationError(option, reason) from None
    if needed or scheduler is not None or workers is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            what = needed or "--scheduler and --workers"
            raise SolverError(f"{what} needs dask.distributed: {DIST_HINT}") from None


@app.command()
@_user_errors
def batch(
    problems: Annotated[
        list[Path], typer.Argument(metavar="PROBLEM", help="Problem files (as for solve); plans are named "
                                                           "after each file's stem.", show_default=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="OUTDIR",
                           help="Folder of the plans (NAME.json) and batch.csv; plans already there are "
                                "skipped.")
    ],
    solver: Annotated[
        str, typer.Option("--solver", "-s", metavar="SOLVER",
                          help='Solver name, with options: "aco:ants=10".')
    ] = "ortools",
    time_limit: Annotated[
        float, typer.Option("--time-limit", "-t", metavar="SECONDS", help="Time limit per problem.")
    ] = 10.0,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Random seed (the same for every problem).")
    ] = 0,
    round: RoundOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")] = False,
) -> None:
    """Solve many problems on a dask cluster (vrpkit.batch): one task per problem, each plan written to
    OUTDIR/NAME.json as soon as it is done, a rerun skips what is done; a table and OUTDIR/batch.csv at the end.

    Every file is read first: a bad one stops the batch before any work (exit 2). Exit code 0 when every
    problem has a feasible plan, 3 when one or more have none (see the table).
    """
    from vrpkit.batch import format_batch_table, run_batch
    from vrpkit.report import show

    _check_time_limit(time_limit)
    _check_round(round)
    if seed < 0:
        raise ValidationError("--seed", f"{seed} is not a non-negative integer")
    _check_cluster_options(scheduler, workers, needed="vrpkit batch")
    try:
        report = run_batch(problems, solver, time_limit=time_limit, outdir=output, scheduler=scheduler,
                           workers=workers, seed=seed, round=round, progress=not quiet)
    except ValidationError as err:
        if err.field == "scheduler":
            raise ValidationError("--scheduler", err.reason) from None
        raise
    show(format_batch_table(report), _console())
    if not quiet:
        print(f"wrote {report.solved} plans to {output} ({report.skipped} skipped, {report.failed} failed) and "
              f"{output / 'batch.csv'}", file=sys.stderr)
    if report.feasible < len(report.rows):
        print(f"{len(report.rows) - report.feasible} of {len(report.rows)} problems have no feasible plan",
              file=sys.stderr)
        raise typer.Exit(EXIT_INFEASIBLE)


# -- pictures ------------------------------------------------------------------------------------------------

PATH_OPTIONS = ("pbf", "file", "cache_dir", "osrm_bin")
"""Options of a provider spec that are paths: given on the command line, they are read from the working folder."""


def parse_spec(text: str, option: str) -> dict[str, Any]:
    """A matrix provider or road source given on the command line: ``osrm:pbf=city.osm.pbf,profile=car``,
    ``osrm:url=http://127.0.0.1:5000``, ``osm:file=city.osm.pbf``, or a JSON object ``{"provider": ...}``.
    Values are numbers, booleans or strings; relative paths are made absolute from the working folder."""
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = json.loads(text)
        except ValueError as err:
            raise ValidationError(option, f"not a JSON object: {err}") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("provider"), str):
            raise ValidationError(option, 'a JSON spec is an object with a "provider" name')
    else:
        name, _, rest = text.partition(":")
        if not name.strip():
            raise ValidationError(option, f"{text!r} names no provider")
        spec = {"provider": name.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValidationError(option, f'"{item}" is not key=value')
            spec[key.strip()] = _spec_value(value.strip())
    for key in PATH_OPTIONS:
        if isinstance(spec.get(key), str):
            spec[key] = str(Path(spec[key]).expanduser().absolute())
    profile = spec.get("profile")
    if isinstance(profile, str) and profile.endswith(".lua"):
        spec["profile"] = str(Path(profile).expanduser().absolute())
    return spec


def _spec_value(value: str) -> Any:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, bool | int | float) else value


def _roads(problem: Any, roads: str | None) -> Any:
    """The ``roads`` argument of the picture functions for ``--roads`` (None: the problem's own provider)."""
    if roads is None:
        return None
    if roads.strip().lower() in ("straight", "none"):
        return False
    from vrpkit.maps import roads_spec

    spec = parse_spec(roads, "--roads")
    roads_spec(problem, spec)  # checked before any drawing
    return spec


def _geometry_note(problem: Any, roads: Any) -> str:
    from vrpkit.maps import roads_spec

    spec = roads_spec(problem, roads)
    if spec is None:
        return "straight lines"
    source = spec.get("pbf") or spec.get("url") or spec.get("file")
    return f"streets from {spec['provider']} ({Path(str(source)).name if spec.get('url') is None else source})"


def _out_file(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name")
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: {what} are written as {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such folder")


ROADS_HELP = ('Street geometry: "osrm:pbf=FILE", "osrm:url=URL", "osm:file=FILE" or "straight" (default: the '
              "problem's own road provider, else straight lines).")


@app.command(name="map")
@_user_errors
def map_(
    problem_file: ProblemArg,
    solution_file: SolutionArg,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The map page (.html).")],
    roads: Annotated[str | None, typer.Option("--roads", metavar="SPEC", help=ROADS_HELP)] = None,
    tiles: Annotated[
        str, typer.Option("--tiles", metavar="NAME", help='Background tiles (a folium name or URL; "none").')
    ] = "OpenStreetMap",
    round: RoundOpt = None,
) -> None:
    """Draw a plan on an interactive map (HTML): a colour and a layer per route, numbered stops with popups,
    depots, clients not visited, a legend. Leaflet is embedded: the page needs no network but for the tiles.

    Lon/lat problems are drawn on map tiles, routes along the streets when a road source is known; planar
    problems on a plain plane without tiles.
    """
    from vrpkit.maps import route_map, save_map

    _out_file(output, (".html", ".htm"), "maps")
    problem = _read_problem(problem_file, round)
    evaluation = evaluate_file(problem, solution_file)
    road_spec = _roads(problem, roads)
    fmap = route_map(problem, evaluation, roads=road_spec, tiles=None if tiles.lower() == "none" else tiles)
    save_map(fmap, output)
    print(f"wrote {output} ({len(evaluation.routes)} routes, {_geometry_note(problem, road_spec)})",
          file=sys.stderr)


@app.command()
@_user_errors
def territories(
    problem_file: ProblemArg,
    k: Annotated[int | None, typer.Option("-k", "--k", metavar="K",
                                          help="Number of territories (default: the fewest that fit).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write the territories (.json).")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", metavar="FILE", help="Draw them on a map (.html).")
                        ] = None,
    method: Annotated[str, typer.Option("--method", metavar="METHOD",
                                        help="balanced (capacity-constrained k-means) or binary (recursive "
                                             "2-means, the baseline).")] = "balanced",
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the clustering.")] = 0,
    round: RoundOpt = None,
) -> None:
    """Split a problem into service territories: compact groups of clients whose load fits a vehicle's
    capacity and whose estimated route fits its shift. Prints a table and the totals; time windows are
    ignored by the grouping (the estimate waits for them)."""
    import time

    from rich.table import Table

    from vrpkit.territories import METHODS, build_territories

    if method not in METHODS:
        raise ValidationError("--method", f'"{method}" is not one of {", ".join(METHODS)}')
    if k is not None and k < 1:
        raise ValidationError("-k", f"{k} is not a positive number of territories")
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory; give a file name")
    if map_file is not None:
        _out_file(map_file, (".html", ".htm"), "maps")
    problem = _read_problem(problem_file, round)
    start = time.perf_counter()
    try:
        result = build_territories(problem, k, method=method, seed=seed)  # type: ignore[arg-type]
    except ValidationError as err:
        if err.field == "k":
            raise ValidationError("-k", err.reason) from None
        raise
    except NoSolutionError as err:
        _fail(str(err), EXIT_INFEASIBLE)
    elapsed = time.perf_counter() - start
    units = _bound_text
    table = Table(title=f"{problem.name}: {result.k} territories ({method}, seed {seed})")
    for name in ("territory", "depot", "vehicle type", "clients", "load %", "est. duration", "shift",
                 "spread", "tour/trips"):
        table.add_column(name, justify="left" if name in ("depot", "vehicle type") else "right")
    for t in result.territories:
        table.add_row(str(t.id), t.depot, t.vehicle_type, str(len(t.clients)), f"{100 * t.load_share:.0f}",
                      units(t.duration), units(t.duration_limit), units(t.spread), f"{t.tour_ratio:.2f}",
                      style=None if t.fits else "bold red")
    totals = result.totals()
    console = _console()
    console.print(table)
    share = 100 * totals["mean_load_share"]
    console.print(f"total: {totals['territories']} territories (lower bound {totals['lower_bound']}), "
                  f"{totals['fit']} fit, {totals['clients']} clients, mean load {share:.0f}%, "
                  f"est. duration {units(totals['duration'])}, mean spread {units(totals['mean_spread'])}, "
                  f"mean tour/trips {totals['mean_tour_ratio']:.2f} ({elapsed:.1f} s)")
    if output is not None:
        _write_json(result.to_dict(), output)
        print(f"wrote {output}", file=sys.stderr)
    if map_file is not None:
        from vrpkit.maps import save_map, territory_map

        save_map(territory_map(problem, result), map_file)
        print(f"wrote {map_file} ({result.k} territories)", file=sys.stderr)


def _bound_text(x: float) -> str:
    """A number of the territory table: '-' for no bound."""
    from vrpkit.report import fmt

    return fmt(x) if math.isfinite(x) else "-"


PLOT_KINDS = ("routes", "schedule", "convergence")


@app.command()
@_user_errors
def plot(
    problem_file: ProblemArg,
    solution_file: SolutionArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="The figure (.png, .svg or .pdf).")
    ],
    kind: Annotated[
        str, typer.Option("--kind", "-k", metavar="KIND", help="routes, schedule or convergence.")
    ] = "routes",
    roads: Annotated[str | None, typer.Option("--roads", metavar="SPEC", help=ROADS_HELP)] = None,
    streets: Annotated[
        bool | None, typer.Option("--streets/--no-streets",
                                  help="Streets of the road source's local file behind the routes "
                                       "(default: when there is one).")
    ] = None,
    dpi: Annotated[int, typer.Option("--dpi", metavar="N", help="Resolution of .png figures.")] = 150,
    round: RoundOpt = None,
) -> None:
    """Draw a plan as a static figure: its routes (on the streets where known), each vehicle's schedule as
    a Gantt chart (--kind schedule), or the solver run's best objective over time (--kind convergence, from
    the stats.progress that solve -o writes)."""
    from vrpkit import plot as plots

    if kind not in PLOT_KINDS:
        raise ValidationError("--kind", f'"{kind}" is not one of {", ".join(PLOT_KINDS)}')
    if dpi < 1:
        raise ValidationError("--dpi", f"{dpi} < 1")
    _out_file(output, (".png", ".svg", ".pdf"), "figures")
    if kind == "convergence":
        _in_file(problem_file, "problem file")
        fig = plots.plot_convergence(read_solution(solution_file))
        note = "best objective over time"
    else:
        problem = _read_problem(problem_file, round)
        evaluation = evaluate_file(problem, solution_file)
        if kind == "routes":
            road_spec = _roads(problem, roads)
            fig = plots.plot_routes(problem, evaluation, roads=road_spec, streets=streets)
            note = f"{len(evaluation.routes)} routes, {_geometry_note(problem, road_spec)}"
        else:
            fig = plots.plot_schedule(problem, evaluation)
            note = f"schedule of {len(evaluation.routes)} routes"
    plots.save_figure(fig, output, dpi=dpi)
    print(f"wrote {output} ({note})", file=sys.stderr)


# -- explain ---------------------------------------------------------------------------------------------------


@app.command()
@_user_errors
def explain(
    problem_file: ProblemArg,
    solution_file: SolutionArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the report JSON here.")
    ] = None,
    route: Annotated[int | None, typer.Option("--route", metavar="N", help="Only route N (0-based).")] = None,
    why_not_id: Annotated[
        str | None, typer.Option("--why-not", metavar="K", help="Counterfactual: go to client K right after I.")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", metavar="I", help="The stop (client, or the route's start depot) "
                                                              "that --why-not K follows.")
    ] = None,
    solver: Annotated[
        str, typer.Option("--solver", "-s", metavar="SOLVER", help="Solver that re-optimises for --why-not.")
    ] = "ortools",
    time_limit: Annotated[
        float, typer.Option("--time-limit", "-t", metavar="SECONDS", help="Solver budget of --why-not.")
    ] = 0.3,
    map_file: Annotated[
        Path | None, typer.Option("--map", metavar="FILE", help="Also draw the explanation map (.html).")
    ] = None,
    round: RoundOpt = None,
) -> None:
    """Explain a plan: per route a table of its edges (intention, slack, influence) and a summary, then why
    each client left out is left out; --why-not K --after I adds the plan that goes I -> K and what it costs.

    Intentions (the rule is in vrpkit.explain): nearest, time_window, capacity, limit, prize, backhaul
    (a nearer stop is blocked by that constraint), lookahead (a nearer stop fits; taken for the plan's total
    cost), return.
    """
    from vrpkit import explain as ex
    from vrpkit.report import show

    if (why_not_id is None) != (after is None):
        raise ValidationError("--after" if after is None else "--why-not", "--why-not K and --after I go together")
    _check_time_limit(time_limit)
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory; give a file name")
    if map_file is not None:
        _out_file(map_file, (".html", ".htm"), "maps")
    problem = _read_problem(problem_file, round)
    evaluation = evaluate_file(problem, solution_file)
    if route is not None and not 0 <= route < len(evaluation.routes):
        raise ValidationError("--route", f"{route} is not a route of the plan (0 to {len(evaluation.routes) - 1})")
    report = ex.explain(problem, evaluation, routes=None if route is None else [route])
    if why_not_id is not None:
        try:
            counter = ex.why_not(problem, evaluation, after=str(after), alternative=why_not_id, route=route,
                                 solver=solver, time_limit=time_limit)
        except ValidationError as err:
            name = {"after": "--after", "alternative": "--why-not", "route": "--route"}.get(err.field, err.field)
            raise ValidationError(name, err.reason) from None
        report = ex.Explanation(report.routes, report.unassigned, counter, report.stats)
    data = report.to_dict()
    show(_explain_tables(problem, data), _console())
    if output is not None:
        _write_json(data, output)
        print(f"wrote {output}", file=sys.stderr)
    if map_file is not None:
        try:
            from vrpkit.maps import explain_map, save_map
        except ImportError as err:
            raise VrpkitError(f"--map: the explanation map is not available ({err})") from None
        save_map(explain_map(problem, evaluation, data), map_file)
        print(f"wrote {map_file}", file=sys.stderr)


def _slack_text(problem: Any, slack: dict[str, Any]) -> str:
    from vrpkit.explain import distance_text, time_text
    from vrpkit.report import fmt

    names = {"time_window": "window", "capacity": "capacity", "duration": "duration", "distance": "distance",
             "wait": "wait"}
    parts = []
    for key, label in names.items():
        value = slack.get(key)
        if value is None or (key == "wait" and not value):
            continue
        if isinstance(value, list):
            text = ", ".join(fmt(v) for v in value)
        elif key == "distance":
            text = distance_text(problem, value)
        elif key == "capacity":
            text = fmt(value)
        else:
            text = time_text(problem, value)
        parts.append(f"{label} {text}")
    return " · ".join(parts) or "-"


def _explain_tables(problem: Any, data: dict[str, Any]) -> Any:
    """The explanation report as rich renderables: a table per route, the unassigned clients, the
    counterfactual."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from vrpkit.explain import distance_text
    from vrpkit.report import fmt

    parts: list[Any] = []
    for entry in data["routes"]:
        table = Table("edge", "intention", "slack", "influence", box=box.SIMPLE_HEAD, pad_edge=False,
                      show_edge=False, title=f"route {entry['route']} ({entry['vehicle_type']})",
                      title_justify="left")
        for edge in entry["edges"]:
            intention = edge["intention"]
            if edge["constraints"] and intention not in ("nearest", "return"):
                others = [c for c in edge["constraints"] if c != intention]
                if others:
                    intention += f" (also {', '.join(others)})"
            table.add_row(f"{edge['from']} -> {edge['to']}", intention, _slack_text(problem, edge["slack"]),
                          distance_text(problem, edge["influence"]))
        parts += [table, Text(entry["summary"]), Text("")]
    if data["unassigned"]:
        table = Table("client", "reason", "constraint", "amount", "cheapest insertion", box=box.SIMPLE_HEAD,
                      pad_edge=False, show_edge=False, title="clients left out", title_justify="left")
        for entry in data["unassigned"]:
            ins = entry["insertion"]
            where = "-"
            if ins is not None:
                place = ("a vehicle of its own" if ins["route"] is None
                         else f"route {ins['route']} after {ins['after']}")
                where = f"{place}: cost {fmt(ins['cost_delta'])}" + ("" if ins["feasible"] else " (infeasible)")
            table.add_row(entry["client"], entry["reason"], entry["constraint"] or "-", fmt(entry["amount"]),
                          where)
        parts += [table]
        parts += [Text(entry["message"]) for entry in data["unassigned"]]
    elif data["routes"]:
        parts.append(Text("Every client is served."))
    counter = data.get("why_not")
    if counter is not None:
        parts += [Text(""), Text(f"why not {counter['after']} -> {counter['alternative']}?"),
                  Text(counter["summary"])]
        table = Table("term", "next leg", "total", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        leg, total = counter["terms"]["next_leg"], counter["terms"]["total"]
        for name in ("distance", "duration", "distance_cost", "duration_cost", "fixed_cost", "prize_lost",
                     "vehicles", "cost"):
            table.add_row(name, fmt(leg.get(name if name != "cost" else "cost")) if name in leg else "",
                          fmt(total[name]))
        parts.append(table)
        for v in counter["violations"]:
            where = f" at {v['client']}" if v.get("client") else ""
            parts.append(Text(f"  {v['constraint']}{where} (route {v['route']}): {fmt(v['amount'])}"))
    return Group(*parts)


# -- roads: matrices and generated instances -------------------------------------------------------------------


@app.command()
@_user_errors
def matrix(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=PROBLEM_HELP)],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The matrices (.npz).")],
    provider: Annotated[
        str | None, typer.Option("--provider", "-p", metavar="SPEC",
                                 help='Provider instead of the problem\'s own: "osrm:pbf=FILE", '
                                      '"osrm:url=URL", "osm:file=FILE", "haversine:speed=40", ...')
    ] = None,
    round: RoundOpt = None,
) -> None:
    """Compute a problem's distance and duration matrices with its provider and save them (.npz with arrays
    distance and duration) for {"provider": "explicit", "file": ...}. Road providers also report how far
    each location was snapped to the streets."""
    from rich import box
    from rich.table import Table

    from vrpkit.report import show
    from vrpkit.roads import compute_and_save

    _out_file(output, (".npz",), "matrices")
    problem = _read_problem(file, round)
    spec = parse_spec(provider, "--provider") if provider is not None else None
    result = compute_and_save(problem, output, spec=spec)
    console = _console()
    print(result.summary(worst=0) if result.snap_distance is not None else
          f"{result.provider} matrices {len(result.distance)}x{len(result.distance)}")
    if result.snap_distance is not None:
        table = Table("location", "id", "snapped (m)", "to lon", "to lat", box=box.SIMPLE_HEAD, pad_edge=False,
                      show_edge=False, title="each location snapped to the streets (farthest first)",
                      title_justify="left")
        ids = problem.node_ids
        order = sorted(range(len(ids)), key=lambda k: -float(result.snap_distance[k]))
        for k in order:
            lon, lat = (result.snapped[k] if result.snapped is not None else (math.nan, math.nan))
            table.add_row(result.labels[k] if k < len(result.labels) else str(k), ids[k],
                          f"{result.snap_distance[k]:.1f}", f"{lon:.6f}", f"{lat:.6f}")
        show(table, console)
    print(f"wrote {output} (arrays distance and duration; use it with "
          f'"matrix": {{"provider": "explicit", "file": "{output.name}"}})', file=sys.stderr)


@app.command()
@_user_errors
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The problem (.json).")],
    n: Annotated[int, typer.Option("--n", "-n", metavar="N", help="Number of clients.")] = 100,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")] = 0,
    variant: Annotated[str, typer.Option("--variant", metavar="NAME",
                                         help="uniform: cvrp, vrptw or ovrp; routefinder: its 24 names (cvrp, "
                                              "ovrp, vrpb, vrpl, vrptw, vrpmb, ..., ovrpmbltw) with our md, "
                                              "hf, pc prefixes and mtw ([md][hf][pc][o]vrp[b|mb][l][tw|mtw]); "
                                              "osm: cvrp or vrptw; svrp: SVRPBench-style stochastic cities "
                                              "(several depots, residential and commercial windows, rush "
                                              "hour, noise; vrpkit.generate.svrp_instance); fleet (chosen by "
                                              "these names): [mt](pdp|vrp)[tw][rt][br][sk], e.g. pdptw (-n "
                                              "requests), mtvrp, vrptwbrsk.")] = "cvrp",
    distribution: Annotated[
        str | None, typer.Option("--distribution", metavar="NAME",
                                 help="uniform (the default: integer grid [0,100]², capacity 50), routefinder "
                                      "(RouteFinder's unit square, see vrpkit.generate), osm (with --osm), svrp "
                                      "(the default of --variant svrp), clustered (clients around 3-8 seeds on "
                                      "[0,1000]², as CVRPLIB's X; cvrp, vrptw or ovrp) or fleet (the default of "
                                      "a fleet variant).")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", metavar="K",
                                 help="Write K instances FILE-0.json ... (numbered from 0, zero-padded; "
                                      "vrpkit.generate.generate_many: instance i from child i of "
                                      "SeedSequence(seed)).")
    ] = None,
    depots: Annotated[
        int | None, typer.Option("--depots", metavar="K", help="Depots of an md variant (routefinder; default 3).")
    ] = None,
    osm: Annotated[
        Path | None, typer.Option("--osm", metavar="FILE",
                                  help="Draw the locations on the streets of this OpenStreetMap extract "
                                       "(.osm.pbf) with OSRM matrices; else uniform in a square.")
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", metavar="Q",
                                 help="Vehicle capacity (default 50 on the grid, 30 + n/5 with routefinder, by "
                                      "size on real roads).")
    ] = None,
    profile: Annotated[str, typer.Option("--profile", metavar="NAME", help="OSRM profile (with --osm).")] = "car",
    inline_matrices: Annotated[
        bool, typer.Option("--inline-matrices", help="With --osm: matrices in the JSON, not in an .npz beside.")
    ] = False,
    option: Annotated[
        list[str] | None, typer.Option("--option", metavar="KEY=VALUE",
                                       help="A keyword of the distribution's generator (repeatable), e.g. "
                                            "--option jobs=20 --option release=0.3 for the fleet variants "
                                            "(vrpkit.generate.fleet_instance).")
    ] = None,
) -> None:
    """Generate a random instance (seeded), or --count of them.

    Uniform (default): clients at integer points of [0,100]², the depot at the centre, demands 1-9, capacity
    50, Euclidean distances. Routefinder: RouteFinder's multi-task distribution in the unit square (capacity
    30 + n/5, demands 1-9, 20 % backhaul clients, horizon 4.6, route length limit), plus several depots (md),
    a mixed fleet (hf), prizes (pc) and two windows per client (mtw). With --osm: clients and depot on the
    streets of an extract, OSRM distance (m) and duration (s) matrices saved beside the JSON (.npz), capacity
    by size (50 for 100 clients). Fleet (chosen by its variants, [mt](pdp|vrp)[tw][rt][br][sk]: pdptw, mtvrp,
    vrptwbrsk, ...): Li & Lim-style shipments (-n requests), multi-trip with reload depots, release times,
    lunch breaks and skills on Solomon's grid (vrpkit.generate.fleet_instance, its keywords by --option).
    """
    from vrpkit.generate import DISTRIBUTIONS, generate, generate_many, is_fleet_variant

    _out_file(output, (".json",), "problems")
    if n < 1:
        raise ValidationError("--n", f"{n} < 1")
    if capacity is not None and capacity < 1:
        raise ValidationError("--capacity", f"{capacity} < 1")
    if count is not None and count < 1:
        raise ValidationError("--count", f"{count} < 1")
    dist = distribution or ("osm" if osm is not None else "uniform")
    if variant == "svrp" and distribution is None:
        dist = "svrp"
    if distribution is None and is_fleet_variant(variant):
        dist = "fleet"
    if dist not in DISTRIBUTIONS:
        raise ValidationError("--distribution", f'"{dist}" is not one of {", ".join(DISTRIBUTIONS)}')
    if (dist == "osm") != (osm is not None):
        raise ValidationError("--osm", "needed with --distribution osm" if osm is None else
                              f"draws on roads: not with --distribution {dist}")
    if depots is not None and dist not in ("routefinder", "svrp"):
        raise ValidationError("--depots", "only with --distribution routefinder or --variant svrp")
    options: dict[str, Any] = {} if capacity is None else {"capacity": capacity}
    if depots is not None:
        options["n_depots"] = depots
    if osm is not None:
        _in_file(osm, "OpenStreetMap file")
        options.update(pbf=osm, profile=profile)
    given: set[str] = set()
    for item in option or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError("--option", f'"{item}" is not KEY=VALUE')
        if key in options or key in ("seed", "variant", "name", "n_clients"):
            raise ValidationError(f"--option {key}", "given twice, or by its own option (--capacity, --depots, "
                                                     "--seed, --variant, -n)")
        options[key] = _spec_value(value.strip())
        given.add(key)
    try:
        problems = [generate(variant, n, seed=seed, distribution=dist, **options)] if count is None else \
            generate_many(variant, n, count, seed, distribution=dist, **options)
    except ValidationError as err:
        if err.field == "n_depots":
            raise ValidationError("--depots", err.reason) from None
        if err.field in given:
            raise ValidationError(f"--option {err.field}", err.reason) from None
        raise
    except TypeError as err:  # an --option value of the wrong kind for its keyword (a number for a range)
        if not given:
            raise
        raise ValidationError("--option", f"{', '.join(sorted(given))}: {err}") from None
    if count is None:
        paths = [output]
    else:
        width = len(str(count - 1))
        paths = [output.with_name(f"{output.stem}-{i:0{width}d}{output.suffix}") for i in range(count)]
    for problem, path in zip(problems, paths, strict=True):
        if osm is not None:
            from vrpkit.roads.generate import save_instance

            save_instance(problem, path, inline=inline_matrices)
        else:
            _write_json(problem.to_dict(), path)
    beside = "" if osm is None or inline_matrices else f" and {paths[-1].with_suffix('.npz')}"
    written = f"{output}" if count is None else f"{count} files {paths[0]} .. {paths[-1]}"
    capacities = "/".join(str(c) for c in sorted({vt.capacity[0] for vt in problems[0].vehicle_types}))
    print(f"wrote {written}{beside} ({problems[0].variant}, {problems[0].n_clients} clients, capacity "
          f"{capacities})", file=sys.stderr)


@app.command()
@_user_errors
def train(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Writes DIR/checkpoint.pt (every epoch).")],
    variants: Annotated[
        str | None, typer.Option("--variants", metavar="LIST",
                                 help="Comma-separated vrpkit.generate variants (routefinder), e.g. "
                                      "cvrp,vrptw,ovrp,vrpb,vrpl,mdhfvrp (default cvrp).")
    ] = None,
    size: Annotated[int | None, typer.Option("--size", metavar="N", help="Clients per instance (20).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", metavar="E", help="Epochs in all (10).")] = None,
    steps_per_epoch: Annotated[
        int | None, typer.Option("--steps-per-epoch", metavar="S", help="Training steps per epoch (50).")
    ] = None,
    batch: Annotated[int | None, typer.Option("--batch", metavar="B", help="Instances per step (32).")] = None,
    device: Annotated[str | None, typer.Option("--device", metavar="cpu|cuda", help="Where to train.")] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", metavar="FILE",
                                  help="Continue from this checkpoint (options given again override it).")
    ] = None,
    preset: Annotated[str | None, typer.Option("--preset", metavar="NAME", help="cpu or gpu.")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", metavar="SECONDS", help="Stop (and checkpoint) after this.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", help="Random seed (0).")] = None,
    roads: Annotated[
        Path | None, typer.Option("--roads", metavar="PBF",
                                  help="Train on CVRPs on the streets of this .osm.pbf extract (OSRM matrices).")
    ] = None,
    roads_pool: Annotated[
        int | None, typer.Option("--roads-pool", metavar="N", help="Street locations in the road pool (1000).")
    ] = None,
    init: Annotated[
        Path | None, typer.Option("--init", metavar="FILE",
                                  help="Start from this checkpoint's matching weights (fresh optimiser).")
    ] = None,
    matrix: Annotated[
        bool | None, typer.Option("--matrix/--no-matrix", help="Distance/duration attention bias (new runs).")
    ] = None,
    graph: Annotated[
        int | None, typer.Option("--graph", metavar="K",
                                 help="Graph layers over each node's K nearest by road (torch_geometric).")
    ] = None,
    val_count: Annotated[
        int | None, typer.Option("--val-count", metavar="N", help="Validation instances per variant (16).")
    ] = None,
) -> None:
    """Train the neural policy (POMO) on generated instances; progress on stderr (see vrpkit.neural.train)."""
    try:
        from vrpkit.neural.train import run
    except ImportError as err:
        raise SolverError(f"vrpkit train needs {err.name or 'torch'}: pip install 'vrpkit[neural]'") from None
    if resume is not None:
        _in_file(resume, "checkpoint")
    if init is not None:
        _in_file(init, "init")
    if roads is not None:
        _in_file(roads, "roads")
    names = None if variants is None else tuple(v.strip() for v in variants.split(",") if v.strip())
    result = run(out=out, resume=resume, preset=preset, variants=names, size=size, epochs=epochs,
                 steps_per_epoch=steps_per_epoch, batch=batch, device=device, time_limit=time_limit, seed=seed,
                 roads=None if roads is None else str(roads), roads_pool=roads_pool, init=init,
                 val_count=val_count, policy_options={"matrix": matrix, "graph": graph})
    print(f"wrote {out / 'checkpoint.pt'} (epoch {result['epoch']}, step {result['step']})", file=sys.stderr)


def expand_args(args: list[str]) -> list[str]:
    """The command line as typer reads it: ``--robust=Q`` (a flag with an optional value, which typer cannot
    declare) becomes ``--robust --robust-quantile Q``; nothing after ``--`` changes."""
    end = args.index("--") if "--" in args else len(args)
    out: list[str] = []
    for arg in args[:end]:
        out += ["--robust", "--robust-quantile", arg.partition("=")[2]] if arg.startswith("--robust=") else [arg]
    return out + args[end:]


def main() -> None:
    """Entry point of the ``vrpkit`` console script."""
    app(args=expand_args(sys.argv[1:]), prog_name="vrpkit")


if __name__ == "__main__":
    main()
