"""How to read the Lab: a page for teachers."""
import streamlit as st

from app.guide_text import full_guide
from app.i18n import lang, t

st.title(t("guide.title"))
st.markdown(full_guide(lang()))
