"""The layout is the plan: core's packages in layers that import only downwards (import-linter's
contracts in pyproject.toml, run here as ``lint-imports``), no import circle anywhere in core or
app, a short top level, and one package per page in app."""
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout
    kept = int(result.stdout.split("Contracts: ")[1].split(" kept")[0])
    assert kept >= 3, result.stdout


def circles(graph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan's algorithm)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    sys.setrecursionlimit(10_000)
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_circle():
    graph = grimp.build_graph("core", "app")
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    class Graph:
        modules = {"a", "b", "c"}
        edges = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

        def find_modules_directly_imported_by(self, m):
            return self.edges[m]
    assert circles(Graph()) == [["a", "b"]]


def test_core_shows_its_plan_at_the_top():
    top = sorted(p.name for p in (ROOT / "core").glob("*.py"))
    assert len(top) <= 6, top
    packages = sorted(p.parent.name for p in (ROOT / "core").glob("*/__init__.py"))
    assert packages == ["insight", "lab", "music", "training", "units"]


def test_app_has_one_package_per_page():
    app = ROOT / "app"
    assert not [p.name for p in app.glob("*.py") if p.name.startswith(("upload_", "tools_", "paper_", "board_"))]
    pages = sorted(p.parent.name for p in app.glob("*/*.py") if p.stem == p.parent.name)  # app/lab/lab.py
    assert pages == ["board", "guide", "lab", "lesson", "paper", "tools", "upload"]
    assert all((app / page / "__init__.py").exists() for page in pages)
