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


def url_warning() -> None:
    """Say so (in the sidebar, as the Lab does for its settings) when the URL names a language
    GateLab does not speak, ``?lang=kr``: the page falls back to English. Said in every language
    GateLab speaks, since whoever asked for another one may not read English."""
    code = st.query_params.get("lang", text.DEFAULT)
    if code not in LANGS:
        choices = ", ".join(f"{c} ({name})" for c, name in LANGS.items())
        st.sidebar.warning("\n\n".join(text.get(c, "common.url.lang", value=code, choices=choices)
                                        for c in LANGS))


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
