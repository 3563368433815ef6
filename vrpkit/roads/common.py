"""What the road providers share: the result with its snapping report, node labels and the reachability checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrpkit.errors import ValidationError, VrpkitError

if TYPE_CHECKING:
    from vrpkit.model import Problem

DEFAULT_MAX_SNAP = 1000.0
"""Metres: a location farther than this from the nearest street is an error (``max_snap`` option)."""


class RoadError(VrpkitError):
    """A road network cannot be prepared, started or queried (not a fault of one location)."""


@dataclass(frozen=True, eq=False)
class RoadMatrices:
    """Matrices from a road network with a report of how each location was matched to the streets.

    ``distance`` (metres) and ``duration`` (seconds) are ``(n, n)``; ``snap_distance[k]`` is how far
    location ``k`` lies from the point of the street network it was matched to (metres) and
    ``snapped[k]`` that point (lon, lat). ``cached`` tells whether the matrices came from the cache;
    ``seconds`` is the time the call took; ``details`` names the data (file, profile, algorithm, version ...).
    """

    distance: np.ndarray
    duration: np.ndarray
    snap_distance: np.ndarray | None = None
    snapped: np.ndarray | None = None
    labels: tuple[str, ...] = ()
    provider: str = ""
    cached: bool = False
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self, *, worst: int = 3) -> str:
        """A few lines for people: size, source, time, and the locations snapped the farthest."""
        n = len(self.distance)
        off = ~np.eye(n, dtype=bool)
        asym = float(np.mean(self.duration[off] != self.duration.T[off])) if n > 1 else 0.0
        where = ", ".join(f"{k}={v}" for k, v in self.details.items() if v is not None)
        lines = [f"{self.provider} matrices {n}x{n} ({where}); {'from the cache' if self.cached else 'computed'} "
                 f"in {self.seconds:.2f} s; {asym:.0%} of the pairs asymmetric"]
        if self.snap_distance is not None and n:
            snap = self.snap_distance
            lines.append(f"snapped to the streets: median {np.median(snap):.0f} m, max {snap.max():.0f} m")
            for k in np.argsort(-snap, kind="stable")[:worst]:
                label = self.labels[k] if k < len(self.labels) else f"location {k}"
                lines.append(f"  {label}: {snap[k]:.0f} m from the nearest street")
        return "\n".join(lines)


def node_labels(n_depots: int, n_clients: int) -> tuple[str, ...]:
    """``depots[0]``, ..., ``clients[0]``, ...: the JSON paths of the nodes, in matrix order."""
    return tuple(f"depots[{d}]" for d in range(n_depots)) + tuple(f"clients[{i}]" for i in range(n_clients))


def problem_points(problem: Problem, provider: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The lon/lat points of ``problem``'s nodes and their labels; planar coordinates are an error."""
    from vrpkit.matrix import node_locations

    if problem.coordinates != "lonlat":
        raise ValidationError("coordinates", f'the {provider} provider needs "coordinates": "lonlat"')
    return node_locations(problem, provider), node_labels(problem.n_depots, problem.n_clients)


def resolve_file(path: str | Path, base_dir: Path | str | None, option: str) -> Path:
    """``path`` read relative to the problem file's folder; a missing file is an error naming ``option``."""
    out = Path(path).expanduser()
    if not out.is_absolute() and base_dir is not None:
        out = Path(base_dir) / out
    if not out.is_file():
        raise ValidationError(f"matrix.{option}", f"{path}: no such file")
    return out


def check_snaps(snap: np.ndarray, labels: tuple[str, ...], max_snap: float) -> None:
    """Raise naming the first location farther than ``max_snap`` metres from the streets."""
    if max_snap is None:
        return
    far = np.flatnonzero(~(snap <= max_snap))
    if len(far):
        k = int(far[np.argmax(snap[far])])
        raise ValidationError(f"{labels[k]}.location",
                              f"{snap[k]:.0f} m from the nearest street (max_snap is {max_snap:g} m); "
                              "is it off the map?")


def check_reachable(reachable: np.ndarray, labels: tuple[str, ...]) -> None:
    """Raise naming the location in the most unreachable pairs: ``clients[4].location: no route to ...``."""
    bad = ~reachable
    np.fill_diagonal(bad, False)
    if not bad.any():
        return
    rows, cols = bad.sum(1), bad.sum(0)
    k = int(np.argmax(np.maximum(rows, cols)))
    if rows[k] >= cols[k]:
        j = int(np.flatnonzero(bad[k])[0])
        count = int(rows[k])
        message = f"no route to {labels[j]}"
    else:
        j = int(np.flatnonzero(bad[:, k])[0])
        count = int(cols[k])
        message = f"no route from {labels[j]}"
    if count > 1:
        message += f" and {count - 1} more"
    raise ValidationError(f"{labels[k]}.location", message + " (is it on a street cut off from the others?)")


def positive(option: str, value: Any, *, integer: bool = False) -> Any:
    """Check a positive numeric option."""
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        raise ValidationError(f"matrix.{option}", f"expected a positive {'integer' if integer else 'number'}, "
                                                 f"got {value!r}")
    return value
