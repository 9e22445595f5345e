"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015): one dot per unit, at (fraction of steps
left-saturated, fraction right-saturated), one panel per gate, models side by side. A dot in
the bottom-left corner is a gate that acts softly; on the x axis, a gate mostly closed; on the
y axis, mostly open; on the diagonal x + y = 1, a gate that works as a switch."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app import text
from app.figures.common import MODEL_COLORS, PANELS, PAPER, compact, model_name


def panels(points: dict) -> list[tuple[str, str]]:
    """(arch, gate) of every panel, models in the order given, gates in their order."""
    return [(arch, gate) for arch, gates in points.items() for gate in gates]


def _trail(history: list[dict], arch: str, gate: str) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's past positions, oldest first, one unit after another (NaN between units)."""
    past = [h[arch][gate] for h in history if arch in h and gate in h[arch]]
    if not past:
        return np.array([]), np.array([])
    left = np.stack([p[0] for p in past])                          # (N, H)
    right = np.stack([p[1] for p in past])
    gap = np.full((1, left.shape[1]), np.nan)
    return np.vstack([left, gap]).T.ravel(), np.vstack([right, gap]).T.ravel()


def saturation_figure(points: dict, history: list[dict] | None = None, low: float = 0.1,
                      high: float = 0.9, height: int = 340, lang: str = "en") -> go.Figure:
    """The saturation scatter.

    Parameters
    ----------
    points : dict
        arch -> {gate: (left (H,), right (H,))}: fractions of steps with the gate < ``low``
        and > ``high`` (``core.insight.analysis.trace_saturation``). Models without gates are skipped.
    history : list of dict, optional
        Earlier ``points`` (oldest first): each unit's path, drawn as a faint line.
    lang : str
        Language of the titles ("en", "ko").
    """
    words = text.table(lang, "figures.saturation")
    points = {a: g for a, g in points.items() if g}
    cells = panels(points)
    if not cells:
        return go.Figure(layout={"height": 120, **PAPER, "title": {"text": words["no_gates"]}})
    titles = [f"{model_name(a, lang)} {PANELS[g][0]}" for a, g in cells]
    fig = make_subplots(rows=1, cols=len(cells), subplot_titles=titles, horizontal_spacing=0.03,
                        shared_yaxes=True)
    for col, (arch, gate) in enumerate(cells, start=1):
        left, right = points[arch][gate]
        color, name = MODEL_COLORS.get(arch), f"{model_name(arch, lang)} {PANELS[gate][0]}"
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", showlegend=False, hoverinfo="skip",
                                 line={"color": "#bbbbbb", "dash": "dot", "width": 1}), 1, col)
        tx, ty = _trail(history or [], arch, gate)
        if tx.size:
            fig.add_trace(go.Scatter(x=compact(tx), y=compact(ty), mode="lines",
                                     name=words["path"].format(name=name),
                                     showlegend=False, hoverinfo="skip", opacity=0.35,
                                     line={"color": color, "width": 1}), 1, col)
        units = np.arange(len(left))
        hover = (f"{name}, {words['unit']} %{{customdata}}"
                 f"<br>< {low:g}: {words['of_steps'].format(share='%{x:.0%}')}"
                 f"<br>> {high:g}: {words['of_steps'].format(share='%{y:.0%}')}")
        fig.add_trace(go.Scatter(
            x=compact(left), y=compact(right), mode="markers", name=name, customdata=units,
            marker={"color": color, "size": 8, "opacity": 0.8, "line": {"width": 0.5, "color": "white"}},
            hovertemplate=hover + "<extra></extra>"), 1, col)
        # One x title under the middle panel (as the y title by the first): five of them
        # side by side run into each other on a projector.
        fig.update_xaxes(range=[-0.03, 1.03], row=1, col=col,
                         title_text=words["x_axis"].format(low=f"{low:g}")
                         if col == (len(cells) + 1) // 2 else None)
    fig.update_yaxes(range=[-0.03, 1.03], title_text=words["y_axis"].format(high=f"{high:g}"),
                     row=1, col=1)
    fig.update_layout(height=height, showlegend=False, margin={"l": 60, "r": 10, "t": 40, "b": 45},
                      uirevision="saturation", **PAPER)
    return fig
