"""Per-session state: the session's worker (in ``st.session_state``, never a shared cache:
each browser session trains its own models) and the Play / Pause / Step / Reset commands.

The worker comes from this server's ``app.worker.pool()``; its reaper ends the workers of
closed and idle sessions (``core.lab.protocol``), and this module says so on the page.
"""
import sys
import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import i18n, text
from app.worker import LabClient, ServerFull, WorkerGone, pool
from core.lab import protocol

CLIENT_KEY = "lab_client"
FULL_KEY = "server_full"  # (limit, seconds until a place frees at the latest) while refused
UNAVAILABLE_KEY = "worker_unavailable"  # when the server last could not start a worker (a failed fork)
NOTE_KEY = "worker_note"  # (text, shown until): what happened to the session's worker


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def _open(settings: dict | None = None, dataset=None) -> LabClient | None:
    """A worker for this session, or None (and the page's notice, ``full_notice``) when the server
    is full or cannot start one (a fork refused under a pids limit, a zygote that died)."""
    try:
        client = pool().open(_session_id(), settings, dataset)
    except ServerFull as e:
        st.session_state[FULL_KEY] = (e.limit, e.free_in_s)
        return None
    except WorkerGone as e:
        print(f"gatelab: no worker for a session: {e}", file=sys.stderr, flush=True)
        st.session_state[UNAVAILABLE_KEY] = time.monotonic()
        return None
    st.session_state.pop(FULL_KEY, None)
    st.session_state.pop(UNAVAILABLE_KEY, None)
    st.session_state[CLIENT_KEY] = client
    return client


def _ended_note(client: LabClient) -> str:
    if client.ended == "culled":
        return i18n.t("lab.worker.culled", minutes=f"{protocol.idle_cull_s() / 60:g}")
    return i18n.t("lab.worker.restarted")


def _say(note: str) -> None:
    """Show ``note`` beside the transport for ``NOTE_S`` seconds (across the fragment's reruns)."""
    st.session_state[NOTE_KEY] = (note, time.monotonic() + protocol.NOTE_S)


def note() -> str | None:
    """What happened to the session's worker, while it is news."""
    held = st.session_state.get(NOTE_KEY)
    if held is None or time.monotonic() > held[1]:
        st.session_state.pop(NOTE_KEY, None)
        return None
    return held[0]


def _reopen(client: LabClient) -> LabClient | None:
    """A fresh worker with the ended one's settings, the page told why; None if none can start.
    A worker that died while training (killed, crashed: not culled) trains on in the new one."""
    _say(_ended_note(client))
    fresh = _open(client.settings, client.dataset)
    if fresh is None:
        return None
    fresh.wanted = client.wanted
    if client.status.get("running") and client.ended is None and client.settings is not None:
        _expect(True)
        try:
            fresh.request("play", timeout=protocol.RESET_WAIT_S)
        except WorkerGone:
            pass  # the page's next request finds it gone and says so
    return fresh


def ensure_worker(settings: dict, dataset=None, dataset_key: str = "") -> LabClient | None:
    """The session's worker, started on first use; a settings change resets it. None when the
    server is full (``full_notice`` says so).

    ``dataset`` is an uploaded Dataset (``settings["dataset"] == "midi"``) and
    ``dataset_key`` identifies it, so a new upload resets too.
    """
    client = st.session_state.get(CLIENT_KEY)
    wanted = {**settings, "_dataset_key": dataset_key}
    if client is not None and not client.alive and client.wanted == wanted:
        return _reopen(client)  # the same setup: a fresh worker, training on if it was
    if client is not None and not client.alive:
        _say(_ended_note(client))
        client = None
    if client is None:
        client = _open(settings, dataset)
        if client is None:
            return None
        client.wanted = wanted
    elif client.wanted != wanted:
        client.wanted = wanted
        _expect_reset()
        command(lambda c: c.reset(settings, dataset, timeout=protocol.RESET_WAIT_S))  # the page polls
    return client


def full_notice() -> bool:
    """If the server refused this session a worker (full, or unable to start one): say so, retry
    every few seconds (the page takes the first free place), and return True."""
    full, unavailable = st.session_state.get(FULL_KEY), st.session_state.get(UNAVAILABLE_KEY)
    if full is None and unavailable is None:
        return False
    if full is not None:
        limit, free_in_s = full
        st.warning(i18n.t("lab.worker.full", limit=limit, minutes=f"{max(1, round(free_in_s / 60))}"))
    else:
        st.error(i18n.t("lab.worker.unavailable"))

    @st.fragment(run_every=protocol.FULL_RETRY_S)
    def retry():
        st.caption(i18n.t("lab.worker.waiting"))
        again = (unavailable is not None and time.monotonic() - unavailable >= protocol.FULL_RETRY_S
                 or full is not None and pool().count() < pool().limit)
        if again:
            st.session_state.pop(FULL_KEY, None)
            st.session_state.pop(UNAVAILABLE_KEY, None)
            st.rerun()
    retry()
    return True


def command(action) -> dict | None:
    """Run ``action(client)``. A worker that has ended (killed, culled) is replaced by a fresh one
    with the same settings, the page says so, and the action goes to the new worker: the click
    that found the old one dead is not lost. Never a traceback."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None:
        return None
    try:
        return action(client)
    except WorkerGone:
        fresh = _reopen(client)
    if fresh is None:
        return None
    try:
        return action(fresh)
    except WorkerGone:
        _say(i18n.t("lab.worker.gone"))
        return None


def compute(name: str, *args, failed: str = "common.worker.failed",
            timeout: float = protocol.COMPUTE_WAIT_S, **kwargs):
    """``core.lab.protocol.COMPUTE[name](model, ...)`` computed by this session's worker, the model
    named by ``args[0]`` (a ``core.units.records.ModelRef``). The session's worker starts if it has
    none. A full server, a worker that does not answer, or a failure (``failed``: the text key
    of its message, given ``detail``) is said on the page, and this run stops there."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None or not client.alive:
        if _open() is None:
            full_notice()
            st.stop()
    reply = command(lambda c: c.request("compute", name, args, kwargs, timeout=timeout))
    if reply is None:
        st.warning(i18n.t("common.worker.busy"))
        st.stop()
    if "failed" in reply:
        st.error(i18n.t(failed, error=reply["failed"], detail=reply["failed"]))
        st.stop()
    return reply["result"]


PENDING_KEY = "transport_pending"  # (running wanted, deadline) after Play / Pause
RESET_KEY = "reset_pending"  # (generation before, deadline) after Reset or a change of settings


def play() -> None:
    _expect(True)
    command(lambda c: c.request("play"))


def pause() -> None:
    _expect(False)
    command(lambda c: c.request("pause"))


def _expect(running: bool) -> None:
    """Keep the page refreshing until the worker's status says ``running`` (a worker starved of
    CPU may answer a click later than the click waits: a paused page must not stop asking)."""
    st.session_state[PENDING_KEY] = (running, time.monotonic() + protocol.PENDING_S)


def _expect_reset() -> None:
    """Keep the page refreshing until the worker's status shows the new models (a generation
    after the one before). Building them may take longer than the reset's request waits (six
    models, a loaded machine): a paused page that stopped asking would show the old models
    until the next click."""
    st.session_state[RESET_KEY] = (status().get("generation"), time.monotonic() + protocol.PENDING_S)


def pending() -> bool:
    """Whether a Play, Pause or Reset still waits for the worker to confirm it; forgets each once
    the status agrees or the wait is over."""
    transport, reset = st.session_state.get(PENDING_KEY), st.session_state.get(RESET_KEY)
    if transport is None and reset is None:
        return False
    now, s = time.monotonic(), status()
    if transport is not None and (bool(s.get("running")) == transport[0] or now > transport[1]):
        del st.session_state[PENDING_KEY]
        transport = None
    if reset is not None and (s.get("generation") != reset[0] or now > reset[1]):
        del st.session_state[RESET_KEY]
        reset = None
    return transport is not None or reset is not None


def step() -> None:
    command(lambda c: c.request("step", timeout=protocol.STEP_WAIT_S))


def reset() -> None:
    _expect_reset()
    command(lambda c: c.reset(c.settings, c.dataset, timeout=protocol.RESET_WAIT_S))


def snapshot(**request) -> dict | None:
    """The worker's latest numbers (and views, when asked); None while it is busy."""
    return command(lambda c: c.get(**request))


def dataset_name() -> str | None:
    """The registry name of the dataset the worker was last set up with."""
    client = st.session_state.get(CLIENT_KEY)
    return (client.settings or {}).get("dataset") if client is not None else None


def has_settings() -> bool:
    client = st.session_state.get(CLIENT_KEY)
    return client is not None and client.wanted is not None


def status() -> dict:
    """The worker's latest status; a worker that has ended reads as not ready and not running,
    so the Lab's fragment sees the change and reruns the page, which starts a fresh one."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None:
        return {}
    if not client.alive:
        return {**client.status, "ready": False, "running": False, "ended": True}
    return client.status


def csv_source():
    """A callable for ``st.download_button``: the full metrics history as CSV. Streamlit calls
    it on another thread when the button is pressed, so it holds the client, not the session."""
    client = st.session_state.get(CLIENT_KEY)
    busy = text.get(i18n.lang(), "lab.downloads.csv_error")  # now: that thread has no page

    gone = text.get(i18n.lang(), "lab.downloads.csv_gone")

    def make_csv() -> str:
        try:
            reply = client.get(csv=True, timeout=10) if client is not None else None
        except WorkerGone:  # culled or killed since the page drew the button
            return f"error\n{gone}\n"
        if reply is None or "csv" not in reply:
            return f"error\n{busy}\n"
        return reply["csv"]
    return make_csv


def trained_weights(timeout: float = protocol.WEIGHTS_WAIT_S) -> dict | None:
    """The Lab's models as trained so far in this session: arch -> {"spec", "settings",
    "updates", "state_dict"} (``core.lab.Lab.weights``); None when this session has no Lab
    models (the Lab page was never opened, or its worker stopped) or the worker is busy."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None or not client.alive or not client.status.get("ready"):
        return None
    reply = command(lambda c: c.get(weights=True, timeout=timeout))
    return reply.get("weights") if reply else None


def session_id() -> str:
    """This browser session's id: the key of its worker in ``app.worker.pool()`` (the class board
    joins the students' names to their workers by it)."""
    return _session_id()
