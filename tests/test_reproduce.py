"""`reproduce` on a tiny configuration: runs, writes the table, resumes without redoing work."""
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from core.training.reproduce import (
    PAPER_TABLE,
    ReproduceConfig,
    best_runs,
    load_runs,
    reproduce,
    reproduce_all,
    table_markdown,
)
from core.training.seed_spread import SEED_BASE, compare_units, seed_jobs, seed_path, seed_spread_all


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
                 "--candidates", "1", "--max-epochs", "1", "--workers", "1", "--out", str(tmp_path),
                 "--seeds", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "paper protocol: 1 runs" in out and "modern protocol: 1 runs" in out
    assert "paper seed spread: 1 runs" in out and "modern seed spread: 1 runs" in out
    for name in ("paper", "modern"):
        assert (tmp_path / name / "table.md").exists()
        assert "| chorales | gru |" in (tmp_path / name / "seeds.md").read_text()


def test_a_reproduction_of_one_dataset_keeps_the_others_in_the_table(tmp_path):
    one = ReproduceConfig(protocol="paper", datasets=("chorales",), archs=("tanh",), candidates=1,
                          max_epochs=1, batch_size=16, workers=1, out=str(tmp_path))
    reproduce(one, progress=lambda line: None)
    other = replace(one, datasets=("long-memory",), archs=("gru",))
    rows = reproduce(other, progress=lambda line: None)   # summarises everything run so far
    assert {(r["dataset"], r["arch"]) for r in rows} == {("chorales", "tanh"), ("long-memory", "gru")}
    table = (tmp_path / "paper" / "table.md").read_text()
    assert "| chorales | tanh |" in table and "| long-memory | gru |" in table


def test_seed_spread_retrains_the_selected_rate_with_fresh_seeds_and_resumes(tiny):
    reproduce(tiny, progress=lambda line: None)
    selected = best_runs(load_runs(tiny))
    lines = []
    rows = seed_spread_all([tiny], 2, progress=lines.append)[tiny.name]
    assert "4 runs (2 seeds per cell), 0 already finished, 4 to go" in lines[0]
    assert sum("seed 100" in line for line in lines[1:]) == 4
    for row in rows:
        best = selected[row["dataset"], row["arch"]]
        runs = [json.loads(seed_path(tiny, row["dataset"], row["arch"], s).read_text())
                for s in (SEED_BASE, SEED_BASE + 1)]
        assert all(r["settings"]["lr"] == best["settings"]["lr"] == row["lr"] for r in runs)
        assert {r["settings"]["seed"] for r in runs} == {SEED_BASE, SEED_BASE + 1}
        assert best["settings"]["seed"] < SEED_BASE            # fresh seeds, none a candidate's
        tests = [r["test_nll"] for r in runs]
        assert math.isclose(row["test_mean"], sum(tests) / 2)
        assert math.isclose(row["test_sd"], abs(tests[0] - tests[1]) / math.sqrt(2))
        assert row["selected_test"] == best["test_nll"]
    assert "| chorales | tanh - lstm |" in (Path(tiny.out) / "paper" / "seeds.md").read_text()
    lines.clear()
    again = seed_spread_all([tiny], 2, progress=lines.append)[tiny.name]
    assert "4 already finished, 0 to go" in lines[0] and len(lines) == 1 and again == rows


def test_seed_spread_needs_every_candidate_of_a_cell(tiny):
    with pytest.raises(ValueError, match="0 of 2 learning-rate candidates finished"):
        seed_jobs(tiny, 2)


def test_units_are_ordered_only_beyond_twice_the_standard_error():
    def cell(arch, mean, sd, n=4):
        return {"dataset": "jsb", "arch": arch, "test_mean": mean, "test_sd": sd, "seeds": n}
    pairs = compare_units([cell("tanh", 8.50, 0.02), cell("gru", 8.45, 0.02), cell("lstm", 8.44, 0.02)])
    assert [(p["a"], p["b"], p["lower"], p["order"]) for p in pairs] == [
        ("tanh", "gru", "gru", "gru < tanh"), ("tanh", "lstm", "lstm", "lstm < tanh"),
        ("gru", "lstm", None, "not told apart")]
    assert math.isclose(pairs[0]["se"], math.sqrt(2 * 0.02 ** 2 / 4))
    assert compare_units([cell("tanh", 8.5, 0.1), {**cell("gru", 8.4, 0.1), "dataset": "nottingham"}]) == []


def run(candidate: int, valid: float, test: float) -> dict:
    return {"dataset": "jsb", "arch": "gru", "candidate": candidate, "valid_nll": valid, "test_nll": test}


def test_the_learning_rate_is_chosen_by_validation_nll_never_by_test():
    runs = [run(0, 8.6, 8.1), run(1, 8.2, 8.9), run(2, 8.4, 8.0)]
    assert best_runs(runs)[("jsb", "gru")]["candidate"] == 1   # lowest valid; test would pick 2


def test_a_diverged_first_candidate_does_not_stay_best():
    runs = [run(0, math.nan, math.nan), run(1, 9.0, 9.1), run(2, 8.7, 8.8)]
    assert best_runs(runs)[("jsb", "gru")]["candidate"] == 2
    assert best_runs(runs[:1])[("jsb", "gru")]["candidate"] == 0   # alone, it is all there is


def test_a_run_reports_its_best_validation_weights_not_its_last(tmp_path):
    """At lr 0.3 the GRU's validation NLL rises in its last epoch: the numbers recorded for the
    run are those of the best epoch's weights (early stopping's), evaluated again."""
    from core.training.reproduce import train_run
    from core.training.settings import Settings
    settings = Settings(dataset="chorales", arch="gru", lr=0.3, epochs=8, patience=8, batch_size=16)
    result = train_run(settings, {})
    valid = [row["valid_nll"] for row in result["history"]]
    assert valid[-1] > min(valid) + 0.05                      # the last weights are not the best
    assert result["valid_nll"] == pytest.approx(min(valid), rel=1e-6)


def test_a_run_that_raises_is_recorded_and_the_others_go_on(tmp_path):
    """A run that fails (here: a dataset that does not exist) is written as <run>.failed.json
    with its message, the others finish; its result file stays absent, so a resume retries it."""
    from core.training.reproduce import train_run
    from core.training.settings import Settings
    from core.training.sweep import Job, failed_path, run_jobs
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    jobs = [Job(train_run, (Settings(dataset="no-such-dataset", epochs=1), {}), bad, "bad"),
            Job(train_run, (Settings(dataset="chorales", arch="tanh", units=4, epochs=1), {}), good, "good")]
    lines = []
    failures = run_jobs(jobs, "local", workers=2, progress=lines.append)
    assert [f["label"] for f in failures] == ["bad"] and "no-such-dataset" in failures[0]["error"]
    assert json.loads(good.read_text())["epochs"] == 1 and not bad.exists()
    assert "no-such-dataset" in json.loads(failed_path(bad).read_text())["error"]
    assert any(line.startswith("[1/2]") for line in lines) and any("FAILED" in line for line in lines)
    with pytest.raises(ValueError, match="unknown engine"):
        run_jobs(jobs, "spark")


def test_a_failed_run_s_record_is_not_read_as_a_run(tiny):
    """``<run>.failed.json`` (core.training.sweep) sits beside the results: tables and spreads skip it."""
    from core.training.reproduce import with_runs_on_disk
    from core.training.seed_spread import load_seed_runs
    for folder, name in ((f"{tiny.name}", "tanh-k0"), (f"{tiny.name}-seeds", "tanh-s1000")):
        path = Path(tiny.out) / "runs" / folder / "chorales" / f"{name}.failed.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"label": name, "error": "ValueError: no", "node": "here"}))
    assert load_seed_runs(tiny) == [] and load_runs(tiny) == []
    assert with_runs_on_disk(tiny).datasets == ("chorales",)
