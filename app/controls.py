"""The Lab's settings widgets: one ``LabSettings``, each field a widget and a URL parameter.

The URL is read once per session (a shared link reproduces a setup) and rewritten on every
run, so the address bar always describes what is training.
"""
from dataclasses import asdict, fields

import streamlit as st

from app.figures.common import model_name
from core.data import DataError, dataset_from_midi
from core.lab import LabSettings, dataset_choices
from core.midi import MidiError
from core.models import ARCHS, VARIANTS
from core.train import OPTIMIZERS

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
LABELS = {
    "budget": "Parameter budget (per model)", "lr": "Learning rate",
    "clip": "Gradient clipping: max norm (0 = off)", "weight_noise": "Weight noise: std (paper: 0.075)",
    "batch_size": "Batch size (sequences)", "truncate": "Chunk length in steps (0 = whole pieces)",
    "seed": "Seed", "eval_every": "Validate every N updates",
}
UPLOAD = "midi"  # the data registry's name for the user's own MIDI files
VARIANT_LABELS = {"torch": "torch (PyTorch's equations)", "paper": "paper (Chung et al. 2014)"}


HELP = {"budget": "Each model gets the number of units whose parameter count is closest.",
        "lr": "Too large and training diverges: the page says so and undoes the bad update.",
        "eval_every": "Validation NLL is computed every N updates of every model."}


def load_url_once() -> None:
    """Copy the URL's settings into the widgets at the start of a session."""
    if st.session_state.get("url_loaded"):
        return
    settings, problems = LabSettings.from_params(st.query_params.to_dict())
    if settings.dataset not in {**dataset_choices(), UPLOAD: ""}:
        problems.append(f"URL parameter dataset={settings.dataset!r} is not a dataset here; "
                        f"{LabSettings.dataset!r} is used.")
        settings.dataset = LabSettings.dataset
    for name, value in asdict(settings).items():
        if name in NUMBERS:
            low, high = NUMBERS[name][:2]
            if not low <= value <= high:
                problems.append(f"URL parameter {name}={value:g} is outside {low:g} .. {high:g}; "
                                f"{min(max(value, low), high):g} is used.")
                value = min(max(value, low), high)
        st.session_state[PREFIX + name] = list(value) if name == "archs" else value
    st.session_state["url_problems"] = problems
    st.session_state["url_loaded"] = True


def _widgets() -> dict:
    """Draw the widgets (in the sidebar) and return their values by field name."""
    choices = {**dataset_choices(), UPLOAD: "Your MIDI files (upload)"}
    k = PREFIX
    st.selectbox("Dataset", list(choices), format_func=choices.get, key=k + "dataset")
    st.multiselect("Architectures", ARCHS, format_func=model_name, key=k + "archs")
    st.radio("Equations", VARIANTS, format_func=VARIANT_LABELS.get, key=k + "variant")
    for name, (low, high, step, fmt) in NUMBERS.items():
        st.number_input(LABELS[name], low, high, step=step, format=fmt, key=k + name,
                        help=HELP.get(name))
        if name == "budget":
            st.selectbox("Optimizer", OPTIMIZERS, key=k + "optimizer",
                         format_func=lambda o: {"adam": "Adam", "rmsprop": "RMSProp (the paper's)"}[o])
    return {f.name: st.session_state[k + f.name] for f in fields(LabSettings)}


def settings_sidebar() -> LabSettings:
    """The current settings; invalid widget values keep the last good settings (and say so)."""
    load_url_once()
    with st.sidebar:
        st.header("Settings")
        st.caption("Any change starts the models afresh. The address bar holds these settings: "
                   "share it to reproduce this setup.")
        for problem in st.session_state.get("url_problems", []):
            st.warning(problem)
        values = _widgets()
        try:
            settings = LabSettings(**{**values, "archs": tuple(values["archs"])})
            st.session_state["good_settings"] = settings
        except ValueError as e:
            st.error(f"{e}: the previous settings stay in use.")
            settings = st.session_state.get("good_settings", LabSettings())
        _model_sizes(settings)
    st.query_params.update(settings.to_params())
    return settings


def _model_sizes(settings: LabSettings) -> None:
    lines = [f"- **{model_name(s.arch)}**: {s.units} units, {s.n_params:,} parameters"
             for s in settings.specs()]
    st.markdown("Model sizes for this budget:\n" + "\n".join(lines))


def uploaded_dataset():
    """(Dataset, key) from MIDI files uploaded in the sidebar, or (None, "") with the reason
    shown when there is nothing usable yet."""
    with st.sidebar:
        files = st.file_uploader("MIDI files (.mid)", type=["mid", "midi"], accept_multiple_files=True)
        if not files:
            st.info("Upload a few MIDI files to train on them; they are split into "
                    "train / valid / test.")
            return None, ""
        try:
            dataset = dataset_from_midi([(f.name, f.getvalue()) for f in files])
        except (DataError, MidiError) as e:
            st.error(str(e))
            return None, ""
        return dataset, "|".join(f"{f.name}:{f.size}" for f in files)
