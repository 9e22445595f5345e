"""The Lab's settings widgets: one ``LabSettings``, each field a widget and a URL parameter.

The URL is read once per session (a shared link reproduces a setup) and rewritten on every
run, so the address bar always describes what is training. The units are chosen in one
multiselect per group (``ARCH_GROUPS``): the paper's three, then the units taken apart from
each of them (``?archs=lstm,lstm-nfg,mgu`` fills the three); more than ``MAX_LAB_MODELS`` is
said and kept in the widgets (nothing is lost) while the models before the change train on.
Teacher mode (``?teacher=1`` or ``?hide=settings``, see ``app/teacher.py``) hides the widgets: the URL's settings stay.
"""
from dataclasses import asdict, fields

import streamlit as st

from app import classroom as board
from app import session, teacher
from app.figures.common import model_name
from app.i18n import dataset_title, t, table
from app.teacher import control
from app.worker import pool
from core.music.data import BUILTIN_DATASETS, available_datasets, dataset_choices, dataset_from_midi
from core.music.midi import MAX_MIDI_FILES, MidiError, upload_limit_mb
from core.music.rolls import DataError
from core.training.settings import MAX_LAB_MODELS, OPTIMIZERS, LabSettings
from core.units import ALL_ARCHS, ARCHS, UNITS, VARIANT_ARCHS, family_of
from core.units.spec import VARIANTS

PREFIX = "setting_"  # widget keys: setting_<field>
# field -> (min, max, step, format) of its number input; URL values are clamped into these
NUMBERS = {
    "budget": (500, 500_000, 1000, None),
    "lr": (1e-8, 1e40, 1e-4, "%.4g"),
    "clip": (0.0, 1000.0, 0.5, None),
    "weight_noise": (0.0, 1.0, 0.025, "%.3f"),
    "batch_size": (1, 512, 1, None),
    "truncate": (0, 5000, 50, None),
    "seed": (0, 2**31 - 1, 1, None),
    "eval_every": (1, 10_000, 1, None),
}
HELP = ("budget", "lr", "eval_every")  # the fields with a help text (lab.help.<field>)
CHOICES = {"archs": ALL_ARCHS, "variant": VARIANTS, "optimizer": OPTIMIZERS}
# The units' choosers: widget key suffix -> its options. The paper's three (setting_archs), then
# the units taken apart, one multiselect per unit they were taken from, in the order of the models'
# columns (setting_archs_lstm: the LSTM's variants; setting_archs_gru: the MGU), labelled
# lab.units.<arch> under lab.settings.taken_apart.
ARCH_GROUPS = {"archs": ARCHS, **{f"archs_{base}": tuple(a for a in VARIANT_ARCHS if family_of(a) == base)
                                  for base in dict.fromkeys(family_of(a) for a in VARIANT_ARCHS)}}
UPLOAD = "midi"  # the data registry's name for the user's own MIDI files


def hidden() -> bool:
    """True when the URL hides the Lab's settings (teacher mode)."""
    return teacher.is_hidden("settings")


def dataset_options() -> dict[str, str]:
    """name -> label of every dataset the Lab offers (``core.music.data.dataset_choices``), in the
    page's language, marked as offline or as downloading on first use."""
    local = set(available_datasets())

    def label(name: str) -> str:
        title = t("lab.datasets.midi") if name == UPLOAD else dataset_title(name)
        if name in BUILTIN_DATASETS:
            return t("lab.datasets.offline", title=title)
        return title if name in local or name == UPLOAD else t("lab.datasets.download", title=title)
    return {name: label(name) for name in [*dataset_choices(), UPLOAD]}


def url_archs(raw: str) -> tuple[list[str], list[str]]:
    """The units a URL's ``archs`` names, as (known ones in the choosers' order, unknown ones as written)."""
    named = [a.strip() for a in str(raw).split(",") if a.strip()]
    return [a for a in ALL_ARCHS if a in named], [a for a in dict.fromkeys(named) if a not in UNITS]


def _url_problem(name: str, value: str) -> tuple[str, dict]:
    """(text key, values) for one URL setting ``LabSettings.from_params`` ignored: kept as a key,
    so a later switch of language rewords it."""
    if name == "archs":
        known, unknown = url_archs(value)
        if unknown:
            return "lab.url.archs_unknown", {"value": value, "unknown": ", ".join(unknown),
                                             "choices": ", ".join(ALL_ARCHS)}
        if len(known) > MAX_LAB_MODELS:
            return "lab.url.archs_too_many", {"value": value, "n": len(known), "limit": MAX_LAB_MODELS,
                                              "extra": len(known) - MAX_LAB_MODELS}
    if name in CHOICES:
        return "lab.url.choices", {"name": name, "value": value, "choices": ", ".join(CHOICES[name])}
    return "lab.url.ignored", {"name": name, "value": value}


def _url_problems(params: dict, ignored) -> list[tuple[str, dict]]:
    return [_url_problem(name, params[name]) for name in ignored]


def load_url_once() -> None:
    """Read the URL's settings at the start of a session into ``url_settings``: the widgets'
    starting values (and the values of hidden ones)."""
    if st.session_state.get("url_loaded"):
        return
    params = st.query_params.to_dict()
    settings, ignored = LabSettings.from_params(params)
    problems = _url_problems(params, ignored)
    if settings.dataset not in {*dataset_choices(), UPLOAD}:
        problems.append(("lab.url.dataset", {"value": settings.dataset, "default": LabSettings.dataset}))
        settings.dataset = LabSettings.dataset
    start = {}
    for name, value in asdict(settings).items():
        if name in NUMBERS:
            low, high = NUMBERS[name][:2]
            if not low <= value <= high:
                used = min(max(value, low), high)
                limits = {"low": f"{low:g}", "high": f"{high:g}", "used": f"{used:g}"}
                problems.append(("lab.url.clamped", {"name": name, "value": f"{value:g}", **limits}))
                value = used
        start[name] = list(value) if name == "archs" else value
    known, unknown = url_archs(params.get("archs", ""))
    if "archs" in ignored and not unknown and len(known) > MAX_LAB_MODELS:
        start["archs"] = known  # all of them in the choosers: the user removes some, nothing is lost
    st.session_state["url_settings"] = start
    st.session_state["url_problems"] = problems
    st.session_state["url_loaded"] = True


def _widgets() -> dict:
    """Draw the widgets (in the sidebar) and return their values by field name.

    Each widget's default is the setting's current value, never set through the Session State
    API: a browser whose widget state falls back to the default (a fragment's refresh can cut
    the session's first run short) then holds the right value, not the widget's minimum."""
    k, datasets, now = PREFIX, dataset_options(), _values()
    st.selectbox(t("lab.settings.dataset"), list(datasets), format_func=datasets.get, key=k + "dataset",
                 index=list(datasets).index(now["dataset"]) if now["dataset"] in datasets else 0)
    units = table("lab.units")  # fixed now: a format_func may be called outside this run (AppTest)
    for group, options in ARCH_GROUPS.items():
        chosen = [a for a in now["archs"] if a in options]
        if group == "archs":
            st.multiselect(t("lab.settings.archs"), options, format_func=model_name, key=k + group,
                           default=chosen, help=t("lab.settings.archs_help", limit=MAX_LAB_MODELS))
        else:
            base = model_name(family_of(options[0]))
            st.multiselect(t("lab.settings.taken_apart", unit=base), options, format_func=units.get,
                           key=k + group, default=chosen, placeholder=t("lab.settings.taken_apart_none"),
                           help=t("lab.settings.taken_apart_help", unit=base))
    st.radio(t("lab.settings.variant"), VARIANTS, format_func=table("lab.variants").get,
             key=k + "variant", index=VARIANTS.index(now["variant"]))
    for name, (low, high, step, fmt) in NUMBERS.items():
        st.number_input(t(f"lab.labels.{name}"), low, high, now[name], step=step, format=fmt, key=k + name,
                        help=t(f"lab.help.{name}") if name in HELP else None)
        if name == "budget":
            st.selectbox(t("lab.settings.optimizer"), OPTIMIZERS, key=k + "optimizer",
                         index=OPTIMIZERS.index(now["optimizer"]), format_func=table("lab.optimizers").get)
        if name == "truncate":
            st.toggle(t("lab.settings.carry_state"), now["carry_state"], key=k + "carry_state",
                      help=t("lab.help.carry_state"))
            st.toggle(t("lab.settings.reshuffle"), now["reshuffle"], key=k + "reshuffle",
                      help=t("lab.help.reshuffle"))
    return _values()


def _values() -> dict:
    """The settings' current values by field name: the widgets', or the URL's before they are
    drawn or when they are hidden."""
    start = st.session_state["url_settings"]
    values = {f.name: st.session_state.get(PREFIX + f.name, start[f.name]) for f in fields(LabSettings)}
    chosen = {a for group, options in ARCH_GROUPS.items()
              for a in st.session_state.get(PREFIX + group, [u for u in start["archs"] if u in options])}
    values["archs"] = [a for a in ALL_ARCHS if a in chosen]  # the groups' units, in the choosers' order
    return values


def settings_sidebar() -> LabSettings:
    """The current settings; invalid widget values keep the last good settings (and say so).
    In teacher mode the sidebar shows a note instead of the widgets."""
    load_url_once()
    with st.sidebar:
        if hidden():
            st.caption(t("lab.settings.teacher_note"))
        else:
            st.header(t("lab.settings.header"))
            st.caption(t("lab.settings.caption"))
        for key, values in st.session_state.get("url_problems", []):
            st.warning(t(key, **values))
        values = _values() if hidden() else _widgets()
        n = len(values["archs"])
        if n > MAX_LAB_MODELS:  # said in the page's language; the widgets keep every choice
            st.error(t("lab.settings.too_many", n=n, limit=MAX_LAB_MODELS, extra=n - MAX_LAB_MODELS))
            settings = st.session_state.get("good_settings", LabSettings())
        else:
            try:
                settings = LabSettings(**{**values, "archs": tuple(values["archs"])})
                st.session_state["good_settings"] = settings
            except ValueError as e:  # the only other one the widgets allow: no unit chosen
                st.error(t("lab.settings.invalid", error=e) if n else t("lab.settings.no_archs"))
                settings = st.session_state.get("good_settings", LabSettings())
        if not hidden():
            _model_sizes(settings)
    st.query_params.update(settings.to_params())
    return settings


def _model_sizes(settings: LabSettings) -> None:
    lines = ["- " + t("lab.settings.size_line", model=model_name(s.arch), units=s.units,
                      params=f"{s.n_params:,}") for s in settings.specs()]
    st.markdown(t("lab.settings.sizes") + "\n" + "\n".join(lines))


def uploaded_dataset():
    """(Dataset, key) from MIDI files uploaded in the sidebar, or (None, "") with the reason
    shown when there is nothing usable yet."""
    with st.sidebar:
        generation = st.session_state.get("lab_upload_generation", 0)
        files = st.file_uploader(t("lab.upload.files"), type=["mid", "midi"], accept_multiple_files=True,
                                 max_upload_size=upload_limit_mb(), key=f"lab_upload_{generation}")
        refused = st.session_state.pop("lab_upload_refused", None)
        if refused:
            st.error(t("lab.upload.too_many", n=refused, limit=MAX_MIDI_FILES))
        if not files:
            st.info(t("lab.upload.prompt"))
            return None, ""
        if len(files) > MAX_MIDI_FILES:
            # a new uploader: the refused files are no longer any widget's, and Streamlit frees them
            st.session_state["lab_upload_generation"] = generation + 1
            st.session_state["lab_upload_refused"] = len(files)
            st.rerun()
        try:
            dataset = dataset_from_midi([(f.name, f.getvalue()) for f in files])
        except MidiError as e:  # core's message (English) names the file: shown as the detail
            reasons = table("lab.upload.reasons")
            st.error(t("lab.upload.error", reason=reasons.get(e.kind, reasons["other"])))
            st.caption(t("lab.upload.detail", detail=e))
            return None, ""
        except DataError as e:
            st.error(str(e))
            return None, ""
        return dataset, "|".join(f"{f.name}:{f.size}" for f in files)


NAME_KEY = "student_name"  # the name field's widget key


def name_field() -> None:
    """The Lab sidebar's name field (default "Student N"), taken from ``?name=`` at first; the
    name goes to this server's memory (``board.ROSTER``) and the address bar, nowhere else.
    Hidden by teacher mode and projector mode: the URL's name is used then."""
    sid = session.session_id()
    number = board.ROSTER.student(sid).number
    from_url = board.clean_name(st.query_params.get("name", ""))
    with st.sidebar:
        typed = control("name", st.text_input, from_url, t("board.name.label"), value=from_url,
                        max_chars=board.NAME_MAX, placeholder=t("board.student", n=number), key=NAME_KEY,
                        help=t("board.name.help"), essential=False)
    name = board.clean_name(typed)
    board.ROSTER.enroll(sid, name, open_ids=pool().sessions())
    if name != from_url and NAME_KEY in st.session_state:  # typed: a reload keeps it
        if name:
            st.query_params["name"] = name
        else:
            st.query_params.pop("name", None)
