"""Pure plot builders: numpy arrays in, ``plotly.graph_objects.Figure`` out.

No Streamlit and no torch here, so every figure can be built and inspected in a test.
"""
from app.figures.gates import gates_figure, panels_for
from app.figures.loss import loss_figure
from app.figures.prediction import prediction_figure
from app.figures.states import states_figure

__all__ = ["gates_figure", "loss_figure", "panels_for", "prediction_figure", "states_figure"]
