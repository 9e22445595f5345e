"""The Paper page's logic: the committed reproduction results, and a small live rerun.

The rerun is ``python -m core reproduce`` in a child process (never in the server's own
interpreter): its progress lines are read by a small I/O thread and shown by the page. Its
size is capped (K <= 4 candidates, <= 20 epochs, one dataset), so it always ends by itself.
"""
import json
import math
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.training.ablation import GREFF, compare, read_results
from core.training.reproduce import (
    FIELD_RNN,
    PAPER_TABLE,
    ReproduceConfig,
    best_runs,
    candidates_done,
    learning_curves,
    load_runs,
)
from core.units import ARCHS, display_name
from core.units.costs import formula, multiply_adds, seconds_to_reach

ROOT = Path(__file__).resolve().parents[2]  # the repository: app/paper/results.py
RESULTS = ROOT / "results" / "reproduce"
ABLATION = ROOT / "results" / "ablation"
MAX_CANDIDATES, MAX_EPOCHS = 4, 20


def committed_config(protocol: str, variant: str = "torch") -> ReproduceConfig:
    return ReproduceConfig(protocol=protocol, variant=variant, out=str(RESULTS))


def table_rows(config: ReproduceConfig) -> list[dict]:
    """Table 2 rows: ours (best candidate by validation NLL) beside the paper's numbers.

    Columns are named by key (``paper_test``, ``ours_test``, ...): the page shows each under
    its translated header (``paper.columns.<key>``). Datasets not run yet have the paper's
    columns only; ``candidates`` says how many of the K learning rates have finished (the
    selection is the best so far until all have).
    """
    runs = load_runs(config)
    best, done = best_runs(runs), candidates_done(runs)
    rows = []
    for dataset in config.datasets:
        for arch in config.archs:
            run, paper = best.get((dataset, arch)), PAPER_TABLE.get(dataset, {}).get(arch)
            row = {"dataset": dataset, "unit": display_name(arch),
                   "paper_train": paper[0] if paper else None, "paper_test": paper[1] if paper else None}
            if run:
                row |= {"candidates": f"{done[dataset, arch]}/{config.candidates}",
                        "params": run["n_params"], "lr": run["settings"]["lr"],
                        "epochs": run["epochs"], "ours_train": round(run["train_nll"], 3),
                        "ours_test": round(run["test_nll"], 3),
                        "diff": round(run["test_nll"] - paper[1], 3) if paper else None}
            rows.append(row)
    return rows


def unfinished(rows: list[dict]) -> list[str]:
    """The datasets of ``rows`` with a cell not run yet or without all K candidates finished."""
    def finished(r: dict) -> bool:
        if "ours_test" not in r:
            return False
        done, k = r["candidates"].split("/")  # "done/K", as the table shows it
        return done == k
    return sorted({r["dataset"] for r in rows if not finished(r)})


def field_rows(rows: list[dict]) -> list[dict]:
    """Per dataset, the tanh RNN cell of ``rows`` (Table 2) beside the field's plain RNNs on the
    same data (Boulanger-Lewandowski 2012), test NLL: an independent check on both our numbers
    and the paper's. Datasets whose tanh cell has no run yet are left out."""
    out = []
    for r in rows:
        if r["unit"] != display_name("tanh") or "ours_test" not in r:
            continue
        sgd, hf = FIELD_RNN[r["dataset"]]["sgd"], FIELD_RNN[r["dataset"]]["hf"]
        out.append({"dataset": r["dataset"], "field_sgd": sgd, "field_hf": hf,
                    "ours_test": r["ours_test"], "paper_test": r["paper_test"],
                    "ours_vs_hf": round(r["ours_test"] - hf, 3),
                    "paper_vs_hf": round(r["paper_test"] - hf, 3)})
    return out


def field_spread(rows: list[dict]) -> tuple[float, tuple[float, float]]:
    """How far from the Hessian-free RNN ``field_rows`` put ours (the largest gap, rounded up to
    0.01) and the paper's (the smallest gap rounded down, the largest up, to 0.1 nats), so that
    "within" and "between" stay true of the table's unrounded cells."""
    ours = max(abs(r["ours_vs_hf"]) for r in rows)
    theirs = [abs(r["paper_vs_hf"]) for r in rows]
    return (math.ceil(ours * 100) / 100,
            (math.floor(min(theirs) * 10) / 10, math.ceil(max(theirs) * 10) / 10))


def unit_equation_rows() -> list[dict]:
    """The paper protocol trained with the paper's own unit equations (``--variant paper``):
    the cells run so far, each beside the same cell with PyTorch's equations (``torch_test``)."""
    torch_rows = {(r["dataset"], r["unit"]): r for r in table_rows(committed_config("paper"))}
    keys = ("dataset", "unit", "candidates", "params", "lr", "ours_test", "torch_test", "paper_test",
            "diff")  # test NLL only: the page's width holds nine such columns
    rows = []
    for r in table_rows(committed_config("paper", "paper")):
        if "ours_test" in r:
            r["torch_test"] = torch_rows[r["dataset"], r["unit"]].get("ours_test")
            rows.append({k: r[k] for k in keys})
    return rows


def seed_spread(protocol: str) -> tuple[list[dict], list[dict]]:
    """The committed seed spread of ``protocol`` (``reproduce --seeds``; empty lists where none
    was run): per cell, the test NLL over the fresh seeds beside the table's own run; per pair
    of units on a dataset, the difference of their means, twice its standard error, and the
    unit with the lower NLL where the difference exceeds that (``lower``; None: not told apart,
    as ``core.training.reproduce.compare_units`` decides)."""
    path = RESULTS / committed_config(protocol).name / "seeds.json"
    if not path.exists():
        return [], []
    saved = json.loads(path.read_text())
    cells = [{"dataset": c["dataset"], "unit": display_name(c["arch"]), "seeds": c["seeds"], "lr": c["lr"],
              "seed_mean": round(c["test_mean"], 3), "seed_sd": round(c["test_sd"], 3),
              "seed_min": round(c["test_min"], 3), "seed_max": round(c["test_max"], 3),
              "ours_test": round(c["selected_test"], 3) if c["selected_test"] is not None else None}
             for c in saved["cells"]]
    pairs = [{"dataset": p["dataset"], "pair": f"{display_name(p['a'])} − {display_name(p['b'])}",
              "diff": round(p["diff"], 3), "two_se": round(2 * p["se"], 3),
              "lower": display_name(p["lower"]) if p["lower"] else None} for p in saved["pairs"]]
    return cells, pairs


def cost_runs(config: ReproduceConfig) -> dict:
    """dataset -> arch -> the selected run's cost facts: parameters, multiply-adds per step
    (``core.units.costs``), ms per update (its own training time over its updates; the runs of one
    dataset ran on one machine) and its validation curve (updates, seconds, NLL per epoch)."""
    out = {}
    for (dataset, arch), run in best_runs(load_runs(config)).items():
        last = run["history"][-1]
        variant, units = run["settings"]["variant"], run["units"]
        out.setdefault(dataset, {})[arch] = {
            "params": run["n_params"], "multiply_adds": multiply_adds(arch, units, variant),
            "formula": formula(arch, variant), "ms_per_update": 1000 * last["seconds"] / last["updates"],
            "best_valid": min(r["valid_nll"] for r in run["history"]),
            "curve": [(r["updates"], r["seconds"], r["valid_nll"]) for r in run["history"]]}
    return out


def default_target(units: dict) -> float:
    """A validation NLL every unit reached: the worst of the units' best, rounded up."""
    return math.ceil(max(u["best_valid"] for u in units.values()) * 100) / 100


def cost_rows(dataset: str, units: dict, target: float) -> list[dict]:
    """One row per unit of ``dataset``: what it costs, and the seconds of training it needed to
    reach ``target`` (None: it never did)."""
    return [{"dataset": dataset, "unit": display_name(arch), "params": u["params"], "multiply_adds": u["multiply_adds"],
             "formula": u["formula"], "ms_per_update": round(u["ms_per_update"], 2),
             "best_valid": round(u["best_valid"], 3),
             "seconds_to_target": seconds_to_reach(u["curve"], target)}
            for arch, u in sorted(units.items(), key=lambda kv: ARCHS.index(kv[0]))]


def ablation() -> tuple[list[dict], list[dict], dict]:
    """The committed ablation study: its runs (``core.training.ablation.load_rows``' rows), one
    row per unit beside the vanilla LSTM (``compare``: mean, spread, difference, verdict, and what
    Greff et al. concluded for it on JSB, ``GREFF``), and its configuration. Empty when none."""
    runs, config = read_results(ABLATION)
    if not runs:
        return [], [], {}
    units = [{"arch": u["arch"], "unit": display_name(u["arch"]), "runs": u["runs"],
              "test_mean": round(u["test_mean"], 3), "test_sd": round(u["test_sd"], 3),
              "diff": round(u["diff"], 3) if "diff" in u else None,
              "two_se": round(u["two_se"], 3) if "two_se" in u else None,
              "verdict": u.get("verdict"), "greff": GREFF.get(u["arch"], {}).get("finding")}
             for u in compare(runs)]
    return runs, units, config


def curves(config: ReproduceConfig) -> dict:
    return learning_curves(config)


@dataclass
class Rerun:
    """A small reproduction running in a child process; ``lines`` fill in as it prints."""
    config: ReproduceConfig
    process: subprocess.Popen
    lines: list = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def failed(self) -> bool:
        return self.process.poll() not in (None, 0)

    def stop(self) -> None:
        if self.running:
            self.process.kill()


def start_rerun(dataset: str, protocol: str, candidates: int, epochs: int, seed: int) -> Rerun:
    """Launch ``python -m core reproduce`` on one dataset, at most K=4 and 20 epochs."""
    candidates, epochs = min(int(candidates), MAX_CANDIDATES), min(int(epochs), MAX_EPOCHS)
    out = tempfile.mkdtemp(prefix="gatelab-rerun-")
    config = ReproduceConfig(protocol=protocol, datasets=(dataset,), candidates=candidates,
                             max_epochs=epochs, patience=max(2, epochs // 4), seed=seed,
                             workers=2, out=out)
    command = [sys.executable, "-m", "core", "reproduce", "--protocol", protocol,
               "--datasets", dataset, "--candidates", str(candidates), "--max-epochs", str(epochs),
               "--patience", str(config.patience), "--seed", str(seed), "--workers", "2", "--out", out]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, bufsize=1)
    rerun = Rerun(config, process)
    threading.Thread(target=_collect, args=(rerun,), daemon=True).start()
    return rerun


def _collect(rerun: Rerun) -> None:
    for line in rerun.process.stdout:
        rerun.lines.append(line.rstrip())
