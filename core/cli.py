"""GateLab's command line: ``python -m core <command> --help``.

Commands: train, evaluate, trace, sample, reproduce, datasets. Errors a user can fix (a missing dataset, a bad
MIDI file, a checkpoint from elsewhere) print one line and exit with status 2.
"""
import argparse
import json
import math
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import torch

from core.music.download import text_progress
from core.music.midi import MAX_STEPS
from core.training import checkpoint
from core.training.ablation import AblationConfig
from core.training.reproduce import PROTOCOLS, ReproduceConfig
from core.training.settings import Settings
from core.training.train import Trainer, evaluate, fit

SPLITS = ("train", "valid", "test")


def add_fields(p: argparse.ArgumentParser, cls, keep_defaults: bool = True, skip=(), only=None) -> None:
    """One option per field of the settings dataclass ``cls`` (``--batch-size`` for
    ``batch_size``; ``only`` given: those fields alone): its type, choices and help come from the
    field (``core.training.settings.setting``), so the help always names the real default. Booleans get
    ``--x`` / ``--no-x``; tuples take several values. ``keep_defaults`` off: an option not given
    is None (the config keeps its own value, ``core.training.reproduce.with_overrides``)."""
    chosen = [f for f in fields(cls) if f.name not in skip and (only is None or f.name in only)]
    for group in {f.metadata["group"] for f in chosen if "group" in f.metadata}:  # argparse wants
        members = [f for f in chosen if f.metadata.get("group") == group]       # them side by side
        first = chosen.index(members[0])
        chosen = chosen[:first] + members + [f for f in chosen[first:] if f not in members]
    groups = {}
    for f in chosen:
        default = f.default if f.default is not MISSING else f.default_factory()
        meta = f.metadata
        shown = " ".join(default) if isinstance(default, tuple) else f"{default:g}" \
            if isinstance(default, float) else str(default)
        kw = {"default": default if keep_defaults else None,
              "help": meta["help"] if "(default" in meta["help"] else f"{meta['help']} (default: {shown})"}
        if isinstance(default, bool):
            kw["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kw["nargs"] = "+"
        else:
            kw["type"] = type(default)
        if "choices" in meta:
            kw["choices"] = meta["choices"]
        if "group" in meta and meta["group"] not in groups:
            groups[meta["group"]] = p.add_mutually_exclusive_group()
        target = groups[meta["group"]] if "group" in meta else p
        target.add_argument("--" + f.name.replace("_", "-"), **kw)


def _settings_from(args) -> Settings:
    return Settings(**{f.name: getattr(args, f.name) for f in fields(Settings)})


def cmd_train(args) -> None:
    from core.music.data import load_dataset
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = _settings_from(args)
    data = load_dataset(settings.dataset, progress=text_progress())
    trainer = Trainer(settings)
    spec = trainer.model.spec
    print(f"{spec.arch.upper()} ({spec.variant}), {spec.units} units, {spec.n_params} parameters; "
          f"{data.title}: {len(data.splits['train'])} train / {len(data.splits['valid'])} valid pieces")

    def show(row):
        print(f"epoch {row['epoch']:3d}  train NLL {row['train_nll']:7.3f}  valid NLL {row['valid_nll']:7.3f}"
              f"  updates {row['updates']:6d}  {row['seconds']:7.1f} s", flush=True)

    def diverged(n, first):
        print(f"  {n} update{'s' if n > 1 else ''} of this epoch diverged and {'were' if n > 1 else 'was'} "
              f"undone; the first: {first}", flush=True)

    history = fit(trainer, data.splits["train"], data.splits["valid"], progress=show, warn=diverged)
    final = {split: evaluate(trainer.model, data.splits[split]) for split in SPLITS}
    out = Path(args.out)
    checkpoint.save(out / "model.pt", trainer.model, settings, history, final)
    metrics = {"settings": settings.to_dict(), "units": spec.units, "n_params": spec.n_params,
               "history": history, "best": final}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print("best weights: " + "  ".join(f"{k} NLL {v['nll']:.3f}" for k, v in final.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'metrics.json'}")


def cmd_evaluate(args) -> None:
    from core.music.data import load_dataset
    model, _ = checkpoint.load(args.checkpoint, args.device)
    data = load_dataset(args.dataset, progress=text_progress())
    m = evaluate(model, data.splits[args.split])
    if m["steps"] == 0:
        raise ValueError(f"{args.dataset} {args.split} has no pieces to evaluate on")
    print(f"{args.dataset} {args.split}: NLL per step {m['nll']:.4f} nats, "
          f"frame accuracy {m['accuracy']:.4f} ({m['steps']} steps)")


def _resolution(payload: dict) -> float:
    """Steps per beat of the data a checkpoint's model was trained on: it reads and writes MIDI
    at that resolution (``core.music.data.dataset_steps_per_beat``)."""
    from core.music.data import dataset_steps_per_beat
    return dataset_steps_per_beat(payload["settings"]["dataset"])


def _piece(args, steps_per_beat: float) -> np.ndarray:
    if args.midi:
        from core.music.midi import midi_to_roll
        return midi_to_roll(args.midi, steps_per_beat=steps_per_beat).roll
    from core.music.data import load_dataset
    pieces = load_dataset(args.dataset, progress=text_progress()).splits[args.split]
    if not 0 <= args.index < len(pieces):
        raise ValueError(f"--index must be between 0 and {len(pieces) - 1} for {args.dataset} {args.split}")
    return pieces[args.index]


def cmd_trace(args) -> None:
    from core.insight.trace import trace
    model, payload = checkpoint.load(args.checkpoint)
    result = trace(model, _piece(args, _resolution(payload)))
    np.savez_compressed(args.out, **result.to_npz_dict())
    names = ", ".join(k for k in result.arrays)
    print(f"traced {result.n_steps} steps ({result.alignment}); mean NLL {result['nll'].mean():.3f}; "
          f"wrote {names} to {args.out}")


def cmd_sample(args) -> None:
    from core.insight.sample import sample
    from core.music.midi import midi_to_roll, roll_to_midi
    model, payload = checkpoint.load(args.checkpoint)
    spb = _resolution(payload)
    prime = midi_to_roll(args.prime, steps_per_beat=spb).roll if args.prime else None
    roll = sample(model, args.steps, args.temperature, args.seed, prime)
    full = roll if prime is None else np.concatenate([prime, roll])
    roll_to_midi(full, tempo=args.tempo, steps_per_beat=spb).write(str(args.out))
    print(f"sampled {args.steps} steps (temperature {args.temperature}, seed {args.seed}) at "
          f"{spb:g} steps per beat, the model's; {int(roll.sum())} key-steps on; wrote {args.out}")


def cmd_reproduce(args) -> None:
    from core.training.reproduce import reproduce_all, with_overrides
    from core.training.seed_spread import seed_spread_all
    given = {f.name: getattr(args, f.name) for f in fields(ReproduceConfig) if f.name != "protocol"}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    configs = [with_overrides(ReproduceConfig(protocol=protocol), **given) for protocol in dict.fromkeys(args.protocol)]

    def progress(line: str) -> None:
        print(line, flush=True)

    reproduce_all(configs, progress=progress)
    for config in configs:
        print(f"wrote {config.out}/{config.name}/table.md, results.json, results.csv")
    if args.seeds:
        seed_spread_all(configs, args.seeds, progress=progress)
        for config in configs:
            print(f"wrote {config.out}/{config.name}/seeds.md, seeds.json")


def cmd_ablate(args) -> None:
    from core.training.ablation import AblationConfig, ablate
    config = AblationConfig(**{f.name: tuple(v) if isinstance(v := getattr(args, f.name), list) else v
                               for f in fields(AblationConfig)})
    rows = ablate(config, progress=lambda line: print(line, flush=True))
    for r in rows:
        print(f"{r['arch']:10s} test NLL {r['test_mean']:.3f} ± {r['test_sd']:.3f} over {r['runs']} seeds")
    print(f"wrote {config.out}/results.csv and summary.json")


def cmd_datasets(args) -> None:
    from core.music.data import DATASETS, available_datasets
    ready = set(available_datasets())
    for name in DATASETS:
        if name == "midi":     # not a fixed dataset: built from the MIDI files a user gives
            continue
        print(f"{name:12s} {'ready' if name in ready else 'not downloaded (fetched on first use)'}")


def _positive(kind, most: float = math.inf):
    """An argparse type: a finite number > 0 (and <= ``most``) of ``kind``, else argparse's
    usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and 0 < value <= most):
            bound = f" and at most {most:,}" if most < math.inf else ""
            raise argparse.ArgumentTypeError(f"must be a number above 0{bound}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model; writes DIR/model.pt and DIR/metrics.json")
    add_fields(p, Settings)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: for models this small one thread is faster than "
                        "several, docs/fast_rnn.md; 0 = torch's default)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="NLL per step and frame accuracy of a checkpoint on a split")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", choices=SPLITS, default="test")
    add_fields(p, Settings, only=("device",))
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("trace", help="every gate, state and prediction on one piece, to .npz")
    p.add_argument("--checkpoint", required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--midi", help="a MIDI file")
    src.add_argument("--dataset", help="a dataset name (with --split and --index)")
    p.add_argument("--split", choices=SPLITS, default="valid")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=cmd_trace)
    p = sub.add_parser("sample", help="let a model compose; writes a MIDI file")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--steps", type=_positive(int, most=MAX_STEPS), required=True,
                   help=f"frames to generate (at most {MAX_STEPS:,})")
    p.add_argument("--temperature", type=_positive(float), default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prime", help="a MIDI file to continue (default: start from silence)")
    p.add_argument("--tempo", type=_positive(float), default=120.0,
                   help="beats per minute of the output (steps per beat: the model's training data's)")
    p.add_argument("--out", required=True, help="output .mid")
    p.set_defaults(func=cmd_sample)
    p = sub.add_parser("reproduce", help="the paper's Table 2: K learning rates per unit and dataset, "
                       "in parallel, resumable")
    p.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=["paper"],
                   help="paper: RMSProp, weight noise 0.075, log(lr)~U(-12,-6); modern: Adam, no noise; "
                        "both: one pool of workers for the two, the first named first (default: paper)")
    add_fields(p, ReproduceConfig, keep_defaults=False, skip=("protocol",))
    p.add_argument("--seeds", type=int, default=0, metavar="N",
                   help="then retrain each cell's selected learning rate with N fresh seeds, to see "
                        "how much of the table is the seed's luck (writes seeds.md; default 0: none)")
    p.set_defaults(func=cmd_reproduce)
    p = sub.add_parser("ablate", help="take a unit apart: the LSTM's variants and the MGU, several seeds "
                       "each, beside the LSTM, GRU and tanh RNN; resumable")
    add_fields(p, AblationConfig)
    p.set_defaults(func=cmd_ablate)
    p = sub.add_parser("datasets", help="list dataset names and whether each is ready")
    p.set_defaults(func=cmd_datasets)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from core.errors import GateLabError
    try:
        args.func(args)
    except (GateLabError, ValueError, OSError) as e:  # the user's input: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
