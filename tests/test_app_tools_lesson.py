"""The Lesson page under AppTest: one click starts this session's worker with the lesson's
settings and training; the three steps show the loss, the gates and the NLL at the answer, the
latter computed in the worker exactly as core computes it from the worker's weights. Teacher links start at once."""
import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import text
from core.insight.lesson import answer_nll, lesson_settings
from core.music.data import load_dataset
from core.training.pretrained import model_from_weights
from tests.apptest import open_page

PAGE = "lesson/lesson.py"


def open_lesson(**params) -> AppTest:
    return open_page(PAGE, timeout=60, **params)


def wait_for_answers(at: AppTest, timeout: float = 60, label: str = "NLL at the answer") -> AppTest:
    deadline = time.monotonic() + timeout
    while not any(label in m.label for m in at.metric):
        assert time.monotonic() < deadline, [i.value for i in at.info]
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def closing():
    apps = []
    yield apps
    for at in apps:
        at.session_state["lab_client"].close()


def test_one_click_trains_the_lesson_and_shows_its_three_steps(closing):
    at = open_lesson()
    closing.append(at)
    assert "Start the lesson" in at.info[0].value
    at.button(key="lesson_start").click().run()
    client = at.session_state["lab_client"]
    assert client.settings == lesson_settings().to_dict()
    wait_for_answers(at)
    assert client.status["running"]
    assert {m.label for m in at.metric} == {f"{n}: NLL at the answer" for n in ("tanh RNN", "GRU", "LSTM")}
    names = {t.get("name") for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]}
    assert {"GRU z", "LSTM f", "GRU valid"} <= names
    at.button(key="lesson_pause").click().run()
    assert not client.status["running"]
    at.run()  # a view of the paused models: the weights below are the ones it was traced from
    models = {a: model_from_weights(w["spec"], w["state_dict"])
              for a, w in client.get(weights=True, timeout=10)["weights"].items()}
    pieces = load_dataset("long-memory").splits["valid"][:16]
    want = {a: answer_nll(m, pieces) for a, m in models.items()}
    np.testing.assert_allclose([at.session_state["lesson_answers"][a] for a in want], list(want.values()),
                               rtol=1e-6)


def test_a_teacher_link_starts_at_once_without_the_step_choice(closing):
    at = open_lesson(autostart="1", teacher="1", step="memory")
    closing.append(at)
    assert at.session_state["lab_client"].settings == lesson_settings().to_dict()
    assert not at.radio and "lesson_started" in at.session_state


def test_korean_projector_lesson_shows_headlines_charts_and_the_result(closing):
    at = open_lesson(lang="ko", projector="1")
    closing.append(at)
    assert at.title[0].value == "수업: 게이트는 왜 기억하는가"
    assert not at.caption                                    # the introduction: left out
    assert at.button(key="lesson_start").label == "수업 시작" and "수업 시작" in at.info[0].value
    at.button(key="lesson_start").click().run()
    wait_for_answers(at, label="응답에서의 NLL")
    assert {m.label for m in at.metric} == {f"{n}: 응답에서의 NLL" for n in ("tanh RNN", "GRU", "LSTM")}
    assert [h.value for h in at.subheader] == ["1 · 손실", "2 · 값을 붙잡는 게이트", "3 · 누가 부름을 기억하는가",
                                               "게이트 하나 빼 보기"]   # and the gate taken out, below
    shown = [m.value for m in at.markdown]
    for step in ("loss", "gates", "memory"):
        assert text.get("ko", f"lesson.steps.{step}.headline") in shown
        assert text.get("ko", f"lesson.steps.{step}.text") not in shown
    assert len(at.get("plotly_chart")) == 2                  # the loss and the gates
    assert any("부름" in c.value for c in at.caption)          # where the call and the answer are
