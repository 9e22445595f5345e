"""Gate interventions: NLL per step of a model as trained and with one gate clamped, and the
change, step by step. Where the clamped line rises, the model needed that gate."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app import text
from app.figures.common import MODEL_COLORS, PAPER, compact, model_name

# The change's sign in the ends of the state scale's RdBu: red = worse with the clamp (NLL
# up), blue = better; a colour-blind-safe pair, and the bar's direction says it as well.
WORSE, BETTER = "#B2182B", "#2166AC"


def intervention_figure(arch: str, base: np.ndarray, clamped: np.ndarray, label: str,
                        height: int = 420, lang: str = "en") -> go.Figure:
    """Top: NLL per step, unclamped (solid) and clamped (dashed); bottom: clamped - unclamped.

    Parameters
    ----------
    base, clamped : np.ndarray, shape=(T,)
        NLL per step (``core.insight.interventions.intervention``).
    label : str
        What was clamped, e.g. "f = 1 for all units" (in ``lang``: the caller's words).
    lang : str
        Language of the titles ("en", "ko").
    """
    base, clamped = np.asarray(base, float), np.asarray(clamped, float)
    steps = np.arange(len(base))
    change = clamped - base
    color, name = MODEL_COLORS.get(arch), model_name(arch, lang)
    words = text.table(lang, "figures.intervention")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=steps, y=compact(base), name=words["as_trained"].format(model=name),
                             mode="lines", line={"color": color, "width": 2}), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=compact(clamped), mode="lines",
                             name=words["clamped"].format(model=name, label=label),
                             line={"color": "#444444", "width": 1.5, "dash": "dash"}), 1, 1)
    fig.add_trace(go.Bar(x=steps, y=compact(change), name=words["change"],
                         marker={"color": np.where(change > 0, WORSE, BETTER)}), 2, 1)
    mean = float(change.mean()) if len(change) else float("nan")
    # The title on top, the legend in its own line between it and the chart.
    fig.update_layout(height=height, margin={"l": 60, "r": 10, "t": 80, "b": 45}, **PAPER,
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, bargap=0,
                      title={"text": words["title"].format(model=name, label=label, mean=f"{mean:+.3f}"),
                             "font": {"size": 14}, "y": 0.98, "yanchor": "top"})
    fig.update_yaxes(title_text=text.get(lang, "figures.nll_axis"), row=1, col=1)
    fig.update_yaxes(title_text=words["change_axis"], row=2, col=1)
    fig.update_xaxes(title_text=text.get(lang, "figures.time_axis"), row=2, col=1)
    return fig
