"""What each unit costs: multiply-adds per time step from its shapes (with the formula), and
the seconds of training a run needed to reach a validation NLL. No torch: the web server and
the worker both use it. (The measured times come from the runs: ``Trainer.seconds`` per
update, the Lab's own trace timings.)

Multiply-adds per time step of one sequence: for each of the unit's G weight blocks, W x
(H x 88) and U h (H x H); each peephole (the paper's LSTM has 3) adds H; each gate that reads
the previous step's three gates (LSTM-FGR) adds 3·H x H; the read-out adds
88 x H. The gates' elementwise products and the nonlinearities are left out (O(H) each,
against O(H^2) for the products).
"""
from core.units.registry import UNITS
from core.units.spec import N_KEYS, count_parameters


def multiply_adds(arch: str, units: int, variant: str = "torch", keys: int = N_KEYS) -> int:
    """Multiply-adds of one time step of one sequence (see the module's docstring): every
    weight is used once per step, so the parameters less the biases (two per block and unit,
    and the read-out's)."""
    biases = 2 * UNITS[arch].blocks * units + keys
    return count_parameters(arch, units, variant, keys) - biases


def formula(arch: str, variant: str = "torch") -> str:
    """``multiply_adds`` written out, e.g. "3·H·(88 + H) + 88·H" for the GRU."""
    u = UNITS[arch]
    peepholes = u.peepholes(variant)  # from its equations (``core.units.registry``)
    recurrence = u.gate_recurrence(variant)
    return (f"{u.blocks}·H·({N_KEYS} + H)" + (f" + {peepholes}·H" if peepholes else "")
            + (f" + {3 * recurrence}·H·H" if recurrence else "") + f" + {N_KEYS}·H")


def seconds_to_reach(rows, target: float) -> float | None:
    """Seconds of training at the first evaluation whose NLL is at or below ``target``.

    Parameters
    ----------
    rows : sequence of (updates, seconds, nll, ...) per evaluation, in order
    """
    for row in rows:
        if row[2] <= target:
            return float(row[1])
    return None
