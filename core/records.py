"""Plain records that cross between GateLab's processes: no torch at import, so the web server
can hold, pickle and draw them while the models live in the workers.

- ``GATES`` / ``SATURATION_GATES``: per unit, the gates a trace records and those whose
  saturation means something.
- ``Trace``: what a model computed on one piece (``core.trace.trace`` makes it).
- ``Clamp``: a gate held at a value (``core.teaching_cells`` applies it); ``CLAMP_MEANINGS``.
- ``ModelRef``: a model the page names and a worker builds (``core.lab_worker`` resolves it).
"""
from dataclasses import dataclass, field

import numpy as np

from core.settings import ModelSpec

ALIGNMENT = "step t has read frames 0..t-1 (a silent frame first) and predicts frame t"
GATES = {"tanh": (), "gru": ("z", "r", "h_tilde"), "lstm": ("i", "f", "o", "g", "c")}
SATURATION_GATES = {"tanh": (), "gru": ("z", "r"), "lstm": ("i", "f", "o")}


@dataclass
class Trace:
    """What a model computed on one piece, per step.

    ``arrays`` holds ``h`` (T, H), ``probs`` (T, 88), ``nll`` (T,), ``target`` (T, 88) and the
    gates of the architecture (GRU: z, r, h_tilde; LSTM: i, f, o, g, c), each (T, H).
    """
    arch: str
    variant: str
    units: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    alignment: str = ALIGNMENT

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATES[self.arch]

    @property
    def n_steps(self) -> int:
        return len(self.arrays["nll"])

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        meta = {"arch": self.arch, "variant": self.variant, "units": self.units,
                "alignment": self.alignment}
        return {**self.arrays, **{f"meta_{k}": np.asarray(v) for k, v in meta.items()}}


# Gates a user may clamp, per architecture, with the values that teach something.
CLAMPABLE = {"gru": ("z", "r"), "lstm": ("f", "i", "o")}
CLAMP_MEANINGS = {
    ("gru", "z", 0.0): "z = 0: keep the old state (ignore the candidate)",
    ("gru", "z", 1.0): "z = 1: take the new candidate (forget the old state)",
    ("gru", "r", 1.0): "r = 1: no reset (the candidate always sees the whole old state)",
    ("gru", "r", 0.0): "r = 0: full reset (the candidate never sees the old state)",
    ("lstm", "f", 1.0): "f = 1: never forget (the cell only accumulates)",
    ("lstm", "f", 0.0): "f = 0: forget everything at every step",
    ("lstm", "i", 0.0): "i = 0: never write (the cell keeps its start value, 0)",
    ("lstm", "i", 1.0): "i = 1: always write the whole candidate",
    ("lstm", "o", 1.0): "o = 1: always show the whole cell",
    ("lstm", "o", 0.0): "o = 0: never show the cell (h = 0)",
}


@dataclass(frozen=True)
class Clamp:
    """Hold ``gate`` at ``value`` for ``units`` (None: every unit)."""
    gate: str                       # a name from CLAMPABLE[arch]
    value: float                    # 0.0 .. 1.0
    units: tuple | None = None      # unit indices, or None for all

    def apply(self, name: str, gate):
        """``gate`` (a tensor, (..., H)) with the clamp applied if it is this clamp's gate."""
        import torch
        if name != self.gate:
            return gate
        if self.units is None:
            return torch.full_like(gate, self.value)
        mask = torch.zeros(gate.shape[-1], dtype=torch.bool)
        mask[list(self.units)] = True
        return torch.where(mask, torch.full_like(gate, self.value), gate)


@dataclass(frozen=True)
class ModelRef:
    """A model named by the page and built by the session's worker: a shipped pretrained
    checkpoint (``pretrained``: its manifest name; the worker checks its sha256) or weights
    taken from the Lab (``weights``: ``core.lab.Lab.weights`` of one unit, sent along).
    Equal refs name the same model; ``spec`` answers questions about its shape here."""
    spec: ModelSpec
    pretrained: str | None = None                            # manifest name
    key: tuple = ()                                          # weights: (arch, updates, digest)
    weights: dict | None = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def from_weights(cls, w: dict) -> "ModelRef":
        """A ref to one unit of ``core.lab.Lab.weights()`` (spec, updates, state_dict); its key
        digests the weights, so a reset Lab's models at the same update count differ."""
        import hashlib
        spec = ModelSpec(**w["spec"])
        digest = hashlib.sha1()
        for name in sorted(w["state_dict"]):
            digest.update(np.ascontiguousarray(w["state_dict"][name]).tobytes())
        return cls(spec, key=(spec.arch, w["updates"], digest.hexdigest()[:16]), weights=w)
