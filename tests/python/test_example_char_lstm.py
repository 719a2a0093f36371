"""The character-level LSTM example: a few steps on the default corpus and on a --text file write
the JSON and log, reproducibly; a missing text file is one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from rpusim.examples import char_lstm

FAST = [
    *("--epochs", "2", "--steps-per-epoch", "3", "--hidden", "8", "--seq-len", "8"),
    *("--batch-size", "4", "--val-chars", "300", "--lr", "1.0", "--sample-chars", "20"),
]


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _without_times(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "train_seconds"} for row in history]


def test_char_lstm_runs_writes_results_and_is_reproducible(tmp_path: Path) -> None:
    history = char_lstm.main([*FAST, "--out", str(tmp_path / "a")])
    assert [row["epoch"] for row in history] == [1, 2]
    saved = json.loads((tmp_path / "a" / "char_lstm_constant-step.json").read_text())
    corpus = saved["corpus"]
    assert corpus["source"].startswith("docstrings of") and corpus["characters"] > 100_000
    assert corpus["vocabulary"] <= 128  # ASCII only
    # Near the start a model knows little: perplexity between 1 and a bit above the vocabulary.
    for row in saved["history"]:
        assert 1.0 < row["val_perplexity"] < 1.5 * corpus["vocabulary"]
    log = (tmp_path / "a" / "char_lstm_constant-step.log").read_text()
    assert "perplexity" in log and "sample:" in log
    again = char_lstm.main([*FAST, "--out", str(tmp_path / "b")])
    assert _without_times(again) == _without_times(history)
    assert char_lstm.stdlib_docstrings() == char_lstm.stdlib_docstrings()


def test_char_lstm_on_a_text_file_with_the_float_baseline(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 60, encoding="utf-8")
    history = char_lstm.main(
        [*FAST, "--config", "floating-point", "--text", str(text), "--out", str(tmp_path)]
    )
    saved = json.loads((tmp_path / "char_lstm_floating-point.json").read_text())
    assert saved["corpus"]["source"] == str(text) and saved["corpus"]["vocabulary"] == 28
    assert saved["history"] == history


def test_char_lstm_missing_text_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        char_lstm.main(["--text", str(tmp_path / "nope.txt"), "--out", str(tmp_path)])
    assert "\n" not in str(exc.value) and "--text: cannot read" in str(exc.value)
