"""The patches of float32 CPU 2-D convolutions come from the core (``rust/patches.rs``): the same
values as torch's ``unfold`` views copied, and a backward that sums each input element's patch
gradients in one fixed order (output row, output column, kernel row, kernel column)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rpusim
from rpusim.configs import FloatingPointRPUConfig
from rpusim.exceptions import InputError, ShapeError
from rpusim.nn import AnalogConv2d
from rpusim.nn.conv import conv2d_patches

# (N, C, H, W), kernel, stride, dilation
GEOMETRIES = [
    ((8, 1, 28, 28), (5, 5), (1, 1), (1, 1)),
    ((3, 4, 11, 9), (3, 2), (2, 1), (1, 2)),
    ((2, 3, 7, 8), (1, 3), (3, 2), (2, 1)),
    ((1, 2, 9, 9), (7, 4), (1, 3), (1, 1)),
]


def torch_patches(
    x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> torch.Tensor:
    for axis in range(2):
        x = x.unfold(2 + axis, dilation[axis] * (kernel[axis] - 1) + 1, stride[axis])
        if dilation[axis] > 1:
            x = x[..., :: dilation[axis]]
    return x.permute(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * kernel[0] * kernel[1])


def ordered_backward(
    grad: torch.Tensor,
    shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out: tuple[int, int],
) -> np.ndarray:
    """The input gradient in float32, summed in the documented order."""
    n, c, h, w = shape
    g = grad.numpy().reshape(n, out[0], out[1], c, kernel[0], kernel[1])
    result = np.zeros(shape, np.float32)
    for b in range(n):
        for ch in range(c):
            for y in range(out[0]):
                for x in range(out[1]):
                    for i in range(kernel[0]):
                        for j in range(kernel[1]):
                            r, s = y * stride[0] + i * dilation[0], x * stride[1] + j * dilation[1]
                            result[b, ch, r, s] += g[b, y, x, ch, i, j]
    return result


@pytest.mark.parametrize(("shape", "kernel", "stride", "dilation"), GEOMETRIES)
def test_patches_are_torch_unfold_and_gradients_sum_in_order(
    shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> None:
    torch.manual_seed(4)
    x = torch.randn(*shape, requires_grad=True)
    patches, out = conv2d_patches(x, kernel, stride, dilation)
    expected = torch_patches(x, kernel, stride, dilation)
    assert out == (
        (shape[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
        (shape[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1,
    )
    assert torch.equal(patches, expected)

    grad = torch.randn_like(expected)
    (ours,) = torch.autograd.grad(patches, x, grad)
    (theirs,) = torch.autograd.grad(expected, x, grad)
    assert np.array_equal(
        ours.numpy(), ordered_backward(grad, shape, kernel, stride, dilation, out)
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_analog_conv2d_matches_torch_conv2d_with_padding_modes() -> None:
    """Forward and input gradient of a float tile against torch's convolution."""
    torch.manual_seed(6)
    for mode in ("zeros", "reflect", "circular"):
        layer = AnalogConv2d(
            3,
            4,
            (3, 5),
            stride=(2, 1),
            padding=(1, 2),
            dilation=(1, 2),
            padding_mode=mode,
            rpu_config=FloatingPointRPUConfig(),
        )
        ref = torch.nn.Conv2d(
            3, 4, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), padding_mode=mode
        )
        weight, bias = layer.get_weights()
        with torch.no_grad():
            ref.weight.copy_(weight.reshape(ref.weight.shape))
            ref.bias.copy_(bias)  # type: ignore[arg-type]
        x = torch.randn(2, 3, 10, 13, requires_grad=True)
        y, y_ref = layer(x), ref(x)
        torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
        g = torch.randn_like(y)
        (dx,) = torch.autograd.grad(y, x, g)
        (dx_ref,) = torch.autograd.grad(y_ref, x, g)
        torch.testing.assert_close(dx, dx_ref, rtol=1e-4, atol=1e-5)


def test_core_names_bad_geometry_and_shapes() -> None:
    x = np.zeros((2, 16), np.float32)
    out = np.zeros((9, 8), np.float32)  # 3 × 3 patches of 2 · 2 · 2 values
    rpusim._core.conv2d_patches(x, out, (1, 2, 4, 4, 2, 2, 1, 1, 1, 1))
    with pytest.raises(InputError, match="stride must be positive"):
        rpusim._core.conv2d_patches(x, out, (1, 2, 4, 4, 2, 2, 0, 1, 1, 1))
    with pytest.raises(InputError, match="reach"):
        rpusim._core.conv2d_patches(x, out, (1, 2, 4, 4, 5, 2, 1, 1, 1, 1))
    with pytest.raises(ShapeError, match="^out"):
        rpusim._core.conv2d_patches(x, np.zeros((8, 8), np.float32), (1, 2, 4, 4, 2, 2, 1, 1, 1, 1))
    with pytest.raises(ShapeError, match="^grad"):
        rpusim._core.conv2d_patches_backward(
            np.zeros((9, 7), np.float32), x, (1, 2, 4, 4, 2, 2, 1, 1, 1, 1)
        )
