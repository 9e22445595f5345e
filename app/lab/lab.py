"""The Lab: tanh RNN, GRU and LSTM (or up to six units, the ones taken apart included) learn the
same music side by side, gates and states in view.

A projector shows the transport, the metrics, the loss chart and the gates; teacher mode
(``?teacher=1``) keeps the URL's settings and hides their widgets (``app/lab/controls.py``).
"""
import streamlit as st

from app import display, model_files, session
from app.equations import READOUT, highlighted, note
from app.figures.common import model_name
from app.guide_text import short_guide
from app.i18n import lang, t
from app.lab import controls, views
from core.lab.protocol import too_large
from core.units import family_of

projector = display.projector()
st.title(t("lab.title"))
if not projector:
    st.caption(t("lab.caption"))

controls.name_field()  # the name the teacher's class board shows (memory only)
settings = controls.settings_sidebar()
over = too_large(settings.to_dict())  # whole pieces (truncate 0): the worker checks their length
if over:
    st.error(t("lab.limits.too_large", **over))
    st.stop()
if settings.dataset != controls.UPLOAD:
    session.ensure_worker(settings.to_dict())
else:
    dataset, dataset_key = controls.uploaded_dataset()
    if dataset is not None:
        session.ensure_worker(settings.to_dict(), dataset, dataset_key)
    elif not session.has_settings():
        st.stop()  # nothing to train on yet: the sidebar says what to upload

if session.full_notice():
    st.stop()
if not controls.hidden():
    views.chart_options()
views.live_numbers()
if not projector:
    views.downloads()
    model_files.lab_downloads()
st.divider()
views.live_views()
if projector:
    st.stop()

with st.expander(t("equations.title"), expanded=False):
    for arch in settings.archs:
        st.markdown(f"**{model_name(arch)}** — {note(arch, settings.variant, lang())}")
        lines = highlighted(arch, settings.variant)
        for line, _ in lines:
            st.latex(line)
        if any(changed for _, changed in lines):  # a unit taken apart: what it changed, highlighted
            st.caption(t("equations.changed", model=model_name(arch), base=model_name(family_of(arch))))
    st.markdown(t("equations.all_three"))
    for line in READOUT:
        st.latex(line)
    st.caption(t("equations.readout"))

with st.expander(t("guide.expander")):
    st.markdown(short_guide(lang()))
