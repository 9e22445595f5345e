"""Audio previews (core/music/audio.py): a piano from FluidSynth and a General MIDI SoundFont, sine
waves when either is missing. CI installs Debian's fluidsynth and timgm6mb-soundfont (.ci/run),
so nothing here skips: without them the piano tests fail and say what to install."""
import io
import wave

import numpy as np
import pytest

from core.music import audio
from core.music.audio import FLUIDSYNTH, SINE, SOUNDFONT_ENV, render_roll

C4 = 261.63  # Hz, MIDI 60
FS = 22050
INSTALL = "FluidSynth or a SoundFont is missing: apt-get install fluidsynth timgm6mb-soundfont (.ci/run)"


def c4_roll(steps: int = 8) -> np.ndarray:
    """MIDI 60 held for ``steps`` eighth notes (2 s at 120 bpm)."""
    roll = np.zeros((steps, 88), dtype=bool)
    roll[:, 60 - 21] = True
    return roll


def strongest_partial(samples: np.ndarray, fs: int, below: float = 2000.0) -> float:
    """The frequency (Hz) of the spectrum's highest peak under ``below`` Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / fs)
    spectrum[(freqs < 30) | (freqs > below)] = 0
    return float(freqs[np.argmax(spectrum)])


@pytest.fixture
def machine_soundfont(monkeypatch):
    """The SoundFont found in the standard places (an inherited GATELAB_SOUNDFONT dropped)."""
    monkeypatch.delenv(SOUNDFONT_ENV, raising=False)
    assert audio.fluidsynth_available() and audio.find_soundfont(), INSTALL
    return audio.find_soundfont()


def test_c4_on_the_piano_sounds_at_262_hz(machine_soundfont):
    samples, rate, engine = render_roll(c4_roll(), tempo=120, steps_per_beat=2, fs=FS)
    assert (rate, engine) == (FS, FLUIDSYNTH)
    assert samples.dtype == np.float32 and 0.99 < np.abs(samples).max() <= 1.0
    n = 2 * FS  # the roll's 2 s; up to RELEASE_S of the release follows
    assert n <= len(samples) <= n + audio.RELEASE_S * FS
    assert strongest_partial(samples[:n], FS) == pytest.approx(C4, abs=3)
    # A piano, not a sine: overtones at 2 f0 (and more) carry real energy.
    spectrum = np.abs(np.fft.rfft(samples[:n] * np.hanning(n)))
    freqs = np.fft.rfftfreq(n, 1 / FS)
    band = lambda f: spectrum[np.abs(freqs - f) < 5].max()  # noqa: E731
    assert band(2 * C4) > 0.05 * band(C4)


def test_a_silent_roll_is_silence(monkeypatch, machine_soundfont):
    for soundfont, expected in ((machine_soundfont, FLUIDSYNTH), ("/nonexistent.sf2", SINE)):
        monkeypatch.setenv(SOUNDFONT_ENV, soundfont)
        samples, rate, engine = render_roll(np.zeros((4, 88)), tempo=120, steps_per_beat=2, fs=8000)
        assert (rate, engine) == (8000, expected)
        assert samples.shape == (8000,) and np.abs(samples).max() < 1e-6  # 4 eighths at 120 bpm: 1 s


def test_gatelab_soundfont_picks_the_file(monkeypatch, machine_soundfont):
    monkeypatch.setenv(SOUNDFONT_ENV, machine_soundfont)
    assert audio.find_soundfont() == machine_soundfont and audio.engine() == FLUIDSYNTH
    assert render_roll(c4_roll(2), fs=FS)[2] == FLUIDSYNTH


@pytest.mark.parametrize("missing", ["soundfont", "binding", "broken soundfont"])
def test_without_fluidsynth_c4_falls_back_to_a_262_hz_sine(monkeypatch, tmp_path, missing):
    if missing == "soundfont":
        monkeypatch.setenv(SOUNDFONT_ENV, "/nonexistent.sf2")
    elif missing == "binding":
        monkeypatch.setattr("pretty_midi.fluidsynth._HAS_FLUIDSYNTH", False)
    else:  # FluidSynth refuses it: render_roll still plays, as sine waves
        (tmp_path / "broken.sf2").write_bytes(b"RIFF not a SoundFont")
        monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "broken.sf2"))
    assert audio.engine() == (FLUIDSYNTH if missing == "broken soundfont" else SINE)
    samples, rate, engine = render_roll(c4_roll(), tempo=120, steps_per_beat=2, fs=FS)
    assert (rate, engine) == (FS, SINE)
    assert samples.shape == (2 * FS,) and samples.dtype == np.float32
    assert strongest_partial(samples, FS) == pytest.approx(C4, abs=3)
    silent, _, engine = render_roll(np.zeros((4, 88)), fs=8000)
    assert engine == SINE and silent.shape == (8000,) and not silent.any()


def test_the_upload_page_says_when_it_fell_back_to_sine_waves(monkeypatch):
    from tests.test_upload import GOOD, open_page, upload

    monkeypatch.setenv(SOUNDFONT_ENV, "/nonexistent.sf2")
    at = upload(open_page(), "chorale.mid", GOOD)
    assert len(at.get("audio")) == 1
    assert any(c.value.startswith("Synthesized with sine waves at a steady 120 bpm") for c in at.caption)
    assert not any("FluidSynth" in c.value for c in at.caption)
    at.number_input(key="up_s_steps").set_value(8)
    at.button(key="up_sample_go").click().run()
    assert not at.exception and len(at.get("audio")) == 4
    assert sum(c.value.startswith("Synthesized with sine waves (this server has no FluidSynth")
               for c in at.caption) == 3


def test_a_wav_file_holds_the_samples_at_16_bits():
    samples, rate, _ = render_roll(c4_roll(), tempo=120, steps_per_beat=2, fs=FS)
    with wave.open(io.BytesIO(audio.wav_bytes(samples, rate))) as played:
        assert (played.getnchannels(), played.getsampwidth(), played.getframerate()) == (1, 2, FS)
        back = np.frombuffer(played.readframes(played.getnframes()), dtype="<i2") / 32767
    assert back.shape == samples.shape and np.abs(back - samples).max() <= 1 / 32767
    loud = np.frombuffer(audio.wav_bytes(np.array([2.0, -3.0, 0.5]), 8000)[44:], dtype="<i2")
    assert loud.tolist() == [32767, -32767, 16383]                     # clipped, not wrapped


def test_the_lab_plays_the_window_its_views_show(monkeypatch):
    """Asked, the Lab renders the validation window the chart shows (no sooner: a class shares
    the server's CPU), as long as the window lasts at its tempo, and says which synthesizer."""
    from app.lab.views import LISTEN_BPM
    from tests import apptest

    at = apptest.open_page("lab/lab.py")
    assert not at.get("audio") and at.button(key="lab_listen").label == "Listen to this window"
    at.button(key="lab_listen").click().run()
    assert not at.exception, [e.value for e in at.exception]
    snap = at.session_state["last_views"]
    target, spb = snap["views"]["target"], snap["dataset"]["steps_per_beat"]
    _, wav, engine = at.session_state["lab_audio"]
    with wave.open(io.BytesIO(wav)) as played:
        rate, n = played.getframerate(), played.getnframes()
    seconds = len(target) / spb * 60 / LISTEN_BPM
    assert len(at.get("audio")) == 1 and engine == FLUIDSYNTH
    assert seconds * rate <= n <= (seconds + audio.RELEASE_S) * rate
    assert wav == audio.wav_bytes(*render_roll(target, LISTEN_BPM, spb)[:2])
    assert any(c.value.startswith(f"Validation piece 0, steps 0–{len(target) - 1}, played on a piano")
               for c in at.caption)

    monkeypatch.setenv(SOUNDFONT_ENV, "/nonexistent.sf2")
    at = apptest.open_page("lab/lab.py", lang="ko")
    at.button(key="lab_listen").click().run()
    assert len(at.get("audio")) == 1 and at.session_state["lab_audio"][2] == SINE
    assert any("사인파로" in c.value for c in at.caption)
    at = apptest.open_page("lab/lab.py", projector="1")
    assert not [b for b in at.button if b.key == "lab_listen"]


def test_the_server_can_import_it_without_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, core.music.audio, app.upload.views; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False"
