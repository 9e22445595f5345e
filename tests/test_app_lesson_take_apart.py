"""The lesson's moment of taking a gate out (core/lab/take_apart.py, app/lesson/take_apart.py):
one click trains the LSTM with and without the chosen gate on the long-memory task in this
session's worker; the page draws both training curves and states a verdict worded from the
final numbers. The worker's numbers are checked against the same training run here (same
seed, same batches: the same numbers), so they come from training, not from the page."""
import json
import re

import numpy as np
import pytest

from app import text
from app.lesson import take_apart as page_take_apart
from core.lab import take_apart
from tests.apptest import decode, open_page

PAGE = "lesson/lesson.py"
UPDATES = 30   # the test's budget: the page passes core's UPDATES to the worker, patched here


@pytest.fixture
def short(monkeypatch):
    monkeypatch.setattr(take_apart, "UPDATES", UPDATES)


@pytest.fixture(scope="module")
def here():
    """The same training in this process, to the end in one call."""
    take_apart._RUN.clear()
    result = take_apart.take_apart("f", "here", updates=UPDATES, chunk_s=1e9, max_s=1e9)
    take_apart._RUN.clear()
    return result


def curve(at, name: str) -> np.ndarray:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if any(t.get("name") == name for t in json.loads(c.proto.spec)["data"]))
    return decode(next(t for t in spec["data"] if t.get("name") == name)["y"])


def test_verdicts_follow_the_validation_numbers():
    def final(full, without):
        return {"lstm": {"valid": full}, "lstm-nfg": {"valid": without}}
    m = take_apart.MARGIN
    assert take_apart.verdict(final(2.0, 2.0 + 2 * m), "lstm", "lstm-nfg") == "helped"
    assert take_apart.verdict(final(2.0, 2.0 - 2 * m), "lstm", "lstm-nfg") == "hindered"
    assert take_apart.verdict(final(2.0, 2.0 + m / 2), "lstm", "lstm-nfg") == "even"
    assert take_apart.verdict(final(2.0, float("nan")), "lstm", "lstm-nfg") == "helped"   # diverged: worst
    assert take_apart.verdict(final(float("inf"), 3.0), "lstm", "lstm-nfg") == "hindered"
    assert take_apart.archs("i") == ("lstm", "lstm-nig") and take_apart.settings("o").archs == ("lstm", "lstm-nog")
    with pytest.raises(ValueError):
        take_apart.archs("z")


def test_the_run_is_bounded_and_trains_both_units_on_the_same_batches(here):
    assert here["done"] and here["updates"] == UPDATES and here["archs"] == ("lstm", "lstm-nfg")
    for arch in here["archs"]:
        train = here["loss"][arch]["train"]
        assert len(train) == UPDATES and train[-1, 2] < train[0, 2]          # it learned something
        assert here["loss"][arch]["valid"][-1, 0] == UPDATES                  # validated at the end
        assert here["final"][arch]["train"] == pytest.approx(train[-take_apart.FINAL_WINDOW:, 2].mean())
    assert here["final"]["lstm"]["valid"] != here["final"]["lstm-nfg"]["valid"]   # two different units
    take_apart._RUN.clear()
    stopped = take_apart.take_apart("f", "capped", updates=10_000, chunk_s=1e9, max_s=0.5)
    assert stopped["done"] and 0 < stopped["updates"] < 10_000 and "final" in stopped   # the time cap
    take_apart._RUN.clear()


def test_one_click_trains_both_and_says_what_the_gate_did(short, here):
    at = open_page(PAGE, timeout=180)
    assert at.radio(key="take_apart_gate").value == "f"
    at.button(key="take_apart_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.session_state[page_take_apart.RESULT]
    assert shown["updates"] == UPDATES and shown["done"] and shown["archs"] == ("lstm", "lstm-nfg")
    for arch, name in (("lstm", "LSTM"), ("lstm-nfg", "LSTM-NFG")):
        drawn = curve(at, f"{name} train")
        assert len(drawn) == UPDATES                                            # one point per update
        np.testing.assert_allclose(drawn, here["loss"][arch]["train"][:, 2], rtol=1e-4)
        for key in ("train", "valid", "answer"):
            assert shown["final"][arch][key] == pytest.approx(here["final"][arch][key], rel=1e-4), (arch, key)
    (verdict,) = [s.value for s in at.success]
    assert verdict == page_take_apart.sentence(here)
    assert f"{here['final']['lstm-nfg']['valid']:.2f}" in verdict and f"{here['final']['lstm']['valid']:.2f}" in verdict
    kind = take_apart.verdict(here["final"], "lstm", "lstm-nfg")
    assert verdict.startswith(text.get("en", f"lesson.take_apart.{kind}").split("{")[0])
    labels = {m.label: m.value for m in at.metric}
    assert labels["LSTM-NFG: validation NLL"] == f"{here['final']['lstm-nfg']['valid']:.3f} nats"


def test_in_korean_the_choice_and_the_verdict_are_korean(short):
    at = open_page(PAGE, timeout=180, lang="ko")
    assert at.radio(key="take_apart_gate").options[0] == "망각 게이트 f (LSTM-NFG)"
    at.radio(key="take_apart_gate").set_value("o").run()
    at.button(key="take_apart_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.session_state[page_take_apart.RESULT]
    assert shown["archs"] == ("lstm", "lstm-nog") and shown["updates"] == UPDATES
    (verdict,) = [s.value for s in at.success]
    assert "출력 게이트" in verdict and re.search(r"[\uac00-\ud7a3]", verdict)
    assert f"{shown['final']['lstm-nog']['valid']:.2f}" in verdict


def test_the_docs_give_the_code_s_budget():
    from pathlib import Path
    doc = " ".join((Path(__file__).resolve().parents[1] / "docs" / "teaching.md").read_text().split())
    assert f"{take_apart.UPDATES} updates each" in doc and f"{take_apart.MAX_S:g} s of training" in doc
    assert f"more than {take_apart.MARGIN:g} nats per step worse" in doc
