"""The "Your own music" page's choices: the models to apply, the resolution, the file and the
window; and what they give (the piece, the traces), kept in the session so that a rerun
(a slider moved) reads, traces and synthesises nothing again.
"""
import streamlit as st

from app import model_files, session
from app.choosers import choose_units, linked_set
from app.i18n import t
from app.upload import data as up
from core.music.data import dataset_steps_per_beat
from core.music.midi import MidiError, midi_to_roll, upload_limit, upload_limit_mb
from core.music.rolls import roll_digest
from core.training.checkpoint import CheckpointError

SOURCES = ("pretrained", "lab", "file")  # upload.source.<name>
# MidiError kinds whose English message (core) says more than the page's sentence: where the
# file ends, what the reader tripped on, how many notes or steps.
DETAILED = {"truncated", "corrupt", "out_of_range", "too_long"}


def choose_models() -> tuple[dict, tuple, float, str]:
    """The models to apply -> (arch -> model, a key naming them, their steps per beat, label).

    Option labels are dicts made in the page's language while it runs (``format_func=
    labels.get``): a widget formats its options again later, outside the run."""
    sources = {s: t(f"upload.source.{s}") for s in SOURCES}
    source = st.radio(t("upload.source.label"), SOURCES, horizontal=True, key="up_source",
                      format_func=sources.get)
    return {"pretrained": pretrained_choice, "lab": lab_choice, "file": file_choice}[source]()


def file_choice() -> tuple[dict, tuple, float, str]:
    """A checkpoint the user uploads (``app.model_files``); none yet stops the page."""
    chosen = model_files.checkpoint_choice()
    if chosen is None:
        st.stop()
    models, key, dataset, label = chosen
    return models, key, dataset_steps_per_beat(dataset), label


def pretrained_choice() -> tuple[dict, tuple, float, str]:
    """A shipped set of models (``choose_models``); none readable stops the page."""
    try:
        sets = model_files.shipped_sets()
    except CheckpointError as e:
        st.error(t("upload.errors.no_pretrained", detail=str(e)))
        st.stop()
    labels = {k: up.set_label(k, s) for k, s in sets.items()}
    order = list(sets)
    choice = st.selectbox(t("upload.source.set"), order, key="up_set", format_func=labels.get,
                          index=order.index(linked_set(sets, order)))
    chosen = sets[choice]
    archs = choose_units(list(chosen["names"]), f"up_units_{choice}")   # a set with units taken apart
    models = model_files.shipped_models({a: chosen["names"][a] for a in archs})  # a damaged file: refused
    return models, ("shipped", *choice, *archs), chosen["steps_per_beat"], up.pretrained_label(chosen, archs)


def lab_choice() -> tuple[dict, tuple, float, str]:
    """The Lab's models as last taken (``choose_models``); none yet stops the page."""
    fresh = st.button(t("upload.source.take"), key="up_take", help=t("upload.source.take_help"))
    if fresh or "up_lab_weights" not in st.session_state:
        weights = session.trained_weights()
        if weights:
            st.session_state["up_lab_weights"] = weights
    weights = st.session_state.get("up_lab_weights")
    if not weights:
        st.info(t("upload.source.no_lab"))
        st.stop()
    settings = next(iter(weights.values()))["settings"]
    updates = tuple(w["updates"] for w in weights.values())
    return model_files.lab_models(weights), ("lab", *updates), dataset_steps_per_beat(settings["dataset"]), \
        up.lab_label(weights)


def choose_resolution(trained_spb: float) -> float:
    """Steps per beat to read the file at (the models' own first)."""
    options, labels = up.resolution_options(trained_spb)
    return st.selectbox(t("upload.resolution.label"), options, index=options.index(trained_spb),
                        key=f"up_spb_{trained_spb}", format_func=labels.get)


def choose_file():
    """The uploaded file (Streamlit's ``UploadedFile``); without one the page asks and stops."""
    uploaded = st.file_uploader(t("upload.file.label", mb=f"{upload_limit() / 1e6:.1f}"),
                                type=["mid", "midi"], key="up_file",
                                max_upload_size=upload_limit_mb())
    if uploaded is None:
        st.info(t("upload.file.prompt"))
        st.stop()
    return uploaded


def read_piece(uploaded, steps_per_beat: float):
    """The upload as a MidiRoll (kept per file and resolution); a bad file stops the page
    with the page's sentence for what is wrong, and core's English detail where it says more."""
    key = (uploaded.file_id, steps_per_beat)
    cached = st.session_state.get("up_piece")
    if cached and cached[0] == key:
        return cached[1]
    limit = upload_limit()
    try:
        piece = midi_to_roll(uploaded.getvalue(), steps_per_beat=steps_per_beat, max_bytes=limit)
    except MidiError as e:
        st.error(t("upload.errors.cannot_use", name=uploaded.name,
                   reason=up.midi_reason(e, uploaded.size, limit)))
        if e.kind in DETAILED:
            st.caption(t("upload.errors.detail", detail=str(e)))
        st.stop()
    st.session_state["up_piece"] = (key, piece)
    return piece


def traces_for(models: dict, model_key: tuple, roll) -> dict:
    """arch -> Trace of the whole piece (kept per models and piece; traced by the worker)."""
    key = (model_key, roll_digest(roll))
    cached = st.session_state.get("up_traces")
    if not cached or cached[0] != key:
        with st.spinner(t("upload.tracing")):
            cached = (key, up.trace_all(models, roll))
        st.session_state["up_traces"] = cached
    return cached[1]


def window_controls(T: int) -> tuple[int, int, int]:
    """(start, stop, cursor) of the window the detailed charts show, in a piece of T steps."""
    cols = st.columns([1, 2, 2])
    length = cols[0].select_slider(t("upload.window.length"), [32, 64, 128, 256], value=128, key="up_len")
    length = min(length, T)
    start = 0
    if T > length:
        start = cols[1].slider(t("upload.window.start"), 0, T - length, 0, key=f"up_start_{T}_{length}")
    stop = start + length
    cursor = cols[2].slider(t("upload.window.cursor"), start, stop - 1, start,
                            key=f"up_cur_{T}_{start}_{stop}", help=t("upload.window.cursor_help"))
    return start, stop, cursor
