"""The small exception hierarchy of vrpkit.

Every error a user can cause by giving bad input is a :class:`VrpkitError`; the CLI prints its message on one
line and exits with code 2. Solver failures that are not the user's fault of form (no feasible plan) are
:class:`NoSolutionError` (exit code 3).
"""

from __future__ import annotations


class VrpkitError(ValueError):
    """Base class of vrpkit's own errors; ``str(err)`` is a one-line message for users."""


class ValidationError(VrpkitError):
    """A field of a problem or plan has a bad value.

    ``field`` is the path of the field as in the JSON format (``clients[3].time_window``) and the message
    reads ``clients[3].time_window: start 900 > end 600``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


class InputError(VrpkitError):
    """A file cannot be read: missing, empty, not JSON, truncated, or of an unknown format."""


class SolverError(VrpkitError):
    """A solver cannot be found, is not installed, or does not support the problem."""


class NoSolutionError(VrpkitError):
    """No feasible plan exists or none was found; ``reasons`` lists what is known about why."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        super().__init__(message)
