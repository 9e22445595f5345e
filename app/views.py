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
from app.figures import gates_figure, loss_figure, panels_for, prediction_figure, states_figure
from app.figures.common import model_name

FAST_S = 0.4   # buttons, metrics, loss chart; also the worker's heartbeat (it exits after 30 s)
SLOW_S = 2.5   # gates / states / prediction, while training
VIEWS = ("Gates", "Cell states", "Prediction")
PROFILE = bool(os.environ.get("GATELAB_PROFILE"))  # fragment timings on stderr (benchmarks)


def transport(ready: bool, running: bool) -> None:
    """Play / Pause / Step / Reset. Drawn inside the fast fragment, so a click reruns only
    that fragment and its effect shows at once."""
    cols = st.columns([1, 1, 1, 1, 4])
    # Never disabled: a button drawn from a stale status must still act (Pause always pauses).
    cols[0].button("Play", icon=":material/play_arrow:", on_click=session.play,
                   type="secondary" if running else "primary", key="play")
    cols[1].button("Pause", icon=":material/pause:", on_click=session.pause,
                   type="primary" if running else "secondary", key="pause")
    cols[2].button("Step", on_click=_redraw_after(session.step), disabled=not ready, key="step",
                   help="Pause, then exactly one update of every model (on the same batch).")
    cols[3].button("Reset", on_click=session.reset, key="reset", help="Fresh models, same settings.")
    note = st.session_state.pop("worker_note", None)
    if note:
        cols[4].warning(note)


def downloads() -> None:
    """The CSV download (outside the fast fragment: each drawing registers a file callback)."""
    left, right = st.columns([1, 4])
    left.download_button("Metrics (CSV)", data=session.csv_source(), file_name="gatelab-metrics.csv",
                         mime="text/csv", on_click="ignore", key="csv", icon=":material/download:",
                         help="Every training batch loss and validation result of every model.")
    right.caption("Every chart downloads as PNG from the camera icon of its toolbar (hover the chart).")


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
    """Buttons, metrics and the loss chart, refreshed every FAST_S seconds.

    The refresh runs while paused too (it is the worker's heartbeat, and it lets Play show its
    first trained point without waiting for a whole-page rerun). A whole-page rerun follows a
    change of state — once the first trained numbers are drawn after Play — so that the slow
    views start or stop refreshing.
    """
    s = session.status()
    playing, ready, steps = bool(s.get("running")), bool(s.get("ready")), s.get("steps", 0)

    @st.fragment(run_every=FAST_S)
    def numbers():
        t0 = time.perf_counter()
        # A ready worker answers at once (its reader thread); while it warms up, do not wait.
        snap = _last("last_numbers", session.snapshot(timeout=0.3 if ready else 0.05))
        now = session.status()
        transport(bool(now.get("ready")), bool(now.get("running")))
        _draw_numbers(snap, now)
        started = bool(now.get("running")) and not playing and now.get("steps", 0) > steps
        stopped = playing and not now.get("running")
        _profile("numbers", t0, now)
        if started or stopped or bool(now.get("ready")) != ready or st.session_state.pop(
                "redraw_page", False):
            st.rerun()  # after drawing: the views follow the new state

    numbers()


def _profile(name: str, t0: float, status: dict) -> None:
    if PROFILE:
        print(f"gatelab-profile {time.time():.3f} {name} {1000 * (time.perf_counter() - t0):.0f} ms "
              f"step {status.get('steps')}", file=sys.stderr, flush=True)


def _draw_numbers(snap: dict | None, now: dict) -> None:
    if now.get("error"):
        st.error(now["error"])
    if not now.get("ready") or snap is None or "metrics" not in snap:
        if not now.get("error"):
            st.info("Preparing the models (loading the data, building the models, first traces)…")
        return
    _status_line(snap)
    for message in snap["status"].get("messages", [])[-3:]:
        st.warning(message)
    _metrics(snap["metrics"])
    _loss_chart(snap["loss"])


def _status_line(snap: dict) -> None:
    s, d = snap["status"], snap["dataset"]
    state = "training" if s["running"] else "paused"
    st.markdown(f"**{state}** · step {s['steps']} (one update of every model) · epoch {s['epoch']} · "
                f"{d['title']}: validation NLL on {d['valid_pieces']} pieces "
                f"({d['valid_steps']:,} steps)")


def _metrics(metrics: dict) -> None:
    cols = st.columns(len(metrics))
    for col, (arch, m) in zip(cols, metrics.items()):
        with col:
            st.metric(f"{model_name(arch)}: validation NLL (nats/step)", f"{m['valid_nll']:.3f}")
            st.metric(f"{model_name(arch)}: training NLL (last {m['train_window']} batches)",
                      "–" if m["train_window"] == 0 else f"{m['train_nll']:.3f}")
            st.caption(f"{m['updates']:,} updates · {m['seconds']:.1f} s of training · "
                       f"{m['units']} units · {m['params']:,} parameters"
                       + (f" · {m['divergences']} diverged updates undone" if m["divergences"] else ""))


def chart_options() -> None:
    """How the loss chart is drawn (in the sidebar: widgets inside the fast fragment would be
    redrawn with it several times a second)."""
    with st.sidebar:
        st.header("Loss chart")
        st.radio("x axis", ["updates", "seconds"], horizontal=True, key="loss_x",
                 help="seconds: each model's own training time (the paper's Figure 2, right)")
        st.toggle("log scale", key="loss_log")


def _loss_chart(loss: dict) -> None:
    x, log_y = st.session_state.get("loss_x", "updates"), st.session_state.get("loss_log", False)
    display.chart(loss_figure(loss, x=x, log_y=log_y), key="loss_chart")


def piece_controls(n_pieces: int, n_steps: int | None) -> dict:
    """Which validation piece (and which window of it) the views show."""
    cols = st.columns([1, 1, 2])
    if st.session_state.get("piece", 0) > n_pieces - 1:  # a dataset with fewer pieces came
        st.session_state["piece"] = 0
    piece = cols[0].number_input("Validation piece", 0, max(n_pieces - 1, 0), key="piece",
                                 help=f"0 .. {n_pieces - 1}")
    length = cols[1].select_slider("Window (steps)", [32, 64, 128, 192, 256], value=128, key="window")
    start = 0
    if n_steps and n_steps > length:
        start = cols[2].slider("Window start (step)", 0, n_steps - length, 0, step=8, key="start")
    return {"piece": int(piece), "start": int(start), "length": int(length)}


def live_views() -> None:
    """The chosen view of the chosen piece, refreshed every SLOW_S seconds while training."""
    last = st.session_state.get("last_views")
    n_pieces = (st.session_state.get("last_numbers") or {}).get("dataset", {}).get("n_pieces", 1)
    request = piece_controls(n_pieces, last["views"]["n_steps"] if last else None)
    view = st.radio("View", VIEWS, horizontal=True, key="view")
    options = {}
    if view == "Gates":
        options["candidate"] = st.toggle("Show the candidate (GRU h̃, LSTM c̃)", key="candidate")
    elif view == "Cell states":
        options["n_units"] = st.slider("Units per model", 1, 10, 4, key="n_units",
                                       help="The units whose state varies most over the window.")
    playing = bool(session.status().get("running"))

    @st.fragment(run_every=SLOW_S if playing else None)
    def views():
        t0 = time.perf_counter()
        snap = session.snapshot(views=request, timeout=0.5)
        snap = _last("last_views", snap if snap and "views" in snap else None)
        if snap is None or snap["status"]["generation"] != session.status().get("generation"):
            return  # nothing traced yet for these models (a reset is under way)
        v = snap["views"]
        st.caption(f"Validation piece {v['piece']} ({v['n_steps']} steps), steps {v['start']}–"
                   f"{v['start'] + len(v['target']) - 1}, traced with the weights after step "
                   f"{snap['status']['steps']}. Step t has read frames 0..t−1 and predicts frame t.")
        display.chart(_view_figure(view, v, options), key=f"view_{view}")
        _profile("views", t0, snap["status"])

    views()


def _view_figure(view: str, v: dict, options: dict):
    models, start = v["models"], v["start"]
    if view == "Gates":
        candidate = options.get("candidate", False)
        panels = {a: {p: m["gates"].get(p, m["h"]) for p in panels_for(a, candidate)}
                  for a, m in models.items()}
        return gates_figure(panels, v["target"], start, candidate)
    if view == "Cell states":
        units = {a: m["unit_order"][:options.get("n_units", 4)] for a, m in models.items()}
        return states_figure(models, units, start)
    return prediction_figure(models, v["target"], start)
