"""The "Your own music" page's logic without widgets (app/upload/data.py): its sentences, the
resolutions offered, the window's views (core.insight.views, as the Lab makes them), the cursor's
values. Outside a page run the page's language is English. The widgets that use these are
drawn by the AppTest tests in test_upload.py."""
from types import SimpleNamespace

import numpy as np
import pytest

from app import model_files, text
from app.upload import data as up
from app.upload import inputs as upload_inputs
from core.insight.views import window_view
from core.music.midi import MAX_STEPS, MidiError, MidiRoll
from core.units import UNITS
from core.units.records import Trace

T, H = 12, 3


def fake_trace(arch: str, seed: int = 0) -> Trace:
    """A Trace of T steps and H units with random numbers in every array."""
    rng = np.random.default_rng(seed)
    arrays = {n: rng.standard_normal((T, H)).astype(np.float32) for n in UNITS[arch].names()}
    arrays.update(probs=rng.random((T, 88), dtype=np.float32), nll=rng.random(T, dtype=np.float32),
                  target=np.zeros((T, 88), np.uint8))
    return Trace(arch, "torch", H, arrays)


def piece(dropped: int = 0) -> MidiRoll:
    return MidiRoll(roll=np.zeros((40, 88), np.uint8), step_times=np.arange(40) * 0.25,
                    steps_per_beat=2, dropped_notes=dropped, instruments=["0: Piano", "1: Drums"],
                    selected=[0], end_time=10.0)


def test_note_values_name_one_two_and_four_steps_per_beat():
    assert [up.note_value(s) for s in (1, 2, 4, 3, 0.5)] == \
        ["quarter notes", "eighth notes", "sixteenth notes", "steps", "steps"]


def test_resolutions_offered_include_the_models_own_and_mark_it():
    options, labels = up.resolution_options(3)
    assert options == [1, 2, 3, 4]
    assert labels[3] == "3 (steps): what these models were trained on"
    assert labels[2] == "2 (eighth notes)"
    options, labels = up.resolution_options(2)
    assert options == [1, 2, 4] and labels[2].endswith("what these models were trained on")


def test_source_labels_name_the_set_and_the_labs_models():
    entries = {"gru": SimpleNamespace(units=46, test_nll=8.512), "lstm": SimpleNamespace(units=36, test_nll=8.4)}
    chosen = {"entries": entries, "steps_per_beat": 1.0}
    assert up.set_label(("jsb", "paper"), chosen) == \
        "JSB Chorales, the paper's equations (GRU 46 units, LSTM 36 units; reads quarter notes)"
    assert up.pretrained_label(chosen).endswith("(NLL per time step on their own test split: GRU 8.51, LSTM 8.40)")
    weights = {"gru": {"settings": {"dataset": "chorales"}, "updates": 7},
               "tanh": {"settings": {"dataset": "chorales"}, "updates": 9}}
    assert up.lab_label(weights) == "the Lab's models on Built-in chorales after GRU 7 updates, tanh RNN 9 updates"


def test_midi_reasons_are_the_pages_sentences_with_their_numbers():
    assert up.midi_reason(MidiError("too_large", "big"), 5_300_000, 2_000_000) == \
        "the file is 5.3 MB; the limit is 2.0 MB."
    assert str(MAX_STEPS) in up.midi_reason(MidiError("too_long", "long"), 10, 10)
    assert up.midi_reason(MidiError("empty", "x"), 0, 10) == "the file is empty."
    assert up.midi_reason(MidiError("never_heard_of", "x"), 0, 10) == "the file cannot be read as music."


def test_piece_caption_says_resolution_length_parts_and_what_was_left_out():
    caption = up.piece_caption(piece(), 2, window=None)
    assert caption == ("Resolution: **2 steps per beat** (eighth notes): 40 steps, 10.0 s. "
                       "Parts merged: 0: Piano; drums are never used.")
    caption = up.piece_caption(piece(dropped=3), 1, window=(0, 9))
    assert "**1 step per beat** (quarter notes)" in caption
    assert "3 notes outside the piano range" in caption and caption.endswith("the charts below show.")


def test_window_views_are_the_labs_views_of_every_trace():
    traces = {a: fake_trace(a, seed=i) for i, a in enumerate(UNITS)}
    views = up.window_views(traces, 2, 9)
    assert list(views) == list(UNITS)
    for arch, view in views.items():
        same = window_view(traces[arch].arrays, arch, H, 2, 9)
        assert view.keys() == same.keys() and view["state_name"] == UNITS[arch].state
        for key in ("state", "h", "probs", "nll", "pca", "unit_order"):
            np.testing.assert_array_equal(view[key], same[key])
        assert tuple(view["gates"]) == UNITS[arch].bounded
    assert views["lstm"]["state"].shape == (7, H)


def test_cursor_values_list_every_quantity_of_the_chosen_unit():
    traces = {"gru": fake_trace("gru"), "tanh": fake_trace("tanh")}
    values = up.cursor_values(traces, 5, {"gru": 2, "tanh": 0})
    assert list(values["gru"]) == ["z", "r", "h_tilde", "h"] and list(values["tanh"]) == ["h"]
    assert values["gru"]["z"] == pytest.approx(float(traces["gru"]["z"][5, 2]))


def test_steady_tempo_is_the_median_step():
    assert up.steady_tempo(np.array([0.0, 0.25, 0.5, 1.5]), 2) == pytest.approx(120.0)
    assert up.steady_tempo(np.array([0.0]), 2) == pytest.approx(120.0)  # one step: 0.5 beats/s


def test_every_key_the_page_builds_at_run_time_exists_in_both_languages():
    keys = ([f"upload.source.{s}" for s in upload_inputs.SOURCES]
            + [f"upload.note_values.{s}" for s in up.NOTE_VALUES]
            + [f"upload.errors.midi.{kind}" for kind in upload_inputs.DETAILED])
    for lang in text.LANGS:
        assert [k for k in keys if k not in text.catalog(lang)] == [], lang



def test_both_pages_offer_every_dataset_with_both_equations():
    """Nottingham, MuseData and Piano-midi.de beside JSB and the chorales, each with PyTorch's
    and the paper's equations: on Your own music and in the Gate tools."""
    from app.i18n import dataset_title
    from core.units.spec import VARIANTS
    from tests import apptest
    datasets = ("jsb", "chorales", "nottingham", "musedata", "piano-midi")
    every = {(d, v) for d in datasets for v in VARIANTS}
    sets = model_files.shipped_sets()
    assert set(sets) == every
    upload = apptest.open_page("upload/upload.py")
    assert sorted(upload.selectbox(key="up_set").options) == sorted(up.set_label(k, sets[k]) for k in every)
    assert "MuseData, the paper's equations (tanh RNN 78 units, GRU 46 units, LSTM 34 units; reads " \
           "eighth notes)" in upload.selectbox(key="up_set").options
    tools = apptest.open_page("tools/tools.py")
    assert sorted(tools.selectbox(key="tools_set").options) == sorted(
        f"{dataset_title(d)}, {'PyTorch' if v == 'torch' else 'paper'} equations" for d, v in every)
