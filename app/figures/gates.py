"""Gates side by side: one column per model, the piece's piano roll on top, then one heatmap
(time x unit) per gate. All panels share the time axis, so zooming one zooms all."""
import numpy as np
import plotly.graph_objects as go

from app.figures.common import (LOWEST_PITCH, PANELS, TIME_TITLE, color_axes, compact,
                                key_range, model_name, pitch_axis)
from app.figures.grid import Grid

GATE_PANELS = {"tanh": ("h",), "gru": ("z", "r"), "lstm": ("i", "f", "o")}
CANDIDATES = {"gru": "h_tilde", "lstm": "g"}
NO_GATES_NOTE = "tanh RNN has no gates: its hidden state h"


def panels_for(arch: str, candidate: bool = False) -> tuple[str, ...]:
    """The heatmaps drawn for ``arch``: its gates (tanh: its state), + the candidate."""
    extra = (CANDIDATES[arch],) if candidate and arch in CANDIDATES else ()
    return GATE_PANELS[arch] + extra


def symbol(panel: str) -> str:
    """The symbol of a panel as in the equations, e.g. ``"h_tilde"`` -> ``"h̃"``."""
    return PANELS[panel][0].split(":")[0]


def roll_trace(roll: np.ndarray, start: int, lo: int, hi: int) -> dict:
    """The piano roll (T, 88) as a heatmap of MIDI pitches lo..hi over steps."""
    return {"type": "heatmap", "z": np.ascontiguousarray(np.asarray(roll)[:, lo:hi + 1].T, np.uint8),
            "x": np.arange(start, start + len(roll)), "y": np.arange(LOWEST_PITCH + lo, LOWEST_PITCH + hi + 1),
            "coloraxis": "coloraxis3", "name": "notes",
            "hovertemplate": "step %{x}<br>pitch %{y}<br>on %{z}<extra>piano roll</extra>"}


def unit_trace(values: np.ndarray, start: int, panel: str, arch: str) -> dict:
    """One gate or state (T, H) as a heatmap: x = step, y = unit."""
    kind, sym, name = PANELS[panel][1], symbol(panel), model_name(arch)
    return {"type": "heatmap", "z": compact(np.asarray(values).T),
            "x": np.arange(start, start + len(values)), "y": np.arange(np.shape(values)[1]),
            "coloraxis": "coloraxis" if kind == "gate" else "coloraxis2", "name": f"{name} {sym}",
            "hovertemplate": f"step %{{x}}<br>unit %{{y}}<br>{sym} = %{{z:.3f}}<extra>{name}</extra>"}


def gates_figure(models: dict, roll: np.ndarray, start: int = 0, candidate: bool = False,
                 row_height: int = 150) -> go.Figure:
    """Columns of heatmaps, one per model.

    Parameters
    ----------
    models : dict of str to dict
        arch -> {panel name -> np.ndarray, shape=(T, H)}; panel names as in ``panels_for``.
    roll : np.ndarray, shape=(T, 88)
        The frames the steps predict (step t predicts frame t).
    start : int
        Step number of the first row (a window of a longer piece).
    candidate : bool
        Also draw each gated unit's candidate (GRU h̃, LSTM c̃).
    """
    archs = list(models)
    panels = {a: panels_for(a, candidate) for a in archs}
    n_rows = 1 + max((len(p) for p in panels.values()), default=0)
    grid = Grid(n_rows, max(len(archs), 1), row_weights=[1.1] + [1] * (n_rows - 1),
                v_gap=0.35 / n_rows, share_x=True)
    lo, hi = key_range(roll)
    traces = []
    for col, arch in enumerate(archs, start=1):
        traces.append({**roll_trace(roll, start, lo, hi), **grid.ref(1, col)})
        grid.title(1, col, f"{model_name(arch)}: the piece (notes)")
        grid.y(1, col, title={"text": "pitch" if col == 1 else ""}, **pitch_axis(lo, hi))
        for row, panel in enumerate(panels[arch], start=2):
            traces.append({**unit_trace(models[arch][panel], start, panel, arch), **grid.ref(row, col)})
            note = NO_GATES_NOTE if arch == "tanh" else f"{model_name(arch)} {PANELS[panel][0]}"
            grid.title(row, col, note)
            grid.y(row, col, title={"text": "unit" if col == 1 else ""})
        grid.x(1 + len(panels[arch]), col, title={"text": TIME_TITLE})
    layout = grid.layout(height=row_height * n_rows + 90, uirevision="gates",
                         margin={"l": 50, "r": 10, "t": 30, "b": 40}, **color_axes())
    return go.Figure({"data": traces, "layout": layout})
