"""Reading and writing problems and plans: our JSON, CVRPLIB/VRPLIB ``.vrp``/``.sol`` and Solomon ``.txt``."""

from __future__ import annotations

from pathlib import Path

from vrpkit.errors import InputError, ValidationError
from vrpkit.model import Problem


def read_problem(path: str | Path, *, round: str | None = None) -> Problem:
    """Read a problem from our JSON, a VRPLIB or a Solomon file.

    ``.json`` files are JSON: ours, or VROOM's input (detected from its ``vehicles`` and ``jobs``/``shipments``,
    see :mod:`vrpkit.io.vroom`); for any other suffix the format comes from the content (see
    :func:`vrpkit.io.vrplib.detect_format`; PyVRP names VRPLIB files ``.txt``, ``.tsp`` ...). ``round``
    overrides the distance convention of VRPLIB and Solomon files (``none``, ``nearest``, ``dimacs``,
    ``exact``; default: by the file's ``TYPE``, see :mod:`vrpkit.io.vrplib`); a JSON problem states its own.
    """
    from vrpkit.io.json import read_text
    from vrpkit.io.vrplib import check_round, detect_format, read_solomon, read_vrplib

    check_round(round)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        if round is not None:
            raise ValidationError("round", "applies to VRPLIB and Solomon files; a JSON problem states its matrix")
        from vrpkit.io.json import load_json, problem_from_dict
        from vrpkit.io.vroom import is_vroom_input, problem_from_vroom

        data = load_json(path)
        if is_vroom_input(data):
            return problem_from_vroom(data, name=path.stem)
        return problem_from_dict(data, base_dir=path.parent)
    kind = detect_format(read_text(path))
    if kind == "vrplib":
        return read_vrplib(path, round=round)
    if kind == "solomon":
        return read_solomon(path, round=round)
    raise InputError(f"{path}: unknown format {suffix or '(no extension)'!r}: neither VRPLIB (KEY : value lines, "
                     "*_SECTION) nor Solomon (VEHICLE and CUSTOMER blocks); JSON problems are named .json")


__all__ = ["read_problem"]
