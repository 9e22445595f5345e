"""The Lab: tanh RNN, GRU and LSTM trained side by side on the same batches, and the small
snapshots (loss history, metrics, traces of one piece) that the dashboard draws.

``Lab`` is plain core code: ``step()`` does one update of every model on one shared batch.
``python -m core.lab`` runs ``run_worker``: the dashboard starts one such process per
browser session, so training never shares the web server's interpreter (measured in
shared/MEASURED.md: training in the server's own process halved the page's refresh rate).
The worker talks over its stdin/stdout pipes (``multiprocessing.connection`` messages) and
exits when the pipe closes or no message arrives for ``HEARTBEAT_TIMEOUT_S``.
"""
import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from core.models import ARCHS, DEFAULT_BUDGET, VARIANTS, ModelSpec, units_for_budget
from core.train import OPTIMIZERS, Settings, Trainer, evaluate, make_batches

VALID_MAX_STEPS = 4000   # live validation uses the first pieces up to this many steps (speed)
LOSS_MAX_POINTS = 250    # train-loss points per model sent to the page (bin means beyond)
NAMES = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
WINDOW_MAX = 256         # longest stretch of a piece whose gates are sent to the page


@dataclass
class LabSettings:
    """One Lab setup; every field is mirrored in the page's URL. A change means a reset."""
    dataset: str = "chorales"           # a core.data registry name ("midi": uploaded files)
    archs: tuple = ARCHS                # which of tanh / gru / lstm train side by side
    variant: str = "torch"              # torch | paper equations
    budget: int = DEFAULT_BUDGET        # parameters per model; units are chosen to match
    optimizer: str = "adam"             # adam | rmsprop (the paper's)
    lr: float = 1e-3                    # learning rate
    clip: float = 1.0                   # gradient-norm clipping (0 = off)
    weight_noise: float = 0.0           # std of weight noise (the paper: 0.075)
    batch_size: int = 8                 # sequences (chunks) per update
    truncate: int = 200                 # chunk length in steps (0 = whole pieces)
    seed: int = 0                       # initial weights, batch order, weight noise
    eval_every: int = 5                 # updates between validation passes

    def __post_init__(self):
        self.archs = tuple(a for a in ARCHS if a in self.archs)  # canonical order, no repeats
        self.validate()

    def validate(self) -> None:
        if not self.archs:
            raise ValueError("choose at least one architecture")
        if self.eval_every < 1:
            raise ValueError("eval_every must be >= 1")
        self.trainer_settings(self.archs[0])  # Settings checks the rest

    def trainer_settings(self, arch: str) -> Settings:
        return Settings(dataset=self.dataset, arch=arch, variant=self.variant, budget=self.budget,
                        optimizer=self.optimizer, lr=self.lr, clip=self.clip,
                        weight_noise=self.weight_noise, batch_size=self.batch_size,
                        truncate=self.truncate, seed=self.seed)

    def specs(self) -> list[ModelSpec]:
        """The models this setup builds (units from the budget; ``.n_params`` exact)."""
        return [ModelSpec(a, self.variant, units_for_budget(a, self.budget, self.variant))
                for a in self.archs]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_params(self) -> dict[str, str]:
        """URL form: every field as a string (archs comma-separated)."""
        d = asdict(self)
        d["archs"] = ",".join(self.archs)
        return {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in d.items()}

    @classmethod
    def from_params(cls, params) -> tuple["LabSettings", list[str]]:
        """Settings from URL parameters; unreadable values keep their defaults and are
        reported (a shared link with a typo still opens the page)."""
        values, problems = {}, []
        for f in fields(cls):
            if f.name not in params:
                continue
            raw = str(params[f.name])
            try:
                values[f.name] = _parse_field(f.name, raw, f.default)
                cls(**{f.name: values[f.name]})
            except ValueError as e:
                values.pop(f.name, None)
                problems.append(f"URL parameter {f.name}={raw!r} ignored: {e}")
        return cls(**values), problems


def _parse_field(name: str, raw: str, default):
    if name == "archs":
        archs = tuple(a.strip() for a in raw.split(",") if a.strip())
        unknown = [a for a in archs if a not in ARCHS]
        if unknown:
            raise ValueError(f"unknown architecture {unknown[0]!r}")
        return archs
    if name in ("variant", "optimizer"):
        allowed = VARIANTS if name == "variant" else OPTIMIZERS
        if raw not in allowed:
            raise ValueError(f"choose one of {', '.join(allowed)}")
        return raw
    if isinstance(default, bool) or isinstance(default, str):
        return raw
    value = type(default)(float(raw)) if isinstance(default, int) else float(raw)
    if isinstance(default, int) and float(raw) != value:
        raise ValueError("must be a whole number")
    return value


def load_lab_dataset(name: str):
    """A dataset by registry name; raises ``core.data.DataError`` (a user-facing message)."""
    from core.data import load_dataset
    return load_dataset(name)


def dataset_choices() -> dict[str, str]:
    """name -> title of every dataset the Lab offers by name: the built-in corpora first, then
    the four paper datasets (marked when they would have to be downloaded first)."""
    from core.data import BUILTIN_DATASETS, PAPER_DATASETS, TITLES, available_datasets
    local = set(available_datasets())
    titles = {name: f"{TITLES[name]} (offline)" for name in BUILTIN_DATASETS}
    for name in PAPER_DATASETS:
        titles[name] = TITLES[name] + ("" if name in local else " (downloads on first use)")
    return titles


def history_csv(rows: list[dict]) -> str:
    """The CSV text of ``Lab.history_rows()`` (one header line, then one line per row)."""
    import csv
    import io
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["model", "kind", "updates", "seconds", "nll", "accuracy"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def validation_pieces(pieces: list, max_steps: int = VALID_MAX_STEPS) -> list:
    """The first validation pieces, in order, up to ``max_steps`` steps (at least one):
    a fixed sample, so every evaluation of every model reads the same frames."""
    chosen, steps = [], 0
    for piece in pieces:
        if chosen and steps + len(piece) > max_steps:
            break
        chosen.append(piece)
        steps += len(piece)
    return chosen


def bin_means(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (bin centres) and means of ``values`` in at most ``max_points`` equal bins."""
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=float), np.asarray(values, dtype=float)
    edges = np.linspace(0, n, max_points + 1).astype(int)
    sums = np.add.reduceat(np.asarray(values, dtype=float), edges[:-1])
    return (edges[:-1] + edges[1:] - 1) / 2, sums / np.diff(edges)


def pca_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project states (T, H) on their first two principal components.

    Returns the projection (T, 2) and the share of variance of each component (2,). Signs
    are fixed (largest loading positive) so the path does not flip between refreshes.
    """
    x = np.asarray(states, dtype=np.float64)
    x = x - x.mean(axis=0)
    if len(x) < 2 or not np.any(x):
        return np.zeros((len(x), 2)), np.zeros(2)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:2]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    proj = np.zeros((len(x), 2))
    proj[:, :len(vt)] = x @ (vt * signs[:, None]).T
    share = np.zeros(2)
    share[:len(vt)] = (s[:2] ** 2) / max(float((s ** 2).sum()), 1e-30)
    return proj, share


class Lab:
    """One Trainer per architecture, all stepped on the same batch.

    Batches come from ``make_batches`` epoch after epoch (cycling), so every model sees the
    same batches in the same order. Validation runs every ``eval_every`` shared steps on a
    fixed sample of the validation split (``validation_pieces``).
    """

    def __init__(self, settings: LabSettings, dataset):
        settings.validate()
        self.settings, self.dataset = settings, dataset
        self.train = list(dataset.splits["train"])
        self.pieces = list(dataset.splits["valid"]) or self.train  # what the views can show
        if not self.train:
            raise ValueError(f"{dataset.title} has no training pieces")
        self.valid = validation_pieces(self.pieces)
        self.trainers = {a: Trainer(settings.trainer_settings(a)) for a in settings.archs}
        self.steps, self.epoch = 0, 0          # shared batches done; current epoch (1-based)
        self._batches, self._cursor = [], 0
        self.train_rows = {a: [] for a in settings.archs}   # (updates, seconds, batch NLL)
        self.valid_rows = {a: [] for a in settings.archs}   # (updates, seconds, NLL, accuracy)
        self.messages: list[str] = []
        self._views_key, self._views = None, None
        self.evaluate()

    def _next_batch(self):
        if self._cursor >= len(self._batches):
            self.epoch += 1
            s = self.settings
            self._batches = make_batches(self.train, s.batch_size, s.truncate, s.seed, self.epoch)
            self._cursor = 0
        self._cursor += 1
        return self._batches[self._cursor - 1]

    def step(self) -> None:
        """Exactly one update of every model, on the same batch."""
        batch = self._next_batch()
        self.steps += 1
        for arch, trainer in self.trainers.items():
            result = trainer.step(batch)
            if result.diverged:
                self.messages = (self.messages + [f"{NAMES[arch]}: {result.message}"])[-5:]
            else:
                self.train_rows[arch].append((trainer.updates, trainer.seconds, result.loss))
        if self.steps % self.settings.eval_every == 0:
            self.evaluate()

    def evaluate(self) -> None:
        for arch, trainer in self.trainers.items():
            m = evaluate(trainer.model, self.valid)
            self.valid_rows[arch].append((trainer.updates, trainer.seconds, m["nll"], m["accuracy"]))

    def warnings(self) -> list[str]:
        """What the page should warn about: undone (non-finite) updates, and validation losses
        that grew far above their start (finite, but the learning rate is too large)."""
        out = list(self.messages)
        for arch, rows in self.valid_rows.items():
            first, last = rows[0][2], rows[-1][2]
            if len(rows) > 1 and not last < 2 * first:  # also catches inf / nan
                out.append(f"{NAMES[arch]}: validation NLL {last:.4g} is far above its start "
                           f"({first:.4g}): the learning rate {self.settings.lr:g} is probably "
                           "too large.")
        return out

    def metrics(self) -> dict:
        """Per architecture: size, progress and the latest losses, as plain numbers."""
        out = {}
        for arch, trainer in self.trainers.items():
            spec = trainer.model.spec
            recent = self.train_rows[arch][-max(len(self._batches), 1):]  # about one epoch
            _, _, valid_nll, valid_acc = self.valid_rows[arch][-1]
            out[arch] = {"units": spec.units, "params": spec.n_params, "updates": trainer.updates,
                         "seconds": trainer.seconds, "divergences": trainer.divergences,
                         "train_nll": float(np.mean([r[2] for r in recent])) if recent else math.nan,
                         "train_window": len(recent), "valid_nll": valid_nll,
                         "valid_accuracy": valid_acc}
        return out

    def loss_history(self, max_points: int = LOSS_MAX_POINTS) -> dict:
        """Per architecture: ``train`` (updates, seconds, NLL; bin means beyond ``max_points``)
        and ``valid`` (updates, seconds, NLL) as float arrays."""
        out = {}
        for arch in self.trainers:
            rows = np.asarray(self.train_rows[arch], dtype=float).reshape(-1, 3)
            idx, nll = bin_means(rows[:, 2], max_points)
            pos = np.arange(len(rows))
            train = np.column_stack([np.interp(idx, pos, rows[:, 0]) if len(rows) else idx,
                                     np.interp(idx, pos, rows[:, 1]) if len(rows) else idx, nll])
            valid = np.asarray(self.valid_rows[arch], dtype=float)[:, :3]
            out[arch] = {"train": train, "valid": valid, "binned": len(rows) > max_points}
        return out

    def weights(self) -> dict:
        """Per architecture: ``spec`` (ModelSpec fields), ``settings`` (core.train.Settings
        fields), ``updates`` and ``state_dict`` (name -> float32 numpy array), for other pages
        to rebuild the models as trained so far (``RecurrentModel(ModelSpec(**spec))``)."""
        return {arch: {"spec": asdict(t.model.spec), "settings": t.settings.to_dict(),
                       "updates": t.updates,
                       "state_dict": {k: v.detach().cpu().numpy().copy()
                                      for k, v in t.model.state_dict().items()}}
                for arch, t in self.trainers.items()}

    def history_rows(self) -> list[dict]:
        """Every recorded number, one row per (model, update, kind): the CSV download."""
        rows = []
        for arch in self.trainers:
            rows += [{"model": arch, "kind": "train_batch", "updates": u, "seconds": s, "nll": n,
                      "accuracy": ""} for u, s, n in self.train_rows[arch]]
            rows += [{"model": arch, "kind": "valid", "updates": u, "seconds": s, "nll": n,
                      "accuracy": a} for u, s, n, a in self.valid_rows[arch]]
        return rows

    def views(self, piece: int, start: int = 0, length: int = 128) -> dict:
        """Traces of every model on validation piece ``piece``, steps ``start .. start+length``.

        Returns ``{"piece", "start", "n_steps" (of the whole piece), "target" (L, 88) uint8,
        "models": {arch: {"units", "gates": {name: (L, H)}, "state" (L, H: c for the LSTM,
        h otherwise), "state_name", "probs" (L, 88), "nll" (L,), "pca" (L, 2), "pca_share" (2,),
        "unit_order" (units by variance over the window, largest first)}}}``.
        """
        from core.trace import trace
        piece = min(max(int(piece), 0), len(self.pieces) - 1)
        roll = self.pieces[piece]
        start = min(max(int(start), 0), max(len(roll) - 1, 0))
        stop = min(len(roll), start + min(max(int(length), 1), WINDOW_MAX))
        key = (self.steps, piece, start, stop)
        if key == self._views_key:
            return self._views
        models = {}
        for arch, trainer in self.trainers.items():
            a = trace(trainer.model, roll[:stop]).arrays  # causal: later frames are not needed
            window = {k: v[start:stop].astype(np.float32) for k, v in a.items() if k != "target"}
            state_name = "c" if arch == "lstm" else "h"
            pca, share = pca_2d(window[state_name])
            models[arch] = {"units": trainer.model.spec.units, "state_name": state_name,
                            "gates": {g: window[g] for g in _VIEW_GATES[arch]},
                            "state": window[state_name], "h": window["h"],
                            "probs": window["probs"], "nll": window["nll"], "pca": pca,
                            "pca_share": share,
                            "unit_order": np.argsort(-window[state_name].var(axis=0), kind="stable")}
        self._views = {"piece": piece, "start": start, "n_steps": len(roll),
                       "target": np.asarray(roll[start:stop], dtype=np.uint8), "models": models}
        self._views_key = key
        return self._views


# Gates sent to the page; the candidate (g / h_tilde) is drawn only on request.
_VIEW_GATES = {"tanh": (), "gru": ("z", "r", "h_tilde"), "lstm": ("i", "f", "o", "g")}


# -- the worker process: one per browser session ------------------------------------------------

HEARTBEAT_TIMEOUT_S = 30.0  # no message for this long: the page is gone, so the worker exits


class Worker:
    """Commands in, replies out; trains between commands while playing.

    Commands: ``reset`` (settings dict [, dataset]), ``play``, ``pause``, ``step``, ``get``
    (a request dict), ``stop``. Every reply is a dict holding ``status``. ``published`` is the
    latest plain ``get`` reply (numbers and loss history), refreshed as training goes.
    """

    PUBLISH_EVERY_S = 0.1  # while training: at most this often (building it takes ~1 ms)

    def __init__(self):
        self.lab, self.running, self.error, self.generation = None, False, None, 0
        self.published, self._published_at = None, 0.0

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
                reply = self._get(**(args[0] if args else {}))
        except Exception as e:  # noqa: BLE001 - reported to the page, the session goes on
            self.running, self.error = False, _describe(e)
        self.publish(force=True)
        return {"status": self.status(), **reply}

    def _reset(self, settings: dict, dataset=None) -> None:
        self.lab, self.running, self.error = None, False, None
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

    def tick(self) -> None:
        """Train one shared step while playing."""
        if self.running and self.lab is not None:
            try:
                self.lab.step()
            except Exception as e:  # noqa: BLE001
                self.running, self.error = False, _describe(e)
            self.publish(force=not self.running)


def _describe(e: Exception) -> str:
    """A user-facing line: data errors carry their own message; others name the type."""
    if type(e).__name__ in ("DataError", "DownloadError", "ValueError", "MidiError"):
        return str(e)
    return f"{type(e).__name__}: {e}"


def run_worker(inbox, outbox, timeout: float = HEARTBEAT_TIMEOUT_S) -> None:
    """Serve commands from ``inbox`` (a Connection) until ``stop``, end of file, or silence.

    Messages arrive as ``(id, command, *args)``; replies go to ``outbox`` as ``(id, reply)``.
    A reader thread answers a plain ``get`` at once from ``Worker.published``, so the page's
    fast refresh never waits for a training step; every other command is applied by the
    training loop between two steps (Pause acts within one step of the models).
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
            published = worker.published
            if message[1] == "get" and not any(message[2:]) and published is not None:
                reply(message[0], published)
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
