"""State trajectories: selected units of each model's state over time (LSTM: the cell c;
GRU and tanh: h), and the whole state's path through its first two principal components."""
import numpy as np
import plotly.graph_objects as go

from app.figures.common import MODEL_COLORS, TIME_TITLE, compact, model_name
from app.figures.grid import Grid

STATE_LABELS = {"c": "c (cell state)", "h": "h (hidden state)"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def states_figure(models: dict, units: dict, start: int = 0, row_height: int = 230) -> go.Figure:
    """One row per model: unit lines on the left, the PCA path on the right.

    Parameters
    ----------
    models : dict of str to dict
        arch -> {"state": np.ndarray, shape=(T, H), "state_name": "c" | "h",
        "pca": np.ndarray, shape=(T, 2), "pca_share": np.ndarray, shape=(2,)}.
    units : dict of str to sequence of int
        arch -> the units whose lines are drawn.
    start : int
        Step number of the first row.
    """
    archs = list(models)
    n = max(len(archs), 1)
    grid = Grid(n, 2, col_weights=[0.62, 0.38], v_gap=0.28 / n, h_gap=0.08)
    traces = []
    for row, arch in enumerate(archs, start=1):
        m, name = models[arch], model_name(arch)
        share = np.asarray(m["pca_share"], dtype=float) * 100
        chosen = [int(u) for u in units.get(arch, ())]
        grid.title(row, 1, f"{name} {STATE_LABELS[m['state_name']]}, units "
                   + ", ".join(map(str, chosen)))
        grid.title(row, 2, f"{name} {m['state_name']}: path in PC1 ({share[0]:.0f}% of variance)"
                   f" x PC2 ({share[1]:.0f}%)")
        traces += [{**t, **grid.ref(row, 1)} for t in unit_lines(m, chosen, start, name)]
        traces.append({**pca_path(m, start, arch, colorbar=row == 1), **grid.ref(row, 2)})
        if row == n:  # one time-axis title, under the last row (more would hit the titles)
            grid.x(row, 1, title={"text": TIME_TITLE})
        grid.y(row, 1, title={"text": m["state_name"]})
        grid.x(row, 2, title={"text": "PC1", "standoff": 2})
        grid.y(row, 2, title={"text": "PC2"})
    layout = grid.layout(height=row_height * n + 60, showlegend=False,
                         margin={"l": 55, "r": 10, "t": 30, "b": 40}, uirevision="states")
    return go.Figure({"data": traces, "layout": layout})


def unit_lines(m: dict, units: list[int], start: int, name: str) -> list[dict]:
    """One line per unit of the state (T, H) over steps."""
    state, sym = np.asarray(m["state"]), m["state_name"]
    t = np.arange(start, start + len(state))
    return [{"type": "scatter", "x": t, "y": compact(state[:, u]), "mode": "lines",
             "name": f"unit {u}", "line": {"width": 1.5, "color": PALETTE[k % len(PALETTE)]},
             "hovertemplate": f"step %{{x}}<br>unit {u}<br>{sym} = %{{y:.3f}}<extra>{name}</extra>"}
            for k, u in enumerate(units)]


def pca_path(m: dict, start: int, arch: str, colorbar: bool) -> dict:
    """The state's path over its first two principal components, markers coloured by step."""
    pca = np.asarray(m["pca"]).reshape(-1, 2)
    t = np.arange(start, start + len(pca))
    return {"type": "scatter", "x": compact(pca[:, 0]), "y": compact(pca[:, 1]),
            "mode": "lines+markers", "name": f"{model_name(arch)} path",
            "line": {"color": MODEL_COLORS.get(arch, "#888"), "width": 1},
            "marker": {"size": 5, "color": t, "colorscale": "Plasma", "showscale": colorbar,
                       "colorbar": {"title": {"text": "step"}, "thickness": 10, "len": 0.3, "y": 0.9}},
            "customdata": t,
            "hovertemplate": "step %{customdata}<br>PC1 %{x:.3f}<br>PC2 %{y:.3f}"
                             f"<extra>{model_name(arch)}</extra>"}
