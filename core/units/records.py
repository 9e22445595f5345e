"""Plain records that cross between GateLab's processes: no torch at import, so the web server
can hold, pickle and draw them while the models live in the workers.

- ``Trace``: what a model computed on one piece (``core.insight.trace.trace`` makes it).
- ``Clamp``: a gate held at a value (``core.units.teaching_cells`` applies it).
- ``ModelRef``: a model the page names and a worker builds (``core.lab.worker`` resolves it).
"""
from dataclasses import dataclass, field

import numpy as np

from core.units.registry import UNITS
from core.units.spec import ModelSpec

ALIGNMENT = "step t has read frames 0..t-1 (a silent frame first) and predicts frame t"


@dataclass
class Trace:
    """What a model computed on one piece, per step.

    ``arrays`` holds ``h`` (T, H), ``probs`` (T, 88), ``nll`` (T,), ``target`` (T, 88) and the
    quantities of the architecture (``core.units``: GRU z, r, h_tilde; LSTM i, f, o, g, c),
    each (T, H).
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
        return UNITS[self.arch].traced

    @property
    def n_steps(self) -> int:
        return len(self.arrays["nll"])

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        meta = {"arch": self.arch, "variant": self.variant, "units": self.units,
                "alignment": self.alignment}
        return {**self.arrays, **{f"meta_{k}": np.asarray(v) for k, v in meta.items()}}


@dataclass(frozen=True)
class Clamp:
    """Hold ``gate`` at ``value`` for ``units`` (None: every unit)."""
    gate: str                       # one of the unit's gates (``core.units``)
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
