"""The teaching pages' words that are looked up by a computed key (tool names, clamp meanings,
unit notes, lesson steps, dataset titles) exist in every language, and the Korean ones are
Korean: tests/test_text.py checks only keys written out in full."""
import ast
import re
from pathlib import Path

import pytest

from app import text
from app.text import LANGS
from core.data import TITLES
from core.teaching_cells import CLAMP_MEANINGS

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
TOOLS = ("saturation", "interventions", "memory", "stepper")
STEPS = ("loss", "gates", "memory")


def computed_keys() -> list[str]:
    """Every key app/screens/tools.py, app/screens/lesson.py and app/teaching.py build."""
    keys = [f"tools.names.{n}" for n in TOOLS]
    keys += [f"tools.clamps.{a}.{g}{v:g}" for a, g, v in CLAMP_MEANINGS]
    keys += [f"tools.notes.{a}_{v}" for a in ("tanh", "gru", "lstm") for v in ("torch", "paper")]
    keys += [f"tools.variants.{v}" for v in ("torch", "paper")]
    keys += [f"tools.models.sources.{s}" for s in ("shipped", "lab")]
    keys += [f"tools.saturation.{o}" for o in ("split", "piece")]
    keys += [f"common.datasets.{name}" for name in TITLES]
    keys += [f"lesson.steps.{s}.{part}" for s in STEPS for part in ("title", "headline", "text")]
    return keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_computed_key_exists(lang):
    assert [k for k in computed_keys() if k not in text.catalog(lang)] == []


def test_the_names_here_are_the_pages_own():
    """Importing a page script would run it: its constants are read from its source."""
    def constant(path: str, name: str):
        tree = ast.parse((ROOT / path).read_text())
        return next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name)
    assert constant("app/screens/tools.py", "TOOLS") == TOOLS
    assert constant("app/screens/lesson.py", "STEPS") == STEPS
    assert constant("app/teaching.py", "SOURCES") == ("shipped", "lab")


def test_clamp_meanings_keep_the_english_of_core_and_are_translated():
    for (arch, gate, value), english in CLAMP_MEANINGS.items():
        key = f"tools.clamps.{arch}.{gate}{value:g}"
        assert text.get("en", key) == english
        assert HANGUL.search(text.get("ko", key)), key


def test_korean_uses_the_glossary():
    ko = text.catalog("ko")
    assert ko["tools.names.saturation"] == "게이트 포화"
    assert ko["tools.names.interventions"] == "게이트 개입"
    assert "망각 게이트" in ko["lesson.steps.gates.text"] and "업데이트 게이트" in ko["lesson.steps.gates.text"]
    assert "학습률" in ko["lesson.start_help"] and "배치 크기" in ko["lesson.start_help"]
    assert "시간 단계당" in ko["tools.interventions.metric"]


def test_projector_headlines_are_short():
    for lang in LANGS:
        for step in STEPS:
            headline = text.get(lang, f"lesson.steps.{step}.headline")
            assert len(headline) < len(text.get(lang, f"lesson.steps.{step}.text")) / 2
            assert len(headline) <= 100, (lang, step)
