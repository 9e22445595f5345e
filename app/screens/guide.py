"""How to read the Lab: a page for teachers."""
import streamlit as st

from app.guide import FULL_GUIDE

st.title("How to read GateLab")
st.markdown(FULL_GUIDE)
