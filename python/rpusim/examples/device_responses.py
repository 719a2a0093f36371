"""Plot the pulse response of every device model and preset (n up pulses, then n down, from 0)
into one PNG, as the reference simulator's device plots.

    python -m rpusim.examples.device_responses [--steps 1000] [--out runs/device_responses.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rpusim import presets
from rpusim.configs import (
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    SoftBoundsDevice,
)
from rpusim.plot import _pyplot, plot_device

DEVICES = {
    "ConstantStepDevice": ConstantStepDevice(),
    "LinearStepDevice(γ 0.5)": LinearStepDevice(gamma_up=0.5, gamma_down=0.5),
    "SoftBoundsDevice": SoftBoundsDevice(),
    "ExpStepDevice": ExpStepDevice(),
    "PowStepDevice(γ 2)": PowStepDevice(pow_gamma=2.0),
    "PiecewiseStepDevice": PiecewiseStepDevice(
        piecewise_up=[1.6, 1.2, 1.0, 0.7, 0.3], piecewise_down=[0.3, 0.7, 1.0, 1.2, 1.6]
    ),
    "IdealizedPresetDevice": presets.IdealizedPresetDevice(),
    "GokmenVlasovPresetDevice": presets.GokmenVlasovPresetDevice(),
    "CapacitorPresetDevice": presets.CapacitorPresetDevice(),
    "EcRamPresetDevice": presets.EcRamPresetDevice(),
    "EcRamMOPresetDevice": presets.EcRamMOPresetDevice(),
    "ReRamESPresetDevice": presets.ReRamESPresetDevice(),
    "PCMPresetDevice": presets.PCMPresetDevice(),
}


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", default="runs/device_responses.png")
    args = parser.parse_args(argv)
    plt = _pyplot()
    cols = 4
    rows = -(-len(DEVICES) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows))
    for ax, (name, device) in zip(axes.flat, DEVICES.items()):
        plot_device(device, n_steps=args.steps, n_traces=3, axes=ax)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pulse", fontsize=8)
    for ax in list(axes.flat)[len(DEVICES) :]:
        ax.axis("off")
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
