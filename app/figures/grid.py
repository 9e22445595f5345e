"""A subplot grid as plain layout dicts.

``plotly.subplots.make_subplots`` plus ``add_trace(row=, col=)`` took 170-480 ms for a
12-panel figure here (validation of every update); the same figure assembled from dicts and
validated once takes ~20 ms. Live views rebuild their figures every refresh, so they use this.
"""
import numpy as np


def _spans(weights, gap: float, reverse: bool) -> list[tuple[float, float]]:
    """Domains for cells of relative sizes ``weights`` separated by ``gap`` (paper units)."""
    w = np.asarray(weights, dtype=float)
    free = max(1.0 - gap * (len(w) - 1), 0.05)
    ends = np.cumsum(w / w.sum() * free + gap) - gap
    spans = [(float(e - s), float(e)) for e, s in zip(ends, w / w.sum() * free)]
    spans = [(max(a, 0.0), min(b, 1.0)) for a, b in spans]
    return [(1 - b, 1 - a) for a, b in spans] if reverse else spans


class Grid:
    """Axes of an ``n_rows`` x ``n_cols`` grid (row 1 on top); ``ref(row, col)`` gives the
    trace's ``xaxis``/``yaxis`` ids and ``layout()`` the axes and title annotations."""

    def __init__(self, n_rows: int, n_cols: int, row_weights=None, col_weights=None,
                 v_gap: float = 0.06, h_gap: float = 0.05, share_x: bool = False):
        self.n_rows, self.n_cols, self.share_x = n_rows, n_cols, share_x
        self.rows = _spans(row_weights or [1] * n_rows, v_gap, reverse=True)
        self.cols = _spans(col_weights or [1] * n_cols, h_gap, reverse=False)
        self.titles: dict[tuple[int, int], str] = {}
        self.axes: dict[str, dict] = {}

    def _k(self, row: int, col: int) -> str:
        k = (row - 1) * self.n_cols + col
        return "" if k == 1 else str(k)

    def ref(self, row: int, col: int) -> dict:
        k = self._k(row, col)
        return {"xaxis": f"x{k}", "yaxis": f"y{k}"}

    def x(self, row: int, col: int, **props) -> None:
        self.axes.setdefault(f"xaxis{self._k(row, col)}", {}).update(props)

    def y(self, row: int, col: int, **props) -> None:
        self.axes.setdefault(f"yaxis{self._k(row, col)}", {}).update(props)

    def title(self, row: int, col: int, text: str) -> None:
        self.titles[(row, col)] = text

    def layout(self, **extra) -> dict:
        layout = {}
        for r, (y0, y1) in enumerate(self.rows, start=1):
            for c, (x0, x1) in enumerate(self.cols, start=1):
                k = self._k(r, c)
                layout[f"xaxis{k}"] = {"domain": [x0, x1], "anchor": f"y{k}",
                                       **({"matches": "x"} if self.share_x and k else {}),
                                       **self.axes.get(f"xaxis{k}", {})}
                layout[f"yaxis{k}"] = {"domain": [y0, y1], "anchor": f"x{k}",
                                       **self.axes.get(f"yaxis{k}", {})}
        notes = [{"text": text, "x": (self.cols[c - 1][0] + self.cols[c - 1][1]) / 2,
                  "y": self.rows[r - 1][1], "xref": "paper", "yref": "paper", "showarrow": False,
                  "xanchor": "center", "yanchor": "bottom", "font": {"size": 12}}
                 for (r, c), text in self.titles.items() if text]
        return {**layout, "annotations": notes, **extra}
