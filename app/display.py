"""How pages are shown: projector mode and the one way every chart is drawn.

Projector mode (``?projector=1``, or the sidebar switch) is for a classroom: larger type,
thicker lines, and each page reduced to its essential charts (pages ask ``projector()`` to
leave out the rest), readable at 1280x720 from the back of a room.
"""
import streamlit as st

from app.figures.common import projector_style
from app.i18n import t

FLAG = "projector"
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
# Larger text everywhere, and a page that uses the whole width of a small projector.
PROJECTOR_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, [data-testid="stCaptionContainer"] { font-size: 1.15rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 2.6rem; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem; }
h1 { font-size: 2.4rem !important; }
.block-container { padding-top: 3.5rem; max-width: 100%; }
</style>
"""


def projector() -> bool:
    """True when the page is shown in projector mode."""
    return st.query_params.get(FLAG, "") in ("1", "true", "yes")


def _set_projector() -> None:
    if st.session_state["ui_projector"]:
        st.query_params[FLAG] = "1"
    else:
        st.query_params.pop(FLAG, None)


def projector_switch() -> None:
    """The sidebar switch; its state lives in the URL, so a link opens in the same mode."""
    st.session_state["ui_projector"] = projector()
    st.sidebar.toggle(t("common.projector"), key="ui_projector", on_change=_set_projector,
                      help=t("common.projector_help"))


def apply() -> None:
    """Page-wide styling for the current mode (call once per run, before the page)."""
    if projector():
        st.html(PROJECTOR_CSS)


def chart(fig, key: str | None = None, **kwargs) -> None:
    """Draw a plotly figure: PNG download in its toolbar, Streamlit's theme off (it would be
    re-applied in the browser on every refresh), projector styling when that mode is on."""
    if projector():
        fig = projector_style(fig)
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG, theme=None, **kwargs)
