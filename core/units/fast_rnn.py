"""Fast recurrent layers for training on CPU: time loops compiled with numba, forward AND
backward through time, inside ``torch.autograd.Function``s.

Why: on this 2-core CPU the fused ``nn.GRU`` / ``nn.RNN`` have a slow backward, and the
paper's cells (``core.units.cells``) run step by step in autograd. Only the recurrence is
sequential; everything else is one big product over all B*T rows:

- before the loop (autograd): ``gi = x W_ih^T + b_ih`` for all steps, so dx, dW_ih and
  db_ih come from ``F.linear``'s own backward;
- the loops (numba, ``core.units.fast_loops``): the whole batch a step at a time, t = 0..T-1
  forward saving the gates, t = T-1..0 backward returning dL/d(pre-activations) (B, T, G*H);
- after the loop: ``dW_hh = sum_{b,t} da_{b,t} h_{b,t-1}^T``, one (G*H, B*T) @ (B*T, H) product.

``RecurrentModel.unroll`` (and so ``forward``) calls ``run(self.rnn, x, state)`` when
``supported(model, x)``: numba is installed, x is float32/float64 on the CPU (training and
evaluation), and the layer is one of nn.RNN (tanh), nn.GRU, PaperGRU, PaperLSTM (with its
switches: the LSTM variants) or MGU (the paper's GRU's loop, with its one gate as both r and z).
The initial state may be non-zero (carried between chunks of a piece). ``set_enabled(False)`` or
``GATELAB_FAST_RNN=0`` in the environment turns it off; the modules stay the reference
(tests/test_fast_rnn.py checks outputs and every gradient against them). Measured speeds:
docs/fast_rnn.md.
"""
import importlib.util
import os
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.units.cells import MGU, PaperGRU, PaperLSTM

_STATE = {"enabled": os.environ.get("GATELAB_FAST_RNN", "1") != "0"}
# nn.LSTM's fused backward is fast on this CPU; the loops win only at small batches
# (benchmarks/fast_rnn.py, docs/fast_rnn.md), so the torch LSTM keeps the fused module.
FAST_TORCH_LSTM = False
_FIRST_CALL: dict[str, float] = {}
_NUMBA: list[bool] = []  # [whether numba works], once checked


def available() -> bool:
    """True when numba imports and compiles in this process (checked once, ~0.1 s). When it
    does not — not installed, or installed but broken, e.g. by a numpy too new for it — the
    modules run instead, about 24x slower to train, and a warning says so once."""
    if not _NUMBA:
        _NUMBA.append(_numba_works())
    return _NUMBA[0]


def _numba_works() -> bool:
    try:
        import numba
        numba.njit(lambda a: a + 1)(1)  # imports and compiles: what the loops need
        return True
    except Exception as e:  # noqa: BLE001 - any failure of an optional accelerator means: without it
        reason = (f"is installed but unusable ({type(e).__name__}: {e})"
                  if importlib.util.find_spec("numba") is not None else "is not installed")
        warnings.warn(f"numba {reason}: training and traces run the uncompiled PyTorch modules, "
                      "about 24x slower (docs/fast_rnn.md)", RuntimeWarning, stacklevel=3)
        return False


def _loops():
    # imported on first use: numba's import takes ~0.5 s, and sampling or the app may never train
    from core.units import fast_loops
    return fast_loops


def set_enabled(flag: bool) -> bool:
    """Turn the fast path on or off for this process; returns the previous setting."""
    previous, _STATE["enabled"] = _STATE["enabled"], bool(flag)
    return previous


def enabled() -> bool:
    return _STATE["enabled"]


def first_call_seconds() -> dict[str, float]:
    """Seconds each loop's first call took in this process (numba compile or disk-cache load),
    keyed ``name[dtype]``."""
    return dict(_FIRST_CALL)


def call(name, *arrays):
    """Call the numba loop ``name`` on numpy views; the first call per dtype is timed
    (compile or disk-cache load)."""
    fn = getattr(_loops(), name)
    key = f"{name}[{arrays[0].dtype}]"
    if key in _FIRST_CALL:
        return fn(*arrays)
    t0 = time.perf_counter()
    result = fn(*arrays)
    _FIRST_CALL[key] = time.perf_counter() - t0
    return result


def _np(t: torch.Tensor):
    return t.detach().contiguous().numpy()


def _prev(hs: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    # h_{t-1} for every step: (B, T, H), h0 (B, H) at t = 0
    return torch.cat([h0.unsqueeze(1), hs[:, :-1]], dim=1)


def _outer_sum(da: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # sum_{b,t} da_{b,t} v_{b,t}^T: (B*T, G)^T @ (B*T, H) -> (G, H), one product for all steps
    return da.reshape(-1, da.shape[-1]).T @ v.reshape(-1, v.shape[-1])


class TanhLoop(torch.autograd.Function):
    """h_t = tanh(gi_t + U h_{t-1} + b_hh); gi (B, T, H) = W x + b_ih, h0 (B, H) -> hs (B, T, H)."""

    @staticmethod
    def forward(ctx, gi, h0, W_hh, b_hh):
        hs = torch.empty_like(gi)
        call("tanh_forward", _np(gi), _np(h0), _np(W_hh.T), _np(b_hh), hs.numpy())
        ctx.save_for_backward(h0, hs, W_hh)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        h0, hs, W_hh = ctx.saved_tensors
        da, dh0 = torch.empty_like(hs), torch.zeros_like(h0)  # dL/da_t, a the pre-activation
        call("tanh_backward", _np(dhs), _np(hs), _np(W_hh), da.numpy(), dh0.numpy())
        # dL/dgi = dL/db_hh (per step) = da;  dL/dU = sum_t da_t h_{t-1}^T
        return da, dh0, _outer_sum(da, _prev(hs, h0)), da.sum((0, 1))


class GRULoop(torch.autograd.Function):
    """PyTorch's GRU: n = tanh(gi_n + r * (U_n h + b_hn)), h = (1 - z) n + z h_prev.
    gi (B, T, 3H) = W x + b_ih, rows r, z, n; h0 (B, H) -> hs (B, T, H)."""

    @staticmethod
    def forward(ctx, gi, h0, W_hh, b_hh):
        B, T, H3 = gi.shape
        hs, ghn = gi.new_empty(B, T, H3 // 3), gi.new_empty(B, T, H3 // 3)
        gates = torch.empty_like(gi)  # r, z, n
        call("gru_forward", _np(gi), _np(h0), _np(W_hh.T), _np(b_hh),
              hs.numpy(), gates.numpy(), ghn.numpy())
        ctx.save_for_backward(h0, hs, gates, ghn, W_hh)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        h0, hs, gates, ghn, W_hh = ctx.saved_tensors
        dgi, dgh = torch.empty_like(gates), torch.empty_like(gates)  # (B, T, 3H)
        dh0 = torch.zeros_like(h0)
        call("gru_backward", _np(dhs), _np(h0), _np(hs), _np(gates), _np(ghn),
              _np(W_hh), dgi.numpy(), dgh.numpy(), dh0.numpy())
        # gh = U h_prev + b_hh:  dL/dU = sum_t dgh_t h_{t-1}^T,  dL/db_hh = sum_t dgh_t
        return dgi, dh0, _outer_sum(dgh, _prev(hs, h0)), dgh.sum((0, 1))


class PaperGRULoop(torch.autograd.Function):
    """The paper's GRU: h~ = tanh(gi_n + U_n (r * h_prev) + b_hn), h = (1 - z) h_prev + z h~.
    gi (B, T, 3H) = W x + b_ih, rows r, z, n; h0 (B, H) -> hs (B, T, H)."""

    @staticmethod
    def forward(ctx, gi, h0, W_hh, b_hh):
        hs = gi.new_empty(gi.shape[0], gi.shape[1], gi.shape[2] // 3)
        gates = torch.empty_like(gi)  # r, z, h~
        H = hs.shape[-1]
        call("paper_gru_forward", _np(gi), _np(h0), _np(W_hh[:2 * H].T),
              _np(W_hh[2 * H:].T), _np(b_hh), hs.numpy(), gates.numpy())
        ctx.save_for_backward(h0, hs, gates, W_hh)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        h0, hs, gates, W_hh = ctx.saved_tensors
        H = hs.shape[-1]
        da = torch.empty_like(gates)  # dL/d(pre-activations) = dL/dgi = dL/db_hh per step
        dh0 = torch.zeros_like(h0)
        call("paper_gru_backward", _np(dhs), _np(h0), _np(hs), _np(gates),
              _np(W_hh[:2 * H]), _np(W_hh[2 * H:]), da.numpy(), dh0.numpy())
        h_prev = _prev(hs, h0)
        # U_r, U_z multiply h_prev; U_n multiplies q = r * h_prev
        dW_hh = torch.cat([_outer_sum(da[..., :2 * H], h_prev),
                           _outer_sum(da[..., 2 * H:], gates[..., :H] * h_prev)])
        return da, dh0, dW_hh, da.sum((0, 1))


PLAIN_LSTM = (0, 0, 0, 1, 1, 0)  # core.units.cells.lstm_modes(()): no switch


class PaperLSTMLoop(torch.autograd.Function):
    """The paper's LSTM with peepholes (``core.units.cells.PaperLSTM``; zero peepholes give
    nn.LSTM) and its variants. gi (B, T, 4H) = W x + b_ih, rows i, f, g, o; h0, c0 (B, H);
    peep (3, H); R (3H, 3H), the gate recurrence (a (1, 1) placeholder without one); modes, the
    switches (``core.units.cells.lstm_modes``) -> hs (B, T, H) and the last cell c_{T-1} (B, H)."""

    @staticmethod
    def forward(ctx, gi, h0, c0, W_hh, b_hh, peep, R, modes=PLAIN_LSTM):
        hs, cs = (gi.new_empty(gi.shape[0], gi.shape[1], gi.shape[2] // 4) for _ in range(2))
        gates = torch.empty_like(gi)  # i, f, g, o
        modes_np = np.asarray(modes, np.int64)
        call("lstm_forward", _np(gi), _np(h0), _np(c0), _np(W_hh.T), _np(b_hh), _np(peep), _np(R.T),
             modes_np, hs.numpy(), cs.numpy(), gates.numpy())
        ctx.modes = modes_np
        ctx.save_for_backward(h0, c0, hs, cs, gates, W_hh, peep, R)
        return hs, cs[:, -1].clone()

    @staticmethod
    def backward(ctx, dhs, dc_last):
        h0, c0, hs, cs, gates, W_hh, peep, R = ctx.saved_tensors
        H = hs.shape[-1]
        da = torch.empty_like(gates)  # dL/da, a = gi + U h_prev + b_hh (+ V c) before the gates
        dh0, dc0 = torch.zeros_like(h0), dc_last.clone().contiguous()  # dc: in dL/dc_{T-1}, out dL/dc0
        call("lstm_backward", _np(dhs), _np(c0), _np(cs), _np(gates), _np(W_hh),
             _np(peep), _np(R), ctx.modes, da.numpy(), dh0.numpy(), dc0.numpy())
        dpeep = dR = None
        if ctx.needs_input_grad[5]:
            c_prev = _prev(cs, c0)
            # V_i, V_f multiply c_prev; V_o multiplies the new c
            dpeep = torch.stack([(da[..., :H] * c_prev).sum((0, 1)),
                                 (da[..., H:2 * H] * c_prev).sum((0, 1)),
                                 (da[..., 3 * H:] * cs).sum((0, 1))])
        if ctx.needs_input_grad[6] and ctx.modes[5] == 1:
            # R multiplies the previous step's [i, f, o]: dL/dR = sum_t da_ifo_t [i, f, o]_{t-1}^T
            ifo = torch.cat([gates[..., :2 * H], gates[..., 3 * H:]], dim=-1)
            da_ifo = torch.cat([da[..., :2 * H], da[..., 3 * H:]], dim=-1)
            dR = _outer_sum(da_ifo, _prev(ifo, torch.zeros_like(ifo[:, 0])))
        return da, dh0, dc0, _outer_sum(da, _prev(hs, h0)), da.sum((0, 1)), dpeep, dR, None


def _kind(rnn: nn.Module) -> str | None:
    """Which loop runs this layer, or None (several layers, no bias, not batch_first...)."""
    if isinstance(rnn, PaperGRU):
        return "paper_gru"
    if isinstance(rnn, MGU):
        return "mgu"
    if isinstance(rnn, PaperLSTM):
        return "paper_lstm"
    if not isinstance(rnn, nn.RNNBase) or type(rnn) not in (nn.RNN, nn.GRU, nn.LSTM):
        return None
    if rnn.num_layers != 1 or rnn.bidirectional or not rnn.bias or not rnn.batch_first:
        return None
    if type(rnn) is nn.LSTM:
        return "lstm" if FAST_TORCH_LSTM and rnn.proj_size == 0 else None
    return {"RNN_TANH": "tanh", "GRU": "gru"}.get(rnn.mode)


def supported(model: nn.Module, x: torch.Tensor) -> bool:
    """True when ``run(model.rnn, x)`` should replace the module: fast path enabled, numba
    installed, x (B, T, D) on the CPU in the layer's dtype, float32 or float64. Training and
    evaluation alike (validation passes: 1.5x faster for the GRU, 3-4x for the paper's
    variants, docs/fast_rnn.md); traces and sampling use the modules (``hidden``, ``step``)."""
    rnn = getattr(model, "rnn", model)
    if not (_STATE["enabled"] and available()):
        return False
    if x.dim() != 3 or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    return rnn.weight_hh_l0.dtype == x.dtype and _kind(rnn) is not None


def run(rnn: nn.Module, x: torch.Tensor, hx=None):
    """``rnn(x, hx)`` through the loops: hidden states h (B, T, H) for inputs x (B, T, D), and
    the state after the last step, h_n (1, B, H) (LSTM: ``(h_n, c_n)``), as the module returns
    them (to float rounding), with the gradients of every input, the initial state included.
    ``hx`` as the module takes it; None: zeros."""
    kind = _kind(rnn)
    if kind is None:
        raise ValueError(f"no fast loop for {type(rnn).__name__}")
    B, H = x.shape[0], rnn.hidden_size
    lstm = kind in ("lstm", "paper_lstm")
    if hx is None:
        hx = (x.new_zeros(1, B, H),) * (2 if lstm else 1)
    elif not lstm:
        hx = (hx,)
    h0 = hx[0][0].contiguous()  # (B, H)
    W_ih, b_ih, W_hh, b_hh = rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0
    if kind == "paper_lstm":  # the LSTM and its variants, in the plain LSTM's layout and switches
        W_ih, b_ih, W_hh, b_hh, peep, R, modes = rnn.full_layout()
    elif kind == "lstm":
        peep, R, modes = W_hh.new_zeros(3, H), W_hh.new_zeros(1, 1), PLAIN_LSTM
    elif kind == "mgu":       # the MGU is the paper's GRU with r = z = f
        W_ih, b_ih, W_hh, b_hh = rnn.gru_layout()
    # gi = W x + b_ih for all steps at once: (B, T, G*H)
    gi = F.linear(x, W_ih, b_ih)
    if lstm:
        hs, c_n = PaperLSTMLoop.apply(gi, h0, hx[1][0].contiguous(), W_hh, b_hh, peep, R, modes)
        return hs, (hs[:, -1].unsqueeze(0), c_n.unsqueeze(0))
    loop = {"tanh": TanhLoop, "gru": GRULoop, "paper_gru": PaperGRULoop, "mgu": PaperGRULoop}[kind]
    hs = loop.apply(gi, h0, W_hh, b_hh)
    return hs, hs[:, -1].unsqueeze(0)


class _Context:
    """Stands in for autograd's ctx when ``warm_up`` calls a loop's forward and backward itself."""
    needs_input_grad = (True,) * 8

    def save_for_backward(self, *tensors) -> None:
        self.saved_tensors = tensors


def warm_up(dtype: torch.dtype = torch.float32) -> None:
    """Call every loop once, forward and backward, on tiny zeros, as the layers call them: their
    first call in a process loads them from numba's disk cache or compiles them (seconds).

    It calls each Function's ``forward`` and ``backward`` directly, so autograd's engine never
    runs: the process that forks the Lab's workers must never run autograd (``core.lab.warm_up``).
    """
    if not available():
        return
    B, T, H, ctx = 1, 2, 2, _Context()

    def zeros(*shape):
        return torch.zeros(*shape, dtype=dtype)
    with torch.no_grad():
        for loop, gates in ((TanhLoop, 1), (GRULoop, 3), (PaperGRULoop, 3)):
            loop.forward(ctx, zeros(B, T, gates * H), zeros(B, H), zeros(gates * H, H), zeros(gates * H))
            loop.backward(ctx, zeros(B, T, H))
        PaperLSTMLoop.forward(ctx, zeros(B, T, 4 * H), zeros(B, H), zeros(B, H), zeros(4 * H, H),
                              zeros(4 * H), zeros(3, H), zeros(3 * H, 3 * H), (0, 0, 0, 1, 1, 1))
        PaperLSTMLoop.backward(ctx, zeros(B, T, H), zeros(B, H))
