"""The teaching pages' words that are looked up by a computed key (tool names, clamp meanings,
unit notes, lesson steps, dataset titles) exist in every language, and the Korean ones are
Korean: tests/test_text.py checks only keys written out in full."""
import ast
import re
from pathlib import Path

import pytest

from app import text
from app.text import LANGS
from app.tools import data as tools_data
from app.tools import views as tools_views
from core.music.data import TITLES
from core.units import ALL_ARCHS, UNITS

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
TOOLS = ("saturation", "interventions", "memory", "stepper")
STEPS = ("loss", "gates", "memory")


def computed_keys() -> list[str]:
    """Every key the Gate tools (app/tools/data.py, app/tools/views.py, app/tools/tools.py),
    app/lesson/lesson.py and app/choosers.py build."""
    keys = [f"tools.names.{n}" for n in TOOLS]
    keys += [f"tools.clamps.{a}.{g}{v:g}" for a in ALL_ARCHS for g, v in UNITS[a].clamps]
    keys += [f"tools.notes.{a}_{v}" for a in ALL_ARCHS for v, _ in UNITS[a].steps]
    keys += [f"figures.panels.{q.name}" for a in ALL_ARCHS for q in UNITS[a].quantities]
    keys += [f"tools.variants.{v}" for v in ("torch", "paper")]
    keys += [f"tools.models.sources.{s}" for s in ("shipped", "lab", "file")]
    keys += [f"tools.saturation.{o}" for o in ("split", "piece")]
    keys += [f"common.datasets.{name}" for name in TITLES]
    keys += [f"lesson.steps.{s}.{part}" for s in STEPS for part in ("title", "headline", "text")]
    return keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_computed_key_exists(lang):
    assert [k for k in computed_keys() if k not in text.catalog(lang)] == []


def test_the_names_here_are_the_pages_own():
    """Importing a page script would run it: its constants are read from its source. The Gate
    tools' names live in a module (app/tools/data.py), imported."""
    def constant(path: str, name: str):
        tree = ast.parse((ROOT / path).read_text())
        return next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name)
    assert tools_data.TOOLS == TOOLS and set(tools_views.VIEWS) == set(TOOLS)
    assert constant("app/lesson/lesson.py", "STEPS") == STEPS
    assert constant("app/choosers.py", "SOURCES") == ("shipped", "lab", "file")


def test_clamp_meanings_name_their_gate_and_value_and_are_translated():
    for arch in ALL_ARCHS:
        for gate, value in UNITS[arch].clamps:
            key = f"tools.clamps.{arch}.{gate}{value:g}"
            assert gate in UNITS[arch].gates
            assert text.get("en", key).startswith(f"{gate} = {value:g}: ")
            assert text.get("ko", key).startswith(f"{gate} = {value:g}: ")
            assert HANGUL.search(text.get("ko", key)), key


def test_a_units_clamp_words_are_its_own_and_none_is_left_over():
    """Every clamp meaning in the catalogue is one a unit offers (a removed gate has none), and
    a unit taken apart whose change alters what a hold means says so in its own words."""
    offered = {f"tools.clamps.{a}.{g}{v:g}" for a in ALL_ARCHS for g, v in UNITS[a].clamps}
    for lang in LANGS:
        written = {k for k in text.catalog(lang) if k.startswith("tools.clamps.")}
        assert written == offered, lang
    for arch in ALL_ARCHS:
        for gate, _ in UNITS[arch].removed:
            assert not any(k.startswith(f"tools.clamps.{arch}.{gate}") for k in offered), arch
    # CIFG: holding f holds i = 1 - f too; the MGU's one gate is the GRU's update gate as well
    assert "i = 1 − f = 0" in text.get("en", "tools.clamps.lstm-cifg.f1")
    assert text.get("en", "tools.clamps.lstm-cifg.f1") != text.get("en", "tools.clamps.lstm.f1")
    assert text.get("en", "tools.clamps.mgu.f0") == text.get("en", "tools.clamps.gru.z0").replace("z", "f", 1)


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
