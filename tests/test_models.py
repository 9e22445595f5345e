"""The three units in both variants: sizes, PyTorch compatibility, the paper's equations."""
import pytest
import torch
from torch import nn

from core.units import ARCHS, PAPER_UNITS
from core.units.cells import PaperGRU, PaperLSTM
from core.units.models import build_model
from core.units.spec import VARIANTS, ModelSpec, count_parameters, units_for_budget


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("units", [1, 7, 36, 100])
def test_parameter_count_formula_matches_the_module(arch, variant, units):
    model = build_model(arch, variant, units=units)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(arch, units, variant)


def test_paper_sizes_give_the_counts_for_88_keys():
    # The paper's Table 1 sizes with 88-d inputs/outputs (the paper reports ~27.8k / 22.8k / 21.4k).
    assert count_parameters("tanh", PAPER_UNITS["tanh"]) == 27888
    assert count_parameters("gru", PAPER_UNITS["gru"]) == 22904
    assert count_parameters("lstm", PAPER_UNITS["lstm"]) == 21400
    assert build_model("gru").spec.units == 46


@pytest.mark.parametrize("arch", ARCHS)
def test_budget_picks_the_closest_unit_count(arch):
    units = units_for_budget(arch, 20_000)
    n = count_parameters(arch, units)
    assert abs(n - 20_000) <= abs(count_parameters(arch, units + 1) - 20_000)
    assert abs(n - 20_000) <= abs(count_parameters(arch, units - 1) - 20_000)
    assert abs(n - 20_000) < 1000


@pytest.mark.parametrize("arch,module", [("tanh", nn.RNN), ("gru", nn.GRU), ("lstm", nn.LSTM)])
def test_torch_variant_weights_load_into_a_plain_torch_module(arch, module):
    """The model's own forward pass (on the CPU: the compiled loops of core.units.fast_rnn) computes
    what a plain torch module with its weights computes."""
    model = build_model(arch, "torch", units=12, seed=3)
    plain = module(88, 12, batch_first=True)
    plain.load_state_dict(model.rnn.state_dict())
    x = torch.rand(2, 9, 88)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.out(plain(x)[0]), atol=1e-5, rtol=1e-5)


def test_paper_gru_one_step_by_hand():
    cell = PaperGRU(2, 1)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor([[0.5, -0.25], [1.0, 0.5], [-0.5, 2.0]]))  # r, z, n
        cell.weight_hh_l0.copy_(torch.tensor([[0.3], [-0.6], [0.8]]))
        cell.bias_ih_l0.zero_()
        cell.bias_hh_l0.copy_(torch.tensor([0.1, 0.0, -0.2]))
    x, h_prev = torch.tensor([[[1.0, 1.0]]]), torch.tensor([[[0.5]]])
    out, _ = cell(x, h_prev)
    # r = sigm(0.5 - 0.25 + 0.3*0.5 + 0.1) = sigm(0.5); z = sigm(1 + 0.5 - 0.6*0.5) = sigm(1.2)
    # h~ = tanh(-0.5 + 2 + 0.8*(r*0.5) - 0.2); h = (1 - z)*0.5 + z*h~
    step = cell.cell(x[0] @ cell.weight_ih_l0.T, h_prev[0])
    assert step["r"].item() == pytest.approx(0.6224593312018546, abs=1e-6)
    assert step["z"].item() == pytest.approx(0.7685247834990175, abs=1e-6)
    assert step["h_tilde"].item() == pytest.approx(0.9136176541597321, abs=1e-6)
    assert out.item() == pytest.approx(0.8178754181144796, abs=1e-6)


def test_paper_lstm_one_step_by_hand():
    cell = PaperLSTM(1, 1)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor([[0.2], [0.4], [-0.3], [0.6]]))  # i, f, g, o
        cell.weight_hh_l0.copy_(torch.tensor([[0.1], [-0.2], [0.5], [0.3]]))
        cell.bias_ih_l0.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0]))
        cell.bias_hh_l0.zero_()
        cell.weight_peep_l0.copy_(torch.tensor([[0.5], [-0.5], [1.0]]))  # V_i, V_f, V_o
    x = torch.tensor([[[1.0]]])
    h_prev, c_prev = torch.tensor([[[0.5]]]), torch.tensor([[[-0.4]]])
    # i = sigm(0.2 + 0.1*0.5 + 0.5*(-0.4)); f = sigm(0.4 + 1 - 0.2*0.5 - 0.5*(-0.4))
    # g = tanh(-0.3 + 0.5*0.5); c = f*(-0.4) + i*g; o = sigm(0.6 + 0.3*0.5 + 1.0*c); h = o tanh(c)
    step = cell.cell(x[0] @ cell.weight_ih_l0.T + cell.bias_ih_l0, h_prev[0], c_prev[0])
    expected = {"i": 0.5124973964842103, "f": 0.8175744761936437, "g": -0.04995837495787998,
                "c": -0.35263332757595295, "o": 0.598054810768026, "h": -0.2025664527848049}
    for name, value in expected.items():
        assert step[name].item() == pytest.approx(value, abs=1e-6), name
    out, (h_n, c_n) = cell(x, (h_prev, c_prev))
    assert out.item() == pytest.approx(expected["h"], abs=1e-6)
    assert c_n.item() == pytest.approx(expected["c"], abs=1e-6)


def test_paper_lstm_with_zero_peepholes_is_torch_lstm():
    paper = build_model("lstm", "paper", units=10, seed=1)
    with torch.no_grad():
        paper.rnn.weight_peep_l0.zero_()
    plain = nn.LSTM(88, 10, batch_first=True)
    plain.load_state_dict({k: v for k, v in paper.rnn.state_dict().items() if k != "weight_peep_l0"})
    x = torch.rand(3, 20, 88)
    assert torch.allclose(plain(x)[0], paper.hidden(x), atol=1e-6)


def test_the_two_gru_forms_differ_on_the_same_weights():
    torch_gru = build_model("gru", "torch", units=16, seed=5)
    paper_gru = build_model("gru", "paper", units=16)
    paper_gru.load_state_dict(torch_gru.state_dict())
    x = (torch.rand(2, 30, 88) < 0.1).float()
    difference = (torch_gru.hidden(x) - paper_gru.hidden(x)).abs().max().item()
    assert difference > 0.05


def test_step_continues_the_sequence_like_forward():
    for arch in ARCHS:
        for variant in VARIANTS:
            model = build_model(arch, variant, units=8, seed=0)
            x = torch.rand(1, 6, 88)
            state, logits = None, []
            for t in range(6):
                out, state = model.step(x[:, t], state)
                logits.append(out)
            assert torch.allclose(torch.stack(logits, 1), model(x), atol=1e-6), (arch, variant)


def test_bad_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelSpec("transformer", "torch", 10)
    with pytest.raises(ValueError, match="variant"):
        ModelSpec("gru", "keras", 10)
