"""Resident memory growth per call of the gpu backend: prints KB/call for a training-step loop
(forward, backward, update on one tile), a create/forward/drop loop, a create/drop loop (no
forward) and a set_weights loop.

    PYTHONPATH=python python benches/python/bench_gpu_memory.py [--calls 10000] [--size 8]
        [--batch 4] [--warmup 200] [--backend gpu]

Each loop runs in its own subprocess (a fresh process, so one loop's allocations do not hide
another's), warms up, then samples VmRSS from /proc/self/status before and after `--calls`
calls and every tenth of the way (the samples show whether growth is steady or a one-time
step). A leak shows as a steady positive KB/call; allocator noise stays within about ±1 KB/call
at 10 000 calls. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

LOOPS = ("train_step", "create_drop", "create_only", "set_weights")


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_loop(loop: str, calls: int, size: int, batch: int, warmup: int, backend: str) -> dict:
    import torch

    from rpusim.tiles import AnalogTile

    torch.manual_seed(0)
    x = torch.randn(batch, size)
    d = torch.randn(batch, size)
    w = torch.randn(size, size) * 0.1
    tile = AnalogTile(size, size, backend=backend, seed=1)

    def train_step() -> None:
        tile.forward(x)
        tile.backward(d)
        tile.update(x, d, 0.01)

    def create_drop() -> None:
        other = AnalogTile(size, size, backend=backend, seed=1)
        other.forward(x)
        del other

    def create_only() -> None:
        other = AnalogTile(size, size, backend=backend, seed=1)
        del other

    def set_weights() -> None:
        tile.set_weights(w)

    loops = {
        "train_step": train_step,
        "create_drop": create_drop,
        "create_only": create_only,
        "set_weights": set_weights,
    }
    call = loops[loop]
    for _ in range(warmup):
        call()
    tile.synchronize()
    samples = [rss_kb()]
    start = time.perf_counter()
    every = max(calls // 10, 1)
    for i in range(1, calls + 1):
        call()
        if i % every == 0:
            samples.append(rss_kb())
    tile.synchronize()
    elapsed = time.perf_counter() - start
    end = rss_kb()
    return {
        "loop": loop,
        "calls": calls,
        "kb_per_call": (end - samples[0]) / calls,
        "rss_start_kb": samples[0],
        "rss_end_kb": end,
        "samples_kb": samples,
        "ms_per_call": elapsed / calls * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--backend", default="gpu")
    parser.add_argument("--loops", default=",".join(LOOPS))
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        result = run_loop(args.only, args.calls, args.size, args.batch, args.warmup, args.backend)
        print(json.dumps(result))
        return
    import rpusim

    print(f"rpusim {rpusim.__file__}; backends {rpusim.backends()}")
    print(
        f"{args.size}x{args.size} tile, batch {args.batch}, {args.calls} calls after "
        f"{args.warmup} warm-up calls, backend {args.backend}"
    )
    print()
    print("| loop | KB/call | RSS start → end (MiB) | ms/call |")
    print("|---|---:|---|---:|")
    for loop in args.loops.split(","):
        command = [
            sys.executable,
            __file__,
            "--only",
            loop,
            "--calls",
            str(args.calls),
            "--size",
            str(args.size),
            "--batch",
            str(args.batch),
            "--warmup",
            str(args.warmup),
            "--backend",
            args.backend,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {loop} | {r['kb_per_call']:.2f} | {r['rss_start_kb'] / 1024:.1f} → "
            f"{r['rss_end_kb'] / 1024:.1f} | {r['ms_per_call']:.2f} |"
        )
        print(f"<!-- {loop} samples (KB): {r['samples_kb']} -->")


if __name__ == "__main__":
    main()
