"""GateLab's dashboard: ``streamlit run app/streamlit_app.py``.

Pages are registered here; a new page is one ``st.Page`` line in ``PAGES``.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts app/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

PAGES = [
    st.Page(str(ROOT / "app" / "screens" / "lab.py"), title="Lab", default=True),
    st.Page(str(ROOT / "app" / "screens" / "upload.py"), title="Your own music"),
    st.Page(str(ROOT / "app" / "screens" / "paper.py"), title="The paper"),
    st.Page(str(ROOT / "app" / "screens" / "tools.py"), title="Gate tools", url_path="tools"),
    st.Page(str(ROOT / "app" / "screens" / "lesson.py"), title="Lesson: long memory", url_path="lesson"),
    st.Page(str(ROOT / "app" / "screens" / "guide.py"), title="How to read this"),
]

st.set_page_config(page_title="GateLab", layout="wide")  # no icons: material-icon favicons are fetched online
# Teacher mode (app/teaching.py): a ?teacher=1 link opens one page, without the page menu.
teacher = st.query_params.get("teacher", "") in ("1", "true", "yes")
st.navigation(PAGES, position="hidden" if teacher else "sidebar").run()
