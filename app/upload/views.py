"""The "Your own music" page's charts and actions: the piece (roll, caption, audio), the NLL
overview, the window's views in tabs, the trace downloads and sampled continuations.

Projector mode keeps the piano roll, the gates and the NLL overview: no long captions, audio,
downloads or sampling (``app/upload/upload.py`` leaves the last two out).
"""
import numpy as np
import streamlit as st

from app import session
from app.display import chart, projector
from app.figures import gates_figure, panels_for, prediction_figure, states_figure
from app.figures.common import model_name
from app.figures.piece import add_cursor, cursor_figure, nll_overview_figure, piece_figure
from app.i18n import lang, t
from app.upload import data as up
from core.music.audio import FLUIDSYNTH, render_wav
from core.music.midi import roll_to_midi_bytes
from core.music.rolls import roll_digest

AUDIO_MAX_S = 120     # the piece's audio preview: at most its first two minutes
FS = 22050            # audio sample rate


def show_piece(name: str, piece, spb: float, tempo: float, window) -> None:
    """The piano roll; outside projector mode also its caption and an audio preview."""
    roll = piece.roll
    st.subheader(t("upload.piece.heading", name=name))
    if not projector():
        st.caption(up.piece_caption(piece, spb, window))
    chart(piece_figure(roll, window=window, title=t("upload.piece.roll_title"), lang=lang()), "up_roll")
    if not projector():
        audio_preview(roll, spb, tempo)


def audio_preview(roll: np.ndarray, spb: float, tempo: float) -> None:
    """The piece's first AUDIO_MAX_S seconds on a piano, or as sine waves where the server lacks
    FluidSynth (core.music.audio; kept per piece and tempo as a WAV file), captioned with the synthesizer used."""
    T = len(roll)
    audio_steps = min(T, int(AUDIO_MAX_S * tempo * spb / 60))
    key = (roll_digest(roll), round(tempo, 3))
    if st.session_state.get("up_audio", (None,))[0] != key:
        st.session_state["up_audio"] = (key, *render_wav(roll[:audio_steps], tempo, spb, FS))
    _, wav, engine = st.session_state["up_audio"]
    st.audio(wav, format="audio/wav")
    cut, values = audio_steps < T, {"bpm": f"{tempo:.0f}", "seconds": AUDIO_MAX_S}
    if engine == FLUIDSYNTH:
        st.caption(t("upload.piece.audio_piano_cut", **values) if cut else t("upload.piece.audio_piano", **values))
    else:
        st.caption(t("upload.piece.audio_cut", **values) if cut else t("upload.piece.audio", **values))


def show_overview(traces: dict, window, cursor: int) -> None:
    """Every model's NLL over the whole piece, the window shaded and the cursor marked."""
    st.markdown(t("upload.piece.overview"))
    chart(nll_overview_figure({a: tr["nll"] for a, tr in traces.items()}, window, cursor, lang=lang()),
          "up_overview")


def show_gates(views: dict, target: np.ndarray, start: int, cursor: int) -> None:
    """The gate heatmaps of the window (the candidate on request)."""
    candidate = st.toggle(t("upload.views.candidate"), key="up_candidate")
    panels = {a: {p: (m["gates"].get(p, m["h"])) for p in panels_for(a, candidate)}
              for a, m in views.items()}
    chart(add_cursor(gates_figure(panels, target, start, candidate, lang=lang()), cursor), "up_gates")
    removed = up.removed_gates(views)   # a unit taken apart: its missing gate is a constant, not a panel
    if removed and not projector():
        st.caption(" ".join(removed))


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
        show_cursor(traces, cursor)


def show_cursor(traces: dict, cursor: int) -> None:
    """Every gate and state of one chosen unit per model at the cursor, and each model's NLL."""
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
    """Each model's trace as .npz and .csv (the CSV made only when it is downloaded)."""
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
    """The sampling form and, once sampled with these models, each model's continuation."""
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
    if got and got["key"] == model_key:
        show_samples(got, roll, spb, tempo, stem)


def show_samples(got: dict, roll: np.ndarray, spb: float, tempo: float, stem: str) -> None:
    """Each model's sampled continuation (``got``: the session's ``up_samples``) after up to 32
    steps of its context: roll, audio (rendered once per sampling) and MIDI download."""
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
        if arch not in got.setdefault("audio", {}):
            got["audio"][arch] = render_wav(new, tempo, spb, FS)
        wav, engine = got["audio"][arch]
        left.audio(wav, format="audio/wav")
        left.caption(t("upload.sampling.audio_piano") if engine == FLUIDSYNTH else t("upload.sampling.audio_sine"))
        right.download_button(t("upload.downloads.midi", model=model_name(arch)), key=f"up_mid_{arch}",
                              data=roll_to_midi_bytes(new, tempo, spb), on_click="ignore",
                              file_name=f"{stem}-{arch}-sample.mid", mime="audio/midi")
