"""Road-network matrices: OSRM (a server or a local ``.osm.pbf``) and an OpenStreetMap street graph.

Providers for a problem's ``matrix`` field (lon/lat coordinates; metres and seconds):

- ``{"provider": "osrm", "url": "http://127.0.0.1:5000"}`` or ``{"provider": "osrm", "pbf": "city.osm.pbf",
  "profile": "car"}``: see :mod:`vrpkit.roads.osrm` (the executables: ``python -m vrpkit.roads.install``);
- ``{"provider": "osm", "file": "city.osm.pbf"}`` (or ``.osm``, ``.graphml``): see :mod:`vrpkit.roads.osm`
  (needs the ``maps`` extra).

Both report how far each location was snapped to the streets (:class:`RoadMatrices`), fail with an error
naming the location when it is off the map or cut off from the others, and cache their results (see
:mod:`vrpkit.roads.cache`; ``VRPKIT_CACHE_DIR``). :func:`compute_and_save` writes the matrices of a problem
to an ``.npz`` that ``{"provider": "explicit", "file": ...}`` reads; :func:`generate_osm_instance` samples a
problem on the streets of an extract.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.roads.cache import CACHE_ENV, cache_root, save_arrays
from vrpkit.roads.common import RoadError, RoadMatrices, node_labels

if TYPE_CHECKING:
    from vrpkit.model import Problem

ROAD_PROVIDERS = ("osrm", "osm")


def road_matrices(problem: Problem, spec: Mapping[str, Any] | None = None) -> RoadMatrices:
    """The matrices of ``problem`` under ``spec`` (default: the problem's own ``matrix``) with the snapping report
    for the road providers; other providers give the problem's matrices without one. Cached road results are
    read back, so calling this on a problem built with a road provider costs no recomputation."""
    import time

    from vrpkit.matrix import compute_matrices

    start = time.perf_counter()
    spec = dict(problem.matrix if spec is None else spec)
    name = spec.get("provider")
    options = {k: v for k, v in spec.items() if k != "provider"}
    if name == "osrm":
        from vrpkit.roads import osrm as module

        _check_options(name, module.osrm, options)
        return module.osrm_provider_result(problem, **options)
    if name == "osm":
        from vrpkit.roads import osm as module

        _check_options(name, module.osm, options)
        return module.osm_provider_result(problem, **options)
    if spec == dict(problem.matrix):
        distance, duration = problem.distance, problem.duration
    else:
        distance, duration = compute_matrices(spec, problem)
        duration = distance if duration is None else duration
    return RoadMatrices(np.asarray(distance, dtype=float), np.asarray(duration, dtype=float),
                        labels=node_labels(problem.n_depots, problem.n_clients), provider=str(name),
                        seconds=time.perf_counter() - start)


def _check_options(name: str, provider: Any, options: Mapping[str, Any]) -> None:
    params = inspect.signature(provider).parameters
    accepted = {k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for key in options:
        if key not in accepted:
            raise ValidationError(f"matrix.{key}", f'unknown option of provider "{name}" '
                                                   f"(known: {', '.join(sorted(accepted))})")


def compute_and_save(problem: Problem, path: str | Path, *, spec: Mapping[str, Any] | None = None) -> RoadMatrices:
    """Compute ``problem``'s matrices (under ``spec``, default its own) and save them to ``path`` (an ``.npz``
    with arrays ``distance`` (m) and ``duration`` (s), plus ``node_id`` and, from road providers,
    ``snap_distance`` (m) and ``snapped`` (lon, lat)). A problem then reads it with
    ``{"provider": "explicit", "file": "<path>"}``. Returns the matrices and their report (``.summary()``)."""
    result = road_matrices(problem, spec)
    arrays = {"distance": result.distance, "duration": result.duration,
              "node_id": np.array(problem.node_ids, dtype=str)}
    if result.snap_distance is not None:
        arrays["snap_distance"] = result.snap_distance
    if result.snapped is not None:
        arrays["snapped"] = result.snapped
    save_arrays(Path(path), **arrays)
    return result


def __getattr__(name: str) -> Any:  # the heavier parts import on first use
    if name in ("generate_osm_instance", "save_instance"):
        from vrpkit.roads import generate

        return getattr(generate, name)
    if name in ("OsrmServer", "OsrmClient", "osrm_matrices", "prepare", "route_geometries",
                "MissingExecutableError"):
        from vrpkit.roads import osrm

        return getattr(osrm, name)
    if name in ("osm_matrices", "street_graph", "street_network", "StreetNetwork"):
        from vrpkit.roads import osm

        return getattr(osm, name)
    if name == "install_osrm":
        from vrpkit.roads.install import install_osrm

        return install_osrm
    raise AttributeError(f"module 'vrpkit.roads' has no attribute {name!r}")


__all__ = [
    "CACHE_ENV",
    "ROAD_PROVIDERS",
    "RoadError",
    "RoadMatrices",
    "cache_root",
    "compute_and_save",
    "road_matrices",
]
