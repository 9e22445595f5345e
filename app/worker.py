"""The page's handle on its training worker: one ``python -m core.lab_worker`` process per session.

Why a separate process: training in a thread of the Streamlit server halved the page's
refresh rate (threads share the interpreter lock), and a forked/spawned multiprocessing
child does not work once the server has imported torch or runs under ``streamlit run``
(shared/MEASURED.md). A fresh interpreter with two pipes has none of these problems, and
nothing is orphaned: the worker exits when its pipe closes, when its parent dies, or when
no message arrives for ``core.lab_worker.HEARTBEAT_TIMEOUT_S``; a client that is garbage-collected
(its session ended) stops its worker.
"""
import itertools
import os
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class WorkerGone(RuntimeError):
    """The worker process ended (or was ended); the page starts a fresh one."""


class LabClient:
    """Send commands to a worker and wait for their replies (``None`` when it is busy).

    Replies arrive in order, each tagged with the id of its command; a reply that comes
    after its caller stopped waiting is read and dropped by the next call. ``status`` holds
    the worker's latest status (ready, running, updates, error, ...).
    """

    def __init__(self, settings: dict | None = None, dataset=None):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "core.lab_worker"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._out = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self._in = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting_get = None  # (id, request) of a "get" still unanswered: not resent while busy
        self.status: dict = {"ready": False, "running": False, "error": None}
        self.settings, self.dataset = settings, dataset
        self._finalizer = weakref.finalize(self, _stop, self.proc, self._out, self._in)
        if settings is not None:
            self.reset(settings, dataset, timeout=0)  # no wait: the worker warms up meanwhile

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(self, command: str, *args, timeout: float = 2.0):
        """Send ``command`` and wait up to ``timeout`` s for its reply (``None`` if late)."""
        with self._lock:
            self._drain(0)
            if command == "get" and self._waiting_get and self._waiting_get[1] == args:
                return self._await(self._waiting_get[0], timeout)  # still busy: do not pile up
            message_id = next(self._ids)
            try:
                self._out.send((message_id, command, *args))
            except (OSError, ValueError):
                raise WorkerGone("the training process has ended") from None
            if command == "get":
                self._waiting_get = (message_id, args)
            return self._await(message_id, timeout)

    def reset(self, settings: dict, dataset=None, timeout: float = 60.0):
        """New models from ``settings`` (a LabSettings dict) on ``dataset`` (None: by name)."""
        self.settings, self.dataset = settings, dataset
        return self.request("reset", settings, dataset, timeout=timeout)

    def get(self, timeout: float = 1.0, **request):
        return self.request("get", request, timeout=timeout)

    def _await(self, message_id: int, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            reply = self._drain(max(deadline - time.monotonic(), 0), until=message_id)
            if reply is not None or time.monotonic() >= deadline:
                return reply

    def _drain(self, wait: float, until: int | None = None):
        """Read replies that are ready (waiting up to ``wait`` s for the first); return the
        reply to ``until`` if it is among them."""
        try:
            while self._in.poll(wait):
                got, reply = self._in.recv()
                self.status = reply["status"]
                if self._waiting_get and got == self._waiting_get[0]:
                    self._waiting_get = None
                if got == until:
                    return reply
                wait = 0
        except (EOFError, OSError):
            raise WorkerGone("the training process has ended") from None
        if not self.alive:
            raise WorkerGone("the training process has ended")
        return None

    def close(self) -> None:
        self._finalizer()


def _stop(proc: subprocess.Popen, out: Connection, inbox: Connection) -> None:
    """Ask the worker to stop, then make sure it has (it never outlives its client)."""
    try:
        out.send((0, "stop"))
    except (OSError, ValueError):
        pass
    for conn in (out, inbox):
        conn.close()
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=2)
