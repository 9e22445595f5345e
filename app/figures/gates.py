"""Gates side by side: one column per model, the piece's piano roll on top, then one heatmap
(time x unit) per gate. All panels share the time axis, so zooming one zooms all."""
import numpy as np
import plotly.graph_objects as go

from app import text
from app.figures.common import (
    COLOR_AXES,
    LOWEST_PITCH,
    PANELS,
    PAPER,
    cell_range,
    color_axes,
    compact,
    key_range,
    model_name,
    panel_title,
    pitch_axis,
)
from app.figures.grid import Grid
from core.units import UNITS

STEP_AXIS = {"x": "step"}  # trace meta: its x axis is the time step (``add_cursor`` finds it)
REMOVED_FILL = "#f2f2f2"  # a removed gate's empty cell: paler than any colour scale's end
# More columns than this (the Lab trains up to six): titles are the model and the symbol alone
# ("GRU z"); the words ran into the next column's. Hover and colour bars still say them.
COMPACT_OVER = 3


def panels_for(arch: str, candidate: bool = False) -> tuple[str, ...]:
    """The heatmaps drawn for ``arch``: its gates (tanh: its state), + the candidate."""
    unit = UNITS[arch]
    return unit.panels + ((unit.candidate,) if candidate and unit.candidate else ())


def slots(arch: str, candidate: bool = False) -> tuple[tuple[str, float | None], ...]:
    """The rows of ``arch``'s column below the roll, as (panel, None) for a heatmap drawn and
    (gate, its constant) for a gate the unit does not have, in its family's order (LSTM-NFG:
    i, then f removed, then o)."""
    unit = UNITS[arch]
    removed = dict(unit.removed)
    drawn = panels_for(arch, candidate)
    if not removed:
        return tuple((p, None) for p in drawn)
    order = [g for g in UNITS[unit.base].gates if g in removed or g in drawn]
    order += [p for p in drawn if p not in order]
    return tuple((p, removed.get(p)) for p in order)


def coupled(arch: str, panel: str) -> bool:
    """Whether ``panel`` of ``arch`` is a gate computed from another (LSTM-CIFG's i = 1 - f)."""
    return panel == "i" and "cifg" in UNITS[arch].switches


def removed_cell(grid: Grid, row: int, col: int, gate: str, value: float, name: str, lang: str,
                 compact: bool = False) -> dict:
    """An empty cell for a removed gate: a pale panel with the words in its middle, in paper
    coordinates (plotly draws no axes for a cell without a trace, so nothing reads as data)."""
    grid.title(row, col, f"{name} {symbol(gate)}" if compact else text.get(
        lang, "figures.gates.removed_title", model=name, gate=symbol(gate),
        words=text.get(lang, "figures.panels." + gate)))
    (x0, x1), (y0, y1) = grid.cols[col - 1], grid.rows[row - 1]
    words = text.get(lang, "figures.gates.removed", gate=symbol(gate), value=f"{value:g}")
    return {"shape": {"type": "rect", "xref": "paper", "yref": "paper", "x0": x0, "x1": x1, "y0": y0, "y1": y1,
                      "fillcolor": REMOVED_FILL, "line": {"width": 1, "dash": "dot", "color": "#888888"},
                      "layer": "below", "name": f"removed {name} {symbol(gate)}"},
            "annotation": {"text": words, "xref": "paper", "yref": "paper", "x": (x0 + x1) / 2, "y": (y0 + y1) / 2,
                           "xanchor": "center", "yanchor": "middle", "showarrow": False,
                           "font": {"size": 11 if compact else 13, "color": "#2a3f5f"},
                           "name": f"removed {name} {symbol(gate)}"}}


def symbol(panel: str) -> str:
    """The symbol of a panel as in the equations, e.g. ``"h_tilde"`` -> ``"h̃"``."""
    return PANELS[panel][0]


def hover(lang: str) -> dict:
    """The words of hover labels (``figures.hover``): step, pitch, unit, ..."""
    return text.table(lang, "figures.hover")


def roll_trace(roll: np.ndarray, start: int, lo: int, hi: int, lang: str = "en") -> dict:
    """The piano roll (T, 88) as a heatmap of MIDI pitches lo..hi over steps."""
    w = hover(lang)
    return {"type": "heatmap", "z": np.ascontiguousarray(np.asarray(roll)[:, lo:hi + 1].T, np.uint8),
            "x": np.arange(start, start + len(roll)), "y": np.arange(LOWEST_PITCH + lo, LOWEST_PITCH + hi + 1),
            "coloraxis": COLOR_AXES["roll"], "name": w["notes"], "meta": STEP_AXIS,
            "hovertemplate": f"{w['step']} %{{x}}<br>{w['pitch']} %{{y}}<br>{w['on']} %{{z}}"
                             f"<extra>{w['roll']}</extra>"}


def kind_of(arch: str, panel: str) -> str:
    """The colour scale a panel of ``arch`` is drawn on (``PANELS``), except a candidate without
    its tanh (LSTM-NIAF's c̃), unbounded like the cell: on the cell's symmetric scale, not clipped
    to −1…1 where it would read as saturated."""
    if panel == "g" and "niaf" in UNITS[arch].switches:
        return "cell"
    return PANELS[panel][1]


def unit_trace(values: np.ndarray, start: int, panel: str, arch: str, lang: str = "en") -> dict:
    """One gate or state (T, H) as a heatmap: x = step, y = unit."""
    kind, sym, name, w = kind_of(arch, panel), symbol(panel), model_name(arch, lang), hover(lang)
    return {"type": "heatmap", "z": compact(np.asarray(values).T),
            "x": np.arange(start, start + len(values)), "y": np.arange(np.shape(values)[1]),
            "coloraxis": COLOR_AXES[kind], "name": f"{name} {sym}", "meta": STEP_AXIS,
            "hovertemplate": f"{w['step']} %{{x}}<br>{w['unit']} %{{y}}<br>{sym} = %{{z:.3f}}"
                             f"<extra>{name}</extra>"}


def gates_figure(models: dict, roll: np.ndarray, start: int = 0, candidate: bool = False,
                 row_height: int = 150, lang: str = "en") -> go.Figure:
    """Columns of heatmaps, one per model.

    Parameters
    ----------
    models : dict of str to dict
        arch -> {panel name -> np.ndarray, shape=(T, H)}; panel names as in ``panels_for``
        (a ``"c"`` panel, if given, is drawn too, on the cell state's symmetric scale).
    roll : np.ndarray, shape=(T, 88)
        The frames the steps predict (step t predicts frame t).
    start : int
        Step number of the first row (a window of a longer piece).
    candidate : bool
        Also draw each gated unit's candidate (GRU h̃, LSTM c̃).
    lang : str
        Language of the titles ("en", "ko").
    """
    archs = list(models)
    rows = {a: slots(a, candidate) + ((("c", None),) if "c" in models[a] else ()) for a in archs}
    panels = {a: tuple(p for p, gone in rows[a] if gone is None) for a in archs}
    n_rows = 1 + max((len(r) for r in rows.values()), default=0)
    grid = Grid(n_rows, max(len(archs), 1), row_weights=[1.1] + [1] * (n_rows - 1),
                v_gap=0.35 / n_rows, share_x=True)
    lo, hi = key_range(roll)
    traces, shapes, notes = [], [], []
    compact = len(archs) > COMPACT_OVER
    for col, arch in enumerate(archs, start=1):
        name = model_name(arch, lang)
        traces.append({**roll_trace(roll, start, lo, hi, lang), **grid.ref(1, col)})
        grid.title(1, col, name if compact else text.get(lang, "figures.gates.roll_title", model=name))
        grid.y(1, col, title={"text": text.get(lang, "figures.pitch") if col == 1 else ""},
               **pitch_axis(lo, hi))
        for row, (panel, gone) in enumerate(rows[arch], start=2):
            if gone is not None:
                cell = removed_cell(grid, row, col, panel, gone, name, lang, compact)
                shapes.append(cell["shape"])
                notes.append(cell["annotation"])
                continue
            traces.append({**unit_trace(models[arch][panel], start, panel, arch, lang),
                           **grid.ref(row, col)})
            if compact:
                note = f"{name} i = 1 − f" if coupled(arch, panel) else f"{name} {symbol(panel)}"
            else:
                note = (text.get(lang, "figures.gates.no_gates", model=name) if arch == "tanh"
                        else text.get(lang, "figures.gates.coupled", model=name) if coupled(arch, panel)
                        else f"{name} {panel_title(panel, lang)}")
            grid.title(row, col, note)
            grid.y(row, col, title={"text": text.get(lang, "figures.unit") if col == 1 else ""})
        last = max((r for r, (_, gone) in enumerate(rows[arch], start=2) if gone is None), default=1)
        if last == 1 + len(rows[arch]):  # under a removed cell's title it would cover it: left out
            grid.x(last, col, title={"text": text.get(lang, "figures.step_axis" if compact else "figures.time_axis")})
    kinds = {"roll"} | {kind_of(a, p) for a in archs for p in panels[a]}
    cells = [models[a][p] for a in archs for p in panels[a] if kind_of(a, p) == "cell"]
    layout = grid.layout(height=row_height * n_rows + 90, uirevision="gates", **PAPER,
                         margin={"l": 50, "r": 10, "t": 30, "b": 40},
                         **color_axes(lang, kinds, cell_range(*cells)))
    free = [p for a in archs for p in panels[a] if kind_of(a, p) == "cell" and PANELS[p][1] != "cell"]
    if free:  # an unbounded candidate shares the cell's scale: its bar names both
        shared = ", ".join(dict.fromkeys([*(["c"] if len(free) < len(cells) else []), *map(symbol, free)]))
        layout[COLOR_AXES["cell"]]["colorbar"]["title"]["text"] = text.get(
            lang, "figures.colorbar.unbounded", symbols=shared, top=f"{cell_range(*cells):g}")
    layout["annotations"] = layout["annotations"] + notes
    if shapes:
        layout["shapes"] = shapes
    return go.Figure({"data": traces, "layout": layout})
