"""The ablation study: take a unit apart and measure what each part was for.

Greff et al. 2015 ("LSTM: A Search Space Odyssey", IEEE TNNLS) trained eight variants of the
LSTM, each with one part removed or changed, on three tasks, JSB Chorales among them; Zhou et
al. 2016 proposed the minimal gated unit (MGU), a GRU with one gate. ``python -m core ablate``
trains each of those units, the vanilla LSTM they were taken from, and the GRU and tanh RNN for
reference, with ``seeds`` seeds each, every run under the same settings at the same parameter
budget (the paper's 20k) with early stopping, so that the spread over seeds says how much of a
difference is luck.

Unlike Greff et al., who searched every variant's hyperparameters at random (27 to 200 trials
each), every unit here trains with one fixed recipe (Adam, one learning rate, one drop of it on
the first plateau); a difference between two units is the unit's, at that recipe.

Runs go through ``core.training.sweep`` (a local pool or a Ray cluster), each written as it
finishes (``OUT/runs/<dataset>/<arch>-s<seed>.json``, with its history), so an interrupted study
resumes where it stopped. ``OUT/results.csv`` has one row per run (dataset, arch, seed, lr,
epochs, valid_nll, test_nll, ...) and ``OUT/summary.json`` each unit's mean and spread.
"""
import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.training.reproduce import train_run
from core.training.settings import Settings, same_as, setting
from core.training.sweep import ENGINES, RAY_REQUIREMENTS, Job, run_jobs
from core.units import ALL_ARCHS, VARIANT_ARCHS

# The vanilla LSTM first, its eight variants and the MGU, then the GRU and tanh RNN for reference
ABLATION_ARCHS = ("lstm", *VARIANT_ARCHS, "gru", "tanh")
# What Greff et al. 2015 conclude about a variant, over their three tasks (JSB Chorales among
# them), where their text says it. Their per-variant JSB figures are box plots (their Figure 3),
# not printed numbers; these are the findings of their abstract (quoted) and conclusions (in substance):
# - abstract: "none of the variants can improve upon the standard LSTM architecture significantly,
#   and demonstrate the forget gate and the output activation function to be its most critical
#   components";
# - conclusions: coupling the input and forget gates (CIFG) or removing the peephole connections
#   (NP) simplifies the LSTM without significantly hurting its performance.
# The other variants (NIG, NOG, NIAF, FGR) and the MGU (Zhou et al. report no music task) have none.
GREFF = {"lstm-nfg": {"finding": "critical", "source": "abstract"},
         "lstm-noaf": {"finding": "critical", "source": "abstract"},
         "lstm-cifg": {"finding": "harmless", "source": "conclusions"},
         "lstm-np": {"finding": "harmless", "source": "conclusions"}}
COLUMNS = ("dataset", "arch", "seed", "lr", "epochs", "valid_nll", "test_nll",
           "units", "n_params", "best_epoch", "wall_seconds")


@dataclass
class AblationConfig:
    """What the study trains and how; recorded with its results, so that it can be redone."""
    dataset: str = setting("jsb", "dataset name (Greff et al.'s music task: JSB Chorales)")
    archs: tuple = setting(ABLATION_ARCHS, "units to train", choices=ALL_ARCHS)
    seeds: int = setting(5, "seeds per unit: 0 .. N-1 (initial weights and batch order)")
    budget: int = same_as("budget")
    variant: str = setting("paper", "unit equations: paper (the LSTM with peepholes, Greff's vanilla) "
                                    "or torch (PyTorch's: no peepholes)", choices=("torch", "paper"))
    optimizer: str = same_as("optimizer")
    lr: float = same_as("lr", 3e-3)
    lr_drops: int = same_as("lr_drops", 1)
    batch_size: int = same_as("batch_size")
    truncate: int = same_as("truncate")
    max_epochs: int = same_as("epochs", 1000)
    patience: int = same_as("patience", 10)
    engine: str = setting("local", "where the runs train: local (a pool of processes here) or ray "
                                   f"(a Ray cluster; pip install -r {RAY_REQUIREMENTS})", choices=ENGINES)
    address: str = setting("", "the Ray cluster's address (default: $RAY_ADDRESS, else a Ray started "
                               "for this command)")
    workers: int = field(default_factory=lambda: os.cpu_count() or 1,
                         metadata={"help": "parallel processes (default: all cores)"})
    out: str = setting("results/ablation", "results directory")

    def __post_init__(self):
        self.archs = tuple(self.archs)
        unknown = [a for a in self.archs if a not in ALL_ARCHS]
        if unknown:
            raise ValueError(f"unknown unit(s) {', '.join(unknown)}; choose from {', '.join(ALL_ARCHS)}")
        if self.seeds < 1 or self.workers < 1:
            raise ValueError("seeds and workers must be >= 1")

    def settings(self, arch: str, seed: int) -> Settings:
        return Settings(dataset=self.dataset, arch=arch, variant=self.variant, budget=self.budget,
                        optimizer=self.optimizer, lr=self.lr, lr_drops=self.lr_drops, clip=1.0,
                        batch_size=self.batch_size, truncate=self.truncate, reshuffle=False,
                        epochs=self.max_epochs, patience=self.patience, seed=seed)

    def run_path(self, arch: str, seed: int) -> Path:
        return Path(self.out) / "runs" / self.dataset / f"{arch}-s{seed}.json"

    def jobs(self) -> list[tuple[str, int]]:
        """(arch, seed), seed-major: every unit has its first seeds before any has its last."""
        return [(a, s) for s in range(self.seeds) for a in self.archs]


def run_one(config: AblationConfig, arch: str, seed: int) -> dict:
    return train_run(config.settings(arch, seed), {"study": "ablation", "dataset": config.dataset,
                                                   "arch": arch, "seed": seed})


def ablate(config: AblationConfig, progress=print) -> list[dict]:
    """Train every run not yet on disk, then write results.csv and summary.json; returns the
    summary rows. Raises ``core.training.reproduce.SweepIncomplete`` if runs failed."""
    from core.training.reproduce import SweepIncomplete
    todo = [j for j in config.jobs() if not config.run_path(*j).exists()]
    progress(f"ablation on {config.dataset}: {len(config.jobs())} runs ({len(config.archs)} units x "
             f"{config.seeds} seeds), {len(config.jobs()) - len(todo)} already finished, {len(todo)} to go")
    jobs = [Job(run_one, (config, a, s), config.run_path(a, s), f"{a} seed {s}") for a, s in todo]
    failures = run_jobs(jobs, config.engine, config.workers, config.address or None, progress,
                        len(config.jobs()) - len(todo), len(config.jobs()))
    rows = summarise(config)
    if failures:
        raise SweepIncomplete(failures)
    return rows


def load_rows(config: AblationConfig) -> list[dict]:
    """One row per finished run (``COLUMNS``), in the order of ``config.jobs()`` by unit."""
    rows = []
    for arch in config.archs:
        for seed in range(config.seeds):
            path = config.run_path(arch, seed)
            if path.exists():
                r = json.loads(path.read_text())
                best = min(r["history"], key=lambda h: h["valid_nll"])["epoch"] if r["history"] else 0
                rows.append({"dataset": r["dataset"], "arch": r["arch"], "seed": r["seed"],
                             "lr": r["settings"]["lr"], "epochs": r["epochs"], "valid_nll": r["valid_nll"],
                             "test_nll": r["test_nll"], "units": r["units"], "n_params": r["n_params"],
                             "best_epoch": best, "wall_seconds": round(r["wall_seconds"], 1)})
    return rows


def spread(rows: list[dict]) -> list[dict]:
    """Per unit: runs, mean and standard deviation (n - 1) of test and valid NLL, best test NLL."""
    def sd(a: np.ndarray) -> float:
        return float(a.std(ddof=1)) if len(a) > 1 else math.nan

    out = []
    for arch in dict.fromkeys(r["arch"] for r in rows):
        test = np.array([r["test_nll"] for r in rows if r["arch"] == arch])
        valid = np.array([r["valid_nll"] for r in rows if r["arch"] == arch])
        out.append({"arch": arch, "runs": len(test), "test_mean": float(test.mean()), "test_sd": sd(test),
                    "valid_mean": float(valid.mean()), "valid_sd": sd(valid), "test_best": float(test.min())})
    return out


def summarise(config: AblationConfig) -> list[dict]:
    rows = load_rows(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: (round(v, 4) if isinstance(v, float) and k.endswith("nll") else v)
                          for k, v in r.items()} for r in rows)
    summary = spread(rows)
    config_record = {k: v for k, v in asdict(config).items() if k not in ("workers", "engine", "address", "out")}
    (out / "summary.json").write_text(json.dumps({"config": config_record, "units": summary}, indent=1) + "\n")
    return summary


def read_results(path: str | os.PathLike = "results/ablation") -> tuple[list[dict], dict]:
    """The committed study: its rows (results.csv, numbers as floats) and its configuration;
    ([], {}) when there is none."""
    path = Path(path)
    try:
        with open(path / "results.csv", newline="") as f:
            rows = [{k: (v if k in ("dataset", "arch") else float(v)) for k, v in r.items()}
                    for r in csv.DictReader(f)]
        config = json.loads((path / "summary.json").read_text())["config"]
    except (OSError, ValueError, KeyError):
        return [], {}
    return rows, config


def compare(rows: list[dict], reference: str = "lstm") -> list[dict]:
    """Each unit beside ``reference`` (the vanilla LSTM): its test NLL's mean and spread, the
    difference of the means, the standard error of that difference (Welch's: sqrt(sd_a^2/n_a +
    sd_b^2/n_b)) and a verdict: "worse" or "better" where the difference is larger than twice its
    standard error, else "tied" (not told apart from a seed's luck)."""
    units = {u["arch"]: u for u in spread(rows)}
    ref = units.get(reference)
    out = []
    for arch, u in units.items():
        row = dict(u)
        if ref is not None and arch != reference:
            se = math.sqrt(u["test_sd"] ** 2 / u["runs"] + ref["test_sd"] ** 2 / ref["runs"])
            diff = u["test_mean"] - ref["test_mean"]
            verdict = "worse" if diff > 2 * se else "better" if diff < -2 * se else "tied"
            row |= {"diff": diff, "two_se": 2 * se, "verdict": verdict}
        out.append(row)
    return out
