"""The worker process behind each browser session: it answers, and nothing outlives its page."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.worker import LabClient
from core.lab import LabSettings

ROOT = Path(__file__).resolve().parents[1]


def gone(pid: int, timeout: float) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def wait_ready(client: LabClient, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not client.status.get("ready"):
        client.get(timeout=0.5)
        assert time.monotonic() < deadline, "the worker never got ready"


def test_two_sessions_train_their_own_models_and_close_ends_them():
    a = LabClient(LabSettings(archs=("lstm",)).to_dict())
    b = LabClient(LabSettings(archs=("lstm",), seed=1).to_dict())
    try:
        wait_ready(a)
        wait_ready(b)
        a.request("step", timeout=30)
        assert a.request("step", timeout=30)["status"]["updates"] == {"lstm": 2}
        assert b.request("step", timeout=30)["status"]["updates"] == {"lstm": 1}
        assert a.proc.pid != b.proc.pid
    finally:
        a.close()
        b.close()
    assert a.proc.poll() is not None and b.proc.poll() is not None


def test_a_silent_page_lets_the_worker_exit(monkeypatch):
    monkeypatch.setenv("GATELAB_WORKER_TIMEOUT", "1")
    client = LabClient()  # never spoken to again, like a closed browser tab
    try:
        assert client.proc.wait(timeout=60) == 0
    finally:
        client.close()


def test_the_worker_dies_with_its_server():
    code = ("from app.worker import LabClient; c = LabClient(); print(c.proc.pid, flush=True); "
            "import time; time.sleep(120)")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    worker_pid = int(server.stdout.readline())
    server.send_signal(signal.SIGKILL)
    server.wait()
    assert gone(worker_pid, timeout=30)
