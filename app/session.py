"""Per-session state: the session's worker (in ``st.session_state``, never a shared cache:
each browser session trains its own models) and the Play / Pause / Step / Reset commands."""
import streamlit as st

from app import i18n, text
from app.worker import LabClient, WorkerGone

CLIENT_KEY = "lab_client"


def start_worker() -> None:
    """Start the session's worker before anything else, so its interpreter starts (and
    imports torch) while the page is still drawing; its settings follow."""
    if st.session_state.get(CLIENT_KEY) is None:
        client = LabClient()
        client.wanted = None
        st.session_state[CLIENT_KEY] = client


def ensure_worker(settings: dict, dataset=None, dataset_key: str = "") -> LabClient:
    """The session's worker, started on first use; a settings change resets it.

    ``dataset`` is an uploaded Dataset (``settings["dataset"] == "midi"``) and
    ``dataset_key`` identifies it, so a new upload resets too.
    """
    client = st.session_state.get(CLIENT_KEY)
    wanted = {**settings, "_dataset_key": dataset_key}
    if client is not None and not client.alive:
        st.session_state["worker_note"] = i18n.t("lab.worker.restarted")
        client = None
    if client is None:
        client = LabClient(settings, dataset)
        client.wanted = wanted
        st.session_state[CLIENT_KEY] = client
    elif client.wanted != wanted:
        client.wanted = wanted
        command(lambda c: c.reset(settings, dataset, timeout=0.5))  # the page polls for ready
    return client


def command(action) -> dict | None:
    """Run ``action(client)``; a dead worker is reported, never a traceback."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None:
        return None
    try:
        return action(client)
    except WorkerGone:
        st.session_state["worker_note"] = i18n.t("lab.worker.gone")
        return None


def play() -> None:
    command(lambda c: c.request("play"))


def pause() -> None:
    command(lambda c: c.request("pause"))


def step() -> None:
    command(lambda c: c.request("step", timeout=30))


def reset() -> None:
    command(lambda c: c.reset(c.settings, c.dataset, timeout=0.5))


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
    client = st.session_state.get(CLIENT_KEY)
    return client.status if client is not None else {}


def csv_source():
    """A callable for ``st.download_button``: the full metrics history as CSV. Streamlit calls
    it on another thread when the button is pressed, so it holds the client, not the session."""
    client = st.session_state.get(CLIENT_KEY)
    busy = text.get(i18n.lang(), "lab.downloads.csv_error")  # now: that thread has no page

    def make_csv() -> str:
        reply = client.get(csv=True, timeout=10) if client is not None else None
        if reply is None or "csv" not in reply:
            return f"error\n{busy}\n"
        return reply["csv"]
    return make_csv


def trained_weights(timeout: float = 10.0) -> dict | None:
    """The Lab's models as trained so far in this session: arch -> {"spec", "settings",
    "updates", "state_dict"} (``core.lab.Lab.weights``); None when this session has no Lab
    models (the Lab page was never opened, or its worker stopped) or the worker is busy."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None or not client.alive or not client.status.get("ready"):
        return None
    reply = command(lambda c: c.get(weights=True, timeout=timeout))
    return reply.get("weights") if reply else None
