"""What a model and a training run are, as plain values: no torch here, so the web server can
read, check and round-trip settings (URL, widgets) without importing PyTorch.

``Settings`` decides one training run (CLI, reproduction, each Lab model); ``LabSettings`` one
Lab setup of up to three units trained side by side; ``ModelSpec`` one model's shape.
``core.models``, ``core.train`` and ``core.lab`` re-export these names.
"""
import math
from dataclasses import asdict, dataclass, fields

N_KEYS = 88
ARCHS = ("tanh", "gru", "lstm")
VARIANTS = ("torch", "paper")
PAPER_UNITS = {"tanh": 100, "gru": 46, "lstm": 36}  # the paper's Table 1
DEFAULT_BUDGET = 20_000  # the paper's ~20k parameters

GATE_BLOCKS = {"tanh": 1, "gru": 3, "lstm": 4}  # weight blocks of each unit: candidate + gates


def count_parameters(arch: str, units: int, variant: str = "torch", keys: int = N_KEYS) -> int:
    """Exact parameter count of a model: recurrent layer + read-out.

    Recurrent layer: G blocks of (W: H x D, U: H x H, two biases of H); the paper LSTM adds
    3H peephole weights. Read-out: H x 88 weights + 88 biases.
    """
    blocks = GATE_BLOCKS[arch]
    H, D = units, keys
    recurrent = blocks * (H * D + H * H + 2 * H)
    if arch == "lstm" and variant == "paper":
        recurrent += 3 * H
    return recurrent + H * keys + keys


def units_for_budget(arch: str, budget: int = DEFAULT_BUDGET, variant: str = "torch") -> int:
    """The unit count whose parameter count is closest to ``budget`` (ties: fewer units)."""
    best = min(range(1, 2049), key=lambda h: (abs(count_parameters(arch, h, variant) - budget), h))
    return best


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, enough to rebuild it: architecture, variant and width."""
    arch: str = "gru"        # tanh | gru | lstm
    variant: str = "torch"   # torch (PyTorch's equations) | paper (the paper's)
    units: int = 46          # hidden units H

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if not 1 <= int(self.units) <= 4096:
            raise ValueError(f"units must be between 1 and 4096, got {self.units}")

    @property
    def n_params(self) -> int:
        return count_parameters(self.arch, self.units, self.variant)


OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class Settings:
    """Everything that decides a training run. Same settings + same seed = same numbers (CPU)."""
    dataset: str = "chorales"     # a name from core.data's registry
    arch: str = "gru"             # tanh | gru | lstm
    variant: str = "torch"        # torch (PyTorch's equations, fused) | paper (the paper's)
    budget: int = DEFAULT_BUDGET  # parameter budget, used when units is 0
    units: int = 0                # hidden units; 0 = choose from the budget
    optimizer: str = "adam"       # adam | rmsprop (the paper's)
    lr: float = 1e-3              # learning rate
    clip: float = 1.0             # rescale the gradient when its norm exceeds this (0 = off)
    weight_noise: float = 0.0     # std of Gaussian noise on the weights in training passes (paper: 0.075)
    batch_size: int = 8           # sequences (or chunks) per update
    truncate: int = 200           # training chunks of at most this many steps (0 = whole pieces)
    carry_state: bool = False     # a chunk starts from the last state of the chunk before it (else zeros)
    reshuffle: bool = True        # new batch members each epoch (within lengths); off: the same groups
    epochs: int = 20              # passes over the training split
    patience: int = 5             # early stopping: epochs without a better validation NLL
    seed: int = 0                 # model init, batch order and weight noise
    device: str = "cpu"           # cpu | cuda | auto

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        checks = [
            (self.arch in ARCHS, f"arch must be one of {', '.join(ARCHS)}"),
            (self.variant in VARIANTS, f"variant must be one of {', '.join(VARIANTS)}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (math.isfinite(self.lr) and self.lr > 0, "lr must be a positive number"),
            (self.clip >= 0 and self.weight_noise >= 0, "clip and weight_noise must be >= 0"),
            (self.batch_size >= 1 and self.epochs >= 0 and self.patience >= 1,
             "batch_size and patience must be >= 1, epochs >= 0"),
            (self.units >= 0 and self.budget >= 1 and self.truncate >= 0,
             "units and truncate must be >= 0, budget >= 1"),
            (isinstance(self.carry_state, bool) and isinstance(self.reshuffle, bool),
             "carry_state and reshuffle must be True or False"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid settings: {message}")

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        """Settings from a dict (a checkpoint, a URL); unknown keys are an error. A record
        without ``reshuffle`` was written before batches were reshuffled: its run had fixed ones."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**{"reshuffle": False, **d})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LabSettings:
    """One Lab setup; every field is mirrored in the page's URL. A change means a reset."""
    dataset: str = "chorales"           # a core.data registry name ("midi": uploaded files)
    archs: tuple = ARCHS                # which of tanh / gru / lstm train side by side
    variant: str = "torch"              # torch | paper equations
    budget: int = DEFAULT_BUDGET        # parameters per model; units are chosen to match
    optimizer: str = "adam"             # adam | rmsprop (the paper's)
    lr: float = 1e-3                    # learning rate
    clip: float = 1.0                   # gradient-norm clipping (0 = off)
    weight_noise: float = 0.0           # std of weight noise (the paper: 0.075)
    batch_size: int = 8                 # sequences (chunks) per update
    truncate: int = 200                 # chunk length in steps (0 = whole pieces)
    carry_state: bool = False           # chunks of a piece in order, each from the last's state
    reshuffle: bool = True              # new batch members each epoch (off: the same groups)
    seed: int = 0                       # initial weights, batch order, weight noise
    eval_every: int = 5                 # updates between validation passes

    def __post_init__(self):
        self.archs = tuple(a for a in ARCHS if a in self.archs)  # canonical order, no repeats
        self.validate()

    def validate(self) -> None:
        if not self.archs:
            raise ValueError("choose at least one architecture")
        if self.eval_every < 1:
            raise ValueError("eval_every must be >= 1")
        self.trainer_settings(self.archs[0])  # Settings checks the rest

    def trainer_settings(self, arch: str) -> Settings:
        return Settings(dataset=self.dataset, arch=arch, variant=self.variant, budget=self.budget,
                        optimizer=self.optimizer, lr=self.lr, clip=self.clip,
                        weight_noise=self.weight_noise, batch_size=self.batch_size,
                        truncate=self.truncate, carry_state=self.carry_state,
                        reshuffle=self.reshuffle, seed=self.seed)

    def specs(self) -> list[ModelSpec]:
        """The models this setup builds (units from the budget; ``.n_params`` exact)."""
        return [ModelSpec(a, self.variant, units_for_budget(a, self.budget, self.variant))
                for a in self.archs]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_params(self) -> dict[str, str]:
        """URL form: every field as a string (archs comma-separated)."""
        d = asdict(self)
        d["archs"] = ",".join(self.archs)
        return {k: str(v).lower() if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)
                for k, v in d.items()}

    @classmethod
    def from_params(cls, params) -> tuple["LabSettings", dict[str, str]]:
        """Settings from URL parameters; unreadable values keep their defaults and are
        reported, by field name (a shared link with a typo still opens the page)."""
        values, problems = {}, {}
        for f in fields(cls):
            if f.name not in params:
                continue
            raw = str(params[f.name])
            try:
                values[f.name] = _parse_field(f.name, raw, f.default)
                cls(**{f.name: values[f.name]})
            except ValueError as e:
                values.pop(f.name, None)
                problems[f.name] = f"URL parameter {f.name}={raw!r} ignored: {e}"
        return cls(**values), problems


def _parse_field(name: str, raw: str, default):
    if name == "archs":
        archs = tuple(a.strip() for a in raw.split(",") if a.strip())
        unknown = [a for a in archs if a not in ARCHS]
        if unknown:
            raise ValueError(f"unknown architecture {unknown[0]!r}")
        return archs
    if name in ("variant", "optimizer"):
        allowed = VARIANTS if name == "variant" else OPTIMIZERS
        if raw not in allowed:
            raise ValueError(f"choose one of {', '.join(allowed)}")
        return raw
    if isinstance(default, bool):
        if raw.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError("must be true or false")
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, str):
        return raw
    number = float(raw)
    if not math.isfinite(number):  # inf, nan, 1e400: no setting takes them (int(inf) would raise)
        raise ValueError("must be a finite number")
    value = int(number) if isinstance(default, int) else number
    if isinstance(default, int) and number != value:
        raise ValueError("must be a whole number")
    return value
