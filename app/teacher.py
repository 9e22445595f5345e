"""Teacher mode: URL flags that hide controls, so a teacher can hand out a link that opens a
prepared, simplified view (like TensorFlow Playground's ``*_hide`` flags).

- ``hide=piece,thresholds`` hides the named controls; ``teacher=1`` hides every control but
  those named in ``show=...``.
- A hidden control takes its value from the URL parameter of the same name, e.g.
  ``&piece=3&K=40``, else its default; a shown one starts at that value.
- ``tool=memory`` (Gate tools page) shows one tool instead of the four tabs.

Projector mode (``app.display.projector``) hides the controls a page marks not ``essential``
the same way: they take their URL value, else their default.

Example: ``/tools?teacher=1&tool=interventions&source=lab&arch=lstm&gate=f&value=1``.
Imports no torch: the Lab's settings use it in the web server.
"""
import inspect
import math

import streamlit as st

from app.display import projector
from app.i18n import t


def _names(key: str) -> set[str]:
    """The comma-separated names of URL parameter ``key``."""
    return {s.strip() for s in st.query_params.get(key, "").split(",") if s.strip()}


def hidden() -> set[str]:
    """Names of the controls the URL hides."""
    q, names = st.query_params, _names
    if q.get("teacher", "") in ("1", "true", "yes"):
        return {"*"} - names("show") | {"!" + n for n in names("show")}
    return names("hide")


def is_hidden(name: str) -> bool:
    h = hidden()
    return name in h or ("*" in h and "!" + name not in h)


def labels(prefix: str, options) -> dict:
    """Each option's text ``<prefix>.<option>``, for a choice widget's ``format_func``
    (``labels(...).get``). Looked up now, in this run's language: Streamlit (and AppTest) may
    call a format function later, outside the run that knows the page's URL."""
    return {o: t(f"{prefix}.{o}") for o in options}


def url_value(name: str, default):
    """The URL's value for a hidden control, as the type of ``default`` (bad values: default)."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes")
        return type(default)(float(raw)) if isinstance(default, (int, float)) else type(default)(raw)
    except (TypeError, ValueError, OverflowError):  # "abc", "inf" for a whole number
        return default


def control(name: str, widget, default, *args, options=None, essential: bool = True, **kwargs):
    """``widget(*args, **kwargs)`` unless the URL hides ``name`` (or projector mode hides it, for
    a control that is not ``essential``); then its URL value or default. ``options`` (for
    choice widgets) both passes to the widget and checks a URL value. A shown control starts at
    its URL value when the URL has a usable one (``&show=piece&piece=3``: the box starts at 3)."""
    if is_hidden(name) or (not essential and projector()):
        value = url_value(name, default)
        return value if options is None or value in options else default
    if options is not None:
        args = (*args, options)
        if widget.__name__ in ("radio", "selectbox") and default in options:
            kwargs.setdefault("index", options.index(default))
    if name in st.query_params:
        args, kwargs = _starting_at(widget, args, kwargs, url_value(name, default), options)
    return widget(*args, **kwargs)


def _starting_at(widget, args: tuple, kwargs: dict, value, options) -> tuple[tuple, dict]:
    """``args`` and ``kwargs`` with the widget's starting value (``index`` of a radio or
    selectbox, ``value`` of the others) set to ``value`` if the widget takes it: one of its
    options, a finite number within its ``min_value`` .. ``max_value``. Otherwise, and for a
    multiselect (the URL holds no list), they are returned as they were."""
    bound = inspect.signature(widget).bind_partial(*args, **kwargs)
    given = bound.arguments
    if widget.__name__ in ("radio", "selectbox"):
        if value not in options:
            return args, kwargs
        given["index"] = options.index(value)
    elif widget.__name__ == "multiselect":
        return args, kwargs
    else:
        low, high = given.get("min_value"), given.get("max_value")
        if isinstance(value, float) and not math.isfinite(value) or \
                (low is not None and value < low) or (high is not None and value > high):
            return args, kwargs
        given["value"] = value
    return bound.args, bound.kwargs
