"""The built-in lesson's numbers: where the answer sounds in a long-memory sequence, how well
each unit predicts it, and when the lesson's point is made. No torch at import: the web server
reads the settings and the margin; the worker computes ``lesson_view`` on its models.
"""
import numpy as np

from core.units import UNITS

ANSWER_PIECES = 16    # validation sequences the NLL at the answer is averaged over


def answer_step(roll: np.ndarray, chord=None) -> int | None:
    """The step of a long-memory sequence where the answer chord sounds (``core.music.builtin``);
    None if it never does."""
    from core.music.builtin import ANSWER_CHORD
    cols = [k - 21 for k in (chord or ANSWER_CHORD)]
    hits = np.flatnonzero(np.asarray(roll)[:, cols].all(axis=1))
    return int(hits[0]) if hits.size else None


LESSON_MARGIN = 3.0  # nats: the lesson's point is made once a gated unit beats tanh by this at the answer


def lesson_settings():
    """The built-in lesson's Lab setup: the long-memory task (lag 30), all three units at ~20k
    parameters, Adam at lr 0.01 on batches of 32 whole sequences (docs/data.md: the setting
    where gated units learn it within about a minute and tanh does not)."""
    from core.training.settings import LabSettings
    return LabSettings(dataset="long-memory", lr=0.01, batch_size=32, truncate=0, eval_every=25)


def lesson_point(answers: dict) -> bool:
    """True once the best gated unit's NLL at the answer is LESSON_MARGIN below the tanh RNN's."""
    gated = [v for a, v in answers.items() if a != "tanh" and np.isfinite(v)]
    return "tanh" in answers and bool(gated) and min(gated) <= answers["tanh"] - LESSON_MARGIN


def answer_nll(model, pieces: list) -> float:
    """Mean NLL (nats) of ``model`` (a ``core.units.models.RecurrentModel``) at the answer step of
    long-memory sequences: ~16 for a model that cannot hold the call for ``lag`` steps, far less
    for one that can (``docs/data.md``)."""
    from core.insight.trace import trace
    values = [trace(model, roll)["nll"][t] for roll in pieces
              if (t := answer_step(roll)) is not None]
    return float(np.mean(values)) if values else float("nan")


def lesson_view(models: dict, pieces: list, n_pieces: int = ANSWER_PIECES) -> dict:
    """What the lesson page draws, from the models as they are now.

    Parameters
    ----------
    models : dict
        arch -> ``core.units.models.RecurrentModel``.
    pieces : list of np.ndarray, each shape=(T, 88)
        Validation sequences of the long-memory task; the first one's gates are shown.

    Returns
    -------
    dict
        ``answers``: arch -> mean NLL at the answer over the first ``n_pieces`` pieces;
        ``gates``: arch -> gate name -> (T, H) for the gated units on ``roll``
        (``core.units``: its traced quantities); ``roll``: the
        first piece, (T, 88); ``answer``: its answer step.
    """
    from core.insight.trace import trace
    roll = pieces[0]
    gates = {}
    for arch, model in models.items():
        names = UNITS[arch].traced
        if names:
            traced = trace(model, roll)
            gates[arch] = {g: traced[g] for g in names}
    return {"answers": {a: answer_nll(m, pieces[:n_pieces]) for a, m in models.items()},
            "gates": gates, "roll": roll, "answer": answer_step(roll)}
