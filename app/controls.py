"""The Lab's settings widgets: one ``LabSettings``, each field a widget and a URL parameter.

The URL is read once per session (a shared link reproduces a setup) and rewritten on every
run, so the address bar always describes what is training.
"""
from dataclasses import asdict, fields

import streamlit as st

from app.figures.common import model_name
from core.lab import LabSettings, dataset_choices
from core.models import ARCHS, VARIANTS
from core.train import OPTIMIZERS

PREFIX = "setting_"  # widget keys: setting_<field>
UPLOAD = "upload"
VARIANT_LABELS = {"torch": "torch (PyTorch's equations)", "paper": "paper (Chung et al. 2014)"}


def load_url_once() -> None:
    """Copy the URL's settings into the widgets at the start of a session."""
    if st.session_state.get("url_loaded"):
        return
    settings, problems = LabSettings.from_params(st.query_params.to_dict())
    for name, value in asdict(settings).items():
        st.session_state[PREFIX + name] = list(value) if name == "archs" else value
    st.session_state["url_problems"] = problems
    st.session_state["url_loaded"] = True


def _widgets() -> dict:
    """Draw the widgets (in the sidebar) and return their values by field name."""
    choices = {**dataset_choices(), UPLOAD: "Uploaded MIDI files"}
    k = PREFIX
    st.selectbox("Dataset", list(choices), format_func=choices.get, key=k + "dataset")
    st.multiselect("Architectures", ARCHS, format_func=model_name, key=k + "archs")
    st.radio("Equations", VARIANTS, format_func=VARIANT_LABELS.get, key=k + "variant")
    st.number_input("Parameter budget (per model)", 500, 500_000, step=1000, key=k + "budget",
                    help="Each model gets the number of units whose parameter count is closest.")
    st.selectbox("Optimizer", OPTIMIZERS, key=k + "optimizer",
                 format_func=lambda o: {"adam": "Adam", "rmsprop": "RMSProp (the paper's)"}[o])
    st.number_input("Learning rate", 1e-6, 100.0, step=1e-4, format="%.4g", key=k + "lr")
    st.number_input("Gradient clipping: max norm (0 = off)", 0.0, 1000.0, step=0.5, key=k + "clip")
    st.number_input("Weight noise: std (paper: 0.075)", 0.0, 1.0, step=0.025, format="%.3f",
                    key=k + "weight_noise")
    st.number_input("Batch size (sequences)", 1, 512, step=1, key=k + "batch_size")
    st.number_input("Chunk length in steps (0 = whole pieces)", 0, 5000, step=50, key=k + "truncate")
    st.number_input("Seed", 0, 2**31 - 1, step=1, key=k + "seed")
    st.number_input("Validate every N updates", 1, 10_000, step=1, key=k + "eval_every")
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
            from core.data import DataError, dataset_from_midi
        except ImportError:
            st.error("Reading MIDI files needs the data module (core.data), which is missing.")
            return None, ""
        try:
            dataset = dataset_from_midi([(f.name, f.getvalue()) for f in files])
        except DataError as e:
            st.error(str(e))
            return None, ""
        return dataset, "|".join(f"{f.name}:{f.size}" for f in files)
