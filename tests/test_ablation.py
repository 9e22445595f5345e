"""The ablation study (``python -m core ablate``): its runs, its CSV, its resume, and the committed
results it wrote (results/ablation)."""
import csv
import subprocess
import sys
from pathlib import Path

from core.training.ablation import ABLATION_ARCHS, COLUMNS, AblationConfig, read_results, spread
from core.units import VARIANT_ARCHS


def test_ablate_trains_every_unit_and_seed_writes_the_csv_and_resumes(tmp_path):
    out = tmp_path / "ablation"
    command = [sys.executable, "-m", "core", "ablate", "--dataset", "jsb", "--archs", "lstm-nfg", "mgu",
               "--seeds", "2", "--max-epochs", "2", "--workers", "1", "--out", str(out)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["arch"], r["seed"]) for r in rows] == [("lstm-nfg", "0"), ("lstm-nfg", "1"), ("mgu", "0"), ("mgu", "1")]
    assert all(r["dataset"] == "jsb" and int(r["epochs"]) <= 2 and float(r["test_nll"]) > 0 for r in rows)
    assert rows[0]["test_nll"] != rows[1]["test_nll"]  # another seed, another run
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 to go" in again.stdout


def test_the_study_covers_the_lstm_its_variants_the_mgu_and_the_references():
    assert ABLATION_ARCHS == ("lstm", *VARIANT_ARCHS, "gru", "tanh")
    assert len(AblationConfig().jobs()) == 12 * 5
    rows = [{"arch": "a", "test_nll": x, "valid_nll": x} for x in (1.0, 2.0, 3.0)]
    assert spread(rows)[0] | {} == {"arch": "a", "runs": 3, "test_mean": 2.0, "test_sd": 1.0, "valid_mean": 2.0,
                                    "valid_sd": 1.0, "test_best": 1.0}


def test_the_committed_study_has_five_seeds_of_every_unit_each_stopped_early():
    rows, config = read_results()
    assert config["dataset"] == "jsb" and config["budget"] == 20_000 and config["variant"] == "paper"
    for arch in ABLATION_ARCHS:
        mine = [r for r in rows if r["arch"] == arch]
        assert len(mine) >= 5, arch
        assert all(r["epochs"] < config["max_epochs"] for r in mine), f"{arch}: a run hit its epoch cap"
        assert all(abs(r["n_params"] - 20_000) / 20_000 < 0.03 for r in mine)


def test_compare_calls_a_difference_only_beyond_twice_its_standard_error():
    from core.training.ablation import compare
    rows = ([{"arch": "lstm", "test_nll": x, "valid_nll": x} for x in (8.0, 8.1, 8.2)]
            + [{"arch": "lstm-nfg", "test_nll": x, "valid_nll": x} for x in (9.0, 9.1, 9.2)]
            + [{"arch": "lstm-np", "test_nll": x, "valid_nll": x} for x in (8.0, 8.15, 8.3)])
    by = {r["arch"]: r for r in compare(rows)}
    assert "diff" not in by["lstm"]
    assert by["lstm-nfg"]["verdict"] == "worse" and abs(by["lstm-nfg"]["diff"] - 1.0) < 1e-9
    assert by["lstm-np"]["verdict"] == "tied"


def test_the_docs_table_is_the_committed_study():
    """docs/reproduce.md's ablation table: each unit's mean ± sd, its difference from the LSTM and
    the verdict, as the committed results.csv gives them."""
    from core.training.ablation import compare
    rows, _ = read_results()
    text = (Path(__file__).resolve().parents[1] / "docs" / "reproduce.md").read_text()
    words = {"worse": "worse", "better": "better", "tied": "no difference"}
    for u in compare(rows):
        line = next(x for x in text.splitlines() if x.startswith(f"| `{u['arch']}` |"))
        assert f"| {u['test_mean']:.3f} ± {u['test_sd']:.3f} |" in line
        if "diff" in u:
            assert f"| {u['diff']:+.3f} | {u['two_se']:.3f} | {words[u['verdict']]} |" in line
