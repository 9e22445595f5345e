"""What the teaching pages share: which models to look at (the shipped pretrained ones or this
session's Lab models, as on the "Your own music" page), which piece, small per-session caches,
and **teacher mode** -- URL flags that hide controls, so a teacher can hand out a link that
opens a prepared, simplified view (like TensorFlow Playground's ``*_hide`` flags).

Teacher-mode URL parameters (any page of these tools):

- ``hide=piece,thresholds`` hides the named controls; ``teacher=1`` hides every control but
  those named in ``show=...``.
- A hidden control takes its value from the URL parameter of the same name, e.g.
  ``&piece=3&K=40``, else its default.
- ``tool=memory`` (Gate tools page) shows one tool instead of the four tabs.

Example: ``/tools?teacher=1&tool=interventions&source=lab&arch=lstm&gate=f&value=1``.
"""
import streamlit as st

from app import session
from app import upload as up
from app.figures.common import model_name
from core.checkpoint import CheckpointError
from core.data import TITLES, DataError, available_datasets, load_dataset
from core.lab import validation_pieces

SOURCES = {"shipped": "Pretrained (shipped with GateLab)", "lab": "Trained in this session (Lab page)"}
LONG_MEMORY = "long-memory"
LAB_WEIGHTS = "tools_lab_weights"  # session key: the Lab's weights as last taken


# -- teacher mode --------------------------------------------------------------------------------

def hidden() -> set[str]:
    """Names of the controls the URL hides."""
    q = st.query_params
    names = lambda key: {s.strip() for s in q.get(key, "").split(",") if s.strip()}  # noqa: E731
    if q.get("teacher", "") in ("1", "true", "yes"):
        return {"*"} - names("show") | {"!" + n for n in names("show")}
    return names("hide")


def is_hidden(name: str) -> bool:
    h = hidden()
    return name in h or ("*" in h and "!" + name not in h)


def url_value(name: str, default):
    """The URL's value for a hidden control, as the type of ``default`` (bad values: default)."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes")
        return type(default)(float(raw)) if isinstance(default, (int, float)) else type(default)(raw)
    except (TypeError, ValueError):
        return default


def control(name: str, widget, default, *args, options=None, **kwargs):
    """``widget(*args, **kwargs)`` unless the URL hides ``name``; then its URL value or default.
    ``options`` (for choice widgets) both passes to the widget and checks a URL value."""
    if is_hidden(name):
        value = url_value(name, default)
        return value if options is None or value in options else default
    if options is not None:
        args = (*args, options)
        if widget in (st.radio, st.selectbox) and default in options:
            kwargs.setdefault("index", options.index(default))
    return widget(*args, **kwargs)


# -- models --------------------------------------------------------------------------------------

def lab_weights(key: str) -> dict | None:
    """This session's Lab weights: taken once, and again when the user asks (``key`` button)."""
    fresh = False
    if not is_hidden("take"):
        fresh = st.button("Take the Lab's current weights", key=key,
                          help="The models keep training on the Lab page; this takes a copy now.")
    if fresh or LAB_WEIGHTS not in st.session_state:
        weights = session.trained_weights()
        if weights:
            st.session_state[LAB_WEIGHTS] = weights
    return st.session_state.get(LAB_WEIGHTS)


def choose_models(prefix: str) -> tuple[dict, tuple, str, str]:
    """Pick the models -> (arch -> model, a key naming them, their dataset name, a label)."""
    source = control("source", st.radio, "shipped", "Models", options=list(SOURCES),
                     format_func=SOURCES.get, horizontal=True, key=f"{prefix}_source")
    if source == "lab":
        weights = lab_weights(f"{prefix}_take")
        if not weights:
            st.info("No models have been trained in this session yet: open the **Lab** page, "
                    "press Play for a while, then come back (or use the pretrained models).")
            st.stop()
        first = next(iter(weights.values()))
        label = "the Lab's models after " + ", ".join(
            f"{model_name(a)} {w['updates']} updates" for a, w in weights.items())
        updates = tuple(w["updates"] for w in weights.values())
        return up.lab_models(weights), ("lab", *updates), first["settings"]["dataset"], label
    try:
        sets = up.shipped_sets()
        ready = set(available_datasets())
        # Sets whose pieces load here come first, so an offline classroom opens on one that works.
        names = sorted(sets, key=lambda k: k[0] not in ready)
        choice = control("set", st.selectbox, names[0], "Pretrained set", options=names,
                         format_func=lambda k: f"{TITLES.get(k[0], k[0])}, {k[1]} equations",
                         key=f"{prefix}_set")
        models = up.shipped_models(sets[choice]["names"])
    except CheckpointError as e:
        st.error(f"The pretrained models cannot be used here: {e}. Train models on the Lab page "
                 "and choose “Trained in this session”.")
        st.stop()
    return models, ("shipped", *choice), choice[0], f"the pretrained models ({choice[0]}, {choice[1]})"


# -- pieces --------------------------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading the dataset…")
def cached_dataset(name: str):
    """A dataset by name (immutable, shared between sessions)."""
    return load_dataset(name)


def piece_sources(dataset: str) -> list[str]:
    return [dataset, LONG_MEMORY] if dataset not in ("midi", LONG_MEMORY) else [LONG_MEMORY]


def choose_piece(dataset: str, prefix: str) -> tuple[str, int, object]:
    """A validation piece -> (dataset name, index, roll (T, 88)); the valid split too."""
    cols = st.columns(2)
    sources = piece_sources(dataset)
    with cols[0]:
        name = control("data", st.selectbox, sources[0], "Pieces from", options=sources,
                       format_func=lambda n: TITLES.get(n, n) + (" (lag 30)" if n == LONG_MEMORY else ""),
                       key=f"{prefix}_data")
    try:
        pieces = cached_dataset(name).splits["valid"]
    except DataError as e:
        st.error(str(e))
        st.stop()
    with cols[1]:
        index = control("piece", st.number_input, 0, "Validation piece", 0, len(pieces) - 1, 0,
                        key=f"{prefix}_piece_{name}")
    index = min(max(int(index), 0), len(pieces) - 1)
    return name, index, pieces[index]


def valid_sample(name: str) -> list:
    """The first validation pieces, up to core.lab's live-validation step count."""
    return validation_pieces(cached_dataset(name).splits["valid"])


def memo(slot: str, key, compute):
    """``compute()``, kept in this session until ``key`` changes (one entry per slot)."""
    held = st.session_state.get(f"memo_{slot}")
    if held is None or held[0] != key:
        held = (key, compute())
        st.session_state[f"memo_{slot}"] = held
    return held[1]
