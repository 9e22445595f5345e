"""Every piece of GateLab's interface text, in each language the app speaks.

The words live in ``app/text/<lang>/<part>.toml``: one folder per language (``en``, ``ko``), one
file per part of the app. A key is ``<part>.<name>``: ``lab.play`` is ``play`` in
``app/text/<lang>/lab.toml``. Values are ``str.format`` templates (``"{n} units"``); tables nest
(``lab.labels.lr``). Pure Python: the figure builders use it without Streamlit.

``tests/test_text.py`` fails when a key exists in one language and not the other, or when the
two languages' templates name different ``{placeholders}``.
"""
import string
import tomllib
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = {"en": "English", "ko": "한국어"}
DEFAULT = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every key of one language, flattened (``{"lab.play": "Play", ...}``)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, table: dict) -> None:
        for name, value in table.items():
            key = f"{prefix}.{name}"
            if isinstance(value, dict):
                walk(key, value)
            else:
                flat[key] = value

    for path in sorted((HERE / lang).glob("*.toml")):
        with path.open("rb") as f:
            walk(path.stem, tomllib.load(f))
    return flat


def get(lang: str, key: str, **values) -> str:
    """The text of ``key`` in ``lang`` with ``values`` filled in. A key missing in ``lang``
    falls back to English, then to the key itself: a gap shows, it never breaks a page."""
    template = catalog(lang if lang in LANGS else DEFAULT).get(key)
    if template is None:
        template = catalog(DEFAULT).get(key, key)
    return template.format(**values) if values else template


def table(lang: str, prefix: str) -> dict[str, str]:
    """Every key under ``prefix`` in ``lang``, by the rest of its name:
    ``table("en", "lab.variants")`` -> ``{"torch": "torch (PyTorch's equations)", ...}``."""
    start = prefix + "."
    english = {k[len(start):]: v for k, v in catalog(DEFAULT).items() if k.startswith(start)}
    own = {k[len(start):]: v for k, v in catalog(lang).items() if k.startswith(start)}
    return {**english, **own}


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
