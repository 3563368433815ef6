"""The policy of the neural solvers: a transformer encoder over the problem and a pointer decoder over actions.

Encoder: the tokens are the depots, the clients and the vehicle types of a :class:`~vrpkit.neural.env.Batch`
(one linear embedding per kind, plus the problem's global attribute flags added to every token), then
``layers`` pre-norm transformer layers (RMSNorm, multi-head attention through
``torch.nn.functional.scaled_dot_product_attention``, SwiGLU feed-forward). Padded tokens are masked out.
With ``matrix=True`` (RRNCO's idea, for instances without coordinates or on real roads) the normalised
distance and duration of each pair of nodes, both ways, enter every layer's attention as a learned bias per
head, and the node features carry rows of the matrices (to and from the first depot, the nearest and the mean
distance) instead of relying on coordinates alone. With ``graph=k`` a torch-geometric ``TransformerConv`` over
the sparse graph of each node's ``k`` nearest nodes by road distance (edge attributes: the normalised distance
and duration of the pair, both ways) updates the node embeddings before every transformer layer (a residual
block, ``h + W conv(norm(h))``); it needs ``torch_geometric`` (the ``neural`` extra).

Decoder (POMO's, one step per action of :class:`~vrpkit.neural.env.RoutingEnv`): the context is the mean
token, the current node, the open route's vehicle type (learned vectors when none is open) and the step
features of :meth:`RoutingEnv.context` (time, distance and duration so far, remaining limits, loads, room
left); one multi-head glimpse over the action keys (vehicle types, then clients: the env's action order), then
single-head pointer logits clipped by ``clip * tanh`` and masked by the env's ``action_mask``.

Inputs use at most :data:`KF` capacity dimensions and :data:`WF` windows per client (first and last); the
environment's masks see them all, so plans stay feasible whatever the model sees.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from vrpkit.neural.env import UNBOUNDED, Batch, RoutingEnv, State

from vrpkit.errors import ValidationError

KF = 2
"""Capacity dimensions the model reads (the others are left to the masks)."""

N_CLIENT, N_DEPOT, N_VEHICLE, N_GLOBAL, N_STEP = 18, 6, 16, 10, 16
"""Feature widths of the token kinds, the global flags and the decoder's step context."""


def check_fields(cls: type, data: dict[str, Any], field: str) -> None:
    """Refuse the keys of ``data`` that are not fields of the dataclass ``cls`` (one error naming ``field``)."""
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ValidationError(field, f"unknown fields {', '.join(unknown)}")


@dataclass(frozen=True)
class PolicyConfig:
    """The architecture (stored in checkpoints): ``dim`` embedding width, ``layers`` encoder layers, ``heads``
    attention heads, ``ff`` SwiGLU hidden width, ``matrix`` the distance/duration attention bias, ``clip`` the
    logit clipping, ``graph`` the neighbours per node of the graph layers (0: none)."""

    dim: int = 128
    layers: int = 3
    heads: int = 8
    ff: int = 256
    matrix: bool = False
    clip: float = 10.0
    graph: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.graph, bool) or not isinstance(self.graph, int) or self.graph < 0:
            raise ValidationError("policy.graph", f"expected an integer >= 0, got {self.graph!r}")
        if self.graph:
            try:
                import torch_geometric  # noqa: F401
            except ImportError:
                raise ValidationError("policy.graph", f"{self.graph} needs torch_geometric: pip install "
                                      "'vrpkit[neural]'") from None
        for name in ("dim", "layers", "heads", "ff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"policy.{name}", f"expected a positive integer, got {value!r}")
        if self.dim % self.heads:
            raise ValidationError("policy.heads", f"{self.heads} does not divide dim {self.dim}")
        if not self.clip > 0:
            raise ValidationError("policy.clip", f"expected a positive number, got {self.clip!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyConfig:
        check_fields(cls, data, "policy")
        return cls(**data)


def _k(x: torch.Tensor) -> torch.Tensor:
    """The last dimension (capacity dimensions) cut or zero-padded to :data:`KF`."""
    k = x.shape[-1]
    return x[..., :KF] if k >= KF else F.pad(x, (0, KF - k))


def _squash(x: torch.Tensor) -> torch.Tensor:
    """Features in [0, UNBOUNDED] kept as they are below 1 and compressed above (``1 + log x``)."""
    return torch.where(x > 1, 1 + torch.log(x.clamp_min(1)), x)


def token_features(batch: Batch, locs: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The encoder's inputs of ``batch`` (float32): ``clients`` (B, N, 18), ``depots`` (B, D, 6), ``vehicles``
    (B, V, 16), ``globals`` (B, 10), the validity masks ``client_ok``, ``depot_ok``, ``vehicle_ok`` and the
    pair features ``pairs`` (B, M, M, 3) (distance both ways, duration). ``locs`` (B, M, 2) replaces the
    coordinates (the dihedral augmentation)."""
    f = batch.features
    B, D, N, _, _, _ = batch.shape
    locs = f["locs"] if locs is None else locs
    dist, dur = f["distance"], f["duration"].clamp(max=UNBOUNDED)
    dev = dist.device
    n_depots = torch.tensor([p.n_depots for p in batch.problems], device=dev)
    depot_ok = torch.arange(D, device=dev)[None, :] < n_depots[:, None]
    client_ok, vehicle_ok = f["exists"], f["type_exists"]
    node_ok = torch.cat([depot_ok, client_ok], 1)
    big = torch.where(node_ok[:, None, :], dist, torch.full_like(dist, math.inf))
    big = big + torch.diag_embed(torch.full((B, D + N), math.inf, device=dev))
    nearest = big.min(-1).values.clamp(max=UNBOUNDED)
    nearest = torch.where(torch.isfinite(nearest), nearest, torch.zeros_like(nearest))
    mean = (dist * node_ok[:, None, :]).sum(-1) / node_ok.sum(-1, keepdim=True).clamp_min(1)
    c = slice(D, D + N)
    w = f["windows"]
    clients = torch.cat([
        locs[:, c], _k(f["delivery"]), _k(f["pickup"]), f["service"][..., None], _squash(w[:, :, 0]),
        _squash(w[:, :, -1]), f["required"][..., None].float(), _squash(f["prize"])[..., None],
        dist[:, 0, c][..., None], dist[:, c, 0][..., None], dur[:, 0, c][..., None], nearest[:, c, None],
        mean[:, c, None]], -1)
    depots = torch.cat([locs[:, :D], _squash(f["depot_windows"]), dist[:, 0, :D][..., None],
                        dist[:, :D, 0][..., None]], -1)
    start = f["start_depot"].clamp_min(0)
    end = f["end_depot"]
    pick = torch.arange(B, device=dev)[:, None]
    count = f["count"].float()
    vehicles = torch.cat([
        _squash(_k(f["capacity"])), _squash(f["shift"]), _squash(f["max_duration"])[..., None],
        _squash(f["max_distance"])[..., None], _squash(f["fixed_cost"])[..., None],
        _squash(f["cost_per_distance"])[..., None], _squash(f["cost_per_duration"])[..., None],
        f["open"][..., None].float(), (count < 0)[..., None].float(),
        (count.clamp_min(0) / max(N, 1)).clamp(max=1)[..., None], locs[pick, start],
        locs[pick, end.clamp_min(0)] * (end >= 0)[..., None]], -1)
    ex = client_ok.float()
    n_ok = ex.sum(-1).clamp_min(1)
    globals_ = torch.stack([
        f["has_locs"].float(), batch.strict.float(), batch.use_time.float(), f["open"].any(-1).float(),
        ((f["max_distance"] < UNBOUNDED) & vehicle_ok).any(-1).float(),
        ((f["max_duration"] < UNBOUNDED) & vehicle_ok).any(-1).float(),
        ((f["pickup"].sum(-1) > 0).float() * ex).sum(-1) / n_ok,
        ((~f["required"]).float() * ex).sum(-1) / n_ok,
        (n_depots > 1).float(), (vehicle_ok.sum(-1) > 1).float()], -1)
    pairs = torch.stack([dist, dist.transpose(1, 2), dur], -1)
    return {"clients": clients.float(), "depots": depots.float(), "vehicles": vehicles.float(),
            "globals": globals_.float(), "client_ok": client_ok, "depot_ok": depot_ok, "vehicle_ok": vehicle_ok,
            "pairs": pairs.float()}


def dihedral(locs: torch.Tensor, k: int) -> torch.Tensor:
    """Transformation ``k`` (0..7) of the unit square applied to coordinates (..., 2): POMO's x8 augmentation
    (identity first)."""
    x, y = locs[..., 0], locs[..., 1]
    if k >= 4:
        x, y = y, x
    if k % 4 in (1, 3):
        x = 1 - x
    if k % 4 in (2, 3):
        y = 1 - y
    return torch.stack([x, y], -1)


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_up = nn.Linear(dim, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class EncoderLayer(nn.Module):
    """Pre-norm: ``x + attn(norm(x))``, then ``x + swiglu(norm(x))``."""

    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.norm2 = nn.RMSNorm(dim)
        self.ff = SwiGLU(dim, ff)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, e = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        x = x + self.out(att.transpose(1, 2).reshape(b, n, e))
        return x + self.ff(self.norm2(x))


def knn_graph(dist: torch.Tensor, dur: torch.Tensor, ok: torch.Tensor, k: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The sparse graph of each valid node's ``k`` nearest valid nodes by ``dist`` (B, M, M), over the batch's
    flattened nodes: ``edge_index`` (2, E), source (a neighbour ``j``) then target ``i``, and ``edge_attr``
    (E, 4): ``dist[i, j]``, ``dist[j, i]``, ``dur[i, j]``, ``dur[j, i]``, the durations divided by the
    problem's longest (distances come normalised by :func:`~vrpkit.neural.env.to_batch`)."""
    M = dist.shape[1]
    k = min(k, M - 1)
    dev = dist.device
    pair_ok = ok[:, :, None] & ok[:, None, :] & ~torch.eye(M, dtype=torch.bool, device=dev)
    big = torch.where(pair_ok, dist, torch.full_like(dist, math.inf))
    near, j = big.topk(k, dim=-1, largest=False)  # (B, M, k)
    keep = torch.isfinite(near)
    b, i, _ = torch.nonzero(keep, as_tuple=True)
    j = j[keep]
    top = torch.where(pair_ok, dur, torch.zeros_like(dur)).amax((1, 2)).clamp_min(1e-9)
    dn = dur / top[:, None, None]
    attr = torch.stack([dist[b, i, j], dist[b, j, i], dn[b, i, j], dn[b, j, i]], -1)
    return torch.stack([b * M + j, b * M + i]), attr.float()


class GraphBlock(nn.Module):
    """``h + out(TransformerConv(norm(h)))`` on the node embeddings over a :func:`knn_graph`."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        from torch_geometric.nn import TransformerConv

        self.norm = nn.RMSNorm(dim)
        self.conv = TransformerConv(dim, dim // heads, heads=heads, edge_dim=4)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        b, m, e = h.shape
        x = self.conv(self.norm(h).reshape(b * m, e), edge_index, edge_attr.to(h.dtype))
        return h + self.out(x.view(b, m, e))


@dataclass
class Encoded:
    """The encoder's output for a batch, reused by every decoding step."""

    nodes: torch.Tensor  # (B, M, E) depots then clients
    graph: torch.Tensor  # (B, E)
    glimpse_k: torch.Tensor  # (B, H, A, E / H)
    glimpse_v: torch.Tensor  # (B, H, A, E / H)
    logit_k: torch.Tensor  # (B, A, E)
    ctx_graph: torch.Tensor  # (B, E): the graph's part of the static context
    ctx_nodes: torch.Tensor  # (B, M, E): each node's part as the current node
    ctx_vehicles: torch.Tensor  # (B, V, E): each vehicle type's part as the open route's
    ctx_none: torch.Tensor  # (2, E): no current node, no open route


class Policy(nn.Module):
    """Encoder and decoder (see the module); :meth:`forward` runs whole rollouts (so that DDP sees them)."""

    def __init__(self, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or PolicyConfig()
        e = cfg.dim
        self.embed_client = nn.Linear(N_CLIENT, e)
        self.embed_depot = nn.Linear(N_DEPOT, e)
        self.embed_vehicle = nn.Linear(N_VEHICLE, e)
        self.embed_global = nn.Linear(N_GLOBAL, e)
        self.layers = nn.ModuleList(EncoderLayer(e, cfg.heads, cfg.ff) for _ in range(cfg.layers))
        self.norm = nn.RMSNorm(e)
        if cfg.matrix:
            self.pair_bias = nn.Sequential(nn.Linear(3, 32), nn.SiLU(), nn.Linear(32, cfg.heads * cfg.layers))
        self.project_keys = nn.Linear(e, 3 * e, bias=False)
        self.context_static = nn.Linear(3 * e, e, bias=False)
        self.context_step = nn.Linear(N_STEP, e)
        self.no_node = nn.Parameter(torch.zeros(e))
        self.no_vehicle = nn.Parameter(torch.zeros(e))
        self.glimpse_out = nn.Linear(e, e, bias=False)
        self.vehicle_bias = nn.Linear(3, 1)
        if cfg.graph:  # last, so that models without graph layers draw the same initial weights
            self.graph_blocks = nn.ModuleList(GraphBlock(e, cfg.heads) for _ in range(cfg.layers))

    def warm_start(self, state: dict[str, torch.Tensor]) -> list[str]:
        """Copy the tensors of ``state`` (another policy's weights) whose names and shapes match, and zero the
        output weights of the new attention bias and graph blocks, so that the policy starts as the other one
        did. Returns the names of the tensors kept fresh."""
        own = self.state_dict()
        same = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.load_state_dict(same, strict=False)
        with torch.no_grad():
            if self.config.matrix and "pair_bias.2.weight" not in same:
                self.pair_bias[2].weight.zero_()
                self.pair_bias[2].bias.zero_()
            if self.config.graph and not any(k.startswith("graph_blocks.") for k in same):
                for block in self.graph_blocks:
                    block.out.weight.zero_()
        return sorted(set(own) - set(same))

    # -- encoder ---------------------------------------------------------------------------------------------

    def encode(self, batch: Batch, locs: torch.Tensor | None = None) -> Encoded:
        """Embeddings of ``batch`` (``locs``: replacement coordinates, see :func:`token_features`)."""
        cfg, x = self.config, token_features(batch, locs)
        B, D, N, _, _, _ = batch.shape
        g = self.embed_global(x["globals"])[:, None]
        h = torch.cat([self.embed_depot(x["depots"]), self.embed_client(x["clients"]),
                       self.embed_vehicle(x["vehicles"])], 1) + g
        ok = torch.cat([x["depot_ok"], x["client_ok"], x["vehicle_ok"]], 1)  # (B, L)
        L, M = h.shape[1], D + N
        pad = torch.zeros((B, 1, 1, L), device=h.device).masked_fill(~ok[:, None, None, :], -math.inf)
        biases: list[torch.Tensor] = [pad.expand(B, cfg.heads, L, L)] * cfg.layers
        if cfg.matrix:
            pb = self.pair_bias(x["pairs"]).permute(0, 3, 1, 2)  # (B, layers * H, M, M)
            full = F.pad(pb, (0, L - M, 0, L - M))
            biases = [full[:, i * cfg.heads:(i + 1) * cfg.heads] + pad for i in range(cfg.layers)]
        if cfg.graph:
            node_ok = ok[:, :M]
            edges, attr = knn_graph(batch.features["distance"], batch.features["duration"], node_ok, cfg.graph)
        for i, (layer, bias) in enumerate(zip(self.layers, biases, strict=True)):
            if cfg.graph:
                h = torch.cat([self.graph_blocks[i](h[:, :M], edges, attr), h[:, M:]], 1)
            h = layer(h, bias)
        h = self.norm(h)
        okf = ok.to(h.dtype)[..., None]
        graph = (h * okf).sum(1) / okf.sum(1)
        nodes, vehicles = h[:, :M], h[:, M:]
        actions = torch.cat([vehicles, nodes[:, D:]], 1)  # the env's order: vehicle types, then clients
        gk, gv, lk = self.project_keys(actions).chunk(3, dim=-1)
        heads = cfg.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, t.shape[1], heads, -1).transpose(1, 2)

        # context_static(cat[graph, node, vehicle]) split by columns, so that steps only gather
        w_graph, w_node, w_vehicle = self.context_static.weight.chunk(3, dim=1)
        none = torch.stack([self.no_node @ w_node.T, self.no_vehicle @ w_vehicle.T])
        return Encoded(nodes, graph, split(gk), split(gv), lk, graph @ w_graph.T, nodes @ w_node.T,
                       vehicles @ w_vehicle.T, none)

    # -- decoder ---------------------------------------------------------------------------------------------

    def logits(self, enc: Encoded, env: RoutingEnv, state: State) -> torch.Tensor:
        """Masked logits (B, S, V + N) of the next action (float32; -inf where the mask forbids)."""
        ctx = env.context(state)
        B, S = state.batch_shape
        e = self.config.dim
        node, vehicle = ctx["node"], ctx["vehicle"]
        cur = enc.ctx_nodes.gather(1, node.clamp_min(0)[..., None].expand(B, S, e))
        cur = torch.where((node >= 0)[..., None], cur, enc.ctx_none[0].to(cur.dtype))
        veh = enc.ctx_vehicles.gather(1, vehicle.clamp_min(0)[..., None].expand(B, S, e))
        veh = torch.where((vehicle >= 0)[..., None], veh, enc.ctx_none[1].to(veh.dtype))
        route_open = (vehicle >= 0).float()
        served = state["visited"].float().mean(-1)
        step = torch.cat([
            ctx["time"][..., None], ctx["distance"][..., None], ctx["duration"][..., None],
            ctx["distance_left"][..., None], ctx["duration_left"][..., None], _k(ctx["delivered"]),
            _k(ctx["picked"]), _k(ctx["peak"]), _k(ctx["room"]), route_open[..., None], served[..., None],
            ctx["used"].sum(-1, keepdim=True)], -1)
        step = _squash(step.clamp_min(0))
        q = enc.ctx_graph[:, None] + cur + veh + self.context_step(step.to(cur.dtype))
        mask = state["action_mask"]
        qh = q.view(B, S, self.config.heads, -1).transpose(1, 2)  # (B, H, S, dh)
        glimpse = F.scaled_dot_product_attention(qh, enc.glimpse_k, enc.glimpse_v, attn_mask=mask[:, None])
        glimpse = self.glimpse_out(glimpse.transpose(1, 2).reshape(B, S, e))
        raw = torch.einsum("bse,bae->bsa", glimpse, enc.logit_k).float() / math.sqrt(e)
        logits = self.config.clip * torch.tanh(raw)
        V = env.V
        vfeat = torch.stack([route_open[..., None].expand(B, S, V), ctx["used"],
                             (state["size"].float() / env.N)[..., None].expand(B, S, V)], -1)
        logits = torch.cat([logits[..., :V] + self.vehicle_bias(vfeat).squeeze(-1), logits[..., V:]], -1)
        return logits.masked_fill(~mask, -math.inf)

    def forward(self, env: RoutingEnv, starts: int, *, decode: str = "greedy",
                generator: torch.Generator | None = None, locs: torch.Tensor | None = None,
                multistart: bool = True) -> tuple[State, torch.Tensor]:
        """Roll out ``starts`` plans per problem of ``env``; returns the final state and the log-likelihood
        (B, S) of each plan's chosen actions. ``decode``: ``greedy`` or ``sampling`` (with ``generator``).
        With ``multistart`` (POMO) rollout ``s`` of problem ``b`` serves client ``s mod n_b`` first when
        allowed (forced, not counted in the log-likelihood), else the policy chooses."""
        if decode not in ("greedy", "sampling"):
            raise ValidationError("decode", f'expected "greedy" or "sampling", got {decode!r}')
        enc = self.encode(env.batch, locs)
        state = env.reset(starts)
        B, S = state.batch_shape
        V = env.V
        n_clients = env.batch.exists.sum(-1)  # clients come first among the padded ones
        first = (torch.arange(S, device=env.device)[None, :] % n_clients[:, None]) + V  # (B, S) actions
        forced_done = torch.zeros((B, S), dtype=torch.bool, device=env.device)
        logp = torch.zeros((B, S), device=env.device)
        for _ in range(3 * env.N + 3):  # the env's bound: serve each client, open and close each route, end
            if bool(state["done"].all()):
                break
            lg = self.logits(enc, env, state)
            lp = torch.log_softmax(lg, -1)
            if decode == "greedy":
                action = lg.argmax(-1)
            else:
                probs = lp.exp().view(B * S, -1)
                action = torch.multinomial(probs, 1, generator=generator).view(B, S)
            live = counted = ~state["done"]
            if multistart:
                at_first = live & ~forced_done & (state["vehicle"] >= 0) & (state["size"] == 0)
                allowed = state["action_mask"].gather(-1, first[..., None]).squeeze(-1)
                force = at_first & allowed
                action = torch.where(force, first, action)
                forced_done = forced_done | at_first
                counted = live & ~force
            chosen = lp.gather(-1, action[..., None]).squeeze(-1)
            logp = logp + torch.where(counted, chosen, 0.0)
            state = env.step(state, action, check=False)  # masked logits choose allowed actions only
        return state, logp


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["KF", "Encoded", "GraphBlock", "Policy", "PolicyConfig", "dihedral", "knn_graph", "parameter_count",
           "token_features"]
