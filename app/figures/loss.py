"""The loss chart: train and validation NLL of every model against updates or seconds
(the paper's Figure 2)."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import MODEL_COLORS, PAPER, compact, model_name

X_COLUMNS = {"updates": 0, "seconds": 1}  # the x axis -> its column of the history


def loss_figure(history: dict, x: str = "updates", log_y: bool = False,
                height: int = 360, lang: str = "en") -> go.Figure:
    """Train and validation NLL per time step, one colour per model.

    Parameters
    ----------
    history : dict of str to dict
        arch -> {"train": np.ndarray, shape=(N, 3), "valid": np.ndarray, shape=(M, 3),
        "binned": bool}; columns are (updates, seconds, NLL). ``binned`` says the train
        rows are means over bins of consecutive updates.
    x : {"updates", "seconds"}
        The x axis.
    lang : str
        Language of the titles ("en", "ko").
    """
    column, words = X_COLUMNS[x], text.table(lang, "figures.loss")
    x_word = words[f"x_{x}"]
    traces = []
    for arch, h in history.items():
        color, name = MODEL_COLORS.get(arch), model_name(arch, lang)
        train, valid = np.asarray(h["train"]).reshape(-1, 3), np.asarray(h["valid"]).reshape(-1, 3)
        label = words["train_binned" if h.get("binned") else "train"].format(model=name)
        valid_label = words["valid"].format(model=name)
        traces.append({"type": "scatter", "x": compact(train[:, column]), "y": compact(train[:, 2]),
                       "mode": "lines", "name": label, "legendgroup": arch, "opacity": 0.55,
                       "line": {"color": color, "width": 1},
                       "hovertemplate": f"{label}<br>{x_word} %{{x:.4g}}<br>NLL %{{y:.3f}}<extra></extra>"})
        traces.append({"type": "scatter", "x": compact(valid[:, column]), "y": compact(valid[:, 2]),
                       "mode": "lines", "name": valid_label, "legendgroup": arch,
                       "line": {"color": color, "width": 2.5},
                       "hovertemplate": f"{valid_label}<br>{x_word} %{{x:.4g}}<br>NLL %{{y:.3f}}"
                                        "<extra></extra>"})
    y_title = text.get(lang, "figures.nll_axis") + (words["log_scale"] if log_y else "")
    layout = {"height": height, "margin": {"l": 60, "r": 10, "t": 30, "b": 45}, **PAPER,
              "legend": {"orientation": "h", "y": 1.12, "x": 0},
              "xaxis": {"title": {"text": words[f"axis_{x}"]}},
              "yaxis": {"title": {"text": y_title}, **({"type": "log"} if log_y else {})},
              "uirevision": f"{x}-{log_y}"}  # keep the user's zoom across refreshes
    return go.Figure({"data": traces, "layout": layout})
