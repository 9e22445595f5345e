"""Prediction: each model's key probabilities with the true frames marked on top, and a
per-step NLL strip per model on the same time axis (where the strips differ, one unit
predicts the music better than another)."""
import numpy as np
import plotly.graph_objects as go

from app.figures.common import (LOWEST_PITCH, TIME_TITLE, compact, key_range, model_name,
                                pitch_axis)
from app.figures.grid import Grid


def prediction_figure(models: dict, roll: np.ndarray, start: int = 0,
                      row_height: int = 170) -> go.Figure:
    """Rows: one probability heatmap per model, then the NLL strips of all models.

    Parameters
    ----------
    models : dict of str to dict
        arch -> {"probs": np.ndarray, shape=(T, 88), "nll": np.ndarray, shape=(T,)}.
    roll : np.ndarray, shape=(T, 88)
        The true frames: step t predicts frame t.
    start : int
        Step number of the first row.
    """
    archs, roll = list(models), np.asarray(roll)
    lo, hi = key_range(roll)
    t = np.arange(start, start + len(roll))
    n = len(archs)
    grid = Grid(n + 1, 1, row_weights=[1] * n + [0.2 * n + 0.2], v_gap=0.25 / (n + 1), share_x=True)
    steps, keys = np.nonzero(roll[:, lo:hi + 1])
    pitches = np.arange(LOWEST_PITCH + lo, LOWEST_PITCH + hi + 1)
    traces = []
    for row, arch in enumerate(archs, start=1):
        name = model_name(arch)
        grid.title(row, 1, f"{name}: p(key sounds at step t); true notes as red squares")
        traces.append({"type": "heatmap", "z": compact(np.asarray(models[arch]["probs"])[:, lo:hi + 1].T),
                       "x": t, "y": pitches, "coloraxis": "coloraxis", **grid.ref(row, 1),
                       "hovertemplate": f"step %{{x}}<br>pitch %{{y}}<br>p = %{{z:.3f}}<extra>{name}</extra>"})
        traces.append({"type": "scatter", "x": t[steps], "y": pitches[keys], "mode": "markers",
                       "showlegend": False, "name": "true notes", **grid.ref(row, 1),
                       "marker": {"symbol": "square-open", "size": 5, "color": "#ff2d2d"},
                       "hovertemplate": "step %{x}<br>pitch %{y}<extra>true note</extra>"})
        grid.y(row, 1, title={"text": "pitch"}, **pitch_axis(lo, hi))
    nll = np.stack([np.asarray(models[a]["nll"], np.float32) for a in archs]) if archs else np.zeros((0, len(t)))
    grid.title(n + 1, 1, "NLL per step of each model (nats): lighter = better predicted")
    traces.append({"type": "heatmap", "z": compact(nll), "x": t, "y": [model_name(a) for a in archs],
                   "coloraxis": "coloraxis2", **grid.ref(n + 1, 1),
                   "hovertemplate": "step %{x}<br>%{y}<br>NLL %{z:.3f} nats<extra></extra>"})
    grid.x(n + 1, 1, title={"text": TIME_TITLE})
    top = float(nll.max()) if nll.size else 1.0
    layout = grid.layout(
        height=(row_height + 60) * n + 120, uirevision="prediction", showlegend=False,
        margin={"l": 70, "r": 10, "t": 30, "b": 40},
        coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": 1,
                   "colorbar": {"title": {"text": "p"}, "len": 0.5, "y": 0.75, "thickness": 12}},
        coloraxis2={"colorscale": "Magma", "reversescale": True, "cmin": 0, "cmax": max(top, 1e-6),
                    "colorbar": {"title": {"text": "NLL (nats)"}, "len": 0.25, "y": 0.1, "thickness": 12}})
    return go.Figure({"data": traces, "layout": layout})
