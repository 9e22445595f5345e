"""Checkpoints: weights + settings + metrics history in one file, read without unpickling code.

A checkpoint is a plain dict of tensors, numbers and strings saved with ``torch.save``;
``load`` reads it with ``torch.load(weights_only=True)``, which refuses anything else, then
checks that it is a GateLab checkpoint whose weights fit the model its settings describe.
torch is imported by the functions that need it: the web server imports ``CheckpointError``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import GateLabError
from core.training.settings import Settings
from core.units.spec import ModelSpec

if TYPE_CHECKING:
    from core.units.models import RecurrentModel

FORMAT = "gatelab-checkpoint"
VERSION = 1


class CheckpointError(GateLabError):
    """A file that is not a usable GateLab checkpoint; the message says why."""


def _payload(model: RecurrentModel, settings: Settings, history: list | None, metrics: dict | None) -> dict:
    spec = model.spec
    return {
        "format": FORMAT, "version": VERSION,
        "spec": {"arch": spec.arch, "variant": spec.variant, "units": spec.units},
        "settings": settings.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history or [], "metrics": metrics or {},
    }


def to_bytes(model: RecurrentModel, settings: dict, updates: int = 0) -> bytes:
    """A checkpoint of ``model`` as bytes, in the CLI's format (a Lab model's download);
    ``settings``: its ``Settings`` fields, ``updates``: how far it trained."""
    import torch
    buffer = io.BytesIO()
    torch.save(_payload(model, Settings.from_dict(settings), [], {"updates": updates}), buffer)
    return buffer.getvalue()


def weights_from_bytes(data: bytes) -> dict:
    """An uploaded checkpoint read safely (``load``: ``weights_only=True``, shapes checked) as
    the weights record the pages pass around (``core.lab.Lab.weights``: spec, settings,
    updates, state_dict as numpy). Raises CheckpointError."""
    model, payload = load(bytes(data))
    history, metrics = payload.get("history") or [], payload.get("metrics") or {}
    updates = metrics.get("updates") if isinstance(metrics.get("updates"), int) else \
        history[-1].get("updates", 0) if history and isinstance(history[-1], dict) else 0
    return {"spec": dict(payload["spec"]), "settings": Settings.from_dict(payload["settings"]).to_dict(),
            "updates": int(updates),
            "state_dict": {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}}


def save(path: str | os.PathLike, model: RecurrentModel, settings: Settings,
         history: list | None = None, metrics: dict | None = None) -> Path:
    """Write a checkpoint atomically (a temporary file renamed into place)."""
    import torch
    payload = _payload(model, settings, history, metrics)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load(source: str | os.PathLike | bytes, device: str = "cpu") -> tuple[RecurrentModel, dict]:
    """Read a checkpoint from a path or bytes -> (model, payload) on ``device`` (cpu, cuda or
    auto). Raises CheckpointError."""
    import torch

    from core.units.models import resolve_device
    name = "the uploaded file" if isinstance(source, bytes) else str(source)
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
        with stream:
            payload = torch.load(stream, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{name}: no such file") from None
    except Exception as e:  # truncated zip, random bytes, a pickle with code in it ...
        raise CheckpointError(f"{name} is not a readable GateLab checkpoint "
                              f"(damaged, truncated, or another kind of file): {type(e).__name__}") from None
    return _model_from_payload(payload, name).to(resolve_device(device)), payload


def _model_from_payload(payload, name: str) -> RecurrentModel:
    import torch

    from core.units.models import RecurrentModel
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name} is a PyTorch file but not a GateLab checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{name} has checkpoint version {payload.get('version')!r}; "
                              f"this GateLab reads version {VERSION}")
    try:
        spec = ModelSpec(**payload["spec"])
        Settings.from_dict(payload["settings"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{name} has invalid settings: {e}") from None
    model = RecurrentModel(spec)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in payload.get("state_dict", {}).items()
           if torch.is_tensor(v)}
    if expected != got:
        diff = sorted(set(expected.items()) ^ set(got.items()))[:4]
        raise CheckpointError(f"{name}: its weights do not fit a {spec.arch.upper()} "
                              f"({spec.variant}, {spec.units} units); mismatched: {diff}")
    model.load_state_dict(payload["state_dict"])
    return model.eval()
