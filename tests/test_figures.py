"""The pure plot builders, on tiny hand-built arrays: what each trace holds, titles, axes."""
import ast
from pathlib import Path

import numpy as np
import pytest

from app.equations import equations
from app.figures import gates_figure, loss_figure, panels_for, prediction_figure, states_figure
from app.figures.common import key_range, pitch_name
from app.figures.grid import Grid

T = 6


def _gates(arch: str, units: int, candidate: bool = False) -> dict:
    return {p: np.full((T, units), 0.25 + k / 10) for k, p in enumerate(panels_for(arch, candidate))}


def _roll() -> np.ndarray:
    roll = np.zeros((T, 88), np.uint8)
    roll[np.arange(T), 39 + np.arange(T) % 3] = 1  # C4, C#4, D4 repeating
    return roll


def test_builders_import_neither_streamlit_nor_torch():
    for path in Path("app/figures").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"streamlit", "torch"}, path


def test_pitch_names_and_key_range():
    assert pitch_name(60) == "C4" and pitch_name(21) == "A0" and pitch_name(108) == "C8"
    assert key_range(_roll()) == (37, 43)  # keys 39..41 plus a margin of 2
    assert key_range(np.zeros((3, 88))) == (0, 87)


def test_loss_figure_has_train_and_valid_per_model_and_switches_x():
    history = {"gru": {"train": np.array([[1, 0.5, 9.0], [2, 1.0, 8.0]]),
                       "valid": np.array([[0, 0.0, 10.0], [2, 1.0, 8.5]]), "binned": False},
               "lstm": {"train": np.array([[1, 0.2, 9.5]]), "valid": np.array([[0, 0.0, 10.0]]),
                        "binned": True}}
    fig = loss_figure(history)
    names = [t.name for t in fig.data]
    assert names == ["GRU train", "GRU valid", "LSTM train (bin means)", "LSTM valid"]
    assert fig.data[0].x.tolist() == [1, 2] and fig.data[1].y.tolist() == [10.0, 8.5]
    assert fig.layout.yaxis.title.text == "NLL per time step (nats)"
    assert fig.layout.xaxis.title.text == "updates"
    by_time = loss_figure(history, x="seconds", log_y=True)
    assert by_time.data[0].x.tolist() == [0.5, 1.0]
    assert by_time.layout.xaxis.title.text.startswith("seconds")
    assert by_time.layout.yaxis.type == "log"


def test_gates_figure_columns_rows_and_hover():
    models = {"tanh": {"h": np.zeros((T, 4))}, "gru": _gates("gru", 3), "lstm": _gates("lstm", 2)}
    fig = gates_figure(models, _roll(), start=10)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 3 + 1 + 2 + 3  # a roll per column, then tanh h, GRU z r, LSTM i f o
    titles = [a.text for a in fig.layout.annotations]
    assert "tanh RNN has no gates: its hidden state h" in titles
    for expected in ("GRU z: update gate", "GRU r: reset gate", "LSTM i: input gate",
                     "LSTM f: forget gate", "LSTM o: output gate"):
        assert any(t.startswith(expected) for t in titles), expected
    z = next(t for t in fig.data if t.name == "GRU z")
    assert z.z.shape == (3, T) and z.x.tolist() == list(range(10, 16)) and z.coloraxis == "coloraxis"
    assert "step %{x}" in z.hovertemplate and "unit %{y}" in z.hovertemplate and "%{z" in z.hovertemplate
    h = next(t for t in fig.data if t.name == "tanh RNN h")
    assert h.coloraxis == "coloraxis2"  # states on the -1..1 scale, gates on 0..1
    xaxes = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
    assert all(fig.layout[k].matches == "x" for k in xaxes if k != "xaxis")  # one time axis


def test_gates_figure_candidate_on_request():
    models = {"gru": _gates("gru", 3, True), "lstm": _gates("lstm", 2, True)}
    names = [t.name for t in gates_figure(models, _roll(), candidate=True).data]
    assert "GRU h̃" in names and "LSTM c̃" in names
    assert "LSTM c̃" not in [t.name for t in gates_figure(
        {"lstm": _gates("lstm", 2)}, _roll()).data]


def test_chart_symbols_appear_in_the_equations():
    for arch, latex in (("gru", r"\tilde{h}"), ("lstm", r"\tilde{c}")):
        for variant in ("torch", "paper"):
            text = " ".join(equations(arch, variant))
            assert latex in text
            for gate in panels_for(arch):
                assert f"{gate}_t" in text, (arch, variant, gate)
    assert "V_i" in " ".join(equations("lstm", "paper"))
    assert "V_i" not in " ".join(equations("lstm", "torch"))


def test_states_figure_lines_and_pca_path():
    state = np.arange(T * 3, dtype=float).reshape(T, 3)
    m = {"state": state, "state_name": "c", "pca": np.column_stack([np.arange(T), np.zeros(T)]),
         "pca_share": np.array([0.9, 0.1])}
    fig = states_figure({"lstm": m}, {"lstm": [2, 0]}, start=4)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == ["unit 2", "unit 0"]
    assert lines[0].y.tolist() == state[:, 2].tolist() and lines[0].x.tolist() == list(range(4, 10))
    path = next(t for t in fig.data if t.mode == "lines+markers")
    assert path.marker.color.tolist() == list(range(4, 10))  # coloured by time
    titles = [a.text for a in fig.layout.annotations]
    assert any("LSTM c (cell state), units 2, 0" in t for t in titles)
    assert any("PC1 (90% of variance)" in t for t in titles)


def test_prediction_figure_marks_true_notes_and_strips_nll():
    roll = _roll()
    probs = np.full((T, 88), 0.1)
    models = {"tanh": {"probs": probs, "nll": np.full(T, 3.0)},
              "gru": {"probs": probs, "nll": np.arange(T, dtype=float)}}
    fig = prediction_figure(models, roll, start=0)
    notes = [t for t in fig.data if t.name == "true notes"]
    assert len(notes) == 2
    assert notes[0].x.tolist() == list(range(T))
    assert notes[0].y.tolist() == [60, 61, 62, 60, 61, 62]  # MIDI pitches of keys 39..41
    strip = fig.data[-1]
    assert strip.type == "heatmap" and list(strip.y) == ["tanh RNN", "GRU"]
    assert strip.z.shape == (2, T) and strip.z[1].tolist() == list(range(T))
    assert fig.layout.coloraxis2.cmax == pytest.approx(5.0)


def test_grid_domains_do_not_overlap():
    g = Grid(3, 2, row_weights=[2, 1, 1], v_gap=0.1, h_gap=0.1)
    layout = g.layout()
    tops = [layout[f"yaxis{'' if k == 1 else k}"]["domain"] for k in (1, 3, 5)]
    assert tops[0][1] == pytest.approx(1.0) and tops[2][0] == pytest.approx(0.0, abs=1e-9)
    assert tops[0][0] > tops[1][1] > tops[1][0] > tops[2][1]
    assert (tops[0][1] - tops[0][0]) == pytest.approx(2 * (tops[1][1] - tops[1][0]))
