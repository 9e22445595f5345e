"""The units: what each is (the registry: gates, states, colours, LaTeX), what a model of one is
(``spec``), and its equations in three forms, cross-tested: the module (``cells``, ``models``),
the compiled loop (``fast_loops``, ``fast_rnn``) and the step with every number
(``teaching_cells``); what one costs (``costs``); the plain records that cross processes
(``records``).

This face holds only what imports no torch (the web server reads it); the modules with torch
are imported by their own path, e.g. ``from core.units.models import build_model``.
"""
from core.units.registry import (
    ALL_ARCHS,
    ARCHS,
    LSTM_SWITCHES,
    PAPER_UNITS,
    QUANTITIES,
    RANGES,
    UNITS,
    VARIANT_ARCHS,
    Quantity,
    Unit,
    display_name,
    family_of,
    unit,
)
from core.units.spec import (
    DEFAULT_BUDGET,
    DEVICES,
    N_KEYS,
    VARIANTS,
    ModelSpec,
    count_parameters,
    units_for_budget,
)

__all__ = ["ALL_ARCHS", "ARCHS", "LSTM_SWITCHES", "PAPER_UNITS", "QUANTITIES", "RANGES", "UNITS", "VARIANT_ARCHS",
           "Quantity", "Unit", "display_name", "family_of", "unit",
           "DEFAULT_BUDGET", "DEVICES", "N_KEYS", "VARIANTS", "ModelSpec", "count_parameters", "units_for_budget"]
