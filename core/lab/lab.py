"""The Lab: tanh RNN, GRU and LSTM trained side by side on the same batches, and the small
snapshots (loss history, metrics, traces of one piece) that the dashboard draws.

``Lab`` is plain core code: ``step()`` does one update of every model on one shared batch.
The dashboard runs it in a worker process per browser session (``core.lab.worker``). torch is
imported when a Lab is built: the web server uses the numpy helpers here without it.
"""
import math
import time
from dataclasses import asdict

import numpy as np

from core.insight.views import window_bounds, window_view
from core.training.settings import LabSettings
from core.units import display_name
from core.units.costs import formula, multiply_adds

VALID_MAX_STEPS = 4000   # live validation uses the first pieces up to this many steps (speed)
LOSS_MAX_POINTS = 250    # train-loss points per model sent to the page (bin means beyond)
WINDOW_MAX = 256         # longest stretch of a piece whose gates are sent to the page


def load_lab_dataset(name: str):
    """A dataset by registry name; raises ``core.music.data.DataError`` (a user-facing message)."""
    from core.music.data import load_dataset
    return load_dataset(name)


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
        from core.training.train import Trainer  # torch: here, so the web server can use this module's helpers
        self.trainers = {a: Trainer(settings.trainer_settings(a)) for a in settings.archs}
        self.steps, self.epoch = 0, 0          # shared batches done; current epoch (1-based)
        self._batches, self._cursor = [], 0
        self.train_rows = {a: [] for a in settings.archs}   # (updates, seconds, batch NLL)
        self._train_arrays: dict = {}   # arch -> (buffer (capacity, 3), rows in it): train_rows as floats
        self.valid_rows = {a: [] for a in settings.archs}   # (updates, seconds, NLL, accuracy)
        self.messages: list[dict] = []
        self._views_key, self._views = None, None
        self.trace_ms: dict[str, float] = {}   # arch -> ms to trace 1000 steps, as last measured
        self.evaluate()

    def _next_batch(self):
        if self._cursor >= len(self._batches):
            self.epoch += 1
            s = self.settings
            from core.training.train import make_batches
            self._batches = make_batches(self.train, s.batch_size, s.truncate, s.seed, self.epoch,
                                         carry=s.carry_state, reshuffle=s.reshuffle)
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
                diverged = {"kind": "diverged", "arch": arch, "loss": result.loss,
                            "norm": result.grad_norm, "update": trainer.updates + 1,
                            "lr": self.settings.lr, "text": f"{display_name(arch)}: {result.message}"}
                self.messages = (self.messages + [diverged])[-5:]
            else:
                self.train_rows[arch].append((trainer.updates, trainer.seconds, result.loss))
        if self.steps % self.settings.eval_every == 0:
            self.evaluate()

    def evaluate(self) -> None:
        from core.training.train import evaluate as train_evaluate
        for arch, trainer in self.trainers.items():
            m = train_evaluate(trainer.model, self.valid)
            self.valid_rows[arch].append((trainer.updates, trainer.seconds, m["nll"], m["accuracy"]))

    def warnings(self) -> list[dict]:
        """What the page should warn about: undone (non-finite) updates (kind "diverged"), and
        validation losses that grew far above their start (finite, but the learning rate is
        too large: kind "too_high"). Each is its kind, the numbers it states, and "text", the
        sentence in English (a page words it in its own language from the rest)."""
        out = list(self.messages)
        lr = self.settings.lr
        for arch, rows in self.valid_rows.items():
            first, last = rows[0][2], rows[-1][2]
            if len(rows) > 1 and not last < 2 * first:  # also catches inf / nan
                out.append({"kind": "too_high", "arch": arch, "first": first, "last": last, "lr": lr,
                            "text": f"{display_name(arch)}: validation NLL {last:.4g} is far above its "
                                    f"start ({first:.4g}): the learning rate {lr:g} is probably "
                                    "too large."})
        return out

    def metrics(self) -> dict:
        """Per architecture: size, progress and the latest losses, as plain numbers; and what the
        unit costs: multiply-adds per step (``core.units.costs``), measured ms per update (this Lab's
        own training time) and per 1000 traced steps (its last views; NaN until measured)."""
        out = {}
        for arch, trainer in self.trainers.items():
            spec = trainer.model.spec
            recent = self.train_rows[arch][-max(len(self._batches), 1):]  # about one epoch
            _, _, valid_nll, valid_acc = self.valid_rows[arch][-1]
            out[arch] = {"units": spec.units, "params": spec.n_params, "updates": trainer.updates,
                         "seconds": trainer.seconds, "divergences": trainer.divergences,
                         "multiply_adds": multiply_adds(arch, spec.units, spec.variant),
                         "formula": formula(arch, spec.variant),
                         "ms_per_update": 1000 * trainer.seconds / trainer.updates if trainer.updates else math.nan,
                         "trace_ms_per_1000": self.trace_ms.get(arch, math.nan),
                         "train_nll": float(np.mean([r[2] for r in recent])) if recent else math.nan,
                         "train_window": len(recent), "valid_nll": valid_nll,
                         "valid_accuracy": valid_acc}
        return out

    def loss_history(self, max_points: int = LOSS_MAX_POINTS) -> dict:
        """Per architecture: ``train`` (updates, seconds, NLL; bin means beyond ``max_points``)
        and ``valid`` (updates, seconds, NLL) as float arrays."""
        out = {}
        for arch in self.trainers:
            rows = self._train_array(arch)
            idx, nll = bin_means(rows[:, 2], max_points)
            pos = np.arange(len(rows))
            train = np.column_stack([np.interp(idx, pos, rows[:, 0]) if len(rows) else idx,
                                     np.interp(idx, pos, rows[:, 1]) if len(rows) else idx, nll])
            valid = np.asarray(self.valid_rows[arch], dtype=float)[:, :3]
            out[arch] = {"train": train, "valid": valid, "binned": len(rows) > max_points}
        return out

    def _train_array(self, arch: str) -> np.ndarray:
        """``train_rows[arch]`` as an (n, 3) float array, extended by the rows added since the last
        call. The loss history is read ten times a second while training, and converting the whole
        list each time grew with the training: 5 ms a call at 10k updates, 22 ms at 40k."""
        rows = self.train_rows[arch]
        buffer, n = self._train_arrays.get(arch, (np.empty((0, 3)), 0))
        if len(rows) > n:
            if len(rows) > len(buffer):  # capacity doubles: each row is copied O(1) times
                grown = np.empty((max(2 * len(buffer), len(rows), 1024), 3))
                grown[:n] = buffer[:n]
                buffer = grown
            buffer[n:len(rows)] = np.asarray(rows[n:], dtype=float).reshape(-1, 3)
            self._train_arrays[arch] = (buffer, len(rows))
        return buffer[:len(rows)]

    def weights(self) -> dict:
        """Per architecture: ``spec`` (ModelSpec fields), ``settings`` (core.training.train.Settings
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
        h otherwise), "state_name", "h" (L, H), "probs" (L, 88), "nll" (L,), "pca" (L, 2),
        "pca_share" (2,), "unit_order" (units by variance over the window, largest first)}}}``:
        each model's view is ``core.insight.views.window_view`` (its gates and state from ``core.units``).
        """
        from core.insight.trace import trace
        piece = min(max(int(piece), 0), len(self.pieces) - 1)
        roll = self.pieces[piece]
        start, stop = window_bounds(len(roll), start, length, WINDOW_MAX)
        key = (self.steps, piece, start, stop)
        if key == self._views_key:
            return self._views
        models = {}
        for arch, trainer in self.trainers.items():
            t0 = time.perf_counter()
            arrays = trace(trainer.model, roll[:stop]).arrays  # causal: later frames are not needed
            self.trace_ms[arch] = (time.perf_counter() - t0) * 1000 / stop * 1000  # per 1000 steps
            models[arch] = window_view(arrays, arch, trainer.model.spec.units, start, stop)
        self._views = {"piece": piece, "start": start, "n_steps": len(roll),
                       "target": np.asarray(roll[start:stop], dtype=np.uint8), "models": models}
        self._views_key = key
        return self._views
