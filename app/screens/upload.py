"""Your own music: upload a MIDI file and see how each unit processes it, with the shipped
pretrained models (at once) or the models trained in this session on the Lab page."""
import os

import numpy as np
import streamlit as st

from app import session
from app.display import chart, projector
from app import upload as up
from app.i18n import dataset_title, lang, t, table
from app.figures import gates_figure, panels_for, prediction_figure, states_figure
from app.figures.common import model_name
from app.figures.piece import add_cursor, cursor_figure, nll_overview_figure, piece_figure
from core.checkpoint import CheckpointError
from core.data import dataset_steps_per_beat
from core.midi import (MAX_STEPS, MidiError, midi_to_roll, roll_to_audio, roll_to_midi_bytes, upload_limit,
                       upload_limit_mb)

MAX_BYTES = upload_limit()  # the size limit of one file (GATELAB_MAX_MIDI_BYTES)
AUDIO_MAX_S = 120     # the piece's audio preview: at most its first two minutes
FS = 22050            # audio sample rate
NOTE_VALUES = (1, 2, 4)  # steps per beat that have a note value's name (upload.note_values)
SOURCES = ("pretrained", "lab")  # upload.source.<name>
# MidiError kinds whose English message (core) says more than the page's sentence: where the
# file ends, what the reader tripped on, how many notes or steps.
DETAILED = {"truncated", "corrupt", "out_of_range", "too_long"}




def note_value(spb: float) -> str:
    """The note value one step stands for ("eighth notes"), or "steps" when it has no name."""
    return t(f"upload.note_values.{spb:g}" if spb in NOTE_VALUES else "upload.note_values.other")


def set_label(key: tuple[str, str], chosen: dict) -> str:
    """A pretrained set as the selector shows it: dataset, equations and each model's size."""
    models = ", ".join(t("upload.source.set_model", model=model_name(a), units=e.units)
                       for a, e in chosen["entries"].items())
    return t("upload.source.set_option", dataset=dataset_title(key[0]),
             variant=table("upload.variants").get(key[1], key[1]), models=models)


def choose_models() -> tuple[dict, tuple, float, str]:
    """The models to apply -> (arch -> model, a key naming them, their steps per beat, label).

    Option labels are dicts made in the page's language while it runs (``format_func=
    labels.get``): a widget formats its options again later, outside the run."""
    sources = {s: t(f"upload.source.{s}") for s in SOURCES}
    source = st.radio(t("upload.source.label"), SOURCES, horizontal=True, key="up_source",
                      format_func=sources.get)
    if source == "pretrained":
        try:
            sets = up.shipped_sets()
        except CheckpointError as e:
            st.error(t("upload.errors.no_pretrained", detail=str(e)))
            st.stop()
        labels = {k: set_label(k, s) for k, s in sets.items()}
        choice = st.selectbox(t("upload.source.set"), list(sets), key="up_set", format_func=labels.get)
        chosen = sets[choice]
        models = up.shipped_models(chosen["names"])  # a damaged file: the worker refuses it
        nll = ", ".join(f"{model_name(a)} {e.test_nll:.2f}" for a, e in chosen["entries"].items())
        return models, ("shipped", *choice), chosen["steps_per_beat"], \
            t("upload.source.pretrained_label", nll=nll)
    return lab_choice()


def lab_choice() -> tuple[dict, tuple, float, str]:
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
    label = t("upload.source.lab_label", dataset=dataset_title(settings["dataset"]),
              updates=", ".join(t("upload.source.lab_updates", model=model_name(a), n=w["updates"])
                                for a, w in weights.items()))
    return up.lab_models(weights), ("lab", *updates), dataset_steps_per_beat(settings["dataset"]), label


def read_piece(uploaded, steps_per_beat: float):
    """The upload as a MidiRoll (kept per file and resolution); a bad file stops the page
    with the page's sentence for what is wrong, and core's English detail where it says more."""
    key = (uploaded.file_id, steps_per_beat)
    cached = st.session_state.get("up_piece")
    if cached and cached[0] == key:
        return cached[1]
    try:
        piece = midi_to_roll(uploaded.getvalue(), steps_per_beat=steps_per_beat, max_bytes=MAX_BYTES)
    except MidiError as e:
        st.error(t("upload.errors.cannot_use", name=uploaded.name, reason=midi_reason(e, uploaded.size)))
        if e.kind in DETAILED:
            st.caption(t("upload.errors.detail", detail=str(e)))
        st.stop()
    st.session_state["up_piece"] = (key, piece)
    return piece


def midi_reason(error: MidiError, size: int) -> str:
    """The page's sentence for a MidiError's kind (core's own message is English)."""
    if error.kind == "too_large":
        return t("upload.errors.midi.too_large", size=f"{size / 1e6:.1f}", limit=f"{MAX_BYTES / 1e6:.1f}")
    if error.kind == "too_long":
        return t("upload.errors.midi.too_long", limit=MAX_STEPS)
    reasons = table("upload.errors.midi")
    return reasons.get(error.kind, reasons["other"])


def traces_for(models: dict, model_key: tuple, roll: np.ndarray) -> dict:
    key = (model_key, up.roll_digest(roll))
    cached = st.session_state.get("up_traces")
    if not cached or cached[0] != key:
        with st.spinner(t("upload.tracing")):
            cached = (key, up.trace_all(models, roll))
        st.session_state["up_traces"] = cached
    return cached[1]


def piece_caption(piece, spb: float, window) -> str:
    """Resolution, length, the parts merged, notes left out; the shaded window if any."""
    per_beat = t("upload.resolution.one" if spb == 1 else "upload.resolution.many", spb=f"{spb:g}")
    sentences = [t("upload.piece.caption", per_beat=per_beat, note=note_value(spb),
                   steps=len(piece.roll), seconds=f"{piece.end_time:.1f}",
                   parts=", ".join(piece.instruments[i] for i in piece.selected))]
    if piece.dropped_notes:
        sentences.append(t("upload.piece.dropped", n=piece.dropped_notes))
    if window:
        sentences.append(t("upload.piece.window"))
    return " ".join(sentences)


def show_piece(name: str, piece, spb: float, tempo: float, window) -> None:
    """The piano roll; outside projector mode also its caption and an audio preview."""
    roll = piece.roll
    st.subheader(t("upload.piece.heading", name=name))
    if not projector():
        st.caption(piece_caption(piece, spb, window))
    chart(piece_figure(roll, window=window, title=t("upload.piece.roll_title"), lang=lang()), "up_roll")
    if not projector():
        audio_preview(roll, spb, tempo)


def audio_preview(roll: np.ndarray, spb: float, tempo: float) -> None:
    """The piece's first AUDIO_MAX_S seconds as sine waves (kept per piece and tempo)."""
    T = len(roll)
    audio_steps = min(T, int(AUDIO_MAX_S * tempo * spb / 60))
    key = (up.roll_digest(roll), round(tempo, 3))
    if st.session_state.get("up_audio", (None,))[0] != key:
        st.session_state["up_audio"] = (key, roll_to_audio(roll[:audio_steps], tempo, spb, FS))
    st.audio(st.session_state["up_audio"][1], sample_rate=FS)
    st.caption(t("upload.piece.audio_cut" if audio_steps < T else "upload.piece.audio",
                 bpm=f"{tempo:.0f}", seconds=AUDIO_MAX_S))


def window_controls(T: int) -> tuple[int, int, int]:
    """(start, stop, cursor) of the window the detailed charts show."""
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


def show_gates(views: dict, target: np.ndarray, start: int, cursor: int) -> None:
    candidate = st.toggle(t("upload.views.candidate"), key="up_candidate")
    panels = {a: {p: (m["gates"].get(p, m["h"])) for p in panels_for(a, candidate)}
              for a, m in views.items()}
    chart(add_cursor(gates_figure(panels, target, start, candidate, lang=lang()), cursor), "up_gates")


def show_views(traces: dict, roll: np.ndarray, start: int, stop: int, cursor: int) -> None:
    """The window's charts in tabs; projector mode shows the gates alone."""
    views = up.window_views(traces, start, stop)
    target = roll[start:stop]
    if projector():
        show_gates(views, target, start, cursor)
        return
    st.caption(t("upload.views.caption", start=start, last=stop - 1, steps=len(roll)))
    tabs = st.tabs([t("upload.views.gates"), t("upload.views.states"), t("upload.views.prediction"),
                    t("upload.views.cursor")])
    with tabs[0]:
        show_gates(views, target, start, cursor)
    with tabs[1]:
        n_units = st.slider(t("upload.views.units"), 1, 10, 4, key="up_units",
                            help=t("upload.views.units_help"))
        units = {a: m["unit_order"][:n_units] for a, m in views.items()}
        chart(add_cursor(states_figure(views, units, start, lang=lang()), cursor), "up_states")
    with tabs[2]:
        chart(add_cursor(prediction_figure(views, target, start, lang=lang()), cursor), "up_prediction")
    with tabs[3]:
        cols = st.columns(len(traces))
        units = {a: int(col.number_input(t("upload.views.unit", model=model_name(a)), 0, tr.units - 1, 0,
                                         key=f"up_unit_{a}"))
                 for col, (a, tr) in zip(cols, traces.items())}
        chart(cursor_figure(up.cursor_values(traces, cursor, units), cursor, units,
                            lang=lang()), "up_cursor")
        st.caption(t("upload.views.at_cursor", step=cursor, values=", ".join(
            t("upload.views.nll_item", model=model_name(a), nll=f"{tr['nll'][cursor]:.3f}")
            for a, tr in traces.items())))


def downloads(traces: dict, step_times: np.ndarray, stem: str) -> None:
    st.markdown(t("upload.downloads.heading"))
    cols = st.columns(len(traces))
    for col, (arch, tr) in zip(cols, traces.items()):
        col.download_button(t("upload.downloads.npz", model=model_name(arch)),
                            data=up.trace_npz(tr, step_times),
                            file_name=f"{stem}-{arch}.npz", mime="application/octet-stream",
                            on_click="ignore", key=f"up_npz_{arch}")
        col.download_button(t("upload.downloads.csv", model=model_name(arch)),
                            data=lambda tr=tr: up.trace_csv(tr, step_times),
                            file_name=f"{stem}-{arch}.csv", mime="text/csv", on_click="ignore",
                            key=f"up_csv_{arch}")


def sampling(models: dict, model_key: tuple, roll: np.ndarray, stop: int, spb: float,
             tempo: float, stem: str) -> None:
    st.subheader(t("upload.sampling.heading"))
    with st.form("up_sample_form"):
        cols = st.columns(4)
        steps = int(cols[0].number_input(t("upload.sampling.steps"), 1, 1024, 64, key="up_s_steps"))
        temperature = float(cols[1].number_input(t("upload.sampling.temperature"), 0.05, 3.0, 1.0, 0.05,
                                                 key="up_s_temp"))
        seed = int(cols[2].number_input(t("upload.sampling.seed"), 0, 2**31 - 1, 0, key="up_s_seed"))
        starts = {v: t(f"upload.sampling.from_{v}") for v in ("window", "silence")}
        start_from = cols[3].radio(t("upload.sampling.start_from"), list(starts), key="up_s_from",
                                   format_func=starts.get)
        go = st.form_submit_button(t("upload.sampling.go"), type="primary", key="up_sample_go")
    if go:
        prime = roll[:stop] if start_from != "silence" else None
        st.session_state["up_samples"] = {
            "key": model_key, "prime_end": stop if prime is not None else 0, "steps": steps,
            "temperature": temperature, "seed": seed,
            "rolls": {a: session.compute("sample", m, steps, temperature, seed, prime)
                      for a, m in models.items()}}
    got = st.session_state.get("up_samples")
    if not got or got["key"] != model_key:
        return
    end = got["prime_end"]
    context = roll[max(0, end - 32):end]
    st.caption(t("upload.sampling.from_step" if end else "upload.sampling.from_nothing",
                 steps=got["steps"], temperature=f"{got['temperature']:g}", seed=got["seed"], end=end,
                 shown=len(context)))
    for arch, new in got["rolls"].items():
        shown = np.concatenate([context, new]) if end else new
        chart(piece_figure(shown, start=end - len(context) if end else 0, boundary=end if end else None,
                           title=t("upload.sampling.title", model=model_name(arch)), height=220,
                           lang=lang()),
              f"up_sample_{arch}")
        left, right = st.columns([3, 1])
        left.audio(roll_to_audio(new, tempo, spb, FS), sample_rate=FS)
        right.download_button(t("upload.downloads.midi", model=model_name(arch)), key=f"up_mid_{arch}",
                              data=roll_to_midi_bytes(new, tempo, spb), on_click="ignore",
                              file_name=f"{stem}-{arch}-sample.mid", mime="audio/midi")


# Projector mode keeps the piano roll, the gates and the NLL overview: no long captions, audio,
# downloads or sampling.
st.title(t("upload.title"))
if not projector():
    st.caption(t("upload.intro"))
models, model_key, default_spb, label = choose_models()
if not projector():
    st.caption(t("upload.applying", label=label))
options = sorted(set(NOTE_VALUES) | {default_spb})
resolutions = {s: t("upload.resolution.trained" if s == default_spb else "upload.resolution.option",
                    spb=f"{s:g}", note=note_value(s)) for s in options}
spb = st.selectbox(t("upload.resolution.label"), options, index=options.index(default_spb),
                   key=f"up_spb_{default_spb}", format_func=resolutions.get)
uploaded = st.file_uploader(t("upload.file.label", mb=f"{MAX_BYTES / 1e6:.1f}"),
                            type=["mid", "midi"], key="up_file",
                            max_upload_size=upload_limit_mb())
if uploaded is None:
    st.info(t("upload.file.prompt"))
    st.stop()
piece = read_piece(uploaded, float(spb))
stem = os.path.splitext(uploaded.name)[0] or "piece"
tempo = up.steady_tempo(piece.step_times, spb)
traces = traces_for(models, model_key, piece.roll)
start, stop, cursor = window_controls(len(piece.roll))
window = None if stop - start == len(piece.roll) else (start, stop - 1)  # shade only a part
show_piece(uploaded.name, piece, spb, tempo, window)
st.markdown(t("upload.piece.overview"))
chart(nll_overview_figure({a: tr["nll"] for a, tr in traces.items()}, window, cursor, lang=lang()),
      "up_overview")
show_views(traces, piece.roll, start, stop, cursor)
if not projector():
    downloads(traces, piece.step_times, stem)
    sampling(models, model_key, piece.roll, stop, spb, tempo, stem)
