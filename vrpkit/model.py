"""The problem model: plain, typed, immutable data with numpy arrays inside.

A problem is a list of depots, a list of clients, a list of vehicle types and a distance and a duration
matrix over all locations (depots first, then clients: node ``d`` is ``depots[d]``, node ``D + i`` is
``clients[i]``). Every VRP variant is a set of fields with neutral defaults; the variant name is derived from
the data (:attr:`Problem.attributes`, :attr:`Problem.variant`), never declared.

Units: planar and explicit problems are unit-free (durations equal distances unless a duration matrix or a
speed is given); ``haversine`` gives metres and seconds, so the times of a lon/lat problem are in seconds.

A real fleet's day: clients and vehicle types carry ``skills`` (a client is served only by a type that has all of
its skills), vehicle types carry ``breaks`` (:class:`Break`) and ``reload_depots`` (multi-trip, at most
``max_reloads`` reloads a route; a depot's ``service_time`` is the time to reload), clients carry a
``release_time``, and :attr:`Problem.shipments` (:class:`Shipment`) pair two clients as the pickup and the delivery
of an amount carried between them on one route. The evaluator (:mod:`vrpkit.evaluate`) holds the rules.

Uncertainty (:class:`Uncertainty`, optional): travel-time profile and noise, demand and service-time noise,
used by :mod:`vrpkit.stochastic`; a travel-time profile alone makes a time-dependent problem
(:attr:`Problem.time_dependent`, see :mod:`vrpkit.traffic`). Named profiles and accident rates count time in
hours of :attr:`Problem.hour` units (3600 for lon/lat problems, 60 for the others).

Numeric limits (:data:`MAX_VALUE` is 1e15): every number is checked when the problem is built, and a value
out of range raises :class:`ValidationError` naming the field. A bound that no plan can reach is no bound.

=============================================  ===================  ==========================================
field                                          accepted             beyond that
=============================================  ===================  ==========================================
``count``                                      integer >= 1         above the number of clients: unlimited
                                                                    (stored as None)
``capacity``, ``delivery``, ``pickup``,        integer 0..1e15      refused, and so is a total of the clients'
shipment ``amount``                                                 deliveries (or pickups, or shipments)
                                                                    above 1e15
``max_reloads``                                integer >= 0         at or above the number of clients:
                                                                    unlimited (stored as None)
``service_time`` (clients, depots), window     0..1e15              refused
starts (clients, depots, breaks), shift
start, ``release_time``, break ``duration``
window ends (clients, depots), shift end,      start (0) .. inf     at or beyond :attr:`Problem.horizon`:
``max_duration``, ``max_ride_time``, break                          no bound
window ends
``max_distance``                               0..inf              at or beyond :attr:`Problem.longest_route`:
                                                                    no bound
``fixed_cost``, ``cost_per_distance``,         0..1e15              refused
``cost_per_duration``, ``prize``
distance and duration matrix entries           0..1e15              refused
=============================================  ===================  ==========================================

An integer beyond the float range counts as infinite. So every time, distance, load and cost that a plan adds
up stays finite in floating point. Solvers that work on integers (``ortools``, ``pyvrp``) treat bounds
beyond reach as absent and refuse, with a :class:`~vrpkit.errors.SolverError`, a problem whose totals do not
fit their integers even unscaled (1e15).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.traffic import PROFILES, max_factor

INF = math.inf
MAX_VALUE = 1e15
"""The largest finite value of a bounded numeric field (see the module docstring for each field's range)."""
Window = tuple[float, float]
Coordinates = Literal["planar", "lonlat"]
Backhaul = Literal["strict", "mixed"]


class _SameAsStart:
    """Sentinel: a vehicle type's ``end_depot`` defaults to its ``start_depot``."""

    _instance: _SameAsStart | None = None

    def __new__(cls) -> _SameAsStart:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SAME_AS_START"


SAME_AS_START: Any = _SameAsStart()
"""Default of :attr:`VehicleType.end_depot`: the route returns to its start depot. ``None`` means open."""


@dataclass(frozen=True)
class Depot:
    """A depot: where vehicles start and end. ``time_window`` is its opening time (default always open);
    ``service_time`` is how long a reload takes there (see :attr:`VehicleType.reload_depots`)."""

    id: str
    location: tuple[float, float] | None = None
    time_window: Window = (0.0, INF)
    service_time: float = 0.0


@dataclass(frozen=True)
class Client:
    """A client to visit.

    ``delivery`` and ``pickup`` are non-negative integers, one per capacity dimension (an int is one
    dimension; empty means zero). ``time_windows`` lists one or several windows in which service must start
    (sorted, disjoint). An optional client (``required=False``) may be left out at the cost of its ``prize``.
    ``skills``: only a vehicle type that has all of them may serve the client. ``release_time``: the client's
    goods reach the depot then; the trip that serves the client leaves its depot no earlier.
    """

    id: str
    location: tuple[float, float] | None = None
    delivery: tuple[int, ...] | int = ()
    pickup: tuple[int, ...] | int = ()
    service_time: float = 0.0
    time_windows: tuple[Window, ...] = ((0.0, INF),)
    prize: float = 0.0
    required: bool = True
    skills: tuple[str, ...] = ()
    release_time: float = 0.0

    def __post_init__(self) -> None:
        for name in ("delivery", "pickup"):
            value = getattr(self, name)
            if isinstance(value, int | np.integer | float):
                object.__setattr__(self, name, (value,))
            else:
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "time_windows", tuple(tuple(w) for w in self.time_windows))
        object.__setattr__(self, "skills", _as_tuple(self.skills))

    @property
    def time_window(self) -> Window:
        """The span from the first window's start to the last window's end."""
        return (self.time_windows[0][0], self.time_windows[-1][1])


def _as_tuple(value: Any) -> Any:
    """A list or tuple as a tuple; anything else as it is (validation names it)."""
    return tuple(value) if isinstance(value, list | tuple) else value


@dataclass(frozen=True)
class Break:
    """A driver's break: taken once by every used vehicle of its type, starting inside one of its
    ``time_windows`` (sorted, disjoint), for ``duration``, where the vehicle is (after a service, or at the depot
    before leaving)."""

    id: str
    time_windows: tuple[Window, ...] = ((0.0, INF),)
    duration: float = 0.0

    def __post_init__(self) -> None:
        windows = self.time_windows
        if isinstance(windows, list | tuple):
            windows = tuple(tuple(w) if isinstance(w, list | tuple) else w for w in windows)
        object.__setattr__(self, "time_windows", windows)


@dataclass(frozen=True)
class Shipment:
    """A pickup-and-delivery request: ``amount`` is loaded at the client ``pickup`` and unloaded at the client
    ``delivery`` (both ids of :attr:`Problem.clients`, stops that carry no delivery or pickup of their own), on
    the same route, pickup first. ``max_ride_time`` bounds the time from the end of the pickup's service to the
    start of the delivery's. Whether it is required, and its prize, are those of its stops."""

    id: str
    pickup: str
    delivery: str
    amount: tuple[int, ...] | int = ()
    max_ride_time: float = INF

    def __post_init__(self) -> None:
        value = self.amount
        object.__setattr__(self, "amount", (value,) if isinstance(value, int | np.integer | float) else
                           _as_tuple(value))


@dataclass(frozen=True)
class VehicleType:
    """A group of identical vehicles.

    ``count`` None means unlimited (a count above the number of clients is stored as None: no plan uses more
    vehicles). ``capacity`` empty means unlimited. ``start_depot`` None means the first
    depot; ``end_depot`` defaults to the start depot and None means an open route that ends at its last
    client. ``shift`` bounds the start and end of the route; ``max_duration`` and ``max_distance`` bound its
    length. A used vehicle costs ``fixed_cost + cost_per_distance * distance + cost_per_duration * duration``.
    ``skills``: what the vehicle can do (a client needs all of its skills in the type's). ``breaks``: the
    driver's breaks. ``reload_depots`` (depot ids): where a route may reload between clients (multi-trip), at
    most ``max_reloads`` times (None: unlimited).
    """

    id: str
    count: int | None = None
    capacity: tuple[int, ...] | int = ()
    start_depot: str | None = None
    end_depot: str | None = SAME_AS_START
    shift: Window = (0.0, INF)
    max_duration: float = INF
    max_distance: float = INF
    fixed_cost: float = 0.0
    cost_per_distance: float = 1.0
    cost_per_duration: float = 0.0
    skills: tuple[str, ...] = ()
    breaks: tuple[Break, ...] = ()
    reload_depots: tuple[str, ...] = ()
    max_reloads: int | None = None

    def __post_init__(self) -> None:
        cap = self.capacity
        single = isinstance(cap, int | np.integer | float | np.floating)
        object.__setattr__(self, "capacity", (cap,) if single else tuple(cap))
        object.__setattr__(self, "shift", tuple(self.shift))
        for name in ("skills", "breaks", "reload_depots"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))

    @property
    def open(self) -> bool:
        """True when routes of this type end at their last client."""
        return self.end_depot is None


DISTRIBUTIONS = ("poisson", "normal", "none")
RECOURSES = ("return", "fail")
MAX_SIGMA = 10.0
"""The largest log-normal sigma accepted (beyond it a sampled factor overflows the float range)."""


@dataclass(frozen=True)
class TravelTimeNoise:
    """Travel times that change with the time of day and vary at random.

    ``profile`` is the congestion factor over the day that multiplies every static duration (see
    :mod:`vrpkit.traffic`): ``"svrpbench"``, ``"rush_hour"`` or ``[time, factor]`` points in the problem's time
    unit (times strictly increasing, factors positive), piecewise linear and constant outside; None is a
    factor of 1. A profile alone makes the problem time-dependent (:attr:`Problem.time_dependent`).
    ``lognormal_sigma`` multiplies each leg by a log-normal factor of median 1; accidents happen at
    ``accident_rate_per_hour`` per hour of driving and each adds a delay drawn uniformly from
    ``accident_delay`` ``(min, max)`` in the problem's time unit. The noise is used by
    :mod:`vrpkit.stochastic`; the evaluator uses the profile only.
    """

    profile: str | tuple[tuple[float, float], ...] | None = None
    lognormal_sigma: float = 0.0
    accident_rate_per_hour: float = 0.0
    accident_delay: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if self.profile is not None and not isinstance(self.profile, str) and isinstance(self.profile, Sequence):
            points = tuple(tuple(p) if isinstance(p, Sequence) and not isinstance(p, str) else p
                           for p in self.profile)
            object.__setattr__(self, "profile", points)
        if isinstance(self.accident_delay, Sequence) and not isinstance(self.accident_delay, str):
            object.__setattr__(self, "accident_delay", tuple(self.accident_delay))


@dataclass(frozen=True)
class DemandNoise:
    """Random demands: ``distribution`` ``"poisson"`` (mean the client's delivery), ``"normal"`` (mean the
    delivery, standard deviation ``cv`` times it) or ``"none"``; ``recourse`` when a route's load exceeds the
    capacity: ``"return"`` (back to the depot to reload, then on) or ``"fail"``."""

    distribution: str = "none"
    cv: float = 0.0
    recourse: str = "return"


@dataclass(frozen=True)
class ServiceTimeNoise:
    """Service times multiplied by a log-normal factor of median 1 and this sigma."""

    lognormal_sigma: float = 0.0


@dataclass(frozen=True)
class Uncertainty:
    """What is uncertain about a problem (the JSON block ``"uncertainty"``); None parts are certain."""

    travel_time: TravelTimeNoise | None = None
    demand: DemandNoise | None = None
    service_time: ServiceTimeNoise | None = None


def _check_choice(path: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        known = ", ".join(f'"{c}"' for c in choices)
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        raise ValidationError(path, f"{shown} is not one of {known}")
    return value


def _check_profile(path: str, profile: Any) -> str | tuple[tuple[float, float], ...] | None:
    if profile is None:
        return None
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValidationError(path, f'unknown profile "{profile}" (known: {", ".join(PROFILES)}, or '
                                        "[time, factor] points)")
        return profile
    if not isinstance(profile, Sequence) or not profile:
        raise ValidationError(path, f"expected a profile name or a non-empty list of [time, factor] points, got "
                                    f"{profile!r}")
    points = []
    for k, point in enumerate(profile):
        ppath = f"{path}[{k}]"
        if not isinstance(point, Sequence) or isinstance(point, str) or len(point) != 2:
            raise ValidationError(ppath, f"expected [time, factor], got {point!r}")
        time = _check_number(ppath, point[0])
        factor = _check_number(ppath, point[1])
        if factor <= 0:
            raise ValidationError(ppath, f"factor {_fmt(factor)} is not positive")
        if points and time <= points[-1][0]:
            raise ValidationError(ppath, f"time {_fmt(time)} <= time {_fmt(points[-1][0])} of the previous point "
                                         "(points are sorted by time)")
        points.append((time, factor))
    return tuple(points)


def _check_uncertainty(u: Any) -> Uncertainty | None:
    """``u`` with its numbers as floats, or a :class:`ValidationError` naming the field."""
    if u is None:
        return None
    if not isinstance(u, Uncertainty):
        raise ValidationError("uncertainty", f"expected an Uncertainty, got {u!r}")
    travel = demand = service = None
    if u.travel_time is not None:
        t, path = u.travel_time, "uncertainty.travel_time"
        if not isinstance(t, TravelTimeNoise):
            raise ValidationError(path, f"expected a TravelTimeNoise, got {t!r}")
        delay = t.accident_delay
        if not isinstance(delay, Sequence) or isinstance(delay, str) or len(delay) != 2:
            raise ValidationError(f"{path}.accidents.delay", f"expected [min, max], got {delay!r}")
        low = _check_number(f"{path}.accidents.delay", delay[0])
        high = _check_number(f"{path}.accidents.delay", delay[1])
        if low > high:
            raise ValidationError(f"{path}.accidents.delay", f"min {_fmt(low)} > max {_fmt(high)}")
        travel = TravelTimeNoise(
            profile=_check_profile(f"{path}.profile", t.profile),
            lognormal_sigma=_check_number(f"{path}.lognormal_sigma", t.lognormal_sigma, maximum=MAX_SIGMA),
            accident_rate_per_hour=_check_number(f"{path}.accidents.rate_per_hour", t.accident_rate_per_hour),
            accident_delay=(low, high),
        )
    if u.demand is not None:
        q, path = u.demand, "uncertainty.demand"
        if not isinstance(q, DemandNoise):
            raise ValidationError(path, f"expected a DemandNoise, got {q!r}")
        demand = DemandNoise(_check_choice(f"{path}.distribution", q.distribution, DISTRIBUTIONS),
                             _check_number(f"{path}.cv", q.cv),
                             _check_choice(f"{path}.recourse", q.recourse, RECOURSES))
    if u.service_time is not None:
        s, path = u.service_time, "uncertainty.service_time"
        if not isinstance(s, ServiceTimeNoise):
            raise ValidationError(path, f"expected a ServiceTimeNoise, got {s!r}")
        service = ServiceTimeNoise(_check_number(f"{path}.lognormal_sigma", s.lognormal_sigma, maximum=MAX_SIGMA))
    return Uncertainty(travel, demand, service)


ATTRIBUTES = (
    "capacity",
    "open",
    "backhaul",
    "mixed_backhaul",
    "duration_limit",
    "distance_limit",
    "time_windows",
    "multiple_time_windows",
    "multi_depot",
    "heterogeneous_fleet",
    "prizes",
    "skills",
    "breaks",
    "multi_trip",
    "shipments",
    "release_times",
)
"""Every attribute :attr:`Problem.attributes` may contain."""

FLEET_ATTRIBUTES = frozenset({"skills", "breaks", "multi_trip", "shipments", "release_times"})
"""The attributes of a real fleet's day (:attr:`Problem.fleet`)."""

FLEET_FIELDS = {
    "skills": "skills (clients[].skills)",
    "breaks": "breaks (vehicle_types[].breaks)",
    "multi_trip": "reloads (vehicle_types[].reload_depots)",
    "shipments": "shipments (shipments[])",
    "release_times": "release times (clients[].release_time)",
}
"""Each fleet attribute as a refusal names it."""


def fleet_refusal(problem: Problem, what: str, handles: frozenset[str] | set[str] = frozenset()) -> str | None:
    """None when ``what`` (a solver or a tool) handles every fleet attribute of ``problem`` it uses, else one
    line naming those it does not (``handles``: the fleet attributes it does handle)."""
    missing = sorted(problem.attributes & FLEET_ATTRIBUTES - set(handles))
    if not missing:
        return None
    return f"{what} does not handle {', '.join(FLEET_FIELDS[a] for a in missing)}"


def _check_number(path: str, value: Any, *, minimum: float | None = 0.0, maximum: float | None = MAX_VALUE,
                  finite: bool = True) -> float:
    """``value`` as a float; ``finite`` False accepts any value up to infinity (a bound), else it must lie in
    ``[minimum, maximum]`` (None: no limit)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValidationError(path, f"expected a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        value = INF if value > 0 else -INF
    if math.isnan(value):
        raise ValidationError(path, "NaN is not a number")
    if finite and math.isinf(value):
        raise ValidationError(path, f"{value} is not finite")
    if minimum is not None and value < minimum:
        raise ValidationError(path, f"{_fmt(value)} < {_fmt(minimum)}")
    if finite and maximum is not None and value > maximum:
        raise ValidationError(path, f"{value:g} > {maximum:g} (the largest value vrpkit accepts)")
    return value


def _check_window(path: str, window: Any) -> Window:
    if not isinstance(window, Sequence) or isinstance(window, str) or len(window) != 2:
        raise ValidationError(path, f"expected [start, end], got {window!r}")
    start = _check_number(path, window[0])
    end = _check_number(path, window[1], finite=False)
    if start > end:
        raise ValidationError(path, f"start {_fmt(start)} > end {_fmt(end)}")
    return (start, end)


def _check_amounts(path: str, values: tuple[Any, ...]) -> None:
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
            raise ValidationError(path, f"expected integers, got {value!r}")
        if not isinstance(value, int | np.integer) and (not math.isfinite(value) or value != int(value)):
            raise ValidationError(path, f"expected integers, got {value!r}")
        if value < 0:
            raise ValidationError(path, f"{_fmt(value)} < 0")
        if value > MAX_VALUE:
            raise ValidationError(path, f"{_short(value)} > {MAX_VALUE:g} (the largest amount vrpkit accepts)")


def _check_windows(path: str, windows: Any) -> tuple[Window, ...]:
    """Sorted, disjoint windows (``path.time_window`` for a single one, ``path.time_windows[k]`` else)."""
    if not isinstance(windows, Sequence) or isinstance(windows, str):
        raise ValidationError(f"{path}.time_windows", f"expected a list of [start, end], got {windows!r}")
    if not windows:
        raise ValidationError(f"{path}.time_windows", "at least one window is needed")
    previous_end = -INF
    checked = []
    for k, window in enumerate(windows):
        wpath = f"{path}.time_window" if len(windows) == 1 else f"{path}.time_windows[{k}]"
        start, end = _check_window(wpath, window)
        if start <= previous_end:
            raise ValidationError(wpath, f"start {_fmt(start)} <= end of the previous window")
        previous_end = end
        checked.append((start, end))
    return tuple(checked)


def _check_skills(path: str, skills: Any) -> tuple[str, ...]:
    if not isinstance(skills, tuple) or any(not isinstance(x, str) or not x for x in skills):
        raise ValidationError(path, f"expected a list of non-empty strings, got {skills!r}")
    return tuple(dict.fromkeys(skills))


def _short(value: Any) -> str:
    """A number for a message, also an integer beyond the float range."""
    try:
        return f"{float(value):g}"
    except OverflowError:
        return f"an integer of {len(str(abs(int(value))))} digits"


def _fmt(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_location(path: str, location: Any, coordinates: str) -> tuple[float, float] | None:
    if location is None:
        return None
    if not isinstance(location, Sequence) or isinstance(location, str) or len(location) != 2:
        raise ValidationError(path, f"expected [x, y], got {location!r}")
    x = _check_number(path, location[0], minimum=None, maximum=None)
    y = _check_number(path, location[1], minimum=None, maximum=None)
    if coordinates == "lonlat" and not (-180 <= x <= 180 and -90 <= y <= 90):
        raise ValidationError(path, f"[{_fmt(x)}, {_fmt(y)}] is not a [lon, lat] position")
    return (x, y)


def _check_id(path: str, value: Any, seen: dict[str, str]) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(path, f"expected a non-empty string, got {value!r}")
    if value in seen:
        raise ValidationError(path, f'duplicate id "{value}" (also {seen[value]})')
    seen[value] = path


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Problem:
    """A vehicle routing problem. Construct it directly, with :meth:`from_dict`, or by reading a file.

    ``distance`` and ``duration`` are square matrices over all nodes (depots then clients). When they are not
    given, the ``matrix`` specification (a provider name and its options, see :mod:`vrpkit.matrix`) computes
    them from the locations; ``matrix`` defaults to ``euclidean`` for planar and ``haversine`` for lon/lat
    coordinates. ``uncertainty`` (:class:`Uncertainty`, default None) describes random and time-dependent
    travel times, demands and service times. Construction validates everything and raises
    :class:`ValidationError` naming the field.
    """

    name: str
    depots: tuple[Depot, ...]
    clients: tuple[Client, ...]
    vehicle_types: tuple[VehicleType, ...]
    coordinates: Coordinates = "planar"
    backhaul: Backhaul = "mixed"
    matrix: Mapping[str, Any] | None = None
    distance: np.ndarray | None = field(default=None, repr=False)
    duration: np.ndarray | None = field(default=None, repr=False)
    base_dir: Path | None = field(default=None, repr=False, compare=False)
    uncertainty: Uncertainty | None = None
    shipments: tuple[Shipment, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "depots", tuple(self.depots))
        set_(self, "clients", tuple(self.clients))
        set_(self, "vehicle_types", tuple(self.vehicle_types))
        set_(self, "shipments", _as_tuple(self.shipments))
        self._validate_entities()
        set_(self, "uncertainty", _check_uncertainty(self.uncertainty))
        self._resolve_matrices()

    # -- validation -------------------------------------------------------------------------------------

    def _validate_entities(self) -> None:
        if not isinstance(self.name, str):
            raise ValidationError("name", f"expected a string, got {self.name!r}")
        if self.coordinates not in ("planar", "lonlat"):
            raise ValidationError("coordinates", f'"{self.coordinates}" is not "planar" or "lonlat"')
        if self.backhaul not in ("strict", "mixed"):
            raise ValidationError("backhaul", f'"{self.backhaul}" is not "strict" or "mixed"')
        if not self.depots:
            raise ValidationError("depots", "at least one depot is needed")
        if not self.vehicle_types:
            raise ValidationError("vehicle_types", "at least one vehicle type is needed")
        seen: dict[str, str] = {}
        depots = []  # the entities with their numbers as checked: floats (a huge int is a float or inf)
        for d, depot in enumerate(self.depots):
            path = f"depots[{d}]"
            _check_id(f"{path}.id", depot.id, seen)
            _check_location(f"{path}.location", depot.location, self.coordinates)
            window = _check_window(f"{path}.time_window", depot.time_window)
            service = _check_number(f"{path}.service_time", depot.service_time)
            same = window == depot.time_window and service == depot.service_time
            depots.append(depot if same else replace(depot, time_window=window, service_time=service))
        object.__setattr__(self, "depots", tuple(depots))
        dims = {len(vt.capacity) for vt in self.vehicle_types if vt.capacity}
        if len(dims) > 1:
            raise ValidationError("vehicle_types", f"capacities have different dimensions {sorted(dims)}")
        if dims:
            n_dims = dims.pop()
        else:
            n_dims = max([len(c.delivery) for c in self.clients] + [len(c.pickup) for c in self.clients]
                         + [len(s.amount) for s in self.shipments if isinstance(s, Shipment)
                            and isinstance(s.amount, tuple)] + [1])
        set_ = object.__setattr__
        set_(self, "n_dims", n_dims)
        depot_ids = {depot.id for depot in self.depots}
        client_seen: dict[str, str] = dict(seen)
        totals = {"delivery": [0] * n_dims, "pickup": [0] * n_dims}
        clients = []
        for i, client in enumerate(self.clients):
            path = f"clients[{i}]"
            _check_id(f"{path}.id", client.id, client_seen)
            _check_location(f"{path}.location", client.location, self.coordinates)
            for name in ("delivery", "pickup"):
                values = getattr(client, name)
                _check_amounts(f"{path}.{name}", values)
                if values and len(values) != n_dims:
                    raise ValidationError(
                        f"{path}.{name}", f"{len(values)} values, expected {n_dims} (capacity dimensions)"
                    )
                total = totals[name]
                for k, value in enumerate(values):
                    total[k] += int(value)
                    if total[k] > MAX_VALUE:
                        raise ValidationError(f"{path}.{name}", f"total {name} up to here {_short(total[k])} > "
                                              f"{MAX_VALUE:g} (the largest total vrpkit accepts)")
            service = _check_number(f"{path}.service_time", client.service_time)
            prize = _check_number(f"{path}.prize", client.prize)
            if not isinstance(client.required, bool | np.bool_):
                raise ValidationError(f"{path}.required", f"expected true or false, got {client.required!r}")
            checked = _check_windows(path, client.time_windows)
            if self.backhaul == "strict" and any(client.delivery) and any(client.pickup):
                raise ValidationError(
                    f"{path}.pickup", "with strict backhaul a client has a delivery or a pickup, not both"
                )
            numbers = {"service_time": service, "prize": prize, "time_windows": checked,
                       "skills": _check_skills(f"{path}.skills", client.skills),
                       "release_time": _check_number(f"{path}.release_time", client.release_time)}
            same = all(getattr(client, k) == x for k, x in numbers.items())
            clients.append(client if same else replace(client, **numbers))
        object.__setattr__(self, "clients", tuple(clients))
        resolved = []
        for v, vt in enumerate(self.vehicle_types):
            path = f"vehicle_types[{v}]"
            _check_id(f"{path}.id", vt.id, {})
            if vt.id in {t.id for t in self.vehicle_types[:v]}:
                raise ValidationError(f"{path}.id", f'duplicate id "{vt.id}"')
            count = vt.count
            if count is not None and (
                isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1
            ):
                raise ValidationError(f"{path}.count", f"expected a positive integer, got {count!r}")
            if count is not None and count > self.n_clients:
                count = None  # no plan uses more vehicles than there are clients: the same as unlimited
            _check_amounts(f"{path}.capacity", vt.capacity)
            start = self.depots[0].id if vt.start_depot is None else vt.start_depot
            if start not in depot_ids:
                raise ValidationError(f"{path}.start_depot", f'unknown depot "{start}"')
            end = start if vt.end_depot is SAME_AS_START else vt.end_depot
            if end is not None and end not in depot_ids:
                raise ValidationError(f"{path}.end_depot", f'unknown depot "{end}"')
            reloads = vt.reload_depots
            if not isinstance(reloads, tuple) or any(not isinstance(x, str) for x in reloads):
                raise ValidationError(f"{path}.reload_depots", f"expected a list of depot ids, got {reloads!r}")
            for k, depot_id in enumerate(reloads):
                if depot_id not in depot_ids:
                    raise ValidationError(f"{path}.reload_depots[{k}]", f'unknown depot "{depot_id}"')
                if depot_id in reloads[:k]:
                    raise ValidationError(f"{path}.reload_depots[{k}]", f'duplicate depot "{depot_id}"')
            max_reloads = vt.max_reloads
            if max_reloads is not None:
                wrong = isinstance(max_reloads, bool) or not isinstance(max_reloads, int | np.integer)
                if wrong or max_reloads < 0:
                    raise ValidationError(f"{path}.max_reloads", f"expected a non-negative integer, got "
                                                                 f"{max_reloads!r}")
                if max_reloads > 0 and not reloads:
                    raise ValidationError(f"{path}.max_reloads", f"{max_reloads} reloads need reload_depots")
                max_reloads = None if max_reloads >= self.n_clients else int(max_reloads)
            numbers = {
                "skills": _check_skills(f"{path}.skills", vt.skills),
                "breaks": self._check_breaks(path, vt.breaks),
                "reload_depots": reloads,
                "max_reloads": max_reloads,
                "shift": _check_window(f"{path}.shift", vt.shift),
                "max_duration": _check_number(f"{path}.max_duration", vt.max_duration, finite=False),
                "max_distance": _check_number(f"{path}.max_distance", vt.max_distance, finite=False),
                **{name: _check_number(f"{path}.{name}", getattr(vt, name))
                   for name in ("fixed_cost", "cost_per_distance", "cost_per_duration")},
            }
            resolved.append(replace(vt, count=None if count is None else int(count), start_depot=start,
                                    end_depot=end, capacity=tuple(int(c) for c in vt.capacity), **numbers))
        set_(self, "vehicle_types", tuple(resolved))
        self._validate_shipments(n_dims)

    @staticmethod
    def _check_breaks(path: str, breaks: Any) -> tuple[Break, ...]:
        if not isinstance(breaks, tuple):
            raise ValidationError(f"{path}.breaks", f"expected a list of breaks, got {breaks!r}")
        out: list[Break] = []
        seen: dict[str, str] = {}
        for k, item in enumerate(breaks):
            bpath = f"{path}.breaks[{k}]"
            if not isinstance(item, Break):
                raise ValidationError(bpath, f"expected a Break, got {item!r}")
            _check_id(f"{bpath}.id", item.id, seen)
            windows = _check_windows(bpath, item.time_windows)
            duration = _check_number(f"{bpath}.duration", item.duration)
            same = windows == item.time_windows and duration == item.duration
            out.append(item if same else replace(item, time_windows=windows, duration=duration))
        return tuple(out)

    def _validate_shipments(self, n_dims: int) -> None:
        if not isinstance(self.shipments, tuple):
            raise ValidationError("shipments", f"expected a list of shipments, got {self.shipments!r}")
        index = {c.id: i for i, c in enumerate(self.clients)}
        seen: dict[str, str] = {}
        stop_of: dict[str, str] = {}
        total = [0] * n_dims
        out = []
        for k, s in enumerate(self.shipments):
            path = f"shipments[{k}]"
            if not isinstance(s, Shipment):
                raise ValidationError(path, f"expected a Shipment, got {s!r}")
            _check_id(f"{path}.id", s.id, seen)
            for role in ("pickup", "delivery"):
                stop = getattr(s, role)
                if not isinstance(stop, str) or stop not in index:
                    raise ValidationError(f"{path}.{role}", f"unknown client {stop!r}")
                if stop in stop_of:
                    raise ValidationError(f"{path}.{role}", f'client "{stop}" is a stop of {stop_of[stop]} too')
                stop_of[stop] = path
                client = self.clients[index[stop]]
                if any(client.delivery) or any(client.pickup):
                    raise ValidationError(f"{path}.{role}", f'client "{stop}" is a shipment stop: its amount is '
                                                            "the shipment's, it has no delivery or pickup")
            if self.clients[index[s.pickup]].required != self.clients[index[s.delivery]].required:
                raise ValidationError(f"{path}.delivery", "a shipment's two stops are both required or both not")
            if not isinstance(s.amount, tuple):
                raise ValidationError(f"{path}.amount", f"expected integers, got {s.amount!r}")
            _check_amounts(f"{path}.amount", s.amount)
            if s.amount and len(s.amount) != n_dims:
                raise ValidationError(f"{path}.amount", f"{len(s.amount)} values, expected {n_dims} (capacity "
                                                        "dimensions)")
            for j, value in enumerate(s.amount):
                total[j] += int(value)
                if total[j] > MAX_VALUE:
                    raise ValidationError(f"{path}.amount", f"total amount up to here {_short(total[j])} > "
                                                            f"{MAX_VALUE:g} (the largest total vrpkit accepts)")
            ride = _check_number(f"{path}.max_ride_time", s.max_ride_time, finite=False)
            amount = tuple(int(x) for x in s.amount)
            out.append(s if (ride, amount) == (s.max_ride_time, s.amount) else
                       replace(s, max_ride_time=ride, amount=amount))
        object.__setattr__(self, "shipments", tuple(out))

    def _resolve_matrices(self) -> None:
        from vrpkit.matrix import compute_matrices, default_spec

        n = self.n_nodes
        spec = dict(self.matrix) if self.matrix is not None else None
        given = self.distance is not None or self.duration is not None
        if spec is None:
            spec = {"provider": "explicit"} if given else default_spec(self.coordinates)
        owned = False  # matrices a provider computed for this problem are not copied (see _as_matrix)
        if given:
            distance, duration = self.distance, self.duration
            if distance is None:
                raise ValidationError("matrix.distance", "a duration matrix needs a distance matrix")
        else:
            distance, duration = compute_matrices(spec, self)
            owned = spec.get("provider") != "explicit"
        same = duration is None or duration is distance  # one array for both when they are equal
        distance = _as_matrix("matrix.distance", distance, n, owned=owned)
        duration = distance if same else _as_matrix("matrix.duration", duration, n, owned=owned)
        object.__setattr__(self, "matrix", MappingProxyType(spec))
        object.__setattr__(self, "distance", _readonly(distance))
        object.__setattr__(self, "duration", _readonly(duration))

    # -- sizes and derived arrays -----------------------------------------------------------------------

    @property
    def n_depots(self) -> int:
        return len(self.depots)

    @property
    def n_clients(self) -> int:
        return len(self.clients)

    @property
    def n_nodes(self) -> int:
        """Depots plus clients: the size of the matrices."""
        return len(self.depots) + len(self.clients)

    n_dims: int = field(init=False, repr=False, compare=False, default=1)

    @cached_property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.depots) + tuple(c.id for c in self.clients)

    @cached_property
    def client_index(self) -> Mapping[str, int]:
        """Client id -> client index (0-based into :attr:`clients`)."""
        return MappingProxyType({c.id: i for i, c in enumerate(self.clients)})

    @cached_property
    def depot_index(self) -> Mapping[str, int]:
        return MappingProxyType({d.id: i for i, d in enumerate(self.depots)})

    @cached_property
    def vehicle_type_index(self) -> Mapping[str, int]:
        return MappingProxyType({v.id: i for i, v in enumerate(self.vehicle_types)})

    @cached_property
    def locations(self) -> np.ndarray | None:
        """Node coordinates ``(n_nodes, 2)``, or None when some node has no location."""
        points = [d.location for d in self.depots] + [c.location for c in self.clients]
        if any(p is None for p in points):
            return None
        return _readonly(np.array(points, dtype=float).reshape(-1, 2))

    def _amounts(self, name: str) -> np.ndarray:
        out = np.zeros((self.n_clients, self.n_dims), dtype=np.int64)
        for i, client in enumerate(self.clients):
            values = getattr(client, name)
            if values:
                out[i] = values
        return _readonly(out)

    @cached_property
    def delivery(self) -> np.ndarray:
        """Deliveries ``(n_clients, n_dims)``."""
        return self._amounts("delivery")

    @cached_property
    def pickup(self) -> np.ndarray:
        """Pickups ``(n_clients, n_dims)``."""
        return self._amounts("pickup")

    @cached_property
    def capacity(self) -> np.ndarray:
        """Capacities ``(n_vehicle_types, n_dims)``, float with ``inf`` where unlimited."""
        out = np.full((len(self.vehicle_types), self.n_dims), INF)
        for v, vt in enumerate(self.vehicle_types):
            if vt.capacity:
                out[v] = vt.capacity
        return _readonly(out)

    @cached_property
    def service_time(self) -> np.ndarray:
        return _readonly(np.array([c.service_time for c in self.clients], dtype=float))

    @cached_property
    def prize(self) -> np.ndarray:
        return _readonly(np.array([c.prize for c in self.clients], dtype=float))

    @cached_property
    def required(self) -> np.ndarray:
        return _readonly(np.array([c.required for c in self.clients], dtype=bool))

    @cached_property
    def time_windows(self) -> np.ndarray:
        """Client windows ``(n_clients, W, 2)``, padded by repeating each client's last window."""
        width = max((len(c.time_windows) for c in self.clients), default=1)
        out = np.empty((self.n_clients, width, 2))
        for i, client in enumerate(self.clients):
            windows = list(client.time_windows)
            out[i] = windows + [windows[-1]] * (width - len(windows))
        return _readonly(out)

    @cached_property
    def depot_windows(self) -> np.ndarray:
        return _readonly(np.array([d.time_window for d in self.depots], dtype=float).reshape(-1, 2))

    @cached_property
    def vehicle_start(self) -> np.ndarray:
        """Start node of each vehicle type."""
        return _readonly(np.array([self.depot_index[v.start_depot] for v in self.vehicle_types], dtype=np.int64))

    @cached_property
    def vehicle_end(self) -> np.ndarray:
        """End node of each vehicle type, -1 for open routes."""
        ends = [-1 if v.end_depot is None else self.depot_index[v.end_depot] for v in self.vehicle_types]
        return _readonly(np.array(ends, dtype=np.int64))

    @cached_property
    def skills_ok(self) -> np.ndarray:
        """``(n_vehicle_types, n_clients)`` bool: type ``v`` has every skill of client ``i``."""
        out = np.ones((len(self.vehicle_types), self.n_clients), dtype=bool)
        for i, client in enumerate(self.clients):
            if client.skills:
                need = set(client.skills)
                out[:, i] = [need <= set(vt.skills) for vt in self.vehicle_types]
        return _readonly(out)

    @cached_property
    def release_time(self) -> np.ndarray:
        """Release time of each client ``(n_clients,)``."""
        return _readonly(np.array([c.release_time for c in self.clients], dtype=float).reshape(self.n_clients))

    @cached_property
    def depot_service_time(self) -> np.ndarray:
        """Reload time at each depot ``(n_depots,)``."""
        return _readonly(np.array([d.service_time for d in self.depots], dtype=float))

    @cached_property
    def shipment_of(self) -> np.ndarray:
        """Shipment index of each client ``(n_clients,)``, -1 for a client that is no shipment stop."""
        out = np.full(self.n_clients, -1, dtype=np.int64)
        for k, s in enumerate(self.shipments):
            out[self.client_index[s.pickup]] = out[self.client_index[s.delivery]] = k
        return _readonly(out)

    @cached_property
    def partner(self) -> np.ndarray:
        """The other stop of each shipment stop's shipment ``(n_clients,)``, -1 for other clients."""
        out = np.full(self.n_clients, -1, dtype=np.int64)
        for s in self.shipments:
            p, d = self.client_index[s.pickup], self.client_index[s.delivery]
            out[p], out[d] = d, p
        return _readonly(out)

    @cached_property
    def is_pickup_stop(self) -> np.ndarray:
        """``(n_clients,)`` bool: the client is a shipment's pickup stop."""
        out = np.zeros(self.n_clients, dtype=bool)
        out[[self.client_index[s.pickup] for s in self.shipments]] = True
        return _readonly(out)

    @cached_property
    def shipment_load(self) -> np.ndarray:
        """``(n_clients, n_dims)`` int64: a shipment's amount at its pickup stop, minus it at its delivery stop,
        0 for other clients: the change of the load on board at each stop, besides deliveries and pickups."""
        out = np.zeros((self.n_clients, self.n_dims), dtype=np.int64)
        for s in self.shipments:
            if s.amount:
                out[self.client_index[s.pickup]] = s.amount
                out[self.client_index[s.delivery]] = [-x for x in s.amount]
        return _readonly(out)

    @cached_property
    def max_ride_time(self) -> np.ndarray:
        """Max ride time of each shipment ``(n_shipments,)`` (inf: no bound)."""
        return _readonly(np.array([s.max_ride_time for s in self.shipments], dtype=float).reshape(-1))

    @cached_property
    def reload_allowed(self) -> np.ndarray:
        """``(n_vehicle_types, n_depots)`` bool: the type may reload at the depot."""
        out = np.zeros((len(self.vehicle_types), self.n_depots), dtype=bool)
        for v, vt in enumerate(self.vehicle_types):
            if vt.max_reloads != 0:
                out[v, [self.depot_index[d] for d in vt.reload_depots]] = True
        return _readonly(out)

    @cached_property
    def max_reloads(self) -> np.ndarray:
        """Reloads allowed per route of each type ``(n_vehicle_types,)``: -1 unlimited, 0 without reload depots."""
        out = [0 if not vt.reload_depots else (-1 if vt.max_reloads is None else vt.max_reloads)
               for vt in self.vehicle_types]
        return _readonly(np.array(out, dtype=np.int64))

    @cached_property
    def horizon(self) -> float:
        """An upper bound on every time of a schedule that waits only until windows and shifts open: the latest
        opening time (client window starts, depot opening times, shift starts), plus every service time, plus
        the longest trip out of each node. A window end, depot closing time, shift end or ``max_duration`` at
        or beyond it binds no such schedule."""
        starts = np.concatenate([self.time_windows[:, :, 0].ravel(), self.depot_windows[:, 0],
                                 np.array([vt.shift[0] for vt in self.vehicle_types]), self.release_time,
                                 np.array([w[0] for vt in self.vehicle_types for b in vt.breaks
                                           for w in b.time_windows], dtype=float)])
        trips = self.duration.max(axis=1).sum()
        breaks = max((sum(b.duration for b in vt.breaks) for vt in self.vehicle_types), default=0.0)
        reloads = self._reloads_bound()
        if reloads:  # each reload leaves a depot once more and stays there its service time
            trips += reloads * float(self.duration[: self.n_depots].max(initial=0.0))
            breaks += reloads * float(self.depot_service_time.max(initial=0.0))
        if self.time_dependent:  # a leg takes at most its static duration times the profile's largest factor
            trips *= max(1.0, max_factor(self.uncertainty.travel_time.profile, self.hour))
        return float(starts.max(initial=0.0) + self.service_time.sum() + breaks + trips)

    def _reloads_bound(self) -> int:
        """The most reloads a route of any type can make (fewer than its clients)."""
        most = 0
        for vt in self.vehicle_types:
            if vt.reload_depots and vt.max_reloads != 0:
                most = max(most, max(self.n_clients - 1, 0) if vt.max_reloads is None else vt.max_reloads)
        return most

    @cached_property
    def longest_route(self) -> float:
        """An upper bound on the distance of every route (each node is left at most once: the sum of the
        longest arc out of each node). A ``max_distance`` at or beyond it binds no route."""
        return float(self.distance.max(axis=1).sum()
                     + self._reloads_bound() * self.distance[: self.n_depots].max(initial=0.0))

    @property
    def time_dependent(self) -> bool:
        """True when a travel-time profile is set: the evaluator then times each leg with
        :func:`vrpkit.traffic.arrival` at its departure time."""
        u = self.uncertainty
        return u is not None and u.travel_time is not None and u.travel_time.profile is not None

    @property
    def hour(self) -> float:
        """How many of the problem's time units make an hour, for the named profiles and accident rates:
        3600 for lon/lat problems (times in seconds), 60 for the others (their times are read as minutes)."""
        return 3600.0 if self.coordinates == "lonlat" else 60.0

    # -- variant ----------------------------------------------------------------------------------------

    @cached_property
    def attributes(self) -> frozenset[str]:
        """The set of attributes (see :data:`ATTRIBUTES`) that this problem's data uses."""
        out: set[str] = set()
        if any(vt.capacity for vt in self.vehicle_types) and (
                self.delivery.any() or self.pickup.any() or self.shipment_load.any()):
            out.add("capacity")
        if any(vt.end_depot is None for vt in self.vehicle_types):
            out.add("open")
        if self.pickup.any():
            out.add("backhaul" if self.backhaul == "strict" else "mixed_backhaul")
        if any(math.isfinite(vt.max_duration) for vt in self.vehicle_types):
            out.add("duration_limit")
        if any(math.isfinite(vt.max_distance) for vt in self.vehicle_types):
            out.add("distance_limit")
        windows = [w for c in self.clients for w in c.time_windows]
        if any(w != (0.0, INF) for w in windows) or any(
            vt.shift != (0.0, INF) for vt in self.vehicle_types
        ) or any(d.time_window != (0.0, INF) for d in self.depots):
            out.add("time_windows")
        if any(len(c.time_windows) > 1 for c in self.clients):
            out.add("multiple_time_windows")
        if len(self.depots) > 1:
            out.add("multi_depot")
        if len({_cost_profile(vt) for vt in self.vehicle_types}) > 1:
            out.add("heterogeneous_fleet")
        if not self.required.all():
            out.add("prizes")
        if any(c.skills for c in self.clients):
            out.add("skills")
        if any(vt.breaks for vt in self.vehicle_types):
            out.add("breaks")
        if self.reload_allowed.any():
            out.add("multi_trip")
        if self.shipments:
            out.add("shipments")
        if any(c.release_time > 0 for c in self.clients):
            out.add("release_times")
        return frozenset(out)

    @property
    def fleet(self) -> bool:
        """True when the problem uses one of :data:`FLEET_ATTRIBUTES` (skills, breaks, multi-trip, shipments,
        release times)."""
        return bool(self.attributes & FLEET_ATTRIBUTES)

    @property
    def variant(self) -> str:
        """The conventional name of the variant, e.g. ``CVRP``, ``OVRPTW``, ``MDVRPBTW``, ``HFVRP``.

        Shipments make the core ``PDP`` (pickup and delivery: ``PDPTW``); multi-trip is the prefix ``MT``
        (``MTVRP``); release times, breaks and skills are the suffixes ``RT``, ``BR`` and ``SK`` after ``TW``
        (``VRPTWBRSK``), so that none is read as ``B`` (backhaul)."""
        a = self.attributes
        prefix = "".join(
            tag for attr, tag in (("multi_depot", "MD"), ("heterogeneous_fleet", "HF"), ("prizes", "PC"),
                                  ("multi_trip", "MT"), ("open", "O")) if attr in a
        )
        suffix = "".join(
            tag for attr, tag in (("backhaul", "B"), ("mixed_backhaul", "MB"), ("duration_limit", "L"),
                                  ("distance_limit", "L"), ("time_windows", "TW"), ("release_times", "RT"),
                                  ("breaks", "BR"), ("skills", "SK")) if attr in a
        ).replace("LL", "L")
        core = "PDP" if "shipments" in a else "VRP"
        if not prefix and not suffix and core == "VRP":
            return "CVRP" if "capacity" in a else "VRP"
        return f"{prefix}{core}{suffix}"

    # -- conversions ------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | Path | None = None) -> Problem:
        """Build a problem from the JSON format (see the README); raises :class:`ValidationError`."""
        from vrpkit.io.json import problem_from_dict

        return problem_from_dict(data, base_dir=base_dir)

    def to_dict(self, *, inline_matrices: bool = False) -> dict[str, Any]:
        """The JSON form; matrices are written inline only when the provider is ``explicit`` or asked for."""
        from vrpkit.io.json import problem_to_dict

        return problem_to_dict(self, inline_matrices=inline_matrices)

    def replace(self, **changes: Any) -> Problem:
        """A copy with some fields changed (validated again).

        The matrices are kept unless the matrix specification or, for a provider other than ``explicit``, the
        locations change; then they are computed again.
        """
        keep = {name: getattr(self, name) for name in
                ("name", "depots", "clients", "vehicle_types", "coordinates", "backhaul", "matrix", "distance",
                 "duration", "base_dir", "uncertainty", "shipments")}
        keep.update(changes)
        if "distance" not in changes and "duration" not in changes:
            spec = keep["matrix"]
            moved = any(
                [x.location for x in keep[name]] != [x.location for x in getattr(self, name)]
                for name in ("depots", "clients")
            ) or keep["coordinates"] != self.coordinates
            recompute = "matrix" in changes or (moved and (spec or {}).get("provider") != "explicit")
            if recompute:
                keep["distance"] = keep["duration"] = None
        return Problem(**keep)

    def __repr__(self) -> str:
        return (
            f"Problem(name={self.name!r}, variant={self.variant}, depots={self.n_depots}, "
            f"clients={self.n_clients}, vehicle_types={len(self.vehicle_types)})"
        )


def _cost_profile(vt: VehicleType) -> tuple[Any, ...]:
    """What makes vehicle types different in the sense of a heterogeneous fleet; where they are based is
    ``multi_depot`` and whether they return is ``open``, not heterogeneity."""
    return (vt.capacity, vt.fixed_cost, vt.cost_per_distance, vt.cost_per_duration, vt.max_duration,
            vt.max_distance, vt.shift, vt.end_depot is None)


def _as_matrix(path: str, value: Any, n: int, *, owned: bool = False) -> np.ndarray:
    """``value`` as a checked float64 ``n x n`` array. Not copied when it is a float64 array that is ``owned``
    (computed by a provider for this problem) or read-only (such as another problem's matrix, kept by
    :meth:`Problem.replace`); anything else is copied, so that no one can change a problem's matrix from
    outside. The checks need no ``n x n`` temporary unless an entry is bad."""
    if isinstance(value, np.ndarray) and value.dtype == np.float64 and (owned or not value.flags.writeable):
        array = value
    else:
        try:
            array = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise ValidationError(path, "expected a square array of numbers") from None
    if array.ndim != 2:
        raise ValidationError(path, f"expected a {n}x{n} array, got {array.ndim} dimensions")
    if array.shape != (n, n):
        raise ValidationError(path, f"{array.shape[0]}x{array.shape[1]}, expected {n}x{n}")
    if array.size and array.min() >= 0 and array.max() <= MAX_VALUE:  # NaN fails both: checked below
        return array
    bad = np.argwhere(~np.isfinite(array) | (array < 0))
    if len(bad):
        i, j = bad[0]
        raise ValidationError(f"{path}[{i}][{j}]", f"{array[i, j]} is not a finite non-negative number")
    big = np.argwhere(array > MAX_VALUE)
    if len(big):
        i, j = big[0]
        raise ValidationError(f"{path}[{i}][{j}]", f"{array[i, j]:g} > {MAX_VALUE:g} (the largest value vrpkit "
                                                    "accepts)")
    return array
