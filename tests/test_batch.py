"""``vrpkit batch`` and ``vrpkit bench --workers`` on dask.distributed: plans written once, atomically, with the
evaluator's cost; reruns resume; a worker killed mid-batch loses nothing; CLI errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from conftest import TINY
from distributed import Client, LocalCluster

from vrpkit import evaluate
from vrpkit.batch import CSV_COLUMNS, Job, read_plan, run_batch, run_jobs
from vrpkit.bench import CSV_COLUMNS as BENCH_COLUMNS
from vrpkit.bench import run_bench
from vrpkit.generate import generate
from vrpkit.io import read_problem
from vrpkit.io.json import problem_to_dict, write_json

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

"""Capacity 6 allows the pairs a+b and a+c (b+c = 7 does not fit), and two vans: D-a-b-D (5 + 5 + 6) plus
D-c-D (10) is 26, D-a-c-D (5 + 9.49 + 5) plus D-b-D (12) is 31.49; the optimum costs 2 * 26 + 2 * 7 = 66."""


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded process workers on 127.0.0.1, shared by the tests that do not kill workers."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as c:
        yield c


def problem_files(folder: Path, count: int, *, tiny: bool = False) -> list[Path]:
    """``count`` generated 10-client CVRPs (uniform, seeds 0..count-1) as p0.json ...; with ``tiny``, TINY as
    tiny.json first."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if tiny:
        paths.append(folder / "tiny.json")
        paths[-1].write_text(json.dumps(TINY), encoding="utf-8")
    for i in range(count):
        path = folder / f"p{i}.json"
        write_json(problem_to_dict(generate("cvrp", 10, seed=i, distribution="uniform")), path)
        paths.append(path)
    return paths


def check_plans(outdir: Path, files: list[Path]) -> dict[str, dict[str, Any]]:
    """Every problem's plan in ``outdir``: feasible, with the cost the evaluator gives it."""
    plans = {}
    for path in files:
        plan = json.loads((outdir / f"{path.stem}.json").read_text(encoding="utf-8"))
        ev = evaluate(read_problem(path), plan)
        assert plan["status"] == "feasible" and ev.feasible, path
        assert plan["cost"] == pytest.approx(ev.cost, abs=1e-6)
        plans[path.stem] = plan
    return plans


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_plans_are_written_with_the_evaluators_cost_and_listed_in_the_csv(cluster, tmp_path):
    files = problem_files(tmp_path / "in", 2, tiny=True)
    writes: list[str] = []
    report = run_batch(files, "ortools", time_limit=0.2, outdir=tmp_path / "out",
                       scheduler=cluster.scheduler_address, on_write=lambda name, path: writes.append(name))
    assert sorted(writes) == ["p0", "p1", "tiny"]
    plans = check_plans(tmp_path / "out", files)
    assert plans["tiny"]["cost"] == 66
    assert [r.name for r in report.rows] == ["tiny", "p0", "p1"]
    assert (report.solved, report.skipped, report.failed, report.feasible) == (3, 0, 0, 3)
    workers = set(cluster.scheduler_info["workers"])
    assert {r.worker for r in report.rows} <= workers
    rows = read_csv(tmp_path / "out" / "batch.csv")
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["name"], r["status"], r["skipped"]) for r in rows] == [
        ("tiny", "feasible", "False"), ("p0", "feasible", "False"), ("p1", "feasible", "False")]
    assert rows[0]["cost"] == "66" and rows[0]["vehicles"] == "2"
    assert float(rows[1]["cost"]) == plans["p0"]["cost"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["batch.csv", "p0.json", "p1.json",
                                                                    "tiny.json"]  # no temporary file left


def test_a_rerun_skips_what_is_done_and_solves_only_what_is_missing(cluster, tmp_path):
    files = problem_files(tmp_path / "in", 3)
    out = tmp_path / "out"
    writes: list[str] = []

    def batch() -> Any:
        return run_batch(files, "ortools", time_limit=0.2, outdir=out, scheduler=cluster.scheduler_address,
                         on_write=lambda name, path: writes.append(name))

    batch()
    first = {p.stem: (out / f"{p.stem}.json").read_text(encoding="utf-8") for p in files}
    writes.clear()
    report = batch()
    assert writes == [] and report.skipped == 3 and report.solved == 0 and report.workers == 0
    assert [r["skipped"] for r in read_csv(out / "batch.csv")] == ["True"] * 3
    assert [r.cost for r in report.rows] == [json.loads(first[p.stem])["cost"] for p in files]

    (out / "p1.json").unlink()
    (out / "p2.json").write_text('{"status": "feasible", "rou', encoding="utf-8")  # truncated: not a plan
    report = batch()
    assert sorted(writes) == ["p1", "p2"]
    assert [(r.name, r.skipped) for r in report.rows] == [("p0", True), ("p1", False), ("p2", False)]
    assert (out / "p0.json").read_text(encoding="utf-8") == first["p0"]
    check_plans(out, files)
    assert read_plan(out / "p2.json") is not None


def test_a_worker_killed_during_a_batch_loses_nothing_and_no_plan_is_written_twice(tmp_path):
    files = problem_files(tmp_path / "in", 6)
    writes: Counter[str] = Counter()
    killed: dict[str, Any] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as own, Client(own) as client:
        pids = client.run(os.getpid)

        def on_write(name: str, path: Path) -> None:
            writes[name] += 1
            if killed:
                return
            busy = {addr: keys for addr, keys in client.processing().items() if keys}
            addr = sorted(busy)[0]
            killed.update(addr=addr, pid=pids[addr], tasks=list(busy[addr]))
            os.kill(pids[addr], signal.SIGKILL)

        report = run_batch(files, "ortools", time_limit=0.3, outdir=tmp_path / "out",
                           scheduler=own.scheduler_address, on_write=on_write)
        assert killed["tasks"], "the killed worker was solving something"
        with pytest.raises(ProcessLookupError):
            for _ in range(50):  # the nanny reaps it
                os.kill(killed["pid"], 0)
                time.sleep(0.1)
        assert killed["addr"] not in client.scheduler_info()["workers"]
    assert writes == Counter({p.stem: 1 for p in files})
    check_plans(tmp_path / "out", files)
    assert report.feasible == 6 and report.failed == 0
    lost = {key[len("vrpkit-solve-"):-33] for key in killed["tasks"]}  # keys: vrpkit-solve-NAME-TOKEN
    assert lost <= {p.stem for p in files}
    assert all(r.worker != killed["addr"] for r in report.rows if r.name in lost), "lost tasks ran elsewhere"


def test_a_task_whose_worker_dies_too_often_is_an_error_row_and_a_rerun_solves_it(tmp_path):
    files = problem_files(tmp_path / "in", 4)
    out = tmp_path / "out"
    killed: dict[str, Any] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0", "allowed_failures": 0}) as own, \
            Client(own) as client:
        pids = client.run(os.getpid)

        def on_write(name: str, path: Path) -> None:
            if not killed:
                busy = sorted(addr for addr, keys in client.processing().items() if keys)
                killed.update(addr=busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)

        report = run_batch(files, "ortools", time_limit=0.3, outdir=out, scheduler=own.scheduler_address,
                           on_write=on_write)
        failed = [r for r in report.rows if r.status == "error"]
        assert failed and report.failed == len(failed) and report.feasible == 4 - len(failed)
        assert {r.error for r in failed} == {"its worker died too often while solving it (KilledWorker)"}
        assert not any((out / f"{r.name}.json").exists() for r in failed)
        assert [r["status"] for r in read_csv(out / "batch.csv")] == [r.status for r in report.rows]
        writes: list[str] = []
        again = run_batch(files, "ortools", time_limit=0.3, outdir=out, scheduler=own.scheduler_address,
                          on_write=lambda name, path: writes.append(name))
    assert sorted(writes) == sorted(r.name for r in failed)
    assert again.feasible == 4 and again.skipped == 4 - len(failed)
    check_plans(out, files)


def test_a_task_that_fails_on_its_worker_becomes_an_error(cluster, tmp_path):
    done: list[tuple[str, dict[str, Any]]] = []
    with Client(cluster) as client:
        run_jobs(client, [Job("gone", str(tmp_path / "gone.json"), "localsearch")], time_limit=0.2, seed=0,
                 on_done=lambda job, data: done.append((job.name, data)))
    [(name, data)] = done
    assert name == "gone" and data["status"] == "error"
    assert data["error"] == f"{tmp_path / 'gone.json'}: no such file"


def test_bench_with_workers_gives_the_serial_rows(cluster, tmp_path):
    x_dir = DATA / "cvrplib" / "X"
    if not x_dir.exists():
        pytest.skip(f"shared data not found: {x_dir}")
    spec = "ortools:solution_limit=1"  # the first solution: the same in every process
    serial = run_bench("cvrplib-x", x_dir, [spec], time_limit=5.0, smallest=2)
    parallel = run_bench("cvrplib-x", x_dir, [spec], time_limit=5.0, smallest=2, csv_path=tmp_path / "b.csv",
                         scheduler=cluster.scheduler_address)
    assert [r.instance for r in parallel] == ["X-n101-k25", "X-n106-k14"]
    drop = {"runtime": 0.0}
    assert [r.__class__(**{**r.__dict__, **drop}) for r in parallel] == \
        [r.__class__(**{**r.__dict__, **drop}) for r in serial]
    rows = read_csv(tmp_path / "b.csv")
    assert tuple(rows[0]) == BENCH_COLUMNS and sorted(r["instance"] for r in rows) == ["X-n101-k25", "X-n106-k14"]


# -- the command -----------------------------------------------------------------------------------------------


def vrpkit_cli(*args: str | Path, pre: str = "") -> subprocess.CompletedProcess[str]:
    """``vrpkit ARGS`` in a subprocess; ``pre`` is Python run first (to hide a package)."""
    code = f"{pre}\nimport sys\nfrom vrpkit.cli import main\nsys.argv = ['vrpkit', *sys.argv[1:]]\nmain()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})


def one_error_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_cli_batch_on_a_given_scheduler_writes_plans_table_and_csv(cluster, tmp_path):
    files = problem_files(tmp_path / "in", 1, tiny=True)
    out = tmp_path / "out"
    result = vrpkit_cli("batch", *files, "-o", out, "--solver", "ortools", "--time-limit", "0.2",
                        "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr
    assert "feasible" in result.stdout and "2/2 feasible" in result.stdout
    assert "batch: 2 problems, 0 skipped" in result.stderr and "2/2" in result.stderr
    check_plans(out, files)
    again = vrpkit_cli("batch", *files, "-o", out, "--solver", "ortools", "--time-limit", "0.2",
                       "--scheduler", cluster.scheduler_address)
    assert again.returncode == 0 and "all 2 skipped" in again.stderr, again.stderr


def test_cli_batch_refuses_bad_input_before_any_work(tmp_path):
    [good] = problem_files(tmp_path, 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TINY, "clients": [{**TINY["clients"][0], "delivery": -1}]}), encoding="utf-8")
    out = tmp_path / "out"
    assert one_error_line(vrpkit_cli("batch", good, tmp_path / "missing.json", "-o", out)) == \
        f"error: {tmp_path / 'missing.json'}: no such file"
    line = one_error_line(vrpkit_cli("batch", good, bad, "-o", out, "--solver", "localsearch"))
    assert line.startswith(f"error: {bad}: clients[0].delivery")
    assert one_error_line(vrpkit_cli("batch", good, "-o", out, "--solver", "nope")).startswith(
        'error: unknown solver "nope"')
    assert one_error_line(vrpkit_cli("batch", good, "-o", out, "--workers", "2", "--scheduler",
                                     "tcp://127.0.0.1:8786")) == \
        "error: --scheduler: give --scheduler or --workers, not both"
    assert one_error_line(vrpkit_cli("batch", good, "-o", out, "--workers", "0")) == \
        "error: --workers: 0 is not a positive number of workers"
    assert one_error_line(vrpkit_cli("batch", good, "-o", out, "--scheduler", "localhost")) == \
        'error: --scheduler: "localhost" is not an address tcp://HOST:PORT'
    hide = "import sys\nsys.modules['distributed'] = None"
    assert one_error_line(vrpkit_cli("batch", good, "-o", out, pre=hide)) == \
        "error: vrpkit batch needs dask.distributed: pip install 'vrpkit[dist]'"
    assert not out.exists()  # nothing was started
