"""GateLab's dashboard: ``streamlit run app/streamlit_app.py``.

Pages are registered here; a new page is one ``st.Page`` line in ``PAGES``. Every page shares
the sidebar's language and projector switches (``?lang=ko``, ``?projector=1``).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts app/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import streamlit as st

from app import classroom as board
from app import display, i18n
from app.i18n import t
from app.worker import pool

APP = ROOT / "app"  # each page's script is app/<page>/<page>.py (its file's name is its url_path, as AppTest asks)
# No icons: material-icon favicons are fetched online. A projector link opens with the sidebar
# folded away, so the charts get the whole width of a 1280-pixel screen.
st.set_page_config(page_title="GateLab", layout="wide",
                   initial_sidebar_state="collapsed" if display.projector() else "auto")
PAGES = [
    st.Page(str(APP / "lab" / "lab.py"), title=t("common.pages.lab"), url_path="lab", default=True),
    st.Page(str(APP / "upload" / "upload.py"), title=t("common.pages.upload"), url_path="upload"),
    st.Page(str(APP / "paper" / "paper.py"), title=t("common.pages.paper"), url_path="paper"),
    st.Page(str(APP / "tools" / "tools.py"), title=t("common.pages.tools"), url_path="tools"),
    st.Page(str(APP / "lesson" / "lesson.py"), title=t("common.pages.lesson"), url_path="lesson"),
    st.Page(str(APP / "guide" / "guide.py"), title=t("common.pages.guide"), url_path="guide"),
    # The teacher's class board: in no page menu; without its key it shows no session data.
    st.Page(str(APP / "board" / "board.py"), title=t("common.pages.board"), url_path="board", visibility="hidden"),
]

pool().zygote()  # once per server: the workers' warm parent starts while the first page draws
# Started without app.serve (which says it at start): where the class board is, once, in the log.
board.announce(board.local_base(st.get_option("server.port"), st.get_option("server.baseUrlPath")), sys.stderr)

# Teacher mode (app/choosers.py): a ?teacher=1 link opens one page, without the page menu.
teacher = st.query_params.get("teacher", "") in ("1", "true", "yes")
page = st.navigation(PAGES, position="hidden" if teacher else "sidebar")
if not teacher:
    i18n.language_switch()
    display.projector_switch()
i18n.url_warning()  # teacher links too: the Lab's sidebar reports its bad URL values in both modes
display.apply()
page.run()
