"""The teaching tools' pure builders: figures inspected through ``fig.data`` (plotly stores
arrays as base64: decoded first), and the equation stepper's LaTeX with hand-set numbers."""
import math

import numpy as np
import torch

from app.figures.intervention import intervention_figure
from app.figures.memory import FLOOR, memory_figure
from app.figures.saturation import saturation_figure
from app.tools.stepper import input_keys, stepper_lines
from core.insight.interventions import step_numbers
from core.units.models import build_model
from tests.apptest import decode


def spec(fig) -> dict:
    return fig.to_plotly_json()


def test_saturation_figure_one_panel_per_gate_and_each_units_path():
    now = {"tanh": {}, "gru": {"z": (np.array([0.5, 0.0]), np.array([0.25, 0.0])),
                               "r": (np.array([0.0, 1.0]), np.array([1.0, 0.0]))}}
    before = {"gru": {"z": (np.array([0.1, 0.2]), np.array([0.3, 0.4])),
                      "r": (np.array([0.0, 0.0]), np.array([0.0, 0.0]))}}
    s = spec(saturation_figure(now, history=[before]))
    assert [a["text"] for a in s["layout"]["annotations"]] == ["GRU z", "GRU r"]
    dots = {t["name"]: t for t in s["data"] if t.get("mode") == "markers"}
    assert set(dots) == {"GRU z", "GRU r"}
    np.testing.assert_array_equal(decode(dots["GRU z"]["x"]), [0.5, 0.0])
    np.testing.assert_array_equal(decode(dots["GRU z"]["y"]), [0.25, 0.0])
    path = next(t for t in s["data"] if t.get("name") == "GRU z path")
    x = decode(path["x"])   # unit 0: 0.1 -> (NaN), unit 1: 0.2 -> (NaN): one point each so far
    np.testing.assert_allclose(x[[0, 2]], [0.1, 0.2], rtol=1e-6)
    assert np.isnan(x[[1, 3]]).all()
    assert "No gates" in spec(saturation_figure({"tanh": {}}))["layout"]["title"]["text"]


def test_memory_figure_log_scale_and_zero_floored():
    s = spec(memory_figure({"tanh": np.array([1.0, 0.1, 0.0]), "gru": np.array([1.0, 0.9, np.nan])},
                           average={"gru": np.array([0.5, 0.5, 0.5])}, t=7))
    assert s["layout"]["yaxis"]["type"] == "log"
    by = {t["name"]: decode(t["y"]) for t in s["data"]}
    np.testing.assert_allclose(by["tanh RNN at step 7"], [1.0, 0.1, FLOOR], rtol=1e-6)
    assert np.isnan(by["GRU at step 7"][2])
    np.testing.assert_allclose(by["GRU average over steps"], [0.5] * 3)


def test_intervention_figure_shows_both_lines_and_the_change():
    s = spec(intervention_figure("lstm", np.array([1.0, 2.0]), np.array([1.5, 1.0]), "f = 1"))
    bars = next(t for t in s["data"] if t["type"] == "bar")
    np.testing.assert_allclose(decode(bars["y"]), [0.5, -1.0])
    assert "mean NLL change -0.250" in s["layout"]["title"]["text"]
    assert {t["name"] for t in s["data"]} >= {"LSTM as trained", "LSTM with f = 1"}


def test_stepper_substitutes_hand_checked_numbers():
    # tanh unit: a = W x + U h + b with W[0, key 39 (C4)] = 0.5, b = 0.25 -> tanh(0.75)
    model = build_model("tanh", "torch", units=1, seed=0)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.rnn.weight_ih_l0[0, 39] = 0.5
        model.rnn.bias_ih_l0[0] = 0.25
    roll = np.zeros((3, 88), dtype=np.uint8)
    roll[1, 39] = 1
    n = step_numbers(model, roll, 2)           # step 2 reads frame 1: C4
    assert input_keys(n["x"]) == ["C4"]
    (line,) = stepper_lines("tanh", "torch", n, 0)
    assert r"\tanh(0.500 + 0.000 + 0.250) = \tanh(0.750) = " + f"{math.tanh(0.75):.3f}" in line


def test_stepper_lines_for_every_unit_and_variant():
    roll = (np.random.default_rng(0).random((6, 88)) < 0.2).astype(np.uint8)
    for arch, count in (("gru", 4), ("lstm", 6)):
        for variant in ("torch", "paper"):
            model = build_model(arch, variant, units=3, seed=1)
            n = step_numbers(model, roll, 4)
            lines = stepper_lines(arch, variant, n, 2)
            assert len(lines) == count
            assert lines[-1].endswith(f"{n['h'][2]:.3f}".replace("-", "{-}"))
            assert (r"V_f \odot" in lines[1]) == (arch == "lstm" and variant == "paper")
    z_line = stepper_lines("gru", "torch", step_numbers(build_model("gru", "torch", units=2), roll, 1), 0)[1]
    assert z_line.startswith(r"z_t = 1 - \sigma")


def test_the_units_description_adds_up_with_the_step_numbers():
    """Every step of every unit's one description (core.units.registry), evaluated on a real
    step's numbers (core.units.teaching_cells), gives the quantity the cell computed: the
    description the stepper and the LaTeX read is the unit's true equations."""
    from core.units import UNITS
    from core.units.registry import Affine
    act = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "1-sigmoid": lambda a: 1 - 1 / (1 + np.exp(-a)),
           "tanh": np.tanh, "identity": lambda a: a}
    form = {"": lambda v: v, "1-": lambda v: 1 - v, "tanh": np.tanh}
    roll = (np.random.default_rng(1).random((6, 88)) < 0.2).astype(np.uint8)
    for arch, unit in UNITS.items():  # the three and every unit taken apart
        for variant, steps in unit.steps:
            n = step_numbers(build_model(arch, variant, units=3, seed=2), roll, 4)
            assert not {g for g, _ in unit.removed} & set(n), f"{arch}: a removed gate has numbers"
            for step in steps:
                if isinstance(step, Affine):
                    a = sum(n[f"{term.part}_{step.key}"] for term in step.terms)
                    if step.gated:
                        a = a + n[step.gate[0]] * sum(n[f"{term.part}_{step.key}"] for term in step.gated)
                    np.testing.assert_allclose(a, n[f"a_{step.key}"], atol=1e-5, err_msg=f"{arch} {variant}")
                    np.testing.assert_allclose(act[step.act](a), n[step.out], atol=1e-5)
                else:
                    mixed = sum(np.prod([form[f](n[key]) for _, key, f in product], axis=0)
                                for product in step.products)
                    np.testing.assert_allclose(mixed, n[step.out], atol=1e-5, err_msg=f"{arch} {variant}")
