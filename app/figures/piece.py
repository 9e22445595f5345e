"""A whole piece at a glance: its piano roll, every model's per-step NLL over all of it (the
overview that stays visible while the detailed charts show a window), a time cursor drawn
onto any step-axis figure, and the values of every gate at the cursor for one unit."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import (
    COLOR_AXES,
    MODEL_COLORS,
    PANELS,
    PAPER,
    ROLL_SCALE,
    cell_range,
    compact,
    key_range,
    model_name,
    panel_title,
    pitch_axis,
    scale_color,
    scale_for,
)
from app.figures.gates import STEP_AXIS, hover, roll_trace, symbol
from app.figures.grid import Grid
from core.units import UNITS

WINDOW_COLOR = "rgba(255, 127, 14, 0.15)"
CURSOR_COLOR = "#ff7f0e"
# What the cursor panel lists for each unit: gates, candidate, cell, hidden state.
AT_CURSOR = {key: unit.names() for key, unit in UNITS.items()}


def piece_figure(roll: np.ndarray, start: int = 0, title: str = "", window=None,
                 boundary: int | None = None, height: int = 260, lang: str = "en") -> go.Figure:
    """The piano roll (T, 88) as pitch x step, step numbers from ``start``.

    ``window`` (first, last step) is shaded; ``boundary`` (a step) gets a dashed line, e.g.
    where a sampled continuation begins. ``title`` is the caller's, in ``lang``.
    """
    roll = np.asarray(roll)
    lo, hi = key_range(roll)
    layout = {"height": height, "margin": {"l": 55, "r": 10, "t": 30 if title else 10, "b": 40},
              "title": {"text": title, "font": {"size": 13}, "x": 0, "xanchor": "left"}, **PAPER,
              "xaxis": {"title": {"text": text.get(lang, "figures.step_axis")}},
              "yaxis": {"title": {"text": text.get(lang, "figures.pitch")}, **pitch_axis(lo, hi)},
              COLOR_AXES["roll"]: ROLL_SCALE, "shapes": _marks(window, boundary)}
    return go.Figure({"data": [roll_trace(roll, start, lo, hi, lang)], "layout": layout})


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
                        height: int = 220, lang: str = "en") -> go.Figure:
    """Every model's NLL at every step of the whole piece, the window shaded.

    Parameters
    ----------
    nll : dict of str to np.ndarray, shape=(T,)
        arch -> NLL per step (nats); step t predicts frame t.
    window : (int, int), optional
        First and last step of the window the detailed charts show.
    cursor : int, optional
        The step the cursor picks.
    lang : str
        Language of the titles ("en", "ko").
    """
    w = hover(lang)
    traces = []
    for arch, values in nll.items():
        values = np.asarray(values, dtype=np.float32)
        name = model_name(arch, lang)
        traces.append({"type": "scatter", "x": np.arange(len(values)), "y": compact(values),
                       "mode": "lines", "meta": STEP_AXIS,
                       "name": text.get(lang, "figures.piece.mean", model=name,
                                        mean=f"{values.mean():.2f}"),
                       "line": {"color": MODEL_COLORS.get(arch), "width": 1.2},
                       "hovertemplate": f"{w['step']} %{{x}}<br>NLL %{{y:.3f}} {w['nats']}"
                                        f"<extra>{name}</extra>"})
    shapes = _marks(window, None)
    if cursor is not None:
        shapes.append(_cursor_line("x", "y", cursor))
    layout = {"height": height, "margin": {"l": 55, "r": 10, "t": 30, "b": 40}, **PAPER,
              "legend": {"orientation": "h", "y": 1.18, "x": 0},
              "xaxis": {"title": {"text": text.get(lang, "figures.time_axis")}},
              "yaxis": {"title": {"text": text.get(lang, "figures.nll_axis")}},
              "shapes": shapes, "uirevision": "overview"}
    return go.Figure({"data": traces, "layout": layout})


def _cursor_line(xaxis: str, yaxis: str, step: int) -> dict:
    return {"type": "line", "xref": xaxis, "yref": f"{yaxis} domain", "x0": step, "x1": step,
            "y0": 0, "y1": 1, "line": {"color": CURSOR_COLOR, "width": 1.5, "dash": "dot"}}


def add_cursor(fig: go.Figure, step: int) -> go.Figure:
    """Draw a vertical line at ``step`` on every panel whose x axis is the step axis (traces
    whose ``meta`` says so, ``STEP_AXIS``: the convention of GateLab's builders)."""
    axes = []
    for t in fig.data:
        if getattr(t, "meta", None) == STEP_AXIS:
            pair = (t.xaxis or "x", t.yaxis or "y")
            if pair not in axes:
                axes.append(pair)
    fig.update_layout(shapes=list(fig.layout.shapes or ()) + [_cursor_line(x, y, step) for x, y in axes])
    return fig


def cursor_figure(values: dict, step: int, units: dict, height: int = 260,
                  lang: str = "en") -> go.Figure:
    """Bars: every gate and state of one unit per model at one step, each bar coloured by its
    value on its quantity's scale (gates: the gate scale; h, h̃, c̃: the state scale; c: the
    cell scale over the c values shown), the colours of the heatmaps.

    Parameters
    ----------
    values : dict of str to dict of str to float
        arch -> {name: value}, names from ``AT_CURSOR`` (e.g. ``"z"``, ``"h_tilde"``, ``"c"``).
    step : int
        The step shown (it has read frames 0..step-1).
    units : dict of str to int
        arch -> the unit shown.
    lang : str
        Language of the titles ("en", "ko").
    """
    archs, w = list(values), hover(lang)
    grid = Grid(1, max(len(archs), 1), h_gap=0.06)
    cell_top = cell_range([float(v["c"]) for v in values.values() if "c" in v])
    traces = []
    for col, arch in enumerate(archs, start=1):
        names = list(values[arch])
        ys = [float(values[arch][n]) for n in names]
        colors = [scale_color(scale_for(PANELS[n][1], cell_top), y) for n, y in zip(names, ys)]
        traces.append({"type": "bar", "x": [symbol(n) for n in names], "y": ys,
                       "text": [f"{y:.3f}" for y in ys], "textposition": "outside",
                       "marker": {"color": colors, "line": {"width": 1, "color": "#444444"}},
                       "name": model_name(arch, lang), **grid.ref(1, col),
                       "customdata": [panel_title(n, lang) for n in names],
                       "hovertemplate": f"%{{customdata}}<br>{w['value']} %{{y:.4f}}<extra></extra>"})
        grid.title(1, col, text.get(lang, "figures.piece.cursor_title", model=model_name(arch, lang),
                                    unit=units[arch], step=step))
        top = max([1.0] + [abs(y) for y in ys]) * 1.25
        grid.y(1, col, range=[-top, top],
               title={"text": text.get(lang, "figures.value") if col == 1 else ""})
    layout = grid.layout(height=height, showlegend=False, **PAPER,
                         margin={"l": 50, "r": 10, "t": 30, "b": 40})
    return go.Figure({"data": traces, "layout": layout})
