"""The body of the data-parallel tests: run on each rank of a gloo group by
``test_distributed.py`` (``torch.multiprocessing.spawn``), it trains small analog models under
``DistributedDataParallel`` and saves what the tests compare to ``<out>/rank<r>.pt``.

Every scenario runs in the same two processes, so the interpreters and torch start once. The
single-process references are trained in the same processes (unprepared models update their
tiles from their own pairs only), so they see the same float library and thread count.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from rpusim import presets
from rpusim.configs import FloatingPointRPUConfig, InferenceRPUConfig
from rpusim.distributed import replica_digests, state_digest
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogContext, AnalogSGD

BATCH = 4  # per rank; the single-process reference takes 2 × BATCH
STEPS = 3
LR = 0.1
TEARDOWN = "destroying the process group"  # the log line before destroy_process_group


def mlp(config: Any, bias: bool) -> AnalogSequential:
    return AnalogSequential(
        AnalogLinear(8, 6, bias=bias, rpu_config=config),
        nn.Tanh(),
        AnalogLinear(6, 3, bias=bias, rpu_config=config),
    )


def conv_net(config: Any) -> AnalogSequential:
    return AnalogSequential(
        AnalogConv2d(1, 2, 3, rpu_config=config),
        nn.Tanh(),
        nn.Flatten(),
        AnalogLinear(2 * 4 * 4, 3, rpu_config=config),
    )


def data(shape: tuple[int, ...], steps: int = STEPS, seed: int = 7) -> list[tuple[Tensor, Tensor]]:
    """``steps`` global batches of 2 × BATCH samples (the same on every rank)."""
    gen = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(2 * BATCH, *shape, generator=gen),
            torch.randint(0, 3, (2 * BATCH,), generator=gen),
        )
        for _ in range(steps)
    ]


def shard(batch: tuple[Tensor, Tensor], rank: int) -> tuple[Tensor, Tensor]:
    x, y = batch
    return x[rank * BATCH : (rank + 1) * BATCH], y[rank * BATCH : (rank + 1) * BATCH]


def train(model: nn.Module, opt: AnalogSGD, batches: list[tuple[Tensor, Tensor]]) -> None:
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


def optimizer(model: nn.Module, momentum: float = 0.0) -> AnalogSGD:
    opt = AnalogSGD(model.parameters(), lr=LR, momentum=momentum)
    opt.regroup_param_groups(model)
    return opt


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    """What an update changes: every tile's weights and hidden arrays, and the digital
    parameters (the analog contexts are empty and left out)."""
    out = {}
    for name, param in model.named_parameters():
        if not isinstance(param, AnalogContext):
            out[name] = param.detach().clone()
    for name, layer in model.named_modules():
        tile = getattr(layer, "analog_tile", None)
        if tile is not None:
            out[f"{name}.weights"] = tile.get_weights()
            for key, value in tile.get_hidden_weights().items():
                out[f"{name}.{key}"] = value
    return out


def ddp_against_single(
    rank: int, build: Callable[[], nn.Module], shape: tuple[int, ...], momentum: float = 0.0
) -> dict[str, Any]:
    """The same model (same seed) trained three ways: under DDP on this rank's shard; in one
    process that accumulates the shards of both ranks as two micro-batches per step with the
    loss divided by the world size (gradient accumulation: the same pairs as the union); in one
    process on the whole batch at once."""
    world = dist.get_world_size()
    batches = data(shape)
    torch.manual_seed(3)
    model = build()
    model.prepare_for_ddp()  # type: ignore[operator]
    ddp = DistributedDataParallel(model)
    train(ddp, optimizer(ddp, momentum), [shard(b, rank) for b in batches])

    torch.manual_seed(3)
    accumulated = build()
    opt = optimizer(accumulated, momentum)
    for batch in batches:
        opt.zero_grad()
        for r in range(world):
            x, y = shard(batch, r)
            (F.cross_entropy(accumulated(x), y) / world).backward()
        opt.step()

    torch.manual_seed(3)
    single = build()
    train(single, optimizer(single, momentum), batches)
    return {
        "ddp": snapshot(model),
        "accumulated": snapshot(accumulated),
        "single": snapshot(single),
        "replicas": replica_digests(model),
    }


def perfect(config: Any) -> Any:
    config.forward.is_perfect = True
    if hasattr(config, "backward"):  # inference tiles have an exact backward
        config.backward.is_perfect = True
    return config


def pulsed_noisy(rank: int) -> dict[str, Any]:
    """A preset device with its noisy periphery, a convolution, momentum on the digital
    parameters, rank-dependent seeds before the model is built (prepare_for_ddp must copy rank
    0's tiles) and an uneven last batch (rank 1 has one sample less)."""
    torch.manual_seed(100 + rank)
    model = conv_net(presets.ReRamSBPreset())
    before = replica_digests(model)
    model.prepare_for_ddp()
    ddp = DistributedDataParallel(model)
    synced = replica_digests(model)
    opt = optimizer(ddp, momentum=0.9)
    batches = [shard(b, rank) for b in data((1, 6, 6), steps=4)]
    x, y = batches[-1]
    if rank == 1:
        batches[-1] = (x[:-1], y[:-1])
    context_grads = []
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        context_grads += [
            0 if p.grad is None else p.grad.numel()
            for p in ddp.parameters()
            if isinstance(p, AnalogContext)
        ]
        opt.step()
    return {
        "before": before,
        "synced": synced,
        "replicas": replica_digests(model),
        "context_grad_elements": sum(context_grads),
        "weights": snapshot(model),
    }


def float_against_torch(rank: int) -> dict[str, Any]:
    """FloatingPointRPUConfig with biases under DDP against plain torch layers under DDP with the
    same initial weights and the same data."""
    batches = data((8,))
    torch.manual_seed(5)
    analog = mlp(FloatingPointRPUConfig(), bias=True)
    digital = nn.Sequential(nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3))
    with torch.no_grad():
        for a, d in zip((analog[0], analog[2]), (digital[0], digital[2])):
            weight, bias = a.get_weights()
            d.weight.copy_(weight)
            d.bias.copy_(bias)
    analog.prepare_for_ddp()
    ddp_analog = DistributedDataParallel(analog)
    ddp_digital = DistributedDataParallel(digital)
    train(ddp_analog, optimizer(ddp_analog), [shard(b, rank) for b in batches])
    digital_opt = torch.optim.SGD(ddp_digital.parameters(), lr=LR)
    for x, y in (shard(b, rank) for b in batches):
        digital_opt.zero_grad()
        F.cross_entropy(ddp_digital(x), y).backward()
        digital_opt.step()
    return {
        "analog": [t for layer in (analog[0], analog[2]) for t in layer.get_weights()],
        "digital": [
            t.detach().clone()
            for layer in (digital[0], digital[2])
            for t in (layer.weight, layer.bias)
        ],
        "replicas": replica_digests(analog),
    }


def save_and_resume(rank: int, out: Path) -> dict[str, Any]:
    """Rank 0 saves model and optimizer after 2 steps; the run goes on 2 steps. Then a fresh
    model (other seeds on each rank) loads the checkpoint on every rank and does the same 2
    steps: both runs must end in the same state."""
    batches = [shard(b, rank) for b in data((8,), steps=4)]
    config = InferenceRPUConfig()
    torch.manual_seed(9)
    model = mlp(config, bias=True)
    model.prepare_for_ddp()
    ddp = DistributedDataParallel(model)
    opt = optimizer(ddp, momentum=0.9)
    train(ddp, opt, batches[:2])
    path = out / "checkpoint.pt"
    if rank == 0:
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    dist.barrier()
    train(ddp, opt, batches[2:])
    continued = state_digest(model)
    continued_opt = [s.get("momentum_buffer") for s in opt.state_dict()["state"].values()]

    torch.manual_seed(50 + rank)
    fresh = mlp(InferenceRPUConfig(), bias=True)
    saved = torch.load(path, weights_only=False)
    fresh.load_state_dict(saved["model"])
    fresh.prepare_for_ddp()
    fresh_ddp = DistributedDataParallel(fresh)
    fresh_opt = optimizer(fresh_ddp, momentum=0.9)
    fresh_opt.load_state_dict(saved["optimizer"])
    train(fresh_ddp, fresh_opt, batches[2:])
    resumed_opt = [s.get("momentum_buffer") for s in fresh_opt.state_dict()["state"].values()]
    return {
        "continued": continued,
        "resumed": state_digest(fresh),
        "replicas": replica_digests(fresh),
        "opt_equal": len(continued_opt) == len(resumed_opt)
        and all(
            (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
            for a, b in zip(continued_opt, resumed_opt)
        ),
        "tile_buffers": sum(1 for s in continued_opt if s is not None and s.dim() == 2),
    }


def unprepared(rank: int) -> str:
    """DDP without prepare_for_ddp: the step refuses (each rank would train its own tiles)."""
    torch.manual_seed(4)
    model = mlp(FloatingPointRPUConfig(), bias=True)
    ddp = DistributedDataParallel(model)
    opt = optimizer(ddp)
    x, y = shard(data((8,), steps=1)[0], rank)
    F.cross_entropy(ddp(x), y).backward()
    try:
        opt.step()
    except ConfigError as e:
        return str(e)
    return ""


def mismatched(rank: int) -> list[str]:
    """Replicas that are not the same model (rank 1's hidden layer is wider): prepare_for_ddp
    and the exchange both refuse on every rank."""
    from rpusim.exceptions import StateError

    torch.manual_seed(6)
    model = AnalogSequential(
        AnalogLinear(8, 6 + rank, rpu_config=FloatingPointRPUConfig()),
        nn.Tanh(),
        AnalogLinear(6 + rank, 3, rpu_config=FloatingPointRPUConfig()),
    )
    messages = []
    try:
        model.prepare_for_ddp()
    except StateError as e:
        messages.append(str(e))
    for p in model.parameters():  # marked by hand: the exchange checks the sizes itself
        if isinstance(p, AnalogContext):
            p.distributed = True
    opt = optimizer(model)
    x, y = shard(data((8,), steps=1)[0], rank)
    F.cross_entropy(model(x), y).backward()
    try:
        opt.step()
    except StateError as e:
        messages.append(str(e))
    return messages


def run(rank: int, world: int, port: int, out: str, deadline_s: float) -> None:
    """Trains every scenario on this rank. ``<out>/rank<r>.log`` records each scenario as it
    starts and ends, and ``<out>/rank<r>.stacks`` gets the Python stacks of all threads shortly
    before the test's deadline, so a run that does not finish says where it stood."""
    started = time.perf_counter()
    log = open(Path(out) / f"rank{rank}.log", "w", buffering=1)
    stacks = open(Path(out) / f"rank{rank}.stacks", "w")
    faulthandler.dump_traceback_later(max(deadline_s - 15.0, 1.0), file=stacks)
    # The test asks for the stacks of a rank that hangs after saving (SIGUSR1) before it kills it.
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    # Both ranks live on this host: gloo's pairs connect over the loopback device instead of
    # the address the host name resolves to (which some containers cannot reach).
    if os.path.exists("/sys/class/net/lo"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    # A rank that waits on a collective its peer never joins raises before the test's deadline.
    collective_timeout = timedelta(seconds=max(deadline_s - 30.0, 10.0))
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=collective_timeout)
    log.write(f"{time.perf_counter() - started:.1f} s: process group up\n")
    try:
        pulsed_config = perfect(presets.ReRamSBPreset())
        pulsed_config.mapping.max_input_size = 4  # the first layer is split over two tiles
        inference_config = perfect(InferenceRPUConfig())
        scenarios: dict[str, Callable[[], Any]] = {
            "pulsed_perfect": lambda: ddp_against_single(
                rank, lambda: mlp(pulsed_config, False), (8,)
            ),
            "pulsed_momentum": lambda: ddp_against_single(
                rank, lambda: mlp(pulsed_config, False), (8,), momentum=0.9
            ),
            "compound": lambda: ddp_against_single(
                rank, lambda: mlp(perfect(presets.TikiTakaReRamSBPreset()), False), (8,)
            ),
            "float": lambda: ddp_against_single(
                rank, lambda: mlp(FloatingPointRPUConfig(), False), (8,)
            ),
            "inference_momentum": lambda: ddp_against_single(
                rank, lambda: mlp(inference_config, False), (8,), momentum=0.9
            ),
            "inference_noisy": lambda: ddp_against_single(
                rank, lambda: mlp(InferenceRPUConfig(), True), (8,), momentum=0.9
            ),
            "pulsed_noisy": lambda: pulsed_noisy(rank),
            "float_vs_torch": lambda: float_against_torch(rank),
            "resume": lambda: save_and_resume(rank, Path(out)),
            "unprepared": lambda: unprepared(rank),
            "mismatched": lambda: mismatched(rank),
        }
        results: dict[str, Any] = {"seconds": {"start": time.perf_counter() - started}}
        for name, scenario in scenarios.items():
            t0 = time.perf_counter()
            log.write(f"{t0 - started:.1f} s: {name} starts\n")
            results[name] = scenario()
            results["seconds"][name] = time.perf_counter() - t0
        torch.save(results, Path(out) / f"rank{rank}.pt")
        log.write(f"{time.perf_counter() - started:.1f} s: saved\n")
        # No rank tears the group down while its peer is still in a collective: torch 2.0's gloo
        # hung in destroy_process_group in 2 of 40 runs without this barrier, in 0 of 90 with it.
        dist.barrier()
        log.write(f"{time.perf_counter() - started:.1f} s: {TEARDOWN}\n")
        dist.destroy_process_group()
        log.write(f"{time.perf_counter() - started:.1f} s: group destroyed\n")
    finally:
        if dist.is_initialized():  # a scenario raised: its error is what the test reports
            dist.destroy_process_group()
        faulthandler.cancel_dump_traceback_later()
        log.close()
        stacks.close()
