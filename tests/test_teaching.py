"""The teaching tools' maths (core.insight.analysis, core.units.teaching_cells) on hand-built inputs with
hand-computed expectations, and against autograd / the exact traces."""
import math

import numpy as np
import pytest
import torch

from core.insight.analysis import memory_curve, memory_gradients, saturation, trace_saturation
from core.insight.interventions import intervention, run_clamped, step_numbers
from core.insight.lesson import answer_step
from core.insight.trace import Trace, trace
from core.units.models import build_model
from core.units.teaching_cells import Clamp, cell_numbers


def roll_of(T: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, 88)) < 0.1).astype(np.uint8)


# -- saturation ---------------------------------------------------------------------------------

def test_saturation_fractions_on_a_hand_built_trace():
    # unit 0: 0.05, 0.95, 0.5, 0.02 -> left 2/4, right 1/4; unit 1: always 0.9 (not > 0.9)
    z = np.array([[0.05, 0.9], [0.95, 0.9], [0.5, 0.9], [0.02, 0.9]])
    r = np.array([[0.99, 0.1], [0.99, 0.09], [0.99, 0.5], [0.99, 0.5]])
    tr = Trace("gru", "torch", 2, {"z": z, "r": r, "nll": np.zeros(4)})
    got = trace_saturation(tr)
    np.testing.assert_array_equal(got["z"][0], [0.5, 0.0])
    np.testing.assert_array_equal(got["z"][1], [0.25, 0.0])
    np.testing.assert_array_equal(got["r"][0], [0.0, 0.25])
    np.testing.assert_array_equal(got["r"][1], [1.0, 0.0])
    # thresholds are adjustable; pooling two traces weighs every step equally
    left, right = saturation(z, low=0.5, high=0.6)
    np.testing.assert_array_equal(left, [0.5, 0.0])
    np.testing.assert_array_equal(right, [0.25, 1.0])
    short = Trace("gru", "torch", 2, {"z": z[:1], "r": r[:1], "nll": np.zeros(1)})
    np.testing.assert_allclose(trace_saturation([tr, short])["z"][0], [3 / 5, 0])
    assert trace_saturation(Trace("tanh", "torch", 2, {"nll": np.zeros(4)})) == {}


def test_saturation_of_no_steps_is_nan():
    left, right = saturation(np.zeros((0, 3)))
    assert left.shape == (3,) and np.isnan(left).all() and np.isnan(right).all()


# -- the step with every number, and clamps ------------------------------------------------------

@pytest.mark.parametrize("arch", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("variant", ["torch", "paper"])
def test_the_unclamped_step_loop_reproduces_the_trace(arch, variant):
    model = build_model(arch, variant, units=5, seed=1)
    roll = roll_of(30)
    got, want = run_clamped(model, roll), trace(model, roll)
    np.testing.assert_allclose(got["h"], want["h"], atol=1e-5)
    np.testing.assert_allclose(got["nll"], want["nll"], rtol=1e-5)


@pytest.mark.parametrize("variant", ["torch", "paper"])
def test_step_numbers_add_up_and_match_the_trace(variant):
    for arch in ("gru", "lstm"):
        model = build_model(arch, variant, units=4, seed=2)
        roll = roll_of(12, seed=3)
        tr, n = trace(model, roll), step_numbers(model, roll, 7)
        np.testing.assert_allclose(n["h"], tr["h"][7], atol=1e-5)
        np.testing.assert_array_equal(n["x"], roll[6])   # step 7 reads frame 6
        np.testing.assert_allclose(n["h_prev"], tr["h"][6], atol=1e-6)
        for g in ("z", "r") if arch == "gru" else ("i", "f", "o"):
            np.testing.assert_allclose(n[g], tr[g][7], atol=1e-5)
        if arch == "lstm":   # a_f = W_f x + U_f h_prev + V_f c_prev + b_f, f = sigm(a_f)
            np.testing.assert_allclose(n["a_f"], n["Wx_f"] + n["Uh_f"] + n["Vc_f"] + n["b_f"], atol=1e-6)
            np.testing.assert_allclose(n["f"], 1 / (1 + np.exp(-n["a_f"])), atol=1e-6)
        elif variant == "torch":  # a_n = W x + b_W + r (U h_prev + b_U)
            np.testing.assert_allclose(n["a_n"], n["Wx_n"] + n["b_n"] + n["r"] * (n["Uh_n"] + n["bU_n"]),
                                       atol=1e-6)


def lstm_one_unit():
    """An LSTM of one unit with hand-set weights: every gate reads key 0 only."""
    model = build_model("lstm", "torch", units=1, seed=0)
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.zero_()
        model.rnn.weight_ih_l0[:, 0] = torch.tensor([1.0, -2.0, 0.5, 3.0])  # rows i, f, g, o
    return model


def test_forget_gate_clamped_to_one_equals_a_hand_computed_cell():
    model = lstm_one_unit()
    x = torch.zeros(88)
    x[0] = 1.0
    c_prev, h_prev = torch.tensor([0.7]), torch.tensor([0.0])
    n = cell_numbers(model, x, h_prev, c_prev, Clamp("f", 1.0))

    def sig(a):
        return 1 / (1 + math.exp(-a))

    # i = sigm(1), f = 1 (clamped; unclamped it would be sigm(-2)), c~ = tanh(0.5), o = sigm(3)
    c = 1.0 * 0.7 + sig(1.0) * math.tanh(0.5)
    assert n["f"].item() == 1.0
    assert n["c"].item() == pytest.approx(c, abs=1e-6)
    assert n["h"].item() == pytest.approx(sig(3.0) * math.tanh(c), abs=1e-6)
    free = cell_numbers(model, x, h_prev, c_prev)
    assert free["c"].item() == pytest.approx(sig(-2.0) * 0.7 + sig(1.0) * math.tanh(0.5), abs=1e-6)


def test_a_clamp_on_selected_units_leaves_the_others_alone():
    model = build_model("lstm", "paper", units=4, seed=5)
    roll = roll_of(20)
    got = run_clamped(model, roll, Clamp("f", 0.0, units=(1, 3)))
    free = trace(model, roll)
    assert (got["f"][:, [1, 3]] == 0).all()
    np.testing.assert_allclose(got["f"][0, [0, 2]], free["f"][0, [0, 2]], atol=1e-6)  # same at step 0


@pytest.mark.parametrize("variant", ["torch", "paper"])
def test_gru_keep_old_holds_the_start_state_and_take_new_is_the_candidate(variant):
    model = build_model("gru", variant, units=3, seed=4)
    roll = roll_of(15)
    keep = run_clamped(model, roll, Clamp("z", 0.0))
    assert (keep["h"] == 0).all() and (keep["z"] == 0).all()  # h = h_prev = h_0 = 0 forever
    result = intervention(model, roll, Clamp("z", 0.0))
    np.testing.assert_allclose(result["base"], trace(model, roll)["nll"], rtol=1e-5)
    empty = step_nll_of_zero_state(model, roll)
    np.testing.assert_allclose(result["clamped"], empty, rtol=1e-5)


def step_nll_of_zero_state(model, roll):
    from core.insight.trace import step_nll
    with torch.no_grad():
        logits = model.out(torch.zeros(len(roll), model.spec.units))
        return step_nll(logits, torch.as_tensor(roll, dtype=torch.float32)).numpy()


# -- memory length -------------------------------------------------------------------------------

def test_memory_gradients_match_autograd_jacobians():
    for arch in ("tanh", "gru", "lstm"):
        model = build_model(arch, "torch", units=3, seed=6).eval()
        roll = roll_of(10, seed=7)
        x = torch.cat([torch.zeros(1, 88), torch.as_tensor(roll[:-1], dtype=torch.float32)])
        J = torch.autograd.functional.jacobian(lambda x, model=model: model.out(model.rnn(x[None])[0])[0, 8], x)
        want = [J[:, 8 - k].norm().item() for k in range(5)]       # (88, 10, 88) -> k = 0..4
        np.testing.assert_allclose(memory_gradients(model, roll, 8, 4), want, rtol=1e-4)
        got = memory_gradients(model, roll, 2, 4)                   # t - k < 0: NaN
        assert np.isnan(got[3:]).all() and np.isfinite(got[:3]).all()


def test_memory_gradient_of_a_one_unit_tanh_rnn_by_hand():
    # h_t = tanh(w x_t + u h_{t-1}), y = v h_t (one key in, one key out, all else zero)
    model = build_model("tanh", "torch", units=1, seed=0)
    w, u, v = 0.8, 0.5, 2.0
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.rnn.weight_ih_l0[0, 0], model.rnn.weight_hh_l0[0, 0], model.out.weight[0, 0] = w, u, v
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[:, 0] = 1                            # x_0 = 0 (silent), x_1 = x_2 = x_3 = 1
    h = [0.0]
    for x in (0, 1, 1, 1):
        h.append(math.tanh(w * x + u * h[-1]))
    d = [1 - h[s + 1] ** 2 for s in range(4)]  # tanh' at steps 0..3
    # dy_3/dx_{3-k} = v * d_3 * (u d_2) ... (u d_{3-k+1}) * d... : chain rule, w at the input
    want = [v * d[3] * w, v * d[3] * u * d[2] * w, v * d[3] * u * d[2] * u * d[1] * w,
            v * d[3] * u * d[2] * u * d[1] * u * d[0] * w]
    np.testing.assert_allclose(memory_gradients(model, roll, 3, 3), want, rtol=1e-5)
    assert memory_curve(model, roll, 3).shape == (4,)


def test_answer_step_finds_the_chord():
    from core.music.data import load_dataset
    roll = load_dataset("long-memory", lag=5, n_train=1, n_valid=1, n_test=1).splits["valid"][0]
    t = answer_step(roll)
    call = int(np.flatnonzero(roll[:, 51:63].any(axis=1) & ~roll[:, 63:].any(axis=1))[0])
    assert t == call + 5
    assert answer_step(np.zeros((4, 88))) is None


def test_answer_nll_is_the_nll_at_the_chord():
    from core.insight.lesson import answer_nll
    from core.music.data import load_dataset
    pieces = load_dataset("long-memory", lag=5, n_train=1, n_valid=3, n_test=1).splits["valid"]
    model = build_model("gru", "torch", units=3, seed=0)
    want = np.mean([trace(model, p)["nll"][answer_step(p)] for p in pieces])
    assert answer_nll(model, pieces) == pytest.approx(want)
    assert np.isnan(answer_nll(model, [np.zeros((4, 88))]))


def test_lesson_point_needs_a_gated_unit_well_below_tanh():
    from core.insight.lesson import lesson_point, lesson_settings
    assert lesson_point({"tanh": 16.0, "gru": 12.9, "lstm": 16.1})
    assert not lesson_point({"tanh": 16.0, "gru": 13.5, "lstm": 15.0})
    assert not lesson_point({"gru": 1.0})
    s = lesson_settings()
    assert (s.dataset, s.lr, s.batch_size, s.truncate) == ("long-memory", 0.01, 32, 0)
