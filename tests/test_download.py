"""Downloading the original files, against a throwaway HTTP server on 127.0.0.1."""
import http.server
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from core.music.data import load_dataset
from core.music.download import DownloadError, download_file, text_progress
from core.music.rolls import DataError

JSB = "JSB Chorales.pickle"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; ``server.mode`` can break, delay or alter the answer."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        name = self.path.lstrip("/").replace("%20", " ")
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404, "Not Found")
            return
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.5)
        if mode == "altered":
            body = body[:-30] + bytes(b ^ 1 for b in body[-30:])
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if mode == "broken" else body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeout, size limit, interrupt): what we test
        # Returning closes the connection (HTTP/1.0): in "broken" mode, mid-file.

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch, tmp_path):
    """A local server holding the real JSB pickle; GATELAB_DATA_URL points at it."""
    source = os.environ.get("GATELAB_DATA_DIR", "")
    if not source:
        pytest.fail("GATELAB_DATA_DIR is not set: point it at ../shared/data/polyphonic")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files = {JSB: Path(source, JSB).read_bytes()}
    httpd.mode, httpd.requests = "ok", []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("GATELAB_DATA_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _cache_files(tmp_path) -> list[str]:
    folder = tmp_path / "cache"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_into_the_cache_with_progress(server, tmp_path):
    seen = []
    ds = load_dataset("jsb", progress=lambda done, total: seen.append((done, total)))
    assert ds.get_num_steps() == {"train": 13807, "valid": 4602, "test": 4725}
    assert server.requests == ["/JSB%20Chorales.pickle"]
    size = len(server.files[JSB])
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (tmp_path / "cache" / JSB).stat().st_size == size
    load_dataset("jsb")  # now from the cache: no second request
    assert len(server.requests) == 1


def test_a_connection_broken_mid_file_leaves_nothing(server, tmp_path):
    server.mode = "broken"
    with pytest.raises(DataError, match=r"broke after \d+ of \d+ bytes") as info:
        load_dataset("jsb", timeout=5)
    assert "GATELAB_DATA_DIR" in str(info.value)
    assert _cache_files(tmp_path) == []  # no partial file, no .part file


def test_a_server_that_is_down_gives_a_clear_error_quickly(monkeypatch, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GATELAB_DATA_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        load_dataset("nottingham", timeout=2)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "Nottingham.pickle" in message and "GATELAB_DATA_DIR" in message
    assert "refused" in message.lower() and "chorales" in message
    assert _cache_files(tmp_path) == []


def test_a_silent_server_times_out(server, tmp_path):
    server.mode = "slow"
    start = time.monotonic()
    with pytest.raises(DataError, match="(?i)timed out"):
        load_dataset("jsb", timeout=0.3)
    assert time.monotonic() - start < 1.4
    assert _cache_files(tmp_path) == []


def test_missing_on_the_server_is_a_404(server):
    with pytest.raises(DataError, match="404"):
        load_dataset("musedata", timeout=5)


def test_an_altered_download_is_refused_and_deleted(server, tmp_path):
    server.mode = "altered"
    with pytest.raises(DataError):
        load_dataset("jsb", timeout=5)
    assert JSB not in _cache_files(tmp_path)


def test_an_interrupted_download_leaves_nothing(server, tmp_path):
    def interrupt(done, total):
        raise KeyboardInterrupt

    url = os.environ["GATELAB_DATA_URL"] + "JSB%20Chorales.pickle"
    with pytest.raises(KeyboardInterrupt):
        download_file(url, tmp_path / "cache" / JSB, progress=interrupt, timeout=5)
    assert _cache_files(tmp_path) == []


def test_size_limit(server, tmp_path):
    url = os.environ["GATELAB_DATA_URL"] + "JSB%20Chorales.pickle"
    with pytest.raises(DownloadError, match="more than"):
        download_file(url, tmp_path / "cache" / JSB, timeout=5, max_bytes=1000)
    assert _cache_files(tmp_path) == []


def test_text_progress_draws_a_bar(capsys):
    show = text_progress("a.pickle")
    show(1_000_000, 2_000_000)
    show(2_000_000, 2_000_000)
    err = capsys.readouterr().err
    assert "a.pickle [" in err and " 50%" in err and "100%" in err and err.endswith("\n")
    show = text_progress()  # size unknown until the end: megabytes only, then the full bar
    show(1_500_000, None)
    show(3_000_000, 3_000_000)
    err = capsys.readouterr().err
    assert "downloading 1.5 MB" in err and "100%  3.0/3.0 MB" in err and err.endswith("\n")


def test_the_cli_draws_the_same_bar(server, tmp_path, capsys):
    from core import cli
    checkpoint = Path(__file__).resolve().parents[1] / "assets" / "pretrained" / "jsb-gru-torch.pt"
    assert cli.main(["trace", "--checkpoint", str(checkpoint), "--dataset", "jsb",
                     "--out", str(tmp_path / "t.npz")]) == 0
    assert "downloading [" in capsys.readouterr().err and len(server.requests) == 1
