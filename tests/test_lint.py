"""The code passes the linter: `ruff check .` with the settings in pyproject.toml ([tool.ruff])."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"`ruff check .` is not clean (exit {result.returncode}):\n{result.stdout}{result.stderr}",
                    pytrace=False)
