"""Synthetic instances (seeded): RouteFinder's multi-task distribution, the classic integer grid, real roads.

One entry point: :func:`generate` ``(variant, n_clients, *, seed, distribution)`` returns a
:class:`~vrpkit.model.Problem`; :func:`generate_many` draws a reproducible set (instance ``i`` from
:func:`instance_seed` ``(seed, i)``: child ``i`` of ``numpy.random.SeedSequence(seed)``); the CLI is
``vrpkit generate --distribution routefinder --variant V``. Distributions:

``routefinder`` (the default of :func:`generate`): RouteFinder's MTVRP generator (ai4co/routefinder,
``routefinder/envs/mtvrp/generator.py`` and ``data/generate.py``; also MTPOMO's and MVMoE's test sets), so that
costs compare with theirs. A variant is a set of attributes, named as RouteFinder names them
(:data:`ROUTEFINDER_VARIANTS`: ``cvrp``, ``ovrp``, ``vrpb``, ``vrpl``, ``vrptw``, ..., ``ovrpmbltw``), plus
ours (:class:`Variant`, grammar ``[md][hf][pc][o]vrp[b|mb][l][tw|mtw]``). Formulas (``n`` clients):

- Locations: depot and clients uniform in the unit square ``[0, 1)²``; Euclidean distances, unrounded,
  durations equal distances (RouteFinder's speed 1).
- Capacity :func:`routefinder_capacity`: 30 for ``n <= 20``, ``30 + n // 5`` up to 1,000 (40 at 50, 50 at
  100), ``230 + (n - 1000) // 33.3`` beyond. One vehicle type, no count limit (RouteFinder's fleet is
  unbounded too).
- Demands: integers uniform in 1..9. RouteFinder's docs say 1-10, but its code draws ``int(U(0, 9)) + 1``
  (training) and ``randint(1, 10)`` (test data): both 1..9; we follow the code.
- Backhaul ``b`` (strict: ``Problem.backhaul = "strict"``, every delivery before the first pickup on a route)
  and ``mb`` (mixed): each client is a backhaul client with probability 0.2; it has a pickup drawn like a
  demand and no delivery, the others a delivery and no pickup. Without ``b``/``mb`` every client has a
  delivery (RouteFinder adds the pickup into the delivery). Difference: RouteFinder's mixed-backhaul mask
  counts only what was delivered and picked up so far; vrpkit's load holds every delivery of the route from
  the start (:mod:`vrpkit.evaluate`), so a plan of RouteFinder's that overloads mid-route is infeasible here.
- Time windows ``tw``: service time ``s ~ U(0.15, 0.18)``, length ``w ~ U(0.18, 0.2)``, start
  ``e = d + (4.6 - s - w - 2d) U`` with ``d`` the depot-client distance (RouteFinder's
  ``(1 + (h - 1) U) d`` with ``h = (4.6 - s - w) / d - 1``: the same number), end ``e + w``; the depot
  opens over ``[0, 4.6]``. So each client is reached by its window's start and served alone back by 4.6.
  Without windows service times are 0 (as RouteFinder). Open routes need not return by 4.6 (as
  RouteFinder: vrpkit's open routes end at their last client).
- Distance limit ``l`` (route length, :attr:`VehicleType.max_distance`; RouteFinder calls it a duration
  limit, ``L``): ``U(2 max_i d_0i + 1e-6, max(2.8, 2 max_i d_0i + 2e-6))`` per instance; open routes do not
  count a return (as RouteFinder).
- Open ``o``: vehicles end at their last client.

Our attributes on top (RouteFinder has only the first, in ``envs/mtdvrp``):

- ``md``: ``n_depots`` (default 3) depots, the extra ones uniform in the square too; one vehicle type per
  depot, returning to it. With windows ``d`` is the largest distance from any depot (RouteFinder's MTDVRP
  rule: each client can be served alone from every depot); the limit's lower end uses the depot whose
  farthest client is nearest (``2 min_k max_i d_ki``, also MTDVRP's).
- ``hf``: a mixed fleet (:data:`FLEET`) per depot: small (capacity ``round(0.6 Q)``, fixed cost 0.5),
  standard (``Q``, 0.75) and large (``round(1.6 Q)``, 1.0), unbounded counts, cost per distance 1: larger
  vehicles cost less per unit of capacity.
- ``pc``: prizes; every client optional with prize ``2 d U``, ``d`` the distance to its nearest depot (at
  most a lone round trip's cost).
- ``mtw``: two windows per client instead of one, both of length ``w``, with the same service time: with
  ``a = d``, ``z = 4.6 - s - w - d`` (the earliest and the latest start of ``tw``) and ``m = (a + z) / 2``,
  the first starts at ``a + (m - w - a) U`` (so it ends before ``m``), the second at ``m + (z - m) U``.

Every quantity is drawn for every variant, in one order (:func:`sample_routefinder`), and each variant keeps
what it uses: one seed gives the same clients to ``cvrp``, ``vrptw``, ``mdvrp``... Differences to RouteFinder
beyond those above: numpy's generator (float64) instead of torch's (float32), so instances are the same
distribution, not the same numbers; raw units in the problem (RouteFinder divides demands by the capacity;
normalise in neural features only).

``uniform``: :func:`uniform_instance` (below; also the default of ``vrpkit generate``): the classic random
CVRP of the learning literature on the integer grid ``[0, 100]²``, variants :data:`VARIANTS`.

``clustered``: :func:`clustered_instance` (below): clients around a few seeds on ``[0, 1000]²``, as in Uchoa
et al.'s X generator, variants :data:`VARIANTS`.

``fleet``: :func:`fleet_instance` (below): a real fleet's day on Solomon's grid, any combination of
shipments (``pdp``, Li & Lim's style), multi-trip (``mt``), windows (``tw``), release times (``rt``), lunch breaks
(``br``) and skills (``sk``), named ``[mt](pdp|vrp)[tw][rt][br][sk]`` as :attr:`Problem.variant` names them; such
a name picks this distribution by itself. :data:`FLEET_VARIANTS` are the benchmark sets
(``examples/bench_fleet.py``).

``osm``: :func:`vrpkit.roads.generate.generate_osm_instance`: clients and depot on the streets of an
OpenStreetMap extract (``pbf=``, e.g. ``../shared/data/osm/monaco.osm.pbf``), OSRM matrices; ``cvrp`` or
``vrptw``.

:func:`uniform_instance` draws the classic random CVRP of the learning literature with integer data:
``n_clients`` clients at uniform integer coordinates in ``[0, grid]²``, the depot at the centre, integer
demands uniform in ``demand`` (1-9) and one vehicle type of ``capacity`` 50 without a count limit; distances
are Euclidean (unrounded unless ``round`` says otherwise, see :mod:`vrpkit.matrix`) and durations equal
distances. ``variant="vrptw"`` adds a service time and a time window per client that a vehicle serving only
that client can meet, inside the depot's opening ``[0, horizon]`` (as :mod:`vrpkit.roads.generate` does on
real roads). ``variant="ovrp"`` is the CVRP with open routes: vehicles end at their last client.
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.model import INF, MAX_VALUE, SAME_AS_START, Break, Client, Depot, Problem, Shipment, VehicleType

VARIANTS = ("cvrp", "ovrp", "vrptw")
"""The variants of :func:`uniform_instance` (the classic integer grid)."""

DISTRIBUTIONS = ("routefinder", "uniform", "osm", "svrp", "clustered", "fleet")
"""What :func:`generate` draws from: RouteFinder's unit square, the integer grid, the streets of an extract,
SVRPBench-style stochastic cities (:func:`svrp_instance`), clients around a few seeds
(:func:`clustered_instance`), or a real fleet's day (:func:`fleet_instance`: shipments, multi-trip, release
times, breaks, skills)."""

ROUTEFINDER_VARIANTS = (
    "cvrp", "ovrp", "vrpb", "vrpl", "vrptw", "ovrptw", "ovrpb", "ovrpl", "vrpbl", "vrpbtw", "vrpltw", "ovrpbl",
    "ovrpbtw", "ovrpltw", "vrpbltw", "ovrpbltw", "vrpmb", "ovrpmb", "vrpmbl", "vrpmbtw", "ovrpmbl", "ovrpmbtw",
    "vrpmbltw", "ovrpmbltw",
)
"""RouteFinder's 24 variants (16 with strict backhaul ``b``, 8 more with mixed backhaul ``mb``), its names."""

MAX_TIME = 4.6
"""RouteFinder's horizon: the depot's closing time with time windows."""
MAX_DISTANCE_LIMIT = 2.8
"""RouteFinder's upper end of the route length limit (about 2·√2)."""
BACKHAUL_RATIO = 0.2
"""The probability that a client is a backhaul (pickup) client in a ``b`` or ``mb`` variant."""
DEMAND = (1, 9)
"""Integer demands (and pickups), uniform, both ends included."""
SERVICE_TIME = (0.15, 0.18)
"""Uniform range of the service times with time windows."""
WINDOW_LENGTH = (0.18, 0.2)
"""Uniform range of the time window lengths."""
N_DEPOTS = 3
"""Depots of an ``md`` variant unless ``n_depots`` says otherwise (RouteFinder's multi-depot default)."""
FLEET = (("small", 0.6, 0.5), ("standard", 1.0, 0.75), ("large", 1.6, 1.0))
"""The mixed fleet of an ``hf`` variant: (name, capacity as a share of the capacity, fixed cost)."""

_NAME = re.compile(r"(md)?(hf)?(pc)?(o)?(c?vrp)(mb|b)?(l)?(mtw|tw)?")


@dataclass(frozen=True)
class Variant:
    """A variant as a set of attributes: RouteFinder's ``o``, ``b``/``mb``, ``l``, ``tw`` and our ``md``
    (several depots), ``hf`` (a mixed fleet with fixed costs), ``pc`` (prizes: every client optional) and
    ``mtw`` (two time windows per client)."""

    open: bool = False
    backhaul: str | None = None  # None, "strict" or "mixed"
    limit: bool = False
    windows: int = 0  # 0, 1 or 2 time windows per client
    multi_depot: bool = False
    fleet: bool = False
    prizes: bool = False

    def __post_init__(self) -> None:
        if self.backhaul not in (None, "strict", "mixed"):
            raise ValidationError("backhaul", f'{self.backhaul!r} is not None, "strict" or "mixed"')
        if self.windows not in (0, 1, 2) or isinstance(self.windows, bool):
            raise ValidationError("windows", f"{self.windows!r} is not 0, 1 or 2 windows per client")

    @property
    def name(self) -> str:
        """The canonical name: ``[md][hf][pc][o]vrp[b|mb][l][tw|mtw]``, plain ``cvrp`` without attributes."""
        prefix = "".join(tag for on, tag in ((self.multi_depot, "md"), (self.fleet, "hf"), (self.prizes, "pc"),
                                             (self.open, "o")) if on)
        suffix = {None: "", "strict": "b", "mixed": "mb"}[self.backhaul] + ("l" if self.limit else "") + \
            ("", "tw", "mtw")[self.windows]
        return prefix + "vrp" + suffix if prefix or suffix else "cvrp"


def parse_variant(name: str) -> Variant:
    """The attributes named by ``name`` (case-insensitive, e.g. ``ovrpbltw``, ``mdhfvrptw``, ``pcvrpmtw``)."""
    match = _NAME.fullmatch(name.lower()) if isinstance(name, str) else None
    if match is None:
        raise ValidationError("variant", f'"{name}" is not [md][hf][pc][o]vrp[b|mb][l][tw|mtw] (e.g. cvrp, ovrp, '
                                         f'vrpb, vrpl, vrptw, vrpmb, mdvrp, hfvrp, pcvrp, vrpmtw)')
    md, hf, pc, o, _, b, lim, tw = match.groups()
    return Variant(open=bool(o), backhaul={None: None, "b": "strict", "mb": "mixed"}[b], limit=bool(lim),
                   windows={None: 0, "tw": 1, "mtw": 2}[tw], multi_depot=bool(md), fleet=bool(hf),
                   prizes=bool(pc))


def routefinder_capacity(n_clients: int) -> int:
    """RouteFinder's capacity: 30 up to 20 clients, ``30 + n // 5`` up to 1,000 (40 for 50, 50 for 100), then
    ``230 + (n - 1000) // 33.3`` (GLOP's: 260 for 2,000)."""
    if n_clients > 1000:
        return 230 + int((n_clients - 1000) // 33.3)
    return 30 + (n_clients // 5 if n_clients > 20 else 0)


@dataclass(frozen=True)
class RouteFinderBatch:
    """``batch`` instances of one variant as arrays (raw units; depots first in ``locations``).

    ``locations`` (B, D + N, 2); ``delivery``, ``pickup`` (B, N) integers; ``service_time`` (B, N);
    ``windows`` (B, N, W, 2) with W = max(1, windows per client); ``depot_close`` (B,) (inf without windows);
    ``distance_limit`` (B,) (inf without ``l``); ``prize`` (B, N) (0 without ``pc``); ``capacity`` the
    standard vehicle's. :meth:`problem` builds instance ``b`` as a :class:`~vrpkit.model.Problem`.
    """

    variant: Variant
    n_depots: int
    capacity: int
    locations: np.ndarray
    delivery: np.ndarray
    pickup: np.ndarray
    service_time: np.ndarray
    windows: np.ndarray
    depot_close: np.ndarray
    distance_limit: np.ndarray
    prize: np.ndarray

    def problem(self, b: int, name: str | None = None) -> Problem:
        """Instance ``b`` of the batch."""
        v, nd = self.variant, self.n_depots
        xy = self.locations[b].tolist()
        close = float(self.depot_close[b])
        depot_ids = ["depot"] if nd == 1 else [f"depot{d + 1}" for d in range(nd)]
        depots = tuple(Depot(depot_ids[d], tuple(xy[d]), (0.0, close)) for d in range(nd))
        windows = self.windows[b].tolist()
        n = self.delivery.shape[1]
        clients = tuple(
            Client(f"c{i + 1}", tuple(xy[nd + i]), delivery=int(q) or (), pickup=int(p) or (),  # () for none
                   service_time=float(s), time_windows=tuple(tuple(w) for w in windows[i]), prize=float(prize),
                   required=not v.prizes)
            for i, q, p, s, prize in zip(range(n), self.delivery[b].tolist(), self.pickup[b].tolist(),
                                         self.service_time[b].tolist(), self.prize[b].tolist(), strict=True))
        kinds = [(k, _fleet_capacity(self.capacity, share), fixed) for k, share, fixed in FLEET] if v.fleet else \
            [("vehicle", self.capacity, 0.0)]
        limit = float(self.distance_limit[b])
        vehicles = tuple(
            VehicleType(kind if nd == 1 else f"{kind}-{depot_ids[d]}", capacity=cap, start_depot=depot_ids[d],
                        end_depot=None if v.open else depot_ids[d], max_distance=limit, fixed_cost=fixed)
            for d in range(nd) for kind, cap, fixed in kinds)
        return Problem(name or f"{v.name}-n{n}", depots, clients, vehicles,
                       backhaul="strict" if v.backhaul == "strict" else "mixed")


def _fleet_capacity(capacity: int, share: float) -> int:
    return round_(capacity * share)


def sample_routefinder(
    variant: str | Variant,
    n_clients: int,
    batch: int,
    *,
    rng: np.random.Generator,
    capacity: int | None = None,
    n_depots: int | None = None,
) -> RouteFinderBatch:
    """``batch`` instances of RouteFinder's distribution for ``variant`` from ``rng`` (see the module).

    Every quantity is drawn for every variant in the same order (depot 0 and clients, demands, backhaul
    flags, service times, window lengths, window and limit and prize uniforms, then the other depots), and the
    variant keeps what it uses: one seed gives the same clients for ``cvrp``, ``vrptw``, ``mdvrp``, ...
    """
    v = variant if isinstance(variant, Variant) else parse_variant(variant)
    _check_positive("n_clients", n_clients)
    _check_positive("batch", batch)
    cap = routefinder_capacity(n_clients) if capacity is None else capacity
    _check_positive("capacity", cap)
    smallest = min(_fleet_capacity(cap, share) for _, share, _ in FLEET) if v.fleet else cap
    if smallest < DEMAND[1]:
        what = f"{cap} gives the small vehicle {smallest}" if v.fleet else str(cap)
        raise ValidationError("capacity", f"{what} < the largest demand {DEMAND[1]}")
    if n_depots is not None and not v.multi_depot:
        raise ValidationError("n_depots", f"only for a multi-depot variant (md...), not {v.name}")
    nd = (N_DEPOTS if n_depots is None else n_depots) if v.multi_depot else 1
    if isinstance(nd, bool) or not isinstance(nd, int) or (v.multi_depot and nd < 2):
        raise ValidationError("n_depots", f"expected an integer >= 2, got {n_depots!r}")
    b, n = batch, n_clients
    xy = rng.random((b, n + 1, 2))
    demand = rng.integers(DEMAND[0], DEMAND[1] + 1, size=(b, n))
    is_backhaul = rng.random((b, n)) < BACKHAUL_RATIO
    service = rng.uniform(*SERVICE_TIME, size=(b, n))
    length = rng.uniform(*WINDOW_LENGTH, size=(b, n))
    u_window = rng.random((b, n, 2))
    u_limit = rng.random(b)
    u_prize = rng.random((b, n))
    if nd > 1:
        xy = np.concatenate([xy[:, :1], rng.random((b, nd - 1, 2)), xy[:, 1:]], axis=1)
    depots, points = xy[:, :nd], xy[:, nd:]
    far = np.linalg.norm(points[:, None, :, :] - depots[:, :, None, :], axis=-1)  # (B, D, N)
    pickup = np.zeros_like(demand)
    delivery = demand.copy()
    if v.backhaul is not None:
        pickup = np.where(is_backhaul, demand, 0)
        delivery = np.where(is_backhaul, 0, demand)
    inf = np.full((b, n), INF)
    if v.windows:
        reach = far.max(axis=1)  # from every depot (RouteFinder's multi-depot rule)
        first, last = reach, MAX_TIME - service - length - reach  # earliest and latest start
        if v.windows == 1:
            start = (first + (last - first) * u_window[..., 0])[..., None]
        else:
            mid = (first + last) / 2
            start = np.stack([first + (mid - length - first) * u_window[..., 0],
                              mid + (last - mid) * u_window[..., 1]], axis=-1)
        windows = np.stack([start, start + length[..., None]], axis=-1)
        close = np.full(b, MAX_TIME)
    else:
        service = np.zeros((b, n))
        windows = np.stack([np.zeros((b, n)), inf], axis=-1)[:, :, None, :]
        close = np.full(b, INF)
    limit = np.full(b, INF)
    if v.limit:
        low = 2 * far.max(axis=2).min(axis=1) + 1e-6  # the depot whose farthest client is nearest
        high = np.maximum(MAX_DISTANCE_LIMIT, low + 1e-6)
        limit = low + (high - low) * u_limit
    prize = 2 * far.min(axis=1) * u_prize if v.prizes else np.zeros((b, n))
    return RouteFinderBatch(v, nd, cap, xy, delivery, pickup, service, windows, close, limit, prize)


def instance_seed(seed: int, index: int) -> int:
    """The seed of instance ``index`` of :func:`generate_many` with ``seed``: the first 64-bit word of child
    ``index`` of ``numpy.random.SeedSequence(seed)`` (what ``SeedSequence(seed).spawn(k)[index]`` gives)."""
    _check_seed(seed)
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return int(child.generate_state(1, np.uint64)[0])


def generate(variant: str, n_clients: int, *, seed: int, distribution: str = "routefinder",
             name: str | None = None, **options: Any) -> Problem:
    """One instance of ``variant`` with ``n_clients`` clients drawn from ``distribution`` with ``seed``.

    ``routefinder`` (see the module) takes ``capacity`` and ``n_depots``; ``uniform`` is
    :func:`uniform_instance` (its keywords); ``osm`` is
    :func:`vrpkit.roads.generate.generate_osm_instance` and needs ``pbf`` (an ``.osm.pbf`` extract, e.g.
    ``../shared/data/osm/monaco.osm.pbf``) and takes its keywords; ``svrp`` (variant ``svrp``, also chosen by
    that variant alone) is :func:`svrp_instance` (its keywords); ``fleet`` (also chosen by a fleet variant
    alone, :func:`is_fleet_variant`: ``pdptw``, ``mtvrp``, ``vrptwbrsk``, ...) is :func:`fleet_instance` (its
    keywords). Unknown options raise :class:`ValidationError`.
    """
    _check_seed(seed)
    distribution = _distribution_of(variant, distribution)
    if distribution == "fleet":
        _check_options(options, _keywords(fleet_instance), distribution)
        return fleet_instance(n_clients, seed=seed, variant=variant, name=name, **options)
    if distribution == "svrp":
        if variant != "svrp":
            raise ValidationError("variant", f'"{variant}" is not a variant of distribution svrp (only "svrp")')
        _check_options(options, _keywords(svrp_instance), distribution)
        return svrp_instance(n_clients, seed=seed, name=name, **options)
    if distribution == "routefinder":
        _check_options(options, ("capacity", "n_depots"), distribution)
        batch = sample_routefinder(variant, n_clients, 1, rng=np.random.default_rng(seed), **options)
        return batch.problem(0, name or f"{batch.variant.name}-n{n_clients}-s{seed}")
    if distribution == "uniform":
        _check_options(options, _keywords(uniform_instance), distribution)
        return uniform_instance(n_clients, seed=seed, variant=variant, name=name, **options)
    if distribution == "clustered":
        _check_options(options, _keywords(clustered_instance), distribution)
        return clustered_instance(n_clients, seed=seed, variant=variant, name=name, **options)
    if distribution == "osm":
        from vrpkit.roads.generate import generate_osm_instance

        _check_options(options, ("pbf", *_keywords(generate_osm_instance)), distribution)
        if "pbf" not in options:
            raise ValidationError("pbf", "distribution osm needs an OpenStreetMap extract (.osm.pbf)")
        pbf = options.pop("pbf")
        return generate_osm_instance(pbf, n_clients, seed=seed, variant=variant, name=name, **options)
    raise ValidationError("distribution", f'"{distribution}" is not one of {", ".join(DISTRIBUTIONS)}')


def generate_many(variant: str, n_clients: int, count: int, seed: int, *, distribution: str = "routefinder",
                  **options: Any) -> list[Problem]:
    """``count`` instances: instance ``i`` is ``generate(variant, n_clients, seed=instance_seed(seed, i))``,
    named ``<variant>-n<n_clients>-s<seed>-<i>``. The streams of a ``SeedSequence`` spawn do not overlap, so
    sets drawn with different seeds share no instance, and a larger ``count`` only appends instances."""
    _check_seed(seed)
    _check_positive("count", count)
    distribution = _distribution_of(variant, distribution)
    label = parse_variant(variant).name if distribution == "routefinder" else \
        parse_fleet_variant(variant).name if distribution == "fleet" else variant
    return [generate(variant, n_clients, seed=instance_seed(seed, i), distribution=distribution,
                     name=f"{label}-n{n_clients}-s{seed}-{i}", **options) for i in range(count)]


def _distribution_of(variant: str, distribution: str) -> str:
    """``distribution``, except that the default (``routefinder``) gives way to a variant that names its own:
    ``svrp``, or a fleet variant (:func:`is_fleet_variant`)."""
    if distribution == "routefinder" and variant == "svrp":
        return "svrp"
    if distribution == "routefinder" and is_fleet_variant(variant):
        return "fleet"
    return distribution


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", f"expected a non-negative integer, got {seed!r}")


def _check_positive(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, f"expected a positive integer, got {value!r}")


def _keywords(fn: Any) -> tuple[str, ...]:
    """The keyword-only options of ``fn`` that :func:`generate` passes through."""
    params = inspect.signature(fn).parameters.values()
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in ("seed", "variant", "name"))


def _check_options(options: dict[str, Any], allowed: tuple[str, ...], distribution: str) -> None:
    for key in options:
        if key not in allowed:
            raise ValidationError(key, f"not an option of distribution {distribution} (options: "
                                       f"{', '.join(allowed)})")


def uniform_instance(
    n_clients: int,
    *,
    seed: int,
    variant: str = "cvrp",
    grid: int = 100,
    capacity: int = 50,
    demand: tuple[int, int] = (1, 9),
    service_time: float = 10.0,
    horizon: float = 1000.0,
    window: tuple[float, float] = (50.0, 200.0),
    round: str = "none",
    name: str | None = None,
) -> Problem:
    """A random CVRP (or VRPTW) with ``n_clients`` clients on the integer grid ``[0, grid]²`` (see the module)."""
    if variant not in VARIANTS:
        raise ValidationError("variant", f'"{variant}" is not one of {", ".join(VARIANTS)}')
    for field, value in (("n_clients", n_clients), ("grid", grid), ("capacity", capacity)):
        _check_positive(field, value)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError("seed", f"expected an integer, got {seed!r}")
    low, high = demand
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        raise ValidationError("demand", f"expected integers 0 <= low <= high, got {demand!r}")
    if high > capacity:
        raise ValidationError("capacity", f"{capacity} < the largest demand {high}")
    rng = np.random.default_rng(seed)
    points = rng.integers(0, grid + 1, size=(n_clients, 2))
    demands = rng.integers(low, high + 1, size=n_clients)
    depot_xy = (grid / 2, grid / 2)
    depot_window = (0.0, math.inf)
    windows = [((0.0, math.inf),)] * n_clients
    service = 0.0
    if variant == "vrptw":
        depot_window = (0.0, float(horizon))
        service = float(service_time)
        far = np.hypot(points[:, 0] - depot_xy[0], points[:, 1] - depot_xy[1])
        windows = []
        for i in range(n_clients):
            earliest = math.ceil(far[i])
            latest = math.floor(horizon - service - far[i])
            if latest < earliest:
                raise ValidationError("horizon", f"{horizon:g} is too short to serve client {i} alone")
            width = rng.uniform(*window)
            start = rng.uniform(earliest, max(earliest, latest - width))
            windows.append(((float(round_(start)), float(min(latest, round_(start + width)))),))
    clients = tuple(Client(f"c{i + 1}", (int(x), int(y)), delivery=int(q), service_time=service,
                           time_windows=windows[i])
                    for i, ((x, y), q) in enumerate(zip(points.tolist(), demands.tolist(), strict=True)))
    label = name or f"uniform-{variant}-n{n_clients}-s{seed}"
    spec = {"provider": "euclidean"} if round == "none" else {"provider": "euclidean", "round": round}
    end = None if variant == "ovrp" else SAME_AS_START
    return Problem(label, (Depot("depot", depot_xy, depot_window),), clients,
                   (VehicleType("vehicle", capacity=capacity, end_depot=end),), matrix=spec)


def clustered_instance(
    n_clients: int,
    *,
    seed: int,
    variant: str = "cvrp",
    grid: int = 1000,
    n_seeds: int | None = None,
    decay: float = 40.0,
    demand: tuple[int, int] = (1, 100),
    route_size: tuple[float, float] = (10.0, 20.0),
    capacity: int | None = None,
    service_time: float = 100.0,
    horizon: float = 10000.0,
    window: tuple[float, float] = (500.0, 2000.0),
    round: str = "none",
    name: str | None = None,
) -> Problem:
    """Clients around a few seeds (Uchoa et al. 2017, the X instances' "clustered" positioning), seeded.

    - ``n_seeds`` seeds (default uniform in 3..8, X's rule) at uniform integer points of ``[0, grid]²``; the
      depot at the centre.
    - Each client: a seed ``s`` drawn uniformly, then a point at distance ``r ~ Gamma(2, decay)`` in a
      uniform direction, rounded to the integer grid; points outside the square are drawn again (seed and
      point). The accepted density at ``p`` is proportional to ``sum_s exp(-d(p, s) / decay)`` over the
      square: X's attraction ``exp(-d / 40)``, sampled exactly (the 2-D density ``exp(-r / decay)`` has a
      radius of density ``r exp(-r / decay)``: Gamma of shape 2).
    - Demands: integers uniform in ``demand`` (1-100). Capacity (default): ``ceil(r * mean demand)`` with
      ``r`` uniform in ``route_size`` (10-20 clients a route, X's rule for its route sizes); the largest
      demand if that is more. One vehicle type without a count limit; Euclidean distances (unrounded unless
      ``round`` says), durations equal distances.
    - ``vrptw``: the ``uniform`` windows scaled with the grid (10x): service ``service_time`` (100), the depot
      open ``[0, horizon]`` (10,000), each client a window of width uniform in ``window`` (500-2,000) whose
      start is uniform between the earliest arrival from the depot and the latest start that still returns
      in time (less the width), cut at that latest start. ``ovrp``: open routes.

    Vectorised over the clients (draws in blocks), so 10,000 clients take well under a second.
    """
    if variant not in VARIANTS:
        raise ValidationError("variant", f'"{variant}" is not one of {", ".join(VARIANTS)}')
    for field_name, value in (("n_clients", n_clients), ("grid", grid)):
        _check_positive(field_name, value)
    if n_seeds is not None:
        _check_positive("n_seeds", n_seeds)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError("seed", f"expected an integer, got {seed!r}")
    if not (isinstance(decay, int | float) and decay > 0):
        raise ValidationError("decay", f"expected a positive number, got {decay!r}")
    low, high = demand
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        raise ValidationError("demand", f"expected integers 0 <= low <= high, got {demand!r}")
    if not (0 < route_size[0] <= route_size[1]):
        raise ValidationError("route_size", f"expected 0 < low <= high, got {route_size!r}")
    if capacity is not None:
        _check_positive("capacity", capacity)
        if high > capacity:
            raise ValidationError("capacity", f"{capacity} < the largest demand {high}")
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 9)) if n_seeds is None else n_seeds
    seeds = rng.integers(0, grid + 1, size=(k, 2)).astype(float)
    points = _cluster_points(rng, n_clients, seeds, grid, decay)
    demands = rng.integers(low, high + 1, size=n_clients)
    size = rng.uniform(*route_size)
    cap = capacity if capacity is not None else max(high, 1, math.ceil(size * demands.mean()))
    depot_xy = (grid / 2, grid / 2)
    depot_window = (0.0, math.inf)
    service = 0.0
    windows = np.tile([0.0, math.inf], (n_clients, 1))
    if variant == "vrptw":
        depot_window = (0.0, float(horizon))
        service = float(service_time)
        far = np.hypot(points[:, 0] - depot_xy[0], points[:, 1] - depot_xy[1])
        earliest = np.ceil(far)
        latest = np.floor(horizon - service - far)
        if (latest < earliest).any():
            i = int(np.flatnonzero(latest < earliest)[0])
            raise ValidationError("horizon", f"{horizon:g} is too short to serve client {i} alone")
        width = rng.uniform(*window, size=n_clients)
        start = rng.uniform(earliest, np.maximum(earliest, latest - width))
        start = np.floor(start + 0.5)
        windows = np.column_stack([start, np.minimum(latest, np.floor(start + width + 0.5))])
    clients = tuple(Client(f"c{i + 1}", (x, y), delivery=q, service_time=service, time_windows=((a, b),))
                    for i, ((x, y), q, (a, b)) in enumerate(zip(points.tolist(), demands.tolist(),
                                                               windows.tolist(), strict=True)))
    label = name or f"clustered-{variant}-n{n_clients}-s{seed}"
    spec = {"provider": "euclidean"} if round == "none" else {"provider": "euclidean", "round": round}
    end = None if variant == "ovrp" else SAME_AS_START
    return Problem(label, (Depot("depot", depot_xy, depot_window),), clients,
                   (VehicleType("vehicle", capacity=int(cap), end_depot=end),), matrix=spec)


def _cluster_points(rng: np.random.Generator, n: int, seeds: np.ndarray, grid: int, decay: float) -> np.ndarray:
    """``n`` integer points of ``[0, grid]²`` around ``seeds`` (k, 2): a seed drawn uniformly, then a point at
    distance ``Gamma(2, decay)`` in a uniform direction, rounded; points outside the square are drawn again."""
    k = len(seeds)
    points = np.empty((0, 2), dtype=np.int64)
    while len(points) < n:
        m = max(64, 2 * (n - len(points)))
        s = rng.integers(0, k, size=m)
        r = rng.gamma(2.0, decay, size=m)
        theta = rng.uniform(0.0, 2 * math.pi, size=m)
        xy = np.floor(seeds[s] + r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]) + 0.5)
        inside = ((xy >= 0) & (xy <= grid)).all(axis=1)
        points = np.concatenate([points, xy[inside].astype(np.int64)])
    return points[:n]


SVRP_MAP = 100.0
"""The side of the square map of :func:`svrp_instance` (planar units; one unit takes one minute)."""
SVRP_DAY = (360.0, 1320.0)
"""The depots' opening hours in :func:`svrp_instance`, minutes from midnight (6:00 to 22:00)."""


def svrp_instance(
    n_clients: int,
    *,
    seed: int,
    n_depots: int = 3,
    n_cities: int | None = None,
    capacity: int | None = None,
    service_time: float = 10.0,
    residential: float = 0.5,
    profile: str = "rush_hour",
    lognormal_sigma: float = 0.2,
    accident_rate_per_hour: float = 0.05,
    accident_delay: tuple[float, float] = (10.0, 40.0),
    demand_cv: float = 0.2,
    service_sigma: float = 0.2,
    name: str | None = None,
) -> Problem:
    """A stochastic instance in SVRPBench's spirit (yehias21/vrp-benchmarks; our numbers, not theirs), seeded.

    Planar units, times in minutes from midnight (:attr:`vrpkit.model.Problem.hour` 60): a
    :data:`SVRP_MAP` square, Euclidean distances, durations equal to distances (one unit a minute).

    - Cities: ``n_cities`` (default ``max(2, n_clients // 25)``) centres uniform in the square, each with a
      spread uniform in 2-8; each client picks a city uniformly and lies at a normal draw around its centre
      (that spread), clipped to the square. ``n_depots`` depots, each at a normal draw (twice the spread)
      around a city drawn uniformly, clipped; one vehicle type per depot, returning to it, no count limit,
      capacity ``capacity`` (default :func:`routefinder_capacity`), depots open :data:`SVRP_DAY`.
    - Windows: a client is residential with probability ``residential``, else commercial. Residential: a
      morning window starting around 8:00 (normal, sd 90 min) or, with probability 1/2, an evening one around
      19:00 (sd 120 min), 60 or 120 minutes long; commercial: starting around 13:00 (sd 90 min), 60 to 120
      minutes (uniform). Each start is clipped so that a vehicle from the nearest depot reaches the client by
      the window's start at the profile's peak factor, and can serve it and be back before the depots close.
    - Demands: integers uniform in 1..9 (expected values); service times ``service_time``.
    - ``uncertainty``: the travel-time ``profile`` (``rush_hour``: x1.8 at 8:00 and 17:00; ``svrpbench`` is
      SVRPBench's published factor), a log-normal delay factor ``lognormal_sigma``, accidents at
      ``accident_rate_per_hour`` per hour of driving with a delay uniform in ``accident_delay`` minutes,
      normal demands of coefficient of variation ``demand_cv`` with the ``return`` recourse, log-normal
      service times ``service_sigma``.
    """
    from vrpkit.model import DemandNoise, ServiceTimeNoise, TravelTimeNoise, Uncertainty
    from vrpkit.traffic import max_factor

    _check_positive("n_clients", n_clients)
    _check_positive("n_depots", n_depots)
    cities = max(2, n_clients // 25) if n_cities is None else n_cities
    _check_positive("n_cities", cities)
    cap = routefinder_capacity(n_clients) if capacity is None else capacity
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < DEMAND[1]:
        raise ValidationError("capacity", f"expected an integer of at least {DEMAND[1]}, got {cap!r}")
    if not 0 <= residential <= 1:
        raise ValidationError("residential", f"{residential!r} is not a probability")
    uncertainty = Uncertainty(TravelTimeNoise(profile, lognormal_sigma, accident_rate_per_hour, accident_delay),
                              DemandNoise("normal", demand_cv, "return"), ServiceTimeNoise(service_sigma))
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, SVRP_MAP, size=(cities, 2))
    spread = rng.uniform(2.0, 8.0, size=cities)
    home = rng.integers(0, cities, size=n_clients)
    xy = np.clip(centres[home] + spread[home, None] * rng.standard_normal((n_clients, 2)), 0, SVRP_MAP)
    near = rng.integers(0, cities, size=n_depots)
    depots_xy = np.clip(centres[near] + 2 * spread[near, None] * rng.standard_normal((n_depots, 2)), 0, SVRP_MAP)
    demands = rng.integers(DEMAND[0], DEMAND[1] + 1, size=n_clients)
    is_res = rng.random(n_clients) < residential
    evening = rng.random(n_clients) < 0.5
    z = rng.standard_normal(n_clients)
    res_len = 60.0 * rng.integers(1, 3, size=n_clients)
    com_len = rng.uniform(60.0, 120.0, size=n_clients)
    start = np.where(is_res, np.where(evening, 19 * 60 + 120 * z, 8 * 60 + 90 * z), 13 * 60 + 90 * z)
    length = np.where(is_res, res_len, com_len)
    far = np.hypot(*(xy[:, None, :] - depots_xy[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    peak = max(1.0, max_factor(profile, 60.0))
    earliest = np.ceil(SVRP_DAY[0] + far * peak)
    latest = np.floor(SVRP_DAY[1] - service_time - far * peak - length)
    if np.any(latest < earliest):
        raise ValidationError("n_clients", "a client is too far from every depot to be served in a day")
    start = np.clip(np.floor(start + 0.5), earliest, latest)
    clients = tuple(Client(f"c{i + 1}", (float(x), float(y)), delivery=int(q), service_time=float(service_time),
                           time_windows=((float(a), float(a + w)),))
                    for i, ((x, y), q, a, w) in enumerate(zip(xy.round(3).tolist(), demands.tolist(),
                                                             start.tolist(), np.floor(length).tolist(),
                                                             strict=True)))
    depots = tuple(Depot(f"d{k + 1}", (float(x), float(y)), SVRP_DAY)
                   for k, (x, y) in enumerate(depots_xy.round(3).tolist()))
    fleet = tuple(VehicleType(f"v{k + 1}", capacity=cap, start_depot=d.id, end_depot=SAME_AS_START)
                  for k, d in enumerate(depots))
    return Problem(name or f"svrp-n{n_clients}-s{seed}", depots, clients, fleet, matrix={"provider": "euclidean"},
                   uncertainty=uncertainty)


# -- fleet: shipments (Li & Lim's style), multi-trip, release times, breaks, skills -----------------------------

FLEET_VARIANTS = ("pdptw", "mtvrp", "vrptwbrsk")
"""The three benchmark sets of :func:`fleet_instance`: Li & Lim-style pickup and delivery with time
windows, the multi-trip CVRP with small vehicles, the VRPTW with lunch breaks and skills."""
SKILLS = ("fridge", "lift", "adr")
"""The skills of :func:`fleet_instance`, the first ``n_skills`` of them."""

_FLEET_NAME = re.compile(r"(mt)?(pdp|c?vrp)(tw)?(rt)?(br)?(sk)?")


@dataclass(frozen=True)
class FleetVariant:
    """A variant of :func:`fleet_instance`: ``[mt](pdp|vrp)[tw][rt][br][sk]``, as :attr:`Problem.variant`
    names them (``MT`` multi-trip, ``PDP`` shipments, ``RT`` release times, ``BR`` breaks, ``SK`` skills)."""

    multi_trip: bool = False
    shipments: bool = False
    windows: bool = False
    release_times: bool = False
    breaks: bool = False
    skills: bool = False

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``mtpdptwrtbrsk``; plain ``cvrp`` without attributes."""
        suffix = "".join(tag for on, tag in ((self.windows, "tw"), (self.release_times, "rt"),
                                             (self.breaks, "br"), (self.skills, "sk")) if on)
        core = "pdp" if self.shipments else "vrp"
        if not (self.multi_trip or self.shipments or suffix):
            return "cvrp"
        return ("mt" if self.multi_trip else "") + core + suffix


def parse_fleet_variant(name: str) -> FleetVariant:
    """The attributes named by ``name`` (case-insensitive, e.g. ``pdptw``, ``mtvrprt``, ``vrptwbrsk``)."""
    match = _FLEET_NAME.fullmatch(name.lower()) if isinstance(name, str) else None
    if match is None:
        raise ValidationError("variant", f'"{name}" is not [mt](pdp|vrp)[tw][rt][br][sk] (e.g. pdptw, mtvrp, '
                                         f'mtvrprt, vrptwbrsk, mtpdptwrtbrsk)')
    mt, core, tw, rt, br, sk = match.groups()
    return FleetVariant(multi_trip=bool(mt), shipments=core == "pdp", windows=bool(tw), release_times=bool(rt),
                        breaks=bool(br), skills=bool(sk))


def is_fleet_variant(name: str) -> bool:
    """True when ``name`` is a :func:`fleet_instance` variant that uses one of its attributes (``mt``,
    ``pdp``, ``rt``, ``br``, ``sk``): such a name picks the ``fleet`` distribution by itself."""
    match = _FLEET_NAME.fullmatch(name.lower()) if isinstance(name, str) else None
    if match is None:
        return False
    mt, core, _, rt, br, sk = match.groups()
    return bool(mt or rt or br or sk) or core == "pdp"


def _sqrt_dist(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Euclidean distances computed as :func:`vrpkit.matrix.euclidean_matrix` computes them (bit for bit)."""
    dx, dy = ax - bx, ay - by
    return np.sqrt(dx * dx + dy * dy)


def _fleet_window(rng_width: np.ndarray, rng_start: np.ndarray, earliest: np.ndarray, latest: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Windows inside ``[earliest, latest]`` (the earliest and the latest service start that a vehicle
    serving the stop alone can meet): width from ``rng_width``, start uniform (``rng_start`` in [0, 1)) between
    ``earliest`` and ``latest - width`` (at least ``earliest``), rounded half up and kept inside, end at most
    ``latest``."""
    high = np.maximum(earliest, latest - rng_width)
    start = np.clip(np.floor(earliest + (high - earliest) * rng_start + 0.5), earliest, latest)
    end = np.minimum(latest, np.floor(start + rng_width + 0.5))
    return start, end


def _option(value: Any, default: Any, used: bool, field: str, what: str) -> Any:
    """``value`` (None: ``default``); giving it for a variant that does not use it is an error."""
    if value is None:
        return default
    if not used:
        raise ValidationError(field, f"only for a variant with {what}")
    return value


def _check_real(field: str, value: Any, low: float, high: float = math.inf, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or \
            not (value > low if open_low else value >= low) or value > high:
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise ValidationError(field, f"expected a number {bound}" + (f" and <= {high:g}" if high < math.inf
                                                                      else "") + f", got {value!r}")
    return float(value)


def fleet_instance(
    n_clients: int,
    *,
    seed: int,
    variant: str = "pdptw",
    layout: str = "r",
    grid: int = 100,
    horizon: float = 1000.0,
    service_time: float = 10.0,
    window_min: float = 50.0,
    window_max: float = 200.0,
    demand_max: int = 9,
    capacity: int | None = None,
    vehicles: int | None = None,
    jobs: int | None = None,
    ride_factor: float | None = None,
    reload_depots: int | None = None,
    depot_service_time: float | None = None,
    max_reloads: int | None = None,
    release: float | None = None,
    break_duration: float | None = None,
    break_window: float | None = None,
    n_skills: int | None = None,
    skill_share: float | None = None,
    skill_cost: float | None = None,
    name: str | None = None,
) -> Problem:
    """A real fleet's day, seeded: any combination of shipments (``pdp``), multi-trip (``mt``), time
    windows (``tw``), release times (``rt``), lunch breaks (``br``) and skills (``sk``); see
    :class:`FleetVariant`. :data:`FLEET_VARIANTS` are the benchmark sets.

    Layout (Solomon's, as Li & Lim's instances): integer points of ``[0, grid]²``, the depot at the centre,
    ``layout`` ``r`` uniform, ``c`` around 3-8 seeds (:func:`clustered_instance`'s draw, decay ``grid / 25``),
    ``rc`` each point one or the other with probability 1/2; Euclidean distances, durations equal distances;
    demands (and shipment amounts) integers uniform in ``1..demand_max``; one vehicle type (``sk``: several),
    ``capacity`` (default 50, ``mt`` 20), every client ``service_time``.

    - ``pdp``: ``n_clients`` is the number of requests (Li & Lim's style: each a pickup stop ``p<k>`` and a
      delivery stop ``d<k>`` at two points of the layout, amount ``q``), plus ``jobs`` plain clients (default
      0; ``n_clients`` when the variant has ``mt`` or ``rt``, which act on plain clients). ``ride_factor``:
      ``max_ride_time`` of a request ``ceil(ride_factor · d(p, d))`` (with windows at least the ride of the
      request served alone at its windows' starts); default unbounded.
    - ``tw``: the depot opens over ``[0, horizon]``. A stop's window lies between the earliest start that a
      vehicle serving it alone can reach and the latest from which it is back in time (both rounded inward;
      with breaks the latest leaves room for the break): width uniform in ``window_min..window_max``, start
      uniform, rounded half up. A request's delivery window starts no earlier than its pickup window's start
      plus the service plus the ride (plus, with breaks, the break when it cannot be taken at the depot
      first), so that each request alone, served at its windows' starts, is a feasible route.
    - ``mt``: ``reload_depots`` depots (default 1: the home depot; more: satellites uniform in the square) are
      the type's reload depots, each with ``depot_service_time`` (default 10) to reload, ``max_reloads``
      (default unlimited). Fleet: ``vehicles`` of each type (default without ``tw`` and ``max_reloads``:
      ``ceil(total delivery / (3 capacity))``, so that the fleet cannot carry the day in one trip each; else
      unlimited).
    - ``rt``: each plain client's ``release_time`` uniform in ``[0, release · T]`` rounded (``release``
      default 0.5), ``T`` the horizon, with ``tw`` the latest departure from which the client alone is
      served in time (so it stays feasible); with ``tw`` its window starts no earlier than the release plus
      the trip (plus, with breaks, the break: taken at the depot after the release, it still reaches it).
    - ``br``: each type's lunch break ``lunch`` of ``break_duration`` (default 45), one window of width
      ``break_window`` (default 200) starting at ``horizon · U(0.35, 0.45)`` (rounded). With ``tw`` the width
      must cover the break, a service and the farthest stop's distance from the depot: then each client (and
      each request) alone takes its break at the depot before leaving or right after a service.
    - ``sk``: the first ``n_skills`` (default 2) of :data:`SKILLS`; each client (each request: both stops)
      needs each skill with probability ``skill_share`` (default 0.2); one vehicle type per subset of the
      skills (``van`` for none, else e.g. ``fridge+lift``), unlimited (``vehicles``), cost per distance ``1 +
      skill_cost · skills`` (default 0.25): equipped vehicles cost more, so skills bind, and every client has
      a capable type.

    Options of an attribute that the variant lacks are refused (:class:`ValidationError` naming them). Every
    quantity is drawn for every variant, in one order, from ``numpy.random.default_rng(seed)``: variants with
    the same points (every ``vrp`` variant; ``pdp`` variants with as many plain clients) share the layout,
    the demands and the window draws.
    """
    v = parse_fleet_variant(variant)
    _check_positive("n_clients", n_clients)
    _check_seed(seed)
    if layout not in ("r", "c", "rc"):
        raise ValidationError("layout", f'"{layout}" is not r, c or rc')
    _check_positive("grid", grid)
    _check_positive("demand_max", demand_max)
    H = _check_real("horizon", horizon, 0.0, MAX_VALUE, open_low=True)
    s = _check_real("service_time", service_time, 0.0, MAX_VALUE)
    w_lo = _check_real("window_min", window_min, 0.0, MAX_VALUE)
    w_hi = _check_real("window_max", window_max, w_lo, MAX_VALUE)
    default_jobs = n_clients if v.multi_trip or v.release_times else 0
    n_jobs = _option(jobs, default_jobs, v.shipments, "jobs", "shipments (pdp)")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 0:
        raise ValidationError("jobs", f"expected an integer >= 0, got {jobs!r}")
    if v.release_times and n_jobs == 0:
        raise ValidationError("jobs", "release times (rt) are on plain clients: give jobs >= 1")
    n_req = n_clients if v.shipments else 0
    n_jobs = n_jobs if v.shipments else n_clients
    ride = _option(ride_factor, None, v.shipments, "ride_factor", "shipments (pdp)")
    if ride is not None:
        ride = _check_real("ride_factor", ride, 1.0, MAX_VALUE)
    n_reload = _option(reload_depots, 1, v.multi_trip, "reload_depots", "multi-trip (mt)")
    _check_positive("reload_depots", n_reload)
    reload_time = _check_real("depot_service_time",
                              _option(depot_service_time, 10.0, v.multi_trip, "depot_service_time",
                                      "multi-trip (mt)"), 0.0, MAX_VALUE)
    reloads = _option(max_reloads, None, v.multi_trip, "max_reloads", "multi-trip (mt)")
    if reloads is not None and (isinstance(reloads, bool) or not isinstance(reloads, int) or reloads < 0):
        raise ValidationError("max_reloads", f"expected an integer >= 0, got {reloads!r}")
    rel = _check_real("release", _option(release, 0.5, v.release_times, "release", "release times (rt)"),
                      0.0, 1.0, open_low=True)
    b = _check_real("break_duration", _option(break_duration, 45.0, v.breaks, "break_duration", "breaks (br)"),
                    0.0, MAX_VALUE)
    bw = _check_real("break_window", _option(break_window, 200.0, v.breaks, "break_window", "breaks (br)"),
                     0.0, MAX_VALUE)
    k_sk = _option(n_skills, 2, v.skills, "n_skills", "skills (sk)")
    if isinstance(k_sk, bool) or not isinstance(k_sk, int) or not 1 <= k_sk <= len(SKILLS):
        raise ValidationError("n_skills", f"expected an integer 1..{len(SKILLS)}, got {n_skills!r}")
    share = _check_real("skill_share", _option(skill_share, 0.2, v.skills, "skill_share", "skills (sk)"), 0.0, 1.0)
    extra = _check_real("skill_cost", _option(skill_cost, 0.25, v.skills, "skill_cost", "skills (sk)"), 0.0,
                        MAX_VALUE)
    cap = (20 if v.multi_trip else 50) if capacity is None else capacity
    _check_positive("capacity", cap)
    if demand_max > cap:
        raise ValidationError("capacity", f"{cap} < the largest demand {demand_max}")
    if vehicles is not None:
        _check_positive("vehicles", vehicles)

    # -- draws, every one for every variant, in one order ---------------------------------------------------
    rng = np.random.default_rng(seed)
    m = n_jobs + 2 * n_req  # points: jobs, then pickup and delivery of each request
    uniform_xy = rng.integers(0, grid + 1, size=(m, 2))
    if layout == "r":
        xy = uniform_xy
    else:
        k = int(rng.integers(3, 9))
        seeds = rng.integers(0, grid + 1, size=(k, 2)).astype(float)
        clustered = _cluster_points(rng, m, seeds, grid, grid / 25)
        xy = clustered if layout == "c" else np.where((rng.random(m) < 0.5)[:, None], uniform_xy, clustered)
    quantity = rng.integers(1, demand_max + 1, size=n_jobs + n_req)  # jobs' deliveries, then amounts
    width = rng.uniform(w_lo, w_hi, size=m)
    u_start = rng.random(m)
    u_release = rng.random(n_jobs)
    needs = rng.random((n_jobs + n_req, len(SKILLS))) < share  # jobs, then requests
    satellites = rng.integers(0, grid + 1, size=(n_reload - 1, 2))
    u_break = rng.uniform(0.35, 0.45, size=2 ** len(SKILLS))

    # -- fleet -----------------------------------------------------------------------------------------------
    subsets = [()] if not v.skills else \
        [tuple(SKILLS[j] for j in range(k_sk) if mask >> j & 1)
         for mask in sorted(range(2 ** k_sk), key=lambda x: (bin(x).count("1"), x))]
    type_ids = ["vehicle"] if not v.skills else ["van" if not sub else "+".join(sub) for sub in subsets]
    lunch = np.floor(H * u_break[:len(subsets)] + 0.5)
    needs = needs[:, :k_sk] if v.skills else np.zeros((n_jobs + n_req, 0), dtype=bool)
    subset_index = {sub: t for t, sub in enumerate(subsets)}
    unit_type = np.array([subset_index[tuple(SKILLS[j] for j in range(k_sk) if row[j])] if v.skills else 0
                          for row in needs.tolist()], dtype=np.int64)  # the type with exactly the unit's skills

    cx = cy = grid / 2
    x, y = xy[:, 0].astype(float), xy[:, 1].astype(float)
    d0 = _sqrt_dist(np.float64(cx), np.float64(cy), x, y)  # depot -> point, as the matrix has it
    n_p = n_jobs + 2 * np.arange(n_req)
    d_pq = _sqrt_dist(x[n_p], y[n_p], x[n_p + 1], y[n_p + 1])
    stop_b = b if v.breaks else 0.0
    if v.breaks and v.windows:
        need = b + s + math.ceil(float(d0.max(initial=0.0)))
        if bw < need:
            raise ValidationError("break_window", f"{bw:g} < break duration + service time + the farthest "
                                                  f"stop's distance from the depot = {need:g}: a client alone "
                                                  "could miss its break")
        if float(lunch.max(initial=0.0)) + bw > H:
            raise ValidationError("break_window", f"{bw:g}: the lunch window would end after the horizon {H:g}")

    # -- windows and release times ---------------------------------------------------------------------------
    inf_w = np.full(m, INF)
    start, end = np.zeros(m), inf_w.copy()
    release_t = np.zeros(n_jobs)
    jd = d0[:n_jobs]
    if v.windows:
        latest = np.floor(H - s - stop_b - jd)
        wait = stop_b if v.release_times else 0.0  # room for the break at the depot after the release
        if v.release_times:
            release_t = np.floor(rel * np.maximum(latest - np.ceil(jd) - wait, 0.0) * u_release + 0.5)
        earliest = release_t + np.ceil(jd) + wait
        bad = np.flatnonzero(latest < earliest)
        if len(bad):
            raise ValidationError("horizon", f"{H:g} is too short to serve client c{bad[0] + 1} alone")
        start[:n_jobs], end[:n_jobs] = _fleet_window(width[:n_jobs], u_start[:n_jobs], earliest, latest)
        if n_req:
            dp, dq = d0[n_p], d0[n_p + 1]
            latest_q = np.floor(H - s - stop_b - dq)
            latest_p = np.floor(latest_q - s - stop_b - np.ceil(d_pq))
            earliest_p = np.ceil(dp)
            bad = np.flatnonzero(latest_p < earliest_p)
            if len(bad):
                raise ValidationError("horizon", f"{H:g} is too short to serve request s{bad[0] + 1} alone")
            a_p, e_p = _fleet_window(width[n_p], u_start[n_p], earliest_p, latest_p)
            earliest_q = a_p + s + np.ceil(d_pq)
            if v.breaks:  # the break after the pickup unless it fits at the depot before leaving
                t1 = lunch[unit_type[n_jobs:]]
                at_depot = a_p >= t1 + b + earliest_p
                earliest_q = np.where(at_depot, earliest_q, np.maximum(t1, a_p + s) + b + np.ceil(d_pq))
            bad = np.flatnonzero(latest_q < earliest_q)
            if len(bad):
                raise ValidationError("horizon", f"{H:g} is too short to serve request s{bad[0] + 1} alone "
                                                 "with its break")
            a_q, e_q = _fleet_window(width[n_p + 1], u_start[n_p + 1], earliest_q, latest_q)
            start[n_p], end[n_p], start[n_p + 1], end[n_p + 1] = a_p, e_p, a_q, e_q
    elif v.release_times:
        release_t = np.floor(rel * H * u_release + 0.5)
    ride_t = np.full(n_req, INF)
    if ride is not None:
        ride_t = np.ceil(ride * d_pq)
        if v.windows:
            ride_t = np.maximum(ride_t, start[n_p + 1] - start[n_p] - s)

    # -- the problem -------------------------------------------------------------------------------------------
    depot_window = (0.0, H) if v.windows else (0.0, INF)
    depot_ids = ["depot", *(f"reload{j + 1}" for j in range(n_reload - 1))]
    depot_xy = [(cx, cy), *(tuple(float(c) for c in p) for p in satellites.tolist())]
    depot_service = reload_time if v.multi_trip else 0.0
    depots = tuple(Depot(i, p, depot_window, service_time=depot_service)
                   for i, p in zip(depot_ids, depot_xy, strict=True))
    skills_of = [tuple(SKILLS[j] for j in range(k_sk) if row[j]) if v.skills else () for row in needs.tolist()]
    pts = [tuple(p) for p in xy.tolist()]
    windows = [((float(a), float(e)),) for a, e in zip(start.tolist(), end.tolist(), strict=True)]
    clients = [Client(f"c{i + 1}", pts[i], delivery=int(quantity[i]), service_time=s, time_windows=windows[i],
                      skills=skills_of[i], release_time=float(release_t[i])) for i in range(n_jobs)]
    shipments = []
    for k in range(n_req):
        p = n_jobs + 2 * k
        sk = skills_of[n_jobs + k]
        clients += [Client(f"p{k + 1}", pts[p], service_time=s, time_windows=windows[p], skills=sk),
                    Client(f"d{k + 1}", pts[p + 1], service_time=s, time_windows=windows[p + 1], skills=sk)]
        shipments.append(Shipment(f"s{k + 1}", f"p{k + 1}", f"d{k + 1}", amount=int(quantity[n_jobs + k]),
                                  max_ride_time=float(ride_t[k])))
    count = vehicles
    if count is None and v.multi_trip and not v.windows and reloads is None:
        count = max(1, math.ceil(int(quantity[:n_jobs].sum()) / (3 * cap)))
    fleet = tuple(
        VehicleType(type_ids[t], count=count, capacity=cap, start_depot="depot",
                    cost_per_distance=1.0 + extra * len(sub) if v.skills else 1.0, skills=sub,
                    breaks=(Break("lunch", ((float(lunch[t]), float(lunch[t] + bw)),), b),) if v.breaks else (),
                    reload_depots=tuple(depot_ids) if v.multi_trip else (),
                    max_reloads=reloads if v.multi_trip else None)
        for t, sub in enumerate(subsets))
    label = name or f"{v.name}-n{n_clients}-s{seed}"
    return Problem(label, depots, tuple(clients), fleet, matrix={"provider": "euclidean"},
                   shipments=tuple(shipments))


def round_(x: float) -> int:
    """Round half up (the same on every platform and numpy version)."""
    return math.floor(x + 0.5)


__all__ = [
    "DISTRIBUTIONS", "FLEET", "FLEET_VARIANTS", "ROUTEFINDER_VARIANTS", "SKILLS", "VARIANTS", "FleetVariant",
    "RouteFinderBatch", "Variant", "clustered_instance", "fleet_instance", "generate", "generate_many",
    "instance_seed", "is_fleet_variant", "parse_fleet_variant", "parse_variant", "routefinder_capacity",
    "sample_routefinder", "svrp_instance", "uniform_instance",
]
