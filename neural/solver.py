"""The neural solver (``solver="neural"``): the policy's plans, then the compiled local search.

``vrpkit solve FILE --solver neural[:checkpoint=FILE,augment=8,samples=N,polish=S]``: the policy of
``checkpoint`` (default: the shipped :data:`DEFAULT_CHECKPOINT`) builds, greedily, one plan per start client
(POMO's multi-start) on each of ``augment`` dihedral transformations of the coordinates (x8 at most;
problems without coordinates get one), plus about ``samples`` sampled plans; the cheapest by the environment's
cost (the evaluator's) is kept, and the local search (:func:`vrpkit.solvers.localsearch.improve`, with
perturbation) polishes it for ``polish`` seconds (``polish=0``: the raw neural plan; the default: whatever
the time limit leaves). :meth:`NeuralSolver.solve_many` builds the plans of many problems in batches.
Without ``checkpoint``, problems on real roads (:func:`on_roads`: explicit matrices or a road provider's) get
the shipped road model :data:`ROAD_CHECKPOINT` (graph layers; :data:`ROAD_MATRIX_CHECKPOINT`, the attention-bias
model, where ``torch_geometric`` is not installed), the others :data:`DEFAULT_CHECKPOINT`; ``stats["checkpoint"]``
names the weights that planned.

Refused (:meth:`NeuralSolver.supports`, naming the attributes): whatever the environment does not model
(:data:`vrpkit.neural.env.SUPPORTED`), among them a real fleet's skills, breaks, multi-trip, shipments and release
times.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from vrpkit.neural.env import Batch, RoutingEnv, State, check, to_batch
from vrpkit.neural.policy import Policy, dihedral
from vrpkit.neural.train import load_policy

from vrpkit.errors import NoSolutionError, SolverError, ValidationError
from vrpkit.evaluate import evaluate
from vrpkit.model import Problem
from vrpkit.solution import Solution

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "cvrp.pt"
"""The shipped weights (see the README's model card)."""
ROAD_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "roads.pt"
"""The shipped weights for problems on real roads: graph layers over the 16 nearest by road, fine-tuned on
Monaco's streets with OSRM matrices (record in ``weights/roads.json``); needs ``torch_geometric``."""
ROAD_MATRIX_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "roads_matrix.pt"
"""The road weights without ``torch_geometric``: the distance/duration attention bias (``matrix=True``), trained
as :data:`ROAD_CHECKPOINT` was."""
ROAD_PROVIDERS = ("explicit", "osrm", "osm")
"""Matrix providers whose matrices are real roads (or given as they are): :func:`on_roads`."""


def on_roads(problem: Problem) -> bool:
    """Whether ``problem``'s matrices come from :data:`ROAD_PROVIDERS` (not from its coordinates)."""
    return (problem.matrix or {}).get("provider") in ROAD_PROVIDERS


def road_checkpoint() -> Path | None:
    """The shipped road weights this installation can run (:data:`ROAD_CHECKPOINT` with ``torch_geometric``,
    else :data:`ROAD_MATRIX_CHECKPOINT`), None when neither is installed."""
    name = "torch_geometric"  # looked up, not imported (the import takes seconds)
    found = sys.modules[name] is not None if name in sys.modules else importlib.util.find_spec(name) is not None
    choices = (ROAD_CHECKPOINT, ROAD_MATRIX_CHECKPOINT) if found else (ROAD_MATRIX_CHECKPOINT,)
    return next((path for path in choices if path.is_file()), None)


def repeat_batch(batch: Batch, times: int) -> Batch:
    """``batch`` with its problems repeated ``times`` times (copy ``a`` of problem ``b`` is row
    ``a * B + b``)."""
    if times == 1:
        return batch

    def rep(x: torch.Tensor) -> torch.Tensor:
        return x.repeat(times, *([1] * (x.dim() - 1)))

    tensors = {name: rep(getattr(batch, name))
               for name in ("dist", "dur", "node", "start", "end", "vt", "start_nodes", "end_nodes", "counts",
                            "required", "exists", "prize", "use_time", "strict", "exact")}
    return replace(batch, problems=batch.problems * times, features={k: rep(x) for k, x in batch.features.items()},
                   scales={k: rep(x) for k, x in batch.scales.items()}, **tensors)


def augmented_locs(batch: Batch, which: int | Sequence[int]) -> torch.Tensor:
    """The coordinate features of :func:`repeat_batch` ``(batch, len(which))``, copy ``i`` under dihedral
    transformation ``which[i]`` (``which`` an int: ``range(which)``; unchanged for problems without
    coordinates)."""
    locs, has = batch.features["locs"], batch.features["has_locs"][:, None, None]
    ks = range(which) if isinstance(which, int) else which
    return torch.cat([torch.where(has, dihedral(locs, k), locs) for k in ks], 0)


class NeuralSolver:
    """See the module. Options: ``checkpoint`` (a file written by ``vrpkit train``), ``augment`` (1-8),
    ``samples`` (0: greedy only), ``polish`` (seconds; None: the rest of the time limit), ``starts`` (None:
    one per client), ``device`` (``cpu`` or ``cuda``), ``batch`` (problems per forward pass in
    :meth:`solve_many`)."""

    name = "neural"

    def __init__(self, checkpoint: str | Path | None = None, augment: int = 8, samples: int = 0,
                 polish: float | None = None, starts: int | None = None, device: str = "cpu",
                 batch: int = 32) -> None:
        for key, value, low in (("augment", augment, 1), ("samples", samples, 0), ("batch", batch, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValidationError(key, f"expected an integer >= {low}, got {value!r}")
        if augment > 8:
            raise ValidationError("augment", f"at most 8 (the dihedral transformations), got {augment}")
        if starts is not None and (isinstance(starts, bool) or not isinstance(starts, int) or starts < 1):
            raise ValidationError("starts", f"expected a positive integer, got {starts!r}")
        if polish is not None and (isinstance(polish, bool) or not isinstance(polish, int | float)
                                   or not polish >= 0 or not math.isfinite(polish)):
            raise ValidationError("polish", f"expected a number of seconds >= 0, got {polish!r}")
        if device not in ("cpu", "cuda"):
            raise ValidationError("device", f'expected "cpu" or "cuda", got {device!r}')
        if device == "cuda" and not torch.cuda.is_available():
            raise SolverError('solver "neural": device cuda is not available on this machine')
        path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        if checkpoint is None and not path.is_file():
            raise SolverError(f'solver "neural": the shipped weights {path} are missing; give checkpoint=FILE')
        self.checkpoint = path
        self.augment, self.samples, self.polish, self.starts = augment, samples, polish, starts
        self.device, self.batch = torch.device(device), batch
        self.policy: Policy = load_policy(path, device=self.device)
        self.road_checkpoint = road_checkpoint() if checkpoint is None else None
        self._road_policy: Policy | None = None

    def policy_for(self, problem: Problem) -> tuple[Policy, Path]:
        """The policy that plans ``problem`` and its checkpoint (the road model for :func:`on_roads` problems
        when no checkpoint was given)."""
        if self.road_checkpoint is None or not on_roads(problem):
            return self.policy, self.checkpoint
        if self._road_policy is None:
            self._road_policy = load_policy(self.road_checkpoint, device=self.device)
        return self._road_policy, self.road_checkpoint

    def supports(self, problem: Problem) -> str | None:
        """None, or why the policy cannot plan ``problem``: the attributes its environment lacks, named (among
        them a real fleet's: skills, breaks, multi_trip, shipments, release_times, which ortools handles)."""
        try:
            check(problem)
        except ValidationError as err:
            return err.reason + ("; try the ortools solver" if problem.fleet else "")
        return None

    # -- construction ------------------------------------------------------------------------------------

    @torch.no_grad()
    def construct(self, problems: Sequence[Problem], *, seed: int = 0, deadline: float = math.inf
                  ) -> list[tuple[Solution, dict[str, Any]]]:
        """The best neural plan of each problem (greedy multi-start x augmentation, then sampling until
        ``samples`` plans or ``deadline``, a :func:`time.perf_counter` value) and its statistics.

        With a finite ``deadline`` the identity copy is decoded first and the other transformations only
        when, at the identity's pace, they take at most half the time left (the rest is the polish's);
        ``stats["augment"]`` says how many were decoded; ``stats["checkpoint"]`` which weights planned."""
        chosen = [self.policy_for(p) for p in problems]
        out: list[tuple[Solution, dict[str, Any]] | None] = [None] * len(problems)
        for path in dict.fromkeys(c[1] for c in chosen):  # each checkpoint's problems, in their order
            idx = [i for i, c in enumerate(chosen) if c[1] == path]
            built = self._construct(chosen[idx[0]][0], path, [problems[i] for i in idx], seed, deadline)
            for i, item in zip(idx, built, strict=True):
                out[i] = item
        return [item for item in out if item is not None]

    def _construct(self, policy: Policy, path: Path, problems: Sequence[Problem], seed: int, deadline: float
                   ) -> list[tuple[Solution, dict[str, Any]]]:
        out: list[tuple[Solution, dict[str, Any]]] = []
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        for lo in range(0, len(problems), self.batch):
            chunk = list(problems[lo:lo + self.batch])
            t0 = time.perf_counter()
            bt = to_batch(chunk, device=self.device)
            B, N = len(chunk), bt.shape[2]
            starts = self.starts or N
            aug = self.augment if bool(bt.features["has_locs"].any()) else 1
            plain = RoutingEnv(bt)
            stages = [list(range(aug))] if math.isinf(deadline) else [[0], list(range(1, aug))]
            cost = actions = None
            done = 0
            for stage in filter(None, stages):
                if cost is not None:
                    pace = (time.perf_counter() - t0) / done
                    if pace * len(stage) > 0.5 * (deadline - time.perf_counter()):
                        break
                env = plain if len(stage) == 1 else RoutingEnv(repeat_batch(bt, len(stage)))
                state, _ = policy(env, starts, decode="greedy", locs=augmented_locs(bt, stage))
                c, a = self._ranked(env, state, len(stage), B)
                cost, actions = (c, a) if cost is None else (torch.cat([cost, c], 1), _cat_actions(actions, a))
                done += len(stage)
            assert cost is not None and actions is not None
            plans = done * starts
            sampled = 0
            if self.samples:
                while sampled < self.samples and time.perf_counter() < deadline:
                    state, _ = policy(plain, starts, decode="sampling", generator=gen)
                    c2, a2 = self._ranked(plain, state, 1, B)
                    cost, actions = torch.cat([cost, c2], 1), _cat_actions(actions, a2)
                    sampled += starts
            best = cost.argmin(1)
            pick = actions[torch.arange(B, device=self.device), best]
            final = State(done=torch.ones((B, 1), dtype=torch.bool, device=self.device), actions=pick[:, None],
                          step=pick.shape[-1])
            sols = plain.solutions(final)
            elapsed = time.perf_counter() - t0
            for b in range(B):
                stats = {"neural_plans": plans + sampled, "augment": done, "starts": starts,
                         "neural_time": round(elapsed / B, 4), "checkpoint": path.name}
                routes = tuple(r for r in sols[b][0].routes if r.clients)  # the empty route that ends a plan
                out.append((Solution(routes, stats), stats))
        return out

    @staticmethod
    def _ranked(env: RoutingEnv, state: State, aug: int, B: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Costs (B, aug * S) with plans that miss required clients ranked after every complete plan
        (by how many they miss), and their actions (B, aug * S, T)."""
        cost = env.cost(state) + state["missing"].to(torch.float64) * 1e30
        S, T = cost.shape[1], state["actions"].shape[-1]
        cost = cost.view(aug, B, S).permute(1, 0, 2).reshape(B, aug * S)
        actions = state["actions"].view(aug, B, S, T).permute(1, 0, 2, 3).reshape(B, aug * S, T)
        return cost, actions

    # -- solving -----------------------------------------------------------------------------------------

    def _polish(self, problem: Problem, plan: Solution, budget: float, seed: int) -> Solution:
        from vrpkit.solvers.localsearch import improve, unsupported

        if budget <= 0 or unsupported(problem):
            return plan
        polished = improve(problem, plan, time_limit=budget, seed=seed, perturb=True)
        return Solution(polished.routes, {**plan.stats, **polished.stats, "polish": round(budget, 4)})

    def solve(self, problem: Problem, *, time_limit: float, seed: int, progress: Any) -> Solution | None:
        from vrpkit.diagnose import diagnose

        start = time.perf_counter()
        reasons = diagnose(problem)
        if reasons:
            raise NoSolutionError("no feasible plan exists", reasons)
        plan, _ = self.construct([problem], seed=seed, deadline=start + time_limit)[0]
        raw = evaluate(problem, plan)
        plan = Solution(plan.routes, {**plan.stats, "neural_cost": raw.cost,
                                      "neural_feasible": raw.feasible})
        if raw.feasible:
            progress.update(raw.cost)
        left = time_limit - (time.perf_counter() - start)
        budget = left if self.polish is None else min(self.polish, max(left, 0.0))
        plan = self._polish(problem, plan, budget, seed)
        ev = evaluate(problem, plan)
        if ev.feasible:
            progress.update(ev.cost)
        return plan

    def solve_many(self, problems: Sequence[Problem], *, time_limit: float | None = None, seed: int = 0
                   ) -> list[Any]:
        """:class:`~vrpkit.solvers.base.Result` of each problem: plans built ``batch`` problems at a time,
        then each polished for ``polish`` seconds (None: ``time_limit`` seconds per problem less its share of
        the construction; neither: no polish), every plan scored by the evaluator."""
        from vrpkit.solvers.base import Result

        for i, p in enumerate(problems):
            check(p, f"problems[{i}]")
        built = self.construct(problems, seed=seed)
        results = []
        for p, (plan, stats) in zip(problems, built, strict=True):
            raw = evaluate(p, plan)
            plan = Solution(plan.routes, {**stats, "neural_cost": raw.cost, "neural_feasible": raw.feasible})
            if self.polish is not None:
                budget = self.polish
            elif time_limit is not None:
                budget = time_limit - stats["neural_time"]
            else:
                budget = 0.0
            plan = self._polish(p, plan, budget, seed)
            stats = {"solver": self.name, "seed": int(seed), **plan.stats}
            results.append(Result(p, plan, evaluate(p, plan), stats))
        return results


def _cat_actions(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Actions of two rollouts side by side (padded with -1 to the longer one)."""
    t = max(a.shape[-1], b.shape[-1])
    pad = [torch.nn.functional.pad(x, (0, t - x.shape[-1]), value=-1) for x in (a, b)]
    return torch.cat(pad, 1)


__all__ = ["DEFAULT_CHECKPOINT", "ROAD_CHECKPOINT", "ROAD_MATRIX_CHECKPOINT", "ROAD_PROVIDERS", "NeuralSolver",
           "augmented_locs", "on_roads", "repeat_batch", "road_checkpoint"]
