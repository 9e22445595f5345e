"""The paper's recurrent layers (Chung et al. 2014, section 3), step by step.

Each layer mirrors the interface of its ``torch.nn`` twin for a single layer with
``batch_first=True``: ``layer(x, hx) -> (output, h_n)`` (LSTM: ``(h_n, c_n)``), and keeps
PyTorch's parameter names and row order (GRU rows r, z, n; LSTM rows i, f, g, o), so that
a checkpoint of either variant has the same layout. What differs is the equations:

- ``PaperGRU``: the reset gate acts *before* the recurrent product, and ``z`` is the share
  of the new candidate (PyTorch: reset after the product, ``z`` the share of the old state).
- ``PaperLSTM``: diagonal "peephole" weights from the cell to the i, f and o gates
  (PyTorch's LSTM has none).

Every line of a cell sits under the equation it computes.
"""
import math

import torch
from torch import nn


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
        self.input_size, self.hidden_size = input_size, hidden_size
        H, D = hidden_size, input_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * H, D))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * H))
        _init_uniform(self, H)

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
    """LSTM as printed in the paper (Graves 2013), eq. (1)-(4), with peepholes.

    Parameters: as ``nn.LSTM`` (rows i, f, g, o) plus ``weight_peep_l0`` (3, H): the
    diagonal peephole weights V_i, V_f, V_o.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H, D = hidden_size, input_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, D))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H))
        self.weight_peep_l0 = nn.Parameter(torch.empty(3, H))
        _init_uniform(self, H)

    def cell(self, wx: torch.Tensor, h_prev: torch.Tensor, c_prev: torch.Tensor) -> dict:
        """One step. ``wx`` (B, 4H) is W x + b_ih, precomputed for all steps at once."""
        pre = wx + h_prev @ self.weight_hh_l0.T + self.bias_hh_l0  # (B, 4H)
        a_i, a_f, a_g, a_o = pre.chunk(4, dim=-1)
        V_i, V_f, V_o = self.weight_peep_l0
        # i = sigm(W_i x + U_i h_prev + V_i c_prev)
        i = torch.sigmoid(a_i + V_i * c_prev)
        # f = sigm(W_f x + U_f h_prev + V_f c_prev)
        f = torch.sigmoid(a_f + V_f * c_prev)
        # c~ = tanh(W_c x + U_c h_prev)             -- called g, as in PyTorch
        g = torch.tanh(a_g)
        # c = f * c_prev + i * c~
        c = f * c_prev + i * g
        # o = sigm(W_o x + U_o h_prev + V_o c)      -- peeks at the NEW cell
        o = torch.sigmoid(a_o + V_o * c)
        # h = o * tanh(c)
        h = o * torch.tanh(c)
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}

    def forward(self, x: torch.Tensor, hx=None):
        B, T, _ = x.shape
        if hx is None:
            h = c = x.new_zeros(B, self.hidden_size)
        else:
            h, c = hx[0][0], hx[1][0]
        wx = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (B, T, 4H)
        outputs = []
        for t in range(T):
            step = self.cell(wx[:, t], h, c)
            h, c = step["h"], step["c"]
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))
