"""The evaluator's rules for a real fleet's day (skills, reloads, release times, shipments, breaks), on tiny
instances on a line worked out by hand (planar: the distance and the duration of a leg are both ``|x - x'|``).
"""

from __future__ import annotations

import importlib
import json

import pytest

from vrpkit import Client, Depot, Problem, Route, Solution, VehicleType, evaluate, evaluate_many
from vrpkit.errors import ValidationError
from vrpkit.evaluate import BreakTaken, Reload, _data
from vrpkit.model import Break, Shipment, TravelTimeNoise, Uncertainty

evaluate_module = importlib.import_module("vrpkit.evaluate")  # the module (vrpkit.evaluate is also the function)


def names(ev) -> list[tuple]:
    return [(v.constraint, v.route, v.client, v.amount) + ((v.vehicle_type,) if v.vehicle_type else ())
            for v in ev.violations]


def at(x: float) -> tuple[float, float]:
    return (float(x), 0.0)


def line(clients, *types: VehicleType, depots=None, shipments=(), **kw) -> Problem:
    depots = depots or (Depot("D", at(0)),)
    return Problem("line", depots=tuple(depots), clients=tuple(clients),
                   vehicle_types=types or (VehicleType("v"),), shipments=tuple(shipments), **kw)


# -- Route -----------------------------------------------------------------------------------------------


def test_route_is_normalised_and_two_arguments_still_work():
    r = Route(0, [3, 1, 2], reloads=[(2, 1), [1, 0]], breaks=[(2, 1), (0, 0), (2, 0)])
    assert r.clients == (3, 1, 2) and r.reloads == ((1, 0), (2, 1))
    assert r.breaks == ((0, 0), (2, 1), (2, 0))  # by position, the order at one position kept
    assert r.trips == ((3,), (1,), (2,))
    assert Route(0, (1, 2)) == Route(0, (1, 2), (), None) and Route(0, (1, 2)).breaks is None
    assert Route(0, (1,), breaks=()).breaks == ()
    with pytest.raises(AttributeError):
        r.reloads = ()  # type: ignore[misc]


# -- skills -----------------------------------------------------------------------------------------------


def test_skills_missing_are_counted_per_client():
    p = line((Client("a", at(1), skills=("fridge",)), Client("b", at(2), skills=("fridge", "lift")),
              Client("c", at(3))),
             VehicleType("van", skills=("lift",)), VehicleType("truck", skills=("fridge", "crane")))
    assert p.fleet
    # van D-a-b-c-D: a lacks fridge (1), b lacks fridge (1); distance 1 + 1 + 1 + 3 = 6.
    ev = evaluate(p, [Route(0, (0, 1, 2))])
    assert names(ev) == [("skills", 0, "a", 1.0), ("skills", 0, "b", 1.0)]
    assert ev.distance == 6 and ev.cost == 6
    # truck D-b-D (b lacks lift), van D-a-c-D (a lacks fridge): 4 + 6.
    ev = evaluate(p, [Route(1, (1,)), Route(0, (0, 2))])
    assert names(ev) == [("skills", 0, "b", 1.0), ("skills", 1, "a", 1.0)]
    # A type with no skills at all misses both of b's.
    p2 = p.replace(vehicle_types=(VehicleType("plain"),))
    assert names(evaluate(p2, [Route(0, (1, 0, 2))])) == [("skills", 0, "b", 2.0), ("skills", 0, "a", 1.0)]
    ok = evaluate(p, [Route(1, (0, 2)), Route(0, ()), Route(1, (1,))])
    assert names(ok) == [("skills", 1, "b", 1.0)]


# -- reloads and trips ---------------------------------------------------------------------------------------


def reload_line(**vehicle) -> Problem:
    """D at 0 (reload 1), R at 5 (reload 2, open 0-20); a at 2 and b at 3, delivery 4 each, c (optional) at 4,
    delivery 1; capacity 5."""
    vehicle = {"capacity": 5, "reload_depots": ("D",), **vehicle}
    clients = (Client("a", at(2), delivery=4), Client("b", at(3), delivery=4),
               Client("c", at(4), delivery=1, required=False))
    return line(clients,
                VehicleType("v", **vehicle),
                depots=(Depot("D", at(0), service_time=1), Depot("R", at(5), time_window=(0, 20), service_time=2)))


def test_a_reload_makes_two_trips():
    p = reload_line()
    assert p.fleet and "multi_trip" in p.attributes
    # D-a (2), a-D (2: arrive 4, reload 4-5), D-b (3: arrive 8), b-D (3: back at 11). Loads: 4 on board, 0 after
    # a, 4 after the reload, 0 after b.
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 0),))])
    r = ev.routes[0]
    assert ev.feasible and ev.distance == 10 and ev.duration == 11
    assert (r.start_time, r.end_time) == (0, 11)
    assert r.arrival == (2, 8) and r.start == (2, 8) and r.departure == (2, 8)
    assert r.start_load == (4,) and r.load == ((0,), (0,))
    assert r.reloads == (Reload(1, 0, 4.0, 4.0, 5.0, (4.0,)),) and r.breaks == ()
    # Without the reload both deliveries leave the depot: 8 on board, 3 over.
    assert names(evaluate(p, [Route(0, (0, 1))])) == [("capacity", 0, None, 3.0)]
    # An unknown client index is left out; the reload stays before b.
    ev = evaluate(p, [Route(0, (0, 99, 1), reloads=((2, 0),))])
    assert names(ev) == [("unknown_id", 0, "99", 1.0)] and ev.routes[0].reloads[0][:2] == (1, 0)


def test_reload_violations():
    p = reload_line()
    # At R, not a reload depot of the type: D-a 2, a-R 3 (arrive 5, reload 5-7), R-b 2 (9), b-D 3 (12).
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 1),))])
    assert names(ev) == [("reload", 0, "R", 1.0)]
    assert ev.distance == 10 and ev.routes[0].reloads == (Reload(1, 1, 5.0, 5.0, 7.0, (4.0,)),)
    assert ev.routes[0].end_time == 12
    # Position 0 (before the first client) and a second reload at one position are left out.
    ev = evaluate(p, [Route(0, (0, 1), reloads=((0, 0),))])
    assert names(ev) == [("reload", 0, "D", 1.0), ("capacity", 0, None, 3.0)]
    assert ev.routes[0].reloads == ()
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 0), (1, 0), (2, 0)))])
    assert names(ev) == [("reload", 0, "D", 1.0), ("reload", 0, "D", 1.0)]
    assert len(ev.routes[0].reloads) == 1
    # A depot index out of range is an unknown id.
    assert names(evaluate(p, [Route(0, (0,), reloads=((1, 7),))]))[0] == ("unknown_id", 0, "7", 1.0)
    # max_reloads 1: two reloads are one too many (D-a-D-b-D-c-D: 2 + 2 + 3 + 3 + 4 + 4 = 18).
    p1 = reload_line(max_reloads=1)
    ev = evaluate(p1, [Route(0, (0, 1, 2), reloads=((1, 0), (2, 0)))])
    assert names(ev) == [("reload", 0, None, 1.0)] and ev.distance == 18
    # A type without reload depots: each reload is at a depot that is not one of its reload depots.
    p0 = reload_line(reload_depots=())
    assert names(evaluate(p0, [Route(0, (0, 1), reloads=((1, 0),))])) == [("reload", 0, "D", 1.0)]


def test_reload_depot_closing_time():
    # R open 0-4 and allowed: D-a 2, a-R 3: arrival 5 is 1 after R closes (reload 5-7, R-b 2: 9, b-D 3: 12).
    p = reload_line(reload_depots=("D", "R"))
    p = p.replace(depots=(p.depots[0], Depot("R", at(5), time_window=(0, 4), service_time=2)))
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 1),))])
    assert names(ev) == [("depot_time_window", 0, "R", 1.0)]
    # Waiting for R to open at 8: the departure is delayed by 3 (the wait), a at 5, R at 8 (reload 8-10),
    # b at 12, back at 15: duration 10.
    p = p.replace(depots=(p.depots[0], Depot("R", at(5), time_window=(8, 20), service_time=2)))
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 1),))])
    r = ev.routes[0]
    assert ev.feasible and (r.start_time, r.end_time, r.duration) == (3, 15, 12)
    assert r.reloads == (Reload(1, 1, 8.0, 8.0, 10.0, (4.0,)),) and r.start == (5, 12)


# -- release times ---------------------------------------------------------------------------------------------


def release_line(**vehicle) -> Problem:
    """D at 0; a at 2, b at 4 released at 10."""
    return line((Client("a", at(2)), Client("b", at(4), release_time=10)),
                VehicleType("v", reload_depots=("D",), **vehicle))


def test_a_trip_leaves_after_its_release_times():
    p = release_line()
    assert "release_times" in p.attributes
    # One trip: it waits for b's goods until 10, and the delayed departure leaves out the wait: 10, a at 12,
    # b at 14, back at 18.
    r = evaluate(p, [Route(0, (0, 1))]).routes[0]
    assert (r.start_time, r.arrival, r.end_time, r.duration) == (10, (12, 14), 18, 8)
    # Two trips: a first (released at 0), back at the depot at 4 + 6 = 10 after a start at 6; the second trip
    # leaves at 10: b at 14, back at 18.
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 0),))])
    r = ev.routes[0]
    assert ev.feasible and (r.start_time, r.arrival, r.end_time, r.duration) == (6, (8, 14), 18, 12)
    assert r.reloads == (Reload(1, 0, 10.0, 10.0, 10.0, (0.0,)),)


def test_release_time_violations():
    # Shift 0-8: the start is delayed to 8 at most, the release keeps the vehicle until 10: 2 past the shift
    # end, and no shift violation (the route ends at 18).
    ev = evaluate(release_line(shift=(0, 8)), [Route(0, (0, 1))])
    assert names(ev) == [("release_time", 0, "D", 2.0)]
    assert ev.routes[0].start_time == 8 and ev.routes[0].end_time == 18
    # The depot closes at 5: it leaves 5 after it closes; back at 18 too, no end depot violation.
    p = release_line().replace(depots=(Depot("D", at(0), time_window=(0, 5)),))
    ev = evaluate(p, [Route(0, (0, 1))])
    assert names(ev) == [("release_time", 0, "D", 5.0)]
    # Two trips: the reload at D (closing at 5) bounds the delay to 1: a at 3, back at D at 5, waits for b until
    # 10, 5 after D closed (10 - max(5, 5)); b at 14, back at 18 (no end depot violation: the release is why).
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 0),))])
    r = ev.routes[0]
    assert (r.start_time, r.arrival, r.end_time) == (1, (3, 14), 18)
    assert r.reloads == (Reload(1, 0, 5.0, 5.0, 10.0, (0.0,)),)
    assert names(ev) == [("release_time", 0, "D", 5.0)]


# -- loads with shipments ----------------------------------------------------------------------------------------


def shipment_line(*extra: Client, capacity: int = 4, max_ride_time: float = float("inf"), optional=False,
                  **vehicle) -> Problem:
    """D at 0; shipment s (2 from p at 1 to q at 3); a at 2 with a delivery of 3."""
    stops = (Client("p", at(1), required=not optional, prize=7 if optional else 0),
             Client("q", at(3), required=not optional))
    return line((*stops, Client("a", at(2), delivery=3), *extra), VehicleType("v", capacity=capacity, **vehicle),
                shipments=(Shipment("s", "p", "q", amount=2, max_ride_time=max_ride_time),))


def test_load_with_a_shipment_on_board():
    p = shipment_line()
    assert p.variant.startswith("PDP") and p.fleet
    # D-p-a-q-D: 3 (a's delivery) leaves the depot, 5 after p, 2 after a, 0 after q: 1 over the capacity 4.
    ev = evaluate(p, [Route(0, (0, 2, 1))])
    assert names(ev) == [("capacity", 0, None, 1.0)]
    assert ev.routes[0].start_load == (3,) and ev.routes[0].load == ((5,), (2,), (0,))
    # D-a-p-q-D: 3, 0, 2, 0; distance 2 + 1 + 2 + 3 = 8.
    ev = evaluate(p, [Route(0, (2, 0, 1))])
    assert ev.feasible and ev.distance == 8 and ev.routes[0].load == ((0,), (2,), (0,))


def test_a_shipment_stays_on_board_over_a_reload_and_pickups_are_dropped():
    # Trip 1 D-p-c: 0 leaves, 2 after p, 3 after c (c picks up 1). Reload at D: c's pickup is dropped, b's
    # delivery 3 comes on board with the shipment: 5. Trip 2 D-b-q: 2 after b, 0 after q.
    c = Client("c", at(2), pickup=1)
    b = Client("b", at(4), delivery=3)
    p = line((Client("p", at(1)), Client("q", at(3)), c, b), VehicleType("v", capacity=5, reload_depots=("D",)),
             shipments=(Shipment("s", "p", "q", amount=2),))
    route = Route(0, (0, 2, 3, 1), reloads=((2, 0),))
    ev = evaluate(p, [route])
    r = ev.routes[0]
    assert ev.feasible
    assert r.start_load == (0,) and r.load == ((2,), (3,), (2,), (0,)) and r.reloads[0].load == (5.0,)
    # D-p 1, p-c 1, c-D 2, D-b 4, b-q 1, q-D 3.
    assert ev.distance == 12
    tight = p.replace(vehicle_types=(VehicleType("v", capacity=4, reload_depots=("D",)),))
    assert names(evaluate(tight, [route])) == [("capacity", 0, None, 1.0)]


def test_shipment_violations():
    p = shipment_line(capacity=9, max_ride_time=1)
    # On two routes: split (named by the pickup stop).
    assert names(evaluate(p, [Route(0, (0, 2)), Route(0, (1,))])) == [("shipment_split", None, "p", 1.0)]
    # Only the pickup visited: split, and the delivery stop is missing.
    assert names(evaluate(p, [Route(0, (0, 2))])) == [("shipment_split", None, "p", 1.0),
                                                      ("missing_client", None, "q", 1.0)]
    # Delivery first: D-q-p-a-D; order (named by the delivery stop).
    assert names(evaluate(p, [Route(0, (1, 0, 2))])) == [("shipment_order", 0, "q", 1.0)]
    # D-p-a-q-D: p's service ends at 1, q starts at 3: a ride of 2, 1 over max_ride_time 1.
    assert names(evaluate(p, [Route(0, (0, 2, 1))])) == [("ride_time", 0, "q", 1.0)]
    # D-p-q-D then D-a-D: a ride of 2 as well.
    assert names(evaluate(p, [Route(0, (0, 1)), Route(0, (2,))])) == [("ride_time", 0, "q", 1.0)]


def test_a_shipment_left_out():
    # Optional stops: both left out cost the prizes of both (7 on the pickup, 0 on the delivery); D-a-D is 4.
    p = shipment_line(optional=True)
    ev = evaluate(p, [Route(0, (2,))])
    assert ev.feasible and ev.unassigned == (0, 1) and ev.prize_lost == 7 and ev.cost == 11
    # Required stops: two missing clients.
    ev = evaluate(shipment_line(), [Route(0, (2,))])
    assert names(ev) == [("missing_client", None, "p", 1.0), ("missing_client", None, "q", 1.0)]


# -- breaks ---------------------------------------------------------------------------------------------------


def break_line(*breaks: Break, **vehicle) -> Problem:
    """D at 0; a at 2 and b at 4, service 1 each."""
    breaks = breaks or (Break("lunch", ((5, 8),), 2),)
    return line((Client("a", at(2), service_time=1), Client("b", at(4), service_time=1)),
                VehicleType("v", breaks=breaks, **vehicle))


def test_a_listed_break():
    p = break_line()
    assert "breaks" in p.attributes and p.fleet
    # After a: a 2-3, the break waits for 5: 5-7, b at 9 (9-10), back at 14. The start is delayed by the wait
    # (2): a 4-5, break 5-7, b 9-10, end 14: duration 12.
    ev = evaluate(p, [Route(0, (0, 1), breaks=((1, 0),))])
    r = ev.routes[0]
    assert ev.feasible and ev.distance == 8 and ev.cost == 8
    assert (r.start_time, r.end_time, r.duration) == (2, 14, 12)
    assert r.start == (4, 9) and r.departure == (5, 10)
    assert r.breaks == (BreakTaken(1, 0, 5.0, 7.0),)
    # At the start depot before leaving: break 5-7 (start delayed to 5), a 9-10, b 12-13, back at 17.
    r = evaluate(p, [Route(0, (0, 1), breaks=((0, 0),))]).routes[0]
    assert (r.start_time, r.start, r.end_time) == (5, (9, 12), 17) and r.breaks == (BreakTaken(0, 0, 5.0, 7.0),)


def test_break_violations():
    p = break_line()
    # None listed: missing (amount 1, the vehicle type); the route runs without it: 0-12.
    ev = evaluate(p, [Route(0, (0, 1), breaks=())])
    assert names(ev) == [("break", 0, None, 1.0, "v")] and ev.routes[0].breaks == ()
    # Listed twice: after a (5-7, waiting) and after b (b 9-10): the second starts at 10, 2 after 8.
    ev = evaluate(p, [Route(0, (0, 1), breaks=((1, 0), (2, 0)))])
    assert names(ev) == [("break", 0, None, 1.0, "v"), ("break", 0, None, 2.0, "v")]
    assert ev.routes[0].breaks == (BreakTaken(1, 0, 5.0, 7.0), BreakTaken(2, 0, 10.0, 12.0))
    # A break index out of range is an unknown id, and the break is then missing; so is one at position 3.
    assert names(evaluate(p, [Route(0, (0, 1), breaks=((1, 4),))])) == [("unknown_id", 0, "4", 1.0),
                                                                      ("break", 0, None, 1.0, "v")]
    assert names(evaluate(p, [Route(0, (0, 1), breaks=((3, 0),))])) == [("break", 0, None, 1.0, "v")]
    # Late: window 0-1 after b (a 2-3, b 5-6): starts at 6, 5 late.
    late = break_line(Break("early", ((0, 1),), 2))
    assert names(evaluate(late, [Route(0, (0, 1), breaks=((2, 0),))])) == [("break", 0, None, 5.0, "v")]


def test_short_form_places_each_break():
    p = break_line()
    # Free at 0 (depot), 3 (after a), 6 (after b, arriving at 5): 6 is inside 5-8, the first such position.
    ev = evaluate(p, [Route(0, (0, 1))])
    r = ev.routes[0]
    assert ev.feasible and r.breaks == (BreakTaken(2, 0, 6.0, 8.0),)
    assert (r.start_time, r.end_time, r.duration) == (0, 12, 12)
    # Window 3.5-4 passes whole between free at 3 (after a) and free at 6 (after b): taken after a, waiting
    # for 3.5; with the start delayed by that wait: a 2.5-3.5, break 3.5-4.5, b 6.5-7.5, back at 11.5.
    p = break_line(Break("short", ((3.5, 4),), 1))
    r = evaluate(p, [Route(0, (0, 1))]).routes[0]
    assert r.breaks == (BreakTaken(1, 0, 3.5, 4.5),) and (r.start_time, r.end_time) == (0.5, 11.5)
    # Every window closed before the route starts (shift from 2): after the last service, late.
    p = break_line(Break("early", ((0, 1),), 2), shift=(2, 100))
    ev = evaluate(p, [Route(0, (0, 1))])
    # a 4-5, b 7-8, break 8-10: 7 after 1; back at 14.
    assert ev.routes[0].breaks == (BreakTaken(2, 0, 8.0, 10.0),) and ev.routes[0].end_time == 14
    assert names(ev) == [("break", 0, None, 7.0, "v")]


def test_short_form_places_breaks_in_the_order_of_their_windows():
    # "late" (6-20) is listed first but "early" (2-3) opens first: early after a (free at 3, 3-4); then, with
    # it, free at 0, 4, 7 (b 6-7): late after b (7-8); back at 12.
    p = break_line(Break("late", ((6, 20),), 1), Break("early", ((2, 3),), 1))
    ev = evaluate(p, [Route(0, (0, 1))])
    r = ev.routes[0]
    assert ev.feasible and r.breaks == (BreakTaken(1, 1, 3.0, 4.0), BreakTaken(2, 0, 7.0, 8.0))
    assert (r.start_time, r.start, r.end_time) == (0, (2, 6), 12)
    # The placement is the plan's: listing it gives the same evaluation.
    assert evaluate(p, [Route(0, (0, 1), breaks=((1, 1), (2, 0)))]) == ev


def test_a_break_in_a_time_dependent_problem():
    # Every leg takes twice its static time: a at 2 is 4 away. Break 7-9 after a (a 4-5, wait to 7, 7-9),
    # back at 13; the backward pass delays the start by 2: a 6-7, break 7-9, back at 13 (duration 11).
    p = break_line(Break("b", ((7, 9),), 2)).replace(
        clients=(Client("a", at(2), service_time=1),),
        uncertainty=Uncertainty(travel_time=TravelTimeNoise(profile=((0.0, 2.0),))))
    assert p.time_dependent
    r = evaluate(p, [Route(0, (0,), breaks=((1, 0),))]).routes[0]
    assert (r.start_time, r.start, r.end_time, r.duration) == (2, (6,), 13, 11)
    assert r.breaks == (BreakTaken(1, 0, 7.0, 9.0),)


# -- everything together -----------------------------------------------------------------------------------------


def day(*, fridge: bool = True, max_ride_time: float = 15) -> Problem:
    """D at 0 (reload 1); shipment s: 2 from p at 1 (service 1) to q at 5 (service 1); a at 2 (delivery 3,
    service 1); b at 4 (delivery 3, needs a fridge, released at 20); capacity 5; lunch 10-12 for 2."""
    return Problem(
        "day", depots=(Depot("D", at(0), service_time=1),),
        clients=(Client("a", at(2), delivery=3, service_time=1),
                 Client("b", at(4), delivery=3, release_time=20, skills=("fridge",)),
                 Client("p", at(1), service_time=1), Client("q", at(5), service_time=1)),
        vehicle_types=(VehicleType("v", capacity=5, reload_depots=("D",), skills=("fridge",) if fridge else (),
                                   breaks=(Break("lunch", ((10, 12),), 2),)),),
        shipments=(Shipment("s", "p", "q", amount=2, max_ride_time=max_ride_time),))


def test_all_together():
    p = day()
    assert {"skills", "breaks", "multi_trip", "shipments", "release_times"} <= p.attributes
    route = Route(0, (2, 0, 1, 3), reloads=((2, 0),))  # D-p-a | D-b-q-D, lunch placed
    ev = evaluate(p, [route])
    r = ev.routes[0]
    # From 0: p 1-2, a 3-4, lunch waits for 10 (10-12), D at 14, reload 14-15, waits for b's release 20, b at 24,
    # q 25-26, back at 31. Waits 6 + 5; the lunch's window (closing at 12) bounds the delay to 8:
    # p 9-10, a 11-12, lunch 12-14, D 16 (reload 16-17, leaves at 20), b 24, q 25-26, back at 31.
    assert ev.feasible
    assert (r.start_time, r.end_time, r.duration) == (8, 31, 23)
    assert r.arrival == (9, 11, 24, 25) and r.start == (9, 11, 24, 25) and r.departure == (10, 12, 24, 26)
    assert r.breaks == (BreakTaken(2, 0, 12.0, 14.0),)
    assert r.reloads == (Reload(2, 0, 16.0, 16.0, 20.0, (5.0,)),)
    # Loads: trip 1 leaves with a's 3, +2 at p, -3 at a; trip 2 leaves with b's 3 and the shipment's 2.
    assert r.start_load == (3,) and r.load == ((5,), (2,), (2,), (0,))
    # Distance D-p 1, p-a 1, a-D 2, D-b 4, b-q 1, q-D 5.
    assert ev.distance == 14 and ev.cost == 14
    # Without the fridge and with a ride time of at most 3 (q starts at 25, p ended at 10: 15).
    bad = evaluate(day(fridge=False, max_ride_time=3), [route])
    assert names(bad) == [("skills", 0, "b", 1.0), ("ride_time", 0, "q", 12.0)]


def test_json_round_trip_of_reloads_and_breaks():
    p = day()
    ev = evaluate(p, [Route(0, (2, 0, 1, 3), reloads=((2, 0),))])
    out = ev.to_dict(p)
    stops = out["routes"][0]["stops"]
    assert [(s.get("type", "client"), s["id"]) for s in stops] == [
        ("client", "p"), ("client", "a"), ("break", "lunch"), ("reload", "D"), ("client", "b"), ("client", "q")]
    assert stops[2] == {"type": "break", "id": "lunch", "start": 12, "end": 14}
    assert stops[3] == {"type": "reload", "id": "D", "arrival": 16, "start": 16, "departure": 20, "load": 5}
    again = evaluate(p, json.loads(json.dumps(out)))
    assert again == ev and again.to_dict(p) == out
    # The short form: a bare depot id between clients is a reload, no break stop: the breaks are placed.
    short = {"routes": [{"stops": ["p", "a", "D", "b", "q"]}]}
    assert evaluate(p, short) == ev
    full = {"routes": [{"stops": ["D", "p", "a", {"type": "reload", "id": "D"}, "b", "q", "D"]}]}
    assert evaluate(p, full) == ev
    # A break id the type does not have is an unknown id (and the route, listing breaks, misses its lunch).
    listed = {"routes": [{"stops": ["p", "a", {"type": "break", "id": "nap"}, "D", "b", "q"]}]}
    assert names(evaluate(p, listed)) == [("unknown_id", 0, "nap", 1.0), ("break", 0, None, 1.0, "v")]
    assert names(evaluate(p, {"routes": [{"stops": ["p", "a", {"type": "reload", "id": "X"}, "b", "q"]}]}))[0] == \
        ("unknown_id", 0, "X", 1.0)
    with pytest.raises(ValidationError, match=r"routes\[0\]\.stops\[1\]\.type"):
        evaluate(p, {"routes": [{"stops": ["p", {"type": "lunch", "id": "a"}]}]})


# -- the kernel, evaluate_many --------------------------------------------------------------------------------


def test_problems_without_the_fleet_attributes_go_through_the_kernel(monkeypatch):
    p = line((Client("a", at(2), delivery=4, time_windows=((0, 3),)), Client("b", at(3), delivery=4)),
             VehicleType("v", capacity=5))
    assert not p.fleet and not isinstance(_data(p), evaluate_module._Data)
    plans = [[Route(0, (0, 1))], [Route(0, (1, 0)), Route(0, ())], [Route(0, (0,)), Route(0, (1,))]]
    by_kernel = [evaluate(p, plan) for plan in plans]
    by_python = [evaluate_module._evaluate_py(p, list(plan), []) for plan in plans]
    assert by_kernel == by_python and [repr(e) for e in by_kernel] == [repr(e) for e in by_python]

    def no_python(*args, **kwargs):
        raise AssertionError("the Python schedule was used")

    monkeypatch.setattr(evaluate_module, "_evaluate_py", no_python)
    assert [evaluate(p, plan) for plan in plans] == by_kernel
    assert evaluate_many(p, plans) == by_kernel
    monkeypatch.undo()
    # A plan with a reload on such a problem goes through the Python schedule: the type has no reload depot,
    # but the vehicle drives there all the same (D-a 2, a-D 2, D-b 3, b-D 3), so the capacity holds per trip.
    ev = evaluate(p, [Route(0, (0, 1), reloads=((1, 0),))])
    assert names(ev) == [("reload", 0, "D", 1.0)] and ev.distance == 10
    assert evaluate_many(p, [plans[0], [Route(0, (0, 1), reloads=((1, 0),))]]) == [by_kernel[0], ev]


def test_evaluate_many_of_a_fleet_problem():
    p = day()
    plans = [[Route(0, (2, 0, 1, 3), reloads=((2, 0),))], Solution((Route(0, (2, 0, 1, 3)),)),
             {"routes": [{"stops": ["p", "a", "D", "b", "q"]}]}]
    many = evaluate_many(p, plans)
    assert many == [evaluate(p, plan) for plan in plans]
    totals = evaluate_many(p, plans, full=False)
    assert totals.cost.tolist() == [e.cost for e in many]
    assert totals.violations.tolist() == [len(e.violations) for e in many]
    assert totals.feasible.tolist() == [True, False, True]


def test_the_report_shows_each_trip_and_the_breaks():
    from vrpkit.report import summary

    p = day()
    text = summary(evaluate(p, [Route(0, (2, 0, 1, 3), reloads=((2, 0),))]), p)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "0 v 4 D p a D b q D 5/5 14 23 8–31 14" in lines
    # Trip 1 leaves D at 8 with 3 + 2 at most on board, back at 16; trip 2 leaves at 20 (b's release), back at 31.
    assert "0 1 D 8 p a 5/5 16" in lines and "0 2 D 20 b q 5/5 31" in lines
    assert "0 lunch after a 12–14" in lines
    plain = summary(evaluate(p, [Route(0, (0, 2, 1, 3), breaks=((0, 0),))]), p)
    assert "trips" not in plain
    # The start waits for the lunch at D (12-14, the latest the window allows), then for b's release at 20.
    assert "0 lunch at D before leaving 12–14" in [" ".join(x.split()) for x in plain.splitlines()]


# -- diagnose -----------------------------------------------------------------------------------------------------


def test_diagnose_skills_release_times_and_shipments():
    from vrpkit.diagnose import client_vehicle_feasibility, diagnose

    # a needs fridge and lift: the van lacks the fridge, the truck (both) cannot carry a's delivery of 5.
    p = line((Client("a", at(1), delivery=5, skills=("fridge", "lift")),),
             VehicleType("van", capacity=9, skills=("lift",)),
             VehicleType("truck", capacity=3, skills=("fridge", "lift")))
    assert client_vehicle_feasibility(p).tolist() == [[False], [False]]
    assert diagnose(p) == ["client a: no vehicle can serve it (van: lacks skill fridge; truck: delivery 5 exceeds "
                           "its capacity 3)"]
    p = p.replace(vehicle_types=(VehicleType("van", skills=("lift",)),))
    assert diagnose(p) == ["client a: no vehicle type has all of its skills (fridge, lift)"]
    # Released at 50, the shift ends at 40.
    p = line((Client("a", at(1), release_time=50),), VehicleType("v", shift=(0, 40)))
    assert diagnose(p) == ["client a: released at 50, after every vehicle must have left its depot (latest 40)"]
    # A shipment of 5 on a vehicle of 4: both stops are named.
    p = shipment_line(capacity=4).replace(shipments=(Shipment("s", "p", "q", amount=5),))
    assert diagnose(p) == ["client p: shipment s's amount 5 exceeds every vehicle's capacity 4",
                           "client q: shipment s's amount 5 exceeds every vehicle's capacity 4"]


def test_diagnose_counts_trips_from_a_reload_depot():
    from vrpkit.diagnose import diagnose

    # a at 11 (window 0-12) is released at 5: from D at 0 it is reached at 16 at the earliest; a type that may
    # reload at R (at 10, reached at 10) could reach it at 11, so no reason is certain.
    clients = (Client("a", at(11), time_windows=((0, 12),), release_time=5), Client("b", at(9)))
    depots = (Depot("D", at(0)), Depot("R", at(10)))
    p = line(clients, VehicleType("v"), depots=depots)
    assert diagnose(p) == ["client a: time window closes at 12 before any vehicle can arrive (earliest arrival "
                           "16)"]
    assert diagnose(p.replace(vehicle_types=(VehicleType("v", reload_depots=("R",)),))) == []
    # Two vehicles of 5 for deliveries of 4 + 4 + 4: too little in all, unless they may reload.
    clients = tuple(Client(f"c{k}", at(k + 1), delivery=4) for k in range(3))
    p = line(clients, VehicleType("v", count=2, capacity=5))
    assert diagnose(p) == ["total delivery 12 of the required clients exceeds the fleet's total capacity 10 "
                           "(2 vehicles)"]
    assert diagnose(p.replace(vehicle_types=(VehicleType("v", count=2, capacity=5, reload_depots=("D",)),))) == []


# -- random plans of generated instances ------------------------------------------------------------------------


def _random_fleet_plan(p: Problem, rng) -> list[Route]:
    """Random routes over a random subset of the clients, with random valid reloads (some at depots the type may
    not use) and breaks in the short form or listed (each break at a random position, some twice)."""
    order = [int(c) for c in rng.permutation(p.n_clients) if rng.random() < 0.9]
    cuts = sorted(int(x) for x in rng.choice(range(1, max(len(order), 2)), size=min(2, max(len(order) - 1, 0)),
                                             replace=False)) if len(order) > 1 else []
    routes = []
    for part in (order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)):
        if not part:
            continue
        v = int(rng.integers(len(p.vehicle_types)))
        n = len(part)
        positions = sorted({int(x) for x in rng.integers(1, n, size=int(rng.integers(0, 3)))}) if n > 1 else []
        reloads = tuple((q, int(rng.integers(p.n_depots))) for q in positions)
        nb = len(p.vehicle_types[v].breaks)
        breaks = None
        if nb and rng.random() < 0.5:
            twice = [1 + (rng.random() < 0.2) for _ in range(nb)]
            breaks = tuple((int(rng.integers(0, n + 1)), b) for b in range(nb) for _ in range(twice[b]))
        routes.append(Route(v, tuple(part), reloads, breaks))
    return routes


@pytest.mark.parametrize("variant", ["mtpdptwrtbrsk", "mtvrptwbr", "pdptwrt", "vrptwbrsk", "mtvrprt"])
def test_random_plans_round_trip_and_agree(variant):
    """On generated instances of each kind: evaluate -> to_dict -> evaluate gives the same evaluation; the
    breaks as the evaluator placed them, listed, give it too; evaluate_many agrees; every event of a route
    starts no earlier than it is reached, in order."""
    import numpy as np

    from vrpkit.generate import generate

    for seed in range(4):
        p = generate(variant, 9, seed=seed)
        rng = np.random.default_rng(seed)
        plans = [_random_fleet_plan(p, rng) for _ in range(6)]
        evaluations = [evaluate(p, plan) for plan in plans]
        assert evaluate_many(p, plans) == evaluations
        for plan, ev in zip(plans, evaluations, strict=True):
            out = ev.to_dict(p)
            again = evaluate(p, json.loads(json.dumps(out)))
            assert again == ev, (variant, seed, plan)
            listed = [Route(r.vehicle_type, r.clients, tuple((x.position, x.depot) for x in r.reloads),
                            tuple((b.position, b.break_index) for b in r.breaks)) for r in ev.routes]
            if all(r.breaks or not p.vehicle_types[r.vehicle_type].breaks for r in ev.routes):
                assert evaluate(p, listed).routes == ev.routes
            for r in ev.routes:
                times = sorted([(c, s) for c, s in zip(r.arrival, r.start, strict=True)]
                               + [(x.arrival, x.start) for x in r.reloads])
                assert all(s >= a for a, s in times)
                assert r.start_time <= min([*r.start, *(b.start for b in r.breaks)]) <= r.end_time


def test_diagnose_counts_the_breaks_in_a_trip():
    from vrpkit.diagnose import diagnose

    # D-a-D takes 2 + 1 + 2 = 5 and the break 5: 10 fits the shift 0-10; a break of 6 does not.
    p = line((Client("a", at(2), service_time=1),),
             VehicleType("v", shift=(0, 10), breaks=(Break("b", duration=5),)))
    assert diagnose(p) == []
    p = p.replace(vehicle_types=(VehicleType("v", shift=(0, 10), breaks=(Break("b", duration=6),)),))
    assert diagnose(p) == ["client a: no vehicle can serve it and get back to the end depot within its shift and "
                           "opening hours (earliest end 11, latest allowed 10)"]
    assert names(evaluate(p, [Route(0, (0,))])) == [("shift", 0, None, 1.0)]
