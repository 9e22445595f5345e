"""The Lab's workers: ``python -m core.lab.worker --zygote SOCKET`` once per web server, which
forks one worker per browser session (the protocol, its timeouts and limits: ``core.lab.protocol``).

Training runs outside the web server's interpreter (training in a thread of the server halved
the page's refresh rate: threads share the interpreter lock). The zygote pays once for what every
worker needs (torch, numba and their compiled loops, the built-in data: seconds and hundreds of
MB); a forked worker shares those pages with it and starts in milliseconds.
"""
import gc
import os
import signal
import socket
import sys
import time

from core.errors import GateLabError
from core.insight.lesson import lesson_view
from core.lab import LOSS_MAX_POINTS, Lab, history_csv, load_lab_dataset, protocol
from core.lab.warm_up import refuse_autograd, warm_up, warm_up_training
from core.training.settings import LabSettings

PRELOADED = ("chorales",)  # datasets the zygote loads once for every worker (the Lab's default)
_datasets: dict = {}


class SessionTooLarge(GateLabError):
    """A setup over ``core.lab.protocol.MAX_SESSION_WORK``; ``values`` word the page's message."""

    def __init__(self, values: dict):
        super().__init__(f"one update of {values['work']:,} (parameters x sequences x steps) is over "
                         f"this server's limit of {values['max_work']:,}")
        self.values = values


class Worker:
    """Commands in, replies out; trains between commands while playing.

    Commands: ``reset`` (settings dict [, dataset]), ``play``, ``pause``, ``step``, ``get``
    (a request dict), ``stop``. Every reply is a dict holding ``status``. ``published`` is the
    latest plain ``get`` reply (numbers and loss history), refreshed as training goes;
    ``published_views`` is (request, reply) for the last ``get`` of ``views``, re-traced as
    training goes, so that the page's next identical request is answered at once.
    """

    PUBLISH_EVERY_S = protocol.PUBLISH_EVERY_S
    VIEWS_EVERY_S = protocol.VIEWS_EVERY_S

    def __init__(self):
        self.lab, self.running, self.error, self.generation = None, False, None, 0
        self.limit = None  # SessionTooLarge.values of the last refused reset
        self._models: dict = {}  # ModelRef identity -> built model, for ``compute``
        self.published, self._published_at = None, 0.0
        self.published_views, self._views_at = None, 0.0

    def status(self) -> dict:
        lab = self.lab
        return {"ready": lab is not None, "running": self.running, "error": self.error,
                "limit": self.limit,
                "generation": self.generation, "steps": lab.steps if lab else 0,
                "epoch": lab.epoch if lab else 0, "messages": lab.warnings() if lab else [],
                "updates": {a: t.updates for a, t in lab.trainers.items()} if lab else {}}

    def handle(self, command: str, *args) -> dict:
        if command == "compute":  # its failure is the page's to show; the Lab's state stays
            try:
                return {"status": self.status(), "result": self.compute(*args)}
            except Exception as e:  # noqa: BLE001 - e.g. a damaged checkpoint: reported, not fatal
                return {"status": self.status(), "failed": _describe(e)}
        reply = {}
        try:
            if command == "reset":
                self._reset(*args)
            elif command in ("play", "pause"):
                self.running = command == "play" and self.lab is not None
            elif command == "step":
                self.running = False
                if self.lab:
                    self.lab.step()
            elif command == "get" and self.lab:
                request = args[0] if args else {}
                reply = self._get(**request)
                if set(request) == {"views"}:  # the page's views: keep them up to date
                    self.published_views = (request["views"], {"status": self.status(), **reply})
                    self._views_at = time.monotonic()
        except SessionTooLarge as e:
            self.running, self.error, self.limit = False, str(e), e.values
        except Exception as e:  # noqa: BLE001 - reported to the page, the session goes on
            self.running, self.error = False, _describe(e)
        self.publish(force=True)
        if command != "get":  # play, pause, step, reset: the views' status (and weights) changed
            self.publish_views(force=True)
        return {"status": self.status(), **reply}

    def compute(self, name: str, args: tuple = (), kwargs: dict | None = None):
        """``protocol.COMPUTE[name](model, *args[1:], **kwargs)`` with the model ``args[0]`` names
        (a ``ModelRef``; any other first argument, e.g. an uploaded file's bytes, as it is)."""
        import importlib

        from core.units.records import ModelRef
        module, function = protocol.COMPUTE[name]
        f = getattr(importlib.import_module(module), function)
        first = self._model(args[0]) if args and isinstance(args[0], ModelRef) else args[0]
        return f(first, *args[1:], **(kwargs or {}))

    def _model(self, ref):
        """The model a ``core.units.records.ModelRef`` names, built once (a shipped one: sha256 checked)."""
        from core.training.pretrained import load_pretrained, model_from_weights
        key = ("pretrained", ref.pretrained) if ref.pretrained else ("weights", ref.key)
        if key not in self._models:
            if ref.pretrained:
                model = load_pretrained(ref.pretrained)[0]
            else:
                model = model_from_weights(ref.weights["spec"], ref.weights["state_dict"])
            self._models[key] = model
            while len(self._models) > protocol.MODELS_KEPT:
                self._models.pop(next(iter(self._models)))
        return self._models[key]

    def _reset(self, settings: dict, dataset=None) -> None:
        self.lab, self.running, self.error, self.limit = None, False, None, None
        self.published_views = None  # traces of the old models
        self.generation += 1
        lab_settings = LabSettings(**settings)
        dataset = dataset or _dataset(lab_settings.dataset)
        longest = max((len(p) for p in dataset.splits["train"]), default=0)
        over = protocol.too_large(lab_settings.to_dict(), longest)
        if over:
            raise SessionTooLarge(over)
        self.lab = Lab(lab_settings, dataset)
        self.lab.views(0)  # warm up the traces (numba), so the first Play draws at once

    def _get(self, views: dict | None = None, csv: bool = False, max_points: int = LOSS_MAX_POINTS,
             weights: bool = False, lesson: bool = False):
        lab = self.lab
        reply = {"metrics": lab.metrics(), "loss": lab.loss_history(max_points),
                 "dataset": {"title": lab.dataset.title, "n_pieces": len(lab.pieces),
                             "steps_per_beat": float(lab.dataset.steps_per_beat),
                             "valid_pieces": len(lab.valid),
                             "valid_steps": int(sum(len(p) for p in lab.valid))}}
        if views is not None:
            reply["views"] = lab.views(**views)
        if csv:
            reply["csv"] = history_csv(lab.history_rows())
        if weights:
            reply["weights"] = lab.weights()
        if lesson and lab.settings.dataset == "long-memory":  # the lesson's views, from these models
            reply["lesson"] = lesson_view({a: t.model for a, t in lab.trainers.items()},
                                          lab.dataset.splits["valid"])
        return reply

    def publish(self, force: bool = False) -> None:
        if force or time.monotonic() - self._published_at >= self.PUBLISH_EVERY_S:
            self.published = {"status": self.status(), **(self._get() if self.lab else {})}
            self._published_at = time.monotonic()

    def publish_views(self, force: bool = False) -> None:
        """Re-trace the last requested views (if any) when due, for ``published_views``."""
        if self.lab is None or self.published_views is None:
            return
        if force or time.monotonic() - self._views_at >= self.VIEWS_EVERY_S:
            request = self.published_views[0]
            try:
                reply = self._get(views=request)
            except Exception:  # noqa: BLE001 - no cache then: the page's next request asks the loop
                self.published_views = None
                return
            self.published_views = (request, {"status": self.status(), **reply})
            self._views_at = time.monotonic()

    def tick(self) -> None:
        """Train one shared step while playing."""
        if self.running and self.lab is not None:
            try:
                self.lab.step()
            except Exception as e:  # noqa: BLE001
                self.running, self.error = False, _describe(e)
            self.publish(force=not self.running)
            self.publish_views()


def _describe(e: Exception) -> str:
    """A user-facing line: data errors carry their own message; others name the type."""
    if isinstance(e, (GateLabError, ValueError)):  # the user's input: its own message
        return str(e)
    return f"{type(e).__name__}: {e}"


def run_worker(conn) -> None:
    """Serve commands from ``conn`` (a Connection) until ``stop``, end of file, or the zygote's end.

    Messages arrive as ``(id, command, *args)``; replies go back as ``(id, reply)``.
    A reader thread answers a plain ``get`` at once from ``Worker.published``, and a repeated
    ``get`` of the same views from ``Worker.published_views``, so neither of the page's
    refreshes waits for a training step (a refresh that waits holds up the session's next
    click on the server: Pause); every other command is applied by the training loop between
    two steps (Pause acts within one step of the models). Silence is no reason to exit: a
    hidden browser tab sends nothing, and its models must live on (``core.lab.protocol``).
    """
    import queue
    import threading
    worker, parent, commands, send = Worker(), os.getppid(), queue.Queue(), threading.Lock()

    def reply(message_id, body) -> None:
        with send:
            conn.send((message_id, body))

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return commands.put(None)
            cached = _cached_reply(worker, message)
            if cached is not None:
                try:
                    reply(message[0], cached)
                except OSError:
                    return commands.put(None)
            else:
                commands.put(message)
    threading.Thread(target=read, daemon=True).start()
    cold = True  # autograd's first run is still to come (``warm_up_training``)
    while True:
        if os.getppid() != parent:  # the zygote died (even by SIGKILL): we were re-parented
            return _log("the zygote is gone")
        try:
            message = (commands.get(timeout=protocol.IDLE_POLL_S) if not worker.running
                       else commands.get_nowait())
        except queue.Empty:
            if cold:  # the first idle moment: the page's first reset is answered, Play not yet pressed
                cold = False
                if not worker.running:
                    warm_up_training()
            worker.tick()
            continue
        if message is None or message[1] == "stop":
            return  # the connection closed, or the server said goodbye
        try:
            reply(message[0], worker.handle(*message[1:]))
        except OSError:
            return  # the server closed the connection mid-reply


def _cached_reply(worker: Worker, message: tuple) -> dict | None:
    """The published reply that answers ``message`` as it stands, or None."""
    if message[1] != "get":
        return None
    request = message[2] if len(message) > 2 else {}
    if not request:
        return worker.published
    published = worker.published_views  # (request, reply): read once, one consistent pair
    if set(request) == {"views"} and published is not None and request["views"] == published[0]:
        return published[1]
    return None


def _log(text: str) -> None:
    print(f"gatelab worker {os.getpid()}: {text}; exiting", file=sys.stderr, flush=True)


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] != "--zygote":
        sys.exit("usage: python -m core.lab.worker --zygote SOCKET  (started by the dashboard)")
    zygote(sys.argv[2])


def zygote(path: str) -> None:
    """Warm up once, then fork a worker for each connection to the Unix socket ``path``.

    Prints ``ready`` on stdout once it listens. Exits when its server (its parent) is gone, or on
    SIGTERM or SIGINT (Ctrl-C, systemd: the whole group gets it), removing its socket either way.
    Forked children are reaped by the kernel (SIGCHLD ignored): no worker is ever a zombie of the
    zygote's. A fork that fails (EAGAIN under a pids limit, ENOMEM) costs only that connection: its
    client is told why, and the zygote and every other worker go on.
    """
    threads, nice = _env_int("GATELAB_WORKER_THREADS", 1), _env_int("GATELAB_WORKER_NICE", 5)
    import torch
    torch.set_num_threads(threads)
    # Training yields the CPU to the web server and the browser: the pages stay live, and
    # training takes what is left; every worker has the same niceness, so the kernel shares
    # the rest fairly between the sessions that train.
    os.nice(nice)
    parent = os.getppid()
    refuse_autograd()
    warm_up()
    for name in PRELOADED:
        _dataset(name)
    gc.collect()
    gc.freeze()  # what is loaded now stays out of the collector's reach: its pages stay shared
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(64)
        listener.settimeout(protocol.ZYGOTE_POLL_S)
        print("ready", flush=True)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the server reads no more: prints go to its log
        while os.getppid() == parent:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            _fork_worker(listener, sock)
        _log("the server is gone")
    except (KeyboardInterrupt, SystemExit):
        _log("stopped by a signal")
    finally:
        listener.close()
        for remove in (lambda: os.unlink(path), lambda: os.rmdir(os.path.dirname(path))):
            try:
                remove()
            except OSError:
                pass


def _fork_worker(listener: socket.socket, sock: socket.socket) -> None:
    """Fork the worker that serves ``sock``; if the fork fails, tell its client why and go on."""
    try:
        pid = os.fork()
    except OSError as e:
        print(f"gatelab zygote: could not start a worker ({e})", file=sys.stderr, flush=True)
        _refuse(sock, f"the server could not start another process ({e.strerror or e})")
        return
    if pid == 0:
        _serve_forked(listener, sock)
    sock.close()


def _refuse(sock: socket.socket, reason: str) -> None:
    from multiprocessing.connection import Connection
    try:
        sock.setblocking(True)
        Connection(sock.detach()).send((0, {"error": reason}))  # closed when the Connection goes
    except OSError:
        sock.close()


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _env_int(name: str, default: int) -> int:
    """A whole number from the environment; a clear exit (the server then says so) if it is not one."""
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        sys.exit(f"gatelab zygote: {name} must be a whole number, not {value!r}")


def _serve_forked(listener: socket.socket, sock: socket.socket) -> None:
    """In the forked child: serve one session on ``sock``, then exit (never return)."""
    from multiprocessing.connection import Connection
    code = 0
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM):  # the zygote's own handling is not the worker's
            signal.signal(signum, signal.SIG_DFL)
        listener.close()
        sock.setblocking(True)
        conn = Connection(sock.detach())
        conn.send((0, {"pid": os.getpid()}))
        run_worker(conn)
    except BaseException as e:  # noqa: BLE001 - a child must never fall back into the zygote's loop
        _log(f"{type(e).__name__}: {e}")
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _dataset(name: str):
    """A dataset by registry name, loaded once per process (the zygote preloads the default)."""
    if name not in _datasets:
        _datasets[name] = load_lab_dataset(name)
    return _datasets[name]


if __name__ == "__main__":
    main()
