"""CVRPLIB/VRPLIB ``.vrp``, Solomon ``.txt`` and ``.sol`` files.

Files are parsed by the ``vrplib`` package; this module maps what it returns onto a :class:`Problem` and
refuses, with an :class:`InputError` naming it, every feature it cannot map.

Ids. Every node is named by its 0-based position in the instance file, which is the number ``.sol`` files
use: for a ``.vrp`` that is the node id minus one (the depot of an X instance is ``"0"``, its clients ``"1"``
... ``"n-1"``); for a Solomon file it is the ``CUST NO.`` (depot ``"0"``, clients ``"1"`` ... ``"100"``).

Format. :func:`vrpkit.io.read_problem` tells the formats apart by content, whatever the suffix (PyVRP names
VRPLIB files ``.txt``, ``.tsp``, ``.gtsp``): ``KEY : value`` header lines or ``*_SECTION`` lines make a VRPLIB
file, ``VEHICLE`` and ``CUSTOMER`` blocks a Solomon file (see :func:`detect_format`). A ``.json`` file is JSON.

Conventions of the VRPLIB sets, by the file's ``TYPE`` (PyVRP/Instances and PyVRP's tests; see
``shared/data/README.md``). ``round`` is how ``EUC_2D`` edges are rounded (``round=`` overrides it: ``none``
unrounded, ``nearest`` integer, ``dimacs`` truncated to one decimal, ``exact`` nearest 0.001); the ``.sol``
cost of a set is the evaluator's cost times ``scale`` (:func:`sol_cost_scale`). Other types (``TSP``,
``VRPSPD``, none) get TSPLIB's rule: nearest integer, scale 1. Solomon files: unrounded, scale 1.

========  =========  =====  ============================================================================
TYPE      round      scale  notes
========  =========  =====  ============================================================================
CVRP      nearest    1      X set; fleet unlimited unless ``VEHICLES`` is given
VRPB      nearest    1      ``BACKHAUL_SECTION``: pickups, strict backhaul (linehaul clients first)
HFVRP     none       1      fixed and unit distance costs stored x100: divided by 100; costs to 2 decimals
                            (a ``.sol`` with an integer cost: ``exact`` and 100000, see below)
MDVRPTW   exact      1000   ``.sol`` costs are integers in units of 0.001
PCVRPTW   dimacs     10     ``.sol`` costs are integers in units of 0.1; prizes make clients optional
VRPTW     dimacs     1      Gehring-Homberger; ``.sol`` costs to one decimal
CVRPTW    dimacs     1      Solomon in VRPLIB form (PyVRP's ``RC208.vrp``); ``.sol`` costs to one decimal
MTVRPTW   dimacs     1      multi-trip with release times, PyVRP's ``C201R0.25.vrp`` (costs to 1 decimal)
MTVRPTWR  dimacs     10     PyVRP/Instances ``MTVRPTWR``: ``.sol`` costs are integers in units of 0.1
SDVRPTW   exact      1000   site-dependent (allowed clients), PyVRP/Instances ``SDVRPTW``
PDPTW     none       1      pickup and delivery (Li & Lim, PyVRP's ``SmallShipments``: explicit edges)
========  =========  =====  ============================================================================

PyVRP's own reader rounds nothing by default (``round_func="none"``); its tests and benchmarks read RC208
with ``dimacs``, X-n101-50-k13 (VRPB) with ``round`` and PR11A (MDVRPTW) with ``trunc``. PyVRP's ``dimacs`` and
``exact`` scale the data to integers (x10, x1000); here distances stay in the file's units, and the PCVRPTW and
MDVRPTW ``.sol`` files state integer costs in those scaled units, while the VRPTW files (BKS from CVRPLIB) and
PyVRP's ``RC208.sol`` state costs in the file's units. HFVRP ``.sol`` files come in two forms: 60 of the 100
in PyVRP/Instances state the cost in the original units to 2 decimals (unrounded distances), the other 40 and
PyVRP's ``tests/data/X115-HVRP.sol`` state PyVRP's own integer objective under ``exact`` (distances x1000 times
unit costs x100): the evaluator's cost under ``round="exact"``, x 100000. :func:`sol_convention` tells them
apart by the stated cost (an integer or not).

Edges that are not ``EUC_2D`` keep their own rule (``EXPLICIT`` as given, ``EXACT_2D``, ``FLOOR_2D``,
``CEIL_2D``), and another ``round`` for them is refused.

:func:`write_sol` writes costs in the same units (``cost_scale``; :func:`sol_convention` gives it for a
problem file), so a ``.sol`` read and written back keeps its cost; :func:`sol_cost_matches` compares a stated
cost with the evaluator's at the file's precision.

Depots. Without a ``DEPOT_SECTION`` the first node is the depot (PyVRP's rule; TSP instances, VRPSPD).

Backhauls. A ``BACKHAUL_SECTION`` gives pickups. With ``TYPE : VRPB`` the backhaul is strict (all deliveries
of a route before its pickups; a client has a delivery or a pickup, not both), as PyVRP does for that type
alone; with any other ``TYPE`` (``VRPSPD``, none) pickups and deliveries mix in any order and a client may
have both (simultaneous pickup and delivery), as in PyVRP.

Fleet. Per-vehicle sections (``CAPACITY_SECTION``, ``VEHICLES_*_SECTION``) list vehicles 1 ... V; each run
of consecutive identical vehicles becomes one vehicle type, with id ``"a-b"`` (its first and last vehicle
number) and ``count`` its length, so that a ``.sol`` route ``#k`` (driven by vehicle ``k``) maps back to
its type. Without per-vehicle data the fleet is one type ``"vehicle"`` with ``count`` = ``VEHICLES`` (None,
unlimited, when absent: in the X set the ``k`` of the name is a lower bound, not a limit).

Mapped specifications and sections: ``NAME``, ``COMMENT``, ``TYPE``, ``DIMENSION``, ``EDGE_WEIGHT_TYPE``
(``EUC_2D``, ``EXACT_2D``, ``FLOOR_2D``, ``CEIL_2D``, ``EXPLICIT``), ``EDGE_WEIGHT_FORMAT``
(``FULL_MATRIX``, ``LOWER_ROW``), ``CAPACITY``, ``VEHICLES``, ``SERVICE_TIME``, ``DISTANCE`` (CVRPLIB's
maximum route length, service included: ``max_duration``), ``NODE_COORD``, ``DEMAND``/``LINEHAUL``,
``BACKHAUL``, ``DEPOT``, ``EDGE_WEIGHT``, ``TIME_WINDOW``, ``PRIZE`` (clients with a prize are optional, as
in PyVRP), and ``VEHICLES_DEPOT``, ``VEHICLES_MAX_DURATION``, ``VEHICLES_MAX_DISTANCE``,
``VEHICLES_FIXED_COST``, ``VEHICLES_UNIT_DISTANCE_COST``, ``VEHICLES_UNIT_DURATION_COST`` (a value or one
per vehicle), and a real fleet's sections below. Other sections (``MUTUALLY_EXCLUSIVE_GROUP``, ...) are refused
with the section named.

A real fleet, in PyVRP's dialect (as PyVRP 0.14's ``pyvrp/read.py`` reads it):

- ``VEHICLES_ALLOWED_CLIENTS_SECTION``: per vehicle, the client nodes it may serve (rows of any length). They
  become skills that reproduce the sets exactly: each client that some vehicle may not serve gets one skill
  named after the vehicles that may (``"vehicles 1-2,5"``, ``"vehicles none"`` when none may), and each
  vehicle has every skill whose name lists it; so a vehicle type serves a client exactly when the file allows
  it (:attr:`Problem.skills_ok`). PyVRP builds a routing profile per allowed set instead.
- ``VEHICLES_RELOAD_DEPOT_SECTION``: per vehicle, the depots (node numbers) where it may reload
  (:attr:`VehicleType.reload_depots`); ``VEHICLES_MAX_RELOADS`` (a value or a section; PyVRP's default
  unlimited) its ``max_reloads`` (None for a vehicle without reload depots). A depot's ``SERVICE_TIME_SECTION``
  row is its reload time (:attr:`Depot.service_time`; PyVRP's reader leaves depots without one).
- ``RELEASE_TIME_SECTION`` (or ``RELEASE_TIME``): per node, :attr:`Client.release_time` (0 at depots).
- ``PICKUP_AND_DELIVERY_SECTION`` (LKH-3's layout): per node ``demand, earliest, latest, service time,
  pickup, delivery``. A pickup row names its delivery node and has ``+amount``, the delivery row names its
  pickup and has ``-amount``: the two stops stay clients (ids their node positions, as ever) joined by a
  :class:`Shipment` ``"p-d"`` of that amount; a row that names neither is a depot or a plain client (its
  demand a delivery). The section gives every node's window, service time and demand; a ``TIME_WINDOW``,
  ``SERVICE_TIME`` or ``DEMAND`` section beside it must agree. A ``PRIZE_SECTION`` makes a shipment optional
  when its stops' prizes add up to more than 0 (the sum sits on the pickup stop).

In a ``.sol`` a depot between two clients is a reload there (PyVRP's multi-trip solutions); see
:func:`read_sol`. :func:`write_vrplib` writes a problem back in this dialect (``vrpkit convert p.json p.vrp``).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vrpkit.errors import InputError, ValidationError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.io.json import read_text
from vrpkit.matrix import ROUNDINGS, euclidean_matrix
from vrpkit.model import INF, Client, Depot, Problem, Shipment, VehicleType
from vrpkit.solution import Route, Solution


@dataclass(frozen=True)
class Convention:
    """How a VRPLIB set rounds edges, scales vehicle costs, and scales its ``.sol`` costs."""

    round: str = "nearest"
    cost_divisor: float = 1.0
    """Fixed and unit costs in the file are divided by this."""
    sol_cost_scale: float = 1.0
    """``.sol`` cost = evaluator cost x this."""


CONVENTIONS: Mapping[str, Convention] = {
    "CVRP": Convention("nearest"),
    "VRPB": Convention("nearest"),
    "HFVRP": Convention("none", cost_divisor=100.0),
    "MDVRPTW": Convention("exact", sol_cost_scale=1000.0),
    "PCVRPTW": Convention("dimacs", sol_cost_scale=10.0),
    "VRPTW": Convention("dimacs"),
    "CVRPTW": Convention("dimacs"),
    "MTVRPTW": Convention("dimacs"),
    "MTVRPTWR": Convention("dimacs", sol_cost_scale=10.0),
    "SDVRPTW": Convention("exact", sol_cost_scale=1000.0),
    "PDPTW": Convention("none"),
}
"""Conventions by the ``TYPE`` of a file; other types get the TSPLIB default (nearest integer, unscaled)."""

_DEFAULT = Convention()

_IGNORED = {"name", "comment", "type", "dimension", "edge_weight_type", "edge_weight_format",
            "node_coord_type", "display_data_type", "display_data", "eof"}
"""Keys that carry no routing data (or were used already by ``vrplib``)."""

_NODE_KEYS = {"node_coord", "demand", "linehaul", "backhaul", "time_window", "service_time", "prize",
              "release_time", "pickup_and_delivery"}
_VEHICLE_KEYS = {"capacity", "vehicles_depot", "vehicles_max_duration", "vehicles_max_distance",
                 "vehicles_fixed_cost", "vehicles_unit_distance_cost", "vehicles_unit_duration_cost",
                 "vehicles_max_reloads"}
_LIST_KEYS = {"vehicles_allowed_clients", "vehicles_reload_depot"}
"""Per-vehicle sections whose rows list node numbers (rows of different lengths, an empty row allowed)."""
_KNOWN = _IGNORED | _NODE_KEYS | _VEHICLE_KEYS | _LIST_KEYS | {"vehicles", "depot", "edge_weight", "distance"}


def convention(kind: str | None) -> Convention:
    """The convention of a file ``TYPE`` (see :data:`CONVENTIONS`)."""
    return CONVENTIONS.get((kind or "").upper(), _DEFAULT)


def sol_cost_scale(kind: str | None) -> float:
    """What the evaluator's cost is multiplied by to give the ``Cost`` line of a ``.sol`` of this ``TYPE``."""
    return convention(kind).sol_cost_scale


# -- reading files ---------------------------------------------------------------------------------------

_SECTION_LINE = re.compile(r"^\s*[A-Z_]+_SECTION\b", re.MULTILINE)
_SPEC_LINE = re.compile(r"^\s*[A-Za-z_]+\s*:", re.MULTILINE)
_SOLOMON_BLOCKS = re.compile(r"^\s*VEHICLE\s*$.*^\s*CUSTOMER\b", re.MULTILINE | re.DOTALL)


def detect_format(text: str) -> str | None:
    """``"vrplib"``, ``"solomon"`` or None (neither), from a file's content.

    VRPLIB: a ``*_SECTION`` line; else Solomon: a ``VEHICLE`` line and later a ``CUSTOMER`` line; else VRPLIB
    again when there is a ``KEY : value`` line (a file cut before its first section).
    """
    if _SECTION_LINE.search(text):
        return "vrplib"
    if _SOLOMON_BLOCKS.search(text):
        return "solomon"
    if _SPEC_LINE.search(text):
        return "vrplib"
    return None


def check_round(round: str | None) -> None:
    """Raise a :class:`ValidationError` unless ``round`` is None or one of :data:`vrpkit.matrix.ROUNDINGS`."""
    if round is not None and round not in ROUNDINGS:
        raise ValidationError("round", f'"{round}" is not one of {", ".join(ROUNDINGS)}')


def _spec_value(text: str, key: str) -> str | None:
    match = re.search(rf"^\s*{key}\s*:\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def _sections(text: str) -> set[str]:
    return {m.group(1).lower() for m in re.finditer(r"^\s*(\w+)_SECTION", text, re.MULTILINE)}


PYVRP_OBJECTIVE = ("exact", 100_000.0)
"""``round`` and ``.sol`` scale of HFVRP ``.sol`` files that state PyVRP's integer objective (see above)."""


def sol_convention(path: str | Path, stated: float | None = None) -> tuple[str | None, float]:
    """``(round, scale)`` of the ``.sol`` files of a problem file: its cost is the evaluator's cost x ``scale``
    when the problem is read with ``round`` (None: the file's default).

    By the ``TYPE`` of a VRPLIB file (``.sol`` scale of the module's table), ``(None, 1)`` for Solomon and
    JSON; an HFVRP ``.sol`` whose ``stated`` cost is an integer states PyVRP's objective
    (:data:`PYVRP_OBJECTIVE`).
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        return None, 1.0
    text = read_text(path)
    if detect_format(text) != "vrplib":
        return None, 1.0
    kind = (_spec_value(text, "TYPE") or "").upper()
    if kind == "HFVRP" and isinstance(stated, int) and not isinstance(stated, bool):
        return PYVRP_OBJECTIVE
    return None, sol_cost_scale(kind)


def sol_cost_matches(stated: float, cost: float, scale: float = 1.0) -> bool:
    """Whether a ``.sol`` file's stated cost is the evaluator's ``cost`` x ``scale`` at the file's precision.

    The precision is the number of decimals of ``stated`` (``776.1``: one, so within 0.05; ``6655548``:
    within 0.5).
    """
    if not (math.isfinite(stated) and math.isfinite(cost)):
        return stated == cost * scale
    text = repr(float(stated)) if isinstance(stated, float) else str(int(stated))
    decimals = len(text.partition(".")[2]) if "e" not in text else 0
    return abs(cost * scale - stated) <= 0.5 * 10.0**-decimals + 1e-9 * abs(stated)


def read_vrplib(path: str | Path, *, round: str | None = None, cost_divisor: float | None = None) -> Problem:
    """Read a CVRPLIB/VRPLIB ``.vrp`` file (also PyVRP's dialect for variants).

    ``round`` overrides the rounding of ``EUC_2D`` edges (``none``, ``nearest``, ``dimacs``, ``exact``) and
    ``cost_divisor`` the divisor of vehicle costs; by default both follow the file's ``TYPE`` (see the
    module's table). Other edge weight types keep their own rule, and another ``round`` for them is refused.
    Raises :class:`InputError` for unreadable files and features that cannot be mapped, naming the section.
    """
    check_round(round)
    path = Path(path)
    text = read_text(path)
    sections = _sections(text)
    unknown = sorted(sections - _KNOWN)
    if unknown:
        raise InputError(f"{path}: section {unknown[0].upper()}_SECTION is not supported")
    import vrplib

    try:
        data = vrplib.read_instance(path, compute_edge_weights=False)
    except (ValueError, RuntimeError, IndexError, TypeError) as err:
        message = str(err)
        if "Edge weight type or format unknown" in message:
            kind = _spec_value(text, "EDGE_WEIGHT_TYPE")
            fmt = _spec_value(text, "EDGE_WEIGHT_FORMAT")
            what = f"EDGE_WEIGHT_TYPE {kind}" + (f" with EDGE_WEIGHT_FORMAT {fmt}" if fmt else "")
            raise InputError(f"{path}: {what} is not supported") from None
        detail = message.splitlines()[0] if message else type(err).__name__
        if "ufunc" in detail or "could not convert" in detail:
            detail = "a section holds something other than numbers"
        raise InputError(f"{path}: not a valid VRPLIB file, truncated or malformed ({detail})") from None
    return _problem_from_vrplib(path, data, sections, round=round, cost_divisor=cost_divisor)


def _problem_from_vrplib(
    path: Path, data: dict[str, Any], sections: set[str], *, round: str | None, cost_divisor: float | None
) -> Problem:
    def fail(message: str) -> InputError:
        return InputError(f"{path}: {message}")

    def label(key: str) -> str:
        return f"{key.upper()}_SECTION" if key in sections else key.upper()

    for key in data:
        if key not in _KNOWN:
            kind = "section" if key in sections else "specification"
            raise fail(f"{kind} {label(key)} is not supported")
    kind = str(data.get("type", "")).upper()
    conv = convention(kind)
    rounding = conv.round if round is None else round
    divisor = conv.cost_divisor if cost_divisor is None else float(cost_divisor)

    dimension = data.get("dimension")
    if dimension is None:
        raise fail("no DIMENSION given")
    if not isinstance(dimension, int) or dimension < 1:
        raise fail(f"DIMENSION {dimension!r} is not a positive integer")
    n = dimension

    def node_array(key: str, *, ndim: int | None = None) -> np.ndarray | None:
        """A per-node section, checked for shape (a truncated file shows up here)."""
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, np.ndarray):
            if key == "service_time" and _is_number(value):
                return None  # a single value for every client, handled below
            raise fail(f"{label(key)}: rows have different numbers of values (truncated file?)")
        if len(value) != n:
            raise fail(f"{label(key)} has {len(value)} rows, DIMENSION is {n} (truncated file?)")
        if ndim is not None and value.ndim != ndim:
            raise fail(f"{label(key)}: expected {ndim - 1 or 1} value(s) per node")
        if value.dtype.kind not in "iuf":
            raise fail(f"{label(key)}: not all values are numbers")
        return value

    coords = node_array("node_coord", ndim=2)
    if coords is not None and coords.shape[1] != 2:
        raise fail(f"{label('node_coord')}: expected x and y per node, got {coords.shape[1]} values")
    demand = node_array("demand")
    if demand is None:
        demand = node_array("linehaul")
    backhaul = node_array("backhaul")
    windows = node_array("time_window", ndim=2)
    if windows is not None and windows.shape[1] != 2:
        raise fail(f"{label('time_window')}: expected [start, end] per node")
    service = node_array("service_time", ndim=1)
    prize = node_array("prize", ndim=1)
    release = node_array("release_time", ndim=1)

    # Without a DEPOT_SECTION the first node is the depot (PyVRP's dialect).
    depot_nodes = [int(x) for x in np.atleast_1d(data.get("depot", 0))]
    if not depot_nodes:
        raise fail("DEPOT_SECTION lists no depot (truncated file?)")
    for node in depot_nodes:
        if not 0 <= node < n:
            raise fail(f"DEPOT_SECTION: depot {node + 1} is not a node 1 ... {n}")
    if len(set(depot_nodes)) != len(depot_nodes):
        raise fail("DEPOT_SECTION lists a depot twice")
    depot_set = set(depot_nodes)
    client_nodes = [i for i in range(n) if i not in depot_set]

    if service is None and "service_time" in data:
        service = np.full(n, float(data["service_time"]))
        service[depot_nodes] = 0.0
    if release is None and _is_number(data.get("release_time")):
        release = np.full(n, float(data["release_time"]))
        release[depot_nodes] = 0.0

    pairs: dict[int, int] = {}
    shipment_amount: dict[int, int] = {}
    pd = node_array("pickup_and_delivery", ndim=2)
    if pd is not None:
        demand, windows, service, pairs, shipment_amount = _pickup_and_delivery(
            pd, demand, windows, service, depot_set, label, fail)
        if backhaul is not None and np.any(backhaul[sorted(pairs)] != 0):
            raise fail(f"{label('backhaul')}: a shipment stop has a pickup of its own (not supported)")

    def amounts(array: np.ndarray | None, node: int) -> tuple[int, ...]:
        if array is None or node in pairs:
            return ()
        row = np.atleast_1d(array[node])
        if np.any(row != np.round(row)):
            raise fail(f"node {node + 1}: demand {row.tolist()} is not an integer")
        return tuple(int(x) for x in row)

    def location(node: int) -> tuple[float, float] | None:
        return None if coords is None else (float(coords[node, 0]), float(coords[node, 1]))

    def window(node: int) -> tuple[float, float]:
        return (0.0, INF) if windows is None else (float(windows[node, 0]), float(windows[node, 1]))

    depots = []
    for node in depot_nodes:
        for key, array in (("demand", demand), ("backhaul", backhaul), ("prize", prize),
                           ("release_time", release)):
            if array is not None and np.any(np.atleast_1d(array[node]) != 0):
                raise fail(f"{label(key)}: depot {node + 1} has a non-zero value (not supported)")
        depots.append(Depot(str(node), location(node), window(node),
                            service_time=0.0 if service is None else float(service[node])))
    skills, vehicle_skills = _skills_from_allowed_clients(data, n, depot_set, client_nodes, label, fail)
    clients = []
    for node in client_nodes:
        node_prize = 0.0 if prize is None else float(prize[node])
        required = node_prize == 0.0
        if node in pairs:  # a shipment's stops share ``required``; its prize sits on the pickup stop
            both = node_prize + float(prize[pairs[node]]) if prize is not None else 0.0
            required = both == 0.0
            node_prize = both if node in shipment_amount else 0.0
        clients.append(Client(
            id=str(node),
            location=location(node),
            delivery=amounts(demand, node),
            pickup=amounts(backhaul, node),
            service_time=0.0 if service is None else float(service[node]),
            time_windows=(window(node),),
            prize=node_prize,
            required=required,
            skills=skills.get(node, ()),
            release_time=0.0 if release is None else float(release[node]),
        ))
    shipments = tuple(Shipment(id=f"{p}-{pairs[p]}", pickup=str(p), delivery=str(pairs[p]), amount=(a,))
                      for p, a in sorted(shipment_amount.items()))

    vehicle_types = _vehicle_types(data, depot_nodes, divisor, fail, label, vehicle_skills)
    order = depot_nodes + client_nodes
    matrix, distance = _matrix_spec(data, coords, order, rounding, round is not None, fail)
    try:
        return Problem(
            name=str(data.get("name", path.stem)),
            depots=tuple(depots),
            clients=tuple(clients),
            vehicle_types=tuple(vehicle_types),
            backhaul="strict" if kind == "VRPB" else "mixed",
            matrix=matrix,
            distance=distance,
            base_dir=path.parent,
            shipments=shipments,
        )
    except ValidationError as err:
        raise fail(f"cannot be mapped to a problem: {err}") from None


def _pickup_and_delivery(
    pd: np.ndarray, demand: np.ndarray | None, windows: np.ndarray | None, service: np.ndarray | None,
    depots: set[int], label: Any, fail: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int], dict[int, int]]:
    """``PICKUP_AND_DELIVERY_SECTION`` (LKH-3's layout, as PyVRP reads it): per node ``demand, early, late,
    service, pickup, delivery``; a pickup stop names its delivery node (1-based) and has ``+amount``, the
    delivery names its pickup and has ``-amount``; a node that names neither is a plain client (its demand a
    delivery) or a depot. Its windows, service times and demands replace those sections, which may be given
    too only with the same values. Returns the demands, windows and service times of every node, the partner
    of each stop and the amount of each shipment by its pickup node."""
    n = len(pd)
    if pd.shape[1] != 6:
        raise fail(f"{label('pickup_and_delivery')}: expected demand, earliest, latest, service time, pickup "
                   f"and delivery per node, got {pd.shape[1]} values")
    for key, given, mine in (("demand", demand, pd[:, 0]), ("time_window", windows, pd[:, 1:3]),
                             ("service_time", service, pd[:, 3])):
        if given is not None and (np.shape(given) != np.shape(mine) or np.any(given != mine)):
            raise fail(f"{label(key)} differs from {label('pickup_and_delivery')}, which gives these values too")
    links = pd[:, 4:6]
    if np.any(links != np.round(links)) or np.any(links < 0) or np.any(links > n):
        raise fail(f"{label('pickup_and_delivery')}: pickup and delivery columns must be node numbers 1 ... {n} "
                   "or 0")
    links = links.astype(np.int64)
    pairs: dict[int, int] = {}
    amount: dict[int, int] = {}
    for node in range(n):
        pick, deliv = int(links[node, 0]), int(links[node, 1])
        if pick and deliv:
            raise fail(f"{label('pickup_and_delivery')}: node {node + 1} names both a pickup and a delivery")
        if node in depots and (pick or deliv or pd[node, 0] != 0 or pd[node, 3] != 0):
            raise fail(f"{label('pickup_and_delivery')}: depot {node + 1} has a demand, service time or partner")
        if deliv:  # a pickup stop
            other = deliv - 1
            if other in depots or other == node or links[other, 0] != node + 1 or links[other, 1] != 0:
                raise fail(f"{label('pickup_and_delivery')}: pickup node {node + 1} names delivery node "
                           f"{deliv}, which does not name it back as its pickup")
            if pd[node, 0] < 0 or pd[other, 0] != -pd[node, 0] or pd[node, 0] != round(pd[node, 0]):
                raise fail(f"{label('pickup_and_delivery')}: pickup node {node + 1} has demand "
                           f"{_g(pd[node, 0])}, its delivery node {deliv} {_g(pd[other, 0])} (expected an "
                           "integer amount and its negative)")
            pairs[node], pairs[other] = other, node
            amount[node] = int(pd[node, 0])
        elif pick:  # a delivery stop: checked from its pickup
            other = pick - 1
            if other in depots or links[other, 1] != node + 1:
                raise fail(f"{label('pickup_and_delivery')}: delivery node {node + 1} names pickup node {pick}, "
                           "which does not name it back as its delivery")
        elif pd[node, 0] < 0:
            raise fail(f"{label('pickup_and_delivery')}: node {node + 1} has demand {_g(pd[node, 0])} but is no "
                       "delivery stop")
    plain = np.array(pd[:, 0], dtype=float)
    plain[sorted(pairs)] = 0.0
    return plain, np.array(pd[:, 1:3], dtype=float), np.array(pd[:, 3], dtype=float), pairs, amount


def _g(value: float) -> str:
    return f"{float(value):g}"


def _node_rows(value: Any, label: str, fail: Any) -> list[tuple[int, ...]]:
    """A per-vehicle section of node numbers as one tuple per vehicle (``vrplib`` gives a 1-D array when every
    row has one value, a 2-D array when all have the same number, else a list of lists)."""
    if isinstance(value, np.ndarray):
        rows = [[x] for x in value] if value.ndim == 1 else value.tolist()
    elif isinstance(value, list):
        rows = [list(np.atleast_1d(r)) if not isinstance(r, list) else r for r in value]
    else:
        raise fail(f"{label}: expected node numbers, one row per vehicle")
    out = []
    for row in rows:
        if any(not _is_number(x) or float(x) != int(x) for x in row):
            raise fail(f"{label}: not all values are node numbers")
        out.append(tuple(int(x) for x in row))
    return out


def _allowed_sets(data: dict[str, Any], n: int, depots: set[int], label: Any, fail: Any) -> list[frozenset[int]]:
    """The clients (0-based nodes) each vehicle may serve, from ``VEHICLES_ALLOWED_CLIENTS_SECTION``."""
    key = "vehicles_allowed_clients"
    out = []
    for k, row in enumerate(_node_rows(data[key], label(key), fail), 1):
        for node in row:
            if not 1 <= node <= n or node - 1 in depots:
                raise fail(f"{label(key)}: vehicle {k}: {node} is not a client node")
        out.append(frozenset(node - 1 for node in row))
    return out


def _skills_from_allowed_clients(data: dict[str, Any], n: int, depots: set[int], client_nodes: list[int],
                                 label: Any, fail: Any
                                 ) -> tuple[dict[int, tuple[str, ...]], list[tuple[str, ...]]]:
    """Skills that reproduce ``VEHICLES_ALLOWED_CLIENTS_SECTION`` exactly (see the module docstring): each
    client that some vehicle may not serve gets one skill, named after the vehicles that may
    (``"vehicles 1-2,5"``); a vehicle has the skills whose names list it. Returns the skills of each client node
    and of each vehicle (an empty list without the section)."""
    if "vehicles_allowed_clients" not in data:
        return {}, []
    allowed = _allowed_sets(data, n, depots, label, fail)
    everyone = tuple(range(1, len(allowed) + 1))
    out = {}
    signatures: dict[tuple[int, ...], str] = {}
    for node in client_nodes:
        who = tuple(k for k, clients in enumerate(allowed, 1) if node in clients)
        if who != everyone:
            out[node] = (signatures.setdefault(who, _vehicles_skill(who)),)
    per_vehicle = [tuple(sorted(name for who, name in signatures.items() if k in who)) for k in everyone]
    return out, per_vehicle


def _vehicles_skill(vehicles: Sequence[int]) -> str:
    """``"vehicles 1-3,5"``: the skill of clients that exactly these vehicles (1-based) may serve;
    ``"vehicles none"`` for a client that none may."""
    runs: list[list[int]] = []
    for k in vehicles:
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    return "vehicles " + (",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs) or "none")


def _skill_vehicles(skill: str) -> set[int] | None:
    """The vehicles a ``"vehicles 1-3,5"`` skill names, or None for another skill."""
    match = re.fullmatch(r"vehicles ((?:\d+(?:-\d+)?)(?:,\d+(?:-\d+)?)*|none)", skill)
    if not match:
        return None
    out: set[int] = set()
    if match[1] == "none":
        return out
    for part in match[1].split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _vehicle_types(data: dict[str, Any], depot_nodes: list[int], divisor: float, fail: Any,
                   label: Any, vehicle_skills: list[tuple[str, ...]]) -> list[VehicleType]:
    """One type per run of identical vehicles (see the module docstring); ``vehicle_skills``: the skills of
    each vehicle (from its allowed clients), or empty."""
    count = data.get("vehicles")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise fail(f"VEHICLES {count!r} is not a positive integer")
    per_vehicle = {k: data[k] for k in _VEHICLE_KEYS if k in data and not _is_number(data[k])}
    for key, value in per_vehicle.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
            raise fail(f"{label(key)}: expected numbers, one row per vehicle (truncated file?)")
        if count is not None and len(value) != count:
            raise fail(f"{label(key)} has {len(value)} rows, VEHICLES is {count} (truncated file?)")
    if "vehicles_reload_depot" in data:
        key = "vehicles_reload_depot"
        rows = _node_rows(data[key], label(key), fail)
        for k, row in enumerate(rows, 1):
            for node in row:
                if node - 1 not in depot_nodes:
                    raise fail(f"{label(key)}: vehicle {k}: {node} is not a depot in DEPOT_SECTION")
        per_vehicle[key] = [tuple(str(node - 1) for node in row) for row in rows]
    if vehicle_skills:
        per_vehicle["vehicles_allowed_clients"] = vehicle_skills
    for key, value in per_vehicle.items():
        if count is not None and len(value) != count:
            raise fail(f"{label(key)} has {len(value)} rows, VEHICLES is {count} (truncated file?)")
    n_vehicles = len(next(iter(per_vehicle.values()))) if per_vehicle else None
    for key, value in per_vehicle.items():
        if len(value) != n_vehicles:
            raise fail(f"{label(key)} has {len(value)} rows, other vehicle sections {n_vehicles}")

    def value(key: str, k: int | None) -> Any:
        if key in _LIST_KEYS:  # the rows made above
            return per_vehicle[key][k] if key in per_vehicle and k is not None else None
        if key not in data:
            return None
        raw = data[key]
        if _is_number(raw):
            return raw
        row = raw[k]
        return tuple(int(x) for x in np.atleast_1d(row)) if key == "capacity" else row.item()

    def attributes(k: int | None) -> tuple[Any, ...]:
        capacity = value("capacity", k)
        capacity = () if capacity is None else ((int(capacity),) if _is_number(capacity) else capacity)
        depot = value("vehicles_depot", k)
        if depot is not None:
            if int(depot) - 1 not in depot_nodes:
                raise fail(f"{label('vehicles_depot')}: depot {depot} is not in DEPOT_SECTION")
            depot = str(int(depot) - 1)
        max_duration = value("vehicles_max_duration", k)
        if max_duration is None and data.get("distance") is not None:
            max_duration = data["distance"]
            if not _is_number(max_duration):
                raise fail(f"DISTANCE {max_duration!r} is not a number")
        max_distance = value("vehicles_max_distance", k)
        fixed = value("vehicles_fixed_cost", k)
        per_distance = value("vehicles_unit_distance_cost", k)
        per_duration = value("vehicles_unit_duration_cost", k)
        reloads = value("vehicles_reload_depot", k) or ()
        max_reloads = value("vehicles_max_reloads", k)
        if max_reloads is not None:
            if float(max_reloads) != int(max_reloads) or max_reloads < 0:
                raise fail(f"{label('vehicles_max_reloads')}: {max_reloads!r} is not an integer >= 0")
            max_reloads = int(max_reloads) if reloads else None  # no reload depots: no reloads anyway
        return (
            capacity,
            depot,
            INF if max_duration is None else float(max_duration),
            INF if max_distance is None else float(max_distance),
            0.0 if fixed is None else float(fixed) / divisor,
            1.0 if per_distance is None else float(per_distance) / divisor,
            0.0 if per_duration is None else float(per_duration) / divisor,
            value("vehicles_allowed_clients", k) or (),
            reloads,
            max_reloads,
        )

    def make(type_id: str, n: int | None, attrs: tuple[Any, ...]) -> VehicleType:
        (capacity, depot, max_duration, max_distance, fixed, per_distance, per_duration, skills, reloads,
         max_reloads) = attrs
        return VehicleType(
            id=type_id, count=n, capacity=capacity, start_depot=depot, max_duration=max_duration,
            max_distance=max_distance, fixed_cost=fixed, cost_per_distance=per_distance,
            cost_per_duration=per_duration, skills=skills, reload_depots=reloads, max_reloads=max_reloads,
        )

    if n_vehicles is None:
        return [make("vehicle", count, attributes(None))]
    types: list[VehicleType] = []
    first = 0
    current = attributes(0)
    for k in range(1, n_vehicles + 1):
        attrs = attributes(k) if k < n_vehicles else None
        if attrs != current:
            type_id = f"{first + 1}-{k}" if k - first > 1 else str(k)
            types.append(make(type_id, k - first, current))
            first, current = k, attrs  # type: ignore[assignment]
    return types


def _matrix_spec(
    data: dict[str, Any], coords: np.ndarray | None, order: list[int], rounding: str, chosen: bool, fail: Any
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The matrix specification, plus the matrix itself when it is not computed by a provider.

    ``rounding`` applies to ``EUC_2D``; when the caller ``chosen`` it, other types refuse any other rule
    than their own.
    """
    kind = str(data.get("edge_weight_type", "EXPLICIT" if "edge_weight" in data else "")).upper()
    if kind in ("EUC_2D", "EXACT_2D", "FLOOR_2D", "CEIL_2D") and coords is None:
        raise fail(f"EDGE_WEIGHT_TYPE {kind} needs a NODE_COORD_SECTION")
    own = {"EXACT_2D": "exact", "EXPLICIT": "none"}.get(kind)
    if chosen and kind != "EUC_2D" and rounding != own:
        rule = f'its own rule (round "{own}")' if own else "its own rule"
        raise fail(f'round "{rounding}" applies to EUC_2D edges; EDGE_WEIGHT_TYPE {kind} has {rule}')
    if kind == "EUC_2D":
        return {"provider": "euclidean", "round": rounding}, None
    if kind == "EXACT_2D":
        return {"provider": "euclidean", "round": "exact"}, None
    if kind in ("FLOOR_2D", "CEIL_2D"):
        points = np.asarray(coords, dtype=float)[order]
        plain = euclidean_matrix(points)
        return {"provider": "explicit"}, np.floor(plain) if kind == "FLOOR_2D" else np.ceil(plain)
    if kind == "EXPLICIT":
        weights = data.get("edge_weight")
        if weights is None:
            raise fail("EDGE_WEIGHT_TYPE EXPLICIT without an EDGE_WEIGHT_SECTION")
        weights = np.asarray(weights, dtype=float)
        n = len(order)
        if weights.shape != (n, n):
            raise fail(f"EDGE_WEIGHT_SECTION gives a {weights.shape[0]}x{weights.shape[-1]} matrix, "
                       f"DIMENSION is {n} (truncated file?)")
        return {"provider": "explicit"}, weights[np.ix_(order, order)]
    if not kind:
        raise fail("no EDGE_WEIGHT_TYPE given")
    raise fail(f"EDGE_WEIGHT_TYPE {kind} is not supported")


def read_solomon(path: str | Path, *, round: str | None = None) -> Problem:
    """Read a Solomon VRPTW ``.txt`` file.

    Distances are Euclidean, unrounded unless ``round`` says otherwise (e.g. ``dimacs``), and durations equal
    distances; the fleet is the file's ``NUMBER`` vehicles of ``CAPACITY``; client ids are the ``CUST NO.``
    (``"1"`` ... ``"100"``), the depot is ``"0"`` and its ``DUE DATE`` closes it (vehicles must be back by
    then).
    """
    check_round(round)
    path = Path(path)
    read_text(path)
    import vrplib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about an empty table; it is reported below
            data = vrplib.read_instance(path, instance_format="solomon", compute_edge_weights=False)
    except (ValueError, RuntimeError, IndexError, TypeError) as err:
        message = str(err)
        rows = re.search(r"Line #(\d+) \(got (\d+) columns instead of (\d+)\)", message)
        if rows:
            detail = f": CUSTOMER row {rows[1]} has {rows[2]} values instead of {rows[3]}"
        elif "Solomon format" in message or not message:
            detail = ""
        else:
            detail = f": {message.splitlines()[0]}"
        raise InputError(f"{path}: not a valid Solomon instance (truncated file?){detail}") from None
    coords = np.atleast_2d(data["node_coord"])
    if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 1:
        raise InputError(f"{path}: not a valid Solomon instance (no CUSTOMER rows)")
    demand, windows, service = data["demand"], np.atleast_2d(data["time_window"]), data["service_time"]
    if demand[0] != 0 or service[0] != 0:
        raise InputError(f"{path}: the depot (row 0) has a demand or a service time")
    depot = Depot("0", (float(coords[0, 0]), float(coords[0, 1])), (float(windows[0, 0]), float(windows[0, 1])))
    clients = tuple(
        Client(
            id=str(i),
            location=(float(coords[i, 0]), float(coords[i, 1])),
            delivery=int(demand[i]),
            service_time=float(service[i]),
            time_windows=((float(windows[i, 0]), float(windows[i, 1])),),
        )
        for i in range(1, len(coords))
    )
    try:
        return Problem(
            name=str(data["name"]),
            depots=(depot,),
            clients=clients,
            vehicle_types=(VehicleType("vehicle", count=int(data["vehicles"]), capacity=int(data["capacity"])),),
            matrix={"provider": "euclidean", **({} if round in (None, "none") else {"round": round})},
            base_dir=path.parent,
        )
    except ValidationError as err:
        raise InputError(f"{path}: cannot be mapped to a problem: {err}") from None


# -- writing problems ------------------------------------------------------------------------------------


def write_vrplib(path: str | Path, problem: Problem) -> None:
    """Write ``problem`` as a VRPLIB file in PyVRP's dialect, which :func:`read_vrplib` reads back to the same
    problem (nodes renamed by their position: depots ``"0"`` ..., then clients; shipments ``"p-d"``).

    ``TYPE`` is the problem's variant (``VRPB`` only for strict backhaul); edges are ``EXPLICIT``
    (``FULL_MATRIX`` of the distances, which must equal the durations: VRPLIB has one matrix); a bound that no
    plan reaches (an open window, no duration or distance limit) is written as a large number that binds
    nothing either. Per-vehicle data go in ``*_SECTION`` rows, one per vehicle (an unlimited ``count`` as one
    vehicle per client); skills as ``VEHICLES_ALLOWED_CLIENTS_SECTION`` (the clients whose skills the vehicle
    has), reloads as ``VEHICLES_RELOAD_DEPOT_SECTION`` and ``VEHICLES_MAX_RELOADS_SECTION``, release times as
    ``RELEASE_TIME_SECTION``, shipments as ``PICKUP_AND_DELIVERY_SECTION`` (which then carries every node's
    demand, window and service time), a depot's reload time as its ``SERVICE_TIME_SECTION`` row. What VRPLIB
    cannot hold raises a :class:`ValidationError` naming the field: several windows per client, breaks, open
    routes or an end depot other than the start, vehicle shifts, optional clients without a prize, a
    ``max_ride_time``, multi-dimensional shipments, uncertainty.
    """
    lines = _vrplib_lines(problem)
    try:
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror})") from None


def _num(x: float, big: float) -> str:
    """A number as VRPLIB text: integers without a point, others as the shortest exact decimal, inf as ``big``."""
    x = float(x)
    if not math.isfinite(x):
        x = big
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _vrplib_lines(problem: Problem) -> list[str]:
    p = problem
    nd, n = p.n_depots, p.n_clients
    if p.uncertainty is not None:
        raise ValidationError("uncertainty", "VRPLIB has no travel-time or demand noise")
    if not np.array_equal(p.distance, p.duration):
        raise ValidationError("matrix", "the duration matrix differs from the distance matrix; VRPLIB has one "
                                        "matrix for both")
    for i, c in enumerate(p.clients):
        if len(c.time_windows) > 1:
            raise ValidationError(f"clients[{i}].time_windows", "VRPLIB has one time window per client")
        if not c.required and c.prize == 0 and p.shipment_of[i] < 0:
            raise ValidationError(f"clients[{i}].prize", "an optional client without a prize: VRPLIB makes a "
                                                         "client optional by its prize")
    for k, sh in enumerate(p.shipments):
        if math.isfinite(sh.max_ride_time):
            raise ValidationError(f"shipments[{k}].max_ride_time", "VRPLIB has no ride time limit")
        if len(sh.amount) > 1:
            raise ValidationError(f"shipments[{k}].amount", "PICKUP_AND_DELIVERY_SECTION has one demand column")
        stops = [p.client_index[sh.pickup], p.client_index[sh.delivery]]
        if not p.clients[stops[0]].required and p.prize[stops].sum() == 0:
            raise ValidationError(f"shipments[{k}].prize", "an optional shipment without a prize: VRPLIB makes a "
                                                           "shipment optional by its prize")
    vts = p.vehicle_types
    for t, vt in enumerate(vts):
        where = f"vehicle_types[{t}]"
        if vt.breaks:
            raise ValidationError(f"{where}.breaks", "VRPLIB has no driver breaks")
        if vt.end_depot is None or int(p.vehicle_end[t]) != int(p.vehicle_start[t]):
            raise ValidationError(f"{where}.end_depot", "VRPLIB routes end at their start depot")
        if vt.shift != (0.0, INF):
            raise ValidationError(f"{where}.shift", "VRPLIB has no vehicle shifts (its depots' time windows bound "
                                                    "the routes)")
    strict = p.backhaul == "strict" and bool(p.pickup.any())
    kind = p.variant
    if strict and kind != "VRPB":
        raise ValidationError("backhaul", f'strict backhaul in a {kind}: VRPLIB has it for TYPE VRPB only')
    if not strict and kind == "VRPB":
        kind = "VRPMB"
    divisor = convention(kind).cost_divisor
    t_big = max(1e15, math.ceil(p.horizon))
    d_big = max(1e15, math.ceil(p.longest_route))

    # Vehicles: one row each; an unlimited count is one vehicle per client.
    counts = [vt.count if vt.count is not None else max(n, 1) for vt in vts]
    caps = [tuple(int(x) for x in vt.capacity) for vt in vts]
    if any(caps) and not all(caps):
        raise ValidationError("vehicle_types", "some vehicle types have a capacity and some have none; VRPLIB "
                                               "has a capacity for all or for none")

    def rows(values: Sequence[Any]) -> list[Any]:
        return [v for v, c in zip(values, counts, strict=True) for _ in range(c)]

    sections: list[tuple[str, list[str]]] = []
    specs: list[str] = []

    def vehicle_section(key: str, values: Sequence[Any], default: Any, big: float = t_big) -> None:
        """A ``KEY : value`` line when every vehicle has the same value, else one row per vehicle."""
        if all(v == default for v in values):
            return
        if len(set(values)) == 1 and key != "VEHICLES_DEPOT":  # PyVRP's reader wants VEHICLES_DEPOT rows
            specs.append(f"{key} : {_num(values[0], big)}")
        else:
            sections.append((key, [_num(v, big) for v in rows(values)]))

    if any(caps):
        if len(set(caps)) == 1 and len(caps[0]) == 1:
            specs.append(f"CAPACITY : {caps[0][0]}")
        else:
            sections.append(("CAPACITY", [" ".join(str(x) for x in c) for c in rows(caps)]))
    starts = [int(x) for x in p.vehicle_start]
    vehicle_section("VEHICLES_DEPOT", [d + 1 for d in starts], 1)
    vehicle_section("VEHICLES_MAX_DURATION", [vt.max_duration for vt in vts], INF)
    vehicle_section("VEHICLES_MAX_DISTANCE", [vt.max_distance for vt in vts], INF, d_big)
    vehicle_section("VEHICLES_FIXED_COST", [vt.fixed_cost * divisor for vt in vts], 0.0)
    vehicle_section("VEHICLES_UNIT_DISTANCE_COST", [vt.cost_per_distance * divisor for vt in vts], 1.0)
    vehicle_section("VEHICLES_UNIT_DURATION_COST", [vt.cost_per_duration * divisor for vt in vts], 0.0)
    if any(c.skills for c in p.clients):
        allowed = [" ".join(str(nd + i + 1) for i in np.flatnonzero(p.skills_ok[t])) for t in range(len(vts))]
        sections.append(("VEHICLES_ALLOWED_CLIENTS", rows(allowed)))
    if p.reload_allowed.any():
        reloads = [" ".join(str(d + 1) for d in np.flatnonzero(p.reload_allowed[t])) for t in range(len(vts))]
        sections.append(("VEHICLES_RELOAD_DEPOT", rows(reloads)))
        limited_reloads = [x >= 0 for x, ok in zip(p.max_reloads, p.reload_allowed.any(axis=1), strict=True) if ok]
        if any(limited_reloads):  # unlimited: one per client (read back as unlimited)
            vehicle_section("VEHICLES_MAX_RELOADS", [int(x) if x >= 0 else max(n, 1) for x in p.max_reloads], None)

    # Nodes: depots, then clients.
    node_sections: list[tuple[str, list[str]]] = []
    locations = p.locations
    if locations is not None:
        node_sections.append(("NODE_COORD", [f"{_num(x, 0)} {_num(y, 0)}" for x, y in locations]))
    windows = [d.time_window for d in p.depots] + [c.time_windows[0] for c in p.clients]
    service = np.concatenate([p.depot_service_time, p.service_time])
    if p.shipments:
        if p.n_dims > 1:
            raise ValidationError("shipments", "PICKUP_AND_DELIVERY_SECTION has one demand column; the problem "
                                               f"has {p.n_dims} capacity dimensions")
        links = np.zeros((p.n_nodes, 2), dtype=np.int64)
        demand = np.zeros(p.n_nodes)
        if p.n_dims:
            demand[nd:] = p.delivery[:, 0] + p.shipment_load[:, 0]
        for sh in p.shipments:
            a, b = nd + p.client_index[sh.pickup], nd + p.client_index[sh.delivery]
            links[a, 1], links[b, 0] = b + 1, a + 1
        node_sections.append(("PICKUP_AND_DELIVERY", [
            f"{_num(demand[k], 0)} {_num(windows[k][0], t_big)} {_num(windows[k][1], t_big)} "
            f"{_num(service[k], 0)} {links[k, 0]} {links[k, 1]}" for k in range(p.n_nodes)]))
    else:
        if p.n_dims and (p.delivery.any() or any(caps)):
            zero = " ".join(["0"] * p.n_dims)
            node_sections.append(("DEMAND", [zero] * nd + [" ".join(str(int(x)) for x in r) for r in p.delivery]))
        if service.any():
            node_sections.append(("SERVICE_TIME", [_num(x, 0) for x in service]))
        if "time_windows" in p.attributes:
            node_sections.append(("TIME_WINDOW", [f"{_num(a, t_big)} {_num(b, t_big)}" for a, b in windows]))
    if p.pickup.any():
        zero = " ".join(["0"] * p.n_dims)
        node_sections.append(("BACKHAUL", [zero] * nd + [" ".join(str(int(x)) for x in row) for row in p.pickup]))
    if not p.required.all():
        node_sections.append(("PRIZE", ["0"] * nd + [_num(c.prize, 0) for c in p.clients]))
    if p.release_time.any():
        node_sections.append(("RELEASE_TIME", ["0"] * nd + [_num(x, 0) for x in p.release_time]))

    lines = [f"NAME : {p.name}", f"TYPE : {kind}", f"DIMENSION : {p.n_nodes}"]
    if sections or any(vt.count is not None for vt in vts):
        lines.append(f"VEHICLES : {sum(counts)}")
    lines += [*specs, "EDGE_WEIGHT_TYPE : EXPLICIT", "EDGE_WEIGHT_FORMAT : FULL_MATRIX"]
    for key, body in node_sections + sections:
        lines.append(f"{key}_SECTION")
        lines += [f"{k} {row}".rstrip() for k, row in enumerate(body, 1)]
    lines.append("EDGE_WEIGHT_SECTION")
    lines += [" ".join(_num(x, 0) for x in row) for row in p.distance]
    lines += ["DEPOT_SECTION", *[str(d + 1) for d in range(nd)], "-1", "EOF"]
    return lines


# -- solutions -------------------------------------------------------------------------------------------

_ROUTE = re.compile(r"^Route\s*#\s*(\d+)\s*:(.*)$", re.IGNORECASE)


def read_sol(path: str | Path, problem: Problem) -> Solution:
    """Read a ``.sol`` file (``Route #k: c1 c2 ...`` lines and ``Cost <value>``) as a plan for ``problem``.

    Numbers are client ids (see the module docstring); a depot id between two clients is a reload there
    (``Route #1: 1 0 2``: client 1, reload at depot 0, client 2), as PyVRP writes multi-trip routes; a depot
    that starts or ends a route, or follows another, is an empty trip, left out when it changes nothing (the
    depot the vehicle is at, zero distance, no reload time), else refused. With one
    vehicle type every route uses it; with several, route ``#k`` is driven by vehicle ``k`` of the file (types
    in order, ``count`` vehicles each).
    The ``Cost`` line and other ``key value`` lines are kept in ``stats`` (numbers converted).
    """
    path = Path(path)
    text = read_text(path)
    clients = problem.client_index
    depots = problem.depot_index
    bounds = _vehicle_numbers(problem)
    routes: list[Route] = []
    stats: dict[str, Any] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ROUTE.match(line)
        if match:
            number = int(match.group(1))
            vehicle_type = _type_of_vehicle(path, lineno, number, bounds)
            visits: list[int] = []
            reloads: list[tuple[int, int]] = []
            last = int(problem.vehicle_start[vehicle_type])  # the depot the current trip left from
            for token in match.group(2).split():
                if token in clients:
                    visits.append(clients[token])
                elif token in depots:
                    d = depots[token]
                    if not visits or (reloads and reloads[-1][0] == len(visits)):
                        if not _empty_trip(problem, last, d):
                            where = "starts with" if not visits else "has two depots in a row,"
                            raise InputError(f"{path}:{lineno}: route #{number} {where} depot {token}; a depot "
                                             "in a route is a reload between two clients")
                        continue
                    reloads.append((len(visits), d))
                    last = d
                else:
                    raise InputError(f"{path}:{lineno}: route #{number}: {token} is not a client of "
                                     f"{problem.name}")
            if reloads and reloads[-1][0] == len(visits):
                d = reloads.pop()[1]
                if not _empty_trip(problem, d, int(problem.vehicle_end[vehicle_type])):
                    raise InputError(f"{path}:{lineno}: route #{number} ends with depot {problem.depots[d].id}; a "
                                     "depot in a route is a reload between two clients")
            routes.append(Route(vehicle_type, tuple(visits), reloads=tuple(reloads)) if reloads else
                          Route(vehicle_type, tuple(visits)))
            continue
        key, sep, value = line.partition(":") if ":" in line else line.partition(" ")
        if not sep or not key.strip():
            raise InputError(f"{path}:{lineno}: expected 'Route #k: ...' or 'Key value', got {line[:40]!r}")
        stats[key.strip().lower()] = _number(value.strip())
    return Solution(tuple(routes), stats)


def _empty_trip(problem: Problem, here: int, depot: int) -> bool:
    """Whether a trip from depot ``here`` to depot ``depot`` that serves nobody changes nothing (the same depot,
    zero distance and duration, no reload time), so that a ``.sol`` may list it (PyVRP's do) and it is left out."""
    return bool(here == depot and problem.distance[here, here] == 0 and problem.duration[here, here] == 0
                and problem.depot_service_time[depot] == 0)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _vehicle_numbers(problem: Problem) -> list[tuple[int, float]]:
    """``(type index, last vehicle number of the type)`` for each type (inf once a count is unlimited)."""
    out: list[tuple[int, float]] = []
    last = 0.0
    for v, vt in enumerate(problem.vehicle_types):
        last = INF if vt.count is None else last + vt.count
        out.append((v, last))
    return out


def _type_of_vehicle(path: Path, lineno: int, number: int, bounds: list[tuple[int, float]]) -> int:
    if len(bounds) == 1:
        return 0
    for v, last in bounds:
        if number <= last:
            return v
    raise InputError(f"{path}:{lineno}: route #{number}, but the problem has only {int(bounds[-1][1])} vehicles")


def write_sol(
    path: str | Path,
    problem: Problem,
    plan: Evaluation | Solution | Any,
    *,
    cost_scale: float = 1.0,
) -> None:
    """Write a plan as a ``.sol`` file: ``Route #k: ...`` lines and ``Cost <value>``.

    ``plan`` is an :class:`Evaluation`, a :class:`Solution` (evaluated here) or a result with an
    ``evaluation``. Clients are written by id when every id is a number (as for files read here), else by
    node index (depots first); a reload is its depot's id (or node index) between two clients, which needs
    every client and depot id to be a distinct number to be written by id. With one vehicle type routes are
    numbered 1, 2, ...; with several, a route
    of type ``t`` gets the number of an unused vehicle of ``t`` (see :func:`read_sol`), so that reading the
    file back gives the same plan. The cost is the evaluator's, times ``cost_scale`` (e.g.
    :func:`sol_cost_scale` of the file's ``TYPE``).
    """
    if isinstance(plan, Solution):
        evaluation = evaluate(problem, plan)
    elif isinstance(plan, Evaluation):
        evaluation = plan
    elif isinstance(getattr(plan, "evaluation", None), Evaluation):
        evaluation = plan.evaluation
    else:
        raise ValidationError("plan", f"expected an Evaluation, a Solution or a Result, got {type(plan).__name__}")
    with_reloads = any(getattr(r, "reloads", ()) for r in evaluation.routes)
    ids = [c.id for c in problem.clients]
    depot_ids = [d.id for d in problem.depots]
    numeric = problem.node_ids if with_reloads else ids
    if not all(i.isdigit() for i in numeric) or len(set(numeric)) < len(numeric):
        ids = [str(problem.n_depots + i) for i in range(problem.n_clients)]
        depot_ids = [str(d) for d in range(problem.n_depots)]

    def tokens(route: Any) -> str:
        at = {int(x[0]): int(x[1]) for x in getattr(route, "reloads", ())}
        return " ".join((f"{depot_ids[at[j]]} " if j in at else "") + ids[c] for j, c in enumerate(route.clients))

    numbered = _number_routes(problem, evaluation.routes)
    lines = [f"Route #{k}: " + tokens(route) for k, route in numbered]
    lines.append(f"Cost {format_sol_cost(evaluation.cost * cost_scale)}")
    try:
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror})") from None


def _number_routes(problem: Problem, routes: Sequence[Any]) -> list[tuple[int, Any]]:
    if len(problem.vehicle_types) == 1:
        return [(k, r) for k, r in enumerate(routes, 1)]
    first = 1
    firsts = []
    for vt in problem.vehicle_types:
        firsts.append(first)
        first = INF if vt.count is None else first + vt.count  # type: ignore[assignment]
    used = [0] * len(problem.vehicle_types)
    out = []
    for r in routes:
        v = r.vehicle_type
        vt = problem.vehicle_types[v]
        if math.isinf(firsts[v]):
            raise ValidationError("vehicle_types", f'type "{vt.id}" follows a type with an unlimited count: '
                                                   "its vehicles have no number in a .sol file")
        if vt.count is not None and used[v] >= vt.count:
            raise ValidationError("routes", f'more routes of type "{vt.id}" than its {vt.count} vehicles')
        out.append((int(firsts[v]) + used[v], r))
        used[v] += 1
    return sorted(out, key=lambda x: x[0])


def format_sol_cost(value: float) -> str:
    """A cost as a ``.sol`` file writes it: an integer when whole (to 6 decimals), else the shortest decimal."""
    if not math.isfinite(value):
        return str(value)
    rounded = round(value, 6)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)
