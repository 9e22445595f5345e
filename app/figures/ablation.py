"""The ablation study's chart: every run's test NLL, one column of dots per unit (the vanilla
LSTM first, its variants, the MGU, then the GRU and tanh RNN), each unit's mean as a bar across
its dots, and the vanilla LSTM's mean as a dashed line across all, so that a variant above the
line did worse without the part it lacks."""
import plotly.graph_objects as go

from app import text
from app.figures.common import MODEL_COLORS, PAPER, model_name


def ablation_figure(rows: list[dict], lang: str = "en", reference: str = "lstm") -> go.Figure:
    """``rows``: one per run (``core.training.ablation.load_rows``: arch, seed, test_nll)."""
    w = text.table(lang, "paper.ablation.chart")
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    names = {a: model_name(a, lang) for a in archs}
    fig = go.Figure()
    for arch in archs:
        mine = [r for r in rows if r["arch"] == arch]
        ys = [r["test_nll"] for r in mine]
        fig.add_trace(go.Scatter(
            x=[names[arch]] * len(ys), y=ys, mode="markers", name=names[arch], showlegend=False,
            marker={"color": MODEL_COLORS[arch], "size": 9, "opacity": 0.75, "line": {"width": 1, "color": "#333"}},
            customdata=[int(r["seed"]) for r in mine],
            hovertemplate=f"{names[arch]}<br>{w['seed']} %{{customdata}}<br>{w['y']} %{{y:.3f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[names[arch]], y=[sum(ys) / len(ys)], mode="markers", showlegend=False,
                                 marker={"symbol": "line-ew-open", "size": 28, "color": "#222",
                                         "line": {"width": 2}},
                                 hovertemplate=f"{names[arch]}<br>{w['mean']} %{{y:.3f}}<extra></extra>"))
    ref = [r["test_nll"] for r in rows if r["arch"] == reference]
    if ref:
        fig.add_hline(y=sum(ref) / len(ref), line={"dash": "dash", "color": MODEL_COLORS[reference], "width": 1},
                      annotation_text=w["reference"], annotation_position="top left")
    fig.update_layout(**PAPER, height=420, margin={"l": 60, "r": 20, "t": 40, "b": 60},
                      title={"text": w["title"], "font": {"size": 15}},
                      yaxis={"title": w["y"]}, xaxis={"title": "", "tickangle": -30})
    return fig
