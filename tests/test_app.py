"""The dashboard under Streamlit's AppTest: pages render, Play / Pause / Step / Reset do what
they say, the URL sets the controls, errors are messages. Each AppTest session starts its own
worker process (as a browser session would)."""
import json
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import decode, new_app, open_page

UPDATES = re.compile(r"^([\d,]+) updates · ")


def run_until(at: AppTest, condition, timeout: float = 90.0, what: str = "") -> AppTest:
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if condition(at):
            return at
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def ready(at: AppTest) -> bool:
    return len(at.metric) > 0


def updates(at: AppTest) -> list[int]:
    """Each model's update count, as the page prints it under its metrics."""
    found = [UPDATES.match(c.value) for c in at.caption]
    return [int(m.group(1).replace(",", "")) for m in found if m]


def loss_chart(at: AppTest) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"].get("yaxis", {}).get("title", {}).get("text", "").startswith("NLL"):
            return spec
    raise AssertionError("no loss chart on the page")


def trained_points(at: AppTest) -> dict[str, int]:
    """Points beyond update 0, per trace name of the loss chart."""
    return {t["name"]: int((decode(t["x"]) > 0).sum()) for t in loss_chart(at)["data"]}


@pytest.fixture(scope="module")
def lab():
    at = run_until(new_app(), ready, what="the models to be built")
    yield at
    at.session_state["lab_client"].close()


def test_play_pause_step_reset(lab):
    at = lab
    assert updates(at) == [0, 0, 0] and len(at.get("plotly_chart")) >= 2
    at.button(key="play").click()
    run_until(at, lambda a: min(updates(a)) >= 6, what="training to advance")
    points = trained_points(at)
    for name in ("tanh RNN", "GRU", "LSTM"):
        assert points[f"{name} train"] > 0 and points[f"{name} valid"] > 0, points

    at.button(key="pause").click().run()
    paused = updates(at)
    time.sleep(1.0)
    at.run()
    assert updates(at) == paused
    assert any(m.value.startswith("**paused**") for m in at.markdown)

    at.button(key="step").click().run()
    assert updates(at) == [n + 1 for n in paused]

    at.button(key="reset").click()
    run_until(at, lambda a: updates(a) == [0, 0, 0], what="fresh models")
    assert all(n == 0 for n in trained_points(at).values())


def test_views_and_equations_render(lab):
    at = lab
    for view in ("Cell states", "Prediction", "Gates"):
        at.radio(key="view").set_value(view).run()
        assert not at.exception
    at.toggle(key="candidate").set_value(True).run()
    names = [t["name"] for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]
             if "name" in t]
    assert {"GRU z", "GRU r", "GRU h̃", "LSTM i", "LSTM f", "LSTM o", "LSTM c̃", "tanh RNN h"} <= set(names)
    assert any(r"\tilde{h}_t" in latex.value for latex in at.latex)


def test_url_parameters_set_the_controls_and_a_diverging_lr_is_a_warning():
    at = new_app(archs="gru,lstm", lr="1e38", clip="0", optimizer="rmsprop", seed="3",
                 variant="paper", budget="8000", carry_state="true", reshuffle="false")
    run_until(at, ready, what="the models to be built")
    try:
        assert at.multiselect(key="setting_archs").value == ["gru", "lstm"]
        assert at.number_input(key="setting_lr").value == 1e38
        assert at.selectbox(key="setting_optimizer").value == "rmsprop"
        assert at.radio(key="setting_variant").value == "paper"
        assert at.number_input(key="setting_seed").value == 3
        assert at.toggle(key="setting_carry_state").value is True
        assert at.toggle(key="setting_reshuffle").value is False
        assert updates(at) == [0, 0] and len(at.metric) == 4  # two models
        assert at.query_params["budget"] == "8000" and at.query_params["lr"] == "1e+38"
        assert at.query_params["batch_size"] == "8"  # every field is written, defaults too
        at.button(key="step").click().run()
        assert any("diverged" in w.value for w in at.warning), [w.value for w in at.warning]
        assert not at.exception
    finally:
        at.session_state["lab_client"].close()


def test_a_missing_dataset_is_an_error_message(tmp_path, monkeypatch):
    from app import worker
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GATELAB_DATA_URL", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setattr(worker, "_pool", worker.WorkerPool())  # workers forked with this environment
    at = new_app(dataset="jsb")
    try:
        run_until(at, lambda a: len(a.error) > 0, what="the data error")
        assert "JSB" in at.error[0].value and not at.exception
    finally:
        worker.pool().shutdown()


def test_the_guide_page_renders():
    at = open_page("guide/guide.py")
    assert at.title[0].value == "How to read GateLab"
    client = at.session_state["lab_client"] if "lab_client" in at.session_state else None
    if client is not None:
        client.close()
