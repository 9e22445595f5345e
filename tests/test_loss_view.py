"""The loss chart's y range: "recent" (the default on the Lab and the lesson) fits the recent part
of the curves and says the start is clipped; "whole history" is plotly's autorange. The range
logic (``app.figures.loss.recent_range``) and the figure are pure; the Lab page is driven under
AppTest."""
import json

import numpy as np
import pytest

from app import text
from app.figures.loss import MIN_POINTS, Y_VIEWS, loss_figure, recent_range
from tests.apptest import decode, new_app
from tests.test_app import loss_chart, run_until, updates

FINAL = {"tanh": 10.4, "gru": 8.8, "lstm": 9.1}   # JSB-like NLL after a minute
SPEED = {"tanh": 2.0, "gru": 1.0, "lstm": 0.7}     # seconds per 20 updates, each model its own


def _curve(u: np.ndarray, final: float, seed: int) -> np.ndarray:
    """~61 nats at update 0 falling to ``final``, with batch noise."""
    noise = np.random.default_rng(seed).normal(0, 0.3, u.size)
    return final + 50 * np.exp(-u / 6) + 2 * np.exp(-u / 200) + noise


def _history(n: int, valid_every: int = 25) -> dict:
    """Train rows for updates 1..n and validation every ``valid_every`` updates from 0."""
    out = {}
    for seed, (arch, final) in enumerate(FINAL.items()):
        u, vu = np.arange(1, n + 1, dtype=float), np.arange(0, n + 1, valid_every, dtype=float)
        s = SPEED[arch] / 20
        out[arch] = {"train": np.column_stack([u, s * u, _curve(u, final, seed)]),
                     "valid": np.column_stack([vu, s * vu, _curve(vu, final + 0.3, seed + 9)]),
                     "binned": False}
    return out


def _points(fig, x_share: float = 0.0):
    """Every (x, y) of the figure's traces whose x is in the last ``1 - x_share`` of the trace's x
    range (as plotly gets them: base64 float32 arrays)."""
    spec = json.loads(fig.to_json())
    for trace in spec["data"]:
        x, y = decode(trace["x"]).astype(float), decode(trace["y"]).astype(float)
        keep = x >= x.min() + x_share * (x.max() - x.min())
        yield from zip(x[keep], y[keep])


@pytest.mark.parametrize("x", ["updates", "seconds"])
def test_recent_view_leaves_out_the_first_huge_points_and_keeps_every_recent_one(x):
    fig = loss_figure(_history(600), x=x, y_view="recent")
    lo, hi = fig.layout.yaxis.range
    assert fig.layout.yaxis.autorange is False
    ys = [y for _, y in _points(fig)]
    assert max(ys) > 55 and hi < 16           # the first updates' ~60 nats are above the range
    recent = [y for _, y in _points(fig, x_share=1 / 3)]
    assert lo < min(ys) and max(recent) < hi  # every recent point (and the lowest) is inside
    assert hi - lo < 0.15 * (max(ys) - min(ys))  # 8.8 against 10.4 now fills the chart
    # the start is not hidden: the chart says how high it goes
    [note] = fig.layout.annotations
    assert note.text == f"start clipped: NLL up to {max(ys):.3g} ↑"
    assert note.yref == "paper" and note.y > 0.95 and note.showarrow is False


def test_a_slower_models_recent_points_count_on_the_seconds_axis():
    """On the seconds axis the LSTM's curve ends where the tanh RNN's is still early: each
    curve's own last two thirds are in the range."""
    h = _history(300)
    h["lstm"]["train"][:, 1] *= 0.1   # ten times slower: its whole curve in the first tenth
    h["lstm"]["valid"][:, 1] *= 0.1
    fig = loss_figure(h, x="seconds", y_view="recent")
    lstm = [t for t in fig.data if t.name.startswith("LSTM")]
    recent = [y for t in lstm for xx, y in zip(t.x, t.y) if xx >= min(t.x) + (max(t.x) - min(t.x)) / 3]
    assert max(recent) < fig.layout.yaxis.range[1]


def test_the_note_is_in_the_pages_language():
    fig = loss_figure(_history(200), y_view="recent", lang="ko")
    top = max(y for _, y in _points(fig))
    assert fig.layout.annotations[0].text == f"앞부분 잘림: NLL 최대 {top:.3g} ↑"
    assert text.get("ko", "figures.loss.clipped", top="61") == "앞부분 잘림: NLL 최대 61 ↑"


def test_whole_history_is_autorange_without_a_note():
    for fig in (loss_figure(_history(600), y_view="full"), loss_figure(_history(600))):
        assert fig.layout.yaxis.range is None and fig.layout.yaxis.autorange is True
        assert not fig.layout.annotations
    recent, full = loss_figure(_history(600), y_view="recent"), loss_figure(_history(600), y_view="full")
    assert recent.layout.uirevision != full.layout.uirevision  # a switch drops a user's zoom
    with pytest.raises(ValueError):
        loss_figure(_history(10), y_view="zoom")


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_the_first_seconds_fall_back_to_the_whole_history(n):
    """A handful of points: nothing to zoom into yet, the whole (short) history shows."""
    fig = loss_figure(_history(n), y_view="recent")
    assert fig.layout.yaxis.autorange is True and fig.layout.yaxis.range is None
    assert not fig.layout.annotations


def test_recent_range_rules():
    x = np.arange(30, dtype=float)
    falling = 9 + 50 * np.exp(-x / 3)
    r = recent_range([(x, falling)])
    assert r["top"] == pytest.approx(59) and r["range"][1] < 12 and r["range"][0] < 9
    # nothing clipped worth a zoom: a curve that hardly falls
    assert recent_range([(x, 9 + 0.1 * np.exp(-x / 3))]) is None
    # too few points
    assert recent_range([(x[:MIN_POINTS - 1], falling[:MIN_POINTS - 1])]) is None
    # no points, empty curves, NaN and inf are left out, not fatal
    assert recent_range([]) is None and recent_range([(np.array([]), np.array([]))]) is None
    spoiled = falling.copy()
    spoiled[[3, 20]] = [np.nan, np.inf]
    assert np.isfinite(recent_range([(x, spoiled)])["range"]).all()
    # a flat recent part still gets a visible band
    flat = np.where(x < 5, 60.0, 9.0)
    lo, hi = recent_range([(x, flat)])["range"]
    assert lo < 9 - 0.2 and 9 + 0.2 < hi < 10
    # log axis: the range is in log10 units, and y <= 0 is left out
    lo, hi = recent_range([(x, falling)], log_y=True)["range"]
    assert lo < np.log10(9) and np.log10(falling[10:]).max() < hi < np.log10(59)
    with_zero = np.append(falling, 0.0)
    assert recent_range([(np.append(x, 30), with_zero)], log_y=True) is not None


def test_log_scale_recent_view():
    fig = loss_figure(_history(600), log_y=True, y_view="recent")
    lo, hi = fig.layout.yaxis.range
    assert fig.layout.yaxis.type == "log" and 0.8 < lo < np.log10(8.8) and hi < np.log10(16)


def test_the_choice_is_worded_in_both_languages():
    from app.lab import views
    assert views.LOSS_Y == Y_VIEWS and views.LOSS_Y[0] == "recent"  # the default comes first
    for lang in text.LANGS:
        words = text.table(lang, "lab.loss.ranges")
        assert set(words) == set(Y_VIEWS) and all(words.values()), lang
        assert text.get(lang, "lab.loss.y") != "lab.loss.y"
    assert text.table("ko", "lab.loss.ranges") == {"recent": "최근", "full": "전체 기록"}


def test_the_lab_shows_the_choice_and_it_changes_the_y_range():
    at = new_app(archs="gru,lstm")
    try:
        run_until(at, lambda a: len(a.metric) > 0, what="the models to be built")
        radio = at.radio(key="loss_y")
        assert radio.value == "recent" and radio.options == ["recent", "whole history"]
        assert loss_chart(at)["layout"]["yaxis"].get("autorange") is True  # no points yet: all
        at.button(key="play").click()
        run_until(at, lambda a: "range" in loss_chart(a)["layout"]["yaxis"], timeout=150,
                  what="enough training for the recent view")
        at.button(key="pause").click().run()
        layout = loss_chart(at)["layout"]
        lo, hi = layout["yaxis"]["range"]
        ys = np.concatenate([decode(t["y"]) for t in loss_chart(at)["data"]])
        assert ys.max() > hi and lo < ys.min()
        assert layout["annotations"][0]["text"].startswith("start clipped: NLL up to")

        at.radio(key="loss_y").set_value("full").run()
        layout = loss_chart(at)["layout"]
        assert layout["yaxis"].get("autorange") is True and "range" not in layout["yaxis"]
        assert not layout.get("annotations")
        at.radio(key="loss_y").set_value("recent").run()
        assert "range" in loss_chart(at)["layout"]["yaxis"]
        assert min(updates(at)) > 0
    finally:
        at.session_state["lab_client"].close()


def test_the_lesson_shows_the_choice_next_to_its_loss_chart():
    from tests.test_app_tools_lesson import open_lesson

    def lesson_loss(a):
        charts = [json.loads(c.proto.spec) for c in a.get("plotly_chart")]
        return next((c for c in charts if any(t.get("name", "").endswith(" valid") for t in c["data"])), None)

    at = open_lesson(autostart="1", step="loss")
    try:
        run_until(at, lambda a: lesson_loss(a) is not None, what="the lesson's loss chart")
        assert at.radio(key="lesson_loss_y").value == "recent"
        at.radio(key="lesson_loss_y").set_value("full").run()
        yaxis = lesson_loss(at)["layout"]["yaxis"]
        assert yaxis.get("autorange") is True and "range" not in yaxis
        assert lesson_loss(at)["layout"]["uirevision"].endswith("-full")
    finally:
        at.session_state["lab_client"].close()
