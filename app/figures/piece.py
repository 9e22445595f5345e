"""A whole piece at a glance: its piano roll, every model's per-step NLL over all of it (the
overview that stays visible while the detailed charts show a window), a time cursor drawn
onto any step-axis figure, and the values of every gate at the cursor for one unit."""
import numpy as np
import plotly.graph_objects as go

from app.figures.common import (MODEL_COLORS, NLL_TITLE, PANELS, TIME_TITLE, compact, key_range,
                                model_name, pitch_axis)
from app.figures.gates import roll_trace, symbol
from app.figures.grid import Grid

WINDOW_COLOR = "rgba(255, 127, 14, 0.15)"
CURSOR_COLOR = "#ff7f0e"
# What the cursor panel lists for each unit: gates, candidate, cell, hidden state.
AT_CURSOR = {"tanh": ("h",), "gru": ("z", "r", "h_tilde", "h"), "lstm": ("i", "f", "o", "g", "c", "h")}


def piece_figure(roll: np.ndarray, start: int = 0, title: str = "", window=None,
                 boundary: int | None = None, height: int = 260) -> go.Figure:
    """The piano roll (T, 88) as pitch x step, step numbers from ``start``.

    ``window`` (first, last step) is shaded; ``boundary`` (a step) gets a dashed line, e.g.
    where a sampled continuation begins.
    """
    roll = np.asarray(roll)
    lo, hi = key_range(roll)
    layout = {"height": height, "margin": {"l": 55, "r": 10, "t": 30 if title else 10, "b": 40},
              "title": {"text": title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
              "xaxis": {"title": {"text": "step"}},
              "yaxis": {"title": {"text": "pitch"}, **pitch_axis(lo, hi)},
              "coloraxis3": {"colorscale": [[0, "#f7f7f7"], [1, "#222222"]], "cmin": 0, "cmax": 1,
                             "showscale": False},
              "shapes": _marks(window, boundary)}
    return go.Figure({"data": [roll_trace(roll, start, lo, hi)], "layout": layout})


def _marks(window, boundary) -> list[dict]:
    shapes = []
    if window is not None:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": window[0] - 0.5,
                       "x1": window[1] + 0.5, "y0": 0, "y1": 1, "fillcolor": WINDOW_COLOR,
                       "line": {"width": 1, "color": CURSOR_COLOR}, "layer": "above"})
    if boundary is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": boundary - 0.5,
                       "x1": boundary - 0.5, "y0": 0, "y1": 1,
                       "line": {"color": CURSOR_COLOR, "width": 2, "dash": "dash"}})
    return shapes


def nll_overview_figure(nll: dict, window=None, cursor: int | None = None,
                        height: int = 220) -> go.Figure:
    """Every model's NLL at every step of the whole piece, the window shaded.

    Parameters
    ----------
    nll : dict of str to np.ndarray, shape=(T,)
        arch -> NLL per step (nats); step t predicts frame t.
    window : (int, int), optional
        First and last step of the window the detailed charts show.
    cursor : int, optional
        The step the cursor picks.
    """
    traces = []
    for arch, values in nll.items():
        values = np.asarray(values, dtype=np.float32)
        name = model_name(arch)
        traces.append({"type": "scatter", "x": np.arange(len(values)), "y": compact(values),
                       "mode": "lines", "name": f"{name} (mean {values.mean():.2f} nats)",
                       "line": {"color": MODEL_COLORS.get(arch), "width": 1.2},
                       "hovertemplate": f"step %{{x}}<br>NLL %{{y:.3f}} nats<extra>{name}</extra>"})
    shapes = _marks(window, None)
    if cursor is not None:
        shapes.append(_cursor_line("x", "y", cursor))
    layout = {"height": height, "margin": {"l": 55, "r": 10, "t": 30, "b": 40},
              "legend": {"orientation": "h", "y": 1.18, "x": 0},
              "xaxis": {"title": {"text": TIME_TITLE}}, "yaxis": {"title": {"text": NLL_TITLE}},
              "shapes": shapes, "uirevision": "overview"}
    return go.Figure({"data": traces, "layout": layout})


def _cursor_line(xaxis: str, yaxis: str, step: int) -> dict:
    return {"type": "line", "xref": xaxis, "yref": f"{yaxis} domain", "x0": step, "x1": step,
            "y0": 0, "y1": 1, "line": {"color": CURSOR_COLOR, "width": 1.5, "dash": "dot"}}


def add_cursor(fig: go.Figure, step: int) -> go.Figure:
    """Draw a vertical line at ``step`` on every panel whose x axis is the step axis (traces
    whose hover starts with ``step %{x}``, the convention of GateLab's builders)."""
    axes = []
    for t in fig.data:
        if str(getattr(t, "hovertemplate", "") or "").startswith("step %{x}"):
            pair = (t.xaxis or "x", t.yaxis or "y")
            if pair not in axes:
                axes.append(pair)
    fig.update_layout(shapes=list(fig.layout.shapes or ()) + [_cursor_line(x, y, step) for x, y in axes])
    return fig


def cursor_figure(values: dict, step: int, units: dict, height: int = 260) -> go.Figure:
    """Bars: every gate and state of one unit per model at one step.

    Parameters
    ----------
    values : dict of str to dict of str to float
        arch -> {name: value}, names from ``AT_CURSOR`` (e.g. ``"z"``, ``"h_tilde"``, ``"c"``).
    step : int
        The step shown (it has read frames 0..step-1).
    units : dict of str to int
        arch -> the unit shown.
    """
    archs = list(values)
    grid = Grid(1, max(len(archs), 1), h_gap=0.06)
    traces = []
    for col, arch in enumerate(archs, start=1):
        names = list(values[arch])
        ys = [float(values[arch][n]) for n in names]
        colors = ["#1f77b4" if PANELS[n][1] == "gate" else "#9467bd" for n in names]
        traces.append({"type": "bar", "x": [symbol(n) for n in names], "y": ys,
                       "text": [f"{y:.3f}" for y in ys], "textposition": "outside",
                       "marker": {"color": colors}, "name": model_name(arch), **grid.ref(1, col),
                       "customdata": [PANELS[n][0] for n in names],
                       "hovertemplate": "%{customdata}<br>value %{y:.4f}<extra></extra>"})
        grid.title(1, col, f"{model_name(arch)}, unit {units[arch]}, step {step}")
        top = max([1.0] + [abs(y) for y in ys]) * 1.25
        grid.y(1, col, range=[-top, top], title={"text": "value" if col == 1 else ""})
    layout = grid.layout(height=height, showlegend=False, margin={"l": 50, "r": 10, "t": 30, "b": 40})
    return go.Figure({"data": traces, "layout": layout})
