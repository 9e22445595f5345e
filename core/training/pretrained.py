"""Pretrained models shipped with GateLab: a manifest, and checkpoints verified by sha256.

``assets/pretrained/manifest.json`` lists every checkpoint with the settings it was trained
with, its data, its validation/test NLL, its parameter count and the sha256 of its file
(written by ``scripts/train_pretrained.py``). ``load_pretrained`` reads a file's bytes once,
checks them against the manifest, then reads them with ``torch.load(weights_only=True)``
(``core.training.checkpoint.load``): a changed byte, a missing file or a name not in the manifest is
a :class:`CheckpointError`, never a model.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.training.checkpoint import CheckpointError, load
from core.units import display_name

if TYPE_CHECKING:  # torch is imported where a model is built: the web server reads the manifest
    from core.units.models import RecurrentModel

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "assets" / "pretrained"
MANIFEST = "manifest.json"
FORMAT = "gatelab-pretrained"


@dataclass(frozen=True)
class Pretrained:
    """One manifest entry: what a shipped checkpoint is and how well it does."""
    name: str               # "<dataset>-<arch>-<variant>", also the file's stem
    file: str               # file name inside the pretrained directory
    dataset: str            # a core.music.data registry name
    steps_per_beat: float   # the dataset's resolution (JSB: 1 = quarter notes)
    arch: str               # tanh | gru | lstm
    variant: str            # torch | paper
    units: int
    n_params: int
    valid_nll: float        # nats per step, best weights
    test_nll: float
    sha256: str
    settings: dict = field(default_factory=dict, compare=False)  # core.training.train.Settings

    @property
    def label(self) -> str:
        return f"{display_name(self.arch)} ({self.variant}, {self.units} units) on {self.dataset}"


def pretrained_dir() -> Path:
    """``$GATELAB_PRETRAINED_DIR`` if set, else the repository's ``assets/pretrained``."""
    return Path(os.environ.get("GATELAB_PRETRAINED_DIR") or PRETRAINED_DIR)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(directory: str | os.PathLike | None = None) -> dict:
    """The manifest as a dict; a missing or unreadable one is a CheckpointError."""
    path = Path(directory or pretrained_dir()) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"no pretrained models: {path} is missing "
                              "(run scripts/train_pretrained.py)") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a GateLab pretrained-model manifest")
    return manifest


def list_pretrained(directory: str | os.PathLike | None = None,
                    dataset: str | None = None) -> list[Pretrained]:
    """Every manifest entry (optionally of one dataset), in manifest order."""
    names = {f for f in Pretrained.__dataclass_fields__}
    entries = [Pretrained(**{k: v for k, v in m.items() if k in names})
               for m in read_manifest(directory)["models"]]
    return [e for e in entries if dataset is None or e.dataset == dataset]


def pretrained_bytes(name: str, directory: str | os.PathLike | None = None) -> tuple[bytes, Pretrained]:
    """A shipped checkpoint's bytes, checked against the manifest's sha256 (a download, or
    ``load_pretrained``). Raises CheckpointError: unknown name, missing file, changed bytes."""
    directory = Path(directory or pretrained_dir())
    entries = {e.name: e for e in list_pretrained(directory)}
    if name not in entries:
        raise CheckpointError(f"no pretrained model {name!r}; the manifest has: "
                              f"{', '.join(entries) or 'none'}")
    entry = entries[name]
    path = directory / entry.file
    try:
        data = path.read_bytes()
    except OSError:
        raise CheckpointError(f"{path}: the manifest lists it but the file is missing") from None
    digest = sha256_bytes(data)
    if digest != entry.sha256:
        raise CheckpointError(f"{path} has sha256 {digest[:12]}…, the manifest says "
                              f"{entry.sha256[:12]}…: the file was changed or damaged; "
                              "refusing to load it")
    return data, entry


def load_pretrained(name: str, directory: str | os.PathLike | None = None
                    ) -> tuple[RecurrentModel, Pretrained]:
    """Load a shipped checkpoint by name after checking its sha256 against the manifest.

    Raises
    ------
    CheckpointError
        Unknown name, missing file, a sha256 that differs from the manifest's, or a file
        ``core.training.checkpoint.load`` refuses.
    """
    data, entry = pretrained_bytes(name, directory)
    path = Path(directory or pretrained_dir()) / entry.file
    model, payload = load(data)  # the verified bytes themselves: no second read
    spec = payload["spec"]
    if (spec["arch"], spec["variant"], spec["units"]) != (entry.arch, entry.variant, entry.units):
        raise CheckpointError(f"{path} holds a {spec} model; the manifest says "
                              f"{entry.arch}/{entry.variant}/{entry.units}")
    return model, entry


def model_from_weights(spec: dict, state_dict: dict) -> RecurrentModel:
    """A model rebuilt from plain values, e.g. the Lab's (``core.lab.Lab.weights``).

    Parameters
    ----------
    spec : dict
        ``ModelSpec`` fields: arch, variant, units.
    state_dict : dict of str to np.ndarray
        Every parameter, shapes as in ``RecurrentModel(ModelSpec(**spec)).state_dict()``.
    """
    import torch

    from core.units.models import RecurrentModel
    from core.units.spec import ModelSpec
    model = RecurrentModel(ModelSpec(**spec))
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state_dict.items()})
    return model.eval()
