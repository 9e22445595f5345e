"""Your own music: upload a MIDI file and see how each unit processes it, with the shipped
pretrained models (at once) or the models trained in this session on the Lab page."""
import os

import numpy as np
import streamlit as st

from app import session
from app.display import chart
from app import upload as up
from app.figures import gates_figure, panels_for, prediction_figure, states_figure
from app.figures.common import model_name
from app.figures.piece import add_cursor, cursor_figure, nll_overview_figure, piece_figure
from core.checkpoint import CheckpointError
from core.data import TITLES
from core.midi import MAX_MIDI_BYTES, MidiError, midi_to_roll, roll_to_audio, roll_to_midi_bytes
from core.sample import sample

MAX_BYTES = int(os.environ.get("GATELAB_MAX_MIDI_BYTES", MAX_MIDI_BYTES))  # the size limit
AUDIO_MAX_S = 120     # the piece's audio preview: at most its first two minutes
FS = 22050            # audio sample rate
NOTE_VALUES = {1: "quarter notes", 2: "eighth notes", 4: "sixteenth notes"}
SOURCES = ("Pretrained (shipped with GateLab)", "Trained in this session (Lab page)")


def choose_models() -> tuple[dict, tuple, float, str]:
    """The models to apply -> (arch -> model, a key naming them, their steps per beat, label)."""
    source = st.radio("Models to apply", SOURCES, horizontal=True, key="up_source")
    if source == SOURCES[0]:
        try:
            sets = up.shipped_sets()
        except CheckpointError as e:
            st.error(str(e))
            st.stop()
        choice = st.selectbox("Pretrained set", list(sets), key="up_set", format_func=lambda k: (
            f"{TITLES.get(k[0], k[0])}, {k[1]} equations "
            f"({', '.join(f'{model_name(a)} {e.units} units' for a, e in sets[k]['entries'].items())})"))
        chosen = sets[choice]
        try:
            models = up.shipped_models(chosen["names"])
        except CheckpointError as e:
            st.error(f"A shipped checkpoint was refused: {e}")
            st.stop()
        nll = ", ".join(f"{model_name(a)} {e.test_nll:.2f}" for a, e in chosen["entries"].items())
        return models, ("shipped", *choice), chosen["steps_per_beat"], (
            f"the pretrained models of this set (NLL per step on their own test split: {nll})")
    return lab_choice()


def lab_choice() -> tuple[dict, tuple, float, str]:
    fresh = st.button("Take the Lab's current weights", key="up_take",
                      help="The models keep training on the Lab page; this takes a copy now.")
    if fresh or "up_lab_weights" not in st.session_state:
        weights = session.trained_weights()
        if weights:
            st.session_state["up_lab_weights"] = weights
    weights = st.session_state.get("up_lab_weights")
    if not weights:
        st.info("No models have been trained in this session yet: open the **Lab** page, press "
                "Play for a while, then come back. The shipped pretrained models work at once.")
        st.stop()
    settings = next(iter(weights.values()))["settings"]
    updates = tuple(w["updates"] for w in weights.values())
    label = (f"the Lab's models on {settings['dataset']} after "
             + ", ".join(f"{model_name(a)} {w['updates']} updates" for a, w in weights.items()))
    return up.lab_models(weights), ("lab", *updates), 1 if settings["dataset"] == "jsb" else 2, label


def read_piece(uploaded, steps_per_beat: float):
    """The upload as a MidiRoll (kept per file and resolution); a bad file stops the page
    with its message."""
    key = (uploaded.file_id, steps_per_beat)
    cached = st.session_state.get("up_piece")
    if cached and cached[0] == key:
        return cached[1]
    try:
        piece = midi_to_roll(uploaded.getvalue(), steps_per_beat=steps_per_beat, max_bytes=MAX_BYTES)
    except MidiError as e:
        st.error(f"**{uploaded.name}** cannot be used: {e}")
        st.stop()
    st.session_state["up_piece"] = (key, piece)
    return piece


def traces_for(models: dict, model_key: tuple, roll: np.ndarray) -> dict:
    key = (model_key, up.roll_digest(roll))
    cached = st.session_state.get("up_traces")
    if not cached or cached[0] != key:
        with st.spinner("Tracing every model on the piece…"):
            cached = (key, up.trace_all(models, roll))
        st.session_state["up_traces"] = cached
    return cached[1]


def show_piece(name: str, piece, spb: float, tempo: float, window) -> None:
    roll, T = piece.roll, len(piece.roll)
    st.subheader(f"The piece: {name}")
    parts = ", ".join(piece.instruments[i] for i in piece.selected)
    dropped = (f" {piece.dropped_notes} notes outside the piano range (MIDI 21–108) were left out."
               if piece.dropped_notes else "")
    st.caption(f"Resolution: **{spb:g} step{'' if spb == 1 else 's'} per beat** "
               f"({NOTE_VALUES.get(spb, 'steps')}): {T} steps, "
               f"{piece.end_time:.1f} s. Parts merged: {parts}; drums are never used.{dropped}"
               + (" The shaded band is the window the charts below show." if window else ""))
    chart(piece_figure(roll, window=window, title="Piano roll (pitch × step)"), "up_roll")
    audio_steps = min(T, int(AUDIO_MAX_S * tempo * spb / 60))
    key = (up.roll_digest(roll), round(tempo, 3))
    if st.session_state.get("up_audio", (None,))[0] != key:
        st.session_state["up_audio"] = (key, roll_to_audio(roll[:audio_steps], tempo, spb, FS))
    st.audio(st.session_state["up_audio"][1], sample_rate=FS)
    st.caption(f"Synthesized with sine waves at a steady {tempo:.0f} bpm (the piece's median step)"
               + (f"; the first {AUDIO_MAX_S} s only." if audio_steps < T else "."))


def window_controls(T: int) -> tuple[int, int, int]:
    """(start, stop, cursor) of the window the detailed charts show."""
    cols = st.columns([1, 2, 2])
    length = cols[0].select_slider("Window (steps)", [32, 64, 128, 256], value=128, key="up_len")
    length = min(length, T)
    start = 0
    if T > length:
        start = cols[1].slider("Window start (step)", 0, T - length, 0, key=f"up_start_{T}_{length}")
    stop = start + length
    cursor = cols[2].slider("Time cursor (step)", start, stop - 1, start, key=f"up_cur_{T}_{start}_{stop}",
                            help="Marked on every chart; 'At the cursor' lists each unit's values there.")
    return start, stop, cursor


def show_views(traces: dict, roll: np.ndarray, start: int, stop: int, cursor: int) -> None:
    views = up.window_views(traces, start, stop)
    target = roll[start:stop]
    st.caption(f"Steps {start}–{stop - 1} of {len(roll)}. Step t has read frames 0..t−1 and predicts "
               "frame t. Every chart downloads as PNG from its toolbar (camera icon, top right).")
    tabs = st.tabs(["Gates", "Cell states", "Prediction vs actual", "At the cursor"])
    with tabs[0]:
        candidate = st.toggle("Show the candidate (GRU h̃, LSTM c̃)", key="up_candidate")
        panels = {a: {p: (m["gates"].get(p, m["h"])) for p in panels_for(a, candidate)}
                  for a, m in views.items()}
        chart(add_cursor(gates_figure(panels, target, start, candidate), cursor), "up_gates")
    with tabs[1]:
        n_units = st.slider("Units per model", 1, 10, 4, key="up_units",
                            help="The units whose state varies most over the window.")
        units = {a: m["unit_order"][:n_units] for a, m in views.items()}
        chart(add_cursor(states_figure(views, units, start), cursor), "up_states")
    with tabs[2]:
        chart(add_cursor(prediction_figure(views, target, start), cursor), "up_prediction")
    with tabs[3]:
        cols = st.columns(len(traces))
        units = {a: int(col.number_input(f"{model_name(a)} unit", 0, tr.units - 1, 0, key=f"up_unit_{a}"))
                 for col, (a, tr) in zip(cols, traces.items())}
        chart(cursor_figure(up.cursor_values(traces, cursor, units), cursor, units), "up_cursor")
        st.caption("At step " + str(cursor) + ": NLL " + ", ".join(
            f"{model_name(a)} {tr['nll'][cursor]:.3f} nats" for a, tr in traces.items())
            + ". Blue: gates (0 to 1); purple: candidates and states.")


def downloads(traces: dict, step_times: np.ndarray, stem: str) -> None:
    st.markdown("**Download the traces** (every step of the whole piece)")
    cols = st.columns(len(traces))
    for col, (arch, tr) in zip(cols, traces.items()):
        col.download_button(f"{model_name(arch)} trace (.npz)", data=up.trace_npz(tr, step_times),
                            file_name=f"{stem}-{arch}.npz", mime="application/octet-stream",
                            on_click="ignore", key=f"up_npz_{arch}")
        col.download_button(f"{model_name(arch)} trace (CSV)",
                            data=lambda tr=tr: up.trace_csv(tr, step_times),
                            file_name=f"{stem}-{arch}.csv", mime="text/csv", on_click="ignore",
                            key=f"up_csv_{arch}")


def sampling(models: dict, model_key: tuple, roll: np.ndarray, stop: int, spb: float,
             tempo: float, stem: str) -> None:
    st.subheader("Let each model continue")
    with st.form("up_sample_form"):
        cols = st.columns(4)
        steps = int(cols[0].number_input("Steps", 1, 1024, 64, key="up_s_steps"))
        temperature = float(cols[1].number_input("Temperature", 0.05, 3.0, 1.0, 0.05, key="up_s_temp"))
        seed = int(cols[2].number_input("Seed", 0, 2**31 - 1, 0, key="up_s_seed"))
        start_from = cols[3].radio("Start from", ["the end of the window", "silence"], key="up_s_from")
        go = st.form_submit_button("Sample", type="primary")
    if go:
        prime = roll[:stop] if start_from != "silence" else None
        st.session_state["up_samples"] = {
            "key": model_key, "prime_end": stop if prime is not None else 0, "steps": steps,
            "temperature": temperature, "seed": seed,
            "rolls": {a: sample(m, steps, temperature, seed, prime) for a, m in models.items()}}
    got = st.session_state.get("up_samples")
    if not got or got["key"] != model_key:
        return
    end = got["prime_end"]
    context = roll[max(0, end - 32):end]
    st.caption(f"{got['steps']} new steps per model, temperature {got['temperature']:g}, seed "
               f"{got['seed']}, " + (f"continuing from step {end} (the last {len(context)} steps of "
                                     "the piece are shown before the dashed line)." if end else
                                     "from silence."))
    for arch, new in got["rolls"].items():
        shown = np.concatenate([context, new]) if end else new
        chart(piece_figure(shown, start=end - len(context) if end else 0, boundary=end if end else None,
                           title=f"{model_name(arch)}: sampled continuation", height=220),
              f"up_sample_{arch}")
        left, right = st.columns([3, 1])
        left.audio(roll_to_audio(new, tempo, spb, FS), sample_rate=FS)
        right.download_button(f"{model_name(arch)} sample (MIDI)", key=f"up_mid_{arch}",
                              data=roll_to_midi_bytes(new, tempo, spb), on_click="ignore",
                              file_name=f"{stem}-{arch}-sample.mid", mime="audio/midi")


st.title("Your own music")
st.caption("Upload a piece and see how each recurrent unit processes it: every gate, state and "
           "prediction, step by step.")
models, model_key, default_spb, label = choose_models()
st.caption(f"Applying {label}.")
options = sorted(set(NOTE_VALUES) | {default_spb})
spb = st.selectbox("Resolution (steps per beat)", options, index=options.index(default_spb),
                   key=f"up_spb_{default_spb}",
                   format_func=lambda s: f"{s:g} ({NOTE_VALUES.get(s, 'steps')})"
                   + (" — what these models were trained on" if s == default_spb else ""))
uploaded = st.file_uploader(f"A MIDI file (.mid or .midi, at most {MAX_BYTES / 1e6:.1f} MB)",
                            type=["mid", "midi"], key="up_file",
                            max_upload_size=max(1, -(-MAX_BYTES // 2**20)))
if uploaded is None:
    st.info("Upload a Standard MIDI File to begin. Pitched parts are merged into one piano roll; "
            "drums are left out.")
    st.stop()
piece = read_piece(uploaded, float(spb))
stem = os.path.splitext(uploaded.name)[0] or "piece"
tempo = up.steady_tempo(piece.step_times, spb)
traces = traces_for(models, model_key, piece.roll)
start, stop, cursor = window_controls(len(piece.roll))
window = None if stop - start == len(piece.roll) else (start, stop - 1)  # shade only a part
show_piece(uploaded.name, piece, spb, tempo, window)
st.markdown("**How surprised each model is at each step of the whole piece** (NLL, nats; lower = "
            "better predicted)")
chart(nll_overview_figure({a: tr["nll"] for a, tr in traces.items()}, window, cursor),
      "up_overview")
show_views(traces, piece.roll, start, stop, cursor)
downloads(traces, piece.step_times, stem)
sampling(models, model_key, piece.roll, stop, spb, tempo, stem)
