"""How much of Table 2 is a seed's luck: each cell's selected learning rate retrained with
fresh seeds (``python -m core reproduce --seeds N``), resumable like the reproduction itself
(``OUT/runs/<protocol>-seeds/``), summarised per cell and per pair of units (``OUT/<protocol>/seeds.md``).
"""
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.training.reproduce import (
    ReproduceConfig,
    SweepIncomplete,
    _dataset_order,
    best_runs,
    candidates_done,
    load_runs,
    train_run,
    with_runs_on_disk,
)
from core.training.sweep import Job, run_jobs
from core.units import ARCHS

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
    return train_run(settings, {"protocol": config.protocol, "dataset": dataset, "arch": arch,
                                "candidate": k, "seed": seed})


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
        which = f"{config.protocol} " if len(configs) > 1 else ""
        jobs += [Job(run_seed, (config, *j), seed_path(config, j[0], j[1], j[3]),
                     f"{which}{j[0]} {j[1]} seed {j[3]}") for j in todo]
        progress(f"{config.name} seed spread: {len(mine)} runs ({n_seeds} seeds per cell), "
                 f"{len(mine) - len(todo)} already finished, {len(todo)} to go")
    failures = run_jobs(jobs, configs[0].engine, configs[0].workers, configs[0].address or None, progress,
                        finished, total)
    out = {}
    for config in configs:
        rows = spread_rows(load_seed_runs(config), best_runs(load_runs(with_runs_on_disk(config))))
        pairs = compare_units(rows)
        path = Path(config.out) / config.name
        path.mkdir(parents=True, exist_ok=True)
        (path / "seeds.json").write_text(json.dumps({"cells": rows, "pairs": pairs}, indent=1))
        (path / "seeds.md").write_text(spread_markdown(rows, pairs))
        out[config.name] = rows
    if failures:
        raise SweepIncomplete(failures)
    return out


def load_seed_runs(config: ReproduceConfig) -> list[dict]:
    """Every seed-spread run under ``config``'s results directory (of any dataset, not only
    ``config``'s), by dataset, unit and seed."""
    runs = [json.loads(p.read_text()) for p in
            (Path(config.out) / "runs" / f"{config.name}-seeds").glob("*/*-s*.json")
            if not p.name.endswith(".failed.json")]  # a failed run's record (core.training.sweep), not a run
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
