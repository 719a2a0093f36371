"""What the MNIST examples share: the data folder (``--data-dir``, else ``$RPUSIM_DATA``, else
``./data``; ``--download`` fetches missing files into it), one line instead of a traceback when
the data is missing, and the output folder (``--out``, by default ``runs/`` in the working
directory: the committed ``results/`` are only written when named).
"""

from __future__ import annotations

import argparse

from torch import Tensor

from rpusim.datasets import DATA_ENV, MNIST, FashionMNIST, default_root

# Where the examples write their JSON and PNG files unless told otherwise.
DEFAULT_OUT = "runs"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"folder with the idx .gz files (default: ${DATA_ENV}, else ./data)",
    )
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    parser.add_argument(
        "--download", action="store_true", help="fetch missing data files into --data-dir"
    )


def load_data(args: argparse.Namespace) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Train images, train labels, test images, test labels of ``args.dataset``; exits with one
    line naming the folder and the remedies when the files are not there."""
    root = args.data_dir if args.data_dir is not None else str(default_root())
    dataset_cls = MNIST if args.dataset == "mnist" else FashionMNIST
    try:
        x_train, y_train = dataset_cls(root, True, args.download).tensors()
        x_test, y_test = dataset_cls(root, False, args.download).tensors()
    except FileNotFoundError:
        raise SystemExit(
            f"no {args.dataset} files in {root}: pass --data-dir DIR or set {DATA_ENV}=DIR "
            f"(a folder with the four idx .gz files), or add --download to fetch them there"
        ) from None
    except RuntimeError as e:
        raise SystemExit(f"--download failed: {e}") from None
    return x_train, y_train, x_test, y_test
