"""The ``vrpkit`` command: a thin layer over the Python API.

``vrpkit solve | evaluate | info | convert | schema | bench``. Exit codes: 0 success (a feasible plan), 2 bad
input (one line ``error: <message>`` on stderr, never a traceback), 3 no feasible plan exists or none was
found, 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vrpkit.errors import InputError, SolverError, ValidationError, VrpkitError

EXIT_INPUT = 2
EXIT_INFEASIBLE = 3

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


def _read_problem(path: Path) -> Any:
    """Read a problem file; errors name the file."""
    from vrpkit.io import read_problem

    _in_file(path, "problem file")
    try:
        return read_problem(path)
    except ValidationError as err:
        raise VrpkitError(f"{path}: {err}") from None


def _write_json(data: Any, path: Path) -> None:
    from vrpkit.io.json import write_json

    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name")
    write_json(data, path)


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
        Path, typer.Argument(metavar="FILE", help="Problem: our .json, a VRPLIB .vrp or a Solomon .txt.")
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
) -> None:
    """Solve a problem: progress on stderr, the plan as a table on stdout, the solution JSON with -o.

    Exit code 0 when the plan is feasible, 3 when no feasible plan exists or none was found.
    """
    import vrpkit
    from vrpkit.report import evaluation_report, show

    _check_time_limit(time_limit)
    problem = _read_problem(file)
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory; give a file name")
    backend = vrpkit.get_solver(solver)  # unknown solvers and bad options fail here, before any output
    reason = backend.supports(problem)
    if reason:
        raise SolverError(f'solver "{backend.name}" does not support this problem: {reason}')
    if not quiet:
        print(f"solving {problem.name} ({problem.variant}, {problem.n_clients} clients) with {solver}, "
              f"time limit {time_limit:g} s, seed {seed}", file=sys.stderr, flush=True)
    result = vrpkit.solve(problem, solver, time_limit=time_limit, seed=seed, progress=not quiet)
    if output is not None:
        _write_json(result.to_dict(), output)
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
    import vrpkit

    if path.suffix.lower() == ".sol":
        from vrpkit.io.vrplib import read_sol

        _in_file(path, "solution file")
        plan: Any = read_sol(path, problem)
    else:
        plan = read_solution(path)
    try:
        return vrpkit.evaluate(problem, plan)
    except ValidationError as err:
        raise VrpkitError(f"{path}: {err}") from None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
             type(None): "null", dict: "an object"}
    return names.get(type(value), type(value).__name__)


@app.command()
@_user_errors
def evaluate(
    problem_file: Annotated[Path, typer.Argument(metavar="PROBLEM", help="Problem file (.json, .vrp, .txt).")],
    solution_file: Annotated[
        Path, typer.Argument(metavar="SOLUTION", help='Solution JSON (full or short form) or .sol file.')
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the evaluated plan here.")
    ] = None,
) -> None:
    """Check and cost a plan: the same table as solve. Exit code 0 feasible, 3 infeasible.

    SOLUTION is the solution JSON (full form as written by solve -o, or the short form
    {"routes": [{"vehicle_type": "v1", "stops": ["c1", "c7"]}]}) or a CVRPLIB .sol file.
    """
    from vrpkit.report import evaluation_report, show

    problem = _read_problem(problem_file)
    evaluation = evaluate_file(problem, solution_file)
    if output is not None:
        _write_json(evaluation.to_dict(problem), output)
    show(evaluation_report(problem, evaluation), _console())
    if not evaluation.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


# -- info, schema, convert -------------------------------------------------------------------------------------


@app.command()
@_user_errors
def info(file: Annotated[Path, typer.Argument(metavar="FILE", help="Problem file (.json, .vrp, .txt).")]) -> None:
    """Describe a problem: name, variant, attributes, sizes, fleet, matrices."""
    from vrpkit.report import problem_info, show

    show(problem_info(_read_problem(file)), _console())


@app.command()
@_user_errors
def schema() -> None:
    """Print the JSON Schema of the problem format."""
    from vrpkit.io.json import problem_schema

    print(json.dumps(problem_schema(), indent=2))


PROBLEM_SUFFIXES = (".json", ".vrp", ".txt")


@app.command()
@_user_errors
def convert(
    source: Annotated[
        Path, typer.Argument(metavar="IN", help="Problem (.json, .vrp, .txt) or solution (.json, .sol).")
    ],
    target: Annotated[Path, typer.Argument(metavar="OUT", help="Problem .json, or solution .json or .sol.")],
    problem_file: Annotated[
        Path | None, typer.Option("--problem", "-p", metavar="FILE", help="The problem a solution belongs to.")
    ] = None,
    inline_matrices: Annotated[
        bool, typer.Option("--inline-matrices", help="Write the distance/duration matrices into the JSON.")
    ] = False,
) -> None:
    """Convert between formats.

    Problems: .vrp, .txt or .json -> .json (normalised: defaults left out). Solutions (need --problem):
    solution .json or .sol -> .json (evaluated, full form) or .sol.
    """
    in_suffix = source.suffix.lower()
    out_suffix = target.suffix.lower()
    if in_suffix not in (*PROBLEM_SUFFIXES, ".sol"):
        raise InputError(f"{source}: unknown format {in_suffix or '(no extension)'!r}; expected .json, .vrp, "
                         ".txt or .sol")
    if out_suffix not in (".json", ".sol"):
        raise InputError(f"{target}: cannot write {out_suffix or '(no extension)'!r}; vrpkit writes problems "
                         "as .json and solutions as .json or .sol")
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give a file name")
    if in_suffix == ".sol" or (in_suffix == ".json" and _is_solution(source)):
        _convert_solution(source, target, problem_file)
        return
    if out_suffix == ".sol":
        raise InputError(f"{source} is a problem, and a .sol file holds a solution; convert a solution with "
                         "--problem PROBLEM")
    problem = _read_problem(source)
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


def _convert_solution(source: Path, target: Path, problem_file: Path | None) -> None:
    if problem_file is None:
        raise InputError(f"{source} is a solution; give its problem with --problem PROBLEM")
    problem = _read_problem(problem_file)
    evaluation = evaluate_file(problem, source)
    unknown = [v for v in evaluation.violations if v.constraint in ("unknown_id", "unknown_vehicle_type")]
    if unknown:
        raise InputError(f"{source}: {unknown[0]}; is {problem_file} its problem?")
    if target.suffix.lower() == ".json":
        _write_json(evaluation.to_dict(problem), target)
    else:
        from vrpkit.io.vrplib import write_sol

        write_sol(target, problem, evaluation)
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
) -> None:
    """Run solvers on a benchmark set: cost, gap to the best known solution and time per instance."""
    from vrpkit import bench as bench_module
    from vrpkit.report import show

    _check_time_limit(time_limit)
    if data is None:
        data = Path("..") / "shared" / "data"
        if not data.is_dir():
            raise InputError(f"--data: no data folder given and {data} does not exist")
    elif not data.is_dir():
        raise InputError(f"--data: {data} is not a folder")
    for name, value in (("--max-n", max_n), ("--smallest", smallest)):
        if value is not None and value < 1:
            raise ValidationError(name, f"{value} < 1")
    rows = bench_module.run_bench(
        set_name, data, list(solvers or ["ortools"]), time_limit=time_limit, seed=seed, max_n=max_n,
        smallest=smallest, instances=instances or None, csv_path=csv, progress=True,
        console=_console(stderr=True),
    )
    show(bench_module.format_bench_table(rows), _console())
    if csv is not None:
        print(f"wrote {csv}", file=sys.stderr)


def main() -> None:
    """Entry point of the ``vrpkit`` console script."""
    app(prog_name="vrpkit")


if __name__ == "__main__":
    main()
