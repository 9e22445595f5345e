"""Seconds per JSB Chorales training epoch of every unit, the units taken apart among them, at the
paper's budget (20k parameters, the paper's equations), through the compiled loops and through
the modules (the fallback without numba), in one run.

    GATELAB_DATA_DIR=/path/to/polyphonic python benchmarks/variant_speed.py [--rounds 3]

An epoch is every ``Trainer.step`` of one epoch's batches (batch 8, chunks of 200 steps, Adam),
on one torch thread; each cell is the median of ``--rounds`` epochs, the units taking turns in
each round so that load hits them alike. docs/fast_rnn.md records a run.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.music.data import load_dataset
from core.training.settings import Settings
from core.training.train import Trainer, make_batches
from core.units import ALL_ARCHS, fast_rnn


def epoch_seconds(trainer: Trainer, train, epoch: int) -> float:
    s = trainer.settings
    batches = make_batches(train, s.batch_size, s.truncate, s.seed, epoch)
    t0 = time.perf_counter()
    for batch in batches:
        trainer.step(batch)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--archs", nargs="+", default=list(ALL_ARCHS), choices=ALL_ARCHS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train = load_dataset("jsb").splits["train"]
    trainers = {(a, fast): Trainer(Settings(dataset="jsb", arch=a, variant="paper", budget=20_000, lr=3e-3))
                for a in args.archs for fast in (True, False)}
    for (_a, fast), trainer in trainers.items():   # first calls: numba's cache, autograd's warm-up
        fast_rnn.set_enabled(fast)
        trainer.step(make_batches(train, 8, 200, 0, 0)[0])
    times = {key: [] for key in trainers}
    load = os.getloadavg()[0]
    for r in range(1, args.rounds + 1):
        for (a, fast), trainer in trainers.items():
            fast_rnn.set_enabled(fast)
            times[a, fast].append(epoch_seconds(trainer, train, r))
    print(f"load average (1 min) at start {load:.2f}, at end {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; "
          f"torch {torch.__version__}, 1 thread; median of {args.rounds} epochs")
    print("| unit | units | parameters | compiled loop (s/epoch) | modules (s/epoch) | modules / loop |")
    print("|---|---|---|---|---|---|")
    for a in args.archs:
        spec = trainers[a, True].model.spec
        fast, slow = statistics.median(times[a, True]), statistics.median(times[a, False])
        print(f"| `{a}` | {spec.units} | {spec.n_params} | {fast:.2f} | {slow:.2f} | {slow / fast:.1f}x |")


if __name__ == "__main__":
    main()
