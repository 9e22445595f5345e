"""The Gate tools page under AppTest, on a Lab trained for one step in the test (the page takes
such weights exactly as it takes the session's Lab weights): every tool draws what core
computes, the stepper steps, and teacher-mode URLs hide the controls."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.choosers import LAB_WEIGHTS
from core.insight.analysis import memory_gradients, model_saturation
from core.insight.interventions import intervention
from core.lab import Lab, validation_pieces
from core.music.data import load_dataset
from core.training.settings import LabSettings
from core.units.teaching_cells import Clamp
from tests.apptest import decode, new_app

PAGE = "tools/tools.py"


@pytest.fixture(scope="module")
def lab():
    lab = Lab(LabSettings(eval_every=100), load_dataset("chorales", n_train=8, n_valid=2, n_test=2))
    lab.step()
    return lab


def open_tools(lab, **params) -> AppTest:
    at = new_app(timeout=60, **params)
    at.session_state[LAB_WEIGHTS] = lab.weights()
    at.switch_page(PAGE)
    if "source" not in params:
        at.run()
        at.radio(key="tools_source").set_value("lab")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def with_trace(at, name: str) -> dict:
    return next(s for s in specs(at) if any(t.get("name") == name for t in s["data"]))


def title(spec: dict) -> str:
    return spec["layout"].get("title", {}).get("text", "")


def named(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def test_every_tool_draws_what_core_computes(lab):
    at = open_tools(lab)
    assert any("after tanh RNN 1 updates" in c.value for c in at.caption)
    roll = load_dataset("chorales").splits["valid"][0]
    models = {a: t.model for a, t in lab.trainers.items()}
    # saturation over the validation split (the page's sample of it)
    want = model_saturation(models["lstm"], validation_pieces(load_dataset("chorales").splits["valid"]))
    dots = named(with_trace(at, "LSTM f"), "LSTM f")
    np.testing.assert_allclose(decode(dots["x"]), want["f"][0], atol=1e-6)
    np.testing.assert_allclose(decode(dots["y"]), want["f"][1], atol=1e-6)
    # memory length at the last step, K = 30
    t = len(roll) - 1
    line = named(with_trace(at, f"tanh RNN at step {t}"), f"tanh RNN at step {t}")
    np.testing.assert_allclose(decode(line["y"]), memory_gradients(models["tanh"], roll, t, 30), rtol=1e-4)
    # intervention: the LSTM (default) with its forget gate held at 1
    bars = next(s for s in specs(at) if "LSTM, f = 1 for all units" in title(s))
    result = intervention(models["lstm"], roll, Clamp("f", 1.0))
    np.testing.assert_allclose(decode(bars["data"][2]["y"]), result["clamped"] - result["base"], atol=1e-4)
    # the stepper: one line per equation, and it steps
    assert len(at.get("latex")) == 6 and "f_t = \\sigma" in at.get("latex")[1].proto.body
    at.button(key="step_next").click().run()
    assert at.number_input(key="step_t_('chorales', 0)").value == 1
    assert any("unit 0, step 1" in m.value for m in at.markdown)


def test_choosing_a_clamp_and_units_redraws(lab):
    at = open_tools(lab)
    at.radio(key="int_arch").set_value("gru").run()
    at.selectbox(key="int_clamp_gru").set_value(("z", 0.0))
    at.multiselect(key="int_units_gru").set_value([1, 2]).run()
    assert not at.exception
    assert any("GRU, z = 0 for units 1, 2" in title(s) for s in specs(at))


def test_teacher_mode_shows_one_tool_without_its_controls(lab):
    at = open_tools(lab, teacher="1", tool="interventions", source="lab", gate="f", value="0", piece="1")
    assert not at.radio and not at.selectbox and not at.multiselect and not at.number_input
    assert [s.value for s in at.subheader] == ["Gate interventions"]
    (spec,) = specs(at)
    assert "LSTM, f = 0 for all units" in title(spec)
    roll = load_dataset("chorales").splits["valid"][1]
    result = intervention(lab.trainers["lstm"].model, roll, Clamp("f", 0.0))
    np.testing.assert_allclose(decode(spec["data"][1]["y"]), result["clamped"], rtol=1e-5)
    shown = open_tools(lab, teacher="1", show="clamp", tool="interventions", source="lab")
    assert len(shown.selectbox) == 1 and not shown.radio


def test_a_shown_control_starts_at_its_url_value(lab):
    at = open_tools(lab, teacher="1", show="piece,arch,clamp", tool="interventions", source="lab", piece="3",
                    arch="gru", gate="z", value="0")
    assert [box.value for box in at.number_input] == [3]                # docs/classroom.md: &show=piece
    assert at.radio(key="int_arch").value == "gru" and at.selectbox(key="int_clamp_gru").value == ("z", 0)
    (spec,) = specs(at)
    assert "GRU, z = 0 for all units" in title(spec)
    roll = load_dataset("chorales").splits["valid"][3]
    result = intervention(lab.trainers["gru"].model, roll, Clamp("z", 0.0))
    np.testing.assert_allclose(decode(spec["data"][1]["y"]), result["clamped"], rtol=1e-5)
    at.number_input[0].set_value(5).run()                               # the URL only sets the start
    assert at.number_input[0].value == 5 and not at.exception
    unusable = open_tools(lab, teacher="1", show="piece,arch", tool="interventions", source="lab", piece="999",
                          arch="nan")
    assert [box.value for box in unusable.number_input] == [0] and unusable.radio(key="int_arch").value == "lstm"


def test_korean_page_speaks_korean(lab):
    at = open_tools(lab, lang="ko")   # clicks the Korean source option: labels fixed per run
    assert at.title[0].value == "게이트 도구"
    assert [tab.label for tab in at.tabs] == ["게이트 포화", "게이트 개입", "기억 길이", "수식 단계별 보기"]
    assert any("tanh RNN 1회" in c.value and "업데이트 후의 실험실 모델" in c.value for c in at.caption)
    assert "f = 1: 절대 잊지 않음 (셀은 누적만 함)" in at.selectbox(key="int_clamp_lstm").options
    assert any(m.label == "모든 유닛에 f = 1일 때 시간 단계당 평균 NLL" for m in at.metric)
    assert any(title(s).startswith("LSTM, 모든 유닛에 f = 1: ") for s in specs(at))   # the chart too
    assert any("유닛 0, 시간 단계 0" in m.value and "이전 은닉 상태" in m.value for m in at.markdown)
    assert at.radio(key="tools_source").options == ["사전 학습된 모델 (GateLab 제공)",
                                                    "이 세션에서 학습 (실험실 페이지)", "체크포인트 파일"]
    assert at.radio(key="sat_over").options == ["검증 데이터 전체", "이 곡"]
    at.radio(key="sat_over").set_value("piece").run()
    assert not at.exception


def test_projector_shows_one_tool_with_its_essential_controls(lab):
    at = open_tools(lab, projector="1")
    assert not at.tabs and not any("Each dot is one unit" in c.value for c in at.caption)
    (spec,) = specs(at)                                    # the saturation scatter only
    assert named(spec, "LSTM f") and not at.slider        # thresholds: their defaults
    assert "sat_over" not in [r.key for r in at.radio]
    at.radio(key="tools_tool").set_value("interventions").run()
    assert at.selectbox(key="int_clamp_lstm") and not at.multiselect
    assert any("LSTM, f = 1 for all units" in title(s) for s in specs(at))
    at.radio(key="tools_tool").set_value("memory").run()
    assert [s.key for s in at.slider] == ["mem_t_('chorales', 0)"]   # K and the average: defaults
