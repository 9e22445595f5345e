"""The "Your own music" page under AppTest: uploads of MIDI files built here, good and each
kind of bad; the roll, the heatmaps of every model, the overview, the cursor, sampling, and
the Lab's own models."""
import io
import json

import numpy as np
import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from app.upload.data import trace_csv, trace_npz
from core.insight.trace import trace
from core.music.midi import midi_to_roll, roll_to_midi_bytes
from core.training.pretrained import load_pretrained
from tests import apptest
from tests.apptest import decode

PAGE = "upload/upload.py"
GATES = {"tanh RNN h", "GRU z", "GRU r", "LSTM i", "LSTM f", "LSTM o"}
CHORDS = ((60, 64, 67), (62, 65, 69), (59, 62, 67), (60, 64, 67))


def midi_bytes(notes=(), drums=(), beats: int = 24, tempo: float = 120.0) -> bytes:
    """A Standard MIDI File: piano ``notes`` and ``drums`` as (pitch, start beat, end beat)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    beat = 60.0 / tempo
    for is_drum, group in ((False, notes), (True, drums)):
        inst = pretty_midi.Instrument(program=0, is_drum=is_drum)
        inst.notes = [pretty_midi.Note(80, p, s * beat, e * beat) for p, s, e in group]
        pm.instruments.append(inst)
    pm.instruments[0].control_changes.append(pretty_midi.ControlChange(123, 0, beats * beat))
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def chorale(beats: int = 24) -> bytes:
    return midi_bytes([(p, b, b + 1) for b in range(beats) for p in CHORDS[b % 4]], beats=beats)


GOOD = chorale()
BAD = {  # kind -> (file bytes, words the page's message must contain)
    "not_midi": (b"%PDF-1.4 not music at all", "not a MIDI file"),
    "truncated": (GOOD[: len(GOOD) - 20], "cut short"),
    "empty": (b"", "empty"),
    "no_notes": (midi_bytes(), "no notes"),
    "drums_only": (midi_bytes(drums=[(36, b, b + 0.5) for b in range(8)]), "only drums"),
    "out_of_range": (midi_bytes([(12, 0, 1), (115, 1, 2)]), "outside the piano range"),
    "too_large": (b"MThd" + bytes(5 * 2**20), "MB; the limit is"),
    "too_long": (midi_bytes([(60, 0, 30_000)], beats=30_000), "longer than 20000 time steps"),
}
DETAILS = {  # kind -> words of core's English detail, shown under the page's sentence
    "truncated": "it ends inside track 2 of 3", "out_of_range": "All 2 notes",
    "too_long": "The piece is 30000 steps long"}


def open_page(**params) -> AppTest:
    """The page, with URL parameters (``lang="ko"``, ``projector="1"``)."""
    return apptest.open_page(PAGE, **params)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="up_file").set_value((name, data, "audio/midi")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def names(spec: dict) -> set:
    return {t.get("name") for t in spec["data"]}


@pytest.fixture(scope="module")
def good():
    at = open_page()
    assert "Upload a Standard MIDI File" in at.info[0].value
    return upload(at, "chorale.mid", GOOD)


def test_a_good_upload_shows_roll_audio_overview_and_every_models_heatmaps(good):
    at = good
    assert not at.error
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    roll = midi_to_roll(GOOD, steps_per_beat=1).roll  # JSB models: quarter notes
    assert len(roll) == 24
    piece = next(s for s in specs if s["layout"].get("title", {}).get("text") == "Piano roll (pitch × step)")
    z = decode(piece["data"][0]["z"])
    y = decode(piece["data"][0]["y"])
    np.testing.assert_array_equal(z, roll[:, y - 21].T)  # exactly the piece's notes
    assert any("**1 step per beat** (quarter notes): 24 steps" in c.value for c in at.caption)
    all_names = set().union(*(names(s) for s in specs))
    assert GATES <= all_names
    overview = next(s for s in specs if {"tanh RNN", "GRU", "LSTM"} <= {
        (n or "").split(" (mean")[0] for n in names(s)})
    model, _ = load_pretrained("jsb-gru-torch")
    gru_nll = next(t for t in overview["data"] if t["name"].startswith("GRU"))
    np.testing.assert_allclose(decode(gru_nll["y"]), trace(model, roll)["nll"], rtol=1e-5)
    assert len(at.get("audio")) == 1
    # FluidSynth's piano (CI installs it; tests/test_audio.py checks the sine fallback)
    assert any(c.value.startswith("Played on a piano (FluidSynth") for c in at.caption)


def test_the_cursor_lists_every_gate_of_the_chosen_unit(good):
    at = good
    at.slider(key="up_cur_24_0_24").set_value(5).run()
    at.number_input(key="up_unit_gru").set_value(3).run()
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "GRU, unit 3, step 5" in json.dumps(json.loads(c.proto.spec)["layout"]))
    bars = {t["name"]: dict(zip(t["x"], decode(t["y"]))) for t in spec["data"]}
    model, _ = load_pretrained("jsb-gru-torch")
    tr = trace(model, midi_to_roll(GOOD, steps_per_beat=1).roll)
    assert bars["GRU"]["z"] == pytest.approx(tr["z"][5, 3], abs=1e-6)
    assert bars["GRU"]["h̃"] == pytest.approx(tr["h_tilde"][5, 3], abs=1e-6)
    assert set(bars["LSTM"]) == {"i", "f", "o", "c̃", "c", "h"}


def test_sampling_gives_midi_of_the_requested_length(good):
    at = good
    at.number_input(key="up_s_steps").set_value(20)
    at.number_input(key="up_s_seed").set_value(7)
    at.button(key="up_sample_go").click().run()
    assert not at.exception
    got = at.session_state["up_samples"]
    assert got["steps"] == 20 and got["prime_end"] == 24
    for roll in got["rolls"].values():
        assert roll.shape == (20, 88)
        data = roll_to_midi_bytes(roll, tempo=120, steps_per_beat=1)  # what the button serves
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
        assert pm.get_end_time() == pytest.approx(20 * 0.5)
        np.testing.assert_array_equal(midi_to_roll(data, steps_per_beat=1).roll, roll)
    assert len([c for c in at.get("plotly_chart") if "sampled continuation" in c.proto.spec]) == 3
    assert len(at.get("audio")) == 4  # the piece's and each continuation's
    assert sum(c.value == "Played on a piano (FluidSynth, General MIDI SoundFont)." for c in at.caption) == 3


def test_each_bad_upload_is_a_clear_message_and_the_page_keeps_working():
    at = open_page()
    for kind, (data, words) in BAD.items():
        upload(at, f"{kind}.mid", data)
        assert len(at.error) == 1 and words in at.error[0].value, (kind, [e.value for e in at.error])
        assert f"{kind}.mid" in at.error[0].value
        details = [c.value for c in at.caption if "What the MIDI reader found" in c.value]
        assert (DETAILS[kind] in details[0]) if kind in DETAILS else not details, (kind, details)
        assert not any("Piano roll" in c.proto.spec for c in at.get("plotly_chart"))
    upload(at, "long.mid", chorale(300))  # then a long piece: a window of it, an overview of all
    assert not at.error
    at.slider(key="up_start_300_128").set_value(100).run()
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    gates = next(s for s in specs if GATES <= names(s))
    gru_z = next(t for t in gates["data"] if t["name"] == "GRU z")
    assert decode(gru_z["x"]).tolist() == list(range(100, 228))
    overview = next(s for s in specs if any((n or "").startswith("LSTM (mean") for n in names(s)))
    assert all(len(decode(t["y"])) == 300 for t in overview["data"])
    assert any("Steps 100–227 of 300" in c.value for c in at.caption)


def test_the_labs_models_apply_and_without_them_the_page_says_what_to_do():
    from core.lab import Lab
    from core.music.data import load_dataset
    from core.training.settings import LabSettings
    at = open_page()
    at.radio(key="up_source").set_value("lab").run()
    assert "open the **Lab** page" in at.info[0].value and not at.exception
    lab = Lab(LabSettings(eval_every=100), load_dataset("chorales", n_train=8, n_valid=2, n_test=2))
    lab.step()
    at.session_state["up_lab_weights"] = lab.weights()
    upload(at.run(), "chorale.mid", GOOD)
    assert any("after tanh RNN 1 updates" in c.value for c in at.caption)
    assert any("**2 steps per beat** (eighth notes): 48 steps" in c.value for c in at.caption)
    gates = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if '"GRU z"' in c.proto.spec)
    z = decode(next(t for t in gates["data"] if t["name"] == "GRU z")["z"])
    want = trace(lab.trainers["gru"].model, midi_to_roll(GOOD, steps_per_beat=2).roll)["z"]
    np.testing.assert_allclose(z, want[:48].T, atol=1e-6)


def test_in_korean_the_page_and_its_messages_are_korean():
    at = open_page(lang="ko")
    assert at.title[0].value == "나의 음악" and "표준 MIDI 파일" in at.info[0].value
    assert at.radio(key="up_source").options == ["사전 학습된 모델 (GateLab 제공)",
                                                 "이 세션에서 학습한 모델 (실험실 페이지)",
                                                 "체크포인트 파일 (.pt)"]
    assert at.selectbox(key="up_set").options[0].startswith("JSB Chorales, PyTorch 수식 (tanh RNN 유닛 100개")
    upload(at, "broken.mid", BAD["truncated"][0])
    assert at.error[0].value.startswith("**broken.mid** 파일은 쓸 수 없습니다: MIDI 파일이 중간에 잘려")
    assert any("track 2 of 3" in c.value for c in at.caption)  # core's English detail, below
    upload(at, "big.mid", BAD["too_large"][0])
    assert "파일 크기가 5.2 MB입니다. 한도는 4.2 MB입니다." in at.error[0].value
    upload(at, "chorale.mid", GOOD)
    assert not at.error
    assert any("**박자당 1단계** (4분음표): 24단계" in c.value for c in at.caption)
    assert [tab.label for tab in at.tabs] == ["게이트", "셀 상태", "예측과 실제", "커서 위치"]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert specs[0]["layout"]["title"]["text"] == "피아노 롤 (음높이 × 단계)"
    assert at.button(key="up_sample_go").label == "샘플링"


def test_projector_mode_keeps_the_roll_the_gates_and_the_overview():
    at = upload(open_page(projector="1"), "chorale.mid", GOOD)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 3 and any(GATES <= names(s) for s in specs)
    assert specs[0]["layout"]["title"]["text"] == "Piano roll (pitch × step)"
    assert not at.caption and not at.tabs                     # no long captions, no other views
    assert not at.get("audio") and not at.get("download_button")
    assert "up_s_steps" not in {n.key for n in at.number_input}  # no sampling


def test_trace_downloads_hold_every_step():
    model, _ = load_pretrained("jsb-lstm-torch")
    piece = midi_to_roll(GOOD, steps_per_beat=1)
    tr = trace(model, piece.roll)
    npz = np.load(io.BytesIO(trace_npz(tr, piece.step_times)))
    np.testing.assert_array_equal(npz["c"], tr["c"])
    np.testing.assert_array_equal(npz["step_times"], piece.step_times)
    lines = trace_csv(tr, piece.step_times).splitlines()
    header = lines[0].split(",")
    assert len(lines) == 25 and header[:4] == ["step", "time_s", "nll", "notes"]
    assert len(header) == 4 + 36 * 6 + 88
    row = np.array(lines[6].split(","), dtype=float)
    assert row[0] == 5 and row[1] == pytest.approx(2.5) and row[2] == pytest.approx(tr["nll"][5], rel=1e-4)
    assert row[header.index("f_7")] == pytest.approx(tr["f"][5, 7], rel=1e-4)
