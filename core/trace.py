"""Exact gate traces: every gate, state and prediction a model computes on one piece.

Alignment (the one used everywhere in GateLab: CLI, dashboard, NLL): the model reads a
silent frame first, so **step t has read frames 0..t-1 and predicts frame t**. A piece of T
frames gives T steps and every frame is predicted.

How it is fast: the recurrence runs once, in the training's compiled forward loop at batch 1
(``core.fast_loops``; without numba, the module's own forward pass); then, knowing every hidden state h (and LSTM cell c),
all gates are recomputed at once with batched matrix products from (x_t, h_{t-1}, c_{t-1}).
The traced ``h`` is *recomputed from the gates* (not copied from the module), so the test
``traced h == fused output`` checks the gate equations themselves.

Gates are reported in the paper's convention for both variants. PyTorch's GRU computes
h = (1 - z') * n + z' * h_prev, so its z' is the share of the OLD state; GateLab reports
z = 1 - z', the share of the NEW candidate, as in the paper's h = (1 - z) h_prev + z h~.
"""
import threading
from contextlib import contextmanager

import numpy as np
import torch

from core import fast_rnn
from core.models import RecurrentModel
from core.records import ALIGNMENT, GATES, Trace  # noqa: F401  (their home; re-exported)

def shift_inputs(roll: torch.Tensor) -> torch.Tensor:
    """Model inputs for a roll (..., T, 88): a silent frame, then frames 0..T-2."""
    return torch.cat([torch.zeros_like(roll[..., :1, :]), roll[..., :-1, :]], dim=-2)


def step_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log p(frame) per step: binary cross-entropy summed over the 88 keys. (..., T)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="none").sum(-1)


def _gru_gates(rnn, x, h_prev, paper: bool) -> dict:
    H = rnn.hidden_size
    gi = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0          # (T, 3H): W x + b_i, rows r, z, n
    W_hh, b_hh = rnn.weight_hh_l0, rnn.bias_hh_l0
    gh = h_prev @ W_hh[:2 * H].T + b_hh[:2 * H]           # (T, 2H): U h_prev + b_h for r, z
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z_gate = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:])
    if paper:   # h~ = tanh(W x + U (r * h_prev)); h = (1 - z) h_prev + z h~
        h_tilde = torch.tanh(gi[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])
        z = z_gate
    else:       # n = tanh(W x + r * (U h_prev + b_hn)); h = (1 - z') n + z' h_prev
        h_tilde = torch.tanh(gi[:, 2 * H:] + r * (h_prev @ W_hh[2 * H:].T + b_hh[2 * H:]))
        z = 1 - z_gate   # paper's convention: the share of the new candidate
    h = (1 - z) * h_prev + z * h_tilde
    return {"z": z, "r": r, "h_tilde": h_tilde, "h": h}


def _peepholes(rnn) -> torch.Tensor:
    """V_i, V_f, V_o as a (3, H) tensor; zeros for PyTorch's LSTM, which has none."""
    if hasattr(rnn, "weight_peep_l0"):
        return rnn.weight_peep_l0.detach().float()
    return torch.zeros(3, rnn.hidden_size)


def _lstm_gates(rnn, x, h_prev, c) -> dict:
    pre = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h_prev @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=-1)             # (T, H) each
    V_i, V_f, V_o = _peepholes(rnn)
    c_prev = torch.cat([c.new_zeros(1, c.shape[1]), c[:-1]])
    i = torch.sigmoid(a_i + V_i * c_prev)                 # i = sigm(W_i x + U_i h_prev + V_i c_prev)
    f = torch.sigmoid(a_f + V_f * c_prev)                 # f = sigm(W_f x + U_f h_prev + V_f c_prev)
    g = torch.tanh(a_g)                                   # c~ = tanh(W_c x + U_c h_prev)
    c_new = f * c_prev + i * g                            # c = f c_prev + i c~
    o = torch.sigmoid(a_o + V_o * c_new)                  # o = sigm(W_o x + U_o h_prev + V_o c)
    h = o * torch.tanh(c_new)                             # h = o tanh(c)
    return {"i": i, "f": f, "o": o, "g": g, "c": c_new, "h": h}


def _tanh_states(rnn, x, h_prev) -> dict:
    # h = tanh(W x + b_ih + U h_prev + b_hh)
    pre = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h_prev @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
    return {"h": torch.tanh(pre)}


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().float().numpy())


def _run_states(model: RecurrentModel, x: torch.Tensor):
    """Hidden states h (T, H) and, for the LSTM, cells c (T, H), in float32 on the CPU.

    With numba, the training's compiled forward loops at batch 1 (``core.fast_loops``);
    without it, the module's own forward pass (and, for the LSTM, a short numpy loop for c,
    which the modules do not return).
    """
    rnn, arch, paper = model.rnn, model.spec.arch, model.spec.variant == "paper"
    x = x.detach().cpu().float()
    W_hh, b_hh = _np(rnn.weight_hh_l0), _np(rnn.bias_hh_l0)
    gi = (x.numpy() @ _np(rnn.weight_ih_l0).T + _np(rnn.bias_ih_l0))[None]   # (1, T, G*H)
    T, H = gi.shape[1], rnn.hidden_size
    hs, h0 = np.empty((1, T, H), np.float32), np.zeros((1, H), np.float32)
    if not fast_rnn.available():
        if arch == "lstm":
            h, c = _lstm_loop_numpy(gi[0] + b_hh, np.ascontiguousarray(W_hh.T), _np(_peepholes(rnn)))
            return torch.from_numpy(h), torch.from_numpy(c)
        return model.hidden(x.to(next(model.parameters())).unsqueeze(0))[0].cpu().float(), None
    Ut = np.ascontiguousarray(W_hh.T)
    if arch == "lstm":
        cs, gates = np.empty_like(hs), np.empty_like(gi)
        fast_rnn.call("lstm_forward", gi, h0, h0, Ut, b_hh, _np(_peepholes(rnn)), hs, cs, gates)
        return torch.from_numpy(hs[0]), torch.from_numpy(cs[0])
    if arch == "tanh":
        fast_rnn.call("tanh_forward", gi, h0, Ut, b_hh, hs)
    elif paper:
        Ut_rz, Ut_n = np.ascontiguousarray(Ut[:, :2 * H]), np.ascontiguousarray(Ut[:, 2 * H:])
        fast_rnn.call("paper_gru_forward", gi, h0, Ut_rz, Ut_n, b_hh, hs, np.empty_like(gi))
    else:
        fast_rnn.call("gru_forward", gi, h0, Ut, b_hh, hs, np.empty_like(gi), np.empty_like(hs))
    return torch.from_numpy(hs[0]), None


def _lstm_loop_numpy(pre_x, Ut, peep):
    T, H = pre_x.shape[0], Ut.shape[0]
    h, c = np.zeros(H, pre_x.dtype), np.zeros(H, pre_x.dtype)
    hs, cs = np.empty((T, H), pre_x.dtype), np.empty((T, H), pre_x.dtype)
    sigm = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    for t in range(T):
        a = pre_x[t] + h @ Ut
        i, f = sigm(a[:H] + peep[0] * c), sigm(a[H:2 * H] + peep[1] * c)
        c = f * c + i * np.tanh(a[2 * H:3 * H])
        h = sigm(a[3 * H:] + peep[2] * c) * np.tanh(c)
        hs[t], cs[t] = h, c
    return hs, cs


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
    h_run, c_run = _run_states(model, x)                       # (T, H) each
    h_prev = torch.cat([h_run.new_zeros(1, spec.units), h_run[:-1]])
    rnn = _Float32View(model.rnn)
    if spec.arch == "gru":
        states = _gru_gates(rnn, x, h_prev, spec.variant == "paper")
    elif spec.arch == "lstm":
        states = _lstm_gates(rnn, x, h_prev, c_run)
    else:
        states = _tanh_states(rnn, x, h_prev)
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
        for name, p in rnn.named_parameters():
            setattr(self, name, p.detach().cpu().float())
