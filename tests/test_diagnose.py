"""diagnose(): one test per reason, and no reason where a plan exists (shortcuts through other clients)."""

from __future__ import annotations

import numpy as np

from vrpkit import Client, Depot, Problem, VehicleType
from vrpkit.diagnose import client_vehicle_feasibility, diagnose


def problem(*clients: Client, types: tuple[VehicleType, ...] = (VehicleType("v"),), **kw) -> Problem:
    """Depot D at (0, 0); Euclidean distances, durations equal to distances."""
    return Problem("p", depots=kw.pop("depots", (Depot("D", (0, 0)),)), clients=clients, vehicle_types=types, **kw)


def test_feasible_problem_has_no_reason(triangle, line):
    assert diagnose(line) == []
    # triangle: capacity 4, deliveries 2 and 3: each fits alone; the count is unlimited.
    assert diagnose(triangle) == []


def test_delivery_exceeds_every_capacity():
    p = problem(Client("c3", (1, 0), delivery=30), Client("ok", (2, 0), delivery=5),
                types=(VehicleType("v", capacity=20),))
    assert diagnose(p) == ["client c3: delivery 30 exceeds every vehicle's capacity 20"]


def test_capacity_of_heterogeneous_fleet_and_pickups():
    types = (VehicleType("small", capacity=10), VehicleType("big", capacity=20))
    p = problem(Client("a", (1, 0), delivery=25), Client("b", (1, 0), pickup=21), Client("c", (1, 0), delivery=15),
                types=types)
    assert diagnose(p) == [
        "client a: delivery 25 exceeds every vehicle's capacity (largest 20)",
        "client b: pickup 21 exceeds every vehicle's capacity (largest 20)",
    ]


def test_capacity_in_several_dimensions():
    types = (VehicleType("wide", capacity=(10, 2)), VehicleType("tall", capacity=(2, 10)))
    p = problem(Client("a", (1, 0), delivery=(5, 5)), Client("b", (1, 0), delivery=(3, 11)), types=types)
    assert diagnose(p) == [
        "client a: delivery [5, 5] does not fit any vehicle's capacity (wide [10, 2], tall [2, 10])",
        "client b: delivery 11 in dimension 1 exceeds every vehicle's capacity (largest 10)",
    ]


def test_time_window_closes_before_any_vehicle_can_arrive():
    # c17 at distance 10 closes at 8; the late type starts at 5 and the early one at 0: earliest arrival 10.
    types = (VehicleType("early"), VehicleType("late", shift=(5, 100)))
    p = problem(Client("c17", (6, 8), time_windows=((0, 8),)), Client("ok", (6, 8), time_windows=((0, 10),)),
                types=types)
    assert diagnose(p) == [
        "client c17: time window closes at 8 before any vehicle can arrive (earliest arrival 10)"]
    # The last of several windows counts; the depot's opening time delays every departure.
    several = problem(Client("a", (6, 8), time_windows=((0, 1), (5, 12))),
                      depots=(Depot("D", (0, 0), (3, 100)),))
    assert diagnose(several) == [
        "client a: time window closes at 12 before any vehicle can arrive (earliest arrival 13)"]


def test_cannot_get_back_to_the_end_depot_in_time():
    # a at distance 10, window opens at 50, service 5: back at 65 at the earliest.
    a = Client("a", (6, 8), time_windows=((50, 100),), service_time=5)
    assert diagnose(problem(a, types=(VehicleType("v", shift=(0, 64)),))) == [
        "client a: no vehicle can serve it and get back to the end depot within its shift and opening hours "
        "(earliest end 65, latest allowed 64)"]
    assert diagnose(problem(a, types=(VehicleType("v", shift=(0, 65)),))) == []
    # The depot's closing time counts too; with an open route only the shift does (end 55).
    assert diagnose(problem(a, depots=(Depot("D", (0, 0), (0, 60)),))) == [
        "client a: no vehicle can serve it and get back to the end depot within its shift and opening hours "
        "(earliest end 65, latest allowed 60)"]
    open_ = problem(a, types=(VehicleType("v", end_depot=None, shift=(0, 54)),))
    assert diagnose(open_) == [
        "client a: no vehicle can serve it and finish within its shift (earliest end 55, latest allowed 54)"]


def test_max_duration_and_max_distance_on_a_direct_trip():
    a = Client("a", (6, 8), service_time=1)  # out and back: distance 20, duration 21
    assert diagnose(problem(a, types=(VehicleType("v", max_duration=20.5),))) == [
        "client a: a direct trip to it takes at least 21, more than every vehicle's max_duration (largest 20.5)"]
    assert diagnose(problem(a, types=(VehicleType("v", max_duration=21),))) == []
    assert diagnose(problem(a, types=(VehicleType("v", max_distance=19), VehicleType("w", max_distance=15)))) == [
        "client a: a direct trip to it is at least 20 long, more than every vehicle's max_distance (largest 19)"]
    # Open routes do not come back: 10 is enough.
    assert diagnose(problem(a, types=(VehicleType("v", max_distance=10, end_depot=None),))) == []


def test_each_vehicle_type_fails_for_a_different_reason():
    types = (VehicleType("small", capacity=5), VehicleType("slow", capacity=50, shift=(20, 100)))
    p = problem(Client("a", (6, 8), delivery=10, time_windows=((0, 15),)), types=types)
    assert diagnose(p) == [
        "client a: no vehicle can serve it (small: delivery 10 exceeds its capacity 5; "
        "slow: arrives at 30 after the window closes at 15)"]


def test_total_demand_exceeds_the_fleet():
    types = (VehicleType("v", count=2, capacity=10),)
    p = problem(*(Client(f"c{i}", (i + 1, 0), delivery=7) for i in range(3)), types=types)
    assert diagnose(p) == ["total delivery 21 of the required clients exceeds the fleet's total capacity 20 "
                           "(2 vehicles)"]
    # Optional clients do not count; an unlimited count never runs out.
    optional = problem(*(Client(f"c{i}", (i + 1, 0), delivery=7, required=i < 2) for i in range(3)), types=types)
    assert diagnose(optional) == []
    assert diagnose(p.replace(vehicle_types=(VehicleType("v", capacity=10),))) == []


def test_total_pickups_in_a_dimension():
    types = (VehicleType("v", count=1, capacity=(10, 3)),)
    p = problem(Client("a", (1, 0), pickup=(1, 2)), Client("b", (2, 0), pickup=(1, 2)), types=types)
    assert diagnose(p) == ["total pickup 4 in dimension 1 of the required clients exceeds the fleet's total "
                           "capacity 3 (1 vehicle)"]


def test_no_vehicle_can_leave():
    p = problem(Client("a", (1, 0)), depots=(Depot("D", (0, 0), (0, 10)),),
                types=(VehicleType("v", shift=(20, 30)),))
    assert diagnose(p) == ["no vehicle can leave its depot within its shift and the depot's opening hours: "
                           "v (shift 20-30, depot D open 0-10)"]


def test_optional_clients_are_not_reasons():
    p = problem(Client("a", (1, 0), delivery=30, required=False, prize=5), types=(VehicleType("v", capacity=20),))
    assert diagnose(p) == []
    assert not client_vehicle_feasibility(p).any()


def test_shortcuts_through_other_clients_are_taken_into_account():
    # An explicit matrix that breaks the triangle inequality: D->b is 10 but D->a->b is 2 (a has no service).
    # b closes at 5, so a direct trip is late but a plan through a exists: no reason.
    dist = np.array([[0, 1, 10], [1, 0, 1], [10, 1, 0]], dtype=float)
    p = Problem("shortcut", depots=(Depot("D"),),
                clients=(Client("a"), Client("b", time_windows=((0, 5),))),
                vehicle_types=(VehicleType("v", max_distance=4),), distance=dist)
    assert diagnose(p) == []
    assert client_vehicle_feasibility(p).tolist() == [[True, True]]
    # Only one way round is short: with max_distance 3 the trip D-a-b-a-D (4) is the shortest for b.
    tight = p.replace(vehicle_types=(VehicleType("v", max_distance=3),))
    assert diagnose(tight) == [
        "client b: a direct trip to it is at least 4 long, more than every vehicle's max_distance (largest 3)"]


def test_multi_depot_trips_start_and_end_at_their_depots():
    # D1 at 0, D2 at 100; a at 90 closes at 20: only a vehicle from D2 gets there in time.
    depots = (Depot("D1", (0, 0)), Depot("D2", (100, 0)))
    a = Client("a", (90, 0), time_windows=((0, 20),))
    from_d1 = VehicleType("v1", start_depot="D1")
    assert diagnose(problem(a, depots=depots, types=(from_d1,))) == [
        "client a: time window closes at 20 before any vehicle can arrive (earliest arrival 90)"]
    both = problem(a, depots=depots, types=(from_d1, VehicleType("v2", start_depot="D2")))
    assert diagnose(both) == []
    assert client_vehicle_feasibility(both).tolist() == [[False], [True]]
