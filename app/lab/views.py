"""The Lab page's live parts: the transport buttons, the fast fragment (metrics + loss chart)
and the slow fragment (gates, states, prediction of one validation piece).

Both fragments only ask the session's worker for a snapshot and draw it; the worker trains
in its own process, so a refresh costs the server a message and a figure (tens of ms).
"""
import os
import sys
import time

import streamlit as st

from app import display, session
from app.choosers import loss_y_choice
from app.figures import gates_figure, loss_figure, panels_for, prediction_figure, states_figure
from app.figures.common import model_name
from app.figures.gates import COMPACT_OVER  # more columns than this: compact titles and labels
from app.figures.loss import Y_VIEWS
from app.i18n import dataset_title, lang, t, table
from app.teacher import url_value
from core.lab import protocol
from core.music.audio import FLUIDSYNTH, render_wav
from core.music.rolls import roll_digest
from core.units.costs import seconds_to_reach

FAST_S, SLOW_S = protocol.FAST_S, protocol.SLOW_S  # refresh of the numbers / of the views
VIEWS = ("Gates", "Cell states", "Prediction")
VIEW_TEXT = dict(zip(VIEWS, ("gates", "states", "prediction")))  # their names: lab.views.<name>
LOSS_X = ("updates", "seconds")  # loss chart x axes (lab.loss.axes.<x>)
LOSS_Y = Y_VIEWS  # its y ranges, "recent" first: the default (lab.loss.ranges.<name>)
# core.lab.Lab.warnings() kinds; each is worded here from its numbers (lab.warnings.<kind>)
WARNINGS = ("diverged", "too_high")
LISTEN_BPM = 120  # the validation window's audio: the datasets keep no tempo, only steps per beat
PROFILE = bool(os.environ.get("GATELAB_PROFILE"))  # fragment timings on stderr (benchmarks)


def transport(ready: bool, running: bool) -> None:
    """Play / Pause / Step / Reset. Drawn inside the fast fragment, so a click reruns only
    that fragment and its effect shows at once."""
    # A row that sizes each button to its label: fixed columns cut longer labels (Korean,
    # projector type).
    row = st.container(horizontal=True, vertical_alignment="center")
    # Never disabled: a button drawn from a stale status must still act (Pause always pauses).
    row.button(t("lab.transport.play"), icon=":material/play_arrow:", on_click=session.play,
                   type="secondary" if running else "primary", key="play")
    row.button(t("lab.transport.pause"), icon=":material/pause:", on_click=session.pause,
                   type="primary" if running else "secondary", key="pause")
    row.button(t("lab.transport.step"), on_click=_redraw_after(session.step), disabled=not ready,
                   key="step", help=t("lab.transport.step_help"))
    row.button(t("lab.transport.reset"), on_click=session.reset, key="reset",
                   help=t("lab.transport.reset_help"))
    note = session.note()
    if note:
        row.warning(note)


def downloads() -> None:
    """The CSV download (outside the fast fragment: each drawing registers a file callback)."""
    left, right = st.columns([1, 4])
    left.download_button(t("lab.downloads.csv"), data=session.csv_source(),
                         file_name="gatelab-metrics.csv", mime="text/csv", on_click="ignore", key="csv",
                         icon=":material/download:", help=t("lab.downloads.csv_help"))
    right.caption(t("lab.downloads.png"))


def _redraw_after(action):
    """A callback that also asks for a whole-page redraw (the views outside the fragment)."""
    def callback():
        action()
        st.session_state["redraw_page"] = True
    return callback


def _last(key: str, snap: dict | None) -> dict | None:
    """Keep the latest snapshot, so a busy worker (mid-evaluation) does not blank the page."""
    if snap is not None:
        st.session_state[key] = snap
    return st.session_state.get(key)


def live_numbers() -> None:
    """Buttons, metrics and the loss chart, refreshed every FAST_S seconds while training (and
    while the worker gets ready). A paused page does not refresh: it costs the server nothing,
    and its worker lives on regardless (``core.lab.protocol``). A change of state (Play, Pause,
    ready) reruns the whole page, so that both fragments start or stop refreshing.
    """
    s = session.status()
    playing, ready = bool(s.get("running")), bool(s.get("ready"))
    limit, waiting = s.get("limit"), session.pending()

    @st.fragment(run_every=FAST_S if playing or waiting or not (ready or s.get("error")) else None)
    def numbers():
        t0 = time.perf_counter()
        # A ready worker answers at once (its reader thread); while it warms up, do not wait.
        snap = _last("last_numbers", session.snapshot(
            timeout=protocol.NUMBERS_WAIT_S if ready else 0.05))
        now = session.status()
        transport(bool(now.get("ready")), bool(now.get("running")))
        _draw_numbers(snap, now)
        _profile("numbers", t0, now)
        changed = (bool(now.get("running")) != playing or bool(now.get("ready")) != ready
                   or now.get("limit") != limit or (now.get("error") and not s.get("error"))
                   or session.pending() != waiting)
        if changed or st.session_state.pop("redraw_page", False):
            st.rerun()  # after drawing: the views follow the new state

    numbers()


def _profile(name: str, t0: float, status: dict) -> None:
    if PROFILE:
        print(f"gatelab-profile {time.time():.3f} {name} {1000 * (time.perf_counter() - t0):.0f} ms "
              f"step {status.get('steps')}", file=sys.stderr, flush=True)


def _draw_numbers(snap: dict | None, now: dict) -> None:
    if now.get("limit"):
        st.error(t("lab.limits.too_large", **now["limit"]))
    elif now.get("error"):
        st.error(t("lab.status.error", error=now["error"]))  # core's words: a data error's detail
    if not now.get("ready") or snap is None or "metrics" not in snap:
        if not now.get("error"):
            st.info(t("lab.status.preparing"))
        return
    _status_line(snap)
    for message in snap["status"].get("messages", [])[-3:]:
        st.warning(_warning(message))
    _metrics(snap["metrics"], snap["loss"])
    _loss_chart(snap["loss"])


def _warning(warning: dict) -> str:
    """One of core's warnings (``core.lab.Lab.warnings``) in the page's language."""
    if warning.get("kind") not in WARNINGS:
        return warning.get("text", "")
    values = {k: v for k, v in warning.items() if k not in ("kind", "arch", "text")}
    return t(f"lab.warnings.{warning['kind']}", model=model_name(warning["arch"], lang()), **values)


def _dataset_title(d: dict) -> str:
    name = session.dataset_name()
    if name is None:
        return d["title"]
    return t("lab.datasets.uploaded") if name == "midi" else dataset_title(name)


def _status_line(snap: dict) -> None:
    s, d = snap["status"], snap["dataset"]
    state = t("lab.status.training" if s["running"] else "lab.status.paused")
    st.markdown(t("lab.status.line", state=state, steps=s["steps"], epoch=s["epoch"],
                  dataset=_dataset_title(d), pieces=d["valid_pieces"],
                  valid_steps=f"{d['valid_steps']:,}"))


def _metrics(metrics: dict, loss: dict) -> None:
    if display.projector():  # one row a room can read: validation NLL under each model's name
        st.markdown(t("lab.metrics.projector"))
        for col, (arch, m) in zip(st.columns(len(metrics)), metrics.items()):
            col.metric(model_name(arch), f"{m['valid_nll']:.3f}")
        return
    # More columns than the gate heatmaps' limit: metric labels are the models' names, under one
    # line that says what the numbers are (the long labels were cut short in six columns).
    compact = len(metrics) > COMPACT_OVER
    if compact:
        st.markdown(t("lab.metrics.compact"))
    cols = st.columns(len(metrics))
    for col, (arch, m) in zip(cols, metrics.items()):
        with col:
            name = model_name(arch)
            st.metric(name if compact else t("lab.metrics.valid", model=name), f"{m['valid_nll']:.3f}")
            st.metric(t("lab.metrics.train_compact" if compact else "lab.metrics.train", model=name,
                        n=m["train_window"]),
                      "–" if m["train_window"] == 0 else f"{m['train_nll']:.3f}")
            st.caption(t("lab.metrics.details", updates=f"{m['updates']:,}", units=m["units"],
                         seconds=f"{m['seconds']:.1f}", params=f"{m['params']:,}")
                       + (t("lab.metrics.diverged", n=m["divergences"]) if m["divergences"] else ""))
            st.caption(_cost(arch, m) + _race(loss.get(arch, {}).get("valid")))


def _measured(ms: float) -> str:
    return "–" if ms != ms else f"{ms:.1f}"  # NaN: not measured yet


def _race(valid) -> str:
    """" · validation NLL 9.00 reached after 12.3 s of training" for the sidebar's target (0: off)."""
    target = st.session_state.get("race_target") or 0.0
    if not target or valid is None:
        return ""
    seconds = seconds_to_reach(valid, target)
    if seconds is None:
        return t("lab.metrics.race_not_yet", target=f"{target:.2f}")
    return t("lab.metrics.race", target=f"{target:.2f}", seconds=f"{seconds:.1f}")


def _cost(arch: str, m: dict) -> str:
    """One line of what the unit costs here: multiply-adds per step and measured times."""
    return t("lab.metrics.cost", macs=f"{m['multiply_adds']:,}", formula=m["formula"],
             update=_measured(m["ms_per_update"]), trace=_measured(m["trace_ms_per_1000"]))


def chart_options() -> None:
    """How the loss chart is drawn (in the sidebar: widgets inside the fast fragment would be
    redrawn with it several times a second)."""
    with st.sidebar:
        st.header(t("lab.loss.header"))
        st.radio(t("lab.loss.x"), LOSS_X, format_func=table("lab.loss.axes").get,
                 horizontal=True, key="loss_x", help=t("lab.loss.x_help"))
        loss_y_choice("loss_y")
        st.toggle(t("lab.loss.log"), key="loss_log")
        st.number_input(t("lab.loss.race"), 0.0, 100.0, 0.0, 0.5, format="%.2f", key="race_target",
                        help=t("lab.loss.race_help"))


def _loss_y() -> str:
    """The sidebar's y range; without the sidebar's options (teacher mode), the URL's."""
    if "loss_y" in st.session_state:
        return st.session_state["loss_y"]
    value = url_value("loss_y", LOSS_Y[0])
    return value if value in LOSS_Y else LOSS_Y[0]


def _loss_chart(loss: dict) -> None:
    x, log_y = st.session_state.get("loss_x", "updates"), st.session_state.get("loss_log", False)
    y_view = _loss_y()
    display.chart(loss_figure(loss, x=x, log_y=log_y, lang=lang(), y_view=y_view), key="loss_chart")


def piece_controls(n_pieces: int, n_steps: int | None) -> dict:
    """Which validation piece (and which window of it) the views show."""
    cols = st.columns([1, 1, 2])
    if st.session_state.get("piece", 0) > n_pieces - 1:  # a dataset with fewer pieces came
        st.session_state["piece"] = 0
    piece = cols[0].number_input(t("lab.views.piece"), 0, max(n_pieces - 1, 0), key="piece",
                                 help=f"0 .. {n_pieces - 1}")
    length = cols[1].select_slider(t("lab.views.window"), [32, 64, 128, 192, 256], value=128,
                                   key="window")
    start = 0
    if n_steps and n_steps > length:
        start = cols[2].slider(t("lab.views.start"), 0, n_steps - length, 0, step=8, key="start")
    return {"piece": int(piece), "start": int(start), "length": int(length)}


def live_views() -> None:
    """The chosen view of the chosen piece, refreshed every SLOW_S seconds while training.
    A projector shows the gates alone, without the choice of view and its options."""
    last = st.session_state.get("last_views")
    n_pieces = (st.session_state.get("last_numbers") or {}).get("dataset", {}).get("n_pieces", 1)
    request = piece_controls(n_pieces, last["views"]["n_steps"] if last else None)
    options, projector = {}, display.projector()
    # labels fixed now: a format_func may be called outside this run (AppTest), without the URL
    names = {v: t(f"lab.views.{name}") for v, name in VIEW_TEXT.items()}
    view = VIEWS[0] if projector else st.radio(t("lab.views.label"), VIEWS, format_func=names.get,
                                                horizontal=True, key="view")
    if view == "Gates" and not projector:
        options["candidate"] = st.toggle(t("lab.views.candidate"), key="candidate")
    elif view == "Cell states":
        options["n_units"] = st.slider(t("lab.views.n_units"), 1, 10, 4, key="n_units",
                                       help=t("lab.views.n_units_help"))
    playing = bool(session.status().get("running"))

    @st.fragment(run_every=SLOW_S if playing else None)
    def views():
        t0 = time.perf_counter()
        snap = session.snapshot(views=request, timeout=0.5)
        snap = _last("last_views", snap if snap and "views" in snap else None)
        if snap is None or snap["status"]["generation"] != session.status().get("generation"):
            return  # nothing traced yet for these models (a reset is under way)
        v = snap["views"]
        st.caption(t("lab.views.caption", piece=v["piece"], n_steps=v["n_steps"], first=v["start"],
                     last=v["start"] + len(v["target"]) - 1, steps=snap["status"]["steps"]))
        display.chart(_view_figure(view, v, options), key=f"view_{view}")
        _profile("views", t0, snap["status"])

    views()
    if not projector:
        listen()


def listen() -> None:
    """The window the views show, as audio at LISTEN_BPM: rendered when asked (a piano or sine
    waves, ``core.music.audio``; a server's CPU is shared by a class) and kept while the window stays."""
    snap = st.session_state.get("last_views")
    if not snap or "views" not in snap:
        return
    v = snap["views"]
    target, spb = v["target"], snap["dataset"].get("steps_per_beat", 2.0)
    key = (roll_digest(target), spb)
    kept = st.session_state.get("lab_audio")
    if st.button(t("lab.listen.button"), key="lab_listen", help=t("lab.listen.help", bpm=LISTEN_BPM)) \
            and (kept is None or kept[0] != key):
        with st.spinner(t("lab.listen.rendering")):  # up to a second for 256 steps
            kept = st.session_state["lab_audio"] = (key, *render_wav(target, LISTEN_BPM, spb))
    if kept is None or kept[0] != key:
        return
    _, wav, engine = kept
    st.audio(wav, format="audio/wav")
    st.caption(t("lab.listen.piano" if engine == FLUIDSYNTH else "lab.listen.sine", piece=v["piece"],
                 first=v["start"], last=v["start"] + len(target) - 1, bpm=LISTEN_BPM, spb=f"{spb:g}"))


def _view_figure(view: str, v: dict, options: dict):
    models, start = v["models"], v["start"]
    if view == "Gates":
        candidate = options.get("candidate", False)
        panels = {a: {p: m["gates"].get(p, m["h"]) for p in panels_for(a, candidate)}
                  for a, m in models.items()}
        return gates_figure(panels, v["target"], start, candidate, lang=lang())
    if view == "Cell states":
        units = {a: m["unit_order"][:options.get("n_units", 4)] for a, m in models.items()}
        return states_figure(models, units, start, lang=lang())
    return prediction_figure(models, v["target"], start, lang=lang())
