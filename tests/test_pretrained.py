"""The shipped pretrained models: every checkpoint loads, matches its manifest and traces; a
changed byte is refused; the script that made them runs and reproduces their first epochs;
the Lab's weights rebuild the same models on other pages."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.insight.trace import trace
from core.training.checkpoint import CheckpointError
from core.training.pretrained import PRETRAINED_DIR, list_pretrained, load_pretrained, model_from_weights, read_manifest
from core.training.settings import Settings
from core.units import ARCHS, PAPER_UNITS, VARIANT_ARCHS
from core.units.spec import VARIANTS, units_for_budget

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_checkpoint_loads_verifies_and_traces():
    entries = list_pretrained()
    assert {(e.dataset, e.arch, e.variant) for e in entries} == {
        (d, a, v) for d in ("jsb", "chorales", "nottingham", "musedata", "piano-midi") for a in ARCHS
        for v in VARIANTS} | {("jsb", a, "paper") for a in VARIANT_ARCHS}   # the units taken apart, on JSB
    roll = np.zeros((12, 88), np.uint8)
    roll[::2, [39, 43, 46]] = 1  # C major triads every other step
    for e in entries:
        model, entry = load_pretrained(e.name)
        # the paper's sizes: its Table 1 units, or a unit sized to its ~20k budget
        assert entry == e and model.spec.units == e.units
        assert e.units == PAPER_UNITS.get(e.arch) or e.units == units_for_budget(e.arch, 20_000, e.variant)
        assert sum(p.numel() for p in model.parameters()) == e.n_params
        assert (PRETRAINED_DIR / e.file).stat().st_size < 200_000
        tr = trace(model, roll)
        assert tr.n_steps == 12 and np.isfinite(tr["nll"]).all()
        # they did learn: below the paper's own tanh RNN on each dataset (Table 2, test)
        assert e.valid_nll < {"jsb": 9.0, "chorales": 7.5, "nottingham": 4.5, "musedata": 8.0,
                              "piano-midi": 9.0}[e.dataset], e
    manifest = read_manifest()
    assert "train_pretrained.py" in manifest["command"]
    assert manifest["last_run"]["threads"] == 1


def test_every_shipped_model_stopped_early_never_at_its_cap():
    """A model that ran to its epoch cap may still have been improving: each one must have
    stopped on its own, ``patience`` epochs after its best (its last learning-rate drop's)."""
    for e in read_manifest()["models"]:
        patience, cap = e["settings"]["patience"], e.get("cap", e["settings"]["epochs"])
        assert e["epochs_run"] < cap, f"{e['name']} ran to its cap of {cap} epochs"
        assert e["epochs_run"] - e["best_epoch"] >= patience, f"{e['name']} stopped while improving"
        history = torch.load(PRETRAINED_DIR / e["file"], weights_only=True)["history"]
        assert len(history) == e["epochs_run"] and min(h["valid_nll"] for h in history) == pytest.approx(
            min(h["valid_nll"] for h in history[:e["best_epoch"]]))


# Shipped models that drifted from the run they started as (float rounding over hundreds of epochs
# with weight noise), each named with its reason in docs/upload.md; any other model must match.
DRIFTED = {"nottingham-lstm-torch", "musedata-gru-torch"}


def test_each_shipped_model_is_at_least_as_good_as_the_best_run_of_its_kind_in_results():
    """Selected as the paper selects, by validation NLL: no run in results/reproduce of the same
    dataset, unit and variant has a lower one (the script starts from the best such run and only
    goes on past its stop at a smaller learning rate, so it can only get lower); for the units taken
    apart, no run of the ablation study. The drifted ones are said so in the docs, and stay close."""
    from core.training.ablation import read_results
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "scripts" / "train_pretrained.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ablation, _ = read_results()
    docs = " ".join((ROOT / "docs" / "upload.md").read_text().split())
    compared = 0
    for e in list_pretrained():
        run = script.best_run(e.dataset, e.arch, e.variant)
        if e.arch in VARIANT_ARCHS:
            run = min((r for r in ablation if r["arch"] == e.arch), key=lambda r: r["valid_nll"])
            run = {**run, "path": f"results/ablation seed {run['seed']}"}
        if run is None:
            continue
        compared += 1
        if e.name in DRIFTED:
            assert e.valid_nll <= run["valid_nll"] + 0.05
            assert f"`{e.name}` ended at validation {e.valid_nll:.3f}" in docs
        else:
            assert e.valid_nll <= run["valid_nll"] + 5e-4, (e.name, run["path"], run["valid_nll"])
    assert compared >= 23  # 14 with a results run of their kind, and the 9 units taken apart


def test_the_assets_stay_under_five_megabytes():
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.iterdir())
    assert total < 5_000_000, total


def test_evaluate_reproduces_every_shipped_model_s_test_nll(data_dir):
    """The manifest's test NLL of every model, again, on the real data: the CLI for one model
    of each dataset, the same function in this process for the rest."""
    from core.music.data import load_dataset
    from core.training.train import evaluate
    total = sum((PRETRAINED_DIR / e.file).stat().st_size for e in list_pretrained())
    assert total < 5_000_000, total              # assets stay small: 39 models of ~110 KB (float32)
    seen = set()
    for e in list_pretrained():
        if e.dataset not in seen:
            seen.add(e.dataset)
            out = subprocess.run([sys.executable, "-m", "core", "evaluate", "--checkpoint",
                                  str(PRETRAINED_DIR / e.file), "--dataset", e.dataset, "--split", "test"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=300,
                                 env={**os.environ, "GATELAB_DATA_DIR": str(data_dir)})
            assert out.returncode == 0, out.stderr
            assert f"NLL per step {e.test_nll:.4f}" in out.stdout, (e.name, out.stdout)
        else:
            model = load_pretrained(e.name)[0]
            nll = evaluate(model, load_dataset(e.dataset).splits["test"])["nll"]
            assert nll == pytest.approx(e.test_nll, abs=1e-4), e.name


def test_a_changed_byte_a_missing_file_and_an_unknown_name_are_refused(tmp_path):
    shutil.copytree(PRETRAINED_DIR, tmp_path, dirs_exist_ok=True)
    name = list_pretrained(tmp_path)[0].name
    load_pretrained(name, tmp_path)  # the copy verifies
    path = tmp_path / f"{name}.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_pretrained(name, tmp_path)
    path.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_pretrained(name, tmp_path)
    with pytest.raises(CheckpointError, match="no pretrained model"):
        load_pretrained("jsb-gru-nonsense", tmp_path)


def test_on_a_checkout_the_script_trains_nothing_unless_told():
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "scripts" / "train_pretrained.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.to_train(PRETRAINED_DIR) == []                           # every model is in the manifest
    everything = script.to_train(PRETRAINED_DIR, retrain=True)
    assert sorted(everything) == sorted(e.name for e in list_pretrained()) and len(everything) == 39
    assert script.to_train(PRETRAINED_DIR, ["jsb"], retrain=True) == (
        [f"jsb-{a}-{v}" for v in VARIANTS for a in ARCHS] + [f"jsb-{a}-paper" for a in VARIANT_ARCHS])
    assert script.to_train(PRETRAINED_DIR, only=["jsb-gru-torch"]) == ["jsb-gru-torch"]


def test_the_script_retrains_a_model_and_reproduces_its_first_epochs(tmp_path, data_dir, session_cache):
    name = "jsb-tanh-torch"
    env = {**os.environ, "GATELAB_DATA_DIR": str(data_dir), "GATELAB_CACHE_DIR": str(session_cache)}
    result = subprocess.run([sys.executable, "scripts/train_pretrained.py", "--only", name,
                             "--epochs", "2", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    fresh = json.loads((tmp_path / "manifest.json").read_text())["models"][0]
    shipped = next(e for e in read_manifest()["models"] if e["name"] == name)

    # Settings added since the models were trained take their defaults (Settings.from_dict).
    def settings(d):
        return {**Settings.from_dict(d).to_dict(), "epochs": 0}

    assert settings(fresh["settings"]) == settings(shipped["settings"])
    load_pretrained(name, tmp_path)  # its own manifest verifies it
    got = torch.load(tmp_path / f"{name}.pt", weights_only=True)["history"]
    want = torch.load(PRETRAINED_DIR / f"{name}.pt", weights_only=True)["history"][:2]
    for g, w in zip(got, want, strict=True):  # same seed, same batches: same numbers
        assert g["valid_nll"] == pytest.approx(w["valid_nll"], rel=1e-4)
        assert g["train_nll"] == pytest.approx(w["train_nll"], rel=1e-4)


def test_the_labs_worker_sends_weights_that_rebuild_the_same_models():
    from core.lab.worker import Worker
    from core.training.settings import LabSettings
    worker = Worker()
    worker.handle("reset", LabSettings(eval_every=100).to_dict())
    worker.handle("step")
    weights = worker.handle("get", {"weights": True})["weights"]
    x = torch.rand(1, 10, 88)
    for arch, w in weights.items():
        model = model_from_weights(w["spec"], w["state_dict"])
        assert w["updates"] == 1 and w["settings"]["dataset"] == "chorales"
        torch.testing.assert_close(model(x), worker.lab.trainers[arch].model.eval()(x))
