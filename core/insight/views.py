"""The window of a trace that the charts show: one definition for the Lab and the upload page.

A view of one model is steps ``start .. stop-1`` of what its charts draw: its bounded
quantities (gates and candidate, ``core.units.Unit.bounded``), ``h``, the state whose path the
charts draw (``Unit.state``: the LSTM's memory c, else h), the prediction and its NLL, that
state's first two principal components and its units ordered by variance. The Lab's worker
(``core.lab.Lab.views``) and the upload page (``app.upload.data.window_views``) both make it here,
so the two pages' charts read the same numbers. numpy only: the web server imports this
module without torch.
"""
import numpy as np

from core.units import unit

# What every view carries besides the unit's own quantities: (T, H), (T, 88) and (T,) arrays.
COMMON = ("h", "probs", "nll")


def window_bounds(n_steps: int, start: int, length: int, max_length: int) -> tuple[int, int]:
    """(start, stop) of a window of ``length`` steps (1 .. ``max_length``) from ``start``,
    kept inside a piece of ``n_steps``: start in 0 .. n_steps-1, stop at most n_steps."""
    start = min(max(int(start), 0), max(n_steps - 1, 0))
    return start, min(n_steps, start + min(max(int(length), 1), max_length))


def pca_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project states (T, H) on their first two principal components.

    Returns the projection (T, 2) and the share of variance of each component (2,). Signs
    are fixed (largest loading positive) so the path does not flip between refreshes.
    """
    x = np.asarray(states, dtype=np.float64)
    x = x - x.mean(axis=0)
    if len(x) < 2 or not np.any(x):
        return np.zeros((len(x), 2)), np.zeros(2)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:2]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    proj = np.zeros((len(x), 2))
    proj[:, :len(vt)] = x @ (vt * signs[:, None]).T
    share = np.zeros(2)
    share[:len(vt)] = (s[:2] ** 2) / max(float((s ** 2).sum()), 1e-30)
    return proj, share


def unit_order(states: np.ndarray) -> np.ndarray:
    """Unit indices (H,) of states (T, H) by their variance over the steps, largest first
    (ties in index order): the units whose lines the states chart draws first."""
    return np.argsort(-np.asarray(states).var(axis=0), kind="stable")


def window_view(arrays: dict, arch: str, units: int, start: int, stop: int) -> dict:
    """One model's view of steps ``start .. stop-1`` of its trace.

    Parameters
    ----------
    arrays : dict of str to np.ndarray
        A trace's arrays (``core.units.records.Trace.arrays``): ``h`` (T, H), ``probs`` (T, 88),
        ``nll`` (T,) and the unit's quantities (T, H); others (``target``) are left out.
    arch : str
        The unit (``core.units.UNITS``): it decides the gates sent and the state drawn.
    units : int
        Its hidden units H, passed on for the pages' unit choosers.
    start, stop : int
        The window, as a slice (L = stop - start steps).

    Returns
    -------
    dict
        ``{"units", "state_name" ("c" | "h"), "gates": {name: (L, H)} (gates and candidate;
        empty for the tanh RNN), "state" (L, H), "h" (L, H), "probs" (L, 88), "nll" (L,),
        "pca" (L, 2), "pca_share" (2,), "unit_order" (H,)}``, arrays float32 copies (the
        PCA float64).
    """
    u = unit(arch)
    window = {name: np.array(arrays[name][start:stop], dtype=np.float32)
              for name in (*u.bounded, u.state, *COMMON)}
    state = window[u.state]
    pca, share = pca_2d(state)
    return {"units": units, "state_name": u.state, "gates": {g: window[g] for g in u.bounded},
            "state": state, **{name: window[name] for name in COMMON}, "pca": pca,
            "pca_share": share, "unit_order": unit_order(state)}
