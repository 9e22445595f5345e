"""The server's handles on the Lab's processes: the zygote it starts, and each worker's process.

Imports no torch (``app.worker`` says why).
"""
import atexit
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from core.lab import protocol

ROOT = Path(__file__).resolve().parents[1]


class WorkerGone(RuntimeError):
    """The worker process ended (or was ended); the page starts a fresh one."""


class Zygote:
    """``python -m core.lab.worker --zygote SOCKET``: warmed once, forks a worker per connect."""

    def __init__(self):
        self._dir = tempfile.mkdtemp(prefix="gatelab-")  # mode 0700: only this user can connect
        atexit.register(shutil.rmtree, self._dir, ignore_errors=True)  # also if the zygote never got to
        self.path = os.path.join(self._dir, "zygote.sock")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "core.lab.worker", "--zygote", self.path],
                                     cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.ready = threading.Event()
        threading.Thread(target=self._wait_ready, daemon=True, name="gatelab-zygote").start()

    def _wait_ready(self) -> None:
        for line in self.proc.stdout:
            if line.strip() == b"ready":
                self.ready.set()
                break
        self.proc.stdout.close()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None  # poll() also reaps it: never a zombie

    def connect(self) -> tuple[Connection, int]:
        """A new worker: its connection and its process id."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(protocol.CONNECT_S)
        try:
            sock.connect(self.path)
            sock.setblocking(True)
            conn = Connection(sock.detach())
        except OSError:
            sock.close()
            raise WorkerGone("the training processes are not running") from None
        try:
            if not conn.poll(protocol.CONNECT_S):
                raise WorkerGone("the training process did not start")
            _, hello = conn.recv()
        except (EOFError, OSError):  # the zygote closed the connection: it died, or could not fork
            conn.close()
            raise WorkerGone("the training process could not start") from None
        except WorkerGone:
            conn.close()
            raise
        if "pid" not in hello:  # the zygote's own word: e.g. a failed fork under a pids limit
            conn.close()
            raise WorkerGone(hello.get("error", "the training process could not start"))
        return conn, hello["pid"]

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=protocol.STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


class Process:
    """A worker's process, held by a pidfd where the kernel offers them: a process id alone may
    name another process once the worker has ended and its id is reused. Elsewhere (no pidfd),
    /proc, which then cannot tell a reused id."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            self._fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux >= 5.3, or a sandbox without them
            self._fd = None

    def running(self) -> bool:
        if self._fd is None:
            return _running(self.pid)
        if self._fd < 0:
            return False
        poll = select.poll()
        poll.register(self._fd, select.POLLIN)
        if poll.poll(0):  # a pidfd reads ready once its process has ended
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._fd is not None and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self):
        self.close()

    def stop(self, wait: float) -> None:
        """Wait up to ``wait`` s for it to end, then kill it."""
        deadline = time.monotonic() + wait
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.running():
            return
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        return True
