"""Build the compiled code of the ant colony, the local search and the evaluator ahead of time::

    python -m vrpkit.solvers.build          # compile into numba's cache, or check that it is there

The colony (:mod:`vrpkit.solvers.aco`), the local search (:mod:`vrpkit.solvers.localsearch`) and the
evaluator's kernel (:mod:`vrpkit._evaluate_kernel`, which checks for its own built code and runs interpreted
until then, the same way) are numba functions cached on disk (``cache=True``): in ``$NUMBA_CACHE_DIR`` when it
is set, else in ``__pycache__`` next to the sources (or numba's user-wide cache when that is not writable).
numba keys a function's cache by its source file's modification time and size, the Python and numba versions
and the CPU, so the build is needed once per install and again after any change of those files. Compiling
takes a few minutes (about six on two cores); loading the built code a fraction of a second. The command is
idempotent: when the code is built it only loads it.

Solvers with a time limit never compile in the foreground. :func:`ready` loads the built code from the
cache when it is there and answers False, without compiling, when it is not (numba announces every
compilation with its ``numba:compile`` event, which :func:`ready` turns into a refusal). Then
:func:`start_background` starts ``python -m vrpkit.solvers.build --background`` in its own session, at a
lower priority, and says so in one line on stderr; the build goes on after the calling process exits, so
that the next run finds the code built (one build per cache folder at a time: the lock file
``vrpkit-build.lock`` there holds the builder's process id). Meanwhile the solvers run the same functions
interpreted (:func:`interpreted`: their Python source, with the compiled functions they call replaced by
their interpreted twins), a few hundred times slower but within the limit, until the build is done.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from numba.core import event
from numba.core.registry import CPUDispatcher

MODULES = ("vrpkit.solvers.localsearch", "vrpkit.solvers.aco", "vrpkit._evaluate_kernel")
"""The modules whose numba functions the build compiles (the evaluator's kernel too)."""

COMMAND = "python -m vrpkit.solvers.build"
LOCK_NAME = "vrpkit-build.lock"


class NotBuilt(Exception):
    """Raised inside numba when :func:`ready` meets a function that is not in the cache."""


class _Refuse(event.Listener):
    """Refuses every compilation started by one thread."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def on_start(self, e: event.Event) -> None:
        if threading.get_ident() == self.thread:
            raise NotBuilt

    def on_end(self, e: event.Event) -> None:
        pass


def dispatchers() -> list[CPUDispatcher]:
    """Every numba function of :data:`MODULES`."""
    out = []
    for name in MODULES:
        module = importlib.import_module(name)
        out.extend(v for v in vars(module).values() if isinstance(v, CPUDispatcher))
    return out


def _exercise() -> None:
    """Run one colony iteration with its local search, and the iterated local search, on a tiny problem:
    this calls every compiled entry point (the colony's construction, loading, searching and exporting a
    plan, ruin and recreate), with the argument types of every real run."""
    from vrpkit.solvers.aco import ACOSolver, Colony

    from vrpkit.model import Client, Depot, Problem, VehicleType

    clients = tuple(Client(f"c{i}", (float(i), 1.0), delivery=1) for i in range(4))
    tiny = Problem("build", (Depot("d", (0.0, 0.0)),), clients, (VehicleType("v", capacity=2),))
    Colony(tiny, ACOSolver(ants=2), 0, compiled=True).iterate(float("inf"))
    from vrpkit.solvers.localsearch import LocalSearch

    ls = LocalSearch(tiny)  # the iterated local search, which the colony's iteration does not call
    ls.load([])
    ls.run()
    ls.iterate(iterations=2, ruin_size=(1, 2))
    from vrpkit._evaluate_kernel import _exercise as exercise_evaluator
    from vrpkit._evaluate_kernel import _exercise_fleet

    exercise_evaluator()
    _exercise_fleet()  # the fleet rules of one route, which the local search calls


_ready = False


def ready() -> bool:
    """True when the compiled code is loaded in this process, loading it from the disk cache if it is there;
    False, without compiling anything, when it is not built."""
    global _ready
    if _ready:
        return True
    with event.install_listener("numba:compile", _Refuse(threading.get_ident())):
        try:
            _exercise()
        except NotBuilt:  # an entry point is refused before the functions it calls are looked up
            return False
    _ready = True
    return True


def build() -> int:
    """Load the code in this process, compiling what is not built; returns how many functions (numba
    signatures) it compiled."""
    global _ready
    if ready():
        return 0
    with event.install_recorder("numba:compile") as recorder:
        _exercise()
    _ready = True
    return sum(1 for _, e in recorder.buffer if e.is_start)


def cache_folder() -> Path:
    """The folder numba writes the colony's and the local search's cache to."""
    for d in dispatchers():
        cache = getattr(d, "_cache", None)
        path = getattr(cache, "cache_path", None)
        if path:
            return Path(path)
    return Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).parent / "__pycache__")


@contextlib.contextmanager
def _lock(wait: bool) -> Iterator[bool]:
    """Hold the build lock of the cache folder (one build at a time); yields False when ``wait`` is False
    and another build holds it. The lock file holds the builder's process id."""
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield True
        return
    with open(folder / LOCK_NAME, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield True
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


_background: subprocess.Popen[bytes] | None = None
_started = False


def start_background(doing: str = "solving") -> None:
    """Start building in a background process, once per process (see the module docstring), and say so in
    one line on stderr (``doing``: what runs interpreted meanwhile)."""
    global _background, _started
    if _started:
        return
    _started = True
    try:
        _background = subprocess.Popen(
            [sys.executable, "-m", "vrpkit.solvers.build", "--background"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        where = f"while it builds in the background (pid {_background.pid}, a few minutes)"
    except OSError as err:
        where = f"(the background build did not start: {err})"
    print(f"warning: vrpkit's compiled code is not built: {doing} with the interpreted code (much slower) "
          f"{where}; run {COMMAND} to build it", file=sys.stderr, flush=True)


def compiled_or_interpreted() -> bool:
    """For a run with a time limit: True when the compiled code is ready; else False, after starting the
    background build."""
    if ready():
        return True
    start_background()
    return False


class Watch:
    """For a run that started interpreted: says when the compiled code has become ready (checked at most
    every ``every`` seconds, and as soon as this process's background build has ended)."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self._next = time.perf_counter() + every
        self._seen_end = False

    def ready(self) -> bool:
        now = time.perf_counter()
        ended = not self._seen_end and _background is not None and _background.poll() is not None
        if not ended and now < self._next:
            return False
        self._seen_end = self._seen_end or ended
        self._next = now + self.every
        return ready()


_twins: dict[int, Callable[..., Any]] = {}


def interpreted(fn: Any) -> Callable[..., Any]:
    """The interpreted twin of a numba function: its Python source, run with every numba function it calls
    replaced by that function's twin (the same arithmetic, none of it compiled)."""
    if not isinstance(fn, CPUDispatcher):
        return fn
    twin = _twins.get(id(fn))
    if twin is not None:
        return twin
    py = fn.py_func
    names: dict[str, Any] = {}
    twin = types.FunctionType(py.__code__, names, py.__name__, py.__defaults__, py.__closure__)
    _twins[id(fn)] = twin
    for key, value in py.__globals__.items():
        names[key] = interpreted(value) if isinstance(value, CPUDispatcher) else value
    return twin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Compile vrpkit's ant colony and local search "
                                     "into numba's cache (idempotent: fast when already built).")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.add_argument("--background", action="store_true",
                        help="as started by a solver: quiet, and exit at once when another build is running")
    args = parser.parse_args(argv)
    if args.background and hasattr(os, "nice"):
        os.nice(10)  # leave the processor to the solver that started it
    say = (lambda _msg: None) if args.quiet or args.background else (lambda msg: print(msg, flush=True))
    started = time.perf_counter()
    if ready():
        say(f"{COMMAND}: already built in {cache_folder()} (loaded in {time.perf_counter() - started:.2f} s)")
        return 0
    with _lock(wait=not args.background) as held:
        if not held:
            return 0
        say(f"{COMMAND}: compiling the ant colony and the local search into {cache_folder()} (a few minutes)")
        compiled = build()
    done = f"compiled {compiled} functions" if compiled else "loaded (built meanwhile by another process)"
    say(f"{COMMAND}: {done} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
