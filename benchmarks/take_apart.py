"""The lesson's moment of taking a gate out, timed as the page runs it: the LSTM with and without
one gate on the long-memory task (``core.lab.take_apart``, the lesson's settings, the
default budget of updates), chunk by chunk as the worker serves the page's requests.

    python benchmarks/take_apart.py [--gate f] [--updates 200] [--rounds 1]

Prints, per round, the wall time from the click to the last chunk (the run's Lab built, the
dataset made, every chunk and the final validation), the training seconds, both models' final
training and validation NLL and NLL at the answer, the verdict the page words, and the load
average before and after (this machine is shared: the load says how much the wall time means).
docs/teaching.md records a run.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.lab import take_apart


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate", default="f", choices=list(take_apart.GATES))
    parser.add_argument("--updates", type=int, default=take_apart.UPDATES)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    full, without = take_apart.archs(args.gate)
    print(f"the LSTM with and without gate {args.gate} ({without}), {args.updates} updates each, "
          f"chunks of {take_apart.CHUNK_S:g} s, at most {take_apart.MAX_S:g} s of training")
    for r in range(args.rounds):
        before = load()
        t0, chunks = time.perf_counter(), 0
        while True:
            result = take_apart.take_apart(args.gate, f"bench-{r}", updates=args.updates)
            chunks += 1
            if result["done"]:
                break
        wall = time.perf_counter() - t0
        final = result["final"]
        print(f"round {r + 1}: wall {wall:.1f} s ({chunks} chunks, {result['updates']} updates, "
              f"{result['seconds']:.1f} s training); load average before {before}, after {load()}")
        for arch in (full, without):
            f = final[arch]
            print(f"  {arch:9s} final train NLL {f['train']:.3f}  valid NLL {f['valid']:.3f}  "
                  f"NLL at the answer {f['answer']:.2f}")
        print(f"  verdict: {take_apart.verdict(final, full, without)}")


if __name__ == "__main__":
    main()
