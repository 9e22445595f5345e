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
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.settings import ARCHS, PAPER_UNITS

PAPER_DATASETS = ("nottingham", "jsb", "musedata", "piano-midi")
PROTOCOLS = ("paper", "modern")
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
    protocol: str = "paper"                       # paper | modern
    datasets: tuple = PAPER_DATASETS              # dataset names
    archs: tuple = ARCHS                          # units to compare
    candidates: int = 10                          # K learning rates (the paper: 10)
    seed: int = 0                                 # seeds the lr draws and every run
    budget: int = 0                               # 0: paper sizes (paper) / ~20k (modern)
    max_epochs: int = 200                         # upper bound on epochs per run
    patience: int = 10                            # early stopping, epochs without improvement
    batch_size: int = 8                           # sequences per update
    truncate: int = 200                           # training chunk length (evaluation: whole pieces)
    carry_state: bool = False                     # chunks start from the last state of the one before
    reshuffle: bool = False                       # new batch members each epoch (the committed runs: fixed)
    variant: str = "torch"                        # unit equations: torch | paper
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    out: str = "results/reproduce"

    def learning_rates(self) -> list[float]:
        rng = np.random.default_rng(self.seed)
        if self.protocol == "paper":
            return [float(math.exp(v)) for v in rng.uniform(-12, -6, self.candidates)]
        return [float(10 ** v) for v in rng.uniform(-4, -2, self.candidates)]

    def run_settings(self, dataset: str, arch: str, k: int):
        from core.train import Settings
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


def train_run(settings, path: Path, record: dict) -> dict:
    """Train ``settings`` with early stopping, evaluate the best-validation weights on train,
    valid and test, and write ``record`` with the results to ``path`` atomically (a run either
    finished or is absent). Runs in a worker process."""
    import torch

    from core.data import load_dataset
    from core.train import Trainer, evaluate, fit
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    return result


def run_one(config: ReproduceConfig, dataset: str, arch: str, k: int) -> dict:
    """Train candidate ``k`` of one cell and write its result file."""
    return train_run(config.run_settings(dataset, arch, k), config.run_path(dataset, arch, k),
                     {"protocol": config.protocol, "dataset": dataset, "arch": arch, "candidate": k})


def _call(job):
    fn, args = job
    return fn(*args)


def _run_pool(jobs: list, workers: int, progress, label, done_before: int, total: int,
              name_protocol: bool) -> None:
    """``jobs`` ((function, args) pairs) in ``workers`` spawned processes, one progress line per
    finished run: ``label(result)`` (after its protocol, where several share the pool), its
    NLLs, and the elapsed and estimated remaining time."""
    start = time.perf_counter()
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs))) as pool:
        for i, r in enumerate(pool.imap_unordered(_call, jobs, chunksize=1), 1):
            elapsed = time.perf_counter() - start
            eta = elapsed / i * (len(jobs) - i)
            which = f"{r['protocol']} " if name_protocol else ""
            progress(f"[{done_before + i}/{total}] {which}{label(r)} lr {r['settings']['lr']:.2e}: "
                     f"valid {r['valid_nll']:.3f} test {r['test_nll']:.3f} ({r['epochs']} epochs, "
                     f"{r['wall_seconds']:.0f} s); elapsed {elapsed:.0f} s, about {eta:.0f} s left")


def reproduce(config: ReproduceConfig, progress=print) -> list[dict]:
    """Run every job not yet finished, ``config.workers`` at a time; then summarise."""
    return reproduce_all([config], progress)[config.name]


def reproduce_all(configs: list[ReproduceConfig], progress=print) -> dict[str, list[dict]]:
    """Several configurations (both protocols, say) in one pool of ``configs[0].workers``
    processes, the first configuration's runs handed out first, so that no core idles while
    another configuration still has runs to go. Returns each configuration's summary rows."""
    workers = configs[0].workers
    jobs, total, finished = [], 0, 0
    for config in configs:
        mine = config.jobs()
        todo = [j for j in mine if not config.run_path(*j).exists()]
        total, finished = total + len(mine), finished + len(mine) - len(todo)
        jobs += [(run_one, (config, *j)) for j in todo]
        label = config.protocol + (f" ({config.name})" if config.name != config.protocol else "")
        progress(f"{label} protocol: {len(mine)} runs, {len(mine) - len(todo)} already finished, "
                 f"{len(todo)} to go on {workers} worker(s); lr candidates "
                 + ", ".join(f"{lr:.2e}" for lr in config.learning_rates()))
    if jobs:
        _run_pool(jobs, workers, progress, lambda r: f"{r['dataset']} {r['arch']} k={r['candidate']}",
                  finished, total, name_protocol=len(configs) > 1)
    return {config.name: summarise(config) for config in configs}


SEED_BASE = 1000  # seed-spread runs use seeds 1000, 1001, ...: none is a candidate's seed


def seed_path(config: ReproduceConfig, dataset: str, arch: str, seed: int) -> Path:
    return Path(config.out) / "runs" / f"{config.name}-seeds" / dataset / f"{arch}-s{seed}.json"


def seed_jobs(config: ReproduceConfig, n_seeds: int) -> list[tuple[str, str, int, int]]:
    """(dataset, arch, k, seed): each cell's selected candidate k, retrained with ``n_seeds``
    fresh seeds at its learning rate. Every candidate of a cell must have finished first (until
    then its selection is not final)."""
    runs = load_runs(config)
    best, done = best_runs(runs), candidates_done(runs)
    jobs = []
    for d in config.datasets:
        for a in config.archs:
            if done.get((d, a), 0) < config.candidates:
                raise ValueError(f"{d} {a}: {done.get((d, a), 0)} of {config.candidates} learning-rate "
                                 "candidates finished; the seed spread retrains the selected one, so "
                                 "run them all first")
            jobs += [(d, a, best[d, a]["candidate"], SEED_BASE + i) for i in range(n_seeds)]
    return jobs


def run_seed(config: ReproduceConfig, dataset: str, arch: str, k: int, seed: int) -> dict:
    """Candidate ``k``'s settings (its learning rate) with another seed: another initialisation,
    batch order and weight noise."""
    settings = replace(config.run_settings(dataset, arch, k), seed=seed)
    return train_run(settings, seed_path(config, dataset, arch, seed),
                     {"protocol": config.protocol, "dataset": dataset, "arch": arch, "candidate": k,
                      "seed": seed})


def seed_spread_all(configs: list[ReproduceConfig], n_seeds: int, progress=print) -> dict:
    """How much of Table 2 is the seed's luck: each cell's selected learning rate retrained with
    ``n_seeds`` fresh seeds, in one pool like ``reproduce_all`` and resumable the same way.
    Writes ``seeds.json`` and ``seeds.md`` per configuration, over every seed run in its results
    directory; returns their rows (``spread_rows``)."""
    jobs, total, finished = [], 0, 0
    for config in configs:
        mine = seed_jobs(config, n_seeds)
        todo = [j for j in mine if not seed_path(config, j[0], j[1], j[3]).exists()]
        total, finished = total + len(mine), finished + len(mine) - len(todo)
        jobs += [(run_seed, (config, *j)) for j in todo]
        progress(f"{config.name} seed spread: {len(mine)} runs ({n_seeds} seeds per cell), "
                 f"{len(mine) - len(todo)} already finished, {len(todo)} to go")
    if jobs:
        _run_pool(jobs, configs[0].workers, progress, lambda r: f"{r['dataset']} {r['arch']} seed {r['seed']}",
                  finished, total, name_protocol=len(configs) > 1)
    out = {}
    for config in configs:
        rows = spread_rows(load_seed_runs(config), best_runs(load_runs(with_runs_on_disk(config))))
        pairs = compare_units(rows)
        path = Path(config.out) / config.name
        path.mkdir(parents=True, exist_ok=True)
        (path / "seeds.json").write_text(json.dumps({"cells": rows, "pairs": pairs}, indent=1))
        (path / "seeds.md").write_text(spread_markdown(rows, pairs))
        out[config.name] = rows
    return out


def load_seed_runs(config: ReproduceConfig) -> list[dict]:
    """Every seed-spread run under ``config``'s results directory (of any dataset, not only
    ``config``'s), by dataset, unit and seed."""
    runs = [json.loads(p.read_text()) for p in
            (Path(config.out) / "runs" / f"{config.name}-seeds").glob("*/*-s*.json")]
    return sorted(runs, key=lambda r: (_dataset_order(r["dataset"]), ARCHS.index(r["arch"]), r["seed"]))


def spread_rows(runs: list[dict], selected: dict) -> list[dict]:
    """Per (dataset, arch), in the order of ``runs``: the seeds' test NLL (mean, sample standard
    deviation, range) beside the selected candidate's own run (``selected``: ``best_runs``)."""
    cells: dict = {}
    for r in runs:
        cells.setdefault((r["dataset"], r["arch"]), []).append(r)
    rows = []
    for (d, a), rs in cells.items():
        test = np.array([r["test_nll"] for r in rs])
        rows.append({"dataset": d, "arch": a, "lr": rs[0]["settings"]["lr"], "seeds": len(rs),
                     "test_mean": float(test.mean()),
                     "test_sd": float(test.std(ddof=1)) if len(rs) > 1 else 0.0,
                     "test_min": float(test.min()), "test_max": float(test.max()),
                     "epochs_mean": float(np.mean([r["epochs"] for r in rs])),
                     "selected_test": selected[d, a]["test_nll"] if (d, a) in selected else None})
    return rows


def compare_units(rows: list[dict]) -> list[dict]:
    """Each pair of units on a dataset: the difference of their seed means and its standard
    error; a pair is *ordered* (``lower``: the unit with the lower NLL) only where the difference
    exceeds twice that error."""
    pairs = []
    for i, x in enumerate(rows):
        for y in rows[i + 1:]:
            if x["dataset"] != y["dataset"]:
                continue
            diff = x["test_mean"] - y["test_mean"]
            se = math.sqrt(x["test_sd"] ** 2 / x["seeds"] + y["test_sd"] ** 2 / y["seeds"])
            lower, higher = ((x["arch"], y["arch"]) if diff < -2 * se else
                             (y["arch"], x["arch"]) if diff > 2 * se else (None, None))
            order = f"{lower} < {higher}" if lower else "not told apart"
            pairs.append({"dataset": x["dataset"], "a": x["arch"], "b": y["arch"], "diff": diff,
                          "se": se, "lower": lower, "order": order})
    return pairs


def spread_markdown(rows: list[dict], pairs: list[dict]) -> str:
    """The seed spread per cell, then each pair of units: ordered or not told apart."""
    lines = ["| dataset | unit | lr | seeds | test NLL: mean ± sd | min - max | mean epochs "
             "| the selected run's test |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sel = f"{r['selected_test']:.3f}" if r["selected_test"] is not None else "-"
        lines.append(f"| {r['dataset']} | {r['arch']} | {r['lr']:.2e} | {r['seeds']} | {r['test_mean']:.3f} "
                     f"± {r['test_sd']:.3f} | {r['test_min']:.3f} - {r['test_max']:.3f} "
                     f"| {r['epochs_mean']:.0f} | {sel} |")
    lines += ["", "| dataset | units | difference of means | 2 × standard error | order |",
              "|---|---|---|---|---|"]
    for p in pairs:
        lines.append(f"| {p['dataset']} | {p['a']} - {p['b']} | {p['diff']:+.3f} | {2 * p['se']:.3f} "
                     f"| {p['order']} |")
    return "\n".join(lines) + "\n"


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
    files = list(root.glob("*/*-k*.json"))
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
