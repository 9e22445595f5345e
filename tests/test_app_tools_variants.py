"""The Gate tools on units taken apart, under AppTest: a Lab that trained the LSTM, the LSTM
without its forget gate and the minimal gated unit for one step (the page takes such weights as
it takes the session's). A teacher's link names a variant by its registry name and gets it; its
clamps are its own (the removed gate is said to be fixed already), the intervention is core's,
and the stepper shows one line per equation of the variant."""
import json

import numpy as np
import pytest

from app import text
from app.choosers import LAB_WEIGHTS
from core.insight.interventions import intervention, step_numbers
from core.lab import Lab
from core.music.data import load_dataset
from core.training.settings import LabSettings
from core.units import UNITS
from core.units.teaching_cells import Clamp
from tests.apptest import decode, new_app

PAGE = "tools/tools.py"


@pytest.fixture(scope="module")
def lab():
    lab = Lab(LabSettings(archs=("lstm", "lstm-nfg", "mgu"), eval_every=100),
              load_dataset("chorales", n_train=8, n_valid=2, n_test=2))
    lab.step()
    return lab


def open_tools(lab, **params):
    at = new_app(timeout=60, source="lab", **params)
    at.session_state[LAB_WEIGHTS] = lab.weights()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_a_link_to_a_variant_gets_it_its_clamps_and_core_s_numbers(lab):
    at = open_tools(lab, teacher="1", show="arch,clamp", tool="interventions", arch="lstm-nfg", gate="i",
                    value="0", piece="1")
    assert at.radio(key="int_arch").options == ["LSTM", "LSTM-NFG", "MGU"]
    assert at.radio(key="int_arch").value == "lstm-nfg"                 # the registry name came back
    box = at.selectbox(key="int_clamp_lstm-nfg")
    assert box.value == ("i", 0.0) and len(box.options) == len(UNITS["lstm-nfg"].clamps)
    assert not any(o.startswith("f = ") for o in box.options)           # no forget gate to clamp
    assert any("LSTM-NFG has no gate f: it is 1 at every step already" in c.value for c in at.caption)
    (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert "LSTM-NFG, i = 0 for all units" in spec["layout"]["title"]["text"]
    roll = load_dataset("chorales").splits["valid"][1]
    result = intervention(lab.trainers["lstm-nfg"].model, roll, Clamp("i", 0.0))
    np.testing.assert_allclose(decode(spec["data"][1]["y"]), result["clamped"], rtol=1e-5)
    # a link with the forget gate the variant does not have: its first own clamp instead
    at = open_tools(lab, teacher="1", show="clamp", tool="interventions", arch="lstm-nfg", gate="f", value="1")
    assert at.selectbox(key="int_clamp_lstm-nfg").value == UNITS["lstm-nfg"].clamps[0]


def test_the_mgu_offers_its_one_gate_and_the_stepper_its_three_lines(lab):
    at = open_tools(lab, teacher="1", show="arch", tool="interventions", arch="mgu")
    assert any(t.startswith("MGU, f = 0 for all units") for t in titles(at))
    assert not any("has no gate" in c.value for c in at.caption)
    at = open_tools(lab, teacher="1", tool="stepper", arch="lstm-nfg", piece="0")
    lines = [x.proto.body.strip("$\n") for x in at.get("latex")]
    assert len(lines) == len(UNITS["lstm-nfg"].step_forms("torch"))
    assert not any(line.startswith("f_t") for line in lines) and lines[-1].startswith("h_t = ")
    n = step_numbers(lab.trainers["lstm-nfg"].model, load_dataset("chorales").splits["valid"][0], 0)
    assert lines[-1].endswith(f"{n['h'][0]:.3f}".replace("-", "{-}"))
    assert any("without its forget gate" in m.value for m in at.markdown)


def test_in_korean_a_variant_s_clamps_and_notes_are_korean(lab):
    at = open_tools(lab, lang="ko", teacher="1", show="arch,clamp", tool="interventions", arch="lstm-nfg")
    options = at.selectbox(key="int_clamp_lstm-nfg").options
    assert options == [text.get("ko", f"tools.clamps.lstm-nfg.{g}{v:g}") for g, v in UNITS["lstm-nfg"].clamps]
    assert any("LSTM-NFG에는 게이트 f가 없습니다" in c.value for c in at.caption)
