"""The Lab: tanh RNN, GRU and LSTM learn the same music side by side, gates and states in view."""
import streamlit as st

from app import session

session.start_worker()  # first: the worker's start overlaps the rest of this page

from app import controls, views  # noqa: E402  (imports torch: after the worker's start)
from app.equations import READOUT, equations, note  # noqa: E402
from app.figures.common import model_name  # noqa: E402
from app.guide import SHORT_GUIDE  # noqa: E402

st.title("GateLab: the Lab")
st.caption("Three recurrent units learn to predict the next frame of piano music from the same "
           "batches, with about the same number of parameters (Chung et al. 2014).")

settings = controls.settings_sidebar()
if settings.dataset != controls.UPLOAD:
    session.ensure_worker(settings.to_dict())
else:
    dataset, dataset_key = controls.uploaded_dataset()
    if dataset is not None:
        session.ensure_worker(settings.to_dict(), dataset, dataset_key)
    elif not session.has_settings():
        st.stop()  # nothing to train on yet: the sidebar says what to upload

views.chart_options()
views.live_numbers()
views.downloads()
st.divider()
views.live_views()

with st.expander("Equations of each unit, as trained here", expanded=False):
    for arch in settings.archs:
        st.markdown(f"**{model_name(arch)}** — {note(arch, settings.variant)}")
        for line in equations(arch, settings.variant):
            st.latex(line)
    st.markdown("**All three** read the previous frame and predict the next one:")
    for line in READOUT:
        st.latex(line)

with st.expander("How to read this (for teachers)"):
    st.markdown(SHORT_GUIDE)
