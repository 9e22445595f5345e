"""Traces are exactly what the models compute, on real data, trained and untrained."""
import numpy as np
import pytest
import torch

from core.insight.trace import trace
from core.training.settings import Settings
from core.training.train import Trainer, make_batches
from core.units import ARCHS, UNITS, fast_rnn
from core.units.models import build_model, shift_inputs
from core.units.records import ALIGNMENT
from core.units.spec import VARIANTS


@pytest.fixture(scope="module")
def piece(jsb):
    return max(jsb.splits["valid"], key=len)   # the longest validation chorale (144 steps)


@pytest.fixture(scope="module")
def trained(jsb):
    """One model per architecture and variant after 30 updates on JSB."""
    models = {}
    for arch in ARCHS:
        for variant in VARIANTS:
            trainer = Trainer(Settings(dataset="jsb", arch=arch, variant=variant, units=20, lr=3e-3))
            for batch in make_batches(jsb.splits["train"], 16, 0, 0, 1)[:30]:
                trainer.step(batch)
            models[arch, variant] = trainer.model
    return models


def module_hidden(model, roll) -> np.ndarray:
    x = shift_inputs(torch.as_tensor(roll, dtype=torch.float32)).unsqueeze(0)
    with torch.no_grad():
        return model.hidden(x)[0].numpy()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("weights", ["random", "trained"])
def test_traced_h_equals_the_fused_module(arch, weights, piece, trained):
    model = build_model(arch, "torch", seed=11) if weights == "random" else trained[arch, "torch"]
    result = trace(model, piece)
    assert np.abs(result["h"] - module_hidden(model, piece)).max() <= 1e-5
    assert set(result.arrays) == {"h", "probs", "nll", "target", *UNITS[arch].traced}


@pytest.mark.parametrize("arch", ARCHS)
def test_paper_variant_trace_matches_the_step_by_step_cells(arch, piece, trained):
    model = trained[arch, "paper"]
    result = trace(model, piece)
    assert np.abs(result["h"] - module_hidden(model, piece)).max() <= 1e-5
    if arch == "tanh":
        return
    rnn = model.rnn
    x = shift_inputs(torch.as_tensor(piece, dtype=torch.float32))
    wx = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
    h = c = torch.zeros(1, rnn.hidden_size)
    with torch.no_grad():
        for t in range(len(piece)):
            step = rnn.cell(wx[t:t + 1], h) if arch == "gru" else rnn.cell(wx[t:t + 1], h, c)
            for gate in UNITS[arch].traced:
                assert np.allclose(result[gate][t], step[gate][0].numpy(), atol=1e-5), (gate, t)
            h, c = step["h"], step.get("c")


def test_torch_gru_z_is_reported_as_the_share_of_the_new_candidate(piece, trained):
    model = trained["gru", "torch"]
    result = trace(model, piece)
    H = model.spec.units
    h_prev = np.vstack([np.zeros((1, H)), result["h"][:-1]])
    # The paper's form h = (1 - z) h_prev + z h~ holds with GateLab's z ...
    assert np.allclose(result["h"], (1 - result["z"]) * h_prev + result["z"] * result["h_tilde"], atol=1e-5)
    # ... and z is 1 minus PyTorch's own update gate, computed here from the raw weights.
    x = shift_inputs(torch.as_tensor(piece, dtype=torch.float32)).numpy()
    W, U = model.rnn.weight_ih_l0.detach().numpy(), model.rnn.weight_hh_l0.detach().numpy()
    b_i, b_h = model.rnn.bias_ih_l0.detach().numpy(), model.rnn.bias_hh_l0.detach().numpy()
    z_torch = 1 / (1 + np.exp(-(x @ W[H:2 * H].T + b_i[H:2 * H] + h_prev @ U[H:2 * H].T + b_h[H:2 * H])))
    assert np.allclose(result["z"], 1 - z_torch, atol=1e-5)


def test_alignment_step_t_predicts_frame_t_from_earlier_frames(piece):
    model = build_model("lstm", seed=2)
    altered = piece.copy()
    altered[10] = 1 - altered[10]           # change frame 10 only
    a, b = trace(model, piece), trace(model, altered)
    assert np.array_equal(a["probs"][:11], b["probs"][:11])   # steps 0..10 have not read frame 10
    assert not np.allclose(a["probs"][11], b["probs"][11])    # step 11 has
    assert np.array_equal(b["target"], altered)
    p, y = a["probs"].astype(np.float64), piece
    nll = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(1)
    assert np.allclose(a["nll"], nll, rtol=1e-4)


def test_fallback_without_numba_gives_the_same_trace(piece, trained, monkeypatch):
    for arch in ARCHS:
        fast = trace(trained[arch, "paper"], piece)
        monkeypatch.setattr(fast_rnn, "available", lambda: False)
        slow = trace(trained[arch, "paper"], piece)
        monkeypatch.undo()
        for name in fast.arrays:
            assert np.allclose(fast[name], slow[name], atol=1e-5), (arch, name)


def test_gates_are_in_range_and_lstm_cell_follows_its_equation(piece, trained):
    result = trace(trained["lstm", "torch"], piece)
    for gate in ("i", "f", "o"):
        assert 0 <= result[gate].min() and result[gate].max() <= 1
    c_prev = np.vstack([np.zeros((1, result["c"].shape[1])), result["c"][:-1]])
    assert np.allclose(result["c"], result["f"] * c_prev + result["i"] * result["g"], atol=1e-5)


def test_empty_piece_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        trace(build_model("gru"), np.zeros((0, 88)))
    assert ALIGNMENT.startswith("step t has read frames 0..t-1")
