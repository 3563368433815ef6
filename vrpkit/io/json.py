"""The problem JSON format: parsing (types and unknown fields checked by pydantic, values by the model),
writing, and the JSON Schema printed by ``vrpkit schema``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from vrpkit.errors import InputError, ValidationError
from vrpkit.model import (
    INF,
    SAME_AS_START,
    Break,
    Client,
    DemandNoise,
    Depot,
    Problem,
    ServiceTimeNoise,
    Shipment,
    TravelTimeNoise,
    Uncertainty,
    VehicleType,
)

Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
WindowIn = Annotated[list[float | None], Field(min_length=2, max_length=2)]
"""[start, end]; an end of null means no end."""
Amount = int | list[int]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DepotIn(_In):
    """A depot. ``time_window``: opening hours, default always open. ``service_time``: how long a reload takes
    there (default 0)."""

    id: str
    location: Pair | None = None
    time_window: WindowIn | None = None
    service_time: float = 0.0


class ClientIn(_In):
    """A client. ``delivery``/``pickup``: an integer or one per capacity dimension (default 0).
    ``time_window`` or ``time_windows`` (several, sorted): when service may start (default always).
    ``required`` false makes the visit optional; leaving it out costs ``prize`` (default 0). ``skills``: what
    the vehicle must have (default none). ``release_time``: the trip that serves the client leaves its depot no
    earlier (default 0)."""

    id: str
    location: Pair | None = None
    delivery: Amount = 0
    pickup: Amount = 0
    service_time: float = 0.0
    time_window: WindowIn | None = None
    time_windows: Annotated[list[WindowIn], Field(min_length=1)] | None = None
    prize: float = 0.0
    required: bool = True
    skills: list[str] = Field(default_factory=list)
    release_time: float = 0.0


class BreakIn(_In):
    """A driver's break: ``duration``, starting inside ``time_window`` or one of ``time_windows`` (default
    always)."""

    id: str
    time_window: WindowIn | None = None
    time_windows: Annotated[list[WindowIn], Field(min_length=1)] | None = None
    duration: float = 0.0


class StopIn(_In):
    """A shipment's pickup or delivery stop (a client of the problem, with no amount of its own)."""

    id: str
    location: Pair | None = None
    service_time: float = 0.0
    time_window: WindowIn | None = None
    time_windows: Annotated[list[WindowIn], Field(min_length=1)] | None = None
    skills: list[str] = Field(default_factory=list)


class ShipmentIn(_In):
    """A pickup and delivery request: ``amount`` (an integer or one per capacity dimension) is loaded at
    ``pickup`` and unloaded at ``delivery``, on one route, pickup first; ``max_ride_time`` bounds the time from the
    end of the pickup to the start of the delivery (default none). ``required`` false makes it optional; leaving
    it out costs ``prize``."""

    id: str
    amount: Amount = 0
    pickup: StopIn
    delivery: StopIn
    max_ride_time: float | None = None
    required: bool = True
    prize: float = 0.0


class VehicleTypeIn(_In):
    """A vehicle type. ``count``: default unlimited. ``capacity``: default unlimited. ``start_depot``: default
    the first depot. ``end_depot``: default the start depot, ``null`` for open routes. ``shift``: default
    always. ``max_duration``/``max_distance``: default unlimited. Costs: ``fixed_cost`` 0,
    ``cost_per_distance`` 1, ``cost_per_duration`` 0. ``skills``: default none. ``breaks``: the driver's breaks.
    ``reload_depots``: depot ids where a route may reload between clients, at most ``max_reloads`` times (default
    unlimited)."""

    id: str
    count: int | None = None
    capacity: Amount | None = None
    start_depot: str | None = None
    end_depot: str | None = None
    shift: WindowIn | None = None
    max_duration: float | None = None
    max_distance: float | None = None
    fixed_cost: float = 0.0
    cost_per_distance: float = 1.0
    cost_per_duration: float = 0.0
    skills: list[str] = Field(default_factory=list)
    breaks: list[BreakIn] = Field(default_factory=list)
    reload_depots: list[str] = Field(default_factory=list)
    max_reloads: int | None = None


class MatrixIn(BaseModel):
    """``provider`` (``euclidean``, ``haversine``, ``explicit``, ...) and its options, e.g. ``round`` or
    ``speed``; ``explicit`` takes ``distance``/``duration`` arrays or an ``.npz`` ``file``."""

    model_config = ConfigDict(extra="allow", strict=True)
    provider: str


class AccidentsIn(_In):
    """Accidents: ``rate_per_hour`` per hour of driving (default 0), each a delay drawn uniformly from
    ``delay`` [min, max] in the problem's time unit (default [0, 0])."""

    rate_per_hour: float = 0.0
    delay: Pair | None = None


class TravelTimeIn(_In):
    """``profile``: ``"svrpbench"``, ``"rush_hour"`` or [time, factor] points (times increasing, factors
    positive; see :mod:`vrpkit.traffic`); default none. ``lognormal_sigma``: default 0."""

    profile: str | list[Pair] | None = None
    lognormal_sigma: float = 0.0
    accidents: AccidentsIn | None = None


class DemandIn(_In):
    """``distribution``: ``poisson``, ``normal`` or ``none`` (default); ``cv`` for ``normal`` (default 0);
    ``recourse`` above capacity: ``return`` (default) or ``fail``."""

    distribution: Literal["poisson", "normal", "none"] = "none"
    cv: float = 0.0
    recourse: Literal["return", "fail"] = "return"


class ServiceTimeIn(_In):
    """``lognormal_sigma``: default 0."""

    lognormal_sigma: float = 0.0


class UncertaintyIn(_In):
    """What is uncertain (see :class:`vrpkit.model.Uncertainty`); a travel-time profile alone makes the
    problem time-dependent."""

    travel_time: TravelTimeIn | None = None
    demand: DemandIn | None = None
    service_time: ServiceTimeIn | None = None


class ProblemIn(_In):
    """A vehicle routing problem in vrpkit's JSON format."""

    name: str = "problem"
    coordinates: Literal["planar", "lonlat"] = "planar"
    depots: Annotated[list[DepotIn], Field(min_length=1)]
    clients: list[ClientIn]
    vehicle_types: Annotated[list[VehicleTypeIn], Field(min_length=1)]
    backhaul: Literal["strict", "mixed"] = "mixed"
    shipments: list[ShipmentIn] = Field(default_factory=list)
    matrix: MatrixIn | None = None
    uncertainty: UncertaintyIn | None = None


_TAG = re.compile(r"^(int|float|str|bool|none|list|dict|nullable)$|\[")


def format_pydantic_error(err: PydanticError) -> ValidationError:
    """The first error of a pydantic validation as a :class:`ValidationError` with a JSON-style path."""
    first = err.errors()[0]
    path = ""
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _TAG.search(str(part)):
            path += f".{part}" if path else str(part)
    kind = first["type"]
    if kind == "extra_forbidden":
        return ValidationError(path, "unknown field")
    if kind == "missing":
        return ValidationError(path, "required field is missing")
    value = first.get("input")
    shown = json.dumps(value) if _jsonable(value) else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValidationError(path, f"{first['msg'][0].lower()}{first['msg'][1:]}, got {shown}")


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _window(pair: list[float | None] | None) -> tuple[Any, Any]:
    if pair is None:
        return (0.0, INF)
    return (pair[0], INF if pair[1] is None else pair[1])


def _amount(value: Amount | None) -> tuple[int, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else tuple(value)


def problem_from_dict(data: Any, *, base_dir: str | Path | None = None) -> Problem:
    """Parse and validate the JSON form of a problem."""
    if not isinstance(data, dict):
        raise ValidationError("", f"a problem is a JSON object, got {type(data).__name__}")
    try:
        parsed = ProblemIn.model_validate(data)
    except PydanticError as err:
        raise format_pydantic_error(err) from None
    depots = [Depot(d.id, _pair(d.location), _window(d.time_window), d.service_time) for d in parsed.depots]
    clients = []
    for i, c in enumerate(parsed.clients):
        clients.append(
            Client(
                id=c.id,
                location=_pair(c.location),
                delivery=_amount(c.delivery) if c.delivery != 0 else (),
                pickup=_amount(c.pickup) if c.pickup != 0 else (),
                service_time=c.service_time,
                time_windows=_windows(f"clients[{i}]", c),
                prize=c.prize,
                required=c.required,
                skills=tuple(c.skills),
                release_time=c.release_time,
            )
        )
    shipments = []
    for k, s in enumerate(parsed.shipments):
        for role, prize in (("pickup", s.prize), ("delivery", 0.0)):
            stop = getattr(s, role)
            clients.append(Client(id=stop.id, location=_pair(stop.location), service_time=stop.service_time,
                                  time_windows=_windows(f"shipments[{k}].{role}", stop), prize=prize,
                                  required=s.required, skills=tuple(stop.skills)))
        shipments.append(Shipment(s.id, s.pickup.id, s.delivery.id, _amount(s.amount) if s.amount != 0 else (),
                                  INF if s.max_ride_time is None else s.max_ride_time))
    vehicle_types = []
    for t, v in enumerate(parsed.vehicle_types):
        end = v.end_depot if "end_depot" in v.model_fields_set else SAME_AS_START
        vehicle_types.append(
            VehicleType(
                id=v.id,
                count=v.count,
                capacity=_amount(v.capacity),
                start_depot=v.start_depot,
                end_depot=end,
                shift=_window(v.shift),
                max_duration=INF if v.max_duration is None else v.max_duration,
                max_distance=INF if v.max_distance is None else v.max_distance,
                fixed_cost=v.fixed_cost,
                cost_per_distance=v.cost_per_distance,
                cost_per_duration=v.cost_per_duration,
                skills=tuple(v.skills),
                breaks=tuple(Break(b.id, _windows(f"vehicle_types[{t}].breaks[{k}]", b), b.duration)
                             for k, b in enumerate(v.breaks)),
                reload_depots=tuple(v.reload_depots),
                max_reloads=v.max_reloads,
            )
        )
    matrix = None if parsed.matrix is None else parsed.matrix.model_dump()
    try:
        return _problem(parsed, depots, clients, vehicle_types, shipments, matrix, base_dir)
    except ValidationError as err:  # a shipment stop's field by its JSON path, not by its place in clients
        match = re.match(r"clients\[(\d+)\]", err.field)
        n = len(parsed.clients)
        if match is None or int(match.group(1)) < n:
            raise
        k, role = divmod(int(match.group(1)) - n, 2)
        path = f"shipments[{k}].{('pickup', 'delivery')[role]}" + err.field[match.end():]
        raise ValidationError(path, err.reason) from None


def _problem(parsed: ProblemIn, depots: list[Depot], clients: list[Client], vehicle_types: list[VehicleType],
             shipments: list[Shipment], matrix: dict[str, Any] | None, base_dir: str | Path | None) -> Problem:
    return Problem(
        name=parsed.name,
        depots=tuple(depots),
        clients=tuple(clients),
        vehicle_types=tuple(vehicle_types),
        coordinates=parsed.coordinates,
        backhaul=parsed.backhaul,
        matrix=matrix,
        base_dir=None if base_dir is None else Path(base_dir),
        uncertainty=_uncertainty(parsed.uncertainty),
        shipments=tuple(shipments),
    )


def _windows(path: str, item: ClientIn | StopIn | BreakIn) -> tuple[tuple[Any, Any], ...]:
    """The windows of ``time_window`` or ``time_windows`` (not both)."""
    if item.time_window is not None and item.time_windows is not None:
        raise ValidationError(f"{path}.time_windows", "give time_window or time_windows, not both")
    windows = [item.time_window] if item.time_windows is None else item.time_windows
    return tuple(_window(w) for w in windows)


def _uncertainty(u: UncertaintyIn | None) -> Uncertainty | None:
    if u is None:
        return None
    travel = demand = service = None
    if (t := u.travel_time) is not None:
        accidents = t.accidents or AccidentsIn()
        # the points as parsed: TravelTimeNoise and the Problem's check make them (time, factor) tuples
        travel = TravelTimeNoise(t.profile, t.lognormal_sigma, accidents.rate_per_hour,
                                 (0.0, 0.0) if accidents.delay is None else _pair(accidents.delay))
    if u.demand is not None:
        demand = DemandNoise(u.demand.distribution, u.demand.cv, u.demand.recourse)
    if u.service_time is not None:
        service = ServiceTimeNoise(u.service_time.lognormal_sigma)
    return Uncertainty(travel, demand, service)


def _uncertainty_out(u: Uncertainty) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (t := u.travel_time) is not None:
        item: dict[str, Any] = {}
        if t.profile is not None:
            points = t.profile
            item["profile"] = points if isinstance(points, str) else [[_num(a), _num(b)] for a, b in points]
        if t.lognormal_sigma:
            item["lognormal_sigma"] = _num(t.lognormal_sigma)
        if t.accident_rate_per_hour or t.accident_delay != (0.0, 0.0):
            item["accidents"] = {"rate_per_hour": _num(t.accident_rate_per_hour),
                                 "delay": [_num(x) for x in t.accident_delay]}
        out["travel_time"] = item
    if (q := u.demand) is not None:
        out["demand"] = {"distribution": q.distribution, "cv": _num(q.cv), "recourse": q.recourse}
    if (s := u.service_time) is not None:
        out["service_time"] = {"lognormal_sigma": _num(s.lognormal_sigma)}
    return out


def _pair(value: list[float] | None) -> tuple[float, float] | None:
    return None if value is None else (value[0], value[1])


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _window_out(window: tuple[float, float]) -> list[float | int | None] | None:
    if window == (0.0, INF):
        return None
    return [_num(window[0]), _num(window[1]) if math.isfinite(window[1]) else None]


def _amount_out(values: tuple[int, ...]) -> int | list[int]:
    return int(values[0]) if len(values) == 1 else [int(v) for v in values]


def problem_to_dict(problem: Problem, *, inline_matrices: bool = False) -> dict[str, Any]:
    """The JSON form of ``problem``; default values are left out."""
    out: dict[str, Any] = {"name": problem.name}
    if problem.coordinates != "planar":
        out["coordinates"] = problem.coordinates
    out["depots"] = []
    for d in problem.depots:
        item: dict[str, Any] = {"id": d.id}
        if d.location is not None:
            item["location"] = [_num(x) for x in d.location]
        if (w := _window_out(d.time_window)) is not None:
            item["time_window"] = w
        if d.service_time:
            item["service_time"] = _num(d.service_time)
        out["depots"].append(item)
    out["clients"] = []
    stops = {s.pickup for s in problem.shipments} | {s.delivery for s in problem.shipments}
    for c in problem.clients:
        if c.id in stops:
            continue
        item = _stop_out(c)
        if any(c.delivery):
            item["delivery"] = _amount_out(c.delivery)
        if any(c.pickup):
            item["pickup"] = _amount_out(c.pickup)
        if c.prize:
            item["prize"] = _num(c.prize)
        if not c.required:
            item["required"] = False
        if c.release_time:
            item["release_time"] = _num(c.release_time)
        out["clients"].append(item)
    out["vehicle_types"] = []
    for v in problem.vehicle_types:
        item = {"id": v.id}
        if v.count is not None:
            item["count"] = int(v.count)
        if v.capacity:
            item["capacity"] = _amount_out(v.capacity)
        item["start_depot"] = v.start_depot
        if v.end_depot != v.start_depot:
            item["end_depot"] = v.end_depot
        if (w := _window_out(v.shift)) is not None:
            item["shift"] = w
        for name, default in (("max_duration", INF), ("max_distance", INF), ("fixed_cost", 0.0),
                              ("cost_per_distance", 1.0), ("cost_per_duration", 0.0)):
            value = getattr(v, name)
            if value != default:
                item[name] = _num(value)
        if v.skills:
            item["skills"] = list(v.skills)
        if v.breaks:
            item["breaks"] = [{"id": b.id, **_windows_out(b.time_windows), "duration": _num(b.duration)}
                              for b in v.breaks]
        if v.reload_depots:
            item["reload_depots"] = list(v.reload_depots)
        if v.max_reloads is not None:
            item["max_reloads"] = int(v.max_reloads)
        out["vehicle_types"].append(item)
    if problem.backhaul != "mixed":
        out["backhaul"] = problem.backhaul
    if problem.shipments:
        index = problem.client_index
        out["shipments"] = []
        for s in problem.shipments:
            pickup, delivery = problem.clients[index[s.pickup]], problem.clients[index[s.delivery]]
            item = {"id": s.id}
            if any(s.amount):
                item["amount"] = _amount_out(s.amount)
            item["pickup"], item["delivery"] = _stop_out(pickup), _stop_out(delivery)
            if math.isfinite(s.max_ride_time):
                item["max_ride_time"] = _num(s.max_ride_time)
            if not pickup.required:
                item["required"] = False
            if pickup.prize + delivery.prize:
                item["prize"] = _num(pickup.prize + delivery.prize)
            out["shipments"].append(item)
    spec = dict(problem.matrix or {})
    order = _written_order(problem)  # the JSON lists shipment stops last: its matrices follow that order
    moved = order is not None and spec.get("provider") == "explicit"
    if inline_matrices or moved or (spec.get("provider") == "explicit" and "file" not in spec):
        mesh = np.ix_(order, order) if order is not None else (slice(None), slice(None))
        spec = {"provider": "explicit", "distance": problem.distance[mesh].tolist()}
        if problem.duration is not problem.distance and not (problem.duration == problem.distance).all():
            spec["duration"] = problem.duration[mesh].tolist()
    out["matrix"] = spec
    if problem.uncertainty is not None:
        out["uncertainty"] = _uncertainty_out(problem.uncertainty)
    return out


def _written_order(problem: Problem) -> np.ndarray | None:
    """The problem's node indices in the order the JSON lists them (depots, the clients that are no shipment
    stops, then each shipment's pickup and delivery), or None when that is the problem's own order."""
    if not problem.shipments:
        return None
    index, nd = problem.client_index, problem.n_depots
    stops = [index[x] for s in problem.shipments for x in (s.pickup, s.delivery)]
    plain = np.flatnonzero(problem.shipment_of < 0)
    order = np.concatenate([np.arange(nd), nd + plain, nd + np.array(stops, dtype=np.int64)])
    return None if np.array_equal(order, np.arange(problem.n_nodes)) else order


def _windows_out(windows: tuple[tuple[float, float], ...]) -> dict[str, Any]:
    """``time_windows`` when there are several, ``time_window`` when one is not the default, else nothing."""
    if len(windows) > 1:
        return {"time_windows": [_window_out(w) or [0, None] for w in windows]}
    if (w := _window_out(windows[0])) is not None:
        return {"time_window": w}
    return {}


def _stop_out(c: Client) -> dict[str, Any]:
    """What a client and a shipment stop have in common: id, location, service time, windows, skills."""
    item: dict[str, Any] = {"id": c.id}
    if c.location is not None:
        item["location"] = [_num(x) for x in c.location]
    if c.service_time:
        item["service_time"] = _num(c.service_time)
    item.update(_windows_out(c.time_windows))
    if c.skills:
        item["skills"] = list(c.skills)
    return item


def problem_schema() -> dict[str, Any]:
    """The JSON Schema of the problem format."""
    schema = ProblemIn.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vrpkit problem"
    return schema


def read_text(path: str | Path) -> str:
    """A text file's content; a missing, unreadable, non-UTF-8 or empty file is an :class:`InputError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    return text


def load_json(path: str | Path) -> Any:
    """Read a JSON file; a missing, empty, truncated or non-JSON file is an :class:`InputError`."""
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        what = "truncated JSON" if err.pos >= len(text.rstrip()) else "not valid JSON"
        raise InputError(f"{path}: {what} (line {err.lineno}, column {err.colno}: {err.msg})") from None


def read_problem_json(path: str | Path) -> Problem:
    """Read a problem from our JSON format; relative matrix files are read from the file's folder."""
    path = Path(path)
    return problem_from_dict(load_json(path), base_dir=path.parent)


def write_json(data: Any, path: str | Path) -> None:
    """Write ``data`` as indented JSON."""
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
