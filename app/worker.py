"""The server's side of the Lab's workers: one zygote per server, one forked worker per browser
session, and a reaper that ends the workers of closed and idle sessions (the protocol, every
timeout and the limits: ``core.lab.protocol``; the worker: ``core.lab.worker``).

Imports no torch: the web server stays small, so Streamlit's work between script runs stays
cheap, and thirty open pages cost it little.
"""
import itertools
import sys
import threading
import time

from app.processes import Process, WorkerGone, Zygote
from core.lab import protocol


class ServerFull(RuntimeError):
    """Every worker place is taken; ``free_in_s`` says when the next one frees at the latest."""

    def __init__(self, limit: int, free_in_s: float):
        super().__init__(f"all {limit} places are taken")
        self.limit, self.free_in_s = limit, free_in_s


class LabClient:
    """Send commands to a session's worker and wait for their replies (``None`` when busy).

    The worker is forked on first use, once the zygote is ready (until then every request
    answers ``None`` and ``status`` says not ready). Replies arrive in order, each tagged with the
    id of its command; a reply that comes after its caller stopped waiting is read and dropped
    by the next call. ``status`` holds the worker's latest status (ready, running, updates,
    error, limit, ...). ``last_used`` is when the page last asked anything (the idle culler's
    clock); ``ended`` says why the reaper ended it ("closed" or "culled"), else None.
    """

    def __init__(self, settings: dict | None = None, dataset=None, zygote: Zygote | None = None):
        self._zygote = zygote or pool().zygote()
        self._conn, self.pid, self._process = None, None, None
        self._gone = False  # the worker (or the zygote it waited for) ended under it
        self._ids = itertools.count(1)
        self._lock = threading.Lock()      # one request at a time
        self._ending = threading.Lock()    # the ended flag, set without waiting for a request
        self._waiting_get = None  # (id, request) of a "get" still unanswered: not resent while busy
        self.status: dict = {"ready": False, "running": False, "error": None}
        self.settings, self.dataset = settings, dataset
        self.wanted = None  # what the page last asked for (app.session)
        self.numbers = None  # the latest reply with numbers the page got: the class board reads it
        self.last_used, self.ended, self._closed = time.monotonic(), None, False
        self._pending_reset = settings is not None  # sent on connect
        self._connect(wait=0)

    @property
    def alive(self) -> bool:
        """Whether this client's worker runs, or (before its fork) the zygote that will fork it."""
        if self._closed or self._gone:
            return False
        if self._process is None:
            return self._zygote.alive
        return self._process.running()

    def _connect(self, wait: float) -> bool:
        """Fork the worker when the zygote is ready (waiting up to ``wait`` s for it)."""
        if self._conn is not None:
            return True
        if not self._zygote.ready.wait(wait):
            if not self._zygote.alive:
                raise WorkerGone("the training processes could not start")
            return False
        self._conn, self.pid = self._zygote.connect()
        self._process = Process(self.pid)
        if self._pending_reset:
            self._pending_reset = False
            self._send("reset", self.settings, self.dataset)
        return True

    def _send(self, command: str, *args) -> int:
        message_id = next(self._ids)
        try:
            self._conn.send((message_id, command, *args))
        except (OSError, ValueError):
            raise WorkerGone("the training process has ended") from None
        return message_id

    def request(self, command: str, *args, timeout: float = protocol.REPLY_S):
        """Send ``command`` and wait up to ``timeout`` s for its reply (``None`` if late).
        ``WorkerGone`` once the worker has ended: from then on ``alive`` is False."""
        try:
            return self._request(command, *args, timeout=timeout)
        except WorkerGone:
            self._gone = True
            raise

    def _request(self, command: str, *args, timeout: float):
        with self._lock:
            self.last_used = time.monotonic()
            if self._closed:
                raise WorkerGone(f"the training process was {self.ended or 'stopped'}")
            if not self._connect(wait=timeout if command != "get" else 0):
                if command == "reset":
                    self._pending_reset = True  # settings already stored by reset()
                return None
            self._drain(0)
            if command == "get" and self._waiting_get and self._waiting_get[1] == args:
                return self._await(self._waiting_get[0], timeout)  # still busy: do not pile up
            message_id = self._send(command, *args)
            if command == "get":
                self._waiting_get = (message_id, args)
            return self._await(message_id, timeout)

    def reset(self, settings: dict, dataset=None, timeout: float = 60.0):
        """New models from ``settings`` (a LabSettings dict) on ``dataset`` (None: by name)."""
        self.settings, self.dataset = settings, dataset
        return self.request("reset", settings, dataset, timeout=timeout)

    def get(self, timeout: float = 1.0, **request):
        reply = self.request("get", request, timeout=timeout)
        if not request and reply is not None and "metrics" in reply:  # the page's numbers, for the
            self.numbers = reply                                        # class board (app/classroom.py)
        return reply

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
            while self._conn.poll(wait):
                got, reply = self._conn.recv()
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

    def close(self, reason: str | None = None) -> None:
        """Stop the worker: ask, then make sure (it never outlives its client)."""
        if self.end(reason):
            self.stop()

    def end(self, reason: str | None) -> bool:
        """Mark the client ended (no request goes out after this); False if it already was."""
        with self._ending:
            if self._closed:
                return False
            self._closed, self.ended = True, reason
            return True

    def stop(self) -> None:
        """Ask the ended worker to stop, then kill it if it has not (waits for a request in flight)."""
        with self._lock:
            conn = self._conn
            if conn is not None:
                try:
                    conn.send((0, "stop"))
                except (OSError, ValueError):
                    pass
                conn.close()
        if self._process is not None:
            self._process.stop(protocol.STOP_WAIT_S)


class WorkerPool:
    """Every session's worker in this server: the zygote, the cap, and the reaper thread."""

    def __init__(self, limit: int | None = None, is_active=None):
        self.limit = limit or protocol.max_workers()
        self._is_active = is_active or _session_is_active
        self._zygote: Zygote | None = None
        self._clients: dict[str, LabClient] = {}
        self._disconnected: dict[str, float] = {}
        self._opening = 0  # places taken by clients being built (outside the lock: a fork takes ms)
        self._lock = threading.Lock()
        self._reaper = threading.Thread(target=self._reap_forever, daemon=True, name="gatelab-reaper")
        self._reaper.start()

    def zygote(self) -> Zygote:
        with self._lock:
            if self._zygote is None or not self._zygote.alive:
                if self._zygote is not None:
                    self._zygote.stop()
                self._zygote = Zygote()
            return self._zygote

    def open(self, session_id: str, settings: dict | None = None, dataset=None) -> LabClient:
        """A new worker for ``session_id`` (its old one, if any, is stopped); ServerFull if
        every place is taken."""
        with self._lock:
            self._clients = {s: c for s, c in self._clients.items() if c.alive}  # ended: no place
            old = self._clients.pop(session_id, None)
            if len(self._clients) + self._opening >= self.limit:
                if old is not None:
                    self._clients[session_id] = old
                raise ServerFull(self.limit, self._next_free_s())
            self._opening += 1  # this place is ours while the client is built
        try:
            if old is not None:
                old.close("replaced")
            client = LabClient(settings, dataset, zygote=self.zygote())
            with self._lock:
                self._clients[session_id] = client
        finally:
            with self._lock:
                self._opening -= 1
        return client

    def _next_free_s(self) -> float:
        """At the latest, when the idlest session will be culled."""
        oldest = min((c.last_used for c in self._clients.values()), default=time.monotonic())
        return max(0.0, oldest + protocol.idle_cull_s() - time.monotonic())

    def sessions(self) -> dict[str, LabClient]:
        """Session id -> client of every session whose worker runs and whose browser is connected
        (a reloaded page's old session is left out: it is closing). The class board reads it."""
        with self._lock:
            clients = dict(self._clients)
        return {sid: c for sid, c in clients.items() if c.alive and self._is_active(sid)}

    def count(self) -> int:
        """Places taken: sessions whose worker runs, and those being opened."""
        with self._lock:
            return sum(c.alive for c in self._clients.values()) + self._opening

    def reap(self) -> None:
        """One round: end the workers of closed and idle sessions, forget dead ones."""
        now, ended = time.monotonic(), []
        with self._lock:
            for sid, client in list(self._clients.items()):
                if not client.alive:
                    del self._clients[sid]
                    continue
                if self._is_active(sid):
                    self._disconnected.pop(sid, None)
                else:
                    self._disconnected.setdefault(sid, now)
                closed = now - self._disconnected.get(sid, now) >= protocol.CLOSED_GRACE_S
                idle = now - client.last_used >= protocol.idle_cull_s()
                if closed or idle:
                    del self._clients[sid]
                    self._disconnected.pop(sid, None)
                    ended.append((client, "closed" if closed else "culled"))
            self._disconnected = {s: t for s, t in self._disconnected.items() if s in self._clients}
        for client, reason in ended:  # ended now; stopped on its own thread (a request in flight
            if client.end(reason):       # holds the client's lock)
                threading.Thread(target=client.stop, daemon=True, name="gatelab-stop").start()
        if self._zygote is not None:
            self._zygote.proc.poll()  # reaps a zygote that died: never a zombie

    def _reap_forever(self) -> None:
        while True:
            time.sleep(protocol.REAP_EVERY_S)
            try:
                self.reap()
            except Exception as e:  # noqa: BLE001 - the reaper must outlive any one bad round
                print(f"gatelab reaper: {type(e).__name__}: {e}", file=sys.stderr, flush=True)

    def shutdown(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close("stopped")
        if self._zygote is not None:
            self._zygote.stop()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    """This server's pool, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
        return _pool


def _session_is_active(session_id: str) -> bool:
    """Whether a browser is connected to ``session_id`` (outside a Streamlit server: always)."""
    from streamlit import runtime
    if not runtime.exists():
        return True
    return runtime.get_instance().is_active_session(session_id)
