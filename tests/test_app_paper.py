"""The Paper page: the committed Table 2 and Figure 2 render; a small rerun runs to the end."""
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import paper

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def page():
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("screens/paper.py").run()
    return at


def test_table_and_curves_render_from_the_committed_results():
    at = page()
    assert not at.exception
    table = at.dataframe[0].value
    jsb_gru = table[(table["dataset"] == "JSB Chorales") & (table["unit"] == "GRU")].iloc[0]
    assert jsb_gru["paper_test"] == 8.54 and jsb_gru["ours_test"] < 9
    assert any("Not run yet" in i.value for i in at.info)
    charts = at.get("plotly_chart")
    assert charts, "Figure 2 is drawn"
    at.radio(key="paper_protocol").set_value("modern").run()
    assert not at.exception and at.dataframe[0].value["params"].dropna().max() < 21_000


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
