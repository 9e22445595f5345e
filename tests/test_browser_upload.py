""""Your own music" in a real browser: Debian's Chromium (headless, via Playwright) against a
`streamlit run` started here. Uploading a MIDI file must draw the piano roll and the gate
heatmaps of all three pretrained models, with a clean console.

Screenshots are kept for CI under artifacts/browser/ (git-ignored).
"""
import re
from pathlib import Path

import pytest

from benchmarks.live_page import CHROMIUM, open_browser, streamlit_server, wait_for
from tests.test_upload import GOOD

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
GATES = ("tanh RNN h", "GRU z", "GRU r", "LSTM i", "LSTM f", "LSTM o")

pytestmark = pytest.mark.browser


def drawn(page) -> dict:
    """Trace name -> number of values plotly has drawn, over every chart on the page."""
    return page.evaluate("""() => {
        const out = {};
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            for (const t of plot._fullData || []) {
                if (t.z) out[t.name] = Array.from(t.z).flat().length;
            }
        }
        return out;
    }""")



def chorale_file(tmp_path: Path, name: str = "chorale.mid") -> Path:
    """The test chorale as a MIDI file, once Chromium is known to be there and the artifacts'
    folder exists."""
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    midi = tmp_path / name
    midi.write_bytes(GOOD)
    return midi


def test_upload_draws_the_heatmaps_of_all_three_pretrained_models(tmp_path):
    midi = chorale_file(tmp_path)
    with streamlit_server(log=ARTIFACTS / "upload-server.log") as url, open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 3400})  # the whole page in view
        errors, missing = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        # A deep link as a fresh server's very first request: the page scripts live in
        # app/screens/, not pages/, so Streamlit's legacy folder discovery cannot answer it.
        page.goto(url.rstrip("/") + "/upload")
        page.get_by_role("link", name="Your own music").wait_for(timeout=60_000)
        page.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)
        page.set_input_files('input[type="file"]', str(midi))
        got = wait_for(lambda: (d := drawn(page)) and all(g in d for g in GATES) and d, 60,
                       "the gate heatmaps of all three models")
        assert got["notes"] > 0 and all(got[g] > 0 for g in GATES)
        assert page.get_by_text("Resolution:").count() >= 1
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)
    # On a deep link Streamlit's frontend first probes /upload/_stcore/{health,host-config}
    # (in case the app is served under that base path), gets 404, and falls back to the root.
    probes = all(u.endswith(("/_stcore/health", "/_stcore/host-config")) for u in missing)
    real = [e for e in errors if not (probes and e.startswith("Failed to load resource") and "404" in e)]
    assert real == [], (errors, missing)


def test_a_folk_tune_with_the_nottingham_set_draws_its_gates_and_plays_on_a_piano(tmp_path):
    """The Nottingham models (folk tunes, read at eighth notes) on an uploaded tune, in Chromium:
    their gates are drawn and the audio player holds the piano rendering (FluidSynth)."""
    midi = chorale_file(tmp_path, "tune.mid")
    with streamlit_server(log=ARTIFACTS / "upload-nottingham-server.log") as url, open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 3400})
        page.goto(url.rstrip("/") + "/upload")
        page.get_by_role("link", name="Your own music").wait_for(timeout=60_000)
        page.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)  # drawn
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Pretrained set").click()
        page.get_by_role("option", name=re.compile(r"^Nottingham, PyTorch")).click()
        # the set took: its models' test NLLs are Nottingham's (about 3.7 nats; JSB's: 8.5-8.7)
        page.get_by_text(re.compile(r"test split: tanh RNN 3\.\d+, GRU 3\.")).wait_for(timeout=30_000)
        page.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)
        page.set_input_files('input[type="file"]', str(midi))
        got = wait_for(lambda: (d := drawn(page)) and all(g in d for g in GATES) and d, 90,
                       "the Nottingham models' gate heatmaps")
        assert all(got[g] > 0 for g in GATES)
        page.get_by_text("Played on a piano (FluidSynth").first.wait_for(timeout=60_000)
        audio = page.locator("audio").first
        assert audio.get_attribute("src")                                # the rendering is there
        page.screenshot(path=str(ARTIFACTS / "upload-nottingham.png"), full_page=True)
