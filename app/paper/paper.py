"""The Paper page: Table 2 and Figure 2 of Chung et al. 2014, reproduced by GateLab's core.

Projector mode keeps the table and the curves; the long text and the rerun section stay out.
This script only puts the page's parts in order: the parts are ``app.paper.views``, their words
``app.paper.words``, the results and the rerun ``app.paper.results``.
"""
import streamlit as st

from app.display import projector
from app.i18n import t
from app.paper import views

st.title(t("paper.title"))
if not projector():
    st.markdown(t("paper.intro"))
protocol = views.choose_protocol()
rows, curves = views.committed(protocol)
views.show_table(rows)
views.show_unfinished(rows)
if not projector():
    views.download(protocol)
    if protocol == "paper":   # the field's RNNs were compared under the paper's protocol only
        views.show_field(rows)
    views.show_seeds(protocol)
    if protocol == "paper":   # the paper's own equations too
        views.show_units()
    views.show_costs(protocol)
views.show_curves(curves)
views.show_ablation()
if not projector():
    views.rerun_section(protocol)
