"""The fleet generator (:func:`vrpkit.generate.fleet_instance`): every combination of shipments,
multi-trip, windows, release times, breaks and skills at small size, the three benchmark sets' structure
(counts, windows that let each request and each client alone be served, with its break), seeds, bad options,
``vrpkit generate --option``, and the neural solver's refusal naming the attributes."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vrpkit import Problem, Route, ValidationError, evaluate
from vrpkit.generate import (
    FLEET_VARIANTS,
    FleetVariant,
    fleet_instance,
    generate,
    generate_many,
    instance_seed,
    is_fleet_variant,
    parse_fleet_variant,
)
from vrpkit.io import read_problem

FLAGS = ("multi_trip", "shipments", "windows", "release_times", "breaks", "skills")
COMBINATIONS = [FleetVariant(**dict(zip(FLAGS, on, strict=True)))
                for on in itertools.product((False, True), repeat=len(FLAGS))]
"""All 64 combinations."""
ATTRIBUTE = {"multi_trip": "multi_trip", "shipments": "shipments", "windows": "time_windows",
             "release_times": "release_times", "breaks": "breaks", "skills": "skills"}


def small(v: FleetVariant, seed: int = 0, **options: Any) -> Problem:
    """The combination at small size: 3 clients (3 requests and 2 plain clients with shipments), skills
    likely enough to be drawn."""
    if v.shipments:
        options.setdefault("jobs", 2 if v.multi_trip or v.release_times else 0)
    if v.skills:
        options.setdefault("skill_share", 0.6)
    return fleet_instance(3, seed=seed, variant=v.name, **options)


def same(a: Problem, b: Problem) -> bool:
    """Equal problems: entities, shipments and matrices."""
    return (a.name, a.depots, a.clients, a.vehicle_types, a.shipments) == \
        (b.name, b.depots, b.clients, b.vehicle_types, b.shipments) and np.array_equal(a.distance, b.distance)


def exact_type(p: Problem, client: int) -> int:
    """The vehicle type whose skills are exactly the client's (the one the generator's guarantee uses)."""
    need = set(p.clients[client].skills)
    return next(v for v, vt in enumerate(p.vehicle_types) if set(vt.skills) == need)


def alone_feasible(p: Problem, clients: tuple[int, ...]) -> bool:
    """Whether one route of the client's exact type serving ``clients`` in order is feasible with its break
    (if any) at some position: a listed placement, tried at every position."""
    v = exact_type(p, clients[0])
    placements = [None] if not p.vehicle_types[v].breaks else [((k, 0),) for k in range(len(clients) + 1)]
    others = {c.id for i, c in enumerate(p.clients) if i not in clients}
    for breaks in placements:
        ev = evaluate(p, [Route(v, clients, breaks=breaks)])
        if all(x.constraint == "missing_client" and x.client in others for x in ev.violations):
            return True
    return False


def units(p: Problem) -> list[tuple[int, ...]]:
    """Each plain client alone and each request as (pickup, delivery)."""
    stops = {int(i) for i in np.flatnonzero(p.shipment_of >= 0)}
    out = [(i,) for i in range(p.n_clients) if i not in stops]
    out += [(p.client_index[s.pickup], p.client_index[s.delivery]) for s in p.shipments]
    return out


# -- names and combinations ---------------------------------------------------------------------------------


def test_names_parse_back_and_pick_the_fleet_distribution() -> None:
    names = {v.name for v in COMBINATIONS}
    assert len(names) == 64 and "cvrp" in names and "mtpdptwrtbrsk" in names
    for v in COMBINATIONS:
        assert parse_fleet_variant(v.name) == v
        assert is_fleet_variant(v.name) == (v.multi_trip or v.shipments or v.release_times or v.breaks or v.skills)
    assert parse_fleet_variant("MTVRPRT") == FleetVariant(multi_trip=True, release_times=True)
    for bad in ("vrpbrtw", "mtpdpsktw", "pdpb", "", "mtmtvrp"):
        with pytest.raises(ValidationError, match=r"^variant: "):
            parse_fleet_variant(bad)
    assert not is_fleet_variant("vrptw") and not is_fleet_variant("ovrpb") and not is_fleet_variant("svrp")
    assert same(generate("pdptw", 3, seed=1), fleet_instance(3, seed=1, variant="pdptw"))
    assert generate("vrptwbrsk", 3, seed=1, distribution="fleet").name == "vrptwbrsk-n3-s1"


@pytest.mark.parametrize("v", COMBINATIONS, ids=lambda v: v.name)
def test_every_combination_at_small_size(v: FleetVariant) -> None:
    p = small(v)
    on = {ATTRIBUTE[f] for f in FLAGS if getattr(v, f)}
    assert p.attributes & set(ATTRIBUTE.values()) == on
    assert ("heterogeneous_fleet" in p.attributes) == v.skills
    assert p.variant == ("HF" if v.skills else "") + v.name.upper()
    assert p.n_clients == (3 * 2 + (2 if v.multi_trip or v.release_times else 0) if v.shipments else 3)
    assert len(p.shipments) == (3 if v.shipments else 0)
    assert p.skills_ok.any(axis=0).all()  # every client has a capable type
    if v.windows:  # each client alone, each request alone (pickup then delivery), with its break
        assert all(alone_feasible(p, u) for u in units(p))
    assert same(Problem.from_dict(json.loads(json.dumps(p.to_dict()))), p)


# -- the three benchmark sets ---------------------------------------------------------------------------------


def test_pdptw_is_li_and_lim_style_with_reachable_deliveries() -> None:
    p = generate("pdptw", 100, seed=0)
    assert p.variant == "PDPTW" and p.n_clients == 200 and len(p.shipments) == 100
    assert [c.id for c in p.clients[:4]] == ["p1", "d1", "p2", "d2"]
    assert p.vehicle_types[0].capacity == (50,) and p.vehicle_types[0].count is None
    assert p.depots[0].time_window == (0.0, 1000.0) and p.depots[0].location == (50.0, 50.0)
    amounts = np.array([s.amount[0] for s in p.shipments])
    assert amounts.min() >= 1 and amounts.max() <= 9
    w = p.time_windows[:, 0, :]
    d0 = p.duration[0, 1:]
    s = p.service_time
    assert (s == 10).all()
    assert (w[:, 0] >= np.ceil(d0)).all() and (w[:, 1] <= np.floor(1000 - s - d0)).all()
    assert (w[:, 1] - w[:, 0] <= 200.5).all() and (w[:, 1] >= w[:, 0]).all()
    pick = np.array([p.client_index[x.pickup] for x in p.shipments])
    drop = np.array([p.client_index[x.delivery] for x in p.shipments])
    ride = p.duration[1 + pick, 1 + drop]
    assert (w[drop, 0] >= w[pick, 0] + s[pick] + np.ceil(ride)).all()  # the delivery's window after the pickup's
    assert (w[pick, 0] + s[pick] + ride <= w[drop, 1]).all()  # the pickup window lets the delivery be reached
    assert all(alone_feasible(p, u) for u in units(p))
    assert all(math.isinf(x.max_ride_time) for x in p.shipments)


def test_ride_factor_bounds_each_ride_and_keeps_the_request_alone_feasible() -> None:
    p = generate("pdptw", 30, seed=3, ride_factor=1.2)
    for x in p.shipments:
        a, b = p.client_index[x.pickup], p.client_index[x.delivery]
        direct = p.duration[1 + a, 1 + b]
        alone = p.time_windows[b, 0, 0] - p.time_windows[a, 0, 0] - p.service_time[a]
        assert x.max_ride_time == max(math.ceil(1.2 * direct), alone)
    assert all(alone_feasible(p, u) for u in units(p))
    q = generate("pdp", 5, seed=3, ride_factor=1.0)
    direct = [math.ceil(q.duration[1 + 2 * k, 2 + 2 * k]) for k in range(5)]
    assert [x.max_ride_time for x in q.shipments] == direct


def test_mtvrp_needs_trips_and_a_plan_with_reloads_exists() -> None:
    p = generate("mtvrp", 100, seed=0)
    vt = p.vehicle_types[0]
    total = int(p.delivery.sum())
    assert p.variant == "MTVRP" and p.n_clients == 100 and vt.capacity == (20,)
    assert vt.count == math.ceil(total / 60) and vt.count * 20 < total  # the fleet cannot do it in one trip each
    assert vt.reload_depots == ("depot",) and vt.max_reloads is None and p.depots[0].service_time == 10
    # trips of consecutive clients filling the capacity, dealt to the vehicles in turn, reloading at the depot
    trips, trip, load = [], [], 0
    for i in range(p.n_clients):
        if load + p.delivery[i, 0] > 20:
            trips.append(trip)
            trip, load = [], 0
        trip.append(i)
        load += int(p.delivery[i, 0])
    trips.append(trip)
    routes = []
    for k in range(vt.count):
        mine = trips[k::vt.count]
        cuts = list(itertools.accumulate(len(t) for t in mine))[:-1]
        routes.append(Route(0, tuple(c for t in mine for c in t), reloads=tuple((c, 0) for c in cuts)))
    ev = evaluate(p, routes)
    assert ev.feasible, ev.violations[:3]
    many = generate("mtvrp", 20, seed=0, reload_depots=3, max_reloads=4, depot_service_time=5.0)
    assert many.variant == "MDMTVRP" and [d.id for d in many.depots] == ["depot", "reload1", "reload2"]
    assert many.vehicle_types[0].reload_depots == ("depot", "reload1", "reload2")
    assert many.vehicle_types[0].max_reloads == 4 and many.vehicle_types[0].count is None
    assert {d.service_time for d in many.depots} == {5.0}


def test_release_times_stay_inside_their_range() -> None:
    p = generate("mtvrprt", 200, seed=1)
    r = p.release_time
    assert p.variant == "MTVRPRT" and r.min() >= 0 and r.max() <= 500 and r.max() > 400
    q = generate("vrptwrt", 200, seed=1, release=0.3)
    w, d0 = q.time_windows[:, 0, :], q.duration[0, 1:]
    assert (w[:, 0] >= q.release_time + np.ceil(d0)).all()  # reached after the goods arrive
    assert all(alone_feasible(q, u) for u in units(q))


def test_vrptwbrsk_lunch_breaks_and_skills() -> None:
    p = generate("vrptwbrsk", 100, seed=0)
    assert p.variant == "HFVRPTWBRSK"
    assert [vt.id for vt in p.vehicle_types] == ["van", "fridge", "lift", "fridge+lift"]
    assert [vt.cost_per_distance for vt in p.vehicle_types] == [1.0, 1.25, 1.25, 1.5]
    assert [vt.skills for vt in p.vehicle_types] == [(), ("fridge",), ("lift",), ("fridge", "lift")]
    for vt in p.vehicle_types:
        (lunch,) = vt.breaks
        ((t1, t2),) = lunch.time_windows
        assert lunch.id == "lunch" and lunch.duration == 45 and t2 - t1 == 200 and 350 <= t1 <= 450
    skills = [set(c.skills) for c in p.clients]
    share = np.mean([["fridge" in s, "lift" in s] for s in skills], axis=0)
    assert ((share > 0.1) & (share < 0.3)).all()
    assert p.skills_ok.any(axis=0).all() and not p.skills_ok[0].all()
    assert all(alone_feasible(p, u) for u in units(p))
    assert generate("vrptwbrsk", 10, seed=0, n_skills=3).vehicle_types[-1].id == "fridge+lift+adr"


@pytest.mark.parametrize("variant", FLEET_VARIANTS)
def test_layouts(variant: str) -> None:
    for layout in ("r", "c", "rc"):
        p = generate(variant, 40, seed=2, layout=layout)
        xy = p.locations[p.n_depots:]
        assert (xy >= 0).all() and (xy <= 100).all() and (xy == np.round(xy)).all()
        if p.time_windows[:, 0, 1].max() < math.inf:
            assert all(alone_feasible(p, u) for u in units(p))
    c = generate("pdptw", 100, seed=2, layout="c").locations[1:]
    r = generate("pdptw", 100, seed=2, layout="r").locations[1:]
    spread = [float(np.mean(np.linalg.norm(x[:, None] - x[None], axis=-1))) for x in (c, r)]
    assert spread[0] < spread[1]  # clustered points lie nearer each other


# -- seeds ------------------------------------------------------------------------------------------------------


def test_seeds_reproduce_and_one_seed_keeps_the_layout() -> None:
    for name in ("pdptw", "mtvrprt", "vrptwbrsk", "mtpdptwrtbrsk"):
        assert generate(name, 20, seed=7).to_dict() == generate(name, 20, seed=7).to_dict()
        assert generate(name, 20, seed=7).to_dict() != generate(name, 20, seed=8).to_dict()
    a, b = generate("vrptw", 20, seed=4, distribution="fleet"), generate("vrptwbrsk", 20, seed=4)
    assert np.array_equal(a.locations, b.locations) and np.array_equal(a.delivery, b.delivery)
    many = generate_many("pdptw", 5, 3, seed=11)
    assert [p.name for p in many] == [f"pdptw-n5-s11-{i}" for i in range(3)]
    assert many[2].to_dict() == generate("pdptw", 5, seed=instance_seed(11, 2), name="pdptw-n5-s11-2").to_dict()


# -- bad options ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "options", "field"), [
    ("vrptw", {"jobs": 2}, "jobs"),
    ("pdptwrt", {"jobs": 0}, "jobs"),
    ("pdptw", {"jobs": -1}, "jobs"),
    ("pdptw", {"ride_factor": 0.5}, "ride_factor"),
    ("vrptw", {"ride_factor": 2.0}, "ride_factor"),
    ("pdptw", {"max_reloads": 2}, "max_reloads"),
    ("mtvrp", {"max_reloads": -1}, "max_reloads"),
    ("mtvrp", {"reload_depots": 0}, "reload_depots"),
    ("mtvrp", {"depot_service_time": -1.0}, "depot_service_time"),
    ("vrptw", {"release": 0.5}, "release"),
    ("vrprt", {"release": 0.0}, "release"),
    ("vrprt", {"release": 1.5}, "release"),
    ("vrptwbr", {"break_window": 50.0}, "break_window"),
    ("vrptwbr", {"break_window": 700.0}, "break_window"),
    ("vrpbr", {"break_duration": math.inf}, "break_duration"),
    ("vrpsk", {"n_skills": 4}, "n_skills"),
    ("vrpsk", {"skill_share": 1.2}, "skill_share"),
    ("vrptw", {"skill_cost": 1.0}, "skill_cost"),
    ("vrptw", {"layout": "x"}, "layout"),
    ("vrptw", {"horizon": 100.0}, "horizon"),
    ("pdptw", {"horizon": 150.0}, "horizon"),
    ("vrptw", {"window_max": 10.0}, "window_max"),
    ("vrptw", {"capacity": 5}, "capacity"),
    ("mtvrp", {"vehicles": 0}, "vehicles"),
    ("vrptw", {"horizon": "long"}, "horizon"),
])
def test_bad_options_name_their_field(variant: str, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        fleet_instance(10, seed=0, variant=variant, **options)
    assert err.value.field == field


def test_unknown_options_and_variants() -> None:
    with pytest.raises(ValidationError, match=r"^nope: not an option of distribution fleet"):
        generate("pdptw", 5, seed=0, nope=1)
    with pytest.raises(ValidationError, match=r"^variant: "):
        generate("vrpb", 5, seed=0, distribution="fleet")


# -- the command ------------------------------------------------------------------------------------------------


def vrpkit_cli(*args: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vrpkit", "generate", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_cli_fleet_variants_with_options(tmp_path: Path) -> None:
    done = vrpkit_cli("-o", tmp_path / "p.json", "--variant", "pdptw", "-n", "4", "--count", "2", "--seed", "3",
                      "--option", "jobs=2", "--option", "layout=rc", "--capacity", "30")
    assert done.returncode == 0, done.stderr
    assert "PDPTW, 10 clients, capacity 30" in done.stderr
    expected = generate_many("pdptw", 4, 2, 3, jobs=2, layout="rc", capacity=30)
    for i in range(2):
        assert same(read_problem(tmp_path / f"p-{i}.json"), expected[i])


@pytest.mark.parametrize(("args", "message"), [
    (["--variant", "pdptw", "--option", "nope=1"], "error: --option nope: not an option of distribution fleet"),
    (["--variant", "pdptw", "--option", "ride_factor=0.5"], "error: --option ride_factor: expected a number >= 1"),
    (["--variant", "mtvrp", "--option", "jobs"], 'error: --option: "jobs" is not KEY=VALUE'),
    (["--variant", "mtvrp", "--option", "capacity=5"], "error: --option capacity: given twice, or by its own"),
    (["--variant", "vrptwbr", "--option", "break_window=30"], "error: --option break_window: 30 < break"),
])
def test_cli_bad_options_exit_2_naming_the_option(tmp_path: Path, args: list[str], message: str) -> None:
    done = vrpkit_cli("-o", tmp_path / "p.json", "-n", "5", *args, "--capacity", "40")
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "p.json").exists()


# -- the neural solver refuses what it does not model -------------------------------------------------------


def test_neural_refuses_each_fleet_attribute_by_name() -> None:
    pytest.importorskip("torch")
    from vrpkit.neural.solver import DEFAULT_CHECKPOINT, NeuralSolver

    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("the shipped weights are missing")
    solver = NeuralSolver()
    for name, attribute in (("mtvrp", "multi_trip"), ("pdp", "shipments"), ("vrprt", "release_times"),
                            ("vrpbr", "breaks"), ("vrpsk", "skills")):
        p = fleet_instance(6, seed=2, variant=name, **({"skill_share": 0.6} if name == "vrpsk" else {}))
        reason = solver.supports(p)
        assert reason is not None and attribute in reason and reason.endswith("try the ortools solver"), reason
    assert solver.supports(fleet_instance(6, seed=2, variant="vrptw")) is None
