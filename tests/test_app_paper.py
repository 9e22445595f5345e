"""The Paper page: the committed Table 2 and Figure 2 render; a small rerun runs to the end."""
import json
import time

from app.paper import results as paper
from tests.apptest import open_page


def page(**params):
    return open_page("paper/paper.py", **params)


def test_table_and_curves_render_from_the_committed_results():
    at = page()
    assert not at.exception
    table = at.dataframe[0].value
    jsb_gru = table[(table["dataset"] == "JSB Chorales") & (table["unit"] == "GRU")].iloc[0]
    assert jsb_gru["paper_test"] == 8.54 and jsb_gru["ours_test"] < 9
    unfinished = paper.unfinished(paper.table_rows(paper.committed_config("paper")))
    assert any("Not run yet" in i.value for i in at.info) == bool(unfinished)
    charts = at.get("plotly_chart")
    assert charts, "Figure 2 is drawn"
    at.radio(key="paper_protocol").set_value("modern").run()
    assert not at.exception and at.dataframe[0].value["params"].dropna().max() < 21_000


def test_in_korean_the_headers_titles_and_controls_are_korean():
    at = page(lang="ko")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "논문: 표 2와 그림 2"
    headers = json.loads(at.dataframe[0].proto.columns)
    assert headers["ours_test"]["label"] == "재현: 테스트" and headers["lr"]["label"] == "학습률"
    assert "JSB Chorales" in set(at.dataframe[0].value["dataset"])
    unfinished = paper.unfinished(paper.table_rows(paper.committed_config("paper")))
    assert any(i.value.startswith("아직 실행하지 않았거나") for i in at.info) == bool(unfinished)
    assert [e.label for e in at.expander] == ["일부 칸이 논문과 어긋나는 이유: 독립적인 확인",
                                              "어떤 차이가 시드의 운보다 클까요?",
                                              "논문의 유닛 식으로 같은 프로토콜",
                                              "유닛별 비용, 그리고 어떤 유닛이 주어진 NLL에 먼저 도달하는가"]
    costs = at.expander[3]
    assert json.loads(costs.dataframe[0].proto.columns)["seconds_to_target"]["label"] == "목표까지 걸린 초"
    assert "에 가장 먼저 도달했습니다" in costs.markdown[-1].value
    verdicts = set(at.expander[1].dataframe[1].value["lower"])
    assert verdicts <= {"구별 안 됨", "tanh RNN 쪽이 낮음", "GRU 쪽이 낮음", "LSTM 쪽이 낮음"}
    check = at.expander[0].markdown[0].value
    assert "Hessian-free" in check and "nats 이내" in check
    assert at.radio(key="paper_protocol").options == ["논문", "현대식"]
    assert at.radio(key="paper_x").options == ["업데이트", "초"]
    assert at.button(key="paper_rerun_go").label == "시작"
    assert [s.value for s in at.subheader] == ["그림 2: 학습 곡선", "분해 실험: LSTM을 하나씩 떼어 보기",
                                              "작은 규모로 직접 다시 실행하기"]


def test_projector_mode_keeps_the_tables_and_charts_only():
    """Table 2 and the ablation table (static tables, readable from the back of a room), Figure 2
    and the ablation chart; no prose, captions or downloads."""
    at = page(projector="1")
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.table) == 2 and not at.dataframe and len(at.get("plotly_chart")) == 2
    assert not at.markdown and not at.caption and not at.get("download_button")
    assert [s.value for s in at.subheader] == ["Figure 2: learning curves",
                                               "Ablations: take the LSTM apart"]
    assert not any(b.key == "paper_rerun_go" for b in at.button)


def expander(at, label):
    return next(e for e in at.expander if e.label == label)


def test_the_tanh_rnn_sits_beside_the_fields_plain_rnns():
    at = page()
    assert not at.exception, [e.value for e in at.exception]
    box = expander(at, "Why some cells miss the paper: an independent check")
    field, main = box.dataframe[0].value, at.dataframe[0].value
    tanh = main[main["unit"] == "tanh RNN"].dropna(subset=["ours_test"])
    assert len(field) == len(tanh) >= 1
    for _, row in field.iterrows():  # the main table's tanh cells, beside the 2012 numbers
        same = tanh[tanh["dataset"] == row["dataset"]].iloc[0]
        assert row["ours_test"] == same["ours_test"] and row["paper_test"] == same["paper_test"]
        assert abs(row["ours_vs_hf"] - (row["ours_test"] - row["field_hf"])) < 1e-9
        assert row["field_sgd"] > row["field_hf"]  # Hessian-free trained the better RNN
    text = box.markdown[0].value
    rows = paper.field_rows(paper.table_rows(paper.committed_config("paper")))
    ours, (low, high) = paper.field_spread(rows)
    assert f"within {ours:.2f} nats" in text and f"{low:.1f}–{high:.1f} nats off" in text
    assert ("So our core agrees" in text) == (ours < low)
    at.radio(key="paper_protocol").set_value("modern").run()
    assert box.label not in [e.label for e in at.expander], "the paper protocol's tanh RNN only"


def test_field_spread_rounds_outward_so_the_text_stays_true():
    rows = [{"ours_vs_hf": -0.297, "paper_vs_hf": -0.76}, {"ours_vs_hf": 0.118, "paper_vs_hf": 1.37},
            {"ours_vs_hf": 0.02, "paper_vs_hf": 0.52}]
    assert paper.field_spread(rows) == (0.3, (0.5, 1.4))
    assert paper.field_spread([{"ours_vs_hf": 0.301, "paper_vs_hf": 0.58}]) == (0.31, (0.5, 0.6))


def test_field_rows_leave_out_datasets_without_a_tanh_run():
    rows = [{"dataset": "jsb", "unit": "tanh RNN", "ours_test": 8.5, "paper_test": 9.1},
            {"dataset": "jsb", "unit": "GRU", "ours_test": 8.4, "paper_test": 8.54},
            {"dataset": "musedata", "unit": "tanh RNN", "paper_test": 6.23}]
    [row] = paper.field_rows(rows)
    assert row["dataset"] == "jsb" and row["ours_vs_hf"] == round(8.5 - 8.58, 3)
    assert row["paper_vs_hf"] == round(9.1 - 8.58, 3)


def test_the_paper_units_table_sits_beside_pytorchs_equations():
    at = page()
    assert not at.exception, [e.value for e in at.exception]
    own = expander(at, "The same protocol with the paper's own unit equations").dataframe[0].value
    main = at.dataframe[0].value
    assert len(own) >= 1 and "torch_test" in own.columns and "torch_test" not in main.columns
    for _, row in own.iterrows():  # each cell beside the same cell of the main table
        same = main[(main["dataset"] == row["dataset"]) & (main["unit"] == row["unit"])].iloc[0]
        assert row["torch_test"] == same["ours_test"] and row["ours_test"] != same["ours_test"]
    at.radio(key="paper_protocol").set_value("modern").run()
    assert "The same protocol with the paper's own unit equations" not in [e.label for e in at.expander], \
        "the paper's equations were run under the paper protocol only"


def test_unfinished_names_datasets_with_a_cell_missing_or_short_of_candidates():
    rows = [{"dataset": "jsb", "candidates": "10/10", "ours_test": 8.4},
            {"dataset": "nottingham", "candidates": "3/10", "ours_test": 3.9},
            {"dataset": "musedata"},
            {"dataset": "piano-midi", "candidates": "10/10", "ours_test": 7.9}]
    assert paper.unfinished(rows) == ["musedata", "nottingham"]
    assert paper.unfinished(rows[:1] + rows[3:]) == []


def test_table_rows_put_the_paper_beside_ours():
    rows = paper.table_rows(paper.committed_config("paper"))
    row = next(r for r in rows if r["dataset"] == "jsb" and r["unit"] == "LSTM")
    assert row["diff"] == round(row["ours_test"] - 8.67, 3)


def test_small_rerun_runs_to_the_end(tmp_path):
    rerun = paper.start_rerun("chorales", "paper", candidates=1, epochs=1, seed=0)
    deadline = time.time() + 240
    while rerun.running and time.time() < deadline:
        time.sleep(0.5)
    assert not rerun.running and not rerun.failed, rerun.lines
    assert any("[3/3]" in line for line in rerun.lines)
    rows = paper.table_rows(rerun.config)
    assert len(rows) == 3 and all("ours_test" in r for r in rows)


def test_seed_spread_reads_the_committed_file_and_names_the_lower_unit(tmp_path, monkeypatch):
    from core.training.seed_spread import compare_units
    cells = [{"dataset": "jsb", "arch": a, "lr": 1e-3, "seeds": 4, "test_mean": m, "test_sd": 0.02,
              "test_min": m - 0.03, "test_max": m + 0.03, "epochs_mean": 150, "selected_test": m - 0.01}
             for a, m in (("tanh", 8.58), ("gru", 8.49), ("lstm", 8.48))]
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "seeds.json").write_text(json.dumps({"cells": cells, "pairs": compare_units(cells)}))
    monkeypatch.setattr(paper, "RESULTS", tmp_path)
    rows, pairs = paper.seed_spread("paper")
    assert [r["unit"] for r in rows] == ["tanh RNN", "GRU", "LSTM"] and rows[1]["seed_mean"] == 8.49
    assert [(p["pair"], p["lower"]) for p in pairs] == [
        ("tanh RNN − GRU", "GRU"), ("tanh RNN − LSTM", "LSTM"), ("GRU − LSTM", None)]
    assert pairs[0]["diff"] == 0.09 and pairs[0]["two_se"] == round(2 * (2 * 0.02 ** 2 / 4) ** 0.5, 3)
    assert paper.seed_spread("modern") == ([], [])


def test_the_seed_spread_shows_under_its_protocol():
    cells, pairs = paper.seed_spread("paper")
    assert cells, "results/reproduce/paper/seeds.json is committed"
    at = page()
    assert not at.exception, [e.value for e in at.exception]
    box = expander(at, "Which differences are more than a seed's luck?")
    shown, compared = box.dataframe[0].value, box.dataframe[1].value
    assert list(shown["seed_mean"]) == [c["seed_mean"] for c in cells]
    main = at.dataframe[0].value
    for _, row in shown.iterrows():  # the table's own run, beside the seeds' spread
        same = main[(main["dataset"] == row["dataset"]) & (main["unit"] == row["unit"])].iloc[0]
        assert row["ours_test"] == same["ours_test"] and row["seed_min"] <= row["seed_mean"] <= row["seed_max"]
    told = [p for p in pairs if p["lower"]]
    assert list(compared["lower"]) == [f"{p['lower']} lower" if p["lower"] else "not told apart" for p in pairs]
    assert f"{len(told)} of the {len(pairs)} pairs" in box.markdown[0].value
    at.radio(key="paper_protocol").set_value("modern").run()
    assert any(e.label == box.label for e in at.expander) == bool(paper.seed_spread("modern")[0])


def test_the_costs_race_the_units_to_an_nll_the_user_picks():
    at = page()
    assert not at.exception, [e.value for e in at.exception]
    costs = next(e for e in at.expander if e.label.startswith("What each unit costs"))
    table = costs.dataframe[0].value
    assert list(table["unit"]) == ["tanh RNN", "GRU", "LSTM"] and table["seconds_to_target"].notna().all()
    assert "first**" in costs.markdown[-1].value
    target = next(w for w in at.number_input if w.key.startswith("cost_target"))
    target.set_value(1.0).run()
    costs = next(e for e in at.expander if e.label.startswith("What each unit costs"))
    assert costs.markdown[-1].value.startswith("No unit reached a validation NLL of 1.00")


def test_the_ablations_section_shows_every_unit_beside_the_lstm_with_the_committed_numbers():
    """The committed study (results/ablation): one row per unit, its mean over the seeds as the
    CSV gives it, the chart of every run, one sentence per unit whose sign is its difference's."""
    import csv
    import json as _json

    from app.paper import words
    from app.text import get
    from core.training.ablation import ABLATION_ARCHS
    runs, units, config = paper.ablation()
    assert [u["arch"] for u in units] == list(ABLATION_ARCHS) and config["seeds"] >= 5
    with open(paper.ABLATION / "results.csv", newline="") as f:
        nfg = [float(r["test_nll"]) for r in csv.DictReader(f) if r["arch"] == "lstm-nfg"]
    assert next(u for u in units if u["arch"] == "lstm-nfg")["test_mean"] == round(sum(nfg) / len(nfg), 3)
    for lang in ("en", "ko"):
        at = page(lang=lang)
        assert get(lang, "paper.ablation.heading") in [s.value for s in at.subheader]
        table = next(d.value for d in at.dataframe if "greff" in d.value.columns)
        assert len(table) == len(ABLATION_ARCHS)
        chart = next(c for c in at.get("plotly_chart") if get(lang, "paper.ablation.chart.title")
                     in _json.loads(c.proto.spec)["layout"].get("title", {}).get("text", ""))
        assert len(_json.loads(chart.proto.spec)["data"]) == 2 * len(ABLATION_ARCHS)  # dots + mean per unit
    sentences = words.ablation_sentences(units)
    assert len(sentences) == len(ABLATION_ARCHS) - 1
    for u, sentence in zip([u for u in units if u["verdict"]], sentences):
        assert f"{u['diff']:+.3f}" in sentence
