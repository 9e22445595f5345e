"""State trajectories: selected units of each model's state over time (LSTM: the cell c;
GRU and tanh: h), and the whole state's path through its first two principal components."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import LINE_COLORS, MODEL_COLORS, PAPER, TIME_SCALE, colorbar, compact, model_name
from app.figures.gates import STEP_AXIS, hover
from app.figures.grid import Grid


def states_figure(models: dict, units: dict, start: int = 0, row_height: int = 230,
                  lang: str = "en") -> go.Figure:
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
    lang : str
        Language of the titles ("en", "ko").
    """
    archs = list(models)
    n = max(len(archs), 1)
    grid = Grid(n, 2, col_weights=[0.62, 0.38], v_gap=0.28 / n, h_gap=0.08)
    traces = []
    for row, arch in enumerate(archs, start=1):
        m, name = models[arch], model_name(arch, lang)
        share = np.asarray(m["pca_share"], dtype=float) * 100
        chosen = [int(u) for u in units.get(arch, ())]
        grid.title(row, 1, text.get(lang, "figures.states.units_title", model=name,
                                    state=m["state_name"],
                                    words=text.get(lang, "figures.panels." + m["state_name"]),
                                    units=", ".join(map(str, chosen))))
        grid.title(row, 2, text.get(lang, "figures.states.pca_title", model=name,
                                    state=m["state_name"], pc1=f"{share[0]:.0f}",
                                    pc2=f"{share[1]:.0f}"))
        traces += [{**t, **grid.ref(row, 1)} for t in unit_lines(m, chosen, start, name, lang)]
        traces.append({**pca_path(m, start, arch, row == 1, lang), **grid.ref(row, 2)})
        if row == n:  # one time-axis title, under the last row (more would hit the titles)
            grid.x(row, 1, title={"text": text.get(lang, "figures.time_axis")})
        grid.y(row, 1, title={"text": m["state_name"]})
        grid.x(row, 2, title={"text": "PC1", "standoff": 2})
        grid.y(row, 2, title={"text": "PC2"})
    layout = grid.layout(height=row_height * n + 60, showlegend=False, **PAPER,
                         margin={"l": 55, "r": 10, "t": 30, "b": 40}, uirevision="states")
    return go.Figure({"data": traces, "layout": layout})


def unit_lines(m: dict, units: list[int], start: int, name: str, lang: str = "en") -> list[dict]:
    """One line per unit of the state (T, H) over steps."""
    state, sym, w = np.asarray(m["state"]), m["state_name"], hover(lang)
    t = np.arange(start, start + len(state))
    return [{"type": "scatter", "x": t, "y": compact(state[:, u]), "mode": "lines",
             "name": f"{w['unit']} {u}", "meta": STEP_AXIS,
             "line": {"width": 1.5, "color": LINE_COLORS[k % len(LINE_COLORS)]},
             "hovertemplate": f"{w['step']} %{{x}}<br>{w['unit']} {u}<br>{sym} = %{{y:.3f}}"
                              f"<extra>{name}</extra>"}
            for k, u in enumerate(units)]


def pca_path(m: dict, start: int, arch: str, colorbar_shown: bool, lang: str = "en") -> dict:
    """The state's path over its first two principal components, markers coloured by step."""
    pca = np.asarray(m["pca"]).reshape(-1, 2)
    t = np.arange(start, start + len(pca))
    name, w = model_name(arch, lang), hover(lang)
    bar = {**colorbar(text.get(lang, "figures.colorbar.time")), "thickness": 10, "len": 0.3, "y": 0.9}
    bar["title"]["side"] = "top"  # a short bar: its title above it, not along it
    return {"type": "scatter", "x": compact(pca[:, 0]), "y": compact(pca[:, 1]),
            "mode": "lines+markers", "name": text.get(lang, "figures.states.path", model=name),
            "line": {"color": MODEL_COLORS.get(arch, "#888"), "width": 1},
            "marker": {"size": 5, "color": t, "colorscale": TIME_SCALE, "showscale": colorbar_shown,
                       "colorbar": bar},
            "customdata": t,
            "hovertemplate": f"{w['step']} %{{customdata}}<br>PC1 %{{x:.3f}}<br>PC2 %{{y:.3f}}"
                             f"<extra>{name}</extra>"}
