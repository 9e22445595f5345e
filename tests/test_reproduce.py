"""`reproduce` on a tiny configuration: runs, writes the table, resumes without redoing work."""
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from core.reproduce import (PAPER_TABLE, ReproduceConfig, best_runs, load_runs, reproduce, reproduce_all,
                            table_markdown)


@pytest.fixture
def tiny(tmp_path):
    return ReproduceConfig(protocol="paper", datasets=("chorales",), archs=("tanh", "lstm"),
                           candidates=2, max_epochs=2, patience=1, batch_size=16, workers=2,
                           out=str(tmp_path / "out"))


def test_learning_rates_follow_the_protocol_and_are_seeded():
    paper = ReproduceConfig(protocol="paper", candidates=10, seed=3).learning_rates()
    assert all(math.exp(-12) <= lr <= math.exp(-6) for lr in paper)
    assert paper == ReproduceConfig(protocol="paper", candidates=10, seed=3).learning_rates()
    assert paper != ReproduceConfig(protocol="paper", candidates=10, seed=4).learning_rates()
    modern = ReproduceConfig(protocol="modern", candidates=5).learning_rates()
    assert all(1e-4 <= lr <= 1e-2 for lr in modern)


def test_paper_protocol_settings():
    s = ReproduceConfig(protocol="paper").run_settings("jsb", "gru", 0)
    assert (s.optimizer, s.weight_noise, s.clip, s.units) == ("rmsprop", 0.075, 1.0, 46)
    m = ReproduceConfig(protocol="modern", budget=50_000).run_settings("jsb", "gru", 0)
    assert (m.optimizer, m.weight_noise, m.units, m.budget) == ("adam", 0.0, 0, 50_000)


def test_the_papers_own_units_train_apart():
    config = ReproduceConfig(protocol="paper", variant="paper")
    s = config.run_settings("jsb", "lstm", 0)
    assert (s.variant, s.units) == ("paper", 36)
    assert config.name == "paper-paperunits" and "paperunits" in str(config.run_path("jsb", "lstm", 0))
    assert ReproduceConfig(protocol="paper").run_settings("jsb", "lstm", 0).variant == "torch"


def test_tiny_reproduction_runs_summarises_and_resumes(tiny):
    lines = []
    rows = reproduce(tiny, progress=lines.append)
    assert len(rows) == 4 and "4 to go" in lines[0]
    assert any("about" in line and "left" in line for line in lines[1:])   # progress with an ETA
    out = Path(tiny.out) / "paper"
    table = (out / "table.md").read_text()
    assert "| chorales | tanh |" in table and "| chorales | lstm |" in table
    saved = json.loads((out / "results.json").read_text())
    assert saved["config"]["learning_rates"] == tiny.learning_rates()
    assert (out / "results.csv").read_text().count("\n") == 5
    best = best_runs([json.loads(tiny.run_path("chorales", a, k).read_text())
                      for a in ("tanh", "lstm") for k in range(2)])
    assert set(best) == {("chorales", "tanh"), ("chorales", "lstm")}

    # An interrupted run: one result lost, a partial file left behind. Only that run is redone.
    mtimes = {k: tiny.run_path("chorales", "tanh", k).stat().st_mtime_ns for k in range(2)}
    lost = tiny.run_path("chorales", "lstm", 1)
    lost.unlink()
    partial = table_markdown(tiny, load_runs(tiny))   # a cell with a candidate missing says so
    before, lstm = partial.split("| chorales | lstm |")
    assert "(best of 1 of 2 candidates so far)" in lstm and "so far" not in before
    lost.with_suffix(".part").write_text("{partial")
    lines.clear()
    reproduce(tiny, progress=lines.append)
    assert "3 already finished, 1 to go" in lines[0] and len(lines) == 2
    assert lost.exists()
    assert {k: tiny.run_path("chorales", "tanh", k).stat().st_mtime_ns for k in range(2)} == mtimes
    lines.clear()
    reproduce(tiny, progress=lines.append)
    assert "0 to go" in lines[0] and len(lines) == 1


def test_both_protocols_share_one_pool_and_write_their_own_tables(tmp_path):
    paper = ReproduceConfig(protocol="paper", datasets=("chorales",), archs=("tanh",), candidates=1,
                            max_epochs=1, batch_size=16, workers=2, out=str(tmp_path))
    modern = replace(paper, protocol="modern")
    lines = []
    rows = reproduce_all([paper, modern], progress=lines.append)
    assert set(rows) == {"paper", "modern"} and all(len(r) == 1 for r in rows.values())
    assert lines[0].startswith("paper protocol: 1 runs") and lines[1].startswith("modern protocol: 1 runs")
    assert sorted(line.split()[1] for line in lines[2:]) == ["modern", "paper"]   # each run says which
    assert rows["modern"][0]["lr"] == modern.learning_rates()[0] != paper.learning_rates()[0]
    for name in ("paper", "modern"):
        assert "| chorales | tanh |" in (tmp_path / name / "table.md").read_text()


def test_paper_table_is_the_papers():
    assert PAPER_TABLE["jsb"]["gru"] == (6.94, 8.54)
    assert PAPER_TABLE["piano-midi"]["lstm"] == (6.49, 9.03)


def test_cli_runs_both_protocols_in_one_call(tmp_path, capsys):
    from core.cli import main
    code = main(["reproduce", "--protocol", "paper", "modern", "--datasets", "chorales", "--archs", "gru",
                 "--candidates", "1", "--max-epochs", "1", "--workers", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "paper protocol: 1 runs" in out and "modern protocol: 1 runs" in out
    assert (tmp_path / "paper" / "table.md").exists() and (tmp_path / "modern" / "table.md").exists()
