"""Analog recurrent layers against torch's nn.RNN / nn.LSTM / nn.GRU under FloatingPointRPUConfig
(outputs, final states, input gradients, one SGD step), stacked and bidirectional; the
accumulation of every time step's (x, d) pairs into one tile update; training and exact restore
with a pulsed device; the reference's defaults; bad input."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
)
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn import (
    AnalogBidirRNNLayer,
    AnalogGRUCell,
    AnalogLinear,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRNN,
    AnalogRNNLayer,
    AnalogVanillaRNNCell,
)
from rpusim.nn.rnn import LSTMState
from rpusim.optim import AnalogSGD

SEQ, BATCH, IN, HIDDEN = 5, 3, 4, 6
TORCH_RNN: dict[type, Any] = {
    AnalogVanillaRNNCell: nn.RNN,
    AnalogLSTMCell: nn.LSTM,
    AnalogLSTMCellCombinedWeight: nn.LSTM,
    AnalogGRUCell: nn.GRU,
}
IS_LSTM = (AnalogLSTMCell, AnalogLSTMCellCombinedWeight)
SHAPES = [(1, False), (2, False), (2, True)]  # (num_layers, bidir)


def cells_of(model: AnalogRNN) -> list[list[Any]]:
    """cells[layer][direction]."""
    out = []
    for layer in model.rnn.layers:
        if isinstance(layer, AnalogBidirRNNLayer):
            out.append([d.cell for d in layer.directions])
        else:
            out.append([layer.cell])
    return out


def torch_params(ref: nn.Module, k: int, d: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    sfx = f"_l{k}" + ("_reverse" if d else "")
    return tuple(  # type: ignore[return-value]
        getattr(ref, f"{name}{sfx}").detach().clone()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def copy_torch_weights(ref: nn.Module, model: AnalogRNN) -> None:
    for k, cells in enumerate(cells_of(model)):
        for d, cell in enumerate(cells):
            w_ih, w_hh, b_ih, b_hh = torch_params(ref, k, d)
            if isinstance(cell, AnalogLSTMCellCombinedWeight):
                cell.weight.set_weights(torch.cat((w_ih, w_hh), 1), b_ih + b_hh)
            else:
                cell.weight_ih.set_weights(w_ih, b_ih)
                cell.weight_hh.set_weights(w_hh, b_hh)


def pair(cell_cls: type, num_layers: int, bidir: bool) -> tuple[AnalogRNN, nn.Module]:
    ref = TORCH_RNN[cell_cls](IN, HIDDEN, num_layers=num_layers, bidirectional=bidir)
    model = AnalogRNN(
        cell_cls,
        IN,
        HIDDEN,
        rpu_config=FloatingPointRPUConfig(),
        num_layers=num_layers,
        bidir=bidir,
    )
    copy_torch_weights(ref, model)
    return model, ref


def initial_states(cell_cls: type, num_layers: int, bidir: bool) -> tuple[list[Any], Any]:
    """Random initial states in both layouts: ours (per layer [, per direction]) and torch's
    ``[layers × directions, batch, hidden]`` (a pair (h0, c0) for the LSTM)."""
    dirs = 2 if bidir else 1
    h0 = torch.randn(num_layers * dirs, BATCH, HIDDEN)
    c0 = torch.randn(num_layers * dirs, BATCH, HIDDEN)

    def one(i: int) -> Any:
        return LSTMState(h0[i], c0[i]) if cell_cls in IS_LSTM else h0[i]

    ours = [[one(k * 2), one(k * 2 + 1)] if bidir else one(k) for k in range(num_layers)]
    return ours, ((h0, c0) if cell_cls in IS_LSTM else h0)


def flatten_states(cell_cls: type, states: list[Any], bidir: bool) -> list[Tensor]:
    """Our final states in torch's order: [h_n] or [h_n, c_n]."""
    per_dir = [s for layer in states for s in layer] if bidir else list(states)
    if cell_cls in IS_LSTM:
        return [torch.stack([s.hx for s in per_dir]), torch.stack([s.cx for s in per_dir])]
    return [torch.stack(per_dir)]


def close(a: Tensor, b: Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("num_layers, bidir", SHAPES)
@pytest.mark.parametrize("cell_cls", list(TORCH_RNN), ids=lambda c: c.__name__)
def test_matches_torch_forward_gradients_and_one_sgd_step(
    cell_cls: type, num_layers: int, bidir: bool
) -> None:
    model, ref = pair(cell_cls, num_layers, bidir)
    states, ref_states = initial_states(cell_cls, num_layers, bidir)
    x = torch.randn(SEQ, BATCH, IN)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    target = torch.randn(SEQ, BATCH, HIDDEN * (2 if bidir else 1))

    out, final = model(x_ours, states)
    ref_out, ref_final = ref(x_ref, ref_states)
    close(out, ref_out)
    ref_final = list(ref_final) if cell_cls in IS_LSTM else [ref_final]
    for ours, theirs in zip(flatten_states(cell_cls, final, bidir), ref_final):
        close(ours, theirs)

    # The loss also depends on the final states, so their gradients flow too.
    def loss_of(output: Tensor, finals: list[Tensor]) -> Tensor:
        return ((output - target) ** 2).mean() + sum(f.sum() * 0.1 for f in finals)

    opt = AnalogSGD(model.parameters(), lr=0.1)
    opt.regroup_param_groups(model)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    loss_of(out, flatten_states(cell_cls, final, bidir)).backward()
    loss_of(ref_out, ref_final).backward()
    assert x_ours.grad is not None and x_ref.grad is not None
    close(x_ours.grad, x_ref.grad)
    opt.step()
    ref_opt.step()

    for k, cells in enumerate(cells_of(model)):
        for d, cell in enumerate(cells):
            w_ih, w_hh, b_ih, b_hh = torch_params(ref, k, d)
            if isinstance(cell, AnalogLSTMCellCombinedWeight):
                # One bias stands for torch's two: only the weights compare after a step.
                close(cell.weight.get_weights()[0], torch.cat((w_ih, w_hh), 1))
                continue
            close(cell.weight_ih.get_weights()[0], w_ih)
            close(cell.weight_hh.get_weights()[0], w_hh)
            close(cell.weight_ih.get_weights()[1], b_ih)
            close(cell.weight_hh.get_weights()[1], b_hh)


def test_dropout_between_layers_matches_torch_in_training_and_is_off_in_eval() -> None:
    model, ref = pair(AnalogLSTMCell, 3, False)
    model.rnn.dropout_layer = nn.Dropout(0.5)
    ref.dropout = 0.5
    x = torch.randn(SEQ, BATCH, IN)
    torch.manual_seed(7)
    out, _ = model(x)
    torch.manual_seed(7)
    ref_out, _ = ref(x)
    close(out, ref_out)
    model.eval()
    ref.eval()
    close(model(x)[0], ref(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0]), "dropout draws anew in training"


def test_dropout_argument_sets_the_layer_and_warns_for_one_layer() -> None:
    model = AnalogRNN(AnalogLSTMCell, IN, HIDDEN, num_layers=2, dropout=0.25)
    assert isinstance(model.rnn.dropout_layer, nn.Dropout) and model.rnn.dropout_layer.p == 0.25
    assert AnalogRNN(AnalogLSTMCell, IN, HIDDEN, num_layers=2).rnn.dropout_layer is None
    with pytest.warns(UserWarning, match="num_layers=1"):
        AnalogRNN(AnalogLSTMCell, IN, HIDDEN, dropout=0.2)


# --- every time step's (x, d) pairs make one update ----------------------------------------------


def test_repeated_calls_accumulate_all_pairs_into_one_update_equal_to_torch_sgd() -> None:
    """A layer called T times, then one step: the float tile moves by the gradient summed over
    all T·batch pairs, exactly as torch SGD; a pulsed tile receives all T·batch rows at once."""
    steps, batch, lr = 7, 2, 0.05
    layer = AnalogLinear(IN, HIDDEN, rpu_config=FloatingPointRPUConfig())
    ref = nn.Linear(IN, HIDDEN)
    weight, bias = layer.get_weights()
    with torch.no_grad():
        ref.weight.copy_(weight)
        ref.bias.copy_(bias)  # type: ignore[arg-type]
    xs = torch.randn(steps, batch, IN)
    opt = AnalogSGD(layer.parameters(), lr=lr)
    opt.regroup_param_groups(layer)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=lr)
    last_only = copy.deepcopy(ref)
    sum((layer(x) ** 2).sum() for x in xs).backward()  # type: ignore[union-attr]
    sum((ref(x) ** 2).sum() for x in xs).backward()  # type: ignore[union-attr]
    (last_only(xs[-1]) ** 2).sum().backward()
    opt.step()
    ref_opt.step()
    torch.optim.SGD(last_only.parameters(), lr=lr).step()
    close(layer.get_weights()[0], ref.weight.detach())
    # Not the last call's pairs only: that update is far from it.
    assert (layer.get_weights()[0] - last_only.weight.detach()).abs().max() > 1e-3

    pulsed = AnalogLinear(IN, HIDDEN, rpu_config=SingleRPUConfig())
    seen: list[tuple[int, int]] = []
    tile = pulsed.analog_tile
    original = tile.update
    tile.update = lambda x, d, lr: (seen.append((x.shape[0], d.shape[0])), original(x, d, lr))  # type: ignore[method-assign]
    opt = AnalogSGD(pulsed.parameters(), lr=lr)
    opt.regroup_param_groups(pulsed)
    sum(pulsed(x).sum() for x in xs).backward()  # type: ignore[union-attr]
    opt.step()
    assert seen == [(steps * batch, steps * batch)]


def test_pulsed_update_of_t_calls_equals_one_call_on_the_concatenation() -> None:
    """T calls then a step give the same pulsed update, bit for bit, as one call on the T
    batches stacked: every pair is there. Backward visits the calls last first (as in the
    reference), so the stack is in reverse time order; the loss is linear in the output so that
    d does not depend on the forward's rounding (which differs with the batch size)."""
    config = SingleRPUConfig(device=ConstantStepDevice())
    config.forward.is_perfect = True
    config.backward.is_perfect = True
    layer = AnalogLinear(IN, HIDDEN, bias=False, rpu_config=config)
    twin = copy.deepcopy(layer)
    start = layer.get_weights()[0]
    xs = torch.randn(4, BATCH, IN)
    targets = torch.randn(4, BATCH, HIDDEN)
    opt = AnalogSGD(layer.parameters(), lr=0.5)
    opt.regroup_param_groups(layer)
    sum((layer(x) * t).sum() for x, t in zip(xs, targets)).backward()  # type: ignore[union-attr]
    opt.step()
    opt = AnalogSGD(twin.parameters(), lr=0.5)
    opt.regroup_param_groups(twin)
    stacked_x, stacked_t = xs.flip(0).reshape(-1, IN), targets.flip(0).reshape(-1, HIDDEN)
    (twin(stacked_x) * stacked_t).sum().backward()
    opt.step()
    assert torch.equal(layer.get_weights()[0], twin.get_weights()[0])
    assert not torch.equal(layer.get_weights()[0], start)


# --- pulsed training and exact restore -----------------------------------------------------------


def _memory_task(gen: torch.Generator, seq: int = 6) -> tuple[Tensor, Tensor]:
    """Random ±1 inputs on one channel; the target at step t is the input at step t - 1."""
    x = torch.randint(0, 2, (seq, 8, 1), generator=gen).float() * 2 - 1
    y = torch.cat((torch.zeros(1, 8, 1), x[:-1]), 0)
    return x, y


class _Regressor(nn.Module):
    def __init__(self, rpu_config: Any) -> None:
        super().__init__()
        self.rnn = AnalogRNN(AnalogLSTMCell, 1, 8, rpu_config=rpu_config)
        self.head = AnalogLinear(8, 1, rpu_config=rpu_config)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.rnn(x)[0])


def _train(model: nn.Module, opt: AnalogSGD, gen: torch.Generator, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        x, y = _memory_task(gen)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_pulsed_lstm_learns_a_memory_task() -> None:
    model = _Regressor(SingleRPUConfig(device=ConstantStepDevice()))
    opt = AnalogSGD(model.parameters(), lr=0.2)
    opt.regroup_param_groups(model)
    losses = _train(model, opt, torch.Generator().manual_seed(0), 200)
    # Predicting zero scores 5/6; measured 0.76 over the first 20 steps, 0.13 over the last 20.
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert first > 0.6 and last < 0.3 * first, (first, last)


def test_state_dict_restore_continues_bit_identically() -> None:
    config = SingleRPUConfig(device=ConstantStepDevice())
    model = _Regressor(config)
    opt = AnalogSGD(model.parameters(), lr=0.1)
    opt.regroup_param_groups(model)
    gen = torch.Generator().manual_seed(3)
    _train(model, opt, gen, 5)
    saved = (copy.deepcopy(model.state_dict()), torch.get_rng_state(), gen.get_state())
    pickled = pickle.dumps(model)
    unbroken = _train(model, opt, gen, 5)
    weights = [w.clone() for w in _all_weights(model)]

    torch.manual_seed(99)  # a different start: everything must come from the saved state
    restored = _Regressor(config)
    restored.load_state_dict(saved[0])
    torch.set_rng_state(saved[1])
    gen.set_state(saved[2])
    opt = AnalogSGD(restored.parameters(), lr=0.1)
    opt.regroup_param_groups(restored)
    assert _train(restored, opt, gen, 5) == unbroken
    for ours, theirs in zip(_all_weights(restored), weights):
        assert torch.equal(ours, theirs)

    unpickled = pickle.loads(pickled)  # the whole model pickled (torch.save) continues too
    torch.set_rng_state(saved[1])
    gen.set_state(saved[2])
    opt = AnalogSGD(unpickled.parameters(), lr=0.1)
    opt.regroup_param_groups(unpickled)
    assert _train(unpickled, opt, gen, 5) == unbroken


def _all_weights(model: nn.Module) -> list[Tensor]:
    out = []
    for module in model.modules():
        if isinstance(module, AnalogLinear):
            weight, bias = module.get_weights()
            out += [weight] + ([bias] if bias is not None else [])
    return out


def test_backend_reaches_every_tile_and_training_matches_cpu(backend: str) -> None:
    """The ``backend`` keyword puts every tile of every cell there; a few pulsed training steps
    on it give the cpu's weights (to float rounding, as the backend parity tests)."""
    runs = []
    for name in ("cpu", backend):
        torch.manual_seed(5)
        model = AnalogRNN(
            AnalogLSTMCell, 1, 8, rpu_config=SingleRPUConfig(), bidir=True, backend=name
        )
        assert {tile.backend for tile in model.analog_tiles()} == {name}
        opt = AnalogSGD(model.parameters(), lr=0.2)
        opt.regroup_param_groups(model)
        gen = torch.Generator().manual_seed(0)
        for _ in range(3):
            x, y = _memory_task(gen)
            opt.zero_grad()
            (model(x)[0].sum(-1, keepdim=True) - y).pow(2).mean().backward()
            opt.step()
        runs.append(_all_weights(model))
    for ours, theirs in zip(*runs):
        torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=0)


# --- the reference's defaults --------------------------------------------------------------------


def test_defaults_follow_the_reference() -> None:
    # rpu_config None: digital torch.nn.Linear maps, except the GRU (InferenceRPUConfig).
    lstm = AnalogRNN(AnalogLSTMCell, IN, HIDDEN)
    assert isinstance(lstm.rnn.layers[0].cell.weight_ih, nn.Linear)
    assert lstm.analog_tile_count() == 0
    gru = AnalogGRUCell(IN, HIDDEN, True)
    assert isinstance(gru.weight_ih, AnalogLinear)
    assert isinstance(gru.weight_ih.rpu_config, InferenceRPUConfig)
    # Default init U(-1/sqrt(hidden), 1/sqrt(hidden)) on every weight and bias; xavier: zero bias.
    model = AnalogRNN(AnalogLSTMCell, IN, HIDDEN, rpu_config=FloatingPointRPUConfig())
    for w in _all_weights(model):
        assert w.abs().max() <= HIDDEN**-0.5
    xavier = AnalogRNN(AnalogLSTMCell, IN, HIDDEN, rpu_config=FloatingPointRPUConfig(), xavier=True)
    weight, bias = xavier.rnn.layers[0].cell.weight_ih.get_weights()
    assert torch.equal(bias, torch.zeros(4 * HIDDEN))
    assert weight.abs().max() <= (6 / (IN + 4 * HIDDEN)) ** 0.5
    assert weight.abs().max() > HIDDEN**-0.5  # the xavier bound is wider here
    # Analog helpers over all tiles: 2 per cell, 2 directions, 2 layers.
    bi = AnalogRNN(
        AnalogGRUCell, IN, HIDDEN, rpu_config=SingleRPUConfig(), num_layers=2, bidir=True
    )
    assert bi.analog_tile_count() == 8
    out, states = bi(torch.randn(SEQ, BATCH, IN))
    assert out.shape == (SEQ, BATCH, 2 * HIDDEN) and len(states) == 2 and len(states[0]) == 2


def test_layers_and_cells_work_on_their_own() -> None:
    cell = AnalogLSTMCell(IN, HIDDEN, True, FloatingPointRPUConfig())
    h, state = cell(torch.randn(BATCH, IN), cell.get_zero_state(BATCH))
    assert isinstance(state, LSTMState) and torch.equal(h, state.hx)
    layer = AnalogRNNLayer(AnalogVanillaRNNCell, IN, HIDDEN, False, SingleRPUConfig())
    out, last = layer(torch.randn(SEQ, BATCH, IN), layer.get_zero_state(BATCH))
    assert out.shape == (SEQ, BATCH, HIDDEN) and torch.equal(out[-1], last)
    bidir = AnalogBidirRNNLayer(AnalogGRUCell, IN, HIDDEN, True, FloatingPointRPUConfig())
    out, states = bidir(torch.randn(SEQ, BATCH, IN), bidir.get_zero_state(BATCH))
    assert torch.equal(out[-1, :, :HIDDEN], states[0]) and torch.equal(
        out[0, :, HIDDEN:], states[1]
    )


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors() -> None:
    model = AnalogRNN(AnalogLSTMCell, IN, HIDDEN, rpu_config=FloatingPointRPUConfig(), num_layers=2)
    with pytest.raises(
        ShapeError, match=rf"input: expected shape \[seq, batch, {IN}\].*\[5, 3, 7\]"
    ):
        model(torch.randn(SEQ, BATCH, 7))
    with pytest.raises(ShapeError, match=r"batch_first.*got \[3, 4\]"):
        model(torch.randn(BATCH, IN))
    with pytest.raises(ShapeError, match="no time steps"):
        model(torch.randn(0, BATCH, IN))
    with pytest.raises(ShapeError, match="list of 2 layer states"):
        model(torch.randn(SEQ, BATCH, IN), model.get_zero_state(BATCH)[:1])
    bad = model.get_zero_state(BATCH)
    bad[1] = LSTMState(torch.zeros(BATCH, HIDDEN), torch.zeros(BATCH + 1, HIDDEN))
    with pytest.raises(ShapeError, match=r"state.cx: AnalogLSTMCell expects shape \[3, 6\]"):
        model(torch.randn(SEQ, BATCH, IN), bad)
    bad[1] = torch.zeros(BATCH, HIDDEN)
    with pytest.raises(ShapeError, match=r"state: AnalogLSTMCell expects a pair \(hx, cx\)"):
        model(torch.randn(SEQ, BATCH, IN), bad)
    gru = AnalogRNN(AnalogGRUCell, IN, HIDDEN, rpu_config=SingleRPUConfig(), bidir=True)
    with pytest.raises(ShapeError, match=r"\[forward state, backward state\]"):
        gru(torch.randn(SEQ, BATCH, IN), [torch.zeros(BATCH, HIDDEN)])
    with pytest.raises(ShapeError, match=r"state: AnalogGRUCell expects shape \[3, 6\]"):
        gru(torch.randn(SEQ, BATCH, IN), [[torch.zeros(BATCH, HIDDEN), torch.zeros(2, HIDDEN)]])
    with pytest.raises(ShapeError, match=r"one time step \[batch, 4\]"):
        AnalogVanillaRNNCell(IN, HIDDEN, True)(
            torch.randn(SEQ, BATCH, IN), torch.zeros(BATCH, HIDDEN)
        )
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[1.0]])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "lstm"}, r"cell: expected a cell class .*AnalogLSTMCell.*got 'lstm'"),
        ({"cell": nn.LSTM}, r"cell: expected a cell class .*got LSTM"),
        ({"cell": nn.Linear}, r"got Linear"),
        ({"input_size": 0}, "input_size: expected a positive int"),
        ({"hidden_size": 2.5}, "hidden_size: expected a positive int"),
        ({"num_layers": 0}, "num_layers: expected a positive int"),
        ({"dropout": 1.5}, r"dropout: expected a probability in \[0, 1\]"),
        ({"tile_module_class": object}, "tile_module_class: not supported"),
    ],
)
def test_bad_configuration_raises_config_error(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"cell": AnalogLSTMCell, "input_size": IN, "hidden_size": HIDDEN}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        AnalogRNN(rpu_config=FloatingPointRPUConfig(), **args)
