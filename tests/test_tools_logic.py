"""The Gate tools page's logic without widgets (app/tools/data.py): the tools and their names,
the models with gates, the saturation snapshots kept while following the Lab, the memory
tool's ranges, the clamps and their labels, the stepper's steps and heading. Outside a page run
the page's language is English. The widgets that use these are drawn by the AppTest tests in
test_app_tools.py."""
import numpy as np
import pytest
import torch

from app.tools import data as tools
from app.tools import views as tools_views
from app.tools.stepper import stepper_lines
from core.insight.interventions import step_numbers
from core.units import ALL_ARCHS, UNITS
from core.units.models import build_model, shift_inputs
from core.units.records import Clamp


def test_every_tool_has_a_view_and_a_name():
    assert list(tools_views.VIEWS) == list(tools.TOOLS)
    assert tools.tool_labels() == {"saturation": "Gate saturation", "interventions": "Gate interventions",
                                   "memory": "Memory length", "stepper": "Equation stepper"}


def test_only_models_with_gates_are_offered_for_interventions():
    assert tools.gated(dict.fromkeys(("tanh", "gru", "lstm"))) == ["gru", "lstm"]
    assert tools.gated({"tanh": None}) == []


def test_the_labs_models_are_named_by_their_update_counts():
    weights = {"tanh": {"updates": 3}, "lstm": {"updates": 5}}
    assert tools.lab_key(weights) == ("lab", 3, 5)


def test_snapshots_are_kept_per_model_state_up_to_history():
    history = []
    assert tools.keep_snapshot(history, {"p": 0}, ("lab", 0)) == []          # nothing before the first
    assert tools.keep_snapshot(history, {"p": 0}, ("lab", 0)) == []          # the same models: no new one
    assert tools.keep_snapshot(history, {"p": 1}, ("lab", 1)) == [{"p": 0}]
    for n in range(2, 20):
        earlier = tools.keep_snapshot(history, {"p": n}, ("lab", n))
    assert len(history) == tools.HISTORY and history[-1] == (("lab", 19), {"p": 19})
    assert earlier == [{"p": n} for n in range(20 - tools.HISTORY, 19)]
    assert tools.keep_snapshot([], {"p": 0}, ("lab", 0), keep=1) == []


def test_memory_ranges_fit_the_piece_and_start_at_the_answer():
    assert tools.memory_ranges(200, None) == {"K_url": 30, "K_max": 80, "K": 30, "t": 199}
    assert tools.memory_ranges(200, 45) == {"K_url": 30, "K_max": 80, "K": 30, "t": 45}
    assert tools.memory_ranges(12, None) == {"K_url": 11, "K_max": 11, "K": 11, "t": 11}
    one = tools.memory_ranges(1, None)       # a single step: the sliders still have a range
    assert one["K_max"] == 1 and one["K"] == 1 and one["t"] == 0


def test_clamps_offered_are_the_units_own_with_their_meanings():
    for arch in ALL_ARCHS:
        options, meanings = tools.clamp_options(arch)
        assert options == list(UNITS[arch].clamps) and set(meanings) == set(options)
        assert all(meanings[o].startswith(f"{o[0]} = {o[1]:g}: ") for o in options), arch   # no key shown raw
    options, meanings = tools.clamp_options("lstm")
    assert options[0] == ("f", 1.0) and meanings[("f", 1.0)] == "f = 1: never forget (the cell only accumulates)"


def test_a_removed_gate_is_never_offered_but_said_to_be_fixed_already():
    for arch in ALL_ARCHS:
        options, _ = tools.clamp_options(arch)
        removed = dict(UNITS[arch].removed)
        assert not [o for o in options if o[0] in removed], arch
        assert len(tools.removed_gates(arch)) == len(removed)
    assert tools.gated({"lstm-nfg": None, "tanh": None, "mgu": None}) == ["lstm-nfg", "mgu"]
    assert tools.removed_gates("lstm-nfg") == ["LSTM-NFG has no gate f: it is 1 at every step already, "
                                              "so there is nothing to clamp."]
    options, _ = tools.clamp_options("lstm-nfg")
    assert tools.url_clamp(options, "f", 1.0, options[0]) == ("i", 0.0)     # a link's f: not this unit's
    assert tools.removed_gates("lstm") == [] and tools.removed_gates("mgu") == []


def test_a_teacher_links_clamp_is_taken_only_if_offered():
    options, _ = tools.clamp_options("lstm")
    assert tools.url_clamp(options, "f", 0.0, ("f", 1.0)) == ("f", 0.0)
    assert tools.url_clamp(options, "z", 0.0, ("f", 1.0)) == ("f", 1.0)      # a GRU gate: not the LSTM's
    assert tools.url_clamp(options, "f", 0.5, ("i", 0.0)) == ("i", 0.0)


def test_clamp_labels_name_the_gate_value_and_units():
    assert tools.clamp_label(Clamp("f", 1.0)) == "f = 1 for all units"
    assert tools.clamp_label(Clamp("z", 0.0, (1, 2))) == "z = 0 for units 1, 2"


def test_the_stepper_stays_in_the_piece():
    assert [tools.step_back(t) for t in (0, 1, 5)] == [0, 0, 4]
    assert [tools.step_next(t, 6) for t in (0, 4, 5)] == [1, 5, 5]


def numbers(lstm: bool) -> dict:
    x = np.zeros(88, np.float32)
    x[[39, 43]] = 1          # C4 and E4
    n = {"x": x, "h_prev": np.array([0.1234, -0.5])}
    return n | {"c_prev": np.array([1.0, 2.5])} if lstm else n


def test_stepper_text_names_the_unit_step_inputs_and_previous_state():
    text = tools.stepper_text("lstm", "torch", numbers(lstm=True), 1, 4)
    assert text == ("**LSTM, PyTorch equations, unit 1, step 4.** PyTorch's LSTM: no peephole weights V.  \n"
                    "Input x_t = frame 3: C4, E4. Previous state h_(t−1) = -0.500, c_(t−1) = 2.500.")
    quiet = numbers(lstm=False) | {"x": np.zeros(88)}
    text = tools.stepper_text("gru", "paper", quiet, 0, 0, note=False)   # projector mode: no note
    assert text == ("**GRU, paper equations, unit 0, step 0.**  \n"
                    "Input x_t = frame -1: silence. Previous state h_(t−1) = 0.123.")


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_the_stepper_shows_the_modules_h_for_every_unit_and_variant(arch):
    """The h the stepper's last line shows is the module's own output (torch's forward, not the
    numbers' own arithmetic) at that step, for every unit taken apart in both forms."""
    roll = (np.random.default_rng(4).random((12, 88)) < 0.15).astype(np.float32)
    for variant in ("torch", "paper"):
        model = build_model(arch, variant, units=5, seed=7)
        with torch.no_grad():
            module_h = model.rnn(shift_inputs(torch.from_numpy(roll)).unsqueeze(0))[0][0].numpy()
        for t in (0, 6):
            n = step_numbers(model, roll, t)
            np.testing.assert_allclose(n["h"], module_h[t], atol=1e-5, err_msg=f"{arch} {variant} t={t}")
            lines = stepper_lines(arch, variant, n, 2)
            assert len(lines) == len(UNITS[arch].step_forms(variant))
            assert lines[-1].startswith("h_t = ")
            shown = float(lines[-1].rsplit("= ", 1)[1].replace("{-}", "-"))
            assert shown == pytest.approx(module_h[t, 2], abs=5e-4), (arch, variant, t)
            for gate, _ in UNITS[arch].removed:             # a removed gate has no line of its own
                assert not any(line.startswith(f"{gate}_t = ") for line in lines)
            text = tools.stepper_text(arch, variant, n, 2, t)
            assert "tools.notes" not in text and UNITS[arch].name in text


def test_a_pretrained_set_s_units_are_grouped_under_the_unit_they_were_taken_from():
    from app import choosers
    every = ["lstm-nfg", "tanh", "mgu", "lstm", "gru", "lstm-cifg"]        # as a manifest may list them
    assert choosers.unit_order(every) == ["tanh", "gru", "mgu", "lstm", "lstm-nfg", "lstm-cifg"]
    assert choosers.unit_order(["mgu", "lstm-np"]) == ["mgu", "lstm-np"]  # without their family too
    assert choosers.default_units(choosers.unit_order(every)) == ["tanh", "gru", "lstm"]
    assert choosers.default_units(["mgu", "lstm-nfg"]) == ["mgu", "lstm-nfg"]
    assert choosers.unit_label("lstm") == "LSTM"
    assert choosers.unit_label("lstm-nfg") == "LSTM › LSTM-NFG: no forget gate"
    assert choosers.unit_label("mgu") == "GRU › MGU: one gate for both of the GRU's"


def test_a_links_units_round_trip_by_their_registry_names():
    from app import choosers
    archs = choosers.unit_order(list(ALL_ARCHS))
    for arch in ALL_ARCHS:                 # every unit's own name in a link gives that unit back
        assert choosers.url_units(arch, archs) == [arch]
    assert choosers.url_units(",".join(("lstm-nfg", "lstm")), archs) == ["lstm", "lstm-nfg"]
    assert choosers.url_units("lstm-nfg, nonsense", archs) == ["lstm-nfg"]
    assert choosers.url_units("nonsense", archs) is None and choosers.url_units(None, archs) is None
    assert len(choosers.url_units(",".join(ALL_ARCHS), archs)) == 6   # the Lab's limit, as on the page
