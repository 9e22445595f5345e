"""Names, colours and axis conventions shared by every GateLab figure.

The symbols here are the ones the equations use (``app/equations.py``), so a chart title
and the line of LaTeX it illustrates say the same thing.
"""
import numpy as np
import plotly.graph_objects as go

MODEL_NAMES = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
# Okabe & Ito's colour-blind-safe palette: vermillion, blue, bluish green stay distinct under
# protanopia, deuteranopia and tritanopia (red/green pairs do not).
MODEL_COLORS = {"tanh": "#D55E00", "gru": "#0072B2", "lstm": "#009E73"}

# name -> (chart title, value range kind): "gate" in [0, 1], "state" in [-1, 1], "cell" unbounded
PANELS = {
    "z": ("z: update gate (share of the new candidate)", "gate"),
    "r": ("r: reset gate", "gate"),
    "h_tilde": ("h̃: candidate state", "state"),
    "i": ("i: input gate", "gate"),
    "f": ("f: forget gate", "gate"),
    "o": ("o: output gate", "gate"),
    "g": ("c̃: candidate cell", "state"),
    "c": ("c: cell state", "cell"),
    "h": ("h: hidden state", "state"),
}
TIME_TITLE = "time step t (predicts frame t)"
NLL_TITLE = "NLL per time step (nats)"
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
LOWEST_PITCH = 21  # MIDI pitch of key column 0 (A0)


def model_name(arch: str) -> str:
    return MODEL_NAMES.get(arch, arch)


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


def color_axes() -> dict:
    """Layout colour axes: gates (0..1), states (-1..1), notes (off/on)."""
    return {
        "coloraxis": {"colorscale": "Viridis", "cmin": 0, "cmax": 1,
                      "colorbar": {"title": {"text": "gate"}, "len": 0.45, "y": 0.78, "thickness": 12}},
        "coloraxis2": {"colorscale": "RdBu", "cmin": -1, "cmax": 1, "reversescale": True,
                       "colorbar": {"title": {"text": "state"}, "len": 0.45, "y": 0.25,
                                    "thickness": 12}},
        "coloraxis3": {"colorscale": [[0, "#f7f7f7"], [1, "#222222"]], "cmin": 0, "cmax": 1,
                       "showscale": False},
    }


def compact(values: np.ndarray) -> np.ndarray:
    """float32 for the browser: half the bytes of float64, far below what a chart shows."""
    return np.ascontiguousarray(values, dtype=np.float32)


def projector_style(fig):
    """A copy of ``fig`` for a projector: larger type, thicker lines, bigger markers."""
    fig = go.Figure(fig)
    fig.update_layout(font={"size": 18}, hoverlabel={"font": {"size": 18}})
    for annotation in fig.layout.annotations or ():   # subplot titles
        annotation.font.size = 19
    for trace in fig.data:
        if trace.type == "scatter":
            if trace.line is not None:
                trace.line.width = max(3.0, 2 * (trace.line.width or 2))
            if trace.marker is not None and isinstance(trace.marker.size, (int, float)):
                trace.marker.size = 1.6 * trace.marker.size
    if fig.layout.height:
        fig.layout.height = int(fig.layout.height * 1.15)
    return fig
