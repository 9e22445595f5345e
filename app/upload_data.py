"""The "Your own music" page's logic, without widgets: which models to apply, their traces on
the uploaded piece, the window the charts show, the cursor's values and the downloads.

Models are named here (``core.records.ModelRef``: a shipped checkpoint by its manifest name, or
the Lab's weights as its worker sent them, ``app.session.trained_weights``) and built, traced and
sampled by this session's worker (``app.session.compute``): the web server holds no torch.
"""
import hashlib
import io

import numpy as np

from app import session
from app.figures.gates import panels_for
from app.figures.piece import AT_CURSOR
from core.lab import pca_2d
from core.pretrained import list_pretrained
from core.records import ModelRef
from core.settings import ModelSpec

MAX_CSV_STEPS = 20_000  # the CSV holds every step: the core's own longest piece


def shipped_sets() -> dict[tuple[str, str], dict]:
    """(dataset, variant) -> {"title", "steps_per_beat", "names": {arch: manifest name}}."""
    sets = {}
    for e in list_pretrained():
        s = sets.setdefault((e.dataset, e.variant), {"names": {}, "steps_per_beat": e.steps_per_beat,
                                                     "entries": {}})
        s["names"][e.arch], s["entries"][e.arch] = e.name, e
    return sets


def shipped_models(names: dict) -> dict:
    """arch -> ModelRef for manifest names (the worker checks each file's sha256 when it builds
    the model; a bad file is the page's message then)."""
    entries = {e.name: e for e in list_pretrained()}
    return {arch: ModelRef(ModelSpec(arch, entries[name].variant, entries[name].units), pretrained=name)
            for arch, name in names.items()}


def lab_models(weights: dict) -> dict:
    """arch -> ModelRef to the Lab worker's weights (``core.lab.Lab.weights``)."""
    return {arch: ModelRef.from_weights(w) for arch, w in weights.items()}


def roll_digest(roll: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(roll, dtype=np.uint8).tobytes()).hexdigest()[:16]


def trace_all(models: dict, roll: np.ndarray) -> dict:
    """arch -> Trace of the whole piece (one compiled pass per model, in the worker)."""
    return {arch: session.compute("trace", model, roll, failed="upload.errors.refused")
            for arch, model in models.items()}


def window_views(traces: dict, start: int, stop: int) -> dict:
    """What the Lab's plot builders take, for steps start..stop-1 of every model's trace:
    arch -> {"units", "gates", "h", "state", "state_name", "probs", "nll", "pca",
    "pca_share", "unit_order"} (the same keys as ``core.lab.Lab.views``)."""
    out = {}
    for arch, tr in traces.items():
        w = {k: v[start:stop] for k, v in tr.arrays.items() if k != "target"}
        state_name = "c" if arch == "lstm" else "h"
        pca, share = pca_2d(w[state_name])
        out[arch] = {"units": tr.units, "state_name": state_name, "state": w[state_name],
                     "gates": {g: w[g] for g in panels_for(arch, candidate=True)},
                     "h": w["h"], "probs": w["probs"], "nll": w["nll"], "pca": pca,
                     "pca_share": share,
                     "unit_order": np.argsort(-w[state_name].var(axis=0), kind="stable")}
    return out


def cursor_values(traces: dict, step: int, units: dict) -> dict:
    """arch -> {name: value} of every gate and state of unit ``units[arch]`` at ``step``."""
    return {arch: {n: float(tr.arrays[n][step, units[arch]]) for n in AT_CURSOR[arch]}
            for arch, tr in traces.items()}


def trace_npz(tr, step_times: np.ndarray) -> bytes:
    """The trace as a compressed .npz (``core.trace.Trace.to_npz_dict`` + ``step_times``)."""
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
