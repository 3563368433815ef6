"""Plans as solvers return them: routes of client indices, plus the solver's statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    """One vehicle's route: its vehicle type (index) and the clients it visits (indices), in order."""

    vehicle_type: int
    clients: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", tuple(int(c) for c in self.clients))
        object.__setattr__(self, "vehicle_type", int(self.vehicle_type))


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
