"""What-if maths on a model's equations: a piece run step by step with a gate held at a value
(``run_clamped``, ``intervention``), and the numbers of one step (``step_numbers``), from the
step with every number (``core.units.teaching_cells``) and the model's trace (``core.insight.trace``).
"""
import numpy as np
import torch

from core.insight.trace import trace
from core.units.models import RecurrentModel, shift_inputs, step_nll
from core.units.records import Clamp
from core.units.registry import UNITS
from core.units.teaching_cells import cell_numbers, step_through


def run_clamped(model: RecurrentModel, roll: np.ndarray, clamp: Clamp | None = None) -> dict:
    """Run ``model`` on a piece step by step with ``clamp`` applied at every step.

    Parameters
    ----------
    roll : np.ndarray, shape=(T, 88)

    Returns
    -------
    dict of name -> np.ndarray: ``nll`` (T,) and ``h`` (T, H), plus the clamped gate (T, H);
    same alignment as ``core.insight.trace`` (step t has read frames 0..t-1 and predicts frame t).
    """
    target = torch.as_tensor(np.asarray(roll), dtype=torch.float32)
    x = shift_inputs(target)                                   # (T, 88)
    with torch.no_grad():
        states = step_through(model.rnn, model.spec.arch, model.spec.variant, x, clamp)
        nll = step_nll(model.out(states["h"]), target)          # (T,)
    out = {"nll": nll.numpy(), "h": states["h"].numpy()}
    if clamp is not None:
        out[clamp.gate] = states[clamp.gate].numpy()
    return out


def intervention(model: RecurrentModel, roll: np.ndarray, clamp: Clamp) -> dict:
    """NLL per step (T,) of the model as it is (``base``) and with ``clamp`` (``clamped``)."""
    return {"base": run_clamped(model, roll)["nll"], "clamped": run_clamped(model, roll, clamp)["nll"]}


def step_numbers(model: RecurrentModel, roll: np.ndarray, t: int) -> dict:
    """The numbers of step ``t`` of a piece, from the model's weights and its traced states.

    Returns name -> np.ndarray (H,) (see ``cell_numbers``) plus ``x`` (88,), the frame read at
    step t (frame t-1; silent at t = 0), ``h_prev`` and, for the LSTM, ``c_prev``.
    """
    roll = np.asarray(roll)
    t = min(max(int(t), 0), len(roll) - 1)
    states = trace(model, roll[:t + 1]).arrays                 # causal: frames after t unused
    H = model.spec.units
    h_prev = torch.from_numpy(states["h"][t - 1]) if t > 0 else torch.zeros(H)
    c_prev = torch.from_numpy(states["c"][t - 1]) if t > 0 and "c" in states else torch.zeros(H)
    x = shift_inputs(torch.as_tensor(roll[:t + 1], dtype=torch.float32))[t]
    g_prev = None
    if t > 0 and UNITS[model.spec.arch].gate_recurrence(model.spec.variant):  # reads the last step's gates
        g_prev = torch.from_numpy(np.concatenate([states[g][t - 1] for g in ("i", "f", "o")]))
    with torch.no_grad():
        n = cell_numbers(model, x, h_prev, c_prev, g_prev=g_prev)
    out = {k: v.detach().numpy().astype(np.float64) for k, v in n.items()}
    out.update(x=x.numpy(), h_prev=h_prev.numpy().astype(np.float64))
    if UNITS[model.spec.arch].base == "lstm":
        out["c_prev"] = c_prev.numpy().astype(np.float64)
    return out
