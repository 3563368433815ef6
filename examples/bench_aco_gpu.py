"""The ant colony on torch (a GPU, or torch on the CPU) side by side with the compiled CPU colony, on a batch
of generated CVRP instances.

Both backends run the same colony (``ACOSolver`` options: ``--ants``, ``--iterations``, ``--ls-ants``) on
``uniform_instance(--clients, seed=s)`` for s = 0 .. N-1. The torch backend solves the N instances as one
batch (:func:`vrpkit.solvers.aco_torch.solve_many_torch`); the compiled backend solves them one after the
other (``ACOSolver.solve_many``), or only the first ``--cpu-sample`` K of them. Every plan is costed by the
evaluator. The table gives wall time, instances per second and the mean cost, over all N instances for
torch and over the K for both.

Usage::

    python examples/bench_aco_gpu.py                         # 1000 instances, cuda if available
    python examples/bench_aco_gpu.py --n 32 --iterations 20 --cpu-sample 32
    python examples/bench_aco_gpu.py --n 1000 --cpu-sample 50 --ls-ants 0   # constructions only

The time limit per instance (``--time-limit``) is high by default so that ``--iterations`` ends every run;
a torch batch of N instances gets N times it.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

from vrpkit.evaluate import Evaluation
from vrpkit.generate import uniform_instance
from vrpkit.solution import Solution


def device_info(device: str) -> list[str]:
    """Lines describing torch, the chosen device and the CPU."""
    import torch

    lines = [f"python {platform.python_version()}, torch {torch.__version__} "
             f"(CUDA build: {torch.version.cuda or 'none'}), CPU threads for torch: {torch.get_num_threads()}, "
             f"CPU cores: {os.cpu_count()}"]
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        lines.append(f"GPU {index}: {props.name}, {props.total_memory / 2**30:.1f} GiB, "
                     f"compute capability {props.major}.{props.minor}, {props.multi_processor_count} SMs")
    return lines


def summary(results: list[tuple[Solution | None, Evaluation | None]]) -> tuple[float, int]:
    """Mean evaluator cost over the feasible plans, and how many there are."""
    costs = [ev.cost for _, ev in results if ev is not None and ev.feasible]
    return (statistics.fmean(costs) if costs else math.nan), len(costs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="instances (default: 1000)")
    parser.add_argument("--clients", type=int, default=100, help="clients per instance (default: 100)")
    parser.add_argument("--device", default=None, help='torch device: "cuda", "cuda:N" or "torch" (CPU); '
                        "default: cuda if available, else torch")
    parser.add_argument("--iterations", type=int, default=20, help="colony iterations (default: 20)")
    parser.add_argument("--ants", type=int, default=20, help="ants per iteration (default: 20)")
    parser.add_argument("--ls-ants", type=int, default=1, help="ants improved by the local search per "
                        "iteration (default: 1; 0 keeps the torch run on the device)")
    parser.add_argument("--cpu-sample", type=int, default=None, help="solve only the first K instances with "
                        "the compiled CPU backend (default: all)")
    parser.add_argument("--time-limit", type=float, default=3600.0, help="seconds per instance (default: 3600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-cpu", action="store_true", help="run the torch backend only")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's; 1 is "
                        "much faster on a busy machine)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.iterations < 1 or args.ants < 1:
        parser.error("--n, --iterations and --ants must be positive")

    try:
        import torch
    except ImportError:
        sys.exit('torch is not installed: pip install "vrpkit[gpu]"')
    from vrpkit.solvers.aco import ACOSolver, warm_up
    from vrpkit.solvers.aco_torch import resolve_device, solve_many_torch

    from vrpkit.errors import SolverError

    if args.threads is not None:
        torch.set_num_threads(max(1, args.threads))
    device = args.device or ("cuda" if torch.cuda.is_available() else "torch")
    try:
        dev = resolve_device(device)
    except SolverError as err:
        sys.exit(str(err))
    console = Console(width=120)
    for line in device_info(str(dev) if dev.type == "cuda" else "cpu"):
        console.print(line)
    params = ACOSolver(ants=args.ants, iterations=args.iterations, ls_ants=args.ls_ants)
    sample = args.n if args.cpu_sample is None else max(1, min(args.cpu_sample, args.n))
    console.print(f"{args.n} instances uniform_instance({args.clients}, seed=s), s = {args.seed} .. "
                  f"{args.seed + args.n - 1}; {args.ants} ants, {args.iterations} iterations, "
                  f"ls_ants {args.ls_ants}; compiled CPU backend on the first {sample}")
    start = time.perf_counter()
    problems = [uniform_instance(args.clients, seed=args.seed + s) for s in range(args.n)]
    console.print(f"generated in {time.perf_counter() - start:.1f} s")

    # Warm up both backends (compilation, CUDA context) outside the timings.
    warm_up()
    solve_many_torch(problems[:2], ACOSolver(ants=2, iterations=1, ls_ants=min(1, args.ls_ants)), device=device,
                     time_limit=60, seed=0)

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    start = time.perf_counter()
    on_torch = solve_many_torch(problems, params, device=device, time_limit=args.time_limit, seed=args.seed)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    torch_time = time.perf_counter() - start
    if dev.type == "cuda":
        console.print(f"peak GPU memory: {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")

    table = Table("backend", "device", "instances", "feasible", "wall time (s)", "instances/s", "mean cost",
                  title=f"ACO on CVRP{args.clients}, {args.iterations} iterations, {args.ants} ants, "
                        f"ls_ants {args.ls_ants}")
    mean_all, feasible_all = summary(on_torch)
    table.add_row("torch", str(dev), str(args.n), str(feasible_all), f"{torch_time:.2f}",
                  f"{args.n / torch_time:.2f}", f"{mean_all:.2f}")
    if sample < args.n:
        mean_k, feasible_k = summary(on_torch[:sample])
        table.add_row(f"torch, first {sample}", str(dev), str(sample), str(feasible_k), "", "", f"{mean_k:.2f}")
    mean_torch_k, _ = summary(on_torch[:sample])
    if not args.skip_cpu:
        start = time.perf_counter()
        on_cpu = params.solve_many(problems[:sample], time_limit=args.time_limit, seed=args.seed)
        cpu_time = time.perf_counter() - start
        mean_cpu, feasible_cpu = summary(on_cpu)
        table.add_row("numba", "cpu (1 core)", str(sample), str(feasible_cpu), f"{cpu_time:.2f}",
                      f"{sample / cpu_time:.2f}", f"{mean_cpu:.2f}")
    console.print(table)
    if not args.skip_cpu:
        console.print(f"torch / numba: {(args.n / torch_time) / (sample / cpu_time):.2f}x the instances per "
                      f"second; mean cost over the first {sample}: {mean_torch_k / mean_cpu:.4f} of numba's")


if __name__ == "__main__":
    main()
