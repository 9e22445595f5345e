"""Models in and out of the dashboard: a Lab model downloaded as a checkpoint gives the CLI the
Lab's numbers, a CLI checkpoint opened through the worker gives the CLI's trace, and a file that
is not a GateLab checkpoint gets a reason, never a traceback."""
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.figures.common import model_name
from app.model_files import file_name
from core.insight.trace import trace
from core.lab import Lab
from core.lab.worker import Worker
from core.music.data import load_dataset
from core.training.checkpoint import CheckpointError, to_bytes, weights_from_bytes
from core.training.pretrained import model_from_weights
from core.training.settings import LabSettings
from core.training.train import evaluate
from core.units.records import ModelRef

ROOT = Path(__file__).resolve().parents[1]


def cli(*args) -> str:
    result = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def lab_weights():
    lab = Lab(LabSettings(archs=("tanh", "gru"), eval_every=1000), load_dataset("chorales"))
    for _ in range(3):
        lab.step()
    return lab.weights()


def test_a_lab_model_downloaded_gives_the_cli_the_lab_s_numbers(lab_weights, tmp_path):
    w = lab_weights["gru"]
    worker = Worker()  # what the page asks the session's worker: the checkpoint's bytes
    data = worker.compute("checkpoint_bytes", (ModelRef.from_weights(w), w["settings"], w["updates"]))
    path = tmp_path / file_name(w)
    assert path.name == "gatelab-chorales-gru-3u.pt"
    path.write_bytes(data)
    out = cli("evaluate", "--checkpoint", str(path), "--dataset", "chorales", "--split", "valid")
    lab_model = model_from_weights(w["spec"], w["state_dict"])
    nll = evaluate(lab_model, load_dataset("chorales").splits["valid"])["nll"]
    assert float(re.search(r"NLL per step ([0-9.]+)", out).group(1)) == pytest.approx(nll, abs=5e-5)


def test_a_cli_checkpoint_uploaded_gives_the_cli_s_trace(tmp_path):
    cli("train", "--dataset", "chorales", "--arch", "lstm", "--units", "6", "--epochs", "1", "--out", str(tmp_path))
    cli("trace", "--checkpoint", str(tmp_path / "model.pt"), "--dataset", "chorales", "--split", "valid",
        "--index", "0", "--out", str(tmp_path / "cli.npz"))
    w = Worker().compute("read_checkpoint", ((tmp_path / "model.pt").read_bytes(),))
    assert w["spec"] == {"arch": "lstm", "variant": "torch", "units": 6} and w["updates"] > 0
    assert w["settings"]["dataset"] == "chorales"
    ours = trace(model_from_weights(w["spec"], w["state_dict"]), load_dataset("chorales").splits["valid"][0])
    theirs = np.load(tmp_path / "cli.npz")
    for name in ("h", "c", "i", "f", "o", "nll"):
        assert np.array_equal(ours[name], theirs[name]), name


def test_files_that_are_not_checkpoints_get_a_reason(lab_weights, tmp_path):
    good = to_bytes(model_from_weights(lab_weights["tanh"]["spec"], lab_weights["tanh"]["state_dict"]),
                    lab_weights["tanh"]["settings"], 3)
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buffer)              # a torch file of another kind
    for junk in (b"", b"MThd not a checkpoint", good[: len(good) // 2], buffer.getvalue()):
        with pytest.raises(CheckpointError):
            weights_from_bytes(junk)
    assert weights_from_bytes(good)["updates"] == 3


def test_the_upload_page_offers_a_checkpoint_file_and_the_lab_its_downloads():
    from tests import apptest
    at = apptest.open_page("upload/upload.py")
    at.radio(key="up_source").set_value("file").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(i.value == "Upload a checkpoint to apply its model." for i in at.info)
    at = apptest.open_page("upload/upload.py", lang="ko")
    assert at.radio(key="up_source").options[-1] == "체크포인트 파일 (.pt)"
    lab = apptest.open_page("lab/lab.py")
    assert "Download the models (checkpoints)" in [e.label for e in lab.expander]
    assert lab.button(key="files_prepare").label == "Prepare the checkpoints"


def test_a_checkpoint_uploaded_on_the_page_draws_its_gates_and_junk_gets_a_reason(lab_weights):
    from tests import apptest
    from tests.test_upload import GOOD, names, upload
    w = lab_weights["gru"]
    data = to_bytes(model_from_weights(w["spec"], w["state_dict"]), w["settings"], w["updates"])
    at = apptest.open_page("upload/upload.py")
    at.radio(key="up_source").set_value("file").run()
    at.file_uploader(key="files_upload").set_value(("junk.pt", b"not a checkpoint", "application/octet-stream")).run()
    assert not at.exception and at.error[0].value.startswith("This file cannot be used as a model:")
    at.file_uploader(key="files_upload").set_value(("gru.pt", data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    upload(at, "chorale.mid", GOOD)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any({"GRU z", "GRU r"} <= names(s) for s in specs)
    assert not any("LSTM i" in names(s) for s in specs)                 # only the uploaded model


def test_the_gate_tools_open_a_checkpoint_file_too(lab_weights):
    from tests import apptest
    w = lab_weights["gru"]
    data = to_bytes(model_from_weights(w["spec"], w["state_dict"]), w["settings"], w["updates"])
    at = apptest.open_page("tools/tools.py")
    at.radio(key="tools_source").set_value("file").run()
    assert not at.exception and any(i.value == "Upload a checkpoint to apply its model." for i in at.info)
    at.file_uploader(key="files_upload").set_value(("gru.pt", data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("GRU from gru.pt" in text for text in shown), shown


def test_the_upload_page_downloads_the_models_it_applies(lab_weights, monkeypatch):
    """The shipped set's own files (checked against the manifest), and the Lab's models taken to
    the page as the worker writes them (the same weights, settings and update count)."""
    import streamlit as st

    from app import session
    from core.training.pretrained import list_pretrained
    from tests import apptest
    from tests.test_upload import GOOD, upload
    served = {}                                   # label -> (bytes, file name) the page offers

    def download_button(label, data, *args, **kwargs):
        served[label] = (data, kwargs["file_name"])
        return real(label, data, *args, **kwargs)
    real = st.download_button
    monkeypatch.setattr(st, "download_button", download_button)
    at = apptest.open_page("upload/upload.py")
    upload(at, "chorale.mid", GOOD)
    at.button(key="up_files_prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = tuple(at.selectbox(key="up_set").value)                     # the page's default set
    shipped = [e for e in list_pretrained() if (e.dataset, e.variant) == chosen]
    assert len(shipped) == 3
    for entry in shipped:
        data, name = served[f"{model_name(entry.arch)} (shipped, as trained)"]
        assert name == f"gatelab-{entry.name}.pt"
        assert data == (Path(__file__).resolve().parents[1] / "assets" / "pretrained" / entry.file).read_bytes()

    monkeypatch.setattr(session, "trained_weights", lambda *a, **k: lab_weights)
    at = apptest.open_page("upload/upload.py")
    at.radio(key="up_source").set_value("lab").run()
    upload(at, "chorale.mid", GOOD)
    at.button(key="up_files_prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for arch, w in lab_weights.items():
        data, name = served[f"{model_name(arch)} (3 updates)"]
        back = weights_from_bytes(data)
        assert name == file_name(w) and back["spec"] == w["spec"] and back["updates"] == 3
        assert back["settings"] == w["settings"]
        assert all(np.array_equal(back["state_dict"][k], v) for k, v in w["state_dict"].items())
