"""Mutation fuzzing of ``vrpkit solve``: seeded random edits of ordinary problem files, each run through the CLI.

Every case is a problem JSON (one of ``instances/*.json``, or a small generated or hand-built problem) with one
or two random edits: a number replaced by a huge, negative, zero, fractional or non-finite value, a value
of the wrong type, a bound widened, a field deleted, an unknown field added, a list element repeated or
dropped. The case is written to a file and solved with ``vrpkit solve FILE --solver S -q -o out.json`` (in
a worker process, started again whenever a case kills it; the solvers take turns). The outcome is one of:

- ``refused``: exit 2 with exactly one line ``error: ...`` on stderr (validation or a solver's refusal);
- ``solved``: exit 0 (a feasible plan) or 3 (none feasible), and the solution JSON written agrees with the
  evaluator run again on the problem: same status and cost;
- ``crashed``: anything else (an exception, a traceback, another exit code, a refusal of several lines, a
  solution the evaluator disagrees with, a process killed by a native library, a run far past its limit).

    python examples/fuzz_inputs.py --cases 3000 --seed 0 [--solver ortools --solver pyvrp --solver aco]

prints the counts per outcome and per edit, and every crash with its seed and edit so that it can be replayed
(``--replay SEED:INDEX`` writes the case to ``fuzz_case.json``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import json
import math
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

HUGE: tuple[Any, ...] = (0, 1, -1, 0.5, 1e15, 1e308, -1e308, 10**30, -(10**30), 2**63, 2**63 - 1, 2**53 + 1,
                         float("nan"), float("inf"), float("-inf"), 1e-300)
WRONG: tuple[Any, ...] = ("x", "", None, True, False, [], {}, [1, 2, 3], {"a": 1}, [[0, 1]], "1e308", "NaN")
FIELDS = ("bogus", "time_window", "time_windows", "prize", "required", "count", "end_depot", "skills", "speed")


def bases() -> list[tuple[str, dict[str, Any]]]:
    """The problems that are edited: the bundled instances and small generated and hand-built ones."""
    from vrpkit.generate import uniform_instance

    out = [(p.stem, json.loads(p.read_text())) for p in sorted((ROOT / "instances").glob("*.json"))]
    for variant in ("cvrp", "vrptw", "ovrp"):
        out.append((f"generated-{variant}", uniform_instance(8, seed=1, variant=variant).to_dict()))
    out.append(("two-depot-line", {
        "depots": [{"id": "D1", "location": [0, 0]}, {"id": "D2", "location": [10, 0], "time_window": [0, 50]}],
        "clients": [{"id": "a", "location": [1, 0], "delivery": 1, "time_windows": [[0, 5], [10, 20]]},
                    {"id": "b", "location": [9, 0], "pickup": 1, "service_time": 2, "required": False,
                     "prize": 4}],
        "vehicle_types": [{"id": "v1", "count": 1, "capacity": 1, "start_depot": "D1", "shift": [0, 40]},
                          {"id": "v2", "count": 1, "capacity": 2, "start_depot": "D2", "end_depot": None,
                           "max_duration": 30, "max_distance": 25, "fixed_cost": 3, "cost_per_duration": 0.5}],
    }))
    out.append(("explicit", {
        "depots": [{"id": "D"}],
        "clients": [{"id": "a", "delivery": [1, 2]}, {"id": "b", "delivery": [2, 1], "time_window": [0, 9]}],
        "vehicle_types": [{"id": "v", "capacity": [3, 3], "count": 2}],
        "backhaul": "strict",
        "matrix": {"provider": "explicit", "distance": [[0, 2, 3], [2, 0, 4], [3, 4, 0]],
                   "duration": [[0, 1, 1], [1, 0, 2], [1, 2, 0]]},
    }))
    return out


# -- edits --------------------------------------------------------------------------------------------------


def _places(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in a JSON tree, containers included (the root excluded)."""
    if path:
        yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _places(value, (*path, i))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _matrix_rows(path: tuple[Any, ...]) -> bool:
    return len(path) >= 3 and path[0] == "matrix" and path[1] in ("distance", "duration")


def edit_number(data: Any, rng: np.random.Generator) -> str:
    """Replace a number (matrix entries included) by an extreme value."""
    places = [(p, v) for p, v in _places(data) if isinstance(v, int | float) and not isinstance(v, bool)]
    if not places:
        return "none"
    path, _ = _pick(rng, places)
    value = _pick(rng, list(HUGE))
    _parent(data, path)[path[-1]] = value
    return f"{_dotted(path)}={value!r}"


def edit_scale(data: Any, rng: np.random.Generator) -> str:
    """Multiply a number by 10**k (k from 3 to 30) or -1."""
    places = [(p, v) for p, v in _places(data) if isinstance(v, int | float) and not isinstance(v, bool)]
    if not places:
        return "none"
    path, old = _pick(rng, places)
    k = int(rng.integers(3, 31))
    factor = -1 if rng.random() < 0.1 else 10**k
    value = old * factor if isinstance(old, int) else float(old) * factor
    _parent(data, path)[path[-1]] = value
    return f"{_dotted(path)}*={factor}"


def edit_type(data: Any, rng: np.random.Generator) -> str:
    """Replace any value by one of the wrong type."""
    path, _ = _pick(rng, list(_places(data)))
    value = copy.deepcopy(_pick(rng, list(WRONG)))
    _parent(data, path)[path[-1]] = value
    return f"{_dotted(path)}={value!r}"


def edit_window(data: Any, rng: np.random.Generator) -> str:
    """Widen, narrow, reverse or open a window (``time_window``, ``shift``, one of ``time_windows``)."""
    def is_window(path: tuple[Any, ...]) -> bool:
        return path[-1] in ("time_window", "shift") or (len(path) >= 2 and path[-2] == "time_windows")

    places = [(p, v) for p, v in _places(data) if isinstance(v, list) and len(v) == 2 and is_window(p)]
    if not places:
        return "none"
    path, window = _pick(rng, places)
    choice = int(rng.integers(5))
    new = [[window[0], 1e308], [0, window[1]], [window[1], window[0]], [window[0], None],
           [-5, 10**30]][choice]
    _parent(data, path)[path[-1]] = new
    return f"{_dotted(path)}={new!r}"


def edit_delete(data: Any, rng: np.random.Generator) -> str:
    """Delete a field of an object or an element of a list."""
    path, _ = _pick(rng, list(_places(data)))
    del _parent(data, path)[path[-1]]
    return f"del {_dotted(path)}"


def edit_unknown(data: Any, rng: np.random.Generator) -> str:
    """Add a field to an object (unknown, or known but misplaced)."""
    objects = [p for p, v in _places(data) if isinstance(v, dict)] + [()]
    path = _pick(rng, objects)
    target = data
    for key in path:
        target = target[key]
    name = _pick(rng, list(FIELDS))
    value = _pick(rng, [1, "x", [0, 5], None, 1e308])
    target[name] = value
    return f"{_dotted((*path, name))}={value!r}"


def edit_repeat(data: Any, rng: np.random.Generator) -> str:
    """Repeat an element of a list (depots, clients, vehicle types, a window, a matrix row)."""
    places = [(p, v) for p, v in _places(data) if isinstance(v, list) and v]
    if not places:
        return "none"
    path, items = _pick(rng, places)
    i = int(rng.integers(len(items)))
    items.insert(i, copy.deepcopy(items[i]))
    return f"repeat {_dotted((*path, i))}"


EDITS: dict[str, Callable[[Any, np.random.Generator], str]] = {
    "number": edit_number, "scale": edit_scale, "type": edit_type, "window": edit_window,
    "delete": edit_delete, "unknown": edit_unknown, "repeat": edit_repeat,
}
WEIGHTS = np.array([3, 3, 1, 3, 1, 1, 1]) / 13
"""How often each edit is drawn: mostly values that validation may accept and the solvers must then handle."""


def _dotted(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top)"


def mutated(seed: int, index: int, base_list: list[tuple[str, dict[str, Any]]]) -> tuple[str, Any, list[str]]:
    """Case ``index`` of the run ``seed``: (base name, edited problem dict, the edits made)."""
    rng = np.random.default_rng([seed, index])
    name, base = base_list[int(rng.integers(len(base_list)))]
    data = copy.deepcopy(base)
    done = []
    for _ in range(int(rng.integers(1, 3))):
        kind = list(EDITS)[int(rng.choice(len(EDITS), p=WEIGHTS))]
        try:
            done.append(f"{kind}: {EDITS[kind](data, rng)}")
        except (KeyError, IndexError, TypeError):
            done.append(f"{kind}: none")  # an earlier edit changed the shape under this one
    return name, data, done


# -- running one case -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # refused, solved or crashed
    code: int | None
    detail: str


def run_case(data: Any, solver: str, time_limit: float, folder: Path) -> Outcome:
    """Solve ``data`` with ``vrpkit solve`` in process and classify the outcome (see the module docstring)."""
    from typer.testing import CliRunner

    from vrpkit.cli import app

    problem_file, out_file = folder / "p.json", folder / "out.json"
    out_file.unlink(missing_ok=True)
    problem_file.write_text(json.dumps(data), encoding="utf-8")
    args = ["solve", str(problem_file), "--solver", solver, "--time-limit", str(time_limit), "-q",
            "-o", str(out_file)]
    result = CliRunner().invoke(app, args)
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        return Outcome("crashed", None, f"{type(error).__name__}: {str(error)[:200]}")
    stderr = result.stderr
    if "Traceback" in stderr:
        return Outcome("crashed", result.exit_code, "traceback on stderr")
    if result.exit_code == 2:
        lines = stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            return Outcome("crashed", 2, f"refusal of {len(lines)} lines: {stderr[:200]!r}")
        return Outcome("refused", 2, lines[0])
    if result.exit_code not in (0, 3):
        return Outcome("crashed", result.exit_code, f"exit {result.exit_code}: {stderr[:200]!r}")
    return _check_solution(problem_file, out_file, result.exit_code)


def _check_solution(problem_file: Path, out_file: Path, code: int) -> Outcome:
    """The written solution, evaluated again, agrees with the exit code and the written cost."""
    import vrpkit
    from vrpkit.io import read_problem

    try:
        written = json.loads(out_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return Outcome("crashed", code, f"solution JSON unreadable: {err}")
    if written.get("status") == "no_solution":
        ok = code == 3
        return Outcome("solved" if ok else "crashed", code, "no_solution" if ok else "no_solution with exit 0")
    problem = read_problem(problem_file)
    again = vrpkit.evaluate(problem, written)
    if again.feasible != (code == 0) or again.feasible != (written["status"] == "feasible"):
        return Outcome("crashed", code, f"status {written['status']} exit {code}, evaluator {again.status}")
    cost = written.get("cost")
    same = (cost is None and not math.isfinite(again.cost)) or (
        cost is not None and math.isclose(float(cost), again.cost, rel_tol=1e-9, abs_tol=1e-6))
    if not same:
        return Outcome("crashed", code, f"written cost {cost}, evaluator {again.cost}")
    return Outcome("solved", code, written["status"])


class _Worker:
    """One process that runs the cases; a case that kills it (a native abort) or runs past ``patience``
    seconds is a crash, and the next case gets a new process."""

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    def run(self, data: Any, solver: str, time_limit: float, folder: Path) -> Outcome:
        if self.pool is None:
            self.pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        folder.mkdir(exist_ok=True)
        future = self.pool.submit(run_case, data, solver, time_limit, folder)
        try:
            return future.result(timeout=self.patience)
        except concurrent.futures.TimeoutError:
            self.close()
            return Outcome("crashed", None, f"still running after {self.patience:g} s")
        except concurrent.futures.process.BrokenProcessPool:
            self.close()
            return Outcome("crashed", None, "the process died (a native library aborted)")

    def close(self) -> None:
        if self.pool is not None:
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", action="append", help="solvers taking turns (default ortools, pyvrp, aco)")
    parser.add_argument("--time-limit", type=float, default=0.2)
    parser.add_argument("--replay", metavar="SEED:INDEX", help="write one case to fuzz_case.json and stop")
    args = parser.parse_args(argv)
    base_list = bases()
    if args.replay:
        seed, index = (int(x) for x in args.replay.split(":"))
        name, data, done = mutated(seed, index, base_list)
        Path("fuzz_case.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        print(f"fuzz_case.json: {name} with {'; '.join(done)}")
        return 0
    solvers = args.solver or ["ortools", "pyvrp", "aco"]
    worker = _Worker(patience=30 + 20 * args.time_limit)
    outcomes: Counter[str] = Counter()
    by_edit: Counter[tuple[str, str]] = Counter()
    by_solver: Counter[tuple[str, str]] = Counter()
    crashes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.cases):
            name, data, done = mutated(args.seed, index, base_list)
            solver = solvers[index % len(solvers)]
            outcome = worker.run(data, solver, args.time_limit, Path(tmp) / str(index % 2))
            outcomes[outcome.kind] += 1
            by_solver[(solver, outcome.kind)] += 1
            for edit in done:
                by_edit[(edit.split(":")[0], outcome.kind)] += 1
            if outcome.kind == "crashed":
                crashes.append((index, name, solver, done, outcome))
                print(f"CRASH {args.seed}:{index} {name} {solver} {'; '.join(done)} -> {outcome.detail}",
                      file=sys.stderr, flush=True)
            if (index + 1) % 100 == 0:
                print(f"[{time.perf_counter() - started:7.1f}s] {index + 1} cases: "
                      + ", ".join(f"{k} {outcomes[k]}" for k in ("solved", "refused", "crashed")),
                      file=sys.stderr, flush=True)
    worker.close()
    print(f"{args.cases} cases (seed {args.seed}, solvers {', '.join(solvers)}, {args.time_limit:g} s each) in "
          f"{time.perf_counter() - started:.0f} s")
    kinds = ("solved", "refused", "crashed")
    print("outcome    " + "  ".join(f"{k:>8}" for k in kinds))
    print("all        " + "  ".join(f"{outcomes[k]:>8}" for k in kinds))
    for solver in solvers:
        print(f"{solver:<10} " + "  ".join(f"{by_solver[(solver, k)]:>8}" for k in kinds))
    for edit in EDITS:
        print(f"{edit:<10} " + "  ".join(f"{by_edit[(edit, k)]:>8}" for k in kinds))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
