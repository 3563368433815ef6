"""Travel-time profiles: the congestion factor over the day, and the first-in-first-out arrival time of a leg.

A profile is a factor ``f(t) > 0`` that multiplies a leg's static duration (from the duration matrix) when the
leg is driven at time ``t``. Times are in the problem's unit; ``hour`` of them make an hour
(:attr:`vrpkit.model.Problem.hour`: 3600 for lon/lat problems, whose times are seconds from midnight, 60 for
the others). A profile is one of:

``"svrpbench"``
    SVRPBench's ``time_factor`` as published (yehias21/vrp-benchmarks, ``vrp_bench/travel_time_generator.py``):
    ``0.5 + 2 (phi(m; 480, 90) + phi(m; 1020, 90))`` with ``m`` the minute of the day and ``phi(.; mean, sd)``
    the normal density. Its peaks at 8:00 and 17:00 are densities of height ``1 / (90 sqrt(2 pi)) = 0.00443``,
    so the factor only spans 0.500 (night) to 0.509 (peaks): as a multiplier it halves every static duration
    and hardly changes over the day. (SVRPBench scales an additive delay by it; kept here as published.)
``"rush_hour"``
    The same shape with amplitudes that matter: ``1 + 0.8 (exp(-(m - 480)^2 / (2 * 90^2)) +
    exp(-(m - 1020)^2 / (2 * 90^2)))``: 1 at night, 1.02 at 12:30, x1.8 at 8:00 and 17:00,
    x1.49 an hour and a half either side of a peak.
``[(time, factor), ...]``
    Points in the problem's time unit, times strictly increasing, factors positive: piecewise linear between
    the points and constant outside them (a single point is a constant factor).

The two named profiles are tabulated at every whole minute of the day (``t = k * hour / 60``,
``k = 0 .. 1440``), linear in between (within 2e-5 of the formula) and constant outside the day (their
midnight values; they do not repeat the next day). So every profile is piecewise linear on breakpoints.

First-in-first-out rule (:func:`arrival`). A leg of static duration ``d`` that leaves at ``s`` takes the factor
at its departure time: it would arrive at ``g(s) = s + d * f(s)``. Where the factor falls faster than ``1 / d``
per time unit, ``g`` decreases and leaving later would arrive earlier. So the arrival is::

    arrival(s) = max over u <= s of (u + d * f(u))

(no vehicle overtakes one that left before it on the same leg). It is non-decreasing in ``s`` by
construction, equals ``s + d * f(s)`` unless an earlier departure arrives later (never when ``d`` times the
steepest fall of the factor is at most 1: for ``rush_hour`` legs shorter than 3.1 hours), and is exact:
``g`` is linear between breakpoints, so the maximum is ``g(s)`` or ``g`` at a breakpoint ``b <= s`` where the
factor starts to fall. :func:`latest_departure` is its inverse (the latest ``s`` whose arrival is at most a
given time), used by the evaluator to delay a route's start. All functions take numpy arrays of any shape
(broadcast) and are vectorised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from vrpkit.errors import ValidationError

Profile = str | tuple[tuple[float, float], ...] | None
"""A profile name, ``[time, factor]`` points, or None (factor 1)."""

_NAMED = {
    # name: (base, amplitude, Gaussian densities?) of base + amplitude * (bump(480) + bump(1020)), sd 90 min
    "svrpbench": (0.5, 2.0, True),
    "rush_hour": (1.0, 0.8, False),
}
PROFILES = tuple(sorted(_NAMED))
"""The named profiles."""
_PEAKS = (480.0, 1020.0)
_SD = 90.0
_CELLS = 1 << 20
"""Rows x breakpoints per block of the brute-force parts (about 8 MB of floats)."""


@dataclass(frozen=True)
class _Table:
    """A profile as breakpoints ``b`` (increasing) and factors ``f``; the starts of its falling segments."""

    b: np.ndarray
    f: np.ndarray
    fall_b: np.ndarray
    fall_f: np.ndarray
    fall_slope: np.ndarray
    fall_rate: float
    """The steepest fall of the factor per time unit (0 when it never falls)."""


def named_factor(name: str, minute: np.ndarray) -> np.ndarray:
    """The formula of a named profile at ``minute`` of the day (not tabulated)."""
    base, amplitude, density = _NAMED[name]
    minute = np.asarray(minute, dtype=float)
    bumps = sum(np.exp(-((minute - p) ** 2) / (2 * _SD**2)) for p in _PEAKS)
    if density:
        bumps = bumps / (_SD * math.sqrt(2 * math.pi))
    return base + amplitude * bumps


def _key(profile: Any) -> Profile:
    if profile is None or isinstance(profile, str):
        return profile
    return tuple((float(t), float(f)) for t, f in profile)


@lru_cache(maxsize=64)
def _cached(profile: Profile, hour: float) -> _Table:
    if isinstance(profile, str):
        if profile not in _NAMED:
            raise ValidationError("profile", f'unknown profile "{profile}" (known: {", ".join(PROFILES)})')
        if not (hour > 0 and math.isfinite(hour)):
            raise ValidationError("hour", f"{hour} is not a positive number of time units")
        minutes = np.arange(24 * 60 + 1, dtype=float)
        b = minutes * (hour / 60.0)
        f = named_factor(profile, minutes)
    else:
        b = np.array([p[0] for p in profile], dtype=float)
        f = np.array([p[1] for p in profile], dtype=float)
        if len(b) == 0 or np.any(np.diff(b) <= 0) or np.any(~(f > 0)) or not np.isfinite(f).all():
            raise ValidationError("profile", "expected [time, factor] points with increasing times and positive "
                                             "factors")
    slope = np.diff(f) / np.diff(b) if len(b) > 1 else np.zeros(0)
    falling = slope < 0
    rate = float(-slope.min()) if falling.any() else 0.0
    for array in (b, f):
        array.setflags(write=False)
    return _Table(b, f, b[:-1][falling], f[:-1][falling], slope[falling], rate)


def _table(profile: Any, hour: float) -> _Table:
    return _cached(_key(profile), float(hour))


def factor(profile: Any, t: np.ndarray, hour: float) -> np.ndarray:
    """The congestion factor at time ``t`` (any shape); 1 where ``profile`` is None."""
    t = np.asarray(t, dtype=float)
    if profile is None:
        return np.ones_like(t)
    tab = _table(profile, hour)
    return np.interp(t, tab.b, tab.f)


def max_factor(profile: Any, hour: float) -> float:
    """The largest factor of ``profile`` (1 for None)."""
    return 1.0 if profile is None else float(_table(profile, hour).f.max())


def arrival(profile: Any, depart: np.ndarray, duration: np.ndarray, hour: float) -> np.ndarray:
    """The arrival time of a leg of static ``duration`` leaving at ``depart`` (broadcast, any shape):
    ``max over u <= depart of u + duration * factor(u)``, non-decreasing in ``depart`` (see the module
    docstring); ``depart + duration`` where ``profile`` is None."""
    s, d = np.broadcast_arrays(np.asarray(depart, dtype=float), np.asarray(duration, dtype=float))
    if profile is None:
        return s + d
    tab = _table(profile, hour)
    out = np.asarray(s + d * np.interp(s, tab.b, tab.f))  # an array also for 0-d inputs (written below)
    if tab.fall_rate > 0:
        flat = out.reshape(-1)
        idx = np.flatnonzero(d.reshape(-1) * tab.fall_rate > 1.0)  # only there can g fall
        s_flat, d_flat = s.reshape(-1), d.reshape(-1)
        if len(idx):  # g can only peak where it starts to fall: where the factor falls faster than 1 / d
            steep = tab.fall_slope * d_flat[idx].max() < -1.0
            fall_b, fall_f = tab.fall_b[steep], tab.fall_f[steep]
        rows = max(1, _CELLS // max(len(tab.fall_b), 1))
        for lo in range(0, len(idx), rows):
            part = idx[lo:lo + rows]
            ss, dd = s_flat[part, None], d_flat[part, None]
            earlier = np.where(fall_b <= ss, fall_b + dd * fall_f, -np.inf)
            flat[part] = np.maximum(flat[part], earlier.max(axis=1, initial=-np.inf))
        out = flat.reshape(s.shape)
    return out


def latest_departure(profile: Any, arrive: np.ndarray, duration: np.ndarray, hour: float) -> np.ndarray:
    """The latest departure whose :func:`arrival` is at most ``arrive`` on a leg of static ``duration``
    (broadcast, any shape): the first time ``u`` at which ``u + duration * factor(u)`` exceeds ``arrive``,
    exact on the profile's breakpoints. ``arrive - duration`` where ``profile`` is None."""
    x, d = np.broadcast_arrays(np.asarray(arrive, dtype=float), np.asarray(duration, dtype=float))
    if profile is None:
        return x - d
    tab = _table(profile, hour)
    b, f = tab.b, tab.f
    shape = x.shape
    x, d = x.reshape(-1), d.reshape(-1)
    out = np.empty(len(x))
    block = max(1, _CELLS // len(b))
    for lo in range(0, len(x), block):
        xx, dd = x[lo:lo + block, None], d[lo:lo + block, None]
        g = b + dd * f  # the arrival at each breakpoint, before the FIFO rule
        below = np.maximum.accumulate(g, axis=1) <= xx
        j = below.sum(axis=1)  # breakpoints left before the running maximum exceeds the arrival
        xx, dd = xx[:, 0], dd[:, 0]
        k = np.clip(j - 1, 0, len(b) - 2) if len(b) > 1 else np.zeros_like(j)
        rows = np.arange(len(j))
        if len(b) > 1:
            g0, g1 = g[rows, k], g[rows, k + 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                inside = b[k] + (xx - g0) / (g1 - g0) * (b[k + 1] - b[k])
        else:
            inside = xx
        res = np.where(j == 0, xx - dd * f[0], np.where(j == len(b), xx - dd * f[-1], inside))
        out[lo:lo + block] = res
    return out.reshape(shape)


def leg_times(profile: Any, depart: np.ndarray, duration: np.ndarray, hour: float) -> np.ndarray:
    """A static duration matrix for planning: entry ``[i, j]`` is the time the leg ``i -> j`` takes when it
    leaves ``i`` at ``depart[i]`` (``arrival - depart``, the first-in-first-out rule included)."""
    depart = np.asarray(depart, dtype=float)[:, None]
    duration = np.asarray(duration, dtype=float)
    return np.maximum(arrival(profile, depart, duration, hour) - depart, 0.0)
