"""The school setup's files: HAProxy accepts every config GateLab renders, the compose
balancer's config is the template's (not a copy that drifts), the compose file has the shape
Docker expects (no Docker daemon runs here: its structure is checked, never run), and
``make serve`` refuses bad input with one line."""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("deploy_serve", ROOT / "deploy" / "serve.py")
serve = importlib.util.module_from_spec(_spec)  # deploy/serve.py is a script, not a package
_spec.loader.exec_module(serve)
HAPROXY = shutil.which("haproxy")


def haproxy_accepts(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    assert HAPROXY, "HAProxy is not installed (apt-get install haproxy; .ci/run installs it)"
    return subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("replicas", [1, 3])
def test_the_rendered_config_is_valid_and_sticky(replicas, tmp_path):
    text = serve.render(20_000, replicas, "127.0.0.1")
    result = haproxy_accepts(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bind 127.0.0.1:20000" in text and f"bind 127.0.0.1:{20_000 + replicas + 1}" in text
    for i in range(1, replicas + 1):
        assert f"server r{i} 127.0.0.1:{20_000 + i} cookie r{i}" in text
    assert f"r{replicas + 1} " not in text
    for line in ("cookie GATELAB_REPLICA insert", "option redispatch", "option httpchk GET /_stcore/health",
                 "timeout tunnel", "balance leastconn"):
        assert line in text
    assert "{{" not in text.split("\n", 4)[-1]  # every placeholder filled (the header names them)


def test_the_compose_balancer_is_the_template_rendered(tmp_path):
    committed = (ROOT / "deploy" / "haproxy-compose.cfg").read_text()
    assert committed == serve.render_compose(), "run: python deploy/serve.py --compose-config"
    result = haproxy_accepts(committed, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server-template r 1-16 gatelab:8501" in committed
    assert "insert indirect nocache httponly dynamic" in committed


def test_the_compose_file_has_replicas_a_balancer_and_a_shared_secret():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    app, balancer = compose["services"]["gatelab"], compose["services"]["balancer"]
    assert app["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert (ROOT / "deploy" / app["build"]["context"] / "Dockerfile").exists()
    assert app["deploy"]["replicas"] >= 2 and "8501" in app["expose"]
    assert "STREAMLIT_SERVER_COOKIE_SECRET" in app["environment"]
    assert balancer["image"].startswith("haproxy:")
    assert balancer["depends_on"]["gatelab"]["condition"] == "service_healthy"
    source = balancer["volumes"][0].split(":")[0]
    assert (ROOT / "deploy" / source).resolve() == (ROOT / "deploy" / "haproxy-compose.cfg").resolve()
    assert any(p.endswith(":8501") for p in balancer["ports"])


def test_the_image_is_sound_for_replicas():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK --interval" in dockerfile and "--start-period=" in dockerfile
    assert "warm_up()" in dockerfile and "chown gatelab /app/.numba-cache" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "artifacts", "results/**/*.log"} <= set(ignored)


def run_serve(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "deploy/serve.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_make_serve_refuses_bad_input_with_one_line():
    result = run_serve("--replicas", "0")
    assert result.returncode == 2 and "--replicas must be between 1 and 64" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_serve("--port", "80")
    assert result.returncode == 2 and "--port must leave room" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve("--replicas", "1", "--port", str(port - 1), "--host", "127.0.0.1")
    assert result.returncode == 2 and f"port(s) {port} in use" in result.stderr, result.stderr
    result = run_serve("--replicas", "1", env={"PATH": "/nonexistent"})
    assert result.returncode == 2 and "HAProxy is not installed" in result.stderr


def test_make_serve_takes_replicas_and_port():
    makefile = (ROOT / "Makefile").read_text()
    assert "deploy/serve.py --replicas $(REPLICAS) --port $(PORT) --host $(HOST)" in makefile
