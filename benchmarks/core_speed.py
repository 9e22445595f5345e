"""Core speed: (a) the trainer's throughput against a bare fused-torch loop on the same model
and batches, as a ratio measured in one run (target >= 0.9; the trainer takes GateLab's
numba loops for tanh and GRU, the fused module for LSTM); (b) trace time for a 2000-step
piece per architecture (target <= 25 ms).

    python benchmarks/core_speed.py            # JSB Chorales if GATELAB_DATA_DIR is set, else built-in

Prints a markdown table; docs/benchmarks.md records a run and describes the machine.
"""
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.insight.trace import step_nll, trace
from core.music.data import load_dataset
from core.training.settings import Settings
from core.training.train import Trainer, make_batches
from core.units import ARCHS
from core.units.models import build_model


def bare_step(model, optimizer, batch):
    """What a hand-written loop does with the fused module: forward, masked NLL, backward,
    clip, step. (``model.rnn`` directly: ``model(x)`` would take GateLab's fast loops.)"""
    optimizer.zero_grad(set_to_none=True)
    logits = model.out(model.rnn(batch.x)[0])
    loss = (step_nll(logits, batch.y) * batch.mask).sum() / batch.mask.sum()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def throughput_ratio(arch, batches, rounds=9):
    """Alternate rounds of the two loops over the same batches; ratio of median round times."""
    trainer = Trainer(Settings(arch=arch))
    bare = build_model(arch, units=trainer.model.spec.units, seed=0)   # the same size
    bare_opt = torch.optim.Adam(bare.parameters(), lr=1e-3)
    t_bare, t_trainer = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for b in batches:
            bare_step(bare, bare_opt, b)
        t_bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for b in batches:
            trainer.step(b)
        t_trainer.append(time.perf_counter() - t0)
    bare_s, trainer_s = statistics.median(t_bare), statistics.median(t_trainer)
    return bare_s / len(batches) * 1e3, trainer_s / len(batches) * 1e3, bare_s / trainer_s


def trace_ms(arch, variant, roll, repeats=15):
    model = build_model(arch, variant, seed=0)
    trace(model, roll)                       # compile (or load the compiled loop from disk)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        trace(model, roll)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    name = "jsb" if os.environ.get("GATELAB_DATA_DIR") else "chorales"
    data = load_dataset(name)
    batches = make_batches(data.splits["train"], 8, 200, seed=0, epoch=1)[:29]
    print(f"# Core speed ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads)\n")
    print(f"## (a) Trainer vs bare fused loop: {name}, one epoch ({len(batches)} batches of 8), Adam, clip 1, "
          "median of 9 alternating rounds")
    print("| arch | bare ms/update | trainer ms/update | throughput ratio (target >= 0.9) |")
    print("|---|---|---|---|")
    for arch in ARCHS:
        bare, ours, ratio = throughput_ratio(arch, batches)
        print(f"| {arch} | {bare:.1f} | {ours:.1f} | {ratio:.2f} |")
    rng = np.random.default_rng(0)
    pieces = np.concatenate(data.splits["valid"])
    roll = pieces[:2000] if len(pieces) >= 2000 else (rng.random((2000, 88)) < 0.05).astype(np.uint8)
    print("\n## (b) Trace of a 2000-step piece (median of 15; target <= 25 ms)")
    print("| arch | torch variant ms | paper variant ms |")
    print("|---|---|---|")
    for arch in ARCHS:
        print(f"| {arch} | {trace_ms(arch, 'torch', roll):.1f} | {trace_ms(arch, 'paper', roll):.1f} |")


if __name__ == "__main__":
    main()
