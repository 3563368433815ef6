"""Solvers behind one call (``vrpkit.solvers``): the protocol, the registry and :func:`solve`."""

from vrpkit.solvers.base import (
    Progress,
    Result,
    Solver,
    available_solvers,
    get_solver,
    parse_solver_spec,
    register_solver,
    solve,
)
from vrpkit.solvers.locks import lock_prefix, lock_until

__all__ = [
    "Progress",
    "Result",
    "Solver",
    "available_solvers",
    "get_solver",
    "lock_prefix",
    "lock_until",
    "parse_solver_spec",
    "register_solver",
    "solve",
]
