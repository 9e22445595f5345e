"""The loss chart: train and validation NLL of every model against updates or seconds
(the paper's Figure 2).

Its y axis has two views (``Y_VIEWS``): "recent" fits the recent part of the curves
(``recent_range``), so the differences that matter after a minute (8.8 against 10.4 nats)
are not flattened by the first updates' ~60 nats, and says that the start is clipped;
"full" is the whole history (plotly's autorange)."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import MODEL_COLORS, PAPER, compact, model_name

X_COLUMNS = {"updates": 0, "seconds": 1}  # the x axis -> its column of the history
Y_VIEWS = ("recent", "full")  # the y axis: the recent part of the curves / the whole history
RECENT_SHARE = 2 / 3   # "recent": the last two thirds of each curve's own x range
MIN_POINTS = 20        # fewer points in the whole chart (the first seconds): the whole history
MIN_GAIN = 1.5         # zoom only when the whole history is at least this many times taller
MARGIN = 0.06          # of the zoomed span, below the lowest point
TOP_MARGIN = 0.14      # of the zoomed span, above the highest recent point (room for the note)


def recent_range(curves, log_y: bool = False, share: float = RECENT_SHARE,
                 min_points: int = MIN_POINTS, min_gain: float = MIN_GAIN) -> dict | None:
    """The y range that shows the recent part of learning curves, or None for the whole history.

    The range runs from the lowest point of any curve (nothing is clipped below) to the highest
    point in the last ``share`` of each curve's own x range (so a slower model's recent points
    count as much as a faster one's), plus a margin. Only the early, higher points fall above it.

    Parameters
    ----------
    curves : iterable of (x, y) array pairs
        One pair per line of the chart; non-finite points (and on a log axis, y <= 0) are left out.
    log_y : bool
        The axis is logarithmic: the range is in log10 units, as plotly takes it.

    Returns
    -------
    dict or None
        ``{"range": [lo, hi], "top": highest y of all}`` (``top`` in the data's units, above
        ``hi``), or None when the whole history is the better view: fewer than ``min_points``
        points, or zooming would not narrow the range by ``min_gain`` (nothing much is clipped).
    """
    every, recent = [], []
    for x, y in curves:
        x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        keep = np.isfinite(x) & np.isfinite(y) & ((y > 0) if log_y else True)
        x, y = x[keep], y[keep]
        if y.size == 0:
            continue
        every.append(y)
        recent.append(y[x >= x.min() + (1 - share) * (x.max() - x.min())])
    if sum(y.size for y in every) < min_points:
        return None
    every, recent = np.concatenate(every), np.concatenate(recent)
    scale = np.log10 if log_y else np.asarray
    lo, hi, top = (float(scale(v)) for v in (every.min(), recent.max(), every.max()))
    widen = max(0.05 * max(abs(hi), 1.0) - (hi - lo), 0.0) / 2  # flat curves: a visible band
    lo, hi = lo - widen, hi + widen
    if top - lo < min_gain * (hi - lo):
        return None
    span = hi - lo
    return {"range": [lo - MARGIN * span, hi + TOP_MARGIN * span], "top": float(every.max())}


def loss_figure(history: dict, x: str = "updates", log_y: bool = False,
                height: int = 360, lang: str = "en", y_view: str = "full") -> go.Figure:
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
    y_view : {"full", "recent"}
        "full": the whole history (autorange). "recent": the y range of ``recent_range`` (the
        whole history while there are few points), with a note at the top saying how high
        the clipped start goes.
    """
    if y_view not in Y_VIEWS:
        raise ValueError(f"y_view must be one of {Y_VIEWS}, not {y_view!r}")
    column, words = X_COLUMNS[x], text.table(lang, "figures.loss")
    x_word = words[f"x_{x}"]
    traces, curves = [], []
    for arch, h in history.items():
        color, name = MODEL_COLORS.get(arch), model_name(arch, lang)
        train, valid = np.asarray(h["train"]).reshape(-1, 3), np.asarray(h["valid"]).reshape(-1, 3)
        curves += [(train[:, column], train[:, 2]), (valid[:, column], valid[:, 2])]
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
    zoom = recent_range(curves, log_y) if y_view == "recent" else None
    yaxis = {"title": {"text": y_title}, **({"type": "log"} if log_y else {}),
             **({"range": zoom["range"], "autorange": False} if zoom else {"autorange": True})}
    layout = {"height": height, "margin": {"l": 60, "r": 10, "t": 30, "b": 45}, **PAPER,
              "legend": {"orientation": "h", "y": 1.12, "x": 0},
              "xaxis": {"title": {"text": words[f"axis_{x}"]}}, "yaxis": yaxis,
              "uirevision": f"{x}-{log_y}-{y_view}"}  # keep the user's zoom across refreshes
    if zoom:  # the clipped start is not hidden: the chart says how high it goes. Top right:
        # clear of the legend's second row (top left), above the recent points (TOP_MARGIN).
        layout["annotations"] = [{
            "text": words["clipped"].format(top=f"{zoom['top']:.3g}"), "showarrow": False,
            "xref": "paper", "yref": "paper", "x": 0.995, "y": 0.99, "xanchor": "right",
            "yanchor": "top", "align": "right", "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#2a3f5f", "borderwidth": 1, "borderpad": 3}]
    return go.Figure({"data": traces, "layout": layout})
