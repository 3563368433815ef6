"""The batched routing environment of the neural solvers: vrpkit's whole problem model on torch tensors.

:func:`to_batch` turns problems into a :class:`Batch` (padded to the largest of each size, so that one
batch may mix variants) and :class:`RoutingEnv` builds plans in it step by step, ``(B, S)`` at a time: ``B``
problems, ``S`` rollouts of each (POMO's starts, samples). The state is a :class:`State`, a dict of tensors
with the batch dimensions first (RL4CO's TensorDict, without the dependency): :meth:`RoutingEnv.reset`,
:meth:`RoutingEnv.step`, :meth:`RoutingEnv.reward`, and :meth:`RoutingEnv.solutions` back to
:class:`~vrpkit.solution.Solution`.

Actions (``V`` vehicle types, ``N`` clients, both padded; ``V + N`` actions):

- ``a < V`` with no route open: open a vehicle of type ``a`` (at its start depot). Allowed while the type
  has vehicles left (``count``) and some unserved client fits a route of its own on it.
- ``a < V`` with a route open: ``a`` is the route's type, and the route is closed (driven to its end depot,
  or ended at its last client when open). Allowed once the route has a client; closing it empty, allowed
  once every required client is served, ends the plan (``state["finished"]``; the vehicle is not used):
  so a plan may leave out optional clients that would still fit.
- ``a = V + c``: serve client ``c`` next on the open route.
- A rollout is done when it is finished, or when no route is open and no vehicle can be opened: every
  client that fits is served, or the required ones left fit no vehicle that is left (the plan then misses
  them: ``state["missing"]``, infeasible for the evaluator). A done rollout's only action is ``0``, which
  changes nothing.

The step mask is the AND of the named booleans of :class:`vrpkit.solvers.tensors.Rules` (the torch ant
colony's rules: ``distance_limit``, ``capacity``, ``backhaul``, ``time_window``, ``shift``,
``duration_limit``, ``prize``; the route closed after the client must stay feasible; ``prize``, an optional
client's prize above its detour, is waived for a route's first client, since optional clients that do not
pay alone may pay together) and of the
environment's own ``unvisited`` and ``vehicle`` (fleet size, or the open route's type);
``state["masks"]`` holds them all, shaped ``(B, S, V, N)`` (``(B, S, V, N, W)`` per window for the time
rules). A client with several windows is served in its earliest window that keeps the route feasible.

Units: the rules and costs are computed in the problem's raw units (float64), so that the cost of a plan is
the evaluator's (:func:`vrpkit.evaluate`, to 1e-6); :attr:`Batch.features` are the normalised inputs of a
policy (coordinates in the unit square, loads by capacity, times by the horizon, see :func:`to_batch`). The
problem keeps its units. Reward: minus the plan's cost (fixed costs, distance and duration costs of every
route, prizes of optional clients left out); with several windows per client and a cost per duration the
segments' durations may exceed the evaluator's, and a finished plan's cost is the evaluator's
(:meth:`RoutingEnv.cost`).

Every attribute of the model is supported (:data:`SUPPORTED`); a problem with another one, or without
clients, is refused with a :class:`~vrpkit.errors.ValidationError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from vrpkit.solvers.aco import end_nodes, fleet_counts
from vrpkit.solvers.localsearch import (
    C_K,
    C_STRICT,
    C_TIME,
    CAP,
    DIST,
    DUR,
    EARLY,
    FIRST,
    LAST,
    LATE,
    LOAD,
    MAXDIST,
    MAXDUR,
    TWARP,
    compile_problem,
)
from vrpkit.solvers.tensors import Rules, available, cat, combine, pair, rows, score

from vrpkit.errors import SolverError, ValidationError
from vrpkit.evaluate import evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

SUPPORTED = frozenset({
    "capacity", "open", "backhaul", "mixed_backhaul", "duration_limit", "distance_limit", "time_windows",
    "multiple_time_windows", "multi_depot", "heterogeneous_fleet", "prizes",
})
"""The attributes (:data:`vrpkit.model.ATTRIBUTES`) the environment handles: all of them."""

UNBOUNDED = 10.0
"""The feature value of an unbounded quantity (no capacity, no limit), and the most any scaled limit shows."""

DTYPE = torch.float64


# -- problems -> tensors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Problems as padded tensors, ``B`` of them with at most ``D`` depots, ``N`` clients, ``V`` vehicle types,
    ``K`` capacity dimensions and ``W`` windows per client.

    Nodes: depots ``0 .. D - 1`` (a problem's depot ``d`` is node ``d``), clients ``D .. D + N - 1`` (its
    client ``i`` is node ``D + i``), and ``D + N``, the virtual end of open routes. Padding: clients that do
    not exist are served from the start (``exists`` False), vehicle types that do not exist have no vehicle,
    windows repeat a client's last one, capacity dimensions beyond a problem's are unlimited.

    Raw tensors (float64, the problem's units; segment rows in :mod:`vrpkit.solvers.localsearch`'s layout):
    ``dist``, ``dur`` (B, M + 1, M + 1) with ``M = D + N``; ``node`` (B, N, W, F) each client alone in each
    window; ``start``, ``end`` (B, V, F) the depot segments per type; ``vt`` (B, V, 5 + K) costs, limits and
    capacities; ``start_nodes``, ``end_nodes``, ``counts`` (B, V) long (``counts`` -1: unlimited);
    ``required``, ``exists`` (B, N) bool; ``prize`` (B, N); ``use_time``, ``strict``, ``exact`` (B,) bool.
    """

    problems: tuple[Problem, ...]
    dist: torch.Tensor
    dur: torch.Tensor
    node: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    vt: torch.Tensor
    start_nodes: torch.Tensor
    end_nodes: torch.Tensor
    counts: torch.Tensor
    required: torch.Tensor
    exists: torch.Tensor
    prize: torch.Tensor
    use_time: torch.Tensor
    strict: torch.Tensor
    exact: torch.Tensor
    """(B,) bool: the segments' cost is the evaluator's (False: several windows per client and a cost per
    duration, see :meth:`RoutingEnv.cost`)."""
    features: dict[str, torch.Tensor] = field(repr=False)
    """Normalised inputs of a policy (see :func:`to_batch`)."""
    scales: dict[str, torch.Tensor] = field(repr=False)
    """What the features were divided by: ``distance``, ``time``, ``cost`` (B,) and ``capacity`` (B, K)."""

    @property
    def shape(self) -> tuple[int, int, int, int, int, int]:
        """``(B, D, N, V, K, W)``."""
        b, n, w, f = self.node.shape
        return b, int(self.dist.shape[1]) - 1 - n, n, int(self.vt.shape[1]), (f - LOAD) // 3, w

    @property
    def device(self) -> torch.device:
        return self.dist.device


def check(problem: Problem, path: str = "problem") -> None:
    """Raise :class:`ValidationError` when the environment cannot take ``problem`` (an attribute outside
    :data:`SUPPORTED`, or no client), naming what it lacks."""
    lacking = sorted(problem.attributes - SUPPORTED)
    if lacking:
        raise ValidationError(path, f"the neural environment does not support {', '.join(lacking)} "
                                    f"(problem {problem.name!r}, variant {problem.variant})")
    if problem.n_clients == 0:
        raise ValidationError(f"{path}.clients", "the neural environment needs at least one client")


def _relayout(seg: np.ndarray, k_from: int, k_to: int) -> np.ndarray:
    """Segment rows with ``k_from`` capacity dimensions as rows with ``k_to`` (the others zero)."""
    out = np.zeros((*seg.shape[:-1], LOAD + 3 * k_to))
    out[..., :LOAD] = seg[..., :LOAD]
    for part in range(3):
        out[..., LOAD + part * k_to:LOAD + part * k_to + k_from] = seg[..., LOAD + part * k_from:
                                                                       LOAD + (part + 1) * k_from]
    return out


def _time_scale(p: Problem) -> float:
    """The horizon of the time features: the latest finite time bound (depot closing, shift end, window end),
    else :attr:`Problem.horizon`."""
    ends = [d.time_window[1] for d in p.depots] + [vt.shift[1] for vt in p.vehicle_types] + \
        [w[1] for c in p.clients for w in c.time_windows]
    finite = [x for x in ends if math.isfinite(x)]
    scale = max(finite) if finite else p.horizon
    return scale if scale > 0 else 1.0


def _distance_scale(p: Problem) -> float:
    """The side of the coordinates' bounding square for planar problems, else the longest distance."""
    locs = p.locations
    if p.coordinates == "planar" and locs is not None:
        span = float((locs.max(axis=0) - locs.min(axis=0)).max())
        if span > 0:
            return span
    longest = float(p.distance.max())
    return longest if longest > 0 else 1.0


def _scaled(x: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """``x / scale`` with infinite values (and anything beyond) shown as :data:`UNBOUNDED`."""
    return np.minimum(np.where(np.isfinite(x), x, np.inf) / scale, UNBOUNDED)


def to_batch(problems: Sequence[Problem], *, device: str | torch.device = "cpu") -> Batch:
    """``problems`` as one padded :class:`Batch` on ``device``.

    Features (float32; ``Batch.scales`` holds the divisors per problem): ``locs`` (B, M, 2) coordinates in the
    unit square (shifted to the origin and divided by the larger side of their bounding box; zero without
    locations: ``has_locs``); ``distance`` (B, M, M) by the same length (by the longest distance without
    planar coordinates); ``duration`` (B, M, M), ``service`` (B, N), ``windows`` (B, N, W, 2),
    ``depot_windows`` (B, D, 2), ``shift`` (B, V, 2), ``max_duration`` (B, V) by the time scale (the latest
    finite time bound of the problem, else :attr:`Problem.horizon`); ``delivery``, ``pickup`` (B, N, K) and
    ``capacity`` (B, V, K) by the largest finite capacity of each dimension (else the total demand);
    ``max_distance`` (B, V) by the length; ``prize`` (B, N), ``fixed_cost``, ``cost_per_distance`` (per unit
    of scaled length), ``cost_per_duration`` (per unit of scaled time) (B, V) by the cost scale (the largest
    ``cost_per_distance`` times the length, else 1); ``required``, ``exists`` (B, N), ``open``,
    ``type_exists`` (B, V), ``start_depot``, ``end_depot`` (B, V) long (-1: open), ``count`` (B, V) long
    (-1: unlimited, 0: padding). Unbounded values show as :data:`UNBOUNDED`, and so does any scaled value
    beyond it.
    """
    if not problems:
        raise ValidationError("problems", "the batch is empty")
    for b, p in enumerate(problems):
        check(p, f"problems[{b}]")
    datas = [compile_problem(p, granularity=1) for p in problems]
    B = len(problems)
    D = max(p.n_depots for p in problems)
    N = max(p.n_clients for p in problems)
    V = max(len(p.vehicle_types) for p in problems)
    K = max(p.n_dims for p in problems)
    W = max(int(p.time_windows.shape[1]) for p in problems)
    M = D + N
    F = LOAD + 3 * K
    dist = np.zeros((B, M + 1, M + 1))
    dur = np.zeros((B, M + 1, M + 1))
    node = np.zeros((B, N, W, F))
    node[..., LATE] = np.inf
    node[..., FIRST] = node[..., LAST] = D + np.arange(N)[None, :, None]
    start = np.zeros((B, V, F))
    start[..., LATE] = np.inf
    end = np.zeros((B, V, F))
    end[..., LATE] = np.inf
    vt = np.zeros((B, V, CAP + K))
    vt[..., MAXDUR] = vt[..., MAXDIST] = np.inf
    vt[..., CAP:] = np.inf
    start_nodes = np.zeros((B, V), np.int64)
    ends = np.zeros((B, V), np.int64)
    counts = np.zeros((B, V), np.int64)
    required = np.zeros((B, N), bool)
    exists = np.zeros((B, N), bool)
    prize = np.zeros((B, N))
    use_time = np.zeros(B, bool)
    strict = np.zeros(B, bool)
    exact = np.ones(B, bool)
    feats = {
        "locs": np.zeros((B, M, 2)), "has_locs": np.zeros(B, bool), "distance": np.zeros((B, M, M)),
        "duration": np.zeros((B, M, M)), "service": np.zeros((B, N)), "windows": np.zeros((B, N, W, 2)),
        "depot_windows": np.zeros((B, D, 2)), "shift": np.zeros((B, V, 2)), "max_duration": np.zeros((B, V)),
        "delivery": np.zeros((B, N, K)), "pickup": np.zeros((B, N, K)), "capacity": np.zeros((B, V, K)),
        "max_distance": np.zeros((B, V)), "prize": np.zeros((B, N)), "fixed_cost": np.zeros((B, V)),
        "cost_per_distance": np.zeros((B, V)), "cost_per_duration": np.zeros((B, V)),
        "open": np.zeros((B, V), bool), "type_exists": np.zeros((B, V), bool),
        "end_depot": np.zeros((B, V), np.int64),
    }
    scales = {"distance": np.ones(B), "time": np.ones(B), "cost": np.ones(B), "capacity": np.ones((B, K))}
    for b, (p, data) in enumerate(zip(problems, datas, strict=True)):
        nd, n, nv, k, w = p.n_depots, p.n_clients, len(p.vehicle_types), p.n_dims, int(p.time_windows.shape[1])
        idx = np.concatenate([np.arange(nd), D + np.arange(n), [M]])  # local node (virtual end last) -> ours
        dist[b][np.ix_(idx, idx)] = data.dist
        dur[b][np.ix_(idx, idx)] = data.dur
        alt = _relayout(data.alt, k, K).reshape(w, n, F).transpose(1, 0, 2)  # (n, w, F)
        node[b, :n, :w] = alt
        node[b, :n, w:] = alt[:, -1:]
        node[b, :n, :, FIRST] = node[b, :n, :, LAST] = D + np.arange(n)[:, None]
        start[b, :nv] = _relayout(data.start, k, K)
        end[b, :nv] = _relayout(data.end, k, K)
        end[b, :nv, FIRST] = end[b, :nv, LAST] = idx[data.end[:, FIRST].astype(np.int64)]
        vt[b, :nv, :CAP] = data.vt[:, :CAP]
        vt[b, :nv, CAP:CAP + k] = data.vt[:, CAP:]
        start_nodes[b, :nv] = p.vehicle_start
        ends[b, :nv] = idx[end_nodes(p)]
        counts[b, :nv] = fleet_counts(p)
        required[b, :n] = p.required
        exists[b, :n] = True
        prize[b, :n] = p.prize
        use_time[b] = bool(data.flags[C_TIME - C_K])
        strict[b] = bool(data.flags[C_STRICT - C_K])
        exact[b] = w == 1 or not any(v.cost_per_duration > 0 for v in p.vehicle_types)

        length, horizon = _distance_scale(p), _time_scale(p)
        cap = np.where(np.isfinite(p.capacity), p.capacity, 0.0).max(axis=0)
        total = np.maximum(p.delivery.sum(axis=0), p.pickup.sum(axis=0)).astype(float)
        cap = np.where(cap > 0, cap, np.where(total > 0, total, 1.0))
        vts = p.vehicle_types
        cpd = np.array([v.cost_per_distance for v in vts])
        cpt = np.array([v.cost_per_duration for v in vts])
        money = float(cpd.max()) * length
        money = money if money > 0 else 1.0
        scales["distance"][b], scales["time"][b], scales["cost"][b] = length, horizon, money
        scales["capacity"][b, :k] = cap
        locs = p.locations
        if locs is not None:
            feats["has_locs"][b] = True
            shifted = (locs - locs.min(axis=0)) / (length if p.coordinates == "planar" else max(
                float((locs.max(axis=0) - locs.min(axis=0)).max()), 1e-12))
            feats["locs"][b, idx[:-1]] = shifted
        feats["distance"][b][np.ix_(idx[:-1], idx[:-1])] = p.distance / length
        feats["duration"][b][np.ix_(idx[:-1], idx[:-1])] = np.minimum(p.duration / horizon, UNBOUNDED)
        feats["service"][b, :n] = np.minimum(p.service_time / horizon, UNBOUNDED)
        tw = _scaled(p.time_windows, horizon)
        feats["windows"][b, :n, :w] = tw
        feats["windows"][b, :n, w:] = tw[:, -1:]
        feats["depot_windows"][b, :nd] = _scaled(p.depot_windows, horizon)
        feats["shift"][b, :nv] = _scaled(np.array([v.shift for v in vts], float), horizon)
        feats["max_duration"][b, :nv] = _scaled(np.array([v.max_duration for v in vts]), horizon)
        feats["max_distance"][b, :nv] = _scaled(np.array([v.max_distance for v in vts]), length)
        feats["delivery"][b, :n, :k] = p.delivery / cap
        feats["pickup"][b, :n, :k] = p.pickup / cap
        feats["capacity"][b, :nv, :k] = _scaled(p.capacity, cap)
        feats["capacity"][b, :nv, k:] = UNBOUNDED
        feats["prize"][b, :n] = p.prize / money
        feats["fixed_cost"][b, :nv] = np.array([v.fixed_cost for v in vts]) / money
        feats["cost_per_distance"][b, :nv] = cpd * length / money
        feats["cost_per_duration"][b, :nv] = cpt * horizon / money
        feats["open"][b, :nv] = p.vehicle_end < 0
        feats["type_exists"][b, :nv] = True
        feats["end_depot"][b, :nv] = p.vehicle_end
    # features that are the rules' arrays as they are (copies: tensors of their own)
    feats.update(required=required.copy(), exists=exists.copy(), start_depot=start_nodes.copy(),
                 count=counts.copy())

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValidationError("device", f"{device!r} is not a torch device (cpu, cuda, cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SolverError(f'neural environment: device "{device}" is not available (no GPU found)')

    def up(x: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x))
        return t.to(device=dev, dtype=dtype or t.dtype)

    def feature(x: np.ndarray) -> torch.Tensor:
        return up(x, torch.float32 if x.dtype == np.float64 else None)

    return Batch(
        problems=tuple(problems), dist=up(dist, DTYPE), dur=up(dur, DTYPE), node=up(node, DTYPE),
        start=up(start, DTYPE), end=up(end, DTYPE), vt=up(vt, DTYPE), start_nodes=up(start_nodes),
        end_nodes=up(ends), counts=up(counts), required=up(required), exists=up(exists), prize=up(prize, DTYPE),
        use_time=up(use_time), strict=up(strict), exact=up(exact),
        features={k: feature(x) for k, x in feats.items()},
        scales={k: up(x, DTYPE) for k, x in scales.items()},
    )


# -- the environment ---------------------------------------------------------------------------------------


class State(dict):
    """The state of ``(B, S)`` rollouts: a dict of tensors whose first two dimensions are ``(B, S)``.

    ``route`` (B, S, F) the open route's segment so far (from its start depot); ``vehicle`` (B, S) its type
    (-1: none open); ``current`` (B, S) the node it is at; ``size`` (B, S) its clients; ``visited`` (B, S, N);
    ``window`` (B, S, N) the window each served client was served in; ``used`` (B, S, V) vehicles per type;
    ``cost`` (B, S) the cost of the closed routes (raw units); ``violation`` (B, S) their violations as the
    rules count them (0 unless the rules and the segments disagree); ``finished`` (B, S) the plan was ended by
    closing an empty route; ``done``; ``missing`` (B, S) required clients not served; ``actions``
    (B, S, 3 N + 2) the actions taken (-1 once done; written in place, so a state's actions are those before
    its ``step``, an int: the steps taken); ``masks`` the named booleans and ``action_mask`` (B, S, V + N)
    their AND; ``win`` (B, S, V, N) each client's earliest fitting window (absent with one window per
    client).
    """

    @property
    def batch_shape(self) -> tuple[int, int]:
        b, s = self["vehicle"].shape
        return b, s


class RoutingEnv:
    """Build plans for a :class:`Batch` (or problems, converted by :func:`to_batch`); see the module."""

    def __init__(self, batch: Batch | Sequence[Problem], *, device: str | torch.device = "cpu") -> None:
        self.batch = batch if isinstance(batch, Batch) else to_batch(batch, device=device)
        bt = self.batch
        self.B, self.D, self.N, self.V, self.K, self.W = bt.shape
        self.n_actions = self.V + self.N
        self.rules = Rules(dist=bt.dist, dur=bt.dur, node=bt.node, end=bt.end, vt=bt.vt, end_nodes=bt.end_nodes,
                           required=bt.required, prize=bt.prize, use_time=bt.use_time, strict=bt.strict,
                           n_depots=self.D)
        self.node_rows = bt.node.reshape(self.B, self.N * self.W, -1)  # row c W + w: client c in window w

    @property
    def device(self) -> torch.device:
        return self.batch.device

    def reset(self, starts: int = 1) -> State:
        """``starts`` empty rollouts of each problem: no route open, nothing served."""
        if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
            raise ValidationError("starts", f"expected a positive integer, got {starts!r}")
        B, S, N, V = self.B, starts, self.N, self.V
        dev, long = self.device, torch.long
        state = State(
            route=self.batch.start[:, :1].expand(B, S, -1).clone(),
            vehicle=torch.full((B, S), -1, dtype=long, device=dev),
            current=self.batch.start_nodes[:, :1].expand(B, S).clone(),
            size=torch.zeros((B, S), dtype=long, device=dev),
            visited=(~self.batch.exists)[:, None, :].expand(B, S, N).clone(),
            window=torch.zeros((B, S, N), dtype=long, device=dev),
            used=torch.zeros((B, S, V), dtype=long, device=dev),
            finished=torch.zeros((B, S), dtype=torch.bool, device=dev),
            cost=torch.zeros((B, S), dtype=DTYPE, device=dev),
            violation=torch.zeros((B, S), dtype=DTYPE, device=dev),
            actions=torch.full((B, S, 3 * N + 2), -1, dtype=long, device=dev),
            step=0,
        )
        return self._update_masks(state)

    def _update_masks(self, state: State) -> State:
        """The named booleans, the action mask, ``done`` and ``missing`` of ``state`` (set in place)."""
        bt, V = self.batch, self.V
        vehicle, size = state["vehicle"], state["size"]
        route_open = vehicle >= 0
        types = torch.arange(V, device=self.device)
        prefix = torch.where(route_open[..., None, None], state["route"][:, :, None, :], bt.start[:, None])
        frm = torch.where(route_open[..., None], state["current"][..., None], bt.start_nodes[:, None, :])
        masks = self.rules.masks(prefix, frm, rows(bt.dist, frm))
        if "prize" in masks:  # waived for a route's first client: several optional ones may pay together
            masks["prize"] = masks["prize"] | (~route_open | (size == 0))[..., None, None]
        masks["unvisited"] = ~state["visited"][:, :, None, :]
        own = types == vehicle[..., None]
        masks["vehicle"] = torch.where(route_open[..., None], own, available(state["used"], bt.counts[:, None])
                                       )[..., None]
        ok, win = combine(masks)  # (B, S, V, N)
        clients = ok.gather(2, vehicle.clamp_min(0)[..., None, None].expand(-1, -1, 1, self.N)).squeeze(2)
        clients = clients & route_open[..., None]
        missing = (~state["visited"] & bt.required[:, None, :]).sum(-1)
        may_close = (size > 0) | (missing == 0)
        vehicles = torch.where(route_open[..., None], own & may_close[..., None], ok.any(-1))
        done = state["finished"] | (~route_open & ~vehicles.any(-1))
        noop = torch.zeros_like(vehicles)
        noop[..., 0] = True
        action_mask = torch.cat([torch.where(done[..., None], noop, vehicles), clients], dim=-1)
        state["masks"] = masks
        state["action_mask"] = action_mask
        state["done"] = done
        state["missing"] = missing
        if win is None:
            state.pop("win", None)
        else:
            state["win"] = win
        return state

    def step(self, state: State, action: torch.Tensor, *, check: bool = True) -> State:
        """The state after ``action`` (B, S) long, which must be allowed by ``state["action_mask"]``: with
        ``check`` (two reads from the device) a :class:`ValidationError` says when it is not; done rollouts
        take action 0 and do not change."""
        bt, D, N, V, K = self.batch, self.D, self.N, self.V, self.K
        action = action.to(device=self.device, dtype=torch.long)
        if action.shape != state["vehicle"].shape:
            raise ValidationError("action", f"expected shape {tuple(state['vehicle'].shape)}, "
                                            f"got {tuple(action.shape)}")
        if check and (bool(((action < 0) | (action >= self.n_actions)).any()) or not bool(
                state["action_mask"].gather(-1, action.clamp(0, self.n_actions - 1)[..., None]).all())):
            raise ValidationError("action", "an action is not allowed by the action mask")
        live = ~state["done"]
        vehicle, current, route = state["vehicle"], state["current"], state["route"]
        route_open = vehicle >= 0
        is_vehicle = action < V
        opening = live & is_vehicle & ~route_open
        closing = live & is_vehicle & route_open
        finishing = closing & (state["size"] == 0)
        closing = closing & ~finishing
        visiting = live & ~is_vehicle
        v_cur = vehicle.clamp_min(0)
        c = (action - V).clamp(0, N - 1)
        # Serve client c in its earliest fitting window.
        w = torch.zeros_like(c)
        if "win" in state:
            w = state["win"].gather(2, v_cur[..., None, None].expand(-1, -1, 1, N)).squeeze(2)
            w = w.gather(2, c[..., None]).squeeze(-1).long()
        grown = cat(route, rows(self.node_rows, c * self.W + w), pair(bt.dist, current, D + c),
                    pair(bt.dur, current, D + c), K)
        # Close the route.
        e_node = bt.end_nodes.gather(1, v_cur)
        whole = cat(route, rows(bt.end, v_cur), pair(bt.dist, current, e_node), pair(bt.dur, current, e_node), K)
        r_cost, r_viol = score(whole, rows(bt.vt, v_cur), bt.use_time[:, None], bt.strict[:, None], K)
        # Open a vehicle.
        v_new = action.clamp(0, V - 1)
        fresh = rows(bt.start, v_new)
        route = torch.where(visiting[..., None], grown, torch.where(opening[..., None], fresh, route))
        state = State(state)
        state["route"] = route
        state["vehicle"] = torch.where(opening, v_new, torch.where(closing | finishing, -1, vehicle))
        state["finished"] = state["finished"] | finishing
        state["current"] = torch.where(visiting, D + c, torch.where(opening, bt.start_nodes.gather(1, v_new),
                                                                       current))
        state["size"] = torch.where(visiting, state["size"] + 1, torch.where(opening, 0, state["size"]))
        at = torch.where(visiting, c, N)[..., None]  # column N: a write to drop
        visited = torch.cat([state["visited"], torch.zeros_like(state["visited"][..., :1])], -1)
        state["visited"] = visited.scatter(2, at, True)[..., :N]
        window = torch.cat([state["window"], torch.zeros_like(state["window"][..., :1])], -1)
        state["window"] = window.scatter(2, at, w[..., None])[..., :N]
        state["used"] = state["used"].scatter_add(2, v_new[..., None], opening.long()[..., None]).scatter_add(
            2, v_cur[..., None], -finishing.long()[..., None])
        state["cost"] = state["cost"] + torch.where(closing, r_cost, 0.0)
        state["violation"] = state["violation"] + torch.where(closing, r_viol, 0.0)
        t = state["step"]
        if t < state["actions"].shape[-1]:  # in place: earlier states read their actions up to their step
            state["actions"][..., t] = torch.where(live, action, -1)
        state["step"] = t + 1
        return self._update_masks(state)

    def cost(self, state: State) -> torch.Tensor:
        """The cost (B, S) of each plan in raw units: its closed routes plus the prizes of the optional clients
        it leaves out (an open route is not counted until it is closed).

        With several windows per client and a cost per duration (``batch.exact`` False), the segments price
        each client in the window it joined in, while the evaluator may find a shorter schedule through other
        windows: there the cost of a finished plan is the evaluator's (on the CPU), and an unfinished one's
        an upper bound.
        """
        bt = self.batch
        left = ~state["visited"] & ~bt.required[:, None, :] & bt.exists[:, None, :]
        total = state["cost"] + torch.where(left, bt.prize[:, None, :], 0.0).sum(-1)
        inexact = (~bt.exact).nonzero().flatten().tolist()
        if inexact and bool(state["done"].all()):
            plans = self.solutions(state)
            fixed = total.clone()
            for b in inexact:
                values = [evaluate(bt.problems[b], plan).cost for plan in plans[b]]
                fixed[b] = torch.tensor(values, dtype=DTYPE, device=self.device)
            return fixed
        return total

    def reward(self, state: State) -> torch.Tensor:
        """Minus :meth:`cost` (B, S). A plan that misses required clients (``state["missing"]``) is infeasible
        and its reward does not count them: a trainer must penalise it."""
        return -self.cost(state)

    def rollout(self, state: State, policy: Callable[[State], torch.Tensor], *, check: bool = True) -> State:
        """Step with ``policy(state) -> action`` (B, S) until every rollout is done (at most 3 N + 2 steps:
        each client served, each route opened and closed, and the empty route that ends a plan)."""
        for _ in range(3 * self.N + 3):
            if bool(state["done"].all()):
                return state
            state = self.step(state, policy(state), check=check)
        if not bool(state["done"].all()):  # unreachable: every step serves a client or opens/closes a route
            raise SolverError("neural environment: the rollout did not finish within 3 N + 2 steps")
        return state

    def random_policy(self, generator: torch.Generator) -> Callable[[State], torch.Tensor]:
        """A policy that draws uniformly among the allowed actions (seeded by ``generator``)."""

        def policy(state: State) -> torch.Tensor:
            mask = state["action_mask"]
            u = torch.rand(mask.shape, generator=generator, device=mask.device)
            return torch.where(mask, u, -1.0).argmax(-1)

        return policy

    def solutions(self, state: State) -> list[list[Solution]]:
        """The plans of finished rollouts as solutions, ``[b][s]`` (client and vehicle type indices of problem
        ``b``); raises :class:`SolverError` while some rollout is not done."""
        if not bool(state["done"].all()):
            raise SolverError("neural environment: solutions of a rollout that is not done")
        acts = state["actions"][..., :state["step"]].cpu().numpy()
        V = self.V
        out = []
        for b in range(self.B):
            row = []
            for s in range(acts.shape[1]):
                a = acts[b, s]
                a = a[a >= 0]
                is_vehicle = a < V
                count = np.cumsum(is_vehicle)
                opens = np.flatnonzero(is_vehicle & (count % 2 == 1))
                route_of = (count - 1) // 2
                routes = []
                for r, pos in enumerate(opens):
                    members = a[(~is_vehicle) & (route_of == r)] - V
                    routes.append(Route(int(a[pos]), tuple(members.tolist())))
                row.append(Solution(tuple(routes), {"solver": "neural-env"}))
            out.append(row)
        return out

    def context(self, state: State) -> dict[str, torch.Tensor]:
        """Normalised step features of a decoder: ``vehicle`` and ``node`` (B, S) long (-1: no route open);
        ``time`` (B, S) the earliest departure from the current node; ``distance``, ``duration`` (B, S) of the
        route so far; ``distance_left``, ``duration_left`` (B, S) to the type's limits; ``delivered``,
        ``picked``, ``peak`` (B, S, K) loads of the route so far; ``room`` (B, S, K) capacity left above the
        peak; ``used`` (B, S, V) vehicles used by the number of clients. Scaled as :func:`to_batch`'s
        features; zero where no route is open."""
        bt, K = self.batch, self.K
        seg, vehicle = state["route"], state["vehicle"]
        route_open = vehicle >= 0
        on = route_open.to(DTYPE)
        vrow = rows(bt.vt, vehicle.clamp_min(0))
        length, horizon = bt.scales["distance"][:, None], bt.scales["time"][:, None]
        cap = bt.scales["capacity"][:, None, :]

        def clip(x: torch.Tensor) -> torch.Tensor:
            return torch.nan_to_num(x, nan=UNBOUNDED, posinf=UNBOUNDED).clamp(max=UNBOUNDED).float()

        peak = seg[..., LOAD + 2 * K:]
        return {
            "vehicle": vehicle, "node": torch.where(route_open, state["current"], -1),
            "time": clip(on * (seg[..., EARLY] + seg[..., DUR] - seg[..., TWARP]) / horizon),
            "distance": clip(on * seg[..., DIST] / length), "duration": clip(on * seg[..., DUR] / horizon),
            "distance_left": clip(on * (vrow[..., MAXDIST] - seg[..., DIST]) / length),
            "duration_left": clip(on * (vrow[..., MAXDUR] - seg[..., DUR]) / horizon),
            "delivered": clip(on[..., None] * seg[..., LOAD:LOAD + K] / cap),
            "picked": clip(on[..., None] * seg[..., LOAD + K:LOAD + 2 * K] / cap),
            "peak": clip(on[..., None] * peak / cap),
            "room": clip(on[..., None] * (vrow[..., CAP:] - peak) / cap),
            "used": (state["used"].to(DTYPE) / self.N).float(),
        }


__all__ = ["SUPPORTED", "UNBOUNDED", "Batch", "RoutingEnv", "State", "check", "to_batch"]

