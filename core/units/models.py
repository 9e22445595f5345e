"""GateLab's models: one recurrent layer (tanh RNN, GRU, LSTM or a unit taken apart) and a linear read-out
to 88 independent sigmoid outputs, the keys of the next frame.

Two variants of each unit:
- ``torch`` (default): PyTorch's equations; trains with the fused ``nn.RNN``/``nn.GRU``/
  ``nn.LSTM``. ``model.rnn.state_dict()`` loads into a plain ``nn.GRU(88, H, batch_first=True)``.
- ``paper``: the equations printed in Chung et al. 2014 (``core.units.cells``). The tanh RNN's
  equation is the same in both, so its paper variant is the fused ``nn.RNN``.

Sizes: by a parameter budget (``units_for_budget``) or directly (the paper's Table 1:
tanh 100, GRU 46, LSTM 36). ``count_parameters`` gives the exact count by formula, and a
test checks it against ``sum(p.numel())``.
"""
import torch
from torch import nn

from core.units import fast_rnn
from core.units.cells import MGU, PaperGRU, PaperLSTM
from core.units.registry import PAPER_UNITS, UNITS
from core.units.spec import DEVICES, N_KEYS, ModelSpec, units_for_budget


def shift_inputs(roll: torch.Tensor) -> torch.Tensor:
    """Model inputs for a roll (..., T, 88): a silent frame, then frames 0..T-2."""
    return torch.cat([torch.zeros_like(roll[..., :1, :]), roll[..., :-1, :]], dim=-2)


def step_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log p(frame) per step: binary cross-entropy summed over the 88 keys. (..., T)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="none").sum(-1)


# name -> the recurrent layer's constructor per variant (its weight blocks: ``core.units``)
_LAYERS = {
    "tanh": {"torch": lambda d, h: nn.RNN(d, h, nonlinearity="tanh", batch_first=True),
             "paper": lambda d, h: nn.RNN(d, h, nonlinearity="tanh", batch_first=True)},
    "gru": {"torch": lambda d, h: nn.GRU(d, h, batch_first=True), "paper": PaperGRU},
    "lstm": {"torch": lambda d, h: nn.LSTM(d, h, batch_first=True), "paper": PaperLSTM},
    "mgu": {"torch": MGU, "paper": MGU},  # the same equations in both
}


def recurrent_layer(spec: ModelSpec) -> nn.Module:
    """The recurrent layer of ``spec``: an LSTM variant is the one LSTM with its switches, with
    peepholes in the paper's variant and none in PyTorch's (``core.units.registry``)."""
    u = UNITS[spec.arch]
    if u.family == "lstm":
        return PaperLSTM(N_KEYS, spec.units, u.switches, peepholes=spec.variant == "paper")
    return _LAYERS[spec.arch][spec.variant](N_KEYS, spec.units)


class RecurrentModel(nn.Module):
    """One recurrent layer + linear read-out to 88 key logits.

    ``forward(x)``: x (B, T, 88) inputs -> logits (B, T, 88). Inputs are the frames shifted
    right by one with a silent first frame (``shift_inputs``), so output step t
    has read frames 0..t-1 and predicts frame t. ``unroll(x, state)`` also starts from a
    given state and returns the last one (truncated backpropagation with carried state).
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.rnn = recurrent_layer(spec)
        self.out = nn.Linear(spec.units, N_KEYS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unroll(x)[0]

    def unroll(self, x: torch.Tensor, state=None):
        """x (B, T, 88) from ``state`` (None: zeros) -> (logits (B, T, 88), the state after
        the last step). A state is the layer's: h (1, B, H), or (h, c) for the LSTM."""
        if fast_rnn.supported(self, x):  # on the CPU: numba loops, forward and backward
            h, state = fast_rnn.run(self.rnn, x, state)  # (B, T, H)
        else:
            h, state = self.rnn(x, state)                # (B, T, H)
        return self.out(h), state                        # (B, T, 88)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h (B, T, H) of the recurrent layer for inputs x (B, T, 88)."""
        return self.rnn(x)[0]

    def step(self, x_t: torch.Tensor, state=None):
        """One time step for sampling: x_t (B, 88) -> (logits (B, 88), new state)."""
        h, state = self.rnn(x_t.unsqueeze(1), state)
        return self.out(h[:, 0]), state


def build_model(arch: str = "gru", variant: str = "torch", units: int | None = None,
                budget: int | None = None, seed: int | None = None) -> RecurrentModel:
    """A fresh model; width from ``units``, else from ``budget``, else the paper's size."""
    if units is None:
        units = units_for_budget(arch, budget, variant) if budget or arch not in PAPER_UNITS else PAPER_UNITS[arch]
    if seed is not None:
        torch.manual_seed(seed)
    return RecurrentModel(ModelSpec(arch, variant, int(units)))


def resolve_device(name: str = "cpu") -> torch.device:
    """``cpu`` (default), ``cuda`` (error if absent) or ``auto`` (CUDA when available); another
    name is a ValueError (torch's own error would be a RuntimeError, shown as a traceback)."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        why = "this PyTorch is a CPU-only build" if torch.version.cuda is None else "no CUDA device is available"
        raise ValueError(f"CUDA was asked for, but {why}; use --device cpu (or auto: CUDA when available)")
    return torch.device(name)
