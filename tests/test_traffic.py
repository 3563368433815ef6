"""Travel-time profiles and the time-dependent evaluator: factors and first-in-first-out arrivals by hand,
properties (leaving later never arrives earlier), hand-worked schedules with exact numbers, the
``uncertainty`` block (JSON round trip, one named error per check, exit 2 on the CLI) and time-dependent
solving."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import vrpkit
from tests.conftest import DATA
from vrpkit import Client, Depot, Problem, Route, ValidationError, VehicleType, evaluate
from vrpkit.cli import app
from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
from vrpkit.traffic import arrival, factor, latest_departure, leg_times, max_factor, named_factor

ROOT = Path(__file__).resolve().parents[1]
RISE = ((0.0, 1.0), (10.0, 2.0))
"""Factor 1 + t / 10 from 0 to 10, then 2."""
PEAK = ((0.0, 1.0), (10.0, 3.0), (12.0, 1.0))
"""Up from 1 to 3 over [0, 10], down to 1 over [10, 12] (a fall of 1 per time unit)."""


# -- factors ---------------------------------------------------------------------------------------------------


def test_rush_hour_is_1_8_at_the_peaks_and_1_at_night() -> None:
    t = np.array([0, 8, 17, 12.5, 6.5, 24, 30]) * 3600
    f = factor("rush_hour", t, 3600)
    assert f[1] == pytest.approx(1.8, abs=1e-7) and f[2] == pytest.approx(1.8, abs=1e-7)
    assert f[0] == pytest.approx(1.0, abs=1e-6) and f[5] == f[6] == pytest.approx(1.0, abs=2e-5)  # then constant
    assert f[3] == pytest.approx(1 + 1.6 * math.exp(-4.5))  # 12:30, half way between the peaks
    assert f[4] == pytest.approx(1 + 0.8 * math.exp(-0.5), abs=1e-6)  # 6:30, one sd before the peak
    # a planar problem's times are minutes: the same factors at the same minutes
    assert np.array_equal(factor("rush_hour", t / 60, 60), f)
    assert max_factor("rush_hour", 60) == pytest.approx(1.8, abs=1e-7)


def test_svrpbench_is_the_published_formula_and_spans_only_0_500_to_0_509() -> None:
    minutes = np.arange(0, 1441, dtype=float)
    f = factor("svrpbench", minutes * 60, 3600)
    density = 1 / (90 * math.sqrt(2 * math.pi))  # 0.00443, the height of each peak
    assert f[480] == pytest.approx(0.5 + 2 * density + 2 * density * math.exp(-18))
    assert np.array_equal(f, named_factor("svrpbench", minutes))  # tabulated at every minute
    assert 0.5 <= f.min() < 0.50001 and 0.5088 < f.max() < 0.509
    # linear between minutes
    assert factor("svrpbench", 480.5 * 60, 3600) == pytest.approx((f[480] + f[481]) / 2, abs=1e-15)


def test_points_are_piecewise_linear_and_constant_outside() -> None:
    f = factor(PEAK, np.array([-5, 0, 5, 10, 11, 12, 20]), 60)
    assert f.tolist() == [1, 1, 2, 3, 2, 1, 1]
    assert factor(((7.0, 2.5),), np.array([0, 100]), 60).tolist() == [2.5, 2.5]
    assert factor(None, np.zeros((2, 3)), 60).tolist() == [[1] * 3] * 2


# -- arrivals --------------------------------------------------------------------------------------------------


def test_arrival_takes_the_factor_at_departure() -> None:
    assert float(arrival(RISE, 4.0, 6.0, 60)) == pytest.approx(12.4)  # 4 + 6 * 1.4
    assert float(arrival(RISE, 12.4, 10.0, 60)) == 32.4  # 12.4 + 10 * 2
    assert float(arrival(RISE, -3.0, 2.0, 60)) == -1.0
    assert arrival(None, np.array([1.0, 2.0]), 3.0, 60).tolist() == [4, 5]


def test_arrival_keeps_first_in_first_out_where_the_factor_falls_fast() -> None:
    # d = 5: leaving at 10 arrives at 10 + 5 * 3 = 25; leaving at 12 would arrive at 17 but waits behind it
    s = np.array([10.0, 11.0, 12.0, 20.0, 21.0])
    assert arrival(PEAK, s, 5.0, 60).tolist() == [25, 25, 25, 25, 26]
    # d = 0.5 falls slower than time passes (0.5 * 1 < 1): the factor at departure as it is
    assert float(arrival(PEAK, 11.0, 0.5, 60)) == 12.0
    assert float(arrival(PEAK, 12.0, 0.5, 60)) == 12.5


def test_arrival_broadcasts() -> None:
    out = arrival(RISE, np.array([[0.0], [5.0], [20.0]]), np.array([0.0, 1.0, 2.0, 4.0]), 60)
    assert out.shape == (3, 4)
    assert out[1].tolist() == pytest.approx([5, 6.5, 8, 11])
    assert out[2].tolist() == [20, 22, 24, 28]


def test_latest_departure_inverts_arrival() -> None:
    x = np.array([25.0, 20.0, -4.0, 100.0])
    assert latest_departure(PEAK, x, 5.0, 60).tolist() == pytest.approx([20, 7.5, -9, 95])
    assert float(latest_departure(RISE, 15.0, 4.0, 60)) == pytest.approx(55 / 7)  # 4 + 1.4 u = 15
    assert latest_departure(None, x, 5.0, 60).tolist() == (x - 5).tolist()


def test_leg_times_are_each_legs_time_at_its_origins_departure() -> None:
    duration = np.array([[0.0, 4.0], [4.0, 0.0]])
    out = leg_times(RISE, np.array([0.0, 20.0]), duration, 60)
    assert out.tolist() == [[0, 4], [8, 0]]


profiles = st.lists(st.tuples(st.floats(0, 50), st.floats(0.05, 5)), min_size=1, max_size=6).map(
    lambda pts: tuple(sorted({round(t, 3): f for t, f in pts}.items())))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(profile=profiles, duration=st.floats(0, 40),
       departs=st.lists(st.floats(-10, 70), min_size=2, max_size=30))
def test_leaving_later_never_arrives_earlier(profile, duration, departs) -> None:
    s = np.sort(np.array(departs))
    a = arrival(profile, s, duration, 60)
    tol = 1e-9 * (1 + np.abs(a).max())
    assert np.all(np.diff(a) >= -tol)
    assert np.all(a >= s + duration * factor(profile, s, 60) - tol)
    assert np.all(a <= s + duration * max_factor(profile, 60) + tol)
    # by definition: the largest u + d f(u) over u <= s is at s or at a breakpoint before it (g is linear between)
    g = [(t, t + duration * f) for t, f in profile]
    direct = [max([x + duration * float(factor(profile, x, 60))] + [v for t, v in g if t <= x]) for x in s]
    assert a == pytest.approx(direct, rel=1e-12, abs=1e-12)
    latest = latest_departure(profile, a, duration, 60)
    assert np.all(latest >= s - tol)  # each departure is at most the latest that arrives by its arrival
    assert np.allclose(arrival(profile, latest, duration, 60), a, atol=tol)


# -- the time-dependent evaluator, by hand ---------------------------------------------------------------------


def line(profile, a=((0, math.inf),), b=((0, math.inf),), *, shift=(0, math.inf), both=True) -> Problem:
    """D at 0, a at 4, b at 10 on a line (D-a 4, a-b 6, b-D 10); duration costs 1, distance 0."""
    clients = (Client("a", (4, 0), time_windows=a),) + ((Client("b", (10, 0), time_windows=b),) if both else ())
    vt = VehicleType("v", shift=shift, cost_per_distance=0, cost_per_duration=1)
    u = None if profile is None else Uncertainty(TravelTimeNoise(profile=profile))
    return Problem("line", (Depot("D", (0, 0)),), clients, (vt,), uncertainty=u)


def test_evaluator_times_each_leg_at_its_departure() -> None:
    ev = evaluate(line(RISE), [Route(0, (0, 1))])
    r = ev.routes[0]
    assert r.arrival == pytest.approx((4, 12.4)) and r.end_time == pytest.approx(32.4)
    assert ev.duration == pytest.approx(32.4) and ev.cost == pytest.approx(32.4) and ev.feasible
    static = evaluate(line(None), [Route(0, (0, 1))])
    assert static.routes[0].arrival == (4, 10) and static.duration == 20


def test_evaluator_keeps_first_in_first_out() -> None:
    # leaving at 2 the factor is 1 (it would arrive at 6), but one that left at 0 (factor 3) arrives at 12: so
    # does this one, and so does one leaving at 8 (8 + 4 * 1): the route leaves at 8 and takes 8
    ev = evaluate(line(((0.0, 3.0), (2.0, 1.0)), shift=(2, math.inf), both=False), [Route(0, (0,))])
    r = ev.routes[0]
    assert (r.start_time, r.arrival, r.end_time, r.duration) == (8, (12,), 16, 8)


def test_delayed_start_is_the_latest_that_keeps_the_end() -> None:
    # a opens at 20: leave at 12 (12 + 4 * 2 = 20), back at 20 + 4 * 2 = 28; the static plan leaves at 16
    ev = evaluate(line(RISE, a=((20, 30),), both=False), [Route(0, (0,))])
    r = ev.routes[0]
    assert (r.start_time, r.arrival, r.wait, r.end_time, r.duration) == (12, (20,), (0,), 28, 16)
    static = evaluate(line(None, a=((20, 30),), both=False), [Route(0, (0,))]).routes[0]
    assert (static.start_time, static.duration) == (16, 8)


def test_delayed_start_stops_at_a_window_end() -> None:
    # a [0, 15], b opens at 40: the end (40 + 10 * 2 = 60) allows leaving a at 28, but a closes at 15;
    # reaching a at 15 means leaving D at u with u + 4 (1 + u / 10) = 15: u = 55 / 7
    ev = evaluate(line(RISE, a=((0, 15),), b=((40, 50),)), [Route(0, (0, 1))])
    r = ev.routes[0]
    assert r.start_time == pytest.approx(55 / 7, rel=1e-12)
    assert r.arrival == pytest.approx((15, 27), rel=1e-12) and r.wait == pytest.approx((0, 13), rel=1e-12)
    assert r.end_time == pytest.approx(60) and r.duration == pytest.approx(60 - 55 / 7, rel=1e-12)
    assert ev.feasible


def test_a_later_window_is_reached_by_the_latest_departure_without_waiting() -> None:
    # a has windows [0, 5] and [10, 12], b [20, 22]. In a's first window: leave at 5/7, a at 5, b at
    # 5 + 6 * 1.5 = 14, wait until 20, end at 40 (39.29). Reaching a at 10 (4 + 1.4 u = 10: u = 30/7): b at
    # 10 + 6 * 2 = 22, end at 42: 264/7 = 37.71 is shorter and kept.
    p = line(RISE, a=((0, 5), (10, 12)), b=((20, 22),))
    r = evaluate(p, [Route(0, (0, 1))]).routes[0]
    assert r.start_time == pytest.approx(30 / 7, rel=1e-12)
    assert r.arrival == pytest.approx((10, 22), rel=1e-12) and r.wait == (0, 0)
    assert r.duration == pytest.approx(264 / 7, rel=1e-12)
    static = evaluate(line(None, a=((0, 5), (10, 12)), b=((20, 22),)), [Route(0, (0, 1))]).routes[0]
    assert (static.start_time, static.arrival, static.duration) == (8, (12, 18), 22)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(profile=profiles, later=st.floats(0.01, 30), wa=st.floats(0, 40), wb=st.floats(0, 60))
def test_a_later_start_never_ends_a_route_sooner(profile, later, wa, wb) -> None:
    p = line(profile, a=((wa, wa + 10),), b=((wb, math.inf),))
    first = evaluate(p, [Route(0, (0, 1))]).routes[0]
    shifted = line(profile, a=((wa, wa + 10),), b=((wb, math.inf),), shift=(first.start_time + later, math.inf))
    second = evaluate(shifted, [Route(0, (0, 1))]).routes[0]
    assert second.end_time >= first.end_time - 1e-9 * (1 + first.end_time)


def _random_problem(rng: np.random.Generator, profile) -> Problem:
    clients = []
    for i in range(8):
        a = float(rng.integers(0, 60))
        windows = ((a, a + 15), (a + 40, a + 70)) if i % 3 == 0 else ((a, a + 30),)
        clients.append(Client(f"c{i}", tuple(rng.uniform(0, 20, 2)), service_time=float(rng.integers(0, 4)),
                              time_windows=windows))
    u = None if profile is None else Uncertainty(TravelTimeNoise(profile=profile))
    return Problem("r", (Depot("D", (10, 10)),), tuple(clients),
                   (VehicleType("v", shift=(float(rng.integers(0, 10)), 400)),), uncertainty=u)


@pytest.mark.parametrize("seed", range(30))
def test_a_constant_factor_of_1_schedules_as_the_static_evaluator(seed: int) -> None:
    """The backward pass (delayed start, later windows) reproduces the static rules on random routes with
    waiting, lateness and several windows."""
    rng = np.random.default_rng(seed)
    static = _random_problem(rng, None)
    td = static.replace(uncertainty=Uncertainty(TravelTimeNoise(profile=((0.0, 1.0),))))
    order = rng.permutation(8)
    routes = [Route(0, tuple(int(c) for c in order[:4])), Route(0, tuple(int(c) for c in order[4:]))]
    a, b = evaluate(static, routes), evaluate(td, routes)
    assert [v.constraint for v in a.violations] == [v.constraint for v in b.violations]
    for ra, rb in zip(a.routes, b.routes, strict=True):
        assert rb.start_time == pytest.approx(ra.start_time, abs=1e-9)
        assert rb.start == pytest.approx(ra.start, abs=1e-9)
        assert rb.end_time == pytest.approx(ra.end_time, abs=1e-9)


def test_solomon_bks_schedules_identically_with_a_constant_factor_of_1() -> None:
    from vrpkit.io.vrplib import read_sol, read_solomon

    path = DATA / "solomon" / "RC201.txt"
    if not path.exists():
        pytest.skip("shared data not found")
    p = read_solomon(path)
    sol = read_sol(DATA / "solomon" / "solutions" / "RC201.sol", p)
    td = p.replace(uncertainty=Uncertainty(TravelTimeNoise(profile=((0.0, 1.0),))))
    a, b = evaluate(p, sol), evaluate(td, sol)
    assert a.feasible and b.feasible and b.cost == pytest.approx(a.cost, abs=1e-9)
    assert [r.start_time for r in b.routes] == pytest.approx([r.start_time for r in a.routes], abs=1e-9)


def test_horizon_counts_the_largest_factor() -> None:
    static = line(None)
    assert static.horizon == 10 + 6 + 10  # the longest trip out of each node
    assert line(((0.0, 1.0), (5.0, 3.0))).horizon == 78


# -- the uncertainty block -------------------------------------------------------------------------------------

FULL = {"travel_time": {"profile": [[0, 1], [28800, 1.8], [36000, 1]], "lognormal_sigma": 0.2,
                        "accidents": {"rate_per_hour": 0.05, "delay": [600, 1800]}},
        "demand": {"distribution": "normal", "cv": 0.2, "recourse": "fail"},
        "service_time": {"lognormal_sigma": 0.1}}


def _lyon(uncertainty) -> dict:
    data = json.loads((ROOT / "instances" / "vrptw_lyon.json").read_text())
    data["uncertainty"] = uncertainty
    return data


def test_the_block_round_trips_and_sets_the_model() -> None:
    p = Problem.from_dict(_lyon(FULL))
    u = p.uncertainty
    assert u == Uncertainty(TravelTimeNoise(((0, 1), (28800, 1.8), (36000, 1)), 0.2, 0.05, (600, 1800)),
                            DemandNoise("normal", 0.2, "fail"), ServiceTimeNoise(0.1))
    assert p.time_dependent and p.hour == 3600
    assert p.to_dict()["uncertainty"] == FULL
    assert Problem.from_dict(p.to_dict()).uncertainty == u
    only_noise = Problem.from_dict(_lyon({"travel_time": {"lognormal_sigma": 0.3}}))
    assert not only_noise.time_dependent and only_noise.uncertainty.travel_time.accident_delay == (0, 0)
    assert not Problem.from_dict(_lyon(None)).time_dependent
    assert line(None).hour == 60
    assert p.replace(name="copy").uncertainty == u  # kept by replace
    built = line([[0, 1], [10, 2]])  # lists from Python are stored as tuples, numbers as floats
    assert built.uncertainty.travel_time.profile == RISE and built.time_dependent


BAD = [
    ({"travel_time": {"profile": "rush"}}, "uncertainty.travel_time.profile: unknown profile \"rush\""),
    ({"travel_time": {"profile": [[0, 1], [3600, 2], [1800, 1]]}},
     "uncertainty.travel_time.profile[2]: time 1800 <= time 3600 of the previous point"),
    ({"travel_time": {"profile": [[0, 1], [3600, 0]]}}, "uncertainty.travel_time.profile[1]: factor 0 is not"),
    ({"travel_time": {"profile": [[0, -2]]}}, "uncertainty.travel_time.profile[0]: -2 < 0"),
    ({"travel_time": {"profile": []}}, "uncertainty.travel_time.profile: expected a profile name or a non-empty"),
    ({"travel_time": {"lognormal_sigma": -0.1}}, "uncertainty.travel_time.lognormal_sigma: -0.1 < 0"),
    ({"travel_time": {"accidents": {"rate_per_hour": -1}}}, "uncertainty.travel_time.accidents.rate_per_hour: -1"),
    ({"travel_time": {"accidents": {"delay": [60, 10]}}}, "uncertainty.travel_time.accidents.delay: min 60 > max"),
    ({"travel_time": {"speed": 3}}, "uncertainty.travel_time.speed: unknown field"),
    ({"demand": {"distribution": "gamma"}}, "uncertainty.demand.distribution: input should be 'poisson'"),
    ({"demand": {"cv": -0.5}}, "uncertainty.demand.cv: -0.5 < 0"),
    ({"demand": {"recourse": "skip"}}, "uncertainty.demand.recourse: input should be 'return' or 'fail'"),
    ({"service_time": {"lognormal_sigma": -1}}, "uncertainty.service_time.lognormal_sigma: -1 < 0"),
    ({"weather": {}}, "uncertainty.weather: unknown field"),
]


@pytest.mark.parametrize(("block", "message"), BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_blocks_exit_2_with_one_line_naming_the_field(block, message, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_lyon(block)))
    result = CliRunner().invoke(app, ["solve", str(path)])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]


def test_bad_python_values_are_named() -> None:
    base = line(None)
    cases = [
        (TravelTimeNoise(profile=((0, 1), (0, 2))), "uncertainty.travel_time.profile[1]"),
        (TravelTimeNoise(profile=((0, float("inf")),)), "uncertainty.travel_time.profile[0]"),
        (TravelTimeNoise(lognormal_sigma=float("nan")), "uncertainty.travel_time.lognormal_sigma"),
        (TravelTimeNoise(lognormal_sigma=11), "uncertainty.travel_time.lognormal_sigma"),
        (TravelTimeNoise(accident_delay=(1, 2, 3)), "uncertainty.travel_time.accidents.delay"),
    ]
    for noise, field in cases:
        with pytest.raises(ValidationError) as err:
            base.replace(uncertainty=Uncertainty(travel_time=noise))
        assert err.value.field == field
    with pytest.raises(ValidationError, match=r"uncertainty\.demand\.distribution"):
        base.replace(uncertainty=Uncertainty(demand=DemandNoise("gamma")))


def test_a_bad_block_in_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_lyon({"travel_time": {"profile": [[0, 1], [-5, 2]]}})))
    proc = subprocess.run([sys.executable, "-m", "vrpkit", "evaluate", str(path), str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert proc.stderr.strip().endswith("p.json: uncertainty.travel_time.profile[1]: -5 < 0")


def test_schema_has_the_block() -> None:
    from vrpkit.io.json import problem_schema

    schema = problem_schema()
    assert "uncertainty" in schema["properties"]
    travel = schema["$defs"]["TravelTimeIn"]["properties"]
    assert set(travel) == {"profile", "lognormal_sigma", "accidents"}
    assert set(schema["$defs"]["DemandIn"]["properties"]["distribution"]["enum"]) == {"poisson", "normal", "none"}


# -- solving a time-dependent problem --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["ortools", "localsearch"])
def test_solving_plans_on_static_legs_and_reports_the_time_dependent_schedule(solver: str) -> None:
    p = line(RISE, a=((20, 30),), b=((0, 60),))
    result = vrpkit.solve(p, solver, time_limit=0.6, seed=1)
    assert result.feasible
    again = evaluate(p, result.solution)
    assert result.cost == again.cost and result.evaluation.routes[0].arrival == again.routes[0].arrival
    stats = result.stats["time_dependent"]
    assert 1 <= stats["rounds"] <= 3 and stats["round_costs"][0] is not None
    assert min(c for c in stats["round_costs"] if c is not None) == result.cost
    # D-b-a-D leaves at 0, b at 10, a at 10 + 6 * 2 = 22, back at 22 + 4 * 2 = 30; D-a-b-D takes 40 (it leaves
    # at 12, a at 20, b at 32, back at 52); D-a-D + D-b-D take 16 + 30
    assert result.cost == pytest.approx(30)
    assert [p.clients[c].id for c in result.solution.routes[0].clients] == ["b", "a"]


def test_a_better_initial_plan_is_kept_on_the_time_dependent_schedule() -> None:
    p = line(RISE, a=((20, 30),), b=((0, 60),))
    best = [Route(0, (1, 0))]
    result = vrpkit.solve(p, "ortools", time_limit=0.3, initial=best)
    assert result.cost == pytest.approx(30) and result.stats["initial_cost"] == pytest.approx(30)
    worse = vrpkit.solve(p, "ortools", time_limit=0.3, initial=[Route(0, (0,)), Route(0, (1,))])
    assert worse.cost == pytest.approx(30) and worse.stats["initial_cost"] == pytest.approx(46)
    assert "initial_kept" not in worse.stats


def test_locked_prefixes_are_kept_on_a_time_dependent_problem() -> None:
    p = line(RISE, a=((20, 30),), b=((0, 60),))
    result = vrpkit.solve(p, "ortools", time_limit=0.3, locked=[Route(0, (0,))])
    assert result.feasible and result.solution.routes[0].clients[0] == 0
    assert result.cost == pytest.approx(evaluate(p, result.solution).cost)
    assert result.cost == pytest.approx(40)  # D-a-b-D (40) beats D-a-D + D-b-D (16 + 30)
