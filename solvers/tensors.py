"""Feasibility arithmetic on torch tensors, shared by the torch ant colony and the neural environment.

This is the segment arithmetic of :mod:`vrpkit.solvers.localsearch` (Vidal et al., 2013) ported to batched
tensors: :func:`cat` concatenates route segments (rows of ``localsearch``'s layout: ``FIRST .. RCUM``, then
deliveries, pickups and peak load per capacity dimension), :func:`score` prices a whole route and sums its
violations, and :class:`Rules` says which client may follow a route prefix, with one named boolean per
constraint (RouteFinder's style), ANDed by :func:`combine`:

==================  =====================================================================================
name                the route closed after the client ...
==================  =====================================================================================
``unvisited``       (caller's) the client is not served yet
``vehicle``         (caller's) the vehicle type may be used: :func:`available` (fleet size) or it drives
                    the open route
``distance_limit``  covers at most ``max_distance``
``capacity``        keeps every dimension's load within the capacity all along the route (deliveries on
                    board from the start, pickups from their client on)
``backhaul``        with strict backhaul: no delivery after a pickup
``time_window``     serves every client so far within one of its windows (shape ``(..., N, W)``: per window)
``shift``           also ends within the shift and the end depot's opening hours (implies ``time_window``)
``duration_limit``  takes at most ``max_duration`` (minimal duration: departure as late as useful)
``prize``           an optional client's prize exceeds its detour (``cost_per_distance`` times the extra
                    distance of going through it on the way to the end)
==================  =====================================================================================

A client with several windows joins in its earliest window for which the time rules hold (``win``). Checks
that no problem of a batch needs are left out of the dict (they hold everywhere). Tensors are float64, in the
problem's raw units, so that the verdicts and costs are the evaluator's (:mod:`vrpkit.evaluate`; tolerance
:data:`~vrpkit.solvers.localsearch.TOL`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from vrpkit.solvers.localsearch import (
    BACK,
    BAD,
    CAP,
    CPD,
    CPT,
    DIST,
    DUR,
    EARLY,
    FIRST,
    FIXED,
    LAST,
    LATE,
    LINE,
    LOAD,
    MAXDIST,
    MAXDUR,
    TOL,
    TWARP,
)

from vrpkit.errors import SolverError
from vrpkit.model import Problem, fleet_refusal

TIME_RULES = ("time_window", "shift", "duration_limit")
"""The named booleans that have a window axis (``(..., N, W)``)."""

def unsupported_fleet(problem: Problem, who: str = "the tensor rules") -> str | None:
    """Why ``who`` (a backend built on these rules) cannot handle ``problem``: the attributes of a real fleet's
    day it uses, named (:func:`vrpkit.model.fleet_refusal`; the segments carry none of their fields)."""
    return fleet_refusal(problem, who)


def cat(a: torch.Tensor, b: torch.Tensor, d: torch.Tensor, t: torch.Tensor, k_dims: int) -> torch.Tensor:
    """Segment ``a`` followed by segment ``b`` (``(..., F)`` rows, broadcast), with ``d`` and ``t`` the
    distance and duration from a's last node to b's first. Times and backhaul order are always computed;
    :func:`score` reads them only where the problem has them."""
    delta = a[..., DUR] - a[..., TWARP] + t
    wait = (b[..., EARLY] - delta - a[..., LATE]).clamp_min(0.0)
    warp = (a[..., EARLY] + delta - b[..., LATE]).clamp_min(0.0)
    cols = [None] * (LOAD + 3 * k_dims)
    cols[FIRST] = a[..., FIRST].expand_as(delta)
    cols[LAST] = b[..., LAST].expand_as(delta)
    cols[DIST] = a[..., DIST] + b[..., DIST] + d
    cols[DUR] = a[..., DUR] + b[..., DUR] + t + wait
    cols[TWARP] = a[..., TWARP] + b[..., TWARP] + warp
    cols[EARLY] = torch.maximum(b[..., EARLY] - delta, a[..., EARLY]) - wait
    cols[LATE] = torch.minimum(b[..., LATE] - delta, a[..., LATE]) + warp
    cols[LINE] = torch.maximum(a[..., LINE], b[..., LINE])
    cols[BACK] = torch.maximum(a[..., BACK], b[..., BACK])
    cols[BAD] = a[..., BAD] + b[..., BAD] + ((a[..., BACK] > 0) & (b[..., LINE] > 0)).to(a.dtype)
    cols[BAD + 1] = torch.zeros_like(delta)  # RCUM: only the local search's stored prefixes use it
    shape = delta.shape
    d0, p0, m0 = LOAD, LOAD + k_dims, LOAD + 2 * k_dims
    deliv = a[..., d0:p0] + b[..., d0:p0]
    pick = a[..., p0:m0] + b[..., p0:m0]
    peak = torch.maximum(a[..., m0:] + b[..., d0:p0], b[..., m0:] + a[..., p0:m0])
    head = torch.stack([c.expand(shape) for c in cols[:LOAD]], dim=-1)
    return torch.cat([head, deliv.expand(*shape, k_dims), pick.expand(*shape, k_dims),
                      peak.expand(*shape, k_dims)], dim=-1)


def score(seg: torch.Tensor, vt: torch.Tensor, use_time: torch.Tensor, strict: torch.Tensor, k_dims: int
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cost and violation of whole routes ``seg`` (with depots, ``(..., F)``) driven by vehicle types whose
    rows ``vt`` broadcast with them; ``use_time`` and ``strict`` are boolean flags (broadcast)."""
    zero = torch.zeros((), dtype=seg.dtype, device=seg.device)
    cost = vt[..., FIXED] + vt[..., CPD] * seg[..., DIST]
    over = seg[..., LOAD + 2 * k_dims:] - vt[..., CAP:]
    viol = torch.where(over > TOL, over, zero).sum(-1)
    dur_over = seg[..., DUR] - vt[..., MAXDUR]
    time_viol = torch.where(seg[..., TWARP] > TOL, seg[..., TWARP], zero) + torch.where(
        dur_over > TOL, dur_over, zero)
    cost = cost + torch.where(use_time, vt[..., CPT] * seg[..., DUR], zero)
    viol = viol + torch.where(use_time, time_viol, zero)
    dist_over = seg[..., DIST] - vt[..., MAXDIST]
    viol = viol + torch.where(dist_over > TOL, dist_over, zero)
    viol = viol + torch.where(strict, seg[..., BAD], zero)
    return cost, viol


def rows(mat: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``mat[b, idx[b, ...]]`` for ``mat`` (B, R, ...) and integer ``idx`` (B, ...): (B, ..., mat's rest)."""
    b, r = mat.shape[:2]
    rest = mat.shape[2:]
    offset = (torch.arange(b, device=idx.device) * r).view(b, *([1] * (idx.dim() - 1)))
    flat = mat.reshape(b * r, *rest).index_select(0, (idx + offset).reshape(-1))
    return flat.view(*idx.shape, *rest)


def pair(mat: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """``mat[b, i[b, ...], j[b, ...]]`` for ``mat`` (B, R, C)."""
    b, _, c = mat.shape
    return mat.reshape(b, -1).gather(1, (i * c + j).reshape(b, -1)).view(i.shape)


def available(used: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The ``vehicle`` rule when opening a route: a type is available while fewer of its vehicles are used
    than its count (``counts`` -1: unlimited; both broadcast, e.g. (B, S, V) and (B, 1, V))."""
    return (counts < 0) | (used < counts)


def combine(masks: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The AND of the named booleans: ``ok`` (the shape of the window-free ones) and, when the time rules
    have several windows, ``win``, the earliest window in which each client fits (else None)."""
    ok: torch.Tensor | None = None
    in_time: torch.Tensor | None = None
    for name, mask in masks.items():
        if name in TIME_RULES:
            in_time = mask if in_time is None else in_time & mask
        else:
            ok = mask if ok is None else ok & mask
    win = None
    if in_time is not None:
        if in_time.shape[-1] > 1:
            win = in_time.to(torch.uint8).argmax(-1)  # the first window that fits
        fits_in_time = in_time.any(-1)
        ok = fits_in_time if ok is None else ok & fits_in_time
    assert ok is not None, "the distance rule is always present"
    return ok, win


class Rules:
    """The step rules of a batch of ``B`` problems of one shape, broadcast over any middle axes (ants, starts).

    Tensors as :func:`vrpkit.solvers.localsearch.compile_problem` builds them, stacked over the batch:
    ``dist``, ``dur`` (B, M + 1, M + 1) with the virtual end node of open routes last; ``node`` (B, N, W, F)
    client c alone in window w; ``end`` (B, V, F) end depot segments; ``vt`` (B, V, 5 + K); ``end_nodes``
    (B, V) long; ``required`` (B, N) bool; ``prize`` (B, N); ``use_time``, ``strict`` (B,) bool.
    """

    def __init__(self, *, dist: torch.Tensor, dur: torch.Tensor, node: torch.Tensor, end: torch.Tensor,
                 vt: torch.Tensor, end_nodes: torch.Tensor, required: torch.Tensor, prize: torch.Tensor,
                 use_time: torch.Tensor, strict: torch.Tensor, n_depots: int) -> None:
        if end[..., [DUR, TWARP, EARLY, LINE, BACK, BAD]].any() or end[..., LOAD:].any():
            raise SolverError("tensor rules: end depot segments are expected to carry no load, service or wait")
        self.dist, self.dur, self.end_nodes = dist, dur, end_nodes
        self.D = n_depots
        self.B, self.N, self.W, _ = node.shape
        self.V = vt.shape[1]
        self.K = (node.shape[-1] - LOAD) // 3
        k = self.K
        dist_end, dur_end = self._to_end(dist), self._to_end(dur)
        c = node[:, None, None, :, 0, :]  # (B, 1, 1, N, F): a client alone, window-free fields
        e = end[:, None, :, None, :]  # (B, 1, V, 1, F)
        v = vt[:, None, :, None, :]  # (B, 1, V, 1, 5 + K)
        self.terms = {
            "dist_room": v[..., MAXDIST] + TOL - (c[..., DIST] + e[..., DIST] + dist_end[:, None]),
            "c_del": c[..., LOAD:LOAD + k], "c_peak": c[..., LOAD + 2 * k:], "cap_room": v[..., CAP:] + TOL,
            "c_line": c[..., LINE] > 0, "strict": strict[:, None, None, None],
            "c_early": node[:, None, None, :, :, EARLY], "c_late": node[:, None, None, :, :, LATE],
            "c_service": c[..., DUR, None], "t_end": dur_end[:, None, :, :, None],
            "e_early": e[..., EARLY, None], "e_late": e[..., LATE, None], "dur_room": v[..., MAXDUR, None] + TOL,
            "no_time": ~use_time[:, None, None, None, None],
            "required": required[:, None, None, :], "prize": prize[:, None, None, :],
            "cpd": v[..., CPD], "d_end": dist_end[:, None],
        }
        self.capacitated = bool(torch.isfinite(vt[..., CAP:]).any())
        self.any_strict = bool(strict.any())
        self.any_time, self.all_time = bool(use_time.any()), bool(use_time.all())
        self.any_optional = bool((~required).any())

    def _to_end(self, mat: torch.Tensor) -> torch.Tensor:
        """``mat[b, client c, end node of type t]`` as (B, V, N)."""
        b, nd, n = self.B, self.D, self.N
        sub = mat[:, nd:nd + n, :]  # (B, N, M + 1)
        idx = self.end_nodes[:, None, :].expand(b, n, self.V)
        return sub.gather(2, idx).transpose(1, 2).contiguous()

    def masks(self, prefix: torch.Tensor, frm: torch.Tensor, drows: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named booleans (see the module docstring) for every client after every route prefix.

        ``prefix`` (B, A, V, F): a route so far, driven by vehicle type v (the third axis); ``frm`` (B, A, V)
        its last node, ``drows`` (B, A, V, M + 1) the distance row of that node. Window-free rules are
        (B, A, V, N), the time rules (B, A, V, N, W).
        """
        nd, n, k = self.D, self.N, self.K
        d1 = drows[..., nd:nd + n]  # (B, A, V, N)
        p = prefix[..., None, :]  # (B, A, V, 1, F)
        s = self.terms
        out = {"distance_limit": p[..., DIST] + d1 <= s["dist_room"]}
        if self.capacitated:
            p0, m0 = LOAD + k, LOAD + 2 * k
            fit = (p[..., m0:] + s["c_del"] <= s["cap_room"]) & (s["c_peak"] + p[..., p0:m0] <= s["cap_room"])
            out["capacity"] = fit.squeeze(-1) if k == 1 else fit.all(-1)
        if self.any_strict:  # no delivery after a pickup; a depot has neither
            bad = (p[..., BAD] > 0) | ((p[..., BACK] > 0) & s["c_line"])
            out["backhaul"] = ~(bad & s["strict"])
        if self.any_time:  # one column per window of the client (B, A, V, N, W)
            q = p[..., None, :]
            t1 = rows(self.dur, frm)[..., nd:nd + n, None]
            early, late = s["c_early"], s["c_late"]
            delta = q[..., DUR] - q[..., TWARP] + t1
            wait = (early - (delta + q[..., LATE])).clamp_min(0.0)
            warp = ((q[..., EARLY] + delta) - late).clamp_min(0.0)
            o_dur = q[..., DUR] + s["c_service"] + t1 + wait
            o_warp = q[..., TWARP] + warp
            o_early = torch.maximum(early - delta, q[..., EARLY]) - wait
            o_late = torch.minimum(late - delta, q[..., LATE]) + warp
            delta = o_dur - o_warp + s["t_end"]
            wait = (s["e_early"] - delta - o_late).clamp_min(0.0)
            warp = (o_early + delta - s["e_late"]).clamp_min(0.0)
            rules = {"time_window": o_warp <= TOL, "shift": o_warp + warp <= TOL,
                     "duration_limit": o_dur + s["t_end"] + wait <= s["dur_room"]}
            if not self.all_time:  # problems without times pass every time rule
                rules = {name: mask | s["no_time"] for name, mask in rules.items()}
            out.update(rules)
        if self.any_optional:
            e_nodes = self.end_nodes[:, None, :, None].expand(*frm.shape, 1)
            detour = d1 + s["d_end"] - drows.gather(3, e_nodes)
            out["prize"] = s["required"] | (s["prize"] > s["cpd"] * detour)
        return out

    def fits(self, prefix: torch.Tensor, frm: torch.Tensor, drows: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:func:`combine` of :meth:`masks`: ``ok`` (B, A, V, N) and the earliest fitting window (or None)."""
        return combine(self.masks(prefix, frm, drows))


__all__ = ["TIME_RULES", "Rules", "available", "cat", "combine", "pair", "rows", "score"]
