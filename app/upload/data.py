"""The "Your own music" page's logic, without widgets: which models to apply, their traces on
the uploaded piece, the window the charts show, the cursor's values, the downloads and the
page's sentences (in the page's language). Its widgets are ``app.upload.inputs`` (choices) and
``app.upload.views`` (charts, downloads, sampling); ``app/upload/upload.py`` puts them in order.

Models are named by ``app.model_files`` (``core.units.records.ModelRef``: a shipped checkpoint by
its manifest name, or the Lab's weights as its worker sent them, ``app.session.trained_weights``)
and built, traced and sampled by this session's worker (``app.session.compute``): the web server
holds no torch.
"""
import io

import numpy as np

from app import session
from app.figures.common import model_name
from app.figures.piece import AT_CURSOR
from app.i18n import dataset_title, t, table
from core.insight.views import window_view
from core.music.midi import MAX_STEPS
from core.units import UNITS

MAX_CSV_STEPS = 20_000  # the CSV holds every step: the core's own longest piece
NOTE_VALUES = (1, 2, 4)  # steps per beat that have a note value's name (upload.note_values)


def trace_all(models: dict, roll: np.ndarray) -> dict:
    """arch -> Trace of the whole piece (one compiled pass per model, in the worker)."""
    return {arch: session.compute("trace", model, roll, failed="upload.errors.refused")
            for arch, model in models.items()}


def window_views(traces: dict, start: int, stop: int) -> dict:
    """arch -> ``core.insight.views.window_view`` of steps start..stop-1 of that model's trace: the
    numbers the Lab's plot builders take, made as the Lab makes them."""
    return {arch: window_view(tr.arrays, arch, tr.units, start, stop) for arch, tr in traces.items()}


def cursor_values(traces: dict, step: int, units: dict) -> dict:
    """arch -> {name: value} of every gate and state of unit ``units[arch]`` at ``step``."""
    return {arch: {n: float(tr.arrays[n][step, units[arch]]) for n in AT_CURSOR[arch]}
            for arch, tr in traces.items()}


def trace_npz(tr, step_times: np.ndarray) -> bytes:
    """The trace as a compressed .npz (``core.insight.trace.Trace.to_npz_dict`` + ``step_times``)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **tr.to_npz_dict(), step_times=np.asarray(step_times))
    return buffer.getvalue()


def trace_csv(tr, step_times: np.ndarray) -> str:
    """One row per step: step, time_s, nll, notes (keys on in the true frame), then every
    unit of h and of each gate (``z_0 .. z_{H-1}``, ...), then p(key) per key (``p_21`` is
    MIDI pitch 21). Values with 5 significant digits."""
    a = tr.arrays
    T = tr.n_steps
    names = ["h", *tr.gate_names]
    cols = ["step", "time_s", "nll", "notes"]
    cols += [f"{n}_{u}" for n in names for u in range(a[n].shape[1])]
    cols += [f"p_{21 + k}" for k in range(a["probs"].shape[1])]
    table = np.column_stack([np.arange(T), np.asarray(step_times)[:T], a["nll"],
                             a["target"].sum(axis=1), *[a[n] for n in names], a["probs"]])
    out = io.StringIO()
    out.write(",".join(cols) + "\n")
    np.savetxt(out, table[:MAX_CSV_STEPS], delimiter=",", fmt="%.5g")
    return out.getvalue()


def steady_tempo(step_times: np.ndarray, steps_per_beat: float) -> float:
    """Beats per minute of the piece's median step (its tempo map, made steady for audio)."""
    steps = np.diff(np.asarray(step_times, dtype=float))
    seconds = float(np.median(steps)) if len(steps) else 0.5 / steps_per_beat
    return 60.0 / (max(seconds, 1e-3) * steps_per_beat)


# -- the page's sentences ------------------------------------------------------------------------
def note_value(spb: float) -> str:
    """The note value one step stands for ("eighth notes"), or "steps" when it has no name."""
    return t(f"upload.note_values.{spb:g}" if spb in NOTE_VALUES else "upload.note_values.other")


def resolution_options(trained_spb: float) -> tuple[list, dict]:
    """The resolutions offered (steps per beat, ascending: the named note values and the
    models' own) and each one's label; the models' own is marked as theirs."""
    options = sorted(set(NOTE_VALUES) | {trained_spb})
    labels = {s: t("upload.resolution.trained" if s == trained_spb else "upload.resolution.option",
                   spb=f"{s:g}", note=note_value(s)) for s in options}
    return options, labels


def set_label(key: tuple[str, str], chosen: dict) -> str:
    """A pretrained set (``shipped_sets``) as the selector shows it: dataset, equations, each
    model's size, and the resolution it reads music at (its training data's)."""
    entries = chosen["entries"]
    three = [a for a in entries if not UNITS[a].family] or list(entries)
    models = ", ".join(t("upload.source.set_model", model=model_name(a), units=entries[a].units) for a in three)
    if len(three) < len(entries):   # a set with units taken apart: named when chosen (app.choosers.choose_units)
        models += t("upload.source.set_more", n=len(entries) - len(three))
    return t("upload.source.set_option", dataset=dataset_title(key[0]),
             variant=table("upload.variants").get(key[1], key[1]), models=models,
             notes=note_value(chosen["steps_per_beat"]))


def pretrained_label(chosen: dict, archs=None) -> str:
    """What a pretrained set applies (``archs``, None: all of it): each model's test NLL."""
    nll = ", ".join(f"{model_name(a)} {e.test_nll:.2f}" for a, e in chosen["entries"].items()
                    if archs is None or a in archs)
    return t("upload.source.pretrained_label", nll=nll)


def lab_label(weights: dict) -> str:
    """What the Lab's models (``core.lab.Lab.weights``) apply: their dataset and updates."""
    settings = next(iter(weights.values()))["settings"]
    updates = ", ".join(t("upload.source.lab_updates", model=model_name(a), n=w["updates"])
                        for a, w in weights.items())
    return t("upload.source.lab_label", dataset=dataset_title(settings["dataset"]), updates=updates)


def midi_reason(error, size: int, limit: int) -> str:
    """The page's sentence for a ``core.music.midi.MidiError``'s kind (core's own message is
    English), for a file of ``size`` bytes and an upload limit of ``limit`` bytes."""
    if error.kind == "too_large":
        return t("upload.errors.midi.too_large", size=f"{size / 1e6:.1f}", limit=f"{limit / 1e6:.1f}")
    if error.kind == "too_long":
        return t("upload.errors.midi.too_long", limit=MAX_STEPS)
    reasons = table("upload.errors.midi")
    return reasons.get(error.kind, reasons["other"])


def removed_gates(archs) -> list[str]:
    """One sentence per gate a unit taken apart lacks: it is a constant, so it has no heatmap."""
    return [t("upload.views.removed", model=model_name(a), gate=gate, value=f"{value:g}")
            for a in archs for gate, value in UNITS[a].removed]


def piece_caption(piece, spb: float, window) -> str:
    """Resolution, length, the parts merged, notes left out (of a ``core.music.midi.MidiRoll``);
    the shaded window if any."""
    per_beat = t("upload.resolution.one" if spb == 1 else "upload.resolution.many", spb=f"{spb:g}")
    sentences = [t("upload.piece.caption", per_beat=per_beat, note=note_value(spb),
                   steps=len(piece.roll), seconds=f"{piece.end_time:.1f}",
                   parts=", ".join(piece.instruments[i] for i in piece.selected))]
    if piece.dropped_notes:
        sentences.append(t("upload.piece.dropped", n=piece.dropped_notes))
    if window:
        sentences.append(t("upload.piece.window"))
    return " ".join(sentences)
