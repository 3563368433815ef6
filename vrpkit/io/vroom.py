"""VROOM's JSON: its input (jobs, shipments, vehicles, matrices) read as a problem and written from one, and
its output (summary, routes of steps, unassigned) written from the evaluator's schedule and read back as a plan.

Reading an input (:func:`problem_from_vroom`; ``vrpkit convert``/``solve`` detect it from the top-level
``vehicles`` with ``jobs`` and/or ``shipments``). VROOM's fields become these (exact unless a warning says
otherwise; every inexact mapping is one :class:`VroomWarning` line, never silent):

- ids: job ``7`` -> client ``j7``; shipment with pickup ``3`` and delivery ``4`` -> shipment ``s3`` with stop
  clients ``p3`` and ``d4``; vehicle ``2`` -> vehicle type ``v2`` (count 1); its break ``1`` -> break ``b1``;
  depots ``depot0``, ``depot1``, ... are the distinct start and end locations of the vehicles, in order of first
  use. A vehicle without a start starts at ``anywhere``, a depot 0 away from every place (exact: VROOM's route
  then begins at its first task); a vehicle without an end has an open route (``end_depot`` None).
- jobs: ``delivery``, ``pickup`` (mixed backhaul: VROOM's model), ``service``, ``time_windows``, ``skills``
  (integers -> strings ``"3"``), ``location``. ``setup`` is added to ``service``: exact when no other task and
  no vehicle start shares the job's location (VROOM skips the setup after a step at the same place), else a
  warning.
- ``priority`` and VROOM's unassigned jobs: VROOM may leave any task out; it first maximises the sum of the
  priorities of the tasks it serves, then their number, then minimises the cost. So every task is optional
  (``required`` false) with ``prize = U * (1 + K * priority)`` (a shipment: twice that, on its pickup stop),
  where ``K`` is the number of tasks plus one and ``U`` is the power of ten above the cost of any plan (the sum
  over vehicles of ``fixed + per_km/1000 * longest_route + per_hour/3600 * horizon``, see
  :func:`prize_unit`). Serving one more task then always beats any saving in cost and one more priority point
  beats any number of tasks: the same order as VROOM's. Prizes are capped at 1e15 (a warning).
- vehicles: ``capacity``, ``skills``, ``time_window`` -> ``shift``, ``breaks`` (``service`` -> ``duration``;
  ``max_load`` is not mapped; VROOM may start a break during a leg, when its window opens on the way, where
  vrpkit's evaluator takes it at the stop before and waits there: a warning), ``max_distance``; ``costs``:
  ``fixed_cost = fixed``, ``cost_per_duration = per_hour / 3600`` (default per_hour 3600),
  ``cost_per_distance = per_km / 1000``. VROOM charges per_hour for
  travel time only, vrpkit's cost_per_duration for the route's whole duration (service and waiting too): a
  warning says so. ``max_travel_time`` -> ``max_duration`` (stricter: it bounds the whole duration; a warning).
  ``max_tasks`` -> one more capacity dimension in which each job delivers 1 (exact without shipments; with
  them a shipment counts 2 only while on board: a warning). ``speed_factor``: the durations are divided by it
  when all vehicles share it (else a warning). ``profile``: vrpkit has one matrix; vehicles of several
  profiles all use the first vehicle's (a warning). ``steps`` (initial routes) are not read (a warning; see
  ``vrpkit solve --initial``).
- ``matrices``: the ``durations`` and ``distances`` of the profile, indexed by ``location_index``; without
  ``distances`` the distances are the durations (a warning); a ``costs`` matrix is not used (a warning).
  Without matrices VROOM asks a routing engine (OSRM) for road times; vrpkit uses great-circle distances
  (``haversine``: metres, seconds at 30 km/h) over the ``location`` coordinates instead (a warning): set the
  problem's ``matrix`` provider to ``osrm`` for roads.
- Unknown fields: a warning (VROOM ignores them). Bad values: :class:`~vrpkit.errors.ValidationError` naming
  the field (``jobs[2].time_windows[0]: start 900 > end 600``).

Writing an input (:func:`problem_to_vroom`): the inverse for problems read from VROOM (the round trip gives the
same problem), and for any other problem: location indices are node indices, matrices rounded to integers,
ids from the client ids when they are integers (else 1, 2, ...), one vehicle per vehicle of each type
(unlimited counts: one per client). What VROOM cannot express (reloads, release times, depot windows and
service times, max_ride_time, required clients, several distinct skills per shipment stop) is a warning.

Writing an output (:func:`plan_to_vroom`, ``vrpkit convert plan.json out.json --to vroom --problem P``): the
evaluator's schedule as VROOM's steps (``start``, ``job``/``pickup``/``delivery``, ``break``, ``end``) with
``arrival``, ``duration`` (travel time so far), ``distance`` (so far), ``waiting_time``, ``service`` (setup
included: ``setup`` 0), ``load``, ``location_index`` (the node index of the vrpkit problem, which is the
location index of :func:`problem_to_vroom`'s input, not necessarily of the original file); route and summary
``cost`` is the evaluator's route cost rounded to an integer (prizes of unassigned tasks left out, as VROOM
does). Reading an output (:func:`plan_from_vroom`; ``vrpkit evaluate problem vroom_output.json`` detects it)
gives the solution JSON with breaks where VROOM placed them, so that one evaluator costs both.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vrpkit.errors import InputError, ValidationError
from vrpkit.model import INF, MAX_VALUE, Break, Client, Depot, Problem, Shipment, VehicleType

MAX_TIME = 2**32 - 1
"""VROOM's largest time (its durations are 32-bit unsigned): a window end of vrpkit's infinity is written so."""
ANYWHERE = "anywhere"
"""The depot of vehicles without a start: 0 away from every place."""
HAVERSINE_SPEED = 30.0
"""km/h of the great-circle durations used when a VROOM input has no matrices (the haversine default)."""

_TOP = {"vehicles", "jobs", "shipments", "matrices", "matrix"}
_JOB = {"id", "description", "location", "location_index", "setup", "service", "delivery", "pickup", "skills",
        "priority", "time_windows"}
_STEP = {"id", "description", "location", "location_index", "setup", "service", "time_windows"}
_SHIPMENT = {"pickup", "delivery", "amount", "skills", "priority"}
_VEHICLE = {"id", "profile", "description", "start", "start_index", "end", "end_index", "capacity", "costs",
            "skills", "time_window", "breaks", "speed_factor", "max_tasks", "max_travel_time", "max_distance",
            "steps"}
_COSTS = {"fixed", "per_hour", "per_km"}
_BREAK = {"id", "time_windows", "service", "description", "max_load"}
_KINDS = ("job", "pickup", "delivery")
_PREFIX = {"job": "j", "pickup": "p", "delivery": "d"}


class VroomWarning(UserWarning):
    """Something of a VROOM file that vrpkit cannot map exactly (one line)."""


class _Notes:
    """Warnings collected while converting, each once, emitted together."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}

    def add(self, key: str, line: str) -> None:
        self.lines.setdefault(key, line)

    def emit(self) -> None:
        for line in self.lines.values():
            warnings.warn(VroomWarning(line), stacklevel=3)


# -- detection -----------------------------------------------------------------------------------------------


def is_vroom_input(data: Any) -> bool:
    """True for a VROOM input: an object with ``vehicles`` and ``jobs`` or ``shipments`` (and no vrpkit
    ``clients``/``vehicle_types``)."""
    return (isinstance(data, Mapping) and "vehicles" in data and ("jobs" in data or "shipments" in data)
            and "clients" not in data and "vehicle_types" not in data)


def is_vroom_output(data: Any) -> bool:
    """True for a VROOM output: ``routes`` of ``steps`` (or a ``summary``/``code`` beside ``routes``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("routes"), list):
        return False
    if "summary" in data or "code" in data:
        return True
    return any(isinstance(r, Mapping) and "steps" in r and "stops" not in r for r in data["routes"])


# -- checked getters -----------------------------------------------------------------------------------------


def _obj(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path, f"expected an object, got {_shown(value)}")
    return value


def _list(path: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(path, f"expected an array, got {_shown(value)}")
    return value


def _uint(path: str, value: Any, maximum: float = MAX_VALUE) -> int:
    """A non-negative integer (VROOM's ids, amounts, times and skills)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, f"expected a non-negative integer, got {_shown(value)}")
    if value < 0:
        raise ValidationError(path, f"expected a non-negative integer, got {value}")
    if value > maximum:
        raise ValidationError(path, f"{value} > {maximum:g}")
    return value


def _number(path: str, value: Any) -> float:
    """A non-negative finite number (costs, speed factors)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(path, f"expected a non-negative number, got {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _amount(path: str, value: Any) -> tuple[int, ...]:
    return tuple(_uint(f"{path}[{k}]", x) for k, x in enumerate(_list(path, value)))


def _skills(path: str, value: Any) -> tuple[str, ...]:
    out: list[str] = []
    for k, x in enumerate(_list(path, value)):
        s = str(_uint(f"{path}[{k}]", x))
        if s not in out:
            out.append(s)
    return tuple(out)


def _window(path: str, w: Any) -> tuple[float, float]:
    if not isinstance(w, list) or len(w) != 2:
        raise ValidationError(path, f"expected [start, end], got {_shown(w)}")
    start, end = _uint(path, w[0]), _uint(path, w[1])
    if start > end:
        raise ValidationError(path, f"start {start} > end {end}")
    return (float(start), float(end))


def _windows(path: str, value: Any) -> tuple[tuple[float, float], ...]:
    windows = []
    for k, w in enumerate(_list(path, value)):
        wpath = f"{path}[{k}]"
        start, end = _window(wpath, w)
        if windows and start <= windows[-1][1]:
            raise ValidationError(wpath, f"starts at {start}, before the previous window ends "
                                         f"({windows[-1][1]:g}): windows are sorted and disjoint")
        windows.append((start, end))
    if not windows:
        raise ValidationError(path, "an empty list (leave the field out for always)")
    return tuple(windows)


def _entry(notes: _Notes, path: str, where: str, item: Any, known: set[str], ids: set[int],
           what: str) -> tuple[Mapping[str, Any], int]:
    """An object with a required integer ``id`` unique among ``ids`` (added to them); unknown fields noted."""
    item = _obj(path, item)
    _unknown(notes, where, item, known)
    if "id" not in item:
        raise ValidationError(f"{path}.id", "required field is missing")
    ident = _uint(f"{path}.id", item["id"])
    if ident in ids:
        raise ValidationError(f"{path}.id", f"duplicate {what} id {ident}")
    ids.add(ident)
    return item, ident


def _unknown(notes: _Notes, path: str, item: Mapping[str, Any], known: set[str]) -> None:
    for key in item:
        if key not in known:
            where = re.sub(r"\[\d+\]", "[]", f"{path}.{key}" if path else key)
            notes.add(f"unknown {where}", f"{where}: not a VROOM field vrpkit reads, ignored")


# -- input -> problem ----------------------------------------------------------------------------------------


class _Places:
    """The distinct places of a VROOM input: location indices (with matrices) or coordinates (without)."""

    def __init__(self, with_matrix: bool) -> None:
        self.with_matrix = with_matrix
        self.keys: list[Any] = []
        self.index: dict[Any, int] = {}
        self.coords: dict[int, tuple[float, float]] = {}

    def place(self, path: str, item: Mapping[str, Any], index_key: str = "location_index",
              coord_key: str = "location") -> int | None:
        """The place of ``item`` (None when it gives neither key)."""
        coords = None
        if coord_key in item:
            value = item[coord_key]
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)):
                raise ValidationError(f"{path}.{coord_key}", f"expected [lon, lat], got {_shown(value)}")
            coords = (float(value[0]), float(value[1]))
        if self.with_matrix:
            if index_key not in item:
                if coords is None:
                    return None
                raise ValidationError(f"{path}.{index_key}", "required field is missing (the input has "
                                                             "matrices: places are matrix indices)")
            key: Any = _uint(f"{path}.{index_key}", item[index_key])
        else:
            if index_key in item:
                raise ValidationError(f"{path}.{index_key}", "the input has no matrices to index")
            if coords is None:
                return None
            key = coords
        if key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)
        p = self.index[key]
        if coords is not None:
            self.coords.setdefault(p, coords)
        return p


def _task_fields(path: str, item: Mapping[str, Any], places: _Places) -> dict[str, Any]:
    if "id" not in item:
        raise ValidationError(f"{path}.id", "required field is missing")
    place = places.place(path, item)
    if place is None:
        raise ValidationError(f"{path}.location_index" if places.with_matrix else f"{path}.location",
                              "required field is missing")
    return {
        "id": _uint(f"{path}.id", item["id"]),
        "place": place,
        "setup": _uint(f"{path}.setup", item.get("setup", 0)),
        "service": _uint(f"{path}.service", item.get("service", 0)),
        "time_windows": _windows(f"{path}.time_windows", item["time_windows"]) if "time_windows" in item
        else ((0.0, INF),),
    }


def _matrix(path: str, value: Any, n_places: int, needed: int) -> np.ndarray:
    rows = _list(path, value)
    try:
        array = np.array(rows, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(path, "expected a square array of numbers") from None
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValidationError(path, f"expected a square array, got shape {'x'.join(map(str, array.shape))}")
    if array.shape[0] < needed:
        raise ValidationError(path, f"{array.shape[0]}x{array.shape[0]}, but location_index {needed - 1} is used")
    bad = np.argwhere(~np.isfinite(array) | (array < 0) | (array > MAX_VALUE))
    if len(bad):
        i, j = bad[0]
        raise ValidationError(f"{path}[{i}][{j}]", f"{array[i, j]:g} is not a non-negative number up to 1e15")
    return array


def read_vroom_input(path: Any) -> Problem:
    """Read a VROOM input file (see the module docstring); warnings for what is not mapped exactly."""
    from pathlib import Path

    from vrpkit.io.json import load_json

    path = Path(path)
    return problem_from_vroom(load_json(path), name=path.stem)


def problem_from_vroom(data: Any, *, name: str = "vroom") -> Problem:
    """The problem of a VROOM input (a dict as parsed from its JSON); see the module docstring."""
    notes = _Notes()
    data = _obj("", data)
    _unknown(notes, "", data, _TOP)
    vehicles_in = _list("vehicles", data.get("vehicles"))
    if not vehicles_in:
        raise ValidationError("vehicles", "an empty list (VROOM needs a vehicle)")
    jobs_in = _list("jobs", data.get("jobs", []))
    ships_in = _list("shipments", data.get("shipments", []))
    matrices = data.get("matrices")
    if "matrix" in data:
        if matrices is not None:
            raise ValidationError("matrix", "give matrices (per profile) or the old matrix, not both")
        notes.add("matrix", "matrix: VROOM's old top-level matrix read as the durations of every profile")
        matrices = {"car": {"durations": data["matrix"]}}
    places = _Places(with_matrix=matrices is not None)

    # amounts: one length everywhere
    dims: list[Any] = [None, ""]

    def amount(path: str, value: Any) -> tuple[int, ...]:
        values = _amount(path, value)
        if dims[0] is None:
            dims[0], dims[1] = len(values), path
        elif len(values) != dims[0]:
            raise ValidationError(path, f"{len(values)} values, but {dims[1]} has {dims[0]}")
        return values

    jobs = []
    seen: dict[str, set[int]] = {k: set() for k in _KINDS}
    for k, item in enumerate(jobs_in):
        path = f"jobs[{k}]"
        item = _obj(path, item)
        _unknown(notes, "jobs[]", item, _JOB)
        job = _task_fields(path, item, places)
        if job["id"] in seen["job"]:
            raise ValidationError(f"{path}.id", f"duplicate job id {job['id']}")
        seen["job"].add(job["id"])
        job["delivery"] = amount(f"{path}.delivery", item["delivery"]) if "delivery" in item else None
        job["pickup"] = amount(f"{path}.pickup", item["pickup"]) if "pickup" in item else None
        job["skills"] = _skills(f"{path}.skills", item.get("skills", []))
        job["priority"] = _uint(f"{path}.priority", item.get("priority", 0), 100)
        jobs.append(job)
    ships = []
    for k, item in enumerate(ships_in):
        path = f"shipments[{k}]"
        item = _obj(path, item)
        _unknown(notes, "shipments[]", item, _SHIPMENT)
        legs = []
        for role in ("pickup", "delivery"):
            if role not in item:
                raise ValidationError(f"{path}.{role}", "required field is missing")
            step = _obj(f"{path}.{role}", item[role])
            _unknown(notes, f"shipments[].{role}", step, _STEP)
            leg = _task_fields(f"{path}.{role}", step, places)
            if leg["id"] in seen[role]:
                raise ValidationError(f"{path}.{role}.id", f"duplicate {role} id {leg['id']}")
            seen[role].add(leg["id"])
            legs.append(leg)
        ships.append({"pickup": legs[0], "delivery": legs[1],
                      "amount": amount(f"{path}.amount", item["amount"]) if "amount" in item else None,
                      "skills": _skills(f"{path}.skills", item.get("skills", [])),
                      "priority": _uint(f"{path}.priority", item.get("priority", 0), 100)})

    vehicles = []
    vids: set[int] = set()
    for k, item in enumerate(vehicles_in):
        path = f"vehicles[{k}]"
        item, vid = _entry(notes, path, "vehicles[]", item, _VEHICLE, vids, "vehicle")
        start = places.place(path, item, "start_index", "start")
        end = places.place(path, item, "end_index", "end")
        if start is None and end is None:
            raise ValidationError(path, "no start and no end (give start_index/start or end_index/end)")
        costs = _obj(f"{path}.costs", item.get("costs", {}))
        _unknown(notes, "vehicles[].costs", costs, _COSTS)
        breaks = []
        bids: set[int] = set()
        for b, brk in enumerate(_list(f"{path}.breaks", item.get("breaks", []))):
            bpath = f"{path}.breaks[{b}]"
            brk, bid = _entry(notes, bpath, "vehicles[].breaks[]", brk, _BREAK, bids, "break")
            if "max_load" in brk:
                _amount(f"{bpath}.max_load", brk["max_load"])
                notes.add("max_load", "vehicles[].breaks[].max_load: not mapped (vrpkit's breaks have no load "
                                      "limit)")
            windows = _windows(f"{bpath}.time_windows", brk["time_windows"]) if "time_windows" in brk \
                else ((0.0, INF),)
            breaks.append(Break(f"b{bid}", windows, float(_uint(f"{bpath}.service", brk.get("service", 0)))))
        if "steps" in item:
            _list(f"{path}.steps", item["steps"])
            notes.add("steps", "vehicles[].steps: VROOM's initial routes are not read (give a plan to vrpkit "
                               "solve --initial)")
        profile = item.get("profile", "car")
        if not isinstance(profile, str):
            raise ValidationError(f"{path}.profile", f"expected a string, got {_shown(profile)}")
        vehicles.append({
            "id": vid, "start": start, "end": end, "profile": profile,
            "capacity": amount(f"{path}.capacity", item["capacity"]) if "capacity" in item else None,
            "skills": _skills(f"{path}.skills", item.get("skills", [])),
            "shift": _window(f"{path}.time_window", item["time_window"]) if "time_window" in item
            else (0.0, INF),
            "breaks": tuple(breaks),
            "fixed": _number(f"{path}.costs.fixed", costs.get("fixed", 0)),
            "per_hour": _number(f"{path}.costs.per_hour", costs.get("per_hour", 3600)),
            "per_km": _number(f"{path}.costs.per_km", costs.get("per_km", 0)),
            "speed_factor": _number(f"{path}.speed_factor", item.get("speed_factor", 1.0)),
            "max_tasks": _uint(f"{path}.max_tasks", item["max_tasks"]) if "max_tasks" in item else None,
            "max_travel_time": _uint(f"{path}.max_travel_time", item["max_travel_time"])
            if "max_travel_time" in item else None,
            "max_distance": _uint(f"{path}.max_distance", item["max_distance"]) if "max_distance" in item
            else None,
        })
        if vehicles[-1]["speed_factor"] <= 0:
            raise ValidationError(f"{path}.speed_factor", "0 is not a positive number")

    n_dims = dims[0] or 0
    for k, v in enumerate(vehicles):
        if v["capacity"] is None and n_dims:
            raise ValidationError(f"vehicles[{k}].capacity",
                                  f"required field is missing ({dims[1]} has {n_dims} values)")
        v["capacity"] = v["capacity"] or ()
    zero = (0,) * n_dims
    for job in jobs:
        job["delivery"] = job["delivery"] or zero
        job["pickup"] = job["pickup"] or zero
    for ship in ships:
        ship["amount"] = ship["amount"] or zero

    dist, dur = _place_matrices(matrices, places, vehicles, notes)
    return _build(name, jobs, ships, vehicles, places, dist, dur, n_dims, notes)


def _place_matrices(matrices: Any, places: _Places, vehicles: list[dict[str, Any]], notes: _Notes
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Distance and duration matrices over the places (None, None: the haversine provider computes them)."""
    profiles = list(dict.fromkeys(v["profile"] for v in vehicles))
    if len(profiles) > 1:
        notes.add("profiles", f"vehicles[].profile: vrpkit has one matrix; the vehicles of profiles "
                              f"{', '.join(profiles[1:])} use {profiles[0]}'s")
    factors = list(dict.fromkeys(v["speed_factor"] for v in vehicles))
    factor = factors[0]
    if len(factors) > 1:
        notes.add("speed", f"vehicles[].speed_factor: vrpkit has one duration matrix; every vehicle uses "
                           f"{factor:g} (vehicles[0]'s)")
    if matrices is None:
        notes.add("osrm", "no matrices: VROOM would ask a routing engine (OSRM); vrpkit uses great-circle "
                          f"distances (metres) and durations at {HAVERSINE_SPEED:g} km/h (set the problem's "
                          "matrix provider to osrm for roads)")
        if any(p not in places.coords for p in range(len(places.keys))):
            raise ValidationError("matrices", "required without location coordinates")
        if factor != 1.0 or any(v["start"] is None for v in vehicles):  # "anywhere" has no coordinates
            from vrpkit.matrix import haversine_matrix

            lonlat = np.array([places.coords[p] for p in range(len(places.keys))]).reshape(-1, 2)
            d = haversine_matrix(lonlat)
            return d, d / (HAVERSINE_SPEED / 3.6) / factor
        return None, None
    matrices = _obj("matrices", matrices)
    profile = profiles[0]
    if profile not in matrices:
        raise ValidationError(f"matrices.{profile}", f"required field is missing (vehicles use profile {profile})")
    spec = _obj(f"matrices.{profile}", matrices[profile])
    for key in spec:
        if key not in ("durations", "distances", "costs"):
            notes.add(f"mkey {key}", f"matrices.{profile}.{key}: not a VROOM matrix, ignored")
    if "durations" not in spec:
        raise ValidationError(f"matrices.{profile}.durations", "required field is missing")
    needed = max((k for k in places.keys), default=-1) + 1
    n = len(places.keys)
    keys = np.array(places.keys, dtype=np.int64)
    full = _matrix(f"matrices.{profile}.durations", spec["durations"], n, needed)
    dur = full[np.ix_(keys, keys)] if n else np.zeros((0, 0))
    if "distances" in spec:
        full = _matrix(f"matrices.{profile}.distances", spec["distances"], n, needed)
        dist = full[np.ix_(keys, keys)] if n else np.zeros((0, 0))
    else:
        notes.add("distances", f"matrices.{profile}.distances: absent; vrpkit's distances are the durations "
                               "(VROOM reports no distance)")
        dist = dur
    if "costs" in spec:
        notes.add("costs", f"matrices.{profile}.costs: not used; vrpkit costs per_hour/3600 x duration + "
                           "per_km/1000 x distance")
    if factor != 1.0:
        notes.add("speed1", f"vehicles[].speed_factor {factor:g}: durations divided by it (VROOM rounds each "
                            "to an integer, vrpkit does not)")
        dur = dur / factor
        if dist is not dur and "distances" not in spec:
            dist = dur
    return dist, dur


def _build(name: str, jobs: list[dict[str, Any]], ships: list[dict[str, Any]], vehicles: list[dict[str, Any]],
           places: _Places, dist: np.ndarray | None, dur: np.ndarray | None, n_dims: int, notes: _Notes
           ) -> Problem:
    # depots: the vehicles' start and end places, and "anywhere" for vehicles without a start
    depot_places: list[int | None] = []
    for v in vehicles:
        for key in ("start", "end"):
            p = v[key]
            if key == "start" and p is None:
                p = -1
            elif p is None:
                continue
            if p not in depot_places:
                depot_places.append(p)
    depot_id: dict[int | None, str] = {}
    for p in depot_places:
        depot_id[p] = ANYWHERE if p == -1 else f"depot{len(depot_id) - (-1 in depot_id)}"
    lonlat = places.coords
    coords = "lonlat" if lonlat else "planar"

    def loc(p: int | None) -> tuple[float, float] | None:
        return None if p is None or p == -1 else lonlat.get(p)

    depots = [Depot(depot_id[p], loc(p)) for p in depot_places]

    # setup folded into service: exact when no other task and no vehicle start is at the same place
    task_places = [j["place"] for j in jobs] + [s[r]["place"] for s in ships for r in ("pickup", "delivery")]
    counts: dict[int, int] = {}
    for p in task_places:
        counts[p] = counts.get(p, 0) + 1
    starts = {v["start"] for v in vehicles}
    inexact = [t for t in [*jobs, *(s[r] for s in ships for r in ("pickup", "delivery"))]
               if t["setup"] and (counts[t["place"]] > 1 or t["place"] in starts)]
    if inexact:
        notes.add("setup", f"setup: added to the service of {len(inexact)} task(s) that share their place with "
                           "another task or a vehicle start; VROOM skips a setup after a step at the same place, "
                           "vrpkit always counts it")

    max_tasks = any(v["max_tasks"] is not None for v in vehicles)
    n_tasks = len(jobs) + 2 * len(ships)
    if max_tasks and ships:
        notes.add("max_tasks", "vehicles[].max_tasks: with shipments vrpkit counts a shipment's two tasks only "
                               "while it is on board (a capacity dimension), a weaker bound than VROOM's")
    extra = (1,) if max_tasks else ()
    clients: list[Client] = []
    prizes_of: list[tuple[int, int]] = []  # (tasks, priority) per client
    node_places: list[int] = [-1 if p == -1 else p for p in depot_places]
    for j in jobs:
        clients.append(Client(
            id=f"j{j['id']}", location=loc(j["place"]), delivery=j["delivery"] + extra,
            pickup=j["pickup"] + (0,) * len(extra), service_time=float(j["service"] + j["setup"]),
            time_windows=j["time_windows"], required=False, skills=j["skills"]))
        prizes_of.append((1, j["priority"]))
        node_places.append(j["place"])
    shipments = []
    for s in ships:
        pick, drop = s["pickup"], s["delivery"]
        ids = (f"p{pick['id']}", f"d{drop['id']}")
        for leg, cid, tasks in ((pick, ids[0], 2), (drop, ids[1], 0)):
            clients.append(Client(
                id=cid, location=loc(leg["place"]), service_time=float(leg["service"] + leg["setup"]),
                time_windows=leg["time_windows"], required=False, skills=s["skills"]))
            prizes_of.append((tasks, s["priority"]))
            node_places.append(leg["place"])
        shipments.append(Shipment(f"s{pick['id']}", ids[0], ids[1], amount=s["amount"] + (2,) * len(extra)))

    types = []
    unbounded = n_tasks if max_tasks else 0
    for v in vehicles:
        capacity = v["capacity"] + ((unbounded if v["max_tasks"] is None else v["max_tasks"],) if max_tasks
                                    else ())
        types.append(VehicleType(
            id=f"v{v['id']}", count=1, capacity=capacity, start_depot=depot_id[-1 if v["start"] is None
                                                                                else v["start"]],
            end_depot=None if v["end"] is None else depot_id[v["end"]], shift=v["shift"],
            max_duration=INF if v["max_travel_time"] is None else float(v["max_travel_time"]),
            max_distance=INF if v["max_distance"] is None else float(v["max_distance"]),
            fixed_cost=v["fixed"], cost_per_distance=v["per_km"] / 1000, cost_per_duration=v["per_hour"] / 3600,
            skills=v["skills"], breaks=v["breaks"]))
    if any(v["breaks"] for v in vehicles):
        notes.add("breaks", "vehicles[].breaks: VROOM may take a break during a leg (driving before and after "
                            "it); vrpkit's breaks are taken at a stop, so a VROOM plan can run later by vrpkit's "
                            "evaluator")
    if any(v["max_travel_time"] is not None for v in vehicles):
        notes.add("max_travel_time", "vehicles[].max_travel_time: mapped to max_duration, which also counts "
                                     "service and waiting (stricter than VROOM's travel time)")
    if any(v["per_hour"] for v in vehicles):
        notes.add("per_hour", "vehicles[].costs.per_hour: VROOM charges it for travel time only; vrpkit's "
                              "cost_per_duration (per_hour/3600) charges the route's whole duration, service and "
                              "waiting included")

    kwargs: dict[str, Any] = {}
    if dist is not None:
        assert dur is not None
        ext_d = np.zeros((len(places.keys) + 1,) * 2)  # the last place: "anywhere", 0 away from all
        ext_t = np.zeros_like(ext_d)
        ext_d[:-1, :-1] = dist
        ext_t[:-1, :-1] = dur
        idx = np.array(node_places, dtype=np.int64)  # -1: the last place
        kwargs = {"matrix": {"provider": "explicit"}, "distance": ext_d[np.ix_(idx, idx)],
                  "duration": ext_t[np.ix_(idx, idx)]}
    problem = Problem(name, tuple(depots), tuple(clients), tuple(types), coordinates=coords,
                      shipments=tuple(shipments), **kwargs)
    unit = prize_unit(problem)
    k = n_tasks + 1
    capped = 0
    new = []
    for c, (tasks, priority) in zip(problem.clients, prizes_of, strict=True):
        prize = unit * tasks * (1 + k * priority)
        if prize > MAX_VALUE:
            prize, capped = MAX_VALUE, capped + 1
        new.append(dataclasses.replace(c, prize=float(prize)))
    if capped:
        notes.add("cap", f"priority: {capped} prize(s) capped at 1e15; VROOM's order of priorities is not kept "
                         "exactly for them")
    notes.emit()
    return problem.replace(clients=tuple(new))


def prize_unit(problem: Problem) -> float:
    """``U``, the prize of one task of priority 0 (see the module docstring): the power of ten above the sum
    over vehicle types of ``count x (fixed_cost + cost_per_distance x longest_route + cost_per_duration x
    horizon)``, a bound on the cost of any plan. Prizes do not enter it, so it is the same before and after."""
    total = 0.0
    for vt in problem.vehicle_types:
        count = problem.n_clients if vt.count is None else min(vt.count, problem.n_clients)
        total += count * (vt.fixed_cost + vt.cost_per_distance * problem.longest_route
                          + vt.cost_per_duration * problem.horizon)
    return float(10 ** math.ceil(math.log10(max(total, 1.0) + 1)))


# -- problem -> input ----------------------------------------------------------------------------------------


def _int_of(text: str, prefix: str) -> int | None:
    m = re.fullmatch(rf"{prefix}(\d+)", text)
    return int(m.group(1)) if m else None


def task_ids(problem: Problem) -> list[tuple[str, int]]:
    """VROOM's (kind, id) of each client: ``job``, ``pickup`` or ``delivery``, and the integer of the id
    (``j7`` or ``7`` -> 7; when some id has none, or they repeat, 1, 2, ... in order)."""
    partner = problem.partner
    pickup = problem.is_pickup_stop
    kinds = ["job" if partner[i] < 0 else ("pickup" if pickup[i] else "delivery")
             for i in range(problem.n_clients)]
    ids: list[int | None] = [_int_of(c.id, f"{_PREFIX[k]}?") for c, k in zip(problem.clients, kinds, strict=True)]
    for kind in _KINDS:
        mine = [ids[i] for i in range(len(ids)) if kinds[i] == kind]
        if None in mine or len(set(mine)) != len(mine):
            n = 0
            for i in range(len(ids)):
                if kinds[i] == kind:
                    n += 1
                    ids[i] = n
    return [(k, int(i)) for k, i in zip(kinds, ids, strict=True)]  # type: ignore[arg-type]


def vehicle_slots(problem: Problem) -> list[tuple[int, int]]:
    """VROOM's vehicles: (vehicle id, vehicle type index), one per vehicle of each type (an unlimited count:
    one per client). A type ``v7`` of count 1 is vehicle 7; the others are numbered after the largest such."""
    fixed = {t: _int_of(vt.id, "v") for t, vt in enumerate(problem.vehicle_types) if vt.count == 1}
    fixed = {t: i for t, i in fixed.items() if i is not None}
    if len(set(fixed.values())) != len(fixed):
        fixed = {}
    out = []
    n = max(fixed.values(), default=0)
    for t, vt in enumerate(problem.vehicle_types):
        if t in fixed:
            out.append((fixed[t], t))
            continue
        for _ in range(max(1, problem.n_clients) if vt.count is None else vt.count):
            n += 1
            out.append((n, t))
    return out


def break_ids(vt: VehicleType) -> list[int]:
    """VROOM's ids of a vehicle type's breaks (``b3`` -> 3; else 1, 2, ...)."""
    ids = [_int_of(b.id, "b?") for b in vt.breaks]
    if None in ids or len(set(ids)) != len(ids):
        return list(range(1, len(vt.breaks) + 1))
    return ids  # type: ignore[return-value]


def _time(value: float, notes: _Notes, what: str) -> int:
    if not math.isfinite(value) or value >= MAX_TIME:
        if math.isfinite(value):
            notes.add(f"big {what}", f"{what}: values beyond {MAX_TIME} (VROOM's largest time) written as it")
        return MAX_TIME
    out = round(value)
    if abs(out - value) > 1e-9:
        notes.add(f"round {what}", f"{what}: rounded to integers (VROOM's times are integers)")
    return int(out)


def _windows_out(windows: Sequence[tuple[float, float]], notes: _Notes, what: str) -> list[list[int]] | None:
    if tuple(windows) == ((0.0, INF),):
        return None
    return [[_time(s, notes, what), _time(e, notes, what)] for s, e in windows]


def problem_to_vroom(problem: Problem) -> dict[str, Any]:
    """VROOM's input for ``problem`` (see the module docstring); warnings for what VROOM cannot express."""
    notes = _Notes()
    nd = problem.n_depots
    ids = task_ids(problem)
    dims = problem.n_dims if any(vt.capacity for vt in problem.vehicle_types) or problem.delivery.any() \
        or problem.pickup.any() or problem.shipments else 0
    dist = _int_matrix(problem.distance, notes, "distances")
    dur = _int_matrix(problem.duration, notes, "durations")
    lonlat = problem.coordinates == "lonlat"

    skill_names = sorted({s for c in problem.clients for s in c.skills}
                         | {s for vt in problem.vehicle_types for s in vt.skills})
    if all(s.isdigit() for s in skill_names):
        skill_no = {s: int(s) for s in skill_names}
    else:
        skill_no = {s: k for k, s in enumerate(skill_names)}
        notes.add("skills", "skills: written as integers: " + ", ".join(f"{s}={k}" for s, k in skill_no.items()))

    unit = prize_unit(problem)

    def priority(i: int, tasks: int) -> int:
        if problem.clients[i].required:
            notes.add("required", "required clients: VROOM may leave any task unassigned (vrpkit would report "
                                  "it missing)")
            return 0
        p, exact = _priority(problem, i, tasks, unit)
        if not exact:
            notes.add("prize", "prizes: not of vrpkit's VROOM form (U x tasks x (1 + K x priority)); written as "
                               "the nearest priority in 0..100")
        return p

    def task(i: int) -> dict[str, Any]:
        c = problem.clients[i]
        tid = ids[i][1]
        item: dict[str, Any] = {"id": tid, "location_index": nd + i}
        if lonlat and c.location is not None:
            item["location"] = list(c.location)
        if c.service_time:
            item["service"] = _time(c.service_time, notes, "service times")
        if (w := _windows_out(c.time_windows, notes, "time windows")) is not None:
            item["time_windows"] = w
        if c.release_time:
            notes.add("release", "clients[].release_time: VROOM has no release times, left out")
        return item

    jobs = []
    for i, c in enumerate(problem.clients):
        if problem.partner[i] >= 0:
            continue
        item = task(i)
        for key, values in (("delivery", problem.delivery[i]), ("pickup", problem.pickup[i])):
            if dims and values.any():
                item[key] = [int(x) for x in values]
        if c.skills:
            item["skills"] = [skill_no[s] for s in c.skills]
        if (p := priority(i, 1)):
            item["priority"] = p
        jobs.append(item)
    shipments = []
    ci = problem.client_index
    for s in problem.shipments:
        a, b = ci[s.pickup], ci[s.delivery]
        item = {"pickup": task(a), "delivery": task(b)}
        if dims:
            item["amount"] = [int(x) for x in (s.amount or (0,) * dims)]
        skills = list(dict.fromkeys(problem.clients[a].skills + problem.clients[b].skills))
        if set(problem.clients[a].skills) != set(problem.clients[b].skills):
            notes.add("shipskills", "shipments: VROOM has one skill list per shipment: its stops' skills joined")
        if skills:
            item["skills"] = [skill_no[x] for x in skills]
        if (p := priority(a, 2)):
            item["priority"] = p
        if math.isfinite(s.max_ride_time):
            notes.add("ride", "shipments[].max_ride_time: VROOM has no ride-time limit, left out")
        shipments.append(item)

    total = int(problem.delivery.sum() + problem.pickup.sum()
                + sum(sum(s.amount) for s in problem.shipments)) or 1
    vehicles = []
    for vid, t in vehicle_slots(problem):
        vt = problem.vehicle_types[t]
        s, e = problem.depot_index[vt.start_depot], vt.end_depot
        item = {"id": vid}
        if problem.distance[s].any() or problem.distance[:, s].any() or problem.duration[s].any() \
                or problem.duration[:, s].any() or problem.depots[s].location is not None:
            item["start_index"] = s
            if lonlat and problem.depots[s].location is not None:
                item["start"] = list(problem.depots[s].location)
        # else: a start 0 away from everything (such as "anywhere"): VROOM's vehicle without a start
        if e is not None:
            item["end_index"] = problem.depot_index[e]
            if lonlat and problem.depots[problem.depot_index[e]].location is not None:
                item["end"] = list(problem.depots[problem.depot_index[e]].location)
        if dims:
            item["capacity"] = [int(x) if math.isfinite(x) else total for x in problem.capacity[t]]
        if vt.skills:
            item["skills"] = [skill_no[x] for x in vt.skills]
        if vt.shift != (0.0, INF):
            item["time_window"] = [_time(vt.shift[0], notes, "shifts"), _time(vt.shift[1], notes, "shifts")]
        if vt.breaks:
            item["breaks"] = []
            for bid, b in zip(break_ids(vt), vt.breaks, strict=True):
                brk: dict[str, Any] = {"id": bid, "service": _time(b.duration, notes, "break durations")}
                if (w := _windows_out(b.time_windows, notes, "break windows")) is not None:
                    brk["time_windows"] = w
                item["breaks"].append(brk)
        item["costs"] = {"fixed": _cost(vt.fixed_cost, 1, notes, "fixed"),
                         "per_hour": _cost(vt.cost_per_duration, 3600, notes, "per_hour"),
                         "per_km": _cost(vt.cost_per_distance, 1000, notes, "per_km")}
        if math.isfinite(vt.max_duration):
            item["max_travel_time"] = _time(vt.max_duration, notes, "max_duration")
            notes.add("maxdur", "vehicle_types[].max_duration: written as max_travel_time, which leaves service "
                                "and waiting out (weaker)")
        if math.isfinite(vt.max_distance):
            item["max_distance"] = _time(vt.max_distance, notes, "max_distance")
        if vt.reload_depots:
            notes.add("reload", "vehicle_types[].reload_depots: VROOM has no reloads (multi-trip), left out")
        if vt.count is None:
            notes.add("count", "vehicle_types[].count unlimited: one VROOM vehicle per client")
        vehicles.append(item)
    for d in problem.depots:
        if d.time_window != (0.0, INF):
            notes.add("depotw", "depots[].time_window: VROOM has no depot hours, left out (shifts are kept)")
        if d.service_time:
            notes.add("depots", "depots[].service_time: VROOM has no reloads, left out")
    out: dict[str, Any] = {"vehicles": vehicles}
    if jobs:
        out["jobs"] = jobs
    if shipments:
        out["shipments"] = shipments
    out["matrices"] = {"car": {"durations": dur, "distances": dist}}
    notes.emit()
    return out


def _priority(problem: Problem, i: int, tasks: int, unit: float) -> tuple[int, bool]:
    """The VROOM priority of client ``i``'s prize (``tasks``: 1 for a job, 2 for a shipment's pickup stop) and
    whether the prize is exactly of the form ``unit x tasks x (1 + K x priority)``."""
    p = (problem.clients[i].prize / (unit * tasks) - 1) / (problem.n_clients + 1)
    out = int(min(100, max(0, round(p))))
    return out, abs(out - p) <= 1e-6


def _int_matrix(m: np.ndarray, notes: _Notes, what: str) -> list[list[int]]:
    r = np.rint(m)
    if np.abs(r - m).max(initial=0.0) > 1e-9:
        notes.add(f"m{what}", f"matrices.car.{what}: rounded to integers (VROOM's matrices are integers)")
    if r.max(initial=0.0) > MAX_TIME:
        notes.add(f"M{what}", f"matrices.car.{what}: values beyond {MAX_TIME} (VROOM's largest) written as it")
        r = np.minimum(r, MAX_TIME)
    return r.astype(np.int64).tolist()


def _cost(value: float, scale: int, notes: _Notes, what: str) -> int:
    x = value * scale
    out = round(x)
    if abs(out - x) > 1e-6 * max(1.0, abs(x)):
        notes.add(f"cost {what}", f"costs.{what}: rounded to an integer (VROOM's costs are integers)")
    return int(out)


def vroom_cost(problem: Problem, evaluation: Any) -> float:
    """VROOM's cost of an evaluated plan: per route ``fixed + per_hour/3600 x travel time + per_km/1000 x
    distance`` (vrpkit's ``fixed_cost``, ``cost_per_duration`` and ``cost_per_distance``), travel time being the
    sum of the legs' durations (no service, no waiting), and nothing for unassigned tasks."""
    total = 0.0
    for r in evaluation.routes:
        vt = problem.vehicle_types[r.vehicle_type]
        nodes = [r.start_depot, *(problem.n_depots + c for c in r.clients)]
        if r.end_depot is not None:
            nodes.append(r.end_depot)
        travel = float(problem.duration[nodes[:-1], nodes[1:]].sum())
        total += vt.fixed_cost + vt.cost_per_duration * travel + vt.cost_per_distance * r.distance
    return total


# -- plan -> output ------------------------------------------------------------------------------------------


_CAUSE = {"time_window": "delay", "capacity": "load", "skills": "skills", "shipment_order": "precedence",
          "shipment_split": "precedence", "break": "missing_break", "max_distance": "max_distance",
          "max_duration": "max_travel_time", "ride_time": "max_travel_time"}


def plan_to_vroom(problem: Problem, evaluation: Any, *, solving_ms: int = 0) -> dict[str, Any]:
    """VROOM's output for an evaluated plan (see the module docstring)."""
    slots: dict[int, list[int]] = {}
    for vid, t in vehicle_slots(problem):
        slots.setdefault(t, []).append(vid)
    spare = max((v for pool in slots.values() for v in pool), default=0)
    out = _Output(problem)
    used: dict[int, int] = {}
    routes = []
    for r in evaluation.routes:
        vt = problem.vehicle_types[r.vehicle_type]
        if getattr(r, "reloads", ()):
            raise InputError(f"a route of vehicle type {vt.id} reloads; VROOM's output has no reload step")
        n = used.get(r.vehicle_type, 0)
        used[r.vehicle_type] = n + 1
        pool = slots.get(r.vehicle_type, [])
        if n < len(pool):
            vid = pool[n]
        else:  # more routes than vehicles (a fleet_size violation): numbered after the others
            spare += 1
            vid = spare
        routes.append(out.route(r, vid))
    nd = problem.n_depots
    unassigned = [{"id": out.ids[i][1], "type": out.ids[i][0], **out.place(nd + i)}
                  for i in range(problem.n_clients) if i not in out.visited]
    violations = [{"cause": _CAUSE.get(v.constraint, v.constraint), "amount": v.amount,
                   **({"client": v.client} if v.client is not None else {})} for v in evaluation.violations]
    dims = problem.n_dims
    summary: dict[str, Any] = {"cost": sum(r["cost"] for r in routes), "routes": len(routes),
                               "unassigned": len(unassigned)}
    for key in ("delivery", "amount", "pickup"):
        summary[key] = [sum(r[key][k] for r in routes) for k in range(dims)]
    for key in ("setup", "service", "duration", "waiting_time", "priority", "distance"):
        summary[key] = sum(r[key] for r in routes)
    summary["violations"] = violations
    summary["computing_times"] = {"loading": 0, "solving": int(solving_ms), "routing": 0}
    return {"code": 0, "summary": summary, "unassigned": unassigned, "routes": routes}


class _Output:
    """What :func:`plan_to_vroom` needs of the problem, and the clients its routes visit."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.ids = task_ids(problem)
        self.unit = prize_unit(problem)
        self.visited: set[int] = set()
        self.zero = [0] * problem.n_dims
        self.ship = {problem.client_index[s.pickup]: s for s in problem.shipments}
        self.ship.update({problem.client_index[s.delivery]: s for s in problem.shipments})

    def place(self, node: int) -> dict[str, Any]:
        p = self.problem
        out: dict[str, Any] = {"location_index": node}
        where = p.depots[node].location if node < p.n_depots else p.clients[node - p.n_depots].location
        if p.coordinates == "lonlat" and where is not None:
            out["location"] = list(where)
        return out

    def amounts(self, i: int) -> tuple[list[int], list[int]]:
        """What VROOM counts as the delivery and the pickup of client ``i`` (a shipment's amount, once)."""
        if i in self.ship:
            a = [int(x) for x in self.ship[i].amount] or self.zero
            return (a, a) if self.ids[i][0] == "pickup" else (self.zero, self.zero)
        return [int(x) for x in self.problem.delivery[i]], [int(x) for x in self.problem.pickup[i]]

    def route(self, r: Any, vid: int) -> dict[str, Any]:
        p = self.problem
        nd = p.n_depots
        vt = p.vehicle_types[r.vehicle_type]
        bids = break_ids(vt)
        events: list[tuple[int, int, Any]] = [(pos, 1, k) for k, pos in enumerate(range(len(r.clients)))]
        events += [(position, 0, (b, start, end)) for position, b, start, end in (getattr(r, "breaks", ()) or ())]
        events.sort(key=lambda e: (e[0], e[1], e[2][1] if e[1] == 0 else 0))
        first_break = min((e[2][1] for e in events if e[1] == 0 and e[0] == 0), default=r.start_time)
        travel = length = service = waiting = 0.0
        priority = 0
        delivery, pickup = list(self.zero), list(self.zero)
        load = r.start_load
        steps = [self._step("start", None, r.start_depot, min(r.start_time, first_break), 0.0, 0.0, 0.0, load,
                            0.0, 0.0)]
        prev, free = r.start_depot, min(r.start_time, first_break)
        for _, kind, item in events:
            if kind == 0:
                b, start, end = item
                wait = max(0.0, start - free)
                steps.append(self._step("break", bids[b], None, free, wait, end - start, 0.0, load, travel,
                                        length))
                waiting += wait
                service += end - start
                free = end
                continue
            pos, c = item, r.clients[item]
            node = nd + c
            travel += float(p.duration[prev, node])
            length += float(p.distance[prev, node])
            what, tid = self.ids[c]
            self.visited.add(c)
            wait = max(0.0, r.start[pos] - r.arrival[pos])
            waiting += wait
            service += float(p.service_time[c])
            d, q = self.amounts(c)
            delivery = [x + y for x, y in zip(delivery, d, strict=True)]
            pickup = [x + y for x, y in zip(pickup, q, strict=True)]
            if not p.clients[c].required and what != "delivery":
                tasks = 2 if what == "pickup" else 1
                priority += tasks * _priority(p, c, tasks, self.unit)[0]
            load = r.load[pos]
            steps.append(self._step(what, tid, node, r.arrival[pos], wait, p.service_time[c], 0.0, load, travel,
                                    length))
            free, prev = r.departure[pos], node
        end_node = r.end_depot
        if end_node is not None:
            travel += float(p.duration[prev, end_node])
            length += float(p.distance[prev, end_node])
        steps.append(self._step("end", None, prev if end_node is None else end_node, r.end_time, 0.0, 0.0, 0.0,
                                load, travel, length))
        return {"vehicle": vid, "cost": _ri(r.cost), "delivery": delivery, "amount": delivery, "pickup": pickup,
                "setup": 0, "service": _ri(service), "duration": _ri(travel), "waiting_time": _ri(waiting),
                "priority": priority, "distance": _ri(length), "steps": steps, "violations": []}

    def _step(self, kind: str, tid: int | None, node: int | None, arrival: float, wait: float, service: float,
              setup: float, load: Sequence[float], travel: float, length: float) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind}
        if tid is not None:
            out["id"] = tid
        if node is not None:
            out.update(self.place(node))
        out.update({"setup": _ri(setup), "service": _ri(service), "waiting_time": _ri(wait),
                    "load": [_ri(x) for x in load], "arrival": _ri(arrival), "duration": _ri(travel),
                    "distance": _ri(length), "violations": []})
        return out


def _ri(x: float) -> int:
    return round(float(x)) if math.isfinite(x) else MAX_TIME


# -- output -> plan ------------------------------------------------------------------------------------------


def plan_from_vroom(problem: Problem, data: Any) -> dict[str, Any]:
    """The solution JSON (full form: client stops and the breaks where VROOM placed them) of a VROOM output for
    ``problem``. Vehicles, tasks and breaks are matched by VROOM id (see :func:`task_ids`,
    :func:`vehicle_slots`, :func:`break_ids`); unknown task ids come through as ids the evaluator reports."""
    data = _obj("", data)
    code = data.get("code", 0)
    if code != 0:
        raise InputError(f"VROOM output with error code {code}: {data.get('error', 'no message')}")
    by_task = {kt: problem.clients[i].id for i, kt in enumerate(task_ids(problem))}
    by_vehicle = dict(vehicle_slots(problem))
    routes = []
    for r, route in enumerate(_list("routes", data.get("routes"))):
        path = f"routes[{r}]"
        route = _obj(path, route)
        if "vehicle" not in route:
            raise ValidationError(f"{path}.vehicle", "required field is missing")
        vid = _uint(f"{path}.vehicle", route["vehicle"])
        if vid not in by_vehicle:
            raise ValidationError(f"{path}.vehicle", f"no vehicle {vid} in the problem")
        vt = problem.vehicle_types[by_vehicle[vid]]
        bids = {b: vt.breaks[k].id for k, b in enumerate(break_ids(vt))}
        stops: list[Any] = []
        for s, step in enumerate(_list(f"{path}.steps", route.get("steps"))):
            spath = f"{path}.steps[{s}]"
            step = _obj(spath, step)
            kind = step.get("type")
            if kind in ("start", "end"):
                continue
            if kind not in (*_KINDS, "break"):
                raise ValidationError(f"{spath}.type", f"{_shown(kind)} is not start, job, pickup, delivery, "
                                                       "break or end")
            sid = _uint(f"{spath}.id", step.get("id"))
            if kind == "break":
                if sid not in bids:
                    raise ValidationError(f"{spath}.id", f"vehicle {vid} has no break {sid}")
                stops.append({"type": "break", "id": bids[sid]})
            else:
                stops.append({"id": by_task.get((kind, sid), f"{kind} {sid}")})
        routes.append({"vehicle_type": vt.id, "stops": stops})
    return {"routes": routes}


__all__ = [
    "VroomWarning",
    "is_vroom_input",
    "is_vroom_output",
    "plan_from_vroom",
    "plan_to_vroom",
    "prize_unit",
    "problem_from_vroom",
    "problem_to_vroom",
    "read_vroom_input",
    "vroom_cost",
]
