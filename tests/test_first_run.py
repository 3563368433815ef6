"""The time limit holds on the very first run, before the compiled code is built (``NUMBA_CACHE_DIR`` an empty
folder): the solvers run the interpreted twins of the compiled functions while the build goes on in the
background; and those twins compute exactly what the compiled functions compute."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import corner, tight_fleet, two_depot_line
from vrpkit.solvers import build
from vrpkit.solvers.aco import ACOSolver, Colony
from vrpkit.solvers.localsearch import LocalSearch, sweep

from vrpkit import Client, Problem, Route, VehicleType

STARTUP = 4.0
"""Seconds allowed on top of the time limit for a fresh Python process: start-up, imports, reading the
problem, evaluating and writing the plan (on a busy machine)."""

SQUARE = {
    "name": "square",
    "depots": [{"id": "D", "location": [0, 0]}],
    "clients": [{"id": f"c{i}", "location": xy, "delivery": 1}
                for i, xy in enumerate([[5, 0], [10, 0], [10, 5], [10, 10], [5, 10], [0, 10]])],
    "vehicle_types": [{"id": "v", "capacity": 6}],
}
"""Depot at a corner of a 10 x 10 square, six clients on its other sides: every plan costs at least the
perimeter, 40 (the points are in convex position, and joining routes at the depot only shortens them)."""


def fresh_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}


def run_fresh(args: list[str], tmp_path: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``python args`` with an empty numba cache; stop the background build it starts."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env=fresh_env(tmp_path), cwd=tmp_path)
    wall = time.perf_counter() - started
    match = re.search(r"in the background \(pid (\d+)", proc.stderr)
    if match:  # the build goes on after the process: stop it (its own session)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(match.group(1)), signal.SIGTERM)
    return proc, wall


def write_square(tmp_path: Path) -> Path:
    path = tmp_path / "square.json"
    path.write_text(json.dumps(SQUARE))
    return path


@pytest.mark.parametrize("solver, limit", [("aco", 2.0), ("aco:device=torch", 3.0)])
def test_cli_solve_keeps_the_limit_before_the_build(tmp_path, solver, limit):
    if "torch" in solver:
        pytest.importorskip("torch")
    problem = write_square(tmp_path)
    plan = tmp_path / "plan.json"
    proc, wall = run_fresh(["-m", "vrpkit", "solve", str(problem), "--solver", solver, "--time-limit", str(limit),
                            "-o", str(plan), "--quiet"], tmp_path, timeout=limit + 60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warning = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "python -m vrpkit.solvers.build" in warning[0], proc.stderr
    out = json.loads(plan.read_text())
    assert out["status"] == "feasible"
    assert out["cost"] == pytest.approx(40.0)
    assert out["stats"]["compiled"] is False
    assert out["stats"]["runtime"] <= limit + 0.5
    assert wall <= limit + STARTUP


def test_improve_keeps_the_limit_before_the_build(tmp_path):
    script = textwrap.dedent("""
        import json, time
        from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate
        from vrpkit.solvers import build
        from vrpkit.solvers.localsearch import improve

        t = time.perf_counter()
        print(json.dumps({"ready": build.ready(), "check": time.perf_counter() - t}))
        clients = tuple(Client(f"c{i}", xy, delivery=1) for i, xy in enumerate([(10, 0), (10, 10), (0, 10)]))
        p = Problem("square", (Depot("o", (0, 0)),), clients, (VehicleType("v"),))
        t = time.perf_counter()
        out = improve(p, [Route(0, (0, 2, 1))], time_limit=1.0)
        print(json.dumps({"seconds": time.perf_counter() - t, "cost": evaluate(p, out).cost,
                          "compiled": out.stats["compiled"]}))
    """)
    proc, _ = run_fresh(["-c", script], tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    check, run = (json.loads(line) for line in proc.stdout.splitlines())
    assert check["ready"] is False and check["check"] < 2.0  # found not built, without compiling
    assert run["compiled"] is False
    assert run["seconds"] <= 1.0 + 0.3
    assert run["cost"] == pytest.approx(40.0)  # the crossed tour 0-2-1 (20 + 20 sqrt 2) uncrossed


def three_windows() -> Problem:
    """Clients of two windows each and a service time, on the corner problem."""
    clients = (Client("a", (3, 0), delivery=1, time_windows=((0, 2), (20, 30)), service_time=1),
               Client("b", (0, 4), delivery=1, time_windows=((0, 5), (9, 12))),
               Client("c", (3, 4), delivery=1, pickup=1, time_windows=((6, 8), (40, 50))))
    return corner(clients=clients, capacity=2)


PROBLEMS = {
    "tight fleet": tight_fleet,
    "two depots, open": lambda: two_depot_line(VehicleType("v", count=1, capacity=2, end_depot=None),
                                                VehicleType("w", capacity=1, start_depot="D2")),
    "windows, pickups": three_windows,
}


def _same(x, y) -> bool:
    """Equal arrays, or tuples of them (nested: the exact check's arrays), item by item."""
    if isinstance(x, tuple):
        return len(x) == len(y) and all(_same(u, w) for u, w in zip(x, y, strict=True))
    return bool(np.array_equal(x, y))


@pytest.mark.parametrize("name", PROBLEMS)
def test_interpreted_twins_compute_what_the_compiled_code_computes(name):
    p = PROBLEMS[name]()
    build.build()
    colonies = [Colony(p, ACOSolver(ants=6, ls_ants=2), 5, compiled=compiled) for compiled in (True, False)]
    for colony in colonies:
        for _ in range(3):
            colony.iterate(math.inf)
    a, b = colonies
    assert np.array_equal(a.out_seq, b.out_seq) and np.array_equal(a.out_cost, b.out_cost)
    assert a.best_cost == b.best_cost

    searches = [LocalSearch(p, compiled=compiled) for compiled in (True, False)]
    order = np.arange(p.n_clients, dtype=np.int64)[::-1].copy()
    for ls in searches:
        ls.load([Route(0, (c,)) for c in range(p.n_clients)][::-1])
        fn = sweep if ls.compiled else build.interpreted(sweep)
        fn(ls._packed, ls._backup, ls.cfg, order, -1, 0)
    assert _same(searches[0].arrays, searches[1].arrays)
    assert searches[0].routes() == searches[1].routes()


def test_build_command_is_idempotent():
    build_cmd = [sys.executable, "-m", "vrpkit.solvers.build"]
    subprocess.run(build_cmd, check=True, capture_output=True, timeout=600)  # compiles unless built
    started = time.perf_counter()
    proc = subprocess.run(build_cmd, check=True, capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 10.0
    assert proc.stdout.startswith("python -m vrpkit.solvers.build: already built in ")
    assert build.ready()


def test_a_run_goes_on_compiled_once_the_build_is_done(monkeypatch):
    """Started interpreted (the code not built yet), the colony switches to the compiled code as soon as the
    build is found done: here after its first iteration."""
    build.build()
    monkeypatch.setattr("vrpkit.solvers.aco.compiled_or_interpreted", lambda: False)
    monkeypatch.setattr(build.Watch, "ready", lambda self: True)
    plan = ACOSolver(iterations=3, ants=4).solve(Problem.from_dict(SQUARE), time_limit=30, seed=0)
    assert plan.stats["compiled"] is False
    assert plan.stats["interpreted_iterations"] == 1
    assert plan.stats["iterations"] == 3
