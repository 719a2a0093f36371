"""Reliability of the extension module (issue 14): sizes and memory, config field paths, saved
states, the health check, one tile shared by threads, enormous gradients, and set_weights of
transfer compounds with write noise."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest

from rpusim import _core
from rpusim.configs import (
    BufferedTransferCompound,
    ConstantStepDevice,
    FloatingPointRPUConfig,
    SingleRPUConfig,
    SoftBoundsDevice,
    TransferCompound,
    UnitCellRPUConfig,
    UpdateParameters,
)
from rpusim.exceptions import ConfigError, InputError, StateError
from rpusim.tiles import AnalogTile

EXACT = json.dumps(
    {
        "device": {
            "type": "ConstantStepDevice",
            "dw_min_dtod": 0.0,
            "dw_min_std": 0.0,
            "up_down_dtod": 0.0,
            "w_max_dtod": 0.0,
            "w_min_dtod": 0.0,
        }
    }
)


def _tile(rows: int = 3, cols: int = 4, config: str = EXACT, backend: str = "cpu") -> Any:
    return _core.Tile(rows, cols, config, 7, backend)


@pytest.mark.parametrize(
    ("rows", "cols", "error"),
    [
        (10**6, 10**6, MemoryError),
        (1, 2**63, MemoryError),
        (2**32, 2**32, InputError),
    ],
)
def test_impossible_tile_sizes_raise_naming_the_size(rows: int, cols: int, error: type) -> None:
    with pytest.raises(error, match=f"{rows} x {cols}"):
        _tile(rows, cols)


def test_memory_error_says_what_was_asked_and_what_the_machine_has() -> None:
    with pytest.raises(MemoryError) as info:
        _tile(10**6, 10**6)
    text = str(info.value)
    # Weights and four per-device arrays (steps and bounds) of 4 bytes per device.
    assert f"cannot allocate {20 * 10**12} bytes" in text
    assert "physical memory" in text


def test_config_parse_errors_name_the_field_path() -> None:
    with pytest.raises(ConfigError, match=r"^update\.desired_bl: invalid value: integer `-1`"):
        _core.validate_config(json.dumps({"update": {"desired_bl": -1}}))
    with pytest.raises(ConfigError, match=r"update\.desired_bl") as info:
        AnalogTile(2, 2, SingleRPUConfig(update=UpdateParameters(desired_bl=-1)))
    assert "line 1" not in str(info.value)
    compound = {
        "type": "TransferCompound",
        "gamma": [0.1],
        "unit_cell_devices": [{"type": "ConstantStepDevice"}, {"type": "ConstantStepDevice"}],
    }
    with pytest.raises(ConfigError, match=r"^device\.gamma: invalid type: sequence, expected f32"):
        _core.validate_config(json.dumps({"device": compound}))


def test_tiny_divisors_are_config_errors_with_the_bound() -> None:
    config = {
        "device": {
            "type": "MixedPrecisionCompound",
            "granularity": 1e-45,
            "device": {"type": "ConstantStepDevice"},
        }
    }
    with pytest.raises(ConfigError, match=r"^device\.granularity: .*1\.1754944e-38"):
        _core.validate_config(json.dumps(config))


def _state(tile: Any) -> dict[str, Any]:
    state: dict[str, Any] = tile.get_state()
    return state


def test_from_state_round_trips_with_per_array_rows() -> None:
    drift = json.loads(EXACT)
    drift["device"]["drift"] = {"nu": 0.05}
    tile = _tile(3, 4, json.dumps(drift))
    tile.set_weights(np.linspace(-0.5, 0.5, 12, dtype=np.float32).reshape(3, 4))
    tile.drift_weights(10.0)
    state = _state(tile)
    assert state["device"]["drift_clock"].shape == (1, 3)
    back = _core.Tile.from_state(state)
    np.testing.assert_array_equal(back.get_weights(), tile.get_weights())


def test_from_state_refuses_missing_and_mistyped_keys() -> None:
    tile = _tile()
    for key in ("weights", "device", "config_json", "out_size", "counters"):
        state = _state(tile)
        del state[key]
        with pytest.raises(StateError, match=f'missing key "{key}"'):
            _core.Tile.from_state(state)
    bad: list[tuple[str, Any, str]] = [
        ("weights", None, r"state: weights: expected a float32 2-D array, got NoneType"),
        ("weights", np.zeros((3, 4)), r"state: weights: expected a float32 2-D array, got a 2-D"),
        ("counters", (1, 2), r"state: counters: expected a tuple of 4 or 5 ints"),
        ("out_size", -3, r"state: out_size: expected an int >= 0"),
        ("config_json", 5, r"state: config_json: expected a str, got int"),
        ("device", [], r"state: device: expected a dict, got list"),
        ("arrays", [(None, None)], r"state: arrays\[0\]\[0\]: expected a float32 2-D array"),
        ("cell_json", None, r"state: cell_json: expected a str, got NoneType"),
    ]
    for key, value, message in bad:
        state = _state(tile)
        state[key] = value
        with pytest.raises(StateError, match=message):
            _core.Tile.from_state(state)
    with pytest.raises(StateError, match="expected a dict"):
        _core.Tile.from_state([])  # type: ignore[arg-type]


def test_from_state_refuses_transposed_and_mis_sized_arrays() -> None:
    tile = _tile(3, 4)
    state = _state(tile)
    state["weights"] = np.ascontiguousarray(state["weights"].T)
    with pytest.raises(StateError, match=r"weights: expected shape .* \[3, 4\], got \[4, 3\]"):
        _core.Tile.from_state(state)
    state = _state(tile)
    state["device"]["w_max"] = np.ascontiguousarray(state["device"]["w_max"].T)
    with pytest.raises(StateError, match=r"device\[\"w_max\"\]: expected shape"):
        _core.Tile.from_state(state)
    state = _state(tile)
    state["out_size"] = 4
    with pytest.raises(StateError, match=r"weights: expected shape .* \[4, 4\], got \[3, 4\]"):
        _core.Tile.from_state(state)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("weights", r"weights: NaN at flat index 6 \(row 1, column 2\)"),
        ("device", r"device\.0\.step_up: inf at flat index 11"),
        ("arrays", r"arrays\[1\] weights: -inf at flat index 1"),
        ("persistent", r"arrays\[0\] persistent weights: NaN at flat index 0"),
        ("cell", r"cell\.buffer_0: NaN at flat index 5"),
    ],
)
def test_from_state_refuses_nan_and_inf_naming_array_and_index(where: str, expected: str) -> None:
    device = SoftBoundsDevice(write_noise_std=1.0)
    config = UnitCellRPUConfig(
        device=BufferedTransferCompound(unit_cell_devices=[device, SoftBoundsDevice()])
    )
    tile = _tile(3, 4, config.to_json())
    state = _state(tile)
    _core.Tile.from_state(state)  # the untouched state loads
    if where == "weights":
        state["weights"][1, 2] = np.nan
    elif where == "device":
        state["device"]["0.step_up"][2, 3] = np.inf
    elif where == "arrays":
        state["arrays"][1][0][0, 1] = -np.inf
    elif where == "persistent":
        state["arrays"][0][1][0, 0] = np.nan
    else:
        state["cell"]["buffer_0"][1, 1] = np.nan
    with pytest.raises(StateError, match=expected):
        _core.Tile.from_state(state)


def test_exact_updates_that_would_overflow_are_refused_and_the_tile_stays_finite() -> None:
    fp = FloatingPointRPUConfig().to_json()
    tile = _tile(2, 2, fp)
    tile.check_finite()
    x = np.array([[1e14, 0.0]], dtype=np.float32)
    d = np.array([[0.0, 1e14]], dtype=np.float32)
    tile.update(x, d, 1.0)  # a change of 1e28: allowed
    before = tile.get_weights()
    # 1e38 per update would reach -Inf on the fourth: refused before anything is written.
    with pytest.raises(InputError, match=r"^x, d, lr: the exact update's largest change"):
        tile.update(x * 1e5, d * 1e5, 1.0)
    with pytest.raises(InputError, match=r"exceeds 1e30"):
        tile.update(np.repeat(x, 3, axis=0), np.repeat(d, 3, axis=0), 1e3)
    assert np.array_equal(tile.get_weights(), before)
    tile.check_finite()


def test_one_tile_shared_by_two_threads() -> None:
    tile = _tile(64, 48, SingleRPUConfig(device=ConstantStepDevice()).to_json())
    calls = 40
    errors: list[BaseException] = []
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 48)).astype(np.float32)
    d = rng.uniform(-1, 1, (8, 64)).astype(np.float32)

    def hammer() -> None:
        out = np.empty((8, 64), dtype=np.float32)
        try:
            for _ in range(calls):
                tile.forward(x, out)
                tile.update(x, d, 0.01)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    forward, _, update, _ = tile.counters
    assert (forward, update) == (2 * calls, 2 * calls)
    tile.check_finite()


def test_enormous_gradients_saturate_the_pulse_train(backend: str) -> None:
    tile = _tile(1, 1, EXACT, backend)
    tile.update(np.array([[1e19]], np.float32), np.array([[1e19]], np.float32), 0.01)
    # BL = 31 slots, both maxima fire in each: 31 steps of dw_min = 0.001 down.
    np.testing.assert_allclose(tile.get_weights(), [[-0.031]], atol=1e-6)


def test_transfer_set_weights_keeps_the_fast_array_exactly_zero(backend: str) -> None:
    device = SoftBoundsDevice(write_noise_std=5.0, apply_write_noise_on_set=True)
    config = UnitCellRPUConfig(device=TransferCompound(unit_cell_devices=[device, device]))
    tile = _tile(3, 4, config.to_json(), backend)
    w = np.linspace(-0.3, 0.3, 12, dtype=np.float32).reshape(3, 4)
    tile.set_weights(w)
    hidden = tile.hidden_weights()
    assert not hidden["array_0"].any()
    assert not hidden["persistent_0"].any()
    np.testing.assert_array_equal(hidden["persistent_1"], w)
    assert (hidden["array_1"] != w).all()  # write noise on set, on the written array only
    np.testing.assert_array_equal(tile.get_weights(), hidden["array_1"])
