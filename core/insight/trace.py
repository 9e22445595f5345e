"""Exact gate traces: every gate, state and prediction a model computes on one piece.

Alignment (the one used everywhere in GateLab: CLI, dashboard, NLL): the model reads a
silent frame first, so **step t has read frames 0..t-1 and predicts frame t**. A piece of T
frames gives T steps and every frame is predicted.

How it is fast: the recurrence runs once, in the training's compiled forward loop at batch 1
(``core.units.fast_loops``; without numba, the module's own forward pass, or for the LSTM, whose
module does not return its cells, the teaching form step by step); then, knowing every hidden
state h (and LSTM cell c), all gates are recomputed at once from (x_t, h_{t-1}, c_{t-1}) by
the teaching form of the equations (``core.units.teaching_cells.layer_numbers``) over the whole
piece. The traced ``h`` is *recomputed from the gates* (not copied from the module), so the
test ``traced h == fused output`` checks those equations against the fused modules.

Gates are reported in the paper's convention for both variants. PyTorch's GRU computes
h = (1 - z') * n + z' * h_prev, so its z' is the share of the OLD state; GateLab reports
z = 1 - z', the share of the NEW candidate, as in the paper's h = (1 - z) h_prev + z h~.
"""
import threading
from contextlib import contextmanager

import numpy as np
import torch

from core.units import UNITS, fast_rnn
from core.units.cells import MGU, PaperLSTM
from core.units.fast_rnn import PLAIN_LSTM
from core.units.models import RecurrentModel, shift_inputs, step_nll
from core.units.records import Trace
from core.units.teaching_cells import layer_numbers, step_through


def _previous(states: torch.Tensor) -> torch.Tensor:
    """States (T, H) one step later: row t holds step t-1's, row 0 zeros."""
    return torch.cat([states.new_zeros(1, states.shape[1]), states[:-1]])


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().float().numpy())


def _loop_weights(rnn):
    """The layer's weights as its compiled loop reads them (float32 numpy): W_ih, b_ih, W_hh,
    b_hh, and for the LSTM family the peepholes (3, H), R and the switches; an LSTM variant and
    the MGU in the layout of the unit whose loop they run (``core.units.cells``)."""
    if isinstance(rnn, PaperLSTM):
        W_ih, b_ih, W_hh, b_hh, peep, R, modes = rnn.full_layout()
        return [_np(t) for t in (W_ih, b_ih, W_hh, b_hh, peep, R)] + [np.asarray(modes, np.int64)]
    if isinstance(rnn, MGU):
        return [_np(t) for t in rnn.gru_layout()]
    weights = [_np(t) for t in (rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0)]
    if isinstance(rnn, torch.nn.LSTM):  # PyTorch's: no peepholes, no switches
        H = rnn.hidden_size
        weights += [np.zeros((3, H), np.float32), np.zeros((1, 1), np.float32), np.array(PLAIN_LSTM, np.int64)]
    return weights


def _run_states(model: RecurrentModel, x: torch.Tensor):
    """Hidden states h (T, H), for the LSTM family cells c (T, H) (else None), and for a full gate
    recurrence the gates i, f, o (T, 3H) (else None), in float32 on the CPU.

    With numba, the training's compiled forward loops at batch 1 (``core.units.fast_loops``);
    without it, the module's own forward pass (for the LSTM, whose module does not return
    its cells, the teaching form step by step).
    """
    rnn, arch, variant = model.rnn, model.spec.arch, model.spec.variant
    lstm = UNITS[arch].base == "lstm"
    x = x.detach().cpu().float()
    if not fast_rnn.available():
        if lstm:
            states = step_through(_Float32View(rnn), arch, variant, x, gates=True)
            return states["h"], states["c"], states.get("ifo")
        return model.hidden(x.to(next(model.parameters())).unsqueeze(0))[0].cpu().float(), None, None
    W_ih, b_ih, W_hh, b_hh, *lstm_extra = _loop_weights(rnn)
    gi = (x.numpy() @ W_ih.T + b_ih)[None]                   # (1, T, G*H)
    T, H = gi.shape[1], rnn.hidden_size
    hs, h0 = np.empty((1, T, H), np.float32), np.zeros((1, H), np.float32)
    Ut = np.ascontiguousarray(W_hh.T)
    if lstm:
        peep, R, modes = lstm_extra
        cs, gates = np.empty_like(hs), np.empty_like(gi)
        fast_rnn.call("lstm_forward", gi, h0, h0, Ut, b_hh, peep, np.ascontiguousarray(R.T), modes, hs, cs, gates)
        ifo = np.concatenate([gates[0, :, :2 * H], gates[0, :, 3 * H:]], axis=-1) if modes[5] else None
        return torch.from_numpy(hs[0]), torch.from_numpy(cs[0]), None if ifo is None else torch.from_numpy(ifo)
    if arch == "tanh":
        fast_rnn.call("tanh_forward", gi, h0, Ut, b_hh, hs)
    elif variant == "paper" or arch == "mgu":
        Ut_rz, Ut_n = np.ascontiguousarray(Ut[:, :2 * H]), np.ascontiguousarray(Ut[:, 2 * H:])
        fast_rnn.call("paper_gru_forward", gi, h0, Ut_rz, Ut_n, b_hh, hs, np.empty_like(gi))
    else:
        fast_rnn.call("gru_forward", gi, h0, Ut, b_hh, hs, np.empty_like(gi), np.empty_like(hs))
    return torch.from_numpy(hs[0]), None, None


_THREADS = {"lock": threading.Lock(), "depth": 0, "before": 1}


@contextmanager
def _one_thread():
    """Run small tensor ops on one thread: at batch 1, waking torch's thread pool costs more
    than it saves, and on a busy 2-core machine it made traces 3-5x slower (measured).

    The setting is process-wide, so concurrent traces (a web server's sessions) share it: the
    first to enter saves the thread count and the last to leave restores it."""
    with _THREADS["lock"]:
        if _THREADS["depth"] == 0:
            _THREADS["before"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _THREADS["depth"] += 1
    try:
        yield
    finally:
        with _THREADS["lock"]:
            _THREADS["depth"] -= 1
            if _THREADS["depth"] == 0:
                torch.set_num_threads(_THREADS["before"])


def trace(model: RecurrentModel, roll: np.ndarray) -> Trace:
    """Trace ``model`` on a piano roll.

    Parameters
    ----------
    roll : np.ndarray, shape=(T, 88)
        The piece, 0/1 per key and step.
    """
    with torch.no_grad(), _one_thread():
        return _trace(model, roll)


def _trace(model: RecurrentModel, roll: np.ndarray) -> Trace:
    spec = model.spec
    if len(roll) == 0:
        raise ValueError("cannot trace an empty piece (0 steps)")
    target = torch.as_tensor(np.asarray(roll), dtype=torch.float32)
    x = shift_inputs(target)                                   # (T, 88)
    h_run, c_run, ifo = _run_states(model, x)                  # (T, H) each; (T, 3H)
    c_prev = _previous(c_run) if c_run is not None else None
    g_prev = _previous(ifo) if ifo is not None else None
    numbers = layer_numbers(_Float32View(model.rnn), spec.arch, spec.variant, x, _previous(h_run), c_prev,
                            g_prev=g_prev)
    states = {name: numbers[name] for name in (*UNITS[spec.arch].traced, "h")}
    W_out, b_out = model.out.weight.detach().cpu().float(), model.out.bias.detach().cpu().float()
    logits = states["h"] @ W_out.T + b_out                     # (T, 88)
    arrays = {k: v.float().numpy() for k, v in states.items()}
    arrays["probs"] = torch.sigmoid(logits).float().numpy()
    arrays["nll"] = step_nll(logits, target).float().numpy()
    arrays["target"] = target.numpy().astype(np.uint8)
    return Trace(spec.arch, spec.variant, spec.units, arrays)


class _Float32View:
    """The layer's parameters as float32 CPU tensors, under the same names."""

    def __init__(self, rnn):
        self.hidden_size = rnn.hidden_size
        for name in ("switches", "blocks", "peeps"):  # an LSTM variant's (core.units.cells.PaperLSTM)
            if hasattr(rnn, name):
                setattr(self, name, getattr(rnn, name))
        for name, p in rnn.named_parameters():
            setattr(self, name, p.detach().cpu().float())
