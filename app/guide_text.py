"""The "how to read this" text for teachers (shown on the Lab page and on its own page).

The words are text (``guide.short``, ``guide.lesson`` in ``app/text/<lang>/guide.toml``).
"""
from app import text


def short_guide(lang: str = text.DEFAULT) -> str:
    """How to read the Lab's charts (markdown): the Lab page's expander."""
    return text.get(lang, "guide.short")


def full_guide(lang: str = text.DEFAULT) -> str:
    """The short guide, then a lesson in four clicks and what makes the comparison fair."""
    return text.get(lang, "guide.short") + "\n" + text.get(lang, "guide.lesson")
