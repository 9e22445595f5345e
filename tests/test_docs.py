"""The docs against the code: every path and every ``core.x`` / ``app.x`` name README.md and docs/*.md
put in backticks exists, every option they give a command is one it takes, and the counts they
state (pretrained models, seed runs, fuzz examples, choices) are the code's and the results'.
A doc that drifts from the code fails here instead of misleading a reader."""
import argparse
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from core.training.pretrained import PRETRAINED_DIR, read_manifest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = re.compile(r"`([^`\n]+)`")                       # an inline code span
# Top-level folders whose paths the docs name; artifacts/ holds what the tests write, not the repository.
TOPS = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in {"artifacts", ".git", ".venv"}
              and not p.name.startswith((".pytest", ".ruff", "__")))
PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(map(re.escape, TOPS)) + r")/[\w./-]*)")
NAME = re.compile(r"(?<![\w./])((?:core|app)(?:\.\w+)+)")


def read(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def spans(doc: Path):
    """(line number, text) of each inline code span and each line of a fenced block."""
    fenced = False
    for n, line in enumerate(read(doc).splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            yield n, line
        else:
            yield from ((n, s) for s in CODE.findall(line))


def where(doc: Path, n: int) -> str:
    return f"{doc.relative_to(ROOT)}:{n}"


def resolve(name: str):
    """The object a dotted name names (a module, then attributes), or raise LookupError."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                raise LookupError(f"{'.'.join(parts[:i])} has no {attr}")
            obj = getattr(obj, attr)
        return obj
    raise LookupError(f"no module {name}")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_path_the_docs_name_exists(doc):
    missing = []
    for n, text in spans(doc):
        if any(c in text for c in "<*{"):                 # a pattern, not a path
            continue
        for path in (p.rstrip(".,;:)") for p in PATH.findall(text)):
            module, _, attr = path.rpartition(".")
            if (ROOT / path).exists():
                continue
            if (ROOT / f"{module}.py").exists():            # core/lab_protocol.COMPUTE: a module's name
                try:
                    resolve(module.replace("/", ".") + "." + attr)
                    continue
                except LookupError:
                    pass
            missing.append(f"{where(doc, n)}: {path}")
    assert not missing, missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_core_and_app_name_the_docs_give_exists(doc):
    missing = []
    for n, text in spans(doc):
        for name in NAME.findall(text):
            if name.startswith("app.screens"):            # pages: importing one runs it
                continue
            try:
                resolve(name)
            except LookupError as e:
                missing.append(f"{where(doc, n)}: {name} ({e})")
    assert not missing, missing


def core_parsers() -> dict[str, argparse.ArgumentParser]:
    from core.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_option_the_docs_give_a_command_is_one_it_takes(doc):
    takes = {f"python -m core {c}": options(p) for c, p in core_parsers().items()}
    takes["scripts/train_pretrained.py"] = options(script("train_pretrained").build_parser())
    wrong = []
    for n, text in spans(doc):
        for command, known in takes.items():
            if command in text:
                given = re.findall(r"(?<![\w-])--[a-z][\w-]*", text.split(command, 1)[1].split("#")[0])
                wrong += [f"{where(doc, n)}: {command} {o}" for o in given if o not in known]
    assert not wrong, wrong


def test_the_train_options_readme_lists_are_the_cli_s():
    text = read(ROOT / "README.md")
    listed = text[text.index("`train` prints one line per epoch"):text.index("Every option\nand its default")]
    train = core_parsers()["train"]
    given = set(re.findall(r"`(--[a-z][\w-]*)", listed))
    assert given and given <= options(train), given - options(train)
    from core.training.settings import OPTIMIZERS
    from core.units.spec import DEVICES
    assert f"`--device {{{','.join(DEVICES)}}}`" in listed
    assert f"`--optimizer {{{','.join(OPTIMIZERS)}}}`" in listed


def test_the_pretrained_models_are_as_many_and_as_large_as_the_docs_say():
    """README's count, sizes and training minutes, and docs/upload.md's tables, are the manifest's:
    the tables are exactly what ``scripts/train_pretrained.py --table`` prints from it."""
    manifest = read_manifest()
    models = manifest["models"]
    sizes = [(PRETRAINED_DIR / m["file"]).stat().st_size for m in models]
    total = f"{sum(sizes) / 1e6:.1f} MB"
    readme, upload = read(ROOT / "README.md"), read(ROOT / "docs" / "upload.md")
    assert f"holds {len(models)} small checkpoints ({min(sizes) / 1e3:.0f}–{max(sizes) / 1e3:.0f} kB, " \
           f"{total} in all)" in readme
    assert f"holds {len(models)} checkpoints ({total} in all" in upload
    fits = round(sum(m["wall_seconds"] for m in models) / 60)
    assert f"add up to {fits} minutes" in " ".join(readme.split())
    assert f"add up to {fits} minutes" in " ".join(upload.split())
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "scripts" / "train_pretrained.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = script.table()   # what --table prints (on a machine with FluidSynth, after the binding's own line)
    assert table.count("\n") > len(models) and table in upload


def test_the_seed_spread_runs_are_as_many_as_the_docs_say():
    runs = ROOT / "results" / "reproduce" / "runs"
    per_protocol = {p: len(list((runs / f"{p}-seeds").rglob("*.json"))) for p in ("paper", "modern")}
    text = " ".join(read(ROOT / "docs" / "reproduce.md").split())
    assert f"8 fresh seeds under both ({sum(per_protocol.values())} runs)" in text
    assert f"The seed spreads ({sum(per_protocol.values())} runs, JSB and Piano-midi)" in text
    cells = {p: len(list((runs / p).rglob("*.json"))) for p in ("paper", "modern")}
    assert cells["paper"] == cells["modern"] and f"(2 x {cells['paper']} runs)" in text


def test_make_fuzz_s_example_counts_are_the_profiles():
    source = read(ROOT / "tests" / "test_fuzz.py")
    ci, fuzz = (int(re.search(rf'register_profile\("{p}", max_examples=(\d+)', source).group(1))
                for p in ("ci", "fuzz"))
    scaled = int(re.search(r"else (\d+) \* n", source).group(1))
    readme = " ".join(read(ROOT / "README.md").split())
    assert f"with {fuzz // ci} times the examples CI runs for MIDI, checkpoint bytes and CLI arguments, " \
           f"{scaled} times for dataset files and URLs" in readme
    makefile = " ".join(read(ROOT / "Makefile").replace("#", "").split())
    assert f"with {scaled}-{fuzz // ci} times the examples CI runs" in makefile


def test_the_names_the_docs_list_are_the_registries():
    from app.choosers import SOURCES
    from app.tools.data import TOOLS
    from core.music.data import DATASETS
    teaching = " ".join(read(ROOT / "docs" / "teaching.md").split())
    assert "`source` (" + " | ".join(f"`{s}`" for s in SOURCES) + ")" in teaching
    assert "`tool=" + "|".join(TOOLS) + "`" in teaching
    readme = " ".join(read(ROOT / "README.md").split())
    named = re.search(r"Dataset names \(.*?\): (.*?) \(written by", readme).group(1)
    assert set(re.findall(r"`([\w-]+)`", named)) == set(DATASETS) - {"midi"}


def test_the_lesson_numbers_are_the_code_s():
    from core.insight.lesson import ANSWER_PIECES, LESSON_MARGIN, lesson_settings
    s = lesson_settings()
    teaching = " ".join(read(ROOT / "docs" / "teaching.md").split())
    assert f"Adam lr {s.lr:g}, batches of {s.batch_size} whole sequences" in teaching and s.truncate == 0
    assert f"NLL at the answer step on {ANSWER_PIECES} validation sequences" in teaching
    assert f"at least {LESSON_MARGIN:g} nats below the tanh RNN's" in teaching

