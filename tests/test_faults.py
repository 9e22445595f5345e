"""Faults a class will meet, each reproduced: opens racing the cap, a worker killed mid-training,
a fork refused, a zygote that dies while warming up or at start, a download after the worker has
gone, a signal to the whole process group, and orphaned workers in the container's image."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app import worker
from app.processes import Process
from app.worker import ServerFull, WorkerGone, WorkerPool
from core.lab import protocol
from core.training.settings import LabSettings
from tests.apptest import new_app
from tests.faults import plant
from tests.test_app import ready, run_until, updates
from tests.test_app_worker import gone, state, wait_ready

ROOT = Path(__file__).resolve().parents[1]
SMALL = LabSettings(archs=("lstm",), budget=2000).to_dict()


def test_the_cap_holds_when_sessions_open_at_once():
    pool = WorkerPool(limit=2, is_active=lambda s: True)
    assert pool.zygote().ready.wait(protocol.ZYGOTE_START_S)
    opened, refused, start = [], [], threading.Barrier(6)

    def open_one(i):
        start.wait()
        try:
            opened.append(pool.open(f"s{i}", SMALL))
        except ServerFull:
            refused.append(i)
    try:
        threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (len(opened), len(refused)) == (2, 4)
        assert pool.count() == 2
    finally:
        pool.shutdown()


def test_a_client_whose_zygote_dies_while_warming_frees_its_place():
    pool = WorkerPool(limit=1, is_active=lambda s: True)
    try:
        client = pool.open("a", SMALL)  # the zygote is still importing torch: no worker yet
        assert client.pid is None and client.alive
        pool.zygote().proc.kill()
        deadline = time.monotonic() + 10
        while client.alive:
            assert time.monotonic() < deadline, "a client of a dead zygote still counts as alive"
            time.sleep(0.1)
        with pytest.raises(WorkerGone):
            client.get(timeout=0.1)
        fresh = pool.open("b", SMALL)  # its place is free, and a new zygote serves it
        wait_ready(fresh)
        assert fresh.request("step", timeout=30)["status"]["updates"] == {"lstm": 1}
    finally:
        pool.shutdown()


@pytest.fixture
def fork_fault(tmp_path, monkeypatch) -> Path:
    """The file that, while it exists, makes every fork of zygotes started from now on fail."""
    flag = tmp_path / "fail-next-fork"
    for name, value in plant(tmp_path / "site", GATELAB_TEST_FAIL_FORK=str(flag)).items():
        monkeypatch.setenv(name, value)
    return flag


def test_a_failed_fork_leaves_the_zygote_and_other_workers_alive(fork_fault):
    flag = fork_fault
    pool = WorkerPool(limit=4, is_active=lambda s: True)
    try:
        assert pool.zygote().ready.wait(protocol.ZYGOTE_START_S)
        first = pool.open("a", SMALL)
        wait_ready(first)
        flag.touch()
        with pytest.raises(WorkerGone, match="could not start another process"):
            pool.open("b", SMALL)
        assert flag.read_text() == "refused\n", "the planted fault never fired"
        flag.unlink()
        assert pool.zygote().alive and pool.count() == 1
        assert first.request("step", timeout=30)["status"]["updates"] == {"lstm": 1}
        second = pool.open("b", SMALL)  # the next fork works
        wait_ready(second)
    finally:
        pool.shutdown()


def test_a_failed_fork_is_a_message_on_the_page_and_the_page_retries(fork_fault, monkeypatch):
    flag = fork_fault
    monkeypatch.setattr(worker, "_pool", WorkerPool())
    try:
        assert worker.pool().zygote().ready.wait(protocol.ZYGOTE_START_S)
        flag.touch()
        at = new_app(lang="ko").run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("학습 프로세스를 시작하지 못했습니다" in e.value for e in at.error), [e.value for e in at.error]
        assert flag.read_text().startswith("refused\n"), "the planted fault never fired"
        flag.unlink()
        run_until(at, ready, what="the page to take a worker once forks work again")
    finally:
        worker.pool().shutdown()


def test_a_killed_worker_is_said_and_the_page_trains_on():
    at = run_until(new_app(), ready, what="the models to be built")
    try:
        at.button(key="play").click()
        run_until(at, lambda a: min(updates(a)) >= 3, what="training")
        old = at.session_state["lab_client"]
        os.kill(old.pid, signal.SIGKILL)  # the OOM killer, a crash
        run_until(at, lambda a: any("had stopped" in w.value for w in a.warning), timeout=30,
                  what="the page to say the worker stopped")
        new = at.session_state["lab_client"]
        assert new is not old and new.pid != old.pid
        run_until(at, lambda a: ready(a) and min(updates(a)) >= 3, what="the fresh worker to train on by itself")
        assert any("had stopped" in w.value for w in at.warning), "the note went before anyone could read it"
    finally:
        at.session_state["lab_client"].close()


def test_the_metrics_download_after_the_worker_is_gone_is_a_message(monkeypatch):
    from app import session
    pool = WorkerPool(limit=1, is_active=lambda s: True)
    try:
        client = pool.open("a", SMALL)
        wait_ready(client)
        os.kill(client.pid, signal.SIGKILL)
        assert gone(client.pid, 10)
        monkeypatch.setattr(session.st, "session_state", {session.CLIENT_KEY: client})
        monkeypatch.setattr(session.i18n, "lang", lambda: "en")
        text = session.csv_source()()
        assert text.startswith("error\n") and "has ended" in text
    finally:
        pool.shutdown()


def test_a_zygote_that_dies_at_start_makes_the_server_fail_fast_with_a_message(tmp_path):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "app.serve", "--server.port", "9", "--server.headless", "true"],
                            cwd=ROOT, env={**os.environ, "GATELAB_WORKER_NICE": "five", "TMPDIR": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "GATELAB_WORKER_NICE must be a whole number" in result.stderr
    assert "failed to start" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert time.monotonic() - started < 60, "the server waited for a zygote that was already dead"
    assert not list(tmp_path.glob("gatelab-*")), "the socket's directory was left behind"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_group_leaves_no_socket_behind(tmp_path, signum):
    from benchmarks.live_page import streamlit_server
    with streamlit_server(env={"TMPDIR": str(tmp_path)}) as url:
        sockets = list(tmp_path.glob("gatelab-*/zygote.sock"))
        assert len(sockets) == 1, "the zygote's socket is not where the test looks"
        port = url.rsplit(":", 1)[1]
        server = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _is_server(p, port))
        os.killpg(server, signum)  # Ctrl-C in a terminal, systemd's stop: the whole group
        deadline = time.monotonic() + 20
        while state(server) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not list(tmp_path.glob("gatelab-*")), "the socket (or its directory) was left behind"


def _is_server(proc: Path, port: str) -> bool:
    try:
        cmd = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"app.serve" in cmd and port.encode() in cmd


def test_a_process_handle_knows_its_process_has_ended():
    sleeper = subprocess.Popen(["sleep", "30"])
    handle = Process(sleeper.pid)
    assert handle.running()
    sleeper.kill()
    sleeper.wait()
    assert not handle.running() and not handle.running()
    handle.stop(0)  # a no-op on an ended process: nothing else gets the signal


ORPHANS = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from app.worker import WorkerPool
from core.training.settings import LabSettings
if {subreaper}:  # the server as PID 1 would be: orphans come to it
    import ctypes
    ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
pool = WorkerPool(limit=2, is_active=lambda s: True)
pool.zygote().ready.wait(180)
clients = [pool.open(str(i), LabSettings(archs=("lstm",), budget=2000).to_dict()) for i in range(2)]
for c in clients:
    while not c.status.get("ready"):
        c.get(timeout=0.5)
print(*[c.pid for c in clients], flush=True)
zygote = pool.zygote().proc
zygote.kill()  # the zygote dies: its workers are orphans
zygote.wait()
time.sleep(60)
"""


def image_entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT (the exec form), as the image runs it."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            return json.loads(line.split(None, 1)[1])
    return []


def orphans_left(command: list[str], subreaper: bool) -> list[str]:
    """Start the server's part (a pool, two workers), kill the zygote, and return the workers'
    states 8 s later (gone: None)."""
    script = ORPHANS.format(root=str(ROOT), subreaper=subreaper)
    proc = subprocess.Popen([*command, sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2, "the workers did not start"
        time.sleep(8)  # a worker notices its zygote's end within a poll (0.2 s)
        return [state(p) for p in pids]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_the_image_reaps_orphaned_workers():
    entrypoint = image_entrypoint()
    assert entrypoint and Path(entrypoint[0]).name == "tini", "the image runs no init (PID 1 reaps nothing)"
    assert Path(entrypoint[0]).exists(), f"{entrypoint[0]} is missing here (apt-get install tini)"
    # Without an init the server is PID 1 (here: a subreaper, as PID 1 is): the orphans stay zombies.
    assert orphans_left([], subreaper=True) == ["Z", "Z"]
    # Under the image's entrypoint (a subreaper here, as it is PID 1 there) they are reaped.
    assert orphans_left(entrypoint, subreaper=False) == [None, None]
