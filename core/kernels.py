"""Compiled time loops (numba) for tracing one piece fast: batch 1, thousands of steps.

At batch 1 the fused ``nn.GRU`` / ``nn.RNN`` spend ~25-50 ms on a 2000-step piece (per-step
overhead), and a numpy loop is no better. These loops run the recurrence in float32 (as the
modules do) and return the hidden states (and the LSTM cell); ``core.trace`` then recomputes every gate
from them in batched products. numba is optional: without it, ``available()`` is False and
the trace falls back to the module's own forward pass.

Compiled code is cached on disk (numba's ``cache=True``, beside this file or under
``NUMBA_CACHE_DIR``), so only the very first call on a machine pays the compile (~seconds).
"""
import time

import numpy as np

try:
    from numba import njit
except ImportError:  # the app still works, just slower traces
    njit = None

_COMPILE_SECONDS: dict[str, float] = {}


def available() -> bool:
    return njit is not None


def _jit(fn):
    return njit(cache=True, nogil=True)(fn) if njit is not None else fn


@_jit
def _matvec_t(Ut, h, out, lo, hi):
    # out[j - lo] += sum_k Ut[k, j] * h[k] for j in [lo, hi): axpy form, so it vectorises
    for k in range(Ut.shape[0]):
        hk = h[k]
        for j in range(lo, hi):
            out[j - lo] += Ut[k, j] * hk


@_jit
def _sigm(a):
    return 1 / (1 + np.exp(-a))


@_jit
def tanh_loop(wx, Ut):
    """h_t = tanh(wx_t + U h_{t-1}). wx (T, H) includes both biases; Ut = U.T (H, H)."""
    T, H = wx.shape
    h = np.zeros(H, wx.dtype)
    out = np.empty((T, H), wx.dtype)
    for t in range(T):
        a = wx[t].copy()
        _matvec_t(Ut, h, a, 0, H)
        h = np.tanh(a)
        out[t] = h
    return out


@_jit
def gru_loop(gi, Ut, b_hh, paper):
    """GRU hidden states. gi (T, 3H) = W x + b_ih (rows r, z, n); Ut = W_hh.T (H, 3H).

    torch: n = tanh(gi_n + r * (U_n h + b_hn)), h = n + z' (h - n)      (z' share of OLD)
    paper: h~ = tanh(gi_n + U_n (r * h) + b_hn), h = h + z (h~ - h)     (z share of NEW)
    """
    T, H3 = gi.shape
    H = H3 // 3
    h = np.zeros(H, gi.dtype)
    out = np.empty((T, H), gi.dtype)
    for t in range(T):
        gh = b_hh.copy()
        _matvec_t(Ut, h, gh, 0, 2 * H if paper else 3 * H)
        r = _sigm(gi[t, :H] + gh[:H])
        z = _sigm(gi[t, H:2 * H] + gh[H:2 * H])
        if paper:
            u = gh[2 * H:].copy()
            _matvec_t(Ut, r * h, u, 2 * H, 3 * H)
            h = h + z * (np.tanh(gi[t, 2 * H:] + u) - h)
        else:
            n = np.tanh(gi[t, 2 * H:] + r * gh[2 * H:])
            h = n + z * (h - n)
        out[t] = h
    return out


@_jit
def lstm_loop(pre_x, Ut, peep):
    """LSTM h and c. pre_x (T, 4H) = W x + both biases (rows i, f, g, o); Ut = W_hh.T;
    peep (3, H) the peephole weights V_i, V_f, V_o (zeros give PyTorch's LSTM)."""
    T, H4 = pre_x.shape
    H = H4 // 4
    h, c = np.zeros(H, pre_x.dtype), np.zeros(H, pre_x.dtype)
    hs, cs = np.empty((T, H), pre_x.dtype), np.empty((T, H), pre_x.dtype)
    for t in range(T):
        a = pre_x[t].copy()
        _matvec_t(Ut, h, a, 0, 4 * H)
        i = _sigm(a[:H] + peep[0] * c)
        f = _sigm(a[H:2 * H] + peep[1] * c)
        c = f * c + i * np.tanh(a[2 * H:3 * H])
        o = _sigm(a[3 * H:] + peep[2] * c)
        h = o * np.tanh(c)
        hs[t], cs[t] = h, c
    return hs, cs


def timed_call(name: str, fn, *args):
    """Call a kernel; the first call's time (compile or cache load) is kept for reporting."""
    if name in _COMPILE_SECONDS:
        return fn(*args)
    t0 = time.perf_counter()
    result = fn(*args)
    _COMPILE_SECONDS[name] = time.perf_counter() - t0
    return result


def first_call_seconds() -> dict[str, float]:
    """Seconds each kernel's first call took in this process (compile or disk-cache load)."""
    return dict(_COMPILE_SECONDS)
