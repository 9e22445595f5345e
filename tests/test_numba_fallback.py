"""Without a working numba (missing, or installed but broken) GateLab trains with the PyTorch
modules and says so once; it never fails or slows down silently."""
import os
import subprocess
import sys
from pathlib import Path


def test_a_broken_numba_falls_back_with_one_warning_and_still_trains(tmp_path):
    """numba installed but failing to import (e.g. a numpy too new for it) used to pass for
    available and then fail or run silently slow: now training runs the modules, said once."""
    broken = tmp_path / "numba"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('Numba needs NumPy 2.3 or less')\n")
    code = ("import warnings; warnings.simplefilter('default')\n"
            "from core.units import fast_rnn; from core.training.settings import Settings\n"
            "from core.training.train import Trainer, chunk, collate\n"
            "import numpy as np; roll = np.zeros((6, 88), np.uint8); roll[::2, 40] = 1\n"
            "t = Trainer(Settings(arch='gru', units=4))\n"
            "for _ in range(3): t.step(collate(chunk([roll, roll], 0)))\n"
            "print(fast_rnn.available(), t.updates)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "3"]
    assert out.stderr.count("numba is installed but unusable") == 1 and "NumPy 2.3" in out.stderr
