"""The built-in datasets: offline, deterministic, fast, and shaped as documented."""
import time

import numpy as np
import pytest

from core.music import builtin
from core.music.data import load_dataset
from core.music.rolls import DataError


def test_chorales_load_offline_in_under_a_second(monkeypatch, tmp_path):
    monkeypatch.setenv("GATELAB_DATA_URL", "http://127.0.0.1:9/")  # no network to lean on
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path))
    start = time.perf_counter()
    ds = load_dataset("chorales")
    assert time.perf_counter() - start < 1.0
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 64, "valid": 16, "test": 16}
    assert ds.steps_per_beat == 2 and ds.source == "built-in" and ds.params["seed"] == 0
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_chorales_are_deterministic_per_piece():
    a = builtin.make_chorales(seed=3, n_train=5, n_valid=2, n_test=2)
    b = builtin.make_chorales(seed=3, n_train=2, n_valid=2, n_test=2)
    assert all(np.array_equal(x, y) for x, y in zip(a["train"][:2], b["train"]))
    assert all(np.array_equal(x, y) for x, y in zip(a["test"], b["test"]))
    other = builtin.make_chorales(seed=4, n_train=5, n_valid=0, n_test=0)
    assert not all(np.array_equal(x, y) for x, y in zip(a["train"], other["train"]))


@pytest.fixture(scope="module")
def chorales():
    return [r for rolls in builtin.make_chorales().values() for r in rolls]


def test_chorales_are_four_voice_phrases_with_breaths(chorales):
    for roll in chorales:
        assert roll.dtype == np.uint8 and roll.shape[1] == 88 and len(roll) in (64, 96, 128)
        voices = roll.sum(axis=1)
        breaths = np.arange(31, len(roll), 32)  # last eighth of every 4-bar phrase
        assert (voices[breaths] == 0).all()
        assert (np.delete(voices, breaths) == 4).all()
        pitches = np.flatnonzero(roll.any(axis=0)) + 21
        assert pitches.min() >= 38 and pitches.max() <= 79


def test_chorales_end_on_a_root_position_triad(chorales):
    # major, minor: intervals above the bass; the fifth may be left out, as Bach often does
    triads = ({0, 4, 7}, {0, 3, 7}, {0, 4}, {0, 3})
    for roll in chorales:
        final = np.flatnonzero(roll[-2]) + 21
        assert {int(p - final[0]) % 12 for p in final} in triads


def test_chorales_hold_notes_and_move_on_off_beats(chorales):
    def longest_run(column):
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], column, [0]]))))[::2]
        return runs.max(initial=0)

    longest = max(longest_run(roll[:, k]) for roll in chorales for k in range(88))
    assert longest >= 6  # common tones held across chords
    off_beat_moves = sum(int((roll[1::2] != roll[:-1:2]).any(axis=1).sum()) for roll in chorales)
    assert off_beat_moves > 50  # passing eighths in the soprano


@pytest.mark.parametrize("lag", [5, 30, 50])
def test_long_memory_answers_exactly_lag_steps_after_the_call(lag):
    splits = builtin.make_long_memory(lag=lag, n_train=40, n_valid=5, n_test=5)
    calls, onsets = set(), set()
    for roll in (r for rolls in splits.values() for r in rolls):
        assert roll.shape == (lag + 10, 88)
        call_steps = np.flatnonzero(roll[:, [k - 21 for k in builtin.CALL_KEYS]].any(axis=1))
        onset, answer = call_steps
        assert answer - onset == lag and onset < builtin.ONSET_WINDOW
        bass = [builtin.OSTINATO[t % 4] for t in range(len(roll))]
        (key,) = set(keys_at(roll, onset)) - {bass[onset]}
        assert keys_at(roll, answer) == sorted({bass[answer], key, *builtin.ANSWER_CHORD})
        for t in range(len(roll)):  # everything else is the ostinato
            if t not in (onset, answer):
                assert keys_at(roll, t) == [bass[t]]
        calls.add(key)
        onsets.add(onset)
    assert len(calls) == 7 and len(onsets) == builtin.ONSET_WINDOW


def keys_at(roll, t) -> list[int]:
    return [21 + j for j in np.flatnonzero(roll[t])]


def test_long_memory_through_the_registry():
    start = time.perf_counter()
    ds = load_dataset("long-memory", lag=40)
    assert time.perf_counter() - start < 1.0
    assert ds.params["lag"] == 40 and "40" in ds.title
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 256, "valid": 64, "test": 64}
    assert ds.get_num_steps()["train"] == 256 * 50
    with pytest.raises(DataError, match="lag must be between"):
        load_dataset("long-memory", lag=1)
