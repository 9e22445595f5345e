"""Forward + backward of the recurrent layer: core.units.fast_rnn's numba loops against the fused
torch modules, on the same batches in one run.

    python benchmarks/fast_rnn.py [--rounds 5] [--threads N]
    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/fast_rnn.py   # also shows cold compile times

Rows: unit x width (the paper's sizes and 128) x batch (8 x 255, Nottingham-like; 32 x 100).
Columns: the fused module (nn.RNN / nn.GRU / nn.LSTM), the loop running PyTorch's equations
(for LSTM only forced: the model keeps nn.LSTM), the loop running the paper's equations (tanh:
the same equation), ratios. Paths alternate inside each round and the median round is kept,
so load from other users of the machine hits every path alike. Targets: GRU and tanh loops
<= 0.5x the fused module at 8 x 255; paper variants within 1.5x of the torch variants.
docs/fast_rnn.md records a run.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.units import PAPER_UNITS, fast_rnn
from core.units.models import build_model

BATCHES = [(8, 255), (32, 100)]  # (B, T)


def make_inputs(B, T, H, seed=0):
    """Piano-roll-like inputs (10% of keys on) and a fixed dense gradient for h."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(B, T, 88, generator=g) < 0.1).float()
    return x, torch.randn(B, T, H, generator=g)


def paths(arch, H):
    """name -> function running forward + backward of one layer; names: fused, loop, paper."""
    torch_model, paper_model = build_model(arch, "torch", H, seed=0), build_model(arch, "paper", H, seed=0)

    def fused(x, w):
        (torch_model.rnn(x)[0] * w).sum().backward()

    def loop(x, w):
        fast_rnn.FAST_TORCH_LSTM = True  # LSTM: forced, for the comparison only
        try:
            (fast_rnn.run(torch_model.rnn, x)[0] * w).sum().backward()
        finally:
            fast_rnn.FAST_TORCH_LSTM = False

    def paper(x, w):
        (fast_rnn.run(paper_model.rnn, x)[0] * w).sum().backward()

    return {"fused": fused, "loop": loop, "paper": paper}


def time_paths(fns, x, w, rounds):
    """Median ms per path; each round runs every path once, in turn."""
    for fn in fns.values():
        fn(x, w)  # warm-up (and the loops' compile or cache load)
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(x, w)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), python {platform.python_version()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not fast_rnn.available():
        sys.exit("numba is not installed: no fast loops to measure")
    print(machine())
    print("\n| unit | H | batch | fused ms | loop ms | loop/fused | paper loop ms | paper/loop |")
    print("|---|---|---|---|---|---|---|---|")
    for arch in ("tanh", "gru", "lstm"):
        for H in (PAPER_UNITS[arch], 128):
            fns = paths(arch, H)
            for B, T in BATCHES:
                ms = time_paths(fns, *make_inputs(B, T, H), args.rounds)
                print(f"| {arch} | {H} | {B}x{T} | {ms['fused']:.1f} | {ms['loop']:.1f} | "
                      f"{ms['loop'] / ms['fused']:.2f} | {ms['paper']:.1f} | "
                      f"{ms['paper'] / ms['loop']:.2f} |", flush=True)
    print("\nFirst call of each loop in this process, seconds (numba compile, or load from its disk cache):")
    for name, seconds in sorted(fast_rnn.first_call_seconds().items()):
        print(f"- {name}: {seconds:.2f}")


if __name__ == "__main__":
    main()
