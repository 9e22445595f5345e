"""`reproduce --engine ray`: a two-node Ray cluster on 127.0.0.1 (a head and one more node,
each started with `ray start`, under token authentication as docs/reproduce.md sets it up) runs a
tiny reproduction with the same results as the local pool, whether the driver has
`RAY_AUTH_MODE=token` or only finds the token; and a sweep whose non-head node is killed mid-way
still completes with every run recorded. The cluster stops only its own processes
(`benchmarks/ray_cluster.py`)."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.live_page import free_port, wait_for
from benchmarks.ray_cluster import LocalCluster
from core.training.sweep import carry_ray_token

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--datasets", "chorales", "--archs", "tanh", "gru", "--candidates", "2", "--max-epochs", "2",
        "--patience", "1", "--batch-size", "16"]

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def cluster():
    """A head node and a second node on 127.0.0.1, one CPU each; stopped afterwards."""
    with LocalCluster(free_port()) as c:
        c.add_node("--num-cpus=1", "--resources={\"second_node\": 1}")
        yield c


def reproduce(out: Path, *extra, wait=True, env=None):
    cmd = [sys.executable, "-m", "core", "reproduce", *TINY, "--out", str(out), *extra]
    if wait:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=400, env=env)
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def runs(out: Path) -> dict:
    """Every run record under ``out``, without its wall-clock times."""
    found = {}
    for path in sorted((out / "runs").rglob("*.json")):
        r = json.loads(path.read_text())
        r.pop("wall_seconds")
        for row in r["history"]:
            row.pop("seconds")
        found[str(path.relative_to(out))] = r
    return found


def test_a_ray_cluster_gives_the_local_pool_s_numbers(cluster, tmp_path):
    local = reproduce(tmp_path / "local", "--workers", "2")
    assert local.returncode == 0, local.stderr
    # The driver is told nothing of the token: it finds ~/.ray/auth_token (core.training.sweep.carry_ray_token).
    finds = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}
    on_ray = reproduce(tmp_path / "ray", "--engine", "ray", "--address", cluster.address, env=finds)
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    assert len(runs(tmp_path / "local")) == 4
    assert runs(tmp_path / "ray") == runs(tmp_path / "local")          # the same numbers, run for run
    assert (tmp_path / "ray" / "paper" / "table.md").read_text() .split("\n")[:4] == \
        (tmp_path / "local" / "paper" / "table.md").read_text().split("\n")[:4]
    lines = [line for line in on_ray.stdout.splitlines() if re.match(r"\[\d/4\]", line)]
    assert len(lines) == 4 and all(" on " in line and "left" in line for line in lines)
    nodes = {re.search(r" on (\S+)\)", line).group(1) for line in lines}
    assert len(nodes) == 2, lines                                         # both nodes took runs


def raylet_of(node: subprocess.Popen) -> int:
    """The pid of the raylet a node's `ray start --block` started (one of its children)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
                cmd = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == node.pid and Path(cmd).name == "raylet":
                return int(proc.name)
    raise AssertionError(f"no raylet under pid {node.pid}")


def kill_node(raylet: int) -> None:
    """SIGKILL the raylet and every process under it (its workers, running our runs, and its
    agents): the node is gone as if its machine had died."""
    parents = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    doomed, grew = {raylet}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in doomed} - doomed
        doomed |= more
        grew = bool(more)
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_node_killed_mid_sweep_has_its_runs_retried(cluster, tmp_path):
    out = tmp_path / "ray"
    # As docs/reproduce.md has it: RAY_AUTH_MODE=token and the token, on the driver's machine too.
    sweep = reproduce(out, "--engine", "ray", "--address", cluster.address, "--candidates", "3", "--max-epochs", "12",
                      "--patience", "12", wait=False, env=cluster.env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(sweep.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(line.startswith("[1/6]") for line in lines) or sweep.poll() is not None, 300,
                 "the first run to finish")
        time.sleep(1.5)             # both nodes are into their next runs (each takes seconds)
        kill_node(raylet_of(cluster.nodes[1]))                           # the node dies mid-sweep
        killed = time.monotonic()
        assert sweep.wait(timeout=400) == 0, "".join(lines)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        reader.join(timeout=5)
    text = "".join(lines)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "ray-node-killed.log").write_text(text)       # for CI's reader
    assert "will be retried" in text, text                               # a run was on the dead node
    assert len(runs(out)) == 6 and not list(out.rglob("*.failed.json")), text
    assert "[6/6]" in text and time.monotonic() > killed


def test_without_ray_the_command_says_how_to_install_it(tmp_path):
    broken = tmp_path / "ray"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('no ray here')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = subprocess.run([sys.executable, "-m", "core", "reproduce", *TINY, "--out", str(tmp_path / "out"),
                             "--engine", "ray"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and "pip install -r requirements-ray.txt" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_driver_carries_a_token_it_finds_and_keeps_an_explicit_mode(tmp_path):
    env = {}
    assert not carry_ray_token(env, home=tmp_path) and env == {}            # no token: Ray as it is
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("a-token")                # as a local ray.init() leaves
    assert carry_ray_token(env, home=tmp_path) and env == {"RAY_AUTH_MODE": "token"}
    env = {"RAY_AUTH_MODE": "disabled"}
    assert not carry_ray_token(env, home=tmp_path) and env == {"RAY_AUTH_MODE": "disabled"}
    env = {"RAY_AUTH_TOKEN": "a-token"}
    assert carry_ray_token(env, home=tmp_path / "elsewhere") and env["RAY_AUTH_MODE"] == "token"
