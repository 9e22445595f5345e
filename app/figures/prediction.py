"""Prediction: each model's key probabilities with the true frames marked on top, and a
per-step NLL strip per model on the same time axis (where the strips differ, one unit
predicts the music better than another)."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import (
    LOWEST_PITCH,
    NLL_SCALE,
    PAPER,
    PROBABILITY_SCALE,
    colorbar,
    compact,
    key_range,
    model_name,
    pitch_axis,
)
from app.figures.gates import STEP_AXIS, hover
from app.figures.grid import Grid

# True notes: open squares in Okabe & Ito's vermillion, which stays visible on both the white
# (p = 0) and the dark blue (p = 1) end of the probability scale, in every colour vision.
TRUE_NOTE = {"symbol": "square-open", "size": 5, "color": "#D55E00"}


def prediction_figure(models: dict, roll: np.ndarray, start: int = 0,
                      row_height: int = 170, lang: str = "en") -> go.Figure:
    """Rows: one probability heatmap per model, then the NLL strips of all models.

    Parameters
    ----------
    models : dict of str to dict
        arch -> {"probs": np.ndarray, shape=(T, 88), "nll": np.ndarray, shape=(T,)}.
    roll : np.ndarray, shape=(T, 88)
        The true frames: step t predicts frame t.
    start : int
        Step number of the first row.
    lang : str
        Language of the titles ("en", "ko").
    """
    archs, roll = list(models), np.asarray(roll)
    lo, hi = key_range(roll)
    t = np.arange(start, start + len(roll))
    n, w = len(archs), hover(lang)
    grid = Grid(n + 1, 1, row_weights=[1] * n + [0.2 * n + 0.2], v_gap=0.25 / (n + 1), share_x=True)
    steps, keys = np.nonzero(roll[:, lo:hi + 1])
    pitches = np.arange(LOWEST_PITCH + lo, LOWEST_PITCH + hi + 1)
    traces = []
    for row, arch in enumerate(archs, start=1):
        name = model_name(arch, lang)
        grid.title(row, 1, text.get(lang, "figures.prediction.probs_title", model=name))
        traces.append({"type": "heatmap", "z": compact(np.asarray(models[arch]["probs"])[:, lo:hi + 1].T),
                       "x": t, "y": pitches, "coloraxis": "coloraxis", **grid.ref(row, 1),
                       "name": name, "meta": STEP_AXIS,
                       "hovertemplate": f"{w['step']} %{{x}}<br>{w['pitch']} %{{y}}<br>p = %{{z:.3f}}"
                                        f"<extra>{name}</extra>"})
        traces.append({"type": "scatter", "x": t[steps], "y": pitches[keys], "mode": "markers",
                       "showlegend": False, "name": w["true_notes"], **grid.ref(row, 1),
                       "marker": TRUE_NOTE, "meta": STEP_AXIS,
                       "hovertemplate": f"{w['step']} %{{x}}<br>{w['pitch']} %{{y}}"
                                        f"<extra>{w['true_note']}</extra>"})
        grid.y(row, 1, title={"text": text.get(lang, "figures.pitch")}, **pitch_axis(lo, hi))
    nll = np.stack([np.asarray(models[a]["nll"], np.float32) for a in archs]) if archs else np.zeros((0, len(t)))
    grid.title(n + 1, 1, text.get(lang, "figures.prediction.nll_title"))
    traces.append({"type": "heatmap", "z": compact(nll), "x": t, "y": [model_name(a, lang) for a in archs],
                   "coloraxis": "coloraxis2", **grid.ref(n + 1, 1), "meta": STEP_AXIS,
                   "hovertemplate": f"{w['step']} %{{x}}<br>%{{y}}<br>NLL %{{z:.3f}} {w['nats']}"
                                    "<extra></extra>"})
    grid.x(n + 1, 1, title={"text": text.get(lang, "figures.time_axis")})
    top = max(float(nll.max()) if nll.size else 1.0, 1e-6)
    probability = text.get(lang, "figures.colorbar.probability")
    nll_title = text.get(lang, "figures.colorbar.nll", top=f"{top:.2f}")
    layout = grid.layout(
        height=(row_height + 60) * n + 120, uirevision="prediction", showlegend=False, **PAPER,
        margin={"l": 70, "r": 10, "t": 30, "b": 40},
        coloraxis={**PROBABILITY_SCALE, "colorbar": {**colorbar(probability), "len": 0.5, "y": 0.75}},
        coloraxis2={**NLL_SCALE, "cmax": top,
                    "colorbar": {**colorbar(nll_title), "len": 0.25, "y": 0.1}})
    return go.Figure({"data": traces, "layout": layout})
