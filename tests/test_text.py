"""The interface text: both languages have every key, with the same placeholders; every key
the app asks for exists; pages draw no literal English of their own."""
import ast
import re
from pathlib import Path

import pytest

from app import text
from app.text import LANGS

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = sorted(p for p in (ROOT / "app").rglob("*.py") if "text" not in p.parts)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_every_language_has_every_key_with_the_same_placeholders():
    english = text.catalog("en")
    assert len(english) > 20
    for lang in LANGS:
        own = text.catalog(lang)
        assert sorted(set(english) - set(own)) == [], f"missing in {lang}"
        assert sorted(set(own) - set(english)) == [], f"only in {lang}"
        for key, template in english.items():
            assert text.placeholders(own[key]) == text.placeholders(template), (lang, key)
            assert own[key].strip(), (lang, key)


def test_korean_text_is_korean():
    """Keys whose English is a sentence are translated, not copied."""
    english, korean = text.catalog("en"), text.catalog("ko")
    copied = [k for k, v in english.items() if len(v.split()) >= 4 and korean[k] == v
              and k != "common.language"]
    assert copied == []
    assert sum(bool(HANGUL.search(v)) for v in korean.values()) > 0.8 * len(korean) - 5


def test_lookup_fills_values_and_falls_back():
    assert text.get("ko", "common.pages.lab") == "실험실"
    assert text.get("xx", "common.pages.lab") == "Lab"          # unknown language: English
    assert text.get("en", "no.such.key") == "no.such.key"       # a gap shows, never breaks
    assert text.table("en", "lab.variants") == {"torch": "torch (PyTorch's equations)",
                                                "paper": "paper (Chung et al. 2014)"}


def _keys_used() -> set[tuple[str, str]]:
    """(file, key) for every literal key passed to t(...), text.get(lang, ...), table(...)."""
    used = set()
    for path in APP_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = node.args[1:] if name == "get" and getattr(node.func, "value", None) is not None \
                and getattr(node.func.value, "id", "") == "text" else node.args
            if name in ("t", "get", "tx") and args and isinstance(args[0], ast.Constant) \
                    and isinstance(args[0].value, str) and "." in args[0].value:
                used.add((path.name, args[0].value))
    return used


def test_every_key_the_app_asks_for_exists():
    english = text.catalog("en")
    assert _keys_used(), "no t(...) calls found"
    missing = sorted((f, k) for f, k in _keys_used() if k not in english)
    assert missing == []


# <widget>("Literal words ...") or help="..." in a page: interface text that is not in app/text.
WIDGETS = ("title|header|subheader|caption|markdown|write|info|warning|error|success|button|toggle|checkbox|radio|"
           "selectbox|multiselect|slider|select_slider|number_input|text_input|file_uploader|download_button|"
           "expander|tabs|metric|spinner|status|progress|form_submit_button|page_link|link_button|audio")
LITERAL = re.compile(rf"""\.({WIDGETS})\(\s*f?["'][A-Za-z]|\b(help|label|placeholder)=f?["'][A-Za-z]""")


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_draw_no_literal_english(path):
    lines = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1)
             if LITERAL.search(line)]
    assert lines == []
