"""Hardware-aware LeNet5 / MNIST with the reference's example-06 settings without input ranges
(InferenceRPUConfig: noise and bound management NONE, out_bound 10, ω = 1, learned column-wise
output scales, channel-wise remapping, layer-Gaussian clip 2.5, ADD_NORMAL modifier 0.1,
PCMLikeNoiseModel(g_max=25), batch 50, lr 0.1), run in either simulator on the same data and seed;
then the test accuracy after programming and drift to each time.

This is the comparison that found the missing saturation rule (no gradient through outputs at
the ADC bound): without it rpusim trained to 80.8 % against the reference's 91.0 % (10 000
images, one epoch) and its accuracy rose with drift time.

Run from the repository root (the reference's venv for ``--pkg aihwkit``)::

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python3 benches/python/hwa_out_bound_peer.py \
        --pkg rpusim --n 60000 --test 10000 --out results/hwa_out_bound_rpusim.json
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE /tmp/peer-aihwkit/bin/python \
        benches/python/hwa_out_bound_peer.py --pkg aihwkit --n 60000 --test 10000 \
        --out results/hwa_out_bound_aihwkit.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root: Path, split: str, n: int):
    prefix = "train" if split == "train" else "t10k"
    folder = root / "mnist"
    x = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")[:n].astype(np.float32) / 255.0
    y = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")[:n].astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


p = argparse.ArgumentParser()
p.add_argument("--pkg", default="rpusim")
p.add_argument("--n", type=int, default=10000)
p.add_argument("--test", type=int, default=2000)
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--out-bound", type=float, default=10.0)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--batch", type=int, default=50)
p.add_argument("--no-learn-out", action="store_true")
p.add_argument("--no-remap", action="store_true")
p.add_argument("--times", default="0,1,20,1000,1e5,1e7")
p.add_argument("--data-dir", default="/work/shared/data")
p.add_argument("--out", default="")
args = p.parse_args()
torch.set_num_threads(1)

if args.pkg == "aihwkit":
    from aihwkit.inference import PCMLikeNoiseModel
    from aihwkit.nn import AnalogConv2d, AnalogLinear, AnalogSequential
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import (
        BoundManagementType,
        InferenceRPUConfig,
        NoiseManagementType,
        WeightClipType,
        WeightModifierType,
        WeightRemapType,
    )
else:
    sys.path.insert(0, "python")
    from rpusim.configs import (
        BoundManagementType,
        InferenceRPUConfig,
        NoiseManagementType,
        WeightClipType,
        WeightModifierType,
        WeightRemapType,
    )
    from rpusim.inference import PCMLikeNoiseModel
    from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
    from rpusim.optim import AnalogSGD

c = InferenceRPUConfig()
c.mapping.digital_bias = True
c.mapping.out_scaling_columnwise = True
c.mapping.learn_out_scaling = not args.no_learn_out
c.mapping.weight_scaling_omega = 1.0
c.mapping.weight_scaling_columnwise = False
c.mapping.max_input_size = 512
c.mapping.max_output_size = 512
c.noise_model = PCMLikeNoiseModel(g_max=25.0)
if not args.no_remap:
    c.remap.type = WeightRemapType.CHANNELWISE_SYMMETRIC
c.clip.type = WeightClipType.LAYER_GAUSSIAN
c.clip.sigma = 2.5
c.forward.noise_management = NoiseManagementType.NONE
c.forward.bound_management = BoundManagementType.NONE
c.forward.out_bound = args.out_bound
c.modifier.type = WeightModifierType.ADD_NORMAL
c.modifier.std_dev = 0.1

torch.manual_seed(1)
model = AnalogSequential(
    AnalogConv2d(1, 16, kernel_size=5, stride=1, rpu_config=c),
    nn.Tanh(),
    nn.MaxPool2d(2),
    AnalogConv2d(16, 32, kernel_size=5, stride=1, rpu_config=c),
    nn.Tanh(),
    nn.MaxPool2d(2),
    nn.Tanh(),
    nn.Flatten(),
    AnalogLinear(512, 128, rpu_config=c),
    nn.Tanh(),
    AnalogLinear(128, 10, rpu_config=c),
    nn.LogSoftmax(dim=1),
)
opt = AnalogSGD(model.parameters(), lr=args.lr)
opt.regroup_param_groups(model)
crit = nn.CrossEntropyLoss()
root = Path(args.data_dir)
xt, yt = load(root, "train", args.n)
xv, yv = load(root, "test", args.test)


@torch.no_grad()
def evaluate():
    model.eval()
    ok = 0
    for i in range(0, len(xv), 500):
        ok += int((model(xv[i : i + 500]).argmax(1) == yv[i : i + 500]).sum())
    return ok / len(xv)


res = {"args": vars(args), "epochs": []}
g = torch.Generator().manual_seed(1)
for epoch in range(args.epochs):
    model.train()
    perm = torch.randperm(len(xt), generator=g)
    t0 = time.time()
    total = 0.0
    for i in range(0, len(xt), args.batch):
        idx = perm[i : i + args.batch]
        opt.zero_grad()
        loss = crit(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    acc = evaluate()
    res["epochs"].append({"loss": total / len(xt), "acc": acc, "s": time.time() - t0})
    print(args.pkg, "epoch", epoch, total / len(xt), acc, time.time() - t0, flush=True)
res["after_training"] = evaluate()
res["drift"] = {}
for t in [float(v) for v in args.times.split(",")]:
    model.drift_analog_weights(t)
    res["drift"][t] = evaluate()
    print(args.pkg, "t", t, res["drift"][t], flush=True)
if args.out:
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
print(json.dumps(res))
