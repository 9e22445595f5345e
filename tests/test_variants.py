"""The units taken apart (Greff et al. 2015's LSTM variants and the MGU), cross-tested the way
the three units are: the module, the compiled loop and the step with numbers agree, a removed
gate is gone, CIFG's input gate is one minus its forget gate, each is sized to the budget."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.insight.trace import trace
from core.units import ALL_ARCHS, ARCHS, LSTM_SWITCHES, UNITS, VARIANT_ARCHS, VARIANTS, fast_rnn
from core.units.models import build_model, shift_inputs
from core.units.spec import count_parameters, units_for_budget

ROLL = (np.random.default_rng(0).random((40, 88)) < 0.12).astype(np.uint8)
CASES = [(a, v) for a in VARIANT_ARCHS for v in VARIANTS]


def test_every_switch_is_a_unit_of_the_registry_with_the_issues_keys():
    assert VARIANT_ARCHS == tuple(f"lstm-{s}" for s in LSTM_SWITCHES) + ("mgu",)
    assert set(LSTM_SWITCHES) == {"nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr"}
    assert ALL_ARCHS[:3] == ARCHS
    for arch in VARIANT_ARCHS:
        assert UNITS[arch].family in ("lstm", "gru") and UNITS[arch].color not in {UNITS[a].color for a in ARCHS}


@pytest.mark.parametrize("arch,variant", CASES)
def test_the_compiled_loop_gives_the_modules_outputs_and_gradients(arch, variant):
    model = build_model(arch, variant, units=6, seed=3).double()
    x = torch.rand(3, 9, 88, dtype=torch.float64)
    assert fast_rnn.supported(model, x), f"{arch} {variant} has no compiled loop"

    def loss_and_grads():
        logits, state = model.unroll(x)
        loss = logits.pow(2).sum() + (state[1].sum() if isinstance(state, tuple) else 0)
        return logits.detach(), torch.autograd.grad(loss, list(model.parameters()))
    fast, fast_grads = loss_and_grads()
    previous = fast_rnn.set_enabled(False)
    try:
        slow, slow_grads = loss_and_grads()
    finally:
        fast_rnn.set_enabled(previous)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-10)
    for (name, _), a, b in zip(model.named_parameters(), fast_grads, slow_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9, msg=f"{arch} {variant} {name}")


@pytest.mark.parametrize("arch,variant", CASES)
def test_the_traced_h_is_the_modules_and_a_removed_gate_is_absent(arch, variant):
    model = build_model(arch, variant, budget=20_000, seed=2)
    arrays = trace(model, ROLL).arrays
    with torch.no_grad():
        h = model.rnn(shift_inputs(torch.as_tensor(ROLL, dtype=torch.float32)).unsqueeze(0))[0][0].numpy()
    np.testing.assert_allclose(arrays["h"], h, atol=2e-6)
    unit = UNITS[arch]
    for gate, _ in unit.removed:
        assert gate not in arrays, f"{arch}: the removed gate {gate} is traced"
    assert set(unit.traced) <= set(arrays)


@pytest.mark.parametrize("variant", VARIANTS)
def test_cifg_input_gate_is_one_minus_its_forget_gate(variant):
    arrays = trace(build_model("lstm-cifg", variant, budget=20_000, seed=4), ROLL).arrays
    np.testing.assert_allclose(arrays["i"], 1 - arrays["f"], atol=1e-7)
    assert arrays["f"].std() > 0.01  # a gate that moves, not a constant


def test_a_removed_gate_really_reads_its_constant_in_the_module():
    """nig/nfg/nog: the module's cell holds the gate at exactly 1 (not a sigmoid near 1)."""
    x = torch.rand(2, 88)
    for arch, gate in (("lstm-nig", "i"), ("lstm-nfg", "f"), ("lstm-nog", "o")):
        rnn = build_model(arch, "paper", units=5, seed=0).rnn
        H = rnn.hidden_size
        step = rnn.cell(x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0, torch.randn(2, H), torch.randn(2, H))
        assert torch.equal(step[gate], torch.ones(2, H)), arch
        assert (dict(UNITS[arch].removed)[gate], len(rnn.blocks)) == (1.0, 3)


def test_each_variant_is_sized_to_the_budget_and_counted_exactly():
    for arch in VARIANT_ARCHS:
        for variant in VARIANTS:
            units = units_for_budget(arch, 20_000, variant)
            model = build_model(arch, variant, budget=20_000, seed=0)
            assert sum(p.numel() for p in model.parameters()) == count_parameters(arch, units, variant)
            assert abs(count_parameters(arch, units, variant) - 20_000) / 20_000 < 0.03, arch
    # fewer blocks buy more units; a full gate recurrence (9 H x H) costs units
    assert units_for_budget("lstm-nfg") > units_for_budget("lstm") > units_for_budget("lstm-fgr")


def test_the_equations_highlight_what_each_variant_changed():
    lines = dict(UNITS["lstm-nig"].changes("paper"))
    assert lines[r"i_t \equiv 1"] and lines[r"c_t = f_t \odot c_{t-1} + \tilde{c}_t"]
    assert not lines[r"h_t = o_t \odot \tanh(c_t)"]
    noaf = dict(UNITS["lstm-noaf"].changes("paper"))
    assert [line for line, changed in noaf.items() if changed] == [r"h_t = o_t \odot c_t"]
    # PyTorch's LSTM has no peepholes: dropping them changes nothing there, and nothing is marked
    assert not any(changed for _, changed in UNITS["lstm-np"].changes("torch"))
    assert sum(changed for _, changed in UNITS["lstm-np"].changes("paper")) == 3
    assert not any(changed for a in ARCHS for _, changed in UNITS[a].changes("paper"))


def test_every_variant_trains_a_step_through_the_trainer():
    from core.training.settings import Settings
    from core.training.train import Trainer, make_batches
    seqs = [ROLL[:30], ROLL[10:]]
    for arch in VARIANT_ARCHS:
        trainer = Trainer(Settings(arch=arch, variant="paper", budget=20_000, lr=1e-2, seed=0))
        batch = make_batches(seqs, 2, 0, 0, 1)[0]
        first = trainer.step(batch).loss
        for _ in range(5):
            last = trainer.step(batch).loss
        assert last < first, arch


def test_the_cli_trains_a_variant_with_arch_alone(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "core", "train", "--arch", "lstm-nfg", "--dataset", "chorales",
                             "--epochs", "1", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["arch"] == "lstm-nfg"
    bad = subprocess.run([sys.executable, "-m", "core", "train", "--arch", "lstm-xyz"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "lstm-nfg" in bad.stderr and "Traceback" not in bad.stderr
