"""Models in and out, in a real browser: a Lab model trained a little, downloaded as a
checkpoint, uploaded again on Your own music, draws the gates the core computes from that very
file (the same trace, to float32 display precision)."""
import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks.live_page import click, open_browser, open_lab, shared_steps, streamlit_server, wait_for
from core.insight.trace import trace
from core.music.midi import midi_to_roll
from core.training.checkpoint import weights_from_bytes
from core.training.pretrained import model_from_weights
from tests.test_browser_upload import chorale_file
from tests.test_upload import GOOD

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]


def drawn_z(page, name: str):
    """The z values plotly drew for the trace ``name`` (unit x step), or None."""
    return page.evaluate("""(name) => {
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            for (const t of plot._fullData || []) {
                if (t.name === name && t.z) return Array.from(t.z).map(r => Array.from(r));
            }
        }
        return null;
    }""", name)


def test_a_lab_model_downloaded_and_uploaded_again_draws_the_same_trace(tmp_path):
    midi = chorale_file(tmp_path)
    with streamlit_server(log=ARTIFACTS / "model-files-server.log") as url, open_browser() as browser:
        page, _ = open_lab(browser, url.rstrip("/") + "/?archs=gru")
        page.set_viewport_size({"width": 1500, "height": 2400})
        click(page, "Play")
        wait_for(lambda: shared_steps(page) >= 5, 90, "a few updates")
        click(page, "Pause")
        page.get_by_text("Download the models (checkpoints)").click()
        page.get_by_role("button", name="Prepare the checkpoints").click()
        button = page.get_by_role("button", name=re.compile(r"^GRU \(\d+ updates\)"))
        button.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            button.click()
        checkpoint = tmp_path / download.value.suggested_filename
        download.value.save_as(checkpoint)
        assert re.fullmatch(r"gatelab-chorales-gru-\d+u\.pt", checkpoint.name)

        page.goto(url.rstrip("/") + "/upload")
        page.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)
        page.get_by_text("A checkpoint file (.pt)").click()
        page.get_by_text("Upload a checkpoint to apply its model.").wait_for(timeout=60_000)
        page.locator('input[type="file"]').first.set_input_files(str(checkpoint))
        page.get_by_text(re.compile(r"GRU from gatelab-chorales-gru")).first.wait_for(timeout=60_000)
        page.locator('input[type="file"]').last.set_input_files(str(midi))
        z = wait_for(lambda: drawn_z(page, "GRU z"), 90, "the uploaded model's update gate")
        page.screenshot(path=str(ARTIFACTS / "model-files.png"), full_page=True)
    w = weights_from_bytes(checkpoint.read_bytes())
    want = trace(model_from_weights(w["spec"], w["state_dict"]), midi_to_roll(GOOD, steps_per_beat=2).roll)["z"]
    got = np.asarray(z, dtype=float)
    assert got.shape == want[:got.shape[1]].T.shape
    np.testing.assert_allclose(got, want[:got.shape[1]].T, atol=1e-5)
