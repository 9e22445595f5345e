"""Names, colours and axis conventions shared by every GateLab figure.

The symbols here are the ones the equations use (``app/equations.py``), so a chart title
and the line of LaTeX it illustrates say the same thing. The words around them come from
``app/text/<lang>/figures.toml``: every builder takes ``lang`` ("en" or "ko").
"""
import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale, sample_colorscale

from app import text
from core.units import QUANTITIES, UNITS, display_name

# Okabe & Ito's colour-blind-safe palette: vermillion, blue, bluish green stay distinct under
# protanopia, deuteranopia and tritanopia (red/green pairs do not).
MODEL_COLORS = {key: unit.color for key, unit in UNITS.items()}  # core.units: tanh, GRU, LSTM
# The rest of Okabe & Ito for lines of units (its yellow left out: it vanishes on white).
LINE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000")

# name -> (symbol as in the equations, value range kind): "gate" in [0, 1], "state" in
# [-1, 1], "cell" unbounded (``core.units``). The words of each title are figures.panels.<name>.
PANELS = {name: (q.symbol, q.range) for name, q in QUANTITIES.items()}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
LOWEST_PITCH = 21  # MIDI pitch of key column 0 (A0)

# One colour scale per quantity, the same in every figure (docs/dashboard.md, "Colour").
# Gates in [0, 1]: sequential and colour-blind safe; dark = closed, yellow = open.
GATE_SCALE = {"colorscale": "Viridis", "cmin": 0, "cmax": 1}
# States that can be negative: diverging, white at 0, blue below, red above. The cell state c
# uses the same colours over a symmetric range read from the data (``cell_range``).
STATE_SCALE = {"colorscale": "RdBu", "reversescale": True, "cmid": 0, "cmin": -1, "cmax": 1}
# The piano roll: off = near white, on = near black; no colour bar (a note sounds or not).
ROLL_SCALE = {"colorscale": [[0, "#f7f7f7"], [1, "#222222"]], "cmin": 0, "cmax": 1,
              "showscale": False}
PROBABILITY_SCALE = {"colorscale": "Blues", "cmin": 0, "cmax": 1}     # p(key sounds): 0 white
NLL_SCALE = {"colorscale": "Magma", "reversescale": True, "cmin": 0}  # light = well predicted
TIME_SCALE = "Plasma"                                                 # markers by time step
# Which layout colour axis draws each kind of value (a figure declares only those it uses).
COLOR_AXES = {"gate": "coloraxis", "state": "coloraxis2", "roll": "coloraxis3", "cell": "coloraxis4"}
# The page around a chart may be dark (Streamlit's dark theme; charts are drawn with
# theme=None): each chart keeps its own light paper, so its colours read the same on any
# page and in its PNG download. These are plotly's own defaults, made explicit.
PAPER = {"paper_bgcolor": "#ffffff", "plot_bgcolor": "#E5ECF6", "font": {"color": "#2a3f5f"}}


def model_name(arch: str, lang: str = "en") -> str:
    """A model's name, e.g. ``gru`` -> "GRU" (``core.units``: the same in every language);
    an unknown one as it is."""
    return display_name(arch)


def panel_title(panel: str, lang: str = "en") -> str:
    """A panel's symbol and words, e.g. ``"z: update gate (share of the new candidate)"``."""
    return f"{PANELS[panel][0]}: {text.get(lang, 'figures.panels.' + panel)}"


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name, e.g. 60 -> "C4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def key_range(*rolls: np.ndarray, margin: int = 2) -> tuple[int, int]:
    """First and last key column (inclusive) worth showing: every sounding key of the
    rolls plus ``margin`` on each side; the whole keyboard when nothing sounds."""
    active = np.zeros(88, dtype=bool)
    for roll in rolls:
        if roll is not None and len(roll):
            active |= np.asarray(roll).reshape(-1, 88).any(axis=0)
    keys = np.flatnonzero(active)
    if keys.size == 0:
        return 0, 87
    return max(int(keys[0]) - margin, 0), min(int(keys[-1]) + margin, 87)


def pitch_axis(lo: int, hi: int) -> dict:
    """Y-axis settings for key columns lo..hi drawn as MIDI pitches, labelled at each C."""
    pitches = [p for p in range(LOWEST_PITCH + lo, LOWEST_PITCH + hi + 1) if p % 12 == 0]
    return {"tickvals": pitches, "ticktext": [pitch_name(p) for p in pitches]}


def cell_range(*values) -> float:
    """The half-width of the cell state's symmetric colour range: the largest |c| shown,
    rounded up to a tenth (so the colour bar's label is the range)."""
    top = max((float(np.nanmax(np.abs(v))) for v in values if np.size(v)), default=1.0)
    return max(math.ceil(top * 10 - 1e-9) / 10, 0.1) if math.isfinite(top) else 1.0


def scale_for(kind: str, cell_top: float = 1.0) -> dict:
    """The colour scale of a kind of value: "gate", "state", "cell" (symmetric, +-cell_top), "roll"."""
    scales = {"gate": GATE_SCALE, "state": STATE_SCALE, "roll": ROLL_SCALE,
              "cell": {**STATE_SCALE, "cmin": -cell_top, "cmax": cell_top}}
    return dict(scales[kind])


def scale_color(scale: dict, value: float) -> str:
    """The colour ``scale`` gives ``value`` (clipped to its range), for marks such as bars that
    take colours, not a colour axis."""
    name = scale["colorscale"] + ("_r" if scale.get("reversescale") else "")
    share = (value - scale["cmin"]) / (scale["cmax"] - scale["cmin"])
    return sample_colorscale(get_colorscale(name), [min(max(share, 0.0), 1.0)])[0]


def color_axes(lang: str = "en", kinds=("gate", "state", "roll"), cell_top: float = 1.0) -> dict:
    """Layout colour axes for the ``kinds`` of value a figure draws (see ``COLOR_AXES``), each
    colour bar naming its quantity and range, stacked down the right edge."""
    titles = {"gate": text.get(lang, "figures.colorbar.gate"),
              "state": text.get(lang, "figures.colorbar.state"),
              "cell": text.get(lang, "figures.colorbar.cell", top=f"{cell_top:g}")}
    shown = [k for k in COLOR_AXES if k in kinds and k != "roll"]
    axes = {COLOR_AXES[k]: scale_for(k, cell_top) for k in COLOR_AXES if k in kinds}
    for n, kind in enumerate(shown):
        axes[COLOR_AXES[kind]]["colorbar"] = colorbar(titles[kind], n, len(shown))
    return axes


def colorbar(title: str, n: int = 0, of: int = 1) -> dict:
    """The ``n``-th of ``of`` colour bars stacked down the right edge, its title along it."""
    return {"title": {"text": title, "side": "right"}, "thickness": 12,
            "len": 0.9 / of, "y": 1 - (n + 0.5) / of, "yanchor": "middle"}


def compact(values: np.ndarray) -> np.ndarray:
    """float32 for the browser: half the bytes of float64, far below what a chart shows."""
    return np.ascontiguousarray(values, dtype=np.float32)


def projector_style(fig):
    """A copy of ``fig`` for a projector: larger type, thicker lines and colour bars, bigger
    markers, a little more height."""
    fig = go.Figure(fig)
    fig.update_layout(font={"size": 18}, hoverlabel={"font": {"size": 18}})
    # Subplot titles; three columns of them share 1280 px, so they stay a little smaller.
    columns = {round(a.x, 2) for a in fig.layout.annotations or () if a.xref == "paper"}
    for annotation in fig.layout.annotations or ():
        annotation.font.size = 19 if len(columns) < 3 else 16
    if fig.layout.title.text:
        fig.layout.title.font.size = 21
    for name in fig.layout.to_plotly_json():
        if name.startswith("coloraxis") and fig.layout[name].colorbar is not None:
            fig.layout[name].colorbar.thickness = 20
            fig.layout[name].colorbar.title.font.size = 15   # beside its ticks, not over them
    for trace in fig.data:
        if trace.type == "scatter":
            if trace.line is not None:
                trace.line.width = max(3.0, 2 * (trace.line.width or 2))
            if trace.marker is not None and isinstance(trace.marker.size, (int, float)):
                trace.marker.size = 1.6 * trace.marker.size
    for shape in fig.layout.shapes or ():              # the time cursor, window outline
        if shape.line is not None and shape.line.width:
            shape.line.width = 2 * shape.line.width
    margin = fig.layout.margin   # room for the larger axis titles and tick labels
    fig.update_layout(margin={"l": max(margin.l or 0, 75), "b": max(margin.b or 0, 60)})
    if fig.layout.height:
        fig.layout.height = int(fig.layout.height * 1.15)
    return fig
