"""The lesson's moment of taking a unit apart: the LSTM with and without one of its gates,
trained side by side from the same start on the same batches of the long-memory task (the
lesson's own settings, ``core.insight.lesson.lesson_settings``) for a bounded number of
updates, so that a class sees what the gate was for.

It runs in the session's worker (``core.lab.protocol.COMPUTE["take_apart"]``) a chunk of about
``CHUNK_S`` seconds per request, so the page can show its progress between chunks; the run's
``core.lab.Lab`` waits in the worker between them (one run per worker: a new run replaces it).
A run ends after ``UPDATES`` updates per model or ``MAX_S`` seconds of training, whichever comes
first. No torch at import: the web server reads the gates and the sizes from here.
"""
import time

import numpy as np

GATES = {"f": "lstm-nfg", "i": "lstm-nig", "o": "lstm-nog"}  # the gate taken out -> the unit without it
UPDATES = 1200     # per model: where each gate has shown what it is for (docs/teaching.md); about a minute
MAX_S = 180.0      # training seconds at most, whatever the machine's load
CHUNK_S = 1.0      # one request's training, between two progress reports
MARGIN = 0.05      # nats per step: closer than this in validation is "no clear difference"
FINAL_WINDOW = 20  # the final training loss: the mean of the last this many updates

_RUN: dict = {}    # in the worker: {"key": run key, "lab": Lab, "seconds": training time so far}


def archs(gate: str) -> tuple[str, str]:
    """(the LSTM, the LSTM without ``gate``)."""
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; choose one of {', '.join(GATES)}")
    return "lstm", GATES[gate]


def settings(gate: str):
    """The lesson's Lab setup with the two units (``core.training.settings.LabSettings``)."""
    from dataclasses import replace

    from core.insight.lesson import lesson_settings
    return replace(lesson_settings(), archs=archs(gate))


def _lab(gate: str, run: str):
    if _RUN.get("key") != (gate, run):
        from core.lab import Lab, load_lab_dataset
        s = settings(gate)
        _RUN.clear()
        _RUN.update(key=(gate, run), lab=Lab(s, load_lab_dataset(s.dataset)), seconds=0.0)
    return _RUN["lab"]


def take_apart(gate: str, run: str, updates: int = UPDATES, chunk_s: float = CHUNK_S,
               max_s: float = MAX_S) -> dict:
    """Train run ``run`` (a key the page makes per click) of the LSTM with and without ``gate``
    for about ``chunk_s`` more seconds, and say where it stands.

    Returns
    -------
    dict
        ``archs`` (with, without); ``updates`` done per model and ``total`` asked; ``seconds`` of
        training so far; ``done``; ``loss``: ``core.lab.Lab.loss_history`` (the Lab's loss
        chart draws it); and once done ``final``: arch -> {"train": mean training NLL of the last
        ``FINAL_WINDOW`` updates, "valid": validation NLL, "answer": NLL at the answer,
        ``core.insight.lesson.answer_nll``}, all in nats per step, from the trained models.
    """
    lab = _lab(gate, run)
    start = time.monotonic()
    while lab.steps < updates and _RUN["seconds"] + time.monotonic() - start < max_s \
            and time.monotonic() - start < chunk_s:
        lab.step()
    _RUN["seconds"] += time.monotonic() - start
    done = lab.steps >= updates or _RUN["seconds"] >= max_s
    out = {"archs": archs(gate), "gate": gate, "updates": lab.steps, "total": updates,
           "seconds": _RUN["seconds"], "done": done, "loss": lab.loss_history()}
    if done:
        out["final"] = final_numbers(lab)
        out["loss"] = lab.loss_history()   # with the last validation row
    return out


def final_numbers(lab) -> dict:
    """arch -> the trained models' final numbers (``take_apart``'s ``final``); validates now
    unless the last validation was at this update."""
    from core.insight.lesson import ANSWER_PIECES, answer_nll
    if any(rows[-1][0] != lab.trainers[a].updates for a, rows in lab.valid_rows.items()):
        lab.evaluate()
    return {a: {"train": float(np.mean([r[2] for r in lab.train_rows[a][-FINAL_WINDOW:]])),
                "valid": float(lab.valid_rows[a][-1][2]),
                "answer": answer_nll(t.model, lab.pieces[:ANSWER_PIECES])}
            for a, t in lab.trainers.items()}


def verdict(final: dict, with_gate: str, without: str, margin: float = MARGIN) -> str:
    """What the difference says, from the validation NLLs: "helped" (without the gate the unit
    ends more than ``margin`` nats per step worse), "hindered" (more than ``margin`` better) or
    "even"."""
    ours, theirs = final[with_gate]["valid"], final[without]["valid"]
    if not (np.isfinite(ours) and np.isfinite(theirs)):   # a model that diverged ends worst
        return "even" if np.isfinite(ours) == np.isfinite(theirs) else "helped" if np.isfinite(ours) else "hindered"
    difference = theirs - ours
    return "helped" if difference > margin else "hindered" if difference < -margin else "even"
