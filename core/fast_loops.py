"""The time loops of ``core.fast_rnn``, compiled with numba: forward and backward through time.

Conventions (all arrays C-contiguous numpy, one dtype, float32 or float64):
- ``gi`` (B, T, G*H): W x + b_ih for every step, computed before the loop;
- ``Ut`` (H, G*H) = W_hh^T for the forward products, ``W_hh`` (G*H, H) for the backward ones;
- ``dhs`` (B, T, H): dL/dh_t from above (the read-out); the loops add the path through h_{t+1};
- backward loops fill dL/d(pre-activation) per step; weight gradients are summed outside.

Each sequence runs in turn (b outer, t inner) from a zero state: its state stays in cache
and sequences never mix, so padding at the end of a sequence cannot reach its real steps.
Scalar gate maths runs in float64 and is stored in the arrays' dtype. Compiled code is
cached on disk (``cache=True``), so only a machine's first call pays the compile.
"""
import math

import numpy as np

try:
    from numba import njit
except ImportError:  # core.fast_rnn.available() is then False and the modules run instead
    njit = None


def _jit(fn):
    return njit(cache=True, nogil=True, error_model="numpy")(fn) if njit is not None else fn


@_jit
def _sigm(a):
    return 1.0 / (1.0 + math.exp(-a))


@_jit
def _tanh(a):
    # tanh(a) = 2 sigm(2a) - 1: one exp, ~3x faster than libm's tanh here, exact to ~1e-16
    return 2.0 / (1.0 + math.exp(-2.0 * a)) - 1.0


@_jit
def _vecmat(v, A, out):
    # out[j] += sum_k v[k] A[k, j], A (len(v), len(out)) C-contiguous: axpy over the rows of A.
    # Plain A[k, j] indexing matters: with offsets (A[k0 + k, j]) numba's negative-index
    # check stops LLVM from vectorising and the loop runs ~10x slower.
    n = out.shape[0]
    for k in range(v.shape[0]):
        vk = v[k]
        for j in range(n):
            out[j] += A[k, j] * vk


@_jit
def tanh_forward(gi, Ut, b_hh, hs):
    """h_t = tanh(gi_t + U h_{t-1} + b_hh). gi (B, T, H); fills hs (B, T, H)."""
    B, T, H = gi.shape
    h, a = np.zeros(H, gi.dtype), np.empty(H, gi.dtype)
    for b in range(B):
        h[:] = 0
        for t in range(T):
            # a = W x + b_ih + U h_prev + b_hh
            for j in range(H):
                a[j] = gi[b, t, j] + b_hh[j]
            _vecmat(h, Ut, a)
            # h = tanh(a)
            for j in range(H):
                h[j] = _tanh(a[j])
                hs[b, t, j] = h[j]


@_jit
def tanh_backward(dhs, hs, W_hh, da_s):
    """Fills da_s (B, T, H) = dL/da_t from dhs (B, T, H) and the saved hs (B, T, H)."""
    B, T, H = hs.shape
    dh, da = np.zeros(H, hs.dtype), np.empty(H, hs.dtype)
    for b in range(B):
        dh[:] = 0  # dL/dh_t through h_{t+1}
        for t in range(T - 1, -1, -1):
            # h = tanh(a):  dL/da = dL/dh (1 - h^2)
            for j in range(H):
                da[j] = (dhs[b, t, j] + dh[j]) * (1.0 - hs[b, t, j] * hs[b, t, j])
                da_s[b, t, j] = da[j]
            # a = ... + U h_prev:  dL/dh_prev = U^T da
            dh[:] = 0
            _vecmat(da, W_hh, dh)


@_jit
def gru_forward(gi, Ut, b_hh, hs, gates, ghn):
    """PyTorch's GRU. gi (B, T, 3H) rows r, z, n; fills hs (B, T, H), gates (B, T, 3H) = r, z, n
    and ghn (B, T, H) = U_n h_prev + b_hn."""
    B, T, H3 = gi.shape
    H = H3 // 3
    h, gh = np.zeros(H, gi.dtype), np.empty(H3, gi.dtype)
    for b in range(B):
        h[:] = 0
        for t in range(T):
            # gh = U h_prev + b_hh                                   (3H,)
            gh[:] = b_hh
            _vecmat(h, Ut, gh)
            for j in range(H):
                # r = sigm(W_r x + b_ir + U_r h_prev + b_hr)
                r = _sigm(gi[b, t, j] + gh[j])
                # z = sigm(W_z x + b_iz + U_z h_prev + b_hz)          -- share of the OLD state
                z = _sigm(gi[b, t, H + j] + gh[H + j])
                # n = tanh(W_n x + b_in + r * (U_n h_prev + b_hn))
                n = _tanh(gi[b, t, 2 * H + j] + r * gh[2 * H + j])
                # h = (1 - z) * n + z * h_prev
                h[j] = (1.0 - z) * n + z * h[j]
                hs[b, t, j], ghn[b, t, j] = h[j], gh[2 * H + j]
                gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j] = r, z, n


@_jit
def gru_backward(dhs, hs, gates, ghn, W_hh, dgi, dgh):
    """Fills dgi = dL/d(W x + b_ih) and dgh = dL/d(U h_prev + b_hh), both (B, T, 3H)."""
    B, T, H = hs.shape
    dh, dprev = np.zeros(H, hs.dtype), np.empty(H, hs.dtype)
    for b in range(B):
        dh[:] = 0
        for t in range(T - 1, -1, -1):
            for j in range(H):
                g = dhs[b, t, j] + dh[j]  # dL/dh_t
                h_prev = hs[b, t - 1, j] if t > 0 else 0.0
                r, z, n = gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j]
                # h = (1 - z) n + z h_prev
                dprev[j] = g * z
                # n = tanh(a_n), a_n = gi_n + r * gh_n
                da_n = g * (1.0 - z) * (1.0 - n * n)
                # r = sigm(a_r), z = sigm(a_z)
                da_r = da_n * ghn[b, t, j] * r * (1.0 - r)
                da_z = g * (h_prev - n) * z * (1.0 - z)
                dgi[b, t, j], dgi[b, t, H + j], dgi[b, t, 2 * H + j] = da_r, da_z, da_n
                dgh[b, t, j], dgh[b, t, H + j], dgh[b, t, 2 * H + j] = da_r, da_z, da_n * r
            # gh = U h_prev + b_hh:  dL/dh_prev += U^T dgh
            _vecmat(dgh[b, t], W_hh, dprev)
            dh[:] = dprev


@_jit
def paper_gru_forward(gi, Ut_rz, Ut_n, b_hh, hs, gates):
    """The paper's GRU. gi (B, T, 3H) rows r, z, n; Ut_rz = [U_r; U_z]^T (H, 2H), Ut_n = U_n^T
    (H, H) as separate arrays (see _vecmat); fills hs (B, T, H), gates (B, T, 3H) = r, z, h~."""
    B, T, H3 = gi.shape
    H = H3 // 3
    h, rz = np.zeros(H, gi.dtype), np.empty(2 * H, gi.dtype)
    q, u = np.empty(H, gi.dtype), np.empty(H, gi.dtype)
    for b in range(B):
        h[:] = 0
        for t in range(T):
            # rz = [U_r; U_z] h_prev + [b_hr; b_hz]                 (2H,)
            rz[:] = b_hh[:2 * H]
            _vecmat(h, Ut_rz, rz)
            for j in range(H):
                # r = sigm(W_r x + U_r h_prev),  z = sigm(W_z x + U_z h_prev)  (+ biases)
                r = _sigm(gi[b, t, j] + rz[j])
                gates[b, t, j], gates[b, t, H + j] = r, _sigm(gi[b, t, H + j] + rz[H + j])
                # q = r * h_prev                                     -- reset BEFORE the product
                q[j] = r * h[j]
            # u = U_n q + b_hn
            u[:] = b_hh[2 * H:]
            _vecmat(q, Ut_n, u)
            for j in range(H):
                # h~ = tanh(W x + b_in + U_n (r * h_prev) + b_hn)
                h_tilde = _tanh(gi[b, t, 2 * H + j] + u[j])
                # h = (1 - z) * h_prev + z * h~                      -- z the share of the NEW
                z = gates[b, t, H + j]
                h[j] = (1.0 - z) * h[j] + z * h_tilde
                hs[b, t, j], gates[b, t, 2 * H + j] = h[j], h_tilde


@_jit
def paper_gru_backward(dhs, hs, gates, W_rz, W_n, da_s):
    """Fills da_s (B, T, 3H) = dL/d(pre-activations of r, z, h~) (= dL/dgi = dL/db_hh).
    W_rz = [U_r; U_z] (2H, H) and W_n = U_n (H, H): the rows of W_hh, as separate arrays."""
    B, T, H = hs.shape
    dh, dprev = np.zeros(H, hs.dtype), np.empty(H, hs.dtype)
    dq, da_n, da_rz = np.empty(H, hs.dtype), np.empty(H, hs.dtype), np.empty(2 * H, hs.dtype)
    for b in range(B):
        dh[:] = 0
        for t in range(T - 1, -1, -1):
            for j in range(H):
                g = dhs[b, t, j] + dh[j]  # dL/dh_t
                h_prev = hs[b, t - 1, j] if t > 0 else 0.0
                z, h_tilde = gates[b, t, H + j], gates[b, t, 2 * H + j]
                # h = (1 - z) h_prev + z h~;  h~ = tanh(a_n);  z = sigm(a_z)
                dprev[j] = g * (1.0 - z)
                da_n[j] = g * z * (1.0 - h_tilde * h_tilde)
                da_rz[H + j] = g * (h_tilde - h_prev) * z * (1.0 - z)
            # a_n = ... + U_n q:  dL/dq = U_n^T da_n
            dq[:] = 0
            _vecmat(da_n, W_n, dq)
            for j in range(H):
                h_prev = hs[b, t - 1, j] if t > 0 else 0.0
                r = gates[b, t, j]
                # q = r * h_prev;  r = sigm(a_r)
                dprev[j] += dq[j] * r
                da_rz[j] = dq[j] * h_prev * r * (1.0 - r)
                da_s[b, t, j], da_s[b, t, H + j], da_s[b, t, 2 * H + j] = da_rz[j], da_rz[H + j], da_n[j]
            # a_r, a_z = ... + [U_r; U_z] h_prev:  dL/dh_prev += [U_r; U_z]^T da_rz
            _vecmat(da_rz, W_rz, dprev)
            dh[:] = dprev


@_jit
def lstm_forward(gi, Ut, b_hh, peep, hs, cs, gates):
    """The paper's LSTM (peep (3, H) = V_i, V_f, V_o). gi (B, T, 4H) rows i, f, g, o;
    fills hs, cs (B, T, H) and gates (B, T, 4H) = i, f, g, o."""
    B, T, H4 = gi.shape
    H = H4 // 4
    h, c, a = np.zeros(H, gi.dtype), np.zeros(H, gi.dtype), np.empty(H4, gi.dtype)
    for b in range(B):
        h[:] = 0
        c[:] = 0
        for t in range(T):
            # a = W x + b_ih + U h_prev + b_hh                      (4H,)
            for j in range(H4):
                a[j] = gi[b, t, j] + b_hh[j]
            _vecmat(h, Ut, a)
            for j in range(H):
                # i = sigm(a_i + V_i c_prev),  f = sigm(a_f + V_f c_prev)
                i = _sigm(a[j] + peep[0, j] * c[j])
                f = _sigm(a[H + j] + peep[1, j] * c[j])
                # c~ = tanh(a_g);  c = f * c_prev + i * c~
                g = _tanh(a[2 * H + j])
                c[j] = f * c[j] + i * g
                # o = sigm(a_o + V_o c);  h = o * tanh(c)
                o = _sigm(a[3 * H + j] + peep[2, j] * c[j])
                h[j] = o * _tanh(c[j])
                hs[b, t, j], cs[b, t, j] = h[j], c[j]
                gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j], gates[b, t, 3 * H + j] = i, f, g, o


@_jit
def lstm_backward(dhs, cs, gates, W_hh, peep, da_s):
    """Fills da_s (B, T, 4H) = dL/da, a the pre-activations before the peepholes."""
    B, T, H = cs.shape
    dh, dc = np.zeros(H, cs.dtype), np.zeros(H, cs.dtype)
    da = np.empty(4 * H, cs.dtype)
    for b in range(B):
        dh[:] = 0
        dc[:] = 0  # dL/dc_t through c_{t+1} and the gates of t+1
        for t in range(T - 1, -1, -1):
            for j in range(H):
                g_h = dhs[b, t, j] + dh[j]  # dL/dh_t
                c, c_prev = cs[b, t, j], (cs[b, t - 1, j] if t > 0 else 0.0)
                i, f, g, o = gates[b, t, j], gates[b, t, H + j], gates[b, t, 2 * H + j], gates[b, t, 3 * H + j]
                tanh_c = _tanh(c)
                # h = o tanh(c);  o = sigm(a_o + V_o c)
                da_o = g_h * tanh_c * o * (1.0 - o)
                dcj = dc[j] + g_h * o * (1.0 - tanh_c * tanh_c) + da_o * peep[2, j]
                # c = f c_prev + i c~;  i, f, c~ from a_i + V_i c_prev, a_f + V_f c_prev, a_g
                da[j] = dcj * g * i * (1.0 - i)
                da[H + j] = dcj * c_prev * f * (1.0 - f)
                da[2 * H + j] = dcj * i * (1.0 - g * g)
                da[3 * H + j] = da_o
                dc[j] = dcj * f + da[j] * peep[0, j] + da[H + j] * peep[1, j]
            for k in range(4 * H):
                da_s[b, t, k] = da[k]
            # a = ... + U h_prev:  dL/dh_prev = U^T da
            dh[:] = 0
            _vecmat(da, W_hh, dh)
