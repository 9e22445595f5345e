"""What the units do, made visible: exact traces of every gate and state (``trace``), a window of
a piece as the charts see it (``views``), gate saturation and memory length (``analysis``), gate
clamps and one step's numbers (``interventions``), the built-in lesson's numbers (``lesson``),
and music sampled from a model (``sample``).

This face holds what imports no torch (the web server reads it); the rest is imported by its
own path, e.g. ``from core.insight.trace import trace``.
"""
from core.insight.lesson import LESSON_MARGIN, answer_step, lesson_point, lesson_settings
from core.insight.views import window_bounds, window_view

__all__ = ["LESSON_MARGIN", "answer_step", "lesson_point", "lesson_settings", "window_bounds", "window_view"]
