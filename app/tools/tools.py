"""Gate tools: gate saturation, gate interventions, memory length and an equation stepper, on
the pretrained models or this session's Lab models. The maths is in ``core.insight.analysis`` and
``core.units.teaching_cells``; this page picks, calls and draws.

This script only puts the page's parts in order: the choice of models and piece and the tools
themselves are ``app.tools.views``, their logic and words without widgets ``app.tools.data``.
"""
from functools import partial

import streamlit as st

from app.display import projector
from app.i18n import t
from app.tools.data import TOOLS
from app.tools.views import VIEWS, choose_tool, setup

st.title(t("tools.title"))
if projector():   # the chart first: the choice of models and piece folds away
    with st.expander(t("tools.setup")):
        models, model_key, piece_key, roll = setup()
else:
    st.caption(t("tools.intro"))
    models, model_key, piece_key, roll = setup()
draw = {name: partial(VIEWS[name], models, model_key, piece_key, roll) for name in TOOLS}
only = st.query_params.get("tool")
if only in TOOLS:   # a teacher's link names one tool (?tool=memory)
    st.subheader(t(f"tools.names.{only}"))
    draw[only]()
elif projector():   # one tool at a time
    draw[choose_tool()]()
else:
    for tab, name in zip(st.tabs([t(f"tools.names.{n}") for n in TOOLS]), TOOLS):
        with tab:
            draw[name]()
