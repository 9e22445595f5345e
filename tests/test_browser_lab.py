"""The Lab in a real browser: Debian's Chromium (headless, via Playwright) against a
`streamlit run` started here on a free port. Play must draw the loss chart and the gates of
all three models, and both must change as training goes on; the console must stay clean.

The screenshot is kept for CI at artifacts/browser/lab.png (git-ignored).
"""
from pathlib import Path

import pytest

from benchmarks.live_page import CHROMIUM, click, loss_points, open_browser, open_lab, streamlit_server, wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
GATES = ("tanh RNN h", "GRU z", "GRU r", "LSTM i", "LSTM f", "LSTM o")

pytestmark = pytest.mark.browser


def drawn_gates(page) -> dict:
    """Trace name -> sum of its drawn values, for the gate heatmaps plotly has drawn."""
    return page.evaluate("""(names) => {
        const out = {};
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            for (const t of plot._fullData || []) {
                if (names.includes(t.name) && t.z) {
                    out[t.name] = Array.from(t.z).flat().reduce((a, b) => a + Number(b), 0);
                }
            }
        }
        return out;
    }""", list(GATES))



def test_play_draws_and_updates_loss_and_gates():
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log=ARTIFACTS / "server.log") as url, open_browser() as browser:
        page, errors = open_lab(browser, url)
        page.set_viewport_size({"width": 1500, "height": 2400})
        first_gates = wait_for(lambda: (g := drawn_gates(page)) and len(g) == len(GATES) and g,
                               60, "the gate heatmaps of all three models")
        click(page, "Play")
        first_points = wait_for(lambda: (n := loss_points(page)) > 0 and n, 30, "a trained loss point")
        wait_for(lambda: loss_points(page) > first_points + 6, 30, "the loss chart to grow")
        wait_for(lambda: all(drawn_gates(page).get(k) != v for k, v in first_gates.items()), 30,
                 "every gate heatmap to change")
        names = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .flatMap(p => (p._fullData || []).map(t => t.name))""")
        for model in ("tanh RNN", "GRU", "LSTM"):
            assert f"{model} train" in names and f"{model} valid" in names
        click(page, "Pause")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "lab.png"), full_page=True)
    assert errors == [], errors
