"""Audio previews of piano rolls: a piano when the machine has FluidSynth and a General MIDI
SoundFont, sine waves otherwise.

The piano is pretty_midi's ``fluidsynth()`` (the ``pyfluidsynth`` binding, which loads Debian's
``libfluidsynth3``) playing GM program 0, Acoustic Grand Piano, from the first SoundFont found:
``$GATELAB_SOUNDFONT`` when set (then that file or none: ``GATELAB_SOUNDFONT=/nonexistent``
forces the sine waves), else the standard locations below (Debian's ``timgm6mb-soundfont``:
/usr/share/sounds/sf2/TimGM6mb.sf2). The sine waves are :func:`core.music.midi.roll_to_audio`.

Torch-free: the web server imports this module.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pretty_midi
import pretty_midi.fluidsynth

from core.music.midi import _check_roll, roll_to_audio, roll_to_midi

log = logging.getLogger(__name__)

SOUNDFONT_ENV = "GATELAB_SOUNDFONT"
SOUNDFONTS = (
    "/usr/share/sounds/sf2/default-GM.sf2",  # Debian's choice among the GM SoundFonts installed
    "/usr/share/sounds/sf2/TimGM6mb.sf2",    # Debian: timgm6mb-soundfont (6 MB)
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian: fluid-soundfont-gm (145 MB)
    "/usr/share/soundfonts/default.sf2",     # Fedora, Arch
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    # pretty_midi's own copy of TimGM6mb: the piano wherever the FluidSynth library is installed
    str(Path(pretty_midi.__file__).parent / pretty_midi.fluidsynth.DEFAULT_SF2),
)
FLUIDSYNTH, SINE = "fluidsynth", "sine"  # the engines render_roll reports
RELEASE_S = 1.0  # the piano's last notes ring (and its reverb fades) this long after the roll


def find_soundfont() -> str | None:
    """The SoundFont the piano plays: ``$GATELAB_SOUNDFONT`` if set (None if it is no file),
    else the first of :data:`SOUNDFONTS` that exists, else None."""
    override = os.environ.get(SOUNDFONT_ENV, "").strip()
    if override:
        return override if os.path.isfile(override) else None
    return next((path for path in SOUNDFONTS if os.path.isfile(path)), None)


def fluidsynth_available() -> bool:
    """Whether pretty_midi found the ``pyfluidsynth`` binding and, through it, libfluidsynth."""
    return bool(pretty_midi.fluidsynth._HAS_FLUIDSYNTH)


def engine() -> str:
    """The engine :func:`render_roll` would use on this machine now: "fluidsynth" or "sine"."""
    return FLUIDSYNTH if fluidsynth_available() and find_soundfont() else SINE


def render_roll(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: float = 2,
                fs: int = 22050) -> tuple[np.ndarray, int, str]:
    """A piano roll as audio, on a piano if the machine can, else as sine waves.

    Parameters
    ----------
    roll : np.ndarray, shape=(T, 88)
        Nonzero = key sounding (column j = MIDI pitch 21 + j).
    tempo, steps_per_beat : float
        Beats per minute and steps per beat, as in :func:`core.music.midi.roll_to_midi`.
    fs : int
        Sample rate (FluidSynth takes 8000 to 96000 Hz).

    Returns
    -------
    samples : np.ndarray, dtype float32, mono, peak-normalised to [-1, 1]
        The roll's T steps (``round(T * 60 / (tempo * steps_per_beat) * fs)`` samples); the
        piano adds up to RELEASE_S s of release after them. An empty roll is silence.
    rate : int
        ``fs``.
    engine : str
        "fluidsynth" (the piano) or "sine" (FluidSynth, its binding or a SoundFont is missing,
        or FluidSynth failed: logged).
    """
    roll = _check_roll(roll)
    soundfont = find_soundfont() if fluidsynth_available() else None
    if soundfont is not None:
        try:
            return _piano(roll, tempo, steps_per_beat, fs, soundfont), fs, FLUIDSYNTH
        except Exception:  # a broken SoundFont or library: the preview still plays
            log.exception("FluidSynth failed on %s; falling back to sine waves", soundfont)
    return roll_to_audio(roll, tempo, steps_per_beat, fs), fs, SINE


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Mono samples in [-1, 1] as a 16-bit PCM WAV file: what a page keeps and sends (half the
    float32 samples' size, and Streamlit does not convert them again on every rerun)."""
    import io
    import wave
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def render_wav(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: float = 2,
                fs: int = 22050) -> tuple[bytes, str]:
    """:func:`render_roll` as a WAV file (:func:`wav_bytes`), what the pages keep: (wav, engine)."""
    samples, rate, engine = render_roll(roll, tempo, steps_per_beat, fs)
    return wav_bytes(samples, rate), engine


def _piano(roll: np.ndarray, tempo: float, steps_per_beat: float, fs: int,
           soundfont: str) -> np.ndarray:
    import fluidsynth  # pyfluidsynth: present, since pretty_midi found it

    n_samples = int(round(len(roll) * 60.0 / (tempo * steps_per_beat) * fs))
    synth = fluidsynth.Synth(samplerate=float(fs))
    try:
        sfid = synth.sfload(soundfont)
        if sfid < 0:  # pretty_midi would go on and render silence
            raise RuntimeError(f"FluidSynth cannot load the SoundFont {soundfont}")
        if not roll.any():  # checked after loading, so that the engine reported is the true one
            return np.zeros(n_samples, dtype=np.float32)
        pm = roll_to_midi(roll, tempo, steps_per_beat)  # GM program 0: Acoustic Grand Piano
        wave = pm.fluidsynth(synthesizer=synth, sfid=sfid, normalize=False)
    finally:
        synth.delete()
    wave = wave[:n_samples + int(RELEASE_S * fs)]
    peak = float(np.abs(wave).max())
    if not peak > 0:
        raise RuntimeError(f"FluidSynth played silence from {soundfont}")
    audio = np.zeros(max(n_samples, len(wave)), dtype=np.float32)
    audio[:len(wave)] = wave / peak
    return audio
