"""Robust plans (vrpkit.robust), the svrp generator and their CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import vrpkit
from vrpkit import Client, Depot, Problem, Route, VehicleType, evaluate
from vrpkit.cli import app
from vrpkit.errors import ValidationError
from vrpkit.generate import SVRP_DAY, generate, generate_many
from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
from vrpkit.robust import demand_quantile, quantile_problem, service_factor, travel_factor
from vrpkit.stochastic import simulate

Z90 = 1.2815515655446004  # the standard normal's 0.9-quantile


def single(uncertainty: Uncertainty | None, delivery: int = 4, capacity: int = 10) -> Problem:
    """D (0, 0), a (3, 4): Da = 5; service 10."""
    return Problem("single", (Depot("D", (0, 0)),), (Client("a", (3, 4), delivery=delivery, service_time=10),),
                   (VehicleType("v", capacity=capacity),), uncertainty=uncertainty)


def test_quantile_problem_scales_durations_service_and_demands_by_hand() -> None:
    """sigma 0.5 at q 0.9: exp(0.5 z) = 1.8980; accidents 6 per hour (60 minutes), mean delay 20: + 6 * 20 / 60
    = 2 per unit of driving, so k = 1.8980 * 3 = 5.6939; service sigma 0.25: exp(0.25 z) = 1.37766. Poisson(4):
    P(<= 6) = 0.8893, P(<= 7) = 0.9489, so its 0.9-quantile is 7."""
    u = Uncertainty(TravelTimeNoise(lognormal_sigma=0.5, accident_rate_per_hour=6, accident_delay=(10, 30)),
                    DemandNoise("poisson"), ServiceTimeNoise(0.25))
    p = single(u)
    k = math.exp(0.5 * Z90) * 3
    assert travel_factor(p, 0.9) == pytest.approx(k) and k == pytest.approx(5.69386, abs=1e-5)
    assert service_factor(p, 0.9) == pytest.approx(math.exp(0.25 * Z90))
    q = quantile_problem(p, 0.9)
    assert q.duration[0, 1] == pytest.approx(5 * k) and q.distance[0, 1] == 5
    assert q.clients[0].service_time == pytest.approx(13.7766, abs=1e-4)
    assert q.clients[0].delivery == (7,) and q.capacity[0, 0] == 10
    assert q.uncertainty == p.uncertainty


def test_demand_quantiles_normal_poisson_and_the_capacity_cap() -> None:
    # normal cv 0.25: 4 + 1.2816 = 5.28 -> 5; 20 + 6.41 -> 26; never below the mean (q 0.1 of 4 would be 3)
    assert list(demand_quantile(np.array([4.0, 20.0]), "normal", 0.25, 0.9)) == [5, 26]
    assert list(demand_quantile(np.array([4.0]), "normal", 0.25, 0.1)) == [4]
    # Poisson: mean 0 stays 0; mean 1: P(<= 1) = 0.7358, P(<= 2) = 0.9197 -> 2
    assert list(demand_quantile(np.array([0.0, 1.0, 4.0]), "poisson", 0.0, 0.9)) == [0, 2, 7]
    u = Uncertainty(demand=DemandNoise("poisson"))
    assert quantile_problem(single(u, delivery=8), 0.9).clients[0].delivery == (10,)  # Poisson(8) q90 12, cap 10
    assert quantile_problem(single(u, delivery=12), 0.9).clients[0].delivery == (12,)  # above it: kept as is


def detour() -> Problem:
    """D (0, 0), a (0, 10) window [40, 45], b (20, 0) window [0, 35]; ab = 22.36. Static: D-b-a-D (b at 20,
    a at 42.36) costs 52.36 < two routes 20 + 40 = 60; D-a-b fails (b at 62.36). Travel sigma 0.3 at q 0.9:
    k = 1.4689, D-b-a has a at 29.38 + 32.85 = 62.2 > 45 and D-a-b b at 73 > 35: the robust plan is two
    routes (a at 14.69, waits till 40; b at 29.38)."""
    clients = (Client("a", (0, 10), delivery=1, time_windows=((40, 45),)),
               Client("b", (20, 0), delivery=1, time_windows=((0, 35),)))
    return Problem("detour", (Depot("D", (0, 0)),), clients, (VehicleType("v", capacity=10),),
                   uncertainty=Uncertainty(TravelTimeNoise(lognormal_sigma=0.3)))


def test_robust_plan_is_evaluated_on_the_real_problem_with_both_plans_simulated() -> None:
    p = detour()
    r = vrpkit.solve(p, "ortools", time_limit=0.4, robust=0.9, robust_scenarios=4000, seed=1)
    assert sorted(sorted(x.clients) for x in r.solution.routes) == [[0], [1]]
    assert r.evaluation == evaluate(p, r.solution) and r.cost == pytest.approx(60.0)
    rb = r.stats["robust"]
    assert rb["returned"] == "robust" and rb["quantile"] == 0.9 and rb["scenarios"] == 4000
    assert rb["travel_factor"] == pytest.approx(math.exp(0.3 * Z90), abs=1e-6)
    assert rb["deterministic"]["routes"] == [[0, [1, 0]]]
    assert rb["deterministic"]["cost"] == pytest.approx(20 + math.hypot(20, 10) + 10)
    assert rb["robust"]["cost"] == pytest.approx(60.0) and rb["robust"]["feasible"]
    # the robust routes leave as the quantile problem plans them: D-a at 40 - 14.69, D-b at 0
    starts = dict(zip((x[1][0] for x in rb["robust"]["routes"]), rb["robust"]["starts"], strict=True))
    assert starts[0] == pytest.approx(40 - 10 * rb["travel_factor"]) and starts[1] == 0
    det, rob = rb["deterministic"]["simulated"], rb["robust"]["simulated"]
    # deterministic: a late when 42.36 e^(0.3 Z) > 45 (P = 0.42), b when 20 e^(0.3 Z) > 35 (0.031)
    assert det["on_time_rate"] == pytest.approx(1 - (0.4201 + 0.0310) / 2, abs=0.02)
    # robust: a late when 10 e^(0.3 Z) > 19.69 (P = 0.012), b when 20 e^(0.3 Z) > 35 (0.031)
    assert rob["on_time_rate"] == pytest.approx(1 - (0.0118 + 0.0310) / 2, abs=0.01)
    assert rob["on_time_rate"] > det["on_time_rate"] + 0.15
    json.dumps(r.to_dict())


def test_simulate_with_given_starts() -> None:
    p = detour()
    plan = [Route(0, (0,))]
    assert evaluate(p, plan).routes[0].start_time == 30  # the evaluator leaves at 30, to reach a at 40
    late = simulate(p, plan, 4000, seed=2).on_time_rate
    early = simulate(p, plan, 4000, seed=2, starts=[20.0]).on_time_rate
    # late when 30 + 10 e^(0.3 Z) > 45: P(Z > ln 1.5 / 0.3 = 1.35) = 0.0883; from 20: P(Z > 3.05) = 0.001
    assert late == pytest.approx(1 - 0.0883, abs=0.015) and early > 0.995
    with pytest.raises(ValidationError) as err:
        simulate(p, plan, 10, starts=[-1.0])
    assert err.value.field == "starts[0]"
    with pytest.raises(ValidationError, match="starts"):
        simulate(p, plan, 10, starts=[1.0, 2.0])


def test_robust_is_refused_without_noise_and_outside_0_1() -> None:
    for u in (None, Uncertainty(TravelTimeNoise(profile="rush_hour")), Uncertainty(demand=DemandNoise("none"))):
        with pytest.raises(ValidationError) as err:
            vrpkit.solve(single(u), "ortools", time_limit=0.1, robust=0.9)
        assert err.value.field == "robust"
    for q in (0, 1, 1.5, True, "0.9"):
        with pytest.raises(ValidationError, match="robust"):
            vrpkit.solve(detour(), "ortools", time_limit=0.1, robust=q)


def test_svrp_generator_is_reproducible_and_valid() -> None:
    a, b = generate("svrp", 40, seed=5), generate("svrp", 40, seed=5)
    assert a.to_dict() == b.to_dict() and a.to_dict() != generate("svrp", 40, seed=6).to_dict()
    assert a.n_depots == 3 and len(a.vehicle_types) == 3 and a.time_dependent and a.hour == 60
    u = a.uncertainty
    assert u.travel_time.profile == "rush_hour" and u.travel_time.lognormal_sigma == 0.2
    assert u.demand.distribution == "normal" and u.demand.recourse == "return"
    windows = np.array([c.time_windows[0] for c in a.clients])
    assert np.all(windows[:, 0] >= SVRP_DAY[0]) and np.all(windows[:, 1] <= SVRP_DAY[1])
    assert set(np.diff(windows, axis=1).ravel() >= 60) == {True}
    assert all(1 <= c.delivery[0] <= 9 for c in a.clients)
    # each client can be served alone from its nearest depot, on the time-dependent evaluator
    near = a.distance[:3, 3:].argmin(axis=0)
    alone = [Route(int(near[i]), (i,)) for i in range(a.n_clients)]
    assert evaluate(a, alone).feasible
    many = generate_many("svrp", 20, 3, seed=1)
    assert [p.name for p in many] == ["svrp-n20-s1-0", "svrp-n20-s1-1", "svrp-n20-s1-2"]
    assert generate("svrp", 20, seed=1, distribution="svrp", n_depots=2).n_depots == 2
    with pytest.raises(ValidationError) as err:
        generate("cvrp", 20, seed=1, distribution="svrp")
    assert err.value.field == "variant"
    with pytest.raises(ValidationError) as err:
        generate("svrp", 20, seed=1, grid=3)
    assert err.value.field == "grid"


def one_line_error(result) -> str:
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_cli_generate_and_solve_robust(tmp_path: Path) -> None:
    runner = CliRunner()
    gen = runner.invoke(app, ["generate", "--variant", "svrp", "-n", "12", "--seed", "3", "-o",
                              str(tmp_path / "s.json")])
    assert gen.exit_code == 0, gen.stderr
    assert json.loads((tmp_path / "s.json").read_text())["uncertainty"]["travel_time"]["profile"] == "rush_hour"
    assert one_line_error(runner.invoke(app, ["generate", "--variant", "svrp", "--depots", "0", "-o",
                                              str(tmp_path / "t.json")])).startswith("error: --depots: ")
    path = tmp_path / "detour.json"
    path.write_text(json.dumps(detour().to_dict()))
    out = tmp_path / "sol.json"
    res = runner.invoke(app, ["solve", str(path), "-t", "0.4", "-q", "--robust", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert "robust (q 0.9): cost 60" in res.stderr and "deterministic: cost 52.36" in res.stderr
    saved = json.loads(out.read_text())
    assert saved["cost"] == pytest.approx(60) and saved["stats"]["robust"]["quantile"] == 0.9
    # vrpkit simulate drives the robust plan from its planned departures: the figures of its stats, exactly
    report = tmp_path / "risk.json"
    sim = runner.invoke(app, ["simulate", str(path), str(out), "-n", "1000", "--seed", "0", "-o", str(report)])
    assert sim.exit_code == 0 and "planned departures" in sim.stderr, sim.stderr
    figures = json.loads(report.read_text())
    for key in ("expected_cost", "on_time_rate", "violation_rate", "feasible_rate"):
        assert figures[key] == saved["stats"]["robust"]["robust"]["simulated"][key]
    res = runner.invoke(app, ["solve", str(path), "-t", "0.4", "-q", "--robust-quantile", "0.6"])
    assert res.exit_code == 0 and "robust (q 0.6)" in res.stderr
    assert "--robust-quantile: 1.5 is not a quantile" in one_line_error(
        runner.invoke(app, ["solve", str(path), "-q", "--robust-quantile", "1.5"]))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(single(None).to_dict()))
    assert one_line_error(runner.invoke(app, ["solve", str(plain), "-q", "--robust"])).startswith(
        "error: --robust: needs an uncertainty block")


def test_robust_equals_q_on_the_command_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """``vrpkit solve FILE --robust=Q`` (the flag with its optional value) is ``--robust --robust-quantile Q``."""
    from vrpkit.cli import expand_args, main

    assert expand_args(["solve", "p.json", "--robust=0.6", "--", "--robust=1"]) == [
        "solve", "p.json", "--robust", "--robust-quantile", "0.6", "--", "--robust=1"]
    path = tmp_path / "detour.json"
    path.write_text(json.dumps(detour().to_dict()))
    monkeypatch.setattr("sys.argv", ["vrpkit", "solve", str(path), "-t", "0.4", "-q", "--robust=0.6"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    assert "robust (q 0.6)" in capsys.readouterr().err
