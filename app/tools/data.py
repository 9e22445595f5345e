"""The Gate tools page's logic and words without widgets: which tools there are, which models
have gates, the saturation snapshots kept while following the Lab, the memory tool's slider
ranges, the clamps offered and their labels, and the equation stepper's heading.

The widgets that use these are in ``app.tools.views``; outside a page run the page's language
is English. Imports no torch (the web server runs this).
"""
from app.choosers import variant_name
from app.figures.common import model_name
from app.i18n import t as tx  # t is a time step here
from app.teacher import labels
from app.tools.stepper import input_keys
from core.units import UNITS
from core.units.records import Clamp

TOOLS = ("saturation", "interventions", "memory", "stepper")   # names: tools.names.*
HISTORY = 8          # saturation snapshots kept, so a user sees where units go while training
FOLLOW_S = 3.0       # refresh of the saturation scatter while following the Lab
K_DEFAULT, K_MAX = 30, 80   # the memory tool's look-back: its default and its largest value


def tool_labels() -> dict:
    """Each tool's name in the page's language (``tools.names.*``)."""
    return labels("tools.names", TOOLS)


def gated(models: dict) -> list[str]:
    """The architectures among ``models`` that have gates (the tanh RNN has none)."""
    return [a for a in models if UNITS[a].gates]


def lab_key(weights: dict) -> tuple:
    """A key naming the Lab's models as last taken: their update counts."""
    return ("lab", *(w["updates"] for w in weights.values()))


def keep_snapshot(history: list, points: dict, model_key, keep: int = HISTORY) -> list[dict]:
    """Add ``points`` to ``history`` (in place) when the models changed, keep the last ``keep``
    snapshots, and return the earlier ones (the units' paths up to now)."""
    if not history or history[-1][0] != model_key:
        history.append((model_key, points))
        del history[:-keep]
    return [p for k, p in history[:-1]]


def memory_ranges(T: int, answer: int | None) -> dict:
    """The memory tool's sliders over a piece of ``T`` steps: K's URL default, its largest value
    and its slider default, and the step's default (the long-memory answer where there is one)."""
    return {"K_url": min(K_DEFAULT, T - 1), "K_max": max(1, min(K_MAX, T - 1)),
            "K": min(K_DEFAULT, max(T - 1, 1)), "t": answer if answer is not None else T - 1}


def clamp_options(arch: str) -> tuple[list, dict]:
    """The clamps offered for ``arch`` (gate, value) and each one's meaning in the page's language."""
    options = list(UNITS[arch].clamps)
    return options, {o: tx(f"tools.clamps.{arch}.{o[0]}{o[1]:g}") for o in options}


def removed_gates(arch: str) -> list[str]:
    """What ``arch`` lacks, one sentence per removed gate in the page's language: a gate a unit
    taken apart does not have is held at its constant already (``Unit.removed``), never offered
    as a clamp."""
    return [tx("tools.interventions.removed", model=model_name(arch), gate=gate, value=f"{value:g}")
            for gate, value in UNITS[arch].removed]


def url_clamp(options: list, gate: str, value: float, choice: tuple) -> tuple:
    """The clamp a teacher link names (``gate``, ``value``) if it is offered, else ``choice``."""
    return (gate, value) if (gate, value) in options else choice


def clamp_label(clamp: Clamp) -> str:
    """"f = 1 for all units" in the page's language."""
    who = tx("tools.interventions.all_units") if clamp.units is None else \
        tx("tools.interventions.some_units", units=", ".join(map(str, clamp.units)))
    return tx("tools.interventions.label", gate=clamp.gate, value=f"{clamp.value:g}", who=who)


def step_back(t: int) -> int:
    return max(t - 1, 0)


def step_next(t: int, T: int) -> int:
    return min(t + 1, T - 1)


def stepper_text(arch: str, variant: str, n: dict, unit: int, t: int, note: bool = True) -> str:
    """Which unit and step the lines show, what is special about the unit (``note``: left out
    in projector mode), and its inputs."""
    keys = input_keys(n["x"])
    previous = tx("tools.stepper.hc_prev", h=f"{n['h_prev'][unit]:.3f}", c=f"{n['c_prev'][unit]:.3f}") \
        if "c_prev" in n else tx("tools.stepper.h_prev", h=f"{n['h_prev'][unit]:.3f}")
    head = tx("tools.stepper.head", model=model_name(arch), variant=variant_name(variant), unit=unit, t=t)
    extra = " " + tx(f"tools.notes.{arch}_{variant}") if note else ""
    frame = tx("tools.stepper.input", frame=t - 1,
               keys=", ".join(keys) if keys else tx("tools.stepper.silence"))
    return f"{head}{extra}  \n{frame} {previous}"
