"""Training of the neural policy with reinforcement learning (POMO) on generated instances.

Each step draws ``batch`` instances of RouteFinder's distribution (:mod:`vrpkit.generate`), each of a variant
drawn uniformly from ``variants`` (so one batch mixes variants, padded by :func:`vrpkit.neural.env.to_batch`),
rolls out ``starts`` plans of each by sampling, POMO's multi-start (rollout ``s`` serves client ``s`` first),
and follows REINFORCE with POMO's shared baseline: the advantage of a plan is its reward minus the mean reward
of the plans of its instance. Rewards are minus the cost divided by the instance's cost scale (the env's
``scales["cost"]``), and the advantages of each variant are divided by a running mean of their spread in that
variant (per-variant reward normalisation, so that no variant's scale dominates the gradient). A plan that
leaves required clients out (a bounded fleet) pays twice the cost scale for each. AdamW, gradient clipping,
bf16 autocast on CUDA only.

With ``roads`` (an OpenStreetMap extract, ``--roads FILE.osm.pbf``) the instances are CVRPs on real roads
instead: a seeded pool of ``roads_pool`` street locations of the extract with one OSRM table
(:func:`vrpkit.roads.generate.street_pool`, computed once and cached), each instance ``size + 1`` locations of
the pool (the depot first) with demands and capacity as :func:`~vrpkit.roads.generate.generate_osm_instance`
makes them (:class:`RoadSampler`); the validation set is ``generate_osm_instance(roads, size, seed=val_seed +
i)``. ``--init FILE`` starts from another checkpoint's weights (those whose names and shapes match; the new
attention bias or graph blocks start at zero: :meth:`~vrpkit.neural.policy.Policy.warm_start`) with a fresh
optimiser.

After each epoch the policy decodes fixed seeded validation sets (``val_count`` instances per variant, seed
``val_seed``; greedy, every start) and reports the mean gap to reference costs, stored in
``references.json`` (the package's :data:`REFERENCES`, then ``DIR/references.json``; missing ones are
computed once by PyVRP, or the ant colony where PyVRP lacks an attribute, at ``ref_time`` seconds each).

Checkpoints (``DIR/checkpoint.pt``, after every epoch and at the time limit) hold the training config, the
policy's config and weights, the optimiser's state, the data and sampling RNG states, the normalisation and
the history: ``--resume`` continues exactly where the run stopped (the same numbers as a run without a stop).
A resumed run keeps the checkpoint's config except for the options given again (a curriculum: resume with a
larger ``--size`` or more ``--variants``); a checkpoint without optimiser state (the shipped weights) starts a
fresh optimiser.

``python -m vrpkit.neural.train ...`` (the same options as ``vrpkit train``) under ``torchrun
--nproc-per-node K`` trains with DDP (gloo on the CPU, nccl on CUDA): each rank draws its own instances
(seed offset by its rank), gradients are averaged, rank 0 validates and writes. ``--preset gpu`` is a
prepared run for one H200 that stops after 8.5 minutes (``--time-limit``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from vrpkit.neural.env import RoutingEnv, to_batch
from vrpkit.neural.policy import Policy, PolicyConfig, check_fields

from vrpkit.errors import ValidationError
from vrpkit.generate import generate_many, parse_variant, sample_routefinder
from vrpkit.model import Problem

CHECKPOINT = "checkpoint.pt"
REFERENCES = Path(__file__).resolve().parent / "weights" / "references.json"
"""Reference costs of the validation sets shipped with the package (name -> cost, solver, time limit)."""


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does (stored in checkpoints). ``starts`` None: one per client (POMO)."""

    variants: tuple[str, ...] = ("cvrp",)
    size: int = 20
    epochs: int = 10
    steps_per_epoch: int = 50
    batch: int = 32
    starts: int | None = None
    lr: float = 3e-4
    weight_decay: float = 1e-2
    clip_grad: float = 1.0
    seed: int = 0
    device: str = "cpu"
    val_count: int = 16
    val_seed: int = 20261
    ref_time: float = 1.0
    time_limit: float | None = None
    log_every: int = 10
    missing_penalty: float = 2.0
    roads: str | None = None
    roads_pool: int = 1000

    def __post_init__(self) -> None:
        if self.roads is not None:
            if not Path(self.roads).is_file():
                raise ValidationError("roads", f"{self.roads}: no such file (an OpenStreetMap .osm.pbf extract)")
            if tuple(self.variants) != ("cvrp",):
                raise ValidationError("variants", f"roads trains on cvrp only, got {', '.join(self.variants)}")
            if isinstance(self.roads_pool, bool) or not isinstance(self.roads_pool, int) or \
                    self.roads_pool < self.size + 1:
                raise ValidationError("roads_pool", f"expected an integer >= size + 1 = {self.size + 1}, got "
                                      f"{self.roads_pool!r}")
        if not self.variants:
            raise ValidationError("variants", "give at least one variant")
        for i, v in enumerate(self.variants):
            try:
                parse_variant(v)
            except ValidationError as err:
                raise ValidationError(f"variants[{i}]", err.reason) from None
        for name in ("size", "epochs", "steps_per_epoch", "batch", "val_count", "log_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(name, f"expected a positive integer, got {value!r}")
        if self.starts is not None and (not isinstance(self.starts, int) or self.starts < 1):
            raise ValidationError("starts", f"expected a positive integer, got {self.starts!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValidationError("device", f'expected "cpu" or "cuda", got {self.device!r}')
        for name in ("lr", "ref_time"):
            if not getattr(self, name) > 0:
                raise ValidationError(name, f"expected a positive number, got {getattr(self, name)!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValidationError("time_limit", f"expected a positive number of seconds, got {self.time_limit!r}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["variants"] = list(self.variants)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        check_fields(cls, data, "config")
        data = dict(data)
        if "variants" in data:
            data["variants"] = tuple(data["variants"])
        return cls(**data)


PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cpu": ({"variants": ("cvrp",), "size": 50, "epochs": 20, "steps_per_epoch": 40, "batch": 16}, {}),
    "gpu": ({"variants": ("cvrp", "vrptw", "ovrp", "vrpb", "vrpl", "mdhfvrp"), "size": 100, "epochs": 1000,
             "steps_per_epoch": 20, "batch": 64, "device": "cuda", "time_limit": 510.0, "val_count": 32,
             "lr": 2e-4}, {"dim": 128, "layers": 4}),
}
"""name -> (training config, policy config): ``cpu`` one core's CVRP50, ``gpu`` mixed variants of 100 clients
on an H200 for 8.5 minutes."""


# -- reference costs ---------------------------------------------------------------------------------------


def _read_refs(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    with path.open() as fh:
        return json.load(fh)


def reference_costs(problems: Sequence[Problem], *, time_limit: float = 1.0, cache: Path | None = None,
                    log: IO[str] | None = None) -> list[float]:
    """The reference cost of each problem (by its name, from :data:`REFERENCES` and ``cache``), solving and
    storing in ``cache`` those missing: PyVRP (the ant colony where PyVRP lacks an attribute) for
    ``time_limit`` seconds, seed 0, cost by the evaluator (inf when no feasible plan was found)."""
    from vrpkit.solvers.base import get_solver, solve

    refs = {**_read_refs(REFERENCES), **(_read_refs(cache) if cache is not None else {})}
    missing = [p for p in problems if p.name not in refs]
    if missing:
        if log is not None:
            print(f"computing {len(missing)} reference costs ({time_limit:g} s each)", file=log, flush=True)
        for p in missing:
            try:
                name = "pyvrp" if get_solver("pyvrp").supports(p) is None else "aco"
            except Exception:  # pyvrp not installed: the ant colony
                name = "aco"
            result = solve(p, name, time_limit=time_limit, seed=0)
            refs[p.name] = {"cost": result.cost, "solver": name, "time_limit": time_limit}
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            stored = _read_refs(cache)
            stored.update({p.name: refs[p.name] for p in missing})
            cache.write_text(json.dumps(stored, indent=1, sort_keys=True))
    return [float(refs[p.name]["cost"]) for p in problems]


# -- one training step -------------------------------------------------------------------------------------


class RoadSampler:
    """CVRPs on the street pool of an extract (see the module): ``sample(rng, size, count)``."""

    def __init__(self, pbf: str | Path, pool: int, *, seed: int = 0) -> None:
        from vrpkit.roads.generate import street_pool

        self.pbf = Path(pbf)
        self.pool = street_pool(self.pbf, pool, seed=seed, threads=1)
        self.stem = self.pbf.name.split(".")[0]

    def draw(self, rng: np.random.Generator, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The pool indices (count, size + 1) of ``count`` instances, distinct per instance (the depot first),
        and their demands (count, size), integers 1-9."""
        P = len(self.pool["points"])
        nodes = np.argsort(rng.random((count, P)), axis=1)[:, :size + 1]
        return nodes, rng.integers(1, 10, size=(count, size))

    def sample(self, rng: np.random.Generator, size: int, count: int) -> list[Problem]:
        """``count`` instances of ``size`` clients on the pool (:meth:`draw`, then
        :func:`~vrpkit.roads.generate.pool_instance`)."""
        from vrpkit.roads.generate import pool_instance

        nodes, demands = self.draw(rng, size, count)
        return [pool_instance(self.pool, nodes[b], demands[b], name=f"{self.stem}-pool-n{size}")
                for b in range(count)]


_SAMPLERS: dict[tuple[str, int], RoadSampler] = {}


def road_sampler(cfg: TrainConfig) -> RoadSampler:
    """The :class:`RoadSampler` of ``cfg.roads`` (one per extract and pool size, built once per process)."""
    assert cfg.roads is not None
    key = (str(Path(cfg.roads).resolve()), cfg.roads_pool)
    if key not in _SAMPLERS:
        _SAMPLERS[key] = RoadSampler(cfg.roads, cfg.roads_pool)
    return _SAMPLERS[key]


def sample_problems(cfg: TrainConfig, rng: np.random.Generator) -> list[Problem]:
    """``cfg.batch`` instances of ``cfg.size`` clients, variants drawn uniformly from ``cfg.variants`` (on the
    street pool of ``cfg.roads`` when given)."""
    if cfg.roads is not None:
        return road_sampler(cfg).sample(rng, cfg.size, cfg.batch)
    picks = rng.integers(0, len(cfg.variants), size=cfg.batch)
    problems: list[Problem] = []
    for i, v in enumerate(cfg.variants):
        k = int((picks == i).sum())
        if k:
            rb = sample_routefinder(v, cfg.size, k, rng=rng)
            problems += [rb.problem(b) for b in range(k)]
    return problems


def plan_costs(env: RoutingEnv, state: Any, penalty: float) -> torch.Tensor:
    """The cost (B, S) of each finished plan in units of its instance's cost scale, plus ``penalty`` for
    each required client left out."""
    scale = env.batch.scales["cost"][:, None]
    return (env.cost(state) / scale + penalty * state["missing"]).float()


class Trainer:
    """A training run: the policy, its optimiser, the RNGs and the history (see the module)."""

    def __init__(self, cfg: TrainConfig, policy_cfg: PolicyConfig | None = None, *, out: Path,
                 log: IO[str] | None = sys.stderr, rank: int = 0, world: int = 1, ddp: bool = False) -> None:
        self.cfg, self.out, self.log, self.rank, self.world = cfg, out, log, rank, world
        if cfg.device == "cuda" and not torch.cuda.is_available():
            raise ValidationError("device", "cuda is not available on this machine")
        gpus = max(1, torch.cuda.device_count()) if cfg.device == "cuda" else 1
        self.device = torch.device("cpu" if cfg.device == "cpu" else f"cuda:{rank % gpus}")
        torch.manual_seed(cfg.seed)  # the initial weights
        self.policy = Policy(policy_cfg).to(self.device)
        self.optimizer = self._optimizer()
        self.rng = np.random.default_rng([cfg.seed, rank])
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1000 + rank)
        self.norm: dict[str, float] = {}
        self.step = 0
        self.epoch = 0
        self.epoch_step = 0
        self.history: list[dict[str, Any]] = []
        self.model: torch.nn.Module = self.policy
        if ddp:  # torch.distributed is initialised (torchrun): gradients averaged over the ranks
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.policy, device_ids=None if cfg.device == "cpu" else [self.device.index])

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.policy.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

    # -- checkpoints -------------------------------------------------------------------------------------

    def state_dict(self, *, optimizer: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": 1, "config": self.cfg.to_dict(), "policy": self.policy.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in self.policy.state_dict().items()},
            "step": self.step, "epoch": self.epoch, "epoch_step": self.epoch_step, "norm": dict(self.norm),
            "history": list(self.history),
            "rng": {"numpy": json.dumps(self.rng.bit_generator.state), "torch": self.gen.get_state().cpu(),
                    "torch_global": torch.get_rng_state()},
        }
        if optimizer:
            out["optimizer"] = self.optimizer.state_dict()
        return out

    def save(self, path: Path | None = None, *, optimizer: bool = True) -> Path:
        path = path or self.out / CHECKPOINT
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(optimizer=optimizer), tmp)
        os.replace(tmp, path)
        return path

    def load(self, ckpt: dict[str, Any]) -> None:
        """Continue from ``ckpt`` (:func:`load_checkpoint`): weights, optimiser, RNGs, counters."""
        self.policy.load_state_dict(ckpt["model"])
        self.step, self.epoch = int(ckpt["step"]), int(ckpt["epoch"])
        self.epoch_step = int(ckpt.get("epoch_step", 0))
        self.norm = {k: float(v) for k, v in ckpt.get("norm", {}).items()}
        self.history = list(ckpt.get("history", []))
        if "optimizer" in ckpt:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            for group in self.optimizer.param_groups:
                group["lr"], group["weight_decay"] = self.cfg.lr, self.cfg.weight_decay
        rng = ckpt.get("rng")
        if rng is not None and self.rank == 0:
            self.rng.bit_generator.state = json.loads(rng["numpy"])
            self.gen.set_state(rng["torch"])
            torch.set_rng_state(rng["torch_global"])
        elif self.rank > 0:  # other ranks: fresh streams that depend on where the run is
            self.rng = np.random.default_rng([self.cfg.seed, self.rank, self.step])
            self.gen.manual_seed(self.cfg.seed * 1000 + self.rank + 7919 * self.step)

    # -- training ----------------------------------------------------------------------------------------

    def train_step(self, problems: Sequence[Problem]) -> dict[str, float]:
        """One POMO step on ``problems``; returns the mean reward (minus the scaled cost) and the loss."""
        cfg = self.cfg
        self.policy.train()
        env = RoutingEnv(to_batch(problems, device=self.device))
        starts = cfg.starts or cfg.size
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            state, logp = self.model(env, starts, decode="sampling", generator=self.gen)
        cost = plan_costs(env, state, cfg.missing_penalty)
        reward = -cost
        adv = reward - reward.mean(1, keepdim=True)
        spread = adv.std(1).detach()
        names = [p.variant for p in problems]
        scale = torch.ones(len(problems), device=adv.device)
        for name in sorted(set(names)):
            idx = [i for i, n in enumerate(names) if n == name]
            value = float(spread[idx].mean())
            old = self.norm.get(name)
            self.norm[name] = value if old is None else 0.95 * old + 0.05 * value
            scale[idx] = max(self.norm[name], 1e-6)
        adv = adv / scale[:, None]
        loss = -(adv.detach() * logp.float()).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.clip_grad)
        self.optimizer.step()
        self.step += 1
        return {"reward": float(reward.mean().detach()), "loss": float(loss.detach()),
                "best": float(cost.min(1).values.mean().detach())}

    def validation_sets(self) -> dict[str, list[Problem]]:
        cfg = self.cfg
        if cfg.roads is not None:
            from vrpkit.roads.generate import generate_osm_instance

            return {"cvrp": [generate_osm_instance(cfg.roads, cfg.size, seed=cfg.val_seed + i, threads=1)
                             for i in range(cfg.val_count)]}
        return {v: generate_many(v, cfg.size, cfg.val_count, cfg.val_seed) for v in cfg.variants}

    @torch.no_grad()
    def validate(self, sets: dict[str, list[Problem]], refs: dict[str, list[float]]) -> dict[str, float]:
        """Mean gap (%) of the greedy multi-start plans to the references, per variant, and ``infeasible``:
        the share of instances without a feasible plan."""
        self.policy.eval()
        out: dict[str, float] = {}
        bad = total = 0
        for v, problems in sets.items():
            env = RoutingEnv(to_batch(problems, device=self.device))
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                state, _ = self.policy(env, self.cfg.size, decode="greedy")
            cost = env.cost(state).masked_fill(state["missing"] > 0, math.inf).min(1).values.cpu().numpy()
            ref = np.array(refs[v])
            ok = np.isfinite(cost) & np.isfinite(ref)
            bad += int((~np.isfinite(cost)).sum())
            total += len(problems)
            out[v] = float(100 * np.mean(cost[ok] / ref[ok] - 1)) if ok.any() else math.nan
        out["infeasible"] = bad / max(total, 1)
        return out

    def fit(self) -> dict[str, Any]:
        """Train until ``cfg.epochs`` epochs (counting those of a resumed run) or the time limit."""
        cfg, log, main = self.cfg, self.log, self.rank == 0
        sets = refs = None
        if main:
            sets = self.validation_sets()
            refs = {v: reference_costs(ps, time_limit=cfg.ref_time, cache=self.out / "references.json", log=log)
                    for v, ps in sets.items()}
        t0 = time.perf_counter()
        stopped = False
        val: dict[str, float] = {}
        while self.epoch < cfg.epochs and not stopped:
            seen, t_epoch, logs = 0, time.perf_counter(), []
            while self.epoch_step < cfg.steps_per_epoch:
                problems = sample_problems(cfg, self.rng)
                logs.append(self.train_step(problems))
                self.epoch_step += 1
                seen += len(problems) * self.world
                if main and log is not None and (self.step % cfg.log_every == 0):
                    rate = seen / (time.perf_counter() - t_epoch)
                    recent = logs[-cfg.log_every:]
                    reward, loss = np.mean([x["reward"] for x in recent]), np.mean([x["loss"] for x in recent])
                    print(f"epoch {self.epoch + 1} step {self.step} reward {reward:.4f} loss {loss:.4f} "
                          f"val_gap {_gap_text(val)} "
                          f"inst/s {rate:.1f}", file=log, flush=True)
                if cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
                    stopped = True
                    break
            if not stopped:
                self.epoch, self.epoch_step = self.epoch + 1, 0
            if main:
                assert sets is not None and refs is not None
                val = self.validate(sets, refs)
                record = {"epoch": self.epoch, "step": self.step, "wall": round(time.perf_counter() - t0, 1),
                          "reward": float(np.mean([x["reward"] for x in logs])) if logs else math.nan,
                          "loss": float(np.mean([x["loss"] for x in logs])) if logs else math.nan,
                          "val_gap": val, "size": cfg.size, "variants": list(cfg.variants)}
                self.history.append(record)
                path = self.save()
                if log is not None:
                    print(f"epoch {self.epoch} done: val_gap {_gap_text(val)} "
                          f"(infeasible {val['infeasible']:.0%}), {record['wall']:.0f} s, wrote {path}",
                          file=log, flush=True)
        return {"epoch": self.epoch, "step": self.step, "val_gap": val}


def _gap_text(val: dict[str, float]) -> str:
    gaps = [v for k, v in val.items() if k != "infeasible" and math.isfinite(v)]
    if not gaps:
        return "-"
    return f"{np.mean(gaps):.2f}%" + ("" if len(gaps) == 1 else " (" + ", ".join(
        f"{k} {v:.2f}%" for k, v in val.items() if k != "infeasible") + ")")


# -- checkpoints and entry points --------------------------------------------------------------------------


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint written by :meth:`Trainer.save`, read with ``torch.load(weights_only=True)``."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("checkpoint", f"{path}: no such file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValidationError("checkpoint", f"{path}: not a vrpkit checkpoint ({err.__class__.__name__})"
                              ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "policy" not in ckpt:
        raise ValidationError("checkpoint", f"{path}: not a vrpkit checkpoint (no model or policy config)")
    return ckpt


def load_policy(path: str | Path, *, device: str | torch.device = "cpu") -> Policy:
    """The policy of a checkpoint, in eval mode on ``device``."""
    ckpt = load_checkpoint(path, map_location=device)
    policy = Policy(PolicyConfig.from_dict(ckpt["policy"]))
    policy.load_state_dict(ckpt["model"])
    return policy.to(device).eval()


def run(*, out: Path, resume: Path | None = None, preset: str | None = None, log: IO[str] | None = sys.stderr,
        policy_options: dict[str, Any] | None = None, init: Path | None = None, **options: Any) -> dict[str, Any]:
    """Train (see the module): ``options`` are :class:`TrainConfig` fields (None: not given), on top of the
    preset, on top of the resumed checkpoint's config; ``init`` a checkpoint whose matching weights a fresh run
    starts from (its architecture is the default unless ``policy_options`` say otherwise). Under ``torchrun``
    (``WORLD_SIZE`` set) with DDP."""
    if init is not None and resume is not None:
        raise ValidationError("init", "give --init or --resume, not both")
    given = {k: v for k, v in options.items() if v is not None}
    base: dict[str, Any] = {}
    pol: dict[str, Any] = {}
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume)
        base = dict(ckpt.get("config", {}))
        pol = dict(ckpt["policy"])
    if preset is not None:
        if preset not in PRESETS:
            raise ValidationError("preset", f'"{preset}" is not one of {", ".join(PRESETS)}')
        base.update(PRESETS[preset][0])
        if ckpt is None:
            pol.update(PRESETS[preset][1])
    base.update(given)
    start = None
    if init is not None:
        start = load_checkpoint(init)
        pol = dict(start["policy"])
    if policy_options and ckpt is None:
        pol.update({k: v for k, v in policy_options.items() if v is not None})
    cfg = TrainConfig.from_dict(base)
    if ckpt is not None and preset is not None and "epochs" not in given:
        cfg = replace(cfg, epochs=int(ckpt["epoch"]) + cfg.epochs)  # a preset's epochs count from the resume
    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = "WORLD_SIZE" in os.environ
    rank = 0
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("gloo" if cfg.device == "cpu" else "nccl")
        rank = dist.get_rank()
    try:
        trainer = Trainer(cfg, PolicyConfig.from_dict(pol), out=Path(out), log=log if rank == 0 else None,
                          rank=rank, world=world if distributed else 1, ddp=distributed)
        if ckpt is not None:
            trainer.load(ckpt)
        if start is not None:
            fresh = trainer.policy.warm_start(start["model"])
            if log is not None and rank == 0:
                print(f"initialised from {init}; fresh: {', '.join(fresh) or 'none'}", file=log, flush=True)
        return trainer.fit()
    finally:
        if distributed:
            import torch.distributed as dist

            dist.destroy_process_group()


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m vrpkit.neural.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", help="comma-separated, e.g. cvrp,vrptw,ovrp (vrpkit.generate's names)")
    ap.add_argument("--size", type=int, help="clients per instance")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--steps-per-epoch", type=int)
    ap.add_argument("--batch", type=int, help="instances per step (per rank)")
    ap.add_argument("--starts", type=int, help="rollouts per instance (default: one per client)")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--device", choices=("cpu", "cuda"))
    ap.add_argument("--val-count", type=int, help="validation instances per variant")
    ap.add_argument("--ref-time", type=float, help="seconds per reference solve (PyVRP, else aco)")
    ap.add_argument("--time-limit", type=float, help="stop (and checkpoint) after this many seconds")
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    ap.add_argument("--dim", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--matrix", action="store_true", default=None, help="distance/duration attention bias")
    ap.add_argument("--graph", type=int, help="neighbours per node of the graph layers (torch_geometric)")
    ap.add_argument("--roads", help="train on CVRPs on the streets of this .osm.pbf extract (OSRM matrices)")
    ap.add_argument("--roads-pool", type=int, help="street locations in the road pool (1000)")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's matching weights (fresh optimiser)")
    ap.add_argument("--resume", type=Path)
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out", type=Path, required=True)
    return ap


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    variants = None if args.variants is None else tuple(v.strip() for v in args.variants.split(",") if v.strip())
    try:
        result = run(out=args.out, resume=args.resume, preset=args.preset, variants=variants, size=args.size,
                     epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch=args.batch,
                     starts=args.starts, lr=args.lr, seed=args.seed, device=args.device, val_count=args.val_count,
                     ref_time=args.ref_time, time_limit=args.time_limit, roads=args.roads,
                     roads_pool=args.roads_pool, init=args.init,
                     policy_options={"dim": args.dim, "layers": args.layers, "heads": args.heads,
                                     "matrix": args.matrix, "graph": args.graph})
    except ValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()


__all__ = ["CHECKPOINT", "PRESETS", "RoadSampler", "TrainConfig", "Trainer", "load_checkpoint", "load_policy",
           "reference_costs", "run"]
