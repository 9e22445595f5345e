"""The workers behind the browser sessions: forked from one warm zygote, alive as long as their
session (not a heartbeat), ended when it closes or idles, capped, and never a zombie."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.worker import LabClient, ServerFull, WorkerGone, WorkerPool
from core.lab import protocol
from core.training.settings import LabSettings

ROOT = Path(__file__).resolve().parents[1]
SMALL = LabSettings(archs=("lstm",), budget=2000).to_dict()


def state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def gone(pid: int, timeout: float) -> bool:
    """True once ``pid`` no longer exists at all (a zombie is not gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state(pid) is None:
            return True
        time.sleep(0.1)
    return False


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def wait_ready(client: LabClient, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not client.status.get("ready"):
        client.get(timeout=0.5)
        assert time.monotonic() < deadline, "the worker never got ready"


class Sessions:
    """Which sessions a browser is connected to, as the reaper asks Streamlit."""

    def __init__(self):
        self.closed = set()

    def __call__(self, session_id: str) -> bool:
        return session_id not in self.closed


@pytest.fixture(scope="module")
def sessions():
    return Sessions()


@pytest.fixture(scope="module")
def pool(sessions):
    p = WorkerPool(limit=3, is_active=sessions)
    assert p.zygote().ready.wait(protocol.ZYGOTE_START_S), "the zygote never got ready"
    yield p
    p.shutdown()


def test_two_sessions_train_their_own_models_in_forked_workers(pool):
    a = pool.open("a", SMALL)
    b = pool.open("b", {**SMALL, "seed": 1})
    wait_ready(a)
    wait_ready(b)
    a.request("step", timeout=30)
    assert a.request("step", timeout=30)["status"]["updates"] == {"lstm": 2}
    assert b.request("step", timeout=30)["status"]["updates"] == {"lstm": 1}
    zygote = pool.zygote().proc.pid
    assert a.pid != b.pid and {a.pid, b.pid} <= set(children(zygote))
    for client in (a, b):
        client.close()
        assert gone(client.pid, timeout=10)  # reaped by the kernel: not even a zombie
    assert pool.count() == 0  # an ended worker takes no place


def test_silence_keeps_the_worker_and_its_models(pool, monkeypatch):
    """A page that sends nothing for two minutes (a hidden tab, slides on the projector) keeps
    its models: only a closed session or one idle for ``idle_cull_s`` loses them."""
    client = pool.open("quiet", SMALL)
    wait_ready(client)
    client.request("step", timeout=30)
    client.last_used -= 120  # as if the page had been silent for two minutes
    pool.reap()
    assert client.alive and pool.count() == 1
    assert client.get()["status"]["updates"] == {"lstm": 1}
    client.last_used -= 120
    monkeypatch.setenv("GATELAB_IDLE_CULL_MIN", "1")  # now two minutes is idle
    pool.reap()
    assert not client.alive and client.ended == "culled" and pool.count() == 0
    assert gone(client.pid, timeout=10)
    with pytest.raises(WorkerGone, match="culled"):
        client.get()


def test_a_closed_session_frees_its_worker_after_the_grace(pool, sessions, monkeypatch):
    client = pool.open("closing", SMALL)
    wait_ready(client)
    sessions.closed.add("closing")
    pool.reap()
    assert client.alive  # a reconnecting browser (a network blip) gets its session back
    monkeypatch.setattr(protocol, "CLOSED_GRACE_S", 0.0)
    pool.reap()
    assert client.ended == "closed" and gone(client.pid, timeout=10) and pool.count() == 0


def test_the_cap_refuses_a_session_and_says_when_a_place_frees(pool):
    clients = [pool.open(name, SMALL) for name in ("x", "y", "z")]
    with pytest.raises(ServerFull) as full:
        pool.open("w", SMALL)
    assert full.value.limit == 3 and 0 < full.value.free_in_s <= protocol.idle_cull_s()
    pool.open("x", SMALL)  # a session's new worker replaces its old one: no new place
    assert not clients[0].alive and clients[0].ended == "replaced" and pool.count() == 3
    clients[1].close()
    assert pool.open("w", SMALL).alive  # a place freed
    pool.shutdown()
    assert pool.count() == 0


def test_no_zombie_after_five_sessions_end(pool):
    zygote = pool.zygote().proc.pid
    before = set(children(zygote))
    pids = []
    for i in range(5):
        client = pool.open(f"s{i}", SMALL)
        wait_ready(client)
        pids.append(client.pid)
        client.close()
    pool.reap()
    assert all(gone(pid, timeout=10) for pid in pids)
    assert set(children(zygote)) == before
    assert [state(c) for c in children(os.getpid())].count("Z") == 0


def test_default_cap_follows_the_machine(monkeypatch):
    monkeypatch.delenv("GATELAB_MAX_WORKERS", raising=False)
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(protocol, "_available_mb", lambda: 1024 + 5 * protocol.WORKER_MB)
    assert protocol.max_workers() == min(5, protocol.WORKERS_PER_CORE * cores)
    monkeypatch.setattr(protocol, "_available_mb", lambda: 10**7)
    assert protocol.max_workers() == protocol.WORKERS_PER_CORE * cores
    monkeypatch.setenv("GATELAB_MAX_WORKERS", "2")
    assert protocol.max_workers() == 2


def test_the_zygote_and_its_workers_die_with_their_server():
    code = ("from app.worker import pool; from core.training.settings import LabSettings; "
            "c = pool().open('s', LabSettings(archs=('lstm',), budget=2000).to_dict()); "
            "c.request('step', timeout=120); print(pool().zygote().proc.pid, c.pid, flush=True); "
            "import time; time.sleep(120)")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    try:
        zygote_pid, worker_pid = map(int, server.stdout.readline().split())
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    assert gone(worker_pid, timeout=30) and gone(zygote_pid, timeout=30)


def test_a_dead_zygote_is_replaced_on_the_next_session(sessions):
    p = WorkerPool(limit=2, is_active=sessions)
    try:
        first = p.zygote()
        assert first.ready.wait(protocol.ZYGOTE_START_S)
        first.proc.kill()
        first.proc.wait()
        client = p.open("after", SMALL)
        assert p.zygote() is not first
        wait_ready(client)
    finally:
        p.shutdown()
