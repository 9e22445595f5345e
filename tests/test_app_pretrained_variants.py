"""A pretrained set that holds units taken apart, as the zoo's manifest will (``jsb-<arch>-paper``
for every variant): the Gate tools and Your own music list whatever the manifest has, each unit
grouped under the one it was taken from, the three by default; choosing a variant applies that
unit's own file (checked against the manifest by the worker) and a teacher's link names it.

The manifest here is a copy of the shipped JSB paper set's three units plus two units taken apart written in
the test (untrained, 5 units), in a directory the session's workers are forked to read
(``GATELAB_PRETRAINED_DIR``, a fresh worker pool)."""
import json
import shutil

import numpy as np
import pytest

from app import worker
from core.insight.interventions import intervention
from core.music.data import load_dataset
from core.training.checkpoint import to_bytes
from core.training.pretrained import list_pretrained, load_pretrained, pretrained_dir, read_manifest, sha256_bytes
from core.units import ARCHS
from core.units.models import build_model
from core.units.teaching_cells import Clamp
from tests.apptest import decode, new_app, open_page

VARIANTS = ("lstm-nfg", "mgu")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pretrained")
    manifest = read_manifest()
    models = [m for m in manifest["models"]   # the paper's three of the shipped JSB paper set
              if m["dataset"] == "jsb" and m["variant"] == "paper" and m["arch"] in ARCHS]
    for m in models:
        shutil.copy(pretrained_dir() / m["file"], directory / m["file"])
    for i, arch in enumerate(VARIANTS):
        model = build_model(arch, "paper", units=5, seed=i)
        settings = {**models[0]["settings"], "arch": arch, "units": 5}
        data = to_bytes(model, settings, 1)
        name = f"jsb-{arch}-paper"
        (directory / f"{name}.pt").write_bytes(data)
        models.append({**models[0], "name": name, "file": f"{name}.pt", "arch": arch, "units": 5,
                       "n_params": sum(p.numel() for p in model.parameters()), "settings": settings,
                       "sha256": sha256_bytes(data), "bytes": len(data), "test_nll": 9.0 + i})
    (directory / "manifest.json").write_text(json.dumps({**manifest, "models": models}))
    return directory


@pytest.fixture
def served(zoo, monkeypatch):
    monkeypatch.setenv("GATELAB_PRETRAINED_DIR", str(zoo))
    monkeypatch.setattr(worker, "_pool", worker.WorkerPool())   # workers forked with this environment
    yield zoo
    worker.pool().shutdown()


def test_the_tools_offer_the_sets_units_grouped_and_apply_a_chosen_variant(served):
    at = open_page("tools/tools.py", timeout=180, tool="interventions")
    box = at.multiselect(key="tools_units_('jsb', 'paper')")
    assert box.options == ["tanh RNN", "GRU", "GRU › MGU: one gate for both of the GRU's", "LSTM",
                           "LSTM › LSTM-NFG: no forget gate"]
    assert box.value == ["tanh", "gru", "lstm"]                          # the paper's three first
    box.set_value(["lstm", "lstm-nfg"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="int_arch").options == ["LSTM", "LSTM-NFG"]
    at.radio(key="int_arch").set_value("lstm-nfg").run()
    assert not at.exception, [e.value for e in at.exception]
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "LSTM-NFG, i = 0" in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", ""))
    model = load_pretrained("jsb-lstm-nfg-paper", served)[0]             # the manifest's own file
    result = intervention(model, load_dataset("jsb").splits["valid"][0], Clamp("i", 0.0))
    np.testing.assert_allclose(decode(spec["data"][1]["y"]), result["clamped"], rtol=1e-5)


def test_a_link_names_the_sets_units_and_one_of_them(served):
    at = open_page("tools/tools.py", timeout=180, teacher="1", show="arch", tool="stepper",
                   models="mgu,lstm-nfg", arch="mgu")
    assert not at.multiselect                                            # hidden: the link's choice
    assert at.radio(key="step_arch").options == ["MGU", "LSTM-NFG"] and at.radio(key="step_arch").value == "mgu"
    assert len(at.get("latex")) == 3                                     # the MGU's three equations
    shown = new_app(timeout=180, models="lstm-nfg")
    shown.switch_page("tools/tools.py").run()
    assert shown.multiselect(key="tools_units_('jsb', 'paper')").value == ["lstm-nfg"]


def test_your_own_music_counts_the_units_taken_apart_and_offers_them(served):
    names = {e.name for e in list_pretrained(served)}
    assert {f"jsb-{a}-paper" for a in VARIANTS} <= names
    at = open_page("upload/upload.py", timeout=180)
    (label,) = at.selectbox(key="up_set").options
    assert label.endswith("LSTM 36 units and 2 units taken apart; reads quarter notes)"), label
    box = at.multiselect(key="up_units_('jsb', 'paper')")
    assert box.value == ["tanh", "gru", "lstm"] and len(box.options) == 5


def test_a_link_naming_a_variant_opens_on_the_shipped_set_that_holds_it():
    """The shipped zoo holds the units taken apart in its JSB paper set only: a link naming one
    opens there (not on the first set, which lacks it), with the named units chosen."""
    shipped = {(m.dataset, m.variant) for m in list_pretrained() if m.arch == "lstm-nfg"}
    assert shipped == {("jsb", "paper")}
    at = open_page("tools/tools.py", timeout=180, models="lstm,lstm-nfg", tool="interventions")
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="tools_set").value == ("jsb", "paper")
    assert at.multiselect(key="tools_units_('jsb', 'paper')").value == ["lstm", "lstm-nfg"]
    plain = open_page("tools/tools.py", timeout=180, tool="interventions")
    assert plain.selectbox(key="tools_set").value == ("jsb", "torch")   # without a link: the first set


def test_your_own_music_opens_a_link_naming_a_variant_on_the_set_that_holds_it():
    at = open_page("upload/upload.py", timeout=180, models="lstm-nfg,mgu")
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="up_set").value == ("jsb", "paper")
    assert set(at.multiselect(key="up_units_('jsb', 'paper')").value) == {"lstm-nfg", "mgu"}
