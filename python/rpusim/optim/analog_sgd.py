"""``AnalogSGD``: torch SGD for digital parameters, pulsed updates for analog tiles."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import torch
from torch.optim import SGD

from rpusim import _core
from rpusim.distributed import check_no_ddp_gradient, exchange_all
from rpusim.optim.context import AnalogContext
from rpusim.tiles import CoreUpdate, check_learning_rate


class AnalogSGD(SGD):
    """Stochastic gradient descent over a model with analog layers.

    Digital parameters (biases, non-analog layers) get the ordinary ``torch.optim.SGD`` step.
    Momentum, dampening, weight decay and Nesterov apply to them and to the floating-point weights
    of inference tiles (``InferenceRPUConfig``), not to pulsed devices. Each analog tile gets
    one ``update(x, d, lr)`` per step with all the (x, d) pairs its backward passes recorded since
    the last step, at the learning rate of its parameter group (lr = 0 discards the pairs), then
    its post-update step (device decay and diffusion, when configured).

    Under ``DistributedDataParallel`` (after ``model.prepare_for_ddp()``) the step is collective:
    the pairs of all ranks are gathered and every rank applies their union, with ``d`` divided
    by the world size as DDP averages the digital gradients (``rpusim.distributed``).

    Args:
        params: the model's parameters (``model.parameters()``) or parameter groups.
        lr: learning rate.
        momentum, dampening, weight_decay, nesterov: as ``torch.optim.SGD`` (digital only).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.001,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_learning_rate("lr", lr)
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )

    def regroup_param_groups(self, *_: Any) -> None:
        """Moves each analog context into a parameter group of its own (with the settings of
        the group it came from), as the reference does; accepted for compatibility."""
        new_groups = []
        for group in self.param_groups:
            digital = [p for p in group["params"] if not isinstance(p, AnalogContext)]
            analog = [p for p in group["params"] if isinstance(p, AnalogContext)]
            settings = {k: v for k, v in group.items() if k != "params"}
            if digital:
                new_groups.append({**settings, "params": digital})
            for ctx in analog:
                new_groups.append({**settings, "params": [ctx]})
        self.param_groups = new_groups

    def set_learning_rate(self, learning_rate: float = 0.1) -> None:
        """Sets the learning rate of every parameter group."""
        check_learning_rate("learning_rate", learning_rate)
        for group in self.param_groups:
            group["lr"] = learning_rate

    def _update_tile(
        self, ctx: AnalogContext, group: dict[str, Any], x: Any, d: Any, lr: float
    ) -> None:
        """Pulsed tiles get lr only; tiles with floating-point weights (inference tiles) get the
        full SGD step of the group (momentum, dampening, weight decay, Nesterov)."""
        tile = ctx.analog_tile
        tile.set_learning_rate(lr)  # the reference's optimizer sets the tile's rate too
        digital = group["momentum"] != 0 or group["weight_decay"] != 0
        if digital and getattr(tile, "digital_weights", False):
            tile.sgd_step(
                x,
                d,
                lr,
                self.state[ctx],
                momentum=group["momentum"],
                dampening=group["dampening"],
                weight_decay=group["weight_decay"],
                nesterov=group["nesterov"],
            )
        else:
            tile.update(x, d, lr)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Checked before anything moves: torch's SGD would step the digital parameters with a
        # NaN lr while the analog update skipped it.
        contexts = []
        digital_gradients = False
        for k, group in enumerate(self.param_groups):
            check_learning_rate(f"param_groups[{k}]['lr']", group["lr"])
            for j, p in enumerate(group["params"]):
                if isinstance(p, AnalogContext):
                    check_no_ddp_gradient(p, f"param_groups[{k}]['params'][{j}]")
                    contexts.append(p)
                elif p.grad is not None:
                    digital_gradients = True
        # A context's gradient (DDP's empty placeholder, if any) means nothing: torch's step
        # must neither move it nor keep a momentum buffer for it in the tile's optimizer state.
        for ctx in contexts:
            ctx.grad = None
        # torch's SGD skips parameters without a gradient: with none it would do nothing (and
        # its machinery costs as much as a small tile's forward).
        if digital_gradients:
            super().step()
        exchange_all(contexts)
        # The pulsed updates of CPU tiles run in one call, side by side (a small tile's update
        # alone leaves threads idle); each tile's result is that of its own update call.
        batched: list[CoreUpdate] = []
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                if not isinstance(p, AnalogContext) or not p.has_pairs():
                    continue
                x, d = p.take_pairs()
                if lr > 0:
                    d = -d if group.get("maximize") else d
                    calls = self._batched_update(p, group, x, d, lr)
                    if calls is None:
                        self._update_tile(p, group, x, d, lr)
                    else:
                        batched.extend(calls)
        if len(batched) == 1:
            core, x, d, lr = batched[0]
            core.update(x, d, lr)
        elif batched:
            _core.update_tiles(batched)
        # Once per step, with or without pairs: decay and diffusion of the devices.
        for ctx in contexts:
            ctx.analog_tile.post_update_step()
        return loss

    def _batched_update(
        self, ctx: AnalogContext, group: dict[str, Any], x: Any, d: Any, lr: float
    ) -> Optional[list[CoreUpdate]]:
        """``_update_tile`` as core calls for ``_core.update_tiles``, where it reduces to them
        (pulsed CPU tiles; not the digital SGD step of inference tiles)."""
        tile = ctx.analog_tile
        digital = group["momentum"] != 0 or group["weight_decay"] != 0
        if digital and getattr(tile, "digital_weights", False):
            return None
        calls = tile.batched_update(x, d, lr) if hasattr(tile, "batched_update") else None
        if calls is not None:
            tile.set_learning_rate(lr)  # as _update_tile
        return calls
