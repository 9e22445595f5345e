"""What the teaching pages share: which models to look at (the shipped pretrained ones or this
session's Lab models, as on the "Your own music" page), which piece, small per-session caches,
and teacher mode (``app.teacher``, re-exported here).

"""
import streamlit as st

from app import model_files, session
from app.figures.common import model_name
from app.figures.loss import Y_VIEWS as LOSS_Y
from app.i18n import dataset_title, t, table
from app.teacher import control, is_hidden, labels
from core.lab import validation_pieces
from core.music.data import DataError, available_datasets, load_dataset
from core.training.checkpoint import CheckpointError
from core.training.settings import MAX_LAB_MODELS
from core.units import ALL_ARCHS, ARCHS, UNITS

SOURCES = ("shipped", "lab", "file")  # where models come from; their names are tools.models.sources.*
LONG_MEMORY = "long-memory"
LAB_WEIGHTS = "tools_lab_weights"  # session key: the Lab's weights as last taken


# -- models --------------------------------------------------------------------------------------

def lab_weights(key: str) -> dict | None:
    """This session's Lab weights: taken once, and again when the user asks (``key`` button)."""
    fresh = False
    if not is_hidden("take"):
        fresh = st.button(t("tools.models.take"), key=key, help=t("tools.models.take_help"))
    if fresh or LAB_WEIGHTS not in st.session_state:
        weights = session.trained_weights()
        if weights:
            st.session_state[LAB_WEIGHTS] = weights
    return st.session_state.get(LAB_WEIGHTS)


def linked_set(sets: dict, order: list) -> tuple:
    """The set a page opens on: the first of ``order`` that holds most of the units a link names
    (``models=lstm,lstm-nfg``: only the JSB paper set holds units taken apart), else the first."""
    asked = set((st.query_params.get("models") or "").split(","))
    return max(order, key=lambda k: len(asked & set(sets[k]["names"])))


def choose_models(prefix: str) -> tuple[dict, tuple, str, str]:
    """Pick the models -> (arch -> model, a key naming them, their dataset name, a label)."""
    source = control("source", st.radio, "shipped", t("tools.models.label"), options=list(SOURCES),
                     format_func=labels("tools.models.sources", SOURCES).get, horizontal=True,
                     key=f"{prefix}_source")
    if source == "file":  # a checkpoint (app/model_files.py): one model
        chosen = model_files.checkpoint_choice()
        if chosen is None:
            st.stop()
        return chosen
    if source == "lab":
        weights = lab_weights(f"{prefix}_take")
        if not weights:
            st.info(t("tools.models.none_trained"))
            st.stop()
        first = next(iter(weights.values()))
        label = t("tools.models.lab", updates=", ".join(
            t("tools.models.lab_updates", model=model_name(a), n=w["updates"]) for a, w in weights.items()))
        updates = tuple(w["updates"] for w in weights.values())
        return model_files.lab_models(weights), ("lab", *updates), first["settings"]["dataset"], label
    try:
        sets = model_files.shipped_sets()
        ready = set(available_datasets())
        # Sets whose pieces load here come first, so an offline classroom opens on one that works.
        names = sorted(sets, key=lambda k: k[0] not in ready)
        choice = control("set", st.selectbox, linked_set(sets, names), t("tools.models.set"), options=names,
                         format_func={k: t("tools.models.set_option", dataset=dataset_title(k[0]),
                                           variant=variant_name(k[1])) for k in names}.get,
                         key=f"{prefix}_set")
        names = sets[choice]["names"]
        archs = choose_units(list(names), f"{prefix}_units_{choice}")
        models = model_files.shipped_models({a: names[a] for a in archs})
    except CheckpointError as e:
        st.error(t("tools.models.unusable", error=e))
        st.stop()
    label = t("tools.models.shipped", dataset=dataset_title(choice[0]), variant=variant_name(choice[1]))
    return models, ("shipped", *choice, *archs), choice[0], label


# -- units: a pretrained set with units taken apart -----------------------------------------------

def unit_order(archs) -> list[str]:
    """``archs`` grouped under their unit: each of the paper's three, then the units taken
    from it (``core.units.registry``: ``family_of``), in the registry's order; units whose
    family is not among ``archs`` still come after it."""
    by_family = {f: [a for a in ALL_ARCHS if a in archs and UNITS[a].base == f] for f in ARCHS}
    return [a for f in ARCHS for a in by_family[f]]


def unit_label(arch: str) -> str:
    """"LSTM", or for a unit taken apart "LSTM › LSTM-NFG: no forget gate" (its family, its
    name, its change), in the page's language."""
    if not UNITS[arch].family:
        return model_name(arch)
    return t("tools.models.taken_apart", family=model_name(UNITS[arch].family), model=model_name(arch),
             change=t(f"paper.ablation.changes.{arch}"))


def default_units(archs: list[str]) -> list[str]:
    """What a set opens with: its paper's three where it has them, else its first units."""
    three = [a for a in archs if a in ARCHS]
    return three or archs[:MAX_LAB_MODELS]


def url_units(raw: str | None, archs: list[str]) -> list[str] | None:
    """The units a link names (``models=lstm,lstm-nfg``) among ``archs``, in the set's order;
    None when it names none of them."""
    named = {s.strip() for s in (raw or "").split(",")}
    chosen = [a for a in archs if a in named][:MAX_LAB_MODELS]
    return chosen or None


def choose_units(archs: list[str], key: str) -> list[str]:
    """The units of a pretrained set to apply: a set of the paper's three alone applies them all;
    a set with units taken apart offers each, grouped under its unit (``unit_order``), the three
    by default. A link's ``models=`` sets the choice (hidden) or where it starts (shown)."""
    archs = unit_order(archs)
    if all(a in ARCHS for a in archs):
        return archs
    start = url_units(st.query_params.get("models"), archs) or default_units(archs)
    if is_hidden("models"):
        return start
    labels = {a: unit_label(a) for a in archs}
    chosen = st.multiselect(t("tools.models.units"), archs, default=start, format_func=labels.get,
                            max_selections=MAX_LAB_MODELS, key=key, help=t("tools.models.units_help"))
    if not chosen:
        st.info(t("tools.models.no_units"))
        st.stop()
    return unit_order(chosen)


# -- pieces --------------------------------------------------------------------------------------



def variant_name(variant: str) -> str:
    """"paper" / "torch" in the page's language."""
    return t(f"tools.variants.{variant}")


@st.cache_resource(show_spinner=False)
def _load(name: str):
    return load_dataset(name)


def cached_dataset(name: str):
    """A dataset by name (immutable, shared between sessions)."""
    with st.spinner(t("tools.pieces.loading")):   # the spinner speaks the page's language
        return _load(name)


def piece_sources(dataset: str) -> list[str]:
    return [dataset, LONG_MEMORY] if dataset not in ("midi", LONG_MEMORY) else [LONG_MEMORY]


def choose_piece(dataset: str, prefix: str) -> tuple[str, int, object]:
    """A validation piece -> (dataset name, index, roll (T, 88)); the valid split too."""
    cols = st.columns(2)
    sources = piece_sources(dataset)
    with cols[0]:
        name = control("data", st.selectbox, sources[0], t("tools.pieces.source"), options=sources,
                       format_func={n: dataset_title(n) for n in sources}.get, key=f"{prefix}_data")
    try:
        pieces = cached_dataset(name).splits["valid"]
    except DataError as e:
        st.error(str(e))
        st.stop()
    with cols[1]:
        index = control("piece", st.number_input, 0, t("tools.pieces.piece"), 0, len(pieces) - 1, 0,
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


def loss_y_choice(key: str) -> str:
    """The loss chart's y range: the recent part of the curves (default) or the whole history
    (``app.figures.loss.loss_figure``'s ``y_view``), kept in the session under ``key``; in
    teacher mode no widget, the URL's ``loss_y`` (``app.teacher``)."""
    return control("loss_y", st.radio, LOSS_Y[0], t("lab.loss.y"), options=list(LOSS_Y),
                   format_func=table("lab.loss.ranges").get, horizontal=True, key=key,
                   help=t("lab.loss.y_help"))
