"""What a model is, as plain values: its shape (``ModelSpec``), its exact parameter count and the
width that meets a parameter budget. No torch here: the web server reads them.
"""
from dataclasses import dataclass

from core.units.registry import ALL_ARCHS, UNITS

N_KEYS = 88
VARIANTS = ("torch", "paper")
DEVICES = ("cpu", "cuda", "auto")   # auto: CUDA when there is a device, else the CPU
DEFAULT_BUDGET = 20_000  # the paper's ~20k parameters


def count_parameters(arch: str, units: int, variant: str = "torch", keys: int = N_KEYS) -> int:
    """Exact parameter count of a model: recurrent layer + read-out.

    Recurrent layer: G blocks of (W: H x D, U: H x H, two biases of H), H weights per
    peephole its equations have (the paper's LSTM: 3), and H x 3H per gate that reads the
    previous step's three gates (LSTM-FGR: 3). Read-out: H x 88 weights + 88 biases.
    """
    u = UNITS[arch]
    H, D = units, keys
    recurrent = u.blocks * (H * D + H * H + 2 * H)
    recurrent += u.peepholes(variant) * H + u.gate_recurrence(variant) * 3 * H * H
    return recurrent + H * keys + keys


def units_for_budget(arch: str, budget: int = DEFAULT_BUDGET, variant: str = "torch") -> int:
    """The unit count whose parameter count is closest to ``budget`` (ties: fewer units)."""
    best = min(range(1, 2049), key=lambda h: (abs(count_parameters(arch, h, variant) - budget), h))
    return best


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, enough to rebuild it: architecture, variant and width."""
    arch: str = "gru"        # tanh | gru | lstm, or a unit taken apart (core.units.VARIANT_ARCHS)
    variant: str = "torch"   # torch (PyTorch's equations) | paper (the paper's)
    units: int = 46          # hidden units H

    def __post_init__(self):
        if self.arch not in UNITS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ALL_ARCHS)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if not 1 <= int(self.units) <= 4096:
            raise ValueError(f"units must be between 1 and 4096, got {self.units}")

    @property
    def n_params(self) -> int:
        return count_parameters(self.arch, self.units, self.variant)
