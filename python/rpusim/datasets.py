"""MNIST and Fashion-MNIST from the original idx ``.gz`` files, without torchvision.

The four files of each dataset (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) are looked up in ``root``,
``root/<name>`` (``mnist``, ``fashion-mnist``) and torchvision's ``root/MNIST/raw`` layout.
With ``download=True`` missing files are fetched from the usual public mirrors into
``root/<name>`` and checked against the published MD5 sums. ``default_root()`` is the folder the
examples use when not told: ``$RPUSIM_DATA`` if set, else ``./data``.

    from rpusim.datasets import MNIST
    train = MNIST("data", train=True, download=True)  # images [60000, 28, 28] uint8, targets int64
    x, y = train[0]                                  # float32 [1, 28, 28] in [0, 1], int
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

PathLike = Union[str, "os.PathLike[str]"]

FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}

# Published MD5 sums of the original files (as in torchvision's resources lists).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

# Folder names under which a dataset's files may lie inside ``root``.
FOLDERS = {
    "mnist": ["", "mnist", "MNIST/raw"],
    "fashion-mnist": ["", "fashion-mnist", "FashionMNIST/raw"],
}

# The environment variable naming the data folder of the examples.
DATA_ENV = "RPUSIM_DATA"

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32}


def default_root() -> Path:
    """``$RPUSIM_DATA`` when it is set, else ``data`` (relative to the working directory)."""
    return Path(os.environ.get(DATA_ENV) or "data")


def read_idx(path: PathLike) -> np.ndarray:
    """Parses an idx file (gzip-compressed when its name ends in ``.gz``): two zero bytes, a type
    code, the number of dimensions, one big-endian uint32 per dimension, then the data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an idx file (magic bytes {raw[:4]!r})")
    dims = raw[3]
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(dims))
    dtype = np.dtype(IDX_TYPES[raw[2]]).newbyteorder(">")
    count = int(np.prod(shape)) if shape else 0
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"{path}: header says {shape} ({count * dtype.itemsize} bytes of data), "
            f"the file holds {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def md5sum(path: PathLike) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_file(root: PathLike, name: str, filename: str) -> Optional[Path]:
    for folder in FOLDERS[name]:
        candidate = Path(root) / folder / filename
        if candidate.is_file():
            return candidate
    return None


def download(root: PathLike, name: str, mirrors: Optional[list[str]] = None) -> Path:
    """Fetches the four files of ``name`` that are missing into ``root/<name>`` from the first
    mirror that has them, checking each file's MD5. Returns the folder."""
    if name not in MD5:
        raise ValueError(f"name: expected one of {sorted(MD5)}, got {name!r}")
    target = Path(root) / name
    target.mkdir(parents=True, exist_ok=True)
    for filename, expected in MD5[name].items():
        if find_file(root, name, filename) is not None:
            continue
        errors = []
        for mirror in mirrors or MIRRORS[name]:
            url = mirror.rstrip("/") + "/" + filename
            try:
                with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
                    with urllib.request.urlopen(url, timeout=60) as response:
                        shutil.copyfileobj(response, tmp)
                got = md5sum(tmp.name)
                if got != expected:
                    os.unlink(tmp.name)
                    errors.append(f"{url}: MD5 {got}, expected {expected}")
                    continue
                os.replace(tmp.name, target / filename)
                break
            except OSError as e:
                if os.path.exists(tmp.name):
                    os.unlink(tmp.name)
                errors.append(f"{url}: {e}")
        else:
            raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(errors))
    return target


def load(
    root: PathLike, name: str = "mnist", train: bool = True, download_missing: bool = False
) -> tuple[Tensor, Tensor]:
    """Images ``[N, 28, 28]`` uint8 and labels ``[N]`` int64 of one split of ``name``
    (``"mnist"`` or ``"fashion-mnist"``)."""
    if name not in MD5:
        raise ValueError(f"name: expected one of {sorted(MD5)}, got {name!r}")
    split = "train" if train else "test"
    paths = {}
    for part in ("images", "labels"):
        filename = FILES[(split, part)]
        path = find_file(root, name, filename)
        if path is None and download_missing:
            download(root, name)
            path = find_file(root, name, filename)
        if path is None:
            looked = ", ".join(str(Path(root) / f / filename) for f in FOLDERS[name])
            raise FileNotFoundError(
                f"{name} {split} {part}: {filename} not found (looked in {looked}); "
                f"pass download=True to fetch it"
            )
        paths[part] = path
    images = read_idx(paths["images"])
    labels = read_idx(paths["labels"])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{name} {split}: images {images.shape} and labels {labels.shape} do not match"
        )
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


class MNIST(Dataset[tuple[Tensor, int]]):
    """MNIST digits: ``dataset[k]`` is ``(image, label)`` with the image a float32 ``[1, 28, 28]``
    tensor in [0, 1] (then ``transform``, if given). ``data`` / ``targets`` hold the raw tensors."""

    name = "mnist"

    def __init__(
        self,
        root: PathLike,
        train: bool = True,
        download: bool = False,
        transform: Optional[Callable[[Tensor], Tensor]] = None,
    ) -> None:
        self.root = Path(root)
        self.train = train
        self.transform = transform
        self.data, self.targets = load(root, self.name, train, download)

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.data[index].to(torch.float32).div_(255.0).unsqueeze(0)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def tensors(self) -> tuple[Tensor, Tensor]:
        """All images as float32 ``[N, 1, 28, 28]`` in [0, 1] (no transform) and the labels."""
        return self.data.to(torch.float32).div_(255.0).unsqueeze(1), self.targets


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): same format and interface as :class:`MNIST`."""

    name = "fashion-mnist"


__all__ = ["MNIST", "FashionMNIST", "default_root", "download", "load", "read_idx"]
