"""MNIST / Fashion-MNIST from the original idx .gz files (the ``data_root`` fixture:
$RPUSIM_DATA, else ../shared/data beside the checkout)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from rpusim.datasets import MNIST, FashionMNIST, default_root, download, read_idx


def test_mnist_has_the_published_counts(data_root: Path) -> None:
    train = MNIST(data_root, train=True)
    test = MNIST(data_root, train=False)
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == torch.uint8
    assert int(train.targets[0]) == 5 and int(test.targets[0]) == 7
    assert torch.bincount(test.targets).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert float(image.min()) == 0.0 and float(image.max()) == 1.0 and label == 5
    x, y = test.tensors()
    assert x.shape == (10000, 1, 28, 28) and torch.equal(y, test.targets)


def test_fashion_mnist_is_balanced(data_root: Path) -> None:
    test = FashionMNIST(data_root, train=False, transform=lambda t: t * 2 - 1)
    assert torch.bincount(test.targets).tolist() == [1000] * 10
    assert float(test[0][0].min()) == -1.0


def test_missing_files_name_the_file_and_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz.*download=True"):
        MNIST(tmp_path)
    with pytest.raises(ValueError, match="name"):
        download(tmp_path, "cifar")


def test_corrupt_idx_files_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x12\x34\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(ValueError, match="header says"):
        read_idx(short)


def test_download_checks_md5(data_root: Path, tmp_path: Path) -> None:
    # A file:// mirror stands in for the network.
    mirror = (data_root / "mnist").as_uri() + "/"
    folder = download(tmp_path, "mnist", mirrors=[mirror])
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".gz") == sorted(
        p.name for p in (data_root / "mnist").glob("*.gz")
    )
    assert torch.equal(MNIST(tmp_path, train=False).targets, MNIST(data_root, train=False).targets)
    wrong = (data_root / "fashion-mnist").as_uri() + "/"
    with pytest.raises(RuntimeError, match="MD5"):
        download(tmp_path / "other", "mnist", mirrors=[wrong])


def test_default_root_is_rpusim_data_else_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPUSIM_DATA", "/some/where")
    assert default_root() == Path("/some/where")
    monkeypatch.delenv("RPUSIM_DATA")
    assert default_root() == Path("data")
