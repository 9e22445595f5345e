"""What a model and a training run are, as plain values: no torch here, so the web server can
read, check and round-trip settings (URL, widgets) without importing PyTorch.

``Training`` holds how models train, each field with its default and its one-line help
(``setting``); ``Settings`` (one training run: CLI, reproduction, each Lab model) and
``LabSettings`` (one Lab setup of up to three units trained side by side) add their own
fields to it, and the CLI builds its options from these fields. ``ModelSpec``: one model's shape.
What a model is (its shape, its size for a budget): ``core.units.spec``.
"""
import math
from dataclasses import asdict, dataclass, field, fields

from core.units import ALL_ARCHS, ARCHS, UNITS
from core.units.spec import DEFAULT_BUDGET, DEVICES, VARIANTS, ModelSpec, units_for_budget

OPTIMIZERS = ("adam", "rmsprop")
MAX_LAB_MODELS = 6  # units the Lab trains side by side (docs/dashboard.md: 2 refreshes/s on 2 cores)


def setting(default, help: str, **cli):
    """A settings field: its default, and the one sentence that explains it (the CLI's help,
    the docs' tables). ``cli`` may add ``choices`` and ``group`` (mutually exclusive flags)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class Training:
    """How models train: the fields a run (``Settings``) and a Lab setup (``LabSettings``) share,
    each written once here. Same settings + same seed = same numbers (CPU)."""
    dataset: str = setting("chorales", "dataset name (see `python -m core datasets`)")
    variant: str = setting("torch", "unit equations: torch (PyTorch's, fused, fast) or paper (the paper's)",
                           choices=VARIANTS)
    budget: int = setting(DEFAULT_BUDGET, "parameter budget per model; units are chosen to match",
                          group="size")
    optimizer: str = setting("adam", "adam, or rmsprop (the paper's)", choices=OPTIMIZERS)
    lr: float = setting(1e-3, "learning rate")
    clip: float = setting(1.0, "rescale the gradient when its norm exceeds this (0 = off)")
    weight_noise: float = setting(0.0, "std of Gaussian noise on the weights in training passes "
                                       "(the paper: 0.075)")
    batch_size: int = setting(8, "sequences (or chunks) per update")
    truncate: int = setting(200, "training chunks of at most this many steps (0 = whole pieces)")
    carry_state: bool = setting(False, "each chunk starts from the last state of the chunk before it "
                                       "(else from zeros)")
    reshuffle: bool = setting(True, "new batch members every epoch, among pieces of about the same "
                                    "length (else the same groups every epoch, in a new order)")
    seed: int = setting(0, "initial weights, batch order and weight noise")

    def validate(self) -> None:
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {', '.join(VARIANTS)}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (math.isfinite(self.lr) and self.lr > 0, "lr must be a positive number"),
            (self.clip >= 0 and self.weight_noise >= 0, "clip and weight_noise must be >= 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.budget >= 1 and self.truncate >= 0, "truncate must be >= 0, budget >= 1"),
            (isinstance(self.carry_state, bool) and isinstance(self.reshuffle, bool),
             "carry_state and reshuffle must be True or False"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid settings: {message}")

    def training(self) -> dict:
        """The ``Training`` fields and their values."""
        return {f.name: getattr(self, f.name) for f in fields(Training)}


@dataclass
class Settings(Training):
    """Everything that decides one training run (the CLI's ``train``, the reproduction, each
    Lab model)."""
    arch: str = setting("gru", "recurrent unit: one of the paper's three, or a unit taken apart "
                               "(LSTM variants lstm-nig ... lstm-fgr, the MGU)", choices=ALL_ARCHS)
    units: int = setting(0, "hidden units; 0 = choose from the budget (the paper's: "
                            + ", ".join(f"{UNITS[a].name} {UNITS[a].paper_units}" for a in ARCHS) + ")",
                         group="size")
    epochs: int = setting(20, "passes over the training split at most")
    patience: int = setting(5, "early stopping: epochs without a better validation NLL")
    lr_drops: int = setting(0, "on each of the first this many plateaus (patience epochs without a better "
                               "validation NLL), go back to the best weights and multiply the learning "
                               "rate by lr_drop instead of stopping")
    lr_drop: float = setting(0.1, "the factor of each learning-rate drop (see lr_drops)")
    device: str = setting("cpu", "the device: cpu, cuda, or auto (CUDA when available)", choices=DEVICES)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        super().validate()
        if self.arch not in UNITS:
            raise ValueError(f"invalid settings: arch must be one of {', '.join(ALL_ARCHS)}")
        if not (self.epochs >= 0 and self.patience >= 1 and self.units >= 0):
            raise ValueError("invalid settings: patience must be >= 1, epochs and units >= 0")
        if not (self.lr_drops >= 0 and 0 < self.lr_drop < 1):
            raise ValueError("invalid settings: lr_drops must be >= 0 and lr_drop between 0 and 1")

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


_SAME = object()


def same_as(name: str, default=_SAME):
    """A field of another settings type that means what ``Settings``' field ``name`` means:
    its help, and its default unless ``default`` is given (the reproduction's patience)."""
    f = next(f for f in fields(Settings) if f.name == name)
    return field(default=f.default if default is _SAME else default, metadata=f.metadata)


@dataclass
class LabSettings(Training):
    """One Lab setup: up to ``MAX_LAB_MODELS`` units (the paper's three by default, or units taken
    apart) trained side by side on the same batches. Every field is mirrored in the page's URL; a
    change means a reset."""
    archs: tuple = setting(ARCHS, "which units train side by side (up to 6)", choices=ALL_ARCHS)
    eval_every: int = setting(5, "updates between validation passes")

    def __post_init__(self):
        self.archs = tuple(a for a in ALL_ARCHS if a in self.archs)  # canonical order, no repeats
        self.validate()

    def validate(self) -> None:
        if not self.archs:
            raise ValueError("choose at least one architecture")
        if len(self.archs) > MAX_LAB_MODELS:
            raise ValueError(f"at most {MAX_LAB_MODELS} units train side by side; {len(self.archs)} were chosen")
        if self.eval_every < 1:
            raise ValueError("eval_every must be >= 1")
        super().validate()

    def trainer_settings(self, arch: str) -> Settings:
        """The settings each of the Lab's models trains with."""
        return Settings(**self.training(), arch=arch)

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
                values[f.name] = _parse_field(f, raw)
                cls(**{f.name: values[f.name]})
            except ValueError as e:
                values.pop(f.name, None)
                problems[f.name] = f"URL parameter {f.name}={raw!r} ignored: {e}"
        return cls(**values), problems


def _parse_field(f, raw: str):
    """The value of field ``f`` written as ``raw`` in a URL, or a ValueError saying why not."""
    default, choices = f.default, f.metadata.get("choices")
    if isinstance(default, tuple):  # a comma-separated list of choices
        values = tuple(a.strip() for a in raw.split(",") if a.strip())
        unknown = [a for a in values if a not in choices]
        if unknown:
            raise ValueError(f"unknown {f.name} value {unknown[0]!r}; choose from {', '.join(choices)}")
        return values
    if choices:
        if raw not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}")
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
