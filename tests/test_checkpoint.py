"""Checkpoints round-trip, and anything else is refused with a clear error, without running code."""
import pytest
import torch

from core.training import checkpoint
from core.training.checkpoint import CheckpointError
from core.training.settings import Settings
from core.units.models import build_model


def saved(tmp_path, arch="gru", variant="torch", units=10):
    model = build_model(arch, variant, units=units, seed=1).eval()
    settings = Settings(arch=arch, variant=variant, units=units)
    path = checkpoint.save(tmp_path / "model.pt", model, settings, [{"epoch": 1, "valid_nll": 9.5}],
                           {"test": {"nll": 9.4}})
    return model, path


@pytest.mark.parametrize("arch", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("variant", ["torch", "paper"])
def test_round_trip(tmp_path, arch, variant):
    model, path = saved(tmp_path, arch, variant)
    loaded, payload = checkpoint.load(path)
    x = torch.rand(1, 5, 88)
    assert torch.equal(model(x), loaded(x))
    assert payload["history"] == [{"epoch": 1, "valid_nll": 9.5}]
    assert Settings.from_dict(payload["settings"]).arch == arch
    assert not list(tmp_path.glob("*.part"))   # the write was atomic


def test_bytes_are_accepted(tmp_path):
    _, path = saved(tmp_path)
    model, _ = checkpoint.load(path.read_bytes())
    assert model.spec.units == 10


def test_weights_of_another_shape_are_refused(tmp_path):
    _, path = saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["spec"] = {"arch": "lstm", "variant": "torch", "units": 10}
    payload["settings"]["arch"] = "lstm"
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit a LSTM"):
        checkpoint.load(tmp_path / "other.pt")


def test_truncated_file_is_refused(tmp_path):
    _, path = saved(tmp_path)
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="damaged, truncated"):
        checkpoint.load(tmp_path / "cut.pt")


def test_other_files_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable GateLab checkpoint"):
        checkpoint.load(tmp_path / "notes.txt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")     # a PyTorch file from elsewhere
    with pytest.raises(CheckpointError, match="not a GateLab checkpoint"):
        checkpoint.load(tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "missing.pt")


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("touch /tmp/gatelab-pwned-checkpoint",))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = "/tmp/gatelab-pwned-checkpoint"
    import os
    if os.path.exists(marker):
        os.remove(marker)
    torch.save({"format": "gatelab-checkpoint", "evil": _Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError):
        checkpoint.load(tmp_path / "evil.pt")
    assert not os.path.exists(marker)


def test_a_checkpoint_written_before_core_became_packages_still_loads():
    """tests/data/lstm-paper-before-packages.pt was written by `python -m core train --dataset
    chorales --arch lstm --variant paper --epochs 1` at 36b1810, when core/ was one flat folder:
    it loads (weights_only), is the model it was, and scores the test NLL that run recorded."""
    import math
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).parent / "data" / "lstm-paper-before-packages.pt"
    model, meta = checkpoint.load(path)
    assert (model.spec.arch, model.spec.variant, model.spec.units) == ("lstm", "paper", 34)
    assert sum(p.numel() for p in model.parameters()) == 20046
    out = subprocess.run([sys.executable, "-m", "core", "evaluate", "--checkpoint", str(path), "--dataset", "chorales"],
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    nll = float(out.stdout.split("NLL per step")[1].split()[0])
    assert math.isclose(nll, 59.696, abs_tol=0.002), out.stdout
