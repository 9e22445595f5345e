"""The three recurrent units, each described once: what every other module reads about a unit.

A ``Unit`` holds its name, its weight blocks, the paper's size, its colour, its equations in
LaTeX (per variant) and its ``Quantity``s: the gates, candidate and states a trace records,
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
class Unit:
    key: str                           # "gru": the name in settings, URLs, files
    name: str                          # "GRU": the display name (the same in every language)
    blocks: int                        # weight blocks (candidate + gates) in W and U
    paper_units: int                   # hidden units in the paper's Table 1 (about 20k parameters)
    color: str                         # its line colour in every chart
    quantities: tuple[Quantity, ...]   # what a trace records, in trace order (``h`` last)
    clamps: tuple[tuple[str, float], ...] = ()  # (gate, value) holds the Gate tools offer, in order
    latex: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (variant, equation lines)

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

    def equations(self, variant: str) -> tuple[str, ...]:
        return dict(self.latex)[variant]


def _q(name, symbol, range, role) -> Quantity:
    return Quantity(name, symbol, range, role)


H = _q("h", "h", "state", "output")

_TANH_LATEX = (r"h_t = \tanh(W x_t + U h_{t-1} + b)",)

UNITS = {u.key: u for u in (
    Unit("tanh", "tanh RNN", blocks=1, paper_units=100, color="#D55E00", quantities=(H,),
         latex=(("torch", _TANH_LATEX), ("paper", _TANH_LATEX))),
    Unit("gru", "GRU", blocks=3, paper_units=46, color="#0072B2",
         quantities=(_q("z", "z", "gate", "gate"), _q("r", "r", "gate", "gate"),
                     _q("h_tilde", "h̃", "state", "candidate"), H),
         clamps=(("z", 0.0), ("z", 1.0), ("r", 1.0), ("r", 0.0)),
         latex=(("torch", (
             r"r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r)",
             r"z_t = 1 - \sigma(W_z x_t + U_z h_{t-1} + b_z)",  # PyTorch's own gate is 1 - z_t
             r"\tilde{h}_t = \tanh\big(W x_t + b_W + r_t \odot (U h_{t-1} + b_U)\big)",
             r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t")),
             ("paper", (
             r"r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r)",
             r"z_t = \sigma(W_z x_t + U_z h_{t-1} + b_z)",
             r"\tilde{h}_t = \tanh\big(W x_t + U (r_t \odot h_{t-1}) + b\big)",
             r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t")))),
    Unit("lstm", "LSTM", blocks=4, paper_units=36, color="#009E73",
         quantities=(_q("i", "i", "gate", "gate"), _q("f", "f", "gate", "gate"),
                     _q("o", "o", "gate", "gate"), _q("g", "c̃", "state", "candidate"),
                     _q("c", "c", "cell", "memory"), H),
         clamps=(("f", 1.0), ("f", 0.0), ("i", 0.0), ("i", 1.0), ("o", 1.0), ("o", 0.0)),
         latex=(("torch", (
             r"i_t = \sigma(W_i x_t + U_i h_{t-1} + b_i)",
             r"f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f)",
             r"o_t = \sigma(W_o x_t + U_o h_{t-1} + b_o)",
             r"\tilde{c}_t = \tanh(W_c x_t + U_c h_{t-1} + b_c)",
             r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t",
             r"h_t = o_t \odot \tanh(c_t)")),
             ("paper", (
             r"i_t = \sigma(W_i x_t + U_i h_{t-1} + V_i \odot c_{t-1} + b_i)",
             r"f_t = \sigma(W_f x_t + U_f h_{t-1} + V_f \odot c_{t-1} + b_f)",
             r"\tilde{c}_t = \tanh(W_c x_t + U_c h_{t-1} + b_c)",
             r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t",
             r"o_t = \sigma(W_o x_t + U_o h_{t-1} + V_o \odot c_t + b_o)",
             r"h_t = o_t \odot \tanh(c_t)")))),
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
