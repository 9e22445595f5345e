"""The recurrent units, each described once: what every other module reads about a unit.

The paper's three (``ARCHS``: tanh RNN, GRU, LSTM) and the units made by taking one apart
(``VARIANT_ARCHS``): Greff et al. 2015's eight LSTM variants, switches on the one LSTM
(``LSTM_SWITCHES``), and Zhou et al. 2016's minimal gated unit, the GRU family's one-gate unit.

A ``Unit`` holds its name, its weight blocks, the paper's size, its colour, its equations (per
variant, described once as ``Affine`` and ``Mix`` steps: the LaTeX, the equation stepper and the
parameter count all read them) and its ``Quantity``s: the gates, candidate and states a trace records,
each with its symbol, its range (which colour scale draws it) and its role. Everything that
lists units or gates (the Lab's views, the charts' panels, the clamps, the saturation summary,
the paper table's names) derives from ``UNITS``. No torch here: the web server reads it.

A variant is not a copy: ``_lstm_steps(switches)`` writes the LSTM's equations with some parts
switched off or changed, and the module (``core.units.cells.PaperLSTM``), the compiled loop
(``core.units.fast_loops.lstm_forward``) and the step with numbers
(``core.units.teaching_cells``) read the same switches.

Adding a unit: a ``Unit`` here, its three equation forms (the module in ``core/units/cells.py`` or
``torch.nn``, the compiled loop in ``core/units/fast_loops.py``, the step with every number in
``core/units/teaching_cells.py``) and its words in ``app/text/<lang>/``; see docs/architecture.md.
"""
from dataclasses import dataclass

# A quantity's range decides its colour scale: "gate" in [0, 1] (a sigmoid), "state" in
# [-1, 1] (a tanh), "cell" unbounded (the LSTM's memory).
RANGES = ("gate", "state", "cell")


@dataclass(frozen=True)
class Quantity:
    """One number per hidden unit and step that a trace records, e.g. the GRU's update gate."""
    name: str        # its key in a trace and in the teaching numbers ("z", "h_tilde")
    symbol: str      # as the equations write it ("z", "h̃")
    range: str       # gate | state | cell (see RANGES)
    role: str        # gate (a sigmoid that opens and closes) | candidate | memory | output


@dataclass(frozen=True)
class Term:
    """One part of a pre-activation: its symbol, and the key prefix of its number in a step's
    numbers (``core.units.teaching_cells``: ``Wx_r`` is W_r x_t for the gate r)."""
    symbol: str      # LaTeX: "W_r x_t"
    part: str        # Wx | Uh | Vc (a peephole) | Rg (the previous gates) | b | bU (PyTorch GRU's second
                     # candidate bias)


@dataclass(frozen=True)
class Affine:
    """out = act(sum of terms [+ gate ⊙ (sum of gated terms)]): a gate, a candidate, tanh's h."""
    out: str                       # the quantity it computes ("r", "h_tilde", "h")
    symbol: str                    # its LaTeX ("r_t")
    act: str                       # sigmoid | 1-sigmoid (PyTorch GRU's z, written as the paper's) | tanh
                                   # | identity (a candidate without its activation)
    key: str                       # the suffix of its numbers: a_<key>, Wx_<key>, ...
    terms: tuple[Term, ...]
    gate: str = ""                 # a gate multiplying the gated terms (PyTorch's GRU candidate)
    gated: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Mix:
    """out = a sum of products of factors: how a state is updated from gates and candidates."""
    out: str
    symbol: str
    products: tuple[tuple[tuple[str, str, str], ...], ...]  # each factor: (LaTeX, number key, form)
    # form: "" the number itself | "1-" one minus it | "tanh" its tanh


ACTS = {"sigmoid": r"\sigma", "1-sigmoid": r"1 - \sigma", "tanh": r"\tanh", "identity": ""}
HIGHLIGHT = "#CC79A7"  # what a variant changed, in its equations
FACTOR = {"": "{}", "1-": "(1 - {})", "tanh": r"\tanh({})"}


def terms_latex(terms) -> str:
    return " + ".join(term.symbol for term in terms)


def step_latex(step) -> str:
    r"""One equation of a unit in symbols, e.g. ``r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r)``."""
    if isinstance(step, Mix):
        return f"{step.symbol} = " + " + ".join(r" \odot ".join(FACTOR[form].format(latex)
                                                                 for latex, _, form in product)
                                                    for product in step.products)
    inner = terms_latex(step.terms)
    if step.gated:
        inner += rf" + {step.gate} \odot ({terms_latex(step.gated)})"
    big = step.act in ("tanh", "identity") and "\\" in step.symbol  # a candidate (h~, c~): sized brackets
    left, right = (r"\big(", r"\big)") if big else ("(", ")")
    return f"{step.symbol} = {ACTS[step.act]}{left}{inner}{right}"


def _gate(name: str, act: str = "sigmoid", peephole: str = "", recurrent_gates: bool = False) -> Affine:
    """A gate from W x, U h (a peephole on c_{t-1} or c_t; the previous step's gates) and its bias."""
    terms = (Term(f"W_{name} x_t", "Wx"), Term(f"U_{name} h_{{t-1}}", "Uh"))
    if peephole:
        terms += (Term(rf"V_{name} \odot {peephole}", "Vc"),)
    if recurrent_gates:
        terms += (Term(rf"R_{name} \mathbf{{g}}_{{t-1}}", "Rg"),)
    return Affine(name, f"{name}_t", act, name, terms + (Term(f"b_{name}", "b"),))


# The LSTM's switches (Greff et al. 2015, "LSTM: A Search Space Odyssey"): each changes one part
# of the paper's LSTM (Greff's "vanilla": input, forget and output gates, peepholes, tanh on the
# candidate and on the cell). The constant a removed gate is held at: ``Unit.removed``.
LSTM_SWITCHES = {
    "nig": "no input gate (i = 1)",
    "nfg": "no forget gate (f = 1)",
    "nog": "no output gate (o = 1)",
    "niaf": "no input activation (the candidate has no tanh)",
    "noaf": "no output activation (h = o * c)",
    "np": "no peepholes",
    "cifg": "coupled input and forget gates (i = 1 - f)",
    "fgr": "full gate recurrence (each gate also reads the previous step's gates)",
}
# What each switch removes: (gate, the constant it is held at)
_REMOVES = {"nig": ("i", 1.0), "nfg": ("f", 1.0), "nog": ("o", 1.0)}
# The weight blocks of the LSTM family, in PyTorch's row order; the gates with peepholes and
# the gates a full gate recurrence reads, in their order
LSTM_BLOCKS, LSTM_GATES = ("i", "f", "g", "o"), ("i", "f", "o")


def _lstm_steps(switches: frozenset = frozenset(), peepholes: bool = True) -> tuple:
    """The LSTM's equations with ``switches`` (``LSTM_SWITCHES``) applied, as Affine/Mix steps.
    ``peepholes``: the paper's LSTM has them, PyTorch's none (its variant "torch")."""
    peep = peepholes and "np" not in switches
    fgr = "fgr" in switches

    def gate(name: str, where: str) -> Affine:
        return _gate(name, peephole=where if peep else "", recurrent_gates=fgr)
    steps = []
    if not switches & {"nig", "cifg"}:
        steps.append(gate("i", "c_{t-1}"))
    if "nfg" not in switches:
        steps.append(gate("f", "c_{t-1}"))
    if "cifg" in switches:  # i = 1 - f: the input gate is the forget gate's complement
        steps.append(Mix("i", "i_t", ((("f_t", "f", "1-"),),)))
    steps.append(Affine("g", r"\tilde{c}_t", "identity" if "niaf" in switches else "tanh", "g",
                        (Term("W_c x_t", "Wx"), Term("U_c h_{t-1}", "Uh"), Term("b_c", "b"))))
    keep = ((("f_t", "f", ""),) if "nfg" not in switches else ()) + (("c_{t-1}", "c_prev", ""),)
    write = ((("i_t", "i", ""),) if "nig" not in switches else ()) + ((r"\tilde{c}_t", "g", ""),)
    steps.append(Mix("c", "c_t", (keep, write)))
    if "nog" not in switches:
        steps.append(gate("o", "c_t"))
    out = ("c_t", "c", "" if "noaf" in switches else "tanh")
    steps.append(Mix("h", "h_t", (((("o_t", "o", ""),) if "nog" not in switches else ()) + (out,),)))
    return tuple(steps)


@dataclass(frozen=True)
class Unit:
    key: str                           # "gru": the name in settings, URLs, files
    name: str                          # "GRU": the display name (the same in every language)
    blocks: int                        # weight blocks (candidate + gates) in W and U
    paper_units: int                   # hidden units in the paper's Table 1 (about 20k parameters)
    color: str                         # its line colour in every chart
    quantities: tuple[Quantity, ...]   # what a trace records, in trace order (``h`` last)
    clamps: tuple[tuple[str, float], ...] = ()  # (gate, value) holds the Gate tools offer, in order
    steps: tuple[tuple[str, tuple, ...], ...] = ()  # (variant, its equations: Affine / Mix, in order)
    family: str = ""                   # the unit it was taken from ("lstm"); "" for the three
    switches: frozenset = frozenset()  # the LSTM switches it applies (``LSTM_SWITCHES``)
    removed: tuple[tuple[str, float], ...] = ()  # (gate, constant): gates it does not have

    @property
    def base(self) -> str:
        """The unit it belongs to: its own key for the three, else the unit it was taken from."""
        return self.family or self.key

    def names(self, role: str | None = None, range: str | None = None) -> tuple[str, ...]:
        """Names of its quantities, optionally of one role and/or one range."""
        return tuple(q.name for q in self.quantities
                     if (role is None or q.role == role) and (range is None or q.range == range))

    @property
    def gates(self) -> tuple[str, ...]:
        """Its gates (sigmoids): the ones that saturate, the ones a user may clamp."""
        return self.names(role="gate")

    @property
    def candidate(self) -> str | None:
        return next(iter(self.names(role="candidate")), None)

    @property
    def state(self) -> str:
        """The state whose path the charts draw: the memory (LSTM c) or else h."""
        return next(iter(self.names(role="memory")), "h")

    @property
    def traced(self) -> tuple[str, ...]:
        """What a trace records besides ``h``: every quantity but the output."""
        return tuple(q.name for q in self.quantities if q.name != "h")

    @property
    def panels(self) -> tuple[str, ...]:
        """The heatmaps drawn by default: its gates, or its state when it has none."""
        return self.gates or ("h",)

    @property
    def bounded(self) -> tuple[str, ...]:
        """Gates and candidate, the quantities with a fixed range (the Lab's views send these)."""
        return tuple(q.name for q in self.quantities if q.role in ("gate", "candidate"))

    def step_forms(self, variant: str) -> tuple:
        """Its equations in ``variant`` as ``Affine`` and ``Mix`` steps: the one description the
        LaTeX, the equation stepper and the parameter count read."""
        return dict(self.steps)[variant]

    def equations(self, variant: str) -> tuple[str, ...]:
        """Its equations in LaTeX, one line per step."""
        return tuple(step_latex(step) for step in self.step_forms(variant))

    def changes(self, variant: str) -> tuple[tuple[str, bool], ...]:
        """Its equations in LaTeX beside its family's, as (line, changed): a line the unit it was
        taken from does not have is changed, and each removed gate is a changed line of its own
        (``i_t \\equiv 1``). The three units' lines are never changed."""
        lines = self.equations(variant)
        if not self.family:
            return tuple((line, False) for line in lines)
        base = set(UNITS[self.family].equations(variant))
        gone = tuple((rf"{gate}_t \equiv {value:g}", True) for gate, value in self.removed)
        return gone + tuple((line, line not in base) for line in lines)

    def peepholes(self, variant: str) -> int:
        """Peephole weight vectors (H each) of ``variant``: one per gate that reads the cell."""
        return sum(term.part == "Vc" for step in self.step_forms(variant) if isinstance(step, Affine)
                   for term in step.terms)

    def gate_recurrence(self, variant: str) -> int:
        """Gates that read the previous step's gates (a full gate recurrence): R_* of H x 3H each."""
        return sum(term.part == "Rg" for step in self.step_forms(variant) if isinstance(step, Affine)
                   for term in step.terms)


def _q(name, symbol, range, role) -> Quantity:
    return Quantity(name, symbol, range, role)


H = _q("h", "h", "state", "output")

_TANH = (Affine("h", "h_t", "tanh", "h", (Term("W x_t", "Wx"), Term("U h_{t-1}", "Uh"), Term("b", "b"))),)
_H_GRU = Mix("h", "h_t", ((("z_t", "z", "1-"), ("h_{t-1}", "h_prev", "")),
                          (("z_t", "z", ""), (r"\tilde{h}_t", "h_tilde", ""))))
_LSTM_QUANTITIES = (_q("i", "i", "gate", "gate"), _q("f", "f", "gate", "gate"), _q("o", "o", "gate", "gate"),
                    _q("g", "c̃", "state", "candidate"), _q("c", "c", "cell", "memory"), H)
_LSTM_CLAMPS = (("f", 1.0), ("f", 0.0), ("i", 0.0), ("i", 1.0), ("o", 1.0), ("o", 0.0))
# Colours (colour-blind safe first: Wong 2011's palette for the three, then the variants)
_VARIANT_COLORS = {"lstm-nig": "#E69F00", "lstm-nfg": "#56B4E9", "lstm-nog": "#CC79A7", "lstm-niaf": "#8C564B",
                   "lstm-noaf": "#7F7F7F", "lstm-np": "#BCBD22", "lstm-cifg": "#17BECF", "lstm-fgr": "#9467BD",
                   "mgu": "#332288"}


def _lstm_variant(switch: str) -> "Unit":
    """The LSTM with one switch (``LSTM_SWITCHES``): ``lstm-<switch>``, from the one description."""
    switches = frozenset({switch})
    removed = tuple(_REMOVES[s] for s in sorted(switches) if s in _REMOVES)
    gone = {g for g, _ in removed}
    steps = (("torch", _lstm_steps(switches, peepholes=False)), ("paper", _lstm_steps(switches)))
    free = {g for g in LSTM_GATES if g not in gone} - ({"i"} if "cifg" in switches else set())
    return Unit(f"lstm-{switch}", f"LSTM-{switch.upper()}", blocks=sum(isinstance(s, Affine) for s in steps[1][1]),
                paper_units=0, color=_VARIANT_COLORS[f"lstm-{switch}"],
                quantities=tuple(q for q in _LSTM_QUANTITIES if q.name not in gone),
                clamps=tuple(c for c in _LSTM_CLAMPS if c[0] in free), steps=steps,
                family="lstm", switches=switches, removed=removed)


# The minimal gated unit (Zhou, Wu, Zhang & Zhou 2016): one gate f, both the GRU's reset and its
# update; the same equations in both variants (reset before the product, as the paper's GRU).
_MGU = (_gate("f"),
        Affine("h_tilde", r"\tilde{h}_t", "tanh", "n",
               (Term("W x_t", "Wx"), Term(r"U (f_t \odot h_{t-1})", "Uh"), Term("b", "b"))),
        Mix("h", "h_t", ((("f_t", "f", "1-"), ("h_{t-1}", "h_prev", "")),
                         (("f_t", "f", ""), (r"\tilde{h}_t", "h_tilde", "")))))

UNITS = {u.key: u for u in (
    Unit("tanh", "tanh RNN", blocks=1, paper_units=100, color="#D55E00", quantities=(H,),
         steps=(("torch", _TANH), ("paper", _TANH))),
    Unit("gru", "GRU", blocks=3, paper_units=46, color="#0072B2",
         quantities=(_q("z", "z", "gate", "gate"), _q("r", "r", "gate", "gate"),
                     _q("h_tilde", "h̃", "state", "candidate"), H),
         clamps=(("z", 0.0), ("z", 1.0), ("r", 1.0), ("r", 0.0)),
         steps=(("torch", (
             _gate("r"),
             _gate("z", "1-sigmoid"),  # PyTorch's own gate is 1 - z_t: written as the paper's z
             Affine("h_tilde", r"\tilde{h}_t", "tanh", "n", (Term("W x_t", "Wx"), Term("b_W", "b")),
                    gate="r_t", gated=(Term("U h_{t-1}", "Uh"), Term("b_U", "bU"))),
             _H_GRU)),
             ("paper", (
             _gate("r"),
             _gate("z"),
             Affine("h_tilde", r"\tilde{h}_t", "tanh", "n",
                    (Term("W x_t", "Wx"), Term(r"U (r_t \odot h_{t-1})", "Uh"), Term("b", "b"))),
             _H_GRU)))),
    Unit("lstm", "LSTM", blocks=4, paper_units=36, color="#009E73",
         quantities=_LSTM_QUANTITIES, clamps=_LSTM_CLAMPS,
         steps=(("torch", _lstm_steps(peepholes=False)), ("paper", _lstm_steps()))),
    *(_lstm_variant(s) for s in LSTM_SWITCHES),
    Unit("mgu", "MGU", blocks=2, paper_units=0, color=_VARIANT_COLORS["mgu"],
         quantities=(_q("f", "f", "gate", "gate"), _q("h_tilde", "h̃", "state", "candidate"), H),
         clamps=(("f", 0.0), ("f", 1.0)), steps=(("torch", _MGU), ("paper", _MGU)), family="gru"),
)}

ARCHS = ("tanh", "gru", "lstm")  # the paper's three: the default everywhere a set of units is chosen
VARIANT_ARCHS = tuple(k for k in UNITS if k not in ARCHS)  # units taken apart, grouped under their family
ALL_ARCHS = tuple(UNITS)          # every unit, in the order every list shows them
PAPER_UNITS = {key: u.paper_units for key, u in UNITS.items() if key in ARCHS}
# Every quantity of every unit by name (a name means the same in every unit that has it).
QUANTITIES = {q.name: q for u in UNITS.values() for q in u.quantities}


def unit(arch: str) -> Unit:
    """The unit named ``arch``; an unknown name is a ValueError that lists the known ones."""
    if arch not in UNITS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ALL_ARCHS)}")
    return UNITS[arch]


def display_name(arch: str) -> str:
    """``gru`` -> "GRU"; an unknown name as it is."""
    return UNITS[arch].name if arch in UNITS else arch


def family_of(arch: str) -> str:
    """The unit ``arch`` was taken from (``lstm-nfg`` -> ``lstm``, ``mgu`` -> ``gru``), itself for the three."""
    return UNITS[arch].base
