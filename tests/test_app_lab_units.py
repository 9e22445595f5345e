"""The Lab with units taken apart (issue 29): a link such as ``?archs=lstm,lstm-nfg,mgu`` trains
exactly those, the chooser groups the variants under their unit and defaults to the paper's three,
a seventh unit is refused in the page's language with nothing lost, a removed gate is drawn as
removed (an empty cell that says so, not a flat heatmap), and the equations highlight the change.
AppTest for the page, the figure and equation builders directly for the rest."""
import json
import re

import numpy as np
import pytest

from app import text
from app.equations import MARK, highlighted, note
from app.figures.gates import gates_figure, panels_for
from core.training.settings import LabSettings
from core.units import ARCHS, UNITS, VARIANT_ARCHS, VARIANTS, display_name
from core.units.registry import HIGHLIGHT
from tests.apptest import decode, new_app
from tests.test_app import ready, run_until, updates

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LINK = ("lstm", "lstm-nfg", "mgu")
SMALL = "2000"  # parameters per model: quick workers
LSTM_VARIANTS = [a for a in VARIANT_ARCHS if a.startswith("lstm-")]
SEVEN = ARCHS + tuple(LSTM_VARIANTS[:4])


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _gates_chart(at) -> dict:
    return next(c for c in _charts(at) if any(t.get("name") == "notes" for t in c["data"]))


def _close(at) -> None:
    if "lab_client" in at.session_state:
        at.session_state["lab_client"].close()


@pytest.fixture(scope="module")
def linked():
    """The Lab opened from ``?archs=lstm,lstm-nfg,mgu``, its models built and its gates drawn."""
    at = run_until(new_app(archs=",".join(LINK), budget=SMALL), ready, what="the linked models")
    run_until(at, lambda a: len(a.get("plotly_chart")) >= 2, what="the gates")
    yield at
    _close(at)


def test_a_link_trains_exactly_its_units_and_round_trips(linked):
    at = linked
    assert tuple(at.session_state["lab_client"].settings["archs"]) == LINK  # what the worker trains
    assert [m.label for m in at.metric][::2] == [f"{display_name(a)}: validation NLL (nats/step)" for a in LINK]
    # each unit in its own group's chooser
    assert at.multiselect(key="setting_archs").value == ["lstm"]
    assert at.multiselect(key="setting_archs_lstm").value == ["lstm-nfg"]
    assert at.multiselect(key="setting_archs_gru").value == ["mgu"]
    # the URL written back reads as the same settings
    assert at.query_params["archs"] == ",".join(LINK)
    params = {name: at.query_params[name] for name in LabSettings().to_params()}
    back, problems = LabSettings.from_params(params)
    assert problems == {} and back.to_dict() == {**at.session_state["lab_client"].settings}
    # every unit's cost line and loss lines
    costs = [c.value for c in at.caption if "multiply-adds per step" in c.value]
    assert len(costs) == len(LINK)
    # and they train: one Step is one update of each
    before = updates(at)
    at.button(key="step").click().run()
    assert len(before) == len(LINK) and updates(at) == [n + 1 for n in before]
    names = {t["name"] for c in _charts(at) for t in c["data"] if "name" in t}
    assert {f"{display_name(a)} {kind}" for a in LINK for kind in ("train", "valid")} <= names


def test_the_links_gates_show_the_removed_gate_as_removed_and_the_mgus_one_gate(linked):
    chart = _gates_chart(linked)
    heatmaps = {t["name"]: t for t in chart["data"] if t["type"] == "heatmap" and t["name"] != "notes"}
    assert set(heatmaps) == {"LSTM i", "LSTM f", "LSTM o", "LSTM-NFG i", "LSTM-NFG o", "MGU f"}
    gate = decode(heatmaps["MGU f"]["z"])
    assert gate.ndim == 2 and 0.0 <= gate.min() < gate.max() <= 1.0  # a real gate: it varies, in 0..1
    notes = [a["text"] for a in chart["layout"]["annotations"]]
    assert "removed: f ≡ 1" in notes and "LSTM-NFG f: forget gate, removed" in notes
    assert len(chart["layout"]["shapes"]) == 1  # the one empty cell


def test_the_links_states_and_equations_cover_the_variants(linked):
    at = linked
    latex = [line.value.strip("$\n") for line in at.latex]
    assert rf"\textcolor{{{HIGHLIGHT}}}{{f_t \equiv 1}}{MARK}" in latex                      # LSTM-NFG
    assert rf"\textcolor{{{HIGHLIGHT}}}{{c_t = c_{{t-1}} + i_t \odot \tilde{{c}}_t}}{MARK}" in latex
    assert r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t" in latex                    # LSTM: plain
    assert sum(HIGHLIGHT in line for line in latex) == 2 + 3  # LSTM-NFG's two changes, all of the MGU's three
    assert [c.value for c in at.caption if c.value.startswith("Highlighted")] == [
        text.get("en", "equations.changed", model="LSTM-NFG", base="LSTM"),
        text.get("en", "equations.changed", model="MGU", base="GRU")]
    at.radio(key="view").set_value("Cell states").run()
    titles = [a["text"] for c in _charts(at) for a in c["layout"].get("annotations", [])]
    assert any(t.startswith("LSTM-NFG c (cell state)") for t in titles)
    assert any(t.startswith("MGU h (hidden state)") for t in titles)
    at.radio(key="view").set_value("Gates").run()
    assert not at.exception


def test_the_chooser_defaults_to_the_three_and_refuses_a_seventh_unit_keeping_every_choice():
    at = new_app(budget=SMALL)
    at.run()
    try:
        assert at.multiselect(key="setting_archs").value == list(ARCHS)
        assert at.multiselect(key="setting_archs_lstm").value == []
        assert at.multiselect(key="setting_archs_lstm").options == [
            text.get("en", f"lab.units.{a}") for a in LSTM_VARIANTS]  # grouped under the LSTM
        assert at.multiselect(key="setting_archs_gru").label == "Units taken apart from the GRU"
        assert not at.sidebar.error
        at.multiselect(key="setting_archs_lstm").set_value(list(SEVEN[3:])).run()
        assert [e.value for e in at.sidebar.error] == [text.get("en", "lab.settings.too_many", n=7, limit=6,
                                                                 extra=1)]
        assert at.multiselect(key="setting_archs_lstm").value == list(SEVEN[3:])  # nothing lost
        assert at.query_params["archs"] == "tanh,gru,lstm"  # the three train on
        assert tuple(at.session_state["lab_client"].wanted["archs"]) == ARCHS
        at.multiselect(key="setting_archs_lstm").set_value(list(SEVEN[3:6])).run()  # six: accepted
        assert not at.sidebar.error and at.query_params["archs"] == ",".join(SEVEN[:6])
        # six train side by side, their metrics labelled by name under one line (long labels were cut)
        run_until(at, lambda a: len(a.metric) == 12, what="six models")
        assert [m.label for m in at.metric] == [label for a in SEVEN[:6]
                                                for label in (display_name(a), "training (last 0)")]
        assert text.get("en", "lab.metrics.compact") in [m.value for m in at.markdown]
        assert not at.exception
    finally:
        _close(at)


def test_a_link_with_seven_units_is_said_in_korean_and_its_units_kept_in_the_choosers():
    at = new_app(lang="ko", archs=",".join(SEVEN), budget=SMALL)
    at.run()
    try:
        assert [w.value for w in at.sidebar.warning] == [text.get(
            "ko", "lab.url.archs_too_many", value=",".join(SEVEN), n=7, limit=6, extra=1)]
        assert [e.value for e in at.sidebar.error] == [text.get("ko", "lab.settings.too_many", n=7, limit=6,
                                                                 extra=1)]
        assert HANGUL.search(at.sidebar.warning[0].value) and HANGUL.search(at.sidebar.error[0].value)
        assert at.multiselect(key="setting_archs").value + at.multiselect(key="setting_archs_lstm").value \
            == list(SEVEN)
        assert at.multiselect(key="setting_archs_lstm").label == "LSTM에서 분해한 유닛"
        assert at.multiselect(key="setting_archs_lstm").options[1] == "LSTM-NFG: LSTM − 망각 게이트 (f ≡ 1)"
        assert tuple(at.session_state["lab_client"].wanted["archs"]) == ARCHS and not at.exception
    finally:
        _close(at)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_link_with_an_unknown_unit_is_said_and_the_default_units_train(lang):
    at = new_app(lang=lang, archs="lstm,lstm-xyz", budget=SMALL)
    at.run()
    try:
        warnings = [w.value for w in at.sidebar.warning]
        assert len(warnings) == 1 and "lstm-xyz" in warnings[0] and "lstm-nfg" in warnings[0]
        assert warnings[0] == text.get(lang, "lab.url.archs_unknown", value="lstm,lstm-xyz", unknown="lstm-xyz",
                                       choices=", ".join(UNITS))
        assert at.query_params["archs"] == "tanh,gru,lstm" and not at.exception
    finally:
        _close(at)


def _gates(archs, candidate=False, T=12, H=3):
    rng = np.random.default_rng(0)
    return {a: {p: rng.random((T, H)) for p in panels_for(a, candidate)} for a in archs}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_removed_gate_is_an_empty_cell_in_its_place_not_a_flat_panel(lang):
    archs = ("lstm", "lstm-nig", "lstm-nfg", "lstm-nog", "mgu")
    fig = gates_figure(_gates(archs), np.zeros((12, 88), np.uint8), lang=lang).to_plotly_json()
    layout, names = fig["layout"], [t["name"] for t in fig["data"]]
    notes = {a["text"]: a for a in layout["annotations"]}
    domains = {t["name"]: (layout[t["xaxis"].replace("x", "xaxis")]["domain"],
                           layout[t["yaxis"].replace("y", "yaxis")]["domain"]) for t in fig["data"]}
    shapes = layout["shapes"]
    assert len(shapes) == 3  # NIG's i, NFG's f, NOG's o
    for arch, gate in (("lstm-nig", "i"), ("lstm-nfg", "f"), ("lstm-nog", "o")):
        name = display_name(arch)
        assert f"{name} {gate}" not in names  # no heatmap for it, constant or not
        others = [g for g in ("i", "f", "o") if g != gate]
        assert {f"{name} {g}" for g in others} <= set(names)
        # its cell: in the unit's column, on the LSTM's row of that gate, said in words
        x, _ = domains[f"{name} {others[0]}"]
        _, y = domains[f"LSTM {gate}"]
        cell = next(s for s in shapes if s["name"] == f"removed {name} {gate}")
        assert [cell["x0"], cell["x1"]] == pytest.approx(x) and [cell["y0"], cell["y1"]] == pytest.approx(y)
        words = notes[text.get(lang, "figures.gates.removed", gate=gate, value="1")]
        assert words["x"] == pytest.approx(sum(x) / 2) and words["y"] == pytest.approx(sum(y) / 2)
        assert f"{name} {gate}" in notes  # five columns: short titles (model and symbol)
        # the gates it keeps stay on the LSTM's rows
        for g in others:
            assert domains[f"{name} {g}"][1] == domains[f"LSTM {g}"][1]
    assert [n for n in names if n.startswith("MGU ")] == ["MGU f"]  # the MGU's single gate
    assert len(layout["annotations"]) == len(names) + 2 * 3  # each panel's title; each removed cell's title, words
    # five columns: no title runs into the next column's (model and symbol alone, the axis "time step")
    assert not any(text.get(lang, "figures.panels.i") in n for n in notes) and "MGU" in notes
    assert {layout[k]["title"]["text"] for k in layout if k.startswith("xaxis") and "title" in layout[k]} == {
        text.get(lang, "figures.step_axis")}
    # three columns: the titles say what each panel is, the removed one included
    fig = gates_figure(_gates(("lstm", "lstm-nfg", "mgu")), np.zeros((12, 88), np.uint8), lang=lang)
    notes = [a.text for a in fig.layout.annotations]
    assert text.get(lang, "figures.gates.removed_title", model="LSTM-NFG", gate="f",
                    words=text.get(lang, "figures.panels.f")) in notes
    assert text.get(lang, "figures.gates.removed", gate="f", value="1") in notes
    assert f"MGU f: {text.get(lang, 'figures.panels.f')}" in notes


def test_cifg_draws_its_coupled_input_gate_with_what_it_is():
    fig = gates_figure(_gates(("lstm-cifg",)), np.zeros((12, 88), np.uint8)).to_plotly_json()
    assert [t["name"] for t in fig["data"]][1:] == ["LSTM-CIFG i", "LSTM-CIFG f", "LSTM-CIFG o"]
    assert "LSTM-CIFG i = 1 − f: input gate, coupled" in [a["text"] for a in fig["layout"]["annotations"]]
    assert "shapes" not in fig["layout"] or not fig["layout"]["shapes"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_equations_highlight_exactly_the_changed_lines(variant):
    for arch in ARCHS:
        assert [line for line, _ in highlighted(arch, variant)] == list(UNITS[arch].equations(variant))
    for arch in VARIANT_ARCHS:
        lines = highlighted(arch, variant)
        family = set(UNITS[UNITS[arch].family].equations(variant))
        for line, changed in lines:
            if changed:
                assert line.startswith(rf"\textcolor{{{HIGHLIGHT}}}{{") and line.endswith(MARK)
            else:
                assert line in family and HIGHLIGHT not in line
        removed = {rf"\textcolor{{{HIGHLIGHT}}}{{{g}_t \equiv {v:g}}}{MARK}" for g, v in UNITS[arch].removed}
        assert removed <= {line for line, _ in lines}
        for lang in text.LANGS:
            assert note(arch, variant, lang).startswith(display_name(arch))
            assert lang == "en" or HANGUL.search(note(arch, variant, lang))
    noaf = [line for line, changed in highlighted("lstm-noaf", variant) if changed]
    assert noaf == [rf"\textcolor{{{HIGHLIGHT}}}{{h_t = o_t \odot c_t}}{MARK}"]


def test_every_chooser_label_exists_in_both_languages():
    from app.lab.controls import ARCH_GROUPS
    assert sorted(a for group in ARCH_GROUPS.values() for a in group) == sorted(UNITS)  # every unit offered
    for lang in text.LANGS:
        labels = text.table(lang, "lab.units")
        assert sorted(labels) == sorted(VARIANT_ARCHS)
        assert all(labels[a].startswith(display_name(a) + ":") for a in VARIANT_ARCHS)


def test_a_reset_slower_than_its_wait_keeps_the_page_asking_until_the_new_models_show():
    """Six models on a loaded machine take longer to build than a Reset's request waits: the page
    must keep refreshing until the worker's status shows the new generation (it used to stop,
    paused, on the old models' numbers; live_page.py's Reset timed out)."""
    import streamlit as st

    from app import session

    class SlowWorker:  # a LabClient whose reset is not answered within the wait
        alive, settings, dataset = True, {}, None

        def __init__(self):
            self.status = {"ready": True, "running": False, "generation": 3}

        def reset(self, settings, dataset, timeout):
            return None

    worker = SlowWorker()
    st.session_state[session.CLIENT_KEY] = worker
    try:
        assert not session.pending()
        session.reset()
        assert session.pending() and session.pending()  # still waiting: the old generation
        worker.status = {**worker.status, "generation": 4}
        assert not session.pending()  # the new models are there: the page stops asking
    finally:
        del st.session_state[session.CLIENT_KEY]


def test_niafs_unbounded_candidate_is_drawn_on_a_scale_that_holds_it():
    """LSTM-NIAF's c̃ has no tanh: on the state scale (−1…1) its values beyond 1 would read as
    saturated. It is drawn on the cell's symmetric scale, which reaches its largest value."""
    models = _gates(("lstm", "lstm-niaf"), candidate=True)
    models["lstm-niaf"]["g"] = models["lstm-niaf"]["g"] * 8 - 4  # values out to about ±4
    fig = gates_figure(models, np.zeros((12, 88), np.uint8), candidate=True)
    axes = {t.name: t.coloraxis for t in fig.data}
    assert axes["LSTM c̃"] == "coloraxis2" and axes["LSTM-NIAF c̃"] == "coloraxis4"
    top = float(np.abs(models["lstm-niaf"]["g"]).max())
    assert fig.layout.coloraxis4.cmax >= top and fig.layout.coloraxis4.cmin <= -top
    assert fig.layout.coloraxis4.colorbar.title.text == text.get(
        "en", "figures.colorbar.unbounded", symbols="c̃", top=f"{fig.layout.coloraxis4.cmax:g}")
