"""Memory length (Madsen, Distill 2019): how strongly the output at step t depends on the
input k steps back, ||d y_t / d x_{t-k}||, one line per model on a log scale. A straight
falling line is the tanh RNN's vanishing gradient; a flat one, a unit that remembers."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import MODEL_COLORS, PAPER, compact, model_name

FLOOR = 1e-12  # zero gradients (an exactly saturated unit) are drawn here, not dropped by log


def memory_figure(at_t: dict, average: dict | None = None, t: int | None = None,
                  height: int = 380, lang: str = "en") -> go.Figure:
    """Gradient norm against k.

    Parameters
    ----------
    at_t : dict of str to np.ndarray, shape=(K+1,)
        arch -> norms at the chosen step t (``core.insight.analysis.memory_gradients``); NaN = k > t.
    average : dict of str to np.ndarray, shape=(K+1,), optional
        arch -> the same averaged over many steps (``core.insight.analysis.memory_curve``), dashed.
    lang : str
        Language of the titles ("en", "ko").
    """
    words = text.table(lang, "figures.memory")
    traces = []
    for arch, norms in at_t.items():
        k = np.arange(len(norms))
        traces.append({"type": "scatter", "x": k, "y": compact(np.maximum(norms, FLOOR)),
                       "mode": "lines+markers", "legendgroup": arch,
                       "name": words["at_step"].format(model=model_name(arch, lang), t=t),
                       "line": {"color": MODEL_COLORS.get(arch), "width": 2.5},
                       "hovertemplate": "k = %{x}<br>‖dy/dx‖ %{y:.3g}<extra></extra>"})
    for arch, norms in (average or {}).items():
        traces.append({"type": "scatter", "x": np.arange(len(norms)),
                       "y": compact(np.maximum(norms, FLOOR)), "mode": "lines",
                       "name": words["average"].format(model=model_name(arch, lang)),
                       "legendgroup": arch,
                       "line": {"color": MODEL_COLORS.get(arch), "width": 1.5, "dash": "dash"},
                       "hovertemplate": f"k = %{{x}}<br>{words['mean']} ‖dy/dx‖ %{{y:.3g}}"
                                        "<extra></extra>"})
    layout = {"height": height, "margin": {"l": 70, "r": 10, "t": 30, "b": 45}, **PAPER,
              "legend": {"orientation": "h", "y": 1.12, "x": 0},
              "xaxis": {"title": {"text": words["x_axis"]}},
              "yaxis": {"type": "log", "title": {"text": "‖d y_t / d x_(t−k)‖ " + words["log_scale"]},
                        "exponentformat": "power"},
              "uirevision": "memory"}
    return go.Figure({"data": traces, "layout": layout})
