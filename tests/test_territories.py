"""Service territories (:mod:`vrpkit.territories`): the balanced clustering underneath, territories that fit
capacity and shift, several depots and a mixed fleet, the binary baseline, and ``vrpkit territories``."""

from __future__ import annotations

import numpy as np
import pytest

from vrpkit import Client, Depot, Problem, ValidationError, VehicleType
from vrpkit.territories import cluster


def points(xy, *, depots=((0.0, 0.0),), delivery=1, vehicle_types=None, **client) -> Problem:
    """Clients ``c0, c1, ...`` at ``xy`` (delivery ``delivery`` each, or one per client), depots ``D0, ...``."""
    deliveries = delivery if isinstance(delivery, list) else [delivery] * len(xy)
    clients = tuple(Client(f"c{i}", tuple(map(float, p)), delivery=q, **client)
                    for i, (p, q) in enumerate(zip(xy, deliveries, strict=True)))
    deps = tuple(Depot(f"D{d}", tuple(map(float, p))) for d, p in enumerate(depots))
    return Problem("pts", deps, clients, vehicle_types or (VehicleType("v", capacity=10),))


def explicit(problem: Problem) -> Problem:
    """``problem`` without locations, its distance matrix given explicitly."""
    return Problem(problem.name, tuple(Depot(d.id) for d in problem.depots),
                   tuple(Client(c.id, delivery=c.delivery) for c in problem.clients), problem.vehicle_types,
                   distance=np.array(problem.distance))


TWO_GROUPS = [(0, 0), (1, 0), (0, 1), (100, 0), (101, 0), (100, 1)]
"""Three clients near (0, 0) and three near (100, 0)."""


def same_partition(labels, expected) -> bool:
    """True when ``labels`` group the clients as ``expected`` does (whatever the label numbers)."""
    pairs = {(int(a), int(b)) for a, b in zip(labels, expected, strict=True)}
    return len(pairs) == len(set(expected)) == len({a for a, _ in pairs})


@pytest.mark.parametrize("metric", ["coordinates", "matrix", "auto"])
def test_two_obvious_groups(metric) -> None:
    labels = cluster(points(TWO_GROUPS), 2, metric=metric)
    assert labels.dtype == np.int64
    assert same_partition(labels, [0, 0, 0, 1, 1, 1])


def test_matrix_without_coordinates() -> None:
    p = explicit(points(TWO_GROUPS))
    assert p.locations is None
    assert same_partition(cluster(p, 2), [0, 0, 0, 1, 1, 1])
    with pytest.raises(ValidationError, match="metric"):
        cluster(p, 2, metric="coordinates")


@pytest.mark.parametrize("metric", ["coordinates", "matrix"])
def test_the_default_limit_balances_the_groups(metric) -> None:
    """Clients at 0, 1, 2, 3 and 100 on a line, k = 2: the limit ceil(5 / 2) = 3 keeps the group on the left
    to three, so the client at 3 joins the one at 100: {0, 1, 2} and {3, 100}."""
    p = points([(0, 0), (1, 0), (2, 0), (3, 0), (100, 0)])
    labels = cluster(p, 2, metric=metric)
    assert np.bincount(labels).tolist() in ([3, 2], [2, 3])
    assert same_partition(labels, [0, 0, 0, 1, 1])


def test_weights_bound_every_dimension() -> None:
    """Two groups of three by place, but the second dimension (weights 5 at c0 and c1) allows only one of
    c0 / c1 per group of limit 6: the heavier is moved to the other group and the group it left takes a light
    one back."""
    p = points(TWO_GROUPS)
    weights = [[1, 5], [1, 5], [1, 0], [1, 0], [1, 0], [1, 0]]
    labels = cluster(p, 2, weights=weights, limit=[3, 6])
    load = np.zeros((2, 2))
    np.add.at(load, labels, np.array(weights, dtype=float))
    assert (load <= [3, 6]).all()
    assert labels[0] != labels[1]


def test_a_limit_that_cannot_hold_overflows_the_least() -> None:
    """Weights 4, 4, 4 in two groups of limit 5: one group must hold two (8); every client is labelled."""
    p = points([(0, 0), (1, 0), (10, 0)])
    labels = cluster(p, 2, weights=[4, 4, 4], limit=[5])
    assert sorted(np.bincount(labels, minlength=2).tolist()) == [1, 2]


def test_a_subset_of_clients_and_seeds() -> None:
    rng = np.random.default_rng(3)
    p = points(rng.uniform(0, 100, (200, 2)))
    subset = np.arange(0, 200, 2)
    a = cluster(p, 7, clients=subset, seed=5)
    assert len(a) == 100 and set(a.tolist()) == set(range(7))
    assert np.bincount(a).max() <= 15  # ceil(100 / 7)
    assert np.array_equal(a, cluster(p, 7, clients=subset, seed=5))
    assert np.array_equal(cluster(explicit(p), 7, clients=subset, seed=5),
                          cluster(explicit(p), 7, clients=subset, seed=5))


def test_groups_are_compact() -> None:
    """Four tight blobs of 25 clients far apart, k = 4: each blob is one group, whatever the seed."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [500, 0], [0, 500], [500, 500]])
    xy = np.repeat(centres, 25, axis=0) + rng.uniform(0, 10, (100, 2))
    truth = np.repeat(np.arange(4), 25)
    for seed in range(3):
        for p in (points(xy), explicit(points(xy))):
            assert same_partition(cluster(p, 4, seed=seed), truth)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"k": 0}, "k"), ({"k": 7}, "k"), ({"k": 2.0}, "k"), ({"k": 2, "clients": [0, 9]}, "clients"),
    ({"k": 2, "clients": [0, 0]}, "clients"), ({"k": 2, "weights": [1, 2]}, "weights"),
    ({"k": 2, "weights": [1] * 6}, "limit"), ({"k": 2, "weights": [1] * 6, "limit": [1, 1]}, "limit"),
    ({"k": 2, "weights": [1] * 6, "limit": [0]}, "limit"),
    ({"k": 2, "weights": [-1] * 6, "limit": [1]}, "weights"),
    ({"k": 2, "metric": "manhattan"}, "metric"),
])
def test_bad_arguments_name_the_argument(kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        cluster(points(TWO_GROUPS), **kwargs)
    assert err.value.field == field
