"""``analog_summary`` (the reference's example 19, LeNet) and the device-response plots of
``rpusim.utils.visualization``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rpusim.configs import (
    ConstantStepDevice,
    SingleRPUConfig,
    SoftBoundsDevice,
    VectorUnitCell,
)
from rpusim.nn import AnalogConv2dMapped
from rpusim.nn.conversion import convert_to_analog
from rpusim.utils.analog_info import AnalogInfo, analog_summary

from helpers import clean_constant_step


def _lenet() -> nn.Module:
    config = SingleRPUConfig(device=ConstantStepDevice())
    config.mapping.max_input_size = 256
    config.mapping.max_output_size = 256
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=5),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(512, 128),
        nn.Tanh(),
        nn.Linear(128, 10),
    )
    return convert_to_analog(model, config)


def test_lenet_summary() -> None:
    model = _lenet()
    info = analog_summary(model, (1, 1, 28, 28))
    assert isinstance(info, AnalogInfo)
    analog = [layer for layer in info.layer_summary if layer.isanalog]
    assert [layer.name for layer in analog] == ["AnalogConv2d", "AnalogConv2d"] + [
        "AnalogLinear"
    ] * 2
    # 16×25, 32×400 (two tiles of 200 inputs), 128×512 (two of 256), 10×128.
    shapes = [[(t.log_out_size, t.log_in_size) for t in layer.tiles_info] for layer in analog]
    assert shapes == [[(16, 25)], [(32, 200), (32, 200)], [(128, 256), (128, 256)], [(10, 128)]]
    utilization = [round(t.utilization, 2) for layer in analog for t in layer.tiles_info]
    assert utilization == [
        round(100 * 16 * 25 / 256**2, 2),
        round(100 * 32 * 200 / 256**2, 2),
        round(100 * 32 * 200 / 256**2, 2),
        50.0,
        50.0,
        round(100 * 10 * 128 / 256**2, 2),
    ]
    # Reuse factor: output positions of a convolution, rows of the batch of a linear layer.
    assert [layer.reuse_factor for layer in analog] == [24 * 24, 8 * 8, 1, 1]
    assert analog[0].input_size == [1, 1, 28, 28] and analog[0].output_size == [1, 16, 24, 24]
    assert info.total_tile_number == 6 and info.total_nb_analog == 4
    table = repr(info)
    assert "Total number of tiles: 6" in table and "Total number of analog layers: 4" in table
    assert "(32, 200)           (256, 256)          9.77" in table


def test_summary_leaves_the_model_as_it_was() -> None:
    model = _lenet()
    x = torch.randn(2, 1, 28, 28)
    state = {k: v for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    expected = model(x)
    torch.manual_seed(5)
    model.load_state_dict(state)
    analog_summary(model, (1, 1, 28, 28))
    assert not any(m._forward_hooks for m in model.modules())  # hooks removed
    assert torch.equal(model(x), expected)  # the tiles' random generators restored


def test_mapped_layers_show_their_tiles() -> None:
    config = SingleRPUConfig()
    config.mapping.max_input_size = 20
    config.mapping.max_output_size = 0  # no limit: the physical height is the logical one
    model = nn.Sequential(AnalogConv2dMapped(5, 7, 3, rpu_config=config))
    info = analog_summary(model, (1, 5, 6, 6))
    tiles = info.layer_summary[0].tiles_info
    assert [(t.log_out_size, t.log_in_size) for t in tiles] == [(7, 18), (7, 18), (7, 9)]
    assert [t.utilization for t in tiles] == [90.0, 90.0, 45.0]


def test_device_response_plots() -> None:
    pytest.importorskip("matplotlib")
    from rpusim.utils.visualization import (
        compute_pulse_response,
        get_tile_for_plotting,
        plot_device,
        plot_device_compact,
    )

    figure = plot_device_compact(SoftBoundsDevice(), w_noise=0.01, n_steps=50, n_traces=2)
    assert len(figure.axes) == 3
    cell = VectorUnitCell(unit_cell_devices=[ConstantStepDevice(), ConstantStepDevice()])
    assert plot_device(cell, n_steps=30) is not None
    # The noise-free response of a clean constant-step device: exactly dw_min per pulse,
    # starting from w_min.
    device = clean_constant_step(bound=1.0)
    tile = get_tile_for_plotting(device, 2, noise_free=True)
    assert torch.equal(tile.get_weights(), torch.full((2, 1), -1.0))
    trace = compute_pulse_response(tile, np.array([1.0] * 5 + [-1.0] * 2))
    steps = np.diff(trace[:, 0, 0])
    np.testing.assert_allclose(steps, [device.dw_min] * 4 + [-device.dw_min] * 2, rtol=1e-4)
