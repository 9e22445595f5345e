"""The pure plot builders, on tiny hand-built arrays: what each trace holds, titles, axes."""
import ast
import re
from functools import cache
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from app.equations import equations
from app.figures import common, gates_figure, loss_figure, panels_for, prediction_figure, states_figure
from app.figures.board import board_figure
from app.figures.common import key_range, pitch_name, projector_style
from app.figures.grid import Grid
from app.figures.intervention import intervention_figure
from app.figures.memory import memory_figure
from app.figures.piece import cursor_figure, nll_overview_figure, piece_figure
from app.figures.saturation import saturation_figure

HANGUL = re.compile(r"[\uac00-\ud7a3]")

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


# --- Languages, colour scales, projector style -------------------------------------------------

ENGLISH = re.compile(r"\b(steps?|pitch|units?|gates?|states?|value|train|valid|mean|share|change|"
                     r"notes?|piano|probability|time|path|seconds|updates?|cell|hidden|candidate|"
                     r"input|output|forget|reset|clamped|trained|variance|log scale)\b", re.I)


@cache
def _every_builder(lang: str) -> dict:
    """Each public builder on tiny inputs, in ``lang`` (built once: no test changes them)."""
    state = {"state": np.linspace(-1, 1, T * 3).reshape(T, 3), "state_name": "c",
             "pca": np.zeros((T, 2)), "pca_share": np.array([0.6, 0.3])}
    history = {"gru": {"train": np.array([[1, 0.5, 9.0]]), "valid": np.array([[0, 0.0, 10.0]]),
                       "binned": True}}
    rates = {"gru": {"z": (np.array([0.5]), np.array([0.25]))}}
    gates = {"tanh": {"h": np.zeros((T, 2))}, "gru": _gates("gru", 2, True),
             "lstm": _gates("lstm", 2, True)}
    probs = {"gru": {"probs": np.full((T, 88), 0.1), "nll": np.ones(T)}}
    at_cursor = {"gru": {"z": 0.2, "r": 0.7, "h_tilde": -0.5, "h": 0.1},
                 "lstm": {"i": 0.5, "f": 0.9, "o": 0.1, "g": 0.3, "c": 1.7, "h": -0.2}}
    return {
        "gates": gates_figure(gates, _roll(), candidate=True, lang=lang),
        "prediction": prediction_figure(probs, _roll(), lang=lang),
        "states": states_figure({"lstm": state}, {"lstm": [0, 1]}, lang=lang),
        "loss": loss_figure(history, lang=lang),
        "loss_seconds": loss_figure(history, x="seconds", log_y=True, lang=lang),
        "memory": memory_figure({"gru": np.array([1.0, 0.5])}, {"gru": np.array([1.0, 0.4])}, t=3,
                                lang=lang),
        "saturation": saturation_figure(rates, history=[rates], lang=lang),
        "no_gates": saturation_figure({"tanh": {}}, lang=lang),
        "intervention": intervention_figure("lstm", np.ones(3), np.full(3, 1.5), "f = 1", lang=lang),
        "piece": piece_figure(_roll(), window=(1, 2), lang=lang),
        "overview": nll_overview_figure({"gru": np.ones(T)}, window=(1, 2), cursor=3, lang=lang),
        "cursor": cursor_figure(at_cursor, 4, {"gru": 0, "lstm": 1}, lang=lang),
        "board": board_figure({"gru": [("Ada", np.array([0, 5]), np.array([10.0, 9.0]))]}, lang=lang),
    }


def _texts(spec) -> list[str]:
    """Every string a figure shows: titles, axis and colour-bar titles, trace names, hovers."""
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("text", "name", "hovertemplate") and isinstance(value, str):
                found.append(value)
            elif key in ("template", "meta"):
                continue
            else:
                found += _texts(value)
    elif isinstance(spec, (list, tuple)):
        for value in spec:
            found += _texts(value)
    return found


@pytest.mark.parametrize("name", list(_every_builder("en")))
def test_every_builder_speaks_korean(name):
    english = _texts(_every_builder("en")[name].to_plotly_json())
    korean = _texts(_every_builder("ko")[name].to_plotly_json())
    assert any(ENGLISH.search(s) for s in english), name      # the check can see English
    assert any(HANGUL.search(s) for s in korean), name
    leaked = [s for s in korean if ENGLISH.search(s)]
    assert leaked == [], name


def test_korean_titles_use_the_glossary():
    figs = _every_builder("ko")
    gates = [a.text for a in figs["gates"].layout.annotations]
    for expected in ("GRU z: 업데이트 게이트 (새 후보의 몫)", "GRU r: 리셋 게이트",
                     "GRU h̃: 후보 상태",
                     "LSTM i: 입력 게이트", "LSTM f: 망각 게이트", "LSTM o: 출력 게이트",
                     "LSTM c̃: 후보 셀", "tanh RNN: 게이트 없음, 은닉 상태 h"):
        assert any(t.startswith(expected) for t in gates), expected
    layout = figs["gates"].to_plotly_json()["layout"]
    x_titles = {v.get("title", {}).get("text") for k, v in layout.items() if k.startswith("xaxis")}
    assert "시간 단계 t (프레임 t를 예측)" in x_titles
    assert figs["loss"].layout.yaxis.title.text == "시간 단계당 NLL (nats)"
    assert [t.name for t in figs["loss"].data] == ["GRU 학습 (구간 평균)", "GRU 검증"]
    assert figs["gates"].layout.coloraxis.colorbar.title.text == "게이트 값 (0–1)"
    assert figs["gates"].layout.coloraxis2.colorbar.title.text == "상태 (−1…1)"


def _scale(kind: str) -> tuple:
    """A colour scale as plotly stores it (a name becomes its list of stops)."""
    return go.Figure(layout={"coloraxis": common.scale_for(kind)}).layout.coloraxis.colorscale


def _rgb(color: str) -> str:
    """A hex colour or an "rgb(...)" one as "rgb(r, g, b)", the form plotly samples give."""
    if color.startswith("#"):
        return "rgb({}, {}, {})".format(*(int(color[k:k + 2], 16) for k in (1, 3, 5)))
    return color


def test_gates_share_one_sequential_scale_in_every_figure():
    figs = _every_builder("en")
    for fig in (figs["gates"], gates_figure({"gru": _gates("gru", 2)}, _roll(), lang="ko")):
        axis = fig.layout.coloraxis
        assert axis.colorscale == _scale("gate") and (axis.cmin, axis.cmax) == (0, 1)
        gates = [t for t in fig.data if t.name and t.name.split()[-1] in ("z", "r", "i", "f", "o")]
        assert gates and {t.coloraxis for t in gates} == {"coloraxis"}
    stops = _scale("gate")
    assert _rgb(stops[0][1]) == "rgb(68, 1, 84)"          # viridis: from dark purple
    cursor = figs["cursor"].data[0]                       # GRU z = 0.2, r = 0.7
    assert list(cursor.marker.color[:2]) == [common.scale_color(common.GATE_SCALE, 0.2),
                                             common.scale_color(common.GATE_SCALE, 0.7)]
    assert common.scale_color(common.GATE_SCALE, 0.0) == _rgb(stops[0][1])
    assert common.scale_color(common.GATE_SCALE, 1.0) == _rgb(stops[-1][1])


def test_states_are_diverging_and_centred_at_zero():
    fig = gates_figure({"tanh": {"h": np.zeros((T, 2))}, "gru": _gates("gru", 2, True)}, _roll(),
                       candidate=True)
    axis = fig.layout.coloraxis2
    assert axis.colorscale == _scale("state") and axis.cmid == 0 and axis.cmin == -axis.cmax == -1
    assert {t.coloraxis for t in fig.data if t.name in ("tanh RNN h", "GRU h̃")} == {"coloraxis2"}
    white = "rgb(247, 247, 247)"                          # RdBu's middle: 0 is neither sign
    assert common.scale_color(common.STATE_SCALE, 0.0) == white
    low, high = (common.scale_color(common.STATE_SCALE, v) for v in (-1, 1))
    assert low.startswith("rgb(5,") and high.startswith("rgb(103,")      # blue below, red above
    bars = _every_builder("en")["cursor"].data
    assert bars[0].marker.color[2] == common.scale_color(common.STATE_SCALE, -0.5)  # GRU h̃


def test_the_cell_state_gets_a_symmetric_range_from_the_data_named_in_its_colour_bar():
    c = np.array([[0.3, -2.34], [1.0, 0.0]])
    lstm = {**{p: np.full((2, 2), 0.5) for p in ("i", "f", "o")}, "c": c}
    fig = gates_figure({"lstm": lstm}, _roll()[:2], lang="ko")
    axis = fig.layout.coloraxis4
    assert (axis.cmin, axis.cmax, axis.cmid) == (-2.4, 2.4, 0)
    assert axis.colorscale == _scale("state")
    assert axis.colorbar.title.text == "셀 상태 c (−2.4…2.4)"
    assert next(t for t in fig.data if t.name == "LSTM c").coloraxis == "coloraxis4"
    assert common.cell_range(np.array([0.05])) == 0.1 and common.cell_range() == 1.0
    cursor = _every_builder("en")["cursor"].data[1]       # LSTM c = 1.7: the top of ±1.7
    assert cursor.marker.color[4] == common.scale_color(common.scale_for("cell", 1.7), 1.7)


def test_colour_scales_are_defined_once():
    """Every colour scale comes from app/figures/common.py: one scale per quantity."""
    for path in Path("app/figures").glob("*.py"):
        if path.name != "common.py":
            assert not re.search(r"colorscale\"?\s*[:=]\s*[\"\[]", path.read_text()), path


def test_colour_bars_name_their_quantity_and_range():
    figs = _every_builder("en")
    bars = {k: figs["gates"].layout[k].colorbar.title.text for k in ("coloraxis", "coloraxis2")}
    assert bars == {"coloraxis": "gate value (0–1)", "coloraxis2": "state (−1…1)"}
    assert figs["prediction"].layout.coloraxis.colorbar.title.text == "p: probability (0–1)"
    assert figs["prediction"].layout.coloraxis2.colorbar.title.text == "NLL (nats, 0–1.00)"
    assert figs["states"].data[-1].marker.colorbar.title.text == "time step"


def test_every_chart_keeps_its_own_light_paper():
    """Streamlit's dark theme around a chart does not reach into it (charts use theme=None)."""
    for name, fig in _every_builder("ko").items():
        assert fig.layout.paper_bgcolor == "#ffffff" and fig.layout.plot_bgcolor, name
    roll = _every_builder("en")["piece"].layout.coloraxis3.colorscale
    assert [c for _, c in roll] == ["#f7f7f7", "#222222"]  # notes dark on a near-white field


def test_projector_style_enlarges_a_copy():
    fig = _every_builder("en")["loss"]
    before = fig.to_plotly_json()
    big = projector_style(fig)
    assert fig.to_plotly_json() == before                 # the original is untouched
    assert big.layout.font.size == 18 and big.layout.hoverlabel.font.size == 18
    assert [t.line.width for t in big.data] == [3.0, 5.0]  # 1 -> 3 (at least), 2.5 -> 5
    assert big.layout.height == int(360 * 1.15)
    gates = projector_style(_every_builder("en")["gates"])
    assert {a.font.size for a in gates.layout.annotations} == {16}   # three columns of titles
    two = projector_style(gates_figure({"gru": _gates("gru", 2)}, _roll()))
    assert {a.font.size for a in two.layout.annotations} == {19}
    assert gates.layout.coloraxis.colorbar.thickness == 20
    cursor = projector_style(_every_builder("en")["overview"])
    assert cursor.layout.shapes[-1].line.width == 3.0       # the time cursor, 1.5 -> 3
    assert projector_style(_every_builder("en")["intervention"]).layout.title.font.size == 21


def test_a_page_draws_its_charts_in_its_language_and_mode():
    """The Paper page under AppTest with ?lang=ko&projector=1: its learning curves carry Korean
    axis titles and the projector's thick lines (the page passes lang() to the builder)."""
    import json

    from tests.apptest import open_page
    at = open_page("paper/paper.py", lang="ko", projector="1")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curves = next(s for s in specs if s["layout"].get("yaxis", {}).get("title", {}).get("text", "")
                  .startswith("시간 단계당 NLL"))
    assert curves["layout"]["font"]["size"] == 18
    assert {t["line"]["width"] for t in curves["data"]} >= {5.0}   # valid 2.5 -> 5
    assert all(HANGUL.search(t["name"]) for t in curves["data"])  # 학습 / 검증


def test_saturation_names_its_x_axis_once():
    """One x title under the middle panel: side by side they ran into each other."""
    fig = _every_builder("ko")["saturation"].to_plotly_json()["layout"]
    titles = [v["title"]["text"] for k, v in fig.items()
              if k.startswith("xaxis") and v.get("title", {}).get("text")]
    assert len(titles) == 1 and "0.1" in titles[0]
