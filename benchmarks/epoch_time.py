"""Seconds per training epoch on JSB Chorales and Nottingham: the fast loops against the
reference modules, batch 8 and 32, chunks from zeros and with carried state, torch on one
thread and on its default threads, all in one run.

    GATELAB_DATA_DIR=/path/to/polyphonic python benchmarks/epoch_time.py [--rounds 3] [--budget 10]

An epoch is what ``core.training.train.fit`` times (its ``seconds``): every ``Trainer.step`` of the
epoch's batches (``make_batches``, length-bucketed, truncate 200), under the paper's protocol
(RMSProp, weight noise 0.075, clip 1) at the paper's sizes (tanh 100, GRU 46, LSTM 36; tanh's
paper variant is the same nn.RNN, so it has one row). Each cell is the median of ``--rounds``
epochs (epoch seeds 1, 2, ...; the four path x thread settings of a row take turns inside each
round, so load hits them alike). An epoch that would run past ``--budget`` seconds is cut
short: the batches timed so far (a random sample: the batch order is shuffled) are scaled up
by padded slots (B x T) to the whole epoch, and the cell is marked ``~``. Validation
(``evaluate``, no grad: always the modules) is timed separately. docs/fast_rnn.md records a run.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.fast_rnn import machine
from core.music.data import load_dataset
from core.training.settings import Settings
from core.training.train import Trainer, evaluate, make_batches
from core.units import PAPER_UNITS, fast_rnn

MODELS = [("tanh", "torch"), ("gru", "torch"), ("gru", "paper"), ("lstm", "torch"), ("lstm", "paper")]
DEFAULT_THREADS = torch.get_num_threads()
TARGET = ("nottingham", "gru", 2.0)  # the target: a GRU-46 Nottingham epoch in <= 2 s


def paper_settings(arch, variant, batch_size, carry) -> Settings:
    return Settings(arch=arch, variant=variant, units=PAPER_UNITS[arch], optimizer="rmsprop", lr=1e-4,
                    weight_noise=0.075, clip=1.0, batch_size=batch_size, truncate=200,
                    carry_state=carry, seed=0)


def epoch_seconds(trainer, train, epoch, budget) -> tuple[float, bool]:
    """Seconds of one epoch's updates; (seconds, extrapolated). Stops past ``budget`` seconds
    and scales the time so far by padded slots to the whole epoch."""
    s = trainer.settings
    batches = make_batches(train, s.batch_size, s.truncate, s.seed, epoch, carry=s.carry_state)
    slots = [b.mask.numel() for b in batches]
    seconds = 0.0
    for k, batch in enumerate(batches):
        seconds += trainer.step(batch).seconds
        if seconds > budget and k + 1 < len(batches):
            return seconds * sum(slots) / sum(slots[:k + 1]), True
    return seconds, False


def time_row(train, arch, variant, batch_size, carry, rounds, budget) -> dict:
    """(path, threads) -> (median, least, extrapolated?): seconds per epoch; paths fast | ref."""
    combos = [(path, threads) for threads in (1, DEFAULT_THREADS) for path in ("fast", "ref")]
    trainers = {c: Trainer(paper_settings(arch, variant, batch_size, carry)) for c in combos}
    warm = make_batches(train[:batch_size], batch_size, 200, 0, 0)[0]
    times = {c: [] for c in combos}
    for epoch in range(rounds + 1):          # round 0: one warm-up step each (numba cache load)
        for (path, threads), trainer in trainers.items():
            torch.set_num_threads(threads)
            previous = fast_rnn.set_enabled(path == "fast")
            try:
                if epoch == 0:
                    trainer.step(warm)
                else:
                    times[path, threads].append(epoch_seconds(trainer, train, epoch, budget))
            finally:
                fast_rnn.set_enabled(previous)
    return {c: (statistics.median(s for s, _ in ts), min(s for s, _ in ts), any(e for _, e in ts))
            for c, ts in times.items()}


def eval_seconds(valid, arch, variant) -> dict:
    """(path, threads) -> seconds of one ``evaluate`` of the validation split. ``evaluate`` runs
    without grad, so the modules; path "loops" lets the loops run it (forward only), to see
    what a fast path for evaluation would save."""
    model = Trainer(paper_settings(arch, variant, 8, False)).model
    supported = fast_rnn.supported

    def loops_too(m, x):  # the training-only conditions waived
        training, m.training = m.training, True
        try:
            with torch.enable_grad():
                return supported(m, x)
        finally:
            m.training = training
    out = {}
    for threads in (1, DEFAULT_THREADS):
        torch.set_num_threads(threads)
        for path in ("modules", "loops"):
            fast_rnn.supported = loops_too if path == "loops" else supported
            try:
                t0 = time.perf_counter()
                evaluate(model, valid)
                out[path, threads] = time.perf_counter() - t0
            finally:
                fast_rnn.supported = supported
    return out


def cell(value) -> str:
    median, _, extrapolated = value
    return f"{'~' if extrapolated else ''}{median:.2f}"


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def epoch_table(name, train, models, batch_sizes, rounds, budget) -> list[str]:
    """Print one dataset's rows; return the lines of the cells that meet the target."""
    N, met = DEFAULT_THREADS, []
    header = (f"| data | model | B | carry | updates | padding | fast 1t s | ref 1t s | ref/fast | "
              f"fast {N}t s | ref {N}t s | ref/fast | fast {N}t/1t | load |")
    print(header + "\n" + "|---" * (header.count("|") - 1) + "|")
    for arch, variant in models:
        for batch_size in batch_sizes:
            for carry in (False, True):
                batches = make_batches(train, batch_size, 200, 0, 1, carry=carry)
                padding = 1 - sum(map(len, train)) / sum(b.mask.numel() for b in batches)
                t = time_row(train, arch, variant, batch_size, carry, rounds, budget)
                f1, r1, fN, rN = t["fast", 1], t["ref", 1], t["fast", N], t["ref", N]
                model, on = f"{arch}-{PAPER_UNITS[arch]} {variant}", "on" if carry else "off"
                print(f"| {name} | {model} | {batch_size} | {on} | {len(batches)} | {padding:.3f} | "
                      f"{cell(f1)} | {cell(r1)} | {r1[0] / f1[0]:.2f} | {cell(fN)} | {cell(rN)} | "
                      f"{rN[0] / fN[0]:.2f} | {fN[0] / f1[0]:.2f} | {load()} |", flush=True)
                met += [f"{model} B={batch_size} carry {on} {path} {threads}t: median {median:.2f} s, "
                        f"best {least:.2f} s" for (path, threads), (median, least, _) in t.items()
                        if (name, arch) == TARGET[:2] and least <= TARGET[2]]
    return met


def eval_table(valid, models) -> None:
    N = DEFAULT_THREADS
    print(f"| model | modules 1t | loops 1t | modules {N}t | loops {N}t |\n|---|---|---|---|---|")
    for arch, variant in models:
        e = eval_seconds(valid, arch, variant)
        print(f"| {arch}-{PAPER_UNITS[arch]} {variant} | {e['modules', 1]:.2f} | {e['loops', 1]:.2f} | "
              f"{e['modules', N]:.2f} | {e['loops', N]:.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="epochs per cell (median)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds before an epoch is cut short")
    parser.add_argument("--datasets", nargs="+", default=["jsb", "nottingham"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--models", nargs="+", default=[f"{a}-{v}" for a, v in MODELS],
                        help="arch-variant names, e.g. gru-torch lstm-paper")
    args = parser.parse_args()
    models = [tuple(m.split("-")) for m in args.models]
    print(machine())
    print(f"threads: 1 and torch's default {DEFAULT_THREADS}; numba {fast_rnn.available()}; "
          f"rounds {args.rounds}; budget {args.budget:g} s (~: extrapolated by padded slots); "
          f"load: 1-minute load average after the row")
    met = []
    for name in args.datasets:
        data = load_dataset(name)
        train, valid = data.splits["train"], data.splits["valid"]
        print(f"\n{data.title}: {len(train)} train pieces, {sum(map(len, train))} steps; "
              f"{len(valid)} valid pieces, {sum(map(len, valid))} steps\n")
        met += epoch_table(name, train, models, args.batch_sizes, args.rounds, args.budget)
        print(f"\nValidation pass (evaluate: whole pieces, batch 16, no grad), {name}, seconds:\n")
        eval_table(valid, models)
    print(f"\nTarget: GRU-46 Nottingham epoch <= {TARGET[2]:g} s. Met (best of the rounds) by:")
    print("\n".join(f"- {line}" for line in met) or "- none")


if __name__ == "__main__":
    main()
