"""The time loops of ``core.units.fast_rnn``, compiled with numba: forward and backward through time.

Conventions (all arrays C-contiguous numpy, one dtype, float32 or float64):
- ``gi`` (B, T, G*H): W x + b_ih for every step, computed before the loop;
- ``h0`` (B, H) (LSTM also ``c0``): the state before step 0 (zeros, or carried from the window
  before in truncated backpropagation);
- ``Ut`` (H, G*H) = W_hh^T for the forward products, ``W_hh`` (G*H, H) for the backward ones;
- ``dhs`` (B, T, H): dL/dh_t from above (the read-out); the loops add the path through h_{t+1};
- backward loops fill dL/d(pre-activation) per step; weight gradients are summed outside.
  Their ``dh`` (B, H) (LSTM also ``dc``) is the gradient flowing back through the state: in,
  dL/dh_{T-1} beyond ``dhs`` (zeros) and dL/dc_{T-1} (the final cell's own gradient); out,
  dL/dh0 (and dL/dc0).

One step of the whole batch is one BLAS product, (B, H) @ (H, G*H); the gates are computed
on flat float64 buffers of the step's pre-activations, in passes without libm calls that
LLVM vectorises (``_sigm_``, ``_tanh_``), and stored in the arrays' dtype. Rows never mix, so
padding at the end of a sequence cannot reach its real steps. Measured alternatives: one
sequence at a time with hand-written mat-vec loops was 4-6x slower in the products; libm's
exp/tanh per element made the forward loops 1.2-1.7x slower (docs/fast_rnn.md).

numba calls scipy's OpenBLAS for ``np.dot``; it is set to one thread here (threadpoolctl), because
its idle workers spin and steal the second core from torch's own threads on a 2-core machine.
Compiled code is cached on disk (``cache=True``): only a machine's first call pays the compile.
"""
import importlib
import math
import os

import numpy as np

try:
    from numba import njit
except Exception:  # noqa: BLE001 - missing or broken: core.units.fast_rnn.available() is False, the modules run
    njit = None


def _jit(fn):
    return njit(cache=True, nogil=True, error_model="numpy")(fn) if njit is not None else fn


def _one_blas_thread() -> None:
    """One thread for scipy's own OpenBLAS, the one numba's ``np.dot`` calls: its idle workers
    spin and steal the second core from torch's threads on a 2-core machine. For the process
    (not a context); numpy's copy, and a scipy build without its own, are left alone."""
    try:
        scipy = importlib.import_module("scipy")
        importlib.import_module("scipy.linalg.cython_blas")  # loads scipy's OpenBLAS
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    scipy_libs = os.path.realpath(os.path.dirname(scipy.__file__) + ".libs")  # where scipy's wheels keep it
    controller = ThreadpoolController().select(user_api="blas")
    own = [lib.filepath for lib in controller.lib_controllers
           if os.path.dirname(os.path.realpath(lib.filepath)) == scipy_libs]
    controller.select(filepath=own).limit(limits=1)


_one_blas_thread()


# exp(x) = 2^k e^r, k = round(x / ln 2), r = x - k ln 2 (ln 2 in two parts, so r is exact)
LOG2E, LN2_HI, LN2_LO = 1.4426950408889634, 0.6931471803691238, 1.9082149292705877e-10


@_jit
def _exp_neg(a, bits):
    """a <- exp(-a) in place (a: 1-D float64; bits: int64 scratch of a's size).

    libm's exp is one call per element (~10-25 ns); this form has no calls, so LLVM vectorises
    it: e^r by its Taylor series to r^12 (|r| <= ln2/2: relative error < 1e-15), 2^k built
    from its bits. Arguments are clamped to +-708, where exp stays finite; NaN stays NaN.
    """
    for i in range(a.shape[0]):
        x = -a[i]
        v = min(max(x, -708.0), 708.0)
        k = math.floor(v * LOG2E + 0.5)
        r = (v - k * LN2_HI) - k * LN2_LO
        p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
            1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (
                1 / 39916800 + r * (1 / 479001600))))))))))))
        a[i] = p if x == x else x
        bits[i] = (np.int64(k) + 1023) << 52  # the float64 2^k, as bits
    scale = bits.view(np.float64)
    for i in range(a.shape[0]):
        a[i] *= scale[i]


@_jit
def _sigm_(a, bits):
    # a <- sigm(a) = 1 / (1 + exp(-a)), in place
    _exp_neg(a, bits)
    for i in range(a.shape[0]):
        a[i] = 1.0 / (1.0 + a[i])


@_jit
def _tanh_(a, bits):
    # a <- tanh(a) = 2 sigm(2a) - 1, in place
    for i in range(a.shape[0]):
        a[i] *= 2.0
    _exp_neg(a, bits)
    for i in range(a.shape[0]):
        a[i] = 2.0 / (1.0 + a[i]) - 1.0


@_jit
def tanh_forward(gi, h0, Ut, b_hh, hs):
    """h_t = tanh(gi_t + U h_{t-1} + b_hh), h_{-1} = h0. gi (B, T, H); fills hs (B, T, H)."""
    B, T, H = gi.shape
    h, uh = h0.copy(), np.empty((B, H), gi.dtype)
    a, bits = np.empty(B * H), np.empty(B * H, np.int64)  # pre-activations, flat (b, j)
    for t in range(T):
        # uh = U h_prev                                              (B, H)
        np.dot(h, Ut, uh)
        for b in range(B):
            for j in range(H):
                # a = W x + b_ih + U h_prev + b_hh
                a[b * H + j] = gi[b, t, j] + uh[b, j] + b_hh[j]
        # h = tanh(a)
        _tanh_(a, bits)
        for b in range(B):
            for j in range(H):
                h[b, j] = a[b * H + j]
                hs[b, t, j] = h[b, j]


@_jit
def tanh_backward(dhs, hs, W_hh, da_s, dh):
    """Fills da_s (B, T, H) = dL/da_t from dhs (B, T, H) and the saved hs (B, T, H);
    dh (B, H): zeros in, dL/dh0 out."""
    B, T, H = hs.shape
    da = np.empty((B, H), hs.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                # h = tanh(a):  dL/da = dL/dh (1 - h^2), dL/dh from above and through h_{t+1}
                da[b, j] = (dhs[b, t, j] + dh[b, j]) * (1.0 - hs[b, t, j] * hs[b, t, j])
                da_s[b, t, j] = da[b, j]
        # a = ... + U h_prev:  dL/dh_prev = U^T da                   (B, H)
        np.dot(da, W_hh, dh)


@_jit
def gru_forward(gi, h0, Ut, b_hh, hs, gates, ghn):
    """PyTorch's GRU. gi (B, T, 3H) rows r, z, n; h0 (B, H); fills hs (B, T, H),
    gates (B, T, 3H) = r, z, n and ghn (B, T, H) = U_n h_prev + b_hn."""
    B, T, H3 = gi.shape
    H = H3 // 3
    h, gh = h0.copy(), np.empty((B, H3), gi.dtype)
    r, z, n, bits = np.empty(B * H), np.empty(B * H), np.empty(B * H), np.empty(B * H, np.int64)
    for t in range(T):
        # gh = U h_prev                                              (B, 3H)
        np.dot(h, Ut, gh)
        for b in range(B):
            for j in range(H):
                r[b * H + j] = gi[b, t, j] + gh[b, j] + b_hh[j]
                z[b * H + j] = gi[b, t, H + j] + gh[b, H + j] + b_hh[H + j]
        # r = sigm(W_r x + b_ir + U_r h_prev + b_hr)
        _sigm_(r, bits)
        # z = sigm(W_z x + b_iz + U_z h_prev + b_hz)                  -- share of the OLD state
        _sigm_(z, bits)
        for b in range(B):
            for j in range(H):
                ghn[b, t, j] = gh[b, 2 * H + j] + b_hh[2 * H + j]
                n[b * H + j] = gi[b, t, 2 * H + j] + r[b * H + j] * ghn[b, t, j]
        # n = tanh(W_n x + b_in + r * (U_n h_prev + b_hn))
        _tanh_(n, bits)
        for b in range(B):
            for j in range(H):
                i = b * H + j
                # h = (1 - z) * n + z * h_prev
                h[b, j] = (1.0 - z[i]) * n[i] + z[i] * h[b, j]
                hs[b, t, j] = h[b, j]
                gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j] = r[i], z[i], n[i]


@_jit
def gru_backward(dhs, h0, hs, gates, ghn, W_hh, dgi, dgh, dh):
    """Fills dgi = dL/d(W x + b_ih) and dgh = dL/d(U h_prev + b_hh), both (B, T, 3H);
    dh (B, H): zeros in, dL/dh0 out."""
    B, T, H = hs.shape
    dprev = np.empty((B, H), hs.dtype)
    dgh_t = np.empty((B, 3 * H), hs.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                g = dhs[b, t, j] + dh[b, j]  # dL/dh_t
                h_prev = hs[b, t - 1, j] if t > 0 else h0[b, j]
                r, z, n = gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j]
                # h = (1 - z) n + z h_prev
                dprev[b, j] = g * z
                # n = tanh(a_n), a_n = gi_n + r * gh_n
                da_n = g * (1.0 - z) * (1.0 - n * n)
                # r = sigm(a_r), z = sigm(a_z)
                da_r = da_n * ghn[b, t, j] * r * (1.0 - r)
                da_z = g * (h_prev - n) * z * (1.0 - z)
                dgi[b, t, j], dgi[b, t, H + j], dgi[b, t, 2 * H + j] = da_r, da_z, da_n
                dgh_t[b, j], dgh_t[b, H + j], dgh_t[b, 2 * H + j] = da_r, da_z, da_n * r
                dgh[b, t, j], dgh[b, t, H + j], dgh[b, t, 2 * H + j] = da_r, da_z, da_n * r
        # gh = U h_prev + b_hh:  dL/dh_prev = z * dL/dh + U^T dgh
        np.dot(dgh_t, W_hh, dh)
        dh += dprev


@_jit
def paper_gru_forward(gi, h0, Ut_rz, Ut_n, b_hh, hs, gates):
    """The paper's GRU. gi (B, T, 3H) rows r, z, n; h0 (B, H); Ut_rz = [U_r; U_z]^T (H, 2H) and
    Ut_n = U_n^T (H, H); fills hs (B, T, H) and gates (B, T, 3H) = r, z, h~."""
    B, T, H3 = gi.shape
    H = H3 // 3
    h, rz = h0.copy(), np.empty((B, 2 * H), gi.dtype)
    q, u = np.empty((B, H), gi.dtype), np.empty((B, H), gi.dtype)
    r, z, h_tilde, bits = np.empty(B * H), np.empty(B * H), np.empty(B * H), np.empty(B * H, np.int64)
    for t in range(T):
        # rz = [U_r; U_z] h_prev                                     (B, 2H)
        np.dot(h, Ut_rz, rz)
        for b in range(B):
            for j in range(H):
                r[b * H + j] = gi[b, t, j] + rz[b, j] + b_hh[j]
                z[b * H + j] = gi[b, t, H + j] + rz[b, H + j] + b_hh[H + j]
        # r = sigm(W_r x + U_r h_prev),  z = sigm(W_z x + U_z h_prev)  (+ both biases)
        _sigm_(r, bits)
        _sigm_(z, bits)
        for b in range(B):
            for j in range(H):
                # q = r * h_prev                                     -- reset BEFORE the product
                q[b, j] = r[b * H + j] * h[b, j]
        # u = U_n q                                                  (B, H)
        np.dot(q, Ut_n, u)
        for b in range(B):
            for j in range(H):
                h_tilde[b * H + j] = gi[b, t, 2 * H + j] + u[b, j] + b_hh[2 * H + j]
        # h~ = tanh(W x + b_in + U_n (r * h_prev) + b_hn)
        _tanh_(h_tilde, bits)
        for b in range(B):
            for j in range(H):
                i = b * H + j
                # h = (1 - z) * h_prev + z * h~                      -- z the share of the NEW
                h[b, j] = (1.0 - z[i]) * h[b, j] + z[i] * h_tilde[i]
                hs[b, t, j] = h[b, j]
                gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j] = r[i], z[i], h_tilde[i]


@_jit
def paper_gru_backward(dhs, h0, hs, gates, W_rz, W_n, da_s, dh):
    """Fills da_s (B, T, 3H) = dL/d(pre-activations of r, z, h~) (= dL/dgi = dL/db_hh);
    dh (B, H): zeros in, dL/dh0 out. W_rz = [U_r; U_z] (2H, H) and W_n = U_n (H, H): the rows
    of W_hh, as separate arrays."""
    B, T, H = hs.shape
    dprev, dq = np.empty((B, H), hs.dtype), np.empty((B, H), hs.dtype)
    da_n, da_rz = np.empty((B, H), hs.dtype), np.empty((B, 2 * H), hs.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                g = dhs[b, t, j] + dh[b, j]  # dL/dh_t
                h_prev = hs[b, t - 1, j] if t > 0 else h0[b, j]
                z, h_tilde = gates[b, t, H + j], gates[b, t, 2 * H + j]
                # h = (1 - z) h_prev + z h~;  h~ = tanh(a_n);  z = sigm(a_z)
                dprev[b, j] = g * (1.0 - z)
                da_n[b, j] = g * z * (1.0 - h_tilde * h_tilde)
                da_rz[b, H + j] = g * (h_tilde - h_prev) * z * (1.0 - z)
        # a_n = ... + U_n q:  dL/dq = U_n^T da_n                     (B, H)
        np.dot(da_n, W_n, dq)
        for b in range(B):
            for j in range(H):
                h_prev = hs[b, t - 1, j] if t > 0 else h0[b, j]
                r = gates[b, t, j]
                # q = r * h_prev;  r = sigm(a_r)
                dprev[b, j] += dq[b, j] * r
                da_rz[b, j] = dq[b, j] * h_prev * r * (1.0 - r)
                da_s[b, t, j], da_s[b, t, H + j], da_s[b, t, 2 * H + j] = da_rz[b, j], da_rz[b, H + j], da_n[b, j]
        # a_r, a_z = ... + [U_r; U_z] h_prev:  dL/dh_prev += [U_r; U_z]^T da_rz
        np.dot(da_rz, W_rz, dh)
        dh += dprev


@_jit
def lstm_forward(gi, h0, c0, Ut, b_hh, peep, Rt, modes, hs, cs, gates):
    """The paper's LSTM (peep (3, H) = V_i, V_f, V_o) and its variants. gi (B, T, 4H) rows
    i, f, g, o; h0, c0 (B, H); fills hs, cs (B, T, H) and gates (B, T, 4H) = i, f, g, o.

    ``modes`` (6,) int64, the switches (``core.units.cells.lstm_modes``): the input gate (0 a
    sigmoid, 1 held at 1, 2 = 1 - f), the forget gate and the output gate (0 a sigmoid, 1 held
    at 1), tanh on the candidate (1) or not (0), tanh on the cell in h (1) or not (0), and the
    full gate recurrence (1: the i, f, o pre-activations add R [i, f, o]_{t-1}, Rt = R^T (3H, 3H),
    the previous gates zero before step 0). A gate held at 1 has zero weights in gi and Ut."""
    B, T, H4 = gi.shape
    H = H4 // 4
    m_i, m_f, m_o, act_g, act_c, fgr = modes[0], modes[1], modes[2], modes[3], modes[4], modes[5]
    h, c, uh = h0.copy(), c0.copy(), np.empty((B, H4), gi.dtype)
    gp, rg = np.zeros((B, 3 * H), gi.dtype), np.zeros((B, 3 * H), gi.dtype)  # previous i, f, o; R of them
    i, f, g, o = np.empty(B * H), np.empty(B * H), np.empty(B * H), np.empty(B * H)
    tanh_c, bits = np.empty(B * H), np.empty(B * H, np.int64)
    for t in range(T):
        # uh = U h_prev                                              (B, 4H)
        np.dot(h, Ut, uh)
        if fgr == 1:
            # rg = R [i, f, o]_{t-1}                                  (B, 3H)
            np.dot(gp, Rt, rg)
        for b in range(B):
            for j in range(H):
                k = b * H + j
                i[k] = gi[b, t, j] + uh[b, j] + b_hh[j] + peep[0, j] * c[b, j] + rg[b, j]
                f[k] = gi[b, t, H + j] + uh[b, H + j] + b_hh[H + j] + peep[1, j] * c[b, j] + rg[b, H + j]
                g[k] = gi[b, t, 2 * H + j] + uh[b, 2 * H + j] + b_hh[2 * H + j]
        # i = sigm(W_i x + U_i h_prev + V_i c_prev),  f = sigm(W_f x + U_f h_prev + V_f c_prev)
        _sigm_(i, bits)
        _sigm_(f, bits)
        # c~ = tanh(W_c x + U_c h_prev)                             (+ both biases throughout)
        if act_g == 1:
            _tanh_(g, bits)
        for b in range(B):
            for j in range(H):
                k = b * H + j
                if m_f == 1:                                        # NFG: f = 1
                    f[k] = 1.0
                if m_i == 1:                                        # NIG: i = 1
                    i[k] = 1.0
                elif m_i == 2:                                      # CIFG: i = 1 - f
                    i[k] = 1.0 - f[k]
                # c = f * c_prev + i * c~
                c[b, j] = f[k] * c[b, j] + i[k] * g[k]
                o[k] = (gi[b, t, 3 * H + j] + uh[b, 3 * H + j] + b_hh[3 * H + j] + peep[2, j] * c[b, j]
                        + rg[b, 2 * H + j])
                tanh_c[k] = c[b, j]
        # o = sigm(W_o x + U_o h_prev + V_o c)                       -- peeks at the NEW cell
        _sigm_(o, bits)
        if act_c == 1:
            _tanh_(tanh_c, bits)
        for b in range(B):
            for j in range(H):
                k = b * H + j
                if m_o == 1:                                        # NOG: o = 1
                    o[k] = 1.0
                # h = o * tanh(c)                                    (NOAF: h = o * c)
                h[b, j] = o[k] * tanh_c[k]
                hs[b, t, j], cs[b, t, j] = h[b, j], c[b, j]
                gates[b, t, j], gates[b, t, H + j] = i[k], f[k]
                gates[b, t, 2 * H + j], gates[b, t, 3 * H + j] = g[k], o[k]
                gp[b, j], gp[b, H + j], gp[b, 2 * H + j] = i[k], f[k], o[k]


@_jit
def lstm_backward(dhs, c0, cs, gates, W_hh, peep, R, modes, da_s, dh, dc):
    """Fills da_s (B, T, 4H) = dL/da, a the pre-activations before the peepholes (zero for a gate
    held at 1 or computed from another). dh (B, H): zeros in, dL/dh0 out; dc (B, H): dL/dc_{T-1}
    in, dL/dc0 out. ``modes`` and R (3H, 3H) as ``lstm_forward``'s."""
    B, T, H = cs.shape
    m_i, m_f, m_o, act_g, act_c, fgr = modes[0], modes[1], modes[2], modes[3], modes[4], modes[5]
    da = np.empty((B, 4 * H), cs.dtype)
    da_ifo, dgp = np.zeros((B, 3 * H), cs.dtype), np.zeros((B, 3 * H), cs.dtype)  # dL/d[i, f, o]_t via t+1
    tanh_c, bits = np.empty(B * H), np.empty(B * H, np.int64)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                tanh_c[b * H + j] = cs[b, t, j]
        if act_c == 1:
            _tanh_(tanh_c, bits)
        for b in range(B):
            for j in range(H):
                g_h = dhs[b, t, j] + dh[b, j]  # dL/dh_t;  dc[b, j]: dL/dc_t through step t+1
                c_prev = cs[b, t - 1, j] if t > 0 else c0[b, j]
                i, f, g, o = gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j], gates[b, t, 3 * H + j]
                tc = tanh_c[b * H + j]
                # h = o tanh(c);  o = sigm(a_o + V_o c)
                da_o = (g_h * tc + dgp[b, 2 * H + j]) * o * (1.0 - o) if m_o == 0 else 0.0
                dtc = (1.0 - tc * tc) if act_c == 1 else 1.0
                dcj = dc[b, j] + g_h * o * dtc + da_o * peep[2, j]
                # c = f c_prev + i c~;  i, f, c~ from a_i + V_i c_prev, a_f + V_f c_prev, a_g
                d_i = dcj * g + dgp[b, j]
                d_f = dcj * c_prev + dgp[b, H + j]
                if m_i == 2:                                        # CIFG: i = 1 - f
                    d_f -= d_i
                da[b, j] = d_i * i * (1.0 - i) if m_i == 0 else 0.0
                da[b, H + j] = d_f * f * (1.0 - f) if m_f == 0 else 0.0
                da[b, 2 * H + j] = dcj * i * ((1.0 - g * g) if act_g == 1 else 1.0)
                da[b, 3 * H + j] = da_o
                dc[b, j] = dcj * f + da[b, j] * peep[0, j] + da[b, H + j] * peep[1, j]
                da_ifo[b, j], da_ifo[b, H + j], da_ifo[b, 2 * H + j] = da[b, j], da[b, H + j], da_o
            for k in range(4 * H):
                da_s[b, t, k] = da[b, k]
        # a = ... + U h_prev:  dL/dh_prev = U^T da                   (B, H)
        np.dot(da, W_hh, dh)
        if fgr == 1:
            # a_ifo = ... + R [i, f, o]_{t-1}:  dL/d[i, f, o]_{t-1} = R^T da_ifo
            np.dot(da_ifo, R, dgp)
