"""Train a character-level analog LSTM language model and report the validation perplexity per
epoch (plus a JSON file and a log).

    python -m rpusim.examples.char_lstm --config constant-step [--epochs 12] [--text FILE]
        [--hidden 64] [--layers 1] [--seq-len 32] [--batch-size 16] [--lr 5.0]
        [--steps-per-epoch 200] [--backend cpu|gpu] [--out DIR]

The text: ``--text FILE`` (UTF-8), else the docstrings of a fixed list of Python standard-library
modules (``STDLIB_MODULES``: each module's docstring, then those of its public functions and
classes and their methods, in sorted name order), which every Python installation has, so the
default needs no download. The docstrings change between Python versions: the JSON records the
Python version and the corpus' SHA-256 so that a run can be matched to its text. The first 90 %
of the characters train, the last 10 % validate.

The model: one-hot characters → ``AnalogRNN(AnalogLSTMCell, vocab, hidden, num_layers=layers)``
→ ``AnalogLinear(hidden, vocab)``; cross entropy on the next character; ``AnalogSGD``; every
weight in tiles of ``--config`` (``floating-point`` is the exact baseline through the same code).
Each step trains on ``batch-size`` random windows of ``seq-len`` characters; every time step's
(x, d) pairs of a window go into one update per tile. Validation runs the model over 16
contiguous streams of the validation text, carrying the state from window to window, and
reports ``exp(mean cross entropy)``. Results go to ``--out`` (default ``runs/``) as
``char_lstm_<config>.json`` and ``.log``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import inspect
import json
import math
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rpusim import presets
from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
    SoftBoundsDevice,
)
from rpusim.examples.common import DEFAULT_OUT, add_thread_argument, set_torch_threads
from rpusim.nn import AnalogLinear, AnalogLSTMCell, AnalogRNN
from rpusim.optim import AnalogSGD

# Pure-Python standard-library modules present from Python 3.9 on (no platform-only ones).
STDLIB_MODULES = (
    "argparse",
    "base64",
    "bisect",
    "calendar",
    "collections",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email.message",
    "enum",
    "fractions",
    "functools",
    "getopt",
    "gettext",
    "glob",
    "heapq",
    "hmac",
    "inspect",
    "ipaddress",
    "json",
    "logging",
    "mailbox",
    "operator",
    "optparse",
    "pathlib",
    "pickle",
    "pprint",
    "queue",
    "random",
    "shlex",
    "shutil",
    "statistics",
    "string",
    "subprocess",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "timeit",
    "tokenize",
    "typing",
    "unittest.case",
    "urllib.parse",
    "uuid",
    "zipfile",
)

CONFIGS: dict[str, Any] = {
    "floating-point": FloatingPointRPUConfig,
    "constant-step": lambda: SingleRPUConfig(device=ConstantStepDevice()),
    "soft-bounds": lambda: SingleRPUConfig(device=SoftBoundsDevice()),
    "idealized": presets.IdealizedPreset,
    "reram-sb": presets.ReRamSBPreset,
    "ecram": presets.EcRamPreset,
    "tiki-taka-ecram": presets.TikiTakaEcRamPreset,
    "inference": InferenceRPUConfig,
}
VALIDATION_STREAMS = 16


def _docstrings_of(module: Any) -> list[str]:
    """The module's docstring, then its own public functions' and classes' (with methods)."""
    docs = [inspect.getdoc(module) or ""]
    for name in sorted(vars(module)):
        obj = vars(module)[name]
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            docs.append(inspect.getdoc(obj) or "")
        elif inspect.isclass(obj):
            docs.append(inspect.getdoc(obj) or "")
            for method_name in sorted(vars(obj)):
                method = vars(obj)[method_name]
                if not method_name.startswith("_") and inspect.isfunction(method):
                    docs.append(inspect.getdoc(method) or "")
    return [doc for doc in docs if doc]


def stdlib_docstrings() -> str:
    """The default corpus: the docstrings of ``STDLIB_MODULES``, in that order, ASCII only."""
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some modules warn about deprecated members on access
        for name in STDLIB_MODULES:
            parts += _docstrings_of(importlib.import_module(name))
    text = "\n\n".join(parts)
    return text.encode("ascii", "ignore").decode("ascii")


def load_text(path: str | None) -> tuple[str, str]:
    """(text, description of where it came from)."""
    if path is None:
        return stdlib_docstrings(), f"docstrings of {len(STDLIB_MODULES)} stdlib modules"
    try:
        return Path(path).read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"--text: cannot read {path}: {e}") from None


class CharLSTM(nn.Module):
    """One-hot characters → analog LSTM → analog linear decoder (logits over the vocabulary)."""

    def __init__(
        self, vocab: int, hidden: int, layers: int, rpu_config: Any, backend: str | None
    ) -> None:
        super().__init__()
        self.vocab = vocab
        self.lstm = AnalogRNN(
            AnalogLSTMCell, vocab, hidden, rpu_config=rpu_config, num_layers=layers, backend=backend
        )
        self.decoder = AnalogLinear(hidden, vocab, rpu_config=rpu_config, backend=backend)

    def forward(self, chars: Tensor, states: Any = None) -> tuple[Tensor, Any]:
        """chars ``[seq, batch]`` (int64) → logits ``[seq, batch, vocab]`` and final states."""
        one_hot = nn.functional.one_hot(chars, self.vocab).float()
        out, states = self.lstm(one_hot, states)
        return self.decoder(out), states


def _detach(states: Any) -> Any:
    if isinstance(states, Tensor):
        return states.detach()
    if isinstance(states, tuple) and hasattr(states, "_fields"):
        return type(states)(*(_detach(s) for s in states))
    return type(states)(_detach(s) for s in states)


def validation_perplexity(model: CharLSTM, data: Tensor, seq_len: int) -> tuple[float, float]:
    """(mean cross entropy, perplexity) over ``VALIDATION_STREAMS`` contiguous streams."""
    length = (len(data) - 1) // VALIDATION_STREAMS
    inputs = data[: length * VALIDATION_STREAMS].view(VALIDATION_STREAMS, length).t()
    targets = data[1 : length * VALIDATION_STREAMS + 1].view(VALIDATION_STREAMS, length).t()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    model.eval()
    total, count, states = 0.0, 0, None
    with torch.no_grad():
        for k in range(0, length, seq_len):
            logits, states = model(inputs[k : k + seq_len], states)
            chunk = targets[k : k + seq_len]
            total += float(loss_fn(logits.reshape(-1, model.vocab), chunk.reshape(-1)))
            count += chunk.numel()
    model.train()
    mean = total / count
    return mean, math.exp(mean)


def sample(model: CharLSTM, chars: list[str], prompt: str, length: int, seed: int) -> str:
    """``length`` characters drawn from the model (temperature 0.8) after ``prompt``."""
    index = {c: i for i, c in enumerate(chars)}
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    out = []
    with torch.no_grad():
        ids = torch.tensor([[index[c]] for c in prompt if c in index] or [[0]])
        logits, states = model(ids)
        for _ in range(length):
            probs = torch.softmax(logits[-1, 0] / 0.8, 0)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            out.append(chars[nxt])
            logits, states = model(torch.tensor([[nxt]]), states)
    model.train()
    return prompt + "".join(out)


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="constant-step", choices=list(CONFIGS))
    parser.add_argument("--text", default=None, help="a UTF-8 text file (default: stdlib docs)")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5.0)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument(
        "--val-chars", type=int, default=20000, help="validate on the first N validation chars"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sample-chars", type=int, default=160, help="characters to generate at the end"
    )
    parser.add_argument("--backend", default=None, choices=["cpu", "gpu"])
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"folder for the JSON and log files ({DEFAULT_OUT})"
    )
    add_thread_argument(parser)
    args = parser.parse_args(argv)
    set_torch_threads(args.torch_threads)

    text, source = load_text(args.text)
    chars = sorted(set(text))
    if len(text) < 10 * (args.seq_len + 1):
        raise SystemExit(f"--text: {len(text)} characters are too few for --seq-len {args.seq_len}")
    index = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:][: args.val_chars + 1]

    torch.manual_seed(args.seed)
    model = CharLSTM(len(chars), args.hidden, args.layers, CONFIGS[args.config](), args.backend)
    optimizer = AnalogSGD(model.parameters(), lr=args.lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    window_gen = torch.Generator().manual_seed(args.seed)
    offsets = torch.arange(args.seq_len + 1)

    label = f"char_lstm_{args.config}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_lines: list[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        log_lines.append(line)
        (out / f"{label}.log").write_text("\n".join(log_lines) + "\n")

    corpus: dict[str, Any] = {
        "source": source,
        "characters": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "vocabulary": len(chars),
        "train_characters": len(train),
        "validation_characters": len(val) - 1,
        "python": platform.python_version(),
    }
    log(
        f"{label}: {source}, {len(text)} characters (sha256 {corpus['sha256'][:12]}), "
        f"vocabulary {len(chars)}, hidden {args.hidden} x {args.layers} layer(s), "
        f"seq {args.seq_len}, batch {args.batch_size}, lr {args.lr}"
    )
    _, start_ppl = validation_perplexity(model, val, args.seq_len)
    log(f"epoch  0  validation perplexity {start_ppl:.2f}")
    history: list[dict[str, float]] = []
    summary: dict[str, Any] = {"args": vars(args), "torch": torch.__version__, "corpus": corpus}
    summary["start_val_perplexity"] = start_ppl
    summary["history"] = history
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        running = 0.0
        for _ in range(args.steps_per_epoch):
            starts = torch.randint(
                0, len(train) - args.seq_len - 1, (args.batch_size,), generator=window_gen
            )
            windows = train[starts[:, None] + offsets].t()  # [seq + 1, batch]
            optimizer.zero_grad()
            logits, _ = model(windows[:-1])
            loss = loss_fn(logits.reshape(-1, len(chars)), windows[1:].reshape(-1))
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
        train_time = time.perf_counter() - start
        val_loss, val_ppl = validation_perplexity(model, val, args.seq_len)
        row = {
            "epoch": epoch,
            "train_loss": running / args.steps_per_epoch,
            "val_loss": val_loss,
            "val_perplexity": val_ppl,
            "train_seconds": train_time,
        }
        history.append(row)
        log(
            f"epoch {epoch:2d}  train loss {row['train_loss']:.4f}  validation loss "
            f"{val_loss:.4f}  perplexity {val_ppl:.2f}  ({train_time:.1f} s)"
        )
        (out / f"{label}.json").write_text(json.dumps(summary, indent=1))
    text_sample = sample(model, chars, "Return the ", args.sample_chars, args.seed)
    log("sample: " + json.dumps(text_sample))
    summary["sample"] = text_sample
    (out / f"{label}.json").write_text(json.dumps(summary, indent=1))
    log(f"wrote {out / label}.json and .log")
    return history


if __name__ == "__main__":
    main()
