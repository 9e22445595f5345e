"""The models a page applies, named (``shipped_sets``, ``shipped_models``, ``lab_models``), and models
in and out of the dashboard, as checkpoints in the CLI's format (``core.training.checkpoint``):
the Lab's models, and the models the Your-own-music page applies, downloaded; a checkpoint from
the CLI, a classmate or a pretrained set opened on the Your-own-music page and in the Gate tools.
The bytes are written and read by the session's worker (torch, ``weights_only=True``): the web
server only passes them on; a shipped file it reads itself, checked against the manifest.
"""
import hashlib
from collections.abc import Callable

import streamlit as st

from app import session
from app.figures.common import model_name
from app.i18n import dataset_title, t
from core.training.checkpoint import CheckpointError
from core.training.pretrained import list_pretrained, pretrained_bytes
from core.units.records import ModelRef
from core.units.spec import ModelSpec

MAX_CHECKPOINT_MB = 20  # a 20k-parameter checkpoint is ~100 KB; anything this large is not one


def shipped_sets() -> dict[tuple[str, str], dict]:
    """(dataset, variant) -> {"title", "steps_per_beat", "names": {arch: manifest name}}."""
    sets = {}
    for e in list_pretrained():
        s = sets.setdefault((e.dataset, e.variant), {"names": {}, "steps_per_beat": e.steps_per_beat,
                                                     "entries": {}})
        s["names"][e.arch], s["entries"][e.arch] = e.name, e
    return sets


def shipped_models(names: dict) -> dict:
    """arch -> ModelRef for manifest names (the worker checks each file's sha256 when it builds
    the model; a bad file is the page's message then)."""
    entries = {e.name: e for e in list_pretrained()}
    return {arch: ModelRef(ModelSpec(arch, entries[name].variant, entries[name].units), pretrained=name)
            for arch, name in names.items()}


def lab_models(weights: dict) -> dict:
    """arch -> ModelRef to the Lab worker's weights (``core.lab.Lab.weights``)."""
    return {arch: ModelRef.from_weights(w) for arch, w in weights.items()}


def file_name(w: dict) -> str:
    """``gatelab-chorales-gru-120u.pt`` for a Lab model's weights record."""
    return f"gatelab-{w['settings']['dataset']}-{w['spec']['arch']}-{w['updates']}u.pt"


def lab_downloads() -> None:
    """The Lab's models as checkpoints (the Lab page): taken from the worker when asked."""
    def lab_models() -> dict:
        weights = session.trained_weights()
        return {arch: ModelRef.from_weights(w) for arch, w in (weights or {}).items()}
    model_downloads(lab_models, "files")


def model_downloads(models: Callable[[], dict], key: str) -> None:
    """One checkpoint download per model of ``models()`` (arch -> ModelRef, called only when the
    user asks: a Lab model's weights travel from the worker and back once). A shipped model is
    its own file, checked against the manifest; a Lab model is written by the worker in the
    CLI's format."""
    with st.expander(t("common.files.download_heading")):
        st.caption(t("common.files.download_help"))
        if not st.button(t("common.files.prepare"), key=f"{key}_prepare"):
            return
        refs = models()
        if not refs:
            st.info(t("common.files.no_lab"))
            return
        for arch, ref in refs.items():
            if ref.pretrained:
                try:
                    data, entry = pretrained_bytes(ref.pretrained)
                except CheckpointError as e:
                    st.error(t("common.files.bad", detail=str(e)))
                    continue
                name, what = f"gatelab-{entry.name}.pt", t("common.files.download_shipped", model=model_name(arch))
            else:
                w = ref.weights
                data = session.compute("checkpoint_bytes", ref, w["settings"], w["updates"])
                name, what = file_name(w), t("common.files.download", model=model_name(arch), updates=w["updates"])
            st.download_button(what, data, file_name=name, mime="application/octet-stream",
                               key=f"{key}_{arch}", on_click="ignore")


def label(w: dict, name: str) -> str:
    """What an uploaded checkpoint holds, in the page's language."""
    return t("common.files.label", name=name, model=model_name(w["spec"]["arch"]), variant=w["spec"]["variant"],
             units=w["spec"]["units"], dataset=dataset_title(w["settings"]["dataset"]), updates=w["updates"])


def checkpoint_choice() -> tuple[dict, tuple, str, str] | None:
    """A checkpoint file the user uploads -> (arch -> ModelRef, a key, its dataset, label);
    None (and a prompt) until there is one. A file that is not a GateLab checkpoint gets the
    worker's reason and stops the page there."""
    uploaded = st.file_uploader(t("common.files.upload", mb=MAX_CHECKPOINT_MB), type=["pt"], key="files_upload",
                                max_upload_size=MAX_CHECKPOINT_MB)
    if uploaded is None:
        st.info(t("common.files.prompt"))
        return None
    data = uploaded.getvalue()
    w = session.compute("read_checkpoint", data, failed="common.files.bad")
    digest = hashlib.sha1(data).hexdigest()[:16]
    return ({w["spec"]["arch"]: ModelRef.from_weights(w)}, ("file", digest), w["settings"]["dataset"],
            label(w, uploaded.name))
