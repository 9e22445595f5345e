"""The class board's chart: every student's validation NLL against updates, one colour per unit,
one line per student, and a marker where each student is now."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import MODEL_COLORS, PAPER, compact, model_name
from app.figures.loss import recent_range


def board_figure(curves: dict, lang: str = "en", height: int = 420) -> go.Figure:
    """Validation curves of a class.

    Parameters
    ----------
    curves : dict of str to list of (str, np.ndarray, np.ndarray)
        unit key -> one ``(student, updates, nll)`` per student training that unit; ``updates``
        and ``nll`` have shape (N,), N >= 0.

    Returns
    -------
    go.Figure
        Two traces per unit, in its colour: its students' lines, one trace broken by a NaN
        between students (a class of 30 is 3 traces, not 90: quick to build and to send every
        refresh), and each student's last point as a marker. Hovering names the student. The y
        axis fits the recent part of the curves, as the Lab's loss chart does (``recent_range``),
        and says how high the clipped start goes.
    """
    words = text.table(lang, "figures.board")
    traces, every = [], []
    for arch, lines in curves.items():
        lines = [(name, np.asarray(x, float), np.asarray(y, float)) for name, x, y in lines if len(x)]
        if not lines:
            continue
        every += [(lx, ly) for _, lx, ly in lines]
        color, unit = MODEL_COLORS.get(arch), model_name(arch, lang)
        hover = f"%{{text}}<br>{words['updates']} %{{x:,.0f}}<br>NLL %{{y:.3f}}<extra>{unit}</extra>"
        gap = np.array([np.nan])
        x = np.concatenate([part for _, lx, _ in lines for part in (lx, gap)])
        y = np.concatenate([part for _, _, ly in lines for part in (ly, gap)])
        # names as an object array: plotly checks it at once, not string by string (3x quicker)
        names = np.array([n for name, lx, _ in lines for n in [name] * len(lx) + [""]], dtype=object)
        traces.append({"type": "scatter", "mode": "lines", "x": compact(x), "y": compact(y),
                       "text": names, "name": unit, "legendgroup": arch, "connectgaps": False,
                       "line": {"color": color, "width": 2}, "hovertemplate": hover})
        traces.append({"type": "scatter", "mode": "markers", "showlegend": False, "legendgroup": arch,
                       "x": compact([lx[-1] for _, lx, _ in lines]),
                       "y": compact([ly[-1] for _, _, ly in lines]),
                       "text": np.array([n for n, _, _ in lines], dtype=object),
                       "marker": {"color": color, "size": 8}, "hovertemplate": hover})
    zoom = recent_range(every)
    yaxis = {"title": {"text": text.get(lang, "figures.nll_axis")},
             **({"range": zoom["range"], "autorange": False} if zoom else {"autorange": True})}
    layout = {"height": height, "margin": {"l": 60, "r": 10, "t": 30, "b": 45}, **PAPER,
              "legend": {"orientation": "h", "y": 1.1, "x": 0},
              "xaxis": {"title": {"text": words["updates"]}, "rangemode": "tozero"}, "yaxis": yaxis,
              "uirevision": "board"}  # the teacher's zoom stays across refreshes
    if zoom:
        layout["annotations"] = [{
            "text": text.get(lang, "figures.loss.clipped", top=f"{zoom['top']:.3g}"), "showarrow": False,
            "xref": "paper", "yref": "paper", "x": 0.995, "y": 0.99, "xanchor": "right", "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#2a3f5f", "borderwidth": 1}]
    return go.Figure({"data": traces, "layout": layout})
