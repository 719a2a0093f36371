"""The examples: the main one trains an analog MLP on the bundled digits to >= 90% test
accuracy; the LeNet5 one runs on a slice of MNIST and writes its results; without data they
say so in one line."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Iterator

import pytest
import torch

from rpusim.examples import train_mlp


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    """The examples set torch's thread count for the process; the other tests keep theirs."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_train_mlp_reaches_ninety_percent() -> None:
    accuracy = train_mlp.main(["--epochs", "20"])
    assert accuracy >= 0.90


def test_lenet5_example_runs_and_writes_results(tmp_path: Path, data_root: Path) -> None:
    from rpusim.examples import lenet5

    history = lenet5.main(
        [
            *("--epochs", "1", "--limit", "400", "--no-progress"),
            *("--data-dir", str(data_root), "--out", str(tmp_path)),
        ]
    )
    assert len(history) == 1 and 0.0 <= history[0]["accuracy"] <= 1.0
    assert history[0]["test_error"] < 0.9, "400 images should already beat chance"
    saved = json.loads((tmp_path / "lenet5_mnist_constant-step.json").read_text())
    assert saved["history"][0]["epoch"] == 1


def test_lenet5_resumed_from_a_checkpoint_equals_an_unbroken_run(
    tmp_path: Path, data_root: Path
) -> None:
    """Two epochs in one go, and one epoch + a resumed second one, on a Tiki-Taka compound
    (hidden arrays, transfer counters, several RNG streams): the same losses bit for bit."""
    from rpusim.examples import lenet5

    common = ["--device", "tiki-taka-reram-sb", "--limit", "40", "--no-progress"]
    common += ["--data-dir", str(data_root)]
    unbroken = lenet5.main([*common, "--epochs", "2", "--out", str(tmp_path / "a")])
    checkpoint = str(tmp_path / "run.pt")
    broken = [*common, "--out", str(tmp_path / "b"), "--checkpoint", checkpoint]
    lenet5.main([*broken, "--epochs", "1"])
    resumed = lenet5.main([*broken, "--epochs", "2"])
    keys = ("epoch", "train_loss", "test_loss", "accuracy")
    assert [[row[k] for k in keys] for row in resumed] == [
        [row[k] for k in keys] for row in unbroken
    ]
    with pytest.raises(ValueError, match="another run"):
        lenet5.main([*broken, "--epochs", "3", "--lr", "0.02"])


def test_inference_pcm_example_runs_and_writes_results(tmp_path: Path, data_root: Path) -> None:
    from rpusim.examples import inference_pcm

    summary = inference_pcm.main(
        [
            *("--limit", "600", "--test-limit", "300", "--float-epochs", "1"),
            *("--hwa-epochs", "1", "--seeds", "2", "--times", "1,31536000"),
            *("--data-dir", str(data_root), "--out", str(tmp_path)),
        ]
    )
    saved = json.loads((tmp_path / "inference_pcm_lenet5_mnist.json").read_text())
    assert saved["float_accuracy"] == summary["float_accuracy"] > 0.5
    for model_key in ("float_to_analog", "fine_tuned_no_noise", "hwa"):
        for comp_key in ("compensated", "uncompensated"):
            sweep = saved["sweeps"][model_key][comp_key]
            assert list(sweep) == ["1", "3.1536e+07"]
            assert all(len(cell["runs"]) == 2 for cell in sweep.values())
    # Programmed one second ago, the converted network is still close to the float one.
    converted = saved["sweeps"]["float_to_analog"]["compensated"]["1"]["mean"]
    assert abs(converted - saved["float_accuracy"]) < 0.15


@pytest.mark.parametrize("example", ["lenet5", "inference_pcm"])
def test_missing_data_is_one_line_naming_the_remedies(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"rpusim.examples.{example}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RPUSIM_DATA", raising=False)
    for argv, folder in (([], "data"), (["--data-dir", "elsewhere"], "elsewhere")):
        with pytest.raises(SystemExit) as exc:
            module.main(argv)
        message = str(exc.value)
        assert "\n" not in message and f"no mnist files in {folder}:" in message
        for remedy in ("--data-dir DIR", "RPUSIM_DATA=DIR", "--download"):
            assert remedy in message
    monkeypatch.setenv("RPUSIM_DATA", "from-env")
    with pytest.raises(SystemExit, match="no mnist files in from-env:"):
        module.main([])
    assert not (tmp_path / "from-env").exists() and not (tmp_path / "runs").exists()


def test_results_go_to_runs_unless_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rpusim.examples import device_responses

    monkeypatch.chdir(tmp_path)
    assert device_responses.main(["--steps", "5"]) == Path("runs/device_responses.png")
    assert (tmp_path / "runs" / "device_responses.png").is_file()


def test_examples_use_one_torch_thread_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from rpusim.examples.common import set_torch_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    torch.set_num_threads(2)
    set_torch_threads(None)
    assert torch.get_num_threads() == 1
    set_torch_threads(2)
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    set_torch_threads(None)
    assert torch.get_num_threads() == 2
