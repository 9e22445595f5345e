"""The equation stepper's text: one unit's equations in LaTeX with the actual numbers of one
step substituted (``core.insight.interventions.step_numbers``). Pure: numbers in, strings out.

Each line is one step of the unit's equations as the registry describes them once
(``core.units.registry``: ``Affine`` and ``Mix``), read: the equation in symbols = the same with
numbers = the pre-activation = the value. ``W x`` is the unit's row of W times the input frame,
``U h`` its row of U times the previous state (for the paper's GRU candidate: times r ⊙ h_{t-1}),
b its bias. A new unit or variant needs no code here.
"""
import numpy as np

from app.figures.common import LOWEST_PITCH, pitch_name
from core.units import UNITS
from core.units.registry import ACTS, Mix, step_latex


def _f(v: float) -> str:
    return f"{v:.3f}".replace("-", "{-}")


def _sum(*values: float) -> str:
    """"0.120 + (-0.300) + 0.050" as LaTeX: negatives in parentheses."""
    return " + ".join(_f(v) if v >= 0 else f"({_f(v)})" for v in values)


def input_keys(x: np.ndarray) -> list[str]:
    """Names of the keys sounding in the input frame x (88,), e.g. ["C4", "E4"]."""
    return [pitch_name(LOWEST_PITCH + int(k)) for k in np.flatnonzero(np.asarray(x) > 0.5)]


def _number(value: float, form: str) -> str:
    """A factor's number as its form writes it: itself, one minus it, or its tanh."""
    if form == "1-":
        return f"(1 - {_f(value)})"
    return rf"\tanh({_f(value)})" if form == "tanh" else _sum(value)


def _line(step, n: dict, u: int) -> str:
    """One step of the unit's description (``core.units.registry``) with unit ``u``'s numbers."""
    head = step_latex(step)
    if isinstance(step, Mix):
        numbers = " + ".join(r" \times ".join(_number(n[key][u], form) for _, key, form in product)
                             for product in step.products)
        return f"{head} = {numbers} = {_f(n[step.out][u])}"
    act = ACTS[step.act]
    inner = _sum(*(n[f"{term.part}_{step.key}"][u] for term in step.terms))
    if step.gated:
        gated = _sum(*(n[f"{term.part}_{step.key}"][u] for term in step.gated))
        inner = rf"\big({inner} + {_f(n[step.gate[0]][u])} \times ({gated})\big)"
    else:
        inner = f"({inner})"
    return f"{head} = {act}{inner} = {act}({_f(n[f'a_{step.key}'][u])}) = {_f(n[step.out][u])}"


def stepper_lines(arch: str, variant: str, numbers: dict, unit: int) -> list[str]:
    """LaTeX lines of unit ``unit``'s equations with the step's numbers substituted.

    Parameters
    ----------
    numbers : dict of str to np.ndarray, shape=(H,)
        ``core.insight.interventions.step_numbers`` of one step.
    """
    return [_line(step, numbers, int(unit)) for step in UNITS[arch].step_forms(variant)]
