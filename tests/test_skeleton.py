"""The project's own promises: the Dockerfile lints, the README starts with the two commands."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_serves_the_dashboard_on_8501_with_cpu_torch():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "EXPOSE 8501" in text
    assert "torch==2.13.0" in text and "/whl/cpu" in text
    assert '"-m", "app.serve"' in text  # app/serve.py: the zygote first, then `streamlit run`


def test_readme_opens_with_the_run_and_test_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    block = "\n".join(head)
    assert "```" in block and "make run" in block and "make test" in block
    makefile = (ROOT / "Makefile").read_text()
    assert "run:" in makefile and "test:" in makefile and "-m app.serve" in makefile


def test_torch_is_pinned():
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text().splitlines()


def test_core_never_imports_streamlit():
    for path in (ROOT / "core").glob("*.py"):
        assert "import streamlit" not in path.read_text(), path
