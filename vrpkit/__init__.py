"""vrpkit: describe a vehicle routing problem once, solve it with the best engine, check and explain the plan."""

from vrpkit.errors import InputError, NoSolutionError, SolverError, ValidationError, VrpkitError
from vrpkit.evaluate import (
    BreakTaken,
    Evaluation,
    Reload,
    RouteSchedule,
    Totals,
    Violation,
    evaluate,
    evaluate_many,
)
from vrpkit.model import ATTRIBUTES, SAME_AS_START, Break, Client, Depot, Problem, Shipment, VehicleType
from vrpkit.solution import Route, Solution


def __getattr__(name: str):  # solvers import lazily: vrpkit.solve, vrpkit.Result
    if name in ("solve", "Result", "get_solver", "available_solvers"):
        import vrpkit.solvers as solvers

        return getattr(solvers, name)
    raise AttributeError(f"module 'vrpkit' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "ATTRIBUTES",
    "SAME_AS_START",
    "Break",
    "BreakTaken",
    "Client",
    "Depot",
    "Evaluation",
    "InputError",
    "NoSolutionError",
    "Problem",
    "Reload",
    "Route",
    "RouteSchedule",
    "Shipment",
    "Solution",
    "SolverError",
    "Totals",
    "ValidationError",
    "VehicleType",
    "Violation",
    "VrpkitError",
    "evaluate",
    "evaluate_many",
    "solve",
]
