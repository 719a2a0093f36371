"""``TorchInferenceRPUConfigIRDropT``: the time-dependent IR drop against aihwkit 1.1's outputs
(fixture of ``benches/python/ir_drop_t_reference.py``), against Ohm's law for one device, its
physics (drop grows with the wire resistance and the column current, segments converge), eval
mode only, ir_drop 0 is the plain torch tile, saved state and the refusals."""

from __future__ import annotations

import copy
import io
import json
import pickle
from pathlib import Path
from typing import Any, Optional

import pytest
import torch

from rpusim.configs import (
    IOParameters,
    IOParametersIRDropT,
    TorchInferenceRPUConfig,
    TorchInferenceRPUConfigIRDropT,
)
from rpusim.configs.enums import AnalogMVType, BoundManagementType, NoiseManagementType
from rpusim.exceptions import ConfigError
from rpusim.inference.converter import DualPairConductanceConverter, SinglePairConductanceConverter
from rpusim.inference.ir_drop_t import ir_drop_t_matmul
from rpusim.inference.torch_periphery import analog_mvm
from rpusim.inference.torch_tile import TorchInferenceTile
from rpusim.nn import AnalogLinear

FIXTURE = Path(__file__).parent / "reference" / "ir_drop_t_aihwkit.json"


def clean_io(**overrides: Any) -> IOParametersIRDropT:
    """No output noise, quantisation, clipping or bound management (DAC 7 bit as default)."""
    io_pars = IOParametersIRDropT(
        out_noise=0.0, out_res=-1.0, out_bound=0.0, bound_management=BoundManagementType.NONE
    )
    for key, value in overrides.items():
        setattr(io_pars, key, value)
    return io_pars


def read(
    io_pars: IOParametersIRDropT,
    weights: torch.Tensor,
    x: torch.Tensor,
    rows: Optional[int] = None,
    converter: Any = None,
) -> torch.Tensor:
    """The torch periphery with the time-dependent read (default: one device pair, 25 µS)."""
    if converter is None:
        converter = SinglePairConductanceConverter()
    return analog_mvm(
        io_pars, weights, x, read=lambda w, u: ir_drop_t_matmul(io_pars, w, u, converter, rows)
    )


def fixture_io(case: dict[str, Any]) -> IOParametersIRDropT:
    settings = dict(case["io"])
    for key, kind in (
        ("bound_management", BoundManagementType),
        ("noise_management", NoiseManagementType),
    ):
        if key in settings:
            settings[key] = kind[settings[key]]
    return IOParametersIRDropT(**settings)


def test_reproduces_aihwkit_reference_outputs() -> None:
    fixture = json.loads(FIXTURE.read_text())
    assert fixture["generator"] == "benches/python/ir_drop_t_reference.py"
    assert len(fixture["cases"]) >= 5
    for case in fixture["cases"]:
        io_pars = fixture_io(case)
        f_lst = case["f_lst"]
        converter = (
            SinglePairConductanceConverter()
            if f_lst is None
            else DualPairConductanceConverter(f_lst)
        )
        weights = torch.tensor(case["weights"])
        x = torch.tensor(case["inputs"])
        expected = torch.tensor(case["output"])
        rows = case["physical_rows"]
        out = read(io_pars, weights, x, rows, converter)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=2e-6, msg=case["name"])
        # The IR drop is visible in every case (the fixture is not the plain product).
        assert (analog_mvm(io_pars, weights, x) - expected).abs().max() > 5e-3, case["name"]


def test_eval_tile_reproduces_the_reference_with_its_mapping_rows() -> None:
    fixture = json.loads(FIXTURE.read_text())
    for case in fixture["cases"]:
        if case["f_lst"] is not None:
            continue
        rpu = TorchInferenceRPUConfigIRDropT(forward=fixture_io(case))
        rpu.mapping.max_input_size = case["physical_rows"]
        weights = torch.tensor(case["weights"])
        tile = TorchInferenceTile(weights.shape[0], weights.shape[1], rpu)
        tile.set_weights(weights)
        tile.set_training(False)
        out = tile.forward(torch.tensor(case["inputs"]))
        expected = torch.tensor(case["output"])
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=2e-6, msg=case["name"])


def test_columns_are_independent_and_an_odd_count_works() -> None:
    # aihwkit needs an even output count (north/south ADC pairs); here a fifth column is read
    # as the first five of six: an all-zero column changes neither max|W| nor the other columns.
    torch.manual_seed(4)
    weights = torch.randn(5, 16) * 0.3
    x = torch.rand(2, 16) * 2 - 1
    io_pars = clean_io(ir_drop=40.0, adc_quantization=False)
    six = torch.cat([weights, torch.zeros(1, 16)])
    torch.testing.assert_close(read(io_pars, weights, x), read(io_pars, six, x)[:, :5])


def test_one_device_follows_ohms_law_over_the_time_slices() -> None:
    # One row, one column, weight at g_max: the ADC sees 0.6 V through 1/g + half a wire piece
    # while the pulse is on (63 of 64 slices for u = 1), then the idle 0.4 V.
    wire_ohm = 8000.0
    io_pars = clean_io(
        ir_drop=wire_ohm / 0.15,
        ir_drop_segments=1,
        adc_quantization=False,
        noise_management=NoiseManagementType.NONE,
    )
    g = 25.0  # µS
    resistance = 1.0 / g + 0.5 * wire_ohm * 1e-6  # MΩ
    on = (0.6 - io_pars.ir_drop_v_read) / resistance
    off = (0.4 - io_pars.ir_drop_v_read) / resistance
    charge = 63 * on + 0.5 * on + 0.5 * off  # trapezoids, first sample repeated
    weight = 0.8
    expected = charge / (g / weight) / 0.2 / 63
    out = read(io_pars, torch.tensor([[weight]]), torch.tensor([[1.0]]))
    torch.testing.assert_close(out, torch.tensor([[expected]]), rtol=1e-6, atol=0.0)
    assert expected < weight * 0.95  # the wire costs a visible part of the current


def test_output_shrinks_as_wire_resistance_grows() -> None:
    torch.manual_seed(0)
    weights = torch.rand(4, 32) * 0.5 + 0.1  # all positive: every column current adds
    x = torch.rand(3, 32) * 0.8 + 0.2
    outputs = [
        read(clean_io(ir_drop=scale, adc_quantization=False), weights, x)
        for scale in (1e-3, 10.0, 40.0, 160.0)
    ]
    for before, after in zip(outputs, outputs[1:]):
        assert bool((after < before).all())
    # Without wire resistance the read is W u up to the half slice of the PWM integration.
    torch.testing.assert_close(outputs[0], analog_mvm(clean_io(), weights, x), rtol=0.03, atol=0)


def test_relative_drop_grows_with_conductance_and_distance_from_the_adc() -> None:
    io_pars = clean_io(ir_drop=80.0, adc_quantization=False)
    weights = torch.full((2, 32), 1.0)
    weights[1] = 0.25  # column 1: a quarter of column 0's conductances
    x = torch.ones(1, 32) * 0.75
    ideal = analog_mvm(clean_io(ir_drop=1e-6, adc_quantization=False), weights, x)
    loss = 1 - read(io_pars, weights, x) / ideal
    assert float(loss[0, 0]) > 2 * float(loss[0, 1]) > 0
    # The circuit is linear, so the relative drop depends on where the current enters: column 0
    # (ADC after the last row) loses more from the first rows, column 1 (ADC before the first
    # row) from the last rows.
    weights = torch.full((2, 32), 1.0)
    far, near = torch.zeros(1, 32), torch.zeros(1, 32)
    far[:, :8] = 1.0
    near[:, 24:] = 1.0
    losses = {}
    for name, inputs in (("first", far), ("last", near)):
        ideal = analog_mvm(clean_io(ir_drop=1e-6, adc_quantization=False), weights, inputs)
        losses[name] = 1 - read(io_pars, weights, inputs) / ideal
    assert float(losses["first"][0, 0]) > 1.5 * float(losses["last"][0, 0]) > 0
    assert float(losses["last"][0, 1]) > 1.5 * float(losses["first"][0, 1]) > 0


def test_more_segments_converge_to_the_row_by_row_circuit() -> None:
    torch.manual_seed(1)
    weights = torch.randn(4, 64) * 0.3
    x = torch.rand(2, 64) * 2 - 1
    results = {
        segments: read(
            clean_io(ir_drop=60.0, ir_drop_segments=segments, adc_quantization=False), weights, x
        )
        for segments in (1, 4, 16, 64)
    }
    errors = [float((results[s] - results[64]).abs().max()) for s in (1, 4, 16)]
    assert errors[0] > errors[1] > errors[2] > 0
    assert errors[2] < 0.1 * errors[0]


def test_ir_drop_zero_is_the_plain_torch_tile_and_training_reads_w_u() -> None:
    torch.manual_seed(2)
    weights = torch.randn(6, 20) * 0.3
    x = torch.randn(5, 20)
    common = {"out_noise": 0.05, "inp_noise": 0.01, "w_noise": 0.0}
    plain_io = IOParameters(**common)
    for ir_drop, training in ((0.0, False), (1.0, True)):
        time_io = IOParametersIRDropT(ir_drop=ir_drop, **common)
        plain = TorchInferenceTile(6, 20, TorchInferenceRPUConfig(forward=copy.deepcopy(plain_io)))
        timed = TorchInferenceTile(6, 20, TorchInferenceRPUConfigIRDropT(forward=time_io))
        for tile in (plain, timed):
            tile.set_weights(weights)
            tile.set_training(training)
        torch.manual_seed(3)
        a = plain.forward(x)
        torch.manual_seed(3)
        b = timed.forward(x)
        assert torch.equal(a, b)
    # Eval mode with ir_drop 1 differs (the reference's default read).
    timed.set_training(False)
    assert not torch.equal(timed.forward(x), a)


def test_eval_layer_reads_with_ir_drop_and_gradients_pass() -> None:
    rpu = TorchInferenceRPUConfigIRDropT()
    rpu.forward.ir_drop = 30.0
    rpu.forward.out_noise = 0.0
    layer = AnalogLinear(16, 4, bias=False, rpu_config=rpu)
    layer.eval()
    x = torch.rand(3, 16, requires_grad=True)
    y = layer(x)
    weights = layer.get_weights()[0]
    assert float((y - x @ weights.T).detach().abs().max()) > 1e-3
    y.sum().backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)


def test_state_dict_and_pickle_restore_exactly() -> None:
    rpu = TorchInferenceRPUConfigIRDropT()
    rpu.forward.ir_drop = 20.0
    rpu.forward.ir_drop_rs = 0.3
    rpu.forward.ir_drop_segments = 4
    rpu.forward.adc_quantization = False
    rpu.mapping.max_input_size = 16
    layer = AnalogLinear(12, 4, rpu_config=rpu)
    layer.eval()
    x = torch.randn(3, 12)
    torch.manual_seed(5)
    a = layer(x)
    fresh = AnalogLinear(12, 4, rpu_config=copy.deepcopy(rpu))
    fresh.load_state_dict(layer.state_dict())
    fresh.eval()
    torch.manual_seed(5)
    assert torch.equal(fresh(x), a)
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    torch.manual_seed(5)
    assert torch.equal(clone(x), a)
    restored = pickle.loads(pickle.dumps(rpu))
    assert restored.forward == rpu.forward and isinstance(restored.forward, IOParametersIRDropT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("split_mode_bit_shift", 2),
        ("apply_xdep_pcm_read_noise", True),
        ("xdep_pcm_read_noise_scale", 2.0),
        ("mv_type", AnalogMVType.SPLIT_MODE),
        ("mv_type", AnalogMVType.BIT_WISE),
        ("ir_drop", -1.0),
        ("ir_drop_rs", -0.1),
        ("ir_drop_segments", 0),
        ("ir_drop_segments", 2.5),
        ("ir_drop_time_step_resolution_scale", 0.0),
        ("adc_frequency", -1.0),
        ("adc_quantization", 1),
        ("inp_res", 0.0),
    ],
)
def test_bad_or_unbuilt_settings_are_refused_by_name(field: str, value: Any) -> None:
    forward = IOParametersIRDropT()
    setattr(forward, field, value)
    with pytest.raises(ConfigError, match=field):
        TorchInferenceTile(2, 4, TorchInferenceRPUConfigIRDropT(forward=forward))


def test_segments_must_divide_the_physical_rows() -> None:
    rpu = TorchInferenceRPUConfigIRDropT()
    rpu.forward.ir_drop_segments = 3
    tile = TorchInferenceTile(2, 8, rpu)
    tile.set_training(False)
    with pytest.raises(ConfigError, match="ir_drop_segments"):
        tile.forward(torch.ones(1, 8))
    with pytest.raises(ConfigError, match="forward"):
        TorchInferenceTile(2, 4, TorchInferenceRPUConfigIRDropT(forward=IOParameters()))


def test_batch_chunks_read_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import rpusim.inference.ir_drop_t as module

    torch.manual_seed(6)
    weights = torch.randn(4, 16) * 0.3
    x = torch.rand(7, 16) * 2 - 1
    io_pars = clean_io(ir_drop=40.0, adc_quantization=False)
    whole = read(io_pars, weights, x)
    monkeypatch.setattr(module, "CHUNK_ELEMENTS", 1)  # one input vector per chunk
    torch.testing.assert_close(read(io_pars, weights, x), whole, rtol=1e-6, atol=1e-7)
