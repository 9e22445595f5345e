"""What the Paper page writes, without widgets: the tables' headers, cells and number formats,
its sentences (the independent check, the seed spread, what has not run yet) and its option
labels. The results themselves come from ``app.paper.results``; the widgets that show these
are in ``app.paper.views``. Outside a page run the page's language is English.
"""
from app.i18n import dataset_title, t, table
from core.training.reproduce import PROTOCOLS

X_AXES = ("updates", "seconds")  # paper.curves.<name>
SIGNED = ("diff", "ours_vs_hf", "paper_vs_hf")  # differences, shown with their sign
OURS = ("ours_train", "ours_test", "torch_test", "seed_mean", "seed_sd", "seed_min", "seed_max",
        "two_se", "test_mean", "test_sd")  # ours to the third decimal, all alike
PRINTED = ("paper_train", "paper_test", "field_sgd", "field_hf")  # as the papers print them: 2 decimals
NUMBER_FORMATS = {"lr": "%.2e", **dict.fromkeys(SIGNED, "%+.3f"), **dict.fromkeys(OURS, "%.3f"),
                  **dict.fromkeys(PRINTED, "%.2f")}  # printf formats of the data grid's numbers
RERUN_LEFT_OUT = ("long-memory",)  # not in the paper: no rerun of it
RERUN_DEFAULT = "chorales"


def headers(relabel: dict | None = None) -> dict:
    """The tables' translated column headers by key (``paper.columns``), ``relabel`` renaming some."""
    return table("paper.columns") | (relabel or {})


def titled(rows: list[dict]) -> list[dict]:
    """``rows`` with each dataset by its title in the page's language."""
    return [{**r, "dataset": dataset_title(r["dataset"])} if "dataset" in r else r for r in rows]


def cell(key: str, value) -> str:
    """A cell as text (the projector's HTML table): blank where there is nothing, differences
    signed, the learning rate in e-notation."""
    if value is None:
        return ""
    if key in SIGNED:
        return f"{value:+.3f}"
    return f"{value:.2e}" if key == "lr" else f"{value:g}" if isinstance(value, float) else str(value)


def text_cells(rows: list[dict], names: dict) -> list[dict]:
    """``rows`` as text cells under the headers ``names`` (keys without one keep their key)."""
    return [{names.get(k, k): cell(k, v) for k, v in r.items()} for r in rows]


def protocol_labels() -> dict:
    return {p: t(f"paper.protocol.{p}") for p in PROTOCOLS}


def axis_labels() -> dict:
    return {v: t(f"paper.curves.{v}") for v in X_AXES}


def not_run(missing: list[str]) -> str:
    """The note under Table 2 naming the datasets with a cell missing or short of candidates."""
    return t("paper.not_run", datasets=", ".join(dataset_title(d) for d in missing))


def field_text(ours: float, theirs: tuple[float, float]) -> str:
    """The independent check's paragraph, from ``paper_results.field_spread``: its verdict only
    while ours is the closer to the field's RNN everywhere."""
    text = t("paper.field.intro", ours=f"{ours:.2f}", paper_low=f"{theirs[0]:.1f}", paper_high=f"{theirs[1]:.1f}")
    if ours < theirs[0]:
        text += " " + t("paper.field.verdict")
    return text + " " + t("paper.field.more")


def seeds_text(cells: list[dict], pairs: list[dict]) -> str:
    """The seed spread's introduction: how many seeds, pairs and told-apart pairs, which datasets."""
    return t("paper.seeds.intro", seeds=max(c["seeds"] for c in cells), pairs=len(pairs),
             ordered=sum(p["lower"] is not None for p in pairs),
             datasets=", ".join(dict.fromkeys(dataset_title(c["dataset"]) for c in cells)))


def verdicts(pairs: list[dict]) -> list[dict]:
    """The pairs with ``lower`` as a sentence: which unit is lower, or not told apart."""
    return [p | {"lower": t("paper.seeds.lower", unit=p["lower"]) if p["lower"] else t("paper.seeds.tied")}
            for p in pairs]


def rerun_choices(names: list[str]) -> tuple[list[str], int]:
    """The datasets a rerun offers (of those available) and the index of the default one."""
    names = [n for n in names if n not in RERUN_LEFT_OUT]
    return names, names.index(RERUN_DEFAULT) if RERUN_DEFAULT in names else 0


def race_text(rows: list[dict], target: float) -> str:
    """Which unit reached the target validation NLL first, in seconds of training."""
    reached = sorted((r for r in rows if r["seconds_to_target"] is not None), key=lambda r: r["seconds_to_target"])
    if not reached:
        return t("paper.costs.none", target=f"{target:.2f}")
    first = reached[0]
    others = [t("paper.costs.other", unit=r["unit"], seconds=f"{r['seconds_to_target']:.0f}") for r in reached[1:]]
    missed = [r["unit"] for r in rows if r["seconds_to_target"] is None]
    text = t("paper.costs.first", unit=first["unit"], target=f"{target:.2f}",
             seconds=f"{first['seconds_to_target']:.0f}", others="; ".join(others) or "–")
    return text + (" " + t("paper.costs.missed", units=", ".join(missed)) if missed else "")


def ablation_intro(config: dict) -> str:
    """The ablation section's introduction, from the study's own configuration."""
    recipe = t("paper.ablation.recipe", lr=config["lr"], patience=config["patience"])
    return t("paper.ablation.intro", dataset=dataset_title(config["dataset"]), budget=f"{config['budget']:,}",
             seeds=config["seeds"], recipe=recipe)


def ablation_cells(units: list[dict]) -> list[dict]:
    """The ablation table's rows: what each unit changed and the verdict in words, Greff et al.'s
    conclusion for it in the page's language (``paper.ablation.greff.<finding>``)."""
    return [{"unit": u["unit"], "change": t(f"paper.ablation.changes.{u['arch']}"), "runs": u["runs"],
             "test_mean": u["test_mean"], "test_sd": u["test_sd"], "diff": u["diff"], "two_se": u["two_se"],
             "verdict": t(f"paper.ablation.verdicts.{u['verdict']}") if u["verdict"] else None,
             "greff": t(f"paper.ablation.greff.{u['greff']}") if u["greff"] else None}
            for u in units]


def ablation_sentences(units: list[dict]) -> list[str]:
    """One sentence per unit compared with the LSTM: what changing that part did here, with its
    numbers (``paper.ablation.worse`` / ``better`` / ``tied``)."""
    return [t(f"paper.ablation.{u['verdict']}", unit=u["unit"], change=t(f"paper.ablation.changes.{u['arch']}"),
              diff=u["diff"], two_se=u["two_se"]) for u in units if u["verdict"]]
