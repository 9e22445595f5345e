"""The loss chart: train and validation NLL of every model against updates or seconds
(the paper's Figure 2)."""
import numpy as np
import plotly.graph_objects as go

from app.figures.common import MODEL_COLORS, NLL_TITLE, compact, model_name

X_AXES = {"updates": (0, "updates"), "seconds": (1, "seconds of training (each model's own)")}


def loss_figure(history: dict, x: str = "updates", log_y: bool = False,
                height: int = 360) -> go.Figure:
    """Train and validation NLL per time step, one colour per model.

    Parameters
    ----------
    history : dict of str to dict
        arch -> {"train": np.ndarray, shape=(N, 3), "valid": np.ndarray, shape=(M, 3),
        "binned": bool}; columns are (updates, seconds, NLL). ``binned`` says the train
        rows are means over bins of consecutive updates.
    x : {"updates", "seconds"}
        The x axis.
    """
    column, x_title = X_AXES[x]
    traces = []
    for arch, h in history.items():
        color, name = MODEL_COLORS.get(arch), model_name(arch)
        train, valid = np.asarray(h["train"]).reshape(-1, 3), np.asarray(h["valid"]).reshape(-1, 3)
        label = f"{name} train" + (" (bin means)" if h.get("binned") else "")
        traces.append({"type": "scatter", "x": compact(train[:, column]), "y": compact(train[:, 2]),
                       "mode": "lines", "name": label, "legendgroup": arch, "opacity": 0.55,
                       "line": {"color": color, "width": 1},
                       "hovertemplate": f"{label}<br>{x} %{{x:.4g}}<br>NLL %{{y:.3f}}<extra></extra>"})
        traces.append({"type": "scatter", "x": compact(valid[:, column]), "y": compact(valid[:, 2]),
                       "mode": "lines", "name": f"{name} valid", "legendgroup": arch,
                       "line": {"color": color, "width": 2.5},
                       "hovertemplate": f"{name} valid<br>{x} %{{x:.4g}}<br>NLL %{{y:.3f}}<extra></extra>"})
    layout = {"height": height, "margin": {"l": 60, "r": 10, "t": 30, "b": 45},
              "legend": {"orientation": "h", "y": 1.12, "x": 0},
              "xaxis": {"title": {"text": x_title}},
              "yaxis": {"title": {"text": NLL_TITLE + (", log scale" if log_y else "")},
                        **({"type": "log"} if log_y else {})},
              "uirevision": f"{x}-{log_y}"}  # keep the user's zoom across refreshes
    return go.Figure({"data": traces, "layout": layout})
