"""What the Paper page writes, without widgets (app/paper/words.py): its headers, cells and
number formats, its sentences and option labels, the rerun's datasets. Outside a page run the
page's language is English. The page itself is drawn by the AppTest tests in test_app_paper.py."""
from app import text
from app.paper import words
from core.training.reproduce import PROTOCOLS


def test_headers_are_translated_and_a_table_can_rename_some():
    names = words.headers()
    assert names["ours_test"] == "Ours: test" and names["lr"] == "Learning rate"
    renamed = words.headers(text.table("en", "paper.field.columns"))
    assert renamed["ours_test"] == "Our tanh RNN: test" and renamed["lr"] == "Learning rate"


def test_datasets_are_shown_by_their_titles():
    rows = [{"dataset": "jsb", "unit": "GRU"}, {"dataset": "unknown", "unit": "LSTM"}]
    assert words.titled(rows) == [{"dataset": "JSB Chorales", "unit": "GRU"},
                                  {"dataset": "unknown", "unit": "LSTM"}]
    assert rows[0]["dataset"] == "jsb"   # the rows themselves are left as they were


def test_cells_are_blank_signed_or_in_e_notation_as_their_column_says():
    assert words.cell("ours_test", None) == ""
    assert words.cell("diff", 0.1234) == "+0.123" and words.cell("ours_vs_hf", -0.2) == "-0.200"
    assert words.cell("lr", 0.00123) == "1.23e-03"
    assert words.cell("ours_test", 8.5) == "8.5" and words.cell("params", 20110) == "20110"
    assert words.cell("candidates", "3/10") == "3/10"
    rows = [{"dataset": "JSB Chorales", "diff": -0.05, "paper_test": None, "extra": 1}]
    assert words.text_cells(rows, words.headers()) == [
        {"Dataset": "JSB Chorales", "Test: ours − paper": "-0.050", "Paper: test": "", "extra": "1"}]


def test_number_formats_sign_differences_and_keep_the_papers_decimals():
    formats = words.NUMBER_FORMATS
    assert formats["lr"] == "%.2e" and list(formats)[0] == "lr"
    assert all(formats[k] == "%+.3f" for k in words.SIGNED)
    assert formats["ours_test"] == formats["two_se"] == "%.3f"
    assert formats["paper_test"] == formats["field_hf"] == "%.2f"
    assert len(formats) == 1 + len(words.SIGNED) + len(words.OURS) + len(words.PRINTED)  # no key twice


def test_option_labels_are_in_the_pages_language():
    assert words.protocol_labels() == {"paper": "Paper", "modern": "Modern"}
    assert list(words.protocol_labels()) == list(PROTOCOLS)
    assert words.axis_labels() == {"updates": "Updates", "seconds": text.get("en", "paper.curves.seconds")}


def test_not_run_names_the_datasets_by_title():
    note = words.not_run(["musedata", "nottingham"])
    assert note.startswith("Not run yet") and "MuseData, Nottingham" in note


def test_the_field_check_gives_its_verdict_only_while_ours_is_closer():
    closer = words.field_text(0.3, (0.5, 1.4))
    assert "within 0.30 nats" in closer and "0.5–1.4 nats off" in closer
    assert "So our core agrees" in closer and closer.endswith(text.get("en", "paper.field.more"))
    farther = words.field_text(0.6, (0.5, 1.4))
    assert "So our core agrees" not in farther and "within 0.60 nats" in farther


def test_the_seed_spread_counts_seeds_pairs_and_told_apart_pairs():
    cells = [{"dataset": "jsb", "seeds": 4}, {"dataset": "jsb", "seeds": 5}, {"dataset": "nottingham", "seeds": 4}]
    pairs = [{"pair": "tanh RNN − GRU", "lower": "GRU"}, {"pair": "GRU − LSTM", "lower": None}]
    intro = words.seeds_text(cells, pairs)
    assert "with 5 fresh seeds" in intro and "1 of the 2 pairs" in intro
    assert "(JSB Chorales, Nottingham)" in intro
    assert [p["lower"] for p in words.verdicts(pairs)] == ["GRU lower", "not told apart"]
    assert pairs[0]["lower"] == "GRU"   # the pairs themselves are left as they were


def test_a_rerun_offers_the_available_datasets_but_the_long_memory_one():
    assert words.rerun_choices(["chorales", "jsb", "long-memory"]) == (["chorales", "jsb"], 0)
    assert words.rerun_choices(["jsb", "long-memory", "chorales"]) == (["jsb", "chorales"], 1)
    assert words.rerun_choices(["long-memory", "nottingham"]) == (["nottingham"], 0)
