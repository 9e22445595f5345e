"""The class board under `make serve`, through the real HAProxy with the config deploy/serve.py
renders, two tiny HTTP servers standing in for the replicas: ``/board?replica=r2`` reaches r2
and the browser's next requests (the page's websocket, which has no such parameter) follow it;
students are balanced and kept as before; the log holds no query string (no name, no key)."""
import http.server
import importlib.util
import shutil
import subprocess
import threading
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from benchmarks.classroom_probes import free_ports

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("deploy_serve", ROOT / "deploy" / "serve.py")
serve = importlib.util.module_from_spec(_spec)  # deploy/serve.py is a script, not a package
_spec.loader.exec_module(serve)
HAPROXY = shutil.which("haproxy")


def replica(name: str, port: int) -> http.server.HTTPServer:
    """A stand-in replica that answers every path with its name."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def browser():
    """A client with its own cookie jar, as one browser: path -> the replica that answered."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    return lambda url: opener.open(url, timeout=5).read().decode()


@pytest.fixture
def balancer(tmp_path):
    assert HAPROXY, "HAProxy is not installed (apt-get install haproxy; .ci/run installs it)"
    port = free_ports(4)
    config = tmp_path / "haproxy.cfg"
    config.write_text(serve.render(port, 2, "127.0.0.1"))
    replicas = [replica(f"r{i}", port + i) for i in (1, 2)]
    log = open(tmp_path / "haproxy.log", "wb")
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:  # both replicas pass their first checks
            try:
                seen = {browser()(f"{url}/lab") for _ in range(6)}
            except OSError:
                seen = set()
            if seen == {"r1", "r2"} or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        yield url, tmp_path / "haproxy.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        for r in replicas:
            r.shutdown()


def test_the_teacher_reaches_each_replicas_board_and_stays_there(balancer):
    url, log = balancer
    teacher = browser()
    for name in ("r2", "r1", "r2"):
        assert teacher(f"{url}/board?replica={name}&key=SECRET") == name
        assert [teacher(f"{url}/_stcore/stream") for _ in range(3)] == [name] * 3  # its websocket follows
    assert teacher(f"{url}/board?replica=r9&key=SECRET") == "r2"  # no such replica: the cookie decides
    students = [browser() for _ in range(4)]
    homes = [s(f"{url}/lab?name=Ada") for s in students]
    assert set(homes) == {"r1", "r2"}  # balanced as before
    assert all(s(f"{url}/_stcore/stream") == home for s, home in zip(students, homes))
    time.sleep(0.5)
    text = log.read_text()
    assert "GET /board HTTP/1.1" in text and "GET /lab HTTP/1.1" in text
    assert "SECRET" not in text and "Ada" not in text and "replica=" not in text


def test_compose_has_no_board_routes():
    assert "use-server" not in serve.render_compose() and "use-server r2 " in serve.render(8501, 2)
    assert (ROOT / "deploy" / "haproxy-compose.cfg").read_text() == serve.render_compose()
