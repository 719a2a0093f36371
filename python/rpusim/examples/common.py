"""What the examples share: the data folder (``--data-dir``, else ``$RPUSIM_DATA``, else
``./data``; ``--download`` fetches missing files into it), one line instead of a traceback when
the data is missing, the output folder (``--out``, by default ``runs/`` in the working
directory: the committed ``results/`` are only written when named), and torch's thread count
(``--torch-threads``).
"""

from __future__ import annotations

import argparse
import os

import torch
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


def add_thread_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch's intra-op threads (default 1, unless OMP_NUM_THREADS or OMP_WAIT_POLICY "
        "is set); the analog tiles run on rayon's own threads",
    )


def set_torch_threads(threads: int | None) -> None:
    """One torch thread unless told otherwise (for the whole process). The analog tiles compute
    on rayon's threads; torch's OpenMP workers spin-wait after each of the small float ops in
    between and take the cores from them: LeNet5 on 2 busy cores took 19-28 s per 1000 images
    with torch's 2 threads, 4.1-6.3 s with one. ``OMP_WAIT_POLICY=PASSIVE`` in the environment
    (read when torch loads) avoids the spinning with any thread count."""
    if threads is None:
        if "OMP_NUM_THREADS" in os.environ or "OMP_WAIT_POLICY" in os.environ:
            return
        threads = 1
    torch.set_num_threads(threads)
