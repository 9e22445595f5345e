"""The four paper datasets from $GATELAB_DATA_DIR, their checks, the cache, and the registry.

Expected numbers are those docs/data.md records for the published files. These tests need the
real files: with GATELAB_DATA_DIR unset they fail (never skip), saying how to set it.
"""
import os
import pickle
import shutil
import time

import numpy as np
import pytest

from core.music import data, polyphonic
from core.music.data import load_dataset
from core.music.rolls import DataError, fingerprint_splits
from core.music.safe_pickle import safe_load_bytes

# name -> split -> (pieces, min/median/max length, lowest/highest pitch, mean notes per step)
PROVENANCE = {
    "jsb": {"train": (229, 25, 57, 129, 43, 96, 3.90), "valid": (76, 32, 54, 144, 48, 96, 3.87),
            "test": (77, 32, 57, 160, 45, 96, 3.89)},
    "nottingham": {"train": (694, 40, 255, 1788, 31, 93, 3.96),
                   "valid": (173, 96, 255, 1473, 34, 91, 3.96),
                   "test": (170, 63, 255, 1793, 36, 89, 3.99)},
    "musedata": {"train": (524, 9, 237, 3457, 21, 96, 3.49),
                 "valid": (135, 63, 333, 3723, 21, 100, 3.48),
                 "test": (124, 45, 239, 4273, 21, 105, 3.29)},
    "piano-midi": {"train": (87, 111, 663, 3857, 21, 108, 3.04),
                   "valid": (12, 209, 657, 1637, 24, 104, 3.23),
                   "test": (25, 65, 631, 2645, 21, 108, 2.95)},
}
TOTAL_STEPS = {"jsb": (13807, 4602, 4725), "nottingham": (176561, 45513, 44463),
               "musedata": (245202, 82755, 64339), "piano-midi": (75911, 8540, 19036)}
MAX_POLYPHONY = {"jsb": 4, "nottingham": 9, "musedata": 15, "piano-midi": 12}
STEPS_PER_BEAT = {"jsb": 1, "nottingham": 2, "musedata": 2, "piano-midi": 2}


def shared_data_dir() -> str:
    value = os.environ.get("GATELAB_DATA_DIR", "")
    if not value:
        pytest.fail("GATELAB_DATA_DIR is not set. The real-data tests read the four original "
                    "pickles from it: run with GATELAB_DATA_DIR=../shared/data/polyphonic")
    if not os.path.isdir(value):
        pytest.fail(f"GATELAB_DATA_DIR={value} is not a folder")
    return value


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Every test gets its own cache and can never reach the internet."""
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GATELAB_DATA_URL", "http://127.0.0.1:9/")  # nothing listens there


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """All four datasets, loaded once (first load: from the pickles) into a shared cache."""
    folder = shared_data_dir()
    cache = tmp_path_factory.mktemp("paper-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATELAB_DATA_DIR", folder)
        mp.setenv("GATELAB_CACHE_DIR", str(cache))
        mp.setenv("GATELAB_DATA_URL", "http://127.0.0.1:9/")
        yield {name: load_dataset(name, download=False) for name in data.PAPER_DATASETS}, cache


@pytest.mark.parametrize("name", data.PAPER_DATASETS)
def test_paper_dataset_matches_provenance(paper, name):
    ds = paper[0][name]
    assert ds.name == name and ds.steps_per_beat == STEPS_PER_BEAT[name]
    assert ds.get_num_steps() == dict(zip(("train", "valid", "test"), TOTAL_STEPS[name]))
    for split, (count, lo, med, hi, low_pitch, high_pitch, mean_notes) in PROVENANCE[name].items():
        rolls = ds.splits[split]
        lengths = [len(r) for r in rolls]
        assert len(rolls) == count
        assert (min(lengths), int(np.median(lengths)), max(lengths)) == (lo, med, hi)
        frames = np.concatenate(rolls)
        assert frames.dtype == np.uint8 and frames.shape[1] == 88 and frames.max() == 1
        keys = np.flatnonzero(frames.any(axis=0)) + 21
        assert (keys[0], keys[-1]) == (low_pitch, high_pitch)
        assert frames.sum() / len(frames) == pytest.approx(mean_notes, abs=0.006)
    assert max(r.sum(axis=1).max() for rs in ds.splits.values() for r in rs) == MAX_POLYPHONY[name]


def test_first_jsb_step_is_the_pickles_first_step(paper):
    # Column j is MIDI pitch 21 + j, and split order is the file's order.
    raw = safe_load_bytes(open(os.path.join(shared_data_dir(), "JSB Chorales.pickle"), "rb").read())
    roll = paper[0]["jsb"].splits["test"][0]
    assert [21 + j for j in np.flatnonzero(roll[0])] == sorted(raw["test"][0][0])
    assert len(roll) == len(raw["test"][0])


def test_second_load_uses_the_cache_and_is_fast(paper, monkeypatch):
    loaded, cache = paper
    monkeypatch.setenv("GATELAB_DATA_DIR", shared_data_dir())
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(cache))
    assert len(list((cache / "rolls").glob("*.npz"))) == 4
    start = time.perf_counter()
    again = {name: load_dataset(name, download=False) for name in data.PAPER_DATASETS}
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"second load of the four took {elapsed:.2f} s"  # ~0.2 s unloaded
    for name, ds in again.items():
        assert fingerprint_splits(ds.splits) == polyphonic.PAPER_SPECS[name].fingerprint
        assert all(np.array_equal(a, b) for a, b in zip(ds.splits["valid"], loaded[name].splits["valid"]))


def test_a_tampered_cache_is_not_trusted(paper, monkeypatch, tmp_path):
    monkeypatch.setenv("GATELAB_DATA_DIR", shared_data_dir())
    cache = tmp_path / "own-cache"
    shutil.copytree(paper[1], cache)
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(cache))
    (npz,) = (cache / "rolls").glob("JSB*.npz")
    with np.load(npz) as z:
        arrays = dict(z)
    arrays["train_packed"][0, 3] ^= 0x10  # one key of one step
    np.savez(npz, **arrays)
    ds = load_dataset("jsb", download=False)  # converted again from the pickle
    assert fingerprint_splits(ds.splits) == polyphonic.PAPER_SPECS["jsb"].fingerprint
    npz.write_bytes(b"PK\x03\x04 not a zip after all")
    assert load_dataset("jsb", download=False).get_num_steps()["test"] == 4725


def _write_pickle(folder, filename, content, protocol=2):
    folder.mkdir(exist_ok=True)
    (folder / filename).write_bytes(pickle.dumps(content, protocol=protocol))


def test_one_altered_pitch_fails_the_fingerprint(monkeypatch, tmp_path):
    content = safe_load_bytes(open(os.path.join(shared_data_dir(), "Piano-midi.de.pickle"), "rb").read())
    step = content["valid"][3][10]
    pitch = next(p for p in step)
    content["valid"][3][10] = tuple(sorted({*step} - {pitch} | {pitch + 1 if pitch < 108 else pitch - 1}))
    assert content["valid"][3][10] != step
    _write_pickle(tmp_path / "data", "Piano-midi.de.pickle", content)
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DataError, match="Piano-midi.de.pickle.*fingerprint"):
        load_dataset("piano-midi", download=False)
    assert not (tmp_path / "cache" / "rolls").exists() or not any((tmp_path / "cache" / "rolls").iterdir())


def test_the_fingerprint_ignores_how_the_content_was_pickled(monkeypatch, tmp_path):
    content = safe_load_bytes(open(os.path.join(shared_data_dir(), "JSB Chorales.pickle"), "rb").read())
    _write_pickle(tmp_path / "data", "JSB Chorales.pickle", content, protocol=5)  # plain ints now
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "data"))
    assert load_dataset("jsb", download=False).get_num_steps()["train"] == 13807


class _RunsCode:
    """Unpickling this would run a shell command that creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def test_a_malicious_pickle_is_refused_without_running(monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    evil = {"train": [[(60,)]], "valid": [_RunsCode(marker)], "test": []}
    _write_pickle(tmp_path / "data", "JSB Chorales.pickle", evil)
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DataError, match=r"JSB Chorales\.pickle.*(posix|os)\.system"):
        load_dataset("jsb", download=False)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_RunsCode(marker)))  # the same bytes, unrestricted, do run it
    assert marker.exists()


def test_malformed_content_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "data"))
    cases = [{"train": []}, {"train": [[(60,)]], "valid": [[(200,)]], "test": []},
             {"train": [[("x",)]], "valid": [], "test": []}, [1, 2, 3]]
    for content in cases:
        _write_pickle(tmp_path / "data", "Nottingham.pickle", content)
        with pytest.raises(DataError, match="Nottingham.pickle"):
            load_dataset("nottingham", download=False)
    (tmp_path / "data" / "Nottingham.pickle").write_bytes(b"\x80\x02}q\x01(X")  # cut short
    with pytest.raises(DataError, match="cannot be read"):
        load_dataset("nottingham", download=False)


def test_missing_files_say_how_to_provide_them(monkeypatch, tmp_path):
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError) as info:
        load_dataset("musedata", download=False)
    message = str(info.value)
    assert "MuseData.pickle" in message and "GATELAB_DATA_DIR" in message
    assert "chorales" in message  # the built-ins still work
    assert data.available_datasets() == ["chorales", "long-memory"]


def test_available_datasets_lists_local_files(monkeypatch):
    monkeypatch.setenv("GATELAB_DATA_DIR", shared_data_dir())
    assert data.available_datasets() == ["chorales", "long-memory", *data.PAPER_DATASETS]


def test_registry_names_and_errors():
    assert set(data.DATASETS) == {*data.PAPER_DATASETS, *data.BUILTIN_DATASETS, "midi"}
    assert set(data.TITLES) == set(data.DATASETS)
    with pytest.raises(DataError, match="nottingham, jsb, musedata, piano-midi, chorales"):
        load_dataset("bach")
    with pytest.raises(DataError, match="no setting colour"):
        load_dataset("chorales", colour="red")
    with pytest.raises(DataError, match="lag"):
        load_dataset("long-memory", lag=0)


def test_data_url_quotes_the_original_names(monkeypatch):
    monkeypatch.delenv("GATELAB_DATA_URL")
    assert polyphonic.data_url("JSB Chorales.pickle") == \
        "http://www-etud.iro.umontreal.ca/~boulanni/JSB%20Chorales.pickle"
    monkeypatch.setenv("GATELAB_DATA_URL", "http://127.0.0.1:8000/files")
    assert polyphonic.data_url("Piano-midi.de.pickle") == "http://127.0.0.1:8000/files/Piano-midi.de.pickle"
