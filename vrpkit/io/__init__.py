"""Reading and writing problems and plans: our JSON, CVRPLIB ``.vrp``/``.sol`` and Solomon ``.txt``."""

from __future__ import annotations

from pathlib import Path

from vrpkit.errors import InputError
from vrpkit.model import Problem


def read_problem(path: str | Path) -> Problem:
    """Read a problem from our JSON (``.json``), a VRPLIB ``.vrp`` or a Solomon ``.txt`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        from vrpkit.io.json import read_problem_json

        return read_problem_json(path)
    if suffix == ".vrp":
        from vrpkit.io.vrplib import read_vrplib

        return read_vrplib(path)
    if suffix == ".txt":
        from vrpkit.io.vrplib import read_solomon

        return read_solomon(path)
    raise InputError(f"{path}: unknown format {suffix or '(no extension)'!r}; expected .json, .vrp or .txt")


__all__ = ["read_problem"]
