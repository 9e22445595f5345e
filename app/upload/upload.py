"""Your own music: upload a MIDI file and see how each unit processes it, with the shipped
pretrained models (at once) or the models trained in this session on the Lab page.

This script only puts the page's parts in order: the choices are ``app.upload.inputs``, the
charts and actions ``app.upload.views``, the logic and words without widgets ``app.upload.data``.
"""
import os

import streamlit as st

from app import model_files
from app.display import projector
from app.i18n import t
from app.upload import data as up
from app.upload.inputs import choose_file, choose_models, choose_resolution, read_piece, traces_for, window_controls
from app.upload.views import downloads, sampling, show_overview, show_piece, show_views

# Projector mode keeps the piano roll, the gates and the NLL overview: no long captions, audio,
# downloads or sampling.
st.title(t("upload.title"))
if not projector():
    st.caption(t("upload.intro"))
models, model_key, default_spb, label = choose_models()
if not projector():
    st.caption(t("upload.applying", label=label))
spb = choose_resolution(default_spb)
uploaded = choose_file()
piece = read_piece(uploaded, float(spb))
stem = os.path.splitext(uploaded.name)[0] or "piece"
tempo = up.steady_tempo(piece.step_times, spb)
traces = traces_for(models, model_key, piece.roll)
start, stop, cursor = window_controls(len(piece.roll))
window = None if stop - start == len(piece.roll) else (start, stop - 1)  # shade only a part
show_piece(uploaded.name, piece, spb, tempo, window)
show_overview(traces, window, cursor)
show_views(traces, piece.roll, start, stop, cursor)
if not projector():
    downloads(traces, piece.step_times, stem)
    if model_key[0] != "file":  # the shipped set or the Lab's models, as checkpoints (a file is the user's own)
        model_files.model_downloads(lambda: models, "up_files")
    sampling(models, model_key, piece.roll, stop, spb, tempo, stem)
