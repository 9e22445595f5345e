"""The paper's recurrent layers (Chung et al. 2014, section 3) and the units taken apart, step by step.

Each layer mirrors the interface of its ``torch.nn`` twin for a single layer with
``batch_first=True``: ``layer(x, hx) -> (output, h_n)`` (LSTM: ``(h_n, c_n)``), and keeps
PyTorch's parameter names and row order (GRU rows r, z, n; LSTM rows i, f, g, o), so that
a checkpoint of either variant has the same layout. What differs is the equations:

- ``PaperGRU``: the reset gate acts *before* the recurrent product, and ``z`` is the share
  of the new candidate (PyTorch: reset after the product, ``z`` the share of the old state).
- ``PaperLSTM``: diagonal "peephole" weights from the cell to the i, f and o gates
  (PyTorch's LSTM has none); with switches, Greff et al. 2015's variants of it.
- ``MGU``: the minimal gated unit (Zhou et al. 2016), the GRU with one gate for both r and z.

Every line of a cell sits under the equation it computes.
"""
import math

import torch
from torch import nn


def _layer_weights(module: nn.Module, rows: int, input_size: int, hidden_size: int) -> None:
    """The four parameters every unit here has, named as torch.nn's: ``weight_ih_l0`` (rows, D),
    ``weight_hh_l0`` (rows, H), ``bias_ih_l0`` and ``bias_hh_l0`` (rows,), ``rows`` = blocks × H."""
    module.input_size, module.hidden_size = input_size, hidden_size
    module.weight_ih_l0 = nn.Parameter(torch.empty(rows, input_size))
    module.weight_hh_l0 = nn.Parameter(torch.empty(rows, hidden_size))
    module.bias_ih_l0 = nn.Parameter(torch.empty(rows))
    module.bias_hh_l0 = nn.Parameter(torch.empty(rows))


def _init_uniform(module: nn.Module, hidden_size: int) -> None:
    # The same initialisation as torch.nn's recurrent modules: U(-1/sqrt(H), 1/sqrt(H)).
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


class PaperGRU(nn.Module):
    """GRU as printed in the paper, eq. (5)-(8).

    Parameters: ``weight_ih_l0`` (3H, D), ``weight_hh_l0`` (3H, H), ``bias_ih_l0`` (3H,),
    ``bias_hh_l0`` (3H,), rows ordered r, z, n like ``nn.GRU``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _layer_weights(self, 3 * hidden_size, input_size, hidden_size)
        _init_uniform(self, hidden_size)

    def cell(self, wx: torch.Tensor, h_prev: torch.Tensor) -> dict:
        """One step. ``wx`` (B, 3H) is W x + b_ih, precomputed for all steps at once."""
        H = self.hidden_size
        W_hh, b_hh = self.weight_hh_l0, self.bias_hh_l0
        wx_r, wx_z, wx_n = wx.split(H, dim=-1)
        # r = sigm(W_r x + U_r h_prev)
        r = torch.sigmoid(wx_r + h_prev @ W_hh[:H].T + b_hh[:H])
        # z = sigm(W_z x + U_z h_prev)
        z = torch.sigmoid(wx_z + h_prev @ W_hh[H:2 * H].T + b_hh[H:2 * H])
        # h~ = tanh(W x + U (r * h_prev))         -- reset before the matrix product
        h_tilde = torch.tanh(wx_n + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])
        # h = (1 - z) * h_prev + z * h~            -- z is the share of the NEW candidate
        h = (1 - z) * h_prev + z * h_tilde
        return {"r": r, "z": z, "h_tilde": h_tilde, "h": h}

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None):
        B, T, _ = x.shape  # batch, time, keys
        h = x.new_zeros(B, self.hidden_size) if hx is None else hx[0]
        wx = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (B, T, 3H), one big product
        outputs = []
        for t in range(T):
            h = self.cell(wx[:, t], h)["h"]
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)


class PaperLSTM(nn.Module):
    """LSTM as printed in the paper (Graves 2013), eq. (1)-(4), with peepholes; with
    ``switches``, one of Greff et al. 2015's variants (``core.units.registry.LSTM_SWITCHES``).

    Parameters: as ``nn.LSTM`` (rows i, f, g, o: the blocks it has, ``self.blocks``) plus
    ``weight_peep_l0`` (P, H): the diagonal peephole weights of the gates that have them
    (``self.peeps``: V_i, V_f, V_o for the paper's LSTM) and, with a full gate recurrence,
    ``weight_gr_l0`` (3H, 3H): R_i, R_f, R_o, each reading the previous step's i, f and o
    (zeros before the first step of each call). ``peepholes=False``: none (PyTorch's LSTM, and
    the variants of it, the Lab's variant "torch").
    """

    def __init__(self, input_size: int, hidden_size: int, switches=frozenset(), peepholes: bool = True):
        super().__init__()
        from core.units.registry import LSTM_BLOCKS, LSTM_GATES
        self.switches = frozenset(switches)
        gone = {"nig": "i", "cifg": "i", "nfg": "f", "nog": "o"}
        missing = {gone[s] for s in self.switches if s in gone}
        self.blocks = tuple(b for b in LSTM_BLOCKS if b not in missing)
        self.peeps = (tuple(g for g in LSTM_GATES if g not in missing)
                      if peepholes and "np" not in self.switches else ())
        self.fgr = "fgr" in self.switches
        H = hidden_size
        _layer_weights(self, len(self.blocks) * H, input_size, H)
        if self.peeps:
            self.weight_peep_l0 = nn.Parameter(torch.empty(len(self.peeps), H))
        if self.fgr:
            self.weight_gr_l0 = nn.Parameter(torch.empty(3 * H, 3 * H))
        _init_uniform(self, H)

    def cell(self, wx: torch.Tensor, h_prev: torch.Tensor, c_prev: torch.Tensor,
             g_prev: torch.Tensor | None = None) -> dict:
        """One step. ``wx`` (B, G*H) is W x + b_ih, precomputed for all steps at once;
        ``g_prev`` (B, 3H): the previous step's i, f, o (a full gate recurrence only)."""
        pre = wx + h_prev @ self.weight_hh_l0.T + self.bias_hh_l0  # (B, G*H)
        a = dict(zip(self.blocks, pre.chunk(len(self.blocks), dim=-1)))
        V = dict(zip(self.peeps, self.weight_peep_l0)) if self.peeps else {}
        if self.fgr:  # each gate also reads the previous step's gates: R [i, f, o]_{t-1}
            g_prev = h_prev.new_zeros(h_prev.shape[0], 3 * self.hidden_size) if g_prev is None else g_prev
            a_r = (g_prev @ self.weight_gr_l0.T).chunk(3, dim=-1)
            for name, extra in zip(("i", "f", "o"), a_r):
                a[name] = a[name] + extra
        one = torch.ones_like(c_prev)
        # f = sigm(W_f x + U_f h_prev + V_f c_prev)            (NFG: f = 1)
        f = torch.sigmoid(a["f"] + V["f"] * c_prev if "f" in V else a["f"]) if "f" in a else one
        # i = sigm(W_i x + U_i h_prev + V_i c_prev)            (NIG: i = 1;  CIFG: i = 1 - f)
        i = (torch.sigmoid(a["i"] + V["i"] * c_prev if "i" in V else a["i"]) if "i" in a
             else 1 - f if "cifg" in self.switches else one)
        # c~ = tanh(W_c x + U_c h_prev)                         (NIAF: no tanh) -- called g, as in PyTorch
        g = a["g"] if "niaf" in self.switches else torch.tanh(a["g"])
        # c = f * c_prev + i * c~
        c = f * c_prev + i * g
        # o = sigm(W_o x + U_o h_prev + V_o c)                  -- peeks at the NEW cell (NOG: o = 1)
        o = torch.sigmoid(a["o"] + V["o"] * c if "o" in V else a["o"]) if "o" in a else one
        # h = o * tanh(c)                                        (NOAF: h = o * c)
        h = o * (c if "noaf" in self.switches else torch.tanh(c))
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}

    def forward(self, x: torch.Tensor, hx=None):
        B, T, _ = x.shape
        if hx is None:
            h = c = x.new_zeros(B, self.hidden_size)
        else:
            h, c = hx[0][0], hx[1][0]
        wx = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (B, T, G*H)
        outputs, g_prev = [], None
        for t in range(T):
            step = self.cell(wx[:, t], h, c, g_prev)
            h, c = step["h"], step["c"]
            g_prev = torch.cat([step["i"], step["f"], step["o"]], dim=-1) if self.fgr else None
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))

    def full_layout(self):
        """Its weights in the plain LSTM's layout, for the compiled loop: W_ih, b_ih, W_hh, b_hh
        with a zero block for each gate it does not have (4 blocks, rows i, f, g, o), the
        peepholes (3, H) with zero rows, R (3H, 3H) (zeros without a gate recurrence) and the
        switches as the loop's ``modes`` (``core.units.fast_loops.lstm_forward``). Built from the
        parameters by autograd ops, so the loop's gradients reach the parameters."""
        H = self.hidden_size
        W_ih, b_ih, W_hh, b_hh = self.weight_ih_l0, self.bias_ih_l0, self.weight_hh_l0, self.bias_hh_l0
        if len(self.blocks) < 4:
            def full(p):
                parts = dict(zip(self.blocks, p.chunk(len(self.blocks))))
                return torch.cat([parts.get(b, p.new_zeros(H, *p.shape[1:])) for b in ("i", "f", "g", "o")])
            W_ih, b_ih, W_hh, b_hh = map(full, (W_ih, b_ih, W_hh, b_hh))
        if not self.peeps:
            peep = W_hh.new_zeros(3, H)
        elif self.peeps == ("i", "f", "o"):
            peep = self.weight_peep_l0
        else:
            rows = dict(zip(self.peeps, self.weight_peep_l0))
            peep = torch.stack([rows.get(g, W_hh.new_zeros(H)) for g in ("i", "f", "o")])
        R = self.weight_gr_l0 if self.fgr else W_hh.new_zeros(1, 1)
        return W_ih, b_ih, W_hh, b_hh, peep, R, lstm_modes(self.switches)


# The compiled loop's switches (``core.units.fast_loops.lstm_forward``): the input gate (0 a
# sigmoid, 1 held at 1, 2 one minus the forget gate), the forget and output gates (0 a sigmoid,
# 1 held at 1), the candidate's and the output's tanh (1 on, 0 off), the gate recurrence (1 on)
def lstm_modes(switches) -> tuple[int, int, int, int, int, int]:
    s = frozenset(switches)
    return (2 if "cifg" in s else 1 if "nig" in s else 0, int("nfg" in s), int("nog" in s),
            int("niaf" not in s), int("noaf" not in s), int("fgr" in s))


class MGU(nn.Module):
    """The minimal gated unit (Zhou, Wu, Zhang & Zhou 2016): one gate f that both resets the
    state before the recurrent product and mixes old state and candidate.

    Parameters: ``weight_ih_l0`` (2H, D), ``weight_hh_l0`` (2H, H), ``bias_ih_l0`` and
    ``bias_hh_l0`` (2H,), rows f, n.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _layer_weights(self, 2 * hidden_size, input_size, hidden_size)
        _init_uniform(self, hidden_size)

    def cell(self, wx: torch.Tensor, h_prev: torch.Tensor) -> dict:
        """One step. ``wx`` (B, 2H) is W x + b_ih, precomputed for all steps at once."""
        H = self.hidden_size
        W_hh, b_hh = self.weight_hh_l0, self.bias_hh_l0
        wx_f, wx_n = wx.split(H, dim=-1)
        # f = sigm(W_f x + U_f h_prev + b_f)
        f = torch.sigmoid(wx_f + h_prev @ W_hh[:H].T + b_hh[:H])
        # h~ = tanh(W x + U (f * h_prev) + b)       -- f resets before the product, as the paper's GRU's r
        h_tilde = torch.tanh(wx_n + (f * h_prev) @ W_hh[H:].T + b_hh[H:])
        # h = (1 - f) * h_prev + f * h~             -- and mixes, as its z
        h = (1 - f) * h_prev + f * h_tilde
        return {"f": f, "h_tilde": h_tilde, "h": h}

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None):
        B, T, _ = x.shape
        h = x.new_zeros(B, self.hidden_size) if hx is None else hx[0]
        wx = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (B, T, 2H)
        outputs = []
        for t in range(T):
            h = self.cell(wx[:, t], h)["h"]
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)

    def gru_layout(self):
        """Its weights as the paper's GRU's (rows r, z, n) with r = z = f, for the compiled loop
        (``core.units.fast_loops.paper_gru_forward``): the f block twice. Built by autograd ops,
        so the gradients of both copies add up in f's own weights."""
        H = self.hidden_size

        def twice(p):
            return torch.cat([p[:H], p])
        return tuple(map(twice, (self.weight_ih_l0, self.bias_ih_l0, self.weight_hh_l0, self.bias_hh_l0)))
