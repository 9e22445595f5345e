"""The three recurrent units, each described once: what every other module reads about a unit.

A ``Unit`` holds its name, its weight blocks, the paper's size, its colour, its equations (per
variant, described once as ``Affine`` and ``Mix`` steps: the LaTeX, the equation stepper and the
parameter count all read them) and its ``Quantity``s: the gates, candidate and states a trace records,
each with its symbol, its range (which colour scale draws it) and its role. Everything that
lists units or gates (the Lab's views, the charts' panels, the clamps, the saturation summary,
the paper table's names) derives from ``UNITS``. No torch here: the web server reads it.

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
    part: str        # Wx | Uh | Vc (a peephole) | b | bU (PyTorch GRU's second candidate bias)


@dataclass(frozen=True)
class Affine:
    """out = act(sum of terms [+ gate ⊙ (sum of gated terms)]): a gate, a candidate, tanh's h."""
    out: str                       # the quantity it computes ("r", "h_tilde", "h")
    symbol: str                    # its LaTeX ("r_t")
    act: str                       # sigmoid | 1-sigmoid (PyTorch GRU's z, written as the paper's) | tanh
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


ACTS = {"sigmoid": r"\sigma", "1-sigmoid": r"1 - \sigma", "tanh": r"\tanh"}
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
    big = step.act == "tanh" and "\\" in step.symbol  # a candidate (h~, c~): sized brackets
    left, right = (r"\big(", r"\big)") if big else ("(", ")")
    return f"{step.symbol} = {ACTS[step.act]}{left}{inner}{right}"


def _gate(name: str, act: str = "sigmoid", peephole: str = "") -> Affine:
    """A gate from W x, U h (and a peephole on c_{t-1} or c_t) and its bias."""
    terms = (Term(f"W_{name} x_t", "Wx"), Term(f"U_{name} h_{{t-1}}", "Uh"))
    if peephole:
        terms += (Term(rf"V_{name} \odot {peephole}", "Vc"),)
    return Affine(name, f"{name}_t", act, name, terms + (Term(f"b_{name}", "b"),))


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

    def peepholes(self, variant: str) -> int:
        """Peephole weight vectors (H each) of ``variant``: one per gate that reads the cell."""
        return sum(term.part == "Vc" for step in self.step_forms(variant) if isinstance(step, Affine)
                   for term in step.terms)


def _q(name, symbol, range, role) -> Quantity:
    return Quantity(name, symbol, range, role)


H = _q("h", "h", "state", "output")

_TANH = (Affine("h", "h_t", "tanh", "h", (Term("W x_t", "Wx"), Term("U h_{t-1}", "Uh"), Term("b", "b"))),)
_H_GRU = Mix("h", "h_t", ((("z_t", "z", "1-"), ("h_{t-1}", "h_prev", "")),
                          (("z_t", "z", ""), (r"\tilde{h}_t", "h_tilde", ""))))
_C = Mix("c", "c_t", ((("f_t", "f", ""), ("c_{t-1}", "c_prev", "")), (("i_t", "i", ""), (r"\tilde{c}_t", "g", ""))))
_H_LSTM = Mix("h", "h_t", ((("o_t", "o", ""), ("c_t", "c", "tanh")),))
_C_TILDE = Affine("g", r"\tilde{c}_t", "tanh", "g",
                  (Term("W_c x_t", "Wx"), Term("U_c h_{t-1}", "Uh"), Term("b_c", "b")))

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
         quantities=(_q("i", "i", "gate", "gate"), _q("f", "f", "gate", "gate"),
                     _q("o", "o", "gate", "gate"), _q("g", "c̃", "state", "candidate"),
                     _q("c", "c", "cell", "memory"), H),
         clamps=(("f", 1.0), ("f", 0.0), ("i", 0.0), ("i", 1.0), ("o", 1.0), ("o", 0.0)),
         steps=(("torch", (_gate("i"), _gate("f"), _C_TILDE, _C, _gate("o"), _H_LSTM)),
                ("paper", (_gate("i", peephole="c_{t-1}"), _gate("f", peephole="c_{t-1}"), _C_TILDE, _C,
                           _gate("o", peephole="c_t"), _H_LSTM)))),
)}

ARCHS = tuple(UNITS)
PAPER_UNITS = {key: u.paper_units for key, u in UNITS.items()}
# Every quantity of every unit by name (a name means the same in every unit that has it).
QUANTITIES = {q.name: q for u in UNITS.values() for q in u.quantities}


def unit(arch: str) -> Unit:
    """The unit named ``arch``; an unknown name is a ValueError that lists the known ones."""
    if arch not in UNITS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return UNITS[arch]


def display_name(arch: str) -> str:
    """``gru`` -> "GRU"; an unknown name as it is."""
    return UNITS[arch].name if arch in UNITS else arch
