"""The upload page's plot builders (app/figures/piece.py), on tiny hand-built arrays."""
import numpy as np

from app.figures.gates import gates_figure
from app.figures.piece import add_cursor, cursor_figure, nll_overview_figure, piece_figure
from app.figures.states import states_figure


def test_piece_figure_draws_the_roll_and_marks_window_and_boundary():
    roll = np.zeros((6, 88), np.uint8)
    roll[1:3, 39] = 1                       # C4 (MIDI 60) held over steps 1-2
    fig = piece_figure(roll, start=10, window=(11, 13), boundary=12)
    heat = fig.data[0]
    y = list(heat.y)
    assert list(heat.x) == list(range(10, 16))
    assert np.asarray(heat.z)[y.index(60)].tolist() == [0, 1, 1, 0, 0, 0]
    rect, line = fig.layout.shapes
    assert (rect.x0, rect.x1) == (10.5, 13.5) and line.x0 == line.x1 == 11.5


def test_overview_has_one_line_per_model_with_its_mean_and_the_cursor():
    nll = {"gru": np.array([1.0, 2.0, 3.0]), "lstm": np.array([2.0, 2.0, 2.0])}
    fig = nll_overview_figure(nll, window=(0, 1), cursor=2)
    assert [t.name for t in fig.data] == ["GRU (mean 2.00 nats)", "LSTM (mean 2.00 nats)"]
    assert np.asarray(fig.data[0].y).tolist() == [1.0, 2.0, 3.0]
    assert fig.layout.shapes[-1].x0 == 2 and fig.layout.shapes[-1].yref == "y domain"


def test_the_cursor_goes_on_step_axes_only():
    T = 5
    m = {"state": np.zeros((T, 3)), "state_name": "h", "pca": np.zeros((T, 2)),
         "pca_share": np.array([0.5, 0.2])}
    fig = add_cursor(states_figure({"gru": m, "tanh": m}, {"gru": [0], "tanh": [1]}), 3)
    refs = sorted(s.xref for s in fig.layout.shapes)
    assert refs == ["x", "x3"]  # the unit-line panels, not the PCA panels (x2, x4)
    assert all(s.x0 == 3 for s in fig.layout.shapes)


def test_cursor_figure_shows_each_value_of_the_unit():
    values = {"gru": {"z": 0.25, "r": 0.5, "h_tilde": -0.75, "h": 0.1}, "tanh": {"h": 0.3}}
    fig = cursor_figure(values, step=7, units={"gru": 2, "tanh": 0})
    gru = fig.data[0]
    assert list(gru.x) == ["z", "r", "h̃", "h"] and list(gru.y) == [0.25, 0.5, -0.75, 0.1]
    assert list(gru.text) == ["0.250", "0.500", "-0.750", "0.100"]
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["GRU, unit 2, step 7", "tanh RNN, unit 0, step 7"]


def test_the_cursor_finds_the_step_axes_in_korean_too():
    """The step axis is marked in each trace's meta, not read from its (translated) hover."""
    T = 5
    m = {"state": np.zeros((T, 3)), "state_name": "h", "pca": np.zeros((T, 2)),
         "pca_share": np.array([0.5, 0.2])}
    fig = add_cursor(states_figure({"gru": m, "tanh": m}, {"gru": [0], "tanh": [1]}, lang="ko"), 3)
    assert sorted(s.xref for s in fig.layout.shapes) == ["x", "x3"]
    roll = np.zeros((T, 88), np.uint8)
    gates = {"gru": {"z": np.zeros((T, 2)), "r": np.zeros((T, 2))}}
    fig = add_cursor(gates_figure(gates, roll, lang="ko"), 2)
    assert sorted(s.xref for s in fig.layout.shapes) == ["x", "x2", "x3"]  # roll, z, r
    assert "시간 단계" in fig.data[0].hovertemplate


def test_korean_overview_and_cursor_panel():
    fig = nll_overview_figure({"gru": np.array([1.0, 3.0])}, lang="ko")
    assert fig.data[0].name == "GRU (평균 2.00 nats)"
    assert fig.layout.yaxis.title.text == "시간 단계당 NLL (nats)"
    fig = cursor_figure({"lstm": {"f": 0.9, "c": -2.0}}, step=3, units={"lstm": 1}, lang="ko")
    assert fig.layout.annotations[0].text == "LSTM, 유닛 1, 시간 단계 3"
    assert list(fig.data[0].customdata) == ["f: 망각 게이트", "c: 셀 상태"]
    assert fig.data[0].marker.color[1] == "rgb(5, 48, 97)"  # c = -2.0 at the bottom of ±2.0
    assert piece_figure(np.zeros((2, 88)), lang="ko").layout.yaxis.title.text == "음높이"
