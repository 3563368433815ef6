"""The neural policy, its training and the neural solver (``vrpkit.neural.policy``, ``.train``, ``.solver``):
decoded plans are feasible for the evaluator at the environment's cost on many attribute combinations,
checkpoints resume exactly, training lowers the cost of a tiny problem, the DDP entry point runs, and
``--solver neural`` solves files with exact, hand-checked costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import corner, tight_fleet, two_depot_line  # noqa: E402
from typer.testing import CliRunner  # noqa: E402
from vrpkit.neural.env import RoutingEnv, to_batch  # noqa: E402
from vrpkit.neural.policy import Policy, PolicyConfig, dihedral  # noqa: E402
from vrpkit.neural.solver import DEFAULT_CHECKPOINT, NeuralSolver, augmented_locs, repeat_batch  # noqa: E402
from vrpkit.neural.train import TrainConfig, Trainer, load_checkpoint, load_policy  # noqa: E402

from vrpkit import Problem, ValidationError, VehicleType, evaluate, solve  # noqa: E402
from vrpkit.cli import app  # noqa: E402
from vrpkit.generate import generate  # noqa: E402

TINY = PolicyConfig(dim=32, layers=2, heads=4, ff=64)
VARIANTS = ("cvrp", "ovrp", "vrptw", "vrpb", "vrpmb", "vrpl", "ovrpbltw", "vrpmbtw", "mdvrp", "hfvrp", "pcvrp",
            "vrpmtw", "mdhfpcvrpmtw", "hfovrpmbl")


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of an untrained tiny policy (seed 0)."""
    out = tmp_path_factory.mktemp("tiny")
    return Trainer(TrainConfig(size=6, batch=2), TINY, out=out, log=None).save()


def check_plans(problems: list[Problem], policy: Policy, decode: str, starts: int = 6) -> int:
    """Every plan the policy decodes is feasible for the evaluator (but for the required clients the state
    says are missing) at the environment's cost to 1e-6; returns the number of plans."""
    env = RoutingEnv(problems)
    with torch.no_grad():
        state, logp = policy(env, starts, decode=decode, generator=torch.Generator().manual_seed(1))
    assert bool(state["done"].all())
    assert bool(torch.isfinite(logp).all()) and float(logp.max()) <= 0
    cost = env.cost(state)
    n = 0
    for b, plans in enumerate(env.solutions(state)):
        for s, plan in enumerate(plans):
            ev = evaluate(problems[b], plan)
            others = [v for v in ev.violations if v.constraint != "missing_client"]
            assert others == [], (problems[b].name, s, others)
            assert len(ev.violations) == int(state["missing"][b, s])
            assert ev.cost == pytest.approx(float(cost[b, s]), abs=1e-6, rel=0)
            n += 1
    return n


@pytest.mark.parametrize("matrix", [False, True])
@pytest.mark.parametrize("decode", ["greedy", "sampling"])
def test_decoded_plans_feasible_on_every_attribute_combination(matrix, decode):
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(dim=32, layers=2, heads=4, ff=64, matrix=matrix)).eval()
    problems = [generate(v, 9, seed=i) for i, v in enumerate(VARIANTS)]
    problems += [corner(capacity=1), corner(end_depot=None, max_distance=8), tight_fleet(),
                 two_depot_line(VehicleType("v1", start_depot="D1"), VehicleType("v2", start_depot="D2"))]
    assert check_plans(problems, policy, decode) == len(problems) * 6
    # one batch mixes shapes; the same problems alone give the same plans
    env = RoutingEnv(problems[:3])
    with torch.no_grad():
        mixed, _ = policy(env, 6)
        alone, _ = policy(RoutingEnv(problems[2:3]), 6)
    assert torch.equal(env.cost(mixed)[2], RoutingEnv(problems[2:3]).cost(alone)[0])


def test_multistart_forces_distinct_first_clients():
    policy = Policy(TINY).eval()
    p = generate("cvrp", 7, seed=3)
    env = RoutingEnv([p])
    with torch.no_grad():
        state, _ = policy(env, 7)
    firsts = [plan.routes[0].clients[0] for plan in env.solutions(state)[0]]
    assert firsts == list(range(7))


def test_dihedral_is_the_eight_symmetries_of_the_square():
    xy = torch.tensor([[0.1, 0.3]])
    images = {tuple(round(v, 6) for v in dihedral(xy, k)[0].tolist()) for k in range(8)}
    assert images == {(0.1, 0.3), (0.9, 0.3), (0.1, 0.7), (0.9, 0.7), (0.3, 0.1), (0.7, 0.1), (0.3, 0.9),
                      (0.7, 0.9)}
    bt = to_batch([corner(), generate("cvrp", 5, seed=0)])
    big = repeat_batch(bt, 8)
    assert big.shape[0] == 16 and torch.equal(big.dist[9], bt.dist[1])
    locs = augmented_locs(bt, 8)
    x, y = bt.features["locs"][1].unbind(-1)  # copy 1 of problem 1 (row 3): x mirrored
    assert torch.equal(locs[:2], bt.features["locs"]) and torch.equal(locs[3], torch.stack([1 - x, y], -1))
    # distances do not change: every copy's plans are feasible at the evaluator's cost
    env = RoutingEnv(big)
    with torch.no_grad():
        state, _ = Policy(TINY).eval()(env, 5, locs=locs)
    cost = env.cost(state)
    for b, plans in enumerate(env.solutions(state)):
        assert evaluate(big.problems[b], plans[0]).cost == pytest.approx(float(cost[b, 0]), abs=1e-9)


def test_checkpoint_resume_is_exact(tmp_path):
    cfg = dict(size=6, batch=3, steps_per_epoch=2, val_count=2, ref_time=0.05, log_every=1)
    straight = Trainer(TrainConfig(epochs=2, **cfg), TINY, out=tmp_path / "a", log=None)
    straight.fit()
    first = Trainer(TrainConfig(epochs=1, **cfg), TINY, out=tmp_path / "b", log=None)
    first.fit()
    ckpt = load_checkpoint(tmp_path / "b" / "checkpoint.pt")  # torch.load(weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["step"] == 2 and "optimizer" in ckpt and ckpt["policy"] == TINY.to_dict()
    resumed = Trainer(TrainConfig(epochs=2, **cfg), PolicyConfig.from_dict(ckpt["policy"]), out=tmp_path / "b",
                      log=None)
    resumed.load(ckpt)
    resumed.fit()
    a, b = straight.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["reward"] for h in straight.history] == [h["reward"] for h in resumed.history]
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state
    # the weights alone load into a policy that decodes as the trainer's
    policy = load_policy(tmp_path / "b" / "checkpoint.pt")
    assert all(torch.equal(policy.state_dict()[k], b[k]) for k in b)
    refs = json.loads((tmp_path / "b" / "references.json").read_text())
    assert sorted(refs) == ["cvrp-n6-s20261-0", "cvrp-n6-s20261-1"] and all(r["cost"] > 0 for r in refs.values())


def test_training_lowers_the_cost_of_a_tiny_problem(tmp_path):
    problems = [generate("cvrp", 6, seed=s) for s in range(4)]
    trainer = Trainer(TrainConfig(size=6, batch=4, lr=3e-3, seed=1), TINY, out=tmp_path, log=None)

    def expected_cost() -> float:
        env = RoutingEnv(problems)
        with torch.no_grad():
            state, _ = trainer.policy(env, 6, decode="sampling", generator=torch.Generator().manual_seed(5))
        return float((env.cost(state) / env.batch.scales["cost"][:, None]).mean())

    before = expected_cost()
    losses = [trainer.train_step(problems)["loss"] for _ in range(25)]
    after = expected_cost()
    assert after < before - 0.05, (before, after)
    assert np.isfinite(losses).all()


def test_ddp_entry_point_world_size_one(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(torchrun), "--nproc-per-node", "1", "--master-port", "29517", "-m", "vrpkit.neural.train",
           "--size", "5", "--epochs", "1", "--steps-per-epoch", "2", "--batch", "2", "--val-count", "1",
           "--ref-time", "0.05", "--dim", "16", "--layers", "1", "--heads", "2", "--threads", "1",
           "--out", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["epoch"] == 1 and result["step"] == 2
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["policy"]["dim"] == 16 and ckpt["config"]["size"] == 5


def test_neural_solver_exact_costs(tiny_checkpoint):
    # corner: D-a-b-D = 12 beats D-a-D + D-b-D = 14; the polish finds it whatever the raw plan
    result = solve(corner(), "neural", time_limit=2, checkpoint=str(tiny_checkpoint))
    assert result.feasible and result.cost == pytest.approx(12)
    assert result.stats["neural_plans"] == 16 and result.stats["augment"] == 8
    raw = solve(corner(), "neural", time_limit=2, checkpoint=str(tiny_checkpoint), polish=0)
    assert raw.feasible and raw.cost in (pytest.approx(12), pytest.approx(14))
    assert raw.cost == pytest.approx(raw.stats["neural_cost"]) and "local_search_moves" not in raw.stats
    # capacity 1: two routes, 14
    assert solve(corner(capacity=1), "neural", time_limit=2, checkpoint=str(tiny_checkpoint)).cost == \
        pytest.approx(14)


def test_tight_time_limit_decodes_fewer_copies(tiny_checkpoint):
    # 60 clients in 0.05 s: the identity copy alone takes longer, so the other seven are skipped
    p = generate("cvrp", 60, seed=0)
    tight = solve(p, "neural", time_limit=0.05, checkpoint=str(tiny_checkpoint))
    assert tight.feasible and tight.stats["augment"] == 1 and tight.stats["neural_plans"] == 60
    full = NeuralSolver(checkpoint=tiny_checkpoint, polish=0).solve_many([p])[0]
    assert full.stats["augment"] == 8 and full.cost <= tight.stats["neural_cost"] + 1e-9


def test_solve_many_matches_solve(tiny_checkpoint):
    solver = NeuralSolver(checkpoint=tiny_checkpoint, polish=0, augment=2)
    problems = [generate("cvrp", 8, seed=0), generate("vrptw", 5, seed=1), corner()]
    many = solver.solve_many(problems)
    for p, r in zip(problems, many, strict=True):
        one = solve(p, "neural", time_limit=5, checkpoint=str(tiny_checkpoint), polish=0, augment=2)
        assert r.feasible and r.cost == pytest.approx(one.cost, abs=1e-9)
        assert r.cost == pytest.approx(evaluate(p, r.solution).cost)
    sampled = NeuralSolver(checkpoint=tiny_checkpoint, polish=0, augment=1, samples=16).solve_many(problems[:1])
    assert sampled[0].stats["neural_plans"] == 8 + 16 and sampled[0].cost <= many[0].cost + 1e-9


def test_explicit_matrix_without_coordinates(tiny_checkpoint):
    # an asymmetric explicit matrix, no locations: no augmentation, the plan priced by the matrix
    data = {"depots": [{"id": "D"}], "clients": [{"id": "a", "delivery": 1}, {"id": "b", "delivery": 1}],
            "vehicle_types": [{"id": "v", "capacity": 2}],
            "matrix": {"provider": "explicit", "distance": [[0, 1, 10], [10, 0, 1], [1, 10, 0]]}}
    p = Problem.from_dict(data)
    r = solve(p, "neural", time_limit=2, checkpoint=str(tiny_checkpoint))
    assert r.stats["augment"] == 1 and r.cost == pytest.approx(3)  # D-a-b-D = 1 + 1 + 1


def test_cli_solve_neural_on_files(tmp_path, tiny_checkpoint):
    runner = CliRunner()
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(corner().to_dict()))
    out = tmp_path / "sol.json"
    spec = f"neural:checkpoint={tiny_checkpoint},augment=8,samples=4,polish=0.5"
    res = runner.invoke(app, ["solve", str(problem), "--solver", spec, "-t", "3", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    sol = json.loads(out.read_text())
    assert sol["status"] == "feasible" and sol["cost"] == pytest.approx(12)
    assert runner.invoke(app, ["evaluate", str(problem), str(out)]).exit_code == 0
    vrp = Path(__file__).parent / "data" / "small_cvrptw.vrp"
    res = runner.invoke(app, ["solve", str(vrp), "--solver", f"neural:checkpoint={tiny_checkpoint},polish=0",
                              "-t", "3", "-q"])
    assert res.exit_code in (0, 3), res.output
    bad = runner.invoke(app, ["solve", str(problem), "--solver", f"neural:checkpoint={tiny_checkpoint},augment=9"])
    assert bad.exit_code == 2 and "augment: at most 8" in bad.output
    missing = runner.invoke(app, ["solve", str(problem), "--solver", "neural:checkpoint=nope.pt"])
    assert missing.exit_code == 2 and "checkpoint: nope.pt: no such file" in missing.output


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.exists(), reason="shipped weights not built")
def test_shipped_weights_default_options(tmp_path):
    ckpt = load_checkpoint(DEFAULT_CHECKPOINT)
    assert DEFAULT_CHECKPOINT.stat().st_size < 8_000_000 and ckpt["history"]
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(generate("cvrp", 10, seed=0).to_dict()))
    res = CliRunner().invoke(app, ["solve", str(problem), "--solver", "neural", "-t", "1", "-q"])
    assert res.exit_code == 0, res.output


def test_bad_options_name_the_field(tiny_checkpoint):
    for options, field in (({"augment": 0}, "augment"), ({"samples": -1}, "samples"), ({"polish": -1}, "polish"),
                           ({"starts": 0}, "starts"), ({"device": "tpu"}, "device")):
        with pytest.raises(ValidationError, match=f"^{field}:"):
            NeuralSolver(checkpoint=tiny_checkpoint, **options)
    with pytest.raises(ValidationError, match=r"^variants\[0\]: \"cvrpxx\" is not"):
        TrainConfig(variants=("cvrpxx",))
    with pytest.raises(ValidationError, match=r"^policy\.heads:"):
        PolicyConfig(dim=30, heads=4)
