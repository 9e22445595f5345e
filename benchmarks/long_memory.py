"""Does the long-memory task separate gated units from tanh? Train each for a fixed time.

Usage::

    .venv/bin/python benchmarks/long_memory.py --lag 30 --seconds 60 --lr 0.01

Self-contained on purpose (torch.nn layers, the paper's ~20k-parameter sizes: tanh 100,
GRU 46, LSTM 36 units; Adam; batches of whole sequences; one CPU thread), so it checks
the *data* whatever the training code does. Prints, per architecture, the validation NLL per
step and at the answer step. docs/data.md records a run.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.music import builtin
from core.music.data import load_dataset

UNITS = {"tanh": 100, "gru": 46, "lstm": 36}  # Chung et al. 2014, Table 1 (~20k parameters)
LAYERS = {"tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Model(nn.Module):
    def __init__(self, arch: str):
        super().__init__()
        self.rnn = LAYERS[arch](88, UNITS[arch], batch_first=True)
        self.out = nn.Linear(UNITS[arch], 88)

    def forward(self, x):  # x (B, T, 88) -> logits (B, T, 88)
        return self.out(self.rnn(x)[0])


def nll_per_step(model, rolls):
    """-log p(frame) per step (B, T): inputs are the frames shifted right by one."""
    x = torch.cat([torch.zeros_like(rolls[:, :1]), rolls[:, :-1]], dim=1)
    return nn.functional.binary_cross_entropy_with_logits(
        model(x), rolls, reduction="none").sum(-1)


def train(arch, train_set, valid_set, answer_steps, seconds, lr, seed, batch_size):
    torch.manual_seed(seed)
    model = Model(arch)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    start, iterations = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        batch = train_set[torch.randint(len(train_set), (batch_size,), generator=generator)]
        loss = nll_per_step(model, batch).mean()
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        iterations += 1
    with torch.no_grad():
        nll = nll_per_step(model, valid_set)
    at_answer = nll[torch.arange(len(valid_set)), answer_steps].mean().item()
    return nll.mean().item(), at_answer, iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lag", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--archs", default="tanh,gru,lstm")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("long-memory", lag=args.lag)
    train_set = torch.tensor(np.stack(ds.splits["train"]), dtype=torch.float32)
    valid_set = torch.tensor(np.stack(ds.splits["valid"]), dtype=torch.float32)
    chord = [k - 21 for k in builtin.ANSWER_CHORD]
    answer_steps = valid_set[:, :, chord].sum(-1).argmax(dim=1)
    print(f"long-memory lag={args.lag}: {args.seconds:g} s per model, Adam lr={args.lr}, "
          f"batch {args.batch}")
    print(f"{'arch':<6}{'iterations':>11}{'NLL/step':>10}{'NLL at answer':>15}")
    for arch in args.archs.split(","):
        mean, answer, iterations = train(arch, train_set, valid_set, answer_steps,
                                         args.seconds, args.lr, args.seed, args.batch)
        print(f"{arch:<6}{iterations:>11}{mean:>10.3f}{answer:>15.3f}", flush=True)


if __name__ == "__main__":
    main()
