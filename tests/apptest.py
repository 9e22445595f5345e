"""Opening GateLab under Streamlit's AppTest, in one place for every test file: the app's path,
URL parameters, a page run once without an exception, and plotly's typed arrays decoded."""
import base64
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def new_app(timeout: float = 90, **params) -> AppTest:
    """The app, not run yet, with URL parameters (``lang="ko"``, ``projector="1"``, ...)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def open_page(page: str, timeout: float = 90, **params) -> AppTest:
    """``page`` (e.g. ``"paper/paper.py"``) run once with URL parameters; it raised nothing."""
    at = new_app(timeout, **params)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def decode(value):
    """Plotly's base64 typed arrays ({"dtype", "bdata"}) back to numpy."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return array.reshape([int(s) for s in value["shape"].split(",")]) if "shape" in value else array
    return np.asarray(value)

