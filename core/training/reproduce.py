"""Reproduce the paper's Table 2 and Figure 2 from GateLab's own core.

One *run* = (protocol, dataset, arch, candidate k): train with early stopping on validation NLL,
then evaluate the best-validation weights on train, valid and test. Each finished run is one
JSON file ``OUT/runs/<protocol>/<dataset>/<arch>-k<k>.json`` written atomically, so an
interrupted reproduction resumes where it stopped and never redoes a finished run.

Protocols
---------
paper  : RMSProp, weight noise 0.075, gradient norm clipped to 1, the paper's sizes (tanh 100,
         GRU 46, LSTM 36), K learning rates with log(lr) ~ U(-12, -6) (natural log), seeded.
modern : Adam, no weight noise, clip 1, K learning rates with log10(lr) ~ U(-4, -2), and a
         parameter budget (default the paper's ~20k; larger as an option).
The same K draws serve every dataset and unit, so the units compete on equal candidates.

Seed spread (``--seeds N``): each cell's selected learning rate retrained with N fresh seeds
(``OUT/runs/<protocol>-seeds/``, resumable the same way), to tell which differences between the
units are larger than the seed's luck (``OUT/<protocol>/seeds.md``).

Units: PyTorch's equations by default (``variant="torch"``: nn.GRU's reset inside the product,
nn.LSTM without peepholes); ``variant="paper"`` trains the paper's own (reset before the product,
peepholes), and its runs and tables sit apart (``<protocol>-paperunits``).
"""
import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import GateLabError
from core.music.data import PAPER_DATASETS
from core.training.settings import same_as, setting
from core.training.sweep import ENGINES, RAY_REQUIREMENTS, Job, run_jobs
from core.units import ARCHS, PAPER_UNITS

PROTOCOLS = ("paper", "modern")


class SweepIncomplete(GateLabError):
    """Runs of a sweep failed (each recorded as ``<run>.failed.json``); the others finished."""

    def __init__(self, failures: list[dict]):
        self.failures = failures
        first = failures[0]
        super().__init__(f"{len(failures)} run(s) failed, e.g. {first['label']} on {first['node']}: "
                         f"{first['error']} (recorded as .failed.json beside its result; rerun to retry)")
# The paper's Table 2, train / test NLL per time step.
PAPER_TABLE = {
    "nottingham": {"tanh": (3.22, 3.13), "gru": (2.79, 3.23), "lstm": (3.08, 3.20)},
    "jsb": {"tanh": (8.82, 9.10), "gru": (6.94, 8.54), "lstm": (8.15, 8.67)},
    "musedata": {"tanh": (5.64, 6.23), "gru": (5.06, 5.99), "lstm": (5.18, 6.23)},
    "piano-midi": {"tanh": (5.64, 9.03), "gru": (4.93, 8.82), "lstm": (6.49, 9.03)},
}
# The field's plain RNNs on the same four datasets, test NLL per time step: trained with SGD and
# with Hessian-free optimisation (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, Table 1).
FIELD_RNN = {
    "nottingham": {"sgd": 4.46, "hf": 3.89},
    "jsb": {"sgd": 8.71, "hf": 8.58},
    "musedata": {"sgd": 8.13, "hf": 7.19},
    "piano-midi": {"sgd": 8.37, "hf": 7.66},
}


@dataclass
class ReproduceConfig:
    """What to reproduce and how; everything needed to redo it is recorded with the results."""
    protocol: str = setting("paper", "paper: RMSProp, weight noise 0.075, log(lr) ~ U(-12, -6); "
                                     "modern: Adam, no noise, log10(lr) ~ U(-4, -2)", choices=PROTOCOLS)
    datasets: tuple = setting(PAPER_DATASETS, "dataset names")
    archs: tuple = setting(ARCHS, "units to compare", choices=ARCHS)
    candidates: int = setting(10, "K learning-rate candidates (the paper: 10)")
    seed: int = setting(0, "seeds the learning-rate draws and every run (candidate k: seed + k)")
    budget: int = setting(0, "parameter budget; 0: the paper's sizes (paper) or about 20k (modern)")
    max_epochs: int = same_as("epochs", 200)
    patience: int = same_as("patience", 10)
    batch_size: int = same_as("batch_size")
    truncate: int = same_as("truncate")
    carry_state: bool = same_as("carry_state")
    reshuffle: bool = same_as("reshuffle", False)   # fixed: the committed runs' batching
    variant: str = same_as("variant")
    engine: str = setting("local", "where the runs train: local (a pool of processes here) or ray "
                                   f"(a Ray cluster; pip install -r {RAY_REQUIREMENTS})", choices=ENGINES)
    address: str = setting("", "the Ray cluster's address, as `ray start --head` prints it (default: "
                               "$RAY_ADDRESS, else a Ray started for this command)")
    workers: int = field(default_factory=lambda: os.cpu_count() or 1,
                         metadata={"help": "parallel processes (default: all cores)"})
    out: str = setting("results/reproduce", "results directory")

    def learning_rates(self) -> list[float]:
        rng = np.random.default_rng(self.seed)
        if self.protocol == "paper":
            return [float(math.exp(v)) for v in rng.uniform(-12, -6, self.candidates)]
        return [float(10 ** v) for v in rng.uniform(-4, -2, self.candidates)]

    def run_settings(self, dataset: str, arch: str, k: int):
        from core.training.settings import Settings
        paper = self.protocol == "paper"
        units = PAPER_UNITS[arch] if paper and not self.budget else 0
        return Settings(dataset=dataset, arch=arch, variant=self.variant, units=units,
                        budget=self.budget or 20_000, optimizer="rmsprop" if paper else "adam",
                        lr=self.learning_rates()[k], clip=1.0, weight_noise=0.075 if paper else 0.0,
                        batch_size=self.batch_size, truncate=self.truncate,
                        carry_state=self.carry_state, reshuffle=self.reshuffle, epochs=self.max_epochs,
                        patience=self.patience, seed=self.seed + k)

    @property
    def name(self) -> str:
        """The protocol, marked when the state is carried, the batches reshuffled or the units
        are the paper's own: such runs and tables sit apart."""
        return (self.protocol + ("-carry" if self.carry_state else "")
                + ("-reshuffle" if self.reshuffle else "")
                + ("-paperunits" if self.variant == "paper" else ""))

    def run_path(self, dataset: str, arch: str, k: int) -> Path:
        return Path(self.out) / "runs" / self.name / dataset / f"{arch}-k{k}.json"

    def jobs(self) -> list[tuple[str, str, int]]:
        return [(d, a, k) for d in self.datasets for a in self.archs for k in range(self.candidates)]


def train_run(settings, record: dict) -> dict:
    """Train ``settings`` with early stopping, evaluate the best-validation weights on train,
    valid and test; ``record`` with the results. Runs in a worker (a process of the local pool,
    or a Ray task); the driver writes it (``core.training.sweep``)."""
    import torch

    from core.music.data import load_dataset
    from core.training.train import Trainer, evaluate, fit
    torch.set_num_threads(1)  # one process per core beats threads for models this small
    data = load_dataset(settings.dataset)
    t0 = time.perf_counter()
    trainer = Trainer(settings)
    history = fit(trainer, data.splits["train"], data.splits["valid"])
    final = {split: evaluate(trainer.model, data.splits[split]) for split in ("train", "valid", "test")}
    result = {**record, "settings": settings.to_dict(), "units": trainer.model.spec.units,
              "n_params": trainer.model.spec.n_params, "epochs": len(history),
              "updates": trainer.updates, "wall_seconds": time.perf_counter() - t0,
              "history": history, **{f"{s}_nll": m["nll"] for s, m in final.items()},
              **{f"{s}_accuracy": m["accuracy"] for s, m in final.items()}}
    return result


def run_one(config: ReproduceConfig, dataset: str, arch: str, k: int) -> dict:
    """Train candidate ``k`` of one cell: its result record."""
    return train_run(config.run_settings(dataset, arch, k),
                     {"protocol": config.protocol, "dataset": dataset, "arch": arch, "candidate": k})


def reproduce(config: ReproduceConfig, progress=print) -> list[dict]:
    """Run every job not yet finished, ``config.workers`` at a time; then summarise."""
    return reproduce_all([config], progress)[config.name]


def reproduce_all(configs: list[ReproduceConfig], progress=print) -> dict[str, list[dict]]:
    """Several configurations (both protocols, say) in one pool of ``configs[0].workers``
    processes (or on one Ray cluster), the first configuration's runs handed out first, so that
    no core idles while another configuration still has runs to go. Returns each
    configuration's summary rows; raises ``SweepIncomplete`` after them if runs failed."""
    workers = configs[0].workers
    jobs, total, finished = [], 0, 0
    for config in configs:
        mine = config.jobs()
        todo = [j for j in mine if not config.run_path(*j).exists()]
        total, finished = total + len(mine), finished + len(mine) - len(todo)
        which = f"{config.protocol} " if len(configs) > 1 else ""
        jobs += [Job(run_one, (config, *j), config.run_path(*j), f"{which}{j[0]} {j[1]} k={j[2]}") for j in todo]
        label = config.protocol + (f" ({config.name})" if config.name != config.protocol else "")
        where = f"{workers} worker(s)" if config.engine == "local" else f"Ray ({config.address or 'local'})"
        progress(f"{label} protocol: {len(mine)} runs, {len(mine) - len(todo)} already finished, "
                 f"{len(todo)} to go on {where}; lr candidates "
                 + ", ".join(f"{lr:.2e}" for lr in config.learning_rates()))
    failures = run_jobs(jobs, configs[0].engine, workers, configs[0].address or None, progress, finished, total)
    summaries = {config.name: summarise(config) for config in configs}
    if failures:
        raise SweepIncomplete(failures)
    return summaries


def load_runs(config: ReproduceConfig) -> list[dict]:
    runs = []
    for d, a, k in config.jobs():
        path = config.run_path(d, a, k)
        if path.exists():
            runs.append(json.loads(path.read_text()))
    return runs


def best_runs(runs: list[dict]) -> dict:
    """(dataset, arch) -> the run with the lowest validation NLL (the paper's selection); a run
    without one (NaN: it diverged, or no validation steps) loses to any run that has one."""
    def score(r: dict) -> float:
        return r["valid_nll"] if math.isfinite(r["valid_nll"]) else math.inf
    best = {}
    for r in runs:
        key = (r["dataset"], r["arch"])
        if key not in best or score(r) < score(best[key]):
            best[key] = r
    return best


def candidates_done(runs: list[dict]) -> dict:
    """(dataset, arch) -> how many of its learning-rate candidates have finished: a cell's
    selection is final only when all K have (until then it is the best so far)."""
    done: dict = {}
    for r in runs:
        key = (r["dataset"], r["arch"])
        done[key] = done.get(key, 0) + 1
    return done


def with_runs_on_disk(config: ReproduceConfig) -> ReproduceConfig:
    """``config`` widened to every dataset and unit that has runs under its results directory:
    a reproduction of one dataset must not drop the others from the protocol's table."""
    root = Path(config.out) / "runs" / config.name
    files = [p for p in root.glob("*/*-k*.json") if not p.name.endswith(".failed.json")]
    datasets = set(config.datasets) | {p.parent.name for p in files}
    archs = set(config.archs) | {p.name.split("-k")[0] for p in files}
    return replace(config, datasets=tuple(sorted(datasets, key=_dataset_order)),
                   archs=tuple(a for a in ARCHS if a in archs))


def _dataset_order(name: str) -> tuple:
    """Sort key: the paper's four datasets in its order, then any others by name."""
    return (PAPER_DATASETS.index(name), "") if name in PAPER_DATASETS else (len(PAPER_DATASETS), name)


def summarise(config: ReproduceConfig) -> list[dict]:
    """Write results.json, results.csv (every run) and table.md (Table 2 style), over every
    dataset and unit run so far in the same results directory (``with_runs_on_disk``)."""
    config = with_runs_on_disk(config)
    runs = load_runs(config)
    out = Path(config.out) / config.name
    out.mkdir(parents=True, exist_ok=True)
    columns = ["protocol", "dataset", "arch", "candidate", "units", "n_params", "epochs", "updates",
               "wall_seconds", "train_nll", "valid_nll", "test_nll", "test_accuracy"]
    rows = [{c: r[c] for c in columns} | {"lr": r["settings"]["lr"]} for r in runs]
    (out / "results.json").write_text(json.dumps({"config": asdict(config) | {
        "learning_rates": config.learning_rates()}, "runs": rows}, indent=1))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns + ["lr"])
        writer.writeheader()
        writer.writerows(rows)
    (out / "table.md").write_text(table_markdown(config, runs))
    return rows


def table_markdown(config: ReproduceConfig, runs: list[dict]) -> str:
    """Ours vs the paper, train / test NLL per time step, with the test difference."""
    best, done = best_runs(runs), candidates_done(runs)
    lines = ["| dataset | unit | params | lr | epochs | ours train / test | paper train / test | test diff |",
             "|---|---|---|---|---|---|---|---|"]
    for d in config.datasets:
        for a in config.archs:
            r, paper = best.get((d, a)), PAPER_TABLE.get(d, {}).get(a)
            if r is None:
                lines.append(f"| {d} | {a} | | | | not run yet | {paper[0]:.2f} / {paper[1]:.2f} | |" if paper
                             else f"| {d} | {a} | | | | not run yet | | |")
                continue
            ours = f"{r['train_nll']:.2f} / {r['test_nll']:.2f}"
            if done[d, a] < config.candidates:
                ours += f" (best of {done[d, a]} of {config.candidates} candidates so far)"
            theirs = f"{paper[0]:.2f} / {paper[1]:.2f}" if paper else "-"
            diff = f"{r['test_nll'] - paper[1]:+.2f}" if paper else "-"
            lines.append(f"| {d} | {a} | {r['n_params']} | {r['settings']['lr']:.2e} | {r['epochs']} "
                         f"| {ours} | {theirs} | {diff} |")
    total = sum(r["wall_seconds"] for r in runs)
    lines.append(f"\n{len(runs)} runs, {total:.0f} s of training in total "
                 f"(sum over runs; workers ran in parallel).")
    return "\n".join(lines) + "\n"


def with_overrides(config: ReproduceConfig, **kw) -> ReproduceConfig:
    return replace(config, **{k: v for k, v in kw.items() if v is not None})


def learning_curves(config: ReproduceConfig) -> dict:
    """Figure 2's data: dataset -> arch -> {"train", "valid"}: arrays of rows
    (updates, seconds, NLL), one row per epoch, for the best-validation candidate."""
    curves = {}
    for (dataset, arch), run in sorted(best_runs(load_runs(config)).items()):
        rows = run["history"]
        xs = np.array([[r["updates"], r["seconds"]] for r in rows], dtype=float).reshape(-1, 2)
        curves.setdefault(dataset, {})[arch] = {
            "train": np.column_stack([xs, [r["train_nll"] for r in rows]]),
            "valid": np.column_stack([xs, [r["valid_nll"] for r in rows]]),
            "lr": run["settings"]["lr"]}
    return curves
