"""One PNG comparing the test-error (and loss) curves of several runs of the examples, from the
JSON files they write.

    python benches/python/plot_runs.py results/lenet5_mnist_constant-step.json \
        results/lenet5_mnist_reram-sb.json --out results/lenet5_mnist_comparison.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rpusim.plot import plot_training_curves


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="JSON files written by the examples")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default="LeNet5 on MNIST: test error per epoch")
    args = parser.parse_args(argv)
    histories, labels = [], []
    for name in args.runs:
        summary = json.loads(Path(name).read_text())
        histories.append(summary["history"])
        labels.append(summary["args"].get("device", Path(name).stem))
    plot_training_curves(histories[0], args.title, args.out, labels=labels, histories=histories)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
