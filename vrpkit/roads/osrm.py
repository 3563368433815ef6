"""The ``osrm`` matrix provider: road distances and durations from OSRM (https://project-osrm.org).

Two sources of data:

- ``{"provider": "osrm", "url": "http://127.0.0.1:5000"}``: a running OSRM server; ``/table`` gives the
  matrices (requested in blocks when the table is larger than the server allows) and ``/route`` the geometry.
- ``{"provider": "osrm", "pbf": "monaco.osm.pbf", "profile": "car"}``: a local OpenStreetMap extract. vrpkit
  prepares it with the OSRM tools (``osrm-extract``, then ``osrm-partition`` + ``osrm-customize`` for
  ``"algorithm": "mld"`` or ``osrm-contract`` for ``"ch"``), caches the result keyed by the file's SHA-256, the
  profile, the algorithm and the OSRM version, starts ``osrm-routed`` on 127.0.0.1 on a free port, queries it
  and stops it by its PID (also on errors, at exit, and, on Linux, when the Python process dies).

Options: ``profile`` (``car``, ``bicycle``, ``foot`` or a ``.lua`` path; default ``car``), ``algorithm``
(``ch``, default, or ``mld``), ``max_table_size`` (locations per request; with ``pbf`` also the server's
limit), ``max_snap`` (metres, default 1000: a location farther from a street is an error), ``cache``
(default true; false recomputes the matrices, the prepared data are always reused) and ``cache_dir`` (see
:mod:`vrpkit.roads.cache`), ``osrm_bin`` (the folder of the executables), ``threads`` (default 2) and
``timeout`` (seconds per request, default 300).

Matrices are cached by the data (for a ``url``: the URL, so pass ``"cache": false`` when the server's data
change) and the points. :func:`route_geometries` gives the road geometry of routes (for maps).

The executables come from the PyPI wheel ``osrm-bindings`` (``python -m vrpkit.roads.install``); they are
looked for in ``osrm_bin``, ``$VRPKIT_OSRM_BIN``, the folder that command installs into, the ``osrm`` Python
package and ``PATH``, in this order. Distances are metres (of the fastest route), durations seconds.
"""

from __future__ import annotations

import atexit
import ctypes
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from vrpkit.errors import ValidationError
from vrpkit.matrix import EARTH_RADIUS_M, Matrices
from vrpkit.roads.cache import cache_root, file_sha256, key_of, load_result, save_result
from vrpkit.roads.common import (
    DEFAULT_MAX_SNAP,
    RoadError,
    RoadMatrices,
    check_reachable,
    check_snaps,
    positive,
    problem_points,
    resolve_file,
)
from vrpkit.roads.install import default_install_root

if TYPE_CHECKING:
    from vrpkit.model import Problem

logger = logging.getLogger(__name__)
BIN_ENV = "VRPKIT_OSRM_BIN"
ALGORITHMS = ("ch", "mld")
LOCAL_TABLE_SIZE = 10_000
"""The ``--max-table-size`` of servers vrpkit starts (osrm-routed's default is 100)."""
SERVER_TABLE_SIZE = 100
"""Block size for a server whose limit is unknown once a whole table was refused (OSRM's default limit)."""
INSTALL_HINT = f"install them with `python -m vrpkit.roads.install` or point ${BIN_ENV} at their folder"


_KEPT = ("prepared_s", "requests", "computed_s")
"""Details of a computation that its cache entry keeps."""


def osrm_children() -> set[int]:
    """PIDs of the osrm-routed processes that this Python process started and that still run (Linux: read
    from /proc; empty elsewhere). Used to check that no server is left behind."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if name == "osrm-routed" and int(rest[1]) == os.getpid() and rest[0] != "Z":
            found.add(int(stat.parent.name))
    return found


class MissingExecutableError(RoadError):
    """An OSRM executable is not installed (or not where ``osrm_bin`` / ``$VRPKIT_OSRM_BIN`` points)."""


# -- executables and profiles -------------------------------------------------------------------------------


def _candidate_dirs(osrm_bin: str | Path | None) -> list[Path]:
    if osrm_bin is not None:
        return [Path(osrm_bin).expanduser()]
    if os.environ.get(BIN_ENV):
        return [Path(os.environ[BIN_ENV]).expanduser()]
    dirs = [p / "bin" for p in sorted(default_install_root().glob("bin-*"), key=_version_key, reverse=True)]
    try:  # the wheel installed as a package (Python >= 3.12)
        spec = find_spec("osrm")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        dirs += [Path(loc) / "bin" for loc in spec.submodule_search_locations]
    return dirs


def _version_key(path: Path) -> tuple[int, ...]:
    parts = path.name.removeprefix("bin-").split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


def find_executable(name: str, osrm_bin: str | Path | None = None) -> Path:
    """The path of OSRM executable ``name`` (e.g. ``osrm-routed``); :class:`MissingExecutableError` if absent."""
    dirs = _candidate_dirs(osrm_bin)
    for folder in dirs:
        exe = folder / name
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
        if exe.is_file():
            raise MissingExecutableError(f"{exe} is not executable (chmod +x it)")
    if osrm_bin is None and not os.environ.get(BIN_ENV) and (found := shutil.which(name)):
        return Path(found)
    where = f"in {dirs[0]}" if osrm_bin is not None or os.environ.get(BIN_ENV) else "on this machine"
    raise MissingExecutableError(f"OSRM executable {name} not found {where}; {INSTALL_HINT}")


_VERSIONS: dict[tuple[str, int], str] = {}


def osrm_version(osrm_bin: str | Path | None = None) -> str:
    """The version ``osrm-routed --version`` prints, e.g. ``v26.10.0``."""
    exe = find_executable("osrm-routed", osrm_bin)
    stamp = (str(exe), exe.stat().st_mtime_ns)
    if stamp not in _VERSIONS:
        try:
            done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise RoadError(f"{exe} does not run: {err}") from None
        if done.returncode != 0 or not done.stdout.strip():
            raise RoadError(f"{exe} --version failed: {(done.stderr or done.stdout).strip()[-300:]}")
        _VERSIONS[stamp] = done.stdout.strip().splitlines()[-1]
    return _VERSIONS[stamp]


def find_profile(profile: str, osrm_bin: str | Path | None = None) -> Path:
    """The ``.lua`` file of ``profile``: a path, or a name (``car``, ``bicycle``, ``foot``) found beside the
    executables (``../profiles`` as installed by vrpkit, ``../share/profiles`` in the wheel, or
    ``../share/osrm/profiles`` of a system install)."""
    if profile.endswith(".lua") or os.sep in profile:
        path = Path(profile).expanduser()
        if not path.is_file():
            raise ValidationError("matrix.profile", f"{profile}: no such file")
        return path
    bin_dir = find_executable("osrm-extract", osrm_bin).resolve().parent
    roots = [bin_dir.parent / "profiles", bin_dir.parent / "share" / "profiles",
             bin_dir.parent / "share" / "osrm" / "profiles"]
    for root in roots:
        if (root / f"{profile}.lua").is_file():
            return root / f"{profile}.lua"
    known = sorted({p.stem for root in roots if root.is_dir() for p in root.glob("*.lua")})
    raise ValidationError("matrix.profile", f'unknown profile "{profile}" (known: {", ".join(known) or "none"}; '
                                            "or give the path of a .lua file)")


def _profile_hash(path: Path) -> str:
    files = [path, *sorted((path.parent / "lib").glob("*.lua"))]
    return key_of(*[f.read_bytes().decode("utf-8", "replace") for f in files])


# -- data preparation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedData:
    """OSRM data ready for ``osrm-routed``: ``base`` is the ``.osrm`` base path."""

    base: Path
    algorithm: str
    version: str
    key: str
    seconds: float = 0.0
    cached: bool = True


def data_key(pbf: Path, *, profile: str = "car", algorithm: str = "ch", cache_dir: str | Path | None = None,
             osrm_bin: str | Path | None = None) -> tuple[str, Path, str]:
    """The cache key of the prepared data of ``pbf`` (file hash, profile, algorithm, OSRM version)."""
    algorithm = _algorithm(algorithm)
    lua = find_profile(profile, osrm_bin)
    version = osrm_version(osrm_bin)
    key = key_of("osrm-data", file_sha256(pbf, cache_dir), _profile_hash(lua), algorithm, version)
    return key, lua, version


def _algorithm(algorithm: Any) -> str:
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise ValidationError("matrix.algorithm", f"{algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    return algorithm.lower()


def prepare(
    pbf: str | Path,
    *,
    profile: str = "car",
    algorithm: str = "ch",
    cache_dir: str | Path | None = None,
    osrm_bin: str | Path | None = None,
    threads: int = 2,
) -> PreparedData:
    """Prepare ``pbf`` for ``osrm-routed`` (extract, then contract or partition + customize), once: the result
    is cached under ``<cache>/osrm/data/<key>``."""
    pbf = Path(pbf)
    if not pbf.is_file():
        raise ValidationError("matrix.pbf", f"{pbf}: no such file")
    algorithm = _algorithm(algorithm)
    key, lua, version = data_key(pbf, profile=profile, algorithm=algorithm, cache_dir=cache_dir,
                                 osrm_bin=osrm_bin)
    folder = cache_root(cache_dir) / "osrm" / "data" / key
    base = folder / "map.osrm"
    if (folder / "done").is_file():
        return PreparedData(base, algorithm, version, key)
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        source = "map" + _osm_suffix(pbf)  # OSRM reads the format from the name and writes map.osrm.*
        os.symlink(pbf.resolve(), staging / source)
        steps = [["osrm-extract", "-p", str(lua), "-t", str(threads), source]]
        if algorithm == "mld":
            steps += [["osrm-partition", "-t", str(threads), "map.osrm"],
                      ["osrm-customize", "-t", str(threads), "map.osrm"]]
        else:
            steps += [["osrm-contract", "-t", str(threads), "map.osrm"]]
        for name, *args in steps:
            exe = find_executable(name, osrm_bin)
            logger.info("%s: %s (%s, %s) ...", pbf.name, name, Path(lua).stem, algorithm)
            with open(staging / f"{name}.log", "wb") as log:
                code = subprocess.run([str(exe), *args], cwd=staging, stdout=log, stderr=subprocess.STDOUT,
                                      check=False).returncode
            if code != 0:
                tail = _tail(staging / f"{name}.log")
                raise RoadError(f"{name} failed on {pbf.name} (exit code {code}): {tail}")
        (staging / source).unlink()
        (staging / "done").write_text(json.dumps({"pbf": str(pbf.resolve()), "profile": str(lua),
                                                  "algorithm": algorithm, "version": version}))
        try:
            staging.rename(folder)
        except OSError:  # prepared meanwhile by another process
            if not (folder / "done").is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return PreparedData(base, algorithm, version, key, time.perf_counter() - start, cached=False)


def _osm_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".osm.pbf", ".osm.bz2", ".osm"):
        if name.endswith(suffix):
            return suffix
    if name.endswith(".pbf"):
        return ".osm.pbf"
    raise ValidationError("matrix.pbf", f"{path.name}: expected an OpenStreetMap .osm.pbf, .osm or .osm.bz2 file")


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    useful = [re.sub(r"^\[[^\]]*\d\] ", "", line.strip()) for line in text.splitlines() if line.strip()]
    return " | ".join(useful[-lines:]) or "(no output)"


# -- the server -------------------------------------------------------------------------------------------

_LIVE: dict[int, OsrmServer] = {}
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    for server in list(_LIVE.values()):
        server.stop()


atexit.register(_stop_all)


def _die_with_parent() -> Any:
    """A ``preexec_fn`` that has Linux send SIGTERM to the child when the thread that started it ends."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OsrmServer:
    """``osrm-routed`` on prepared data, bound to 127.0.0.1 on a free port; a context manager.

    ``start()`` waits until the server answers; ``stop()`` terminates it by its PID (then kills it after
    ``grace`` seconds). Servers still running at interpreter exit are stopped, and on Linux the server also
    gets SIGTERM when the thread that started it ends.
    """

    def __init__(
        self,
        data: PreparedData | str | Path,
        *,
        algorithm: str | None = None,
        max_table_size: int = LOCAL_TABLE_SIZE,
        threads: int = 2,
        osrm_bin: str | Path | None = None,
        startup_timeout: float = 60.0,
        grace: float = 5.0,
    ) -> None:
        if isinstance(data, PreparedData):
            self.base, algo = data.base, data.algorithm
        else:
            self.base, algo = Path(data), "ch"
        self.algorithm = _algorithm(algorithm or algo)
        self.max_table_size = positive("max_table_size", max_table_size, integer=True)
        self.threads = threads
        self.osrm_bin = osrm_bin
        self.startup_timeout = startup_timeout
        self.grace = grace
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RoadError("the OSRM server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> OsrmServer:
        """Start the server and wait until it accepts requests; :class:`RoadError` (with its log) if it fails."""
        if self.process is not None:
            return self
        exe = find_executable("osrm-routed", self.osrm_bin)
        if not Path(f"{self.base}.properties").is_file() and not Path(f"{self.base}.ebg_nodes").is_file():
            raise RoadError(f"{self.base}: no prepared OSRM data there")
        for _attempt in range(3):
            try:
                if self._launch(exe):
                    return self
            except BaseException:
                self.stop()
                raise
        self.stop()
        raise RoadError("osrm-routed found no free port on 127.0.0.1")

    def _launch(self, exe: Path) -> bool:
        self.port = free_port()
        self._log = tempfile.TemporaryFile(prefix="osrm-routed-")  # noqa: SIM115 (closed by stop())
        command = [str(exe), "--ip", "127.0.0.1", "--port", str(self.port), "--algorithm",
                   self.algorithm.upper(), "--max-table-size", str(self.max_table_size),
                   "--max-viaroute-size", str(max(500, self.max_table_size)), "--threads", str(self.threads),
                   str(self.base)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, preexec_fn=_die_with_parent())
        with _LIVE_LOCK:
            _LIVE[self.process.pid] = self
        logger.info("osrm-routed started (pid %d, %s)", self.process.pid, self.url)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                log = self._read_log()
                self.stop()
                if "address already in use" in log.lower():
                    return False
                lines = [re.sub(r"^\[[^\]]*\d\] ", "", line.strip()) for line in log.splitlines()]
                tail = " | ".join(line for line in lines[-2:] if line)
                raise RoadError(f"osrm-routed could not start on {self.base.name} (exit code {code}): "
                                f"{tail or 'no output'}")
            if "running and waiting for requests" in self._read_log() and self._accepts():
                return True
            time.sleep(0.02)
        self.stop()
        raise RoadError(f"osrm-routed did not answer within {self.startup_timeout:g} s")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port or 0), timeout=1.0):
                return True
        except OSError:
            return False

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``grace`` seconds) and wait for it."""
        process, self.process = self.process, None
        if process is not None:
            with _LIVE_LOCK:
                _LIVE.pop(process.pid, None)
            if process.poll() is None:
                logger.info("stopping osrm-routed (pid %d)", process.pid)
                process.terminate()
                try:
                    process.wait(self.grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    def __enter__(self) -> OsrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}, url={self.url}" if self.process is not None else "stopped"
        return f"OsrmServer({self.base}, {self.algorithm}, {state})"


# -- the client -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A ``/table`` answer: matrices (NaN where no route) and how each location was snapped."""

    distance: np.ndarray
    duration: np.ndarray
    snap_distance: np.ndarray
    snapped: np.ndarray
    requests: int


@dataclass(frozen=True)
class _Block:
    duration: np.ndarray
    distance: np.ndarray
    snap: np.ndarray  # of the sources
    snapped: np.ndarray


class OsrmClient:
    """A small HTTP client of one OSRM server (keeps its connection open between requests).

    Tables are asked in OSRM's binary flatbuffers format when the server speaks it (OSRM >= 5.23; it saves
    the server and vrpkit the printing and parsing of millions of decimal numbers), else in JSON.
    """

    def __init__(self, url: str, *, profile: str = "car", timeout: float = 300.0) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("matrix.url", f"{url!r} is not an http(s) URL")
        try:
            port = parts.port
        except ValueError:
            raise ValidationError("matrix.url", f"{url!r} has a bad port") from None
        self.url = url
        self.profile = profile
        self.timeout = timeout
        self.binary = True
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, port
        self._prefix = parts.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> OsrmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _path(self, service: str, points: np.ndarray, suffix: str, params: dict[str, str]) -> str:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in np.asarray(points, dtype=float))
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self._prefix}/{service}/v1/{self.profile}/{coords}{suffix}" + (f"?{query}" if query else "")

    def request(self, service: str, points: np.ndarray, **params: str) -> dict[str, Any]:
        """GET ``/{service}/v1/{profile}/{lon,lat;...}?params`` and return the decoded JSON answer.

        Errors OSRM reports (``{"code": "NoSegment", ...}``) come back as the answer; transport failures raise
        :class:`RoadError` naming the URL."""
        body, status, _ = self._get(self._path(service, points, "", params))
        return self._json(body, status)

    def _json(self, body: bytes, status: int) -> dict[str, Any]:
        try:
            answer = json.loads(body)
        except ValueError:
            snippet = body[:80].decode("utf-8", "replace").strip()
            raise RoadError(f"{self.url} is not an OSRM server (HTTP {status}: {snippet!r})") from None
        if not isinstance(answer, dict) or "code" not in answer:
            raise RoadError(f"{self.url} is not an OSRM server (no 'code' in its answer)")
        return answer

    def _get(self, path: str) -> tuple[bytes, int, str]:
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request("GET", path, headers={"Connection": "keep-alive"})
                response = conn.getresponse()
                return response.read(), response.status, response.getheader("Content-Type", "")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                self.close()  # a kept-alive connection the server closed meanwhile: retry once
                if attempt:
                    raise RoadError(f"cannot reach OSRM at {self.url}: {err}") from None
            except (OSError, http.client.HTTPException) as err:
                self.close()
                reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
                raise RoadError(f"cannot reach OSRM at {self.url}: {reason}") from None
        raise AssertionError("unreachable")

    def table(self, points: np.ndarray, *, block: int | None = None) -> Table:
        """Distance and duration tables between all ``points`` (lon, lat), in blocks of ``block`` locations.

        Without ``block`` the whole table is asked at once, and in blocks of 100 (then fewer) if the server
        refuses it as too big."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        n = len(points)
        if n == 0:
            return Table(np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0), np.zeros((0, 2)), 0)
        size = n if block is None else int(block)
        while True:
            try:
                return self._table_blocks(points, max(1, min(size, n)))
            except _TooBig as err:
                if block is not None or size <= 1:
                    raise RoadError(f"OSRM at {self.url} refused a table of {min(size, n)} locations "
                                    f"({err}); set a smaller max_table_size") from None
                size = SERVER_TABLE_SIZE if size > SERVER_TABLE_SIZE else size // 2

    def _table_blocks(self, points: np.ndarray, size: int) -> Table:
        n = len(points)
        if size >= n and n > 1:  # one request: its arrays are the table
            answer = self._ask_table(points, {}, n, n)
            table = Table(answer.distance, answer.duration, answer.snap, answer.snapped, 1)
            _unreachable(table)
            return table
        distance = np.full((n, n), np.nan)
        duration = np.full((n, n), np.nan)
        snap = np.full(n, np.nan)
        snapped = np.full((n, 2), np.nan)
        starts = range(0, n, size)
        requests = 0
        for a in starts:
            rows = slice(a, min(a + size, n))
            for b in starts:
                cols = slice(b, min(b + size, n))
                if a == b and rows.stop - a == 1:  # OSRM needs two coordinates: the point twice
                    answer = self._ask_table(points[[a, a]], {"sources": "0", "destinations": "0"}, 1, 1)
                    snap[rows], snapped[rows] = answer.snap, answer.snapped
                elif a == b:
                    answer = self._ask_table(points[rows], {}, rows.stop - a, rows.stop - a)
                    snap[rows], snapped[rows] = answer.snap, answer.snapped
                else:
                    m, k = rows.stop - a, cols.stop - b
                    params = {"sources": ";".join(map(str, range(m))),
                              "destinations": ";".join(map(str, range(m, m + k)))}
                    answer = self._ask_table(np.concatenate([points[rows], points[cols]]), params, m, k)
                requests += 1
                duration[rows, cols] = answer.duration
                distance[rows, cols] = answer.distance
        table = Table(distance, duration, snap, snapped, requests)
        _unreachable(table)
        return table

    def _ask_table(self, points: np.ndarray, params: dict[str, str], rows: int, cols: int) -> _Block:
        params = {"annotations": "duration,distance", "generate_hints": "false", **params}
        if self.binary:
            body, status, kind = self._get(self._path("table", points, ".flatbuffers", params))
            if kind.startswith("application/x-flatbuffers"):
                try:
                    return _read_flatbuffers_table(body, rows, cols, self.url)
                except _BadFormat:
                    pass
            self.binary = False  # an older server, or one behind a proxy that rewrites answers: use JSON
        body, status, _ = self._get(self._path("table", points, "", params))
        answer = self._json(body, status)
        _raise_for(answer.get("code"), answer.get("message", ""), self.url)
        sources = answer.get("sources") or []
        return _Block(_matrix(answer.get("durations"), "durations", rows, cols),
                      _matrix(answer.get("distances"), "distances", rows, cols),
                      np.array([w.get("distance", np.nan) for w in sources], dtype=float),
                      np.array([w.get("location", (np.nan, np.nan)) for w in sources], dtype=float).reshape(-1, 2))

    def route(self, points: np.ndarray) -> dict[str, Any]:
        """The fastest route through ``points`` in order: ``distance`` (m), ``duration`` (s) and
        ``geometry``, an ``(m, 2)`` array of lon/lat along the streets."""
        answer = self.request("route", points, overview="full", geometries="geojson", steps="false",
                              generate_hints="false")
        _raise_for(answer.get("code"), answer.get("message", ""), self.url)
        best = answer["routes"][0]
        return {"distance": float(best["distance"]), "duration": float(best["duration"]),
                "geometry": np.asarray(best["geometry"]["coordinates"], dtype=float)}


class _TooBig(Exception):
    pass


class _BadFormat(Exception):
    pass


def _raise_for(code: Any, message: str, url: str) -> None:
    if code == "Ok":
        return
    if code == "TooBig":
        raise _TooBig(message or code)
    raise RoadError(f"OSRM at {url} answered {code}" + (f": {message}" if message else ""))


def _matrix(rows: Any, name: str, n_rows: int, n_cols: int) -> np.ndarray:
    if rows is None:
        raise RoadError(f"OSRM answered no {name} (a server older than 5.16?)")
    out = np.array(rows, dtype=float)  # null (no route) becomes NaN
    if out.shape != (n_rows, n_cols):
        raise RoadError(f"OSRM answered {name} of shape {out.shape}, expected {(n_rows, n_cols)}")
    return out


def _read_flatbuffers_table(buf: bytes, rows: int, cols: int, url: str) -> _Block:
    """Decode a ``/table`` answer in OSRM's flatbuffers schema (``fbresult.fbs``: FBResult{error, code,
    data_version, waypoints, routes, table: TableResult{durations, rows, cols, distances, destinations}}).

    Values are float32 there (rounded back to OSRM's 0.1 m / 0.1 s), and a pair without a route reads 0: such
    pairs are told apart from points that share a spot by their snapped locations (see :func:`_unreachable`).
    """
    try:
        root = _u32(buf, 0)
        error = _field(buf, root, 0)
        if error is not None and buf[error]:
            code_table = _ref(buf, _need(_field(buf, root, 1)))
            code = _string(buf, _field(buf, code_table, 0))
            _raise_for(code, _string(buf, _field(buf, code_table, 1)), url)
        table = _ref(buf, _need(_field(buf, root, 5)))
        n_rows = _u16(buf, _need(_field(buf, table, 1)))
        n_cols = _u16(buf, _need(_field(buf, table, 2)))
        if (n_rows, n_cols) != (rows, cols):
            raise _BadFormat
        duration = _floats(buf, _need(_field(buf, table, 0)), rows * cols).reshape(rows, cols)
        distance = _floats(buf, _need(_field(buf, table, 3)), rows * cols).reshape(rows, cols)
        start, count = _vector(buf, _need(_field(buf, root, 3)))
        if count != rows:
            raise _BadFormat
        data = np.frombuffer(buf, np.uint8)  # the waypoints (sources), all at once
        waypoint = start + 4 * np.arange(count, dtype=np.int64) + np.frombuffer(buf, "<u4", count, start)
        vtable = waypoint - _gather(data, waypoint, "<i4")
        size = _gather(data, vtable, "<u2")
        distance_at = np.where(size > 6, _gather(data, vtable + 6, "<u2"), 0)  # field 1: distance (float)
        location_at = np.where(size > 10, _gather(data, vtable + 10, "<u2"), 0)  # field 3: location (struct)
        if not location_at.all():
            raise _BadFormat
        snap = np.where(distance_at > 0, _gather(data, waypoint + distance_at, "<f4"), 0.0).astype(float)
        snapped = _gather(data, waypoint + location_at, "<f4", 2).astype(float)
    except (IndexError, ValueError, struct.error):
        raise _BadFormat from None
    return _Block(duration, distance, snap, snapped)


def _gather(data: np.ndarray, positions: np.ndarray, dtype: str, count: int = 1) -> np.ndarray:
    """Little-endian values of ``dtype`` (``count`` in a row) at byte ``positions`` of ``data``."""
    width = np.dtype(dtype).itemsize * count
    positions = np.minimum(positions, len(data) - width)  # absent fields read garbage, masked by the caller
    raw = data[positions[:, None] + np.arange(width)]
    values = np.ascontiguousarray(raw).view(dtype)
    return values if count > 1 else values[:, 0]


def _need(pos: int | None) -> int:
    if pos is None:
        raise _BadFormat
    return pos


def _u32(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", buf, pos)[0])


def _u16(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<H", buf, pos)[0])


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Absolute position of field ``index`` of the flatbuffers table at ``table``, None when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    slot = 4 + 2 * index
    if slot >= _u16(buf, vtable):
        return None
    offset = _u16(buf, vtable + slot)
    return table + offset if offset else None


def _ref(buf: bytes, pos: int) -> int:
    return pos + _u32(buf, pos)


def _vector(buf: bytes, field: int) -> tuple[int, int]:
    start = _ref(buf, field)
    return start + 4, _u32(buf, start)


def _floats(buf: bytes, field: int, expected: int) -> np.ndarray:
    start, count = _vector(buf, field)
    if count != expected:
        raise _BadFormat
    out = np.frombuffer(buf, "<f4", count, start).astype(float)
    out *= 10.0  # OSRM's values are multiples of 0.1 (as np.round(x, 1) does, without temporaries)
    np.rint(out, out=out)
    out /= 10.0
    return out


def _string(buf: bytes, field: int | None) -> str:
    if field is None:
        return ""
    start, count = _vector(buf, field)
    return buf[start:start + count].decode("utf-8", "replace")


def _unreachable(table: Table) -> None:
    """Mark as NaN the pairs a binary answer gave as 0 m and 0 s although their snapped points lie over 1 m
    apart (no route: a real route is at least as long as the straight line)."""
    zero = (table.duration == 0) & (table.distance == 0)
    np.fill_diagonal(zero, False)
    if not zero.any():
        return
    i, j = np.nonzero(zero)
    lon1, lat1 = np.radians(table.snapped[i]).T
    lon2, lat2 = np.radians(table.snapped[j]).T
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    apart = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))) > 1.0
    table.duration[i[apart], j[apart]] = np.nan
    table.distance[i[apart], j[apart]] = np.nan


# -- the provider -------------------------------------------------------------------------------------------


def osrm_matrices(
    points: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    url: str | None = None,
    pbf: str | Path | None = None,
    profile: str = "car",
    algorithm: str = "ch",
    max_table_size: int | None = None,
    max_snap: float = DEFAULT_MAX_SNAP,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    osrm_bin: str | Path | None = None,
    threads: int = 2,
    timeout: float = 300.0,
    base_dir: str | Path | None = None,
) -> RoadMatrices:
    """OSRM matrices between ``points`` (``(n, 2)`` lon/lat) from a server ``url`` or a local ``pbf``.

    ``labels`` name the points in errors (default ``location[k]``). Raises :class:`ValidationError` naming
    a location that is more than ``max_snap`` metres from a street or that cannot be reached, and
    :class:`RoadError` when OSRM cannot be prepared, started or reached.
    """
    start = time.perf_counter()
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    labels = tuple(labels) if labels is not None else tuple(f"location[{k}]" for k in range(len(points)))
    if (url is None) == (pbf is None):
        raise ValidationError("matrix", 'the osrm provider needs either "url" or "pbf"')
    if max_table_size is not None:
        positive("max_table_size", max_table_size, integer=True)
    if not isinstance(profile, str) or not profile:
        raise ValidationError("matrix.profile", f"expected a profile name or .lua path, got {profile!r}")
    max_snap = positive("max_snap", max_snap)
    algorithm = _algorithm(algorithm)
    positive("threads", threads, integer=True)
    positive("timeout", timeout)
    details: dict[str, Any] = {"profile": profile}
    if pbf is not None:
        path = resolve_file(pbf, base_dir, "pbf")
        if not str(profile).endswith(".lua") or Path(profile).is_absolute() or base_dir is None:
            lua = profile
        else:
            lua = str(Path(base_dir) / profile)
        key, _, version = data_key(path, profile=lua, algorithm=algorithm, cache_dir=cache_dir, osrm_bin=osrm_bin)
        details.update(pbf=path.name, algorithm=algorithm, osrm=version)
        source: Any = ("pbf", key)
    else:
        if not isinstance(url, str):
            raise ValidationError("matrix.url", f"expected a URL, got {url!r}")
        details["url"] = url
        source = ("url", url.rstrip("/"), profile)
    entry = cache_root(cache_dir) / "matrices" / f"osrm-{key_of(source, points)}.npz"
    saved = load_result(entry) if cache else None
    if saved is not None:
        arrays, meta = saved
        table = Table(arrays["distance"], arrays["duration"], arrays["snap_distance"], arrays["snapped"], 0)
        details.update(meta)
    else:
        if pbf is not None:
            data = prepare(path, profile=lua, algorithm=algorithm, cache_dir=cache_dir, osrm_bin=osrm_bin,
                           threads=threads)
            limit = max_table_size or LOCAL_TABLE_SIZE
            if not data.cached:
                details["prepared_s"] = round(data.seconds, 2)
            with OsrmServer(data, max_table_size=limit, threads=threads, osrm_bin=osrm_bin) as server, \
                    OsrmClient(server.url, profile=profile, timeout=timeout) as client:
                table = client.table(points, block=limit)
        else:
            with OsrmClient(url, profile=profile, timeout=timeout) as client:
                table = client.table(points, block=max_table_size)
        details["requests"] = table.requests
        details["computed_s"] = round(time.perf_counter() - start, 3)
        if cache:
            arrays = {"distance": table.distance, "duration": table.duration, "snap_distance": table.snap_distance,
                      "snapped": table.snapped}
            save_result(entry, arrays, {k: v for k, v in details.items() if k in _KEPT})
    check_snaps(table.snap_distance, labels, max_snap)
    check_reachable(np.isfinite(table.duration) & np.isfinite(table.distance), labels)
    return RoadMatrices(table.distance, table.duration, table.snap_distance, table.snapped, labels, "osrm",
                        cached=saved is not None, seconds=time.perf_counter() - start, details=details)


def route_geometries(
    routes: Sequence[np.ndarray],
    *,
    url: str | None = None,
    pbf: str | Path | None = None,
    profile: str = "car",
    algorithm: str = "ch",
    cache_dir: str | Path | None = None,
    osrm_bin: str | Path | None = None,
    threads: int = 2,
    timeout: float = 300.0,
) -> list[dict[str, Any]]:
    """The fastest road path through each route's stops (``(k, 2)`` lon/lat, in visiting order), from a server
    ``url`` or a local ``pbf`` (one server for all routes): ``distance`` (m), ``duration`` (s) and ``geometry``
    (``(m, 2)`` lon/lat). A route of one stop is that point."""
    if (url is None) == (pbf is None):
        raise ValidationError("matrix", 'route geometries need either "url" or "pbf"')
    routes = [np.asarray(r, dtype=float).reshape(-1, 2) for r in routes]

    def ask(client: OsrmClient) -> list[dict[str, Any]]:
        return [client.route(r) if len(r) > 1 else {"distance": 0.0, "duration": 0.0, "geometry": r.copy()}
                for r in routes]

    if url is not None:
        with OsrmClient(url, profile=profile, timeout=timeout) as client:
            return ask(client)
    data = prepare(Path(pbf), profile=profile, algorithm=algorithm, cache_dir=cache_dir, osrm_bin=osrm_bin,
                   threads=threads)
    longest = max((len(r) for r in routes), default=0)
    server = OsrmServer(data, max_table_size=max(LOCAL_TABLE_SIZE, longest), threads=threads, osrm_bin=osrm_bin)
    with server, OsrmClient(server.url, profile=profile, timeout=timeout) as client:
        return ask(client)


def osrm(
    problem: Problem,
    *,
    url: str | None = None,
    pbf: str | None = None,
    profile: str = "car",
    algorithm: str = "ch",
    max_table_size: int | None = None,
    max_snap: float = DEFAULT_MAX_SNAP,
    cache: bool = True,
    cache_dir: str | None = None,
    osrm_bin: str | None = None,
    threads: int = 2,
    timeout: float = 300.0,
) -> Matrices:
    """Road distances (m) and durations (s) from OSRM: a server ``url`` or a local ``pbf`` (see the module)."""
    result = osrm_provider_result(problem, url=url, pbf=pbf, profile=profile, algorithm=algorithm,
                                  max_table_size=max_table_size, max_snap=max_snap, cache=cache,
                                  cache_dir=cache_dir, osrm_bin=osrm_bin, threads=threads, timeout=timeout)
    return result.distance, result.duration


def osrm_provider_result(problem: Problem, **options: Any) -> RoadMatrices:
    """:func:`osrm_matrices` on ``problem``'s nodes (relative paths read from ``problem.base_dir``)."""
    points, labels = problem_points(problem, "osrm")
    return osrm_matrices(points, labels, base_dir=problem.base_dir, **options)


__all__ = [
    "MissingExecutableError",
    "OsrmClient",
    "OsrmServer",
    "PreparedData",
    "find_executable",
    "find_profile",
    "osrm_matrices",
    "osrm_version",
    "prepare",
    "route_geometries",
]
