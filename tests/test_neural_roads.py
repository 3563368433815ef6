"""The neural solver on real roads: the road training distribution (a street pool sub-sampled), the graph layers
over the k-nearest road graph, warm starts from the shipped weights, and checkpoints with the new options.

The street pool tests need the Monaco extract beside the repository (``../shared/data/osm/monaco.osm.pbf``) and
the OSRM executables; they are skipped without them. The graph tests need ``torch_geometric``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import corner  # noqa: E402
from vrpkit.neural.env import RoutingEnv, to_batch  # noqa: E402
from vrpkit.neural.policy import Policy, PolicyConfig, knn_graph  # noqa: E402
from vrpkit.neural.solver import (  # noqa: E402
    DEFAULT_CHECKPOINT,
    ROAD_CHECKPOINT,
    ROAD_MATRIX_CHECKPOINT,
    NeuralSolver,
    on_roads,
    road_checkpoint,
)
from vrpkit.neural.train import RoadSampler, TrainConfig, Trainer, load_checkpoint, load_policy  # noqa: E402

from vrpkit import Problem, ValidationError, evaluate  # noqa: E402
from vrpkit.generate import generate  # noqa: E402
from vrpkit.roads.generate import pool_instance  # noqa: E402

PBF = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm" / "monaco.osm.pbf"
TINY = {"dim": 32, "layers": 2, "heads": 4, "ff": 64}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def synthetic_pool(size: int = 60, seed: int = 0) -> dict[str, np.ndarray]:
    """A pool of ``size`` lon/lat points with asymmetric 'road' matrices (detour factors 1.2-1.8)."""
    rng = np.random.default_rng(seed)
    points = np.column_stack([7.41 + 0.02 * rng.random(size), 43.72 + 0.02 * rng.random(size)])
    metres = np.hypot(*(points[:, None] - points[None]).transpose(2, 0, 1) * [[[80_000.0]], [[111_000.0]]])
    distance = np.round(metres * rng.uniform(1.2, 1.8, (size, size)), 1)
    np.fill_diagonal(distance, 0.0)
    return {"points": points, "distance": distance, "duration": np.round(distance / 8.0, 1)}


def road_problems(count: int, n: int = 12, seed: int = 0) -> list[Problem]:
    pool = synthetic_pool()
    rng = np.random.default_rng(seed)
    return [pool_instance(pool, rng.permutation(len(pool["points"]))[:n + 1], rng.integers(1, 10, n),
                          name=f"pool{b}") for b in range(count)]


# -- the road distribution -----------------------------------------------------------------------------------


def test_pool_instance_is_the_pools_submatrix():
    pool = synthetic_pool()
    nodes = np.array([5, 0, 17, 3, *[i for i in range(60) if i not in (5, 0, 17, 3)][:47]])
    p = pool_instance(pool, nodes, np.full(len(nodes) - 1, 3), name="x")
    assert p.n_clients == 50 and p.vehicle_types[0].capacity == (40,)  # generate_osm_instance's capacity
    assert np.array_equal(p.distance, pool["distance"][np.ix_(nodes, nodes)])
    assert np.array_equal(p.duration, pool["duration"][np.ix_(nodes, nodes)])
    assert p.distance[0, 1] == pool["distance"][5, 0] and p.distance[1, 0] == pool["distance"][0, 5]
    assert np.array_equal(p.locations, pool["points"][nodes]) and p.matrix["provider"] == "explicit"
    assert on_roads(p) and not on_roads(generate("cvrp", 5, seed=0))
    with pytest.raises(ValidationError, match="nodes"):
        pool_instance(pool, np.array([1, 2, 1]), np.ones(2, int))
    with pytest.raises(ValidationError, match="demands"):
        pool_instance(pool, np.array([1, 2, 3]), np.ones(3, int))


@pytest.fixture(scope="module")
def sampler() -> RoadSampler:
    if not PBF.is_file():
        pytest.skip(f"{PBF}: the Monaco extract is absent")
    try:
        return RoadSampler(PBF, 120)
    except Exception as err:  # OSRM executables missing
        pytest.skip(f"OSRM unavailable: {err}")


def test_road_sampler_is_seeded_and_uses_the_pools_matrices(sampler):
    a = sampler.sample(np.random.default_rng(7), 50, 3)
    b = sampler.sample(np.random.default_rng(7), 50, 3)
    nodes, demands = sampler.draw(np.random.default_rng(7), 50, 3)
    assert nodes.shape == (3, 51) and all(len(set(row)) == 51 for row in nodes)
    for k in range(3):
        assert np.array_equal(a[k].distance, b[k].distance) and np.array_equal(a[k].delivery, b[k].delivery)
        sub = np.ix_(nodes[k], nodes[k])
        assert np.array_equal(a[k].distance, sampler.pool["distance"][sub])
        assert np.array_equal(a[k].duration, sampler.pool["duration"][sub])
        assert np.array_equal(a[k].delivery[:, 0], demands[k]) and a[k].vehicle_types[0].capacity == (40,)
    assert not np.array_equal(a[0].distance, sampler.sample(np.random.default_rng(8), 50, 1)[0].distance)
    assert (sampler.pool["distance"] >= 0).all() and np.isfinite(sampler.pool["distance"]).all()


def test_train_config_roads_checks(tmp_path):
    pbf = tmp_path / "x.osm.pbf"
    with pytest.raises(ValidationError, match="roads"):
        TrainConfig(roads=str(pbf))
    pbf.write_bytes(b"")
    with pytest.raises(ValidationError, match="variants"):
        TrainConfig(roads=str(pbf), variants=("vrptw",))
    with pytest.raises(ValidationError, match="roads_pool"):
        TrainConfig(roads=str(pbf), size=50, roads_pool=40)
    cfg = TrainConfig(roads=str(pbf), size=50, roads_pool=300)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


# -- the graph layers ----------------------------------------------------------------------------------------


def test_knn_graph_by_hand():
    # 4 nodes on a line at 0, 1, 4, 7 (asymmetric: the way back costs double); node 3 is padding in problem 1
    x = torch.tensor([0.0, 1.0, 4.0, 7.0])
    d = (x[None] - x[:, None]).clamp_min(0) + 2 * (x[:, None] - x[None]).clamp_min(0)
    dist = torch.stack([d, d]) / 14
    dur = 2 * dist
    ok = torch.tensor([[True, True, True, True], [True, True, True, False]])
    edges, attr = knn_graph(dist, dur, ok, 1)
    # nearest j by dist[i, j]: 0 -> 1 (1), 1 -> 0 (2), 2 -> 3 (3), 3 -> 2 (6); without node 3: 2 -> 1 (6)
    assert edges.tolist() == [[1, 0, 3, 2, 5, 4, 5], [0, 1, 2, 3, 4, 5, 6]]
    assert attr[0].tolist() == pytest.approx([1 / 14, 2 / 14, 1 / 14, 2 / 14])  # durations by the longest
    assert attr[3].tolist() == pytest.approx([6 / 14, 3 / 14, 6 / 14, 3 / 14])
    assert attr[6].tolist() == pytest.approx([6 / 14, 3 / 14, 12 / 16, 6 / 16])  # its longest: 2 -> 0, 16 / 14


def test_graph_refused_without_torch_geometric(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_geometric", None)
    with pytest.raises(ValidationError, match=r"policy\.graph.*torch_geometric"):
        PolicyConfig(graph=8)
    with pytest.raises(ValidationError, match=r"policy\.graph"):
        PolicyConfig(graph=-1)
    assert PolicyConfig().graph == 0  # the default needs nothing


def test_graph_layer_reads_the_matrix_and_plans_are_feasible():
    pytest.importorskip("torch_geometric")
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(**TINY, graph=4)).eval()
    problems = road_problems(3)
    batch = to_batch(problems)
    block = policy.graph_blocks[0]
    h = torch.randn(3, 13, 32)
    out = block(h, *knn_graph(batch.features["distance"], batch.features["duration"],
                              torch.ones(3, 13, dtype=torch.bool), 4))
    changed = batch.features["distance"].clone()
    changed[:, 0, 1:] = changed[:, 0, 1:].flip(-1)  # the depot's neighbours change
    out2 = block(h, *knn_graph(changed, batch.features["duration"], torch.ones(3, 13, dtype=torch.bool), 4))
    assert not torch.allclose(out[:, 0], out2[:, 0], atol=1e-4)  # the depot's neighbours and their attributes
    assert not torch.allclose(out, h, atol=1e-4)
    # the whole encoder: other matrices, other embeddings (the graph blocks, not only the matrix features)
    base = Policy(PolicyConfig(**TINY)).eval()
    base.load_state_dict({k: v for k, v in policy.state_dict().items() if not k.startswith("graph_blocks.")})
    with torch.no_grad():
        gap = (policy.encode(batch).nodes - base.encode(batch).nodes).abs().max()
    assert float(gap) > 1e-3
    env = RoutingEnv(problems)
    with torch.no_grad():
        state, logp = policy(env, 6, decode="sampling", generator=torch.Generator().manual_seed(1))
    cost = env.cost(state)
    for b, plans in enumerate(env.solutions(state)):
        for s, plan in enumerate(plans):
            ev = evaluate(problems[b], plan)
            assert ev.feasible and ev.cost == pytest.approx(float(cost[b, s]), abs=1e-6)
    assert bool(torch.isfinite(logp).all())


@pytest.mark.parametrize("options", [{"matrix": True}, {"graph": 4}])
def test_warm_start_keeps_the_base_models_plans(options):
    if "graph" in options:
        pytest.importorskip("torch_geometric")
    torch.manual_seed(1)
    base = Policy(PolicyConfig(**TINY)).eval()
    torch.manual_seed(2)
    new = Policy(PolicyConfig(**TINY, **options)).eval()
    fresh = new.warm_start(base.state_dict())
    prefix = "pair_bias." if "matrix" in options else "graph_blocks."
    assert fresh and all(k.startswith(prefix) for k in fresh)
    env = RoutingEnv(road_problems(2))
    with torch.no_grad():
        a, _ = base(env, 8)
        b, _ = new(env, 8)
        assert torch.allclose(base.encode(env.batch).nodes, new.encode(env.batch).nodes, atol=1e-5)
    assert torch.equal(env.cost(a), env.cost(b))


# -- checkpoints -----------------------------------------------------------------------------------------


def test_shipped_checkpoint_still_loads():
    ckpt = load_checkpoint(DEFAULT_CHECKPOINT)
    assert "graph" not in ckpt["policy"]  # written before the option: the default applies
    policy = load_policy(DEFAULT_CHECKPOINT)
    assert policy.config == PolicyConfig(dim=128, layers=3, heads=8, ff=256) and policy.config.graph == 0
    solver = NeuralSolver(polish=0.0, augment=1)
    plain = solver.solve_many([corner()])[0]
    assert plain.evaluation.feasible and plain.stats["checkpoint"] == "cvrp.pt"


def test_road_default_for_road_problems(monkeypatch):
    road = road_checkpoint()
    has_pyg = importlib.util.find_spec("torch_geometric") is not None
    if road is None:
        pytest.skip("no shipped road weights")
    solver = NeuralSolver(polish=0.0, augment=1)
    problems = [road_problems(1)[0], corner(), road_problems(2, seed=1)[1]]
    built = solver.construct(problems)
    assert [stats["checkpoint"] for _, stats in built] == [road.name, "cvrp.pt", road.name]
    for p, (plan, _) in zip(problems, built, strict=True):
        assert evaluate(p, plan).feasible
    assert NeuralSolver(checkpoint=DEFAULT_CHECKPOINT).road_checkpoint is None  # a given checkpoint is used
    assert load_policy(ROAD_MATRIX_CHECKPOINT).config.matrix
    if has_pyg:
        assert road == ROAD_CHECKPOINT
        assert load_policy(ROAD_CHECKPOINT).config.graph == 16
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # without it: the attention-bias model
    assert road_checkpoint() == ROAD_MATRIX_CHECKPOINT


@pytest.mark.parametrize("options", [{"matrix": True}, {"graph": 3}, {"matrix": True, "graph": 3}])
def test_checkpoints_with_new_options_round_trip(tmp_path, options):
    if "graph" in options:
        pytest.importorskip("torch_geometric")
    pbf = tmp_path / "m.osm.pbf"
    pbf.write_bytes(b"")
    cfg = TrainConfig(size=12, batch=2, roads=str(pbf), roads_pool=40)
    trainer = Trainer(cfg, PolicyConfig(**TINY, **options), out=tmp_path, log=None)
    path = trainer.save()
    ckpt = load_checkpoint(path)
    assert TrainConfig.from_dict(ckpt["config"]) == cfg
    assert PolicyConfig.from_dict(ckpt["policy"]) == trainer.policy.config
    policy = load_policy(path)
    env = RoutingEnv(road_problems(2))
    with torch.no_grad():
        a, _ = trainer.policy.eval()(env, 6)
        b, _ = policy(env, 6)
    assert torch.equal(env.cost(a), env.cost(b))
    for key, value in trainer.policy.state_dict().items():
        assert torch.equal(policy.state_dict()[key], value), key


def test_cli_train_on_roads(tmp_path, sampler):
    from typer.testing import CliRunner

    from vrpkit.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["train", "--out", str(tmp_path), "--roads", str(tmp_path / "none.pbf")])
    assert bad.exit_code != 0 and "none.pbf: no such file" in bad.output
    res = runner.invoke(app, ["train", "--out", str(tmp_path / "run"), "--roads", str(PBF), "--roads-pool", "120",
                              "--size", "8", "--batch", "2", "--epochs", "1", "--steps-per-epoch", "2",
                              "--val-count", "2", "--init", str(DEFAULT_CHECKPOINT), "--matrix"])
    assert res.exit_code == 0, res.output
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert ckpt["config"]["roads"] == str(PBF) and ckpt["policy"]["matrix"] and ckpt["step"] == 2
    assert ckpt["history"][0]["val_gap"]["infeasible"] == 0
    shipped = load_checkpoint(DEFAULT_CHECKPOINT)["model"]
    assert not torch.equal(ckpt["model"]["embed_client.weight"], shipped["embed_client.weight"])  # trained
    assert ckpt["model"]["embed_client.weight"].shape == shipped["embed_client.weight"].shape
