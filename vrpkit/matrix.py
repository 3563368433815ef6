"""Distance and duration matrices from providers.

A provider is a function ``provider(problem, **options) -> (distance, duration)`` over all nodes of the problem
(depots first, then clients); ``duration`` may be None, meaning equal to ``distance``. Providers are found by
name in a registry; :func:`register_provider` adds one (the road-network providers plug in here). A problem's
``matrix`` field names the provider and its options, e.g. ``{"provider": "euclidean", "round": "nearest"}``.

Built in:

- ``euclidean`` (planar coordinates): straight-line distance, ``round`` = ``none`` (default), ``nearest`` (to
  the nearest integer, as in CVRPLIB X), ``dimacs`` (truncated to one decimal) or ``exact`` (nearest multiple of
  0.001); durations equal distances unless ``speed`` (distance units per time unit) is given.
- ``haversine`` (lon/lat coordinates): great-circle distance in metres, durations in seconds at ``speed`` km/h
  (default 30).
- ``explicit``: ``distance`` and ``duration`` arrays in the problem, or ``file``, an ``.npz`` with arrays
  ``distance`` and ``duration`` (a path relative to the problem file's folder).

Imported on first use (they need the ``maps`` extra or external programs): ``osrm`` and ``osm``, road
distances and durations (see :mod:`vrpkit.roads`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError

if TYPE_CHECKING:
    from vrpkit.model import Problem

Matrices = tuple[np.ndarray, np.ndarray | None]
Provider = Callable[..., Matrices]

EARTH_RADIUS_M = 6_371_000.0
_PROVIDERS: dict[str, Provider] = {}
_LAZY_PROVIDERS: dict[str, str] = {
    "osrm": "vrpkit.roads.osrm:osrm",
    "osm": "vrpkit.roads.osm:osm",
}
"""Providers imported on first use (``name -> "module:function"``): their dependencies are optional."""


def register_provider(name: str, provider: Provider | None = None) -> Any:
    """Register ``provider`` under ``name``; usable as a decorator. Options are its keyword-only arguments."""

    def add(fn: Provider) -> Provider:
        _PROVIDERS[name] = fn
        return fn

    return add(provider) if provider is not None else add


def providers() -> list[str]:
    """Names of the registered providers (including those imported on first use)."""
    return sorted(set(_PROVIDERS) | set(_LAZY_PROVIDERS))


def _load_lazy(name: str) -> None:
    module, function = _LAZY_PROVIDERS[name].split(":")
    try:
        fn = getattr(importlib.import_module(module), function)
    except ImportError as err:
        raise ValidationError("matrix.provider", f'the "{name}" provider needs the maps extra: '
                                                 f'pip install "vrpkit[maps]" ({err})') from None
    register_provider(name, fn)


def default_spec(coordinates: str) -> dict[str, Any]:
    """The provider used when a problem names none: euclidean for planar, haversine for lon/lat."""
    return {"provider": "haversine" if coordinates == "lonlat" else "euclidean"}


def compute_matrices(spec: Mapping[str, Any], problem: Problem) -> Matrices:
    """Run the provider ``spec`` names on ``problem``'s nodes; unknown names and options are errors."""
    name = spec.get("provider")
    if name not in _PROVIDERS and name in _LAZY_PROVIDERS:
        _load_lazy(name)
    if name not in _PROVIDERS:
        known = ", ".join(providers())
        raise ValidationError("matrix.provider", f"unknown provider {name!r} (known: {known})")
    provider = _PROVIDERS[name]
    options = {k: v for k, v in spec.items() if k != "provider"}
    params = inspect.signature(provider).parameters
    accepted = {k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for key in options:
        if key not in accepted:
            raise ValidationError(f"matrix.{key}", f'unknown option of provider "{name}" '
                                                   f"(known: {', '.join(sorted(accepted)) or 'none'})")
    return provider(problem, **options)


def node_locations(problem: Problem, provider: str) -> np.ndarray:
    """``(n_nodes, 2)`` locations; an error names the first node without one."""
    for kind, entities in (("depots", problem.depots), ("clients", problem.clients)):
        for i, entity in enumerate(entities):
            if entity.location is None:
                raise ValidationError(f"{kind}[{i}].location", f"missing; the {provider} provider needs it")
    return np.asarray(problem.locations)


ROUNDINGS = ("none", "nearest", "dimacs", "exact")
"""The rules of ``round`` (see :func:`euclidean_matrix`)."""


BLOCK_ENTRIES = 1 << 22
"""Entries of the temporaries of one row block in :func:`euclidean_matrix` and :func:`haversine_matrix`
(4 Mi float64 = 32 MB each): the matrices are filled a block of rows at a time, so the peak memory is the
matrix plus a few blocks, never ``n x n`` temporaries."""


def euclidean_matrix(points: np.ndarray, round: str = "none") -> np.ndarray:
    """Pairwise Euclidean distances of ``points`` (n, 2), rounded by the given convention, computed in row
    blocks. Points too far apart give ``inf``, which the model refuses, naming the entry."""
    if round not in ROUNDINGS:
        raise ValidationError("matrix.round", f'"{round}" is not one of {", ".join(ROUNDINGS)}')
    points = np.asarray(points, dtype=float)
    n = len(points)
    x, y = points[:, 0], points[:, 1]
    out = np.empty((n, n))
    step = max(1, BLOCK_ENTRIES // max(n, 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for b in range(0, n, step):
            rows = out[b:b + step]
            dy = y[b:b + step, None] - y[None, :]
            np.subtract(x[b:b + step, None], x[None, :], out=rows)
            np.multiply(rows, rows, out=rows)
            np.multiply(dy, dy, out=dy)
            np.add(rows, dy, out=rows)
            np.sqrt(rows, out=rows)
            if round == "nearest":
                rows += 0.5
                np.floor(rows, out=rows)
            elif round == "dimacs":
                rows *= 10.0
                np.floor(rows, out=rows)
                rows /= 10.0
            elif round == "exact":
                rows *= 1000.0
                rows += 0.5
                np.floor(rows, out=rows)
                rows /= 1000.0
    return out


@register_provider("euclidean")
def euclidean(problem: Problem, *, round: str = "none", speed: float | None = None) -> Matrices:
    """Straight-line distances on planar coordinates; durations are distances (or distance / ``speed``)."""
    dist = euclidean_matrix(node_locations(problem, "euclidean"), round)
    if speed is None:
        return dist, None
    return dist, dist / _positive("matrix.speed", speed)


def haversine_matrix(lonlat: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres between ``lonlat`` points (n, 2) in degrees, in row blocks."""
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    cos_lat = np.cos(lat)
    n = len(lon)
    out = np.empty((n, n))
    step = max(1, BLOCK_ENTRIES // max(n, 1))
    for b in range(0, n, step):
        rows = out[b:b + step]
        a = np.sin((lat[None, :] - lat[b:b + step, None]) / 2) ** 2
        a += cos_lat[b:b + step, None] * cos_lat[None, :] * np.sin((lon[None, :] - lon[b:b + step, None]) / 2) ** 2
        np.clip(a, 0.0, 1.0, out=a)
        np.sqrt(a, out=a)
        np.arcsin(a, out=rows)
        rows *= 2 * EARTH_RADIUS_M
    return out


@register_provider("haversine")
def haversine(problem: Problem, *, speed: float = 30.0) -> Matrices:
    """Great-circle metres on lon/lat coordinates; seconds at ``speed`` km/h."""
    if problem.coordinates != "lonlat":
        raise ValidationError("matrix.provider", 'haversine needs "coordinates": "lonlat"')
    dist = haversine_matrix(node_locations(problem, "haversine"))
    return dist, dist / (_positive("matrix.speed", speed) / 3.6)


@register_provider("explicit")
def explicit(
    problem: Problem,
    *,
    distance: Any = None,
    duration: Any = None,
    file: str | None = None,
) -> Matrices:
    """Matrices given in the problem (``distance``/``duration``) or in an ``.npz`` ``file``."""
    if file is not None:
        if distance is not None or duration is not None:
            raise ValidationError("matrix.file", "give either a file or distance/duration arrays, not both")
        path = Path(file)
        if not path.is_absolute() and problem.base_dir is not None:
            path = Path(problem.base_dir) / path
        try:
            with np.load(path) as npz:
                if "distance" not in npz:
                    raise ValidationError("matrix.file", f"{file}: no array named 'distance'")
                distance = npz["distance"]
                duration = npz.get("duration")
        except OSError as err:
            raise ValidationError("matrix.file", f"cannot read {file}: {err.strerror or err}") from None
        except ValueError as err:
            raise ValidationError("matrix.file", f"{file} is not an .npz file ({err})") from None
    if distance is None:
        raise ValidationError("matrix.distance", "the explicit provider needs a distance matrix or a file")
    return distance, duration


def _positive(path: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(path, f"expected a positive number, got {value!r}")
    return float(value)
