"""The equation stepper's text: one unit's equations in LaTeX with the actual numbers of one
step substituted (``core.insight.interventions.step_numbers``). Pure: numbers in, strings out.

Each line reads: the equation in symbols = the same with numbers = the pre-activation = the
value. ``W x`` is the unit's row of W times the input frame, ``U h`` its row of U times the
previous state (for the paper's GRU candidate: times r ⊙ h_{t-1}), b the sum of its biases.
"""
import numpy as np

from app.figures.common import LOWEST_PITCH, pitch_name


def _f(v: float) -> str:
    return f"{v:.3f}".replace("-", "{-}")


def _sum(*values: float) -> str:
    """"0.120 + (-0.300) + 0.050" as LaTeX: negatives in parentheses."""
    return " + ".join(_f(v) if v >= 0 else f"({_f(v)})" for v in values)


def input_keys(x: np.ndarray) -> list[str]:
    """Names of the keys sounding in the input frame x (88,), e.g. ["C4", "E4"]."""
    return [pitch_name(LOWEST_PITCH + int(k)) for k in np.flatnonzero(np.asarray(x) > 0.5)]


def _gate(symbol: str, name: str, n: dict, u: int, peep: bool = False, one_minus: bool = False) -> str:
    parts = [n[f"Wx_{name}"][u], n[f"Uh_{name}"][u]]
    eq = fr"W_{name} x_t + U_{name} h_{{t-1}}"
    if peep:
        parts.append(n[f"Vc_{name}"][u])
        eq += fr" + V_{name} \odot c_{{{'t' if name == 'o' else 't-1'}}}"
    parts.append(n[f"b_{name}"][u])
    pre = r"1 - \sigma" if one_minus else r"\sigma"
    return (fr"{symbol} = {pre}({eq} + b_{name}) = {pre}({_sum(*parts)}) = {pre}({_f(n[f'a_{name}'][u])})"
            fr" = {_f(n[name][u])}")


def _tanh(variant: str, n: dict, u: int) -> list[str]:
    return [fr"h_t = \tanh(W x_t + U h_{{t-1}} + b) = "
            fr"\tanh({_sum(n['Wx_h'][u], n['Uh_h'][u], n['b_h'][u])}) = "
            fr"\tanh({_f(n['a_h'][u])}) = {_f(n['h'][u])}"]


def _gru(variant: str, n: dict, u: int) -> list[str]:
    z, h_prev, h_tilde = n["z"][u], n["h_prev"][u], n["h_tilde"][u]
    if variant == "torch":
        cand = (fr"\tilde{{h}}_t = \tanh\big(W x_t + b_W + r_t (U h_{{t-1}} + b_U)\big) = "
                fr"\tanh\big({_sum(n['Wx_n'][u], n['b_n'][u])} + {_f(n['r'][u])} \times "
                fr"({_sum(n['Uh_n'][u], n['bU_n'][u])})\big)")
    else:
        cand = (fr"\tilde{{h}}_t = \tanh\big(W x_t + U (r_t \odot h_{{t-1}}) + b\big) = "
                fr"\tanh({_sum(n['Wx_n'][u], n['Uh_n'][u], n['b_n'][u])})")
    return [_gate("r_t", "r", n, u), _gate("z_t", "z", n, u, one_minus=variant == "torch"),
            cand + fr" = \tanh({_f(n['a_n'][u])}) = {_f(h_tilde)}",
            fr"h_t = (1 - z_t)\, h_{{t-1}} + z_t\, \tilde{{h}}_t = (1 - {_f(z)}) \times {_sum(h_prev)}"
            fr" + {_f(z)} \times {_sum(h_tilde)} = {_f(n['h'][u])}"]


def _lstm(variant: str, n: dict, u: int) -> list[str]:
    peep = variant == "paper"
    f, i, g, c, o = (n[k][u] for k in ("f", "i", "g", "c", "o"))
    cell = [fr"\tilde{{c}}_t = \tanh(W_g x_t + U_g h_{{t-1}} + b_g) = "
            fr"\tanh({_sum(n['Wx_g'][u], n['Uh_g'][u], n['b_g'][u])}) = {_f(g)}",
            fr"c_t = f_t\, c_{{t-1}} + i_t\, \tilde{{c}}_t = {_f(f)} \times {_sum(n['c_prev'][u])} + "
            fr"{_f(i)} \times {_sum(g)} = {_f(c)}"]
    out = [_gate("o_t", "o", n, u, peep),
           fr"h_t = o_t \tanh(c_t) = {_f(o)} \times \tanh({_f(c)}) = {_f(n['h'][u])}"]
    return [_gate("i_t", "i", n, u, peep), _gate("f_t", "f", n, u, peep), *cell, *out]


def stepper_lines(arch: str, variant: str, numbers: dict, unit: int) -> list[str]:
    """LaTeX lines of unit ``unit``'s equations with the step's numbers substituted.

    Parameters
    ----------
    numbers : dict of str to np.ndarray, shape=(H,)
        ``core.insight.interventions.step_numbers`` of one step.
    """
    return LINES[arch](variant, numbers, int(unit))


# Each unit's lines, written by hand (docs/architecture.md, "Adding a unit").
LINES = {"tanh": _tanh, "gru": _gru, "lstm": _lstm}
