"""Data-parallel training of analog models with ``torch.distributed``
(``DistributedDataParallel``, gloo on the CPU, nccl on CUDA).

An analog tile is not trained by a weight gradient but by the (x, d) pairs its backward passes
record on its ``AnalogContext``. Under data parallelism each rank records the pairs of its own
shard of the batch, so the tiles cannot be kept in step by DDP's gradient all-reduce. Instead:

- ``prepare_for_ddp(model)`` (before ``DistributedDataParallel(model)``) marks the contexts for
  exchange and copies rank 0's complete tile states (weights, device draws, seeds and RNG
  positions) to every rank, as DDP does with the digital parameters.
- ``AnalogSGD.step`` then calls ``exchange_pairs``: every rank all-gathers the pairs of every
  prepared tile and applies the union, in rank order, with ``d`` divided by the world size.
  Every replica therefore gives its tiles the same update with the same random numbers, and
  they stay bit-identical.

The division by the world size is DDP's convention for the digital parameters (their gradients
are averaged over the ranks): with a loss that is a mean over the local batch, both the digital
and the analog weights get the update one process would make on the concatenated batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch
from torch import Tensor, nn

from rpusim.exceptions import ConfigError, StateError
from rpusim.tiles import AnalogTile

if TYPE_CHECKING:  # the optimizer imports this module
    from rpusim.optim.context import AnalogContext


def is_distributed(process_group: Any = None) -> bool:
    """True when torch.distributed is initialized with more than one rank in the group."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return False
    return int(dist.get_world_size(process_group)) > 1


def _analog_tiles(module: nn.Module) -> list[AnalogTile]:
    """The tile of every analog layer, in module order (the same on every replica)."""
    tiles = (getattr(m, "analog_tile", None) for m in module.modules())
    return [tile for tile in tiles if isinstance(tile, AnalogTile)]


def prepare_for_ddp(module: nn.Module, process_group: Any = None) -> None:
    """Prepares ``module`` (any torch module holding analog layers) for
    ``torch.nn.parallel.DistributedDataParallel``; call it on every rank after
    ``torch.distributed.init_process_group`` and before wrapping the model.

    - each ``AnalogContext`` is marked, so that ``AnalogSGD.step`` all-gathers the (x, d) pairs
      of all ranks and every replica applies the same update (``exchange_pairs``);
    - when the process group is up with more than one rank, rank 0's complete tile states are
      copied to every rank (a collective call: every rank must make it), as DDP copies rank 0's
      digital parameters.

    The contexts stay registered with DDP: their data is empty, so DDP's broadcast and gradient
    all-reduce of them move nothing, and a model of analog layers only (no bias, nothing
    digital) can be wrapped too (DDP refuses a module without a parameter to reduce).
    ``AnalogSGD`` discards the empty gradient DDP gives them.

    With nccl, call ``torch.cuda.set_device(rank)`` first: the copy of the tile states goes
    through torch's object collectives, which use the current CUDA device.

    Args:
        module: the model (before ``DistributedDataParallel``).
        process_group: the group the replicas form (default: the world group).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    from rpusim.optim.context import AnalogContext

    for param in module.parameters():
        if isinstance(param, AnalogContext):
            param.distributed = True
            param.process_group = process_group
    if is_distributed(process_group):
        broadcast_analog_tiles(module, src=0, process_group=process_group)


def broadcast_analog_tiles(module: nn.Module, src: int = 0, process_group: Any = None) -> None:
    """Copies the complete state of every analog tile of ``module`` on rank ``src`` to the
    same tile on every other rank of the group (collective: every rank calls it). Each rank's
    tiles keep their backend."""
    import torch.distributed as dist

    tiles = _analog_tiles(module)
    rank = dist.get_rank(process_group)
    sizes: list[Any] = [None] * dist.get_world_size(process_group)
    dist.all_gather_object(sizes, [(t.out_size, t.in_size) for t in tiles], group=process_group)
    for other, other_sizes in enumerate(sizes):
        if other_sizes != sizes[rank]:
            # Every rank sees the same lists, so every rank raises.
            raise StateError(
                f"broadcast_analog_tiles: the analog tiles (out, in) of rank {other} are "
                f"{other_sizes}, those of rank {rank} {sizes[rank]}: the replicas must be the "
                f"same model"
            )
    states: list[Any] = [None]
    if rank == src:
        states = [[tile.__getstate__() for tile in tiles]]
    dist.broadcast_object_list(states, src=src, group=process_group)
    if rank == src:
        return
    for tile, state in zip(tiles, states[0]):
        backend = tile.backend
        tile.__setstate__(state)
        tile.to_backend(backend)


def _comm_device(process_group: Any) -> torch.device:
    """Where the collectives' tensors must live: nccl takes CUDA tensors only (on the device
    the rank has set), gloo and the others take CPU tensors."""
    import torch.distributed as dist

    if str(dist.get_backend(process_group)) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather(tensor: Tensor, process_group: Any) -> list[Tensor]:
    import torch.distributed as dist

    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size(process_group))]
    dist.all_gather(out, tensor, group=process_group)
    return out


def exchange_pairs(contexts: Sequence[AnalogContext], group: Any = None) -> None:
    """Replaces the recorded pairs of each context by the union over all ranks of the group:
    ``x = cat(x_0, x_1, ...)``, ``d = cat(d_0, d_1, ...) / world_size`` (rank order, so every
    rank applies the same update with the same random numbers). Collective: every rank calls
    it with the same contexts in the same order, with or without pairs of its own. Two
    all-gathers whatever the number of tiles: the row counts, then one flat buffer (padded to the
    longest rank) with every x and d.
    """
    import torch.distributed as dist

    if not contexts or not is_distributed(group):
        return
    world = int(dist.get_world_size(group))
    device = _comm_device(group)
    widths = [(ctx.analog_tile.in_size, ctx.analog_tile.out_size) for ctx in contexts]
    local: list[tuple[Tensor, Tensor]] = []
    for ctx, (in_size, out_size) in zip(contexts, widths):
        if ctx.has_pairs():
            local.append(ctx.take_pairs())
        else:
            local.append((torch.empty(0, in_size), torch.empty(0, out_size)))
    # (rows, in, out) per tile: the sizes also catch replicas that are not the same model.
    shapes = [(x.shape[0], i, o) for (x, _), (i, o) in zip(local, widths)]
    gathered_shapes = _all_gather(torch.tensor(shapes, dtype=torch.int64, device=device), group)
    rows_by_rank = []
    for rank, rank_shapes in enumerate(gathered_shapes):
        rank_shapes = rank_shapes.cpu()
        if rank_shapes[:, 1:].tolist() != [list(w) for w in widths]:
            raise StateError(
                f"exchange_pairs: the analog tiles of rank {rank} have other sizes than this "
                f"rank's (in, out) {widths}: the replicas must be the same model"
            )
        rows_by_rank.append(rank_shapes[:, 0].tolist())
    lengths = [
        sum(n * (i + o) for n, (i, o) in zip(rank_rows, widths)) for rank_rows in rows_by_rank
    ]
    longest = max(lengths)
    if longest == 0:
        return
    parts = [t.reshape(-1).to(torch.float32) for pair in local for t in pair]
    flat = torch.zeros(longest, dtype=torch.float32, device=device)
    own = torch.cat(parts) if parts else flat[:0]
    flat[: own.numel()] = own.to(device)
    gathered = [g.cpu() for g in _all_gather(flat, group)]
    xs: list[list[Tensor]] = [[] for _ in contexts]
    ds: list[list[Tensor]] = [[] for _ in contexts]
    for rank_flat, rank_rows in zip(gathered, rows_by_rank):
        offset = 0
        for k, (n, (in_size, out_size)) in enumerate(zip(rank_rows, widths)):
            xs[k].append(rank_flat[offset : offset + n * in_size].view(n, in_size))
            offset += n * in_size
            ds[k].append(rank_flat[offset : offset + n * out_size].view(n, out_size))
            offset += n * out_size
    for ctx, x_parts, d_parts in zip(contexts, xs, ds):
        x = torch.cat(x_parts)
        if x.shape[0] > 0:
            ctx.record(x.contiguous(), (torch.cat(d_parts) / world).contiguous())


def exchange_all(contexts: Iterable[AnalogContext]) -> None:
    """``exchange_pairs`` for every context marked by ``prepare_for_ddp``, group by group (in
    the order the groups first appear, which is the same on every rank)."""
    by_group: dict[int, tuple[Any, list[AnalogContext]]] = {}
    for ctx in contexts:
        if ctx.distributed:
            by_group.setdefault(id(ctx.process_group), (ctx.process_group, []))[1].append(ctx)
    for group, members in by_group.values():
        exchange_pairs(members, group)


def check_no_ddp_gradient(ctx: AnalogContext, name: str) -> None:
    """The analog backward never gives a context a gradient; DDP's reducer does (an empty one).
    A context with a gradient that ``prepare_for_ddp`` did not mark belongs to a model wrapped
    without it: each rank would update its tiles with its own pairs only and the replicas would
    drift apart. Refuse before anything moves."""
    if ctx.grad is not None and not ctx.distributed:
        raise ConfigError(
            f"{name}: an analog context received a gradient, so the model is wrapped in "
            f"DistributedDataParallel without prepare_for_ddp(); call model.prepare_for_ddp() "
            f"(or rpusim.distributed.prepare_for_ddp(model)) before DistributedDataParallel(model)"
        )


def _digest_value(h: Any, value: Any) -> None:
    if isinstance(value, Tensor):
        h.update(str((value.dtype, tuple(value.shape))).encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(str((value.dtype, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            h.update(str(key).encode())
            _digest_value(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _digest_value(h, item)
    else:
        h.update(repr(value).encode())


def state_digest(module: nn.Module) -> str:
    """SHA-256 of ``module.state_dict()``: digital parameters and buffers, and every tile's
    complete state (weights, per-device arrays, hidden arrays, seeds, RNG positions, config).
    Equal digests on two ranks mean bit-identical replicas."""
    h = hashlib.sha256()
    _digest_value(h, dict(module.state_dict()))
    return h.hexdigest()


def replica_digests(module: nn.Module, process_group: Any = None) -> list[str]:
    """``state_digest`` of every rank's replica, in rank order (collective)."""
    import torch.distributed as dist

    digest = state_digest(module)
    if not is_distributed(process_group):
        return [digest]
    out: list[Optional[str]] = [None] * dist.get_world_size(process_group)
    dist.all_gather_object(out, digest, group=process_group)
    return [str(d) for d in out]
