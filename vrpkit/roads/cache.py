"""The on-disk cache of the road providers: prepared OSRM data, street graphs and computed matrices.

The cache folder is, in order: the ``cache_dir`` option a provider is given, the environment variable
``VRPKIT_CACHE_DIR``, or ``~/.cache/vrpkit`` (``$XDG_CACHE_HOME/vrpkit`` when that is set). Entries are keyed
by content (the SHA-256 of the map file, the profile's text, the points' coordinates ...), never by a file's
name, so a changed file is never served stale data. Every entry is written to a temporary name and renamed
into place, so concurrent runs see either nothing or a complete entry. Delete the folder to reclaim space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "VRPKIT_CACHE_DIR"
FORMAT = 1
"""Bumped when the layout of cached entries changes."""


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$VRPKIT_CACHE_DIR``, else ``~/.cache/vrpkit``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vrpkit"


def file_sha256(path: str | Path, cache_dir: str | Path | None = None) -> str:
    """SHA-256 of a file's bytes; remembered per (path, size, mtime) in the cache so big files are read once."""
    path = Path(path).resolve()
    info = path.stat()
    memo = cache_root(cache_dir) / "hashes" / (hashlib.sha1(str(path).encode()).hexdigest() + ".json")
    stamp = {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}
    try:
        saved = json.loads(memo.read_text())
        if {k: saved.get(k) for k in stamp} == stamp:
            return str(saved["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    value = digest.hexdigest()
    with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash next time
        write_atomic(memo, json.dumps({**stamp, "sha256": value}).encode())
    return value


def key_of(*parts: Any) -> str:
    """A short stable key (hex) for JSON-able parts and numpy arrays."""
    digest = hashlib.sha256(str(FORMAT).encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Save arrays to an ``.npz`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_result(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Save a computed result: its arrays and a JSON-able ``meta`` dictionary (stored as a string array)."""
    save_arrays(path, **arrays, meta=np.array(json.dumps(meta)))


def load_result(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays and ``meta`` of an entry written by :func:`save_result`, or None when absent or unreadable."""
    arrays = load_arrays(path)
    if arrays is None:
        return None
    try:
        meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    except ValueError:
        meta = {}
    return arrays, meta if isinstance(meta, dict) else {}


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz`` cache entry, or None when it is absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError):
        return None
