"""The equations of each unit in LaTeX, per variant, with the symbols the charts use
(z, r, h̃ for the GRU; i, f, o, c̃, c for the LSTM; h for all). Biases are written out
because both variants have them; sigma is the logistic sigmoid, odot the elementwise product.

The GRU's z is written in the paper's convention for both variants (the share of the NEW
candidate), as ``core.trace`` reports it; for PyTorch's GRU that is one minus its own gate.

The LaTeX holds only maths; the words that explain it are text (``equations.*`` in
``app/text/<lang>/equations.toml``), so they are shown in the page's language.
"""
from app import text

_TANH = [r"h_t = \tanh(W x_t + U h_{t-1} + b)"]

_GRU = {
    "torch": [
        r"r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r)",
        r"z_t = 1 - \sigma(W_z x_t + U_z h_{t-1} + b_z)",  # PyTorch's gate is 1 - z_t (the note)
        r"\tilde{h}_t = \tanh\big(W x_t + b_W + r_t \odot (U h_{t-1} + b_U)\big)",
        r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
    ],
    "paper": [
        r"r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r)",
        r"z_t = \sigma(W_z x_t + U_z h_{t-1} + b_z)",
        r"\tilde{h}_t = \tanh\big(W x_t + U (r_t \odot h_{t-1}) + b\big)",
        r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
    ],
}

_LSTM = {
    "torch": [
        r"i_t = \sigma(W_i x_t + U_i h_{t-1} + b_i)",
        r"f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f)",
        r"o_t = \sigma(W_o x_t + U_o h_{t-1} + b_o)",
        r"\tilde{c}_t = \tanh(W_c x_t + U_c h_{t-1} + b_c)",
        r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
    "paper": [
        r"i_t = \sigma(W_i x_t + U_i h_{t-1} + V_i \odot c_{t-1} + b_i)",
        r"f_t = \sigma(W_f x_t + U_f h_{t-1} + V_f \odot c_{t-1} + b_f)",
        r"\tilde{c}_t = \tanh(W_c x_t + U_c h_{t-1} + b_c)",
        r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t",
        r"o_t = \sigma(W_o x_t + U_o h_{t-1} + V_o \odot c_t + b_o)",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
}

# The words for these lines are the caption ``equations.readout``.
READOUT = [
    r"x_t = v_{t-1},\quad x_0 = 0,\qquad p_t = \sigma(W_y h_t + b_y) \in [0, 1]^{88}",
    r"\mathrm{NLL}_t = -\sum_{k=1}^{88} \big[v_{t,k} \log p_{t,k} + (1 - v_{t,k}) \log(1 - p_{t,k})\big]",
]


def equations(arch: str, variant: str) -> list[str]:
    """The LaTeX lines of one unit, e.g. ``equations("gru", "paper")``."""
    if arch == "tanh":
        return list(_TANH)
    return list({"gru": _GRU, "lstm": _LSTM}[arch][variant])


def note(arch: str, variant: str, lang: str = text.DEFAULT) -> str:
    """One sentence on what is special about this unit in this variant, in ``lang``
    (``equations.notes.<arch>.<variant>``; the tanh RNN has one note for both)."""
    key = "equations.notes.tanh" if arch == "tanh" else f"equations.notes.{arch}.{variant}"
    return text.get(lang, key)
