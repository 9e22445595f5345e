"""What each unit costs: multiply-adds from the shapes, seconds to reach an NLL, the Lab's cost
row from its own timings, and the Paper page's comparison from the committed runs."""
import math

import pytest
import torch

from app.paper import results as paper
from app.paper.words import race_text
from core.lab import Lab
from core.music.data import load_dataset
from core.training.settings import LabSettings
from core.units import ARCHS
from core.units.costs import formula, multiply_adds, seconds_to_reach
from core.units.models import build_model
from core.units.spec import count_parameters


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("variant", ["torch", "paper"])
def test_multiply_adds_are_the_weight_matrices_products(arch, variant):
    """Every weight of W, U, the read-out (and the peepholes) is used once per step: the
    multiply-adds equal the parameters minus the biases."""
    model = build_model(arch, variant, units=7, seed=0)
    biases = sum(p.numel() for name, p in model.named_parameters() if "bias" in name)
    assert multiply_adds(arch, 7, variant) == count_parameters(arch, 7, variant) - biases
    assert sum(p.numel() for p in model.parameters()) - biases == multiply_adds(arch, 7, variant)
    H = 7
    assert eval(formula(arch, variant).replace("·", "*"), {"H": H}) == multiply_adds(arch, H, variant)


def test_seconds_to_reach_is_the_first_evaluation_at_or_below_the_target():
    rows = [(0, 0.0, 60.0), (10, 1.5, 20.0), (20, 3.0, 9.0), (30, 4.5, 8.5)]
    assert seconds_to_reach(rows, 9.0) == 3.0 and seconds_to_reach(rows, 60.0) == 0.0
    assert seconds_to_reach(rows, 8.0) is None and seconds_to_reach([], 1.0) is None


def test_the_lab_s_cost_row_comes_from_its_own_timings():
    torch.manual_seed(0)
    lab = Lab(LabSettings(archs=("tanh", "gru"), eval_every=1000), load_dataset("chorales"))
    before = lab.metrics()
    assert all(math.isnan(m["ms_per_update"]) and math.isnan(m["trace_ms_per_1000"]) for m in before.values())
    for _ in range(3):
        lab.step()
    lab.views(0)
    for arch, m in lab.metrics().items():
        trainer = lab.trainers[arch]
        assert m["ms_per_update"] == pytest.approx(1000 * trainer.seconds / 3)
        assert 0 < m["trace_ms_per_1000"] < 60_000
        assert m["multiply_adds"] == multiply_adds(arch, trainer.model.spec.units) and m["formula"] == formula(arch)


def test_the_paper_page_races_the_committed_runs():
    runs = paper.cost_runs(paper.committed_config("paper"))
    assert set(runs) == {"jsb", "nottingham", "musedata", "piano-midi"}
    units = runs["jsb"]
    target = paper.default_target(units)
    rows = paper.cost_rows("jsb", units, target)
    assert [r["unit"] for r in rows] == ["tanh RNN", "GRU", "LSTM"]
    assert all(r["seconds_to_target"] is not None for r in rows)   # the default: every unit gets there
    assert all(r["ms_per_update"] > 0 and r["multiply_adds"] > 0 for r in rows)
    first = min(rows, key=lambda r: r["seconds_to_target"])["unit"]
    assert race_text(rows, target).startswith(f"**{first} reached {target:.2f} first**")
    hard = paper.cost_rows("jsb", units, 1.0)
    assert all(r["seconds_to_target"] is None for r in hard) and "No unit reached" in race_text(hard, 1.0)


def test_the_lab_races_its_models_to_a_validation_nll_the_user_picks():
    from tests.apptest import new_app
    from tests.test_app import ready, run_until
    at = new_app(archs="tanh,gru")
    run_until(at, ready, what="the models to be built")
    try:
        assert not any("validation NLL" in c.value and "reached" in c.value for c in at.caption)  # off: 0
        at.number_input(key="race_target").set_value(100.0).run()
        lines = [c.value for c in at.caption if "multiply-adds per step" in c.value]
        assert len(lines) == 2 and all("validation NLL 100.00 reached after 0.0 s of training" in v for v in lines)
        at.number_input(key="race_target").set_value(1.0).run()
        assert all("validation NLL 1.00 not reached yet" in c.value for c in at.caption
                   if "multiply-adds per step" in c.value)
    finally:
        at.session_state["lab_client"].close()
