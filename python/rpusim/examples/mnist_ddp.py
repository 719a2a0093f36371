"""Train an analog MLP on MNIST with data parallelism (torch ``DistributedDataParallel``) on
several processes, and check at the end that every replica holds the bit-identical model.

    python -m rpusim.examples.mnist_ddp [--world-size 2] [--device constant-step] [--epochs 1]
        [--batch-size 32] [--lr 0.1] [--limit N] [--data-dir DIR] [--download] [--out DIR]
        [--dist-backend gloo|nccl]

The network is the one of the reference simulator's DDP example with Tanh for its Sigmoid (which
learns too slowly for a short run): AnalogLinear(784, 256), Tanh, AnalogLinear(256, 128), Tanh,
AnalogLinear(128, 10), LogSoftmax; NLL loss, AnalogSGD.
Each of the ``--world-size`` processes (gloo on the CPU by default; nccl puts each rank's
inputs and digital parameters on ``cuda:<rank>``) trains on its slice of every global batch of
world_size × batch-size images: the tiles of all ranks apply the union of all ranks' (x, d)
pairs (``model.prepare_for_ddp()``, ``rpusim.distributed``), so the run is the training of one
model with the global batch. The test set is split over the ranks, each with the same number of
forward calls. At the end every rank's complete state (tiles with their RNG positions, biases)
is hashed and compared. Results go to ``--out`` (default ``runs/``) as ``mnist_ddp.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from rpusim.configs import InferenceRPUConfig
from rpusim.distributed import replica_digests
from rpusim.examples.common import (
    DEFAULT_OUT,
    add_data_arguments,
    add_thread_argument,
    load_data,
    set_torch_threads,
)
from rpusim.examples.lenet5 import CONFIGS
from rpusim.nn import AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD

DEVICES = (*CONFIGS, "inference")
LABEL = "mnist_ddp"


def build_model(device: str) -> AnalogSequential:
    config: Any = InferenceRPUConfig() if device == "inference" else CONFIGS[device]()
    return AnalogSequential(
        AnalogLinear(784, 256, rpu_config=config),
        nn.Tanh(),
        AnalogLinear(256, 128, rpu_config=config),
        nn.Tanh(),
        AnalogLinear(128, 10, rpu_config=config),
        nn.LogSoftmax(dim=1),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def all_sum(values: list[float], on: torch.device) -> list[float]:
    """The sum over the ranks of a few numbers (float64)."""
    t = torch.tensor(values, dtype=torch.float64, device=on)
    dist.all_reduce(t)
    return [float(v) for v in t.cpu()]


def evaluate(
    model: nn.Module, x: Tensor, y: Tensor, rank: int, world: int, batch: int, on: torch.device
) -> tuple[float, float]:
    """(mean NLL, accuracy) on the whole test set, each rank on its slice with the same number
    of forward calls (the replicas' forward RNG positions stay equal)."""
    shards = torch.tensor_split(torch.arange(len(y)), world)
    calls = math.ceil(max(len(s) for s in shards) / batch)
    total, correct = 0.0, 0
    model.eval()
    with torch.no_grad():
        for idx in torch.tensor_split(shards[rank], calls):
            out = model(x[idx].to(on))
            total += float(nn.functional.nll_loss(out, y[idx].to(on), reduction="sum"))
            correct += int((out.argmax(1) == y[idx].to(on)).sum())
    model.train()
    total, correct_sum = all_sum([total, float(correct)], on)
    return total / len(y), correct_sum / len(y)


def worker(rank: int, args: argparse.Namespace, port: int) -> None:
    world = args.world_size
    set_torch_threads(args.torch_threads)
    dist.init_process_group(
        args.dist_backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        train_on(rank, world, args)
        # No rank tears the group down while a peer is still in a collective: without this
        # barrier, torch 2.0's gloo hung in destroy_process_group in about 1 of 20 test runs.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def train_on(rank: int, world: int, args: argparse.Namespace) -> None:
    on = torch.device("cpu")
    if args.dist_backend == "nccl":
        on = torch.device("cuda", rank)
        torch.cuda.set_device(on)
    x_train, y_train, x_test, y_test = load_data(args)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    torch.manual_seed(args.seed)  # the same model everywhere (prepare_for_ddp copies rank 0's)
    model = build_model(args.device)
    model.prepare_for_ddp()
    model.to(on)
    ddp = DistributedDataParallel(model, device_ids=[rank] if on.type == "cuda" else None)
    optimizer = AnalogSGD(ddp.parameters(), lr=args.lr)
    optimizer.regroup_param_groups(ddp)
    order_gen = torch.Generator().manual_seed(args.seed)  # the same order on every rank
    global_batch = world * args.batch_size
    steps = len(y_train) // global_batch  # the incomplete last global batch is dropped
    if rank == 0:
        print(
            f"{LABEL}: {args.device}, {world} ranks ({args.dist_backend}), "
            f"{steps * global_batch} train / {len(y_test)} test images per epoch, batch "
            f"{args.batch_size} per rank ({global_batch} global), lr {args.lr}",
            flush=True,
        )
    history: list[dict[str, float]] = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(y_train), generator=order_gen)
        running = 0.0
        for step in range(steps):
            first = step * global_batch + rank * args.batch_size
            idx = order[first : first + args.batch_size]
            optimizer.zero_grad()
            loss = nn.functional.nll_loss(ddp(x_train[idx].to(on)), y_train[idx].to(on))
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * len(idx)
        train_time = time.perf_counter() - start
        (running,) = all_sum([running], on)
        test_loss, accuracy = evaluate(ddp, x_test, y_test, rank, world, args.eval_batch_size, on)
        row = {
            "epoch": epoch,
            "train_loss": running / (steps * global_batch),
            "test_loss": test_loss,
            "test_error": 1.0 - accuracy,
            "accuracy": accuracy,
            "train_seconds": train_time,
            "seconds_per_1000": 1000 * train_time / max(1, steps * global_batch),
        }
        history.append(row)
        if rank == 0:
            print(
                f"epoch {epoch:2d}  train loss {row['train_loss']:.4f}  test loss "
                f"{test_loss:.4f}  accuracy {100 * accuracy:.2f}%  ({train_time:.1f} s, "
                f"{row['seconds_per_1000']:.2f} s / 1000 images)",
                flush=True,
            )
    digests = replica_digests(model)
    identical = len(set(digests)) == 1
    if rank == 0:
        print(
            f"replicas bit-identical: {identical} (state SHA-256 {digests[0][:16]}... on "
            f"{world} ranks)",
            flush=True,
        )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        summary = {
            "args": {k: v for k, v in vars(args).items()},
            "torch": torch.__version__,
            "world_size": world,
            "history": history,
            "replica_digests": digests,
            "replicas_identical": identical,
        }
        (out / f"{LABEL}.json").write_text(json.dumps(summary, indent=1))
        print(f"wrote {out / LABEL}.json", flush=True)
    if not identical:
        raise SystemExit(f"the replicas differ: {digests}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world-size", type=int, default=2, help="processes (ranks)")
    parser.add_argument("--dist-backend", default="gloo", choices=["gloo", "nccl"])
    parser.add_argument("--device", default="constant-step", choices=DEVICES)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="images per rank and step")
    parser.add_argument("--eval-batch-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train images")
    add_data_arguments(parser)
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"folder for the JSON file ({DEFAULT_OUT})"
    )
    add_thread_argument(parser)
    args = parser.parse_args(argv)
    if args.world_size < 1:
        raise SystemExit(f"--world-size: expected at least 1, got {args.world_size}")
    if args.batch_size < 1 or args.eval_batch_size < 1:
        raise SystemExit("--batch-size and --eval-batch-size: expected at least 1")
    port = free_port()
    if args.world_size == 1:
        worker(0, args, port)  # in this process: no spawn
    else:
        load_data(args)  # a missing data folder ends here with one line, not in every rank
        mp.spawn(worker, args=(args, port), nprocs=args.world_size)
    summary: dict[str, Any] = json.loads((Path(args.out) / f"{LABEL}.json").read_text())
    return summary


if __name__ == "__main__":
    main()
