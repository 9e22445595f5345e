"""The Lab's worker process: ``python -m core.lab_worker``, one per browser session.

The dashboard starts one per session, so training never shares the web server's interpreter
(measured in shared/MEASURED.md: training in the server's own process halved the page's refresh
rate). The worker talks over its stdin/stdout pipes (``multiprocessing.connection`` messages)
and exits when the pipe closes, when the server dies, or when no message arrives for
``HEARTBEAT_TIMEOUT_S``.
"""
import time

import numpy as np

from core.lab import LOSS_MAX_POINTS, Lab, LabSettings, history_csv, load_lab_dataset
from core.models import ARCHS
from core.train import Settings, Trainer, evaluate

HEARTBEAT_TIMEOUT_S = 30.0  # no message for this long: the page is gone, so the worker exits


class Worker:
    """Commands in, replies out; trains between commands while playing.

    Commands: ``reset`` (settings dict [, dataset]), ``play``, ``pause``, ``step``, ``get``
    (a request dict), ``stop``. Every reply is a dict holding ``status``. ``published`` is the
    latest plain ``get`` reply (numbers and loss history), refreshed as training goes;
    ``published_views`` is (request, reply) for the last ``get`` of ``views``, re-traced as
    training goes, so that the page's next identical request is answered at once.
    """

    PUBLISH_EVERY_S = 0.1  # while training: at most this often (building it takes ~1 ms)
    VIEWS_EVERY_S = 1.0    # while training: re-trace the views this often (~10 ms)

    def __init__(self):
        self.lab, self.running, self.error, self.generation = None, False, None, 0
        self.published, self._published_at = None, 0.0
        self.published_views, self._views_at = None, 0.0

    def status(self) -> dict:
        lab = self.lab
        return {"ready": lab is not None, "running": self.running, "error": self.error,
                "generation": self.generation, "steps": lab.steps if lab else 0,
                "epoch": lab.epoch if lab else 0, "messages": lab.warnings() if lab else [],
                "updates": {a: t.updates for a, t in lab.trainers.items()} if lab else {}}

    def handle(self, command: str, *args) -> dict:
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
        except Exception as e:  # noqa: BLE001 - reported to the page, the session goes on
            self.running, self.error = False, _describe(e)
        self.publish(force=True)
        if command != "get":  # play, pause, step: the views' status (and weights) changed
            self.publish_views(force=True)
        return {"status": self.status(), **reply}

    def _reset(self, settings: dict, dataset=None) -> None:
        self.lab, self.running, self.error = None, False, None
        self.published_views = None  # traces of the old models
        self.generation += 1
        lab_settings = LabSettings(**settings)
        self.lab = Lab(lab_settings, dataset or load_lab_dataset(lab_settings.dataset))
        self.lab.views(0)  # warm up the traces (numba), so the first Play draws at once

    def _get(self, views: dict | None = None, csv: bool = False, max_points: int = LOSS_MAX_POINTS,
             weights: bool = False):
        lab = self.lab
        reply = {"metrics": lab.metrics(), "loss": lab.loss_history(max_points),
                 "dataset": {"title": lab.dataset.title, "n_pieces": len(lab.pieces),
                             "valid_pieces": len(lab.valid),
                             "valid_steps": int(sum(len(p) for p in lab.valid))}}
        if views is not None:
            reply["views"] = lab.views(**views)
        if csv:
            reply["csv"] = history_csv(lab.history_rows())
        if weights:
            reply["weights"] = lab.weights()
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
    if type(e).__name__ in ("DataError", "DownloadError", "ValueError", "MidiError"):
        return str(e)
    return f"{type(e).__name__}: {e}"


def run_worker(inbox, outbox, timeout: float = HEARTBEAT_TIMEOUT_S) -> None:
    """Serve commands from ``inbox`` (a Connection) until ``stop``, end of file, or silence.

    Messages arrive as ``(id, command, *args)``; replies go to ``outbox`` as ``(id, reply)``.
    A reader thread answers a plain ``get`` at once from ``Worker.published``, and a repeated
    ``get`` of the same views from ``Worker.published_views``, so neither of the page's
    refreshes waits for a training step (a refresh that waits holds up the session's next
    click on the server: Pause); every other command is applied by the training loop between
    two steps (Pause acts within one step of the models).
    """
    import os
    import queue
    import threading
    worker, parent, commands, send = Worker(), os.getppid(), queue.Queue(), threading.Lock()
    heard = [time.monotonic()]

    def reply(message_id, body) -> None:
        with send:
            outbox.send((message_id, body))

    def read() -> None:
        while True:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                return commands.put(None)
            heard[0] = time.monotonic()
            cached = _cached_reply(worker, message)
            if cached is not None:
                reply(message[0], cached)
            else:
                commands.put(message)
    threading.Thread(target=read, daemon=True).start()
    while True:
        if os.getppid() != parent:  # the server died (even by SIGKILL): we were re-parented
            return _log("the page's server is gone")
        if time.monotonic() - heard[0] > timeout:
            return _log(f"no message for {timeout:g} s: the page is gone")
        try:
            message = commands.get(timeout=0.2) if not worker.running else commands.get_nowait()
        except queue.Empty:
            worker.tick()
            continue
        if message is None or message[1] == "stop":
            return  # the pipe closed, or the page said goodbye
        reply(message[0], worker.handle(*message[1:]))


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
    import os
    import sys
    print(f"gatelab worker {os.getpid()}: {text}; exiting", file=sys.stderr, flush=True)


def main() -> None:
    import os
    import sys
    from multiprocessing.connection import Connection
    import torch
    torch.set_num_threads(int(os.environ.get("GATELAB_WORKER_THREADS", "1")))
    # Training yields the CPU to the web server and the browser: the page stays live, and
    # training takes what is left (on 2 shared cores that decided Pause's latency).
    os.nice(int(os.environ.get("GATELAB_WORKER_NICE", "5")))
    # Messages use the real stdout; anything printed goes to stderr instead.
    outbox = Connection(os.dup(sys.stdout.fileno()), readable=False)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inbox = Connection(os.dup(sys.stdin.fileno()), writable=False)
    timeout = float(os.environ.get("GATELAB_WORKER_TIMEOUT", HEARTBEAT_TIMEOUT_S))
    warm_up()  # while the page is still drawing; its first command waits in the pipe
    run_worker(inbox, outbox, timeout)


def warm_up() -> None:
    """Touch every code path once — torch's first ops, the compiled trace loops, the compiled
    training loops (their first call loads or compiles them: seconds) — so the first reset and
    the first Play are quick."""
    from core.train import chunk, collate
    from core.trace import trace
    roll = np.zeros((4, 88), dtype=np.uint8)
    for arch in ARCHS:
        trainer = Trainer(Settings(arch=arch, units=2, seed=0))
        trainer.step(collate(chunk([roll, roll], 0)))
        trace(trainer.model, roll)
        evaluate(trainer.model, [roll])


if __name__ == "__main__":
    main()
