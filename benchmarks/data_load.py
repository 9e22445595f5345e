"""Time the first and the second load of the four paper datasets, and of the built-ins.

Usage::

    GATELAB_DATA_DIR=../shared/data/polyphonic .venv/bin/python benchmarks/data_load.py

The first load reads each original pickle (restricted unpickler), converts it to piano rolls,
checks the fingerprint and writes the .npz cache -- into a fresh temporary cache, so it
really is a first load. The second load reads the cache. docs/data.md records the numbers.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.music.data import BUILTIN_DATASETS, PAPER_DATASETS, load_dataset
from core.music.rolls import DataError


def timed_load(name: str, **params) -> float:
    """Seconds to load ``name`` (never downloading)."""
    start = time.perf_counter()
    load_dataset(name, **params)
    return time.perf_counter() - start


def main() -> int:
    if not os.environ.get("GATELAB_DATA_DIR"):
        print("Set GATELAB_DATA_DIR to the folder holding the four .pickle files.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GATELAB_CACHE_DIR"] = cache
        try:
            first = {name: timed_load(name, download=False) for name in PAPER_DATASETS}
            second = {name: timed_load(name, download=False) for name in PAPER_DATASETS}
        except DataError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"{'dataset':<14}{'first load (s)':>16}{'second load (s)':>17}")
    for name in PAPER_DATASETS:
        print(f"{name:<14}{first[name]:>16.3f}{second[name]:>17.3f}")
    print(f"{'all four':<14}{sum(first.values()):>16.3f}{sum(second.values()):>17.3f}")
    for name in BUILTIN_DATASETS:
        print(f"{name:<14}{timed_load(name):>16.3f}   (generated, never cached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
