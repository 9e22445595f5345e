"""The language of this page view: ``t("lab.play")`` is "Play" or "재생".

The language comes from the URL (``?lang=ko``), so a link opens in the language it was shared
in; the sidebar switch (``switches()``) rewrites that parameter. The text itself lives in
``app/text/<lang>/`` (see ``app/text/__init__.py``).
"""
import streamlit as st

from app import text
from app.text import LANGS


def lang() -> str:
    """The page's language code (``"en"`` unless the URL names another one GateLab speaks)."""
    code = st.query_params.get("lang", text.DEFAULT)
    return code if code in LANGS else text.DEFAULT


def t(key: str, **values) -> str:
    """The text of ``key`` in the page's language."""
    return text.get(lang(), key, **values)


def table(prefix: str) -> dict[str, str]:
    """Every text under ``prefix`` in the page's language (e.g. ``table("common.models")``)."""
    return text.table(lang(), prefix)


def dataset_title(name: str) -> str:
    """A dataset's name in the page's language (its registry name where the text has none)."""
    return table("common.datasets").get(name, name)


def _set_lang() -> None:
    choice = st.session_state["ui_lang"]
    if choice == text.DEFAULT:
        st.query_params.pop("lang", None)
    else:
        st.query_params["lang"] = choice


def language_switch() -> None:
    """The language selector (sidebar). Its label is in both languages: whoever cannot read
    the current one can still find it."""
    st.session_state["ui_lang"] = lang()
    st.sidebar.selectbox(t("common.language"), list(LANGS), format_func=LANGS.get, key="ui_lang",
                         on_change=_set_lang)
