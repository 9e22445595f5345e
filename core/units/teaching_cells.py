"""One step of a unit with every intermediate number, for the teaching tools: the equation
stepper shows them, and the gate interventions run a whole piece with one gate clamped.

``cell_numbers`` computes, from a layer's own weights, the parts of every pre-activation
(``Wx_*`` = W x, ``Uh_*`` = U h_prev, ``b_*`` biases, ``Vc_*`` peepholes), the
pre-activations ``a_*``, the gates, the candidate and the new state, for both variants and for
the units taken apart (an LSTM variant's switches, read from its layer; the MGU). Names
follow ``core.insight.trace``: GRU ``r``, ``z``, ``h_tilde``, ``h``; LSTM ``i``, ``f``, ``g`` (the
candidate c~), ``o``, ``c``, ``h``; tanh ``h``. The GRU's ``z`` is the paper's (the share of the
NEW candidate) for both variants, so a clamp ``z = 0`` ("keep old") means the same thing for
PyTorch's GRU, whose own gate z' = 1 - z would be 1 there.

A :class:`Clamp` overrides one gate for all or some units *before* anything downstream reads
it, so a clamped forget gate really is the one the cell state is updated with.
"""
import torch

from core.units.models import RecurrentModel
from core.units.records import Clamp
from core.units.registry import LSTM_BLOCKS, LSTM_GATES, UNITS


def _blocks(rnn, n: int):
    """W (n blocks of H x D), U (H x H), and the two biases, split in PyTorch's row order."""
    return (rnn.weight_ih_l0.chunk(n), rnn.weight_hh_l0.chunk(n),
            rnn.bias_ih_l0.chunk(n), rnn.bias_hh_l0.chunk(n))


def _parts(x, h_prev, W, U, b) -> dict:
    # a = W x + U h_prev + b
    Wx, Uh = x @ W.T, h_prev @ U.T
    return {"Wx": Wx, "Uh": Uh, "b": b, "a": Wx + Uh + b}


def _named(parts: dict, name: str) -> dict:
    return {f"{k}_{name}": v for k, v in parts.items()}


def _held(clamp: Clamp | None, name: str, gate: torch.Tensor) -> torch.Tensor:
    """``gate`` (the one named ``name``) as ``clamp`` holds it; unchanged without a clamp."""
    return clamp.apply(name, gate) if clamp else gate


def _tanh_numbers(rnn, x, h_prev) -> dict:
    (W,), (U,), (b_i,), (b_h,) = _blocks(rnn, 1)
    n = _named(_parts(x, h_prev, W, U, b_i + b_h), "h")
    # h = tanh(W x + U h_prev + b)
    n["h"] = torch.tanh(n["a_h"])
    return n


def _gru_numbers(rnn, x, h_prev, paper: bool, clamp: Clamp | None) -> dict:
    (W_r, W_z, W_n), (U_r, U_z, U_n), (bi_r, bi_z, bi_n), (bh_r, bh_z, bh_n) = _blocks(rnn, 3)
    n = {**_named(_parts(x, h_prev, W_r, U_r, bi_r + bh_r), "r"),
         **_named(_parts(x, h_prev, W_z, U_z, bi_z + bh_z), "z")}
    # r = sigm(W_r x + U_r h_prev + b_r)
    r = n["r"] = _held(clamp, "r", torch.sigmoid(n["a_r"]))
    # z = sigm(W_z x + U_z h_prev + b_z)       (paper);  z = 1 - z' = 1 - sigm(...)   (torch)
    z = n["z"] = _held(clamp, "z", torch.sigmoid(n["a_z"]) if paper else 1 - torch.sigmoid(n["a_z"]))
    n["Wx_n"] = x @ W_n.T
    if paper:
        # h~ = tanh(W x + U (r * h_prev) + b)        -- reset before the product
        n["Uh_n"], n["b_n"] = (r * h_prev) @ U_n.T, bi_n + bh_n
        n["a_n"] = n["Wx_n"] + n["Uh_n"] + n["b_n"]
    else:
        # h~ = tanh(W x + b_W + r * (U h_prev + b_U))  -- reset after the product
        n["Uh_n"], n["b_n"], n["bU_n"] = h_prev @ U_n.T, bi_n, bh_n
        n["a_n"] = n["Wx_n"] + n["b_n"] + r * (n["Uh_n"] + n["bU_n"])
    h_tilde = n["h_tilde"] = torch.tanh(n["a_n"])
    # h = (1 - z) * h_prev + z * h~
    n["h"] = (1 - z) * h_prev + z * h_tilde
    return n


def _lstm_numbers(rnn, x, h_prev, c_prev, clamp: Clamp | None, g_prev=None) -> dict:
    """The LSTM's numbers, and its variants' (the layer's ``switches``): a gate the variant does
    not have is not among them; CIFG's i is 1 - f; a full gate recurrence adds ``Rg_*`` = R_* g_prev,
    g_prev the previous step's [i, f, o] (zeros if not given)."""
    switches = getattr(rnn, "switches", frozenset())
    blocks = getattr(rnn, "blocks", LSTM_BLOCKS)
    H = rnn.hidden_size
    W, U, b_ih, b_hh = _blocks(rnn, len(blocks))
    n = {}
    for name, W_, U_, b_i, b_h in zip(blocks, W, U, b_ih, b_hh):
        n.update(_named(_parts(x, h_prev, W_, U_, b_i + b_h), name))
    peeps = getattr(rnn, "peeps", LSTM_GATES if hasattr(rnn, "weight_peep_l0") else ())
    V = dict(zip(peeps, rnn.weight_peep_l0)) if peeps else {}
    V = {g: V.get(g, h_prev.new_zeros(H)) for g in LSTM_GATES if g in blocks}  # none: zeros (PyTorch's LSTM)
    if "fgr" in switches:
        g_prev = h_prev.new_zeros(*h_prev.shape[:-1], 3 * H) if g_prev is None else g_prev
        for name, part in zip(LSTM_GATES, (g_prev @ rnn.weight_gr_l0.T).chunk(3, dim=-1)):
            n[f"Rg_{name}"] = part
            n[f"a_{name}"] = n[f"a_{name}"] + part
    one = torch.ones_like(c_prev)
    if "f" in blocks:
        n["Vc_f"] = V["f"] * c_prev
        # f = sigm(W_f x + U_f h_prev + V_f c_prev + b_f)     (V = 0: PyTorch's LSTM)
        n["a_f"] = n["a_f"] + n["Vc_f"]
        f = n["f"] = _held(clamp, "f", torch.sigmoid(n["a_f"]))
    else:
        f = one                                               # NFG: f = 1
    if "i" in blocks:
        n["Vc_i"] = V["i"] * c_prev
        # i = sigm(W_i x + U_i h_prev + V_i c_prev + b_i)
        n["a_i"] = n["a_i"] + n["Vc_i"]
        i = n["i"] = _held(clamp, "i", torch.sigmoid(n["a_i"]))
    elif "cifg" in switches:
        i = n["i"] = _held(clamp, "i", 1 - f)                  # CIFG: i = 1 - f
    else:
        i = one                                               # NIG: i = 1
    # c~ = tanh(W_c x + U_c h_prev + b_c)                     (NIAF: no tanh)
    g = n["g"] = n["a_g"] if "niaf" in switches else torch.tanh(n["a_g"])
    # c = f * c_prev + i * c~
    c = n["c"] = f * c_prev + i * g
    if "o" in blocks:
        # o = sigm(W_o x + U_o h_prev + V_o c + b_o)          -- peeks at the NEW cell
        n["Vc_o"] = V["o"] * c
        n["a_o"] = n["a_o"] + n["Vc_o"]
        o = n["o"] = _held(clamp, "o", torch.sigmoid(n["a_o"]))
    else:
        o = one                                               # NOG: o = 1
    # h = o * tanh(c)                                          (NOAF: h = o * c)
    n["h"] = o * (c if "noaf" in switches else torch.tanh(c))
    return n


def _mgu_numbers(rnn, x, h_prev, clamp: Clamp | None) -> dict:
    (W_f, W_n), (U_f, U_n), (bi_f, bi_n), (bh_f, bh_n) = _blocks(rnn, 2)
    n = _named(_parts(x, h_prev, W_f, U_f, bi_f + bh_f), "f")
    # f = sigm(W_f x + U_f h_prev + b_f)
    f = n["f"] = _held(clamp, "f", torch.sigmoid(n["a_f"]))
    # h~ = tanh(W x + U (f * h_prev) + b)          -- f resets before the product
    n["Wx_n"], n["Uh_n"], n["b_n"] = x @ W_n.T, (f * h_prev) @ U_n.T, bi_n + bh_n
    n["a_n"] = n["Wx_n"] + n["Uh_n"] + n["b_n"]
    h_tilde = n["h_tilde"] = torch.tanh(n["a_n"])
    # h = (1 - f) * h_prev + f * h~                -- and mixes
    n["h"] = (1 - f) * h_prev + f * h_tilde
    return n


def layer_numbers(rnn, arch: str, variant: str, x: torch.Tensor, h_prev: torch.Tensor,
                  c_prev: torch.Tensor | None = None, clamp: Clamp | None = None,
                  g_prev: torch.Tensor | None = None) -> dict:
    """Every number of one step of a recurrent layer ``rnn`` (PyTorch's parameter names):
    x (..., 88), h_prev and c_prev (..., H) -> name -> (..., H). The leading dimensions may
    be time: given every step's previous states, one call computes a whole piece's gates
    (``core.insight.trace`` does). ``g_prev`` (..., 3H): the previous step's i, f, o, which an
    LSTM with a full gate recurrence (``lstm-fgr``) also reads."""
    family = UNITS[arch].base
    if family == "tanh":
        return _tanh_numbers(rnn, x, h_prev)
    if arch == "mgu":
        return _mgu_numbers(rnn, x, h_prev, clamp)
    if family == "gru":
        return _gru_numbers(rnn, x, h_prev, variant == "paper", clamp)
    return _lstm_numbers(rnn, x, h_prev, torch.zeros_like(h_prev) if c_prev is None else c_prev, clamp, g_prev)


def cell_numbers(model: RecurrentModel, x: torch.Tensor, h_prev: torch.Tensor,
                 c_prev: torch.Tensor | None = None, clamp: Clamp | None = None,
                 g_prev: torch.Tensor | None = None) -> dict:
    """``layer_numbers`` of a model's recurrent layer."""
    return layer_numbers(model.rnn, model.spec.arch, model.spec.variant, x, h_prev, c_prev, clamp, g_prev)


def step_through(rnn, arch: str, variant: str, x: torch.Tensor, clamp: Clamp | None = None,
                 gates: bool = False) -> dict:
    """Run a layer over inputs x (T, 88) one step at a time from zero states.

    Returns name -> (T, H): ``h``, ``c`` (zeros for units without a cell) and the clamped gate;
    with ``gates``, for a full gate recurrence also ``ifo`` (T, 3H), the gates the next step reads.
    """
    H = rnn.hidden_size
    h, c, g = x.new_zeros(H), x.new_zeros(H), x.new_zeros(3 * H)
    rows = {"h": [], "c": []} | ({clamp.gate: []} if clamp else {})
    fgr = "fgr" in getattr(rnn, "switches", ())
    if gates and fgr:
        rows["ifo"] = []
    for x_t in x:
        n = layer_numbers(rnn, arch, variant, x_t, h, c, clamp, g)
        h, c = n["h"], n.get("c", c)
        if fgr:  # a full gate recurrence: the next step reads these gates
            g = torch.cat([n["i"], n["f"], n["o"]])
        for name, values in rows.items():
            values.append(g if name == "ifo" else n[name] if name != "c" else c)
    return {name: torch.stack(values) for name, values in rows.items()}
