"""Uploads cannot pin the server's memory (real Chromium against the server as `make run` starts
it): the server refuses a request above the MIDI limit as it streams in, and the Lab refuses
more files than one upload takes, with a message, and lets them go."""
from pathlib import Path

from benchmarks.classroom_probes import find_server_pid, pss_kb
from benchmarks.live_page import open_browser, streamlit_server, wait_for
from core.music.midi import MAX_MIDI_FILES, upload_limit
from tests.test_upload import GOOD

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser-upload-limits"


def test_too_many_files_are_refused_and_a_too_large_request_never_reaches_memory(tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(MAX_MIDI_FILES + 1):
        files.append(tmp_path / f"piece{i}.mid")
        files[-1].write_bytes(GOOD)
    with streamlit_server(log=ARTIFACTS / "server.log") as url, open_browser() as browser:
        server = find_server_pid(url)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        uploads = []
        page.on("request", lambda r: uploads.append(r) if "/_stcore/upload_file/" in r.url else None)
        page.goto(url + "/?dataset=midi")
        page.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)
        page.set_input_files('input[type="file"]', [str(f) for f in files])
        wait_for(lambda: page.get_by_text(f"{len(files)} files are more than one upload takes").count() > 0,
                 60, "the message about too many files")
        page.screenshot(path=str(ARTIFACTS / "too-many.png"))
        assert page.get_by_text("piece0.mid").count() == 0  # the uploader starts empty again

        # The same request a browser makes, with a body over the limit: refused while it streams.
        request = uploads[0]
        before = pss_kb(server)
        big = b"MThd" + b"\0" * (upload_limit() + 2 * 2**20)
        xsrf = {k: v for k, v in request.headers.items() if k.lower() == "x-xsrftoken"}  # as the page sends
        response = page.request.fetch(request.url, method=request.method, headers=xsrf,
                                      multipart={"file": {"name": "big.mid", "mimeType": "audio/midi",
                                                          "buffer": big}})
        assert response.status == 413
        assert pss_kb(server) - before < 16 * 1024  # not held: well under the 6 MB sent
