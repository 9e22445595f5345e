"""The command line on the real JSB data: train, evaluate, trace, sample, and clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env_cache=None):
    import os
    env = dict(os.environ)
    if env_cache:
        env["GATELAB_CACHE_DIR"] = str(env_cache)
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained_runs(data_dir, tmp_path_factory):
    """`train --dataset jsb --arch gru --epochs 3` twice with the same seed."""
    root = tmp_path_factory.mktemp("runs")
    cache = root / "cache"
    runs = []
    for name in ("a", "b"):
        result = run_cli("train", "--dataset", "jsb", "--arch", "gru", "--epochs", "3",
                         "--out", root / name, env_cache=cache)
        assert result.returncode == 0, result.stderr
        runs.append((root / name, result.stdout))
    return runs, cache


def test_train_prints_one_line_per_epoch_and_valid_nll_falls(trained_runs):
    runs, _ = trained_runs
    out, stdout = runs[0]
    lines = [line for line in stdout.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "valid NLL" in lines[0] and " s" in lines[0]
    metrics = json.loads((out / "metrics.json").read_text())
    valid = [row["valid_nll"] for row in metrics["history"]]
    assert valid[-1] < valid[0]
    assert (metrics["units"], metrics["n_params"]) == (41, 19809)   # the 20k budget: closest GRU width
    assert all({"updates", "seconds", "train_nll"} <= set(row) for row in metrics["history"])
    assert (out / "model.pt").exists()


def test_same_seed_gives_identical_metrics(trained_runs):
    runs, _ = trained_runs
    (a, _), (b, _) = runs
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    for m in (ma, mb):                       # wall-clock seconds differ by nature; all else must not
        for row in m["history"]:
            row.pop("seconds")
    assert ma == mb


def test_evaluate_trace_and_sample(trained_runs, tmp_path):
    runs, cache = trained_runs
    model = runs[0][0] / "model.pt"
    result = run_cli("evaluate", "--checkpoint", model, "--dataset", "jsb", "--split", "test", env_cache=cache)
    assert result.returncode == 0 and "NLL per step" in result.stdout and "accuracy" in result.stdout

    result = run_cli("trace", "--checkpoint", model, "--dataset", "jsb", "--split", "valid", "--index", "2",
                     "--out", tmp_path / "t.npz", env_cache=cache)
    assert result.returncode == 0, result.stderr
    arrays = np.load(tmp_path / "t.npz")
    T = arrays["nll"].shape[0]
    assert arrays["h"].shape == arrays["z"].shape == arrays["r"].shape == (T, 41)
    assert arrays["probs"].shape == (T, 88) and "predicts frame t" in str(arrays["meta_alignment"])

    result = run_cli("sample", "--checkpoint", model, "--steps", "32", "--seed", "3", "--out", tmp_path / "s.mid")
    assert result.returncode == 0, result.stderr
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "s.mid"))
    assert midi.instruments and midi.instruments[0].notes

    result = run_cli("trace", "--checkpoint", model, "--midi", tmp_path / "s.mid", "--out", tmp_path / "m.npz")
    assert result.returncode == 0, result.stderr


def test_errors_are_one_clear_line(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    result = run_cli("evaluate", "--checkpoint", tmp_path / "junk.pt", "--dataset", "chorales")
    assert result.returncode == 2 and result.stderr.startswith("error:") and "Traceback" not in result.stderr
    result = run_cli("train", "--dataset", "no-such-set", "--out", tmp_path / "x")
    assert result.returncode == 2 and "no-such-set" in result.stderr and "Traceback" not in result.stderr


def test_a_diverging_learning_rate_is_said_once_an_epoch(tmp_path):
    result = run_cli("train", "--lr", "1e30", "--epochs", "2", "--units", "4", "--out", tmp_path / "x")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if "diverged" in line]
    assert len(said) == 2, result.stdout
    assert all("undone" in line and "Try a smaller learning rate than 1e+30" in line for line in said)


def test_the_device_is_cpu_cuda_or_auto_and_a_missing_cuda_is_one_line(tmp_path, monkeypatch, capsys):
    from core.cli import main
    from core.units.models import resolve_device
    result = run_cli("train", "--device", "bogus", "--out", tmp_path / "x")
    assert result.returncode == 2 and "invalid choice: 'bogus'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ValueError, match="unknown device 'bogus'"):
        resolve_device("bogus")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert main(["train", "--device", "cuda", "--units", "4", "--threads", "0", "--out", str(tmp_path / "y")]) == 2
    assert "error: CUDA was asked for, but" in capsys.readouterr().err
    shipped = str(PRETRAINED / "chorales-gru-torch.pt")
    assert main(["evaluate", "--checkpoint", shipped, "--dataset", "chorales", "--device", "cuda"]) == 2
    assert main(["evaluate", "--checkpoint", shipped, "--dataset", "chorales", "--device", "auto"]) == 0
    assert "NLL per step" in capsys.readouterr().out


def test_every_command_has_help():
    for command in ("train", "evaluate", "trace", "sample", "datasets"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_train_runs_on_one_thread_unless_told():
    from core.cli import build_parser
    args = build_parser().parse_args(["train", "--dataset", "jsb", "--out", "x"])
    assert args.threads == 1
    assert build_parser().parse_args(["train", "--dataset", "jsb", "--out", "x", "--threads", "0"]).threads == 0


PRETRAINED = ROOT / "assets" / "pretrained"


def test_midi_is_read_and_written_at_the_models_resolution(tmp_path):
    """A JSB model (one step per beat) writes 48 steps as 48 beats: 24 s at 120 bpm (at the
    eighth notes of the other datasets it would be 12 s); its trace of a MIDI file is the
    trace of that file read at one step per beat, as on the Your-own-music page."""
    from core.insight.trace import trace
    from core.music.midi import midi_to_roll
    from core.training.checkpoint import load
    jsb, chorales = PRETRAINED / "jsb-gru-torch.pt", PRETRAINED / "chorales-gru-torch.pt"
    for checkpoint, seconds in ((jsb, 24.0), (chorales, 12.0)):
        out = tmp_path / f"{checkpoint.stem}.mid"
        result = run_cli("sample", "--checkpoint", checkpoint, "--steps", "48", "--seed", "1",
                         "--temperature", "3", "--out", out)
        assert result.returncode == 0, result.stderr
        notes = [n for i in pretty_midi.PrettyMIDI(str(out)).instruments for n in i.notes]
        assert max(n.end for n in notes) == pytest.approx(seconds, abs=60 / 120)
    result = run_cli("trace", "--checkpoint", jsb, "--midi", tmp_path / "jsb-gru-torch.mid",
                     "--out", tmp_path / "t.npz")
    assert result.returncode == 0, result.stderr
    want = trace(load(jsb)[0], midi_to_roll(tmp_path / "jsb-gru-torch.mid", steps_per_beat=1).roll)
    np.testing.assert_allclose(np.load(tmp_path / "t.npz")["nll"], want["nll"], rtol=1e-5)
    assert len(want["nll"]) == pytest.approx(48, abs=1)  # one step per beat read back


@pytest.mark.parametrize("option, value", [("--tempo", "0"), ("--tempo", "-5"), ("--tempo", "nan"),
                                           ("--steps", "0"), ("--temperature", "inf")])
def test_sample_refuses_settings_it_cannot_write(tmp_path, option, value):
    args = {"--tempo": "120", "--steps": "8", "--temperature": "1", option: value}
    result = run_cli("sample", "--checkpoint", PRETRAINED / "jsb-gru-torch.pt", "--out", tmp_path / "s.mid",
                     *[x for kv in args.items() for x in kv])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument {option}" in result.stderr and not (tmp_path / "s.mid").exists()
