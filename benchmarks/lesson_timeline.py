"""The lesson's numbers against updates: the Lesson page's setup (``core.insight.lesson.lesson_settings``)
trained in this process with ``Lab.step()``, the NLL at the answer step of each unit (16 validation
sequences, as the page shows it) at chosen update counts, and the updates at which the lesson's
point is made (``lesson_point``: a gated unit 3 nats below the tanh RNN): the first, and the one from
which it holds at every later check.

    .venv/bin/python benchmarks/lesson_timeline.py

The numbers at an update count are fixed by the seed; the seconds are this process's training
time (the page adds its worker's start, and runs the worker at nice 5). docs/teaching.md records a run.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.insight.lesson import ANSWER_PIECES, answer_nll, lesson_point, lesson_settings
from core.lab import Lab
from core.music.data import load_dataset

REPORT = (32, 313, 375, 712, 833, 1350)   # update counts of docs/teaching.md's table
CHECK_EVERY = 5                           # updates between checks of the lesson's point


def answers(lab: Lab) -> dict:
    pieces = lab.dataset.splits["valid"][:ANSWER_PIECES]
    return {a: answer_nll(t.model, pieces) for a, t in lab.trainers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=max(REPORT))
    args = parser.parse_args()
    torch.set_num_threads(1)   # as the page's worker trains
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    lab = Lab(lesson_settings(), load_dataset("long-memory"))
    t0, checking, checks = time.perf_counter(), 0.0, {}   # update -> (seconds, NLL at the answer, valid NLL)
    for update in range(1, args.updates + 1):
        lab.step()
        if update in REPORT or update % CHECK_EVERY == 0:
            seconds = time.perf_counter() - t0 - checking   # the checks are not the page's work
            checks[update] = seconds, answers(lab), {a: rows[-1][2] for a, rows in lab.valid_rows.items()}
            checking = time.perf_counter() - t0 - seconds
    reached = [u for u, (_, nll, _) in checks.items() if lesson_point(nll)]
    missed = [u for u, (_, nll, _) in checks.items() if not lesson_point(nll)]
    held = min((u for u in reached if u > max(missed, default=0)), default=None)
    print("| updates per model | seconds (this process) | tanh RNN | GRU | LSTM | valid NLL per step, last "
          "evaluation (tanh / GRU / LSTM) |\n|---|---|---|---|---|---|")
    for update in sorted({*REPORT, held} - {None}):
        seconds, nll, valid = checks[update]
        row = " | ".join(f"{nll[a]:.1f}" for a in ("tanh", "gru", "lstm"))
        per_step = " / ".join(f"{valid[a]:.2f}" for a in ("tanh", "gru", "lstm"))
        print(f"| {update}{' (point held from here)' if update == held else ''} | {seconds:.0f} | {row} | {per_step} |")
    print(f"lesson point: first at update {min(reached, default=None)}; at every check from update {held} "
          f"on (checks every {CHECK_EVERY} updates)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
