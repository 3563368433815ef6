"""Plans as solvers return them: routes of client indices, plus the solver's statistics."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    """One vehicle's route: its vehicle type (index) and the clients it visits (indices), in order.

    ``reloads``: ``(position, depot_index)`` pairs: the vehicle drives to that depot and reloads there **before**
    serving ``clients[position]`` (``0 < position < len(clients)``, at most one per position); reloads cut the
    route into trips. ``breaks``: ``(position, break_index)`` pairs (an index into the vehicle type's
    ``breaks``): the break is taken right **after** the service of ``clients[position - 1]`` (position 0: at the
    start depot before leaving; ``len(clients)``: after the last service), several at one position in the order
    listed. ``breaks`` None (the short form) lets the evaluator place every break of the type (see
    :mod:`vrpkit.evaluate`); ``()`` says that the route takes none.

    Normalised on construction: integers, ``reloads`` sorted, ``breaks`` sorted by position (stable). The
    evaluator reports a reload or break that does not fit the route; the constructor does not check them.
    """

    vehicle_type: int
    clients: tuple[int, ...]
    reloads: tuple[tuple[int, int], ...] = ()
    breaks: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", tuple(int(c) for c in self.clients))
        object.__setattr__(self, "vehicle_type", int(self.vehicle_type))
        object.__setattr__(self, "reloads", tuple(sorted(_pairs(self.reloads))))
        if self.breaks is not None:
            object.__setattr__(self, "breaks", tuple(sorted(_pairs(self.breaks), key=lambda x: x[0])))

    @property
    def trips(self) -> tuple[tuple[int, ...], ...]:
        """The clients of each trip (the route cut before each reload position, as listed)."""
        cuts = [p for p, _ in self.reloads]
        bounds = [0, *cuts, len(self.clients)]
        return tuple(self.clients[a:b] for a, b in itertools.pairwise(bounds))


def _pairs(items: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    out = []
    for item in items:
        a, b = item
        out.append((int(a), int(b)))
    return out


@dataclass(frozen=True)
class Solution:
    """A plan: routes (empty routes are ignored) and the solver's ``stats`` (runtime, seed, progress, ...).

    A solver returns a Solution; its cost and feasibility are never the solver's word but the evaluator's
    (:func:`vrpkit.evaluate`).
    """

    routes: tuple[Route, ...]
    stats: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(r for r in self.routes if r.clients))

    @classmethod
    def from_lists(cls, routes: Sequence[Sequence[int]], vehicle_type: int = 0, **stats: Any) -> Solution:
        """Routes given as lists of client indices, all of one vehicle type."""
        return cls(tuple(Route(vehicle_type, tuple(r)) for r in routes), stats)
