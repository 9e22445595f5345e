"""The equations of each unit in LaTeX (written in ``core.units``), with the symbols the charts use
(z, r, h̃ for the GRU; i, f, o, c̃, c for the LSTM; h for all). Biases are written out
because both variants have them; sigma is the logistic sigmoid, odot the elementwise product.

The GRU's z is written in the paper's convention for both variants (the share of the NEW
candidate), as ``core.insight.trace`` reports it; for PyTorch's GRU that is one minus its own gate.

A unit taken apart (``core.units.VARIANT_ARCHS``) is written beside the unit it was taken from:
``highlighted`` colours each line it changed, and each gate it removed as a line of its own
(``f_t ≡ 1``), in ``HIGHLIGHT`` with a marker after it (the colour is not the only cue).

The LaTeX holds only maths; the words that explain it are text (``equations.*`` in
``app/text/<lang>/equations.toml``), so they are shown in the page's language.
"""
from app import text
from core.units import UNITS
from core.units.registry import HIGHLIGHT

# The words for these lines are the caption ``equations.readout``.
READOUT = [
    r"x_t = v_{t-1},\quad x_0 = 0,\qquad p_t = \sigma(W_y h_t + b_y) \in [0, 1]^{88}",
    r"\mathrm{NLL}_t = -\sum_{k=1}^{88} \big[v_{t,k} \log p_{t,k} + (1 - v_{t,k}) \log(1 - p_{t,k})\big]",
]


def equations(arch: str, variant: str) -> list[str]:
    """The LaTeX lines of one unit, e.g. ``equations("gru", "paper")`` (``core.units``)."""
    return list(UNITS[arch].equations(variant))


MARK = r"\quad\blacktriangleleft"  # after a changed line: the change is not told by its colour alone


def highlighted(arch: str, variant: str) -> list[tuple[str, bool]]:
    """The LaTeX lines of one unit as (line, changed): a line that a unit taken apart changed
    from its family's (``Unit.changes``) coloured ``HIGHLIGHT`` and marked, each removed gate a
    changed line of its own (``f_t ≡ 1``); the paper's three units have no changed line."""
    return [(rf"\textcolor{{{HIGHLIGHT}}}{{{line}}}{MARK}" if changed else line, changed)
            for line, changed in UNITS[arch].changes(variant)]


def note(arch: str, variant: str, lang: str = text.DEFAULT) -> str:
    """One sentence on what is special about this unit in this variant, in ``lang``
    (``equations.notes.<arch>.<variant>``, or ``equations.notes.<arch>`` for a unit whose
    variants share their equations, like the tanh RNN)."""
    notes = text.table(lang, "equations.notes")
    return notes.get(arch) or text.get(lang, f"equations.notes.{arch}.{variant}")
