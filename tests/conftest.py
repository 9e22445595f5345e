"""Shared test fixtures. Real-data tests read the datasets from $GATELAB_DATA_DIR and fail
(never skip) when it is not set: CI and `make test` set it."""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("GATELAB_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.fail("GATELAB_DATA_DIR must point at the directory holding the four dataset pickles "
                    "(e.g. GATELAB_DATA_DIR=../shared/data/polyphonic make test)")
    return Path(value)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gatelab-cache")


def _shared_dataset(name: str, session_cache: Path):
    """A paper dataset from the shared directory, converted into the session's cache."""
    from core.music.data import load_dataset
    mp = pytest.MonkeyPatch()
    mp.setenv("GATELAB_CACHE_DIR", str(session_cache))
    try:
        return load_dataset(name)
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def jsb(data_dir, session_cache):
    """JSB Chorales from the shared directory (converted once per test session)."""
    return _shared_dataset("jsb", session_cache)


@pytest.fixture(scope="session")
def nottingham(data_dir, session_cache):
    """Nottingham from the shared directory (converted once per test session)."""
    return _shared_dataset("nottingham", session_cache)
