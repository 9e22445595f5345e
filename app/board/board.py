"""The class board (``/board?key=K``): every student's Lab on this server, live, for the teacher's
projector. Without the right key: a message, and no session data at all."""
import streamlit as st

from app import classroom as board
from app import display
from app.board import views as board_views
from app.i18n import t

st.title(t("board.title"))
if not board_views.unlocked():
    st.warning(t("board.locked"))
    st.stop()
if not display.projector():  # a projector shows the class, not how to use the page
    st.caption(t("board.caption"))
if board.replica():
    st.info(t("board.replica", replica=board.replica()))
board_views.live_board()
