"""The maths of GateLab's teaching tools: gate saturation and memory length. (One step with
every intermediate number: ``core.units.teaching_cells``; gate clamps: ``core.insight.interventions``; the
numbers the built-in lesson points at: ``core.insight.lesson``.)

- **Gate saturation** (Karpathy, Johnson & Fei-Fei 2015): per unit, the fraction of time
  steps a gate is left-saturated (< 0.1: closed) and right-saturated (> 0.9: open).
- **Memory length** (Madsen, Distill 2019): how much the output at step t moves with the input
  at step t-k, ``||d y_t / d x_{t-k}||`` (Frobenius norm of the 88 x 88 Jacobian of the output
  logits y_t = W_y h_t + b_y), for k = 0..K. A tanh RNN's norms fall geometrically with k
  (the vanishing gradient); gated units can keep them up.
"""
import numpy as np
import torch

from core.units import UNITS
from core.units.models import RecurrentModel, shift_inputs
from core.units.records import Trace

LOW, HIGH = 0.1, 0.9                 # Karpathy et al.'s saturation thresholds


def saturation(gate: np.ndarray, low: float = LOW, high: float = HIGH) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of steps with the gate below ``low`` and above ``high``.

    Parameters
    ----------
    gate : np.ndarray, shape=(T, H)
        Gate values in [0, 1]. No steps (T = 0) gives NaN fractions.

    Returns
    -------
    left, right : np.ndarray, shape=(H,)
    """
    gate = np.asarray(gate, dtype=np.float64)
    if len(gate) == 0:
        nan = np.full(gate.shape[1], np.nan)
        return nan, nan.copy()
    return (gate < low).mean(axis=0), (gate > high).mean(axis=0)


def trace_saturation(traces, low: float = LOW, high: float = HIGH) -> dict:
    """Saturation of every gate of one model, pooled over the steps of one or more traces.

    Parameters
    ----------
    traces : Trace or list of Trace
        Traces of the same model (e.g. each piece of a split).

    Returns
    -------
    dict of gate name -> (left (H,), right (H,)); empty for the tanh RNN (no gates).
    """
    traces = [traces] if isinstance(traces, Trace) else list(traces)
    names = UNITS[traces[0].arch].gates
    return {g: saturation(np.concatenate([tr[g] for tr in traces]), low, high) for g in names}


def model_saturation(model: RecurrentModel, pieces: list, low: float = LOW, high: float = HIGH) -> dict:
    """``trace_saturation`` of ``model`` traced on every piece (T_i, 88) of ``pieces``."""
    from core.insight.trace import trace
    return trace_saturation([trace(model, p) for p in pieces], low, high)


def _state_before(model: RecurrentModel, x: torch.Tensor, s: int):
    """The layer's state after reading x[:s] (None: the zero start state), batch 1."""
    if s == 0:
        return None
    _, state = model.rnn(x[None, :s])
    return state


def _expand(state, batch: int):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(_expand(s, batch) for s in state)
    return state.expand(state.shape[0], batch, state.shape[2]).contiguous()


def memory_gradients(model: RecurrentModel, roll: np.ndarray, t: int, K: int) -> np.ndarray:
    """``||d y_t / d x_{t-k}||_F`` for k = 0..K at step ``t`` of a piece.

    y_t (88,) are the output logits of step t; x_{t-k} (88,) is the frame read at step t-k
    (alignment of ``core.insight.trace``: x_s is frame s-1, x_0 silent). Entries with t-k < 0 are NaN.
    One backward pass: 88 copies of the sequence, copy j back-propagating only key j of y_t,
    from the (constant) state before step t-K.

    Returns
    -------
    np.ndarray, shape=(K+1,)
    """
    roll = np.asarray(roll)
    t = min(max(int(t), 0), len(roll) - 1)
    x = shift_inputs(torch.as_tensor(roll[:t + 1], dtype=torch.float32))   # (t+1, 88)
    s = max(t - K, 0)
    with torch.no_grad():
        state = _expand(_state_before(model, x, s), 88)
    window = x[s:].expand(88, t + 1 - s, 88).clone().requires_grad_(True)   # (88, W, 88)
    with torch.enable_grad():
        h, _ = model.rnn(window, state)                        # (88, W, H)
        y = model.out(h[:, -1])                                # (88, 88): copy j, key k
        (grad,) = torch.autograd.grad(y.diagonal().sum(), window)  # (88, W, 88)
    norms = grad.pow(2).sum(dim=(0, 2)).sqrt().flip(0)         # k = 0 .. t-s
    out = np.full(K + 1, np.nan)
    out[:len(norms)] = norms.numpy()
    return out


def memory_curve(model: RecurrentModel, roll: np.ndarray, K: int, n_steps: int = 16) -> np.ndarray:
    """``memory_gradients`` averaged over up to ``n_steps`` evenly spaced steps t >= K
    (all steps t when the piece is shorter than K + 1). Shape (K+1,)."""
    T = len(roll)
    first = K if T > K else 0
    steps = np.unique(np.linspace(first, T - 1, min(n_steps, T - first)).round().astype(int))
    return np.nanmean([memory_gradients(model, roll, t, K) for t in steps], axis=0)
