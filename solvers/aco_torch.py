"""The ant colony of :mod:`vrpkit.solvers.aco` on torch tensors: ``device="cuda"`` (a GPU) or ``"torch"`` (CPU).

The algorithm is the compiled colony's (Max-Min Ant System, see :mod:`vrpkit.solvers.aco`), batched over
problems of one shape (clients, depots, vehicle types, capacity dimensions, windows per client) and over
ants: every tensor of the construction has the shape ``(B, A, ...)`` for ``B`` problems and ``A`` ants, and
one construction step moves every ant of every problem at once.

One step: an ant with an open route tries every client after it; an ant without one tries every (vehicle
type still available, client) pair from that type's start depot. The route's segment summary is concatenated
with the client's segment and the end depot's (the segment arithmetic of :mod:`vrpkit.solvers.localsearch`:
capacities, time windows, service times, shifts, duration and distance limits, open routes, strict and mixed
backhaul; on tensors in :mod:`vrpkit.solvers.tensors`, shared with the neural environment), and the closed
route must stay feasible; an optional client must be worth its detour (a vehicle is opened with a required
client only). The ant draws among the feasible clients of the ``candidates``
nearest its position (of each type's depot when it opens a vehicle), with probability proportional to
``pheromone ** alpha * visibility``. When none of them fits, a route is closed, or (``fill``) the most
attractive feasible client among all others is taken; a vehicle is opened with the most attractive feasible
(type, client) pair; an ant that can open none has finished. Finished ants wait, masked, for the others.
With several time windows per client, a client joins the route in its earliest window with which the closed
route stays feasible (all windows are tried at once).

Pheromone, per problem: evaporation, deposit on the iteration's best plan (or the best so far every
``best_every`` iterations), bounds and restarts exactly as :class:`vrpkit.solvers.aco.Colony`.

Local search: the best ``ls_ants`` ants of each problem are improved by the compiled CPU local search
(:class:`vrpkit.solvers.localsearch.LocalSearch`, one per problem); ``ls_ants=0`` keeps the whole run on the
device.

Time and reproducibility: :func:`solve_many_torch` gives a batch of ``B`` problems ``B * time_limit`` seconds
in all (``iterations`` may stop it earlier). The same seed, ``iterations`` and batch on the same device give
the same plans (with a time limit that is not reached); a problem's plan depends on the other problems of
its batch, which share one random stream. The time limit counts from the call (the device's set-up
included). When the compiled local search is not built, it runs interpreted for the whole run (checking the
time after each client; ``stats["compiled"]`` False) while it builds in the background
(:mod:`vrpkit.solvers.build`).

Tensors are float64 (the local search's tolerances); the step loop reads the device once per step, to stop
when every ant has finished. On the CPU, torch spreads each operation over its threads
(``torch.set_num_threads``, ``OMP_NUM_THREADS``): on a machine busy with other work, one thread is much
faster (50 times for the construction of 32 CVRP100 plans on a loaded 2-core machine).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from vrpkit.solvers.aco import candidate_lists, end_nodes, fill_mode, fleet_counts, visibility
from vrpkit.solvers.build import compiled_or_interpreted
from vrpkit.solvers.localsearch import C_K, C_STRICT, C_TIME, Data, LocalSearch, compile_problem, search_matrices

from vrpkit.diagnose import diagnose
from vrpkit.errors import NoSolutionError, SolverError
from vrpkit.evaluate import Evaluation, evaluate
from vrpkit.model import Problem
from vrpkit.solution import Route, Solution

try:
    import torch
    from vrpkit.solvers.tensors import Rules, available, cat, score, unsupported_fleet
    from vrpkit.solvers.tensors import pair as _pair
    from vrpkit.solvers.tensors import rows as _rows
except ImportError:  # the "gpu" extra is not installed
    torch = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from vrpkit.solvers.aco import ACOSolver
    from vrpkit.solvers.base import Progress

DTYPE = "float64"
STEP_BUDGET = 1 << 24
"""Most elements of one (B, A, V, N, W) tensor of a construction step; larger groups are split."""
MATRIX_BUDGET = 1 << 26
"""Most elements of the (B, M, M) matrices of one batch."""


# -- devices ----------------------------------------------------------------------------------------------


def resolve_device(device: str) -> torch.device:
    """The torch device for an ``ACOSolver`` device string: ``"torch"`` is the CPU, ``"cuda"`` or
    ``"cuda:N"`` a GPU. Raises :class:`SolverError` when torch or the GPU is missing."""
    if torch is None:
        raise SolverError(f'solver "aco": device "{device}" needs torch (pip install "vrpkit[gpu]")')
    if device == "torch":
        return torch.device("cpu")
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        if not torch.cuda.is_available():
            build = "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}"
            raise SolverError(f'solver "aco": device "{device}" is not available (torch {torch.__version__} '
                              f'built {build}, no GPU found); use device "torch" for torch on the CPU')
        index = int(device[5:]) if ":" in device else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise SolverError(f'solver "aco": device "{device}" is not available '
                              f"({torch.cuda.device_count()} GPU(s) found)")
        return torch.device("cuda", index)
    raise SolverError(f'solver "aco": unknown device "{device}" (torch devices: torch, cuda, cuda:N)')


# -- problems as stacked arrays ----------------------------------------------------------------------------


def shape_key(problem: Problem) -> tuple[int, int, int, int, int]:
    """Problems with the same key are solved in one batch: clients, depots, vehicle types, capacity
    dimensions, windows per client."""
    return (problem.n_clients, problem.n_depots, len(problem.vehicle_types), problem.n_dims,
            int(problem.time_windows.shape[1]))


def _arrays(problem: Problem, params: ACOSolver, data: Data) -> dict[str, np.ndarray]:
    """One problem's static arrays for the colony (``data``: the problem compiled by the local search)."""
    n = problem.n_clients
    m = problem.n_nodes
    node = data.alt.reshape(-1, n, data.alt.shape[1]).transpose(1, 0, 2)  # (N, W, F): client c in window w
    dist = problem.distance
    lists = candidate_lists(problem, max(1, min(params.candidates, n)))
    cand = np.zeros((m, n + 1), bool)  # the k nearest as a mask; -1 (no candidate) lands in the last column
    np.put_along_axis(cand, np.where(lists < 0, n, lists), True, axis=1)
    cand = cand[:, :n]
    fill = fill_mode(problem, params.fill)
    padded_dist, padded_dur = search_matrices(problem)  # with the virtual end node, open routes or not
    return {
        "dist": padded_dist, "dur": padded_dur, "node": node, "start": data.start, "end": data.end, "vt": data.vt,
        "prize": problem.prize.astype(float), "required": problem.required.copy(),
        "eta": visibility(problem, params.beta, params.gamma), "cand": cand, "counts": fleet_counts(problem),
        "start_nodes": problem.vehicle_start.astype(np.int64),
        "end_nodes": end_nodes(problem),
        "use_time": np.array(bool(data.flags[C_TIME - C_K])),
        "strict": np.array(bool(data.flags[C_STRICT - C_K])),
        "symmetric": np.array(bool(np.allclose(dist, dist.T))), "fill": np.array(fill, np.int64),
    }


class Plans(NamedTuple):
    """One plan per problem (B rows): clients in visiting order (``seq``), the route of each position
    (``posr``), the vehicle type of each route (``rtype``), their lengths; violation and cost."""

    seq: torch.Tensor  # (B, N + 1) long; positions >= length are padding
    posr: torch.Tensor  # (B, N + 1) long
    rtype: torch.Tensor  # (B, N + 1) long; routes >= nroutes are padding
    length: torch.Tensor  # (B,) long
    nroutes: torch.Tensor  # (B,) long
    viol: torch.Tensor  # (B,) float
    cost: torch.Tensor  # (B,) float


class TorchColony:
    """The state of one batched run: pheromone per problem, the best plans, the local searches."""

    def __init__(self, problems: Sequence[Problem], params: ACOSolver, device: torch.device, seed: int, *,
                 compiled: bool = True) -> None:
        keys = {shape_key(p) for p in problems}
        if len(keys) != 1:
            raise SolverError("aco (torch): a batch needs problems of one shape, got "
                              + ", ".join(map(str, sorted(keys))))
        self.problems = list(problems)
        self.params = params
        self.device = device
        self.dtype = getattr(torch, DTYPE)
        p0 = problems[0]
        self.B, self.A = len(problems), params.ants
        self.N, self.D, self.V, self.K, self.W = shape_key(p0)
        self.M = self.D + self.N
        self.ls = ([LocalSearch(p, granularity=params.granularity, compiled=compiled) for p in problems]
                   if params.ls_ants else [])
        self.use_ls = bool(self.ls)
        datas = [ls.data for ls in self.ls] if self.ls else [compile_problem(p) for p in problems]
        arrays = [_arrays(p, params, data) for p, data in zip(problems, datas, strict=True)]

        def stack(name: str, dtype: Any = None) -> torch.Tensor:
            out = torch.from_numpy(np.stack([a[name] for a in arrays]))
            return out.to(device=device, dtype=dtype or out.dtype)

        f = self.dtype
        self.dist, self.dur, self.node = stack("dist", f), stack("dur", f), stack("node", f)
        self.start, self.end, self.vt = stack("start", f), stack("end", f), stack("vt", f)
        self.prize, self.required, self.eta = stack("prize", f), stack("required"), stack("eta", f)
        self.cand, self.counts = stack("cand"), stack("counts")
        self.start_nodes, self.end_nodes = stack("start_nodes"), stack("end_nodes")
        self.use_time, self.strict, self.symmetric = stack("use_time"), stack("strict"), stack("symmetric")
        fill = stack("fill")
        odd = (torch.arange(self.A, device=device) % 2 == 1)[None, :]
        self.fills = (fill[:, None] == 1) | ((fill[:, None] == 2) & odd)  # (B, A)
        n = self.N
        self.rules = Rules(dist=self.dist, dur=self.dur, node=self.node, end=self.end, vt=self.vt,
                           end_nodes=self.end_nodes, required=self.required, prize=self.prize,
                           use_time=self.use_time, strict=self.strict, n_depots=self.D)
        self.k = max(1, min(params.candidates, n))
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(int(seed))
        self.rngs = [np.random.default_rng((int(seed), b)) for b in range(self.B)]
        m1 = self.M + 1
        self.tau = torch.ones((self.B, m1, m1), dtype=f, device=device)
        self.tau_max = torch.ones(self.B, dtype=f, device=device)
        self.tau_min = torch.zeros(self.B, dtype=f, device=device)
        self.stale = torch.zeros(self.B, dtype=torch.long, device=device)
        self.restarts = torch.zeros(self.B, dtype=torch.long, device=device)
        self.iteration = 0
        long = torch.long
        self.best = Plans(
            seq=torch.zeros((self.B, n + 1), dtype=long, device=device),
            posr=torch.full((self.B, n + 1), -1, dtype=long, device=device),
            rtype=torch.zeros((self.B, n + 1), dtype=long, device=device),
            length=torch.zeros(self.B, dtype=long, device=device),
            nroutes=torch.zeros(self.B, dtype=long, device=device),
            viol=torch.full((self.B,), math.inf, dtype=f, device=device),
            cost=torch.full((self.B,), math.inf, dtype=f, device=device))

    # -- construction -------------------------------------------------------------------------------------

    def weights(self) -> torch.Tensor:
        """``pheromone ** alpha * visibility`` between the problems' nodes (B, M, M)."""
        m = self.M
        tau = self.tau[:, :m, :m]
        return (tau if self.params.alpha == 1.0 else tau ** self.params.alpha) * self.eta

    def fits(self, prefix: torch.Tensor, frm: torch.Tensor, drows: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Which client may follow each route prefix, and in which window.

        ``prefix`` (B, A, V, F): a route so far, driven by vehicle type v (the third axis); ``frm`` (B, A, V)
        its last node, ``drows`` (B, A, V, M + 1) the distance row of that node. Returns ``ok`` (B, A, V, N):
        the route closed after the client is feasible (the score of ``cat(cat(prefix, client), end)`` has
        no violation, as in ``aco._fits``) and an optional client's prize exceeds its detour; and ``win``
        (B, A, V, N): the client's earliest window that keeps it feasible (None with one window per client).
        End depots carry no load, no service and no time warp; checks that no problem of the batch needs
        are skipped. The rules are :class:`vrpkit.solvers.tensors.Rules`' named booleans, ANDed.
        """
        return self.rules.fits(prefix, frm, drows)

    def construct(self, weight: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every ant of every problem builds a plan (see the module docstring)."""
        B, A, N, V, D, W = self.B, self.A, self.N, self.V, self.D, self.W
        F = self.node.shape[-1]
        dev, f, long = self.device, self.dtype, torch.long
        zero = torch.zeros((), dtype=f, device=dev)
        weight = weight.clamp_min(torch.finfo(f).tiny)  # every client that fits can be drawn
        R = torch.zeros((B, A, F), dtype=f, device=dev)
        cur = torch.zeros((B, A), dtype=long, device=dev)
        v = torch.full((B, A), -1, dtype=long, device=dev)
        visited = torch.zeros((B, A, N + 1), dtype=torch.bool, device=dev)  # column N: writes to ignore
        used = torch.zeros((B, A, V), dtype=long, device=dev)
        left = self.required.sum(1, keepdim=True).expand(B, A).clone()
        done = torch.zeros((B, A), dtype=torch.bool, device=dev)
        seq = torch.zeros((B, A, N + 1), dtype=long, device=dev)
        posr = torch.full((B, A, N + 1), -1, dtype=long, device=dev)
        rtype = torch.zeros((B, A, N + 1), dtype=long, device=dev)
        j = torch.zeros((B, A), dtype=long, device=dev)
        r = torch.zeros((B, A), dtype=long, device=dev)
        total = torch.zeros((B, A), dtype=f, device=dev)
        types = torch.arange(V, device=dev)
        start = self.start[:, None]  # (B, 1, V, F)
        counts = self.counts[:, None, :]
        required = self.required[:, None, None, :]
        node_rows = self.node.transpose(1, 2).reshape(B, W * N, F)  # row w N + c: client c in window w
        # Each step an ant takes a client, closes its route or finishes; it closes only routes it opened
        # with a client, so 2 N + 1 steps finish every ant (the loop stops as soon as they are).
        for _ in range(2 * N + 2):
            route_open = v >= 0
            done = done | (~route_open & (left <= 0))
            opening = ~route_open & ~done
            if not bool((route_open | opening).any()):  # the one read from the device per step
                break
            avail = available(used, counts)
            slot = torch.where(route_open[..., None], types == v[..., None], avail & opening[..., None])
            prefix = torch.where(route_open[..., None, None], R[:, :, None, :], start)  # (B, A, V, F)
            frm = torch.where(route_open[..., None], cur[..., None], self.start_nodes[:, None, :])  # (B, A, V)
            drows = _rows(self.dist, frm)
            ok, win = self.fits(prefix, frm, drows)
            ok = ok & slot[..., None] & ~visited[:, :, None, :N] & (route_open[..., None, None] | required)
            w = _rows(weight, frm)[..., D:]  # (B, A, V, N)
            near = _rows(self.cand, frm)
            drawn = torch.where(ok & near, w, zero).view(B, A, V * N)
            cum = drawn.cumsum(-1)
            wsum = cum[..., -1:]
            u = torch.rand((B, A, 1), generator=self.gen, dtype=f, device=dev)
            idx = torch.searchsorted(cum, u * wsum, right=True)
            idx = torch.minimum(idx, (cum < wsum).sum(-1, keepdim=True)).squeeze(-1)
            has = wsum.squeeze(-1) > 0
            best_w, best_i = torch.where(ok, w, -1.0).view(B, A, V * N).max(-1)
            can_fill = (best_w >= 0) & (opening | self.fills)
            pick = has | can_fill
            idx = torch.where(has, idx, best_i)
            t_ch, c_ch = idx // N, idx % N
            w_ch = c_ch if win is None else c_ch + N * win.view(B, A, V * N).gather(-1, idx[..., None]).squeeze(-1)
            p_ch = prefix.gather(2, t_ch[..., None, None].expand(B, A, 1, F)).squeeze(2)
            f_ch = frm.gather(2, t_ch[..., None]).squeeze(-1)
            grown = cat(p_ch, _rows(node_rows, w_ch), _pair(self.dist, f_ch, D + c_ch),
                        _pair(self.dur, f_ch, D + c_ch), self.K)
            R = torch.where(pick[..., None], grown, R)
            opened = pick & opening
            cur = torch.where(pick, D + c_ch, cur)
            v = torch.where(pick, t_ch, v)
            visited.scatter_(2, torch.where(pick, c_ch, N)[..., None], True)
            left = left - (pick & self.required.gather(1, c_ch)).long()
            used.scatter_add_(2, t_ch[..., None], opened.long()[..., None])
            at = torch.where(pick, j, N)[..., None]
            seq.scatter_(2, at, c_ch[..., None])
            posr.scatter_(2, at, r[..., None])
            rtype.scatter_(2, torch.where(opened, r, N)[..., None], t_ch[..., None])
            j = j + pick.long()
            # Close the routes that could not grow; ants that could not open a vehicle are finished.
            close = route_open & ~pick
            done = done | (opening & ~pick)
            vc = v.clamp_min(0)
            e_node = self.end_nodes.gather(1, vc)
            whole = cat(R, _rows(self.end, vc), _pair(self.dist, cur, e_node), _pair(self.dur, cur, e_node),
                        self.K)
            cost, _ = score(whole, _rows(self.vt, vc), self.use_time[:, None], self.strict[:, None], self.K)
            total = total + torch.where(close, cost, zero)
            r = r + close.long()
            v = torch.where(close, -1, v)
        out = ~visited[..., :N]
        missing = (out & self.required[:, None, :]).sum(-1)
        total = total + torch.where(out & ~self.required[:, None, :], self.prize[:, None, :], zero).sum(-1)
        return {"seq": seq, "posr": posr, "rtype": rtype, "length": j, "nroutes": r, "cost": total,
                "missing": missing}

    # -- iteration ----------------------------------------------------------------------------------------

    def iterate(self, deadline: float) -> torch.Tensor:
        """One iteration: construct, improve, update the trails. Returns which problems' best plan improved
        (B,) on the device."""
        ants = self.construct(self.weights())
        self.iteration += 1
        it = self._improve(ants, deadline) if self.use_ls else self._iteration_best(ants)
        p = self.params
        best = self.best
        improved = (it.viol < best.viol) | ((it.viol == best.viol) & (it.cost < best.cost - 1e-9))
        self.best = Plans(*(torch.where(improved.view(-1, *([1] * (x.dim() - 1))), y, x)
                            for x, y in zip(best, it, strict=True)))
        self.stale = torch.where(improved, 0, self.stale + 1)
        self._set_bounds(improved)
        self._update(it)
        restart = self.stale >= p.restart
        self.tau = torch.where(restart[:, None, None], self.tau_max[:, None, None], self.tau)
        self.stale = torch.where(restart, 0, self.stale)
        self.restarts = self.restarts + restart.long()
        return improved

    def start_from(self, b: int, routes: Sequence[Route]) -> None:
        """Warm start of problem ``b``: ``routes`` (scored by the local search, as the ants' plans are) become
        its best plan so far, its trail bounds are set from that cost and one deposit is made on its arcs,
        as :meth:`vrpkit.solvers.aco.Colony.start_from` does."""
        ls = self.ls[b] if self.ls else LocalSearch(self.problems[b], granularity=self.params.granularity,
                                                     compiled=_compiled(self.params))
        ls.load(routes)
        seq, offsets, types = ls.export_flat()
        n, nr = len(seq), len(types)
        dev, long = self.device, torch.long
        row_seq = torch.zeros(self.N + 1, dtype=long, device=dev)
        row_seq[:n] = torch.from_numpy(seq.astype(np.int64)).to(dev)
        row_posr = torch.full((self.N + 1,), -1, dtype=long, device=dev)
        row_posr[:n] = torch.from_numpy(np.repeat(np.arange(nr), np.diff(offsets))).to(dev)
        row_type = torch.zeros(self.N + 1, dtype=long, device=dev)
        row_type[:nr] = torch.from_numpy(types.astype(np.int64)).to(dev)
        values = (row_seq, row_posr, row_type, torch.tensor(n, device=dev), torch.tensor(nr, device=dev),
                  torch.tensor(ls.violation, dtype=self.dtype, device=dev),
                  torch.tensor(ls.cost, dtype=self.dtype, device=dev))
        best = [x.clone() for x in self.best]
        for x, value in zip(best, values, strict=True):
            x[b] = value
        self.best = Plans(*best)
        improved = torch.zeros(self.B, dtype=torch.bool, device=dev)
        improved[b] = True
        self._set_bounds(improved)
        before = self.tau.clone()
        self._deposit(self.best)  # problem b's best is the start; the others' trails are restored below
        self.tau = torch.where(improved[:, None, None], self.tau, before)

    def _iteration_best(self, ants: dict[str, torch.Tensor]) -> Plans:
        """Each problem's best ant: fewest missing clients, then lowest cost."""
        missing, cost = ants["missing"], ants["cost"]
        fewest = missing == missing.min(1, keepdim=True).values
        a = torch.where(fewest, cost, math.inf).argmin(1)
        return self._take(ants, a[:, None], squeeze=True)

    def _take(self, ants: dict[str, torch.Tensor], a: torch.Tensor, *, squeeze: bool = False) -> Plans:
        """Ants ``a`` (B, L) of each problem as plans (B, L, ...) or, with ``squeeze`` and L = 1, (B, ...)."""
        B, L = a.shape
        n1 = self.N + 1

        def rows(x: torch.Tensor) -> torch.Tensor:
            return x.gather(1, a[..., None].expand(B, L, n1))

        def one(x: torch.Tensor) -> torch.Tensor:
            return x.gather(1, a)

        out = Plans(rows(ants["seq"]), rows(ants["posr"]), rows(ants["rtype"]), one(ants["length"]),
                    one(ants["nroutes"]), one(ants["missing"]).to(self.dtype), one(ants["cost"]))
        return Plans(*(x.squeeze(1) for x in out)) if squeeze else out

    def _improve(self, ants: dict[str, torch.Tensor], deadline: float) -> Plans:
        """The local search on each problem's ``ls_ants`` best ants (fewest missing clients, then lowest
        cost), on the CPU; the best result per problem."""
        B, n1 = self.B, self.N + 1
        L = self.params.ls_ants
        cost, missing = ants["cost"], ants["missing"]
        by_cost = torch.sort(cost, dim=1, stable=True).indices
        order = by_cost.gather(1, torch.sort(missing.gather(1, by_cost), dim=1, stable=True).indices)
        seq, posr, rtype, length, nroutes = (x.cpu().numpy() for x in self._take(ants, order[:, :L])[:5])
        out_seq = np.zeros((B, n1), np.int64)
        out_posr = np.full((B, n1), -1, np.int64)
        out_rtype = np.zeros((B, n1), np.int64)
        out_len = np.zeros(B, np.int64)
        out_nr = np.zeros(B, np.int64)
        out_viol = np.zeros(B)
        out_cost = np.zeros(B)
        for b in range(B):
            ls = self.ls[b]
            best: tuple[tuple[float, float], np.ndarray, np.ndarray, np.ndarray] | None = None
            for a in range(L):
                n, nr = length[b, a], nroutes[b, a]
                offsets = np.searchsorted(posr[b, a, :n], np.arange(nr + 1))
                ls.load_flat(seq[b, a, :n], offsets, rtype[b, a, :nr])
                ls.run(time_limit=max(0.0, deadline - time.perf_counter()), seed=self.rngs[b])
                key = (ls.violation, ls.cost)
                if best is None or key < best[0]:
                    s, o, t = ls.export_flat()
                    best = (key, s.copy(), o.copy(), t.copy())
            assert best is not None
            (out_viol[b], out_cost[b]), s, o, t = best
            out_len[b], out_nr[b] = len(s), len(t)
            out_seq[b, :len(s)] = s
            out_posr[b, :len(s)] = np.repeat(np.arange(len(t)), np.diff(o))
            out_rtype[b, :len(t)] = t
        dev = self.device

        def up(x: np.ndarray, dtype: Any = None) -> torch.Tensor:
            return torch.from_numpy(x).to(device=dev, dtype=dtype)

        return Plans(up(out_seq), up(out_posr), up(out_rtype), up(out_len), up(out_nr), up(out_viol, self.dtype),
                     up(out_cost, self.dtype))

    def arcs(self, plans: Plans) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Arcs (from, to) of each problem's plan in matrix nodes, with the virtual end of open routes:
        (B, 2 N + 2) each, and which are real."""
        nd = self.D
        n1 = self.N + 1
        pos = torch.arange(n1, device=self.device)[None, :]
        valid = pos < plans.length[:, None]
        prev_posr = torch.roll(plans.posr, 1, dims=1)
        next_posr = torch.roll(plans.posr, -1, dims=1)
        first = valid & ((pos == 0) | (plans.posr != prev_posr))
        last = valid & ((pos == plans.length[:, None] - 1) | (plans.posr != next_posr))
        t = plans.rtype.gather(1, plans.posr.clamp_min(0))
        node = nd + plans.seq
        frm = torch.where(first, self.start_nodes.gather(1, t), torch.roll(node, 1, dims=1))
        end = self.end_nodes.gather(1, t)
        return torch.cat([frm, node], 1), torch.cat([node, end], 1), torch.cat([valid, last], 1)

    def _set_bounds(self, improved: torch.Tensor) -> None:
        p = self.params
        n = max(2, self.N)
        cost = self.best.cost.clamp_min(1e-9)
        first = improved & (self.tau_min == 0.0)
        tau_max = 1.0 / (p.rho * cost)
        root = 0.05 ** (1.0 / n)
        avg = max(2.0, self.k / 2.0)
        tau_min = tau_max * (1.0 - root) / ((avg - 1.0) * root)
        self.tau_max = torch.where(improved, tau_max, self.tau_max)
        self.tau_min = torch.where(improved, tau_min, self.tau_min)
        self.tau = torch.where(first[:, None, None], self.tau_max[:, None, None], self.tau)

    def _update(self, it: Plans) -> None:
        use_best = self.iteration % self.params.best_every == 0  # every problem has a best plan by now
        self._deposit(self.best if use_best else it)

    def _deposit(self, plans: Plans) -> None:
        """Evaporation, one deposit on the arcs of ``plans`` and the trail bounds."""
        self.tau = self.tau * (1.0 - self.params.rho)
        amount = 1.0 / plans.cost.clamp_min(1e-9)
        frm, to, real = self.arcs(plans)
        values = torch.where(real, amount[:, None], 0.0)
        b = torch.arange(self.B, device=self.device)[:, None].expand_as(frm)
        self.tau.index_put_((b, frm, to), values, accumulate=True)
        self.tau.index_put_((b, to, frm), torch.where(self.symmetric[:, None], values, 0.0), accumulate=True)
        bounded = (self.tau_min > 0)[:, None, None]
        clipped = torch.minimum(torch.maximum(self.tau, self.tau_min[:, None, None]), self.tau_max[:, None, None])
        self.tau = torch.where(bounded, clipped, self.tau)

    # -- results ------------------------------------------------------------------------------------------

    def results(self) -> list[tuple[list[Route], float, dict[str, Any]]]:
        """Each problem's best plan so far, its violation as the colony counts it (0: feasible) and the
        run's statistics."""
        seq, posr, rtype, length, nroutes, viol, cost = (x.cpu().numpy() for x in self.best)
        restarts = self.restarts.cpu().numpy()
        out = []
        for b in range(self.B):
            n, nr = int(length[b]), int(nroutes[b])
            offsets = np.searchsorted(posr[b, :n], np.arange(nr + 1))
            routes = [Route(int(rtype[b, i]), tuple(seq[b, offsets[i]:offsets[i + 1]].tolist()))
                      for i in range(nr)]
            stats = {"iterations": self.iteration, "restarts": int(restarts[b]), "aco_cost": float(cost[b]),
                     "local_search_moves": self.ls[b].moves if self.ls else 0, "device": str(self.device),
                     "batch": self.B}
            out.append((routes, float(viol[b]), stats))
        return out



# -- entry points -----------------------------------------------------------------------------------------


def _run(colony: TorchColony, deadline: float, progress: Progress | None = None) -> None:
    iterations = colony.params.iterations
    while True:
        improved = colony.iterate(deadline)
        if progress is not None:
            best_viol, best_cost = float(colony.best.viol[0]), float(colony.best.cost[0])
            if bool(improved[0]) and best_viol == 0:
                progress.update(best_cost)
        if iterations is not None and colony.iteration >= iterations:
            break
        if time.perf_counter() >= deadline:
            break


def _compiled(params: ACOSolver) -> bool:
    """Whether the compiled local search is ready (the construction is torch's); when it is not, the local
    search runs interpreted while it builds in the background (:mod:`vrpkit.solvers.build`)."""
    return params.ls_ants == 0 or compiled_or_interpreted()


def _flag(stats: dict[str, Any], compiled: bool) -> dict[str, Any]:
    stats["compiled"] = compiled
    return stats


def _failure(viol: float, routes: list[Route]) -> str:
    if not routes and math.isinf(viol):
        return "no ant built a plan"
    return f"the best plan found still breaks constraints (total violation {viol:g})"


def solve_torch(problem: Problem, params: ACOSolver, *, device: str, time_limit: float, seed: int,
                progress: Progress | None = None, initial: Solution | None = None) -> Solution:
    """Solve one problem with the colony on ``device`` (``"torch"``, ``"cuda"``, ``"cuda:N"``) within
    ``time_limit`` seconds, from ``initial`` when given (:meth:`TorchColony.start_from`); raises
    :class:`NoSolutionError` when no feasible plan exists or was found."""
    started = time.perf_counter()
    dev = resolve_device(device)
    refused = unsupported_fleet(problem, 'the torch backend of "aco"')
    if refused:
        raise SolverError(f'solver "aco" does not support {problem.name}: {refused}')
    reasons = diagnose(problem)
    if reasons:
        raise NoSolutionError("no feasible plan exists", reasons)
    if problem.n_clients == 0:
        return Solution((), {"iterations": 0, "device": str(dev)})
    compiled = _compiled(params)
    colony = TorchColony([problem], params, dev, seed, compiled=compiled)
    if initial is not None and initial.routes:
        colony.start_from(0, initial.routes)
        if progress is not None and float(colony.best.viol[0]) == 0:
            progress.update(float(colony.best.cost[0]))
    _run(colony, started + time_limit, progress)
    routes, viol, stats = colony.results()[0]
    if viol > 0:
        raise NoSolutionError("no feasible plan found", [_failure(viol, routes)])
    return Solution(tuple(routes), _flag(stats, compiled))


def batches(problems: Sequence[Problem], ants: int) -> list[list[int]]:
    """Indices of ``problems`` grouped by :func:`shape_key` (in order of first appearance), each group split
    so that a batch's step tensors stay within :data:`STEP_BUDGET` and its matrices within
    :data:`MATRIX_BUDGET` elements."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, p in enumerate(problems):
        groups[shape_key(p)].append(i)
    out = []
    for (n, nd, nv, _k, w), idx in groups.items():
        per_problem = max(ants * nv * n * w, 3 * (nd + n + 1) ** 2)
        size = max(1, min(STEP_BUDGET // max(1, ants * nv * n * w), MATRIX_BUDGET // per_problem))
        out.extend(idx[s:s + size] for s in range(0, len(idx), size))
    return out


def solve_many_torch(problems: Sequence[Problem], params: ACOSolver, *, device: str, time_limit: float,
                     seed: int = 0) -> list[tuple[Solution | None, Evaluation | None]]:
    """Solve many problems on ``device``, those of one shape as one batch (see :func:`batches`); a batch
    of ``B`` problems gets ``B * time_limit`` seconds (``params.iterations`` may stop it earlier). Each
    plan comes with the evaluator's verdict; (None, None) when none was found."""
    started = time.perf_counter()
    dev = resolve_device(device)
    compiled = _compiled(params)
    for p in problems:
        refused = unsupported_fleet(p, 'the torch backend of "aco"')
        if refused:
            raise SolverError(f'solver "aco" does not support {p.name}: {refused}')
    out: list[tuple[Solution | None, Evaluation | None]] = [(None, None)] * len(problems)
    todo = []
    for i, p in enumerate(problems):
        if diagnose(p):
            continue
        if p.n_clients == 0:
            plan = Solution((), {"iterations": 0, "device": str(dev)})
            out[i] = (plan, evaluate(p, plan))
            continue
        todo.append(i)
    chosen = [problems[i] for i in todo]
    for k, batch in enumerate(batches(chosen, params.ants)):
        if k:
            started = time.perf_counter()  # the first batch counts from the call
        colony = TorchColony([chosen[i] for i in batch], params, dev, seed, compiled=compiled)
        _run(colony, started + len(batch) * time_limit)
        for i, (routes, viol, stats) in zip(batch, colony.results(), strict=True):
            if viol > 0:
                continue
            plan = Solution(tuple(routes), _flag(stats, compiled))
            out[todo[i]] = (plan, evaluate(chosen[i], plan))
    return out


__all__ = ["Plans", "TorchColony", "batches", "cat", "resolve_device", "score", "solve_many_torch", "solve_torch"]
