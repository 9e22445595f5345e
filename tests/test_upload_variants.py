"""Your own music with a unit taken apart: a checkpoint of the LSTM without its forget gate
uploaded on the page draws its own gates under the piano roll and no flat panel for the gate it
does not have (a caption says why); a bad checkpoint is a translated sentence. A pretrained set
that holds units taken apart names them in its label."""
import json
from types import SimpleNamespace

from app import text
from app.upload import data as up
from core.training.checkpoint import to_bytes
from core.units.models import build_model
from tests import apptest
from tests.test_upload import GOOD, names, upload


def variant_checkpoint(arch: str = "lstm-nfg") -> bytes:
    model = build_model(arch, "paper", units=5, seed=1)
    return to_bytes(model, {"dataset": "chorales", "arch": arch, "variant": "paper"}, 3)


def test_a_variant_checkpoint_draws_its_own_gates_and_no_removed_one():
    at = apptest.open_page("upload/upload.py")
    at.radio(key="up_source").set_value("file").run()
    at.file_uploader(key="files_upload").set_value(("nfg.pt", variant_checkpoint(), "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("LSTM-NFG from nfg.pt" in c.value for c in at.caption)
    upload(at, "chorale.mid", GOOD)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    gates = next(s for s in specs if "LSTM-NFG i" in names(s))
    assert {"LSTM-NFG i", "LSTM-NFG o"} <= names(gates) and "LSTM-NFG f" not in names(gates)
    assert any("LSTM-NFG has no gate f: it is 1 at every step" in c.value for c in at.caption)


def test_a_bad_checkpoint_is_a_translated_sentence():
    at = apptest.open_page("upload/upload.py", lang="ko")
    at.radio(key="up_source").set_value("file").run()
    at.file_uploader(key="files_upload").set_value(("bad.pt", variant_checkpoint()[:300],
                                                   "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    head = text.get("ko", "common.files.bad").split("{")[0]
    assert at.error and at.error[0].value.startswith(head) and head.strip()


def test_a_set_with_units_taken_apart_names_the_three_and_counts_the_rest():
    entries = {a: SimpleNamespace(units=u, test_nll=8.0 + i / 10)
               for i, (a, u) in enumerate((("tanh", 100), ("gru", 46), ("lstm", 36), ("lstm-nfg", 41), ("mgu", 63)))}
    chosen = {"entries": entries, "steps_per_beat": 1.0}
    assert up.set_label(("jsb", "paper"), chosen) == ("JSB Chorales, the paper's equations (tanh RNN 100 units, "
                                                      "GRU 46 units, LSTM 36 units and 2 units taken apart; "
                                                      "reads quarter notes)")
    assert up.pretrained_label(chosen, ["lstm", "lstm-nfg"]).endswith("LSTM 8.20, LSTM-NFG 8.30)")
    assert up.removed_gates(["lstm", "lstm-nfg", "mgu", "lstm-nig"]) == [
        "LSTM-NFG has no gate f: it is 1 at every step, so it has no heatmap.",
        "LSTM-NIG has no gate i: it is 1 at every step, so it has no heatmap."]
