"""Gate interventions: NLL per step of a model as trained and with one gate clamped, and the
change, step by step. Where the clamped line rises, the model needed that gate."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.common import MODEL_COLORS, NLL_TITLE, TIME_TITLE, compact, model_name


def intervention_figure(arch: str, base: np.ndarray, clamped: np.ndarray, label: str,
                        height: int = 420) -> go.Figure:
    """Top: NLL per step, unclamped (solid) and clamped (dashed); bottom: clamped - unclamped.

    Parameters
    ----------
    base, clamped : np.ndarray, shape=(T,)
        NLL per step (``core.teaching_cells.intervention``).
    label : str
        What was clamped, e.g. "f = 1 for all units".
    """
    base, clamped = np.asarray(base, float), np.asarray(clamped, float)
    steps = np.arange(len(base))
    change = clamped - base
    color, name = MODEL_COLORS.get(arch), model_name(arch)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=steps, y=compact(base), name=f"{name} as trained", mode="lines",
                             line={"color": color, "width": 2}), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=compact(clamped), name=f"{name} with {label}", mode="lines",
                             line={"color": "#444444", "width": 1.5, "dash": "dash"}), 1, 1)
    fig.add_trace(go.Bar(x=steps, y=compact(change), name="change (clamped − as trained)",
                         marker={"color": np.where(change > 0, "#d62728", "#2ca02c")}), 2, 1)
    mean = float(change.mean()) if len(change) else float("nan")
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 50, "b": 45},
                      legend={"orientation": "h", "y": 1.14, "x": 0}, bargap=0,
                      title={"text": f"{name}, {label}: mean NLL change {mean:+.3f} nats per step",
                             "font": {"size": 14}})
    fig.update_yaxes(title_text=NLL_TITLE, row=1, col=1)
    fig.update_yaxes(title_text="change (nats)", row=2, col=1)
    fig.update_xaxes(title_text=TIME_TITLE, row=2, col=1)
    return fig
