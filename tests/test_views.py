"""core.insight.views: the window of a trace the Lab and the upload page chart, on hand-built arrays
(bounds, which gates and state per unit from core.units, unit order, PCA); and no torch."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.insight.views import pca_2d, unit_order, window_bounds, window_view
from core.units import UNITS, family_of

ROOT = Path(__file__).resolve().parents[1]
T, H = 20, 5


def fake_arrays(arch: str, seed: int = 0) -> dict:
    """A trace's arrays for ``arch``: every quantity (T, H), probs (T, 88), nll (T,), target."""
    rng = np.random.default_rng(seed)
    arrays = {name: rng.standard_normal((T, H)).astype(np.float32) for name in UNITS[arch].names()}
    arrays["probs"] = rng.random((T, 88), dtype=np.float32)
    arrays["nll"] = rng.random(T, dtype=np.float32)
    arrays["target"] = np.zeros((T, 88), np.uint8)
    return arrays


def test_window_bounds_keep_the_window_inside_the_piece():
    assert window_bounds(100, 10, 32, 256) == (10, 42)
    assert window_bounds(100, 90, 32, 256) == (90, 100)     # cut at the piece's end
    assert window_bounds(100, -5, 32, 256) == (0, 32)       # no negative start
    assert window_bounds(100, 500, 32, 256) == (99, 100)    # the last step at least
    assert window_bounds(1000, 0, 999, 256) == (0, 256)     # at most max_length steps
    assert window_bounds(100, 3, 0, 256) == (3, 4)          # at least one step
    assert window_bounds(0, 3, 8, 256) == (0, 0)            # an empty piece: an empty window


@pytest.mark.parametrize("arch", list(UNITS))
def test_window_view_sends_the_registrys_gates_and_state(arch):
    arrays = fake_arrays(arch)
    view = window_view(arrays, arch, H, 4, 12)
    unit = UNITS[arch]
    assert set(view) == {"units", "state_name", "gates", "state", "h", "probs", "nll", "pca",
                         "pca_share", "unit_order"}
    assert view["units"] == H and view["state_name"] == unit.state
    assert tuple(view["gates"]) == unit.bounded
    np.testing.assert_array_equal(view["state"], arrays[unit.state][4:12])
    for name in (*unit.bounded, "h"):
        got = view["gates"][name] if name in unit.bounded else view[name]
        np.testing.assert_array_equal(got, arrays[name][4:12])
        assert got.shape == (8, H) and got.dtype == np.float32
    assert view["probs"].shape == (8, 88) and view["nll"].shape == (8,)
    assert view["pca"].shape == (8, 2) and view["pca_share"].shape == (2,)


def test_the_state_is_the_memory_for_the_lstm_and_h_otherwise():
    assert {a: window_view(fake_arrays(a), a, H, 0, T)["state_name"] for a in UNITS} == \
        {a: "c" if family_of(a) == "lstm" else "h" for a in UNITS}
    assert {a: window_view(fake_arrays(a), a, H, 0, T)["state_name"] for a in ("tanh", "gru", "lstm", "mgu")} == \
        {"tanh": "h", "gru": "h", "lstm": "c", "mgu": "h"}
    gru = window_view(fake_arrays("gru"), "gru", H, 0, T)
    assert set(gru["gates"]) == {"z", "r", "h_tilde"}
    assert window_view(fake_arrays("tanh"), "tanh", H, 0, T)["gates"] == {}


def test_window_view_copies_so_the_trace_can_go():
    arrays = fake_arrays("gru")
    view = window_view(arrays, "gru", H, 0, 4)
    arrays["z"][:] = 0
    assert np.any(view["gates"]["z"])


def test_units_are_ordered_by_their_variance_over_the_window():
    arrays = fake_arrays("lstm")
    scale = np.array([1.0, 5.0, 0.1, 3.0, 1e-3], np.float32)
    arrays["c"] = arrays["c"] * scale
    arrays["h"] = arrays["h"] * scale[::-1]  # h has the opposite order: the state decides
    view = window_view(arrays, "lstm", H, 2, 18)
    assert view["unit_order"].tolist() == [1, 3, 0, 2, 4]
    assert unit_order(np.zeros((4, 3))).tolist() == [0, 1, 2]  # ties in index order


def test_pca_of_the_view_is_the_pca_of_its_window_state():
    arrays = fake_arrays("gru")
    view = window_view(arrays, "gru", H, 5, 15)
    proj, share = pca_2d(arrays["h"][5:15])
    np.testing.assert_allclose(view["pca"], proj, atol=1e-5)
    np.testing.assert_allclose(view["pca_share"], share, atol=1e-6)
    assert 0 < view["pca_share"].sum() <= 1 + 1e-9


def test_pca_2d_on_a_line_puts_all_variance_on_pc1():
    t = np.arange(5.0)
    states = np.column_stack([t, 2 * t, np.zeros(5)])  # a straight path
    proj, share = pca_2d(states)
    assert share[0] == pytest.approx(1.0) and share[1] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(np.abs(proj[:, 0]), np.abs(t - 2) * np.sqrt(5))
    assert proj[-1, 0] > 0  # sign fixed: the largest loading is positive
    assert np.allclose(pca_2d(np.ones((3, 4)))[0], 0)  # a constant state: no direction
    assert pca_2d(np.ones((1, 4)))[0].shape == (1, 2)  # one step: no direction either


def test_views_import_no_torch():
    """The web server makes the upload page's views: core.insight.views must not bring torch in."""
    code = "import sys, core.insight.views; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]
