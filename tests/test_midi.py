"""MIDI in (files built here with pretty_midi/mido), MIDI and audio out, and round trips."""
import io
import os

import mido
import numpy as np
import pretty_midi
import pytest

from core.music import builtin
from core.music.data import dataset_from_midi, load_dataset
from core.music.midi import MidiError, midi_to_roll, roll_to_audio, roll_to_midi, roll_to_midi_bytes
from core.music.rolls import DataError


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GATELAB_DATA_URL", "http://127.0.0.1:9/")


def pm_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def band() -> pretty_midi.PrettyMIDI:
    """120 bpm (a step of an eighth = 0.25 s): piano, strings, drums, two notes off the piano."""
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    piano.notes = [pretty_midi.Note(100, 60, 0.0, 0.5), pretty_midi.Note(100, 64, 0.5, 1.0),
                   pretty_midi.Note(100, 10, 0.0, 0.5), pretty_midi.Note(100, 120, 0.25, 0.5)]
    strings = pretty_midi.Instrument(program=48, name="Strings")
    strings.notes = [pretty_midi.Note(80, 48, 0.0, 1.0)]
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(100, 36, 0.0, 0.1), pretty_midi.Note(100, 42, 0.5, 0.6)]
    pm.instruments = [piano, strings, drums]
    return pm


def keys(roll, t) -> list[int]:
    return [21 + j for j in np.flatnonzero(roll[t])]


def test_instruments_are_merged_drums_and_out_of_range_left_out():
    result = midi_to_roll(pm_bytes(band()), steps_per_beat=2)
    assert result.roll.shape == (4, 88) and result.roll.dtype == np.uint8
    assert [keys(result.roll, t) for t in range(4)] == [[48, 60], [48, 60], [48, 64], [48, 64]]
    assert result.dropped_notes == 2
    assert result.instruments == ["0: Piano (Acoustic Grand Piano)",
                                  "1: Strings (String Ensemble 1)", "2: Drums (drums, not used)"]
    assert result.selected == [0, 1]
    np.testing.assert_allclose(result.step_times, [0.0, 0.25, 0.5, 0.75])
    assert result.end_time == pytest.approx(1.0)


def test_choosing_instruments():
    strings_only = midi_to_roll(pm_bytes(band()), instruments=[1])
    assert [keys(strings_only.roll, t) for t in range(4)] == [[48]] * 4
    assert strings_only.selected == [1] and strings_only.dropped_notes == 0
    with pytest.raises(MidiError) as info:
        midi_to_roll(pm_bytes(band()), instruments=[2])
    assert info.value.kind == "drums_only"


def test_steps_are_beats_not_seconds():
    quarters = midi_to_roll(pm_bytes(band()), steps_per_beat=1)
    assert [keys(quarters.roll, t) for t in range(2)] == [[48, 60], [48, 64]]
    sixteenths = midi_to_roll(pm_bytes(band()), steps_per_beat=4)
    assert len(sixteenths.roll) == 8 and keys(sixteenths.roll, 3) == [48, 60]


def tempo_change_file() -> bytes:
    """96 ticks per beat; 120 bpm for two beats, then 60 bpm. C4 for 4 beats, then D4 for 1."""
    mid = mido.MidiFile(ticks_per_beat=96)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0),
                                      mido.MetaMessage("set_tempo", tempo=1_000_000, time=192)]))
    mid.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_off", note=60, velocity=0, time=384),
        mido.Message("note_on", note=62, velocity=90, time=0),
        mido.Message("note_on", note=62, velocity=0, time=96)]))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def test_tempo_changes_move_step_times_not_steps():
    data = tempo_change_file()
    result = midi_to_roll(data, steps_per_beat=2)
    assert len(result.roll) == 10
    assert result.roll[:8, 60 - 21].all() and result.roll[8:, 62 - 21].all()
    expected = [0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    np.testing.assert_allclose(result.step_times, expected)
    assert result.end_time == pytest.approx(4.0)
    # pretty_midi's own reading of the same file puts each note where our steps say.
    notes = pretty_midi.PrettyMIDI(io.BytesIO(data)).instruments[0].notes
    assert [n.start for n in notes] == pytest.approx([result.step_times[0], result.step_times[8]])


def test_off_grid_notes_round_to_the_nearest_step_and_last_at_least_one():
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(90, 60, 0.02, 0.49),  # a little early/late: steps 0-1
                   pretty_midi.Note(90, 72, 0.5, 0.52)]  # a grace note: one step
    pm.instruments.append(piano)
    roll = midi_to_roll(pm_bytes(pm)).roll
    assert roll[:2, 60 - 21].tolist() == [1, 1] and roll[2:, 60 - 21].sum() == 0
    assert roll[:, 72 - 21].tolist() == [0, 0, 1]


def test_paths_and_bytes_read_alike(tmp_path):
    path = tmp_path / "band.mid"
    band().write(str(path))
    from_path, from_bytes = midi_to_roll(path), midi_to_roll(path.read_bytes())
    assert np.array_equal(from_path.roll, from_bytes.roll)
    assert np.array_equal(midi_to_roll(str(path)).roll, from_bytes.roll)


def _midi_error(source, **kwargs) -> MidiError:
    with pytest.raises(MidiError) as info:
        midi_to_roll(source, **kwargs)
    error = info.value
    assert isinstance(error, ValueError) and str(error)
    # Nothing from mido or pretty_midi hangs off the error to be printed as a traceback.
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return error


def _only(pitch=60, drum=False) -> bytes:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0, is_drum=drum)
    inst.notes = [pretty_midi.Note(90, pitch, 0.0, 0.5)]
    pm.instruments.append(inst)
    return pm_bytes(pm)


def test_broken_inputs_each_give_their_error(tmp_path):
    good = pm_bytes(band())
    text = tmp_path / "song.mid"
    text.write_text("This is a text file renamed to .mid\n")
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    no_notes = pretty_midi.PrettyMIDI()
    no_notes.instruments.append(pretty_midi.Instrument(program=0))
    garbage_track = (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60"
                     b"MTrk\x00\x00\x00\x04\x00\x40\x40\x00")  # data bytes with no status
    cases = {
        "not_midi": [np.random.default_rng(0).bytes(2000), text],
        "truncated": [good[: len(good) // 2], good[:-1], good[:10]],
        "empty": [b"", empty],
        "no_notes": [pm_bytes(no_notes)],
        "drums_only": [_only(36, drum=True)],
        "out_of_range": [_only(10), _only(127)],
        "corrupt": [garbage_track],
    }
    for kind, sources in cases.items():
        for source in sources:
            assert _midi_error(source).kind == kind, (kind, source)
    assert _midi_error(good, max_bytes=100).kind == "too_large"
    assert _midi_error(text, max_bytes=10).kind == "too_large"
    error = _midi_error(good, max_steps=3)
    assert error.kind == "too_long" and "limit is 3" in str(error)


def test_damaged_files_never_raise_anything_but_midi_error():
    good = bytearray(pm_bytes(band()))
    rng = np.random.default_rng(1)
    for _ in range(150):
        damaged = bytearray(good)
        for pos in rng.integers(14, len(good), size=rng.integers(1, 4)):
            damaged[pos] = rng.integers(0, 256)
        try:
            midi_to_roll(bytes(damaged), max_steps=5000)
        except MidiError:
            pass


def test_roll_to_midi_merges_held_steps_into_one_note():
    roll = np.zeros((8, 88), dtype=np.uint8)
    roll[1:4, 60 - 21] = 1  # held three steps: one note
    roll[5, 60 - 21] = roll[6, 60 - 21] = 1  # after a gap: a second note
    roll[1, 67 - 21] = 1
    pm = roll_to_midi(roll, tempo=90, steps_per_beat=2)
    notes = sorted((n.pitch, round(n.start, 6), round(n.end, 6)) for n in pm.instruments[0].notes)
    step = 60 / 90 / 2
    assert notes == [(60, round(step, 6), round(4 * step, 6)), (60, round(5 * step, 6), round(7 * step, 6)),
                     (67, round(step, 6), round(2 * step, 6))]
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90)
    # Leading and trailing silence survive the round trip.
    back = midi_to_roll(roll_to_midi_bytes(roll, tempo=90, steps_per_beat=2), steps_per_beat=2)
    assert np.array_equal(back.roll, roll)
    with pytest.raises(ValueError):
        roll_to_midi(np.zeros((4, 12)))


def test_round_trip_is_exact_on_the_builtin_chorales():
    pieces = builtin.make_chorales(n_train=12, n_valid=0, n_test=0)["train"]
    for tempo in (120.0, 97.0):
        for roll in pieces:
            data = roll_to_midi_bytes(roll, tempo=tempo, steps_per_beat=2)
            assert np.array_equal(midi_to_roll(data, steps_per_beat=2).roll, roll)


def test_round_trip_is_exact_on_jsb_pieces(monkeypatch):
    if not os.environ.get("GATELAB_DATA_DIR"):
        pytest.fail("GATELAB_DATA_DIR is not set: point it at ../shared/data/polyphonic")
    jsb = load_dataset("jsb", download=False)
    for roll in jsb.splits["test"]:  # all 77 test chorales, quarter-note steps
        back = midi_to_roll(roll_to_midi_bytes(roll, tempo=100, steps_per_beat=1), steps_per_beat=1)
        assert np.array_equal(back.roll, roll)
        assert back.step_times[1] == pytest.approx(0.6)


def test_roll_to_audio_is_a_normalised_float32_preview():
    roll = builtin.make_chorales(n_train=1, n_valid=0, n_test=0)["train"][0][:16]
    audio = roll_to_audio(roll, tempo=120, steps_per_beat=2, fs=8000)
    assert audio.dtype == np.float32 and audio.shape == (16 * 2000,)
    assert 0.5 < np.abs(audio).max() <= 1.0
    silent = roll_to_audio(np.zeros((4, 88)), fs=8000)
    assert silent.shape == (8000,) and not silent.any()  # 4 eighths at 120 bpm = 1 s


def test_dataset_from_midi_splits_and_names_bad_files():
    files = [(f"piece{i}.mid", roll_to_midi_bytes(r)) for i, r in
             enumerate(builtin.make_chorales(n_train=7, n_valid=0, n_test=0)["train"])]
    ds = dataset_from_midi(files)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 5, "valid": 1, "test": 1}
    assert ds.name == "midi" and ds.steps_per_beat == 2 and "piece6.mid" in ds.description
    single = dataset_from_midi(files[:1])
    assert all(len(v) == 1 for v in single.splits.values()) and single.title == "piece0.mid"
    with pytest.raises(MidiError, match="^broken.mid: ") as info:
        dataset_from_midi(files[:2] + [("broken.mid", b"")])
    assert info.value.kind == "empty"
    with pytest.raises(DataError, match="broken.mid"):
        load_dataset("midi", files=[("broken.mid", b"hello")])
    assert load_dataset("midi", files=files[:3]).get_num_steps()["test"] == len(ds.splits["train"][2])


def test_writing_at_no_tempo_is_a_clear_error_not_a_division_by_zero():
    from core.music.midi import roll_to_midi
    roll = np.zeros((4, 88), np.uint8)
    for tempo, spb in ((0, 2), (120, 0), (float("nan"), 2), (-1, 2)):
        with pytest.raises(ValueError, match="above 0"):
            roll_to_midi(roll, tempo=tempo, steps_per_beat=spb)
