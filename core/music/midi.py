"""MIDI files in and out of piano rolls, at a musical resolution.

A step is a fraction of a beat (``steps_per_beat=2``: eighth notes, like the datasets), so a
roll follows the file's tempo map instead of fixed seconds; ``step_times`` gives each step's
time in seconds for aligning audio and charts. Reading is done on ticks with mido, so every
note boundary lands exactly on a step; every failure becomes a :class:`MidiError`.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import mido
import numpy as np
import pretty_midi

from core.errors import GateLabError
from core.music.rolls import HIGHEST_PITCH, LOWEST_PITCH, N_KEYS

MAX_MIDI_BYTES = 4 * 2**20  # uploads larger than this are refused (typical files: < 200 kB)
MAX_MIDI_FILES = 32         # files in one upload of the Lab's own music (a small corpus)
MAX_STEPS = 20_000  # longest roll accepted: ~83 minutes of eighth notes at 120 bpm
DRUM_CHANNEL = 9  # General MIDI percussion (channel 10 counted from 1)
DEFAULT_TEMPO = 500_000  # microseconds per beat (120 bpm) until the first set_tempo
WRITE_RESOLUTION = 480  # ticks per beat on export: divisible by 1, 2, 3, 4, 6, 8 steps per beat


class MidiError(GateLabError):
    """A MIDI file that cannot become a piano roll; ``str(e)`` is for the user.

    ``kind`` is one of ``"not_midi"``, ``"truncated"``, ``"corrupt"``, ``"empty"``,
    ``"no_notes"``, ``"drums_only"``, ``"out_of_range"``, ``"too_large"``, ``"too_long"``.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class MidiRoll:
    """A MIDI file as a piano roll.

    Attributes
    ----------
    roll : np.ndarray, shape=(T, 88), dtype uint8
        1 where a key sounds during a step.
    step_times : np.ndarray, shape=(T,), dtype float64
        Time in seconds at which each step starts, following the tempo map.
    steps_per_beat : float
        Steps per quarter note.
    dropped_notes : int
        Notes of the chosen instruments outside the piano range 21..108, left out.
    instruments : list of str
        Every pitched or drum part with notes, as ``"<index>: <name>"``; ``instruments=[i]``
        in :func:`midi_to_roll` picks part ``i``.
    selected : list of int
        Indices of the parts merged into ``roll`` (drums never are).
    end_time : float
        Time in seconds at which the last step ends.
    """

    roll: np.ndarray
    step_times: np.ndarray
    steps_per_beat: float
    dropped_notes: int
    instruments: list[str]
    selected: list[int]
    end_time: float


@dataclass
class _Part:
    """The notes of one (track, channel, program) in ticks, as pretty_midi groups them."""

    name: str
    is_drum: bool
    notes: list  # (start_tick, end_tick, pitch)


def upload_limit() -> int:
    """Bytes one uploaded MIDI file may have (``GATELAB_MAX_MIDI_BYTES``, default
    ``MAX_MIDI_BYTES``): every uploader's own limit, and in megabytes the web server's
    ``server.maxUploadSize`` (``app/serve.py``), which refuses a larger request as it streams in."""
    try:
        return max(1, int(os.environ.get("GATELAB_MAX_MIDI_BYTES", MAX_MIDI_BYTES)))
    except ValueError:
        return MAX_MIDI_BYTES


def upload_limit_mb() -> int:
    """``upload_limit`` in whole megabytes (MiB, as Streamlit counts them), rounded up."""
    return -(-upload_limit() // 2**20)


def midi_to_roll(source: str | os.PathLike | bytes, steps_per_beat: float = 2,
                 instruments=None, max_bytes: int = MAX_MIDI_BYTES,
                 max_steps: int = MAX_STEPS) -> MidiRoll:
    """Read a MIDI file into a piano roll at ``steps_per_beat`` steps per quarter note.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path, or the file's bytes (e.g. a dashboard upload).
    steps_per_beat : float
        1 = quarter notes (JSB), 2 = eighth notes (the other datasets), 4 = sixteenths.
    instruments : sequence of int, optional
        Indices of the parts to merge (see ``MidiRoll.instruments``); default: all pitched.
    max_bytes, max_steps : int
        Limits; larger or longer files raise ``too_large`` / ``too_long``.

    Returns
    -------
    MidiRoll
        Drums excluded, pitches outside 21..108 dropped and counted, parts merged. A note
        covers the steps from its onset to its release, each rounded to the nearest step
        (at least one step).

    Raises
    ------
    MidiError
        With ``kind`` saying what is wrong; never a mido or pretty_midi exception.
    """
    if steps_per_beat <= 0:
        raise ValueError(f"steps_per_beat must be positive, got {steps_per_beat}")
    midi = _parse(_read_source(source, max_bytes))
    parts, tempos, last_tick = _collect(midi)
    chosen = _choose_parts(parts, instruments)
    spb, tpb = float(steps_per_beat), midi.ticks_per_beat
    notes = [n for i in chosen for n in parts[i].notes]
    in_range = [n for n in notes if LOWEST_PITCH <= n[2] <= HIGHEST_PITCH]
    if not in_range:
        raise MidiError("out_of_range", f"All {len(notes)} notes lie outside the piano range "
                        "(MIDI pitches 21 to 108), so nothing is left to play.")
    n_steps = max(_to_step(last_tick, spb, tpb), max(_note_steps(n, spb, tpb)[1] for n in notes))
    if n_steps > max_steps:
        raise MidiError("too_long", f"The piece is {n_steps} steps long at {steps_per_beat:g} "
                        f"steps per beat; the limit is {max_steps}. Choose fewer steps per "
                        "beat or a shorter excerpt.")
    roll = np.zeros((n_steps, N_KEYS), dtype=np.uint8)
    for note in in_range:
        start, end = _note_steps(note, spb, tpb)
        roll[start:end, note[2] - LOWEST_PITCH] = 1
    times = _ticks_to_seconds(np.arange(n_steps + 1) * (tpb / spb), tempos, tpb)
    labels = [f"{i}: {p.name}" for i, p in enumerate(parts)]
    return MidiRoll(roll=roll, step_times=times[:-1], steps_per_beat=spb,
                    dropped_notes=len(notes) - len(in_range), instruments=labels,
                    selected=list(chosen), end_time=float(times[-1]))


def _read_source(source, max_bytes: int) -> bytes:
    """The file's bytes, refusing empty, oversized and non-MIDI input before parsing."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        if os.path.getsize(source) > max_bytes:
            raise MidiError("too_large", _too_large(os.path.getsize(source), max_bytes))
        with open(source, "rb") as f:
            data = f.read(max_bytes + 1)
    if not data.strip():
        raise MidiError("empty", "The file is empty.")
    if len(data) > max_bytes:
        raise MidiError("too_large", _too_large(len(data), max_bytes))
    if not data.startswith(b"MThd"):
        raise MidiError("not_midi", "This is not a MIDI file (it does not start with the "
                        "MIDI header 'MThd'). Export the piece as a Standard MIDI File (.mid).")
    _check_chunks(data)
    return data


def _too_large(size: int, limit: int) -> str:
    return f"The file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB."


def _check_chunks(data: bytes) -> None:
    """Walk the header and track chunks: one that runs past the end means truncation.

    Bytes after the last declared track are ignored, as mido ignores them.
    """
    header_size = int.from_bytes(data[4:8], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    pos, found = 8 + header_size, 0
    while len(data) >= 14 and pos <= len(data) and found < n_tracks:
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if pos + 8 + size > len(data):
            break
        pos, found = pos + 8 + size, found + 1
    if len(data) < 14 or pos > len(data) or found < n_tracks:
        where = "the header" if len(data) < 14 else f"track {found + 1} of {n_tracks}"
        raise MidiError("truncated", "The MIDI file is cut short (an incomplete download or "
                        f"copy?): it ends inside {where}.")


def _parse(data: bytes) -> mido.MidiFile:
    """mido's reading of ``data``, any failure of which becomes a ``corrupt`` MidiError."""
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises OSError, EOFError, KeyError, ValueError, ...
        raise MidiError("corrupt", f"The MIDI file is damaged and cannot be read ({exc}).") \
            from None
    if not 0 < midi.ticks_per_beat < 0x8000:
        raise MidiError("corrupt", "The MIDI file times its events in SMPTE frames, not beats; "
                        "only beat-based files are supported.")
    return midi


def _collect(midi: mido.MidiFile):
    """Parts with notes, the tempo map [(tick, us_per_beat)] and the last event's tick."""
    parts: dict[tuple, _Part] = {}
    tempos, last_tick = [], 0
    for track_index, track in enumerate(midi.tracks):
        tick, track_name, programs, open_notes = 0, "", {}, {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif msg.type == "track_name" and not track_name:
                track_name = msg.name.strip()
            elif msg.type == "program_change":
                programs[msg.channel] = msg.program
            elif msg.type in ("note_on", "note_off"):
                key = (msg.channel, msg.note)
                if msg.type == "note_on" and msg.velocity > 0:
                    open_notes.setdefault(key, []).append((tick, programs.get(msg.channel, 0)))
                else:
                    _close(open_notes, key, tick, parts, track_index, track_name)
        for key in list(open_notes):  # notes never released end with their track
            _close(open_notes, key, tick, parts, track_index, track_name, at_end=True)
        last_tick = max(last_tick, tick)
    return list(parts.values()), sorted(tempos, key=lambda t: t[0]), last_tick


def _close(open_notes, key, tick, parts, track_index, track_name, at_end=False) -> None:
    """Release the open notes of ``key`` at ``tick`` into their part.

    Like pretty_midi, a release does not end a note struck at the same tick unless that is
    all there is: files often write "on" before "off" when a key is struck again.
    """
    pending = open_notes.get(key, [])
    ending = [n for n in pending if n[0] < tick] or ([] if at_end else pending)
    open_notes[key] = [n for n in pending if n not in ending]
    channel, pitch = key
    for start, program in ending:
        if tick <= start:
            continue  # zero-length note: nothing sounds
        ident = (track_index, channel, program if channel != DRUM_CHANNEL else -1)
        if ident not in parts:
            parts[ident] = _Part(_part_name(track_name, channel, program), channel == DRUM_CHANNEL, [])
        parts[ident].notes.append((start, tick, pitch))


def _part_name(track_name: str, channel: int, program: int) -> str:
    if channel == DRUM_CHANNEL:
        return f"{track_name or 'Drums'} (drums, not used)"
    instrument = pretty_midi.program_to_instrument_name(program)
    return f"{track_name} ({instrument})" if track_name else instrument


def _choose_parts(parts: list[_Part], instruments) -> list[int]:
    """Indices of the pitched parts to merge, with the specific error when there are none."""
    if not parts:
        raise MidiError("no_notes", "The MIDI file contains no notes.")
    pitched = [i for i, p in enumerate(parts) if not p.is_drum]
    if not pitched:
        raise MidiError("drums_only", "The MIDI file contains only drums, which have no pitch "
                        "for a piano roll.")
    if instruments is None:
        return pitched
    wanted = sorted(set(int(i) for i in instruments))
    if any(not 0 <= i < len(parts) for i in wanted):
        raise ValueError(f"instrument indices must be in 0..{len(parts) - 1}, got {wanted}")
    chosen = [i for i in wanted if not parts[i].is_drum]
    if not chosen:
        raise MidiError("drums_only", "Only drum parts were chosen; choose a pitched instrument.")
    return chosen


def _to_step(tick: int, spb: float, tpb: int) -> int:
    """Nearest step boundary to ``tick`` (halves round up, the same way everywhere)."""
    return int(np.floor(tick * spb / tpb + 0.5))


def _note_steps(note, spb: float, tpb: int) -> tuple[int, int]:
    """Steps [start, end) a note covers: rounded boundaries, at least one step."""
    start = _to_step(note[0], spb, tpb)
    return start, max(start + 1, _to_step(note[1], spb, tpb))


def _ticks_to_seconds(ticks: np.ndarray, tempos: list, tpb: int) -> np.ndarray:
    """Seconds at each of ``ticks`` (shape (N,)) under the piecewise-constant tempo map."""
    change_ticks = np.array([0] + [t for t, _ in tempos], dtype=np.float64)
    us_per_beat = np.array([DEFAULT_TEMPO] + [u for _, u in tempos], dtype=np.float64)
    # Seconds elapsed at each tempo change, then linear within the segment it starts.
    seconds_at = np.concatenate([[0.0], np.cumsum(np.diff(change_ticks) * us_per_beat[:-1])])
    seconds_at /= 1e6 * tpb
    seg = np.searchsorted(change_ticks, ticks, side="right") - 1
    return seconds_at[seg] + (ticks - change_ticks[seg]) * us_per_beat[seg] / (1e6 * tpb)


def roll_to_midi(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: float = 2,
                 program: int = 0) -> pretty_midi.PrettyMIDI:
    """Write a piano roll as one instrument; a key held over consecutive steps is one note.

    Parameters
    ----------
    roll : np.ndarray, shape=(T, 88)
        Nonzero = key sounding.
    tempo : float
        Beats (quarter notes) per minute.
    steps_per_beat : float
        Steps per quarter note, as in :func:`midi_to_roll`.
    program : int
        General MIDI program (0 = Acoustic Grand Piano).

    Returns
    -------
    pretty_midi.PrettyMIDI
        Notes on exact tick multiples of a step, so ``midi_to_roll`` gives ``roll`` back.
    """
    roll = _check_roll(roll)
    if not (tempo > 0 and steps_per_beat > 0):  # also NaN: every comparison with it is False
        raise ValueError(f"tempo and steps_per_beat must be above 0, got {tempo} and {steps_per_beat}")
    seconds_per_step = 60.0 / (tempo * steps_per_beat)
    pm = pretty_midi.PrettyMIDI(resolution=WRITE_RESOLUTION, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program, name="GateLab")
    # Onsets (+1) and releases (-1) of every key: pad with silence so each run has both.
    edges = np.diff(np.pad(roll.astype(np.int8), ((1, 1), (0, 0))), axis=0)
    for key in range(N_KEYS):
        starts = np.flatnonzero(edges[:, key] == 1)
        ends = np.flatnonzero(edges[:, key] == -1)
        for start, end in zip(starts, ends):
            instrument.notes.append(pretty_midi.Note(
                velocity=90, pitch=LOWEST_PITCH + key,
                start=start * seconds_per_step, end=end * seconds_per_step))
    instrument.notes.sort(key=lambda n: (n.start, n.pitch))
    # "All notes off" at the end marks the roll's length, so trailing rests survive a round trip.
    instrument.control_changes.append(
        pretty_midi.ControlChange(number=123, value=0, time=len(roll) * seconds_per_step))
    pm.instruments.append(instrument)
    return pm


def roll_to_midi_bytes(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: float = 2,
                       program: int = 0) -> bytes:
    """:func:`roll_to_midi` as the bytes of a Standard MIDI File (for downloads)."""
    buffer = io.BytesIO()
    roll_to_midi(roll, tempo, steps_per_beat, program).write(buffer)
    return buffer.getvalue()


def roll_to_audio(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: float = 2,
                  fs: int = 22050) -> np.ndarray:
    """A quick sine-wave preview of a piano roll (pretty_midi's synthesizer, no soundfont): the
    fallback of :func:`core.music.audio.render_roll`, which plays a piano where FluidSynth is installed.

    Returns
    -------
    audio : np.ndarray, shape=(round(T * seconds_per_step * fs),), dtype float32
        Mono, peak-normalised to [-1, 1]; silence for an empty roll.
    """
    roll = _check_roll(roll)
    n_samples = int(round(len(roll) * 60.0 / (tempo * steps_per_beat) * fs))
    audio = np.zeros(n_samples, dtype=np.float32)
    if not roll.any():
        return audio  # pretty_midi would divide by a zero peak
    wave = roll_to_midi(roll, tempo, steps_per_beat).synthesize(fs=fs)
    wave = wave[:n_samples]
    audio[:len(wave)] = wave / max(1e-9, float(np.abs(wave).max()))
    return audio


def _check_roll(roll) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != N_KEYS:
        raise ValueError(f"a piano roll has shape (T, {N_KEYS}), got {roll.shape}")
    return roll != 0
