"""The numba loops of core.units.fast_rnn against the reference layers (nn.RNN / nn.GRU / nn.LSTM and
core.units.cells): outputs and every gradient, float32 and float64, random and padded batches; the
dispatch in RecurrentModel.forward; a few Trainer updates on either path give the same losses."""
import importlib

import numpy as np
import pytest
import torch

from core.training.settings import Settings
from core.training.train import Trainer, batch_nll, chunk, collate
from core.units import fast_rnn
from core.units.models import build_model

pytestmark = pytest.mark.skipif(not fast_rnn.available(), reason="numba is not installed")

# every layer the loops run; ("lstm", "torch") runs only when forced (FAST_TORCH_LSTM)
LAYERS = [("tanh", "torch"), ("gru", "torch"), ("gru", "paper"), ("lstm", "paper"), ("lstm", "torch")]
# float32: outputs to 1e-5 absolute, gradients to 1e-4 of their largest entry; float64 far tighter
TOLERANCE = {torch.float32: (1e-5, 1e-4), torch.float64: (1e-12, 1e-10)}


@pytest.fixture
def torch_lstm_loop(monkeypatch):
    monkeypatch.setattr(fast_rnn, "FAST_TORCH_LSTM", True)


def toy_pieces(n, seed, lengths=(3, 30)):
    rng = np.random.default_rng(seed)
    return [(rng.random((int(rng.integers(*lengths)), 88)) < 0.1).astype(np.uint8) for _ in range(n)]


def outputs_and_gradients(model, x, weight, fast):
    """h (B, T, H) and the gradients of sum(weight * h) w.r.t. x and every layer parameter."""
    x = x.clone().requires_grad_()
    h = fast_rnn.run(model.rnn, x)[0] if fast else model.rnn(x)[0]
    wrt = [x] + list(model.rnn.parameters())
    return h.detach(), torch.autograd.grad((weight * h).sum(), wrt)


def assert_close(fast, reference, dtype, what):
    out_tol, grad_tol = TOLERANCE[dtype]
    (h_fast, g_fast), (h_ref, g_ref) = fast, reference
    assert (h_fast - h_ref).abs().max().item() <= out_tol, f"{what}: outputs"
    names = ["x"] + [n for n, _ in what[0].rnn.named_parameters()]
    for name, a, b in zip(names, g_fast, g_ref):
        relative = ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
        assert relative <= grad_tol, f"{what[1:]}: d/d{name} off by {relative:.2g} (relative)"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("arch,variant", LAYERS)
def test_outputs_and_gradients_equal_the_reference(arch, variant, dtype, torch_lstm_loop):
    model = build_model(arch, variant, units=9, seed=2).to(dtype)
    generator = torch.Generator().manual_seed(5)
    x = (torch.rand(3, 17, 88, generator=generator) < 0.2).to(dtype)
    weight = torch.randn(3, 17, 9, generator=generator, dtype=dtype)
    fast = outputs_and_gradients(model, x, weight, fast=True)
    reference = outputs_and_gradients(model, x, weight, fast=False)
    assert_close(fast, reference, dtype, (model, arch, variant, dtype))


def states_and_gradients(model, x, state, weight, fast):
    """h (B, T, H), the last state, and the gradients of sum(weight * h) + sum(last state)
    w.r.t. x, the initial state and every layer parameter."""
    x = x.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state)
    hx = state if len(state) == 2 else state[0]
    h, last = fast_rnn.run(model.rnn, x, hx) if fast else model.rnn(x, hx)
    last = last if isinstance(last, tuple) else (last,)
    loss = (weight * h).sum() + sum(s.sum() for s in last)
    grads = torch.autograd.grad(loss, [x, *state, *model.rnn.parameters()])
    return h.detach(), [s.detach() for s in last], grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("arch,variant", LAYERS)
def test_initial_state_is_used_and_differentiated(arch, variant, dtype, torch_lstm_loop):
    # Carried state: the loops start from h0 (and c0), return the last state like the module,
    # and give dL/dh0 (dL/dc0) and the gradient through the last cell (LSTM) like autograd.
    model = build_model(arch, variant, units=7, seed=8).to(dtype)
    generator = torch.Generator().manual_seed(9)
    x = (torch.rand(3, 11, 88, generator=generator) < 0.2).to(dtype)
    state = tuple(torch.randn(1, 3, 7, generator=generator, dtype=dtype)
                  for _ in range(2 if arch == "lstm" else 1))
    weight = torch.randn(3, 11, 7, generator=generator, dtype=dtype)
    h_fast, last_fast, g_fast = states_and_gradients(model, x, state, weight, fast=True)
    h_ref, last_ref, g_ref = states_and_gradients(model, x, state, weight, fast=False)
    out_tol, grad_tol = TOLERANCE[dtype]
    assert (h_fast - h_ref).abs().max().item() <= out_tol
    assert all((a - b).abs().max().item() <= out_tol for a, b in zip(last_fast, last_ref))
    names = ["x"] + ["h0", "c0"][:len(state)] + [n for n, _ in model.rnn.named_parameters()]
    for name, a, b in zip(names, g_fast, g_ref):
        relative = ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
        assert relative <= grad_tol, f"d/d{name} off by {relative:.2g} (relative)"
    zero = tuple(torch.zeros_like(s) for s in state)
    assert (states_and_gradients(model, x, zero, weight, fast=True)[0] - h_fast).abs().max() > 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("arch,variant", LAYERS)
def test_masked_padded_batch_gives_the_reference_loss_and_gradients(arch, variant, dtype, torch_lstm_loop):
    # Padding sits at the end of each sequence: real steps never depend on it, the loss masks it.
    model = build_model(arch, variant, units=8, seed=3).to(dtype)
    batch = collate(chunk(toy_pieces(4, seed=1), 0))
    x, y, mask = batch.x.to(dtype), batch.y.to(dtype), batch.mask.to(dtype)
    results = []
    for enabled in (True, False):
        fast_rnn.set_enabled(enabled)
        try:
            model.zero_grad()
            loss = batch_nll(model, type(batch)(x, y, mask))
            loss.backward()
        finally:
            fast_rnn.set_enabled(True)
        results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
    (loss_fast, g_fast), (loss_ref, g_ref) = results
    out_tol, grad_tol = TOLERANCE[dtype]
    assert loss_fast == pytest.approx(loss_ref, rel=out_tol)
    for (name, _), a, b in zip(model.named_parameters(), g_fast, g_ref):
        assert ((a - b).abs().max() / b.abs().max()).item() <= grad_tol, name


def test_one_hand_checked_tanh_step():
    # h_1 = tanh(W x + b_ih + b_hh) from h_0 = 0; h_2 = tanh(W x + U h_1 + biases); by hand
    model = build_model("tanh", units=1, seed=0)
    with torch.no_grad():
        for p, value in zip(model.rnn.parameters(), [0.0, 0.5, 0.25, -0.25]):  # W_ih, U, b_ih, b_hh
            p.fill_(value)
        model.rnn.weight_ih_l0[0, 0] = 1.0
    x = torch.zeros(1, 2, 88)
    x[0, :, 0] = torch.tensor([1.0, 2.0])
    h = fast_rnn.run(model.rnn, x)[0][0, :, 0]
    h1 = np.tanh(1.0)
    assert h.tolist() == pytest.approx([h1, np.tanh(2.0 + 0.5 * h1)], abs=1e-7)


def test_model_dispatches_to_the_loops_unless_turned_off(monkeypatch):
    calls = []
    monkeypatch.setattr(fast_rnn, "run", lambda rnn, x, hx=None: calls.append(1) or rnn(x, hx))
    x = torch.rand(2, 5, 88)
    for arch, variant in LAYERS:
        model = build_model(arch, variant, units=4)
        model(x)                      # training
        with torch.no_grad():
            model.eval()
            model(x)                  # evaluation
        expected = 0 if (arch, variant) == ("lstm", "torch") else 2  # nn.LSTM's fused path wins
        assert len(calls) == expected, (arch, variant)
        calls.clear()
        fast_rnn.set_enabled(False)
        model.train()
        model(x)
        fast_rnn.set_enabled(True)
        model.hidden(x)               # traces: the modules
        assert not calls, (arch, variant)
    assert not fast_rnn.supported(build_model("gru"), torch.rand(2, 5, 88, dtype=torch.float16))


def test_environment_variable_turns_the_loops_off(monkeypatch):
    monkeypatch.setenv("GATELAB_FAST_RNN", "0")
    importlib.reload(fast_rnn)
    try:
        assert not fast_rnn.enabled()
        assert not fast_rnn.supported(build_model("gru", units=3), torch.rand(1, 2, 88))
    finally:
        monkeypatch.delenv("GATELAB_FAST_RNN")
        importlib.reload(fast_rnn)
    assert fast_rnn.enabled()


def test_first_call_seconds_are_reported():
    fast_rnn.run(build_model("gru", units=3).rnn, torch.rand(1, 2, 88))[0].sum().backward()
    seconds = fast_rnn.first_call_seconds()
    assert {"gru_forward[float32]", "gru_backward[float32]"} <= set(seconds)
    assert all(s >= 0 for s in seconds.values())


def test_loops_cap_scipys_blas_at_one_thread():
    """Idle OpenBLAS workers would steal a core from torch's threads: core.units.fast_loops caps
    scipy's OpenBLAS (numba's np.dot) at one thread and leaves other BLAS libraries alone."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from core.units import fast_loops

    def blas():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    assert [n for path, n in blas().items() if "scipy.libs" in path] == [1]  # set on import, for the process
    with threadpool_limits(limits=2, user_api="blas"):  # as if the cap had never been set
        before = blas()
        fast_loops._one_blas_thread()
        after = blas()
    scipys = [path for path in after if "scipy.libs" in path]
    assert len(scipys) == 1 and before[scipys[0]] == 2 and after[scipys[0]] == 1
    assert {p: n for p, n in after.items() if p not in scipys} == {p: n for p, n in before.items() if p not in scipys}


@pytest.mark.parametrize("arch,variant", LAYERS[:4])
def test_trainer_steps_match_on_either_path(arch, variant):
    pieces = toy_pieces(6, seed=4, lengths=(5, 25))
    batches = [collate(chunk(pieces[i:i + 3], 12)) for i in (0, 3, 0)]
    losses = []
    for enabled in (True, False):
        fast_rnn.set_enabled(enabled)
        try:
            trainer = Trainer(Settings(arch=arch, variant=variant, units=10, seed=11,
                                       weight_noise=0.05, lr=3e-3))
            losses.append([trainer.step(b).loss for b in batches])
        finally:
            fast_rnn.set_enabled(True)
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


@pytest.mark.parametrize("arch,variant", LAYERS[:4])
def test_saturated_gates_match_and_nan_propagates(arch, variant):
    # pre-activations of +-1000 (exp clamped at +-708 inside the loops) saturate like torch's
    model = build_model(arch, variant, units=5, seed=6).double()
    x = torch.randn(2, 6, 88, dtype=torch.float64) * 1000
    with torch.enable_grad():
        h_fast = fast_rnn.run(model.rnn, x)[0].detach()
    assert torch.allclose(h_fast, model.rnn(x)[0].detach(), atol=1e-12)
    x[1, 3, 0] = float("nan")
    h = fast_rnn.run(model.rnn, x)[0].detach()
    assert torch.isnan(h[1, 3:]).all() and not torch.isnan(h[0]).any() and not torch.isnan(h[1, :3]).any()


@pytest.mark.parametrize("arch,variant", LAYERS[:4])
def test_evaluation_gives_the_reference_numbers_on_real_data(arch, variant, jsb):
    """Validation passes run the loops too: the same NLL and accuracy as the modules."""
    from core.training.train import evaluate
    torch.manual_seed(0)
    model = build_model(arch, variant, units=24)
    pieces = jsb.splits["valid"][:24]
    fast = evaluate(model, pieces)
    fast_rnn.set_enabled(False)
    try:
        reference = evaluate(model, pieces)
    finally:
        fast_rnn.set_enabled(True)
    assert fast["steps"] == reference["steps"]
    assert fast["nll"] == pytest.approx(reference["nll"], rel=1e-5)
    assert fast["accuracy"] == pytest.approx(reference["accuracy"], abs=1e-4)
